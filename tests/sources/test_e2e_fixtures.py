"""The synthetic end-to-end review in tests/data/e2e reads with the ordinary importers.

What each file holds is described in tests/data/e2e/README.md; these checks pin the identifiers
that deduplication and the registry extraction rely on.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from metareview.protocol import load_protocol
from metareview.sources.detect import detect_format, parse_file

E2E = Path(__file__).resolve().parents[1] / "data" / "e2e"


def test_each_file_is_detected_and_read_without_warnings() -> None:
    expected = {"pubmed.xml": "pubmed-xml", "search.ris": "ris", "ctgov.json": "ctgov-json"}
    for name, fmt in expected.items():
        assert detect_format(E2E / name) == fmt
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(list(parse_file(E2E / name))) == (2 if fmt == "ctgov-json" else 4)


def test_identifiers() -> None:
    pubmed = list(parse_file(E2E / "pubmed.xml"))
    assert [r.pmid for r in pubmed] == ["39990001", "39990002", "39990003", "39990004"]
    assert [r.doi for r in pubmed] == [
        "10.5555/e2e.alpha-b.2021",
        "10.5555/e2e.alpha-b-sleep.2022",
        "10.5555/e2e.beta-b.2022",
        "10.5555/e2e.review.2020",
    ]
    assert [r.nct_ids for r in pubmed] == [["NCT09990001"], ["NCT09990001"], ["NCT09990002"], []]
    ris = list(parse_file(E2E / "search.ris"))
    # The first Embase record duplicates PMID 39990003 by DOI only (no PMID in AN).
    assert ris[0].doi == pubmed[2].doi and ris[0].pmid is None
    assert [r.kind for r in ris] == ["article", "abstract", "article", "article"]
    assert {r.doi for r in ris[1:]}.isdisjoint(r.doi for r in pubmed)
    ctgov = list(parse_file(E2E / "ctgov.json"))
    assert [r.source_id for r in ctgov] == ["NCT09990001", "NCT09990002"]
    assert [r.fields["has_results"] for r in ctgov] == [True, False]


def test_protocol_loads() -> None:
    protocol = load_protocol(E2E / "protocol.yaml")
    assert [(o.name, o.measure, o.better) for o in protocol.outcomes] == [
        ("bss", "MD", "lower"),
        ("sae", "RR", "lower"),
        ("dropout_ae", "RR", "lower"),
    ]
    assert protocol.reason_codes() == [
        "population",
        "intervention",
        "comparator",
        "design",
        "outcomes",
    ]
