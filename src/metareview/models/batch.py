"""Many meta-analyses at once: ``rma_batch`` (one row per group) and ``pad_groups``.

The long table is turned into padded ``(groups x kmax)`` arrays with NumPy indexing (no Python
loop over groups) and fitted by one call of the batch core
(:func:`metareview.models._core.fit_padded`), the same code :func:`metareview.models.rma` uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError, MetareviewWarning
from metareview.models._backend import check_backend, run_chunks
from metareview.models._core import (
    BatchFit,
    Control,
    alpha_from_level,
    fit_padded,
    make_control,
    normalise_method,
    normalise_test,
)

if TYPE_CHECKING:  # pandas and the input checks load with rma_batch: pad_groups needs NumPy only
    import pandas as pd

    from metareview.models._input import NaAction

__all__ = ["BATCH_COLUMNS", "CHUNK_GROUPS", "pad_groups", "rma_batch"]

#: Analyses per chunk: a batch of more groups is fitted chunk by chunk (one task each with the
#: dask backend). Both backends cut the same chunks, so their results are identical.
CHUNK_GROUPS = 1 << 16

#: Result columns of :func:`rma_batch` after the grouping column(s).
BATCH_COLUMNS: tuple[str, ...] = (
    "k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "ddf", "tau2", "se_tau2",
    "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "QE", "QEp", "pi_lb", "pi_ub",
)


def pad_groups(
    codes: NDArray[np.integer[Any]], n_groups: int, *columns: NDArray[np.float64]
) -> tuple[NDArray[np.bool_], list[NDArray[np.float64]]]:
    """Scatter long columns into left-aligned padded arrays, one row per group code.

    Parameters
    ----------
    codes : ndarray of int, shape (N,)
        Group of each row, in ``0 .. n_groups-1``.
    n_groups : int
        Number of groups (rows of the output).
    *columns : ndarray, shape (N,)
        Values to scatter (e.g. ``yi`` and ``vi``); the order of rows within a group is kept.

    Returns
    -------
    mask : ndarray of bool, shape (n_groups, kmax)
    padded : list of ndarray, shape (n_groups, kmax)
        NaN where ``mask`` is false.
    """
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes, minlength=n_groups)
    kmax = int(counts.max()) if counts.size else 0
    mask = np.arange(kmax) < counts[:, None]
    # Row-major boolean assignment fills each row's first counts[g] cells in order, so the
    # values sorted (stably) by group land where they belong.
    order = None if bool(np.all(codes[1:] >= codes[:-1])) else np.argsort(codes, kind="stable")
    padded = []
    for col in columns:
        values = np.asarray(col, dtype=float)
        out = np.full((n_groups, kmax), np.nan)
        out[mask] = values if order is None else values[order]
        padded.append(out)
    return mask, padded


def rma_batch(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str],
    yi: str = "yi",
    vi: str = "vi",
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    control: Mapping[str, Any] | Control | None = None,
    na_action: NaAction = "fail",
    on_fail: Literal["raise", "nan"] = "raise",
    backend: str = "numpy",
    client: Any = None,
) -> pd.DataFrame:
    """Fit one model per group of ``df`` in a single array computation.

    Parameters
    ----------
    df : DataFrame
        Long table, one row per study, with effect sizes ``yi`` and sampling variances ``vi``.
    by : str or sequence of str
        Grouping column(s); each distinct value (combination) is one meta-analysis. Missing
        values form their own group.
    yi, vi : str
        Column names of the effect sizes and sampling variances.
    method, test, level, control, na_action
        As for :func:`metareview.models.rma`.
    on_fail : {"raise", "nan"}
        A group whose estimator does not converge raises
        :class:`~metareview.errors.ConvergenceError` naming the group, or gets NaN results.
    backend : {"numpy", "dask"}
        Where the chunks of :data:`CHUNK_GROUPS` analyses are fitted: in this process, or as
        tasks on a ``dask.distributed`` client (``pip install 'metareview[scale]'``). The chunks
        are the same, so are the results, to the last bit.
    client : dask.distributed.Client, optional
        The client for ``backend="dask"``; by default a ``LocalCluster`` is started for the call.

    Returns
    -------
    DataFrame
        One row per group (sorted by the group values): the ``by`` column(s), then
        :data:`BATCH_COLUMNS` (``zval`` is a t value and ``ddf`` its df for tests "t"/"knha";
        ``se_tau2``, the tau^2 CI and the prediction interval are NaN where they do not apply).
        Each row equals ``rma(group.yi, group.vi, method=..., test=..., level=...)``.

    Raises
    ------
    InputError
        Missing columns, text where numbers are expected, missing values (unless
        ``na_action="omit"``), or sampling variances <= 0: the message names the data row
        (1-based position in ``df``) and the column.
    """
    import pandas as pd

    from metareview.models._input import as_float, clean_yi_vi

    if not isinstance(df, pd.DataFrame):
        raise InputError("rma_batch needs a DataFrame")
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise InputError("give at least one grouping column", field="by")
    for col in [*by_cols, yi, vi]:
        if col not in df.columns:
            raise InputError(f"no column {col!r} in the data", field=col)
    method = normalise_method(method)
    test = normalise_test(test)
    alpha_from_level(level)
    ctl = make_control(control)
    if ctl.tau2_init is not None:
        raise InputError("control tau2_init is used by rma and rma_reg only", field="control")
    check_backend(backend, client)

    y = as_float(df[yi], yi)
    v = as_float(df[vi], vi)
    keep = clean_yi_vi(y, v, yi_field=yi, vi_field=vi, na_action=na_action)
    frame = df.loc[keep, by_cols].reset_index(drop=True)
    y, v = y[keep], v[keep]
    if y.size == 0:
        raise InputError("no studies to pool", field=yi)

    grouped = frame.groupby(by_cols, sort=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    keys = grouped.size().index
    n_groups = len(keys)
    mask, (yy, vv) = pad_groups(codes, n_groups, y, v)

    k = mask.sum(axis=1)
    if np.any(k == 1):
        warnings.warn(
            f"{int((k == 1).sum())} group(s) with k = 1 fitted with tau^2 = 0 and a z test "
            "(as metafor)",
            MetareviewWarning,
            stacklevel=2,
        )
    chunks = [
        (yy[a : a + CHUNK_GROUPS], vv[a : a + CHUNK_GROUPS], mask[a : a + CHUNK_GROUPS],
         method, test, level, ctl, on_fail, _GroupLabels(by_cols, keys[a : a + CHUNK_GROUPS]))
        for a in range(0, n_groups, CHUNK_GROUPS)
    ]  # fmt: skip
    fit = _concat_fits(run_chunks(_fit_chunk, chunks, backend=backend, client=client))
    out = keys.to_frame(index=False) if isinstance(keys, pd.MultiIndex) else pd.DataFrame(
        {by_cols[0]: np.asarray(keys)}
    )
    values = {
        "k": fit.k,
        "estimate": fit.beta,
        "se": fit.se,
        "zval": fit.zval,
        "pval": fit.pval,
        "ci_lb": fit.ci_lb,
        "ci_ub": fit.ci_ub,
        "ddf": fit.ddf,
        "tau2": fit.tau2,
        "se_tau2": fit.se_tau2,
        "tau2_ci_lb": fit.tau2_ci_lb,
        "tau2_ci_ub": fit.tau2_ci_ub,
        "I2": fit.I2,
        "H2": fit.H2,
        "QE": fit.QE,
        "QEp": fit.QEp,
        "pi_lb": fit.pi_lb,
        "pi_ub": fit.pi_ub,
    }
    for name in BATCH_COLUMNS:
        out[name] = values[name]
    out.attrs["method"] = method
    out.attrs["test"] = test
    out.attrs["level"] = float(level)
    return out


def _fit_chunk(args: tuple[Any, ...]) -> BatchFit:
    """``fit_padded`` on one chunk of analyses (module level, so Dask can ship it)."""
    yy, vv, mask, method, test, level, ctl, on_fail, labels = args
    return fit_padded(
        yy, vv, mask, method=method, test=test, level=level, control=ctl, on_fail=on_fail,
        labels=labels,
    )


def _concat_fits(parts: list[BatchFit]) -> BatchFit:
    """The fits of consecutive chunks as one :class:`BatchFit` (rows in chunk order)."""
    if len(parts) == 1:
        return parts[0]
    return BatchFit(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(BatchFit)}
    )


class _GroupLabels(Sequence[str]):
    """``"col=value"`` names of the groups, made only for the few that an error message needs."""

    def __init__(self, by_cols: Sequence[str], keys: pd.Index) -> None:
        self._by_cols = by_cols
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return _group_label(self._by_cols, self._keys[i])


def _group_label(by_cols: Sequence[str], key: object) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{c}={p!r}" for c, p in zip(by_cols, parts, strict=True))
