"""Fixtures of the web app's tests: the e2e project (tests/conftest.py) served in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metareview.web import WebApp, create_app

TOKEN = "test-token-0123456789"


@pytest.fixture
def app(e2e_project: Path) -> Iterator[WebApp]:
    web = create_app(e2e_project, token=TOKEN)
    yield web


def login(client: TestClient, reviewer: str | None = None) -> str:
    """Trade the token for the session cookie; give a reviewer name; return the CSRF token."""
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    sid = client.cookies.get("metareview_session")
    session = client.app.web.sessions.by_id[sid]  # type: ignore[attr-defined]
    if reviewer:
        r = client.post("/reviewer", data={"name": reviewer, "csrf_token": session.csrf})
        assert r.status_code == 200, r.text
    return str(session.csrf)


@pytest.fixture
def client(app: WebApp) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
