"""Conversions for studies that report less than a mean and standard deviation per group.

All functions take scalars or arrays (NumPy broadcasting) and return a float for scalar input,
an array otherwise. Each states its formula and source; the Cochrane Handbook references are to
Higgins JPT et al. (eds), *Cochrane Handbook for Systematic Reviews of Interventions*, version 6.4
(2023), chapter 6 (Higgins, Li & Deeks, "Choosing effect measures and computing estimates of
effect").

Distribution used for confidence intervals and p-values: functions with ``dist="auto"`` use the
t distribution when the sample size is below 60 (per group for two-group statistics) and the
normal distribution otherwise, as the Handbook (section 6.5.2.2) suggests; ``dist="t"`` or
``dist="z"`` force one. The result says nothing about which was used, so pass ``dist``
explicitly when it matters for reporting.
"""

from __future__ import annotations

import itertools
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from metareview.errors import InputError

__all__ = [
    "change_sd",
    "ci_distribution",
    "corr_from_change_sd",
    "luo_mean",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "sd_from_ci",
    "sd_from_ci_diff",
    "sd_from_pvalue",
    "sd_from_se",
    "sd_from_t",
    "se_from_ci",
    "wan_eta",
    "wan_xi",
]

Number = float | NDArray[np.float64]
Dist = Literal["auto", "t", "z"]
MeanMethod = Literal["luo", "wan"]


def _a(x: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"not a number: {x!r}", field=name) from exc
    return arr


def _out(x: NDArray[np.float64]) -> Number:
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


def _check(cond: NDArray[np.bool_], message: str, name: str) -> None:
    cond = np.asarray(cond)
    if cond.any():
        row = int(np.flatnonzero(cond.ravel())[0]) + 1 if cond.ndim else None
        raise InputError(message, row=row, field=name)


def _positive_n(n: NDArray[np.float64], name: str = "n") -> None:
    _check(n <= 0, "sample size must be > 0", name)


def _critical(level: float, df: NDArray[np.float64] | None) -> NDArray[np.float64]:
    if not 0 < level < 100:
        raise InputError(f"level must be between 0 and 100 (got {level})", field="level")
    q = 1 - (1 - level / 100) / 2
    if df is None:
        return np.asarray(stats.norm.ppf(q), dtype=float)
    return np.asarray(stats.t.ppf(q, df), dtype=float)


def _use_t(dist: Dist, smallest_n: NDArray[np.float64]) -> NDArray[np.bool_]:
    if dist not in ("auto", "t", "z"):
        raise InputError(f"dist must be 'auto', 't' or 'z' (got {dist!r})", field="dist")
    if dist == "t":
        return np.ones_like(smallest_n, dtype=bool)
    if dist == "z":
        return np.zeros_like(smallest_n, dtype=bool)
    return np.asarray(smallest_n < 60)


def ci_distribution(n: ArrayLike, *, dist: Dist = "auto") -> str | NDArray[np.str_]:
    """Which distribution :func:`sd_from_ci` (and, with n = the smaller group,
    :func:`sd_from_ci_diff`) uses for sample size ``n``: "t" or "z" (for provenance records)."""
    nn = _a(n, "n")
    labels = np.where(_use_t(dist, nn), "t", "z")
    return str(labels) if labels.ndim == 0 else labels


# ---------------------------------------------------------------------------------------------
# SD of a group mean
# ---------------------------------------------------------------------------------------------


def sd_from_se(se: ArrayLike, n: ArrayLike) -> Number:
    """SD of a group from the standard error of its mean: SD = SE * sqrt(n).

    Cochrane Handbook 6.5.2.2.
    """
    s, nn = _a(se, "se"), _a(n, "n")
    _check(s < 0, "standard error is negative", "se")
    _positive_n(nn)
    return _out(s * np.sqrt(nn))


def se_from_ci(
    lower: ArrayLike, upper: ArrayLike, *, level: float = 95, df: ArrayLike | None = None
) -> Number:
    """Standard error from a symmetric confidence interval: SE = (upper - lower) / (2 c).

    c is the normal quantile 1 - (1 - level)/2 (1.96 for 95%: the Handbook's 3.92 = 2 x 1.96),
    or the t quantile with ``df`` degrees of freedom when ``df`` is given (Cochrane Handbook
    6.5.2.2-6.5.2.3).
    """
    lo, hi = _a(lower, "lower"), _a(upper, "upper")
    _check(hi < lo, "upper confidence limit is below the lower one", "upper")
    crit = _critical(level, None if df is None else _a(df, "df"))
    return _out((hi - lo) / (2 * crit))


def sd_from_ci(
    lower: ArrayLike, upper: ArrayLike, n: ArrayLike, *, level: float = 95, dist: Dist = "auto"
) -> Number:
    """SD of a group from a confidence interval for its mean (Cochrane Handbook 6.5.2.2).

    SD = sqrt(n) (upper - lower) / (2 c), with c the t quantile on n - 1 df (``dist="t"``, and
    ``"auto"`` when n < 60) or the normal quantile (``"z"``; 3.92 = 2 x 1.96 for a 95% CI).
    """
    nn = _a(n, "n")
    _positive_n(nn)
    use_t = _use_t(dist, nn)
    lo, hi = _a(lower, "lower"), _a(upper, "upper")
    _check(hi < lo, "upper confidence limit is below the lower one", "upper")
    with np.errstate(all="ignore"):
        crit = np.where(use_t, _critical(level, np.maximum(nn - 1, 1)), _critical(level, None))
    return _out(np.sqrt(nn) * (hi - lo) / (2 * crit))


def sd_from_ci_diff(
    lower: ArrayLike,
    upper: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    level: float = 95,
    dist: Dist = "auto",
) -> Number:
    """Within-group SD (assumed equal in both groups) from a CI for a difference in means.

    SE = (upper - lower) / (2 c), SD = SE / sqrt(1/n1 + 1/n2), with c the t quantile on
    n1 + n2 - 2 df (``"t"``; ``"auto"`` when either group has fewer than 60) or the normal one
    (Cochrane Handbook 6.5.2.3).
    """
    a, b = _a(n1, "n1"), _a(n2, "n2")
    _positive_n(a, "n1")
    _positive_n(b, "n2")
    use_t = _use_t(dist, np.minimum(a, b))
    lo, hi = _a(lower, "lower"), _a(upper, "upper")
    _check(hi < lo, "upper confidence limit is below the lower one", "upper")
    with np.errstate(all="ignore"):
        crit = np.where(use_t, _critical(level, np.maximum(a + b - 2, 1)), _critical(level, None))
    return _out((hi - lo) / (2 * crit) / np.sqrt(1 / a + 1 / b))


def sd_from_t(t: ArrayLike, mean: ArrayLike, n1: ArrayLike, n2: ArrayLike | None = None) -> Number:
    """SD from a t statistic (Cochrane Handbook 6.5.2.3).

    Two-sample t test (``n2`` given; ``mean`` = difference in means): SE = |MD / t| and the
    within-group SD = SE / sqrt(1/n1 + 1/n2). One-sample or paired t test (``n2`` None; ``mean``
    = the mean or the mean difference): SD = |mean / t| sqrt(n1) (for a paired test this is the
    SD of the differences).
    """
    tt, m, a = _a(t, "t"), _a(mean, "mean"), _a(n1, "n1")
    _positive_n(a, "n1")
    _check(tt == 0, "t = 0: the SD cannot be recovered", "t")
    se = np.abs(m / tt)
    if n2 is None:
        return _out(se * np.sqrt(a))
    b = _a(n2, "n2")
    _positive_n(b, "n2")
    return _out(se / np.sqrt(1 / a + 1 / b))


def sd_from_pvalue(
    p: ArrayLike, mean: ArrayLike, n1: ArrayLike, n2: ArrayLike | None = None
) -> Number:
    """SD from the two-sided p-value of a t test (Cochrane Handbook 6.5.2.3).

    t = the t quantile with upper tail p/2 on n1 + n2 - 2 df (two-sample; ``n2`` given) or
    n1 - 1 df (one-sample or paired), then :func:`sd_from_t`. An exact p is needed; for
    "p < 0.05" the Handbook's conservative choice is p = 0.05.
    """
    pp = _a(p, "p")
    _check((pp <= 0) | (pp >= 1), "p-value must be between 0 and 1 (exclusive)", "p")
    a = _a(n1, "n1")
    _positive_n(a, "n1")
    df = a - 1 if n2 is None else a + _a(n2, "n2") - 2
    _check(df < 1, "too few participants for a t test", "n1")
    t = stats.t.isf(pp / 2, df)
    return sd_from_t(t, mean, n1, n2)


# ---------------------------------------------------------------------------------------------
# mean and SD from medians, quartiles and ranges (Wan 2014; Luo 2018)
# ---------------------------------------------------------------------------------------------

_GRID = np.linspace(-12.0, 12.0, 4801)


def _expected_normal_range(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """E(range) of n standard normal draws: integral of 1 - Phi(x)^n - (1 - Phi(x))^n over x.

    Trapezoid rule on a fine grid over [-12, 12] (the integrand is smooth and negligible at the
    ends), vectorised over n.
    """
    cdf = stats.norm.cdf(_GRID)
    nn = np.asarray(n, dtype=float)[..., None]
    integrand = 1 - cdf**nn - (1 - cdf) ** nn
    return np.asarray(np.trapezoid(integrand, _GRID, axis=-1), dtype=float)


def wan_xi(n: ArrayLike) -> Number:
    """Wan et al.'s xi(n), the expected range of n standard normal values, that turns a range
    into an SD (Wan, Wang, Liu & Tong 2014, BMC Med Res Methodol 14:135, eq. 7 and Table 1).

    Exact (numerical integration) for n <= 50, as the paper's Table 1; Blom's approximation
    2 Phi^-1((n - 0.375)/(n + 0.25)) for n > 50, as the paper recommends.
    """
    nn = _a(n, "n")
    _positive_n(nn)
    blom = 2 * stats.norm.ppf((nn - 0.375) / (nn + 0.25))
    small = nn <= 50
    exact = _expected_normal_range(np.where(small, nn, 1.0))
    return _out(np.where(small, exact, blom))


def wan_eta(n: ArrayLike) -> Number:
    """Wan et al.'s eta(n) = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25)), the expected interquartile
    range of n standard normal values (Wan et al. 2014, scenario 3); it tends to 1.349 (the
    Handbook's IQR/1.35) as n grows."""
    nn = _a(n, "n")
    _positive_n(nn)
    return _out(2 * stats.norm.ppf((0.75 * nn - 0.125) / (nn + 0.25)))


def luo_mean(
    n: ArrayLike,
    median: ArrayLike,
    *,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
) -> Number:
    """Luo et al.'s optimal estimate of a sample mean (Luo, Wan, Liu & Tong 2018, Stat Methods
    Med Res 27(6):1785).

    * Range (scenario S1): w = 4/(4 + n^0.75); mean = w (a + b)/2 + (1 - w) m.
    * Quartiles (S3): w = 0.7 + 0.39/n; mean = w (q1 + q3)/2 + (1 - w) m.
    * Five numbers (S2): w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55;
      mean = w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m.

    a, b: minimum and maximum; q1, q3: quartiles; m: median.
    """
    nn = _a(n, "n")
    _positive_n(nn)
    m = _a(median, "median")
    mid_range = mid_iqr = None
    if minimum is not None and maximum is not None:
        mid_range = (_a(minimum, "minimum") + _a(maximum, "maximum")) / 2
    if q1 is not None and q3 is not None:
        mid_iqr = (_a(q1, "q1") + _a(q3, "q3")) / 2
    if mid_range is not None and mid_iqr is not None:
        w1 = 2.2 / (2.2 + nn**0.75)
        w2 = 0.7 - 0.72 / nn**0.55
        return _out(w1 * mid_range + w2 * mid_iqr + (1 - w1 - w2) * m)
    if mid_range is not None:
        w = 4 / (4 + nn**0.75)
        return _out(w * mid_range + (1 - w) * m)
    if mid_iqr is not None:
        w = 0.7 + 0.39 / nn
        return _out(w * mid_iqr + (1 - w) * m)
    raise InputError("luo_mean needs minimum and maximum, or q1 and q3 (or all four)")


def _ordered(*pairs: tuple[NDArray[np.float64], str]) -> None:
    for (lo, lo_name), (hi, hi_name) in itertools.pairwise(pairs):
        _check(hi < lo, f"{hi_name} is below {lo_name}", hi_name)


def mean_sd_from_median_range(
    minimum: ArrayLike,
    median: ArrayLike,
    maximum: ArrayLike,
    n: ArrayLike,
    *,
    mean_method: MeanMethod = "luo",
) -> tuple[Number, Number]:
    """Mean and SD from the median, minimum, maximum and n (scenario 1 of Wan et al. 2014).

    SD = (b - a) / xi(n) (Wan et al. 2014, eq. 7; :func:`wan_xi`). Mean: Luo et al. 2018's
    weighted estimator (``"luo"``, default; :func:`luo_mean`) or Wan/Hozo's (a + 2m + b)/4
    (``"wan"``; Wan et al. 2014). Assumes roughly normal data.

    Returns
    -------
    (mean, sd)
    """
    a, m, b = _a(minimum, "minimum"), _a(median, "median"), _a(maximum, "maximum")
    _ordered((a, "minimum"), (m, "median"), (b, "maximum"))
    xi = np.asarray(wan_xi(n))
    sd = (b - a) / xi
    if mean_method == "wan":
        mean = (a + 2 * m + b) / 4
    elif mean_method == "luo":
        mean = np.asarray(luo_mean(n, m, minimum=a, maximum=b))
    else:
        raise InputError(f"mean_method must be 'luo' or 'wan' (got {mean_method!r})")
    return _out(mean), _out(sd)


def mean_sd_from_median_iqr(
    q1: ArrayLike,
    median: ArrayLike,
    q3: ArrayLike,
    n: ArrayLike,
    *,
    mean_method: MeanMethod = "luo",
) -> tuple[Number, Number]:
    """Mean and SD from the median, first and third quartiles and n (scenario 3 of Wan 2014).

    SD = (q3 - q1) / eta(n) (Wan et al. 2014; :func:`wan_eta`). Mean: Luo et al.'s
    (0.7 + 0.39/n)(q1 + q3)/2 + (0.3 - 0.39/n) m (``"luo"``, default) or Wan's (q1 + m + q3)/3
    (``"wan"``). Assumes roughly normal data.

    Returns
    -------
    (mean, sd)
    """
    lo, m, hi = _a(q1, "q1"), _a(median, "median"), _a(q3, "q3")
    _ordered((lo, "q1"), (m, "median"), (hi, "q3"))
    sd = (hi - lo) / np.asarray(wan_eta(n))
    if mean_method == "wan":
        mean = (lo + m + hi) / 3
    elif mean_method == "luo":
        mean = np.asarray(luo_mean(n, m, q1=lo, q3=hi))
    else:
        raise InputError(f"mean_method must be 'luo' or 'wan' (got {mean_method!r})")
    return _out(mean), _out(sd)


def mean_sd_from_five_numbers(
    minimum: ArrayLike,
    q1: ArrayLike,
    median: ArrayLike,
    q3: ArrayLike,
    maximum: ArrayLike,
    n: ArrayLike,
    *,
    mean_method: MeanMethod = "luo",
) -> tuple[Number, Number]:
    """Mean and SD from the five-number summary and n (scenario 2 of Wan et al. 2014).

    SD = ((b - a)/xi(n) + (q3 - q1)/eta(n)) / 2 (Wan et al. 2014, eq. 12). Mean: Luo et al.'s
    weighted estimator (``"luo"``, default) or Wan's (a + 2 q1 + 2 m + 2 q3 + b)/8 (``"wan"``).

    Returns
    -------
    (mean, sd)
    """
    a, lo, m = _a(minimum, "minimum"), _a(q1, "q1"), _a(median, "median")
    hi, b = _a(q3, "q3"), _a(maximum, "maximum")
    _ordered((a, "minimum"), (lo, "q1"), (m, "median"), (hi, "q3"), (b, "maximum"))
    sd = ((b - a) / np.asarray(wan_xi(n)) + (hi - lo) / np.asarray(wan_eta(n))) / 2
    if mean_method == "wan":
        mean = (a + 2 * lo + 2 * m + 2 * hi + b) / 8
    elif mean_method == "luo":
        mean = np.asarray(luo_mean(n, m, minimum=a, maximum=b, q1=lo, q3=hi))
    else:
        raise InputError(f"mean_method must be 'luo' or 'wan' (got {mean_method!r})")
    return _out(mean), _out(sd)


# ---------------------------------------------------------------------------------------------
# change from baseline
# ---------------------------------------------------------------------------------------------


def change_sd(sd_pre: ArrayLike, sd_post: ArrayLike, r: ArrayLike) -> Number:
    """SD of the change from baseline given an (assumed) pre-post correlation r:
    sqrt(sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post) (Cochrane Handbook 6.5.2.8)."""
    s1, s2, rr = _a(sd_pre, "sd_pre"), _a(sd_post, "sd_post"), _a(r, "r")
    _check(s1 < 0, "standard deviation is negative", "sd_pre")
    _check(s2 < 0, "standard deviation is negative", "sd_post")
    _check(np.abs(rr) > 1, "correlation is > 1 or < -1", "r")
    return _out(np.sqrt(s1**2 + s2**2 - 2 * rr * s1 * s2))


def corr_from_change_sd(sd_pre: ArrayLike, sd_post: ArrayLike, sd_change: ArrayLike) -> Number:
    """Pre-post correlation implied by a study reporting baseline, final and change SDs:
    r = (sd_pre^2 + sd_post^2 - sd_change^2) / (2 sd_pre sd_post) (Cochrane Handbook 6.5.2.8).

    A value outside [-1, 1] means the three SDs are inconsistent; it is returned as computed so
    the reviewer sees it.
    """
    s1, s2, sc = _a(sd_pre, "sd_pre"), _a(sd_post, "sd_post"), _a(sd_change, "sd_change")
    for arr, name in ((s1, "sd_pre"), (s2, "sd_post"), (sc, "sd_change")):
        _check(arr < 0, "standard deviation is negative", name)
    _check((s1 == 0) | (s2 == 0), "baseline and final SDs must be > 0", "sd_pre")
    return _out((s1**2 + s2**2 - sc**2) / (2 * s1 * s2))


# ---------------------------------------------------------------------------------------------
# combining groups
# ---------------------------------------------------------------------------------------------


def combine_groups(
    n1: ArrayLike,
    mean1: ArrayLike,
    sd1: ArrayLike,
    n2: ArrayLike,
    mean2: ArrayLike,
    sd2: ArrayLike,
) -> tuple[Number, Number, Number]:
    """Size, mean and SD of the union of two groups (e.g. two dose arms), from their summaries.

    N = n1 + n2, M = (n1 m1 + n2 m2)/N and
    SD = sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2 + n1 n2 (m1 - m2)^2 / N) / (N - 1))
    (Cochrane Handbook 6.5.2.10, Table 6.5.a); exact for the sample SD of the pooled data.

    Returns
    -------
    (n, mean, sd)
    """
    a, b = _a(n1, "n1"), _a(n2, "n2")
    _positive_n(a, "n1")
    _positive_n(b, "n2")
    m1, m2 = _a(mean1, "mean1"), _a(mean2, "mean2")
    s1, s2 = _a(sd1, "sd1"), _a(sd2, "sd2")
    _check(s1 < 0, "standard deviation is negative", "sd1")
    _check(s2 < 0, "standard deviation is negative", "sd2")
    n = a + b
    mean = (a * m1 + b * m2) / n
    with np.errstate(all="ignore"):
        var = ((a - 1) * s1**2 + (b - 1) * s2**2 + a * b / n * (m1 - m2) ** 2) / (n - 1)
    return _out(n), _out(mean), _out(np.sqrt(var))
