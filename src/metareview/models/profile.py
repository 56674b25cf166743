"""The profile (restricted) log-likelihood of tau^2 of an ``rma``/``rma_reg`` fit, as metafor's
``profile.rma.uni`` computes it (the numbers its plot is drawn from).

>>> from metareview.models import rma, profile
>>> profile(rma("yi", "vi", data=dat), xlim=(0, 0.2))   # doctest: +SKIP

At each of ``steps`` equally spaced values ``tau2_j`` over ``xlim`` the model is refitted with
tau^2 fixed there: ``ll_j`` is the log-likelihood of the fit's method (restricted for REML;
:func:`~metareview.models.confint.loglik_tau2`), with ``beta_j = (X'W_jX)^-1 X'W_j y``,
``W_j = diag(1/(v + tau2_j))`` and the Wald CI ``beta_j -/+ crit sqrt(diag (X'W_jX)^-1)`` (the
normal quantile, or t with ``k - p`` df for ``test="t"``; for ``"knha"`` the variance is
also multiplied by ``s2w = sum w_j (y - X beta_j)^2 / (k - p)``). The default ``xlim`` is metafor's:
``[min(tau2_hat, lb), max(0.1, tau2_hat, ub)]`` with ``lb, ub`` the Q-profile CI of tau^2.

Reference: metafor 3.8-1, ``profile.rma.uni`` (help page and R source).
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
from metareview.models._refit import model_of
from metareview.models.confint import confint, loglik_tau2

__all__ = ["ProfileResult", "profile"]


@dataclass(frozen=True, eq=False)
class ProfileResult:
    """metafor's ``profile.rma`` object: ``table`` (columns ``tau2, ll``, then ``beta``,
    ``ci_lb``, ``ci_ub`` for an intercept-only model or ``beta_<name>``, ... per coefficient),
    the fit's ``maxll`` (its log-likelihood at the estimate), ``tau2_hat`` and ``method``."""

    table: pd.DataFrame
    maxll: float
    tau2_hat: float
    method: str

    @property
    def tau2(self) -> np.ndarray:
        return np.asarray(self.table["tau2"].to_numpy(dtype=float))

    @property
    def ll(self) -> np.ndarray:
        return np.asarray(self.table["ll"].to_numpy(dtype=float))


def profile(
    result: Any,
    *,
    xlim: tuple[float, float] | None = None,
    steps: int = 20,
    **mv: int,
) -> ProfileResult:
    """The profile log-likelihood of tau^2 (metafor's ``profile(res, plot=FALSE)``; formulas
    in the module docstring).

    Parameters
    ----------
    result : RMAResult or RegResult
        A fit with an estimated tau^2 (not EE, not a fixed tau^2).
    xlim : (float, float), optional
        The range of tau^2 (default: metafor's, from the Q-profile CI).
    steps : int
        Number of values (>= 2).
    **mv
        For an ``rma_mv`` fit: ``sigma2=j``, ``tau2=j``, ... (1-based) to profile one
        component; the result is then :func:`~metareview.models.profile_mv`'s list.

    Raises
    ------
    InputError
        An EE fit or a fixed tau^2 (no tau^2 to profile); ``steps < 2``; a negative ``xlim``.
    """
    from metareview.models.multilevel import RMAMVResult

    if isinstance(result, RMAMVResult):  # one profile per variance component: profile_mv
        from metareview.models.profile_mv import profile_mv

        return profile_mv(result, xlim=xlim, steps=steps, **mv)  # type: ignore[return-value]
    if mv:
        raise InputError(f"{', '.join(sorted(mv))}: only for an rma_mv fit", field="profile")
    m = model_of(result)
    if m.method in ("EE", "FE") or m.tau2_fixed is not None:
        raise InputError("a profile of tau^2 needs an estimated tau^2", field="result")
    if m.weighted:
        raise InputError("profile: not supported for a fit with user weights", field="weights")
    if int(steps) < 2:
        raise InputError("steps must be >= 2", field="steps")
    if xlim is None:
        lb, ub = confint(result, type="QP").tau2_ci
        xlim = (min(m.tau2, lb), max(0.1, m.tau2, ub))
    lo, hi = sorted(float(x) for x in xlim)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0:
        raise InputError("xlim must be finite tau^2 values >= 0", field="xlim")
    grid = np.linspace(lo, hi, int(steps))
    alpha = alpha_from_level(m.level)
    df = m.k - m.p
    crit = (
        float(-special.stdtrit(df, alpha / 2.0))
        if m.test in ("t", "knha")
        else float(-special.ndtri(alpha / 2.0))
    )
    ll, betas, ses = [], [], []
    for t in grid:
        w = 1.0 / (m.v + t)
        xtwx = m.X.T @ (m.X * w[:, None])
        inv = np.linalg.inv(xtwx)
        b = inv @ (m.X.T @ (w * m.y))
        if m.test == "knha" and df > 0:  # Knapp-Hartung: Var(beta) times s2w at this tau^2
            inv = inv * float(np.sum(w * (m.y - m.X @ b) ** 2)) / df
        ll.append(loglik_tau2(m, float(t)))
        betas.append(b)
        ses.append(np.sqrt(np.diag(inv)))
    beta, se = np.array(betas), np.array(ses)
    cols: dict[str, Any] = {"tau2": grid, "ll": ll}
    names = [""] if m.p == 1 else [f"_{n}" for n in m.names]
    for j, suffix in enumerate(names):
        cols[f"beta{suffix}"] = beta[:, j]
        cols[f"ci_lb{suffix}"] = beta[:, j] - crit * se[:, j]
        cols[f"ci_ub{suffix}"] = beta[:, j] + crit * se[:, j]
    return ProfileResult(
        table=pd.DataFrame(cols), maxll=loglik_tau2(m, m.tau2), tau2_hat=m.tau2, method=m.method
    )
