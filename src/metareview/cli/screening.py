"""Screening commands: ``protocol``, ``screen``, ``decide``, ``export``, ``conflicts``,
``resolve``, ``retrieval`` and ``prisma``.

All are thin: they call :class:`metareview.screening.decisions.Screening` and the PRISMA
functions. Every command that opens a project first records a changed protocol file
(:func:`metareview.screening.amendments.sync_protocol`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.screening.decisions import STAGES, DecisionInput, Screening, normalise_stage
from metareview.screening.exports import csv_text
from metareview.screening.ranking import DEFAULT_MODEL, PRESETS
from metareview.screening.stopping import DEFAULT_RUN, DEFAULT_SWITCH
from metareview.sources.base import read_text
from metareview.sources.cells import restore_cell

__all__ = [
    "conflicts",
    "decide",
    "export",
    "prisma",
    "protocol",
    "read_decisions_csv",
    "remove_record",
    "resolve",
    "retrieval",
    "screen",
]

_DirArg = Annotated[Path, typer.Argument(help="The project folder.")]
_JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]

#: Accepted header names of a decisions CSV, by field.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "record": ("record_id", "record", "id"),
    "source_id": ("source_id",),
    "stage": ("stage",),
    "decision": ("decision",),
    "reason": ("reason", "exclusion_reason", "code"),
    "reviewer": ("reviewer",),
    "note": ("note", "notes"),
}


def read_decisions_csv(path: Path) -> list[DecisionInput]:
    """Read a decisions CSV (columns record_id, stage, decision, reason, reviewer[, note]).

    Raises
    ------
    InputError
        Missing file or required column, or an empty required cell (names file, row, column).
    """
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    where: dict[str, str] = {}
    for field, names in _COLUMNS.items():
        for name in names:
            if name in header:
                where[field] = (reader.fieldnames or [])[header.index(name)]
                break
    for required in ("record", "stage", "decision", "reviewer"):
        if required == "record" and "source_id" in where:
            continue
        if required not in where:
            raise InputError(
                f"missing column {_COLUMNS[required][0]!r} (the file needs record_id or "
                "source_id, stage, decision, reason, reviewer)",
                file=str(path),
            )
    rows: list[DecisionInput] = []
    for n, row in enumerate(reader, start=1):
        values = {f: restore_cell((row.get(col) or "").strip()) for f, col in where.items()}
        if not values.get("record") and values.get("source_id"):
            sid = values["source_id"]
            known = sid.split(":", 1)[0].lower() in ("pmid", "doi", "nct")
            values["record"] = sid if known else f"source_id:{sid}"
        for required in ("record", "stage", "decision", "reviewer"):
            if not values.get(required):
                column = "record_id or source_id" if required == "record" else required
                raise InputError("empty cell", file=str(path), row=n, field=column)
        rows.append(
            DecisionInput(
                record=values["record"],
                stage=values["stage"],
                decision=values["decision"],
                reviewer=values["reviewer"],
                reason=values.get("reason") or None,
                note=values.get("note") or None,
            )
        )
    return rows


@app.command("protocol")
def protocol(
    directory: _DirArg,
    replace: Annotated[
        Path | None,
        typer.Option("--replace", help="Validate this file and make it the project's protocol."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why the protocol changed.")] = None,
    as_json: _JsonOpt = False,
) -> None:
    """Print the project's protocol and its amendments (or replace it with --replace)."""
    from metareview.screening.amendments import amendments, replace_protocol

    with Screening.open(directory) as s:
        if replace is not None:
            version = replace_protocol(s.project, replace, note=note)
            s = Screening(s.project)
            if version is None:
                typer.echo("The protocol is unchanged.", err=True)
        if s.protocol is None:
            raise InputError(f"{directory}: the project has no protocol (init with --protocol)")
        amended = amendments(s.project)
        if as_json:
            data = {
                "protocol": s.protocol.model_dump(mode="json"),
                "amendments": [
                    {
                        "seen_at": a.seen_at,
                        "seen_by": a.seen_by,
                        "note": a.note,
                        "changes": a.changes,
                    }
                    for a in amended
                ],
            }
            typer.echo(json.dumps(data, ensure_ascii=False))
            return
        typer.echo(s.protocol.to_yaml().rstrip())
        if amended:
            typer.echo("\n# Amendments after screening started:")
            for a in amended:
                typer.echo(f"# {a.seen_at} by {a.seen_by}" + (f": {a.note}" if a.note else ""))
                for change in a.changes:
                    typer.echo(f"#   {change['field']}: {change['old']!r} -> {change['new']!r}")


@app.command("screen")
def screen(
    directory: _DirArg,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Your name (default: $METAREVIEW_ACTOR).")
    ] = None,
    stage: Annotated[
        str, typer.Option("--stage", help="title_abstract (default) or full_text.")
    ] = "title_abstract",
    model: Annotated[
        str, typer.Option("--model", help=f"Ranker preset: {', '.join(PRESETS)}.")
    ] = DEFAULT_MODEL,
    seed: Annotated[int, typer.Option("--seed", help="Ranker seed.")] = 0,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            help="First screen N unscreened records drawn at random: the estimate of relevant "
            "records left then comes from them, with a 95% interval, and so does the "
            "sample stopping rule.",
        ),
    ] = None,
    stop_target: Annotated[
        float, typer.Option("--stop-target", help="Target recall of the statistical stopping "
                            "rules shown (hypergeometric; sample).")
    ] = 0.95,
    stop_confidence: Annotated[
        float, typer.Option("--stop-confidence", help="Their confidence.")
    ] = 0.95,
    stop_run: Annotated[
        str, typer.Option("--stop-run", help="The irrelevant-run heuristic shown (no recall "
                          "guarantee): records in a row, or a share of the records ('5%').")
    ] = DEFAULT_RUN,
    stop_late: Annotated[
        bool, typer.Option("--stop-late", help="Callaghan & Müller-Hansen's rule: once "
                           "--stop-switch fires, show the unscreened records in a random order "
                           "(kept in the project) and test recall on them after each decision.")
    ] = False,
    stop_switch: Annotated[
        str, typer.Option("--stop-switch", help="When --stop-late switches: run:N or run:X% "
                          "(irrelevant in a row), screened:N or screened:X%.")
    ] = DEFAULT_SWITCH,
) -> None:
    """Screen records one at a time in the ranker's order (interactive)."""
    from metareview.screening.screener import ScreeningSession, run_screener
    from metareview.store.project import default_actor

    with Screening.open(directory) as s:
        session = ScreeningSession(
            s, reviewer=reviewer or default_actor(), stage=stage, model=model, seed=seed,
            sample=sample, stop_target=stop_target, stop_confidence=stop_confidence,
            stop_run=stop_run, stop_late=stop_switch if stop_late else None,
        )
        run_screener(session)


@app.command("decide")
def decide(
    directory: _DirArg,
    file: Annotated[Path, typer.Argument(help="CSV: record_id, stage, decision, reason, reviewer")],
    as_json: _JsonOpt = False,
) -> None:
    """Import decisions from a CSV file, all in one transaction (all or nothing)."""
    rows = read_decisions_csv(file)
    with Screening.open(directory) as s:
        result = s.decide_many(rows, file=str(file))
    if as_json:
        typer.echo(
            json.dumps(
                {"rows": result.n_rows, "added": result.n_added, "unchanged": result.n_unchanged}
            )
        )
        return
    typer.echo(
        f"{file}: {result.n_rows} decisions read, {result.n_added} recorded, "
        f"{result.n_unchanged} unchanged"
    )


@app.command("export")
def export(
    directory: _DirArg,
    records: Annotated[
        bool, typer.Option("--records", help="Export the records (CSV or RIS, see --format).")
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv or ris (ris with --records); asreview-csv or asreview-ris: the reports "
            "with their title/abstract decisions as ASReview labels.",
        ),
    ] = "csv",
    included: Annotated[
        bool, typer.Option("--included", help="With --records: only reports of included studies.")
    ] = False,
    decisions: Annotated[
        bool, typer.Option("--decisions", help="Export the screening decisions as CSV.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: stdout).")
    ] = None,
    include_undone: Annotated[
        bool, typer.Option("--all", help="Include undone decisions (the full history).")
    ] = False,
    extraction: Annotated[
        bool,
        typer.Option("--extraction", help="Export the extracted values as tidy CSV (one per row)."),
    ] = False,
    r_script: Annotated[
        Path | None,
        typer.Option(
            "--r-script",
            help="Write an R script (and FILE.csv beside it) that rebuilds every pooled "
            "analysis with metafor.",
        ),
    ] = None,
) -> None:
    """Export project data: --records, --decisions, --extraction (CSV), --r-script FILE.R, or
    --format asreview-csv|asreview-ris (records labelled for ASReview LAB)."""
    if fmt in ("asreview-csv", "asreview-ris"):
        if decisions or extraction or r_script is not None or included:
            raise InputError(
                f"--format {fmt} exports the records with their labels; it does not go with "
                "--decisions, --extraction, --r-script or --included",
                field="--format",
            )
        from metareview.screening.asreview import asreview_csv, asreview_ris

        with Screening.open(directory, read_only=True) as s:
            _write_out(asreview_csv(s) if fmt == "asreview-csv" else asreview_ris(s), out)
        return
    if sum([records, decisions, extraction, r_script is not None]) != 1:
        raise InputError(
            "say what to export: one of --records, --decisions, --extraction, --r-script FILE"
        )
    if fmt not in ("csv", "ris") or (fmt == "ris" and not records):
        raise InputError(
            "--format is csv, ris with --records, asreview-csv or asreview-ris", field="--format"
        )
    if included and not records:
        raise InputError("--included goes with --records", field="--included")
    if records:
        from metareview.screening.exports import RECORD_COLUMNS, record_rows, records_ris

        with Screening.open(directory, read_only=True) as s:
            if fmt == "ris":
                _write_out(records_ris(s, included=included), out)
                return
            _write_out(csv_text(RECORD_COLUMNS, record_rows(s, included=included)), out)
        return
    if r_script is not None:
        from metareview.report.rscript import write_r_script
        from metareview.review.store import analyse_project

        script, data = write_r_script(analyse_project(directory), r_script)
        typer.echo(f"Wrote {script} and {data}; run: Rscript {script}", err=True)
        return
    if extraction:
        from metareview.review.extract import EXPORT_COLUMNS, export_extraction

        _write_out(csv_text(EXPORT_COLUMNS, export_extraction(directory)), out)
        return
    from metareview.screening.exports import DECISION_COLUMNS, decision_rows

    with Screening.open(directory, read_only=True) as s:
        text = csv_text(DECISION_COLUMNS, decision_rows(s, include_undone=include_undone))
    _write_out(text, out)


def _write_out(text: str, out: Path | None) -> None:
    """Print ``text``, or write it to ``out`` atomically."""
    if out is None:
        sys.stdout.write(text)
        return
    if out.is_dir():
        raise InputError("is a folder; give a file name for the CSV", file=str(out))
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc.strerror}", file=str(out)) from exc
    typer.echo(f"Wrote {out}", err=True)


@app.command("conflicts")
def conflicts(
    directory: _DirArg,
    stage: Annotated[str | None, typer.Option("--stage", help="One stage (default: both).")] = None,
    reviewers: Annotated[
        list[str] | None,
        typer.Option("--reviewer", help="The two reviewers to compare (give it twice)."),
    ] = None,
    as_json: _JsonOpt = False,
) -> None:
    """Dual screening: conflicts to resolve and agreement (Cohen's kappa, percent) per stage."""
    stages = [normalise_stage(stage)] if stage else list(STAGES)
    if reviewers is not None and len(reviewers) != 2:
        raise InputError("give --reviewer exactly twice (two reviewers to compare)")
    out: dict[str, Any] = {}
    with Screening.open(directory, read_only=True) as s:
        for st in stages:
            listed = s.conflicts(st)
            try:
                agree: dict[str, Any] | None = s.agreement(st, reviewers).to_dict()
            except InputError as exc:
                if reviewers is not None:
                    raise
                agree = {"note": str(exc)}
            pairs = s.reviewer_pairs(st)
            out[st] = {
                "agreement": agree,
                "reviewers": list(reviewers)
                if reviewers
                else (list(pairs[0][:2]) if pairs else []),
                "conflicts": [
                    {
                        "record_id": rid,
                        "title": s.reports.records[rid].record.title,
                        "decisions": [
                            {
                                "reviewer": d.reviewer,
                                "decision": d.decision,
                                "reason": d.reason,
                                "note": d.note,
                            }
                            for d in ds
                        ],
                    }
                    for rid, ds in listed
                ],
            }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    console = Console()
    for st, data in out.items():
        agree = data["agreement"]
        if agree and "kappa" in agree:
            kappa = "n/a" if agree["kappa"] is None else f"{agree['kappa']:.3f}"
            ci = (
                ""
                if agree["ci_lb"] is None
                else f" ({agree['level']:g}% CI {agree['ci_lb']:.3f} to {agree['ci_ub']:.3f})"
            )
            who = escape(" vs ".join(data["reviewers"]))
            console.print(
                f"[bold]{st}[/bold]: {who}: {agree['n']} records, "
                f"agreement {agree['percent']:.1f}%, Cohen's kappa {kappa}{ci}"
            )
        else:
            console.print(f"[bold]{st}[/bold]: {escape(agree['note']) if agree else ''}")
        if data["conflicts"]:
            table = Table("record", "title", "decisions")
            for c in data["conflicts"]:
                table.add_row(
                    str(c["record_id"]),
                    Text(c["title"][:70]),
                    Text(
                        "; ".join(
                            f"{d['reviewer']}: {d['decision']}"
                            + (f" ({d['reason']})" if d["reason"] else "")
                            for d in c["decisions"]
                        )
                    ),
                )
            console.print(table)
        else:
            console.print("  no conflicts")


@app.command("resolve")
def resolve(
    directory: _DirArg,
    record: Annotated[str, typer.Argument(help="Record id (or pmid:..., doi:..., nct:...).")],
    decision: Annotated[str, typer.Option("--decision", help="include, exclude or maybe.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who resolves the conflict.")],
    stage: Annotated[str, typer.Option("--stage", help="title_abstract or full_text.")] = (
        "title_abstract"
    ),
    reason: Annotated[
        str | None, typer.Option("--reason", help="Eligibility code, for an exclusion.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
) -> None:
    """Record the agreed decision on a conflict between reviewers."""
    with Screening.open(directory) as s:
        d = s.resolve(record, stage, decision, reviewer=reviewer, reason=reason, note=note)
    typer.echo(f"record {d.record_id}: {d.stage} resolved as {d.decision}")


@app.command("retrieval")
def retrieval(
    directory: _DirArg,
    records: Annotated[list[str], typer.Argument(help="Record ids of reports.")],
    not_retrieved: Annotated[
        bool,
        typer.Option("--not-retrieved/--retrieved", help="Whether the full text was obtained."),
    ] = True,
    note: Annotated[
        str | None, typer.Option("--note", help="Why (e.g. no library access).")
    ] = None,
) -> None:
    """Mark reports whose full text could not be retrieved (PRISMA: reports not retrieved)."""
    with Screening.open(directory) as s:
        s.mark_retrieval(records, not not_retrieved, note=note)
    state = "not retrieved" if not_retrieved else "retrieved"
    typer.echo(f"{len(records)} report(s) marked {state}")


@app.command("remove-record")
def remove_record(
    directory: _DirArg,
    records: Annotated[list[str], typer.Argument(help="Record ids to remove before screening.")],
    why: Annotated[str, typer.Option("--why", help="The reason (e.g. 'retracted').")],
) -> None:
    """Remove records before screening for a stated reason (PRISMA: removed for other reasons)."""
    with Screening.open(directory) as s:
        removed = s.remove(records, why)
    typer.echo(f"{len(removed)} record(s) removed before screening: {why}")


@app.command("prisma")
def prisma(
    directory: _DirArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for prisma.svg/png/json (default DIR).")
    ] = None,
    checklist: Annotated[
        bool, typer.Option("--checklist", help="List the PRISMA 2020 items and their answers.")
    ] = False,
    as_json: _JsonOpt = False,
) -> None:
    """Write the PRISMA 2020 flow diagram (SVG, PNG) and its counts (JSON)."""
    from metareview.screening.checklist import prisma_checklist
    from metareview.screening.prisma import prisma_counts, write_prisma

    with Screening.open(directory, read_only=True) as s:
        if checklist:
            entries = prisma_checklist(s)
            if as_json:
                typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
                return
            table = Table("item", "topic", "status", "where")
            style = {"answered": "green", "partial": "yellow", "missing": "red"}
            for e in entries:
                table.add_row(
                    e.item.id,
                    e.item.topic,
                    Text(e.status, style=style[e.status]),
                    Text(e.where),
                )
            Console().print(table)
            return
        if as_json and out is None:
            typer.echo(json.dumps(prisma_counts(s).to_dict(), ensure_ascii=False))
            return
        paths = write_prisma(s, out if out is not None else directory)
        if as_json:
            typer.echo(paths["json"].read_text(encoding="utf-8").strip())
            return
    for kind, path in paths.items():
        typer.echo(f"Wrote {path} ({kind})")
