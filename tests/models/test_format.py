"""The one number and p-value formatter (``metareview.models._format``).

Expected strings are metafor 3.8's ``.pval``/``.fcf`` as ``print.rma.uni`` uses them, and the
report style the figures and HTML pages printed before the formatter was shared.
"""

from __future__ import annotations

import math

import pytest

from metareview.models._format import format_number, format_p, format_p_report


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((0.01234,), {}, "0.0123"),
        ((0.0001,), {}, "0.0001"),
        ((0.00009,), {}, "<.0001"),
        ((math.nan,), {}, "NA"),
        ((None,), {}, "NA"),
        ((0.01234, 4, True), {}, "= 0.0123"),
        ((1e-9, 4, True), {}, "< .0001"),
        ((math.nan, 4, True), {}, "= NA"),
        ((1e-9, 4, True), {"add0": True}, "< 0.0001"),
        ((0.5, 2), {}, "0.50"),
    ],
)
def test_format_p_is_metafor_pval(args: tuple, kwargs: dict, expected: str) -> None:
    assert format_p(*args, **kwargs) == expected


def test_format_p_report() -> None:
    assert format_p_report(0.0427) == "p = 0.043"
    assert format_p_report(0.0009) == "p < 0.001"
    assert format_p_report(math.inf) == "p = NA"
    assert format_p_report(0.0427, 4) == "p = 0.0427"
    assert format_p_report(5e-5, 4) == "p < 0.0001"
    assert format_p_report(0.0427, label="", na="–") == "0.043"
    assert format_p_report(0.0001, label="", na="–") == "< 0.001"
    assert format_p_report(None, label="", na="–") == "–"


def test_format_number() -> None:
    assert format_number(-0.00004) == "-0.0000"  # formatC keeps the sign
    assert format_number(math.inf) == "Inf" and format_number(-math.inf) == "-Inf"
    assert format_number(math.nan) == "NA" and format_number(None, na="–") == "–"
    assert format_number(-0.00004, 3, typographic=True) == "0.000"
    assert format_number(-1.5, 2, typographic=True) == "\u22121.50"
    assert format_number(math.inf, 2, typographic=True, na="–") == "–"
