"""The nearest positive definite matrix, as R's ``Matrix::nearPD`` (which metafor calls for its
``nearpd`` options).

Higham's (2002) alternating projections with Dykstra's correction, in the variant of
``Matrix::nearPD`` (Bates & Maechler; its defaults): starting from ``X = x`` (symmetrised when
``x`` is not symmetric) and ``D_S = 0``, repeat

* ``R = X - D_S``; the eigen decomposition ``R = Q diag(d) Q'`` (``d`` decreasing);
* ``X = Q_+ diag(d_+) Q_+'`` over the eigenvalues ``d > eig_tol * d_1`` (projection onto the
  positive semidefinite cone); ``D_S = X - R``;
* ``corr``: ``diag(X) = 1``, or ``keep_diag``: ``diag(X) = diag(x)`` (projection onto the unit
  diagonal / the given diagonal);

until ``||Y - X||_inf / ||Y||_inf <= conv_tol`` (``Y`` the ``X`` before the step; the infinity
norm is the largest absolute row sum), at most ``maxit`` times. Then (``do2eigen``) eigenvalues
below ``Eps = posd_tol * |d_1|`` are raised to ``Eps``, ``X = Q diag(d) Q'``, rescaled as
``X_ij D_i D_j`` with ``D = sqrt(max(Eps, diag(X_old)) / diag(X))``, and the diagonal is set again
(``corr``/``keep_diag``).

References: Higham, N. J. (2002). Computing the nearest correlation matrix - a problem from
finance. IMA Journal of Numerical Analysis, 22(3), 329-343. R package Matrix, ``nearPD``
(Bates & Maechler; defaults ``eig.tol = 1e-6``, ``conv.tol = 1e-7``, ``posd.tol = 1e-8``,
``maxit = 100``, ``conv.norm.type = "I"``, ``doDykstra = TRUE``, ``doSym = FALSE``). SciPy has
no such routine (``scipy.linalg`` offers only the eigen decomposition used here).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError, MetareviewWarning

FloatArray = NDArray[np.float64]

__all__ = ["NearPD", "nearpd", "nearpd_blocks"]


@dataclass(frozen=True)
class NearPD:
    """``Matrix::nearPD``'s result: ``mat`` (the matrix), ``eigenvalues`` (of the result,
    decreasing, after the ``do2eigen`` step), ``iterations``, ``rel_tol`` (the last relative
    change) and ``converged``; ``clipped`` is True when an eigenvalue was cut (below
    ``eig_tol`` times the largest in an iteration, or raised in ``do2eigen``), i.e. when the
    result is not the input up to rounding."""

    mat: FloatArray
    eigenvalues: FloatArray
    iterations: int
    rel_tol: float
    converged: bool
    clipped: bool = False


def _inf_norm(blocks: Sequence[FloatArray]) -> float:
    return max((float(np.max(np.sum(np.abs(b), axis=-1))) for b in blocks if b.size),
               default=0.0)


def _set_diag(x: FloatArray, values: FloatArray | float) -> None:
    i = np.arange(x.shape[-1])
    x[..., i, i] = values


def _eig_product(q: FloatArray, w: FloatArray) -> FloatArray:
    """``Q diag(w) Q'`` for a matrix or a stack of matrices."""
    out: FloatArray = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return out


def nearpd_blocks(
    blocks: Sequence[FloatArray],
    *,
    corr: bool = False,
    keep_diag: bool = False,
    eig_tol: float = 1e-6,
    conv_tol: float = 1e-7,
    posd_tol: float = 1e-8,
    maxit: int = 100,
) -> tuple[list[FloatArray], NearPD]:
    """``Matrix::nearPD`` of the block-diagonal matrix with these square diagonal ``blocks``,
    computed block by block: the eigenvalues of a block-diagonal matrix are those of its
    blocks, so the thresholds (``eig_tol``, ``posd_tol`` relative to the largest eigenvalue of
    the whole matrix) and the convergence test (infinity norms of the whole matrix) are taken
    over all blocks, in lockstep, exactly as for the full matrix. A block may also be a stack
    ``(nb, m, m)`` of ``nb`` diagonal blocks of one size (handled with batched eigen
    decompositions). Returns the blocks and the summary (``mat`` is empty; ``eigenvalues``
    those of all blocks, decreasing)."""
    x0 = [np.asarray(b, dtype=float) for b in blocks]
    for b in x0:
        if b.ndim not in (2, 3) or b.shape[-1] != b.shape[-2]:
            raise InputError("nearpd: each block must be a square matrix", field="V")
        if not np.all(np.isfinite(b)):
            raise InputError("nearpd: the matrix must hold finite numbers", field="V")
    x0 = [b if np.array_equal(b, np.swapaxes(b, -1, -2)) else (b + np.swapaxes(b, -1, -2)) / 2
          for b in x0]  # symmpart
    diag0 = [np.diagonal(b, axis1=-2, axis2=-1).copy() for b in x0]
    X = [b.copy() for b in x0]
    D_S = [np.zeros_like(b) for b in x0]
    it, conv, converged, clipped = 0, np.inf, False, False
    while it < maxit and not converged:
        Y = X
        R = [y - d for y, d in zip(Y, D_S, strict=True)]
        eig = [np.linalg.eigh(r) for r in R]
        top = max(float(np.max(w)) for w, _ in eig if w.size)
        keep = [w > eig_tol * top for w, _ in eig]
        if not any(bool(np.any(k)) for k in keep):
            raise InputError("nearpd: the matrix seems negative semi-definite (no eigenvalue "
                             "above eig_tol times the largest)", field="V")
        clipped = clipped or not all(bool(np.all(k)) for k in keep)
        X = [_eig_product(q, np.where(k, w, 0.0)) for (w, q), k in zip(eig, keep, strict=True)]
        D_S = [x - r for x, r in zip(X, R, strict=True)]
        for x, d0 in zip(X, diag0, strict=True):
            if corr:
                _set_diag(x, 1.0)
            elif keep_diag:
                _set_diag(x, d0)
        ny = _inf_norm(Y)
        conv = _inf_norm([y - x for y, x in zip(Y, X, strict=True)]) / ny if ny > 0 else 0.0
        it += 1
        converged = conv <= conv_tol
    if not converged:
        warnings.warn(f"nearpd() did not converge in {it} iterations (as Matrix::nearPD warns)",
                      MetareviewWarning, stacklevel=2)
    # do2eigen: raise the eigenvalues below posd_tol * |d_1|
    eig = [np.linalg.eigh(x) for x in X]
    top = max(float(np.max(w)) for w, _ in eig if w.size)
    eps = posd_tol * abs(top)
    low = min(float(np.min(w)) for w, _ in eig if w.size)
    values = [w for w, _ in eig]
    if low < eps:
        clipped = True
        out = []
        values = []
        for (w, q), x in zip(eig, X, strict=True):
            w = np.where(w < eps, eps, w)
            values.append(w)
            o_diag = np.diagonal(x, axis1=-2, axis2=-1)
            xn = _eig_product(q, w)
            d = np.sqrt(np.maximum(eps, o_diag) / np.diagonal(xn, axis1=-2, axis2=-1))
            out.append(d[..., :, None] * xn * d[..., None, :])
        X = out
    for x, d0 in zip(X, diag0, strict=True):
        if corr:
            _set_diag(x, 1.0)
        elif keep_diag:
            _set_diag(x, d0)
    allvals = np.sort(np.concatenate([v.ravel() for v in values]))[::-1] if values \
        else np.zeros(0)
    return X, NearPD(np.zeros((0, 0)), allvals, it, float(conv), converged, clipped)


def nearpd(
    x: object,
    *,
    corr: bool = False,
    keep_diag: bool = False,
    eig_tol: float = 1e-6,
    conv_tol: float = 1e-7,
    posd_tol: float = 1e-8,
    maxit: int = 100,
) -> NearPD:
    """The nearest positive definite matrix to ``x`` (a correlation matrix with ``corr=True``;
    the diagonal of ``x`` kept with ``keep_diag=True``), as ``Matrix::nearPD(x, corr,
    keepDiag)`` with its defaults (algorithm in the module docstring; Higham 2002)."""
    a = np.array(x, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError("nearpd needs a square matrix", field="x")
    blocks, res = nearpd_blocks([a], corr=corr, keep_diag=keep_diag, eig_tol=eig_tol,
                                conv_tol=conv_tol, posd_tol=posd_tol, maxit=maxit)
    return NearPD(blocks[0], res.eigenvalues, res.iterations, res.rel_tol, res.converged,
                  res.clipped)
