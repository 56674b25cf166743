"""Selection models for publication bias, as metafor's ``selmodel.rma.uni``.

A selection model says that a study with one-sided p-value ``p_i`` is published with relative
likelihood ``w(p_i)``; the observed ``y_i`` then has the weighted normal density (Vevea &
Hedges 1995, *Psychometrika* 60, 419-435; Citkowicz & Vevea 2017, *Psychol Methods* 22,
42-58; metafor's ``selmodel`` help)::

    f(y_i) = w(p_i) phi(y_i; mu, v_i + tau^2) / A_i,   A_i = int w(p(y)) phi(y; mu, v_i + tau^2) dy

with ``p(y) = 1 - Phi(y / sqrt(v_i))`` for ``alternative="greater"`` (``Phi(.)`` for "less",
``2 (1 - Phi(|y| / sqrt(v_i)))`` for "two.sided"). ``mu``, ``tau^2`` and the ``delta``
parameters of ``w`` are estimated by maximum likelihood. The selection functions (``p1 =
steps[0]``, 0 unless given; ``w = 1`` for ``p <= p1``; Preston, Ashby & Smyth 2004, *J Eval
Clin Pract* 10, 313-322, for the exponential family):

* ``beta``: ``w = p^(delta1 - 1) (1 - p)^(delta2 - 1)`` (p clamped to [1e-5, 1 - 1e-5]);
* ``halfnorm``: ``exp(-delta p^2) / exp(-delta p1^2)``; ``negexp``: ``exp(-delta p) /
  exp(-delta p1)``; ``logistic``: ``2 exp(-delta p) / (1 + exp(-delta p))`` over its value at
  ``p1``; ``power``: ``(1 - p)^delta / (1 - p1)^delta`` (p clamped to [1e-5, 1 - 1e-5]);
* ``negexppow`` (negative-exponential-power; metafor's ``selmodel`` help, after Begg &
  Mazumdar 1994, *Biometrics* 50, 1088-1101, reparametrised so that a larger ``delta2`` is
  more severe selection): ``w = exp(-delta1 p^(1/delta2)) / exp(-delta1 p1^(1/delta2))``,
  ``delta1, delta2 >= 0``; ``delta2 = 0.5`` is ``halfnorm``, ``delta2 = 1`` is ``negexp``,
  and ``delta1 = 0`` or ``delta2 = 0`` is no selection (``zval_delta`` tests both against 0);
* ``halfnorm2``, ``negexp2``, ``logistic2``, ``power2`` (metafor 3.8.1's ``selmodel.rma.uni``,
  not in its help): the one-parameter function ``g`` of the same name with ``delta2`` in
  place of ``delta``, lifted by a floor ``delta1``: ``w = (delta1 + g(p) / g(p1)) / (1 +
  delta1)``, ``delta1, delta2 >= 0`` (start ``(1, 0.25)`` as metafor), so that selection
  never falls below ``delta1 / (1 + delta1)``; ``delta2 = 0`` is no selection, and
  ``delta1 -> inf`` too (``zval_delta`` tests both against 0); ``prec`` multiplies
  ``delta2``; no p-value clamp (also for ``power2``), and ``1 - p`` of the power types is
  taken from the other normal tail, ``Phi(-z)`` for "less" (metafor forms ``1 - p``, which
  is 0 from ``z`` of about 8.3 where ``(1 - p)^delta2`` of a small ``delta2`` is not: the
  likelihood then jumps and the fit can stop anywhere; on dat.molloy2014 ~ meanage,
  "less", metafor's power2 stops at ``ll = 10.6265``, ours reaches ``10.9293``);
* ``stepfun``: ``w = delta_j`` for ``steps[j-1] < p <= steps[j]``, ``delta_1 = 1`` (the
  three-parameter selection model, 3PSM, for ``steps=0.025``); ``A_i`` in closed form from
  normal CDFs.

Each ``delta`` lies in metafor's bounds ([1e-5, 100] for beta, [0, 100] otherwise; metafor's
``control`` ``delta.min``/``delta.max``, here ``control={"delta_min": ..., "delta_max": ...}``,
maps the optimiser's ``x`` to ``lo + (hi - lo) / (1 + exp(-x))``, or to ``min(max(exp(x), lo),
hi)`` when a ``delta_max`` is infinite, as metafor's ``.mapfun``). Standard
errors come from the inverse Hessian of the log likelihood in ``(beta, tau^2, delta)``;
``zval_delta`` tests ``delta = 1`` (beta, stepfun) or ``delta = 0`` (the others); ``LRT``
compares the fit with the model without selection (the ML fit of ``rma``) on as many df as
``delta`` parameters are estimated; ``LRT_tau2`` tests ``tau^2 = 0`` within the selection
model. A REML (or other) ``rma`` fit is refitted by ML first, as metafor does.

Fixed deltas (metafor's ``delta`` argument and its ``selmodel`` help): a delta given
a value ``c_j`` is held there, and the likelihood above is maximised over ``(beta, tau^2)`` and
the remaining deltas only, ``w(p) = w(p; delta_free, delta_fixed = c)``. The LRT then compares
with the model without selection on as many df as deltas are free (none when all are fixed:
``LRT`` is still ``-2 (ll0 - ll)``, its p-value NaN, as metafor's ``NA``), the fixed deltas have
no SE, and ``AIC``/``BIC`` count only the free ones. Fixing every step weight of ``stepfun`` a
priori is the sensitivity analysis of Vevea & Woods (2005, *Psychol Methods* 10, 428-443): the
estimates of ``mu`` and ``tau^2`` under moderate or severe one- or two-tailed selection patterns
(their Table 1, reproduced in metafor's ``selmodel`` help for dat.cohen1981).

With a measure of (im)precision ``prec_i`` (metafor's ``prec``: ``sqrt(v_i)``, ``v_i``,
``1/n_i`` or ``1/sqrt(n_i)``, divided by its maximum unless ``scaleprec=False``), the selection
depends on precision as well as on the p-value (Preston, Ashby & Smyth 2004; metafor's
``selmodel`` help): halfnorm, negexp, logistic and power take ``delta prec_i`` in place of
``delta`` (e.g. ``w = exp(-delta prec_i p^2) / exp(-delta prec_i p1^2)``), in the numerator and
in each ``A_i``; stepfun takes metafor's experimental ``w = delta_j / prec_i`` beyond the first
interval (weight 1 there); beta ignores it.

The likelihood of a selection model can have more than one maximum, and the fit (as metafor's:
BFGS from the same start, then Newton steps) finds the one its start leads to. On
dat.hackshaw1998, two-sided ``negexppow`` from metafor's start ``delta = (1, 1)`` stops at
``ll = -9.7723`` (``delta = (0.612, 0.618)``), metafor's BFGS too; from ``control={"delta_init":
[1.5, 0.08]}`` (or with metafor's bobyqa) both reach ``ll = -9.5546`` (``delta = (1.548,
0.0819)``, ``mu = 0.2053``). Refit from other starts (``delta_init``) before trusting a fit.

For a meta-regression (an ``rma_reg`` result) ``mu`` is each study's ``x_i' beta``; as metafor,
the fit runs in rescaled coefficients (non-dummy moderators centred and divided by their SD)
and ``Var(beta) = mX Var(beta_scaled) mX'`` is reported; ``QM`` is the Wald test of the
coefficients ``btt`` (all but the intercept), on ``len(btt)`` df.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, special

from metareview._json import finite_or_none, jsonable
from metareview.errors import ConvergenceError, ConvergenceWarning, InputError, MetareviewWarning
from metareview.models._optim import hessian_full, newton
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Field,
    Printable,
    Printed,
    Table,
    coefficient_header,
    coefficient_rows,
    moderators_test,
    num,
    pval,
    render_text,
    stars,
    tau2_fields,
)

if TYPE_CHECKING:
    from metareview.models.regression import RegResult
    from metareview.models.rma import RMAResult

__all__ = ["SelmodelRegResult", "SelmodelResult", "selmodel"]

FloatArray = NDArray[np.float64]
#: ``selmodel(delta=...)``: one value (recycled) or one per delta; None or NaN = estimated
DeltaArg = float | None | Sequence[float | None]
#: the two-parameter variants: ``(delta1 + g(p)/g(p1)) / (1 + delta1)`` of the one-parameter g
TWO_PARAM = ("halfnorm2", "negexp2", "logistic2", "power2")
TYPES = ("beta", "halfnorm", "negexp", "logistic", "power", "negexppow", *TWO_PARAM, "stepfun")
ALTERNATIVES = ("greater", "less", "two.sided")
PRECS = ("sei", "vi", "ninv", "sqrtninv")
_PVAL_MIN = {"beta": 1e-5, "power": 1e-5}
_H0 = {"beta": 1.0, "stepfun": 1.0}
#: metafor's ``control`` settings of selmodel that change results (Python names: "." -> "_")
CONTROLS = ("delta_min", "delta_max", "delta_init", "tau2_max", "pval_min", "htransf",
            "beta_fix", "tau2_fix", "delta_fix")


@dataclass(frozen=True, eq=False)
class _SelmodelBase(Printed):
    """The fields every selection model has (metafor's names; ``se.delta`` is ``se_delta``):
    ``tau2`` with its SE and CI, the ``delta`` estimates (for ``stepfun`` the first is fixed at
    1 and has no SE), ``ptable`` (the number of p-values in each interval of ``steps``), ``LRT``
    on ``LRTdf`` df for selection, ``LRT_tau2`` for ``tau^2 = 0``, ``ll``/``ll0`` the log
    likelihoods with and without selection, ``QM``/``QMp`` the Wald test of the coefficients
    (the intercept of an intercept-only model), metafor's ``fit.stats`` (``logLik``,
    ``deviance``, ``AIC``, ``BIC``, ``AICc``). ``delta_fix`` (metafor's ``delta.fix``) marks
    each delta held at a given value (stepfun's first; those given in ``selmodel(delta=...)``):
    its ``se_delta``, ``zval_delta``, ``pval_delta`` and CI are NaN (metafor's NA, printed
    ``---``), and ``LRTdf`` counts only the others (``LRTp`` is NaN when none is free)."""

    type: str
    alternative: str
    method: str
    k: int
    level: float
    tau2: float
    se_tau2: float
    ci_lb_tau2: float
    ci_ub_tau2: float
    delta: tuple[float, ...]
    se_delta: tuple[float, ...]
    zval_delta: tuple[float, ...]
    pval_delta: tuple[float, ...]
    ci_lb_delta: tuple[float, ...]
    ci_ub_delta: tuple[float, ...]
    steps: tuple[float, ...]
    ptable: tuple[int, ...] | None
    LRT: float
    LRTdf: int
    LRTp: float
    LRT_tau2: float
    LRTp_tau2: float
    ll: float
    ll0: float
    QM: float
    QMp: float
    logLik: float
    deviance: float
    AIC: float
    BIC: float
    AICc: float
    delta_fix: tuple[bool, ...]

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The text metafor's ``print()`` shows for a selection model."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    @property
    def _int_only(self) -> bool:
        return True

    def _model_blocks(self, digits: int, signif_stars: bool) -> list[Block]:
        raise NotImplementedError

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        """metafor's ``print.rma.uni`` for ``rma.uni.selmodel`` objects: the model, tau^2 and
        the LRT for heterogeneity, (the test of moderators,) the coefficients, the LRT for
        selection and the selection parameters."""
        ee = self.method in ("EE", "FE")
        io = self._int_only
        if ee:
            head = (f"Equal-Effects Model (k = {self.k})" if io else
                    f"Fixed-Effects with Moderators Model (k = {self.k})")
        else:
            head = (f"Random-Effects Model (k = {self.k}; tau^2 estimator: ML)" if io else
                    f"Mixed-Effects Model (k = {self.k}; tau^2 estimator: ML)")
        out: list[Block] = ["", head, ""]
        if not ee:
            se_t2 = None if math.isnan(self.se_tau2) else self.se_tau2
            labels = (("tau^2 (estimated amount of total heterogeneity): ",
                       "tau (square root of estimated tau^2 value):      ") if io else
                      ("tau^2 (estimated amount of residual heterogeneity):     ",
                       "tau (square root of estimated tau^2 value):             "))
            out += tau2_fields(self.tau2, math.sqrt(self.tau2), se_t2, digits, labels)
            out.append("")
            if not math.isnan(self.LRT_tau2):
                out.append("Test for Heterogeneity:" if io else "Test for Residual Heterogeneity:")
                out.append(Field("LRT(df = 1) = ", f"{num(self.LRT_tau2, digits)}, p-val "
                                 f"{pval(self.LRTp_tau2, digits, True)}"))
                out.append("")
        out += self._model_blocks(digits, signif_stars)
        out.append("Test for Selection Model Parameters:")
        out.append(Field(f"LRT(df = {self.LRTdf}) = ",
                         f"{num(self.LRT, digits)}, p-val {pval(self.LRTp, digits, True)}"))
        out += ["", "Selection Model Results:", ""]
        dheader = ["k", "estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
        with_k = self.ptable is not None and self.type == "stepfun"
        if not with_k:
            dheader = dheader[1:]
        drows = []
        names = []
        for j, d in enumerate(self.delta):
            fixed = self.delta_fix[j]
            cells: list[str | None] = [str(self.ptable[j])] if with_k and self.ptable else []
            if fixed:
                cells += [num(d, digits), "---", "---", "---", "---", "---"]
            else:
                cells += [num(d, digits), num(self.se_delta[j], digits),
                          num(self.zval_delta[j], digits), pval(self.pval_delta[j], digits),
                          num(self.ci_lb_delta[j], digits), num(self.ci_ub_delta[j], digits)]
            if signif_stars:  # R's symnum(): "" for a fixed delta's NA, " " above 0.1
                pdj = self.pval_delta[j]  # NA without an SE (control htransf, delta_fix)
                cells.append("" if fixed or math.isnan(pdj) else (stars(pdj) or " "))
            drows.append(cells)
            names.append(self._delta_name(j) + " ")  # R's print.gap = 2 after row names
        if signif_stars:
            dheader.append("")
        if self.type == "stepfun" or len(self.delta) > 1:
            out.append(Table(dheader, drows, row_names=[" ", *names], end=" "))
        else:
            out.append(Table(dheader, drows, end=" "))
        if signif_stars:
            out.append(SIGNIF_CODES)
        out.append("")
        return Printable(out)

    def _delta_name(self, j: int) -> str:
        if self.type != "stepfun":
            return "delta" if len(self.delta) == 1 else f"delta.{j + 1}"
        left = [f"{s:g}" for s in (0.0, *self.steps[:-1])]
        width = max(len(x) for x in left)
        return f"{left[j].ljust(width)} < p <= {self.steps[j]:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN and inf become None; tuples and arrays become lists)."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if isinstance(value, np.ndarray):
                out[key] = jsonable(np.where(np.isfinite(value), value, np.nan))
            elif isinstance(value, tuple):
                out[key] = [finite_or_none(v) if isinstance(v, float) else v for v in value]
            elif isinstance(value, float):
                out[key] = finite_or_none(value)
            else:
                out[key] = value
        return out


@dataclass(frozen=True, eq=False)
class SelmodelResult(_SelmodelBase):
    """Result of :func:`selmodel` for an ``rma`` fit, with metafor's field names.

    ``beta`` (with ``se``, ``zval``, ``pval``, ``ci_lb``, ``ci_ub``) and ``tau2`` are the
    estimates adjusted for selection; the other fields are described in the base class:
    ``delta`` with ``se_delta``, ``zval_delta``, ``pval_delta``, ``ci_lb_delta``,
    ``ci_ub_delta``; ``ptable``; ``LRT``, ``LRTdf``, ``LRTp``; ``LRT_tau2``; ``ll``, ``ll0``;
    ``QM`` (``zval^2``); ``logLik``, ``deviance``, ``AIC``, ``BIC``, ``AICc``.
    """

    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float

    def _model_blocks(self, digits: int, signif_stars: bool) -> list[Block]:
        out: list[Block] = ["Model Results:", ""]
        header = ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
        row = [num(self.beta, digits), num(self.se, digits), num(self.zval, digits),
               pval(self.pval, digits), num(self.ci_lb, digits), num(self.ci_ub, digits)]
        if signif_stars:
            header.append("")
            # R's symnum() gives " " above 0.1, "" for NA (no SE: control beta_fix)
            row.append("" if math.isnan(self.pval) else stars(self.pval) or " ")
        return [*out, Table(header, [row], end=" "), ""]


@dataclass(frozen=True, eq=False)
class SelmodelRegResult(_SelmodelBase):
    """Result of :func:`selmodel` for an ``rma_reg`` fit (metafor's ``selmodel`` of an
    ``rma.uni`` model with moderators).

    Per coefficient (arrays in the order of ``coef_names``): ``beta``, ``se``, ``zval``,
    ``pval``, ``ci_lb``, ``ci_ub``, adjusted for selection, and ``vb`` their covariance matrix;
    ``tau2`` is the residual heterogeneity; ``QM``/``QMp`` the Wald test of the coefficients
    ``btt`` (0-based) on ``QMdf`` df (always chi-square: metafor's selection models use z
    tests). The other fields as :class:`SelmodelResult`.
    """

    p: int
    coef_names: tuple[str, ...]
    beta: NDArray[np.float64] = field(repr=False)
    se: NDArray[np.float64] = field(repr=False)
    zval: NDArray[np.float64] = field(repr=False)
    pval: NDArray[np.float64] = field(repr=False)
    ci_lb: NDArray[np.float64] = field(repr=False)
    ci_ub: NDArray[np.float64] = field(repr=False)
    vb: NDArray[np.float64] = field(repr=False)
    btt: tuple[int, ...]
    QMdf: int

    @property
    def _int_only(self) -> bool:
        return self.p == 1

    @property
    def coefficients(self) -> pd.DataFrame:
        """The coefficient table (index ``coef_names``): estimate, se, zval, pval, ci_lb,
        ci_ub."""
        return pd.DataFrame({"estimate": self.beta, "se": self.se, "zval": self.zval,
                             "pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub},
                            index=pd.Index(self.coef_names, name="coef"))

    def _model_blocks(self, digits: int, signif_stars: bool) -> list[Block]:
        out: list[Block] = []
        if self.p > 1 and not math.isnan(self.QM):
            out += moderators_test(self.btt, self.QM, self.QMp, (self.QMdf, None),
                                   f_test=False, digits=digits)
        out += ["Model Results:", ""]
        header = coefficient_header(t_test=False, signif_stars=signif_stars)
        rows = coefficient_rows(self.beta, self.se, self.zval, self.pval, self.ci_lb,
                                self.ci_ub, digits=digits, signif_stars=signif_stars,
                                no_star=" ")
        if signif_stars:  # R's symnum() gives "" for an NA p-value (control beta_fix)
            for row, pv in zip(rows, self.pval, strict=True):
                if math.isnan(pv):
                    row[-1] = ""
        # R's print(data.frame, print.gap = 2) after the row names; symnum's " " above 0.1
        names = [" ", *(f"{n} " for n in self.coef_names)]
        out += [Table(header, rows, row_names=names, end=" " if signif_stars else ""), ""]
        return out


# --- selection functions -----------------------------------------------------------------------


def _pvalues(z: FloatArray, alternative: str, complement: bool = False) -> FloatArray:
    """One- or two-sided p-values of the standardised effects ``z = y / sqrt(v)`` (metafor's
    ``.selmodel.pval``); ``complement`` gives ``1 - p`` without cancellation (``p`` rounds
    to 1 from ``|z|`` of about 8.3, where ``(1 - p)^delta`` of the power types is still far
    from 0 for a small delta)."""
    if alternative == "two.sided":
        a = np.abs(z)
        return np.asarray(special.erf(a / math.sqrt(2)) if complement else 2 * special.ndtr(-a))
    sign = -1.0 if alternative == "greater" else 1.0
    return np.asarray(special.ndtr(-sign * z if complement else sign * z))


def _log_w(
    type_: str, p: FloatArray, delta: FloatArray, p1: float, preci: FloatArray | float = 1.0,
    q: FloatArray | None = None,
) -> FloatArray:
    """log of the selection function ``w(p)`` of a continuous type (1 for ``p <= p1``);
    ``preci`` multiplies delta (metafor's ``prec``; not used by beta); ``q`` is ``1 - p``
    computed without cancellation, for the power types (``1 - p`` where not given)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if type_ == "beta":
            return np.asarray((delta[0] - 1) * np.log(p) + (delta[1] - 1) * np.log1p(-p))
        if type_ in TWO_PARAM:
            # log((delta1 + g / g(p1)) / (1 + delta1)), g the one-parameter type at delta2
            lg = _log_w(type_[:-1], p, np.asarray(delta[1:2]), p1, preci, q)
            return np.asarray(np.logaddexp(np.log(delta[0]), lg) - np.log1p(delta[0]))
        d = delta[0] * preci
        if type_ == "halfnorm":
            lw = -d * (p**2 - p1**2)
        elif type_ == "negexp":
            lw = -d * (p - p1)
        elif type_ == "negexppow":
            e = 1 / delta[1]
            lw = -d * (p**e - p1**e)
        elif type_ == "logistic":
            lw = (math.log(2) - d * p - np.logaddexp(0, -d * p)) - (
                math.log(2) - d * p1 - np.logaddexp(0, -d * p1))
        else:  # power; (1 - p)^0 = 1 also at p = 1 (R's 0^0), not 0 * -inf
            lq = np.log1p(-p) if q is None else np.log(q)
            lw = np.where(d == 0, 0.0, d * (lq - math.log1p(-p1)))
        return np.asarray(np.where(p <= p1, 0.0, lw))


# Gauss-Legendre panels for the normalising integrals, in z = (y - mu) / sqrt(v + tau2):
# +-20 holds all the mass for w >= exp(-100) (halfnorm, negexp, logistic) and for beta
# (log w <= 23); power reaches w = 1e-500 at its clamp, so it integrates over +-50.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_Z_MAX = {"power": 50.0, "power2": 50.0}


def _panels(breaks: FloatArray, z_max: float) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights (k, n) on [-z_max, z_max] for each study: panels of width <= 1
    split at that study's ``breaks`` (k, m); every study gets the same number of panels (a
    break outside the range gives an empty panel)."""
    base = np.arange(-z_max, z_max + 1e-9, 1.0)
    inner = np.clip(breaks, -z_max, z_max)
    edges = np.sort(np.concatenate([np.broadcast_to(base, (breaks.shape[0], base.size)), inner],
                                   axis=1), axis=1)
    a, b = edges[:, :-1], edges[:, 1:]
    half = (b - a) / 2
    nodes = ((a + b) / 2)[:, :, None] + half[:, :, None] * _GL_X[None, None, :]
    weights = half[:, :, None] * _GL_W[None, None, :]
    k = breaks.shape[0]
    return nodes.reshape(k, -1), weights.reshape(k, -1)


def _kinks(alternative: str, p_cuts: Sequence[float]) -> list[float]:
    """Standardised effects ``y / sqrt(v)`` where a selection function has a kink: where the
    p-value crosses each value of ``p_cuts``."""
    out: list[float] = []
    for c in p_cuts:
        if not 0 < c < 1:
            continue
        if alternative == "greater":
            out.append(float(-special.ndtri(c)))
        elif alternative == "less":
            out.append(float(special.ndtri(c)))
        else:
            q = float(-special.ndtri(c / 2))
            out += [q, -q]
    if alternative == "two.sided":
        out.append(0.0)
    return out


@dataclass(frozen=True)
class _Setup:
    type: str
    alternative: str
    yi: FloatArray
    vi: FloatArray
    steps: FloatArray
    pgrp: NDArray[np.intp] | None
    pval_min: float
    n_delta: int
    delta_fixed: tuple[float | None, ...]
    delta_min: FloatArray
    delta_max: FloatArray
    #: the model matrix (k, p) of a meta-regression; None for an intercept-only model
    X: FloatArray | None = None
    #: metafor's ``preci`` (``prec`` rescaled by its maximum); None for ``prec`` not given
    preci: FloatArray | None = None
    #: metafor's ``control`` ``tau2.max``: tau^2 is clamped there in the likelihood
    tau2_max: float = math.inf
    #: the start of each delta (metafor's ``delta.init``; 1 unless given)
    delta_init: FloatArray | None = None
    #: delta = min(max(exp(x), delta_min), delta_max) in place of the logistic map (metafor's
    #: map when a ``delta.max`` is infinite)
    expmap: bool = False

    @cached_property
    def observed_pq(self) -> tuple[FloatArray, FloatArray | None]:
        """The studies' own p-values and complements (:func:`_clipped_pq`), once per fit."""
        return _clipped_pq(self, self.yi / np.sqrt(self.vi))


def _log_a_stepfun(s: _Setup, mu: FloatArray, tau2: float, delta: FloatArray) -> FloatArray:
    """log A_i of the step function model in closed form (metafor's ``.selmodel.ll.stepfun``):
    the probability of each p-value interval under ``N(mu, v_i + tau2)`` times its delta."""
    sd = np.sqrt(s.vi + tau2)
    sv = np.sqrt(s.vi)
    cuts = np.concatenate([[0.0], s.steps])
    total = np.zeros(s.yi.size)
    # the first interval enters with weight 1 whatever delta[0] is (metafor 3.8.1's
    # .selmodel.ll.stepfun: delta[0] only appears in the numerator's log w); with ``prec``
    # the others are delta_j / preci_i
    preci = 1.0 if s.preci is None else s.preci
    weights = [np.ones(1), *(delta[j] / np.atleast_1d(preci) for j in range(1, s.steps.size))]
    for j in range(s.steps.size):
        lo, hi = cuts[j], cuts[j + 1]
        if s.alternative == "two.sided":
            # |y| / sqrt(v) between the two quantiles
            qa = -special.ndtri(lo / 2) if lo > 0 else np.inf
            qb = -special.ndtri(hi / 2) if hi < 1 else 0.0
            up = special.ndtr((qa * sv - mu) / sd) - special.ndtr((qb * sv - mu) / sd)
            dn = special.ndtr((-qb * sv - mu) / sd) - special.ndtr((-qa * sv - mu) / sd)
            prob = up + dn
        else:
            qa = -special.ndtri(lo) if lo > 0 else np.inf
            qb = -special.ndtri(hi) if hi < 1 else -np.inf
            if s.alternative == "greater":
                prob = special.ndtr((qa * sv - mu) / sd) - special.ndtr((qb * sv - mu) / sd)
            else:
                prob = special.ndtr((-qb * sv - mu) / sd) - special.ndtr((-qa * sv - mu) / sd)
        total += weights[j] * prob
    return np.asarray(np.log(total))


def _clipped_pq(s: _Setup, z: FloatArray) -> tuple[FloatArray, FloatArray | None]:
    """The p-values of ``z`` clamped to ``[pval_min, 1 - pval_min]`` and, for the power
    types, their complements ``1 - p`` (clamped alike) without cancellation."""
    p = np.clip(_pvalues(z, s.alternative), s.pval_min, 1 - s.pval_min)
    if s.type not in ("power", "power2"):
        return p, None
    q = np.clip(_pvalues(z, s.alternative, complement=True), s.pval_min, 1 - s.pval_min)
    return p, q


def _log_a_cont(s: _Setup, mu: FloatArray, tau2: float, delta: FloatArray) -> FloatArray:
    """log A_i of a continuous selection function by composite Gauss-Legendre quadrature,
    with panel edges at the kinks of ``w`` (the p-value clamps and ``steps[0]``); ``mu`` is
    each study's mean (k,)."""
    mu = np.asarray(mu, dtype=float)[:, None]
    sd = np.sqrt(s.vi + tau2)[:, None]
    sv = np.sqrt(s.vi)[:, None]
    cuts = [s.pval_min, 1 - s.pval_min] if s.pval_min > 0 else []
    cuts.append(float(s.steps[0]))
    kinks = np.asarray(_kinks(s.alternative, cuts))[None, :]
    nodes, weights = _panels((kinks * sv - mu) / sd, _Z_MAX.get(s.type, 20.0))
    y = mu + sd * nodes
    p, q = _clipped_pq(s, y / sv)
    lw = _log_w(s.type, p, delta, float(s.steps[0]), 1.0 if s.preci is None else s.preci[:, None],
                q)
    expo = lw - nodes**2 / 2
    top = np.max(expo, axis=1, keepdims=True)
    out = np.log(np.sum(weights * np.exp(expo - top), axis=1)) + top[:, 0]
    return np.asarray(out - 0.5 * math.log(2 * math.pi))


def _loglik_terms(s: _Setup, mu: Any, tau2: float, delta: FloatArray) -> FloatArray:
    """Each study's log likelihood under the selection model; ``mu`` is the mean of every
    study (a number) or of each (``X beta``, shape (k,))."""
    tau2 = 0.0 if tau2 < 2.220446049250313e-15 else min(tau2, s.tau2_max)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), s.yi.shape)
    sd = np.sqrt(s.vi + tau2)
    ldens = -0.5 * np.log(2 * math.pi) - np.log(sd) - (s.yi - mu) ** 2 / (2 * sd**2)
    if s.type == "stepfun":
        assert s.pgrp is not None
        lw = np.log(delta[s.pgrp] if s.preci is None else delta[s.pgrp] / s.preci)
        la = _log_a_stepfun(s, mu, tau2, delta)
    else:
        p, q = s.observed_pq
        lw = _log_w(s.type, p, delta, float(s.steps[0]), 1.0 if s.preci is None else s.preci,
                    q)
        la = _log_a_cont(s, mu, tau2, delta)
    return np.asarray(lw + ldens - la)


# --- fitting -------------------------------------------------------------------------------------


def _map(x: FloatArray, lo: FloatArray, hi: FloatArray, expmap: bool = False) -> FloatArray:
    """metafor's ``.mapfun``: a real number to (lo, hi) by the logistic function, or (when a
    bound is infinite, ``expmap``) ``min(max(exp(x), lo), hi)``."""
    if expmap:
        return np.asarray(np.minimum(np.maximum(np.exp(x), lo), hi))
    return np.asarray(lo + (hi - lo) * special.expit(x))


def _unmap(d: FloatArray, lo: FloatArray, hi: FloatArray, expmap: bool = False) -> FloatArray:
    """metafor's ``.mapinvfun``: the inverse of :func:`_map` (``log`` for ``expmap``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log(d) if expmap else np.log((d - lo) / (hi - d)))


def _map_slope(d: FloatArray, lo: FloatArray, hi: FloatArray, expmap: bool) -> FloatArray:
    """d delta / d x of :func:`_map` at ``delta = d``: ``(d - lo)(hi - d)/(hi - lo)`` for the
    logistic map, ``d`` for the exponential one."""
    if expmap:
        return np.asarray(d, dtype=float)
    return np.asarray((d - lo) * (hi - d) / (hi - lo))


def _mean(s: _Setup, beta: FloatArray) -> Any:
    """Each study's mean: ``X beta`` (a meta-regression) or the one ``beta``."""
    return float(beta[0]) if s.X is None else s.X @ beta


def _fit(
    s: _Setup, beta0: FloatArray, tau20: float | None
) -> tuple[FloatArray, float, FloatArray, float]:
    """ML estimates (beta, tau2, delta) and the maximised log likelihood, from ``beta0``;
    ``tau20=None`` keeps tau^2 fixed at 0."""
    free = [j for j, f in enumerate(s.delta_fixed) if f is None]
    lo, hi = s.delta_min[free], s.delta_max[free]
    p = beta0.size
    t = 1 if tau20 is not None else 0

    def unpack(par: FloatArray) -> tuple[FloatArray, float, FloatArray]:
        tau2 = math.exp(par[p]) if tau20 is not None else 0.0
        delta = np.array([1.0 if f is None else f for f in s.delta_fixed])
        delta[free] = _map(par[p + t:], lo, hi, s.expmap)
        return par[:p], tau2, delta

    def terms(par: FloatArray) -> FloatArray:
        beta, tau2, delta = unpack(par)
        return -_loglik_terms(s, _mean(s, beta), tau2, delta)

    start = [*beta0] + ([math.log(tau20 + 0.001)] if tau20 is not None else [])
    init = np.ones(s.n_delta) if s.delta_init is None else s.delta_init
    start += list(_unmap(init[free], lo, hi, s.expmap))
    # quasi-Newton first (as metafor's optim(method = "BFGS")): a Newton step from the start
    # can head for a saddle of this likelihood; then Newton steps to full precision
    first = optimize.minimize(lambda x: float(np.sum(terms(x))), np.array(start),
                              method="BFGS", options={"gtol": 1e-7, "maxiter": 1000})
    x0 = first.x if np.all(np.isfinite(first.x)) else np.array(start)
    par = newton(terms, x0, len(start), False, "selection model")
    beta, tau2, delta = unpack(par)
    if tau2 < 2.220446049250313e-15:
        tau2 = 0.0
    return beta.copy(), min(tau2, s.tau2_max), delta, -float(np.sum(terms(par)))


def _ml_refit(
    yi: FloatArray, vi: FloatArray, X: FloatArray, method: str, tau2: float
) -> tuple[FloatArray, float]:
    """The input model as an ML fit (beta, tau2): EE as given, otherwise refitted by ML
    (metafor's ``rma.uni(..., method = "ML")`` of the same model matrix)."""
    if method in ("EE", "FE") or method == "ML":
        t2 = 0.0 if method in ("EE", "FE") else tau2
        w = 1 / (vi + t2)
        xw = X * w[:, None]
        return np.asarray(np.linalg.solve(X.T @ xw, xw.T @ yi), dtype=float), t2
    if X.shape[1] == 1:
        from metareview.models.rma import rma

        fit = rma(yi, vi, method="ML")
        return np.array([float(fit.beta)]), float(fit.tau2)
    from metareview.models.regression import rma_reg

    reg = rma_reg(yi, vi, mods=X[:, 1:], method="ML")
    return np.asarray(reg.beta, dtype=float), float(reg.tau2)


def _scaling(X: FloatArray) -> FloatArray:
    """metafor's rescaling of the model matrix for the fit (``selmodel``'s ``scaleX``):
    each column that is not a 0/1 dummy is centred and divided by its SD; returns ``mX``
    with ``X_scaled = X mX``, so that ``X beta = X_scaled beta_scaled`` for
    ``beta = mX beta_scaled``."""
    p = X.shape[1]
    mX = np.eye(p)
    for j in range(1, p):
        col = X[:, j]
        if np.all((col == 0) | (col == 1)):
            continue
        mean, sd = float(np.mean(col)), float(np.std(col, ddof=1))
        if sd > 0:
            mX[0, j] = -mean / sd
            mX[j, j] = 1 / sd
    return mX


@overload
def selmodel(
    result: RMAResult, type: str, *, steps: float | Sequence[float] | None = ...,
    alternative: str = ..., delta: DeltaArg = ..., prec: str | None = ...,
    ni: Sequence[float] | NDArray[Any] | None = ..., scaleprec: bool = ...,
    control: Mapping[str, Any] | None = ...,
) -> SelmodelResult: ...


@overload
def selmodel(
    result: RegResult, type: str, *, steps: float | Sequence[float] | None = ...,
    alternative: str = ..., delta: DeltaArg = ..., prec: str | None = ...,
    ni: Sequence[float] | NDArray[Any] | None = ..., scaleprec: bool = ...,
    control: Mapping[str, Any] | None = ...,
) -> SelmodelRegResult: ...


@overload
def selmodel(
    result: Any, type: str, *, steps: float | Sequence[float] | None = ...,
    alternative: str = ..., delta: DeltaArg = ..., prec: str | None = ...,
    ni: Sequence[float] | NDArray[Any] | None = ..., scaleprec: bool = ...,
    control: Mapping[str, Any] | None = ...,
) -> SelmodelResult | SelmodelRegResult: ...


def selmodel(
    result: Any,
    type: str,
    *,
    steps: float | Sequence[float] | None = None,
    alternative: str = "greater",
    delta: DeltaArg = None,
    prec: str | None = None,
    ni: Sequence[float] | NDArray[Any] | None = None,
    scaleprec: bool = True,
    control: Mapping[str, Any] | None = None,
) -> SelmodelResult | SelmodelRegResult:
    """Fit a selection model to an ``rma`` or ``rma_reg`` result (metafor's
    ``selmodel.rma.uni``).

    Parameters
    ----------
    result
        An :class:`~metareview.models.RMAResult` or a meta-regression
        :class:`~metareview.models.RegResult`; a REML (or other) fit is refitted by ML, an
        equal-effects fit keeps tau² = 0. With moderators, each study's mean is ``x_i' beta``
        in the likelihood of the module docstring (metafor's selmodel of an ``rma.uni`` fit
        with ``mods``).
    type
        ``"beta"``, ``"halfnorm"``, ``"negexp"``, ``"logistic"``, ``"power"``,
        ``"negexppow"``, ``"halfnorm2"``, ``"negexp2"``, ``"logistic2"``, ``"power2"``
        (two-parameter variants in metafor 3.8.1, not in its help) or ``"stepfun"`` (the
        formulas are in the module docstring).
        metafor 3.8.1 has no ``"trunc"``/``"truncest"`` types and no ``decreasing`` option
        for stepfun (both came with later metafor versions).
    steps
        For ``stepfun`` the p-value cut points (1 is added as the last); ``steps=0.025`` is
        the three-parameter selection model. For halfnorm/negexp/logistic/power one value
        ``p1`` below which ``w = 1``.
    alternative
        ``"greater"`` (default), ``"less"`` or ``"two.sided"``: the p-values the selection
        acts on.
    delta
        metafor's ``delta``: values at which to fix the selection parameters instead of
        estimating them, one per delta (2 for beta, negexppow and the ``*2`` types, 1 for
        halfnorm/negexp/logistic/power,
        ``len(steps)`` for stepfun; a single value is recycled to all); ``None`` (or NaN,
        R's ``NA``) leaves that delta estimated. The likelihood is then maximised over
        ``(beta, tau^2)`` and the free deltas only, the fixed ones entering ``w(p)`` as
        given; their ``se_delta``/``zval_delta``/``pval_delta``/CI are NaN and ``LRT`` is on
        as many df as deltas are free (no df, ``LRTp`` NaN, when all are fixed). Fixing all
        the step weights is the sensitivity analysis of Vevea & Woods (2005, *Psychol
        Methods* 10, 428-443): ``selmodel(res, "stepfun", steps=[.005, .01, .05, .10, .25,
        .35, .50, .65, 1], delta=[1, .99, .95, .90, .80, .75, .65, .60, .55])`` gives the
        estimates under that a priori selection pattern (metafor's ``selmodel`` help).
        Bounds as metafor: > 0 for beta, >= 0 otherwise. For stepfun, an interval with no
        observed p-value is allowed when its delta is fixed; a delta given for the first
        interval enters ``A_i`` as 1, as in metafor (so it shifts ``ll`` by
        ``k_1 log delta_1`` and leaves the estimates alone). A delta fixed at its lower bound
        (0: e.g. ``halfnorm`` with ``delta=0``, no selection; a step weight of 0 for an
        interval without p-values) is fitted here, with metafor's bound warning; metafor
        3.8.1 stops there ("Error during the optimization": its start value maps such a
        delta to -Inf).
    prec
        metafor's ``prec``: a measure of (im)precision ``prec_i`` that scales delta in the
        selection functions of Preston, Ashby & Smyth (2004) as generalised in metafor's
        ``selmodel`` help: ``halfnorm`` ``exp(-delta prec_i p^2)``, ``negexp``
        ``exp(-delta prec_i p)``, ``logistic`` ``2 exp(-delta prec_i p) / (1 + exp(-delta
        prec_i p))``, ``power`` ``(1 - p)^(delta prec_i)`` (each over its value at ``p1``):
        ``"sei"`` (``sqrt(v_i)``, Preston et al.'s choice), ``"vi"``, ``"ninv"`` (``1/n_i``)
        or ``"sqrtninv"`` (``1/sqrt(n_i)``). Ignored, with metafor's warning, by ``beta``; for
        ``stepfun`` metafor's undocumented, experimental ``w = delta_j / prec_i`` (with its
        warning).
    ni
        The sample sizes, for ``prec="ninv"``/``"sqrtninv"`` (metafor reads them from the
        model object, ``rma(..., ni = )``; ours does not store them).
    scaleprec
        metafor's ``scaleprec``: ``prec_i / max(prec_i)`` (default ``True``; the fit is the
        same up to the scale of delta, and more stable).
    control
        metafor's ``control`` settings that change results (its names with ``_`` for
        ``.``; 3.8.1 has no ``tau2.min``, ``beta.min``/``beta.max``): ``delta_min`` and
        ``delta_max`` (one value, recycled, or one per delta; defaults [1e-5, 100] for beta,
        [0, 100] otherwise; checked as metafor: > 0 for beta, >= 0 otherwise, ``delta_max
        >= delta_min``; ``inf`` allowed for ``delta_max``), ``delta_init`` (the start, 1;
        (1, 0.25) for the ``*2`` types; it must lie strictly inside the bounds, where
        metafor's optimiser otherwise stops),
        ``tau2_max`` (tau^2 clamped at it in the likelihood, ``min(tau^2, tau2_max)``; it
        must exceed the ML tau^2 of the input), ``pval_min`` (p-values clamped to
        ``[pval_min, 1 - pval_min]``; 1e-5 for beta and power, 0 otherwise), ``htransf``
        (the Hessian in the optimiser's parameters, log tau^2 and ``x = mapinv(delta)``: the
        CIs become ``exp(log tau^2 -+ z SE)`` and ``map(x -+ z SE(x))``, and the SEs, z and p
        of tau^2 and delta NaN, metafor's NA; at the optimum that Hessian's inverse is the
        delta-method transform of the untransformed one, which is what is computed) and
        ``beta_fix``/``tau2_fix``/``delta_fix`` (those parameters held at their estimates
        in the Hessian: the others' covariance is the inverse of the Hessian's submatrix,
        the held ones' SEs NaN). A bound that binds is reached exactly here; metafor's optim
        approaches it on the logistic map only asymptotically and stops short (by 1.6e-5 in
        delta and 5.7e-5 in ll for ``delta_max=[100, 0.4, 0.1]`` on dat.hackshaw1998's
        stepfun model, ``scripts/goldens/selmodel_more.R``).

    Returns
    -------
    SelmodelResult or SelmodelRegResult
        Estimates adjusted for selection, the ``delta`` estimates with SE and CI, and the
        likelihood-ratio test for selection (Vevea & Hedges 1995; Citkowicz & Vevea 2017);
        a :class:`SelmodelRegResult` (coefficient arrays, ``QM`` of the coefficients ``btt``
        on ``len(btt)`` df) for an ``rma_reg`` result.
    """
    from metareview.models.regression import RegResult
    from metareview.models.rma import RMAResult

    if not isinstance(result, RMAResult | RegResult):
        raise InputError("selmodel() takes the result of rma() or rma_reg()", field="result")
    reg_res = result if isinstance(result, RegResult) else None
    reg = reg_res is not None
    type_ = str(type)
    if type_ not in TYPES:
        raise InputError(f"unknown selection model type {type_!r}; use one of "
                         f"{', '.join(TYPES)}", field="type")
    if alternative not in ALTERNATIVES:
        raise InputError(f"unknown alternative {alternative!r}; use one of "
                         f"{', '.join(ALTERNATIVES)}", field="alternative")
    if result.tau2_fixed:
        raise InputError("selmodel() needs tau^2 estimated (or 0 for an equal-effects fit), "
                         "not a user-specified tau^2", field="result")
    yi = np.asarray(result.yi, dtype=float)
    vi = np.asarray(result.vi, dtype=float)
    if not np.all(vi > 0):
        raise InputError("selmodel() needs positive sampling variances", field="vi")
    k = yi.size
    ee = result.method in ("EE", "FE")
    preci = _preci(prec, vi, ni, k, scaleprec)
    if preci is not None and type_ == "beta":
        warnings.warn("Argument 'prec' ignored (not applicable to this type of selection "
                      "model).", MetareviewWarning, stacklevel=2)
        preci = None
    elif preci is not None and type_ == "stepfun":
        warnings.warn("Adding a precision measure to this selection model is undocumented "
                      "and experimental.", MetareviewWarning, stacklevel=2)
    steps_arr = _steps(type_, steps)
    pvals = _pvalues(yi / np.sqrt(vi), alternative)
    n_delta = (steps_arr.size if type_ == "stepfun" else
               2 if type_ in ("beta", "negexppow", *TWO_PARAM) else 1)
    fixed = _delta_arg(delta, n_delta, type_)
    ctl = _sel_control(control, type_, n_delta)
    pval_min = ctl.pval_min
    pvals_c = np.clip(pvals, pval_min, 1 - pval_min)
    pgrp: NDArray[np.intp] | None = None
    ptable: tuple[int, ...] | None = None
    dmin, dmax = ctl.delta_min, ctl.delta_max
    if type_ == "stepfun":
        pgrp = np.searchsorted(steps_arr, pvals_c, side="left").astype(np.intp)
        counts = np.bincount(pgrp, minlength=steps_arr.size)
        ptable = tuple(int(c) for c in counts)
        # metafor stops only for an empty interval whose delta is estimated
        empty = [j + 1 for j in range(n_delta) if counts[j] == 0 and fixed[j] is None]
        if empty:
            raise InputError(
                "one or more intervals of 'steps' contain no observed p-value (intervals "
                f"{', '.join(map(str, empty))}); choose other steps", field="steps")
        zero = [j + 1 for j in range(n_delta) if counts[j] > 0 and fixed[j] == 0]
        if zero:
            raise InputError(
                f"'delta' fixes the weight of interval(s) {', '.join(map(str, zero))} at 0, "
                "but they hold observed p-values (the likelihood is 0)", field="delta")
    elif type_ != "beta" and steps_arr.size == 2:
        pgrp_tmp = np.searchsorted(steps_arr, pvals_c, side="left")
        ptable = tuple(int(c) for c in np.bincount(pgrp_tmp, minlength=2))
    n_free = sum(f is None for f in fixed)
    parms = (reg_res.p if reg_res is not None else 1) + (0 if ee else 1) + n_free
    if k < parms:
        raise InputError(f"the selection model has {parms} parameters but only k = {k} "
                         "studies", field="result")
    X = np.asarray(reg_res.X, dtype=float) if reg_res is not None else np.ones((k, 1))
    n_beta = X.shape[1]
    mX = _scaling(X)
    free = [j for j, f in enumerate(fixed) if f is None]
    lo_f, hi_f, init_f = dmin[free], dmax[free], ctl.delta_init[free]
    inside = (init_f > lo_f) & (init_f < hi_f) if not ctl.expmap else init_f > 0
    if not np.all(inside):
        # metafor's start log((init - min)/(max - init)) is then not finite and optim stops
        raise InputError("the start value of each estimated delta (1, or (1, 0.25) for the *2 "
                         "types, unless control 'delta_init' is given) must lie strictly "
                         "between 'delta_min' and 'delta_max'; give control={'delta_init': "
                         "...}", field="control")
    s = _Setup(type_, alternative, yi, vi, steps_arr, pgrp, pval_min, n_delta, fixed,
               dmin, dmax, X @ mX if reg else None, preci, tau2_max=ctl.tau2_max,
               delta_init=ctl.delta_init, expmap=ctl.expmap)
    beta0, tau20 = _ml_refit(yi, vi, X, result.method, result.tau2)
    if not ee and tau20 >= ctl.tau2_max:
        raise InputError("Value of 'tau2.max' must be > tau^2 value (that of the input model "
                         f"refitted by ML, {tau20:g}).", field="control")
    w0 = 1 / (vi + tau20)
    ll0 = float(np.sum(-0.5 * np.log(2 * math.pi) + 0.5 * np.log(w0)
                       - w0 * (yi - X @ beta0) ** 2 / 2))
    # fitted in the rescaled coefficients (as metafor), reported in the original ones
    bs, tau2, dhat, ll = _fit(s, np.asarray(np.linalg.solve(mX, beta0), dtype=float),
                              None if ee else tau20)
    if not (math.isfinite(ll) and np.all(np.isfinite(bs)) and math.isfinite(tau2)):
        raise ConvergenceError(f"the {type_} selection model did not converge (log likelihood "
                               f"{ll:g}); check the data, 'delta' and the control bounds")
    # metafor's check covers fixed deltas too, after moving a bound beyond a fixed value to
    # that value -+ eps^0.2 (so a delta fixed at or outside [delta.min, delta.max] warns)
    eps02 = 2.220446049250313e-16 ** 0.2
    lo_chk = np.array([d - eps02 if f is not None and m > d else m
                       for f, d, m in zip(fixed, dhat, dmin, strict=True)])
    hi_chk = np.array([d + eps02 if f is not None and m < d else m
                       for f, d, m in zip(fixed, dhat, dmax, strict=True)])
    at_bound = [j + 1 for j in range(n_delta) if (
        dhat[j] <= lo_chk[j] + 1.220703125e-04 or dhat[j] >= hi_chk[j] - 100 * 1.220703125e-04)]
    if at_bound:
        warnings.warn(
            f"delta estimate(s) {', '.join(map(str, at_bound))} at (or next to) their bound "
            f"[{dmin[0]:g}, {dmax[0]:g}]; treat the results with caution (as metafor warns)",
            ConvergenceWarning, stacklevel=2)
    # Hessian of -ll in (beta, tau2, free deltas), untransformed, as metafor's numDeriv call
    # (in the rescaled coefficients: Var(beta) = mX Var(beta_scaled) mX')
    off = n_beta + (0 if ee else 1)

    def terms(par: FloatArray) -> FloatArray:
        d = dhat.copy()
        d[free] = par[off:]
        return -_loglik_terms(s, _mean(s, par[:n_beta]), 0.0 if ee else float(par[n_beta]), d)

    point = np.array([*bs, *([] if ee else [tau2]), *dhat[free]])
    # metafor's control beta.fix / tau2.fix / delta.fix: those parameters are held at their
    # estimates in the Hessian, i.e. the covariance of the others is the inverse of the
    # Hessian's submatrix of the rest (the conditional one); the held ones get no SE
    hest = np.array([not ctl.beta_fix] * n_beta + ([] if ee else [not ctl.tau2_fix])
                    + [not ctl.delta_fix] * len(free), dtype=bool)
    cov = np.full((point.size, point.size), math.nan)
    if hest.any():
        # (O(h^6) Richardson from relative steps 2e-4, 4e-4, 8e-4: with O(h^4) from 1e-4
        # the quadrature's rounding shows in the second differences, ~1e-6 in an SE)
        full = hessian_full(terms, point, point.size, False, step=2e-4, levels=3)
        if not np.all(np.isfinite(full[np.ix_(hest, hest)])):
            # a delta at its bound where the likelihood is not defined beyond it (the floor
            # delta_1 = 0 of the *2 types: log delta_1): held at the bound for the SEs
            span = np.minimum(dmax, 1e3) - dmin
            edge = [j for j in free if min(dhat[j] - dmin[j], dmax[j] - dhat[j])
                    <= 1e-6 * span[j]]
            for j in edge:
                hest[off + free.index(j)] = False
            if edge:
                warnings.warn(
                    f"delta estimate(s) {', '.join(str(j + 1) for j in edge)} on their bound: "
                    "held there for the standard errors (no SE for them; the others are "
                    "conditional on that value)", ConvergenceWarning, stacklevel=2)
        hess = full[np.ix_(hest, hest)]
        if not np.all(np.isfinite(hess)):
            raise ConvergenceError("the Hessian of the selection model is not finite at the "
                                   "estimates; its standard errors cannot be computed")
        # a parameter the likelihood does not depend on (delta_1 of a *2 type at delta_2 =
        # 0): its curvature is rounding, which may even pass the Cholesky factorisation
        scale = np.maximum(np.abs(point[hest]), 1.0)
        if np.any(np.abs(np.diag(hess)) * scale**2 < 1e-6):
            raise ConvergenceError("the log likelihood of the selection model is flat in a "
                                   "parameter at the estimates; the model is not identified "
                                   "by these data")
        try:
            chol_inv = np.linalg.inv(np.linalg.cholesky(hess))
        except np.linalg.LinAlgError:
            raise ConvergenceError("cannot invert the Hessian of the selection model (not "
                                   "positive definite); the model is not identified by these "
                                   "data") from None
        cov[np.ix_(hest, hest)] = chol_inv.T @ chol_inv
    crit = float(-special.ndtri((1 - result.level / 100) / 2))
    beta = mX @ bs
    vb = mX @ cov[:n_beta, :n_beta] @ mX.T
    se_b = np.sqrt(np.diag(vb))
    se_tau2 = math.nan if ee else math.sqrt(cov[n_beta, n_beta])
    se_d = np.full(n_delta, math.nan)
    se_d[free] = np.sqrt(np.diag(cov)[off:])
    h0 = _H0.get(type_, 0.0)
    if ee:
        ci_t2 = (math.nan, math.nan)
    elif ctl.htransf:
        # metafor's control htransf: the Hessian in the optimiser's parameters, log tau^2 and
        # x = mapinv(delta); at the optimum its inverse is that of (beta, tau^2, delta) by
        # the delta method, SE(log tau^2) = SE(tau^2) / tau^2 and SE(x) = SE(delta) /
        # (d delta / d x). CIs are back-transformed, exp(log tau^2 -+ z SE) and
        # map(x -+ z SE(x)); SEs, z and p of tau^2 and delta are NA, as in metafor
        se_lt = se_tau2 / tau2 if tau2 > 0 else math.nan
        lt = math.log(tau2) if tau2 > 0 else math.nan
        ci_t2 = (math.exp(lt - crit * se_lt), math.exp(lt + crit * se_lt))
        se_tau2 = math.nan
        xd = _unmap(dhat, dmin, dmax, ctl.expmap)
        se_x = se_d / _map_slope(dhat, dmin, dmax, ctl.expmap)
        with np.errstate(invalid="ignore"):
            lb_d = np.maximum(_map(xd - crit * se_x, dmin, dmax, ctl.expmap), 0.0)
            ub_d = _map(xd + crit * se_x, dmin, dmax, ctl.expmap)
        lb_d[np.isnan(se_x)] = math.nan
        ub_d[np.isnan(se_x)] = math.nan
        se_d = np.full(n_delta, math.nan)
        zd = np.full(n_delta, math.nan)
        pd = np.full(n_delta, math.nan)
    else:
        ci_t2 = (max(tau2 - crit * se_tau2, 0.0), tau2 + crit * se_tau2)
    if not ctl.htransf:
        zd = (dhat - h0) / se_d
        pd = 2 * special.ndtr(-np.abs(zd))
        lb_d = np.maximum(dhat - crit * se_d, 0.0)
        ub_d = dhat + crit * se_d
    lrt_tau2 = lrtp_tau2 = math.nan
    if not ee:
        _, _, _, ll_t0 = _fit(s, bs, None)
        lrt_tau2 = max(0.0, -2 * (ll_t0 - ll))
        lrtp_tau2 = float(special.chdtrc(1, lrt_tau2))
    lrt = max(0.0, -2 * (ll0 - ll))
    zval = beta / se_b
    btt = tuple(reg_res.btt) if reg_res is not None else (0,)
    bt = np.asarray(btt)
    vbt = vb[np.ix_(bt, bt)]
    qm = (float(beta[bt] @ np.linalg.solve(vbt, beta[bt])) if np.all(np.isfinite(vbt))
          else math.nan)
    kk = max(k, parms + 2)
    common: dict[str, Any] = dict(
        type=type_, alternative=alternative, method="EE" if ee else "ML", k=k,
        level=result.level, tau2=tau2, se_tau2=se_tau2,
        ci_lb_tau2=ci_t2[0], ci_ub_tau2=ci_t2[1],
        delta=_tup(dhat), se_delta=_tup(se_d), zval_delta=_tup(zd), pval_delta=_tup(pd),
        ci_lb_delta=_tup(lb_d), ci_ub_delta=_tup(ub_d), steps=_tup(steps_arr), ptable=ptable,
        LRT=lrt, LRTdf=n_free, LRTp=float(special.chdtrc(n_free, lrt)) if n_free else math.nan,
        LRT_tau2=lrt_tau2,
        LRTp_tau2=lrtp_tau2, ll=ll, ll0=ll0, QM=qm, QMp=float(special.chdtrc(bt.size, qm)),
        logLik=ll, deviance=-2 * ll, AIC=-2 * ll + 2 * parms, BIC=-2 * ll + parms * math.log(k),
        AICc=-2 * ll + 2 * parms * kk / (kk - parms - 1),
        delta_fix=tuple(f is not None for f in fixed),
    )
    pv = 2 * special.ndtr(-np.abs(zval))
    if not reg:
        return SelmodelResult(
            **common, beta=float(beta[0]), se=float(se_b[0]), zval=float(zval[0]),
            pval=float(pv[0]), ci_lb=float(beta[0] - crit * se_b[0]),
            ci_ub=float(beta[0] + crit * se_b[0]),
        )
    assert reg_res is not None
    ro = _readonly
    return SelmodelRegResult(
        **common, p=n_beta, coef_names=tuple(reg_res.coef_names), beta=ro(beta), se=ro(se_b),
        zval=ro(zval), pval=ro(pv), ci_lb=ro(beta - crit * se_b), ci_ub=ro(beta + crit * se_b),
        vb=ro(vb), btt=btt, QMdf=int(bt.size),
    )


def _readonly(x: FloatArray) -> FloatArray:
    out = np.array(x, dtype=float)
    out.flags.writeable = False
    return out


def _tup(x: FloatArray) -> tuple[float, ...]:
    return tuple(float(v) for v in x)


@dataclass(frozen=True)
class _SelControl:
    """metafor's selmodel ``control`` settings that change results (see :func:`selmodel`)."""

    delta_min: FloatArray
    delta_max: FloatArray
    delta_init: FloatArray
    tau2_max: float
    pval_min: float
    htransf: bool
    beta_fix: bool
    tau2_fix: bool
    delta_fix: bool
    expmap: bool


def _per_delta(value: Any, n_delta: int, name: str) -> FloatArray:
    """A control value given once (recycled) or once per delta, as metafor; no NaN."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise InputError(f"control {name!r} must be numbers", field="control") from None
    if arr.size == 1:
        arr = np.full(n_delta, arr[0])
    if arr.size != n_delta:
        raise InputError(f"control {name!r} should be of length {n_delta} for this type of "
                         "selection model (as metafor's)", field="control")
    if np.isnan(arr).any():
        raise InputError(f"no missing values allowed in control {name!r}", field="control")
    return np.asarray(arr, dtype=float)


def _sel_control(
    control: Mapping[str, Any] | None, type_: str, n_delta: int
) -> _SelControl:
    """metafor's ``control`` of ``selmodel.rma.uni`` (snake_case names): the bounds
    ``delta_min``/``delta_max`` (defaults [1e-5, 100] for beta, [0, 100] otherwise; each
    checked against the type's natural bounds, > 0 for beta, >= 0 otherwise, and
    ``delta_max >= delta_min``), ``delta_init`` (1), ``tau2_max`` (inf; must exceed the
    ML tau^2 of the input model), ``pval_min`` (1e-5 for beta and power, 0 otherwise),
    ``htransf`` and ``beta_fix``/``tau2_fix``/``delta_fix`` (False)."""
    ctl = dict(control or {})
    if control is not None and not isinstance(control, Mapping):
        raise InputError("control must be a mapping such as {'delta_max': 10}", field="control")
    unknown = set(ctl) - set(CONTROLS)
    if unknown:
        raise InputError(f"unknown control setting(s) {sorted(unknown)}; use "
                         f"{', '.join(CONTROLS)}", field="control")
    excl = type_ == "beta"  # beta's deltas must be > 0, the others' >= 0
    lo_nat = "> 0" if excl else ">= 0"

    def check(arr: FloatArray, name: str) -> None:
        bad = (arr <= 0) if excl else (arr < 0)
        if bad.any():
            j = int(np.argmax(bad)) + 1
            raise InputError(f"Value of '{name.replace('_', '.')}[{j}]' must be {lo_nat} for "
                             "this type of selection model.", field="control")

    dmin = np.full(n_delta, 1e-5 if type_ == "beta" else 0.0)
    dmax = np.full(n_delta, 100.0)
    if ctl.get("delta_min") is not None:
        dmin = _per_delta(ctl["delta_min"], n_delta, "delta_min")
        check(dmin, "delta_min")
    if ctl.get("delta_max") is not None:
        dmax = _per_delta(ctl["delta_max"], n_delta, "delta_max")
        check(dmax, "delta_max")
    if np.any(dmax < dmin):
        raise InputError("Value(s) of 'delta.max' must be >= value(s) of 'delta.min'.",
                         field="control")
    if np.isinf(dmin).any():
        raise InputError("control 'delta_min' must be finite", field="control")
    init = np.array([1.0, 0.25]) if type_ in TWO_PARAM else np.ones(n_delta)
    if ctl.get("delta_init") is not None:
        init = _per_delta(ctl["delta_init"], n_delta, "delta_init")
        check(init, "delta_init")
    tau2_max = math.inf
    if ctl.get("tau2_max") is not None:
        try:
            tau2_max = float(ctl["tau2_max"])
        except (TypeError, ValueError):
            raise InputError("control 'tau2_max' must be a number", field="control") from None
        if not tau2_max > 0:
            raise InputError("control 'tau2_max' must be > 0", field="control")
    pval_min = _PVAL_MIN.get(type_, 0.0)
    if ctl.get("pval_min") is not None:
        try:
            pval_min = float(ctl["pval_min"])
        except (TypeError, ValueError):
            raise InputError("control 'pval_min' must be a number", field="control") from None
        if not 0 <= pval_min < 0.5:
            raise InputError("control 'pval_min' must be in [0, 0.5)", field="control")
    flags = {}
    for name in ("htransf", "beta_fix", "tau2_fix", "delta_fix"):
        v = ctl.get(name, False)
        if not isinstance(v, bool | np.bool_):
            raise InputError(f"control {name!r} must be True or False", field="control")
        flags[name] = bool(v)
    return _SelControl(delta_min=dmin, delta_max=dmax, delta_init=init, tau2_max=tau2_max,
                       pval_min=pval_min, expmap=bool(np.isinf(dmax).any()), **flags)


def _preci(
    prec: str | None, vi: FloatArray, ni: Sequence[float] | NDArray[Any] | None, k: int,
    scaleprec: bool,
) -> FloatArray | None:
    """metafor's ``preci``: ``sqrt(v_i)``, ``v_i``, ``1/n_i`` or ``1/sqrt(n_i)``, divided by
    its maximum unless ``scaleprec=False``; None without ``prec``."""
    if prec is None:
        return None
    if prec not in PRECS:
        raise InputError(f"unknown prec {prec!r}; use one of {', '.join(PRECS)}", field="prec")
    if prec in ("sei", "vi"):
        out = np.sqrt(vi) if prec == "sei" else vi.copy()
    else:
        if ni is None:
            raise InputError(f"prec={prec!r} needs the sample sizes: pass ni=", field="ni")
        n = np.asarray(ni, dtype=float).ravel()
        if n.size != k or not np.all(np.isfinite(n) & (n > 0)):
            raise InputError(f"'ni' must hold {k} positive sample sizes (one per study)",
                             field="ni")
        out = 1 / n if prec == "ninv" else 1 / np.sqrt(n)
    return np.asarray(out / np.max(out) if scaleprec else out, dtype=float)


def _delta_arg(delta: DeltaArg, n_delta: int, type_: str) -> tuple[float | None, ...]:
    """metafor's ``delta`` argument: one value per delta (a single value recycled), None or
    NaN where estimated, checked against the type's bounds (> 0 for beta, >= 0 otherwise,
    with metafor's messages); stepfun's first delta is 1 unless given."""
    if delta is None:
        vals: list[float | None] = [None] * n_delta
    else:
        arr = np.asarray(delta, dtype=object)  # None (R's NA) kept; numpy scalars as one
        raw: list[Any] = [arr.item()] if arr.ndim == 0 else list(arr.ravel())
        if len(raw) == 1:
            raw = raw * n_delta
        if len(raw) != n_delta:
            raise InputError(f"Argument 'delta' should be of length {n_delta} for this type "
                             "of selection model.", field="delta")
        vals = []
        for j, d in enumerate(raw):
            if d is None or (isinstance(d, float | np.floating) and math.isnan(d)):
                vals.append(None)
                continue
            try:
                x = float(d)
            except (TypeError, ValueError):
                raise InputError(f"'delta[{j + 1}]' must be a number or None, not {d!r}",
                                 field="delta") from None
            if not math.isfinite(x):
                raise InputError(f"Value of 'delta[{j + 1}]' must be finite.", field="delta")
            if type_ == "beta" and x <= 0:
                raise InputError(f"Value of 'delta[{j + 1}]' must be > 0 for this type of "
                                 "selection model.", field="delta")
            if x < 0:
                raise InputError(f"Value of 'delta[{j + 1}]' must be >= 0 for this type of "
                                 "selection model.", field="delta")
            vals.append(x)
    if type_ == "stepfun" and vals[0] is None:
        vals[0] = 1.0
    return tuple(vals)


def _steps(type_: str, steps: float | Sequence[float] | None) -> FloatArray:
    """metafor's ``steps``: sorted, unique, in [0, 1], with 1 appended; 0 for the continuous
    types when not given; required for ``stepfun``."""
    if steps is None:
        if type_ == "stepfun":
            raise InputError("type='stepfun' needs 'steps' (e.g. steps=0.025 for the 3PSM)",
                             field="steps")
        return np.array([0.0])
    arr = np.atleast_1d(np.asarray(steps, dtype=float))
    if arr.size == 0 or np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise InputError("'steps' must be values between 0 and 1", field="steps")
    arr = np.unique(arr)
    if arr[-1] != 1:
        arr = np.append(arr, 1.0)
    if type_ == "beta":
        return np.array([0.0])
    if type_ != "stepfun" and arr.size != 2:
        raise InputError(f"type={type_!r} takes a single value for 'steps'", field="steps")
    return np.asarray(arr, dtype=float)

