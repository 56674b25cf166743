"""confint(res, type="GENQ", weights=a) against metafor 3.8-1's ``confint.rma.uni`` for
``rma(yi, vi, weights=a, method="GENQ")`` (the generalised Q-profile CI of Jackson 2013), and
``rma(yi, vi, weights=a, method="GENQM")`` against metafor's ``rma.uni``: the two metafor results
that use the distribution of ``Q_a``.

Goldens: tests/data/goldens_confint_genq.json, written by
``R_LIBS=<lib with CompQuadForm> Rscript scripts/goldens/confint_genq.R`` with CompQuadForm 1.4-3
built from its CRAN source, so metafor ran as published: its ``.GENQ.func`` takes
``Pr(Q_a* > Q_a)`` from ``CompQuadForm::farebrother()`` (AS 204, Ruben's series, eps 1e-10).
GENQ cases: dat.bcg (weights 1/v, 1/sqrt(v), 1; and with ablat), dat.hackshaw1998 (1/sqrt(v)),
dat.normand1999 (weights n1 + n2), and the two examples of metafor's
test_analysis_example_jackson2014.r (mods xi; weights 1/v and 1/sqrt(v)). GENQM: CLASP
(test_analysis_example_dersimonian2007.r), dat.bcg, dat.hackshaw1998, jackson2014 example 2.

Two references per GENQ bound:

* ``random``: what ``confint()`` prints. Its GENQ root search calls ``uniroot()`` without
  ``control$tol``, so it stops within uniroot's default tolerance ``eps^0.25 = 1.2e-4`` (absolute,
  on tau^2) of the root (measured on jackson2014 ex2, weights 1/sqrt(v): tau^2's lower bound
  1.8e-5 away, 9.8e-4 relative; tau's 6.6e-5): tau^2 and tau compared at atol 1.2e-4, the
  tolerance metafor asks of uniroot; 1e-6 would test uniroot's stopping point, not the bound.
* ``tau2_tight``: the roots of metafor's own objective ``.GENQ.func`` (with farebrother),
  searched at uniroot tol 1e-13. Compared at rtol 1e-7 (measured: <= 5.4e-9; the rest is the
  two tail probabilities' error, <= 1e-10, divided by the slope of the probability in tau^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num

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
    np.testing.assert_allclose(ci.random["ci_lb"].iloc[:2], num(ref["ci_lb"])[:2], atol=1.2e-4)
    np.testing.assert_allclose(ci.random["ci_ub"].iloc[:2], num(ref["ci_ub"])[:2], atol=1.2e-4)
    assert ci.lb_sign == ref_sign(c["lb_sign"]) and ci.ub_sign == ref_sign(c["ub_sign"])
    # I^2 and H^2 at the tight bounds with metafor's typical variance vt, which its estimate
    # row gives: H^2 = tau2/vt + 1
    est = num(ref["estimate"])
    vt = est[0] / (est[3] - 1.0)
    bounds = np.array([num(tight["ci_lb"]), num(tight["ci_ub"])])
    np.testing.assert_allclose(
        ci.random.loc["I^2(%)", ["ci_lb", "ci_ub"]].to_numpy(float),
        100 * bounds / (vt + bounds),
        rtol=1e-7,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        ci.random.loc["H^2", ["ci_lb", "ci_ub"]].to_numpy(float), bounds / vt + 1, rtol=1e-7
    )


def ref_sign(s: Any) -> str:
    return "" if s in (None, "", "NA") else str(s)


#: farebrother's series stops when its remaining terms are below eps = 1e-10 (absolute, on the
#: probability), so the two are compared absolutely: measured max |ours - farebrother| 9.5e-11
#: (normand_w_n at tau^2 = 0, where farebrother gives 9.9e-11 and Davies' algorithm 0); a
#: relative comparison would fail on tail probabilities near 0 that both put within 1e-10 of 0.
SF_ATOL = 3e-10


@pytest.mark.parametrize(("cid", "p"), SF_POINTS, ids=[f"{c}-{p['what']}" for c, p in SF_POINTS])
def test_tail_probability_at_the_bounds_agrees_with_farebrother(
    cid: str, p: dict[str, Any]
) -> None:
    """``Pr(sum lam_j chi2_1 > Q_a)`` at tau^2 = 0, the GENQ estimate and both bounds, with
    metafor's eigenvalues: our Imhof integral against ``CompQuadForm::farebrother(Q, lambda)$Qq``
    (and Davies' ``mgcv::psum.chisq``, an independent third: measured max |ours - Davies|
    7.6e-11)."""
    got = _imhof_sf(float(p["q"]), np.asarray(p["lambda"], dtype=float))
    assert got == pytest.approx(float(p["sf_farebrother"]), abs=SF_ATOL)
    assert got == pytest.approx(float(p["sf_davies"]), abs=SF_ATOL)


@pytest.mark.parametrize("i", range(len(G["sf"])))
def test_tail_probability_agrees_with_farebrother(i: int) -> None:
    """``Pr(sum lam_j chi2_1 > q)`` at three hand-picked points: ``CompQuadForm::farebrother``
    (measured max |ours - farebrother| 6.3e-11)."""
    pt = G["sf"][i]
    got = _imhof_sf(float(pt["q"]), np.asarray(pt["lambda"], dtype=float))
    assert got == pytest.approx(float(pt["sf"]), abs=SF_ATOL)


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
