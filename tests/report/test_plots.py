"""Tests of the forest and funnel plots.

The data are metafor's ``dat.bcg`` (BCG vaccine trials; Colditz et al. 1994), pooled as log
risk ratios with DerSimonian-Laird. Expected pooled values and weights are metafor 3.8.1's:

    dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    res <- rma(yi, vi, data=dat, method="DL")
    exp(c(res$b, res$ci.lb, res$ci.ub))  # 0.4896242 0.3449191 0.6950377
    predict(res)                         # pi.lb -1.8582, pi.ub 0.4299
    round(weights(res), 4)               # 5.0365 6.3473 4.4120 9.7176 ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from metareview.effects import escalc
from metareview.errors import InputError
from metareview.models import rma
from metareview.models.subgroup import subgroup
from metareview.report.plots import (
    arm_columns,
    figure_svg,
    forest_plot,
    funnel_plot,
    save_figure,
)

BCG_AUTHOR = [
    "Aronson", "Ferguson & Simes", "Rosenthal et al", "Hart & Sutherland",
    "Frimodt-Moller et al", "Stein & Aronson", "Vandiviere et al", "TPT Madras",
    "Coetzee & Berjak", "Rosenthal et al", "Comstock et al", "Comstock & Webster",
    "Comstock et al",
]  # fmt: skip
BCG_YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976]
BCG_TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
BCG_TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
BCG_CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
BCG_CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
METAFOR_WEIGHTS = [
    5.0365, 6.3473, 4.4120, 9.7176, 8.8754, 10.1211, 6.0079, 10.2163, 8.7484, 8.3683, 9.9475,
    3.7977, 8.4039,
]  # fmt: skip


@pytest.fixture(scope="module")
def bcg_fit():  # type: ignore[no-untyped-def]
    dat = escalc("RR", ai=BCG_TPOS, bi=BCG_TNEG, ci=BCG_CPOS, di=BCG_CNEG)
    slab = [f"{a}, {y}" for a, y in zip(BCG_AUTHOR, BCG_YEAR, strict=True)]
    return rma(dat["yi"], dat["vi"], method="DL", measure="RR", slab=slab)


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def diamond(fig: Figure) -> np.ndarray:
    polys = [p for p in fig.axes[0].patches if isinstance(p, Polygon)]
    assert len(polys) == 1
    return np.asarray(polys[0].get_xy())


def test_forest_ratio_measure_matches_metafor(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    fig = forest_plot(bcg_fit)
    shown = texts(fig)
    # Weights as metafor's weights(res), to one decimal.
    for w in METAFOR_WEIGHTS:
        assert f"{w:.1f}%" in shown
    # The pooled row: exp(b) [exp(ci.lb), exp(ci.ub)] = 0.49 [0.34, 0.70].
    assert "0.49 [0.34, 0.70]" in shown
    # Prediction interval exp(-1.8582), exp(0.4299) = 0.16, 1.54.
    assert f"[{math.exp(-1.8582):.2f}, {math.exp(0.4299):.2f}]" in shown
    assert "Prediction interval" in shown
    # Heterogeneity line: tau2 0.3088, Q 152.23, df 12, I2 92.1% (metafor).
    het = next(t for t in shown if t.startswith("Heterogeneity"))
    assert "τ² = 0.3088" in het and "Q = 152.23" in het and "df = 12" in het
    assert "I² = 92.1%" in het
    assert any(t.startswith("Test for overall effect: z = ") for t in shown)
    # Ratio measures are drawn on the log scale: the diamond spans the model-scale CI.
    xy = diamond(fig)
    assert xy[:, 0].min() == pytest.approx(-1.0644452801, abs=1e-6)
    assert xy[:, 0].max() == pytest.approx(-0.3637891641, abs=1e-6)
    # Tick labels are ratios at log positions (1 sits at 0).
    ax = fig.axes[0]
    labels = {t.get_text(): pos for t, pos in zip(ax.get_xticklabels(), ax.get_xticks(),
                                                    strict=True)}  # fmt: skip
    assert labels["1"] == pytest.approx(0.0)
    assert labels["0.5"] == pytest.approx(math.log(0.5))
    assert ax.get_xlabel() == "Risk ratio (log scale)"
    # One row per study, labelled.
    for a in BCG_AUTHOR:
        assert any(t.startswith(a) for t in shown)


def test_forest_study_intervals_use_normal_quantile(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    # Aronson 1948: yi = log((4/123)/(11/139)) = -0.889311, vi = 1/4 - 1/123 + 1/11 - 1/139
    # = 0.325585; CI exp(yi -/+ 1.959964 * sqrt(vi)) = 0.13 to 1.26 (hand calculation).
    yi = math.log((4 / 123) / (11 / 139))
    vi = 1 / 4 - 1 / 123 + 1 / 11 - 1 / 139
    lo, hi = math.exp(yi - 1.959964 * math.sqrt(vi)), math.exp(yi + 1.959964 * math.sqrt(vi))
    assert f"{math.exp(yi):.2f} [{lo:.2f}, {hi:.2f}]" in texts(forest_plot(bcg_fit))


def test_forest_proportions_back_transformed() -> None:
    # Logit proportions 3/30, 7/20, 2/9, 4/14: the axis and numbers are proportions.
    xi = np.array([3, 7, 2, 4])
    ni = np.array([30, 20, 9, 14])
    dat = escalc("PLO", xi=xi, ni=ni)
    res = rma(dat["yi"], dat["vi"], method="DL", measure="PLO", slab=list("ABCD"))
    fig = forest_plot(res)
    shown = texts(fig)
    # Study A: 3/30 = 0.10.
    assert any(t.startswith("0.10 [") for t in shown)
    xy = diamond(fig)
    expit = 1 / (1 + np.exp(-np.array([res.ci_lb, res.beta, res.ci_ub])))
    assert xy[:, 0].min() == pytest.approx(expit[0])
    assert xy[:, 0].max() == pytest.approx(expit[2])
    assert fig.axes[0].get_xlabel() == "Proportion"
    # No test against logit = 0 (a proportion of 0.5) is printed for a single-group measure.
    assert not any(t.startswith("Test for overall effect") for t in shown)


def test_forest_common_effect_has_no_prediction_interval(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    res = rma(bcg_fit.yi, bcg_fit.vi, method="EE", measure="RR")
    shown = texts(forest_plot(res))
    assert "Prediction interval" not in shown
    assert "Common-effect model" in shown


def test_forest_knapp_hartung_label(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    res = rma(bcg_fit.yi, bcg_fit.vi, method="REML", test="knha", measure="RR")
    shown = texts(forest_plot(res))
    assert "Random-effects model (REML, Knapp–Hartung)" in shown
    assert any(t.startswith("Test for overall effect: t(12) = ") for t in shown)


@dataclass(frozen=True)
class StandIn:
    """A hand-computed common-effect fit of two studies (any object with RMAResult's fields).

    yi = (1, 3), vi = (1, 1): w = (1, 1), beta = 2, se = 1/sqrt(2), Q = (1-2)^2 + (3-2)^2 = 2.
    """

    k: int = 2
    measure: str = "MD"
    method: str = "EE"
    test: str = "z"
    level: float = 95.0
    beta: float = 2.0
    se: float = 1 / math.sqrt(2)
    zval: float = 2 * math.sqrt(2)
    pval: float = 0.004677734981047266  # 2 * pnorm(-2 * sqrt(2))
    ci_lb: float = 2 - 1.959963984540054 / math.sqrt(2)
    ci_ub: float = 2 + 1.959963984540054 / math.sqrt(2)
    tau2: float = 0.0
    I2: float = 50.0  # (Q - df) / Q = (2 - 1) / 2
    QE: float = 2.0
    QEp: float = 0.1572992070502851  # pchisq(2, 1, lower.tail = FALSE)
    pi_lb: float | None = None
    pi_ub: float | None = None
    ddf: int | None = None
    yi: np.ndarray = field(default_factory=lambda: np.array([1.0, 3.0]))
    vi: np.ndarray = field(default_factory=lambda: np.array([1.0, 1.0]))
    weights: np.ndarray = field(default_factory=lambda: np.array([50.0, 50.0]))
    slab: tuple[str, ...] = ("<script>alert(1)</script>", "Second & last")


def test_forest_stand_in_and_refline() -> None:
    fig = forest_plot(StandIn(), xlabel="Mean difference (points)")
    shown = texts(fig)
    assert "50.0%" in shown
    assert "2.00 [0.61, 3.39]" in shown
    assert "Heterogeneity: Q = 2.00, df = 1, p = 0.157; I² = 50.0%" in shown
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Mean difference (points)"
    # Reference line at 0 for a difference measure, and 0 inside the axis range.
    lo, hi = ax.get_xlim()
    assert lo < 0 < hi
    assert any(np.allclose(line.get_xdata(), [0.0, 0.0]) for line in ax.lines)


def test_figure_svg_escapes_text_and_has_no_header() -> None:
    svg = figure_svg(forest_plot(StandIn()), salt="x")
    assert svg.startswith("<svg")
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "Second &amp; last" in svg


def test_funnel_region(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    fig = funnel_plot(bcg_fit)
    ax = fig.axes[0]
    poly = next(p for p in ax.patches if isinstance(p, Polygon))
    xy = np.asarray(poly.get_xy())
    se_max = float(np.sqrt(np.max(bcg_fit.vi))) * 1.08
    # Apex at (beta, 0); base at beta -/+ 1.959964 * se_max.
    assert any(np.allclose(p, [bcg_fit.beta, 0.0]) for p in xy)
    assert xy[:, 0].min() == pytest.approx(bcg_fit.beta - 1.959964 * se_max, rel=1e-6)
    assert xy[:, 0].max() == pytest.approx(bcg_fit.beta + 1.959964 * se_max, rel=1e-6)
    # Standard error axis points down (0 at the top).
    bottom, top = ax.get_ylim()
    assert top == 0.0 and bottom > 0
    assert ax.get_xlabel() == "Log risk ratio"
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(points[0].get_xdata()) == 13


def test_funnel_needs_three_studies() -> None:
    with pytest.raises(InputError, match="at least 3"):
        funnel_plot(StandIn())


def test_save_figure_writes_three_formats(tmp_path, bcg_fit) -> None:  # type: ignore[no-untyped-def]
    fig = forest_plot(bcg_fit)
    paths = save_figure(fig, tmp_path / "bcg-forest")
    assert set(paths) == {"svg", "png", "pdf"}
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in paths["svg"].read_bytes()[:500]
    # No creation date: the same figure gives the same SVG and PDF bytes.
    again = save_figure(fig, tmp_path / "again" / "bcg-forest", formats=("svg", "pdf"))
    assert again["svg"].read_bytes() == paths["svg"].read_bytes()
    assert again["pdf"].read_bytes() == paths["pdf"].read_bytes()
    with pytest.raises(InputError):
        save_figure(fig, tmp_path / "x", formats=("gif",))


def test_draw_into_given_axes(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    fig = Figure(figsize=(11, 7))
    ax = fig.add_axes((0.3, 0.15, 0.35, 0.8))
    assert forest_plot(bcg_fit, ax=ax) is fig
    fig2 = Figure(figsize=(5, 4))
    ax2 = fig2.add_subplot()
    assert funnel_plot(bcg_fit, ax=ax2) is fig2


BCG_ALLOC = [
    "random", "random", "random", "random", "alternate", "alternate", "random", "random",
    "random", "systematic", "systematic", "systematic", "systematic",
]  # fmt: skip  # dat.bcg$alloc


def test_forest_columns_subgroups_favours_to_svg(bcg_fit) -> None:  # type: ignore[no-untyped-def]
    arms = [
        [{"group": "intervention", "arm": "BCG", "events": a, "n": a + b},
         {"group": "comparator", "arm": "none", "events": c, "n": c + d}]
        for a, b, c, d in zip(BCG_TPOS, BCG_TNEG, BCG_CPOS, BCG_CNEG, strict=True)
    ]  # fmt: skip
    sg = subgroup(bcg_fit.yi, bcg_fit.vi, BCG_ALLOC, method="DL", measure="RR")
    assumed = [i == 2 for i in range(13)]
    fig = forest_plot(
        bcg_fit, columns=arm_columns(arms), better="lower", assumed=assumed,
        subgroup=BCG_ALLOC, subgroups=sg,
    )  # fmt: skip
    svg = figure_svg(fig, salt="bcg")
    # Group headings and raw data: Aronson 1948 had 4/123 vaccinated and 11/139 control cases.
    for text in ("Intervention", "Comparator", "Events", "Total", ">123<", ">139<", ">11<"):
        assert text in svg, text
    # Subgroup headings, subtotals (k per level of dat.bcg$alloc) and one diamond per subgroup.
    for text in ("alternate", "random", "systematic", "Subtotal (k = 2)", "Subtotal (k = 7)",
                 "Subtotal (k = 4)"):  # fmt: skip
        assert text in svg, text
    assert len([p for p in fig.axes[0].patches if isinstance(p, Polygon)]) == 4
    # The subtotal weights are sums of the overall weights (alternate: 8.8754 + 10.1211 = 19.0).
    assert "19.0%" in svg
    # The test for subgroup differences, as subgroup() computes it.
    q_text = (
        "Test for subgroup differences: "
        f"Q = {sg.Q_between:.2f}, df = 2, p = {sg.Q_between_p:.3f}"
    )
    assert q_text in svg
    # Assumed inputs: a dagger after the label and the footnote.
    assert "Rosenthal et al, 1960 †" in svg
    assert "† includes assumed inputs (see report)" in svg
    # better = lower on a ratio: intervention on the left of 1 (log 0), comparator on the right.
    fav = {a.get_text(): a for a in fig.axes[0].texts if a.get_text().startswith("Favours")}
    assert fav["Favours intervention"].get_ha() == "right"
    assert fav["Favours comparator"].get_ha() == "left"
    assert fav["Favours intervention"].xy[0] == pytest.approx(0.0)


def test_forest_favours_higher_and_plain_columns() -> None:
    fig = forest_plot(
        StandIn(), better="higher", columns=[("N", ["10", "12"])], favours=("drug", "placebo")
    )
    fav = {a.get_text(): a.get_ha() for a in fig.axes[0].texts if a.get_text().startswith("Fav")}
    # Higher is better: the intervention's side is right of 0.
    assert fav == {"Favours placebo": "right", "Favours drug": "left"}
    assert {"N", "10", "12"} <= set(texts(fig))
    with pytest.raises(InputError, match="column 'N'"):
        forest_plot(StandIn(), columns=[("N", ["10"])])
    with pytest.raises(InputError, match="better"):
        forest_plot(StandIn(), better="smaller")


def test_arm_columns_layouts() -> None:
    continuous = arm_columns([
        [{"group": "intervention", "mean": -3.25, "sd": 4.5, "n": 20},
         {"group": "comparator", "mean": -1.0, "sd": 4.0, "n": 21}],
    ])  # fmt: skip
    assert [(c.group, c.header, list(c.values)) for c in continuous] == [
        ("Intervention", "Mean", ["−3.25"]), ("Intervention", "SD", ["4.50"]),
        ("Intervention", "Total", ["20"]), ("Comparator", "Mean", ["−1.00"]),
        ("Comparator", "SD", ["4.00"]), ("Comparator", "Total", ["21"]),
    ]  # fmt: skip
    single = arm_columns([
        [{"group": "single", "mean_change": -5.5, "sd_change": 6.1, "n": 9}],
        [{"group": "single", "mean_change": 2, "sd_change": 3, "n": 11}],
    ])  # fmt: skip
    assert [(c.header, list(c.values)) for c in single] == [
        ("Mean change", ["−5.50", "2.00"]), ("SD", ["6.10", "3.00"]), ("N", ["9", "11"]),
    ]  # fmt: skip
    events = arm_columns([[{"group": "single", "events": 3, "n": 30}], []])
    assert [(c.group, c.header, list(c.values)) for c in events] == [
        ("", "Events", ["3", ""]), ("", "Total", ["30", ""]),
    ]  # fmt: skip
    assert arm_columns([[], []]) == []
    # Fields an arm lists as not reported are bracketed, and the plot explains the brackets.
    marked = arm_columns([
        [{"group": "single", "mean_change": -6.6, "sd_change": 8.5819, "n": 24,
          "not_reported": ["n", "sd_change"]}],
        [{"group": "single", "mean_change": -3.9, "sd_change": 4.5, "n": 20}],
    ])  # fmt: skip
    assert [(list(c.values), list(c.marked)) for c in marked] == [
        (["−6.60", "−3.90"], [False, False]), (["[8.58]", "4.50"], [True, False]),
        (["[24]", "20"], [True, False]),
    ]  # fmt: skip
    shown = texts(forest_plot(StandIn(measure="MC"), columns=marked))
    assert "[8.58]" in shown and "[ ] derived or assumed, not reported (see report)" in shown


def test_forest_no_favours_without_comparator() -> None:
    # A mean change (MC) or a proportion has no comparator: no "Favours" labels.
    for measure in ("MC", "PLO"):
        shown = texts(forest_plot(StandIn(measure=measure), better="lower"))
        assert not [t for t in shown if t.startswith("Favours")], measure


def test_forest_generic_log_ratio_axis() -> None:
    # GEN log hazard ratios drawn as ratios: tick "1" at 0, label in ratios, 2.72 = exp(1).
    fig = forest_plot(StandIn(measure="GEN"), log_scale=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Estimate (log scale)"
    assert "1" in [t.get_text() for t in ax.get_xticklabels()]
    assert f"{math.exp(1.0):.2f} [" in " ".join(texts(fig))
