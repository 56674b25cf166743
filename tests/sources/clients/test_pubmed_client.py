"""PubMed E-utilities client against a local server serving ESearch JSON and EFetch XML."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from clientfakes import FakeClock
from pytest_httpserver import HTTPServer

from metareview.errors import SourceError
from metareview.sources.clients.pubmed import PubMedClient

QUERY = 'imatinib AND "systemic sclerosis" AND clinicaltrial[filter]'

Payload = Callable[[str], bytes]


def client(server: HTTPServer, fake: FakeClock, **kw: Any) -> PubMedClient:
    kw.setdefault("api_key", "")
    return PubMedClient(server.url_for("/entrez/eutils/"), sleep=fake.sleep, clock=fake.clock, **kw)


def esearch(count: int, payload: Payload) -> bytes:
    body = json.loads(payload("pubmed_esearch.json"))
    body["esearchresult"]["count"] = str(count)
    return json.dumps(body).encode()


def test_search_pages_through_history_in_batches(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json"), content_type="application/json"
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_1.xml"), content_type="text/xml"
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_2.xml"), content_type="text/xml"
    )
    progress: list[tuple[int, int | None]] = []
    with client(server, fake, batch_size=2, email="reviewer@example.org") as pubmed:
        result = pubmed.search(QUERY, progress=lambda d, t: progress.append((d, t)))
    assert result.count == 3
    assert [r.pmid for r in result.records] == ["21398330", "21769849", "21769848"]
    assert all(r.origin_query == QUERY and r.origin_file is None for r in result.records)
    assert result.records[0].nct_ids == ["NCT00555581"]  # from the DataBankList
    assert result.details["querytranslation"].startswith('("imatinib mesylate"[MeSH Terms]')
    assert progress == [(0, 3), (2, 3), (3, 3)]

    (search_req, _), (fetch1, _), (fetch2, _) = server.log
    assert dict(search_req.args) == {
        "db": "pubmed",
        "term": QUERY,
        "usehistory": "y",
        "retmode": "json",
        "retmax": "0",
        "tool": "metareview",
        "email": "reviewer@example.org",
    }
    webenv = "MCID_6740c3f8a1b2c3d4e5f60718"
    assert fetch1.args["WebEnv"] == webenv and fetch1.args["query_key"] == "1"
    assert (fetch1.args["retstart"], fetch1.args["retmax"]) == ("0", "2")
    assert (fetch2.args["retstart"], fetch2.args["retmax"]) == ("2", "1")
    assert fetch1.args["retmode"] == "xml" and fetch1.args["db"] == "pubmed"
    # Without an API key: at most 3 requests per second, so 1/3 s between the three requests.
    assert fake.sleeps == pytest.approx([1 / 3, 1 / 3])


def test_api_key_from_environment_raises_the_rate_to_ten(
    server: HTTPServer, fake: FakeClock, payload: Payload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NCBI_API_KEY", "abc123")
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json")
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_1.xml")
    )
    pubmed = PubMedClient(
        server.url_for("/entrez/eutils/"), sleep=fake.sleep, clock=fake.clock, batch_size=200
    )
    with pubmed:
        result = pubmed.search(QUERY, max_records=2)
    assert pubmed.rate == 10.0
    assert [r.pmid for r in result.records] == ["21398330", "21769849"]
    assert all(req.args["api_key"] == "abc123" for req, _ in server.log)
    assert fake.sleeps == pytest.approx([0.1])


def test_max_records_caps_the_fetch(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json")
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_1.xml")
    )
    with client(server, fake, batch_size=200) as pubmed:
        result = pubmed.search(QUERY, max_records=2)
    assert result.count == 3 and len(result.records) == 2
    assert server.log[1][0].args["retmax"] == "2"


def test_no_hits_means_no_efetch(server: HTTPServer, fake: FakeClock, payload: Payload) -> None:
    server.expect_request("/entrez/eutils/esearch.fcgi").respond_with_data(esearch(0, payload))
    with client(server, fake) as pubmed:
        result = pubmed.search("no such thing")
    assert result.count == 0 and result.records == []
    assert len(server.log) == 1


def test_more_than_ten_thousand_hits_is_refused(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_request("/entrez/eutils/esearch.fcgi").respond_with_data(esearch(25_000, payload))
    with client(server, fake) as pubmed, pytest.raises(SourceError, match="at most the first"):
        pubmed.search("cancer")


def test_esearch_error_is_reported(server: HTTPServer, fake: FakeClock) -> None:
    server.expect_request("/entrez/eutils/esearch.fcgi").respond_with_json(
        {
            "header": {"type": "esearch", "version": "0.3"},
            "esearchresult": {"ERROR": "Invalid query: unbalanced parentheses"},
        }
    )
    with client(server, fake) as pubmed, pytest.raises(SourceError, match="unbalanced"):
        pubmed.search("(imatinib")


def test_efetch_error_document_is_reported(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json")
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        '<?xml version="1.0" ?>\n<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n'
        "</eFetchResult>",
        content_type="text/xml",
    )
    with client(server, fake) as pubmed, pytest.raises(SourceError, match="Unable to obtain"):
        pubmed.search(QUERY)


def test_malformed_efetch_body_names_url_and_position(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json")
    )
    truncated = payload("pubmed_efetch_1.xml")[:1500]
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(truncated)
    with client(server, fake) as pubmed, pytest.raises(SourceError) as info:
        pubmed.search(QUERY)
    message = str(info.value)
    assert "efetch.fcgi" in message and "malformed XML at line" in message


def test_429_on_efetch_is_retried_after_the_given_delay(
    server: HTTPServer, fake: FakeClock, payload: Payload
) -> None:
    server.expect_ordered_request("/entrez/eutils/esearch.fcgi").respond_with_data(
        payload("pubmed_esearch.json")
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_json(
        {"error": "API rate limit exceeded", "api-key": "127.0.0.1", "count": "4", "limit": "3"},
        status=429,
        headers={"Retry-After": "2"},
    )
    server.expect_ordered_request("/entrez/eutils/efetch.fcgi").respond_with_data(
        payload("pubmed_efetch_1.xml")
    )
    with client(server, fake) as pubmed:
        result = pubmed.search(QUERY, max_records=2)
    assert len(result.records) == 2
    # 1/3 s rate spacing before the first efetch, 2 s from Retry-After before the retry.
    assert fake.sleeps == pytest.approx([1 / 3, 2.0])
