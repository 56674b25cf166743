"""NCBI E-utilities client for PubMed: ESearch with the history server, EFetch in batches.

The search runs as NCBI documents it (*Entrez Programming Utilities Help*, chapters "The
E-utilities In-Depth" and "Sample Applications": the ESearch - EFetch pipeline):

1. ``esearch.fcgi?db=pubmed&term=QUERY&usehistory=y&retmode=json`` posts the result set to the
   history server and returns its ``count``, ``webenv`` and ``querykey``;
2. ``efetch.fcgi?db=pubmed&WebEnv=...&query_key=...&retstart=S&retmax=200&retmode=xml`` returns one
   ``PubmedArticleSet`` per batch, parsed by :mod:`metareview.sources.pubmed`.

NCBI allows 3 requests per second without an API key and 10 with one (``NCBI_API_KEY``); every
request carries ``tool`` and, when given, ``email`` so NCBI can contact the user before blocking.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Unpack

from metareview.errors import SourceError
from metareview.sources.clients.base import (
    HttpOptions,
    LiveClient,
    ProgressCallback,
    SearchResult,
)
from metareview.sources.record import Record

__all__ = ["EUTILS_URL", "MAX_RETRIEVABLE", "PubMedClient"]

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"

#: PubMed's E-utilities hand out at most the first 10,000 records of a result set.
MAX_RETRIEVABLE = 10_000

ParsePubMed = Callable[[bytes, str], list[Record]]


def _default_parser(payload: bytes, origin: str) -> list[Record]:
    from metareview.sources.pubmed import parse_pubmed_xml

    return parse_pubmed_xml(payload, file=origin)


class PubMedClient(LiveClient):
    """Search PubMed through the E-utilities and return :class:`Record` objects.

    Parameters
    ----------
    base_url
        E-utilities root (default NCBI's); tests point it at a local server.
    api_key
        NCBI API key; default the ``NCBI_API_KEY`` environment variable ("" for none). With a
        key the client sends up to 10 requests per second, without one 3.
    tool, email
        Identify the software and a contact address to NCBI, as its usage policy asks; the
        address defaults to the ``NCBI_EMAIL`` environment variable.
    batch_size
        Records per EFetch request (NCBI suggests up to 200 for XML).
    parse
        ``parse(xml_bytes, origin) -> list[Record]`` for one ``PubmedArticleSet``; default
        :func:`metareview.sources.pubmed.parse_pubmed_xml`.
    **http
        ``client``, ``transport``, ``sleep``, ``clock``, ``max_retries``, ``backoff``,
        ``timeout`` (default 60 s), ``deadline``, ``max_response_bytes``, ``max_redirects``,
        ``max_retry_after``, ``max_empty_pages``:
        :class:`~metareview.sources.clients.base.HttpOptions`.
    """

    source = "pubmed"
    label = "PubMed"

    def __init__(
        self,
        base_url: str = EUTILS_URL,
        *,
        api_key: str | None = None,
        tool: str = "metareview",
        email: str | None = None,
        batch_size: int = 200,
        parse: ParsePubMed | None = None,
        **http: Unpack[HttpOptions],
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("batch_size must be between 1 and 10000")
        # An explicit empty key means "none", even when NCBI_API_KEY is set.
        key = api_key if api_key is not None else os.environ.get("NCBI_API_KEY")
        self.api_key = key or None
        self.tool = tool
        self.email = email if email is not None else os.environ.get("NCBI_EMAIL") or None
        self.batch_size = batch_size
        self.rate = 10.0 if self.api_key else 3.0
        super().__init__(base_url, rate=self.rate, **http)
        self._parse = parse or _default_parser

    def _common(self) -> dict[str, Any]:
        return {"tool": self.tool, "email": self.email, "api_key": self.api_key}

    def esearch(self, query: str) -> tuple[int, str, str, dict[str, Any]]:
        """Run ESearch with ``usehistory=y``.

        Returns ``(count, webenv, query_key, esearchresult)``.
        """
        params = {
            "db": "pubmed",
            "term": query,
            "usehistory": "y",
            "retmode": "json",
            "retmax": 0,
            **self._common(),
        }
        url = self.http.url("esearch.fcgi")
        body = self.http.get_json("esearch.fcgi", params)
        result = body.get("esearchresult") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise SourceError(f"{url}: ESearch reply has no 'esearchresult' object")
        if "ERROR" in result:
            raise SourceError(f"{url}: PubMed refused the query: {result['ERROR']}")
        try:
            count = int(result["count"])
        except (KeyError, TypeError, ValueError):
            raise SourceError(f"{url}: ESearch reply has no integer 'count'") from None
        webenv = result.get("webenv")
        query_key = result.get("querykey")
        if count and (not webenv or not query_key):
            raise SourceError(f"{url}: ESearch reply lacks 'webenv'/'querykey' (usehistory=y)")
        return count, str(webenv or ""), str(query_key or ""), result

    def efetch(self, webenv: str, query_key: str, retstart: int, retmax: int) -> bytes:
        """Fetch one batch of the history result set as ``PubmedArticleSet`` XML bytes."""
        params = {
            "db": "pubmed",
            "WebEnv": webenv,
            "query_key": query_key,
            "retstart": retstart,
            "retmax": retmax,
            "retmode": "xml",
            **self._common(),
        }
        body, root = self.http.get_xml("efetch.fcgi", params)
        if root.tag != "PubmedArticleSet":
            message = root.findtext(".//ERROR") or f"root element <{root.tag}>"
            raise SourceError(
                f"{self.http.url('efetch.fcgi')} (retstart={retstart}): expected a "
                f"PubmedArticleSet, got {message}"
            )
        return body

    def search(
        self,
        query: str,
        *,
        max_records: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SearchResult:
        """Search PubMed for ``query`` and fetch up to ``max_records`` records (default all).

        Raises
        ------
        SourceError
            The query matches more than 10,000 records and ``max_records`` does not cap it
            below that (E-utilities cannot page past 10,000), or any request fails.
        """
        harvest = self._harvest(query, max_records, progress)
        count, webenv, query_key, result = self.esearch(query)
        wanted = count if max_records is None else min(count, max_records)
        if wanted > MAX_RETRIEVABLE:
            raise SourceError(
                f"PubMed reports {count} records for this query; the E-utilities return at most "
                f"the first {MAX_RETRIEVABLE}. Split the query (e.g. by publication date) or "
                "pass --max."
            )
        harvest.start(count)
        retstart = 0
        while retstart < wanted:
            size = min(self.batch_size, wanted - retstart)
            payload = self.efetch(webenv, query_key, retstart, size)
            batch = self._parse(payload, f"{self.http.url('efetch.fcgi')}?retstart={retstart}")
            if not batch:
                raise SourceError(
                    f"{self.http.url('efetch.fcgi')}: batch at retstart={retstart} held no "
                    f"articles although ESearch reported {count}"
                )
            harvest.add(batch[:size])
            retstart += size
        return self._result(
            harvest,
            url=self.http.url("esearch.fcgi"),
            details={
                "querytranslation": result.get("querytranslation"),
                "webenv": webenv,
                "query_key": query_key,
            },
        )
