"""metafor's own published-example tests that use ``rma.mv``, reproduced with ``rma_mv``/``robust``.

Each test names the file of the metafor repository (github.com/wviechtb/metafor,
``tests/testthat/test_analysis_example_*.r``) and the lines its expected numbers are copied from;
the comparison is testthat's ``expect_equivalent(..., tolerance=.01)`` (R's ``all.equal``: mean
relative difference at most 0.01; metafor's ``settings.r`` sets every tolerance to .01).
Datasets come from tests/data/goldens_rma_mv.json (written by scripts/goldens/rma_mv.R from
metadat) or are typed in as the R test file does.

Reproduced outside this module: vanhouwelingen2002's ``matreg`` and ``cvvc="varcov"`` lines
186-199 (test_matreg.py, test_rma_mv_cvvc.py), the numbers of the profile plots
(konstantopoulos2011 lines 115-185, both parameterisations; test_profile_mv.py, against
``profile.rma.mv``), and ``struct="CAR"`` (used by none of these files; test_rma_mv.py).
konstantopoulos2011's ``restart=TRUE`` (lines 199-210): metafor's restart resumes from the
estimates that its previous, failed call left in a package-global environment (as control
``sigma2.init`` etc.); ours makes that channel explicit: the ``ConvergenceError`` carries
``init``, and ``control={**err.init, "maxiter": 1}`` resumes. With ``maxiter=1`` the first call
and the first restart fail and the second restart reaches the file's values, as in metafor's
file (test_rma_mv_cvvc.py, test_restart_from_the_estimates_reached); ours converges within
``control={"maxiter": 4}`` without a restart. law2016 (network models: ``mods=X,
intercept=FALSE`` on a contrast design, two G terms with fixed rho/phi, ``ranef``) is
reproduced in full; its ``print()`` calls are checked character for character in test_rma_mv.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens
from scipy import linalg, sparse, special

from metareview.models import rma_mv

G = load_goldens("goldens_rma_mv.json")


def expect_equivalent(current: Any, target: Any, tolerance: float = 0.01) -> None:
    """testthat's ``expect_equivalent``: R's ``all.equal`` mean relative difference."""
    cur = np.atleast_1d(np.asarray(current, dtype=float)).ravel()
    tar = np.atleast_1d(np.asarray(target, dtype=float)).ravel()
    assert cur.shape == tar.shape
    scale = float(np.mean(np.abs(tar)))
    diff = float(np.mean(np.abs(tar - cur)))
    rel = diff / scale if scale > 0 else diff
    assert rel < tolerance, f"mean relative difference {rel:.3g}: {cur} vs {tar}"


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(G["datasets"][name]["columns"])


def matrix(name: str) -> sparse.csr_matrix:
    m = G["matrices"][name]
    return sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))


# --------------------------------------------------------------------- konstantopoulos2011

KONST = frame("konstantopoulos2011")


def test_konstantopoulos2011_two_level() -> None:
    """test_analysis_example_konstantopoulos2011.r lines 46-55."""
    res = rma_mv("yi", "vi", data=KONST, random="~ 1 | study")
    expect_equivalent(res.beta, 0.1279)
    expect_equivalent(res.se, 0.0439)
    expect_equivalent(res.sigma2, 0.0884)


def test_konstantopoulos2011_three_level_ml() -> None:
    """lines 57-72 (Table 5 of Konstantopoulos 2011, p. 71) and 74-85 (with year centred)."""
    res = rma_mv("yi", "vi", data=KONST, random="~ 1 | district/study", method="ML")
    expect_equivalent(res.beta, 0.1845)
    expect_equivalent(res.se, 0.0805)
    expect_equivalent(res.sigma2, [0.0577, 0.0329])
    pr = res.predict()
    expect_equivalent([pr["pi_lb"].iloc[0], pr["pi_ub"].iloc[0]], [-0.4262, 0.7951])
    res = rma_mv("yi", "vi", data=KONST, random="~ 1 | district/study", method="ML",
                 mods="~ I(year - mean(year))")
    expect_equivalent(res.beta, [0.1780, 0.0051])
    expect_equivalent(res.se, [0.0805, 0.0085])
    expect_equivalent(res.sigma2, [0.0565, 0.0329])


def test_konstantopoulos2011_three_level_reml() -> None:
    """lines 87-113: estimates, ICC, total heterogeneity, logLik and the profile CIs."""
    res = rma_mv("yi", "vi", data=KONST, random="~ 1 | district/study")
    expect_equivalent(res.beta, 0.1847)
    expect_equivalent(res.se, 0.0846)
    expect_equivalent(res.sigma2, [0.0651, 0.0327])
    expect_equivalent(res.sigma2[0] / res.sigma2.sum(), 0.6653)
    expect_equivalent(res.sigma2.sum(), 0.0978)
    expect_equivalent(res.logLik, -7.9587)
    ci = res.confint().round(4)
    expected = np.array([0.0651, 0.2551, 0.0327, 0.1809, 0.0222, 0.1491, 0.0163, 0.1276,
                         0.2072, 0.4552, 0.0628, 0.2507]).reshape(3, 4).T
    assert list(ci.index) == ["sigma^2.1", "sigma.1", "sigma^2.2", "sigma.2"]
    expect_equivalent(ci.to_numpy(), expected)


def test_konstantopoulos2011_multivariate_parameterisation() -> None:
    """lines 144-158: ``~ factor(study) | district`` (CS) gives the same fit."""
    res = rma_mv("yi", "vi", data=KONST, random="~ factor(study) | district")
    expect_equivalent(res.beta, 0.1847)
    expect_equivalent(res.se, 0.0846)
    expect_equivalent(res.tau2, 0.0978)
    expect_equivalent(res.rho, 0.6653)
    expect_equivalent(res.logLik, -7.9587)


def test_konstantopoulos2011_tau2_per_district() -> None:
    """lines 219-243 (rows shuffled with R's seed there; the order does not matter, which
    test_rma_mv.py checks): DIAG tau^2 per district, k.lvl and the printed levels."""
    res = rma_mv("yi", "vi", data=KONST, random=["~ 1 | district", "~ factor(district) | study"],
                 struct="DIAG")
    expect_equivalent(res.beta, 0.1270)
    expect_equivalent(res.se, 0.0588)
    expected = [0.0000, 0.0402, 0.0000, 0.0582, 0.0082, 0.0000, 0.5380, 0.0008, 0.0606, 0.1803,
                0.0000]
    # all.equal on values with zeros: the mean relative difference is dominated by the non-zeros
    expect_equivalent(res.tau2, expected)
    out = res.summary().splitlines()
    rows = [line for line in out if line.startswith("tau")]
    np.testing.assert_allclose([float(r[11:19]) for r in rows], expected, atol=5e-5)
    assert list(res.g_levels_k) == [4, 4, 3, 4, 4, 11, 3, 8, 6, 5, 4]
    assert [int(r.split()[-1]) for r in rows] == [11, 12, 18, 27, 56, 58, 71, 86, 91, 108, 644]


# --------------------------------------------------------------------- berkey1998

BERKEY = frame("berkey1998")
BERKEY_V = matrix("berkey1998_V")


def test_berkey1998_multiple_outcomes() -> None:
    """test_analysis_example_berkey1998.r lines 15-27."""
    res = rma_mv("yi", BERKEY_V, data=BERKEY, mods="~ 0 + outcome", random="~ outcome | trial",
                 struct="UN", method="ML")
    expect_equivalent(res.beta, [-0.3379, 0.3448])
    expect_equivalent(res.se, [0.0798, 0.0495])
    expect_equivalent(res.tau2, [0.0261, 0.0070])
    expect_equivalent(res.rho, 0.6992)


def test_berkey1998_meta_regression() -> None:
    """lines 29-52 (Table II of Berkey et al. 1998, p. 2545)."""
    res = rma_mv("yi", BERKEY_V, data=BERKEY, mods="~ 0 + outcome + outcome:I(year - 1983)",
                 random="~ outcome | trial", struct="UN", method="ML")
    expect_equivalent(res.beta, [-0.3351, 0.3479, -0.0108, 0.0010])
    expect_equivalent(res.se, [0.0787, 0.0520, 0.0243, 0.0154])
    expect_equivalent(res.tau2, [0.0250, 0.0080])
    expect_equivalent(res.rho, 0.6587)
    expect_equivalent(res.rho[0] * math.sqrt(res.tau2[0] * res.tau2[1]), 0.0093)
    res = rma_mv("yi", BERKEY_V, data=BERKEY, mods="~ 0 + outcome*I(year - 1983)",
                 random="~ outcome | trial", struct="UN", method="ML")
    expect_equivalent(res.beta, [-0.3351, 0.3479, -0.0108, 0.0118])
    expect_equivalent(res.se, [0.0787, 0.0520, 0.0243, 0.0199])
    expect_equivalent(res.pval, [0.0000, 0.0000, 0.6563, 0.5534])


def test_berkey1998_likelihood_ratio_tests() -> None:
    """lines 54-73: ``anova(res0, res1)`` is the LRT ``2 (ll1 - ll0)`` on the difference in the
    number of parameters (chi-square), computed here from our fits."""
    kw: dict[str, Any] = {"data": BERKEY, "mods": "~ 0 + outcome", "random": "~ outcome | trial",
                          "method": "ML"}
    res1 = rma_mv("yi", BERKEY_V, struct="UN", **kw)
    res0 = rma_mv("yi", BERKEY_V, struct="CS", **kw)
    lrt = 2 * (res1.logLik - res0.logLik)
    expect_equivalent(special.chdtrc(res1.parms - res0.parms, lrt), 0.2597)
    res0 = rma_mv("yi", BERKEY_V, struct="UN", rho=0, **kw)
    lrt = 2 * (res1.logLik - res0.logLik)
    expect_equivalent(special.chdtrc(res1.parms - res0.parms, lrt), 0.2452)


# --------------------------------------------------------------------- ishak2007

ISHAK = frame("ishak2007")
ISHAK_V = matrix("ishak2007_V")
ISHAK_DIAG = ISHAK_V.diagonal()


@pytest.mark.parametrize("lines,v,random,struct,beta,comp,values", [
    ("27-36", "diag", "~ factor(time) | study", "DIAG",
     [-24.8686, -27.4728, -28.5239, -24.1415], "tau2", [23.0537, 27.8113, 27.6767, 29.9405]),
    ("38-46", "diag", "~ 1 | study", "CS",
     [-26.2127, -27.1916, -28.5464, -25.6339], "sigma2", [26.6829]),
    ("48-57", "diag", "~ factor(time) | study", "ID",
     [-24.8792, -27.4670, -28.5185, -24.1502], "tau2", [26.6847]),
    ("59-69", "diag", "~ time | study", "HAR",
     [-25.9578, -27.3100, -28.5543, -25.7923], "tau2", [20.3185, 35.9720, 26.4233, 30.1298]),
    ("71-81", "V", "~ time | study", "HAR",
     [-25.9047, -27.4608, -28.6559, -26.4934], "tau2", [22.7258, 33.7295, 26.1426, 31.1803]),
    ("83-93", "V", "~ time | study", "AR",
     [-25.9418, -27.3937, -28.7054, -26.3970], "tau2", [26.6874]),
    ("95-104", "V", "~ factor(time) | study", "HCS",
     [-25.8814, -27.3293, -28.6510, -26.6631], "tau2", [20.8629, 32.7429, 27.6593, 32.1908]),
])
def test_ishak2007(lines: str, v: str, random: str, struct: str, beta: list[float], comp: str,
                   values: list[float]) -> None:
    """test_analysis_example_ishak2007.r (Table 1 of Ishak et al. 2007), lines as given."""
    vv = ISHAK_DIAG if v == "diag" else ISHAK_V
    res = rma_mv("yi", vv, data=ISHAK, mods="~ 0 + factor(time)", random=random, struct=struct)
    expect_equivalent(res.beta, beta)
    expect_equivalent(getattr(res, comp), values)
    if lines == "59-69":
        expect_equivalent(res.rho, 1.0000)
    if lines == "71-81":
        expect_equivalent(res.rho, 0.8832)
    if lines == "83-93":
        expect_equivalent(res.rho, 0.8656)


# --------------------------------------------------------------------- gleser2009

GLESER = pd.DataFrame({"study": [1, 1, 2, 3, 3, 3], "trt": [1, 2, 1, 1, 2, 3],
                       "ai": [40, 40, 10, 150, 150, 150],
                       "n1i": [1000, 1000, 200, 2000, 2000, 2000],
                       "ci": [100, 150, 15, 40, 80, 50],
                       "n2i": [4000, 4000, 400, 1000, 1000, 1000]})


def _gleser_v(vi: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``bldiag(lapply(split(dat, dat$study), calc.v))``: the shared-control covariance."""
    blocks = []
    for s in (1, 2, 3):
        ix = np.flatnonzero(GLESER["study"].to_numpy() == s)
        b = np.full((ix.size, ix.size), cov[ix[0]])
        np.fill_diagonal(b, vi[ix])
        blocks.append(b)
    return np.asarray(linalg.block_diag(*blocks))


def test_gleser2009_risk_differences() -> None:
    """test_analysis_example_gleser2009.r lines 19-48 (Gleser & Olkin 2009, pp. 360-362).
    Risk differences ``p_c - p_t`` by hand (metafor's escalc "RD": yi = ai/n1i - ci/n2i)."""
    d = GLESER
    p1, p2 = d["ai"] / d["n1i"], d["ci"] / d["n2i"]
    yi = (p1 - p2).to_numpy()
    vi = (p1 * (1 - p1) / d["n1i"] + p2 * (1 - p2) / d["n2i"]).to_numpy()
    expect_equivalent(yi, [0.0150, 0.0025, 0.0125, 0.0350, -0.0050, 0.0250])
    v = _gleser_v(vi, (p1 * (1 - p1) / d["n1i"]).to_numpy())
    res = rma_mv(yi, v, data=d, mods="~ 0 + factor(trt)", random=None)
    expect_equivalent(res.beta, [0.0200, 0.0043, 0.0211])
    expected = np.array([24.612, 19.954, 13.323, 19.954, 28.538, 13.255, 13.323, 13.255,
                         69.806]).reshape(3, 3)
    expect_equivalent(res.vb * 1e6, expected)
    expect_equivalent(res.QE, 7.1907)


def test_gleser2009_log_odds_ratios() -> None:
    """lines 50-79 (pp. 362-363): log odds ratios by hand (escalc "OR")."""
    d = GLESER
    bi, di = d["n1i"] - d["ai"], d["n2i"] - d["ci"]
    yi = np.log(d["ai"] * di / (bi * d["ci"])).to_numpy()
    vi = (1 / d["ai"] + 1 / bi + 1 / d["ci"] + 1 / di).to_numpy()
    expect_equivalent(yi, [0.4855, 0.0671, 0.3008, 0.6657, -0.0700, 0.4321])
    p = d["ai"] / d["n1i"]
    v = _gleser_v(vi, (1 / (d["n1i"] * p * (1 - p))).to_numpy())
    res = rma_mv(yi, v, data=d, mods="~ 0 + factor(trt)", random=None)
    expect_equivalent(res.beta, [0.5099, 0.0044, 0.4301])
    expected = np.array([0.01412, 0.00712, 0.00425, 0.00712, 0.01178, 0.00455, 0.00425,
                         0.00455, 0.02703]).reshape(3, 3)
    expect_equivalent(res.vb, expected)
    expect_equivalent(res.QE, 2.0563)


# --------------------------------------------------------------------- vanhouwelingen2002


def test_vanhouwelingen2002_bivariate_model() -> None:
    """test_analysis_example_vanhouwelingen2002.r lines 163-197 (van Houwelingen et al. 2002,
    pp. 604-605): the bivariate model of the log odds in both arms (UN, ML)."""
    d = frame("colditz1994_long")
    res = rma_mv("yi", "vi", data=d, mods="~ 0 + group", random="~ group | trial",
                 struct="UN", method="ML")
    expect_equivalent(res.beta, [-4.0960, -4.8337])
    expect_equivalent(res.tau2, [2.4073, 1.4314])
    expect_equivalent(res.rho, 0.9467)
    het = res.tau2[0] + res.tau2[1] - 2 * res.rho[0] * math.sqrt(res.tau2[0] * res.tau2[1])
    expect_equivalent(het, 0.3241)
    expect_equivalent(res.tau2.sum() - 2 * res.G[0, 1], 0.3241)
    # predict(res, newmods=c(-1,1), hetvar=..., transf=exp): contrast EXP - CON by hand
    x = np.array([-1.0, 1.0])
    est, se = float(x @ res.beta), math.sqrt(float(x @ res.vb @ x))
    z = -special.ndtri(0.025)
    expect_equivalent(math.exp(est), 0.4782)
    expect_equivalent([math.exp(est - z * se), math.exp(est + z * se)], [0.3362, 0.6801])
    spi = math.sqrt(se * se + het)
    expect_equivalent([math.exp(est - z * spi), math.exp(est + z * spi)], [0.1484, 1.5407])
    res = rma_mv("yi", "vi", data=d, mods="~ group", random="~ group | trial", struct="UN",
                 method="ML")
    expect_equivalent(res.beta, [-4.0960, -0.7378])
    expect_equivalent(res.se, [0.4347, 0.1797])
    pr = res.predict(newmods=[[1.0]], intercept=False)
    expect_equivalent(np.exp(pr[["pred", "ci_lb", "ci_ub"]].to_numpy()), [0.4782, 0.3362, 0.6801])


def test_vanhouwelingen2002_meta_regression() -> None:
    """lines 212-239 (pp. 612-613): the bivariate meta-regression on latitude."""
    d = frame("colditz1994_long")
    res = rma_mv("yi", "vi", data=d, mods="~ 0 + group + group:I(ablat - 33)",
                 random="~ group | trial", struct="UN", method="ML")
    expect_equivalent(res.beta, [-4.1174, -4.8257, 0.0725, 0.0391])
    expect_equivalent(res.se, [0.3061, 0.3129, 0.0219, 0.0224])
    expect_equivalent(res.tau2, [1.1819, 1.2262])
    expect_equivalent(res.rho, 1.0000)
    res = rma_mv("yi", "vi", data=d, mods="~ group*I(ablat - 33)", random="~ group | trial",
                 struct="UN", method="ML")
    expect_equivalent(res.beta, [-4.1174, -0.7083, 0.0725, -0.0333])
    expect_equivalent(res.se, [0.3061, 0.0481, 0.0219, 0.0028])
    expect_equivalent(res.tau2, [1.1819, 1.2262])
    expect_equivalent(res.rho, 1.0000)


# --------------------------------------------------------------------- viechtbauer2007a


def test_viechtbauer2007a_profile_ci_of_sigma2() -> None:
    """test_analysis_example_viechtbauer2007a.r lines 68-77: ``rma.mv(yi, vi, random = ~ 1 | id)``
    with ML and REML; profile CIs of sigma^2 equal those of tau^2 in rma (Table II)."""
    d = frame("collins1985b")
    ci = rma_mv("yi", "vi", data=d, random="~ 1 | id", method="ML").confint()
    expect_equivalent(ci.loc["sigma^2", ["ci_lb", "ci_ub"]].to_numpy(), [0.0266, 1.1308])
    ci = rma_mv("yi", "vi", data=d, random="~ 1 | id", method="REML").confint()
    expect_equivalent(ci.loc["sigma^2", ["ci_lb", "ci_ub"]].to_numpy(), [0.0427, 1.4747])


# --------------------------------------------------------------------- law2016
# test_analysis_example_law2016.r: network meta-analyses of Law et al. (2016), examples 1 and 2
# (data typed in at lines 13-51 and 90-125 of that file; here from the goldens, which carry the
# same values). X is the file's ``contrmat(dat, grp1="trt", grp2="ref", append=FALSE,
# last=NA)[,-1]``: +1 in the column of the treatment, -1 in that of the reference, A left out.


def _law2016(name: str) -> tuple[pd.DataFrame, Any, pd.DataFrame]:
    d = frame(name)
    levels = sorted(set(d["trt"]) | set(d["ref"]))
    x = pd.DataFrame({lv: (d["trt"] == lv).astype(float) - (d["ref"] == lv).astype(float)
                      for lv in levels[1:]})
    v = d["vi"] if name == "law2016_eg1" else matrix("law2016_eg2_V")
    return d, v, x


def test_law2016_example1_consistency_and_inconsistency() -> None:
    """lines 56-62 (consistency model ``random = ~ contr | study, rho=1/2``) and 64-80 (with
    ``~ contr | design``, ``phi=1/2``): tau^2, gamma^2, coefficients, the profile CIs of tau^2
    and gamma^2, and ``predict(modI, newmods=c(1,0,0,0,0,0,0), transf=exp)``."""
    d, v, x = _law2016("law2016_eg1")
    coefs = [-0.2243, -0.1667, -0.3274, -0.3152, -0.3520, -0.6489, -0.2758]
    mod_c = rma_mv("y", v, data=d, mods=x, random="~ contr | study", rho=0.5)
    assert list(mod_c.coef_names) == ["B", "C", "D", "E", "F", "G", "H"]
    expect_equivalent(mod_c.tau2, 0.0)
    expect_equivalent(mod_c.beta, coefs)
    ci = mod_c.confint()
    expect_equivalent(ci.loc["tau^2", ["ci_lb", "ci_ub"]], [0.0, 0.0708])
    mod_i = rma_mv("y", v, data=d, mods=x, random=["~ contr | study", "~ contr | design"],
                   rho=0.5, phi=0.5)
    expect_equivalent(mod_i.tau2, 0.0)
    expect_equivalent(mod_i.gamma2, 0.0)
    expect_equivalent(mod_i.beta, coefs)
    ci = mod_i.confint()
    expect_equivalent(ci.loc["tau^2", ["ci_lb", "ci_ub"]], [0.0, 0.0708])
    expect_equivalent(ci.loc["gamma^2", ["ci_lb", "ci_ub"]], [0.0, 0.6153])
    pr = mod_i.predict(newmods=[[1, 0, 0, 0, 0, 0, 0]]).iloc[0]
    expect_equivalent(np.exp(pr[["pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"]].to_numpy(float)),
                      [0.7991, 0.6477, 0.9859, 0.6477, 0.9859])


def test_law2016_example2_with_ranef() -> None:
    """lines 130-136 (consistency), 138-150 (inconsistency: tau^2, gamma^2, coefficients, CIs,
    prediction with transf=exp), 152-157 (``ranef(modI)``: the BLUPs and their se of both terms)
    and 161-162 (the prediction interval of every fitted row)."""
    d, v, x = _law2016("law2016_eg2")
    mod_c = rma_mv("y", v, data=d, mods=x, random="~ contr | study", rho=0.5)
    expect_equivalent(mod_c.tau2, 0.5482)
    expect_equivalent(mod_c.beta, [-1.8847, -1.3366, -0.7402])
    expect_equivalent(mod_c.confint().loc["tau^2", ["ci_lb", "ci_ub"]], [0.0788, 2.0156])
    mod_i = rma_mv("y", v, data=d, mods=x, random=["~ contr | study", "~ contr | design"],
                   rho=0.5, phi=0.5)
    expect_equivalent(mod_i.tau2, 0.1036)
    expect_equivalent(mod_i.gamma2, 0.5391)
    expect_equivalent(mod_i.beta, [-1.9735, -1.3957, -0.6572])
    ci = mod_i.confint()
    expect_equivalent(ci.loc["tau^2", ["ci_lb", "ci_ub"]], [0.0, 1.6661])
    expect_equivalent(ci.loc["gamma^2", ["ci_lb", "ci_ub"]], [0.0, 3.9602])
    pr = mod_i.predict(newmods=[[1, 0, 0]]).iloc[0]
    expect_equivalent(np.exp(pr[["pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"]].to_numpy(float)),
                      [0.1390, 0.0369, 0.5230, 0.0178, 1.0856])
    re = mod_i.ranef()
    study, design = re["~contr | study"], re["~contr | design"]
    expect_equivalent(study["intrcpt"], [
        -0.10597655, -0.09440298, -0.07779308, 0.3347431, -0.05778032, -0.12762821, 0.02644374,
        -0.12131344, 0.01314657, -0.14752923, 0.02919657, 0.12976825, 0.02697319, 0.08415593,
        -0.10064816, -0.06422411])
    expect_equivalent(study["se"], [
        0.31440795, 0.29262165, 0.28283046, 0.30063561, 0.28520752, 0.28184516, 0.28589877,
        0.29733608, 0.29721077, 0.30375728, 0.3128377, 0.31456144, 0.3010675, 0.30435923,
        0.30178776, 0.3045846])
    expect_equivalent(design["intrcpt"], [
        -0.55126986, 0.15187503, 0.67502976, -0.11892109, -0.38324316, 0.10368152, -0.49349415,
        -0.69903298])
    expect_equivalent(design["se"], [
        0.64017885, 0.61901365, 0.64221591, 0.51773958, 0.54266969, 0.53007858, 0.48613683,
        0.54031058])
    assert list(design.index) == ["AB | AB", "AB | ABD", "AD | ABD", "BC | BC", "BC | BCD",
                                  "BD | BCD", "BD | BD", "CD | CD"]
    expect_equivalent(mod_i.predict()["pi_lb"], [
        -4.029, -1.2853, -1.2853, -1.2853, -1.2853, -1.2853, -0.4911, -0.4911, -1.137, -1.137,
        -4.029, -2.7699, -1.2853, -0.4911, -1.2853, -0.4911])
