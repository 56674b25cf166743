"""Risk of bias through forms: the template a reviewer fills in, its import, the assessments
as JSON, and the conflicts between two reviewers.

``metareview rob DIR --template FILE --tool rob2|robins-i`` writes one row per included study ×
protocol outcome × domain × signalling question (:func:`write_rob_template`), and one
``overall`` row per study and outcome for an override of the overall judgement. A domain's
override (for ROBINS-I: the reviewer's domain judgement, which the guidance does not compute)
and its justification go on any one row of that domain. ``--import FILE --reviewer NAME``
checks every row and every assessment's judgement and stores them in one transaction, or
nothing (:func:`import_rob`); with ``consensus=True`` it records the agreed assessment after
two reviewers (Cochrane Handbook v6.4, section 8.1.1; the same convention as ``metareview
extract --consensus``).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metareview.appraisal.assessment import judge
from metareview.appraisal.stored import (
    NewAssessment,
    RobConflict,
    StoredAnswer,
    assessments,
    record_assessments,
    rob_conflicts,
)
from metareview.appraisal.vocabulary import ANSWERS, OVERALL, TOOLS, Tool, find_tool
from metareview.errors import InputError, InputErrors
from metareview.extraction.stored import study_details
from metareview.review.store import _open_protocol, ensure_studies
from metareview.screening.decisions import Screening
from metareview.sources.cells import guard_cell, restore_cell
from metareview.store import Project

__all__ = [
    "ROB_COLUMNS",
    "RobImportSummary",
    "RobTemplateSummary",
    "import_rob",
    "import_rob_into",
    "rob_conflict_list",
    "rob_json",
    "write_rob_template",
]

#: The template's columns, in order (issue 12).
ROB_COLUMNS: tuple[str, ...] = (
    "study_id", "study", "outcome", "tool", "domain", "question", "text", "answer",
    "domain_override", "justification", "quote", "source_record", "reviewer",
)  # fmt: skip


@dataclass(frozen=True)
class RobTemplateSummary:
    path: Path
    n_rows: int
    n_studies: int
    tool: str


@dataclass(frozen=True)
class RobImportSummary:
    batch_id: int | None
    n_rows: int
    n_assessments: int
    reviewer: str
    basis: str


def _template_rows(
    tool: Tool, studies: Sequence[tuple[int, str]], outcomes: Sequence[str], reviewer: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sid, label in studies:
        for outcome in outcomes:
            common = {"study_id": sid, "study": label, "outcome": outcome, "tool": tool.name,
                      "reviewer": reviewer}  # fmt: skip
            for d in tool.domains:
                for q in d.questions:
                    text = q.text + (f" [if {q.asked_if}]" if q.asked_if else "")
                    rows.append({**common, "domain": d.id, "question": q.id, "text": text})
            words = ", ".join(tool.judgements)
            text = (f"Overall risk of bias: leave domain_override blank to keep the tool's rule, "
                    f"or give one of {words} with a justification")  # fmt: skip
            rows.append({**common, "domain": OVERALL, "question": "", "text": text})
    return rows


def _study_labels(project: Project, actor: str | None) -> dict[int, str]:
    """Included studies' store ids and labels as the review shows them (the study data's
    ``label`` when the extraction recorded one, else the store's)."""
    details = study_details(project)
    return {
        int(s.study_id): details.get(int(s.study_id), {}).get("label") or s.label
        for s in ensure_studies(project, actor=actor)
        if s.study_id is not None
    }


def write_rob_template(
    project_dir: str | Path,
    path: str | Path,
    *,
    tool: str,
    outcome: str | None = None,
    reviewer: str | None = None,
    actor: str | None = None,
) -> RobTemplateSummary:
    """Write the risk-of-bias form of the project's included studies to ``path`` (CSV, or a
    workbook when the name ends in ``.xlsx``).

    Raises
    ------
    InputError
        Unknown tool or outcome, no included study, or the file cannot be written.
    """
    found = find_tool(tool)
    if found is None:
        raise InputError(f"unknown tool {tool!r}: use {' or '.join(TOOLS)}", field="--tool")
    out = Path(path)
    with Project.open(project_dir, actor=actor) as project:
        protocol = _open_protocol(project)
        names = [o.name for o in protocol.outcomes]
        if outcome is not None and outcome not in names:
            raise InputError(
                f"no outcome {outcome!r} in the protocol (outcomes: {', '.join(names)})",
                field="--outcome",
            )
        studies = list(_study_labels(project, actor).items())
    if not studies:
        raise InputError(
            "no study is included at full text yet: screen first (metareview decide)",
            file=str(project_dir),
        )
    rows = _template_rows(found, studies, [outcome] if outcome else names, reviewer or "")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix.lower() == ".xlsx":
            _write_xlsx(tmp, found, rows)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(ROB_COLUMNS))
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: guard_cell(v) for k, v in row.items()})
        tmp.replace(out)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the form: {exc.strerror}", file=str(out)) from exc
    return RobTemplateSummary(out, len(rows), len(studies), found.name)


def _write_xlsx(path: Path, tool: Tool, rows: Sequence[Mapping[str, Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "definitions"
    first.append(["tool", tool.title])
    for code, meaning in ANSWERS.items():
        first.append([f"answer {code}", meaning])
    first.append(["judgements", ", ".join(tool.judgements)])
    for d in tool.domains:
        first.append([d.id, d.name])
    sheet = book.create_sheet(title="rob")
    sheet.append(list(ROB_COLUMNS))
    for row in rows:
        sheet.append([guard_cell(row.get(c, "")) for c in ROB_COLUMNS])
    book.save(path)


@dataclass(frozen=True)
class _Row:
    row: int
    cells: Mapping[str, str]


def _read(file: Path) -> list[_Row]:
    if not file.is_file():
        raise InputError("no such file", file=str(file))
    if file.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(file, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise InputError(f"not a readable .xlsx workbook: {exc}", file=str(file)) from exc
        try:
            sheet = book["rob"] if "rob" in book.sheetnames else book.worksheets[-1]
            it = sheet.iter_rows(values_only=True)
            header = [str(h or "").strip() for h in (next(it, None) or ())]
            _check_header(header, file)
            return [
                _Row(i, {h: restore_cell("" if v is None else str(v).strip())
                         for h, v in zip(header, values, strict=False) if h})
                for i, values in enumerate(it, start=1)
            ]  # fmt: skip
        finally:
            book.close()
    from metareview.sources.base import read_text

    reader = csv.reader(read_text(file).splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("the file is empty", file=str(file)) from None
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=str(file)) from exc
    _check_header(header, file)
    try:
        return [
            _Row(i, {h: restore_cell(c.strip()) for h, c in zip(header, cells, strict=False)})
            for i, cells in enumerate(reader, start=1)
            if any(c.strip() for c in cells)
        ]
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=str(file)) from exc


def _check_header(header: Sequence[str], file: Path) -> None:
    for name in header:
        if name not in ROB_COLUMNS:
            raise InputError(
                "unknown column (see 'metareview rob DIR --template')", file=str(file), field=name
            )
    for need in ("study_id", "outcome", "tool", "domain", "question", "answer"):
        if need not in header:
            raise InputError("missing column", file=str(file), field=need)


@dataclass
class _Pending:
    tool: Tool
    study_id: int
    outcome: str
    answers: dict[str, tuple[int, StoredAnswer]]
    overrides: dict[str, tuple[int, str, str]]
    rows: list[int]
    domain_rows: dict[str, int]
    question_rows: dict[str, int]


def import_rob(
    project_dir: str | Path,
    path: str | Path,
    *,
    reviewer: str,
    consensus: bool = False,
    actor: str | None = None,
) -> RobImportSummary:
    """Check and store a filled-in risk-of-bias form, all of it or nothing.

    Every row is checked first, then every assessment (study × outcome × tool with at least one
    answer or override) is judged (:func:`metareview.appraisal.assessment.judge`).

    Raises
    ------
    InputErrors
        Every problem, each naming the file, row and column: an unknown study, outcome, tool,
        domain, question, answer, judgement or record; a question given twice; a question the
        guidance's algorithm needs left blank; an override without justification. Nothing is
        stored then.
    """
    with Project.open(project_dir, actor=actor) as project:
        return import_rob_into(project, path, reviewer=reviewer, consensus=consensus,
                               actor=actor)  # fmt: skip


def import_rob_into(
    project: Project,
    path: str | Path,
    *,
    reviewer: str,
    consensus: bool = False,
    resolve_records: bool = True,
    actor: str | None = None,
) -> RobImportSummary:
    """:func:`import_rob` on an open project (the bundled review's folder build uses it).

    With ``resolve_records=False`` the ``source_record`` column is not read (a review folder
    built without its records keeps the quotes, not the records they come from)."""
    who = " ".join(reviewer.split())
    if not who:
        raise InputError("a reviewer name is required", field="--reviewer")
    file = Path(path)
    rows = _read(file)
    where = str(file)
    protocol = _open_protocol(project)
    outcomes = [o.name for o in protocol.outcomes]
    labels = _study_labels(project, actor)
    by_id = {str(sid): sid for sid in labels}
    by_label = {label: sid for sid, label in labels.items()}
    # the store's own key of a study (a bundled review's study data id, e.g. "pope2011")
    for sid, key in project.connection.execute("SELECT id, label FROM studies"):
        if key and int(sid) in labels:
            by_label.setdefault(str(key), int(sid))
    screening = Screening(project, protocol)
    problems: list[InputError] = []
    pending: dict[tuple[int, str, str], _Pending] = {}

    failed: set[tuple[int, str, str]] = set()
    current: list[tuple[int, str, str]] = []  # the assessment of the row being read

    def bad(message: str, row: int, column: str) -> None:
        problems.append(InputError(message, file=where, row=row, field=column))
        failed.update(current)

    for r in rows:
        c, n = r.cells, r.row
        current.clear()
        text_id = c.get("study_id", "")
        sid = by_id.get(text_id.strip()) or by_label.get(text_id.strip())
        if sid is None:
            bad(f"study {text_id!r} is not an included study of the project (included: "
                f"{', '.join(sorted(by_id))})", n, "study_id")  # fmt: skip
            continue
        outcome = c.get("outcome", "").strip()
        if outcome not in outcomes:
            bad(f"no outcome {outcome!r} in the protocol ({', '.join(outcomes)})", n,
                "outcome")  # fmt: skip
            continue
        tool = find_tool(c.get("tool", ""))
        if tool is None:
            bad(f"unknown tool {c.get('tool', '')!r}: use {' or '.join(TOOLS)}", n, "tool")
            continue
        current.append((sid, outcome, tool.name))
        given = c.get("reviewer", "").strip()
        if given and " ".join(given.split()) != who:
            bad(f"the form says reviewer {given!r} but --reviewer is {who!r}", n,
                "reviewer")  # fmt: skip
            continue
        domain = c.get("domain", "").strip()
        if domain != OVERALL and tool.domain(domain) is None:
            known = ", ".join([*(d.id for d in tool.domains), OVERALL])
            bad(f"{tool.name} has no domain {domain!r} (domains: {known})", n, "domain")
            continue
        qid = c.get("question", "").strip()
        answer = c.get("answer", "").strip().upper()
        if qid:
            found = tool.question(qid)
            if found is None or found[0].id != domain:
                bad(f"{tool.name} domain {domain} has no question {qid!r}", n, "question")
                continue
            q = found[1]
            if answer and answer not in q.answers:
                bad(f"answer {answer!r} is not allowed for question {qid} "
                    f"({', '.join(q.answers)})", n, "answer")  # fmt: skip
                continue
        elif answer:
            bad("an answer needs a question", n, "question")
            continue
        override = c.get("domain_override", "").strip().lower().replace(" ", "_")
        if override and override not in tool.judgements:
            bad(f"{override!r} is not a {tool.name} judgement "
                f"({', '.join(tool.judgements)})", n, "domain_override")  # fmt: skip
            continue
        why = c.get("justification", "").strip()
        record: int | None = None
        if resolve_records and c.get("source_record", "").strip():
            try:
                record = screening.resolve_record(c["source_record"])
            except InputError as exc:
                bad(exc.message, n, "source_record")
                continue
        key = (sid, outcome, tool.name)
        p = pending.setdefault(key, _Pending(tool, sid, outcome, {}, {}, [], {}, {}))
        p.domain_rows.setdefault(domain, n)
        if qid:
            p.question_rows.setdefault(qid, n)
        if qid and answer:
            if qid in p.answers:
                bad(f"question {qid} of this study, outcome and tool is also answered in row "
                    f"{p.answers[qid][0]}", n, "question")  # fmt: skip
                continue
            p.answers[qid] = (n, StoredAnswer(domain, qid, answer, c.get("quote") or None,
                                              record))  # fmt: skip
            p.rows.append(n)
        elif (c.get("quote") or record is not None) and qid:
            bad("a quote or source record needs an answer", n, "answer")
            continue
        if override or why:
            if domain in p.overrides and (override, why) != p.overrides[domain][1:]:
                bad(f"domain {domain} has another override in row {p.overrides[domain][0]}",
                    n, "domain_override")  # fmt: skip
                continue
            p.overrides[domain] = (n, override, why)
            p.rows.append(n)
    items: list[NewAssessment] = []
    for key, p in pending.items():
        if not p.rows:
            continue  # a blank assessment: nothing to store
        if key in failed:
            continue  # its rows have problems already: judged once they are fixed
        try:
            judged = judge(
                p.tool,
                {q: a.answer for q, (_, a) in p.answers.items()},
                {d: (o or None, w or None) for d, (_, o, w) in p.overrides.items()},
            )
        except InputErrors as exc:
            for e in exc.problems:
                f = e.field or ""
                if ":" in f:
                    column, domain = f.split(":", 1)
                    n = p.overrides.get(domain, (p.domain_rows.get(domain, p.rows[0]),))[0]
                    bad(e.message, n, column)
                else:
                    bad(e.message, p.question_rows.get(f, min(p.rows)), "answer")
            continue
        answers = tuple(a for _, a in sorted(p.answers.values(), key=lambda t: t[0]))
        items.append(NewAssessment(p.study_id, p.outcome, p.tool.name, answers, judged,
                                   labels[p.study_id]))  # fmt: skip
    if problems:
        raise InputErrors(problems)
    basis = "consensus" if consensus else "reviewer"
    if not items:
        return RobImportSummary(None, len(rows), 0, who, basis)
    batch = record_assessments(
        project, items, reviewer=who, basis=basis, file_name=file.name,
        sha256=hashlib.sha256(file.read_bytes()).hexdigest(), actor=actor,
    )  # fmt: skip
    return RobImportSummary(batch, len(rows), len(items), who, basis)


def rob_json(project_dir: str | Path) -> dict[str, Any]:
    """Every current assessment (each reviewer's and the consensus):
    ``{"assessments": [{"study_id", "study", "outcome", "tool", "reviewer", "domains": [...],
    "overall"}]}``."""
    with Project.open(project_dir) as project:
        return {"assessments": [a.to_dict() for a in assessments(project)]}


def rob_conflict_list(project_dir: str | Path) -> list[RobConflict]:
    """Where two reviewers' assessments differ and no consensus is recorded."""
    with Project.open(project_dir) as project:
        return rob_conflicts(project)
