"""Cumulative meta-analysis, as metafor's ``cumul.rma.uni``.

>>> from metareview.models import rma, cumul
>>> cumul(rma("yi", "vi", data=dat), order=dat["year"])   # doctest: +SKIP

The studies are added one at a time (in their order, or sorted by ``order``) and the model is
refitted with the same settings after each addition: step ``j`` is the fit of the first ``j``
studies. All ``k`` fits are one call of the batch core
(:func:`metareview.models._core.fit_padded`, one row per step), so each formula is
:func:`metareview.models.rma`'s; the first step (k = 1) is that study's own estimate with
tau^2 = 0, Q = 0 and a z test, as metafor.

References
----------
Lau, J., Schmid, C. H., & Chalmers, T. C. (1995). Cumulative meta-analysis of clinical trials
    builds evidence for exemplary medical care. Journal of Clinical Epidemiology, 48(1), 45-57.
metafor 3.8-1: ``cumul.rma.uni`` (R source).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metareview.errors import InputError
from metareview.models._core import fit_padded
from metareview.models._refit import check_batch_refit
from metareview.models.rma import RMAResult

__all__ = ["cumul"]


def cumul(
    result: RMAResult,
    order: Sequence[Any] | np.ndarray | pd.Series | None = None,
    *,
    transf: Callable[[Any], Any] | None = None,
    decreasing: bool = False,
) -> pd.DataFrame:
    """Cumulative meta-analysis of an intercept-only ``rma`` fit (metafor's ``cumul.rma.uni``).

    Parameters
    ----------
    result : RMAResult
        The fit whose studies are accumulated (its ``method``, ``test``, ``level``, fixed
        ``tau2`` and ``control`` are kept).
    order : sequence, optional
        One sort key per study (e.g. publication year); studies are added in increasing order
        of the key, ties in their original order (R's ``order()``). Default: as given.
    transf : callable, optional
        Applied to ``estimate``, ``ci_lb`` and ``ci_ub`` (bounds re-sorted; ``se`` becomes NaN),
        as metafor's ``transf``.
    decreasing : bool
        Sort ``order`` in decreasing order.

    Returns
    -------
    DataFrame
        Indexed by the label of the study added at each step, with metafor's columns
        ``estimate, se, zval`` (``tval`` for t/knha tests) ``, pval, ci_lb, ci_ub, Q, Qp, tau2,
        I2, H2`` (``tau2`` omitted for EE models, as metafor).
    """
    if not isinstance(result, RMAResult):
        raise InputError(
            "cumul() takes an intercept-only rma() result (metafor's cumul.rma.uni)",
            field="result",
        )
    check_batch_refit(result, "cumul")
    k = result.k
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise InputError(
                f"order has {key.size} values for {k} studies", field="order"
            )
        ranked = pd.Series(key).sort_values(ascending=not decreasing, kind="stable")
        idx = ranked.index.to_numpy()
    y = np.asarray(result.yi)[idx]
    v = np.asarray(result.vi)[idx]
    slab = [result.slab[i] for i in idx]
    yy = np.broadcast_to(y, (k, k)).copy()
    vv = np.broadcast_to(v, (k, k)).copy()
    mask = np.tri(k, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_padded(
            yy, vv, mask, method=result.method, test=result.test, level=result.level,
            tau2=result.tau2 if result.tau2_fixed else None, control=result.control,
            on_fail="nan",
        )  # fmt: skip
    est, se, lb, ub = fit.beta.copy(), fit.se.copy(), fit.ci_lb.copy(), fit.ci_ub.copy()
    if transf is not None:
        est = np.array([float(transf(x)) for x in est])
        a = np.array([float(transf(x)) for x in lb])
        b = np.array([float(transf(x)) for x in ub])
        lb, ub = np.fmin(a, b), np.fmax(a, b)
        se = np.full(k, np.nan)
    stat = "tval" if result.test in ("t", "knha") else "zval"
    cols: dict[str, Any] = {
        "estimate": est, "se": se, stat: fit.zval, "pval": fit.pval, "ci_lb": lb, "ci_ub": ub,
        "Q": fit.QE, "Qp": fit.QEp, "tau2": fit.tau2, "I2": fit.I2, "H2": fit.H2,
    }
    if result.method in ("EE", "FE"):
        del cols["tau2"]
    out = pd.DataFrame(cols, index=pd.Index(slab, name="slab"))
    out.attrs.update(measure=result.measure, method=result.method, transf=transf is not None)
    return out
