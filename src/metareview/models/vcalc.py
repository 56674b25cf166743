"""``vcalc()``: the covariance matrix of dependent estimates (metafor's ``vcalc``, constant
correlation within clusters).

>>> from metareview.models import vcalc, rma_mv
>>> V = vcalc("vi", "study", obs="esid", rho=0.6, data=dat)                 # doctest: +SKIP
>>> res = rma_mv("yi", V, data=dat, random="~ 1 | study/esid")               # doctest: +SKIP

For estimates ``i`` and ``j`` with sampling variances ``v_i``, ``v_j``:

    V_ii = v_i;   V_ij = rho_ij sqrt(v_i v_j)   when i and j are in the same cluster,
    V_ij = 0      otherwise,

with ``rho_ij = rho`` for different observations and ``rho_ij = 1`` for two rows of the same
observation (``obs``) within a cluster, as metafor's ``vcalc(vi, cluster, obs, rho)``. The
matrix is block diagonal in the clusters (Viechtbauer, metafor ``?vcalc``; the constant
sampling correlation working model of Pustejovsky & Tipton 2022).

References
----------
Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust variance estimation:
    Expanding the range of working models. Prevention Science, 23, 425-438.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse as sp

from metareview.errors import InputError, MetareviewWarning
from metareview.models._input import as_float

__all__ = ["vcalc"]


def _column(values: Any, data: pd.DataFrame | None, name: str) -> Any:
    if isinstance(values, str):
        if data is None or values not in data.columns:
            raise InputError(f"no column {values!r} in the data", field=values)
        return data[values].reset_index(drop=True)
    return values


def vcalc(
    vi: Any,
    cluster: Any,
    *,
    obs: Any = None,
    rho: float = 0.5,
    data: pd.DataFrame | None = None,
    sparse: bool = False,
) -> NDArray[np.float64] | sp.csr_matrix:
    """The block-diagonal covariance matrix of estimates correlated within clusters.

    Parameters
    ----------
    vi : str or array-like
        Sampling variances (a column of ``data`` or the values).
    cluster : str or array-like
        The cluster (study) of each estimate; estimates of different clusters are independent.
    obs : str or array-like, optional
        The observation each row measures: rows of the same observation in a cluster are
        perfectly correlated, different observations correlate ``rho``. None (the default)
        makes every row its own observation (metafor: ``obs`` = a row identifier; metafor's
        ``vcalc`` without ``obs`` instead treats all rows of a cluster as one observation).
    rho : float
        The correlation between different observations of a cluster, in [-1, 1].
    data : DataFrame, optional
        Where column names are looked up.
    sparse : bool
        Return a ``scipy.sparse`` CSR matrix instead of a dense array.

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix, shape (k, k)

    Raises
    ------
    InputError
        Bad variances (naming the row), missing cluster or obs values, ``rho`` outside
        [-1, 1], or columns of different lengths.

    Warns
    -----
    MetareviewWarning
        When a cluster's block is not positive definite (as metafor's ``checkpd``).
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    v_name = vi if isinstance(vi, str) else "vi"
    v = as_float(_column(vi, data, "vi"), v_name)
    k = v.size
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"sampling variance must be a finite number >= 0 (got {v[i]})",
                         row=i + 1, field=v_name)
    r = float(rho)
    if not math.isfinite(r) or abs(r) > 1:
        raise InputError(f"rho must be in [-1, 1] (got {rho!r})", field="rho")

    def codes(values: Any, field: str) -> NDArray[np.int64]:
        col = pd.Series(np.asarray(_column(values, data, field), dtype=object))
        if len(col) != k:
            raise InputError(f"{field} has {len(col)} values for {k} variances", field=field)
        miss = col.isna().to_numpy()
        if miss.any():
            raise InputError(f"missing {field} value", row=int(np.flatnonzero(miss)[0]) + 1,
                             field=values if isinstance(values, str) else field)
        out: NDArray[np.int64] = pd.factorize(col, sort=True)[0].astype(np.int64)
        return out

    cl = codes(cluster, "cluster")
    ob = np.arange(k, dtype=np.int64) if obs is None else codes(obs, "obs")
    order = np.argsort(cl, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(cl))])
    rows, cols, vals = [], [], []
    not_pd: list[int] = []
    sd = np.sqrt(v)
    for j in range(bounds.size - 1):
        ix = order[bounds[j]:bounds[j + 1]]
        same = ob[ix][:, None] == ob[ix][None, :]
        block = np.where(same, 1.0, r) * np.outer(sd[ix], sd[ix])
        np.fill_diagonal(block, v[ix])
        if ix.size > 1 and np.linalg.eigvalsh(block).min() < -1e-12 * float(block.max()):
            not_pd.append(j)
        rr, cc = np.meshgrid(ix, ix, indexing="ij")
        keep = block != 0
        rows.append(rr[keep])
        cols.append(cc[keep])
        vals.append(block[keep])
    if not_pd:
        warnings.warn(f"the covariance block of {len(not_pd)} cluster(s) is not positive "
                      "definite", MetareviewWarning, stacklevel=2)
    mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(k, k))
    if sparse:
        return mat
    return np.asarray(mat.todense())
