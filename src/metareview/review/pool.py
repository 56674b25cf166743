"""Pool a study-level CSV file: effect sizes, then one meta-analysis or one per group.

The file's columns carry metafor's argument names (``ai bi ci di n1i n2i m1i m2i sd1i sd2i xi ni
ri mi x1i x2i t1i t2i yi vi sei``); ``measure`` says which effect size to compute from them, as
``escalc(measure=...)`` does. Rows whose effect cannot be computed are left out with a warning
that names them, as metafor does; a file that cannot be pooled at all is an
:class:`~metareview.errors.InputError` naming the file, row and column. ``metareview pool`` is
:func:`pool_file` plus printing.

Example
-------
>>> from metareview.review import pool_file
>>> out = pool_file("bcg.csv", "RR", method="DL", test="knha")  # doctest: +SKIP
>>> out.model.summary(), out.to_json()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metareview._json import jsonable
from metareview.errors import InputError, MetareviewWarning
from metareview.models.methods import POOLING_METHODS, TESTS

__all__ = ["ESCALC_COLUMNS", "JSON_KEYS", "PoolOutcome", "pool_file", "read_study_csv", "to_json"]

#: metafor's argument names that ``escalc`` reads from columns of the same name.
ESCALC_COLUMNS: tuple[str, ...] = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "xi", "ni", "ri",
    "mi", "x1i", "x2i", "t1i", "t2i", "yi", "vi", "sei",
)  # fmt: skip

#: The keys of one pooled analysis in ``--json`` output (model scale, as metafor's ``rma``).
JSON_KEYS: tuple[str, ...] = (
    "k", "measure", "method", "test", "estimate", "se", "ci_lower", "ci_upper", "pvalue",
    "tau2", "tau2_ci_lower", "tau2_ci_upper", "I2", "H2", "Q", "Q_pvalue", "pi_lower", "pi_upper",
)  # fmt: skip


def read_study_csv(path: str | Path) -> pd.DataFrame:
    """Read a study-level CSV; numeric metafor columns must hold numbers or be empty.

    Raises
    ------
    InputError
        The file is missing or unreadable, has no data rows, or a numeric column holds text
        (the error names the first offending row, 1-based over data rows, and the column).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, not a CSV file", file=str(path))
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        df = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", file=str(path)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", file=str(path)) from exc
    if df.empty:
        raise InputError("the file has a header but no data rows", file=str(path))
    # pandas renames a repeated column ``yi`` to ``yi.1``: which one holds the data is ambiguous.
    first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    header = [str(c).strip() for c in first.iloc[0]]
    repeated = next((c for i, c in enumerate(header) if c and c in header[:i]), None)
    if repeated is not None:
        raise InputError("the header names this column more than once", file=str(path),
                         field=repeated)  # fmt: skip
    df.columns = [str(c).strip() for c in df.columns]
    for col in ESCALC_COLUMNS:
        if col in df.columns and df[col].dtype == object:
            converted = pd.to_numeric(df[col], errors="coerce")
            bad = converted.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"expected a number, found {df[col].iloc[row]!r}",
                    file=str(path),
                    row=row + 1,
                    field=col,
                )
            df[col] = converted
    return df


def _row_to_json(row: dict[str, Any], measure: str, method: str, test: str) -> dict[str, Any]:
    """Map a model's fields (metafor names) onto the ``--json`` keys."""
    out = {
        "k": jsonable(row.get("k")),
        "measure": measure,
        "method": method,
        "test": test,
        "estimate": row.get("estimate", row.get("beta")),
        "se": row.get("se"),
        "ci_lower": row.get("ci_lb"),
        "ci_upper": row.get("ci_ub"),
        "pvalue": row.get("pval"),
        "tau2": row.get("tau2"),
        "tau2_ci_lower": row.get("tau2_ci_lb"),
        "tau2_ci_upper": row.get("tau2_ci_ub"),
        "I2": row.get("I2"),
        "H2": row.get("H2"),
        "Q": row.get("QE"),
        "Q_pvalue": row.get("QEp"),
        "pi_lower": row.get("pi_lb"),
        "pi_upper": row.get("pi_ub"),
    }
    return {key: jsonable(out[key]) for key in JSON_KEYS}


def _effect_sizes(df: pd.DataFrame, measure: str, path: Path) -> pd.DataFrame:
    """``escalc`` on the file's metafor-named columns; errors are located in the file."""
    from metareview.effects import escalc

    columns: dict[str, Any] = {c: c for c in ESCALC_COLUMNS if c in df.columns}
    if measure != "GEN":
        columns.pop("yi", None)
        columns.pop("vi", None)
        columns.pop("sei", None)
    try:
        return escalc(measure, data=df, **columns)
    except InputError as exc:
        raise InputError(exc.message, file=str(path), row=exc.row, field=exc.field) from exc


def _drop_uncomputable(es: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Leave out rows without a finite ``yi``/``vi``; warn naming them and why (as metafor)."""
    # escalc's per-row attrs (reasons, ni, labels) are read here once and dropped: pandas
    # deep-copies attrs on every column access, which on 160,000 rows costs seconds.
    why_by_row = es.attrs.get("reasons")
    es.attrs = {}
    bad = ~(np.isfinite(es["yi"].to_numpy(float)) & np.isfinite(es["vi"].to_numpy(float)))
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)]
        detail = "; ".join(
            f"row {r}: {(why_by_row[r - 1] if why_by_row else None) or 'no sampling variance'}"
            for r in rows
        )
        warnings.warn(
            f"{path}: left out {len(rows)} row(s) whose effect size cannot be computed "
            f"(data rows {', '.join(map(str, rows))}) - {detail}",
            MetareviewWarning,
            stacklevel=3,
        )
    return es.loc[~bad]


@dataclass(frozen=True)
class PoolOutcome:
    """What :func:`pool_file` computed.

    Attributes
    ----------
    json : dict or list of dict
        One analysis as a dict with the keys :data:`JSON_KEYS` (model scale, metafor's values;
        None where a quantity does not apply), or one dict per group (``by``) with ``"by"``
        added.
    model : RMAResult or MHResult or None
        The fitted model when there is one analysis (None with ``by``).
    """

    json: dict[str, Any] | list[dict[str, Any]]
    model: Any = None

    def to_json(self) -> str:
        """:attr:`json` as JSON text (strict: no NaN), as ``metareview pool --json`` prints it."""
        return to_json(self)


def pool_file(
    path: str | Path,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    by: str | None = None,
) -> PoolOutcome:
    """Read a study-level CSV, compute effect sizes and pool them: ``metareview pool``'s API.

    The CSV is read by :func:`read_study_csv`; effect sizes come from
    :func:`metareview.effects.escalc` (``measure``) on the columns with metafor's argument names
    (:data:`ESCALC_COLUMNS`); rows without a finite ``yi``/``vi`` are left out with a
    :class:`~metareview.errors.MetareviewWarning` naming them and why, as metafor drops them.
    Models come from :func:`metareview.models.rma` (one analysis),
    :func:`metareview.models.rma_batch` (``by``: one array computation over all groups) or
    :func:`metareview.models.rma_mh` / :func:`~metareview.models.rma_peto` (``method`` MH or
    PETO, which pool the 2x2 tables or event counts themselves).

    Parameters
    ----------
    path : str or Path
        The CSV file, one study a row.
    measure : str
        The effect size (metafor's ``escalc`` code, any case): RR, OR, MD, SMD, PLO, GEN, ...
    method : str, default "REML"
        A tau² estimator (:data:`metareview.models.METHODS`) or MH, PETO
        (:data:`metareview.models.POOLING_METHODS`).
    test : {"z", "t", "knha"}
        The test of the pooled estimate (metafor's ``test=``; MH and Peto always use z).
    level : float, default 95
        Confidence level in percent.
    by : str, optional
        A column: pool each of its values apart.

    Returns
    -------
    PoolOutcome
        The JSON form (:data:`JSON_KEYS`) and, for one analysis, the fitted model.

    Raises
    ------
    InputError
        An unknown method or test, a file that cannot be read, or one with nothing to pool; the
        error names the file, the (1-based data) row and the column where it can.

    References
    ----------
    metafor 3.8: ``rma(yi, vi, data = escalc(measure, ...), method =, test =, level =)``,
    ``rma.mh()``, ``rma.peto()``.
    """
    path = Path(path)
    measure = measure.upper()
    method = method.upper()
    test = test.lower()
    if method not in POOLING_METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(POOLING_METHODS)}")
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; choose {', '.join(TESTS[:-1])} or {TESTS[-1]}")
    df = read_study_csv(path)
    if by is not None and by not in df.columns:
        raise InputError(f"no column {by!r} to group by", file=str(path), field=by)

    if method in ("MH", "PETO"):
        return _pool_mh(df, path, measure=measure, method=method, level=level, by=by)

    es = _effect_sizes(df, measure, path)
    es = _drop_uncomputable(es, path)
    if es.empty:
        raise InputError("no row has a computable effect size; nothing to pool", file=str(path))

    if by is None:
        from metareview.models import rma

        try:
            res = rma(
                es["yi"].to_numpy(float),
                es["vi"].to_numpy(float),
                method=method,
                test=test,
                level=level,
                measure=measure,
            )
        except InputError as exc:
            raise _in_file(exc, es, path, measure) from exc
        return PoolOutcome(_row_to_json(_result_fields(res), measure, method, test), res)

    from metareview.models import rma_batch

    try:
        table = rma_batch(es, by=by, method=method, test=test, level=level)
    except InputError as exc:
        raise _in_file(exc, es, path, measure) from exc
    return PoolOutcome(_table_to_json(table, by, measure, method, test))


def _in_file(exc: InputError, es: pd.DataFrame, path: Path, measure: str) -> InputError:
    """The model's error located in the file: its row (1-based over ``es``) as a file data row.

    For a measure other than GEN, ``yi`` and ``vi`` are computed by escalc, not columns of the
    file: the message says so instead of naming a column the file does not have.
    """
    row = exc.row
    if row is not None and 1 <= row <= len(es):
        position = es.index[row - 1]
        row = int(position) + 1 if isinstance(position, (int, np.integer)) else row
    if measure != "GEN" and exc.field in ("yi", "vi"):
        message = f"{exc.message}; escalc computed it for {measure} from this row's columns"
        return InputError(message, file=str(path), row=row)
    return InputError(exc.message, file=str(path), row=row, field=exc.field)


#: Where each numeric ``--json`` key comes from in a fitted model (metafor's names).
_FIELDS: dict[str, str] = {
    "estimate": "estimate", "se": "se", "ci_lower": "ci_lb", "ci_upper": "ci_ub",
    "pvalue": "pval", "tau2": "tau2", "tau2_ci_lower": "tau2_ci_lb",
    "tau2_ci_upper": "tau2_ci_ub", "I2": "I2", "H2": "H2", "Q": "QE", "Q_pvalue": "QEp",
    "pi_lower": "pi_lb", "pi_upper": "pi_ub",
}  # fmt: skip


def _table_to_json(
    table: pd.DataFrame, by: str, measure: str, method: str, test: str
) -> list[dict[str, Any]]:
    """``rma_batch``'s table as ``--json`` objects, converted column-wise (10,000 rows fast)."""
    values = np.column_stack(
        [table[f].to_numpy(float) if f in table else np.full(len(table), np.nan)
         for f in _FIELDS.values()]
    )  # fmt: skip
    cells = values.astype(object)
    cells[~np.isfinite(values)] = None
    ks = table["k"].astype(int).tolist()
    groups = [jsonable(g) for g in table[by].tolist()]
    fixed = {"measure": measure, "method": method, "test": test}
    out = []
    for k, group, row in zip(ks, groups, cells.tolist(), strict=True):
        item = {"k": k, **fixed, **dict(zip(_FIELDS, row, strict=True))}
        out.append({**{key: item[key] for key in JSON_KEYS}, "by": group})
    return out



def _result_fields(res: Any) -> dict[str, Any]:
    """A fitted model's reporting fields under metafor's names."""
    names = ("k", "beta", "se", "pval", "ci_lb", "ci_ub", "tau2", "tau2_ci_lb", "tau2_ci_ub",
             "I2", "H2", "QE", "QEp", "pi_lb", "pi_ub")  # fmt: skip
    return {name: getattr(res, name, None) for name in names}


def _pool_mh(
    df: pd.DataFrame, path: Path, *, measure: str, method: str, level: float, by: str | None
) -> PoolOutcome:
    """Mantel-Haenszel or Peto pooling of 2x2 tables (columns ai, bi, ci, di)."""
    from metareview.models.mh import rma_mh, rma_peto

    if method == "PETO":
        if measure not in ("OR", "PETO"):
            raise InputError(f"Peto's method pools odds ratios (measure PETO or OR), not {measure}")
        measure = "PETO"
    layouts = {
        "OR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
        "RR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
        "RD": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
        "PETO": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
        "IRR": (("x1i", "t1i", "x2i", "t2i"),),
        "IRD": (("x1i", "t1i", "x2i", "t2i"),),
    }
    if measure not in layouts:
        raise InputError(f"{method} pools OR, RR, RD (MH), IRR, IRD (MH) or PETO, not {measure}")
    columns = next((cols for cols in layouts[measure] if set(cols) <= set(df.columns)), None)
    if columns is None:
        wanted = " or ".join(", ".join(cols) for cols in layouts[measure])
        raise InputError(f"{method} with {measure} needs columns {wanted}", file=str(path))

    def fit(part: pd.DataFrame) -> tuple[dict[str, Any], Any]:
        cells = {c: part[c].to_numpy(float) for c in columns}
        res: Any
        try:
            if method == "MH":
                res = rma_mh(**cells, measure=measure, level=level)  # type: ignore[arg-type]
            else:
                res = rma_peto(**cells, level=level)  # type: ignore[arg-type]
        except InputError as exc:
            raise InputError(exc.message, file=str(path), row=exc.row, field=exc.field) from exc
        return _row_to_json(_result_fields(res), measure, method, "z"), res

    if by is None:
        item, res = fit(df)
        return PoolOutcome(item, res)
    out = []
    for group, part in df.groupby(by, sort=True):
        item, _ = fit(part)
        item["by"] = jsonable(group)
        out.append(item)
    return PoolOutcome(out)


def to_json(outcome: PoolOutcome) -> str:
    """``outcome.json`` as strict JSON text (``allow_nan=False``: missing values are null)."""
    return json.dumps(outcome.json, allow_nan=False)
