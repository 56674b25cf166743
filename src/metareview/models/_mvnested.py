"""Closed-form blocks for ``rma_mv`` with random intercepts of clusters and of single rows.

When ``V`` is diagonal (``v_i > 0``), there is no ``~ inner | outer`` term and every random
factor either has the blocks of ``M`` as its levels (the outermost factor of ``~ 1 | a/b``, or
``~ 1 | a``) or has one row per level (``b`` in ``~ 1 | a/b`` when each row is its own
``b``, as ``~ 1 | district/school`` in dat.konstantopoulos2011), each block is

    M_b = diag(d) + s_B J,    d_i = v_i + s_U,

with ``s_B`` the sum of the cluster-level ``sigma2`` and ``s_U`` that of the row-level ones
(``J`` the matrix of ones). Sherman & Morrison (1950) give, with ``w = 1/d``, ``S_b = sum_b w_i``
and ``c_b = s_B / (1 + s_B S_b)``,

    M_b^-1 = diag(w) - c_b w w',    log|M_b| = sum_b log d_i + log(1 + s_B S_b),

so ``W a = w a - c_b w (w'a)_b`` costs one pass over the rows and one sum per block, and the
traces of the likelihood's derivatives are sums over blocks as well:
``1'W_b 1 = S_b / (1 + s_B S_b)``, ``tr W_b = S_b - c_b sum_b w^2``,
``tr(W_b J W_b J) = (1'W_b 1)^2``, ``tr(W_b J W_b) = |W_b 1|^2`` and
``tr(W_b W_b) = sum w^2 - 2 c_b sum w^3 + c_b^2 (sum w^2)^2``. The likelihood, its gradient,
the average information and the exact Hessian are those of :class:`multilevel._Model` (its
docstring gives the formulas), evaluated with these sums instead of factoring each block; the
dense blocks are built only when a result asks for them (``M_blocks``, ``ranef``).

Sherman, J., & Morrison, W. J. (1950). Adjustment of an inverse matrix corresponding to a change
    in one element of a given matrix. Annals of Mathematical Statistics, 21(1), 124-127.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from metareview.models.multilevel import _Eval, _Group, _make_groups, _Model, _SigmaTerm

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = ["NestedModel", "nested_kinds"]


def nested_kinds(sig: Sequence[_SigmaTerm], labels: IntArray, nblocks: int) -> IntArray | None:
    """Per random factor, 0 when its levels are the blocks (``labels``), 1 when each of its
    levels holds one row; None when a factor is neither (the dense blocks are needed)."""
    k = labels.size
    first = np.empty(nblocks, dtype=np.int64)
    first[labels] = np.arange(k)  # a row of each block (any one)
    out = np.empty(len(sig), dtype=np.int64)
    for j, t in enumerate(sig):
        if t.nlevels == k:
            out[j] = 1
        elif t.nlevels == nblocks and np.array_equal(t.codes, t.codes[first][labels]):
            out[j] = 0  # constant within each block, a level per block
        else:
            return None
    return out


class _LazyEval(_Eval):
    """An evaluation whose average information and Hessian are computed when first read (the
    optimiser reads them only where the gradient has not vanished yet)."""

    def __init__(self, *args: Any, second: Callable[[], tuple[FloatArray, FloatArray]]) -> None:
        self._second: Callable[[], tuple[FloatArray, FloatArray]] | None = second
        self._pair: tuple[FloatArray | None, FloatArray | None] = (None, None)
        super().__init__(*args)

    def __getstate__(self) -> dict[str, Any]:
        self._read(0)  # no closure in a pickle
        return self.__dict__.copy()

    def _read(self, i: int) -> FloatArray | None:
        if self._second is not None:
            self._pair, self._second = self._second(), None
        return self._pair[i]

    @property
    def info(self) -> FloatArray | None:
        return self._read(0)

    @info.setter
    def info(self, value: FloatArray | None) -> None:
        if value is not None:
            self._pair, self._second = (value, self._pair[1]), None

    @property
    def hess(self) -> FloatArray | None:
        return self._read(1)

    @hess.setter
    def hess(self, value: FloatArray | None) -> None:
        if value is not None:
            self._pair, self._second = (self._pair[0], value), None


class NestedModel(_Model):
    """:class:`multilevel._Model` for blocks ``diag(v + s_U) + s_B J`` (module docstring)."""

    def __init__(self, y: FloatArray, x: FloatArray, v: FloatArray, labels: IntArray,
                 kinds: IntArray, sig: Sequence[_SigmaTerm], k: int, p: int, reml: bool,
                 logdet_xx: float) -> None:
        self.sig, self.gts = list(sig), []
        self.k, self.p, self.reml, self.logdet_xx = k, p, reml, logdet_xx
        self.npar = len(sig)
        self.linear = True
        self._last = None
        self._dense = (labels, y, x, v)  # for the dense blocks, when asked
        self._groups: list[_Group] | None = None
        self.order = None if bool(np.all(labels[1:] >= labels[:-1])) else \
            np.argsort(labels, kind="stable")  # the rows by block (as given when grouped)
        sizes = np.bincount(labels)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.blk = np.repeat(np.arange(sizes.size), sizes)
        o = self.order
        self.y, self.x, self.v = (y, x, v) if o is None else (y[o], x[o], v[o])
        self.kinds = kinds
        self._kk = np.ix_(kinds, kinds)
        self.is_block = (kinds == 0).astype(float)

    @property
    def groups(self) -> list[_Group]:
        """The dense blocks (built on first use: ``ranef`` and ``M_blocks`` need them)."""
        if self._groups is None:
            labels, y, x, v = self._dense
            self._groups = _make_groups(labels, y, x, sparse.diags(v, format="csr"), self.sig,
                                        [])
        return self._groups

    @groups.setter
    def groups(self, value: list[_Group]) -> None:
        self._groups = value

    def _evaluate(self, eta: FloatArray, grad: bool, info: bool) -> _Eval:
        eta = np.maximum(np.minimum(eta, 60.0), -60.0)
        s2 = np.exp(eta)
        sb = float(s2 @ self.is_block)
        su = float(s2.sum()) - sb
        p, st, blk, x, y, kd = self.p, self.starts, self.blk, self.x, self.y, self.kinds
        w = 1.0 / (self.v + su)
        ssum = np.add.reduceat(w, st)
        h = 1.0 / (1.0 + sb * ssum)  # 1'W_b 1 = S_b h_b
        c = sb * h
        cw = w * c[blk]  # c_b w_i
        logdet = -float(np.log(w).sum()) + float(np.log1p(sb * ssum).sum())
        t = np.add.reduceat(w[:, None] * x, st)  # (X' diag(w))_b 1
        wx = w[:, None] * x - cw[:, None] * t[blk]
        a = x.T @ wx
        xwy = wx.T @ y
        if p == 1:  # the Cholesky factor and inverse of a 1 x 1 matrix
            if not a[0, 0] > 0.0:
                return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                             np.full((p, p), np.nan), -math.inf, math.nan)
            half_logdet_a = 0.5 * math.log(float(a[0, 0]))
            ainv: FloatArray = 1.0 / a
        else:
            try:
                ca = np.linalg.cholesky(a)
            except np.linalg.LinAlgError:
                return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                             np.full((p, p), np.nan), -math.inf, math.nan)
            half_logdet_a = float(np.log(np.diag(ca)).sum())
            ainv = np.asarray(np.linalg.inv(a), dtype=np.float64)
        beta = ainv @ xwy
        r = y - x @ beta
        rsum = np.add.reduceat(w * r, st)
        wr = w * r - cw * rsum[blk]
        rss = float(r @ wr)
        if self.reml:
            ll = (-0.5 * (self.k - p) * math.log(2 * math.pi) + 0.5 * self.logdet_xx
                  - 0.5 * logdet - half_logdet_a - 0.5 * rss)
        else:
            ll = -0.5 * self.k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss
        g_out = np.zeros(self.npar)
        if grad or info:
            qr = rsum * h  # 1_b'W r
            qx = t * h[:, None]  # X'W 1_b, (nb, p)
            w2 = np.add.reduceat(w * w, st)
            bb = np.array([qx.T @ qx, wx.T @ wx])  # X'W B W X for B = J, I
            val = np.array([float(ssum @ h) - float(qr @ qr),  # tr(W B) - r'W B W r
                            float(ssum.sum() - c @ w2) - float(wr @ wr)])
            if self.reml:
                val = val - bb.reshape(2, -1) @ ainv.ravel()
            g_out = 0.5 * s2 * val[kd]
            def second() -> tuple[FloatArray, FloatArray]:
                """The average information and the exact Hessian (when first read)."""
                # B W r and B W X for B = J, I as the columns of one matrix, W applied once
                z = np.empty((y.size, 2 + 2 * p))
                z[:, 0], z[:, 1] = qr[blk], wr
                z[:, 2:2 + p], z[:, 2 + p:] = qx[blk], wx
                wz = w[:, None] * z - cw[:, None] * np.add.reduceat(w[:, None] * z, st)[blk]
                gm = z.T @ wz
                sc = s2[:, None] * s2[None, :]
                kk = self._kk
                uwu = sc * gm[:2, :2][kk]
                xwu = s2[:, None] * (z[:, :2].T @ wx)[kd]
                ai = uwu - xwu @ ainv @ xwu.T if self.reml else uwu
                info_m = 0.25 * (ai + ai.T)
                w1 = w * h[blk]  # W 1_b
                w3 = np.add.reduceat(w * w * w, st)
                sh = ssum * h
                jj, ji = float(sh @ sh), float(w1 @ w1)
                tww_b = np.array([[jj, ji],
                                  [ji, float((w2 - 2.0 * c * w3 + c * c * w2 * w2).sum())]])
                e = sc * tww_b[kk]
                if self.reml:
                    cb = gm[2:, 2:].reshape(2, p, 2, p).transpose(0, 2, 1, 3)  # X'W B W B' W X
                    csum = sc[:, :, None, None] * cb[kk]
                    ab = ainv[None] @ (s2[:, None, None] * bb[kd])
                    n = s2.size
                    e = e + (-2.0 * (csum.reshape(n, n, -1) @ ainv.ravel())
                             + ab.reshape(n, -1) @ ab.transpose(0, 2, 1).reshape(n, -1).T)
                e = 0.25 * (e + e.T)
                return info_m, 2.0 * info_m - e + np.diag(g_out)

            if info:
                return _LazyEval(-ll, g_out, np.asarray(beta, dtype=float),
                                 np.asarray(ainv, dtype=float), ll, rss, second=second)
        return _Eval(-ll, g_out, np.asarray(beta, dtype=float), np.asarray(ainv, dtype=float),
                     ll, rss)

    def qe(self) -> tuple[float, float, FloatArray | None]:
        """``QE = r'V^-1 r`` of the ``V^-1``-weighted fit, ``log|V|`` and the residuals ``r``
        in the rows' original order (as :func:`multilevel._qe`; ``V`` diagonal, ``v > 0``)."""
        w = 1.0 / self.v
        wx = w[:, None] * self.x
        a, xwy = self.x.T @ wx, wx.T @ self.y
        if self.p == 1:
            b = xwy / a[0, 0]
        else:
            try:
                b = np.linalg.solve(a, xwy)
            except np.linalg.LinAlgError:
                return math.nan, math.nan, None
        r = self.y - self.x @ b
        res = r
        if self.order is not None:
            res = np.empty_like(r)
            res[self.order] = r
        return max(float(r @ (w * r)), 0.0), float(np.sum(np.log(self.v))), res
