"""The project store: one folder per review, an embedded SQLite database inside.

A project folder holds ``project.sqlite`` (and, when given, a copy of the protocol file). The
database keeps every source record with its raw payload verbatim, one row per imported file or
search (PRISMA-S), the studies that records report, and an append-only audit log of every change.

Every write goes through :meth:`Project.transaction`: one SQLite transaction that commits as a
whole or leaves the database exactly as before (also when the process is killed: SQLite's
write-ahead log is only applied once a transaction has committed).

Examples
--------
>>> project = Project.init("imatinib-ssc")                              # doctest: +SKIP
>>> result = project.import_file("pubmed.xml", query="imatinib AND scleroderma")  # doctest: +SKIP
>>> result.n_added, result.n_duplicates                                  # doctest: +SKIP
(39, 0)
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metareview.errors import StoreError
from metareview.sources.record import Record
from metareview.store._migrate import (
    applied_versions,
    check_schema,
    migrate,
    pending_versions,
)

__all__ = [
    "AuditEntry",
    "ImportResult",
    "ImportRow",
    "Project",
    "StoredRecord",
    "StudyLink",
    "Transaction",
    "default_actor",
    "file_sha256",
    "record_hash",
]

DB_NAME = "project.sqlite"
#: Records are written in batches of this many rows per ``executemany``.
_PROGRESS_EVERY = 200

_RECORD_COLUMNS = (
    "import_id",
    "position",
    "source",
    "source_id",
    "kind",
    "title",
    "abstract",
    "authors_json",
    "journal",
    "year",
    "doi",
    "pmid",
    "pmcid",
    "nct_ids_json",
    "publication_types_json",
    "keywords_json",
    "mesh_terms_json",
    "language",
    "url",
    "fields_json",
    "raw",
    "raw_format",
    "content_hash",
    "origin_file",
    "origin_query",
    "imported_at",
)
_INSERT_RECORD = (
    f"INSERT INTO records ({', '.join(_RECORD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _RECORD_COLUMNS)}) ON CONFLICT DO NOTHING"
)


def default_actor() -> str:
    """Who is acting: ``$METAREVIEW_ACTOR`` if set, else the login name."""
    actor = os.environ.get("METAREVIEW_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_hash(record: Record) -> str:
    """The identity of a record's content: SHA-256 of its raw format and raw payload.

    A record without a raw payload (built in code) is identified by its normalised fields.
    """
    if record.raw:
        payload = f"{record.raw_format}\0{record.raw}"
    else:
        data = asdict(record)
        for key in ("origin_file", "origin_query", "source"):
            data.pop(key, None)
        payload = "record\0" + _json(data)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did (one file, or one batch of records from a live search).

    ``duplicate_of`` is the id of the earlier import of the same file (same SHA-256) when the
    whole file was skipped; then nothing was added.
    """

    import_id: int | None
    file: str | None
    format: str
    source: str
    query: str | None
    n_records: int
    n_added: int
    n_duplicates: int
    duplicate_of: int | None = None

    @property
    def already_imported(self) -> bool:
        return self.duplicate_of is not None

    def message(self) -> str:
        """One line for people: what was added and what was skipped."""
        name = self.file or self.source
        if self.duplicate_of is not None:
            return f"{name}: already imported (import #{self.duplicate_of}); nothing added"
        return (
            f"{name}: {self.n_records} records read, {self.n_added} added, "
            f"{self.n_duplicates} already in the project"
        )


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A row of ``imports``: one file or search, for PRISMA-S reporting."""

    id: int
    path: str | None
    file_name: str | None
    sha256: str | None
    size_bytes: int | None
    format: str
    source: str
    query: str | None
    searched_at: str | None
    n_records: int
    n_added: int
    n_duplicates: int
    imported_at: str
    imported_by: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: its row id, import, content hash and time, and the record itself."""

    id: int
    import_id: int
    position: int
    content_hash: str
    imported_at: str
    record: Record


@dataclass(frozen=True, slots=True)
class StudyLink:
    """A link between a study and a record; undone links keep ``unlinked_*`` set."""

    id: int
    study_id: int
    record_id: int
    reason: str
    linked_at: str
    linked_by: str
    unlinked_at: str | None
    unlinked_by: str | None
    unlink_reason: str | None

    @property
    def active(self) -> bool:
        return self.unlinked_at is None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the append-only audit log."""

    id: int
    at: str
    actor: str
    action: str
    table_name: str | None
    row_id: int | None
    before: Any
    after: Any


class Transaction:
    """A write transaction on a project; every change made through it is audited.

    Obtain one with ``with project.transaction(actor=...) as tx:``. Leaving the block normally
    commits; an exception rolls every change back (including audit entries) and propagates.
    """

    def __init__(self, conn: sqlite3.Connection, actor: str) -> None:
        self.conn = conn
        self.actor = actor
        self.at = _now()

    def execute(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        """Run a statement inside the transaction (not audited: prefer insert/update/delete)."""
        return self.conn.execute(sql, params)  # type: ignore[arg-type]

    def log(
        self,
        action: str,
        *,
        table: str | None = None,
        row_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> int:
        """Append an audit entry; returns its id."""
        cursor = self.conn.execute(
            "INSERT INTO audit_log (at, actor, action, table_name, row_id, before_json, "
            "after_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                self.actor,
                action,
                table,
                row_id,
                None if before is None else _json(before),
                None if after is None else _json(after),
            ),
        )
        return int(cursor.lastrowid or 0)

    def insert(self, table: str, values: Mapping[str, Any], *, action: str = "insert") -> int:
        """Insert one row into ``table`` and audit it; returns the new row id."""
        _check_identifier(table)
        columns = list(values)
        for column in columns:
            _check_identifier(column)
        cursor = self.conn.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [values[c] for c in columns],
        )
        row_id = int(cursor.lastrowid or 0)
        self.log(action, table=table, row_id=row_id, after=dict(values))
        return row_id

    def update(
        self, table: str, row_id: int, values: Mapping[str, Any], *, action: str = "update"
    ) -> None:
        """Change columns of one row (by ``id``); the audit entry keeps before and after."""
        _check_identifier(table)
        columns = list(values)
        for column in columns:
            _check_identifier(column)
        before = self.row(table, row_id)
        self.conn.execute(
            f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
            [*(values[c] for c in columns), row_id],
        )
        self.log(
            action,
            table=table,
            row_id=row_id,
            before={c: before[c] for c in columns},
            after=dict(values),
        )

    def delete(self, table: str, row_id: int, *, action: str = "delete") -> None:
        """Delete one row (by ``id``); the audit entry keeps the whole row."""
        _check_identifier(table)
        before = self.row(table, row_id)
        self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        self.log(action, table=table, row_id=row_id, before=before)

    def row(self, table: str, row_id: int) -> dict[str, Any]:
        """One row of ``table`` as a dict.

        Raises
        ------
        StoreError
            No row has that id.
        """
        _check_identifier(table)
        cursor = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
        found = cursor.fetchone()
        if found is None:
            raise StoreError(f"{table}: no row with id {row_id}")
        return dict(zip([d[0] for d in cursor.description], found, strict=True))


def _check_identifier(name: str) -> None:
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise StoreError(f"not a valid table or column name: {name!r}")


class Project:
    """A review project: a folder with ``project.sqlite``.

    Use :meth:`init` to create one and :meth:`open` to open one; close it with :meth:`close` or
    use it as a context manager.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *, read_only: bool = False) -> None:
        self.path = path
        self._conn = conn
        self._in_transaction = False
        self.read_only = read_only

    # -- creating and opening --------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: str | Path,
        *,
        protocol_file: str | Path | None = None,
        actor: str | None = None,
    ) -> Project:
        """Create a project folder (or use an empty existing one) and its database.

        Parameters
        ----------
        path
            The project folder.
        protocol_file
            A protocol file, validated with :func:`metareview.protocol.load_protocol` and
            copied into the project under its own file name.
        actor
            Who creates the project (default :func:`default_actor`).

        Raises
        ------
        StoreError
            The folder already holds a project, is not a folder, or cannot be created.
        ProtocolError
            The protocol file does not validate.
        """
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder}: exists and is not a folder")
        if (folder / DB_NAME).exists() and _has_schema(folder / DB_NAME):
            raise StoreError(f"{folder}: already a metareview project ({DB_NAME} exists)")
        protocol = Path(protocol_file) if protocol_file is not None else None
        if protocol is not None:
            if not protocol.is_file():
                raise StoreError(f"{protocol}: protocol file not found")
            from metareview.protocol import load_protocol

            load_protocol(protocol)  # raises ProtocolError naming file, line and field
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{folder}: cannot create the project folder: {exc.strerror}") from exc
        who = actor or default_actor()
        conn = _connect(folder / DB_NAME)
        try:
            migrate(conn, actor=who)
            project = cls(folder, conn)
            with project.transaction(actor=who) as tx:
                tx.insert("project_meta", {"key": "created_at", "value": _now()}, action="init")
                if protocol is not None:
                    target = folder / protocol.name
                    if protocol.resolve() != target.resolve():
                        shutil.copyfile(protocol, target)
                    tx.insert(
                        "project_meta",
                        {"key": "protocol_file", "value": protocol.name},
                        action="protocol",
                    )
                    tx.log(
                        "protocol",
                        after={"file": protocol.name, "sha256": file_sha256(target)},
                    )
        except BaseException:
            conn.close()
            raise
        return project

    @classmethod
    def open(
        cls, path: str | Path, *, actor: str | None = None, read_only: bool = False
    ) -> Project:
        """Open an existing project, applying pending schema migrations (unless ``read_only``).

        Every open checks the schema first (:func:`~metareview.store._migrate.check_schema`):
        a project whose migrations were applied from other files, or whose tables, indexes or
        triggers were changed by hand, is refused.

        ``read_only=True`` (the reading commands: ``export``, ``prisma``, ``conflicts``,
        ``analyse``, ``report``) opens the database with SQLite's ``mode=ro``: it takes no write
        lock, so it never waits for a writer in another process (WAL readers do not block), and
        on read-only storage it adds ``immutable=1`` so the project can still be read. Any write
        through a read-only project raises :class:`StoreError`.

        Raises
        ------
        StoreError
            ``path`` is not a project, or its database is damaged, changed by hand, from a newer
            metareview, on read-only storage (for writing), or needs a migration (read-only).
        """
        folder = Path(path)
        db = folder / DB_NAME
        if not db.is_file():
            raise StoreError(f"{folder}: not a metareview project (no {DB_NAME}); run init first")
        conn = _connect_read_only(db) if read_only else _connect(db)
        try:
            if not applied_versions(conn):
                raise StoreError(f"{db}: not a metareview project database")
            check_schema(conn, where=str(db))
            if read_only:
                pending = pending_versions(conn)
                if pending:
                    raise StoreError(
                        f"{db}: the project needs schema migration(s) "
                        f"{', '.join(f'{v:03d}' for v in pending)} before it can be read; run a "
                        "command that changes it (e.g. metareview import or dedupe) once where "
                        "it can be written"
                    )
            else:
                migrate(conn, actor=actor or default_actor())
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{db}: cannot read the project database: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(folder, conn, read_only=read_only)

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    # -- properties ------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for read queries by later stages (write via transaction())."""
        return self._conn

    @property
    def schema_version(self) -> int:
        """The highest applied migration number."""
        return max(applied_versions(self._conn), default=0)

    @property
    def protocol_path(self) -> Path | None:
        """The protocol file copied into the project at init, if any."""
        row = self._conn.execute(
            "SELECT value FROM project_meta WHERE key = 'protocol_file'"
        ).fetchone()
        return self.path / row[0] if row else None

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, actor: str | None = None) -> Iterator[Transaction]:
        """A write transaction: commits when the block ends, rolls back on any exception.

        ``BEGIN IMMEDIATE`` takes the write lock at once, so two writers never interleave.
        Nested use is refused (one unit of work, one transaction).
        """
        if self._in_transaction:
            raise StoreError("a transaction is already open on this project")
        if self.read_only:
            raise StoreError(f"{self.db_path}: the project was opened read-only")
        self._in_transaction = True
        try:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self.db_path}: cannot start a write: {exc}") from exc
            tx = Transaction(self._conn, actor or default_actor())
            try:
                yield tx
            except (sqlite3.OperationalError, sqlite3.DataError) as exc:
                # SQLite rolls back by itself on SQLITE_FULL/IOERR; a second ROLLBACK would fail
                # with "cannot rollback - no transaction is active" and hide the cause.
                self._rollback()
                raise StoreError(f"{self.db_path}: the write failed and was undone: {exc}") from exc
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"{self.db_path}: commit failed and was undone: {exc}") from exc
        finally:
            self._in_transaction = False

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already done so."""
        if self._conn.in_transaction:
            # If it fails, SQLite ended the transaction already; nothing of it was committed.
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    # -- imports ---------------------------------------------------------------------------

    def add_records(
        self,
        records: Iterable[Record],
        *,
        source: str | None = None,
        origin_file: str | Path | None = None,
        query: str | None = None,
        format: str | None = None,
        searched_at: str | None = None,
        file_sha256: str | None = None,
        size_bytes: int | None = None,
        actor: str | None = None,
        progress: Callable[[int], None] | None = None,
        within: Callable[[Transaction, int], None] | None = None,
    ) -> ImportResult:
        """Add records in one transaction, with one ``imports`` row describing where they came from.

        Records already in the project (same source and source id, or same source and content
        hash) are counted as duplicates and not added again. If iterating ``records`` raises
        (a malformed record in a file), nothing at all is written.

        Parameters
        ----------
        records
            Records, typically a lazy iterator from an importer or a client.
        source
            The database name the records came from (``pubmed``, ``embase``...); overrides each
            record's ``source`` when given.
        origin_file
            The imported file (kept for PRISMA-S), or None for a live search.
        query
            The search query that produced the records (PRISMA-S).
        format
            The input format (``pubmed-xml``, ``ris``...); default: the records' ``raw_format``.
        searched_at
            When the search was run (ISO 8601), if not now.
        file_sha256, size_bytes
            The file's hash and size; a file already imported (same hash) adds nothing.
        actor
            Who imports (default :func:`default_actor`).
        progress
            Called with the number of records read so far, every few hundred records.
        within
            Called as ``within(tx, import_id)`` inside the same transaction after the records
            are written, so a caller can add its own rows (e.g. a live search's PRISMA-S row)
            that commit or roll back together with the import.

        Returns
        -------
        ImportResult
        """
        who = actor or default_actor()
        file_name = str(origin_file) if origin_file is not None else None
        if file_sha256 is not None:
            earlier = self._conn.execute(
                "SELECT id FROM imports WHERE sha256 = ?", (file_sha256,)
            ).fetchone()
            if earlier is not None:
                return ImportResult(
                    import_id=None,
                    file=file_name,
                    format=format or "",
                    source=source or "",
                    query=query,
                    n_records=0,
                    n_added=0,
                    n_duplicates=0,
                    duplicate_of=int(earlier[0]),
                )
        with self.transaction(actor=who) as tx:
            now = tx.at
            try:
                import_id = tx.insert(
                    "imports",
                    {
                        "path": str(Path(file_name).resolve()) if file_name else None,
                        "file_name": Path(file_name).name if file_name else None,
                        "sha256": file_sha256,
                        "size_bytes": size_bytes,
                        "format": format or "",
                        "source": source or "",
                        "query": query,
                        "searched_at": searched_at or now,
                        "imported_at": now,
                        "imported_by": who,
                    },
                    action="import",
                )
            except sqlite3.IntegrityError as exc:
                # Another process imported the same file between the check above and now.
                raise StoreError(f"{file_name}: already imported; nothing added") from exc
            n_records = n_added = 0
            first_format = format
            first_source = source
            for record in records:
                n_records += 1
                record_source = source or record.source
                if first_source is None:
                    first_source = record_source
                if first_format is None:
                    first_format = record.raw_format
                cursor = tx.conn.execute(
                    _INSERT_RECORD,
                    _record_row(
                        record,
                        import_id=import_id,
                        position=n_records,
                        source=record_source,
                        origin_file=file_name,
                        query=query,
                        now=now,
                    ),
                )
                n_added += cursor.rowcount
                if progress is not None and n_records % _PROGRESS_EVERY == 0:
                    progress(n_records)
            if progress is not None:
                progress(n_records)
            totals = {
                "format": first_format or "",
                "source": first_source or "",
                "n_records": n_records,
                "n_added": n_added,
                "n_duplicates": n_records - n_added,
            }
            tx.update("imports", import_id, totals, action="import-done")
            if within is not None:
                within(tx, import_id)
        return ImportResult(
            import_id=import_id,
            file=file_name,
            format=str(totals["format"]),
            source=str(totals["source"]),
            query=query,
            n_records=n_records,
            n_added=n_added,
            n_duplicates=n_records - n_added,
        )

    def import_file(
        self,
        path: str | Path,
        *,
        source: str | None = None,
        format: str | None = None,
        query: str | None = None,
        encoding: str | None = None,
        column_map: Mapping[str, str] | None = None,
        actor: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Import one file: detect (or take) its format, parse it lazily, add its records.

        The file is read once to hash it and once to parse it; records stream into one
        transaction, so the whole file is added or, on any error, nothing.

        Parameters
        ----------
        path
            The file.
        source, query
            As in :meth:`add_records`; ``source`` defaults to the format's own source name.
        format
            One of :data:`metareview.sources.detect.FORMATS`; detected when None.
        encoding
            Text encoding of text formats (default UTF-8, BOM honoured).
        column_map
            For CSV: record field -> column name, overriding the default column names (see
            :mod:`metareview.sources.csv_import`).
        progress
            Called with ``(bytes_read, total_bytes)`` while parsing.

        Raises
        ------
        InputError
            The file is missing or does not parse (the message names file, line and record).
        """
        from metareview.store.ingest import import_file

        return import_file(
            self, path, source=source, format=format, query=query, encoding=encoding,
            column_map=column_map, actor=actor, progress=progress,
        )  # fmt: skip

    # -- reading ---------------------------------------------------------------------------

    def imports(self) -> list[ImportRow]:
        """Every import, oldest first."""
        cursor = self._conn.execute(
            "SELECT id, path, file_name, sha256, size_bytes, format, source, query, searched_at, "
            "n_records, n_added, n_duplicates, imported_at, imported_by FROM imports ORDER BY id"
        )
        return [ImportRow(*row) for row in cursor]

    def count_records(self, *, import_id: int | None = None) -> int:
        """How many records the project holds (in one import, if given)."""
        if import_id is None:
            row = self._conn.execute("SELECT COUNT(*) FROM records").fetchone()
        else:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM records WHERE import_id = ?", (import_id,)
            ).fetchone()
        return int(row[0])

    def records(
        self,
        *,
        import_id: int | None = None,
        source: str | None = None,
        ids: Iterable[int] | None = None,
    ) -> Iterator[StoredRecord]:
        """Stored records in id order, optionally of one import, one source or given ids."""
        where: list[str] = []
        params: list[Any] = []
        if import_id is not None:
            where.append("import_id = ?")
            params.append(import_id)
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if ids is not None:
            id_list = [int(i) for i in ids]
            if not id_list:
                return iter(())
            where.append(f"id IN ({', '.join('?' for _ in id_list)})")
            params.extend(id_list)
        sql = f"SELECT id, {', '.join(_RECORD_COLUMNS)} FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        return (_stored(row) for row in self._conn.execute(sql, params))

    def record(self, record_id: int) -> StoredRecord:
        """One stored record by id.

        Raises
        ------
        StoreError
            No record has that id.
        """
        found = list(self.records(ids=[record_id]))
        if not found:
            raise StoreError(f"no record with id {record_id}")
        return found[0]

    def find_records(
        self,
        *,
        pmid: str | None = None,
        doi: str | None = None,
        nct_id: str | None = None,
    ) -> list[StoredRecord]:
        """Records with the given PMID, DOI (case-insensitive) or NCT id."""
        where: list[str] = []
        params: list[Any] = []
        if pmid is not None:
            where.append("pmid = ?")
            params.append(pmid)
        if doi is not None:
            where.append("lower(doi) = ?")
            params.append(doi.lower())
        if nct_id is not None:
            # JSON text search; portable (no JSON functions): ids are quoted in the array text.
            where.append("nct_ids_json LIKE ?")
            params.append(f'%"{nct_id}"%')
        if not where:
            return []
        sql = f"SELECT id, {', '.join(_RECORD_COLUMNS)} FROM records WHERE " + " OR ".join(where)
        return [_stored(row) for row in self._conn.execute(sql + " ORDER BY id", params)]

    # -- studies ---------------------------------------------------------------------------

    def link_records(
        self,
        record_ids: Iterable[int],
        *,
        reason: str,
        study_id: int | None = None,
        label: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Link records to one study (a new one unless ``study_id`` is given); returns its id.

        Records already linked to that study are left as they are.

        Raises
        ------
        StoreError
            A record is unknown or already linked to another study (unlink it first).
        """
        ids = list(dict.fromkeys(int(i) for i in record_ids))
        if not ids:
            raise StoreError("link_records: no records given")
        if not reason:
            raise StoreError("link_records: a reason is required")
        with self.transaction(actor=actor) as tx:
            for record_id in ids:
                if not tx.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone():
                    raise StoreError(f"no record with id {record_id}")
                current = self._active_study(record_id)
                if current is not None and current != study_id:
                    raise StoreError(
                        f"record {record_id} is already linked to study {current}; unlink it first"
                    )
            if study_id is None:
                study_id = tx.insert(
                    "studies",
                    {"label": label, "created_at": tx.at, "created_by": tx.actor},
                    action="study-create",
                )
            elif not tx.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone():
                raise StoreError(f"no study with id {study_id}")
            for record_id in ids:
                if self._active_study(record_id) == study_id:
                    continue
                tx.insert(
                    "study_records",
                    {
                        "study_id": study_id,
                        "record_id": record_id,
                        "reason": reason,
                        "linked_at": tx.at,
                        "linked_by": tx.actor,
                    },
                    action="link",
                )
        return study_id

    def link_by_hand(
        self,
        record_ids: Iterable[int],
        *,
        reason: str,
        label: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Put records into one study by a reviewer's decision (``metareview link``).

        The study is the one the first already-linked record belongs to, else a new one; records
        linked to another study are moved (their old link is undone, with the reason). ``label``
        names (or renames) the study. One transaction, every change audited.

        Returns
        -------
        int
            The study id.

        Raises
        ------
        StoreError
            No records, no reason, or an unknown record.
        """
        ids = list(dict.fromkeys(int(i) for i in record_ids))
        if not ids:
            raise StoreError("link: no records given")
        if not reason or not reason.strip():
            raise StoreError("link: a reason is required")
        with self.transaction(actor=actor) as tx:
            for record_id in ids:
                if not tx.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone():
                    raise StoreError(f"no record with id {record_id}")
            current = [s for s in (self._active_study(r) for r in ids) if s is not None]
            if current:
                study_id = current[0]
            else:
                study_id = tx.insert(
                    "studies",
                    {"label": label, "created_at": tx.at, "created_by": tx.actor},
                    action="study-create",
                )
            if label is not None and current:
                tx.update("studies", study_id, {"label": label}, action="study-label")
            for record_id in ids:
                row = tx.execute(
                    "SELECT id, study_id FROM study_records WHERE record_id = ? AND "
                    "unlinked_at IS NULL",
                    (record_id,),
                ).fetchone()
                if row is not None and int(row[1]) == study_id:
                    continue
                if row is not None:
                    tx.update(
                        "study_records",
                        int(row[0]),
                        {"unlinked_at": tx.at, "unlinked_by": tx.actor,
                         "unlink_reason": f"moved to study {study_id} by hand: {reason}"},
                        action="unlink",
                    )  # fmt: skip
                tx.insert(
                    "study_records",
                    {"study_id": study_id, "record_id": record_id, "reason": reason,
                     "linked_at": tx.at, "linked_by": tx.actor},
                    action="link",
                )  # fmt: skip
        return study_id

    def unlink(self, link_id: int, *, reason: str, actor: str | None = None) -> None:
        """Undo one study-record link (kept in the table with who, when and why).

        Raises
        ------
        StoreError
            No such link, or it is already undone.
        """
        with self.transaction(actor=actor) as tx:
            row = tx.row("study_records", link_id)
            if row["unlinked_at"] is not None:
                raise StoreError(f"link {link_id} was already undone at {row['unlinked_at']}")
            tx.update(
                "study_records",
                link_id,
                {"unlinked_at": tx.at, "unlinked_by": tx.actor, "unlink_reason": reason},
                action="unlink",
            )

    def study_of(self, record_id: int) -> int | None:
        """The study a record is linked to now, or None."""
        return self._active_study(record_id)

    def studies(self) -> dict[int, list[int]]:
        """Each study with at least one active link: study id -> record ids."""
        out: dict[int, list[int]] = {}
        for study_id, record_id in self._conn.execute(
            "SELECT study_id, record_id FROM study_records WHERE unlinked_at IS NULL "
            "ORDER BY study_id, record_id"
        ):
            out.setdefault(int(study_id), []).append(int(record_id))
        return out

    def study_links(
        self, *, study_id: int | None = None, include_undone: bool = False
    ) -> list[StudyLink]:
        """Links (of one study, if given), active ones only unless ``include_undone``."""
        sql = (
            "SELECT id, study_id, record_id, reason, linked_at, linked_by, unlinked_at, "
            "unlinked_by, unlink_reason FROM study_records"
        )
        where, params = [], []
        if study_id is not None:
            where.append("study_id = ?")
            params.append(study_id)
        if not include_undone:
            where.append("unlinked_at IS NULL")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [StudyLink(*row) for row in self._conn.execute(sql + " ORDER BY id", params)]

    def _active_study(self, record_id: int) -> int | None:
        row = self._conn.execute(
            "SELECT study_id FROM study_records WHERE record_id = ? AND unlinked_at IS NULL",
            (record_id,),
        ).fetchone()
        return int(row[0]) if row else None

    # -- audit and health ------------------------------------------------------------------

    def audit(
        self,
        *,
        table: str | None = None,
        row_id: int | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, filtered by table, row and action."""
        where, params = [], []
        for column, value in (("table_name", table), ("row_id", row_id), ("action", action)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = (
            "SELECT id, at, actor, action, table_name, row_id, before_json, after_json "
            "FROM audit_log"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            AuditEntry(
                id=r[0],
                at=r[1],
                actor=r[2],
                action=r[3],
                table_name=r[4],
                row_id=r[5],
                before=None if r[6] is None else json.loads(r[6]),
                after=None if r[7] is None else json.loads(r[7]),
            )
            for r in self._conn.execute(sql, params)
        ]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` plus foreign keys: ``"ok"`` when healthy."""
        result = self._conn.execute("PRAGMA integrity_check").fetchone()[0]
        broken = self._conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            return f"{result}; {len(broken)} foreign key violation(s)"
        return str(result)


def _has_schema(db: Path) -> bool:
    """Whether ``db`` holds at least one applied migration (an init killed before its first
    commit leaves an empty database, which a new init may reuse)."""
    try:
        conn = sqlite3.connect(db)
        try:
            return bool(applied_versions(conn))
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True


def on_read_only_storage(folder: Path) -> bool:
    """Whether ``folder`` is on storage that cannot be written (a read-only mount, a CD-ROM)."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except (OSError, AttributeError):
        pass
    return not os.access(folder, os.W_OK)


def _connect_read_only(db: Path) -> sqlite3.Connection:
    """Open the database for reading only: ``mode=ro``, plus ``immutable=1`` on read-only storage.

    ``immutable=1`` tells SQLite no one can change the file, so it takes no locks and needs no
    ``-shm`` file (which cannot be made on read-only storage); it also ignores a ``-wal`` file,
    so a non-empty one there (changes not yet checkpointed) is refused rather than skipped.
    (SQLite URI parameters: sqlite.org/uri.html.)
    """
    from urllib.parse import quote

    uri = f"file:{quote(str(db.resolve()))}?mode=ro"
    if on_read_only_storage(db.parent):
        wal = db.with_name(db.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise StoreError(
                f"{db}: the project is on read-only storage and its last changes are still in "
                f"{wal.name}, which cannot be read there; copy the project folder to writable "
                "storage"
            )
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db}: cannot open the project database to read: {exc}") from exc
    return conn


def _connect(db: Path) -> sqlite3.Connection:
    """Open the database in autocommit mode (transactions are explicit) with foreign keys on."""
    if on_read_only_storage(db.parent) or (db.exists() and not os.access(db, os.W_OK)):
        raise StoreError(
            f"{db}: the project is on read-only storage (or the file is read-only); commands "
            "that change it (import, search, dedupe, decide, ...) cannot run there"
        )
    try:
        conn = sqlite3.connect(db, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA foreign_keys = ON")
        # Records with their raw payload are 1-4 KB; 16 KiB pages hold several per page
        # (with 4 KiB pages most rows take a page each). Applies only to a new, empty database.
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db}: cannot open the project database: {exc}") from exc
    return conn


def _record_row(
    record: Record,
    *,
    import_id: int,
    position: int,
    source: str,
    origin_file: str | None,
    query: str | None,
    now: str,
) -> tuple[Any, ...]:
    return (
        import_id,
        position,
        source,
        record.source_id,
        record.kind,
        record.title,
        record.abstract,
        _json(record.authors),
        record.journal,
        record.year,
        record.doi,
        record.pmid,
        record.pmcid,
        _json(record.nct_ids),
        _json(record.publication_types),
        _json(record.keywords),
        _json(record.mesh_terms),
        record.language,
        record.url,
        _json(record.fields),
        record.raw,
        record.raw_format,
        record_hash(record),
        origin_file if origin_file is not None else record.origin_file,
        query if query is not None else record.origin_query,
        now,
    )


def _stored(row: tuple[Any, ...]) -> StoredRecord:
    values = dict(zip(("id", *_RECORD_COLUMNS), row, strict=True))
    record = Record(
        source=values["source"],
        title=values["title"],
        kind=values["kind"],
        source_id=values["source_id"],
        abstract=values["abstract"],
        authors=json.loads(values["authors_json"]),
        journal=values["journal"],
        year=values["year"],
        doi=values["doi"],
        pmid=values["pmid"],
        pmcid=values["pmcid"],
        nct_ids=json.loads(values["nct_ids_json"]),
        publication_types=json.loads(values["publication_types_json"]),
        keywords=json.loads(values["keywords_json"]),
        mesh_terms=json.loads(values["mesh_terms_json"]),
        language=values["language"],
        url=values["url"],
        fields=json.loads(values["fields_json"]),
        raw=values["raw"],
        raw_format=values["raw_format"],
        origin_file=values["origin_file"],
        origin_query=values["origin_query"],
    )
    return StoredRecord(
        id=values["id"],
        import_id=values["import_id"],
        position=values["position"],
        content_hash=values["content_hash"],
        imported_at=values["imported_at"],
        record=record,
    )
