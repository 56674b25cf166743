"""``rma_mv()``: multilevel and multivariate meta-analysis (metafor's ``rma.mv``).

>>> from metareview.models import rma_mv
>>> res = rma_mv("yi", "vi", data=dat, random="~ 1 | district/school")   # doctest: +SKIP
>>> print(res)                                                             # doctest: +SKIP

The model (Viechtbauer 2010, section 3.3; metafor's ``?rma.mv``; Konstantopoulos 2011) is

    y = X beta + sum_j Z_j u_j + Z_G g + e,    e ~ N(0, V),

with ``u_j ~ N(0, sigma2_j I)`` one random intercept per level of the j-th grouping factor
(``random="~ 1 | a/b"`` gives the factors ``a`` and ``a/b``) and, for a term
``~ inner | outer``, correlated effects ``Cov(g_io, g_i'o') = [o = o'] G[i, i']`` whose
``G`` has the structure ``struct``:

* ``ID``: ``tau2 I``; ``DIAG``: ``diag(tau2_1, ..., tau2_q)``;
* ``CS``: ``tau2`` on the diagonal, ``rho tau2`` off it;
* ``HCS``: ``tau2_i`` on the diagonal, ``rho sqrt(tau2_i tau2_i')`` off it;
* ``UN``: ``tau2_i`` and ``rho_ii' sqrt(tau2_i tau2_i')`` (one correlation per pair);
* ``AR``: ``tau2 rho^|i - i'|`` over the ordered levels of ``inner`` (AR(1));
  ``CAR``: ``tau2 rho^|t_i - t_i'|`` over the numeric values ``t`` of ``inner`` (continuous-time
  AR(1), ``0 <= rho <= 1``, optimised as ``logit rho`` as metafor does);
  ``HAR``: ``sqrt(tau2_i tau2_i') rho^|i - i'|`` (heteroscedastic AR(1)).

The marginal covariance is ``M = V + sum_j sigma2_j Z_j Z_j' + (Z_G G Z_G') * (O O')`` (``O``
the outer-level indicators). With ``W = M^-1`` and ``A = X'WX`` the fixed effects are
``beta = A^-1 X'Wy``, ``Var(beta) = A^-1``, and the variance components maximise

    ML:   ll = -k/2 log(2 pi) - 1/2 log|M| - 1/2 r'Wr
    REML: ll = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 log|M| - 1/2 log|A| - 1/2 r'Wr

(``r = y - X beta``; metafor's ``REMLf = TRUE`` constants). As metafor, variances are optimised
as ``log`` values and correlations as ``atanh`` values; the gradient is analytic:
``d(-2 ll)/d theta = tr(W D) - [REML] tr(A^-1 X'W D W X) - r'W D W r`` with ``D = dM/d theta``
(Harville 1977). Observations that no random effect or covariance links are independent, so
every quantity above is a sum over the connected blocks of ``M`` (a district, a trial): the
fit factorises each block (batched over blocks of equal size) and never forms the k x k matrix.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. (``rma.mv`` help and source, metafor 3.8-1.)
Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level
    meta-analysis. Research Synthesis Methods, 2(1), 61-76.
Berkey, C. S., Hoaglin, D. C., Antczak-Bouckoms, A., Mosteller, F., & Colditz, G. A. (1998).
    Meta-analysis of multiple outcomes by regression with random effects. Statistics in
    Medicine, 17(22), 2537-2550.
Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation and to
    related problems. Journal of the American Statistical Association, 72(358), 320-338.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, sparse, special
from scipy.sparse import csgraph

from metareview._json import finite_or_none, jsonable
from metareview.errors import ConvergenceError, ConvergenceWarning, InputError, MetareviewWarning
from metareview.models._core import alpha_from_level
from metareview.models._formula import design_matrix, split_top
from metareview.models._input import as_float
from metareview.models._nearpd import nearpd as _nearpd_fn
from metareview.models._nearpd import nearpd_blocks
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Field,
    Printable,
    Printed,
    Table,
    coefficient_header,
    coefficient_rows,
    moderators_test,
    num,
    pval,
    render_text,
)
from metareview.models.rma import _readonly

__all__ = ["RMAMVResult", "rma_mv"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
STRUCTS = ("CS", "HCS", "UN", "DIAG", "ID", "AR", "HAR", "CAR")
_EPS10 = 10.0 * float(np.finfo(float).eps)  # metafor: variances below this are 0
_EVTOL = 1e-7


# --------------------------------------------------------------------------- random terms


@dataclass(frozen=True)
class _SigmaTerm:
    """A random intercept per level of ``name`` (``a`` or a nesting ``a/b``)."""

    name: str
    codes: IntArray
    nlevels: int
    labels: _LevelLabels | None = None

    @property
    def levels(self) -> tuple[str, ...]:
        """Each level's label (computed when asked: only ``ranef`` needs them)."""
        return self.labels() if self.labels is not None else ()


@dataclass(frozen=True)
class _GTerm:
    """A ``~ inner | outer`` term with structure ``struct``."""

    inner: str
    outer: str
    struct: str
    inner_codes: IntArray
    outer_codes: IntArray
    levels: tuple[str, ...]
    n_outer: int
    label: str = ""
    outer_labels: _LevelLabels | None = None
    values: FloatArray | None = None  # struct="CAR": the sorted numeric values of inner

    @property
    def outer_levels(self) -> tuple[str, ...]:
        """Each outer level's label (computed when asked)."""
        return self.outer_labels() if self.outer_labels is not None else ()

    @property
    def q(self) -> int:
        return len(self.levels)

    @property
    def ntau(self) -> int:
        return self.q if self.struct in ("DIAG", "HCS", "UN", "HAR") else 1

    @property
    def nrho(self) -> int:
        if self.struct in ("ID", "DIAG"):
            return 0
        if self.struct == "UN":
            return self.q * (self.q - 1) // 2
        return 1


def _level_label(x: Any) -> str:
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class _LevelLabels:
    """The labels of coded levels, made on demand: per code, its columns' values joined by
    ``/`` (metafor's nested factors: ``district/school`` level ``11/3``)."""

    columns: tuple[tuple[IntArray, Any], ...]  # (codes, uniques) per column
    codes: IntArray  # the combined codes

    def __call__(self) -> tuple[str, ...]:
        first = np.unique(self.codes, return_index=True)[1]  # one observation per code
        return tuple("/".join(_level_label(u[c[i]]) for c, u in self.columns)
                     for i in first.tolist())


def _coded_levels(data: pd.DataFrame, cols: Sequence[str], field_name: str,
                  cache: dict[str, tuple[IntArray, Any]] | None = None
                  ) -> tuple[IntArray, int, _LevelLabels]:
    """Integer codes of the combinations of ``cols`` (ordered by the first column, then the
    next, ...), their number and their labels. Missing values are an InputError. ``cache``
    keeps each column's codes for the next call (nested terms share their columns)."""
    cache = {} if cache is None else cache
    for c in cols:
        if c in cache:
            continue
        if c not in data.columns:
            raise InputError(f"no column {c!r} in the data", field=field_name)
        col = data[c]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
            # plain NumPy numbers: np.unique gives pd.factorize(sort=True)'s codes, faster
            arr = col.to_numpy()
            miss = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.size, dtype=bool)
        else:
            arr = None
            miss = col.isna().to_numpy()
        if miss.any():
            raise InputError("missing value in a random-effects variable",
                             row=int(np.flatnonzero(miss)[0]) + 1, field=c)
        if arr is not None:
            uniq, inv = np.unique(arr, return_inverse=True)
            cache[c] = (inv.astype(np.int64), uniq)
        else:
            cache[c] = pd.factorize(col, sort=True)
    per_col = tuple(cache[c] for c in cols)
    out = per_col[0][0].astype(np.int64)
    n = len(per_col[0][1])
    for nxt, u2 in per_col[1:]:
        u3, comb = np.unique(out * len(u2) + nxt, return_inverse=True)
        out, n = comb.astype(np.int64), len(u3)
    return out, n, _LevelLabels(per_col, out)


def _strip_factor(text: str) -> str:
    t = text.strip()
    for pre in ("factor(", "as.factor("):
        if t.startswith(pre) and t.endswith(")"):
            return t[len(pre):-1].strip()
    return t


def _parse_random(
    random: str | Sequence[str] | None, data: pd.DataFrame, structs: Sequence[str]
) -> tuple[list[_SigmaTerm], list[_GTerm]]:
    """metafor's ``random=`` formulas as sigma and G terms (None: no random effects)."""
    if random is None:
        return [], []
    forms = [random] if isinstance(random, str) else list(random)
    sig: list[_SigmaTerm] = []
    gts: list[_GTerm] = []
    cache: dict[str, tuple[IntArray, Any]] = {}
    for f in forms:
        text = str(f).strip()
        if not text.startswith("~") or "|" not in text:
            raise InputError(f"random formula {f!r} must look like '~ 1 | cluster' or "
                             "'~ inner | outer'", field="random")
        lhs, rhs = (s.strip() for s in text[1:].split("|", 1))
        if lhs == "1":
            parts = [p.strip() for p in rhs.split("/")]
            if any(not p for p in parts):
                raise InputError(f"cannot read the random formula {f!r}", field="random")
            for i in range(len(parts)):
                cols = parts[: i + 1]
                codes, nl, labs = _coded_levels(data, cols, "random", cache)
                sig.append(_SigmaTerm("/".join(cols), codes, nl, labs))
        else:
            if len(gts) == 2:
                raise InputError("at most two '~ inner | outer' terms", field="random")
            inner, outer = _strip_factor(lhs), rhs
            if "/" in outer or len(split_top(inner, "+:*")) > 1:
                raise InputError(f"unsupported random formula {f!r}", field="random")
            struct = str(structs[len(gts)] if len(gts) < len(structs) else structs[-1]).upper()
            if struct not in STRUCTS:
                raise InputError(f"unknown struct {struct!r}; choose one of "
                                 f"{', '.join(STRUCTS)}", field="struct")
            icodes, _, ilabs = _coded_levels(data, [inner], "random", cache)
            ocodes, no, olabs = _coded_levels(data, [outer], "random", cache)
            values = None
            if struct == "CAR":
                if inner not in data.columns or not pd.api.types.is_numeric_dtype(data[inner]):
                    raise InputError(f"struct='CAR' needs a numeric inner variable ({inner!r})",
                                     field="struct")
                values = np.asarray(cache[inner][1], dtype=float)
            gts.append(_GTerm(inner, outer, struct, icodes, ocodes, ilabs(), no, lhs, olabs,
                              values))
    return sig, gts


# --------------------------------------------------------------------------- G and its derivatives


def _g_matrix(
    term: _GTerm, eta_tau: FloatArray, eta_rho: FloatArray
) -> tuple[FloatArray, list[FloatArray], FloatArray, FloatArray]:
    """``G`` of ``term`` and ``dG/d eta`` for each of its parameters (``log tau2``, ``atanh rho``).

    Returns ``(G, dG, tau2, rho)``.
    """
    q, s = term.q, term.struct
    tau2 = np.exp(eta_tau)
    if s == "CAR":
        rho = special.expit(eta_rho)
        drho = rho * (1.0 - rho)
    else:
        rho = np.tanh(eta_rho)
        drho = 1.0 - rho * rho
    ones_off = np.ones((q, q)) - np.eye(q)
    d: list[FloatArray] = []
    if s == "ID":
        g = tau2[0] * np.eye(q)
        d.append(g.copy())
    elif s == "DIAG":
        g = np.diag(tau2)
        for i in range(q):
            e = np.zeros((q, q))
            e[i, i] = tau2[i]
            d.append(e)
    elif s == "CS":
        g = tau2[0] * (np.eye(q) + rho[0] * ones_off)
        d.append(g.copy())
        d.append(tau2[0] * drho[0] * ones_off)
    elif s in ("AR", "CAR"):
        pos = term.values if s == "CAR" and term.values is not None else np.arange(q, dtype=float)
        lag = np.abs(np.subtract.outer(pos, pos))
        r = rho[0]
        pw = np.power(r, lag)
        g = tau2[0] * pw
        d.append(g.copy())
        with np.errstate(divide="ignore", invalid="ignore"):
            dpw = np.where(lag > 0, lag * np.power(r, np.maximum(lag - 1.0, 0.0)), 0.0)
        d.append(tau2[0] * drho[0] * dpw)
    else:  # HCS, HAR, UN
        sd = np.sqrt(tau2)
        ss = np.outer(sd, sd)
        lag = np.abs(np.subtract.outer(np.arange(q), np.arange(q))).astype(float)
        if s == "HCS":
            corr = np.eye(q) + rho[0] * ones_off
        elif s == "HAR":
            corr = np.power(rho[0], lag)
        else:
            corr = np.eye(q)
            il = np.tril_indices(q, -1)
            order = np.lexsort((il[0], il[1]))  # R's lower.tri order: column by column
            rows, cols = il[0][order], il[1][order]
            corr[rows, cols] = rho
            corr[cols, rows] = rho
        g = ss * corr
        for i in range(q):
            e = np.zeros((q, q))
            e[i, :] += 0.5 * g[i, :]
            e[:, i] += 0.5 * g[:, i]  # diagonal: 0.5 + 0.5 = d tau2_i / d log tau2_i
            d.append(e)
        if s == "HCS":
            d.append(drho[0] * ss * ones_off)
        elif s == "HAR":
            with np.errstate(divide="ignore", invalid="ignore"):
                dpw = np.where(lag > 0, lag * np.power(rho[0], np.maximum(lag - 1.0, 0.0)), 0.0)
            d.append(drho[0] * ss * dpw)
        else:
            for j in range(len(rho)):
                e = np.zeros((q, q))
                e[rows[j], cols[j]] = e[cols[j], rows[j]] = drho[j] * ss[rows[j], cols[j]]
                d.append(e)
    return g, d, tau2, rho


def _un_var_cor(g: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(diag(G), cov2cor(G)[lower.tri])`` (R's column-by-column order), as metafor's
    ``.con.E`` reads ``tau2`` and ``rho`` back from a ``nearPD``'d ``UN`` matrix."""
    v = np.diag(g).copy()
    sd = np.sqrt(v)
    il = np.tril_indices(g.shape[0], -1)
    order = np.lexsort((il[0], il[1]))
    rows, cols = il[0][order], il[1][order]
    return v, g[rows, cols] / (sd[rows] * sd[cols])


# --------------------------------------------------------------------------- block structure


@dataclass
class _Group:
    """Blocks of ``M`` padded to one size ``m``, stacked: ``idx (nb, m)`` observation indices
    (-1 for padding, whose rows have ``y = 0``, ``X = 0``, ``V = 1`` and no random effects)."""

    idx: IntArray
    y: FloatArray
    x: FloatArray
    v: FloatArray
    s_masks: list[FloatArray]
    g_inner: list[IntArray]
    g_masks: list[FloatArray]


def _blocks(
    n: int, sig: Sequence[_SigmaTerm], gts: Sequence[_GTerm], vmat: sparse.csr_matrix | None,
    extra: Sequence[IntArray] = (),
) -> IntArray:
    """Block label of each observation: the connected components of the graph linking
    observations that share a level of a random factor (or an outer level, or a non-zero
    sampling covariance; ``extra`` groupings link as well)."""
    diagonal_v = vmat is None or vmat.nnz == 0 or bool(np.all(
        np.diff(vmat.indptr) <= 1) and np.all(vmat.indices == np.repeat(
            np.arange(n), np.diff(vmat.indptr))))
    if (sig and not gts and not extra and diagonal_v
            and all(t.name.startswith(sig[0].name + "/") for t in sig[1:])):
        # one nesting a/b/...: the components are the levels of a (the same labels, in order
        # of first appearance, as the graph below gives)
        return _first_appearance(sig[0].codes)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    offset = n
    obs = np.arange(n, dtype=np.int64)
    for codes in [*(t.codes for t in sig), *(t.outer_codes for t in gts), *extra]:
        rows.append(obs)
        cols.append(offset + codes)
        offset += int(codes.max()) + 1 if codes.size else 0
    if vmat is not None:
        coo = vmat.tocoo()
        off = coo.row != coo.col
        rows.append(coo.row[off].astype(np.int64))
        cols.append(coo.col[off].astype(np.int64))
    if not rows:
        return obs
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size), (r, c)), shape=(offset, offset))
    _, labels = csgraph.connected_components(graph, directed=False)
    out: IntArray = pd.factorize(labels[:n])[0].astype(np.int64)
    return out


def _first_appearance(codes: IntArray) -> IntArray:
    """``codes`` relabelled 0, 1, ... in order of first appearance (``pd.factorize(codes)``)."""
    _, first, inv = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    out: IntArray = rank[inv]
    return out


def _padded_sizes(sizes: IntArray) -> IntArray:
    """The size each block is padded to so that blocks stack into few groups: all to the
    largest when that at most quadruples the work (``sum m^2``), else to the next size of the
    ladder 1, 2, 3, 4, 6, 8, 12, 16, ... (at most 1.5x per dimension)."""
    mx = int(sizes.max())
    if sizes.size * mx * mx <= 4 * int(np.sum(sizes.astype(np.int64) ** 2)) + 20000:
        return np.full(sizes.size, mx, dtype=np.int64)
    lad = np.array(sorted({v for e in range(40) for v in (2**e, 3 * 2**e)}), dtype=np.int64)
    out: IntArray = lad[np.searchsorted(lad, sizes)]
    return out


def _make_groups(
    labels: IntArray, y: FloatArray, x: FloatArray, vmat: sparse.csr_matrix,
    sig: Sequence[_SigmaTerm], gts: Sequence[_GTerm],
) -> list[_Group]:
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # position of each observation within its block, and its block's slot within its group
    pos = np.empty(labels.size, dtype=np.int64)
    pos[order] = np.arange(labels.size) - np.repeat(starts, sizes)
    padded = _padded_sizes(sizes)
    coo = vmat.tocoo()
    groups: list[_Group] = []
    for m in np.unique(padded):
        which = np.flatnonzero(padded == m)
        offs = np.arange(m)[None, :]
        valid = offs < sizes[which][:, None]
        idx = np.where(valid, order[np.minimum(starts[which][:, None] + offs,
                                               labels.size - 1)], -1)
        safe = np.where(valid, idx, 0)
        slot = np.full(sizes.size, -1, dtype=np.int64)
        slot[which] = np.arange(which.size)
        # V's entries (always within one block: blocks are V's connected components too);
        # padding rows get 1 on the diagonal and nothing else, so they drop out of every sum
        sel = slot[labels[coo.row]] >= 0
        r, c = coo.row[sel], coo.col[sel]
        vblk = np.zeros((which.size, m, m))
        vblk[slot[labels[r]], pos[r], pos[c]] = coo.data[sel]
        pad_b, pad_i = np.nonzero(~valid)
        vblk[pad_b, pad_i, pad_i] = 1.0
        both = (valid[:, :, None] & valid[:, None, :]).astype(float)
        ii, jj = safe[:, :, None], safe[:, None, :]
        groups.append(_Group(
            idx=idx, y=np.where(valid, y[safe], 0.0), x=np.where(valid[:, :, None], x[safe], 0.0),
            v=vblk,
            s_masks=[(t.codes[ii] == t.codes[jj]) * both for t in sig],
            g_inner=[t.inner_codes[safe] for t in gts],
            g_masks=[(t.outer_codes[ii] == t.outer_codes[jj]) * both for t in gts],
        ))
    return groups


# --------------------------------------------------------------------------- the likelihood


def _chol_inv(mm: FloatArray) -> tuple[float, FloatArray] | None:
    """``(sum log|M_b|, M_b^-1)`` of a stack of positive definite blocks, None when one is not.

    NumPy's batched ``cholesky``/``solve`` loop over the stack in C but pay a large overhead
    per small matrix; for 64 or more blocks of up to 48 rows the Cholesky factor ``L`` and
    ``L^-1`` are built column by column with every operation vectorised over the stack (Golub &
    Van Loan 2013, alg. 4.2.1 and forward substitution), about 2x faster for 10 x 10 blocks.
    """
    nb, m = mm.shape[0], mm.shape[1]
    if m > 48 or nb < 64:
        try:
            chol = np.linalg.cholesky(mm)
        except np.linalg.LinAlgError:
            return None
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
        inv = np.linalg.inv(mm)  # one LAPACK call per stack; the factor checked PD
        sym = np.asarray(0.5 * (inv + np.swapaxes(inv, 1, 2)), dtype=np.float64)
        return logdet, sym
    lo = np.zeros_like(mm)
    for j in range(m):
        d = mm[:, j, j] - np.einsum("bk,bk->b", lo[:, j, :j], lo[:, j, :j])
        if not np.all(d > 0):
            return None
        lo[:, j, j] = np.sqrt(d)
        if j + 1 < m:
            lo[:, j + 1:, j] = (mm[:, j + 1:, j] - np.einsum("bik,bk->bi", lo[:, j + 1:, :j],
                                                             lo[:, j, :j])) / lo[:, j, j, None]
    diag = np.diagonal(lo, axis1=1, axis2=2)
    logdet = 2.0 * float(np.sum(np.log(diag)))
    li = np.zeros_like(mm)
    for j in range(m):  # row j of L^-1: (e_j - L[j, :j] L^-1[:j, :]) / L[j, j]
        row = -np.einsum("bk,bkc->bc", lo[:, j, :j], li[:, :j, :])
        row[:, j] += 1.0
        li[:, j, :] = row / diag[:, j, None]
    return logdet, np.swapaxes(li, 1, 2) @ li


@dataclass
class _Eval:
    f: float
    grad: FloatArray
    beta: FloatArray
    vb: FloatArray
    ll: float
    rss: float
    info: FloatArray | None = None
    hess: FloatArray | None = None


class _Model:
    """The (restricted) likelihood of one ``rma_mv`` model over its blocks.

    With ``nearpd`` (metafor's ``control=list(nearpd=TRUE)``, its ``.ll.rma.mv`` and
    ``.con.E``): a ``struct="UN"`` ``G`` (and ``H``) is replaced by ``Matrix::nearPD(G)``, and
    ``M`` by ``nearPD(M)`` (block by block with the thresholds of the whole matrix,
    :func:`~metareview.models._nearpd.nearpd_blocks`) in every evaluation. Where neither cuts
    an eigenvalue, ``nearPD`` returns its input up to rounding and the analytic gradient
    holds; where one does ("active"), the likelihood is that of the repaired matrices and
    its gradient is taken by central differences (no scoring matrix: the optimiser uses
    BFGS)."""

    nearpd: bool = False
    #: parameters held fixed (set by :func:`_optimise`): no difference gradient for them
    fixed_idx: frozenset[int] = frozenset()

    def __init__(self, groups: list[_Group], sig: Sequence[_SigmaTerm], gts: Sequence[_GTerm],
                 k: int, p: int, reml: bool, logdet_xx: float, nearpd: bool = False) -> None:
        self.groups, self.sig, self.gts = groups, list(sig), list(gts)
        self.k, self.p, self.reml, self.logdet_xx = k, p, reml, logdet_xx
        self.npar = len(sig) + sum(t.ntau + t.nrho for t in gts)
        # every parameter a log variance that M is linear in: d2M/d eta_j d eta_k = [j = k] D_j
        self.linear = all(t.struct in ("ID", "DIAG") for t in gts)
        self._last: tuple[FloatArray, _Eval, bool, bool] | None = None  # the last evaluation
        self.nearpd = nearpd
        # per group: the blocks of each true (unpadded) size, for nearPD without the padding
        self._pd_sel = [[(np.flatnonzero(n == s), int(s)) for s in np.unique(n)]
                        for n in ((g.idx >= 0).sum(axis=1) for g in groups)] if nearpd else []

    def g_matrices(self, eta: FloatArray) -> tuple[list[tuple[FloatArray, list[FloatArray],
                                                               FloatArray, FloatArray]], bool]:
        """:func:`_g_matrix` of each G term at ``eta`` (``nearPD``'d for ``UN`` with
        ``nearpd``, as metafor's ``.con.E``) and whether a ``nearPD`` cut an eigenvalue."""
        _, eg = self.split(eta)
        gmats = [_g_matrix(t, et, er) for t, (et, er) in zip(self.gts, eg, strict=True)]
        active = False
        if self.nearpd:
            for j, t in enumerate(self.gts):
                if t.struct == "UN":
                    g, dg, _, _ = gmats[j]
                    res = _nearpd_fn(g)
                    if res.clipped:
                        active = True
                        gmats[j] = (res.mat, dg, *_un_var_cor(res.mat))
        return gmats, active

    def nearpd_m(self, mms: list[FloatArray]) -> tuple[list[FloatArray], bool]:
        """``nearPD`` of the block-diagonal ``M`` whose padded stacks are ``mms`` (one per
        group; the padding rows stay ``I``) and whether it cut an eigenvalue."""
        subs = [mm[sel][:, :m, :m] for mm, sels in zip(mms, self._pd_sel, strict=True)
                for sel, m in sels]
        out, res = nearpd_blocks(subs)
        if not res.clipped:
            return mms, False
        it = iter(out)
        new = []
        for mm, sels in zip(mms, self._pd_sel, strict=True):
            mm = mm.copy()
            for sel, m in sels:
                blk = mm[sel]
                blk[:, :m, :m] = next(it)
                mm[sel] = blk
            new.append(mm)
        return new, True

    def split(self, eta: FloatArray) -> tuple[FloatArray, list[tuple[FloatArray, FloatArray]]]:
        ns = len(self.sig)
        out, pos = [], ns
        for t in self.gts:
            out.append((eta[pos:pos + t.ntau], eta[pos + t.ntau:pos + t.ntau + t.nrho]))
            pos += t.ntau + t.nrho
        return eta[:ns], out

    def natural(self, eta: FloatArray) -> tuple[FloatArray, list[tuple[FloatArray, FloatArray,
                                                                       FloatArray]]]:
        """``sigma2`` and, per G term, ``(tau2, rho, G)`` at ``eta``."""
        es, eg = self.split(eta)
        gs = []
        for t, (et, er) in zip(self.gts, eg, strict=True):
            g, _, tau2, rho = _g_matrix(t, et, er)
            gs.append((tau2, rho, g))
        return np.exp(es), gs

    def natural_nearpd(self, eta: FloatArray) -> tuple[FloatArray, list[tuple[FloatArray,
                                                                              FloatArray,
                                                                              FloatArray]]]:
        """:meth:`natural`, with ``G`` ``nearPD``'d as in the likelihood (``nearpd``):
        ``tau2 = diag(G)``, ``rho = cov2cor(G)`` as metafor's ``.con.E`` reports them."""
        if not self.nearpd:
            return self.natural(eta)
        es, _ = self.split(eta)
        gmats, _ = self.g_matrices(eta)
        return np.exp(es), [(tau2, rho, g) for g, _, tau2, rho in gmats]

    def evaluate(self, eta: FloatArray, grad: bool = True, info: bool = False) -> _Eval:
        """``-ll`` at ``eta`` (log variances, atanh correlations), its gradient and ``beta``;
        with ``info``, also the average information matrix of ``eta`` (Gilmour, Thompson &
        Cullis 1995), ``AI_jk = 1/2 (Py)' D_j P D_k (Py)`` with ``P = W - W X A^-1 X'W``,
        ``Py = W r`` and ``D_j = dM/d eta_j``: the mean of the observed and expected information
        of REML, cheap to form and a close approximation to the Hessian of ``-ll`` near the
        optimum (used for ML as well, as a scoring matrix). When every parameter is a log
        variance that ``M`` is linear in (``~ 1 | f`` terms, ``ID``/``DIAG``), also the exact
        Hessian of ``-ll``, ``2 AI - E + diag(g)`` with the expected information
        ``E_jk = 1/2 tr(P D_j P D_k)`` (as ``d2M/d eta_j d eta_k = [j = k] D_j``)."""
        last = self._last
        if last is not None and (last[2] or not grad) and (last[3] or not info) \
                and np.array_equal(last[0], eta):
            return last[1]  # the optimum, asked again after the optimiser stopped there
        ev = self._evaluate(eta, grad or info, info)
        self._last = (np.array(eta, dtype=float), ev, grad or info, info)
        return ev

    def _evaluate(self, eta: FloatArray, grad: bool, info: bool) -> _Eval:
        eta = np.clip(eta, -60.0, 60.0)
        es, _ = self.split(eta)
        s2 = np.exp(es)
        p = self.p
        try:
            gmats, active = self.g_matrices(eta)
        except InputError:  # nearPD of a G with no positive eigenvalue
            return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                         np.full((p, p), np.nan), -math.inf, math.nan)
        a = np.zeros((p, p))
        xwy = np.zeros(p)
        logdet = 0.0
        cache = []
        mms = []
        for grp in self.groups:
            mm = grp.v.copy()
            for sj, mask in zip(s2, grp.s_masks, strict=True):
                mm += sj * mask
            for (g, _, _, _), inner, mask in zip(gmats, grp.g_inner, grp.g_masks, strict=True):
                mm += mask * g[inner[:, :, None], inner[:, None, :]]
            mms.append(mm)
        if self.nearpd:
            try:
                mms, act_m = self.nearpd_m(mms)
            except InputError:  # no positive eigenvalue at all
                return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                             np.full((p, p), np.nan), -math.inf, math.nan)
            active = active or act_m
        for grp, mm in zip(self.groups, mms, strict=True):
            ci = _chol_inv(mm)
            if ci is None:
                return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                             np.full((p, p), np.nan), -math.inf, math.nan)
            logdet += ci[0]
            w = ci[1]
            wx = w @ grp.x
            a += np.einsum("bip,biq->pq", grp.x, wx)
            xwy += np.einsum("bip,bi->p", wx, grp.y)
            cache.append((w, wx))
        try:
            ca = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return _Eval(math.inf, np.zeros(self.npar), np.full(p, np.nan),
                         np.full((p, p), np.nan), -math.inf, math.nan)
        ainv = np.linalg.inv(a)
        beta = ainv @ xwy
        rss = 0.0
        wrs = []
        for grp, (w, _) in zip(self.groups, cache, strict=True):
            r = grp.y - np.einsum("bip,p->bi", grp.x, beta)
            wr = np.einsum("bij,bj->bi", w, r)
            rss += float(np.sum(r * wr))
            wrs.append(wr)
        if self.reml:
            ll = (-0.5 * (self.k - p) * math.log(2 * math.pi) + 0.5 * self.logdet_xx
                  - 0.5 * logdet - float(np.sum(np.log(np.diag(ca)))) - 0.5 * rss)
        else:
            ll = -0.5 * self.k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss
        if active:  # nearPD cut an eigenvalue: central differences of -ll
            g_fd = np.zeros(self.npar)
            if grad or info:
                for j in range(self.npar):
                    if j in self.fixed_idx:
                        continue
                    h = 1e-5 * max(1.0, abs(float(eta[j])))
                    up, dn = eta.copy(), eta.copy()
                    up[j] += h
                    dn[j] -= h
                    g_fd[j] = (self._evaluate(up, False, False).f
                               - self._evaluate(dn, False, False).f) / (2.0 * h)
            return _Eval(-ll, g_fd, np.asarray(beta, dtype=float),
                         np.asarray(ainv, dtype=float), ll, rss)
        g_out = np.zeros(self.npar)
        npar = self.npar
        uwu = np.zeros((npar, npar)) if info else None
        xwu = np.zeros((npar, p)) if info else None
        exact = info and self.linear
        tww = np.zeros((npar, npar)) if exact else None
        bsum = np.zeros((npar, p, p)) if exact else None
        csum = np.zeros((npar, npar, p, p)) if exact and self.reml else None
        if grad or info:
            for grp, (w, wx), wr in zip(self.groups, cache, wrs, strict=True):
                mats: list[FloatArray] = []
                for sj, mask in zip(s2, grp.s_masks, strict=True):
                    mats.append(sj * mask)
                for (_, dgs, _, _), inner, mask in zip(gmats, grp.g_inner, grp.g_masks,
                                                       strict=True):
                    for dg in dgs:
                        mats.append(mask * dg[inner[:, :, None], inner[:, None, :]])
                dm = np.stack(mats)  # (npar, nb, m, m): every D_j of the stack at once
                val = (np.einsum("bij,nbij->n", w, dm)
                       - np.einsum("bi,nbij,bj->n", wr, dm, wr))
                bm = None
                if self.reml:
                    bm = np.einsum("bip,nbij,bjq->npq", wx, dm, wx)
                    val = val - np.einsum("pq,npq->n", ainv, bm)
                    if bsum is not None:
                        bsum += bm
                g_out += 0.5 * val
                if uwu is not None and xwu is not None:
                    u = np.einsum("nbij,bj->nbi", dm, wr)  # D_j P y
                    xwu += np.einsum("bip,nbi->np", wx, u)
                    uwu += np.einsum("nbi,kbi->nk", u, np.einsum("bij,nbj->nbi", w, u))
                if tww is not None:
                    wd = w[None] @ dm
                    tww += np.einsum("nbil,kbli->nk", wd, wd)
                    if csum is not None:
                        dwx = dm @ wx[None]
                        csum += np.einsum("nbip,kbiq->nkpq", dwx, w[None] @ dwx)
        info_m = hess_m = None
        if uwu is not None and xwu is not None:
            ai = uwu - xwu @ ainv @ xwu.T if self.reml else uwu
            info_m = 0.25 * (ai + ai.T)  # 1/2 AI, symmetrised
            if tww is not None:
                e = tww.copy()
                if csum is not None and bsum is not None:
                    ab = ainv[None] @ bsum
                    e += (-2.0 * np.einsum("pq,nkpq->nk", ainv, csum)
                          + np.einsum("npq,kqp->nk", ab, ab))
                e = 0.25 * (e + e.T)
                hess_m = 2.0 * info_m - e + np.diag(g_out)
        return _Eval(-ll, g_out, np.asarray(beta, dtype=float), np.asarray(ainv, dtype=float),
                     ll, rss, info_m, hess_m)


def _scoring(model: _Model, full: FloatArray, free: IntArray, max_iter: int = 40
             ) -> FloatArray | None:
    """Minimise ``-ll`` over ``free`` by Newton steps on the exact Hessian where
    :meth:`_Model.evaluate` gives one (and it is positive definite), else average-information
    scoring (Gilmour, Thompson & Cullis 1995): ``eta <- eta - t H^-1 g``, ``t`` halved until
    ``-ll`` does not increase, each step at most 5 in ``eta``. Returns the estimates once
    ``max |g| < 1e-9``, or None (not converged in ``max_iter`` steps, a singular AI matrix, an
    estimate leaving ``[-25, 25]``, a point where ``nearpd``'s ``nearPD`` cuts an eigenvalue and
    there is no AI matrix): the caller then falls back to BFGS."""
    eta = full.copy()
    ev = model.evaluate(eta, info=True)
    if not math.isfinite(ev.f):
        return None
    ixf = np.ix_(free, free)
    for _ in range(max_iter):
        g = ev.grad[free]
        if float(np.max(np.abs(g))) < 1e-9:
            return eta
        if ev.info is None:  # nearpd active: no scoring matrix, BFGS instead
            return None
        step = None
        if ev.hess is not None:  # Newton where the Hessian is exact and positive definite
            h = ev.hess[ixf]
            try:
                np.linalg.cholesky(h)
                step = np.linalg.solve(h, g)
            except np.linalg.LinAlgError:
                step = None
        if step is None:
            try:
                step = np.linalg.solve(ev.info[ixf], g)
            except np.linalg.LinAlgError:
                return None
        big = float(np.max(np.abs(step)))
        if not math.isfinite(big):
            return None
        if big > 5.0:
            step *= 5.0 / big
        t = 1.0
        while True:
            cand = eta.copy()
            cand[free] -= t * step
            if np.any(np.abs(cand[free]) > 25.0):  # towards a boundary: BFGS handles it
                return None
            evn = model.evaluate(cand, info=True)
            if math.isfinite(evn.f) and evn.f <= ev.f + 1e-13 * max(1.0, abs(ev.f)):
                break
            t *= 0.5
            if t < 1e-3:
                return None
        eta, ev = cand, evn
    return None


def _optimise(model: _Model, x0: FloatArray, fixed: dict[int, float],
              maxiter: int | None = None) -> tuple[FloatArray, bool]:
    """Minimise ``-ll`` over the free parameters: average-information scoring
    (:func:`_scoring`) from ``x0`` when it converges; otherwise BFGS with the analytic gradient,
    then Newton steps on a finite-difference Hessian of the gradient for a tight optimum.
    ``maxiter`` (``control``) caps the scoring and the BFGS iterations."""
    free = np.array([i for i in range(model.npar) if i not in fixed], dtype=np.int64)
    full = x0.copy()
    for i, val in fixed.items():
        full[i] = val

    def expand(z: FloatArray) -> FloatArray:
        e = full.copy()
        e[free] = z
        return e

    def fun(z: FloatArray) -> tuple[float, FloatArray]:
        ev = model.evaluate(expand(z))
        f = ev.f if math.isfinite(ev.f) else 1e100
        return f, ev.grad[free]

    if free.size == 0:
        return full, True
    if model.fixed_idx != frozenset(fixed):  # difference gradients skip the fixed ones
        model.fixed_idx = frozenset(fixed)
        model._last = None
    sc = _scoring(model, full, free) if maxiter is None else _scoring(model, full, free,
                                                                       max_iter=maxiter)
    if sc is not None:
        return sc, True
    res = optimize.minimize(fun, full[free], jac=True, method="BFGS",
                            options={"gtol": 1e-6, "maxiter": 2000 if maxiter is None
                                     else maxiter})  # Newton finishes
    z = np.asarray(res.x, dtype=float)
    f0, g0 = fun(z)
    # Newton polish on the parameters away from the boundary (log variance > -25)
    for _ in range(8 if maxiter is None else min(8, maxiter)):
        act = np.flatnonzero(z > -25.0)
        if act.size == 0 or np.max(np.abs(g0[act])) < 1e-9:  # ~1e-9 from the optimum
            break
        h = np.zeros((act.size, act.size))
        for a_i, i in enumerate(act.tolist()):
            step = 1e-5 * max(1.0, abs(z[i]))
            zp, zm = z.copy(), z.copy()
            zp[i] += step
            zm[i] -= step
            h[:, a_i] = (fun(zp)[1][act] - fun(zm)[1][act]) / (2 * step)
        h = 0.5 * (h + h.T)
        try:
            np.linalg.cholesky(h)
            delta = np.linalg.solve(h, g0[act])
        except np.linalg.LinAlgError:
            break
        zn = z.copy()
        zn[act] -= delta
        f1, g1 = fun(zn)
        if f1 > f0 + 1e-12 * max(1.0, abs(f0)):
            break
        z, f0, g0 = zn, f1, g1
    ok = bool(res.success) or float(np.max(np.abs(g0))) < 1e-6
    return expand(z), ok


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class RMAMVResult(Printed):
    """A fitted multilevel / multivariate model (metafor's ``rma.mv`` object).

    Per coefficient (arrays in the order of ``coef_names``): ``beta, se, zval`` (a t value when
    ``test="t"``), ``pval, ci_lb, ci_ub``; ``vb`` is ``Var(beta)``. Variance components:
    ``sigma2`` (one per ``s_names`` factor, with ``s_nlevels`` levels), ``tau2`` and ``rho``
    of the first ``~ inner | outer`` term and ``gamma2``/``phi`` of a second one (``G``/``H``
    their matrices, ``g_levels``/``h_levels`` the inner levels). ``QE``/``QEp``: the test for
    (residual) heterogeneity on ``k - p`` df; ``QM``/``QMp`` the omnibus test of ``btt``.
    ``logLik, deviance, AIC, BIC, AICc`` for ``method``.
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    coef_names: tuple[str, ...]
    beta: FloatArray = field(repr=False)
    se: FloatArray = field(repr=False)
    zval: FloatArray = field(repr=False)
    pval: FloatArray = field(repr=False)
    ci_lb: FloatArray = field(repr=False)
    ci_ub: FloatArray = field(repr=False)
    vb: FloatArray = field(repr=False)
    sigma2: FloatArray = field(repr=False)
    s_names: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    tau2: FloatArray = field(repr=False)
    rho: FloatArray = field(repr=False)
    gamma2: FloatArray = field(repr=False)
    phi: FloatArray = field(repr=False)
    G: FloatArray = field(repr=False)
    H: FloatArray = field(repr=False)
    struct: tuple[str, ...]
    g_names: tuple[str, ...]
    g_levels: tuple[str, ...]
    g_levels_k: tuple[int, ...]
    g_levels_comb_k: FloatArray = field(repr=False)
    g_nlevels: tuple[int, int]
    h_names: tuple[str, ...]
    h_levels: tuple[str, ...]
    h_levels_k: tuple[int, ...]
    h_levels_comb_k: FloatArray = field(repr=False)
    h_nlevels: tuple[int, int]
    ddf: int | None
    ddf_coef: tuple[int, ...]
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    btt: tuple[int, ...]
    logLik: float
    deviance: float
    AIC: float
    BIC: float
    AICc: float
    parms: int
    fixed: tuple[bool, ...] = field(repr=False)
    X: FloatArray = field(repr=False)
    yi: FloatArray = field(repr=False)
    M_blocks: Sequence[tuple[IntArray, FloatArray]] = field(repr=False)
    random: tuple[str, ...] = ()
    g_inner: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64),
                                       repr=False)
    h_inner: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64),
                                       repr=False)
    g_labels: tuple[str, str] | tuple[()] = ()
    h_labels: tuple[str, str] | tuple[()] = ()
    converged: bool = True
    dfs: str = "residual"
    _refit: Any = field(default=None, repr=False)
    vvc: FloatArray | None = field(default=None, repr=False)  # cvvc=: Var of the components
    vvc_names: tuple[str, ...] = ()

    @property
    def int_only(self) -> bool:
        """True for a model with only an intercept."""
        return self.p == 1 and self.coef_names == ("intrcpt",)

    @property
    def coefficients(self) -> pd.DataFrame:
        """The coefficient table as metafor prints it (``tval`` and ``df`` for ``test="t"``)."""
        stat = "tval" if self.ddf is not None else "zval"
        cols: dict[str, Any] = {"estimate": self.beta, "se": self.se, stat: self.zval}
        if self.ddf is not None:
            cols["df"] = np.array(self.ddf_coef)
        cols.update({"pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub})
        return pd.DataFrame(cols, index=pd.Index(self.coef_names, name="coef"))

    # ---- printing

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The model as metafor's ``print.rma.mv`` shows it."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _vc_blocks(self, digits: int) -> list[Block]:
        """metafor's variance-component tables (``print.rma.mv``; R's ``print.gap = 2``, so
        each row name is followed by two spaces)."""
        if not self.sigma2.size and not self.g_names:
            return []
        out: list[Block] = []
        if self.sigma2.size:
            srows: list[list[str | None]] = [
                [num(float(self.sigma2[j]), digits), num(math.sqrt(float(self.sigma2[j])), digits),
                 str(self.s_nlevels[j]), "yes" if self.fixed[j] else "no", self.s_names[j]]
                for j in range(self.sigma2.size)]
            names = ["", *([f"sigma^2.{j + 1}" for j in range(self.sigma2.size)]
                           if self.sigma2.size > 1 else ["sigma^2  "])]
            out.append(Table(["estim", "sqrt", "nlvls", "fixed", "factor"], srows,
                             row_names=[n + " " for n in names], end=" "))
            out.append("")
        pos = self.sigma2.size
        for which in (0, 1):
            g_names = self.g_names if which == 0 else self.h_names
            if not g_names:
                continue
            tau2 = self.tau2 if which == 0 else self.gamma2
            rho = self.rho if which == 0 else self.phi
            levels = self.g_levels if which == 0 else self.h_levels
            lk = self.g_levels_k if which == 0 else self.h_levels_k
            comb = self.g_levels_comb_k if which == 0 else self.h_levels_comb_k
            nl = self.g_nlevels if which == 0 else self.h_nlevels
            struct = self.struct[which]
            tname, rname = ("tau^2", "rho") if which == 0 else ("gamma^2", "phi")
            fx = self.fixed[pos: pos + tau2.size + rho.size]
            pos += tau2.size + rho.size
            inner_label, outer_label = g_names
            inner_label = self._inner_label(which)
            w = max(len(inner_label), len(outer_label))
            out.append(f"outer factor: {outer_label.ljust(w)} (nlvls = {nl[1]})")
            out.append(f"inner factor: {inner_label.ljust(w)} (nlvls = {nl[0]})")
            out.append("")
            per_level = struct in ("DIAG", "HCS", "UN", "HAR")
            rows: list[list[str | None]] = []
            rn = [""]
            for j in range(tau2.size):
                cells: list[str | None] = [num(float(tau2[j]), digits),
                                           num(math.sqrt(float(tau2[j])), digits)]
                if per_level:
                    cells += [str(lk[j]), "yes" if fx[j] else "no", levels[j]]
                else:
                    cells += ["yes" if fx[j] else "no"]
                rows.append(cells)
                if not per_level:
                    rn.append(f"{tname:<9}")  # metafor's padding
                elif tau2.size > 1:
                    rn.append(f"{tname}.{j + 1}  ")
                else:
                    rn.append(tname if struct == "UN" else f"{tname:<8}")
            if struct in ("CS", "HCS", "AR", "HAR", "CAR"):
                cells = [num(float(rho[0]), digits), ""]
                cells += ["", "yes" if fx[-1] else "no", ""] if per_level else [
                    "yes" if fx[-1] else "no"]
                rows.append(cells)
                rn.append(rname)
            hdr = ["estim", "sqrt", "k.lvl", "fixed", "level"] if per_level else [
                "estim", "sqrt", "fixed"]
            out.append(Table(hdr, rows, row_names=[n + " " for n in rn], end=" "))
            out.append("")
            if struct == "UN":
                q = len(levels)
                rmat = np.eye(q)
                il = np.tril_indices(q, -1)
                order = np.lexsort((il[0], il[1]))
                rr, cc = il[0][order], il[1][order]
                rmat[rr, cc] = rho
                fxr = np.zeros((q, q), dtype=bool)
                fxr[rr, cc] = fx[tau2.size:]
                hdr2 = [f"{rname}.{lv}" for lv in levels] + [""] + list(levels)
                rows2: list[list[str | None]] = []
                for i in range(q):
                    cells = ["1" if i == jx else (num(float(rmat[i, jx]), digits)
                                                   if jx < i else "") for jx in range(q)]
                    cells.append("")
                    for jx in range(q):
                        if i == jx:
                            cells.append("-")
                        elif jx > i:
                            cells.append(str(int(comb[i, jx])))
                        else:
                            cells.append("yes" if fxr[i, jx] else "no")
                    rows2.append(cells)
                out.append(Table(hdr2, rows2, row_names=[n + " " for n in ["", *levels]],
                                 end=" "))
                out.append("")
        return out

    def _inner_label(self, which: int) -> str:
        """The inner factor as the user wrote it (``factor(time)`` or ``outcome``)."""
        labels = self.g_labels if which == 0 else self.h_labels
        return labels[0] if labels else (self.g_names if which == 0 else self.h_names)[0]

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        out: list[Block] = ["", f"Multivariate Meta-Analysis Model (k = {self.k}; "
                                f"method: {self.method})", ""]
        if self.sigma2.size or self.g_names:
            out += ["Variance Components:", ""]
            out += self._vc_blocks(digits)
        else:
            out += ["Variance Components: none", ""]
        het = "Test for Heterogeneity:" if self.int_only else \
            "Test for Residual Heterogeneity:"
        q_lab = "Q" if self.int_only else "QE"
        if not math.isnan(self.QE):  # metafor omits the test when QE is NA (V not PD)
            out.append(het)
            out.append(Field(f"{q_lab}(df = {self.k - self.p}) = ",
                             f"{num(self.QE, digits)}, p-val {pval(self.QEp, digits, True)}"))
            out.append("")
        if not self.int_only and not math.isnan(self.QM):
            out += moderators_test(
                self.btt, self.QM, self.QMp, self.QMdf, f_test=self.ddf is not None, digits=digits
            )
        out += ["Model Results:", ""]
        header = coefficient_header(t_test=self.ddf is not None, signif_stars=signif_stars)
        rows = coefficient_rows(
            self.beta, self.se, self.zval, self.pval, self.ci_lb, self.ci_ub, digits=digits,
            df=None if self.ddf is None else [f"{d:g}" for d in self.ddf_coef],
            signif_stars=signif_stars, no_star=" ",  # R's symnum: " " when p > 0.1
        )  # fmt: skip
        names = [n + " " for n in ["", *self.coef_names]] if not self.int_only else None
        out.append(Table(header, rows, row_names=names, end=" "))
        if signif_stars:
            out.append(SIGNIF_CODES)
        out.append("")
        return Printable(out)

    # ---- conversions and methods

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe values (NaN -> None); ``coefficients`` as a list of rows."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name in ("M_blocks", "_refit", "X", "yi"):
                continue
            val = getattr(self, name)
            if isinstance(val, float):
                out[name] = finite_or_none(val)
            else:
                out[name] = jsonable(val)
        out["coefficients"] = [
            {"name": n, "estimate": finite_or_none(b), "se": finite_or_none(s),
             "zval": finite_or_none(z), "pval": finite_or_none(pv),
             "ci_lb": finite_or_none(lo), "ci_ub": finite_or_none(hi)}
            for n, b, s, z, pv, lo, hi in zip(self.coef_names, self.beta, self.se, self.zval,
                                              self.pval, self.ci_lb, self.ci_ub, strict=True)
        ]
        return out

    def predict(self, newmods: Any = None, *, intercept: bool = True,
                tau2_levels: Any = None, gamma2_levels: Any = None) -> pd.DataFrame:
        """Predicted values as metafor's ``predict.rma.mv``: ``pred, se, ci_lb, ci_ub, pi_lb,
        pi_ub`` (and ``tau2_level``, ``gamma2_level`` when those are given).

        ``tau2_levels`` (``gamma2_levels``): for a structure with one ``tau2`` per inner level
        (HCS, UN, DIAG, HAR), the inner level whose ``tau2`` enters each prediction interval,
        by name or 1-based number, one per predicted row or one for all (metafor's
        ``tau2.levels``); without it such an interval is not given at ``newmods``.

        ``pred = x'beta``, ``se = sqrt(x' Var(beta) x)``, CI ``pred +- crit se``; the prediction
        interval ``pred +- crit sqrt(se^2 + sum(sigma2) + tau2 + gamma2)`` where ``tau2`` and
        ``gamma2`` enter only when a single value describes them (metafor's behaviour; otherwise
        the interval is not given, except at the fitted rows, where each row takes the
        ``tau2`` of its own inner level, as metafor). ``crit`` is the normal quantile, or the t
        quantile on the smallest coefficient df for ``test="t"``. ``newmods``: one row of
        moderator values per prediction (without the intercept column; ``intercept=False``
        sets the intercept to 0
        in them, as metafor's ``intercept`` argument); None predicts at each fitted row for
        a model with moderators and the pooled value for an intercept-only model.
        """
        add1 = self.coef_names[0] == "intrcpt"
        multi = any(t.size > 1 for t, present in ((self.tau2, bool(self.g_names)),
                                                  (self.gamma2, bool(self.h_names))) if present)
        per_level = newmods is None and self.int_only and multi
        if newmods is None:
            # metafor: one row per estimate; for an intercept-only model one row, or one per
            # inner level when tau2 has a value per level
            xnew = self.X[:1] if self.int_only else self.X
            if per_level:
                nlev = (self.tau2 if self.tau2.size > 1 else self.gamma2).size
                xnew = np.ones((nlev, 1))
        else:
            arr = np.asarray(newmods, dtype=float)
            need = self.p - 1 if add1 else self.p
            if arr.ndim <= 1:
                arr = arr.reshape(-1, need) if need > 0 and arr.size % need == 0 else \
                    arr.reshape(1, -1)
            if arr.shape[1] != need:
                raise InputError(f"newmods needs {need} column(s)", field="newmods")
            lead = np.full(arr.shape[0], 1.0 if intercept else 0.0)
            xnew = np.column_stack([lead, arr]) if add1 else arr
        pred = xnew @ self.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", xnew, self.vb, xnew))
        alpha = alpha_from_level(self.level)
        # metafor: the smallest df of the coefficients (dfs="contain" gives several)
        crit = (float(-special.stdtrit(min(self.ddf_coef), alpha / 2)) if self.ddf is not None
                else float(-special.ndtri(alpha / 2)))
        # heterogeneity added for the prediction interval, per predicted row
        n = xnew.shape[0]
        extra = np.full(n, float(np.sum(self.sigma2)))
        chosen: dict[str, list[str]] = {}
        for t2, present, inner, levels, given, name in (
                (self.tau2, bool(self.g_names), self.g_inner, self.g_levels, tau2_levels,
                 "tau2"),
                (self.gamma2, bool(self.h_names), self.h_inner, self.h_levels, gamma2_levels,
                 "gamma2")):
            if not present:
                continue
            if given is not None and t2.size > 1:
                idx = _level_indices(given, levels, n, f"{name}_levels")
                extra = extra + t2[idx]
                chosen[f"{name}_level"] = [levels[i] for i in idx]
            elif t2.size == 1:
                extra = extra + float(t2[0])
            elif per_level:
                extra = extra + t2  # one prediction per inner level
            elif newmods is None:
                extra = extra + t2[inner]  # metafor: each row's own inner level
            else:
                extra = extra + np.nan  # metafor asks for tau2.levels here
        sp = np.sqrt(se * se + extra)
        return pd.DataFrame({
            "pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se,
            "pi_lb": pred - crit * sp, "pi_ub": pred + crit * sp, **chosen,
        })

    def ranef(self, *, level: float | None = None) -> dict[str, pd.DataFrame]:
        """Best linear unbiased predictions of the random effects, as metafor's ``ranef.rma.mv``.

        With ``W = M^-1`` at the estimates, ``e = y - X beta`` and ``P = W - W X (X'WX)^-1 X'W``,
        a ``~ 1 | f`` term with variance ``sigma2`` and indicator matrix ``Z`` has
        ``u = sigma2 Z'W e`` and ``Var(u - u_true) = sigma2 I - sigma2^2 Z'PZ``; a
        ``~ inner | outer`` term, whose covariance over the observations is
        ``G* = (Z_inner G Z_inner') * (Z_outer Z_outer')``, has ``u = G* W e`` and
        ``Var = G* - G* P G*`` (Henderson's BLUP; Robinson 1991; metafor's ``ranef.rma.mv``,
        which calls the variance ``vpred``). Prediction intervals are ``u +- crit se``, ``crit``
        the normal quantile, or for ``test="t"`` the t quantile on ``k - p`` df (``dfs=
        "residual"``) or on the term's number of levels (its outer levels for a G term) minus
        ``p`` (``dfs="contain"``), at least 1. Values below ``100 * machine epsilon`` are 0.

        Returns one frame per random term (``intrcpt, se, pi_lb, pi_ub``), keyed as metafor's
        list: the factor's name (``district``, ``district/school``) indexed by its levels
        (nested levels joined by ``/``, ordered by the outer then the inner level, as metafor's
        ``interaction(lex.order=TRUE)``), and ``~inner | outer`` indexed by ``"inner | outer"``
        (the inner value right-aligned) for each combination in the data, ordered by outer then
        inner level.

        Robinson, G. K. (1991). That BLUP is a good thing: the estimation of random effects.
        Statistical Science, 6(1), 15-32.
        """
        if self._refit is None:
            raise InputError("this result has no random effects to predict", field="ranef")
        model = self._refit[0]
        lv = self.level if level is None else float(level)
        alpha = alpha_from_level(lv)
        k, p = self.k, self.p
        beta = np.asarray(self.beta, dtype=float)
        parts = []
        a = np.zeros((p, p))
        for grp, (_, mm) in zip(model.groups, self.M_blocks, strict=True):
            ci = _chol_inv(mm)
            if ci is None:
                raise InputError("the marginal covariance matrix is not positive definite",
                                 field="V")
            w = ci[1]
            e = grp.y - np.einsum("bip,p->bi", grp.x, beta)  # padding rows: y = 0, X = 0
            wx = w @ grp.x
            a += np.einsum("bip,biq->pq", grp.x, wx)
            parts.append((grp, w, np.einsum("bij,bj->bi", w, e), wx))
        ainv = np.linalg.inv(a)

        def crit(nlevels: int) -> float:
            if self.test != "t":
                return float(-special.ndtri(alpha / 2.0))
            ddf = max(1, (nlevels if self.dfs == "contain" else k) - p)
            return float(-special.stdtrit(ddf, alpha / 2.0))

        def frame(pred: FloatArray, var: FloatArray, index: list[str], nlev: int
                  ) -> pd.DataFrame:
            pred = np.where(np.abs(pred) < 100.0 * np.finfo(float).eps, 0.0, pred)
            se = np.sqrt(np.maximum(var, 0.0))
            c = crit(nlev)
            return pd.DataFrame({"intrcpt": pred, "se": se, "pi_lb": pred - c * se,
                                 "pi_ub": pred + c * se}, index=pd.Index(index))

        out: dict[str, pd.DataFrame] = {}
        for j, term in enumerate(model.sig):
            s2 = float(self.sigma2[j])
            nl = term.nlevels
            zwe, zwz, zwx = np.zeros(nl), np.zeros(nl), np.zeros((nl, p))
            for grp, w, we, wx in parts:
                ok = grp.idx >= 0
                codes = term.codes[grp.idx[ok]]
                zwe += np.bincount(codes, we[ok], nl)
                zwz += np.bincount(codes, (w * grp.s_masks[j]).sum(axis=2)[ok], nl)
                np.add.at(zwx, codes, wx[ok])
            zpz = zwz - np.einsum("lp,pq,lq->l", zwx, ainv, zwx)
            out[term.name] = frame(s2 * zwe, s2 - s2 * s2 * zpz, list(term.levels), nl)
        for gi, term in enumerate(model.gts):
            g = np.asarray(self.G if gi == 0 else self.H, dtype=float)
            pred, var = np.zeros(k), np.zeros(k)
            for grp, w, we, _ in parts:
                ok = grp.idx >= 0
                inner = grp.g_inner[gi]
                gb = grp.g_masks[gi] * g[inner[:, :, None], inner[:, None, :]]
                gw = gb @ w
                gwx = gw @ grp.x
                v = (np.diagonal(gb, axis1=1, axis2=2) - np.sum(gw * gb, axis=2)
                     + np.einsum("bip,pq,biq->bi", gwx, ainv, gwx))
                pred[grp.idx[ok]] = np.einsum("bij,bj->bi", gb, we)[ok]
                var[grp.idx[ok]] = v[ok]
            combo = term.outer_codes * term.q + term.inner_codes
            _, first = np.unique(combo, return_index=True)  # sorted: by outer, then inner
            width = max(len(term.levels[c]) for c in term.inner_codes.tolist())
            outer_lv = term.outer_levels
            names = [f"{term.levels[term.inner_codes[i]]:>{width}} | "
                     f"{outer_lv[term.outer_codes[i]]}" for i in first.tolist()]
            key = f"~{term.label} | {term.outer}"
            out[key] = frame(pred[first], var[first], names, term.n_outer)
        return out

    def confint(self, *, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood CIs of the variance components, as metafor's ``confint.rma.mv``.

        For each estimated component ``c`` (``sigma^2.j``, ``tau^2``, ``rho``, ...) the bounds
        are the values where the profile (restricted) log-likelihood, maximised over the other
        components, falls ``qchisq(level, 1) / 2`` below its maximum. Variances are searched in
        ``[0, inf)`` and correlations in ``[-1, 1]``; when the profile at the end of the range
        stays above the cut-off, the bound is the end of the range (as metafor reports 0 for a
        variance). Rows as metafor: each variance is followed by its square root
        (``sigma.j``/``tau``).
        """
        if self._refit is None:
            raise InputError("this result cannot be profiled", field="confint")
        lv = self.level if level is None else float(level)
        crit = float(special.chdtri(1, alpha_from_level(lv))) / 2.0
        model, eta_hat, labels, kinds = self._refit
        ll_max = -model.evaluate(eta_hat, grad=False).f
        rows: list[tuple[str, float, float, float]] = []
        for i, (lab, kind) in enumerate(zip(labels, kinds, strict=True)):
            if self.fixed[i]:
                continue
            est_n = math.exp(eta_hat[i]) if kind == "var" else _eta_cor(eta_hat[i], kind)
            start = eta_hat.copy()

            def prof(val: float, i: int = i, kind: str = kind, start: FloatArray = start
                     ) -> float:
                e = (math.log(val) if val > 0 else -60.0) if kind == "var" else \
                    _cor_eta(val, kind)
                fixed = {j: float(eta_hat[j]) for j in range(len(labels)) if self.fixed[j]}
                fixed[i] = e
                z, _ = _optimise(model, start, fixed)
                return (ll_max - (-model.evaluate(z, grad=False).f)) - crit

            if kind == "var":
                lo_end = 0.0
                if est_n <= _EPS10 or prof(lo_end) <= 0:
                    lo = 0.0
                else:
                    lo = optimize.brentq(prof, 0.0, est_n, xtol=1e-10 * max(est_n, 1e-8),
                                         rtol=1e-10)
                hi_end = max(est_n, 1e-4) * 2.0
                it = 0
                while prof(hi_end) < 0 and it < 60:
                    hi_end *= 2.0
                    it += 1
                hi = optimize.brentq(prof, max(est_n, 0.0), hi_end,
                                     xtol=1e-10 * max(est_n, 1e-8), rtol=1e-10) \
                    if prof(hi_end) >= 0 else math.inf
            else:
                end = 0.0 if kind == "car" else -1.0
                lo = end if prof(end) <= 0 else optimize.brentq(prof, end, est_n,
                                                               xtol=1e-10, rtol=1e-10)
                hi = 1.0 if prof(1.0) <= 0 else optimize.brentq(prof, est_n, 1.0,
                                                               xtol=1e-10, rtol=1e-10)
            rows.append((lab, est_n, lo, hi))
            if kind == "var":
                root = lab.replace("^2", "")
                rows.append((root, math.sqrt(est_n), math.sqrt(lo), math.sqrt(hi)))
        return pd.DataFrame({"estimate": [r[1] for r in rows], "ci_lb": [r[2] for r in rows],
                             "ci_ub": [r[3] for r in rows]},
                            index=pd.Index([r[0] for r in rows], name="component"))


# --------------------------------------------------------------------------- input


def _cor_eta(val: float, kind: str) -> float:
    """A correlation on the optimiser's scale: ``atanh`` (``logit`` for CAR, as metafor)."""
    if kind == "car":
        v = max(1e-15, min(1 - 1e-15, val))
        return math.log(v / (1.0 - v))
    return math.atanh(max(-1 + 1e-15, min(1 - 1e-15, val)))


def _eta_cor(e: float, kind: str) -> float:
    """The inverse of :func:`_cor_eta`."""
    return float(special.expit(e)) if kind == "car" else math.tanh(e)


def _covariance(v_arg: Any, data: pd.DataFrame | None, k: int) -> sparse.csr_matrix:
    """``V`` as a sparse k x k matrix: a column of variances (a name of ``data``), an array of
    variances, a full matrix, a ``scipy.sparse`` matrix or a list of blocks."""
    if isinstance(v_arg, str):
        if data is None or v_arg not in data.columns:
            raise InputError(f"no column {v_arg!r} in the data", field=v_arg)
        vals = as_float(data[v_arg], v_arg)
        return _diag_checked(vals, v_arg)
    if sparse.issparse(v_arg):
        mat = sparse.csr_matrix(v_arg, dtype=float)
    elif isinstance(v_arg, list | tuple) and v_arg and all(
            np.ndim(b) == 2 for b in v_arg):
        mat = sparse.block_diag([np.asarray(b, dtype=float) for b in v_arg], format="csr")
    else:
        arr = np.asarray(v_arg.to_numpy() if isinstance(v_arg, pd.Series | pd.DataFrame)
                         else v_arg, dtype=float)
        if arr.ndim == 1:
            return _diag_checked(arr, "V")
        mat = sparse.csr_matrix(arr)
    if mat.shape != (k, k):
        raise InputError(f"V is {mat.shape[0]} x {mat.shape[1]} for k = {k} estimates",
                         field="V")
    dense_check = mat - mat.T
    if dense_check.nnz and float(np.max(np.abs(dense_check.data))) > 1e-10 * max(
            1.0, float(np.max(np.abs(mat.data)))):
        raise InputError("V must be symmetric", field="V")
    diag = mat.diagonal()
    bad = ~np.isfinite(diag) | (diag < 0)
    if bad.any() or (mat.nnz and not np.all(np.isfinite(mat.data))):
        i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        raise InputError("sampling variances must be finite and >= 0", row=i + 1, field="V")
    return mat


def _diag_checked(vals: FloatArray, name: str) -> sparse.csr_matrix:
    return sparse.diags(_checked_variances(vals, name), format="csr")


def _checked_variances(vals: FloatArray, name: str) -> FloatArray:
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"sampling variance must be a finite number >= 0 (got {vals[i]})",
                         row=i + 1, field=name)
    return vals


def _column_floats(col: pd.Series, name: str) -> FloatArray:
    """A column as floats: :func:`as_float`, with a shortcut for plain NumPy numbers."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
        return np.array(col.to_numpy(), dtype=float)
    return as_float(col, name)


def _level_indices(given: Any, levels: Sequence[str], n: int, field: str) -> list[int]:
    """0-based indices of inner levels given by name or 1-based number (one, or one per row)."""
    vals = list(given) if isinstance(given, list | tuple | np.ndarray | pd.Series) else [given]
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n:
        raise InputError(f"{field} needs one level or one per predicted row ({n})", field=field)
    names = [str(lv) for lv in levels]
    out = []
    for v in vals:
        if isinstance(v, str) and v in names:
            out.append(names.index(v))
        elif isinstance(v, int | np.integer) and not isinstance(v, bool) and 1 <= v <= len(names):
            out.append(int(v) - 1)
        else:
            raise InputError(f"{field}: no inner level {v!r} (levels: {', '.join(names)})",
                             field=field)
    return out


def _omit_incomplete(yi: Any, V: Any, data: pd.DataFrame | None, mods: Any
                     ) -> tuple[Any, Any, pd.DataFrame | None, Any]:
    """``yi``, ``V``, ``data`` and ``mods`` without the rows that miss a value of any of them
    (metafor's ``na.omit``), with a warning naming them. A missing random-effects variable
    stays an error, as in metafor ("No NAs allowed in variables specified in the 'random'
    argument")."""
    if isinstance(yi, str) and (data is None or yi not in data.columns):
        return yi, V, data, mods  # (the fit names what is wrong)
    y = np.asarray(pd.to_numeric(data[yi], errors="coerce") if isinstance(yi, str) and
                   data is not None else yi, dtype=float)
    k = y.size
    if data is not None and len(data) != k:
        return yi, V, data, mods
    frame = pd.DataFrame(index=range(k)) if data is None else data.reset_index(drop=True)
    miss = np.isnan(y)
    if isinstance(V, str) and V in frame.columns:
        miss |= frame[V].isna().to_numpy()
    elif not isinstance(V, str):
        if isinstance(V, list | tuple):  # a list of variances, or of blocks
            try:
                V = np.asarray(V, dtype=float)
            except (TypeError, ValueError):
                raise InputError("na_action='omit' needs V as a column, a vector or a k x k "
                                 "matrix (not a list of blocks)", field="V") from None
        shape = V.shape if sparse.issparse(V) else np.shape(V)
        if shape not in ((k,), (k, k)):
            return yi, V, data, mods  # (the fit names what is wrong)
        if sparse.issparse(V):
            coo = sparse.coo_matrix(V)  # (its stored entries only: no dense k x k copy)
            miss[coo.row[np.isnan(coo.data)]] = True
        else:
            v_arr = np.asarray(V, dtype=float)
            miss |= np.isnan(v_arr).reshape(k, -1).any(axis=1)
    m_arr = None if mods is None or isinstance(mods, str) else np.asarray(mods, dtype=float)
    if isinstance(mods, str):
        miss |= design_matrix(mods, frame)[2]
    elif m_arr is not None:
        miss |= np.isnan(m_arr).reshape(k, -1).any(axis=1)
    if not miss.any():
        return yi, V, data, mods
    keep = ~miss
    rows = np.flatnonzero(miss) + 1
    shown = ", ".join(str(int(r)) for r in rows[:10]) + (" ..." if rows.size > 10 else "")
    warnings.warn(f"{rows.size} row(s) with missing values left out of the model: row(s) "
                  f"{shown} (metafor: \"Rows with NAs omitted from model fitting.\")",
                  MetareviewWarning, stacklevel=3)
    new_data = None if data is None else frame.loc[keep].reset_index(drop=True)
    new_y = yi if isinstance(yi, str) else y[keep]
    if isinstance(V, str):
        new_v: Any = V
    elif sparse.issparse(V):
        new_v = sparse.csr_matrix(V)[keep][:, keep]
    else:
        new_v = v_arr[keep] if v_arr.ndim == 1 else v_arr[np.ix_(keep, keep)]
    if isinstance(mods, pd.DataFrame):  # (kept a DataFrame: its names name the coefficients)
        new_mods = mods.reset_index(drop=True).loc[keep].reset_index(drop=True)
    else:
        new_mods = mods if m_arr is None else m_arr[keep]
    return new_y, new_v, new_data, new_mods


def _diagonal_v(v_arg: Any, data: pd.DataFrame | None, k: int) -> FloatArray | None:
    """``V`` given as ``k`` sampling variances (a column of ``data``, a 1-D array or a
    Series), checked as :func:`_covariance` checks them; None for any other form of ``V``."""
    if isinstance(v_arg, str):
        if data is None or v_arg not in data.columns:
            raise InputError(f"no column {v_arg!r} in the data", field=v_arg)
        vals = _column_floats(data[v_arg], v_arg)
        name = v_arg
    elif isinstance(v_arg, np.ndarray | pd.Series) and v_arg.ndim == 1 and len(v_arg) == k:
        vals = np.asarray(v_arg.to_numpy() if isinstance(v_arg, pd.Series) else v_arg,
                          dtype=float)
        name = "V"
    else:
        return None
    return _checked_variances(vals, name) if vals.size == k else None


def _comb_counts(term: _GTerm) -> tuple[tuple[int, ...], FloatArray]:
    """Per inner level, the number of estimates at that level; per pair of levels, the number of
    outer levels where both occur (metafor's ``g.levels.k``, ``table(inner)``, and
    ``g.levels.comb.k``)."""
    pres = np.zeros((term.q, term.n_outer), dtype=bool)
    pres[term.inner_codes, term.outer_codes] = True
    comb = pres.astype(float) @ pres.T.astype(float)
    return tuple(int(c) for c in np.bincount(term.inner_codes, minlength=term.q)), comb


def _fix_single_levels(sig: Sequence[_SigmaTerm], gts: Sequence[_GTerm],
                       fix_s: list[float | None], fix_r: list[float | None],
                       fix_g: list[list[float | None]]) -> None:
    """metafor's rules for terms with one level, applied in place with its warnings: the
    ``sigma2`` of a single-level factor is fixed to 0 (it cannot be told from the intercept),
    and so is the ``rho`` (``phi``) of a CS, HCS, AR, HAR or CAR term whose inner factor has a
    single level (the likelihood does not depend on it)."""
    single = [j for j, term in enumerate(sig) if term.nlevels == 1 and fix_s[j] is None]
    for j in single:
        fix_s[j] = 0.0
    if single:
        names = ", ".join(sig[j].name for j in single)
        warnings.warn(f"single-level factor(s) in 'random' ({names}): their sigma2 "
                      "fixed to 0 (metafor: \"Single-level factor(s) found in 'random' argument. "
                      "Corresponding 'sigma2' value(s) fixed to 0.\")", MetareviewWarning,
                      stacklevel=3)
    for gi, t in enumerate(gts):
        if t.q != 1 or t.struct not in ("CS", "HCS", "AR", "HAR", "CAR"):
            continue
        fix = fix_r if gi == 0 else fix_g[gi - 1]
        at = 0 if gi == 0 else t.ntau
        if fix[at] is None:
            fix[at] = 0.0
            name = "rho" if gi == 0 else "phi"
            warnings.warn(f"inner factor {t.inner} has only a single level, so {name} is fixed "
                          f"to 0 (as metafor)", MetareviewWarning, stacklevel=3)


def _fix_vector(arg: Any, n: int, name: str) -> list[float | None]:
    if arg is None:
        return [None] * n
    vals = list(arg) if isinstance(arg, list | tuple | np.ndarray) else [arg]
    if len(vals) == 1 and n > 1:
        vals = vals * n
    if len(vals) != n:
        raise InputError(f"{name} needs {n} value(s)", field=name)
    out: list[float | None] = []
    for v in vals:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(float(v))
    return out


# --------------------------------------------------------------------------- public function


def rma_mv(
    yi: Any,
    V: Any,
    *,
    data: pd.DataFrame | None = None,
    random: str | Sequence[str] | None = "~ 1 | study/es",
    mods: Any = None,
    struct: str | Sequence[str] = "CS",
    method: str = "REML",
    test: str = "z",
    dfs: str = "residual",
    level: float = 95.0,
    btt: Sequence[int] | None = None,
    sigma2: Any = None,
    tau2: Any = None,
    rho: Any = None,
    gamma2: Any = None,
    phi: Any = None,
    cvvc: bool | str = False,
    control: Mapping[str, Any] | None = None,
    na_action: str = "fail",
) -> RMAMVResult:
    """Fit a multilevel / multivariate meta-analytic model (metafor's ``rma.mv``).

    Parameters
    ----------
    yi : str or array-like
        Effect sizes (a column name of ``data`` or the values).
    V : str, array-like, matrix, sparse matrix or list of blocks
        Sampling variances (a column or a vector) or their full (block-diagonal) covariance
        matrix, e.g. from :func:`metareview.models.vcalc`.
    data : DataFrame, optional
        Where column names are looked up.
    random : str or list of str
        metafor's formulas: ``"~ 1 | cluster"``, ``"~ 1 | cluster/obs"`` (one ``sigma2`` per
        level of nesting), ``"~ inner | outer"`` (correlated effects of the levels of ``inner``
        within ``outer``, structure ``struct``; at most two such terms, for ``tau2/rho`` and
        ``gamma2/phi``).
    mods : str or array-like, optional
        A formula (``"~ year"``, ``"~ 0 + outcome + outcome:I(year - 1983)"``; factors,
        interactions, ``I()``) or a numeric model matrix (used as given, no intercept added:
        metafor's ``mods=X, intercept=FALSE``; a DataFrame's column names name the
        coefficients).
    struct : str or list of two str
        ``CS`` (default), ``HCS``, ``UN``, ``DIAG``, ``ID``, ``AR``, ``HAR`` or ``CAR`` (module
        docstring).
    method : {"REML", "ML"}
    test : {"z", "t"}
        Wald z-tests, or t-tests (and an F omnibus test) with ``dfs`` degrees of freedom.
    dfs : {"residual", "contain"}
        The t df for ``test="t"``: ``k - p`` (metafor's default), or metafor's "contain"
        method: per coefficient, the fewest levels among the random factors (for a ``~ inner |
        outer`` term: its inner-outer combinations and its outer levels) within each of whose
        levels the coefficient's column is constant, minus ``p`` (``k - p`` when no factor
        contains it), at least 1. ``QM``'s denominator df is the smallest over ``btt``.
    level : float
        Confidence level in percent.
    btt : sequence of int, optional
        0-based indices of the coefficients tested by ``QM`` (default: all but the intercept).
    sigma2, tau2, rho, gamma2, phi : float or list, optional
        Fixed values of variance components (None entries are estimated), as metafor's
        arguments of the same names (``gamma2``/``phi``: the second ``~ inner | outer`` term).
    cvvc : bool or {"varcor", "varcov", "transf"}
        metafor's ``cvvc``: also compute ``vvc``, the variance-covariance matrix of the
        variance-component estimates (the inverse Hessian of ``-ll``; see :func:`_vvc`), named
        by ``vvc_names``.
    control : mapping, optional
        ``maxiter`` (iterations of each optimiser stage; not converging within them is a
        :class:`~metareview.errors.ConvergenceError` whose ``init`` holds the estimates
        reached as start values, so ``control={**err.init, "maxiter": ...}`` resumes there:
        metafor's ``restart=TRUE``, made explicit), the start values ``sigma2_init``,
        ``tau2_init``, ``rho_init``, ``gamma2_init``, ``phi_init`` (metafor's ``sigma2.init``
        etc.: one value recycled or one per component; variances > 0, correlations inside
        their range; metafor's default starts otherwise) and ``nearpd`` (metafor's
        ``control=list(nearpd=TRUE)``, ``?rma.mv``, "control"): in every evaluation of the
        likelihood the marginal ``M`` is replaced by ``Matrix::nearPD(M)`` (Higham 2002; the
        alternating projections of :mod:`metareview.models._nearpd`, block by block with the
        thresholds of the whole matrix, which equals ``nearPD`` of the full block-diagonal
        matrix), and a ``struct="UN"`` ``G`` (``H``) by ``nearPD(G)``, whose diagonal and
        ``cov2cor`` are then reported as ``tau2`` and ``rho`` (metafor's ``.con.E``). This
        fits a ``V`` that is not positive definite (e.g. assembled from guessed
        correlations), where without ``nearpd`` a fit whose final ``M`` is not positive
        definite is an :class:`~metareview.errors.InputError` naming ``V`` (metafor: "Final
        variance-covariance matrix not positive definite"). ``G`` of ``UN`` is built from
        variances and one ``tanh`` correlation per pair, as metafor's, so for three or more
        levels it can be non positive definite (always so with fixed ``rho=`` values such as
        ``(0.9, 0.9, 0, -0.5, 0, 0)``); other structures are positive (semi)definite by
        construction, or, as ``CS``/``HCS`` with ``rho < -1/(q-1)``, left as they are (as
        metafor, whose ``nearPD`` of ``G`` is for ``UN``/``UNR``/``GEN`` only). Where
        ``nearPD`` cuts no eigenvalue (no eigenvalue of ``M`` or ``G`` below ``1e-6`` times
        the largest) it returns its input up to rounding and the analytic gradient and
        scoring are used; where it cuts one, the likelihood is that of the repaired matrices,
        not smooth where an eigenvalue crosses the cut, and is optimised by BFGS on central
        differences (then Newton on a difference Hessian), as metafor optimises it
        numerically.
    na_action : {"fail", "omit"}
        ``"fail"`` (default): a missing value is an InputError naming its row and column.
        ``"omit"``: rows with a missing effect size, sampling variance (any missing element
        of its row of a matrix ``V``) or moderator are left out with a warning naming them
        (metafor's ``na.action = "na.omit"``: "Rows with NAs omitted from model fitting"); a
        missing random-effects variable stays an error, as in metafor.

    Returns
    -------
    RMAMVResult

    Notes
    -----
    ``QE = r'V^-1 r`` with ``r`` the residuals of the ``V^-1``-weighted (equal-effects) fit, on
    ``k - p`` df (metafor's test for (residual) heterogeneity). Fit statistics as metafor's
    ``fitstats``: ``parms = p +`` the number of estimated components; ML: ``AIC = -2 ll +
    2 parms``, ``BIC = -2 ll + parms log k``, ``AICc = -2 ll + 2 parms n/(n - parms - 1)`` with
    ``n = max(k, parms + 2)``; REML the same with ``k - p`` for ``k``; the ML deviance is
    ``-2 (ll - ll_sat)`` with ``ll_sat = -k/2 log(2 pi) - 1/2 log|V|``, the REML one ``-2 ll``.
    Variance components estimated below ``10 * machine epsilon`` are reported as 0 (as
    metafor). Only complete rows are accepted unless ``na_action="omit"``.
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    if na_action not in ("fail", "omit"):
        raise InputError("na_action must be 'fail' or 'omit'", field="na_action")
    if na_action == "omit":
        yi, V, data, mods = _omit_incomplete(yi, V, data, mods)
    method_u = str(method).upper()
    if method_u not in ("REML", "ML"):
        raise InputError(f"method must be 'REML' or 'ML' (got {method!r})", field="method")
    test_l = str(test).lower()
    if test_l not in ("z", "t"):
        raise InputError(f"test must be 'z' or 't' (got {test!r})", field="test")
    if dfs not in ("residual", "contain"):
        raise InputError("dfs must be 'residual' or 'contain'", field="dfs")
    alpha = alpha_from_level(level)

    # ---- outcomes, design, V
    if isinstance(yi, str):
        if data is None or yi not in data.columns:
            raise InputError(f"no column {yi!r} in the data", field=yi)
        y = _column_floats(data[yi], yi)
        y_name = yi
    else:
        y = as_float(yi, "yi")
        y_name = "yi"
    k = y.size
    bad = ~np.isfinite(y)
    if bad.any():
        raise InputError("effect size must be a finite number", row=int(np.flatnonzero(bad)[0])
                         + 1, field=y_name)
    if data is None:
        frame = pd.DataFrame(index=range(k))
    elif isinstance(data.index, pd.RangeIndex) and data.index.start == 0 \
            and data.index.step == 1:
        frame = data  # already numbered 0, 1, ...: no copy needed
    else:
        frame = data.reset_index(drop=True)
    if len(frame) != k:
        raise InputError(f"data has {len(frame)} rows for {k} estimates", field="data")
    vdiag = _diagonal_v(V, frame, k)  # V as its diagonal when given as variances
    vmat = _covariance(V, frame, k) if vdiag is None else None
    if mods is None:
        x = np.ones((k, 1))
        names: tuple[str, ...] = ("intrcpt",)
    elif isinstance(mods, str):
        x, names, miss = design_matrix(mods, frame)
        if miss.any():
            raise InputError("missing moderator value", row=int(np.flatnonzero(miss)[0]) + 1,
                             field="mods")
    else:
        x = np.asarray(mods, dtype=float)
        x = x[:, None] if x.ndim == 1 else x
        cols = [str(c) for c in mods.columns] if isinstance(mods, pd.DataFrame) else None
        if x.shape[0] != k:
            raise InputError(f"mods has {x.shape[0]} rows for {k} estimates", field="mods")
        if not np.all(np.isfinite(x)):
            raise InputError("moderators must be finite numbers", field="mods")
        if cols is not None:  # a DataFrame's column names, as metafor names a matrix's columns
            names = tuple(cols)
        else:
            names = tuple(f"X{j + 1}" for j in range(x.shape[1])) if x.shape[1] > 1 else \
                ("mods",)
    p = x.shape[1]
    xtx = x.T @ x
    if mods is not None and np.linalg.matrix_rank(x) < p:  # a column of ones has rank 1
        raise InputError("model matrix not of full rank: " + ", ".join(names), field="mods")
    if k <= p:
        raise InputError(f"{p} coefficient(s) cannot be estimated from k = {k} estimates",
                         field="mods")
    intercept = names[0] == "intrcpt"
    if btt is None:
        btt_t = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    else:
        btt_t = tuple(sorted({int(b) for b in btt}))
        if not btt_t or min(btt_t) < 0 or max(btt_t) >= p:
            raise InputError(f"btt must index the {p} coefficient(s) (0-based)", field="btt")

    # ---- random effects and blocks
    structs = [struct] if isinstance(struct, str) else list(struct)
    sig, gts = _parse_random(random, frame, structs)
    labels = _blocks(k, sig, gts, vmat)
    logdet_xx = math.log(float(xtx[0, 0])) if p == 1 else float(np.linalg.slogdet(xtx)[1])
    model: _Model
    kinds_nested = None
    ctl = _mv_control(control)
    if vdiag is not None and sig and not gts and bool(np.all(vdiag > 0)) and not ctl["nearpd"]:
        from metareview.models._mvnested import NestedModel, nested_kinds

        kinds_nested = nested_kinds(sig, labels, int(labels.max()) + 1)
    if vdiag is not None and kinds_nested is not None:  # closed-form blocks (_mvnested)
        nested = NestedModel(y, x, vdiag, labels, kinds_nested, sig, k, p, method_u == "REML",
                             logdet_xx)
        model, fe, dv = nested, nested.qe(), vdiag
        v_not_pd = bool(np.any(vdiag <= _EPS))
    else:
        if vmat is None:
            vmat = _diag_checked(vdiag, "V") if vdiag is not None else _covariance(V, frame, k)
        groups = _make_groups(labels, y, x, vmat, sig, gts)
        model = _Model(groups, sig, gts, k, p, method_u == "REML", logdet_xx,
                       nearpd=ctl["nearpd"])
        fe, dv = _qe(groups, y, x), None
        v_not_pd = _v_not_pd(groups, vdiag)

    # ---- fixed components and start values (metafor's)
    fix_s = _fix_vector(sigma2, len(sig), "sigma2")
    fix_t: list[float | None] = []
    fix_r: list[float | None] = []
    if gts:
        fix_t = _fix_vector(tau2, gts[0].ntau, "tau2")
        fix_r = _fix_vector(rho, gts[0].nrho, "rho")
    fix_g = [_fix_vector(gamma2, t.ntau, "gamma2") + _fix_vector(phi, t.nrho, "phi")
             for t in gts[1:]]
    _fix_single_levels(sig, gts, fix_s, fix_r, fix_g)
    nvc = len(sig) + sum(t.ntau for t in gts)
    total = _start_total(y, model.groups if dv is None else [], nvc, fe, dv, x)
    qe_note = ": QE and QEp are not computed (NaN, metafor's NA)" if fe[2] is None else ""
    if v_not_pd:
        warnings.warn("V is not positive definite (as metafor's \"'V' appears to be not "
                      f"positive definite\", an eigenvalue <= machine epsilon){qe_note}",
                      MetareviewWarning, stacklevel=2)
    elif qe_note:
        warnings.warn(f"V could not be factorised (Cholesky){qe_note}", MetareviewWarning,
                      stacklevel=2)
    eta0: list[float] = [math.log(total / max(nvc, 1))] * len(sig)
    kinds: list[str] = ["var"] * len(sig)
    plabels: list[str] = ([f"sigma^2.{j + 1}" for j in range(len(sig))] if len(sig) > 1
                          else ["sigma^2"] * len(sig))
    for gi, t in enumerate(gts):
        ckind = "car" if t.struct == "CAR" else "cor"
        eta0 += [math.log(total / max(nvc, 1))] * t.ntau + [_cor_eta(0.5, ckind)] * t.nrho
        kinds += ["var"] * t.ntau + [ckind] * t.nrho
        tn, rn = ("tau^2", "rho") if gi == 0 else ("gamma^2", "phi")
        plabels += [f"{tn}.{j + 1}" if t.ntau > 1 else tn for j in range(t.ntau)]
        plabels += [f"{rn}.{j + 1}" if t.nrho > 1 else rn for j in range(t.nrho)]
    fixed_nat: list[float | None] = fix_s + fix_t + fix_r
    for fg in fix_g:
        fixed_nat += fg
    fixed: dict[int, float] = {}
    for i, (val, kind) in enumerate(zip(fixed_nat, kinds, strict=True)):
        if val is None:
            continue
        if kind == "var":
            if val < 0:
                raise InputError("a fixed variance component must be >= 0", field="sigma2")
            fixed[i] = math.log(val) if val > 0 else -60.0
        else:
            if not (0 if kind == "car" else -1) <= val <= 1:
                raise InputError("a fixed correlation must be in [-1, 1] ([0, 1] for CAR)",
                                 field="rho")
            fixed[i] = _cor_eta(val, kind)
    slots = _init_slots(len(sig), gts)
    eta_start = _apply_init(np.array(eta0, dtype=float), ctl, slots)
    if cvvc not in CVVC:
        raise InputError(f"cvvc must be one of {CVVC} (got {cvvc!r})", field="cvvc")
    eta_hat, ok = _optimise(model, eta_start, fixed) if ctl["maxiter"] is None else \
        _optimise(model, eta_start, fixed, maxiter=ctl["maxiter"])
    if not ok and ctl["maxiter"] is not None:
        last = _init_of(eta_hat, slots)
        err = ConvergenceError(
            f"rma_mv: the optimiser did not converge in control maxiter = {ctl['maxiter']} "
            "iterations; to restart from where it stopped (metafor's restart=TRUE), refit "
            f"with control={{**err.init, 'maxiter': ...}} (err.init = {last})")
        err.init = last
        raise err
    if not ok:
        warnings.warn("rma_mv: the optimiser stopped before the gradient vanished",
                      ConvergenceWarning, stacklevel=2)
    final = model.evaluate(eta_hat, grad=False)
    if not math.isfinite(final.f):
        why = (" (V is not positive definite; control={'nearpd': True} fits with nearPD(M), "
               "as metafor's nearpd=TRUE)") if fe[2] is None else ""
        raise InputError("the final marginal covariance matrix is not positive definite "
                         "(metafor: 'Final variance-covariance matrix not positive definite')"
                         + why, field="V")
    # metafor evaluates both likelihoods at the estimates; report the method's one
    ll = final.ll
    beta, vb = final.beta, final.vb
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    use_t = test_l == "t"
    ddfs = _contain_df(x, sig, gts, k) if dfs == "contain" else np.full(p, k - p)
    ddf = int(np.min(ddfs[list(btt_t)]))
    bsel = beta[list(btt_t)]
    try:
        qm = float(bsel[0] ** 2 / vb[btt_t[0], btt_t[0]]) if len(btt_t) == 1 else \
            float(bsel @ np.linalg.solve(vb[np.ix_(btt_t, btt_t)], bsel))
    except np.linalg.LinAlgError:
        qm = math.nan
    m = len(btt_t)
    if use_t:
        qm /= m
        qmp = float(special.fdtrc(m, ddf, qm))
        pv = 2.0 * special.stdtr(ddfs, -np.abs(zval))
        crit_v = -special.stdtrit(ddfs, alpha / 2.0)
        qmdf: tuple[int, int | None] = (m, ddf)
    else:
        qmp = float(special.chdtrc(m, qm))
        pv = 2.0 * special.ndtr(-np.abs(zval))
        crit_v = np.full(p, float(-special.ndtri(alpha / 2.0)))
        qmdf = (m, None)

    # ---- QE with W = V^-1 and the saturated log-likelihood
    qe, logdet_v, _ = fe
    qep = float(special.chdtrc(k - p, qe)) if math.isfinite(qe) else math.nan

    # ---- fit statistics (metafor's fitstats)
    parms = p + sum(1 for i in range(model.npar) if i not in fixed)
    if method_u == "ML":
        ll_sat = -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_v
        dev = -2.0 * (ll - ll_sat) if math.isfinite(logdet_v) else -2.0 * ll
        n_eff = k
    else:
        dev = -2.0 * ll
        n_eff = k - p
    aic = -2.0 * ll + 2.0 * parms
    bic = -2.0 * ll + parms * math.log(n_eff)
    nn = max(n_eff, parms + 2)
    aicc = -2.0 * ll + 2.0 * parms * nn / (nn - parms - 1)

    # ---- components on the natural scale
    s2, gs = model.natural_nearpd(eta_hat)
    s2 = np.where(s2 <= _EPS10, 0.0, s2)
    empty = np.empty(0)
    g_out: list[dict[str, Any]] = []
    for t, (t2, r, g) in zip(gts, gs, strict=True):
        lk, comb = _comb_counts(t)
        t2 = np.where(t2 <= _EPS10, 0.0, t2)
        g_out.append({"tau2": t2, "rho": r, "G": g, "names": (t.inner, t.outer),
                      "levels": t.levels, "levels_k": lk, "comb": comb,
                      "nlevels": (t.q, t.n_outer)})

    def gpart(i: int, key: str, default: Any) -> Any:
        return g_out[i][key] if len(g_out) > i else default

    lv = float(level) * 100.0 if float(level) < 1 else float(level)
    return RMAMVResult(
        k=k, p=p, method=method_u, test=test_l, level=lv, coef_names=tuple(names),
        beta=_readonly(beta), se=_readonly(se), zval=_readonly(zval),
        pval=_readonly(np.asarray(pv, dtype=float)),
        ci_lb=_readonly(beta - crit_v * se), ci_ub=_readonly(beta + crit_v * se),
        vb=_readonly(vb), sigma2=_readonly(s2), s_names=tuple(t.name for t in sig),
        s_nlevels=tuple(t.nlevels for t in sig),
        tau2=_readonly(gpart(0, "tau2", empty)), rho=_readonly(gpart(0, "rho", empty)),
        gamma2=_readonly(gpart(1, "tau2", empty)), phi=_readonly(gpart(1, "rho", empty)),
        G=_readonly(gpart(0, "G", np.empty((0, 0)))), H=_readonly(gpart(1, "G", np.empty((0, 0)))),
        struct=tuple(t.struct for t in gts),
        g_names=gpart(0, "names", ()), g_levels=gpart(0, "levels", ()),
        g_levels_k=gpart(0, "levels_k", ()),
        g_levels_comb_k=_readonly(gpart(0, "comb", np.empty((0, 0)))),
        g_nlevels=gpart(0, "nlevels", (0, 0)),
        h_names=gpart(1, "names", ()), h_levels=gpart(1, "levels", ()),
        h_levels_k=gpart(1, "levels_k", ()),
        h_levels_comb_k=_readonly(gpart(1, "comb", np.empty((0, 0)))),
        h_nlevels=gpart(1, "nlevels", (0, 0)),
        ddf=ddf if use_t else None,
        ddf_coef=tuple(int(d) for d in ddfs) if use_t else (),
        QE=qe, QEp=qep, QM=qm, QMp=qmp, QMdf=qmdf, btt=btt_t,
        logLik=ll, deviance=dev, AIC=aic, BIC=bic, AICc=aicc, parms=parms,
        fixed=tuple(i in fixed for i in range(model.npar)),
        X=_readonly(x), yi=_readonly(y), M_blocks=_FinalBlocks(model, eta_hat),
        random=() if random is None else (random,) if isinstance(random, str) else tuple(random),
        g_inner=_readonly(gts[0].inner_codes) if gts else np.empty(0, dtype=np.int64),
        h_inner=_readonly(gts[1].inner_codes) if len(gts) > 1 else np.empty(0, dtype=np.int64),
        g_labels=(gts[0].label, gts[0].outer) if gts else (),
        h_labels=(gts[1].label, gts[1].outer) if len(gts) > 1 else (),
        converged=ok, dfs=dfs, _refit=(model, eta_hat, plabels, kinds),
        **_vvc_fields(model, eta_hat, fixed, kinds, cvvc),
    )


def _contain_df(x: FloatArray, sig: Sequence[_SigmaTerm], gts: Sequence[_GTerm],
                k: int) -> NDArray[np.int64]:
    """metafor's ``dfs="contain"`` (its ``.ddf.calc``; see :func:`rma_mv`)."""
    p = x.shape[1]
    factors: list[tuple[IntArray, int]] = [(t.codes, t.nlevels) for t in sig]
    for t in gts:
        combo = pd.factorize(pd.MultiIndex.from_arrays([t.inner_codes, t.outer_codes]))[0]
        factors.append((combo.astype(np.int64), int(combo.max()) + 1))
        factors.append((t.outer_codes, t.n_outer))
    out = np.full(p, k, dtype=np.int64)
    for j in range(p):
        col = pd.factorize(x[:, j])[0]
        for codes, nl in factors:
            pairs = pd.MultiIndex.from_arrays([codes, col]).unique()
            if len(pairs) == nl:  # each level holds a single value of the column
                out[j] = min(out[j], nl)
    return np.asarray(np.maximum(out - p, 1), dtype=np.int64)  # metafor: at least 1


class _FinalBlocks(Sequence[tuple[IntArray, FloatArray]]):
    """:func:`_final_m`, computed when first read (``robust`` and ``ranef`` read it)."""

    def __init__(self, model: _Model, eta: FloatArray) -> None:
        self._model, self._eta = model, eta
        self._blocks: tuple[tuple[IntArray, FloatArray], ...] | None = None

    def _get(self) -> tuple[tuple[IntArray, FloatArray], ...]:
        if self._blocks is None:
            self._blocks = _final_m(self._model, self._eta)
        return self._blocks

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, i: Any) -> Any:
        return self._get()[i]

    def __iter__(self) -> Iterator[tuple[IntArray, FloatArray]]:
        return iter(self._get())


def _final_m(model: _Model, eta: FloatArray) -> tuple[tuple[IntArray, FloatArray], ...]:
    """The blocks of ``M`` at the estimates: ``(indices (nb, m), M (nb, m, m))`` per size."""
    s2, gs = model.natural_nearpd(eta)
    s2 = np.where(s2 <= _EPS10, 0.0, s2)
    mms = []
    for grp in model.groups:
        mm = grp.v.copy()
        for sj, mask in zip(s2, grp.s_masks, strict=True):
            mm += sj * mask
        for (_, _, g), inner, mask in zip(gs, grp.g_inner, grp.g_masks, strict=True):
            mm += mask * g[inner[:, :, None], inner[:, None, :]]
        mms.append(mm)
    if model.nearpd:  # metafor's fitcall$M is nearPD(M)
        mms, _ = model.nearpd_m(mms)
    return tuple((grp.idx, mm) for grp, mm in zip(model.groups, mms, strict=True))


def _start_total(y: FloatArray, groups: list[_Group], nvc: int,
                 fe: tuple[float, float, FloatArray | None], dv: FloatArray | None = None,
                 x: FloatArray | None = None) -> float:
    """metafor's start value: ``max(0.001 nvc, var(y - X b_FE) - 1/mean(1/diag V))`` with
    ``b_FE`` the ``V^-1``-weighted fit; when ``V`` is not positive definite the residual
    variance of the unweighted fit, ``sigma(lm(y ~ X - 1))^2 = RSS / (k - p)`` (``var(y)``
    without ``x``); ``fe`` is :func:`_qe`'s result, ``dv`` the diagonal of ``V`` (else read
    from ``groups``)."""
    res = fe[2]
    if res is None:
        if x is None:
            return float(np.var(y, ddof=1))
        b_ols = np.linalg.lstsq(x, y, rcond=None)[0]
        r_ols = y - x @ b_ols
        return float(r_ols @ r_ols) / (y.size - x.shape[1])
    if dv is None:
        dv = np.zeros(y.size)
        for grp in groups:
            ok = grp.idx >= 0
            dv[grp.idx[ok]] = np.diagonal(grp.v, axis1=1, axis2=2)[ok]
    return max(0.001 * max(nvc, 1), float(np.var(res, ddof=1)) - 1.0 / float(np.mean(1.0 / dv)))


#: metafor's ``.Machine$double.eps``: an eigenvalue of ``V`` at or below it makes ``rma.mv``
#: warn "'V' appears to be not positive definite".
_EPS = float(np.finfo(float).eps)


def _v_not_pd(groups: list[_Group], vdiag: FloatArray | None) -> bool:
    """metafor's check of ``V`` (``rma.mv``): some eigenvalue ``<= .Machine$double.eps``,
    unless ``V`` is all zero. The eigenvalues of the block-diagonal ``V`` are those of its
    blocks (padding rows carry 1 on the diagonal, which never trips the check)."""
    if vdiag is not None:
        return bool(np.any(vdiag <= _EPS)) and bool(np.any(vdiag != 0))
    nonzero = any(bool(np.any(np.where((grp.idx >= 0)[:, :, None] & (grp.idx >= 0)[:, None, :],
                                       grp.v, 0.0))) for grp in groups)
    if not nonzero:
        return False
    return any(bool(np.min(np.linalg.eigvalsh(grp.v)) <= _EPS) for grp in groups)


def _qe(groups: list[_Group], y: FloatArray, x: FloatArray
        ) -> tuple[float, float, FloatArray | None]:
    """``QE = r'V^-1 r`` of the ``V^-1``-weighted fit, ``log|V|`` and the residuals ``r``
    (NaN, ``log|det V|``, None when ``V`` is not positive definite: metafor's ``QE = NA`` and
    its ``determinant(V)$modulus`` in the saturated log-likelihood)."""
    p = x.shape[1]
    a = np.zeros((p, p))
    xwy = np.zeros(p)
    logdet = 0.0
    cache = []
    try:
        for grp in groups:
            chol = np.linalg.cholesky(grp.v)
            logdet += 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
            li = np.linalg.inv(chol)
            w = np.swapaxes(li, 1, 2) @ li
            wx = w @ grp.x
            a += np.einsum("bip,biq->pq", grp.x, wx)
            xwy += np.einsum("bip,bi->p", wx, grp.y)
            cache.append(w)
        b = np.linalg.solve(a, xwy)
    except np.linalg.LinAlgError:  # log|det V| (its modulus, as metafor's determinant())
        logabs = sum(float(np.sum(np.linalg.slogdet(grp.v)[1])) for grp in groups)
        return math.nan, logabs, None
    qe = 0.0
    for grp, w in zip(groups, cache, strict=True):
        r = grp.y - np.einsum("bip,p->bi", grp.x, b)
        qe += float(np.einsum("bi,bij,bj->", r, w, r))
    return max(qe, 0.0), logdet, y - x @ b


# --------------------------------------------------------------------------- cvvc


CVVC = (False, True, "varcor", "varcov", "transf")


def _hessian_eta(model: _Model, eta: FloatArray, free: IntArray) -> FloatArray:
    """The Hessian of ``-ll`` in ``eta`` over ``free``: central differences of the analytic
    gradient with one Richardson step, ``(4 D(h/2) - D(h)) / 3`` with ``h = 1e-3`` (error
    ``O(h^4)``), symmetrised."""
    def diff(h: float) -> FloatArray:
        cols = []
        for i in free.tolist():
            ep, em = eta.copy(), eta.copy()
            ep[i] += h
            em[i] -= h
            cols.append((model.evaluate(ep).grad[free] - model.evaluate(em).grad[free]) / (2 * h))
        return np.column_stack(cols)

    h = 1e-3
    out = (4.0 * diff(h / 2.0) - diff(h)) / 3.0
    model.evaluate(eta)  # leave the optimum as the model's last evaluation
    return np.asarray(0.5 * (out + out.T), dtype=np.float64)


def _vvc(model: _Model, eta: FloatArray, fixed: dict[int, float], kinds: Sequence[str],
         cvvc: bool | str) -> tuple[FloatArray, tuple[str, ...]]:
    """metafor's ``res$vvc`` (``rma.mv(..., cvvc=)``): the inverse of the Hessian of ``-ll`` at
    the estimates, in the variances and correlations (``True``/``"varcor"``), in the variances
    and covariances of an ``UN`` G term (``"varcov"``, rows in the order of G's lower triangle
    column by column: ``tau^2.1, cov, tau^2.2``) or in ``log`` variances and ``atanh``
    (``logit`` for CAR) correlations (``"transf"``). Fixed components have no row.

    By the chain rule at the optimum (gradient 0), ``H_theta = J^-T H_eta J^-1`` with
    ``J = d theta / d eta``, so ``Var(theta) = J H_eta^-1 J'`` (the delta method);
    ``H_eta`` comes from :func:`_hessian_eta`. metafor instead differentiates ``-ll`` in
    ``theta`` numerically (numDeriv, Richardson with 8 steps from 10% of each value). With
    ``nearpd`` and a ``UN`` ``G`` that ``nearPD`` changed at the estimates, metafor's point is
    not the optimum: :func:`_vvc_nearpd_g`.
    """
    sig, gts = model.sig, model.gts
    mode = "varcor" if cvvc is True else str(cvvc)
    if mode == "varcov" and (fixed or any(t.struct != "UN" for t in gts) or not gts):
        warnings.warn("cvvc='varcov' needs struct='UN' with every component estimated; "
                      "using cvvc='varcor' (as metafor)", ConvergenceWarning, stacklevel=3)
        mode = "varcor"
    if mode == "transf" and any(t.struct == "UN" for t in gts):
        raise InputError("cvvc='transf' with struct='UN' is metafor's Cholesky-factor scale, "
                         "which rma_mv does not use; use cvvc='varcor' or 'varcov'",
                         field="cvvc")
    ns = len(sig)
    names: list[str] = ["sigma^2"] if ns == 1 else [f"sigma^2.{j + 1}" for j in range(ns)]
    pos = ns
    jac = np.zeros((model.npar, model.npar))
    for j in range(ns):
        jac[j, j] = math.exp(eta[j])
    order: list[int] = list(range(ns))
    for gi, t in enumerate(gts):
        vname = "tau^2" if gi == 0 else "gamma^2"
        cname = ("rho" if gi == 0 else "phi") if mode != "varcov" else (
            ("cov1" if len(gts) > 1 else "cov") if gi == 0 else "cov2")
        names += [vname] if t.ntau == 1 else [f"{vname}.{j + 1}" for j in range(t.ntau)]
        tau2 = np.exp(eta[pos:pos + t.ntau])
        rho = np.array([_eta_cor(float(e), "car" if t.struct == "CAR" else "cor")
                        for e in eta[pos + t.ntau:pos + t.ntau + t.nrho]])
        il = np.tril_indices(t.q, -1)
        lo = np.lexsort((il[0], il[1]))
        rows, cols = il[0][lo], il[1][lo]
        if t.nrho == 1:
            names.append(cname)
        else:
            names += [f"{cname}.{r + 1}.{c + 1}" for r, c in zip(rows, cols, strict=True)]
        for j in range(t.ntau):
            jac[pos + j, pos + j] = tau2[j]
        for j in range(t.nrho):
            rj = pos + t.ntau + j
            drho = rho[j] * (1.0 - rho[j]) if t.struct == "CAR" else 1.0 - rho[j] ** 2
            if mode == "varcov":  # cov = rho sqrt(tau2_r tau2_c)
                r, c = int(rows[j]), int(cols[j])
                sd = math.sqrt(tau2[r] * tau2[c])
                jac[rj, rj] = drho * sd
                jac[rj, pos + r] += 0.5 * rho[j] * sd
                jac[rj, pos + c] += 0.5 * rho[j] * sd
            else:
                jac[rj, rj] = drho
        if mode == "varcov":  # metafor's order: G's lower triangle, column by column
            posg = np.zeros((t.q, t.q), dtype=np.int64)
            posg[np.diag_indices(t.q)] = np.arange(t.q)
            posg[rows, cols] = t.q + np.arange(t.nrho)
            ri, ci = np.tril_indices(t.q)
            cm = np.lexsort((ri, ci))
            order += [pos + int(v) for v in posg[ri[cm], ci[cm]]]
        else:
            order += list(range(pos, pos + t.ntau + t.nrho))
        pos += t.ntau + t.nrho
    if mode == "transf":
        jac = np.eye(model.npar)
    free = np.array([i for i in order if i not in fixed], dtype=np.int64)
    labels = tuple(names[i] for i in free.tolist())
    nan = np.full((free.size, free.size), np.nan)
    at_zero = [names[i] for i in free.tolist() if kinds[i] == "var" and eta[i] < -25.0]
    if at_zero:
        warnings.warn(f"cvvc: {', '.join(at_zero)} estimated at 0 (the boundary): no "
                      "variance-covariance matrix of the components", ConvergenceWarning,
                      stacklevel=3)
        return nan, labels
    est = np.array([i for i in range(model.npar) if i not in fixed], dtype=np.int64)
    if model.nearpd and mode == "varcor" and model.g_matrices(eta)[1]:
        return _vvc_nearpd_g(model, eta, est, kinds, labels)
    h = _hessian_eta(model, eta, est)
    try:
        np.linalg.cholesky(h)
        inv_eta = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        warnings.warn("cvvc: the Hessian of the log-likelihood is not positive definite "
                      "at the estimates: no variance-covariance matrix of the components",
                      ConvergenceWarning, stacklevel=3)
        return nan, labels
    jf = jac[np.ix_(free, est)]
    out = jf @ inv_eta @ jf.T
    return np.asarray(0.5 * (out + out.T), dtype=np.float64), labels


def _vvc_nearpd_g(model: _Model, eta: FloatArray, est: IntArray, kinds: Sequence[str],
                  labels: tuple[str, ...]) -> tuple[FloatArray, tuple[str, ...]]:
    """``vvc`` (``varcor``) as metafor computes it when ``nearpd`` changed a ``UN`` ``G`` at
    the estimates: metafor differentiates its likelihood at the *reported* components
    (``tau2 = diag(nearPD(G))``, ``rho = cov2cor(nearPD(G))``) taken as inputs, which
    ``.con.E`` passes through ``nearPD`` again: not the optimum, so the gradient ``g`` is not
    0 there and the Hessian in ``theta`` has the chain rule's second term,
    ``H_theta_ij = H_eta_ij eta'_i eta'_j + [i = j] g_i eta''_i`` (``eta = log tau2``:
    ``eta' = 1/tau2``, ``eta'' = -1/tau2^2``; ``eta = atanh rho``: ``eta' = 1/(1 - rho^2)``,
    ``eta'' = 2 rho/(1 - rho^2)^2``); ``vvc = H_theta^-1`` over the estimated components."""
    at = eta.copy()
    _, gs = model.natural_nearpd(eta)
    pos = len(model.sig)
    for t, (tau2, rho, _) in zip(model.gts, gs, strict=True):
        for j in range(t.ntau):
            if pos + j in est:
                at[pos + j] = math.log(tau2[j]) if tau2[j] > 0 else -60.0
        for j in range(t.nrho):
            i = pos + t.ntau + j
            if i in est:
                at[i] = _cor_eta(float(rho[j]), "car" if t.struct == "CAR" else "cor")
        pos += t.ntau + t.nrho
    h = _hessian_eta(model, at, est)
    g = model.evaluate(at).grad[est]
    model.evaluate(eta)  # leave the optimum as the model's last evaluation
    d1 = np.empty(est.size)
    d2 = np.empty(est.size)
    for a, i in enumerate(est.tolist()):
        if kinds[i] == "var":
            th = math.exp(at[i])
            d1[a], d2[a] = 1.0 / th, -1.0 / th**2
        elif kinds[i] == "car":
            th = float(special.expit(at[i]))
            d1[a], d2[a] = 1.0 / (th * (1 - th)), (2 * th - 1) / (th * (1 - th)) ** 2
        else:
            th = math.tanh(at[i])
            d1[a], d2[a] = 1.0 / (1 - th**2), 2 * th / (1 - th**2) ** 2
    h_theta = h * np.outer(d1, d1) + np.diag(g * d2)
    try:
        np.linalg.cholesky(h_theta)
        out = np.linalg.inv(h_theta)
    except np.linalg.LinAlgError:
        warnings.warn("cvvc: the Hessian of the log-likelihood is not positive definite "
                      "at the estimates: no variance-covariance matrix of the components",
                      ConvergenceWarning, stacklevel=4)
        return np.full((est.size, est.size), np.nan), labels
    return np.asarray(0.5 * (out + out.T), dtype=np.float64), labels


def _vvc_fields(model: _Model, eta: FloatArray, fixed: dict[int, float], kinds: Sequence[str],
                cvvc: bool | str) -> dict[str, Any]:
    """``vvc``/``vvc_names`` of the result (empty unless ``cvvc``)."""
    if cvvc is False or not model.npar or len(fixed) == model.npar:
        return {}
    vvc, names = _vvc(model, eta, fixed, kinds, cvvc)
    return {"vvc": _readonly(vvc), "vvc_names": names}


#: metafor's start values of ``rma.mv`` (``control=list(sigma2.init=, ...)``), "." as "_"
INIT_CONTROLS = ("sigma2_init", "tau2_init", "rho_init", "gamma2_init", "phi_init")


def _init_slots(nsig: int, terms: Sequence[Any]) -> list[tuple[str, int, int, str]]:
    """Where metafor's ``*.init`` control values sit in the optimiser's ``eta``: one
    ``(name, start, length, kind)`` per kind of component (``kind`` "var", "cor" or "car");
    the first G term gives ``tau2``/``rho``, the second ``gamma2``/``phi``."""
    slots: list[tuple[str, int, int, str]] = [("sigma2_init", 0, nsig, "var")]
    pos = nsig
    for gi, t in enumerate(terms):
        tn, rn = ("tau2_init", "rho_init") if gi == 0 else ("gamma2_init", "phi_init")
        slots.append((tn, pos, t.ntau, "var"))
        slots.append((rn, pos + t.ntau, t.nrho, "car" if t.struct == "CAR" else "cor"))
        pos += t.ntau + t.nrho
    return slots


def _apply_init(eta: FloatArray, ctl: Mapping[str, Any],
                slots: Sequence[tuple[str, int, int, str]]) -> FloatArray:
    """The start ``eta`` with metafor's ``*.init`` control values in place (variances on the
    log scale, correlations as :func:`_cor_eta`); one value is recycled to every component of
    its kind, as metafor's."""
    out = eta.copy()
    have = {name for name, _, n, _ in slots if n}
    extra = [name for name in INIT_CONTROLS if ctl.get(name) is not None and name not in have]
    if extra:
        raise InputError(f"control {', '.join(extra)}: the model has no such component",
                         field="control")
    for name, start, n, kind in slots:
        vals = ctl.get(name)
        if vals is None:
            continue
        if vals.size == 1:
            vals = np.full(n, vals[0])
        if vals.size != n:
            raise InputError(f"control {name} should be of length 1 or {n} for this model",
                             field="control")
        if kind == "var":
            if np.any(vals <= 0):
                raise InputError(f"control {name} must be > 0", field="control")
            out[start:start + n] = np.log(vals)
        else:
            lo = 0.0 if kind == "car" else -1.0
            if np.any((vals <= lo) | (vals >= 1)):
                raise InputError(f"control {name} must lie in ({lo:g}, 1)", field="control")
            out[start:start + n] = [_cor_eta(float(v), kind) for v in vals]
    return out


def _init_of(eta: FloatArray,
             slots: Sequence[tuple[str, int, int, str]]) -> dict[str, list[float]]:
    """The ``*.init`` control values that start a fit at ``eta`` (inverse of
    :func:`_apply_init`): the variances and correlations reached, for a restart."""
    return {name: [math.exp(float(v)) if kind == "var" else _eta_cor(float(v), kind)
                   for v in eta[start:start + n]]
            for name, start, n, kind in slots if n}


def _mv_control(control: Mapping[str, Any] | None) -> dict[str, Any]:
    """``rma_mv``'s ``control``: ``maxiter`` (int >= 1 or None), ``nearpd`` (bool) and the
    start values ``sigma2_init``, ``tau2_init``, ``rho_init``, ``gamma2_init``, ``phi_init``
    (each None, a number or a sequence; checked against the model in :func:`_apply_init`)."""
    out: dict[str, Any] = {"maxiter": None, "nearpd": False, **dict.fromkeys(INIT_CONTROLS)}
    if control is None:
        return out
    if not isinstance(control, Mapping):
        raise InputError("control must be a mapping (e.g. {'maxiter': 100})", field="control")
    unknown = set(control) - set(out)
    if unknown:
        raise InputError(f"unknown control setting(s) {sorted(unknown)}; use maxiter, nearpd, "
                         f"{', '.join(INIT_CONTROLS)}", field="control")
    for name in INIT_CONTROLS:
        if control.get(name) is not None:
            try:
                vals = np.atleast_1d(np.asarray(control[name], dtype=float)).ravel()
            except (TypeError, ValueError):
                raise InputError(f"control {name} must be a number or numbers",
                                 field="control") from None
            if vals.size == 0 or not np.all(np.isfinite(vals)):
                raise InputError(f"control {name} must be finite numbers", field="control")
            out[name] = vals
    if control.get("maxiter") is not None:
        mi = control["maxiter"]
        if isinstance(mi, bool) or not isinstance(mi, int | np.integer) or mi < 1:
            raise InputError(f"control maxiter must be an integer >= 1 (got {mi!r})",
                             field="control")
        out["maxiter"] = int(mi)
    out["nearpd"] = bool(control.get("nearpd", False))
    return out
