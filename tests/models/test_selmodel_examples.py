"""metafor's own tests of ``selmodel``, reproduced (``tests/testthat/test_misc_selmodel.r``,
commit 71ae8f5 of github.com/wviechtb/metafor), at the tolerance they use: ``.tol = 0.01``
relative (``settings.r``). The values there come from metafor's default optimiser settings;
where metafor's value depends on them (the beta model's tau^2 of 2.4e-6, a boundary estimate
where optim() stopped), the test says so.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from metareview.effects import escalc
from metareview.errors import InputError
from metareview.models import rma, selmodel

TOL = 0.01  # metafor's .tol (tests/testthat/settings.r)

# metadat::dat.hackshaw1998 yi and vi (log odds ratios of lung cancer and ETS exposure), as R
# prints them with 10 significant digits
HACK_YI = [
    0.1655144385, 0.3715635564, 0.7030975114, 0.1823215568, -0.2876820725, 0.7275486073,
    0.7561219797, -0.2231435513, -0.2357223335, 0.6981347221, 0.2070141694, 0.1823215568,
    0.4187103349, 0.02955880224, 0.4382549309, 0.02955880224, 0.8501509294, 0.5007752879,
    0.1739533071, 0.4187103349, 0.7701082217, 0.07696104114, 0.9360933592, 0.4824261492,
    0.05826890812, -0.2357223335, -0.3011050928, 0.8197798315, -0.03045920748, 0.4700036292,
    0.1739533071, 0.5068176024, 0.231111721, 0.0953101798, 0.5068176024, 0.1484200051,
    0.1043600153]
HACK_VI = [
    0.01877688549, 0.03304403891, 0.5401958653, 0.03126761449, 0.0796556541, 0.2273205917,
    0.08892156271, 0.1926796031, 0.3390163475, 0.09806620244, 0.04555554858, 0.2317499696,
    0.07964292202, 0.2173950247, 0.07695797404, 0.07150176353, 0.2925657721, 0.03243750743,
    0.03627334664, 0.4838512418, 0.1238162019, 0.07108519172, 0.3981954334, 0.08962312407,
    0.03371988833, 0.01612949092, 0.1802334734, 0.3171477229, 0.01254684515, 0.1136962924,
    0.08933678042, 0.1759855948, 0.01002904743, 0.08621435589, 0.03987496754, 0.03639975557,
    0.06641950662]


def _close(got: float, want: float) -> None:
    assert got == pytest.approx(want, rel=TOL, abs=1e-12), (got, want)


@pytest.fixture(scope="module")
def hackshaw() -> tuple[np.ndarray, np.ndarray]:
    return np.array(HACK_YI), np.array(HACK_VI)


def test_step_function_model(hackshaw: tuple[np.ndarray, np.ndarray]) -> None:
    """test_misc_selmodel.r lines 11-19 (REML input, refitted by ML) and 45-46 (ptable):
    steps = c(0.05, 0.10, 0.50, 1.00)."""
    yi, vi = hackshaw
    res = rma(yi, vi)  # REML, as in metafor's test
    sav = selmodel(res, "stepfun", steps=[0.05, 0.10, 0.50, 1.00])
    for got, want in zip(sav.delta, (1, 2.422079, 0.977543, 0.396713), strict=True):
        _close(got, want)
    assert math.isnan(sav.se_delta[0])
    for got, want in zip(sav.se_delta[1:], (1.66085, 0.820387, 0.469235), strict=True):
        _close(got, want)
    _close(sav.LRT, 7.066137)
    assert sav.LRTdf == 3
    _close(sav.tau2, 0.03071325)
    assert sav.ptable == (7, 8, 16, 6)


BASK_YI = [1.01, 0.82, 0.59, 0.44, 0.84, 0.73, 1.12, 0.04, 0.24, 0.32, 1.04, 1.31, 0.59, 0.66,
           0.62, 0.47, 1.08, 0.98, 0.26, 0.39, 0.60, 0.94, 0.11]
BASK_SEI = [0.52, 0.46, 0.23, 0.18, 0.29, 0.29, 0.36, 0.37, 0.15, 0.40, 0.32, 0.57, 0.29, 0.19,
            0.31, 0.27, 0.32, 0.32, 0.18, 0.18, 0.31, 0.53, 0.27]


def test_beta_model() -> None:
    """test_misc_selmodel.r lines 85-93: the beta selection model for Baskerville et al.
    (2012). metafor's tau^2 = 0.00000243 is where optim() stopped on the way to the boundary
    tau^2 = 0 (the likelihood changes by < 1e-9 there); ours reaches 0 and the test allows the
    absolute difference of 2.4e-6."""
    res = rma(np.array(BASK_YI), np.array(BASK_SEI) ** 2, method="ML")
    sav = selmodel(res, "beta")
    for got, want in zip(sav.delta, (0.4731131, 4.4613162), strict=True):
        _close(got, want)
    for got, want in zip(sav.se_delta, (0.2352481, 2.1841983), strict=True):
        _close(got, want)
    _close(sav.LRT, 7.846907)
    assert sav.LRTdf == 2
    assert sav.tau2 == pytest.approx(0.00000243, abs=2.5e-6)


@pytest.fixture(scope="module")
def preston() -> tuple[np.ndarray, np.ndarray]:
    dat = escalc(
        "OR",
        ai=[4, 0, 34, 7, 6, 1, 0, 11, 2, 0, 0, 33],
        n1i=[19, 18, 341, 71, 45, 94, 22, 88, 82, 33, 15, 221],
        ci=[5, 0, 50, 16, 5, 8, 0, 12, 7, 0, 1, 43],
        n2i=[19, 18, 334, 69, 44, 96, 22, 82, 84, 30, 20, 218],
        drop00=True,
    )
    dat = dat[dat["yi"].notna()]
    return dat["yi"].to_numpy(float), dat["vi"].to_numpy(float)


@pytest.mark.parametrize(
    ("type_", "delta", "se"),
    [("halfnorm", 3.162948, 2.988922), ("negexp", 2.656714, 2.347468),
     ("logistic", 3.339338, 2.388776), ("power", 1.458923, 1.393725)],
)
def test_exponential_family_models(
    preston: tuple[np.ndarray, np.ndarray], type_: str, delta: float, se: float
) -> None:
    """test_misc_selmodel.r lines 121-132: halfnorm, negexp, logistic and power for Preston et
    al. (2004), an equal-effects fit, alternative = "less".

    The power model's SE there (1.393725) is metafor's numerical Hessian of integrals taken at
    integrate()'s default rel.tol of 1.2e-4; with rel.tol 1e-8 metafor gives 1.353706
    (tests/data/goldens_selmodel.json, case preston2004_power_less), which is ours, so that
    SE is checked against the tight value."""
    yi, vi = preston
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(yi, vi, method="EE")
    sav = selmodel(res, type_, alternative="less")
    _close(sav.delta[0], delta)
    if type_ == "power":
        assert se == pytest.approx(1.393725)  # metafor's test, default integration
        se = 1.353706  # metafor at integrate(rel.tol = 1e-8)
    _close(sav.se_delta[0], se)


def test_stepfun_needs_steps_and_filled_intervals() -> None:
    """Bad input: stepfun without steps, an interval without p-values, an unknown type."""
    res = rma(np.array(HACK_YI), np.array(HACK_VI), method="ML")
    with pytest.raises(InputError, match="needs 'steps'"):
        selmodel(res, "stepfun")
    with pytest.raises(InputError, match="no observed p-value"):
        selmodel(res, "stepfun", steps=[0.0001, 0.0002])
    with pytest.raises(InputError, match="unknown selection model"):
        selmodel(res, "trunc")
    with pytest.raises(InputError, match="between 0 and 1"):
        selmodel(res, "stepfun", steps=[1.5])


def test_beta_model_with_moderator() -> None:
    """test_misc_selmodel.r lines 109-119: the beta selection model of the meta-regression
    rma(yi, sei^2, mods = ~ xi, method = "ML") for Baskerville et al. (2012), xi the blinding
    dummy (metadat's dat.baskerville2012$blind). As in the intercept-only test, metafor's
    tau^2 = 0.00000193 is where optim() stopped on its way to the boundary 0; ours reaches 0,
    and the test allows the absolute difference."""
    from metareview.models import rma_reg

    xi = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    res = rma_reg(np.array(BASK_YI), np.array(BASK_SEI) ** 2, mods=pd.DataFrame({"xi": xi}),
                  method="ML")
    sav = selmodel(res, "beta")
    for got, want in zip(sav.delta, (0.4200973, 5.0959707), strict=True):
        _close(got, want)
    for got, want in zip(sav.se_delta, (0.2391269, 2.4108796), strict=True):
        _close(got, want)
    _close(sav.LRT, 9.044252)
    assert sav.LRTdf == 2
    assert sav.tau2 == pytest.approx(0.00000193, abs=2e-6)
    for got, want in zip(sav.beta, (0.1343001, -0.1363559), strict=True):
        _close(got, want)
    for got, want in zip(sav.se, (0.1707418, 0.1244394), strict=True):
        _close(got, want)


# --- delta and prec: test_misc_selmodel.r at commit 0aecc95 of github.com/wviechtb/metafor ----


def test_beta_model_with_both_deltas_fixed_at_one() -> None:
    """test_misc_selmodel.r (0aecc95), "results are correct for the beta function model":
    ``selmodel(res, type="beta", delta=c(1,1))`` is no selection (w = 1), so its log likelihood
    is that of the ML fit ``res`` (ours: ``ll0``, the ML random-effects log likelihood)."""
    res = rma(np.array(BASK_YI), np.array(BASK_SEI) ** 2, method="ML")
    sav = selmodel(res, "beta", delta=[1, 1])
    assert sav.LRTdf == 0 and sav.delta_fix == (True, True)
    assert sav.logLik == pytest.approx(sav.ll0, rel=TOL)


@pytest.mark.parametrize(
    ("type_", "delta", "se"),
    [("halfnorm", 3.506329, 3.387300), ("negexp", 2.279336, 2.133013),
     ("logistic", 3.017851, 2.315789), ("power", 1.444174, 1.381633)],
)
def test_exponential_family_with_prec_unscaled(
    preston: tuple[np.ndarray, np.ndarray], type_: str, delta: float, se: float
) -> None:
    """test_misc_selmodel.r (0aecc95), "the various exponential function models":
    ``prec="sei", scaleprec=FALSE`` (Preston et al.'s selection by p-value and standard
    error), alternative = "less", equal-effects fit of Preston et al. (2004)."""
    yi, vi = preston
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(yi, vi, method="EE")
    sav = selmodel(res, type_, prec="sei", alternative="less", scaleprec=False)
    _close(sav.delta[0], delta)
    _close(sav.se_delta[0], se)


@pytest.mark.parametrize(
    ("type_", "delta", "se", "se_tight"),
    [("halfnorm", 5.832106, 5.644466, None), ("negexp", 3.819847, 3.627467, None),
     ("logistic", 5.041039, 2.306998, 3.899205), ("power", 2.399645, 2.134629, 2.318339)],
)
def test_exponential_family_with_prec_and_step(
    preston: tuple[np.ndarray, np.ndarray], type_: str, delta: float, se: float,
    se_tight: float | None,
) -> None:
    """test_misc_selmodel.r (0aecc95): ``prec="sei", steps=.05`` (w = 1 for p <= .05),
    alternative = "less". Two SEs there are metafor's numerical Hessian of integrals taken at
    integrate()'s default rel.tol 1.2e-4: logistic 2.306998 and power 2.134629 (the latter with
    ``hessianCtrl = list(r = 8)``, since at the default r = 6 metafor 3.8.1 cannot invert its
    Hessian). Refitted by metafor 3.8.1 at ``intCtrl = list(rel.tol = 1e-12)``, optim reltol
    1e-14 and ``ndeps`` 1e-5, they are 3.899205 and 2.318339 (deltas 5.04009, 2.399547), which
    are ours (3.899205, 2.318339): those SEs are checked against the tight values."""
    yi, vi = preston
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(yi, vi, method="EE")
    sav = selmodel(res, type_, prec="sei", alternative="less", steps=0.05)
    _close(sav.delta[0], delta)
    _close(sav.se_delta[0], se if se_tight is None else se_tight)


def test_a_priori_step_functions() -> None:
    """test_misc_selmodel.r (0aecc95), "a priori chosen step function models" (metafor's
    ``selmodel`` help example; Vevea & Woods 2005, Table 1): dat.cohen1981, r-to-z, ML, every
    step weight fixed: the estimates and tau^2 under the four selection functions."""
    from goldens_helpers import load_goldens

    # dat.cohen1981's yi/vi (escalc ZCOR) as scripts/goldens/selmodel_delta.R stored them
    cases = [c for c in load_goldens("goldens_selmodel_delta.json")["cases"]
             if c["name"].startswith("cohen1981_vevea_woods_")]
    assert [c["name"][22:] for c in cases] == ["delta_mod_1", "delta_sev_1", "delta_mod_2",
                                               "delta_sev_2"]
    want = [(0.351894, 0.0045), (0.321518, 0.009544), (0.362019, 0.002774), (0.33218, 0.005652)]
    for case, (beta, tau2) in zip(cases, want, strict=True):
        res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
        sav = selmodel(res, "stepfun", steps=case["options"]["steps"],
                       delta=case["options"]["delta"])
        assert sav.LRTdf == 0
        _close(sav.beta, beta)
        _close(sav.tau2, tau2)
