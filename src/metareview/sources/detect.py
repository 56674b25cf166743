"""Which importer reads a file: detection from the first bytes, and the registry of formats.

Detection looks at the content first (the first 64 KiB), the file name only to tell CSV from
plain text:

- ``<?xml``/``<!DOCTYPE``/``<PubmedArticleSet`` -> ``pubmed-xml``
- JSON with ``protocolSection`` or ``"studies"`` -> ``ctgov-json``; with ``resultList`` ->
  ``europepmc-json``
- a line ``TY  - `` before any other tag -> ``ris``; a line ``PMID- `` -> ``medline``
- ``.csv``/``.tsv`` names -> ``csv``
- anything else that decodes as text -> ``text`` (a pasted web page)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from metareview.errors import InputError
from metareview.sources import csv_import, ctgov, europepmc, medline, pubmed, ris, text
from metareview.sources.base import Parser
from metareview.sources.record import Record

__all__ = ["FORMATS", "detect_format", "detect_format_bytes", "parse_file", "parser_for"]

#: Format name -> importer.
FORMATS: dict[str, Parser] = {
    "pubmed-xml": pubmed.parse,
    "medline": medline.parse,
    "ris": ris.parse,
    "csv": csv_import.parse,
    "ctgov-json": ctgov.parse,
    "europepmc-json": europepmc.parse,
    "text": text.parse,
}

_SNIFF_BYTES = 1 << 16


def parser_for(name: str) -> Parser:
    """The importer for a format name.

    Raises
    ------
    InputError
        Unknown format name.
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(
            f"unknown format {name!r}; known formats: {', '.join(FORMATS)}", field="format"
        ) from None


def detect_format_bytes(head: bytes, *, name: str = "") -> str:
    """The format of a document from its first bytes (and its file name for CSV)."""
    sample = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            sample = head.decode("utf-16").encode("utf-8").lstrip()
        except UnicodeDecodeError:
            return "text"
    if sample.startswith((b"<?xml", b"<!DOCTYPE", b"<PubmedArticleSet", b"<PubmedArticle")):
        return "pubmed-xml"
    if sample.startswith((b"{", b"[")):
        if b'"resultList"' in sample:
            return "europepmc-json"
        if b'"protocolSection"' in sample or b'"studies"' in sample:
            return "ctgov-json"
        if b'"hitCount"' in sample:
            return "europepmc-json"
    text = sample.decode("utf-8", errors="replace")
    first_tag = re.search(r"^([A-Z][A-Z0-9]{1,3})\s*- ", text, re.MULTILINE)
    if first_tag:
        if re.match(r"TY  - ", text[first_tag.start() :]):
            return "ris"
        if first_tag.group(1) == "PMID":
            return "medline"
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".ris",):
        return "ris"
    if suffix in (".nbib", ".medline"):
        return "medline"
    if suffix == ".xml":
        return "pubmed-xml"
    if suffix == ".json":
        return "ctgov-json" if b"protocolSection" in sample else "europepmc-json"
    return "text"


def detect_format(path: str | Path) -> str:
    """The format of a file, from its first 64 KiB and its name.

    Raises
    ------
    InputError
        The file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return detect_format_bytes(head, name=str(path))


def parse_file(
    path: str | Path, *, format: str | None = None, encoding: str | None = None, **options: Any
) -> Iterator[Record]:
    """Records of a file, lazily (the file stays open until the iterator is exhausted).

    Parameters
    ----------
    format
        A key of :data:`FORMATS`; detected when None.
    encoding
        Text encoding for the text formats (default UTF-8, byte-order mark honoured).
    options
        Passed to the importer (e.g. ``mapping=`` for CSV).
    """
    fmt = format or detect_format(path)
    parse = parser_for(fmt)
    with open(path, "rb") as handle:
        stream: IO[bytes] = handle
        yield from parse(stream, file=str(path), encoding=encoding, **options)
