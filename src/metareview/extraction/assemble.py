"""From extracted values to the inputs of each study's effect size, every step named.

A reviewer extracts what a study reports, per group, arm and time point (see
:mod:`metareview.extraction.values`); an effect size needs metafor's inputs for the protocol
outcome's measure (``escalc``'s ``ai n1i ci n2i``, ``m1i sd1i n1i ...``, ``xi ni``, ``yi sei``).
:func:`assemble_outcome` builds one :class:`~metareview.extraction.study.OutcomeData` from the
values, in which every input is either a reported/assumed value (with its source) or a
``derived`` quantity naming its conversion (:data:`~metareview.extraction.derivations.DERIVATIONS`)
and inputs, recomputed each run. The rules, in the order tried (Cochrane Handbook v6.4,
chapter 6):

* **proportions** (PR, PLO, PLN, PAS, PFT): ``events`` and ``n`` of the ``single`` group, else of
  the ``intervention`` group (the treated arm of a comparative trial); several arms are summed.
* **two-group binary** (RR, OR, RD, PETO): ``events`` and ``n`` per group → ``ai n1i ci n2i``.
* **rates** (IRR, IRD): ``events`` and ``person_time`` per group → ``x1i t1i x2i t2i``.
* **single-group rates** (IR, IRLN, IRS, IRFT): ``events`` and ``person_time`` of the ``single``
  group, else of the ``intervention`` group → ``xi ti``; several arms are summed.
* **single-group means** (MN, MNLN, CVLN; SDLN): the mean, SD and n of that group at follow-up
  → ``mi sdi ni`` (SDLN: ``sdi ni``, no mean needed for one arm), the SD derived as for two
  groups when missing and several arms combined (Handbook 6.5.2.10).
* **two-group continuous** (MD, SMD, ROM): per group the mean, SD and n at follow-up; when every
  group gives a change from baseline instead (``mean_change``), the change scores (MD only; the
  Handbook, section 10.5.2, allows mixing them for MD, not for SMD). Missing SDs come from the SE,
  the CI, or the median with IQR or range (Wan et al. 2014; Luo et al. 2018); several arms of one
  group are combined (Handbook 6.5.2.10).
* **single-group change** (MC): a reported ``mean_change`` with its SD, SE, CI or p-value (a
  paired t-test: Handbook 6.5.2.3) → ``yi``/``sei``; otherwise baseline and follow-up means with
  their SDs and the pre-post correlation ``r`` → ``m1i m2i sd1i sd2i ni ri``.
* **a reported estimate** (GEN, and any measure whose group data do not suffice): the
  ``contrast`` group's ``estimate`` (log of it for ratio measures) with ``estimate_se``, its CI or
  its p-value.

The follow-up time point is the one given; when several are, the latest (by the number and unit
in its text) and the choice is stated. Data under another ``scenario`` replace the main data of
that study for that scenario only (sensitivity analyses).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from metareview.effects.measures import MEASURE_INFO
from metareview.extraction.provenance import Derivation, Quantity, SourceRef, SourceSpec
from metareview.extraction.study import OutcomeData
from metareview.extraction.values import ExtractedValue, is_baseline

__all__ = [
    "CONVERSIONS_SOURCE",
    "NotPoolable",
    "ValueProblem",
    "assemble_outcome",
    "check_values",
    "quantity",
    "source_key",
]

#: The source named by derived numbers: the conversions and where their formulas come from.
CONVERSIONS_SOURCE = SourceSpec(
    key="conversions",
    citation=(
        "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
        "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, "
        "2023; Wan X et al. BMC Med Res Methodol 2014;14:135; Luo D et al. Stat Methods Med Res "
        "2018;27(6):1785-1805."
    ),
    url="https://training.cochrane.org/handbook/current/chapter-06",
)

def _family(family: str) -> tuple[str, ...]:
    return tuple(n for n, i in MEASURE_INFO.items() if i.computable and i.family == family)


_PROPORTIONS = _family("single-group proportion")
_BINARY = _family("two-group binary")
_RATES = _family("rates")
_MEANS = _family("two-group continuous")
_SINGLE_RATES = _family("single-group rate")
_SINGLE_MEANS = _family("single-group mean")
_LOG_SCALE = tuple(n for n, i in MEASURE_INFO.items() if i.is_ratio)
_GROUP_LAYOUTS = (*_PROPORTIONS, *_BINARY, *_RATES, *_MEANS, *_SINGLE_RATES, *_SINGLE_MEANS, "MC")


class NotPoolable(Exception):
    """The values do not give the inputs the measure needs; ``args[0]`` says what is missing."""


@dataclass(frozen=True)
class ValueProblem:
    """A value a measure cannot use: the value whose row is to blame, the field, and why."""

    value: ExtractedValue
    field: str
    message: str


#: The numbers of a single group's measurement that need its n to become an effect size.
_MEASURED = ("mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3", "min", "max")


def check_values(
    measure: str, values: Sequence[ExtractedValue], blame: Callable[[ExtractedValue], bool]
) -> list[ValueProblem]:
    """What the values of one outcome lack or hold that its single-group ``measure`` cannot
    use, found before any analysis (``extract --import`` refuses the whole form then).

    Per study, group, arm, time point and scenario (the ``single`` or ``intervention`` group):

    * a rate (IR, IRLN, IRS, IRFT: metafor's ``xi``/``ti``) needs ``events`` and
      ``person_time`` together;
    * a mean (MN, MNLN, CVLN, SDLN) needs ``n`` (or ``n_randomised``) with its mean or SD, at the
      time point or at baseline; MNLN and CVLN take the log of the mean, so it must be > 0;
      CVLN and SDLN take the log of the SD (> 0) and carry the bias correction
      ``1/(2(n - 1))`` (Nakagawa et al. 2015), so n must be at least 2.

    Only values for which ``blame`` holds are reported (those of the form being imported);
    the others (already stored) count as given. Other measures: no check (``[]``).
    """
    rate, mean = measure in _SINGLE_RATES, measure in _SINGLE_MEANS
    if not (rate or mean):
        return []
    rows: dict[tuple[int, str, str, str, str, str], Cells] = {}
    for v in values:
        if v.value is not None and v.key.group in ("single", "intervention"):
            rows.setdefault(v.key.row_key(), {})[v.key.field] = v
    out: list[ValueProblem] = []

    def problem(v: ExtractedValue, fld: str, message: str) -> None:
        if blame(v):
            out.append(ValueProblem(v, fld, message))

    for key, cells in rows.items():
        if rate:
            for have, lack, what in (("events", "person_time", "person-time"),
                                     ("person_time", "events", "number of events")):  # fmt: skip
                if have in cells and lack not in cells:
                    problem(cells[have], lack, f"no {what} ({measure} is events over person-time)")
            continue
        if is_baseline(key[4]):
            continue
        base = next((c for k, c in rows.items() if k[:4] == key[:4] and k[5] == key[5]
                     and is_baseline(k[4])), {})  # fmt: skip
        given = [f for f in _MEASURED if f in cells]
        n = cells.get("n") or cells.get("n_randomised") or base.get("n") or base.get("n_randomised")
        if given and n is None:
            problem(cells[given[0]], "n", f"no number of participants (n) for the {given[0]} "
                    f"({measure} needs the group's n)")  # fmt: skip
        m = cells.get("mean")
        if measure in ("MNLN", "CVLN") and m is not None and m.value is not None and m.value <= 0:
            problem(m, "mean", f"the mean must be > 0: {measure} takes the log of the mean "
                    f"(got {m.value:g})")  # fmt: skip
        if measure in ("CVLN", "SDLN"):
            if "sd" in cells and cells["sd"].value == 0:
                problem(cells["sd"], "sd", f"the SD must be > 0: {measure} takes the log of the SD")
            if n is not None and n.value is not None and n.value < 2:
                problem(n, n.key.field, f"{measure} needs n >= 2 (its bias correction is "
                        f"1/(2(n - 1))), got {n.value:g}")  # fmt: skip
    return out


def source_key(value: ExtractedValue) -> str:
    """The source list key of a value: its extraction source, or ``record:<id>``."""
    if value.source_ref:
        return value.source_ref
    if value.source_record is not None:
        return f"record:{value.source_record}"
    return "unsourced"


def quantity(v: ExtractedValue) -> Quantity:
    """A stored value as a :class:`~metareview.extraction.provenance.Quantity` (its number, or
    its text for text fields, with status, source, where, quote, why and sensitivity)."""
    return Quantity(
        value=v.text if v.text is not None else v.value,
        status="assumed" if v.status == "assumed" else "reported",
        source=SourceRef(
            ref=source_key(v), where=v.location or "location not given", quote=v.quote
        ),
        why=v.why if v.status == "assumed" else None,
        sensitivity=list(v.sensitivity) if v.status == "assumed" and v.sensitivity else None,
        note=v.note,
    )


class _Inputs:
    """The inputs of one outcome row as they are built: reported ones and derived ones."""

    def __init__(self) -> None:
        self.items: dict[str, Quantity] = {}

    def put(self, name: str, value: ExtractedValue) -> str:
        self.items[name] = quantity(value)
        return name

    def derive(self, name: str, method: str, where: str, **inputs: str) -> str:
        self.items[name] = Quantity(
            status="derived",
            derive=Derivation(method=method, inputs=dict(inputs)),
            source=SourceRef(ref=CONVERSIONS_SOURCE.key, where=where),
        )
        return name


Cells = dict[str, ExtractedValue]


@dataclass
class _Group:
    """The rows of one group of one study and outcome: arm -> time point -> field -> value."""

    arms: dict[str, dict[str, Cells]]

    def followup(self, arm: str) -> Cells:
        times = self.arms[arm]
        later = [t for t in times if not is_baseline(t)]
        if not later:
            return {}
        return times[_latest(later)]

    def baseline(self, arm: str) -> Cells:
        for t, cells in self.arms[arm].items():
            if is_baseline(t):
                return cells
        return {}

    def timepoints(self) -> list[str]:
        return [t for times in self.arms.values() for t in times if not is_baseline(t)]


_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
_TIME = re.compile(r"(\d+(?:\.\d+)?)[\s-]*(day|week|month|year)s?", re.IGNORECASE)
_TIME_BEFORE = re.compile(r"(day|week|month|year)s?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def _days(text: str) -> float | None:
    m = _TIME.search(text)
    if m:
        return float(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]
    m = _TIME_BEFORE.search(text)
    if m:
        return float(m.group(2)) * _UNIT_DAYS[m.group(1).lower()]
    return None


def _latest(timepoints: Sequence[str]) -> str:
    """The latest of several time points (by their number and unit; else the last given)."""
    unique = list(dict.fromkeys(timepoints))
    timed = [(d, i, t) for i, t in enumerate(unique) if (d := _days(t)) is not None]
    if len(timed) == len(unique):
        return max(timed)[2]
    return unique[-1]


def _align_times(groups: Mapping[str, _Group]) -> None:
    """Keep in every arm (but the contrast's) only the latest follow-up time point that all arms
    report, when they share one, so that groups are compared (and arms combined) at one time."""
    arms = [g.arms[a] for name, g in groups.items() if name != "contrast" for a in g.arms]
    later = [[t for t in times if not is_baseline(t)] for times in arms]
    later = [ts for ts in later if ts]
    if len(later) < 2:
        return
    common = [t for t in later[0] if all(t in ts for ts in later[1:])]
    if not common:
        return
    keep = _latest(common)
    for times in arms:
        for t in [t for t in times if not is_baseline(t) and t != keep]:
            del times[t]


def _groups(values: Sequence[ExtractedValue]) -> dict[str, _Group]:
    out: dict[str, _Group] = {}
    for v in values:
        k = v.key
        g = out.setdefault(k.group, _Group({}))
        g.arms.setdefault(k.arm, {}).setdefault(k.timepoint, {})[k.field] = v
    return out


def _n(ins: _Inputs, cells: Cells, name: str, backup: Cells | None = None) -> str:
    for source in (cells, backup or {}):
        for fld in ("n", "n_randomised"):
            if fld in source:
                return ins.put(name, source[fld])
    raise NotPoolable("no number of participants (n)")


def _from_median(ins: _Inputs, cells: Cells, name: str, n: str, what: str) -> str | None:
    """``what`` ("mean" or "sd") estimated from the median with the quartiles, else with the
    range (Wan et al. 2014; Luo et al. 2018); None when neither is given."""
    for lo, hi, kind in (("q1", "q3", "iqr"), ("min", "max", "range")):
        if {"median", lo, hi} <= cells.keys():
            spread = "quartiles" if kind == "iqr" else "range"
            return ins.derive(
                name,
                f"{what}_from_median_{kind}",
                f"{'mean' if what == 'mean' else 'SD'} estimated from the median and {spread}",
                median=ins.put(f"{name}_median", cells["median"]),
                lower=ins.put(f"{name}_{lo}", cells[lo]),
                upper=ins.put(f"{name}_{hi}", cells[hi]),
                ni=n,
            )
    return None


def _mean(ins: _Inputs, cells: Cells, name: str, n: str) -> str:
    if "mean" in cells:
        return ins.put(name, cells["mean"])
    derived = _from_median(ins, cells, name, n, "mean")
    if derived is None:
        raise NotPoolable("no mean (nor median with IQR or range)")
    return derived


def _sd(ins: _Inputs, cells: Cells, name: str, n: str, *, change: bool = False) -> str:
    sd_field = "sd_change" if change else "sd"
    if sd_field in cells:
        return ins.put(name, cells[sd_field])
    if "se" in cells:
        return ins.derive(
            name, "sd_from_se", "SD from the SE", se=ins.put(f"{name}_se", cells["se"]), ni=n
        )
    if {"ci_lower", "ci_upper"} <= cells.keys():
        return ins.derive(
            name,
            "sd_from_ci",
            "SD from the 95% CI",
            lower=ins.put(f"{name}_ci_lower", cells["ci_lower"]),
            upper=ins.put(f"{name}_ci_upper", cells["ci_upper"]),
            ni=n,
        )
    if not change and (derived := _from_median(ins, cells, name, n, "sd")) is not None:
        return derived
    what = "SD of the change" if change else "SD"
    raise NotPoolable(f"no {what} (nor SE, 95% CI{'' if change else ', IQR or range'})")


def _combine(ins: _Inputs, parts: list[tuple[str, str, str]], name: str) -> tuple[str, str, str]:
    """Fold several arms' (n, mean, sd) names into one group (Handbook 6.5.2.10)."""
    n, m, s = parts[0]
    for i, (n2, m2, s2) in enumerate(parts[1:], start=1):
        args = {"n1": n, "mean1": m, "sd1": s, "n2": n2, "mean2": m2, "sd2": s2}
        where = "arms combined"
        n_new = ins.derive(f"{name}_n_c{i}", "combined_n", where, **args)
        m_new = ins.derive(f"{name}_m_c{i}", "combined_mean", where, **args)
        s_new = ins.derive(f"{name}_sd_c{i}", "combined_sd", where, **args)
        n, m, s = n_new, m_new, s_new
    return n, m, s


def _continuous(ins: _Inputs, group: _Group, tag: str, *, change: bool) -> tuple[str, str, str]:
    parts: list[tuple[str, str, str]] = []
    for j, arm in enumerate(group.arms):
        cells = group.followup(arm)
        base = group.baseline(arm)
        p = f"{tag}{'' if len(group.arms) == 1 else f'_arm{j + 1}'}"
        n = _n(ins, cells, f"n_{p}", base)
        if change:
            if "mean_change" not in cells:
                raise NotPoolable("no mean change from baseline")
            m = ins.put(f"mean_change_{p}", cells["mean_change"])
            s = _sd(ins, cells, f"sd_change_{p}", n, change=True)
        else:
            m = _mean(ins, cells, f"mean_{p}", n)
            s = _sd(ins, cells, f"sd_{p}", n)
        parts.append((n, m, s))
    return _combine(ins, parts, tag) if len(parts) > 1 else parts[0]


def _counts(ins: _Inputs, group: _Group, tag: str, fields: tuple[str, str]) -> tuple[str, str]:
    names: list[tuple[str, str]] = []
    for j, arm in enumerate(group.arms):
        cells = group.followup(arm) or next(iter(group.arms[arm].values()))
        p = f"{tag}{'' if len(group.arms) == 1 else f'_arm{j + 1}'}"
        got = []
        for fld in fields:
            if fld == "n":
                got.append(_n(ins, cells, f"n_{p}"))
            elif fld in cells:
                got.append(ins.put(f"{fld}_{p}", cells[fld]))
            else:
                raise NotPoolable(f"no {fld.replace('_', '-')}")
        names.append((got[0], got[1]))
    a, b = names[0]
    for i, (a2, b2) in enumerate(names[1:], start=1):
        a = ins.derive(f"{fields[0]}_{tag}_sum{i}", "sum", "arms combined", a=a, b=a2)
        b = ins.derive(f"{fields[1]}_{tag}_sum{i}", "sum", "arms combined", a=b, b=b2)
    return a, b


def _rename(ins: _Inputs, mapping: Mapping[str, str]) -> None:
    """Give the final inputs metafor's names (``ai``, ``m1i`` ...), keeping derivation links."""
    for old, new in mapping.items():
        if old == new:
            continue
        ins.items[new] = ins.items.pop(old)
        for name, q in list(ins.items.items()):
            if q.derive is not None and old in q.derive.inputs.values():
                inputs = {a: (new if s == old else s) for a, s in q.derive.inputs.items()}
                ins.items[name] = q.model_copy(
                    update={"derive": Derivation(method=q.derive.method, inputs=inputs)}
                )


def _two(groups: Mapping[str, _Group]) -> tuple[_Group, _Group]:
    if "intervention" not in groups or "comparator" not in groups:
        have = ", ".join(sorted(g for g in groups if g != "contrast")) or "none"
        raise NotPoolable(f"needs intervention and comparator groups (has: {have})")
    return groups["intervention"], groups["comparator"]


def _one(groups: Mapping[str, _Group]) -> _Group:
    for name in ("single", "intervention"):
        if name in groups:
            return groups[name]
    raise NotPoolable("needs a single (or intervention) group")


def _estimate(ins: _Inputs, groups: Mapping[str, _Group], measure: str) -> None:
    group = groups.get("contrast") or groups.get("single")
    if group is None:
        raise NotPoolable("no group data and no reported estimate")
    cells = group.followup(next(iter(group.arms))) or next(
        iter(next(iter(group.arms.values())).values())
    )
    if "estimate" not in cells:
        raise NotPoolable("no group data and no reported estimate")
    log = measure in _LOG_SCALE
    if log:
        est = ins.put("estimate", cells["estimate"])
        ins.derive("yi", "log", "the log of the reported ratio", x=est)
    else:
        ins.put("yi", cells["estimate"])
    if "estimate_se" in cells:
        ins.put("sei", cells["estimate_se"])
    elif {"ci_lower", "ci_upper"} <= cells.keys():
        ins.derive(
            "sei",
            "se_from_log_ci" if log else "se_from_ci",
            "SE from the 95% CI of the estimate",
            lower=ins.put("ci_lower", cells["ci_lower"]),
            upper=ins.put("ci_upper", cells["ci_upper"]),
        )
    elif "pvalue" in cells:
        ins.derive(
            "sei", "se_from_pvalue_z", "SE from the p-value", estimate="yi",
            pval=ins.put("pval", cells["pvalue"]),
        )  # fmt: skip
    else:
        raise NotPoolable("the reported estimate has no SE, CI or p-value")


def _change_row(ins: _Inputs, group: _Group) -> None:
    """MC from one group: a reported change (GEN) or before/after means with ``r`` (MC)."""
    arm = next(iter(group.arms))
    if len(group.arms) > 1:
        raise NotPoolable("a single-group change needs one arm (several given)")
    cells, base = group.followup(arm), group.baseline(arm)
    if "mean_change" in cells:
        ins.put("yi", cells["mean_change"])
        n = _n(ins, cells, "ni", base)
        if "sd_change" in cells:
            ins.derive("sei", "se_from_sd", "SE of the change from its SD",
                       sd=ins.put("sd_change", cells["sd_change"]), ni=n)  # fmt: skip
        elif "se" in cells:
            ins.put("sei", cells["se"])
        elif {"ci_lower", "ci_upper"} <= cells.keys():
            # via the SD, so that the t quantile is used below n = 60 (Handbook 6.5.2.2)
            sd = ins.derive("sd_change", "sd_from_ci", "SD of the change from its 95% CI",
                            lower=ins.put("ci_lower", cells["ci_lower"]),
                            upper=ins.put("ci_upper", cells["ci_upper"]), ni=n)  # fmt: skip
            ins.derive("sei", "se_from_sd", "SE of the change from its SD", sd=sd, ni=n)
        elif "pvalue" in cells:
            ins.derive(
                "sei", "se_from_pvalue",
                "SE from the p-value of a paired t-test (Cochrane Handbook 6.5.2.3)",
                estimate="yi", pval=ins.put("pval", cells["pvalue"]), ni=n,
            )  # fmt: skip
        else:
            raise NotPoolable("the mean change has no SD, SE, CI or p-value")
        return
    if not base:
        raise NotPoolable("no mean change, and no baseline row to compute it from")
    ins.put("m1i", _need(cells, "mean", "follow-up mean"))
    ins.put("m2i", _need(base, "mean", "baseline mean"))
    n = _n(ins, cells, "ni", base)
    for name, row in (("sd1i", cells), ("sd2i", base)):
        _sd(ins, row, name, n)
    r = cells.get("r") or base.get("r")
    if r is None:
        raise NotPoolable(
            "before/after means need the pre-post correlation r (an assumed value with a "
            "sensitivity range, Cochrane Handbook 6.5.2.8)"
        )
    ins.put("ri", r)


def _single_mean(ins: _Inputs, group: _Group, *, sd_only: bool) -> str:
    """One group's mean, SD and n (``mi sdi ni``: MN, MNLN, CVLN), or for SDLN of one arm its
    SD and n alone (``sdi ni``); several arms are combined (Handbook 6.5.2.10), which needs
    their means."""
    if sd_only and len(group.arms) == 1:
        arm = next(iter(group.arms))
        cells, base = group.followup(arm), group.baseline(arm)
        n = _n(ins, cells, "n_single", base)
        s = _sd(ins, cells, "sd_single", n)
        _rename(ins, {s: "sdi", n: "ni"})
        return "SD"
    n, m, s = _continuous(ins, group, "single", change=False)
    _rename(ins, {s: "sdi", n: "ni"} if sd_only else {m: "mi", s: "sdi", n: "ni"})
    return "SD" if sd_only else "MEAN"


def _need(cells: Cells, fld: str, what: str) -> ExtractedValue:
    if fld not in cells:
        raise NotPoolable(f"no {what}")
    return cells[fld]


def _layout(measure: str, groups: Mapping[str, _Group], ins: _Inputs) -> str:
    if measure in _PROPORTIONS:
        xi, ni = _counts(ins, _one(groups), "single", ("events", "n"))
        _rename(ins, {xi: "xi", ni: "ni"})
        return "PR"
    if measure in _BINARY:
        g1, g2 = _two(groups)
        a, n1 = _counts(ins, g1, "intervention", ("events", "n"))
        c, n2 = _counts(ins, g2, "comparator", ("events", "n"))
        _rename(ins, {a: "ai", n1: "n1i", c: "ci", n2: "n2i"})
        return "2x2"
    if measure in _RATES:
        g1, g2 = _two(groups)
        x1, t1 = _counts(ins, g1, "intervention", ("events", "person_time"))
        x2, t2 = _counts(ins, g2, "comparator", ("events", "person_time"))
        _rename(ins, {x1: "x1i", t1: "t1i", x2: "x2i", t2: "t2i"})
        return "RATES"
    if measure in _MEANS:
        g1, g2 = _two(groups)
        change = all(
            "mean_change" in g.followup(a) and "mean" not in g.followup(a)
            for g in (g1, g2)
            for a in g.arms
        )
        if change and measure != "MD":
            raise NotPoolable(f"{measure} cannot pool change scores (Handbook 10.5.2); use MD")
        n1, m1, s1 = _continuous(ins, g1, "intervention", change=change)
        n2, m2, s2 = _continuous(ins, g2, "comparator", change=change)
        _rename(ins, {m1: "m1i", s1: "sd1i", n1: "n1i", m2: "m2i", s2: "sd2i", n2: "n2i"})
        return "MEANS"
    if measure in _SINGLE_RATES:
        xi, ti = _counts(ins, _one(groups), "single", ("events", "person_time"))
        _rename(ins, {xi: "xi", ti: "ti"})
        return "RATE"
    if measure in _SINGLE_MEANS:
        return _single_mean(ins, _one(groups), sd_only=measure == "SDLN")
    if measure == "MC":
        _change_row(ins, _one(groups))
        return "GEN" if "yi" in ins.items else "MC"
    raise NotPoolable(f"measure {measure} is pooled from a reported estimate only")


def assemble_outcome(
    measure: str,
    values: Sequence[ExtractedValue],
    *,
    scenario: str = "main",
    note: Callable[[str], None] | None = None,
) -> OutcomeData:
    """One study's data for one outcome, as an :class:`OutcomeData` for the analysis.

    Parameters
    ----------
    measure
        The protocol outcome's measure (escalc name).
    values
        The study's values for the outcome (all scenarios; those of ``scenario`` are used
        when there are any, else the main ones).
    note
        Called with a sentence when a choice was made (which time point was used).

    Raises
    ------
    NotPoolable
        The values do not give what the measure needs; the message says what is missing.
    """
    chosen = [v for v in values if v.key.scenario == scenario]
    if not chosen and scenario != "main":
        chosen = [v for v in values if v.key.scenario == "main"]
    numbers = [v for v in chosen if v.value is not None]
    if not numbers:
        raise NotPoolable("no numbers extracted")
    groups = _groups(numbers)
    times = sorted({t for g in groups.values() for t in g.timepoints() if t.strip()})
    _align_times(groups)
    ins = _Inputs()
    try:
        layout = _layout(measure, groups, ins)
    except NotPoolable as first:
        if "contrast" not in groups and not (
            measure == "GEN" or any("estimate" in c for g in groups.values()
                                    for t in g.arms.values() for c in t.values())
        ):  # fmt: skip
            raise
        ins = _Inputs()
        try:
            _estimate(ins, groups, measure)
        except NotPoolable as second:
            # with no group layout for the measure, the estimate's problem is the one to tell
            raise (first if measure in _GROUP_LAYOUTS else second) from None
        layout = "GEN"
    used = [t for g in groups.values() for a in g.arms for t in [_followup_time(g, a)] if t]
    # a form row with an empty time point is a value whose time point was not stated
    timepoint = used[0] if used else (times[0] if times else "not stated")
    timepoint = timepoint.strip() or "not stated"
    if note is not None and len(times) > 1:
        others = ", ".join(t for t in times if t != timepoint)
        note(f"time point {timepoint} used (also reported: {others})")
    return OutcomeData(
        measure=layout,
        timepoint=timepoint,
        scenario=scenario,
        inputs=ins.items,
    )


def _followup_time(group: _Group, arm: str) -> str | None:
    later = [t for t in group.arms[arm] if not is_baseline(t)]
    return _latest(later) if later else None
