"""The web app in-process (FastAPI's TestClient, no server): security, screening, links,
extraction, analysis and downloads, each checked against the store through the same API the CLI
uses, or against a hand calculation."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metareview.cli import main
from metareview.extraction.stored import current_values
from metareview.review.store import analyse_project
from metareview.screening.decisions import Screening
from metareview.sources.record import Record
from metareview.store import Project
from metareview.web import create_app
from metareview.web.render import highlight, sentences

from .conftest import TOKEN, login

# -- security ----------------------------------------------------------------------------------


def test_every_request_needs_the_token(client: TestClient) -> None:
    for path in ("/", "/screening", "/static/htmx.min.js", "/download/decisions.csv"):
        assert client.get(path).status_code == 403, path
    assert client.get("/?token=wrong").status_code == 403
    r = client.get(f"/screening?token={TOKEN}&stage=full_text", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/screening?stage=full_text"  # the token leaves the URL
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/").status_code == 200  # the cookie now


def test_security_headers(client: TestClient) -> None:
    login(client)
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    # no inline script anywhere: every <script> has a src
    assert re.findall(r"<script(?![^>]*\bsrc=)", r.text) == []
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and htmx.text.startswith("/*! htmx 2.0.11")


def test_state_changes_need_the_csrf_token(client: TestClient, e2e_project: Path) -> None:
    csrf = login(client)
    assert client.post("/reviewer", data={"name": "Ana"}).status_code == 403
    assert client.post("/reviewer", data={"name": "Ana", "csrf_token": "x"}).status_code == 403
    assert (
        client.post("/reviewer", data={"name": "Ana"}, headers={"X-CSRF-Token": "nope"}).status_code
        == 403
    )
    with Screening.open(e2e_project) as s:
        assert "Ana" not in s.reviewers()
    assert client.post("/reviewer", data={"name": "Ana", "csrf_token": csrf}).status_code == 200
    with Screening.open(e2e_project) as s:
        assert "Ana" in s.reviewers()
    # the header form (what htmx sends) works too
    r = client.post("/screening/note", data={"note": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200


def test_a_decision_needs_a_reviewer_name(client: TestClient, e2e_project: Path) -> None:
    csrf = login(client)
    assert (
        client.get("/screening", follow_redirects=False)
        .headers["location"]
        .startswith("/reviewer?next=")
    )
    before = _decisions(e2e_project)
    r = client.post(
        "/screening/decide", data={"record_id": "2", "decision": "include", "csrf_token": csrf}
    )
    assert r.status_code == 400 and "reviewer name" in r.text
    assert _decisions(e2e_project) == before


def test_record_fields_are_escaped(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert main(["init", str(project), "--protocol", "tests/data/e2e/protocol.yaml"]) == 0
    evil = '<script>alert(1)</script> Drug A & "B" <img src=x onerror=alert(2)>'
    with Project.open(project) as p:
        p.add_records(
            [Record(source="pubmed", title=evil, abstract=evil, source_id="1")], source="pubmed"
        )
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        login(c, "Ana")
        page = c.get("/screening").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_highlight_escapes_and_marks_terms() -> None:
    # by hand: the two terms marked where they stand as words, everything else escaped
    out = highlight("Drug A <b>in</b> adults; drugs", [("drug a", "inc"), ("adults", "inc")])
    assert str(out) == (
        '<mark class="inc">Drug A</mark> &lt;b&gt;in&lt;/b&gt; <mark class="inc">adults</mark>; '
        "drugs"
    )
    assert sentences("One. Two 2.5 mg! (Three) x. four") == [
        "One.",
        "Two 2.5 mg!",
        "(Three) x. four",
    ]


# -- screening ---------------------------------------------------------------------------------


def _decisions(
    project: Path, reviewer: str | None = None
) -> list[tuple[int, str, str, str | None]]:
    with Screening.open(project) as s:
        return [
            (d.record_id, d.stage, d.decision, d.reason) for d in s.decisions(reviewer=reviewer)
        ]


def _current(text: str) -> int | None:
    m = re.search(r'data-record-id="(\d+)"', text)
    return int(m.group(1)) if m else None


def _post(client: TestClient, path: str, csrf: str, **data: object) -> str:
    r = client.post(
        path,
        data={k: str(v) for k, v in data.items()},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    return r.text


def _fresh_project(tmp_path: Path) -> Path:
    project = tmp_path / "fresh"
    e2e = Path("tests/data/e2e")
    for argv in (
        ["init", str(project), "--protocol", str(e2e / "protocol.yaml")],
        [
            "import",
            str(project),
            *(str(e2e / f) for f in ("pubmed.xml", "search.ris", "ctgov.json")),
        ],
        ["dedupe", str(project)],
    ):
        assert main(argv) == 0
    return project


def test_screening_decisions_reach_the_store(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Ana")
        page = c.get("/screening").text
        first = _current(page)
        assert first is not None
        assert "Relevant records left" in page and '<svg class="curve"' in page
        page = _post(c, "/screening/note", csrf, note="checked the registry")
        page = _post(c, "/screening/decide", csrf, record_id=first, decision="include")
        second = _current(page)
        assert second not in (None, first)
        # the same key press sent twice: stored once
        _post(c, "/screening/decide", csrf, record_id=first, decision="include")
        page = _post(
            c, "/screening/decide", csrf, record_id=second, decision="exclude", reason="design"
        )
        page = _post(c, "/screening/undo", csrf)
        assert _current(page) == second  # the undone record comes back first
        page = _post(c, "/screening/decide", csrf, record_id=second, decision="maybe")
        assert _current(page) not in (first, second)  # the ranker's next, retrained
    with Screening.open(project) as s:
        mine = s.decisions(reviewer="Ana")
        assert [(d.record_id, d.decision, d.reason, d.note) for d in mine] == [
            (first, "include", None, "checked the registry"),
            (second, "maybe", None, None),
        ]
        undone = [d for d in s.decisions(reviewer="Ana", include_undone=True) if not d.active]
        assert [(d.record_id, d.decision, d.reason) for d in undone] == [
            (second, "exclude", "design")
        ]


def test_bad_reason_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Ana")
        first = _current(c.get("/screening").text)
        r = c.post(
            "/screening/decide",
            data={"record_id": str(first), "decision": "exclude", "reason": "nonsense"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert r.headers["hx-retarget"] == "#flash"
        assert "reason &#39;nonsense&#39; is not an eligibility code" in r.text
    assert _decisions(project) == []


def test_two_reviewers_at_once_lose_nothing(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    app = create_app(project, token=TOKEN)
    done: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def screen(name: str) -> None:
        try:
            with TestClient(app, base_url="http://127.0.0.1") as c:
                csrf = login(c, name)
                rid = _current(c.get("/screening").text)
                seen: list[int] = []
                while rid is not None:
                    seen.append(rid)
                    page = _post(
                        c,
                        "/screening/decide",
                        csrf,
                        record_id=rid,
                        decision="include" if rid % 2 else "exclude",
                    )
                    rid = _current(page)
                done[name] = seen
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=screen, args=(n,)) for n in ("Ana", "Ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Screening.open(project) as s:
        candidates = sorted(s.candidates("title_abstract"))
        for name in ("Ana", "Ben"):
            ids = [d.record_id for d in s.decisions(reviewer=name, stage="title_abstract")]
            assert sorted(ids) == candidates == sorted(done[name])  # each once, none lost


def test_conflicts_and_resolution(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    with Screening.open(project) as s:
        s.decide(2, "title_abstract", "include", reviewer="Ana")
        s.decide(2, "title_abstract", "exclude", reviewer="Ben", reason="design")
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Cleo")
        page = c.get("/screening/conflicts").text
        assert 'id="conflict-title_abstract-2"' in page
        r = c.post(
            "/screening/resolve",
            data={
                "record_id": "2",
                "stage": "title_abstract",
                "decision": "exclude",
                "reason": "design",
                "csrf_token": csrf,
            },
        )
        assert r.status_code == 200 and 'id="conflict-title_abstract-2"' not in r.text
    with Screening.open(project) as s:
        final = s.final_decisions("title_abstract")[2]
        assert (final.decision, final.basis) == ("exclude", "resolution")


# -- duplicates and studies ------------------------------------------------------------------------


def test_not_a_duplicate_and_manual_links(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Ana")
        page = c.get("/duplicates").text
        assert 'id="link-1"' in page  # DOI link 3 <-> 5 made by dedupe
        r = c.post("/duplicates/undo", data={"link_id": "1", "csrf_token": csrf})
        assert r.status_code == 200 and 'id="link-1"' not in r.text
        r = c.post(
            "/studies/link",
            data={"records": "4 8", "reason": "same trial", "label": "GAMMA", "csrf_token": csrf},
        )
        assert r.status_code == 200 and "GAMMA" in r.text
    with Project.open(project) as p:
        undone = p.connection.execute(
            "SELECT undone_at IS NOT NULL, undo_reason FROM dedupe_links WHERE id = 1"
        ).fetchone()
        assert undone[0] == 1 and "not a duplicate" in undone[1]
        assert p.study_of(4) == p.study_of(8) is not None


# -- extraction, analysis ---------------------------------------------------------------------


def _form(c: TestClient, study: int, outcome: str) -> str:
    r = c.get(f"/extraction/{study}/{outcome}")
    assert r.status_code == 200, r.text
    return r.text


def test_extraction_form_stores_values_and_the_forest_plot_follows(
    client: TestClient, e2e_project: Path
) -> None:
    csrf = login(client, "Ana")
    listing = client.get("/extraction").text
    study = int(re.findall(r'href="/extraction/(\d+)/sae"', listing)[0])
    page = _form(client, study, "sae")
    refs = re.findall(r'<option value="([^"]+)"', page.split('class="source-record"')[1])
    ref = refs[0]
    empty = client.get("/analysis/forest/sae").text
    assert "No forest plot for sae yet" in empty
    form = {
        "csrf_token": csrf,
        "r1-n": "50",
        "r1-events": "5",
        "r1-status": "reported",
        "r1-source_record": ref,
        "r1-location": "abstract, sentence 3",
        "r1-quote": "5 of 50 patients had an SAE",
        "r2-n": "50",
        "r2-events": "10",
        "r2-status": "reported",
        "r2-source_record": ref,
        "r2-location": "abstract, sentence 3",
        "r2-quote": "10 of 50 on placebo",
    }
    r = client.post(f"/extraction/{study}/sae", data=form)
    assert r.status_code == 200, r.text
    assert "4 values stored" in r.text
    with Project.open(e2e_project) as p:
        stored = {
            (v.key.group, v.key.field): v
            for v in current_values(p, study_id=study)
            if v.key.outcome == "sae"
        }
    assert {k: v.value for k, v in stored.items()} == {
        ("intervention", "n"): 50,
        ("intervention", "events"): 5,
        ("comparator", "n"): 50,
        ("comparator", "events"): 10,
    }
    assert stored[("intervention", "events")].quote == "5 of 50 patients had an SAE"
    assert stored[("intervention", "events")].location == "abstract, sentence 3"
    assert stored[("intervention", "events")].reviewer == "Ana"
    # the forest plot now exists; the pooled RR (k = 1) is the study's, by hand:
    # RR = (5/50)/(10/50) = 0.5, var(log RR) = 1/5 - 1/50 + 1/10 - 1/50 = 0.26 (metafor escalc RR)
    assert (
        'id="forest-img" src="/report/figures/sae-forest.svg'
        in client.get("/analysis/forest/sae").text
    )
    svg = client.get("/report/figures/sae-forest.svg")
    assert svg.status_code == 200 and "<svg" in svg.text
    result = analyse_project(e2e_project)
    sae = next(a for a in result.analyses if a.outcome == "sae")
    fit = sae.fit
    assert fit is not None
    assert math.isclose(float(fit.beta), math.log(0.5), rel_tol=1e-9)
    assert math.isclose(float(fit.se), math.sqrt(0.26), rel_tol=1e-9)
    # the analysis page prints what `metareview analyse` prints
    page = client.get("/analysis").text
    assert result.summary().splitlines()[0] in page


def test_extraction_errors_name_row_and_column_and_store_nothing(
    client: TestClient, e2e_project: Path
) -> None:
    csrf = login(client, "Ana")
    study = int(re.findall(r'href="/extraction/(\d+)/sae"', client.get("/extraction").text)[0])
    r = client.post(
        f"/extraction/{study}/sae",
        data={
            "csrf_token": csrf,
            "r1-n": "50",
            "r1-events": "60",
            "r1-status": "reported",
            "r2-n": "abc",
            "r2-status": "reported",
        },
    )
    assert r.status_code == 422
    error = re.search(r'id="form-error">([^<]*)<', r.text)
    assert error is not None
    assert "row 1" in error.group(1) and "row 2" in error.group(1)
    assert 'value="60"' in r.text  # what was typed is kept
    with Project.open(e2e_project) as p:
        assert current_values(p, study_id=study) == []


def test_two_reviewers_values_side_by_side(client: TestClient, e2e_project: Path) -> None:
    csrf = login(client, "Ana")
    study = int(re.findall(r'href="/extraction/(\d+)/sae"', client.get("/extraction").text)[0])
    base = {
        "r1-status": "assumed",
        "r1-why": "not reported",
        "r2-status": "assumed",
        "r2-why": "not reported",
        "r1-n": "50",
        "r2-n": "50",
        "r2-events": "10",
    }
    assert (
        client.post(
            f"/extraction/{study}/sae", data={**base, "r1-events": "5", "csrf_token": csrf}
        ).status_code
        == 200
    )
    client.cookies.clear()
    csrf = login(client, "Ben")
    assert (
        client.post(
            f"/extraction/{study}/sae", data={**base, "r1-events": "6", "csrf_token": csrf}
        ).status_code
        == 200
    )
    page = _form(client, study, "sae")
    assert "<th>Ana</th>" in page
    differs = re.findall(r'<td class="theirs differs">([^<]*)</td>', page)
    assert differs == ["5"]  # only the intervention events differ (Ben 6, Ana 5)
    assert 'class="conflict"' in client.get("/extraction").text


# -- downloads -----------------------------------------------------------------------------------


def test_downloads_match_the_cli(
    client: TestClient, e2e_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    login(client)
    capsys.readouterr()
    assert main(["export", str(e2e_project), "--decisions"]) == 0
    cli = capsys.readouterr().out
    r = client.get("/download/decisions.csv")
    assert r.status_code == 200 and r.text == cli
    assert r.headers["content-disposition"] == 'attachment; filename="decisions.csv"'
    assert main(["prisma", str(e2e_project), "--json"]) == 0
    cli_json = capsys.readouterr().out.strip()
    assert client.get("/download/prisma.json").text == cli_json
    assert client.get("/download/nothing.csv").status_code == 404
    assert client.get("/report/../project.sqlite").status_code == 404


def test_overview_counts_are_the_prisma_counts(client: TestClient, e2e_project: Path) -> None:
    login(client)
    data = client.get("/overview.json").json()
    with Screening.open(e2e_project) as s:
        from metareview.screening.prisma import prisma_counts

        assert data["prisma"] == prisma_counts(s).to_dict()
    assert data["progress"]["title_abstract"]["reviewers"]["alice"]["include"] == 5
    page = client.get("/").text
    assert f'id="studies-included">{data["prisma"]["studies_included"]}<' in page


def test_app_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    from metareview.errors import StoreError

    with pytest.raises(StoreError, match="not a metareview project"):
        create_app(tmp_path)


def test_cli_beside_the_app(tmp_path: Path) -> None:
    """A decision made with `metareview decide` while the app is open: the app's session
    catches up (the record leaves the reviewer's queue) and nothing is decided twice."""
    project = _fresh_project(tmp_path)
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Ana")
        page = c.get("/screening").text
        assert '<mark class="inc">' in page  # the protocol's key terms highlighted
        shown = _current(page)
        csv = tmp_path / "d.csv"
        csv.write_text(
            f"record_id,stage,decision,reason,reviewer\n{shown},title_abstract,include,,Ana\n",
            encoding="utf-8",
        )
        assert main(["decide", str(project), str(csv)]) == 0
        # the page still shows the record; pressing a key on it is not stored again
        page = _post(c, "/screening/decide", csrf, record_id=shown, decision="exclude")
        assert f"record {shown} is already decided" in page
        assert _current(page) != shown
    assert _decisions(project, "Ana") == [(shown, "title_abstract", "include", None)]


def test_registry_values_are_marked_for_confirmation(client: TestClient, e2e_project: Path) -> None:
    """ALPHA-B's posted results (tests/data/e2e/README.md): SAE 4/60 vs 2/60, pre-filled from
    the registry, shown for confirmation, with the results table cell that holds each."""
    csrf = login(client, "Ana")
    r = client.post("/extraction/registry", data={"csrf_token": csrf})
    assert r.status_code == 200 and "19 values pre-filled" in r.text
    study = int(re.findall(r'href="/extraction/(\d+)/sae"', r.text)[0])
    page = _form(client, study, "sae")
    assert page.count("from registry results: check and save to confirm") == 2
    assert 'name="r1-events" class="num" inputmode="decimal" value="4"' in page
    assert 'name="r2-n" class="num" inputmode="decimal" value="60"' in page
    cells = re.findall(r'<td class="cell" data-loc="([^"]+)"[^>]*data-value="([^"]+)"', page)
    assert tuple(v for loc, v in cells if "seriousNumAffected" in loc) == ("4", "2")
