"""Fixtures for the reliability tests: local servers (pytest-httpserver and a raw socket one).

Both listen on 127.0.0.1 only. The raw server hands each connection to a test function after
reading the request head, so a test can drip bytes, send an endless body or a bogus length,
which a well-behaved WSGI server will not do.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer

#: ``reply(sock, request_head)``: write a raw HTTP response on ``sock``.
Reply = Callable[[socket.socket, bytes], None]


class FakeClock:
    """A monotonic clock that moves only when something sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


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
    """The module's pytest-httpserver, cleared before and after each test."""
    local_server.clear()
    yield local_server
    local_server.clear()


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return
            head += chunk
        with contextlib.suppress(OSError):  # the client hung up, as a bounded client should
            self.server.reply(sock, head)  # type: ignore[attr-defined]


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def raw_server() -> Iterator[Callable[[Reply], str]]:
    """``start(reply) -> base URL``: a raw HTTP server on 127.0.0.1 answering with ``reply``."""
    servers: list[_RawServer] = []

    def start(reply: Reply) -> str:
        srv = _RawServer(("127.0.0.1", 0), _Handler)
        srv.reply = reply  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        host, port = srv.server_address[:2]
        return f"http://{host!s}:{port}/"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()
