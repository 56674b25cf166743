"""Small-study effects and publication bias: Egger's regression test (``regtest``), Begg's rank
correlation test (``ranktest``) and the trim-and-fill method (``trimfill``), as in metafor.

References
----------
Egger, M., Davey Smith, G., Schneider, M., & Minder, C. (1997). Bias in meta-analysis detected
    by a simple, graphical test. BMJ, 315(7109), 629-634.
Sterne, J. A. C., & Egger, M. (2005). Regression methods to detect publication and other bias
    in meta-analysis. In H. R. Rothstein, A. J. Sutton, & M. Borenstein (Eds.), Publication Bias
    in Meta-Analysis (pp. 99-110). Wiley.
Begg, C. B., & Mazumdar, M. (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics, 50(4), 1088-1101.
Duval, S., & Tweedie, R. (2000a). Trim and fill: A simple funnel-plot-based method of testing
    and adjusting for publication bias in meta-analysis. Biometrics, 56(2), 455-463.
Duval, S., & Tweedie, R. (2000b). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. Journal of the American Statistical Association, 95(449),
    89-98.
Duval, S. (2005). The trim and fill method. In Rothstein, Sutton & Borenstein (Eds.),
    Publication Bias in Meta-Analysis (pp. 127-144). Wiley.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from metareview._json import finite_or_none
from metareview.errors import ConvergenceError, InputError, MetareviewWarning
from metareview.models._core import (
    Control,
    alpha_from_level,
    fit_padded,
    make_control,
    normalise_method,
    normalise_test,
)
from metareview.models._input import as_float, clean_yi_vi
from metareview.models._printer import (
    Block,
    Field,
    Printable,
    Printed,
    num,
    pval,
    render_text,
)
from metareview.models._refit import check_batch_refit
from metareview.models.regression import RegResult, _fit
from metareview.models.rma import RMAResult, rma

__all__ = ["RanktestResult", "RegtestResult", "TrimfillResult", "ranktest", "regtest", "trimfill"]

FloatArray = NDArray[np.float64]
Predictor = Literal["sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"]
_PREDICTOR_TEXT = {
    "sei": "standard error", "vi": "sampling variance", "ni": "sample size",
    "ninv": "inverse of the sample size", "sqrtni": "square root sample size",
    "sqrtninv": "inverse of the square root sample size",
}


def _data(
    x: RMAResult | Any, vi: Any, sei: Any
) -> tuple[FloatArray, FloatArray, RMAResult | None]:
    if isinstance(x, RegResult):
        raise InputError(
            "give an intercept-only model from rma() or the effect sizes; with moderators, add "
            "sqrt(vi) as a moderator in rma_reg() instead"
        )
    if isinstance(x, RMAResult):
        if vi is not None or sei is not None:
            warnings.warn("vi and sei are ignored when x is a fitted model", MetareviewWarning,
                          stacklevel=3)
        return np.asarray(x.yi, dtype=float), np.asarray(x.vi, dtype=float), x
    y = as_float(x, "yi")
    if vi is not None and sei is not None:
        raise InputError("give vi or sei, not both", field="sei")
    if vi is not None:
        v = as_float(vi, "vi")
    elif sei is not None:
        s = as_float(sei, "sei")
        if np.any(~np.isnan(s) & (s <= 0)):
            i = int(np.flatnonzero(~np.isnan(s) & (s <= 0))[0])
            raise InputError("standard error must be > 0", row=i + 1, field="sei")
        v = s * s
    else:
        raise InputError("sampling variances are missing: give vi or sei", field="vi")
    keep = clean_yi_vi(y, v)
    return y[keep], v[keep], None


# --------------------------------------------------------------------------- regtest


@dataclass(frozen=True, eq=False)
class RegtestResult(Printed):
    """Regression test for funnel plot asymmetry (metafor's ``regtest`` object).

    ``zval`` (a t value when ``ddf`` is set) and ``pval`` test the predictor's coefficient;
    ``est``, ``ci_lb``, ``ci_ub`` are the limit estimate (the intercept: the effect expected as
    the predictor goes to 0; None for predictors ``ni`` and ``sqrtni``); ``fit`` is the
    regression model.
    """

    model: str
    predictor: str
    method: str
    zval: float
    pval: float
    ddf: int | None
    est: float | None
    ci_lb: float | None
    ci_ub: float | None
    level: float
    fit: RegResult = field(repr=False)

    def summary(self, digits: int = 4) -> str:
        """As metafor's ``print.regtest``."""
        return render_text(self._printable(digits=digits))

    def _printable(self, digits: int = 4) -> Printable:
        """metafor's ``print.regtest``: the model, the predictor, the test, the limit estimate."""
        if self.model == "lm":
            model = "weighted regression with multiplicative dispersion"
        elif self.method in ("EE", "FE"):
            model = "fixed-effects meta-regression model"
        else:
            model = "mixed-effects meta-regression model"
        out: list[Block] = [
            "", "Regression Test for Funnel Plot Asymmetry", "",
            Field("Model:     ", model), Field("Predictor: ", _PREDICTOR_TEXT[self.predictor]), "",
        ]
        stat = (
            f"t = {num(self.zval, digits)}, df = {self.ddf}" if self.ddf is not None
            else f"z = {num(self.zval, digits)}"
        )
        out.append(Field(
            "Test for Funnel Plot Asymmetry: ", f"{stat}, p = {pval(self.pval, digits)}"
        ))
        if self.est is not None:
            limit = "sei" if self.predictor == "sei" else (
                "vi" if self.predictor == "vi" else "ni -> inf"
            )
            arrow = f"as {limit} -> 0" if self.predictor in ("sei", "vi") else f"as {limit}"
            out.append(Field(
                f"Limit Estimate ({arrow}):   ",
                f"b = {num(self.est, digits)} "
                f"(CI: {num(self.ci_lb, digits)}, {num(self.ci_ub, digits)})",
            ))
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (the fitted regression under ``fit``)."""
        return {
            "model": self.model, "predictor": self.predictor, "method": self.method,
            "zval": finite_or_none(self.zval), "pval": finite_or_none(self.pval),
            "ddf": self.ddf, "est": finite_or_none(self.est),
            "ci_lb": finite_or_none(self.ci_lb), "ci_ub": finite_or_none(self.ci_ub),
            "level": self.level, "fit": self.fit.to_dict(),
        }


def regtest(
    x: RMAResult | Any,
    vi: Any = None,
    *,
    sei: Any = None,
    ni: Any = None,
    model: Literal["rma", "lm"] = "rma",
    predictor: Predictor = "sei",
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    control: Mapping[str, Any] | Control | None = None,
) -> RegtestResult:
    """Egger's regression test for funnel plot asymmetry (metafor's ``regtest()``).

    Parameters
    ----------
    x : RMAResult or array-like
        A fitted intercept-only model (its data, method, test, level, control and any fixed
        tau^2 are used) or the effect sizes.
    vi, sei : array-like, optional
        Sampling variances or standard errors when ``x`` holds effect sizes.
    ni : array-like, optional
        Sample sizes, for the predictors ``ni``, ``ninv``, ``sqrtni``, ``sqrtninv``.
    model : {"rma", "lm"}
        ``"rma"`` (metafor's default): the meta-regression ``y_i = b0 + b1 x_i + u_i + e_i``
        fitted with the model's method (``u_i`` absent for EE) and test; the test of ``b1``
        (z, or t with ``k - 2`` df for "t"/"knha") is the test for asymmetry.
        ``"lm"``: the classical Egger test, weighted least squares ``lm(yi ~ x_i, weights =
        1/vi)`` with a multiplicative dispersion parameter, i.e. a t test with ``k - 2`` df.
        Dividing by ``sei`` shows it is Egger et al.'s (1997) regression of the standard normal
        deviate ``y_i/se_i`` on the precision ``1/se_i``, whose intercept is ``b1`` here.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        ``x_i``: the standard error (default, Egger's test), the sampling variance, the sample
        size, ``1/n``, ``sqrt(n)`` or ``1/sqrt(n)``.
    method, test, level, control : optional
        Override those of ``x`` (defaults for arrays: "REML", "z", 95).

    Returns
    -------
    RegtestResult

    Notes
    -----
    The weighted least-squares fit with multiplicative dispersion is the equal-effects model with
    the Knapp-Hartung adjustment (``Var(b) = s2 (X'WX)^-1``, ``s2 = RSS_w/(k-2)``, t on ``k - 2``
    df), so ``model="lm"`` is computed by the same code as :func:`~metareview.models.rma_reg`
    with ``method="EE", test="knha"``. The limit estimate is the intercept (for predictors that
    go to 0 as the study grows: sei, vi, ninv, sqrtninv), with its CI (Stanley & Doucouliagos
    2014 call it PET/PEESE for sei/vi).
    """
    y, v, res = _data(x, vi, sei)
    if model not in ("rma", "lm"):
        raise InputError("model must be 'rma' or 'lm'", field="model")
    if predictor not in _PREDICTOR_TEXT:
        raise InputError(
            f"unknown predictor {predictor!r}; choose one of {', '.join(_PREDICTOR_TEXT)}",
            field="predictor",
        )
    tau2: float | None = None
    if res is not None:
        meth = normalise_method(method or res.method)
        tst = normalise_test(test or res.test)
        lvl = float(level if level is not None else res.level)
        ctl = make_control(control if control is not None else res.control)
        tau2 = res.tau2 if res.tau2_fixed else None
    else:
        meth = normalise_method(method or "REML")
        tst = normalise_test(test or "z")
        lvl = float(level if level is not None else 95.0)
        ctl = make_control(control)
    alpha = alpha_from_level(lvl)
    k = y.size
    if predictor == "sei":
        pred = np.sqrt(v)
    elif predictor == "vi":
        pred = v
    else:
        if ni is None:
            raise InputError(f"predictor {predictor!r} needs the sample sizes (ni=)", field="ni")
        n = as_float(ni, "ni")
        if n.size != k:
            raise InputError(f"ni has {n.size} values for {k} studies", field="ni")
        if np.any(~np.isfinite(n) | (n <= 0)):
            i = int(np.flatnonzero(~np.isfinite(n) | (n <= 0))[0])
            raise InputError("sample size must be a positive number", row=i + 1, field="ni")
        pred = {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[
            predictor
        ]
    xmat = np.column_stack([np.ones(k), pred])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetareviewWarning)
        fit = _fit(
            y, v, xmat, ("intrcpt", predictor),
            method="EE" if model == "lm" else meth,
            test="knha" if model == "lm" else tst,
            alpha=alpha, level=lvl, btt=None, measure=res.measure if res else "GEN",
            slab=res.slab if res else [str(i + 1) for i in range(k)],
            tau2=None if model == "lm" else tau2, control=ctl,
        )
    limit = predictor in ("sei", "vi", "ninv", "sqrtninv")
    return RegtestResult(
        model=model, predictor=predictor, method=meth,
        zval=float(fit.zval[1]), pval=float(fit.pval[1]), ddf=fit.ddf,
        est=float(fit.beta[0]) if limit else None,
        ci_lb=float(fit.ci_lb[0]) if limit else None,
        ci_ub=float(fit.ci_ub[0]) if limit else None,
        level=fit.level, fit=fit,
    )


# --------------------------------------------------------------------------- ranktest


@dataclass(frozen=True)
class RanktestResult(Printed):
    """Begg and Mazumdar's rank correlation test: Kendall's ``tau`` (tau-b) and its ``pval``;
    ``exact`` says whether the p-value is exact (no ties) or from the normal approximation."""

    tau: float
    pval: float
    exact: bool
    k: int

    def summary(self, digits: int = 4) -> str:
        """As metafor's ``print.ranktest``."""
        return render_text(self._printable(digits=digits))

    def _printable(self, digits: int = 4) -> Printable:
        """metafor's ``print.ranktest``: Kendall's tau and its p-value."""
        return Printable([
            "", "Rank Correlation Test for Funnel Plot Asymmetry", "",
            Field("Kendall's tau = ", f"{num(self.tau, digits)}, p = {pval(self.pval, digits)}"),
            "",
        ])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {"tau": finite_or_none(self.tau), "pval": finite_or_none(self.pval),
                "exact": self.exact, "k": self.k}


def ranktest(
    x: RMAResult | Any, vi: Any = None, *, sei: Any = None, exact: bool = True
) -> RanktestResult:
    """Begg and Mazumdar's (1994) rank correlation test (metafor's ``ranktest()``).

    With the equal-effects estimate ``theta = sum(y/v)/sum(1/v)`` and its variance
    ``v_b = 1/sum(1/v)``, the standardised effects ``y*_i = (y_i - theta)/sqrt(v_i - v_b)`` are
    correlated with ``v_i`` by Kendall's tau (tau-b), as R's ``cor.test(method="kendall")``:
    when ``exact`` and neither variable has ties, the p-value is exact (the permutation
    distribution of the number of concordant pairs; scipy's exact Kendall test); otherwise it
    is the normal approximation with the tie-corrected variance of the score and no continuity
    correction. The p-value is two-sided.

    Parameters
    ----------
    x : RMAResult or array-like
        A fitted model (its ``yi``, ``vi`` are used; the test always uses EE weights, as
        metafor) or effect sizes.
    vi, sei : array-like, optional
        Sampling variances or standard errors when ``x`` holds effect sizes.
    exact : bool
        Exact p-value when there are no ties (metafor's default True).
    """
    y, v, _ = _data(x, vi, sei)
    k = y.size
    if k < 3:
        raise InputError(f"the rank correlation test needs at least 3 studies (k = {k})")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vb = 1.0 / float(np.sum(w))
    ystar = (y - theta) / np.sqrt(v - vb)
    ties = np.unique(ystar).size < k or np.unique(v).size < k
    use_exact = bool(exact) and not ties
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    res = stats.kendalltau(ystar, v, method="exact" if use_exact else "asymptotic")
    return RanktestResult(tau=float(res.statistic), pval=float(res.pvalue), exact=use_exact, k=k)


# --------------------------------------------------------------------------- trimfill


@dataclass(frozen=True, eq=False)
class TrimfillResult(Printed):
    """Trim-and-fill (metafor's ``trimfill`` object).

    ``k0`` studies estimated missing on ``side`` ("left"/"right") with ``se_k0``; ``p_k0`` the
    p-value of the test of no missing studies (R0 only, else None); ``fit`` the model refitted
    to the observed plus the ``k0`` filled studies (``fill`` marks the latter; their labels are
    "Filled 1", ...); with ``k0 = 0`` it is the original model.
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    fit: RMAResult = field(repr=False)
    fill: NDArray[np.bool_] = field(repr=False)

    @property
    def estimate(self) -> float:
        """The adjusted pooled estimate (``fit.beta``)."""
        return self.fit.beta

    def summary(self, digits: int = 4) -> str:
        """As metafor prints a trimfill object: the estimated number of missing studies, then
        the filled model."""
        return render_text(self._printable(digits=digits))

    def _printable(self, digits: int = 4) -> Printable:
        """The estimated number of missing studies (and the R0 test), then the filled model."""
        out: list[Block] = [
            "",
            Field(
                f"Estimated number of missing studies on the {self.side} side: ",
                f"{self.k0} (SE = {num(self.se_k0, digits)})",
            ),
        ]
        if self.p_k0 is not None:
            out.append(Field(
                f"Test of H0: no missing studies on the {self.side} side:"
                f"{' ' * len(str(self.k0))}",
                f"p-val {pval(self.p_k0, digits, True)}",
            ))
        return Printable(out) + self.fit._printable(digits=digits)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the trim-and-fill quantities and the filled model under ``fit``."""
        return {
            "k0": self.k0, "se_k0": finite_or_none(self.se_k0), "side": self.side,
            "estimator": self.estimator, "p_k0": finite_or_none(self.p_k0),
            "fill": [bool(b) for b in self.fill], "fit": self.fit.to_dict(),
        }


def _pooled(y: FloatArray, v: FloatArray, method: str, control: Control) -> float:
    """The intercept-only estimate by the batch core (one row)."""
    fit = fit_padded(y[None, :], v[None, :], np.ones((1, y.size), dtype=bool), method=method,
                     control=control)
    return float(fit.beta[0])


def trimfill(
    res: RMAResult,
    *,
    side: Literal["left", "right"] | None = None,
    estimator: Literal["L0", "R0", "Q0"] = "L0",
    maxiter: int = 100,
) -> TrimfillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill()``).

    Parameters
    ----------
    res : RMAResult
        A fitted intercept-only model; its method and control are used for every fit, and its
        test and level for the final model.
    side : {"left", "right"}, optional
        Where studies are missing. By default, as metafor, from the sign of the slope of the
        regression of ``yi`` on ``sqrt(vi)`` (fitted with ``res.method``): a negative slope
        means missing studies on the right, otherwise on the left.
    estimator : {"L0", "R0", "Q0"}
        The estimator of the number of missing studies (Duval & Tweedie 2000a,b).
    maxiter : int
        Maximum number of trim-and-fill iterations.

    Returns
    -------
    TrimfillResult

    Notes
    -----
    The effects are flipped (``-yi``) when studies are missing on the right, then sorted. In each
    iteration the ``k0`` largest effects are trimmed, the pooled estimate ``beta`` of the rest is
    computed, and the signed ranks ``r_i`` of ``|y_i - beta|`` over all ``k`` studies give
    ``S = sum of positive ranks`` and, with ``gamma`` the length of the rightmost run of positive
    ranks:

    - ``L0 = (4 S - k (k+1)) / (2k - 1)``, ``Var(S) = [k(k+1)(2k+1) + 10 L0^3 + 27 L0^2 + 17 L0
      - 18 k L0^2 - 18 k L0 + 6 k^2 L0] / 24``, ``SE = 4 sqrt(Var S)/(2k - 1)``
    - ``R0 = gamma - 1``, ``SE = sqrt(2 max(0, R0) + 2)``; the test of no missing studies has
      ``p = 1 - sum_{m=-1}^{R0-1} 0.5^(m+2) = 0.5^(R0+1)``
    - ``Q0 = k - 1/2 - sqrt(2k^2 - 4S + 1/4)``, ``SE = 2 sqrt(Var S)/sqrt((k - 1/2)^2 -
      Q0 (2k - Q0 - 1))``

    rounded (half to even, as R) and truncated at 0, until ``k0`` no longer changes. The ``k0``
    trimmed studies are then mirrored about ``beta`` (``2 beta - y_i``, same ``v_i``) and the model
    is refitted to all ``k + k0`` studies. Unlike metafor 3.8, which refits with ``test="z"`` and
    ``level=95`` unless told otherwise, the filled model keeps ``res.test`` and ``res.level``.
    """
    if not isinstance(res, RMAResult):
        raise InputError("trimfill needs a fitted model from rma()")
    if estimator not in ("L0", "R0", "Q0"):
        raise InputError("estimator must be 'L0', 'R0' or 'Q0'", field="estimator")
    k = res.k
    if k < 2:
        raise InputError("trim and fill needs at least 2 studies (k = 1)")
    check_batch_refit(res, "trimfill")
    y0 = np.asarray(res.yi, dtype=float)
    v0 = np.asarray(res.vi, dtype=float)
    ctl = res.control
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if side is None:
            slope_fit = _fit(
                y0, v0, np.column_stack([np.ones(k), np.sqrt(v0)]), ("intrcpt", "sqrt(vi)"),
                method=res.method, test="z", alpha=0.05, level=95.0, btt=None,
                measure=res.measure, slab=res.slab, tau2=None, control=ctl,
            )
            side = "right" if slope_fit.beta[1] < 0 else "left"
        elif side not in ("left", "right"):
            raise InputError("side must be 'left' or 'right'", field="side")
        sign = -1.0 if side == "right" else 1.0
        order = np.argsort(sign * y0, kind="stable")
        y = sign * y0[order]
        v = v0[order]
        k0, k0_prev, se_k0 = 0, -1, math.nan
        beta = math.nan
        it = 0
        while k0 != k0_prev:
            k0_prev = k0
            it += 1
            if it > maxiter:
                # metafor stops the same way: "Trim and fill algorithm did not converge."
                raise ConvergenceError(
                    f"trim and fill did not converge in {maxiter} iterations (the number of "
                    f"missing studies alternates, last {k0_prev} and {k0})"
                )
            beta = _pooled(y[: k - k0], v[: k - k0], res.method, ctl)
            yc = y - beta
            ranks = np.empty(k)  # ordinal ranks, ties in order of appearance (R's rank, "first")
            ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
            signed = np.sign(yc) * ranks
            if estimator == "R0":
                neg = signed[signed < 0]
                if neg.size == 0:
                    raise InputError("R0 is undefined: every study lies right of the estimate")
                est = (k - float(np.max(-neg))) - 1.0
                se_k0 = math.sqrt(2.0 * max(0.0, est) + 2.0)
            else:
                s_r = float(np.sum(signed[signed > 0]))
                if estimator == "L0":
                    est = (4.0 * s_r - k * (k + 1)) / (2.0 * k - 1.0)
                else:
                    est = k - 0.5 - math.sqrt(2.0 * k * k - 4.0 * s_r + 0.25)
                var_s = (
                    k * (k + 1) * (2 * k + 1) + 10 * est**3 + 27 * est**2 + 17 * est
                    - 18 * k * est**2 - 18 * k * est + 6 * k**2 * est
                ) / 24.0
                sd = math.sqrt(var_s) if var_s >= 0 else math.nan
                if estimator == "L0":
                    se_k0 = 4.0 * sd / (2.0 * k - 1.0)
                else:
                    se_k0 = 2.0 * sd / math.sqrt((k - 0.5) ** 2 - est * (2.0 * k - est - 1.0))
            k0 = max(0, int(np.round(est)))
            se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
        p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else None

        if k0 > 0:
            filled_y = sign * (2.0 * beta - y[k - k0:])
            filled_v = v[k - k0:]
            slab = [*res.slab, *(f"Filled {i + 1}" for i in range(k0))]
            fit = rma(
                np.concatenate([y0, filled_y]), np.concatenate([v0, filled_v]),
                method=res.method, test=res.test, level=res.level, measure=res.measure,
                slab=slab, control=ctl,
            )
            fill = np.concatenate([np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)])
        else:
            fit = res
            fill = np.zeros(k, dtype=bool)
    fill.setflags(write=False)
    return TrimfillResult(
        k0=k0, se_k0=se_k0, side=side, estimator=estimator, p_k0=p_k0, fit=fit, fill=fill
    )
