"""RegResult.predict(newmods=...) against metafor 3.8-1's ``predict.rma`` (goldens at 1e-6).

Goldens (tests/data/goldens_diagnostics.json, scripts/goldens/diagnostics.R):
``predict(rma(yi, vi, mods=~ablat, data=dat.bcg RR), newmods=c(10, 30, 50))`` with and without
``transf=exp``; ``predict(rma(..., mods=~ablat + alloc, test="knha"), newmods=rbind(c(20, 0, 1),
c(40, 1, 0), c(50, 0, 0)))`` (alloc coded against "alternate"); ``predict(res)`` (fitted values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from diag_goldens import FITS, G, fit
from goldens_helpers import ATOL, RTOL, num

from metareview.errors import InputError

NEW = {n["id"]: n for n in G["newmods"]}
COLS = ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")


def _check(got: pd.DataFrame, want: dict, cols: tuple[str, ...] = COLS) -> None:
    for c in cols:
        np.testing.assert_allclose(got[c].to_numpy(), num(want[c]), rtol=RTOL, atol=ATOL,
                                   err_msg=c)


def test_predict_new_ablat_values() -> None:
    res = fit("bcg_ablat_REML")
    _check(res.predict(newmods=[10, 30, 50]), NEW["bcg_ablat_REML"])
    _check(res.predict(newmods=np.array([[10.0], [30.0], [50.0]])), NEW["bcg_ablat_REML"])
    _check(res.predict(newmods={"ablat": [10, 30, 50]}), NEW["bcg_ablat_REML"])


def test_predict_with_transf() -> None:
    res = fit("bcg_ablat_REML")
    got = res.predict(newmods=[10, 30, 50], transf=np.exp)
    _check(got, NEW["bcg_ablat_REML"]["exp"], ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"))
    assert got["se"].isna().all()


def test_predict_factor_levels_by_name_and_by_dummies() -> None:
    """alloc is a factor: metafor takes the dummy columns; metareview also the level names."""
    res = fit("bcg_ablat_alloc_REML")
    g = NEW["bcg_ablat_alloc_REML"]
    _check(res.predict(newmods=np.array(g["newmods"], dtype=float)), g)
    levels = pd.DataFrame(g["levels"])
    _check(res.predict(newmods=levels), g)
    with pytest.raises(InputError, match="not a level"):
        res.predict(newmods={"ablat": [20], "alloc": ["cluster"]})
    with pytest.raises(InputError, match="column"):
        res.predict(newmods={"ablat": [20]})
    with pytest.raises(InputError, match="column"):
        res.predict(newmods=[[1.0, 2.0]])


@pytest.mark.parametrize("fid", [f for f in FITS if "predict_fitted" in FITS[f]])
def test_predict_fitted_values(fid: str) -> None:
    res = fit(fid)
    _check(res.predict(), FITS[fid]["predict_fitted"])


def test_newmods_must_be_finite() -> None:
    res = fit("bcg_ablat_REML")
    with pytest.raises(InputError, match="finite"):
        res.predict(newmods=[np.nan])
