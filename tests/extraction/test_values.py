"""``extraction.values``: the vocabulary, keys, baseline time points and value comparison."""

from __future__ import annotations

import pytest

from metareview.extraction.table import TEMPLATE_COLUMNS
from metareview.extraction.values import (
    BASES,
    FIELDS,
    GROUPS,
    NUMBER_FIELDS,
    TEXT_FIELDS,
    ExtractedValue,
    ValueKey,
    is_baseline,
)

KEY = ValueKey(1, "sae", "intervention", "Drug A", "12 weeks", "main", "events")


def test_vocabulary() -> None:
    assert GROUPS == ("intervention", "comparator", "single", "contrast", "study")
    assert BASES == ("reviewer", "consensus", "registry")
    assert (*NUMBER_FIELDS, *TEXT_FIELDS) == FIELDS
    # every field a reviewer extracts has a column in the form
    assert set(FIELDS) <= set(TEMPLATE_COLUMNS)


@pytest.mark.parametrize(
    "text", ["baseline", " Baseline ", "BASE  LINE", "pre", "Pre-treatment", "screening", "0",
             "week 0", "Month 0", "day 0", "0 weeks", "0 months"],
)  # fmt: skip
def test_baseline_time_points(text: str) -> None:
    assert is_baseline(text)


@pytest.mark.parametrize(
    "text", ["12 weeks", "week 12", "Baseline and week 12", "post", "end of treatment", ""]
)
def test_follow_up_time_points(text: str) -> None:
    assert not is_baseline(text)


def test_row_key_drops_the_field() -> None:
    assert KEY.row_key() == (1, "sae", "intervention", "Drug A", "12 weeks", "main")
    assert KEY.row_key() == ValueKey(*KEY.row_key(), "n").row_key()


def test_same_content() -> None:
    a = ExtractedValue(KEY, 4.0, "reported")
    assert a.same_content(ExtractedValue(KEY, 4.0 * (1 + 1e-10), "reported"))
    assert not a.same_content(ExtractedValue(KEY, 4.0 * (1 + 1e-8), "reported"))
    assert not a.same_content(ExtractedValue(KEY, None, "reported"))
    t = ExtractedValue(KEY, None, "reported", text="50 mg")
    assert t.same_content(ExtractedValue(KEY, None, "reported", text=" 50 mg "))
    assert not t.same_content(ExtractedValue(KEY, None, "reported", text="25 mg"))


def test_id_is_not_part_of_equality() -> None:
    assert ExtractedValue(KEY, 4.0, "reported", id=1) == ExtractedValue(KEY, 4.0, "reported", id=2)


def test_to_dict() -> None:
    v = ExtractedValue(KEY, 0.5, "assumed", why="not reported", sensitivity=(0.3, 0.8),
                       source_ref="handbook", location="6.5.2.8", reviewer="ann", id=7)  # fmt: skip
    d = v.to_dict()
    assert d["value_id"] == 7
    assert [d[k] for k in ("study_id", "outcome", "group", "field")] == [
        1, "sae", "intervention", "events",
    ]  # fmt: skip
    assert [d[k] for k in ("value", "status", "why", "sensitivity")] == [
        0.5, "assumed", "not reported", [0.3, 0.8],
    ]  # fmt: skip
    assert ExtractedValue(KEY, None, "reported", text="50 mg").to_dict()["value"] == "50 mg"
    assert ExtractedValue(KEY, 1.0, "reported").to_dict()["sensitivity"] is None
