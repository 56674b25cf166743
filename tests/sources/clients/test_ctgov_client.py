"""ClinicalTrials.gov API v2 client against a local server serving /api/v2/studies pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer

from metareview.errors import SourceError
from metareview.sources.clients.ctgov import CTGovClient

QUERY = "imatinib AND systemic sclerosis"

Payload = Callable[[str], bytes]


def client(server: HTTPServer, fake: FakeClock, **kw: Any) -> CTGovClient:
    return CTGovClient(server.url_for("/api/v2/"), sleep=fake.sleep, clock=fake.clock, **kw)


def test_search_follows_next_page_token(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/api/v2/studies").respond_with_data(
        payload("ctgov_page_1.json"), content_type="application/json"
    )
    server.expect_ordered_request("/api/v2/studies").respond_with_data(
        payload("ctgov_page_2.json"), content_type="application/json"
    )
    progress: list[tuple[int, int | None]] = []
    with client(server, fake, page_size=2) as ctgov:
        result = ctgov.search(QUERY, progress=lambda d, t: progress.append((d, t)))
    assert result.count == 3
    assert [r.source_id for r in result.records] == ["NCT00555581", "NCT00512902", "NCT00479934"]
    assert all(r.kind == "registry" and r.origin_query == QUERY for r in result.records)
    assert result.details == {"pages": 2}
    assert progress == [(0, 3), (2, 3), (3, 3)]
    (first, _), (second, _) = server.log
    assert dict(first.args) == {
        "query.term": QUERY,
        "pageSize": "2",
        "countTotal": "true",
        "format": "json",
    }
    assert second.args["pageToken"] == "NF0g5JCCk_Yq"


def test_500_then_success(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    body = json.loads(payload("ctgov_page_2.json"))
    body["totalCount"] = 1
    server.expect_ordered_request("/api/v2/studies").respond_with_data("error", status=500)
    server.expect_ordered_request("/api/v2/studies").respond_with_json(body)
    with client(server, fake, backoff=0.5) as ctgov:
        result = ctgov.search(QUERY)
    assert [r.source_id for r in result.records] == ["NCT00479934"]
    # 0.5 s back-off, then the rate limit (50/min: 1.2 s between starts) waits 0.7 s more.
    assert fake.sleeps == pytest.approx([0.5, 0.7])


def test_max_records_stops_paging(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    server.expect_ordered_request("/api/v2/studies").respond_with_data(payload("ctgov_page_1.json"))
    with client(server, fake, page_size=100) as ctgov:
        result = ctgov.search(QUERY, max_records=1)
    assert result.count == 3 and len(result.records) == 1
    assert server.log[0][0].args["pageSize"] == "1"
    assert len(server.log) == 1


def test_malformed_page_names_url(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    server.expect_request("/api/v2/studies").respond_with_data(
        payload("ctgov_page_1.json")[:700], content_type="application/json"
    )
    with client(server, fake) as ctgov, pytest.raises(SourceError) as info:
        ctgov.search(QUERY)
    assert "/api/v2/studies" in str(info.value)
    assert "malformed JSON at line" in str(info.value)


def test_page_without_studies_is_an_error(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/v2/studies").respond_with_json({"totalCount": 0})
    with client(server, fake) as ctgov, pytest.raises(SourceError, match="no 'studies' list"):
        ctgov.search(QUERY)


def test_repeating_page_token_is_an_error(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    first = json.loads(payload("ctgov_page_1.json"))
    again = dict(first, studies=[first["studies"][1]])
    server.expect_ordered_request("/api/v2/studies").respond_with_json(first)
    server.expect_ordered_request("/api/v2/studies").respond_with_json(again)
    with client(server, fake) as ctgov, pytest.raises(SourceError, match="repeats"):
        ctgov.search(QUERY)


def test_rate_limit_is_fifty_a_minute_by_default(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/api/v2/studies").respond_with_data(payload("ctgov_page_1.json"))
    server.expect_ordered_request("/api/v2/studies").respond_with_data(payload("ctgov_page_2.json"))
    with client(server, fake, page_size=2) as ctgov:
        ctgov.search(QUERY)
    assert fake.sleeps == pytest.approx([60 / 50])
