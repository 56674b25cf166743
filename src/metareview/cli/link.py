"""``metareview link``: put the reports of one study together by hand, or take a link back.

Deduplication (``metareview dedupe``) links records that share a PMID, DOI, NCT id or title;
a reviewer links what it cannot see (a conference abstract and the later article, a registry
entry without the article's NCT id). Links count in PRISMA 2020 as "studies" and "reports".
Thin: :meth:`metareview.store.Project.link_by_hand` and :meth:`~metareview.store.Project.unlink`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app
from metareview.errors import InputError

__all__ = ["link"]


@app.command("link")
def link(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    records: Annotated[
        list[str] | None,
        typer.Argument(help="Records of one study: record ids, pmid:, doi:, nct: or source ids."),
    ] = None,
    study: Annotated[str | None, typer.Option("--study", help="Name (label) the study.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why these reports are one study.")
    ] = None,
    undo: Annotated[
        int | None, typer.Option("--undo", help="Take back the link with this id.")
    ] = None,
    show: Annotated[
        bool, typer.Option("--list", help="List the studies and their records.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Link reports of one study by hand (audited); --undo LINK_ID takes a link back."""
    from metareview.screening.links import link_records, list_studies, undo_link

    if show:
        studies = list_studies(directory)
        if as_json:
            typer.echo(json.dumps({"studies": studies}))
            return
        for s in studies:
            typer.echo(f"study {s['study_id']} {s['label'] or ''}".rstrip())
            for r in s["records"]:
                typer.echo(f"  link {r['link_id']}: record {r['record_id']} {r['source_id']} "
                           f"{r['title'][:70]}  ({r['reason']})")  # fmt: skip
        return
    if undo is not None:
        if records:
            raise InputError("--undo takes a link id, not records", field="--undo")
        if not reason:
            raise InputError("--undo needs --reason", field="--reason")
        undo_link(directory, undo, reason=reason)
        typer.echo(f"Link {undo} undone")
        return
    if not records:
        raise InputError("name the records to link (or --list, --undo LINK_ID)", field="RECORDS")
    study_id, ids = link_records(
        directory, records, label=study, reason=reason or "reports of one study (linked by hand)"
    )
    if as_json:
        typer.echo(json.dumps({"study_id": study_id, "records": ids}))
        return
    typer.echo(f"Records {', '.join(map(str, ids))} are study {study_id}" +
               (f" ({study})" if study else ""))  # fmt: skip
