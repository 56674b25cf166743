"""Property tests (hypothesis) of the models.

Properties: results do not depend on the order of studies; the equal-effects estimate is the
inverse-variance weighted mean written out below (Hedges & Olkin 1985, ch. 6); tau^2 >= 0 and its
Q-profile CI brackets the PM estimate; the batch path equals one-by-one fits; bad input raises
InputError (never another exception).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metareview.errors import InputError, MetareviewError
from metareview.models import RMAResult, rma, rma_batch

METHODS = ["EE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]

effects = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
variances = st.floats(min_value=1e-3, max_value=2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw: st.DrawFn, min_k: int = 2, max_k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_value=min_k, max_value=max_k))
    yi = np.array(draw(st.lists(effects, min_size=k, max_size=k)))
    vi = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return yi, vi


def _fit(yi: Any, vi: Any, **kw: Any) -> RMAResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma(yi, vi, **kw)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), seed=st.integers(0, 2**32 - 1))
def test_permutation_invariance(
    data: tuple[np.ndarray, np.ndarray], method: str, seed: int
) -> None:
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(yi.size)
    a = _fit(yi, vi, method=method, test="knha")
    b = _fit(yi[perm], vi[perm], method=method, test="knha")
    scale = max(1.0, float(np.max(np.abs(yi))))
    assert b.beta == pytest.approx(a.beta, rel=1e-8, abs=1e-10 * scale)
    assert b.se == pytest.approx(a.se, rel=1e-8, abs=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-10)
    assert pytest.approx(a.QE, rel=1e-8, abs=1e-10) == b.QE
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=1e-7, atol=1e-9)


@SETTINGS
@given(data=studies(min_k=1))
def test_ee_is_inverse_variance_weighting(data: tuple[np.ndarray, np.ndarray]) -> None:
    yi, vi = data
    res = _fit(yi, vi, method="EE")
    w = [1.0 / v for v in vi]
    sw = sum(w)
    mu = sum(wi * y for wi, y in zip(w, yi, strict=True)) / sw
    se = math.sqrt(1.0 / sw)
    q = sum(wi * (y - mu) ** 2 for wi, y in zip(w, yi, strict=True))
    assert res.beta == pytest.approx(mu, rel=1e-10, abs=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.ci_lb == pytest.approx(mu - 1.959963984540054 * se, rel=1e-9, abs=1e-12)
    if yi.size > 1:
        assert pytest.approx(q, rel=1e-8, abs=1e-10) == res.QE
    assert res.tau2 == 0.0


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS[1:]))
def test_tau2_nonnegative_and_ci_ordered(data: tuple[np.ndarray, np.ndarray], method: str) -> None:
    yi, vi = data
    res = _fit(yi, vi, method=method)
    assert res.tau2 >= 0.0
    assert res.se > 0 and res.ci_lb <= res.beta <= res.ci_ub
    assert 0.0 <= res.I2 < 100.0 and res.H2 >= 1.0
    assert res.tau2_ci_lb is not None and res.tau2_ci_ub is not None
    assert 0.0 <= res.tau2_ci_lb <= res.tau2_ci_ub
    assert res.pi_lb is not None and res.pi_lb <= res.ci_lb


@SETTINGS
@given(data=studies(min_k=2))
def test_pm_estimate_lies_in_its_q_profile_interval(data: tuple[np.ndarray, np.ndarray]) -> None:
    """PM solves Q(tau2) = k-1, which lies between the chi2 quantiles defining the CI bounds."""
    yi, vi = data
    res = _fit(yi, vi, method="PM")
    assert res.tau2_ci_lb is not None and res.tau2_ci_ub is not None
    tol = 1e-9 * max(1.0, res.tau2)
    assert res.tau2_ci_lb - tol <= res.tau2 <= res.tau2_ci_ub + tol


@SETTINGS
@given(
    groups=st.lists(studies(min_k=1, max_k=12), min_size=1, max_size=6),
    method=st.sampled_from(METHODS),
    test=st.sampled_from(["z", "t", "knha"]),
)
def test_batch_equals_one_by_one(
    groups: list[tuple[np.ndarray, np.ndarray]], method: str, test: str
) -> None:
    df = pd.concat(
        [pd.DataFrame({"g": i, "yi": y, "vi": v}) for i, (y, v) in enumerate(groups)],
        ignore_index=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = rma_batch(df, by="g", method=method, test=test)
    for i, (y, v) in enumerate(groups):
        ref = _fit(y, v, method=method, test=test)
        row = out.iloc[i]
        assert row["k"] == ref.k
        assert row["estimate"] == pytest.approx(ref.beta, rel=1e-9, abs=1e-12)
        assert row["se"] == pytest.approx(ref.se, rel=1e-9, abs=1e-12)
        assert row["tau2"] == pytest.approx(ref.tau2, rel=1e-9, abs=1e-12)


junk = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
)


@settings(max_examples=150, deadline=None)
@given(
    yi=st.lists(junk, max_size=6),
    vi=st.lists(junk, max_size=6),
    method=st.sampled_from(METHODS),
    test=st.sampled_from(["z", "t", "knha"]),
)
def test_bad_input_gives_input_error_or_a_valid_fit(
    yi: list[object], vi: list[object], method: str, test: str
) -> None:
    """Arbitrary junk either fits (when it happens to be valid) or raises InputError."""
    try:
        res = _fit(yi, vi, method=method, test=test)
    except InputError as err:
        assert str(err)
        return
    except MetareviewError as err:  # pragma: no cover - would be a bug
        pytest.fail(f"unexpected {type(err).__name__}: {err}")
    assert res.k >= 1 and np.isfinite(res.beta)
    assert np.all(res.vi > 0)
