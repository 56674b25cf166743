"""Tests of check_published and the ``check-published`` command.

Expected values are hand calculations written out in each test (z = qnorm(0.975) = 1.959964,
checked with R 4.2: ``qnorm``, ``pnorm``, ``qt``, ``pt``), or the figures printed in the
Liakouli et al. 2020 abstract (Expert Rev Clin Immunol 16(9):931).
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from metareview.cli import main
from metareview.errors import InputError
from metareview.models.published import PublishedCheck, check_published, parse_reported

Z975 = 1.959963984540054  # R: qnorm(0.975)


def codes(result: PublishedCheck) -> list[str]:
    return [f.code for f in result.findings]


def test_liakouli_mrss_is_consistent() -> None:
    # Liakouli 2020 abstract: MD = -3.091, 95% CI -6.081 to -0.102, p = 0.043.
    res = check_published(-3.091, -6.081, -0.102, pvalue=0.043)
    # Hand calculation: SE = (-0.102 + 6.081) / (2 * 1.959964) = 5.979 / 3.919928 = 1.525283;
    # z = -3.091 / 1.525283 = -2.026509; p = 2 * pnorm(-2.026509) = 0.042713 (R).
    assert res.se == pytest.approx(5.979 / (2 * Z975), rel=1e-12)
    assert res.se == pytest.approx(1.525283129, abs=1e-9)
    assert res.zval == pytest.approx(-2.026509007, abs=1e-8)
    assert res.pval_z == pytest.approx(0.04271265068, abs=1e-10)
    # Half-widths 2.990 and 2.989: symmetric within rounding to 3 decimals.
    assert res.half_width_lower == pytest.approx(2.990, abs=1e-12)
    assert res.half_width_upper == pytest.approx(2.989, abs=1e-12)
    assert res.symmetric
    assert res.pvalue_matches_z is True
    assert res.pvalue_matches_t is None
    assert res.consistent
    assert codes(res) == ["symmetric_ci", "implied_se", "pvalue_matches"]
    assert all(f.severity == "info" for f in res.findings)


def test_liakouli_mrss_with_k_rules_out_knapp_hartung() -> None:
    # With k = 5, a t(4) interval would imply SE = 5.979 / (2 * qt(0.975, 4)) = 5.979 /
    # 5.552890 = 1.076729 and p = 2 * pt(-3.091 / 1.076729, 4) = 0.04540 (R), which does not
    # round to 0.043: the published interval is a normal (Wald) one.
    res = check_published("-3.091", "-6.081", "-0.102", pvalue="0.043", k=5)
    assert res.crit_t == pytest.approx(2.776445105, abs=1e-9)
    assert res.se_t == pytest.approx(5.979 / (2 * 2.776445105), rel=1e-9)
    assert res.pval_t == pytest.approx(0.0454, abs=5e-5)
    assert res.pvalue_matches_z is True
    assert res.pvalue_matches_t is False
    assert res.consistent
    message = next(f.message for f in res.findings if f.code == "pvalue_matches")
    assert "no Knapp–Hartung" in message


def test_liakouli_haq_as_printed_is_a_sign_typo() -> None:
    # Abstract: "-0.096; 95 CI -0.197 to -0.006". Midpoint (-0.197 - 0.006) / 2 = -0.1015, not
    # -0.096: half-widths 0.101 below and 0.090 above.
    res = check_published(-0.096, -0.197, -0.006)
    assert res.midpoint == pytest.approx(-0.1015, abs=1e-12)
    assert res.half_width_lower == pytest.approx(0.101, abs=1e-12)
    assert res.half_width_upper == pytest.approx(0.090, abs=1e-12)
    assert not res.symmetric
    assert not res.consistent
    # As printed: SE = 0.191 / 3.919928 = 0.048725, p = 2 * pnorm(-0.096 / 0.048725) = 0.04881.
    assert res.se == pytest.approx(0.04872538514, abs=1e-10)
    assert res.pval_z == pytest.approx(0.04881252358, abs=1e-9)
    assert codes(res)[:2] == ["asymmetric_ci", "likely_sign_typo"]
    # Flipping the upper bound's sign: -0.197 to +0.006 has half-widths 0.101 and 0.102
    # (symmetric within rounding), SE = 0.203 / 3.919928 = 0.051787, p = 0.06377 (R).
    assert res.corrected["ci_ub"] == 0.006
    assert res.corrected["se"] == pytest.approx(0.05178666588, abs=1e-10)
    assert res.corrected["pval_z"] == pytest.approx(0.06377364094, abs=1e-9)
    typo = next(f for f in res.findings if f.code == "likely_sign_typo")
    assert typo.severity == "warning"
    assert "upper bound" in typo.message and "0.006" in typo.message
    # The correction changes the conclusion: the printed CI excludes 0, the corrected one not.
    assert "excludes 0" in typo.message and "includes 0" in typo.message


def test_liakouli_haq_corrected_is_consistent() -> None:
    res = check_published("−0.096", "−0.197", "0.006")  # Unicode minus as pasted from a PDF
    assert res.symmetric and res.consistent
    assert res.pval_z == pytest.approx(0.06377364094, abs=1e-9)


def test_knapp_hartung_detected_from_p_value() -> None:
    # Constructed: estimate 1, SE 0.4, k = 5. A t(4) interval is 1 -/+ 2.776445 * 0.4 =
    # -0.1106 to 2.1106 and p = 2 * pt(-2.5, 4) = 0.06677 (R). The normal test would give
    # SE = 2.2212 / 3.919928 = 0.566645 and p = 2 * pnorm(-1/0.566645) = 0.0776.
    res = check_published("1.0000", "-0.1106", "2.1106", pvalue="0.0668", k=5)
    assert res.pvalue_matches_z is False
    assert res.pvalue_matches_t is True
    assert res.se_t == pytest.approx(0.4, abs=1e-4)
    assert res.pval_t == pytest.approx(0.06676654481, abs=2e-5)
    assert res.pval_z == pytest.approx(0.0776, abs=1e-4)
    assert "pvalue_matches_t" in codes(res)
    assert res.consistent  # a Knapp-Hartung result is consistent, and says so


def test_p_value_mismatch_without_k() -> None:
    res = check_published("1.0000", "-0.1106", "2.1106", pvalue="0.0668")
    assert res.pvalue_matches_z is False
    assert "pvalue_mismatch" in codes(res)
    assert not res.consistent


def test_ratio_on_log_scale() -> None:
    # OR 1.27 (0.90 to 1.80): log-scale SE = (log 1.8 - log 0.9) / 3.919928 = 0.176827,
    # z = log(1.27) / 0.176827 = 1.351703, p = 0.17647 (R).
    res = check_published(1.27, 0.90, 1.80, scale="log")
    assert res.se == pytest.approx(0.1768265096, abs=1e-9)
    assert res.zval == pytest.approx(1.3517028699, abs=1e-8)
    assert res.pval_z == pytest.approx(0.1764703866, abs=1e-9)
    assert res.symmetric and res.consistent


def test_ratio_given_on_identity_scale_points_to_log() -> None:
    res = check_published(1.27, 0.90, 1.80)
    assert not res.symmetric
    assert "symmetric_on_log_scale" in codes(res)
    assert "likely_sign_typo" not in codes(res)


def test_bounds_not_bracketing_the_estimate() -> None:
    res = check_published(0.5, 0.6, 0.9)
    assert codes(res)[0] == "not_bracketing"
    assert res.findings[0].severity == "error"
    assert not res.consistent


def test_sign_typo_in_lower_bound() -> None:
    # Constructed: estimate 2.0 with CI 1.0 to 3.0, printed with the lower bound as -1.0
    # (midpoint 1.0 != 2.0). Only flipping that bound restores symmetry (half-widths 1 and 1).
    res = check_published("2.0", "-1.0", "3.0")
    assert not res.symmetric
    assert res.corrected["ci_lb"] == 1.0
    assert "likely_sign_typo" in codes(res)


def test_swapped_bounds() -> None:
    res = check_published(0.5, 0.9, 0.1)
    assert codes(res) == ["bounds_order"]
    assert not res.consistent


def test_significance_conflict() -> None:
    # 95% CI 0.2 to 1.0 excludes 0, but p = 0.20 is not below 0.05.
    res = check_published("0.6", "0.2", "1.0", pvalue="0.20")
    assert "significance_conflict" in codes(res)
    assert "pvalue_mismatch" in codes(res)


def test_p_value_bound() -> None:
    # -4.0 (-6.0 to -2.0): SE = 4 / 3.919928 = 1.020427, z = -3.919928, p = 8.9e-5 < 0.001.
    res = check_published("-4.0", "-6.0", "-2.0", pvalue="<0.001")
    assert res.pvalue_relation == "<"
    assert res.pval_z == pytest.approx(2 * 0.5 * math.erfc(3.919928 / math.sqrt(2)), rel=1e-5)
    assert res.pvalue_matches_z is True
    assert res.consistent


def test_level_90() -> None:
    # 90% interval: crit = qnorm(0.95) = 1.644854; SE = 2 / (2 * 1.644854) = 0.607957.
    res = check_published("1.00", "0.00", "2.00", level=90)
    assert res.crit == pytest.approx(1.644853627, abs=1e-9)
    assert res.se == pytest.approx(0.6079568319, abs=1e-9)


def test_parse_reported_keeps_printed_decimals() -> None:
    assert parse_reported("0.040", "p", pvalue=True).decimals == 3
    assert parse_reported(0.04, "p", pvalue=True).decimals == 2
    assert parse_reported("≤0.05", "p", pvalue=True).relation == "<"
    assert parse_reported("−1.5", "x").value == -1.5


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("abc", 0, 1), {}, "estimate"),
        ((1, 0, 2), {"scale": "log"}, "ci_lb"),
        ((1, 0, 2), {"scale": "logit"}, "scale"),
        ((1, 0, 2), {"level": 100}, "level"),
        ((1, 0, 2), {"k": 1}, "k"),
        ((1, 0, 2), {"pvalue": 1.5}, "pvalue"),
        ((float("nan"), 0, 2), {}, "estimate"),
        (("<1", 0, 2), {}, "estimate"),
    ],
)
def test_bad_input_names_the_field(args: tuple, kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as info:
        check_published(*args, **kwargs)
    assert info.value.field == field


def test_to_dict_is_json_safe() -> None:
    res = check_published(-0.096, -0.197, -0.006, pvalue=None, k=4)
    data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert data["consistent"] is False
    assert data["corrected"]["ci_ub"] == 0.006
    assert {f["code"] for f in data["findings"]} >= {"asymmetric_ci", "likely_sign_typo"}


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "check-published", "--estimate", "-3.091", "--ci-lower", "-6.081",
        "--ci-upper", "-0.102", "--pvalue", "0.043", "--json",
    ])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["consistent"] is True
    assert data["se"] == pytest.approx(1.525283129, abs=1e-9)
    assert data["pval_z"] == pytest.approx(0.04271265068, abs=1e-10)


def test_cli_human_output_reports_the_typo(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "check-published", "--estimate", "-0.096", "--ci-lower", "-0.197",
        "--ci-upper", "-0.006",
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "NOT consistent" in out
    assert "likely_sign_typo" in out


def test_cli_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "check-published", "--estimate", "1.2", "--ci-lower", "0", "--ci-upper", "2",
        "--scale", "log",
    ])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("metareview: error:") and "positive" in err[0]


@settings(max_examples=300, deadline=None)
@given(
    est=st.floats(-20, 20, allow_nan=False),
    se=st.floats(0.01, 10, allow_nan=False),
    k=st.integers(2, 40),
    knha=st.booleans(),
)
def test_any_rounded_wald_result_is_consistent(est: float, se: float, k: int, knha: bool) -> None:
    # Property: a Wald (z) or Knapp-Hartung (t, k-1 df) result, printed to 4 decimals, is
    # always judged consistent, and the p-value is matched by the right distribution.
    crit = float(stats.t.ppf(0.975, k - 1)) if knha else Z975
    stat = abs(est) / se
    p = 2 * (stats.t.sf(stat, k - 1) if knha else stats.norm.sf(stat))
    printed = [f"{x:.4f}" for x in (est, est - crit * se, est + crit * se)]
    pvalue = "<0.0001" if p < 1e-4 else f"{p:.4f}"
    res = check_published(*printed, pvalue=pvalue, k=k)
    assert res.symmetric
    assert res.consistent, res.summary()
    assert (res.pvalue_matches_t if knha else res.pvalue_matches_z) is True
