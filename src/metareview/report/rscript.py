"""An R script that rebuilds every pooled analysis of a review with metafor, from a CSV beside it.

A reader who trusts R's metafor (Viechtbauer 2010, J Stat Softw 36(3)) more than a new program
can check each pooled number: :func:`write_r_script` writes ``FILE.R`` and ``FILE.csv``. The CSV
has one row per study and outcome of the main analyses: the effect size ``yi`` and its sampling
variance ``vi`` as metareview computed them, and the raw inputs (``ai n1i ci n2i``, ``m1i sd1i n1i
m2i sd2i n2i``, ``xi ni``, ``xi ti``, ``mi sdi ni``, ...) where the study gives them. The script

1. recomputes ``yi``/``vi`` with ``escalc()`` from the raw inputs wherever they are given and
   stops if they differ from the exported ones (relative 1e-8);
2. fits ``rma(yi, vi, method=, test=, level=)`` per outcome with the protocol's model (to tight
   convergence, ``control = list(threshold = 1e-12, ...)``, as metareview fits), prints
   metafor's summary, and one line ``metareview-check <outcome> <estimate> <se> <ci.lb>
   <ci.ub> <tau2>`` (17 significant digits) that a test compares with ``metareview analyse``.

Nothing here runs R: the script is text, and R stays a reader's tool, not a dependency.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from metareview.errors import InputError
from metareview.models.methods import metafor_method
from metareview.review.result import ReviewResult

__all__ = ["RAW_COLUMNS", "r_script_rows", "write_r_script"]

#: escalc() argument columns the CSV may carry (metafor's names).
RAW_COLUMNS: tuple[str, ...] = (
    "ai", "n1i", "ci", "n2i", "m1i", "sd1i", "m2i", "sd2i", "x1i", "t1i", "x2i", "t2i", "xi",
    "ni", "ri", "ti", "mi", "sdi",
)  # fmt: skip

#: Raw inputs of each study-data layout and the escalc measure they are computed with.
_LAYOUT_INPUTS: dict[str, tuple[str, ...]] = {
    "2x2": ("ai", "n1i", "ci", "n2i"),
    "MEANS": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "RATES": ("x1i", "t1i", "x2i", "t2i"),
    "PR": ("xi", "ni"),
    "RATE": ("xi", "ti"),
    "MEAN": ("mi", "sdi", "ni"),
    "SD": ("sdi", "ni"),
    "MC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
}


def _value(inputs: dict[str, Any], name: str) -> Any:
    v = inputs.get(name)
    return "" if v is None else repr(float(v))


def r_script_rows(result: ReviewResult) -> list[dict[str, Any]]:
    """The CSV rows: one per study of each outcome's main analysis."""
    rows: list[dict[str, Any]] = []
    for a in result.analyses:
        for s in a.studies:
            layout = _layout(s.measure, a.measure, [i.name for i in s.inputs])
            values = {i.name: i.value for i in s.inputs if isinstance(i.value, int | float)}
            row: dict[str, Any] = {
                "outcome": a.outcome,
                "study": s.label,
                "measure": a.measure if layout not in ("MC", "GEN") else layout,
                "yi": repr(float(s.yi)),
                "vi": repr(float(s.vi)),
            }
            for name in RAW_COLUMNS:
                row[name] = _value(values, name) if name in _LAYOUT_INPUTS.get(layout, ()) else ""
            rows.append(row)
    return rows


def _layout(study_measure: str, measure: str, names: list[str]) -> str:
    if study_measure in ("GEN", "MC"):
        return study_measure
    for layout, need in _LAYOUT_INPUTS.items():
        if layout != "MC" and all(n in names for n in need):
            return layout
    return "GEN"


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_r_script(result: ReviewResult, path: str | Path) -> tuple[Path, Path]:
    """Write ``path`` (the R script) and the CSV beside it (same name, ``.csv``).

    Returns
    -------
    (script, csv)
    """
    script = Path(path)
    data = script.with_suffix(".csv")
    if not script.parent.is_dir():
        raise InputError("no such folder for the R script", file=str(script.parent))
    rows = r_script_rows(result)
    with data.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["outcome", "study", "measure", "yi", "vi", *RAW_COLUMNS]
        )
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"# {result.protocol.title}",
        "# Rebuilds every pooled analysis of this review with metafor (written by metareview).",
        f"# Data: {data.name} (one row per study and outcome: yi, vi and the raw inputs).",
        "library(metafor)",
        "args <- commandArgs(trailingOnly = FALSE)",
        'here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)][1])))',
        "if (is.na(here)) here <- getwd()",
        f"dat <- read.csv(file.path(here, {_r_string(data.name)}), stringsAsFactors = FALSE)",
        "raw <- c(" + ", ".join(_r_string(c) for c in RAW_COLUMNS) + ")",
        "for (m in unique(dat$measure)) {",
        '  rows <- which(dat$measure == m & m != "GEN")',
        "  for (i in rows) {",
        "    given <- raw[!is.na(dat[i, raw])]",
        "    if (length(given) == 0) next",
        "    es <- do.call(escalc, c(list(measure = m), as.list(dat[i, given])))",
        "    stopifnot(isTRUE(all.equal(c(es$yi, es$vi), c(dat$yi[i], dat$vi[i]),",
        "                               tolerance = 1e-8)))",
        "  }",
        "}",
        "# metareview iterates to convergence; metafor's default threshold (1e-5, absolute on",
        "# tau^2) stops early when tau^2 is tiny (a rate per person-day: tau^2 ~ 1e-6)",
        "ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)",
        "check <- function(outcome, res) {",
        '  cat("metareview-check", outcome, sprintf("%.17g", c(res$b[1], res$se, res$ci.lb,',
        '      res$ci.ub, res$tau2)), "\\n")',
        "}",
    ]
    for a in result.analyses:
        if a.k == 0:
            lines.append(f"# {a.outcome}: no study contributes (k = 0)")
            continue
        level = a.level if a.level > 1 else 100 * a.level
        lines += [
            "",
            f"# {a.outcome}: {a.description} ({a.measure}, {a.method}, test {a.test})",
            f"d <- dat[dat$outcome == {_r_string(a.outcome)}, ]",
            f"res <- rma(yi, vi, data = d, method = {_r_string(metafor_method(a.method))}, "
            f"test = {_r_string(a.test)}, level = {level:g}, slab = study, control = ctrl)",
            "print(res)",
            f"check({_r_string(a.outcome)}, res)",
        ]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert all(math.isfinite(float(r["vi"])) for r in rows)
    return script, data
