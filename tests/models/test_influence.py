"""influence(), rstudent(), rstandard(), baujat() against metafor 3.8-1 (goldens at 1e-6).

Goldens: tests/data/goldens_diagnostics.json from scripts/goldens/diagnostics.R, calls
``influence(res)`` (``influence.rma.uni``), ``rstudent(res)``, ``rstandard(res)`` and the value of
``baujat(res)`` for dat.bcg (RR; REML, DL with Knapp-Hartung, REML with ablat, REML with
ablat + alloc and knha), dat.normand1999 (MD, DL), dat.hackshaw1998 (OR; REML, ML).
"""

from __future__ import annotations

import numpy as np
import pytest
from diag_goldens import FITS, fit
from goldens_helpers import ATOL, RTOL, num

from metareview.errors import InputError
from metareview.models import baujat, influence, rma, rstandard, rstudent

IDS = sorted(FITS)
COLUMNS = ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"]


@pytest.mark.parametrize("fid", IDS)
def test_influence_matches_metafor(fid: str) -> None:
    """metafor: ``influence(rma(yi, vi, mods=, method=, test=))``; every column, dfbs, inf."""
    g = FITS[fid]["influence"]
    res = influence(fit(fid))
    for col in COLUMNS:
        np.testing.assert_allclose(res.inf[col].to_numpy(), num(g[col]), rtol=RTOL, atol=ATOL,
                                   err_msg=col)
    dfbs = g["dfbs"]
    for j, name in enumerate(res.dfbs.columns):
        want = num(list(dfbs.values())[j])
        np.testing.assert_allclose(res.dfbs[name].to_numpy(), want, rtol=RTOL, atol=ATOL,
                                   err_msg=f"dfbs {name}")
    assert list(res.inf["inf"]) == g["inf"]
    assert [bool(b) for b in res.is_infl] == g["is_infl"]


@pytest.mark.parametrize("fid", IDS)
def test_rstudent_and_rstandard_match_metafor(fid: str) -> None:
    """metafor: ``rstudent(res)`` and ``rstandard(res)`` (resid, se, z)."""
    res = fit(fid)
    for got, key in ((rstudent(res), "rstudent"), (rstandard(res), "rstandard")):
        for col in ("resid", "se", "z"):
            np.testing.assert_allclose(got[col].to_numpy(), num(FITS[fid][key][col]),
                                       rtol=RTOL, atol=ATOL, err_msg=f"{key} {col}")


@pytest.mark.parametrize("fid", IDS)
def test_baujat_matches_metafor(fid: str) -> None:
    """metafor: the data frame ``baujat(res)`` returns (x, y)."""
    b = baujat(fit(fid))
    np.testing.assert_allclose(b.x, num(FITS[fid]["baujat"]["x"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(b.y, num(FITS[fid]["baujat"]["y"]), rtol=RTOL, atol=ATOL)


def test_hat_and_weight_by_hand() -> None:
    """EE model of three studies: hat_i = w_i / sum w = weight_i / 100 (hand arithmetic:
    w = 1/v = 10, 5, 2.5, sum 17.5)."""
    res = influence(rma([0.1, 0.3, 0.2], [0.1, 0.2, 0.4], method="EE"))
    np.testing.assert_allclose(res.inf["hat"], [10 / 17.5, 5 / 17.5, 2.5 / 17.5], rtol=1e-12)
    np.testing.assert_allclose(res.inf["weight"], [100 * 10 / 17.5, 100 * 5 / 17.5,
                                                   100 * 2.5 / 17.5], rtol=1e-12)
    # EE: tau2_del = 0; QE_del of study 3 = Q of studies 1-2 = (0.1-0.3)^2 / (0.1+0.2)
    assert res.inf["QE_del"].iloc[2] == pytest.approx(0.04 / 0.3, rel=1e-12)


def test_influence_needs_two_studies_and_an_rma_result() -> None:
    with pytest.warns(Warning):
        one = rma([0.1], [0.1])
    with pytest.raises(InputError, match="k = 1"):
        influence(one)
    with pytest.raises(InputError, match="rma"):
        influence(object())


def test_to_dict_is_json_safe() -> None:
    import json

    d = influence(fit("bcg_REML")).to_dict()
    assert json.loads(json.dumps(d))["k"] == 13
