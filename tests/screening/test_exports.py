"""Exports of records and decisions, linking by hand, decisions by source id, formula guard.

The project is the synthetic review of ``tests/data/e2e`` (see its README): 10 records, one
duplicate (RIS record 5 = PMID 39990003 by DOI), two studies linked by dedupe (ALPHA-B:
records 1, 2, 6, 9; BETA-B: 3, 5, 10). Expected values below are read off those files by hand.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import rispy

from metareview.cli import main
from metareview.screening.exports import RECORD_COLUMNS
from metareview.sources.cells import _is_number, guard_cell, restore_cell

DATA = Path(__file__).resolve().parents[1] / "data" / "e2e"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    p = tmp_path / "review"
    _run(["init", str(p), "--protocol", str(DATA / "protocol.yaml")], capsys)
    _run(["import", str(p), str(DATA / "pubmed.xml")], capsys)
    _run(["import", str(p), str(DATA / "search.ris"), "--source", "embase"], capsys)
    _run(["import", str(p), str(DATA / "ctgov.json")], capsys)
    _run(["dedupe", str(p)], capsys)
    return p


def _decide(project: Path, tmp: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp / "decisions.csv"
    path.write_text(text, encoding="utf-8")
    _run(["decide", str(project), str(path)], capsys)


def test_records_csv_columns_and_links(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(_run(["export", str(project), "--records"], capsys))))
    assert tuple(rows[0]) == RECORD_COLUMNS
    assert len(rows) == 10
    by_id = {r["record_id"]: r for r in rows}
    assert by_id["5"]["duplicate_of"] == "3" and by_id["3"]["duplicate_of"] == ""
    assert by_id["1"]["study_id"] == by_id["9"]["study_id"] != by_id["3"]["study_id"]
    assert by_id["9"]["nct_ids"] == "NCT09990001" and by_id["1"]["pmid"] == "39990001"
    assert {r["title_abstract"] for r in rows} == {""}  # nothing screened yet


def test_included_records_and_ris(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _decide(
        project, tmp_path,
        "record_id,stage,decision,reason,reviewer\n"
        "1,title_abstract,include,,Ana\n3,title_abstract,include,,Ana\n"
        "4,title_abstract,exclude,design,Ana\n1,full_text,include,,Ana\n"
        "3,full_text,exclude,outcomes,Ana\n",
        capsys,
    )  # fmt: skip
    rows = list(
        csv.DictReader(io.StringIO(_run(["export", str(project), "--records", "--included"],
                                        capsys)))
    )  # fmt: skip
    assert [r["record_id"] for r in rows] == ["1"]
    assert (rows[0]["title_abstract"], rows[0]["full_text"]) == ("include", "include")
    entries = rispy.loads(
        _run(["export", str(project), "--records", "--format", "ris", "--included"], capsys)
    )
    assert len(entries) == 1 and entries[0]["doi"] == "10.5555/e2e.alpha-b.2021"
    assert entries[0]["type_of_reference"] == "JOUR"
    assert "full text include" in entries[0]["notes"][0]


def test_decide_by_source_id_and_decisions_export(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # source ids as export --records prints them (a PubMed id is all digits: not a record id)
    _decide(
        project, tmp_path,
        "source_id,stage,decision,reason,reviewer,note\n"
        "39990004,title_abstract,exclude,design,Ana,narrative review\n"
        "nct:NCT09990001,title_abstract,include,,Ana,\n",
        capsys,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(_run(["export", str(project), "--decisions"], capsys))))
    assert [(r["record_id"], r["source_id"], r["decision"]) for r in rows] == [
        ("4", "39990004", "exclude"), ("9", "NCT09990001", "include")
    ]  # fmt: skip
    assert rows[0]["title"].startswith("Condition B: a narrative review")
    bad = tmp_path / "bad.csv"
    bad.write_text("source_id,stage,decision,reason,reviewer\n99999999,title_abstract,"
                   "include,,Ana\n", encoding="utf-8")  # fmt: skip
    assert main(["decide", str(project), str(bad)]) == 2
    assert "no record has source id '99999999'" in capsys.readouterr().err


def test_formula_cells_are_neutralised_and_round_trip(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OWASP CSV injection: a note starting with = + - @ is exported with a leading quote;
    re-imported, the quote goes again and the note is unchanged."""
    notes = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["record_id", "stage", "decision", "reason", "reviewer", "note"])
    for record, note in zip((1, 3, 6, 9), notes, strict=True):
        writer.writerow([record, "title_abstract", "include", "", "Ana", note])
    _decide(project, tmp_path, buffer.getvalue(), capsys)
    text = _run(["export", str(project), "--decisions"], capsys)
    exported = [r["note"] for r in csv.DictReader(io.StringIO(text))]
    assert exported == ["'" + n for n in notes]
    assert [restore_cell(e) for e in exported] == notes
    # the exported file goes back in unchanged (decide reads the guarded cells back)
    again = tmp_path / "again.csv"
    again.write_text(text, encoding="utf-8")
    out = _run(["decide", str(project), str(again)], capsys)
    assert "0 recorded, 4 unchanged" in out


def test_guard_keeps_numbers() -> None:
    assert guard_cell("-3.5") == "-3.5" and guard_cell(-3.5) == -3.5
    assert guard_cell("-x") == "'-x" and guard_cell("\tx") == "'\tx"
    assert restore_cell("'plain") == "'plain"  # a quote that guards nothing is kept


def test_link_by_hand_counts_one_study(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The survey (record 7) and the phase 1 study (record 8) are not one study; linking them
    by hand with the BETA-B report (record 3) makes PRISMA count 1 study and 3 reports when all
    three are included."""
    out = json.loads(
        _run(["link", str(project), "3", "source_id:2020911003", "8", "--study", "BETA-B",
              "--reason", "same trial (test)", "--json"], capsys)
    )  # fmt: skip
    assert out["records"] == [3, 7, 8]
    studies = json.loads(_run(["link", str(project), "--list", "--json"], capsys))["studies"]
    beta = next(s for s in studies if s["study_id"] == out["study_id"])
    assert beta["label"] == "BETA-B"
    assert {r["record_id"] for r in beta["records"]} == {3, 5, 7, 8, 10}
    _decide(
        project, tmp_path,
        "record_id,stage,decision,reason,reviewer\n"
        + "".join(f"{r},{s},include,,Ana\n" for s in ("title_abstract", "full_text")
                  for r in (3, 7, 8)),
        capsys,
    )  # fmt: skip
    prisma = json.loads(_run(["prisma", str(project), "--json"], capsys))
    assert (prisma["studies_included"], prisma["reports_included"]) == (1, 3)
    # undo: record 8's link goes; the link stays in the table with its reason
    link_8 = next(r["link_id"] for r in beta["records"] if r["record_id"] == 8)
    _run(["link", str(project), "--undo", str(link_8), "--reason", "not the same trial"], capsys)
    prisma = json.loads(_run(["prisma", str(project), "--json"], capsys))
    assert (prisma["studies_included"], prisma["reports_included"]) == (2, 3)
    assert main(["link", str(project), "--undo", str(link_8), "--reason", "again"]) == 2
    assert "already undone" in capsys.readouterr().err


def test_guard_round_trips_every_string() -> None:
    """restore(guard(s)) == s, including text a user already defused ('=x) and quotes."""
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(alphabet=st.sampled_from(list("'=+-@\t\r1.ax ")), max_size=6))
    def check(s: str) -> None:
        assert restore_cell(guard_cell(s)) == s
        g = guard_cell(s)
        live = g.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert not live or _is_number(g)  # nothing a spreadsheet would run

    check()
    assert guard_cell("'=x") == "''=x" and restore_cell("''=x") == "'=x"
