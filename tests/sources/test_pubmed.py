"""PubMed efetch XML -> Record, field by field (fixture: tests/data/sources/pubmed_efetch.xml)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from metareview.sources import pubmed
from metareview.sources.base import SourceFormatError

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "sources" / "pubmed_efetch.xml"


@pytest.fixture(scope="module")
def records() -> list:
    with open(FIXTURE, "rb") as handle:
        return list(pubmed.parse(handle, file=str(FIXTURE)))


def test_three_articles_in_order(records: list) -> None:
    assert [r.pmid for r in records] == ["22827536", "21398332", "18668562"]
    assert all(r.source == "pubmed" and r.raw_format == "pubmed-xml" for r in records)
    assert [r.source_id for r in records] == [r.pmid for r in records]


def test_rct_with_labelled_abstract_and_databank(records: list) -> None:
    prey = records[0]
    assert prey.title.startswith("Imatinib mesylate in scleroderma-associated diffuse skin")
    assert prey.journal == "The British journal of dermatology"
    assert prey.year == 2012
    assert prey.doi == "10.1111/j.1365-2133.2012.11186.x"
    assert prey.pmcid is None  # the reference list's PMC id is not the article's
    assert prey.authors == ["Prey S", "Ezzedine K", "Doussau A"]
    assert prey.fields["authors_full"][0]["affiliations"] == [
        "Department of Dermatology, Hôpital Saint-André, Bordeaux, France."
    ]
    labels = [s["label"] for s in prey.fields["abstract_sections"]]
    assert labels == ["BACKGROUND", "OBJECTIVES", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert prey.fields["abstract_sections"][1]["nlm_category"] == "OBJECTIVE"
    # Inline markup (<i>in vitro</i>) is flattened, sections are labelled in the abstract text.
    assert prey.abstract.startswith("BACKGROUND: Imatinib inhibits in vitro the tyrosine")
    assert "\n\nCONCLUSIONS: Imatinib did not improve skin fibrosis." in prey.abstract
    assert prey.nct_ids == ["NCT00479934"]
    assert prey.fields["databanks"] == [
        {"name": "ClinicalTrials.gov", "accession_numbers": ["NCT00479934"]}
    ]
    assert prey.publication_types == [
        "Clinical Trial, Phase II",
        "Journal Article",
        "Randomized Controlled Trial",
    ]
    assert prey.mesh_terms == ["Humans", "Imatinib Mesylate", "Scleroderma, Systemic"]
    assert prey.fields["mesh_headings"] == [
        "Humans",
        "Imatinib Mesylate / therapeutic use*",
        "Scleroderma, Systemic / drug therapy",
        "Scleroderma, Systemic / pathology*",
    ]
    assert prey.keywords == ["skin fibrosis", "tyrosine kinase inhibitor"]
    assert prey.language == "eng"
    assert (prey.fields["volume"], prey.fields["issue"], prey.fields["pages"]) == (
        "167",
        "5",
        "1138-44",
    )
    assert prey.url == "https://pubmed.ncbi.nlm.nih.gov/22827536/"
    assert prey.raw.startswith("<PubmedArticle>") and "<PMID" in prey.raw


def test_medline_date_pmc_id_collective_author_and_nct_in_abstract(records: list) -> None:
    spiera = records[1]
    assert spiera.year == 2011  # from <MedlineDate>2011 Jun-Jul</MedlineDate>
    assert spiera.pmcid == "PMC3086060"
    assert spiera.doi == "10.1136/ard.2010.143974"  # DOIs are compared lower-cased
    assert spiera.authors == ["Spiera RF", "Gordon JK", "Scleroderma Study Group"]
    assert spiera.nct_ids == ["NCT00555581"]  # mentioned only in the abstract
    assert "abstract_sections" not in spiera.fields  # an unlabelled abstract has no sections


def test_case_report(records: list) -> None:
    distler = records[2]
    assert distler.publication_types == ["Case Reports", "Journal Article"]
    assert distler.authors == ["Distler JH"]
    assert distler.fields["authors_full"][0]["fore_name"] == "Jörg H W"
    assert distler.fields["mesh_headings"] == [
        "Pulmonary Fibrosis / drug therapy*",
        "Pulmonary Fibrosis / etiology*",
        "Female",
    ]
    assert distler.nct_ids == []


def test_in_memory_parse_matches_stream() -> None:
    from_bytes = pubmed.parse_pubmed_xml(FIXTURE.read_bytes())
    assert [r.pmid for r in from_bytes] == ["22827536", "21398332", "18668562"]


def test_wrong_root_element_is_refused() -> None:
    with pytest.raises(SourceFormatError, match="root element is <eSearchResult>"):
        list(
            pubmed.parse(
                io.BytesIO(b"<eSearchResult><Count>0</Count></eSearchResult>"), file="x.xml"
            )
        )


def test_article_without_pmid_names_the_record() -> None:
    xml = (
        b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        b"<ArticleTitle>A</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        b"<PubmedArticle><MedlineCitation><Article><ArticleTitle>B</ArticleTitle></Article>"
        b"</MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    with pytest.raises(SourceFormatError, match=r"x.xml, record 2, field 'PMID'"):
        list(pubmed.parse(io.BytesIO(xml), file="x.xml"))
