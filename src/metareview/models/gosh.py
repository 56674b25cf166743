"""GOSH: the model refitted to every subset of the studies (metafor's ``gosh.rma``).

The graphical display of study heterogeneity (Olkin, Dahabreh & Trikalinos 2012) refits a
meta-analysis to all ``2^k - 1`` non-empty subsets of its ``k`` studies (or to a random sample of
them) and plots each fit's pooled estimate against its I^2: clusters and outliers show studies
that pull the result. Every refit here goes through the batch core
(:func:`metareview.models._core.fit_padded`): the subsets are rows of one padded array, fitted
in a few array computations, with the method, control and (fixed) tau^2 of the model, so each
row equals ``rma(yi[subset], vi[subset], method=...)``; a meta-regression's subsets go through
the stacked fits of :mod:`metareview.models._regbatch`. With ``backend="dask"`` the same chunks
of subsets (of either kind of fit) are fitted as tasks on a ``dask.distributed`` cluster, with
identical results.

References
----------
Olkin, I., Dahabreh, I. J., & Trikalinos, T. A. (2012). GOSH - a graphical display of study
    heterogeneity. Research Synthesis Methods, 3(3), 214-223.
metafor 3.8-1: ``gosh.rma`` (all subsets when there are at most 10^6, else 10^6 random ones) and
    ``plot.gosh.rma``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metareview.errors import InputError, MetareviewWarning
from metareview.models._backend import check_backend, run_chunks
from metareview.models._core import Control, fit_padded
from metareview.models._printer import Printable, Printed, Table, num
from metareview.models._refit import check_batch_refit
from metareview.models.rma import RMAResult

__all__ = ["GOSH_COLUMNS", "GoshResult", "gosh", "subset_matrix"]

#: The columns of :attr:`GoshResult.res`, in metafor's order (``gosh.rma``'s ``res``).
GOSH_COLUMNS: tuple[str, ...] = ("k", "QE", "I2", "H2", "tau2", "estimate")
#: metafor fits every subset when there are at most this many, else this many random ones.
MAX_EXACT = 10**6
#: Subsets fitted per chunk (one task with the dask backend): bounds the padded arrays' memory.
CHUNK_ROWS = 1 << 14


@dataclass(frozen=True)
class GoshResult(Printed):
    """The fits of :func:`gosh` (metafor's ``gosh.rma`` object).

    Attributes
    ----------
    res : DataFrame
        One row per subset: ``k, QE, I2, H2, tau2, estimate`` (:data:`GOSH_COLUMNS`), ordered by
        ``k`` as metafor orders them; NaN where a fit failed. For a meta-regression the
        coefficients (named as ``coef_names``, e.g. ``intrcpt, ablat``) replace ``estimate``.
    incl : ndarray of bool, shape (n_subsets, k)
        ``incl[i, j]``: study ``j`` is in subset ``i``.
    fit : ndarray of bool
        Which fits succeeded.
    k, method, measure :
        Of the model refitted.
    exact : bool
        All subsets (True) or a random sample of them.
    slab : tuple of str
        The study labels (the columns of :attr:`incl`).
    """

    res: pd.DataFrame = field(repr=False)
    incl: NDArray[np.bool_] = field(repr=False)
    fit: NDArray[np.bool_] = field(repr=False)
    k: int
    method: str
    measure: str
    exact: bool
    slab: tuple[str, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.res)

    def to_frame(self) -> pd.DataFrame:
        """:attr:`res` with one 0/1 column per study (named by its label) appended."""
        incl = pd.DataFrame(self.incl.astype(np.int8), columns=list(self.slab))
        return pd.concat([self.res.reset_index(drop=True), incl], axis=1)

    def _printable(self) -> Printable:
        """metafor's ``print.gosh.rma``: fits attempted and succeeded, then the mean, min,
        quartiles and max of each column over the successful fits."""
        cols = [c for c in self.res.columns if c != "k"]
        vals = self.res.loc[self.fit, cols].to_numpy(float)
        names = ["mean", "min", "q1", "median", "q3", "max"]
        if len(vals):
            stats = [np.mean(vals, axis=0), np.min(vals, axis=0),
                     *np.quantile(vals, [0.25, 0.5, 0.75], axis=0), np.max(vals, axis=0)]
        else:
            stats = [np.full(len(cols), np.nan)] * len(names)  # fmt: skip
        rows = [[num(float(v)) for v in row] for row in stats]
        return Printable([
            "", f"Model fits attempted: {len(self.res)}",
            f"Model fits succeeded: {int(self.fit.sum())}", "",
            Table(cols, rows, row_names=["", *names]), "",
        ])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: settings, and ``res`` column by column (None for NaN), ``incl`` as
        0/1 rows."""
        res = {c: [None if not np.isfinite(x) else float(x) for x in self.res[c].to_numpy(float)]
               for c in self.res.columns}  # fmt: skip
        res["k"] = [int(x) for x in self.res["k"]]
        return {"k": self.k, "method": self.method, "measure": self.measure,
                "exact": self.exact, "slab": list(self.slab), "res": res,
                "incl": self.incl.astype(int).tolist(), "fit": self.fit.tolist()}  # fmt: skip


def subset_matrix(
    k: int, subsets: int | None = None, seed: int | np.random.Generator | None = None
) -> tuple[NDArray[np.bool_], bool]:
    """The inclusion matrix of :func:`gosh`: every non-empty subset or a random sample of them.

    All ``2^k - 1`` subsets are used when there are at most ``subsets`` of them (default
    :data:`MAX_EXACT`), as metafor does; their order is metafor's: by size, and within a size by
    the binary number whose bit ``j`` says study ``j + 1`` is in (``expand.grid`` order).
    Otherwise ``subsets`` distinct subsets are drawn uniformly at random without replacement
    (each non-empty subset equally likely, as metafor's draw of the size from Binomial(k, 1/2)
    followed by that many studies), then put in the same order.

    Returns
    -------
    incl : ndarray of bool, shape (n, k)
    exact : bool
    """
    if k < 1:
        raise InputError("gosh needs at least one study")
    limit = MAX_EXACT if subsets is None else int(subsets)
    if limit < 1:
        raise InputError("subsets must be at least 1", field="subsets")
    total = math.ldexp(1.0, k) - 1.0  # 2^k - 1, exact as a float up to k = 53
    bits = np.arange(k, dtype=np.uint64)
    if total <= limit:
        codes = np.arange(1, 2**k, dtype=np.uint64)
        exact = True
    else:
        rng = np.random.default_rng(seed)
        exact = False
        if k <= 62:
            codes = rng.choice(2**k - 1, size=limit, replace=False).astype(np.uint64) + 1
        else:
            return _random_wide(k, limit, rng), False
    incl = ((codes[:, None] >> bits) & np.uint64(1)).astype(bool)
    size = incl.sum(axis=1)
    order = np.lexsort((codes, size)) if not exact else np.argsort(size, kind="stable")
    return incl[order], exact


def _random_wide(k: int, n: int, rng: np.random.Generator) -> NDArray[np.bool_]:
    """``n`` distinct random non-empty subsets of ``k > 62`` studies, ordered by size."""
    rows = np.zeros((0, k), dtype=bool)
    while rows.shape[0] < n:
        draw = rng.random((n - rows.shape[0] + 16, k)) < 0.5
        draw = draw[draw.any(axis=1)]
        rows = np.unique(np.concatenate([rows, draw]), axis=0)  # distinct rows
    rows = rows[rng.permutation(rows.shape[0])[:n]]
    return rows[np.argsort(rows.sum(axis=1), kind="stable")]


def _fit_subsets(args: tuple[Any, ...]) -> dict[str, NDArray[Any]]:
    """Fit one chunk of subsets (a module-level function so Dask can ship it to workers)."""
    yi, vi, incl, method, control, tau2 = args
    k_row = incl.sum(axis=1)
    width = int(k_row.max())
    packed = np.arange(width) < k_row[:, None]
    cols = np.nonzero(incl)[1]  # row-major: each row's studies in their order
    ya = np.zeros(packed.shape)
    va = np.ones(packed.shape)
    ya[packed] = yi[cols]
    va[packed] = vi[cols]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metafor's gosh suppresses the refits' warnings
        fit = fit_padded(
            ya, va, packed, method=method, test="z", tau2=tau2, control=control, on_fail="nan",
            tau2_ci=False,
        )
    i2, h2 = fit.I2, fit.H2
    if method == "DL" and tau2 is None:
        # metafor's gosh() fits EE and DL models by its own closed form, which reports the
        # Q-based I^2 = max(0, 100 (QE - (k-1))/QE) and H^2 = QE/(k-1) (not 1 when tau^2 is
        # truncated at 0, as rma() reports); these are its numbers.
        km1 = np.maximum(k_row - 1.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            i2 = np.where(k_row > 1, np.maximum(0.0, 100.0 * (fit.QE - km1) / fit.QE), 0.0)
            i2 = np.where((k_row > 1) & (fit.QE == 0), 0.0, i2)
            h2 = np.where(k_row > 1, fit.QE / km1, 1.0)
    return {
        "QE": fit.QE, "I2": i2, "H2": h2, "tau2": fit.tau2, "estimate": fit.beta,
        "converged": fit.converged,
    }  # fmt: skip


def _reg_subsets(
    k: int, p: int, subsets: int | None, seed: int | np.random.Generator | None
) -> tuple[NDArray[np.bool_], bool]:
    """metafor's subsets for a model with ``p`` coefficients: every subset of at least ``p``
    studies when there are at most ``subsets`` (default 10^6) of them, else that many distinct
    random ones of at least ``p`` studies, ordered as :func:`subset_matrix` orders them."""
    limit = MAX_EXACT if subsets is None else int(subsets)
    if limit < 1:
        raise InputError("subsets must be at least 1", field="subsets")
    total = sum(math.comb(k, m) for m in range(p, k + 1))
    if total <= limit:
        incl, _ = subset_matrix(k, 2**k)
        return incl[incl.sum(axis=1) >= p], True
    if k > 62:
        raise InputError("gosh of a meta-regression takes at most 62 studies", field="result")
    rng = np.random.default_rng(seed)
    bits = np.arange(k, dtype=np.uint64)
    draw = min(2**k - 1, int(limit * 1.5) + 16)
    while True:
        codes = rng.choice(2**k - 1, size=draw, replace=False).astype(np.uint64) + 1
        rows = ((codes[:, None] >> bits) & np.uint64(1)).astype(bool)
        ok = rows.sum(axis=1) >= p
        if ok.sum() >= limit:
            codes, rows = codes[ok][:limit], rows[ok][:limit]
            break
        draw = min(2**k - 1, draw * 2)
    return rows[np.lexsort((codes, rows.sum(axis=1)))], False


@dataclass(frozen=True)
class _RegModel:
    """What refitting a meta-regression to a subset needs (picklable, so the dask backend ships
    it to the workers with each chunk): the studies ``yi, vi`` and model matrix ``X`` of the
    fit, its coefficient names, method, control, level and measure, and its fixed tau^2 (None
    when estimated)."""

    yi: NDArray[np.float64] = field(repr=False)
    vi: NDArray[np.float64] = field(repr=False)
    X: NDArray[np.float64] = field(repr=False)
    names: tuple[str, ...]
    method: str
    control: Control
    level: float
    measure: str
    tau2: float | None

    @classmethod
    def of(cls, result: Any) -> _RegModel:
        """The model of a :class:`~metareview.models.regression.RegResult`."""
        return cls(
            yi=np.asarray(result.yi, dtype=float), vi=np.asarray(result.vi, dtype=float),
            X=np.asarray(result.X, dtype=float), names=tuple(result.coef_names),
            method=result.method, control=result.control, level=float(result.level),
            measure=result.measure, tau2=result.tau2 if result.tau2_fixed else None,
        )  # fmt: skip


def _reg_rows_one_by_one(
    model: _RegModel, incl: NDArray[np.bool_], rows: NDArray[np.intp] | None = None
) -> NDArray[np.float64]:
    """``QE, I2, H2, tau2`` and the coefficients of ``model`` refitted to each subset
    ``incl[rows]`` by :func:`metareview.models.rma_reg`'s core, one subset at a time (NaN where
    the fit fails): the reference the batched path is tested against, and its fallback."""
    from metareview.errors import ConvergenceError
    from metareview.models.regression import _fit as fit_reg

    X, yi, vi = model.X, model.yi, model.vi
    idx = np.arange(incl.shape[0]) if rows is None else rows
    out = np.full((idx.size, 4 + X.shape[1]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metafor's gosh suppresses the refits' warnings
        for j, i in enumerate(idx):
            row = incl[i]
            try:
                r = fit_reg(
                    yi[row], vi[row], X[row], list(model.names), method=model.method,
                    test="z", alpha=1 - model.level / 100, level=model.level, btt=None,
                    measure=model.measure, slab=[], tau2=model.tau2, control=model.control,
                    skip_r2=True,
                )  # fmt: skip
            except (InputError, ConvergenceError, np.linalg.LinAlgError):
                continue
            out[j] = [r.QE, r.I2, r.H2, r.tau2, *r.beta]
    return out


def _fit_reg_chunk(args: tuple[_RegModel, NDArray[np.bool_], bool]) -> NDArray[np.float64]:
    """The rows of :func:`_reg_rows_one_by_one` for one chunk of subsets ``incl`` (a
    module-level function, one task with the dask backend). ``batched``: fitted at once by
    :func:`metareview.models._regbatch.fit_subsets` (stacked weighted least squares and tau^2),
    the rows it leaves unsettled (no root of tau^2's equation bracketed), or the whole chunk
    when one of its systems is singular, one at a time; else all one at a time."""
    from metareview.models._regbatch import fit_subsets

    model, incl, batched = args
    if not batched:
        return _reg_rows_one_by_one(model, incl)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cols, redo = fit_subsets(
                model.yi, model.vi, model.X, incl, method=model.method, control=model.control,
                tau2=model.tau2,
            )  # fmt: skip
    except np.linalg.LinAlgError:  # a singular system in the chunk: fit it row by row
        return _reg_rows_one_by_one(model, incl)
    block = np.column_stack([cols["QE"], cols["I2"], cols["H2"], cols["tau2"], cols["beta"]])
    if redo.any():
        block[redo] = _reg_rows_one_by_one(model, incl, np.flatnonzero(redo))
    return np.asarray(block, dtype=np.float64)


def _gosh_reg(
    result: Any, subsets: int | None, seed: int | np.random.Generator | None,
    batched: bool = True, *, backend: str = "numpy", client: Any = None,
) -> GoshResult:  # fmt: skip
    """GOSH of a meta-regression (metafor's ``gosh.rma`` of an ``rma.uni`` fit with ``mods``):
    every subset of at least ``p`` studies refitted with the model's method, control and
    (fixed) tau^2; a subset whose model matrix is not of full rank, or that has too few studies
    for the coefficients and tau^2, is a NaN row (metafor: an error, or a dropped coefficient,
    which its gosh() stores as NA). The subsets are cut into chunks of :data:`CHUNK_ROWS`, each
    fitted by :func:`_fit_reg_chunk` (in stacked batches, :mod:`metareview.models._regbatch`,
    for every method but GENQ/GENQM; else, or with ``batched=False``, one at a time) in this
    process or as tasks on a dask client (:func:`~metareview.models._backend.run_chunks`)."""
    from metareview.models._regbatch import VECTOR_METHODS

    model = _RegModel.of(result)
    k, p = model.X.shape
    incl, exact = _reg_subsets(k, p, subsets, seed)
    stacked = batched and model.method in VECTOR_METHODS
    chunks = [(model, incl[a : a + CHUNK_ROWS], stacked)
              for a in range(0, incl.shape[0], CHUNK_ROWS)]  # fmt: skip
    out = np.concatenate(run_chunks(_fit_reg_chunk, chunks, backend=backend, client=client))
    cols = ["estimate"] if p == 1 else list(model.names)  # metafor's column names
    res = pd.DataFrame(out, columns=["QE", "I2", "H2", "tau2", *cols])
    res.insert(0, "k", incl.sum(axis=1).astype(np.int64))
    fit = np.isfinite(res.to_numpy(float)).all(axis=1)
    if not fit.any():
        raise InputError("gosh: every model fit failed")
    return GoshResult(
        res=res, incl=incl, fit=fit, k=k, method=model.method, measure=model.measure,
        exact=exact, slab=tuple(result.slab) if result.slab else tuple(map(str, range(1, k + 1))),
    )  # fmt: skip


def gosh(
    result: Any,
    *,
    subsets: int | None = None,
    seed: int | np.random.Generator | None = None,
    backend: str = "numpy",
    client: Any = None,
) -> GoshResult:
    """Refit ``result`` to every subset of its studies, or to ``subsets`` random ones.

    Each subset ``S`` gets the model of ``result`` (same method / tau^2 estimator, control
    settings, and fixed tau^2 if it had one) fitted to ``yi[S], vi[S]``: the pooled estimate
    ``sum_S w_i y_i / sum_S w_i`` with ``w_i = 1/(v_i + tau2_S)``, Cochran's ``QE`` with
    fixed-effect weights, ``I2`` and ``H2`` by metafor's definitions (``fit_padded``; for DL, as
    metafor's ``gosh``, the Q-based ``I2 = max(0, 100 (QE - (k-1))/QE)`` and ``H2 = QE/(k-1)``).
    A subset of one study gives ``tau2 = 0, QE = 0, I2 = 0, H2 = 1``, as metafor.

    A meta-regression (:func:`metareview.models.rma_reg`) is refitted to every subset of at
    least ``p`` studies (``p`` coefficients), as metafor's ``gosh`` of a model with ``mods``; its
    ``res`` has the coefficients in place of ``estimate`` (NaN where the subset's model matrix is
    not of full rank). Its subsets are fitted in stacked batches: weighted least squares with
    one ``p x p`` solve per subset and tau^2 by the fit's estimator, vectorised across subsets
    (:mod:`metareview.models._regbatch`). A fit with user weights (so every GENQ/GENQM fit) is
    refused: the refits would drop the weights.

    Both kinds of fit are cut into the same chunks of :data:`CHUNK_ROWS` subsets, fitted in this
    process (``backend="numpy"``) or each as one task on a ``dask.distributed`` client
    (``backend="dask"``); the chunks and the code that fits them are the same, so the results
    are identical to the last bit.

    Parameters
    ----------
    result : RMAResult or RegResult
        A fitted model (:func:`metareview.models.rma` or :func:`~metareview.models.rma_reg`),
        ``k >= 2``.
    subsets : int, optional
        Fit all ``2^k - 1`` subsets when there are at most this many (default 10^6, metafor's
        rule), otherwise this many distinct random subsets (drawn without replacement).
    seed : int or Generator, optional
        Seed of the random draw (ignored when all subsets are fitted).
    backend : {"numpy", "dask"}
        Fit the chunks of subsets in this process or as tasks on a ``dask.distributed``
        client; the results are identical.
    client : dask.distributed.Client, optional
        The client for ``backend="dask"``; by default a ``LocalCluster`` is started for the call.

    Returns
    -------
    GoshResult
        ``res`` (``k, QE, I2, H2, tau2, estimate`` per subset), ``incl`` and ``fit``, as
        metafor's ``gosh()``.

    Raises
    ------
    InputError
        ``result`` is not an ``rma`` or ``rma_reg`` fit, has ``k = 1`` or user weights, or the
        backend is unknown.

    References
    ----------
    Olkin, Dahabreh & Trikalinos (2012); metafor's ``gosh.rma``.
    """
    from metareview.models.regression import RegResult

    if isinstance(result, RegResult):
        if result.k < 2:
            raise InputError("gosh needs at least 2 studies (k = 1)")
        check_backend(backend, client)
        if result.user_weights is not None:  # the refits would drop them (so GENQ, GENQM)
            raise InputError("gosh: not supported for a fit with user weights", field="weights")
        return _gosh_reg(result, subsets, seed, backend=backend, client=client)
    if not isinstance(result, RMAResult):
        raise InputError("gosh needs a model fitted by rma()")
    if result.k < 2:
        raise InputError("gosh needs at least 2 studies (k = 1)")
    check_backend(backend, client)
    check_batch_refit(result, "gosh")
    incl, exact = subset_matrix(result.k, subsets, seed)
    yi = np.asarray(result.yi, dtype=float)
    vi = np.asarray(result.vi, dtype=float)
    control: Control = result.control
    tau2 = result.tau2 if result.tau2_fixed else None
    chunks = [
        (yi, vi, incl[a : a + CHUNK_ROWS], result.method, control, tau2)
        for a in range(0, incl.shape[0], CHUNK_ROWS)
    ]
    parts = run_chunks(_fit_subsets, chunks, backend=backend, client=client)
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    converged = cols.pop("converged").astype(bool)
    res = pd.DataFrame({"k": incl.sum(axis=1).astype(np.int64), **cols})[list(GOSH_COLUMNS)]
    failed = int((~converged).sum())
    if failed == len(converged):
        raise InputError("gosh: every model fit failed")
    if failed:
        warnings.warn(
            f"gosh: {failed} of {len(converged)} model fits did not converge (NaN rows)",
            MetareviewWarning,
            stacklevel=2,
        )
    return GoshResult(
        res=res,
        incl=incl,
        fit=converged & np.isfinite(res[list(GOSH_COLUMNS)].to_numpy(float)).all(axis=1),
        k=result.k,
        method=result.method,
        measure=result.measure,
        exact=exact,
        slab=tuple(result.slab),
    )
