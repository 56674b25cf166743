"""The HTTP layer every live client shares: retries, back-off, rate limit, checked bodies.

A :class:`HttpClient` wraps one :class:`httpx.Client` bound to a base URL. It spaces requests to
stay under the source's rate limit, retries 429 (honouring ``Retry-After``), 5xx and transport
errors with exponential back-off, and turns anything it cannot recover from into a
:class:`~metareview.errors.SourceError` that names the URL (and, for a malformed body, the line and
column). The clock and the sleep function are injectable so tests run without waiting.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypedDict, Unpack
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
import httpx
from defusedxml import DefusedXmlException

from metareview import __version__
from metareview.errors import SourceError
from metareview.sources.record import Record

__all__ = [
    "RETRY_STATUSES",
    "Harvest",
    "HttpClient",
    "HttpOptions",
    "LiveClient",
    "ParsePage",
    "ProgressCallback",
    "RateLimiter",
    "SearchResult",
    "backoff_delay",
    "check_parsed",
    "parse_retry_after",
]

#: Statuses worth retrying: rate limited, and the server-side failures that are usually transient.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: ``progress(done, total)``: records fetched so far and the total the source reports (or None).
ProgressCallback = Callable[[int, int | None], None]

#: ``parse(page, origin) -> records``: one decoded JSON search page to records (``origin`` names
#: the page in error messages).
ParsePage = Callable[[Any, str], list[Record]]

USER_AGENT = f"metareview/{__version__} (systematic review software; python-httpx)"


@dataclass(slots=True)
class SearchResult:
    """What one live search returned, with what PRISMA-S asks to report about it.

    ``count`` is the number of hits the source reported for the query; ``records`` may be fewer
    when ``max_records`` capped the download. ``searched_at`` is the UTC time the search started.
    """

    source: str
    query: str
    count: int
    records: list[Record]
    searched_at: str
    url: str
    requests: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class RateLimiter:
    """Space calls at least ``1 / rate`` seconds apart (a minimum-interval limiter).

    NCBI allows 3 requests per second without an API key and 10 with one; starting each request
    no sooner than ``1 / rate`` s after the previous one keeps any window of one second under the
    limit.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (requests per second) or None")
        self.interval = 0.0 if rate is None else 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        """Block until the next request may start, then mark it as started."""
        if self.interval and self._last is not None:
            delay = self._last + self.interval - self._clock()
            if delay > 0:
                self._sleep(delay)
        self._last = self._clock()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3), or None if absent/bad.

    The header is either a number of seconds or an HTTP date.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential back-off: ``min(cap, base * 2**attempt)`` for retry ``attempt`` (0-based)."""
    return float(min(cap, base * (2**attempt)))


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class HttpClient:
    """A polite, retrying HTTP GET client for one source.

    Parameters
    ----------
    base_url
        The service root; request paths are relative to it.
    client
        An :class:`httpx.Client` to use as is (its base URL is ignored; full URLs are built here).
    transport
        An httpx transport for a client made here (tests pass ``httpx.MockTransport``).
    rate
        Maximum requests per second (None: unlimited).
    timeout
        Seconds for connect/read/write/pool.
    max_retries
        Retries after the first attempt for 429, 5xx, timeouts and connection errors.
    backoff, max_backoff
        Exponential back-off base and cap in seconds (see :func:`backoff_delay`). A
        ``Retry-After`` header overrides the computed delay, capped at ``max_retry_after``.
    sleep, clock
        Injected for tests; default :func:`time.sleep` and :func:`time.monotonic`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        rate: float | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        self.requests = 0
        self._own_client = client is None
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._client = client or httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers=all_headers,
            follow_redirects=True,
        )

    def close(self) -> None:
        """Close the underlying httpx client if this object made it."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` under the base URL."""
        return self.base_url + path.lstrip("/")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """GET ``path`` with ``params``; retry what is transient; return a 2xx response.

        Raises
        ------
        SourceError
            A non-retryable status (e.g. 400, 404), retries exhausted, or the request failing
            at the transport level every time. The message names the URL.
        """
        url = self.url(path)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            self.limiter.wait()
            self.requests += 1
            try:
                response = self._client.get(url, params=clean)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
                retry_after = None
            except httpx.TransportError as exc:
                problem = f"connection failed ({exc})"
                retry_after = None
            else:
                if response.is_success:
                    return response
                shown = str(response.url)
                if response.status_code not in RETRY_STATUSES:
                    raise SourceError(
                        f"{shown}: HTTP {response.status_code} {response.reason_phrase}: "
                        f"{_snippet(response.text)}"
                    )
                problem = f"HTTP {response.status_code} {response.reason_phrase}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                raise SourceError(f"{url}: {problem}; gave up after {attempt + 1} attempts")
            if retry_after is not None:
                delay = min(retry_after, self.max_retry_after)
            else:
                delay = backoff_delay(attempt, base=self.backoff, cap=self.max_backoff)
            self._sleep(delay)
            attempt += 1

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode a JSON body (see :meth:`get_json_body`)."""
        return self.get_json_body(path, params)[1]

    def get_json_body(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[bytes, Any]:
        """GET a JSON body; return the bytes as received and the decoded value.

        Raises
        ------
        SourceError
            The body is not JSON: the message names the URL, line and column.
        """
        response = self.get(path, params)
        try:
            return response.content, json.loads(response.content)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{response.url}: malformed JSON at line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}"
            ) from None
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{response.url}: response is not valid UTF-8 at byte {exc.start}"
            ) from None

    def get_xml(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[bytes, Element]:
        """GET an XML body; return the bytes and the parsed root (parsed with defusedxml).

        A malformed body raises :class:`SourceError` naming the URL, line and column; a body that
        declares entities or a DTD that defusedxml forbids raises :class:`SourceError` too.
        """
        response = self.get(path, params)
        body = response.content
        try:
            root = safe_et.fromstring(body)
        except ParseError as exc:
            line, column = exc.position
            raise SourceError(
                f"{response.url}: malformed XML at line {line}, column {column + 1}: {exc}"
            ) from None
        except DefusedXmlException as exc:
            raise SourceError(f"{response.url}: refused unsafe XML ({exc})") from None
        return body, root


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds ('2026-11-23T12:51:42Z')."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Harvest:
    """The records one search gathers, batch by batch: capped, stamped, progress reported.

    Made when the search starts (``searched_at`` is that UTC time). :meth:`start` takes the number
    of hits the source reports; :meth:`add` keeps a parsed batch up to ``max_records``, stamps each
    record with the query (a live record has no origin file) and reports progress as
    ``progress(done, expected)``, where ``expected`` is the hit count capped at ``max_records``.
    """

    def __init__(
        self,
        query: str,
        max_records: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.query = query
        self.max_records = max_records
        self.progress = progress
        self.searched_at = utc_now()
        self.records: list[Record] = []
        self.total: int | None = None

    @property
    def expected(self) -> int | None:
        """The hit count capped at ``max_records`` (None before :meth:`start`)."""
        if self.total is None or self.max_records is None:
            return self.total
        return min(self.total, self.max_records)

    @property
    def full(self) -> bool:
        """Whether ``max_records`` records have been kept."""
        return self.max_records is not None and len(self.records) >= self.max_records

    def page_size(self, size: int) -> int:
        """``size``, or fewer when only that many records remain under ``max_records`` (>= 1)."""
        if self.max_records is None:
            return size
        return max(1, min(size, self.max_records - len(self.records)))

    def start(self, total: int) -> None:
        """Record the source's hit count and report ``progress(0, expected)``."""
        self.total = total
        if self.progress:
            self.progress(0, self.expected)

    def add(self, batch: list[Record]) -> None:
        """Keep ``batch`` (cut at ``max_records``), stamp its origin, report progress."""
        if self.max_records is not None:
            batch = batch[: self.max_records - len(self.records)]
        for record in batch:
            record.origin_query = self.query
            record.origin_file = None
        self.records.extend(batch)
        if self.progress:
            self.progress(len(self.records), self.expected)


def check_parsed(where: str, expected: int, batch: list[Record], items: str) -> None:
    """Raise :class:`SourceError` unless the parser made one record per item on the page."""
    if len(batch) != expected:
        raise SourceError(
            f"{where}: {expected} {items} on the page but {len(batch)} records parsed"
        )


class HttpOptions(TypedDict, total=False):
    """The :class:`HttpClient` settings a live client passes on (see :class:`HttpClient`)."""

    client: httpx.Client | None
    transport: httpx.BaseTransport | None
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    max_retries: int
    backoff: float
    timeout: float


class LiveClient:
    """What every live client shares: one :class:`HttpClient`, closing, the result it returns.

    Subclasses set ``source`` and implement ``search(query, *, max_records=None,
    progress=None) -> SearchResult`` with a :class:`Harvest`. ``http`` holds the
    :class:`HttpOptions` (``timeout`` defaults to 60 s here).
    """

    source: str

    def __init__(self, base_url: str, *, rate: float | None, **http: Unpack[HttpOptions]) -> None:
        http.setdefault("timeout", 60.0)
        self.http = HttpClient(base_url, rate=rate, **http)

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _result(self, harvest: Harvest, *, url: str, details: dict[str, Any]) -> SearchResult:
        """The :class:`SearchResult` of a finished ``harvest``."""
        return SearchResult(
            source=self.source,
            query=harvest.query,
            count=harvest.total or 0,
            records=harvest.records,
            searched_at=harvest.searched_at,
            url=url,
            requests=self.http.requests,
            details=details,
        )
