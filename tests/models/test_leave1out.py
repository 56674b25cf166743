"""leave1out(): the batch computation equals refitting without each study.

metafor's values are compared in test_goldens.py (test_leave1out_matches_metafor); here the
batch result is checked against explicit refits with rma().
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from goldens_helpers import load_goldens

from metareview.errors import InputError
from metareview.models import leave1out, rma

BCG = load_goldens("goldens_rma.json")["datasets"]["bcg_RR"]


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("EE", "t")])
def test_leave1out_equals_refits(method: str, test: str) -> None:
    y, v = np.array(BCG["yi"]), np.array(BCG["vi"])
    res = rma(y, v, method=method, test=test, slab=BCG["slab"])
    out = leave1out(res)
    assert list(out.columns) == ["slab", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub",
                                 "Q", "Qp", "tau2", "I2", "H2"]
    assert out["slab"].tolist() == BCG["slab"]
    for i in range(res.k):
        keep = np.arange(res.k) != i
        ref = rma(y[keep], v[keep], method=method, test=test)
        assert out.loc[i, "estimate"] == pytest.approx(ref.beta, rel=1e-12)
        assert out.loc[i, "ci_ub"] == pytest.approx(ref.ci_ub, rel=1e-12)
        assert out.loc[i, "tau2"] == pytest.approx(ref.tau2, rel=1e-9, abs=1e-14)
        assert out.loc[i, "Q"] == pytest.approx(ref.QE, rel=1e-12)


def test_leave1out_keeps_fixed_tau2_and_k2() -> None:
    res = rma(BCG["yi"], BCG["vi"], tau2=0.2)
    assert (leave1out(res)["tau2"] == 0.2).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = leave1out(rma([0.1, 0.5], [0.01, 0.02], test="knha"))
    # each refit has k = 1: the study itself, z interval (as metafor)
    assert two["estimate"].tolist() == [0.5, 0.1]
    assert two.loc[0, "ci_ub"] == pytest.approx(0.5 + 1.959963984540054 * np.sqrt(0.02))


def test_leave1out_needs_two_studies() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma([0.1], [0.01])
    with pytest.raises(InputError, match="at least 2"):
        leave1out(res)


def test_leave1out_hsk_matches_metafor_and_refits() -> None:
    """HSk refits through the batch core: metafor's ``leave1out(rma(yi, vi, data = escalc("RR",
    dat.bcg), method = "HSk"))`` (tests/data/cli/bcg_pool_goldens.json "hsk_leave1out", written
    by scripts/goldens/cli_pool.R; rtol 1e-9) and ``rma(method="HSk")`` without each study
    (1e-12)."""
    want = json.loads(
        (Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text("utf-8")
    )["hsk_leave1out"]
    y, v = np.array(BCG["yi"]), np.array(BCG["vi"])
    res = rma(y, v, method="HSk", slab=BCG["slab"])
    out = leave1out(res)
    for col in ("estimate", "se", "tau2", "I2", "H2", "Q", "Qp"):
        np.testing.assert_allclose(out[col], want[col], rtol=1e-9, atol=1e-12, err_msg=col)
    for i in range(res.k):
        keep = np.arange(res.k) != i
        ref = rma(y[keep], v[keep], method="HSk")
        assert out.loc[i, "estimate"] == pytest.approx(ref.beta, rel=1e-12)
        assert out.loc[i, "se"] == pytest.approx(ref.se, rel=1e-12)
        assert out.loc[i, "tau2"] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)


def test_leave1out_cumul_and_trimfill_refit_pmm_as_metafor() -> None:
    """PMM refits through the batch core: metafor's ``leave1out()``, ``cumul()`` and
    ``trimfill()`` of ``rma(yi, vi, data = escalc("RR", dat.bcg), method = "PMM", control =
    ctrl)`` (bcg_pool_goldens.json "pmm_leave1out", "pmm_cumul", "pmm_trimfill";
    scripts/goldens/cli_pool.R; rtol 1e-9), and ``rma(method="PMM")`` without each study
    (1e-12)."""
    from metareview.models import cumul, trimfill

    g = json.loads(
        (Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text("utf-8")
    )
    y, v = np.array(BCG["yi"]), np.array(BCG["vi"])
    res = rma(y, v, method="PMM", slab=BCG["slab"])
    out = leave1out(res)
    for col in ("estimate", "se", "tau2", "I2", "H2", "Q", "Qp"):
        np.testing.assert_allclose(out[col], g["pmm_leave1out"][col], rtol=1e-9, atol=1e-12,
                                   err_msg=col)
    for i in range(res.k):
        keep = np.arange(res.k) != i
        ref = rma(y[keep], v[keep], method="PMM")
        assert out.loc[i, "estimate"] == pytest.approx(ref.beta, rel=1e-12)
        assert out.loc[i, "se"] == pytest.approx(ref.se, rel=1e-12)
        assert out.loc[i, "tau2"] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)
    cu = cumul(res)
    for col in ("estimate", "se", "tau2", "I2"):
        np.testing.assert_allclose(cu[col], g["pmm_cumul"][col], rtol=1e-9, atol=1e-12,
                                   err_msg=col)
    tf = trimfill(res)
    want = g["pmm_trimfill"]
    assert (tf.k0, tf.side) == (want["k0"], want["side"])
    assert float(np.ravel(tf.fit.beta)[0]) == pytest.approx(want["estimate"], rel=1e-9)
    assert tf.fit.se == pytest.approx(want["se"], rel=1e-9)
    assert tf.fit.tau2 == pytest.approx(want["tau2"], rel=1e-9)


def test_leave1out_refuses_an_sj_start() -> None:
    """The batch core takes no SJ start (control tau2_init): refused, not refitted otherwise."""
    res = rma(BCG["yi"], BCG["vi"], method="SJ", control={"tau2_init": 0.1})
    with pytest.raises(InputError, match="leave1out: not supported for method 'SJ' with control"):
        leave1out(res)


def test_cumul_and_trimfill_refit_hsk_as_metafor() -> None:
    """``cumul()`` and ``trimfill()`` also refit through the batch core: metafor's
    ``cumul(rma(..., method = "HSk"))`` and ``trimfill(...)`` on dat.bcg (RR)
    (bcg_pool_goldens.json "hsk_cumul", "hsk_trimfill"; scripts/goldens/cli_pool.R; rtol 1e-9)."""
    from metareview.models import cumul, trimfill

    g = json.loads(
        (Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text("utf-8")
    )
    res = rma(BCG["yi"], BCG["vi"], method="HSk", slab=BCG["slab"])
    cu = cumul(res)
    for col in ("estimate", "se", "tau2", "I2"):
        np.testing.assert_allclose(cu[col], g["hsk_cumul"][col], rtol=1e-9, atol=1e-12)
    tf = trimfill(res)
    want = g["hsk_trimfill"]
    assert (tf.k0, tf.side) == (want["k0"], want["side"])
    assert float(np.ravel(tf.fit.beta)[0]) == pytest.approx(want["estimate"], rel=1e-9)
    assert tf.fit.se == pytest.approx(want["se"], rel=1e-9)
    assert tf.fit.tau2 == pytest.approx(want["tau2"], rel=1e-9)
