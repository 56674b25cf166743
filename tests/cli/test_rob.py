"""``metareview rob``: the form, its all-or-nothing import, two reviewers, consensus, ``--json``
and the store API the GRADE stage reads (``study_rob``), on the e2e project (``e2e_project`` in
``tests/conftest.py``: study 1 = "Example 2020" (ALPHA-B), study 2 = "Dummy 2022" (BETA-B);
outcomes bss, sae, dropout_ae).

Expected judgements are the RoB 2 guidance's algorithm (full guidance, 22 Aug 2019) worked by
hand in each test's comment."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from metareview.appraisal.stored import study_rob
from metareview.cli import main
from metareview.review.rob import ROB_COLUMNS
from metareview.store import Project

#: All low (each domain's "low" path): 1.2 Y, 1.1 Y, 1.3 N; 2.1/2.2 N, 2.6 Y; 3.1 Y;
#: 4.1 N, 4.2 N, 4.3 N; 5.2 N, 5.3 N, 5.1 Y.
LOW = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
       "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}  # fmt: skip


def template(project: Path, tmp: Path, *extra: str) -> list[dict[str, str]]:
    out = tmp / "rob.csv"
    assert main(["rob", str(project), "--template", str(out), "--tool", "rob2", *extra]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(ROB_COLUMNS)
        return list(reader)


def fill(rows: list[dict[str, str]], answers: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """``answers``: study_id -> {question: answer}; other studies stay blank."""
    out = []
    for r in rows:
        mine = answers.get(r["study_id"])
        out.append({**r, "answer": mine.get(r["question"], "") if mine else ""})
    return out


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROB_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def rob_json(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["rob", str(project), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_template_rows_and_columns(e2e_project: Path, tmp_path: Path) -> None:
    """2 studies x 1 outcome x (22 RoB 2 questions + 1 overall row) = 46 rows."""
    rows = template(e2e_project, tmp_path, "--outcome", "sae")
    assert len(rows) == 46
    assert [r["question"] for r in rows[:4]] == ["1.1", "1.2", "1.3", "2.1"]
    assert rows[0]["text"] == "Was the allocation sequence random?"
    assert rows[22]["domain"] == "overall"
    assert {(r["study_id"], r["study"]) for r in rows} == {("1", "Example 2020"),
                                                          ("2", "Dummy 2022")}  # fmt: skip
    assert main(["rob", str(e2e_project), "--template", str(tmp_path / "x.csv"), "--tool",
                 "rob3"]) == 2  # fmt: skip


def test_import_gives_the_algorithm_s_judgements_and_json_shape(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Study 1 all low. Study 2: 1.2 NI with 1.3 N -> D1 some concerns; 4.2 NI, 4.3 N -> D4
    some concerns; 5.2 Y -> D5 high; overall high (a domain is high)."""
    rows = template(e2e_project, tmp_path, "--outcome", "sae")
    s2 = {**LOW, "1.2": "NI", "4.2": "NI", "5.2": "Y"}
    filled = fill(rows, {"1": LOW, "2": s2})
    filled[0]["quote"] = "computer-generated randomisation list"
    filled[0]["source_record"] = "1"
    assert main(["rob", str(e2e_project), "--import", str(write(tmp_path / "a.csv", filled)),
                 "--reviewer", "ann"]) == 0  # fmt: skip
    data = rob_json(e2e_project, capsys)
    assessments = data["assessments"]
    assert isinstance(assessments, list) and len(assessments) == 2
    first, second = assessments
    assert set(first) >= {"study_id", "study", "outcome", "tool", "reviewer", "domains",
                          "overall"}  # fmt: skip
    assert (first["study_id"], first["study"], first["outcome"], first["tool"],
            first["reviewer"], first["overall"]) == (1, "Example 2020", "sae", "rob2", "ann",
                                                     "low")  # fmt: skip
    assert set(first["domains"][0]) == {"domain", "judgement", "algorithm", "override",
                                        "justification"}  # fmt: skip
    assert [(d["domain"], d["judgement"]) for d in second["domains"]] == [
        ("D1", "some_concerns"), ("D2", "low"), ("D3", "low"), ("D4", "some_concerns"),
        ("D5", "high"),
    ]
    assert second["overall"] == "high"
    with Project.open(e2e_project) as p:
        quote = p.connection.execute(
            "SELECT quote, source_record FROM rob_answers WHERE question = '1.1' AND study_id = 1"
        ).fetchone()
        got = study_rob(p, "sae")
    assert quote == ("computer-generated randomisation list", 1)
    assert got[2].overall == "high" and got[2].study == "Dummy 2022"
    assert got[1].domains == tuple((f"D{i}", "low") for i in range(1, 6))
    assert study_rob(Project.open(e2e_project), "bss") == {}


def test_a_bad_row_refuses_the_whole_file(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = fill(template(e2e_project, tmp_path, "--outcome", "sae"), {"1": LOW, "2": LOW})
    rows[1]["answer"] = "maybe"  # 1.2
    rows[3]["domain"] = "D9"
    rows[4]["question"] = "2.9"
    rows[30]["study_id"] = "7"
    rows[26] = {**rows[26], "answer": ""}  # study 2's 2.1: the algorithm needs it
    bad = write(tmp_path / "bad.csv", rows)
    before = bad.read_bytes()
    with Project.open(e2e_project) as p:
        audit = p.connection.execute("SELECT count(*) FROM audit_log").fetchone()
    capsys.readouterr()
    assert main(["rob", str(e2e_project), "--import", str(bad), "--reviewer", "ann"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("metareview: error: ")
    for where in ("row 2, column 'answer'", "row 4, column 'domain'", "row 5, column 'question'",
                  "row 31, column 'study_id'", "row 27, column 'answer'"):  # fmt: skip
        assert where in err, where
    assert bad.read_bytes() == before
    with Project.open(e2e_project) as p:
        assert p.connection.execute("SELECT count(*) FROM rob_answers").fetchone() == (0,)
        assert p.connection.execute("SELECT count(*) FROM rob_batches").fetchone() == (0,)
        assert p.connection.execute("SELECT count(*) FROM audit_log").fetchone() == audit


def test_override_is_stored_beside_the_algorithm(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1.2 NI, 1.3 N -> D1 some concerns by the algorithm; overridden to low with a reason.
    Without a justification the file is refused (row of the override, column justification)."""
    rows = fill(template(e2e_project, tmp_path, "--outcome", "sae"), {"1": {**LOW, "1.2": "NI"}})
    rows[2]["domain_override"] = "low"
    assert main(["rob", str(e2e_project), "--import", str(write(tmp_path / "o.csv", rows)),
                 "--reviewer", "ann"]) == 2  # fmt: skip
    assert "row 3, column 'justification'" in capsys.readouterr().err
    rows[2]["justification"] = "registry entry names central web randomisation"
    assert main(["rob", str(e2e_project), "--import", str(write(tmp_path / "o.csv", rows)),
                 "--reviewer", "ann"]) == 0  # fmt: skip
    (a,) = rob_json(e2e_project, capsys)["assessments"]  # type: ignore[misc]
    d1 = a["domains"][0]
    assert (d1["judgement"], d1["algorithm"], d1["override"]) == ("low", "some_concerns", "low")
    assert d1["justification"] == "registry entry names central web randomisation"
    assert a["overall"] == "low"


def test_two_reviewers_conflict_until_consensus(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ann: all low. bob: 1.3 Y -> D1 some concerns (1.2 Y, 1.1 Y, 1.3 Y), overall some
    concerns. The study is left out of study_rob until the consensus (bob's answers) is
    recorded; re-importing supersedes, never rewrites."""
    rows = template(e2e_project, tmp_path, "--outcome", "sae")
    ann = write(tmp_path / "ann.csv", fill(rows, {"1": LOW}))
    bob = write(tmp_path / "bob.csv", fill(rows, {"1": {**LOW, "1.3": "Y"}}))
    assert main(["rob", str(e2e_project), "--import", str(ann), "--reviewer", "ann"]) == 0
    assert main(["rob", str(e2e_project), "--import", str(bob), "--reviewer", "bob"]) == 0
    with Project.open(e2e_project) as p:
        assert study_rob(p, "sae") == {}
    capsys.readouterr()
    assert main(["rob", str(e2e_project), "--conflicts", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["conflicts"]
    assert [(c["domain"], c["question"], c["values"]) for c in found] == [
        ("D1", None, [{"reviewer": "ann", "value": "low"},
                      {"reviewer": "bob", "value": "some_concerns"}]),
        ("overall", None, [{"reviewer": "ann", "value": "low"},
                           {"reviewer": "bob", "value": "some_concerns"}]),
        ("D1", "1.3", [{"reviewer": "ann", "value": "N"}, {"reviewer": "bob", "value": "Y"}]),
    ]  # fmt: skip
    assert main(["rob", str(e2e_project), "--import", str(bob), "--reviewer", "ann and bob",
                 "--consensus"]) == 0  # fmt: skip
    assert main(["rob", str(e2e_project), "--import", str(bob), "--reviewer", "ann and bob",
                 "--consensus"]) == 0  # fmt: skip
    with Project.open(e2e_project) as p:
        got = study_rob(p, "sae")
        superseded = p.connection.execute(
            "SELECT count(*) FROM rob_judgements WHERE superseded_at IS NOT NULL").fetchone()
    assert got[1].overall == "some_concerns"
    assert superseded == (6,)  # the first consensus import's 5 domains + overall
    capsys.readouterr()
    assert main(["rob", str(e2e_project), "--conflicts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"conflicts": []}
    data = rob_json(e2e_project, capsys)
    assert [a["reviewer"] for a in data["assessments"]] == ["ann", "bob", "ann and bob"]  # type: ignore[index]


def test_xlsx_template_round_trips(e2e_project: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    book = tmp_path / "rob.xlsx"
    assert main(["rob", str(e2e_project), "--template", str(book), "--tool", "robins-i",
                 "--outcome", "bss"]) == 0  # fmt: skip
    wb = load_workbook(book)
    sheet = wb["rob"]
    header = [c.value for c in sheet[1]]
    assert header == list(ROB_COLUMNS)
    # 2 studies x (34 ROBINS-I questions + overall)
    assert sheet.max_row == 1 + 2 * 35
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        if cells["study_id"].value == 1 and cells["question"].value:
            cells["answer"].value = "NI"
        if cells["study_id"].value == 1 and cells["question"].value in (
            "1.1", "2.1", "3.1", "4.1", "5.1", "6.1", "7.1"):  # fmt: skip
            cells["domain_override"].value = "no_information"
    wb.save(book)
    digest = hashlib.sha256(book.read_bytes()).hexdigest()
    assert main(["rob", str(e2e_project), "--import", str(book), "--reviewer", "ann"]) == 0
    assert hashlib.sha256(book.read_bytes()).hexdigest() == digest
    with Project.open(e2e_project) as p:
        got = study_rob(p, "bss")
    assert got[1].tool == "robins-i" and got[1].overall == "no_information"


def test_prisma_items_11_and_18_answered_once_assessed(e2e_project: Path, tmp_path: Path) -> None:
    """PRISMA 2020 items 11 (study risk of bias assessment) and 18 (risk of bias in studies)
    are missing before any assessment and answered after one (Page et al. BMJ 2021;372:n71)."""
    from metareview.review.store import study_selection

    def status() -> dict[str, str]:
        with Project.open(e2e_project) as p:
            return {e.item.id: e.status for e in study_selection(p).checklist}

    before = status()
    assert (before["11"], before["18"]) == ("missing", "missing")
    rows = fill(template(e2e_project, tmp_path, "--outcome", "sae"), {"1": LOW})
    assert main(["rob", str(e2e_project), "--import", str(write(tmp_path / "a.csv", rows)),
                 "--reviewer", "ann"]) == 0  # fmt: skip
    after = status()
    assert (after["11"], after["18"]) == ("answered", "answered")


def test_overall_raised_to_high_by_override_and_formula_cells(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1.2 NI (D1 some concerns), 5.1 NI (D5 some concerns, 5.2/5.3 N): overall some concerns
    by the rule; the reviewer raises it to high with a justification (RoB 2 guidance: several
    domains with some concerns may lower confidence substantially). A quote that looks like a
    spreadsheet formula is stored as typed (the CSV cell guard is undone on import)."""
    rows = fill(template(e2e_project, tmp_path, "--outcome", "sae"),
                {"1": {**LOW, "1.2": "NI", "5.1": "NI"}})  # fmt: skip
    overall = next(i for i, r in enumerate(rows) if r["study_id"] == "1"
                   and r["domain"] == "overall")  # fmt: skip
    rows[overall]["domain_override"] = "high"
    rows[overall]["justification"] = "two domains with some concerns in a tiny trial"
    rows[0]["quote"] = "'=HYPERLINK(\"x\")"
    assert main(["rob", str(e2e_project), "--import", str(write(tmp_path / "o.csv", rows)),
                 "--reviewer", "ann"]) == 0  # fmt: skip
    (a,) = rob_json(e2e_project, capsys)["assessments"]  # type: ignore[misc]
    assert (a["overall"], a["overall_algorithm"], a["overall_override"]) == (
        "high", "some_concerns", "high")
    assert [d["judgement"] for d in a["domains"]] == [
        "some_concerns", "low", "low", "low", "some_concerns"]
    with Project.open(e2e_project) as p:
        (quote,) = p.connection.execute(
            "SELECT quote FROM rob_answers WHERE question = '1.1'").fetchone()
    assert quote == '=HYPERLINK("x")'
