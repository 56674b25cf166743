"""Europe PMC REST client: ``GET /search`` with ``resultType=core``, paged by ``cursorMark``.

Per the Europe PMC RESTful API documentation (europepmc.org/RestfulWebService): the first request
sends ``cursorMark=*``; each reply carries ``hitCount``, ``nextCursorMark`` and
``resultList.result``; paging ends when ``nextCursorMark`` equals the mark just sent (or the page
is empty). ``pageSize`` is at most 1000. Each result is turned into a :class:`Record` by
:mod:`metareview.sources.europepmc`.
"""

from __future__ import annotations

from typing import Any, Unpack

from metareview.errors import SourceError
from metareview.sources.clients.base import (
    HttpOptions,
    LiveClient,
    ParsePage,
    ProgressCallback,
    SearchResult,
    check_parsed,
)
from metareview.sources.record import Record

__all__ = ["EUROPEPMC_URL", "EuropePMCClient"]

EUROPEPMC_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest/"


def _default_parser(reply: Any, origin: str) -> list[Record]:
    from metareview.sources.europepmc import parse_response

    return parse_response(reply, file=origin)[0]


class EuropePMCClient(LiveClient):
    """Search Europe PMC and return one :class:`Record` per result.

    Parameters
    ----------
    base_url
        REST root up to ``/webservices/rest/`` (default the public service).
    page_size
        Results per page (1 to 1000).
    rate
        Requests per second (Europe PMC publishes no hard limit; 5 is polite).
    parse
        ``parse(reply, origin) -> list[Record]`` for one decoded search reply; default
        :func:`metareview.sources.europepmc.parse_response`.
    **http
        ``client``, ``transport``, ``sleep``, ``clock``, ``max_retries``, ``backoff``,
        ``timeout`` (default 60 s), ``deadline``, ``max_response_bytes``, ``max_redirects``,
        ``max_retry_after``, ``max_empty_pages``:
        :class:`~metareview.sources.clients.base.HttpOptions`.
    """

    source = "europepmc"
    label = "Europe PMC"

    def __init__(
        self,
        base_url: str = EUROPEPMC_URL,
        *,
        page_size: int = 1000,
        rate: float = 5.0,
        parse: ParsePage | None = None,
        **http: Unpack[HttpOptions],
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        super().__init__(base_url, rate=rate, **http)
        self.page_size = page_size
        self._parse = parse or _default_parser

    def search(
        self,
        query: str,
        *,
        max_records: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SearchResult:
        """Search for ``query`` and fetch up to ``max_records`` results (default all)."""
        harvest = self._harvest(query, max_records, progress)
        url = self.http.url("search")
        cursor = "*"
        page = 0
        while True:
            params = {
                "query": query,
                "resultType": "core",
                "format": "json",
                "pageSize": harvest.page_size(self.page_size),
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
            if harvest.total is None:
                harvest.start(hit_count)
            batch = self._parse(body, where) if results else []
            check_parsed(where, len(results), batch, "results")
            harvest.add(batch)
            next_cursor = body.get("nextCursorMark")
            if not results or not next_cursor or next_cursor == cursor or harvest.full:
                break
            cursor = str(next_cursor)
        return self._result(harvest, url=url, details={"pages": page})
