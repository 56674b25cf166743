"""confint() (QP, PL, GENQ) for rma and rma_reg fits against metafor 3.8-1's ``confint.rma.uni``.

Goldens (tests/data/goldens_diagnostics.json, scripts/goldens/diagnostics.R):
``confint(res, type="QP"|"PL", control=list(tol=1e-12, tau2.max=max(1e4, 1e4 tau2)))`` for
dat.bcg (RR; REML, DL+knha, REML with ablat, REML+knha with ablat + alloc), dat.normand1999
(MD, DL), dat.hackshaw1998 (OR; REML, ML) and dat.bcg rows 1-6 with ablat, and the default
``confint(res)`` whose upper bound stops at metafor's search cap for Normand 1999.

GENQ is checked against metafor in test_confint_genq.py (with CompQuadForm, which Debian does
not package, built from CRAN's source for the golden script); here by hand: with equal
sampling variances v and equal weights, ``Q_a = a sum (y - ybar)^2`` and ``S P_a S`` has the
eigenvalue ``a (v + tau2)`` k-1 times, so ``Q_a / (a (v + tau2)) ~ chi2_{k-1}`` and the bounds are
``Q/(a chi2_{k-1; 1-alpha/2}) - v`` and ``Q/(a chi2_{k-1; alpha/2}) - v``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from diag_goldens import FITS, G, fit
from goldens_helpers import ATOL, RTOL, num
from scipy import stats

from metareview.errors import InputError
from metareview.models import confint, rma, rma_reg
from metareview.models._refit import model_of
from metareview.models.confint import _imhof_sf, loglik_tau2

IDS = sorted(FITS)
ROWS = {"tau2": "tau^2", "tau": "tau", "I2": "I^2(%)", "H2": "H^2"}


@pytest.mark.parametrize("kind", ["QP", "PL"])
@pytest.mark.parametrize("fid", IDS)
def test_confint_matches_metafor(fid: str, kind: str) -> None:
    g = FITS[fid][f"confint_{kind}"]
    ci = confint(fit(fid), type=kind)
    for key, row in ROWS.items():
        got = ci.random.loc[row, ["estimate", "ci_lb", "ci_ub"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, num(g[key]), rtol=RTOL, atol=ATOL, err_msg=key)
    assert ci.lb_sign == g["lb_sign"] and ci.ub_sign == g["ub_sign"] == ""


@pytest.mark.parametrize("fid", [f for f in IDS if FITS[f]["mods"] == "NA"])
def test_rma_result_carries_the_same_qprofile_ci(fid: str) -> None:
    """rma() computes the Q-profile CI in the batch core; confint() with the general-X code."""
    res = fit(fid)
    lb, ub = confint(res).tau2_ci
    assert res.tau2_ci_lb == pytest.approx(lb, rel=1e-9, abs=1e-12)
    assert res.tau2_ci_ub == pytest.approx(ub, rel=1e-9, abs=1e-12)


def test_normand_upper_bound_beyond_metafors_search_cap() -> None:
    """Normand 1999 (MD, DL): metafor's default confint() prints ">2054.0938" (its cap
    10 tau2); the true bound is 2889.4513 (metafor with tau2.max = 1e6, the golden)."""
    cap = G["normand_default_cap"]
    assert cap["ub_sign"] == ">"
    assert num(cap["tau2"])[2] == pytest.approx(10 * num(cap["tau2"])[0], rel=1e-12)
    res = fit("normand_DL")
    want = num(FITS["normand_DL"]["confint_QP"]["tau2"])[2]
    assert want == pytest.approx(2889.4513, abs=1e-4)
    assert res.tau2_ci_ub == pytest.approx(want, rel=RTOL)
    assert not res.tau2_ci_ub_open
    ci = confint(res)
    assert ci.tau2_ci[1] == pytest.approx(want, rel=RTOL) and ci.ub_sign == ""
    assert "2889.4513" in res.summary() and ">" not in res.summary().split("Q-profile")[1]


def test_k2_upper_bound_is_not_the_cap() -> None:
    """k = 2: metafor's default search stops at 100; the bound solves Q(ub) = chi2_{1; 0.025}.
    Hand check: for k = 2, Q(t) = (y1 - y2)^2 / (v1 + v2 + 2t), so
    ub = ((y1 - y2)^2 / chi2_{1;0.025} - v1 - v2) / 2."""
    y, v = [0.0, 1.0], [0.01, 0.02]
    res = rma(y, v, method="DL")
    crit = stats.chi2.ppf(0.025, 1)
    want = (1.0 / crit - 0.03) / 2
    assert want > 100
    assert res.tau2_ci_ub == pytest.approx(want, rel=1e-9)
    assert confint(res).tau2_ci[1] == pytest.approx(want, rel=1e-9)
    lb_want = (1.0 / stats.chi2.ppf(0.975, 1) - 0.03) / 2
    assert res.tau2_ci_lb == pytest.approx(lb_want, rel=1e-9)


def test_meta_regression_qprofile_by_hand_equals_root() -> None:
    """rma_reg: Q_E(lb) = chi2_{k-p; 0.975} and Q_E(ub) = chi2_{k-p; 0.025} at the bounds."""
    res = fit("bcg_ablat_REML")
    m = model_of(res)
    lb, ub = res.confint().tau2_ci
    from metareview.models.confint import qe_tau2

    assert qe_tau2(m, lb) == pytest.approx(stats.chi2.ppf(0.975, 11), rel=1e-9)
    assert qe_tau2(m, ub) == pytest.approx(stats.chi2.ppf(0.025, 11), rel=1e-9)


@pytest.mark.parametrize("fid", IDS)
def test_loglik_and_profile_match_metafor(fid: str) -> None:
    """metafor: ``logLik(res)`` and ``profile(res, xlim=c(0, 2 max(tau2, 0.1)), steps=11)``."""
    res = fit(fid)
    m = model_of(res)
    assert loglik_tau2(m, res.tau2) == pytest.approx(FITS[fid]["logLik"], rel=RTOL)
    pr = FITS[fid]["profile"]
    got = [loglik_tau2(m, t) for t in num(pr["tau2"])]
    np.testing.assert_allclose(got, num(pr["ll"]), rtol=RTOL)


def test_genq_equal_variances_by_hand() -> None:
    y = np.array([0.1, 0.5, -0.3, 0.9, 0.2, 0.7])
    v, a = 0.04, 2.0
    res = rma(y, [v] * 6, method="REML")
    ci = confint(res, type="GENQ", weights=[a] * 6)
    q = a * float(np.sum((y - y.mean()) ** 2))
    lb = q / (a * stats.chi2.ppf(0.975, 5)) - v
    ub = q / (a * stats.chi2.ppf(0.025, 5)) - v
    assert ci.tau2_ci[0] == pytest.approx(max(lb, 0.0), rel=1e-7)
    assert ci.tau2_ci[1] == pytest.approx(ub, rel=1e-7)
    # and here the Q-profile CI is the same interval (Q(t) = sum (y - ybar)^2 / (v + t))
    assert confint(res).tau2_ci[1] == pytest.approx(ub, rel=1e-9)


def test_imhof_against_chi_square() -> None:
    """sum of 5 chi2_1 with weight 3 is 3 chi2_5; unequal weights against simulation-free
    two-term check: lam = (1, 1) is chi2_2 (exponential with mean 2)."""
    for q in (0.5, 3.0, 10.0, 40.0):
        assert _imhof_sf(q, np.full(5, 3.0)) == pytest.approx(stats.chi2.sf(q / 3, 5), abs=1e-9)
        assert _imhof_sf(q, np.ones(2)) == pytest.approx(math.exp(-q / 2), abs=1e-9)


def test_confint_errors() -> None:
    with pytest.raises(InputError, match="type"):
        confint(fit("bcg_REML"), type="Wald2")
    with pytest.raises(InputError, match="random-effects"):
        confint(rma([0.1, 0.2, 0.4], [0.1, 0.1, 0.1], method="EE"))
    with pytest.raises(InputError, match="fixed"):
        confint(rma([0.1, 0.2, 0.4], [0.1, 0.1, 0.1], tau2=0.1))
    with pytest.raises(InputError, match="weights"):
        confint(fit("bcg_REML"), type="GENQ", weights=[1, 2])


def test_to_dict_and_summary() -> None:
    ci = confint(fit("bcg_REML"), type="PL")
    d = json.loads(json.dumps(ci.to_dict()))
    assert d["type"] == "PL" and d["tau2_ci_ub_open"] is False
    assert "tau^2" in ci.summary() and "I^2(%)" in str(ci)


def test_reg_confint_on_ee_reg_raises() -> None:
    d = {"yi": [0.1, 0.3, 0.2, 0.6], "vi": [0.1] * 4, "x": [1.0, 2.0, 3.0, 4.0]}
    import pandas as pd

    r = rma_reg("yi", "vi", mods="x", data=pd.DataFrame(d), method="EE")
    with pytest.raises(InputError):
        r.confint()
