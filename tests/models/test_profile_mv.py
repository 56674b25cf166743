"""metareview.models.profile_mv and report.diagnostic_plots.profile_mv_plot against metafor
3.8.1's ``profile.rma.mv`` (the numbers its profile plots are drawn from).

Reference values: tests/data/goldens_profile_mv.json, written by
``Rscript scripts/goldens/profile_mv.R`` (``profile(res, steps=7, plot=FALSE)`` of each fit,
every refit with optim/BFGS at reltol 1e-14). Tolerance rtol 1e-6 (the grid, the profile
log-likelihood, and each refit's beta and CI).
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens

from metareview.errors import InputError
from metareview.models import profile, profile_mv, rma_mv

matplotlib.use("Agg")

G = load_goldens("goldens_profile_mv.json")
MV = load_goldens("goldens_rma_mv.json")
FITS: dict[str, Any] = G["fits"]


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(MV["datasets"][name]["columns"])


def fit(fid: str) -> Any:
    d = frame("konstantopoulos2011")
    if fid == "konst_reml":
        return rma_mv("yi", "vi", data=d, random="~ 1 | district/school")
    if fid == "konst_ml_year":
        return rma_mv("yi", "vi", data=d, random="~ 1 | district/school",
                      mods="~ I(year - 1990)", method="ML")
    if fid == "konst_mv_cs":
        return rma_mv("yi", "vi", data=d, random="~ factor(study) | district")
    di = frame("ishak2007")
    return rma_mv("yi", "vi", data=di, mods="~ 0 + factor(time)", random="~ time | study",
                  struct="AR")


@pytest.mark.parametrize("fid", sorted(FITS))
def test_profile_mv_matches_metafor(fid: str) -> None:
    """metafor: ``profile(res, steps=7)`` of the fit in the golden's ``call``."""
    ref = FITS[fid]
    res = fit(fid)
    prs = profile_mv(res, steps=7)
    assert [p.component for p in prs] == [r["component"] for r in ref["profiles"]]
    for pr, r in zip(prs, ref["profiles"], strict=True):
        np.testing.assert_allclose(pr.vc, r["vc"], rtol=1e-6)
        np.testing.assert_allclose(pr.ll, r["ll"], rtol=1e-6)
        np.testing.assert_allclose(pr.vc_hat, r["vc_hat"], rtol=1e-6)
        np.testing.assert_allclose(pr.maxll, r["maxll"], rtol=1e-6)
        np.testing.assert_allclose(pr.ylim, r["ylim"], rtol=1e-6)
        for name in res.coef_names:
            for ours, key in (("beta", "beta"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub")):
                np.testing.assert_allclose(pr.table[f"{ours}_{name}"], r[key][name], rtol=1e-6,
                                           atol=1e-8, err_msg=f"{pr.label} {key} {name}")


def test_profile_dispatches_and_chooses_one() -> None:
    res = fit("konst_reml")
    ref = FITS["konst_reml"]["profiles"][1]
    one = profile(res, sigma2=2, steps=7)
    assert isinstance(one, list) and len(one) == 1 and one[0].label == "sigma^2.2"
    np.testing.assert_allclose(one[0].ll, ref["ll"], rtol=1e-6)
    with pytest.raises(InputError, match="no sigma2 component"):
        profile_mv(res, sigma2=3)
    with pytest.raises(InputError, match="only one"):
        profile_mv(res, sigma2=1, tau2=1)
    with pytest.raises(InputError, match=">= 0"):
        profile_mv(res, sigma2=1, xlim=(-1, 1))
    fx = rma_mv("yi", "vi", data=frame("konstantopoulos2011"), random="~ 1 | district/school",
                sigma2=[None, 0.03])
    with pytest.raises(InputError, match="fixed"):
        profile_mv(fx, sigma2=2)


def test_profile_mv_plot_draws_metafors_numbers() -> None:
    """The plot's line is the profile (vc, ll) and its y range metafor's ylim."""
    from metareview.report.diagnostic_plots import profile_mv_plot

    res = fit("konst_mv_cs")
    fig = profile_mv_plot(res, steps=7)
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax, r in zip(axes, FITS["konst_mv_cs"]["profiles"], strict=True):
        x, y = ax.get_lines()[0].get_data()
        np.testing.assert_allclose(x, r["vc"], rtol=1e-6)
        np.testing.assert_allclose(y, r["ll"], rtol=1e-6)
        np.testing.assert_allclose(ax.get_ylim(), r["ylim"], rtol=1e-6)
