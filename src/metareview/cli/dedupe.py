"""``metareview dedupe DIR``: link records of the same study; ``--undo LINK_ID`` removes a link.

Thin: :func:`metareview.screening.dedupe.dedupe_project` and
:func:`metareview.screening.dedupe.undo_link` do the work, each in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.screening.dedupe import (
    RULES,
    DedupeSettings,
    StoredLink,
    dedupe_project,
    stored_links,
    undo_link,
)
from metareview.store import Project

__all__ = ["dedupe"]

_DEFAULTS = DedupeSettings()


def _link_json(link: StoredLink) -> dict[str, object]:
    return {
        "id": link.id,
        "record_a": link.record_a,
        "record_b": link.record_b,
        "rule": link.rule,
        "relation": link.relation,
        "score": link.score,
        "detail": link.detail,
        "linked_at": link.linked_at,
        "linked_by": link.linked_by,
        "undone_at": link.undone_at,
    }


def _table(title: str, links: list[StoredLink], titles: dict[int, str], *, width: int) -> Table:
    """The links as a table; the records' titles are shown when the terminal is wide enough."""
    show_titles = width >= 110
    table = Table(title=title)
    for name in ("Link", "Records", "Rule", "Relation", "Score"):
        justify = "right" if name in ("Link", "Score") else "left"
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("Detail", min_width=14)
    if show_titles:
        # One line per title, cut with an ellipsis, so each link stays two lines high.
        table.add_column("Titles", no_wrap=True, overflow="ellipsis", max_width=48)
    for link in links:
        cells = [
            f"#{link.id}",
            f"{link.record_a} ↔ {link.record_b}",
            link.rule,
            link.relation,
            f"{link.score:.3f}",
            link.detail,
        ]
        if show_titles:
            cells.append(f"{titles.get(link.record_a, '')}\n{titles.get(link.record_b, '')}")
        table.add_row(*cells)
    return table


@app.command("dedupe")
def dedupe(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    undo: Annotated[
        int | None,
        typer.Option("--undo", metavar="LINK_ID", help="Undo one link (kept in the audit log)."),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the link is undone (with --undo).")
    ] = "undone by reviewer",
    rules: Annotated[
        str,
        typer.Option("--rules", help=f"Comma-separated rules to apply: {','.join(RULES)}."),
    ] = ",".join(RULES),
    title_threshold: Annotated[
        float,
        typer.Option("--title-threshold", min=0.5, max=1.0, help="Title similarity (0-1)."),
    ] = _DEFAULTS.title_threshold,
    show: Annotated[
        bool, typer.Option("--list", help="List the active links; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Link records that report the same study (PMID, DOI, NCT id, then title/year/author)."""
    chosen = [r.strip() for r in rules.split(",") if r.strip()]
    unknown = sorted(set(chosen) - set(RULES))
    if unknown or not chosen:
        raise InputError(
            f"unknown rule(s) {unknown or chosen}; choose from {', '.join(RULES)}", field="--rules"
        )
    with Project.open(directory) as project:
        titles = {s.id: s.record.title for s in project.records()}
        if show:
            links = stored_links(project)
            if as_json:
                typer.echo(json.dumps([_link_json(link) for link in links]))
            else:
                console = Console()
                console.print(
                    _table(f"Active links in {directory}", links, titles, width=console.width)
                )
            return
        if undo is not None:
            outcome = undo_link(project, undo, reason=reason)
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "undone": _link_json(outcome.link),
                            "separated": outcome.separated,
                            "still_connected_by": outcome.still_connected_by,
                        }
                    )
                )
                return
            typer.echo(
                f"Undid link #{undo} ({outcome.link.rule}: records {outcome.link.record_a} and "
                f"{outcome.link.record_b}); it will not be made again."
            )
            if not outcome.separated:
                ids = ", ".join(f"#{i}" for i in outcome.still_connected_by)
                typer.echo(
                    "The two records are still in one study through other links "
                    f"({ids}); undo those too to separate them."
                )
            return
        settings = DedupeSettings(title_threshold=title_threshold)
        result = dedupe_project(project, settings=settings, rules=chosen)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "n_records": result.n_records,
                    "n_links": len(result.links),
                    "by_rule": result.by_rule(),
                    "n_studies": len(result.studies),
                    "unsettled": result.unsettled,
                    "links": [_link_json(link) for link in result.links],
                }
            )
        )
        return
    console = Console()
    if result.links:
        console.print(
            _table(f"New links in {directory}", result.links, titles, width=console.width)
        )
    counts = ", ".join(f"{rule} {n}" for rule, n in result.by_rule().items())
    console.print(
        f"{result.n_records} records compared; {len(result.links)} new links ({counts}); "
        f"{len(result.studies)} studies with linked records. "
        "Undo a link with: metareview dedupe DIR --undo LINK_ID",
        markup=False,
        highlight=False,
    )
    for group in result.unsettled:
        console.print(
            f"Not merged: records {', '.join(map(str, group))} are linked, but a reviewer put "
            "some of them in different studies; settle it by hand.",
            markup=False,
            highlight=False,
        )
