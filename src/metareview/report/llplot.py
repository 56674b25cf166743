"""The likelihood plot (metafor's ``llplot``): each study's likelihood of the effect.

The curves are :func:`metareview.models.llplot_data`'s (the exact conditional likelihood of the
log odds ratio of each 2x2 table, or a normal likelihood for ``measure="GEN"``), drawn where
they lie inside the study's 99.99% interval, precise studies with thicker and darker lines,
tables with a zero cell dashed and those with no events (or only events) dotted, as metafor
draws them; a vertical reference line at 0. Built on :class:`matplotlib.figure.Figure`.

Reference: metafor 3.8-1, ``llplot``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from metareview.models.llplot import llplot_data

__all__ = ["llplot"]

_LTY = {"solid": "-", "dashed": "--", "dotted": ":"}


def llplot(measure: str, *, refline: float | None = 0.0, **kwargs: Any) -> Figure:
    """Draw the likelihood curves of :func:`~metareview.models.llplot_data` (same arguments:
    ``ai bi ci di n1i n2i`` or ``yi vi sei``, ``data``, ``drop00``, ``xvals``, ``xlim``,
    ``scale``, ``level``); ``refline`` draws a vertical line there (None: none)."""
    d = llplot_data(measure, **kwargs)
    k = d.vi.size
    rank = stats.rankdata(d.vi) - 1  # 0 = most precise
    lwd = np.linspace(4.0, 0.4, k)[rank.astype(int)] if k > 1 else np.array([2.0])
    grey = np.linspace(0.2, 0.8, k)[rank.astype(int)] if k > 1 else np.array([0.2])
    fig = Figure(figsize=(6.0, 4.4))
    ax = fig.add_subplot()
    for i in np.argsort(1.0 / d.vi):  # least precise first, the precise ones on top
        ax.plot(d.xs, d.lls[i], ls=_LTY[d.lty[i]], lw=float(lwd[i]), color=str(grey[i]))
    if refline is not None:
        ax.axvline(refline, color="black", lw=2.0)
    ax.set_xlim(float(d.xs[0]), float(d.xs[-1]))
    ax.set_ylim(0.0, float(np.nanmax(d.lls)) * 1.04)
    ax.set_xlabel("Log Odds Ratio" if d.measure == "OR" else "Observed Outcome")
    ax.set_ylabel("Scaled Likelihood" if d.scale else "Likelihood")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return fig
