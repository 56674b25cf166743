"""RIS files (Embase, Web of Science, Cochrane CENTRAL, Scopus, reference managers) via rispy.

The file is cut into records at ``ER  -`` lines (so it streams and each error can name its line),
and each record is read by :func:`rispy.loads`. A record must start with ``TY  -`` and end with
``ER  -``. Between records, a line holding only a record number (``1.``, as rispy's writer and
so ASReview LAB's export number them) is skipped.

Mapping (rispy key, RIS tag)
----------------------------
- ``title`` TI, else ``primary_title`` T1 -> ``title``; ``abstract`` AB, else ``notes_abstract``
  N2 -> ``abstract``
- ``authors`` AU, else ``first_authors`` A1 -> ``authors``
- ``secondary_title`` T2 / ``journal_name`` JO / ``alternate_title3`` JF / ``alternate_title1``
  J2 -> ``journal`` (first present)
- ``year`` PY, else ``publication_year`` Y1, else ``date`` DA -> ``year``
- ``doi`` DO (else a DOI in ``urls`` UR) -> ``doi``
- ``accession_number`` AN: all digits -> ``pmid`` (Embase and PubMed exports put the PMID
  there); the record's ``source_id`` is ``ID``, else ``AN``
- ``keywords`` KW -> ``keywords``; ``type_of_reference`` TY and ``type_of_work`` M3 ->
  ``fields`` and ``publication_types`` (M3); ``language`` LA -> ``language``
- ``name_of_database`` DB -> ``fields["database"]``; NCT ids anywhere in title, abstract,
  keywords or notes -> ``nct_ids``
- ``TY`` ``CTR`` (a trial registration, as CENTRAL exports them) -> ``kind='registry'``;
  ``CONF`` / ``ABST`` -> ``kind='abstract'``; ``BOOK`` / ``CHAP`` -> ``kind='other'``
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

import rispy

from metareview.sources import base
from metareview.sources.base import (
    SourceFormatError,
    clean_doi,
    dedupe_keep_order,
    find_nct_ids,
    iter_lines,
    parse_year,
)
from metareview.sources.record import Record

__all__ = ["parse", "parse_ris_entry"]

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
#: rispy's ``enumerate`` line before each record (``1.``), written by ASReview's RIS export.
_NUMBER = re.compile(r"^\d+\.$")
_KINDS = {
    "CTR": "registry",
    "CONF": "abstract",
    "ABST": "abstract",
    "BOOK": "other",
    "CHAP": "other",
    "EBOOK": "other",
    "ECHAP": "other",
    "THES": "other",
}


def parse(
    stream: IO[bytes], *, file: str = "<ris>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield one record per RIS entry.

    Raises
    ------
    SourceFormatError
        Text outside a record, a record not starting with ``TY``, a record without ``ER``, or a
        record without a title; the message names the line and record number.
    """
    lines: list[str] = []
    start = 0
    count = 0
    size = 0
    for number, line in iter_lines(stream, file=file, encoding=encoding):
        size += len(line)
        if size > base.MAX_RECORD_CHARS:
            raise base.record_too_long(file=file, line=start, record=count + 1)
        stripped = line.strip()
        match = _TAG.match(stripped)
        if not lines:
            if not stripped or _NUMBER.match(stripped):
                continue
            if not match or match.group(1) != "TY":
                raise SourceFormatError(
                    f"expected a record starting with 'TY  - ', found {stripped[:60]!r}",
                    file=file,
                    line=number,
                    record=count + 1,
                )
            start = number
        elif match and match.group(1) == "TY":
            raise SourceFormatError(
                f"record starting at line {start} has no 'ER  -' before the next 'TY'",
                file=file,
                line=number,
                record=count + 1,
            )
        lines.append(line)
        if match and match.group(1) == "ER":
            count += 1
            yield _entry(lines, file=file, line=start, position=count)
            lines = []
            size = 0
    if lines:
        raise SourceFormatError(
            f"record starting at line {start} has no 'ER  -' (file ends inside it)",
            file=file,
            line=start,
            record=count + 1,
        )


def _entry(lines: list[str], *, file: str, line: int, position: int) -> Record:
    raw = "\n".join(lines)
    try:
        entries = rispy.loads(raw + "\n")
    except Exception as exc:  # rispy raises plain exceptions on bad input
        raise SourceFormatError(
            f"RIS record does not parse: {exc}", file=file, line=line, record=position
        ) from None
    if len(entries) != 1:
        raise SourceFormatError("RIS record does not parse", file=file, line=line, record=position)
    return parse_ris_entry(entries[0], raw=raw, file=file, line=line, position=position)


def _first(entry: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return str(value).strip()
    return None


def parse_ris_entry(
    entry: dict[str, Any],
    *,
    raw: str = "",
    file: str = "<ris>",
    line: int | None = None,
    position: int = 1,
) -> Record:
    """One rispy entry (a dict keyed by rispy's names) as a :class:`Record`.

    Raises
    ------
    SourceFormatError
        The entry has no title.
    """
    title = _first(entry, "title", "primary_title", "translated_title")
    if not title:
        raise SourceFormatError(
            "RIS record without a title (TI or T1)",
            file=file,
            line=line,
            record=position,
            field="TI",
        )
    abstract = _first(entry, "abstract", "notes_abstract") or ""
    authors = list(entry.get("authors") or entry.get("first_authors") or [])
    journal = _first(
        entry,
        "secondary_title",
        "journal_name",
        "alternate_title3",
        "alternate_title1",
        "alternate_title2",
    )
    year = parse_year(_first(entry, "year", "publication_year", "date"))
    doi = clean_doi(_first(entry, "doi"))
    urls = [str(u) for u in entry.get("urls") or []]
    if doi is None:
        for url in urls:
            doi = clean_doi(url) if "doi" in url.lower() else None
            if doi:
                break
    accession = _first(entry, "accession_number")
    pmid = accession if accession and accession.isdigit() else None
    reference_type = _first(entry, "type_of_reference") or ""
    type_of_work = (
        [str(t) for t in (entry.get("type_of_work") or [])]
        if isinstance(entry.get("type_of_work"), list)
        else [str(entry["type_of_work"])]
        if entry.get("type_of_work")
        else []
    )
    keywords = [str(k) for k in entry.get("keywords") or []]
    notes = [str(n) for n in entry.get("notes") or []]
    nct_ids = find_nct_ids(title, abstract, " ".join(keywords), " ".join(notes), " ".join(urls))
    fields = {
        "type_of_reference": reference_type or None,
        "database": _first(entry, "name_of_database"),
        "database_provider": _first(entry, "database_provider"),
        "volume": _first(entry, "volume"),
        "issue": _first(entry, "number"),
        "start_page": _first(entry, "start_page"),
        "end_page": _first(entry, "end_page"),
        "issn": _first(entry, "issn"),
        "accession_number": accession,
        "urls": urls or None,
        "notes": notes or None,
    }
    return Record(
        source="ris",
        title=title,
        kind=_KINDS.get(reference_type, "article"),
        source_id=_first(entry, "id") or accession,
        abstract=abstract,
        authors=authors,
        journal=journal,
        year=year,
        doi=doi,
        pmid=pmid,
        nct_ids=nct_ids,
        publication_types=dedupe_keep_order(type_of_work),
        keywords=dedupe_keep_order(keywords),
        language=_first(entry, "language"),
        url=urls[0] if urls else None,
        fields={k: v for k, v in fields.items() if v},
        raw=raw,
        raw_format="ris",
        origin_file=file,
    )
