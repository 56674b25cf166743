"""Each named conversion of ``extraction.derivations.DERIVATIONS`` against a value obtained
independently: a hand calculation written here, or R (``qt``/``qnorm``, metafor 3.8.1), the R
call quoted beside the number."""

from __future__ import annotations

import math

import pytest

from metareview.errors import InputError
from metareview.extraction.derivations import DERIVATIONS


def derive(method: str, **inputs: float) -> float:
    func, _ = DERIVATIONS[method]
    return float(func(**inputs))


def test_sd_from_se_is_se_times_root_n() -> None:
    """Handbook 6.5.2.2: SD = SE x sqrt(n); 1.5 x sqrt(36) = 9 by hand."""
    assert derive("sd_from_se", se=1.5, ni=36) == pytest.approx(9.0, rel=1e-12)


def test_se_from_sd_is_sd_over_root_n() -> None:
    """By hand: 6 / sqrt(25) = 1.2."""
    assert derive("se_from_sd", sd=6.0, ni=25) == pytest.approx(1.2, rel=1e-12)


def test_sd_from_ci_uses_t_below_60() -> None:
    """Handbook 6.5.2.2, n = 25 (t quantile on 24 df). R:
    ``sqrt(25) * (11.9 - 8.1) / (2 * qt(0.975, 24))`` = 4.602939396647."""
    assert derive("sd_from_ci", lower=8.1, upper=11.9, ni=25) == pytest.approx(
        4.602939396647, rel=1e-9
    )


def test_sd_from_ci_uses_normal_from_60() -> None:
    """Handbook 6.5.2.2, n = 80 (3.92 = 2 x 1.96). R:
    ``sqrt(80) * (11.9 - 8.1) / (2 * qnorm(0.975))`` = 8.670626992662."""
    assert derive("sd_from_ci", lower=8.1, upper=11.9, ni=80) == pytest.approx(
        8.670626992662, rel=1e-9
    )


def test_sd_from_ci_handbook_worked_example() -> None:
    """Cochrane Handbook 6.5.2.2 worked example: n = 25, 95% CI 3.01 to 7.99 ... gives the SD
    sqrt(25) x (7.99 - 3.01) / 4.128 = 6.03 (4.128 = 2 x t(0.975, 24) = 2 x 2.064)."""
    assert derive("sd_from_ci", lower=3.01, upper=7.99, ni=25) == pytest.approx(6.03, abs=0.005)


def test_se_from_ci_symmetric() -> None:
    """Handbook 6.5.2.2: SE = (upper - lower) / 3.92; R: ``(-1.3 + 5.1) / (2 * qnorm(0.975))``
    = 0.969405568157."""
    assert derive("se_from_ci", lower=-5.1, upper=-1.3) == pytest.approx(0.969405568157, rel=1e-9)


def test_se_from_log_ci_of_a_ratio() -> None:
    """Handbook 6.3.2: OR 0.62 (0.41 to 0.94). R: ``(log(0.94) - log(0.41)) /
    (2 * qnorm(0.975))`` = 0.211667847499."""
    assert derive("se_from_log_ci", lower=0.41, upper=0.94) == pytest.approx(
        0.211667847499, rel=1e-9
    )


def test_se_from_log_ci_refuses_non_positive_limits() -> None:
    with pytest.raises(InputError):
        derive("se_from_log_ci", lower=0.0, upper=0.94)


def test_se_from_pvalue_paired_t() -> None:
    """Handbook 6.5.2.3: mean change -3.2, p = 0.01, n = 20 pairs. R:
    ``3.2 / qt(1 - 0.01/2, 19)`` = 1.118515604226."""
    assert derive("se_from_pvalue", estimate=-3.2, pval=0.01, ni=20) == pytest.approx(
        1.118515604226, rel=1e-9
    )


def test_se_from_pvalue_z() -> None:
    """Handbook 6.3.2: HR 0.75 with p = 0.03. R: ``abs(log(0.75)) / qnorm(1 - 0.03/2)``
    = 0.132566862387."""
    assert derive("se_from_pvalue_z", estimate=math.log(0.75), pval=0.03) == pytest.approx(
        0.132566862387, rel=1e-9
    )


@pytest.mark.parametrize("method", ["se_from_pvalue", "se_from_pvalue_z"])
def test_zero_estimate_has_no_se(method: str) -> None:
    kwargs = {"estimate": 0.0, "pval": 0.5}
    if method == "se_from_pvalue":
        kwargs["ni"] = 10
    with pytest.raises(InputError):
        derive(method, **kwargs)


def test_wan_sd_and_luo_mean_from_median_iqr() -> None:
    """Wan et al. 2014 (scenario 3): SD = (q3 - q1) / eta(n), eta(n) = 2 qnorm((0.75 n - 0.125) /
    (n + 0.25)); Luo et al. 2018: mean = w (q1 + q3)/2 + (1 - w) m, w = 0.7 + 0.39/n. For
    q1 = 10, median 14, q3 = 19, n = 45, in R: eta(45) = 1.305826660363, SD = 9 / eta(45) =
    6.892185826181, w = 0.708667, mean = 0.708667 x 14.5 + 0.291333 x 14 = 14.354333333333."""
    args = {"median": 14.0, "lower": 10.0, "upper": 19.0, "ni": 45.0}
    assert derive("sd_from_median_iqr", **args) == pytest.approx(6.892185826181, rel=1e-9)
    assert derive("mean_from_median_iqr", **args) == pytest.approx(14.354333333333, rel=1e-9)


def test_wan_sd_and_luo_mean_from_median_range() -> None:
    """Wan et al. 2014 (scenario 1), n = 10: xi(10) = 3.077505 (Wan's Table 1, the expected
    range of 10 standard normals); SD = (30 - 2) / 3.0775 = 9.0982. Luo et al. 2018:
    w = 4 / (4 + 10^0.75) = 4 / 9.623413 = 0.415653, mean = w x 16 + (1 - w) x 12 = 13.662612."""
    args = {"median": 12.0, "lower": 2.0, "upper": 30.0, "ni": 10.0}
    assert derive("sd_from_median_range", **args) == pytest.approx(28 / 3.077505, rel=1e-5)
    assert derive("mean_from_median_range", **args) == pytest.approx(13.662612, abs=1e-6)


def test_combine_two_arms_handbook_table_6_5_a() -> None:
    """Cochrane Handbook 6.5.2.10 (Table 6.5.a) for n1 = 30, mean 10, SD 2 and n2 = 25, mean 12,
    SD 3, in R: N = 55, M = (300 + 300)/55 = 10.909090909091, SD = sqrt(((29 x 4 + 24 x 9) +
    30 x 25 / 55 x (10 - 12)^2) / 54) = 2.675490451908."""
    args = {"n1": 30.0, "mean1": 10.0, "sd1": 2.0, "n2": 25.0, "mean2": 12.0, "sd2": 3.0}
    assert derive("combined_n", **args) == 55
    assert derive("combined_mean", **args) == pytest.approx(10.909090909091, rel=1e-12)
    assert derive("combined_sd", **args) == pytest.approx(2.675490451908, rel=1e-10)


def test_change_sd_handbook_6_5_2_8() -> None:
    """Handbook 6.5.2.8: SD_change = sqrt(SD_pre^2 + SD_post^2 - 2 r SD_pre SD_post); with
    SD 4.4 and 5.1 and r = 0.5: sqrt(19.36 + 26.01 - 22.44) = sqrt(22.93) = 4.788528."""
    assert derive("change_sd", sd_pre=4.4, sd_post=5.1, r=0.5) == pytest.approx(
        math.sqrt(22.93), rel=1e-12
    )


def test_log_sum_difference() -> None:
    """By hand: ln(e^2) = 2; 7 + 5 = 12; 7 - 5 = 2."""
    assert derive("log", x=math.exp(2)) == pytest.approx(2.0, rel=1e-12)
    assert derive("sum", a=7, b=5) == 12
    assert derive("difference", a=7, b=5) == 2
    with pytest.raises(InputError):
        derive("log", x=-1.0)


def test_every_derivation_describes_itself() -> None:
    """Every method's text names its inputs (what the report shows beside the number)."""
    import inspect

    for method, (func, describe) in DERIVATIONS.items():
        params = list(inspect.signature(func).parameters)
        text = describe({p: f"<{p}>" for p in params})
        assert text, method
