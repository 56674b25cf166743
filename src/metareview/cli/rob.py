"""``metareview rob``: the risk-of-bias form (RoB 2, ROBINS-I), its import, the assessments
and the conflicts between reviewers.

Thin: every option calls one function of :mod:`metareview.review.rob`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app
from metareview.errors import InputError

__all__ = ["rob"]


@app.command("rob")
def rob(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    template: Annotated[
        Path | None,
        typer.Option("--template", help="Write the risk-of-bias form (CSV or .xlsx) to FILE."),
    ] = None,
    tool: Annotated[
        str | None, typer.Option("--tool", help="rob2 or robins-i (with --template).")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Only this protocol outcome (--template).")
    ] = None,
    import_file: Annotated[
        Path | None, typer.Option("--import", help="Check and store a filled-in form.")
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who assessed (required with --import).")
    ] = None,
    consensus: Annotated[
        bool,
        typer.Option("--consensus", help="With --import: the assessment agreed after a conflict."),
    ] = False,
    show_conflicts: Annotated[
        bool, typer.Option("--conflicts", help="List where two reviewers' assessments differ.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessments as JSON.")] = False,
) -> None:
    """Assess risk of bias: write the form, import it, list assessments and conflicts."""
    from metareview.review import rob as api

    if sum([template is not None, import_file is not None, show_conflicts]) > 1:
        raise InputError("rob: give one of --template FILE, --import FILE or --conflicts")
    if template is not None:
        if not tool:
            raise InputError("--template needs --tool rob2 or --tool robins-i", field="--tool")
        t = api.write_rob_template(directory, template, tool=tool, outcome=outcome,
                                   reviewer=reviewer)  # fmt: skip
        info = {"template": str(t.path), "rows": t.n_rows, "studies": t.n_studies,
                "tool": t.tool}  # fmt: skip
        typer.echo(json.dumps(info) if as_json else
                   f"Wrote {t.n_rows} rows ({t.tool}) for {t.n_studies} included studies to "
                   f"{t.path}")  # fmt: skip
        return
    if import_file is not None:
        if not reviewer:
            raise InputError("--import needs --reviewer NAME", field="--reviewer")
        s = api.import_rob(directory, import_file, reviewer=reviewer, consensus=consensus)
        info = {"batch": s.batch_id, "rows": s.n_rows, "assessments": s.n_assessments,
                "reviewer": s.reviewer, "basis": s.basis}  # fmt: skip
        typer.echo(json.dumps(info) if as_json else
                   f"Stored {s.n_assessments} assessments from {s.n_rows} rows by {s.reviewer}"
                   + (" as the consensus" if consensus else ""))  # fmt: skip
        return
    if show_conflicts:
        found = api.rob_conflict_list(directory)
        if as_json:
            typer.echo(json.dumps({"conflicts": [c.to_dict() for c in found]}))
            return
        if not found:
            typer.echo("No conflicts: every assessment made twice agrees (or has a consensus).")
        for c in found:
            said = ", ".join(f"{r}: {v or '-'}" for r, v in c.values)
            what = f"question {c.question}" if c.question else "judgement"
            typer.echo(f"study {c.study_id} ({c.study}) {c.outcome} {c.tool} {c.domain} {what}: "
                       f"{said}")  # fmt: skip
        return
    data = api.rob_json(directory)
    if as_json:
        typer.echo(json.dumps(data))
        return
    if not data["assessments"]:
        typer.echo("No risk-of-bias assessment yet: metareview rob DIR --template FILE --tool rob2")
    for a in data["assessments"]:
        doms = " ".join(f"{d['domain']}={d['judgement']}" for d in a["domains"])
        typer.echo(f"study {a['study_id']} ({a['study']}) {a['outcome']} {a['tool']} "
                   f"[{a['reviewer']}]: {doms} overall={a['overall']}")  # fmt: skip
