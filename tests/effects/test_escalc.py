"""escalc() against metafor 3.8 goldens, hand calculations and bad input.

Goldens: tests/data/goldens_escalc.json, written by scripts/goldens/escalc.R (metafor 3.8.1,
metadat 1.2.0): each case holds the inputs, the options and metafor's yi/vi.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metareview.effects import MEASURES, escalc, hedges_correction, not_computable, reasons
from metareview.errors import InputError

GOLDENS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "goldens_escalc.json").read_text()
)
RTOL = 1e-6
ATOL = 1e-12


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _run_case(case: dict[str, Any]) -> pd.DataFrame:
    inputs: dict[str, Any] = {name: _arr(values) for name, values in case["inputs"].items()}
    options = case["options"] or {}
    return escalc(case["measure"], **options, **inputs)


@pytest.mark.parametrize("case", GOLDENS["cases"], ids=[c["name"] for c in GOLDENS["cases"]])
def test_matches_metafor(case: dict[str, Any]) -> None:
    """yi and vi equal metafor's escalc() (same NaN pattern, values to rtol 1e-6)."""
    out = _run_case(case)
    for col in ("yi", "vi"):
        expected = _arr(case[col])
        got = out[col].to_numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=col)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=col)
    assert out.attrs["measure"] == case["measure"]
    assert len(reasons(out)) == len(out)


def test_goldens_cover_every_measure() -> None:
    covered = {case["measure"] for case in GOLDENS["cases"]}
    assert set(MEASURES) <= covered


def test_rr_first_bcg_trial_by_hand() -> None:
    """BCG trial 1 (Aronson 1948: 4/123 vaccinated, 11/139 controls with TB), by hand:
    yi = log((4/123)/(11/139)), vi = 1/4 - 1/123 + 1/11 - 1/139."""
    out = escalc("RR", ai=[4], bi=[119], ci=[11], di=[128])
    assert out["yi"][0] == pytest.approx(math.log((4 / 123) / (11 / 139)), rel=1e-12)
    assert out["vi"][0] == pytest.approx(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139, rel=1e-12)


def test_or_zero_cell_adds_half_only_to_that_table() -> None:
    """to='only0': 0.5 is added to all four cells of a table with a zero, not to others.
    Table 1 (0, 10, 5, 5): yi = log(0.5*5.5/(10.5*5.5)), vi = 1/0.5 + 1/10.5 + 2/5.5."""
    out = escalc("OR", ai=[0, 2], bi=[10, 8], ci=[5, 4], di=[5, 6])
    assert out["yi"][0] == pytest.approx(math.log(0.5 * 5.5 / (10.5 * 5.5)), rel=1e-12)
    assert out["vi"][0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 2 / 5.5, rel=1e-12)
    assert out["yi"][1] == pytest.approx(math.log(2 * 6 / (8 * 4)), rel=1e-12)


def test_smd_uses_exact_hedges_correction() -> None:
    """Hedges' g with the exact gamma-function correction c(m) = G(m/2)/(sqrt(m/2) G((m-1)/2)).

    m1 = 10, m2 = 8, sd = 2 in both groups of 10: d = 1, m = 18; by hand
    c(18) = G(9)/(3 G(8.5)) and the large-sample vi = 2/10 + g^2/40.
    """
    c18 = math.gamma(9) / (3 * math.gamma(8.5))
    assert hedges_correction(np.array([18.0]))[0] == pytest.approx(c18, rel=1e-12)
    # Hedges' approximation 1 - 3/(4m - 1) is close but not equal (0.95765 vs 0.95775)
    assert 5e-5 < abs(c18 - (1 - 3 / 71)) < 2e-4
    out = escalc("SMD", m1i=[10], m2i=[8], sd1i=[2], sd2i=[2], n1i=[10], n2i=[10])
    assert out["yi"][0] == pytest.approx(c18, rel=1e-12)
    assert out["vi"][0] == pytest.approx(0.2 + c18**2 / 40, rel=1e-12)


def test_data_frame_columns_by_name_and_by_metafor_names() -> None:
    bcg = pd.DataFrame(
        {"tpos": [4, 6, 3], "tneg": [119, 300, 228], "cpos": [11, 29, 11], "cneg": [128, 274, 209]}
    )
    by_name = escalc("OR", bcg, ai="tpos", bi="tneg", ci="cpos", di="cneg")
    auto = escalc(
        "OR", bcg.rename(columns={"tpos": "ai", "tneg": "bi", "cpos": "ci", "cneg": "di"})
    )
    np.testing.assert_allclose(by_name["yi"], auto["yi"], rtol=0)
    assert list(by_name.columns) == ["tpos", "tneg", "cpos", "cneg", "yi", "vi"]
    assert "yi" not in bcg.columns  # the input is not modified


def test_index_of_data_is_kept() -> None:
    df = pd.DataFrame({"ri": [0.3, 0.5], "ni": [50, 80]}, index=["a", "b"])
    out = escalc("ZCOR", df)
    assert list(out.index) == ["a", "b"]
    assert out.loc["b", "yi"] == pytest.approx(math.atanh(0.5), rel=1e-12)


def test_n_columns_complete_missing_cells() -> None:
    """bi may be missing where n1i is known (metafor's replmiss)."""
    out = escalc("RR", ai=[4, 6], bi=[np.nan, 300], n1i=[123, 306], ci=[11, 29], di=[128, 274])
    ref = escalc("RR", ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
    np.testing.assert_allclose(out["yi"], ref["yi"], rtol=1e-15)


def test_generic_measure_from_sei_and_label_kept() -> None:
    out = escalc("OR", yi=[0.2, -0.1], sei=[0.1, 0.3])
    np.testing.assert_allclose(out["vi"], [0.01, 0.09])
    assert out.attrs["measure"] == "OR"


def test_reasons_name_rows_and_causes() -> None:
    out = escalc(
        "OR",
        ai=[0, 3, np.nan, 0],
        bi=[10, 7, 5, 12],
        ci=[0, 4, 2, 3],
        di=[12, 6, 8, 9],
        drop00=True,
        slab=["A", "B", "C", "D"],
    )
    rows = not_computable(out)
    assert [(r.row, r.slab) for r in rows] == [(1, "A"), (3, "C")]
    assert "drop00" in rows[0].reason
    assert "missing value in column 'ai'" in rows[1].reason
    assert reasons(out).iloc[1] is None


def test_reasons_for_zero_cells_without_correction_and_small_n() -> None:
    out = escalc("RR", ai=[0, 3], bi=[10, 7], ci=[2, 4], di=[8, 6], to="none")
    assert "to='none'" in reasons(out).iloc[0]
    cor = escalc("COR", ri=[0.5, 0.4], ni=[3, 40])
    assert cor["yi"][0] == 0.5 and math.isnan(cor["vi"][0])  # as metafor: yi kept, vi missing
    assert "ni <= 3" in reasons(cor).iloc[0]


def test_pft_pas_default_to_no_continuity_correction() -> None:
    """metafor's add defaults to 0 for PAS and PFT: a proportion of 0 stays 0 under PAS."""
    out = escalc("PAS", xi=[0], ni=[10])
    assert out["yi"][0] == 0.0
    assert out["vi"][0] == pytest.approx(1 / 40)
    corrected = escalc("PAS", xi=[0], ni=[10], add=0.5)
    assert corrected["yi"][0] == pytest.approx(math.asin(math.sqrt(0.5 / 11)))


def test_vtype_per_row() -> None:
    md = {
        "m1i": [5, 6],
        "m2i": [4, 4],
        "sd1i": [1, 2],
        "sd2i": [2, 1],
        "n1i": [10, 20],
        "n2i": [12, 15],
    }
    a = escalc("MD", **md, vtype=["LS", "HO"])
    ls = escalc("MD", **md)
    ho = escalc("MD", **md, vtype="HO")
    assert a["vi"][0] == ls["vi"][0] and a["vi"][1] == ho["vi"][1]


# ----- bad input --------------------------------------------------------------------------------


def _error(**kwargs: Any) -> InputError:
    with pytest.raises(InputError) as info:
        escalc(**kwargs)
    return info.value


def test_text_in_numeric_column_names_row_and_column() -> None:
    df = pd.DataFrame({"ai": [4, 6], "bi": [119, "3OO"], "ci": [11, 29], "di": [128, 274]})
    err = _error(measure="OR", data=df)
    assert (err.row, err.field) == (2, "bi")
    assert "3OO" in str(err)


def test_missing_tokens_in_text_columns_are_missing_values() -> None:
    df = pd.DataFrame(
        {"ai": ["4", "NA", " "], "bi": ["119", "300", "5"], "ci": [11, 29, 3], "di": [128, 274, 7]}
    )
    out = escalc("OR", df)
    assert out["yi"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("kwargs", "row", "field"),
    [
        (
            {
                "measure": "MD",
                "m1i": [1, 2],
                "m2i": [1, 1],
                "sd1i": [1, -1],
                "sd2i": [1, 1],
                "n1i": [5, 5],
                "n2i": [5, 5],
            },
            2,
            "sd1i",
        ),
        (
            {
                "measure": "SMD",
                "m1i": [1, 2],
                "m2i": [1, 1],
                "sd1i": [1, 1],
                "sd2i": [1, 1],
                "n1i": [5, -5],
                "n2i": [5, 5],
            },
            2,
            "n1i",
        ),
        ({"measure": "RR", "ai": [3, 12], "n1i": [10, 11], "ci": [1, 1], "n2i": [10, 10]}, 2, "ai"),
        ({"measure": "OR", "ai": [3], "bi": [7], "n1i": [11], "ci": [1], "di": [9]}, 1, "n1i"),
        ({"measure": "PR", "xi": [3, 1, 8], "ni": [10, 10, 5]}, 3, "xi"),
        ({"measure": "COR", "ri": [0.2, 1.3], "ni": [10, 20]}, 2, "ri"),
        ({"measure": "IRR", "x1i": [1], "t1i": [0], "x2i": [2], "t2i": [10]}, 1, "t1i"),
        ({"measure": "OR", "ai": [-1], "bi": [3], "ci": [1], "di": [2]}, 1, "ai"),
        ({"measure": "GEN", "yi": [0.1, 0.2], "vi": [0.1, -0.2]}, 2, "vi"),
        (
            {"measure": "SMCR", "m1i": [1], "m2i": [2], "sd1i": [1], "ni": [10], "ri": [1.5]},
            1,
            "ri",
        ),
    ],
)
def test_impossible_values_raise_input_error(kwargs: dict[str, Any], row: int, field: str) -> None:
    err = _error(**kwargs)
    assert (err.row, err.field) == (row, field)


def test_unknown_measure_missing_column_and_bad_options() -> None:
    assert _error(measure="XYZ", ai=[1]).field == "measure"
    assert "sd2i" in str(_error(measure="MD", m1i=[1], m2i=[1], sd1i=[1], n1i=[3], n2i=[3]))
    assert _error(measure="OR", ai=[1], bi=[2], ci=[1], di=[2], foo=[1]).field == "foo"
    assert _error(measure="OR", ai=[1], bi=[2], ci=[1], di=[2], to="some").field == "to"
    assert (
        _error(
            measure="SMD", m1i=[1], m2i=[1], sd1i=[1], sd2i=[1], n1i=[3], n2i=[3], vtype="HO"
        ).field
        == "vtype"
    )
    assert "rows" in str(_error(measure="OR", ai=[1, 2], bi=[2], ci=[1, 1], di=[2, 2]))
    assert _error(measure="OR", ai="a", bi="b", ci="c", di="d").field == "ai"
    df = pd.DataFrame({"a": [1]})
    assert _error(measure="OR", data=df, ai="a", bi="nope", ci="a", di="a").field == "nope"


def test_docstring_example() -> None:
    """The example in escalc's docstring (BCG trials 1 and 2; metafor: -0.8893, -1.5854)."""
    import doctest
    import importlib

    module = importlib.import_module("metareview.effects.escalc")  # the function shadows it
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 1 and result.failed == 0


# ----- single-group rates and means ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "row", "field"),
    [
        ({"measure": "IRLN", "xi": [3, 2], "ti": [100, -5]}, 2, "ti"),
        ({"measure": "IR", "xi": [3, 2], "ti": [100, 0]}, 2, "ti"),
        ({"measure": "IRFT", "xi": [3, -1], "ti": [100, 50]}, 2, "xi"),
        ({"measure": "MN", "mi": [3, 2, 4], "sdi": [1, 1, -0.5], "ni": [10, 10, 10]}, 3, "sdi"),
        ({"measure": "SDLN", "sdi": [-1], "ni": [10]}, 1, "sdi"),
        ({"measure": "MNLN", "mi": [3, -2], "sdi": [1, 1], "ni": [10, 10]}, 2, "mi"),
        ({"measure": "CVLN", "mi": [3, 2], "sdi": [1, 1], "ni": [10, 0]}, 2, "ni"),
    ],
)
def test_single_group_impossible_values_name_row_and_column(
    kwargs: dict[str, Any], row: int, field: str
) -> None:
    err = _error(**kwargs)
    assert (err.row, err.field) == (row, field)


def test_single_group_errors_name_the_data_frame_column() -> None:
    df = pd.DataFrame({"events": [4, 1], "pyears": [120.0, -3.0]})
    err = _error(measure="IRLN", data=df, xi="events", ti="pyears")
    assert (err.row, err.field) == (2, "pyears")
    assert "person-time" in str(err)


def test_irln_zero_count_by_hand() -> None:
    """IRLN with xi = 0 over ti = 200: metafor adds 1/2 (to="only0"), so yi = log(0.5/200),
    vi = 1/0.5; the row with xi = 4 over 100 is left alone: log(0.04), 1/4."""
    out = escalc("IRLN", xi=[0, 4], ti=[200, 100])
    assert out["yi"].tolist() == pytest.approx([math.log(0.5 / 200), math.log(0.04)], rel=1e-12)
    assert out["vi"].tolist() == pytest.approx([2.0, 0.25], rel=1e-12)
    assert out.attrs["ni"] == [200.0, 100.0]


def test_irft_adds_nothing_by_default_by_hand() -> None:
    """IRFT (add = 0 by default): xi = 0, ti = 25 gives yi = (0 + sqrt(1/25))/2 = 0.1,
    vi = 1/(4 * 25) = 0.01."""
    out = escalc("IRFT", xi=[0], ti=[25])
    assert out["yi"][0] == pytest.approx(0.1, rel=1e-12)
    assert out["vi"][0] == pytest.approx(0.01, rel=1e-12)


def test_mnln_and_sdln_by_hand() -> None:
    """MNLN: mean 8, SD 2, n 16 gives yi = log 8, vi = 4/(16 * 64); SDLN: yi = log 2 + 1/30,
    vi = 1/30. A zero mean leaves MNLN missing with a reason."""
    out = escalc("MNLN", mi=[8, 0], sdi=[2, 1], ni=[16, 10])
    assert out["yi"][0] == pytest.approx(math.log(8), rel=1e-12)
    assert out["vi"][0] == pytest.approx(4 / (16 * 64), rel=1e-12)
    assert math.isnan(out["yi"][1])
    assert "mean is 0" in str(reasons(out)[1])
    sd = escalc("SDLN", sdi=[2], ni=[16])
    assert sd["yi"][0] == pytest.approx(math.log(2) + 1 / 30, rel=1e-12)
    assert sd["vi"][0] == pytest.approx(1 / 30, rel=1e-12)
