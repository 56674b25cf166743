"""What leaves the project as files: the records (CSV or RIS) and the screening decisions.

``metareview export DIR --records --format csv|ris [--included]`` writes every record (or only
the reports of included studies) with where it stands: the study it is linked to, the record it
duplicates, its current title/abstract and full-text decisions (:func:`record_rows`,
:func:`records_ris`). ``--decisions`` writes every decision with the record's title and source
id (:func:`decision_rows`). Cells are made safe to open in a spreadsheet by the caller
(:func:`metareview.sources.cells.guard_cell`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import rispy

from metareview.screening.decisions import Screening
from metareview.sources.cells import guard_cell

__all__ = [
    "DECISION_COLUMNS",
    "RECORD_COLUMNS",
    "csv_text",
    "decision_rows",
    "record_rows",
    "records_ris",
]

#: Columns of ``export --records --format csv``.
RECORD_COLUMNS: tuple[str, ...] = (
    "record_id", "source", "source_id", "title", "authors", "year", "journal", "doi", "pmid",
    "nct_ids", "study_id", "duplicate_of", "title_abstract", "full_text", "kind", "url",
)  # fmt: skip

#: Columns of ``export --decisions`` (those ``decide`` reads back, then the record's identity).
DECISION_COLUMNS: tuple[str, ...] = (
    "decision_id", "record_id", "stage", "decision", "reason", "reviewer", "note", "basis",
    "decided_at", "undone_at", "source_id", "title",
)  # fmt: skip


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text of ``rows`` under ``columns`` with every cell made safe to open in a
    spreadsheet (:func:`~metareview.sources.cells.guard_cell`); lists are joined by ``;``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {k: row.get(k, "") for k in columns}
        lists = {k: ";".join(map(str, v)) for k, v in cells.items() if isinstance(v, list)}
        writer.writerow({k: guard_cell(v) for k, v in {**cells, **lists}.items()})
    return buffer.getvalue()


def decision_rows(
    screening: Screening, *, include_undone: bool = False
) -> Iterator[dict[str, Any]]:
    """Every decision (not undone, unless asked) with its record's source id and title."""
    records = screening.reports.records
    for row in screening.export_rows(include_undone=include_undone):
        stored = records.get(int(row["record_id"]))
        row["source_id"] = "" if stored is None else (stored.record.source_id or "")
        row["title"] = "" if stored is None else stored.record.title
        yield row


def _included_records(screening: Screening) -> set[int]:
    """Records of the reports included at full text (with their duplicates): what PRISMA 2020
    counts as "reports of included studies"."""
    reports = screening.reports
    final = screening.final_decisions("full_text")
    included = {
        rep
        for rep in reports.reports()
        if (f := final.get(rep)) is not None and f.decision == "include"
    }
    return {rid for rid, rep in reports.representative.items() if rep in included}


def record_rows(screening: Screening, *, included: bool = False) -> list[dict[str, Any]]:
    """One row per record (:data:`RECORD_COLUMNS`), in store order.

    ``study_id`` is the study the record is linked to (dedupe or ``metareview link``);
    ``duplicate_of`` the record that stands for its report when it is a duplicate;
    ``title_abstract``/``full_text`` the current decision at each stage (of its report).
    """
    reports = screening.reports
    project = screening.project
    keep = _included_records(screening) if included else None
    stage_final = {s: screening.final_decisions(s) for s in ("title_abstract", "full_text")}
    out = []
    for rid, stored in sorted(reports.records.items()):
        if keep is not None and rid not in keep:
            continue
        r = stored.record
        rep = reports.representative.get(rid, rid)
        decided = {}
        for stage, final in stage_final.items():
            f = final.get(rep)
            decided[stage] = "" if f is None or f.decision is None else f.decision
        study = project.study_of(rid)
        out.append(
            {
                "record_id": rid,
                "source": r.source,
                "source_id": r.source_id or "",
                "title": r.title,
                "authors": "; ".join(r.authors or []),
                "year": r.year or "",
                "journal": r.journal or "",
                "doi": r.doi or "",
                "pmid": r.pmid or "",
                "nct_ids": "; ".join(r.nct_ids or []),
                "study_id": "" if study is None else study,
                "duplicate_of": "" if rep == rid else rep,
                "title_abstract": decided["title_abstract"],
                "full_text": decided["full_text"],
                "kind": r.kind,
                "url": r.url or "",
            }
        )
    return out


_RIS_TYPES = {"article": "JOUR", "registry": "DBASE", "conference": "CONF", "book": "BOOK"}


def records_ris(screening: Screening, *, included: bool = False) -> str:
    """The records as RIS (rispy's tags): TY, TI, AU, PY, JO/T2, DO, AB, UR, AN (source id),
    KW for the NCT ids, and N1 with the study, duplicate and decisions (as ``record_rows``)."""
    entries = []
    by_id = screening.reports.records
    for row in record_rows(screening, included=included):
        r = by_id[int(row["record_id"])].record
        entry: dict[str, Any] = {
            "type_of_reference": _RIS_TYPES.get(r.kind, "GEN"),
            "title": r.title,
        }
        if r.authors:
            entry["authors"] = list(r.authors)
        if r.year:
            entry["year"] = str(r.year)
        if r.journal:
            entry["secondary_title"] = r.journal
        if r.doi:
            entry["doi"] = r.doi
        if r.abstract:
            entry["abstract"] = r.abstract
        if r.url:
            entry["urls"] = [r.url]
        if r.source_id:
            entry["accession_number"] = r.source_id
        if r.nct_ids:
            entry["keywords"] = list(r.nct_ids)
        entry["notes"] = [
            f"metareview record {row['record_id']} ({r.source}); study {row['study_id'] or '-'}; "
            f"duplicate of {row['duplicate_of'] or '-'}; title/abstract "
            f"{row['title_abstract'] or '-'}; full text {row['full_text'] or '-'}"
        ]
        entries.append(entry)
    return str(rispy.dumps(entries))
