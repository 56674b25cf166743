"""metareview.models regtest / ranktest / trimfill against metafor 3.8 and hand calculations.

Reference values: tests/data/goldens_models_extension.json, written by
``Rscript scripts/goldens/models_extension.R``. For dat.hackshaw1998, dat.bcg (RR),
dat.molloy2014 (ZCOR), dat.raudenbush1985, dat.bangertdrowns2004 and dat.pagliaro1992 (OR of
each active arm vs control), a model ``res <- rma(yi, vi, method=, test=, control=list(
threshold=1e-12, tol=1e-12, maxiter=5000))`` (EE, DL, REML, ML, PM; z and knha) is passed to

- ``regtest(res, model = "rma" | "lm", predictor = "sei" | "vi" | "ni" | "ninv" | "sqrtninv")``
  ("regtest": zval, pval, ddf, limit estimate and CI, slope);
- ``ranktest(res)`` and ``ranktest(res, exact = FALSE)`` ("ranktest": tau, p);
- ``trimfill(res, estimator = "L0" | "R0" | "Q0", side = <auto> | "left" | "right",
  control = <the same>, test = <res's test>)`` ("trimfill": side, k0, se.k0, p.k0, the filled
  model, the filled yi).

Agreement: rtol 1e-6 (atol 1e-9 for values that are 0 in exact arithmetic).
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import ATOL, RTOL, golden_frame, load_goldens, num
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metareview.errors import ConvergenceError, InputError
from metareview.models import RMAResult, ranktest, regtest, rma, trimfill

G = load_goldens("goldens_models_extension.json")


def _frame(name: str) -> pd.DataFrame:
    df = golden_frame(G, name)
    return df[df["yi"].notna() & df["vi"].notna()].reset_index(drop=True)


_FITS: dict[tuple[str, str, str], tuple[pd.DataFrame, RMAResult]] = {}


def _fitted(name: str, method: str, test: str) -> tuple[pd.DataFrame, RMAResult]:
    key = (name, method, test)
    if key not in _FITS:
        df = _frame(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[key] = (df, rma(df["yi"], df["vi"], method=method, test=test))
    return _FITS[key]


def _check(tag: str, got: float | None, want: float, bad: list[str]) -> float:
    g = math.nan if got is None else float(got)
    if math.isnan(want):
        if not math.isnan(g):
            bad.append(f"{tag}: metafor NA metareview {g}")
        return 0.0
    if abs(want) <= ATOL:
        if abs(g - want) > ATOL:
            bad.append(f"{tag}: metafor {want} metareview {g}")
        return 0.0
    err = abs(g - want) / abs(want)
    if err > RTOL:
        bad.append(f"{tag}: metafor {want} metareview {g}")
    return err


# --------------------------------------------------------------------------- regtest


def _regtest(t: dict[str, Any]) -> Any:
    df, res = _fitted(t["dataset"], t["method"], t["test"])
    ni = df["ni"] if "ni" in df.columns else None
    return regtest(res, model=t["model"], predictor=t["predictor"], ni=ni)


def _regtest_errors(t: dict[str, Any], bad: list[str]) -> float:
    r = _regtest(t)
    got = {
        "zval": r.zval, "pval": r.pval, "ddf": r.ddf, "est": r.est, "ci.lb": r.ci_lb,
        "ci.ub": r.ci_ub, "slope": r.fit.beta[1],
    }
    if t["model"] == "rma":
        got["tau2"] = r.fit.tau2
    return max(_check(k, v, num(t[k]), bad) for k, v in got.items())


@pytest.mark.parametrize(
    "t", G["regtest"],
    ids=lambda t: f"{t['dataset']}-{t['method']}-{t['test']}-{t['model']}-{t['predictor']}",
)
def test_regtest_matches_metafor(t: dict[str, Any]) -> None:
    bad: list[str] = []
    _regtest_errors(t, bad)
    assert not bad, "; ".join(bad)


def test_egger_1997_regression_by_hand() -> None:
    """Egger et al. (1997): OLS of the standard normal deviate y/se on the precision 1/se; the
    intercept measures asymmetry, t test on k - 2 df. Written out with numpy's least squares,
    it equals regtest(model="lm") (whose slope on sei is that intercept)."""
    df, res = _fitted("hackshaw1998_OR", "EE", "z")
    se = np.sqrt(df["vi"].to_numpy())
    snd = df["yi"].to_numpy() / se
    design = np.column_stack([np.ones(se.size), 1 / se])
    coef, rss, _, _ = np.linalg.lstsq(design, snd, rcond=None)
    k = se.size
    sigma2 = float(rss[0]) / (k - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    t_int = coef[0] / math.sqrt(cov[0, 0])
    from scipy import stats

    p_int = 2 * stats.t.sf(abs(t_int), k - 2)
    r = regtest(res, model="lm")
    assert r.ddf == k - 2
    assert r.zval == pytest.approx(t_int, rel=1e-10)
    assert r.pval == pytest.approx(p_int, rel=1e-8)
    assert r.est == pytest.approx(coef[1], rel=1e-10)  # the limit estimate is Egger's slope


def test_regtest_text_and_errors() -> None:
    _, res = _fitted("hackshaw1998_OR", "REML", "z")
    r = regtest(res)
    text = r.summary()
    assert "Regression Test for Funnel Plot Asymmetry" in text
    assert "mixed-effects meta-regression model" in text and "Limit Estimate" in text
    json.dumps(r.to_dict())
    with pytest.raises(InputError, match="sample sizes"):
        regtest(res, predictor="ni")
    with pytest.raises(InputError, match="unknown predictor"):
        regtest(res, predictor="nonesuch")  # type: ignore[arg-type]
    arrays = regtest(res.yi, res.vi)
    assert arrays.zval == pytest.approx(r.zval, rel=1e-10)


# --------------------------------------------------------------------------- ranktest


@pytest.mark.parametrize("t", G["ranktest"], ids=lambda t: t["dataset"])
def test_ranktest_matches_metafor(t: dict[str, Any]) -> None:
    _, res = _fitted(t["dataset"], "EE", "z")
    bad: list[str] = []
    r = ranktest(res)
    _check("tau", r.tau, num(t["tau"]), bad)
    _check("pval", r.pval, num(t["pval"]), bad)
    assert r.exact is not t["ties"]
    _check("pval_normal", ranktest(res, exact=False).pval, num(t["pval_normal"]), bad)
    assert not bad, "; ".join(bad)


def test_ranktest_exact_p_by_enumeration() -> None:
    """The exact two-sided p of Kendall's tau (no ties) for k = 7, from all 7! orderings:
    P(|S| >= |S_obs|) where S = concordant - discordant pairs (Kendall 1938)."""
    y = np.array([0.42, -0.10, 0.35, 0.05, 0.61, 0.20, -0.30])
    v = np.array([0.20, 0.02, 0.15, 0.05, 0.30, 0.09, 0.04])
    r = ranktest(y, v)
    w = 1 / v
    theta = (w * y).sum() / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())

    def s_stat(a: np.ndarray, b: np.ndarray) -> int:
        return int(sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
                       for i in range(len(a)) for j in range(i)))

    s_obs = s_stat(ystar, v)
    ranks = np.arange(7)
    dist = [s_stat(ranks, np.array(p)) for p in itertools.permutations(ranks)]
    p_exact = np.mean(np.abs(dist) >= abs(s_obs))
    assert r.exact
    assert r.tau == pytest.approx(s_obs / 21, rel=1e-12)
    assert r.pval == pytest.approx(p_exact, rel=1e-12)


# --------------------------------------------------------------------------- trimfill


def _tf_id(t: dict[str, Any]) -> str:
    return f"{t['dataset']}-{t['method']}-{t['estimator']}-{t['side_arg']}"


def _trimfill_errors(t: dict[str, Any], bad: list[str]) -> float:
    _, res = _fitted(t["dataset"], t["method"], t["test"])
    side = None if t["side_arg"] == "auto" else t["side_arg"]
    r = trimfill(res, estimator=t["estimator"], side=side)
    if r.side != t["side"] or r.k0 != t["k0"]:
        bad.append(f"side/k0: metafor {t['side']}/{t['k0']} metareview {r.side}/{r.k0}")
        return math.inf
    fit = r.fit
    got = {
        "se.k0": r.se_k0, "p.k0": r.p_k0, "b": fit.beta, "se": fit.se, "zval": fit.zval,
        "pval": fit.pval, "ci.lb": fit.ci_lb, "ci.ub": fit.ci_ub, "tau2": fit.tau2,
        "QE": fit.QE, "QEp": fit.QEp, "I2": fit.I2,
    }
    worst = max(_check(k, v, num(t[k]), bad) for k, v in got.items())
    yi = np.atleast_1d(np.array([num(e) for e in np.atleast_1d(t["yi"])]))
    np.testing.assert_allclose(fit.yi, yi, rtol=RTOL, atol=ATOL)
    assert list(r.fill) == list(np.atleast_1d(t["fill"]))
    assert fit.k == t["k"]
    return worst


@pytest.mark.parametrize("t", G["trimfill"], ids=_tf_id)
def test_trimfill_matches_metafor(t: dict[str, Any]) -> None:
    bad: list[str] = []
    _trimfill_errors(t, bad)
    assert not bad, "; ".join(bad)


def test_trimfill_goldens_exercise_filling() -> None:
    """The goldens include fills on both sides and with every estimator."""
    filled = {(t["side"], t["estimator"]) for t in G["trimfill"] if t["k0"] > 0}
    assert {("left", "L0"), ("left", "R0"), ("left", "Q0"), ("right", "L0")} <= filled


def test_trimfill_r0_pvalue_and_mirroring_by_hand() -> None:
    """R0's p-value is 1 - sum_{m=-1}^{k0-1} 0.5^(m+2) = 0.5^(k0+1) (Duval & Tweedie 2000b);
    each filled study is the mirror image 2 beta - y_i of a trimmed one, with the same v_i."""
    _, res = _fitted("hackshaw1998_OR", "EE", "z")
    r = trimfill(res, estimator="R0")
    assert r.k0 > 0
    assert r.p_k0 == pytest.approx(0.5 ** (r.k0 + 1), rel=1e-15)
    filled_y = r.fit.yi[r.fill]
    filled_v = r.fit.vi[r.fill]
    mirrored = 2 * _trim_beta(res, r.k0) - filled_y
    largest = np.sort(res.yi)[::-1][: r.k0]
    np.testing.assert_allclose(np.sort(mirrored), np.sort(largest), rtol=1e-10)
    assert set(np.round(filled_v, 12)) <= set(np.round(res.vi, 12))
    text = r.summary()
    assert "Estimated number of missing studies on the left side" in text
    assert "Test of H0: no missing studies" in text
    json.dumps(r.to_dict())


def _trim_beta(res: RMAResult, k0: int) -> float:
    keep = np.argsort(res.yi, kind="stable")[: res.k - k0]
    w = 1 / res.vi[keep]
    return float((w * res.yi[keep]).sum() / w.sum())


def test_trimfill_symmetric_data_fills_nothing() -> None:
    """Perfectly symmetric effects about their EE mean give L0 = 0 and the original model."""
    y = np.array([-0.3, -0.1, 0.0, 0.1, 0.3])
    v = np.array([0.05, 0.02, 0.01, 0.02, 0.05])
    res = rma(y, v, method="EE")
    r = trimfill(res, side="left")
    assert r.k0 == 0
    assert r.fit is res
    with pytest.warns(Warning), pytest.raises(InputError):
        trimfill(rma([0.1], [0.1]))  # k = 1


def test_max_relative_error_below_1e6() -> None:
    """The largest relative deviation from metafor over the regtest and trimfill goldens."""
    bad: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = max(
            max(_regtest_errors(t, bad) for t in G["regtest"]),
            max(_trimfill_errors(t, bad) for t in G["trimfill"]),
        )
    assert worst < RTOL, (worst, bad[:3])


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(k=st.integers(5, 25), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(["EE", "DL", "REML"]))
def test_permutation_invariance(k: int, seed: int, method: str) -> None:
    """Reordering the studies changes none of the three methods' results."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.2, 0.3, k) + 0.8 * np.sqrt(v) * rng.uniform(0, 1, k)
    perm = rng.permutation(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = rma(y, v, method=method), rma(y[perm], v[perm], method=method)
        assert regtest(b).zval == pytest.approx(regtest(a).zval, rel=1e-7, abs=1e-9)
        assert ranktest(b).pval == pytest.approx(ranktest(a).pval, rel=1e-9)
        try:
            ta = trimfill(a)
        except ConvergenceError:  # as metafor's; then it must fail in any order
            with pytest.raises(ConvergenceError):
                trimfill(b)
            return
        tb = trimfill(b)
    assert (ta.k0, ta.side) == (tb.k0, tb.side)
    assert tb.fit.beta == pytest.approx(ta.fit.beta, rel=1e-7, abs=1e-9)


def test_trimfill_that_oscillates_is_a_convergence_error() -> None:
    # Found by hypothesis (k = 12, default_rng(12)). metafor 3.8.1 on the same data:
    # trimfill(rma(yi, vi, method = "DL")) alternates missing = 4 / 5 and stops with
    # "Trim and fill algorithm did not converge."
    rng = np.random.default_rng(12)
    v = rng.uniform(0.01, 0.5, 12)
    y = rng.normal(0.2, 0.3, 12) + 0.8 * np.sqrt(v) * rng.uniform(0, 1, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = rma(y, v, method="DL")
    with pytest.raises(ConvergenceError, match=r"alternates, last [45] and [45]"):
        trimfill(fit)
