"""The store under faults: hand-edited schemas, busy writers, read-only storage, a full disk.

Read-only storage is simulated by making ``on_read_only_storage`` say so (the tests run as any
user, root included, for whom file modes do not stop writes); a full disk by SQLite's
``PRAGMA max_page_count`` on the connection the command opens.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metareview.cli import main
from metareview.errors import StoreError
from metareview.store import Project
from metareview.store import project as project_module
from metareview.store._migrate import available_migrations

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "src/metareview/examples/imatinib-ssc"
PUBMED_XML = ROOT / "tests/data/sources/pubmed_efetch.xml"
EMBASE_RIS = ROOT / "tests/data/sources/embase.ris"


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project with the example protocol and three PubMed records."""
    path = tmp_path / "review"
    assert main(["init", str(path), "--protocol", str(EXAMPLE / "protocol.yaml")]) == 0
    assert main(["import", str(path), str(PUBMED_XML)]) == 0
    assert main(["protocol", str(path), "--json"]) == 0  # record the protocol version
    capsys.readouterr()
    return path


def sql(folder: Path, *statements: str) -> None:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def dump(folder: Path) -> list[str]:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("metareview: error: "), err
    return lines[0]


# -- the schema is checked on open --------------------------------------------------------------

HAND_EDITS = [
    ("DROP INDEX IF EXISTS {index}", "index {index!r} (from migration {made}) is missing"),
    ("CREATE INDEX mine ON records (title)", "index 'mine' is not made by any migration"),
    ("ALTER TABLE records ADD COLUMN note TEXT", "table 'records' differs from migration"),
    ("CREATE TABLE scratch (x)", "table 'scratch' is not made by any migration"),
]


def _an_index(folder: Path) -> tuple[str, str]:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        (name,) = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' "
            "AND tbl_name = 'records' ORDER BY name LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    # Which migration made it: the first whose SQL names it.
    made = next(
        f"{m.version:03d}_{m.name}" for m in available_migrations() if f" {name} " in m.sql
    )
    return name, made


@pytest.mark.parametrize(("edit", "said"), HAND_EDITS)
@pytest.mark.parametrize("command", [["export", "{dir}", "--decisions"], ["import", "{dir}"]])
def test_hand_edited_schema_is_refused_by_readers_and_writers(
    edit: str, said: str, command: list[str], project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    index, made = _an_index(project)
    sql(project, edit.format(index=index))
    before = dump(project)
    argv = [a.format(dir=project) for a in command]
    if argv[0] == "import":
        argv.append(str(EMBASE_RIS))
    line = error_line(argv, capsys)
    assert "the schema was changed outside metareview" in line
    assert said.format(index=index, made=made) in line
    assert dump(project) == before


def test_changed_migration_hash_is_refused_naming_the_migration(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql(project, "UPDATE schema_migrations SET sha256 = 'abc' || sha256 WHERE version = 1")
    line = error_line(["export", str(project), "--decisions"], capsys)
    first = available_migrations()[0]
    assert f"migration 001_{first.name} was applied from a different file" in line
    assert f"this metareview ships {first.sha256[:12]}" in line


def test_untouched_store_opens(project: Path) -> None:
    with Project.open(project) as opened:
        assert opened.count_records() == 3


# -- readers do not wait for writers ------------------------------------------------------------


def test_export_does_not_wait_for_a_writer(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = sqlite3.connect(project / "project.sqlite", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE records SET title = title || '!' WHERE id = 1")
        started = time.monotonic()
        assert main(["export", str(project), "--records"]) == 0
        assert main(["prisma", str(project), "--json"]) == 0
        assert main(["conflicts", str(project), "--json"]) == 0
        assert time.monotonic() - started < 5  # a writer-locked open waited 30 s
        out = capsys.readouterr().out
        assert "!" not in out.split("\n")[1]  # the uncommitted change is not seen
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_export_does_not_wait_for_a_writer_in_another_process(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "c.execute(\"UPDATE records SET title = 'locked' WHERE id = 1\")\n"
            "print('holding', flush=True)\n"
            "time.sleep(20)\n",
            str(project / "project.sqlite"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        assert main(["export", str(project), "--decisions"]) == 0
        assert main(["export", str(project), "--records"]) == 0
        assert time.monotonic() - started < 5
        assert "locked" not in capsys.readouterr().out
        # A writer waits for the lock (up to 30 s) instead; not tested here for time.
    finally:
        holder.kill()
        holder.wait()


def test_read_only_project_refuses_writes(project: Path) -> None:
    with Project.open(project, read_only=True) as opened:
        assert opened.count_records() == 3
        with pytest.raises(StoreError, match="opened read-only"), opened.transaction() as tx:
            tx.execute("DELETE FROM records")
    assert Project.open(project).count_records() == 3


def test_reading_opens_take_no_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(project)
    for argv in (["export", str(project), "--decisions"], ["conflicts", str(project)]):
        assert main(argv) == 0
    capsys.readouterr()
    assert dump(project) == before


# -- read-only storage --------------------------------------------------------------------------


@pytest.fixture
def read_only_storage(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(project_module, "on_read_only_storage", lambda folder: True)
    yield


def test_project_on_read_only_storage_can_be_read(
    project: Path, read_only_storage: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(project), "--records"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 4  # header and three records


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "{dir}", "--decisions"],
        ["export", "{dir}", "--extraction"],
        ["prisma", "{dir}", "--json"],
        ["prisma", "{dir}", "--checklist", "--json"],
        ["conflicts", "{dir}", "--json"],
        ["extract", "{dir}", "--conflicts"],
    ],
    ids=lambda a: " ".join(a[2:]) if isinstance(a, list) else str(a),
)
def test_every_reading_command_works_on_read_only_storage(
    argv: list[str], project: Path, read_only_storage: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    before = dump(project)
    code = main([a.format(dir=project) for a in argv])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    assert dump(project) == before


@pytest.mark.parametrize(
    "argv",
    [["import", "{dir}", str(EMBASE_RIS)], ["dedupe", "{dir}"], ["decide", "{dir}", "{csv}"]],
    ids=["import", "dedupe", "decide"],
)
def test_writers_on_read_only_storage_get_one_clear_line(
    argv: list[str], project: Path, tmp_path: Path, read_only_storage: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "record_id,stage,decision,reason,reviewer,note\n1,title_abstract,include,,alice,\n",
        encoding="utf-8",
    )
    before = dump(project)
    line = error_line([a.format(dir=project, csv=decisions) for a in argv], capsys)
    assert "the project is on read-only storage" in line
    assert dump(project) == before


def test_unsaved_wal_on_read_only_storage_is_refused_not_skipped(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # A writer that has committed but not checkpointed leaves its pages in project.sqlite-wal.
    holder = sqlite3.connect(project / "project.sqlite", isolation_level=None)
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("UPDATE records SET title = 'changed' WHERE id = 1")
        copy = tmp_path / "copy"
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("*-shm"))
    finally:
        holder.close()
    assert (copy / "project.sqlite-wal").stat().st_size > 0
    monkeypatch.setattr(project_module, "on_read_only_storage", lambda folder: True)
    line = error_line(["export", str(copy), "--records"], capsys)
    assert "its last changes are still in project.sqlite-wal" in line
    # On writable storage the same leftover -wal is recovered by SQLite, for readers and writers.
    monkeypatch.setattr(project_module, "on_read_only_storage", lambda folder: False)
    assert main(["export", str(copy), "--records"]) == 0
    assert "changed" in capsys.readouterr().out
    assert main(["import", str(copy), str(EMBASE_RIS), "--json"]) == 0
    assert main(["dedupe", str(copy), "--json"]) == 0


# -- a full disk --------------------------------------------------------------------------------


def test_disk_full_during_import_is_one_line_and_nothing_written(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    connect = project_module._connect

    def tiny(db: Path) -> sqlite3.Connection:
        conn = connect(db)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(project_module, "_connect", tiny)
    big = tmp_path / "many.ris"
    big.write_text(
        "".join(
            f"TY  - JOUR\nTI  - Record number {i} {'x' * 400}\nAB  - {'y' * 2000}\nER  - \n\n"
            for i in range(400)
        ),
        encoding="utf-8",
    )
    before = dump(project)
    line = error_line(["import", str(project), str(big)], capsys)
    assert "database or disk is full" in line and "cannot rollback" not in line
    assert dump(project) == before
