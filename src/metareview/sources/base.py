"""What every file importer shares: the parse error, text decoding by line, identifier patterns.

An importer is a function ``parse(stream, *, file) -> Iterator[Record]`` reading a binary stream
lazily, so a file of any size is read once, record by record. Errors name the file and the
position (line and/or record number) through :class:`SourceFormatError`.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from metareview.errors import InputError, SourceError
from metareview.sources.record import Record

__all__ = [
    "DOI_RE",
    "MAX_LINE_BYTES",
    "MAX_RECORD_CHARS",
    "NCT_RE",
    "Parser",
    "SourceFormatError",
    "clean_doi",
    "dedupe_keep_order",
    "find_nct_ids",
    "iter_lines",
    "load_json",
    "parse_year",
    "peekable",
    "raw_lines",
    "read_text",
    "record_too_long",
    "refuse_constant",
]

#: An importer: reads a binary stream lazily and yields records. ``file`` names the input in
#: error messages and in :attr:`Record.origin_file`; ``encoding`` overrides the text encoding.
Parser = Callable[..., Iterator[Record]]

#: The longest line (in bytes) a text importer reads; longer stops the import. Read at each
#: call, so a caller (or a test) may lower it.
MAX_LINE_BYTES = 8 * 1024 * 1024
#: The most text (in characters) one RIS/MEDLINE record or CSV row may hold.
MAX_RECORD_CHARS = 32 * 1024 * 1024

#: ClinicalTrials.gov identifier: NCT and eight digits.
NCT_RE = re.compile(r"\bNCT\d{8}\b")
#: A DOI as printed in citations (prefix 10.NNNN/, suffix up to whitespace).
DOI_RE = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")


class SourceFormatError(InputError, SourceError):
    """A file does not parse: says which file, line and record (1-based), and why.

    It is both an :class:`~metareview.errors.InputError` (bad user input) and a
    :class:`~metareview.errors.SourceError` (a source failed), so callers may catch either.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ) -> None:
        self.line = line
        self.record = record
        super().__init__(message, file=file, row=record, field=field)

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def iter_lines(
    stream: IO[bytes], *, file: str, encoding: str | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a binary stream, decoded strictly.

    The default encoding is UTF-8; a UTF-8 byte-order mark is dropped and a UTF-16 one is
    honoured. Bytes that are not valid in the encoding raise an error naming the line and byte,
    rather than being guessed at: a Latin-1 file must be named as such (``encoding="latin-1"``).
    Line ends (``\\n``, ``\\r\\n``) are removed.

    Raises
    ------
    SourceFormatError
        A line does not decode.
    """
    buffered = peekable(stream)
    head = buffered.peek(4)[:4]
    if encoding is None:
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
            buffered.read(3)
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            yield from _iter_utf16(buffered, file=file)
            return
        else:
            encoding = "utf-8"
    for number, raw in enumerate(raw_lines(buffered, file=file), start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            byte = raw[exc.start : exc.start + 1].hex()
            raise SourceFormatError(
                f"not valid {encoding} text (byte 0x{byte} at column {exc.start + 1}); save the "
                "file as UTF-8 or give its encoding (--encoding latin-1)",
                file=file,
                line=number,
            ) from None
        yield number, text


def raw_lines(stream: io.BufferedReader, *, file: str) -> Iterator[bytes]:
    """The lines of a binary stream without their ends, at most :data:`MAX_LINE_BYTES` each.

    Lines end at ``\n``, ``\r\n`` or a lone ``\r`` (old Mac exports, some RIS writers), as
    Python's universal newlines read them. A line longer than the limit stops the import with a
    message rather than being read whole (a 1 GB line would otherwise sit in memory several
    times over before SQLite refused it).

    Raises
    ------
    SourceFormatError
        A line longer than :data:`MAX_LINE_BYTES`.
    """
    limit = MAX_LINE_BYTES
    pending = b""
    number = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            if pending:
                number += 1
                yield _checked(pending.rstrip(b"\r"), limit, file, number)
            return
        pieces = (pending + chunk).splitlines(keepends=True)
        # The last piece is unfinished unless it ends with LF: cut at the limit, or a lone CR
        # that the next byte (an LF) may turn into CRLF.
        pending = b"" if pieces[-1].endswith(b"\n") else pieces.pop()
        for piece in pieces:
            number += 1
            yield _checked(piece.rstrip(b"\r\n"), limit, file, number)
        if len(pending) - pending.endswith(b"\r") > limit:
            raise _too_long(limit, file, number + 1)


def record_too_long(*, file: str, line: int | None, record: int) -> SourceFormatError:
    """The error for a record holding more than :data:`MAX_RECORD_CHARS` characters of text."""
    return SourceFormatError(
        f"record longer than {MAX_RECORD_CHARS} characters; no bibliographic record is that "
        "long (is a record end marker missing?)",
        file=file,
        line=line,
        record=record,
    )


def _checked(line: bytes, limit: int, file: str, number: int) -> bytes:
    if len(line) > limit:
        raise _too_long(limit, file, number)
    return line


def _too_long(limit: int, file: str, number: int) -> SourceFormatError:
    return SourceFormatError(
        f"line longer than {limit} bytes; no record field is that long (is this the right file?)",
        file=file,
        line=number,
    )


def peekable(stream: IO[bytes]) -> io.BufferedReader:
    """``stream`` as a buffered reader with ``peek`` (wrapping it when it has none)."""
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(stream)  # type: ignore[arg-type]


def _iter_utf16(stream: io.BufferedReader, *, file: str) -> Iterator[tuple[int, str]]:
    """Lines of a UTF-16 stream (byte-order mark first), decoded incrementally and bounded."""
    reader = io.TextIOWrapper(stream, encoding="utf-16", newline=None)
    number = 0
    try:
        while True:
            line = reader.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_BYTES:
                raise _too_long(MAX_LINE_BYTES, file, number)
            yield number, line.rstrip("\n")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(
            f"not valid UTF-16 text ({exc.reason})", file=file, line=number + 1
        ) from None
    finally:
        reader.detach()


def load_json(stream: IO[bytes], *, file: str) -> Any:
    """Read a JSON document from a binary stream, naming line and column when it is malformed.

    JSON is read whole (the API's pages are at most 1000 studies); a UTF-8 byte-order mark is
    accepted.

    Raises
    ------
    SourceFormatError
        Not JSON, or not UTF-8.
    """
    data = stream.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceFormatError(
            f"not valid UTF-8 (byte 0x{data[exc.start : exc.start + 1].hex()}); JSON must be UTF-8",
            file=file,
            line=line,
        ) from None
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"malformed JSON at column {exc.colno}: {exc.msg}", file=file, line=exc.lineno
        ) from None
    except RecursionError:
        raise SourceFormatError(
            "JSON nested too deeply to read (no source nests more than a few dozen levels)",
            file=file,
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits (sys.int_info)
        raise SourceFormatError(f"JSON value not usable: {exc}", file=file) from None


def refuse_constant(name: str) -> Any:
    """``json.loads(parse_constant=...)``: refuse ``NaN``/``Infinity``, which JSON does not have
    (RFC 8259 section 6) and Python's decoder would otherwise accept."""
    raise ValueError(f"{name} is not a JSON number")


def read_text(path: Path) -> str:
    """A user's text file, decoded as UTF-8 (a byte-order mark is dropped), line ends kept.

    Raises
    ------
    InputError
        The file cannot be read, or is not UTF-8 (the message names the line of the first
        bad byte).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text ({exc.reason}, line {line})", file=str(path)
        ) from None


def find_nct_ids(*texts: str | None) -> list[str]:
    """ClinicalTrials.gov ids mentioned in ``texts``, first mention first, without repeats."""
    found: list[str] = []
    for text in texts:
        if text:
            found.extend(NCT_RE.findall(text))
    return dedupe_keep_order(found)


def clean_doi(value: str | None) -> str | None:
    """A DOI without URL prefix, ``doi:`` label or trailing punctuation, lower-cased.

    DOIs are case-insensitive (DOI Handbook, section 2.4), so lower case makes them comparable.
    """
    if not value:
        return None
    text = value.strip()
    text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text, flags=re.IGNORECASE)
    match = DOI_RE.search(text)
    if not match:
        return None
    return match.group(0).rstrip(".,;)]").lower()


def parse_year(value: str | int | None) -> int | None:
    """The first plausible four-digit year (1800-2199) in ``value``, or None."""
    if value is None:
        return None
    match = re.search(r"\b(1[89]\d\d|2[01]\d\d)\b", str(value))
    return int(match.group(1)) if match else None


def dedupe_keep_order(items: Iterable[str]) -> list[str]:
    """``items`` without repeats or empty strings, first occurrence kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out
