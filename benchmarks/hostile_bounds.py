"""How quickly, and within how much memory, hostile servers, files and store states are refused.

Each case runs in this process against a local server on 127.0.0.1 (or a generated file under a
temporary folder) and prints the wall time and the peak memory Python allocated (tracemalloc,
every thread: the local server counts too), with the outcome's one line:

* a server that drips one byte every 0.5 s, against ``--deadline`` (default 3 s);
* an endless chunked body and a gzip bomb (``--bomb-mib`` of zeros, about 1/1000 of it on the
  wire), against ``--limit-mib`` (default 16);
* a body that declares 8 GiB;
* an unresolvable host (``.invalid``);
* a RIS file with one line of ``--ris-mib`` MiB (default 200) at the default line limit (8 MiB);
* ``export`` while another process holds the write lock.

Usage::

    .venv/bin/python benchmarks/hostile_bounds.py [--deadline 3] [--limit-mib 16] [--ris-mib 200]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import socketserver
import sqlite3
import tempfile
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

from metareview.cli import main
from metareview.errors import MetareviewError
from metareview.sources.clients import CTGovClient, EuropePMCClient, PubMedClient

MiB = 1 << 20


def measure(name: str, run: Callable[[], object], *, trace: bool = True) -> None:
    """Run ``run``; print its time, peak traced memory (when ``trace``) and outcome."""
    if trace:
        tracemalloc.start()
    started = time.monotonic()
    try:
        outcome = f"ok: {run()}"
    except MetareviewError as exc:
        outcome = f"refused: {str(exc)[:150]}"
    elapsed = time.monotonic() - started
    peak = f"{tracemalloc.get_traced_memory()[1] / MiB:8.1f} MiB" if trace else "       - MiB"
    tracemalloc.stop()
    print(f"{name:<28} {elapsed:7.2f} s  {peak}  {outcome}")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        with contextlib.suppress(OSError):
            self.server.reply(self.request)  # type: ignore[attr-defined]


def serve(reply: Callable[[socket.socket], None]) -> str:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.reply = reply  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def drip(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while True:
        sock.sendall(b" ")
        time.sleep(0.5)


def endless(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    while True:
        sock.sendall(chunk)


def declared(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8589934592\r\n\r\n")
    while True:
        sock.sendall(b"\0" * 65536)


def bomb_reply(size_mib: int) -> Callable[[socket.socket], None]:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * MiB
    body = b"".join(packer.compress(zeros) for _ in range(size_mib)) + packer.flush()
    print(f"(gzip bomb: {size_mib} MiB of zeros in {len(body) / 1024:.0f} KiB)")

    def reply(sock: socket.socket) -> None:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )

    return reply


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadline", type=float, default=3.0)
    parser.add_argument("--limit-mib", type=int, default=16)
    parser.add_argument("--bomb-mib", type=int, default=1024)
    parser.add_argument("--ris-mib", type=int, default=200)
    args = parser.parse_args(argv)
    limit = args.limit_mib * MiB

    # Clients are made before the clock starts (making one loads the CA bundle).
    dripping = CTGovClient(serve(drip), deadline=args.deadline, rate=None)
    measure(f"drip, deadline {args.deadline:g} s", lambda: dripping.search("x"))
    flood = EuropePMCClient(serve(endless), max_response_bytes=limit, rate=None)
    measure("endless chunked body", lambda: flood.search("x"))
    bomb = CTGovClient(serve(bomb_reply(args.bomb_mib)), max_response_bytes=limit, rate=None)
    measure("gzip bomb", lambda: bomb.search("x"))
    liar = PubMedClient(serve(declared), api_key="")
    measure("8 GiB declared", lambda: liar.search("x"))
    nowhere = PubMedClient("http://nothing-here.invalid/", api_key="")
    measure("unresolvable host", lambda: nowhere.search("x"))

    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        folder = Path(tmp)
        ris = folder / "huge.ris"
        with open(ris, "wb") as out:
            out.write(b"TY  - JOUR\nTI  - A title\nAB  - ")
            for _ in range(args.ris_mib):
                out.write(b"a" * MiB)
            out.write(b"\nER  - \n")
        project = folder / "review"
        assert main(["init", str(project), "--json"]) == 0

        def import_ris() -> object:
            code = main(["import", str(project), str(ris), "--json"])
            if code:
                raise MetareviewError(f"exit {code} (the error line is above)")
            return code

        measure(f"RIS line of {args.ris_mib} MiB", import_ris)

        main(["export", str(project), "--records"])  # import the screening modules first
        writer = sqlite3.connect(project / "project.sqlite", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO project_meta (key, value) VALUES ('busy', '1')")
        measure(
            "export while write-locked",
            lambda: main(["export", str(project), "--records"]),
            trace=False,
        )
        writer.execute("ROLLBACK")
        writer.close()


if __name__ == "__main__":
    main_()
