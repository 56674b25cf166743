"""``metareview search``: live results and their PRISMA-S row stored together, or nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer

from metareview.cli import main
from metareview.sources.clients.base import SearchResult
from metareview.sources.clients.ctgov import CTGovClient
from metareview.store import Project
from metareview.store.ingest import search_into_project

Payload = Callable[[str], bytes]
QUERY = "imatinib AND systemic sclerosis"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "review"
    assert main(["init", str(folder), "--json"]) == 0
    return folder


def rows(folder: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def serve_pubmed(server: HTTPServer, payload: Payload) -> None:
    esearch = json.loads(payload("pubmed_esearch.json"))
    esearch["esearchresult"]["count"] = "2"
    server.expect_ordered_request("/eutils/esearch.fcgi").respond_with_json(esearch)
    server.expect_ordered_request("/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_1.xml"), content_type="text/xml"
    )


def test_pubmed_search_stores_records_and_prisma_s_row(
    server: HTTPServer, payload: Payload, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_pubmed(server, payload)
    capsys.readouterr()
    code = main(
        [
            "search",
            str(project),
            "pubmed",
            QUERY,
            "--base-url",
            server.url_for("/eutils/"),
            "--json",
            "--email",
            "reviewer@example.org",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)
    assert summary["n_reported"] == 2 and summary["n_retrieved"] == 2
    assert summary["n_added"] == 2 and summary["source"] == "pubmed"
    assert server.log[0][0].args["email"] == "reviewer@example.org"

    (imp,) = rows(project, "SELECT id, source, query, format, n_records, n_added FROM imports")
    assert imp[1:] == ("pubmed", QUERY, "pubmed-xml", 2, 2)
    (search,) = rows(
        project,
        "SELECT import_id, source, query, n_reported, n_retrieved, max_records, searched_at "
        "FROM searches",
    )
    assert search[:6] == (imp[0], "pubmed", QUERY, 2, 2, None)
    assert search[6] == summary["searched_at"]
    records = rows(project, "SELECT pmid, origin_query, raw_format FROM records ORDER BY id")
    assert records == [
        ("21398330", QUERY, "pubmed-xml"),
        ("21769849", QUERY, "pubmed-xml"),
    ]
    actions = [r[0] for r in rows(project, "SELECT action FROM audit_log")]
    assert "search" in actions and "import" in actions


def test_repeated_search_adds_no_records_but_logs_the_search(
    server: HTTPServer, payload: Payload, project: Path
) -> None:
    for _ in range(2):
        serve_pubmed(server, payload)
        assert (
            main(
                [
                    "search",
                    str(project),
                    "pubmed",
                    QUERY,
                    "--base-url",
                    server.url_for("/eutils/"),
                    "--json",
                ]
            )
            == 0
        )
        server.clear()
    assert rows(project, "SELECT COUNT(*) FROM records") == [(2,)]
    assert rows(project, "SELECT n_added, n_duplicates FROM imports ORDER BY id") == [
        (2, 0),
        (0, 2),
    ]
    assert rows(project, "SELECT COUNT(*) FROM searches") == [(2,)]


def test_ctgov_search_with_max(
    server: HTTPServer, payload: Payload, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.expect_ordered_request("/api/v2/studies").respond_with_data(
        payload("ctgov_page_1.json"), content_type="application/json"
    )
    capsys.readouterr()
    code = main(
        [
            "search",
            str(project),
            "ctgov",
            QUERY,
            "--max",
            "2",
            "--base-url",
            server.url_for("/api/v2/"),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_reported"], summary["n_retrieved"]) == (3, 2)
    assert rows(project, "SELECT n_reported, n_retrieved, max_records FROM searches") == [(3, 2, 2)]
    assert rows(project, "SELECT source_id, kind FROM records ORDER BY id") == [
        ("NCT00555581", "registry"),
        ("NCT00512902", "registry"),
    ]


def test_failed_search_leaves_the_project_unchanged(
    server: HTTPServer, payload: Payload, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.expect_ordered_request("/rest/search").respond_with_data(
        payload("europepmc_page_1.json")
    )
    server.expect_ordered_request("/rest/search").respond_with_data(b'{"hitCount": 3, "resul')
    before = rows(project, "SELECT COUNT(*) FROM audit_log")
    capsys.readouterr()
    code = main(
        ["search", str(project), "europepmc", QUERY, "--base-url", server.url_for("/rest/")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("metareview: error: ") and err.count("\n") == 1
    assert "malformed JSON at line 1" in err and "cursorMark" in err
    assert rows(project, "SELECT COUNT(*) FROM records") == [(0,)]
    assert rows(project, "SELECT COUNT(*) FROM imports") == [(0,)]
    assert rows(project, "SELECT COUNT(*) FROM audit_log") == before


def test_search_row_failure_rolls_back_the_records(
    server: HTTPServer, payload: Payload, project: Path, fake: FakeClock
) -> None:
    """The PRISMA-S row and the records are one transaction: if the row fails, no records."""

    class BrokenCount(CTGovClient):
        def search(self, query: str, **kw: Any) -> SearchResult:
            result = super().search(query, **kw)
            result.count = None  # type: ignore[assignment]  # violates searches.n_reported NOT NULL
            return result

    server.expect_ordered_request("/api/v2/studies").respond_with_data(payload("ctgov_page_1.json"))
    server.expect_ordered_request("/api/v2/studies").respond_with_data(payload("ctgov_page_2.json"))
    client = BrokenCount(server.url_for("/api/v2/"), sleep=fake.sleep, clock=fake.clock)
    with Project.open(project) as opened, pytest.raises(sqlite3.IntegrityError):
        search_into_project(opened, client, QUERY)
    assert rows(project, "SELECT COUNT(*) FROM records") == [(0,)]
    assert rows(project, "SELECT COUNT(*) FROM imports") == [(0,)]


def test_unknown_source_is_a_usage_error(project: Path) -> None:
    assert main(["search", str(project), "scopus", QUERY]) == 2


def test_search_needs_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", str(tmp_path / "missing"), "pubmed", QUERY])
    assert code == 2
    assert "not a metareview project" in capsys.readouterr().err
