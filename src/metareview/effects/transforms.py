"""Back-transformations for display, as metafor's ``transf.*`` functions.

Pooled estimates and confidence limits stay on the model scale (log odds ratio, logit, Fisher's
z, ...) for all computing; these functions turn them into the scale a reader expects.
:func:`display_transform` picks the right one for a measure.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metareview.errors import InputError

__all__ = [
    "DisplayTransform",
    "display_transform",
    "transf_exp",
    "transf_iarcsin",
    "transf_ilogit",
    "transf_ipft",
    "transf_ipft_hm",
    "transf_pft",
    "transf_ztor",
]

FloatArray = NDArray[np.float64]


class DisplayTransform(Protocol):
    """A back-transformation: model-scale values to display values (``ni`` for PFT only)."""

    def __call__(self, x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray: ...


def _arr(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


def transf_exp(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    """exp(x): log ratios (OR, RR, ROM, IRR, PETO) and log proportions (PLN) to ratios."""
    return np.exp(_arr(x))


def transf_ilogit(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    """Inverse logit 1/(1 + exp(-x)) (metafor ``transf.ilogit``; PLO to a proportion)."""
    from scipy.special import expit

    return np.asarray(expit(_arr(x)), dtype=float)


def transf_ztor(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    """Inverse Fisher transformation r = tanh(z) (metafor ``transf.ztor``; ZCOR to r)."""
    return np.tanh(_arr(x))


def transf_iarcsin(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    """Inverse arcsine square root p = sin(x)^2, truncated to [0, 1] outside [0, pi/2]
    (metafor ``transf.iarcsin``; PAS to a proportion)."""
    xa = _arr(x)
    z = np.sin(xa) ** 2
    z = np.where(xa < 0, 0.0, z)
    return np.where(xa > np.arcsin(1.0), 1.0, z)


def transf_pft(p: ArrayLike, ni: ArrayLike) -> FloatArray:
    """Freeman-Tukey double arcsine of a proportion p for sample size n (metafor ``transf.pft``):
    (asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1)))/2 with x = p n."""
    n = _arr(ni)
    x = _arr(p) * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def transf_ipft(x: ArrayLike, ni: ArrayLike) -> FloatArray:
    """Inverse Freeman-Tukey double arcsine (Miller 1978, Am Stat 32(4):138), metafor's
    ``transf.ipft``:

    .. math:: p = \\tfrac12\\left(1 - \\operatorname{sgn}(\\cos 2t)\\sqrt{1 - \\left(\\sin 2t +
              (\\sin 2t - 1/\\sin 2t)/n\\right)^2}\\right),

    set to 0 below the transform of p = 0 and to 1 above that of p = 1 (NaN where undefined).
    """
    t = _arr(x)
    n = _arr(ni)
    with np.errstate(all="ignore"):
        s = np.sin(2 * t)
        z = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
        z = np.where(t > transf_pft(1.0, n), 1.0, z)
        z = np.where(t < transf_pft(0.0, n), 0.0, z)
    return np.asarray(z, dtype=float)


def transf_ipft_hm(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
    """Inverse Freeman-Tukey with the harmonic mean of the study sample sizes as n
    (metafor ``transf.ipft.hm``; the usual back-transformation of a pooled PFT estimate):
    n_hm = 1/mean(1/ni) over the known ni, then :func:`transf_ipft`."""
    if ni is None:
        raise InputError("the Freeman-Tukey back-transformation needs the sample sizes ni")
    n = _arr(ni)
    n = n[~np.isnan(n)]
    if n.size == 0:
        raise InputError("the Freeman-Tukey back-transformation needs at least one known ni")
    nhm = 1 / np.mean(1 / n)
    return transf_ipft(x, nhm)


def display_transform(measure: str, ni: ArrayLike | None = None) -> DisplayTransform | None:
    """The back-transformation that shows ``measure`` on its natural scale, or None.

    OR, RR, PETO, ROM, IRR, PLN -> exp; PLO -> inverse logit; PAS -> inverse arcsine;
    ZCOR -> tanh; PFT -> inverse Freeman-Tukey with the harmonic mean of ``ni`` (give ``ni``
    here, e.g. ``escalc(...).attrs["ni"]``, or when calling the returned function). Measures
    already on their display scale (MD, SMD, RD, PR, COR, IRD, MC, SMCR, SMCC, GEN) give None.
    The choice is the measure's :attr:`~metareview.effects.measures.MeasureInfo.back_transform`.
    """
    from metareview.effects.measures import find_measure

    info = find_measure(str(measure))
    fn = None if info is None else info.back_transform
    if fn is None:
        return None
    bound = ni

    def transform(x: ArrayLike, ni: ArrayLike | None = None) -> FloatArray:
        return fn(x, bound if ni is None else ni)

    transform.__name__ = fn.__name__
    transform.__doc__ = fn.__doc__
    return transform
