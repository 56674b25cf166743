"""A review moving between metareview and ASReview LAB with its screening decisions.

- :func:`import_labelled`: ``metareview import DIR FILE`` of a CSV or RIS file that carries
  ASReview's labels (:mod:`metareview.sources.asreview`) stores its records and, in the same
  transaction, each label as a title/abstract decision of one reviewer (``asreview`` unless
  named): 1 include, 0 exclude (no reason: none is needed at title/abstract), not seen no
  decision; ASReview's note becomes the decision's note. File rows that are one record (the same
  source id or content, or one report after deduplication) with different labels are conflicts:
  none of their labels is stored, and each is reported. A label equal to the reviewer's current
  decision is counted unchanged, as ``metareview decide`` does.
- :func:`asreview_csv`, :func:`asreview_ris`: ``metareview export DIR --format
  asreview-csv|asreview-ris`` writes one row per report (the record that stands for it) with its
  final decision at a stage as ASReview reads it back: CSV column ``included`` (1 include,
  0 exclude, empty otherwise: maybe, undecided, in conflict) and ``asreview_note``; RIS the note
  ``ASReview_relevant``/``ASReview_irrelevant``/``ASReview_not_seen`` and ``asreview_note:
  "..."``. CSV cells are neutralised for spreadsheets
  (:func:`~metareview.sources.cells.guard_cell`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rispy

from metareview.errors import InputError
from metareview.screening.decisions import DecisionInput, Screening, normalise_stage
from metareview.sources import asreview as conv
from metareview.sources.record import Record
from metareview.store.project import ImportResult, Project, Transaction, record_hash

__all__ = [
    "ASREVIEW_CSV_COLUMNS",
    "DEFAULT_REVIEWER",
    "LabelConflict",
    "LabelledImport",
    "asreview_csv",
    "asreview_ris",
    "asreview_rows",
    "import_labelled",
]

#: The reviewer an ASReview label is recorded under unless another is named.
DEFAULT_REVIEWER = "asreview"

#: Columns of ``export --format asreview-csv``: ASReview's record fields (title, abstract,
#: authors, keywords, year, doi, url, included), then what metareview needs to match records.
ASREVIEW_CSV_COLUMNS: tuple[str, ...] = (
    "title", "abstract", "authors", "keywords", "year", "doi", "url", "included",
    "asreview_note", "journal", "pmid", "id", "metareview_record_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelConflict:
    """File rows (1-based) that are one record but carry different labels."""

    record_id: int
    rows: tuple[int, ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class LabelledImport:
    """What :func:`import_labelled` did: the import, and the labels it carried.

    ``labelled_by`` says where the labels were read (``"column 'included'"``, ``"RIS notes"``)
    or is None for a file without ASReview labels. ``n_included``/``n_excluded``/
    ``n_unlabelled`` count file rows; ``n_decisions`` decisions stored, ``n_unchanged`` labels
    equal to the reviewer's current decision, ``conflicts`` rows left undecided.
    """

    result: ImportResult
    reviewer: str
    stage: str
    labelled_by: str | None = None
    n_included: int = 0
    n_excluded: int = 0
    n_unlabelled: int = 0
    n_decisions: int = 0
    n_unchanged: int = 0
    conflicts: list[LabelConflict] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "labelled_by": self.labelled_by,
            "reviewer": self.reviewer,
            "stage": self.stage,
            "included": self.n_included,
            "excluded": self.n_excluded,
            "unlabelled": self.n_unlabelled,
            "decisions_added": self.n_decisions,
            "decisions_unchanged": self.n_unchanged,
            "conflicts": [
                {"record_id": c.record_id, "rows": list(c.rows), "labels": list(c.labels)}
                for c in self.conflicts
            ],
        }

    def message(self) -> str:
        """One line for the terminal."""
        if self.labelled_by is None:
            return "no ASReview labels in the file"
        text = (
            f"ASReview labels ({self.labelled_by}): {self.n_included} included, "
            f"{self.n_excluded} excluded, {self.n_unlabelled} unlabelled; "
            f"{self.n_decisions} {self.stage} decisions stored as {self.reviewer!r}, "
            f"{self.n_unchanged} unchanged"
        )
        if self.conflicts:
            listed = "; ".join(
                f"record {c.record_id} (rows {', '.join(map(str, c.rows))}: labels "
                f"{', '.join(map(str, c.labels))})"
                for c in self.conflicts
            )
            text += f"; {len(self.conflicts)} conflicting duplicate(s) left undecided: {listed}"
        return text


@dataclass(slots=True)
class _Row:
    position: int
    source: str
    source_id: str | None
    content_hash: str
    label: int | None
    note: str | None


class _Collector:
    """Reads each record's ASReview label as the import streams (``observe``)."""

    def __init__(self, source: str | None, file: str) -> None:
        self.source = source
        self.file = file
        self.rows: list[_Row] = []
        self.column: str | None = None
        self.labelled_by: str | None = None
        self._csv_checked = False

    def __call__(self, record: Record) -> None:
        position = len(self.rows) + 1
        label: int | None = None
        note: str | None = None
        if record.raw_format == "csv":
            columns: dict[str, str] = dict(record.fields.get("columns") or {})
            if not self._csv_checked:
                self._csv_checked = True
                self.column = conv.csv_label_column(list(columns))
                if self.column is not None:
                    self.labelled_by = f"column {self.column!r}"
            if self.column is not None:
                try:
                    label = conv.csv_label(
                        columns.get(self.column, ""), column=self.column, file=self.file,
                        row=position,
                    )  # fmt: skip
                except InputError as exc:
                    raise InputError(
                        f"{exc.message}; if this column is not ASReview's label, import with "
                        "--no-labels", file=exc.file, row=exc.row, field=exc.field,
                    ) from None  # fmt: skip
                note = conv.csv_note(columns)
        elif record.raw_format == "ris":
            notes = [str(n) for n in record.fields.get("notes") or []]
            labelled, label = conv.ris_label(notes)
            if labelled:
                self.labelled_by = "RIS notes"
                note = conv.ris_note(notes)
        # the content hash (to find a record already stored) only where a label needs it
        self.rows.append(
            _Row(position, self.source or record.source, record.source_id,
                 record_hash(record) if label is not None else "", label, note)
        )  # fmt: skip


def _record_ids(tx: Transaction, import_id: int, rows: list[_Row]) -> dict[int, int]:
    """File position -> stored record id, for the labelled rows: the row this import added, or
    the record already in the project with the same identity (source and source id, or source
    and content hash)."""
    added = dict(
        tx.execute("SELECT position, id FROM records WHERE import_id = ?", (import_id,)).fetchall()
    )
    out: dict[int, int] = {}
    for row in rows:
        if row.label is None:
            continue
        rid = added.get(row.position)
        if rid is None and row.source_id is not None:
            hit = tx.execute(
                "SELECT id FROM records WHERE source = ? AND source_id = ?",
                (row.source, row.source_id),
            ).fetchone()
            rid = None if hit is None else int(hit[0])
        if rid is None:
            hit = tx.execute(
                "SELECT id FROM records WHERE source = ? AND content_hash = ?",
                (row.source, row.content_hash),
            ).fetchone()
            rid = None if hit is None else int(hit[0])
        if rid is None:  # cannot happen: a row not added is a duplicate of a stored one
            raise InputError(f"row {row.position}: its record was neither added nor found")
        out[row.position] = rid
    return out


def import_labelled(
    project: Project,
    path: str | Path,
    *,
    reviewer: str = DEFAULT_REVIEWER,
    stage: str = "title_abstract",
    source: str | None = None,
    format: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    column_map: dict[str, str] | None = None,
    actor: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LabelledImport:
    """Import a file and the ASReview labels it carries, in one transaction.

    Parameters
    ----------
    project
        An open, writable project.
    path, source, format, query, encoding, column_map, actor, progress
        As :meth:`metareview.store.Project.import_file`.
    reviewer
        The name ASReview's labels are recorded under.
    stage
        The screening stage of the labels (ASReview screens titles and abstracts).

    Returns
    -------
    LabelledImport
        The import and the label counts; a file without ASReview labels is imported as
        ``import`` always did (``labelled_by`` None).

    Raises
    ------
    InputError
        A label cell that is not 1, 0 or empty (naming file, row and column), a bad reviewer
        name; nothing is stored then.
    """
    from metareview.store.ingest import import_file

    stage = normalise_stage(stage)
    collect = _Collector(source, str(path))
    screening = Screening(project, actor=actor)
    summary: dict[str, Any] = {}

    def within(tx: Transaction, import_id: int) -> None:
        if collect.labelled_by is None:
            return
        ids = _record_ids(tx, import_id, collect.rows)
        screening.refresh()
        rep = screening.reports.representative
        by_report: dict[int, list[_Row]] = {}
        for row in collect.rows:
            if row.label is not None:
                by_report.setdefault(rep.get(ids[row.position], ids[row.position]), []).append(row)
        decisions: list[DecisionInput] = []
        conflicts: list[LabelConflict] = []
        for record_id, rows in sorted(by_report.items()):
            labels = {r.label for r in rows}
            if len(labels) > 1:
                conflicts.append(LabelConflict(
                    record_id, tuple(r.position for r in rows), tuple(int(r.label or 0)
                                                                      for r in rows)))
                continue
            notes = [r.note for r in rows if r.note]
            decisions.append(DecisionInput(
                record=record_id, stage=stage,
                decision="include" if rows[0].label == 1 else "exclude",
                reviewer=reviewer, note=notes[0] if notes else None,
            ))  # fmt: skip
        done = screening.record_decisions(tx, decisions, file=str(path))
        summary.update(n_decisions=done.n_added, n_unchanged=done.n_unchanged,
                       conflicts=conflicts)  # fmt: skip

    result = import_file(
        project, path, source=source, format=format, query=query, encoding=encoding,
        column_map=column_map, actor=actor, progress=progress, observe=collect, within=within,
    )  # fmt: skip
    screening.refresh()
    if result.already_imported:
        return LabelledImport(result=result, reviewer=reviewer, stage=stage)
    labels = [r.label for r in collect.rows]
    return LabelledImport(
        result=result,
        reviewer=reviewer,
        stage=stage,
        labelled_by=collect.labelled_by,
        n_included=labels.count(1) if collect.labelled_by else 0,
        n_excluded=labels.count(0) if collect.labelled_by else 0,
        n_unlabelled=labels.count(None) if collect.labelled_by else 0,
        **summary,
    )


# -- export ----------------------------------------------------------------------------------


def _label(decision: str | None) -> int | None:
    return 1 if decision == "include" else 0 if decision == "exclude" else None


def asreview_rows(screening: Screening, *, stage: str = "title_abstract") -> list[dict[str, Any]]:
    """One row per report (its representative record, in store order) with its final decision
    at ``stage`` as ASReview's label: ``included`` 1 / 0 / None, ``asreview_note`` the note of
    the decision (the latest reviewer's note when several agree)."""
    stage = normalise_stage(stage)
    reports = screening.reports
    final = screening.final_decisions(stage)
    notes: dict[int, str] = {}
    for d in screening.decisions(stage=stage):
        if d.note:
            notes[d.record_id] = d.note
    out = []
    for rid in sorted(reports.reports()):
        r = reports.records[rid].record
        f = final.get(rid)
        label = None if f is None or f.status != "final" else _label(f.decision)
        out.append({
            "title": r.title,
            "abstract": r.abstract,
            "authors": list(r.authors),
            "keywords": [*r.keywords, *r.mesh_terms],
            "year": r.year or "",
            "doi": r.doi or "",
            "url": r.url or "",
            "included": "" if label is None else label,
            "asreview_note": notes.get(rid, "") if label is not None else "",
            "journal": r.journal or "",
            "pmid": r.pmid or "",
            "id": r.source_id or "",
            "metareview_record_id": rid,
            "_label": label,
            "_source": r.source,
        })  # fmt: skip
    return out


def asreview_csv(screening: Screening, *, stage: str = "title_abstract") -> str:
    """``export --format asreview-csv``: :data:`ASREVIEW_CSV_COLUMNS`, lists joined by ``;``
    (ASReview's separator), every cell guarded for spreadsheets."""
    from metareview.screening.exports import csv_text

    return csv_text(ASREVIEW_CSV_COLUMNS, asreview_rows(screening, stage=stage))


def asreview_ris(screening: Screening, *, stage: str = "title_abstract") -> str:
    """``export --format asreview-ris``: RIS records whose first note is ASReview's label
    (``ASReview_relevant``, ``ASReview_irrelevant``, ``ASReview_not_seen``), then
    ``asreview_note: "<JSON>"`` and the metareview record; TY, TI, AU, PY, T2, DO, AB, UR, KW,
    ID (the source id) and AN (the PMID)."""
    entries = []
    for row in asreview_rows(screening, stage=stage):
        entry: dict[str, Any] = {"type_of_reference": "JOUR", "title": row["title"]}
        for key, tag in (("authors", "authors"), ("keywords", "keywords")):
            if row[key]:
                entry[tag] = list(row[key])
        for key, tag in (("year", "year"), ("journal", "secondary_title"), ("doi", "doi"),
                         ("abstract", "abstract"), ("id", "id"), ("pmid", "accession_number")):
            if row[key] not in ("", None):
                entry[tag] = str(row[key])
        if row["url"]:
            entry["urls"] = [row["url"]]
        notes = [conv.label_note(row["_label"])]
        if row["asreview_note"]:
            notes.append(f"asreview_note: {json.dumps(row['asreview_note'])}")
        notes.append(f"metareview record {row['metareview_record_id']} ({row['_source']})")
        entry["notes"] = notes
        entries.append(entry)
    return str(rispy.dumps(entries))
