"""Hostile input to every command: one stderr line naming file/row/field, exit 2, store intact.

Each test is a regression test for a case that printed a traceback, named no file, or wrote to
the project store before refusing the command.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from metareview.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "src/metareview/examples/imatinib-ssc"
PUBMED_XML = ROOT / "tests/data/sources/pubmed_efetch.xml"
RECORDS_CSV = ROOT / "tests/data/sources/records.csv"
BINARY = bytes(range(128, 256)) * 4  # not UTF-8: 0x80 cannot start a character


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI on ``argv``; assert a user error; return its one stderr line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("metareview: error: ")
    return lines[0]


def _dump(project: Path) -> list[str]:
    """The store's full content as SQL, to show a refused command changed nothing."""
    conn = sqlite3.connect(project / "project.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project with the example protocol and three PubMed records."""
    path = tmp_path / "review"
    assert main(["init", str(path), "--protocol", str(EXAMPLE / "protocol.yaml")]) == 0
    assert main(["import", str(path), str(PUBMED_XML)]) == 0
    capsys.readouterr()
    return path


# -- pool ---------------------------------------------------------------------------------------


def test_pool_zero_variance_names_the_file_and_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Data row 1 is left out (no yi), so the zero variance is the model's 2nd row but the
    # file's 3rd data row: the message must count rows in the file.
    csv = tmp_path / "zero.csv"
    csv.write_text("study,yi,vi\nA,,0.02\nB,0.1,0.02\nC,0.2,0\nD,0.3,0.01\n", encoding="utf-8")
    line = _error(["pool", str(csv), "--measure", "GEN"], capsys)
    assert f"{csv}, row 3, column 'vi': sampling variance must be > 0" in line


def test_pool_by_zero_variance_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "zero.csv"
    csv.write_text("study,yi,vi,g\nA,0.1,0.02,x\nB,0.2,0,x\n", encoding="utf-8")
    line = _error(["pool", str(csv), "--measure", "GEN", "--by", "g"], capsys)
    assert f"{csv}, row 2, column 'vi'" in line


def test_pool_value_too_large_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "huge.csv"
    csv.write_text("study,yi,vi\nA,1e308,0.1\nB,0.2,0.1\n", encoding="utf-8")
    assert f"{csv}, row 1, column 'yi'" in _error(["pool", str(csv), "--measure", "GEN"], capsys)


def test_pool_folder_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(["pool", str(tmp_path), "--measure", "GEN"], capsys)
    assert f"{tmp_path}: is a folder, not a CSV file" in line


def test_pool_repeated_column_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pandas would silently rename the second 'yi' to 'yi.1' and pool the first.
    csv = tmp_path / "dup.csv"
    csv.write_text("study,yi,yi,vi\nA,1,2,0.02\nB,0.2,3,0.03\n", encoding="utf-8")
    line = _error(["pool", str(csv), "--measure", "GEN"], capsys)
    assert f"{csv}, column 'yi': the header names this column more than once" in line


def test_pool_empty_trailing_header_cells_are_not_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "trailing.csv"
    csv.write_text("study,yi,vi,,\nA,0.1,0.02,,\nB,0.2,0.03,,\n", encoding="utf-8")
    assert main(["pool", str(csv), "--measure", "GEN", "--json"]) == 0


# -- simulate -----------------------------------------------------------------------------------

LABELLED = (
    "title,abstracts,label1\n"
    "imatinib in scleroderma,skin score fell,I\n"
    "imatinib for systemic sclerosis,open label trial,I\n"
    "aspirin and headache,pain relief,E\n"
    "statins in the elderly,lipids fell,E\n"
    "vitamin d in winter,bone density,E\n"
)


def test_simulate_folder_instead_of_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"{tmp_path}: is a folder" in _error(["simulate", str(tmp_path)], capsys)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_simulate_batch_fraction_must_be_finite(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "labelled.csv"
    csv.write_text(LABELLED, encoding="utf-8")
    line = _error(["simulate", str(csv), "--seeds", "1", "--batch-fraction", value], capsys)
    assert "column 'batch_fraction'" in line and "finite" in line


# -- run ----------------------------------------------------------------------------------------


@pytest.fixture
def review(tmp_path: Path) -> Path:
    """A copy of the bundled review's project folder."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "imatinib"))


@pytest.mark.parametrize(
    "name", ["studies.yaml", "screening.csv", "records.jsonl", "published.yaml"]
)
def test_run_file_not_utf8(name: str, review: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (review / name).write_bytes(BINARY)
    line = _error(["run", str(review), "--json"], capsys)
    assert f"{review / name}: not UTF-8 text" in line


@pytest.mark.parametrize("name", ["studies.yaml", "published.yaml"])
def test_run_yaml_error_is_one_line_with_its_line_number(
    name: str, review: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (review / name).write_text("results:\n  x: [\n", encoding="utf-8")
    line = _error(["run", str(review), "--json"], capsys)
    assert f"{review / name}: not valid YAML: " in line and "(line 3)" in line


def test_run_truncated_jsonl_names_row_and_character(
    review: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = review / "records.jsonl"
    path.write_text('{"source": "x", "title": "cut o', encoding="utf-8")
    line = _error(["run", str(review), "--json"], capsys)
    assert f"{path}, row 1: not valid JSON: Unterminated string starting at (character" in line


# -- init, import -------------------------------------------------------------------------------


def test_init_folder_cannot_be_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    target = blocker / "review"
    line = _error(["init", str(target)], capsys)
    assert f"{target}: cannot create the project folder" in line


def test_import_unknown_encoding_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _dump(project)
    line = _error(["import", str(project), str(RECORDS_CSV), "--encoding", "bogus-enc"], capsys)
    assert "column '--encoding': unknown text encoding 'bogus-enc'" in line
    assert _dump(project) == before


# -- export, prisma, screen ---------------------------------------------------------------------


def test_export_to_a_folder(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    line = _error(["export", str(project), "--decisions", "--out", str(folder)], capsys)
    assert f"{folder}: is a folder" in line
    assert not (tmp_path / "out.tmp").exists()


def test_export_into_a_missing_folder(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "decisions.csv"
    line = _error(["export", str(project), "--decisions", "--out", str(target)], capsys)
    assert f"{target}: cannot write the file" in line


def test_prisma_out_is_a_file(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep", encoding="utf-8")
    line = _error(["prisma", str(project), "--out", str(blocker)], capsys)
    assert f"{blocker}: cannot write the PRISMA files" in line
    assert blocker.read_text(encoding="utf-8") == "keep"


def test_screen_unknown_model_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reviewer used to be registered (and logged) before the model was checked. Opening
    # for screening first records the protocol version; do that before taking the snapshot
    # (with `protocol`: `export` opens the store read-only and records nothing).
    assert main(["protocol", str(project), "--json"]) == 0
    before = _dump(project)
    line = _error(["screen", str(project), "--reviewer", "zed", "--model", "foo"], capsys)
    assert "unknown ranking model 'foo'" in line
    assert _dump(project) == before


def test_pool_zero_computed_variance_names_the_row_not_a_missing_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # MD with both SDs 0: vi = sd1^2/n1 + sd2^2/n2 = 0 (hand calculation); the file has no
    # 'vi' column, so the message names the row and says the variance was computed.
    csv = tmp_path / "sd0.csv"
    csv.write_text(
        "study,m1i,m2i,sd1i,sd2i,n1i,n2i\nA,1,2,0,0,10,10\nB,1,2,1,1,10,10\n", encoding="utf-8"
    )
    line = _error(["pool", str(csv), "--measure", "MD"], capsys)
    assert f"{csv}, row 1: sampling variance must be > 0 (got 0); escalc computed it for MD" in line
    assert "column 'vi'" not in line


# -- search -------------------------------------------------------------------------------------
# (tests/reliability/test_live_clients.py has the hostile servers; these need no server.)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("file:///etc/", "only http:// and https:// services can be searched, not file://"),
        ("http://[::1", "not a valid URL (Invalid IPv6 URL)"),
        ("http:///path", "the URL names no host"),
    ],
)
def test_search_bad_base_url_is_one_line(
    url: str, said: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _dump(project)
    line = _error(["search", str(project), "pubmed", "x", "--base-url", url], capsys)
    assert f"{url}: {said}" in line
    assert _dump(project) == before


def test_search_limit_out_of_range_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", str(project), "ctgov", "x", "--max-empty-pages", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err
