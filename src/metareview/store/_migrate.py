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
from importlib import resources

from metareview.errors import StoreError

__all__ = ["Migration", "applied_versions", "available_migrations", "migrate"]

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
