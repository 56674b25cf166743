"""CSV (or tab-separated) files of records, with a documented column mapping.

The header row names the columns. Each record field is read from the first column whose name
matches one of its aliases (case and surrounding spaces ignored), unless ``mapping`` names the
column explicitly:

======================  ==================================================================
Record field            Column names accepted (first found wins)
======================  ==================================================================
``title``               title, ti, article title, primary title
``abstract``            abstract, abstracts, ab
``authors``             authors, author, au, author names
``journal``             journal, journal/book, source title, source, jo, journal title
``year``                year, publication year, py, pubyear, date, create date
``doi``                 doi, do
``pmid``                pmid, pubmedid, pubmed id, pubmed_id
``pmcid``               pmcid, pmc id
``nct_ids``             nct_id, nct_ids, nct, trial id, registration number
``keywords``            keywords, keyword, kw, author keywords
``mesh_terms``          mesh, mesh_terms, mesh terms
``publication_types``   publication_type, publication_types, publication type, document type
``language``            language, la
``url``                 url, link, ur
``source_id``           id, record_id, record id, accession number, an
======================  ==================================================================

List columns (authors, keywords, MeSH, publication types, NCT ids) are split at ``;``; an
``authors`` cell without ``;`` is split at commas (``Smith J, Jones K``) unless it is a single
``Last, Initials`` name. The Cohen et al. (2006) screening sets' columns ``pubmedID, title,
keywords, authors, abstracts`` map through these aliases. Every other column (``label1``...) is
kept in ``fields["columns"]``. The delimiter (comma, semicolon or tab) is detected from the
header. A row without title and without PMID/DOI is an error naming the row.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator, Mapping
from typing import IO

from metareview.errors import MetareviewWarning
from metareview.sources import base
from metareview.sources.base import (
    SourceFormatError,
    clean_doi,
    find_nct_ids,
    iter_lines,
    parse_year,
)
from metareview.sources.record import Record

__all__ = ["COLUMN_ALIASES", "parse", "resolve_columns"]

#: Record field -> accepted column names (lower case), in order of preference.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "ti", "article title", "primary title"),
    "abstract": ("abstract", "abstracts", "ab"),
    "authors": ("authors", "author", "au", "author names"),
    "journal": ("journal", "journal/book", "source title", "source", "jo", "journal title"),
    "year": ("year", "publication year", "py", "pubyear", "date", "create date"),
    "doi": ("doi", "do"),
    "pmid": ("pmid", "pubmedid", "pubmed id", "pubmed_id"),
    "pmcid": ("pmcid", "pmc id"),
    "nct_ids": ("nct_id", "nct_ids", "nct", "trial id", "registration number"),
    "keywords": ("keywords", "keyword", "kw", "author keywords"),
    "mesh_terms": ("mesh", "mesh_terms", "mesh terms"),
    "publication_types": (
        "publication_type",
        "publication_types",
        "publication type",
        "document type",
    ),
    "language": ("language", "la"),
    "url": ("url", "link", "ur"),
    "source_id": ("id", "record_id", "record id", "accession number", "an"),
}

_INITIALS = re.compile(r"^[A-Z](?:[ .-]?[A-Z]){0,3}\.?$")


def resolve_columns(
    header: list[str], mapping: Mapping[str, str] | None = None, *, file: str = "<csv>"
) -> dict[str, int]:
    """Record field -> column index for this header (explicit ``mapping`` first, then aliases).

    Raises
    ------
    SourceFormatError
        ``mapping`` names a field that is not a Record field or a column not in the header.
    """
    lowered = [h.strip().lower() for h in header]
    resolved: dict[str, int] = {}
    for field, column in (mapping or {}).items():
        if field not in COLUMN_ALIASES:
            raise SourceFormatError(
                f"unknown record field {field!r} in the column mapping "
                f"(known: {', '.join(COLUMN_ALIASES)})",
                file=file,
            )
        if column.strip().lower() not in lowered:
            raise SourceFormatError(
                f"column {column!r} is not in the header", file=file, line=1, field=column
            )
        resolved[field] = lowered.index(column.strip().lower())
    for field, aliases in COLUMN_ALIASES.items():
        if field in resolved:
            continue
        for alias in aliases:
            if alias in lowered:
                resolved[field] = lowered.index(alias)
                break
    return resolved


def _refuse_repeats(header: list[str], *, file: str) -> None:
    """Refuse a header that names a column twice (the second would be silently dropped)."""
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if not key:
            continue
        if key in seen:
            raise SourceFormatError(
                f"the header names this column twice (columns {seen[key] + 1} and {index + 1}); "
                "rename one",
                file=file,
                line=1,
                field=name.strip(),
            )
        seen[key] = index


def _check_quotes(
    raw: str,
    cells: list[str],
    header: list[str],
    delimiter: str,
    *,
    file: str,
    line: int | None,
    row: int,
) -> None:
    """Catch a quote that swallowed the rows after it (a cell spanning several lines).

    An odd number of ``"`` in the row's text means a quoted cell was never closed: the csv
    module reads to the end of the file as one cell, so the import is refused. A closed cell
    whose later lines each look like a whole row (as many delimiters as the header) is kept,
    with a warning naming the row and the column.
    """
    if raw.count('"') % 2:
        raise SourceFormatError(
            "a quoted cell opened here is never closed, so every line after it would be read as "
            "one cell; close the quote (or double a quote inside a cell: \"\")",
            file=file,
            line=line,
            record=row,
        )
    for index, cell in enumerate(cells):
        parts = cell.split("\n")
        if len(parts) > 2 and all(
            p.count(delimiter) >= len(header) - 1 for p in parts[1:] if p.strip()
        ):
            name = header[index] if index < len(header) else f"column {index + 1}"
            warnings.warn(
                f"{file}, line {line}, row {row}, column {name!r}: the cell spans "
                f"{len(parts)} lines that look like rows of their own; check its quotes",
                MetareviewWarning,
                stacklevel=3,
            )


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(";") if p.strip()]


def _authors(value: str) -> list[str]:
    if ";" in value:
        return _split(value)
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) == 2 and _INITIALS.match(parts[1]):
        return [f"{parts[0]}, {parts[1]}"]
    return parts


def parse(
    stream: IO[bytes],
    *,
    file: str = "<csv>",
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Iterator[Record]:
    """Yield one record per data row.

    Parameters
    ----------
    mapping
        Record field -> column name, overriding the aliases (e.g. ``{"title": "Article"}``).

    Raises
    ------
    SourceFormatError
        No header or no title column, a row with more cells than the header, a row without
        title and identifiers, or undecodable text; the message names the line and the row.
    """
    consumed: list[str] = []
    line_numbers: list[int] = []

    def feed() -> Iterator[str]:
        for number, text in iter_lines(stream, file=file, encoding=encoding):
            consumed.append(text)
            line_numbers.append(number)
            yield text + "\n"

    lines = feed()
    first = next(lines, None)
    if first is None:
        raise SourceFormatError("empty file: no header row", file=file, line=1)
    delimiter = max((",", ";", "\t"), key=first.count)
    # A cell may be as long as a line may be (the csv module's default stops at 128 KiB).
    csv.field_size_limit(base.MAX_LINE_BYTES)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise SourceFormatError(
            f"the header row does not parse: {exc}", file=file, line=1
        ) from None
    _refuse_repeats(header, file=file)
    columns = resolve_columns(header, mapping, file=file)
    if "title" not in columns and "pmid" not in columns:
        raise SourceFormatError(
            f"no title or PMID column in the header {header!r}; name one with a column mapping",
            file=file,
            line=1,
        )
    mapped = set(columns.values())
    consumed.clear()
    line_numbers.clear()
    reader = csv.reader(lines, delimiter=delimiter)
    row_number = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise SourceFormatError(
                f"does not parse as CSV: {exc}",
                file=file,
                line=line_numbers[0] if line_numbers else None,
                record=row_number + 1,
            ) from None
        if cells is None:
            break
        start_line = line_numbers[0] if line_numbers else None
        spans = len(consumed)
        raw = "\n".join(consumed)
        consumed.clear()
        line_numbers.clear()
        if not any(c.strip() for c in cells):
            continue
        row_number += 1
        if spans > 1:
            _check_quotes(raw, cells, header, delimiter, file=file, line=start_line, row=row_number)
        if len(cells) > len(header):
            raise SourceFormatError(
                f"{len(cells)} cells but the header has {len(header)} columns",
                file=file,
                line=start_line,
                record=row_number,
            )

        def cell(field: str, cells: list[str] = cells) -> str:
            index = columns.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        title = cell("title")
        pmid = cell("pmid") or None
        doi = clean_doi(cell("doi"))
        if not title and not pmid and not doi:
            raise SourceFormatError(
                "row without title, PMID or DOI",
                file=file,
                line=start_line,
                record=row_number,
                field="title",
            )
        abstract = cell("abstract")
        extra = {
            header[i]: cells[i] for i in range(len(cells)) if i not in mapped and i < len(header)
        }
        yield Record(
            source="csv",
            title=title,
            kind="article",
            source_id=cell("source_id") or pmid,
            abstract=abstract,
            authors=_authors(cell("authors")),
            journal=cell("journal") or None,
            year=parse_year(cell("year")),
            doi=doi,
            pmid=pmid,
            pmcid=cell("pmcid") or None,
            nct_ids=find_nct_ids(cell("nct_ids"), title, abstract),
            publication_types=_split(cell("publication_types")),
            keywords=_split(cell("keywords")),
            mesh_terms=_split(cell("mesh_terms")),
            language=cell("language") or None,
            url=cell("url") or None,
            fields={"columns": extra} if extra else {},
            raw=raw,
            raw_format="csv",
            origin_file=file,
        )
