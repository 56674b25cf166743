"""``metareview serve DIR [--port N] [--open] [--host H]``: the local web app over a project.

Thin: :func:`metareview.web.create_app` builds the app; uvicorn serves it until Ctrl-C. The URL
printed carries the launch token (as Jupyter's does); without it every request is refused.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app
from metareview.errors import InputError

__all__ = ["serve"]

LOCALHOST = "127.0.0.1"


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``port`` (0: one the system picks) and already listening, so that the
    URL printed before uvicorn starts is answered at once (connections wait in the backlog);
    an InputError when ``port`` is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror}", field="--port"
        ) from exc
    return sock


@app.command("serve")
def serve(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (default 8765; 0: any free).")
    ] = 8765,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the URL in the default browser.")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default 127.0.0.1, this machine only)."),
    ] = None,
    stop_late: Annotated[
        bool, typer.Option("--stop-late", help="Screening page: Callaghan & Müller-Hansen's "
                           "rule, switching to a random order once --stop-switch fires.")
    ] = False,
    stop_switch: Annotated[
        str | None, typer.Option("--stop-switch", help="run:N or run:X% (irrelevant in a row), "
                                 "screened:N or screened:X% (default: as metareview screen).")
    ] = None,
) -> None:
    """Serve the project as a local web app (screening, extraction, analysis, report)."""
    import uvicorn

    from metareview.web import create_app

    bind = host or LOCALHOST
    if host is not None and host not in (LOCALHOST, "localhost", "::1"):
        typer.echo(
            f"metareview: warning: listening on {host}: anyone who can reach this address and "
            "has the URL's token can read and change the project",
            err=True,
        )
    switch: str | None = None
    if stop_late:
        from metareview.screening.stopping import DEFAULT_SWITCH, parse_switch

        switch = parse_switch(stop_switch or DEFAULT_SWITCH).spec
    web = create_app(directory, stop_late=switch)
    sock = _listening_socket(bind, port)
    port = int(sock.getsockname()[1])
    shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{port}/?token={web.web.token}"
    typer.echo(f"metareview serve {directory}: open {url}")
    typer.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(web, host=bind, port=port, log_level="warning", lifespan="on")
    # uvicorn handles Ctrl-C (SIGINT) itself: it finishes open requests, runs the app's
    # shutdown (the store's connections are closed), then re-raises the signal.
    with sock, contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])
    typer.echo("metareview serve: stopped")
