"""File-drawer analyses: the fail-safe N (``fsn``) and the test of excess significance (``tes``).

Both as metafor 3.8's ``fsn()`` and ``tes()``, with its argument names (``tes.alternative`` is
``tes_alternative`` here, ``tes.alpha`` is ``tes_alpha``) and its result fields.

References
----------
Rosenthal, R. (1979). The "file drawer problem" and tolerance for null results. Psychological
    Bulletin, 86(3), 638-641.
Orwin, R. G. (1983). A fail-safe N for effect size in meta-analysis. Journal of Educational
    Statistics, 8(2), 157-159.
Rosenberg, M. S. (2005). The file-drawer problem revisited: A general weighted method for
    calculating fail-safe numbers in meta-analysis. Evolution, 59(2), 464-468.
Ioannidis, J. P. A., & Trikalinos, T. A. (2007). An exploratory test for an excess of
    significant findings. Clinical Trials, 4(3), 245-253.
Stanley, T. D., Doucouliagos, H., Ioannidis, J. P. A., & Carter, E. C. (2021). Detecting
    publication selection bias through excess statistical significance. Research Synthesis
    Methods, 12(6), 776-795.
metafor 3.8-1: ``fsn()``, ``tes()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, optimize, special, stats

from metareview._json import finite_or_none
from metareview.errors import InputError
from metareview.models._input import Column, NaAction, clean_yi_vi, effect_columns
from metareview.models._printer import Block, Field, Printable, Printed, Table, num, pval
from metareview.models.rma import RMAResult

__all__ = ["FSN_TYPES", "FsnResult", "TesResult", "fsn", "tes"]

FloatArray = NDArray[np.float64]
FsnType = Literal["Rosenthal", "Orwin", "Rosenberg", "General"]
#: The fail-safe N methods of :func:`fsn` (metafor's ``type=``).
FSN_TYPES: tuple[str, ...] = ("Rosenthal", "Orwin", "Rosenberg", "General")
#: The General method's search stops here (metafor's ``maxint``); ``ub_sign`` is then ">".
FSN_MAXINT = 10**7
Alternative = Literal["two.sided", "greater", "less"]
_ALTERNATIVES = ("two.sided", "greater", "less")
_SQRT_EPS = math.sqrt(np.finfo(float).eps)


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _yi_vi(
    yi: Column, vi: Column | None, sei: Column | None, na_action: NaAction
) -> tuple[FloatArray, FloatArray]:
    y, v, yf, vf = effect_columns(yi, vi, sei, None)
    keep = clean_yi_vi(y, v, yi_field=yf, vi_field=vf, na_action=na_action)
    if not keep.any():
        raise InputError("no studies", field=yf)
    return y[keep], v[keep]


def _round_fsn(x: float) -> float:
    """metafor's rounding of a fail-safe N: up to the next integer unless already integral."""
    if math.isfinite(x) and abs(x - round(x)) >= _SQRT_EPS:
        return float(math.ceil(x))
    return float(round(x)) if math.isfinite(x) else x


# --------------------------------------------------------------------------- fail-safe N


@dataclass(frozen=True)
class FsnResult(Printed):
    """A fail-safe N (metafor's ``fsn`` object): ``type``, ``fsnum`` (the fail-safe N; ``inf``
    when Orwin's target is 0), ``alpha``, ``pval`` (of the observed studies; None for Orwin),
    ``meanes`` (their average effect; None for Rosenthal), ``target`` (the target effect of
    Orwin and General; None otherwise) and ``k``; for General also ``method``, ``tau2`` and the
    estimate, tau^2 and p-value with the ``fsnum`` added studies (``est_fsn``, ``tau2_fsn``,
    ``pval_fsn``), and ``ub_sign`` ">" when the search stopped at :data:`FSN_MAXINT`."""

    type: str
    fsnum: float
    alpha: float
    pval: float | None
    meanes: float | None
    target: float | None
    k: int
    method: str | None = None
    tau2: float | None = None
    est_fsn: float | None = None
    tau2_fsn: float | None = None
    pval_fsn: float | None = None
    ub_sign: str = ""

    def _printable(self) -> Printable:
        """metafor's ``print.fsn``."""
        out: list[Block] = ["", f"Fail-safe N Calculation Using the {self.type} Approach", ""]
        if self.meanes is not None:
            out.append(Field("Average Effect Size:         ", num(self.meanes)))
        if self.target is not None:
            out.append(Field("Target Effect Size:          ", num(self.target)))
        if self.pval is not None:
            out.append(Field("Observed Significance Level: ", pval(self.pval)))
            out.append(Field("Target Significance Level:   ", f"{self.alpha:g}"))
        fs = "Inf" if math.isinf(self.fsnum) else f"{self.ub_sign}{int(self.fsnum)}"
        out += ["", Field("Fail-safe N: ", fs), ""]
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``fsnum`` None when infinite)."""
        return {
            "type": self.type, "fsnum": finite_or_none(self.fsnum), "alpha": self.alpha,
            "pval": self.pval, "meanes": self.meanes, "target": self.target, "k": self.k,
            "method": self.method, "tau2": self.tau2, "est_fsn": self.est_fsn,
            "tau2_fsn": self.tau2_fsn, "pval_fsn": self.pval_fsn, "ub_sign": self.ub_sign,
        }  # fmt: skip


def fsn(
    yi: Column,
    vi: Column | None = None,
    *,
    sei: Column | None = None,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
    method: str = "REML",
    na_action: NaAction = "fail",
) -> FsnResult:
    """The fail-safe N: how many unpublished null studies would overturn the result.

    Formulas (metafor 3.8's ``fsn``), with ``z_i = y_i / sqrt(v_i)``, ``w_i = 1/v_i``:

    - ``"Rosenthal"`` (1979), Stouffer's method: ``z = |sum z_i| / sqrt(k)``, ``pval = 1 -
      Phi(z)`` and ``N = max(0, k (z / z_{1-alpha})^2 - k)``: the number of studies with
      ``z = 0`` that bring the combined one-sided p-value up to ``alpha``.
    - ``"Orwin"`` (1983): ``N = max(0, k (mean - target) / target)`` with the unweighted mean of
      ``y`` (``weighted=True``: the ``w``-weighted mean); ``target`` defaults to half the mean
      and takes its sign; a target of 0 gives ``N = inf``.
    - ``"Rosenberg"`` (2005), the weighted (fixed-effect) method: ``mean = sum w y / sum w``,
      ``pval = 2 (1 - Phi(|mean| sqrt(sum w)))`` and ``N = max(0, k ((sum w y / z_{1-alpha/2})^2
      - sum w) / sum w)``: studies of the average weight with ``y = 0`` that make the
      fixed-effect estimate non-significant at ``alpha`` (two-sided).

    - ``"General"`` (metafor >= 4's general method, its fast approximate form): fit the
      random-effects model (``method``) for ``mu_hat``, ``tau^2`` and its p-value; add ``N``
      studies with outcomes averaging 0 and the typical variance ``v_t = 1/mean(1/v_i)``; with
      them ``mu_0 = k mu_hat / (k + N)``, ``tau^2_N = max(0, ((k - 1 + max(0, N - 1)) tau^2 +
      k (mu_hat - mu_0)^2 + N mu_0^2) / (k + N - 1))`` (0 for EE), and the estimate
      ``mu_N = sum w_i y_i / (sum w_i + N/(v_t + tau^2_N))``, ``w_i = 1/(v_i + tau^2_N)``, with
      ``z_N = mu_N sqrt(sum w_i + N/(v_t + tau^2_N))``. ``N`` is the smallest number of such
      studies that makes ``p_N = 2 (1 - Phi(|z_N|)) >= alpha``, or with ``target`` the
      smallest that brings ``mu_N`` to the target (of the estimate's sign).

    ``N`` is rounded up to an integer (unless it is one, to within ``sqrt(eps)``), as metafor.

    Parameters
    ----------
    yi, vi, sei : array-like
        Effect sizes and their sampling variances (or standard errors). Orwin's unweighted
        method does not use them.
    type : {"Rosenthal", "Orwin", "Rosenberg", "General"}
    alpha : float, default 0.05
        Target significance level (Rosenthal, Rosenberg).
    target : float, optional
        Orwin's target average effect size (default: half the observed average).
    weighted : bool, default False
        Orwin's method with inverse-variance weighted averages.
    method : str, default "REML"
        The tau^2 estimator of the General method's random-effects model.
    na_action : {"fail", "omit"}

    Returns
    -------
    FsnResult

    Notes
    -----
    metafor 3.8 also has ``type="REM"``, a Monte-Carlo method, not offered here. metafor 4
    finds the General N by ``uniroot`` over a step function and may report one more than the
    smallest N defined above; here the integer search is exact.
    """
    types = {t.lower(): t for t in FSN_TYPES}
    kind = types.get(str(type).lower())
    if kind is None:
        raise InputError(f"unknown type {type!r}; choose {', '.join(FSN_TYPES)}", field="type")
    if not 0 < alpha < 1:
        raise InputError("alpha must be between 0 and 1", field="alpha")
    if kind == "Orwin" and not weighted and vi is None and sei is None:
        y = np.asarray(yi, dtype=float)
        v = np.ones_like(y)
        if not np.isfinite(y).all():
            raise InputError("missing or non-finite effect sizes", field="yi")
    else:
        y, v = _yi_vi(yi, vi, sei, na_action)
    k = int(y.size)
    pval: float | None = None
    meanes: float | None = None
    tgt: float | None = None
    if kind == "Rosenthal":
        z_avg = abs(float(np.sum(y / np.sqrt(v)))) / math.sqrt(k)
        pval = float(special.ndtr(-z_avg))
        z_alpha = -float(special.ndtri(alpha))
        fsnum = max(0.0, k * (z_avg / z_alpha) ** 2 - k)
    elif kind == "Orwin":
        meanes = float(np.sum(y / v) / np.sum(1.0 / v)) if weighted else float(np.mean(y))
        tgt = meanes / 2.0 if target is None else float(target)
        if tgt == 0:
            fsnum = math.inf
        else:
            if math.copysign(1.0, tgt) != math.copysign(1.0, meanes):
                tgt = -tgt
            fsnum = max(0.0, k * (meanes - tgt) / tgt)
    elif kind == "Rosenberg":
        w = 1.0 / v
        sw = float(np.sum(w))
        swy = float(np.sum(w * y))
        meanes = swy / sw
        zval = meanes * math.sqrt(sw)
        pval = float(2.0 * special.ndtr(-abs(zval)))
        z_half = -float(special.ndtri(alpha / 2.0))
        fsnum = max(0.0, k * ((swy / z_half) ** 2 - sw) / sw)
    else:
        return _fsn_general(y, v, alpha=float(alpha), target=target, method=method)
    return FsnResult(
        type=kind, fsnum=_round_fsn(fsnum), alpha=float(alpha), pval=pval, meanes=meanes,
        target=tgt, k=k,
    )  # fmt: skip


def _fsn_general(
    y: FloatArray, v: FloatArray, *, alpha: float, target: float | None, method: str
) -> FsnResult:
    """The General fail-safe N (see :func:`fsn`): an exact integer search."""
    from metareview.models.rma import rma

    k = y.size
    if k < 2:
        raise InputError("the General fail-safe N needs at least 2 studies", field="yi")
    res = rma(y, v, method=method)
    est, tau2, pval = float(res.beta), float(res.tau2), float(res.pval)
    vt = 1.0 / float(np.mean(1.0 / v))
    is_ee = res.method in ("EE", "FE")

    def added(n: int) -> tuple[float, float, float]:
        """Estimate, tau^2 and p-value with ``n`` studies averaging 0 added."""
        if is_ee:
            t = 0.0
        else:
            mu0 = k * est / (k + n)
            t = ((k - 1) * tau2 + max(0, n - 1) * tau2 + k * (est - mu0) ** 2 + n * mu0**2)
            t = max(0.0, t / (k + n - 1))
        sw = float(np.sum(1.0 / (v + t))) + n / (vt + t)
        mu = float(np.sum(y / (v + t))) / sw
        return mu, t, float(2.0 * special.ndtr(-abs(mu * math.sqrt(sw))))

    tgt: float | None = None
    if target is None:
        def enough(n: int) -> bool:
            return added(n)[2] >= alpha

        done = pval >= alpha
    else:
        tgt = float(target)
        if math.copysign(1.0, tgt) != math.copysign(1.0, est):
            tgt = -tgt
        if tgt == 0:
            return FsnResult(type="General", fsnum=math.inf, alpha=alpha, pval=pval, meanes=est,
                             target=0.0, k=k, method=res.method, tau2=tau2)  # fmt: skip
        goal = tgt

        def enough(n: int) -> bool:
            return abs(added(n)[0]) <= abs(goal)

        done = abs(goal) >= abs(est)
    ub = ""
    if done:
        n = 0
    else:
        hi = 1
        while not enough(hi) and hi < FSN_MAXINT:
            hi = min(2 * hi, FSN_MAXINT)
        if not enough(hi):
            n, ub = FSN_MAXINT, ">"
        else:
            lo = hi // 2  # enough(lo) is false (or lo = 0, which is not enough)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if enough(mid) else (mid, hi)
            n = hi
    mu_n, t_n, p_n = added(n) if n else (est, tau2, pval)
    return FsnResult(
        type="General", fsnum=float(n), alpha=alpha, pval=pval, meanes=est, target=tgt, k=k,
        method=res.method, tau2=tau2, est_fsn=mu_n, tau2_fsn=t_n, pval_fsn=p_n, ub_sign=ub,
    )  # fmt: skip


# --------------------------------------------------------------------------- excess significance


@dataclass(frozen=True)
class TesResult(Printed):
    """The test of excess significance (metafor's ``tes`` object).

    ``k``; ``O`` and ``E``, the observed and expected numbers of significant studies, and
    ``OEratio = O/E``; ``test`` ("exact", "chi2" or "binom") and its ``X2`` (chi2 only, else
    None) and ``pval``; per study ``power`` and ``sig``; ``theta`` (the true effect assumed);
    ``theta_lim`` (the value(s) of theta at which the test's p-value equals ``tes_alpha``; a
    pair for ``tes_alternative="two.sided"``; None where there is none); ``tes_alternative``,
    ``tes_alpha``.
    """

    k: int
    O: int  # noqa: E741 - metafor's name
    E: float
    OEratio: float
    test: str
    X2: float | None
    pval: float
    power: FloatArray = field(repr=False)
    sig: NDArray[np.bool_] = field(repr=False)
    theta: float | FloatArray
    theta_lim: float | tuple[float | None, float | None] | None
    tes_alternative: str
    tes_alpha: float

    def _printable(self) -> Printable:
        """metafor's ``print.tes``."""
        based = f"theta = {num(float(self.theta))}" if np.ndim(self.theta) == 0 else "fitted values"
        q = np.quantile(self.power, [0, 0.25, 0.5, 0.75, 1])
        out: list[Block] = [
            "", "Test of Excess Significance", "",
            Field("Observed Number of Significant Findings: ", f"{self.O} (out of {self.k})"),
            Field("Expected Number of Significant Findings: ", num(self.E)),
            Field("Observed Number / Expected Number:       ", num(self.OEratio)), "",
            f"Estimated Power of Tests (based on {based})", "",
            Table(["min", "q1", "median", "q3", "max"], [[num(x) for x in q]]), "",
        ]  # fmt: skip
        stat = "" if self.X2 is None else f"X^2 = {num(self.X2)}, "
        out.append(Field("Test of Excess Significance: ",
                         f"{stat}p = {pval(self.pval)} ({self.test})"))  # fmt: skip
        lim = self.theta_lim
        if lim is not None:
            text = (f"{num(lim[0])}, {num(lim[1])}" if isinstance(lim, tuple) else num(lim))
            out.append(Field("Limit Estimate (theta_lim): ", text))
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        lim = self.theta_lim
        return {
            "k": self.k, "O": self.O, "E": self.E, "OEratio": finite_or_none(self.OEratio),
            "test": self.test, "X2": self.X2, "pval": self.pval,
            "power": [float(x) for x in self.power], "sig": [bool(x) for x in self.sig],
            "theta": (float(self.theta) if np.ndim(self.theta) == 0
                      else [float(x) for x in np.asarray(self.theta)]),
            "theta_lim": list(lim) if isinstance(lim, tuple) else lim,
            "tes_alternative": self.tes_alternative, "tes_alpha": self.tes_alpha,
        }  # fmt: skip


def _critical(alternative: str, alpha: float) -> float:
    if alternative == "two.sided":
        return -float(special.ndtri(alpha / 2.0))
    if alternative == "greater":
        return -float(special.ndtri(alpha))
    return float(special.ndtri(alpha))


def _power_point(mu: FloatArray, crit: float, alternative: str) -> FloatArray:
    """P(reject) of the z test when z ~ N(mu, 1)."""
    if alternative == "two.sided":
        out: FloatArray = special.ndtr(mu - crit) + special.ndtr(-crit - mu)
        return out
    if alternative == "greater":
        return np.asarray(special.ndtr(mu - crit), dtype=float)
    return np.asarray(special.ndtr(crit - mu), dtype=float)


def _power(
    theta: FloatArray, sei: FloatArray, tau2: float | None, h0: float, crit: float,
    alternative: str,
) -> FloatArray:  # fmt: skip
    """Each study's power: at its ``theta`` (no tau^2), or averaged over ``N(theta, tau^2)``.

    With ``tau^2 > 0`` the power is ``int pow(x) phi((x - theta)/tau)/tau dx`` over
    ``theta +/- 5 tau``, the range metafor integrates over (adaptive Gauss-Kronrod quadrature,
    here to a relative error of 1e-12).
    """
    if tau2 is None or tau2 <= 0:
        return _power_point((theta - h0) / sei, crit, alternative)
    tau = math.sqrt(tau2)
    out = np.empty(theta.size)
    for i, (th, se) in enumerate(zip(theta, sei, strict=True)):

        def integrand(x: float, th: float = th, se: float = se) -> float:
            pw = _power_point(np.array([(x - h0) / se]), crit, alternative)[0]
            dens = math.exp(-0.5 * ((x - th) / tau) ** 2) / (tau * math.sqrt(2 * math.pi))
            return float(pw * dens)

        val, _ = integrate.quad(
            integrand, th - 5 * tau, th + 5 * tau, epsabs=0.0, epsrel=1e-12, limit=200
        )
        out[i] = val
    return out


def _poisson_binomial(p: FloatArray) -> FloatArray:
    """P(S = j), j = 0..k, for a sum of independent Bernoulli(p_i): metafor's exact test sums
    ``prod(p[sel]) prod(1 - p[not])`` over all subsets of size j; the same numbers by
    convolution."""
    pmf = np.zeros(p.size + 1)
    pmf[0] = 1.0
    for i, pi in enumerate(p):
        pmf[1 : i + 2] = pmf[1 : i + 2] * (1.0 - pi) + pmf[: i + 1] * pi
        pmf[0] *= 1.0 - pi
    return pmf


def _binom_test_p(x: int, n: int, p: float, alternative: str) -> float:
    """R's ``binom.test(x, n, p, alternative)$p.value``."""
    if alternative == "less":
        return float(stats.binom.cdf(x, n, p))
    if alternative == "greater":
        return float(stats.binom.sf(x - 1, n, p))
    rel = 1.0 + 1e-7
    d = stats.binom.pmf(x, n, p)
    m = n * p
    if x == m:
        return 1.0
    if x < m:
        i = np.arange(math.ceil(m), n + 1)
        y = int(np.sum(stats.binom.pmf(i, n, p) <= d * rel))
        pv = stats.binom.cdf(x, n, p) + stats.binom.sf(n - y, n, p)
    else:
        i = np.arange(0, math.floor(m) + 1)
        y = int(np.sum(stats.binom.pmf(i, n, p) <= d * rel))
        pv = stats.binom.cdf(y - 1, n, p) + stats.binom.sf(x - 1, n, p)
    return float(min(1.0, pv))


def _tes_pvalue(
    power: FloatArray, o: int, test: str, tes_alternative: str
) -> tuple[float, float | None]:
    k = power.size
    e = float(np.sum(power))
    p = e / k
    if test == "chi2":
        # prop.test(O, k, p = E/k, correct = FALSE): X^2 = (O - k p)^2 / (k p (1 - p))
        x2 = (o - k * p) ** 2 / (k * p * (1.0 - p))
        if tes_alternative == "two.sided":
            return float(special.chdtrc(1.0, x2)), float(x2)
        z = math.copysign(math.sqrt(x2), o / k - p)
        pv = special.ndtr(z) if tes_alternative == "less" else special.ndtr(-z)
        return float(pv), float(x2)
    if test == "binom":
        return _binom_test_p(o, k, p, tes_alternative), None
    pmf = _poisson_binomial(power)
    if tes_alternative == "two.sided":
        pv = float(np.sum(pmf[pmf <= pmf[o] + _SQRT_EPS]))
    elif tes_alternative == "greater":
        pv = float(np.sum(pmf[o:]))
    else:
        pv = float(np.sum(pmf[: o + 1]))
    return min(pv, 1.0), None


def tes(
    yi: Column | RMAResult,
    vi: Column | None = None,
    *,
    sei: Column | None = None,
    H0: float = 0.0,
    alternative: str = "two.sided",
    alpha: float = 0.05,
    theta: float | Column | None = None,
    tau2: float | None = None,
    test: str | None = None,
    tes_alternative: str = "greater",
    tes_alpha: float = 0.1,
    na_action: NaAction = "fail",
) -> TesResult:
    """Test of excess significance: more significant studies than their power predicts?

    Each study's z test of ``H0`` (``z_i = (y_i - H0)/sqrt(v_i)``, ``alternative`` and ``alpha``)
    is significant or not (``O`` = the number significant); its power at the true effect
    ``theta`` is ``1 - Phi(c - mu_i) + Phi(-c - mu_i)`` with ``mu_i = (theta - H0)/sqrt(v_i)``
    (two-sided; one-sided analogously), averaged over ``N(theta, tau2)`` when ``tau2 > 0``;
    ``E = sum(power)``. ``theta`` defaults to the weighted mean ``sum w y / sum w`` with
    ``w = 1/(v + tau2)``. ``O`` is compared with the Poisson-binomial distribution of the number
    of significant studies (``test="exact"``, metafor's default when at most 10^6 subsets make up
    the p-value), or with a binomial with ``p = E/k`` by the chi-square test without continuity
    correction (``"chi2"``, R's ``prop.test``) or the exact binomial test (``"binom"``).
    ``theta_lim`` is the theta at which the p-value equals ``tes_alpha`` (Stanley et al. 2021's
    limit estimate); for ``tes_alternative="two.sided"`` the pair from the two one-sided tests at
    ``tes_alpha/2``.

    Parameters
    ----------
    yi : array-like or RMAResult
        Effect sizes; or a fitted ``rma`` model, whose ``yi``, ``vi``, estimate (as ``theta``)
        and ``tau2`` are used (as metafor's ``tes.rma``).
    vi, sei : array-like
        Sampling variances or standard errors.
    H0, alternative, alpha :
        The null value, sidedness and level of the studies' tests.
    theta : float or array-like, optional
        The true effect (one value, or one per study: then no ``theta_lim``).
    tau2 : float, optional
        Heterogeneity over which the power is averaged.
    test : {"exact", "chi2", "binom"}, optional
    tes_alternative : {"greater", "two.sided", "less"}
    tes_alpha : float, default 0.1
        The level for ``theta_lim``.
    na_action : {"fail", "omit"}

    Returns
    -------
    TesResult
    """
    if isinstance(yi, RMAResult):
        res = yi
        return tes(
            res.yi, res.vi, H0=H0, alternative=alternative, alpha=alpha, theta=res.beta,
            tau2=res.tau2, test=test, tes_alternative=tes_alternative, tes_alpha=tes_alpha,
        )  # fmt: skip
    for name, value in (("alternative", alternative), ("tes_alternative", tes_alternative)):
        if value not in _ALTERNATIVES:
            raise InputError(f"{name} must be one of {', '.join(_ALTERNATIVES)}", field=name)
    for name, a in (("alpha", alpha), ("tes_alpha", tes_alpha)):
        if not 0 < a < 1:
            raise InputError(f"{name} must be between 0 and 1", field=name)
    if test is not None and test not in ("exact", "chi2", "binom"):
        raise InputError("test must be exact, chi2 or binom", field="test")
    y, v = _yi_vi(yi, vi, sei, na_action)
    k = y.size
    if theta is None:
        theta_arr = None
    else:
        if np.ndim(theta) not in (0, 1) or (np.ndim(theta) == 1 and np.size(theta) != k):
            raise InputError("theta needs one value or one per study", field="theta")
        theta_arr = np.broadcast_to(np.asarray(theta, dtype=float), (k,)).astype(float)
    single = theta is None or np.ndim(theta) == 0
    if tau2 is not None and not (math.isfinite(tau2) and tau2 >= 0):
        raise InputError("tau2 must be finite and >= 0", field="tau2")
    crit = _critical(alternative, alpha)
    sei_arr = np.sqrt(v)
    z = (y - H0) / sei_arr
    if theta_arr is None:
        w = 1.0 / (v if tau2 is None or tau2 <= 0 else v + tau2)
        theta_arr = np.full(k, float(np.sum(w * y) / np.sum(w)))
    power = _power(theta_arr, sei_arr, tau2, H0, crit, alternative)
    if alternative == "two.sided":
        sig = np.abs(z) >= crit
    elif alternative == "greater":
        sig = z >= crit
    else:
        sig = z <= crit
    o = int(sig.sum())
    e = float(power.sum())
    if test is None:
        js = {"two.sided": range(0, k + 1), "greater": range(o, k + 1), "less": range(0, o + 1)}
        total = sum(math.comb(k, j) for j in js[tes_alternative])
        test = "exact" if total <= 10**6 else "chi2"
    pval, x2 = _tes_pvalue(power, o, test, tes_alternative)

    lim: float | tuple[float | None, float | None] | None = None
    theta1 = float(theta_arr[0])
    if single:

        def pval_at(th: float, side: str) -> float:
            pw = _power(np.full(k, th), sei_arr, tau2, H0, crit, alternative)
            return _tes_pvalue(pw, o, test, side)[0]

        if tes_alternative == "two.sided":
            lim = (
                _theta_lim(pval_at, "greater", tes_alpha / 2.0, H0, theta1),
                _theta_lim(pval_at, "less", tes_alpha / 2.0, H0, theta1),
            )
        else:
            lim = _theta_lim(pval_at, tes_alternative, tes_alpha, H0, theta1)
    return TesResult(
        k=k, O=o, E=e, OEratio=o / e if e > 0 else math.inf, test=test, X2=x2, pval=pval,
        power=power, sig=sig, theta=theta1 if single else theta_arr, theta_lim=lim,
        tes_alternative=tes_alternative, tes_alpha=float(tes_alpha),
    )  # fmt: skip


def _theta_lim(
    pval_at: Any, side: str, level: float, h0: float, theta1: float
) -> float | None:
    """The theta between ``H0`` and ``theta1`` (or beyond ``theta1``) where the one-sided
    (``side``) test's p-value equals ``level``; None where there is none (as metafor's NA)."""

    def f(th: float) -> float:
        return float(pval_at(th, side)) - level

    at_h0 = f(h0)
    if (side == "greater" and at_h0 >= 0) or (side == "less" and at_h0 <= 0):
        return None
    # Past H0 towards theta1 the p-value moves towards (and past) the level: bracket the
    # crossing, widening the far end (metafor's uniroot(extendInt=...)).
    span = theta1 - h0 if theta1 != h0 else 1.0
    far = theta1 if theta1 != h0 else h0 + 1.0
    for _ in range(60):
        if np.sign(f(far)) != np.sign(at_h0) and f(far) != 0:
            break
        span *= 2.0
        far = h0 + span
    else:
        return None
    lo, hi = (h0, far) if h0 < far else (far, h0)
    root = optimize.brentq(f, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500)
    return _none_if_nan(float(root))
