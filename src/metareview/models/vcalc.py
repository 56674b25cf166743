"""``vcalc()``: the covariance matrix of dependent estimates (metafor's ``vcalc``).

>>> from metareview.models import vcalc, rma_mv
>>> V = vcalc("vi", "study", obs="esid", rho=0.6, data=dat)                 # doctest: +SKIP
>>> res = rma_mv("yi", V, data=dat, random="~ 1 | study/esid")               # doctest: +SKIP
>>> V = vcalc("vi", "study", grp1="trt", grp2="ctrl", w1="n1", w2="n2", data=arms)  # doctest: +SKIP

Estimates of different clusters are independent; within a cluster ``V_ij = R_ij sqrt(v_i
v_j)`` with, as metafor's ``vcalc`` (``?vcalc``, Details; its code in metafor 3.8.1),

    R_ij = A_ij * N_ij / (D_i D_j),
    A_ij = 1 (same type, same obs), rho_obs (same type, other obs), rho_type (other type),
    N_ij = c(g1_i, g1_j) / sqrt(w1_i w1_j) - c(g1_i, g2_j) / sqrt(w1_i w2_j)
           - c(g2_i, g1_j) / sqrt(w2_i w1_j) + c(g2_i, g2_j) / sqrt(w2_i w2_j),
    D_i  = sqrt(1 / w1_i + 1 / w2_i - 2 c(g1_i, g2_i) / sqrt(w1_i w2_i)),

where ``c(a, b)`` is 0 for different groups and ``phi^|t_a - t_b|`` for the same group (1 at
the same time point): an estimate contrasts its group ``grp1`` (size ``w1``, time ``time1``)
with ``grp2`` (``w2``, ``time2``), so two estimates sharing a control group correlate as
``1 / w_c / (D_i D_j)`` (Gleser & Olkin 2009), and measurements of the same group over time
as ``phi^|t_i - t_j|``. Without groups and times ``N_ij / (D_i D_j) = 1`` and ``R_ij`` is the
constant-correlation working model of Pustejovsky & Tipton (2022).

References
----------
Gleser, L. J., & Olkin, I. (2009). Stochastically dependent effect sizes. In H. Cooper, L. V.
    Hedges, & J. C. Valentine (Eds.), The handbook of research synthesis and meta-analysis
    (2nd ed., pp. 357-376). Russell Sage Foundation.
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
    subgroup: Any = None,
    obs: Any = None,
    type: Any = None,
    time1: Any = None,
    time2: Any = None,
    grp1: Any = None,
    grp2: Any = None,
    w1: Any = None,
    w2: Any = None,
    rho: float | tuple[float, float] = 0.5,
    phi: float | None = None,
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
    subgroup : str or array-like, optional
        Independent subgroups within a cluster (e.g. its independent samples): estimates of
        different subgroups of a cluster are independent (metafor's ``subgroup``).
    obs : str or array-like, optional
        The observation (e.g. the outcome measure) each row is of: rows of the same
        observation in a cluster correlate 1, different observations ``rho``. None (the
        default) makes every row its own observation, unless ``type``, ``grp1`` or ``time1``
        is given: then, as in metafor, all rows are one observation (metafor's ``vcalc``
        without ``obs`` always treats them so, which alone makes a cluster's rows perfectly
        correlated).
    type : str or array-like, optional
        The construct each row measures: rows of different types correlate ``rho`` (with
        ``obs`` also given, ``rho=(rho_obs, rho_type)``).
    time1, time2 : str or array-like, optional
        Numeric time points of the two groups each estimate contrasts (``time2`` defaults to
        ``time1``); the same group at times ``t`` and ``s`` correlates ``phi^|t - s|``.
    grp1, grp2 : str or array-like, optional
        The groups each estimate contrasts (default: group 1 versus group 2, none shared);
        estimates sharing a group (e.g. a common control arm) are correlated through it.
    w1, w2 : str or array-like, optional
        The groups' sizes (``w2`` defaults to ``w1``; default 1).
    rho : float or (float, float)
        The correlation between different observations (or types), in [-1, 1]; a pair when
        both ``obs`` and ``type`` are given.
    phi : float, optional
        The autocorrelation per unit of time, in [-1, 1]; needed with ``time1``.
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
        Bad variances (naming the row), missing values, ``rho`` or ``phi`` outside [-1, 1],
        non-numeric times or sizes, sizes <= 0, columns of different lengths, or arguments
        metafor rejects together (``grp2`` without ``grp1``, ``time2`` or ``w2`` without
        ``grp2``, ``time1`` without ``phi``).

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
    if grp2 is not None and grp1 is None:
        raise InputError("give grp1 with grp2 (or only grp1)", field="grp2")
    for later, first in ((time2, "time2"), (w2, "w2")):
        if later is not None and grp2 is None:
            raise InputError(f"{first} needs grp2", field=first)
    if time2 is not None and time1 is None:
        raise InputError("give time1 with time2 (or only time1)", field="time2")
    if w2 is not None and w1 is None:
        raise InputError("give w1 with w2 (or only w1)", field="w2")
    if time1 is not None and phi is None:
        raise InputError("phi is needed with time1", field="phi")
    both = obs is not None and type is not None
    rhos = tuple(rho) if isinstance(rho, tuple | list) else (rho,)
    if len(rhos) != (2 if both else 1):
        raise InputError("rho must be one correlation, or (rho_obs, rho_type) when obs and "
                         "type are both given", field="rho")
    for r in (*rhos, 1.0 if phi is None else phi):
        if not math.isfinite(float(r)) or abs(float(r)) > 1:
            raise InputError(f"rho and phi must be in [-1, 1] (got {r!r})",
                             field="phi" if phi is not None and r is phi else "rho")
    one_obs = type is not None or grp1 is not None or time1 is not None
    rho_obs = float(rhos[0]) if obs is not None or not one_obs else 0.0
    rho_type = float(rhos[-1]) if type is not None else 0.0

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

    def numbers(values: Any, field: str, default: NDArray[np.float64]) -> NDArray[np.float64]:
        if values is None:
            return default
        col = _column(values, data, field)
        try:
            arr = np.asarray(col, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{field} must be numeric", field=field) from None
        if arr.shape != (k,):
            raise InputError(f"{field} has {arr.size} values for {k} variances", field=field)
        if not np.all(np.isfinite(arr)):
            raise InputError(f"missing or infinite {field} value",
                             row=int(np.flatnonzero(~np.isfinite(arr))[0]) + 1, field=field)
        return arr

    cl = codes(cluster, "cluster")
    if subgroup is not None:  # (metafor: cluster <- paste0(cluster, ".", subgroup))
        cl = pd.factorize(pd.Series(list(zip(cl, codes(subgroup, "subgroup"), strict=True))),
                          sort=True)[0].astype(np.int64)
    ob = codes(obs, "obs") if obs is not None else (
        np.zeros(k, dtype=np.int64) if one_obs else np.arange(k, dtype=np.int64))
    ty = codes(type, "type") if type is not None else np.zeros(k, dtype=np.int64)
    # the two groups as codes of one vocabulary (grp1 = 1 and grp2 = 2 by default: none shared)
    if grp1 is None:
        g1, g2 = np.zeros(k, dtype=np.int64), np.ones(k, dtype=np.int64)
    elif grp2 is None:  # (metafor's default grp2 = 2: a group no row's grp1 names)
        g1 = codes(grp1, "grp1")
        g2 = np.full(k, int(g1.max()) + 1, dtype=np.int64)
    else:  # one vocabulary for both, so that a grp2 value can match a grp1 value
        codes(grp1, "grp1"), codes(grp2, "grp2")  # (their lengths and missing values, named)
        labels = np.concatenate([np.asarray(_column(g, data, f), dtype=object)
                                 for g, f in ((grp1, "grp1"), (grp2, "grp2"))])
        g12 = pd.factorize(pd.Series(labels))[0].astype(np.int64)
        g1, g2 = g12[:k], g12[k:]
    t1 = numbers(time1, "time1", np.ones(k))
    t2 = numbers(time2, "time2", t1)
    n1 = numbers(w1, "w1", np.ones(k))
    n2 = numbers(w2, "w2", n1)
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise InputError("group sizes w1, w2 must be > 0", field="w1")
    ph = 1.0 if phi is None else float(phi)

    def shared(a: NDArray[np.int64], b: NDArray[np.int64], ta: NDArray[np.float64],
               tb: NDArray[np.float64]) -> NDArray[np.float64]:
        """c(a_i, b_j): 0 for other groups, phi^|t_a - t_b| for the same (1 at equal times)."""
        same = a[:, None] == b[None, :]
        dt = np.abs(ta[:, None] - tb[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            decay = np.where(dt == 0, 1.0, np.power(ph, dt))
        return np.where(same, decay, 0.0)

    order = np.argsort(cl, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(cl))])
    rows, cols, vals = [], [], []
    not_pd: list[int] = []
    sd = np.sqrt(v)
    for j in range(bounds.size - 1):
        ix = order[bounds[j]:bounds[j + 1]]
        a = np.where(ty[ix][:, None] == ty[ix][None, :],
                     np.where(ob[ix][:, None] == ob[ix][None, :], 1.0, rho_obs), rho_type)
        if grp1 is None and time1 is None and w1 is None:
            corr = a  # (N_ij / (D_i D_j) = 2 / 2: left out, so that rho stays exact)
        else:
            s1, s2 = 1.0 / np.sqrt(n1[ix]), 1.0 / np.sqrt(n2[ix])
            num = (shared(g1[ix], g1[ix], t1[ix], t1[ix]) * np.outer(s1, s1)
                   - shared(g1[ix], g2[ix], t1[ix], t2[ix]) * np.outer(s1, s2)
                   - shared(g2[ix], g1[ix], t2[ix], t1[ix]) * np.outer(s2, s1)
                   + shared(g2[ix], g2[ix], t2[ix], t2[ix]) * np.outer(s2, s2))
            d = np.sqrt(s1**2 + s2**2
                        - 2 * np.diag(shared(g1[ix], g2[ix], t1[ix], t2[ix])) * s1 * s2)
            with np.errstate(divide="ignore", invalid="ignore"):
                corr = a * num / np.outer(d, d)
        np.fill_diagonal(corr, 1.0)
        if not np.all(np.isfinite(corr)):
            raise InputError("an estimate contrasts a group with itself (grp1 = grp2 at the same "
                             "time): its correlations are undefined", field="grp2")
        block = corr * np.outer(sd[ix], sd[ix])
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
