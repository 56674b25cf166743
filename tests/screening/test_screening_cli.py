"""The screening commands through ``metareview.cli.main``: output, exit codes, no half-writes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from screening_builders import PROTOCOL_YAML, count_rows, open_screening, small_project

from metareview.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(record: str, stage: str, decision: str, reason: str, reviewer: str) -> dict[str, str]:
    return {
        "record_id": record,
        "stage": stage,
        "decision": decision,
        "reason": reason,
        "reviewer": reviewer,
    }


def test_decide_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = small_project(tmp_path)
    csv_in = write_csv(
        tmp_path / "decisions.csv",
        [
            row("1", "title_abstract", "include", "", "Alice"),
            row("2", "title_abstract", "exclude", "design", "Alice"),
            row("1", "full_text", "exclude", "outcome", "Alice"),
            row("1", "title_abstract", "include", "", "Bob"),
        ],
    )
    code, out, err = run(capsys, "decide", folder, csv_in, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"rows": 4, "added": 4, "unchanged": 0}
    code, out, _ = run(capsys, "export", folder, "--decisions")
    assert code == 0
    exported = list(csv.DictReader(io.StringIO(out)))
    assert [(r["record_id"], r["stage"], r["decision"], r["reason"], r["reviewer"])
            for r in exported] == [
        ("1", "title_abstract", "include", "", "Alice"),
        ("2", "title_abstract", "exclude", "design", "Alice"),
        ("1", "full_text", "exclude", "outcome", "Alice"),
        ("1", "title_abstract", "include", "", "Bob"),
    ]  # fmt: skip
    # the export is a valid import: nothing changes
    out_file = tmp_path / "export.csv"
    assert run(capsys, "export", folder, "--decisions", "--out", out_file)[0] == 0
    code, out, _ = run(capsys, "decide", folder, out_file, "--json")
    assert json.loads(out) == {"rows": 4, "added": 0, "unchanged": 4}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row("99", "title_abstract", "include", "", "Alice"), "row 2: unknown record 99"),
        (row("2", "title_abstract", "exclude", "language", "Alice"),
         "row 2, column 'reason': reason 'language' is not an eligibility code"),
        (row("2", "title_abstract", "include", "", "alice"),
         "row 2, column 'reviewer': reviewer 'alice' clashes with reviewer 'Alice'"),
        (row("2", "title_abstract", "", "", "Alice"), "row 2, column 'decision': empty cell"),
    ],
)  # fmt: skip
def test_decide_bad_row_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: dict[str, str], message: str
) -> None:
    folder = small_project(tmp_path)
    run(capsys, "protocol", folder)  # records the protocol's first version
    before = count_rows(folder, "screening_decisions"), count_rows(folder, "audit_log")
    csv_in = write_csv(tmp_path / "d.csv", [row("1", "ta", "include", "", "Alice"), bad])
    code, out, err = run(capsys, "decide", folder, csv_in)
    assert code == 2 and out == ""
    assert err.startswith("metareview: error: ") and message in err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    assert (count_rows(folder, "screening_decisions"), count_rows(folder, "audit_log")) == before


def test_decide_file_without_required_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = small_project(tmp_path)
    path = tmp_path / "d.csv"
    path.write_text("record_id,decision\n1,include\n", encoding="utf-8")
    code, _, err = run(capsys, "decide", folder, path)
    assert code == 2 and "missing column 'stage'" in err


def test_prisma_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = small_project(tmp_path, n=3)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
        s.decide(2, "ta", "exclude", reviewer="A")
        s.decide(3, "ta", "include", reviewer="A")
        s.decide(1, "ft", "include", reviewer="A")
        s.decide(3, "ft", "exclude", reviewer="A", reason="outcome")
    out_dir = tmp_path / "flow"
    code, out, _ = run(capsys, "prisma", folder, "--out", out_dir)
    assert code == 0
    assert {p.name for p in out_dir.iterdir()} == {"prisma.svg", "prisma.png", "prisma.json"}
    code, out, _ = run(capsys, "prisma", folder, "--json")
    counts = json.loads(out)
    assert counts["databases"] == {"PubMed": 3}
    assert (counts["screened"], counts["screen_excluded"], counts["sought"]) == (3, 1, 2)
    assert counts["excluded_reasons"] == {"outcome": 1}
    assert (counts["studies_included"], counts["reports_included"]) == (1, 1)
    code, out, _ = run(capsys, "prisma", folder, "--checklist", "--json")
    items = json.loads(out)
    assert len(items) == 42 and items[0]["id"] == "1"
    assert {i["status"] for i in items} <= {"answered", "partial", "missing"}
    code, out, _ = run(capsys, "prisma", folder, "--checklist")
    assert code == 0 and "Selection process" in out


def test_protocol_command_and_amendments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = small_project(tmp_path)
    code, out, _ = run(capsys, "protocol", folder)
    assert code == 0 and out.startswith("title: Imatinib for systemic sclerosis")
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROTOCOL_YAML.replace("  - code: outcome\n", "  - code: Outcome!\n"))
    code, _, err = run(capsys, "protocol", folder, "--replace", bad)
    assert code == 2 and "line 15, field 'eligibility[3].code'" in err
    assert "lower-case letters" in err
    good = tmp_path / "good.yaml"
    good.write_text(PROTOCOL_YAML.replace("Reports mRSS, HAQ-DI", "Reports mRSS, FVC, HAQ-DI"))
    code, out, _ = run(capsys, "protocol", folder, "--replace", good, "--note", "add FVC")
    assert code == 0 and "# Amendments after screening started:" in out
    code, out, _ = run(capsys, "protocol", folder, "--json")
    data = json.loads(out)
    assert data["amendments"][0]["note"] == "add FVC"
    assert data["amendments"][0]["changes"][0]["field"] == "eligibility[3].text"


def test_conflicts_resolve_retrieval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = small_project(tmp_path, n=4)
    with open_screening(folder) as s:
        for rid, (a, b) in enumerate(
            [("include", "include"), ("include", "exclude"), ("exclude", "exclude"),
             ("exclude", "exclude")], start=1,
        ):  # fmt: skip
            s.decide(rid, "ta", a, reviewer="Alice")
            s.decide(rid, "ta", b, reviewer="Bob")
    code, out, _ = run(capsys, "conflicts", folder, "--stage", "ta", "--json")
    data = json.loads(out)["title_abstract"]
    # 3/4 agree; A: inc 2 exc 2; B: inc 1 exc 3; p_e = (2*1 + 2*3)/16 = 0.5; kappa = 0.25/0.5
    assert data["agreement"]["percent"] == pytest.approx(75.0)
    assert data["agreement"]["kappa"] == pytest.approx(0.5)
    assert [c["record_id"] for c in data["conflicts"]] == [2]
    code, out, _ = run(capsys, "conflicts", folder)
    assert code == 0 and "Cohen's kappa 0.500" in out
    code, out, err = run(capsys, "conflicts", folder, "--reviewer", "Alice", "--reviewer", "alice")
    assert code == 2 and "same name" in err
    code, out, _ = run(
        capsys, "resolve", folder, "2", "--decision", "include", "--reviewer", "Carol"
    )
    assert code == 0 and "resolved as include" in out
    code, out, _ = run(capsys, "retrieval", folder, "2", "--note", "no access")
    assert code == 0
    with open_screening(folder) as s:
        assert s.retrieval() == {2: False}
        assert s.candidates("full_text") == [1]


def test_export_needs_what(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = small_project(tmp_path)
    code, _, err = run(capsys, "export", folder)
    assert code == 2 and "--decisions" in err


def test_not_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prisma", tmp_path / "nothing")
    assert code == 2 and "not a metareview project" in err


def test_remove_record_and_retrieval_are_all_or_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = small_project(tmp_path, n=3)
    code, out, _ = run(capsys, "remove-record", folder, "1", "--why", "retracted")
    assert code == 0 and "1 record(s) removed" in out
    before = count_rows(folder, "screening_decisions"), count_rows(folder, "fulltext_retrieval")
    code, _, err = run(capsys, "remove-record", folder, "2", "77", "--why", "retracted")
    assert code == 2 and "unknown record 77" in err
    code, _, err = run(capsys, "retrieval", folder, "3", "88")
    assert code == 2 and "unknown record 88" in err
    after = count_rows(folder, "screening_decisions"), count_rows(folder, "fulltext_retrieval")
    assert after == before
    code, out, _ = run(capsys, "prisma", folder, "--json")
    counts = json.loads(out)
    assert (counts["removed_other"], counts["screened"]) == (1, 2)
