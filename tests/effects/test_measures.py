"""The measure registry (``metareview.effects.measures.MEASURE_INFO``): one owner, consistent.

Expected scales and back-transformations are metafor 3.8's (``?escalc``, ``?transf``).
"""

from __future__ import annotations

import math

import pytest

from metareview.effects import MEASURES, escalc
from metareview.effects.measures import (
    MEASURE_INFO,
    MEASURE_NAMES,
    PROPORTION_MEASURES,
    RATIO_MEASURES,
    find_measure,
    is_proportion,
    is_ratio,
    measure_info,
)
from metareview.effects.transforms import (
    display_transform,
    transf_exp,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft_hm,
    transf_ztor,
)
from metareview.errors import InputError
from metareview.report.plots import default_transf, is_ratio_measure, measure_label


def test_escalc_measures_are_the_computable_ones_in_order() -> None:
    assert tuple(MEASURES) == MEASURE_NAMES
    assert [n for n, i in MEASURE_INFO.items() if i.computable] == list(MEASURE_NAMES)


def test_lookup_is_case_insensitive_and_errors_list_the_valid_ones() -> None:
    assert measure_info("plo").name == "PLO"
    assert find_measure("XYZ") is None and find_measure(3) is None
    with pytest.raises(InputError, match="unknown measure 'XYZ'; use one of RR, OR") as exc:
        measure_info("XYZ")
    assert exc.value.field == "measure"
    assert measure_info("HR").is_ratio
    with pytest.raises(InputError, match="escalc does not compute HR"):
        measure_info("HR", computable=True)


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        # metafor ?transf: exp for log measures, transf.ilogit, transf.iarcsin, transf.ztor,
        # transf.ipft.hm; None where the model scale is the display scale.
        ("RR", transf_exp), ("OR", transf_exp), ("PETO", transf_exp), ("IRR", transf_exp),
        ("ROM", transf_exp), ("HR", transf_exp), ("PLN", transf_exp), ("IRLN", transf_exp),
        ("PLO", transf_ilogit), ("PAS", transf_iarcsin), ("PFT", transf_ipft_hm),
        ("ZCOR", transf_ztor), ("PR", None), ("MD", None), ("SMD", None), ("RD", None),
        ("COR", None), ("MC", None), ("GEN", None), ("OR2DN", None),
    ],
)  # fmt: skip
def test_back_transform(measure: str, expected: object) -> None:
    assert measure_info(measure).back_transform is expected


def test_every_log_scale_measure_back_transforms_with_exp() -> None:
    for info in MEASURE_INFO.values():
        if info.scale == "log":
            assert info.back_transform is transf_exp, info.name
        if info.is_ratio:
            assert info.scale == "log" and info.null_value == 1.0, info.name


def test_the_three_callers_agree() -> None:
    """display_transform, the forest plot's default and the registry name one function."""
    for name, info in MEASURE_INFO.items():
        fn = display_transform(name, ni=[10, 20])
        if info.back_transform is None:
            assert fn is None
        else:
            assert fn is not None and fn.__name__ == info.back_transform.__name__
            assert float(fn(0.3)) == pytest.approx(float(info.back_transform(0.3, [10, 20])))
        plotted = default_transf(name)
        if info.is_ratio or info.needs_ni:  # ratio axis keeps the log scale; PFT needs ni
            assert plotted is None
        else:
            assert plotted is info.back_transform
        assert is_ratio_measure(name) == is_ratio(name) == (name in RATIO_MEASURES)
        assert measure_label(name) == info.axis_label


def test_proportions_are_the_single_proportions() -> None:
    assert set(PROPORTION_MEASURES) == {"PR", "PLN", "PLO", "PAS", "PFT"}
    assert all(is_proportion(m) and measure_info(m).groups == 1 for m in PROPORTION_MEASURES)
    assert not is_proportion("MC") and not is_proportion("nonsense")


def test_a_back_transformed_pooled_proportion() -> None:
    """PLO of 3/30: logit 0.1 = -2.1972; inverse logit returns 0.1 (hand calculation)."""
    es = escalc("PLO", xi=[3], ni=[30])
    back = measure_info("PLO").back_transform
    assert back is not None
    assert float(back(es["yi"].iloc[0])) == pytest.approx(0.1, rel=1e-12)
    assert math.isclose(float(es["yi"].iloc[0]), math.log(3 / 27), rel_tol=1e-12)
