"""What is screened: one record per report, and which PRISMA column each record belongs to.

Deduplication (``metareview dedupe``) links the records that report the same *study*. Among the
records of one study, PRISMA 2020 distinguishes *duplicates* (the same report found twice, e.g.
in PubMed and in Europe PMC) from *several reports of one study* (the main article, an extension
study, the trial's registry entry). Two linked records are taken to be the same report when they
are of the same kind and share a PMID, a DOI or their normalised title (for registry entries: a
registry id), or when ``metareview dedupe`` linked them with ``relation = 'duplicate'``. Each
report is screened once, on its *representative* record; the other records of
the report are the duplicates removed.

Records come from databases, registers or other methods (PRISMA 2020's right-hand column:
citation searching, websites, organisations). A source's kind is taken from the protocol's
``searches`` (matched by source name), else from its name (:data:`OTHER_METHOD_SOURCES`,
:data:`metareview.protocol.REGISTER_SOURCES`), else it is a database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from metareview.protocol import REGISTER_SOURCES, Protocol
from metareview.store.project import Project, StoredRecord

__all__ = [
    "OTHER_METHOD_SOURCES",
    "ReportSet",
    "normalise_title",
    "report_set",
    "source_kind",
]

#: Source names that mean "other methods" in PRISMA 2020 (compared case-insensitively).
OTHER_METHOD_SOURCES: frozenset[str] = frozenset(
    {
        "other",
        "citation searching",
        "citation search",
        "citations",
        "reference list",
        "reference lists",
        "handsearching",
        "hand searching",
        "hand search",
        "website",
        "websites",
        "organisation",
        "organisations",
        "organization",
        "organizations",
        "contact",
        "contacts",
        "experts",
        "grey literature",
        "manual",
    }
)


def source_kind(source: str, protocol: Protocol | None = None) -> str:
    """``"database"``, ``"register"`` or ``"other"`` for a source name (see module docstring)."""
    key = source.strip().casefold()
    if protocol is not None:
        for search in protocol.searches:
            if search.source.strip().casefold() == key and search.kind is not None:
                return search.kind
    if key in OTHER_METHOD_SOURCES:
        return "other"
    if key in REGISTER_SOURCES:
        return "register"
    return "database"


def normalise_title(title: str) -> str:
    """Lower-case ASCII letters and digits only, single-spaced (for same-report matching)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class ReportSet:
    """The project's records grouped into reports and studies.

    Attributes
    ----------
    records
        Every stored record by id.
    representative
        Record id -> the id of the record that stands for its report (itself when unique).
    study
        Representative id -> study key (``"s<study id>"`` for a linked study, ``"r<record id>"``
        for a record linked to none).
    column
        Record id -> ``"database"``, ``"register"`` or ``"other"``.
    """

    records: dict[int, StoredRecord]
    representative: dict[int, int]
    study: dict[int, str]
    column: dict[int, str]
    _reps: list[int] = field(default_factory=list)

    def reports(self, column: str | None = None) -> list[int]:
        """Representative record ids (one per report), optionally of one column."""
        if column is None:
            return list(self._reps)
        if column == "main":
            return [r for r in self._reps if self.column[r] != "other"]
        return [r for r in self._reps if self.column[r] == column]

    def duplicates(self) -> list[int]:
        """Record ids removed as duplicates (records that are not their report's representative)."""
        return [r for r, rep in self.representative.items() if r != rep]

    def is_representative(self, record_id: int) -> bool:
        return self.representative.get(record_id) == record_id


class _UnionFind:
    def __init__(self, items: Iterable[int]) -> None:
        self.parent = {i: i for i in items}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _report_keys(stored: StoredRecord) -> list[tuple[str, str]]:
    rec = stored.record
    kind = "registry" if rec.kind == "registry" else "publication"
    keys: list[tuple[str, str]] = []
    if kind == "registry":
        keys += [("nct", n.upper()) for n in rec.nct_ids]
        if rec.source_id:
            keys.append(("registry-id", rec.source_id.upper()))
    else:
        if rec.pmid:
            keys.append(("pmid", rec.pmid.strip()))
        if rec.doi:
            keys.append(("doi", rec.doi.strip().lower()))
    title = normalise_title(rec.title or "")
    if title:
        keys.append((kind + "-title", title))
    return keys


def _duplicate_links(project: Project) -> list[tuple[int, int]]:
    """Active ``dedupe_links`` marked ``relation = 'duplicate'`` (migration 005), if any."""
    conn = project.connection
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dedupe_links'"
    ).fetchone()
    if not exists:
        return []
    return [
        (int(a), int(b))
        for a, b in conn.execute(
            "SELECT record_a, record_b FROM dedupe_links "
            "WHERE undone_at IS NULL AND relation = 'duplicate'"
        )
    ]


def report_set(
    project: Project,
    protocol: Protocol | None = None,
    *,
    prefer: Mapping[int, int] | None = None,
) -> ReportSet:
    """Group the project's records into reports (see the module docstring).

    Parameters
    ----------
    project
        The project.
    protocol
        Used to classify sources as databases, registers or other methods.
    prefer
        Record id -> priority (higher first) when choosing a report's representative, e.g. the
        number of decisions already recorded on it, so that deduplicating after screening began
        keeps the screened record. Ties go to database/register records over other methods,
        then to the lowest id.
    """
    records = {s.id: s for s in project.records()}
    column = {rid: source_kind(s.record.source, protocol) for rid, s in records.items()}
    links = project.studies()
    study_of: dict[int, str] = {}
    uf = _UnionFind(records)
    for study_id, members in links.items():
        seen: dict[tuple[str, str], int] = {}
        for rid in members:
            if rid not in records:
                continue
            study_of[rid] = f"s{study_id}"
            for key in _report_keys(records[rid]):
                if key in seen:
                    uf.union(seen[key], rid)
                else:
                    seen[key] = rid
    for a, b in _duplicate_links(project):
        if a in records and b in records and study_of.get(a) == study_of.get(b) is not None:
            uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for rid in records:
        groups.setdefault(uf.find(rid), []).append(rid)
    priority = prefer or {}
    representative: dict[int, int] = {}
    reps: list[int] = []
    for members in groups.values():
        rep = min(
            members,
            key=lambda r: (-priority.get(r, 0), column[r] == "other", r),
        )
        reps.append(rep)
        for rid in members:
            representative[rid] = rep
    reps.sort()
    study = {rep: study_of.get(rep, f"r{rep}") for rep in reps}
    return ReportSet(
        records=records, representative=representative, study=study, column=column, _reps=reps
    )
