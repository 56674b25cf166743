"""confint(res, type="GENQ", weights=a) against metafor 3.8-1's ``confint.rma.uni`` for
``rma(yi, vi, weights=a, method="GENQ")`` (the generalised Q-profile CI of Jackson 2013), and
``rma(yi, vi, weights=a, method="GENQM")`` against metafor's ``rma.uni``: the two metafor results
that use the distribution of ``Q_a``.

Goldens: tests/data/goldens_confint_genq.json, written by
``R_LIBS=<lib with CompQuadForm> Rscript scripts/goldens/confint_genq.R`` with CompQuadForm 1.4-3
built from its CRAN source, so metafor ran as published: its ``.GENQ.func`` takes
``Pr(Q_a* > Q_a)`` from ``CompQuadForm::farebrother()`` (AS 204, Ruben's series, eps 1e-10).
GENQ cases: dat.bcg (weights 1/v, 1/sqrt(v), 1; and with ablat), dat.hackshaw1998 (1/sqrt(v)),
dat.normand1999 (weights n1 + n2), the two examples of metafor's
test_analysis_example_jackson2014.r (mods xi; weights 1/v and 1/sqrt(v)), and three made-up
three-study sets with small sampling variances (``small_k3_*``: there the tail probability at
metafor's first search limit tau^2 = 100 is within 4e-6 of 1, where our Imhof integral once
failed and the upper bound came out as ">1e299"). GENQM: CLASP
(test_analysis_example_dersimonian2007.r), dat.bcg, dat.hackshaw1998, jackson2014 example 2 and
one small set (estimate 0).

Two references per GENQ bound:

* ``random``: what ``confint()`` prints. Its GENQ root search calls ``uniroot()`` without
  ``control$tol``, so it stops within uniroot's default tolerance ``eps^0.25 = 1.2e-4`` (absolute,
  on tau^2) of the root (measured: up to 2.9e-5 away, jackson2014 ex2's upper bound with
  weights 1/v; 2.6e-5, 0.76% relative, small_k3_w_inv_v's): tau^2 compared at atol 1.2e-4, the
  tolerance metafor asks of uniroot; 1e-6 would test uniroot's stopping point, not the bound.
  (tau's printed bound, the square root, is off by 2.2e-4 there: tau is compared with the root
  of the tight bound instead.)
* ``tau2_tight``: the roots of metafor's own objective ``.GENQ.func`` (with farebrother),
  searched at uniroot tol 1e-13. Compared at rtol 1e-7 (measured: <= 9.1e-10; the rest is the
  two tail probabilities' difference, <= 1e-10, divided by the slope of the probability in
  tau^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num
from scipy import stats

from metareview.models import confint, rma, rma_reg
from metareview.models.confint import _imhof_sf

G = load_goldens("goldens_confint_genq.json")
CASES: dict[str, Any] = G["cases"]
GENQM: dict[str, Any] = G["genqm"]
#: every (q, lambda) at which the goldens hold farebrother's Pr(Q > q)
SF_POINTS = [(cid, p) for cid, c in CASES.items() for p in c["sf_points"]]


def _fit(c: dict[str, Any], method: str = "REML", weights: Any = None) -> Any:
    y, v = np.asarray(c["yi"], dtype=float), np.asarray(c["vi"], dtype=float)
    if not c["mods"]:
        return rma(y, v, method=method, weights=weights)
    d = pd.DataFrame({"yi": y, "vi": v, **{m: np.asarray(x, float) for m, x in c["mods"].items()}})
    return rma_reg(
        "yi", "vi", mods="~ " + " + ".join(c["mods"]), data=d, method=method, weights=weights
    )


@pytest.mark.parametrize("cid", list(CASES))
def test_genq_bounds_agree_with_metafor(cid: str) -> None:
    """tau^2 and tau bounds; I^2 and H^2 at the bounds. The fit's own tau^2 estimator does not
    enter the bounds (Q_a and its distribution depend on y, v, X and the weights only), so a
    REML fit is used; metafor's GENQ estimate is not compared. Expected: metafor's
    ``confint(rma(yi, vi, weights=a, method="GENQ"), type="GENQ",
    control=list(tau2.max=1e4))`` and ``uniroot(metafor:::.GENQ.func, c(0, 1e4), tol=1e-13)``."""
    c = CASES[cid]
    ci = confint(_fit(c), type="GENQ", weights=c["weights"])
    lb, ub = ci.tau2_ci
    tight = c["tau2_tight"]
    np.testing.assert_allclose(
        [lb, ub], [num(tight["ci_lb"]), num(tight["ci_ub"])], rtol=1e-7, atol=1e-12
    )
    ref = c["random"]
    # uniroot's tolerance is on tau^2; tau's printed bound is its square root (below: tight)
    np.testing.assert_allclose(ci.random.iloc[0, 1:].to_numpy(float),
                               [num(ref["ci_lb"])[0], num(ref["ci_ub"])[0]], atol=1.2e-4)
    np.testing.assert_allclose(ci.random.iloc[1, 1:].to_numpy(float),
                               np.sqrt([num(tight["ci_lb"]), num(tight["ci_ub"])]), rtol=1e-7)
    assert ci.lb_sign == ref_sign(c["lb_sign"]) and ci.ub_sign == ref_sign(c["ub_sign"])
    # I^2 and H^2 at the tight bounds: 100 tau2/(vt + tau2) and tau2/vt + 1 with metafor's vt
    np.testing.assert_allclose(
        ci.random.loc["I^2(%)", ["ci_lb", "ci_ub"]].to_numpy(float),
        num(c["I2_tight"]),
        rtol=1e-7,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        ci.random.loc["H^2", ["ci_lb", "ci_ub"]].to_numpy(float), num(c["H2_tight"]), rtol=1e-7
    )


def ref_sign(s: Any) -> str:
    return "" if s in (None, "", "NA") else str(s)


#: farebrother's series stops when its remaining terms are below eps = 1e-10 (absolute, on the
#: probability), so the two are compared absolutely: measured max |ours - farebrother| 9.5e-11
#: (normand_w_n at tau^2 = 0, where farebrother gives 9.9e-11 and Davies' algorithm 0); a
#: relative comparison would fail on tail probabilities near 0 that both put within 1e-10 of 0.
#: (Ours is within 7e-13 of a 30-digit mpmath Imhof integral on 12 random lambda sets with
#: spreads up to 1.5e4, and within 4e-14 of chi2 tail probabilities, test below.)
SF_ATOL = 3e-10


@pytest.mark.parametrize(("cid", "p"), SF_POINTS, ids=[f"{c}-{p['what']}" for c, p in SF_POINTS])
def test_tail_probability_at_the_bounds_agrees_with_farebrother(
    cid: str, p: dict[str, Any]
) -> None:
    """``Pr(sum lam_j chi2_1 > Q_a)`` at tau^2 = 0, the GENQ estimate, metafor's first search
    limit ``max(100, 10 tau^2)`` and both bounds, with metafor's eigenvalues: our Imhof integral
    against ``CompQuadForm::farebrother(Q, lambda)$Qq``. The goldens hold Davies'
    ``mgcv::psum.chisq`` too, not compared: it is within 5e-11 of ours on the metadat cases but
    fails on the small_k3 ones (0.5 at the search limit where the value is 0.999997, 2e-9 off
    at tol 1e-7 elsewhere)."""
    got = _imhof_sf(float(p["q"]), np.asarray(p["lambda"], dtype=float))
    assert got == pytest.approx(float(p["sf_farebrother"]), abs=SF_ATOL)


@pytest.mark.parametrize("i", range(len(G["sf"])))
def test_tail_probability_agrees_with_farebrother(i: int) -> None:
    """``Pr(sum lam_j chi2_1 > q)`` at three hand-picked points: ``CompQuadForm::farebrother``
    (measured max |ours - farebrother| 6.3e-11)."""
    pt = G["sf"][i]
    got = _imhof_sf(float(pt["q"]), np.asarray(pt["lambda"], dtype=float))
    assert got == pytest.approx(float(pt["sf"]), abs=SF_ATOL)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 30])
@pytest.mark.parametrize("x", [1e-8, 3e-6, 1e-4, 0.01, 0.5, 3.0, 40.0, 150.0])
def test_tail_probability_of_equal_lambdas_is_chi2(df: int, x: float) -> None:
    """With ``df`` equal lambdas (scaled to 1) ``Pr(Q > x)`` is chi2_df's (scipy). Small ``x``
    (probability near 1) is where the Fourier part of the integral once ran on cycles too long for
    QUADPACK (0.36 off at df 1, x 3e-6); measured max error now 3.6e-14."""
    assert _imhof_sf(x, np.ones(df)) == pytest.approx(stats.chi2.sf(x, df), abs=1e-12)


@pytest.mark.parametrize("cid", list(GENQM))
def test_genqm_fit_agrees_with_metafor(cid: str) -> None:
    """``rma(yi, vi, weights=a, method="GENQM", control=list(tol=1e-12))`` (rma.uni passes
    ``tol`` to its uniroot, so metafor's estimate is converged): tau^2 (where farebrother's
    ``Pr(Q_a* > Q_a) = 1/2``), its SE, the coefficients and their tests, QE, I^2, H^2, at 1e-6
    (measured max relative difference 1.4e-9, the CI of the intercept of jackson2014 ex2 with
    its year moderator). Then the fit's default ``confint()``, the GENQ CI with its weights,
    against the tight roots of ``.GENQ.func`` at rtol 1e-7, as above."""
    c = GENQM[cid]
    res = _fit(c, method="GENQM", weights=c["weights"])
    for name in ("tau2", "se_tau2", "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "QE", "I2",
                 "H2"):
        got = np.atleast_1d(np.asarray(getattr(res, name), dtype=float))
        np.testing.assert_allclose(got, np.atleast_1d(num(c[name])), rtol=1e-6, err_msg=name)
    tight = c["tau2_tight"]
    np.testing.assert_allclose(
        confint(res).tau2_ci, [num(tight["ci_lb"]), num(tight["ci_ub"])], rtol=1e-7, atol=1e-12
    )
