"""The models' distribution functions (``models/_dist.py``) against SciPy and R.

The closed forms are compared with SciPy's ``scipy.special`` (``chdtrc``, ``chdtri``,
``gammaincinv``, ``ndtr``, ``ndtri``) over a grid; a few values also with R 4's ``pchisq`` /
``qchisq`` printed to 17 digits (``sprintf("%.17g", ...)``), where SciPy's own result is off.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from metareview.models import _dist

DF = np.arange(1.0, _dist.DF_MAX + 1.0)


@pytest.mark.parametrize("p", [0.5, 0.45, 0.2, 0.05, 0.025, 0.005, 1e-6, 1e-10])
def test_quantiles_match_scipy(p: float) -> None:
    # SciPy's chdtri(1, 0.2) is itself 1.6e-14 away from R's qchisq (see below): rtol 3e-14
    np.testing.assert_allclose(_dist.chi2_isf(DF, p), special.chdtri(DF, p), rtol=3e-14)
    np.testing.assert_allclose(
        _dist.chi2_ppf(DF, p), 2.0 * special.gammaincinv(DF / 2.0, p), rtol=1e-14
    )


def test_upper_tail_matches_scipy() -> None:
    x = np.concatenate([np.linspace(0.0, _dist.X_MAX, 1401), np.geomspace(1e-8, 10.0, 100)])
    d, xx = np.meshgrid(DF, x)
    got, want = _dist.chi2_sf(d, xx), special.chdtrc(d, xx)
    # median relative difference 1.4e-14, largest 1.7e-13: SciPy's error, not ours, where
    # checked against mpmath (test_values_against_r_and_mpmath)
    np.testing.assert_allclose(got, want, rtol=2e-13, atol=0.0)


def test_values_against_r_and_mpmath() -> None:
    # mpmath 1.3.0 at 40 digits: gammainc(df/2, x/2, inf, regularized=True); SciPy's chdtrc
    # gives 1.0683391842497896e-169, 1.3679028618347414e-98, 4.1952027138918436e-61
    for df, x, want in ((160.0, 1258.0, 1.068339184249619075e-169),
                        (180.0, 914.0, 1.3679028618345180491e-98),
                        (180.0, 692.0, 4.1952027138911556045e-61),
                        (29.0, 40.0, 0.083936898491518246222),
                        (29.0, 100.0, 9.7834555523332452425e-10)):  # fmt: skip
        assert _dist.chi2_sf(df, x) == pytest.approx(want, rel=5e-16)
    # R 4: sprintf("%.17g", pchisq(1.6423744151497892, 1, lower.tail = FALSE)) and
    # qchisq(0.2, 1, lower.tail = FALSE), qchisq(0.025, 29), qchisq(0.025, 29, lower.tail = FALSE)
    assert _dist.chi2_sf(1.0, 1.6423744151497892) == pytest.approx(0.20000000000000373, rel=1e-15)
    assert _dist.chi2_isf(1.0, 0.2) == pytest.approx(1.6423744151498156, rel=1e-15)
    assert _dist.chi2_ppf(29.0, 0.025) == pytest.approx(16.047071695364892, rel=1e-15)
    assert _dist.chi2_isf(29.0, 0.025) == pytest.approx(45.722285804174533, rel=1e-15)


def test_far_tail_and_fallbacks() -> None:
    # beyond the closed forms: the Chernoff-certified 0, and SciPy for the rest
    d = np.array([9999.0, 9999.0, 500.0, 300.0, 1.0, 2.5, 250.0, 3.0])
    x = np.array([171633.0, 11500.0, 1500.0, 3000.0, 1600.0, 4.0, 260.0, np.inf])
    np.testing.assert_allclose(_dist.chi2_sf(d, x), special.chdtrc(d, x), rtol=1e-15, atol=0.0)
    assert _dist.chi2_sf(9999.0, 171633.0) == 0.0
    assert np.isnan(_dist.chi2_sf(np.nan, 3.0)) and np.isnan(_dist.chi2_sf(3.0, np.nan))
    assert _dist.chi2_isf(np.array([250.0, 2.5]), 0.025) == pytest.approx(
        special.chdtri(np.array([250.0, 2.5]), 0.025), rel=1e-15
    )


def test_normal() -> None:
    z = np.linspace(-30.0, 30.0, 6001)
    want = 2.0 * special.ndtr(-np.abs(z))
    near = np.abs(z) <= 8.0
    np.testing.assert_allclose(_dist.norm_pvalue(z[near]), want[near], rtol=5e-15, atol=0.0)
    # far out (p < 1e-15) the erfc of the C library and SciPy's differ by up to 1.6e-13
    np.testing.assert_allclose(_dist.norm_pvalue(z), want, rtol=2e-13, atol=0.0)
    assert np.isnan(_dist.norm_pvalue(np.array([np.nan]))[0])
    for level in (0.5, 0.9, 0.95, 0.99, 0.999999):
        alpha = 1.0 - level
        assert _dist.norm_ppf(alpha / 2.0) == pytest.approx(special.ndtri(alpha / 2.0), rel=5e-16)
    assert -_dist.norm_ppf(0.025) == pytest.approx(1.959963984540054, rel=1e-15)  # qnorm(.975)
    from statistics import NormalDist

    for p in (1e-300, 1e-10, 0.025, 0.3, 0.5, 0.975):  # the same function, bit for bit
        assert _dist.norm_ppf(p) == NormalDist().inv_cdf(p)
    with pytest.raises(ValueError, match="p must be in"):
        _dist.norm_ppf(1.0)


def test_t_is_scipys() -> None:
    df = np.array([1.0, 4.0, 29.0])
    np.testing.assert_array_equal(_dist.t_isf(df, 0.025), -special.stdtrit(df, 0.025))
    t = np.array([0.5, -2.0, 3.0])
    np.testing.assert_array_equal(_dist.t_pvalue(df, t), 2.0 * special.stdtr(df, -np.abs(t)))


def test_import_is_cheap() -> None:
    # the module (and the batch core) must not import SciPy: that is its reason to exist
    code = (
        "import sys, metareview.models._core, metareview.models._dist as d; "
        "d.chi2_sf(3.0, 2.0); d.chi2_isf(3.0, 0.025); d.chi2_ppf(3.0, 0.025); "
        "d.norm_pvalue(1.0); d.norm_ppf(0.025); "
        "print('scipy' in sys.modules, 'statistics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
    assert math.isfinite(_dist.norm_ppf(0.5))
