"""Publication-type hints: a record that is a case report, review, meta-analysis, editorial, drug
monograph or a registry entry without results usually fails a design criterion.

A hint only *suggests* an exclusion reason (the eligibility code the protocol maps the hint to in
``screening.hint_reasons``). Nothing is excluded on a hint unless the protocol sets
``screening.exclude_by_publication_type: true``; even then only hints from structured evidence
(the source's publication type, the record kind, a registry's results flag) exclude, never a
phrase in the title, and such exclusions are recorded as rule-based (see
:func:`metareview.screening.decisions.apply_publication_type_rule`).

Evidence used, by hint (structured evidence; title phrases in parentheses):

- ``case_report``: publication type "Case Reports" ("case report", "report of a case");
- ``review``: "Review", "Systematic Review", "Scoping Review" ("systematic review", "a review");
- ``meta_analysis``: "Meta-Analysis", "Network Meta-Analysis" ("meta-analysis");
- ``editorial``: "Editorial", "Comment", "News";
- ``drug_monograph``: record kind ``monograph`` or type "Drug Monograph";
- ``registry_no_results``: record kind ``registry`` with no posted results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metareview.protocol import HINT_KINDS, Protocol
from metareview.sources.record import Record

__all__ = ["HINT_LABELS", "Hint", "publication_hints", "registry_has_results"]

#: Human-readable label of each hint kind.
HINT_LABELS: dict[str, str] = {
    "case_report": "case report",
    "review": "review",
    "meta_analysis": "meta-analysis",
    "editorial": "editorial or comment",
    "drug_monograph": "drug monograph",
    "registry_no_results": "registry entry without results",
}
assert set(HINT_LABELS) == set(HINT_KINDS)

# Publication types (PubMed's list, compared case-insensitively; RIS/CSV importers pass theirs).
_TYPE_HINTS: dict[str, str] = {
    "case reports": "case_report",
    "case report": "case_report",
    "review": "review",
    "systematic review": "review",
    "scoping review": "review",
    "literature review": "review",
    "meta-analysis": "meta_analysis",
    "network meta-analysis": "meta_analysis",
    "editorial": "editorial",
    "comment": "editorial",
    "news": "editorial",
    "drug monograph": "drug_monograph",
    "monograph": "drug_monograph",
}

_TITLE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "case_report",
        re.compile(r"\bcase[- ]report\b|\breport of (?:a|one|two|three) cases?\b", re.I),
    ),
    ("meta_analysis", re.compile(r"\bmeta[- ]?analys[ie]s\b", re.I)),
    (
        "review",
        re.compile(
            r"\b(?:systematic|scoping|narrative|literature|critical|umbrella) review\b"
            r"|\ba review\b|\breview of the literature\b",
            re.I,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Hint:
    """One publication-type hint about a record.

    Attributes
    ----------
    kind
        One of :data:`metareview.protocol.HINT_KINDS`.
    evidence
        What the hint rests on, for the reviewer (``publication type 'Case Reports'``).
    structured
        True when the evidence is structured metadata (publication type, record kind, registry
        results flag), False for a title phrase. Only structured hints may exclude by rule.
    reason
        The eligibility code the protocol maps this hint to, or None.
    """

    kind: str
    evidence: str
    structured: bool
    reason: str | None = None

    @property
    def label(self) -> str:
        return HINT_LABELS[self.kind]


def registry_has_results(record: Record) -> bool | None:
    """Whether a registry record has posted results: True, False, or None when unknown.

    Reads ``fields["has_results"]`` (or ``hasResults``) when the importer set it, otherwise the
    ClinicalTrials.gov API v2 JSON payload's ``hasResults`` / ``resultsSection``.
    """
    for key in ("has_results", "hasResults"):
        value = record.fields.get(key)
        if isinstance(value, bool):
            return value
    if "resultsSection" in record.fields or "results" in record.fields:
        return bool(record.fields.get("resultsSection") or record.fields.get("results"))
    if record.raw and "json" in record.raw_format.lower():
        try:
            payload = json.loads(record.raw)
        except ValueError:
            return None
        if isinstance(payload, Mapping):
            if isinstance(payload.get("hasResults"), bool):
                return bool(payload["hasResults"])
            if "resultsSection" in payload:
                return bool(payload["resultsSection"])
            return False if "protocolSection" in payload else None
    return None


def publication_hints(record: Record, protocol: Protocol | None = None) -> list[Hint]:
    """Publication-type hints for a record, structured evidence first, one hint per kind.

    Parameters
    ----------
    record
        The record.
    protocol
        When given, each hint carries the eligibility code from ``screening.hint_reasons``.
    """
    found: dict[str, Hint] = {}
    reasons: Mapping[str, Any] = protocol.screening.hint_reasons if protocol else {}

    def add(kind: str, evidence: str, structured: bool) -> None:
        if kind not in found:
            found[kind] = Hint(kind, evidence, structured, reasons.get(kind))

    for ptype in record.publication_types:
        kind = _TYPE_HINTS.get(ptype.strip().casefold())
        if kind is not None:
            add(kind, f"publication type {ptype.strip()!r}", True)
    if record.kind == "monograph":
        add("drug_monograph", "record kind 'monograph'", True)
    if record.kind == "registry" and registry_has_results(record) is False:
        add("registry_no_results", "registry entry with no posted results", True)
    for kind, pattern in _TITLE_HINTS:
        match = pattern.search(record.title or "")
        if match is not None:
            add(kind, f"title says {match.group(0)!r}", False)
    return list(found.values())
