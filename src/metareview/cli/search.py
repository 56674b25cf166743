"""``metareview search DIR SOURCE QUERY``: search PubMed, ClinicalTrials.gov or Europe PMC live.

Thin: :func:`metareview.sources.clients.record_search.search_into_project` does the work. The
records and the PRISMA-S row (query, date, hits reported, records retrieved) are stored in one
transaction; a failed search stores nothing.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metareview.cli.app import app
from metareview.sources.clients.record_search import make_client
from metareview.store import Project
from metareview.store.ingest import search_into_project

__all__ = ["search"]


class LiveSource(StrEnum):
    """The live sources ``search`` knows."""

    pubmed = "pubmed"
    ctgov = "ctgov"
    europepmc = "europepmc"


@app.command("search")
def search(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    source: Annotated[LiveSource, typer.Argument(help="pubmed, ctgov or europepmc.")],
    query: Annotated[str, typer.Argument(help="The query, in the source's own syntax.")],
    max_records: Annotated[
        int | None,
        typer.Option("--max", min=1, help="Retrieve at most this many records."),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option("--email", help="Contact address sent to NCBI (default $NCBI_EMAIL)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Service root URL (a mirror, or a local test server)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Search a live source and store the records with the query, date and count (PRISMA-S).

    PubMed is searched through the NCBI E-utilities (3 requests/s, 10 with $NCBI_API_KEY).
    """
    console = Console(stderr=True)
    options: dict[str, Any] = {}
    if source is LiveSource.pubmed and email:
        options["email"] = email
    with Project.open(directory) as project:
        client = make_client(source.value, base_url=base_url, **options)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=as_json or not console.is_terminal,
        )
        task = progress.add_task(f"{source.value}: searching", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total, description=source.value)

        try:
            with progress:
                stored = search_into_project(
                    project, client, query, max_records=max_records, progress=advance
                )
        finally:
            client.close()
    result, imported = stored.result, stored.imported
    summary = {
        "search_id": stored.search_id,
        "import_id": imported.import_id,
        "source": result.source,
        "query": result.query,
        "searched_at": result.searched_at,
        "n_reported": result.count,
        "n_retrieved": len(result.records),
        "n_added": imported.n_added,
        "n_already_in_project": imported.n_duplicates,
        "requests": result.requests,
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"Search stored in {directory}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    labels = {
        "source": "Source",
        "query": "Query",
        "searched_at": "Searched (UTC)",
        "n_reported": "Hits reported",
        "n_retrieved": "Records retrieved",
        "n_added": "Added",
        "n_already_in_project": "Already in project",
        "search_id": "Search",
    }
    for key, label in labels.items():
        value = summary[key]
        table.add_row(label, f"#{value}" if key == "search_id" else str(value))
    Console().print(table)
