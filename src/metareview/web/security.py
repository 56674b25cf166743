"""Who may use the app, and how a browser is kept from being tricked into using it.

* A random token per launch (:func:`new_token`), printed in the URL as Jupyter does
  (``http://127.0.0.1:PORT/?token=...``). The first request with the right ``token`` query
  parameter gets an ``HttpOnly``, ``SameSite=Strict`` cookie holding a fresh session id and is
  redirected to the same URL without the token; every later request must carry that cookie.
  Anything else is refused with 403, static files included.
* A CSRF token per session (:class:`Session`), put by the templates in every form (hidden field
  ``csrf_token``) and in the ``X-CSRF-Token`` header of every htmx request; every state-changing
  request (anything but GET, HEAD, OPTIONS) without it is refused with 403, compared in constant
  time (OWASP CSRF Prevention Cheat Sheet, "synchronizer token pattern").
* Response headers on every page: a strict Content-Security-Policy (``default-src 'self'``, no
  inline script or style; the report keeps the stricter policy it carries itself),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE",
    "CSP",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "REPORT_CSP",
    "SAFE_METHODS",
    "SecurityMiddleware",
    "Session",
    "Sessions",
    "new_token",
]

COOKIE = "metareview_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The app's pages: scripts, styles, images and requests from the app itself only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
#: The report as ``metareview report`` writes it (inline CSS and SVG, no script at all), shown
#: in a frame of the analysis page: the policy its own ``<meta>`` tag sets.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'"
)


def new_token() -> str:
    """A random launch token (32 bytes of :func:`secrets.token_urlsafe`: 43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass
class Session:
    """One browser's session: its CSRF token and the reviewer name it gave (None until then)."""

    id: str
    csrf: str
    reviewer: str | None = None


@dataclass
class Sessions:
    """The sessions of one launch (in memory: a restart asks for the token again)."""

    by_id: dict[str, Session] = field(default_factory=dict)

    def new(self) -> Session:
        s = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        self.by_id[s.id] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        return self.by_id.get(sid) if sid else None


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class SecurityMiddleware:
    """ASGI middleware: the token or session cookie on every request, CSRF on every write,
    the security headers on every response (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, token: str, sessions: Sessions) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = self.sessions.get(request.cookies.get(COOKIE))
        given = request.query_params.get("token")
        if given is not None and _same(given, self.token):
            # Jupyter's way: trade the token in the URL for a cookie, then drop it from the URL.
            if session is None:
                session = self.sessions.new()
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            url = URL(path=request.url.path, query=urlencode(query))
            response: Response = RedirectResponse(str(url), status_code=303)
            response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")
            await self._send(response, scope, receive, send)
            return
        if session is None:
            await self._send(
                PlainTextResponse(
                    "403 Forbidden: open the URL metareview serve printed (with ?token=...)",
                    status_code=403,
                ),
                scope,
                receive,
                send,
            )
            return
        scope.setdefault("state", {})["session"] = session
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            if sent is None:
                sent, receive = await _form_field(scope, receive, CSRF_FIELD)
            if not _same(sent, session.csrf):
                await self._send(
                    PlainTextResponse(
                        "403 Forbidden: missing or wrong CSRF token (reload the page)",
                        status_code=403,
                    ),
                    scope,
                    receive,
                    send,
                )
                return
        await self.app(scope, receive, _with_headers(send, scope["path"]))

    async def _send(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, _with_headers(send, scope["path"]))


def _with_headers(send: Send, path: str) -> Send:
    csp = REPORT_CSP if path.startswith("/report/") else CSP

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers += [
                (b"content-security-policy", csp.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"),
                (b"x-frame-options", b"SAMEORIGIN"),
                (b"cache-control", b"no-store"),
            ]
            message["headers"] = headers
        await send(message)

    return wrapped


async def _form_field(scope: Scope, receive: Receive, name: str) -> tuple[str | None, Receive]:
    """Read the request body to find one form field; return it and a ``receive`` that replays
    the body for the application."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    value: str | None = None
    ctype = Request(scope).headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs

        found = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(name)
        value = found[0] if found else None
    elif ctype.startswith("multipart/form-data"):
        from starlette.requests import Request as _Req

        async def once() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        form = await _Req(scope, once).form()
        raw = form.get(name)
        value = raw if isinstance(raw, str) else None
    return value, replay
