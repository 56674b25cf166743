"""ClinicalTrials.gov API v2 JSON and Europe PMC REST JSON importers, field by field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from metareview.errors import MetareviewWarning
from metareview.sources import ctgov, europepmc
from metareview.sources.base import SourceFormatError

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"


@pytest.fixture(scope="module")
def study():
    with open(DATA / "ctgov_study_results.json", "rb") as handle:
        (record,) = ctgov.parse(handle, file="ctgov_study_results.json")
    return record


def test_ctgov_identity_and_protocol(study) -> None:
    f = study.fields
    assert (study.kind, study.source, study.source_id) == ("registry", "ctgov", "NCT09999901")
    assert study.nct_ids == ["NCT09999901"]
    assert study.title == "Imatinib Versus Placebo in Diffuse Cutaneous Systemic Sclerosis"
    assert f["official_title"].startswith("A Randomized, Double-blind, Placebo-controlled")
    assert (f["acronym"], f["org_study_id"], f["secondary_ids"]) == (
        "IMPACT-SSc",
        "IMA-SSC-01",
        ["2007-001234-56"],
    )
    assert study.year == 2008  # start date 2008-03
    assert f["status"]["overall"] == "COMPLETED"
    assert f["status"]["completion_date"] == "2011-03-15"
    assert f["sponsor"] == {
        "lead": "Example University Hospital",
        "lead_class": "OTHER",
        "collaborators": ["Novartis"],
    }
    assert f["design"] == {
        "study_type": "INTERVENTIONAL",
        "phases": ["PHASE2"],
        "allocation": "RANDOMIZED",
        "intervention_model": "PARALLEL",
        "primary_purpose": "TREATMENT",
        "masking": "QUADRUPLE",
        "who_masked": ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"],
        "enrollment": 40,
        "enrollment_type": "ACTUAL",
    }
    assert study.keywords == ["scleroderma", "tyrosine kinase inhibitor"]
    assert study.mesh_terms == ["Scleroderma, Systemic", "Imatinib Mesylate"]
    assert f["conditions"] == ["Systemic Sclerosis", "Diffuse Cutaneous Systemic Sclerosis"]


def test_ctgov_arms_interventions_doses(study) -> None:
    arms = study.fields["arms"]
    assert [a["label"] for a in arms] == ["Imatinib", "Placebo"]
    assert arms[0]["doses"] == ["400 mg once daily"]
    assert arms[0]["interventions"] == ["Drug: Imatinib mesylate"]
    imatinib = study.fields["interventions"][0]
    assert imatinib["doses"] == ["400 mg/day", "200 mg/day"]
    assert imatinib["other_names"] == ["Gleevec", "STI571"]
    assert imatinib["arm_labels"] == ["Imatinib"]


def test_ctgov_eligibility_split(study) -> None:
    e = study.fields["eligibility"]
    assert e["inclusion"] == [
        "Age 18 years or older",
        "Diffuse cutaneous systemic sclerosis (ACR 1980 criteria)",
        "mRSS of 16 or more, with disease duration under 5 years",  # continuation joined
    ]
    assert e["exclusion"] == [
        "Pregnancy or breastfeeding",
        "Left ventricular ejection fraction below 45%",
        "Prior treatment with a tyrosine kinase inhibitor",
    ]
    assert e["items"] == []
    assert (e["sex"], e["minimum_age"], e["healthy_volunteers"]) == ("ALL", "18 Years", False)


def test_ctgov_outcomes_locations_references(study) -> None:
    o = study.fields["outcomes"]
    assert o["primary"] == [
        {
            "measure": "Change in modified Rodnan skin score (mRSS)",
            "description": "mRSS 0-51; negative change is improvement",
            "time_frame": "Baseline and 6 months",
        }
    ]
    assert [x["time_frame"] for x in o["secondary"]] == ["Baseline and 6 months", "6 months"]
    assert study.fields["locations"][1] == {
        "facility": "Second Example Centre",
        "city": "Toulouse",
        "state": None,
        "zip": None,
        "country": "France",
        "status": "COMPLETED",
    }
    assert study.fields["references"][0]["pmid"] == "22827536"
    assert study.fields["officials"][0]["role"] == "PRINCIPAL_INVESTIGATOR"


def test_ctgov_results_participant_flow(study) -> None:
    assert study.fields["has_results"] is True
    flow = study.fields["results"]["participant_flow"]
    assert [g["id"] for g in flow["groups"]] == ["FG000", "FG001"]
    (period,) = flow["periods"]
    milestones = {m["type"]: m["counts"] for m in period["milestones"]}
    assert milestones["STARTED"] == {"FG000": 20, "FG001": 20}  # text "20" -> int
    assert milestones["COMPLETED"] == {"FG000": 15, "FG001": 18}
    drops = {d["type"]: d["counts"] for d in period["drop_withdraws"]}
    assert drops == {
        "Adverse Event": {"FG000": 4, "FG001": 1},
        "Withdrawal by Subject": {"FG000": 1, "FG001": 1},
    }
    # Hand check: drop-outs add up to STARTED - COMPLETED in each group.
    for group in ("FG000", "FG001"):
        lost = milestones["STARTED"][group] - milestones["COMPLETED"][group]
        assert sum(d[group] for d in drops.values()) == lost


def test_ctgov_results_baseline_and_outcome_measures(study) -> None:
    baseline = study.fields["results"]["baseline"]
    assert baseline["denoms"] == {"BG000": 20, "BG001": 20, "BG002": 40}
    age = baseline["measures"][0]
    assert (age["param_type"], age["dispersion_type"], age["unit"]) == (
        "MEAN",
        "STANDARD_DEVIATION",
        "years",
    )
    first = age["classes"][0]["categories"][0]["measurements"][0]
    assert first == {
        "group_id": "BG000",
        "value": 48.2,
        "spread": 11.5,
        "lower_limit": None,
        "upper_limit": None,
    }
    sex = baseline["measures"][1]["classes"][0]["categories"]
    assert [c["title"] for c in sex] == ["Female", "Male"]
    primary, secondary = study.fields["results"]["outcome_measures"]
    assert primary["type"] == "PRIMARY" and primary["time_frame"] == "Baseline and 6 months"
    assert primary["denoms"] == {"OG000": 15, "OG001": 18}
    values = primary["classes"][0]["categories"][0]["measurements"]
    assert [(m["group_id"], m["value"], m["spread"]) for m in values] == [
        ("OG000", -4.1, 5.2),
        ("OG001", -1.3, 4.8),
    ]
    (analysis,) = primary["analyses"]
    assert analysis["group_ids"] == ["OG000", "OG001"]
    assert (analysis["param_value"], analysis["ci_lower"], analysis["ci_upper"]) == (
        -2.8,
        -6.3,
        0.7,
    )
    assert analysis["p_value"] == "0.11" and analysis["ci_pct"] == 95
    # A value the registry reports as "NA" is kept as text, not turned into a number.
    na = secondary["classes"][0]["categories"][0]["measurements"][1]
    assert (na["value"], na["spread"]) == ("NA", "NA")


def test_ctgov_results_adverse_events(study) -> None:
    ae = study.fields["results"]["adverse_events"]
    assert ae["frequency_threshold"] == 5 and ae["time_frame"] == "6 months"
    assert ae["groups"][0] == {
        "id": "EG000",
        "title": "Imatinib",
        "description": None,
        "deaths_affected": 0,
        "deaths_at_risk": 20,
        "serious_affected": 3,
        "serious_at_risk": 20,
        "other_affected": 18,
        "other_at_risk": 20,
    }
    (serious,) = ae["serious"]
    assert serious["term"] == "Pleural effusion"
    assert serious["stats"][0] == {"group_id": "EG000", "events": 2, "affected": 2, "at_risk": 20}
    assert [e["term"] for e in ae["other"]] == ["Oedema peripheral", "Nausea"]


def test_ctgov_search_page_warns_about_next_page() -> None:
    with (
        open(DATA / "ctgov_page.json", "rb") as handle,
        pytest.warns(MetareviewWarning, match="nextPageToken='NF0g5JGBlPMuwQ'"),
    ):
        records = list(ctgov.parse(handle, file="ctgov_page.json"))
    assert [r.source_id for r in records] == ["NCT00479934", "NCT00506831"]
    bordeaux = records[0]
    assert bordeaux.fields["sponsor"]["lead"] == "University Hospital, Bordeaux"
    assert bordeaux.fields["eligibility"]["inclusion"] == [
        "More than 18 years old",
        "Signed informed consent",
    ]
    assert bordeaux.fields["eligibility"]["exclusion"] == [
        "Ongoing cancer",
        "Pregnancy or lactation",
    ]
    assert [a["doses"] for a in bordeaux.fields["arms"]] == [["400mg/day"], ["400mg/day"]]
    assert bordeaux.fields["results"] is None and bordeaux.fields["has_results"] is False
    # Each study's raw payload is its own JSON object.
    assert json.loads(bordeaux.raw)["protocolSection"]["identificationModule"]["nctId"] == (
        "NCT00479934"
    )
    records2, token = ctgov.parse_page(json.loads((DATA / "ctgov_page.json").read_text()))
    assert token == "NF0g5JGBlPMuwQ" and len(records2) == 2


def test_ctgov_errors() -> None:
    with pytest.raises(SourceFormatError, match=r"p.json, record 2, field 'nctId'"):
        ctgov.parse_page(
            {
                "studies": [
                    {"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}},
                    {"protocolSection": {}},
                ]
            },
            file="p.json",
        )
    with pytest.raises(SourceFormatError, match=r"not ClinicalTrials\.gov API v2 JSON"):
        ctgov.parse_page({"resultList": {}}, file="p.json")
    with pytest.raises(SourceFormatError, match=r"p.json, line 2: malformed JSON at column 11"):
        list(ctgov.parse(io.BytesIO(b'{"studies":\n [{"a": 1,,}]}'), file="p.json"))


def test_split_eligibility_variants() -> None:
    text = (
        "Key Inclusion Criteria:\n1. Adults\n2) Signed consent\n\n"
        "Exclusion criteria: pregnancy\n- Cancer\n"
    )
    assert ctgov.split_eligibility(text) == {
        "inclusion": ["Adults", "Signed consent"],
        "exclusion": ["pregnancy", "Cancer"],
        "items": [],
    }
    assert ctgov.split_eligibility("- one\n- two") == {
        "inclusion": [],
        "exclusion": [],
        "items": ["one", "two"],
    }


def test_find_doses() -> None:
    assert ctgov.find_doses("imatinib 300 mg twice daily then 400 mg/day; 40 mg/m2/day") == [
        "300 mg twice daily",
        "400 mg/day",
        "40 mg/m2/day",
    ]


# -- Europe PMC ---------------------------------------------------------------------------------


def test_europepmc_core_and_lite_results() -> None:
    with open(DATA / "europepmc.json", "rb") as handle:
        core, lite = europepmc.parse(handle, file="europepmc.json")
    assert (core.source, core.source_id, core.pmid) == ("europepmc", "MED:22827536", "22827536")
    assert core.title.startswith("Imatinib mesylate in scleroderma-associated")
    assert core.authors == ["Prey S", "Ezzedine K", "Doussau A"]
    assert core.journal == "The British journal of dermatology"
    assert core.year == 2012
    assert core.doi == "10.1111/j.1365-2133.2012.11186.x"
    # HTML headings in abstractText are removed.
    assert core.abstract == (
        "Background Imatinib inhibits PDGF receptors. Objectives To assess imatinib 400 mg "
        "daily (NCT00479934)."
    )
    assert core.nct_ids == ["NCT00479934"]
    assert core.publication_types[0] == "Randomized Controlled Trial"
    assert core.mesh_terms == ["Humans", "Imatinib Mesylate"]
    assert core.fields["journal_volume"] == "167" and core.fields["cited_by_count"] == 95
    assert lite.source_id == "PMC:PMC3086060" and lite.pmcid == "PMC3086060"
    assert lite.authors[:2] == ["Spiera RF", "Gordon JK"] and len(lite.authors) == 10
    assert (lite.journal, lite.year, lite.abstract) == ("Ann Rheum Dis", 2011, "")
    records, cursor = europepmc.parse_response(json.loads((DATA / "europepmc.json").read_text()))
    assert cursor == "AoIIQJm1BCg0NDA2MzkyMw==" and len(records) == 2


def test_europepmc_errors() -> None:
    with pytest.raises(SourceFormatError, match=r"no resultList\.result"):
        europepmc.parse_response({"hitCount": 0}, file="e.json")
    with pytest.raises(SourceFormatError, match=r"e.json, record 1, field 'id'"):
        europepmc.parse_response({"resultList": {"result": [{"title": "x"}]}}, file="e.json")
