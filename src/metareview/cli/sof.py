"""``metareview sof DIR --out DIR2``: the summary-of-findings table as HTML, CSV and DOCX.

Thin: the GRADE assessments of the review in the store
(:func:`metareview.review.store.analyse_project`) go through
:func:`metareview.appraisal.sof.sof_table` and :func:`~metareview.appraisal.sof.write_sof`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app

__all__ = ["sof"]


@app.command("sof")
def sof(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for sof.html, sof.csv, sof.docx (default: DIR/sof)."),
    ] = None,
) -> None:
    """Write the summary-of-findings table (GRADEpro's layout)."""
    from metareview.appraisal.sof import sof_table, write_sof
    from metareview.review.store import analyse_project

    result = analyse_project(directory)
    q = result.protocol.question
    table = sof_table(
        result.grade,
        title=f"Summary of findings: {result.protocol.title}",
        intervention=q.intervention,
        comparator=q.comparator,
    )
    paths = write_sof(table, out if out is not None else Path(directory) / "sof")
    for kind in ("html", "csv", "docx"):
        typer.echo(f"{kind}: {paths[kind]}")
