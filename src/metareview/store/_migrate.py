"""Versioned schema migrations: numbered ``NNN_name.sql`` files applied in order.

Each stage that needs tables adds its own file to ``metareview/store/migrations/`` (``001_core``
is the store's; screening adds ``002_...`` and so on). A migration runs in one transaction
together with its row in ``schema_migrations``, so a project is always at a whole version.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources

from metareview.errors import StoreError

__all__ = [
    "Migration",
    "applied_versions",
    "available_migrations",
    "check_schema",
    "migrate",
    "pending_versions",
]

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL migration file."""

    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def available_migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order.

    Raises
    ------
    StoreError
        Two files share a version number.
    """
    found: dict[int, Migration] = {}
    folder = resources.files("metareview.store") / "migrations"
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise StoreError(
                f"two migrations share version {version:03d}: "
                f"{found[version].name!r} and {match.group(2)!r}"
            )
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def applied_versions(conn: sqlite3.Connection) -> dict[int, str]:
    """Versions already applied to ``conn`` (version -> name); empty for a new database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return {}
    return dict(conn.execute("SELECT version, name FROM schema_migrations ORDER BY version"))


def pending_versions(conn: sqlite3.Connection) -> list[int]:
    """Shipped migrations not yet applied to ``conn``."""
    applied = applied_versions(conn)
    return [m.version for m in available_migrations() if m.version not in applied]


def _objects(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Schema objects by name: (type, SQL with whitespace normalised); SQLite's own left out."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {name: (kind, " ".join((sql or "").split())) for kind, name, sql in rows}


@lru_cache(maxsize=8)
def _reference(versions: tuple[int, ...]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """The schema ``versions`` of the shipped migrations make in an empty database, and which
    migration made (or last changed) each object."""
    shipped = {m.version: m for m in available_migrations()}
    conn = sqlite3.connect(":memory:")
    made_by: dict[str, str] = {}
    try:
        before: dict[str, tuple[str, str]] = {}
        for version in versions:
            migration = shipped[version]
            for statement in _statements(migration.sql):
                conn.execute(statement)
            after = _objects(conn)
            for name, value in after.items():
                if before.get(name) != value:
                    made_by[name] = f"{migration.version:03d}_{migration.name}"
            before = after
        return before, made_by
    finally:
        conn.close()


def check_schema(conn: sqlite3.Connection, *, where: str) -> None:
    """Refuse a store whose applied migrations or schema are not what metareview made.

    Two checks, as a careful reader of its own files does: each ``schema_migrations`` row's
    ``sha256`` must be the hash of the migration file this metareview ships under that version
    (a changed migration file made the project), and the tables, indexes, triggers and views in
    ``sqlite_master`` must be exactly those the applied migrations create (nothing dropped,
    added or altered by hand). Versions this metareview does not know are left to
    :func:`migrate`, which refuses them.

    Raises
    ------
    StoreError
        A hash or a schema object differs; the message names the migration.
    """
    shipped = {m.version: m for m in available_migrations()}
    rows = conn.execute(
        "SELECT version, name, sha256 FROM schema_migrations ORDER BY version"
    ).fetchall()
    for version, name, digest in rows:
        migration = shipped.get(version)
        if migration is not None and digest != migration.sha256:
            raise StoreError(
                f"{where}: migration {version:03d}_{name} was applied from a different file "
                f"(sha256 {str(digest)[:12]}..., this metareview ships {migration.sha256[:12]}...);"
                " the project's schema cannot be trusted"
            )
    versions = tuple(sorted(v for v, _, _ in rows if v in shipped))
    if len(versions) != len(rows):
        return
    expected, made_by = _reference(versions)
    actual = _objects(conn)
    problems: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            kind = expected[name][0]
            problems.append(f"{kind} {name!r} (from migration {made_by[name]}) is missing")
        elif name not in expected:
            problems.append(f"{actual[name][0]} {name!r} is not made by any migration")
        elif actual[name] != expected[name]:
            kind = expected[name][0]
            problems.append(f"{kind} {name!r} differs from migration {made_by[name]}")
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        shown = "; ".join(problems[:3]) + more
        raise StoreError(
            f"{where}: the schema was changed outside metareview: {shown}; restore the project "
            "from a backup"
        )


def migrate(conn: sqlite3.Connection, *, actor: str) -> list[int]:
    """Apply every pending migration to ``conn`` (in autocommit mode); return the versions applied.

    Each migration and its ``schema_migrations`` row commit together or not at all.

    Raises
    ------
    StoreError
        The project was made by a newer metareview (it has versions this one does not know), or
        a migration fails.
    """
    available = available_migrations()
    known = {m.version for m in available}
    applied = applied_versions(conn)
    unknown = sorted(set(applied) - known)
    if unknown:
        raise StoreError(
            f"the project has schema version(s) {unknown} that this metareview does not know; "
            "upgrade metareview"
        )
    done: list[int] = []
    for migration in available:
        if migration.version in applied:
            continue
        now = datetime.now(UTC).isoformat()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, sha256, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.sha256, now),
            )
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, table_name, row_id, after_json) "
                "VALUES (?, ?, 'migrate', 'schema_migrations', ?, ?)",
                (now, actor, migration.version, f'{{"name": "{migration.name}"}}'),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                f"migration {migration.version:03d}_{migration.name} failed: {exc}"
            ) from exc
        done.append(migration.version)
    return done


def _statements(sql: str) -> list[str]:
    """Split a migration script into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise StoreError(f"migration has an incomplete statement: {buffer.strip()[:80]!r}")
    return statements
