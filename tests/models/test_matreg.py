"""metareview.models.matreg against metafor 3.8.1's ``matreg``.

Reference values: tests/data/goldens_matreg.json, written by ``Rscript scripts/goldens/matreg.R``
(the calls of ``?matreg``: mtcars with ``n`` and with ``V = rcalc(R, ni=32)$V``, dat.craft2003's
pooled correlations with ``V = vcov(res)``, also with ``ztor=TRUE``; and metafor's
tests/testthat/test_analysis_example_vanhouwelingen2002.r lines 186-199). Each case stores
matreg's inputs, so these tests compare the algebra alone, at rtol 1e-10; the chain from our own
``rma_mv`` fit (``G``, ``beta``, ``vvc``) is compared at 1e-6 and at the R test file's .01.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num

from metareview.errors import InputError
from metareview.models import matreg, rma_mv

G = load_goldens("goldens_matreg.json")
CASES: dict[str, Any] = G["cases"]
MV = load_goldens("goldens_rma_mv.json")


def run(case: dict[str, Any]) -> Any:
    def idx(v: Any) -> Any:
        return v if isinstance(v, str) else int(v) - 1  # metafor's 1-based -> 0-based

    x = case["x"]
    x = [idx(v) for v in x] if isinstance(x, list) else idx(x)
    return matreg(idx(case["y"]), x, R=np.array(case["R"], dtype=float), names=case["names"],
                  n=None if case["n"] is None else float(np.asarray(case["n"]).ravel()[0]),
                  V=None if case["V"] is None else np.array(case["V"], dtype=float),
                  cov=case["cov"], means=case["means"], ztor=case["ztor"])


@pytest.mark.parametrize("cid", sorted(CASES))
def test_matreg_matches_metafor(cid: str) -> None:
    """metafor: the call in the case's ``source`` (scripts/goldens/matreg.R)."""
    case = CASES[cid]
    res = run(case)
    assert res.coef_names == tuple(case["coef_names"])
    assert res.test == case["test"]
    for ours, key in ((res.beta, "beta"), (res.se, "se"), (res.zval, "stat"),
                      (res.pval, "pval"), (res.ci_lb, "ci_lb"), (res.ci_ub, "ci_ub")):
        np.testing.assert_allclose(ours, num(case[key]), rtol=1e-10, atol=1e-300, err_msg=key)
    np.testing.assert_allclose(res.R2, num(case["R2"]), rtol=1e-10)
    ref_vb = num(case["vb"])
    if case["cov"] and case["V"] is not None:  # metafor's intercept-slope sign (module doc)
        ref_vb[0, 1:] *= -1
        ref_vb[1:, 0] *= -1
    np.testing.assert_allclose(res.vb, ref_vb, rtol=1e-10, atol=1e-14)
    if case["test"] == "t":
        np.testing.assert_allclose([res.R2adj, res.F, res.Fp], np.r_[num(case["R2adj"]),
                                   num(case["F"])[:1], num(case["Fp"])], rtol=1e-10)
        assert res.df == np.ravel(num(case["df"]))[0]
    else:
        np.testing.assert_allclose([res.QM, res.QMp], np.r_[num(case["QM"]), num(case["QMp"])],
                                   rtol=1e-10)
    assert res.summary() == case["print"]
    d = res.to_dict()
    assert d["coef_names"] == case["coef_names"] and len(d["coefficients"]) == len(res.beta)


def test_vanhouwelingen2002_from_our_fit() -> None:
    """test_analysis_example_vanhouwelingen2002.r lines 186-199: regression of log(odds)_EXP on
    log(odds)_CON from the bivariate model, se from n = 13 (g.levels.comb.k) and from
    ``vvc`` (cvvc="varcov"): beta (-1.8437, 0.7300), se (0.3265, 0.0749) and (0.3548,
    0.0866) at the file's tolerance .01; and against matreg on metafor's own G/vvc at 1e-6."""
    d = pd.DataFrame(MV["datasets"]["colditz1994_long"]["columns"])
    fit = rma_mv("yi", "vi", data=d, mods="~ 0 + group", random="~ group | trial", struct="UN",
                 method="ML", cvvc="varcov", control={"nearpd": True})
    n = int(fit.g_levels_comb_k[0, 1])
    assert n == 13
    reg_n = matreg(1, 0, R=fit.G, cov=True, means=fit.beta, n=n)
    reg_v = matreg(1, 0, R=fit.G, cov=True, means=fit.beta, V=fit.vvc)
    for reg, se_ref, cid in ((reg_n, [0.3265, 0.0749], "vanhouwelingen_n"),
                             (reg_v, [0.3548, 0.0866], "vanhouwelingen_V")):
        b, se = np.asarray(reg.beta), np.asarray(reg.se)
        assert np.mean(np.abs(b - [-1.8437, 0.7300])) / np.mean([1.8437, 0.7300]) < 0.01
        assert np.mean(np.abs(se - se_ref)) / np.mean(se_ref) < 0.01
        np.testing.assert_allclose(b, num(CASES[cid]["beta"]), rtol=1e-6)
        np.testing.assert_allclose(se, num(CASES[cid]["se"]), rtol=1e-6)


def test_matreg_errors() -> None:
    r = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.2], [0.3, 0.2, 1.0]])
    with pytest.raises(InputError, match="either n or V"):
        matreg(0, [1, 2], R=r)
    with pytest.raises(InputError, match="either n or V"):
        matreg(0, [1, 2], R=r, n=10, V=np.eye(3))
    with pytest.raises(InputError, match="y must not be one of x"):
        matreg(0, [0, 1], R=r, n=10)
    with pytest.raises(InputError, match="correlation matrix"):
        matreg(0, [1, 2], R=r * 2, n=10)
    with pytest.raises(InputError, match="V is"):
        matreg(0, [1, 2], R=r, V=np.eye(4))
    with pytest.raises(InputError, match="no variable"):
        matreg("a", ["b", "z"], R=pd.DataFrame(r, columns=["a", "b", "c"]), n=10)
    with pytest.raises(InputError, match="not larger"):
        matreg(0, [1, 2], R=r, n=2)
    with pytest.raises(InputError, match="positive definite"):
        matreg(0, [1, 2], R=np.array([[1, .5, .5], [.5, 1, 1], [.5, 1, 1]]), n=10)
