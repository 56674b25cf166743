"""Validation of effect sizes and sampling variances before they reach the model core.

Rows are reported 1-based, as a person counts data rows (``InputError(row=...)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metareview.errors import InputError, MetareviewWarning

__all__ = ["as_float", "clean_yi_vi"]

NaAction = Literal["fail", "omit"]


def as_float(values: Any, field: str) -> NDArray[np.float64]:
    """Convert a column to a 1-D float array; text that is not a number is an InputError.

    Empty cells (None, NaN, "") become NaN and are handled by :func:`clean_yi_vi`.
    """
    if isinstance(values, pd.DataFrame):
        raise InputError("expected one column, got a table", field=field)
    if np.isscalar(values) or values is None:
        values = [values]
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise InputError(f"expected one column, got an array of shape {values.shape}", field=field)
    series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    series = series.reset_index(drop=True)
    if series.dtype == bool:
        raise InputError("expected numbers, got true/false values", field=field)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    numeric = pd.to_numeric(series, errors="coerce")
    missing_before = series.isna() | series.astype(str).str.strip().eq("")
    bad = numeric.isna() & ~missing_before
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"not a number: {series.iloc[i]!r}", row=i + 1, field=field
        )
    out = numeric.to_numpy(dtype=float, na_value=np.nan)
    if out.ndim != 1:
        raise InputError("expected a one-dimensional column", field=field)
    return out


#: Magnitudes whose squares (and products with weights) stay finite in double precision.
MAX_ABS_YI = 1e50
MAX_VI = 1e50
MIN_VI = 1e-50


def clean_yi_vi(
    yi: NDArray[np.float64],
    vi: NDArray[np.float64],
    *,
    yi_field: str = "yi",
    vi_field: str = "vi",
    na_action: NaAction = "fail",
    file: str | None = None,
    row_numbers: Sequence[int] | None = None,
) -> NDArray[np.bool_]:
    """Check ``yi``/``vi`` and return the mask of rows to use.

    Raises :class:`~metareview.errors.InputError` naming the first offending row for: lengths
    that differ, infinite values, sampling variances that are zero or negative, and (with
    ``na_action="fail"``) missing values. With ``na_action="omit"`` rows with a missing ``yi`` or
    ``vi`` are left out with a :class:`~metareview.errors.MetareviewWarning` naming them, as
    metafor does ("Studies with NAs omitted from model fitting").
    """
    if na_action not in ("fail", "omit"):
        raise InputError("na_action must be 'fail' or 'omit'", field="na_action")
    if yi.shape != vi.shape:
        raise InputError(
            f"{yi_field} has {yi.size} values but {vi_field} has {vi.size}", field=vi_field
        )
    rows = np.arange(1, yi.size + 1) if row_numbers is None else np.asarray(row_numbers)

    def fail(mask: NDArray[np.bool_], field: str, what: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        n = int(mask.sum())
        more = f" ({n - 1} more row(s) like it)" if n > 1 else ""
        raise InputError(f"{what}{more}", file=file, row=int(rows[i]), field=field)

    for arr, field in ((yi, yi_field), (vi, vi_field)):
        inf = np.isinf(arr)
        if inf.any():
            fail(inf, field, "infinite value")
    nan = np.isnan(yi) | np.isnan(vi)
    if nan.any():
        if na_action == "fail":
            field = yi_field if np.isnan(yi[np.flatnonzero(nan)[0]]) else vi_field
            fail(nan, field, "missing value (use na_action='omit' to leave such rows out)")
        dropped = ", ".join(str(int(r)) for r in rows[nan][:10])
        more = " ..." if nan.sum() > 10 else ""
        warnings.warn(
            f"{int(nan.sum())} row(s) with a missing {yi_field} or {vi_field} left out of the "
            f"model: row(s) {dropped}{more}",
            MetareviewWarning,
            stacklevel=3,
        )
    nonpos = ~nan & (vi <= 0)
    if nonpos.any():
        i = int(np.flatnonzero(nonpos)[0])
        fail(nonpos, vi_field, f"sampling variance must be > 0 (got {vi[i]:g})")
    # Q, the weights' sums of squares and tau² square these values: beyond these bounds they
    # overflow double precision, so the fit would silently turn into NaN.
    huge_y = ~nan & (np.abs(yi) > MAX_ABS_YI)
    if huge_y.any():
        fail(huge_y, yi_field, f"|value| above {MAX_ABS_YI:g} cannot be pooled; rescale it")
    odd_v = ~nan & ((vi > MAX_VI) | (vi < MIN_VI))
    if odd_v.any():
        fail(odd_v, vi_field, f"sampling variance outside [{MIN_VI:g}, {MAX_VI:g}]; rescale")
    return ~nan
