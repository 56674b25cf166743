"""Extraction through forms: the template a reviewer fills in, its import, conflicts, exports.

``metareview extract DIR --template FILE`` writes one row per included study × protocol outcome
× group (:func:`write_template`; ``intervention``/``comparator`` for comparative measures,
``single`` for single-group ones, ``contrast`` for an outcome pooled from reported estimates),
pre-filled with what the store already holds (values from registry results to confirm, or the
reviewer's own earlier values). ``--import FILE --reviewer NAME`` checks every row
(:func:`metareview.extraction.table.parse_rows`), resolves studies and source records, and stores
the values in one transaction, or nothing (:func:`import_extraction`). Two reviewers extract
independently; :func:`extraction_conflicts` lists where they disagree, and an import with
``consensus=True`` records the agreed values (Cochrane Handbook v6.4, section 5.5.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metareview.effects.measures import find_measure
from metareview.errors import InputError, InputErrors
from metareview.extraction.assemble import check_values
from metareview.extraction.stored import (
    Conflict,
    conflicts,
    current_values,
    effective_values,
    extraction_sources,
    record_values,
)
from metareview.extraction.table import (
    CHARACTERISTICS,
    TEMPLATE_COLUMNS,
    TEXT_COLUMNS,
    ParsedRow,
    TableRow,
    parse_rows,
    read_table,
    write_csv,
    write_xlsx,
)
from metareview.extraction.values import NUMBER_FIELDS, ExtractedValue, ValueKey
from metareview.protocol import Protocol
from metareview.review.store import (
    IncludedStudy,
    _open_protocol,
    ensure_studies,
    included_studies,
)
from metareview.screening.decisions import Screening
from metareview.store import Project, StoredRecord

__all__ = [
    "ImportSummary",
    "TemplateSummary",
    "export_extraction",
    "extraction_conflicts",
    "groups_for",
    "import_extraction",
    "import_extraction_rows",
    "write_template",
]

def groups_for(measure: str) -> tuple[str, ...]:
    """The template's groups for an outcome measured with ``measure``: the two arms of a
    two-group measure, the one group of a single-group measure, else a reported contrast
    (:attr:`metareview.effects.measures.MeasureInfo.groups`)."""
    info = find_measure(measure)
    groups = 0 if info is None else info.groups
    if groups == 2:
        return ("intervention", "comparator")
    if groups == 1:
        return ("single",)
    return ("contrast",)


@dataclass(frozen=True)
class TemplateSummary:
    path: Path
    n_rows: int
    n_studies: int
    n_prefilled: int


@dataclass(frozen=True)
class ImportSummary:
    batch_id: int
    n_rows: int
    n_values: int
    studies: tuple[str, ...]
    reviewer: str
    basis: str


def _rows_from_values(
    values: Sequence[ExtractedValue], labels: Mapping[int, str], citations: Mapping[int, str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Template rows pre-filled with stored values, one per row key (and per provenance)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for v in values:
        k = v.key
        outcome = k.outcome or CHARACTERISTICS
        prov = (v.status, v.source_record, v.source_ref)
        key = (k.study_id, outcome, k.group, k.arm, k.timepoint, k.scenario, prov)
        row = out.setdefault(
            key,
            {
                "study_id": k.study_id,
                "study": labels.get(k.study_id, ""),
                "outcome": outcome,
                "group": k.group,
                "arm": k.arm,
                "timepoint": k.timepoint,
                "scenario": "" if k.scenario == "main" else k.scenario,
                "status": v.status,
                "source_record": citations.get(v.source_record or -1, v.source_record or ""),
                "source_ref": v.source_ref or "",
                "location": "",
                "quote": "",
                "note": v.note or "",
                "why": v.why or "",
            },
        )
        if k.field in TEMPLATE_COLUMNS:
            row[k.field] = v.text if v.text is not None else _plain(v.value)
        if v.sensitivity:
            row["sensitivity"] = ";".join(_plain(x) for x in v.sensitivity)
        for col, text in (("location", v.location), ("quote", v.quote or "")):
            parts = [p for p in str(row[col]).split(" | ") if p]
            if text and text not in parts:
                row[col] = " | ".join([*parts, text])
    return out


def _plain(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def record_ref(stored: StoredRecord) -> str:
    """How a form names a record so that ``--import`` finds it again: ``nct:`` for a registry
    record, ``pmid:``, ``doi:``, else the record id."""
    r = stored.record
    if r.kind == "registry" and r.nct_ids:
        return f"nct:{r.nct_ids[0]}"
    if r.pmid:
        return f"pmid:{r.pmid}"
    if r.doi:
        return f"doi:{r.doi}"
    return str(stored.id)


def _source_ids(project: Project) -> dict[int, str]:
    return {s.id: record_ref(s) for s in project.records()}


def _template_rows(
    project: Project, protocol: Protocol, studies: Sequence[IncludedStudy], reviewer: str | None
) -> tuple[list[dict[str, Any]], int]:
    if reviewer:
        stored = [
            v for v in current_values(project) if v.reviewer == reviewer and v.basis == "reviewer"
        ]
    else:
        stored = list(effective_values(project).values)
    labels = {s.study_id: s.label for s in studies if s.study_id is not None}
    prefilled = _rows_from_values(
        [v for v in stored if v.key.study_id in labels], labels, _source_ids(project)
    )
    rows: list[dict[str, Any]] = []
    for study in studies:
        assert study.study_id is not None
        targets: list[tuple[str, tuple[str, ...]]] = [(CHARACTERISTICS, ("study",))]
        targets += [(o.name, groups_for(o.measure)) for o in protocol.outcomes]
        for outcome, groups in targets:
            mine = [r for k, r in prefilled.items() if k[0] == study.study_id and k[1] == outcome]
            have = {r["group"] for r in mine}
            rows.extend(mine)
            for group in groups:
                if group not in have:
                    rows.append(
                        {
                            "study_id": study.study_id,
                            "study": study.label,
                            "outcome": outcome,
                            "group": group,
                        }
                    )
    return rows, len(prefilled)


def _definitions(protocol: Protocol) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [
        ("review", protocol.title),
        ("population", protocol.question.population),
        ("intervention", protocol.question.intervention),
        ("comparator", protocol.question.comparator or ""),
    ]
    for o in protocol.outcomes:
        window = f", {o.time_window}" if o.time_window else ""
        out.append(
            (f"outcome {o.name}",
             f"{o.description or o.name} ({o.measure}, {o.better} is better{window}); "
             f"groups: {', '.join(groups_for(o.measure))}")
        )  # fmt: skip
    out.append(("", ""))
    for name, meaning in NUMBER_FIELDS.items():
        out.append((name, meaning))
    out += [
        ("status", "reported (printed in the source) or assumed (not reported: say why)"),
        ("source_record", "the record the number is read from: record id, pmid:, nct: or doi:"),
        ("source_ref", "instead of a record: the key of a cited source the project holds"),
        ("location", "where in the source: table, page, sentence or JSON path"),
        ("quote", "the few words that pin the number down"),
        ("timepoint", "'baseline' for values before treatment; the follow-up time otherwise"),
        ("scenario", "empty for the main analysis; a name for alternative data (sensitivity)"),
        ("sensitivity", "for an assumed number: other values to try, separated by ';'"),
    ]
    return out


def write_template(
    project_dir: str | Path,
    path: str | Path,
    *,
    format: str | None = None,
    reviewer: str | None = None,
    actor: str | None = None,
) -> TemplateSummary:
    """Write the extraction form of the project's included studies to ``path``.

    ``format`` is ``csv`` or ``xlsx`` (default: from the file name). With ``reviewer`` the rows
    are pre-filled with that reviewer's values, otherwise with the values the analysis would use
    (registry values to confirm among them).

    Raises
    ------
    InputError
        No study is included yet, or the format is unknown.
    """
    out = Path(path)
    fmt = (format or out.suffix.lstrip(".") or "csv").lower()
    if fmt not in ("csv", "xlsx"):
        raise InputError(f"format must be csv or xlsx, got {fmt!r}", field="--format")
    with Project.open(project_dir, actor=actor) as project:
        protocol = _open_protocol(project)
        studies = ensure_studies(project, actor=actor)
        if not studies:
            raise InputError(
                "no study is included at full text yet: screen first (metareview decide)",
                file=str(project.path),
            )
        rows, n_prefilled = _template_rows(project, protocol, studies, reviewer)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "csv":
            write_csv(tmp, rows)
        else:
            sheets: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                sheets.setdefault(str(row["outcome"]), []).append(row)
            write_xlsx(tmp, sheets, _definitions(protocol))
        tmp.replace(out)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the form: {exc.strerror}", file=str(out)) from exc
    return TemplateSummary(out, len(rows), len(studies), n_prefilled)


def _resolve_study(text: str, studies: Mapping[str, int]) -> int | None:
    return studies.get(text.strip())


def import_extraction(
    project_dir: str | Path,
    path: str | Path,
    *,
    reviewer: str,
    consensus: bool = False,
    actor: str | None = None,
) -> ImportSummary:
    """Check and store a filled-in extraction form (CSV or ``.xlsx``), all rows or none.

    Raises
    ------
    InputErrors
        Every problem found, each naming the file, sheet, row and column: an unknown study,
        outcome, group or source record, a value that is not a number, a count that is not a
        whole number, events above n, a reported number without source or location, an assumed
        one without its reason. Nothing is stored then.
    """
    file = Path(path)
    rows = read_table(file)
    return import_extraction_rows(
        project_dir,
        rows,
        file=str(file),
        file_name=file.name,
        sha256=hashlib.sha256(file.read_bytes()).hexdigest(),
        reviewer=reviewer,
        consensus=consensus,
        actor=actor,
    )


def import_extraction_rows(
    project_dir: str | Path,
    rows: Sequence[TableRow],
    *,
    file: str,
    reviewer: str,
    file_name: str | None = None,
    sha256: str | None = None,
    consensus: bool = False,
    actor: str | None = None,
) -> ImportSummary:
    """Check and store rows of the extraction form (as :func:`read_table` reads them, or as a
    web form posts them), all rows or none: the checks of :func:`import_extraction`.

    ``file`` names where the rows come from in error messages; ``file_name`` and ``sha256``
    are kept with the batch (default: ``file`` and the digest of the rows' cells).

    Raises
    ------
    InputErrors
        Every problem found, each naming ``file``, sheet, row and column.
    """
    if sha256 is None:
        digest = hashlib.sha256()
        for r in rows:
            digest.update(repr((r.sheet, r.row, sorted(r.cells.items()))).encode("utf-8"))
        sha256 = digest.hexdigest()
    with Project.open(project_dir, actor=actor) as project:
        protocol = _open_protocol(project)
        parsed = parse_rows(rows, file=file, outcomes=[o.name for o in protocol.outcomes])
        studies = ensure_studies(project, actor=actor)
        by_id = {str(s.study_id): int(s.study_id) for s in studies if s.study_id is not None}
        by_label = {s.label: int(s.study_id) for s in studies if s.study_id is not None}
        screening = Screening(project, protocol)
        problems: list[InputError] = []
        values: list[ExtractedValue] = []
        details: dict[int, dict[str, str]] = {}
        used: set[int] = set()
        seen: dict[ValueKey, tuple[str | None, int]] = {}
        source_keys = {s.key for s in extraction_sources(project)}
        for row in parsed:
            w = row.where
            where = file if w.sheet is None else f"{file}, sheet {w.sheet!r}"
            sid = _resolve_study(row.study_id, by_id) or _resolve_study(row.study_id, by_label)
            if sid is None:
                problems.append(
                    InputError(
                        f"study {row.study_id!r} is not an included study of the project "
                        f"(included: {', '.join(sorted(by_id))})",
                        file=where, row=w.row, field="study_id",
                    )
                )  # fmt: skip
                continue
            if row.source_ref and row.source_ref not in source_keys:
                problems.append(
                    InputError(
                        f"no cited source {row.source_ref!r} in the project (known: "
                        f"{', '.join(sorted(source_keys)) or 'none'})",
                        file=where, row=w.row, field="source_ref",
                    )
                )  # fmt: skip
                continue
            record: int | None = None
            if row.source_record:
                try:
                    record = screening.resolve_record(row.source_record)
                except InputError as exc:
                    problems.append(
                        InputError(exc.message, file=where, row=w.row, field="source_record")
                    )
                    continue
            for v in _row_values(row, sid, record):
                if v.key in seen and seen[v.key] != (w.sheet, w.row):
                    sheet, first = seen[v.key]
                    other = f"row {first}" if sheet == w.sheet else f"sheet {sheet!r}, row {first}"
                    problems.append(
                        InputError(
                            f"{v.key.field} of this study, outcome, group, arm and time point "
                            f"is also given in {other}",
                            file=where, row=w.row, field=v.key.field,
                        )
                    )  # fmt: skip
                seen.setdefault(v.key, (w.sheet, w.row))
                values.append(v)
            if row.outcome == CHARACTERISTICS:
                for col in ("design", "population"):
                    if col in row.texts:
                        details.setdefault(sid, {})[col] = row.texts[col]
            used.add(sid)
        problems += _measure_problems(project, protocol, values, seen, file, studies)
        if problems:
            raise InputErrors(problems)
        basis = "consensus" if consensus else "reviewer"
        batch = record_values(
            project,
            values,
            reviewer=reviewer,
            basis=basis,
            file_name=file_name or file,
            sha256=sha256,
            details=details,
            actor=actor,
        )
        names = {s.study_id: s.label for s in studies}
        return ImportSummary(
            batch, len(parsed), len(values), tuple(names[s] for s in sorted(used)), reviewer,
            basis,
        )  # fmt: skip


def _measure_problems(
    project: Project,
    protocol: Protocol,
    values: Sequence[ExtractedValue],
    rows: Mapping[ValueKey, tuple[str | None, int]],
    file: str,
    studies: Sequence[IncludedStudy],
) -> list[InputError]:
    """What the imported values lack for their outcome's single-group measure (events without
    person-time, a mean without n, the log of a mean <= 0, ...:
    :func:`metareview.extraction.assemble.check_values`), each located at the form's row and
    column and naming the study; the values already stored count as given."""
    mine = {v.key: v for v in values}
    outcomes = {v.key.outcome for v in values}
    merged = {v.key: v for v in current_values(project) if v.key.outcome in outcomes}
    merged.update(mine)
    labels = {s.study_id: s.label for s in studies}
    out: list[InputError] = []
    for o in protocol.outcomes:
        if o.name not in outcomes:
            continue
        these = [v for v in merged.values() if v.key.outcome == o.name]
        for p in check_values(o.measure, these, lambda v: mine.get(v.key) is v):
            sheet, row = rows[p.value.key]
            out.append(
                InputError(
                    f"study {labels.get(p.value.key.study_id, p.value.key.study_id)}, outcome "
                    f"{o.name}: {p.message}",
                    file=file if sheet is None else f"{file}, sheet {sheet!r}",
                    row=row, field=p.field,
                )
            )  # fmt: skip
    return out


def _row_values(row: ParsedRow, study_id: int, record: int | None) -> list[ExtractedValue]:
    outcome = "" if row.outcome == CHARACTERISTICS else row.outcome
    out = []
    common = {
        "status": row.status,
        "why": row.why if row.status == "assumed" else None,
        "sensitivity": row.sensitivity,
        "source_record": record,
        "source_ref": row.source_ref or None,
        "location": row.location,
        "quote": row.quote,
        "note": row.note,
    }
    for fld, value in row.numbers.items():
        key = ValueKey(study_id, outcome, row.group, row.arm, row.timepoint, row.scenario, fld)
        out.append(ExtractedValue(key=key, value=value, **common))  # type: ignore[arg-type]
    for fld in TEXT_COLUMNS:
        if fld in row.texts and fld in ("intervention", "dose", "duration"):
            key = ValueKey(study_id, outcome, row.group, row.arm, row.timepoint, row.scenario, fld)
            out.append(ExtractedValue(key=key, value=None, text=row.texts[fld], **common))  # type: ignore[arg-type]
    return out


#: Who the registry's pre-filled values are recorded as extracted by.
REGISTRY_REVIEWER = "ClinicalTrials.gov results"


@dataclass(frozen=True)
class RegistrySummary:
    """What ``extract --from-registry`` stored: values per study, and what it left out."""

    batch_id: int | None
    n_values: int
    studies: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "values": self.n_values,
            "studies": list(self.studies),
            "warnings": list(self.warnings),
        }


def fill_from_registry(project_dir: str | Path, *, actor: str | None = None) -> RegistrySummary:
    """Pre-fill values from the posted results of every included study's ClinicalTrials.gov
    record (:func:`metareview.extraction.registry.registry_values`): outcome measures per arm
    with their dispersion, withdrawals due to adverse events, participants with serious adverse
    events. Each value is ``reported``, its location the JSON path in the record, its quote the
    registry's wording, its basis ``registry``: the analysis uses it only until a reviewer
    confirms or replaces it (``--template`` pre-fills the form with it).
    """
    import json

    from metareview.extraction.registry import registry_values

    values: list[ExtractedValue] = []
    warnings: list[str] = []
    studies_used: list[str] = []
    with Project.open(project_dir, actor=actor) as project:
        protocol = _open_protocol(project)
        studies = ensure_studies(project, actor=actor)
        for study in studies:
            assert study.study_id is not None
            for stored in study.records:
                rec = stored.record
                if rec.raw_format != "ctgov-json":
                    continue
                try:
                    doc = json.loads(rec.raw)
                except ValueError:
                    warnings.append(f"record {stored.id}: its stored payload is not JSON")
                    continue
                found = registry_values(doc, protocol.outcomes)
                warnings += [f"record {stored.id} ({rec.source_id}): {w}" for w in found.warnings]
                if not found.values:
                    continue
                studies_used.append(study.label)
                for v in found.values:
                    key = ValueKey(study.study_id, v.outcome, v.group, v.arm, v.timepoint,
                                   "main", v.field)  # fmt: skip
                    values.append(
                        ExtractedValue(
                            key=key,
                            value=v.value,
                            status="reported",
                            source_record=stored.id,
                            location=v.location,
                            quote=v.quote,
                        )
                    )
        batch = None
        if values:
            batch = record_values(
                project, values, reviewer=REGISTRY_REVIEWER, basis="registry",
                file_name="ClinicalTrials.gov resultsSection", actor=actor,
            )  # fmt: skip
    return RegistrySummary(batch, len(values), tuple(dict.fromkeys(studies_used)), tuple(warnings))


def extraction_conflicts(project_dir: str | Path) -> list[Conflict]:
    """Values two reviewers extracted differently, with no consensus recorded."""
    with Project.open(project_dir, read_only=True) as project:
        return conflicts(project)


#: Columns of ``metareview export DIR --extraction``: one row per value with its provenance.
EXPORT_COLUMNS: tuple[str, ...] = (
    "value_id", "study_id", "study", "outcome", "group", "arm", "timepoint", "scenario", "field",
    "value", "status", "why", "sensitivity", "source_record", "source_id", "source_ref",
    "location", "quote", "note", "reviewer", "basis", "extracted_at",
)  # fmt: skip


def export_extraction(project_dir: str | Path) -> list[dict[str, Any]]:
    """Every current value, tidy: one row per value with its provenance and its study's label."""
    with Project.open(project_dir, read_only=True) as project:
        labels = {
            int(i): str(lab or "") for i, lab in project.connection.execute(
                "SELECT id, label FROM studies"
            )
        }  # fmt: skip
        # studies linked by dedupe have no stored label: use the one the review shows
        labels.update({s.study_id: s.label for s in included_studies(project)
                       if s.study_id is not None})  # fmt: skip
        ids = _source_ids(project)
        out = []
        for v in current_values(project):
            row = v.to_dict()
            row["study"] = labels.get(v.key.study_id, "")
            row["source_id"] = ids.get(v.source_record or -1, "")
            out.append(row)
        return out
