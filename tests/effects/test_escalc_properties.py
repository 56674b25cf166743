"""Property tests for escalc() (hypothesis): order of studies, bad input, all-zero tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from metareview.effects import escalc, not_computable
from metareview.errors import InputError

counts = st.integers(min_value=0, max_value=60)
tables = st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=12)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@settings(max_examples=60, deadline=None)
@given(
    rows=tables,
    measure=st.sampled_from(["OR", "RR", "RD", "PETO"]),
    to=st.sampled_from(["only0", "all", "if0all", "none"]),
    vtype=st.sampled_from(["LS", "AV"]),
    drop00=st.booleans(),
    data=st.data(),
)
def test_permuting_tables_permutes_results(
    rows: list[tuple[int, int, int, int]],
    measure: str,
    to: str,
    vtype: str,
    drop00: bool,
    data: st.DataObject,
) -> None:
    perm = data.draw(st.permutations(range(len(rows))))
    df = pd.DataFrame(rows, columns=["ai", "bi", "ci", "di"])
    vt = vtype if measure == "RD" else "LS"
    out = escalc(measure, df, to=to, drop00=drop00, vtype=vt)
    out_p = escalc(measure, df.iloc[list(perm)], to=to, drop00=drop00, vtype=vt)
    _same(out["yi"].to_numpy()[list(perm)], out_p["yi"].to_numpy())
    _same(out["vi"].to_numpy()[list(perm)], out_p["vi"].to_numpy())


pos = st.floats(min_value=0.5, max_value=100, allow_nan=False)
sizes = st.integers(min_value=2, max_value=200)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(pos, pos, pos, pos, sizes, sizes), min_size=1, max_size=10),
    measure=st.sampled_from(["MD", "SMD", "ROM"]),
    data=st.data(),
)
def test_permuting_two_group_means_permutes_results(
    rows: list[tuple[float, float, float, float, int, int]], measure: str, data: st.DataObject
) -> None:
    perm = list(data.draw(st.permutations(range(len(rows)))))
    df = pd.DataFrame(rows, columns=["m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"])
    vtype = "AV" if measure in ("SMD", "ROM") else "LS"
    out = escalc(measure, df, vtype=vtype)
    out_p = escalc(measure, df.iloc[perm], vtype=vtype)
    _same(out["yi"].to_numpy()[perm], out_p["yi"].to_numpy())
    _same(out["vi"].to_numpy()[perm], out_p["vi"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(
    rows=tables,
    column=st.sampled_from(["ai", "bi", "ci", "di"]),
    junk=st.one_of(
        st.text(min_size=1, max_size=6).filter(
            lambda s: (
                s.strip().lower() not in {"", "na", "n/a", "nan", "null", "none"}
                and not _is_number(s)
            )
        ),
        st.floats(max_value=-0.5),
        st.just(float("inf")),
    ),
    data=st.data(),
)
def test_bad_values_raise_input_error_naming_row_and_column(
    rows: list[tuple[int, int, int, int]], column: str, junk: Any, data: st.DataObject
) -> None:
    row = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    df = pd.DataFrame(rows, columns=["ai", "bi", "ci", "di"]).astype(object)
    df.loc[row, column] = junk
    try:
        escalc("OR", df)
    except InputError as err:
        assert err.field == column
        assert err.row == row + 1
    else:
        raise AssertionError("no InputError")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(rows=tables, n_zero=st.integers(min_value=0, max_value=5))
def test_double_zero_tables(rows: list[tuple[int, int, int, int]], n_zero: int) -> None:
    """Tables with no events in either group: NaN with drop00=True (reason given); with the
    default add=1/2, to='only0' the odds ratio is finite, as in metafor."""
    zeros = [(0, b + 1, 0, d + 1) for (_, b, _, d) in rows[:n_zero]]
    df = pd.DataFrame(zeros + rows, columns=["ai", "bi", "ci", "di"])
    dropped = escalc("OR", df, drop00=True)
    assert dropped["yi"].iloc[: len(zeros)].isna().all()
    listed = {r.row for r in not_computable(dropped)}
    assert set(range(1, len(zeros) + 1)) <= listed
    kept = escalc("OR", df)
    assert np.isfinite(kept["yi"].iloc[: len(zeros)]).all()
