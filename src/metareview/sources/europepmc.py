"""Europe PMC REST search results (``/webservices/rest/search?format=json&resultType=core``).

A response is ``{"hitCount": n, "nextCursorMark": "...", "resultList": {"result": [...]}}``;
each result becomes one record. ``resultType=lite`` results lack the abstract and publication
types; both are read.

Mapping
-------
- ``source`` + ``id`` (``MED``/``12345678``, ``PMC``/``PMC123``, ``PPR``/...) -> ``source_id``
  ``"MED:12345678"``; ``pmid``, ``pmcid``, ``doi`` (lower-cased) as given
- ``title`` -> ``title``; ``abstractText`` -> ``abstract``
  (HTML tags removed)
- ``authorList.author[].fullName`` (core) or ``authorString`` split at commas -> ``authors``
- ``journalInfo.journal.title`` (core) or ``journalTitle`` -> ``journal``
- ``pubYear`` -> ``year``; ``pubTypeList.pubType`` -> ``publication_types``
- ``keywordList.keyword`` -> ``keywords``; ``meshHeadingList.meshHeading[].descriptorName`` ->
  ``mesh_terms``; ``language`` -> ``language``
- NCT ids in title/abstract -> ``nct_ids``; ``fields`` keeps ``europepmc_source``,
  ``journal_volume``, ``journal_issue``, ``page_info``, ``is_open_access``, ``cited_by_count``,
  ``first_publication_date``.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from metareview.sources.base import (
    SourceFormatError,
    clean_doi,
    dedupe_keep_order,
    find_nct_ids,
    load_json,
    parse_year,
)
from metareview.sources.record import Record
from metareview.sources.shape import NUMBER, SCALAR, TEXT, Spec, check_shape

__all__ = ["parse", "parse_europepmc_json", "parse_response", "parse_result"]

_TAG = re.compile(r"<[^>]+>")

#: The shape of one ``resultList.result`` object as far as :func:`parse_result` reads it (see
#: :mod:`metareview.sources.shape`; the field names are Europe PMC's).
RESULT_SHAPE: dict[str, Spec] = {
    "id": SCALAR,
    "source": TEXT,
    "pmid": SCALAR,
    "pmcid": TEXT,
    "doi": TEXT,
    "title": TEXT,
    "abstractText": TEXT,
    "authorString": TEXT,
    "authorList": {"author": [{"fullName": TEXT, "collectiveName": TEXT}]},
    "journalTitle": TEXT,
    "journalInfo": {"journal": {"title": TEXT}, "volume": SCALAR, "issue": SCALAR},
    "journalVolume": SCALAR,
    "issue": SCALAR,
    "pageInfo": SCALAR,
    "pubYear": SCALAR,
    "pubTypeList": {"pubType": [TEXT]},
    "keywordList": {"keyword": [TEXT]},
    "meshHeadingList": {"meshHeading": [{"descriptorName": TEXT}]},
    "language": TEXT,
    "isOpenAccess": SCALAR,
    "citedByCount": NUMBER,
    "firstPublicationDate": TEXT,
}


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def parse(
    stream: IO[bytes], *, file: str = "<europepmc-json>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield one record per result of a Europe PMC search response.

    Raises
    ------
    SourceFormatError
        Malformed JSON, no ``resultList.result``, or a result without id.
    """
    del encoding
    yield from parse_response(load_json(stream, file=file), file=file)[0]


def parse_response(
    document: Any, *, file: str = "<europepmc-json>"
) -> tuple[list[Record], str | None]:
    """Records of a parsed search response and its ``nextCursorMark`` (None if absent)."""
    results = None
    if isinstance(document, dict):
        result_list = document.get("resultList")
        if isinstance(result_list, dict):
            results = result_list.get("result")
    if not isinstance(results, list):
        raise SourceFormatError(
            "not a Europe PMC search response: no resultList.result list",
            file=file,
            field="resultList",
        )
    cursor = document.get("nextCursorMark") if isinstance(document, dict) else None
    check_shape(document, {"hitCount": NUMBER, "nextCursorMark": TEXT}, file=file, record=None)
    records = [parse_result(r, file=file, position=i) for i, r in enumerate(results, 1)]
    return records, cursor if isinstance(cursor, str) else None


def parse_result(result: Any, *, file: str = "<europepmc-json>", position: int = 1) -> Record:
    """One ``resultList.result`` object as a :class:`Record`.

    Raises
    ------
    SourceFormatError
        The result is not an object or has no ``id``.
    """
    if not isinstance(result, dict) or not result.get("id"):
        raise SourceFormatError("result without id", file=file, record=position, field="id")
    check_shape(result, RESULT_SHAPE, file=file, record=position)
    epmc_source = str(result.get("source") or "")
    source_id = f"{epmc_source}:{result['id']}" if epmc_source else str(result["id"])
    title = _clean(result.get("title"))
    abstract = _clean(result.get("abstractText"))
    author_list = result.get("authorList")
    if isinstance(author_list, dict) and isinstance(author_list.get("author"), list):
        authors = [
            _clean(a.get("fullName") or a.get("collectiveName"))
            for a in author_list["author"]
            if isinstance(a, dict)
        ]
    else:
        author_string = _clean(result.get("authorString")).rstrip(".")
        authors = [a.strip() for a in author_string.split(",")] if author_string else []
    journal = result.get("journalTitle")
    journal_info = result.get("journalInfo")
    if isinstance(journal_info, dict):
        journal = (journal_info.get("journal") or {}).get("title") or journal
    pub_types = result.get("pubTypeList")
    publication_types = list(pub_types.get("pubType") or []) if isinstance(pub_types, dict) else []
    keywords_obj = result.get("keywordList")
    keywords = list(keywords_obj.get("keyword") or []) if isinstance(keywords_obj, dict) else []
    mesh_obj = result.get("meshHeadingList")
    mesh = (
        [m.get("descriptorName") for m in mesh_obj.get("meshHeading") or [] if isinstance(m, dict)]
        if isinstance(mesh_obj, dict)
        else []
    )
    fields = {
        "europepmc_source": epmc_source or None,
        "journal_volume": result.get("journalVolume")
        or (journal_info.get("volume") if isinstance(journal_info, dict) else None),
        "journal_issue": result.get("issue")
        or (journal_info.get("issue") if isinstance(journal_info, dict) else None),
        "page_info": result.get("pageInfo"),
        "is_open_access": result.get("isOpenAccess"),
        "cited_by_count": result.get("citedByCount"),
        "first_publication_date": result.get("firstPublicationDate"),
    }
    pmid = result.get("pmid")
    return Record(
        source="europepmc",
        title=title,
        kind="article",
        source_id=source_id,
        abstract=abstract,
        authors=[a for a in authors if a],
        journal=journal or None,
        year=parse_year(result.get("pubYear")),
        doi=clean_doi(result.get("doi")),
        pmid=str(pmid) if pmid else None,
        pmcid=result.get("pmcid") or None,
        nct_ids=find_nct_ids(title, abstract),
        publication_types=dedupe_keep_order(str(p) for p in publication_types),
        keywords=dedupe_keep_order(str(k) for k in keywords),
        mesh_terms=dedupe_keep_order(str(m) for m in mesh if m),
        language=result.get("language") or None,
        url=f"https://europepmc.org/article/{epmc_source}/{result['id']}" if epmc_source else None,
        fields={k: v for k, v in fields.items() if v is not None},
        raw=json.dumps(result, ensure_ascii=False),
        raw_format="europepmc-json",
        origin_file=file,
    )


def parse_europepmc_json(data: bytes | str, *, file: str = "<europepmc-json>") -> list[Record]:
    """All records of a Europe PMC JSON response held in memory."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_response(load_json(io.BytesIO(raw), file=file), file=file)[0]
