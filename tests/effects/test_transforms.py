"""Display back-transformations against metafor 3.8's transf.* (goldens_escalc.json,
"transforms", written by scripts/goldens/escalc.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from metareview.effects.transforms import (
    display_transform,
    transf_exp,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft,
    transf_ipft_hm,
    transf_ztor,
)
from metareview.errors import InputError

T = json.loads((Path(__file__).resolve().parents[1] / "data" / "goldens_escalc.json").read_text())[
    "transforms"
]


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _close(got: np.ndarray, expected: list[float | None]) -> None:
    exp = _arr(expected)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
    np.testing.assert_allclose(got, exp, rtol=1e-6, atol=1e-12)


def test_simple_transforms_match_metafor() -> None:
    x = _arr(T["x"])
    _close(transf_exp(x), T["exp"])
    _close(transf_ilogit(x), T["ilogit"])
    _close(transf_ztor(x), T["ztor"])
    _close(transf_iarcsin(_arr(T["iarcsin_x"])), T["iarcsin"])


def test_freeman_tukey_inverse_matches_metafor() -> None:
    """transf.ipft.hm (harmonic mean of dat.pritz1997's ni) and per-study transf.ipft."""
    _close(transf_ipft_hm(_arr(T["ipft_x"]), _arr(T["ipft_ni"])), T["ipft_hm"])
    _close(transf_ipft(_arr(T["ipft_study_x"]), _arr(T["ipft_ni"])), T["ipft_study"])


def test_ipft_inverts_the_forward_transform() -> None:
    """Miller (1978): the inverse recovers p = x/n from
    t = (asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1)))/2."""
    n, x = 40.0, 13.0
    t = 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))
    assert float(transf_ipft(t, n)) == pytest.approx(x / n, rel=1e-10)


@pytest.mark.parametrize(
    ("measure", "value", "expected"),
    [
        ("OR", math.log(2.0), 2.0),
        ("RR", 0.0, 1.0),
        ("PETO", math.log(0.5), 0.5),
        ("ROM", math.log(1.5), 1.5),
        ("IRR", math.log(3.0), 3.0),
        ("PLN", math.log(0.2), 0.2),
        ("PLO", 0.0, 0.5),
        ("PAS", math.asin(math.sqrt(0.3)), 0.3),
        ("ZCOR", math.atanh(0.4), 0.4),
    ],
)
def test_display_transform_by_measure(measure: str, value: float, expected: float) -> None:
    fn = display_transform(measure)
    assert fn is not None
    assert float(fn(value)) == pytest.approx(expected, rel=1e-12)


def test_display_transform_none_for_natural_scales_and_pft_needs_ni() -> None:
    for measure in ("MD", "SMD", "RD", "PR", "COR", "IRD", "MC", "SMCR", "GEN"):
        assert display_transform(measure) is None
    fn = display_transform("PFT")
    assert fn is not None
    with pytest.raises(InputError, match="ni"):
        fn(0.5)
    bound = display_transform("PFT", ni=[10, 20, 40])
    assert bound is not None
    assert float(bound(0.5)) == pytest.approx(float(transf_ipft_hm(0.5, [10, 20, 40])))
