"""Plain-text pages: every seed page imports to a sensible record, checked field by field.

The seed pages live in ``../shared/seeds`` (development and CI only; the ``seeds_dir`` fixture
skips without them). Small inline texts test the same parser in a user's clone. Expected values
were read off the pages by hand.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from metareview.sources import text
from metareview.sources.base import SourceFormatError
from metareview.sources.detect import detect_format, parse_file


def _seed(seeds_dir: Path, prefix: str):
    (path,) = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
    assert detect_format(path) == "text"
    (record,) = parse_file(path)
    assert record.raw == path.read_text(encoding="utf-8")  # verbatim
    assert record.raw_format == "text" and record.origin_file == str(path)
    return record


def test_every_seed_imports(seeds_dir: Path) -> None:
    kinds = {}
    for path in sorted(seeds_dir.iterdir()):
        (record,) = parse_file(path)
        assert record.title, path
        kinds[path.name[:3]] = record.kind
    assert kinds == {
        "000": "article",
        "001": "registry",
        "002": "article",
        "003": "registry",
        "004": "monograph",
    }


def test_seed_000_liakouli_meta_analysis(seeds_dir: Path) -> None:
    r = _seed(seeds_dir, "000")
    assert r.title == (
        "Efficacy and safety of imatinib mesylate in systemic sclerosis. A systematic review "
        "and meta-analysis"
    )
    assert r.authors == [
        "Vasiliki Liakouli",
        "Jacopo Ciaffi",
        "Francesco Ursini",
        "Piero Ruscitti",
        "Riccardo Meliconi",
        "Francesco Ciccia",
        "Paola Cipriani",
        "Roberto Giacomelli",
    ]
    assert r.journal == "Expert Review of Clinical Immunology"
    assert r.year == 2020  # "Publication status Published - Sep 2020"
    assert (r.fields["issue"], r.fields["pages"]) == ("9", "931-942")
    assert r.language == "English"
    # The page shows no DOI; none is invented.
    assert r.doi is None
    assert set(r.publication_types) == {"Journal Article", "Systematic Review", "Meta-Analysis"}
    assert r.fields["publication_types_inferred"] is True
    labels = [s["label"] for s in r.fields["abstract_sections"]]
    assert labels == ["OBJECTIVES", "METHODS", "RESULTS", "CONCLUSION"]
    assert r.abstract.startswith("OBJECTIVES: To synthetize the available evidence")
    assert "(mean difference [MD] = -3.091, 95%CI -6.081 to -0.102, p = 0.043)" in r.abstract
    assert r.abstract.endswith("investigate imatinib mesylate therapy in SSc.")
    assert r.keywords == [
        "Imatinib mesylate",
        "meta-analysis",
        "systematic review",
        "systemic sclerosis",
    ]
    # Page furniture is not part of the record's text.
    assert "Dive into the research topics" not in r.abstract
    assert "Cite this" not in r.abstract


def test_seed_001_stanford_registry_page(seeds_dir: Path) -> None:
    r = _seed(seeds_dir, "001")
    f = r.fields
    assert r.kind == "registry"
    assert r.nct_ids == ["NCT00506831"] and f["nct_id"] == "NCT00506831"
    assert r.title == "Imatinib in Systemic Sclerosis"
    assert f["official_title"] == (
        "A Pilot Study of Imatinib in the Treatment of Refractory Systemic Sclerosis"
    )
    assert f["status"]["overall"] == "Not Recruiting"
    assert r.abstract.startswith("Systemic sclerosis (SSc) is an autoimmune disease")
    assert r.abstract.endswith("compared with baseline measures.")
    assert f["design"]["masking"] == "NONE"  # "open label"
    assert f["design"]["phrases"] == ["open label", "pilot study"]
    assert f["design"]["allocation"] is None  # the page does not say
    assert f["interventions"] == [
        {"type": "DRUG", "name": "Imatinib mesylate", "description": None, "doses": []}
    ]
    assert f["doses"] == []  # the page states no dose
    assert f["eligibility"]["inclusion"] == [
        "Adults with refractory diffuse or limited SSc and any or all of the following: "
        "Progressive cutaneous fibrosis, Interstitial lung disease, Pulmonary arterial "
        "hypertension, Digital ulcerations."
    ]
    exclusion = f["eligibility"]["exclusion"]
    assert len(exclusion) == 4
    assert (
        exclusion[0]
        == "Uncontrolled congestive heart failure, hypertension, or coronary artery disease."
    )
    assert exclusion[3] == "Women who are pregnant or breastfeeding."
    assert f["officials"][0]["name"] == "Lorinda Chung"
    assert f["contact"] == (
        "Stanford University, School of Medicine, 300 Pasteur Drive, Stanford, CA 94305"
    )
    assert f["outcomes"]["primary"] == []  # none on the page


def test_seed_002_case_report(seeds_dir: Path) -> None:
    r = _seed(seeds_dir, "002")
    assert r.kind == "article"
    assert r.title == (
        "Treatment of pulmonary fibrosis for twenty weeks with imatinib mesylate in a patient "
        "with mixed connective tissue disease"
    )
    assert (r.journal, r.year, r.doi) == ("Arthritis Rheum", 2008, "10.1002/art.23694")
    assert (r.fields["volume"], r.fields["issue"], r.fields["pages"]) == ("58", "8", "2538-42")
    assert r.fields["citation"] == (
        "Arthritis Rheum. 2008 Aug;58(8):2538-42. doi: 10.1002/art.23694."
    )
    assert r.authors == []  # the page lists none
    assert r.publication_types == ["Case Reports"]
    assert "publication_types_inferred" not in r.fields
    assert r.abstract.startswith("Interstitial lung disease, which is common in patients")
    assert "at 400 mg/day" in r.abstract
    assert len(r.mesh_terms) == 13
    assert r.mesh_terms[:3] == [
        "Benzamides",
        "Disease Progression",
        "Dose-Response Relationship, Drug",
    ]
    assert (
        "Pulmonary Fibrosis" in r.mesh_terms and "Mixed Connective Tissue Disease" in r.mesh_terms
    )
    assert len(r.fields["mesh_headings"]) == 18
    assert "Pulmonary Fibrosis / drug therapy*" in r.fields["mesh_headings"]
    assert r.fields["substances"] == [
        "Benzamides",
        "Piperazines",
        "Protein Kinase Inhibitors",
        "Pyrimidines",
        "Imatinib Mesylate",
    ]


def test_seed_003_bordeaux_registry_page(seeds_dir: Path) -> None:
    r = _seed(seeds_dir, "003")
    f = r.fields
    assert r.nct_ids == ["NCT00479934"]
    assert r.title == "Efficacy and Safety of Imatinib in Scleroderma"
    assert f["status"]["overall"] == "COMPLETED"
    assert f["sponsor"]["lead"] == "University Hospital, Bordeaux"
    assert f["conditions"] == ["Scleroderma, Localized", "Scleroderma, Systemic"]
    assert r.abstract.startswith("In vitro studies have shown that imatinib 1mM")
    assert f["detailed_description"].startswith("This study will test the efficacy and tolerance")
    design = f["design"]
    assert (design["study_type"], design["intervention_model"]) == ("INTERVENTIONAL", "PARALLEL")
    assert (design["masking"], design["allocation"]) == (
        "DOUBLE",
        "RANDOMIZED",
    )  # "double blind RCT"
    assert design["enrollment"] == 28
    assert f["eligibility"]["sex"] == "All"
    assert [a["label"] for a in f["arms"]] == ["2", "1"]
    assert (
        f["arms"][0]["description"] == "imatinib mesylate 6 month treatment with Placebo 400mg/day"
    )
    assert f["arms"][1]["doses"] == ["400mg/day"]
    assert f["doses"] == ["400mg/day", "400mg/j"]
    # The page lost its Inclusion/Exclusion headings: 21 criteria, kept unlabelled.
    items = f["eligibility"]["items"]
    assert len(items) == 21
    assert items[0] == "More than 18 years old"
    assert items[7] == "Signed informed consent"
    assert items[-1] == "Non observance anticipated and absence of informed consent"
    assert f["eligibility"]["inclusion"] == [] and f["eligibility"]["exclusion"] == []
    (primary,) = f["outcomes"]["primary"]
    assert primary["time_frame"] == "6 month"
    assert primary["measure"].startswith("Compare the efficacy of imatinib mesylate vs placebo")
    secondary = f["outcomes"]["secondary"]
    assert [o["time_frame"] for o in secondary] == [
        "1, 3 and 12 month",
        "6 month",
        "At 1, 3, 6 month and 1 year",
        "All along the trial",
        "All along the trial",
    ]
    assert secondary[1]["measure"] == (
        "Assess skin thickness at inclusion and at 6 months using skin biopsies"
    )
    assert len(f["locations"]) == 12
    assert f["locations"][0] == {
        "facility": "Service de Rhumatologie - CHU de Strasbourg",
        "city": "Strasbourg",
        "country": "France",
    }
    assert f["locations"][-1]["city"] == "Tours"


def test_seed_004_dermnet_monograph(seeds_dir: Path) -> None:
    r = _seed(seeds_dir, "004")
    f = r.fields
    assert r.kind == "monograph"
    assert r.title == "Imatinib"
    assert r.authors == ["Anoma Ranaweera"]
    assert f["chief_editor"] == "Dr Amanda Oakley"
    assert r.year == 2015
    assert f["publisher"] == "DermNet"
    headings = [s["heading"] for s in f["sections"]]
    assert headings[:3] == [
        "What is imatinib?",
        "Indications of imatinib in dermatology",
        "Dermatofibrosarcoma protuberans",
    ]
    for expected in (
        "Systemic sclerosis",
        "Drug interactions with imatinib",
        "Adverse effects with imatinib",
        "Pregnancy",
        "Contraindications",
        "References",
    ):
        assert expected in headings
    assert "Sign up to the newsletter" not in headings and "Related information" not in headings
    ssc = next(s for s in f["sections"] if s["heading"] == "Systemic sclerosis")
    assert len(ssc["items"]) == 8
    assert ssc["items"][4].startswith("A phase II double-blind trial in 28 patients")
    adverse = next(s for s in f["sections"] if s["heading"] == "Adverse effects with imatinib")
    assert adverse["items"] == [
        "Oedema",
        "Nausea",
        "Vomiting",
        "Muscle cramps",
        "Musculoskeletal pain",
        "Diarrhoea",
        "Fatigue",
        "Abdominal pain",
    ]
    assert len(f["references"]) == 20
    assert f["references"][-1]["pmid"] == "23099009"
    assert f["references"][-1]["doi"] == "10.1016/s1470-2045(12)70414-x"
    assert r.abstract.startswith("Imatinib mesylate (Gleevac®; USA and Glivec® Europe")


# -- inline texts (no ../shared needed) ---------------------------------------------------------


def _one(page: str):
    (record,) = text.parse(io.BytesIO(page.encode("utf-8")), file="page.txt")
    return record


def test_inline_registry_page_with_time_frame_labels() -> None:
    r = _one(
        "Nilotinib in Morphoea\n\nTrial ID: NCT01234567\n\nRecruiting\n\n"
        "Brief Summary\nA randomized, double-blind trial of nilotinib 400 mg twice daily.\n\n"
        "Eligibility Criteria\nInclusion Criteria:\n- Adults\n- Morphoea\n"
        "Exclusion Criteria:\n- Pregnancy\n\n"
        "Primary Outcome Measures\n1. Change in LoSCAT [Time Frame: 12 weeks]\n"
    )
    assert (r.kind, r.nct_ids, r.title) == ("registry", ["NCT01234567"], "Nilotinib in Morphoea")
    assert r.fields["status"]["overall"] == "Recruiting"
    assert r.fields["eligibility"]["inclusion"] == ["Adults", "Morphoea"]
    assert r.fields["eligibility"]["exclusion"] == ["Pregnancy"]
    assert r.fields["design"]["masking"] == "DOUBLE"
    assert r.fields["design"]["allocation"] == "RANDOMIZED"
    assert r.fields["doses"] == ["400 mg twice daily"]
    assert r.fields["outcomes"]["primary"] == [
        {"measure": "Change in LoSCAT", "description": None, "time_frame": "12 weeks"}
    ]


def test_inline_pubmed_style_article_with_pmid() -> None:
    r = _one(
        "Imatinib for morphoea: a systematic review and meta-analysis\n\n"
        "J Dermatol Treat. 2019 Mar;30(2):100-8. doi: 10.1080/09546634.2018.1234567. "
        "Epub 2018 Jun 1.\n\n"
        "Anna Roe, Ben Doe\n\n"
        "We pooled 5 studies.\n\nPMID: 29999999\n"
    )
    assert r.kind == "article"
    assert (r.journal, r.year) == ("J Dermatol Treat", 2019)
    assert r.doi == "10.1080/09546634.2018.1234567"
    assert r.authors == ["Anna Roe", "Ben Doe"]
    assert r.pmid == "29999999"
    assert r.publication_types == ["Systematic Review", "Meta-Analysis"]


def test_inline_case_report_inferred_from_abstract() -> None:
    r = _one("Imatinib in a patient with morphoea\n\nWe report a case of linear morphoea.\n")
    assert r.publication_types == ["Case Reports"]


def test_inline_monograph() -> None:
    r = _one(
        "Nilotinib\n\nAuthor: A Writer, Medical writer. Chief Editor: Dr B Editor, 2021.\n\n"
        "What is nilotinib?\n\nNilotinib is a tyrosine kinase inhibitor.\n\n"
        "Adverse effects\n\n  • Rash\n  • Headache\n\nContraindications\n\n  • Hypokalaemia\n"
    )
    assert r.kind == "monograph"
    assert r.authors == ["A Writer"] and r.year == 2021
    assert [s["heading"] for s in r.fields["sections"]] == [
        "What is nilotinib?",
        "Adverse effects",
        "Contraindications",
    ]
    assert r.fields["sections"][1]["items"] == ["Rash", "Headache"]


def test_crlf_page_parses_and_keeps_raw_verbatim() -> None:
    page = "Imatinib in a patient\r\n\r\nWe report a case of morphoea.\r\n"
    (record,) = text.parse(io.BytesIO(b"\xef\xbb\xbf" + page.encode()), file="p.txt")
    assert record.raw == page
    assert record.title == "Imatinib in a patient"
    assert record.abstract == "We report a case of morphoea."


def test_empty_and_oversized_text_are_refused() -> None:
    with pytest.raises(SourceFormatError, match="empty text"):
        _one("\n\n   \n")
    big = io.BytesIO(b"x" * 1000 + (b"\n" + b"y" * 1000) * (text.MAX_TEXT_BYTES // 1000 + 2))
    with pytest.raises(SourceFormatError, match="too large for one pasted page"):
        list(text.parse(big, file="big.txt"))
