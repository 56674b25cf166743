"""The typer application every command module registers on."""

from __future__ import annotations

import typer

from metareview.cli._group import LazyGroup

HELP = "metareview: a systematic review of clinical evidence, from the search to the pooled answer."

app = typer.Typer(
    name="metareview",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback(help=HELP)
def _root() -> None:
    """The command group; each command registers itself in its own module."""
