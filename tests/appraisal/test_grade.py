"""GRADE arithmetic and the suggestion rules of :mod:`metareview.appraisal.grade`, each branch
against a hand calculation written in the test (GRADE handbook; Guyatt et al. J Clin Epidemiol
2011, GRADE guidelines 4-8)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from metareview.appraisal.grade import (
    absolute_effects,
    certainty,
    comparator_risk,
    grade_outcome,
    optimal_information_size,
    optimal_information_size_md,
    parse_rating,
    single_group_rate,
    suggest_imprecision,
    suggest_inconsistency,
    suggest_indirectness,
    suggest_publication_bias,
    suggest_risk_of_bias,
)
from metareview.errors import InputError, MetareviewWarning
from metareview.models import rma
from metareview.review.result import OutcomeAnalysis, StudyEffect


def half_up(x: float) -> int:
    """Round half away from zero, by hand."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# -- certainty = start + ratings, floored at very low ----------------------------------------


@pytest.mark.parametrize(
    ("start", "ratings", "expected"),
    [
        ("high", [0, 0, 0, 0, 0], "high"),  # 4
        ("high", [-1, 0, 0, 0, 0], "moderate"),  # 4 - 1 = 3
        ("high", [-1, -1, 0, 0, 0], "low"),  # 4 - 2 = 2
        ("high", [-2, -1, 0, 0, 0], "very_low"),  # 4 - 3 = 1
        ("high", [-2, -2, -1, 0, 0], "very_low"),  # 4 - 5 = -1, floored at 1
        ("low", [0, 0, 0, 0, 0], "low"),  # 2
        ("low", [0, -1, 0, 0, 0], "very_low"),  # 2 - 1 = 1
        ("low", [-2, -2, -2, -2, -2], "very_low"),  # 2 - 10, floored
    ],
)
def test_certainty_arithmetic_and_floor(start: str, ratings: list[int], expected: str) -> None:
    assert certainty(start, ratings) == expected  # type: ignore[arg-type]


def test_ratings_are_0_minus1_minus2() -> None:
    assert parse_rating("0") == 0
    assert parse_rating("-1") == -1
    assert parse_rating("\u22122") == -2  # a typeset minus
    for bad in ("1", "-3", "x", "+1", ""):
        with pytest.raises(InputError, match="not 0, -1 or -2"):
            parse_rating(bad)
    with pytest.raises(InputError):
        certainty("high", [1])


# -- absolute effects -------------------------------------------------------------------------


def test_absolute_effects_risk_ratio_by_hand() -> None:
    # ACR 0.2, RR 0.5 (0.25 to 1.0): intervention 0.2 x 0.5 = 0.1 -> 100 per 1000;
    # difference 100 - 200 = -100; CI 0.2 x 0.25 - 0.2 = -0.15 -> -150, 0.2 x 1 - 0.2 = 0.
    assert absolute_effects("RR", 0.5, 0.25, 1.0, 0.2) == {
        "comparator_per_1000": 200, "intervention_per_1000": 100, "difference_per_1000": -100,
        "difference_ci_lower": -150, "difference_ci_upper": 0,
    }  # fmt: skip


def test_absolute_effects_odds_ratio_by_hand() -> None:
    # ACR 0.2, OR 0.5 (0.3 to 0.9), through odds: ACR·OR / (1 - ACR + ACR·OR)
    #   0.1 / 0.9 = 0.11111 -> 111; difference 111.11 - 200 = -88.89 -> -89
    #   0.06 / 0.86 = 0.069767 -> difference -130.23 -> -130
    #   0.18 / 0.98 = 0.183673 -> difference -16.33 -> -16
    assert absolute_effects("OR", 0.5, 0.3, 0.9, 0.2) == {
        "comparator_per_1000": 200, "intervention_per_1000": 111, "difference_per_1000": -89,
        "difference_ci_lower": -130, "difference_ci_upper": -16,
    }  # fmt: skip


def test_absolute_effects_risk_difference_and_rounding() -> None:
    # ACR 0.1, RD -0.05 (-0.08 to -0.02): 50 per 1000, 50 fewer (80 fewer to 20 fewer)
    assert absolute_effects("RD", -0.05, -0.08, -0.02, 0.1) == {
        "comparator_per_1000": 100, "intervention_per_1000": 50, "difference_per_1000": -50,
        "difference_ci_lower": -80, "difference_ci_upper": -20,
    }  # fmt: skip
    # 0.0125 x 1000 = 12.5 rounds half away from zero to 13; RR 1 gives no difference
    out = absolute_effects("RR", 1.0, 0.5, 2.0, 0.0125)
    assert out["comparator_per_1000"] == 13 and out["difference_per_1000"] == 0
    assert (out["difference_ci_lower"], out["difference_ci_upper"]) == (-6, 13)  # -6.25, 12.5
    with pytest.raises(InputError):
        absolute_effects("RR", 0.5, 0.4, 0.6, 1.5)
    # ACR 0.6, RR 1.5 (0.9 to 2.0): 900 per 1000; the upper limit 0.6 x 2 = 1.2 is capped at
    # 1000 per 1000, a difference of 400
    out = absolute_effects("RR", 1.5, 0.9, 2.0, 0.6)
    assert (out["intervention_per_1000"], out["difference_ci_upper"]) == (900, 400)
    assert out["difference_ci_lower"] == -60


def test_comparator_risk_is_pooled_comparator_arms() -> None:
    arms = [
        ({"group": "intervention", "events": 4, "n": 123}, {"group": "comparator", "events": 11,
                                                              "n": 139}),
        ({"group": "intervention", "events": 6, "n": 306}, {"group": "comparator", "events": 29,
                                                              "n": 303}),
    ]  # fmt: skip
    assert comparator_risk(arms) == pytest.approx((11 + 29) / (139 + 303), rel=1e-12)
    assert comparator_risk([({"group": "comparator", "events": None, "n": 10},)]) is None


def test_optimal_information_size_by_hand() -> None:
    # p_c 0.2, RRR 25%: p_i 0.15; (1.959964 + 0.841621)^2 = 7.848879;
    # n = 7.848879 x (0.2 x 0.8 + 0.15 x 0.85) / 0.05^2 = 7.848879 x 0.2875 / 0.0025 = 902.62
    # -> 903 per group, 1806 in all
    assert optimal_information_size(0.2) == 1806
    # MD: SD 10, MID 5: 2 x 7.848879 x 100 / 25 = 62.79 -> 63 per group, 126 in all
    assert optimal_information_size_md(10.0, 5.0) == 126


# -- risk of bias (GRADE 4) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "judgements", "expected"),
    [
        ([60, 40], ["high", "low"], -2),  # high 60% > 50%
        ([30, 30, 40], ["high", "some_concerns", "low"], -1),  # high + some 60% > 50%
        ([40, 60], ["high", "low"], 0),  # low 60%
        ([50, 50], ["high", "low"], 0),  # exactly half is not more than half
        ([60, 40], ["serious", "low"], -2),  # ROBINS-I serious counts as high
        ([20, 35, 45], ["critical", "moderate", "low"], -1),  # 55% serious-or-moderate
        ([0.6, 0.4], ["some_concerns", "some_concerns"], -1),  # weights on any scale
    ],
)
def test_risk_of_bias_rule(weights: list[float], judgements: list[str], expected: int) -> None:
    s = suggest_risk_of_bias(weights, judgements)
    assert s.rating == expected
    assert "rule:" in s.reason and "GRADE 4" in s.reason


def test_risk_of_bias_not_assessed() -> None:
    s = suggest_risk_of_bias([60, 40], [None, "high"])
    assert s.rating == 0 and s.reason.startswith("not assessed")
    assert "60% not assessed" in s.reason
    s = suggest_risk_of_bias([70, 30], ["no_information", "low"])  # ROBINS-I no information
    assert s.rating == 0 and s.reason.startswith("not assessed")


# -- inconsistency (GRADE 7) ------------------------------------------------------------------


def test_inconsistency_rule_branches() -> None:
    both = [-0.5, -0.2, 0.3]
    same = [-0.5, -0.2, -0.3]
    ci_excl = (-0.6, -0.1)  # excludes 0
    pi_incl = (-1.2, 0.4)  # includes 0
    pi_excl = (-0.9, -0.05)
    one = suggest_inconsistency(1, None, [0.1], 0.0, (-1, 1), (None, None))
    assert one.rating == 0 and "single study" in one.reason
    assert suggest_inconsistency(3, 80, both, 0.0, ci_excl, pi_incl).rating == -2
    assert suggest_inconsistency(3, 80, same, 0.0, ci_excl, pi_incl).rating == -1
    assert suggest_inconsistency(3, 55, same, 0.0, ci_excl, pi_excl).rating == -1
    # I² 30%: both directions and the PI crosses no effect while the CI does not -> -1
    assert suggest_inconsistency(3, 30, both, 0.0, ci_excl, pi_incl).rating == -1
    assert suggest_inconsistency(3, 30, both, 0.0, ci_excl, pi_excl).rating == 0
    assert suggest_inconsistency(3, 30, same, 0.0, ci_excl, pi_incl).rating == 0
    # CI includes no effect: the PI crossing it adds nothing
    assert suggest_inconsistency(3, 30, both, 0.0, (-0.5, 0.2), pi_incl).rating == 0
    # single-group measures have no direction: I² alone
    s = suggest_inconsistency(3, 60, [0.2, 0.3, 0.5], None, (0.2, 0.5), (0.1, 0.7))
    assert s.rating == -1 and "I² = 60%" in s.reason
    assert "1 of 3 study estimates above" in suggest_inconsistency(
        3, 80, both, 0.0, ci_excl, pi_incl
    ).reason


def test_indirectness_has_no_rule() -> None:
    s = suggest_indirectness()
    assert s.rating == 0 and s.reason.startswith("not assessed: reviewer judgement")


# -- imprecision (GRADE 6) --------------------------------------------------------------------


def test_imprecision_rule_branches() -> None:
    t = (0.75, 1.25)
    assert suggest_imprecision((0.6, 1.4), 1.0, t).rating == -2  # both thresholds
    assert suggest_imprecision((0.8, 1.3), 1.0, t).rating == -1  # no effect and harm
    assert suggest_imprecision((0.6, 1.1), 1.0, t).rating == -1  # no effect and benefit
    assert suggest_imprecision((0.85, 1.15), 1.0, t).rating == 0  # no important effect
    # CI excludes no effect, but fewer participants than the OIS -> -1; enough -> 0
    short = suggest_imprecision((0.5, 0.9), 1.0, t, participants=100, ois=1806)
    assert short.rating == -1 and "fewer than the OIS of 1806" in short.reason
    assert suggest_imprecision((0.5, 0.9), 1.0, t, participants=2000, ois=1806).rating == 0
    # MD without a MID in the protocol: only "includes no effect" can be judged
    s = suggest_imprecision((-1.0, 2.0), 0.0, None)
    assert s.rating == -1 and "outcomes[].mid" in s.reason
    assert suggest_imprecision((1.0, 3.0), 0.0, None).rating == 0
    # MD with MID 2: CI (-3, 1) includes 0 and -2 -> -1; (-3, 3) crosses both -> -2
    assert suggest_imprecision((-3.0, 1.0), 0.0, (-2.0, 2.0)).rating == -1
    assert suggest_imprecision((-3.0, 3.0), 0.0, (-2.0, 2.0)).rating == -2


# -- publication bias (GRADE 5) ---------------------------------------------------------------


def test_publication_bias_rule_branches() -> None:
    s = suggest_publication_bias(9, 0.01)
    assert s.rating == 0 and s.reason.startswith("not assessed: 9 studies")
    assert suggest_publication_bias(10, 0.05).rating == -1
    assert suggest_publication_bias(10, 0.10).rating == 0  # p < 0.10 is the rule
    s = suggest_publication_bias(13, 0.4218)
    assert s.rating == 0 and "p = 0.422" in s.reason


# -- one outcome from a fitted model ----------------------------------------------------------


def _analysis(measure: str, yi: list[float], vi: list[float], arms: list[tuple[dict, ...]],
              ni: list[float | None]) -> OutcomeAnalysis:  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetareviewWarning)  # k = 1 is said, and fine here
        fit = rma(np.array(yi), np.array(vi), method="REML", measure=measure)
    studies = tuple(
        StudyEffect(study=f"s{i}", label=f"Study {i}", measure=measure, timepoint="12 weeks",
                    yi=y, vi=v, ni=n, inputs=(), study_id=i + 1, arms=a)
        for i, (y, v, a, n) in enumerate(zip(yi, vi, arms, ni, strict=True))
    )
    return OutcomeAnalysis(
        outcome="bss", description="Symptom score", measure=measure, method="REML", test="z",
        level=95.0, better="lower", k=len(yi), estimate=float(fit.beta), ci_lower=float(fit.ci_lb),
        ci_upper=float(fit.ci_ub), pvalue=float(fit.pval), pi_lower=None, pi_upper=None,
        tau2=float(fit.tau2), I2=float(fit.I2), QE=None, QEp=None, fit=fit, transf=None,
        studies=studies, excluded=(), sensitivity=(), leave1out=None, published=None,
        published_check=None, comparison="",
    )  # fmt: skip


def test_mean_difference_outcome_in_its_units() -> None:
    from metareview.protocol import OutcomeSpec

    # two trials: MD -2.2 (var 1.0) and -1.0 (var 0.8); arms with SD 6 and 5.8, n 38/39, 40/40
    arms = [
        ({"group": "intervention", "n": 38, "sd": 5.8},
         {"group": "comparator", "n": 39, "sd": 6.0}),
        ({"group": "intervention", "n": 40, "sd": 6.0},
         {"group": "comparator", "n": 40, "sd": 6.0}),
    ]  # fmt: skip
    a = _analysis("MD", [-2.2, -1.0], [1.0, 0.8], arms, [77, 80])
    spec = OutcomeSpec(name="bss", measure="MD", better="lower", mid=3, units="points")
    g = grade_outcome(a, spec, designs={"s0": "randomised controlled trial",
                                        "s1": "randomised, double-blind"})  # fmt: skip
    assert (g.design, g.start, g.participants) == ("randomised", "high", 157)
    assert g.relative is None
    assert g.absolute == {"measure": "MD", "difference": pytest.approx(a.estimate),
                          "ci_lower": pytest.approx(a.ci_lower),
                          "ci_upper": pytest.approx(a.ci_upper), "units": "points"}  # fmt: skip
    # pooled SD by hand: sqrt((37·5.8² + 38·6² + 39·6² + 39·6²) / (37 + 38 + 39 + 39))
    sd = math.sqrt((37 * 5.8**2 + 38 * 36 + 39 * 36 + 39 * 36) / 153)
    ois = 2 * math.ceil(2 * (1.959963985 + 0.841621234) ** 2 * sd**2 / 3**2)
    # sd² = (37 x 33.64 + 116 x 36) / 153 = 35.429; 2 x 7.848879 x 35.429 / 9 = 61.80 -> 62
    assert ois == 124
    assert f"OIS of {ois}" in g.domains["imprecision"].reason
    # the CI against ±3 points excludes 0 and does not reach -3; 157 participants >= 124 -> 0
    assert -3 < a.ci_lower < a.ci_upper < 0
    assert g.domains["imprecision"].suggested == 0
    assert g.certainty == "high"
    spec = OutcomeSpec(name="bss", measure="MD", better="lower", mid=2, units="points")
    g = grade_outcome(a, spec, designs={"s0": "randomised controlled trial"})
    # MID 2: the CI reaches below -2, but excludes no effect: still 0 on the CI; the OIS grows
    # to 2 x ceil(2 x 7.848879 x 35.429 / 4 = 139.04) = 2 x 140 = 280 > 157 -> -1
    assert g.domains["imprecision"].suggested == -1
    assert "fewer than the OIS of 280" in g.domains["imprecision"].reason
    # one design not recorded: start low
    assert (g.design, g.start) == ("not recorded", "low")


def test_no_studies_no_certainty() -> None:
    a = _analysis("RR", [-0.3], [0.1], [()], [None])
    empty = OutcomeAnalysis(**{**a.__dict__, "k": 0, "estimate": None, "ci_lower": None,
                               "ci_upper": None, "fit": None, "studies": ()})  # fmt: skip
    g = grade_outcome(empty)
    assert g.certainty is None and g.absolute is None and g.studies == 0
    assert g.to_json()["certainty"] is None


def test_start_from_the_risk_of_bias_tool() -> None:
    from metareview.appraisal.stored import StudyRob

    arms = [({"group": "intervention", "n": 50}, {"group": "comparator", "n": 50})] * 2
    a = _analysis("MD", [-2.2, -1.0], [1.0, 0.8], arms, [100, 100])
    designs = {"s0": "cohort study", "s1": "cohort study"}
    # without assessments: non-randomised studies start low (GRADE handbook 5.1)
    g = grade_outcome(a, designs=designs)
    assert (g.design, g.start) == ("non-randomised", "low")

    def rob(sid: int, tool: str, overall: str) -> StudyRob:
        return StudyRob(sid, f"Study {sid}", "bss", tool, overall, ())

    # every study assessed with ROBINS-I: start high (Schünemann et al. 2019); weights from
    # rma (REML) of vi 1.0 and 0.8 with tau² = 0: 44.4% and 55.6%, so "serious" on the second
    # study carries more than half -> -2, "moderate" -> -1
    w = a.weights()
    assert a.tau2 == 0 and w == pytest.approx([100 / 2.25, 125 / 2.25], rel=1e-9)
    g = grade_outcome(a, designs=designs,
                      rob={1: rob(1, "robins-i", "low"), 2: rob(2, "robins-i", "serious")})
    assert (g.design, g.start) == ("non-randomised", "high")
    assert "Schünemann" in g.start_reason
    assert g.domains["risk_of_bias"].suggested == -2
    g = grade_outcome(a, designs=designs,
                      rob={1: rob(1, "robins-i", "low"), 2: rob(2, "robins-i", "moderate")})
    assert g.domains["risk_of_bias"].suggested == -1
    # RoB 2 for one, ROBINS-I for the other: mixed, start high
    g = grade_outcome(a, rob={1: rob(1, "rob2", "low"), 2: rob(2, "robins-i", "low")})
    assert (g.design, g.start) == ("mixed", "high")
    assert g.domains["risk_of_bias"].suggested == 0


def test_single_group_rate_base_keeps_two_digits() -> None:
    """By hand: 0.012 per person-year is 12 per 1,000 (1,000 is kept); 0.0026667 per day is 2.67
    per 1,000 -> 26.67 per 10,000 -> 27; 3e-8 stays at the largest base (1,000,000 -> 0)."""
    a = single_group_rate("IR", 0.012, 0.0104, 0.0149, "person-years")
    assert (a["per"], a["rate_per"], a["ci_lower_per"], a["ci_upper_per"]) == (1000, 12, 10, 15)
    assert a["person_time_unit"] == "person-years"
    b = single_group_rate("IRLN", 0.0026667, 0.0014078, 0.0050513)
    assert (b["per"], b["rate_per"], b["ci_lower_per"], b["ci_upper_per"]) == (10_000, 27, 14, 51)
    assert b["person_time_unit"] is None
    assert single_group_rate("IR", 3e-8, 1e-8, 9e-8)["per"] == 1_000_000
