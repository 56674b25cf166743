"""The likelihood-ratio comparison of two nested ``rma``/``rma_reg`` fits, as metafor's
``anova(full, reduced)`` (``test="LRT"``).

>>> from metareview.models import anova, rma, rma_reg
>>> anova(rma_reg("yi", "vi", mods="ablat", data=dat, method="ML"),
...       rma("yi", "vi", data=dat, method="ML"))          # doctest: +SKIP

Each fit has ``parms = p + 1`` parameters (``p`` coefficients and tau^2; ``p`` for an EE model or
a fixed tau^2) and, with ``ll`` its log-likelihood at the estimates (restricted for REML,
:func:`~metareview.models.confint.loglik_tau2`, else ML), metafor's fit statistics
``dev = -2 (ll - sum log phi(0; v_i))`` (ML; ``-2 ll`` for REML), ``AIC = -2 ll + 2 parms``,
``BIC = -2 ll + parms log n`` and ``AICc = -2 ll + 2 parms n' / (n' - parms - 1)``,
``n = k`` (ML) or ``k - p`` (REML), ``n' = max(n, parms + 2)``. The fit with more parameters is
the full one; ``LRT = max(0, dev_reduced - dev_full)`` on ``parms_full - parms_reduced`` df, and
``R2 = 100 max(0, (tau2_r - tau2_f) / tau2_r)`` (0 when ``tau2_r = 0``; for EE models from the
residual variances of the weighted least-squares fits).

Warnings as metafor: an LRT of fits not estimated by ML/REML (or EE); REML fits with different
model matrices (their restricted likelihoods are not comparable); model matrices that are not
nested.

Reference: metafor 3.8-1, ``anova.rma`` (help page and R source).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview.errors import InputError, MetareviewWarning
from metareview.models._refit import Model, model_of
from metareview.models.confint import loglik_tau2

__all__ = ["AnovaResult", "anova"]

_EE = ("EE", "FE")


@dataclass(frozen=True, eq=False)
class AnovaResult:
    """metafor's ``anova.rma`` (LRT) object: ``table`` (rows ``Full``, ``Reduced``; columns
    ``df, AIC, BIC, AICc, logLik, LRT, pval, QE, tau2``), ``LRT``, ``pval``, ``df`` (difference
    in parameters), ``R2`` (percent) and ``method`` (the full model's)."""

    table: pd.DataFrame
    LRT: float
    pval: float
    df: int
    R2: float
    method: str

    def summary(self, digits: int = 4) -> str:
        """The table as metafor prints it."""
        return (
            "\n"
            + self.table.to_string(float_format=lambda x: f"{x:.{digits}f}", na_rep="")
            + f"\n\nR^2: {self.R2:.{digits}f}%\n"
        )

    def __str__(self) -> str:
        return self.summary()


def _parms(m: Model) -> int:
    return m.p + (0 if m.method in _EE or m.tau2_fixed is not None else 1)


def _fit_stats(m: Model) -> dict[str, float]:
    reml = m.method == "REML"
    ll = loglik_tau2(m, 0.0 if m.method in _EE else m.tau2, "REML" if reml else "ML")
    parms = _parms(m)
    n = m.k - m.p if reml else m.k
    if reml:
        dev = -2.0 * ll
    elif m.k > m.p:
        dev = -2.0 * (ll - float(np.sum(-0.5 * np.log(2 * math.pi * m.v))))
    else:
        dev = 0.0
    n2 = max(n, parms + 2)
    return {
        "ll": ll,
        "dev": dev,
        "AIC": -2.0 * ll + 2.0 * parms,
        "BIC": -2.0 * ll + parms * math.log(n),
        "AICc": -2.0 * ll + 2.0 * parms * n2 / (n2 - parms - 1),
    }


def _rank(x: NDArray[np.float64]) -> int:
    return int(np.linalg.matrix_rank(x))


def _wls_sigma2(m: Model) -> float:
    """Residual variance of the weighted least-squares fit (weights ``1/v``), R's
    ``sigma(lm(y ~ X, weights = 1/v))^2``."""
    w = 1.0 / m.v
    xw = m.X * w[:, None]
    b = np.linalg.solve(m.X.T @ xw, xw.T @ m.y)
    return float(np.sum(w * (m.y - m.X @ b) ** 2)) / (m.k - m.p)


def anova(result: Any, result2: Any) -> AnovaResult:
    """Compare two nested fits of the same data by a likelihood-ratio test (metafor's
    ``anova(res1, res2)``; formulas in the module docstring). Either order: the fit with more
    parameters is taken as the full model.

    Raises
    ------
    InputError
        Fits that are not ``rma``/``rma_reg`` results, have the same number of parameters, are
        of different data, compare an EE full model with a random-effects reduced one, or mix
        ML and REML.
    """
    f, r = model_of(result), model_of(result2)
    res_f, res_r = result, result2
    if _parms(f) == _parms(r):
        raise InputError("the models have the same number of parameters", field="result2")
    if _parms(f) < _parms(r):
        f, r, res_f, res_r = r, f, res_r, res_f
    if f.y.shape != r.y.shape or not (np.array_equal(f.y, r.y) and np.array_equal(f.v, r.v)):
        raise InputError(
            "the full and reduced models are not fitted to the same yi and vi", field="result2"
        )
    if f.method in _EE and r.method not in _EE:
        raise InputError(
            "the full model is an equal-effects and the reduced a random-effects model",
            field="method",
        )
    if {f.method, r.method} == {"ML", "REML"}:
        raise InputError(
            f"mismatch between {f.method} and {r.method} estimation in the full "
            "versus reduced model",
            field="method",
        )
    ok = (*_EE, "ML", "REML")
    if f.method not in ok or r.method not in ok:
        warnings.warn("LRTs should be based on ML/REML estimation", MetareviewWarning, stacklevel=2)
    same_x = f.X.shape == r.X.shape and np.array_equal(f.X, r.X)
    if f.method == "REML" and not same_x:
        warnings.warn(
            "REML comparisons are not meaningful for models with different fixed "
            "effects (fit both by ML)",
            MetareviewWarning,
            stacklevel=2,
        )
    if not same_x and max(_rank(f.X), _rank(r.X)) != _rank(np.column_stack([f.X, r.X])):
        warnings.warn(
            "the models being compared appear not to be nested", MetareviewWarning, stacklevel=2
        )
    if f.method in _EE:
        s2f, s2r = _wls_sigma2(f), _wls_sigma2(r)
        r2 = 100.0 * max(0.0, (s2r - s2f) / s2r)
    elif r.tau2 == 0:
        r2 = 0.0
    else:
        r2 = 100.0 * max(0.0, (r.tau2 - f.tau2) / r.tau2)
    sf, sr = _fit_stats(f), _fit_stats(r)
    df = _parms(f) - _parms(r)
    lrt = max(0.0, sr["dev"] - sf["dev"])
    pval = float(special.chdtrc(df, lrt))
    qe = [float(getattr(x, "QE", math.nan)) for x in (res_f, res_r)]
    table = pd.DataFrame(
        {
            "df": [_parms(f), _parms(r)],
            "AIC": [sf["AIC"], sr["AIC"]],
            "BIC": [sf["BIC"], sr["BIC"]],
            "AICc": [sf["AICc"], sr["AICc"]],
            "logLik": [sf["ll"], sr["ll"]],
            "LRT": [math.nan, lrt],
            "pval": [math.nan, pval],
            "QE": qe,
            "tau2": [f.tau2, r.tau2],
        },
        index=pd.Index(["Full", "Reduced"]),
    )
    return AnovaResult(table=table, LRT=lrt, pval=pval, df=df, R2=r2, method=f.method)
