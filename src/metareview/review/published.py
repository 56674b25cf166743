"""Published pooled results to compare a review with (``published.yaml``).

A review that rebuilds a published meta-analysis (as the bundled example does) keeps the
published figures, as printed, in ``published.yaml`` beside its protocol: per outcome the
estimate, CI and p-value on the display scale, where they were printed, the words, and a stated
correction where the print is wrong. The analysis compares its own result with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from metareview.errors import InputError
from metareview.extraction.study import yaml_problem
from metareview.review.result import PublishedFigure
from metareview.sources.base import read_text

__all__ = ["PUBLISHED_FILE", "load_published"]

#: The published results file, in a review folder and in a project folder.
PUBLISHED_FILE = "published.yaml"


def _opt_float(value: Any, file: Path, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {value!r}", file=str(file), field=field)
    return float(value)


def load_published(path: Path) -> tuple[dict[str, PublishedFigure], dict[str, Any]]:
    if not path.exists():
        return {}, {}
    try:
        raw = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {yaml_problem(exc)}", file=str(path)) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), dict):
        raise InputError("expected a mapping with 'results'", file=str(path))
    out: dict[str, PublishedFigure] = {}
    for outcome, spec in raw["results"].items():
        if not isinstance(spec, dict):
            raise InputError("expected a mapping", file=str(path), field=f"results.{outcome}")
        printed = spec.get("as_printed")
        out[str(outcome)] = PublishedFigure(
            estimate=_opt_float(spec.get("estimate"), path, f"results.{outcome}.estimate"),
            ci_lower=_opt_float(spec.get("ci_lower"), path, f"results.{outcome}.ci_lower"),
            ci_upper=_opt_float(spec.get("ci_upper"), path, f"results.{outcome}.ci_upper"),
            pvalue=_opt_float(spec.get("pvalue"), path, f"results.{outcome}.pvalue"),
            where=str(spec.get("where") or ""),
            quote=spec.get("quote"),
            as_printed=(
                {
                    str(k): float(_opt_float(v, path, f"results.{outcome}.as_printed.{k}") or 0.0)
                    for k, v in printed.items()
                }
                if isinstance(printed, dict)
                else None
            ),
            correction=spec.get("correction"),
        )
    source = raw.get("source")
    return out, (dict(source) if isinstance(source, dict) else {})
