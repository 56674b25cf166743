"""gosh_plot(): one point per subset fit at (estimate, I^2), as metafor's ``plot.gosh.rma``.

The fits themselves are checked against metafor's ``gosh()`` in tests/models/test_gosh.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from metareview.errors import InputError
from metareview.models import gosh, rma
from metareview.report import gosh_plot

YI = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01]
VI = [0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004]


def _points(fig: object) -> list[np.ndarray]:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]


def test_points_are_the_subsets_estimates_and_i2() -> None:
    g = gosh(rma(YI, VI, measure="RR"))
    fig = gosh_plot(g)
    (pts,) = _points(fig)
    assert len(pts) == 255
    np.testing.assert_array_equal(pts[:, 0], g.res["estimate"].to_numpy())
    np.testing.assert_array_equal(pts[:, 1], g.res["I2"].to_numpy())
    assert fig.axes[0].get_xlabel() == "Log risk ratio"
    assert "255 all subsets of k = 8" in fig.texts[0].get_text()


def test_out_splits_the_subsets_with_and_without_a_study() -> None:
    g = gosh(rma(YI, VI))
    without, with_ = _points(gosh_plot(g, out=5, het="tau2"))
    assert len(with_) == 128 and len(without) == 127  # 2^7 subsets contain study 6
    assert set(map(tuple, with_)) == set(zip(g.res["estimate"][g.incl[:, 5]],
                                             g.res["tau2"][g.incl[:, 5]], strict=True))  # fmt: skip


def test_bad_arguments() -> None:
    g = gosh(rma(YI, VI))
    with pytest.raises(InputError, match="het"):
        gosh_plot(g, het="R2")
    with pytest.raises(InputError, match="out"):
        gosh_plot(g, out=8)
