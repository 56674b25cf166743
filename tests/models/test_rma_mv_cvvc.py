"""``rma_mv(..., cvvc=)`` (``res.vvc``) against metafor 3.8.1's ``rma.mv(..., cvvc=)$vvc``.

Reference values: the ``cvvc`` section of tests/data/goldens_rma_mv.json, written by
``Rscript scripts/goldens/rma_mv.R`` (metafor's default optimiser; ``cvvc="varcov"`` with
``control=list(nearpd=TRUE)`` as in metafor's test_analysis_example_vanhouwelingen2002.r line
196). metafor inverts numDeriv's Richardson Hessian of ``-ll`` in the natural parameters; ours
is the delta method on a Richardson Hessian of the analytic gradient in the optimiser's
parameters. Tolerance rtol 1e-6, both at our optimum and, to separate the Hessian from the
optimiser, at metafor's estimates (``_vvc`` evaluated there). The Hessian moves with the point it
is taken at, so each golden keeps the fit with the highest logLik of nlminb (metafor's default),
optim/BFGS at reltol 1e-14 and bobyqa at rhoend 1e-12: on dat.berkey1998 UN (REML), whose
likelihood is flat in the correlation, nlminb and BFGS stop 6.7e-11 below the maximum (rho 4e-6
short, vvc 6.5e-5 off), bobyqa reaches ours to 4e-15 in logLik. Measured against those goldens:
vvc within 6.0e-7 (dat.ishak2007 HCS; tau^2 about 27, where numDeriv's Richardson Hessian is
itself accurate to about 1e-6), every other case within 3e-7.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens
from scipy import sparse

from metareview.errors import ConvergenceError, InputError
from metareview.models import rma_mv
from metareview.models.multilevel import _cor_eta, _vvc

G = load_goldens("goldens_rma_mv.json")
CASES: dict[str, Any] = G["cvvc"]


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(G["datasets"][name]["columns"])


def matrix(name: str) -> sparse.csr_matrix:
    m = G["matrices"][name]
    return sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))


def fit(case: dict[str, Any]) -> Any:
    d = frame(case["dataset"])
    v = case["V"] if case["V"] in d.columns else matrix(case["V"])
    rnd = case["random"]
    rnd = rnd[0] if len(rnd) == 1 else rnd
    control = {"nearpd": True} if case["nearpd"] else None
    return rma_mv("yi", v, data=d, random=rnd, mods=case["mods"], struct=case["struct"],
                  method=case["method"], cvvc=case["cvvc"], control=control,
                  **dict(case.get("extra") or {}))


@pytest.mark.parametrize("cid", sorted(CASES))
def test_vvc_matches_metafor(cid: str) -> None:
    """metafor: ``rma.mv(..., cvvc=)$vvc`` (scripts/goldens/rma_mv.R, cvvc_case)."""
    case = CASES[cid]
    with np.errstate(all="raise"):
        res = fit(case)
    assert res.vvc_names == tuple(case["vvc_names"])
    np.testing.assert_allclose(res.vvc, np.array(case["vvc"], dtype=float),
                               rtol=1e-6, atol=1e-12, err_msg=cid)
    assert res.to_dict()["vvc_names"] == case["vvc_names"]


@pytest.mark.parametrize("cid", sorted(CASES))
def test_vvc_at_metafors_estimates(cid: str) -> None:
    """The Hessian alone: ours evaluated at metafor's sigma2/tau2/rho against its vvc."""
    case = CASES[cid]
    res = fit(case)
    model, eta, _labels, kinds = res._refit
    ref = np.array(eta, dtype=float)
    # metafor stores 0 for a component the model does not have: take as many as ours has
    s2, t2, rho = (np.atleast_1d(np.asarray(case[k], dtype=float)).ravel()[:getattr(res, k).size]
                   for k in ("sigma2", "tau2", "rho"))
    nvar = s2.size + t2.size
    ref[:nvar] = np.log(np.concatenate([s2, t2]))
    cor_kind = "car" if case["struct"] == "CAR" else "cor"
    for j, r in enumerate(rho[: len(ref) - nvar]):
        ref[nvar + j] = _cor_eta(float(r), cor_kind)
    fixed = {i: float(ref[i]) for i, f in enumerate(res.fixed) if f}
    vvc, names = _vvc(model, ref, fixed, kinds, case["cvvc"])
    assert names == tuple(case["vvc_names"])
    np.testing.assert_allclose(vvc, np.array(case["vvc"], dtype=float),
                               rtol=1e-6, atol=1e-12)


def test_vanhouwelingen2002_varcov_se() -> None:
    """metafor's test_analysis_example_vanhouwelingen2002.r line 196: the varcov vvc's diagonal
    gives se(tau^2_1, tau_12, tau^2_2); the same check at the file's tolerance .01 as the
    golden at 1e-6 above, here for the square roots (hand: sqrt of metafor's diagonal)."""
    case = CASES["colditz_un_ml_varcov"]
    res = fit(case)
    ref = np.sqrt(np.diag(np.array(case["vvc"], dtype=float)))
    np.testing.assert_allclose(np.sqrt(np.diag(res.vvc)), ref, rtol=1e-6)
    assert res.vvc_names == ("tau^2.1", "cov", "tau^2.2")


def test_varcov_falls_back_to_varcor_as_metafor() -> None:
    """metafor warns 'Cannot use cvvc='varcov' for the specified structure(s)' and uses
    varcor; so do we (konstantopoulos2011 has no G term)."""
    d = frame("konstantopoulos2011")
    with pytest.warns(Warning, match="varcor"):
        res = rma_mv("yi", "vi", data=d, random="~ 1 | district/school", cvvc="varcov")
    ref = CASES["konst_reml_varcor"]
    np.testing.assert_allclose(res.vvc, np.array(ref["vvc"], dtype=float), rtol=1e-6)


def test_cvvc_and_control_errors() -> None:
    d = frame("konstantopoulos2011")
    with pytest.raises(InputError, match="cvvc"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district/school", cvvc="bogus")
    with pytest.raises(InputError, match="unknown control"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district/school", control={"iter": 3})
    with pytest.raises(InputError, match="maxiter"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district/school", control={"maxiter": 0})
    dv = frame("colditz1994_long")
    with pytest.raises(InputError, match="Cholesky"):
        rma_mv("yi", "vi", data=dv, mods="~ 0 + group", random="~ group | trial",
               struct="UN", method="ML", cvvc="transf")
    res = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    assert res.vvc is None and res.vvc_names == ()


def _is_the_files_fit(res: Any, d: pd.DataFrame) -> None:
    """konstantopoulos2011.r lines 199-210's values (at 1e-6), and the full fit's logLik."""
    for ours, ref in ((res.beta, [0.1847132]), (res.se, [0.08455592]),
                      (res.sigma2, [0.06506194, 0.03273652])):
        np.testing.assert_allclose(ours, ref, rtol=1e-6)
    full = rma_mv("yi", "vi", data=d, random="~ 1 | district/study")
    assert math.isclose(full.logLik, res.logLik, rel_tol=1e-12)


def test_maxiter_too_small_is_a_convergence_error() -> None:
    """metafor's test_analysis_example_konstantopoulos2011.r lines 199-210: with
    ``control=list(maxiter=4)`` ``rma.mv`` stops with an error and only ``restart=TRUE`` (a
    second and third call) reaches coef 0.1847132, se 0.08455592, sigma2 (0.06506194,
    0.03273652). Ours converges within 4 iterations of each stage (scoring, BFGS, Newton) to
    those values (at the file's tolerance .01 and at 1e-6); with maxiter = 1 it does not, and
    raises ConvergenceError (never a silent result)."""
    d = frame("konstantopoulos2011")
    with pytest.raises(ConvergenceError, match="maxiter = 1"):
        rma_mv("yi", "vi", data=d, random="~ 1 | district/study", control={"maxiter": 1})
    res = rma_mv("yi", "vi", data=d, random="~ 1 | district/study", control={"maxiter": 4})
    _is_the_files_fit(res, d)


def test_restart_from_the_estimates_reached() -> None:
    """metafor's ``restart=TRUE`` (test_analysis_example_konstantopoulos2011.r lines 199-210)
    resumes a failed ``rma.mv`` from the estimates its previous call left in a package-global
    environment: it sets ``control`` ``sigma2.init``/``tau2.init``/``rho.init``/``gamma2.init``/
    ``phi.init`` to them (metafor 3.8.1's ``rma.mv``, ``ddd$restart``). Ours passes them
    explicitly: the ConvergenceError carries ``init``, the same control settings, and a refit
    with ``control={**err.init, "maxiter": 1}`` resumes there. As in metafor's file, the first
    call and the first restart fail and the second restart reaches coef 0.1847132, se
    0.08455592, sigma2 (0.06506194, 0.03273652) (the file's values; at 1e-6), the full fit."""
    d = frame("konstantopoulos2011")
    ctl: dict[str, Any] = {"maxiter": 1}
    failures = 0
    while True:
        try:
            res = rma_mv("yi", "vi", data=d, random="~ 1 | district/study", control=ctl)
            break
        except ConvergenceError as err:
            failures += 1
            assert failures < 10
            assert err.init is not None and set(err.init) == {"sigma2_init"}
            assert "err.init" in str(err)
            ctl = {**err.init, "maxiter": 1}
    assert failures == 2
    _is_the_files_fit(res, d)


def test_start_values_as_metafors_init_controls() -> None:
    """metafor's ``control`` ``sigma2.init``, ``tau2.init``, ``rho.init`` (``gamma2.init``,
    ``phi.init``) as ``sigma2_init``...: one value recycled or one per component; the fit
    from a far start is the same optimum (logLik to 1e-12, estimates to 1e-6); bad values are
    InputErrors naming control."""
    d = frame("konstantopoulos2011")
    full = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    for init in ({"sigma2_init": 2.0}, {"sigma2_init": [1e-4, 0.5]}):
        res = rma_mv("yi", "vi", data=d, random="~ 1 | district/school", control=init)
        assert math.isclose(res.logLik, full.logLik, rel_tol=1e-12)
        np.testing.assert_allclose(res.sigma2, full.sigma2, rtol=1e-6)
    case = CASES["berkey_un_reml_varcor"]
    base = fit(case)
    dv = frame(case["dataset"])
    v = matrix(case["V"])
    res = rma_mv("yi", v, data=dv, random="~ outcome | trial", mods="~ 0 + outcome",
                 struct="UN", control={"tau2_init": [0.1, 0.05], "rho_init": -0.5})
    assert math.isclose(res.logLik, base.logLik, rel_tol=1e-12)
    np.testing.assert_allclose(res.rho, base.rho, rtol=1e-6)
    bad = ({"sigma2_init": -1}, {"sigma2_init": [1, 2, 3]}, {"rho_init": 0.5},
           {"sigma2_init": "a"}, {"tau2_init": 1.0})
    for ctl in bad:
        with pytest.raises(InputError, match="control"):
            rma_mv("yi", "vi", data=d, random="~ 1 | district/school", control=ctl)
    with pytest.raises(InputError, match="rho_init"):
        rma_mv("yi", v, data=dv, random="~ outcome | trial", mods="~ 0 + outcome",
               struct="UN", control={"rho_init": 1.0})
