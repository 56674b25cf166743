"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="metareview",
    help="metareview: a systematic review of clinical evidence, from the search to the pooled answer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """metareview: a systematic review of clinical evidence, from the search to the pooled answer."""
