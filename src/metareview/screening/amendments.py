"""Protocol versions and amendments.

The protocol may change after screening has started (PROSPERO asks for every change to be
recorded; PRISMA 2020 item 24c asks the report to describe amendments). metareview keeps each
distinct version of the project's protocol file in ``protocol_versions``: every screening command
calls :func:`sync_protocol`, which compares the file's SHA-256 with the last version seen and,
when it differs, validates the new file and records it, field by field, in the audit log. A version
first seen after the first screening decision is an *amendment*; :func:`amendments` lists them for
the report. (The time recorded is when metareview first saw the change, not when the file was
edited; use :func:`replace_protocol` to change it and record it at once.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metareview.errors import StoreError
from metareview.protocol import (
    Protocol,
    iter_changes,
    load_protocol,
    parse_protocol,
    protocol_digest,
)
from metareview.store.project import Project

__all__ = [
    "ProtocolVersion",
    "amendments",
    "protocol_versions",
    "replace_protocol",
    "sync_protocol",
]


@dataclass(frozen=True, slots=True)
class ProtocolVersion:
    """One version of the protocol file as metareview saw it.

    ``changes`` lists ``{"field", "old", "new"}`` against the previous version.
    """

    id: int
    sha256: str
    file_name: str
    seen_at: str
    seen_by: str
    amendment: bool
    changes: list[dict[str, Any]]
    note: str | None
    content: str

    def protocol(self) -> Protocol:
        """This version parsed."""
        return parse_protocol(self.content, file=f"{self.file_name} (version {self.id})")


def protocol_versions(project: Project) -> list[ProtocolVersion]:
    """Every recorded version, oldest first."""
    rows = project.connection.execute(
        "SELECT id, sha256, file_name, seen_at, seen_by, amendment, changes_json, note, content "
        "FROM protocol_versions ORDER BY id"
    )
    return [
        ProtocolVersion(
            id=r[0],
            sha256=r[1],
            file_name=r[2],
            seen_at=r[3],
            seen_by=r[4],
            amendment=bool(r[5]),
            changes=json.loads(r[6]),
            note=r[7],
            content=r[8],
        )
        for r in rows
    ]


def amendments(project: Project) -> list[ProtocolVersion]:
    """The versions recorded after screening had started (for the report), oldest first."""
    return [v for v in protocol_versions(project) if v.amendment]


def _screening_started(project: Project) -> bool:
    row = project.connection.execute("SELECT 1 FROM screening_decisions LIMIT 1").fetchone()
    return row is not None


def sync_protocol(
    project: Project, *, actor: str | None = None, note: str | None = None
) -> ProtocolVersion | None:
    """Record the project's protocol file if it differs from the last version seen.

    Returns the new version, or None when nothing changed (or the project has no protocol).

    Raises
    ------
    ProtocolError
        The file does not validate (nothing is recorded).
    """
    path = project.protocol_path
    if path is None:
        return None
    if not path.is_file():
        raise StoreError(f"{path}: the project's protocol file is missing")
    text = path.read_text(encoding="utf-8")
    digest = protocol_digest(text)
    versions = protocol_versions(project)
    if versions and versions[-1].sha256 == digest:
        return None
    new = load_protocol(path)
    changes: list[dict[str, Any]] = []
    if versions:
        old = versions[-1].protocol()
        changes = [{"field": f, "old": a, "new": b} for f, a, b in iter_changes(old, new)]
    amendment = _screening_started(project)
    with project.transaction(actor=actor) as tx:
        vid = tx.insert(
            "protocol_versions",
            {
                "sha256": digest,
                "file_name": path.name,
                "content": text,
                "seen_at": tx.at,
                "seen_by": tx.actor,
                "amendment": int(amendment),
                "changes_json": json.dumps(changes, ensure_ascii=False, default=str),
                "note": note,
            },
            action="protocol-amend" if amendment else "protocol-version",
        )
    return next(v for v in protocol_versions(project) if v.id == vid)


def replace_protocol(
    project: Project, new_file: str | Path, *, actor: str | None = None, note: str | None = None
) -> ProtocolVersion | None:
    """Validate ``new_file`` and make it the project's protocol, recording the change.

    Raises
    ------
    ProtocolError
        ``new_file`` does not validate; the project is unchanged.
    StoreError
        The project has no protocol file to replace.
    """
    path = project.protocol_path
    if path is None:
        raise StoreError(f"{project.path}: the project has no protocol file (init with --protocol)")
    load_protocol(new_file)
    sync_protocol(project, actor=actor)  # the current file is recorded before it is replaced
    source = Path(new_file)
    if source.resolve() != path.resolve():
        tmp = path.with_suffix(path.suffix + ".new")
        shutil.copyfile(source, tmp)
        tmp.replace(path)
    return sync_protocol(project, actor=actor, note=note)
