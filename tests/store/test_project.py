"""The project store: creation, migrations, imports, identity, studies, audit, transactions."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from metareview.errors import InputError, ProtocolError, StoreError
from metareview.sources.record import Record
from metareview.store import Project
from metareview.store._migrate import _statements, available_migrations

SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"
EXAMPLE_PROTOCOL = (
    Path(__file__).resolve().parents[2] / "src/metareview/examples/imatinib-ssc/protocol.yaml"
)


def _record(n: int, *, source: str = "test", source_id: str | None = None) -> Record:
    return Record(
        source=source,
        title=f"Trial {n} of imatinib",
        source_id=source_id,
        authors=[f"Author{n} A", "Second B"],
        year=2000 + n,
        nct_ids=[f"NCT{n:08d}"],
        fields={"n": n, "nested": {"arms": [n, n + 1]}},
        raw=f"<raw>{n}</raw>",
        raw_format="test-raw",
    )


def _counts(project: Project) -> dict[str, int]:
    conn = project.connection
    return {
        table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("records", "imports", "audit_log", "studies", "study_records")
    }


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "review", actor="tester") as p:
        yield p


def test_init_creates_database_with_all_migrations(tmp_path: Path) -> None:
    with Project.init(tmp_path / "review") as p:
        assert p.db_path == tmp_path / "review" / "project.sqlite"
        applied = [
            r[0] for r in p.connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        ]
        assert applied == [m.version for m in available_migrations()]
        assert applied[0] == 1
        assert p.schema_version == max(applied)
        assert p.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert p.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert p.integrity_check() == "ok"
        assert p.protocol_path is None


def test_init_refuses_existing_project_and_open_refuses_non_project(tmp_path: Path) -> None:
    Project.init(tmp_path / "review").close()
    with pytest.raises(StoreError, match="already a metareview project"):
        Project.init(tmp_path / "review")
    with pytest.raises(StoreError, match="not a metareview project"):
        Project.open(tmp_path / "elsewhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "project.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="project database"):
        Project.open(tmp_path / "bad")


def test_init_reuses_an_empty_database_left_by_a_killed_init(tmp_path: Path) -> None:
    (tmp_path / "review").mkdir()
    sqlite3.connect(tmp_path / "review" / "project.sqlite").close()  # empty file, no schema
    with Project.init(tmp_path / "review") as p:
        assert p.schema_version >= 1


def test_init_validates_and_copies_protocol(tmp_path: Path) -> None:
    with Project.init(tmp_path / "review", protocol_file=EXAMPLE_PROTOCOL) as p:
        assert p.protocol_path == tmp_path / "review" / "protocol.yaml"
        assert p.protocol_path.read_bytes() == EXAMPLE_PROTOCOL.read_bytes()
        assert [e.action for e in p.audit(action="protocol")] == ["protocol", "protocol"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProtocolError):
        Project.init(tmp_path / "other", protocol_file=bad)
    assert not (tmp_path / "other" / "project.sqlite").exists()


def test_open_applies_a_new_migration_once(tmp_path: Path) -> None:
    Project.init(tmp_path / "review").close()
    with Project.open(tmp_path / "review") as p:
        version = p.schema_version
    with Project.open(tmp_path / "review") as p:
        assert p.schema_version == version
        assert len(p.audit(action="migrate")) == len(available_migrations())


def test_open_refuses_a_project_from_a_newer_metareview(tmp_path: Path) -> None:
    with Project.init(tmp_path / "review") as p:
        p.connection.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', 'x', '2099-01-01')"
        )
    with pytest.raises(StoreError, match="upgrade metareview"):
        Project.open(tmp_path / "review")


def test_migration_statement_splitter_keeps_trigger_bodies_whole() -> None:
    sql = (
        "-- comment\nCREATE TABLE t (id INTEGER);\n"
        "CREATE TRIGGER x BEFORE DELETE ON t BEGIN\n  SELECT RAISE(ABORT, 'no');\nEND;\n"
    )
    statements = _statements(sql)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_add_records_round_trip_and_provenance(project: Project) -> None:
    result = project.add_records(
        [_record(1), _record(2)], source="embase", origin_file="search.ris", query="imatinib"
    )
    assert (result.n_records, result.n_added, result.n_duplicates) == (2, 2, 0)
    stored = list(project.records())
    assert [s.record.title for s in stored] == ["Trial 1 of imatinib", "Trial 2 of imatinib"]
    first = stored[0]
    assert first.import_id == result.import_id
    assert first.record.source == "embase"  # the import's source overrides the record's
    assert first.record.origin_file == "search.ris"
    assert first.record.origin_query == "imatinib"
    assert first.record.fields == {"n": 1, "nested": {"arms": [1, 2]}}
    assert first.record.raw == "<raw>1</raw>"
    assert first.record.authors == ["Author1 A", "Second B"]
    (row,) = project.imports()
    assert (row.source, row.query, row.n_records, row.n_added) == ("embase", "imatinib", 2, 2)
    assert project.find_records(nct_id="NCT00000002")[0].record.year == 2002


def test_identity_by_source_id_and_by_content(project: Project) -> None:
    project.add_records([_record(1, source_id="A1")], source="pubmed")
    # Same source id, different payload: the same record of that source, not added again.
    again = _record(1, source_id="A1")
    again.raw = "<raw>updated</raw>"
    result = project.add_records([again, _record(2)], source="pubmed")
    assert (result.n_added, result.n_duplicates) == (1, 1)
    # Same payload and no id: identified by content hash.
    result = project.add_records([_record(2)], source="pubmed")
    assert (result.n_added, result.n_duplicates) == (0, 1)
    # The same payload from another database is another record (deduplication links them).
    result = project.add_records([_record(2)], source="embase")
    assert result.n_added == 1
    assert project.count_records() == 3


def test_importing_the_same_file_twice_adds_nothing(project: Project) -> None:
    first = project.import_file(SOURCES / "pubmed_efetch.xml", query="imatinib")
    assert (first.n_added, first.format, first.source) == (3, "pubmed-xml", "pubmed")
    copy = Path(project.path) / "copy.xml"
    shutil.copyfile(SOURCES / "pubmed_efetch.xml", copy)
    before = _counts(project)
    second = project.import_file(copy)
    assert second.already_imported and second.duplicate_of == first.import_id
    assert second.n_added == 0
    assert "already imported (import #1)" in second.message()
    assert _counts(project) == before


def test_a_failure_halfway_leaves_the_store_exactly_as_before(project: Project) -> None:
    project.add_records([_record(1)], source="pubmed")
    before = _counts(project)
    dump_before = list(project.connection.iterdump())

    def records() -> Iterator[Record]:
        for n in range(2, 1000):
            if n == 500:
                raise InputError("malformed record", file="big.xml", row=500)
            yield _record(n)

    with pytest.raises(InputError, match="row 500"):
        project.add_records(records(), source="pubmed", origin_file="big.xml")
    assert _counts(project) == before
    assert list(project.connection.iterdump()) == dump_before


def test_malformed_file_leaves_store_unchanged(project: Project, tmp_path: Path) -> None:
    text = (SOURCES / "pubmed_efetch.xml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("</PubmedArticleSet>", "<PubmedArticle>"), encoding="utf-8")
    before = _counts(project)
    with pytest.raises(InputError, match=r"broken\.xml"):
        project.import_file(broken)
    assert _counts(project) == before


def test_audit_log_is_append_only(project: Project) -> None:
    project.add_records([_record(1)], source="pubmed", actor="alice")
    entries = project.audit(table="imports")
    assert [e.action for e in entries] == ["import", "import-done"]
    assert entries[0].actor == "alice"
    assert entries[1].before == {
        "format": "",
        "source": "pubmed",
        "n_records": 0,
        "n_added": 0,
        "n_duplicates": 0,
    }
    assert entries[1].after["n_added"] == 1
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.connection.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.connection.execute("DELETE FROM audit_log")
    with pytest.raises(sqlite3.DatabaseError, match="never change"):
        project.connection.execute("UPDATE records SET raw = 'tampered'")


def test_transaction_rolls_back_on_error_and_refuses_nesting(project: Project) -> None:
    before = _counts(project)
    with pytest.raises(RuntimeError), project.transaction(actor="bob") as tx:
        tx.insert("studies", {"label": "x", "created_at": tx.at, "created_by": tx.actor})
        raise RuntimeError("boom")
    assert _counts(project) == before
    with (
        project.transaction(),
        pytest.raises(StoreError, match="already open"),
        project.transaction(),
    ):
        pass
    with pytest.raises(StoreError, match="not a valid table"), project.transaction() as tx:
        tx.insert("studies; DROP TABLE records", {"label": "x"})


def test_link_undo_and_history(project: Project) -> None:
    project.add_records([_record(1), _record(2), _record(3)], source="pubmed")
    ids = [s.id for s in project.records()]
    study = project.link_records(ids[:2], reason="same NCT id", actor="carol")
    assert project.studies() == {study: ids[:2]}
    assert project.study_of(ids[0]) == study
    with pytest.raises(StoreError, match="already linked to study"):
        project.link_records([ids[1], ids[2]], reason="title match")
    # Adding to an existing study.
    project.link_records([ids[2]], reason="title match", study_id=study)
    link = next(lk for lk in project.study_links(study_id=study) if lk.record_id == ids[2])
    project.unlink(link.id, reason="different trial", actor="dave")
    assert project.studies() == {study: ids[:2]}
    history = project.study_links(study_id=study, include_undone=True)
    undone = [lk for lk in history if not lk.active]
    assert len(undone) == 1 and undone[0].unlinked_by == "dave"
    assert undone[0].unlink_reason == "different trial"
    with pytest.raises(StoreError, match="already undone"):
        project.unlink(link.id, reason="again")
    audit = project.audit(table="study_records", row_id=link.id)
    assert [e.action for e in audit] == ["link", "unlink"]
    assert audit[1].before["unlinked_at"] is None and audit[1].after["unlinked_by"] == "dave"
    # The record is free again and can join another study.
    other = project.link_records([ids[2]], reason="own study")
    assert other != study


def test_link_requires_known_records_and_a_reason(project: Project) -> None:
    with pytest.raises(StoreError, match="no record with id 99"):
        project.link_records([99], reason="x")
    with pytest.raises(StoreError, match="reason is required"):
        project.link_records([1], reason="")
