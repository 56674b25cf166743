"""``extraction.table``: reading a filled-in form (CSV or workbook) and checking every row,
every problem listed at once with its file, row and column (rows count data rows: the header is
not a row, as ``metareview.errors.InputError`` says)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from metareview.errors import InputError, InputErrors
from metareview.extraction.table import (
    DEFINITIONS_SHEET,
    TEMPLATE_COLUMNS,
    TableRow,
    parse_rows,
    read_table,
    write_csv,
    write_xlsx,
)

OUTCOMES = ("bss", "sae")
GOOD = {
    "study_id": "1",
    "outcome": "sae",
    "group": "intervention",
    "arm": "Drug A",
    "timepoint": "12 weeks",
    "n": "60",
    "events": "4",
    "status": "reported",
    "source_record": "nct:NCT09990001",
    "location": "adverseEventsModule",
}


def write(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header or list(TEMPLATE_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def located(err: InputErrors) -> set[tuple[int | None, str | None]]:
    return {(p.row, p.field) for p in err.problems}


def problems_of(*rows: dict[str, str]) -> InputErrors:
    table = [TableRow(None, i, r) for i, r in enumerate(rows, start=1)]
    with pytest.raises(InputErrors) as err:
        parse_rows(table, file="form.csv", outcomes=OUTCOMES)
    assert all(p.file == "form.csv" for p in err.value.problems)
    return err.value


def test_a_good_row_parses() -> None:
    (row,) = parse_rows([TableRow(None, 1, GOOD)], file="f.csv", outcomes=OUTCOMES)
    assert row.numbers == {"n": 60.0, "events": 4.0}
    assert (row.study_id, row.outcome, row.group, row.arm, row.timepoint, row.scenario) == (
        "1", "sae", "intervention", "Drug A", "12 weeks", "main",
    )  # fmt: skip
    assert (row.status, row.source_record, row.location) == (
        "reported", "nct:NCT09990001", "adverseEventsModule",
    )  # fmt: skip


def test_blank_template_rows_are_skipped() -> None:
    blank = {"study_id": "1", "outcome": "sae", "group": "comparator"}
    assert parse_rows([TableRow(None, 1, blank)], file="f.csv", outcomes=OUTCOMES) == []


def test_every_problem_is_listed_at_once() -> None:
    """Each row below has one or two faults; all of them come back in one InputErrors."""
    err = problems_of(
        {**GOOD, "mean": "12,5"},  # row 1: a decimal comma is not a number
        {**GOOD, "n": "60.5"},  # row 2: a count not whole
        {**GOOD, "events": "61"},  # row 3: events > n
        {**GOOD, "outcome": "bss", "ci_lower": "5", "ci_upper": "2"},  # row 4: CI reversed
        {**GOOD, "status": "derived"},  # row 5: derived refused
        {**GOOD, "status": "assumed"},  # row 6: assumed without why
        {**GOOD, "source_record": ""},  # row 7: reported without source
        {**GOOD, "location": ""},  # row 8: reported without location
        {**GOOD, "outcome": "qol"},  # row 9: unknown outcome
        {**GOOD, "group": "placebo"},  # row 10: unknown group
        {**GOOD, "events": "-1", "sd": "-2"},  # row 11: negative count and SD
        {**GOOD, "sensitivity": "0.3;0.8"},  # row 12: sensitivity on a reported value
        {**GOOD, "pvalue": "0", "r": "1.5"},  # row 13: p and r out of range
        {**GOOD, "study_id": ""},  # row 14: no study id
        {**GOOD, "dose": "50 mg"},  # row 15: text on an outcome row
        {**GOOD, "status": ""},  # row 16: no status
    )
    assert located(err) == {
        (1, "mean"), (2, "n"), (3, "events"), (4, "ci_lower"), (5, "status"), (6, "why"),
        (7, "source_record"), (8, "location"), (9, "outcome"), (10, "group"), (11, "events"),
        (11, "sd"), (12, "sensitivity"), (13, "pvalue"), (13, "r"), (14, "study_id"),
        (15, "dose"), (16, "status"),
    }  # fmt: skip
    assert str(err).startswith("18 problems: ")
    by = {(p.row, p.field): p.message for p in err.problems}
    assert by[(3, "events")] == "events (61) exceed n (60)"
    assert "'12,5' is not a number" in by[(1, "mean")]


@pytest.mark.parametrize(
    ("lo", "hi", "column"),
    [("q1", "median", "q1"), ("median", "q3", "median"), ("min", "max", "min")],
)
def test_order_of_quantiles(lo: str, hi: str, column: str) -> None:
    err = problems_of({**GOOD, "outcome": "bss", lo: "9", hi: "3"})
    assert (1, column) in located(err)


def test_assumed_with_why_or_note_and_sensitivity() -> None:
    rows = [
        TableRow(None, 1, {**GOOD, "status": "assumed", "why": "not reported",
                           "sensitivity": "0.3; 0.8"}),
        TableRow(None, 2, {**GOOD, "status": "Assumed", "note": "borrowed from BETA-B"}),
    ]  # fmt: skip
    a, b = parse_rows(rows, file="f.csv", outcomes=OUTCOMES)
    assert (a.status, a.why, a.sensitivity) == ("assumed", "not reported", (0.3, 0.8))
    assert (b.status, b.why) == ("assumed", "borrowed from BETA-B")


def test_thousands_separator_with_a_decimal_point() -> None:
    (row,) = parse_rows([TableRow(None, 1, {**GOOD, "person_time": "1,234.5"})],
                        file="f.csv", outcomes=OUTCOMES)  # fmt: skip
    assert row.numbers["person_time"] == 1234.5


def test_read_csv_rows_and_formula_guard(tmp_path: Path) -> None:
    path = tmp_path / "form.csv"
    write_csv(path, [{**GOOD, "quote": "=HYPERLINK(1)", "note": "-- see text"}, GOOD])
    text = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK(1)" in text and "'-- see text" in text  # guarded on write
    rows = read_table(path)
    assert [r.row for r in rows] == [1, 2]
    assert rows[0].sheet is None
    assert rows[0].cells["quote"] == "=HYPERLINK(1)"  # restored on read
    assert rows[0].cells["note"] == "-- see text"
    assert rows[0].cells["events"] == "4"


def test_negative_numbers_are_not_guarded(tmp_path: Path) -> None:
    path = tmp_path / "form.csv"
    write_csv(path, [{**GOOD, "outcome": "bss", "mean_change": "-8.4"}])
    assert "'-8.4" not in path.read_text(encoding="utf-8")
    assert read_table(path)[0].cells["mean_change"] == "-8.4"


def test_read_xlsx_skips_definitions_and_restores_guard(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    write_xlsx(
        path,
        {"sae": [{**GOOD, "quote": "=1+1"}], "bss": [{**GOOD, "outcome": "bss", "mean": -8.4}]},
        [("=term", "meaning")],
    )
    rows = read_table(path)
    assert [(r.sheet, r.row) for r in rows] == [("sae", 1), ("bss", 1)]
    assert rows[0].cells["quote"] == "=1+1"
    assert rows[0].cells["n"] == "60"
    assert rows[1].cells["mean"] == "-8.4"
    assert all(r.sheet != DEFINITIONS_SHEET for r in rows)
    parsed = parse_rows(rows, file=str(path), outcomes=OUTCOMES)
    assert parsed[1].numbers["mean"] == -8.4


def test_xlsx_problems_name_the_sheet(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    write_xlsx(path, {"sae": [GOOD, {**GOOD, "events": "x"}]}, [])
    with pytest.raises(InputErrors) as err:
        parse_rows(read_table(path), file="form.xlsx", outcomes=OUTCOMES)
    (p,) = err.value.problems
    assert (p.file, p.row, p.field) == ("form.xlsx, sheet 'sae'", 2, "events")


def test_broken_workbook(tmp_path: Path) -> None:
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook"):
        read_table(tmp_path / "broken.xlsx")


@pytest.mark.parametrize(
    ("header", "field", "message"),
    [
        (["study_id", "outcome", "group", "n", "n"], "n", "repeated"),
        (["study_id", "outcome", "group", "weight"], "weight", "unknown column"),
        (["study_id", "outcome", "n"], "group", "missing column"),
    ],
)
def test_bad_headers(tmp_path: Path, header: list[str], field: str, message: str) -> None:
    path = tmp_path / "form.csv"
    path.write_text(",".join(header) + "\n1,sae,intervention,60,60\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        read_table(path)
    assert err.value.field == field
    assert err.value.file == str(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv")


def test_too_many_cells_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "form.csv"
    path.write_text("study_id,outcome,group\n1,sae,intervention,extra\n", encoding="utf-8")
    with pytest.raises(InputError, match="4 cells but 3 columns") as err:
        read_table(path)
    assert err.value.row == 1


def test_outcome_names_a_sheet_title_cannot_hold(tmp_path: Path) -> None:
    """Excel sheet titles cannot hold / \\ ? * : [ ] (openpyxl refuses them); the outcome is
    read from its column, so the sheet title only needs to be valid."""
    path = tmp_path / "form.xlsx"
    name = "pain/function [VAS]: week 12?"
    write_xlsx(path, {name: [{**GOOD, "outcome": name}]}, [])
    (row,) = read_table(path)
    assert row.cells["outcome"] == name
    assert row.sheet is not None and len(row.sheet) <= 31


def test_semicolon_separated_csv_is_read(tmp_path: Path) -> None:
    """A spreadsheet set to a decimal comma saves CSV with ';' between cells."""
    path = tmp_path / "form.csv"
    path.write_text("study_id;outcome;group;n;events\n1;sae;intervention;60;4\n", encoding="utf-8")
    (row,) = read_table(path)
    assert row.cells == {"study_id": "1", "outcome": "sae", "group": "intervention", "n": "60",
                         "events": "4"}  # fmt: skip


def test_semicolon_csv_has_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "form.csv"
    path.write_text("study_id;outcome;group;mean;quote\n1;bss;single;-3,5;a, b\n",
                    encoding="utf-8")  # fmt: skip
    (row,) = read_table(path)
    assert row.cells["mean"] == "-3.5" and row.cells["quote"] == "a, b"
