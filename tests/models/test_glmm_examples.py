"""metafor's own published-example tests of ``rma.glmm``, reproduced.

Each test cites the file and line of the metafor repository (``tests/testthat/``, commit
71ae8f5 of github.com/wviechtb/metafor) whose ``expect_equivalent`` values it checks, at the
tolerance those tests use: ``.tol = 0.01`` relative (``settings.r``; testthat's
``expect_equivalent(tolerance=)`` is all.equal's relative difference). The values are the
published results that metafor reproduces (Stijnen, Hamza & Ozdemir 2010, Tables II, III and
VIII; van Houwelingen, Zwinderman & Stijnen 1993; Rothman, Greenland & Lash 2008, ch. 15).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special

from metareview.models import rma_glmm

TOL = 0.01  # metafor's .tol for every kind of value (tests/testthat/settings.r)

# metadat::dat.nielweise2007 (ai of n1i, ci of n2i)
N07 = {
    "ai": [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4],
    "n1i": [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64],
    "ci": [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1],
    "n2i": [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69],
}
# metadat::dat.nielweise2008, person-time in 1000 days
N08 = {
    "x1i": [7, 8, 3, 6, 1, 1, 17, 3, 2],
    "t1i": [1.344, 1.600, 12.012, 1.536, 0.370, 0.729, 6.760, 1.107, 0.320],
    "x2i": [11, 8, 14, 10, 1, 8, 15, 7, 3],
    "t2i": [1.988, 1.461, 10.962, 1.503, 0.483, 0.913, 6.840, 1.015, 0.440],
}
# metadat::dat.collins1985a, bleeding: group 1 = control (b.xci of nci), group 2 = treated
C85 = {
    "ai": [16, 12, 1, 6, 10, None, 11, 8, 12, 3, 3, 8, 30, 0, 4, 5, 21, None, 51, 1, 12, 15,
           15, 7, 5, 13, 3],
    "n1i": [50, 53, 12, 15, 36, 55, 48, 20, 47, 19, 43, 19, 132, 14, 9, 24, 80, 75, 260, 11, 29,
            54, 107, 39, 26, 31, 14],
    "ci": [8, 11, 5, 2, 12, None, 9, 7, 5, 0, 9, 10, 44, 0, 1, 4, 14, None, 50, 3, 6, 16, 16,
           6, 11, 3, 2],
    "n2i": [50, 56, 18, 14, 33, 58, 40, 20, 46, 18, 45, 21, 153, 14, 10, 24, 78, 75, 259, 10, 31,
            51, 106, 33, 36, 34, 15],
}


def _close(got: float, want: float) -> None:
    assert got == pytest.approx(want, rel=TOL, abs=1e-12), (got, want)


def _fit(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma_glmm(*args, **kwargs)  # type: ignore[arg-type]


def _col(values: list[int | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def test_stijnen2010_binomial_normal_plo() -> None:
    """test_analysis_example_stijnen2010.r lines 40-60: rma.glmm(measure="PLO", xi=ci, ni=n2i)
    and xi=ai, ni=n1i (Table II)."""
    res = _fit("PLO", xi=N07["ci"], ni=N07["n2i"])
    _close(res.beta, -3.4964)
    _close(res.se, 0.2570)
    _close(res.tau2, 0.8124)
    pred = res.predict(special.expit)
    _close(pred["pred"], 0.0294)
    _close(pred["ci_lb"], 0.0180)
    _close(pred["ci_ub"], 0.0478)
    res = _fit("PLO", xi=N07["ai"], ni=N07["n1i"])
    _close(res.beta, -4.8121)
    _close(res.se, 0.3555)
    _close(res.tau2, 0.8265)
    pred = res.predict(special.expit)
    _close(pred["pred"], 0.0081)
    _close(pred["ci_lb"], 0.0040)
    _close(pred["ci_ub"], 0.0161)


def test_stijnen2010_conditional_exact_or() -> None:
    """test_analysis_example_stijnen2010.r lines 80-97: model="CM.EL" (Table III); metafor
    warns about the two tables without events dropped, as we do."""
    with pytest.warns(UserWarning, match="left out"):
        res = rma_glmm("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"],
                       model="CM.EL")
    _close(res.beta, -1.3532)
    _close(res.se, 0.3511)
    _close(math.sqrt(res.tau2), 0.8327)
    pred = res.predict(np.exp)
    _close(pred["pred"], 0.2584)
    _close(pred["ci_lb"], 0.1299)
    _close(pred["ci_ub"], 0.5142)


def test_stijnen2010_conditional_approximate_or() -> None:
    """test_analysis_example_stijnen2010.r lines 99-115: model="CM.AL" (Table III)."""
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="CM.AL")
    _close(res.beta, -1.3027)
    _close(res.se, 0.3386)
    _close(math.sqrt(res.tau2), 0.7750)
    pred = res.predict(np.exp)
    _close(pred["pred"], 0.2718)
    _close(pred["ci_lb"], 0.1400)
    _close(pred["ci_ub"], 0.5279)


def test_stijnen2010_poisson_normal_irr() -> None:
    """test_analysis_example_stijnen2010.r lines 205-220: rma.glmm(measure="IRR",
    model="CM.EL") on dat.nielweise2008 (Table VIII)."""
    res = _fit("IRR", model="CM.EL", **N08)
    _close(res.beta, -0.4762)
    _close(res.se, 0.2377)
    _close(math.sqrt(res.tau2), 0.3501)
    pred = res.predict(np.exp)
    _close(pred["pred"], 0.6211)
    _close(pred["ci_lb"], 0.3898)
    _close(pred["ci_ub"], 0.9897)


def test_vanhouwelingen1993_conditional_logistic() -> None:
    """test_analysis_example_vanhouwelingen1993.r lines 43-52 (EE) and 67-77 (ML):
    rma.glmm(measure="OR", ai=b.xci, n1i=nci, ci=b.xti, n2i=nti, model="CM.EL")."""
    cells = {name: _col(v) for name, v in C85.items()}
    res = _fit("OR", model="CM.EL", method="EE", **cells)
    _close(res.beta, 0.1216)
    _close(res.se, 0.0995)
    _close(res.ci_lb, -0.0734)
    _close(res.ci_ub, 0.3165)
    _close(res.logLik, -53.6789)
    res = _fit("OR", model="CM.EL", method="ML", **cells)
    _close(res.beta, 0.1744)
    _close(res.se, 0.1364)
    _close(res.ci_lb, -0.0929)
    _close(res.ci_ub, 0.4417)
    _close(res.logLik, -52.99009)
    _close(res.tau2, 0.1192)


def test_rothman2008_conditional_mle_or() -> None:
    """test_analysis_example_rothman2008.r lines 135-150 (Table 15-1): CM.EL, EE."""
    res = _fit("OR", ai=[8, 22], bi=[98, 76], ci=[5, 16], di=[115, 69], model="CM.EL",
               method="EE")
    _close(res.beta, 0.3381)
    _close(res.ci_lb, -0.2699)
    _close(res.ci_ub, 0.9461)
    _close(res.QE_Wld, 0.3480)
    _close(res.QEp_Wld, 0.5552)
    _close(res.QE_LRT, 0.3502)
    _close(res.QEp_LRT, 0.5540)
    pred = res.predict(np.exp)
    _close(pred["pred"], 1.4022)
    _close(pred["ci_lb"], 0.7634)
    _close(pred["ci_ub"], 2.5756)


@pytest.mark.parametrize("model", ["UM.FS", "CM.EL"])
def test_rothman2008_rate_ratio(model: str) -> None:
    """test_analysis_example_rothman2008.r lines 271-302 (Table 15-2): IRR by UM.FS and CM.EL,
    EE, level = 90 (both give the same rate ratio)."""
    rates = {
        "x1i": [32, 104, 206, 186, 102],
        "t1i": [5.2407, 4.3248, 2.8612, 1.2663, 0.5317],
        "x2i": [2, 12, 28, 28, 31],
        "t2i": [1.8790, 1.0673, 0.5710, 0.2585, 0.1462],
    }
    res = _fit("IRR", model=model, method="EE", level=90, **rates)
    _close(res.beta, 0.3545)
    _close(res.ci_lb, 0.1779)
    _close(res.ci_ub, 0.5312)
    _close(res.QE_Wld, 10.1991)
    _close(res.QEp_Wld, 0.0372)
    _close(res.QE_LRT, 12.1324)
    _close(res.QEp_LRT, 0.0164)
    pred = res.predict(np.exp)
    _close(pred["pred"], 1.4255)
    _close(pred["ci_lb"], 1.1947)
    _close(pred["ci_ub"], 1.7009)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("UM.FS", (1.3318, 0.3582, 2.3053, 0.1374, 0.7109, 0.1324, 0.7160, 3.7878, 1.4308,
                   10.0276)),
        ("CM.EL", (1.3257, 0.3559, 2.2954, 0.1327, 0.7156, 0.1188, 0.7304, 3.7647, 1.4274,
                   9.9287)),
    ],
)
def test_rothman2008_odds_ratio_level90(model: str, expected: tuple[float, ...]) -> None:
    """test_analysis_example_rothman2008.r lines 365-398 (Table 15-5): OR by UM.FS and CM.EL,
    EE, level = 90.

    Except CM.EL's Wald test: metafor's 0.1327 comes from a numDeriv Hessian with r = 16
    Richardson steps of BiasedUrn's dFNCHypergeo (precision 1e-10), which is off by 2% here
    (entries 2.1975 and 2.2335 where the exact information of table 1 is 2.2020; checked in
    R with numDeriv's default r = 4, which gives 2.2020 and the Wald statistic 0.1232). We
    compute the information exactly, and :func:`test_conditional_wald_by_hand` checks it."""
    res = _fit("OR", ai=[3, 1], bi=[9, 3], ci=[104, 5], di=[1059, 86], model=model, method="EE",
               level=90)
    pred = res.predict(np.exp)
    got = (res.beta, res.ci_lb, res.ci_ub, res.QE_Wld, res.QEp_Wld, res.QE_LRT, res.QEp_LRT,
           pred["pred"], pred["ci_lb"], pred["ci_ub"])
    for j, (g, e) in enumerate(zip(got, expected, strict=True)):
        if model == "CM.EL" and j in (3, 4):
            continue
        _close(g, e)


def test_conditional_wald_by_hand() -> None:
    """CM.EL's QE_Wld for Rothman's Table 15-5 with SciPy's Fisher non-central hypergeometric
    distribution (an independent code path): each table's conditional MLE solves
    E[X | psi] = a, its information is Var[X | psi], and for two tables
    Wald = (theta_1 - theta_2)^2 I_1 I_2 / (I_1 + I_2)."""
    from scipy import optimize, stats

    tables = [(3, 9, 104, 1059), (1, 3, 5, 86)]
    theta, info = [], []
    for a, b, c, d in tables:
        def dist(t: float, a: int = a, b: int = b, c: int = c, d: int = d):  # type: ignore[no-untyped-def]
            return stats.nchypergeom_fisher(a + b + c + d, a + b, a + c, math.exp(t))

        t = optimize.brentq(lambda t, a=a, dist=dist: dist(t).mean() - a, -10, 10, xtol=1e-14)
        theta.append(t)
        info.append(dist(t).var())
    wald = (theta[0] - theta[1]) ** 2 * info[0] * info[1] / (info[0] + info[1])
    res = _fit("OR", ai=[3, 1], bi=[9, 3], ci=[104, 5], di=[1059, 86], model="CM.EL",
               method="EE", level=90)
    assert res.QE_Wld == pytest.approx(wald, rel=1e-8)
    assert res.QEp_Wld == pytest.approx(stats.chi2.sf(wald, 1), rel=1e-8)


def test_misc_rma_glmm_um_fs() -> None:
    """test_misc_rma_glmm.r lines 11-23: UM.FS with method="EE", and with test="t"."""
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="UM.FS",
               method="EE")
    _close(res.beta, -1.2286)
    assert res.tau2 == 0
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="UM.FS",
               test="t")
    _close(res.beta, -1.2370)
    _close(res.tau2, 0.3198)


def test_misc_rma_glmm_cm_el() -> None:
    """test_misc_rma_glmm.r lines 103-113 (EE: coef -1.2236, vcov 0.0502) and 120-166 (ML with
    the default optimiser: coef -1.353158, vcov 0.1232445, tau2 0.6935)."""
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="CM.EL",
               method="EE")
    _close(res.beta, -1.2236)
    _close(res.se**2, 0.0502)
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="CM.EL")
    _close(res.beta, -1.353158)
    _close(res.se**2, 0.1232445)
    _close(res.tau2, 0.6935)


def test_misc_rma_glmm_um_rs() -> None:
    """test_misc_rma_glmm.r lines 46-60: UM.RS with method="EE" (coef -1.2207, tau2 0, sigma2
    0.6155) and with test="t" (ML: coef -1.2812, tau2 0.7258, sigma2 0.5212; lines 73-84 give
    the same three with glmmTMB as the fitting package); print() runs on both."""
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="UM.RS",
               method="EE")
    _close(res.beta, -1.2207)
    assert res.tau2 == 0
    _close(res.sigma2, 0.6155)
    assert "sigma^2 (estimated amount of study level variability): 0.6155" in res.summary()
    res = _fit("OR", ai=N07["ai"], n1i=N07["n1i"], ci=N07["ci"], n2i=N07["n2i"], model="UM.RS",
               test="t")
    _close(res.beta, -1.2812)
    _close(res.tau2, 0.7258)
    _close(res.sigma2, 0.5212)
    assert res.ddf == 16
    assert "tau^2 (estimated amount of total heterogeneity): 0.7258" in res.summary()
