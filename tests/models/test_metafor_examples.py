"""metafor's published-example tests that need influence/confint/predict: reproduced.

Each test cites the file and lines of ``tests/testthat/test_analysis_example_*.r`` in the metafor
repository (github.com/wviechtb/metafor) whose ``expect_equivalent`` assertions it repeats, with
the tolerance those tests use (``.tol = 0.01``, relative, from ``tests/testthat/settings.r``).
The data come from tests/data/metafor_examples_data.json (scripts/goldens/metafor_examples_data.R)
or, for Lipsey & Wilson (2001), from the data frame written in the test file itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens

from metareview.models import confint, rma, rma_reg

D = load_goldens("metafor_examples_data.json")
TOL = 0.01  # settings.r: .tol[1:length(.tol)] <- .01


def _eq(got: object, want: object) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=TOL, atol=1e-4)


# ------------------------------------------------------------------ viechtbauer2007a


def _collins(method: str):  # type: ignore[no-untyped-def]
    d = D["collins1985b_OR"]
    return rma(d["yi"], d["vi"], method=method)


def test_viechtbauer2007a_tau2_estimates() -> None:
    """test_analysis_example_viechtbauer2007a.r, lines 22-24 (Table II, page 44)."""
    _eq([_collins(m).tau2 for m in ("DL", "ML", "REML", "SJ")], [.2297, .2386, .3008, .4563])


def test_viechtbauer2007a_qprofile_ci() -> None:
    """test_analysis_example_viechtbauer2007a.r, lines 28-34: ``confint(res.DL)``."""
    _eq(confint(_collins("DL")).tau2_ci, [.0723, 2.2027])
    res = _collins("DL")
    _eq([res.tau2_ci_lb, res.tau2_ci_ub], [.0723, 2.2027])


def test_viechtbauer2007a_profile_likelihood_ci() -> None:
    """test_analysis_example_viechtbauer2007a.r, lines 58-66: ``confint(res.ML, type="PL")``
    and ``confint(res.REML, type="PL")``."""
    _eq(confint(_collins("ML"), type="PL").tau2_ci, [.0266, 1.1308])
    _eq(confint(_collins("REML"), type="PL").tau2_ci, [.0427, 1.4747])


def test_viechtbauer2007a_sidik_jonkman_ci() -> None:
    """test_analysis_example_viechtbauer2007a.r, lines 98-103 (hand arithmetic on res.SJ)."""
    from scipy import stats

    res = _collins("SJ")
    lb = (res.k - 1) * res.tau2 / stats.chi2.ppf(.975, res.k - 1)
    ub = (res.k - 1) * res.tau2 / stats.chi2.ppf(.025, res.k - 1)
    _eq([lb, ub], [.2082, 1.6748])


# ------------------------------------------------------------------ raudenbush2009


def test_raudenbush2009_prediction_interval() -> None:
    """test_analysis_example_raudenbush2009.r, lines 27-39: ``predict(res.RE)``."""
    d = D["raudenbush1985"]
    res = rma(d["yi"], d["vi"])
    _eq([res.beta, res.zval, res.tau2], [0.0837, 1.6208, 0.0188])
    p = res.predict()
    _eq([p["pi_lb"], p["pi_ub"]], [-0.2036, 0.3711])


def test_raudenbush2009_mixed_effects_model() -> None:
    """test_analysis_example_raudenbush2009.r, lines 52-61 (weeks recoded to at most 3)."""
    d = D["raudenbush1985"]
    weeks = np.minimum(np.asarray(d["weeks"], dtype=float), 3.0)
    res = rma_reg(d["yi"], d["vi"], mods=weeks)
    assert res.tau2 == pytest.approx(0.0, abs=1e-4)
    _eq(res.beta, [0.4072, -0.1572])
    _eq(res.QE, 16.5708)
    _eq(res.zval, [4.6782, -4.3884])


# ------------------------------------------------------------------ lipsey2001

#: test_analysis_example_lipsey2001.r, lines 10-16
LIPSEY = pd.DataFrame({
    "id": [100, 308, 1596, 2479, 9021, 9028, 161, 172, 537, 7049],
    "yi": [-0.33, 0.32, 0.39, 0.31, 0.17, 0.64, -0.33, 0.15, -0.02, 0.00],
    "vi": [0.084, 0.035, 0.017, 0.034, 0.072, 0.117, 0.102, 0.093, 0.012, 0.067],
    "random": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
    "intensity": [7, 3, 7, 5, 7, 7, 4, 4, 5, 6],
})


def test_lipsey2001_predict_newmods() -> None:
    """test_analysis_example_lipsey2001.r, lines 40-58: ``predict(res, newmods=c(0,1))`` of the
    FE model with ``random``; rows pred, se, ci.lb, ci.ub; QM, QE."""
    res = rma_reg("yi", "vi", mods="random", data=LIPSEY, method="FE")
    p = res.predict(newmods=[0, 1])
    _eq(p.iloc[0][["pred", "se", "ci_lb", "ci_ub"]], [0.2984, 0.0813, 0.1390, 0.4578])
    _eq(p.iloc[1][["pred", "se", "ci_lb", "ci_ub"]], [-0.0277, 0.0917, -0.2075, 0.1521])
    _eq([res.QM, res.QMp, res.QE, res.QEp], [7.0739, 0.0078, 7.6901, 0.4643])


# ------------------------------------------------------------------ viechtbauer2007b


def _linde() -> pd.DataFrame:
    return pd.DataFrame(D["linde2005_RR"])


def test_viechtbauer2007b_pooled_predictions() -> None:
    """test_analysis_example_viechtbauer2007b.r, lines 26-48: ``predict(res, transf=exp)`` of
    the EE and DL models."""
    d = _linde()
    ee = rma(d["yi"], d["vi"], method="EE").predict(transf=np.exp)
    _eq([ee["pred"], ee["ci_lb"], ee["ci_ub"]], [1.3840, 1.2599, 1.5204])
    res = rma(d["yi"], d["vi"], method="DL")
    p = res.predict(transf=np.exp)
    _eq([p["pred"], p["ci_lb"], p["ci_ub"]], [1.5722, 1.3103, 1.8864])
    _eq([p["pi_lb"], p["pi_ub"]], [.8488, 2.9120])
    _eq(res.tau2, .0903)


def test_viechtbauer2007b_mixed_effects_predictions() -> None:
    """test_analysis_example_viechtbauer2007b.r, lines 52-72: ``mods = ~ I(dosage-34) *
    I(baseline-20)`` (the interaction built as a column), tau^2, R^2, coefficients and
    ``predict(res, newmods=..., transf=exp)``."""
    d = _linde()
    dose = d["dosage"] * d["duration"] - 34  # line 54: dosage <- dosage * duration
    base = d["baseline"] - 20
    mods = pd.DataFrame({"dose": dose, "base": base, "dose_base": dose * base})
    res = rma_reg(d["yi"], d["vi"], mods=mods, method="DL")
    _eq(res.tau2, .0475)
    _eq(res.R2, 47.3778)
    _eq(res.beta, [0.47625885, -0.0058448, -0.06722782, -0.00156996])
    _eq(res.se, [0.08764097, 0.00999872, 0.03522283, 0.00344659])
    _eq(res.zval, [5.43420301, -0.58455444, -1.9086436, -0.45551255])
    p = res.predict(newmods=[0.0, 12.5 - 20, 0.0], transf=np.exp)
    _eq(p.iloc[0][["pred", "ci_lb", "ci_ub"]], [2.6657, 1.4560, 4.8806])
    p = res.predict(newmods=[0.0, 23.6 - 20, 0.0], transf=np.exp)
    _eq(p.iloc[0][["pred", "ci_lb", "ci_ub"]], [1.2639, 0.9923, 1.6099])
