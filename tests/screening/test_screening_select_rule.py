"""benchmarks/screening_select_rule.py: the cold-start grid's shipping rule, by hand."""

from __future__ import annotations

from types import ModuleType

import pytest
from benchmark_modules import load_benchmark


@pytest.fixture(scope="module")
def rule() -> ModuleType:
    return load_benchmark("screening_select_rule")


def test_shipping_rule_by_hand(rule: ModuleType) -> None:
    # the rule of benchmarks/results/screening_select_coldstart2.md on made-up figures:
    # "w" is chosen in 7 of 9 folds, "r" in 2; held-out means above u4 at both levels
    folds = {f"r{i}": ("w" if i < 7 else "r") for i in range(9)}
    held_out = {"label1": (0.31, 0.30), "label2": (0.41, 0.46)}
    u4 = {"label1": (0.28, 0.30), "label2": (0.38, 0.45)}
    behind = {"d": {("A", "label1", "found5"), ("N", "label2", "found5")},
              "w": {("A", "label1", "found5")},  # one cell fewer, none new: passes (3)
              "r": {("X", "label1", "found2.5")}}  # one cell, but a new one: fails (3)
    got = rule.shipping_rule(folds, "d", ["d", "w", "r"], held_out, u4, behind)
    assert set(got) == {"w", "r"}
    assert got["w"] == {"folds": 7, "c1": True, "c2": True, "c3": True, "new_behind": [],
                        "ships": True}
    assert got["r"]["folds"] == 2 and not got["r"]["c1"] and not got["r"]["c3"]
    assert got["r"]["new_behind"] == [("X", "label1", "found2.5")]
    assert not got["r"]["ships"]
    # 6 of 9 folds fails (1); recall@10% just below u4's at one level fails (2) for all
    folds6 = {**folds, "r6": "r"}
    assert not rule.shipping_rule(folds6, "d", ["w"], held_out, u4, behind)["w"]["c1"]
    low = {**held_out, "label2": (0.41, 0.449)}
    assert rule.shipping_rule(folds, "d", ["w"], low, u4, behind)["w"] == {
        "folds": 7, "c1": True, "c2": False, "c3": True, "new_behind": [], "ships": False}
    # as many cells behind as the default fails (3) even with no new cell
    same = {**behind, "w": set(behind["d"])}
    assert not rule.shipping_rule(folds, "d", ["w"], held_out, u4, same)["w"]["c3"]
