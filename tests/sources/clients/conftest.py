"""Fixtures for the live-client tests: a real HTTP server on 127.0.0.1 and a fake clock.

The server is pytest-httpserver's, bound explicitly to the loopback address (never a public
interface). Responses are files under ``tests/data/clients/`` written in the services' formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "clients"


@pytest.fixture(scope="module")
def local_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def server(local_server: HTTPServer) -> Iterator[HTTPServer]:
    """The module's server, cleared of expectations and log before and after each test."""
    local_server.clear()
    yield local_server
    local_server.clear()


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


@pytest.fixture
def payload() -> Callable[[str], bytes]:
    """``payload(name)``: the bytes of a response file under tests/data/clients/."""

    def read(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return read
