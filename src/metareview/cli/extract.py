"""``metareview extract``: the extraction form, its import, conflicts, registry results.

Thin: every option calls one function of :mod:`metareview.review.extract`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.extraction.stored import Conflict

__all__ = ["extract"]


@app.command("extract")
def extract(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    template: Annotated[
        Path | None,
        typer.Option("--template", help="Write the extraction form (CSV or .xlsx) to FILE."),
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="csv or xlsx (default: from the file name).")
    ] = None,
    import_file: Annotated[
        Path | None,
        typer.Option("--import", help="Check and store a filled-in form (CSV or .xlsx)."),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Who extracted (required with --import)."),
    ] = None,
    consensus: Annotated[
        bool,
        typer.Option("--consensus", help="With --import: the values agreed after a conflict."),
    ] = False,
    show_conflicts: Annotated[
        bool, typer.Option("--conflicts", help="List values two reviewers extracted differently.")
    ] = False,
    from_registry: Annotated[
        bool,
        typer.Option(
            "--from-registry",
            help="Pre-fill values from the ClinicalTrials.gov results of included studies.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Extract study data: write the form, import it, list conflicts, fill from registries."""
    from metareview.review import extract as api

    asked = [template is not None, import_file is not None, show_conflicts, from_registry]
    if sum(asked) != 1:
        raise InputError(
            "extract: give one of --template FILE, --import FILE, --conflicts or --from-registry"
        )
    if template is not None:
        t = api.write_template(directory, template, format=format, reviewer=reviewer)
        info = {"template": str(t.path), "rows": t.n_rows, "studies": t.n_studies,
                "prefilled_rows": t.n_prefilled}  # fmt: skip
        typer.echo(
            json.dumps(info)
            if as_json
            else f"Wrote {t.n_rows} rows for {t.n_studies} included studies to {t.path}"
            + (f" ({t.n_prefilled} pre-filled from the store)" if t.n_prefilled else "")
        )
        return
    if import_file is not None:
        if not reviewer:
            raise InputError("--import needs --reviewer NAME", field="--reviewer")
        s = api.import_extraction(directory, import_file, reviewer=reviewer, consensus=consensus)
        info = {"batch": s.batch_id, "rows": s.n_rows, "values": s.n_values,
                "studies": list(s.studies), "reviewer": s.reviewer, "basis": s.basis}  # fmt: skip
        typer.echo(
            json.dumps(info)
            if as_json
            else f"Stored {s.n_values} values from {s.n_rows} rows ({len(s.studies)} studies) "
            f"extracted by {s.reviewer}" + (" as the consensus" if consensus else "")
        )
        return
    if show_conflicts:
        _print_conflicts(api.extraction_conflicts(directory), as_json)
        return
    summary = api.fill_from_registry(directory)
    if as_json:
        typer.echo(json.dumps(summary.to_dict()))
        return
    typer.echo(
        f"Pre-filled {summary.n_values} values for {len(summary.studies)} studies from "
        "registry results; confirm them: metareview extract DIR --template FILE, then --import"
    )
    for w in summary.warnings:
        typer.echo(f"warning: {w}", err=True)


def _print_conflicts(found: list[Conflict], as_json: bool) -> None:
    rows = [
        {
            "study_id": c.key.study_id,
            "outcome": c.key.outcome,
            "group": c.key.group,
            "arm": c.key.arm,
            "timepoint": c.key.timepoint,
            "scenario": c.key.scenario,
            "field": c.key.field,
            "values": [
                {"reviewer": v.reviewer, "value": v.value if v.text is None else v.text}
                for v in c.values
            ],
        }
        for c in found
    ]
    if as_json:
        typer.echo(json.dumps({"conflicts": rows}))
        return
    if not rows:
        typer.echo("No conflicts: every value extracted twice agrees (or has a consensus).")
    for r, c in zip(rows, found, strict=True):
        said = ", ".join(f"{v.reviewer}: {v.value if v.text is None else v.text}" for v in c.values)
        typer.echo(
            f"study {r['study_id']} {r['outcome'] or 'characteristics'} {r['group']} "
            f"{r['arm']} {r['timepoint']} {r['field']}: {said}"
        )
