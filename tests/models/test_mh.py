"""rma_mh()/rma_peto() against metafor 3.8's rma.mh()/rma.peto() and hand calculations.

Goldens: tests/data/goldens_mh.json, written by scripts/goldens/mh.R (metafor 3.8.1, metadat
1.2.0) on dat.bcg, dat.nielweise2007, dat.yusuf1985 (tables 6 and 9: missing tables and
double-zero studies), dat.li2007, dat.egger2001, dat.collins1985a (double zeros, missing),
dat.hart1999 (incidence rates, IRR/IRD) and small hand tables; each case keeps metafor's printed
summary, weights() and predict() too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metareview.errors import InputError
from metareview.models.mh import MHResult, rma_mh, rma_peto

GOLDENS = json.loads((Path(__file__).resolve().parents[1] / "data" / "goldens_mh.json").read_text())
RTOL = 1e-6
#: statistics that are 0 in exact arithmetic (Breslow-Day of one table) come out ~1e-29
ATOL = 1e-12


def _cells(case: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in case["cells"].items():
        values = values if isinstance(values, list) else [values]
        out[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return out


def _fit(case: dict[str, Any]) -> MHResult:
    options = dict(case["options"] or {})
    fit = rma_mh if case["method"] == "MH" else rma_peto
    return fit(**_cells(case), **options)


@pytest.mark.parametrize("case", GOLDENS["cases"], ids=[c["name"] for c in GOLDENS["cases"]])
def test_matches_metafor(case: dict[str, Any]) -> None:
    res = _fit(case)
    for key, expected in case["result"].items():
        got = getattr(res, key)
        if expected is None:
            assert got is None or math.isnan(got), key
        else:
            assert got == pytest.approx(expected, rel=RTOL, abs=ATOL), key
    assert res.method == case["method"]
    assert res.measure == case["measure"]
    # weights(): percent per table used, as metafor's weights.rma.mh / weights.rma.peto
    np.testing.assert_allclose(res.weights, case["weights"], rtol=RTOL, atol=ATOL)
    assert len(res.yi) == len(res.vi) == len(res.slab) == len(res.weights) == res.k
    assert int(np.sum(~np.isnan(res.yi))) <= res.k_yi
    pred = res.predict()
    for key, expected in case["predict"].items():
        if expected is not None:
            assert pred[key] == pytest.approx(expected, rel=RTOL), key


@pytest.mark.parametrize("case", GOLDENS["cases"], ids=[c["name"] for c in GOLDENS["cases"]])
def test_summary_prints_as_metafor(case: dict[str, Any]) -> None:
    assert _fit(case).summary() == case["printed"]


def test_mh_odds_ratio_by_hand() -> None:
    """Two tables (a, b, c, d) = (2, 8, 4, 6) and (3, 7, 5, 5), N = 20 each:
    R = 2*6/20 + 3*5/20 = 1.35, S = 8*4/20 + 7*5/20 = 3.35, OR_MH = R/S."""
    res = rma_mh([2, 3], [8, 7], [4, 5], [6, 5], measure="OR")
    assert math.exp(res.beta) == pytest.approx(1.35 / 3.35, rel=1e-12)
    # Robins-Breslow-Greenland variance, written out: P = (a+d)/N, Q = (b+c)/N
    p, q = np.array([8, 8]) / 20, np.array([12, 12]) / 20
    r, s = np.array([0.6, 0.75]), np.array([1.6, 1.75])
    var = 0.5 * (
        (p * r).sum() / 1.35**2 + (p * s + q * r).sum() / (1.35 * 3.35) + (q * s).sum() / 3.35**2
    )
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-12)


def test_peto_by_hand() -> None:
    """One table (5, 45, 9, 41): E = 14*50/100 = 7, V = 14*86*50*50/(100^2*99),
    log OR = (5 - 7)/V, SE = 1/sqrt(V)."""
    v = 14 * 86 * 50 * 50 / (100**2 * 99)
    res = rma_peto([5], [45], [9], [41])
    assert res.beta == pytest.approx(-2 / v, rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(v), rel=1e-12)


def test_data_frame_input_and_labels() -> None:
    df = pd.DataFrame(
        {"study": ["A", "B"], "ai": [2, 3], "n1i": [10, 10], "ci": [4, 5], "n2i": [10, 10]}
    )
    res = rma_mh("ai", ci="ci", n1i="n1i", n2i="n2i", data=df, slab="study")
    ref = rma_mh([2, 3], [8, 7], [4, 5], [6, 5])
    assert res.beta == pytest.approx(ref.beta, rel=1e-14)
    assert res.slab == ("A", "B")


@settings(max_examples=40, deadline=None)
@given(
    tables=st.lists(
        st.tuples(*(st.integers(min_value=0, max_value=40) for _ in range(4))),
        min_size=2,
        max_size=10,
    ),
    measure=st.sampled_from(["OR", "RR", "RD", "PETO"]),
    data=st.data(),
)
def test_permuting_tables_does_not_change_results(
    tables: list[tuple[int, int, int, int]], measure: str, data: st.DataObject
) -> None:
    perm = list(data.draw(st.permutations(range(len(tables)))))
    cells = np.array(tables, dtype=float).T
    fit = rma_peto if measure == "PETO" else rma_mh
    kwargs: dict[str, Any] = {} if measure == "PETO" else {"measure": measure}
    try:
        a = fit(*cells, **kwargs)
    except InputError:
        with pytest.raises(InputError):
            fit(*cells[:, perm], **kwargs)
        return
    b = fit(*cells[:, perm], **kwargs)
    for key in ("beta", "se", "QE", "I2", "MH", "TA"):
        x, y = getattr(a, key), getattr(b, key)
        assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9, abs=1e-9)


def test_predict_back_transforms() -> None:
    res = rma_mh([2, 3], [8, 7], [4, 5], [6, 5])
    pred = res.predict(transf=np.exp)
    assert pred["pred"] == pytest.approx(1.35 / 3.35, rel=1e-12)
    assert pred["pi_lb"] == pred["ci_lb"] == pytest.approx(math.exp(res.ci_lb))


def test_double_zero_table_kept_for_pooling_but_has_no_yi() -> None:
    """As metafor: drop00=(True, False) by default; the double-zero table is one of the k tables
    (weight 0 for OR) but has no study-level yi, so Q has k_yi - 1 = 1 df."""
    res = rma_mh([5, 0, 3], [45, 30, 20], [9, 0, 6], [41, 28, 18], slab=["a", "b", "c"])
    assert (res.k, res.k_yi) == (3, 2)
    assert math.isnan(res.yi[1]) and res.weights[1] == 0.0
    assert res.slab == ("a", "b", "c")


def test_to_dict_is_json_safe() -> None:
    res = rma_mh([5, 0], [45, 30], [9, 0], [41, 28])
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["BDp"] is None
    assert d["method"] == "MH" and d["k"] == 2


def test_result_is_frozen() -> None:
    res = rma_peto([5], [45], [9], [41])
    with pytest.raises(AttributeError):
        res.beta = 0.0  # type: ignore[misc]


def test_errors() -> None:
    with pytest.raises(InputError):
        rma_mh([1], [2], [3], [4], measure="SMD")
    with pytest.raises(InputError, match="Peto"):
        rma_peto([0, 0], [10, 5], [0, 0], [12, 6], drop00=False)
    with pytest.raises(InputError, match="k = 0"):
        rma_mh([np.nan], [2], [3], [4])
    with pytest.raises(InputError) as info:
        rma_mh([1, 2], [2, -3], [3, 3], [4, 4])
    assert (info.value.row, info.value.field) == (2, "bi")
