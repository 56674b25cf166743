"""metareview.models.matreg against metafor 3.8.1's ``matreg``.

Reference values: tests/data/goldens_matreg.json, written by ``Rscript scripts/goldens/matreg.R``
(the calls of ``?matreg``: mtcars with ``n`` and with ``V = rcalc(R, ni=32)$V``, dat.craft2003's
pooled correlations with ``V = vcov(res)``, also with ``ztor=TRUE``; and metafor's
tests/testthat/test_analysis_example_vanhouwelingen2002.r lines 186-199). Each case stores
matreg's inputs, so these tests compare the algebra alone, at rtol 1e-10; the chain from our own
``rma_mv`` fit (``G``, ``beta``, ``vvc``) is compared at 1e-6 and at the R test file's .01.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num

from metareview.errors import InputError, MetareviewWarning
from metareview.models import matreg, rma_mv
from metareview.models._nearpd import nearpd, nearpd_blocks

G = load_goldens("goldens_matreg.json")
#: the nearpd=TRUE cases are tested on their own (test_matreg_nearpd_matches_metafor)
CASES: dict[str, Any] = {k: c for k, c in G["cases"].items() if not c.get("nearpd")}
NEARPD_CASES: dict[str, Any] = {k: c for k, c in G["cases"].items() if c.get("nearpd")}
NPD: dict[str, Any] = G["nearpd_cases"]
MV = load_goldens("goldens_rma_mv.json")


def run(case: dict[str, Any]) -> Any:
    def idx(v: Any) -> Any:
        return v if isinstance(v, str) else int(v) - 1  # metafor's 1-based -> 0-based

    x = case["x"]
    x = [idx(v) for v in x] if isinstance(x, list) else idx(x)
    return matreg(idx(case["y"]), x, R=np.array(case["R"], dtype=float), names=case["names"],
                  n=None if case["n"] is None else float(np.asarray(case["n"]).ravel()[0]),
                  V=None if case["V"] is None else np.array(case["V"], dtype=float),
                  cov=case["cov"], means=case["means"], ztor=case["ztor"],
                  nearpd=bool(case.get("nearpd")))


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


@pytest.mark.parametrize("cid", sorted(NEARPD_CASES))
def test_matreg_nearpd_matches_metafor(cid: str) -> None:
    """metafor 3.8.1's ``matreg(..., nearpd=TRUE)`` where ``R[x,x]`` is not positive definite
    (scripts/goldens/matreg.R): ``R[x,x]`` replaced by ``Matrix::nearPD(R[x,x], corr=TRUE)``,
    with a warning. The repaired matrix is on the boundary of the cone (condition ~6e7), which
    magnifies rounding: compared at 1e-6 (the printout has 17 significant digits: not
    compared)."""
    case = NEARPD_CASES[cid]
    with pytest.warns(MetareviewWarning, match="nearPD"):
        res = run(case)
    for ours, key in ((res.beta, "beta"), (res.se, "se"), (res.zval, "stat"),
                      (res.pval, "pval"), (res.ci_lb, "ci_lb"), (res.ci_ub, "ci_ub")):
        np.testing.assert_allclose(ours, num(case[key]), rtol=1e-6, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(res.vb, num(case["vb"]), rtol=1e-6)
    np.testing.assert_allclose(res.R2, num(case["R2"]), rtol=1e-6)
    with pytest.raises(InputError, match="not positive definite"):
        run({**case, "nearpd": False})


@pytest.mark.parametrize("cid", sorted(NPD))
def test_nearpd_matches_matrix_nearpd(cid: str) -> None:
    """``_nearpd.nearpd`` against R's ``Matrix::nearPD(x, corr, keepDiag)`` (its defaults;
    scripts/goldens/matreg.R, ``nearpd_cases``): the matrix and its eigenvalues at 1e-10
    (relative to the largest entry), the iteration count exactly."""
    case = NPD[cid]
    x = np.array(case["x"], dtype=float)
    got = nearpd(x, corr=case["corr"], keep_diag=case["keepDiag"])
    want = np.array(case["mat"], dtype=float)
    scale = float(np.max(np.abs(want)))
    np.testing.assert_allclose(got.mat, want, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(got.eigenvalues, num(case["eigenvalues"]), rtol=0,
                               atol=1e-10 * scale)
    assert got.iterations == case["iterations"]
    assert got.converged == case["converged"]


def test_nearpd_blocks_is_nearpd_of_the_block_diagonal_matrix() -> None:
    """``nearpd_blocks`` block by block with global thresholds equals ``Matrix::nearPD`` of the
    whole block-diagonal matrix (the ``blockdiag`` golden: blocks of 3, 4 and 2)."""
    case = NPD["blockdiag"]
    x = np.array(case["x"], dtype=float)
    edges = [0, 3, 7, 9]
    blocks = [x[a:b, a:b] for a, b in itertools.pairwise(edges)]
    out, res = nearpd_blocks(blocks)
    want = np.array(case["mat"], dtype=float)
    for blk, (a, b) in zip(out, itertools.pairwise(edges), strict=True):
        np.testing.assert_allclose(blk, want[a:b, a:b], rtol=0, atol=1e-10 * np.max(want))
    assert res.iterations == case["iterations"]


def test_matreg_names_are_pmatched() -> None:
    """metafor's ``pmatch`` of the names of ``y`` and ``x``: exact, else a unique prefix."""
    r = np.array([[1, 0.5, 0.3], [0.5, 1, 0.2], [0.3, 0.2, 1]])
    names = ["score", "age", "agility"]
    full = matreg("score", ["age", "agility"], R=r, names=names, n=50)
    short = matreg("sc", ["age", "agil"], R=r, names=names, n=50)
    np.testing.assert_array_equal(full.beta, short.beta)
    with pytest.raises(InputError, match="matches several"):
        matreg("score", "ag", R=r, names=names, n=50)
    with pytest.raises(InputError, match="matches no variable"):
        matreg("score", "height", R=r, names=names, n=50)
