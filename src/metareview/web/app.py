"""The ASGI application: one project folder, its pages, the security layer, the store thread.

:func:`create_app` returns a :class:`WebApp` (a FastAPI app with ``.state`` holding the project
folder, launch token and sessions). Every view runs its store work through
:meth:`WebState.run`, in one thread that owns the app's SQLite connections (a connection is
used by the thread that opened it); writes are the API's own single transactions, so the CLI or a
second app on the same project can write beside it (SQLite WAL, ``busy_timeout`` 30 s, set by
:func:`metareview.store.project._connect`). Long jobs (the analysis and report) run in a
second thread with their own connections.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.templating import Jinja2Templates

from metareview.errors import MetareviewError
from metareview.screening.screener import ScreeningSession
from metareview.store import Project
from metareview.web.security import (
    CSRF_FIELD,
    SecurityMiddleware,
    Session,
    Sessions,
    new_token,
)

__all__ = ["WebApp", "WebState", "create_app"]

T = TypeVar("T")

_PACKAGE = resources.files("metareview.web")


class WebState:
    """What the views share: the project folder, templates, sessions and the store thread."""

    def __init__(self, directory: Path, token: str) -> None:
        self.directory = directory
        self.token = token
        self.sessions = Sessions()
        self._store = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metareview-store")
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metareview-report")
        #: (reviewer, stage) -> the reviewer's screening session; touched in the store thread only.
        self.screeners: dict[tuple[str, str], ScreeningSession] = {}
        #: The screening sessions' switch rule for the late-drawn sample rule (None: off).
        self.stop_late: str | None = None
        self.report_lock = threading.Lock()
        self.report_version: int | None = None
        self.report_cache: dict[str, Any] | None = None
        self.running = 0
        env = Environment(
            loader=FileSystemLoader(str(_PACKAGE / "templates")),
            autoescape=True,  # every record field is escaped
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the store thread (the one that owns the app's connections)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store, lambda: fn(*args, **kwargs))

    async def job(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a long job (analysis, report) in its own thread, off the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._jobs, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Close the screening sessions' connections and stop the threads."""

        def close_all() -> None:
            for s in self.screeners.values():
                s.screening.close()
            self.screeners.clear()

        self._store.submit(close_all).result()
        self._store.shutdown(wait=True)
        self._jobs.shutdown(wait=True)
        # a later start (another test client) gets fresh threads
        self._store = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metareview-store")
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metareview-report")

    def render(
        self, request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
    ) -> HTMLResponse:
        """A page or fragment, with what every template needs (session, CSRF token, nav)."""
        session: Session = request.state.session
        base = {
            "session": session,
            "reviewer": session.reviewer,
            "csrf_field": CSRF_FIELD,
            "csrf": session.csrf,
            "project": self.directory.name,
            "path": request.url.path,
        }
        return self.templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status_code
        )


class WebApp(FastAPI):
    """The FastAPI application of one project (``app.state.web`` is its :class:`WebState`)."""

    web: WebState


def create_app(
    directory: str | Path, *, token: str | None = None, stop_late: str | None = None
) -> WebApp:
    """Build the web app for the project in ``directory``.

    Parameters
    ----------
    directory
        A project folder (``metareview init``).
    token
        The launch token (default: a new random one, :func:`metareview.web.security.new_token`).
    stop_late
        The screening page's switch rule for the late-drawn sample rule
        (:func:`metareview.screening.stopping.parse_switch`; None: the page follows a switch
        already in the store but makes none).

    Raises
    ------
    StoreError
        ``directory`` is not a project.
    """
    folder = Path(directory)
    Project.open(folder).close()  # a clear StoreError now, not on the first request
    state = WebState(folder, token or new_token())
    if stop_late is not None:
        from metareview.screening.stopping import parse_switch

        stop_late = parse_switch(stop_late).spec  # a clear InputError now
    state.stop_late = stop_late

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The store is closed when the last server running this app stops (a test may run
        # the app under several clients at once).
        state.running += 1
        try:
            yield
        finally:
            state.running -= 1
            if state.running == 0:
                state.close()

    app = WebApp(
        title="metareview", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.web = state
    app.state.web = state
    app.mount("/static", StaticFiles(directory=str(_PACKAGE / "static")), name="static")

    @app.exception_handler(MetareviewError)
    async def _error(request: Request, exc: MetareviewError) -> Response:
        # An htmx request shows the message in the page's flash area; a plain one gets a page.
        if request.headers.get("hx-request"):
            response = state.render(request, "_flash.html", {"error": str(exc), "message": None})
            response.headers["HX-Retarget"] = "#flash"
            response.headers["HX-Reswap"] = "innerHTML"
            return response
        return state.render(request, "error.html", {"error": str(exc)}, status_code=400)

    from metareview.web.views import analysis, dedupe, extraction, overview, rob, screening

    for module in (overview, screening, dedupe, extraction, rob, analysis):
        app.include_router(module.router)
    app.add_middleware(SecurityMiddleware, token=state.token, sessions=state.sessions)
    return app
