"""Confidence intervals of tau^2, tau, I^2 and H^2 (and of the coefficients) of ``rma`` and
``rma_reg`` fits, as metafor's ``confint.rma.uni``.

>>> from metareview.models import rma, confint
>>> print(confint(rma("yi", "vi", data=dat), type="PL"))   # doctest: +SKIP

Three types, for the model ``y = X beta + u + e`` with ``k`` studies and ``p`` coefficients:

- ``"QP"``, the Q-profile method (Viechtbauer 2007): the generalised residual Q statistic
  ``Q(tau2) = y'P y``, ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1/(v + tau2))``, follows
  ``chi2_{k-p}`` at the true tau^2 and falls as tau^2 grows; the bounds solve
  ``Q(lb) = chi2_{k-p; 1-alpha/2}`` and ``Q(ub) = chi2_{k-p; alpha/2}`` (0 where ``Q(0)`` is
  already below).
- ``"PL"``, profile likelihood (Hardy & Thompson 1996): the bounds solve
  ``-2 (ll(tau2) - ll(tau2_hat)) = chi2_{1; 1-alpha}``, ``ll`` the (restricted, for REML) log
  likelihood with tau^2 fixed and beta at its weighted least-squares value.
- ``"GENQ"``, the generalised Q-profile method (Jackson 2013): ``Q_a = y'P_a y`` with fixed
  weights ``a`` (``P_a = A - A X (X'AX)^-1 X'A``) is distributed as ``sum_j lambda_j chi2_1``,
  ``lambda_j`` the ``k - p`` non-zero eigenvalues of ``S P_a S``, ``S = diag(sqrt(v + tau2))``;
  the bounds solve ``Pr(Q_a* > Q_a) = alpha/2`` (lower) and ``1 - alpha/2`` (upper). The
  probability is Imhof's (1961) integral, evaluated by adaptive quadrature (metafor calls
  CompQuadForm's ``farebrother()``, Ruben's series truncated at 1e-10; measured to agree within
  1e-10, tests/models/test_confint_genq.py).

Then ``tau = sqrt(tau2)``, ``I2 = 100 tau2/(vt + tau2)`` and ``H2 = tau2/vt + 1`` at the bounds,
``vt`` the typical within-study variance of the fit.

metafor searches each bound on ``[0, max(100, 10 tau2)]`` and, when the root lies beyond, reports
the end of that interval as the bound (printed with ">"): a search limit, not a bound. Here the
interval is widened tenfold until it holds the root; only a bound that does not exist in double
precision (the statistic stays above its target up to tau^2 = 1e300) keeps ``ub_sign = ">"``.

References
----------
Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Statistics in Medicine, 26(1), 37-52.
Hardy, R. J., & Thompson, S. G. (1996). A likelihood approach to meta-analysis with random
    effects. Statistics in Medicine, 15(6), 619-629.
Jackson, D. (2013). Confidence intervals for the between-study variance in random effects
    meta-analysis using generalised Cochran heterogeneity statistics. Research Synthesis Methods,
    4(3), 220-229.
Imhof, J. P. (1961). Computing the distribution of quadratic forms in normal variables.
    Biometrika, 48(3/4), 419-426.
metafor 3.8-1: ``confint.rma.uni`` (R source).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import integrate, optimize, special

from metareview.errors import InputError
from metareview.models._refit import Model, model_of

__all__ = ["ConfintResult", "confint", "loglik_tau2", "qe_tau2"]

FloatArray = NDArray[np.float64]
_TYPES = ("QP", "PL", "GENQ")
#: The widened search stops here: beyond it tau^2 + v loses the sampling variances entirely.
_TAU2_LIMIT = 1e300


@dataclass(frozen=True, eq=False)
class ConfintResult:
    """metafor's ``confint.rma`` object: ``random`` (rows ``tau^2, tau, I^2(%), H^2``; columns
    ``estimate, ci_lb, ci_ub``), ``fixed`` (one row per coefficient: ``estimate, ci_lb,
    ci_ub``), ``lb_sign``/``ub_sign`` (``""``, or ``">"``/``"<"`` where a bound is only a
    search limit, as metafor), ``ci_null`` (the CI is the single point 0), ``type``, ``level``."""

    random: pd.DataFrame = field(repr=False)
    fixed: pd.DataFrame = field(repr=False)
    type: str
    level: float
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False

    @property
    def tau2_ci(self) -> tuple[float, float]:
        """``(ci_lb, ci_ub)`` of tau^2."""
        r = self.random.to_numpy(dtype=float)[0]
        return float(r[1]), float(r[2])

    def summary(self, digits: int = 4) -> str:
        """The table as metafor's ``print.confint.rma`` (the sign marks an open bound)."""
        lines = []
        rows = []
        for name, r in self.random.iterrows():
            cells = [f"{r['estimate']:.{digits}f}", self.lb_sign + f"{r['ci_lb']:.{digits}f}",
                     self.ub_sign + f"{r['ci_ub']:.{digits}f}"]
            rows.append((str(name), cells))
        width = [max(len(c[j]) for _, c in rows) for j in range(3)]
        width = [max(w, len(h)) for w, h in zip(width, ("estimate", "ci.lb", "ci.ub"), strict=True)]
        lab = max(len(n) for n, _ in rows)
        lines.append(" " * lab + " " + " ".join(
            h.rjust(w) for h, w in zip(("estimate", "ci.lb", "ci.ub"), width, strict=True)))
        for name, cells in rows:
            lines.append(name.ljust(lab) + " " + " ".join(
                c.rjust(w) for c, w in zip(cells, width, strict=True)))
        return "\n" + "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; ``tau2_ci_ub_open``/``tau2_ci_lb_open`` flag bounds that do not exist."""
        from metareview._json import finite_or_none

        def table(df: pd.DataFrame) -> dict[str, dict[str, float | None]]:
            return {
                str(n): {str(c): finite_or_none(float(v)) for c, v in r.items()}
                for n, r in df.iterrows()
            }

        return {
            "type": self.type, "level": self.level, "random": table(self.random),
            "fixed": table(self.fixed), "lb_sign": self.lb_sign, "ub_sign": self.ub_sign,
            "ci_null": self.ci_null, "tau2_ci_lb_open": self.lb_sign == ">",
            "tau2_ci_ub_open": self.ub_sign == ">",
        }


# --------------------------------------------------------------------------- statistics


def _proj(x: FloatArray, w: FloatArray) -> FloatArray:
    wx = x * w[:, None]
    p: FloatArray = np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)
    return p


def qe_tau2(m: Model, tau2: float) -> float:
    """The generalised residual Q statistic ``y'P y`` at ``tau2`` (metafor's ``.QE.func``)."""
    return float(m.y @ _proj(m.X, 1.0 / (m.v + tau2)) @ m.y)


def loglik_tau2(m: Model, tau2: float, method: str | None = None) -> float:
    """The log-likelihood of ``m`` with tau^2 fixed at ``tau2`` (metafor's ``logLik``).

    ML: ``-k/2 log(2 pi) - 1/2 sum log(v + tau2) - RSS/2``; REML: ``-(k-p)/2 log(2 pi) +
    1/2 log|X'X| - 1/2 sum log(v + tau2) - 1/2 log|X'WX| - RSS/2``, with
    ``RSS = sum w (y - X b)^2`` at the weighted least-squares ``b`` (Viechtbauer 2005).
    """
    meth = m.method if method is None else method
    k, p = m.X.shape
    w = 1.0 / (m.v + tau2)
    xtwx = m.X.T @ (m.X * w[:, None])
    b = np.linalg.solve(xtwx, m.X.T @ (w * m.y))
    rss = float(np.sum(w * (m.y - m.X @ b) ** 2))
    ldv = float(np.sum(np.log(m.v + tau2)))
    if meth == "REML":
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            + 0.5 * float(np.linalg.slogdet(m.X.T @ m.X)[1])
            - 0.5 * ldv
            - 0.5 * float(np.linalg.slogdet(xtwx)[1])
            - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * ldv - 0.5 * rss


def _imhof_sf(q: float, lam: FloatArray) -> float:
    """``Pr(sum_j lam_j chi2_1 > q)`` for ``lam_j > 0`` by Imhof's (1961) formula
    ``1/2 + 1/pi int_0^inf sin(theta(u)) / (u rho(u)) du`` with
    ``theta(u) = 1/2 sum atan(lam_j u) - q u/2`` and ``rho(u) = prod (1 + lam_j^2 u^2)^(1/4)``.

    The integral runs on ``lam / max(lam)``, ``x = q / max(lam)``: plain adaptive quadrature on
    ``[0, U]``, ``U = max(1, 4 pi / x)`` (past the largest ``lam``'s atan knee and one period of
    ``sin(x u/2)``; decade by decade), and QUADPACK's Fourier routine (QAWF) on ``[U, inf)``
    with ``sin(A(u) - x u/2)`` expanded into cos/sin(x u/2) weights. With ``U = 1`` for small
    ``x`` (tail probability near 1) QAWF's cycles of length ``4 pi/x`` were too long for it to
    resolve: up to 0.36 off at ``x = 3e-6``, one ``lam``."""
    lam = lam[lam > 0]
    if lam.size == 0:
        return 0.0 if q >= 0 else 1.0
    scale = float(lam.max())
    lam = lam / scale
    x = q / scale

    def amp(u: float) -> float:  # 1 / (u rho(u)); log(1 + z^2) as logaddexp(0, 2 log z)
        log_rho = 0.25 * float(np.sum(np.logaddexp(0.0, 2.0 * np.log(lam * u))))
        return math.exp(-math.log(u) - log_rho)

    def half_atan(u: float) -> float:
        return 0.5 * float(np.sum(np.arctan(lam * u)))

    def f(u: float) -> float:
        if u == 0.0:
            return 0.5 * float(np.sum(lam)) - 0.5 * x
        return math.sin(half_atan(u) - 0.5 * x * u) * amp(u)

    if x <= 0:
        return 1.0
    split = max(1.0, 4.0 * math.pi / x)
    decades = math.ceil(math.log10(split))
    edges = [0.0, 1.0] if decades == 0 else [0.0, *np.geomspace(1.0, split, decades + 1)]
    head = sum(
        integrate.quad(f, a, b, limit=200, epsabs=1e-14, epsrel=1e-13)[0]
        for a, b in itertools.pairwise(edges)
    )
    c, _ = integrate.quad(lambda u: math.sin(half_atan(u)) * amp(u), split, np.inf,
                          weight="cos", wvar=0.5 * x, limlst=200, epsabs=1e-11)
    s_, _ = integrate.quad(lambda u: math.cos(half_atan(u)) * amp(u), split, np.inf,
                           weight="sin", wvar=0.5 * x, limlst=200, epsabs=1e-11)
    val = head + c - s_
    return min(1.0, max(0.0, 0.5 + val / math.pi))


# --------------------------------------------------------------------------- root search


def _widen(fun: Callable[[float], float], hi: float) -> tuple[float, bool]:
    """The smallest ``hi * 10^j`` at which the decreasing-to-negative ``fun`` is <= 0, or
    ``(limit, False)`` when it stays positive up to 1e300."""
    while fun(hi) > 0:
        if hi * 10.0 > _TAU2_LIMIT:
            return hi, False
        hi *= 10.0
    return hi, True


def _root(fun: Callable[[float], float], lo: float, hi: float, tol: float) -> float:
    if fun(lo) == 0:
        return lo
    return float(optimize.brentq(fun, lo, hi, xtol=tol, rtol=4 * np.finfo(float).eps,
                                 maxiter=1000))


def _bounds_decreasing(
    stat: Callable[[float], float], crit_lb: float, crit_ub: float, t_hat: float, tol: float
) -> tuple[float, float, str, str, bool]:
    """Bounds of a statistic decreasing in tau^2: ``stat(lb) = crit_lb``, ``stat(ub) = crit_ub``
    (``crit_lb >= crit_ub``), each 0 when ``stat(0)`` is already below (metafor's cases)."""
    s0 = stat(0.0)
    if s0 < crit_ub:
        return 0.0, 0.0, "", "", True
    hi0 = max(100.0, 10.0 * t_hat)
    hi, ok = _widen(lambda t: stat(t) - crit_ub, hi0)
    if not ok:
        ub, ub_sign = hi, ">"
    else:
        ub, ub_sign = _root(lambda t: stat(t) - crit_ub, 0.0, hi, tol), ""
    if s0 < crit_lb:
        return 0.0, ub, "", ub_sign, False
    hi_l, ok_l = _widen(lambda t: stat(t) - crit_lb, hi0)
    if not ok_l:
        return hi_l, hi_l, ">", ">", False
    return _root(lambda t: stat(t) - crit_lb, 0.0, hi_l, tol), ub, "", ub_sign, False


# --------------------------------------------------------------------------- public function


def confint(
    result: Any,
    *,
    type: str | None = None,
    level: float | None = None,
    weights: Sequence[float] | NDArray[np.float64] | None = None,
    tol: float = 1e-12,
) -> ConfintResult:
    """Confidence intervals of the heterogeneity (tau^2, tau, I^2, H^2) and of the coefficients
    of an ``rma``/``rma_reg`` fit (metafor's ``confint.rma.uni``; formulas in the module
    docstring).

    Parameters
    ----------
    result : RMAResult or RegResult
        A random/mixed-effects fit with an estimated tau^2.
    type : {"QP", "PL", "GENQ"}, optional
        Q-profile, profile likelihood, or generalised Q-profile. Default, as metafor: "GENQ"
        for a ``method="GENQ"``/``"GENQM"`` fit (with its weights), else "QP".
    level : float, optional
        Confidence level in percent (default: the fit's).
    weights : array-like, optional
        The fixed weights ``a_i`` of ``type="GENQ"`` (default: the fit's ``user_weights``,
        else ``1/v_i``).
    tol : float
        Tolerance of the root search (absolute, on tau^2).

    Raises
    ------
    InputError
        Unknown ``type``; an EE model, a fixed tau^2 or k = 1 (no tau^2 to bound, as metafor);
        weights that are not positive and finite, one per study.
    """
    from metareview.models._core import alpha_from_level

    fit_weights = getattr(result, "user_weights", None)
    if type is None:
        type = "GENQ" if getattr(result, "method", "") in ("GENQ", "GENQM") else "QP"
    if weights is None and fit_weights is not None:
        weights = fit_weights
    t = str(type).upper()
    if t not in _TYPES:
        raise InputError(f"unknown type {type!r}; choose one of QP, PL, GENQ", field="type")
    m = model_of(result)
    lv = m.level if level is None else float(level)
    alpha = alpha_from_level(lv)
    lv = lv * 100.0 if lv < 1 else lv
    if m.k < 2:
        raise InputError("confint: stopped because k = 1 (as metafor)", field="result")
    if m.method in ("EE", "FE"):
        raise InputError(
            "the model has no random-effects component (method EE): no CI for tau^2",
            field="method",
        )
    if m.tau2_fixed is not None:
        raise InputError("tau^2 was fixed, not estimated: no CI for it", field="tau2")
    k, p = m.X.shape
    df = k - p
    t_hat = m.tau2
    ci_null = False
    if t == "QP":
        crit_u = float(special.chdtri(df, alpha / 2.0))
        crit_l = float(special.chdtri(df, 1.0 - alpha / 2.0))
        lb, ub, lb_sign, ub_sign, ci_null = _bounds_decreasing(
            lambda s: qe_tau2(m, s), crit_u, crit_l, t_hat, tol
        )
    elif t == "GENQ":
        a = 1.0 / m.v if weights is None else np.asarray(weights, dtype=float)
        if a.shape != (k,) or not np.all(np.isfinite(a) & (a > 0)):
            raise InputError(
                f"GENQ weights must be {k} positive finite numbers", field="weights"
            )
        pa = _proj(m.X, a)
        qa = float(m.y @ pa @ m.y)

        def sf(s: float) -> float:
            sq = np.sqrt(m.v + s)
            lam = np.linalg.eigvalsh(sq[:, None] * pa * sq[None, :])[::-1][:df]
            return _imhof_sf(qa, np.asarray(lam, dtype=np.float64))

        # 1 - sf is decreasing in tau^2: bounds where 1 - sf = 1 - alpha/2 (lb) and alpha/2 (ub)
        lb, ub, lb_sign, ub_sign, ci_null = _bounds_decreasing(
            lambda s: 1.0 - sf(s), 1.0 - alpha / 2.0, alpha / 2.0, t_hat, tol
        )
    else:  # PL
        objective = float(special.chdtri(1, alpha))
        ll_hat = loglik_tau2(m, t_hat)

        def lrt(s: float) -> float:
            return -2.0 * (loglik_tau2(m, s) - ll_hat) - objective

        lb_sign = ub_sign = ""
        lb = 0.0 if lrt(0.0) < 0 else _root(lrt, 0.0, t_hat, tol)
        hi, ok = _widen(lambda s: -lrt(s), max(100.0, 10.0 * t_hat))
        if not ok:
            ub, ub_sign = hi, ">"
        else:
            ub = _root(lrt, t_hat, hi, tol)
    vt = _vt(m)
    tau2_row = [t_hat, lb, ub]
    i2_row = [100.0 * x / (vt + x) for x in tau2_row]
    h2_row = [x / vt + 1.0 for x in tau2_row]
    i2_row[0] = float(getattr(result, "I2", i2_row[0]))
    h2_row[0] = float(getattr(result, "H2", h2_row[0]))
    random = pd.DataFrame(
        [tau2_row, [math.sqrt(x) if x >= 0 else math.nan for x in tau2_row], i2_row, h2_row],
        index=pd.Index(["tau^2", "tau", "I^2(%)", "H^2"]),
        columns=["estimate", "ci_lb", "ci_ub"],
    )
    return ConfintResult(
        random=random, fixed=_fixed(result, m), type=t, level=lv, lb_sign=lb_sign,
        ub_sign=ub_sign, ci_null=ci_null,
    )


def _vt(m: Model) -> float:
    """Typical within-study variance ``(k - p) / tr P`` at ``w = 1/v`` (metafor's ``vt``)."""
    k, p = m.X.shape
    return (k - p) / float(np.trace(_proj(m.X, 1.0 / m.v)))


def _fixed(result: Any, m: Model) -> pd.DataFrame:
    """The coefficients with their (Wald) CIs, as the fit reports them."""
    lb = np.atleast_1d(np.asarray(result.ci_lb, dtype=float))
    ub = np.atleast_1d(np.asarray(result.ci_ub, dtype=float))
    return pd.DataFrame(
        {"estimate": m.beta, "ci_lb": lb, "ci_ub": ub}, index=pd.Index(list(m.names))
    )
