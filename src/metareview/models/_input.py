"""Validation of effect sizes and sampling variances before they reach the model core.

Rows are reported 1-based, as a person counts data rows (``InputError(row=...)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metareview.errors import InputError, MetareviewWarning

__all__ = [
    "Column",
    "as_float",
    "clean_yi_vi",
    "column",
    "default_measure",
    "effect_columns",
    "frame_args",
    "study_labels",
]

NaAction = Literal["fail", "omit"]

#: A column: its name in ``data``, or the values (array, Series, list; validated on use).
Column = str | ArrayLike | Sequence[Any] | pd.Series


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


def frame_args(yi: Any, vi: Any, sei: Any, data: Any) -> tuple[Any, Any, Any, Any]:
    """``(yi, vi, sei, data)`` with a DataFrame given as ``yi`` taken as the data.

    Its columns ``yi`` and ``vi`` (or ``sei`` when there is no ``vi``) are then used unless
    ``vi``/``sei`` are given; giving ``data=`` as well is an InputError.
    """
    if isinstance(yi, pd.DataFrame):
        if data is not None:
            raise InputError("give the data once: as yi or as data=", field="data")
        data = yi
        yi = "yi"
        if vi is None and sei is None:
            vi = "vi" if "vi" in data.columns else None
            sei = "sei" if vi is None and "sei" in data.columns else None
    return yi, vi, sei, data


def default_measure(measure: str | None, data: pd.DataFrame | None) -> str:
    """``measure``, else the one :func:`~metareview.effects.escalc` noted on ``data``, else GEN."""
    if measure is not None:
        return measure
    return str(data.attrs.get("measure", "GEN")) if data is not None else "GEN"


def column(
    x: Column | None, data: pd.DataFrame | None, field_name: str
) -> NDArray[np.float64] | None:
    """The values of ``x`` (a column name of ``data``, or values) as floats; None for None."""
    if x is None:
        return None
    if isinstance(x, str):
        if data is None:
            raise InputError(f"column name {x!r} given but no data", field=field_name)
        if x not in data.columns:
            raise InputError(f"no column {x!r} in the data", field=x)
        return as_float(data[x], x)
    return as_float(x, field_name)


def effect_columns(
    yi: Column | None, vi: Column | None, sei: Column | None, data: pd.DataFrame | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    """The effect sizes and sampling variances, with the field names errors should show.

    Returns ``(y, v, yi_field, vi_field)``; a field is the column name when one was given. The
    variances are ``vi``, or ``sei**2`` (standard errors must be > 0); giving both or neither is an
    InputError.
    """
    y = column(yi, data, "yi")
    if y is None:  # pragma: no cover - yi is required by the callers' signatures
        raise InputError("yi is required", field="yi")
    if vi is not None and sei is not None:
        raise InputError("give vi or sei, not both", field="sei")
    if vi is not None:
        v = column(vi, data, "vi")
        v_field = vi if isinstance(vi, str) else "vi"
    elif sei is not None:
        s = column(sei, data, "sei")
        assert s is not None
        v_field = sei if isinstance(sei, str) else "sei"
        nonpos = ~np.isnan(s) & (s <= 0)
        if nonpos.any():
            i = int(np.flatnonzero(nonpos)[0])
            raise InputError(f"standard error must be > 0 (got {s[i]:g})", row=i + 1, field=v_field)
        v = s * s
    else:
        raise InputError("sampling variances are missing: give vi or sei", field="vi")
    assert v is not None
    y_field = yi if isinstance(yi, str) else "yi"
    return y, v, y_field, v_field


def study_labels(slab: Column | None, data: pd.DataFrame | None, k: int) -> list[str]:
    """The ``k`` study labels: ``slab`` (a column name of ``data`` or values), else 1..k."""
    if slab is None:
        return [str(i + 1) for i in range(k)]
    if isinstance(slab, str):
        if data is None or slab not in data.columns:
            raise InputError(f"no column {slab!r} for the study labels", field="slab")
        values = data[slab]
    else:
        values = pd.Series(list(np.asarray(slab, dtype=object)))
    if len(values) != k:
        raise InputError(f"slab has {len(values)} labels for {k} studies", field="slab")
    if pd.isna(values).any():
        i = int(np.flatnonzero(pd.isna(values).to_numpy())[0])
        raise InputError("missing study label", row=i + 1, field="slab")
    return _make_unique([str(s) for s in values])


def _make_unique(labels: Sequence[str]) -> list[str]:
    """Suffix repeated labels ".1", ".2", ... (as R's ``make.unique``, which metafor applies)."""
    seen: dict[str, int] = {}
    taken = set(labels)
    out = []
    for s in labels:
        if s in seen:
            n = seen[s]
            while f"{s}.{n}" in taken:
                n += 1
            seen[s] = n + 1
            new = f"{s}.{n}"
            taken.add(new)
            out.append(new)
        else:
            seen[s] = 1
            out.append(s)
    return out
