"""Predictions of a meta-regression at new moderator values, as metafor's ``predict.rma``.

>>> res = rma_reg("yi", "vi", mods="ablat + alloc", data=dat)                    # doctest: +SKIP
>>> res.predict(newmods={"ablat": [20, 40], "alloc": ["random", "systematic"]})   # doctest: +SKIP

For a row ``x`` of the new model matrix (an intercept 1 first, then the moderators coded as in
the fit): ``pred = x'b``, ``se = sqrt(x' Var(b) x)`` (``Var(b)`` with the Knapp-Hartung factor
for ``test="knha"``), ``ci = pred +/- crit se`` and the prediction interval
``pi = pred +/- crit sqrt(se^2 + tau^2)``, where ``crit`` is the normal quantile for z tests and
the t quantile with ``k - p`` df for "t"/"knha" (metafor's default ``pi.type``). With ``transf``
the values ``pred, ci, pi`` are transformed (bounds re-sorted) and ``se`` is NaN, as metafor.

Reference: metafor 3.8-1, ``predict.rma`` (R source); Viechtbauer (2010), section 3.3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview.errors import InputError
from metareview.models._core import alpha_from_level

if TYPE_CHECKING:
    from metareview.models.regression import RegResult

__all__ = ["new_model_matrix", "predict_reg"]

FloatArray = NDArray[np.float64]


def new_model_matrix(result: RegResult, newmods: Any) -> FloatArray:
    """The model matrix (with the intercept column) of ``newmods`` for ``result``."""
    p = result.p
    if isinstance(newmods, pd.Series):
        newmods = newmods.to_frame().T
    if isinstance(newmods, Mapping) and not isinstance(newmods, pd.DataFrame):
        newmods = pd.DataFrame({k: np.atleast_1d(np.asarray(v, dtype=object))
                                for k, v in newmods.items()})
    if isinstance(newmods, pd.DataFrame):
        if not result.mod_terms:
            raise InputError(
                "this fit was given its moderators as numbers: give newmods as numbers too "
                f"(one column per coefficient {', '.join(result.coef_names[1:])})",
                field="newmods",
            )
        cols: list[FloatArray] = [np.ones(len(newmods))]
        for term, cat, levels in result.mod_terms:
            m = _term_column(term)
            col = term if term in newmods.columns else m
            if col not in newmods.columns:
                raise InputError(f"newmods has no column {col!r}", field=col)
            values = newmods[col].to_numpy(dtype=object)
            if cat:
                text = [str(x) for x in levels]
                for i, val in enumerate(values):
                    if val not in levels and str(val) not in text:
                        raise InputError(
                            f"{val!r} is not a level of {term} (levels: {', '.join(text)})",
                            row=i + 1, field=col,
                        )
                for lev in levels[1:]:
                    cols.append(np.array([1.0 if (v == lev or str(v) == str(lev)) else 0.0
                                          for v in values]))
            else:
                try:
                    cols.append(np.asarray(values, dtype=float))
                except (TypeError, ValueError):
                    raise InputError(f"moderator {col!r} must be numeric", field=col) from None
        x = np.column_stack(cols)
    else:
        try:
            arr = np.asarray(newmods, dtype=float)
        except (TypeError, ValueError):
            raise InputError("newmods must be numbers or a DataFrame", field="newmods") from None
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        if arr.ndim == 1:
            # metafor: a vector is one value per row for a single moderator, else one row
            arr = arr[:, None] if p - 1 == 1 else arr[None, :]
        if arr.ndim != 2:
            raise InputError("newmods must be one- or two-dimensional", field="newmods")
        if arr.shape[1] == p - 1:
            x = np.column_stack([np.ones(arr.shape[0]), arr])
        elif arr.shape[1] == p:
            x = arr
        else:
            raise InputError(
                f"newmods has {arr.shape[1]} column(s); the model has {p - 1} moderator "
                f"coefficient(s) ({', '.join(result.coef_names[1:])})",
                field="newmods",
            )
    if x.shape[1] != p:
        raise InputError(
            f"newmods code to {x.shape[1]} columns; the model has {p}", field="newmods"
        )
    if not np.all(np.isfinite(x)):
        raise InputError("newmods must be finite numbers", field="newmods")
    return x


def _term_column(term: str) -> str:
    """``factor(x)`` -> ``x``; other terms are their column."""
    t = term.strip()
    if t.startswith("factor(") and t.endswith(")"):
        return t[len("factor("):-1].strip()
    return t


def predict_reg(
    result: RegResult,
    newmods: Any = None,
    *,
    transf: Callable[[Any], Any] | None = None,
    level: float | None = None,
) -> pd.DataFrame:
    """``pred, se, ci_lb, ci_ub, pi_lb, pi_ub`` for ``newmods`` (see module docstring); one row
    per new moderator row (or per study when ``newmods`` is None, indexed by study label)."""
    x = np.asarray(result.X, dtype=float) if newmods is None else new_model_matrix(result, newmods)
    alpha = alpha_from_level(result.level if level is None else level)
    beta = np.asarray(result.beta, dtype=float)
    vb = np.asarray(result.vb, dtype=float)
    pred = x @ beta
    vpred = np.einsum("ij,jk,ik->i", x, vb, x)
    se = np.sqrt(vpred)
    if result.ddf is not None:
        crit = float(-special.stdtrit(result.ddf, alpha / 2.0)) if result.ddf > 0 else math.nan
    else:
        crit = float(-special.ndtri(alpha / 2.0))
    ci_lb, ci_ub = pred - crit * se, pred + crit * se
    half = crit * np.sqrt(vpred + result.tau2)
    pi_lb, pi_ub = pred - half, pred + half
    if transf is not None:
        def tr(a: FloatArray) -> FloatArray:
            return np.array([float(transf(float(v))) for v in a])

        pred, ci_lb, ci_ub, pi_lb, pi_ub = (tr(a) for a in (pred, ci_lb, ci_ub, pi_lb, pi_ub))
        ci_lb, ci_ub = np.fmin(ci_lb, ci_ub), np.fmax(ci_lb, ci_ub)
        pi_lb, pi_ub = np.fmin(pi_lb, pi_ub), np.fmax(pi_lb, pi_ub)
        se = np.full(se.shape, np.nan)
    index = (
        pd.Index(list(result.slab), name="slab") if newmods is None
        else pd.RangeIndex(1, x.shape[0] + 1)
    )
    return pd.DataFrame(
        {"pred": pred, "se": se, "ci_lb": ci_lb, "ci_ub": ci_ub, "pi_lb": pi_lb, "pi_ub": pi_ub},
        index=index,
    )
