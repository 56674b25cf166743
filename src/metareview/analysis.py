"""Run a review project end to end: study data with provenance -> effect sizes -> pooled results.

A project is a folder laid out like the bundled example (``metareview/examples/imatinib-ssc``)::

    protocol.yaml     the protocol (question, eligibility, outcomes, model settings)
    studies.yaml      extracted study data, every number with status and source
    records.jsonl     candidate records, one JSON object per line (optional)
    screening.csv     source_id, decision, reason_code, study_id, reason (optional), and
                      optionally stage (title_abstract or full_text) and reviewer
    published.yaml    published pooled results to compare with (optional)

:func:`run_review` loads it, recomputes every derived number from its inputs, computes effect
sizes with :func:`~metareview.effects.escalc` and pools each protocol outcome with
:func:`~metareview.models.rma`, then adds the sensitivity analyses:

* the protocol's planned ones (other estimators, Knapp-Hartung tests, leave-one-out);
* every assumed number that carries ``sensitivity`` values (e.g. the pre-post correlation
  ``ri`` over 0.3-0.8), refitted for each value;
* every alternative data ``scenario`` in the study data (another time point, bounds);
* for proportions, the Freeman-Tukey double arcsine (PFT) beside the logit (PLO), each
  back-transformed properly (inverse logit; inverse Freeman-Tukey with the harmonic mean of n,
  Miller 1978).

The result is a :class:`ReviewResult` (what the HTML report renders) with
:meth:`ReviewResult.to_json` giving the ``metareview demo --json`` document. The records and
decisions are only cross-checked here; :func:`metareview.pipeline.run_pipeline` also builds the
project store from them and adds the study selection (PRISMA 2020 flow, protocol amendments).
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from metareview.effects import escalc
from metareview.effects.conversions import sd_from_pvalue, sd_from_se, se_from_ci
from metareview.effects.transforms import transf_ilogit, transf_ipft_hm
from metareview.errors import InputError, MetareviewError, MetareviewWarning
from metareview.extraction.provenance import Quantity, SourceSpec
from metareview.extraction.study import (
    OutcomeData,
    StudyData,
    StudyDataFile,
    load_studies,
    yaml_problem,
)
from metareview.models import leave1out, rma
from metareview.models.published import PublishedCheck, check_published
from metareview.protocol import OutcomeSpec, Protocol, load_protocol
from metareview.screening.decisions import normalise_stage
from metareview.sources.base import read_text
from metareview.sources.record import Record

if TYPE_CHECKING:
    from metareview.pipeline import StudySelection

__all__ = [
    "DERIVATIONS",
    "PROPORTION_MEASURES",
    "InputValue",
    "OutcomeAnalysis",
    "PublishedFigure",
    "ReviewProject",
    "ReviewResult",
    "ScreeningDecision",
    "SensitivityRow",
    "StudyEffect",
    "bundled_example",
    "load_project",
    "run_review",
    "se_from_pvalue",
]

#: Proportion measures pooled on a transformed scale and shown back on the 0-1 scale.
PROPORTION_MEASURES: tuple[str, ...] = ("PLO", "PFT", "PR", "PAS", "PLN")

_CONTINUOUS_INPUT_MEASURES = ("MC", "GEN")


# ---------------------------------------------------------------------------------------------
# Derivations: the conversions a ``derived`` number may name


def se_from_pvalue(estimate: float, pval: float, ni: float) -> float:
    """Standard error of a mean change from the two-sided p-value of a paired t-test.

    .. math:: t = F^{-1}_{t,\\,n-1}(1 - p/2), \\qquad SD = |\\bar d| \\sqrt{n} / t, \\qquad
              SE = SD / \\sqrt{n} = |\\bar d| / t

    where :math:`\\bar d` is the mean change and :math:`n` the number of pairs (Cochrane
    Handbook v6.4, section 6.5.2.3, via :func:`metareview.effects.conversions.sd_from_pvalue`).
    A p-value printed as "p < x" should be given as ``x``, which yields the largest SE
    consistent with the report.

    Raises
    ------
    InputError
        When ``pval`` is not in (0, 1), ``ni`` < 2 or the estimate is zero (no information).
    """
    if estimate == 0:
        raise InputError("a zero estimate carries no information on its SE", field="estimate")
    sd = float(sd_from_pvalue(pval, estimate, ni))
    return sd / math.sqrt(ni)


def _describe_se_from_pvalue(inputs: Mapping[str, str]) -> str:
    return (
        f"SE = |{inputs['estimate']}| / t(1 - {inputs['pval']}/2, {inputs['ni']} - 1): "
        "the SE implied by a two-sided paired t-test p-value"
    )


def _se_from_ci(lower: float, upper: float) -> float:
    """SE from a symmetric 95% CI: (upper - lower) / (2 x 1.96) (Cochrane Handbook 6.5.2.2)."""
    return float(se_from_ci(lower, upper))


def _sd_from_se(se: float, ni: float) -> float:
    """SD from the SE of a mean: SE sqrt(n) (Cochrane Handbook 6.5.2.2)."""
    return float(sd_from_se(se, ni))


def _difference(a: float, b: float) -> float:
    """A change as a difference of two reported means: a - b (e.g. follow-up minus baseline)."""
    return a - b


#: Named conversions: method -> (function taking keyword inputs, text describing it). The
#: formulas themselves live in :mod:`metareview.effects.conversions`.
DERIVATIONS: dict[str, tuple[Callable[..., float], Callable[[Mapping[str, str]], str]]] = {
    "se_from_pvalue": (se_from_pvalue, _describe_se_from_pvalue),
    "se_from_ci": (
        _se_from_ci,
        lambda i: f"SE = ({i['upper']} - {i['lower']}) / (2 x 1.96), from a symmetric 95% CI",
    ),
    "sd_from_se": (_sd_from_se, lambda i: f"SD = {i['se']} x sqrt({i['ni']})"),
    "difference": (_difference, lambda i: f"{i['a']} - {i['b']}"),
}


# ---------------------------------------------------------------------------------------------
# Result structures


@dataclass(frozen=True)
class InputValue:
    """One input number of one study's effect size, as the report and the JSON show it."""

    name: str
    value: float | int | str | None
    status: str
    source: str
    where: str
    ref: str = ""
    quote: str | None = None
    url: str | None = None
    derivation: str | None = None
    why: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"name", "value", "status", "source"}`` as in ``metareview demo --json``."""
        return {
            "name": self.name,
            "value": self.value,
            "status": self.status,
            "source": self.source,
        }

    def to_dict(self) -> dict[str, Any]:
        """Full form for the report: the source as ``{ref, where, quote}``, ``how`` and ``why``."""
        return {
            "name": self.name,
            "value": self.value,
            "status": self.status,
            "source": {"ref": self.ref, "where": self.where, "quote": self.quote},
            "source_text": self.source,
            "where": self.where,
            "quote": self.quote,
            "url": self.url,
            "how": self.derivation,
            "why": self.why,
            "note": self.note,
        }


@dataclass(frozen=True)
class StudyEffect:
    """One study's effect size in one analysis: ``yi``/``vi`` on the model scale and inputs."""

    study: str
    label: str
    measure: str
    timepoint: str
    yi: float
    vi: float
    ni: float | None
    inputs: tuple[InputValue, ...]
    scenario: str = "main"
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"study", "yi", "vi", "inputs": [...]}`` as in ``metareview demo --json``."""
        return {
            "study": self.label,
            "yi": _num(self.yi),
            "vi": _num(self.vi),
            "inputs": [i.to_json() for i in self.inputs],
        }

    def to_dict(self, weight: float | None = None) -> dict[str, Any]:
        """Full form for the report (``weight`` in percent of the main model, when known)."""
        return {
            "study": self.label,
            "id": self.study,
            "label": self.label,
            "measure": self.measure,
            "timepoint": self.timepoint,
            "scenario": self.scenario,
            "yi": _num(self.yi),
            "vi": _num(self.vi),
            "ni": _num(self.ni),
            "weight": _num(weight),
            "note": self.note,
            "inputs": [i.to_dict() for i in self.inputs],
        }


@dataclass(frozen=True)
class SensitivityRow:
    """One refit in a sensitivity analysis, on the display scale."""

    analysis: str
    setting: str
    k: int
    method: str
    test: str
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    pvalue: float | None
    tau2: float | None
    I2: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Row form; ``name``/``description`` are what the report's tables label rows with."""
        out = {f.name: _num(getattr(self, f.name)) for f in fields(self)}
        out["name"] = f"{self.analysis}: {self.setting}"
        out["description"] = self.note
        return out


@dataclass(frozen=True)
class PublishedFigure:
    """A published pooled result (display scale) and where it was printed."""

    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    pvalue: float | None
    where: str = ""
    quote: str | None = None
    as_printed: dict[str, float] | None = None
    correction: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": _num(self.estimate),
            "ci_lower": _num(self.ci_lower),
            "ci_upper": _num(self.ci_upper),
            "pvalue": _num(self.pvalue),
        }


@dataclass(frozen=True)
class OutcomeAnalysis:
    """The pooled analysis of one protocol outcome with its sensitivity analyses.

    ``estimate``/``ci_lower``/``ci_upper``/``pi_lower``/``pi_upper`` are on the display scale
    (proportions 0-1); ``fit`` is the model-scale :class:`~metareview.models.RMAResult` (None
    when no study contributes). ``transf`` back-transforms model-scale values for display
    (None for measures already on their display scale).
    """

    outcome: str
    description: str
    measure: str
    method: str
    test: str
    level: float
    better: str
    k: int
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    pvalue: float | None
    pi_lower: float | None
    pi_upper: float | None
    tau2: float | None
    I2: float | None
    QE: float | None
    QEp: float | None
    fit: Any
    transf: Callable[[Any], Any] | None
    studies: tuple[StudyEffect, ...]
    excluded: tuple[tuple[str, str], ...]
    sensitivity: tuple[SensitivityRow, ...]
    leave1out: pd.DataFrame | None
    published: PublishedFigure | None
    published_check: PublishedCheck | None
    comparison: str
    notes: tuple[str, ...] = ()

    @property
    def difference(self) -> float | None:
        """Our estimate minus the published one (display scale), or None."""
        if self.estimate is None or self.published is None or self.published.estimate is None:
            return None
        return self.estimate - self.published.estimate

    def to_json(self) -> dict[str, Any]:
        """One element of ``analyses`` in ``metareview demo --json``."""
        return {
            "outcome": self.outcome,
            "measure": self.measure,
            "method": self.method,
            "k": self.k,
            "estimate": _num(self.estimate),
            "ci_lower": _num(self.ci_lower),
            "ci_upper": _num(self.ci_upper),
            "pvalue": _num(self.pvalue),
            "published": (
                self.published.to_json()
                if self.published is not None
                else {"estimate": None, "ci_lower": None, "ci_upper": None, "pvalue": None}
            ),
            "studies": [s.to_json() for s in self.studies],
        }

    def to_dict(self) -> dict[str, Any]:
        """Full form for the HTML report (keeps the fitted model under ``fit`` and ``transf``)."""
        weights = None if self.fit is None else np.asarray(self.fit.weights, dtype=float)
        published: dict[str, Any] | None = None
        if self.published is not None:
            published = {
                **self.published.to_json(),
                "where": self.published.where,
                "quote": self.published.quote,
                "as_printed": self.published.as_printed,
                "correction": self.published.correction,
                "explanation": self.comparison,
                "difference": _num(self.difference),
                "check": None if self.published_check is None else self.published_check.to_dict(),
            }
        return {
            "outcome": self.outcome,
            "label": self.description,
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "better": self.better,
            "k": self.k,
            "estimate": _num(self.estimate),
            "ci_lower": _num(self.ci_lower),
            "ci_upper": _num(self.ci_upper),
            "pvalue": _num(self.pvalue),
            "se": None if self.fit is None else _num(self.fit.se),
            "tau2": _num(self.tau2),
            "I2": _num(self.I2),
            "QE": _num(self.QE),
            "QEp": _num(self.QEp),
            "pi_lower": _num(self.pi_lower),
            "pi_upper": _num(self.pi_upper),
            "published": published,
            "comparison": self.comparison,
            "studies": [
                s.to_dict(None if weights is None else float(weights[i]))
                for i, s in enumerate(self.studies)
            ],
            "excluded": [{"study": s, "reason": r} for s, r in self.excluded],
            "sensitivity": [r.to_dict() for r in self.sensitivity],
            "leave1out": (
                []
                if self.leave1out is None
                else [
                    {str(k): _num(v) for k, v in row.items()}
                    for row in self.leave1out.to_dict(orient="records")
                ]
            ),
            "note": " ".join(self.notes),
            "warnings": list(self.notes),
            "fit": self.fit,
            "transf": self.transf,
        }


@dataclass(frozen=True)
class ScreeningDecision:
    """A screening decision on one candidate record.

    ``stage`` is the stage at which the record's final decision was made (``title_abstract`` or
    ``full_text``; empty when the file does not say) and ``reviewer`` who made it (empty when
    the file does not say).
    """

    source_id: str
    decision: str
    reason_code: str
    study_id: str
    reason: str
    stage: str = ""
    reviewer: str = ""


@dataclass(frozen=True)
class ReviewProject:
    """A loaded project folder: protocol, study data, records, screening and published results."""

    path: Path
    protocol: Protocol
    data: StudyDataFile
    records: tuple[Record, ...]
    screening: tuple[ScreeningDecision, ...]
    published: dict[str, PublishedFigure]
    published_source: dict[str, Any]


@dataclass(frozen=True)
class ReviewResult:
    """Everything a report needs: the project and one :class:`OutcomeAnalysis` per outcome."""

    project: ReviewProject
    analyses: tuple[OutcomeAnalysis, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The study selection computed from the project store (PRISMA 2020 flow, amendments), when
    #: the review was run through :func:`metareview.pipeline.run_pipeline`.
    selection: StudySelection | None = None

    @property
    def protocol(self) -> Protocol:
        return self.project.protocol

    @property
    def studies(self) -> tuple[StudyData, ...]:
        return tuple(self.project.data.studies)

    def analysis(self, outcome: str) -> OutcomeAnalysis:
        """The analysis of ``outcome``; ``KeyError`` when the protocol has no such outcome."""
        for a in self.analyses:
            if a.outcome == outcome:
                return a
        raise KeyError(outcome)

    def to_json(self) -> dict[str, Any]:
        """The ``metareview demo --json`` document: ``{"analyses": [...]}``, plus ``"prisma"``
        (the PRISMA 2020 counts) when the study selection was computed."""
        doc: dict[str, Any] = {"analyses": [a.to_json() for a in self.analyses]}
        if self.selection is not None:
            doc["prisma"] = self.selection.counts.to_dict()
        return doc

    def to_dict(self) -> dict[str, Any]:
        """Everything the HTML report renders (see :func:`metareview.report.html.write_report`)."""
        proj = self.project
        return {
            "title": proj.protocol.title,
            "question": proj.protocol.question.model_dump(mode="json"),
            "protocol": proj.protocol.model_dump(mode="json"),
            "sources": [s.model_dump(mode="json") for s in proj.data.sources],
            "studies": [s.model_dump(mode="json") for s in proj.data.studies],
            "records": [
                {
                    "source_id": r.source_id,
                    "title": r.title,
                    "kind": r.kind,
                    "year": r.year,
                    "url": r.url,
                }
                for r in proj.records
            ],
            "screening": [
                {
                    "source_id": d.source_id,
                    "decision": d.decision,
                    "reason_code": d.reason_code,
                    "study_id": d.study_id,
                    "reason": d.reason,
                    "stage": d.stage,
                }
                for d in proj.screening
            ],
            "published_source": proj.published_source,
            "analyses": [a.to_dict() for a in self.analyses],
            "notes": list(self.notes),
            "selection": None if self.selection is None else self.selection.to_dict(),
        }


def _num(x: Any) -> Any:
    """JSON-safe number: numpy scalars to Python, NaN/inf to None."""
    if x is None or isinstance(x, str | bool):
        return x
    if isinstance(x, int | np.integer):
        return int(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if math.isfinite(f) else None


# ---------------------------------------------------------------------------------------------
# Loading a project


def bundled_example() -> Path:
    """The folder of the bundled imatinib-in-systemic-sclerosis review (package data)."""
    return Path(str(resources.files("metareview") / "examples" / "imatinib-ssc"))


def _load_records(path: Path) -> tuple[Record, ...]:
    if not path.exists():
        return ()
    known = {f.name for f in fields(Record)}
    out: list[Record] = []
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON: {exc.msg} (character {exc.colno})", file=str(path), row=i
            ) from exc
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", file=str(path), row=i)
        unknown = sorted(set(obj) - known)
        if unknown:
            raise InputError("unknown record field", file=str(path), row=i, field=unknown[0])
        for required in ("source", "title"):
            if not obj.get(required):
                raise InputError("missing", file=str(path), row=i, field=required)
        out.append(Record(**obj))
    return tuple(out)


def _load_screening(
    path: Path, protocol: Protocol, data: StudyDataFile, records: Sequence[Record]
) -> tuple[ScreeningDecision, ...]:
    if not path.exists():
        return ()
    record_ids = {r.source_id for r in records}
    study_ids = {s.id for s in data.studies}
    codes = set(protocol.reason_codes())
    out: list[ScreeningDecision] = []
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"source_id", "decision", "reason_code", "study_id", "reason"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise InputError("missing column", file=str(path), field=sorted(missing)[0])
        optional = {"stage", "reviewer"} & set(reader.fieldnames or [])
        for i, row in enumerate(reader, start=1):
            d = ScreeningDecision(
                **{k: (row.get(k) or "").strip() for k in sorted(need | optional)}
            )
            if d.stage:
                try:
                    stage = normalise_stage(d.stage)
                except InputError as exc:
                    raise InputError(exc.message, file=str(path), row=i, field="stage") from None
                d = replace(d, stage=stage)
            if records and d.source_id not in record_ids:
                raise InputError(
                    f"no record {d.source_id!r} in records.jsonl",
                    file=str(path), row=i, field="source_id",
                )  # fmt: skip
            if d.decision not in ("include", "exclude"):
                raise InputError(
                    f"decision must be include or exclude, got {d.decision!r}",
                    file=str(path), row=i, field="decision",
                )  # fmt: skip
            if d.decision == "exclude" and d.reason_code not in codes:
                raise InputError(
                    f"{d.reason_code!r} is not an eligibility code of the protocol "
                    f"({', '.join(sorted(codes))})",
                    file=str(path), row=i, field="reason_code",
                )  # fmt: skip
            if d.decision == "include" and d.study_id not in study_ids:
                raise InputError(
                    f"included record names study {d.study_id!r}, which studies.yaml lacks",
                    file=str(path), row=i, field="study_id",
                )  # fmt: skip
            if not d.reason:
                raise InputError("every decision needs a reason", file=str(path), row=i,
                                 field="reason")  # fmt: skip
            out.append(d)
    return tuple(out)


def _opt_float(value: Any, file: Path, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {value!r}", file=str(file), field=field)
    return float(value)


def _load_published(path: Path) -> tuple[dict[str, PublishedFigure], dict[str, Any]]:
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


def load_project(path: str | Path) -> ReviewProject:
    """Load and cross-check a project folder (see the module docstring for its layout).

    Raises
    ------
    InputError, ProtocolError
        A file is missing or does not validate; the message names the file, row and field.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError("not a project folder", file=str(root))
    for name in ("protocol.yaml", "studies.yaml"):
        if not (root / name).is_file():
            raise InputError(f"the project has no {name}", file=str(root / name))
    protocol = load_protocol(root / "protocol.yaml")
    data = load_studies(root / "studies.yaml")
    outcome_names = {o.name for o in protocol.outcomes}
    for i, study in enumerate(data.studies):
        for name in list(study.outcomes) + list(study.not_extracted):
            if name not in outcome_names:
                raise InputError(
                    f"outcome {name!r} is not an outcome of the protocol "
                    f"({', '.join(sorted(outcome_names))})",
                    file=str(root / "studies.yaml"), field=f"studies[{i}].outcomes.{name}",
                )  # fmt: skip
    records = _load_records(root / "records.jsonl")
    if records:
        known = {r.source_id for r in records}
        for i, study in enumerate(data.studies):
            for rid in study.record_ids:
                if rid not in known:
                    raise InputError(
                        f"record {rid!r} is not in records.jsonl",
                        file=str(root / "studies.yaml"), field=f"studies[{i}].record_ids",
                    )  # fmt: skip
    screening = _load_screening(root / "screening.csv", protocol, data, records)
    published, published_source = _load_published(root / "published.yaml")
    return ReviewProject(
        path=root,
        protocol=protocol,
        data=data,
        records=records,
        screening=screening,
        published=published,
        published_source=published_source,
    )


# ---------------------------------------------------------------------------------------------
# From study data to effect sizes


def _source_text(q: Quantity, sources: Mapping[str, SourceSpec], derivation: str | None) -> str:
    spec = sources.get(q.source.ref)
    cite = spec.citation if spec is not None else q.source.ref
    parts = [f"{cite} {q.source.where}".strip()]
    if q.source.quote:
        parts.append(f'"{q.source.quote}"')
    if spec is not None and spec.url:
        parts.append(spec.url)
    text = "; ".join(parts)
    if derivation:
        text = f"derived: {derivation}. Method: {text}"
    if q.status == "assumed" and q.why:
        text = f"assumed: {q.why.strip()}. Basis: {text}"
    return text


def resolve_inputs(
    row: OutcomeData, file: str = "studies.yaml", where: str = ""
) -> dict[str, tuple[Quantity, str | None]]:
    """Compute every derived input of ``row`` from its inputs.

    Returns ``{name: (quantity with value, derivation text or None)}``. A typed ``value`` on a
    derived number is checked against the computation (relative tolerance 1e-6).
    """
    out: dict[str, tuple[Quantity, str | None]] = {
        n: (q, None) for n, q in row.inputs.items() if q.derive is None
    }
    pending = {n: q for n, q in row.inputs.items() if q.derive is not None}
    while pending:
        progressed = False
        for name, q in list(pending.items()):
            assert q.derive is not None
            if any(src not in out for src in q.derive.inputs.values()):
                continue
            if q.derive.method not in DERIVATIONS:
                raise InputError(
                    f"unknown derivation {q.derive.method!r} (known: {', '.join(DERIVATIONS)})",
                    file=file, field=f"{where}.inputs.{name}.derive.method",
                )  # fmt: skip
            func, describe = DERIVATIONS[q.derive.method]
            try:
                args = {arg: out[src][0].numeric() for arg, src in q.derive.inputs.items()}
                value = float(func(**args))
            except (ValueError, TypeError) as exc:
                raise InputError(
                    f"cannot derive {name}: {exc}", file=file, field=f"{where}.inputs.{name}"
                ) from exc
            if q.value is not None and not math.isclose(
                float(q.numeric()), value, rel_tol=1e-6, abs_tol=1e-12
            ):
                raise InputError(
                    f"typed value {q.value} differs from the derivation ({value:.6g})",
                    file=file, field=f"{where}.inputs.{name}.value",
                )  # fmt: skip
            inputs_text = ", ".join(
                f"{src} = {out[src][0].value}" for src in q.derive.inputs.values()
            )
            text = f"{describe(q.derive.inputs)}, with {inputs_text}, gives {value:.6g}"
            out[name] = (q.with_value(value), text)
            del pending[name]
            progressed = True
        if not progressed:
            raise InputError(
                "derivations depend on each other in a cycle",
                file=file, field=f"{where}.inputs.{sorted(pending)[0]}",
            )  # fmt: skip
    return out


def _effect(
    study: StudyData,
    row: OutcomeData,
    measure: str,
    sources: Mapping[str, SourceSpec],
    overrides: Mapping[str, float] | None = None,
    where: str = "",
    file: str = "studies.yaml",
) -> StudyEffect:
    """One study row to ``yi``/``vi`` on the analysis's model scale."""
    resolved = resolve_inputs(row, file=file, where=where)
    values = {n: q.numeric() for n, (q, _) in resolved.items() if _is_number(q.value)}
    for name, override in (overrides or {}).items():
        if name in values and row.inputs[name].status == "assumed":
            values[name] = override
    try:
        if row.measure == "PR":
            df = escalc(measure, xi=[values["xi"]], ni=[values["ni"]])
        elif row.measure == "MC":
            df = escalc(
                "MC",
                m1i=[values["m1i"]], m2i=[values["m2i"]], sd1i=[values["sd1i"]],
                sd2i=[values["sd2i"]], ni=[values["ni"]], ri=[values["ri"]],
            )  # fmt: skip
        elif "sei" in values:
            df = escalc("GEN", yi=[values["yi"]], sei=[values["sei"]])
        else:
            df = escalc("GEN", yi=[values["yi"]], vi=[values["vi"]])
    except (InputError, KeyError) as exc:
        detail = exc.message if isinstance(exc, InputError) else f"input {exc} is not a number"
        column = f".inputs.{exc.field}" if isinstance(exc, InputError) and exc.field else ""
        raise InputError(detail, file=file, field=where + column) from exc
    yi = float(df["yi"].iloc[0])
    vi = float(df["vi"].iloc[0])
    if not (math.isfinite(yi) and math.isfinite(vi)):
        raise InputError(
            f"no effect size could be computed from {', '.join(row.inputs)}",
            file=file, field=where,
        )  # fmt: skip
    inputs = []
    for name, (q, derivation) in resolved.items():
        value: float | int | str | None = q.value
        if name in (overrides or {}) and q.status == "assumed":
            value = values[name]
        spec = sources.get(q.source.ref)
        inputs.append(
            InputValue(
                name=name,
                value=_num(value),
                status=q.status,
                source=_source_text(q, sources, derivation),
                where=q.source.where,
                ref=q.source.ref,
                quote=q.source.quote,
                url=spec.url if spec is not None else None,
                derivation=derivation,
                why=q.why,
                note=q.note,
            )
        )
    order = list(row.inputs)
    inputs.sort(key=lambda i: order.index(i.name))
    ni = values.get("ni")
    return StudyEffect(
        study=study.id,
        label=study.label,
        measure=row.measure if row.measure != "PR" else measure,
        timepoint=row.timepoint,
        yi=yi,
        vi=vi,
        ni=ni,
        inputs=tuple(inputs),
        scenario=row.scenario,
        note=row.note,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_row_measure(outcome: OutcomeSpec, row: OutcomeData, study: StudyData, file: str) -> None:
    proportion = outcome.measure in PROPORTION_MEASURES
    if proportion and row.measure != "PR":
        raise InputError(
            f"outcome {outcome.name} is a proportion ({outcome.measure}); study data must be "
            f"event counts (measure PR), not {row.measure}",
            file=file, field=f"{study.id}.outcomes.{outcome.name}",
        )  # fmt: skip
    if not proportion and row.measure not in _CONTINUOUS_INPUT_MEASURES:
        raise InputError(
            f"outcome {outcome.name} pools mean changes; study data must be MC or GEN, "
            f"not {row.measure}",
            file=file, field=f"{study.id}.outcomes.{outcome.name}",
        )  # fmt: skip


def collect_effects(
    project: ReviewProject,
    outcome: OutcomeSpec,
    *,
    measure: str | None = None,
    scenario: str = "main",
    overrides: Mapping[str, float] | None = None,
) -> list[StudyEffect]:
    """Effect sizes of every study contributing to ``outcome`` in ``scenario``.

    ``measure`` overrides the protocol's measure for proportions (PFT instead of PLO);
    ``overrides`` replaces assumed inputs by name (``{"ri": 0.3}``) for sensitivity analyses.
    """
    use = measure or outcome.measure
    sources = {s.key: s for s in project.data.sources}
    file = str(project.path / "studies.yaml")
    out: list[StudyEffect] = []
    for study in project.data.studies:
        rows = study.outcome_rows(outcome.name, scenario)
        if len(rows) > 1:
            raise InputError(
                f"study {study.id} has {len(rows)} rows for {outcome.name} in scenario "
                f"{scenario!r}; give one",
                file=file, field=f"{study.id}.outcomes.{outcome.name}",
            )  # fmt: skip
        for row in rows:
            _check_row_measure(outcome, row, study, file)
            where = f"{study.id}.outcomes.{outcome.name}"
            out.append(_effect(study, row, use, sources, overrides, where, file))
    return out


# ---------------------------------------------------------------------------------------------
# Pooling


def _transform(measure: str, ni: Sequence[float]) -> Callable[[Any], Any] | None:
    if measure == "PLO":
        return transf_ilogit
    if measure == "PFT":
        n = np.asarray(ni, dtype=float)

        def _ipft(x: Any) -> Any:
            return transf_ipft_hm(x, ni=n)

        return _ipft
    return None


def _fit(effects: Sequence[StudyEffect], measure: str, method: str, test: str, level: float) -> Any:
    with warnings.catch_warnings():
        if len(effects) == 1:
            # k = 1 is stated in the analysis notes; metafor-style warning not repeated per refit
            warnings.simplefilter("ignore", MetareviewWarning)
        return rma(
            np.array([e.yi for e in effects]),
            np.array([e.vi for e in effects]),
            method=method,
            test=test,
            level=level,
            measure=measure,
            slab=[e.label for e in effects],
        )


def _display(fit: Any, transf: Callable[[Any], Any] | None) -> dict[str, float | None]:
    pred = fit.predict(transf=transf)
    return {k: _num(_scalar(v)) for k, v in pred.items()}


def _scalar(v: Any) -> Any:
    arr = np.asarray(v)
    return float(arr.reshape(-1)[0]) if arr.size else None


def _sens_row(
    analysis: str,
    setting: str,
    effects: Sequence[StudyEffect],
    measure: str,
    method: str,
    test: str,
    level: float,
    note: str | None = None,
) -> SensitivityRow:
    if not effects:
        return SensitivityRow(analysis, setting, 0, method, test, None, None, None, None, None,
                              None, note or "no study contributes")  # fmt: skip
    ni = [e.ni if e.ni is not None else math.nan for e in effects]
    fit = _fit(effects, measure, method, test, level)
    shown = _display(fit, _transform(measure, ni))
    proportion = measure in PROPORTION_MEASURES
    return SensitivityRow(
        analysis=analysis,
        setting=setting,
        k=int(fit.k),
        method=method,
        test=test,
        estimate=shown["pred"],
        ci_lower=shown["ci_lb"],
        ci_upper=shown["ci_ub"],
        pvalue=None if proportion else _num(fit.pval),
        tau2=_num(fit.tau2),
        I2=_num(fit.I2),
        note=note,
    )


def _compare(
    estimate: float | None,
    lo: float | None,
    hi: float | None,
    pub: PublishedFigure | None,
    proportion: bool,
    *,
    k: int = 0,
    se: float | None = None,
    check: PublishedCheck | None = None,
    missing: Sequence[str] = (),
) -> str:
    """One sentence comparing our result with the published one, and the likely reasons."""
    if pub is None or pub.estimate is None:
        return "no published figure to compare with"
    if estimate is None or lo is None or hi is None:
        return "not estimable from the extracted data; the published figure cannot be checked"
    diff = estimate - pub.estimate
    parts = [f"difference (ours - published) {diff:+.3f}"]
    if not proportion:
        agree = np.sign(estimate) == np.sign(pub.estimate)
        parts.append("direction agrees" if agree else "direction DISAGREES")
    if pub.ci_lower is not None and pub.ci_upper is not None:
        overlap = not (hi < pub.ci_lower or lo > pub.ci_upper)
        parts.append(
            "confidence intervals overlap" if overlap else "confidence intervals DO NOT overlap"
        )
    else:
        inside = lo <= pub.estimate <= hi
        parts.append(
            "published estimate lies inside our CI" if inside
            else "published estimate lies OUTSIDE our CI"
        )  # fmt: skip
    if check is not None and se is not None and not proportion:
        parts.append(f"standard error {se:.3f} here vs {check.se:.3f} implied by the published CI")
    if missing:
        parts.append(
            f"k = {k} here: {', '.join(missing)} could not contribute from the sources reachable, "
            "while the published analysis may have used them (its k is not reported)"
        )
    return "; ".join(parts)


def _published_check(pub: PublishedFigure | None, level: float) -> PublishedCheck | None:
    if pub is None:
        return None
    printed = dict(pub.as_printed or {})
    est = printed.get("estimate", pub.estimate)
    lo = printed.get("ci_lower", pub.ci_lower)
    hi = printed.get("ci_upper", pub.ci_upper)
    if est is None or lo is None or hi is None:
        return None
    try:
        return check_published(
            repr(est), repr(lo), repr(hi),
            pvalue=None if pub.pvalue is None else repr(pub.pvalue), level=level,
        )  # fmt: skip
    except MetareviewError:
        return None


def analyse_outcome(project: ReviewProject, outcome: OutcomeSpec) -> OutcomeAnalysis:
    """Pool one outcome with the protocol's model, plus all its sensitivity analyses."""
    settings = project.protocol.model
    method, test, level = settings.method, settings.test, settings.level
    measure = outcome.measure
    proportion = measure in PROPORTION_MEASURES
    effects = collect_effects(project, outcome)
    contributing = {e.study for e in effects}
    excluded = tuple(
        (s.label, s.not_extracted.get(outcome.name, "no data extracted for this outcome"))
        for s in project.data.studies
        if s.id not in contributing
    )
    published = project.published.get(outcome.name)
    notes: list[str] = []
    sens: list[SensitivityRow] = []
    fit = None
    transf = None
    loo: pd.DataFrame | None = None
    shown: dict[str, float | None] = dict.fromkeys(("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"))
    if effects:
        fit = _fit(effects, measure, method, test, level)
        transf = _transform(measure, [e.ni if e.ni is not None else math.nan for e in effects])
        shown = _display(fit, transf)
        if len(effects) == 1:
            notes.append("only one study contributes: the 'pooled' result is that study's own")
        # planned sensitivity analyses of the protocol
        for plan in settings.sensitivity:
            if plan.outcomes and outcome.name not in plan.outcomes:
                continue
            if plan.leave1out:
                if len(effects) >= 2:
                    loo = _leave1out_display(fit, transf, effects)
                continue
            kept = [
                e for e in effects if e.study not in plan.exclude and e.label not in plan.exclude
            ]
            sens.append(
                _sens_row(
                    "estimator", plan.name, kept, measure, plan.method or method,
                    plan.test or test, plan.level or level, plan.description,
                )
            )  # fmt: skip
        # assumed inputs with sensitivity values (e.g. the pre-post correlation)
        for name, values in _sensitivity_inputs(project, outcome).items():
            for v in values:
                eff = collect_effects(project, outcome, overrides={name: v})
                sens.append(
                    _sens_row(f"assumed {name}", f"{name} = {v:g}", eff, measure, method, test,
                              level)
                )  # fmt: skip
        if proportion:
            other = "PFT" if measure != "PFT" else "PLO"
            eff = collect_effects(project, outcome, measure=other)
            sens.append(
                _sens_row("transformation", other, eff, other, method, test, level,
                          _TRANSFORM_NOTES[other])
            )  # fmt: skip
    # alternative data scenarios (also when the main analysis has no study)
    for scen in _scenarios(project, outcome):
        eff = collect_effects(project, outcome, scenario=scen)
        sens.append(_sens_row("data scenario", scen, eff, measure, method, test, level))
        if proportion:
            eff = collect_effects(project, outcome, scenario=scen, measure="PFT")
            sens.append(_sens_row("data scenario", f"{scen} (PFT)", eff, "PFT", method, test,
                                  level))  # fmt: skip
    estimate, lo, hi = shown["pred"], shown["ci_lb"], shown["ci_ub"]
    check = _published_check(published, level)
    if not effects:
        notes.append(
            "no study reports usable numbers for this outcome in the sources reachable; "
            "nothing is pooled rather than inventing inputs"
        )
    if published is not None and published.correction:
        notes.append(f"published figure corrected: {published.correction.strip()}")
    return OutcomeAnalysis(
        outcome=outcome.name,
        description=outcome.description or outcome.name,
        measure=measure,
        method=method,
        test=test,
        level=level,
        better=outcome.better,
        k=len(effects),
        estimate=estimate,
        ci_lower=lo,
        ci_upper=hi,
        pvalue=None if (fit is None or proportion) else _num(fit.pval),
        pi_lower=shown["pi_lb"],
        pi_upper=shown["pi_ub"],
        tau2=None if fit is None else _num(fit.tau2),
        I2=None if fit is None else _num(fit.I2),
        QE=None if fit is None else _num(fit.QE),
        QEp=None if fit is None else _num(fit.QEp),
        fit=fit,
        transf=transf,
        studies=tuple(effects),
        excluded=excluded,
        sensitivity=tuple(sens),
        leave1out=loo,
        published=published,
        published_check=check,
        comparison=_compare(
            estimate,
            lo,
            hi,
            published,
            proportion,
            k=len(effects),
            se=None if fit is None else _num(fit.se),
            check=check,
            missing=[label for label, _ in excluded],
        ),
        notes=tuple(notes),
    )


_TRANSFORM_NOTES = {
    "PFT": "Freeman-Tukey double arcsine, back-transformed with the harmonic mean of n",
    "PLO": "logit, back-transformed with the inverse logit",
}


def _leave1out_display(
    fit: Any, transf: Callable[[Any], Any] | None, effects: Sequence[StudyEffect]
) -> pd.DataFrame:
    loo = leave1out(fit).copy()
    loo.insert(1, "k", len(effects) - 1)
    if transf is not None:
        for col in ("estimate", "ci_lb", "ci_ub"):
            loo[col] = np.asarray(transf(loo[col].to_numpy(dtype=float)), dtype=float)
    return loo


def _sensitivity_inputs(project: ReviewProject, outcome: OutcomeSpec) -> dict[str, list[float]]:
    found: dict[str, set[float]] = {}
    for study in project.data.studies:
        for row in study.outcome_rows(outcome.name):
            for name, q in row.inputs.items():
                if q.status == "assumed" and q.sensitivity:
                    found.setdefault(name, set()).update(float(v) for v in q.sensitivity)
    return {name: sorted(values) for name, values in sorted(found.items())}


def _scenarios(project: ReviewProject, outcome: OutcomeSpec) -> list[str]:
    seen: list[str] = []
    for study in project.data.studies:
        for row in study.outcomes.get(outcome.name, []):
            if row.scenario != "main" and row.scenario not in seen:
                seen.append(row.scenario)
    return seen


def run_review(project: str | Path | ReviewProject) -> ReviewResult:
    """Load (if needed) and analyse a project: one :class:`OutcomeAnalysis` per outcome."""
    proj = project if isinstance(project, ReviewProject) else load_project(project)
    analyses = tuple(analyse_outcome(proj, o) for o in proj.protocol.outcomes)
    return ReviewResult(project=proj, analyses=analyses)
