"""report/diagnostic_plots.py: the data drawn against metafor 3.8-1's plots (coordinates, not
pixels).

Goldens (tests/data/goldens_diagnostics.json, scripts/goldens/diagnostics.R): the data frames
returned by ``baujat(res)``, ``radial(res)``, ``regplot(res, mod=2)`` and ``labbe(res)`` (dat.bcg,
``rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg)``) and ``profile(res, xlim=, steps=11)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from diag_goldens import FITS, G, fit, frame
from goldens_helpers import ATOL, RTOL, num

from metareview.errors import InputError
from metareview.report import diagnostic_plots as dp
from metareview.report.plots import save_figure


def test_baujat_plot_draws_metafors_points() -> None:
    fig = dp.baujat_plot(fit("bcg_REML"))
    ax = fig.axes[0]
    pts = np.array([t.xy for t in ax.texts])
    np.testing.assert_allclose(pts[:, 0], num(FITS["bcg_REML"]["baujat"]["x"]), rtol=RTOL)
    np.testing.assert_allclose(pts[:, 1], num(FITS["bcg_REML"]["baujat"]["y"]), rtol=RTOL)
    assert ax.get_xlabel() == "Squared Pearson Residual"
    assert ax.get_ylabel() == "Influence on Overall Result"


@pytest.mark.parametrize("fid", sorted(f for f in FITS if "radial" in FITS[f]))
def test_radial_data_matches_metafor(fid: str) -> None:
    d = dp.radial_data(fit(fid))
    np.testing.assert_allclose(d["x"], num(FITS[fid]["radial"]["x"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(d["y"], num(FITS[fid]["radial"]["y"]), rtol=RTOL, atol=ATOL)
    fig = dp.radial_plot(fit(fid))
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(np.asarray(offsets)[:, 1], d["y"], rtol=1e-12)


def test_radial_needs_intercept_only() -> None:
    with pytest.raises(InputError, match="without moderators"):
        dp.radial_data(fit("bcg_ablat_REML"))


@pytest.mark.parametrize("fid", sorted(f for f in FITS if "regplot" in FITS[f]))
def test_regplot_data_matches_metafor(fid: str) -> None:
    g = FITS[fid]["regplot"]
    d = dp.regplot_data(fit(fid), mod=1)
    for key in ("xi", "yi", "psize"):
        np.testing.assert_allclose(d[key], num(g[key]), rtol=RTOL, atol=ATOL, err_msg=key)


def test_regplot_line_is_predict_at_the_moderator() -> None:
    """bcg ~ ablat: the drawn line at ablat = 10, 30, 50 is metafor's predict(newmods=)."""
    res = fit("bcg_ablat_REML")
    new = next(n for n in G["newmods"] if n["id"] == "bcg_ablat_REML")
    d = dp.regplot_data(res, steps=5)  # xs from 13 to 55 in steps of 10.5
    fig = dp.regplot(res)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_xdata(), np.linspace(13, 55, 200))
    x = np.array([10.0, 30.0, 50.0])
    slope = (d["pred"][-1] - d["pred"][0]) / (d["xs"][-1] - d["xs"][0])
    np.testing.assert_allclose(d["pred"][0] + slope * (x - d["xs"][0]), num(new["pred"]),
                               rtol=RTOL)


def test_labbe_data_matches_metafor() -> None:
    d = frame("bcg_RR")
    out = dp.labbe_data(d["tpos"], d["tneg"], d["cpos"], d["cneg"], measure="RR")
    np.testing.assert_allclose(out["x"], num(G["labbe"]["x"]), rtol=RTOL)
    np.testing.assert_allclose(out["y"], num(G["labbe"]["y"]), rtol=RTOL)
    np.testing.assert_allclose(out["psize"], num(G["labbe"]["psize"]), rtol=RTOL)
    # psize by hand: sqrt(1/(vt + vc)) scaled onto [0.5, 3.5]
    vt = 1 / d["tpos"] - 1 / (d["tpos"] + d["tneg"])
    vc = 1 / d["cpos"] - 1 / (d["cpos"] + d["cneg"])
    w = np.sqrt(1 / (vt + vc))
    np.testing.assert_allclose(out["psize"], (w - w.min()) / (w.max() - w.min()) * 3 + 0.5)


def test_labbe_zero_cells_and_plot() -> None:
    out = dp.labbe_data([0, 5], [10, 5], [2, 0], [8, 10], measure="OR")
    # only0: the arm with a zero cell gets 1/2 in both cells: log(0.5/10.5), log(2/8)
    assert out["y"].iloc[0] == pytest.approx(np.log(0.5 / 10.5), rel=1e-12)
    assert out["x"].iloc[0] == pytest.approx(np.log(2 / 8), rel=1e-12)
    fig = dp.labbe_plot([4, 5, 6], [10, 5, 8], [2, 3, 4], [8, 10, 9], result=fit("bcg_REML"))
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(InputError, match="measure"):
        dp.labbe_data([1], [1], [1], [1], measure="SMD")


def test_profile_data_matches_metafor_profile() -> None:
    res = fit("bcg_REML")
    pr = FITS["bcg_REML"]["profile"]
    t = num(pr["tau2"])
    d = dp.profile_data(res, xlim=(float(t[0]), float(t[-1])), steps=t.size)
    np.testing.assert_allclose(d["tau2"], t, rtol=1e-12)
    np.testing.assert_allclose(d["ll"], num(pr["ll"]), rtol=RTOL)
    fig = dp.profile_plot(res, xlim=(float(t[0]), float(t[-1])), steps=t.size)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), num(pr["ll"]), rtol=RTOL)


def test_plots_save(tmp_path: Path) -> None:
    for name, fig in {
        "baujat": dp.baujat_plot(fit("normand_DL")),
        "radial": dp.radial_plot(fit("hackshaw_REML")),
        "regplot": dp.regplot(fit("bcg_ablat_alloc_REML"), mod="ablat", pi=True),
        "profile": dp.profile_plot(fit("hackshaw_REML")),
    }.items():
        save_figure(fig, tmp_path / name, formats=("svg",))
        assert (tmp_path / f"{name}.svg").stat().st_size > 1000
    with pytest.raises(InputError, match="mod"):
        dp.regplot(fit("bcg_ablat_alloc_REML"))
