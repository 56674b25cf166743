"""PRISMA 2020 counts and diagram on a project built by hand with known counts in every box."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from screening_builders import PROTOCOL_YAML, new_project, pubmed

from metareview.screening.decisions import Screening
from metareview.screening.prisma import draw_prisma, prisma_counts, write_prisma
from metareview.sources.record import Record
from metareview.store import Project

RULE_ON = PROTOCOL_YAML.replace("screening:\n", "screening:\n  exclude_by_publication_type: true\n")


def registry(i: int) -> Record:
    return Record(
        source="ClinicalTrials.gov",
        kind="registry",
        source_id=f"NCT0000000{i}",
        nct_ids=[f"NCT0000000{i}"],
        title=f"Imatinib for scleroderma, registry entry {i}",
    )


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Screening:
    """The project (record ids in brackets):

    PubMed [1-10]: P1..P10, P10 a case report.          identified 10
    Embase [11-16]: E1..E4 = P1..P4 (same PMID), E5, E6;
        a second Embase import repeats E5 (skipped).      identified 6 + 1 = 7
    ClinicalTrials.gov [17-19]: R1..R3.                  identified 3
    citation searching [20-21]: C1, C2 = P5 (same PMID). identified 2 (other methods)
    Study links: {P1, E1, R3}, {P2, E2}, {P3, E3}, {P4, E4}, {P5, C2}. R3 is a second report
    (registry entry) of P1's study, not a duplicate.
    """
    tmp = tmp_path_factory.mktemp("prisma")
    folder = new_project(tmp, RULE_ON)
    with Project.open(folder, actor="setup") as project:
        project.add_records(
            [pubmed(i) for i in range(1, 10)]
            + [pubmed(10, publication_types=["Case Reports"], title="Imatinib: a case")],
            source="PubMed",
        )
        embase = [pubmed(i) for i in range(1, 5)] + [
            Record(source="Embase", source_id="E5", title="Imatinib conference abstract five"),
            Record(source="Embase", source_id="E6", title="Imatinib conference abstract six"),
        ]
        project.add_records(embase, source="Embase")
        project.add_records(
            [Record(source="Embase", source_id="E5", title="Imatinib conference abstract five")],
            source="Embase",
        )
        project.add_records([registry(1), registry(2), registry(3)], source="ClinicalTrials.gov")
        project.add_records(
            [Record(source="x", title="Imatinib in morphoea, cited paper"), pubmed(5)],
            source="citation searching",
        )
        project.link_records([1, 11, 19], reason="by hand")
        for a, b in ((2, 12), (3, 13), (4, 14), (5, 21)):
            project.link_records([a, b], reason="by hand")
    s = Screening.open(folder, actor="tester")
    assert [d.record_id for d in s.apply_publication_type_rule()] == [10]
    s.remove(9, "retracted")
    P = {i: i for i in range(1, 11)}
    E5, E6, R1, R2, R3, C1 = 15, 16, 17, 18, 19, 20
    for rid in (P[1], P[2], P[3], P[4], P[5], R3, R1):
        s.decide(rid, "ta", "include", reviewer="Alice")
    s.decide(E5, "ta", "maybe", reviewer="Alice")
    for rid in (P[7], P[8], E6, R2):
        s.decide(rid, "ta", "exclude", reviewer="Alice", reason="design")
    # a conflict on P6, resolved as include
    s.decide(P[6], "ta", "include", reviewer="Alice")
    s.decide(P[6], "ta", "exclude", reviewer="Bob", reason="population")
    s.resolve(P[6], "ta", "include", reviewer="Carol")
    s.mark_retrieval(P[6], False)
    s.decide(P[1], "ft", "include", reviewer="Alice")
    s.decide(R3, "ft", "include", reviewer="Alice")
    s.decide(P[2], "ft", "include", reviewer="Alice")
    s.decide(P[3], "ft", "exclude", reviewer="Alice", reason="population")
    s.decide(P[4], "ft", "exclude", reviewer="Alice", reason="design")
    s.decide(P[5], "ft", "exclude", reviewer="Alice", reason="design")
    s.decide(R1, "ft", "exclude", reviewer="Alice", reason="outcome")
    s.decide(E5, "ft", "exclude", reviewer="Alice", reason="intervention")
    s.decide(C1, "ft", "include", reviewer="Alice")
    return s


def test_every_box(flow: Screening) -> None:
    c = prisma_counts(flow)
    # Identification
    assert c.databases == {"PubMed": 10, "Embase": 7}
    assert c.registers == {"ClinicalTrials.gov": 3}
    assert c.other_sources == {"citation searching": 2}
    # E1..E4 linked to P1..P4, plus E5 skipped at its second import
    assert c.duplicates == 5
    assert c.automation == 1  # P10, the case report, by the protocol's rule
    assert c.removed_other == 1  # P9, retracted
    # 20 identified = 5 duplicates + 1 automation + 1 removed + 13 screened
    assert c.screened == 13
    assert c.screen_excluded == 4
    assert c.sought == 9  # P1-P6, R3, R1 included, E5 maybe
    assert c.not_retrieved == 1  # P6
    assert c.assessed == 8
    assert c.excluded_reasons == {"population": 1, "intervention": 1, "design": 2, "outcome": 1}
    # Other methods: C2 is a duplicate of P5; C1 sought, assessed, included
    assert c.other_duplicates == 1
    assert (c.other_sought, c.other_not_retrieved, c.other_assessed) == (1, 0, 1)
    assert c.other_excluded_reasons == {}
    # Included: reports P1, R3 (one study), P2, C1
    assert c.reports_included == 4
    assert c.studies_included == 3
    assert c.pending == {"title_abstract": 0, "full_text": 0, "other_full_text": 0}


def test_columns_add_up(flow: Screening) -> None:
    c = prisma_counts(flow)
    identified = c.identified_databases + c.identified_registers
    assert identified == c.duplicates + c.automation + c.removed_other + c.screened
    assert c.screened == c.screen_excluded + c.sought + c.pending["title_abstract"]
    assert c.assessed == c.sought - c.not_retrieved
    main_included = c.reports_included - (c.other_assessed - sum(c.other_excluded_reasons.values()))
    assert c.assessed == sum(c.excluded_reasons.values()) + main_included


def test_files_written(flow: Screening, tmp_path: Path) -> None:
    paths = write_prisma(flow, tmp_path / "out")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["screened"] == 13 and data["identified"] == {
        "databases": 17,
        "registers": 3,
        "other": 2,
    }
    assert data["excluded_full_text"] == 5
    svg = paths["svg"].read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", svg.replace("&#160;", " ").replace("\xa0", " "))
    for box in (
        "Databases (n = 17)",
        "PubMed (n = 10)",
        "Embase (n = 7)",
        "Registers (n = 3)",
        "Duplicate records removed (n = 5)",
        "tools (n = 1)",
        "Records removed for other reasons (n = 1)",
        "Records screened (n = 13)",
        "Records excluded (n = 4)",
        "Reports sought for retrieval (n = 9)",
        "Reports not retrieved (n = 1)",
        "Reports assessed for eligibility (n = 8)",
        "Reports excluded (n = 5)",
        "design (n = 2)",
        "citation searching (n = 2)",
        "Reports sought for retrieval (n = 1)",
        "Studies included in review (n = 3)",
        "Reports of included studies (n = 4)",
        "Identification of studies via other methods",
    ):
        assert box in text, box


def test_diagram_without_other_methods_has_three_columns(tmp_path: Path) -> None:
    folder = new_project(tmp_path)
    with Project.open(folder, actor="setup") as project:
        project.add_records([pubmed(1), pubmed(2)], source="PubMed")
    with Screening.open(folder, actor="t") as s:
        s.decide(1, "ta", "include", reviewer="A")
        c = prisma_counts(s)
        assert c.pending["title_abstract"] == 1 and not c.has_other_methods
        fig = draw_prisma(c)
        texts = " ".join(t.get_text() for t in fig.axes[0].texts)
        assert "other methods" not in texts
        assert "Screening is not finished" in texts
        width, _ = fig.get_size_inches()
        assert width < 9.0
