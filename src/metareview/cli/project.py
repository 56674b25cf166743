"""``metareview init`` and ``metareview import``: create a project, bring files into it.

Both are thin: they call :class:`metareview.store.Project`. Each file is imported in its own
transaction, so a file that fails adds nothing; files imported before it in the same command
stay imported, and the error says so.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from metareview.cli.app import app
from metareview.errors import InputError, MetareviewError
from metareview.sources.detect import FORMATS
from metareview.store import ImportResult, Project

__all__ = ["import_files", "init"]


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="The project folder to create.")],
    protocol: Annotated[
        Path | None,
        typer.Option("--protocol", help="A protocol YAML file to validate and copy in."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a review project (a folder with project.sqlite); without --protocol, with a
    commented protocol template to edit."""
    if protocol is None:
        with tempfile.TemporaryDirectory(prefix="metareview-") as tmp:
            template = Path(tmp) / "protocol.yaml"
            template.write_text(protocol_template(), encoding="utf-8")
            project = Project.init(directory, protocol_file=template)
    else:
        project = Project.init(directory, protocol_file=protocol)
    try:
        info = {
            "project": str(project.path),
            "database": str(project.db_path),
            "schema_version": project.schema_version,
            "protocol": str(project.protocol_path) if project.protocol_path else None,
        }
    finally:
        project.close()
    if as_json:
        typer.echo(json.dumps(info))
        return
    typer.echo(f"Created project {info['project']} (schema version {info['schema_version']})")
    if info["protocol"]:
        typer.echo(f"Protocol: {info['protocol']}")
    if protocol is None and info["protocol"]:
        typer.echo("  a commented template: edit the lines marked EDIT, then check it with "
                   f"'metareview protocol {directory}'")  # fmt: skip


def protocol_template() -> str:
    """The commented protocol template ``init`` writes (``metareview/templates/protocol.yaml``):
    valid as it stands, every line to edit marked EDIT, the search dated today."""
    text = (resources.files("metareview") / "templates" / "protocol.yaml").read_text(
        encoding="utf-8"
    )
    return text.replace("{today}", dt.date.today().isoformat())


def _parse_columns(columns: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in columns or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--column expects FIELD=COLUMN, got {item!r}", field="--column")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("import")
def import_files(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    files: Annotated[list[Path], typer.Argument(help="Files to import.")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="Database the records came from (pubmed, embase, ...)."),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help=f"Input format, detected if omitted: {', '.join(FORMATS)}."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="The search query (PRISMA-S).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding (default UTF-8).")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="CSV column mapping FIELD=COLUMN (repeatable)."),
    ] = None,
    reviewer: Annotated[
        str,
        typer.Option("--reviewer", help="Who ASReview's labels in the file are recorded as."),
    ] = "asreview",
    no_labels: Annotated[
        bool, typer.Option("--no-labels", help="Ignore ASReview labels in the file.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Import records from files (PubMed XML, MEDLINE, RIS, CSV, ClinicalTrials.gov, Europe PMC,
    text pages); ASReview's labels (CSV included/label_included, RIS notes) become title/abstract
    decisions."""
    if format is not None and format not in FORMATS:
        raise InputError(
            f"unknown format {format!r}; known: {', '.join(FORMATS)}", field="--format"
        )
    mapping = _parse_columns(column)
    console = Console(stderr=True)
    from metareview.screening.asreview import LabelledImport, import_labelled

    results: list[ImportResult] = []
    labels: dict[int, LabelledImport] = {}
    notes: list[str] = []
    with Project.open(directory) as project:
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=as_json or not console.is_terminal,
        )
        with progress:
            for file in files:
                total = file.stat().st_size if file.is_file() else 0
                task = progress.add_task(file.name, total=total or None)

                def advance(done: int, size: int, task: Any = task) -> None:
                    progress.update(task, completed=done, total=size)

                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        if no_labels:
                            result = project.import_file(
                                file,
                                source=source,
                                format=format,
                                query=query,
                                encoding=encoding,
                                column_map=mapping or None,
                                progress=advance,
                            )
                        else:
                            labelled = import_labelled(
                                project,
                                file,
                                reviewer=reviewer,
                                source=source,
                                format=format,
                                query=query,
                                encoding=encoding,
                                column_map=mapping or None,
                                progress=advance,
                            )
                            result = labelled.result
                            if labelled.labelled_by is not None:
                                labels[len(results)] = labelled
                except MetareviewError as exc:
                    if not results:
                        raise
                    done = ", ".join(f"{Path(r.file or '').name}" for r in results)
                    raise MetareviewError(
                        f"{exc} (nothing from this file was added; imported before it: {done})"
                    ) from exc
                notes.extend(str(w.message) for w in caught)
                progress.update(task, completed=total)
                results.append(result)
    for note in notes:
        console.print(f"metareview: note: {note}", markup=False, highlight=False)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "file": r.file,
                        "import_id": r.import_id,
                        "format": r.format,
                        "source": r.source,
                        "query": r.query,
                        "n_records": r.n_records,
                        "n_added": r.n_added,
                        "n_duplicates": r.n_duplicates,
                        "already_imported_as": r.duplicate_of,
                        **({"labels": labels[i].to_json()} if i in labels else {}),
                    }
                    for i, r in enumerate(results)
                ]
            )
        )
        return
    table = Table(title=f"Imported into {directory}")
    for name in ("File", "Format", "Source", "Read", "Added", "Already in project", "Import"):
        table.add_column(
            name,
            justify="right" if name in ("Read", "Added", "Import") else "left",
            overflow="fold",
        )
    for r in results:
        if r.already_imported:
            table.add_row(
                Path(r.file or "").name,
                "",
                "",
                "0",
                "0",
                f"whole file (import #{r.duplicate_of})",
                "",
            )
        else:
            table.add_row(
                Path(r.file or "").name,
                r.format,
                r.source,
                str(r.n_records),
                str(r.n_added),
                str(r.n_duplicates),
                f"#{r.import_id}",
            )
    Console().print(table)
    for i, r in enumerate(results):
        if i in labels:
            typer.echo(f"{Path(r.file or '').name}: {labels[i].message()}")
