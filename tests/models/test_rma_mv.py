"""metareview.models.rma_mv and vcalc against metafor 3.8.1 (``rma.mv``, ``vcalc``).

Reference values: tests/data/goldens_rma_mv.json, written by ``Rscript scripts/goldens/rma_mv.R``
(each fit ``rma.mv(yi, V, random=, mods=, struct=, method=, test=, control=list(optimizer="optim",
optmethod="BFGS", reltol=1e-14))``, its ``predict()``, ``confint(res, control=list(tol=1e-10))``,
``ranef()`` and ``print()``; and the same model refitted with its variance components *fixed* at
the estimates (``sigma2=, tau2=, rho=, gamma2=, phi=``), which involves no optimiser, with its
``ranef()``).

Tolerances, and why:

* Fixed variance components: no optimisation on either side, so beta, se, Var(beta), the
  (restricted) log-likelihood and QM agree to rtol 1e-8 (measured: <= 4e-11), and so do the
  BLUPs of ``ranef()`` (measured: <= 1e-11 relative to each term's largest value).
* Estimated components: rtol 1e-6 (atol 1e-7 for values near 0 such as a CI bound). metafor's
  optimum (BFGS with a numerical gradient) is reached to ~2e-7 in the components; ours uses the
  analytic gradient and Newton steps.
* ``struct="UN"`` fits (berkey1998, colditz1994): the likelihood is flat in the correlation
  and metafor's optimiser stops up to 1.1e-4 (relative) from the optimum in tau^2, so those
  values are compared at rtol 5e-4 and the test asserts our log-likelihood is at least
  metafor's (it is higher by up to 5e-9); their fixed-component refits still agree to 1e-8.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num
from scipy import sparse

from metareview.errors import InputError, MetareviewWarning
from metareview.models import RMAMVResult, rma_mv, vcalc

G = load_goldens("goldens_rma_mv.json")
FITS: dict[str, Any] = G["fits"]
FLAT = {"berkey_un_reml", "berkey_un_ml", "berkey_un_ml_year", "berkey_un_ml_star",
        "berkey_un_ml_rho0", "colditz_un_ml", "berkey_un_contain", "berkey_un_t"}
#: fits with a variance component at its boundary 0, where metafor's optimiser stops at up to
#: 1e-8 (ours at < 1e-10): a BLUP's se there is about the square root, so up to 1e-4 apart
BOUNDARY = {"konst_diag_district", "konst_two_districts_contain", "konst_one_district",
            "law2016_eg1_consistency",
            "law2016_eg1_inconsistency"}
#: fits of data with missing values, which metafor leaves out by default (na.omit)
NA_OMIT = {"konst_na_omit"}
#: fits whose printout is identical to metafor's (in the others the 4th decimal of a value
#: differs by one unit because metafor stops its optimiser slightly short of the optimum)
PRINT_SAME = ["konst_reml", "konst_ml", "konst_reml_year", "konst_ml_year", "konst_reml_t",
              "konst_ml_year_t", "konst_study", "konst_mv_cs", "berkey_cs_reml",
              "berkey_hcs_reml", "berkey_diag_reml", "berkey_id_reml", "ishak_diag_vi",
              "ishak_id_vi", "gleser_rd", "konst_two_terms", "assink_vcalc",
              "konst_district_t_contain", "law2016_eg1_consistency", "law2016_eg1_inconsistency",
              "law2016_eg2_consistency", "law2016_eg2_inconsistency", "ishak_car",
              "konst_one_district", "konst_one_inner_cs", "konst_one_inner_hcs",
              "konst_na_omit"]


def frame(name: str) -> pd.DataFrame:
    """A golden's data set; R's NA (written "NA") as a missing value."""
    out = pd.DataFrame(G["datasets"][name]["columns"])
    for c in out.columns:
        if out[c].dtype == object and (out[c] == "NA").any():
            out[c] = pd.to_numeric(out[c].replace("NA", None))
    return out


def matrix(name: str) -> sparse.csr_matrix:
    m = G["matrices"][name]
    return sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))


def fit(fid: str, **extra: Any) -> RMAMVResult:
    f = FITS[fid]
    d = frame(f["dataset"])
    v = f["V"] if f["V"] in d.columns else matrix(f["V"])
    rnd = f["random"]
    rnd = None if rnd is None else (rnd[0] if len(rnd) == 1 else rnd)
    kw = dict(f.get("extra") or {})
    if fid in NA_OMIT:  # metafor's default na.action = "na.omit"
        kw["na_action"] = "omit"
    kw.update(extra)
    return rma_mv("yi", v, data=d, random=rnd, mods=f["mods"], struct=f["struct"],
                  method=f["method"], test=f["test"], **kw)


def close(ours: Any, ref: Any, rtol: float, atol: float = 0.0, what: str = "") -> None:
    a = np.atleast_1d(np.asarray(ours, dtype=float))
    b = np.atleast_1d(num(ref) if not isinstance(ref, np.ndarray) else ref)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture(scope="module")
def fits() -> dict[str, RMAMVResult]:
    return {fid: fit(fid) for fid in FITS}


@pytest.mark.parametrize("fid", list(FITS))
def test_estimates_agree_with_metafor(fid: str, fits: dict[str, RMAMVResult]) -> None:
    """``rma.mv`` (metafor 3.8.1), per fit: coefficients, tests, components, fit statistics."""
    f, r = FITS[fid], fits[fid]
    rtol = 5e-4 if fid in FLAT else 1e-6
    names = f["coef_names"]
    assert list(r.coef_names) == ([names] if isinstance(names, str) else list(names))
    assert r.k == f["k"] and r.p == f["p"] and r.parms == f["parms"]
    for key in ("beta", "se", "zval", "ci_lb", "ci_ub"):
        close(getattr(r, key), f[key], rtol, 1e-7, f"{fid}.{key}")
    # a p-value's relative error is about z^2 times that of z: 20 x rtol (measured 1.1e-6)
    close(r.pval, f["pval"], 20 * rtol, 1e-12, f"{fid}.pval")
    close(r.vb, np.asarray(f["vb"], dtype=float), rtol, 1e-10, f"{fid}.vb")
    for key in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        if getattr(r, key).size:
            # atol 5e-7: a component whose optimum is 0 (the boundary) is left by metafor
            # at up to 1.4e-7 (konst_diag_district), ours at < 1e-14
            close(getattr(r, key), f[key], rtol, 5e-7, f"{fid}.{key}")
    if f["s_nlevels"]:
        assert list(r.s_nlevels) == [int(x) for x in np.atleast_1d(f["s_nlevels"])]
    close(r.QE, f["QE"], 1e-9, 0.0, f"{fid}.QE")  # QE does not depend on the components
    close(r.QEp, f["QEp"], 1e-8, 1e-300, f"{fid}.QEp")
    close(r.QM, f["QM"], rtol, 0.0, f"{fid}.QM")
    # the likelihood at the optimum: ours is never below metafor's (where they differ, by at
    # most 1.6e-7 in konst_diag_district, ours is the higher)
    for key in ("logLik", "deviance", "AIC", "BIC", "AICc"):
        close(getattr(r, key), f[key], 1e-8, 5e-7, f"{fid}.{key}")
    assert r.logLik >= f["logLik"] - 1e-9
    if f["test"] == "t":  # per coefficient (dfs="contain" gives different ones)
        assert list(r.ddf_coef) == [int(d) for d in np.broadcast_to(num(f["ddf"]), (r.p,))]
        assert r.QMdf[1] == int(num(f["QMdf"])[1])


@pytest.mark.parametrize("fid", [k for k in FITS if "fixed" in FITS[k]])
def test_fixed_components_agree_exactly(fid: str) -> None:
    """``rma.mv(..., sigma2=, tau2=, rho=)`` with the components fixed: no optimiser, so the GLS
    algebra and the (restricted) likelihood are compared at rtol 1e-8."""
    fx = FITS[fid]["fixed"]
    kw: dict[str, Any] = {}
    for key in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        vals = np.atleast_1d(num(fx[key])) if fx.get(key) is not None else np.empty(0)
        if vals.size:
            kw[key] = [float(v) for v in vals]
    r = fit(fid, **kw)
    assert all(r.fixed)
    close(r.beta, fx["beta"], 1e-8, 1e-12, "beta")
    close(r.se, fx["se"], 1e-8, 0.0, "se")
    close(r.vb, np.asarray(fx["vb"], dtype=float), 1e-8, 1e-14, "vb")
    close(r.logLik, fx["logLik"], 1e-10, 0.0, "logLik")
    close(r.QM, fx["QM"], 1e-8, 0.0, "QM")


@pytest.mark.parametrize("fid", list(FITS))
def test_predict_agrees_with_metafor(fid: str, fits: dict[str, RMAMVResult]) -> None:
    """``predict.rma.mv`` without newmods: pred, se, CI and (where metafor gives one) the PI."""
    ref = FITS[fid]["predict"]
    pr = fits[fid].predict()
    rtol = 5e-4 if fid in FLAT else 1e-6
    for key in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        vals = np.atleast_1d(num(ref[key])) if ref[key] is not None else np.empty(0)
        if vals.size == 0 or np.all(np.isnan(vals)):
            assert np.all(np.isnan(pr[key].to_numpy()))
            continue
        # konst_diag_district: tau^2 at the boundary (0) is 1.4e-7 in metafor, which moves its PI
        atol = 2e-5 if fid in FLAT else 2e-6 if fid == "konst_diag_district" else 1e-7
        close(pr[key].to_numpy(), vals, rtol, atol, f"{fid}.{key}")


def test_predict_newmods() -> None:
    """x'b and sqrt(x' Var(b) x) at year 2000 (hand calculation from the fitted b and vb)."""
    r = fit("konst_reml_year")
    pr = r.predict(newmods=[[10.0]])
    x = np.array([1.0, 10.0])
    assert pr["pred"].iloc[0] == pytest.approx(float(x @ r.beta), rel=1e-12)
    assert pr["se"].iloc[0] == pytest.approx(math.sqrt(float(x @ r.vb @ x)), rel=1e-12)
    with pytest.raises(InputError, match="newmods"):
        r.predict(newmods=[[1.0, 2.0]])


@pytest.mark.parametrize("fid", [k for k in FITS if "confint" in FITS[k]])
def test_profile_confint_agrees_with_metafor(fid: str, fits: dict[str, RMAMVResult]) -> None:
    """``confint.rma.mv`` (profile likelihood) at tol 1e-10: bounds agree to 1e-6 (absolute;
    measured <= 3e-8). metafor caps rho's upper bound at 1 as we do."""
    ref = FITS[fid]["confint"]
    ci = fits[fid].confint()
    assert list(ci.index) == ref["names"]
    # law2016 example 1: tau^2 and gamma^2 are 0; metafor's optimiser leaves them at up to 6e-10,
    # whose square root (the tau row) is 2.5e-5, ours at < 2e-11
    close(ci["estimate"], ref["estimate"], 5e-4 if fid in FLAT else 1e-6,
          5e-5 if fid in BOUNDARY else 0.0, "estimate")
    close(ci["ci_lb"], ref["ci_lb"], 0.0, 1e-6, "ci_lb")
    close(ci["ci_ub"], ref["ci_ub"], 0.0, 1e-6, "ci_ub")


@pytest.mark.parametrize("fid", [k for k in FITS if "ranef" in FITS[k]])
def test_ranef_agrees_with_metafor(fid: str, fits: dict[str, RMAMVResult]) -> None:
    """``ranef(res)`` (metafor's ``ranef.rma.mv``): per random term, the BLUPs with their se
    and prediction interval, row names and order as metafor's. rtol 1e-6 as the estimates
    (the UN fits 5e-4, see the module docstring); the PI bounds of ``test="t"`` fits use the
    term's t df. A BLUP near 0 is compared relative to the term's largest value (a difference
    of two fitted quantities keeps their absolute, not relative, precision). In the BOUNDARY
    fits the se of a term whose variance is 0 is about the square root of where each optimiser
    stopped, so there only the BLUPs are compared (the same model with the components fixed is
    compared in full by test_ranef_with_fixed_components_agrees_exactly)."""
    rtol = 5e-4 if fid in FLAT else 1e-6
    atol0 = 2e-5 if fid in FLAT else 1e-7
    cols = ("intrcpt",) if fid in BOUNDARY else ("intrcpt", "se", "pi_lb", "pi_ub")
    _compare_ranef(fits[fid].ranef(), FITS[fid]["ranef"], rtol, atol0, cols, fid)


@pytest.mark.parametrize("fid", [k for k in FITS if "ranef" in FITS[k].get("fixed", {})])
def test_ranef_with_fixed_components_agrees_exactly(fid: str) -> None:
    """``ranef()`` of the model refitted with its components fixed at metafor's estimates: no
    optimiser on either side, so the BLUP algebra is compared at rtol 1e-8 (relative to the
    term's largest value for a BLUP near 0)."""
    fx = FITS[fid]["fixed"]
    kw: dict[str, Any] = {}
    for key in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        vals = np.atleast_1d(num(fx[key])) if fx.get(key) is not None else np.empty(0)
        if vals.size:
            kw[key] = [float(v) for v in vals]
    _compare_ranef(fit(fid, **kw).ranef(), fx["ranef"], 1e-8, 1e-12,
                   ("intrcpt", "se", "pi_lb", "pi_ub"), fid)


def _compare_ranef(got: dict[str, pd.DataFrame], ref: dict[str, Any], rtol: float,
                   atol0: float, cols: tuple[str, ...], fid: str) -> None:
    assert list(got) == list(ref)
    for term, r in ref.items():
        df = got[term]
        names = r["names"] if isinstance(r["names"], list) else [r["names"]]
        assert list(df.index) == names, term
        for col in cols:
            vals = np.atleast_1d(num(r[col]))
            atol = max(atol0, rtol * float(np.max(np.abs(vals))))
            close(df[col].to_numpy(), vals, rtol, atol, f"{fid}.{term}.{col}")


def test_ranef_by_hand() -> None:
    """One ``~ 1 | study`` term with one estimate per study and sigma^2 fixed is the random-effects
    model: the BLUP of study i is ``tau2/(tau2 + v_i) (y_i - mu)`` and its variance
    ``tau2 v_i/(tau2 + v_i) + (tau2/(tau2 + v_i))^2 Var(mu)`` (Raudenbush & Bryk 1985; the
    formula metafor's ``ranef.rma.uni`` uses), computed here from the fitted mu."""
    y = np.array([0.2, -0.1, 0.5, 0.3, 0.0])
    v = np.array([0.04, 0.09, 0.05, 0.02, 0.1])
    t2 = 0.03
    d = pd.DataFrame({"yi": y, "vi": v, "study": list("abcde")})
    r = rma_mv("yi", "vi", data=d, random="~ 1 | study", sigma2=t2)
    w = 1.0 / (v + t2)
    mu = float(np.sum(w * y) / np.sum(w))
    lam = t2 / (t2 + v)
    re = r.ranef()["study"]
    assert list(re.index) == list("abcde")
    np.testing.assert_allclose(re["intrcpt"], lam * (y - mu), rtol=1e-12)
    var = t2 * v / (t2 + v) + lam**2 / np.sum(w)
    np.testing.assert_allclose(re["se"], np.sqrt(var), rtol=1e-12)
    np.testing.assert_allclose(re["pi_ub"] - re["intrcpt"], 1.959963984540054 * np.sqrt(var),
                               rtol=1e-12)


@pytest.mark.parametrize("fid", PRINT_SAME)
def test_summary_is_metafors_printout(fid: str, fits: dict[str, RMAMVResult]) -> None:
    """``print(rma.mv(...))`` captured from R, character for character."""
    assert fits[fid].summary() == FITS[fid]["print"]


def test_to_dict_is_json_safe(fits: dict[str, RMAMVResult]) -> None:
    import json

    d = fits["berkey_un_reml"].to_dict()
    text = json.dumps(d)
    assert "NaN" not in text
    assert d["coefficients"][0]["name"] == "outcomeAL"
    assert d["struct"] == ["UN"]
    assert fits["konst_reml"]._repr_html_().startswith('<div class="metareview-result">')


# --------------------------------------------------------------------------- vcalc


@pytest.mark.parametrize("name,rho", [("assink2016_vcalc_rho06", 0.6),
                                      ("assink2016_vcalc_rho03", 0.3)])
def test_vcalc_agrees_with_metafor(name: str, rho: float) -> None:
    """``vcalc(vi, cluster=study, obs=esid, data=dat.assink2016, rho=)``: exact up to rounding."""
    d = frame("assink2016")
    ref = matrix(name).toarray()
    dense = vcalc("vi", "study", obs="esid", rho=rho, data=d)
    assert isinstance(dense, np.ndarray)
    np.testing.assert_allclose(dense, ref, rtol=1e-14, atol=1e-15)
    sp = vcalc(d["vi"], d["study"], obs=d["esid"], rho=rho, sparse=True)
    assert sparse.issparse(sp)
    np.testing.assert_allclose(sp.toarray(), ref, rtol=1e-14, atol=1e-15)


VCALC_CASES = {
    "vcalc_shared_control": ("shared_control", dict(grp1="trt", grp2="ctrl", w1="n1", w2="n2")),
    "vcalc_shared_control_time": ("shared_control", dict(grp1="trt", grp2="ctrl", w1="n1",
                                                         w2="n2", time1="time", phi=0.8)),
    "vcalc_ishak_time": ("ishak2007", dict(time1="time", phi=0.9)),
    "vcalc_assink_type": ("assink2016", dict(type="deltype", rho=0.4)),
    "vcalc_assink_type_obs": ("assink2016", dict(type="deltype", obs="esid", rho=(0.6, 0.3))),
}


@pytest.mark.parametrize("name", list(VCALC_CASES))
def test_vcalc_groups_times_types_agree_with_metafor(name: str) -> None:
    """metafor's ``vcalc`` with shared groups (``grp1``, ``grp2``, sizes ``w1``, ``w2``), time
    points (``time1``, ``phi``) and constructs (``type``, ``obs``): the matrices of
    scripts/goldens/rma_mv.R (each call written in its source), exact up to rounding."""
    dataset, kw = VCALC_CASES[name]
    ref = matrix(name).toarray()
    got = vcalc("vi", "study", data=frame(dataset), **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


def test_vcalc_shared_control_by_hand() -> None:
    """Two arms against one control (Gleser & Olkin 2009): n = 30 and 25 treated, 35 controls,
    v = 0.05 and 0.06. R_12 = (1/35) / sqrt((1/30 + 1/35)(1/25 + 1/35)) = 0.454742..., so
    V_12 = R_12 sqrt(0.05 * 0.06)."""
    v = vcalc([0.05, 0.06], [1, 1], grp1=["A", "B"], grp2=["P", "P"], w1=[30, 25], w2=[35, 35])
    r12 = (1 / 35) / math.sqrt((1 / 30 + 1 / 35) * (1 / 25 + 1 / 35))
    assert v[0, 1] == pytest.approx(r12 * math.sqrt(0.05 * 0.06), rel=1e-14)
    # independent samples of one study (subgroup): no covariance between them
    v = vcalc([1.0, 4.0, 9.0], [1, 1, 1], subgroup=["a", "a", "b"], rho=0.5)
    np.testing.assert_array_equal(v, [[1, 1, 0], [1, 4, 0], [0, 0, 9]])
    with pytest.raises(InputError, match="phi"):
        vcalc([0.05, 0.06], [1, 1], time1=[1, 2])
    with pytest.raises(InputError, match="grp1"):
        vcalc([0.05, 0.06], [1, 1], grp2=["P", "P"])
    with pytest.raises(InputError, match="rho"):
        vcalc([0.05, 0.06], [1, 1], obs=[1, 2], type=[1, 1], rho=0.5)


def test_vcalc_by_hand() -> None:
    """Two estimates of cluster 1 (v = 1, 4), one of cluster 2: V12 = 0.5 * sqrt(1 * 4) = 1; the
    same obs twice is perfectly correlated (metafor's rule): sqrt(1 * 4) = 2."""
    v = vcalc([1.0, 4.0, 9.0], [1, 1, 2], rho=0.5)
    np.testing.assert_array_equal(v, [[1, 1, 0], [1, 4, 0], [0, 0, 9]])
    v = vcalc([1.0, 4.0, 9.0], [1, 1, 2], obs=[1, 1, 1], rho=0.5)
    assert v[0, 1] == 2.0
    with pytest.raises(InputError, match="rho"):
        vcalc([1.0, 4.0], [1, 1], rho=1.5)
    with pytest.raises(InputError, match="row 2"):
        vcalc([1.0, -4.0], [1, 1])
    with pytest.raises(InputError, match="missing cluster"):
        vcalc([1.0, 4.0], [1, None])


# --------------------------------------------------------------------------- input checks


def test_bad_input_is_a_located_error() -> None:
    d = frame("konstantopoulos2011")
    with pytest.raises(InputError, match="no column 'nope'"):
        rma_mv("yi", "vi", data=d, random="~ 1 | nope")
    with pytest.raises(InputError, match="random formula"):
        rma_mv("yi", "vi", data=d, random="1 | district")
    with pytest.raises(InputError, match="struct"):
        rma_mv("yi", "vi", data=d, random="~ factor(study) | district", struct="XYZ")
    bad = d.copy()
    bad.loc[3, "vi"] = -1.0
    with pytest.raises(InputError, match="row 4"):
        rma_mv("yi", "vi", data=bad, random="~ 1 | district/school")
    with pytest.raises(InputError, match="method"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district", method="DL")
    with pytest.raises(InputError, match="V is 3 x 3"):
        rma_mv("yi", np.eye(3), data=d, random="~ 1 | district")
    with pytest.raises(InputError, match="not of full rank"):
        rma_mv("yi", "vi", data=d.assign(y2=2 * d["year"]), random="~ 1 | district",
               mods="~ year + y2")


def test_blocks_do_not_change_the_fit() -> None:
    """Shuffling the rows (blocks interleaved) gives the same estimates (metafor's own check in
    test_analysis_example_konstantopoulos2011.r, 'shuffle up dat')."""
    d = frame("konstantopoulos2011")
    a = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    s = d.sample(frac=1.0, random_state=1234).reset_index(drop=True)
    b = rma_mv("yi", "vi", data=s, random="~ 1 | district/school")
    np.testing.assert_allclose(b.sigma2, a.sigma2, rtol=1e-8)
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-10)
    assert b.logLik == pytest.approx(a.logLik, rel=1e-12)


def test_v_forms_give_the_same_fit() -> None:
    """V as a sparse matrix, a dense array and a list of per-trial blocks: one model (berkey1998,
    the goldens' ``berkey_un_reml``)."""
    d = frame("berkey1998")
    vs = matrix("berkey1998_V")
    dense = vs.toarray()
    blocks = [dense[i:i + 2, i:i + 2] for i in range(0, 10, 2)]
    kw: dict[str, Any] = {"data": d, "mods": "~ 0 + outcome", "random": "~ outcome | trial",
                          "struct": "UN"}
    a = rma_mv("yi", vs, **kw)
    for v in (dense, blocks):
        b = rma_mv("yi", v, **kw)
        np.testing.assert_allclose(b.beta, a.beta, rtol=1e-10)
        np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-8)


def test_car_on_equally_spaced_times_is_ar() -> None:
    """``struct="CAR"`` with times 1, 2, 3, 4 is AR(1) with ``rho >= 0``: the same model as the
    goldens' ``ishak_ar`` (whose rho is positive), so the same estimates (by construction)."""
    f = FITS["ishak_ar"]
    assert num(f["rho"]) > 0
    d = frame("ishak2007")
    car = rma_mv("yi", matrix("ishak2007_V"), data=d, random="~ time | study",
                 mods="~ 0 + factor(time)", struct="CAR")
    close(car.rho, f["rho"], 1e-6, 0.0, "rho")
    close(car.tau2, f["tau2"], 1e-6, 0.0, "tau2")
    close(car.beta, f["beta"], 1e-6, 1e-7, "beta")
    assert car.logLik >= f["logLik"] - 1e-9
    with pytest.raises(InputError, match="numeric inner"):
        rma_mv("yi", "vi", data=d.assign(t=d["time"].astype(str)), random="~ t | study",
               struct="CAR")
    with pytest.raises(InputError, match="CAR"):
        rma_mv("yi", "vi", data=d, random="~ time | study", struct="CAR", rho=-0.5)


#: metafor's warnings when it fixes a component of a term with a single level
SINGLE_LEVEL = {"Single-level factor(s) found in 'random' argument": "single-level factor(s)",
                "Inner factor has only a single level": "has only a single level"}


@pytest.mark.parametrize("fid", [k for k, f in FITS.items() if any(
    m in w for w in np.atleast_1d(f.get("warnings") or []) for m in SINGLE_LEVEL)])
def test_single_level_terms_fixed_as_metafor(fid: str) -> None:
    """metafor fixes the sigma2 of a single-level factor (one district: it cannot be told from
    the intercept) and the rho of a CS/HCS term whose inner factor has one level (the likelihood
    does not depend on it) to 0, with a warning; so do we, and the fit, its parameter count
    (AIC 68.43 rather than 70.43 for konst_one_inner_cs) and printout agree."""
    with pytest.warns(MetareviewWarning) as record:
        r = fit(fid)
    said = " ".join(str(w.message) for w in record)
    for theirs, ours in SINGLE_LEVEL.items():
        if any(theirs in w for w in np.atleast_1d(FITS[fid]["warnings"])):
            assert ours in said
    f = FITS[fid]
    assert r.parms == f["parms"] and math.isclose(r.AIC, float(num(f["AIC"])), rel_tol=1e-9)
    if f["s_nlevels"]:
        one = [n == 1 for n in np.atleast_1d(f["s_nlevels"])]
        assert [bool(x) for x in r.fixed[: len(one)]] == one and r.sigma2[one].tolist() == [0.0]
    else:
        assert r.rho.tolist() == [0.0]


def test_missing_values_fail_or_are_omitted_as_metafor() -> None:
    """Rows with a missing yi (3), vi (10) or moderator (20): without ``na_action="omit"``
    the first is named; with it the three rows are left out with a warning, and the fit is
    metafor's na.omit fit (``konst_na_omit``, k = 53 of 56). A missing random-effects
    variable stays an error with it, as metafor's "No NAs allowed in variables specified in
    the 'random' argument"."""
    d = frame("konst_na")
    with pytest.raises(InputError) as err:
        rma_mv("yi", "vi", data=d, random="~ 1 | district/school", mods="~ I(year - 1990)")
    assert err.value.row == 3
    with pytest.warns(MetareviewWarning, match=r"3 row\(s\) with missing values .* 3, 10, 20 "):
        r = fit("konst_na_omit")
    assert r.k == FITS["konst_na_omit"]["k"] == 53
    # the same rows left out of an array V (its diagonal) and of a k x k matrix V
    for v in (d["vi"].to_numpy(), d["vi"].tolist(), np.diag(d["vi"].to_numpy()),
              sparse.diags(d["vi"].to_numpy()).tocsr()):
        with pytest.warns(MetareviewWarning):
            again = rma_mv(d["yi"].to_numpy(), v, data=d, random="~ 1 | district/school",
                           mods="~ I(year - 1990)", na_action="omit")
        np.testing.assert_allclose(again.beta, r.beta, rtol=1e-10)
        np.testing.assert_allclose(again.sigma2, r.sigma2, rtol=1e-8)
    d.loc[29, "school"] = None
    with pytest.raises(InputError, match="random-effects variable"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district/school", na_action="omit")


@pytest.mark.parametrize("fid", sorted(G["predict_levels"]))
def test_predict_tau2_levels(fid: str) -> None:
    """``predict(res, newmods=, tau2.levels=)`` (metafor 3.8.1, ``predict_levels`` of
    scripts/goldens/rma_mv.R): a structure with one tau^2 per inner level (UN, HCS) takes the
    tau^2 of the level asked for into each prediction interval; by name or 1-based number."""
    want = G["predict_levels"][fid]
    r = fit(fid)
    got = r.predict(newmods=want["newmods"], tau2_levels=want["tau2_levels"])
    rtol = 5e-4 if fid in FLAT else 1e-6  # (UN: flat in rho, see FLAT)
    for key in ("pred", "se", "pi_lb", "pi_ub"):
        close(got[key], want[key], rtol, 1e-8, f"{fid}.{key}")
    assert list(got["tau2_level"]) == want["tau2_levels"]
    again = r.predict(newmods=want["newmods"], tau2_levels=[1, 2, 2])
    np.testing.assert_array_equal(again["pi_lb"], got["pi_lb"])
    assert np.isnan(r.predict(newmods=want["newmods"])["pi_lb"]).all()  # as metafor: NA
    with pytest.raises(InputError, match="no inner level"):
        r.predict(newmods=want["newmods"], tau2_levels="XX")


@pytest.mark.parametrize("name", sorted(G["anova_lrt"]))
def test_anova_lrt_of_rma_mv_fits(name: str) -> None:
    """``anova(full, reduced)`` of nested ``rma.mv`` fits (metafor 3.8.1, ``anova_lrt`` of
    scripts/goldens/rma_mv.R): a moderator tested by ML, a variance component by REML."""
    from metareview.models import anova

    want = G["anova_lrt"][name]
    d = frame("konstantopoulos2011")
    full = rma_mv("yi", "vi", data=d, random=want["full"], mods=want["mods"],
                  method=want["method"])
    reduced = rma_mv("yi", "vi", data=d, random=want["reduced"], method=want["method"])
    a = anova(full, reduced)
    assert math.isclose(a.LRT, want["LRT"], rel_tol=1e-6)
    assert math.isclose(a.pval, want["pval"], rel_tol=2e-5)  # (p = 3e-12: z^2 x rtol)
    assert list(a.table["df"]) == want["parms"] and a.df == want["parms"][0] - want["parms"][1]
    close(a.table["AIC"], want["AIC"], 1e-8, 0.0, f"{name}.AIC")
    close(a.table["QE"], want["QE"], 1e-9, 0.0, f"{name}.QE")
    assert "R^2" not in a.summary()  # (metafor gives R^2 for rma.uni fits only)
    assert anova(reduced, full).LRT == a.LRT  # either order
