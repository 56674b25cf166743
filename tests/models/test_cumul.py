"""cumul() against metafor 3.8-1's ``cumul.rma.uni`` (goldens at 1e-6).

Goldens: tests/data/goldens_diagnostics.json (scripts/goldens/diagnostics.R): ``cumul(res)`` and
``cumul(res, order=vi)`` for the intercept-only fits of dat.bcg, dat.normand1999 and
dat.hackshaw1998.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from diag_goldens import FITS, fit, frame
from goldens_helpers import ATOL, RTOL, num

from metareview.errors import InputError
from metareview.models import cumul, rma

INT_ONLY = sorted(f for f in FITS if "cumul" in FITS[f])
COLS = {"estimate": "estimate", "se": "se", "pval": "pval", "ci_lb": "ci_lb", "ci_ub": "ci_ub",
        "Q": "Q", "Qp": "Qp", "tau2": "tau2", "I2": "I2", "H2": "H2"}


@pytest.mark.parametrize("fid", INT_ONLY)
def test_cumul_matches_metafor(fid: str) -> None:
    """metafor: ``cumul(res)``; all columns (``zval`` is ``tval`` for knha)."""
    res = fit(fid)
    out = cumul(res)
    g = FITS[fid]["cumul"]
    for key, col in COLS.items():
        np.testing.assert_allclose(out[col].to_numpy(), num(g[key]), rtol=RTOL, atol=ATOL,
                                   err_msg=key)
    stat = "tval" if res.test == "knha" else "zval"
    np.testing.assert_allclose(out[stat].to_numpy(), num(g["zval"]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fid", INT_ONLY)
def test_cumul_order_matches_metafor(fid: str) -> None:
    """metafor: ``cumul(res, order=vi)`` (studies added from the most precise)."""
    res = fit(fid)
    d = frame(FITS[fid]["dataset"])
    out = cumul(res, order=d["vi"])
    g = FITS[fid]["cumul_by_vi"]
    slab = list(res.slab)  # metafor's fit had no slab: its labels are the row numbers
    assert [str(slab.index(s) + 1) for s in out.index] == g["slab"]
    for key in ("estimate", "se", "tau2", "I2"):
        np.testing.assert_allclose(out[key].to_numpy(), num(g[key]), rtol=RTOL, atol=ATOL)


def test_last_step_is_the_full_fit_and_first_is_the_study() -> None:
    res = fit("bcg_REML")
    out = cumul(res)
    assert out["estimate"].iloc[-1] == pytest.approx(res.beta, rel=1e-12)
    assert out["tau2"].iloc[-1] == pytest.approx(res.tau2, rel=1e-9)
    assert out["estimate"].iloc[0] == pytest.approx(res.yi[0], rel=1e-12)
    assert out["se"].iloc[0] == pytest.approx(math.sqrt(res.vi[0]), rel=1e-12)


def test_transf_and_bad_order() -> None:
    res = fit("bcg_REML")
    out = cumul(res, transf=np.exp)
    base = cumul(res)
    np.testing.assert_allclose(out["estimate"], np.exp(base["estimate"]), rtol=1e-12)
    assert out["se"].isna().all()
    with pytest.raises(InputError, match="order"):
        cumul(res, order=[1, 2])
    with pytest.raises(InputError, match="rma"):
        cumul("not a fit")  # type: ignore[arg-type]
    ee = cumul(rma([0.1, 0.2], [0.1, 0.1], method="EE"))
    assert "tau2" not in ee.columns
