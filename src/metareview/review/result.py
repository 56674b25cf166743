"""The result of a review run: one typed object from which every view is made.

:class:`ReviewResult` holds the review as the project store has it (:class:`ReviewData`: the
protocol, the included studies' data, the records and screening decisions, published figures to
compare with) and one :class:`OutcomeAnalysis` per protocol outcome, plus the study selection
(:class:`StudySelection`: PRISMA 2020 counts, amendments, checklist). ``metareview analyse
--json`` and ``demo --json`` print :meth:`ReviewResult.to_json`, a view of
:meth:`ReviewResult.to_dict`, which is also what the HTML report renders
(:func:`metareview.report.html.write_report`): the report words nothing and fits nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from metareview._json import jsonable
from metareview.appraisal.stored import StudyRob
from metareview.effects.measures import is_proportion, is_ratio
from metareview.extraction.study import StudyData, StudyDataFile
from metareview.models._format import format_significant
from metareview.models.published import PublishedCheck
from metareview.protocol import Protocol
from metareview.screening.amendments import ProtocolVersion
from metareview.screening.checklist import ChecklistEntry
from metareview.screening.prisma import PrismaCounts
from metareview.sources.record import Record

if TYPE_CHECKING:
    from metareview.appraisal.grade import GradeOutcome

__all__ = [
    "InputValue",
    "OutcomeAnalysis",
    "PublishedFigure",
    "ReviewData",
    "ReviewResult",
    "ScreeningDecision",
    "SensitivityRow",
    "StudyEffect",
    "StudySelection",
]


_num = jsonable


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
    #: The study's id in the project store (``studies.id``), None outside a store.
    study_id: int | None = None
    #: Per-group raw data as a forest plot shows them: ``{"group", "arm", "n", "events",
    #: "mean", "sd", "mean_change", "sd_change"}`` (keys present when known).
    arms: tuple[Mapping[str, Any], ...] = ()

    @property
    def assumed(self) -> bool:
        """Whether any input of this study's effect is assumed rather than reported."""
        return any(i.status == "assumed" for i in self.inputs)

    def to_json(self, weight: float | None = None) -> dict[str, Any]:
        """``{"study", "study_id", "yi", "vi", "weight", "inputs": [...]}`` (``--json``)."""
        return {
            "study": self.label,
            "study_id": self.study_id,
            "yi": _num(self.yi),
            "vi": _num(self.vi),
            "weight": _num(weight),
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
            "study_id": self.study_id,
            "assumed": self.assumed,
            "arms": [dict(a) for a in self.arms],
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
    #: Planned subgroup analyses: ``{"name", "by", "labels" (one per study, in study order),
    #: "result" (a SubgroupResult), "note"}``.
    subgroups: tuple[Mapping[str, Any], ...] = ()
    #: Estimate, CI and PI back-transformed (``exp`` for ratio measures, the proportion for
    #: proportion measures), None for measures on their natural scale.
    transformed: Mapping[str, float | None] | None = None

    @property
    def difference(self) -> float | None:
        """Our estimate minus the published one (display scale), or None."""
        if self.estimate is None or self.published is None or self.published.estimate is None:
            return None
        return self.estimate - self.published.estimate

    def headline(self) -> str:
        """The pooled result as a reader reads it: ratio measures as ratios ("RR 0.70 (0.44 to
        1.10)"), proportions in percent, differences as they are; "not estimable" when k = 0."""
        if self.estimate is None:
            return f"{self.measure}: not estimable (k = 0)"
        shown = self.transformed or {
            "estimate": self.estimate, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
        }  # fmt: skip
        est, lo, hi = shown.get("estimate"), shown.get("ci_lower"), shown.get("ci_upper")
        proportion = is_proportion(self.measure)
        # a back-transformed single-group rate or mean: its size varies by orders of magnitude
        significant = self.transformed is not None and not is_ratio(self.measure)

        def fmt(x: float | None) -> str:
            if x is None:
                return "–"
            if proportion:
                return f"{100 * x:.1f}%"
            if significant:
                return format_significant(x)
            return f"{x:.2f}" if self.transformed else f"{x:.3f}"

        text = f"{self.measure} {fmt(est)} ({fmt(lo)} to {fmt(hi)})"
        if self.pvalue is not None:
            text += f", p = {self.pvalue:.3f}" if self.pvalue >= 0.001 else ", p < 0.001"
        return text + f", k = {self.k}"

    def summary(self) -> str:
        """A few lines for the terminal: the headline, heterogeneity, who was not pooled and why,
        and the analysis's warnings."""
        model = f"{self.method}, {self.test}"
        lines = [f"{self.outcome}: {self.headline()} [{model}]"]
        if self.k >= 2 and self.tau2 is not None:
            het = f"  tau^2 = {self.tau2:.4g}"
            if self.I2 is not None:
                het += f", I^2 = {self.I2:.1f}%"
            if self.QE is not None and self.QEp is not None:
                het += f", Q = {self.QE:.2f} (p = {self.QEp:.3g})"
            lines.append(het)
        if self.pi_lower is not None and self.pi_upper is not None:
            pi = self.transformed or {"pi_lower": self.pi_lower, "pi_upper": self.pi_upper}
            lo, hi = pi.get("pi_lower"), pi.get("pi_upper")
            if lo is not None and hi is not None:
                lines.append(f"  prediction interval {lo:.3g} to {hi:.3g}")
        for study, reason in self.excluded:
            lines.append(f"  - {study} not pooled: {' '.join(reason.split())}")
        for note in self.notes:
            lines.append(f"  note: {' '.join(note.split())}")
        return "\n".join(lines)

    def weights(self) -> list[float | None]:
        """Each study's weight in the main model, in percent (None when nothing is pooled)."""
        if self.fit is None:
            return [None] * len(self.studies)
        return [float(w) for w in np.asarray(self.fit.weights, dtype=float)]

    def to_json(self) -> dict[str, Any]:
        """One element of ``analyses`` in ``metareview analyse --json`` / ``demo --json``.

        ``estimate`` etc. are on the display scale of :attr:`estimate` (proportions back-
        transformed, ratio measures on the log scale); ``transformed`` gives ratio measures on
        their natural scale (and repeats the proportions), None otherwise.
        """
        return {
            "outcome": self.outcome,
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "k": self.k,
            "estimate": _num(self.estimate),
            "ci_lower": _num(self.ci_lower),
            "ci_upper": _num(self.ci_upper),
            "pvalue": _num(self.pvalue),
            "se": None if self.fit is None else _num(self.fit.se),
            "pi_lower": _num(self.pi_lower),
            "pi_upper": _num(self.pi_upper),
            "tau2": _num(self.tau2),
            "I2": _num(self.I2),
            "QE": _num(self.QE),
            "QEp": _num(self.QEp),
            "transformed": (
                None
                if self.transformed is None
                else {k: _num(v) for k, v in self.transformed.items()}
            ),
            "published": (
                self.published.to_json()
                if self.published is not None
                else {"estimate": None, "ci_lower": None, "ci_upper": None, "pvalue": None}
            ),
            "studies": [s.to_json(w) for s, w in zip(self.studies, self.weights(), strict=True)],
            "not_pooled": [{"study": s, "reason": r} for s, r in self.excluded],
            "warnings": list(self.notes),
            "subgroups": [
                {**g["result"].to_dict(), "name": g["name"], "by": g["by"],
                 "labels": list(g["labels"])}
                for g in self.subgroups
            ],
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
            "transformed": None if self.transformed is None else dict(self.transformed),
            "subgroups": [
                {
                    "name": g["name"], "by": g["by"], "labels": list(g["labels"]),
                    "note": g.get("note"), "result": g["result"].to_dict(),
                    "fit": g["result"],
                }
                for g in self.subgroups
            ],
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
class ReviewData:
    """A review as its project store holds it: protocol, the included studies' data (assembled
    from the extracted values), records, screening decisions and published figures."""

    path: Path
    protocol: Protocol
    data: StudyDataFile
    records: tuple[Record, ...]
    screening: tuple[ScreeningDecision, ...]
    published: dict[str, PublishedFigure]
    published_source: dict[str, Any]
    #: Where the study data came from, for error messages (the extraction of the store).
    data_file: str = "extraction"
    #: StudyData.id -> the study's id in the project store.
    study_ids: Mapping[str, int] = field(default_factory=dict)
    #: Sentences about the data as assembled (time points chosen, unconfirmed registry values).
    notes: tuple[str, ...] = ()
    #: Risk of bias that counts per outcome and store study id
    #: (:func:`metareview.appraisal.stored.study_rob`); empty when nothing is assessed.
    risk_of_bias: Mapping[str, Mapping[int, StudyRob]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewResult:
    """Everything a report needs: the project and one :class:`OutcomeAnalysis` per outcome."""

    project: ReviewData
    analyses: tuple[OutcomeAnalysis, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The study selection computed from the project store (PRISMA 2020 flow, amendments).
    selection: StudySelection | None = None
    #: GRADE certainty of the evidence per outcome (:mod:`metareview.appraisal.grade`), from
    #: the store's ratings; empty outside a store.
    grade: tuple[GradeOutcome, ...] = ()

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

    def summary(self) -> str:
        """The review's results for the terminal: one block per outcome (``metareview
        analyse``)."""
        blocks = [self.protocol.title]
        if self.selection is not None:
            c = self.selection.counts
            blocks.append(
                f"PRISMA 2020: {c.studies_included} studies ({c.reports_included} reports) included"
            )
        blocks += [a.summary() for a in self.analyses]
        blocks += [f"note: {' '.join(n.split())}" for n in self.notes]
        return "\n".join(blocks)

    def to_json(self) -> dict[str, Any]:
        """The ``metareview demo --json`` document: ``{"analyses": [...]}``, plus ``"prisma"``
        (the PRISMA 2020 counts) when the study selection was computed and ``"grade"`` (one
        GRADE assessment per outcome, as ``metareview grade --json``) when it was made."""
        doc: dict[str, Any] = {"analyses": [a.to_json() for a in self.analyses]}
        if self.selection is not None:
            doc["prisma"] = self.selection.counts.to_dict()
        rob = self.risk_of_bias()
        if rob:
            doc["risk_of_bias"] = rob
        if self.grade:
            doc["grade"] = [g.to_json() for g in self.grade]
        return doc

    def risk_of_bias(self) -> list[dict[str, Any]]:
        """Per outcome with assessments, the risk of bias that counts for each included study:
        ``[{"outcome", "label", "sensitivity", "studies": [{"study_id", "study", "tool",
        "overall", "domains": [{"domain", "judgement"}], "weight"}]}]``; ``weight`` is the
        study's weight (percent) in the outcome's main model, None when it is not pooled;
        ``sensitivity`` the protocol's risk-of-bias refit (``model.rob_sensitivity``), if any
        (the subgroup analysis by risk of bias is among the outcome's ``subgroups``)."""
        proj = self.project
        labels = {sid: sd.label for sd in proj.data.studies
                  if (sid := proj.study_ids.get(sd.id)) is not None}  # fmt: skip
        order = list(labels)
        out: list[dict[str, Any]] = []
        for a in self.analyses:
            rob = proj.risk_of_bias.get(a.outcome)
            if not rob:
                continue
            weights: dict[int, float] = {}
            if a.fit is not None:
                w = np.asarray(a.fit.weights, dtype=float)
                weights = {e.study_id: float(w[i]) for i, e in enumerate(a.studies)
                           if e.study_id is not None}  # fmt: skip
            ids = sorted(rob, key=lambda i: (order.index(i) if i in order else len(order), i))
            out.append({
                "outcome": a.outcome,
                "label": a.description,
                "sensitivity": [r.to_dict() for r in a.sensitivity
                                if r.analysis == "risk of bias"],
                "studies": [
                    {"study_id": i, "study": labels.get(i, rob[i].study), "tool": rob[i].tool,
                     "overall": rob[i].overall,
                     "domains": [{"domain": d, "judgement": j} for d, j in rob[i].domains],
                     "weight": weights.get(i)}
                    for i in ids
                ],
            })  # fmt: skip
        return out

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
            "risk_of_bias": self.risk_of_bias(),
            "grade": [g.to_dict() for g in self.grade],
        }


@dataclass(frozen=True)
class StudySelection:
    """The study selection of a review as its project store holds it.

    Attributes
    ----------
    counts
        The PRISMA 2020 flow counts.
    amendments
        Protocol versions recorded after screening had started (PRISMA 2020 item 24c).
    checklist
        The PRISMA 2020 checklist with where the review answers each item.
    project_dir
        The project folder, or None when it was built in a temporary folder and discarded.
    files
        The PRISMA files written into the project folder (``svg``, ``png``, ``json``).
    n_records, n_decisions
        Records stored and screening decisions recorded.
    reviewers
        Who screened.
    """

    counts: PrismaCounts
    amendments: tuple[ProtocolVersion, ...] = ()
    checklist: tuple[ChecklistEntry, ...] = ()
    project_dir: Path | None = None
    files: Mapping[str, Path] = field(default_factory=dict)
    n_records: int = 0
    n_decisions: int = 0
    reviewers: tuple[str, ...] = ()

    def checklist_summary(self) -> dict[str, int]:
        """How many checklist items are ``answered``, ``partial`` and ``missing``."""
        out = {"answered": 0, "partial": 0, "missing": 0}
        for entry in self.checklist:
            out[entry.status] = out.get(entry.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe content for the report (``ReviewResult.to_dict()["selection"]``)."""
        return {
            "prisma": self.counts.to_dict(),
            "amendments": [
                {
                    "version": v.id,
                    "seen_at": v.seen_at,
                    "seen_by": v.seen_by,
                    "file": v.file_name,
                    "note": v.note,
                    "changes": [
                        {"field": str(c.get("field")), "old": c.get("old"), "new": c.get("new")}
                        for c in v.changes
                    ],
                }
                for v in self.amendments
            ],
            "checklist": {
                "summary": self.checklist_summary(),
                "items": [e.to_dict() for e in self.checklist],
            },
            "project_dir": None if self.project_dir is None else str(self.project_dir),
            "files": {k: str(p) for k, p in self.files.items()},
            "n_records": self.n_records,
            "n_decisions": self.n_decisions,
            "reviewers": list(self.reviewers),
        }
