"""The profile (restricted) log-likelihood of a variance component of an ``rma_mv`` fit, as
metafor's ``profile.rma.mv`` computes it (the numbers its profile plots are drawn from).

>>> from metareview.models import rma_mv, profile_mv
>>> prs = profile_mv(rma_mv("yi", "vi", data=dat, random="~ 1 | district/school"))  # doctest: +SKIP

For a component ``c`` (``sigma2``, ``tau2``, ``rho``, ``gamma2`` or ``phi``, the ``j``-th one
of its kind) and each of ``steps`` equally spaced values ``c_j`` over ``xlim``, the model is
refitted with ``c`` fixed at ``c_j`` and every other estimated component re-estimated:
``ll_j`` is the maximised (restricted) log-likelihood of the fit's method, ``beta_j`` and the
Wald CI ``beta_j -/+ crit se_j`` (normal, or t on the fit's df for ``test="t"``) come from that
refit. The default ``xlim`` is metafor's: ``[vc/4, max(0.1, 4 vc)]`` for a variance and
``[max(-0.99999, vc - 0.5), min(0.99999, vc + 0.5)]`` for a correlation (``max(0, vc - 0.5)``
for ``struct="CAR"``).

Reference: metafor 3.8-1, ``profile.rma.mv`` (help page and R source).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metareview.errors import InputError
from metareview.models._core import alpha_from_level
from metareview.models.multilevel import RMAMVResult, _cor_eta, _optimise

__all__ = ["ProfileMVResult", "profile_mv"]

KINDS = ("sigma2", "tau2", "rho", "gamma2", "phi")


@dataclass(frozen=True, eq=False)
class ProfileMVResult:
    """metafor's ``profile.rma`` object of one ``rma.mv`` component: ``component`` (e.g.
    ``"sigma2"``) and ``position`` (1-based, as metafor's ``sigma2=2``), ``label`` (``sigma^2.2``),
    ``table`` (columns ``vc, ll``, then ``beta_<name>``, ``ci_lb_<name>``, ``ci_ub_<name>`` per
    coefficient), the fit's estimate ``vc_hat`` and log-likelihood ``maxll``, ``method``, and
    ``ylim`` as metafor's plot sets it."""

    component: str
    position: int
    label: str
    table: pd.DataFrame
    vc_hat: float
    maxll: float
    method: str
    ylim: tuple[float, float]

    @property
    def vc(self) -> np.ndarray:
        return np.asarray(self.table["vc"].to_numpy(dtype=float))

    @property
    def ll(self) -> np.ndarray:
        return np.asarray(self.table["ll"].to_numpy(dtype=float))


def _positions(result: RMAMVResult) -> list[tuple[str, int, int]]:
    """``(component, 1-based position, index in the optimiser's parameters)`` of every
    estimated component, in metafor's order (sigma2, tau2, rho, gamma2, phi)."""
    out: list[tuple[str, int, int]] = []
    i = 0
    groups = [("sigma2", result.sigma2.size), ("tau2", result.tau2.size),
              ("rho", result.rho.size), ("gamma2", result.gamma2.size),
              ("phi", result.phi.size)]
    for comp, size in groups:
        for j in range(size):
            if not result.fixed[i]:
                out.append((comp, j + 1, i))
            i += 1
    return out


def _one(result: RMAMVResult, comp: str, pos: int, index: int,
         xlim: tuple[float, float] | None, steps: int) -> ProfileMVResult:
    model, eta_hat, labels, kinds = result._refit
    kind = kinds[index]
    vc = float(getattr(result, comp)[pos - 1])
    struct = result.struct[0 if comp in ("tau2", "rho") else 1] if result.struct else ""
    car = kind == "car"
    if xlim is None:
        if kind == "var":
            xlim = (max(0.0, vc / 4.0), max(0.1, vc * 4.0))
        else:
            xlim = (max(0.0 if car else -0.99999, vc - 0.5), min(0.99999, vc + 0.5))
    lo, hi = sorted(float(v) for v in xlim)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError("xlim must be finite", field="xlim")
    if kind == "var" and lo < 0:
        raise InputError("lower bound for profiling a variance must be >= 0", field="xlim")
    if kind != "var" and (lo < (0.0 if car else -1.0) or hi > 1.0):
        raise InputError(f"a {'CAR ' if car else ''}correlation is profiled within "
                         f"[{0 if car else -1}, 1] (struct {struct})", field="xlim")
    grid = np.linspace(lo, hi, int(steps))
    fixed_base = {j: float(eta_hat[j]) for j in range(len(labels)) if result.fixed[j]}
    if result.ddf is not None:
        crit = -special.stdtrit(np.asarray(result.ddf_coef, dtype=float),
                                alpha_from_level(result.level) / 2.0)
    else:
        crit = np.full(result.p, float(-special.ndtri(alpha_from_level(result.level) / 2.0)))
    lls, betas, lbs, ubs = [], [], [], []
    for v in grid:
        e = (math.log(v) if v > 0 else -60.0) if kind == "var" else _cor_eta(float(v), kind)
        fixed = dict(fixed_base)
        fixed[index] = e
        start = eta_hat.copy()
        z, _ok = _optimise(model, start, fixed)
        ev = model.evaluate(z, grad=False)
        se = np.sqrt(np.diag(ev.vb))
        lls.append(ev.ll if math.isfinite(ev.f) else math.nan)
        betas.append(ev.beta)
        lbs.append(ev.beta - crit * se)
        ubs.append(ev.beta + crit * se)
    cols: dict[str, Any] = {"vc": grid, "ll": lls}
    b, lb, ub = np.array(betas), np.array(lbs), np.array(ubs)
    for j, name in enumerate(result.coef_names):
        cols[f"beta_{name}"] = b[:, j]
        cols[f"ci_lb_{name}"] = lb[:, j]
        cols[f"ci_ub_{name}"] = ub[:, j]
    ll_arr = np.array(lls, dtype=float)
    finite = ll_arr[np.isfinite(ll_arr)]
    if finite.size:
        pool = np.append(finite, result.logLik) if lo <= vc <= hi else finite
        ylim = (float(np.min(pool)) - 0.1, float(np.max(pool)) + 0.1)
    else:
        ylim = (result.logLik - 0.1, result.logLik + 0.1)
    return ProfileMVResult(component=comp, position=pos, label=labels[index],
                           table=pd.DataFrame(cols), vc_hat=vc, maxll=result.logLik,
                           method=result.method, ylim=ylim)


def profile_mv(
    result: RMAMVResult,
    *,
    sigma2: int | None = None,
    tau2: int | None = None,
    rho: int | None = None,
    gamma2: int | None = None,
    phi: int | None = None,
    xlim: tuple[float, float] | None = None,
    steps: int = 20,
) -> list[ProfileMVResult]:
    """Profile each estimated variance component of an ``rma_mv`` fit (metafor's
    ``profile(res, plot=FALSE)``), or only the one chosen by ``sigma2=j`` (1-based, as
    metafor), ``tau2=``, ``rho=``, ``gamma2=`` or ``phi=`` (formulas in the module docstring).

    Raises
    ------
    InputError
        Not an ``rma_mv`` fit; no such or a fixed component; more than one chosen; ``steps < 2``;
        ``xlim`` outside the component's range.
    """
    if not isinstance(result, RMAMVResult) or result._refit is None:
        raise InputError("profile_mv needs an rma_mv fit", field="result")
    if int(steps) < 2:
        raise InputError("steps must be >= 2", field="steps")
    chosen = {k: v for k, v in zip(KINDS, (sigma2, tau2, rho, gamma2, phi), strict=True)
              if v is not None}
    if len(chosen) > 1:
        raise InputError("choose only one of sigma2, tau2, rho, gamma2, phi", field="profile")
    pos_all = _positions(result)
    if not pos_all:
        raise InputError("the model has no estimated variance component to profile",
                         field="result")
    if chosen:
        (comp, want), = chosen.items()
        size = getattr(result, comp).size
        if isinstance(want, bool) or not 1 <= int(want) <= size:
            raise InputError(f"no {comp} component {want!r} in the model (1..{size})",
                             field=comp)
        sel = [p for p in pos_all if p[0] == comp and p[1] == int(want)]
        if not sel:
            raise InputError(f"{comp} component {want} was fixed", field=comp)
        return [_one(result, *sel[0], xlim, int(steps))]
    if xlim is not None:
        raise InputError("xlim needs one chosen component (sigma2=, tau2=, ...)", field="xlim")
    return [_one(result, c, p, i, None, int(steps)) for c, p, i in pos_all]
