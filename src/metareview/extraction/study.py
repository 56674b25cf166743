"""Extracted study data: design, arms, numbers per outcome, each number with provenance.

A study data file (YAML) holds the review's source list and one entry per included study::

    sources:
      - key: spiera2011
        citation: "Spiera RF et al. Ann Rheum Dis 2011;70(6):1003-9."
        url: https://ard.bmj.com/content/70/6/1003.abstract
    studies:
      - id: spiera2011
        label: Spiera 2011
        design: phase IIa, single-arm, open-label
        arms:
          - name: imatinib
            dose: {value: 400 mg/day, status: reported, source: {ref: spiera2011, where: ...}}
            n_enrolled: {value: 30, status: reported, source: {...}}
        outcomes:
          mRSS:
            - measure: GEN
              timepoint: 12 months
              inputs:
                yi:   {value: -6.6, status: reported, source: {...}}
                pval: {value: 0.001, status: reported, source: {...}}
                ni:   {value: 24, status: reported, source: {...}}
                sei:  {status: derived, derive: {method: se_from_pvalue, inputs: {...}}, ...}
        not_extracted:
          HAQ: "no HAQ-DI numbers reported: 'quality of life measures improved or remained stable'"

Which inputs an outcome needs depends on its ``measure`` (metafor's argument names):

* ``MC`` — raw mean change from pre/post means: ``m1i`` (follow-up mean), ``m2i`` (baseline
  mean), ``sd1i``, ``sd2i``, ``ni``, ``ri`` (pre-post correlation); metafor's
  ``escalc(measure="MC")`` gives ``yi = m1i - m2i``.
* ``GEN`` — a reported change with its uncertainty: ``yi`` and ``sei`` (or ``vi``).
* ``PR`` — event counts for a proportion: ``xi`` events among ``ni`` patients; the analysis
  transforms them (logit, Freeman-Tukey) as the protocol says.
* ``2x2`` — events and totals of two groups (``ai``/``n1i`` intervention, ``ci``/``n2i``
  comparator) for RR, OR, RD, PETO.
* ``MEANS`` — means, SDs and sizes of two groups (``m1i sd1i n1i``, ``m2i sd2i n2i``) for MD,
  SMD, ROM.
* ``RATES`` — events over person-time of two groups (``x1i t1i``, ``x2i t2i``) for IRR, IRD.
* ``RATE`` — events over person-time of one group (``xi ti``) for IR, IRLN, IRS, IRFT.
* ``MEAN`` — mean, SD and size of one group (``mi sdi ni``) for MN, MNLN, CVLN.
* ``SD`` — SD and size of one group (``sdi ni``) for SDLN.

``scenario`` other than ``"main"`` marks alternative data used only in sensitivity analyses
(another time point, a bound). Every study says, for each outcome it does not contribute to,
why not (``not_extracted``), so a reader sees a gap as a decision, not an omission.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from metareview.errors import InputError
from metareview.extraction.provenance import Quantity, SourceSpec
from metareview.sources.base import read_text

__all__ = [
    "MEASURE_INPUTS",
    "Arm",
    "OutcomeData",
    "StudyData",
    "StudyDataFile",
    "load_studies",
    "yaml_problem",
]

#: Input layouts of an outcome row and the inputs each needs (metafor's argument names; ``GEN``
#: needs ``yi`` and one of sei/vi). ``PR``, ``2x2``, ``MEANS``, ``RATES``, ``RATE``, ``MEAN`` and
#: ``SD`` are pooled with the protocol outcome's measure (PLO, RR, SMD, IRR, IRLN, MN, SDLN, ...);
#: ``MC`` and ``GEN`` as they are.
MEASURE_INPUTS: dict[str, tuple[str, ...]] = {
    "MC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "GEN": ("yi",),
    "PR": ("xi", "ni"),
    "2x2": ("ai", "n1i", "ci", "n2i"),
    "MEANS": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "RATES": ("x1i", "t1i", "x2i", "t2i"),
    "RATE": ("xi", "ti"),
    "MEAN": ("mi", "sdi", "ni"),
    "SD": ("sdi", "ni"),
}


class Arm(BaseModel):
    """One arm of a study: the intervention, its dose and how many were enrolled/analysed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    intervention: str | None = None
    dose: Quantity | None = None
    n_enrolled: Quantity | None = None
    n_analysed: Quantity | None = None
    included_in_review: bool = True


class OutcomeData(BaseModel):
    """The numbers one study gives for one outcome at one time point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: str
    timepoint: str = Field(min_length=1)
    timepoint_months: float | None = None
    arm: str | None = None
    scenario: str = "main"
    inputs: dict[str, Quantity]
    note: str | None = None

    @model_validator(mode="after")
    def _check_inputs(self) -> OutcomeData:
        if self.measure not in MEASURE_INPUTS:
            raise ValueError(
                f"measure {self.measure!r} is not one of {', '.join(sorted(MEASURE_INPUTS))}"
            )
        missing = [name for name in MEASURE_INPUTS[self.measure] if name not in self.inputs]
        if self.measure == "GEN" and "sei" not in self.inputs and "vi" not in self.inputs:
            missing.append("sei (or vi)")
        if missing:
            raise ValueError(f"measure {self.measure} needs inputs: {', '.join(missing)}")
        for name, quantity in self.inputs.items():
            if quantity.derive is None:
                continue
            unknown = [v for v in quantity.derive.inputs.values() if v not in self.inputs]
            if unknown:
                raise ValueError(
                    f"input {name!r} derives from {', '.join(unknown)}, which this outcome lacks"
                )
        return self


class StudyData(BaseModel):
    """One included study: identification, design, arms, characteristics and outcome data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1)
    year: int | None = None
    citation: str = Field(min_length=1)
    registry: list[str] = Field(default_factory=list)
    record_ids: list[str] = Field(default_factory=list)
    design: str = Field(min_length=1)
    population: str | None = None
    arms: list[Arm]
    duration_months: Quantity | None = None
    characteristics: dict[str, Quantity] = Field(default_factory=dict)
    outcomes: dict[str, list[OutcomeData]] = Field(default_factory=dict)
    not_extracted: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    def outcome_rows(self, outcome: str, scenario: str = "main") -> list[OutcomeData]:
        """The study's data for ``outcome`` in ``scenario`` (``main`` data when not overridden)."""
        rows = self.outcomes.get(outcome, [])
        chosen = [row for row in rows if row.scenario == scenario]
        if chosen or scenario == "main":
            return chosen
        return [row for row in rows if row.scenario == "main"]

    def quantities(self) -> list[tuple[str, Quantity]]:
        """Every number of the study as (path, quantity), for audits and tests."""
        out: list[tuple[str, Quantity]] = []
        for i, arm in enumerate(self.arms):
            for name in ("dose", "n_enrolled", "n_analysed"):
                q = getattr(arm, name)
                if q is not None:
                    out.append((f"arms[{i}].{name}", q))
        if self.duration_months is not None:
            out.append(("duration_months", self.duration_months))
        out.extend((f"characteristics.{k}", q) for k, q in self.characteristics.items())
        for outcome, rows in self.outcomes.items():
            for j, row in enumerate(rows):
                out.extend(
                    (f"outcomes.{outcome}[{j}].inputs.{name}", q) for name, q in row.inputs.items()
                )
        return out


class StudyDataFile(BaseModel):
    """A whole study data file: the source list and the studies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceSpec]
    studies: list[StudyData]

    @model_validator(mode="after")
    def _check_refs(self) -> StudyDataFile:
        keys = [s.key for s in self.sources]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"duplicate source keys: {', '.join(sorted(dupes))}")
        ids = [s.id for s in self.studies]
        dupes = {k for k in ids if ids.count(k) > 1}
        if dupes:
            raise ValueError(f"duplicate study ids: {', '.join(sorted(dupes))}")
        known = set(keys)
        for study in self.studies:
            for path, q in study.quantities():
                if q.source.ref not in known:
                    raise ValueError(
                        f"study {study.id!r} {path}: source {q.source.ref!r} is not in 'sources'"
                    )
        return self

    def source(self, key: str) -> SourceSpec:
        """The source with ``key``; ``KeyError`` when there is none."""
        for s in self.sources:
            if s.key == key:
                return s
        raise KeyError(key)

    def study(self, study_id: str) -> StudyData:
        """The study with ``study_id``; ``KeyError`` when there is none."""
        for s in self.studies:
            if s.id == study_id:
                return s
        raise KeyError(study_id)


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: the problem and the line it is on (1-based) when known."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        return f"{problem} (line {mark.line + 1})" if mark is not None else problem
    return " ".join(str(exc).split())


def load_studies(path: str | Path) -> StudyDataFile:
    """Read and validate a study data YAML file.

    Raises
    ------
    InputError
        When the file is missing, is not YAML, or does not validate; the message names the file
        and the field path (``studies[1].outcomes.mRSS[0].inputs.sei``).
    """
    path = Path(path)
    text = read_text(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {yaml_problem(exc)}", file=str(path)) from exc
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with 'sources' and 'studies'", file=str(path))
    try:
        return StudyDataFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _loc(tuple(err["loc"])) or None
        message = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError(message + more, file=str(path), field=field) from exc
