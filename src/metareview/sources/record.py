"""The one shape every importer and client produces: a bibliographic or registry record.

Importers (PubMed XML, MEDLINE/NBIB, RIS, CSV, ClinicalTrials.gov, Europe PMC, plain text) map
their format onto :class:`Record`; the store keeps the record and, verbatim, its raw payload.
Deduplication and screening read only these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RECORD_KINDS", "Record"]

#: What a record is. 'article' covers journal articles of any publication type (the type itself
#: goes in ``publication_types``); 'registry' is a trial registration; 'monograph' a drug
#: monograph or reference page; 'abstract' a conference abstract; 'other' anything else.
RECORD_KINDS = ("article", "registry", "monograph", "abstract", "other")


@dataclass(slots=True)
class Record:
    """One record from one source, normalised.

    ``raw`` holds the record's payload exactly as it came (XML element, JSON object, RIS entry,
    text), ``raw_format`` names its format. ``fields`` keeps structured extras that only some
    sources have (ClinicalTrials.gov protocol and results sections, MeSH qualifiers, ...).
    ``origin_file`` and ``origin_query`` say where the record came from (PRISMA-S).
    """

    source: str
    title: str
    kind: str = "article"
    source_id: str | None = None
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    journal: str | None = None
    year: int | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    nct_ids: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    mesh_terms: list[str] = field(default_factory=list)
    language: str | None = None
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    raw_format: str = ""
    origin_file: str | None = None
    origin_query: str | None = None

    @property
    def first_author(self) -> str | None:
        """The first author's name as given, or None."""
        return self.authors[0] if self.authors else None
