"""Generalised linear (mixed-effects) models for 2x2 tables, rates and proportions, as metafor's
``rma.glmm``.

The models (metafor's ``rma.glmm`` help; Stijnen, Hamza & Ozdemir 2010, *Stat Med* 29,
3046-3067; Jackson et al. 2018, *Stat Med* 37, 1059-1085), for study ``i`` with log odds ratio
(or log rate ratio) ``theta_i``; ``method="EE"`` fixes ``tau^2 = 0``, ``method="ML"`` estimates
it by maximum likelihood:

* ``measure="OR"``, ``model="UM.FS"``: logistic regression with a fixed intercept per study,
  ``logit p_ij = alpha_i + x_ij theta_i`` (``x = 1`` treated, 0 control), ``theta_i = mu +
  g_ij u_i`` with ``g_ij = +-1/2`` and ``u_i ~ N(0, tau^2)`` (lme4's ``glmer`` with
  ``nAGQ = 7``, the integral by adaptive Gauss-Hermite quadrature).
* ``model="UM.RS"``: random study intercepts instead, ``logit p_ij = mu + b_i + x_ij beta +
  g_ij u_i``, ``b_i ~ N(0, sigma^2)`` and (ML) ``u_i ~ N(0, tau^2)`` independent (lme4's
  ``(group12 || study)``; metafor's ``cor=FALSE``); with ``cor=True`` (ML) ``(b_i, u_i)``
  are bivariate normal with correlation ``rho`` (lme4's ``(group12 | study)``); Poisson with
  offsets ``log t`` for IRR.
  Two random effects per study are beyond glmer's quadrature, so metafor fits this model by
  the Laplace approximation (``nAGQ = 1``) with ML and by 7-node AGQ with EE; so do we.
* ``model="CM.EL"``: the exact conditional likelihood given the total events ``m1 = a + c``,
  ``a_i ~`` Fisher's non-central hypergeometric with odds ratio ``exp(theta_i)``,
  ``theta_i ~ N(mu, tau^2)``; the integral by adaptive Gauss-Hermite quadrature (metafor
  uses ``integrate()``; both reach the exact value).
* ``model="CM.AL"``: the approximate conditional (binomial-normal) model, ``a_i ~ Bin(a_i +
  c_i, p_i)``, ``logit p_i = theta_i + log(n1_i / n2_i)``.
* ``measure="IRR"``: ``UM.FS`` is Poisson regression with study intercepts and offsets
  ``log t``; ``CM.EL`` (exact, also for ``CM.AL``) is ``x1_i ~ Bin(x1_i + x2_i, p_i)``,
  ``logit p_i = theta_i + log(t1_i / t2_i)``.
* ``measure="PLO"``: the binomial-normal model ``x_i ~ Bin(n_i, p_i)``, ``logit p_i ~
  N(mu, tau^2)``.
* ``measure="IRLN"``: the Poisson-normal model for one group's events ``x_i`` over
  person-time ``t_i``, ``x_i ~ Poisson(t_i lambda_i)``, ``log lambda_i ~ N(mu, tau^2)``
  (``log t_i`` the offset; Stijnen, Hamza & Ozdemir 2010, section 4, Table VII).

Heterogeneity is tested against the saturated model (one ``theta_i`` per study): ``QE_Wld``
the Wald and ``QE_LRT`` the likelihood-ratio statistic on ``k - 1`` df. ``I2`` and ``H2``
use the typical within-study variance of metafor (``vt = (k - 1) / (sum w - sum w^2 / sum
w)``, ``w = 1 / vi`` of :func:`metareview.effects.escalc`), ``I2 = 100 tau^2 / (vt + tau^2)``.
As metafor, studies with no events (or only events) in both groups are left out (``drop00``)
with a warning; the fits themselves use the counts without continuity correction.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from metareview._json import finite_or_none
from metareview.effects.escalc import _as_float, _resolve, escalc
from metareview.errors import ConvergenceError, InputError, MetareviewWarning
from metareview.models._glmfit import (
    NCHG,
    GLMFit,
    GroupedData,
    agq_terms,
    conditional_loglik,
    glm_fit,
    laplace_terms,
    nchg_loglik_fixed,
    nchg_marginal,
    saturated_loglik,
)
from metareview.models._optim import hessian_full, newton, vcov_chol
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Field,
    Printable,
    Printed,
    Table,
    coefficient_header,
    coefficient_rows,
    num,
    pval,
)

__all__ = ["GLMMResult", "rma_glmm"]

FloatArray = NDArray[np.float64]
MEASURES = ("OR", "IRR", "PLO", "IRLN")
MODELS = ("UM.FS", "UM.RS", "CM.EL", "CM.AL")
_MODEL_NAMES = {
    "UM.FS": "Unconditional Model with Fixed Study Effects",
    "UM.RS": "Unconditional Model with Random Study Effects",
    "CM.AL": "Conditional Model with Approximate Likelihood",
    "CM.EL": "Conditional Model with Exact Likelihood",
}


@dataclass(frozen=True, eq=False)
class GLMMResult(Printed):
    """Result of :func:`rma_glmm`, with metafor's field names (``QE.Wld`` is ``QE_Wld``).

    ``beta`` is the pooled log odds ratio (OR), log rate ratio (IRR), logit proportion (PLO)
    or log incidence rate (IRLN);
    ``tau2`` its between-study variance (0 for EE), ``se_tau2`` its SE where metafor gives one
    (CM.EL), ``sigma2`` the variance of random study intercepts (UM.RS; NaN otherwise),
    ``rho`` their correlation with the random log ratios (UM.RS with ML and ``cor=True``;
    NaN otherwise; metafor's ``rho``, which its print does not show).
    ``logLik``, ``deviance``, ``AIC``, ``BIC``, ``AICc`` are metafor's ``fit.stats`` (ML);
    ``parms`` counts the parameters, ``k_eff`` the observations the model is fitted to
    (``2k`` for UM.FS). ``ddf`` is ``k - 1`` for ``test="t"`` (else None).
    """

    measure: str
    model: str
    method: str
    test: str
    level: float
    k: int
    k_eff: int
    p_eff: int
    parms: int
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    se_tau2: float
    sigma2: float
    I2: float
    H2: float
    QE_Wld: float
    QEp_Wld: float
    QE_LRT: float
    QEp_LRT: float
    QE_df: int | None
    QM: float
    QMp: float
    ddf: int | None
    logLik: float
    deviance: float
    AIC: float
    BIC: float
    AICc: float
    vt: float
    rho: float = math.nan

    @property
    def estimate(self) -> float:
        """The pooled estimate ``beta`` (model scale)."""
        return self.beta

    def predict(self, transf: Callable[[Any], Any] | None = None) -> dict[str, float]:
        """metafor's ``predict.rma``: the pooled estimate with its CI, and for ``method="ML"``
        the prediction interval ``beta +- crit sqrt(se^2 + tau^2)``; ``transf`` (e.g.
        ``np.exp``) back-transforms each."""
        crit = self._crit()
        half = crit * math.sqrt(self.se**2 + self.tau2)
        values = {"pred": self.beta, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub,
                  "pi_lb": self.beta - half, "pi_ub": self.beta + half}
        if transf is not None:
            values = {key: float(transf(v)) for key, v in values.items()}
        return values

    def _crit(self) -> float:
        alpha = 1 - self.level / 100
        if self.ddf is not None:
            return float(stats.t.isf(alpha / 2, self.ddf))
        return float(-special.ndtri(alpha / 2))

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The text metafor's ``print.rma.glmm`` shows."""
        from metareview.models._printer import render_text

        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        """metafor's ``print.rma.glmm`` (intercept-only model, ``showfit=FALSE``)."""
        is_ee = self.method in ("EE", "FE")
        if is_ee:
            head = {"EE": "Equal-Effects Model", "FE": "Fixed-Effects Model"}[self.method]
            head += f" (k = {self.k})"
        else:
            head = f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"
        out: list[Block] = ["", head]
        if self.measure in ("OR", "IRR"):
            out.append(f"Model Type: {_MODEL_NAMES[self.model]}")
        out.append("")
        if not is_ee:
            tiny = abs(self.tau2) <= 2.220446049250313e-15
            tdig = 0 if tiny else digits
            se = "" if math.isnan(self.se_tau2) else f" (SE = {num(self.se_tau2, digits)})"
            out.append(Field("tau^2 (estimated amount of total heterogeneity): ",
                             num(self.tau2, tdig) + se))
            out.append(Field("tau (square root of estimated tau^2 value):      ",
                             num(math.sqrt(self.tau2), tdig)))
            out.append(Field("I^2 (total heterogeneity / total variability):   ",
                             ("NA" if math.isnan(self.I2) else num(self.I2, digits)) + "%"))
            out.append(Field("H^2 (total variability / sampling variability):  ",
                             "NA" if math.isnan(self.H2) else num(self.H2, digits)))
            out.append("")
        if not math.isnan(self.sigma2):
            sdig = 0 if abs(self.sigma2) <= 2.220446049250313e-15 else digits
            out.append(Field("sigma^2 (estimated amount of study level variability): ",
                             num(self.sigma2, sdig)))
            out.append(Field("sigma (square root of estimated sigma^2 value):        ",
                             num(math.sqrt(self.sigma2), sdig)))
            out.append("")
        if not (math.isnan(self.QE_Wld) and math.isnan(self.QE_LRT)):
            wld, lrt = num(self.QE_Wld, digits), num(self.QE_LRT, digits)
            width = max(len(wld), len(lrt))
            df = "NA" if self.QE_df is None else str(self.QE_df)
            out.append("Tests for Heterogeneity:")
            out.append(Field(f"Wld(df = {df}) = ",
                             f"{wld.rjust(width)}, p-val {pval(self.QEp_Wld, digits, True)}"))
            out.append(Field(f"LRT(df = {df}) = ",
                             f"{lrt.rjust(width)}, p-val {pval(self.QEp_LRT, digits, True)}"))
            out.append("")
        header = coefficient_header(t_test=self.ddf is not None, signif_stars=signif_stars)
        [row] = coefficient_rows(
            [self.beta], [self.se], [self.zval], [self.pval], [self.ci_lb], [self.ci_ub],
            digits=digits, df=None if self.ddf is None else [f"{self.ddf:g}"],
            signif_stars=signif_stars,
        )
        out += ["Model Results:", "", Table(header, [row], end=" ")]
        if signif_stars:
            out.append(SIGNIF_CODES)
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN and inf become None)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = finite_or_none(value) if isinstance(value, float) else value
        return out


# --- input ------------------------------------------------------------------------------------


def _columns(
    names: tuple[str, ...], given: dict[str, Any], data: pd.DataFrame | None
) -> dict[str, FloatArray]:
    """The named count columns as floats (given, or metafor's own name in ``data``)."""
    raw: dict[str, tuple[Any, str]] = {}
    for name in names:
        arg = given.get(name)
        if arg is None and data is not None and name in data.columns:
            arg = name
        if arg is not None:
            raw[name] = _resolve(name, arg, data)
    k = None
    for values, _ in raw.values():
        if not isinstance(values, int | float) and np.ndim(values) > 0:
            k = len(values)
            break
    return {name: _as_float(v, label, k) for name, (v, label) in raw.items()}


def _need(cols: dict[str, FloatArray], names: tuple[str, ...], measure: str) -> None:
    missing = [n for n in names if n not in cols]
    if missing:
        raise InputError(
            f"measure={measure!r} needs {', '.join(names)}; missing {', '.join(missing)}",
            field=missing[0],
        )


def _check_counts(cols: dict[str, FloatArray], counts: tuple[str, ...]) -> None:
    for name, values in cols.items():
        ok = ~np.isnan(values)
        if name in counts:
            bad = ok & ((values < 0) | (values != np.round(values)) | (values > 2.0**53))
            what = "a non-negative whole number (below 2^53)"
        else:
            bad = ok & ~(values > 0)
            what = "positive"
        if np.any(bad) or np.any(ok & ~np.isfinite(values)):
            row = int(np.argmax(bad | (ok & ~np.isfinite(values)))) + 1
            raise InputError(f"must be {what} (got {values[row - 1]:g})", row=row, field=name)


def _check_estimable(measure: str, c: dict[str, FloatArray]) -> None:
    """The pooled estimate is at infinity when one cell is empty (or full) in every study:
    say so rather than return the point where an optimiser stopped."""
    if measure == "OR":
        for name, what in (("ai", "no events in group 1"), ("ci", "no events in group 2"),
                           ("bi", "only events in group 1"), ("di", "only events in group 2")):
            if np.all(c[name] == 0):
                raise InputError(f"{what} in any study ({name} = 0 throughout): the odds ratio "
                                 "is not estimable (its MLE is infinite)", field=name)
    elif measure == "IRR":
        for name in ("x1i", "x2i"):
            if np.all(c[name] == 0):
                raise InputError(f"no events in any study ({name} = 0 throughout): the rate "
                                 "ratio is not estimable (its MLE is infinite)", field=name)
    elif measure == "IRLN":
        if np.all(c["xi"] == 0):
            raise InputError("xi is 0 in every study: the log incidence rate is not estimable "
                             "(its MLE is -infinity)", field="xi")
    elif np.all(c["xi"] == 0) or np.all(c["xi"] == c["ni"]):
        raise InputError("xi is 0 in every study (or equals ni in every study): the logit is "
                         "not estimable (its MLE is infinite)", field="xi")


@dataclass
class _Data:
    k: int
    cells: dict[str, FloatArray]
    yi: FloatArray
    vi: FloatArray


def _prepare(measure: str, given: dict[str, Any], data: pd.DataFrame | None) -> _Data:
    """Counts of the studies used (rows with a missing value left out; for OR and IRR,
    studies without events, or only events, in both groups dropped as metafor's
    ``drop00=TRUE``), with escalc's ``yi``/``vi`` for I² and H²."""
    if measure == "OR":
        cols = _columns(("ai", "bi", "ci", "di", "n1i", "n2i"), given, data)
        _need(cols, ("ai", "ci"), measure)
        if "bi" not in cols and "n1i" not in cols:
            raise InputError("measure='OR' needs bi or n1i", field="bi")
        if "di" not in cols and "n2i" not in cols:
            raise InputError("measure='OR' needs di or n2i", field="di")
        _check_counts(cols, ("ai", "bi", "ci", "di", "n1i", "n2i"))
        a, c = cols["ai"], cols["ci"]
        b = cols["bi"] if "bi" in cols else cols["n1i"] - a
        d = cols["di"] if "di" in cols else cols["n2i"] - c
        for name, cell, total in (("ai", b, "n1i"), ("ci", d, "n2i")):
            if np.any(cell < 0):
                row = int(np.argmax(cell < 0)) + 1
                raise InputError(f"{name} is larger than {total}", row=row, field=name)
        keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
        zero = keep & (((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        cells = {"ai": a, "bi": b, "ci": c, "di": d}
    elif measure == "IRR":
        cols = _columns(("x1i", "x2i", "t1i", "t2i"), given, data)
        _need(cols, ("x1i", "x2i", "t1i", "t2i"), measure)
        _check_counts(cols, ("x1i", "x2i"))
        cells = dict(cols)
        keep = ~np.any([np.isnan(v) for v in cells.values()], axis=0)
        zero = keep & (cells["x1i"] == 0) & (cells["x2i"] == 0)
    elif measure == "IRLN":
        cols = _columns(("xi", "ti"), given, data)
        _need(cols, ("xi", "ti"), measure)
        _check_counts(cols, ("xi",))
        cells = dict(cols)
        keep = ~(np.isnan(cells["xi"]) | np.isnan(cells["ti"]))
        zero = np.zeros(keep.shape, dtype=bool)
    else:
        cols = _columns(("xi", "ni"), given, data)
        _need(cols, ("xi", "ni"), measure)
        _check_counts(cols, ("xi", "ni"))
        if np.any(cols["xi"] > cols["ni"]):
            row = int(np.argmax(cols["xi"] > cols["ni"])) + 1
            raise InputError("xi is larger than ni", row=row, field="xi")
        cells = dict(cols)
        keep = ~(np.isnan(cells["xi"]) | np.isnan(cells["ni"]))
        zero = np.zeros(keep.shape, dtype=bool)
    if zero.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(zero))
        warnings.warn(
            f"studies with no events (or only events) in both groups left out (rows {rows})",
            MetareviewWarning,
            stacklevel=3,
        )
    keep &= ~zero
    if not keep.any():
        raise InputError("no study left to fit (every row is missing or has no events in "
                         "either group)")
    cells = {name: values[keep] for name, values in cells.items()}
    _check_estimable(measure, cells)
    if measure == "OR":
        es = escalc("OR", ai=cells["ai"], bi=cells["bi"], ci=cells["ci"], di=cells["di"],
                    drop00=True)
    elif measure == "IRR":
        es = escalc("IRR", x1i=cells["x1i"], x2i=cells["x2i"], t1i=cells["t1i"],
                    t2i=cells["t2i"], drop00=True)
    elif measure == "IRLN":  # escalc's add=1/2, to="only0", as rma.glmm calls it
        es = escalc("IRLN", xi=cells["xi"], ti=cells["ti"])
    else:
        es = escalc("PLO", xi=cells["xi"], ni=cells["ni"])
    yi, vi = es["yi"].to_numpy(float), es["vi"].to_numpy(float)
    ok = ~(np.isnan(yi) | np.isnan(vi))
    return _Data(int(keep.sum()), cells, yi[ok], vi[ok])


# --- the models ---------------------------------------------------------------------------------


@dataclass
class _Fit:
    beta: float
    var: float
    tau2: float = 0.0
    se_tau2: float = math.nan
    ll: float = math.nan
    parms: int = 1
    p_eff: int = 1
    k_eff: int = 1
    sigma2: float = math.nan
    rho: float = math.nan


@dataclass
class _Het:
    ll_fe: float
    ll_qe: float
    wald: float


def _converged(fit: GLMFit) -> GLMFit:
    if not (fit.converged and np.all(np.isfinite(fit.coef))):
        raise ConvergenceError("the equal-effects fit (IRLS, as R's glm) did not converge in "
                               "25 iterations")
    return fit


def _wald_equal(theta: FloatArray, var: FloatArray) -> float:
    """Wald statistic of ``theta_1 = ... = theta_k`` (covariance ``diag(var)``): the inverse
    variance weighted sum of squares about the weighted mean."""
    w = 1 / var
    return float(np.sum(w * (theta - np.sum(w * theta) / np.sum(w)) ** 2))


def _wald_block(coef: FloatArray, vcov: FloatArray) -> float:
    """``b' V^-1 b`` for a coefficient block (metafor's ``QE.Wld`` from the saturated fit)."""
    if coef.size == 0:
        return 0.0
    return float(coef @ np.linalg.solve(vcov, coef))


def _dummies(k: int, rows: NDArray[np.intp]) -> FloatArray:
    out = np.zeros((rows.size, k))
    out[np.arange(rows.size), rows] = 1.0
    return out


def _ml_agq(
    d: GroupedData, beta0: FloatArray, alpha0: FloatArray | None, nagq: int
) -> tuple[float, FloatArray, FloatArray | None, float]:
    """ML fit of lme4's AGQ deviance over (tau, beta[, alpha]): tau, beta, alpha, and the
    variance of beta[0] (inverse Hessian of deviance / 2; given tau = 0 at the boundary)."""
    nb = beta0.size
    has_alpha = alpha0 is not None

    def terms(par: FloatArray) -> FloatArray:
        alpha = par[1 + nb:] if has_alpha else None
        return agq_terms(d, par[1:1 + nb], par[0], nagq, alpha) / 2

    start = np.concatenate([[0.5], beta0, alpha0 if alpha0 is not None else []])
    par = newton(terms, start, 1 + nb, has_alpha, "ML")
    par[0] = abs(par[0])
    h = hessian_full(terms, par, 1 + nb, has_alpha, step=1e-3)
    vb = vcov_chol(h[1:, 1:], "ML") if par[0] < 1e-4 else vcov_chol(h, "ML")[1:, 1:]
    alpha = par[1 + nb:] if has_alpha else None
    return float(par[0]), par[1:1 + nb], alpha, float(vb[0, 0])


def _binomial_conditional(data: _Data, measure: str, method: str, nagq: int) -> tuple[_Fit, _Het]:
    """One row per study, random intercept: binomial for CM.AL (OR), CM.EL (IRR) and PLO;
    Poisson with offset ``log t_i`` for IRLN (metafor's ``glm(xi ~ 1, offset = log(ti),
    family = poisson)`` for EE, the saturated fit with a coefficient per study, and
    ``glmer(xi ~ 1 + (1 | study), offset = log(ti), family = poisson, nAGQ = 7)`` for ML)."""
    c = data.cells
    family: Any = "binomial"
    if measure == "OR":
        x, n = c["ai"], c["ai"] + c["ci"]
        off = np.log((c["ai"] + c["bi"]) / (c["ci"] + c["di"]))
    elif measure == "IRR":
        x, n = c["x1i"], c["x1i"] + c["x2i"]
        off = np.log(c["t1i"] / c["t2i"])
    elif measure == "IRLN":
        x, n, off = c["xi"], np.ones(data.k), np.log(c["ti"])
        family = "poisson"
    else:
        x, n, off = c["xi"], c["ni"], np.zeros(data.k)
    k = data.k
    ones = np.ones((k, 1))
    fe = _converged(glm_fit(ones, x, n, off, family))
    if k > 1:
        sat = glm_fit(np.hstack([ones, _dummies(k, np.arange(k))[:, 1:]]), x, n, off, family)
        het = _Het(fe.loglik, sat.loglik, _wald_block(sat.coef[1:], sat.vcov[1:, 1:]))
    else:
        het = _Het(fe.loglik, fe.loglik, math.nan)
    if method in ("EE", "FE"):
        return _Fit(float(fe.coef[0]), float(fe.vcov[0, 0]), ll=fe.loglik, parms=1, p_eff=1,
                    k_eff=k), het
    d = GroupedData(x, n, ones, off, np.ones(k), np.arange(k), k, family)
    tau, beta, _, var = _ml_agq(d, fe.coef, None, nagq)
    ll = conditional_loglik(d, beta, tau)
    return _Fit(float(beta[0]), var, tau**2, ll=ll, parms=2, p_eff=1, k_eff=k), het


def _group(coding: float, k: int) -> FloatArray:
    """metafor's ``group`` of the random-effects structure, two rows per study (group 1,
    group 2): ``+-1/2`` for ``coding=1/2`` (``group12``), ``1, 0`` for ``coding=1``
    (``group1``), ``0, 1`` for ``coding=0`` (``group2``)."""
    pair = {0.5: [0.5, -0.5], 1.0: [1.0, 0.0], 0.0: [0.0, 1.0]}[coding]
    return np.asarray(np.tile(pair, k), dtype=float)


def _um_fs(data: _Data, measure: str, method: str, nagq: int,
           coding: float = 0.5) -> tuple[_Fit, _Het]:
    """Unconditional model with fixed study effects: two rows per study (group 1, group 2);
    the random log ratio enters as ``group_ij u_i`` with ``group`` of :func:`_group`."""
    c, k = data.cells, data.k
    if measure == "OR":
        x = np.ravel(np.column_stack([c["ai"], c["ci"]]))
        n = np.ravel(np.column_stack([c["ai"] + c["bi"], c["ci"] + c["di"]]))
        off = np.zeros(2 * k)
        family: Any = "binomial"
    else:
        x = np.ravel(np.column_stack([c["x1i"], c["x2i"]]))
        n = np.ones(2 * k)
        off = np.log(np.ravel(np.column_stack([c["t1i"], c["t2i"]])))
        family = "poisson"
    group1 = np.tile([1.0, 0.0], k)
    study = np.repeat(np.arange(k), 2)
    S = _dummies(k, study)
    X = np.column_stack([group1, S])
    fe = _converged(glm_fit(X, x, n, off, family))
    if k > 1:
        inter = S[:, :-1] * group1[:, None]  # study:group1, the last one aliased with group1
        sat = glm_fit(np.hstack([X, inter]), x, n, off, family)
        het = _Het(fe.loglik, sat.loglik, _wald_block(sat.coef[k + 1:], sat.vcov[k + 1:, k + 1:]))
    else:
        het = _Het(fe.loglik, fe.loglik, math.nan)
    if method in ("EE", "FE"):
        return _Fit(float(fe.coef[0]), float(fe.vcov[0, 0]), ll=fe.loglik, parms=1 + k,
                    p_eff=1 + k, k_eff=2 * k), het
    d = GroupedData(x, n, group1[:, None], off, _group(coding, k), study, k, family)
    tau, beta, alpha, var = _ml_agq(d, fe.coef[:1], fe.coef[1:], nagq)
    ll = conditional_loglik(d, beta, tau, alpha)
    return _Fit(float(beta[0]), var, tau**2, ll=ll, parms=2 + k, p_eff=1 + k,
                k_eff=2 * k), het


def _rows(c: dict[str, FloatArray], measure: str, k: int) -> tuple[FloatArray, FloatArray,
                                                                    FloatArray, Any]:
    """Counts, trials, offsets and family of the two rows (group 1, group 2) of each study."""
    if measure == "OR":
        x = np.ravel(np.column_stack([c["ai"], c["ci"]]))
        n = np.ravel(np.column_stack([c["ai"] + c["bi"], c["ci"] + c["di"]]))
        return x, n, np.zeros(2 * k), "binomial"
    x = np.ravel(np.column_stack([c["x1i"], c["x2i"]]))
    off = np.log(np.ravel(np.column_stack([c["t1i"], c["t2i"]])))
    return x, np.ones(2 * k), off, "poisson"


def _glmer(terms: Callable[[FloatArray], FloatArray], theta0: FloatArray, beta0: FloatArray,
           alpha0: FloatArray | None, what: str, k: int,
           theta_fix: Callable[[FloatArray], FloatArray] = np.abs,
           bounded: NDArray[np.bool_] | None = None) -> tuple[FloatArray, FloatArray]:
    """Minimise lme4's deviance / 2 (the sum of ``terms``) over ``(theta, beta[, alpha])``;
    the parameters and the inverse Hessian of the fixed effects (``beta`` and ``alpha``), as
    lme4's Hessian-based ``vcov``. ``theta`` is optimised unconstrained (the deviance depends
    on it only through the covariance ``Lambda Lambda'``) and then put in lme4's form by
    ``theta_fix`` (SDs: their absolute values); the entries ``bounded`` (default all: SDs)
    are held at their bound 0 when they end there."""
    nt, nb = theta0.size, beta0.size
    has_alpha = alpha0 is not None
    start = np.concatenate([theta0, beta0, alpha0 if alpha0 is not None else []])
    sd = np.ones(nt, dtype=bool) if bounded is None else bounded
    try:
        par = newton(terms, start, nt + nb, has_alpha, what)
        par[:nt] = theta_fix(par[:nt])
        # steps of 1e-3 (relative): the Laplace and AGQ deviances carry rounding of ~1e-12
        # from the conditional modes, which steps of 1e-4 magnify to ~1e-6 in the SE
        h = hessian_full(terms, par, nt + nb, has_alpha, step=1e-3)
        keep = np.concatenate([~sd | (par[:nt] >= 1e-4), np.ones(par.size - nt, dtype=bool)])
        v = vcov_chol(h[np.ix_(keep, keep)], what)
    except ConvergenceError as err:
        raise ConvergenceError(f"model='UM.RS', {what} fit of k = {k} studies: {err}") from None
    return par, v[-(par.size - nt):, -(par.size - nt):]


def _um_rs_saturated(
    data: _Data, measure: str, x: FloatArray, n: FloatArray, off: FloatArray, family: Any,
    nagq: int, sigma0: float, mu0: float,
) -> tuple[float, float]:
    """The saturated UM.RS fit, one log ratio ``theta_i`` per study (the same model as
    metafor's ``group1 + study:group1``, so the Wald test of equal ``theta_i`` is the same):
    lme4's log likelihood (without the saturated term, added by the caller for nAGQ = 1)
    and the Wald statistic.

    Where group 1 of a study has no events or only events (OR; no events for IRR), its
    ``theta_i`` is at -inf or +inf: the fit is taken at that limit (the group-1 row
    contributes 0 to the deviance, the study nothing to the Wald test, its term tending to
    0). glmer instead stops at a large finite value, where lme4's Hessian is singular and
    ``vcov`` falls back to the conditional (RX) covariance, so metafor's ``QE_Wld`` for
    such data is where its optimiser stopped (metafor's glmmTMB fit gives the limit's)."""
    c, k = data.cells, data.k
    if measure == "OR":
        at_edge = (c["ai"] == 0) | (c["bi"] == 0)
        theta0 = np.log((c["ai"] + 0.5) * (c["di"] + 0.5) / ((c["bi"] + 0.5) * (c["ci"] + 0.5)))
    else:
        at_edge = c["x1i"] == 0
        theta0 = np.log((c["x1i"] + 0.5) / c["t1i"] * c["t2i"] / (c["x2i"] + 0.5))
    theta0 = np.where(at_edge, 0.0, theta0)
    group1 = np.tile([1.0, 0.0], k)
    study = np.repeat(np.arange(k), 2)
    rows = ~(np.repeat(at_edge, 2) & (group1 == 1))
    g1, st = group1[rows], study[rows]
    d = GroupedData(x[rows], n[rows], np.ones((int(rows.sum()), 1)), off[rows],
                    np.ones(int(rows.sum())), st, k, family)
    pinned = at_edge.astype(float)

    def terms(par: FloatArray) -> FloatArray:
        theta = par[2:]
        shifted = GroupedData(d.x, d.n, d.X, d.offset + theta[st] * g1, d.z, st, k, family)
        # a pinned theta_i (at infinity) has no row left; the unit quadratic keeps the
        # Hessian invertible and is 0 at the optimum (theta_i = 0), its block separate
        return agq_terms(shifted, par[1:2], par[0], nagq) / 2 + pinned * theta**2 / 2

    par, v = _glmer(terms, np.array([sigma0]), np.array([mu0]), theta0,
                    "saturated (one log ratio per study)", k)
    ll = -float(np.sum(terms(par)))
    free = ~at_edge
    if free.sum() < 2:
        return ll, 0.0
    th, vth = par[2:][free], v[1:, 1:][np.ix_(free, free)]
    m = th.size
    contrast = np.hstack([np.eye(m - 1), -np.ones((m - 1, 1))])
    diff = contrast @ th
    return ll, float(diff @ np.linalg.solve(contrast @ vth @ contrast.T, diff))


def _lower_tri(theta: FloatArray) -> FloatArray:
    """lme4's ``theta`` of ``(group | study)`` (Lambda's lower triangle by columns: l11, l21,
    l22) as the factor Lambda (2, 2)."""
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def _lower_tri_fix(theta: FloatArray) -> FloatArray:
    """The same covariance ``Lambda Lambda'`` with a non-negative diagonal (a column of
    Lambda and its sign flipped together), as lme4 bounds it."""
    l11, l21, l22 = (float(t) for t in theta)
    if l11 < 0:
        l11, l21 = -l11, -l21
    return np.array([l11, l21, abs(l22)])


def _um_rs(data: _Data, measure: str, method: str, cor: bool = False,
           coding: float = 0.5) -> tuple[_Fit, _Het]:
    """Unconditional model with random study effects (metafor's ``model="UM.RS"``), three
    glmer fits on two rows per study (``group1 = 1, 0``; ``group12 = +-1/2``):

    * the equal-effects fit ``y ~ 0 + group1 + 1 + (1 | study)``: ``logit p_ij = mu + b_i +
      group1_ij beta``, ``b_i ~ N(0, sigma^2)``;
    * the saturated fit ``y ~ 0 + group1 + 1 + study:group1 + (1 | study)`` (one log odds
      ratio per study; the last interaction is aliased), started at the EE fit's sigma;
    * for ML, ``y ~ 0 + group1 + 1 + (group12 || study)``: in addition ``group12_ij u_i``
      (``group12`` is metafor's ``group`` for ``coding=1/2``; ``coding=1``/``0`` put
      ``group1``/``group2`` there, :func:`_group`),
      ``u_i ~ N(0, tau^2)`` independent of ``b_i`` (metafor's ``cor=FALSE``); with ``cor``,
      ``(group12 | study)``: ``(b_i, u_i)`` bivariate normal, ``Cov = Lambda Lambda'`` with
      lme4's lower-triangular ``Lambda`` (``theta = l11, l21, l22``), so ``sigma^2 = l11^2``,
      ``tau^2 = l21^2 + l22^2``, ``rho = l11 l21 / (sigma tau)`` (metafor's ``cor=TRUE``).

    glmer cannot integrate two random effects per study by quadrature, so metafor fits all
    three by the Laplace approximation (``nAGQ = 1``) when ``method="ML"`` and by adaptive
    Gauss-Hermite quadrature with 7 nodes for EE. The log likelihoods are lme4's ``logLik``,
    which with ``nAGQ > 1`` omits the saturated binomial (Poisson) log likelihood (it is
    minus half the deviance relative to the saturated model) and with ``nAGQ = 1`` includes
    it; ``QE_LRT`` compares two fits of the same kind. ``QE_Wld`` tests the saturated fit's
    log odds ratios for equality (``b' V^-1 b`` of the interactions, V from the inverse
    Hessian). metafor's ``rma.glmm`` source (3.8-1), lme4's ``glmer`` (Bates et al. 2015).
    """
    c, k = data.cells, data.k
    if k < 2:
        raise InputError(f"model='UM.RS' estimates the variance of random study effects; "
                         f"k = {k} study is not enough (glmer needs 2 or more)", field="model")
    x, n, off, family = _rows(c, measure, k)
    group1 = np.tile([1.0, 0.0], k)
    group12 = _group(coding, k)
    study = np.repeat(np.arange(k), 2)
    ones = np.ones(2 * k)
    nagq = 1 if method == "ML" else 7
    # start values from the fixed-study-effects glm (UM.FS with EE), else from the control rows
    fe_glm = glm_fit(np.column_stack([group1, _dummies(k, study)]), x, n, off, family)
    if np.all(np.isfinite(fe_glm.coef)):
        beta0, alpha = float(fe_glm.coef[0]), np.clip(fe_glm.coef[1:], -15, 15)
    else:
        xc, nc = x[group1 == 0] + 0.5, n[group1 == 0] + 1.0
        lc = np.log(xc / (nc - xc)) if family == "binomial" else np.log(xc) - off[group1 == 0]
        beta0, alpha = 0.0, lc
    sigma0 = max(float(np.std(alpha)), 0.1)
    d_fe = GroupedData(x, n, np.column_stack([group1, ones]), off, ones, study, k, family)
    sat_ll = saturated_loglik(d_fe) if nagq == 1 else 0.0

    def fe_terms(par: FloatArray) -> FloatArray:
        return agq_terms(d_fe, par[1:], par[0], nagq) / 2

    par_fe, v_fe = _glmer(fe_terms, np.array([sigma0]), np.array([beta0, float(np.mean(alpha))]),
                          None, "equal-effects (random study intercepts)", k)
    ll_fe = sat_ll - float(np.sum(fe_terms(par_fe)))
    sigma = float(par_fe[0])

    try:
        ll_qe, wald = _um_rs_saturated(data, measure, x, n, off, family, nagq, sigma,
                                       float(par_fe[2]))
        ll_qe += sat_ll
    except ConvergenceError as err:
        # as metafor ("Cannot fit saturated model"): the tests for heterogeneity (and the
        # deviance) are missing, the pooled estimate stands
        warnings.warn(f"no tests for heterogeneity: {err}", MetareviewWarning, stacklevel=3)
        ll_qe, wald = math.nan, math.nan
    het = _Het(ll_fe, ll_qe, wald)
    if method in ("EE", "FE"):
        return _Fit(float(par_fe[1]), float(v_fe[0, 0]), sigma2=sigma**2, ll=ll_fe, parms=3,
                    p_eff=2, k_eff=2 * k), het
    d_ml = GroupedData(x, n, d_fe.X, off, np.column_stack([ones, group12]), study, k, family)
    if cor:
        def cor_terms(par: FloatArray) -> FloatArray:
            return laplace_terms(d_ml, par[3:], _lower_tri(par[:3])) / 2

        par_c, v_c = _glmer(cor_terms, np.array([sigma, 0.0, 0.5]), par_fe[1:], None,
                            "ML (correlated random study intercepts and log ratios)", k,
                            theta_fix=_lower_tri_fix, bounded=np.array([True, False, True]))
        l11, l21, l22 = (float(t) for t in par_c[:3])
        s2, t2 = l11**2, l21**2 + l22**2
        rho = l11 * l21 / math.sqrt(s2 * t2) if s2 > 0 and t2 > 0 else math.nan
        ll_c = sat_ll - float(np.sum(cor_terms(par_c)))
        return _Fit(float(par_c[3]), float(v_c[0, 0]), t2, sigma2=s2, ll=ll_c, parms=4,
                    p_eff=2, k_eff=2 * k, rho=rho), het

    def ml_terms(par: FloatArray) -> FloatArray:
        return laplace_terms(d_ml, par[2:], par[:2]) / 2

    par_ml, v_ml = _glmer(ml_terms, np.array([sigma, 0.5]), par_fe[1:], None,
                          "ML (random study intercepts and log ratios)", k)
    ll_ml = sat_ll - float(np.sum(ml_terms(par_ml)))
    return _Fit(float(par_ml[2]), float(v_ml[0, 0]), float(par_ml[1]) ** 2,
                sigma2=float(par_ml[0]) ** 2, ll=ll_ml, parms=4, p_eff=2, k_eff=2 * k), het


def _cm_el_or(data: _Data, method: str) -> tuple[_Fit, _Het]:
    """Exact conditional model for 2x2 tables (non-central hypergeometric likelihood)."""
    c, k = data.cells, data.k
    t = NCHG.from_tables(c["ai"], c["bi"], c["ci"], c["di"])
    # equal-effects fit: Newton on the concave conditional log likelihood
    x, n = c["ai"], c["ai"] + c["ci"]
    off = np.log((c["ai"] + c["bi"]) / (c["ci"] + c["di"]))
    theta = float(glm_fit(np.ones((k, 1)), x, n, off, "binomial").coef[0])
    for _ in range(100):
        _, score, info = nchg_loglik_fixed(t, np.full(k, theta))
        step = float(np.sum(score) / np.sum(info))
        theta += step
        if abs(step) < 1e-13:
            break
    ll_fe, _, info = nchg_loglik_fixed(t, np.full(k, theta))
    fisher = float(np.sum(info))
    if not fisher > 0:
        raise ConvergenceError("the conditional likelihood carries no information (every "
                               "table is at the edge of its support)")
    # saturated fit: each table's conditional MLE (infinite where a is at the edge of its
    # support; such a table contributes log P = 0 to the likelihood and nothing to the Wald test)
    finite = np.array([t.support[i][0] < t.a[i] < t.support[i][-1] for i in range(k)])
    th_i = np.zeros(k)
    for i in map(int, np.flatnonzero(finite)):
        th = theta
        for _ in range(200):
            lp, mean, var = t.moments(i, np.array([th]))
            step = float((t.a[i] - mean[0]) / var[0])
            th += float(np.clip(step, -5, 5))
            if abs(step) < 1e-13:
                break
        th_i[i] = th
    ll_qe = 0.0
    var_i = np.zeros(k)
    for i in map(int, np.flatnonzero(finite)):
        lp, _, var = t.moments(i, np.array([th_i[i]]))
        ll_qe += float(lp[0])
        var_i[i] = var[0]
    wald = _wald_equal(th_i[finite], 1 / var_i[finite]) if finite.sum() > 1 else 0.0
    het = _Het(ll_fe, ll_qe, wald if k > 1 else math.nan)
    if method in ("EE", "FE"):
        return _Fit(theta, 1 / fisher, ll=ll_fe, parms=1, p_eff=1, k_eff=k), het

    def terms(par: FloatArray) -> FloatArray:
        return -nchg_marginal(t, float(par[0]), math.exp(par[1]))

    par = newton(terms, np.array([theta, math.log(0.01)]), 2, False, "ML")
    # (relative steps 1e-3 and 2e-3: at 1e-4 the quadrature's rounding shows in the second
    # differences, 1.3e-6 in the SE for dat.bcg; from 1e-3 to 1e-2 the SEs agree to 1e-8)
    vb = vcov_chol(hessian_full(terms, par, 2, False, step=1e-3), "ML")
    tau2 = math.exp(par[1])
    se_tau2 = math.sqrt(vb[1, 1]) * tau2 if vb[1, 1] >= 0 else math.nan
    return _Fit(float(par[0]), float(vb[0, 0]), tau2, se_tau2, -float(np.sum(terms(par))),
                parms=2, p_eff=1, k_eff=k), het


def _coding(coding: Any) -> float:
    """metafor's ``coding`` check (``is.element(coding, c(1/2, 1, 0))``): 0.5, 1 or 0."""
    ok = (isinstance(coding, int | float | np.integer | np.floating)
          and not isinstance(coding, bool) and float(coding) in (0.5, 1.0, 0.0))
    if not ok:
        raise InputError(f"unknown coding {coding!r}; use 1/2 (0.5, the default: groups coded "
                         "+1/2 and -1/2), 1 (group 1 coded 1, group 2 coded 0) or 0 (group 1 "
                         "coded 0, group 2 coded 1), as metafor's 'coding'", field="coding")
    return float(coding)


def _level(level: float) -> float:
    level = float(level)
    if not 0 < level < 100:
        raise InputError(f"level must be between 0 and 100 (got {level:g})", field="level")
    return level * 100 if level < 1 else level


def rma_glmm(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    xi: Any = None,
    ni: Any = None,
    ti: Any = None,
    data: pd.DataFrame | None = None,
    model: str = "UM.FS",
    method: str = "ML",
    test: str = "z",
    level: float = 95,
    cor: bool = False,
    coding: float = 0.5,
) -> GLMMResult:
    """Meta-analysis by a generalised linear (mixed-effects) model, as metafor's ``rma.glmm``.

    Parameters
    ----------
    measure
        ``"OR"`` (2x2 tables: ``ai``, ``ci`` with ``bi``/``di`` or ``n1i``/``n2i``), ``"IRR"``
        (``x1i``, ``t1i``, ``x2i``, ``t2i``), ``"PLO"`` (``xi`` events of ``ni``) or
        ``"IRLN"`` (``xi`` events over person-time ``ti``; the log incidence rate).
    model
        For OR: ``"UM.FS"`` (default), ``"UM.RS"``, ``"CM.EL"``, ``"CM.AL"``; for IRR:
        ``"UM.FS"``, ``"UM.RS"``, ``"CM.EL"`` (``"CM.AL"`` is the same, exact, model for
        rates). Ignored for PLO and IRLN. ``"UM.RS"`` also estimates ``sigma2``, the variance of the
        random study intercepts.
    method
        ``"ML"`` (tau² by maximum likelihood) or ``"EE"``/``"FE"`` (tau² = 0).
    test, level
        ``"z"`` or ``"t"`` (t and F on ``k - 1`` df); the CI level in percent.
    cor
        ``model="UM.RS"`` with ``method="ML"``: let the random study intercepts and the
        random log ratios be correlated (metafor's ``cor=TRUE``; lme4's ``(group12 |
        study)``), their correlation returned as ``rho``. Ignored otherwise, as metafor
        ignores it (the parameter count stays 4, as metafor counts it).
    coding
        metafor's ``coding`` (3.8.1: used by ``model="UM.FS"`` and ``"UM.RS"`` with
        ``method="ML"``, for OR and IRR): how the group variable of the random effect
        ``group_ij u_i`` is coded. ``1/2`` (``0.5``, the default): ``+1/2`` for group 1 and
        ``-1/2`` for group 2 (contrast coding, invariant to swapping the groups); ``1``:
        group 1 coded 1, group 2 coded 0; ``0``: group 1 coded 0, group 2 coded 1 (neither is
        invariant to swapping the groups; with UM.RS, metafor recommends ``cor=True`` for
        them). EE fits and the CM models, PLO and IRLN have no such random effect, so it
        changes nothing there (as in metafor).

    Returns
    -------
    GLMMResult
        metafor's fields; ``.summary()`` prints as ``print.rma.glmm``.

    The models and their integrals are described in the module docstring (Stijnen, Hamza &
    Ozdemir 2010; Jackson et al. 2018; metafor's ``rma.glmm`` help). ML fits of UM.FS, CM.AL,
    PLO, IRLN and IRR's CM.EL use lme4's adaptive Gauss-Hermite approximation with 7 nodes
    (metafor's ``nAGQ = 7``), so they agree with ``glmer``; CM.EL for OR integrates exactly. UM.RS
    uses 7-node AGQ with EE and, as metafor, the Laplace approximation with ML; there ours is
    the Laplace approximation at the conditional modes, while lme4's log determinant comes
    from the PIRLS step before them (beta, tau² within ~1e-3 of metafor's, the SE ~1%; with
    ``control=list(package="glmmTMB")`` metafor's agree with ours to 2e-5).
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}",
                         field="measure")
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; use one of {', '.join(MODELS)}",
                         field="model")
    if method not in ("ML", "EE", "FE"):
        raise InputError(f"unknown method {method!r}; use ML, EE or FE", field="method")
    if test not in ("z", "t"):
        raise InputError(f"unknown test {test!r}; use z or t", field="test")
    if measure == "IRR" and model == "CM.AL":
        model = "CM.EL"
    code = _coding(coding)
    lev = _level(level)
    given = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i, "x1i": x1i,
             "x2i": x2i, "t1i": t1i, "t2i": t2i, "xi": xi, "ni": ni, "ti": ti}
    dat = _prepare(measure, given, data)
    k = dat.k
    if method == "ML" and k < 2:
        raise InputError(f"method='ML' estimates 2 parameters from k = {k} study; "
                         "use method='EE' or more studies", field="method")
    nagq = 7
    if measure in ("PLO", "IRLN"):
        fit, het = _binomial_conditional(dat, measure, method, nagq)
    elif model == "UM.FS":
        fit, het = _um_fs(dat, measure, method, nagq, code)
    elif model == "UM.RS":
        fit, het = _um_rs(dat, measure, method, cor=bool(cor), coding=code)
    elif measure == "OR" and model == "CM.EL":
        fit, het = _cm_el_or(dat, method)
    else:
        fit, het = _binomial_conditional(dat, measure, method, nagq)
    return _result(measure, model, method, test, lev, dat, fit, het)


def _result(measure: str, model: str, method: str, test: str, level: float, dat: _Data,
            fit: _Fit, het: _Het) -> GLMMResult:
    k = dat.k
    if not (math.isfinite(fit.beta) and fit.var > 0 and math.isfinite(fit.var)):
        raise ConvergenceError("the fit gave no finite estimate with a positive variance")
    se = math.sqrt(fit.var)
    zval = fit.beta / se
    alpha = 1 - level / 100
    ddf: int | None = None
    qm = zval**2
    if test == "t":
        ddf = k - 1
        if ddf < 1:
            raise InputError("test='t' needs at least 2 studies", field="test")
        p = float(2 * stats.t.sf(abs(zval), ddf))
        crit = float(stats.t.isf(alpha / 2, ddf))
        qmp = float(stats.f.sf(qm, 1, ddf))
    else:
        p = float(2 * special.ndtr(-abs(zval)))
        crit = float(-special.ndtri(alpha / 2))
        qmp = float(special.chdtrc(1, qm))
    if k > 1:
        qe_df: int | None = k - 1
        wld = max(het.wald, 0.0)
        lrt = max(-2 * (het.ll_fe - het.ll_qe), 0.0)
        wldp, lrtp = float(special.chdtrc(k - 1, wld)), float(special.chdtrc(k - 1, lrt))
    else:
        qe_df, wld, lrt, wldp, lrtp = None, math.nan, math.nan, math.nan, math.nan
    # metafor's typical within-study variance (i2def "1") from escalc's yi/vi
    w = 1 / dat.vi
    if dat.vi.size > 1:
        vt = float((dat.vi.size - 1) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    else:
        vt = math.nan
    i2 = 100 * fit.tau2 / (vt + fit.tau2)
    h2 = fit.tau2 / vt + 1
    ll = fit.ll
    kk = max(fit.k_eff, fit.parms + 2)
    return GLMMResult(
        measure=measure, model=model, method=method, test=test, level=level, k=k,
        k_eff=fit.k_eff, p_eff=fit.p_eff, parms=fit.parms, beta=fit.beta, se=se, zval=zval,
        pval=p, ci_lb=fit.beta - crit * se, ci_ub=fit.beta + crit * se, tau2=fit.tau2,
        se_tau2=fit.se_tau2, sigma2=fit.sigma2, I2=float(i2), H2=float(h2), QE_Wld=wld,
        QEp_Wld=wldp, QE_LRT=lrt, QEp_LRT=lrtp, QE_df=qe_df, QM=qm, QMp=qmp, ddf=ddf,
        logLik=ll, deviance=-2 * (ll - het.ll_qe), AIC=-2 * ll + 2 * fit.parms,
        BIC=-2 * ll + fit.parms * math.log(fit.k_eff),
        AICc=-2 * ll + 2 * fit.parms * kk / (kk - fit.parms - 1), vt=vt, rho=fit.rho,
    )
