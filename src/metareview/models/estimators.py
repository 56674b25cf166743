"""tau^2 estimators beyond metafor's classic list: ``HSk``, ``GENQ``, ``GENQM`` and ``PMM``
(metafor's ``rma.uni(method=)`` names), for :func:`~metareview.models.rma` and
:func:`~metareview.models.rma_reg` (the batch core, ``models._core``, also fits ``HSk`` and
``PMM``, intercept-only).

For the model ``y = X beta + u + e`` with ``k`` studies, ``p`` coefficients, ``V = diag(v)``
and, for weights ``a``, ``P_a = A - A X (X'AX)^-1 X'A`` (``A = diag(a)``):

- ``HSk``: the Hunter-Schmidt estimator with its small-sample correction,
  ``(k/(k-p) RSS - k) / sum w``, ``RSS = y'P_w y`` at ``w = 1/v``;
- ``GENQ``: the generalised method of moments (DerSimonian & Kacker 2007), which equates
  ``Q_a = y'P_a y`` with its expectation: ``(Q_a - tr(P_a V)) / tr(P_a)``; needs ``weights``;
- ``GENQM``: its median-unbiased version: the tau^2 where the observed ``Q_a`` is the median
  of ``Q_a*``, distributed as ``sum_j lambda_j chi2_1`` with ``lambda_j`` the eigenvalues of
  ``S P_a S``, ``S = diag(sqrt(v + tau2))`` (Imhof's integral, as ``confint(type="GENQ")``),
  0 when already ``Pr(Q_a* > Q_a) >= 1/2`` at 0; needs ``weights``;
- ``PMM``: the median-unbiased Paule-Mandel estimator: the root of
  ``Q(tau2) = chi2_{k-p; 0.5}`` with ``Q(tau2) = y'P y``, ``w = 1/(v + tau2)`` (0 when
  ``Q(0)`` is already below).

Their standard errors are metafor's: ``HSk`` ``k/(k-p)`` times that of HS; ``GENQ``/``GENQM``
``sqrt(2 tr(P_aVP_aV) + 4 t tr(P_aVP_a) + 2 t^2 tr(P_aP_a)) / tr(P_a)``; ``PMM`` as PM.

References
----------
DerSimonian, R., & Kacker, R. (2007). Random-effects model for meta-analysis of clinical trials:
    An update. Contemporary Clinical Trials, 28(2), 105-114.
Jackson, D. (2013). Confidence intervals for the between-study variance in random effects
    meta-analysis using generalised Cochran heterogeneity statistics. Research Synthesis Methods,
    4(3), 220-229.
Viechtbauer, W., et al. (2015). A comparison of procedures to test for moderators in
    mixed-effects meta-regression models. Psychological Methods, 20(3), 360-374.
metafor 3.8-1: ``rma.uni`` (help page, ``method``; R source).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from metareview.errors import ConvergenceError, InputError

__all__ = ["EXTRA_METHODS", "check_weights", "extra_method", "extra_se_tau2", "extra_tau2"]

FloatArray = NDArray[np.float64]

#: The estimators of this module, by metafor's spelling.
EXTRA_METHODS: tuple[str, ...] = ("HSk", "GENQ", "GENQM", "PMM")
#: Those that need ``weights``.
WEIGHTED_METHODS: frozenset[str] = frozenset({"GENQ", "GENQM"})


def extra_method(method: object) -> str | None:
    """metafor's spelling of ``method`` (any case) when it is one of :data:`EXTRA_METHODS`,
    else None."""
    m = str(method).upper()
    for name in EXTRA_METHODS:
        if name.upper() == m:
            return name
    return None


def check_weights(weights: object, k: int, field: str = "weights") -> FloatArray:
    """``weights`` as ``k`` positive finite floats (InputError otherwise)."""
    try:
        a = np.asarray(weights, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("weights must be numbers", field=field) from None
    if a.shape != (k,):
        raise InputError(f"weights must be {k} numbers (one per study), got {a.size}", field=field)
    bad = np.flatnonzero(~(np.isfinite(a) & (a > 0)))
    if bad.size:
        raise InputError("weights must be positive and finite", row=int(bad[0]) + 1, field=field)
    return a


def _proj(x: FloatArray, a: FloatArray) -> FloatArray:
    ax = x * a[:, None]
    p: FloatArray = np.diag(a) - ax @ np.linalg.solve(x.T @ ax, ax.T)
    return p


def _q(y: FloatArray, v: FloatArray, x: FloatArray, t: float) -> float:
    return float(y @ _proj(x, 1.0 / (v + t)) @ y)


def _increasing_root(fun: Callable[[float], float], hi: float, tol: float, what: str) -> float:
    """The root on ``[0, hi']`` of ``fun`` (negative at 0, increasing), ``hi`` grown tenfold
    until ``fun(hi') >= 0``."""
    for _ in range(300):
        if fun(hi) >= 0:
            break
        hi *= 10.0
    else:
        raise ConvergenceError(f"{what}: no root found below tau^2 = {hi:g}")
    return float(
        optimize.brentq(fun, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=1000)
    )


def extra_tau2(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    method: str,
    weights: FloatArray | None = None,
    tol: float = 1e-12,
) -> float:
    """tau^2 (truncated at 0) of ``method`` (formulas in the module docstring).

    Raises
    ------
    InputError
        GENQ/GENQM without ``weights``.
    ConvergenceError
        No root of the PMM or GENQM equation is found.
    """
    k, p = x.shape
    if method in WEIGHTED_METHODS and weights is None:
        raise InputError(f"method={method!r} needs weights", field="weights")
    if method == "HSk":
        w = 1.0 / v
        rss = float(y @ _proj(x, w) @ y)
        return max(0.0, (k / (k - p) * rss - k) / float(w.sum()))
    if method == "PMM":
        target = float(special.chdtri(k - p, 0.5))
        if _q(y, v, x, 0.0) < target:
            return 0.0
        var = float(np.var(y, ddof=1)) if k > 1 else float(v.mean())
        # tol * 1e-3: to the last digits, as the batch core's Newton root and rma_reg's PM
        return _increasing_root(
            lambda t: target - _q(y, v, x, t), max(100.0, 10.0 * var), tol * 1e-3, "PMM"
        )
    assert weights is not None
    pa = _proj(x, weights)
    qa = float(y @ pa @ y)
    if method == "GENQ":
        return max(0.0, (qa - float(np.sum(np.diag(pa) * v))) / float(np.trace(pa)))
    if method == "GENQM":
        from metareview.models.confint import _imhof_sf

        df = k - p

        def upper(t: float) -> float:  # Pr(Q_a* > Q_a) - 1/2, increasing in tau^2
            s = np.sqrt(v + t)
            lam = np.linalg.eigvalsh(s[:, None] * pa * s[None, :])[::-1][:df]
            return _imhof_sf(qa, np.asarray(lam, dtype=np.float64)) - 0.5

        if upper(0.0) >= 0:
            return 0.0
        var = float(np.var(y, ddof=1)) if k > 1 else float(v.mean())
        return _increasing_root(upper, max(100.0, 10.0 * var), tol, "GENQM")
    raise InputError(f"unknown method {method!r}", field="method")  # pragma: no cover


def extra_se_tau2(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    method: str,
    t: float,
    weights: FloatArray | None = None,
) -> float:
    """metafor's standard error of the tau^2 of ``method`` at ``t`` (module docstring)."""
    k, p = x.shape
    df = k - p
    if method == "HSk":
        w = 1.0 / v
        pm = _proj(x, w)
        num = 2.0 * df + 4.0 * t * float(np.trace(pm)) + 2.0 * t * t * float(np.sum(pm * pm))
        return k / df * math.sqrt(num) / float(w.sum())
    if method == "PMM":
        w = 1.0 / (v + t)
        return math.sqrt(2.0 * k * k / df) / float(w.sum())
    assert weights is not None
    pa = _proj(x, weights)
    pv = pa * v[None, :]
    num = (
        2.0 * float(np.sum(pv * pv.T))
        + 4.0 * t * float(np.sum(pv * pa))
        + 2.0 * t * t * float(np.sum(pa * pa))
    )
    return math.sqrt(num) / float(np.trace(pa))


def weighted_coefficients(
    y: FloatArray, v: FloatArray, x: FloatArray, t: float, a: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``beta = (X'AX)^-1 X'A y`` and ``Var(beta) = (X'AX)^-1 X'A (V + t I) A X (X'AX)^-1``:
    the coefficients with user weights ``a`` (metafor's ``rma.uni(weights=)``)."""
    ax = x * a[:, None]
    inv = np.linalg.inv(x.T @ ax)
    beta = inv @ (ax.T @ y)
    meat = ax.T @ (ax * (v + t)[:, None])
    vb: FloatArray = inv @ meat @ inv
    return np.asarray(beta, dtype=np.float64), vb
