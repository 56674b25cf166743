"""The effect-size formulas behind :func:`metareview.effects.escalc`, one function per data layout.

Every formula is metafor 3.8's (``escalc()``; Viechtbauer 2010, J Stat Softw 36(3); the help page
``?escalc`` gives the references for each measure). All functions work on whole columns at once:
there is no Python loop over studies.

Each layout function takes a :class:`Columns` (the validated input columns and options) and
returns a :class:`Computed` (``yi``, ``vi`` before metafor's final clean-up, the per-study sample
size metafor keeps as ``attr(yi, "ni")``, and why a row may come out as NaN).

This module also owns the measure vocabulary: :data:`MEASURE_INFO` maps every measure code to a
:class:`MeasureInfo` (label, family, model scale, whether it is a ratio or a proportion, its
display back-transformation, the null value); :func:`measure_info` looks one up. The protocol,
the plots, the HTML report and the command line derive their tables from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from metareview.effects.transforms import (
    transf_exp,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft_hm,
    transf_ztor,
)
from metareview.errors import InputError

__all__ = [
    "MEASURES",
    "MEASURE_INFO",
    "MEASURE_NAMES",
    "PROPORTION_MEASURES",
    "RATIO_MEASURES",
    "SINGLE_GROUP_MEASURES",
    "Columns",
    "Computed",
    "MeasureInfo",
    "MeasureSpec",
    "find_measure",
    "hedges_correction",
    "is_proportion",
    "is_ratio",
    "measure_info",
    "weighted_mean",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: vtype codes escalc() knows at all (metafor rejects anything else, for any measure).
VTYPES = frozenset({"UB", "LS", "LS2", "HO", "ST", "CS", "AV", "AVHO"})
#: "to" options for adding ``add`` to cells (metafor's ``to`` argument).
TO_OPTIONS = ("only0", "all", "if0all", "none")


@dataclass
class Columns:
    """Validated inputs of one escalc() call.

    ``values`` maps metafor argument names to float arrays (NaN = missing); ``labels`` maps them to
    the names the user knows (the data frame's column name, or the argument name).
    """

    measure: str
    values: dict[str, FloatArray]
    labels: dict[str, str]
    k: int
    add: float
    to: str
    drop00: bool
    vtype: NDArray[np.str_]

    def get(self, name: str) -> FloatArray | None:
        return self.values.get(name)

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    def fail_if(self, mask: BoolArray, message: str, name: str) -> None:
        """Raise :class:`InputError` naming the first row (1-based) where ``mask`` holds."""
        hits = np.flatnonzero(mask)
        if hits.size:
            raise InputError(message, row=int(hits[0]) + 1, field=self.label(name))

    def check_vtype(self, allowed: tuple[str, ...]) -> None:
        bad = ~np.isin(self.vtype, allowed)
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise InputError(
                f"vtype {self.vtype[row - 1]!r} is not available for measure {self.measure}; "
                f"use one of {', '.join(allowed)}",
                row=row if self.vtype.size > 1 else None,
                field="vtype",
            )


@dataclass
class Computed:
    """Raw output of a layout function (before escalc's Inf/NaN/negative-variance clean-up)."""

    yi: FloatArray
    vi: FloatArray
    ni: FloatArray | None
    #: (mask, reason) pairs explaining rows that may come out NaN; the first that applies wins
    notes: list[tuple[BoolArray, str]] = field(default_factory=list)
    #: rows whose vi metafor sets to NA on purpose (leaving yi as it is)
    vi_na: BoolArray | None = None


@dataclass(frozen=True)
class MeasureSpec:
    """How escalc computes a measure: its layout function and allowed vtypes (what the measure
    *is* - its label, scale and back-transformation - is its :class:`MeasureInfo`)."""

    name: str
    compute: Callable[[Columns], Computed]
    vtypes: tuple[str, ...] | None = None
    #: metafor's default ``add`` (1/2, but 0 for the arcsine and Freeman-Tukey measures)
    default_add: float = 0.5


def weighted_mean(x: FloatArray, w: FloatArray) -> float:
    """metafor's ``.wmean(x, w, na.rm = TRUE)``: sum(w x)/sum(w) over rows with both known."""
    ok = ~(np.isnan(x) | np.isnan(w))
    with np.errstate(all="ignore"):
        return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))


def hedges_correction(mi: FloatArray) -> FloatArray:
    """Exact small-sample correction of Hedges (1981), as metafor's ``.cmicalc``.

    .. math:: c(m) = \\frac{\\Gamma(m/2)}{\\sqrt{m/2}\\,\\Gamma((m-1)/2)},

    with ``m`` the degrees of freedom (n1 + n2 - 2 for two groups, n - 1 for one); NaN for m <= 1.
    Hedges LV (1981) J Educ Stat 6(2):107-128, eq. 6e.
    """
    mi = np.asarray(mi, dtype=float)
    with np.errstate(all="ignore"):
        cmi = np.exp(gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - gammaln((mi - 1) / 2))
    return np.where(mi <= 1, np.nan, cmi)


def _add_to_cells(
    cells: list[FloatArray], zero_in: list[FloatArray], add: float, to: str
) -> list[FloatArray]:
    """Add ``add`` to ``cells`` where metafor's ``to`` rule says so.

    ``to="only0"``: rows where any of ``zero_in`` is 0; ``"all"``: every row; ``"if0all"``: every
    row when any row has a zero; ``"none"``: never.
    """
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    id0 = np.zeros(cells[0].shape, dtype=bool)
    for c in zero_in:
        id0 |= c == 0
    if to == "if0all":
        return [c + add for c in cells] if id0.any() else cells
    return [np.where(id0, c + add, c) for c in cells]


def _select_vtype(cols: Columns, variants: dict[str, FloatArray]) -> FloatArray:
    """Pick, row by row, the variance for that row's vtype (``vtype`` may vary by row)."""
    out = np.full(cols.k, np.nan)
    for code, values in variants.items():
        out = np.where(cols.vtype == code, values, out)
    return out


# ---------------------------------------------------------------------------------------------
# 2x2 tables: RR, OR, RD, PETO
# ---------------------------------------------------------------------------------------------


def _table_cells(cols: Columns) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cells ai, bi, ci, di from ai/bi|n1i/ci/di|n2i, checked as metafor checks them."""
    ai, ci = cols.values["ai"], cols.values["ci"]
    cells: list[FloatArray] = []
    for event, nonevent, total in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        x = cols.values[event]
        y = cols.get(nonevent)
        n = cols.get(total)
        cols.fail_if(x < 0, "event count is negative", event)
        if y is not None:
            cols.fail_if(y < 0, "count is negative", nonevent)
        if n is not None:
            cols.fail_if(n < 0, "group size is negative", total)
            cols.fail_if(x > n, f"more events ({event}) than participants ({total})", event)
            if y is not None:
                cols.fail_if(
                    np.abs(n - (x + y)) > 1e-8 * np.maximum(1.0, np.abs(n)),
                    f"{total} is not equal to {event} + {nonevent}",
                    total,
                )
                y = np.where(np.isnan(y), n - x, y)
            else:
                y = n - x
        if y is None:
            raise InputError(f"needs column {nonevent} or {total}", field=nonevent)
        cells.append(y)
    return ai, cells[0], ci, cells[1]


def _binary(cols: Columns) -> Computed:
    """Risk ratio, odds ratio, risk difference, Peto's odds ratio from 2x2 tables.

    With p1 = ai/n1i, p2 = ci/n2i (after adding ``add`` per ``to``; metafor's formulas):

    * RR: yi = log(p1/p2), vi = 1/ai - 1/n1i + 1/ci - 1/n2i.
    * OR: yi = log(ai di / (bi ci)), vi = 1/ai + 1/bi + 1/ci + 1/di.
    * RD: yi = p1 - p2; vi = p1(1-p1)/n1i + p2(1-p2)/n2i ("LS"); "UB" divides by n - 1; "AV" uses
      the sample-size weighted mean proportions of each group.
    * PETO: with Ei = (ai+ci) n1i/N and Vi = (ai+ci)(bi+di) n1i n2i / (N^2 (N-1)):
      yi = (ai - Ei)/Vi, vi = 1/Vi (Yusuf et al. 1985, Prog Cardiovasc Dis 27(5):335).
    """
    m = cols.measure
    ai, bi, ci, di = _table_cells(cols)
    ni_u = ai + bi + ci + di
    notes: list[tuple[BoolArray, str]] = []
    dropped = np.zeros(cols.k, dtype=bool)
    if cols.drop00:
        dropped = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        ai, bi, ci, di = (np.where(dropped, np.nan, x) for x in (ai, bi, ci, di))
        notes.append((dropped, "no events (or only events) in both groups; dropped (drop00=True)"))
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    ai, bi, ci, di = _add_to_cells([ai, bi, ci, di], [ai, bi, ci, di], cols.add, cols.to)
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    with np.errstate(all="ignore"):
        p1i, p2i = ai / n1i, ci / n2i
        if m == "RR":
            yi = np.log(p1i) - np.log(p2i)
            vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
        elif m == "OR":
            yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif m == "RD":
            yi = p1i - p2i
            mp1, mp2 = weighted_mean(p1i, n1i), weighted_mean(p2i, n2i)
            vi = _select_vtype(
                cols,
                {
                    "UB": p1i * (1 - p1i) / (n1i - 1) + p2i * (1 - p2i) / (n2i - 1),
                    "LS": p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i,
                    "AV": mp1 * (1 - mp1) / n1i + mp2 * (1 - mp2) / n2i,
                },
            )
        else:  # PETO
            xt, yt = ai + ci, bi + di
            ei = xt * n1i / ni
            var = xt * yt * (n1i / ni) * (n2i / ni) / (ni - 1)
            yi = (ai - ei) / var
            vi = 1 / var
            notes.append((var == 0, "no events (or only events) in both groups: Peto variance 0"))
    notes.append((zero & (cols.to == "none"), "a zero cell and to='none' (no continuity added)"))
    notes.append((zero, "zero cells: the effect is not defined for this table"))
    return Computed(yi, vi, ni_u, notes)


# ---------------------------------------------------------------------------------------------
# incidence rates: IRR, IRD
# ---------------------------------------------------------------------------------------------


def _rates(cols: Columns) -> Computed:
    """Incidence rate ratio and difference from events x1i, x2i over person-times t1i, t2i.

    With r = x/t (after adding ``add`` to the counts per ``to``):
    IRR: yi = log(r1/r2), vi = 1/x1i + 1/x2i; IRD: yi = r1 - r2, vi = r1/t1i + r2/t2i
    (metafor; Rothman, Greenland & Lash 2008, Modern Epidemiology, ch. 14).
    """
    x1i, x2i = cols.values["x1i"], cols.values["x2i"]
    t1i, t2i = cols.values["t1i"], cols.values["t2i"]
    for name in ("x1i", "x2i"):
        cols.fail_if(cols.values[name] < 0, "event count is negative", name)
    for name in ("t1i", "t2i"):
        cols.fail_if(cols.values[name] <= 0, "person-time must be > 0", name)
    ni_u = t1i + t2i
    notes: list[tuple[BoolArray, str]] = []
    if cols.drop00:
        dropped = (x1i == 0) & (x2i == 0)
        x1i, x2i = (np.where(dropped, np.nan, x) for x in (x1i, x2i))
        notes.append((dropped, "no events in either group; dropped (drop00=True)"))
    zero = (x1i == 0) | (x2i == 0)
    x1i, x2i = _add_to_cells([x1i, x2i], [x1i, x2i], cols.add, cols.to)
    with np.errstate(all="ignore"):
        r1, r2 = x1i / t1i, x2i / t2i
        if cols.measure == "IRR":
            yi = np.log(r1) - np.log(r2)
            vi = 1 / x1i + 1 / x2i
        else:
            yi = r1 - r2
            vi = r1 / t1i + r2 / t2i
    notes.append((zero, "a zero event count and to='none' (no continuity correction)"))
    return Computed(yi, vi, ni_u, notes)


# ---------------------------------------------------------------------------------------------
# two-group means: MD, SMD, ROM
# ---------------------------------------------------------------------------------------------


def _means(cols: Columns) -> Computed:
    """Mean difference, standardised mean difference (Hedges' g) and ratio of means.

    * MD: yi = m1i - m2i; vi = sd1i^2/n1i + sd2i^2/n2i ("LS"/"UB"), sp^2 (1/n1i + 1/n2i) ("HO"),
      with the pooled sp^2 = ((n1i-1) sd1i^2 + (n2i-1) sd2i^2)/(n1i+n2i-2).
    * SMD: d = (m1i - m2i)/sp, yi = g = c(m) d with Hedges' exact c(m), m = n1i+n2i-2;
      vi = 1/n1i + 1/n2i + g^2/(2(n1i+n2i)) ("LS"); "UB" (Hedges 1983) adds
      (1 - (m-2)/(m c(m)^2)) g^2 instead; "LS2" is c(m)^2 (1/n1i + 1/n2i + d^2/(2(n1i+n2i)));
      "AV" uses the n-weighted mean g. A reported Cohen's d (``di``) or t statistic (``ti``,
      d = t sqrt(1/n1i + 1/n2i)) replaces the means and SDs of a row.
    * ROM: yi = log(m1i/m2i); vi = sd1i^2/(n1i m1i^2) + sd2i^2/(n2i m2i^2) ("LS", Hedges,
      Gurevitch & Curtis 1999, Ecology 80(4):1150); "HO" uses sp for both SDs; "AV"/"AVHO" the
      n-weighted mean coefficients of variation.
    """
    m = cols.measure
    k = cols.k
    nan = np.full(k, np.nan)
    m1i, m2i = cols.get("m1i"), cols.get("m2i")
    sd1i, sd2i = cols.get("sd1i"), cols.get("sd2i")
    n1i, n2i = cols.values["n1i"], cols.values["n2i"]
    m1i = nan if m1i is None else m1i
    m2i = nan if m2i is None else m2i
    sd1i = nan if sd1i is None else sd1i
    sd2i = nan if sd2i is None else sd2i
    for name in ("sd1i", "sd2i"):
        if name in cols.values:
            cols.fail_if(cols.values[name] < 0, "standard deviation is negative", name)
    for name in ("n1i", "n2i"):
        cols.fail_if(cols.values[name] <= 0, "group size must be > 0", name)
    if m == "SMD" and ("di" in cols.values or "ti" in cols.values):
        di_in = cols.get("di")
        ti_in = cols.get("ti")
        di_in = nan if di_in is None else di_in
        if ti_in is not None:
            di_in = np.where(np.isnan(di_in), ti_in * np.sqrt(1 / n1i + 1 / n2i), di_in)
        given = ~np.isnan(di_in)
        m1i = np.where(given, di_in, m1i)
        m2i = np.where(given, 0.0, m2i)
        sd1i = np.where(given, 1.0, sd1i)
        sd2i = np.where(given, 1.0, sd2i)
    ni = n1i + n2i
    mi = ni - 2
    notes: list[tuple[BoolArray, str]] = []
    with np.errstate(all="ignore"):
        sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
        if m == "MD":
            yi = m1i - m2i
            ls = sd1i**2 / n1i + sd2i**2 / n2i
            vi = _select_vtype(cols, {"UB": ls, "LS": ls, "HO": sdpi**2 * (1 / n1i + 1 / n2i)})
        elif m == "SMD":
            di = (m1i - m2i) / sdpi
            cmi = hedges_correction(mi)
            yi = cmi * di
            mnwyi = weighted_mean(yi, ni)
            base = 1 / n1i + 1 / n2i
            vi = _select_vtype(
                cols,
                {
                    "UB": base + (1 - (mi - 2) / (mi * cmi**2)) * yi**2,
                    "LS": base + yi**2 / (2 * ni),
                    "AV": base + mnwyi**2 / (2 * ni),
                    "LS2": cmi**2 * (base + di**2 / (2 * ni)),
                },
            )
            notes.append((mi <= 1, "n1i + n2i - 2 <= 1: Hedges' correction is not defined"))
            notes.append((sdpi == 0, "pooled standard deviation is 0"))
        else:  # ROM
            yi = np.log(m1i / m2i)
            cv1, cv2 = sd1i / m1i, sd2i / m2i
            mn1, mn2 = weighted_mean(cv1, n1i), weighted_mean(cv2, n2i)
            ok = ~(np.isnan(n1i) | np.isnan(n2i) | np.isnan(cv1) | np.isnan(cv2))
            mncv = (np.sum(n1i[ok] * cv1[ok]) + np.sum(n2i[ok] * cv2[ok])) / np.sum(ni[ok])
            vi = _select_vtype(
                cols,
                {
                    "LS": sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2),
                    "HO": sdpi**2 / (n1i * m1i**2) + sdpi**2 / (n2i * m2i**2),
                    "AV": mn1**2 / n1i + mn2**2 / n2i,
                    "AVHO": mncv**2 * (1 / n1i + 1 / n2i),
                },
            )
            notes.append(
                (
                    (m1i / m2i <= 0) | (m1i == 0) | (m2i == 0),
                    "ratio of means needs both means > 0 (or both < 0)",
                )
            )
    return Computed(yi, vi, ni, notes)


# ---------------------------------------------------------------------------------------------
# single proportions: PR, PLO, PLN, PAS, PFT
# ---------------------------------------------------------------------------------------------


def _proportions(cols: Columns) -> Computed:
    """Single proportions from xi events out of ni (or xi events and mi non-events).

    With p = xi/ni after adding ``add`` to xi and mi per ``to`` (metafor):

    * PR: yi = p, vi = p(1-p)/ni ("LS"), /(ni-1) ("UB"), or with the n-weighted mean p ("AV").
    * PLO: yi = log(p/(1-p)), vi = 1/xi + 1/mi.   * PLN: yi = log p, vi = 1/xi - 1/ni.
    * PAS: yi = arcsin(sqrt(p)), vi = 1/(4 ni)  (no ``add`` by default).
    * PFT: yi = (arcsin sqrt(xi/(ni+1)) + arcsin sqrt((xi+1)/(ni+1)))/2, vi = 1/(4 ni + 2)
      (Freeman & Tukey 1950, Ann Math Stat 21(4):607; no ``add`` by default).
    """
    m = cols.measure
    xi = cols.values["xi"]
    mi_in, ni_in = cols.get("mi"), cols.get("ni")
    cols.fail_if(xi < 0, "event count is negative", "xi")
    if mi_in is not None:
        cols.fail_if(mi_in < 0, "count is negative", "mi")
    if ni_in is not None:
        cols.fail_if(ni_in <= 0, "sample size must be > 0", "ni")
        cols.fail_if(xi > ni_in, "more events (xi) than participants (ni)", "xi")
        if mi_in is not None:
            cols.fail_if(
                np.abs(ni_in - (xi + mi_in)) > 1e-8 * np.maximum(1.0, np.abs(ni_in)),
                "ni is not equal to xi + mi",
                "ni",
            )
            mi = np.where(np.isnan(mi_in), ni_in - xi, mi_in)
        else:
            mi = ni_in - xi
    else:
        assert mi_in is not None
        mi = mi_in
    ni_u = xi + mi
    cols.fail_if(ni_u <= 0, "sample size must be > 0", "mi" if ni_in is None else "ni")
    zero = (xi == 0) | (mi == 0)
    xi, mi = _add_to_cells([xi, mi], [xi, mi], cols.add, cols.to)
    ni = xi + mi
    notes: list[tuple[BoolArray, str]] = []
    with np.errstate(all="ignore"):
        pri = xi / ni
        if m in ("PR", "PLN", "PLO"):
            mnw = weighted_mean(pri, ni)
        if m == "PR":
            yi = pri
            vi = _select_vtype(
                cols,
                {
                    "UB": pri * (1 - pri) / (ni - 1),
                    "LS": pri * (1 - pri) / ni,
                    "AV": mnw * (1 - mnw) / ni,
                },
            )
        elif m == "PLN":
            yi = np.log(pri)
            vi = _select_vtype(cols, {"LS": 1 / xi - 1 / ni, "AV": 1 / (mnw * ni) - 1 / ni})
        elif m == "PLO":
            yi = np.log(pri / (1 - pri))
            vi = _select_vtype(
                cols, {"LS": 1 / xi + 1 / mi, "AV": 1 / (mnw * ni) + 1 / ((1 - mnw) * ni)}
            )
        elif m == "PAS":
            yi = np.arcsin(np.sqrt(pri))
            vi = 1 / (4 * ni)
        else:  # PFT
            yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
            vi = 1 / (4 * ni + 2)
    notes.append((zero, "no events (or only events) and no continuity correction (add/to)"))
    return Computed(yi, vi, ni_u, notes)


# ---------------------------------------------------------------------------------------------
# single-group rates: IR, IRLN, IRS, IRFT
# ---------------------------------------------------------------------------------------------


def _single_rates(cols: Columns) -> Computed:
    """Incidence rate of one group from xi events over person-time ti (metafor 3.8 escalc).

    With r = xi/ti, after adding ``add`` to xi per ``to`` (default 1/2 where xi = 0 for IR and
    IRLN; 0 for IRS and IRFT):

    * IR: yi = r, vi = r/ti.   * IRLN: yi = log r, vi = 1/xi.
    * IRS: yi = sqrt(r), vi = 1/(4 ti).
    * IRFT: yi = (sqrt(r) + sqrt(r + 1/ti))/2, vi = 1/(4 ti) (Freeman & Tukey 1950, Ann Math
      Stat 21(4):607).

    metafor keeps ti as ``attr(yi, "ni")``.
    """
    xi, ti = cols.values["xi"], cols.values["ti"]
    cols.fail_if(xi < 0, "event count is negative", "xi")
    cols.fail_if(ti <= 0, "person-time must be > 0", "ti")
    zero = xi == 0
    (xi,) = _add_to_cells([xi], [xi], cols.add, cols.to)
    m = cols.measure
    with np.errstate(all="ignore"):
        iri = xi / ti
        if m == "IR":
            yi, vi = iri, iri / ti
        elif m == "IRLN":
            yi, vi = np.log(iri), 1 / xi
        elif m == "IRS":
            yi, vi = np.sqrt(iri), 1 / (4 * ti)
        else:  # IRFT
            yi, vi = 0.5 * (np.sqrt(iri) + np.sqrt(iri + 1 / ti)), 1 / (4 * ti)
    notes = [(zero, "no events and no continuity correction (add/to)")]
    return Computed(yi, vi, ti.copy(), notes)


# ---------------------------------------------------------------------------------------------
# single-group means and SDs: MN, MNLN, CVLN, SDLN
# ---------------------------------------------------------------------------------------------


def _single_means(cols: Columns) -> Computed:
    """Mean, log mean, log coefficient of variation, log SD of one group (metafor 3.8 escalc).

    From the mean mi, standard deviation sdi and size ni:

    * MN: yi = mi, vi = sdi^2/ni.   * MNLN: yi = log mi, vi = sdi^2/(ni mi^2).
    * CVLN: yi = log(sdi/mi) + 1/(2(ni - 1)), vi = 1/(2(ni - 1)) + sdi^2/(ni mi^2).
    * SDLN (no mean needed): yi = log sdi + 1/(2(ni - 1)), vi = 1/(2(ni - 1)).

    CVLN and SDLN carry the bias correction of Nakagawa et al. (2015), Methods Ecol Evol
    6(2):143.
    """
    m = cols.measure
    sdi, ni = cols.values["sdi"], cols.values["ni"]
    cols.fail_if(sdi < 0, "standard deviation is negative", "sdi")
    cols.fail_if(ni <= 0, "sample size must be > 0", "ni")
    mi = cols.get("mi")
    if m in ("MNLN", "CVLN"):
        assert mi is not None
        cols.fail_if(mi < 0, f"mean is negative ({m} takes the log of the mean)", "mi")
    notes: list[tuple[BoolArray, str]] = []
    with np.errstate(all="ignore"):
        if m == "MN":
            assert mi is not None
            yi, vi = mi.copy(), sdi**2 / ni
        elif m == "MNLN":
            assert mi is not None
            yi, vi = np.log(mi), sdi**2 / (ni * mi**2)
            notes.append((mi == 0, "mean is 0: its log is not defined"))
        elif m == "CVLN":
            assert mi is not None
            yi = np.log(sdi / mi) + 1 / (2 * (ni - 1))
            vi = 1 / (2 * (ni - 1)) + sdi**2 / (ni * mi**2)
            notes.append((mi == 0, "mean is 0: the coefficient of variation is not defined"))
            notes.append((ni == 1, "ni = 1: the bias correction 1/(2(ni - 1)) is not defined"))
        else:  # SDLN
            yi = np.log(sdi) + 1 / (2 * (ni - 1))
            vi = 1 / (2 * (ni - 1))
            notes.append((ni == 1, "ni = 1: the bias correction 1/(2(ni - 1)) is not defined"))
        if m in ("CVLN", "SDLN"):
            notes.append((sdi == 0, "standard deviation is 0: its log is not defined"))
    return Computed(yi, vi, ni, notes)


# ---------------------------------------------------------------------------------------------
# correlations: COR, ZCOR
# ---------------------------------------------------------------------------------------------


def _correlations(cols: Columns) -> Computed:
    """Raw and Fisher-z transformed correlation coefficients.

    COR: yi = ri, vi = (1 - ri^2)^2/(ni - 1) ("LS"; "AV" uses the n-weighted mean r).
    ZCOR: yi = atanh(ri) = log((1+ri)/(1-ri))/2, vi = 1/(ni - 3) (Fisher 1921, Metron 1:3).
    As metafor, vi is missing when ni <= 3.
    """
    ri, ni = cols.values["ri"], cols.values["ni"]
    cols.fail_if(np.abs(ri) > 1, "correlation is > 1 or < -1", "ri")
    cols.fail_if(ni <= 0, "sample size must be > 0", "ni")
    with np.errstate(all="ignore"):
        if cols.measure == "COR":
            yi = ri.copy()
            mnwyi = weighted_mean(yi, ni)
            vi = _select_vtype(
                cols, {"LS": (1 - yi**2) ** 2 / (ni - 1), "AV": (1 - mnwyi**2) ** 2 / (ni - 1)}
            )
        else:
            yi = 0.5 * np.log((1 + ri) / (1 - ri))
            vi = 1 / (ni - 3)
    small = ni <= 3
    notes = [
        (small, "ni <= 3: sampling variance not computable"),
        (np.abs(ri) == 1, "|ri| = 1: Fisher's z is infinite"),
    ]
    return Computed(yi, vi, ni, notes, vi_na=small)


# ---------------------------------------------------------------------------------------------
# single-group pre/post: MC, SMCR, SMCC
# ---------------------------------------------------------------------------------------------


def _change(cols: Columns) -> Computed:
    """Mean change and standardised mean change in one group measured twice (metafor).

    m1i/sd1i are the means/SDs at the first time in metafor's formulas' numerator ``m1i - m2i``;
    ri is the correlation between the two measurements, ni the group size, m = ni - 1.

    * MC: yi = m1i - m2i, vi = (sd1i^2 + sd2i^2 - 2 ri sd1i sd2i)/ni.
    * SMCR (standardised by the raw-score SD sd1i; Becker 1988, Br J Math Stat Psychol 41:257):
      d = (m1i - m2i)/sd1i, yi = c(m) d, vi = 2(1 - ri)/ni + yi^2/(2 ni) ("LS"), or
      c(m)^2 (2(1 - ri)/ni + d^2/(2 ni)) ("LS2").
    * SMCC (standardised by the change-score SD sdd = sqrt(sd1i^2 + sd2i^2 - 2 ri sd1i sd2i)):
      yi = c(m) (m1i - m2i)/sdd, vi = 1/ni + yi^2/(2 ni) ("LS") or c(m)^2 (1/ni + d^2/(2 ni)).
    """
    m = cols.measure
    m1i, m2i = cols.values["m1i"], cols.values["m2i"]
    sd1i = cols.values["sd1i"]
    ri, ni = cols.values["ri"], cols.values["ni"]
    sd2i = cols.get("sd2i")
    for name in ("sd1i", "sd2i"):
        if name in cols.values:
            cols.fail_if(cols.values[name] < 0, "standard deviation is negative", name)
    cols.fail_if(np.abs(ri) > 1, "correlation is > 1 or < -1", "ri")
    cols.fail_if(ni <= 0, "sample size must be > 0", "ni")
    mi = ni - 1
    notes: list[tuple[BoolArray, str]] = []
    with np.errstate(all="ignore"):
        if m == "MC":
            assert sd2i is not None
            yi = m1i - m2i
            vi = (sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i) / ni
        elif m == "SMCR":
            cmi = hedges_correction(mi)
            di = (m1i - m2i) / sd1i
            yi = cmi * di
            vi = _select_vtype(
                cols,
                {
                    "LS": 2 * (1 - ri) / ni + yi**2 / (2 * ni),
                    "LS2": cmi**2 * (2 * (1 - ri) / ni + di**2 / (2 * ni)),
                },
            )
        else:  # SMCC
            assert sd2i is not None
            cmi = hedges_correction(mi)
            sddi = np.sqrt(sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i)
            di = (m1i - m2i) / sddi
            yi = cmi * di
            vi = _select_vtype(
                cols,
                {"LS": 1 / ni + yi**2 / (2 * ni), "LS2": cmi**2 * (1 / ni + di**2 / (2 * ni))},
            )
        if m != "MC":
            notes.append((mi <= 1, "ni <= 2: Hedges' correction is not defined"))
    return Computed(yi, vi, ni, notes)


# ---------------------------------------------------------------------------------------------
# generic: yi with vi or sei
# ---------------------------------------------------------------------------------------------


def _generic(cols: Columns) -> Computed:
    """Effect sizes already computed: yi with vi, or with sei (vi = sei^2).

    Where a row has no vi but has sei, vi = sei^2 is used.
    """
    yi = cols.values["yi"]
    vi, sei = cols.get("vi"), cols.get("sei")
    if vi is not None:
        cols.fail_if(vi < 0, "sampling variance is negative", "vi")
    if sei is not None:
        cols.fail_if(sei < 0, "standard error is negative", "sei")
    if vi is None:
        assert sei is not None
        vi = sei**2
    elif sei is not None:
        vi = np.where(np.isnan(vi), sei**2, vi)
    return Computed(yi.copy(), vi.copy(), cols.get("ni"), [])


MEASURES: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec("RR", _binary),
        MeasureSpec("OR", _binary),
        MeasureSpec("RD", _binary, ("UB", "LS", "AV")),
        MeasureSpec("PETO", _binary),
        MeasureSpec("IRR", _rates),
        MeasureSpec("IRD", _rates),
        MeasureSpec("MD", _means, ("UB", "LS", "HO")),
        MeasureSpec("SMD", _means, ("UB", "LS", "LS2", "AV")),
        MeasureSpec("ROM", _means, ("LS", "HO", "AV", "AVHO")),
        MeasureSpec("PR", _proportions, ("UB", "LS", "AV")),
        MeasureSpec("PLO", _proportions, ("LS", "AV")),
        MeasureSpec("PLN", _proportions, ("LS", "AV")),
        MeasureSpec("PAS", _proportions, default_add=0.0),
        MeasureSpec("PFT", _proportions, default_add=0.0),
        MeasureSpec("IR", _single_rates),
        MeasureSpec("IRLN", _single_rates),
        MeasureSpec("IRS", _single_rates, default_add=0.0),
        MeasureSpec("IRFT", _single_rates, default_add=0.0),
        MeasureSpec("MN", _single_means),
        MeasureSpec("MNLN", _single_means),
        MeasureSpec("CVLN", _single_means),
        MeasureSpec("SDLN", _single_means),
        MeasureSpec("COR", _correlations, ("LS", "AV")),
        MeasureSpec("ZCOR", _correlations, ("LS", "LS2", "HO", "ST", "CS", "AV", "AVHO")),
        MeasureSpec("MC", _change),
        MeasureSpec("SMCR", _change, ("LS", "LS2")),
        MeasureSpec("SMCC", _change, ("LS", "LS2")),
        MeasureSpec("GEN", _generic),
    )
}

#: columns each measure needs; a tuple inside means "one of these"
REQUIRED: dict[str, tuple[str | tuple[str, ...], ...]] = {
    **{m: ("ai", ("bi", "n1i"), "ci", ("di", "n2i")) for m in ("RR", "OR", "RD", "PETO")},
    **{m: ("x1i", "x2i", "t1i", "t2i") for m in ("IRR", "IRD")},
    "MD": ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),
    "SMD": ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),
    "ROM": ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),
    **{m: ("xi", ("mi", "ni")) for m in ("PR", "PLO", "PLN", "PAS", "PFT")},
    **{m: ("xi", "ti") for m in ("IR", "IRLN", "IRS", "IRFT")},
    **{m: ("mi", "sdi", "ni") for m in ("MN", "MNLN", "CVLN")},
    "SDLN": ("sdi", "ni"),
    **{m: ("ri", "ni") for m in ("COR", "ZCOR")},
    "MC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
    "SMCC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "GEN": ("yi", ("vi", "sei")),
}

#: optional columns a measure reads when given
OPTIONAL: dict[str, tuple[str, ...]] = {
    **{m: ("bi", "n1i", "di", "n2i") for m in ("RR", "OR", "RD", "PETO")},
    "SMD": ("di", "ti"),
    **{m: ("mi", "ni") for m in ("PR", "PLO", "PLN", "PAS", "PFT")},
    "GEN": ("vi", "sei", "ni"),
}


# ---------------------------------------------------------------------------------------------
# The measure registry: what each measure is, for every module that names, labels or displays one
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureInfo:
    """What a measure is: its names, its model scale and how it is shown on the display scale.

    The one owner of the measure vocabulary: the protocol, the plots, the HTML report and the
    command line derive their tables from :data:`MEASURE_INFO`.

    Attributes
    ----------
    name : str
        metafor's ``measure`` code (``"RR"``).
    label : str
        What the measure is on its display scale, capitalised (``"Risk ratio"``).
    axis_label : str
        The label of a plot axis on the display scale (``"Proportion"`` for every proportion).
    description : str
        What ``yi`` is on the model scale, in a sentence's words (``"log risk ratio"``).
    family : str
        The kind of data it comes from: ``"two-group binary"``, ``"two-group continuous"``,
        ``"rates"``, ``"single-group proportion"``, ``"single-group rate"``, ``"single-group
        mean"``, ``"single-group change"``, ``"correlation"``, ``"time-to-event"``,
        ``"generic"``.
    groups : int
        Groups compared: 2 (two-group contrasts), 1 (one group measured), 0 (no group:
        correlations and generic input).
    scale : str
        The model scale: ``"log"``, ``"logit"``, ``"identity"``, ``"arcsine"``,
        ``"Freeman-Tukey"``, ``"Fisher z"``, ``"square root"``.
    is_ratio : bool
        Pooled as a log ratio (shown with ``exp`` on a log axis with ratio ticks).
    is_proportion : bool
        A single proportion on some scale (shown back on the 0-1 scale, as a percentage).
    back_transform : callable or None
        The model-to-display function of :mod:`metareview.effects.transforms` (metafor's
        ``transf.*``): exp for log measures, inverse logit for PLO, inverse Freeman-Tukey with
        the harmonic mean of ``ni`` for PFT, inverse arcsine for PAS, tanh for ZCOR; None when
        the model scale is the display scale, and for IRS and IRFT (metafor 3.8 has their
        inverses, ``transf.isqrt`` and ``transf.iirft(xi, ti)``, but applies none by default;
        metareview applies none yet).
    needs_ni : bool
        ``back_transform`` needs the studies' sample sizes ``ni`` (PFT).
    null_value : float or None
        The value of "no effect" on the display scale (1 for ratios, 0 for differences, changes,
        correlations and generic input); None for single-group measures whose test against a
        value is not a question of effect (a proportion of 0.5 on the logit scale).
    computable : bool
        :func:`~metareview.effects.escalc` computes it from raw data; otherwise the code only
        labels pooled estimates given as ``yi``/``vi`` (``rma(yi, vi, measure="HR")``).

    References
    ----------
    metafor 3.8 ``?escalc`` (measures and their scales) and ``?transf`` (back-transformations).
    """

    name: str
    label: str
    axis_label: str
    description: str
    family: str
    groups: int
    scale: str
    is_ratio: bool = False
    is_proportion: bool = False
    back_transform: Callable[..., FloatArray] | None = None
    needs_ni: bool = False
    null_value: float | None = 0.0
    computable: bool = True


def _registry() -> dict[str, MeasureInfo]:
    def ratio(name: str, label: str, description: str, family: str, **kw: Any) -> MeasureInfo:
        return MeasureInfo(name, label, kw.pop("axis_label", label), description, family,
                           kw.pop("groups", 2), "log", is_ratio=True, back_transform=transf_exp,
                           null_value=1.0, **kw)  # fmt: skip

    def prop(name: str, description: str, scale: str, transf: Any, **kw: Any) -> MeasureInfo:
        return MeasureInfo(name, f"Proportion ({description})", "Proportion", description,
                           "single-group proportion", 1, scale, is_proportion=True,
                           back_transform=transf, null_value=None, **kw)  # fmt: skip

    bin2, cont2 = "two-group binary", "two-group continuous"
    change, generic = "single-group change", "generic"
    infos = (
        # computed by escalc, in escalc's order
        ratio("RR", "Risk ratio", "log risk ratio", bin2),
        ratio("OR", "Odds ratio", "log odds ratio", bin2),
        MeasureInfo("RD", "Risk difference", "Risk difference", "risk difference", bin2, 2,
                    "identity"),
        ratio("PETO", "Odds ratio (Peto)", "log odds ratio (Peto's method)", bin2),
        ratio("IRR", "Incidence rate ratio", "log incidence rate ratio", "rates"),
        MeasureInfo("IRD", "Incidence rate difference", "Incidence rate difference",
                    "incidence rate difference", "rates", 2, "identity"),
        MeasureInfo("MD", "Mean difference", "Mean difference", "mean difference", cont2, 2,
                    "identity"),
        MeasureInfo("SMD", "Standardised mean difference", "Standardised mean difference",
                    "standardised mean difference (Hedges' g)", cont2, 2, "identity"),
        ratio("ROM", "Ratio of means", "log ratio of means", cont2),
        prop("PR", "raw proportion", "identity", None),
        prop("PLO", "logit-transformed proportion", "logit", transf_ilogit),
        prop("PLN", "log-transformed proportion", "log", transf_exp),
        prop("PAS", "arcsine-transformed proportion", "arcsine", transf_iarcsin),
        prop("PFT", "Freeman–Tukey double-arcsine proportion", "Freeman-Tukey", transf_ipft_hm,
             needs_ni=True),
        MeasureInfo("IR", "Incidence rate", "Incidence rate", "raw incidence rate",
                    "single-group rate", 1, "identity", null_value=None),
        MeasureInfo("IRLN", "Incidence rate", "Incidence rate", "log incidence rate",
                    "single-group rate", 1, "log", back_transform=transf_exp, null_value=None),
        MeasureInfo("IRS", "Incidence rate", "Incidence rate",
                    "square root transformed incidence rate", "single-group rate", 1,
                    "square root", null_value=None),
        MeasureInfo("IRFT", "Incidence rate", "Incidence rate",
                    "Freeman-Tukey transformed incidence rate", "single-group rate", 1,
                    "Freeman-Tukey", null_value=None),
        MeasureInfo("MN", "Mean", "Mean", "raw mean", "single-group mean", 1, "identity",
                    null_value=None),
        MeasureInfo("MNLN", "Mean", "Mean", "log mean", "single-group mean", 1, "log",
                    back_transform=transf_exp, null_value=None),
        MeasureInfo("CVLN", "Coefficient of variation", "Coefficient of variation",
                    "log coefficient of variation", "single-group mean", 1, "log",
                    back_transform=transf_exp, null_value=None),
        MeasureInfo("SDLN", "Standard deviation", "Standard deviation",
                    "log standard deviation", "single-group mean", 1, "log",
                    back_transform=transf_exp, null_value=None),
        MeasureInfo("COR", "Correlation", "Correlation", "raw correlation coefficient",
                    "correlation", 0, "identity"),
        MeasureInfo("ZCOR", "Correlation", "Correlation",
                    "Fisher's r-to-z transformed correlation coefficient", "correlation", 0,
                    "Fisher z", back_transform=transf_ztor),
        MeasureInfo("MC", "Mean change", "Mean change",
                    "raw mean change (follow-up minus baseline)", change, 1, "identity"),
        MeasureInfo("SMCR", "Standardised mean change", "Standardised mean change",
                    "standardised mean change (raw-score standardisation)", change, 1,
                    "identity"),
        MeasureInfo("SMCC", "Standardised mean change", "Standardised mean change",
                    "standardised mean change (change-score standardisation)", change, 1,
                    "identity"),
        MeasureInfo("GEN", "Estimate", "Estimate", "reported effect with its standard error",
                    generic, 0, "identity"),
        # metafor measures escalc does not compute: labels for estimates pooled from yi/vi
        ratio("HR", "Hazard ratio", "log hazard ratio", "time-to-event", computable=False),
        ratio("CVR", "Coefficient of variation ratio", "log coefficient of variation ratio",
              cont2, computable=False),
        ratio("VR", "Variability ratio", "log variability ratio", cont2, computable=False),
        ratio("MPOR", "Odds ratio (matched pairs)", "log odds ratio for paired binary data",
              bin2, computable=False),
        ratio("MPRR", "Risk ratio (matched pairs)", "log risk ratio for paired binary data",
              bin2, computable=False),
        MeasureInfo("OR2DN", "Standardised mean difference", "Standardised mean difference",
                    "log odds ratio converted to a standardised mean difference (normal)",
                    bin2, 2, "identity", computable=False),
        MeasureInfo("OR2DL", "Standardised mean difference", "Standardised mean difference",
                    "log odds ratio converted to a standardised mean difference (logistic)",
                    bin2, 2, "identity", computable=False),
        MeasureInfo("SMDH", "Standardised mean difference", "Standardised mean difference",
                    "standardised mean difference (heteroscedastic variances)", cont2, 2,
                    "identity", computable=False),
        MeasureInfo("SMCRH", "Standardised mean change", "Standardised mean change",
                    "standardised mean change (raw-score standardisation, heteroscedastic)",
                    change, 1, "identity", computable=False),
    )  # fmt: skip
    return {info.name: info for info in infos}


#: Every measure metareview knows, by metafor's code: those escalc computes first (in
#: :data:`MEASURES` order), then those it only labels.
MEASURE_INFO: dict[str, MeasureInfo] = _registry()
#: The measures :func:`~metareview.effects.escalc` computes (metafor's codes, escalc's order).
MEASURE_NAMES: tuple[str, ...] = tuple(MEASURES)
if tuple(n for n, i in MEASURE_INFO.items() if i.computable) != MEASURE_NAMES:  # pragma: no cover
    raise AssertionError("MEASURE_INFO and MEASURES disagree on the measures escalc computes")


def find_measure(name: object) -> MeasureInfo | None:
    """The :class:`MeasureInfo` of ``name`` (any case), or None for a measure not registered."""
    return MEASURE_INFO.get(name.strip().upper()) if isinstance(name, str) else None


def measure_info(name: object, *, computable: bool = False) -> MeasureInfo:
    """The :class:`MeasureInfo` of measure ``name`` (any case).

    Parameters
    ----------
    name : str
        metafor's measure code (``"RR"``, ``"plo"``).
    computable : bool, default False
        Require a measure :func:`~metareview.effects.escalc` computes from raw data.

    Raises
    ------
    InputError
        ``name`` is not a measure (or, with ``computable``, not one escalc computes); the
        message names it and lists the valid ones.
    """
    info = find_measure(name)
    valid = MEASURE_NAMES if computable else tuple(MEASURE_INFO)
    if info is None:
        raise InputError(f"unknown measure {name!r}; use one of {', '.join(valid)}",
                         field="measure")  # fmt: skip
    if computable and not info.computable:
        raise InputError(
            f"unknown measure {name!r}: escalc does not compute {info.name} ({info.description}; "
            f"give yi with vi or sei as GEN); use one of {', '.join(valid)}",
            field="measure",
        )
    return info


def is_ratio(measure: str) -> bool:
    """Whether ``measure`` is pooled as a log ratio (False for a measure not registered)."""
    info = find_measure(measure)
    return info is not None and info.is_ratio


def is_proportion(measure: str) -> bool:
    """Whether ``measure`` is a single proportion (False for a measure not registered)."""
    info = find_measure(measure)
    return info is not None and info.is_proportion


#: Names derived from the registry, for callers that want a set.
RATIO_MEASURES: frozenset[str] = frozenset(n for n, i in MEASURE_INFO.items() if i.is_ratio)
PROPORTION_MEASURES: tuple[str, ...] = tuple(
    n for n, i in MEASURE_INFO.items() if i.is_proportion
)
#: Measures of a single group's level (proportions, rates, means): a test against 0 on the
#: model scale (a proportion of 0.5 on the logit scale, a rate of 1 on the log scale) answers
#: no question a reader asks, so no p-value is reported for them.
SINGLE_GROUP_MEASURES: frozenset[str] = frozenset(
    n for n, i in MEASURE_INFO.items() if i.null_value is None
)
