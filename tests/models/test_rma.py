"""rma(): inputs, errors, k = 1, printing, to_dict, predict.

Numbers checked here come from metafor 3.8 (``Rscript`` calls quoted next to them) or from the
BCG goldens (tests/data/goldens_rma.json, scripts/goldens/rma.R).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens

from metareview.errors import ConvergenceError, InputError, MetareviewWarning
from metareview.models import RMAResult, rma

BCG = load_goldens("goldens_rma.json")["datasets"]["bcg_RR"]


def bcg(**kw: Any) -> RMAResult:
    return rma(BCG["yi"], BCG["vi"], slab=BCG["slab"], measure="RR", **kw)


# ----------------------------------------------------------------------------- inputs


def test_dataframe_input_uses_yi_vi_and_measure_attr() -> None:
    df = pd.DataFrame({"yi": BCG["yi"], "vi": BCG["vi"], "study": BCG["slab"]})
    df.attrs["measure"] = "RR"
    res = rma(df, slab="study")
    ref = bcg()
    assert res.measure == "RR"
    assert res.slab == tuple(BCG["slab"])
    assert res.beta == pytest.approx(ref.beta, rel=1e-12)
    res2 = rma("yi", "vi", data=df)
    assert res2.tau2 == pytest.approx(ref.tau2, rel=1e-12)


def test_sei_is_sqrt_vi() -> None:
    ref = bcg()
    res = rma(BCG["yi"], sei=np.sqrt(BCG["vi"]))
    assert res.beta == pytest.approx(ref.beta, rel=1e-10)
    assert res.tau2 == pytest.approx(ref.tau2, rel=1e-10)


def test_fe_is_alias_of_ee() -> None:
    ee, fe = bcg(method="EE"), bcg(method="FE")
    assert fe.method == "FE"
    for name in ("beta", "se", "ci_lb", "QE", "I2", "H2"):
        assert getattr(ee, name) == getattr(fe, name)
    assert ee.pi_lb is None and ee.tau2_ci_lb is None and ee.se_tau2 is None


def test_method_and_test_are_case_insensitive() -> None:
    assert bcg(method="reml", test="KNHA").test == "knha"
    assert bcg(test="hksj").test == "knha"


@pytest.mark.parametrize(
    ("yi", "vi", "row", "field", "text"),
    [
        ([0.1, 0.2, 0.3], [0.1, -0.2, 0.1], 2, "vi", "must be > 0"),
        ([0.1, 0.2, 0.3], [0.1, 0.0, 0.1], 2, "vi", "must be > 0"),
        ([0.1, np.nan, 0.3], [0.1, 0.1, 0.1], 2, "yi", "missing"),
        ([0.1, 0.2, 0.3], [0.1, 0.1, None], 3, "vi", "missing"),
        ([0.1, np.inf, 0.3], [0.1, 0.1, 0.1], 2, "yi", "infinite"),
        ([0.1, "abc", 0.3], [0.1, 0.1, 0.1], 2, "yi", "not a number"),
        ([0.1, 0.2, 0.3], [0.1, 0.1, "0.1x"], 3, "vi", "not a number"),
    ],
)
def test_bad_values_name_row_and_field(
    yi: list[object], vi: list[object], row: int, field: str, text: str
) -> None:
    with pytest.raises(InputError) as err:
        rma(yi, vi)
    assert err.value.row == row
    assert err.value.field == field
    assert text in str(err.value)


def test_column_names_reported_for_dataframe() -> None:
    df = pd.DataFrame({"logrr": [0.1, 0.2, 0.3], "var": [0.1, -1.0, 0.2]})
    with pytest.raises(InputError) as err:
        rma("logrr", "var", data=df)
    assert (err.value.row, err.value.field) == (2, "var")
    with pytest.raises(InputError, match="no column 'nope'"):
        rma("nope", "var", data=df)


def test_other_input_errors() -> None:
    with pytest.raises(InputError, match="has 3 values but vi has 2"):
        rma([0.1, 0.2, 0.3], [0.1, 0.1])
    with pytest.raises(InputError, match="give vi or sei"):
        rma([0.1, 0.2])
    with pytest.raises(InputError, match="not both"):
        rma([0.1, 0.2], [0.1, 0.1], sei=[0.3, 0.3])
    with pytest.raises(InputError, match="standard error must be > 0"):
        rma([0.1, 0.2], sei=[0.3, -0.3])
    with pytest.raises(InputError, match="unknown method"):
        rma([0.1, 0.2], [0.1, 0.1], method="BAYES")
    with pytest.raises(InputError, match="unknown test"):
        rma([0.1, 0.2], [0.1, 0.1], test="adhoc")
    with pytest.raises(InputError, match="level"):
        rma([0.1, 0.2], [0.1, 0.1], level=150)
    with pytest.raises(InputError, match="k = 0"):
        rma([], [])
    with pytest.raises(InputError, match="slab has 1 labels"):
        rma([0.1, 0.2], [0.1, 0.1], slab=["a"])
    with pytest.raises(InputError, match="control"):
        rma([0.1, 0.2], [0.1, 0.1], control={"stepadj": 0.5})
    with pytest.raises(InputError, match="tau2"):
        rma([0.1, 0.2], [0.1, 0.1], tau2=-1.0)


def test_na_action_omit_leaves_rows_out_with_warning() -> None:
    yi = [*BCG["yi"], np.nan]
    vi = [*BCG["vi"], 0.1]
    with pytest.warns(MetareviewWarning, match="row\\(s\\) 14"):
        res = rma(yi, vi, na_action="omit")
    assert res.k == 13
    assert res.slab[-1] == "13"
    assert res.tau2 == pytest.approx(bcg().tau2, rel=1e-12)


def test_duplicate_labels_made_unique_as_r() -> None:
    res = rma([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], slab=["a", "a", "b"])
    assert res.slab == ("a", "a.1", "b")


# ----------------------------------------------------------------------------- k = 1


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "EE"])
def test_k1_fits_like_metafor(method: str) -> None:
    """metafor 3.8: rma(0.5, 0.04, method=...) gives estimate 0.5, se 0.2, tau^2 0, Q 0, QEp 1,
    I^2 0, H^2 1, z test; ``test="knha"`` is reset to "z" with a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rma([0.5], [0.04], method=method, test="knha")
    assert any("k = 1" in str(w.message) for w in caught)
    assert res.k == 1 and res.test == "z" and res.ddf is None
    assert res.beta == 0.5 and res.se == pytest.approx(0.2)
    assert res.ci_lb == pytest.approx(0.5 - 1.959963984540054 * 0.2)
    assert (res.tau2, res.QE, res.QEp, res.I2, res.H2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert res.tau2_ci_lb is None and res.se_tau2 is None
    if method != "EE":
        assert res.pi_lb == pytest.approx(res.ci_lb)


def test_fixed_tau2_labels_and_has_no_ci() -> None:
    res = bcg(tau2=0.1)
    assert res.tau2_fixed and res.tau2 == 0.1
    assert res.tau2_ci_lb is None
    assert "user-specified tau^2 value" in res.summary()


# ----------------------------------------------------------------------------- errors


def test_convergence_error_names_the_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """If neither Fisher scoring nor its bisection fallback converges, ConvergenceError."""
    import metareview.models._core as core

    def never(d: Any, method: str, control: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(d.y.shape[0]), np.zeros(d.y.shape[0], dtype=bool)

    monkeypatch.setattr(core, "_solve_score", never)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConvergenceError, match=r"REML .* RR \(k = 13\)"):
            bcg(control={"maxiter": 1})


def test_knha_with_ee_warns() -> None:
    with pytest.warns(MetareviewWarning, match="Knapp-Hartung"):
        bcg(method="EE", test="knha")


# ----------------------------------------------------------------------------- output


def test_summary_looks_like_metafor() -> None:
    """Lines as printed by metafor 3.8 for ``rma(yi, vi, data=dat)`` on dat.bcg (RR)."""
    text = bcg().summary()
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "tau (square root of estimated tau^2 value):      0.5597" in text
    assert "I^2 (total heterogeneity / total variability):   92.22%" in text
    assert "H^2 (total variability / sampling variability):  12.86" in text
    assert "Test for Heterogeneity:\nQ(df = 12) = 152.2330, p-val < .0001" in text
    lines = text.splitlines()
    i = lines.index("Model Results:")
    assert lines[i + 2].split() == ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
    assert lines[i + 3].split() == ["-0.7145", "0.1798", "-3.9744", "<.0001", "-1.0669",
                                    "-0.3622", "***"]
    assert str(bcg()) == text
    assert bcg()._repr_html_().startswith('<div class="metareview-result">')


def test_summary_knha_and_ee() -> None:
    """metafor 3.8, test="knha": ``-0.7145 0.1808 -3.9522 12 0.0019 -1.1084 -0.3206 **``."""
    lines = bcg(test="knha").summary().splitlines()
    i = lines.index("Model Results:")
    assert lines[i + 2].split() == ["estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub"]
    assert lines[i + 3].split() == ["-0.7145", "0.1808", "-3.9522", "12", "0.0019", "-1.1084",
                                    "-0.3206", "**"]
    ee = bcg(method="EE").summary()
    assert ee.splitlines()[1] == "Equal-Effects Model (k = 13)"
    assert "tau^2" not in ee.split("Model Results")[0]


def test_to_dict_is_json_safe() -> None:
    for res in (bcg(), bcg(method="EE")):
        d = res.to_dict()
        text = json.dumps(d, allow_nan=False)
        back = json.loads(text)
        assert back["estimate"] == res.beta
        assert back["slab"] == list(BCG["slab"])
        assert len(back["weights"]) == 13
    assert bcg(method="EE").to_dict()["pi_lb"] is None


def test_result_is_immutable() -> None:
    res = bcg()
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.beta = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.yi[0] = 1.0


def test_predict_back_transforms_like_metafor() -> None:
    """metafor 3.8: ``predict(res, transf=exp)`` -> 0.4894 0.3441 0.6962 0.1546 1.5490."""
    p = bcg().predict(transf=np.exp)
    assert p["pred"] == pytest.approx(0.4894, abs=5e-5)
    assert p["ci_lb"] == pytest.approx(0.3441, abs=5e-5)
    assert p["ci_ub"] == pytest.approx(0.6962, abs=5e-5)
    assert p["pi_lb"] == pytest.approx(0.1546, abs=5e-5)
    assert p["pi_ub"] == pytest.approx(1.5490, abs=5e-5)
    raw = bcg().predict()
    assert raw["pred"] == bcg().estimate
    neg = bcg().predict(transf=lambda x: -x)  # bounds re-sorted after a decreasing transform
    assert neg["ci_lb"] is not None and neg["ci_ub"] is not None
    assert neg["ci_lb"] < neg["ci_ub"]
    assert bcg(method="EE").predict()["pi_lb"] is None


def test_weights_percent_sum_to_100() -> None:
    res = bcg()
    assert res.weights.sum() == pytest.approx(100.0)
    w = 1 / (np.asarray(BCG["vi"]) + res.tau2)
    np.testing.assert_allclose(res.weights, 100 * w / w.sum(), rtol=1e-12)
    assert math.isclose(res.tau, math.sqrt(res.tau2))


def test_values_beyond_double_precision_are_refused_with_the_row() -> None:
    # Found by hypothesis: yi = 1.64e154 squared overflows, so DL silently gave beta = NaN.
    from metareview.errors import InputError

    with pytest.raises(InputError, match=r"row 3.*'yi'"):
        rma([0.0, 0.0, 1.64e154], [1.0, 1.0, 1.0], method="DL")
    with pytest.raises(InputError, match=r"row 2.*'vi'"):
        rma([0.1, 0.2, 0.3], [1.0, 1e-60, 1.0], method="REML")



def test_reml_where_fisher_scoring_oscillates_takes_the_highest_likelihood() -> None:
    # Analysis 8688 of benchmarks/pool_benchmark.py (seed 20261123): the REML likelihood has a
    # local maximum at tau^2 = 0 and a higher one inside; Fisher scoring oscillates. Expected:
    # metafor 3.8.1 rma(yi, vi, method = "REML",
    #   control = list(threshold = 1e-12, maxiter = 5000, stepadj = 0.5))
    yi = [1.2052146574, 0.5837596399, 1.0634526616, 1.0660444889, -1.3657393240, 0.1791189082,
          1.2455277419, 0.5179819073, 0.6030682600, 0.7365205055, -0.7676863320]  # fmt: skip
    vi = [0.2053932360, 0.1350123024, 0.3682176622, 0.4373506564, 0.4000479771, 0.3957338641,
          0.4953411637, 0.3415330586, 0.0446955511, 0.0671310796, 0.4594935700]  # fmt: skip
    with pytest.warns(Warning, match="Fisher scoring did not converge"):
        res = rma(yi, vi, method="REML")
    assert res.beta == pytest.approx(0.547163552195, rel=1e-6)
    assert res.se == pytest.approx(0.174336985845, rel=1e-6)
    assert res.tau2 == pytest.approx(0.109516033441, rel=1e-6)
    assert res.ci_lb == pytest.approx(0.205469338767, rel=1e-6)
