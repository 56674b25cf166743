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
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypedDict, Unpack
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
import httpx
from defusedxml import DefusedXmlException

from metareview import __version__
from metareview.errors import SourceError
from metareview.sources.record import Record

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_EMPTY_PAGES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRY_AFTER",
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

#: Seconds one search may take in all (curl's ``--max-time`` for the whole search).
DEFAULT_DEADLINE = 1800.0
#: The largest response body accepted, counted after decompression (curl's ``--max-filesize``).
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
#: Redirect hops followed per request (curl's ``--max-redirs``; browsers allow about 20).
DEFAULT_MAX_REDIRECTS = 5
#: The longest ``Retry-After`` honoured, in seconds; a longer one ends the search.
DEFAULT_MAX_RETRY_AFTER = 120.0
#: Pages in a row that add no record (but promise another page) before paging stops.
DEFAULT_MAX_EMPTY_PAGES = 3

logger = logging.getLogger("metareview.sources.clients")

_ACCEPT = {"Accept-Encoding": "gzip, deflate"}

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


def _check_limits(**limits: float | None) -> None:
    """Refuse a limit that is not a positive number (``max_retries``/``max_redirects`` may be 0)."""
    for name, value in limits.items():
        if value is None and name == "deadline":
            continue
        zero_ok = name in ("max_retries", "max_redirects", "max_retry_after")
        if value is None or not (value >= 0 if zero_ok else value > 0) or value != value:
            bound = "at least 0" if zero_ok else "positive"
            raise SourceError(f"{name} must be {bound}, not {value!r}")


def _port(url: httpx.URL) -> int | None:
    """The URL's port, or its scheme's default (80/443)."""
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


def _endpoint(path: str) -> str:
    """A path's name for messages: ``esearch.fcgi`` -> ``esearch``, ``studies`` as is."""
    last = path.strip("/").rsplit("/", 1)[-1]
    return last.split(".", 1)[0]


def _unrecoverable(exc: httpx.TransportError, url: str) -> str | None:
    """What is wrong when a retry cannot fix ``exc`` (None when it may be transient).

    A host name that does not resolve, a refused connection and a scheme httpx cannot speak
    fail the same way on every attempt; curl does not retry them either.
    """
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"cannot fetch this URL ({exc})"
    if not isinstance(exc, httpx.ConnectError):
        return None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror) and cause.errno != socket.EAI_AGAIN:
            host = urlsplit(url).hostname
            return f"cannot resolve the host name {host!r} ({cause.strerror}); not retried"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the service running at this address?); not retried"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"cannot resolve the host name {urlsplit(url).hostname!r}; not retried"
    if "Connection refused" in text:
        return "connection refused (is the service running at this address?); not retried"
    return None


class _Inflater:
    """Undo a ``Content-Encoding`` (identity, gzip, deflate) with bounded output per call.

    :meth:`feed` yields decoded pieces of at most ``room`` bytes each until the input is used
    up, so a gzip bomb is stopped by the caller's count as soon as it passes the limit.
    """

    def __init__(self, encoding: str, url: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise SourceError(f"{url}: unsupported Content-Encoding {encoding!r}")
        self.coding = codings[0] if codings else None
        self.url = url
        self._raw_deflate = False
        self._first = True
        wbits = 16 + zlib.MAX_WBITS if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def _drain(self, data: bytes, room: int) -> Iterator[bytes]:
        room = max(1, room)
        try:
            out = self._z.decompress(data, room)
            yield out
            while self._z.unconsumed_tail:
                out = self._z.decompress(self._z.unconsumed_tail, room)
                yield out
        except zlib.error as exc:
            raise SourceError(f"{self.url}: the {self.coding} body is corrupt ({exc})") from None

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decoded pieces of ``data`` (each at most ``room`` bytes)."""
        if self.coding is None:
            yield data
            return
        if self._first and self.coding == "deflate" and data:
            # RFC 9110 says zlib-wrapped; some servers send raw deflate (no zlib header).
            self._first = False
            if (data[0] & 0x0F) != 8 or (data[0] * 256 + data[1 if len(data) > 1 else 0]) % 31:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        yield from self._drain(data, room)

    def flush(self, room: int) -> Iterator[bytes]:
        """What the decoder still holds at the end of the body."""
        if self.coding is None:
            return
        try:
            yield self._z.flush(max(1, room))
        except zlib.error as exc:
            raise SourceError(f"{self.url}: the {self.coding} body is corrupt ({exc})") from None
        if not self._z.eof:
            raise SourceError(f"{self.url}: the {self.coding} body is corrupt (it is cut short)")


def _no_constant(name: str) -> Any:
    """Refuse ``NaN``/``Infinity`` in a reply (not JSON, RFC 8259 section 6)."""
    raise ValueError(f"{name} is not a JSON number")


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class HttpClient:
    """A polite, retrying, bounded HTTP GET client for one source.

    Every request is bounded the way curl bounds one (``--max-redirs``, ``--max-filesize``,
    ``--max-time``, ``--retry-max-time``):

    * redirects are followed only to the same host (and port), or from ``http`` to ``https`` on
      the same host, at most ``max_redirects`` hops; any other redirect is refused with a
      :class:`SourceError` that says where it pointed, and a loop is reported once;
    * a body is read as a stream and counted after decompression (``gzip``/``deflate`` are
      inflated here, ``max_length`` at a time), so neither a huge declared length, an endless
      body nor a gzip bomb holds more than ``max_response_bytes`` in memory;
    * :meth:`start` opens a total ``deadline`` for one search: each read's timeout is cut to the
      time left, the body is abandoned when the deadline passes, and a retry that would wait
      past it is not attempted;
    * 429/5xx, timeouts and dropped connections are retried with a logged line
      ("retrying PubMed esearch in 2 s: HTTP 503 (attempt 2 of 6)"); a ``Retry-After`` longer
      than ``max_retry_after`` is not waited for (the search stops with that reason); errors a
      retry cannot fix (a host that does not resolve, a refused connection, a scheme other than
      http/https) fail at once.

    Parameters
    ----------
    base_url
        The service root; request paths are relative to it. Must be http or https.
    client
        An :class:`httpx.Client` to use as is (its base URL is ignored; full URLs are built here;
        its own redirect setting is overridden: redirects are followed here).
    transport
        An httpx transport for a client made here (tests pass ``httpx.MockTransport``).
    rate
        Maximum requests per second (None: unlimited).
    timeout
        Seconds for connect/read/write/pool of one request (cut to the time left before the
        deadline).
    max_retries
        Retries after the first attempt for 429, 5xx, timeouts and dropped connections.
    backoff, max_backoff
        Exponential back-off base and cap in seconds (see :func:`backoff_delay`). A
        ``Retry-After`` header replaces the computed delay.
    max_retry_after
        The longest ``Retry-After`` (seconds) honoured; a longer one ends the search.
    deadline
        Seconds one search may take in all, from :meth:`start` (None: no deadline).
    max_response_bytes
        The largest body accepted, counted after decompression.
    max_redirects
        Redirect hops followed per request.
    name
        How log lines and messages name the source ("PubMed").
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
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            scheme = urlsplit(base_url).scheme.lower()
            parsed = httpx.URL(base_url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise SourceError(f"{base_url}: not a valid URL ({exc})") from None
        if scheme not in ("http", "https"):
            raise SourceError(
                f"{base_url}: only http:// and https:// services can be searched"
                + (f", not {scheme}://" if scheme else "")
            )
        if not parsed.host:
            raise SourceError(f"{base_url}: the URL names no host")
        _check_limits(
            timeout=timeout,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            max_redirects=max_redirects,
        )
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.name = name or urlsplit(base_url).hostname or base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.max_redirects = max_redirects
        self._sleep = sleep
        self._clock = clock
        self._deadline_at: float | None = None
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        self.requests = 0
        self._own_client = client is None
        all_headers = {
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "gzip, deflate",
            **(headers or {}),
        }
        self._client = client or httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers=all_headers,
            follow_redirects=False,
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

    # -- the deadline -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the clock of one search: its requests must end within ``deadline`` seconds."""
        self._deadline_at = None if self.deadline is None else self._clock() + self.deadline

    def _left(self) -> float | None:
        """Seconds left before the deadline (None: no deadline running)."""
        if self._deadline_at is None:
            return None
        return self._deadline_at - self._clock()

    def _deadline_error(self, url: str) -> SourceError:
        return SourceError(
            f"{url}: the {self.name} search did not finish within its deadline of "
            f"{self.deadline:g} s (set it with --deadline)"
        )

    def _check_deadline(self, url: str) -> None:
        left = self._left()
        if left is not None and left <= 0:
            raise self._deadline_error(url)

    def _request_timeout(self) -> httpx.Timeout:
        left = self._left()
        seconds = self.timeout if left is None else max(0.001, min(self.timeout, left))
        return httpx.Timeout(seconds)

    # -- one request: redirects and a bounded body ------------------------------------------

    def _redirect_target(self, response: httpx.Response, hops: list[httpx.URL]) -> httpx.URL:
        """Where an allowed redirect goes; a refused one raises :class:`SourceError`."""
        here = response.url
        location = response.headers.get("Location")
        if not location:
            raise SourceError(f"{here}: HTTP {response.status_code} redirect without a Location")
        try:
            target = here.join(location)
        except (httpx.InvalidURL, ValueError):
            raise SourceError(f"{here}: redirect to an invalid URL {location!r}") from None
        same = (
            target.scheme == here.scheme
            and target.host == here.host
            and _port(target) == _port(here)
        )
        upgrade = (
            here.scheme == "http"
            and target.scheme == "https"
            and target.host == here.host
            and _port(target) == 443
        )
        if not (same or upgrade):
            raise SourceError(
                f"{here}: refused a redirect to {target} (only redirects to the same host, or "
                "from http to https, are followed)"
            )
        if target in hops:
            chain = " -> ".join(str(u) for u in [*hops[hops.index(target) :], target])
            raise SourceError(f"{hops[0]}: redirect loop: {chain}")
        if len(hops) > self.max_redirects:
            raise SourceError(
                f"{hops[0]}: more than {self.max_redirects} redirects (the last to {target}; "
                "set the limit with --max-redirects)"
            )
        return target

    def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, at most ``max_response_bytes``, within the deadline."""
        limit = self.max_response_bytes
        url = response.url
        too_big = (
            f"{url}: the response is larger than the limit of {limit} bytes "
            "(set it with --max-response-mb)"
        )
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and len(declared) < 30 and int(declared) > limit:
            raise SourceError(
                f"{url}: the response declares {int(declared)} bytes, more than the limit of "
                f"{limit} bytes (set it with --max-response-mb)"
            )
        if response.is_stream_consumed:  # a transport that hands over a read body (mocks)
            if len(response.content) > limit:
                raise SourceError(too_big)
            return response.content
        inflate = _Inflater(response.headers.get("Content-Encoding", ""), str(url))
        parts: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            # Inflate at most 1 MiB at a time: memory stays within the limit plus one piece.
            for piece in inflate.feed(raw, min(limit - size + 1, 1 << 20)):
                size += len(piece)
                if size > limit:
                    raise SourceError(too_big)
                parts.append(piece)
            self._check_deadline(str(url))
        for piece in inflate.flush(limit - size + 1):
            size += len(piece)
            if size > limit:
                raise SourceError(too_big)
            parts.append(piece)
        return b"".join(parts)

    def _watchdog(self, response: httpx.Response) -> threading.Timer | None:
        """A timer that shuts the connection's socket when the deadline passes.

        Each read already waits at most the time left when the request started, but a server
        that drips a byte just often enough would keep one read after another alive; shutting
        the socket down wakes the blocked read, so the search ends at its deadline.
        """
        left = self._left()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if left is None or sock is None:
            return None

        def shut() -> None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, left), shut)
        timer.daemon = True
        timer.start()
        return timer

    def _fetch(self, url: str, params: Mapping[str, Any]) -> httpx.Response:
        """One GET with its allowed redirects; the returned response holds the whole body."""
        # Only the codings _Inflater undoes (a client passed in may advertise br/zstd).
        request = self._client.build_request(
            "GET", url, params=params, headers=_ACCEPT, timeout=self._request_timeout()
        )
        hops = [request.url]
        while True:
            self.requests += 1
            response = self._client.send(request, stream=True, follow_redirects=False)
            watchdog = self._watchdog(response)
            try:
                if response.has_redirect_location:
                    target = self._redirect_target(response, hops)
                    hops.append(target)
                    request = self._client.build_request(
                        "GET", target, headers=_ACCEPT, timeout=self._request_timeout()
                    )
                    continue
                body = self._read_body(response)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                response.close()
            headers = [
                (k, v)
                for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            ]
            return httpx.Response(
                response.status_code, headers=headers, content=body, request=request
            )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """GET ``path`` with ``params``; retry what is transient; return a 2xx response.

        Raises
        ------
        SourceError
            A non-retryable status (e.g. 400, 404), retries exhausted, an error a retry cannot
            fix, a refused redirect, a body over the limit, or the deadline passed. The message
            names the URL.
        """
        url = self.url(path)
        what = f"{self.name} {_endpoint(path)}".strip()
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            self._check_deadline(url)
            self.limiter.wait()
            self._check_deadline(url)
            retry_after: float | None = None
            try:
                response = self._fetch(url, clean)
            except httpx.TimeoutException as exc:
                self._check_deadline(url)
                problem = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                left = self._left()
                if left is not None and left < 0.05:  # the watchdog shut the socket
                    raise self._deadline_error(url) from None
                fatal = _unrecoverable(exc, url)
                if fatal:
                    raise SourceError(f"{url}: {fatal}") from None
                problem = f"connection failed ({exc})"
            except httpx.HTTPError as exc:  # e.g. a body httpx itself could not decode
                raise SourceError(f"{url}: the reply cannot be read ({exc})") from None
            else:
                if response.is_success:
                    return response
                shown = str(response.url)
                if response.status_code not in RETRY_STATUSES:
                    raise SourceError(
                        f"{shown}: HTTP {response.status_code} {response.reason_phrase}: "
                        f"{_snippet(response.text)}"
                    )
                problem = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                raise SourceError(f"{url}: {problem}; gave up after {attempt + 1} attempts")
            if retry_after is not None and retry_after > self.max_retry_after:
                raise SourceError(
                    f"{url}: {problem}; the server asks to retry after {retry_after:g} s, longer "
                    f"than the {self.max_retry_after:g} s honoured (set it with "
                    "--max-retry-after)"
                )
            if retry_after is not None:
                delay = retry_after
            else:
                delay = backoff_delay(attempt, base=self.backoff, cap=self.max_backoff)
            left = self._left()
            if left is not None and delay >= left:
                raise SourceError(
                    f"{url}: {problem}; a retry in {delay:g} s would pass the search deadline "
                    f"of {self.deadline:g} s (set it with --deadline)"
                )
            logger.warning(
                "retrying %s in %s s: %s (attempt %d of %d)",
                what,
                f"{delay:g}",
                problem,
                attempt + 2,
                self.max_retries + 1,
            )
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
            return response.content, json.loads(response.content, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{response.url}: malformed JSON at line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}"
            ) from None
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{response.url}: response is not valid UTF-8 at byte {exc.start}"
            ) from None
        except RecursionError:
            raise SourceError(f"{response.url}: the JSON reply is nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise SourceError(f"{response.url}: the JSON reply is not usable: {exc}") from None

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
    """The :class:`HttpClient` settings a live client passes on (see :class:`HttpClient`).

    ``max_empty_pages`` is the live client's own: pages in a row that add no record although
    the source promises another page before the search stops with an error.
    """

    client: httpx.Client | None
    transport: httpx.BaseTransport | None
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    max_retries: int
    backoff: float
    timeout: float
    max_retry_after: float
    deadline: float | None
    max_response_bytes: int
    max_redirects: int
    max_empty_pages: int


class LiveClient:
    """What every live client shares: one :class:`HttpClient`, closing, the result it returns.

    Subclasses set ``source`` and ``label`` and implement ``search(query, *, max_records=None,
    progress=None) -> SearchResult`` with a :class:`Harvest` made by :meth:`_harvest` (which
    starts the search's deadline). ``http`` holds the :class:`HttpOptions` (``timeout``
    defaults to 60 s here).
    """

    source: str
    label: str

    def __init__(self, base_url: str, *, rate: float | None, **http: Unpack[HttpOptions]) -> None:
        http.setdefault("timeout", 60.0)
        self.max_empty_pages = int(http.pop("max_empty_pages", DEFAULT_MAX_EMPTY_PAGES))
        if self.max_empty_pages < 1:
            raise SourceError(f"max_empty_pages must be at least 1, not {self.max_empty_pages}")
        options: dict[str, Any] = dict(http)
        if not getattr(self, "label", None):
            self.label = getattr(self, "source", None) or type(self).__name__
        self.http = HttpClient(base_url, rate=rate, name=self.label, **options)

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _harvest(
        self, query: str, max_records: int | None, progress: ProgressCallback | None
    ) -> Harvest:
        """A new :class:`Harvest` for ``query``; the search's deadline starts now."""
        self.http.start()
        return Harvest(query, max_records, progress)

    def _no_progress(self, where: str, empty: int, items: str) -> None:
        """Stop a search whose last ``empty`` pages added nothing but promised more."""
        if empty >= self.max_empty_pages:
            raise SourceError(
                f"{where}: {empty} pages in a row held no {items} but each promised another "
                f"page; stopped (set the limit with --max-empty-pages)"
            )

    def _result(self, harvest: Harvest, *, url: str, details: dict[str, Any]) -> SearchResult:
        """The :class:`SearchResult` of a finished ``harvest``; a shortfall is logged.

        When fewer records came back than the hit count (capped at ``max_records``) promised,
        a warning says how many, and ``details["shortfall"]`` holds the difference.
        """
        expected = harvest.expected
        got = len(harvest.records)
        if expected is not None and got < expected:
            details = {**details, "shortfall": expected - got}
            asked = (
                f"the {expected} asked for"
                if harvest.max_records is not None and harvest.max_records <= (harvest.total or 0)
                else f"the {expected} it reported"
            )
            logger.warning("%s returned %d records, fewer than %s", self.label, got, asked)
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
