"""rma_batch and pad_groups: one array computation equals fitting each group with rma().

Expected values are rma() on each group (itself checked against metafor in test_goldens.py) and
the metafor goldens of tests/data/goldens_rma.json.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metareview.errors import ConvergenceError, ConvergenceWarning, InputError, MetareviewWarning
from metareview.models import pad_groups, rma, rma_batch
from metareview.models.batch import BATCH_COLUMNS

G = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "goldens_rma.json").read_text("utf-8")
)


def long_table() -> pd.DataFrame:
    names = ["bcg_RR", "normand1999_MD", "hackshaw1998_OR", "molloy2014_ZCOR", "hine1989_RD",
             "edge_k2", "edge_identical_yi", "edge_oscillating_reml"]
    frames = [
        pd.DataFrame({"ds": n, "yi": G["datasets"][n]["yi"], "vi": G["datasets"][n]["vi"]})
        for n in names
    ]
    # shuffle so that groups are not contiguous
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=3)


def test_pad_groups_left_aligns_and_keeps_order() -> None:
    codes = np.array([1, 0, 1, 2, 1])
    mask, (vals,) = pad_groups(codes, 3, np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    assert mask.tolist() == [[True, False, False], [True, True, True], [True, False, False]]
    assert vals[1].tolist() == [10.0, 30.0, 50.0]
    assert vals[0, 0] == 20.0 and np.isnan(vals[0, 1])


@pytest.mark.parametrize("method", ["EE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_batch_equals_one_by_one(method: str, test: str) -> None:
    df = long_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = rma_batch(df, by="ds", method=method, test=test)
    assert list(out.columns) == ["ds", *BATCH_COLUMNS]
    assert out["ds"].is_monotonic_increasing
    for row in out.itertuples(index=False):
        grp = df[df["ds"] == row.ds]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = rma(grp["yi"].to_numpy(), grp["vi"].to_numpy(), method=method, test=test)
        assert row.k == ref.k
        for col, attr in [("estimate", "beta"), ("se", "se"), ("pval", "pval"),
                          ("ci_lb", "ci_lb"), ("tau2", "tau2"), ("QE", "QE"), ("I2", "I2"),
                          ("H2", "H2")]:
            assert getattr(row, col) == pytest.approx(getattr(ref, attr), rel=1e-10, abs=1e-13)
        for col in ("tau2_ci_lb", "tau2_ci_ub", "pi_lb", "pi_ub", "se_tau2"):
            want = getattr(ref, col)
            got = getattr(row, col)
            if want is None:
                assert np.isnan(got)
            else:
                assert got == pytest.approx(want, rel=1e-10, abs=1e-13)


def test_batch_matches_metafor_goldens() -> None:
    """Each group of the long table reproduces metafor's REML fit (goldens, rtol 1e-6)."""
    with pytest.warns(ConvergenceWarning, match="bisection"):  # edge_oscillating_reml
        out = rma_batch(long_table(), by="ds", method="REML")
    for row in out.itertuples(index=False):
        f = next(f for f in G["fits"] if f["dataset"] == row.ds and f["method"] == "REML"
                 and f["test"] == "z" and f["level"] == 95 and f["tau2_fixed"] == "NA")
        assert row.estimate == pytest.approx(f["b"], rel=1e-6, abs=1e-9)
        assert row.tau2 == pytest.approx(f["tau2"], rel=1e-6, abs=1e-9)
        cap = max(100.0, 10.0 * f["tau2"])
        if abs(f["tau2.ci.ub"] - cap) <= 1e-9 * cap:
            # metafor stopped at its search cap (printed ">"); the true bound lies beyond it,
            # solved by the same core as rma() (checked against Q in test_goldens.py)
            assert row.tau2_ci_ub > cap
        else:
            assert row.tau2_ci_ub == pytest.approx(f["tau2.ci.ub"], rel=1e-6, abs=1e-9)


def test_multiple_by_columns_and_k1_groups() -> None:
    df = pd.DataFrame({
        "a": ["x", "x", "x", "y", "y", "y"],
        "b": [1, 1, 2, 1, 1, 1],
        "yi": [0.1, 0.3, 0.5, -0.2, 0.0, 0.4],
        "vi": [0.01, 0.02, 0.03, 0.01, 0.05, 0.02],
    })
    with pytest.warns(MetareviewWarning, match="k = 1"):
        out = rma_batch(df, by=["a", "b"])
    assert out[["a", "b", "k"]].values.tolist() == [["x", 1, 2], ["x", 2, 1], ["y", 1, 3]]
    single = out.iloc[1]
    assert single.estimate == 0.5 and single.tau2 == 0.0 and np.isnan(single.tau2_ci_lb)


def test_batch_input_errors_name_row_and_column() -> None:
    df = pd.DataFrame({"g": [1, 1, 2, 2], "yi": [0.1, 0.2, 0.3, 0.4], "vi": [0.1, 0.1, 0.0, 0.1]})
    with pytest.raises(InputError) as err:
        rma_batch(df, by="g")
    assert (err.value.row, err.value.field) == (3, "vi")
    with pytest.raises(InputError, match="no column 'grp'"):
        rma_batch(df, by="grp")
    df.loc[1, "yi"] = np.nan
    df.loc[2, "vi"] = 0.2
    with pytest.raises(InputError, match="missing"):
        rma_batch(df, by="g")
    with pytest.warns(MetareviewWarning, match="row\\(s\\) 2"), pytest.warns(
        MetareviewWarning, match="k = 1"
    ):
        out = rma_batch(df, by="g", na_action="omit")
    assert out["k"].tolist() == [1, 2]


def test_convergence_error_names_group(monkeypatch: pytest.MonkeyPatch) -> None:
    import metareview.models._core as core

    monkeypatch.setattr(
        core, "_solve_score",
        lambda d, m, c: (np.zeros(d.y.shape[0]), np.zeros(d.y.shape[0], dtype=bool)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConvergenceError, match="ds='bcg_RR'"):
            rma_batch(long_table(), by="ds", control={"maxiter": 1})
        out = rma_batch(long_table(), by="ds", control={"maxiter": 1}, on_fail="nan")
    assert out["estimate"].isna().any()


@pytest.mark.parametrize("test", ["z", "t", "knha"])
def test_batch_hsk_equals_rma_per_group(test: str) -> None:
    """``method="HSk"`` in the batch core (closed form) equals ``rma(method="HSk")`` (which fits
    it by the regression code, metafor's ``rma.uni``: ``(k/(k-p) RSS - k) / sum w``) per group to
    1e-12 (the Q-profile tau^2 CI, a root search in each, to 1e-7); the groups include
    k = 1, k = 2 and tau^2 truncated at 0 (edge_identical_yi)."""
    df = long_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = rma_batch(df, by="ds", method="HSk", test=test)
    assert out.attrs["method"] == "HSK"
    cols = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "tau2_ci_lb",
            "tau2_ci_ub", "I2", "H2", "QE", "QEp", "pi_lb", "pi_ub"]
    for row in out.itertuples(index=False):
        grp = df[df["ds"] == row.ds]
        y, v = grp["yi"].to_numpy(), grp["vi"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = rma(y, v, method="HSk", test=test)
        want = {c: getattr(ref, "beta" if c == "estimate" else c) for c in cols}
        want["zval"] = ref.zval
        for col in cols:
            w = np.nan if want[col] is None else float(np.ravel(want[col])[0])
            got = getattr(row, col)
            # the Q-profile CI is a root search in both codes (tolerance, not a closed form)
            rel = 1e-7 if col.startswith("tau2_ci") else 1e-12
            assert (np.isnan(got) and np.isnan(w)) or got == pytest.approx(
                w, rel=rel, abs=1e-14
            ), (row.ds, col)
        # hand calculation (w = 1/v, Q about the weighted mean, p = 1)
        w_ = 1.0 / v
        q = float(np.sum(w_ * (y - np.sum(w_ * y) / w_.sum()) ** 2))
        k = y.size
        hand = max(0.0, (k / (k - 1) * q - k) / w_.sum()) if k > 1 else 0.0
        assert row.tau2 == pytest.approx(hand, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("test", ["z", "t", "knha"])
def test_batch_pmm_equals_rma_per_group(test: str) -> None:
    """``method="PMM"`` in the batch core (the PM root search with the target
    ``qchisq(0.5, k - 1)``) equals ``rma(method="PMM")`` (Brent's method in
    metareview.models.estimators, metafor's ``rma.uni`` definition) per group to 1e-12 (the
    Q-profile tau^2 CI, a root search in each, to 1e-7); the groups include k = 1, k = 2 and
    tau^2 truncated at 0 (edge_identical_yi, hine1989_RD). By hand, each positive estimate
    solves ``Q(tau2) = qchisq(0.5, k - 1)``, ``Q`` about the ``1/(v + tau2)``-weighted mean."""
    from scipy import stats

    df = long_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = rma_batch(df, by="ds", method="PMM", test=test)
    assert out.attrs["method"] == "PMM"
    cols = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "tau2_ci_lb",
            "tau2_ci_ub", "I2", "H2", "QE", "QEp", "pi_lb", "pi_ub"]
    positive = 0
    for row in out.itertuples(index=False):
        grp = df[df["ds"] == row.ds]
        y, v = grp["yi"].to_numpy(), grp["vi"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = rma(y, v, method="PMM", test=test)
        for col in cols:
            val = getattr(ref, "beta" if col == "estimate" else col)
            w = np.nan if val is None else float(np.ravel(val)[0])
            got = getattr(row, col)
            rel = 1e-7 if col.startswith("tau2_ci") else 1e-12
            assert (np.isnan(got) and np.isnan(w)) or got == pytest.approx(
                w, rel=rel, abs=1e-14
            ), (row.ds, col)
        if row.tau2 > 0:
            positive += 1
            wt = 1.0 / (v + row.tau2)
            q = float(np.sum(wt * (y - np.sum(wt * y) / wt.sum()) ** 2))
            assert q == pytest.approx(stats.chi2.median(y.size - 1), rel=1e-12)
    assert positive >= 4


def test_batch_refuses_genq_clearly() -> None:
    """GENQ and GENQM need study weights, which the batch core does not take: a clear error
    naming where they are fitted, not "unknown method"."""
    df = pd.DataFrame({"g": [1, 1, 1], "yi": [0.1, 0.3, 0.2], "vi": [0.01, 0.02, 0.03]})
    for method in ("GENQ", "genqm"):
        with pytest.raises(InputError, match="rma\\(\\) and rma_reg\\(\\) only"):
            rma_batch(df, by="g", method=method)
