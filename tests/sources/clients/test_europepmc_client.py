"""Europe PMC REST client against a local server serving cursorMark-paged search replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer

from metareview.errors import SourceError
from metareview.sources.clients.europepmc import EuropePMCClient

QUERY = 'imatinib AND "systemic sclerosis"'

Payload = Callable[[str], bytes]


def client(server: HTTPServer, fake: FakeClock, **kw: Any) -> EuropePMCClient:
    return EuropePMCClient(
        server.url_for("/europepmc/webservices/rest/"), sleep=fake.sleep, clock=fake.clock, **kw
    )


def serve_pages(server: HTTPServer, payload: Payload) -> None:
    for n in (1, 2, 3):
        server.expect_ordered_request("/europepmc/webservices/rest/search").respond_with_data(
            payload(f"europepmc_page_{n}.json"), content_type="application/json"
        )


def test_search_pages_until_the_cursor_repeats(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    serve_pages(server, payload)
    with client(server, fake, page_size=2) as epmc:
        result = epmc.search(QUERY)
    assert result.count == 3
    assert [r.pmid for r in result.records] == ["21769849", "21769848", "22762393"]
    assert result.records[2].nct_ids == ["NCT00479934"]
    assert result.details == {"pages": 3}
    cursors = [req.args["cursorMark"] for req, _ in server.log]
    assert cursors == ["*", "AoIIQKDQs4oxNjc0OTI5Mg==", "AoIIQKEWvYcyMjc2MjM5Mw=="]
    first = server.log[0][0].args
    assert (first["query"], first["resultType"], first["format"], first["pageSize"]) == (
        QUERY,
        "core",
        "json",
        "2",
    )


def test_max_records_stops_early(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    serve_pages(server, payload)
    with client(server, fake, page_size=2) as epmc:
        result = epmc.search(QUERY, max_records=2)
    assert len(result.records) == 2 and len(server.log) == 1


def test_429_then_success(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    server.expect_ordered_request("/europepmc/webservices/rest/search").respond_with_data(
        "", status=429, headers={"Retry-After": "3"}
    )
    serve_pages(server, payload)
    with client(server, fake, page_size=2) as epmc:
        result = epmc.search(QUERY)
    assert len(result.records) == 3
    assert 3.0 in fake.sleeps


def test_reply_without_result_list_is_an_error(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/europepmc/webservices/rest/search").respond_with_json(
        {"version": "6.9", "hitCount": 0, "errMsg": "Syntax error"}
    )
    with client(server, fake) as epmc, pytest.raises(SourceError, match="resultList"):
        epmc.search("(((")


def test_malformed_reply_names_url_and_position(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/europepmc/webservices/rest/search").respond_with_data(
        '{"version":"6.9","hitCount":3,"resultList":{"result":[{"id":"1",}]}}',
        content_type="application/json",
    )
    with client(server, fake) as epmc, pytest.raises(SourceError) as info:
        epmc.search(QUERY)
    # The stray comma is character 64; the decoder wants a property name at column 65.
    assert "malformed JSON at line 1, column 65" in str(info.value)
