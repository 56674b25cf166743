"""selmodel against metafor's selmodel.rma.uni: goldens from scripts/goldens/selmodel.R
(metafor 3.8.1; optim's BFGS at reltol 1e-14; integrate() at rel.tol 1e-8, 1e-6 for the beta
model, stored per case as ``int_rel_tol``).

Tolerances (relative):

* step functions (``stepfun``, the 3PSM): the likelihood is closed-form in both
  implementations, so estimates, log likelihoods and tests agree to 1e-6, and the SEs (from
  numDeriv's Hessian in metafor, a Richardson Hessian here) too.
* continuous selection functions: metafor integrates with ``integrate()`` at ``int_rel_tol``
  and differentiates those integrals numerically (numDeriv, r = 6); we integrate with
  Gauss-Legendre panels split at the kinks of w(p) to ~1e-13. Estimates and log likelihoods
  agree to ``TOL_CONT``; SEs, which are second derivatives of the integrals, to
  ``TOL_CONT_SE``. The beta model, whose integral metafor can only take to 1e-6, is compared
  at ``TOL_BETA``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from goldens_helpers import load_goldens, num

from metareview.models import SelmodelResult, rma, selmodel

GOLDENS = load_goldens("goldens_selmodel.json")
CASES = GOLDENS["cases"]
TOL_STEP = 1e-6
TOL_CONT = 1e-5
TOL_CONT_SE = 1e-4
TOL_BETA = 1e-3
ESTIMATES = ("beta", "tau2", "delta", "LRT", "LRT_tau2", "ll", "ll0", "logLik", "deviance",
             "AIC", "BIC", "AICc")
SES = ("se", "se_tau2", "se_delta", "ci_lb_delta", "ci_ub_delta", "QM", "zval", "ci_lb",
       "ci_ub")


def _fit(case: dict[str, Any]) -> SelmodelResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(np.array(case["yi"], float), np.array(case["vi"], float),
                  method=case["rma_method"])
        return selmodel(res, case["type"], **case["options"])


def _tols(case: dict[str, Any]) -> tuple[float, float]:
    if case["type"] == "stepfun":
        return TOL_STEP, TOL_STEP
    if case["type"] == "beta":
        return TOL_BETA, TOL_BETA
    return TOL_CONT, TOL_CONT_SE


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_metafor(case: dict[str, Any]) -> None:
    """The fields of metafor's selmodel() for this case (scripts/goldens/selmodel.R)."""
    sav = _fit(case)
    want = case["result"]
    tol_est, tol_se = _tols(case)
    assert sav.k == want["k"]
    assert sav.LRTdf == want["LRTdf"]
    if want.get("ptable") is not None:
        assert list(sav.ptable or ()) == [int(x) for x in np.atleast_1d(want["ptable"])]
    for names, tol in ((ESTIMATES, tol_est), (SES, tol_se)):
        for name in names:
            w = np.atleast_1d(num(want[name]))
            got = np.atleast_1d(np.asarray(getattr(sav, name), dtype=float))
            assert got.shape == w.shape, name
            both_nan = np.isnan(w) & np.isnan(got)
            scale = tol * (abs(sav.beta) + 3 * sav.se) if name in ("ci_lb", "ci_ub") else 1e-9
            if name == "tau2":
                scale = max(scale, 1e-7)  # a tau^2 at its boundary: where BFGS stopped
            np.testing.assert_allclose(got[~both_nan], w[~both_nan], rtol=tol, atol=scale,
                                       err_msg=name)


@pytest.mark.parametrize("case", [c for c in CASES if c["type"] == "stepfun"],
                         ids=[c["name"] for c in CASES if c["type"] == "stepfun"])
def test_summary_as_metafor_prints(case: dict[str, Any]) -> None:
    """summary() is metafor's print() of a selection model (R's curly quotes aside)."""
    printed = case["printed"].replace("\u2018", "'").replace("\u2019", "'")
    assert _fit(case).summary() == printed


def test_ll0_is_the_ml_log_likelihood() -> None:
    """ll0, the model without selection that the LRT compares with, is the ML random-effects
    log likelihood sum log N(y_i; mu, v_i + tau^2) at rma's ML estimates (by hand)."""
    case = next(c for c in CASES if c["name"] == "hackshaw1998_3PSM")
    yi, vi = np.array(case["yi"], float), np.array(case["vi"], float)
    ml = rma(yi, vi, method="ML")
    w = 1 / (vi + ml.tau2)
    ll0 = float(np.sum(-0.5 * np.log(2 * math.pi / w) - w * (yi - ml.beta) ** 2 / 2))
    assert _fit(case).ll0 == pytest.approx(ll0, rel=1e-9)
