"""``rma_mv(..., control={"nearpd": True})`` against metafor 3.8.1's
``rma.mv(..., control=list(nearpd=TRUE))``.

Reference values: tests/data/goldens_rma_mv_nearpd.json, written by
``Rscript scripts/goldens/rma_mv_nearpd.R``: sampling covariance matrices ``V`` that are not
positive definite (dat.berkey1998 with a within-trial correlation of 1.5 in three trials;
dat.konstantopoulos2011 with ``vcalc(rho = -0.6)``) and a ``struct="UN"`` ``G`` made non
positive definite by fixed ``rho`` values (dat.ishak2007), and the same fixed values as ``phi``
of a second ``struct="UN"`` term (``H``, ``random=["~ time | region", "~ time | study"]``,
region = consecutive studies in fours, a grouping made for the test); and two fits with every
component fixed where ``M`` itself is not positive definite (no optimiser: the likelihood of
``nearPD(M)``, eigenvalues cut, computed block by block, against metafor's ``nearPD`` of the
full matrix; agreement 1e-10 there). At the optima of the other five nearPD cuts no eigenvalue
of ``M`` (it does cut ``G`` in the ishak2007 cases). metafor's nearPD'd objective is not
smooth and its default ``nlminb`` stops with "false convergence"; the script fits each model
with bobyqa, Nelder-Mead and BFGS at tight tolerances and keeps the largest log-likelihood
(``spread``, written beside each case, is how far the fits within 1e-9 of it disagree: at most
5.6e-5 for berkey's BFGS, which stops short; the kept fit is the best). Compared at rtol 1e-6.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import ATOL, RTOL, load_goldens, num
from scipy import sparse

from metareview.errors import InputError, MetareviewWarning
from metareview.models import rma_mv
from metareview.models._nearpd import nearpd, nearpd_blocks

G = load_goldens("goldens_rma_mv_nearpd.json")
CASES: dict[str, Any] = G["fits"]


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(G["datasets"][name]["columns"])


def matrix(name: str) -> sparse.csr_matrix:
    m = G["matrices"][name]
    return sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))


def fit(case: dict[str, Any], *, use_nearpd: bool = True) -> Any:
    d = frame(case["dataset"])
    v = case["V"] if case["V"] in d.columns else matrix(case["V"])
    mods = None if case["mods"] == "~ 1" else case["mods"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetareviewWarning)  # V not PD: tested on its own
        return rma_mv("yi", v, data=d, random=case["random"], mods=mods, struct=case["struct"],
                      method=case["method"], control={"nearpd": use_nearpd},
                      **dict(case.get("extra") or {}))


def close(ours: Any, ref: Any, what: str) -> None:
    np.testing.assert_allclose(np.atleast_1d(np.asarray(ours, dtype=float)), np.atleast_1d(
        num(ref)), rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("cid", sorted(CASES))
def test_nearpd_matches_metafor(cid: str) -> None:
    """metafor: ``rma.mv(yi, V, ..., control=list(nearpd=TRUE))`` (scripts/goldens/
    rma_mv_nearpd.R, fit_case): estimates, se, Var(beta), the variance components, the
    (nearPD'd) G, log-likelihood, deviance, AIC/BIC/AICc, QE and QM."""
    case = CASES[cid]
    res = fit(case)
    assert res.coef_names == tuple(case["coef_names"])
    for f in ("beta", "se", "zval", "pval", "ci_lb", "ci_ub", "vb", "logLik", "deviance",
              "AIC", "BIC", "AICc", "QM", "QMp"):
        close(getattr(res, f), case[f], f"{cid}: {f}")
    # metafor stores 0 for a component the model does not have
    for f in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        if f not in case:
            continue
        ref = np.atleast_1d(num(case[f]))
        close(getattr(res, f), ref[: getattr(res, f).size].tolist(), f"{cid}: {f}")
    for f in ("G", "H"):
        if case.get(f) is not None:
            close(getattr(res, f), case[f], f"{cid}: {f}")
    assert res.parms == case["parms"]
    if case["QE"] == "NA":  # V not positive definite: metafor's QE is NA
        assert math.isnan(res.QE) and math.isnan(res.QEp)
        assert res.to_dict()["QE"] is None
        assert "Heterogeneity" not in res.summary()  # metafor omits the test
    else:
        close(res.QE, case["QE"], f"{cid}: QE")
        close(res.QEp, case["QEp"], f"{cid}: QEp")


@pytest.mark.parametrize("cid", sorted(CASES))
def test_without_nearpd_as_metafor(cid: str) -> None:
    """metafor without nearpd (its default optimiser): where it stops with "Final
    variance-covariance matrix not positive definite" ours raises an InputError naming V with
    that message (and pointing to nearpd when V itself is not positive definite); where it
    fits (konstantopoulos2011: the school-level sigma^2 makes M positive definite; the
    two-term ishak2007 model, whose H is not positive definite but M is), ours fits and agrees
    with its best fit (nlminb, bobyqa, Nelder-Mead, BFGS: the highest logLik; for the
    two-term model nlminb stops 3.2e-8 below it, gamma2[2] at 0)."""
    case = CASES[cid]
    ref = case["without_nearpd"]
    if "error" in ref:
        assert ref["error"] == "Final variance-covariance matrix not positive definite."
        with pytest.raises(InputError, match="Final variance-covariance matrix not positive "
                           "definite") as err:
            fit(case, use_nearpd=False)
        assert err.value.field == "V"
        if case["V"] not in frame(case["dataset"]).columns:
            assert "nearpd" in str(err.value)
    else:
        res = fit(case, use_nearpd=False)
        for f in ("beta", "se", "sigma2", "logLik"):
            n = np.atleast_1d(getattr(res, f)).size  # metafor stores 0 for no sigma2
            close(getattr(res, f), np.atleast_1d(num(ref[f]))[:n].tolist(),
                  f"{cid} without nearpd: {f}")


def test_v_not_positive_definite_warns() -> None:
    """metafor warns "'V' appears to be not positive definite." (and reports QE = NA); ours
    warns that V is not positive definite and that QE is not computed."""
    case = CASES["konst_reml"]
    with pytest.warns(MetareviewWarning, match="V is not positive definite"):
        rma_mv("yi", matrix(case["V"]), data=frame(case["dataset"]),
               random=case["random"], control={"nearpd": True})


def test_nearpd_changes_nothing_where_m_is_well_conditioned() -> None:
    """nearPD returns its input (up to rounding) when no eigenvalue is below 1e-6 times the
    largest: dat.konstantopoulos2011 with its diagonal V gives the same fit with and without
    nearpd (the nearpd fit takes the general block path, not the closed-form nested one)."""
    d = frame("konstantopoulos2011")
    a = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    b = rma_mv("yi", "vi", data=d, random="~ 1 | district/school", control={"nearpd": True})
    for f in ("beta", "se", "sigma2", "logLik", "QE"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-9, err_msg=f)


def test_un_g_is_nearpd_of_the_fixed_correlations() -> None:
    """With fixed rho (0.9, 0.9, 0, -0.5, 0, 0) G is not positive definite for any tau2; as
    metafor's .con.E ours reports G = nearPD(G) (positive definite, its smallest eigenvalue
    raised to 1e-8 times the largest), tau2 = diag(G) and rho = cov2cor(G), so the reported
    rho are not the fixed values."""
    res = fit(CASES["ishak_un_fixed_rho_reml"])
    ev = np.linalg.eigvalsh(res.G)
    assert ev[0] > 0
    np.testing.assert_allclose(ev[0] / ev[-1], 1e-8, rtol=1e-6)
    np.testing.assert_allclose(res.tau2, np.diag(res.G), rtol=1e-12)
    sd = np.sqrt(np.diag(res.G))
    assert res.rho[0] == pytest.approx(res.G[1, 0] / (sd[1] * sd[0]), rel=1e-12)
    assert abs(res.rho[0] - 0.9) > 0.3


def test_nearpd_blocks_of_stacks_equal_nearpd_of_the_full_matrix() -> None:
    """``nearpd_blocks`` on stacks ``(nb, m, m)`` (as rma_mv passes M's blocks) equals
    ``nearpd`` of the whole block-diagonal matrix (Matrix::nearPD's algorithm; its golden is
    tests/models/test_matreg.py), including the thresholds relative to the largest eigenvalue
    of the whole matrix, which here lies in another block than the non-PD ones."""
    rng = np.random.default_rng(7)
    stack = []
    for i in range(5):
        sd = rng.uniform(0.1, 0.3, 2)
        r = 1.5 if i % 2 == 0 else 0.3  # correlations of 1.5: not positive definite
        stack.append(np.outer(sd, sd) * np.array([[1.0, r], [r, 1.0]]))
    big = np.diag([4.0, 3.0, 2.0])
    blocks, res = nearpd_blocks([np.stack(stack), big])
    full = np.zeros((13, 13))
    for i, b in enumerate(stack):
        full[2 * i:2 * i + 2, 2 * i:2 * i + 2] = b
    full[10:, 10:] = big
    ref = nearpd(full)
    got = np.zeros((13, 13))
    for i in range(5):
        got[2 * i:2 * i + 2, 2 * i:2 * i + 2] = blocks[0][i]
    got[10:, 10:] = blocks[1]
    np.testing.assert_allclose(got, ref.mat, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.eigenvalues, ref.eigenvalues, rtol=1e-10, atol=1e-15)
    assert res.clipped and ref.clipped and res.iterations == ref.iterations
    assert not nearpd(np.diag([1.0, 2.0])).clipped


MULTI: dict[str, Any] = G["berkey_un_ml_multimodal"]


def test_ml_local_maxima_as_metafor() -> None:
    """dat.berkey1998 (V not PD), UN, ML: the nearPD'd likelihood has several local maxima.
    metafor's default optimiser (nlminb) and BFGS stop at the one where nearPD cuts nothing
    (smallest eigenvalue of M 0.01); Nelder-Mead (logLik 6.4385) and bobyqa (5.9302) at others
    inside the region where it cuts M's smallest eigenvalues to 1e-8 times the largest (there
    the residuals along those eigenvectors are weighted by 1e8 / max eigenvalue). Ours
    optimises from metafor's start value to the first, as nlminb: logLik at 1e-10, estimates
    at 1e-6. At the other two (components fixed at metafor's estimates) ours gives metafor's
    beta, se and logLik: the likelihood surface is metafor's, maxima and all."""
    ref = MULTI["nlminb_default"]
    case = {**CASES["berkey_un_reml"], "method": "ML"}
    res = fit(case)
    assert res.logLik == pytest.approx(ref["logLik"], rel=1e-10)
    for f in ("beta", "se", "tau2", "rho"):
        close(getattr(res, f), ref[f], f"ML nlminb: {f}")
    for name in ("nelder_mead", "bobyqa"):
        at = MULTI[name]
        assert at["M_min_eigen"] / at["M_max_eigen"] < 1e-6  # nearPD cut eigenvalues there
        fx = fit({**case, "extra": {"tau2": at["tau2"], "rho": at["rho"]}})
        for f in ("beta", "se", "logLik"):
            close(getattr(fx, f), at[f], f"{name}: {f}")
        assert fx.logLik > res.logLik


def _vvc_is_the_varcor_golden(cvvc: bool | str) -> None:
    """ishak_un_fixed_rho_reml refitted with ``cvvc``: its vvc against metafor's varcor vvc
    (rtol 1e-6; entries that are 0 in exact arithmetic at 1e-6 of the largest)."""
    ref = G["ishak_un_fixed_rho_reml_cvvc"]
    case = CASES["ishak_un_fixed_rho_reml"]
    d = frame(case["dataset"])
    res = rma_mv("yi", "vi", data=d, random=case["random"], mods=case["mods"], struct="UN",
                 control={"nearpd": True}, cvvc=cvvc, **case["extra"])
    assert res.vvc_names == tuple(ref["vvc_names"])
    vvc = np.array(ref["vvc"], dtype=float)
    np.testing.assert_allclose(res.vvc, vvc, rtol=1e-6, atol=1e-6 * float(np.max(vvc)))


def test_cvvc_with_a_nearpd_g_as_metafor() -> None:
    """metafor: ``rma.mv(..., rho = c(0.9, 0.9, 0, -0.5, 0, 0), struct = "UN", cvvc = TRUE,
    control = list(nearpd = TRUE))`` (scripts/goldens/rma_mv_nearpd.R): its Hessian is taken
    at the reported nearPD'd tau2 used as inputs (which nearPD changes again: not the optimum),
    as ours (multilevel._vvc_nearpd_g). rtol 1e-6; entries that are 0 in exact arithmetic
    (tau^2.4 is separate) at 1e-6 of the largest."""
    _vvc_is_the_varcor_golden(True)


def test_cvvc_varcov_with_a_nearpd_g_falls_back_as_metafor() -> None:
    """metafor 3.8.1 with ``cvvc = "varcov"`` on the same model (its G repaired by nearPD, its
    correlations fixed) warns "Cannot use cvvc='varcov' when one or more components are
    fixed. Setting cvvc='varcor'." and returns the varcor vvc (checked in R: the two vvc
    matrices are identical); so does ours, against the same golden at the same tolerance."""
    with pytest.warns(Warning, match="varcor"):
        _vvc_is_the_varcor_golden("varcov")


ROBUST: dict[str, Any] = G["robust"]


@pytest.mark.parametrize("rid", sorted(ROBUST))
def test_robust_of_a_nearpd_fit_as_metafor(rid: str) -> None:
    """metafor: ``robust(res, cluster=, clubSandwich=)`` of the nearPD'd fits
    (scripts/goldens/rma_mv_nearpd.R, robust_cases): CR1 with n - p df and clubSandwich's CR2
    with Satterthwaite df, built on the fit's (repaired) marginal covariance. The clusters are
    the models' outer groupings (trial, district, study). Compared at rtol 1e-6 (the fits
    themselves agree to 1e-6 above)."""
    from metareview.models import robust

    ref = ROBUST[rid]
    case = CASES[ref["fit"]]
    res = fit(case)
    outer = {"berkey1998": "trial", "konstantopoulos2011": "district", "ishak2007": "study"}
    cluster = frame(case["dataset"])[outer[case["dataset"]]]
    r = robust(res, cluster, clubsandwich=ref["clubsandwich"])
    assert r.vcov_type == ("CR2" if ref["clubsandwich"] else "CR1")
    for f in ("beta", "se", "zval", "pval", "ci_lb", "ci_ub"):
        close(getattr(r, f), ref[f], f"{rid}: {f}")
    close(np.broadcast_to(r.ddf, r.beta.shape), np.broadcast_to(
        np.atleast_1d(num(ref["ddf"])), r.beta.shape).tolist(), f"{rid}: ddf")
    close(r.vb, ref["vb"], f"{rid}: vb")
    if r.beta.size > 1:
        close(r.QM, ref["QM"], f"{rid}: QM")
        close(r.QMp, ref["QMp"], f"{rid}: QMp")


@pytest.mark.parametrize("pid", ["konst_reml", "konst_ml"])
def test_profile_of_a_nearpd_fit_as_metafor(pid: str) -> None:
    """metafor: ``profile(res, steps=7)`` of the nearPD'd fit (scripts/goldens/
    rma_mv_nearpd.R, profile_cases; the fit and each refit on the grid by bobyqa with
    ``nearpd = TRUE``, since metafor's Nelder-Mead refits fail at some grid points): the grid
    of each component and the profile log-likelihood at rtol 1e-6."""
    from metareview.models import profile_mv

    ref = G["profile"][pid]
    res = fit(CASES[pid])
    assert res.logLik == pytest.approx(ref["logLik"], rel=1e-9)
    prs = profile_mv(res, steps=7)
    assert len(prs) == len(ref["profiles"])
    for pr, r in zip(prs, ref["profiles"], strict=True):
        np.testing.assert_allclose(pr.vc, np.asarray(num(r["vc"]), float), rtol=1e-6)
        np.testing.assert_allclose(pr.ll, np.asarray(num(r["ll"]), float), rtol=1e-6)
