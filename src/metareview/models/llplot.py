"""The likelihood curves of the studies' effects that metafor's ``llplot()`` draws.

>>> from metareview.models import llplot_data
>>> d = llplot_data("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=df)   # doctest: +SKIP

For each study ``i`` and each value ``x`` of the effect on a grid of ``xvals`` points:

- ``measure="OR"``: the exact conditional likelihood of the log odds ratio given the table's
  margins, Fisher's noncentral hypergeometric probability of ``a_i`` events in group 1 when
  ``m_i = a_i + c_i`` events occur among ``n1_i + n2_i`` participants with odds ratio
  ``exp(x)`` (``x`` clamped to ``+/-log(1e12)``, as metafor);
- ``measure="GEN"``: the normal density ``phi((y_i - x) / sqrt(v_i)) / sqrt(v_i)``.

With ``scale=True`` each curve is divided by its trapezoidal integral over the grid (so it
integrates to 1); values outside ``y_i -/+ z_{level} sqrt(v_i)`` (``level`` 99.99% by default,
``y_i``, ``v_i`` from ``escalc`` for OR tables) are NaN, as metafor does not draw them. The
default grid spans the lowest lower to the highest upper of those bounds.

References
----------
Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during and
    after myocardial infarction: An overview of the randomized trials. Progress in
    Cardiovascular Diseases, 27(5), 335-371.
metafor 3.8-1: ``llplot`` (help page and R source).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import integrate, special, stats

from metareview.errors import InputError, MetareviewWarning
from metareview.models._input import column

__all__ = ["LLPlotData", "llplot_data"]

FloatArray = NDArray[np.float64]
_CLAMP = 12.0 * math.log(10.0)


@dataclass(frozen=True, eq=False)
class LLPlotData:
    """The curves of :func:`llplot_data`: ``xs`` (the grid), ``lls`` (one row per study kept,
    NaN where not drawn; metafor's invisible return value), ``yi``/``vi`` of those studies,
    ``rows`` (their 1-based rows in the input), ``lty`` (``"solid"``, ``"dashed"`` for a table
    with a zero cell, ``"dotted"`` for one with no events or only events), ``measure`` and
    ``scale``."""

    xs: FloatArray
    lls: FloatArray
    yi: FloatArray
    vi: FloatArray
    rows: tuple[int, ...]
    lty: tuple[str, ...]
    measure: str
    scale: bool


def llplot_data(
    measure: str,
    *,
    yi: Any = None,
    vi: Any = None,
    sei: Any = None,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    drop00: bool = True,
    xvals: int = 1000,
    xlim: tuple[float, float] | None = None,
    scale: bool = True,
    level: float = 99.99,
) -> LLPlotData:
    """Likelihood curves of each study's effect (metafor's ``llplot``; formulas in the module
    docstring). Arguments are metafor's (``measure`` "OR" with the 2x2 table ``ai bi ci di``
    or ``ai n1i ci n2i``; "GEN" with ``yi`` and ``vi`` or ``sei``); a study with a missing
    value is left out with a warning naming its rows, as metafor.

    Raises
    ------
    InputError
        An unknown measure, missing or non-numeric columns, impossible tables, ``xvals < 2``,
        or no study left.
    """
    from metareview.models._core import alpha_from_level

    meas = str(measure).upper()
    if meas not in ("OR", "GEN"):
        raise InputError("llplot: measure must be 'OR' or 'GEN'", field="measure")
    if int(xvals) < 2:
        raise InputError("xvals must be >= 2", field="xvals")
    z = float(-special.ndtri(alpha_from_level(level) / 2.0))
    if meas == "GEN":
        y = column(yi, data, "yi")
        v = column(vi, data, "vi")
        if v is None:
            s = column(sei, data, "sei")
            v = None if s is None else s**2
        if y is None or v is None:
            raise InputError("measure 'GEN' needs yi and vi (or sei)", field="yi")
        bad = np.isnan(y) | np.isnan(v)
        lty = np.full(y.size, "solid", dtype=object)
        tables = None
    else:
        a, c = column(ai, data, "ai"), column(ci, data, "ci")
        b, d = column(bi, data, "bi"), column(di, data, "di")
        if a is None or c is None:
            raise InputError("measure 'OR' needs ai and ci", field="ai")
        if b is None:
            n1 = column(n1i, data, "n1i")
            b = None if n1 is None else n1 - a
        if d is None:
            n2 = column(n2i, data, "n2i")
            d = None if n2 is None else n2 - c
        if b is None or d is None:
            raise InputError("measure 'OR' needs bi and di (or n1i and n2i)", field="bi")
        cells = np.column_stack([a, b, c, d])
        if np.any(cells[~np.isnan(cells)] < 0):
            raise InputError(
                "cell counts must be >= 0 (events cannot exceed the group size)", field="ai"
            )
        id0 = np.any(cells == 0, axis=1)
        id00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        if drop00:
            cells[id00] = np.nan
        bad = np.any(np.isnan(cells), axis=1)
        from metareview.effects import escalc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            es = escalc(
                "OR", ai=cells[:, 0], bi=cells[:, 1], ci=cells[:, 2], di=cells[:, 3], drop00=drop00
            )
        y = es["yi"].to_numpy(dtype=float)
        v = es["vi"].to_numpy(dtype=float)
        lty = np.where(id00, "dotted", np.where(id0, "dashed", "solid")).astype(object)
        tables = cells
    if bad.any():
        rows = ", ".join(str(int(r) + 1) for r in np.flatnonzero(bad))
        warnings.warn(
            f"studies with missing values left out of the plot: row(s) {rows}",
            MetareviewWarning,
            stacklevel=2,
        )
    keep = np.flatnonzero(~bad)
    if keep.size == 0:
        raise InputError("no study left to plot", field="yi" if meas == "GEN" else "ai")
    y, v = y[keep], v[keep]
    lb, ub = y - z * np.sqrt(v), y + z * np.sqrt(v)
    if xlim is None:
        lo, hi = float(np.nanmin(lb)), float(np.nanmax(ub))
    else:
        lo, hi = sorted(float(x) for x in xlim)
    xs = np.linspace(lo, hi, int(xvals))
    if tables is None:
        lls = stats.norm.pdf(y[:, None], loc=xs[None, :], scale=np.sqrt(v)[:, None])
    else:
        t = tables[keep].astype(np.int64)
        odds = np.exp(np.clip(xs, -_CLAMP, _CLAMP))
        lls = np.empty((keep.size, xs.size))
        for i, (a_i, b_i, c_i, d_i) in enumerate(t):
            dist = stats.nchypergeom_fisher(
                M=a_i + b_i + c_i + d_i, n=a_i + b_i, N=a_i + c_i, odds=odds
            )
            lls[i] = dist.pmf(a_i)
    lls = np.asarray(lls, dtype=float)
    if scale:
        area = np.array(
            [integrate.trapezoid(row[~np.isnan(row)], xs[~np.isnan(row)]) for row in lls]
        )
        lls = lls / area[:, None]
    out = (xs[None, :] < lb[:, None]) | (xs[None, :] > ub[:, None])
    lls[out] = np.nan
    return LLPlotData(
        xs=xs,
        lls=lls,
        yi=y,
        vi=v,
        rows=tuple(int(r) + 1 for r in keep),
        lty=tuple(str(x) for x in lty[keep]),
        measure=meas,
        scale=bool(scale),
    )
