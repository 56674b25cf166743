"""``metareview search DIR SOURCE QUERY``: search PubMed, ClinicalTrials.gov or Europe PMC live.

Thin: :func:`metareview.sources.clients.record_search.search_into_project` does the work. The
records and the PRISMA-S row (query, date, hits reported, records retrieved) are stored in one
transaction; a failed search stores nothing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from metareview.cli.app import app
from metareview.sources.clients.base import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_EMPTY_PAGES,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRY_AFTER,
)
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
    deadline: Annotated[
        float,
        typer.Option("--deadline", min=0.001, help="Seconds the whole search may take."),
    ] = DEFAULT_DEADLINE,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.001, help="Seconds one request may wait for the server."),
    ] = 60.0,
    max_retries: Annotated[
        int,
        typer.Option("--max-retries", min=0, help="Retries of a request after 429/5xx/timeouts."),
    ] = 5,
    max_retry_after: Annotated[
        float,
        typer.Option(
            "--max-retry-after", min=0, help="Longest Retry-After (s) waited for; longer stops."
        ),
    ] = DEFAULT_MAX_RETRY_AFTER,
    max_redirects: Annotated[
        int,
        typer.Option("--max-redirects", min=0, help="Same-host redirects followed per request."),
    ] = DEFAULT_MAX_REDIRECTS,
    max_response_mb: Annotated[
        float,
        typer.Option(
            "--max-response-mb", min=0.000001, help="Largest response (MiB, decompressed)."
        ),
    ] = DEFAULT_MAX_RESPONSE_BYTES / 2**20,
    max_empty_pages: Annotated[
        int,
        typer.Option(
            "--max-empty-pages", min=1, help="Pages in a row with no records before stopping."
        ),
    ] = DEFAULT_MAX_EMPTY_PAGES,
) -> None:
    """Search a live source and store the records with the query, date and count (PRISMA-S).

    PubMed is searched through the NCBI E-utilities (3 requests/s, 10 with $NCBI_API_KEY).
    Every search is bounded: a total --deadline, --max-response-mb per reply (after
    decompression), same-host redirects only, a --max-retry-after ceiling; retries are said on
    stderr.
    """
    console = Console(stderr=True)
    options: dict[str, Any] = {
        "deadline": deadline,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_retry_after": max_retry_after,
        "max_redirects": max_redirects,
        "max_response_bytes": max(1, int(max_response_mb * 2**20)),
        "max_empty_pages": max_empty_pages,
    }
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
            with progress, _log_to_stderr():
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
        "n_asked": max_records,
    }
    if max_records is not None and result.count < max_records:
        # The shortfall against the hit count is logged by the client; this says it against --max.
        print(
            f"metareview: {len(result.records)} records retrieved, fewer than the --max "
            f"{max_records} asked for: {result.source} reports {result.count} hits",
            file=sys.stderr,
        )
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


@contextmanager
def _log_to_stderr() -> Iterator[None]:
    """Show the clients' log lines (retries, shortfalls) on stderr while a search runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("metareview: %(message)s"))
    handler.setLevel(logging.INFO)
    log = logging.getLogger("metareview.sources.clients")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
