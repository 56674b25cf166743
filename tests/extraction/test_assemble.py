"""``assemble_outcome``: from extracted values to metafor's inputs, every derived one named.

Expected effect sizes come from R (metafor 3.8.1, ``escalc()``; the call is quoted beside each
number) or from hand calculations in the docstrings; the derivations are resolved with
``review.analyse.resolve_inputs`` and the effect sizes computed with our ``escalc``.
"""

from __future__ import annotations

import math

import pytest

from metareview.effects.escalc import escalc
from metareview.extraction.assemble import (
    CONVERSIONS_SOURCE,
    NotPoolable,
    assemble_outcome,
    check_values,
)
from metareview.extraction.study import OutcomeData
from metareview.extraction.values import ExtractedValue, ValueKey
from metareview.review.analyse import resolve_inputs


def val(
    group: str,
    field: str,
    value: float,
    *,
    arm: str = "",
    timepoint: str = "12 weeks",
    scenario: str = "main",
    status: str = "reported",
    why: str | None = None,
    sensitivity: tuple[float, ...] = (),
) -> ExtractedValue:
    return ExtractedValue(
        key=ValueKey(1, "o", group, arm, timepoint, scenario, field),
        value=value,
        status=status,
        why=why,
        sensitivity=sensitivity,
        source_record=3,
        location="Table 2",
    )


def row_of(
    group: str, arm: str = "", timepoint: str = "12 weeks", **fields: float
) -> list[ExtractedValue]:
    return [val(group, f, x, arm=arm, timepoint=timepoint) for f, x in fields.items()]


def numbers(row: OutcomeData) -> dict[str, float]:
    return {n: q.numeric() for n, (q, _) in resolve_inputs(row).items()}


def effect(row: OutcomeData, measure: str, names: tuple[str, ...]) -> tuple[float, float]:
    got = numbers(row)
    df = escalc(measure, **{n: [got[n]] for n in names})
    return float(df["yi"].iloc[0]), float(df["vi"].iloc[0])


BINARY = row_of("intervention", events=12, n=100) + row_of("comparator", events=20, n=98)


# -- two-group binary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "yi", "vi"),
    [
        # escalc("RR", ai=12, n1i=100, ci=20, n2i=98)
        ("RR", -0.531028331084, 0.113129251701),
        # escalc("OR", ai=12, n1i=100, ci=20, n2i=98)
        ("OR", -0.631453611555, 0.157517482517),
        # escalc("RD", ai=12, n1i=100, ci=20, n2i=98)
        ("RD", -0.084081632653, 0.002713472652),
    ],
)
def test_two_by_two_matches_metafor(measure: str, yi: float, vi: float) -> None:
    row = assemble_outcome(measure, BINARY)
    assert row.measure == "2x2"
    assert set(row.inputs) == {"ai", "n1i", "ci", "n2i"}
    assert all(q.status == "reported" for q in row.inputs.values())
    assert row.inputs["ai"].source.ref == "record:3"
    assert row.inputs["ai"].source.where == "Table 2"
    assert effect(row, measure, ("ai", "n1i", "ci", "n2i")) == pytest.approx((yi, vi), rel=1e-9)


def test_two_arms_of_one_group_are_summed() -> None:
    """5/50 + 7/50 in two drug arms = 12/100 (by hand), so the RR is the one above."""
    values = [
        *row_of("intervention", arm="10 mg", events=5, n=50),
        *row_of("intervention", arm="20 mg", events=7, n=50),
        *row_of("comparator", events=20, n=98),
    ]
    row = assemble_outcome("RR", values)
    assert row.inputs["ai"].status == "derived"
    assert row.inputs["ai"].derive is not None and row.inputs["ai"].derive.method == "sum"
    assert row.inputs["ai"].source.ref == CONVERSIONS_SOURCE.key
    got = numbers(row)
    assert (got["ai"], got["n1i"], got["ci"], got["n2i"]) == (12, 100, 20, 98)
    # escalc("RR", ai=12, n1i=100, ci=20, n2i=98)
    assert effect(row, "RR", ("ai", "n1i", "ci", "n2i")) == pytest.approx(
        (-0.531028331084, 0.113129251701), rel=1e-9
    )


def test_binary_without_a_comparator_says_so() -> None:
    with pytest.raises(NotPoolable, match=r"needs intervention and comparator.*has: intervention"):
        assemble_outcome("RR", row_of("intervention", events=12, n=100))


def test_binary_without_events_says_so() -> None:
    values = row_of("intervention", n=100) + row_of("comparator", events=20, n=98)
    with pytest.raises(NotPoolable, match="no events"):
        assemble_outcome("OR", values)


def test_n_randomised_stands_in_for_n() -> None:
    values = row_of("intervention", events=12, n_randomised=100) + row_of(
        "comparator", events=20, n=98
    )
    assert numbers(assemble_outcome("RR", values))["n1i"] == 100


# -- rates and proportions --------------------------------------------------------------------


def test_rates_match_metafor() -> None:
    values = row_of("intervention", events=9, person_time=1200) + row_of(
        "comparator", events=21, person_time=1100
    )
    row = assemble_outcome("IRR", values)
    assert row.measure == "RATES"
    # escalc("IRR", x1i=9, t1i=1200, x2i=21, t2i=1100)
    assert effect(row, "IRR", ("x1i", "t1i", "x2i", "t2i")) == pytest.approx(
        (-0.934309237377, 0.158730158730), rel=1e-9
    )


def test_rates_without_person_time_say_so() -> None:
    values = row_of("intervention", events=9) + row_of("comparator", events=21, person_time=1100)
    with pytest.raises(NotPoolable, match="no person-time"):
        assemble_outcome("IRR", values)


def test_proportion_from_single_group_matches_metafor() -> None:
    row = assemble_outcome("PLO", row_of("single", events=12, n=40))
    assert row.measure == "PR"
    # escalc("PLO", xi=12, ni=40)
    assert effect(row, "PLO", ("xi", "ni")) == pytest.approx(
        (-0.847297860387, 0.119047619048), rel=1e-9
    )


def test_proportion_takes_the_intervention_group_of_a_trial() -> None:
    """The docstring: the treated arm when there is no single group; the comparator ignored."""
    values = row_of("intervention", events=12, n=40) + row_of("comparator", events=30, n=40)
    got = numbers(assemble_outcome("PR", values))
    assert (got["xi"], got["ni"]) == (12, 40)


# -- two-group continuous ---------------------------------------------------------------------

MEANS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


@pytest.mark.parametrize(
    ("measure", "yi", "vi"),
    [
        # escalc("SMD", m1i=10.2, sd1i=3.1, n1i=40, m2i=12.5, sd2i=3.4, n2i=42)
        ("SMD", -0.699483017843, 0.051792917055),
        # escalc("ROM", m1i=10.2, sd1i=3.1, n1i=40, m2i=12.5, sd2i=3.4, n2i=42)
        ("ROM", -0.203340924018, 0.004070731806),
    ],
)
def test_means_match_metafor(measure: str, yi: float, vi: float) -> None:
    values = row_of("intervention", mean=10.2, sd=3.1, n=40) + row_of(
        "comparator", mean=12.5, sd=3.4, n=42
    )
    row = assemble_outcome(measure, values)
    assert row.measure == "MEANS"
    assert effect(row, measure, MEANS) == pytest.approx((yi, vi), rel=1e-9)


def test_sd_from_se_names_its_conversion() -> None:
    """Handbook 6.5.2.2: SD = SE sqrt(n) = 0.5 x sqrt(36) = 3 by hand."""
    values = row_of("intervention", mean=10.2, se=0.5, n=36) + row_of(
        "comparator", mean=12.5, sd=3.4, n=42
    )
    row = assemble_outcome("MD", values)
    sd = row.inputs["sd1i"]
    assert sd.status == "derived"
    assert sd.derive is not None
    assert sd.derive.method == "sd_from_se"
    assert sd.derive.inputs["ni"] == "n1i"  # the link follows the rename to metafor's name
    assert row.inputs[sd.derive.inputs["se"]].value == 0.5
    assert numbers(row)["sd1i"] == pytest.approx(3.0, rel=1e-12)


def test_sd_from_ci_uses_t_below_60() -> None:
    """Handbook 6.5.2.2, n = 25: R ``sqrt(25) * (11.9 - 8.1) / (2 * qt(0.975, 24))`` =
    4.602939396647; n = 80: ``sqrt(80) * 3.8 / (2 * qnorm(0.975))`` = 8.670626992662."""
    values = row_of("intervention", mean=10.0, ci_lower=8.1, ci_upper=11.9, n=25) + row_of(
        "comparator", mean=12.0, ci_lower=8.1, ci_upper=11.9, n=80
    )
    row = assemble_outcome("MD", values)
    got = numbers(row)
    assert row.inputs["sd1i"].derive is not None
    assert row.inputs["sd1i"].derive.method == "sd_from_ci"
    assert got["sd1i"] == pytest.approx(4.602939396647, rel=1e-9)
    assert got["sd2i"] == pytest.approx(8.670626992662, rel=1e-9)


def test_md_from_medians_and_iqr_matches_metafor() -> None:
    """Wan et al. 2014 SD = (q3 - q1) / eta(n) and Luo et al. 2018 mean, computed in R:
    eta <- function(n) 2 * qnorm((0.75 * n - 0.125) / (n + 0.25));
    luo <- function(q1, m, q3, n) (0.7 + 0.39/n) * (q1 + q3)/2 + (0.3 - 0.39/n) * m.
    Arm 1: median 14 (IQR 10-19), n 45 -> mean 14.354333333333, SD 6.892185826181;
    arm 2: median 17 (12-22), n 50 -> mean 17, SD 7.633045808232; then
    escalc("MD", m1i=14.354333333333, sd1i=6.892185826181, n1i=45, m2i=17,
    sd2i=7.633045808232, n2i=50): yi -2.645666666667, vi 2.220872776491."""
    values = row_of("intervention", median=14, q1=10, q3=19, n=45) + row_of(
        "comparator", median=17, q1=12, q3=22, n=50
    )
    row = assemble_outcome("MD", values)
    assert row.inputs["m1i"].derive is not None
    assert row.inputs["m1i"].derive.method == "mean_from_median_iqr"
    assert row.inputs["sd1i"].derive is not None
    assert row.inputs["sd1i"].derive.method == "sd_from_median_iqr"
    got = numbers(row)
    assert got["m1i"] == pytest.approx(14.354333333333, rel=1e-9)
    assert got["sd2i"] == pytest.approx(7.633045808232, rel=1e-9)
    assert effect(row, "MD", MEANS) == pytest.approx((-2.645666666667, 2.220872776491), rel=1e-9)


def test_mean_and_sd_from_median_and_range() -> None:
    values = row_of("intervention", median=12, min=2, max=30, n=10) + row_of(
        "comparator", mean=12.0, sd=3.0, n=10
    )
    row = assemble_outcome("MD", values)
    assert row.inputs["m1i"].derive is not None
    assert row.inputs["m1i"].derive.method == "mean_from_median_range"
    # Luo 2018 (range): w = 4/(4 + 10^0.75) = 0.415653, mean = 12 + 4 w = 13.662612 (by hand);
    # Wan 2014: SD = 28 / xi(10), xi(10) = 3.077505 (Wan et al., Table 1).
    got = numbers(row)
    assert got["m1i"] == pytest.approx(13.662612, abs=1e-6)
    assert got["sd1i"] == pytest.approx(28 / 3.077505, rel=1e-5)


def test_two_arms_combined_per_handbook_6_5_2_10() -> None:
    """Handbook 6.5.2.10 (Table 6.5.a), by hand in R: n 30, mean 10, SD 2 and n 25, mean 12,
    SD 3 -> N 55, mean 10.909090909091, SD 2.675490451908."""
    values = [
        *row_of("intervention", arm="low", mean=10, sd=2, n=30),
        *row_of("intervention", arm="high", mean=12, sd=3, n=25),
        *row_of("comparator", mean=9, sd=2.5, n=50),
    ]
    row = assemble_outcome("MD", values)
    for name, method in (("n1i", "combined_n"), ("m1i", "combined_mean"),
                         ("sd1i", "combined_sd")):  # fmt: skip
        q = row.inputs[name]
        assert q.derive is not None and q.derive.method == method
    got = numbers(row)
    assert got["n1i"] == 55
    assert got["m1i"] == pytest.approx(10.909090909091, rel=1e-12)
    assert got["sd1i"] == pytest.approx(2.675490451908, rel=1e-10)


def test_change_scores_for_md_match_metafor() -> None:
    """The e2e fixture's BSS change: -8.4 (6.1), n 52 vs -4.9 (6.4), n 56.
    escalc("MD", m1i=-8.4, sd1i=6.1, n1i=52, m2i=-4.9, sd2i=6.4, n2i=56): yi -3.5,
    vi 1.447005494505."""
    values = row_of("intervention", mean_change=-8.4, sd_change=6.1, n=52) + row_of(
        "comparator", mean_change=-4.9, sd_change=6.4, n=56
    )
    row = assemble_outcome("MD", values)
    assert row.measure == "MEANS"
    assert effect(row, "MD", MEANS) == pytest.approx((-3.5, 1.447005494505), rel=1e-9)


def test_change_scores_sd_from_se_of_the_change() -> None:
    """On a change row ``se`` is the SE of the change: SD = 0.8 x sqrt(49) = 5.6 (by hand)."""
    values = row_of("intervention", mean_change=-8.4, se=0.8, n=49) + row_of(
        "comparator", mean_change=-4.9, sd_change=6.4, n=56
    )
    assert numbers(assemble_outcome("MD", values))["sd1i"] == pytest.approx(5.6, rel=1e-12)


@pytest.mark.parametrize("measure", ["SMD", "ROM"])
def test_change_scores_refused_for_smd(measure: str) -> None:
    values = row_of("intervention", mean_change=-8.4, sd_change=6.1, n=52) + row_of(
        "comparator", mean_change=-4.9, sd_change=6.4, n=56
    )
    with pytest.raises(NotPoolable, match=r"10\.5\.2"):
        assemble_outcome(measure, values)


def test_change_without_its_sd_says_so() -> None:
    values = row_of("intervention", mean_change=-8.4, n=52) + row_of(
        "comparator", mean_change=-4.9, sd_change=6.4, n=56
    )
    with pytest.raises(NotPoolable, match="no SD of the change"):
        assemble_outcome("MD", values)


def test_means_without_sd_say_so() -> None:
    values = row_of("intervention", mean=10.2, n=40) + row_of("comparator", mean=12.5, sd=3.4, n=42)
    with pytest.raises(NotPoolable, match=r"no SD \(nor SE, 95% CI, IQR or range\)"):
        assemble_outcome("MD", values)


def test_means_without_n_say_so() -> None:
    values = row_of("intervention", mean=10.2, sd=3.1) + row_of(
        "comparator", mean=12.5, sd=3.4, n=42
    )
    with pytest.raises(NotPoolable, match=r"no number of participants"):
        assemble_outcome("MD", values)


def test_n_from_the_baseline_row() -> None:
    values = [
        *row_of("intervention", timepoint="baseline", n=40, mean=20.0, sd=3.0),
        *row_of("intervention", mean=10.2, sd=3.1),
        *row_of("comparator", mean=12.5, sd=3.4, n=42),
    ]
    got = numbers(assemble_outcome("MD", values))
    assert (got["n1i"], got["m1i"]) == (40, 10.2)  # the follow-up mean, baseline n


def test_latest_time_point_is_used_and_said() -> None:
    values = [
        *row_of("intervention", timepoint="4 weeks", mean=11.0, sd=3.0, n=40),
        *row_of("intervention", timepoint="3 months", mean=10.2, sd=3.1, n=40),
        *row_of("comparator", timepoint="4 weeks", mean=12.0, sd=3.3, n=42),
        *row_of("comparator", timepoint="3 months", mean=12.5, sd=3.4, n=42),
    ]
    said: list[str] = []
    row = assemble_outcome("SMD", values, note=said.append)
    assert row.timepoint == "3 months"
    assert said == ["time point 3 months used (also reported: 4 weeks)"]
    # escalc("SMD", m1i=10.2, sd1i=3.1, n1i=40, m2i=12.5, sd2i=3.4, n2i=42)
    assert effect(row, "SMD", MEANS) == pytest.approx((-0.699483017843, 0.051792917055), rel=1e-9)


def test_scenario_data_replace_the_main_data() -> None:
    main = row_of("intervention", events=12, n=100) + row_of("comparator", events=20, n=98)
    alt = [
        ExtractedValue(key=ValueKey(1, "o", v.key.group, "", "12 weeks", "itt", v.key.field),
                       value=v.value + (3 if v.key.field == "events" else 0), status="reported",
                       source_record=3, location="Table 3")
        for v in main
    ]  # fmt: skip
    got = numbers(assemble_outcome("RR", main + alt, scenario="itt"))
    assert (got["ai"], got["ci"]) == (15, 23)
    assert numbers(assemble_outcome("RR", main + alt))["ai"] == 12
    # a scenario with no values of its own falls back to the main data
    assert numbers(assemble_outcome("RR", main, scenario="itt"))["ai"] == 12


def test_assumed_value_keeps_why_and_sensitivity() -> None:
    values = [
        *row_of("single", timepoint="baseline", mean=25.3, sd=5.9, n=30),
        *row_of("single", mean=20.1, sd=6.2, n=30),
        val("single", "r", 0.5, status="assumed", why="not reported; Handbook 6.5.2.8",
            sensitivity=(0.3, 0.8)),
    ]  # fmt: skip
    row = assemble_outcome("MC", values)
    ri = row.inputs["ri"]
    assert ri.status == "assumed"
    assert ri.why == "not reported; Handbook 6.5.2.8"
    assert ri.sensitivity == [0.3, 0.8]


# -- single-group change (MC) -----------------------------------------------------------------


def test_mc_from_before_after_means_matches_metafor() -> None:
    """escalc("MC", m1i=20.1, m2i=25.3, sd1i=6.2, sd2i=5.9, ni=30, ri=0.5): yi -5.2,
    vi 1.222333333333 (m1i the follow-up, m2i the baseline mean)."""
    values = [
        *row_of("single", timepoint="baseline", mean=25.3, sd=5.9, n=30),
        *row_of("single", mean=20.1, sd=6.2, n=30, r=0.5),
    ]
    row = assemble_outcome("MC", values)
    assert row.measure == "MC"
    assert effect(row, "MC", ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")) == pytest.approx(
        (-5.2, 1.222333333333), rel=1e-9
    )


def test_mc_before_after_without_r_says_so() -> None:
    values = [
        *row_of("single", timepoint="baseline", mean=25.3, sd=5.9, n=30),
        *row_of("single", mean=20.1, sd=6.2, n=30),
    ]
    with pytest.raises(NotPoolable, match="pre-post correlation r"):
        assemble_outcome("MC", values)


def test_mc_from_change_with_sd() -> None:
    """SE = SD / sqrt(n) = 4.0 / sqrt(16) = 1.0 (by hand)."""
    row = assemble_outcome("MC", row_of("single", mean_change=-3.2, sd_change=4.0, n=16))
    assert row.measure == "GEN"
    got = numbers(row)
    assert (got["yi"], got["sei"]) == (-3.2, pytest.approx(1.0, rel=1e-12))


def test_mc_from_change_with_se() -> None:
    got = numbers(assemble_outcome("MC", row_of("single", mean_change=-3.2, se=0.9, n=16)))
    assert (got["yi"], got["sei"]) == (-3.2, 0.9)


def test_mc_from_change_with_pvalue() -> None:
    """Handbook 6.5.2.3 (paired t): R ``3.2 / qt(1 - 0.01/2, 19)`` = 1.118515604226."""
    row = assemble_outcome("MC", row_of("single", mean_change=-3.2, pvalue=0.01, n=20))
    assert row.inputs["sei"].derive is not None
    assert row.inputs["sei"].derive.method == "se_from_pvalue"
    assert numbers(row)["sei"] == pytest.approx(1.118515604226, rel=1e-9)


def test_mc_from_change_with_ci_uses_t_below_60() -> None:
    """Handbook 6.5.2.2-6.5.2.3: with n = 20 the 95% CI of a mean is +/- t(0.975, 19) SE, not
    1.96 SE. R: ``(-1.3 - -5.1) / (2 * qt(0.975, 19))`` = 0.907777431415 (1.96 would give
    0.969405568157). The same rule as for an arm's SD from its CI (``sd_from_ci``)."""
    row = assemble_outcome(
        "MC", row_of("single", mean_change=-3.2, ci_lower=-5.1, ci_upper=-1.3, n=20)
    )
    assert numbers(row)["sei"] == pytest.approx(0.907777431415, rel=1e-9)


def test_mc_change_without_dispersion_says_so() -> None:
    with pytest.raises(NotPoolable, match="no SD, SE, CI or p-value"):
        assemble_outcome("MC", row_of("single", mean_change=-3.2, n=20))


def test_mc_needs_one_arm() -> None:
    values = row_of("single", arm="a", mean_change=-3.2, sd_change=4.0, n=16) + row_of(
        "single", arm="b", mean_change=-2.0, sd_change=4.0, n=16
    )
    with pytest.raises(NotPoolable, match="needs one arm"):
        assemble_outcome("MC", values)


# -- a reported contrast ----------------------------------------------------------------------


def test_reported_odds_ratio_with_ci_is_logged() -> None:
    """Handbook 6.3.2: OR 0.62 (0.41 to 0.94). R: ``log(0.62)`` = -0.478035800943,
    ``(log(0.94) - log(0.41)) / (2 * qnorm(0.975))`` = 0.211667847499."""
    row = assemble_outcome("OR", row_of("contrast", estimate=0.62, ci_lower=0.41, ci_upper=0.94))
    assert row.measure == "GEN"
    assert row.inputs["yi"].derive is not None and row.inputs["yi"].derive.method == "log"
    assert row.inputs["sei"].derive is not None
    assert row.inputs["sei"].derive.method == "se_from_log_ci"
    got = numbers(row)
    assert got["yi"] == pytest.approx(-0.478035800943, rel=1e-9)
    assert got["sei"] == pytest.approx(0.211667847499, rel=1e-9)


def test_reported_ratio_with_pvalue() -> None:
    """HR 0.75, p = 0.03: R ``abs(log(0.75)) / qnorm(1 - 0.03/2)`` = 0.132566862387."""
    row = assemble_outcome("RR", row_of("contrast", estimate=0.75, pvalue=0.03))
    got = numbers(row)
    assert got["yi"] == pytest.approx(-0.287682072452, rel=1e-9)
    assert got["sei"] == pytest.approx(0.132566862387, rel=1e-9)


def test_reported_md_with_se_is_not_logged() -> None:
    """The e2e fixture's contrast: MD -3.5 with SE 1.20, taken as reported."""
    values = row_of("contrast", estimate=-3.5, estimate_se=1.2) + row_of(
        "intervention", mean_change=-8.4, n=52
    )
    got = numbers(assemble_outcome("MD", values))
    assert (got["yi"], got["sei"]) == (-3.5, 1.2)


def test_reported_md_with_ci() -> None:
    """SE = (-1.14 - -5.86) / 3.92 = 1.204082 (by hand)."""
    got = numbers(assemble_outcome("MD", row_of("contrast", estimate=-3.5, ci_lower=-5.86,
                                                ci_upper=-1.14)))  # fmt: skip
    assert got["sei"] == pytest.approx(4.72 / (2 * 1.959963984540054), rel=1e-12)


def test_group_data_win_over_a_contrast() -> None:
    values = BINARY + row_of("contrast", estimate=0.6, ci_lower=0.3, ci_upper=1.2)
    assert assemble_outcome("RR", values).measure == "2x2"


def test_contrast_without_se_reports_the_group_problem() -> None:
    values = row_of("intervention", events=12, n=100) + row_of("contrast", estimate=0.6)
    with pytest.raises(NotPoolable, match="needs intervention and comparator"):
        assemble_outcome("RR", values)


def test_no_numbers() -> None:
    text = ExtractedValue(key=ValueKey(1, "o", "intervention", "", "", "main", "dose"),
                          value=None, text="50 mg", status="reported")  # fmt: skip
    with pytest.raises(NotPoolable, match="no numbers extracted"):
        assemble_outcome("RR", [text])


def test_gen_says_what_the_reported_estimate_lacks() -> None:
    """For a measure pooled from reported estimates only (GEN), the message is the estimate's
    own problem, not that GEN needs an estimate (which the reviewer gave)."""
    with pytest.raises(NotPoolable, match="the reported estimate has no SE, CI or p-value"):
        assemble_outcome("GEN", row_of("contrast", estimate=-3.5))
    with pytest.raises(NotPoolable, match="no group data and no reported estimate"):
        assemble_outcome("GEN", row_of("contrast", estimate_se=0.2))


def test_groups_are_compared_at_a_time_point_they_share() -> None:
    """The intervention arm reports 4 and 12 weeks, the comparator 4 weeks only: the
    comparison is at 4 weeks (the latest time point both report), not the intervention's 12
    weeks against the comparator's 4 weeks. escalc("MD", m1i=11, sd1i=3, n1i=40, m2i=12,
    sd2i=3.3, n2i=42) gives yi = -1 (by hand: 11 - 12)."""
    values = [
        *row_of("intervention", timepoint="4 weeks", mean=11.0, sd=3.0, n=40),
        *row_of("intervention", timepoint="12 weeks", mean=10.2, sd=3.1, n=38),
        *row_of("comparator", timepoint="4 weeks", mean=12.0, sd=3.3, n=42),
    ]
    said: list[str] = []
    row = assemble_outcome("MD", values, note=said.append)
    got = numbers(row)
    assert (got["m1i"], got["n1i"], got["m2i"]) == (11.0, 40, 12.0)
    assert row.timepoint == "4 weeks"
    assert said == ["time point 4 weeks used (also reported: 12 weeks)"]


def test_hyphenated_time_points_are_ordered_by_time() -> None:
    """'12-week' is later than '4-week' whatever the order of the rows (84 vs 28 days)."""
    values = [
        *row_of("intervention", timepoint="12-week", events=12, n=100),
        *row_of("intervention", timepoint="4-week", events=3, n=100),
        *row_of("comparator", timepoint="12-week", events=20, n=98),
        *row_of("comparator", timepoint="4-week", events=5, n=98),
    ]
    row = assemble_outcome("RR", values)
    assert row.timepoint == "12-week"
    assert numbers(row)["ai"] == 12


def test_an_empty_time_point_is_not_stated() -> None:
    """A form row with an empty ``timepoint`` cell is a value whose time point was not stated
    (it used to end in a pydantic traceback from OutcomeData)."""
    row = assemble_outcome("PLO", row_of("single", timepoint="", events=12, n=40))
    assert row.timepoint == "not stated"
    # escalc("PLO", xi=12, ni=40)
    assert effect(row, "PLO", ("xi", "ni")) == pytest.approx(
        (-0.847297860387, 0.119047619048), rel=1e-9
    )


# -- single-group rates and means (issue 14) --------------------------------------------------


def test_single_group_rate_is_events_over_person_time() -> None:
    """IRLN by hand (metafor's escalc formula): yi = log(xi/ti), vi = 1/xi; two arms of the
    group are summed: 9 + 3 events over 1200 + 400 person-years."""
    row = assemble_outcome("IRLN", row_of("single", events=9, person_time=1200))
    assert row.measure == "RATE"
    assert effect(row, "IRLN", ("xi", "ti")) == pytest.approx((math.log(9 / 1200), 1 / 9))
    two = row_of("single", "a", events=9, person_time=1200) + row_of(
        "single", "b", events=3, person_time=400
    )
    row = assemble_outcome("IR", two)
    assert numbers(row)["xi"] == 12 and numbers(row)["ti"] == 1600
    assert row.inputs["xi"].derive is not None  # the sum is named, not typed
    # IR by hand: yi = xi/ti, vi = xi/ti^2
    assert effect(row, "IR", ("xi", "ti")) == pytest.approx((12 / 1600, 12 / 1600**2))


def test_single_group_rate_needs_person_time() -> None:
    with pytest.raises(NotPoolable, match="no person-time"):
        assemble_outcome("IRFT", row_of("single", events=9))


def test_single_group_mean_with_sd_from_se() -> None:
    """MN by hand: SD = SE sqrt(n) = 0.5 * 5 = 2.5, yi = 10, vi = SD^2/n = 0.25."""
    row = assemble_outcome("MN", row_of("single", mean=10, se=0.5, n=25))
    assert row.measure == "MEAN"
    assert row.inputs["sdi"].derive is not None
    assert row.inputs["sdi"].derive.method == "sd_from_se"
    assert effect(row, "MN", ("mi", "sdi", "ni")) == pytest.approx((10, 0.25))


def test_single_group_arms_combined_for_the_log_mean() -> None:
    """Cochrane Handbook 6.5.2.10 by hand: n 10, mean 5, SD 2 with n 20, mean 8, SD 3 is n 30,
    mean 7, SD^2 = (9*4 + 19*9 + 10*20/30*(5 - 8)^2)/29 = 267/29; MNLN: yi = log 7,
    vi = SD^2/(n mean^2)."""
    low = row_of("single", "low", mean=5, sd=2, n=10)
    values = low + row_of("single", "high", mean=8, sd=3, n=20)
    row = assemble_outcome("MNLN", values)
    assert row.measure == "MEAN"
    got = numbers(row)
    assert (got["ni"], got["mi"], got["sdi"] ** 2) == pytest.approx((30, 7, 267 / 29))
    assert effect(row, "MNLN", ("mi", "sdi", "ni")) == pytest.approx(
        (math.log(7), 267 / 29 / (30 * 49))
    )


def test_sdln_needs_no_mean() -> None:
    """SDLN by hand: yi = log SD + 1/(2(n - 1)), vi = 1/(2(n - 1)); SD 4, n 21."""
    row = assemble_outcome("SDLN", row_of("single", sd=4, n=21))
    assert row.measure == "SD"
    assert effect(row, "SDLN", ("sdi", "ni")) == pytest.approx((math.log(4) + 1 / 40, 1 / 40))


def test_single_group_mean_without_n_says_so() -> None:
    with pytest.raises(NotPoolable, match=r"no number of participants \(n\)"):
        assemble_outcome("CVLN", row_of("single", mean=10, sd=2))


def test_check_values_names_what_is_missing() -> None:
    def fields(measure: str, values: list[ExtractedValue]) -> list[tuple[str, str]]:
        return [(p.field, p.message) for p in check_values(measure, values, lambda v: True)]

    assert fields("IRLN", row_of("single", events=3)) == [
        ("person_time", "no person-time (IRLN is events over person-time)")
    ]
    assert [f for f, _ in fields("IR", row_of("single", person_time=300))] == ["events"]
    assert fields("IRLN", row_of("single", events=3, person_time=300)) == []
    assert [f for f, _ in fields("MN", row_of("single", mean=3, sd=1))] == ["n"]
    # n at baseline serves the follow-up row, as the assembly uses it
    base = row_of("single", timepoint="baseline", n=30) + row_of("single", mean=3, sd=1)
    assert fields("MN", base) == []
    assert [f for f, _ in fields("MNLN", row_of("single", mean=0, sd=1, n=5))] == ["mean"]
    assert [f for f, _ in fields("SDLN", row_of("single", sd=0, n=1))] == ["sd", "n"]
    assert fields("MN", row_of("single", mean=-3, sd=1, n=5)) == []  # a raw mean may be < 0
    assert fields("RR", row_of("intervention", events=3)) == []  # two-group: not checked here
    # only the values blamed are reported (the others are already stored)
    assert check_values("MN", row_of("single", mean=3, sd=1), lambda v: False) == []
