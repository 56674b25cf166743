"""metareview.models.anova's Wald-type tests against metafor 3.8-1's ``anova(res, btt=)`` and
``anova(res, X=, rhs=)`` (tests/data/goldens_anova.json, written by
``Rscript scripts/goldens/anova.R``; each case names its metafor fit and anova call).

Cases: dat.bcg log risk ratios ``rma(yi, vi, mods = ~ ablat + year)`` (REML, z) with ``btt=2:3``,
``btt=3``, ``btt=2, rhs=-0.03`` and contrasts ``X`` (with and without the intercept column,
``rhs``, a rank-deficient ``X``); ``mods = ~ factor(alloc)`` with ``test="knha"`` (REML) and
``test="t"`` (DL); ``rma.mv`` fits of dat.konstantopoulos2011 ``~ I(year - 1990)`` (z and t) and
dat.berkey1998 ``~ 0 + outcome``, ``struct="CS"`` (datasets from tests/data/goldens_rma_mv.json).
Tolerance rtol 1e-6: the rma.mv variance components are optimised independently on both sides
(see tests/models/test_rma_mv.py).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num
from scipy import sparse

from metareview.effects import escalc
from metareview.errors import InputError
from metareview.models import anova, rma, rma_mv, rma_reg
from metareview.models.anova import AnovaWaldResult, AnovaXbResult

G = load_goldens("goldens_anova.json")
MV = load_goldens("goldens_rma_mv.json")
CASES: dict[str, Any] = G["cases"]
BCG = escalc("RR", pd.DataFrame(G["bcg"]), ai="tpos", bi="tneg", ci="cpos", di="cneg")
CTRL = {"threshold": 1e-12, "tol": 1e-12, "maxiter": 5000}


def _fit(spec: dict[str, Any]) -> Any:
    if "dataset" not in spec:
        mods = spec["mods"]
        return rma_reg("yi", "vi", mods=mods, data=BCG, method=spec["method"],
                       test=spec["test"], control=CTRL)
    d = pd.DataFrame(MV["datasets"][spec["dataset"]]["columns"])
    if spec["V"] in d.columns:
        v: Any = spec["V"]
    else:
        m = MV["matrices"][spec["V"]]
        v = sparse.csr_matrix((m["x"], (m["i"], m["j"])), shape=(m["n"], m["n"]))
    return rma_mv("yi", v, data=d, random=spec["random"], mods=spec["mods"],
                  struct=spec["struct"], test=spec["test"])


def _call(res: Any, call: dict[str, Any]) -> Any:
    kw: dict[str, Any] = {}
    if "btt" in call:
        b = call["btt"]
        kw["btt"] = b if isinstance(b, str) else [int(x) - 1 for x in np.atleast_1d(b)]
    if "X" in call:
        kw["X"] = np.array(call["X"], dtype=float)
    if "rhs" in call:
        kw["rhs"] = call["rhs"]
    if call.get("fixed"):
        kw["fixed"] = True  # metafor's anova(..., fixed = TRUE): btt a literal substring
    return anova(res, **kw)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_metafor(name: str) -> None:
    g = CASES[name]
    a = _call(_fit(g["fit"]), g["anova"])
    qmdf = num(g["QMdf"])
    if "btt" in g:
        assert isinstance(a, AnovaWaldResult)
        assert [b + 1 for b in a.btt] == list(np.atleast_1d(g["btt"]))
    else:
        assert isinstance(a, AnovaXbResult)
        np.testing.assert_allclose(a.Xb, num(g["Xb"]), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(a.se, num(g["se"]), rtol=1e-6)
        np.testing.assert_allclose(a.zval, num(g["zval"]), rtol=1e-6, atol=1e-8)
        # p-values on the log scale: berkey's p = 3.8e-19 moves by z^2 (80) times the relative
        # difference of z (1e-7, from the independently optimised variance components)
        np.testing.assert_allclose(np.log(a.pval), np.log(num(g["pval"])), rtol=1e-6)
        ddf = np.atleast_1d(num(g["ddf"]))
        if np.all(np.isnan(ddf)):
            assert a.ddf is None
        else:
            assert list(a.ddf or ()) == list(ddf)
        assert list(a.hyp) == list(np.atleast_1d(g["hyp"]))
    if np.isnan(num(g["QM"])):
        assert np.isnan(a.QM)
    else:
        np.testing.assert_allclose(a.QM, num(g["QM"]), rtol=1e-6)
        np.testing.assert_allclose(np.log(a.QMp), np.log(num(g["QMp"])), rtol=1e-6)
        assert a.QMdf is not None
        assert a.QMdf[0] == qmdf[0]
        assert (a.QMdf[1] is None) == bool(np.isnan(qmdf[1]))
        if a.QMdf[1] is not None:
            assert a.QMdf[1] == qmdf[1]
    assert str(a) == g["print"]
    json.dumps(a.to_dict())  # JSON-safe


def test_wald_btt_equals_the_fits_own_test() -> None:
    """``anova(res)`` is the fit's omnibus test (metafor: QM, QMp of the fit itself)."""
    res = rma_reg("yi", "vi", mods=["ablat", "year"], data=BCG)
    a = anova(res)
    assert isinstance(a, AnovaWaldResult)
    np.testing.assert_allclose([a.QM, a.QMp], [res.QM, res.QMp], rtol=1e-12)
    assert a.btt == res.btt


def test_refusals() -> None:
    res = rma_reg("yi", "vi", mods=["ablat", "year"], data=BCG)
    with pytest.raises(InputError, match="columns of X"):
        anova(res, X=[1, 2, 3, 4])
    with pytest.raises(InputError, match="length of rhs"):
        anova(res, X=[[0, 1, 0], [0, 0, 1]], rhs=[1, 2, 3])
    with pytest.raises(InputError, match="0-based"):
        anova(res, btt=[5])
    with pytest.raises(InputError, match="matches none"):
        anova(res, btt="nope")
    with pytest.raises(InputError, match="not both"):
        anova(res, btt=[1], X=[0, 1, 0])
    with pytest.raises(InputError, match="numeric"):
        anova(res, X=["a", "b", "c"])
    with pytest.raises(InputError, match="rma_reg or rma_mv"):
        anova(rma("yi", "vi", data=BCG), btt=[0])
    with pytest.raises(InputError, match="likelihood-ratio"):
        anova(res, rma("yi", "vi", data=BCG), btt=[1])


def test_btt_strings_as_metafor() -> None:
    """metafor's ``.set.btt``: one string is ``grep``'d (a regular expression; ``fixed=True`` a
    literal substring) and every coefficient it matches is tested together; a vector of two or
    more strings is ``as.list(btt)``, one test per string (the goldens above); a string that
    matches nothing, a set with several strings, indices mixed with names and an invalid
    pattern are InputErrors naming ``btt``."""
    res = rma_reg("yi", "vi", mods=["factor(alloc)"], data=BCG)
    both = anova(res, btt="alloc")
    assert isinstance(both, AnovaWaldResult) and both.btt == (1, 2)
    assert anova(res, btt="(alloc)s", fixed=True).btt == (2,)
    with pytest.raises(InputError, match="cannot identify coefficient") as err:
        anova(res, btt="(alloc)s")  # as a regular expression "(alloc)s" matches nothing
    assert err.value.field == "btt"
    with pytest.raises(InputError, match="one name pattern"):
        anova(res, btt=[["random", "systematic"]])
    with pytest.raises(InputError, match="mixes coefficient indices and names"):
        anova(res, btt=[1, "systematic"])
    with pytest.raises(InputError, match="not a valid regular expression"):
        anova(res, btt="factor(")
