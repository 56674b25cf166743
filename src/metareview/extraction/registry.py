"""Study results posted on ClinicalTrials.gov, as long-format values for the review's outcomes.

:func:`registry_values` reads one ClinicalTrials.gov API v2 study document (the JSON object
with ``protocolSection`` and ``resultsSection``; see :mod:`metareview.sources.ctgov`) and
returns, for each protocol outcome it can place, one :class:`RegistryValue` per (outcome, group,
arm, timepoint, field). It is pure: no store, no I/O. Every value is ``reported``; its
``location`` is the JSON path of the number inside the study document and its ``quote`` the
registry's own wording (measure title, group title, parameter and dispersion type, unit).

What is read
------------
* Outcome measures (``resultsSection.outcomeMeasuresModule.outcomeMeasures[]``), per group:
  ``n`` from ``denoms`` (units ``Participants``: the participants analysed); ``paramType``
  ``MEAN`` gives ``mean`` (``mean_change`` when the measure's title or description says
  "change"); ``MEDIAN`` gives ``median``; ``COUNT_OF_PARTICIPANTS`` and ``NUMBER`` (unless its
  unit is a percentage) give ``events``. ``dispersionType`` ``STANDARD_DEVIATION`` gives ``sd``
  (``sd_change``), ``STANDARD_ERROR`` gives ``se``, ``CONFIDENCE_INTERVAL_95`` gives
  ``ci_lower``/``ci_upper``, ``INTER_QUARTILE_RANGE`` gives ``q1``/``q3`` and ``FULL_RANGE``
  ``min``/``max``. Other parameter types (least-squares or geometric means, ...) and other
  interval levels are left out with a warning. The measure's ``timeFrame`` is the timepoint.
* Person-time (``person_time``, for incidence rates): the results section has no field of its
  own for it (API v2's ``outcomeMeasuresModule``, ``adverseEventsModule`` and
  ``participantFlowModule`` count participants and events; the adverse-event groups give
  ``*NumAffected``/``*NumAtRisk`` participants, the events' ``stats`` ``numEvents``, no
  exposure). It is there only where a sponsor posted it as data: a ``NUMBER`` measure whose
  ``unitOfMeasure`` is a person-time unit ("participant-years", "Person-Years of follow-up",
  "catheter-days"), which gives ``person_time`` per group at ``...measurements[j].value``; or
  units analysed in person-time (a ``denoms[]`` entry whose ``units`` is such a unit, the
  PRS "Overall Number of Units Analyzed" with its "Type of Units Analyzed"), which gives
  ``person_time`` at ``...denoms[i].counts[j].value``. The quote keeps the unit. Sponsors more
  often post the rate itself, a ``NUMBER`` measure in "events per 100 participant-years" (e.g.
  NCT03496298's "Event Rate Per 100 Participant-years" for MACE): that is neither a count nor
  person-time and is left out with a warning (before, it was read as ``events``). Person-time
  is never derived from a rate, an event count or a ``timeFrame``.
  Each statistical analysis (``analyses[]``) gives group ``contrast``: ``estimate``
  (``paramValue``), ``estimate_se`` (``dispersionType`` ``STANDARD_ERROR_OF_MEAN``),
  ``ci_lower``/``ci_upper`` (two-sided 95% only) and ``pvalue`` (an exact ``pValue``; a bound
  such as ``<0.001`` is left out with a warning); its arm is the compared groups' titles joined
  by `` vs `` (intervention first).
* Serious adverse events (``adverseEventsModule.eventGroups[]``): ``events`` =
  ``seriousNumAffected``, ``n`` = ``seriousNumAtRisk``; timepoint = the module's ``timeFrame``.
* Withdrawals due to adverse events (``participantFlowModule.periods[].dropWithdraws[]`` whose
  ``type`` mentions an adverse event): ``events`` = the sum over periods per group, ``n`` = the
  ``STARTED`` milestone of the first period; timepoint = the period titles.

Group roles: a module with one group gives ``single``. Otherwise groups whose title says
placebo, control, sham, usual care or standard (care) are ``comparator`` and the others
``intervention``; when no title says so the descriptions are tried. ``arm`` is the group title.
Group ids (``OG000``, ``EG000``, ``FG000``) are resolved to titles within each module.

Which item feeds which outcome
------------------------------
An outcome's ``registry`` (:class:`~metareview.protocol.RegistryMatch`) says it. Without it the
kind is inferred from the outcome's name and description (``_`` read as a space,
case-insensitive): "serious adverse" or the word "sae" means serious adverse events;
"dropout", "drop-out", "withdraw" or "discontinu" together with "adverse" or the word "ae"
means withdrawals due to adverse events; anything else means outcome measures. An outcome
measure then matches when its title or description contains every ``terms`` entry (explicit
``registry``), or else the outcome's name as a whole word, or else every significant word of
the outcome's description (three letters or more, not a number, not a time unit, not a common
word such as "change", "from" or "baseline"). Outcomes that match nothing give no values. An
outcome measure matched by two protocol outcomes is ambiguous: it gives no values and a warning.
Two values with the same key (outcome, group, arm, timepoint, field) keep the first and warn.

Malformed structures (a list where an object belongs, a number that is not a number, missing
keys) never raise: the item is left out and a warning names its JSON path. A document that is
not a study at all raises :class:`~metareview.errors.InputError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from metareview.errors import InputError
from metareview.protocol import OutcomeSpec

__all__ = [
    "FIELDS",
    "GROUPS",
    "RegistryExtraction",
    "RegistryValue",
    "is_person_time_unit",
    "is_rate_unit",
    "registry_values",
]

Group = Literal["intervention", "comparator", "single", "contrast"]

#: The group vocabulary of long-format values.
GROUPS: tuple[str, ...] = ("intervention", "comparator", "single", "contrast")

#: The field vocabulary of long-format values.
FIELDS: tuple[str, ...] = (
    "n",
    "n_randomised",
    "events",
    "mean",
    "sd",
    "se",
    "ci_lower",
    "ci_upper",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "mean_change",
    "sd_change",
    "estimate",
    "estimate_se",
    "pvalue",
    "person_time",
)

_RESULTS = "resultsSection"


@dataclass(frozen=True)
class RegistryValue:
    """One number read from a registry results section (status ``reported``).

    ``location`` is the JSON path of the number in the study document (several paths joined
    by `` + `` for a sum); ``quote`` is the registry's wording for it.
    """

    outcome: str
    group: Group
    arm: str
    timepoint: str
    field: str
    value: float
    location: str
    quote: str

    @property
    def status(self) -> str:
        """Always ``reported``: the registry states the number."""
        return "reported"

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """(outcome, group, arm, timepoint, field): what identifies the value in a study."""
        return (self.outcome, self.group, self.arm, self.timepoint, self.field)


@dataclass(frozen=True)
class RegistryExtraction:
    """The values found and the warnings about what was left out or is ambiguous."""

    values: tuple[RegistryValue, ...]
    warnings: tuple[str, ...]

    def for_outcome(self, outcome: str) -> list[RegistryValue]:
        """The values of one protocol outcome (name compared case-insensitively)."""
        return [v for v in self.values if v.outcome.casefold() == outcome.casefold()]


# ---------------------------------------------------------------------------------------------
# Reading JSON without trusting its shape


class _Reader:
    """Typed access to a JSON tree that records a warning (with the path) for each misfit."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}")

    def obj(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.warn(f"{path}.{key}", f"expected an object, found {type(value).__name__}")
            return None
        return value

    def items(
        self, parent: Mapping[str, Any], key: str, path: str
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """(path, object) for each object of the list ``parent[key]``; other entries warn."""
        value = parent.get(key)
        if value is None:
            return []
        where = f"{path}.{key}"
        if not isinstance(value, list):
            self.warn(where, f"expected a list, found {type(value).__name__}")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                out.append((f"{where}[{i}]", item))
            else:
                self.warn(f"{where}[{i}]", f"expected an object, found {type(item).__name__}")
        return out

    def text(self, parent: Mapping[str, Any], key: str) -> str:
        value = parent.get(key)
        return value.strip() if isinstance(value, str) else ""

    def number(self, parent: Mapping[str, Any], key: str, path: str) -> float | None:
        """``parent[key]`` as a finite float (the API sends numbers as text); None if absent."""
        value = parent.get(key)
        if value is None or value == "":
            return None
        where = f"{path}.{key}"
        if isinstance(value, bool):
            self.warn(where, f"{value!r} is not a number")
            return None
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.replace(",", "").strip())
            except ValueError:
                self.warn(where, f"{value!r} is not a number; left out")
                return None
        else:
            self.warn(where, f"expected a number, found {type(value).__name__}")
            return None
        if not math.isfinite(number):
            self.warn(where, f"{value!r} is not a finite number; left out")
            return None
        return number


# ---------------------------------------------------------------------------------------------
# Groups


@dataclass(frozen=True)
class _Group:
    id: str
    title: str
    role: Group


_COMPARATOR = re.compile(
    r"\b(?:placebos?|controls?|usual\s+care|standard(?:\s+of)?(?:\s+care)?|sham)\b", re.I
)


def _groups(
    reader: _Reader, module: Mapping[str, Any], path: str, key: str = "groups"
) -> dict[str, _Group]:
    """The module's groups by id, with titles and roles (see the module docstring)."""
    raw: list[tuple[str, str, str]] = []
    for gpath, g in reader.items(module, key, path):
        gid = g.get("id")
        if not isinstance(gid, str) or not gid:
            reader.warn(gpath, "group without an id; left out")
            continue
        title = reader.text(g, "title") or gid
        raw.append((gid, title, reader.text(g, "description")))
    if len(raw) == 1:
        return {raw[0][0]: _Group(raw[0][0], raw[0][1], "single")}
    comparators = {gid for gid, title, _ in raw if _COMPARATOR.search(title)}
    if not comparators:
        comparators = {gid for gid, _, desc in raw if _COMPARATOR.search(desc)}
    if raw and len(comparators) == len(raw):
        reader.warn(path, "every group looks like a comparator; all are taken as comparators")
    elif raw and not comparators:
        reader.warn(path, "no group is a placebo/control/usual-care group; all are interventions")
    return {
        gid: _Group(gid, title, "comparator" if gid in comparators else "intervention")
        for gid, title, _ in raw
    }


def _group_of(
    reader: _Reader, groups: Mapping[str, _Group], item: Mapping[str, Any], path: str
) -> _Group | None:
    gid = item.get("groupId")
    group = groups.get(gid) if isinstance(gid, str) else None
    if group is None:
        reader.warn(path, f"group id {gid!r} is not among the module's groups; left out")
    return group


# ---------------------------------------------------------------------------------------------
# Which registry item feeds which outcome

_Kind = Literal["outcome_measure", "serious_adverse_events", "withdrawals_adverse_events"]

# Words too common (or about time) to identify an outcome measure.
# fmt: off
_STOP = frozenset({
    "the", "and", "for", "from", "with", "without", "into", "than", "then", "that", "this",
    "those", "these", "over", "under", "after", "before", "during", "between", "change",
    "changes", "changed", "baseline", "mean", "means", "score", "scores", "total", "week",
    "weeks", "month", "months", "year", "years", "day", "days", "hour", "hours", "time", "end",
    "study", "treatment", "period", "visit", "number", "participants", "patients", "proportion",
    "percentage", "rate",
})
# fmt: on


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z0-9-]*", text.casefold().replace("_", " "))


def _kind(outcome: OutcomeSpec) -> _Kind:
    if outcome.registry is not None:
        return outcome.registry.kind
    text = f"{outcome.name} {outcome.description or ''}".casefold().replace("_", " ")
    words = set(_words(text))
    if "serious adverse" in text or "sae" in words:
        return "serious_adverse_events"
    withdrawn = re.search(r"drop-?\s?outs?|withdr[ae]w|discontinu", text)
    if withdrawn and ("adverse" in text or "ae" in words):
        return "withdrawals_adverse_events"
    return "outcome_measure"


def _matches(outcome: OutcomeSpec, measure_text: str) -> bool:
    """Does an outcome measure (its title and description, casefolded) feed ``outcome``?"""
    if outcome.registry is not None and outcome.registry.terms:
        return all(t.casefold() in measure_text for t in outcome.registry.terms)
    name = " ".join(outcome.name.casefold().replace("_", " ").split())
    if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", measure_text):
        return True
    significant = [w for w in _words(outcome.description or "") if len(w) >= 3 and w not in _STOP]
    present = set(_words(measure_text))
    return bool(significant) and all(w in present for w in significant)


# ---------------------------------------------------------------------------------------------
# The extraction


class _Collector:
    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.values: list[RegistryValue] = []

    def add(
        self,
        outcome: str,
        group: _Group | tuple[Group, str],
        timepoint: str,
        field: str,
        value: float | None,
        location: str,
        quote: str,
    ) -> None:
        if value is None:
            return
        role, arm = (group.role, group.title) if isinstance(group, _Group) else group
        self.values.append(
            RegistryValue(outcome, role, arm, timepoint, field, value, location, quote)
        )


_CENTRAL = {"MEAN": "mean", "MEDIAN": "median", "COUNT_OF_PARTICIPANTS": "events"}

# Units of person-time as sponsors type them ("participant-years", "Person-Years", "patient
# years", "catheter-days", "PY"), optionally "of follow-up", "of exposure", "at risk".
_TIME = r"(?:years?|months?|weeks?|days?|hours?)"
_WHO = r"(?:persons?|people|participants?|patients?|subjects?|catheters?|devices?)"
_PERSON_TIME = rf"(?:{_WHO}[- ]?{_TIME}|p-?ys?)"
_PERSON_TIME_UNIT = re.compile(
    rf"(?:total\s+)?{_PERSON_TIME}(?:\s+(?:of\s+(?:follow-?up|exposure|observation|treatment)"
    rf"|at\s+risk))?",
    re.I,
)
# A rate over (person-)time: "events per 100 participant-years", "infections/1000 catheter-days",
# "events per patient-year", "episodes per participant per year", "events per year".
_RATE_UNIT = re.compile(
    rf"(?:\bper\b|/)\s*(?:[\d.,]+\s*)?(?:{_PERSON_TIME}|(?:{_WHO}\s+per\s+)?{_TIME})\b",
    re.I,
)


def is_person_time_unit(unit: str) -> bool:
    """Whether a registry unit is itself person-time ("participant-years", "Person-Years of
    follow-up", "catheter-days"), not a rate over it."""
    return bool(_PERSON_TIME_UNIT.fullmatch(" ".join(unit.split())))


def is_rate_unit(unit: str) -> bool:
    """Whether a registry unit is a rate over person-time or time ("events per 100
    participant-years", "bleeds per year")."""
    return bool(_RATE_UNIT.search(unit))
_SPREAD_LIMITS = {
    "CONFIDENCE_INTERVAL_95": ("ci_lower", "ci_upper"),
    "INTER_QUARTILE_RANGE": ("q1", "q3"),
    "FULL_RANGE": ("min", "max"),
}
_CHANGE = re.compile(r"\bchang(?:e|es|ed)\b", re.I)


def _outcome_measure(col: _Collector, name: str, measure: Mapping[str, Any], path: str) -> None:
    """Per-group values and contrasts of one outcome measure, for protocol outcome ``name``."""
    reader = col.reader
    title = reader.text(measure, "title") or "(untitled outcome measure)"
    timepoint = reader.text(measure, "timeFrame")
    groups = _groups(reader, measure, path)
    param = reader.text(measure, "paramType").upper()
    dispersion = reader.text(measure, "dispersionType").upper()
    unit = reader.text(measure, "unitOfMeasure")
    change = bool(_CHANGE.search(title) or _CHANGE.search(reader.text(measure, "description")))
    central = _CENTRAL.get(param)
    if param == "NUMBER":
        central = None if "percent" in unit.casefold() else "events"
        if is_person_time_unit(unit):
            central = "person_time"
    if central == "mean" and change:
        central = "mean_change"
    if central in ("events", "person_time") and is_rate_unit(unit):
        # a posted rate is neither a count nor person-time; neither is derived from it
        reader.warn(
            f"{path}.unitOfMeasure",
            f"{unit!r} is a rate, not a count or person-time: not extracted (the registry "
            "gives no person-time with it; events and person-time come from their own measures "
            "or the report)",
        )
        central = None
    elif central is None:
        reader.warn(f"{path}.paramType", f"{param or 'no'} parameter type ({unit}) not extracted")
    spread: str | None = None
    limits: tuple[str, str] | None = None
    if central in ("mean", "mean_change", "median"):
        if dispersion == "STANDARD_DEVIATION":
            spread = "sd_change" if central == "mean_change" else "sd"
        elif dispersion == "STANDARD_ERROR":
            spread = "se"
        elif dispersion in _SPREAD_LIMITS:
            limits = _SPREAD_LIMITS[dispersion]
        elif dispersion not in ("", "NA"):
            reader.warn(f"{path}.dispersionType", f"{dispersion} not extracted")
    label = f"{param}" + (f" ({dispersion})" if dispersion and dispersion != "NA" else "")
    label += f", {unit}" if unit else ""

    # n analysed, from the measure's participant denominators; person-time when the units
    # analysed are person-time ("Overall Number of Units Analyzed", type "Person-years").
    taken: set[str] = set()
    for dpath, denom in reader.items(measure, "denoms", path):
        units = reader.text(denom, "units") or "Participants"
        if units.casefold() == "participants":
            field, what = "n", "Overall Number of Participants Analyzed"
        elif is_person_time_unit(units):
            field, what = "person_time", f"Overall Number of Units Analyzed ({units})"
        else:
            continue
        if field in taken:
            continue
        taken.add(field)
        for cpath, count in reader.items(denom, "counts", dpath):
            group = _group_of(reader, groups, count, cpath)
            if group is not None:
                col.add(
                    name,
                    group,
                    timepoint,
                    field,
                    reader.number(count, "value", cpath),
                    f"{cpath}.value",
                    f"{title}: {group.title}: {what}",
                )

    if central is not None:
        rows = [
            (catpath, cls, cat)
            for clspath, cls in reader.items(measure, "classes", path)
            for catpath, cat in reader.items(cls, "categories", clspath)
        ]
        if len(rows) > 1:
            reader.warn(path, f"{len(rows)} rows (classes/categories); each is its own timepoint")
        for catpath, cls, cat in rows:
            row = " / ".join(t for t in (reader.text(cls, "title"), reader.text(cat, "title")) if t)
            point = f"{timepoint} [{row}]" if len(rows) > 1 and row else timepoint
            where = f"{title}" + (f" [{row}]" if row else "")
            for mpath, m in reader.items(cat, "measurements", catpath):
                group = _group_of(reader, groups, m, mpath)
                if group is None:
                    continue
                quote = f"{where}: {group.title}: {label}"
                col.add(
                    name,
                    group,
                    point,
                    central,
                    reader.number(m, "value", mpath),
                    f"{mpath}.value",
                    quote,
                )
                if spread is not None:
                    col.add(
                        name,
                        group,
                        point,
                        spread,
                        reader.number(m, "spread", mpath),
                        f"{mpath}.spread",
                        quote,
                    )
                if limits is not None:
                    for key, field in zip(("lowerLimit", "upperLimit"), limits, strict=True):
                        col.add(
                            name,
                            group,
                            point,
                            field,
                            reader.number(m, key, mpath),
                            f"{mpath}.{key}",
                            quote,
                        )

    for apath, analysis in reader.items(measure, "analyses", path):
        _analysis(col, name, title, timepoint, groups, analysis, apath)


_PVALUE = re.compile(r"^\s*=?\s*(\d*\.?\d+(?:[eE]-?\d+)?)\s*$")


def _analysis(
    col: _Collector,
    name: str,
    title: str,
    timepoint: str,
    groups: Mapping[str, _Group],
    analysis: Mapping[str, Any],
    path: str,
) -> None:
    reader = col.reader
    ids = analysis.get("groupIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        reader.warn(f"{path}.groupIds", "expected a list of group ids; analysis left out")
        return
    compared = [groups[i] for i in ids if i in groups]
    if len(compared) != len(ids) or len(compared) < 2:
        reader.warn(f"{path}.groupIds", f"{ids!r} are not two of the measure's groups; left out")
        return
    order = {"intervention": 0, "single": 0, "comparator": 1}
    compared.sort(key=lambda g: order.get(g.role, 0))
    arm = " vs ".join(g.title for g in compared)
    param = reader.text(analysis, "paramType") or "estimate"
    quote = f"{title}: {arm}: {param}"
    target: tuple[Group, str] = ("contrast", arm)
    col.add(
        name,
        target,
        timepoint,
        "estimate",
        reader.number(analysis, "paramValue", path),
        f"{path}.paramValue",
        quote,
    )
    dispersion = reader.text(analysis, "dispersionType").upper()
    if dispersion == "STANDARD_ERROR_OF_MEAN":
        col.add(
            name,
            target,
            timepoint,
            "estimate_se",
            reader.number(analysis, "dispersionValue", path),
            f"{path}.dispersionValue",
            f"{quote}, standard error",
        )
    lower = reader.number(analysis, "ciLowerLimit", path)
    upper = reader.number(analysis, "ciUpperLimit", path)
    if lower is not None or upper is not None:
        level = reader.number(analysis, "ciPctValue", path)
        sides = reader.text(analysis, "ciNumSides").upper()
        if level == 95 and sides in ("", "TWO_SIDED"):
            ci_quote = f"{quote}, 95% CI"
            col.add(name, target, timepoint, "ci_lower", lower, f"{path}.ciLowerLimit", ci_quote)
            col.add(name, target, timepoint, "ci_upper", upper, f"{path}.ciUpperLimit", ci_quote)
        else:
            shown = "unstated" if level is None else f"{level:g}%"
            reader.warn(f"{path}.ciPctValue", f"{shown} {sides.lower()} interval not extracted")
    pvalue = analysis.get("pValue")
    if isinstance(pvalue, int | float) and not isinstance(pvalue, bool):
        pvalue = str(pvalue)
    if isinstance(pvalue, str) and pvalue.strip():
        match = _PVALUE.match(pvalue)
        if match and 0 <= float(match.group(1)) <= 1:
            col.add(
                name,
                target,
                timepoint,
                "pvalue",
                float(match.group(1)),
                f"{path}.pValue",
                f"{quote}, p-value {pvalue.strip()}",
            )
        else:
            reader.warn(f"{path}.pValue", f"{pvalue!r} is not an exact p-value; left out")


def _serious_adverse_events(col: _Collector, name: str, results: Mapping[str, Any]) -> bool:
    reader = col.reader
    path = f"{_RESULTS}.adverseEventsModule"
    module = reader.obj(results, "adverseEventsModule", _RESULTS)
    if module is None:
        return False
    timepoint = reader.text(module, "timeFrame")
    found = False
    roles = _groups(reader, module, path, key="eventGroups")
    for gpath, g in reader.items(module, "eventGroups", path):
        gid = g.get("id")
        group = roles.get(gid) if isinstance(gid, str) else None
        if group is None:
            continue
        quote = f"Serious adverse events: {group.title}"
        for field, key, what in (
            ("events", "seriousNumAffected", "participants affected"),
            ("n", "seriousNumAtRisk", "participants at risk"),
        ):
            value = reader.number(g, key, gpath)
            found = found or value is not None
            col.add(name, group, timepoint, field, value, f"{gpath}.{key}", f"{quote}: {what}")
    return found


_ADVERSE = re.compile(r"\badverse\b", re.I)


def _withdrawals(col: _Collector, name: str, results: Mapping[str, Any]) -> bool:
    reader = col.reader
    path = f"{_RESULTS}.participantFlowModule"
    module = reader.obj(results, "participantFlowModule", _RESULTS)
    if module is None:
        return False
    groups = _groups(reader, module, path)
    periods = reader.items(module, "periods", path)
    if not periods:
        return False
    timepoint = " + ".join(reader.text(p, "title") or "period" for _, p in periods)
    sums: dict[str, float] = {}
    where: dict[str, list[str]] = {}
    types: list[str] = []
    for ppath, period in periods:
        for dpath, drop in reader.items(period, "dropWithdraws", ppath):
            kind = reader.text(drop, "type")
            if not _ADVERSE.search(kind):
                continue
            if kind not in types:
                types.append(kind)
            for rpath, reason in reader.items(drop, "reasons", dpath):
                group = _group_of(reader, groups, reason, rpath)
                number = reader.number(reason, "numSubjects", rpath)
                if group is None or number is None:
                    continue
                sums[group.id] = sums.get(group.id, 0.0) + number
                where.setdefault(group.id, []).append(f"{rpath}.numSubjects")
    if not types:
        reader.warn(path, "no withdrawal reason is an adverse event; withdrawals not extracted")
        return False
    label = ", ".join(types)
    for gid, group in groups.items():
        if gid not in sums:
            reader.warn(path, f"no adverse-event withdrawals given for group {gid}; left out")
            continue
        col.add(
            name,
            group,
            timepoint,
            "events",
            sums[gid],
            " + ".join(where[gid]),
            f"Participant flow: {group.title}: not completed, reason {label}",
        )
    first_path, first = periods[0]
    for mpath, milestone in reader.items(first, "milestones", first_path):
        if reader.text(milestone, "type").upper() != "STARTED":
            continue
        for apath, count in reader.items(milestone, "achievements", mpath):
            group = _group_of(reader, groups, count, apath)
            if group is not None and group.id in sums:
                col.add(
                    name,
                    group,
                    timepoint,
                    "n",
                    reader.number(count, "numSubjects", apath),
                    f"{apath}.numSubjects",
                    f"Participant flow: {group.title}: STARTED",
                )
        break
    return bool(sums)


def _study_sections(study: Any) -> Mapping[str, Any] | None:
    """The results section of a study document; raises InputError when it is not a study."""
    if not isinstance(study, Mapping):
        raise InputError(
            f"not a ClinicalTrials.gov study: expected a JSON object, found {type(study).__name__}",
            field="$",
        )
    if not isinstance(study.get("protocolSection"), Mapping):
        raise InputError(
            "not a ClinicalTrials.gov API v2 study: no protocolSection object",
            field="protocolSection",
        )
    results = study.get(_RESULTS)
    if results is None:
        return None
    if not isinstance(results, Mapping):
        raise InputError(f"{_RESULTS} is a {type(results).__name__}, not an object", field=_RESULTS)
    return results


def _no_match_hint(outcome: OutcomeSpec, titles: Sequence[str]) -> str:
    """What to do when no outcome measure matches: the rule tried and the measures there are."""
    posted = [t for t in titles if t]
    if not posted:
        return " (the study posts no outcome measures)"
    if outcome.registry is not None and outcome.registry.terms:
        tried = f"no measure contains every registry term {list(outcome.registry.terms)!r}"
    else:
        tried = "no measure's title or description contains its name or every word of its "
        tried += "description; give it registry terms (registry: {kind: outcome_measure, terms: "
        tried += "[...]})"
    shown = "; ".join(repr(t) for t in posted[:5]) + ("; ..." if len(posted) > 5 else "")
    return f": {tried}; the posted measures are {shown}"


def registry_values(
    study: Mapping[str, Any], outcomes: Sequence[OutcomeSpec]
) -> RegistryExtraction:
    """Long-format values of one ClinicalTrials.gov study's posted results for ``outcomes``.

    Parameters
    ----------
    study
        One ClinicalTrials.gov API v2 study object (``/api/v2/studies/NCT...``, or one entry of
        a search page's ``studies``).
    outcomes
        The protocol's outcomes; see the module docstring for how each is matched to a
        registry item.

    Returns
    -------
    RegistryExtraction
        ``values`` in the order outcomes, registry items and groups are listed, and
        ``warnings`` (each starting with the JSON path it is about).

    Raises
    ------
    InputError
        ``study`` is not a JSON object with a ``protocolSection`` (``field`` names the path).
    """
    reader = _Reader()
    col = _Collector(reader)
    results = _study_sections(study)
    if not results:
        reader.warn(_RESULTS, "the study has no posted results")
        return RegistryExtraction((), tuple(reader.warnings))

    module = reader.obj(results, "outcomeMeasuresModule", _RESULTS)
    measures = (
        reader.items(module, "outcomeMeasures", f"{_RESULTS}.outcomeMeasuresModule")
        if module is not None
        else []
    )
    # Which protocol outcomes each outcome measure feeds.
    fed_by: dict[str, list[str]] = {}
    kinds = {o.name: _kind(o) for o in outcomes}
    for mpath, measure in measures:
        text = f"{reader.text(measure, 'title')} {reader.text(measure, 'description')}".casefold()
        fed_by[mpath] = [
            o.name for o in outcomes if kinds[o.name] == "outcome_measure" and _matches(o, text)
        ]
    for outcome in outcomes:
        kind = kinds[outcome.name]
        found = False
        if kind == "serious_adverse_events":
            found = _serious_adverse_events(col, outcome.name, results)
        elif kind == "withdrawals_adverse_events":
            found = _withdrawals(col, outcome.name, results)
        else:
            for mpath, measure in measures:
                names = fed_by[mpath]
                if outcome.name not in names:
                    continue
                if len(names) > 1:
                    if names[0] == outcome.name:
                        reader.warn(
                            mpath,
                            f"outcome measure {reader.text(measure, 'title')!r} matches the "
                            f"outcomes {', '.join(map(repr, names))}; ambiguous, left out "
                            "(give each outcome registry terms)",
                        )
                    continue
                found = True
                _outcome_measure(col, outcome.name, measure, mpath)
        if not found:
            reader.warn(_RESULTS, f"nothing found for outcome {outcome.name!r}" + (
                _no_match_hint(outcome, [reader.text(m, "title") for _, m in measures])
                if kind == "outcome_measure" else ""
            ))  # fmt: skip

    kept: list[RegistryValue] = []
    seen: dict[tuple[str, str, str, str, str], RegistryValue] = {}
    for value in col.values:
        first = seen.get(value.key)
        if first is not None:
            reader.warn(
                value.location,
                f"{value.field} of {value.arm!r} for {value.outcome!r} at {value.timepoint!r} "
                f"is also given at {first.location}; the first is kept",
            )
            continue
        seen[value.key] = value
        kept.append(value)
    return RegistryExtraction(tuple(kept), tuple(reader.warnings))
