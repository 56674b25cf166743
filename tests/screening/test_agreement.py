"""Cohen's kappa and percent agreement, checked against hand calculations and scikit-learn."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import cohen_kappa_score

from metareview.errors import InputError
from metareview.screening.agreement import agreement, cohen_kappa


def _labels(table: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    a: list[str] = []
    b: list[str] = []
    for (x, y), n in table.items():
        a += [x] * n
        b += [y] * n
    return a, b


def test_two_by_two_hand_calculation() -> None:
    # 50 records: both include 20, A include/B exclude 5, A exclude/B include 10, both exclude 15.
    # p_o = 35/50 = 0.7; A includes 25/50 = 0.5, B includes 30/50 = 0.6;
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4;
    # se = sqrt(0.7*0.3 / (50 * 0.5**2)) = sqrt(0.0168) = 0.129615 (Cohen 1960, eq. 9).
    a, b = _labels(
        {("include", "include"): 20, ("include", "exclude"): 5,
         ("exclude", "include"): 10, ("exclude", "exclude"): 15}
    )  # fmt: skip
    res = agreement(a, b)
    assert res.n == 50 and res.n_agree == 35
    assert res.percent == pytest.approx(70.0)
    assert res.p_e == pytest.approx(0.5)
    assert res.kappa == pytest.approx(0.4)
    assert res.se == pytest.approx(math.sqrt(0.0168))
    assert res.ci_lb == pytest.approx(0.4 - 1.959964 * math.sqrt(0.0168), abs=1e-6)
    assert res.kappa == pytest.approx(cohen_kappa_score(a, b))
    assert res.table[("include", "exclude")] == 5


def test_three_categories_hand_calculation() -> None:
    # 10 records with maybe as a third category:
    #            B: inc  exc  maybe
    #  A: inc        3    1    0      (4)
    #     exc        0    4    1      (5)
    #     maybe      0    0    1      (1)
    #               (3)  (5)  (2)
    # p_o = 8/10 = 0.8; p_e = (4*3 + 5*5 + 1*2)/100 = 0.39; kappa = 0.41/0.61 = 0.672131
    a, b = _labels(
        {("include", "include"): 3, ("include", "exclude"): 1, ("exclude", "exclude"): 4,
         ("exclude", "maybe"): 1, ("maybe", "maybe"): 1}
    )  # fmt: skip
    res = agreement(a, b)
    assert res.p_e == pytest.approx(0.39)
    assert res.kappa == pytest.approx(0.41 / 0.61)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_perfect_and_chance_level() -> None:
    assert agreement(["include", "exclude"], ["include", "exclude"]).kappa == pytest.approx(1.0)
    # every item the same single category: chance agreement is 1 and kappa undefined
    res = agreement(["exclude"] * 4, ["exclude"] * 4)
    assert res.percent == 100.0 and math.isnan(res.kappa)
    assert res.to_dict()["kappa"] is None


def test_bad_input() -> None:
    with pytest.raises(InputError, match="must match"):
        agreement(["include"], ["include", "exclude"])
    with pytest.raises(InputError, match="no items"):
        agreement([], [])
