"""Batch-first core of the random- and fixed-effects models (metafor's ``rma.uni``, intercept only).

Every function here works on *padded* two-dimensional arrays: ``y`` and ``v`` of shape
``(n, m)`` hold ``n`` meta-analyses of at most ``m`` studies each, and the boolean ``mask`` says
which cells are studies. Padding cells may hold anything; they are neutralised here (``y = 0``,
``v = 1``, weight 0). One call fits all ``n`` analyses with NumPy array operations and no Python
loop over analyses; :func:`metareview.models.rma` is the ``n = 1`` case of the same code, so each
formula lives in one place. Large batches are fitted in a few blocks of analyses with similar k,
each trimmed to its largest k (:func:`_blocks`); every result is row-wise, so blocking changes
only the amount of padding computed, not the arithmetic of a row. Row sums are einsum reductions
(``_rsum``, ``_rdot``), and the iterative solvers keep scratch buffers and compact their working
set only when a quarter of it has converged.

Notation (metafor's): ``w_i = 1/(v_i + tau^2)``, ``W = diag(w)``, ``s = sum(w)``,
``P = W - w w' / s`` (the projection of the intercept-only model), ``Q(tau^2) = y' P y =
sum w_i (y_i - mu_hat)^2`` with ``mu_hat = sum(w_i y_i)/s`` (the generalised Q statistic).
For diagonal ``D = diag(d)`` and ``E = diag(e)`` we use the closed form

    tr(P D P E) = sum(w^2 d e) - 2 sum(w^3 d e)/s + sum(w^2 d) sum(w^2 e)/s^2,

which gives ``tr(P P)``, ``tr(P V P V)`` and ``tr(P V P)`` without forming ``k x k`` matrices.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. (``rma.uni`` source, metafor 3.8-1.)
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. Journal of Educational and Behavioral Statistics, 30(3), 261-293.
DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Controlled Clinical
    Trials, 7(3), 177-188.
Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors. Journal of Research
    of the National Bureau of Standards, 87(5), 377-385.
Sidik, K., & Jonkman, J. N. (2005). Simple heterogeneity variance estimation for meta-analysis.
    Journal of the Royal Statistical Society C, 54(2), 367-384.
Hartung, J., & Knapp, G. (2001). On tests of the overall treatment effect in meta-analysis with
    normally distributed responses. Statistics in Medicine, 20(12), 1771-1782.
Hedges, L. V., & Olkin, I. (1985). Statistical Methods for Meta-Analysis. Academic Press.
Hunter, J. E., & Schmidt, F. L. (2004). Methods of Meta-Analysis (2nd ed.). Sage.
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications. Journal of
    the American Statistical Association, 78(381), 47-55.
Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Statistics in Medicine, 26(1), 37-52.
Viechtbauer, W., Lopez-Lopez, J. A., Sanchez-Meca, J., & Marin-Martinez, F. (2015). A comparison
    of procedures to test for moderators in mixed-effects meta-regression models. Psychological
    Methods, 20(3), 360-374. (The median-unbiased Paule-Mandel estimator, ``PMM``.)
Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis.
    Statistics in Medicine, 21(11), 1539-1558.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from metareview.errors import (
    ConvergenceError,
    ConvergenceWarning,
    InputError,
    MetareviewWarning,
)
from metareview.models._dist import (
    chi2_isf,
    chi2_ppf,
    chi2_sf,
    norm_ppf,
    norm_pvalue,
    t_isf,
    t_pvalue,
)
from metareview.models.methods import METHODS, RE_METHODS, TESTS

__all__ = [
    "METHODS",
    "RE_METHODS",
    "TESTS",
    "BatchFit",
    "Control",
    "alpha_from_level",
    "fit_padded",
    "make_control",
    "normalise_method",
    "normalise_test",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_EPS = float(np.finfo(float).eps)
#: Fisher scoring iterations before the remaining rows are solved by bisection.
_SCORING_BUDGET = 100
#: Grid points on which :func:`_solve_score` looks for every local maximum.
_SCAN_POINTS = 256
#: Cells (rows x studies) per piece of the grid scan in :func:`_solve_score`.
_GRID_CELLS = 1 << 15
#: Fixed cost of fitting one more block in :func:`fit_padded`, in cells (rows x width).
_BLOCK_OVERHEAD = 1 << 15
#: Largest block (rows x width) that :func:`fit_padded` fits in one piece.
_BLOCK_MAX_CELLS = 1 << 22


@dataclass(frozen=True)
class Control:
    """Convergence settings of the iterative estimators.

    Attributes
    ----------
    threshold : float
        Fisher scoring (REML, ML, EB) stops when ``|tau2_new - tau2_old| <= threshold *
        max(tau2, mean(v))``. metafor's ``threshold`` is absolute (default ``1e-5``); the relative
        form reaches the same point on the usual scales and stays attainable when tau^2 is huge.
    tol : float
        Root finding (PM and the Q-profile CI) stops when the Newton step is at most
        ``tol * (tau2 + mean(v))``; also the tolerance of metafor's check that the ML/REML
        solution beats tau^2 = 0 (``ll0check``).
    maxiter : int
        Maximum iterations of Fisher scoring; root finding is limited to ``max(maxiter, 200)``.
    tau2_init : float, optional
        The Sidik-Jonkman start ``tau0^2`` (metafor's ``tau2.init``; default
        ``sum (y - ybar)^2 / k``); used by ``rma``/``rma_reg`` with ``method="SJ"`` only (the
        Fisher scoring start stays the HE estimate).
    """

    threshold: float = 1e-12
    tol: float = 1e-12
    maxiter: int = 1000
    tau2_init: float | None = None


def make_control(control: Mapping[str, Any] | Control | None) -> Control:
    """A :class:`Control` from a mapping with metafor's names (``threshold, tol, maxiter``)."""
    if control is None:
        return Control()
    if isinstance(control, Control):
        return control
    if not isinstance(control, Mapping):
        raise InputError("control must be a mapping such as {'threshold': 1e-10}", field="control")
    unknown = set(control) - {"threshold", "tol", "maxiter", "tau2_init"}
    if unknown:
        raise InputError(
            f"unknown control setting(s) {sorted(unknown)}; use threshold, tol, maxiter, "
            "tau2_init",
            field="control",
        )
    base = Control()
    try:
        threshold = float(control.get("threshold", base.threshold))
        tol = float(control.get("tol", base.tol))
        maxiter = int(control.get("maxiter", base.maxiter))
    except (TypeError, ValueError) as exc:
        raise InputError(f"control settings must be numbers ({exc})", field="control") from None
    if not (threshold > 0 and tol > 0 and maxiter >= 1):
        raise InputError("control: threshold and tol must be > 0, maxiter >= 1", field="control")
    init = control.get("tau2_init")
    if init is not None:
        try:
            init = float(init)
        except (TypeError, ValueError):
            raise InputError("control: tau2_init must be a number", field="control") from None
        if not (math.isfinite(init) and init >= 0):
            raise InputError("control: tau2_init must be finite and >= 0", field="control")
    return Control(threshold=threshold, tol=tol, maxiter=maxiter, tau2_init=init)


def normalise_method(method: str) -> str:
    """Upper-case ``method`` and check it is one of :data:`METHODS`, ``HSK`` (metafor's
    ``HSk``, fitted here in closed form as HS) or ``PMM`` (median-unbiased Paule-Mandel, the
    root search of PM with another target)."""
    m = str(method).upper()
    if m in ("GENQ", "GENQM"):  # metareview.models.estimators: rma/rma_reg only (weights)
        raise InputError(
            f"method {method!r} is fitted by rma() and rma_reg() only, not by the batch core "
            "(rma_batch, subgroups, leave-one-out refits); choose one of "
            + ", ".join((*METHODS, "HSk", "PMM")),
            field="method",
        )
    if m in ("HSK", "PMM"):
        return m
    if m not in METHODS:
        raise InputError(
            f"unknown method {method!r}; choose one of {', '.join(METHODS)}", field="method"
        )
    return m


def normalise_test(test: str) -> str:
    """Lower-case ``test`` and check it is one of :data:`TESTS` (``"hksj"`` means ``"knha"``)."""
    t = str(test).lower()
    if t == "hksj":
        t = "knha"
    if t not in TESTS:
        raise InputError(
            f"unknown test {test!r}; choose one of {', '.join(TESTS)}", field="test"
        )
    return t


def alpha_from_level(level: float) -> float:
    """Two-sided alpha from a confidence level given as a percentage (95) or a fraction (0.95).

    As metafor's ``.level()``: ``level >= 1`` is a percentage, ``0.5 < level < 1`` a fraction.
    """
    lv = float(level)
    if not np.isfinite(lv) or lv <= 0.5 or lv >= 100:
        raise InputError(f"level must be a percentage such as 95 (got {level!r})", field="level")
    return (100.0 - lv) / 100.0 if lv >= 1 else 1.0 - lv


@dataclass(frozen=True)
class BatchFit:
    """Results of :func:`fit_padded`: one entry per analysis (row) in every array.

    Attributes are metafor's quantities: ``beta``, ``se``, ``zval`` (a t statistic for tests "t"
    and "knha"), ``pval``, ``ci_lb``/``ci_ub``, ``ddf`` (NaN for z), ``tau2``, ``se_tau2`` (NaN
    when not defined), Q-profile ``tau2_ci_lb``/``tau2_ci_ub`` with the matching ``I2``/``H2``
    bounds, ``QE``/``QEp``, ``I2``, ``H2``, ``vt`` (the typical within-study variance),
    ``pi_lb``/``pi_ub`` (prediction interval; NaN for EE), ``weights`` (percent, ``(n, m)`` with NaN
    padding), ``test`` (the test applied per row: k = 1 forces "z") and ``converged``.
    """

    k: NDArray[np.int64]
    beta: FloatArray
    se: FloatArray
    zval: FloatArray
    pval: FloatArray
    ci_lb: FloatArray
    ci_ub: FloatArray
    ddf: FloatArray
    tau2: FloatArray
    se_tau2: FloatArray
    tau2_ci_lb: FloatArray
    tau2_ci_ub: FloatArray
    I2_ci_lb: FloatArray
    I2_ci_ub: FloatArray
    H2_ci_lb: FloatArray
    H2_ci_ub: FloatArray
    QE: FloatArray
    QEp: FloatArray
    I2: FloatArray
    H2: FloatArray
    vt: FloatArray
    pi_lb: FloatArray
    pi_ub: FloatArray
    weights: FloatArray
    test: NDArray[np.str_]
    converged: BoolArray
    #: True where the Q-profile upper bound of tau^2 does not exist in double precision (then
    #: ``tau2_ci_ub`` is the search limit, printed with ">"); None when no row has a CI.
    tau2_ci_open: BoolArray | None = None


# --------------------------------------------------------------------------- building blocks


def _rsum(x: FloatArray) -> FloatArray:
    """Sums over the last axis (studies); one einsum pass, several times faster than
    ``sum(axis=-1)`` on the short rows of a padded batch."""
    return np.einsum("...j->...", x)


def _rdot(a: FloatArray, b: FloatArray) -> FloatArray:
    """``sum_j a_.j b_.j`` over the last axis (broadcasting), without forming the product."""
    return np.einsum("...j,...j->...", a, b)


def _weights(v: FloatArray, maskf: FloatArray, tau2: FloatArray) -> FloatArray:
    """``w_ij = 1/(v_ij + tau2_i)`` on study cells, 0 on padding (``tau2`` may carry extra
    trailing axes that ``v`` and ``maskf`` broadcast against, as in :func:`_score_grid`)."""
    w = v + tau2[..., None]
    np.divide(maskf, w, out=w)
    return w


def _q_stat(y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Generalised Q: returns ``(Q, sum w, mu_hat)`` for weights ``w`` (0 on padding)."""
    sw = _rsum(w)
    mu = _rdot(w, y) / sw
    r = y - mu[:, None]
    wr = w * r
    return _rdot(wr, r), sw, mu


def _q_and_slope(
    y: FloatArray, vinf: FloatArray, t: FloatArray, buf: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``Q(t)`` and ``dQ/dtau2 = -sum w^2 (y - mu_hat)^2`` (mu_hat is stationary in Q).

    ``vinf`` holds the sampling variances with ``+inf`` on padding, so that
    ``w = 1/(vinf + t)`` is 0 there without a mask (``y`` must be finite on padding).
    ``buf`` is scratch space of shape ``(2, *y.shape)`` or larger.
    """
    w, r = buf[0, : y.shape[0]], buf[1, : y.shape[0]]
    np.add(vinf, t[:, None], out=w)
    np.divide(1.0, w, out=w)
    sw = _rsum(w)
    mu = _rdot(w, y) / sw
    np.subtract(y, mu[:, None], out=r)
    wr = np.multiply(w, r, out=w)
    return _rdot(wr, r), -_rdot(wr, wr)


def _tr_pdpe(
    w: FloatArray, sw: FloatArray, d: FloatArray | float, e: FloatArray | float
) -> FloatArray:
    """``tr(P D P E)`` for ``P = W - w w'/s`` and diagonal ``D``, ``E`` (see module docstring)."""
    w2 = w * w
    w2d = w2 * d
    w2e = w2d if d is e else w2 * e
    w2de = w2d * e
    return _rsum(w2de) - 2.0 * _rdot(w2de, w) / sw + _rsum(w2d) * _rsum(w2e) / sw**2


def _row_mean(x: FloatArray, maskf: FloatArray, k: FloatArray) -> FloatArray:
    return _rdot(x, maskf) / k


def _per_value(fn: Any, df: FloatArray, p: float) -> FloatArray:
    """``fn(df, p)`` computed once per distinct ``df`` (degrees of freedom take few values, and
    the inverse distribution functions are costly)."""
    if df.size <= 8:
        return np.asarray(fn(df, p), dtype=float)
    values, inverse = np.unique(df, return_inverse=True)
    return np.asarray(fn(values, p), dtype=float)[inverse]


def _masked_inf(v: FloatArray, maskf: FloatArray) -> FloatArray:
    """``v`` with ``+inf`` on padding (see :func:`_q_and_slope`)."""
    return np.where(maskf > 0, v, np.inf)


# --------------------------------------------------------------------------- root finding


def _solve_q(
    y: FloatArray,
    v: FloatArray,
    maskf: FloatArray,
    target: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    vscale: FloatArray,
    control: Control,
) -> tuple[FloatArray, BoolArray]:
    """Solve ``Q(tau2) = target`` for every row, given ``Q(lo) >= target >= Q(hi)``.

    Q is decreasing and convex in tau^2 (Cauchy-Schwarz on its second derivative), so Newton's
    method started at the left end of the bracket increases monotonically to the root; each step
    is safeguarded by bisection of the current bracket. Stops when the step is at most
    ``tol * (tau2 + mean(v))``. This replaces metafor's ``uniroot()`` (Brent) with the same root.
    """
    n = y.shape[0]
    t = lo.astype(float).copy()
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    conv = np.zeros(n, dtype=bool)
    # The working set: rows still iterating, plus finished ones until a quarter of it has
    # finished (then it is compacted); finished rows are recomputed but never written back.
    rows = np.arange(n)
    yw, vw = y, _masked_inf(v, maskf)
    target_w, vscale_w = target, vscale  # of the working rows
    live = np.ones(n, dtype=bool)
    buf = np.empty((2, *y.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(max(control.maxiter, 200)):
            ta = t[rows]
            q, dq = _q_and_slope(yw, vw, ta, buf)
            f = q - target_w
            la, ha = lo[rows], hi[rows]
            la = np.where(f > 0, ta, la)
            ha = np.where(f < 0, ta, ha)
            newton = ta - f / dq
            ok = np.isfinite(newton) & (newton > la) & (newton < ha)
            new = np.where(ok, newton, 0.5 * (la + ha))
            at_root = f == 0
            new[at_root] = ta[at_root]
            scale = control.tol * (np.abs(new) + vscale_w)
            done = (np.abs(new - ta) <= scale) | at_root | ((ha - la) <= scale)
            upd = rows[live]
            t[upd] = new[live]
            lo[upd] = la[live]
            hi[upd] = ha[live]
            conv[rows[live & done]] = True
            live &= ~done
            n_live = int(np.count_nonzero(live))
            if n_live == 0:
                break
            if n_live <= 0.75 * rows.size:
                rows, yw, vw = rows[live], yw[live], vw[live]
                target_w, vscale_w = target_w[live], vscale_w[live]
                live = np.ones(n_live, dtype=bool)
    return t, conv


# --------------------------------------------------------------------------- tau^2 estimators


@dataclass(frozen=True)
class _Data:
    y: FloatArray
    v: FloatArray
    maskf: FloatArray
    k: FloatArray  # float copy of k
    km1: FloatArray  # max(k - 1, 1), the residual df used in divisions
    vbar: FloatArray  # mean sampling variance per row (a scale for tolerances)


@dataclass
class _Notes:
    """Counts behind the warnings of one :func:`fit_padded` call, summed over its blocks."""

    stuck: int = 0  # rows where Fisher scoring did not converge (finished by _solve_score)
    ll0: int = 0  # rows set to tau^2 = 0 by the ll0check
    knha_zero: int = 0  # knha rows whose residuals are all 0 (s2w = 1 used instead of 0)


def _tau2_dl(d: _Data) -> FloatArray:
    """DerSimonian-Laird (1986): ``(Q - (k-1)) / (s - sum w^2/s)`` with ``w = 1/v``."""
    w = d.maskf / d.v
    q, sw, _ = _q_stat(d.y, w)
    trp = sw - _rdot(w, w) / sw
    return (q - d.km1) / trp


def _tau2_hs(d: _Data) -> FloatArray:
    """Hunter-Schmidt (2004), as metafor: ``(Q - k) / sum(w)`` with ``w = 1/v``."""
    w = d.maskf / d.v
    q, sw, _ = _q_stat(d.y, w)
    return (q - d.k) / sw


def _tau2_hsk(d: _Data) -> FloatArray:
    """Hunter-Schmidt with metafor's small-sample correction (``method="HSk"``):
    ``(k/(k-1) Q - k) / sum(w)`` with ``w = 1/v`` (``k/(k-p) RSS``, ``p = 1``)."""
    w = d.maskf / d.v
    q, sw, _ = _q_stat(d.y, w)
    return (d.k / d.km1 * q - d.k) / sw


def _tau2_he(d: _Data) -> FloatArray:
    """Hedges-Olkin (1985) moment estimator: ``sum (y - ybar)^2/(k-1) - mean(v)``."""
    ybar = _row_mean(d.y, d.maskf, d.k)
    dev = d.y - ybar[:, None]
    rss = _rdot(d.maskf * dev, dev)
    trpv = _rdot(d.v, d.maskf) * (d.k - 1.0) / d.k
    return (rss - trpv) / d.km1


def _sj_start(d: _Data) -> FloatArray:
    """Sidik-Jonkman's initial value ``tau0^2 = sum (y - ybar)^2 / k`` (metafor's default)."""
    ybar = _row_mean(d.y, d.maskf, d.k)
    dev = d.y - ybar[:, None]
    return _rdot(d.maskf * dev, dev) / d.k


def _tau2_sj(d: _Data) -> FloatArray:
    """Sidik-Jonkman (2005): ``tau0^2 Q(tau0^2) / (k-1)``, Q weighted by ``1/(v + tau0^2)``."""
    t0 = _sj_start(d)
    q, _, _ = _q_stat(d.y, _weights(d.v, d.maskf, t0))
    return t0 * q / d.km1


def _bracket_q(d: _Data, target: FloatArray, control: Control) -> tuple[FloatArray, BoolArray]:
    """An upper end ``hi`` with ``Q(hi) <= target``, grown from ``max(100, 10 var(y))``."""
    ybar = _row_mean(d.y, d.maskf, d.k)
    dev = d.y - ybar[:, None]
    var = _rdot(d.maskf * dev, dev) / d.km1
    hi = np.maximum(100.0, 10.0 * var)
    ok = np.zeros(hi.shape, dtype=bool)
    for _ in range(64):
        q, _, _ = _q_stat(d.y, _weights(d.v, d.maskf, hi))
        ok = q <= target
        if ok.all():
            break
        hi = np.where(ok, hi, hi * 10.0)
    return hi, ok


def _tau2_pm(d: _Data, control: Control, median: bool = False) -> tuple[FloatArray, BoolArray]:
    """Paule-Mandel (1982): the root of ``Q(tau2) = k - 1``; 0 when ``Q(0) < k - 1``.

    With ``median``, metafor's median-unbiased version (``method="PMM"``): the target is the
    median of the chi-square distribution on ``k - 1`` df, ``qchisq(0.5, k - 1)``, in place of
    its mean ``k - 1`` (metafor 3.8-1 ``rma.uni`` source; Viechtbauer et al. 2015).
    metafor searches ``[0, max(100, 10 mad(y)^2)]`` with ``uniroot()`` and stops with an error if
    the root lies beyond; here the bracket grows until it holds the root.
    """
    n = d.y.shape[0]
    target = _per_value(chi2_isf, d.km1, 0.5) if median else d.k - 1.0
    q0, _, _ = _q_stat(d.y, d.maskf / d.v)
    tau2 = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    need = np.flatnonzero(q0 >= target)
    if need.size:
        sub = _subset(d, need)
        hi, ok = _bracket_q(sub, target[need], control)
        root, rconv = _solve_q(
            sub.y, sub.v, sub.maskf, target[need], np.zeros(need.size), hi, sub.vbar, control
        )
        tau2[need] = root
        conv[need] = rconv & ok
    return tau2, conv


def _subset(d: _Data, idx: NDArray[np.intp]) -> _Data:
    return _Data(d.y[idx], d.v[idx], d.maskf[idx], d.k[idx], d.km1[idx], d.vbar[idx])


def _tau2_scoring(
    d: _Data, method: str, start: FloatArray, control: Control
) -> tuple[FloatArray, BoolArray]:
    """Fisher scoring for REML and ML, and Morris's (1983) empirical Bayes iteration (EB).

    As metafor (started at ``max(0, HE)``), with ``P`` and ``w`` at the current tau^2:

    - REML: ``tau2 += (y'PPy - tr P) / tr(PP)``
    - ML:   ``tau2 += (y'PPy - sum w) / sum w^2``
    - EB:   ``tau2 += (Q k/(k-1) - k) / sum w``

    where ``y'PPy = sum w^2 (y - mu_hat)^2``. A step that would make tau^2 negative is halved
    until it does not (step halving); when moreover the estimating equation is negative at 0
    the iteration's limit, 0, is taken directly. Iterates until the change is at most
    ``threshold * max(tau2, mean(v))``, at most ``min(maxiter, 100)`` times; rows still moving
    then (Fisher scoring can oscillate near tau^2 = 0) are not converged and are finished by
    :func:`_solve_score`.
    """
    n = d.y.shape[0]
    tau2 = np.maximum(start, 0.0).astype(float)
    conv = np.zeros(n, dtype=bool)
    u0 = _score(d, method, np.zeros(n))
    # Working set as in _solve_q: compacted once a quarter of it has converged.
    rows = np.arange(n)
    yw, vw = d.y, _masked_inf(d.v, d.maskf)
    u0_neg, vbar, kw, km1 = u0 <= 0, d.vbar, d.k, d.km1  # of the working rows
    live = np.ones(n, dtype=bool)
    buf = np.empty((3, *d.y.shape))  # w, y - mu, w (y - mu) of the working rows
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(min(control.maxiter, _SCORING_BUDGET) + 1):
            t = tau2[rows]
            w, r, wr = buf[0, : rows.size], buf[1, : rows.size], buf[2, : rows.size]
            np.add(vw, t[:, None], out=w)
            np.divide(1.0, w, out=w)
            sw = _rsum(w)
            mu = _rdot(w, yw) / sw
            np.subtract(yw, mu[:, None], out=r)
            np.multiply(w, r, out=wr)
            if method == "REML":
                w2 = np.multiply(w, w, out=r)
                w2sum = _rsum(w2)
                trp = sw - w2sum / sw
                trpp = w2sum - 2.0 * _rdot(w2, w) / sw + w2sum * w2sum / sw**2  # tr(PP)
                adj = (_rdot(wr, wr) - trp) / trpp
            elif method == "ML":
                adj = (_rdot(wr, wr) - sw) / _rdot(w, w)
            else:  # EB
                adj = (_rdot(wr, r) * kw / km1 - kw) / sw
            adj[np.isnan(adj)] = 0.0
            # Heading below 0 with U(0) <= 0: the halved steps converge to 0 (geometrically,
            # which takes ~40 iterations at threshold 1e-12); take the limit at once.
            to_zero = (t + adj < 0) & u0_neg
            adj = _halve_steps(t, adj)
            new = t + adj
            new[to_zero] = 0.0
            done = to_zero | (np.abs(adj) <= control.threshold * np.maximum(new, vbar))
            tau2[rows[live]] = new[live]
            conv[rows[live & done]] = True
            live &= ~done
            n_live = int(np.count_nonzero(live))
            if n_live == 0:
                break
            if n_live <= 0.75 * rows.size:
                rows, yw, vw = rows[live], yw[live], vw[live]
                u0_neg, vbar, kw, km1 = u0_neg[live], vbar[live], kw[live], km1[live]
                live = np.ones(n_live, dtype=bool)
    return tau2, conv


def _score(d: _Data, method: str, t: FloatArray) -> FloatArray:
    """The estimating equation ``U(tau2) = 0`` behind each scoring iteration (its numerator).

    REML: ``y'PPy - tr P``; ML: ``y'PPy - sum w``; EB: ``Q k/(k-1) - k``.
    """
    w = _weights(d.v, d.maskf, t)
    sw = _rsum(w)
    mu = _rdot(w, d.y) / sw
    r = d.y - mu[..., None]
    wr = w * r
    if method == "REML":
        return _rdot(wr, wr) - (sw - _rdot(w, w) / sw)
    if method == "ML":
        return _rdot(wr, wr) - sw
    return _rdot(wr, r) * d.k / d.km1 - d.k


def _solve_score(d: _Data, method: str, control: Control) -> tuple[FloatArray, BoolArray]:
    """Solve the estimating equation where Fisher scoring did not converge.

    The (restricted) likelihood can have more than one local maximum, and Fisher scoring
    oscillating between them is exactly the case that lands here. So the equation ``U(t) = 0``
    is scanned on a grid over ``[0, hi]`` (``hi`` grown until ``U(hi) < 0``); every sign change
    from + to - (a local maximum) is refined by bisection to a width of at most
    ``tol * (tau2 + mean(v))``, and ``t = 0`` is a candidate when ``U(0) <= 0``. For REML and ML
    the candidate with the highest log-likelihood is the estimate (the definition of the
    estimator; metafor reaches it with ``stepadj < 1``); for EB, which has no likelihood, the
    smallest root.
    """
    n = d.y.shape[0]
    ybar = _row_mean(d.y, d.maskf, d.k)
    dev = d.y - ybar[:, None]
    hi = np.maximum(10.0 * _rdot(d.maskf * dev, dev) / d.km1, d.vbar)
    for _ in range(200):
        grow = _score(d, method, hi) >= 0
        if not grow.any():
            break
        hi = np.where(grow, hi * 4.0, hi)
    ok = _score(d, method, hi) < 0
    grid = hi[:, None] * (np.arange(_SCAN_POINTS + 1) / _SCAN_POINTS) ** 2
    positive = _score_grid(d, method, grid) > 0
    rows, cols = np.nonzero(positive[:, :-1] & ~positive[:, 1:])
    lo, up = grid[rows, cols], grid[rows, cols + 1]
    sub = _subset(d, rows)
    conv_b = np.zeros(rows.size, dtype=bool)
    active = np.arange(rows.size)
    for _ in range(2000):
        if active.size == 0:
            break
        mid = 0.5 * (lo[active] + up[active])
        pos = _score(_subset(sub, active), method, mid) > 0
        lo[active] = np.where(pos, mid, lo[active])
        up[active] = np.where(pos, up[active], mid)
        done = (up[active] - lo[active]) <= control.tol * (mid + sub.vbar[active])
        conv_b[active[done]] = True
        active = active[~done]
    at_zero = np.flatnonzero(~positive[:, 0])
    cand_rows = np.concatenate([rows, at_zero])
    cand_t = np.concatenate([0.5 * (lo + up), np.zeros(at_zero.size)])
    cand_conv = np.concatenate([conv_b, np.ones(at_zero.size, dtype=bool)])
    rank = cand_t if method == "EB" else -_loglik(_subset(d, cand_rows), method, cand_t)
    order = np.lexsort((rank, cand_rows))
    first = order[np.r_[True, cand_rows[order][1:] != cand_rows[order][:-1]]]
    tau2 = np.zeros(n)
    conv = np.zeros(n, dtype=bool)
    tau2[cand_rows[first]] = cand_t[first]
    conv[cand_rows[first]] = cand_conv[first]
    return tau2, conv & ok


def _score_grid(d: _Data, method: str, grid: FloatArray) -> FloatArray:
    """``U(grid[i, j])`` of row ``i`` at every grid point: :func:`_score` with the studies on a
    third axis, in pieces of at most :data:`_GRID_CELLS` cells (rows x points x studies)."""
    n_rows, n_points = grid.shape
    out = np.empty((n_rows, n_points))
    per = max(1, _GRID_CELLS // max(n_points * d.y.shape[1], 1))
    for a in range(0, n_rows, per):
        b = min(a + per, n_rows)
        sub = _Data(
            d.y[a:b, None, :], d.v[a:b, None, :], d.maskf[a:b, None, :], d.k[a:b, None],
            d.km1[a:b, None], d.vbar[a:b, None],
        )  # fmt: skip
        out[a:b] = _score(sub, method, grid[a:b])
    return out


def _halve_steps(t: FloatArray, adj: FloatArray) -> FloatArray:
    """metafor's ``while (tau2 + adj < 0) adj <- adj/2``, in closed form for all rows at once."""
    bad = (t + adj) < 0
    if not bad.any():
        return adj
    adj = adj.copy()
    tb, ab = t[bad], adj[bad]
    pos = tb > 0
    out = np.zeros_like(ab)  # at tau2 = 0 the halving runs until the step underflows to 0
    n = np.ceil(np.log2(-ab[pos] / tb[pos]))
    out[pos] = np.ldexp(ab[pos], -n.astype(int))
    for _ in range(4):  # guard against rounding in log2
        still = (tb + out) < 0
        if not still.any():
            break
        out[still] /= 2.0
    adj[bad] = out
    return adj


def _loglik(d: _Data, method: str, t: FloatArray) -> FloatArray:
    """(RE)ML log-likelihood up to a constant: ``-1/2 sum log(v + t) - 1/2 Q(t)``, and REML adds
    ``-1/2 log(sum w)`` (Viechtbauer 2005, eq. 9 and 11)."""
    w = _weights(d.v, d.maskf, t)
    q, sw, _ = _q_stat(d.y, w)
    out = -0.5 * _rdot(np.log(d.v + t[:, None]), d.maskf) - 0.5 * q
    if method == "REML":
        out = out - 0.5 * np.log(sw)
    return out


def _ll0_check(
    d: _Data, method: str, tau2: FloatArray, control: Control, notes: _Notes
) -> FloatArray:
    """metafor's ``ll0check``: set tau^2 = 0 when the (RE)ML log-likelihood is higher there.

    ``ll_ML(t) = -1/2 sum log(v + t) - 1/2 Q(t)``; REML adds ``-1/2 log(sum w)``; constants
    cancel. Applied when ``ll(0) - ll(tau2) > tol`` and ``tau2 > threshold`` (as metafor).
    """

    gain = _loglik(d, method, np.zeros_like(tau2)) - _loglik(d, method, tau2)
    worse = (gain > control.tol) & (tau2 > control.threshold)
    notes.ll0 += int(np.count_nonzero(worse))
    return np.where(worse, 0.0, tau2)


def _estimate_tau2(
    d: _Data, method: str, control: Control, notes: _Notes
) -> tuple[FloatArray, BoolArray]:
    """The tau^2 estimate of ``method`` for every row, truncated at 0, and a convergence flag."""
    n = d.y.shape[0]
    conv = np.ones(n, dtype=bool)
    if method == "DL":
        tau2 = _tau2_dl(d)
    elif method == "HS":
        tau2 = _tau2_hs(d)
    elif method == "HSK":
        tau2 = _tau2_hsk(d)
    elif method == "HE":
        tau2 = _tau2_he(d)
    elif method == "SJ":
        tau2 = _tau2_sj(d)
    elif method in ("PM", "PMM"):
        tau2, conv = _tau2_pm(d, control, median=method == "PMM")
    elif method in ("REML", "ML", "EB"):
        tau2, conv = _tau2_scoring(d, method, _tau2_he(d), control)
        if not conv.all():
            stuck = np.flatnonzero(~conv)
            root, rconv = _solve_score(_subset(d, stuck), method, control)
            tau2[stuck] = root
            conv[stuck] = rconv
            notes.stuck += stuck.size
        if method != "EB":
            tau2 = _ll0_check(d, method, tau2, control, notes)
    else:  # pragma: no cover - guarded by normalise_method
        raise InputError(f"unknown method {method!r}", field="method")
    return np.maximum(tau2, 0.0), conv


def _se_tau2(d: _Data, method: str, tau2: FloatArray) -> FloatArray:
    """Standard error of tau^2 as metafor computes it for each estimator (at the final tau^2).

    With ``t = tau2``, ``df = k - 1``:

    - DL: ``sqrt(2 df + 4 t trP + 2 t^2 tr(PP)) / trP``, ``P`` with ``w = 1/v``
    - HS: the same numerator over ``sum(1/v)``; HSk: ``k/df`` times that of HS
    - HE: ``sqrt(2 tr(PVPV) + 4 t tr(PV) + 2 t^2 df) / df``, ``P = I - J/k``
    - SJ: ``tau0^2/df * sqrt(2 tr(PVPV) + 4 t tr(PVP) + 2 t^2 tr(PP))``, ``P`` at ``tau0^2``
    - ML: ``sqrt(2 / sum w^2)``; REML: ``sqrt(2 / tr(PP))``, ``w`` and ``P`` at ``t``
    - PM, PMM, EB: ``sqrt(2 k^2 / df) / sum w``, ``w`` at ``t``
    """
    t = tau2
    df = d.km1
    if method in ("DL", "HS", "HSK"):
        w = d.maskf / d.v
        sw = _rsum(w)
        trp = sw - _rdot(w, w) / sw
        num = 2.0 * df + 4.0 * t * trp + 2.0 * t * t * _tr_pdpe(w, sw, 1.0, 1.0)
        if method == "HSK":
            return d.k / df * np.sqrt(num) / sw
        return np.sqrt(num) / (trp if method == "DL" else sw)
    if method == "HE":
        one = d.maskf
        sw = d.k
        trpvpv = _tr_pdpe(one, sw, d.v, d.v)
        trpv = _rdot(d.v, d.maskf) * (d.k - 1.0) / d.k
        return np.sqrt(2.0 * trpvpv + 4.0 * t * trpv + 2.0 * t * t * df) / df
    if method == "SJ":
        t0 = _sj_start(d)
        w = _weights(d.v, d.maskf, t0)
        sw = _rsum(w)
        num = (
            2.0 * _tr_pdpe(w, sw, d.v, d.v)
            + 4.0 * t * _tr_pdpe(w, sw, d.v, 1.0)
            + 2.0 * t * t * _tr_pdpe(w, sw, 1.0, 1.0)
        )
        return t0 / df * np.sqrt(num)
    w = _weights(d.v, d.maskf, t)
    sw = _rsum(w)
    if method == "ML":
        return np.sqrt(2.0 / _rdot(w, w))
    if method == "REML":
        return np.sqrt(2.0 / _tr_pdpe(w, sw, 1.0, 1.0))
    return np.sqrt(2.0 * d.k**2 / df) / sw  # PM, PMM, EB


# --------------------------------------------------------------------------- Q-profile CI


def _qprofile(
    d: _Data, tau2: FloatArray, alpha: float, control: Control
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Q-profile confidence interval of tau^2 (Viechtbauer 2007), as metafor's ``confint()``.

    The bounds solve ``Q(tau2_lb) = chi2_{k-1; 1-alpha/2}`` and ``Q(tau2_ub) = chi2_{k-1; alpha/2}``
    (``Q`` the generalised Q statistic, decreasing in tau^2); a bound is 0 when ``Q(0)`` is
    already below its target. metafor searches ``[0, max(100, 10 tau2)]`` only and reports the
    end of that interval (printed with ">") when the root lies beyond it; that end is a search
    limit, not a bound. Here the interval is widened tenfold until it holds the root: as
    ``tau2 -> inf``, ``tau2 Q(tau2) -> sum (y_i - ybar)^2``, so ``Q`` falls to 0 and the root
    exists whenever the ``y_i`` differ. Only if ``Q`` is still above its target at the largest
    finite tau^2 tried (about 1e300) is there no bound in double precision: the third array
    (``open``) flags those rows, whose upper bound is then that largest value ("> value").
    """
    n = d.y.shape[0]
    crit_u = _per_value(chi2_isf, d.km1, alpha / 2.0)
    crit_l = _per_value(chi2_ppf, d.km1, alpha / 2.0)
    tmax = np.maximum(100.0, 10.0 * tau2)
    q0, _, _ = _q_stat(d.y, d.maskf / d.v)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        qmax, _, _ = _q_stat(d.y, _weights(d.v, d.maskf, tmax))
        # widen the search interval until Q(tmax) <= crit_l (then also <= crit_u)
        for _ in range(320):
            grow = (q0 >= crit_l) & (qmax > crit_l) & (tmax < 1e299)
            if not grow.any():
                break
            tmax = np.where(grow, tmax * 10.0, tmax)
            qmax, _, _ = _q_stat(d.y, _weights(d.v, d.maskf, tmax))
    qhat, _, _ = _q_stat(d.y, _weights(d.v, d.maskf, tau2))
    open_ub = (q0 >= crit_l) & ~(qmax <= crit_l)

    # Newton needs a start left of the root (Q(start) >= target): the estimate when it is, else 0.
    lb_root = np.full(n, np.nan)
    need = np.flatnonzero((qmax <= crit_u) & (q0 >= crit_u))
    if need.size:
        start = np.where(qhat[need] >= crit_u[need], tau2[need], 0.0)
        sub = _subset(d, need)
        lb_root[need], _ = _solve_q(
            sub.y, sub.v, sub.maskf, crit_u[need], start, tmax[need], sub.vbar, control
        )
    ub_root = np.full(n, np.nan)
    need = np.flatnonzero((q0 >= crit_l) & (qmax <= crit_l))
    if need.size:
        # Q(lb) = crit_u >= crit_l, so the lower bound (when found) is left of the upper root
        start = np.where(qhat[need] >= crit_l[need], tau2[need], 0.0)
        start = np.fmax(start, lb_root[need])
        sub = _subset(d, need)
        ub_root[need], _ = _solve_q(
            sub.y, sub.v, sub.maskf, crit_l[need], start, tmax[need], sub.vbar, control
        )

    # metafor's cases, in its order: the upper bound first, then the lower bound, which
    # overwrites both when even tmax leaves Q above the upper quantile.
    ub = np.where(q0 < crit_l, 0.0, np.where(qmax > crit_l, tmax, ub_root))
    lb = np.where(qmax > crit_u, tmax, np.where(q0 < crit_u, 0.0, lb_root))
    ub = np.where(qmax > crit_u, tmax, ub)
    return lb, ub, open_ub


# --------------------------------------------------------------------------- the fit


def fit_padded(
    y: FloatArray,
    v: FloatArray,
    mask: BoolArray,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    tau2: FloatArray | float | None = None,
    control: Mapping[str, Any] | Control | None = None,
    on_fail: Literal["raise", "nan"] = "raise",
    labels: Sequence[object] | None = None,
    tau2_ci: bool = True,
) -> BatchFit:
    """Fit the intercept-only fixed- or random-effects model to each row of padded arrays.

    Parameters
    ----------
    y, v : ndarray, shape (n, m)
        Effect sizes and sampling variances; only cells where ``mask`` is true are used. Study
        cells must hold finite ``y`` and ``v > 0`` (validated by the public callers).
    mask : ndarray of bool, shape (n, m)
        Which cells are studies; every row needs at least one.
    method : str
        ``EE`` (alias ``FE``) or a tau^2 estimator: ``DL, REML, ML, PM, PMM, HS, HSk, SJ, HE,
        EB``.
    test : {"z", "t", "knha"}
        ``z``: normal; ``t``: t with ``k-1`` df; ``knha``: Hartung-Knapp(-Sidik-Jonkman), i.e.
        t with ``k-1`` df and the variance of the estimate multiplied by
        ``s2w = sum w (y - mu_hat)^2 / (k-1)`` (no truncation of ``s2w`` at 1, as metafor's
        ``test="knha"``; metafor's ``"adhoc"`` variant is not offered). A row with ``k = 1`` uses z.
    level : float
        Confidence level in percent.
    tau2 : float or ndarray, optional
        A fixed tau^2 (per row or for all); then no estimation and no tau^2 CI.
    control : mapping, optional
        ``threshold``, ``tol``, ``maxiter`` (see :class:`Control`).
    on_fail : {"raise", "nan"}
        On non-convergence raise :class:`~metareview.errors.ConvergenceError` naming the
        analysis (``labels[i]`` or its index), or return NaN results for that row (as metafor's
        ``leave1out()`` does for fits that fail).
    labels : sequence, optional
        Names of the rows used in error messages.
    tau2_ci : bool, default True
        Compute the Q-profile CI of tau^2 (NaN bounds when False, e.g. for GOSH, which needs
        only the point estimates).

    Returns
    -------
    BatchFit

    Notes
    -----
    Pooled estimate ``mu_hat = sum(w y)/sum(w)``, ``Var = 1/sum(w)`` with ``w = 1/(v + tau2)``.
    Heterogeneity (metafor's definitions): ``QE = sum (y - mu_FE)^2 / v`` with ``k-1`` df;
    for EE ``I2 = max(0, 100 (QE - (k-1))/QE)`` and ``H2 = QE/(k-1)``; otherwise
    ``I2 = 100 tau2/(vt + tau2)`` and ``H2 = tau2/vt + 1`` with the typical within-study variance
    ``vt = (k-1) sum w / ((sum w)^2 - sum w^2)``, ``w = 1/v`` (Higgins & Thompson 2002).
    Prediction interval (metafor's ``predict()``): ``mu_hat +/- crit sqrt(SE^2 + tau2)`` where
    ``crit`` is the same critical value as for the CI (normal for z, t with k-1 df for t/knha)
    and ``SE`` is the (Knapp-Hartung-scaled, for knha) standard error. For ``k = 1`` metafor sets
    tau^2 = 0, Q = 0, I^2 = 0, H^2 = 1 and uses z; so does this function.
    """
    method = normalise_method(method)
    test = normalise_test(test)
    alpha = alpha_from_level(level)
    ctl = make_control(control)
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise InputError("mask must be two-dimensional (analyses x studies)")
    yy = np.where(mask, np.asarray(y, dtype=float), 0.0)
    vv = np.where(mask, np.asarray(v, dtype=float), 1.0)
    k_int = mask.sum(axis=1).astype(np.int64)
    if np.any(k_int < 1):
        raise InputError(f"analysis {_label(labels, int(np.argmin(k_int)))} has no studies")
    n = yy.shape[0]
    is_ee = method in ("EE", "FE")
    tau2_fixed: FloatArray | None = None
    if tau2 is not None and not is_ee:
        tau2_fixed = np.broadcast_to(np.asarray(tau2, dtype=float), (n,)).copy()
        if np.any(~np.isfinite(tau2_fixed) | (tau2_fixed < 0)):
            raise InputError("a fixed tau2 must be finite and >= 0", field="tau2")

    # Rows are fitted in blocks of similar k, each trimmed to its own largest k: the same
    # row-wise arithmetic on far less padding, in arrays small enough to stay in cache.
    ya, va, ma = _left_align(yy, vv, mask, k_int)
    notes = _Notes()
    cols: dict[str, FloatArray] = {}
    converged = np.ones(n, dtype=bool)
    for rows, width in _blocks(k_int):
        if rows is None:
            part, conv = _fit_block(
                ya, va, ma, method, test, alpha, ctl, tau2_fixed, notes, tau2_ci
            )
            cols, converged = part, conv
            continue
        part, conv = _fit_block(
            ya[rows, :width], va[rows, :width], ma[rows, :width], method, test, alpha, ctl,
            None if tau2_fixed is None else tau2_fixed[rows], notes, tau2_ci,
        )  # fmt: skip
        if not cols:
            cols = {name: np.empty(n) for name in part}
        for name, val in part.items():
            cols[name][rows] = val
        converged[rows] = conv

    if notes.stuck:
        warnings.warn(
            f"{method}: Fisher scoring did not converge within "
            f"{min(ctl.maxiter, _SCORING_BUDGET)} iterations for {notes.stuck} "
            "analysis(es) (it can oscillate when tau^2 is near 0, where metafor may stop "
            "with an error); their estimating equation was solved by a grid scan and "
            "bisection, keeping the root with the highest likelihood",
            ConvergenceWarning,
            stacklevel=3,
        )
    if notes.ll0:
        warnings.warn(
            "Fisher scoring may have stopped at a local maximum; tau^2 set to 0 "
            f"for {notes.ll0} analysis(es) (as metafor's ll0check)",
            MetareviewWarning,
            stacklevel=3,
        )
    if notes.knha_zero:
        warnings.warn(
            f"Knapp-Hartung: the effects of {notes.knha_zero} analysis(es) are identical, so "
            "the scaling factor s2w is 0 and the t statistic would be infinite (metafor: zval = "
            "Inf); the unscaled variance (s2w = 1) is used",
            MetareviewWarning,
            stacklevel=3,
        )
    if not converged.all():
        bad = np.flatnonzero(~converged)
        if on_fail == "raise":
            names = ", ".join(_label(labels, int(i)) for i in bad[:5])
            more = f" and {bad.size - 5} more" if bad.size > 5 else ""
            raise ConvergenceError(
                f"the {method} estimator of tau^2 did not converge for analysis {names}{more} "
                f"(maxiter={ctl.maxiter}); try another method or a larger control['maxiter']"
            )

    # percent weights 100 w / sum(w), in the caller's cell positions
    wts = vv + cols["tau2"][:, None]
    np.divide(mask, wts, out=wts)
    wts *= (100.0 / _rsum(wts))[:, None]
    wts[~mask] = np.nan
    tests = np.where(k_int == 1, "z", test)

    fit = BatchFit(
        k=k_int,
        beta=cols["beta"],
        se=cols["se"],
        zval=cols["zval"],
        pval=cols["pval"],
        ci_lb=cols["ci_lb"],
        ci_ub=cols["ci_ub"],
        ddf=cols["ddf"],
        tau2=cols["tau2"],
        se_tau2=cols["se_tau2"],
        tau2_ci_lb=cols["tau2_ci_lb"],
        tau2_ci_ub=cols["tau2_ci_ub"],
        I2_ci_lb=cols["I2_ci_lb"],
        I2_ci_ub=cols["I2_ci_ub"],
        H2_ci_lb=cols["H2_ci_lb"],
        H2_ci_ub=cols["H2_ci_ub"],
        QE=cols["QE"],
        QEp=cols["QEp"],
        I2=cols["I2"],
        H2=cols["H2"],
        vt=cols["vt"],
        pi_lb=cols["pi_lb"],
        pi_ub=cols["pi_ub"],
        weights=wts,
        test=tests.astype(str),
        converged=converged,
        tau2_ci_open=cols["tau2_ci_open"] > 0,
    )
    if not converged.all():
        fit = _blank_rows(fit, ~converged)
    return fit


def _left_align(
    yy: FloatArray, vv: FloatArray, mask: BoolArray, k: NDArray[np.int64]
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """The studies of each row moved to its first ``k`` cells, in their order (a no-op for the
    left-aligned arrays of :func:`~metareview.models.batch.pad_groups` and of full masks)."""
    packed = np.arange(mask.shape[1]) < k[:, None]
    if np.array_equal(packed, mask):
        return yy, vv, mask
    ya = np.zeros_like(yy)
    va = np.ones_like(vv)
    ya[packed] = yy[mask]
    va[packed] = vv[mask]
    return ya, va, packed


def _blocks(k: NDArray[np.int64]) -> list[tuple[NDArray[np.intp] | None, int]]:
    """Split the rows into blocks of similar ``k``: ``(row indices, width)`` pairs.

    Every block costs about :data:`_BLOCK_OVERHEAD` cells' worth of fixed work (NumPy calls
    per iteration), and each row costs the width of its block (its largest k). Rows are taken in
    order of ``k`` and cut where this cost is least (dynamic programming over the distinct k);
    a block larger than :data:`_BLOCK_MAX_CELLS` is cut further by rows. A single block with all
    rows in their order is ``(None, max k)``.
    """
    n = k.size
    kmax = int(k.max()) if n else 0
    if n * kmax <= _BLOCK_OVERHEAD:
        return [(None, kmax)]
    order = np.argsort(k, kind="stable")
    ks = k[order]
    vals, counts = np.unique(ks, return_counts=True)
    cum = np.concatenate(([0], np.cumsum(counts)))  # rows with k < vals[j] = cum[j]
    best = np.zeros(vals.size + 1)  # best[j]: least cost of the rows with k < vals[j]
    cut = np.zeros(vals.size + 1, dtype=np.int64)
    for j in range(vals.size):
        cost = best[: j + 1] + (cum[j + 1] - cum[: j + 1]) * float(vals[j]) + _BLOCK_OVERHEAD
        cut[j + 1] = int(np.argmin(cost))
        best[j + 1] = cost[cut[j + 1]]
    groups = []
    j = vals.size
    while j > 0:
        groups.append((int(cum[cut[j]]), int(cum[j]), int(vals[j - 1])))
        j = int(cut[j])
    if len(groups) == 1 and n * kmax <= _BLOCK_MAX_CELLS:
        return [(None, kmax)]
    out: list[tuple[NDArray[np.intp] | None, int]] = []
    for lo, hi, width in reversed(groups):
        per = max(_BLOCK_MAX_CELLS // width, 1)
        out.extend((order[a : min(a + per, hi)], width) for a in range(lo, hi, per))
    return out


def _fit_block(
    yy: FloatArray,
    vv: FloatArray,
    mask: BoolArray,
    method: str,
    test: str,
    alpha: float,
    ctl: Control,
    tau2: FloatArray | None,
    notes: _Notes,
    tau2_ci: bool = True,
) -> tuple[dict[str, FloatArray], BoolArray]:
    """The fit of :func:`fit_padded` for the rows of one block: the per-row results (named as
    :class:`BatchFit`'s fields) and the convergence flags."""
    maskf = mask.astype(float)
    kf = _rsum(maskf)
    k1 = kf == 1.0
    n = yy.shape[0]
    km1 = np.maximum(kf - 1.0, 1.0)
    vbar = _rdot(vv, maskf) / kf
    data = _Data(yy, vv, maskf, kf, km1, vbar)
    is_ee = method in ("EE", "FE")
    # ---- tau^2
    converged = np.ones(n, dtype=bool)
    if is_ee:
        tau2_hat = np.zeros(n)
        se_tau2 = np.full(n, np.nan)
    else:
        if tau2 is not None:
            tau2_hat = tau2.copy()
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                tau2_hat, converged = _estimate_tau2(data, method, ctl, notes)
        tau2_hat = np.where(k1, 0.0 if tau2 is None else tau2_hat, tau2_hat)
        converged = converged | k1
        with np.errstate(divide="ignore", invalid="ignore"):
            se_tau2 = _se_tau2(data, method, tau2_hat)
        se_tau2 = np.where(k1, np.nan, se_tau2)

    # ---- pooled estimate and its test
    w = _weights(vv, maskf, tau2_hat)
    sw = _rsum(w)
    beta = _rdot(w, yy) / sw
    vb = 1.0 / sw
    tests = np.where(k1, "z", test)
    use_t = tests != "z"
    if test == "knha":
        r = yy - beta[:, None]
        rss = _rdot(w * r, r)
        # All weighted residuals 0 (identical effects): the Knapp-Hartung factor is 0, so the
        # variance would be 0 and t infinite (metafor reports zval = Inf). The unscaled variance
        # is used instead (s2w = 1, Knapp & Hartung's ad hoc floor) and a warning says so.
        degenerate = use_t & (rss <= _EPS)
        s2w = np.where(degenerate, 1.0, rss / km1)
        vb = np.where(use_t, s2w * vb, vb)
        notes.knha_zero += int(np.count_nonzero(degenerate))
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    ddf = np.where(use_t, kf - 1.0, np.nan)
    crit = np.full(n, -norm_ppf(alpha / 2.0))
    pval = norm_pvalue(zval)
    if use_t.any():  # the t distribution (SciPy) only where a row uses it
        tdf = np.where(use_t, kf - 1.0, 1.0)
        crit = np.where(use_t, _per_value(t_isf, tdf, alpha / 2.0), crit)
        pval = np.where(use_t, t_pvalue(tdf, zval), pval)
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se

    # ---- heterogeneity (fixed-effect weights)
    w0 = maskf / vv
    q_e, sw0, _ = _q_stat(yy, w0)
    q_e = np.maximum(q_e, 0.0)
    trp0 = sw0 - _rdot(w0, w0) / sw0
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = np.where(k1, 0.0, km1 / trp0)
        q_p = np.where(k1, 1.0, chi2_sf(km1, q_e))
        if is_ee:
            i2 = np.maximum(0.0, 100.0 * (q_e - km1) / q_e)
            i2 = np.where(q_e == 0, 0.0, i2)  # R: max(0, -Inf) = 0
            h2 = q_e / km1
        else:
            i2 = 100.0 * tau2_hat / (vt + tau2_hat)
            h2 = tau2_hat / vt + 1.0
    q_e = np.where(k1, 0.0, q_e)
    i2 = np.where(k1, 0.0, i2)
    h2 = np.where(k1, 1.0, h2)

    # ---- tau^2 CI (Q-profile), prediction interval
    nan = np.full(n, np.nan)
    tau2_lb, tau2_ub = nan.copy(), nan.copy()
    tau2_open = np.zeros(n)
    if not is_ee and tau2 is None and tau2_ci:
        rows = np.flatnonzero(~k1 & converged)
        if rows.size:
            lb, ub, open_ub = _qprofile(_subset(data, rows), tau2_hat[rows], alpha, ctl)
            tau2_lb[rows] = lb
            tau2_ub[rows] = ub
            tau2_open[rows] = open_ub
            if open_ub.any():
                warnings.warn(
                    f"the Q-profile upper bound of tau^2 does not exist in double precision for "
                    f"{int(open_ub.sum())} analysis(es) (Q stays above its target up to "
                    "tau^2 = 1e300); reported as that search limit",
                    MetareviewWarning,
                    stacklevel=4,
                )
    with np.errstate(divide="ignore", invalid="ignore"):
        i2_lb = 100.0 * tau2_lb / (vt + tau2_lb)
        i2_ub = 100.0 * tau2_ub / (vt + tau2_ub)
        h2_lb = tau2_lb / vt + 1.0
        h2_ub = tau2_ub / vt + 1.0
    if is_ee:
        pi_lb, pi_ub = nan.copy(), nan.copy()
    else:
        half = crit * np.sqrt(vb + tau2_hat)
        pi_lb, pi_ub = beta - half, beta + half

    out = {
        "beta": beta, "se": se, "zval": zval, "pval": pval, "ci_lb": ci_lb, "ci_ub": ci_ub,
        "ddf": ddf, "tau2": tau2_hat, "se_tau2": se_tau2, "tau2_ci_lb": tau2_lb,
        "tau2_ci_ub": tau2_ub, "I2_ci_lb": i2_lb, "I2_ci_ub": i2_ub, "H2_ci_lb": h2_lb,
        "H2_ci_ub": h2_ub, "QE": q_e, "QEp": q_p, "I2": i2, "H2": h2, "vt": vt,
        "pi_lb": pi_lb, "pi_ub": pi_ub, "tau2_ci_open": tau2_open,
    }  # fmt: skip
    return out, converged


def _blank_rows(fit: BatchFit, bad: BoolArray) -> BatchFit:
    """Set every estimate of the rows ``bad`` to NaN (failed fits, as metafor's leave1out)."""
    out: dict[str, Any] = {}
    for name in fit.__dataclass_fields__:
        val = getattr(fit, name)
        if name in ("k", "test", "converged", "tau2_ci_open"):
            out[name] = val
        elif name == "weights":
            out[name] = np.where(bad[:, None], np.nan, val)
        else:
            out[name] = np.where(bad, np.nan, val)
    return BatchFit(**out)


def _label(labels: Sequence[object] | None, i: int) -> str:
    if labels is None:
        return f"#{i}"
    return str(labels[i])
