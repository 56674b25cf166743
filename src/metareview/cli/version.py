"""``metareview version``: print the installed version."""

from __future__ import annotations

import typer

from metareview import __version__
from metareview.cli.app import app


@app.command()
def version() -> None:
    """Print metareview's version."""
    typer.echo(f"metareview {__version__}")
