"""Conversions checked against published tables and worked examples, and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metareview.effects.conversions import (
    change_sd,
    ci_distribution,
    combine_groups,
    corr_from_change_sd,
    luo_mean,
    mean_sd_from_five_numbers,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    sd_from_ci,
    sd_from_ci_diff,
    sd_from_pvalue,
    sd_from_se,
    sd_from_t,
    se_from_ci,
    wan_eta,
    wan_xi,
)
from metareview.errors import InputError

# Wan, Wang, Liu & Tong (2014) BMC Med Res Methodol 14:135, Table 1 (xi(n), three decimals)
WAN_TABLE_1 = {
    1: 0.0,
    2: 1.128,
    3: 1.693,
    4: 2.059,
    5: 2.326,
    10: 3.078,
    11: 3.173,
    20: 3.735,
    21: 3.778,
    25: 3.931,
    30: 4.086,
    31: 4.113,
    40: 4.322,
    41: 4.341,
    49: 4.482,
    50: 4.498,
}


def test_wan_xi_reproduces_table_1() -> None:
    n = np.array(list(WAN_TABLE_1))
    np.testing.assert_allclose(np.round(wan_xi(n), 3), list(WAN_TABLE_1.values()), atol=1e-12)


def test_wan_xi_uses_blom_above_50_and_eta_tends_to_iqr_over_1_35() -> None:
    """n > 50: xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25)); for n = 24.75 the argument is exactly
    0.975, so xi = 2 x 1.959964. eta(n) -> 2 Phi^-1(0.75) = 1.34898 (the Handbook's 1.35)."""
    assert float(wan_xi(51)) == pytest.approx(4.502, abs=5e-4)
    assert float(wan_eta(1e9)) == pytest.approx(1.34898, abs=1e-5)


def test_handbook_sd_from_p_value_example() -> None:
    """Cochrane Handbook 6.5.2.3: groups of 25 and 22, MD 3.8, p = 0.008. t on 45 df is 2.78,
    SE = 3.8/2.78 = 1.37 and SD = 1.37/sqrt(1/25 + 1/22) = 4.69 (the Handbook rounds the
    intermediate values; unrounded it is 4.683)."""
    sd = sd_from_pvalue(0.008, 3.8, 25, 22)
    assert sd == pytest.approx(4.69, abs=0.01)
    t = 3.8 / (sd * math.sqrt(1 / 25 + 1 / 22))
    assert t == pytest.approx(2.78, abs=0.005)
    assert sd_from_t(t, 3.8, 25, 22) == pytest.approx(sd, rel=1e-12)


def test_sd_from_ci_of_a_difference_uses_t_on_n1_plus_n2_minus_2() -> None:
    """Handbook 6.5.2.3 for groups of 25 and 22: the 95% t multiplier on 45 df is 2.014
    (Excel's tinv(0.05, 45)); SD = (upper - lower)/(2 x 2.014)/sqrt(1/25 + 1/22)."""
    sd = sd_from_ci_diff(1.2, 6.4, 25, 22)
    assert sd == pytest.approx(5.2 / (2 * 2.0141) / math.sqrt(1 / 25 + 1 / 22), rel=1e-4)
    z = sd_from_ci_diff(1.2, 6.4, 25, 22, dist="z")
    assert z == pytest.approx(5.2 / 3.92 / math.sqrt(1 / 25 + 1 / 22), rel=1e-3)


def test_sd_from_ci_of_a_mean() -> None:
    """Handbook 6.5.2.2: SD = sqrt(N) (upper - lower)/3.92 for a 95% CI from a large sample;
    for small samples 3.92 becomes 2 t(0.975, N - 1) (2 x 2.0639 for N = 25)."""
    assert sd_from_ci(26.1, 30.9, 100) == pytest.approx(10 * 4.8 / 3.92, rel=1e-3)
    assert sd_from_ci(26.1, 30.9, 25) == pytest.approx(5 * 4.8 / (2 * 2.0639), rel=1e-4)
    assert sd_from_ci(26.1, 30.9, 25, dist="z") == pytest.approx(5 * 4.8 / 3.92, rel=1e-3)
    assert sd_from_ci(0, 3.29, 100, level=90) == pytest.approx(10.0, rel=1e-3)
    assert ci_distribution(25) == "t" and ci_distribution(60) == "z"
    assert list(ci_distribution([10, 100], dist="t")) == ["t", "t"]
    assert se_from_ci(-1.959964, 1.959964) == pytest.approx(1.0, rel=1e-6)


def test_sd_from_se_and_one_sample_t() -> None:
    assert sd_from_se(2.0, 25) == 10.0
    np.testing.assert_allclose(sd_from_se([1, 2], [4, 9]), [2, 6])
    # paired t test: mean change 3, t = 2 with 16 pairs -> SE 1.5, SD of changes 6
    assert sd_from_t(2.0, 3.0, 16) == pytest.approx(6.0)
    assert sd_from_t(-2.0, 3.0, 16) == pytest.approx(6.0)


def test_change_sd_handbook_crossover_example() -> None:
    """Cochrane Handbook 5.1, 16.4.6.4: SDs 2.38 and 2.21, correlation 0.68, 10 participants:
    SE of the mean difference = SD_diff/sqrt(10) = 0.583."""
    sd = change_sd(2.38, 2.21, 0.68)
    assert sd / math.sqrt(10) == pytest.approx(0.583, abs=5e-4)
    assert corr_from_change_sd(2.38, 2.21, sd) == pytest.approx(0.68, rel=1e-12)


def test_change_sd_by_hand() -> None:
    """r = 0.5 and equal SDs s: sqrt(s^2 + s^2 - s^2) = s; r = 0: sqrt(3^2 + 4^2) = 5."""
    assert change_sd(4.0, 4.0, 0.5) == pytest.approx(4.0)
    assert change_sd(3.0, 4.0, 0.0) == pytest.approx(5.0)


def test_luo_mean_by_hand() -> None:
    """Luo et al. 2018 weights, by hand for n = 100 (100^0.75 = 31.6228, 100^0.55 = 12.5893)."""
    w = 4 / (4 + 31.6227766)
    assert luo_mean(100, 10, minimum=2, maximum=30) == pytest.approx(w * 16 + (1 - w) * 10)
    w = 0.7 + 0.39 / 100
    assert luo_mean(100, 10, q1=6, q3=16) == pytest.approx(w * 11 + (1 - w) * 10)
    w1, w2 = 2.2 / (2.2 + 31.6227766), 0.7 - 0.72 / 12.5892541
    expected = w1 * 16 + w2 * 11 + (1 - w1 - w2) * 10
    assert luo_mean(100, 10, minimum=2, maximum=30, q1=6, q3=16) == pytest.approx(expected)
    with pytest.raises(InputError):
        luo_mean(100, 10)


def test_mean_sd_from_quantiles() -> None:
    """Wan 2014 scenarios: SD = range/xi(n), IQR/eta(n), and their average for five numbers;
    Wan's means (a + 2m + b)/4, (q1 + m + q3)/3, (a + 2q1 + 2m + 2q3 + b)/8."""
    mean, sd = mean_sd_from_median_range(2, 10, 30, 25, mean_method="wan")
    assert mean == pytest.approx(13.0)
    assert sd == pytest.approx(28 / 3.931, rel=2e-4)  # Table 1: xi(25) = 3.931
    mean, sd = mean_sd_from_median_iqr(6, 10, 16, 100, mean_method="wan")
    assert mean == pytest.approx(32 / 3)
    # eta(100) = 2 Phi^-1((75 - 0.125)/100.25) = 2 Phi^-1(0.746883) = 2 x 0.664712
    assert sd == pytest.approx(10 / (2 * 0.664712), rel=1e-5)
    assert sd > 10 / 1.349  # the large-sample IQR/1.35 rule gives a smaller SD
    mean, sd = mean_sd_from_five_numbers(2, 6, 10, 16, 30, 25, mean_method="wan")
    assert mean == pytest.approx((2 + 12 + 20 + 32 + 30) / 8)
    assert sd == pytest.approx((28 / float(wan_xi(25)) + 10 / float(wan_eta(25))) / 2)
    luo, _ = mean_sd_from_median_range(2, 10, 30, 25)
    assert luo == pytest.approx(luo_mean(25, 10, minimum=2, maximum=30))


def test_vectorised_over_studies() -> None:
    mean, sd = mean_sd_from_median_iqr([6, 1], [10, 2], [16, 4], [100, 30])
    assert isinstance(mean, np.ndarray) and mean.shape == (2,)
    assert isinstance(sd, np.ndarray) and sd.shape == (2,)


def test_bad_input() -> None:
    with pytest.raises(InputError):
        sd_from_se(-1, 10)
    with pytest.raises(InputError) as info:
        sd_from_se([1, 1], [10, 0])
    assert info.value.row == 2
    with pytest.raises(InputError):
        sd_from_ci(5, 4, 10)
    with pytest.raises(InputError):
        sd_from_pvalue(0, 1.0, 10)
    with pytest.raises(InputError):
        mean_sd_from_median_iqr(6, 5, 16, 20)
    with pytest.raises(InputError):
        change_sd(1, 1, 1.2)
    with pytest.raises(InputError):
        sd_from_ci(1, 2, 10, dist="x")  # type: ignore[arg-type]


def test_combine_groups_by_hand_and_against_raw_data() -> None:
    """Handbook 6.5.2.10. By hand: (10, 5, 1) and (10, 7, 1) give N = 20, M = 6,
    SD = sqrt((9 + 9 + 100/20 x 4)/19) = sqrt(2). The formula is exact for pooled raw data."""
    n, mean, sd = combine_groups(10, 5.0, 1.0, 10, 7.0, 1.0)
    assert (n, mean) == (20.0, 6.0)
    assert sd == pytest.approx(math.sqrt(2), rel=1e-12)
    rng = np.random.default_rng(7)
    x, y = rng.normal(3, 2, 13), rng.normal(5, 1, 8)
    n, mean, sd = combine_groups(13, x.mean(), x.std(ddof=1), 8, y.mean(), y.std(ddof=1))
    both = np.concatenate([x, y])
    assert mean == pytest.approx(both.mean(), rel=1e-12)
    assert sd == pytest.approx(both.std(ddof=1), rel=1e-12)
