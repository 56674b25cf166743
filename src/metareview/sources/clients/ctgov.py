"""ClinicalTrials.gov API v2 client: ``GET /api/v2/studies`` paged by ``nextPageToken``.

Per the API v2 documentation (clinicaltrials.gov/data-api/api): ``query.term`` takes an Essie
expression, ``pageSize`` at most 1000, ``countTotal=true`` adds ``totalCount`` to the first page,
and each page carries ``nextPageToken`` until the last one, which has none. Each study object is
turned into a :class:`Record` by :mod:`metareview.sources.ctgov`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from metareview.errors import SourceError
from metareview.sources.clients.base import (
    HttpClient,
    ProgressCallback,
    SearchResult,
    utc_now,
)
from metareview.sources.record import Record

__all__ = ["CTGOV_URL", "CTGovClient"]

CTGOV_URL = "https://clinicaltrials.gov/api/v2/"

#: ``parse(page, origin) -> records``: one decoded API v2 search page to records.
ParsePage = Callable[[Any, str], list[Record]]


def _default_parser(page: Any, origin: str) -> list[Record]:
    from metareview.sources.ctgov import parse_page

    return parse_page(page, file=origin)[0]


class CTGovClient:
    """Search ClinicalTrials.gov (API v2) and return one :class:`Record` per study.

    Parameters
    ----------
    base_url
        API root up to ``/api/v2/`` (default the public service).
    page_size
        Studies per page (1 to 1000).
    rate
        Requests per second; ClinicalTrials.gov asks clients to stay near 50 a minute.
    client, transport, sleep, clock, max_retries, backoff, timeout
        Passed to :class:`~metareview.sources.clients.base.HttpClient`.
    parse
        ``parse(page, origin) -> list[Record]`` for one decoded search page; default
        :func:`metareview.sources.ctgov.parse_page`.
    """

    source = "ctgov"

    def __init__(
        self,
        base_url: str = CTGOV_URL,
        *,
        page_size: int = 100,
        rate: float = 50 / 60,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 60.0,
        parse: ParsePage | None = None,
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        self.page_size = page_size
        self.http = HttpClient(
            base_url,
            client=client,
            transport=transport,
            rate=rate,
            sleep=sleep,
            clock=clock,
            max_retries=max_retries,
            backoff=backoff,
            timeout=timeout,
        )
        self._parse = parse or _default_parser

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CTGovClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self,
        query: str,
        *,
        max_records: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SearchResult:
        """Search for ``query`` (``query.term``) and fetch up to ``max_records`` studies."""
        searched_at = utc_now()
        url = self.http.url("studies")
        records: list[Record] = []
        total: int | None = None
        token: str | None = None
        seen_tokens: set[str] = set()
        page = 0
        while True:
            size = self.page_size
            if max_records is not None:
                size = max(1, min(size, max_records - len(records)))
            params = {
                "query.term": query,
                "pageSize": size,
                "countTotal": "true",
                "format": "json",
                "pageToken": token,
            }
            body = self.http.get_json("studies", params)
            page += 1
            where = f"{url} (page {page})"
            if not isinstance(body, dict) or not isinstance(body.get("studies"), list):
                raise SourceError(f"{where}: reply has no 'studies' list")
            if total is None:
                if not isinstance(body.get("totalCount"), int):
                    raise SourceError(f"{where}: reply has no integer 'totalCount'")
                total = int(body["totalCount"])
                if progress:
                    progress(0, total if max_records is None else min(total, max_records))
            batch = self._parse(body, where) if body["studies"] else []
            if len(batch) != len(body["studies"]):
                raise SourceError(
                    f"{where}: {len(body['studies'])} studies on the page but "
                    f"{len(batch)} records parsed"
                )
            if max_records is not None:
                batch = batch[: max_records - len(records)]
            for record in batch:
                record.origin_query = query
                record.origin_file = None
            records.extend(batch)
            if progress:
                progress(len(records), total if max_records is None else min(total, max_records))
            token = body.get("nextPageToken")
            if not token or (max_records is not None and len(records) >= max_records):
                break
            if token in seen_tokens:
                raise SourceError(f"{url} (page {page}): nextPageToken {token!r} repeats")
            seen_tokens.add(token)
        return SearchResult(
            source=self.source,
            query=query,
            count=total or 0,
            records=records,
            searched_at=searched_at,
            url=url,
            requests=self.http.requests,
            details={"pages": page},
        )
