"""gosh(): every subset refitted through the batch core, against metafor's ``gosh()``.

Goldens: ``tests/data/goldens_gosh.json`` from ``scripts/goldens/gosh.R``:
``gosh(rma(yi, vi, data = escalc("RR", ...)[1:8, ], method = M, control = ctrl))`` for M in EE,
DL, REML, PM (dat.bcg's first 8 trials; 255 subsets); ``res`` (k, QE, I2, H2, tau2, estimate)
and ``incl`` in metafor's row order.
"""

from __future__ import annotations

import numpy as np
import pytest
from goldens_helpers import ATOL, RTOL, load_goldens

from metareview.errors import InputError
from metareview.models import rma
from metareview.models.gosh import GOSH_COLUMNS, gosh, subset_matrix

G = load_goldens("goldens_gosh.json")
BCG8 = G["datasets"]["bcg8"]


@pytest.mark.parametrize("method", ["EE", "DL", "REML", "PM"])
def test_gosh_matches_metafor(method: str) -> None:
    want = G["gosh"][method]
    out = gosh(rma(BCG8["yi"], BCG8["vi"], method=method))
    assert out.exact and len(out) == 255 and out.fit.all()
    assert list(out.res.columns) == list(GOSH_COLUMNS)
    np.testing.assert_array_equal(out.incl.astype(int), np.array(want["incl"]))
    for col in GOSH_COLUMNS:
        np.testing.assert_allclose(
            out.res[col].to_numpy(float), np.array(want[col], float), rtol=RTOL, atol=ATOL,
            err_msg=f"{method} {col}",
        )  # fmt: skip


def test_subset_order_is_metafors_expand_grid_order() -> None:
    # k = 3 by hand: expand.grid over (study1, study2, study3) with study 1 varying fastest,
    # rows with no study dropped, then (stably) ordered by size.
    incl, exact = subset_matrix(3)
    assert exact
    want = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
    np.testing.assert_array_equal(incl.astype(int), want)


def test_random_subsets_are_distinct_and_each_row_is_an_rma_fit() -> None:
    y, v = np.array(G["datasets"]["bcg"]["yi"]), np.array(G["datasets"]["bcg"]["vi"])
    res = rma(y, v, method="REML")
    out = gosh(res, subsets=300, seed=7)
    assert not out.exact and len(out) == 300
    assert len({tuple(r) for r in out.incl}) == 300  # without replacement
    assert (np.diff(out.res["k"].to_numpy()) >= 0).all()  # ordered by k, as metafor
    np.testing.assert_array_equal(gosh(res, subsets=300, seed=7).incl, out.incl)
    for i in (0, 57, 150, 299):
        sel = out.incl[i]
        ref = rma(y[sel], v[sel], method="REML")
        row = out.res.iloc[i]
        assert row["k"] == sel.sum()
        assert row["estimate"] == pytest.approx(ref.beta, rel=1e-10)
        assert row["tau2"] == pytest.approx(ref.tau2, rel=1e-8, abs=1e-12)
        assert row["QE"] == pytest.approx(ref.QE, rel=1e-10)
        assert row["I2"] == pytest.approx(ref.I2, rel=1e-8, abs=1e-10)


def test_fixed_tau2_is_kept_and_frame_has_inclusion_columns() -> None:
    res = rma(BCG8["yi"], BCG8["vi"], tau2=0.1, slab=[f"s{i}" for i in range(8)])
    out = gosh(res)
    assert (out.res["tau2"] == 0.1).all()
    frame = out.to_frame()
    assert list(frame.columns) == [*GOSH_COLUMNS, *[f"s{i}" for i in range(8)]]
    assert (frame[[f"s{i}" for i in range(8)]].sum(axis=1) == frame["k"]).all()
    assert "Model fits attempted: 255" in out.summary()


def test_bad_input() -> None:
    with pytest.raises(InputError, match="k = 1"), pytest.warns(UserWarning, match="k = 1"):
        gosh(rma([0.1], [0.1]))
    with pytest.raises(InputError, match="rma"):
        gosh("not a model")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="backend"):
        gosh(rma(BCG8["yi"], BCG8["vi"]), backend="spark")



def test_flat_reml_subset_reaches_the_boundary() -> None:
    """The subset behind the largest difference from metafor's gosh() in
    benchmarks/gosh_benchmark.py (k = 16 simulated studies, seed 20261202; studies 2 4 7 10 12
    14 15 16): its REML maximum is at tau^2 = 0. By hand: the REML score at 0,
    ``y'PPy - tr P`` with ``P = W - W 1 1'W / sum w``, ``W = diag(1/v)``, is negative, so the
    estimate is the inverse-variance mean. metafor agrees at tight convergence
    (``rma(yi, vi, subset = ..., method = "REML", control = list(threshold = 1e-12))``:
    tau2 0, estimate 0.329902718726598); its gosh() at the default threshold 1e-5 stops at
    tau2 = 0.005635, estimate 0.341159 (benchmarks/results/gosh_benchmark.txt)."""
    rng = np.random.default_rng(20261202)
    vi = rng.uniform(0.01, 0.2, 16)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    out = gosh(rma(yi, vi, method="REML"))
    studies = [2, 4, 7, 10, 12, 14, 15, 16]
    want = np.isin(np.arange(1, 17), studies)
    row = out.res.iloc[int(np.nonzero((out.incl == want).all(axis=1))[0][0])]
    y, v = yi[want], vi[want]
    w = 1 / v
    P = np.diag(w) - np.outer(w, w) / w.sum()
    assert y @ P @ P @ y - np.trace(P) < 0  # the restricted likelihood falls from tau^2 = 0
    assert row["tau2"] == 0
    assert row["estimate"] == pytest.approx(np.sum(w * y) / w.sum(), rel=1e-12)
    assert row["estimate"] == pytest.approx(0.329902718726598, rel=1e-9)


GR = load_goldens("goldens_gosh_reg.json")


@pytest.mark.parametrize("name", list(GR["cases"]))
def test_gosh_meta_regression_matches_metafor(name: str) -> None:
    """gosh() of an rma_reg() fit against metafor's gosh() of rma(yi, vi, mods = ...) (the call
    is stored with the case; scripts/goldens/gosh_reg.R, tight control): the subsets of at
    least p studies in metafor's order, which fits fail (NA: too few studies for the
    coefficients and tau^2, or a model matrix not of full rank), and k, QE, I2, H2, tau2 and
    every coefficient."""
    import pandas as pd

    from metareview.models import rma_reg

    case = GR["cases"][name]
    data = pd.DataFrame({m: GR["data"][m] for m in ("yi", "vi", "ablat", "year")})
    mods = case["mods"] if isinstance(case["mods"], list) else [case["mods"]]
    res = rma_reg(data["yi"], data["vi"], mods=mods, data=data, method=case["method"],
                  control={"threshold": 1e-12, "tol": 1e-12, "maxiter": 5000})
    out = gosh(res)
    assert out.exact
    assert list(out.res.columns) == list(case["columns"])
    np.testing.assert_array_equal(out.incl.astype(int), np.array(case["incl"]))
    np.testing.assert_array_equal(out.fit, np.array(case["fit"], bool))
    for col in case["columns"]:
        want = np.array([np.nan if x == "NA" else x for x in case["res"][col]], float)
        np.testing.assert_allclose(out.res[col].to_numpy(float), want, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name} {col}")


def test_gosh_meta_regression_random_subsets_and_plot_error() -> None:
    """Random subsets of a meta-regression have at least p studies and are distinct; each row
    is the rma_reg() fit of its subset; gosh_plot refuses it with a clear error."""
    import pandas as pd

    from metareview.models import rma_reg
    from metareview.report.gosh_plot import gosh_plot

    data = pd.DataFrame({m: GR["data"][m] for m in ("yi", "vi", "ablat")})
    res = rma_reg(data["yi"], data["vi"], mods="ablat", data=data, method="REML")
    out = gosh(res, subsets=200, seed=3)
    assert not out.exact and len(out) == 200
    assert (out.incl.sum(axis=1) >= 2).all()
    assert len({tuple(r) for r in out.incl}) == 200
    i = int(np.nonzero(out.fit)[0][-1])
    sel = out.incl[i]
    ref = rma_reg(data["yi"][sel], data["vi"][sel], mods="ablat",
                  data=data[sel].reset_index(drop=True), method="REML")
    assert out.res["ablat"].iloc[i] == pytest.approx(ref.beta[1], rel=1e-10)
    assert out.res["tau2"].iloc[i] == pytest.approx(ref.tau2, rel=1e-8, abs=1e-12)
    with pytest.raises(InputError, match="intercept-only"):
        gosh_plot(out)


def _bcg_reg(method: str, mods: list[str], **kw: object) -> object:
    import pandas as pd

    from metareview.models import rma_reg

    data = pd.DataFrame({m: GR["data"][m] for m in ("yi", "vi", "ablat", "year")})
    return rma_reg(data["yi"], data["vi"], mods=mods, data=data, method=method, **kw)


@pytest.mark.parametrize(
    "method", ["REML", "ML", "EB", "DL", "HS", "HSk", "HE", "SJ", "PM", "PMM", "EE"]
)
def test_gosh_meta_regression_batched_equals_one_at_a_time(method: str) -> None:
    """The stacked fits of metareview.models._regbatch equal rma_reg()'s core refitted to each
    subset in turn (gosh._reg_rows_one_by_one) to 1e-10 (atol 1e-12: a tau^2 far below mean(v)
    is converged to threshold * mean(v) only), with the same failed (NaN) rows: 300 random
    subsets of dat.bcg[1:10] ~ ablat, among them pairs with equal ablat (rank-deficient)."""
    from metareview.models.gosh import _gosh_reg

    res = _bcg_reg(method, ["ablat"])
    batched = _gosh_reg(res, 300, 11)
    loop = _gosh_reg(res, 300, 11, batched=False)
    np.testing.assert_array_equal(batched.incl, loop.incl)
    np.testing.assert_array_equal(batched.fit, loop.fit)
    np.testing.assert_allclose(batched.res.to_numpy(float), loop.res.to_numpy(float),
                               rtol=1e-10, atol=1e-12)
    assert batched.fit.sum() > 250


def test_gosh_meta_regression_batched_is_exact_where_the_loop_rounds() -> None:
    """~ ablat + year (3 coefficients from 4 studies: ill-conditioned X'WX): the two paths agree
    to 1e-8; where they differ most (DL; studies 6 7 8 9 of dat.bcg[1:10], 6e-10 relative), the
    batched tau^2 is the exact one: DL's ``(y'Py - (k-p)) / tr P`` in rational arithmetic
    (fractions.Fraction on the same doubles) by hand in this test. (The one-at-a-time path forms
    the k x k matrix P and (X'WX)^-1, and loses digits in tr P.)"""
    from fractions import Fraction

    from metareview.models.gosh import _gosh_reg

    res = _bcg_reg("DL", ["ablat", "year"])
    batched = _gosh_reg(res, None, None)
    loop = _gosh_reg(res, None, None, batched=False)
    a, b = batched.res.to_numpy(float), loop.res.to_numpy(float)
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    i = int(np.nanargmax(np.abs(a[:, 4] - b[:, 4]) / np.abs(b[:, 4] + 1e-300)))
    row = batched.incl[i]
    y = [Fraction(float(z)) for z in np.asarray(res.yi)[row]]
    v = [Fraction(float(z)) for z in np.asarray(res.vi)[row]]
    x = [[Fraction(float(z)) for z in r] for r in np.asarray(res.X)[row]]
    k, p = len(y), len(x[0])
    w = [1 / z for z in v]

    def solve(m: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
        aug = [[*m[r], rhs[r]] for r in range(p)]
        for c in range(p):
            for r in range(p):
                if r != c:
                    f = aug[r][c] / aug[c][c]
                    aug[r] = [aug[r][q] - f * aug[c][q] for q in range(p + 1)]
        return [aug[r][p] / aug[r][r] for r in range(p)]

    xwx = [[sum(w[j] * x[j][r] * x[j][c] for j in range(k)) for c in range(p)] for r in range(p)]
    beta = solve(xwx, [sum(w[j] * x[j][r] * y[j] for j in range(k)) for r in range(p)])
    rss = sum(w[j] * (y[j] - sum(x[j][c] * beta[c] for c in range(p))) ** 2 for j in range(k))
    # tr P = sum w - tr((X'WX)^-1 X'W^2X), column by column of (X'WX)^-1 X'W^2X
    w2 = [[sum(w[j] ** 2 * x[j][r] * x[j][c] for j in range(k)) for r in range(p)]
          for c in range(p)]
    trp = sum(w) - sum(solve(xwx, w2[c])[c] for c in range(p))
    exact = float(max(Fraction(0), (rss - (k - p)) / trp))
    assert a[i, 4] == pytest.approx(exact, rel=1e-11)
    assert abs(a[i, 4] - exact) <= abs(b[i, 4] - exact)


def test_gosh_meta_regression_unsettled_rows_are_solved_in_the_batch() -> None:
    """With control maxiter = 3 REML's Fisher scoring does not settle for some subsets; the
    stacked fits then solve the estimating equation by bisection (``_regbatch._score_root``),
    as the one-at-a-time path does by Brent's method, so no row is left to redo and both paths
    agree (1e-10)."""
    from metareview.models._regbatch import _Data, _scoring, fit_subsets
    from metareview.models.gosh import _gosh_reg

    with pytest.warns(UserWarning, match="did not converge within 3"):
        res = _bcg_reg("REML", ["ablat"], control={"maxiter": 3})
    batched = _gosh_reg(res, 200, 5)
    y, v, X = np.asarray(res.yi), np.asarray(res.vi), np.asarray(res.X)
    big = batched.incl[batched.incl.sum(axis=1) >= 3]  # rows with tau^2 to estimate
    with np.errstate(all="ignore"):
        _, conv = _scoring(_Data(y, v, X, big.astype(float)), "REML", res.control)
    assert 0 < (~conv).sum() < big.shape[0]
    _, redo = fit_subsets(y, v, X, batched.incl, method="REML", control=res.control)
    assert not redo.any()
    loop = _gosh_reg(res, 200, 5, batched=False)
    np.testing.assert_array_equal(batched.fit, loop.fit)
    np.testing.assert_allclose(batched.res.to_numpy(float), loop.res.to_numpy(float),
                               rtol=1e-10, atol=1e-12)


def test_gosh_meta_regression_rows_left_unsettled_are_fitted_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows the stacked fits leave unsettled (here: all of scoring's, with the root step made
    a no-op) are refitted one at a time (Brent's method there), so both paths still agree."""
    from metareview.models import _regbatch
    from metareview.models.gosh import _gosh_reg

    with pytest.warns(UserWarning, match="did not converge within 3"):
        res = _bcg_reg("REML", ["ablat"], control={"maxiter": 3})
    monkeypatch.setattr(_regbatch, "_score_root", lambda d, t, conv, method, control: (t, conv))
    _, redo = _regbatch.fit_subsets(np.asarray(res.yi), np.asarray(res.vi), np.asarray(res.X),
                                    _gosh_reg(res, 200, 5).incl, method="REML",
                                    control=res.control)  # fmt: skip
    assert 0 < redo.sum() < 200
    batched = _gosh_reg(res, 200, 5)
    loop = _gosh_reg(res, 200, 5, batched=False)
    np.testing.assert_array_equal(batched.fit, loop.fit)
    np.testing.assert_allclose(batched.res.to_numpy(float), loop.res.to_numpy(float),
                               rtol=1e-10, atol=1e-12)


def test_gosh_meta_regression_refuses_user_weights() -> None:
    res = _bcg_reg("DL", ["ablat"], weights=np.arange(1.0, 11.0))
    with pytest.raises(InputError, match="user weights"):
        gosh(res)


def test_gosh_of_a_pmm_fit_refits_each_subset_as_rma() -> None:
    """PMM is in the batch core now, so gosh() takes a PMM fit: each row is
    ``rma(yi[S], vi[S], method="PMM")`` (1e-12)."""
    y, v = np.array(BCG8["yi"]), np.array(BCG8["vi"])
    out = gosh(rma(y, v, method="PMM"))
    assert out.fit.all() and out.method == "PMM"
    for i in (9, 40, 120, 200, 254):  # subsets of 2 to 8 studies
        sel = out.incl[i]
        ref = rma(y[sel], v[sel], method="PMM")
        assert out.res["estimate"].iloc[i] == pytest.approx(ref.beta, rel=1e-12)
        assert out.res["tau2"].iloc[i] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("method", "kw"),
    [("REML", {"tau2": 0.05}), ("SJ", {"control": {"tau2_init": 0.03}}), ("DL", {"test": "knha"})],
)
def test_gosh_meta_regression_batched_keeps_fixed_tau2_and_sj_start(
    method: str, kw: dict[str, object]
) -> None:
    """A fixed tau^2 (subsets of p = 2 studies then fit: no tau^2 to estimate), an SJ start
    (control tau2_init) and the fit's test (irrelevant to gosh's columns) are carried by the
    stacked fits as by the one-at-a-time path (1e-10), over all 1,013 subsets of >= 2 trials."""
    from metareview.models.gosh import _gosh_reg

    res = _bcg_reg(method, ["ablat"], **kw)
    batched = _gosh_reg(res, None, None)
    loop = _gosh_reg(res, None, None, batched=False)
    np.testing.assert_array_equal(batched.fit, loop.fit)
    np.testing.assert_allclose(batched.res.to_numpy(float), loop.res.to_numpy(float),
                               rtol=1e-10, atol=1e-12)
    if "tau2" in kw:
        assert (batched.res["tau2"][batched.fit] == 0.05).all()
        assert batched.fit.sum() == 1010  # all but the 3 pairs with equal ablat (rank 1)
