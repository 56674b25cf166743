"""The Henmi & Copas (2010) confidence interval for the pooled effect, as metafor's
``hc.rma.uni``.

>>> from metareview.models import rma, hc
>>> print(hc(rma("yi", "vi", data=dat, method="DL")))   # doctest: +SKIP

The estimate is the equal-effects (inverse-variance) mean, which small-study effects bias less
than the random-effects mean; its variance and interval allow for heterogeneity. With
``w_i = 1/v_i``, ``W1 = sum w_i`` and ``W_r = sum w_i^r / W1`` (r = 2, 3, 4):

- ``beta = sum w_i y_i / W1``, Cochran's ``Q = sum w_i (y_i - beta)^2`` and the DerSimonian-Laird
  ``tau2 = max(0, (Q - (k-1)) / (W1 - W2))``;
- ``Var(beta) = (1 + tau2 W2) / W1`` (so ``se``), and ``R = (beta - mu) sqrt(W1)`` has variance
  ``V_R = 1 + tau2 W2``;
- given ``R = r``, Q is approximated by a gamma distribution with the conditional mean
  ``E(Q|r) = (k-1) + tau2 (W1 - W2) + tau2^2 (r^2/V_R^2 - 1/V_R)(W3 - W2^2)`` and variance
  ``Var(Q|r) = 2(k-1) + 4 tau2 (W1 - W2) + 2 tau2^2 (W1 W2 - 2 W3 + W2^2)
  + 4 tau2^2 (r^2/V_R^2 - 1/V_R)(W3 - W2^2) + 4 tau2^3 (r^2/V_R^2 - 1/V_R)(W4 - 2 W2 W3 + W2^3)
  + 2 tau2^4 (1/V_R^2 - 2 r^2/V_R^3)(W3 - W2^2)^2`` (shape ``E^2/Var``, scale ``Var/E``);
- the statistic ``T = R / f(Q)``, ``f(Q) = sqrt(1 + (Q - (k-1)) / (W1/W2 - 1))`` the ratio of the
  random-effects to the fixed-effects standard error implied by ``Q``, has
  ``Pr(T > t) = int_t^inf Pr(Q <= f^-1(z/t) | R = sqrt(V_R) z) phi(z) dz`` with
  ``f^-1(x) = (W1/W2 - 1)(x^2 - 1) + (k-1)``; ``t0`` solves ``Pr(T > t0) = alpha/2``
- and the interval is ``beta -/+ sqrt(V_R) t0 se``.

References
----------
Henmi, M., & Copas, J. B. (2010). Confidence intervals for random effects meta-analysis and
    robustness to publication bias. Statistics in Medicine, 29(29), 2969-2983.
metafor 3.8-1: ``hc.rma.uni`` (help page and R source).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize, special, stats

from metareview.errors import ConvergenceError, InputError
from metareview.models._core import alpha_from_level
from metareview.models.rma import RMAResult

__all__ = ["HCResult", "hc"]


@dataclass(frozen=True)
class HCResult:
    """metafor's ``hc.rma.uni`` object: the Henmi-Copas estimate ``beta`` (the equal-effects
    mean) with ``se``, ``ci_lb``, ``ci_ub`` and the DL ``tau2`` it uses; beside it the fitted
    model's ``beta_rma``, ``se_rma``, ``ci_lb_rma``, ``ci_ub_rma``, ``tau2_rma`` and
    ``method_rma``. With ``transf`` the estimates and bounds are transformed and the SEs NaN."""

    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    beta_rma: float
    se_rma: float
    ci_lb_rma: float
    ci_ub_rma: float
    tau2_rma: float
    method_rma: str
    t0: float
    method: str = "DL"

    def summary(self, digits: int = 4) -> str:
        """The two rows as metafor's ``print.hc.rma.uni`` prints them."""
        head = ["method", "tau2", "estimate", "se", "ci.lb", "ci.ub"]
        rows: list[tuple[str, list[float]]] = [
            (
                f"{self.method_rma} (rma)",
                [self.tau2_rma, self.beta_rma, self.se_rma, self.ci_lb_rma, self.ci_ub_rma],
            ),
            (f"{self.method} (HC)", [self.tau2, self.beta, self.se, self.ci_lb, self.ci_ub]),
        ]
        cells = [
            [name] + ["NA" if math.isnan(x) else f"{x:.{digits}f}" for x in vals]
            for name, vals in rows
        ]
        width = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(head)]
        lines = [" ".join(h.rjust(w) for h, w in zip(head, width, strict=True))]
        lines += [" ".join(c.rjust(w) for c, w in zip(r, width, strict=True)) for r in cells]
        return "\n" + "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe values (NaN as None)."""
        from metareview._json import finite_or_none

        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            out[name] = finite_or_none(val) if isinstance(val, float) else val
        return out


def hc(
    result: RMAResult,
    *,
    transf: Callable[[Any], Any] | None = None,
    tol: float = 1e-10,
    maxiter: int = 1000,
) -> HCResult:
    """The Henmi & Copas (2010) estimate and confidence interval of an intercept-only ``rma``
    fit (metafor's ``hc()``; formulas in the module docstring). The level is the fit's.

    Parameters
    ----------
    result : RMAResult
        A fit of :func:`~metareview.models.rma` (any method: the HC interval always uses the
        DerSimonian-Laird tau^2 of the same data).
    transf : callable, optional
        Applied to the estimates and bounds (e.g. ``numpy.exp``); the SEs are then NaN.
    tol, maxiter
        Of the root search for ``t0`` (metafor's ``control=list(tol=, maxiter=)``; metafor's
        default ``tol`` is ``.Machine$double.eps^0.25``, so its bounds agree with these to
        about 1e-4 unless it is given ``control=list(tol=1e-10)``).

    Raises
    ------
    InputError
        ``result`` is not an ``rma`` fit (meta-regressions are not allowed, as metafor), or
        k = 1.
    ConvergenceError
        The root of ``Pr(T > t) = alpha/2`` is not in [0, 2] (where metafor searches it).
    """
    if not isinstance(result, RMAResult):
        raise InputError(
            "hc() applies to models without moderators (a result of rma())", field="result"
        )
    y = np.asarray(result.yi, dtype=float)
    v = np.asarray(result.vi, dtype=float)
    k = y.size
    if k < 2:
        raise InputError("hc(): stopped because k = 1", field="result")
    alpha = alpha_from_level(result.level)
    w = 1.0 / v
    w1 = float(w.sum())
    w2, w3, w4 = (float(np.sum(w**r)) / w1 for r in (2, 3, 4))
    beta = float(np.sum(w * y)) / w1
    q = float(np.sum(w * (y - beta) ** 2))
    tau2 = max(0.0, (q - (k - 1)) / (w1 - w2))
    se = math.sqrt((tau2 * w2 + 1.0) / w1)
    vr = 1.0 + tau2 * w2
    sdr = math.sqrt(vr)
    d32 = w3 - w2**2

    def mean_q(r: float) -> float:
        return (k - 1) + tau2 * (w1 - w2) + tau2**2 * (r * r / vr**2 - 1.0 / vr) * d32

    def var_q(r: float) -> float:
        g = r * r / vr**2 - 1.0 / vr
        return (
            2.0 * (k - 1)
            + 4.0 * tau2 * (w1 - w2)
            + 2.0 * tau2**2 * (w1 * w2 - 2.0 * w3 + w2**2)
            + 4.0 * tau2**2 * g * d32
            + 4.0 * tau2**3 * g * (w4 - 2.0 * w2 * w3 + w2**3)
            + 2.0 * tau2**4 * (1.0 / vr**2 - 2.0 * r * r / vr**3) * d32**2
        )

    def q_of_ratio(x: float) -> float:  # f^-1
        return (w1 / w2 - 1.0) * (x * x - 1.0) + (k - 1)

    def cdf_q(x: float, r: float) -> float:
        mq, vq = mean_q(r), var_q(r)
        if x <= 0:
            return 0.0
        return float(special.gammainc(mq * mq / vq, x / (vq / mq)))

    def tail(t: float) -> float:
        def integrand(z: float) -> float:
            return cdf_q(q_of_ratio(z / t), sdr * z) * float(stats.norm.pdf(z))

        val, _ = integrate.quad(integrand, t, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)
        return float(val) - alpha / 2.0

    try:
        t0 = float(optimize.brentq(tail, 1e-12, 2.0, xtol=tol, maxiter=maxiter))
    except ValueError:
        raise ConvergenceError(
            "hc(): Pr(T > t) = alpha/2 has no root in [0, 2] (as metafor's uniroot)"
        ) from None
    u0 = sdr * t0
    lb, ub = beta - u0 * se, beta + u0 * se
    b_rma, se_rma, lb_rma, ub_rma = result.beta, result.se, result.ci_lb, result.ci_ub
    if transf is not None:

        def tr(x: float) -> float:
            return float(transf(x))

        beta, b_rma = tr(beta), tr(b_rma)
        lb, ub = sorted((tr(lb), tr(ub)))
        lb_rma, ub_rma = sorted((tr(lb_rma), tr(ub_rma)))
        se = se_rma = math.nan
    return HCResult(
        beta=beta,
        se=se,
        ci_lb=lb,
        ci_ub=ub,
        tau2=tau2,
        beta_rma=b_rma,
        se_rma=se_rma,
        ci_lb_rma=lb_rma,
        ci_ub_rma=ub_rma,
        tau2_rma=result.tau2,
        method_rma=result.method,
        t0=t0,
    )
