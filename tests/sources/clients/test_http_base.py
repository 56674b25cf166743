"""The shared HTTP layer against a real local server: retries, back-off, rate limit, bad bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from metareview.errors import SourceError
from metareview.sources.clients.base import (
    HttpClient,
    RateLimiter,
    backoff_delay,
    parse_retry_after,
)

Payload = Callable[[str], bytes]


def make(server: HTTPServer, fake: FakeClock, **kw: Any) -> HttpClient:
    return HttpClient(server.url_for("/api/"), sleep=fake.sleep, clock=fake.clock, **kw)


def test_rate_limiter_spaces_requests_by_one_over_rate(fake: FakeClock) -> None:
    limiter = RateLimiter(3.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        limiter.wait()
    # First request at once; each later one 1/3 s after the previous (nothing else took time).
    assert fake.sleeps == pytest.approx([1 / 3, 1 / 3, 1 / 3])


def test_rate_limiter_does_not_sleep_when_time_has_passed(fake: FakeClock) -> None:
    limiter = RateLimiter(10.0, clock=fake.clock, sleep=fake.sleep)
    limiter.wait()
    fake.now += 0.5
    limiter.wait()
    assert fake.sleeps == []


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    # RFC 9110 HTTP-date, 90 s after `now`.
    assert parse_retry_after("Mon, 23 Nov 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, base=0.5, cap=3.0) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_429_with_retry_after_is_honoured(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_ordered_request("/api/x").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "7"}
    )
    server.expect_ordered_request("/api/x").respond_with_json({"ok": True})
    with make(server, fake) as client:
        assert client.get_json("x") == {"ok": True}
        assert client.requests == 2
    assert fake.sleeps == [7.0]


def test_500_then_success_backs_off_exponentially(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_ordered_request("/api/x").respond_with_data("oops", status=500)
    server.expect_ordered_request("/api/x").respond_with_data("busy", status=503)
    server.expect_ordered_request("/api/x").respond_with_json([1, 2])
    with make(server, fake, backoff=0.25) as client:
        assert client.get_json("x") == [1, 2]
    assert fake.sleeps == [0.25, 0.5]


def test_persistent_5xx_gives_up_with_the_url(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data("down", status=502)
    with make(server, fake, max_retries=2) as client, pytest.raises(SourceError) as info:
        client.get("x")
    message = str(info.value)
    assert server.url_for("/api/x") in message
    assert "HTTP 502" in message and "gave up after 3 attempts" in message
    assert len(server.log) == 3


def test_client_error_is_not_retried(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data("bad term", status=400)
    with make(server, fake) as client, pytest.raises(SourceError, match=r"HTTP 400.*bad term"):
        client.get("x", {"term": "a"})
    assert len(server.log) == 1
    assert fake.sleeps == []


def test_malformed_json_names_url_line_and_column(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data(
        '{"hitCount": 3,\n "resultList": {"result": [', content_type="application/json"
    )
    with make(server, fake) as client, pytest.raises(SourceError) as info:
        client.get_json("x")
    message = str(info.value)
    assert "/api/x" in message
    # The body ends on line 2 after 27 characters: the decoder stops at line 2, column 28.
    assert "malformed JSON at line 2, column 28" in message


def test_malformed_xml_names_url_line_and_column(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data(
        "<PubmedArticleSet>\n<PubmedArticle>\n</PubmedArticleSet>", content_type="text/xml"
    )
    with make(server, fake) as client, pytest.raises(SourceError) as info:
        client.get_xml("x")
    # expat reports the mismatched end tag on line 3 at offset 2 (column 3 counting from 1).
    assert "malformed XML at line 3, column 3" in str(info.value)


def test_xml_entity_expansion_is_refused(server: HTTPServer, fake: FakeClock) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<PubmedArticleSet>&lol2;</PubmedArticleSet>'
    )
    server.expect_request("/api/x").respond_with_data(bomb, content_type="text/xml")
    with make(server, fake) as client, pytest.raises(SourceError, match="refused unsafe XML"):
        client.get_xml("x")


def test_timeouts_are_retried_then_reported(fake: FakeClock) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        raise httpx.ReadTimeout("read timed out", request=request)

    client = HttpClient(
        "http://127.0.0.1:9/api",
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        max_retries=2,
        backoff=1.0,
    )
    with client, pytest.raises(SourceError, match=r"timed out.*gave up after 3 attempts"):
        client.get("x")
    assert len(calls) == 3
    assert fake.sleeps == [1.0, 2.0]


def test_requests_identify_metareview_and_drop_none_params(
    server: HTTPServer, fake: FakeClock
) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response("{}", content_type="application/json")

    server.expect_request("/api/x").respond_with_handler(handler)
    with make(server, fake) as client:
        client.get_json("x", {"a": "1", "b": None})
    assert seen[0].headers["User-Agent"].startswith("metareview/")
    assert dict(seen[0].args) == {"a": "1"}


def test_rate_limit_applies_across_requests(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_json({})
    with make(server, fake, rate=4.0) as client:
        for _ in range(3):
            client.get("x")
    assert fake.sleeps == pytest.approx([0.25, 0.25])
