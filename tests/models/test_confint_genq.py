"""confint(res, type="GENQ", weights=a) against metafor 3.8-1's ``confint.rma.uni`` for
``rma(yi, vi, weights=a, method="GENQ")`` (the generalised Q-profile CI of Jackson 2013).

Goldens: tests/data/goldens_confint_genq.json, written by ``Rscript scripts/goldens/confint_genq.R``
on dat.bcg (weights 1/v, 1/sqrt(v), 1; and with ablat), dat.hackshaw1998 (1/sqrt(v)) and
dat.normand1999 (weights n1 + n2). metafor takes the tail probability of ``Q_a`` from
CompQuadForm's ``farebrother()``; Debian has no CompQuadForm, so the script gave metafor a
stand-in computing it by Davies' (1980) algorithm (``mgcv::psum.chisq``), and metafor's own
``confint.rma.uni`` code ran unchanged.

Two references per bound:

* ``random``: what ``confint()`` prints. Its GENQ root search calls ``uniroot()`` without
  ``control$tol``, so it stops within uniroot's default tolerance ``eps^0.25 = 1.2e-4`` of the
  root (measured: up to 2.6e-5 here); compared at atol 1.2e-4.
* ``tau2_tight``: the roots of metafor's own objective ``.GENQ.func`` searched at tol 1e-13.
  Compared at rtol 1e-7 (measured: <= 4.4e-9; the rest is Davies' error, up to 7e-9 in the tail
  probability at tol 1e-9, where our Imhof integral is within 6e-11 of a 30-digit mpmath
  evaluation of Imhof's formula).
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


def _fit(c: dict[str, Any]) -> Any:
    y, v = np.asarray(c["yi"], dtype=float), np.asarray(c["vi"], dtype=float)
    if not c["mods"]:
        return rma(y, v, method="REML")
    d = pd.DataFrame({"yi": y, "vi": v, **{m: np.asarray(x, float) for m, x in c["mods"].items()}})
    return rma_reg("yi", "vi", mods="~ " + " + ".join(c["mods"]), data=d, method="REML")


@pytest.mark.parametrize("cid", list(CASES))
def test_genq_bounds_agree_with_metafor(cid: str) -> None:
    """tau^2 and tau bounds; I^2 and H^2 at the bounds. The fit's own tau^2 estimator does not
    enter the bounds (Q_a and its distribution depend on y, v, X and the weights only), so a
    REML fit is used; metafor's GENQ estimate is not compared."""
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


@pytest.mark.parametrize("i", range(len(G["sf"])))
def test_tail_probability_agrees_with_davies(i: int) -> None:
    """``Pr(sum lam_j chi2_1 > q)``: Imhof's integral here, Davies' algorithm in R (tol 1e-9)."""
    pt = G["sf"][i]
    got = _imhof_sf(float(pt["q"]), np.asarray(pt["lambda"], dtype=float))
    assert got == pytest.approx(float(pt["sf"]), abs=1e-8)
