"""metareview.models.hc (metafor's and the published values are compared in
tests/models/test_metafor_examples_more.py, henmi2010); here what follows from the method."""

from __future__ import annotations

import numpy as np
import pytest

from metareview.models import hc, rma

Y = np.array([-0.8, -1.2, -0.3, -0.9, 0.1, -0.5, -1.6, -0.2])
V = np.array([0.10, 0.30, 0.05, 0.20, 0.08, 0.15, 0.60, 0.04])


def test_estimate_is_the_equal_effects_mean_and_interval_is_wider() -> None:
    res = rma(Y, V, method="REML")
    h = hc(res)
    ee = rma(Y, V, method="EE")
    assert h.beta == pytest.approx(ee.beta)
    assert h.tau2 == pytest.approx(rma(Y, V, method="DL").tau2)
    assert h.se == pytest.approx(
        np.sqrt((1 + h.tau2 * np.sum(1 / V**2) / np.sum(1 / V)) / np.sum(1 / V))
    )
    assert h.ci_ub - h.ci_lb > ee.ci_ub - ee.ci_lb
    assert h.method_rma == "REML" and h.beta_rma == res.beta
    assert "REML (rma)" in h.summary()


def test_equal_weights_and_no_heterogeneity_by_hand() -> None:
    """Equal variances and tau^2 = 0: ``W1/W2 = k``, ``V_R = 1`` and Q given R is exactly
    ``chi2_{k-1}`` (gamma with its mean and variance), independent of R; so
    ``T = Z / max(1, sqrt(Q/(k-1)))`` and ``t0`` solves
    ``int Pr(Z > t max(1, sqrt(q/(k-1)))) f_chi2(q) dq = 0.025`` (computed here directly)."""
    from scipy import integrate, optimize, stats

    k = 30
    y = np.linspace(-0.01, 0.01, k)
    v = np.full(k, 0.1)
    h = hc(rma(y, v, method="DL"))
    assert h.tau2 == 0.0

    def tail(t: float) -> float:
        def f(q: float) -> float:
            return float(
                stats.norm.sf(t * max(1.0, np.sqrt(q / (k - 1)))) * stats.chi2.pdf(q, k - 1)
            )

        below = integrate.quad(f, 0, k - 1, epsabs=1e-14, limit=200)[0]
        above = integrate.quad(f, k - 1, np.inf, epsabs=1e-14, limit=200)[0]
        return below + above - 0.025

    t0 = optimize.brentq(tail, 1.0, 3.0, xtol=1e-12)
    assert h.t0 == pytest.approx(t0, rel=1e-7)
    assert h.ci_ub - h.beta == pytest.approx(t0 * h.se, rel=1e-7)
    assert t0 < 1.96  # T <= |Z|
    assert h.to_dict()["method"] == "DL"
