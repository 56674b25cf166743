"""ASReview LAB's label conventions, read from files ASReview 3.0.8 wrote itself.

``tests/data/sources/asreview_export.{ris,csv}`` were made by ``scripts/asreview_fixture.py``
(ASReview LAB's own project API and web-app export, see its docstring) from
``asreview_input.ris``: rows 0 and 2 labelled relevant, rows 1 and 3 irrelevant (row 3 with the
note "not a cough study"), rows 4 and 5 not seen. The expected labels below are those rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metareview.errors import InputError
from metareview.sources import asreview as conv
from metareview.sources import csv_import, ris

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
#: ID of each input record (101..106 for rows 0..5) -> the label given in ASReview.
EXPECTED = {"101": 1, "102": 0, "103": 1, "104": 0, "105": None, "106": None}


def test_ris_export_with_record_numbers_parses() -> None:
    # rispy (and so ASReview) writes "1.", "2." lines before each TY
    with (DATA / "asreview_export.ris").open("rb") as fh:
        records = list(ris.parse(fh, file="asreview_export.ris"))
    assert len(records) == 6
    labels = {r.source_id: conv.ris_label(r.fields["notes"]) for r in records}
    assert labels == {k: (True, v) for k, v in EXPECTED.items()}
    notes = {r.source_id: conv.ris_note(r.fields["notes"]) for r in records}
    assert notes["104"] == "not a cough study"
    assert notes["101"] is None


def test_csv_export_label_column_and_note() -> None:
    with (DATA / "asreview_export.csv").open("rb") as fh:
        records = list(csv_import.parse(fh, file="asreview_export.csv"))
    columns = records[0].fields["columns"]
    assert conv.csv_label_column(list(columns)) == "asreview_label"
    got = {
        r.source_id: conv.csv_label(r.fields["columns"]["asreview_label"], column="asreview_label")
        for r in records
    }
    assert got == EXPECTED
    by_id = {r.source_id: conv.csv_note(r.fields["columns"]) for r in records}
    assert by_id["104"] == "not a cough study"


def test_label_column_preference_follows_asreview() -> None:
    # asreview/data/base.py: asreview_label before included before label_included
    assert conv.csv_label_column(["title", "label_included", "included"]) == "included"
    assert conv.csv_label_column(["Title", "Label_Included"]) == "Label_Included"
    assert conv.csv_label_column(["title", "label1"]) is None


@pytest.mark.parametrize(
    ("cell", "label"), [("1", 1), ("0", 0), ("", None), (" yes ", 1), ("N", 0), ("1.0", 1)]
)
def test_csv_label_values(cell: str, label: int | None) -> None:
    assert conv.csv_label(cell, column="included") == label


def test_csv_label_refuses_other_values_naming_the_cell() -> None:
    with pytest.raises(InputError) as info:
        conv.csv_label("maybe", column="included", file="f.csv", row=7)
    assert "f.csv, row 7, column 'included'" in str(info.value)


def test_label_notes_round_trip() -> None:
    for label in (1, 0, None):
        assert conv.ris_label([conv.label_note(label)]) == (True, label)
    assert conv.ris_label(["<p>ASReview_irrelevant</p>"]) == (True, 0)  # Zotero's wrapping
    assert conv.ris_label(["a plain note"]) == (False, None)
    assert conv.ris_note(['asreview_note: "a \\"quoted\\" note"']) == 'a "quoted" note'
