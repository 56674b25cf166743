"""``rma()``: the fixed- and random-effects model of one meta-analysis, as metafor's ``rma.uni``.

>>> from metareview.models import rma
>>> res = rma([-0.89, -1.59, -1.35], [0.33, 0.19, 0.42], method="REML")  # doctest: +SKIP
>>> print(res)                                                             # doctest: +SKIP

The computation is the ``n = 1`` case of the batch core :func:`metareview.models._core.fit_padded`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metareview._json import finite_or_none
from metareview.errors import InputError, MetareviewWarning
from metareview.models._core import (
    BatchFit,
    Control,
    alpha_from_level,
    fit_padded,
    make_control,
    normalise_method,
    normalise_test,
)
from metareview.models._input import (
    Column,
    NaAction,
    clean_yi_vi,
    default_measure,
    effect_columns,
    frame_args,
    study_labels,
)
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
    render_text,
    tau2_fields,
)
from metareview.models.estimators import extra_method

__all__ = ["RMAResult", "rma"]


def _opt(x: float) -> float | None:
    """A float, or None when it is NaN (a quantity that does not apply)."""
    return None if math.isnan(x) else float(x)


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    """A read-only copy of ``a`` (results are frozen)."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RMAResult(Printed):
    """A fitted intercept-only fixed- or random-effects model (metafor's ``rma.uni`` object).

    Attributes use metafor's names: ``beta`` (the pooled estimate; also ``.estimate``), ``se``,
    ``zval`` (a t statistic when ``test`` is "t" or "knha"), ``pval``, ``ci_lb``/``ci_ub``,
    ``ddf`` (degrees of freedom of the t test, else None), ``tau2`` and ``se_tau2``,
    ``tau2_ci_lb``/``tau2_ci_ub`` (Q-profile CI, metafor's ``confint()``; None for EE models,
    k = 1 or a fixed tau^2) with the matching ``I2_ci_*``/``H2_ci_*``, ``QE``/``QEp`` (Cochran's Q
    and its p-value), ``I2`` (percent) and ``H2``, ``vt`` (typical within-study variance),
    ``pi_lb``/``pi_ub`` (prediction interval as metafor's ``predict()``; None for EE models),
    ``yi``, ``vi`` (the data used), ``weights`` (percent), ``slab`` (study labels), ``k``,
    ``measure``, ``method``, ``test`` (as applied: "z" when k = 1) and ``level`` (percent).
    """

    k: int
    measure: str
    method: str
    test: str
    level: float
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    se_tau2: float | None
    tau2_ci_lb: float | None
    tau2_ci_ub: float | None
    I2: float
    H2: float
    QE: float
    QEp: float
    pi_lb: float | None
    pi_ub: float | None
    ddf: int | None
    yi: NDArray[np.float64] = field(repr=False)
    vi: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    slab: tuple[str, ...] = field(repr=False)
    I2_ci_lb: float | None = None
    I2_ci_ub: float | None = None
    H2_ci_lb: float | None = None
    H2_ci_ub: float | None = None
    vt: float = float("nan")
    tau2_fixed: bool = False
    control: Control = field(default_factory=Control, repr=False)
    #: True when the Q-profile upper bound of tau^2 does not exist in double precision;
    #: ``tau2_ci_ub`` is then the search limit (printed "> value").
    tau2_ci_ub_open: bool = False
    #: The user's ``weights`` (metafor's ``x$weights``) of a GENQ/GENQM or weighted fit, else None.
    user_weights: NDArray[np.float64] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ derived values
    @property
    def estimate(self) -> float:
        """The pooled estimate (``beta``) on the model scale."""
        return self.beta

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return math.sqrt(self.tau2)

    # ------------------------------------------------------------------ output
    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The model as metafor prints it (settings, heterogeneity, test, model results), plus the
        Q-profile CIs of tau^2, I^2 and H^2 and the prediction interval."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        """metafor's ``print.rma.uni``, plus the Q-profile CIs and the prediction interval (as
        metafor's ``confint()`` and ``predict()`` print them)."""
        out: list[Block] = [""]
        is_ee = self.method in ("EE", "FE")
        if is_ee:
            name = {"EE": "Equal-Effects Model", "FE": "Fixed-Effects Model"}[self.method]
            out.append(f"{name} (k = {self.k})")
        elif self.tau2_fixed:
            out.append(f"Random-Effects Model (k = {self.k}; user-specified tau^2 value)")
        else:
            out.append(f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})")
        out.append("")
        if not is_ee:
            out.extend(tau2_fields(self.tau2, self.tau, self.se_tau2, digits, (
                "tau^2 (estimated amount of total heterogeneity): ",
                "tau (square root of estimated tau^2 value):      ",
            )))
        if not math.isnan(self.I2):
            out.append(Field(
                "I^2 (total heterogeneity / total variability):   ", f"{num(self.I2, 2)}%"
            ))
        if not math.isnan(self.H2):
            out.append(Field(
                "H^2 (total variability / sampling variability):  ", num(self.H2, 2)
            ))
        out += ["", "Test for Heterogeneity:"]
        out.append(Field(
            f"Q(df = {self.k - 1}) = ",
            f"{num(self.QE, digits)}, p-val {pval(self.QEp, digits, showeq=True)}",
        ))
        out += ["", "Model Results:", ""]
        header = coefficient_header(t_test=self.ddf is not None, signif_stars=signif_stars)
        [row] = coefficient_rows(
            [self.beta], [self.se], [self.zval], [self.pval], [self.ci_lb], [self.ci_ub],
            digits=digits, df=None if self.ddf is None else [f"{self.ddf:g}"],
            signif_stars=signif_stars,
        )
        out.append(Table(header, [row]))
        if signif_stars:
            out.append(SIGNIF_CODES)
        if self.tau2_ci_lb is not None and self.tau2_ci_ub is not None:
            kind = "generalised Q-profile" if self.method in ("GENQ", "GENQM") else "Q-profile"
            out += ["", f"Heterogeneity, {self.level:g}% CI ({kind} method):", ""]
            tau_lb = math.sqrt(self.tau2_ci_lb) if self.tau2_ci_lb >= 0 else math.nan
            tau_ub = math.sqrt(self.tau2_ci_ub) if self.tau2_ci_ub >= 0 else math.nan
            rows: list[list[float | None]] = [
                [self.tau2, self.tau2_ci_lb, self.tau2_ci_ub],
                [self.tau, tau_lb, tau_ub],
                [self.I2, self.I2_ci_lb, self.I2_ci_ub],
                [self.H2, self.H2_ci_lb, self.H2_ci_ub],
            ]
            cells = [[num(x, digits) for x in r] for r in rows]
            if self.tau2_ci_ub_open:
                for r in cells:
                    r[2] = ">" + r[2]
            out.append(Table(
                ["estimate", "ci.lb", "ci.ub"],
                cells,
                row_names=["", "tau^2", "tau", "I^2(%)", "H^2"],
            ))
        if self.pi_lb is not None and self.pi_ub is not None:
            out.append("")
            out.append(Field(
                f"Prediction interval ({self.level:g}%): ",
                f"{num(self.pi_lb, digits)} to {num(self.pi_ub, digits)}",
            ))
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-safe Python values (NaN becomes None, arrays become lists)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            if isinstance(val, np.ndarray):
                out[name] = [finite_or_none(x) for x in val.tolist()]
            elif isinstance(val, tuple):
                out[name] = list(val)
            elif isinstance(val, Control):
                out[name] = {
                    "threshold": val.threshold, "tol": val.tol, "maxiter": val.maxiter,
                }
                if val.tau2_init is not None:
                    out[name]["tau2_init"] = val.tau2_init
            elif isinstance(val, float):
                out[name] = finite_or_none(val)
            else:
                out[name] = val
        out["estimate"] = out["beta"]
        out["tau"] = finite_or_none(self.tau)
        return out

    def predict(self, transf: Callable[[Any], Any] | None = None) -> dict[str, float | None]:
        """Pooled estimate with its CI and the prediction interval, optionally back-transformed.

        Parameters
        ----------
        transf : callable, optional
            Applied to each value for display (e.g. ``numpy.exp`` for log ratios, or a function
            from :mod:`metareview.effects.transforms`); bounds are re-sorted afterwards, as
            metafor's ``predict(res, transf=...)`` does.

        Returns
        -------
        dict
            ``pred``, ``ci_lb``, ``ci_ub``, ``pi_lb``, ``pi_ub`` (the last two None for EE models).
            The PI is ``beta +/- crit sqrt(se^2 + tau2)`` with the critical value of the CI.
        """

        def tr(x: float | None) -> float | None:
            if x is None:
                return None
            return float(transf(x)) if transf is not None else float(x)

        ci = sorted([tr(self.ci_lb), tr(self.ci_ub)], key=_nan_last)
        if self.pi_lb is None or self.pi_ub is None:
            pi: list[float | None] = [None, None]
        else:
            pi = sorted([tr(self.pi_lb), tr(self.pi_ub)], key=_nan_last)
        return {
            "pred": tr(self.beta), "ci_lb": ci[0], "ci_ub": ci[1], "pi_lb": pi[0], "pi_ub": pi[1],
        }


def _nan_last(x: float | None) -> float:
    return math.inf if x is None or math.isnan(x) else x


def rma(
    yi: Column | pd.DataFrame,
    vi: Column | None = None,
    *,
    sei: Column | None = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    measure: str | None = None,
    slab: Column | None = None,
    tau2: float | None = None,
    control: Mapping[str, Any] | Control | None = None,
    na_action: NaAction = "fail",
    weights: Column | None = None,
) -> RMAResult:
    """Fit the fixed- or random-effects model ``y_i = mu + u_i + e_i`` (metafor's ``rma.uni``).

    ``e_i ~ N(0, v_i)`` with known sampling variances and ``u_i ~ N(0, tau^2)`` (``tau^2 = 0`` for
    the equal-effects model). The pooled estimate is ``mu_hat = sum w_i y_i / sum w_i`` with
    ``w_i = 1/(v_i + tau^2)`` and ``SE = 1/sqrt(sum w_i)``.

    Parameters
    ----------
    yi : str, array-like or DataFrame
        Effect sizes, or the name of a column of ``data``. A DataFrame (e.g. the output of
        ``metareview.effects.escalc``) stands for its ``yi`` and ``vi`` columns.
    vi, sei : str or array-like, optional
        Sampling variances, or standard errors (``vi = sei^2``); give one of them.
    data : DataFrame, optional
        Where column names are looked up; its ``attrs["measure"]`` is used when ``measure`` is
        not given.
    method : str
        ``"EE"`` (alias ``"FE"``): equal-effects (common-effect) model; or a tau^2 estimator:
        ``"DL"`` DerSimonian-Laird (1986), ``"REML"`` restricted maximum likelihood and ``"ML"``
        maximum likelihood (Fisher scoring; Viechtbauer 2005), ``"PM"`` Paule-Mandel (1982),
        ``"HS"`` Hunter-Schmidt, ``"SJ"`` Sidik-Jonkman (2005), ``"HE"`` Hedges-Olkin (1985),
        ``"EB"`` empirical Bayes (Morris 1983). Formulas in :mod:`metareview.models._core`.
        Also ``"HSk"`` (Hunter-Schmidt, small-sample corrected), ``"GENQ"`` (generalised method
        of moments; DerSimonian & Kacker 2007), ``"GENQM"`` (its median-unbiased version) and
        ``"PMM"`` (median-unbiased Paule-Mandel): :mod:`metareview.models.estimators`; GENQ and
        GENQM need ``weights``.
    test : {"z", "t", "knha"}
        Test and CI of the pooled estimate: normal; t with k-1 df; or Hartung-Knapp-Sidik-
        Jonkman (Hartung & Knapp 2001; Sidik & Jonkman 2002), t with k-1 df and variance scaled by
        ``sum w_i (y_i - mu_hat)^2 / (k-1)`` (not truncated at 1, as metafor's "knha").
    level : float
        Confidence level in percent (0.95 is read as 95).
    measure : str, optional
        Effect measure of ``yi`` (metafor's names, e.g. "RR"); "GEN" if unknown.
    slab : str or array-like, optional
        Study labels (default "1", "2", ...).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it.
    control : mapping, optional
        ``threshold`` (1e-12), ``tol`` (1e-12), ``maxiter`` (1000); see
        :class:`metareview.models._core.Control`.
    na_action : {"fail", "omit"}
        A missing ``yi``/``vi`` raises InputError ("fail", default) or the row is left out with a
        warning naming it ("omit", metafor's behaviour).
    weights : str or array-like, optional
        User weights ``a_i`` (metafor's ``weights=``): they define GENQ/GENQM's statistic and
        give ``mu_hat = sum a_i y_i / sum a_i`` with ``SE = sqrt(sum a_i^2 (v_i + tau^2)) /
        sum a_i`` (not with ``test="knha"``).

    Returns
    -------
    RMAResult

    Raises
    ------
    InputError
        Text where numbers are expected, lengths that differ, missing values (unless omitted),
        infinite values, or sampling variances <= 0 (the message names the row and column);
        no studies; unknown method/test; a level outside (50, 100).
    ConvergenceError
        When REML/ML/EB Fisher scoring does not converge within ``maxiter`` iterations.

    Notes
    -----
    With ``k = 1`` the model is fitted as metafor does: tau^2 = 0, Q = 0, I^2 = 0, H^2 = 1 and a
    z test (a :class:`~metareview.errors.MetareviewWarning` says so); there is no tau^2 CI.

    Where metareview deliberately differs from metafor 3.8 (values agree to 1e-6 wherever
    metafor returns a result; see tests/models/test_goldens.py):

    - Fisher scoring (REML, ML, EB) stops on a change ``<= threshold * max(tau2, mean(v))``
      rather than an absolute change, so it converges on large outcome scales too.
    - When Fisher scoring oscillates (it can near tau^2 = 0, where metafor stops with "Fisher
      scoring algorithm did not converge"), the same estimating equation is solved by bisection,
      with a :class:`~metareview.errors.ConvergenceWarning`; metafor reaches the same value with
      ``control=list(stepadj=0.5)``.
    - PM searches a bracket that grows until it holds the root (metafor stops if the root lies
      above ``max(100, 10 mad(yi)^2)``). The Q-profile CI of tau^2 likewise widens metafor's
      search interval ``[0, max(100, 10 tau2)]`` until it holds the root, where metafor reports
      the interval's end (">") as the bound; only when no bound exists in double precision is
      ``tau2_ci_ub_open`` set (printed ">").
    - Zero sampling variances and missing values are errors (metafor accepts the former for some
      estimators and drops the latter with a warning: ``na_action="omit"`` does that).
    - metafor's ``test="adhoc"`` is not offered.
    - Knapp-Hartung on effects that are all identical: the scaling factor is 0 and metafor
      reports ``se = 0``, ``zval = Inf``; here the unscaled variance is used (``s2w = 1``, the
      values of ``test="t"``) with a :class:`~metareview.errors.MetareviewWarning`.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48.
    """
    yi, vi, sei, data = frame_args(yi, vi, sei, data)
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    sj_init = str(method).upper() == "SJ" and isinstance(control, Mapping | Control) and (
        make_control(control).tau2_init is not None
    )
    extra = extra_method(method)
    if extra is not None and weights is None and _one_study(yi, vi, sei, data, na_action):
        # k = 1: every estimator gives tau^2 = 0 and metafor keeps the method's name (z test);
        # the regression code would refuse to estimate tau^2 from one study
        one = rma(yi, vi, sei=sei, data=data, method="DL", test="z", level=level,
                  measure=measure, slab=slab, tau2=tau2, control=control, na_action=na_action)
        return dataclasses.replace(one, method=extra)
    if weights is not None or extra is not None or sj_init:
        return _rma_via_reg(
            yi, vi, sei=sei, data=data, method=method, test=test, level=level, measure=measure,
            slab=slab, tau2=tau2, control=control, na_action=na_action, weights=weights,
        )
    method = normalise_method(method)
    test = normalise_test(test)
    alpha_from_level(level)
    ctl = make_control(control)
    measure = default_measure(measure, data)

    y, v, y_field, v_field = effect_columns(yi, vi, sei, data)
    keep = clean_yi_vi(y, v, yi_field=y_field, vi_field=v_field, na_action=na_action)
    labels = study_labels(slab, data, y.size)
    y, v = y[keep], v[keep]
    labels = [lab for lab, kp in zip(labels, keep, strict=True) if kp]
    k = y.size
    if k == 0:
        raise InputError("no studies to pool (k = 0)", field=y_field)
    if k == 1:
        warnings.warn(
            "k = 1: the estimate is that study's (tau^2 = 0, Q = 0, z test), as metafor",
            MetareviewWarning,
            stacklevel=2,
        )
    if method in ("EE", "FE") and test == "knha":
        warnings.warn(
            f"the Knapp-Hartung method is not meant to be used with {method} models",
            MetareviewWarning,
            stacklevel=2,
        )
    fit = fit_padded(
        y[None, :],
        v[None, :],
        np.ones((1, k), dtype=bool),
        method=method,
        test=test,
        level=level,
        tau2=tau2,
        control=ctl,
        labels=[f"{measure} (k = {k})"],
    )
    if not (np.isfinite(fit.beta[0]) and np.isfinite(fit.se[0])):
        span = np.log10(v.max() / v.min())
        raise InputError(
            "the fit is not finite in double precision: the sampling variances span "
            f"{span:.0f} orders of magnitude (one study outweighs the others beyond what "
            "floating point can represent)",
            field=v_field,
        )
    return result_from_batch(
        fit, 0, y=y, v=v, slab=labels, measure=measure, method=method, level=level,
        tau2_fixed=tau2 is not None and method not in ("EE", "FE"), control=ctl,
    )


def _one_study(yi: Any, vi: Any, sei: Any, data: Any, na_action: NaAction) -> bool:
    """True when exactly one study is left to pool (after ``na_action``)."""
    y, v, y_field, v_field = effect_columns(yi, vi, sei, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fit itself warns about omitted rows
        keep = clean_yi_vi(y, v, yi_field=y_field, vi_field=v_field, na_action=na_action)
    return int(np.count_nonzero(keep)) == 1


def _rma_via_reg(yi: Any, vi: Any, *, weights: Any, **kw: Any) -> RMAResult:
    """An intercept-only fit with user weights or an estimator of
    :mod:`metareview.models.estimators`: through the meta-regression code (one fit), as an
    :class:`RMAResult`; the prediction interval is ``beta -/+ crit sqrt(se^2 + tau^2)`` and the
    CIs of tau^2, I^2 and H^2 are :func:`~metareview.models.confint`'s default (generalised
    Q-profile with the fit's weights for GENQ/GENQM, else Q-profile)."""
    from metareview.models.regression import rma_reg

    reg = rma_reg(yi, vi, None, weights=weights, **kw)
    beta, se = float(reg.beta[0]), float(reg.se[0])
    is_ee = reg.method in ("EE", "FE")
    crit = (float(reg.ci_ub[0]) - beta) / se if se > 0 else math.nan
    half = crit * math.sqrt(se**2 + reg.tau2)
    w = 1.0 / (reg.vi + reg.tau2) if reg.user_weights is None else reg.user_weights
    ci: list[float | None] = [None] * 6
    ub_open = False
    if not is_ee and not reg.tau2_fixed and reg.k >= 2:
        from metareview.models.confint import confint

        c = confint(reg)  # Q-profile, or generalised Q-profile for GENQ/GENQM (as metafor)
        tab = c.random.to_numpy(dtype=float)
        ci = [float(tab[r, j]) for r in (0, 2, 3) for j in (1, 2)]
        ub_open = c.ub_sign == ">"
    return RMAResult(
        k=reg.k, measure=reg.measure, method=reg.method, test=reg.test, level=reg.level,
        beta=beta, se=se, zval=float(reg.zval[0]), pval=float(reg.pval[0]),
        ci_lb=float(reg.ci_lb[0]), ci_ub=float(reg.ci_ub[0]), tau2=reg.tau2,
        se_tau2=reg.se_tau2, tau2_ci_lb=ci[0], tau2_ci_ub=ci[1], I2=reg.I2, H2=reg.H2,
        QE=reg.QE, QEp=reg.QEp, pi_lb=None if is_ee else beta - half,
        pi_ub=None if is_ee else beta + half, ddf=reg.ddf, yi=reg.yi, vi=reg.vi,
        weights=_readonly(100.0 * w / w.sum()), slab=reg.slab, vt=reg.vt,
        tau2_fixed=reg.tau2_fixed, control=reg.control, user_weights=reg.user_weights,
        I2_ci_lb=ci[2], I2_ci_ub=ci[3], H2_ci_lb=ci[4], H2_ci_ub=ci[5], tau2_ci_ub_open=ub_open,
    )


def result_from_batch(
    fit: BatchFit,
    i: int,
    *,
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    slab: Sequence[str],
    measure: str,
    method: str,
    level: float,
    tau2_fixed: bool,
    control: Control,
) -> RMAResult:
    """Row ``i`` of a :class:`BatchFit` as an :class:`RMAResult`."""
    k = int(fit.k[i])
    lv = float(level) * 100.0 if float(level) < 1 else float(level)
    ddf = fit.ddf[i]
    return RMAResult(
        k=k,
        measure=measure,
        method=method,
        test=str(fit.test[i]),
        level=lv,
        beta=float(fit.beta[i]),
        se=float(fit.se[i]),
        zval=float(fit.zval[i]),
        pval=float(fit.pval[i]),
        ci_lb=float(fit.ci_lb[i]),
        ci_ub=float(fit.ci_ub[i]),
        tau2=float(fit.tau2[i]),
        se_tau2=_opt(fit.se_tau2[i]),
        tau2_ci_lb=_opt(fit.tau2_ci_lb[i]),
        tau2_ci_ub=_opt(fit.tau2_ci_ub[i]),
        I2=float(fit.I2[i]),
        H2=float(fit.H2[i]),
        QE=float(fit.QE[i]),
        QEp=float(fit.QEp[i]),
        pi_lb=_opt(fit.pi_lb[i]),
        pi_ub=_opt(fit.pi_ub[i]),
        ddf=None if math.isnan(ddf) else int(ddf),
        yi=_readonly(y),
        vi=_readonly(v),
        weights=_readonly(fit.weights[i, :k]),
        slab=tuple(slab),
        I2_ci_lb=_opt(fit.I2_ci_lb[i]),
        I2_ci_ub=_opt(fit.I2_ci_ub[i]),
        H2_ci_lb=_opt(fit.H2_ci_lb[i]),
        H2_ci_ub=_opt(fit.H2_ci_ub[i]),
        vt=float(fit.vt[i]),
        tau2_fixed=tau2_fixed,
        control=control,
        tau2_ci_ub_open=bool(fit.tau2_ci_open[i]) if fit.tau2_ci_open is not None else False,
    )
