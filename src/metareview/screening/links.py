"""Studies and their reports, by a reviewer's hand (``metareview link``).

A reference to a record is its store id, ``pmid:``, ``doi:``, ``nct:`` (the registry record when
articles also cite the trial) or ``source_id:`` (as ``metareview export --records`` prints it);
unlike screening, linking names records themselves, duplicates included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metareview.errors import InputError, StoreError
from metareview.store import Project

__all__ = ["link_records", "list_studies", "resolve_records", "undo_link"]


def resolve_records(project: Project, refs: Sequence[str]) -> list[int]:
    """Record ids for references (see the module docstring).

    Raises
    ------
    InputError
        A reference matches no record, or several records (naming them).
    """
    out: list[int] = []
    for ref in refs:
        text = str(ref).strip()
        if re.fullmatch(r"\d+", text):
            try:
                project.record(int(text))
            except StoreError:
                raise InputError(f"unknown record {text}", field="RECORDS") from None
            out.append(int(text))
            continue
        prefix, _, value = text.partition(":")
        prefix, value = prefix.strip().lower(), value.strip()
        if prefix == "source_id":
            found = [s for s in project.records() if s.record.source_id == value]
        elif prefix in ("pmid", "doi", "nct") and value:
            found = project.find_records(
                pmid=value if prefix == "pmid" else None,
                doi=value if prefix == "doi" else None,
                nct_id=value.upper() if prefix == "nct" else None,
            )
            if prefix == "nct" and len(found) > 1:
                found = [s for s in found if s.record.kind == "registry"] or found
        else:
            raise InputError(
                f"unknown record {text!r}: give a record id, pmid:, doi:, nct: or source_id:",
                field="RECORDS",
            )
        if len(found) != 1:
            what = "no record" if not found else "records " + ", ".join(str(s.id) for s in found)
            raise InputError(f"{text!r} matches {what}; use a record id", field="RECORDS")
        out.append(found[0].id)
    return out


def link_records(
    directory: str | Path,
    refs: Sequence[str],
    *,
    reason: str,
    label: str | None = None,
    actor: str | None = None,
) -> tuple[int, list[int]]:
    """Put the referenced records into one study; returns (study id, record ids)."""
    with Project.open(directory, actor=actor) as project:
        ids = resolve_records(project, refs)
        return project.link_by_hand(ids, reason=reason, label=label, actor=actor), ids


def undo_link(
    directory: str | Path, link_id: int, *, reason: str, actor: str | None = None
) -> None:
    """Take back one study-record link (kept, with who, when and why)."""
    with Project.open(directory, actor=actor) as project:
        project.unlink(link_id, reason=reason, actor=actor)


def list_studies(directory: str | Path) -> list[dict[str, Any]]:
    """Every study with its active links: ``[{study_id, label, records: [...]}]``."""
    with Project.open(directory) as project:
        labels = {
            int(i): lab for i, lab in project.connection.execute("SELECT id, label FROM studies")
        }
        out: dict[int, dict[str, Any]] = {}
        for link in project.study_links():
            stored = project.record(link.record_id)
            entry = out.setdefault(
                link.study_id,
                {"study_id": link.study_id, "label": labels.get(link.study_id), "records": []},
            )
            entry["records"].append(
                {
                    "link_id": link.id,
                    "record_id": link.record_id,
                    "source_id": stored.record.source_id or "",
                    "title": stored.record.title,
                    "reason": link.reason,
                }
            )
        return [out[k] for k in sorted(out)]
