"""Web screening round trip on a 5,000-record project: key press -> decision stored -> model
updated -> next record rendered, as a reviewer in a browser sees it.

Two measurements per point of a screening (after 50 and 1,000 records have been decided; the
decisions before each point are bulk-imported untimed):

* ``browser``: ``metareview serve`` in a subprocess, Debian's headless Chromium driven by
  Playwright; from the key press (``i``, or ``e`` then ``Enter`` for an exclusion without a
  reason) until the page shows the next record (``#screen[data-record]`` changed): the htmx
  request, the decision's audited transaction, the ranker's refit and ranking, the estimate of
  relevant records left, the template rendered and swapped in.
* ``in_process``: the same POST through FastAPI's TestClient (no network, no browser).

Records: the first 5,000 of the Cohen (2006) sets in ``../shared/data/screening-cohen2006``
(as ``benchmarks/screening_next_record.py``), decided by their ``label1``.

Usage (from the project root)::

    nice .venv/bin/python benchmarks/web_screening_roundtrip.py [--records 5000]
        [--decisions 30] [--json benchmarks/results/web_screening_roundtrip.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screening_next_record import DATA, PROTOCOL, _records, _summary

from metareview.screening.decisions import DecisionInput, Screening
from metareview.store import Project

POINTS = (50, 1000)
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _bulk(project: Path, truth: np.ndarray, ids: np.ndarray, reviewer: str) -> None:
    with Screening.open(project, actor="bench") as s:
        rows = [
            DecisionInput(
                str(int(i) + 1), "title_abstract", "include" if truth[i] else "exclude", reviewer
            )
            for i in ids
        ]
        if rows:
            s.decide_many(rows)


def _in_process(project: Path, truth: np.ndarray, decisions: int, who: str) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from metareview.web import create_app

    app = create_app(project, token="bench")
    with TestClient(app, base_url="http://127.0.0.1") as c:
        c.get("/?token=bench")
        csrf = app.web.sessions.by_id[str(c.cookies.get("metareview_session"))].csrf
        c.post("/reviewer", data={"name": who, "csrf_token": csrf})
        t0 = time.perf_counter()
        page = c.get("/screening").text
        start = time.perf_counter() - t0
        times = []
        for _ in range(decisions):
            rid = int(re.search(r'data-record-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
            t0 = time.perf_counter()
            page = c.post(
                "/screening/decide",
                data={
                    "record_id": str(rid),
                    "decision": "include" if truth[rid - 1] else "exclude",
                },
                headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
            ).text
            times.append(1000 * (time.perf_counter() - t0))
    return {"start_s": round(start, 2), **_summary(times)}


def _browser(project: Path, truth: np.ndarray, decisions: int, who: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    code = "import sys; from metareview.cli import main; sys.exit(main(sys.argv[1:]))"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(project), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        url = re.search(r"open (http://\S+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        base = url.split("/?")[0]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(url)
            page.goto(base + "/reviewer?next=/screening")
            page.fill("#name", who)
            t0 = time.perf_counter()
            page.press("#name", "Enter")
            page.wait_for_selector("#record")
            start = time.perf_counter() - t0
            times = []
            for _ in range(decisions):
                rid = page.get_attribute("#screen", "data-record")
                include = bool(truth[int(str(rid)) - 1])
                t0 = time.perf_counter()
                page.keyboard.press("i" if include else "e")
                if not include:
                    page.keyboard.press("Enter")
                page.wait_for_function(
                    "r => document.querySelector('#screen').dataset.record !== r",
                    arg=rid,
                    polling="raf",
                )
                times.append(1000 * (time.perf_counter() - t0))
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    return {"start_s": round(start, 2), **_summary(times)}


def run(n: int, decisions: int) -> dict[str, Any]:
    records, truth = _records(n)
    out: dict[str, Any] = {
        "records": n,
        "decisions_timed_per_point": decisions,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "points": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        protocol = Path(tmp) / "protocol.yaml"
        protocol.write_text(PROTOCOL, encoding="utf-8")
        project = Path(tmp) / "p"
        with Project.init(project, protocol_file=protocol, actor="bench") as p:
            p.add_records(records, source="PubMed", actor="bench")
        order = np.random.default_rng(0).permutation(n)
        for point in POINTS:
            # each measured reviewer (a new name per point) starts from `point` own decisions
            inproc, browser = f"inproc-{point}", f"browser-{point}"
            for who in (inproc, browser):
                _bulk(project, truth, order[:point], who)
            out["points"].append(
                {
                    "decided_before": point,
                    "in_process": _in_process(project, truth, decisions, inproc),
                    "browser": _browser(project, truth, decisions, browser),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent (it exists only beside a development checkout)")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is absent (apt-get install chromium)")
    result = run(args.records, args.decisions)
    print(
        f"{result['records']} records, {result['cpus']} CPUs, "
        f"{result['decisions_timed_per_point']} decisions timed per point"
    )
    print(
        f"{'decided before':>15} {'how':>11} {'start (s)':>10} {'median ms':>10} "
        f"{'p95 ms':>8} {'max ms':>8}"
    )
    for pt in result["points"]:
        for how in ("in_process", "browser"):
            r = pt[how]
            print(
                f"{pt['decided_before']:>15} {how:>11} {r['start_s']:>10} {r['median_ms']:>10} "
                f"{r['p95_ms']:>8} {r['max_ms']:>8}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
