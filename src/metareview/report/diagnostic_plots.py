"""Diagnostic plots of ``rma``/``rma_reg`` fits (matplotlib), as metafor draws them.

- :func:`baujat_plot` -- Baujat et al. (2002): each study's contribution to the (residual) Q
  against its influence on the estimate (metafor's ``baujat.rma``; data from
  :func:`metareview.models.baujat`).
- :func:`radial_plot` -- Galbraith (1988): ``z_i = y_i / sqrt(v_i + tau^2)`` against
  ``x_i = 1 / sqrt(v_i + tau^2)``; the fitted line through the origin has slope ``mu_hat`` and the
  band ``+/- z_{1-alpha/2}`` around it (metafor's ``radial.rma``).
- :func:`labbe_plot` -- L'Abbe et al. (1987): the arm-level outcome of the treatment group
  against that of the control group (log risks for RR, log odds for OR, risks for RD, as
  metafor's ``labbe.rma`` via ``escalc(measure="PLN"|"PLO"|"PR")``), with the line of no effect
  ``y = x`` and the line of the pooled effect ``y = x + mu_hat``; points sized by
  ``sqrt(1/(v_t + v_c))`` scaled to ``plim``.
- :func:`regplot` -- bubble plot of a meta-regression: the effects against one moderator, point
  sizes ``sqrt(weight)`` scaled to ``plim``, and the regression line with its CI at the other
  moderators' means (metafor's ``regplot.rma``).
- :func:`profile_plot` -- the (restricted) log-likelihood as a function of tau^2 (metafor's
  ``profile.rma.uni``), with the estimate and the profile-likelihood CI marked.

Each plot has a ``*_data`` function returning what is drawn, so tests compare coordinates with
metafor's, not pixels. Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state);
save them with :func:`metareview.report.plots.save_figure`.

References
----------
Baujat, B., et al. (2002). Statistics in Medicine, 21(18), 2641-2652.
Galbraith, R. F. (1988). Graphical display of estimates having differing standard errors.
    Technometrics, 30(3), 271-281.
L'Abbe, K. A., Detsky, A. S., & O'Rourke, K. (1987). Meta-analysis in clinical research.
    Annals of Internal Medicine, 107(2), 224-233.
Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be undertaken
    and interpreted? Statistics in Medicine, 21(11), 1559-1573.
metafor 3.8-1: ``baujat.rma``, ``radial.rma``, ``labbe.rma``, ``regplot.rma``, ``profile.rma.uni``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from scipy import special

from metareview.errors import InputError

__all__ = [
    "baujat_plot",
    "labbe_data",
    "labbe_plot",
    "profile_data",
    "profile_mv_plot",
    "profile_plot",
    "radial_data",
    "radial_plot",
    "regplot",
    "regplot_data",
]

FloatArray = NDArray[np.float64]
_INK = "#1a1a1a"
_ACCENT = "#2b5d8a"


def _axes(ax: Axes | None, size: tuple[float, float] = (5.6, 4.4)) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.figure
        if not isinstance(fig, Figure):  # a SubFigure
            fig = fig.figure
        return fig, ax
    fig = Figure(figsize=size)
    return fig, fig.add_subplot(1, 1, 1)


def _scale_sizes(wi: FloatArray, plim: tuple[float, float]) -> FloatArray:
    """metafor's point sizes: ``(w - min w)/(max w - min w)`` mapped onto ``plim`` (all 1 when
    the weights are equal within sqrt(eps))."""
    rng = float(np.nanmax(wi) - np.nanmin(wi))
    if rng <= math.sqrt(np.finfo(float).eps):
        return np.ones_like(wi)
    return (wi - np.nanmin(wi)) / rng * (plim[1] - plim[0]) + plim[0]


# --------------------------------------------------------------------------- Baujat


def baujat_plot(result: Any, *, ax: Axes | None = None, label: bool = True) -> Figure:
    """The Baujat plot of an ``rma``/``rma_reg`` fit (see module docstring)."""
    from metareview.models.influence import baujat

    b = baujat(result)
    fig, ax = _axes(ax)
    ax.scatter(b.x, b.y, s=0, color=_INK)
    if label:
        for x, y, s in zip(b.x, b.y, b.slab, strict=True):
            ax.annotate(str(s), (x, y), ha="center", va="center", fontsize=8, color=_INK)
    ax.set_xlabel(b.xlab)
    ax.set_ylabel(b.ylab)
    ax.grid(True, color="lightgray")
    pad = lambda lo, hi: (lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo))  # noqa: E731
    ax.set_xlim(*pad(float(np.nanmin(b.x)), float(np.nanmax(b.x))))
    ax.set_ylim(*pad(float(np.nanmin(b.y)), float(np.nanmax(b.y))))
    return fig


# --------------------------------------------------------------------------- radial


def radial_data(result: Any) -> pd.DataFrame:
    """``x = 1/sqrt(v + tau^2)``, ``y = y_i/sqrt(v + tau^2)`` per study (metafor's
    ``radial.rma``; intercept-only models only, as metafor)."""
    from metareview.models.rma import RMAResult

    if not isinstance(result, RMAResult):
        raise InputError("radial plots are only available for models without moderators",
                         field="result")
    s = np.sqrt(np.asarray(result.vi) + result.tau2)
    return pd.DataFrame({"x": 1.0 / s, "y": np.asarray(result.yi) / s},
                        index=pd.Index(list(result.slab), name="slab"))


def radial_plot(result: Any, *, ax: Axes | None = None) -> Figure:
    """The radial (Galbraith) plot: points, the line of slope ``mu_hat`` through the origin and
    the band ``+/- z_{1-alpha/2}`` (see module docstring)."""
    d = radial_data(result)
    fig, ax = _axes(ax)
    xmax = float(d["x"].max()) * 1.05
    z = float(-special.ndtri((100.0 - result.level) / 200.0))
    xs = np.array([0.0, xmax])
    ax.plot(xs, result.beta * xs, color=_ACCENT, lw=1.2)
    ax.plot(xs, result.beta * xs + z, color=_ACCENT, lw=0.8, ls="--")
    ax.plot(xs, result.beta * xs - z, color=_ACCENT, lw=0.8, ls="--")
    ax.scatter(d["x"], d["y"], color=_INK, s=18, zorder=3)
    ax.axhline(0.0, color="lightgray", lw=0.8)
    ax.set_xlim(0.0, xmax)
    tau = "1/\u221a(vi + \u03c4\u00b2)" if result.method not in ("EE", "FE") else "1/\u221avi"
    ax.set_xlabel(f"x = {tau}")
    ax.set_ylabel("z = yi \u00b7 x")
    return fig


# --------------------------------------------------------------------------- L'Abbe


_ARM_MEASURE = {"RR": "PLN", "OR": "PLO", "RD": "PR"}


def labbe_data(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    measure: str = "RR",
    add: float = 0.5,
    to: str = "only0",
    plim: tuple[float, float] = (0.5, 3.5),
    slab: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Arm-level outcomes of 2x2 tables as metafor's ``labbe.rma`` computes them.

    Treatment arm ``(ai, bi)``, control arm ``(ci, di)``: ``y`` and ``x`` are the log risks
    ``log(a/(a+b))`` (RR), log odds ``log(a/b)`` (OR) or risks (RD) of each arm, with ``add``
    added to the arm's cells when one is 0 (``to="only0"``), to all arms (``"all"``) or never
    (``"none"``); ``psize = sqrt(1/(v_t + v_c))`` scaled to ``plim``, with the arm variances
    ``1/a - 1/(a+b)`` (PLN), ``1/a + 1/b`` (PLO), ``p(1-p)/n`` (PR).
    """
    m = str(measure).upper()
    if m not in _ARM_MEASURE:
        raise InputError(f"L'Abbe plots need measure RR, OR or RD (got {measure!r})",
                         field="measure")
    if to not in ("only0", "all", "none", "if0all"):
        raise InputError(f"unknown to={to!r}", field="to")
    cells = [np.asarray(x, dtype=float) for x in (ai, bi, ci, di)]
    k = cells[0].size
    if any(c.shape != (k,) for c in cells) or not all(np.all(np.isfinite(c)) for c in cells):
        raise InputError("ai, bi, ci, di must be finite counts of equal length", field="ai")
    if any(np.any(c < 0) for c in cells):
        raise InputError("counts must be >= 0", field="ai")

    def arm(x: FloatArray, mm: FloatArray) -> tuple[FloatArray, FloatArray]:
        zero = (x == 0) | (mm == 0)
        if to == "all" or (to == "if0all" and zero.any()):
            x, mm = x + add, mm + add
        elif to == "only0":
            x, mm = np.where(zero, x + add, x), np.where(zero, mm + add, mm)
        n = x + mm
        with np.errstate(divide="ignore", invalid="ignore"):
            if m == "RR":
                return np.log(x / n), 1.0 / x - 1.0 / n
            if m == "OR":
                return np.log(x / mm), 1.0 / x + 1.0 / mm
            p = x / n
            return p, p * (1.0 - p) / n

    yt, vt = arm(cells[0], cells[1])
    yc, vc = arm(cells[2], cells[3])
    ok = np.isfinite(yt) & np.isfinite(yc) & np.isfinite(vt) & np.isfinite(vc)
    labels = list(slab) if slab is not None else [str(i + 1) for i in range(k)]
    wi = np.sqrt(1.0 / (vt[ok] + vc[ok]))
    return pd.DataFrame(
        {"x": yc[ok], "y": yt[ok], "psize": _scale_sizes(wi, plim)},
        index=pd.Index([s for s, o in zip(labels, ok, strict=True) if o], name="slab"),
    )


def labbe_plot(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    result: Any = None,
    measure: str = "RR",
    add: float = 0.5,
    to: str = "only0",
    ax: Axes | None = None,
) -> Figure:
    """The L'Abbe plot (see :func:`labbe_data`); with ``result`` (the ``rma`` fit of the same
    tables on the matching ratio scale) the line of the pooled effect ``y = x + mu_hat``."""
    d = labbe_data(ai, bi, ci, di, measure=measure, add=add, to=to)
    fig, ax = _axes(ax, (5.0, 5.0))
    lo = float(min(d["x"].min(), d["y"].min()))
    hi = float(max(d["x"].max(), d["y"].max()))
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    xs = np.array([lo - pad, hi + pad])
    ax.plot(xs, xs, color=_INK, lw=0.8, ls="--", label="no effect")
    if result is not None:
        ax.plot(xs, xs + float(result.beta), color=_ACCENT, lw=1.2, label="pooled effect")
    ax.scatter(d["x"], d["y"], s=30 * d["psize"] ** 2, facecolors="lightgray",
               edgecolors=_INK, zorder=3)
    name = {"RR": "Log Risk", "OR": "Log Odds", "RD": "Risk"}[measure.upper()]
    ax.set_xlabel(f"{name} (Group 2)")
    ax.set_ylabel(f"{name} (Group 1)")
    ax.set_xlim(*xs)
    ax.set_ylim(*xs)
    return fig


# --------------------------------------------------------------------------- regplot


def _mod_index(result: Any, mod: int | str | None) -> int:
    names = list(result.coef_names)
    if mod is None:
        if result.p != 2:
            raise InputError("choose the moderator with mod= (the model has several)",
                             field="mod")
        return 1
    if isinstance(mod, str):
        if mod not in names:
            raise InputError(f"no coefficient {mod!r}; have {', '.join(names)}", field="mod")
        return names.index(mod)
    j = int(mod)
    if not 0 < j < result.p:
        raise InputError(f"mod must index a moderator coefficient (1..{result.p - 1})",
                         field="mod")
    return j


def regplot_data(
    result: Any,
    mod: int | str | None = None,
    *,
    plim: tuple[float, float] = (0.5, 3.0),
    steps: int = 200,
) -> dict[str, FloatArray]:
    """What :func:`regplot` draws: ``xi`` (the moderator), ``yi``, ``psize`` (``sqrt(weight)``
    scaled to ``plim``, metafor's default), and the line ``xs``, ``pred``, ``ci_lb``, ``ci_ub``,
    ``pi_lb``, ``pi_ub`` at ``steps`` values over the range of ``xi`` with the other columns of
    the model matrix at their means (metafor's ``regplot.rma``)."""
    from metareview.models.regression import RegResult

    if not isinstance(result, RegResult) or result.p < 2:
        raise InputError("regplot needs a meta-regression (rma_reg with a moderator)",
                         field="result")
    j = _mod_index(result, mod)
    x = np.asarray(result.X, dtype=float)
    xi = x[:, j]
    w = 1.0 / (np.asarray(result.vi) + result.tau2)
    weight = 100.0 * w / w.sum()
    xs = np.linspace(float(xi.min()), float(xi.max()), steps)
    new = np.tile(x.mean(axis=0), (steps, 1))
    new[:, j] = xs
    pr = result.predict(newmods=new)
    return {
        "xi": xi, "yi": np.asarray(result.yi, dtype=float),
        "psize": _scale_sizes(np.sqrt(weight), plim), "xs": xs,
        **{c: pr[c].to_numpy() for c in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")},
    }


def regplot(
    result: Any, mod: int | str | None = None, *, pi: bool = False, ax: Axes | None = None
) -> Figure:
    """Bubble plot of a meta-regression with the regression line and its CI (see
    :func:`regplot_data`)."""
    d = regplot_data(result, mod)
    fig, ax = _axes(ax)
    ax.fill_between(d["xs"], d["ci_lb"], d["ci_ub"], color="lightgray", alpha=0.6, lw=0)
    ax.plot(d["xs"], d["pred"], color=_INK, lw=1.2)
    ax.plot(d["xs"], d["ci_lb"], color=_INK, lw=0.8, ls="--")
    ax.plot(d["xs"], d["ci_ub"], color=_INK, lw=0.8, ls="--")
    if pi:
        ax.plot(d["xs"], d["pi_lb"], color=_INK, lw=0.8, ls=":")
        ax.plot(d["xs"], d["pi_ub"], color=_INK, lw=0.8, ls=":")
    ax.scatter(d["xi"], d["yi"], s=30 * d["psize"] ** 2, facecolors="darkgray",
               edgecolors=_INK, zorder=3)
    ax.set_xlabel(result.coef_names[_mod_index(result, mod)])
    ax.set_ylabel("Observed Outcome")
    return fig


# --------------------------------------------------------------------------- profile


def profile_data(
    result: Any, *, xlim: tuple[float, float] | None = None, steps: int = 20
) -> pd.DataFrame:
    """The log-likelihood (restricted for REML) at ``steps`` values of tau^2 over ``xlim``
    (default: the profile-likelihood CI widened by 10%, as metafor's ``profile.rma.uni`` uses
    the CI), with tau^2 fixed and beta at its weighted least-squares value."""
    from metareview.models._refit import model_of
    from metareview.models.confint import confint, loglik_tau2

    m = model_of(result)
    if m.method in ("EE", "FE") or m.tau2_fixed is not None:
        raise InputError("a profile of tau^2 needs an estimated tau^2", field="result")
    if steps < 2:
        raise InputError("steps must be >= 2", field="steps")
    if xlim is None:
        lb, ub = confint(result, type="PL").tau2_ci
        span = ub - lb
        xlim = (max(0.0, lb - 0.1 * span), ub + 0.1 * span)
    lo, hi = sorted(float(v) for v in xlim)
    if lo < 0:
        raise InputError("tau^2 values must be >= 0", field="xlim")
    grid = np.linspace(lo, hi, steps)
    return pd.DataFrame({"tau2": grid, "ll": [loglik_tau2(m, t) for t in grid]})


def profile_plot(
    result: Any, *, xlim: tuple[float, float] | None = None, steps: int = 20,
    ax: Axes | None = None,
) -> Figure:
    """The profile (restricted) log-likelihood of tau^2 (see :func:`profile_data`), with the
    estimate (vertical line) and the level ``ll_max - chi2_{1; 1-alpha}/2`` that defines the
    profile-likelihood CI (horizontal line)."""
    from metareview.models._refit import model_of
    from metareview.models.confint import loglik_tau2

    d = profile_data(result, xlim=xlim, steps=steps)
    fig, ax = _axes(ax)
    ax.plot(d["tau2"], d["ll"], color=_INK, lw=1.0, marker="o", ms=3)
    ll_max = loglik_tau2(model_of(result), result.tau2)
    cut = ll_max - 0.5 * float(special.chdtri(1, (100.0 - result.level) / 100.0))
    ax.axvline(result.tau2, color=_ACCENT, ls="--", lw=0.8)
    ax.axhline(cut, color=_ACCENT, ls=":", lw=0.8)
    ax.set_xlabel("\u03c4\u00b2")
    ax.set_ylabel("Restricted Log-Likelihood" if result.method == "REML" else "Log-Likelihood")
    return fig


#: metafor's axis symbols of the rma.mv components
_VC_SYMBOL = {"sigma2": "\u03c3", "tau2": "\u03c4", "rho": "\u03c1", "gamma2": "\u03b3",
              "phi": "\u03c6"}


def profile_mv_plot(
    result: Any, *, sigma2: int | None = None, tau2: int | None = None, rho: int | None = None,
    gamma2: int | None = None, phi: int | None = None, xlim: tuple[float, float] | None = None,
    steps: int = 20,
) -> Figure:
    """metafor's ``profile.rma.mv`` plots: one panel per estimated variance component of an
    ``rma_mv`` fit (or the one chosen by ``sigma2=j``, ...), the profile (restricted)
    log-likelihood over the component's values (points joined by lines,
    :func:`metareview.models.profile_mv`), the estimate as a dotted vertical line and the
    fit's log-likelihood as a dotted horizontal line, y range metafor's ``ylim``."""
    from matplotlib.figure import Figure as _Figure

    from metareview.models.profile_mv import profile_mv

    prs = profile_mv(result, sigma2=sigma2, tau2=tau2, rho=rho, gamma2=gamma2, phi=phi,
                     xlim=xlim, steps=steps)
    fig = _Figure(figsize=(5.6, 3.2 * len(prs)))
    axes = fig.subplots(len(prs), 1, squeeze=False)[:, 0]
    for ax, pr in zip(axes, prs, strict=True):
        ax.plot(pr.vc, pr.ll, color=_INK, lw=1.0, marker="o", ms=3)
        ax.axvline(pr.vc_hat, color=_ACCENT, ls=":", lw=0.8)
        ax.axhline(pr.maxll, color=_ACCENT, ls=":", lw=0.8)
        ax.set_ylim(*pr.ylim)
        sym = _VC_SYMBOL[pr.component]
        sq = "\u00b2" if pr.component in ("sigma2", "tau2", "gamma2") else ""
        n_kind = getattr(result, pr.component).size
        name = f"{sym}{sq}" if n_kind == 1 else f"{sym}{_sub(pr.position)}{sq}"
        ax.set_xlabel(f"{name} Value")
        ax.set_ylabel("Restricted Log-Likelihood" if pr.method == "REML" else "Log-Likelihood")
        ax.set_title(f"Profile Plot for {name}")
    fig.tight_layout()
    return fig


def _sub(n: int) -> str:
    """``n`` as subscript digits (metafor's ``sigma[2]^2``)."""
    return str(n).translate(str.maketrans("0123456789", "\u2080\u2081\u2082\u2083\u2084"
                                                       "\u2085\u2086\u2087\u2088\u2089"))
