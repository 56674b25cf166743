"""``metareview analyse DIR`` and ``metareview report DIR``: the review from its project store.

Both read everything from the store (:func:`metareview.review.store.analyse_project`): the
included studies from the screening decisions and links, their data from the extraction, the
protocol's outcomes and model settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app

__all__ = ["analyse", "report"]


@app.command("analyse")
def analyse(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Pool every protocol outcome from the stored extraction."""
    from metareview.review.store import analyse_project

    result = analyse_project(directory)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, allow_nan=False))
        return
    typer.echo(result.summary())


@app.command("report")
def report(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for report.html, report.json and figures/ (default: DIR/report)."
        ),
    ] = None,
) -> None:
    """Write the HTML report of the review from its project store."""
    from metareview.report.html import write_report
    from metareview.review.store import analyse_project

    result = analyse_project(directory, write_prisma_files=True)
    path = write_report(result, out if out is not None else Path(directory) / "report")
    typer.echo(f"Report written to {path}")
