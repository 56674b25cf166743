"""The app's views, by concern: overview, screening, duplicates and studies, extraction,
analysis and report. Each is a thin layer over the API the command line calls."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from metareview.errors import InputError
from metareview.web.app import WebState
from metareview.web.security import Session

__all__ = ["is_htmx", "login_redirect", "require_reviewer", "session_of", "state_of"]


def state_of(request: Request) -> WebState:
    """The app's shared state."""
    state: WebState = request.app.state.web
    return state


def session_of(request: Request) -> Session:
    """The browser's session (the security middleware put it there)."""
    session: Session = request.state.session
    return session


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def require_reviewer(request: Request) -> str:
    """The session's reviewer name; no decision is taken without one.

    Raises
    ------
    InputError
        The browser has not given a reviewer name yet.
    """
    name = session_of(request).reviewer
    if not name:
        raise InputError("give your reviewer name first (top right of the page)", field="reviewer")
    return name


def login_redirect(request: Request) -> RedirectResponse:
    """To the reviewer-name page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/reviewer?next={quote(here)}", status_code=303)
