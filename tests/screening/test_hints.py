"""Publication-type hints: what each rests on, and the reason the protocol maps it to."""

from __future__ import annotations

import json

from screening_builders import PROTOCOL_YAML

from metareview.protocol import parse_protocol
from metareview.screening.hints import publication_hints, registry_has_results
from metareview.sources.record import Record


def kinds(record: Record) -> list[tuple[str, bool]]:
    return [(h.kind, h.structured) for h in publication_hints(record)]


def test_structured_publication_types() -> None:
    rec = Record(
        source="PubMed", title="Imatinib", publication_types=["Journal Article", "Case Reports"]
    )
    assert kinds(rec) == [("case_report", True)]
    rec = Record(
        source="PubMed", title="x", publication_types=["Systematic Review", "Meta-Analysis"]
    )
    assert kinds(rec) == [("review", True), ("meta_analysis", True)]
    rec = Record(source="PubMed", title="x", publication_types=["Editorial"])
    assert kinds(rec) == [("editorial", True)]
    rec = Record(source="Micromedex", title="Imatinib", kind="monograph")
    assert kinds(rec) == [("drug_monograph", True)]


def test_title_phrases_are_weak_hints() -> None:
    rec = Record(
        source="PubMed", title="Imatinib in scleroderma: a case report and review of the literature"
    )
    assert kinds(rec) == [("case_report", False), ("review", False)]
    # a randomised trial is not hinted at
    assert kinds(Record(source="PubMed", title="A randomised trial of imatinib")) == []


def test_registry_without_results() -> None:
    no = {
        "protocolSection": {"identificationModule": {"nctId": "NCT00613171"}},
        "hasResults": False,
    }
    yes = {"protocolSection": {}, "hasResults": True, "resultsSection": {"x": 1}}
    rec_no = Record(source="ClinicalTrials.gov", title="t", kind="registry", raw=json.dumps(no),
                    raw_format="ctgov-json")  # fmt: skip
    rec_yes = Record(source="ClinicalTrials.gov", title="t", kind="registry", raw=json.dumps(yes),
                     raw_format="ctgov-json")  # fmt: skip
    assert registry_has_results(rec_no) is False and registry_has_results(rec_yes) is True
    assert kinds(rec_no) == [("registry_no_results", True)]
    assert kinds(rec_yes) == []
    # the importer's own flag wins; unknown means no hint
    assert registry_has_results(
        Record(source="x", title="t", kind="registry", fields={"has_results": True})
    )
    assert registry_has_results(Record(source="x", title="t", kind="registry")) is None


def test_reason_from_protocol() -> None:
    protocol = parse_protocol(PROTOCOL_YAML)
    rec = Record(source="PubMed", title="x", publication_types=["Case Reports", "Editorial"])
    hints = publication_hints(rec, protocol)
    assert [(h.kind, h.reason) for h in hints] == [("case_report", "design"), ("editorial", None)]
    assert "Case Reports" in hints[0].evidence
