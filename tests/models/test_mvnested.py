"""metareview.models._mvnested: the closed-form (Sherman-Morrison) blocks of ``rma_mv``.

Reference values: the dense block algebra of ``multilevel._Model`` (a Cholesky factor and
inverse of each block of ``M``), on the same model at the same parameters; and central finite
differences of ``-ll`` for the gradient and of the gradient for the Hessian (a hand check
independent of both). The fits themselves are compared with metafor in test_rma_mv.py
(dat.konstantopoulos2011 ``~ 1 | district/school`` goes through this path).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens
from scipy import sparse

from metareview.errors import MetareviewWarning
from metareview.models import rma_mv
from metareview.models._mvnested import NestedModel, nested_kinds
from metareview.models.multilevel import _blocks, _make_groups, _Model, _parse_random

G = load_goldens("goldens_rma_mv.json")


def konst() -> pd.DataFrame:
    return pd.DataFrame(G["datasets"]["konstantopoulos2011"]["columns"])


def shuffled(seed: int) -> pd.DataFrame:
    """Unsorted clusters of unequal size with a moderator (rows not grouped by cluster)."""
    rng = np.random.default_rng(seed)
    study = rng.integers(1, 15, 80)
    d = pd.DataFrame({"study": study, "es": np.arange(80), "x": rng.normal(size=80),
                      "vi": rng.uniform(0.01, 0.2, 80)})
    d["yi"] = 0.3 * d["x"] + rng.normal(0, 0.3, 14)[study - 1] + rng.normal(0, np.sqrt(d["vi"]))
    return d


def models(d: pd.DataFrame, random: str | list[str], mods: bool, reml: bool
           ) -> tuple[NestedModel, _Model]:
    sig, gts = _parse_random(random, d, ["CS"])
    y = d["yi"].to_numpy(float)
    x = np.column_stack([np.ones(len(d)), d["x"]]) if mods else np.ones((len(d), 1))
    v = d["vi"].to_numpy(float)
    labels = _blocks(len(d), sig, gts, None)
    kinds = nested_kinds(sig, labels, int(labels.max()) + 1)
    assert kinds is not None
    lxx = float(np.linalg.slogdet(x.T @ x)[1])
    nested = NestedModel(y, x, v, labels, kinds, sig, len(d), x.shape[1], reml, lxx)
    groups = _make_groups(labels, y, x, sparse.diags(v, format="csr"), sig, gts)
    return nested, _Model(groups, sig, gts, len(d), x.shape[1], reml, lxx)


CASES = [("konst", "~ 1 | district/school", False), ("konst", "~ 1 | district", False),
         ("konst", "~ 1 | district/study", True), ("shuffled", "~ 1 | study/es", True),
         ("shuffled", "~ 1 | study", True), ("shuffled", "~ 1 | es", True),
         ("shuffled", ["~ 1 | study", "~ 1 | es"], False)]


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(("data", "random", "mods"), CASES)
def test_closed_form_equals_dense_blocks(data: str, random: str | list[str], mods: bool,
                                         reml: bool) -> None:
    """-ll, beta, Var(beta), the gradient, the average information and the exact Hessian of
    the closed form equal the dense block algebra's (rtol 1e-10) at several parameters."""
    d = konst().assign(x=lambda f: f["year"] - 1985.0) if data == "konst" else shuffled(3)
    nested, dense = models(d, random, mods, reml)
    assert nested.npar == dense.npar
    for eta in ([-2.0, -3.0], [-4.0, -1.0], [-60.0, -2.5], [0.5, -60.0]):
        e = np.array(eta[: nested.npar])
        a = nested._evaluate(e, True, True)
        b = dense._evaluate(e, True, True)
        assert a.f == pytest.approx(b.f, rel=1e-10)
        for got, want in ((a.beta, b.beta), (a.vb, b.vb), (a.grad, b.grad), (a.info, b.info),
                          (a.hess, b.hess)):
            assert got is not None and want is not None
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.max(np.abs(want)))


def test_gradient_and_hessian_are_the_derivatives() -> None:
    """Hand check: central differences (step 1e-5) of -ll and of the gradient."""
    nested, _ = models(shuffled(5), "~ 1 | study/es", True, True)
    e = np.array([-2.2, -3.1])
    ev = nested._evaluate(e, True, True)
    assert ev.hess is not None
    step = 1e-5
    for j in range(2):
        up, dn = e.copy(), e.copy()
        up[j] += step
        dn[j] -= step
        fu, fd = nested._evaluate(up, True, False), nested._evaluate(dn, True, False)
        assert ev.grad[j] == pytest.approx((fu.f - fd.f) / (2 * step), rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(ev.hess[:, j], (fu.grad - fd.grad) / (2 * step), rtol=1e-5,
                                   atol=1e-8)


def test_rma_mv_takes_the_closed_form_only_where_it_applies() -> None:
    d = konst()
    res = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    assert isinstance(res._refit[0], NestedModel)
    # the dense blocks and M are still there when asked (robust, ranef)
    assert len(res.M_blocks) == 1 and res.M_blocks[0][1].shape == (11, 11, 11)
    full = rma_mv("yi", sparse.diags(d["vi"].to_numpy()), data=d,
                  random="~ 1 | district/school")
    assert not isinstance(full._refit[0], NestedModel)  # V as a matrix: the dense blocks
    for name in ("beta", "se", "sigma2", "logLik", "QE", "AIC"):
        np.testing.assert_allclose(getattr(res, name), getattr(full, name), rtol=1e-10)
    np.testing.assert_allclose(res.M_blocks[0][1], full.M_blocks[0][1], rtol=1e-12)
    for key, frame in res.ranef().items():
        np.testing.assert_allclose(frame.to_numpy(), full.ranef()[key].to_numpy(),
                                   rtol=1e-9, atol=1e-12)
    # a factor that is neither the clusters nor one row per level: dense
    d2 = d.assign(pair=(d["school"] + 1) // 2)
    assert not isinstance(rma_mv("yi", "vi", data=d2, random="~ 1 | district/pair")._refit[0],
                          NestedModel)
    # a zero sampling variance: dense (M may still be positive definite; V is not, and
    # metafor warns "'V' appears to be not positive definite.")
    d3 = d.assign(vi=np.where(np.arange(len(d)) == 0, 0.0, d["vi"]))
    with pytest.warns(MetareviewWarning, match="V is not positive definite"):
        res3 = rma_mv("yi", "vi", data=d3, random="~ 1 | district/school")
    assert not isinstance(res3._refit[0], NestedModel) and math.isfinite(res3.logLik)


def test_tiny_sampling_variance_warns_as_metafor() -> None:
    """metafor warns "'V' appears to be not positive definite." when an eigenvalue of V is at
    or below machine epsilon, even where V's Cholesky factor exists and QE is computed:
    dat.konstantopoulos2011 with vi[1] = 1e-17, metafor 3.8-1
    ``rma.mv(yi, vi, random = ~ 1 | district/school, data = dat,
    control = list(rel.tol = 1e-12))`` gives QE 1185.8513913041629, sigma2 0.0679755343345 and
    0.0324835886151, beta 0.1778346217447, logLik -7.6589831615254."""
    d = konst()
    d.loc[0, "vi"] = 1e-17
    with pytest.warns(MetareviewWarning, match="an eigenvalue <= machine epsilon") as rec:
        res = rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    assert not any("QE and QEp are not computed" in str(w.message) for w in rec)
    np.testing.assert_allclose([res.QE, *res.sigma2, *res.beta, res.logLik],
                               [1185.8513913041629, 0.0679755343345, 0.0324835886151,
                                0.1778346217447, -7.6589831615254], rtol=1e-6)


def test_unsorted_rows_give_the_sorted_fit() -> None:
    """Rows in any order: the same fit as the rows grouped by cluster."""
    d = shuffled(11)
    a = rma_mv("yi", "vi", data=d, random="~ 1 | study/es", mods="~ x")
    b = rma_mv("yi", "vi", data=d.sort_values("study", kind="stable"), random="~ 1 | study/es",
               mods="~ x")
    assert isinstance(a._refit[0], NestedModel) and a._refit[0].order is not None
    for name in ("beta", "se", "sigma2", "logLik", "QE", "QM"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10)


def test_fixed_component_fit_equals_dense() -> None:
    """A fixed sigma^2 (metafor's ``sigma2=c(0.05, NA)``) and test="t": the closed-form fit equals
    the dense one (V given as a sparse matrix takes the dense blocks)."""
    d = shuffled(7)
    kw = {"data": d, "random": "~ 1 | study/es", "mods": "~ x", "sigma2": [0.05, None],
          "test": "t"}
    a = rma_mv("yi", "vi", **kw)  # type: ignore[arg-type]
    b = rma_mv("yi", sparse.diags(d["vi"].to_numpy()), **kw)  # type: ignore[arg-type]
    assert isinstance(a._refit[0], NestedModel) and not isinstance(b._refit[0], NestedModel)
    assert a.sigma2[0] == pytest.approx(0.05, rel=1e-14)
    for name in ("beta", "se", "pval", "sigma2", "logLik", "QE", "QM"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10)
    np.testing.assert_allclose(a.confint().to_numpy(), b.confint().to_numpy(), rtol=1e-7)


def test_result_pickles_and_keeps_its_methods() -> None:
    """The result (with its lazily built blocks and evaluation) survives pickle, as on main."""
    import pickle

    res = rma_mv("yi", "vi", data=konst(), random="~ 1 | district/school")
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.beta, res.beta)
    np.testing.assert_array_equal(back.M_blocks[0][1], res.M_blocks[0][1])
    for key, frame in res.ranef().items():
        np.testing.assert_array_equal(back.ranef()[key].to_numpy(), frame.to_numpy())
