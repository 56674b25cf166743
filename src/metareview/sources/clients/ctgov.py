"""ClinicalTrials.gov API v2 client: ``GET /api/v2/studies`` paged by ``nextPageToken``.

Per the API v2 documentation (clinicaltrials.gov/data-api/api): ``query.term`` takes an Essie
expression, ``pageSize`` at most 1000, ``countTotal=true`` adds ``totalCount`` to the first page,
and each page carries ``nextPageToken`` until the last one, which has none. Each study object is
turned into a :class:`Record` by :mod:`metareview.sources.ctgov`.
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

__all__ = ["CTGOV_URL", "CTGovClient"]

CTGOV_URL = "https://clinicaltrials.gov/api/v2/"


def _default_parser(page: Any, origin: str) -> list[Record]:
    from metareview.sources.ctgov import parse_page

    return parse_page(page, file=origin)[0]


class CTGovClient(LiveClient):
    """Search ClinicalTrials.gov (API v2) and return one :class:`Record` per study.

    Parameters
    ----------
    base_url
        API root up to ``/api/v2/`` (default the public service).
    page_size
        Studies per page (1 to 1000).
    rate
        Requests per second; ClinicalTrials.gov asks clients to stay near 50 a minute.
    parse
        ``parse(page, origin) -> list[Record]`` for one decoded search page; default
        :func:`metareview.sources.ctgov.parse_page`.
    **http
        ``client``, ``transport``, ``sleep``, ``clock``, ``max_retries``, ``backoff``,
        ``timeout`` (default 60 s), ``deadline``, ``max_response_bytes``, ``max_redirects``,
        ``max_retry_after``, ``max_empty_pages``:
        :class:`~metareview.sources.clients.base.HttpOptions`.
    """

    source = "ctgov"
    label = "ClinicalTrials.gov"

    def __init__(
        self,
        base_url: str = CTGOV_URL,
        *,
        page_size: int = 100,
        rate: float = 50 / 60,
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
        """Search for ``query`` (``query.term``) and fetch up to ``max_records`` studies."""
        harvest = self._harvest(query, max_records, progress)
        url = self.http.url("studies")
        token: str | None = None
        seen_tokens: set[str] = set()
        page = 0
        empty = 0
        while True:
            params = {
                "query.term": query,
                "pageSize": harvest.page_size(self.page_size),
                "countTotal": "true",
                "format": "json",
                "pageToken": token,
            }
            body = self.http.get_json("studies", params)
            page += 1
            where = f"{url} (page {page})"
            if not isinstance(body, dict) or not isinstance(body.get("studies"), list):
                raise SourceError(f"{where}: reply has no 'studies' list")
            if harvest.total is None:
                if not isinstance(body.get("totalCount"), int):
                    raise SourceError(f"{where}: reply has no integer 'totalCount'")
                harvest.start(int(body["totalCount"]))
            batch = self._parse(body, where) if body["studies"] else []
            check_parsed(where, len(body["studies"]), batch, "studies")
            harvest.add(batch)
            token = body.get("nextPageToken")
            if not token or harvest.full:
                break
            if not isinstance(token, str):
                raise SourceError(f"{where}: 'nextPageToken' is not a string")
            empty = 0 if batch else empty + 1
            self._no_progress(where, empty, "studies")
            if token in seen_tokens:
                raise SourceError(f"{url} (page {page}): nextPageToken {token!r} repeats")
            seen_tokens.add(token)
        return self._result(harvest, url=url, details={"pages": page})
