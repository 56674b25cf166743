"""The extraction vocabulary: one extracted value, its key and the fields a review extracts.

A review extracts, per included study and protocol outcome, the numbers each *group* reports:
per arm (any number of arms) the participants randomised and analysed, events, mean, SD, SE,
CI, median with IQR or range, change from baseline with its SD, per time point; a reported
between-group *contrast* (an estimate with its SE, CI or p-value: an adjusted odds ratio, a
hazard ratio, a mean difference); single-arm before/after data; counts over person-time. This
is the layout of the Cochrane Handbook, chapter 6 (sections 6.4-6.5) and of RevMan's data
tables, kept in long form: one :class:`ExtractedValue` per number.

Every value carries its provenance (PRISMA 2020 items 9 and 10): ``status`` (``reported`` in the
source; ``assumed`` with ``why``; derived numbers are not stored, they are recomputed from the
reported ones each run, see :mod:`metareview.extraction.assemble`), the source (a record of the
project, ``source_record``, or a citable document, ``source_ref``), ``location`` (table, page,
sentence or JSON path), ``quote``, who extracted it and when.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BASES",
    "FIELDS",
    "GROUPS",
    "NUMBER_FIELDS",
    "TEXT_FIELDS",
    "ExtractedValue",
    "ValueKey",
    "is_baseline",
]

#: Groups of a study an outcome row describes: ``intervention`` / ``comparator`` arms of a
#: comparative study, ``single`` for a single-group measure (one arm, before/after),
#: ``contrast`` for a reported between-group estimate, ``study`` for study characteristics.
GROUPS: tuple[str, ...] = ("intervention", "comparator", "single", "contrast", "study")

#: Numeric fields, with what each means (column names of the extraction template).
NUMBER_FIELDS: dict[str, str] = {
    "n": "participants analysed for this outcome",
    "n_randomised": "participants randomised (or enrolled) to the arm",
    "events": "participants with the event",
    "mean": "mean at this time point",
    "sd": "standard deviation of the mean's data",
    "se": "standard error of the mean (of the change, on a change row; of the estimate on a "
    "contrast row)",
    "ci_lower": "lower 95% confidence limit (of the mean, change or estimate of the row)",
    "ci_upper": "upper 95% confidence limit",
    "median": "median",
    "q1": "first quartile",
    "q3": "third quartile",
    "min": "minimum",
    "max": "maximum",
    "mean_change": "mean change from baseline (follow-up minus baseline)",
    "sd_change": "standard deviation of the change from baseline",
    "estimate": "a reported estimate (between-group contrast, or a single-group estimate), on its "
    "natural scale (ratios as ratios)",
    "estimate_se": "standard error of the estimate (log scale for ratios)",
    "pvalue": "two-sided p-value (of the change on a change row, of the estimate on a "
    "contrast row)",
    "person_time": "person-time at risk (for rates)",
    "r": "pre-post correlation (for a change from baseline computed from before/after means)",
}

#: Text fields: study characteristics and arm descriptions.
TEXT_FIELDS: dict[str, str] = {
    "dose": "dose and schedule of the arm",
    "intervention": "what the arm received",
    "duration": "duration of treatment or follow-up",
}

FIELDS: tuple[str, ...] = (*NUMBER_FIELDS, *TEXT_FIELDS)

#: How a value entered the store: a reviewer's own extraction, the agreed value after two
#: reviewers disagreed, or a pre-filled value from a registry's results (to be confirmed).
BASES: tuple[str, ...] = ("reviewer", "consensus", "registry")

_BASELINE_WORDS = frozenset({"baseline", "base line", "pre", "pre-treatment", "screening", "0"})


def is_baseline(timepoint: str) -> bool:
    """Whether a time point names the baseline (``baseline``, ``pre``, ``0``, ``week 0``...)."""
    t = " ".join(timepoint.strip().casefold().split())
    return t in _BASELINE_WORDS or t in {"week 0", "month 0", "day 0", "0 weeks", "0 months"}


@dataclass(frozen=True, slots=True)
class ValueKey:
    """What a value is the value of: study, outcome, group, arm, time point, scenario, field."""

    study_id: int
    outcome: str
    group: str
    arm: str
    timepoint: str
    scenario: str
    field: str

    def row_key(self) -> tuple[int, str, str, str, str, str]:
        """The key of the template row the value belongs to (everything but the field)."""
        return (self.study_id, self.outcome, self.group, self.arm, self.timepoint, self.scenario)


@dataclass(frozen=True)
class ExtractedValue:
    """One extracted number (or short text) with its provenance.

    Attributes
    ----------
    key
        What it is the value of.
    value, text
        The number, or for text fields the text.
    status
        ``reported`` or ``assumed`` (``why`` says why; ``sensitivity`` lists values the
        analysis tries instead).
    source_record, source_ref
        The project record it was read from, or the key of an extraction source.
    location, quote
        Where in the source (table, page, sentence or JSON path), and the words that pin it.
    reviewer, basis, extracted_at
        Who, how (``reviewer``, ``consensus``, ``registry``) and when.
    """

    key: ValueKey
    value: float | None
    status: str
    text: str | None = None
    why: str | None = None
    sensitivity: tuple[float, ...] = ()
    source_record: int | None = None
    source_ref: str | None = None
    location: str = ""
    quote: str | None = None
    note: str | None = None
    reviewer: str = ""
    basis: str = "reviewer"
    extracted_at: str = ""
    id: int | None = field(default=None, compare=False)

    def same_content(self, other: ExtractedValue) -> bool:
        """Whether two values agree on the number (relative 1e-9) or text, for conflicts."""
        if self.text is not None or other.text is not None:
            return (self.text or "").strip() == (other.text or "").strip()
        if self.value is None or other.value is None:
            return self.value is other.value
        return math.isclose(self.value, other.value, rel_tol=1e-9, abs_tol=1e-12)

    def to_dict(self) -> dict[str, Any]:
        """Tidy form: one row of ``metareview export --extraction``."""
        return {
            "value_id": self.id,
            "study_id": self.key.study_id,
            "outcome": self.key.outcome,
            "group": self.key.group,
            "arm": self.key.arm,
            "timepoint": self.key.timepoint,
            "scenario": self.key.scenario,
            "field": self.key.field,
            "value": self.value if self.text is None else self.text,
            "status": self.status,
            "why": self.why,
            "sensitivity": list(self.sensitivity) or None,
            "source_record": self.source_record,
            "source_ref": self.source_ref,
            "location": self.location,
            "quote": self.quote,
            "note": self.note,
            "reviewer": self.reviewer,
            "basis": self.basis,
            "extracted_at": self.extracted_at,
        }
