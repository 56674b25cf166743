"""Europe PMC REST client: ``GET /search`` with ``resultType=core``, paged by ``cursorMark``.

Per the Europe PMC RESTful API documentation (europepmc.org/RestfulWebService): the first request
sends ``cursorMark=*``; each reply carries ``hitCount``, ``nextCursorMark`` and
``resultList.result``; paging ends when ``nextCursorMark`` equals the mark just sent (or the page
is empty). ``pageSize`` is at most 1000. Each result is turned into a :class:`Record` by
:mod:`metareview.sources.europepmc`.
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

__all__ = ["EUROPEPMC_URL", "EuropePMCClient"]

EUROPEPMC_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest/"

#: ``parse(reply, origin) -> records``: one decoded search reply to records.
ParsePage = Callable[[Any, str], list[Record]]


def _default_parser(reply: Any, origin: str) -> list[Record]:
    from metareview.sources.europepmc import parse_response

    return parse_response(reply, file=origin)[0]


class EuropePMCClient:
    """Search Europe PMC and return one :class:`Record` per result.

    Parameters
    ----------
    base_url
        REST root up to ``/webservices/rest/`` (default the public service).
    page_size
        Results per page (1 to 1000).
    rate
        Requests per second (Europe PMC publishes no hard limit; 5 is polite).
    client, transport, sleep, clock, max_retries, backoff, timeout
        Passed to :class:`~metareview.sources.clients.base.HttpClient`.
    parse
        ``parse(reply, origin) -> list[Record]`` for one decoded search reply; default
        :func:`metareview.sources.europepmc.parse_response`.
    """

    source = "europepmc"

    def __init__(
        self,
        base_url: str = EUROPEPMC_URL,
        *,
        page_size: int = 1000,
        rate: float = 5.0,
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

    def __enter__(self) -> EuropePMCClient:
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
        """Search for ``query`` and fetch up to ``max_records`` results (default all)."""
        searched_at = utc_now()
        url = self.http.url("search")
        records: list[Record] = []
        total: int | None = None
        cursor = "*"
        page = 0
        while True:
            size = self.page_size
            if max_records is not None:
                size = max(1, min(size, max_records - len(records)))
            params = {
                "query": query,
                "resultType": "core",
                "format": "json",
                "pageSize": size,
                "cursorMark": cursor,
            }
            body = self.http.get_json("search", params)
            page += 1
            where = f"{url} (page {page}, cursorMark={cursor})"
            if not isinstance(body, dict):
                raise SourceError(f"{where}: reply is not a JSON object")
            try:
                results = body["resultList"]["result"]
                hit_count = int(body["hitCount"])
            except (KeyError, TypeError, ValueError):
                raise SourceError(
                    f"{where}: reply lacks 'hitCount' or 'resultList.result'"
                ) from None
            if not isinstance(results, list):
                raise SourceError(f"{where}: 'resultList.result' is not a list")
            if total is None:
                total = hit_count
                if progress:
                    progress(0, total if max_records is None else min(total, max_records))
            batch = self._parse(body, where) if results else []
            if len(batch) != len(results):
                raise SourceError(
                    f"{where}: {len(results)} results on the page but {len(batch)} records parsed"
                )
            if max_records is not None:
                batch = batch[: max_records - len(records)]
            for record in batch:
                record.origin_query = query
                record.origin_file = None
            records.extend(batch)
            if progress:
                progress(len(records), total if max_records is None else min(total, max_records))
            next_cursor = body.get("nextCursorMark")
            if (
                not results
                or not next_cursor
                or next_cursor == cursor
                or (max_records is not None and len(records) >= max_records)
            ):
                break
            cursor = str(next_cursor)
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
