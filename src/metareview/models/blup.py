"""Empirical Bayes estimates of the study effects of an ``rma``/``rma_reg`` fit, as metafor's
``blup.rma.uni`` and ``ranef.rma.uni``.

>>> from metareview.models import rma, blup, ranef
>>> res = rma("yi", "vi", data=dat)   # doctest: +SKIP
>>> blup(res)                         # doctest: +SKIP

For the model ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau^2)`` and ``e_i ~ N(0, v_i)``,
the shrinkage factor of study ``i`` is ``lambda_i = tau^2 / (tau^2 + v_i)`` and, with
``mu_i = x_i' beta_hat`` and ``Var(mu_i) = x_i' Var(beta_hat) x_i``:

- ``blup``: the best linear unbiased prediction of the study's true effect ``x_i' beta + u_i``,
  ``pred_i = lambda_i y_i + (1 - lambda_i) mu_i`` with
  ``Var = lambda_i v_i + (1 - lambda_i)^2 Var(mu_i)``;
- ``ranef``: the prediction of the random effect ``u_i`` alone,
  ``pred_i = lambda_i (y_i - mu_i)`` with ``Var = lambda_i v_i + lambda_i^2 Var(mu_i)``
  (0 and 0 for an equal-effects model).

Both give ``pred``, ``se`` and the interval ``pi_lb, pi_ub = pred -/+ crit se``, ``crit`` the
normal quantile, or the t quantile with ``k - p`` df for ``test="t"``/``"knha"`` (whose
``Var(beta_hat)`` includes the Knapp-Hartung factor), as metafor.

References
----------
Raudenbush, S. W., & Bryk, A. S. (1985). Empirical Bayes meta-analysis. Journal of Educational
    Statistics, 10(2), 75-98.
Robinson, G. K. (1991). That BLUP is a good thing: The estimation of random effects.
    Statistical Science, 6(1), 15-32.
metafor 3.8-1: ``blup.rma.uni``, ``ranef.rma.uni`` (R source and help pages).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview.models._core import alpha_from_level
from metareview.models._refit import model_of

__all__ = ["blup", "ranef"]

FloatArray = NDArray[np.float64]


def _crit(ddf: int | None, alpha: float) -> float:
    if ddf is None:
        return float(-special.ndtri(alpha / 2.0))
    return float(-special.stdtrit(ddf, alpha / 2.0)) if ddf > 0 else math.nan


def _frame(
    pred: FloatArray,
    var: FloatArray,
    crit: float,
    slab: tuple[str, ...],
    transf: Callable[[Any], Any] | None,
) -> pd.DataFrame:
    se = np.sqrt(var)
    lb, ub = pred - crit * se, pred + crit * se
    if transf is not None:

        def tr(a: FloatArray) -> FloatArray:
            return np.array([float(transf(float(x))) for x in a])

        pred, lb, ub = tr(pred), tr(lb), tr(ub)
        lb, ub = np.fmin(lb, ub), np.fmax(lb, ub)
        se = np.full(se.shape, np.nan)
    return pd.DataFrame(
        {"pred": pred, "se": se, "pi_lb": lb, "pi_ub": ub},
        index=pd.Index(list(slab), name="slab"),
    )


def _parts(
    result: Any, level: float | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, float, float, bool, tuple[str, ...]]:
    """``y, v, mu, Var(mu)``, tau^2, the critical value, whether the model is EE, the labels."""
    m = model_of(result)
    alpha = alpha_from_level(m.level if level is None else level)
    ddf = getattr(result, "ddf", None)
    mu = m.X @ m.beta
    vmu = np.einsum("ij,jk,ik->i", m.X, m.vb, m.X)
    is_ee = m.method in ("EE", "FE")
    return m.y, m.v, mu, vmu, float(m.tau2), _crit(ddf, alpha), is_ee, m.slab


def blup(
    result: Any,
    *,
    level: float | None = None,
    transf: Callable[[Any], Any] | None = None,
) -> pd.DataFrame:
    """Best linear unbiased predictions of the true study effects (metafor's ``blup()``; the
    formulas are in the module docstring).

    Parameters
    ----------
    result : RMAResult or RegResult
        A fit of :func:`~metareview.models.rma` or :func:`~metareview.models.rma_reg`.
    level : float, optional
        Level of the prediction intervals in percent (default: the fit's).
    transf : callable, optional
        Applied to ``pred`` and the bounds (``se`` is then NaN), e.g. ``numpy.exp``.

    Returns
    -------
    pandas.DataFrame
        ``pred, se, pi_lb, pi_ub``, one row per study, indexed by study label.

    Raises
    ------
    InputError
        For a result that is not an ``rma``/``rma_reg`` fit.
    """
    y, v, mu, vmu, tau2, crit, _, slab = _parts(result, level)
    lam = tau2 / (tau2 + v)
    pred = lam * y + (1.0 - lam) * mu
    var = lam * v + (1.0 - lam) ** 2 * vmu
    return _frame(pred, var, crit, slab, transf)


def ranef(
    result: Any,
    *,
    level: float | None = None,
    transf: Callable[[Any], Any] | None = None,
) -> pd.DataFrame:
    """Best linear unbiased predictions of the random effects ``u_i`` (metafor's ``ranef()``;
    the formulas are in the module docstring). Parameters and returns as :func:`blup`; an
    equal-effects model has ``pred = se = 0``."""
    y, v, mu, vmu, tau2, crit, is_ee, slab = _parts(result, level)
    if is_ee:
        zero = np.zeros_like(y)
        return _frame(zero, zero.copy(), crit, slab, transf)
    lam = tau2 / (tau2 + v)
    pred = lam * (y - mu)
    var = lam * v + lam**2 * vmu
    return _frame(pred, var, crit, slab, transf)
