"""Long-format values from ClinicalTrials.gov posted results (metareview.extraction.registry).

Expected values are read by hand from the fixtures; each test names the JSON path (under the
study's ``resultsSection``) the value is at.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from metareview.errors import InputError
from metareview.extraction.registry import (
    FIELDS,
    GROUPS,
    RegistryExtraction,
    RegistryValue,
    registry_values,
)
from metareview.protocol import (
    OutcomeSpec,
    ProtocolValidationError,
    load_protocol,
    parse_protocol,
)

DATA = Path(__file__).resolve().parents[1] / "data"
IMATINIB = DATA / "sources" / "ctgov_study_results.json"
E2E = DATA / "e2e"
OM = "resultsSection.outcomeMeasuresModule.outcomeMeasures"
AE = "resultsSection.adverseEventsModule.eventGroups"
FLOW = "resultsSection.participantFlowModule.periods"


def spec(name: str, measure: str = "MD", **kw: Any) -> OutcomeSpec:
    return OutcomeSpec(name=name, measure=measure, better="lower", **kw)


def table(result: RegistryExtraction, outcome: str) -> dict[tuple[str, str, str], float]:
    """{(group, arm, field): value} of one outcome (the timepoint checked separately)."""
    return {(v.group, v.arm, v.field): v.value for v in result.for_outcome(outcome)}


def by_field(result: RegistryExtraction, outcome: str, arm: str, field: str) -> RegistryValue:
    [value] = [v for v in result.for_outcome(outcome) if v.arm == arm and v.field == field]
    return value


def study(results: dict[str, Any]) -> dict[str, Any]:
    """A minimal API v2 study around a results section."""
    return {
        "protocolSection": {"identificationModule": {"nctId": "NCT09990099"}},
        "resultsSection": results,
        "hasResults": True,
    }


def measure(
    title: str,
    groups: list[tuple[str, str]],
    values: list[dict[str, str]],
    *,
    param: str = "MEAN",
    dispersion: str | None = "STANDARD_DEVIATION",
    unit: str = "units on a scale",
    time: str = "12 weeks",
    denoms: list[str] | None = None,
    analyses: list[dict[str, Any]] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """One outcome measure; ``values`` are the measurements of one class/category, in group
    order (``groupId`` filled in)."""
    m: dict[str, Any] = {
        "type": "PRIMARY",
        "title": title,
        "paramType": param,
        "unitOfMeasure": unit,
        "timeFrame": time,
        "groups": [{"id": gid, "title": t} for gid, t in groups],
        "classes": [
            {
                "categories": [
                    {
                        "measurements": [
                            {"groupId": gid, **v}
                            for (gid, _), v in zip(groups, values, strict=True)
                        ]
                    }
                ]
            }
        ],
    }
    if description is not None:
        m["description"] = description
    if dispersion is not None:
        m["dispersionType"] = dispersion
    if denoms is not None:
        m["denoms"] = [
            {
                "units": "Participants",
                "counts": [
                    {"groupId": gid, "value": n} for (gid, _), n in zip(groups, denoms, strict=True)
                ],
            }
        ]
    if analyses is not None:
        m["analyses"] = analyses
    return m


TWO = [("OG000", "Drug A"), ("OG001", "Placebo")]


# ---------------------------------------------------------------------------------------------
# The committed fixtures


def test_imatinib_fixture_all_four_outcomes() -> None:
    doc = json.loads(IMATINIB.read_text(encoding="utf-8"))
    outcomes = [
        spec("mRSS", "MC"),
        spec("HAQ", "MC"),
        spec("sae", "RR", description="Patients with a serious adverse event"),
        spec("dropout_ae", "RR", description="Dropouts due to adverse events"),
    ]
    result = registry_values(doc, outcomes)
    assert table(result, "mRSS") == {
        # outcomeMeasures[0].denoms[0].counts[0|1].value
        ("intervention", "Imatinib", "n"): 15,
        ("comparator", "Placebo", "n"): 18,
        # outcomeMeasures[0].classes[0].categories[0].measurements[0|1].value / .spread; the
        # title "Change in Modified Rodnan Skin Score" makes them changes.
        ("intervention", "Imatinib", "mean_change"): -4.1,
        ("intervention", "Imatinib", "sd_change"): 5.2,
        ("comparator", "Placebo", "mean_change"): -1.3,
        ("comparator", "Placebo", "sd_change"): 4.8,
        # outcomeMeasures[0].analyses[0].paramValue / ciLowerLimit / ciUpperLimit / pValue
        ("contrast", "Imatinib vs Placebo", "estimate"): -2.8,
        ("contrast", "Imatinib vs Placebo", "ci_lower"): -6.3,
        ("contrast", "Imatinib vs Placebo", "ci_upper"): 0.7,
        ("contrast", "Imatinib vs Placebo", "pvalue"): 0.11,
    }
    # outcomeMeasures[1]: the placebo mean and SD are "NA", so only imatinib's are values.
    assert table(result, "HAQ") == {
        ("intervention", "Imatinib", "n"): 15,
        ("comparator", "Placebo", "n"): 18,
        ("intervention", "Imatinib", "mean_change"): -0.10,
        ("intervention", "Imatinib", "sd_change"): 0.41,
    }
    # adverseEventsModule.eventGroups[0|1].seriousNumAffected / seriousNumAtRisk
    assert table(result, "sae") == {
        ("intervention", "Imatinib", "events"): 3,
        ("intervention", "Imatinib", "n"): 20,
        ("comparator", "Placebo", "events"): 1,
        ("comparator", "Placebo", "n"): 20,
    }
    # participantFlowModule.periods[0].dropWithdraws[0] ("Adverse Event") and the STARTED
    # milestone periods[0].milestones[0]
    assert table(result, "dropout_ae") == {
        ("intervention", "Imatinib", "events"): 4,
        ("comparator", "Placebo", "events"): 1,
        ("intervention", "Imatinib", "n"): 20,
        ("comparator", "Placebo", "n"): 20,
    }
    assert {v.timepoint for v in result.for_outcome("mRSS")} == {"Baseline and 6 months"}
    assert {v.timepoint for v in result.for_outcome("sae")} == {"6 months"}
    assert {v.timepoint for v in result.for_outcome("dropout_ae")} == {"Overall Study"}
    na = [w for w in result.warnings if "'NA' is not a number" in w]
    assert [w.split(":")[0] for w in na] == [
        f"{OM}[1].classes[0].categories[0].measurements[1].value",
        f"{OM}[1].classes[0].categories[0].measurements[1].spread",
    ]


def test_imatinib_fixture_locations_and_quotes() -> None:
    doc = json.loads(IMATINIB.read_text(encoding="utf-8"))
    result = registry_values(doc, [spec("mRSS", "MC"), spec("dropout_ae", "RR")])
    placebo_mean = by_field(result, "mRSS", "Placebo", "mean_change")
    assert placebo_mean.location == f"{OM}[0].classes[0].categories[0].measurements[1].value"
    assert placebo_mean.status == "reported"
    assert "Change in Modified Rodnan Skin Score (mRSS)" in placebo_mean.quote
    assert "Placebo" in placebo_mean.quote and "STANDARD_DEVIATION" in placebo_mean.quote
    assert by_field(result, "mRSS", "Imatinib", "n").location == (
        f"{OM}[0].denoms[0].counts[0].value"
    )
    assert by_field(result, "mRSS", "Imatinib vs Placebo", "pvalue").location == (
        f"{OM}[0].analyses[0].pValue"
    )
    assert by_field(result, "dropout_ae", "Imatinib", "events").location == (
        f"{FLOW}[0].dropWithdraws[0].reasons[0].numSubjects"
    )
    assert by_field(result, "dropout_ae", "Placebo", "n").location == (
        f"{FLOW}[0].milestones[0].achievements[1].numSubjects"
    )
    for v in result.values:
        assert v.group in GROUPS and v.field in FIELDS


def test_e2e_fixture_gives_the_three_protocol_outcomes() -> None:
    protocol = load_protocol(E2E / "protocol.yaml")
    page = json.loads((E2E / "ctgov.json").read_text(encoding="utf-8"))
    alpha, beta = page["studies"]
    result = registry_values(alpha, protocol.outcomes)
    # outcomeMeasures[0] "Change From Baseline in B Symptom Score (BSS) at Week 12"; the
    # response count outcomeMeasures[1] lacks the term "change from baseline".
    assert table(result, "bss") == {
        ("intervention", "Drug A", "n"): 52,  # denoms[0].counts[0].value
        ("comparator", "Placebo", "n"): 56,  # denoms[0].counts[1].value
        ("intervention", "Drug A", "mean_change"): -8.4,  # measurements[0].value
        ("intervention", "Drug A", "sd_change"): 6.1,  # measurements[0].spread
        ("comparator", "Placebo", "mean_change"): -4.9,  # measurements[1].value
        ("comparator", "Placebo", "sd_change"): 6.4,  # measurements[1].spread
        ("contrast", "Drug A vs Placebo", "estimate"): -3.5,  # analyses[0].paramValue
        ("contrast", "Drug A vs Placebo", "estimate_se"): 1.20,  # analyses[0].dispersionValue
        ("contrast", "Drug A vs Placebo", "ci_lower"): -5.86,  # analyses[0].ciLowerLimit
        ("contrast", "Drug A vs Placebo", "ci_upper"): -1.14,  # analyses[0].ciUpperLimit
        ("contrast", "Drug A vs Placebo", "pvalue"): 0.004,  # analyses[0].pValue
    }
    assert {v.timepoint for v in result.for_outcome("bss")} == {"Baseline and week 12"}
    # adverseEventsModule.eventGroups[0|1]
    assert table(result, "sae") == {
        ("intervention", "Drug A", "events"): 4,
        ("intervention", "Drug A", "n"): 60,
        ("comparator", "Placebo", "events"): 2,
        ("comparator", "Placebo", "n"): 60,
    }
    # participantFlowModule.periods[0].dropWithdraws[0] and milestones[0] (STARTED)
    assert table(result, "dropout_ae") == {
        ("intervention", "Drug A", "events"): 5,
        ("comparator", "Placebo", "events"): 1,
        ("intervention", "Drug A", "n"): 60,
        ("comparator", "Placebo", "n"): 60,
    }
    assert result.warnings == ()
    # Internal consistency of the fixture: events never exceed n.
    for outcome in ("sae", "dropout_ae"):
        t = table(result, outcome)
        for arm in ("Drug A", "Placebo"):
            role = "intervention" if arm == "Drug A" else "comparator"
            assert t[(role, arm, "events")] <= t[(role, arm, "n")]

    empty = registry_values(beta, protocol.outcomes)
    assert empty.values == ()
    assert empty.warnings == ("resultsSection: the study has no posted results",)


# ---------------------------------------------------------------------------------------------
# Matching protocol outcomes to registry items


def test_explicit_registry_terms_choose_the_measure() -> None:
    doc = study(
        {
            "outcomeMeasuresModule": {
                "outcomeMeasures": [
                    measure("Pain Score at Week 12", TWO, [{"value": "3.1", "spread": "1.0"}] * 2),
                    measure("Itch Score at Week 12", TWO, [{"value": "4.2", "spread": "2.0"}] * 2),
                ]
            }
        }
    )
    itch = spec("itch", registry={"kind": "outcome_measure", "terms": ["ITCH", "week 12"]})
    result = registry_values(doc, [itch])
    assert {v.value for v in result.values} == {4.2, 2.0}
    assert {v.location.split(".classes")[0] for v in result.values} == {f"{OM}[1]"}
    assert {v.field for v in result.values} == {"mean", "sd"}


def test_inferred_kinds_from_name_and_description() -> None:
    doc = json.loads(IMATINIB.read_text(encoding="utf-8"))
    cases = {
        "sae": spec("sae", "RR"),
        "serious": spec("harm", "RR", description="Any SERIOUS ADVERSE event"),
        "withdrawal": spec("w", "RR", description="Withdrawals due to adverse events"),
        "discontinuation": spec("stop_ae", "RR", description="Discontinued treatment"),
        "drop-out": spec("d", "RR", description="Drop-outs because of an adverse event"),
    }
    for label, outcome in cases.items():
        fields = {
            (v.location.split(".")[1], v.field) for v in registry_values(doc, [outcome]).values
        }
        module = "adverseEventsModule" if label in ("sae", "serious") else "participantFlowModule"
        assert {m for m, _ in fields} == {module}, label


def test_name_and_description_words_match_measures() -> None:
    doc = study(
        {
            "outcomeMeasuresModule": {
                "outcomeMeasures": [
                    measure("Change in HAQ-DI", TWO, [{"value": "-0.2", "spread": "0.4"}] * 2),
                    measure(
                        "Forced Vital Capacity (% predicted)",
                        TWO,
                        [{"value": "80", "spread": "9"}] * 2,
                    ),
                ]
            }
        }
    )
    by_name = spec("haq-di")  # whole word in the title
    by_words = spec("lung", description="Forced vital capacity at 12 months")
    hyphen_part = spec("haq")  # a whole word of "haq-di" too: a hyphen ends a word
    nothing = spec("mrss", description="modified Rodnan skin score")
    result = registry_values(doc, [by_name, by_words, nothing])
    assert {v.field for v in result.for_outcome("haq-di")} == {"mean_change", "sd_change"}
    assert {v.value for v in result.for_outcome("lung")} == {80, 9}
    assert result.for_outcome("mrss") == []
    assert any(w.startswith("resultsSection: nothing found for outcome 'mrss': ")
               for w in result.warnings)  # fmt: skip
    assert registry_values(doc, [hyphen_part]).for_outcome("haq")


def test_measure_matched_by_two_outcomes_is_ambiguous() -> None:
    doc = study(
        {
            "outcomeMeasuresModule": {
                "outcomeMeasures": [
                    measure("Change in mRSS", TWO, [{"value": "-4", "spread": "5"}] * 2),
                ]
            }
        }
    )
    a = spec("mRSS")
    b = spec("skin", registry={"kind": "outcome_measure", "terms": ["mrss"]})
    result = registry_values(doc, [a, b])
    assert result.values == ()
    [ambiguous] = [w for w in result.warnings if "ambiguous" in w]
    assert ambiguous.startswith(f"{OM}[0]:") and "'mRSS', 'skin'" in ambiguous


def test_duplicate_keys_keep_the_first_and_warn() -> None:
    first = measure("mRSS at 12 weeks", TWO, [{"value": "20", "spread": "5"}] * 2)
    second = measure("mRSS at 12 weeks (per protocol)", TWO, [{"value": "19", "spread": "5"}] * 2)
    doc = study({"outcomeMeasuresModule": {"outcomeMeasures": [first, second]}})
    result = registry_values(doc, [spec("mRSS")])
    assert {v.value for v in result.values if v.field == "mean"} == {20}
    dupes = [w for w in result.warnings if "the first is kept" in w]
    assert len(dupes) == 4  # mean and sd of two groups
    assert dupes[0].startswith(f"{OM}[1].classes[0].categories[0].measurements[0].value:")


# ---------------------------------------------------------------------------------------------
# Parameter and dispersion types


@pytest.mark.parametrize(
    ("param", "dispersion", "measurement", "expected"),
    [
        ("MEAN", "STANDARD_ERROR", {"value": "5", "spread": "0.5"}, {"mean": 5, "se": 0.5}),
        (
            "MEAN",
            "CONFIDENCE_INTERVAL_95",
            {"value": "5", "lowerLimit": "4", "upperLimit": "6"},
            {"mean": 5, "ci_lower": 4, "ci_upper": 6},
        ),
        (
            "MEDIAN",
            "INTER_QUARTILE_RANGE",
            {"value": "5", "lowerLimit": "3", "upperLimit": "8"},
            {"median": 5, "q1": 3, "q3": 8},
        ),
        (
            "MEDIAN",
            "FULL_RANGE",
            {"value": "5", "lowerLimit": "0", "upperLimit": "12"},
            {"median": 5, "min": 0, "max": 12},
        ),
        ("MEAN", "NA", {"value": "5"}, {"mean": 5}),
        ("COUNT_OF_PARTICIPANTS", None, {"value": "7"}, {"events": 7}),
        ("NUMBER", None, {"value": "7"}, {"events": 7}),
    ],
)
def test_param_and_dispersion_types(
    param: str, dispersion: str | None, measurement: dict[str, str], expected: dict[str, float]
) -> None:
    m = measure(
        "Itch score",
        [("OG000", "Drug A")],
        [measurement],
        param=param,
        dispersion=dispersion,
        unit="Participants" if param in ("COUNT_OF_PARTICIPANTS", "NUMBER") else "points",
        denoms=["30"],
    )
    result = registry_values(
        study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}), [spec("itch")]
    )
    assert table(result, "itch") == {
        ("single", "Drug A", f): v for f, v in {"n": 30, **expected}.items()
    }
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("param", "dispersion", "unit", "left_out"),
    [
        ("LEAST_SQUARES_MEAN", "STANDARD_ERROR", "points", "paramType"),
        ("GEOMETRIC_MEAN", "GEOMETRIC_COEFFICIENT", "ng/mL", "paramType"),
        ("NUMBER", None, "percentage of participants", "paramType"),
        ("MEAN", "CONFIDENCE_INTERVAL_90", "points", "dispersionType"),
    ],
)
def test_types_not_extracted_warn(
    param: str, dispersion: str | None, unit: str, left_out: str
) -> None:
    m = measure(
        "Itch score",
        TWO,
        [{"value": "5", "spread": "1", "lowerLimit": "4", "upperLimit": "6"}] * 2,
        param=param,
        dispersion=dispersion,
        unit=unit,
    )
    result = registry_values(
        study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}), [spec("itch")]
    )
    fields = {v.field for v in result.values}
    assert fields <= {"mean"}
    assert any(w.startswith(f"{OM}[0].{left_out}:") for w in result.warnings)


def test_analysis_pvalue_bound_and_ci_level() -> None:
    analyses = [
        {
            "groupIds": ["OG001", "OG000"],
            "paramType": "Risk Ratio (RR)",
            "paramValue": "0.62",
            "ciPctValue": "90",
            "ciNumSides": "TWO_SIDED",
            "ciLowerLimit": "0.40",
            "ciUpperLimit": "0.95",
            "pValue": "<0.001",
        }
    ]
    m = measure(
        "Number of participants with a flare",
        TWO,
        [{"value": "10"}, {"value": "16"}],
        param="COUNT_OF_PARTICIPANTS",
        dispersion=None,
        unit="Participants",
        denoms=["40", "40"],
        analyses=analyses,
    )
    result = registry_values(
        study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}), [spec("flare", "RR")]
    )
    # The intervention comes first in the contrast's arm whatever groupIds' order.
    assert table(result, "flare") == {
        ("intervention", "Drug A", "n"): 40,
        ("comparator", "Placebo", "n"): 40,
        ("intervention", "Drug A", "events"): 10,
        ("comparator", "Placebo", "events"): 16,
        ("contrast", "Drug A vs Placebo", "estimate"): 0.62,
    }
    assert {w.split(":")[0] for w in result.warnings} == {
        f"{OM}[0].analyses[0].ciPctValue",
        f"{OM}[0].analyses[0].pValue",
    }


def test_several_categories_are_separate_timepoints() -> None:
    m = measure("Itch score", TWO, [{"value": "5", "spread": "1"}] * 2)
    m["classes"] = [
        {"title": "Week 4", "categories": m["classes"][0]["categories"]},
        {"title": "Week 12", "categories": copy.deepcopy(m["classes"][0]["categories"])},
    ]
    result = registry_values(
        study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}), [spec("itch")]
    )
    assert {v.timepoint for v in result.values} == {"12 weeks [Week 4]", "12 weeks [Week 12]"}
    assert len(result.values) == 8
    assert any("2 rows" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------
# Groups, adverse events and the participant flow


def test_group_roles() -> None:
    def roles(titles: list[str], descriptions: list[str] | None = None) -> list[str]:
        groups = [(f"OG00{i}", t) for i, t in enumerate(titles)]
        m = measure("Itch score", groups, [{"value": "1", "spread": "1"}] * len(groups))
        for g, d in zip(m["groups"], descriptions or [""] * len(groups), strict=True):
            g["description"] = d
        result = registry_values(
            study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}), [spec("itch")]
        )
        found = {v.arm: v.group for v in result.values}
        return [found[t] for t in titles]

    assert roles(["Drug A"]) == ["single"]
    assert roles(["Drug A", "Placebo"]) == ["intervention", "comparator"]
    assert roles(["Usual Care", "Drug A 10 mg", "Drug A 20 mg"]) == [
        "comparator",
        "intervention",
        "intervention",
    ]
    assert roles(["Standard of care", "Drug A + standard of care"]) == [
        "comparator",
        "comparator",
    ]
    # Titles say nothing: the descriptions are read.
    assert roles(["Arm 1", "Arm 2"], ["Drug A 50 mg", "Matching placebo tablets"]) == [
        "intervention",
        "comparator",
    ]
    # A title that says it overrides a description mentioning placebo.
    assert roles(["Drug A", "Placebo"], ["Drug A, placebo-matched tablets", "Placebo"]) == [
        "intervention",
        "comparator",
    ]


def test_withdrawals_summed_over_periods() -> None:
    def reasons(a: str, b: str) -> list[dict[str, str]]:
        return [{"groupId": "FG000", "numSubjects": a}, {"groupId": "FG001", "numSubjects": b}]

    flow = {
        "groups": [{"id": "FG000", "title": "Drug A"}, {"id": "FG001", "title": "Control"}],
        "periods": [
            {
                "title": "Double-blind",
                "milestones": [
                    {"type": "STARTED", "achievements": reasons("50", "49")},
                    {"type": "COMPLETED", "achievements": reasons("44", "46")},
                ],
                "dropWithdraws": [
                    {"type": "Adverse Event", "reasons": reasons("3", "1")},
                    {"type": "Lack of Efficacy", "reasons": reasons("1", "2")},
                ],
            },
            {
                "title": "Follow-up",
                "milestones": [{"type": "STARTED", "achievements": reasons("44", "46")}],
                "dropWithdraws": [{"type": "Adverse Event", "reasons": reasons("2", "0")}],
            },
        ],
    }
    result = registry_values(study({"participantFlowModule": flow}), [spec("dropout_ae", "RR")])
    assert table(result, "dropout_ae") == {
        ("intervention", "Drug A", "events"): 5,  # periods[0] 3 + periods[1] 2
        ("comparator", "Control", "events"): 1,  # 1 + 0
        ("intervention", "Drug A", "n"): 50,  # periods[0].milestones[0]
        ("comparator", "Control", "n"): 49,
    }
    events = by_field(result, "dropout_ae", "Drug A", "events")
    assert events.location == (
        f"{FLOW}[0].dropWithdraws[0].reasons[0].numSubjects + "
        f"{FLOW}[1].dropWithdraws[0].reasons[0].numSubjects"
    )
    assert events.timepoint == "Double-blind + Follow-up"


def test_no_adverse_event_withdrawals_listed() -> None:
    flow = {
        "groups": [{"id": "FG000", "title": "Drug A"}],
        "periods": [
            {
                "title": "Overall Study",
                "milestones": [
                    {"type": "STARTED", "achievements": [{"groupId": "FG000", "numSubjects": "9"}]}
                ],
                "dropWithdraws": [
                    {
                        "type": "Withdrawal by Subject",
                        "reasons": [{"groupId": "FG000", "numSubjects": "1"}],
                    }
                ],
            }
        ],
    }
    result = registry_values(study({"participantFlowModule": flow}), [spec("dropout_ae", "RR")])
    assert result.values == ()
    assert any("no withdrawal reason is an adverse event" in w for w in result.warnings)


def test_single_arm_serious_adverse_events() -> None:
    module = {
        "timeFrame": "52 weeks",
        "eventGroups": [
            {"id": "EG000", "title": "Drug A", "seriousNumAffected": 2, "seriousNumAtRisk": 27}
        ],
    }
    result = registry_values(study({"adverseEventsModule": module}), [spec("sae", "PLO")])
    assert table(result, "sae") == {
        ("single", "Drug A", "events"): 2,  # eventGroups[0].seriousNumAffected
        ("single", "Drug A", "n"): 27,  # eventGroups[0].seriousNumAtRisk
    }
    assert by_field(result, "sae", "Drug A", "n").location == f"{AE}[0].seriousNumAtRisk"


# ---------------------------------------------------------------------------------------------
# Malformed documents


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "$"),
        ("NCT0001", "$"),
        ({"studies": []}, "protocolSection"),
        ({"protocolSection": []}, "protocolSection"),
        ({"protocolSection": {}, "resultsSection": [1]}, "resultsSection"),
    ],
)
def test_not_a_study_raises_input_error(doc: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        registry_values(doc, [spec("x")])
    assert info.value.field == field


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: r["outcomeMeasuresModule"].update(outcomeMeasures={}), f"{OM}"),
        (lambda r: r["outcomeMeasuresModule"]["outcomeMeasures"].insert(0, "x"), f"{OM}[0]"),
        (
            lambda r: r["outcomeMeasuresModule"]["outcomeMeasures"][0].update(groups=7),
            f"{OM}[0].groups",
        ),
        (
            lambda r: r["outcomeMeasuresModule"]["outcomeMeasures"][0]["classes"][0]["categories"][
                0
            ]["measurements"][0].update(groupId="OG999"),
            f"{OM}[0].classes[0].categories[0].measurements[0]",
        ),
        (
            lambda r: r["outcomeMeasuresModule"]["outcomeMeasures"][0]["classes"][0]["categories"][
                0
            ]["measurements"][0].update(value=[1]),
            f"{OM}[0].classes[0].categories[0].measurements[0].value",
        ),
        (
            lambda r: r["outcomeMeasuresModule"]["outcomeMeasures"][0]["analyses"][0].update(
                groupIds="OG000"
            ),
            f"{OM}[0].analyses[0].groupIds",
        ),
        (lambda r: r.update(adverseEventsModule=[]), "resultsSection.adverseEventsModule"),
        (
            lambda r: r["adverseEventsModule"]["eventGroups"][0].update(seriousNumAtRisk="many"),
            f"{AE}[0].seriousNumAtRisk",
        ),
        (
            lambda r: r["participantFlowModule"]["periods"][0].update(dropWithdraws="none"),
            f"{FLOW}[0].dropWithdraws",
        ),
    ],
)
def test_malformed_parts_are_skipped_with_a_located_warning(mutate: Any, path: str) -> None:
    doc = json.loads(IMATINIB.read_text(encoding="utf-8"))
    mutate(doc["resultsSection"])
    result = registry_values(doc, [spec("mRSS"), spec("sae", "RR"), spec("dropout_ae", "RR")])
    assert any(w.startswith(f"{path}:") for w in result.warnings), result.warnings


def _mutations(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _mutations(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _mutations(v, (*path, i))
    return out


def test_no_traceback_whatever_part_has_the_wrong_type() -> None:
    """Replace each node of the results section in turn by values of every other JSON type."""
    base = json.loads(IMATINIB.read_text(encoding="utf-8"))
    outcomes = [spec("mRSS"), spec("HAQ"), spec("sae", "RR"), spec("dropout_ae", "RR")]
    paths = _mutations(base["resultsSection"])
    assert len(paths) > 200
    for path in paths[1:]:
        for replacement in (None, 1, "x", [], {}, [None], True):
            doc = copy.deepcopy(base)
            parent = doc["resultsSection"]
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = replacement
            result = registry_values(doc, outcomes)
            assert all(isinstance(v.value, float) for v in result.values)


# ---------------------------------------------------------------------------------------------
# The protocol's registry field


def test_protocol_registry_field() -> None:
    text = """
title: t
question: {population: p, intervention: i, comparator: c, outcomes: [o]}
eligibility: [{code: design, text: RCT}]
outcomes:
  - name: itch
    measure: MD
    better: lower
    registry: {kind: outcome_measure, terms: [itch, numeric rating]}
  - {name: sae, measure: RR, better: lower, registry: {kind: serious_adverse_events}}
  - {name: other, measure: RR, better: lower}
"""
    protocol = parse_protocol(text)
    itch, sae, other = protocol.outcomes
    assert itch.registry is not None and itch.registry.terms == ["itch", "numeric rating"]
    assert sae.registry is not None and sae.registry.kind == "serious_adverse_events"
    assert other.registry is None
    bad = text.replace("kind: serious_adverse_events", "kind: deaths")
    with pytest.raises(
        ProtocolValidationError, match=r"line 10, field 'outcomes\[1\]\.registry\.kind'"
    ):
        parse_protocol(bad)


# ---------------------------------------------------------------------------------------------
# Person-time and posted rates (tests/data/e2e_single/ctgov_rates.json)

RATES = DATA / "e2e_single" / "ctgov_rates.json"


def _rates_study(i: int) -> dict[str, Any]:
    return json.loads(RATES.read_text(encoding="utf-8"))["studies"][i]


def test_person_time_from_a_measure_in_catheter_days() -> None:
    """LOCK-1 posts the infections (NUMBER, "infections") and the catheter-days (NUMBER,
    "catheter-days") as two measures: 7 infections over 1344 catheter-days, n 155 (read by hand
    from the fixture); its third measure, a rate "per 1000 catheter-days", is neither."""
    outcome = spec("infections", "IRLN",
                   registry={"kind": "outcome_measure",
                             "terms": ["catheter-related bloodstream infection"]})  # fmt: skip
    got = registry_values(_rates_study(0), [outcome])
    assert table(got, "infections") == {
        ("single", "Drug C", "events"): 7.0,
        ("single", "Drug C", "n"): 155.0,
        ("single", "Drug C", "person_time"): 1344.0,
    }
    pt = by_field(got, "infections", "Drug C", "person_time")
    assert pt.location == f"{OM}[1].classes[0].categories[0].measurements[0].value"
    assert pt.quote.endswith("Drug C: NUMBER, catheter-days")
    assert pt.timepoint == by_field(got, "infections", "Drug C", "events").timepoint
    [rate] = [w for w in got.warnings if w.startswith(f"{OM}[2].unitOfMeasure")]
    assert "'infections per 1000 catheter-days' is a rate" in rate
    # the rate's 5.21 (2.09 to 10.73) is nowhere among the values
    assert {v.value for v in got.values} == {7.0, 155.0, 1344.0}


def test_person_time_as_the_units_analysed() -> None:
    """LOCK-2 posts its catheter-days as the units analysed of the infections measure
    (``denoms`` with ``units`` "catheter-days"): 8 infections over 1600 catheter-days, n 31."""
    outcome = spec("infections", "IR",
                   registry={"kind": "outcome_measure",
                             "terms": ["catheter-related bloodstream infection"]})  # fmt: skip
    got = registry_values(_rates_study(1), [outcome])
    assert table(got, "infections") == {
        ("single", "Drug C", "events"): 8.0,
        ("single", "Drug C", "n"): 31.0,
        ("single", "Drug C", "person_time"): 1600.0,
    }
    pt = by_field(got, "infections", "Drug C", "person_time")
    assert pt.location == f"{OM}[0].denoms[1].counts[0].value"
    assert pt.quote == (
        "Number of Catheter-Related Bloodstream Infections: Drug C: Overall Number of Units "
        "Analyzed (catheter-days)"
    )


@pytest.mark.parametrize(
    ("unit", "param", "field"),
    [
        ("participant-years", "NUMBER", "person_time"),
        ("Person-Years of follow-up", "NUMBER", "person_time"),
        ("patient years", "NUMBER", "person_time"),
        ("events per 100 participant-years", "NUMBER", None),
        ("Participants per 100 person-years", "COUNT_OF_PARTICIPANTS", None),
        ("events/100 PY", "NUMBER", None),
        ("exacerbations per participant per year", "NUMBER", None),
        ("events", "NUMBER", "events"),
        ("participant-years", "MEAN", "mean"),  # a mean follow-up is not the person-time
    ],
)
def test_units_of_person_time_and_of_rates(unit: str, param: str, field: str | None) -> None:
    """A posted rate is never read as a count (it used to give ``events``), nor turned into
    person-time; only a total in a person-time unit is person-time."""
    m = measure("Incidence of Infection", [("OG000", "Drug A")], [{"value": "12.5"}],
                param=param, dispersion=None, unit=unit)  # fmt: skip
    got = registry_values(study({"outcomeMeasuresModule": {"outcomeMeasures": [m]}}),
                          [spec("infection", "IR")])  # fmt: skip
    fields = {v.field for v in got.values}
    assert fields == (set() if field is None else {field})
    if field is None:
        assert any("is a rate, not a count or person-time" in w for w in got.warnings)


def test_no_person_time_in_the_adverse_events_module() -> None:
    """The adverse-event groups count participants (``seriousNumAffected``/``AtRisk``); the
    module's ``timeFrame`` is never turned into person-time."""
    got = registry_values(_rates_study(0), [spec("sae", "IR")])
    assert {v.field for v in got.values} == {"events", "n"}


def test_nothing_found_lists_the_posted_measures() -> None:
    """An outcome whose name and description match no title (a new user's first try on the
    LOCK-1 record) is told about registry terms and shown the measures posted."""
    outcome = spec("crbsi", "IRLN",
                   description="Catheter-related bloodstream infections per catheter-day")
    got = registry_values(_rates_study(0), [outcome])
    assert got.values == ()
    [warning] = [w for w in got.warnings if "nothing found" in w]
    assert "give it registry terms (registry: {kind: outcome_measure, terms: [...]})" in warning
    assert "'Number of Catheter-Related Bloodstream Infections'" in warning
    with_terms = spec("crbsi", "IRLN", registry={"kind": "outcome_measure", "terms": ["sepsis"]})
    [warning] = [w for w in registry_values(_rates_study(0), [with_terms]).warnings
                 if "nothing found" in w]  # fmt: skip
    assert "no measure contains every registry term ['sepsis']" in warning
