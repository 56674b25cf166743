"""metareview.models.subgroup against metafor 3.8, a hand calculation and properties.

Reference values: tests/data/goldens_models_extension.json ("subgroups"), written by
``Rscript scripts/goldens/models_extension.R``: for each subgroup level,
``rma(yi, vi, subset = (g == level), method=, test=, control=list(threshold=1e-12, tol=1e-12,
maxiter=5000))``; the common-tau^2 test is ``rma(yi, vi, mods = ~ factor(g), method=, test=)``
(QM, QMdf, QMp); the separate-tau^2 test is ``rma(estimates, sei = se, mods = ~ factor(level),
method = "FE")`` on the subgroup fits (QM, QMp). Datasets: dat.bcg by alloc, dat.pagliaro1992
(each active arm vs control) by treatment, dat.molloy2014 by design, dat.bangertdrowns2004 by
grade; methods EE, DL, REML, PM; tests z and knha. Agreement: rtol 1e-6 (atol 1e-9).
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from goldens_helpers import ATOL, RTOL, golden_frame, load_goldens, num
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metareview.errors import InputError
from metareview.models import rma, rma_batch, subgroup

G = load_goldens("goldens_models_extension.json")


def _close(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return abs(got - want) <= ATOL + RTOL * abs(want)


GROUP_FIELDS = {
    "b": "estimate", "se": "se", "zval": "zval", "pval": "pval", "ci.lb": "ci_lb",
    "ci.ub": "ci_ub", "tau2": "tau2", "I2": "I2", "H2": "H2", "QE": "QE", "QEp": "QEp",
}


@pytest.mark.parametrize(
    "s", G["subgroups"], ids=lambda s: f"{s['dataset']}-{s['by']}-{s['method']}-{s['test']}"
)
def test_subgroup_matches_metafor(s: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroup("yi", "vi", s["by"], data=golden_frame(G, s["dataset"]), method=s["method"],
                       test=s["test"])
    assert list(res.groups["group"]) == [g["level"] for g in s["groups"]]
    bad = []
    for i, g in enumerate(s["groups"]):
        row = res.groups.iloc[i]
        assert int(row["k"]) == g["k"]
        for key, col in GROUP_FIELDS.items():
            if not _close(float(row[col]), num(g[key])):
                bad.append(f"{g['level']} {key}: metafor {g[key]} metareview {row[col]}")
    pairs = {
        "common_QM": res.QM_common, "common_QMp": res.QMp_common,
        "separate_QM": res.Q_between, "separate_QMp": res.Q_between_p,
    }
    for key, got in pairs.items():
        if not _close(got, num(s[key])):
            bad.append(f"{key}: metafor {s[key]} metareview {got}")
    assert res.Q_between_df == int(num(s["separate_QMdf"]))
    assert not bad, "; ".join(bad)


def _worst_relative_error() -> float:
    worst = 0.0
    for s in G["subgroups"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = subgroup("yi", "vi", s["by"], data=golden_frame(G, s["dataset"]),
                           method=s["method"], test=s["test"])
        for i, g in enumerate(s["groups"]):
            for key, col in GROUP_FIELDS.items():
                want = num(g[key])
                if abs(want) > ATOL:
                    worst = max(worst, abs(float(res.groups.iloc[i][col]) - want) / abs(want))
        for key, got in (
            ("common_QM", res.QM_common), ("common_QMp", res.QMp_common),
            ("separate_QM", res.Q_between), ("separate_QMp", res.Q_between_p),
        ):
            worst = max(worst, abs(got - num(s[key])) / abs(num(s[key])))
    return worst


def test_max_relative_error_below_1e6() -> None:
    """The largest relative deviation from metafor over all subgroup goldens."""
    worst = _worst_relative_error()
    assert worst < RTOL, worst


def test_fixed_effect_q_partition_by_hand() -> None:
    """With equal-effects models, Q_total = Q_within + Q_between (Borenstein et al. 2009,
    ch. 19): here Q_between is computed from that identity, not from the estimates."""
    dat = golden_frame(G, "bcg_RR")
    res = subgroup("yi", "vi", "alloc", data=dat, method="EE")
    q_total = rma(dat["yi"], dat["vi"], method="EE").QE
    q_within = float(res.groups["QE"].sum())
    assert res.Q_between == pytest.approx(q_total - q_within, rel=1e-10)
    # with EE both tests coincide: the factor's QM in a fixed-effects meta-regression
    assert res.QM_common == pytest.approx(res.Q_between, rel=1e-10)


def test_groups_equal_rma_batch_and_summary() -> None:
    dat = golden_frame(G, "molloy2014_ZCOR")
    res = subgroup(dat, groups="design", method="REML", test="knha")
    batch = rma_batch(dat, by="design", method="REML", test="knha")
    np.testing.assert_allclose(res.groups["estimate"], batch["estimate"], rtol=1e-12)
    text = res.summary()
    assert "Test for Subgroup Differences:" in text and "F(df1 = 1, df2 = 14)" in text
    json.dumps(res.to_dict())
    assert res.p_between == res.Q_between_p
    common = subgroup(dat, groups="design", test_between="common")
    assert common.p_between == common.QMp_common


def test_bad_groups() -> None:
    dat = golden_frame(G, "bcg_RR")
    g = dat["alloc"].copy().astype(object)
    g[3] = None
    with pytest.raises(InputError) as exc:
        subgroup(dat["yi"], dat["vi"], g)
    assert exc.value.row == 4
    with pytest.warns(Warning):
        res = subgroup(dat["yi"], dat["vi"], g, na_action="omit")
    assert res.k == 12
    with pytest.raises(InputError, match="no column"):
        subgroup("yi", "vi", "nonesuch", data=dat)
    with pytest.raises(InputError, match="groups has"):
        subgroup(dat["yi"], dat["vi"], ["a", "b"])


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    k=st.integers(6, 24), seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["EE", "DL", "REML", "PM"]),
)
def test_permutation_invariance(k: int, seed: int, method: str) -> None:
    """Reordering the studies does not change the subgroup fits or either test."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 0.5, k)
    v = rng.uniform(0.01, 0.3, k)
    g = np.array(["a", "b", "c"])[np.arange(k) % 3]
    perm = rng.permutation(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = subgroup(y, v, g, method=method)
        b = subgroup(y[perm], v[perm], g[perm], method=method)
    np.testing.assert_allclose(b.groups["estimate"], a.groups["estimate"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.groups["tau2"], a.groups["tau2"], rtol=1e-7, atol=1e-10)
    assert b.Q_between == pytest.approx(a.Q_between, rel=1e-7, abs=1e-10)
    assert b.QM_common == pytest.approx(a.QM_common, rel=1e-6, abs=1e-10)


def test_subgroups_with_hsk_match_metafor_and_rma() -> None:
    """``method="HSk"`` (batch core): dat.bcg by alloc against metafor's ``rma(yi, vi, data = d,
    method = "HSk")`` per group and the separate-tau^2 test ``rma(estimates, sei = se, mods =
    ~ group, method = "FE")$QM`` (tests/data/cli/bcg_pool_goldens.json "by_alloc_hsk",
    "by_alloc_test_hsk"; scripts/goldens/cli_pool.R; rtol 1e-9), and ``rma(method="HSk")`` on
    each group (1e-12)."""
    from pathlib import Path

    cli = json.loads(
        (Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text("utf-8")
    )
    dat = golden_frame(G, "bcg_RR")
    res = subgroup(dat, groups="alloc", method="HSk")
    got = res.groups.set_index("group")
    for want in cli["by_alloc_hsk"]:
        row = got.loc[want["by"]]
        for col, key in [("estimate", "estimate"), ("se", "se"), ("tau2", "tau2"), ("I2", "I2"),
                         ("QE", "Q"), ("pi_lb", "pi_lower")]:
            assert row[col] == pytest.approx(want[key], rel=1e-9, abs=1e-12), (want["by"], col)
        d = dat[dat["alloc"] == want["by"]]
        ref = rma(d["yi"].to_numpy(), d["vi"].to_numpy(), method="HSk")
        assert row["estimate"] == pytest.approx(ref.beta, rel=1e-12)
        assert row["tau2"] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)
    t = cli["by_alloc_test_hsk"]
    assert res.Q_between == pytest.approx(t["Q"], rel=1e-9)
    assert res.Q_between_p == pytest.approx(t["pvalue"], rel=1e-9)


def test_subgroups_with_pmm_match_metafor_and_rma() -> None:
    """``method="PMM"`` (batch core): dat.bcg by alloc against metafor's ``rma(yi, vi, data = d,
    method = "PMM", control = ctrl)`` per group and the separate-tau^2 test ``rma(estimates,
    sei = se, mods = ~ group, method = "FE")$QM`` (tests/data/cli/bcg_pool_goldens.json
    "by_alloc_pmm", "by_alloc_test_pmm"; scripts/goldens/cli_pool.R; rtol 1e-9), and
    ``rma(method="PMM")`` on each group (1e-12)."""
    from pathlib import Path

    cli = json.loads(
        (Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text("utf-8")
    )
    dat = golden_frame(G, "bcg_RR")
    res = subgroup(dat, groups="alloc", method="PMM")
    got = res.groups.set_index("group")
    for want in cli["by_alloc_pmm"]:
        row = got.loc[want["by"]]
        for col, key in [("estimate", "estimate"), ("se", "se"), ("tau2", "tau2"), ("I2", "I2"),
                         ("QE", "Q"), ("pi_lb", "pi_lower")]:
            assert row[col] == pytest.approx(want[key], rel=1e-9, abs=1e-12), (want["by"], col)
        d = dat[dat["alloc"] == want["by"]]
        ref = rma(d["yi"].to_numpy(), d["vi"].to_numpy(), method="PMM")
        assert row["estimate"] == pytest.approx(ref.beta, rel=1e-12)
        assert row["tau2"] == pytest.approx(ref.tau2, rel=1e-12, abs=1e-15)
    t = cli["by_alloc_test_pmm"]
    assert res.Q_between == pytest.approx(t["Q"], rel=1e-9)
    assert res.Q_between_p == pytest.approx(t["pvalue"], rel=1e-9)
