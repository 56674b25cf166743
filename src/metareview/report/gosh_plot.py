"""The GOSH plot (metafor's ``plot.gosh.rma``): each subset's estimate against its I^2.

One point per refitted subset of :func:`metareview.models.gosh`, the pooled estimate on the x
axis and the heterogeneity (I^2 by default) on the y axis, with the marginal histograms of
both beside the scatter (Olkin, Dahabreh & Trikalinos 2012). With ``out=j`` the subsets that
include study ``j`` are drawn in red and the others in blue, as metafor's ``out`` argument does,
so the part of the cloud a study is responsible for stands out. Points are drawn semi-
transparent, their alpha falling with the number of subsets (metafor's default). Built on
:class:`matplotlib.figure.Figure` directly, like the forest and funnel plots.

References
----------
Olkin, I., Dahabreh, I. J., & Trikalinos, T. A. (2012). GOSH - a graphical display of study
    heterogeneity. Research Synthesis Methods, 3(3), 214-223.
metafor 3.8-1: ``plot.gosh.rma``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from metareview.errors import InputError
from metareview.report.plots import is_ratio_measure, measure_label

if TYPE_CHECKING:
    from metareview.models.gosh import GoshResult

__all__ = ["gosh_plot"]

_HET = ("I2", "H2", "QE", "tau2")
_HET_LABEL = {"I2": "I² (%)", "H2": "H²", "QE": "Q", "tau2": "τ²"}


def gosh_plot(
    gosh: GoshResult,
    *,
    het: str = "I2",
    out: int | None = None,
    breaks: int = 40,
    alpha: float | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of the subsets' estimates against their heterogeneity, with marginal histograms.

    Parameters
    ----------
    gosh : GoshResult
        The output of :func:`metareview.models.gosh`.
    het : {"I2", "H2", "QE", "tau2"}
        The heterogeneity measure on the y axis (metafor's ``het``).
    out : int, optional
        0-based index of a study: subsets with it in red, without it in blue (metafor's ``out``,
        which counts from 1).
    breaks : int
        Bins of each histogram.
    alpha : float, optional
        Opacity of the points; default ``min(1, 0.5 / log10(n + 1) ** 1.5)`` for ``n`` subsets.
    title : str, optional

    Returns
    -------
    Figure
    """
    if het not in _HET:
        raise InputError(f"het must be one of {', '.join(_HET)}", field="het")
    res = gosh.res.loc[gosh.fit]
    if "estimate" not in res.columns:
        raise InputError("gosh_plot draws an intercept-only GOSH; a meta-regression's has one "
                         "column per coefficient in gosh.res (metafor draws a pairs plot)",
                         field="gosh")
    if res.empty:
        raise InputError("no successful fit to plot")
    x = res["estimate"].to_numpy(float)
    y = res[het].to_numpy(float)
    n = x.size
    if alpha is None:
        alpha = float(min(1.0, 0.5 / max(np.log10(n + 1), 1.0) ** 1.5))
    if out is not None and not 0 <= out < gosh.k:
        raise InputError(f"out must be a study index 0..{gosh.k - 1}", field="out")

    fig = Figure(figsize=(6.4, 6.0))
    left, bottom, width, height, gap, side = 0.12, 0.1, 0.6, 0.6, 0.02, 0.2
    ax = fig.add_axes((left, bottom, width, height))
    ax_top = fig.add_axes((left, bottom + height + gap, width, side), sharex=ax)
    ax_right = fig.add_axes((left + width + gap, bottom, side, height), sharey=ax)
    bins_x: int | list[float] = (
        np.linspace(x.min(), x.max(), breaks + 1).tolist() if x.max() > x.min() else breaks
    )
    bins_y: int | list[float] = (
        np.linspace(y.min(), y.max(), breaks + 1).tolist() if y.max() > y.min() else breaks
    )
    if out is None:
        ax.scatter(x, y, s=6, color="#1a1a1a", alpha=alpha, linewidths=0)
        ax_top.hist(x, bins=bins_x, color="#7f7f7f", edgecolor="white", linewidth=0.3)
        ax_right.hist(y, bins=bins_y, orientation="horizontal", color="#7f7f7f",
                      edgecolor="white", linewidth=0.3)  # fmt: skip
    else:
        has = gosh.incl[gosh.fit, out]
        for sel, colour, label in ((~has, "#2b5d8a", f"without {gosh.slab[out]}"),
                                   (has, "#b03a2e", f"with {gosh.slab[out]}")):  # fmt: skip
            ax.scatter(x[sel], y[sel], s=6, color=colour, alpha=alpha, linewidths=0, label=label)
            ax_top.hist(x[sel], bins=bins_x, color=colour, alpha=0.6)
            ax_right.hist(y[sel], bins=bins_y, orientation="horizontal", color=colour, alpha=0.6)
        legend = ax.legend(loc="upper left", frameon=False, fontsize=8, markerscale=2)
        for handle in legend.legend_handles:
            if handle is not None:
                handle.set_alpha(1.0)
    label = measure_label(gosh.measure)
    ax.set_xlabel(f"Log {label.lower()}" if is_ratio_measure(gosh.measure) else label)
    ax.set_ylabel(_HET_LABEL[het])
    for a in (ax_top, ax_right):
        a.tick_params(labelbottom=False, labelleft=False)
        for spine in ("top", "right"):
            a.spines[spine].set_visible(False)
    ax_top.tick_params(labelbottom=False)
    ax_right.tick_params(labelleft=False)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    kind = "all" if gosh.exact else "random"
    fig.suptitle(
        title or f"GOSH plot: {n} {kind} subsets of k = {gosh.k} ({gosh.method})",
        x=left, ha="left", fontsize=10,
    )  # fmt: skip
    return fig
