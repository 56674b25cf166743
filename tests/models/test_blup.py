"""metareview.models.blup: ``blup`` and ``ranef`` (metafor's, compared in
tests/models/test_metafor_examples_more.py, raudenbush1985); here the definitions by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from metareview.models import blup, ranef, rma

Y = np.array([0.10, -0.30, 0.45, 0.05, 0.22])
V = np.array([0.02, 0.05, 0.04, 0.01, 0.08])


def test_blup_and_ranef_by_hand() -> None:
    res = rma(Y, V, method="DL")
    lam = res.tau2 / (res.tau2 + V)
    z = stats.norm.ppf(0.975)
    b = blup(res)
    np.testing.assert_allclose(b["pred"], lam * Y + (1 - lam) * res.beta)
    np.testing.assert_allclose(b["se"], np.sqrt(lam * V + (1 - lam) ** 2 * res.se**2))
    np.testing.assert_allclose(b["pi_ub"] - b["pred"], z * b["se"])
    r = ranef(res)
    np.testing.assert_allclose(r["pred"], lam * (Y - res.beta))
    np.testing.assert_allclose(r["se"], np.sqrt(lam * V + lam**2 * res.se**2))
    np.testing.assert_allclose(b["pred"], res.beta + r["pred"])


def test_equal_effects_and_transf() -> None:
    ee = rma(Y, V, method="EE")
    assert (ranef(ee)["pred"] == 0).all() and (ranef(ee)["se"] == 0).all()
    np.testing.assert_allclose(blup(ee)["pred"], ee.beta)
    res = rma(Y, V, method="DL", test="t")
    t = stats.t.ppf(0.975, Y.size - 1)
    b = blup(res)
    np.testing.assert_allclose(b["pi_ub"] - b["pred"], t * b["se"])
    e = blup(res, transf=np.exp)
    np.testing.assert_allclose(e["pred"], np.exp(b["pred"]))
    assert e["se"].isna().all()
    assert blup(res, level=90)["pi_lb"].gt(b["pi_lb"]).all()
    with pytest.raises(Exception, match="rma"):
        blup(object())
