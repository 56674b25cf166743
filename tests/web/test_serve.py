"""``metareview serve``: the URL it prints, the token, the host warning, Ctrl-C, bad input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from metareview.cli import main

CODE = "import sys; from metareview.cli import main; sys.exit(main(sys.argv[1:]))"


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"open (http://\S+)", line)
    if found is None:
        proc.kill()
        pytest.fail(line + (proc.stderr.read() if proc.stderr else ""))
    return proc, found.group(1)


def test_serve_prints_a_token_url_and_stops_on_ctrl_c(e2e_project: Path) -> None:
    proc, url = _serve(str(e2e_project), "--port", "0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}", url)
        base = url.split("/?")[0]
        assert httpx.get(base + "/").status_code == 403
        with httpx.Client() as client:
            r = client.get(url, follow_redirects=True)
            assert r.status_code == 200 and "Drug A versus placebo" in r.text
            assert r.url == httpx.URL(base + "/")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "metareview serve: stopped" in out
    assert "Traceback" not in err


def test_serve_warns_when_listening_beyond_this_machine(e2e_project: Path) -> None:
    proc, url = _serve(str(e2e_project), "--port", "0", "--host", "0.0.0.0")
    # Ctrl-C once the server answers (a signal during uvicorn's start-up can be lost)
    base = url.split("/?")[0]
    for _ in range(600):
        try:
            httpx.get(base + "/", timeout=1.0)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "warning: listening on 0.0.0.0" in err
    assert url.startswith("http://127.0.0.1:")


def test_serve_refuses_a_folder_that_is_not_a_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a metareview project" in err[0]
