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

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metareview._json import dumps, jsonable
from metareview.errors import InputError, MetareviewWarning
from metareview.models.methods import POOLING_METHODS, TESTS

if TYPE_CHECKING:  # pandas is imported where used: the lean CSV path of the CLI never needs it
    import pandas as pd

__all__ = [
    "ESCALC_COLUMNS", "JSON_KEYS", "STUDY_KEYS", "TRANSFS", "PoolOutcome", "pool_file",
    "read_study_csv", "to_json", "to_json_bytes",
]  # fmt: skip

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

#: The keys of each per-study row (``"studies"`` in the ``--json`` of one analysis): the data row
#: (1-based), its label, the effect size and sampling variance, its weight in the model (percent,
#: metafor's ``weights()``) and its own confidence interval ``yi -/+ z_(1-alpha/2) sqrt(vi)``
#: (metafor's ``summary.escalc()`` / ``forest()``).
STUDY_KEYS: tuple[str, ...] = ("row", "study", "yi", "vi", "weight", "ci_lb", "ci_ub")

#: ``--transf`` choices: ``none`` (the model scale), ``auto`` (the measure's back-transformation:
#: exp for ratio measures and log rates/means, inverse logit for PLO, tanh for ZCOR, ...), or a
#: named function (metafor's ``transf.*``).
TRANSFS: tuple[str, ...] = ("none", "auto", "exp", "ilogit", "ztor", "iarcsin")


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise InputError("is a folder, not a CSV file", file=str(path))
    if not path.is_file():
        raise InputError("no such file", file=str(path))


def read_study_csv(path: str | Path) -> pd.DataFrame:
    """Read a study-level CSV; numeric metafor columns must hold numbers or be empty.

    Raises
    ------
    InputError
        The file is missing or unreadable, has no data rows, or a numeric column holds text
        (the error names the first offending row, 1-based over data rows, and the column).
    """
    import pandas as pd

    path = Path(path)
    _check_file(path)
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
        added. ``--json`` prints the dict, or (``by``) ``{"analyses": [...], "test_between":
        {...}}`` (:func:`to_json`).
    model : RMAResult or MHResult or None
        The fitted model when there is one analysis (None with ``by``).
    test_between : dict or None
        With ``by``: the test for subgroup differences (``Q``, ``df``, ``pvalue``; see
        :func:`test_between`), None when fewer than two groups have an estimate.
    """

    json: dict[str, Any] | list[dict[str, Any]]
    model: Any = None
    test_between: dict[str, Any] | None = None

    def to_json(self) -> str:
        """:attr:`json` as JSON text (strict: no NaN), as ``metareview pool --json`` prints it."""
        return to_json(self)

    def to_json_bytes(self) -> bytes:
        """:meth:`to_json` as UTF-8 bytes (what ``metareview pool --json`` writes)."""
        return to_json_bytes(self)


def pool_file(
    path: str | Path,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    by: str | None = None,
    transf: str = "none",
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
        A column: pool each of its values apart, and test the subgroup differences
        (:func:`test_between`).
    transf : str, default "none"
        :data:`TRANSFS`: also report the estimate, CI and prediction interval back-transformed
        (``"transformed"`` in the JSON; metafor's ``predict(res, transf=)``); ``auto`` uses the
        measure's back-transformation (exp for OR, RR, IRR, ...; none for MD, SMD, RD, ...).

    Returns
    -------
    PoolOutcome
        The JSON form (:data:`JSON_KEYS`; for one analysis also ``"studies"``, one object per
        study with :data:`STUDY_KEYS`) and, for one analysis, the fitted model.

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
    back = transf_function(transf, measure)
    if by is not None and method not in ("MH", "PETO") and measure == "GEN":
        lean = _pool_lean(path, method=method, test=test, level=level, by=by)
        if lean is not None:
            return _with_transf(lean, transf, back)
    df = read_study_csv(path)
    if by is not None and by not in df.columns:
        raise InputError(f"no column {by!r} to group by", file=str(path), field=by)

    if method in ("MH", "PETO"):
        outcome = _pool_mh(df, path, measure=measure, method=method, level=level, by=by)
        return _with_transf(outcome, transf, back)

    es = _effect_sizes(df, measure, path)
    es = _drop_uncomputable(es, path)
    if es.empty:
        raise InputError("no row has a computable effect size; nothing to pool", file=str(path))

    if by is None:
        from metareview.models import rma

        labels = _labels(df, es.index)
        try:
            res = rma(
                es["yi"].to_numpy(float),
                es["vi"].to_numpy(float),
                method=method,
                test=test,
                level=level,
                measure=measure,
                slab=labels,
            )
        except InputError as exc:
            raise _in_file(exc, es, path, measure) from exc
        item = _row_to_json(_result_fields(res), measure, method, test)
        item["studies"] = _study_rows(res, [int(i) + 1 for i in es.index], level)
        return _with_transf(PoolOutcome(item, res), transf, back)

    from metareview.models import rma_batch

    try:
        table = rma_batch(es, by=by, method=method, test=test, level=level)
    except InputError as exc:
        raise _in_file(exc, es, path, measure) from exc
    items = _table_to_json(table, by, measure, method, test)
    return _with_transf(PoolOutcome(items, test_between=test_between(items)), transf, back)


#: The named back-transformations of ``--transf`` (metafor's ``transf.exp.int``, ...).
def _named_transf(name: str) -> Callable[..., Any]:
    from metareview.effects import transforms

    return {
        "exp": transforms.transf_exp,
        "ilogit": transforms.transf_ilogit,
        "ztor": transforms.transf_ztor,
        "iarcsin": transforms.transf_iarcsin,
    }[name]


def transf_function(transf: str, measure: str) -> Callable[..., Any] | None:
    """The function ``--transf`` names (None for ``none``, and for ``auto`` with a measure on
    its display scale); an unknown name is an InputError."""
    name = str(transf).lower()
    if name not in TRANSFS:
        raise InputError(f"unknown transf {transf!r}; choose {', '.join(TRANSFS)}", field="transf")
    if name == "none":
        return None
    if name == "auto":
        from metareview.effects.measures import find_measure

        info = find_measure("PETO" if measure == "PETO" else measure)
        if info is None or info.back_transform is None:
            return None
        if info.needs_ni:
            raise InputError(
                f"the back-transformation of {measure} needs the sample sizes; pick one of "
                "exp, ilogit, ztor, iarcsin",
                field="transf",
            )
        return info.back_transform
    return _named_transf(name)


def _with_transf(
    outcome: PoolOutcome, transf: str, back: Callable[..., Any] | None
) -> PoolOutcome:
    """Add ``"transf"`` and the back-transformed estimate/CI/PI (``"transformed"``) to each
    analysis of ``outcome`` (metafor's ``predict(res, transf=)``): nothing when ``back`` is
    None."""
    if back is None:
        return outcome
    items = [outcome.json] if isinstance(outcome.json, dict) else outcome.json
    keys = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
    for item in items:
        vals = np.array([np.nan if item[k] is None else item[k] for k in keys], dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(back(vals), dtype=float)
        item["transf"] = str(transf).lower()
        item["transformed"] = {
            k: (float(x) if math.isfinite(x) else None) for k, x in zip(keys, out, strict=True)
        }
    return outcome


def _labels(df: pd.DataFrame, index: Any) -> list[str] | None:
    """Study labels from a ``slab`` or ``study`` column, if the file has one."""
    for col in ("slab", "study"):
        if col in df.columns:
            return [str(x) for x in df.loc[index, col].tolist()]
    return None


def _study_rows(res: Any, rows: list[int] | None, level: float) -> list[dict[str, Any]]:
    """Per-study ``--json`` rows (:data:`STUDY_KEYS`) of a fitted model; ``rows`` are the file's
    data rows of its studies (None when they cannot be told)."""
    from metareview.models._dist import norm_ppf

    yi = np.asarray(res.yi, dtype=float)
    vi = np.asarray(res.vi, dtype=float)
    crit = -norm_ppf((1.0 - level / 100.0) / 2.0)
    half = crit * np.sqrt(vi)
    weights = np.asarray(res.weights, dtype=float)
    slab = list(res.slab)
    out = []
    for i in range(yi.size):
        out.append({
            "row": None if rows is None or len(rows) != yi.size else rows[i],
            "study": slab[i] if i < len(slab) else str(i + 1),
            "yi": jsonable(yi[i]),
            "vi": jsonable(vi[i]),
            "weight": jsonable(weights[i]),
            "ci_lb": jsonable(yi[i] - half[i]),
            "ci_ub": jsonable(yi[i] + half[i]),
        })  # fmt: skip
    return out


def test_between(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The test for subgroup differences of ``--by`` (separate tau^2 per group).

    ``Q_b = sum_j (mu_j - mu_bar)^2 / SE_j^2`` with ``mu_bar = sum(mu_j/SE_j^2)/sum(1/SE_j^2)``
    over the groups with an estimate, chi-square with ``G - 1`` df (Borenstein et al. 2009,
    ch. 19); equal to metafor's ``rma(estimate, sei = se, mods = ~ group, method = "FE")$QM``
    and to :func:`metareview.models.subgroup`'s ``Q_between``. None for fewer than two groups.
    """
    est = np.array([np.nan if i["estimate"] is None else i["estimate"] for i in items], float)
    se = np.array([np.nan if i["se"] is None else i["se"] for i in items], float)
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    if ok.sum() < 2:
        return None
    w = 1.0 / se[ok] ** 2
    mu = float(np.sum(w * est[ok]) / np.sum(w))
    q = float(np.sum(w * (est[ok] - mu) ** 2))
    df = int(ok.sum()) - 1
    from metareview.models._dist import chi2_sf

    return {"Q": q, "df": df, "pvalue": float(chi2_sf(df, q)), "groups": int(ok.sum())}


def _pool_lean(
    path: Path, *, method: str, test: str, level: float, by: str
) -> PoolOutcome | None:
    """``--by`` with ``yi``/``vi`` (or ``sei``) columns, without pandas: the CLI's fast path.

    A file of plain numbers is parsed as one JSON array by orjson (:func:`_json_number_rows`),
    any other by NumPy's C parser; any irregularity (a missing or non-numeric cell, a
    quoted field, a missing group) returns None and the caller takes the full path, which
    reads the file with pandas and reports the problem located in the file. The fit is the
    same batch core as :func:`metareview.models.rma_batch` (same chunks, same numbers).
    """
    import csv

    _check_file(path)
    groups: Any
    try:
        head, _, body = path.read_bytes().partition(b"\n")
        header = next(csv.reader([head.decode("utf-8")]), None)
        names = [h.strip() for h in header or ()]
        if len(set(names)) != len(names) or by not in names or "yi" not in names:
            return None
        var = "vi" if "vi" in names else "sei" if "sei" in names else None
        if var is None:
            return None
        cols = [names.index("yi"), names.index(var), names.index(by)]
        num = _json_number_rows(body, len(names))
        if num is not None:  # every cell a plain number (the common case): one fast pass
            num = num[:, cols]
            groups = num[:, 2]
        else:
            text = body.decode("utf-8")  # parsed from memory, not the path: no gzip etc. imports
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:  # a numeric group column
                    num = np.loadtxt(io.StringIO(text), delimiter=",", usecols=cols, ndmin=2,
                                     dtype=float)  # fmt: skip
                    groups = num[:, 2]
                except ValueError:  # text groups: the numbers, then the group column
                    num = np.loadtxt(io.StringIO(text), delimiter=",", usecols=cols[:2],
                                     ndmin=2, dtype=float)  # fmt: skip
                    raw = np.loadtxt(io.StringIO(text), delimiter=",", usecols=[cols[2]],
                                     dtype=str, ndmin=1, quotechar='"')  # fmt: skip
                    groups = np.char.strip(raw.astype(str))
                    if (groups == "").any():
                        return None
    except (ValueError, UserWarning, OSError, UnicodeDecodeError, csv.Error):
        return None
    y, v = num[:, 0], num[:, 1]
    if var == "sei":
        v = v**2
    if not (np.isfinite(y).all() and np.isfinite(v).all() and (v > 0).all()):
        return None
    if groups.size != y.size or (groups.dtype.kind == "f" and not np.isfinite(groups).all()):
        return None
    keys, codes, as_json = _group_keys(groups)
    from metareview.models._core import fit_padded
    from metareview.models.batch import CHUNK_GROUPS, pad_groups

    mask, (yy, vv) = pad_groups(codes, len(keys), y, v)
    k = mask.sum(axis=1)
    if np.any(k == 1):
        warnings.warn(
            f"{int((k == 1).sum())} group(s) with k = 1 fitted with tau^2 = 0 and a z test "
            "(as metafor)",
            MetareviewWarning,
            stacklevel=3,
        )
    parts = []
    for a in range(0, len(keys), CHUNK_GROUPS):
        sl = slice(a, a + CHUNK_GROUPS)
        try:
            parts.append(fit_padded(yy[sl], vv[sl], mask[sl], method=method, test=test,
                                    level=level, labels=[f"{by}={g!r}" for g in as_json[sl]]))
        except InputError:  # pragma: no cover - the data were checked above
            return None
    fields = {
        f: np.concatenate([getattr(p, "beta" if f == "estimate" else f) for p in parts])
        for f in _FIELDS.values()
    }
    items = _columns_to_json(k, fields, as_json, "GEN", method, test)
    return PoolOutcome(items, test_between=test_between(items))


#: The bytes a row of plain decimal numbers is made of (digits, sign, point, exponent, comma,
#: blank, line ends): anything else in a file sends :func:`_json_number_rows` to NumPy's parser.
_NUMBER_BYTES = b"0123456789+-.eE, \t\r\n"


def _json_number_rows(body: bytes, ncol: int) -> Any:
    """The data rows of a CSV whose every cell is a JSON number, as a float array, or None.

    Rows of JSON numbers (RFC 8259 section 6) separated by commas are, once each line end is a
    comma too, one JSON array: orjson parses it about three times faster than ``np.loadtxt``
    (10,000 analyses, 163,954 rows: 0.037 s against 0.100 s of CPU) with the same correctly
    rounded doubles (``tests/review/test_pool_read.py``). Returns None, so that the caller
    reads the file with NumPy's parser, when any byte is not one of :data:`_NUMBER_BYTES`
    (a quoted or text cell, ``nan``, a comment), when a line does not hold exactly ``ncol``
    cells (a blank line, a short or long row), or when a cell is not a JSON number (an empty
    cell, ``.5``, ``+1``, ``1.``).
    """
    import orjson

    text = body.rstrip(b"\r\n")
    if not text or ncol < 1:
        return None
    if text.translate(None, _NUMBER_BYTES):  # a byte that is not one of them
        return None
    buf = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    commas = np.flatnonzero(buf == 44)
    rows = ends.size + 1
    per_row = np.diff(np.searchsorted(commas, np.append(ends, buf.size)), prepend=0)
    if per_row.size != rows or np.any(per_row != ncol - 1):
        return None
    try:
        values = orjson.loads(b"[" + text.replace(b"\n", b",") + b"]")
        out = np.array(values, dtype=float)
    except (orjson.JSONDecodeError, ValueError, TypeError, OverflowError):
        return None
    if out.size != rows * ncol:  # pragma: no cover - guaranteed by the comma count
        return None
    return out.reshape(rows, ncol)


def _group_keys(groups: Any) -> tuple[list[Any], Any, list[Any]]:
    """Sorted distinct groups, each row's group code, and the groups as JSON values: numbers
    sort and print as numbers (integers as int), as pandas' ``groupby`` of a numeric column."""
    if groups.dtype.kind != "f":
        try:
            groups = groups.astype(float)
        except ValueError:
            keys, codes = np.unique(groups, return_inverse=True)
            return list(keys), codes, [str(x) for x in keys]
    keys, codes = np.unique(groups, return_inverse=True)
    if np.all(keys == np.round(keys)) and np.all(np.abs(keys) < 2**53):
        return list(keys), codes, [int(x) for x in keys]
    return list(keys), codes, [float(x) for x in keys]


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
    columns = {
        f: table[f].to_numpy(float) if f in table else np.full(len(table), np.nan)
        for f in _FIELDS.values()
    }
    groups = [jsonable(g) for g in table[by].tolist()]
    return _columns_to_json(table["k"].to_numpy(), columns, groups, measure, method, test)


def _columns_to_json(
    k: Any, columns: dict[str, Any], groups: list[Any], measure: str, method: str, test: str
) -> list[dict[str, Any]]:
    """One ``--json`` object per group from result columns under metafor's names."""
    lists: dict[str, list[Any]] = {
        "k": np.asarray(k).astype(int).tolist(),
        "measure": [measure] * len(groups),
        "method": [method] * len(groups),
        "test": [test] * len(groups),
    }
    for key, name in _FIELDS.items():
        col = np.asarray(columns[name], dtype=float)
        cells = col.tolist()
        bad = np.flatnonzero(~np.isfinite(col))
        for i in bad.tolist():
            cells[i] = None
        lists[key] = cells
    lists["by"] = list(groups)
    keys = (*JSON_KEYS, "by")
    rows = zip(*(lists[c] for c in keys), strict=True)
    return [dict(zip(keys, row, strict=True)) for row in rows]



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
        rows = list(range(1, len(df) + 1)) if len(res.yi) == len(df) else None
        item["studies"] = _study_rows(res, rows, level)
        return PoolOutcome(item, res)
    out = []
    for group, part in df.groupby(by, sort=True):
        item, _ = fit(part)
        item["by"] = jsonable(group)
        out.append(item)
    return PoolOutcome(out, test_between=test_between(out))


def to_json(outcome: PoolOutcome) -> str:
    """``metareview pool --json``: strict JSON text (missing values are null). One analysis:
    ``outcome.json``. With ``by``: ``{"analyses": outcome.json, "test_between":
    outcome.test_between}``, the test for subgroup differences (``Q``, ``df``, ``pvalue``,
    ``groups``; null for fewer than two groups with an estimate) beside the groups, as the
    table's last line prints it. Written by :func:`metareview._json.dumps` (orjson: compact,
    each number the shortest text of the same double)."""
    return to_json_bytes(outcome).decode("utf-8")


def to_json_bytes(outcome: PoolOutcome) -> bytes:
    """:func:`to_json` as UTF-8 bytes, as ``metareview pool --json`` writes them."""
    if isinstance(outcome.json, list):
        return dumps({"analyses": outcome.json, "test_between": outcome.test_between})
    return dumps(outcome.json)
