"""metareview.models.estimators: HSk, GENQ, GENQM, PMM and user weights in rma/rma_reg.

The values agree with metafor in tests/models/test_metafor_examples_more.py (dersimonian2007,
jackson2014); here, identities that follow from the definitions (hand calculations).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metareview.errors import InputError
from metareview.models import rma, rma_reg
from metareview.models.confint import _imhof_sf

#: Collins et al. (1985) log odds ratios (metadat dat.collins1985b, first 9 trials, rounded)
Y = np.array([0.04, -0.92, -1.21, -0.67, -0.49, -0.86, 0.25, -1.66, 0.20])
V = np.array([0.16, 0.19, 0.32, 0.10, 0.06, 0.27, 0.11, 0.50, 0.09])


def test_genq_with_inverse_variance_weights_is_dl() -> None:
    """With ``a = 1/v``, ``(Q_a - tr(P_a V)) / tr(P_a)`` is the DerSimonian-Laird estimator
    (``tr(P_a V) = k - 1`` then)."""
    genq = rma(Y, V, method="GENQ", weights=1 / V)
    assert genq.tau2 == pytest.approx(rma(Y, V, method="DL").tau2, rel=1e-12)


def test_hsk_is_hs_with_the_k_correction() -> None:
    """HSk: ``(k/(k-1) Q - k) / sum w`` against HS ``(Q - k) / sum w`` (w = 1/v)."""
    k, w = Y.size, 1 / V
    mu = np.sum(w * Y) / np.sum(w)
    q = float(np.sum(w * (Y - mu) ** 2))
    assert rma(Y, V, method="HSk").tau2 == pytest.approx((k / (k - 1) * q - k) / w.sum())
    assert rma(Y, V, method="HS").tau2 == pytest.approx((q - k) / w.sum())


def test_pmm_solves_q_equals_the_chi2_median() -> None:
    res = rma(Y, V, method="PMM")
    w = 1 / (V + res.tau2)
    mu = np.sum(w * Y) / np.sum(w)
    q = float(np.sum(w * (Y - mu) ** 2))
    assert q == pytest.approx(stats.chi2.median(Y.size - 1), rel=1e-9)
    assert res.tau2 > rma(Y, V, method="PM").tau2  # the median is below the mean k - 1


def test_genqm_makes_the_observed_q_the_median() -> None:
    """At the GENQM estimate ``Pr(Q_a* > Q_a) = 1/2`` (Imhof's integral)."""
    a = 1 / np.sqrt(V)
    res = rma(Y, V, method="GENQM", weights=a)
    x = np.ones((Y.size, 1))
    pa = np.diag(a) - np.outer(a, a) / a.sum()
    qa = float(Y @ pa @ Y)
    s = np.sqrt(V + res.tau2)
    lam = np.linalg.eigvalsh(s[:, None] * pa * s[None, :])[::-1][: Y.size - x.shape[1]]
    assert _imhof_sf(qa, lam) == pytest.approx(0.5, abs=1e-8)


def test_equal_weights_are_the_unweighted_mean() -> None:
    """metafor's ``weighted=FALSE``: ``mean(y)``, ``SE = sqrt(sum(v + tau2)) / k``."""
    res = rma(Y, V, method="DL", weights=np.full(Y.size, 3.0))
    t = rma(Y, V, method="DL").tau2
    assert res.tau2 == pytest.approx(t)
    assert res.beta == pytest.approx(Y.mean())
    assert res.se == pytest.approx(math.sqrt(np.sum(V + t)) / Y.size)
    assert res.weights.sum() == pytest.approx(100.0)


def test_weighted_meta_regression_sandwich() -> None:
    """``Var(b) = (X'AX)^-1 X'A(V + tau2)AX (X'AX)^-1`` (hand computation)."""
    x = np.arange(Y.size, dtype=float)
    a = 1 / np.sqrt(V)
    res = rma_reg(Y, V, mods=x, method="GENQ", weights=a)
    X = np.column_stack([np.ones_like(x), x])
    inv = np.linalg.inv(X.T @ (X * a[:, None]))
    b = inv @ X.T @ (a * Y)
    vb = inv @ (X.T * a) @ np.diag(V + res.tau2) @ (X * a[:, None]) @ inv
    np.testing.assert_allclose(res.beta, b, rtol=1e-12)
    np.testing.assert_allclose(res.vb, vb, rtol=1e-10)


def test_sj_start_value() -> None:
    """SJ with ``control={"tau2_init": t0}``: ``t0 Q(t0) / (k-1)``, Q weighted by 1/(v + t0)."""
    t0 = 0.3
    w = 1 / (V + t0)
    mu = np.sum(w * Y) / np.sum(w)
    want = t0 * float(np.sum(w * (Y - mu) ** 2)) / (Y.size - 1)
    assert rma(Y, V, method="SJ", control={"tau2_init": t0}).tau2 == pytest.approx(want)
    with pytest.raises(InputError, match="tau2_init"):
        rma(Y, V, method="SJ", control={"tau2_init": -1})


def test_method_names_any_case() -> None:
    assert rma(Y, V, method="hsk").method == "HSk"
    assert rma(Y, V, method="pmm").method == "PMM"
