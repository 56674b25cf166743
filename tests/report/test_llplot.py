"""metareview.report.llplot and metareview.models.llplot_data: the likelihood plot.

The curves are compared with metafor's ``llplot()`` in
tests/models/test_metafor_examples_more.py (yusuf1985); here: the picture is drawn, and the
curves obey their definitions (a normal density for ``measure="GEN"``, unit area when scaled).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from scipy import integrate, stats

from metareview import llplot, llplot_data
from metareview.errors import InputError


def test_gen_curves_are_normal_densities() -> None:
    """``measure="GEN"``, ``scale=False``: ``phi((y - x)/sqrt(v))/sqrt(v)`` inside the 99.99%
    interval (hand formula), NaN outside."""
    y, v = np.array([0.1, -0.4]), np.array([0.04, 0.09])
    d = llplot_data("GEN", yi=y, vi=v, xlim=(-2, 2), xvals=401, scale=False)
    z = stats.norm.ppf(1 - 0.0001 / 2)
    for i in range(2):
        inside = np.abs(d.xs - y[i]) <= z * np.sqrt(v[i])
        np.testing.assert_allclose(
            d.lls[i, inside], stats.norm.pdf(y[i], d.xs[inside], np.sqrt(v[i]))
        )
        assert np.isnan(d.lls[i, ~inside]).all()


def test_scaled_curves_have_unit_area() -> None:
    d = llplot_data(
        "OR",
        ai=[14, 18, 0],
        n1i=[56, 66, 20],
        ci=[15, 19, 3],
        n2i=[58, 64, 20],
        xlim=(-8, 8),
        xvals=2001,
        level=99.999999,
    )
    for row in d.lls:
        ok = ~np.isnan(row)
        assert integrate.trapezoid(row[ok], d.xs[ok]) == pytest.approx(1.0, abs=1e-3)
    assert d.lty == ("solid", "solid", "dashed")


def test_llplot_draws_one_line_per_study() -> None:
    fig = llplot("OR", ai=[14, 18, 15], n1i=[56, 66, 100], ci=[15, 19, 12], n2i=[58, 64, 95])
    ax = fig.axes[0]
    assert len(ax.lines) == 3 + 1  # the curves and the reference line
    assert ax.get_ylabel() == "Scaled Likelihood"
    fig.savefig(io.BytesIO(), format="svg")


def test_bad_input() -> None:
    with pytest.raises(InputError, match="OR' or 'GEN"):
        llplot_data("RR", ai=[1], n1i=[2], ci=[1], n2i=[2])
    with pytest.raises(InputError, match="needs yi"):
        llplot_data("GEN", yi=[0.1])
    with pytest.raises(InputError, match=">= 0"):
        llplot_data("OR", ai=[5], n1i=[2], ci=[1], n2i=[2])
