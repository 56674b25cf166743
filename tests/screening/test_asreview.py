"""A review moving between metareview and ASReview LAB with its decisions.

Fixtures: ``tests/data/sources/asreview_export.{ris,csv}``, written by ASReview LAB 3.0.8 itself
(``scripts/asreview_fixture.py``): records with ID 101 and 103 relevant, 102 and 104 irrelevant
(104 with the note "not a cough study"), 105 and 106 not seen. The e2e project
(``tests/conftest.py``) has alice's title/abstract decisions: records 1, 3, 6, 9, 10 included,
2, 4, 7, 8 excluded, record 5 a duplicate of 3.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from metareview.cli import main
from metareview.errors import InputError
from metareview.screening.asreview import asreview_csv, asreview_ris, import_labelled
from metareview.screening.decisions import Screening
from metareview.store import Project

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
EXPECTED = {"101": "include", "102": "exclude", "103": "include", "104": "exclude"}


def _decisions(path: Path, stage: str = "title_abstract") -> dict[str, tuple[str, str | None]]:
    """source id (or title when none) -> (final decision, note) of every decided report."""
    with Screening.open(path, read_only=True) as s:
        final = s.final_decisions(stage)
        notes = {d.record_id: d.note for d in s.decisions(stage=stage)}
        out = {}
        for rid, f in final.items():
            r = s.reports.records[rid].record
            if f.decision is not None:
                out[r.source_id or r.title] = (f.decision, notes.get(rid))
    return out


def _new(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    Project.init(path).close()
    return path


@pytest.mark.parametrize("name", ["asreview_export.ris", "asreview_export.csv"])
def test_import_carries_asreview_labels(tmp_path: Path, name: str) -> None:
    path = _new(tmp_path, "p")
    with Project.open(path) as project:
        done = import_labelled(project, DATA / name)
    assert (done.n_included, done.n_excluded, done.n_unlabelled) == (2, 2, 2)
    assert done.n_decisions == 4 and not done.conflicts
    got = _decisions(path)
    assert {k: v[0] for k, v in got.items()} == EXPECTED
    assert got["104"][1] == "not a cough study"
    with Screening.open(path, read_only=True) as s:
        assert {d.reviewer for d in s.decisions()} == {"asreview"}


def test_reviewer_option_and_unchanged_on_reimport(tmp_path: Path) -> None:
    path = _new(tmp_path, "p")
    with Project.open(path) as project:
        import_labelled(project, DATA / "asreview_export.ris", reviewer="Ana")
        # the same records again (another file, same source ids): labels equal -> unchanged
        again = import_labelled(project, DATA / "asreview_export.csv", reviewer="Ana",
                                source="ris")  # fmt: skip
    assert again.result.n_added == 0
    assert (again.n_decisions, again.n_unchanged) == (0, 4)


def test_bad_label_stores_nothing(tmp_path: Path) -> None:
    path = _new(tmp_path, "p")
    bad = tmp_path / "bad.csv"
    bad.write_text("title,included\nA trial,1\nAnother,maybe\n", encoding="utf-8")
    with Project.open(path) as project:
        with pytest.raises(InputError) as info:
            import_labelled(project, bad)
        assert "row 2" in str(info.value) and "'included'" in str(info.value)
        assert "--no-labels" in str(info.value)
        assert project.count_records() == 0
    with Screening.open(path, read_only=True) as s:
        assert s.decisions() == []


def test_conflicting_duplicates_reported_not_decided(tmp_path: Path) -> None:
    path = _new(tmp_path, "p")
    f = tmp_path / "dup.csv"
    f.write_text(
        "id,title,label_included\n"
        "7,Drug A trial,1\n"
        "8,Drug B trial,0\n"
        "7,Drug A trial,0\n"  # same source id as row 1, another label
        "9,Drug C trial,\n",
        encoding="utf-8",
    )
    with Project.open(path) as project:
        done = import_labelled(project, f)
    assert (done.n_included, done.n_excluded, done.n_unlabelled) == (1, 2, 1)
    assert len(done.conflicts) == 1
    c = done.conflicts[0]
    assert (c.rows, c.labels) == ((1, 3), (1, 0))
    assert "conflicting duplicate" in done.message()
    assert _decisions(path) == {"8": ("exclude", None)}


def test_round_trip_csv_and_ris(e2e_project: Path, tmp_path: Path) -> None:
    before = _decisions(e2e_project)
    assert len(before) == 9  # nine reports, record 5 is a duplicate of 3
    with Screening.open(e2e_project, read_only=True) as s:
        files = {"asreview.csv": asreview_csv(s), "asreview.ris": asreview_ris(s)}
    for name, text in files.items():
        exported = tmp_path / name
        exported.write_text(text, encoding="utf-8")
        path = _new(tmp_path, f"from-{name}")
        with Project.open(path) as project:
            done = import_labelled(project, exported)
        assert (done.n_included, done.n_excluded, done.n_unlabelled) == (5, 4, 0), name
        after = _decisions(path)
        # same decision and note per record; reasons are not an ASReview notion
        assert after == before, name


def test_round_trip_keeps_unlabelled(tmp_path: Path) -> None:
    first = _new(tmp_path, "a")
    with Project.open(first) as project:
        import_labelled(project, DATA / "asreview_export.ris")
    with Screening.open(first, read_only=True) as s:
        text = asreview_csv(s)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["id"]: r["included"] for r in rows} == {
        "101": "1", "102": "0", "103": "1", "104": "0", "105": "", "106": ""
    }  # fmt: skip
    exported = tmp_path / "x.csv"
    exported.write_text(text, encoding="utf-8")
    second = _new(tmp_path, "b")
    with Project.open(second) as project:
        done = import_labelled(project, exported)
    assert done.n_unlabelled == 2
    assert _decisions(second) == _decisions(first)


def test_export_neutralises_formulas(tmp_path: Path) -> None:
    path = _new(tmp_path, "p")
    f = tmp_path / "f.csv"
    f.write_text('title,included\n"=HYPERLINK(""http://x"")",1\n', encoding="utf-8")
    with Project.open(path) as project:
        import_labelled(project, f)
    with Screening.open(path, read_only=True) as s:
        row = next(csv.DictReader(io.StringIO(asreview_csv(s))))
    assert row["title"] == "'=HYPERLINK(\"http://x\")"
    assert row["included"] == "1"


def test_cli_import_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p"
    assert main(["init", str(path)]) == 0
    capsys.readouterr()
    ris_file = str(DATA / "asreview_export.ris")
    assert main(["import", str(path), ris_file, "--reviewer", "Bo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["labels"]["included"] == 2 and out[0]["labels"]["reviewer"] == "Bo"
    assert main(["export", str(path), "--format", "asreview-ris"]) == 0
    text = capsys.readouterr().out
    assert text.count("ASReview_relevant") == 2 and text.count("ASReview_not_seen") == 2
    assert main(["export", str(path), "--format", "asreview-csv", "--decisions"]) == 2
    assert "does not go with" in capsys.readouterr().err
    other = tmp_path / "q"
    assert main(["init", str(other)]) == 0
    assert main(["import", str(other), ris_file, "--no-labels"]) == 0
    with Screening.open(other, read_only=True) as s:
        assert s.decisions() == []
