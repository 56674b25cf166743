"""Leave-one-out diagnostics (metafor's ``leave1out.rma.uni``), vectorised via the batch core."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from metareview.errors import InputError
from metareview.models._core import fit_padded
from metareview.models._refit import check_batch_refit
from metareview.models.rma import RMAResult

__all__ = ["leave1out"]


def leave1out(res: RMAResult) -> pd.DataFrame:
    """Refit ``res`` k times, each time without one study, as a single batch computation.

    The k refits form a ``k x (k-1)`` array (row i holds every study but the i-th) fitted with
    the same method, test, level, control and (if fixed) tau^2 as ``res``. As in metafor, a refit
    that fails gives NaN in its row, and a refit left with one study uses a z test.

    Parameters
    ----------
    res : RMAResult
        A fitted model with ``k >= 2``.

    Returns
    -------
    DataFrame
        One row per omitted study: ``slab``, ``estimate``, ``se``, ``zval`` (a t value for tests
        "t"/"knha"), ``pval``, ``ci_lb``, ``ci_ub``, ``Q``, ``Qp``, ``tau2`` (0 for EE models),
        ``I2``, ``H2``.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. Research Synthesis Methods, 1(2), 112-125.
    """
    k = res.k
    if k < 2:
        raise InputError("leave-one-out needs at least 2 studies (k = 1)")
    cols = np.arange(k - 1)[None, :]
    omit = np.arange(k)[:, None]
    idx = cols + (cols >= omit)
    check_batch_refit(res, "leave1out")
    y = np.asarray(res.yi, dtype=float)[idx]
    v = np.asarray(res.vi, dtype=float)[idx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metafor's leave1out suppresses the refits' warnings
        fit = fit_padded(
            y,
            v,
            np.ones_like(y, dtype=bool),
            method=res.method,
            test=res.test if res.k > 1 else "z",
            level=res.level,
            tau2=res.tau2 if res.tau2_fixed else None,
            control=res.control,
            on_fail="nan",
        )
    return pd.DataFrame(
        {
            "slab": list(res.slab),
            "estimate": fit.beta,
            "se": fit.se,
            "zval": fit.zval,
            "pval": fit.pval,
            "ci_lb": fit.ci_lb,
            "ci_ub": fit.ci_ub,
            "Q": fit.QE,
            "Qp": fit.QEp,
            "tau2": fit.tau2,
            "I2": fit.I2,
            "H2": fit.H2,
        }
    )
