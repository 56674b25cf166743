"""Internal-consistency checks of a published pooled result (estimate, CI, p, k).

A reader who has only the abstract can still ask whether its numbers hang together. A Wald-type
confidence interval on the model scale is ``estimate ± crit · SE``, so the interval alone gives

* the implied standard error ``SE = (U − L) / (2 · crit)`` (on the log scale for ratio measures),
* the implied test statistic ``z = estimate / SE`` and two-sided p-value ``2 · (1 − Φ(|z|))``,
* symmetry: the estimate must sit at the midpoint ``(L + U) / 2`` on the model scale.

With Knapp–Hartung (HKSJ) or any t-based inference, ``crit`` is the t quantile with ``k − 1``
degrees of freedom and the p-value comes from that t distribution (metafor's ``test="knha"``,
Viechtbauer 2010, J Stat Softw 36(3), section 3.3; Knapp & Hartung 2003, Stat Med 22:2693), so a
reported p-value that matches ``t_{k−1}`` but not the normal distribution reveals HKSJ.

Every reported number is treated as an interval of width one unit in its last printed digit, so a
finding is raised only when no values within rounding make the numbers agree. When the interval is
asymmetric or does not bracket the estimate, single sign flips (of either bound or the estimate) are
tried: if exactly one makes the result consistent it is reported as a likely typo with the
corrected value (e.g. Liakouli et al. 2020 print the HAQ result as "−0.096; 95 CI −0.197 to
−0.006", whose midpoint is −0.1015; with the upper bound +0.006 the interval is symmetric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, Literal

from scipy import stats

from metareview._json import finite_or_none
from metareview.errors import InputError
from metareview.models._format import format_p_report
from metareview.models._printer import Block, Field, Printable, Printed, num

__all__ = ["Finding", "PublishedCheck", "ReportedValue", "check_published"]

#: p-values in the findings: 4 decimals, "p < 0.0001" below.
_fmt_p = partial(format_p_report, digits=4)

Scale = Literal["identity", "log"]
Severity = Literal["info", "warning", "error"]
_SCALES: tuple[str, ...] = ("identity", "log")
_P_PREFIXES: tuple[tuple[str, Literal["=", "<", ">"]], ...] = (
    ("<=", "<"),
    ("≤", "<"),
    ("<", "<"),
    (">=", ">"),
    ("≥", ">"),
    (">", ">"),
    ("=", "="),
)
# Headroom for binary floating point on top of the half-unit rounding of printed numbers.
_EPS = 1e-12


@dataclass(frozen=True)
class ReportedValue:
    """A number as printed: its value, its decimals and (for p-values) the relation printed.

    ``relation`` is ``"="`` for "p = 0.043", ``"<"`` for "p < 0.001", ``">"`` for "p > 0.05".
    ``decimals`` sets the rounding half-unit ``0.5 · 10^−decimals``.
    """

    value: float
    decimals: int
    relation: Literal["=", "<", ">"] = "="

    @property
    def half_unit(self) -> float:
        return 0.5 * 10.0 ** (-self.decimals)

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval of true values that print as this number."""
        if self.relation == "<":
            return (0.0, self.value)
        if self.relation == ">":
            return (self.value, 1.0)
        return (self.value - self.half_unit, self.value + self.half_unit)


@dataclass(frozen=True)
class Finding:
    """One observation about the reported numbers.

    ``severity`` is ``"error"`` when the numbers cannot all be right as printed for a Wald-type
    result on the stated scale (asymmetric interval, estimate outside it, p-value that does not
    match), ``"warning"`` for what the reader should know or act on (a likely typo and its
    correction, another scale, t-based inference), and ``"info"`` for the derived facts.
    """

    code: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class PublishedCheck(Printed):
    """Result of :func:`check_published`; all model-scale quantities are on ``scale``.

    Attributes
    ----------
    estimate, ci_lb, ci_ub, pvalue
        The reported numbers (``pvalue`` is None when not reported; ``pvalue_relation`` is
        ``"="``, ``"<"`` or ``">"``).
    crit
        The normal quantile for ``level`` (1.959964 for 95%).
    se
        Implied standard error ``(U − L) / (2 · crit)`` on the model scale.
    midpoint, half_width_lower, half_width_upper
        ``(L + U)/2``, ``estimate − L`` and ``U − estimate`` on the model scale.
    symmetric
        Whether ``estimate`` is the midpoint within the rounding of the printed numbers.
    zval, pval_z
        ``estimate / se`` and its two-sided normal p-value.
    ddf, crit_t, se_t, pval_t
        With ``k`` given: ``k − 1``, the t quantile, the SE implied by a t-based interval and the
        two-sided ``t_{k−1}`` p-value; otherwise None.
    pvalue_matches_z, pvalue_matches_t
        Whether the reported p-value is compatible (within rounding) with ``pval_z`` /
        ``pval_t``; None when there is nothing to compare.
    corrected
        For a likely typo, the corrected number(s) and the SE and p-value they imply.
    findings
        Every observation, most severe first.
    """

    estimate: float
    ci_lb: float
    ci_ub: float
    pvalue: float | None
    pvalue_relation: str
    k: int | None
    level: float
    scale: str
    crit: float
    se: float
    midpoint: float
    half_width_lower: float
    half_width_upper: float
    symmetric: bool
    zval: float
    pval_z: float
    ddf: int | None
    crit_t: float | None
    se_t: float | None
    pval_t: float | None
    pvalue_matches_z: bool | None
    pvalue_matches_t: bool | None
    corrected: dict[str, float] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def consistent(self) -> bool:
        """True when no finding is an error (the numbers agree as printed)."""
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite floats become None)."""
        num = finite_or_none
        return {
            "estimate": self.estimate,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "pvalue": self.pvalue,
            "pvalue_relation": self.pvalue_relation,
            "k": self.k,
            "level": self.level,
            "scale": self.scale,
            "crit": self.crit,
            "se": num(self.se),
            "midpoint": num(self.midpoint),
            "half_width_lower": num(self.half_width_lower),
            "half_width_upper": num(self.half_width_upper),
            "symmetric": self.symmetric,
            "zval": num(self.zval),
            "pval_z": num(self.pval_z),
            "ddf": self.ddf,
            "crit_t": num(self.crit_t),
            "se_t": num(self.se_t),
            "pval_t": num(self.pval_t),
            "pvalue_matches_z": self.pvalue_matches_z,
            "pvalue_matches_t": self.pvalue_matches_t,
            "consistent": self.consistent,
            "corrected": {key: num(value) for key, value in self.corrected.items()},
            "findings": [f.to_dict() for f in self.findings],
        }

    def summary(self) -> str:
        """Plain-text summary: the reported numbers, the implied ones, then the findings."""
        return super().summary()

    def _printable(self) -> Printable:
        """The reported numbers, the implied SE and p-values, the verdict, then the findings."""
        scale = " (log scale)" if self.scale == "log" else ""
        implied = f"SE = {num(self.se, 4)}, z = {num(self.zval, 3)}, {_fmt_p(self.pval_z)}"
        if self.pval_t is not None and self.se_t is not None:
            implied += f"; with t({self.ddf}): SE = {num(self.se_t, 4)}, {_fmt_p(self.pval_t)}"
        out: list[Block] = [
            Field(
                "Reported: ",
                f"estimate {self.estimate:g}, {self.level:g}% CI {self.ci_lb:g} to "
                f"{self.ci_ub:g}"
                + (f", p {self.pvalue_relation} {self.pvalue:g}" if self.pvalue is not None else "")
                + (f", k = {self.k}" if self.k is not None else ""),
            ),
            Field(f"Implied{scale}: ", implied),
            Field("Verdict: ", "consistent" if self.consistent else "NOT consistent as printed"),
        ]
        out += [Field(f"  [{f.severity}] ", f.message) for f in self.findings]
        return Printable(out)


def parse_reported(value: float | str, name: str, *, pvalue: bool = False) -> ReportedValue:
    """Read a printed number: ``-3.091``, ``"−0.096"`` (Unicode minus), ``"<0.001"`` (p only).

    A float's decimals are those of its shortest repr (``0.1`` → 1); pass a string to keep
    trailing zeros that were printed (``"0.040"`` → 3).
    """
    relation: Literal["=", "<", ">"] = "="
    if isinstance(value, bool):
        raise InputError(f"expected a number, got {value!r}", field=name)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InputError(f"must be a finite number, got {value!r}", field=name)
        text = repr(float(value))
    else:
        text = value.strip().replace("\u2212", "-").replace("\u2013", "-").replace(" ", "")
        if pvalue:
            for prefix, rel in _P_PREFIXES:
                if text.startswith(prefix):
                    relation = rel
                    text = text[len(prefix) :]
                    break
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise InputError(f"not a number: {value!r}", field=name) from None
    if not dec.is_finite():
        raise InputError(f"must be a finite number, got {value!r}", field=name)
    exponent = dec.as_tuple().exponent
    decimals = max(0, -int(exponent)) if isinstance(exponent, int) else 0
    if relation != "=" and not pvalue:
        raise InputError(f"only a p-value may carry '<' or '>': {value!r}", field=name)
    return ReportedValue(float(dec), decimals, relation)


def _to_model(value: float, scale: str, name: str) -> float:
    if scale == "log":
        if value <= 0:
            raise InputError(
                f"a ratio reported on scale 'log' must be positive, got {value:g}", field=name
            )
        return math.log(value)
    return value


def _model_bounds(rv: ReportedValue, scale: str) -> tuple[float, float]:
    lo, hi = rv.bounds
    if scale == "log":
        return (math.log(lo) if lo > 0 else -math.inf, math.log(hi))
    return (lo, hi)


@dataclass(frozen=True)
class _Numbers:
    """Point values and rounding intervals of estimate and bounds on the model scale."""

    e: float
    lb: float
    ub: float
    e_rng: tuple[float, float]
    lb_rng: tuple[float, float]
    ub_rng: tuple[float, float]

    def symmetric(self) -> bool:
        # U + L − 2E = 0 is attainable within the rounding box.
        lo = self.ub_rng[0] + self.lb_rng[0] - 2.0 * self.e_rng[1]
        hi = self.ub_rng[1] + self.lb_rng[1] - 2.0 * self.e_rng[0]
        return bool(lo - _EPS <= 0.0 <= hi + _EPS)

    def brackets(self) -> bool:
        # Strictly inside: an estimate equal to a bound would need SE = 0.
        return bool(self.e_rng[1] - self.lb_rng[0] > 1e-9 and self.ub_rng[1] - self.e_rng[0] > 1e-9)

    def ordered(self) -> bool:
        return bool(self.lb_rng[0] <= self.ub_rng[1] + _EPS)

    def ratio_range(self) -> tuple[float, float]:
        """Range of ``|E| / (U − L)`` over the rounding box (the test statistic / (2·crit))."""
        width_lo = max(self.ub_rng[0] - self.lb_rng[1], 0.0)
        width_hi = self.ub_rng[1] - self.lb_rng[0]
        e_lo, e_hi = self.e_rng
        abs_lo = 0.0 if e_lo <= 0.0 <= e_hi else min(abs(e_lo), abs(e_hi))
        abs_hi = max(abs(e_lo), abs(e_hi))
        r_lo = abs_lo / width_hi if width_hi > 0 else math.inf
        r_hi = abs_hi / width_lo if width_lo > 0 else math.inf
        return (r_lo, r_hi)


def _p_range_z(nums: _Numbers, crit: float) -> tuple[float, float]:
    r_lo, r_hi = nums.ratio_range()
    return (2.0 * stats.norm.sf(2.0 * crit * r_hi), 2.0 * stats.norm.sf(2.0 * crit * r_lo))


def _p_range_t(nums: _Numbers, crit_t: float, ddf: int) -> tuple[float, float]:
    r_lo, r_hi = nums.ratio_range()
    return (
        2.0 * stats.t.sf(2.0 * crit_t * r_hi, ddf),
        2.0 * stats.t.sf(2.0 * crit_t * r_lo, ddf),
    )


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return bool(a[0] - _EPS <= b[1] and b[0] <= a[1] + _EPS)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e-3 and x != 0 else f"{x:.4f}".rstrip("0").rstrip(".")


def check_published(
    estimate: float | str,
    ci_lb: float | str,
    ci_ub: float | str,
    pvalue: float | str | None = None,
    k: int | None = None,
    level: float = 95.0,
    scale: str = "identity",
) -> PublishedCheck:
    """Check whether a published estimate, confidence interval and p-value agree.

    Parameters
    ----------
    estimate, ci_lb, ci_ub
        The pooled estimate and its confidence bounds as printed (ratios such as an OR on their
        natural scale with ``scale="log"``). Strings keep printed trailing zeros and accept the
        Unicode minus sign.
    pvalue
        The printed p-value (``0.043``, ``"0.043"``, ``"<0.001"``), or None.
    k
        Number of studies; enables the ``t_{k−1}`` (Knapp–Hartung) comparison.
    level
        Confidence level in percent.
    scale
        ``"identity"`` (mean differences, SMD, proportions pooled untransformed) or ``"log"``
        (OR, RR, HR, ratio of means: the interval is ``exp(log(est) ± crit · SE)``).

    Returns
    -------
    PublishedCheck
        Implied SE, symmetry, implied p-values and the findings. Formulas: ``SE = (U − L) /
        (2 · z_{1−α/2})``, ``z = est / SE``, ``p = 2(1 − Φ(|z|))``; with ``k``, the same with the
        ``t_{k−1}`` quantile and distribution (Knapp & Hartung 2003; metafor ``rma(test="knha")``).

    Raises
    ------
    InputError
        A number is not finite, a ratio on the log scale is not positive, ``level`` is not in
        (0, 100), ``k`` < 2, a p-value is outside [0, 1] or ``scale`` is unknown.
    """
    if scale not in _SCALES:
        raise InputError(f"scale must be one of {', '.join(_SCALES)}, got {scale!r}", field="scale")
    if not 0.0 < level < 100.0:
        raise InputError(f"level must be a percentage in (0, 100), got {level!r}", field="level")
    if k is not None and k < 2:
        raise InputError(f"k must be at least 2 to pool, got {k}", field="k")
    rv_e = parse_reported(estimate, "estimate")
    rv_l = parse_reported(ci_lb, "ci_lb")
    rv_u = parse_reported(ci_ub, "ci_ub")
    rv_p = parse_reported(pvalue, "pvalue", pvalue=True) if pvalue is not None else None
    if rv_p is not None and not 0.0 <= rv_p.value <= 1.0:
        raise InputError(f"a p-value must lie in [0, 1], got {rv_p.value:g}", field="pvalue")

    alpha = 1.0 - level / 100.0
    crit = float(stats.norm.ppf(1.0 - alpha / 2.0))
    ddf = k - 1 if k is not None else None
    crit_t = float(stats.t.ppf(1.0 - alpha / 2.0, ddf)) if ddf is not None else None

    def numbers(e: ReportedValue, lb: ReportedValue, ub: ReportedValue) -> _Numbers:
        return _numbers(e, lb, ub, scale)

    nums = numbers(rv_e, rv_l, rv_u)
    p_rng = rv_p.bounds if rv_p is not None else None

    def implied(n: _Numbers) -> tuple[float, float, float]:
        se = (n.ub - n.lb) / (2.0 * crit)
        z = n.e / se if se > 0 else math.copysign(math.inf, n.e) if n.e else math.nan
        return se, z, float(2.0 * stats.norm.sf(abs(z)))

    def p_matches(n: _Numbers) -> tuple[bool | None, bool | None]:
        if p_rng is None:
            return None, None
        mz = _overlaps(p_rng, _p_range_z(n, crit))
        mt = (
            _overlaps(p_rng, _p_range_t(n, crit_t, ddf))
            if crit_t is not None and ddf is not None
            else None
        )
        return mz, mt

    se, zval, pval_z = implied(nums)
    se_t = pval_t = None
    if crit_t is not None and ddf is not None:
        se_t = (nums.ub - nums.lb) / (2.0 * crit_t)
        tval = nums.e / se_t if se_t > 0 else math.nan
        pval_t = float(2.0 * stats.t.sf(abs(tval), ddf))
    matches_z, matches_t = p_matches(nums)
    symmetric = nums.symmetric()

    findings: list[Finding] = []
    corrected: dict[str, float] = {}
    unit = "log-scale " if scale == "log" else ""
    null = 1.0 if scale == "log" else 0.0

    if not nums.ordered():
        findings.append(
            Finding(
                "bounds_order",
                "error",
                f"The lower bound {rv_l.value:g} exceeds the upper bound {rv_u.value:g}; "
                "the bounds are probably swapped.",
            )
        )
    elif not nums.brackets():
        findings.append(
            Finding(
                "not_bracketing",
                "error",
                f"The interval {rv_l.value:g} to {rv_u.value:g} does not contain the estimate "
                f"{rv_e.value:g}.",
            )
        )
    if nums.ordered():
        hl, hu = nums.e - nums.lb, nums.ub - nums.e
        if symmetric:
            findings.append(
                Finding(
                    "symmetric_ci",
                    "info",
                    f"The interval is symmetric around the estimate on the {scale} scale "
                    f"(half-widths {_fmt(hl)} and {_fmt(hu)}), as a Wald-type interval "
                    "(normal or t) is.",
                )
            )
        else:
            findings.append(
                Finding(
                    "asymmetric_ci",
                    "error",
                    f"The interval is not symmetric around the estimate on the {scale} scale: "
                    f"half-widths {_fmt(hl)} below and {_fmt(hu)} above, midpoint "
                    f"{_fmt((nums.lb + nums.ub) / 2.0)} vs estimate {_fmt(nums.e)} (more than "
                    "rounding allows). A Wald or Knapp–Hartung interval is symmetric on the "
                    "model scale; asymmetry means a typo, another scale, or a non-Wald interval.",
                )
            )
        findings.append(
            Finding(
                "implied_se",
                "info",
                f"Implied {unit}SE = (U − L) / (2 × {crit:.4f}) = {se:.4f}; z = {zval:.3f}, "
                f"two-sided {_fmt_p(pval_z)}"
                + (
                    f"; with t({ddf}) (Knapp–Hartung): SE = {se_t:.4f}, {_fmt_p(pval_t)}"
                    if se_t is not None and pval_t is not None
                    else ""
                )
                + ".",
            )
        )

    # Another scale: an identity-scale interval that is symmetric in logs (a ratio), or back.
    if nums.ordered() and not symmetric:
        values = (rv_e.value, rv_l.value, rv_u.value)
        other = "log" if scale == "identity" else "identity"
        if (other == "identity" or all(v > 0 for v in values)) and _numbers(
            rv_e, rv_l, rv_u, other
        ).symmetric():
            hint = (
                "the estimate is probably a ratio (OR, RR, HR) or was pooled on the log "
                "scale: use scale 'log'"
                if other == "log"
                else "the interval was probably computed on the original scale: use scale "
                "'identity'"
            )
            findings.append(
                Finding(
                    f"symmetric_on_{other}_scale",
                    "warning",
                    f"The interval is symmetric on the {other} scale; {hint}.",
                )
            )

    # Single sign flips that make the numbers consistent (identity scale only: ratios are > 0).
    if scale == "identity" and (not symmetric or not nums.brackets()):
        candidates: list[tuple[str, ReportedValue, ReportedValue, ReportedValue]] = []
        if rv_l.value != 0:
            candidates.append(("ci_lb", rv_e, _flip(rv_l), rv_u))
        if rv_u.value != 0:
            candidates.append(("ci_ub", rv_e, rv_l, _flip(rv_u)))
        if rv_e.value != 0:
            candidates.append(("estimate", _flip(rv_e), rv_l, rv_u))
        good = []
        for name, e2, l2, u2 in candidates:
            n2 = numbers(e2, l2, u2)
            if not (n2.ordered() and n2.brackets() and n2.symmetric()):
                continue
            mz, mt = p_matches(n2)
            if mz is False and mt is not True:
                continue
            good.append((name, e2, l2, u2, n2))
        if len(good) == 1:
            name, e2, l2, u2, n2 = good[0]
            new_value = {"estimate": e2, "ci_lb": l2, "ci_ub": u2}[name].value
            old_value = {"estimate": rv_e, "ci_lb": rv_l, "ci_ub": rv_u}[name].value
            se2, _z2, p2 = implied(n2)
            corrected = {name: new_value, "se": se2, "pval_z": p2}
            label = {"estimate": "estimate", "ci_lb": "lower bound", "ci_ub": "upper bound"}[name]
            excludes_before = not (nums.lb <= null <= nums.ub)
            excludes_after = not (n2.lb <= null <= n2.ub)
            change = ""
            if excludes_before != excludes_after:
                change = (
                    f" The sign matters: as printed the interval "
                    f"{'excludes' if excludes_before else 'includes'} {null:g} (implied "
                    f"{_fmt_p(pval_z)}); corrected it "
                    f"{'excludes' if excludes_after else 'includes'} {null:g} "
                    f"({_fmt_p(p2)})."
                )
            findings.append(
                Finding(
                    "likely_sign_typo",
                    "warning",
                    f"Likely sign typo in the {label}: {old_value:g} is probably {new_value:g}. "
                    f"Then the interval {l2.value:g} to {u2.value:g} is symmetric around "
                    f"{e2.value:g} (half-widths {_fmt(n2.e - n2.lb)} and {_fmt(n2.ub - n2.e)}), "
                    f"implied SE = {se2:.4f}, {_fmt_p(p2)}." + change,
                )
            )
        elif len(good) > 1:
            names = ", ".join(g[0] for g in good)
            findings.append(
                Finding(
                    "ambiguous_sign_typo",
                    "warning",
                    f"Flipping the sign of any one of {names} makes the numbers consistent; "
                    "the printed values cannot tell which is wrong.",
                )
            )

    # The p-value.
    if rv_p is not None and p_rng is not None and nums.ordered():
        p_text = f"p {rv_p.relation} {rv_p.value:g}"
        if matches_z:
            if matches_t:
                findings.append(
                    Finding(
                        "pvalue_matches",
                        "info",
                        f"The reported {p_text} agrees with the interval under both the normal "
                        f"({_fmt_p(pval_z)}) and the t({ddf}) distribution "
                        f"({_fmt_p(pval_t)}).",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "pvalue_matches",
                        "info",
                        f"The reported {p_text} agrees with the interval under a normal (Wald z) "
                        f"test (implied {_fmt_p(pval_z)})"
                        + (
                            f", not under t({ddf}) ({_fmt_p(pval_t)}): no Knapp–Hartung."
                            if pval_t is not None
                            else "."
                        ),
                    )
                )
        elif matches_t:
            findings.append(
                Finding(
                    "pvalue_matches_t",
                    "warning",
                    f"The reported {p_text} agrees with a t({ddf}) test (implied "
                    f"{_fmt_p(pval_t)}), not with a normal test ("
                    f"{_fmt_p(pval_z)}): the analysis probably used Knapp–Hartung (HKSJ); "
                    f"the implied SE is then {se_t:.4f}.",
                )
            )
        else:
            findings.append(
                Finding(
                    "pvalue_mismatch",
                    "error",
                    f"The reported {p_text} does not match the interval: it implies "
                    f"{_fmt_p(pval_z)} (normal)"
                    + (f" or {_fmt_p(pval_t)} (t({ddf}))" if pval_t is not None else "")
                    + ".",
                )
            )
        excludes_null = not (nums.lb_rng[0] <= null <= nums.ub_rng[1])
        includes_null = nums.lb_rng[1] <= null <= nums.ub_rng[0]
        if excludes_null and p_rng[0] >= alpha:
            findings.append(
                Finding(
                    "significance_conflict",
                    "error",
                    f"The {level:g}% interval excludes {null:g} but {p_text} is not below "
                    f"{alpha:g}.",
                )
            )
        elif includes_null and p_rng[1] < alpha:
            findings.append(
                Finding(
                    "significance_conflict",
                    "error",
                    f"The {level:g}% interval includes {null:g} but {p_text} is below {alpha:g}.",
                )
            )

    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return PublishedCheck(
        estimate=rv_e.value,
        ci_lb=rv_l.value,
        ci_ub=rv_u.value,
        pvalue=rv_p.value if rv_p is not None else None,
        pvalue_relation=rv_p.relation if rv_p is not None else "=",
        k=k,
        level=float(level),
        scale=scale,
        crit=crit,
        se=se,
        midpoint=(nums.lb + nums.ub) / 2.0,
        half_width_lower=nums.e - nums.lb,
        half_width_upper=nums.ub - nums.e,
        symmetric=symmetric,
        zval=zval,
        pval_z=pval_z,
        ddf=ddf,
        crit_t=crit_t,
        se_t=se_t,
        pval_t=pval_t,
        pvalue_matches_z=matches_z,
        pvalue_matches_t=matches_t,
        corrected=corrected,
        findings=tuple(findings),
    )


def _flip(rv: ReportedValue) -> ReportedValue:
    return ReportedValue(-rv.value, rv.decimals, rv.relation)


def _numbers(e: ReportedValue, lb: ReportedValue, ub: ReportedValue, scale: str) -> _Numbers:
    return _Numbers(
        e=_to_model(e.value, scale, "estimate"),
        lb=_to_model(lb.value, scale, "ci_lb"),
        ub=_to_model(ub.value, scale, "ci_ub"),
        e_rng=_model_bounds(e, scale),
        lb_rng=_model_bounds(lb, scale),
        ub_rng=_model_bounds(ub, scale),
    )
