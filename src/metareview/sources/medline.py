"""MEDLINE / NBIB tagged text (PubMed "Save > PubMed format", citation-manager ``.nbib``).

A record is a block of ``TAG - value`` lines (tag left-aligned in four columns), continuation
lines indented by six spaces, records separated by blank lines; each record starts with
``PMID-``. The file is read line by line.

Mapping
-------
``PMID`` -> ``pmid``/``source_id``; ``TI`` -> ``title``; ``AB`` -> ``abstract``; ``AU`` (else
``FAU``) and ``CN`` -> ``authors`` (``FAU`` also in ``fields["authors_full"]``); ``JT`` (else
``TA``) -> ``journal``; ``DP`` -> ``year``;
``LID``/``AID`` ending ``[doi]`` -> ``doi``; ``PMC`` -> ``pmcid``; ``PT`` ->
``publication_types``; ``OT`` -> ``keywords``; ``MH`` -> ``mesh_terms`` (descriptors;
``fields["mesh_headings"]`` as ``Descriptor / qualifier*``); ``SI ClinicalTrials.gov/NCT...``
and NCT ids in title/abstract -> ``nct_ids``; ``LA`` -> ``language``; ``VI``, ``IP``, ``PG``,
``TA``, ``SO`` -> ``fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

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

__all__ = ["parse", "parse_medline_record"]

_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*-\s?(.*)$")


def parse(
    stream: IO[bytes], *, file: str = "<medline>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield one record per MEDLINE block.

    Raises
    ------
    SourceFormatError
        A line that is neither a tag nor a continuation, or a record without ``PMID``; the
        message names the line and the record number.
    """
    block: list[tuple[str, str]] = []
    raw_lines: list[str] = []
    start_line = 0
    count = 0
    size = 0
    for number, line in iter_lines(stream, file=file, encoding=encoding):
        size += len(line)
        if size > base.MAX_RECORD_CHARS:
            raise base.record_too_long(file=file, line=start_line, record=count + 1)
        if not line.strip():
            size = 0
            if block:
                count += 1
                yield parse_medline_record(
                    block, raw="\n".join(raw_lines), file=file, line=start_line, position=count
                )
                block, raw_lines = [], []
            continue
        match = _TAG.match(line)
        if match and line[:4].strip() == match.group(1):
            if not block:
                start_line = number
            block.append((match.group(1), match.group(2).strip()))
        elif line.startswith(" ") and block:
            tag, value = block[-1]
            block[-1] = (tag, f"{value} {line.strip()}".strip())
        else:
            raise SourceFormatError(
                f"not a MEDLINE line (expected 'TAG - value'): {line[:60]!r}",
                file=file,
                line=number,
                record=count + 1,
            )
        raw_lines.append(line)
    if block:
        count += 1
        yield parse_medline_record(
            block, raw="\n".join(raw_lines), file=file, line=start_line, position=count
        )


def _mesh(value: str) -> tuple[str, list[str]]:
    """``Pulmonary Fibrosis/*drug therapy/etiology`` -> descriptor and display headings."""
    parts = [p.strip() for p in value.split("/")]
    descriptor = parts[0].lstrip("*")
    star = "*" if parts[0].startswith("*") else ""
    if len(parts) == 1:
        return descriptor, [descriptor + star]
    headings = []
    for qualifier in parts[1:]:
        major = "*" if qualifier.startswith("*") else ""
        headings.append(f"{descriptor} / {qualifier.lstrip('*')}{major}")
    return descriptor, headings


def parse_medline_record(
    tags: list[tuple[str, str]],
    *,
    raw: str = "",
    file: str = "<medline>",
    line: int | None = None,
    position: int = 1,
) -> Record:
    """One MEDLINE block (``[(tag, value), ...]`` in file order) as a :class:`Record`.

    Raises
    ------
    SourceFormatError
        The block has no ``PMID``.
    """
    values: dict[str, list[str]] = {}
    for tag, value in tags:
        values.setdefault(tag, []).append(value)

    def first(tag: str) -> str | None:
        found = values.get(tag)
        return found[0] if found and found[0] else None

    pmid = first("PMID")
    if pmid is None:
        raise SourceFormatError(
            "MEDLINE record without PMID", file=file, line=line, record=position, field="PMID"
        )
    title = first("TI") or first("BTI") or ""
    abstract = first("AB") or ""
    # AU ("Prey S") matches PubMed XML's "LastName Initials"; FAU is kept in fields.
    authors = [*(values.get("AU") or values.get("FAU") or []), *values.get("CN", [])]
    doi = None
    for tag in ("LID", "AID"):
        for value in values.get(tag, []):
            if value.endswith("[doi]"):
                doi = clean_doi(value.removesuffix("[doi]"))
                break
        if doi:
            break
    mesh_terms: list[str] = []
    headings: list[str] = []
    for value in values.get("MH", []):
        descriptor, shown = _mesh(value)
        mesh_terms.append(descriptor)
        headings.extend(shown)
    registry = [
        v.split("/", 1)[1]
        for v in values.get("SI", [])
        if v.lower().startswith("clinicaltrials.gov/") and "/" in v
    ]
    fields = {
        "volume": first("VI"),
        "issue": first("IP"),
        "pages": first("PG"),
        "journal_abbreviation": first("TA"),
        "citation": first("SO"),
        "mesh_headings": headings or None,
        "authors_full": values.get("FAU"),
        "secondary_source_ids": values.get("SI"),
        "publication_status": first("PST"),
    }
    return Record(
        source="pubmed",
        title=title,
        kind="article",
        source_id=pmid,
        abstract=abstract,
        authors=authors,
        journal=first("JT") or first("TA"),
        year=parse_year(first("DP")),
        doi=doi,
        pmid=pmid,
        pmcid=first("PMC"),
        nct_ids=dedupe_keep_order([*registry, *find_nct_ids(title, abstract)]),
        publication_types=dedupe_keep_order(values.get("PT", [])),
        keywords=dedupe_keep_order(values.get("OT", [])),
        mesh_terms=dedupe_keep_order(mesh_terms),
        language=first("LA"),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        fields={k: v for k, v in fields.items() if v},
        raw=raw,
        raw_format="medline",
        origin_file=file,
    )
