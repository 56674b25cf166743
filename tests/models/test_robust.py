"""metareview.models.robust against metafor 3.8.1 ``robust()`` and clubSandwich 0.5.8.

Reference values: the ``robust`` section of tests/data/goldens_rma_mv.json (written by
``Rscript scripts/goldens/rma_mv.R``): ``robust(fit, cluster=, clubSandwich=FALSE)`` (CR1,
t-tests on n - p df), ``robust(fit, cluster=, adjust=FALSE)`` (CR0) and
``robust(fit, cluster=, clubSandwich=TRUE)`` (clubSandwich's ``vcovCR(type="CR2")``,
``coef_test(test="Satterthwaite")`` and ``Wald_test(test="HTZ")``), for ``rma.mv`` fits
(dat.konstantopoulos2011 three-level, dat.assink2016 with a vcalc V, dat.berkey1998's
multivariate CS and HCS fits clustered by trial) and ``rma.uni`` fits
(intercept-only REML and DL, a meta-regression).

Tolerance rtol 1e-6: the robust quantities are closed-form given the fit, so they inherit the
fit's agreement (REML components to ~2e-7); a p-value's relative error is about z^2 times larger
(largest measured: assink_vcalc CR1, pval 5.6e-7 and QMp 8.5e-7), still inside 1e-6.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num
from scipy import sparse

from metareview.errors import InputError
from metareview.models import RobustResult, rma, rma_mv, rma_reg, robust

G = load_goldens("goldens_rma_mv.json")
CASES: dict[str, Any] = G["robust"]


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(G["datasets"][name]["columns"])


def matrix(name: str) -> sparse.csr_matrix:
    m = G["matrices"][name]
    return sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))


def model(fid: str) -> tuple[Any, pd.DataFrame]:
    if fid in G["fits"]:
        f = G["fits"][fid]
        d = frame(f["dataset"])
        v = f["V"] if f["V"] in d.columns else matrix(f["V"])
        rnd = f["random"][0] if len(f["random"]) == 1 else f["random"]
        return rma_mv("yi", v, data=d, random=rnd, mods=f["mods"], struct=f["struct"],
                      method=f["method"], test=f["test"]), d
    u = G["rma_uni"][fid]
    d = frame("konstantopoulos2011")
    ctl = {"threshold": 1e-12, "tol": 1e-12, "maxiter": 5000}
    if u["mods"]:
        # rma_reg takes columns: I(year - 1990) is built as one
        d2 = d.assign(**{"I(year - 1990)": d["year"] - 1990})
        return rma_reg("yi", "vi", mods=[u["mods"]], data=d2, method=u["method"],
                       control=ctl), d
    return rma("yi", "vi", data=d, method=u["method"], control=ctl), d


@pytest.fixture(scope="module")
def results() -> dict[str, RobustResult]:
    out = {}
    for rid, c in CASES.items():
        m, d = model(c["fit"])
        cluster = (d["district"] if rid.startswith("konst") else
                   d["trial"] if rid.startswith("berkey") else d["study"])
        out[rid] = robust(m, cluster, clubsandwich=c["clubsandwich"],
                          adjust=c.get("adjust", True))
    return out


@pytest.mark.parametrize("rid", list(CASES))
def test_robust_agrees_with_metafor(rid: str, results: dict[str, RobustResult]) -> None:
    c, r = CASES[rid], results[rid]
    assert r.vcov_type == ("CR2" if c["clubsandwich"] else "CR1" if c.get("adjust", True)
                           else "CR0")
    for key in ("beta", "se", "zval", "ci_lb", "ci_ub", "ddf"):
        ref = np.broadcast_to(np.atleast_1d(num(c[key])), r.beta.shape)  # CR1: one df for all
        np.testing.assert_allclose(getattr(r, key), ref, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{rid}.{key}")
    np.testing.assert_allclose(r.pval, np.atleast_1d(num(c["pval"])), rtol=1e-6,
                               err_msg=f"{rid}.pval")
    np.testing.assert_allclose(r.vb, np.asarray(c["vb"], dtype=float), rtol=1e-6, atol=1e-12)
    if "QM" in c and r.beta.size > 1:
        assert pytest.approx(num(c["QM"]), rel=1e-6) == r.QM
        assert r.QMp == pytest.approx(num(c["QMp"]), rel=1e-6)
        assert r.QMdf is not None
        np.testing.assert_allclose(r.QMdf, np.atleast_1d(num(c["QMdf"])), rtol=1e-6)


@pytest.mark.parametrize("rid", [k for k in CASES if "print" in CASES[k]])
def test_robust_printout_is_metafors(rid: str, results: dict[str, RobustResult]) -> None:
    """``print(robust(...))`` captured from R; two dat.assink2016 cases differ in the 4th
    decimal of one value (metafor's optimiser stops a little short), so they are compared
    line by line except those."""
    ours, ref = results[rid].summary(), CASES[rid]["print"]
    if rid.startswith("assink"):
        diff = [(a, b) for a, b in zip(ours.splitlines(), ref.splitlines(), strict=True)
                if a != b]
        assert len(diff) <= 1
    else:
        assert ours == ref


def test_cr1_by_hand() -> None:
    """CR1 of an equal-effects-like fit written out: 4 studies in 2 clusters, tau^2 = 0 fixed,
    so W = diag(1/v), b = sum(w y)/sum(w), bread = w/sum(w), and
    Var = n/(n-1) * sum_j (sum_{i in j} w_i e_i)^2 / (sum w)^2."""
    y = np.array([0.1, 0.3, -0.2, 0.5])
    v = np.array([0.01, 0.02, 0.04, 0.05])
    res = rma(y, v, method="EE")
    w = 1 / v
    b = float(np.sum(w * y) / np.sum(w))
    e = y - b
    u = np.array([np.sum((w * e)[:2]), np.sum((w * e)[2:])])
    var = 2 / 1 * float(np.sum(u**2)) / float(np.sum(w)) ** 2
    r = robust(res, [1, 1, 2, 2])
    assert r.se[0] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert r.ddf[0] == 1.0


def test_bad_clusters() -> None:
    d = frame("konstantopoulos2011")
    res = rma("yi", "vi", data=d)
    with pytest.raises(InputError, match="cluster has 3 values"):
        robust(res, [1, 2, 3])
    with pytest.raises(InputError, match="missing cluster"):
        robust(res, [None] + [1] * 55)
    mv = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    with pytest.raises(InputError, match="not nested"):
        robust(mv, d["year"], clubsandwich=True)
    with pytest.raises(InputError, match="rma, rma_reg or rma_mv"):
        robust(object(), [1, 2])


# --------------------------------------------------------------------------- live R


def _r_has(package: str) -> bool:
    import shutil
    import subprocess

    if shutil.which("Rscript") is None:
        return False
    code = f'cat(requireNamespace("{package}", quietly = TRUE))'
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=False)
    return out.stdout.strip().endswith("TRUE")


@pytest.mark.skipif(not (_r_has("metafor") and _r_has("clubSandwich")),
                    reason="needs Rscript with metafor and clubSandwich (a dev/CI tool)")
def test_live_metafor_and_clubsandwich(tmp_path: Any) -> None:
    """metafor run live: ``rma.mv(yi, vi, random = ~ 1 | district/school, mods = ~ year)``
    on dat.konstantopoulos2011 and ``robust(..., clubSandwich=TRUE)``, at 1e-6."""
    import json
    import subprocess

    script = tmp_path / "live.R"
    script.write_text(
        'suppressPackageStartupMessages({library(metafor); library(clubSandwich)})\n'
        "d <- dat.konstantopoulos2011\n"
        "r <- rma.mv(yi, vi, random = ~ 1 | district/school, mods = ~ I(year - 1990), data = d,"
        " control = list(optimizer = 'optim', optmethod = 'BFGS', reltol = 1e-14))\n"
        "s <- robust(r, cluster = d$district, clubSandwich = TRUE)\n"
        "cat(jsonlite::toJSON(list(beta = c(r$beta), sigma2 = r$sigma2, se = s$se, df = s$ddf,"
        " QM = s$QM), digits = NA))\n",
        encoding="utf-8",
    )
    out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True)
    ref = json.loads(out.stdout)
    d = frame("konstantopoulos2011")
    fit = rma_mv("yi", "vi", data=d, random="~ 1 | district/school", mods="~ I(year - 1990)")
    rob = robust(fit, d["district"], clubsandwich=True)
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-6)
    np.testing.assert_allclose(fit.sigma2, ref["sigma2"], rtol=1e-6)
    np.testing.assert_allclose(rob.se, ref["se"], rtol=1e-6)
    np.testing.assert_allclose(rob.ddf, ref["df"], rtol=1e-6)
    assert pytest.approx(ref["QM"][0], rel=1e-6) == rob.QM
