"""The distribution functions of the models' tests and intervals, cheap to import.

Every p-value and critical value of the batch core (:mod:`metareview.models._core`, hence
:func:`~metareview.models.rma` and :func:`~metareview.models.rma_batch`) and of ``metareview
pool`` comes from here, so the CLI's lean path and the Python API compute them with the same
arithmetic. Importing :mod:`scipy.special` costs about 0.25 s of CPU (SciPy 1.17's array-API
layer imports most of NumPy's submodules), more than the whole fit of 10,000 analyses, so:

- the normal distribution comes from the standard library: ``Phi^{-1}`` is
  :meth:`statistics.NormalDist.inv_cdf` (Wichura's AS 241, accurate to about 1e-16; called
  through its C accelerator, without importing :mod:`statistics`) and the
  two-sided p-value ``2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2)`` is :func:`math.erfc`;
- the chi-square distribution with an integer number of degrees of freedom ``nu`` (``k - 1``
  for Cochran's Q and the Q-profile interval of tau^2) has closed forms as finite sums (Abramowitz
  & Stegun 26.4.4 and 26.4.5; ``h = x/2``)::

      nu = 2m:      P(X > x) = exp(-h) sum_{j=0}^{m-1} h^j / j!
      nu = 2m + 1:  P(X > x) = erfc(sqrt h) + exp(-h) sum_{j=1}^{m} h^(j-1/2) / Gamma(j + 1/2)

  and the lower tail is the series of the regularised incomplete gamma function (A&S 6.5.29)
  ``P(X <= x) = exp(-h) h^a / Gamma(a+1) sum_{n>=0} h^n / ((a+1)...(a+n))``, ``a = nu/2``. Every
  term is positive and each follows from the previous one by one multiplication, so each tail
  is accurate to a few units in the last place where it is used (``nu <= 200``, ``x <= 1400``,
  where ``exp(-h)`` does not underflow). The quantiles invert those tails by Newton's method
  kept inside a bracket, to the last bit of the computed tail. Beyond ``X_MAX`` an upper tail
  whose Chernoff bound ``exp(-(x - nu - nu log(x/nu)) / 2)`` (``x > nu``; Dasgupta & Gupta
  2003, lemma 2.2) is below ``exp(-760)`` rounds to 0 and is 0 (the test for subgroup
  differences of 10,000 groups, say);
- anything else (the t distribution of ``test="t"``/``"knha"``, degrees of freedom above 200 or
  not whole, statistics beyond 1400) is SciPy's (``scipy.special``), imported when first needed.

The tests compare each function with SciPy (relative 1e-13) over a grid of degrees of freedom,
levels and statistics (``tests/models/test_dist.py``).

References
----------
Abramowitz, M., & Stegun, I. A. (1964). Handbook of Mathematical Functions. NBS, 26.4.4-26.4.5
    (chi-square tail as finite sums), 6.5.29 (incomplete gamma series).
Dasgupta, S., & Gupta, A. (2003). An elementary proof of a theorem of Johnson and Lindenstrauss.
    Random Structures & Algorithms, 22(1), 60-65.
Wichura, M. J. (1988). Algorithm AS 241: the percentage points of the normal distribution.
    Applied Statistics, 37(3), 477-484.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "chi2_isf", "chi2_ppf", "chi2_sf", "norm_ppf", "norm_pvalue", "t_isf", "t_pvalue",
]  # fmt: skip

FloatArray = NDArray[np.float64]

#: The closed forms are used for whole degrees of freedom up to this many ...
DF_MAX = 200
#: ... and statistics up to this value (``exp(-x/2)`` stays a normal double).
X_MAX = 1400.0

#: ``exp(-760)`` is below half the smallest subnormal double (2.5e-324).
_CHERNOFF_ZERO = 760.0


def _inv_cdf_function() -> Callable[[float, float, float], float]:
    """The function behind :meth:`statistics.NormalDist.inv_cdf`: its C accelerator
    ``_statistics._normal_dist_inv_cdf`` (importing :mod:`statistics` itself costs about 10 ms:
    it imports random, fractions and decimal), else the pure-Python one."""
    try:
        from _statistics import _normal_dist_inv_cdf

        return _normal_dist_inv_cdf
    except ImportError:  # pragma: no cover - CPython builds it; other interpreters may not
        from statistics import NormalDist

        return lambda p, mu, sigma: NormalDist(mu, sigma).inv_cdf(p)


_INV_CDF = _inv_cdf_function()
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def norm_ppf(p: float) -> float:
    """``Phi^{-1}(p)``, the standard normal quantile (:meth:`statistics.NormalDist.inv_cdf`);
    ``-norm_ppf(alpha/2)`` is the two-sided critical value (R's ``qnorm``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")  # as NormalDist.inv_cdf
    return _INV_CDF(p, 0.0, 1.0)


def norm_pvalue(z: Any) -> FloatArray:
    """Two-sided normal p-values ``2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2)`` (R's
    ``2 * pnorm(-abs(z))``), element-wise; NaN stays NaN."""
    a = np.abs(np.asarray(z, dtype=float)) * math.sqrt(0.5)
    return np.fromiter(map(math.erfc, a.ravel().tolist()), float, a.size).reshape(a.shape)


def _scipy_special() -> Any:
    from scipy import special

    return special


def _closed_form(df: Any) -> Any:
    """Where the closed forms apply: whole degrees of freedom in ``[1, DF_MAX]``."""
    return (df >= 1.0) & (df <= DF_MAX) & (df == np.floor(df))


def chi2_sf(df: Any, x: Any) -> FloatArray:
    """Upper tail ``P(X > x)`` of the chi-square distribution with ``df`` degrees of freedom
    (R's ``pchisq(x, df, lower.tail = FALSE)``), element-wise: the finite sums of the module
    docstring where they apply, SciPy's ``chdtrc`` elsewhere."""
    d, xx = np.broadcast_arrays(np.asarray(df, dtype=float), np.asarray(x, dtype=float))
    d, xx = d.ravel(), xx.ravel()
    out = np.full(d.shape, np.nan)
    ok = _closed_form(d) & (xx >= 0.0) & (xx <= X_MAX)
    if ok.any():
        out[ok] = _sf_sums(d[ok], xx[ok])
    # far in the tail the Chernoff bound P(X > x) <= exp(-(x - df - df log(x/df)) / 2), x > df,
    # is below half the smallest subnormal double: the tail rounds to 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        zero = ~ok & (d > 0.0) & (xx > d) & np.isfinite(xx)
        zero &= 0.5 * (xx - d - d * np.log(xx / d)) > _CHERNOFF_ZERO
    out[zero] = 0.0
    rest = ~ok & ~zero & ~np.isnan(d) & ~np.isnan(xx)
    if rest.any():
        out[rest] = _scipy_special().chdtrc(d[rest], xx[rest])
    return out.reshape(np.broadcast(np.asarray(df), np.asarray(x)).shape)


def _sf_sums(df: FloatArray, x: FloatArray) -> FloatArray:
    """The finite sums (whole ``df`` in ``[1, DF_MAX]``, ``0 <= x <= X_MAX``), vectorised.

    With ``m = floor(df/2)`` terms: for even ``df`` ``t_0 = exp(-h)``, ``t_i = t_{i-1} h / i``;
    for odd ``df`` ``t_0 = exp(-h) sqrt(h) / Gamma(3/2)``, ``t_i = t_{i-1} h / (i + 1/2)``,
    added to ``erfc(sqrt h)``; the terms are added in order of ``i``."""
    h = 0.5 * x
    odd = (df % 2.0) == 1.0
    count = np.floor(0.5 * df)
    shift = np.where(odd, 0.5, 0.0)
    s = np.zeros(df.shape)
    if odd.any():
        s[odd] = [math.erfc(r) for r in np.sqrt(h[odd]).tolist()]
    e = np.exp(-h)
    t = np.where(odd, e * _TWO_OVER_SQRT_PI * np.sqrt(h), e)
    s = s + np.where(count >= 1.0, t, 0.0)
    for i in range(1, int(count.max(initial=0.0))):
        t = t * h / (i + shift)
        s = s + np.where(i < count, t, 0.0)
    return s


def _sf_scalar(df: int, x: float) -> float:
    """:func:`_sf_sums` for one whole ``df`` and one ``x`` (the same terms, the same order)."""
    h = 0.5 * x
    odd = df % 2 == 1
    s = math.erfc(math.sqrt(h)) if odd else 0.0
    t = math.exp(-h) * (_TWO_OVER_SQRT_PI * math.sqrt(h) if odd else 1.0)
    count = df // 2
    if count >= 1:
        s += t
    shift = 0.5 if odd else 0.0
    for i in range(1, count):
        t = t * h / (i + shift)
        s += t
    return s


def _cdf_scalar(df: int, x: float) -> float:
    """Lower tail ``P(X <= x)`` for one whole ``df``: the incomplete gamma series (A&S 6.5.29),
    accurate where it is small (used for the lower quantile)."""
    h = 0.5 * x
    a = 0.5 * df
    # exp(-h) h^a / Gamma(a + 1), built up by one multiplication a term
    if df % 2 == 0:
        t = math.exp(-h)
        for j in range(1, df // 2 + 1):
            t *= h / j
    else:
        t = math.exp(-h) * _TWO_OVER_SQRT_PI * math.sqrt(h)
        for j in range(1, df // 2 + 1):
            t *= h / (j + 0.5)
    s = u = 1.0
    n = 1
    while u > s * 2.0**-55 and n < 100_000:
        u *= h / (a + n)
        s += u
        n += 1
    return t * s


def _density(df: int, x: float) -> float:
    """The chi-square density ``exp(-h) h^(a-1) / (2 Gamma(a))`` (only Newton's steps use it)."""
    if x <= 0.0:
        return math.inf if df < 2 else (0.5 if df == 2 else 0.0)
    a = 0.5 * df
    h = 0.5 * x
    return 0.5 * math.exp(-h + (a - 1.0) * math.log(h) - math.lgamma(a))


def _invert(df: int, p: float, upper: bool) -> float | None:
    """The ``x`` with ``tail(x) = p`` (``upper``: ``P(X > x)``; else ``P(X <= x)``), by Newton's
    method kept inside a bracket that holds the root, until a step moves ``x`` by at most two
    doubles or the bracket has no double left inside; None when the root lies beyond
    ``X_MAX``."""

    def f(x: float) -> float:  # increasing in x
        return p - _sf_scalar(df, x) if upper else _cdf_scalar(df, x) - p

    lo, hi = 0.0, max(2.0 * df, 8.0)
    while f(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > X_MAX:
            if f(X_MAX) < 0.0:
                return None
            hi = X_MAX
            break
    # start from the Wilson-Hilferty approximation (only a start: Newton refines it)
    z = norm_ppf(1.0 - p if upper else p)
    c = 2.0 / (9.0 * df)
    x = df * max(1.0 - c + z * math.sqrt(c), 0.0) ** 3
    if not lo < x < hi:
        x = 0.5 * (lo + hi)
    for _ in range(400):
        fx = f(x)
        if fx == 0.0:
            return x
        if fx < 0.0:
            lo = x
        else:
            hi = x
        dens = _density(df, x)
        new = x - fx / dens if dens > 0.0 and math.isfinite(dens) else math.nan
        if abs(new - x) <= 2.0 * math.ulp(x):  # within two doubles of the root: done
            return new
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
            if new in (lo, hi):
                return x
        x = new
    return x  # pragma: no cover - the bracket shrinks to adjacent doubles long before


@lru_cache(maxsize=4096)
def _quantile(df: float, p: float, upper: bool) -> float:
    """One chi-square quantile: :func:`_invert` where the closed forms apply, else SciPy's."""
    if 0.0 < p < 1.0 and df >= 1.0 and df <= DF_MAX and df == math.floor(df):
        x = _invert(int(df), p, upper)
        if x is not None:
            return x
    special = _scipy_special()
    if upper:
        return float(special.chdtri(df, p))
    return float(2.0 * special.gammaincinv(0.5 * df, p))


def chi2_isf(df: Any, p: float) -> FloatArray:
    """The upper quantile: ``x`` with ``P(X > x) = p`` (R's ``qchisq(p, df, lower.tail =
    FALSE)``), for each of ``df``."""
    d = np.asarray(df, dtype=float)
    return np.array([_quantile(v, float(p), True) for v in d.ravel().tolist()]).reshape(d.shape)


def chi2_ppf(df: Any, p: float) -> FloatArray:
    """The lower quantile: ``x`` with ``P(X <= x) = p`` (R's ``qchisq(p, df)``), computed from
    the lower tail itself (accurate for small ``p``), for each of ``df``."""
    d = np.asarray(df, dtype=float)
    return np.array([_quantile(v, float(p), False) for v in d.ravel().tolist()]).reshape(d.shape)


def t_isf(df: Any, p: float) -> FloatArray:
    """The t distribution's upper quantile ``t_{df; 1-p}`` (R's ``qt(p, df, lower.tail =
    FALSE)``; SciPy's ``stdtrit``, imported here when first needed)."""
    return np.asarray(-_scipy_special().stdtrit(df, p), dtype=float)


def t_pvalue(df: Any, t: Any) -> FloatArray:
    """Two-sided t p-values ``2 P(T_df > |t|)`` (R's ``2 * pt(-abs(t), df)``; SciPy's
    ``stdtr``)."""
    return np.asarray(2.0 * _scipy_special().stdtr(df, -np.abs(t)), dtype=float)
