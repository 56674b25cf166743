"""The web app end to end in Debian's headless Chromium, driven by Playwright for Python.

``metareview serve`` runs as a subprocess (the command a user types, stopped with Ctrl-C at
the end); Playwright drives ``/usr/bin/chromium`` (its own browser download cannot work here).
Checked: 20 records screened by keyboard alone reach the store; a two-arm study extracted with
a quote selected in the abstract changes the forest plot; a key pressed while the next record
arrives is posted by htmx, not natively; two browser contexts screening the same project at
once lose nothing; requests without the token or the CSRF value are refused;
no page logs a console message (a CSP violation would). Screenshots of every page are kept in
``test-artifacts/web/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main
from metareview.extraction.stored import current_values
from metareview.screening.decisions import Screening
from metareview.sources.record import Record
from metareview.store import Project

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E = Path(__file__).resolve().parents[1] / "data" / "e2e"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


class Server:
    """``metareview serve DIR --port 0`` in a subprocess; ``url`` carries the token."""

    def __init__(self, project: Path) -> None:
        code = "import sys; from metareview.cli import main; sys.exit(main(sys.argv[1:]))"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", str(project), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"open (http://\S+)", line)
        assert found, line + (self.proc.stderr.read() if self.proc.stderr else "")
        self.url = found.group(1)
        self.base = self.url.split("/?")[0]

    def stop(self) -> tuple[int, str]:
        """Ctrl-C (SIGINT), as a user stops it; the exit code and what it printed last."""
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        return self.proc.returncode, out


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@contextmanager
def serving(project: Path) -> Iterator[Server]:
    server = Server(project)
    try:
        yield server
    finally:
        code, out = server.stop()
        assert code == 0, out
        assert "stopped" in out


def _screening_project(tmp_path: Path, n: int = 26) -> Path:
    """A project of ``n`` made-up records (titles and abstracts vary so the ranker learns)."""
    project = tmp_path / "screen"
    assert main(["init", str(project), "--protocol", str(E2E / "protocol.yaml")]) == 0
    topics = [
        "drug A in adults with condition B",
        "a survey of clinicians",
        "drug A versus placebo, randomised",
        "healthy volunteers phase 1 study",
    ]
    records = [
        Record(
            source="pubmed",
            source_id=str(1000 + i),
            title=f"Trial {i}: {topics[i % 4]}",
            abstract=f"Background. We studied {topics[i % 4]}. Results were reported in "
            f"{20 + i} participants.",
            year=2020,
        )
        for i in range(n)
    ]
    with Project.open(project) as p:
        p.add_records(records, source="pubmed")
    return project


def _page(browser: Any, server: Server, reviewer: str | None) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(server.url)
    assert page.url == server.base + "/"
    if reviewer:
        page.goto(server.base + "/reviewer?next=/screening")
        page.fill("#name", reviewer)
        page.press("#name", "Enter")
        page.wait_for_url("**/screening")
    return context, page, console


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def _record(page: Any) -> str:
    return str(page.get_attribute("#screen", "data-record"))


def _press(page: Any, *keys: str) -> str:
    """Press keys on the screening page; wait until the next record is shown."""
    before = _record(page)
    for key in keys:
        page.keyboard.press(key)
    page.wait_for_function(
        "b => document.querySelector('#screen').dataset.record !== b", arg=before
    )
    return _record(page)


def test_screen_20_records_by_keyboard(browser: Any, tmp_path: Path) -> None:
    project = _screening_project(tmp_path)
    with serving(project) as server:
        context, page, console = _page(browser, server, "Ana")
        _shot(page, "screening")
        expected: dict[int, tuple[str, str | None]] = {}
        plan = ["i", "e", "m", "e4", "i"]
        for n in range(20):
            rid = int(_record(page))
            keys = plan[n % len(plan)]
            if keys == "e4":
                page.keyboard.press("e")
                assert page.is_visible("#reasons")
                if n == 3:
                    _shot(page, "screening-reasons")
                _press(page, "4")  # the 4th criterion: design
                expected[rid] = ("exclude", "design")
            elif keys == "e":
                page.keyboard.press("e")
                _press(page, "Enter")  # no reason (title/abstract)
                expected[rid] = ("exclude", None)
            else:
                _press(page, keys)
                expected[rid] = ({"i": "include", "m": "maybe"}[keys], None)
            if n == 7:  # undo the last decision and take it again, as maybe, with a note
                undone = _press(page, "u")
                assert int(undone) == rid
                page.keyboard.press("n")
                page.keyboard.type("second look")
                page.wait_for_function(
                    "() => document.querySelector('#note').value === 'second look'"
                )
                page.keyboard.press("Enter")
                page.wait_for_selector("#screen-message:has-text('note kept')")
                _press(page, "m")
                expected[rid] = ("maybe", None)
        assert "20</strong>/26 screened" in page.inner_html("#progress")
        _shot(page, "screening-after-20")
        for path, name in (
            ("/", "overview"),
            ("/screening/conflicts", "conflicts"),
            ("/duplicates", "duplicates"),
            ("/studies", "studies"),
            ("/reviewer", "reviewer"),
        ):
            page.goto(server.base + path)
            _shot(page, name)
        assert console == [], "\n".join(console)
        context.close()
    with Screening.open(project) as s:
        got = {d.record_id: (d.decision, d.reason) for d in s.decisions(reviewer="Ana")}
        notes = [d.note for d in s.decisions(reviewer="Ana") if d.note]
    assert got == expected and len(got) == 20
    assert notes == ["second look"]


def test_a_key_pressed_as_the_next_record_arrives_stays_in_the_page(
    browser: Any, tmp_path: Path
) -> None:
    """A decision key pressed between htmx's swap of the next record and its settle (20 ms
    later, when htmx attaches to the new forms) is posted by htmx, not natively: no full page
    load (which lost the keys typed during it), and both decisions are stored. The key is sent
    from an ``htmx:afterSwap`` handler, so it lands inside that window every time."""
    project = _screening_project(tmp_path, n=6)
    with serving(project) as server:
        context, page, console = _page(browser, server, "Ana")
        first = int(_record(page))
        page.evaluate(
            """() => document.body.addEventListener("htmx:afterSwap", () => {
                const at = document.activeElement || document.body;
                at.dispatchEvent(new KeyboardEvent("keydown", {key: "m", bubbles: true}));
            }, {once: true})"""
        )
        page.keyboard.press("i")
        page.wait_for_function(
            "f => document.querySelector('#screen').dataset.record !== String(f) && "
            "(document.querySelector('#screen-message')?.textContent ?? '').includes('maybe')",
            arg=first,
        )
        assert page.url == server.base + "/screening"
        assert console == [], "\n".join(console)
        context.close()
    with Screening.open(project) as s:
        got = sorted(d.decision for d in s.decisions(reviewer="Ana"))
    assert got == ["include", "maybe"]


def test_two_browser_contexts_screen_at_once(browser: Any, tmp_path: Path) -> None:
    project = _screening_project(tmp_path, n=12)
    with serving(project) as server:
        ca, a, _ = _page(browser, server, "Ana")
        cb, b, _ = _page(browser, server, "Ben")
        made: dict[str, list[int]] = {"Ana": [], "Ben": []}
        for _ in range(12):
            ra, rb = _record(a), _record(b)
            made["Ana"].append(int(ra))
            made["Ben"].append(int(rb))
            a.keyboard.press("i")  # both requests in flight together
            b.keyboard.press("m")
            a.wait_for_function(
                "r => document.querySelector('#screen').dataset.record !== r", arg=ra
            )
            b.wait_for_function(
                "r => document.querySelector('#screen').dataset.record !== r", arg=rb
            )
        assert a.is_visible("#nothing-left") and b.is_visible("#nothing-left")
        ca.close()
        cb.close()
    with Screening.open(project) as s:
        for name, decision in (("Ana", "include"), ("Ben", "maybe")):
            ds = s.decisions(reviewer=name)
            assert sorted(d.record_id for d in ds) == sorted(made[name])
            assert len(ds) == 12 and {d.decision for d in ds} == {decision}


def test_requests_without_token_or_csrf_are_refused(browser: Any, tmp_path: Path) -> None:
    project = _screening_project(tmp_path, n=3)
    with serving(project) as server:
        context = browser.new_context()
        page = context.new_page()
        assert page.goto(server.base + "/").status == 403
        assert page.goto(server.base + "/?token=wrong").status == 403
        assert page.goto(server.url).status == 200
        script = """async ([withCsrf]) => {
            const body = new URLSearchParams({record_id: "1", decision: "include"});
            const headers = {"HX-Request": "true"};
            if (withCsrf) {
                const sent = JSON.parse(document.body.getAttribute("hx-headers"));
                headers["X-CSRF-Token"] = sent["X-CSRF-Token"];
            }
            const r = await fetch("/screening/decide", {method: "POST", body, headers});
            return [r.status, await r.text()];
        }"""
        status, text = page.evaluate(script, [False])
        assert status == 403 and "CSRF" in text
        # with the CSRF value the request passes the check (and is refused for want of a name)
        status, text = page.evaluate(script, [True])
        assert status == 200 and "give your reviewer name first" in text
        context.close()
    with Screening.open(project) as s:
        assert s.decisions() == []


def test_extract_with_a_selected_quote_and_the_forest_plot_changes(
    browser: Any, e2e_project: Path
) -> None:
    with serving(e2e_project) as server:
        context, page, console = _page(browser, server, "Ana")
        page.goto(server.base + "/analysis")
        assert page.inner_text("#forest-sae").strip().endswith("not pooled")
        page.goto(server.base + "/extraction")
        _shot(page, "extraction-list")
        page.click("a[href$='/sae']")
        # htmx and app.js are deferred: they listen once the page has loaded (a change or key
        # before that reaches no handler)
        page.wait_for_load_state("load")
        page.wait_for_selector("#forest-img")
        assert "No forest plot" in page.inner_text("#forest")

        def select_sentence(row: int, page: Any = page) -> tuple[str, str]:
            page.click(f"#r{row}-n")  # the arm being edited
            sent = page.locator("section.source span.sent").nth(1)
            box = sent.evaluate(
                "e => { const r = e.getClientRects(); const f = r[0], l = r[r.length - 1];"
                " return [f.left + 1, f.top + f.height / 2, l.right - 1, l.top + l.height / 2]; }"
            )
            page.mouse.move(box[0], box[1])
            page.mouse.down()
            page.mouse.move(box[2], box[3], steps=8)
            page.mouse.up()
            return str(sent.get_attribute("data-loc")), sent.inner_text()

        for row, (n, events) in {1: ("40", "4"), 2: ("40", "9")}.items():
            loc, text = select_sentence(row)
            quote = page.input_value(f"textarea[name='r{row}-quote']")
            assert quote and quote in " ".join(text.split())
            assert page.input_value(f"input[name='r{row}-location']") == loc
            assert page.input_value(f"select[name='r{row}-source_record']")
            page.fill(f"#r{row}-n", n)
            page.fill(f"#r{row}-events", events)
        _shot(page, "extraction-form")
        page.click("#save")
        page.wait_for_selector("#form-message")
        page.wait_for_selector("img#forest-img")
        first = page.get_attribute("img#forest-img", "src")
        svg_1 = page.request.get(server.base + str(first)).text()
        # a value changes: the forest plot is redrawn
        page.fill("#r1-events", "2")
        page.click("#save")
        page.wait_for_selector("#form-message")
        page.wait_for_selector("img#forest-img")
        second = page.get_attribute("img#forest-img", "src")
        svg_2 = page.request.get(server.base + str(second)).text()
        assert first != second and svg_1 != svg_2
        assert "<svg" in svg_2
        _shot(page, "extraction-saved")
        page.goto(server.base + "/analysis")
        page.wait_for_selector("#forest-sae img")
        _shot(page, "analysis")
        assert console == [], "\n".join(console)
        context.close()
    with Project.open(e2e_project) as p:
        values = [v for v in current_values(p) if v.key.outcome == "sae"]
    events = {v.key.group: v.value for v in values if v.key.field == "events"}
    assert events == {"intervention": 2, "comparator": 9}
    assert all(v.quote and v.location.startswith("abstract, sentence") for v in values)


def test_risk_of_bias_judgement_shown_as_answers_are_given(browser: Any, e2e_project: Path) -> None:
    """RoB 2 domain 1 (guidance flowchart): 1.2 (allocation concealed) N -> high."""
    with serving(e2e_project) as server:
        context, page, console = _page(browser, server, "Ana")
        page.goto(server.base + "/rob")
        _shot(page, "rob-list")
        page.click("a[href*='/sae?tool=rob2']")
        page.wait_for_load_state("load")  # htmx's change trigger is attached at load
        page.select_option("select[name='a-1.2']", "N")
        page.wait_for_selector("#judgement-D1:has-text('High')")
        answers = {
            "1.1": "Y",
            "1.2": "Y",
            "1.3": "N",
            "2.1": "N",
            "2.2": "N",
            "2.6": "Y",
            "3.1": "Y",
            "4.1": "N",
            "4.2": "N",
            "4.3": "N",
            "5.1": "Y",
            "5.2": "N",
            "5.3": "N",
        }  # every domain low (tests/appraisal/test_rob2.py: ALL_LOW)
        for q, a in answers.items():
            page.select_option(f"select[name='a-{q}']", a)
        page.wait_for_selector("#judgement-D1:has-text('Low')")
        page.wait_for_selector("#judgement-overall:has-text('Low')")
        _shot(page, "rob-form")
        page.click("#save")
        page.wait_for_selector("#form-message")
        assert console == [], "\n".join(console)
        context.close()
    from metareview.appraisal.stored import assessments

    with Project.open(e2e_project) as p:
        (a,) = assessments(p)
    assert (a.reviewer, a.outcome, a.overall.judgement) == ("Ana", "sae", "low")
