"""``escalc``: raw study data to effect sizes ``yi`` and sampling variances ``vi``, as metafor.

The formulas live in :mod:`metareview.effects.measures`; this module reads and checks the
columns, applies metafor's clean-up (infinite or undefined values become missing, negative
variances become missing) and says, row by row, why a study has no effect size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metareview.effects.measures import (
    MEASURES,
    OPTIONAL,
    REQUIRED,
    TO_OPTIONS,
    VTYPES,
    Columns,
    FloatArray,
    measure_info,
)
from metareview.errors import InputError

__all__ = ["COLUMN_NAMES", "NotComputable", "escalc", "not_computable", "reasons"]

#: every column argument escalc() knows, in metafor's vocabulary
COLUMN_NAMES = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "xi", "mi", "ni", "ri",
    "ti", "x1i", "x2i", "t1i", "t2i", "yi", "vi", "sei",
    "sdi",
)  # fmt: skip

_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})


class NotComputable(NamedTuple):
    """A row escalc() could not compute: 1-based row number, study label and the reason."""

    row: int
    slab: str | None
    reason: str


def _as_float(raw: Any, label: str, k: int | None) -> FloatArray:
    """Turn one column (a sequence, Series or scalar) into floats; text raises InputError."""
    if isinstance(raw, pd.Series):
        series = raw.reset_index(drop=True)
    else:
        arr = np.asarray(raw)
        if arr.ndim == 0:
            arr = arr.reshape(1) if k is None else np.repeat(arr, k)
        if arr.ndim != 1:
            raise InputError("a column must be one-dimensional", field=label)
        series = pd.Series(arr)
    if k is not None and len(series) != k:
        raise InputError(f"has {len(series)} values but the data have {k} rows", field=label)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        obj = series.astype(object)
        numbers = pd.to_numeric(obj, errors="coerce")
        unparsed = np.flatnonzero((numbers.isna() & obj.notna()).to_numpy())
        if unparsed.size:
            text = obj.iloc[unparsed].astype(str).str.strip().str.lower()
            bad = unparsed[~text.isin(_MISSING_TOKENS).to_numpy()]
            if bad.size:
                pos = int(bad[0])
                raise InputError(f"not a number: {obj.iloc[pos]!r}", row=pos + 1, field=label)
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0]) + 1
        raise InputError("not a finite number", row=row, field=label)
    return values


def _resolve(name: str, arg: Any, data: pd.DataFrame | None) -> tuple[Any, str]:
    """The raw values of column argument ``name`` and the label to use in messages."""
    if isinstance(arg, str):
        if data is None:
            raise InputError(
                f"column {arg!r} is given by name but no data frame was passed", field=name
            )
        if arg not in data.columns:
            raise InputError(f"no column {arg!r} in the data", field=arg)
        return data[arg], arg
    return arg, name


def _needed(measure: str, given: set[str]) -> tuple[list[str], list[str]]:
    """Columns to read for ``measure`` and the requirements not met (as readable strings)."""
    use: list[str] = []
    unmet: list[str] = []
    required = REQUIRED[measure]
    smd_alt = measure == "SMD" and ({"di", "ti"} & given)
    for item in required:
        options = (item,) if isinstance(item, str) else item
        present = [o for o in options if o in given]
        if present:
            use.extend(present)
        elif smd_alt and item in ("m1i", "m2i", "sd1i", "sd2i"):
            continue
        else:
            unmet.append(" or ".join(options))
    for name in OPTIONAL.get(measure, ()):
        if name in given and name not in use:
            use.append(name)
    return use, unmet


def _missing_reasons(
    measure: str, values: dict[str, FloatArray], labels: dict[str, str], k: int
) -> NDArray[np.object_]:
    """Per row, 'missing value in column X' for the first required input that is missing."""
    out = np.full(k, None, dtype=object)
    smd_alt = None
    if measure == "SMD" and ("di" in values or "ti" in values):
        smd_alt = np.zeros(k, dtype=bool)
        for name in ("di", "ti"):
            if name in values:
                smd_alt |= ~np.isnan(values[name])
    for item in REQUIRED[measure]:
        options = (item,) if isinstance(item, str) else item
        present = [o for o in options if o in values]
        if not present:
            continue
        missing = np.ones(k, dtype=bool)
        for o in present:
            missing &= np.isnan(values[o])
        text = f"missing value in column {labels.get(present[0], present[0])!r}"
        if smd_alt is not None and item in ("m1i", "m2i", "sd1i", "sd2i"):
            missing &= ~smd_alt
            text += " (and no di or ti)"
        out = np.where((out == None) & missing, text, out)  # noqa: E711
    return out


def escalc(
    measure: str,
    data: pd.DataFrame | None = None,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str | Sequence[str] = "LS",
    slab: Any = None,
    **columns: Any,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` as metafor's ``escalc()``.

    Parameters
    ----------
    measure
        One of RR, OR, RD, PETO (2x2 tables: ``ai bi ci di``, or ``ai n1i ci n2i``); IRR, IRD
        (``x1i t1i x2i t2i``); MD, SMD, ROM (``m1i sd1i n1i m2i sd2i n2i``; SMD also from a
        reported Cohen's ``di`` or t statistic ``ti``); PR, PLO, PLN, PAS, PFT (``xi`` with ``ni``
        or ``mi``); IR, IRLN, IRS, IRFT (one group's rate: ``xi`` events over person-time
        ``ti``); MN, MNLN, CVLN (one group's mean: ``mi sdi ni``), SDLN (``sdi ni``); COR,
        ZCOR (``ri ni``); MC, SMCR, SMCC (one group measured twice:
        ``m1i m2i sd1i [sd2i] ni ri``); GEN (``yi`` with ``vi`` or ``sei``). The formulas are
        given in :mod:`metareview.effects.measures`. Passing ``yi`` with any other measure takes
        the values as already computed on that measure's scale (as metafor does).
    data
        Optional data frame; a column argument given as a string names one of its columns. When
        ``data`` is given, columns carrying metafor's own names (``ai``, ``sd1i``, ...) are used
        without being named again.
    add, to
        Continuity correction for counts (metafor's defaults): ``add`` = 1/2 (0 for PAS, PFT,
        IRS, IRFT) is added to every cell of a table (both counts of a proportion, both counts
        of a rate comparison, the count of a single rate) where ``to="only0"``: a zero occurs;
        ``"all"``: always; ``"if0all"``: in all tables when any has a zero; ``"none"``: never.
    drop00
        Leave out (NaN) 2x2 tables with no events or only events in both groups, and rate
        comparisons with no events in either group.
    vtype
        Variance estimator ("LS" large-sample default; "UB", "LS2", "HO", "AV", "AVHO" where
        metafor offers them); one code, or one per row.
    slab
        Study labels (column name or sequence), kept in ``attrs["slab"]``.
    **columns
        Column arguments in metafor's names: a column name of ``data``, a sequence or a scalar.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` (or a new frame) with float columns ``yi`` and ``vi`` (NaN where not
        computable). ``attrs``: ``measure``; ``ni`` (the per-study total sample size, as metafor's
        ``attr(yi, "ni")``); ``slab``; ``reasons`` (per row, why ``yi``/``vi`` are missing, or
        None). Use :func:`reasons` or :func:`not_computable` to read them.

    Raises
    ------
    InputError
        Unknown measure or option; a column missing or not numeric; negative counts, sizes or
        standard deviations; more events than participants; correlations outside [-1, 1] — naming
        the (1-based) row and the column.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48; metafor 3.8 ``?escalc``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ai": [4, 6], "bi": [119, 300], "ci": [11, 29], "di": [128, 274]})
    >>> escalc("RR", df)[["yi", "vi"]].round(4)
           yi      vi
    0 -0.8893  0.3256
    1 -1.5854  0.1946
    """
    measure = measure_info(measure, computable=True).name
    if to not in TO_OPTIONS:
        raise InputError(f"unknown to={to!r}; use one of {', '.join(TO_OPTIONS)}", field="to")
    unknown = sorted(set(columns) - set(COLUMN_NAMES))
    if unknown:
        raise InputError(
            f"unknown column argument(s) {', '.join(unknown)}; escalc() knows "
            f"{' '.join(COLUMN_NAMES)}",
            field=unknown[0],
        )
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    given = {name for name, arg in columns.items() if arg is not None}
    generic = "yi" in given
    family = "GEN" if generic else measure
    if data is not None:
        names = {n for req in REQUIRED[family] for n in ((req,) if isinstance(req, str) else req)}
        names |= set(OPTIONAL.get(family, ()))
        for name in names:
            if name not in given and name in data.columns:
                columns[name] = name
                given.add(name)
    use, unmet = _needed(family, given)
    if unmet:
        raise InputError(
            f"measure {measure} needs column(s) {', '.join(unmet)}", field=unmet[0].split()[0]
        )

    k: int | None = None if data is None else len(data)
    values: dict[str, FloatArray] = {}
    labels: dict[str, str] = {}
    raw_for_length = [columns[n] for n in use if not isinstance(columns[n], str)]
    if k is None:
        for raw in raw_for_length:
            arr = np.asarray(raw)
            if arr.ndim >= 1:
                k = len(arr)
                break
        if k is None:
            k = 1
    for name in use:
        raw, label = _resolve(name, columns[name], data)
        values[name] = _as_float(raw, label, k)
        labels[name] = label

    spec = MEASURES[family]
    add_value = (spec.default_add if not generic else 0.0) if add is None else float(add)
    vt = np.asarray([vtype] * k if isinstance(vtype, str) else list(vtype), dtype=str)
    if vt.shape != (k,):
        raise InputError(f"vtype has {vt.size} values but the data have {k} rows", field="vtype")
    bad_vt = ~np.isin(vt, sorted(VTYPES))
    if bad_vt.any():
        raise InputError(f"unknown vtype {vt[bad_vt][0]!r}", field="vtype")
    cols = Columns(family, values, labels, k, add_value, to, bool(drop00), vt)
    if spec.vtypes is not None:
        cols.check_vtype(spec.vtypes)
    computed = spec.compute(cols)

    yi = np.asarray(computed.yi, dtype=float)
    vi = np.asarray(computed.vi, dtype=float)
    why = _missing_reasons(family, values, labels, k)
    # metafor's clean-up: +-Inf, or NaN from defined inputs (0/0, log of a negative), make both
    # yi and vi missing; a missing input (R's NA) only makes missing what it flows into.
    has_na_input = why != None  # noqa: E711
    vi_na = np.zeros(k, dtype=bool) if computed.vi_na is None else computed.vi_na
    vi = np.where(vi_na, np.nan, vi)
    infinite = np.isinf(yi) | np.isinf(vi)
    undefined = infinite | ((np.isnan(yi) | (np.isnan(vi) & ~vi_na)) & ~has_na_input)
    yi = np.where(undefined, np.nan, yi)
    vi = np.where(undefined, np.nan, vi)
    negative = vi < 0
    vi = np.where(negative, np.nan, vi)

    failed = np.isnan(yi) | np.isnan(vi)
    for mask, text in computed.notes:
        why = np.where((why == None) & failed & mask, text, why)  # noqa: E711
    fallback = np.where(
        infinite,
        "yi or vi is infinite (log or reciprocal of 0)",
        np.where(negative, "sampling variance is negative", "yi or vi not defined here"),
    )
    why = np.where((why == None) & failed, fallback, why)  # noqa: E711
    why[~failed] = None

    out = pd.DataFrame(index=range(k)) if data is None else data.copy()
    out["yi"] = yi
    out["vi"] = vi
    if slab is not None:
        slab_raw, _ = _resolve("slab", slab, data)
        slab_list = np.atleast_1d(np.asarray(slab_raw, dtype=object)).astype(str).tolist()
        if len(slab_list) != k:
            raise InputError(f"slab has {len(slab_list)} labels for {k} rows", field="slab")
        out.attrs["slab"] = slab_list
    else:
        out.attrs["slab"] = None
    out.attrs["measure"] = measure
    out.attrs["ni"] = None if computed.ni is None else np.asarray(computed.ni, float).tolist()
    out.attrs["reasons"] = why.tolist()
    return out


def reasons(df: pd.DataFrame) -> pd.Series:
    """Why each row of an :func:`escalc` result has no ``yi``/``vi`` (None where it has them)."""
    why = df.attrs.get("reasons")
    if why is None or len(why) != len(df):
        raise InputError("this data frame does not carry escalc() reasons for its rows")
    return pd.Series(why, index=df.index, name="reason", dtype=object)


def not_computable(df: pd.DataFrame) -> list[NotComputable]:
    """The rows of an :func:`escalc` result that have no effect size, with 1-based row numbers."""
    why = reasons(df)
    slabs = df.attrs.get("slab")
    return [
        NotComputable(pos + 1, None if slabs is None else slabs[pos], str(text))
        for pos, text in enumerate(why.tolist())
        if text is not None
    ]
