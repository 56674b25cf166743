"""Optimisation helpers shared by the likelihood fits of :mod:`metareview.models` (GLMMs,
selection models): damped Newton on numerical derivatives of a sum of per-study terms, and
the covariance as the inverse Hessian.

The derivatives are central differences (step ``1e-4`` relative), the final Hessian with one
or two Richardson extrapolations (error of order ``h^4`` or ``h^6``), as numDeriv's
``hessian()`` that metafor uses. :func:`newton` ends with Newton steps on a Richardson
gradient: along a flat direction the plain differences' truncation error leaves the optimum
~1e-6 off. When each study has its own parameter (the study intercepts
of an unconditional GLMM), a study's term depends only on the shared parameters and its own,
so every study is perturbed at once and the Hessian is assembled as an arrowhead matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from metareview.errors import ConvergenceError

__all__ = ["Terms", "hessian_full", "newton", "vcov_chol"]

FloatArray = NDArray[np.float64]

# --- optimisation --------------------------------------------------------------------------------

Terms = Callable[[FloatArray], FloatArray]


def _local_derivs(
    terms: Terms, par: FloatArray, n_shared: int, has_alpha: bool, h0: float,
    cross: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Per-study gradient (k, m) and Hessian (k, m, m) of ``terms`` by central differences in
    each study's own coordinates: the ``n_shared`` shared parameters and, with ``has_alpha``,
    the study's own intercept (the rest of ``par``). All studies are perturbed at once, as a
    study's term depends only on its own intercept. ``cross=False`` leaves the off-diagonal
    Hessian entries at 0 (for a gradient alone)."""
    m = n_shared + (1 if has_alpha else 0)
    steps = []
    for j in range(m):
        e = np.zeros(par.size)
        if j < n_shared:
            e[j] = h0 * max(1.0, abs(par[j]))
        else:
            e[n_shared:] = h0 * np.maximum(1.0, np.abs(par[n_shared:]))
        steps.append(e)
    hj = [e[j] if j < n_shared else e[n_shared:] for j, e in enumerate(steps)]
    f0 = terms(par)
    k = f0.size
    grad = np.empty((k, m))
    hess = np.zeros((k, m, m))
    for j in range(m):
        fp, fm = terms(par + steps[j]), terms(par - steps[j])
        grad[:, j] = (fp - fm) / (2 * hj[j])
        hess[:, j, j] = (fp - 2 * f0 + fm) / hj[j] ** 2
        for i in range(j if cross else 0):
            fpp = terms(par + steps[j] + steps[i])
            fpm = terms(par + steps[j] - steps[i])
            fmp = terms(par - steps[j] + steps[i])
            fmm = terms(par - steps[j] - steps[i])
            hess[:, j, i] = hess[:, i, j] = (fpp - fpm - fmp + fmm) / (4 * hj[j] * hj[i])
    return grad, hess


def _assemble(
    grad: FloatArray, hess: FloatArray, n_shared: int, has_alpha: bool
) -> tuple[FloatArray, FloatArray]:
    """Full gradient and Hessian from the per-study pieces (an arrowhead matrix when each
    study has its own intercept)."""
    k = grad.shape[0]
    n = n_shared + (k if has_alpha else 0)
    g = np.zeros(n)
    H = np.zeros((n, n))
    g[:n_shared] = grad[:, :n_shared].sum(axis=0)
    H[:n_shared, :n_shared] = hess[:, :n_shared, :n_shared].sum(axis=0)
    if has_alpha:
        idx = np.arange(n_shared, n)
        g[idx] = grad[:, n_shared]
        H[idx, idx] = hess[:, n_shared, n_shared]
        H[:n_shared, idx] = hess[:, :n_shared, n_shared].T
        H[idx, :n_shared] = hess[:, n_shared, :n_shared]
    return g, H


def hessian_full(
    terms: Terms, par: FloatArray, n_shared: int, has_alpha: bool, step: float = 1e-4,
    levels: int = 2,
) -> FloatArray:
    """Hessian of ``sum(terms)`` by Richardson extrapolation of central differences at
    relative steps ``step`` and ``2 step`` (``levels=2``: ``(4 H(h) - H(2h)) / 3``, error
    O(h^4)) or ``step``, ``2 step``, ``4 step`` (``levels=3``: ``(64 H(h) - 20 H(2h) + H(4h))
    / 45``, error O(h^6), so a larger ``h`` keeps rounding small at the same truncation)."""
    def at(m: float) -> FloatArray:
        return _assemble(*_local_derivs(terms, par, n_shared, has_alpha, m * step), n_shared,
                         has_alpha)[1]

    if levels == 3:
        return np.asarray((64 * at(1) - 20 * at(2) + at(4)) / 45)
    return np.asarray((4 * at(1) - at(2)) / 3)


def _grad(
    terms: Terms, par: FloatArray, n_shared: int, has_alpha: bool, step: float
) -> FloatArray:
    """Gradient of ``sum(terms)`` by central differences at relative ``step``."""
    return _assemble(*_local_derivs(terms, par, n_shared, has_alpha, step, cross=False),
                     n_shared, has_alpha)[0]


def _richardson_grad(
    terms: Terms, par: FloatArray, n_shared: int, has_alpha: bool, step: float,
    g1: FloatArray | None = None,
) -> FloatArray:
    """Gradient of ``sum(terms)`` by one Richardson extrapolation of central differences at
    relative steps ``step`` and ``2 step``: ``(4 g(h) - g(2h)) / 3``, error O(h^4) (``g1``:
    ``g(h)`` when already computed)."""
    if g1 is None:
        g1 = _grad(terms, par, n_shared, has_alpha, step)
    return (4 * g1 - _grad(terms, par, n_shared, has_alpha, 2 * step)) / 3


def _polish(terms: Terms, par: FloatArray, n_shared: int, has_alpha: bool) -> FloatArray:
    """Newton steps on the Richardson gradient at relative step 1e-3, kept while they shrink
    it. The plain central differences of the damped Newton phase (step 1e-4) carry a
    truncation error of h^2/6 times the third derivative, which along a flat direction of the
    likelihood leaves the optimum ~1e-6 off (dat.bcg, model="UM.FS")."""
    g1, hess = _assemble(*_local_derivs(terms, par, n_shared, has_alpha, 1e-3), n_shared,
                         has_alpha)
    g = _richardson_grad(terms, par, n_shared, has_alpha, 1e-3, g1)
    for _ in range(4):
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        trial = par - step
        if not np.all(np.isfinite(trial)):
            break
        g_trial = _richardson_grad(terms, trial, n_shared, has_alpha, 1e-3)
        if not np.max(np.abs(g_trial)) < np.max(np.abs(g)):
            break
        par, g = trial, g_trial
        if np.max(np.abs(step) / np.maximum(1.0, np.abs(par))) < 1e-11:
            break
    return par


def newton(
    terms: Terms, par0: FloatArray, n_shared: int, has_alpha: bool, what: str
) -> FloatArray:
    """Minimise ``sum(terms(par))`` by damped Newton steps (Levenberg-Marquardt damping when
    the Hessian is not positive definite or a step does not decrease the objective), then
    Newton steps on a Richardson gradient (:func:`_polish`)."""
    par = np.asarray(par0, dtype=float).copy()
    fval = float(np.sum(terms(par)))
    lam = 0.0
    for _ in range(200):
        g, H = _assemble(*_local_derivs(terms, par, n_shared, has_alpha, 1e-4), n_shared,
                         has_alpha)
        scale = np.maximum(np.abs(np.diag(H)), 1e-8)
        moved = False
        for _ in range(60):
            A = H + lam * np.diag(scale)
            try:
                np.linalg.cholesky(A)
                step = np.linalg.solve(A, g)
            except np.linalg.LinAlgError:
                lam = max(1e-4, lam * 10)
                continue
            trial = par - step
            ftrial = float(np.sum(terms(trial)))
            if np.isfinite(ftrial) and ftrial <= fval + 1e-13 * (1 + abs(fval)):
                moved = True
                break
            lam = max(1e-4, lam * 10)
        if not moved:
            break
        change = fval - ftrial
        par, fval = trial, ftrial
        lam = lam / 10 if lam > 1e-6 else 0.0
        if np.max(np.abs(step)) < 1e-9 or change < 1e-14 * (1 + abs(fval)):
            break
    if not np.all(np.isfinite(par)):
        raise ConvergenceError(f"the {what} fit did not converge (non-finite parameters)")
    par = _polish(terms, par, n_shared, has_alpha)
    g = _grad(terms, par, n_shared, has_alpha, 1e-5)
    if np.max(np.abs(g)) > 1e-3:
        raise ConvergenceError(
            f"the {what} fit did not converge (gradient {np.max(np.abs(g)):.2g} at the end)"
        )
    return par


def vcov_chol(hess: FloatArray, what: str) -> FloatArray:
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        raise ConvergenceError(
            f"cannot invert the Hessian of the {what} fit (not positive definite)"
        ) from None
    inv = np.linalg.inv(chol)
    return np.asarray(inv.T @ inv)
