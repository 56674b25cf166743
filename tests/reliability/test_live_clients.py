"""Live clients against hostile servers: every search ends, within its deadline and memory bound.

Each case is served by a real local server (pytest-httpserver, or the raw socket server of
``conftest.py`` for drips, endless bodies and lying lengths) in the services' real formats (the
recorded pages under ``tests/data/clients/``). The limits are set small so each test takes at most
a second or two; the defaults are the same code with bigger numbers.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import socket
import sqlite3
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from metareview.cli import main
from metareview.errors import SourceError
from metareview.sources.clients import CTGovClient, EuropePMCClient, HttpClient, PubMedClient

from .conftest import FakeClock, Reply

DATA = Path(__file__).resolve().parents[1] / "data" / "clients"
MiB = 1 << 20


def page(name: str) -> bytes:
    return (DATA / name).read_bytes()


def http(server: HTTPServer, fake: FakeClock, **kw: Any) -> HttpClient:
    return HttpClient(server.url_for("/api/"), sleep=fake.sleep, clock=fake.clock, **kw)


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "review"
    assert main(["init", str(folder), "--json"]) == 0
    capsys.readouterr()
    return folder


def dump(folder: Path) -> list[str]:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def one_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; assert exit 2 and no traceback; return the error line (the last one)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("metareview: error: "), err
    assert all(line.startswith("metareview: ") for line in lines), err
    return lines[-1]


# -- redirects ----------------------------------------------------------------------------------


def test_redirect_to_another_host_is_refused_and_says_where(
    server: HTTPServer, fake: FakeClock
) -> None:
    # 127.0.0.1 and localhost are different hosts by name, as curl and browsers see them.
    elsewhere = f"http://localhost:{server.port}/api/x?stolen=1"
    server.expect_request("/api/x").respond_with_data(
        "", status=302, headers={"Location": elsewhere}
    )
    with http(server, fake) as client, pytest.raises(SourceError) as info:
        client.get("x")
    assert f"refused a redirect to {elsewhere}" in str(info.value)
    assert len(server.log) == 1  # the other host was never asked


def test_same_host_redirect_is_followed(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/old").respond_with_data(
        "", status=301, headers={"Location": "/api/new"}
    )
    server.expect_request("/api/new").respond_with_json({"ok": 1})
    with http(server, fake) as client:
        assert client.get_json("old") == {"ok": 1}
        assert client.requests == 2


def test_redirect_loop_is_one_error(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/a").respond_with_data("", status=302, headers={"Location": "b"})
    server.expect_request("/api/b").respond_with_data("", status=302, headers={"Location": "a"})
    with http(server, fake) as client, pytest.raises(SourceError) as info:
        client.get("a")
    message = str(info.value)
    assert "redirect loop" in message and message.count("/api/a") == 3  # start, chain, back
    assert len(server.log) == 2 and fake.sleeps == []


def test_redirect_chain_over_the_cap(server: HTTPServer, fake: FakeClock) -> None:
    for n in range(5):
        server.expect_request(f"/api/r{n}").respond_with_data(
            "", status=307, headers={"Location": f"r{n + 1}"}
        )
    with http(server, fake, max_redirects=3) as client, pytest.raises(SourceError) as info:
        client.get("r0")
    assert "more than 3 redirects" in str(info.value) and "/api/r4" in str(info.value)
    assert len(server.log) == 4  # r0 and the three hops allowed


def test_redirect_loop_through_the_cli_stores_nothing(
    server: HTTPServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.expect_request("/eutils/esearch.fcgi").respond_with_data(
        "", status=302, headers={"Location": "/eutils/esearch.fcgi"}
    )
    before = dump(project)
    line = one_error(
        ["search", str(project), "pubmed", "x", "--base-url", server.url_for("/eutils/")], capsys
    )
    assert "redirect loop" in line
    assert dump(project) == before


def _redirect_outcome(start: str, location: str) -> str:
    """'followed' or the SourceError message, for a 302 from ``start`` to ``location``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == start:
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, json={"at": str(request.url)})

    client = HttpClient(start, transport=httpx.MockTransport(handler), sleep=lambda s: None)
    with client:
        try:
            client.get("")
        except SourceError as exc:
            return str(exc)
    return "followed"


@pytest.mark.parametrize(
    ("start", "location", "followed"),
    [
        ("http://a.test/", "https://a.test/x", True),  # the https upgrade
        ("http://a.test/", "https://a.test:8443/x", False),  # upgrade to another port
        ("https://a.test/", "http://a.test/x", False),  # a downgrade
        ("https://a.test/", "https://b.a.test/x", False),  # a sub-domain is another host
        ("https://a.test/", "//evil.test/x", False),  # scheme-relative to another host
        ("https://a.test/", "/x?y=1", True),
        ("http://a.test:8080/", "http://a.test:8081/", False),
        ("https://a.test/", "https://A.TEST/x", True),  # host names are case-insensitive
    ],
)
def test_redirect_policy(start: str, location: str, followed: bool) -> None:
    outcome = _redirect_outcome(start, location)
    assert (outcome == "followed") is followed, outcome
    if not followed:
        assert "refused a redirect to" in outcome


_hosts = st.sampled_from(["a.test", "b.test", "a.test.evil", "127.0.0.1"])
_schemes = st.sampled_from(["http", "https"])
_ports = st.sampled_from([None, 80, 443, 8443])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=_schemes, host=_hosts, port=_ports)
def test_redirect_policy_is_same_host_or_https_upgrade(
    scheme: str, host: str, port: int | None
) -> None:
    start = "http://a.test/"
    location = f"{scheme}://{host}" + (f":{port}" if port else "") + "/next"
    default = {"http": 80, "https": 443}[scheme]
    effective = port or default
    allowed = host == "a.test" and (
        (scheme == "http" and effective == 80) or (scheme == "https" and effective == 443)
    )
    assert (_redirect_outcome(start, location) == "followed") is allowed


# -- deadlines, drips, big bodies ---------------------------------------------------------------


def _drip(interval: float) -> Reply:
    def reply(sock: socket.socket, head: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        sock.sendall(b"Content-Length: 100000\r\n\r\n")
        for _ in range(100000):
            sock.sendall(b" ")
            time.sleep(interval)

    return reply


def test_drip_server_ends_within_the_deadline(raw_server: Callable[[Reply], str]) -> None:
    base = raw_server(_drip(0.1))
    client = CTGovClient(base, deadline=1.0, timeout=5.0, rate=None)
    started = time.monotonic()
    with client, pytest.raises(SourceError) as info:
        client.search("x")
    elapsed = time.monotonic() - started
    assert "did not finish within its deadline of 1 s" in str(info.value)
    assert 1.0 <= elapsed < 1.3


def test_slow_drip_is_cut_at_the_deadline_not_at_the_next_byte(
    raw_server: Callable[[Reply], str],
) -> None:
    # A byte every 2 s (the case) against a 1 s deadline: the watchdog shuts the
    # socket at 1 s rather than waiting for the next byte.
    base = raw_server(_drip(2.0))
    client = PubMedClient(base, deadline=1.0, api_key="")
    started = time.monotonic()
    with client, pytest.raises(SourceError, match="deadline of 1 s"):
        client.search("x")
    assert time.monotonic() - started < 1.4


def test_silent_server_ends_within_the_deadline(raw_server: Callable[[Reply], str]) -> None:
    def silent(sock: socket.socket, head: bytes) -> None:
        time.sleep(5)

    base = raw_server(silent)
    # The read timeout (60 s) is cut to the time left before the 0.8 s deadline.
    client = EuropePMCClient(base, deadline=0.8, rate=None)
    started = time.monotonic()
    with client, pytest.raises(SourceError, match=r"deadline of 0\.8 s"):
        client.search("x")
    assert time.monotonic() - started < 1.5


def test_retry_that_would_pass_the_deadline_is_not_waited_for(
    server: HTTPServer, fake: FakeClock
) -> None:
    server.expect_request("/api/x").respond_with_data("busy", status=503)
    client = http(server, fake, deadline=10.0, backoff=4.0)
    client.start()
    with client, pytest.raises(SourceError) as info:
        client.get("x")
    # Back-off 4 s, then 8 s: the second would end at 12 s > 10 s.
    assert fake.sleeps == [4.0]
    assert "a retry in 8 s would pass the search deadline of 10 s" in str(info.value)


def _endless(declared: int | None) -> Reply:
    def reply(sock: socket.socket, head: bytes) -> None:
        length = f"Content-Length: {declared}\r\n" if declared is not None else ""
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n{length}".encode())
        if declared is None:
            sock.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (65536, b"<" * 65536)
            while True:
                sock.sendall(chunk)
        sock.sendall(b"\r\n")
        while True:
            sock.sendall(b"<" * 65536)

    return reply


def test_8_gib_declared_body_is_refused_before_reading(
    raw_server: Callable[[Reply], str],
) -> None:
    base = raw_server(_endless(8 * 1024**3))
    client = PubMedClient(base, max_response_bytes=MiB, api_key="")
    with client, pytest.raises(SourceError) as info:
        client.search("x")
    assert "declares 8589934592 bytes, more than the limit of 1048576 bytes" in str(info.value)


def _peak_while(run: Callable[[], None]) -> int:
    """Peak bytes Python allocated while ``run`` ran (every thread: the local servers count)."""
    tracemalloc.start()
    try:
        run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_endless_body_stops_at_the_limit_with_bounded_memory(
    raw_server: Callable[[Reply], str],
) -> None:
    base = raw_server(_endless(None))
    client = EuropePMCClient(base, max_response_bytes=2 * MiB, rate=None)

    def run() -> None:
        with client, pytest.raises(SourceError, match="larger than the limit of 2097152 bytes"):
            client.search("x")

    assert _peak_while(run) < 16 * MiB


def _gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * MiB
    return b"".join(packer.compress(zeros) for _ in range(size // MiB)) + packer.flush()


def test_gzip_bomb_stops_at_the_limit_with_bounded_memory(server: HTTPServer) -> None:
    bomb = _gzip_bomb(64 * MiB)  # 64 MiB of zeros, about 280 KB on the wire
    assert len(bomb) < MiB
    server.expect_request("/api/v2/studies").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    client = CTGovClient(server.url_for("/api/v2/"), max_response_bytes=MiB, rate=None)

    def run() -> None:
        with client, pytest.raises(SourceError, match="larger than the limit of 1048576 bytes"):
            client.search("x")

    assert _peak_while(run) < 16 * MiB


def test_gzip_reply_under_the_limit_is_read(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/v2/studies").respond_with_data(
        gzip.compress(page("ctgov_page_2.json")),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    data = json.loads(page("ctgov_page_1.json"))
    data["nextPageToken"] = None
    client = CTGovClient(server.url_for("/api/v2/"), sleep=fake.sleep, clock=fake.clock)
    with client:
        body = client.http.get_json("studies")
    assert body == json.loads(page("ctgov_page_2.json"))


def test_corrupt_gzip_is_one_error(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data(
        b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}
    )
    with http(server, fake) as client, pytest.raises(SourceError, match="gzip body is corrupt"):
        client.get("x")


# -- Retry-After, retries said, fail fast -------------------------------------------------------


def test_retry_after_100000_is_not_waited_for(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/api/x").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "100000"}
    )
    with http(server, fake, max_retry_after=60) as client, pytest.raises(SourceError) as info:
        client.get("x")
    assert "asks to retry after 100000 s, longer than the 60 s honoured" in str(info.value)
    assert fake.sleeps == [] and len(server.log) == 1


def test_retry_after_as_a_far_http_date_is_not_waited_for(
    server: HTTPServer, fake: FakeClock
) -> None:
    server.expect_request("/api/x").respond_with_data(
        "", status=503, headers={"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}
    )
    with http(server, fake) as client, pytest.raises(SourceError, match="longer than the 120 s"):
        client.get("x")
    assert fake.sleeps == []


def test_retry_after_under_the_ceiling_is_honoured(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_ordered_request("/api/x").respond_with_data(
        "", status=429, headers={"Retry-After": "45"}
    )
    server.expect_ordered_request("/api/x").respond_with_json([])
    with http(server, fake, max_retry_after=60) as client:
        assert client.get_json("x") == []
    assert fake.sleeps == [45.0]


def test_each_retry_is_said_with_its_reason(
    server: HTTPServer, fake: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    esearch = json.loads(page("pubmed_esearch.json"))
    esearch["esearchresult"]["count"] = "0"
    server.expect_ordered_request("/eutils/esearch.fcgi").respond_with_data("", status=503)
    server.expect_ordered_request("/eutils/esearch.fcgi").respond_with_data("", status=502)
    server.expect_ordered_request("/eutils/esearch.fcgi").respond_with_json(esearch)
    client = PubMedClient(
        server.url_for("/eutils/"), sleep=fake.sleep, clock=fake.clock, backoff=2.0, api_key=""
    )
    with caplog.at_level(logging.WARNING, logger="metareview.sources.clients"), client:
        client.search("x")
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "retrying PubMed esearch in 2 s: HTTP 503 Service Unavailable (attempt 2 of 6)",
        "retrying PubMed esearch in 4 s: HTTP 502 Bad Gateway (attempt 3 of 6)",
    ]


def test_cli_says_the_retry_on_stderr(
    server: HTTPServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.expect_ordered_request("/api/v2/studies").respond_with_data(
        "", status=503, headers={"Retry-After": "0"}
    )
    last = json.loads(page("ctgov_page_2.json"))
    last["totalCount"] = 1
    server.expect_ordered_request("/api/v2/studies").respond_with_json(last)
    code = main(
        ["search", str(project), "ctgov", "x", "--base-url", server.url_for("/api/v2/"), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (
        "metareview: retrying ClinicalTrials.gov studies in 0 s: HTTP 503 Service Unavailable "
        "(attempt 2 of 6)" in captured.err
    )


def test_dns_failure_fails_fast(fake: FakeClock) -> None:
    client = PubMedClient("http://no-such-host.invalid/eutils/", sleep=fake.sleep, api_key="")
    started = time.monotonic()
    with client, pytest.raises(SourceError) as info:
        client.search("x")
    assert time.monotonic() - started < 2.0
    assert "cannot resolve the host name 'no-such-host.invalid'" in str(info.value)
    assert "not retried" in str(info.value) and fake.sleeps == [] and client.http.requests == 1


def test_refused_connection_fails_fast(fake: FakeClock) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = CTGovClient(f"http://127.0.0.1:{port}/api/v2/", sleep=fake.sleep)
    with client, pytest.raises(SourceError, match=r"connection refused.*not retried"):
        client.search("x")
    assert fake.sleeps == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://a.test/", "gopher://a.test/"])
def test_non_http_base_url_is_refused_at_once(url: str) -> None:
    with pytest.raises(SourceError, match="only http:// and https:// services can be searched"):
        EuropePMCClient(url)


def test_cli_file_url_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(
        ["search", str(project), "europepmc", "x", "--base-url", "file:///etc/"], capsys
    )
    assert "file:///etc/: only http:// and https:// services" in line


def test_dropped_connection_is_retried(
    raw_server: Callable[[Reply], str], caplog: pytest.LogCaptureFixture, fake: FakeClock
) -> None:
    calls = itertools.count()

    def reply(sock: socket.socket, head: bytes) -> None:
        if next(calls) == 0:
            return  # hang up without a reply
        body = b"[1]"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + body)

    client = HttpClient(raw_server(reply), sleep=fake.sleep, clock=fake.clock, name="Test")
    with caplog.at_level(logging.WARNING, logger="metareview.sources.clients"), client:
        assert client.get_json("x") == [1]
    assert fake.sleeps == [1.0]
    assert caplog.records[0].getMessage().startswith("retrying Test x in 1 s: connection failed")


# -- paging without progress, shortfalls --------------------------------------------------------


def _empty_pages(counter: list[int]) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        counter.append(1)
        body = {"totalCount": 5, "studies": [], "nextPageToken": f"token-{len(counter)}"}
        return Response(json.dumps(body), content_type="application/json")

    return handler


def test_empty_ctgov_pages_with_fresh_tokens_end(server: HTTPServer, fake: FakeClock) -> None:
    calls: list[int] = []
    server.expect_request("/api/v2/studies").respond_with_handler(_empty_pages(calls))
    client = CTGovClient(server.url_for("/api/v2/"), sleep=fake.sleep, clock=fake.clock)
    with client, pytest.raises(SourceError) as info:
        client.search("x", max_records=5)
    assert "3 pages in a row held no studies but each promised another page" in str(info.value)
    assert len(calls) == 3


def test_empty_ctgov_pages_through_the_cli_store_nothing(
    server: HTTPServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[int] = []
    server.expect_request("/api/v2/studies").respond_with_handler(_empty_pages(calls))
    before = dump(project)
    argv = ["search", str(project), "ctgov", "x", "--max", "5", "--max-empty-pages", "2"]
    line = one_error([*argv, "--base-url", server.url_for("/api/v2/")], capsys)
    assert "2 pages in a row held no studies" in line and "--max-empty-pages" in line
    assert len(calls) == 2 and dump(project) == before


def test_fewer_records_than_reported_is_said(
    server: HTTPServer, fake: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = json.loads(page("ctgov_page_1.json"))
    first["totalCount"] = 10
    first.pop("nextPageToken")
    server.expect_request("/api/v2/studies").respond_with_json(first)
    client = CTGovClient(server.url_for("/api/v2/"), sleep=fake.sleep, clock=fake.clock)
    with caplog.at_level(logging.WARNING, logger="metareview.sources.clients"), client:
        result = client.search("x", max_records=5)
    assert len(result.records) == 2 and result.details["shortfall"] == 3
    assert [r.getMessage() for r in caplog.records] == [
        "ClinicalTrials.gov returned 2 records, fewer than the 5 asked for"
    ]


def test_cli_says_when_the_source_has_fewer_hits_than_max(
    server: HTTPServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("europepmc_page_1.json", "europepmc_page_2.json", "europepmc_page_3.json"):
        server.expect_ordered_request("/rest/search").respond_with_data(
            page(name), content_type="application/json"
        )
    argv = ["search", str(project), "europepmc", "x", "--max", "50", "--json"]
    assert main([*argv, "--base-url", server.url_for("/rest/")]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_retrieved"] == 3
    assert "3 records retrieved, fewer than the --max 50 asked for: europepmc reports 3 hits" in (
        captured.err
    )


# -- hostile replies in the services' formats ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json
        b'{"hitCount": ' + b"9" * 5000 + b"}",  # more digits than int() takes
        b"\xff\xfe{}",
        b'{"hitCount": Infinity, "resultList": {"result": []}}',
    ],
    ids=["deep", "5000-digits", "not-utf8", "infinity"],
)
def test_unusable_json_reply_is_one_error(
    body: bytes, server: HTTPServer, fake: FakeClock
) -> None:
    server.expect_request("/rest/search").respond_with_data(body, content_type="application/json")
    client = EuropePMCClient(server.url_for("/rest/"), sleep=fake.sleep, clock=fake.clock)
    with client, pytest.raises(SourceError) as info:
        client.search("x")
    assert server.url_for("/rest/search") in str(info.value)


def test_deeply_nested_xml_reply_is_one_error(server: HTTPServer, fake: FakeClock) -> None:
    esearch = json.loads(page("pubmed_esearch.json"))
    server.expect_request("/eutils/esearch.fcgi").respond_with_json(esearch)
    article = page("pubmed_efetch_1.xml").decode()
    deep = "<i>" * 50_000 + "x" + "</i>" * 50_000
    server.expect_request("/eutils/efetch.fcgi").respond_with_data(
        article.replace("<ArticleTitle>", "<ArticleTitle>" + deep, 1), content_type="text/xml"
    )
    client = PubMedClient(
        server.url_for("/eutils/"), sleep=fake.sleep, clock=fake.clock, api_key=""
    )
    with client, pytest.raises(SourceError) as info:
        client.search("x")
    assert "XML nested more than 256 elements deep" in str(info.value)


@pytest.mark.parametrize("limit", ["--deadline", "--timeout", "--max-response-mb"])
def test_cli_refuses_a_zero_limit(
    limit: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", str(project), "pubmed", "x", limit, "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err


# -- any reply: a result or one SourceError -----------------------------------------------------

_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)

_RECORDED = {
    "pubmed": ["pubmed_esearch.json", "pubmed_efetch_1.xml"],
    "ctgov": ["ctgov_page_1.json", "ctgov_page_2.json"],
    "europepmc": ["europepmc_page_1.json", "europepmc_page_3.json"],
}


def _mutated(name: str, data: st.DataObject) -> bytes:
    """A recorded page with one value replaced (JSON), or cut/garbled (XML)."""
    raw = page(name)
    if name.endswith(".xml"):
        cut = data.draw(st.integers(0, len(raw)), label="cut")
        junk = data.draw(st.sampled_from([b"", b"<", b"&lol;", b"<i>" * 300, b"\x00"]))
        return raw[:cut] + junk + raw[cut:]
    document = json.loads(raw)
    paths = _json_paths(document)
    where = data.draw(st.sampled_from(paths), label="where")
    value = data.draw(_json_value, label="value")
    if not where:
        return json.dumps(value).encode()
    node = document
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return json.dumps(document).encode()


def _json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out.extend(_json_paths(sub, (*prefix, key)))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out.extend(_json_paths(sub, (*prefix, index)))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(sorted(_RECORDED)), data=st.data())
def test_any_reply_is_a_result_or_one_source_error(source: str, data: st.DataObject) -> None:
    replies: list[tuple[int, dict[str, str], bytes]] = []
    for name in _RECORDED[source]:
        status = data.draw(st.sampled_from([200, 200, 200, 301, 404, 429, 503]), label="status")
        headers = data.draw(
            st.dictionaries(
                st.sampled_from(["Location", "Retry-After", "Content-Encoding", "Content-Length"]),
                st.sampled_from(["", "x", "0", "99999999999", "gzip", "br", "//other.test/", "/a"]),
                max_size=2,
            ),
            label="headers",
        )
        body = _mutated(name, data) if data.draw(st.booleans(), label="mutate") else page(name)
        replies.append((status, headers, body))
    calls = itertools.count()

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = replies[min(next(calls), len(replies) - 1)]
        # A stream, not content: the client reads (and inflates) it as it would off the wire.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    fake = FakeClock()
    cls = {"pubmed": PubMedClient, "ctgov": CTGovClient, "europepmc": EuropePMCClient}[source]
    client = cls(
        "https://service.test/api/",
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        max_retries=1,
        deadline=600.0,
    )
    with client:
        try:
            result = client.search("x", max_records=3)
        except SourceError:
            return
    assert all(isinstance(r.title, str) for r in result.records)
    assert len(result.records) <= 3


def test_only_codings_the_client_undoes_are_asked_for(server: HTTPServer, fake: FakeClock) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Accept-Encoding", ""))
        return Response("[]", content_type="application/json")

    server.expect_request("/api/x").respond_with_handler(handler)
    with httpx.Client(follow_redirects=True) as own:  # httpx would also offer br/zstd
        client = HttpClient(server.url_for("/api/"), client=own, sleep=fake.sleep)
        assert client.get_json("x") == []
    assert seen == ["gzip, deflate"]
