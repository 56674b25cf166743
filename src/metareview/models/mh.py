"""Mantel-Haenszel (2x2 tables and incidence rates) and Peto equal-effects meta-analysis, as
metafor's ``rma.mh`` and ``rma.peto``.

Both methods pool the tables directly (no continuity correction is needed for the pooled
estimate); the heterogeneity statistics Q, I² and H² of ``rma_mh`` are computed, as metafor does,
on the study-level ``yi``/``vi`` of :func:`metareview.effects.escalc` (with ``add``/``to``/
``drop00`` applied) around the pooled estimate. ``rma_peto`` computes Q from the tables.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview._json import finite_or_none
from metareview.effects.escalc import _as_float, _resolve, escalc
from metareview.errors import InputError, MetareviewWarning
from metareview.models._printer import Block, Field, Printable, Printed, Table, num, pval

__all__ = ["MHResult", "rma_mh", "rma_peto"]

FloatArray = NDArray[np.float64]
_TO = ("only0", "all", "if0all", "none")


@dataclass(frozen=True, eq=False)
class MHResult(Printed):
    """Result of :func:`rma_mh` or :func:`rma_peto` (metafor's names; model scale).

    ``k`` counts the tables used (tables with missing cells are left out); ``k_yi`` the tables
    with a study-level ``yi``/``vi`` (the df of Q is ``k_yi - 1``). ``yi``, ``vi`` (NaN where a
    table has no study-level estimate, e.g. a double zero), ``weights`` (percent, metafor's
    ``weights()``: b c/N for OR, c n1/N for RR, n1 n2/N for RD, V for Peto) and ``slab`` are
    aligned with the ``k`` tables used. For the MH odds ratio:
    ``CO``/``COp`` Cochran's test, ``MH``/``MHp`` the Cochran-Mantel-Haenszel test (continuity
    corrected when ``correct``), ``BD``/``BDp`` the Breslow-Day test and ``TA``/``TAp`` Tarone's
    adjusted Breslow-Day test, on ``k_pos - 1`` df; NaN where they do not apply.
    """

    k: int
    k_yi: int
    k_pos: int | None
    measure: str
    method: str
    level: float
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    QE: float
    QEp: float
    I2: float
    H2: float
    CO: float
    COp: float
    MH: float
    MHp: float
    BD: float
    BDp: float
    TA: float
    TAp: float
    yi: FloatArray
    vi: FloatArray
    weights: FloatArray
    slab: tuple[str, ...]
    test: str = "z"
    tau2: float = 0.0

    @property
    def estimate(self) -> float:
        """The pooled estimate (``beta``) on the model scale (log scale for OR, RR, PETO)."""
        return self.beta

    def predict(self, transf: Callable[[Any], Any] | None = None) -> dict[str, float]:
        """Pooled estimate and CI, optionally back-transformed (e.g. ``np.exp``); as tau² = 0,
        the prediction interval equals the confidence interval."""
        values = {"pred": self.beta, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}
        if transf is not None:
            values = {key: float(transf(v)) for key, v in values.items()}
        values["pi_lb"], values["pi_ub"] = values["ci_lb"], values["ci_ub"]
        return values

    def summary(self) -> str:
        """The text metafor's ``print()`` shows for ``rma.mh``/``rma.peto`` objects."""
        return super().summary()

    def _printable(self) -> Printable:
        """metafor's ``print.rma.mh`` / ``print.rma.peto`` (digits = 4): heterogeneity, the
        model results (log and exponentiated scale for ratios), the CMH/Tarone or MH tests."""
        out: list[Block] = ["", f"Equal-Effects Model (k = {self.k})", ""]
        if not math.isnan(self.I2):
            out.append(Field(
                "I^2 (total heterogeneity / total variability):  ", f"{num(self.I2, 2)}%"
            ))
        if not math.isnan(self.H2):
            out.append(Field("H^2 (total variability / sampling variability): ", num(self.H2, 2)))
        if not math.isnan(self.QE):
            df = (self.k_pos or 0) - 1 if self.method == "PETO" else max(self.k_yi - 1, 0)
            out += ["", "Test for Heterogeneity: "]
            out.append(
                Field(f"Q(df = {df}) = ", f"{num(self.QE)}, p-val {pval(self.QEp, 4, True)}")
            )
        if not (math.isnan(self.I2) and math.isnan(self.H2) and math.isnan(self.QE)):
            out.append("")
        main = Table(
            ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"],
            [[num(self.beta), num(self.se), num(self.zval), pval(self.pval), num(self.ci_lb),
              num(self.ci_ub)]],
            end=" ",
        )
        if self.measure not in ("OR", "RR", "IRR", "PETO"):
            out += ["Model Results:", "", main, ""]
            return Printable(out)
        scale = "OR" if self.measure == "PETO" else self.measure
        expd = Table(
            ["estimate", "ci.lb", "ci.ub"],
            [[num(math.exp(self.beta)), num(math.exp(self.ci_lb)), num(math.exp(self.ci_ub))]],
            end=" ",
        )
        out += ["Model Results (log scale):", "", main, ""]
        out += [f"Model Results ({scale} scale):", "", expd]
        none = "test value not computable for these data"
        if self.measure == "OR" and self.method == "MH":
            mh = None if math.isnan(self.MH) else num(self.MH)
            ta = None if math.isnan(self.TA) else num(self.TA)
            width = 1 if mh is None and ta is None else max(len(mh or "NA"), len(ta or "NA"))
            k_pos = self.k_pos or 0
            out.append("")
            out.append(Field(
                "Cochran-Mantel-Haenszel Test:    ",
                none if mh is None else (
                    f"CMH = {mh.rjust(width)}, df = 1,{' ' * (len(str(k_pos)) - 1)} p-val "
                    f"{pval(self.MHp, 4, True, add0=True)}"
                ),
            ))
            out.append(Field(
                "Tarone's Test for Heterogeneity: ",
                none if ta is None else (
                    f"X^2 = {ta.rjust(width)}, df = {k_pos - 1}, p-val "
                    f"{pval(self.TAp, 4, True, add0=True)}"
                ),
            ))
        if self.measure == "IRR":
            mh_text = none if math.isnan(self.MH) else (
                f"MH = {num(self.MH)}, df = 1, p-val {pval(self.MHp, 4, True)}"
            )
            out += ["", Field("Mantel-Haenszel Test: ", mh_text)]
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN becomes None; arrays become lists)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, np.ndarray):
                out[key] = [finite_or_none(v) for v in value.tolist()]
            elif isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, float):
                out[key] = finite_or_none(value)
            else:
                out[key] = value
        return out


def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's one-or-two-values arguments: a scalar x means (x, second)."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise InputError(
                f"{name} takes one value or two (for yi/vi and for the tables)", field=name
            )
        return value[0], value[1]
    return value, second


def _add_to(cells: list[FloatArray], add: float, to: str) -> list[FloatArray]:
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    id0 = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        id0 |= c == 0
    if to == "if0all":
        return [c + add for c in cells] if id0.any() else cells
    return [np.where(id0, c + add, c) for c in cells]


@dataclass
class _Prepared:
    #: the cells pooled (ai bi ci di, or x1i x2i t1i t2i), of the k tables used
    cells: dict[str, FloatArray]
    yi: FloatArray
    vi: FloatArray
    k: int
    slab: tuple[str, ...]
    #: study-level yi/vi of the tables used (NaN where not computable), for display
    yi_tables: FloatArray
    vi_tables: FloatArray


_TABLE = ("ai", "bi", "ci", "di", "n1i", "n2i")
_RATES = ("x1i", "x2i", "t1i", "t2i")


def _warn_missing(missing: NDArray[np.bool_]) -> None:
    """Say which tables with a missing count are left out (metafor: "Tables with NAs omitted
    from model fitting.")."""
    if missing.any():
        rows = ", ".join(str(int(r) + 1) for r in np.flatnonzero(missing)[:10])
        more = " ..." if int(missing.sum()) > 10 else ""
        warnings.warn(
            f"{int(missing.sum())} table(s) with missing counts left out: row(s) {rows}{more}",
            MetareviewWarning,
            stacklevel=4,
        )


def _prepare(
    measure: str,
    columns: dict[str, Any],
    data: pd.DataFrame | None,
    add: Any,
    to: Any,
    drop00: Any,
    slab: Any,
) -> _Prepared:
    """Shared steps of rma.mh and rma.peto: yi/vi via escalc, then the tables to pool."""
    add1, add2 = _pair(add, 0.0, "add")
    to1, to2 = _pair(to, "none", "to")
    drop1, drop2 = _pair(drop00, False, "drop00")
    for value in (to1, to2):
        if value not in _TO:
            raise InputError(f"unknown to={value!r}; use one of {', '.join(_TO)}", field="to")
    rates = measure in ("IRR", "IRD")
    names = _RATES if rates else _TABLE
    columns = {name: arg for name, arg in columns.items() if arg is not None and name in names}
    dat = escalc(measure, data, add=float(add1), to=to1, drop00=bool(drop1), slab=slab, **columns)
    k_all = len(dat)
    values: dict[str, FloatArray] = {}
    for name in names:
        arg = columns.get(name)
        if arg is None and data is not None and name in data.columns:
            arg = name
        if arg is not None:
            raw, label = _resolve(name, arg, data)
            values[name] = _as_float(raw, label, k_all)
    if rates:
        x1, x2, t1, t2 = (values[name] for name in _RATES)
        _warn_missing(np.isnan(x1) | np.isnan(x2) | np.isnan(t1) | np.isnan(t2))
        if drop2:
            id00 = (x1 == 0) & (x2 == 0)
            x1, x2 = (np.where(id00, np.nan, x) for x in (x1, x2))
        keep = ~(np.isnan(x1) | np.isnan(x2) | np.isnan(t1) | np.isnan(t2))
        x1, x2 = _add_to([x1[keep], x2[keep]], float(add2), to2)
        cells = {"x1i": x1, "x2i": x2, "t1i": t1[keep], "t2i": t2[keep]}
    else:
        a, c = values["ai"], values["ci"]
        b = values.get("bi")
        d = values.get("di")
        if b is None:
            b = values["n1i"] - a
        elif "n1i" in values:
            b = np.where(np.isnan(b), values["n1i"] - a, b)
        if d is None:
            d = values["n2i"] - c
        elif "n2i" in values:
            d = np.where(np.isnan(d), values["n2i"] - c, d)
        _warn_missing(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
        if drop2:
            id00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
            a, b, c, d = (np.where(id00, np.nan, x) for x in (a, b, c, d))
        keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
        a, b, c, d = _add_to([a[keep], b[keep], c[keep], d[keep]], float(add2), to2)
        cells = {"ai": a, "bi": b, "ci": c, "di": d}
    if not keep.any():
        raise InputError("no table without missing cells: nothing to pool (k = 0)")
    rows = np.flatnonzero(keep)
    for name, cell in cells.items():
        big = np.flatnonzero(np.abs(cell) > _MAX_CELL)
        if big.size:
            # products and squares of such counts overflow double precision in the MH sums
            raise InputError(
                f"count or time above {_MAX_CELL:g} cannot be pooled exactly in double "
                "precision; rescale (e.g. person-time in thousands)",
                row=int(rows[big[0]]) + 1, field=name,
            )
    yi = dat["yi"].to_numpy(dtype=float)
    vi = dat["vi"].to_numpy(dtype=float)
    ok = ~(np.isnan(yi) | np.isnan(vi))
    labels = np.asarray(dat.attrs.get("slab") or [str(i + 1) for i in range(k_all)], dtype=object)
    return _Prepared(
        cells,
        yi[ok],
        vi[ok],
        int(keep.sum()),
        tuple(str(x) for x in labels[keep]),
        yi[keep],
        vi[keep],
    )


def _percent(w: FloatArray) -> FloatArray:
    total = float(np.sum(w))
    with np.errstate(all="ignore"):
        return np.asarray(w / total * 100, dtype=float)


def _z_interval(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    """z value, two-sided p-value and Wald CI (metafor: level in percent)."""
    crit = float(-special.ndtri((1 - level / 100) / 2))
    b, s = np.float64(beta), np.float64(se)
    with np.errstate(all="ignore"):
        zval = float(b / s)
        pval = float(2 * special.ndtr(-(abs(zval))))
        return zval, pval, float(b - crit * s), float(b + crit * s)


def _heterogeneity(yi: FloatArray, vi: FloatArray, beta: float) -> tuple[float, ...]:
    """metafor's Q, p, I² and H² of rma.mh: Q = sum((yi - beta)^2 / vi) on k_yi - 1 df."""
    k = yi.size
    if k <= 1:
        return 0.0, 1.0, 0.0, 1.0
    with np.errstate(all="ignore"):
        qe = np.maximum(0.0, np.sum((yi - beta) ** 2 / vi))
        qep = special.chdtrc(k - 1, qe)
        i2 = np.maximum(0.0, 100 * (qe - (k - 1)) / qe)
        h2 = qe / (k - 1)
    return float(qe), float(qep), float(i2), float(h2)


def _check_level(level: float) -> float:
    level = float(level)
    if level > 1 and not 0 < level < 100:
        raise InputError(f"level must be between 0 and 100 (got {level})", field="level")
    return level * 100 if level <= 1 else level


#: Largest cell count or person-time accepted (integers are exact in double precision below
#: 2^53 ~ 9e15; beyond 1e15 the Mantel-Haenszel sums of products lose every digit or overflow).
_MAX_CELL = 1e15


def _undefined(p: _Prepared, measure: str) -> str:
    """Why a Mantel-Haenszel estimate is undefined for these tables (for the error message)."""
    c = p.cells
    if measure in ("IRR", "IRD"):
        if not np.any(c["x1i"] > 0) and not np.any(c["x2i"] > 0):
            return "no events in either group of any study (all x1i = x2i = 0)"
        return "no events in one group of every study (all x1i = 0 or all x2i = 0)"
    a, b, cc, d = c["ai"], c["bi"], c["ci"], c["di"]
    if not np.any(a > 0) and not np.any(cc > 0):
        return "no events in either group of any study (all ai = ci = 0)"
    if not np.any(b > 0) and not np.any(d > 0):
        return "no non-events in either group of any study (all bi = di = 0)"
    if measure == "OR":
        if not np.any((a > 0) & (d > 0)):
            return "no study has both ai > 0 and di > 0 (sum ai di / ni = 0)"
        return "no study has both bi > 0 and ci > 0 (sum bi ci / ni = 0)"
    if measure == "RR":
        return "no events in one group of every study (all ai = 0 or all ci = 0)"
    return "the tables carry no information on the risk difference (its variance is 0)"


def _tables(p: _Prepared) -> tuple[FloatArray, ...]:
    """Cells a, b, c, d of the pooled tables and n1 = a + b, n2 = c + d, N = n1 + n2."""
    a, b, c, d = (p.cells[name] for name in ("ai", "bi", "ci", "di"))
    n1, n2 = a + b, c + d
    return a, b, c, d, n1, n2, n1 + n2


def _result(
    p: _Prepared,
    *,
    measure: str,
    method: str,
    level: float,
    beta: float,
    se: float,
    heterogeneity: tuple[float, ...],
    weights: FloatArray,
    k_pos: int | None = None,
    co: float = math.nan,
    cop: float = math.nan,
    mh: float = math.nan,
    mhp: float = math.nan,
    bd: float = math.nan,
    bdp: float = math.nan,
    ta: float = math.nan,
    tap: float = math.nan,
) -> MHResult:
    """The :class:`MHResult` of a pooled ``beta``/``se``: its Wald test and CI (NaN when
    ``beta`` is), ``heterogeneity`` as (Q, p, I², H²), ``weights`` in percent; the tests not
    given are NaN."""
    if not (math.isfinite(beta) and math.isfinite(se) and se > 0):
        # metafor returns NA here (rma.mh sets beta, se, zval to NA); a silent NA is no result,
        # so the reason is an error (the CLI prints it on one line, exit 2)
        raise InputError(
            f"the {method} estimate of the {measure} cannot be computed: {_undefined(p, measure)}",
            field="ai" if measure not in ("IRR", "IRD") else "x1i",
        )
    zval, pval, ci_lb, ci_ub = _z_interval(beta, se, level)
    qe, qep, i2, h2 = heterogeneity
    return MHResult(
        k=p.k,
        k_yi=int(p.yi.size),
        k_pos=k_pos,
        measure=measure,
        method=method,
        level=level,
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        QE=qe,
        QEp=qep,
        I2=i2,
        H2=h2,
        CO=co,
        COp=cop,
        MH=mh,
        MHp=mhp,
        BD=bd,
        BDp=bdp,
        TA=ta,
        TAp=tap,
        yi=p.yi_tables,
        vi=p.vi_tables,
        weights=_percent(weights),
        slab=p.slab,
    )


def rma_mh(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    data: pd.DataFrame | None = None,
    measure: str = "OR",
    level: float = 95,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    correct: bool = True,
    slab: Any = None,
) -> MHResult:
    """Mantel-Haenszel equal-effects meta-analysis of 2x2 tables or of incidence rates
    (metafor's ``rma.mh``).

    With cells a, b, c, d, group sizes n1 = a + b, n2 = c + d and N = n1 + n2 per table:

    * OR: psi = sum(a d / N) / sum(b c / N) (Mantel & Haenszel 1959, J Natl Cancer Inst
      22:719); the variance of log psi is the Robins-Breslow-Greenland estimator
      (Robins, Breslow & Greenland 1986, Biometrics 42:311):
      1/2 [sum(P R)/R^2 + sum(P S + Q R)/(R S) + sum(Q S)/S^2] with P = (a + d)/N,
      Q = (b + c)/N, R = a d/N, S = b c/N (sums R, S over tables).
    * RR: sum(a n2/N) / sum(c n1/N), variance of the log from Greenland & Robins (1985,
      Biometrics 41:55): sum(n1 n2 (a + c)/N^2 - a c/N) / (R S).
    * RD: sum(a n2/N - c n1/N) / sum(n1 n2/N), with the variance metafor uses (Sato, Greenland
      & Robins 1989, Biometrics 45:1323), valid for sparse and for large tables.
    * IRR (events x over person-time t, T = t1 + t2): sum(x1 t2/T) / sum(x2 t1/T), variance of
      the log sum(t1 t2 (x1 + x2)/T^2) / (R S) (Greenland & Robins 1985), with the
      Mantel-Haenszel test ``MH`` of no effect.
    * IRD: sum((x1 t2 - x2 t1)/T) / sum(t1 t2/T), SE = sqrt(sum((t1 t2/T)^2 (x1/t1^2 +
      x2/t2^2))) / sum(t1 t2/T).

    For the odds ratio also the Cochran-Mantel-Haenszel test (``MH``, continuity corrected when
    ``correct``), Cochran's test (``CO``), the Breslow-Day test of homogeneity (``BD``; Breslow &
    Day 1980, IARC Sci Publ 32) and Tarone's correction of it (``TA``; Tarone 1985, Biometrika
    72:91), as metafor. The pooled estimate uses the tables as they are (the second values of
    ``add``/``to``/``drop00``, by default 0, "none", False); Q, I² and H² use the study-level
    ``yi``/``vi`` from :func:`~metareview.effects.escalc` with the first values (default 1/2,
    "only0", True).

    Parameters
    ----------
    ai, bi, ci, di
        Cells (column names of ``data`` or sequences); ``n1i``/``n2i`` may replace ``bi``/``di``.
    x1i, t1i, x2i, t2i
        Events and person-times of the two groups (measures IRR and IRD).
    measure
        "OR", "RR", "RD", "IRR" or "IRD".
    level
        Confidence level in percent.
    add, to, drop00
        One value (for yi/vi) or two (for yi/vi and for the pooled tables), as metafor.
    correct
        Continuity correction of the CMH test.
    slab
        Study labels.

    Returns
    -------
    MHResult

    Raises
    ------
    InputError
        Bad cells (see :func:`~metareview.effects.escalc`), an unknown measure or no usable table.
    """
    measure = str(measure).upper()
    if measure not in ("OR", "RR", "RD", "IRR", "IRD"):
        raise InputError(
            f"Mantel-Haenszel method needs measure OR, RR, RD, IRR or IRD (got {measure!r})",
            field="measure",
        )
    level = _check_level(level)
    columns = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}
    columns.update({"x1i": x1i, "x2i": x2i, "t1i": t1i, "t2i": t2i})
    p = _prepare(measure, columns, data, add, to, drop00, slab)
    if measure in ("IRR", "IRD"):
        return _mh_rates(p, measure, level, correct)
    a, b, c, d, n1, n2, n = _tables(p)
    nan = math.nan
    co = cop = mh = mhp = bd = bdp = ta = tap = nan
    k_pos: int | None = None
    with np.errstate(all="ignore"):
        if measure == "OR":
            pi_, qi = a / n + d / n, b / n + c / n
            ri, si = (a / n) * d, (b / n) * c
            r, s = np.sum(ri), np.sum(si)
            if r == 0 or s == 0:
                beta = se = nan
                psi = nan
            else:
                psi = float(r / s)
                beta = float(np.log(psi))
                se = float(
                    np.sqrt(
                        0.5
                        * (
                            np.sum(pi_ * ri) / r**2
                            + np.sum(pi_ * si + qi * ri) / (r * s)
                            + np.sum(qi * si) / s**2
                        )
                    )
                )
            xt, yt = a + c, b + d
            if xt.sum() != 0 and yt.sum() != 0:
                cc = 0.5 if correct else 0.0
                dev = (np.abs(np.sum(a - (n1 / n) * xt)) - cc) ** 2
                co = float(dev / np.sum((n1 / n) * (n2 / n) * (xt * (yt / n))))
                cop = float(special.chdtrc(1, co))
                mh = float(dev / np.sum((n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))))
                mhp = float(special.chdtrc(1, mh))
            if math.isnan(beta):
                k_pos = 0
            else:
                if psi == 1:
                    n11 = (n1 / n) * xt
                else:
                    aa = psi * (n1 + xt) + (n2 - xt)
                    bb = np.sqrt(aa**2 - 4 * n1 * xt * psi * (psi - 1))
                    n11 = (aa - bb) / (2 * (psi - 1))
                pos = (n11 > 0) & (xt > 0) & (yt > 0)
                k_pos = int(pos.sum())
                e11 = n11[pos]
                e12 = n1[pos] - e11
                e21 = xt[pos] - e11
                e22 = e11 - n1[pos] - xt[pos] + n[pos]
                inv = 1 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
                bd = float(np.maximum(0.0, np.sum((a[pos] - e11) ** 2 / inv)))
                ta = float(np.maximum(0.0, bd - np.sum(a[pos] - e11) ** 2 / np.sum(inv)))
                if k_pos > 1:
                    bdp = float(special.chdtrc(k_pos - 1, bd))
                    tap = float(special.chdtrc(k_pos - 1, ta))
        elif measure == "RR":
            r = np.sum(a * (n2 / n))
            s = np.sum(c * (n1 / n))
            if a.sum() == 0 or c.sum() == 0:
                beta = se = nan
            else:
                beta = float(np.log(np.float64(r) / s))
                se = float(np.sqrt(np.sum((n1 / n) * (n2 / n) * (a + c) - (a / n) * c) / (r * s)))
        else:  # RD
            w = np.sum(n1 * (n2 / n))
            b_rd = np.sum(a * (n2 / n) - c * (n1 / n)) / w
            beta = float(b_rd)
            se = float(
                np.sqrt(
                    (
                        b_rd
                        * np.sum(
                            c * (n1 / n) ** 2
                            - a * (n2 / n) ** 2
                            + (n1 / n) * (n2 / n) * (n2 - n1) / 2
                        )
                        + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2
                    )
                    / w**2
                )
            )
    with np.errstate(all="ignore"):
        if measure == "OR":
            weights = (b / n) * c
        elif measure == "RR":
            weights = (c / n) * n1
        else:
            weights = (n1 / n) * n2
    return _result(
        p,
        measure=measure,
        method="MH",
        level=level,
        beta=beta,
        se=se,
        heterogeneity=_heterogeneity(p.yi, p.vi, beta),
        weights=weights,
        k_pos=k_pos,
        co=co,
        cop=cop,
        mh=mh,
        mhp=mhp,
        bd=bd,
        bdp=bdp,
        ta=ta,
        tap=tap,
    )


def rma_peto(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    level: float = 95,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    slab: Any = None,
) -> MHResult:
    """Peto's one-step equal-effects odds ratio of 2x2 tables (metafor's ``rma.peto``).

    With O = a, E = (a + c) n1 / N and V = (a + c)(b + d) n1 n2 / (N^2 (N - 1)) per table:
    log OR = sum(O - E) / sum(V), SE = 1/sqrt(sum(V)) (Yusuf, Peto, Lewis, Collins & Sleight 1985,
    Prog Cardiovasc Dis 27(5):335); heterogeneity Q = sum((O - E)^2 / V) - sum(O - E)^2 / sum(V)
    over tables with V > 0, its p-value on ``k_yi - 1`` df (metafor).

    Parameters are as :func:`rma_mh` (``add``/``to``/``drop00`` act on the study-level yi/vi
    only, unless given as pairs).

    Raises
    ------
    InputError
        Bad cells, no usable table, or no table with both outcomes (sum V = 0).
    """
    level = _check_level(level)
    columns = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}
    p = _prepare("PETO", columns, data, add, to, drop00, slab)
    a, b, c, d, n1, n2, n = _tables(p)
    xt, yt = a + c, b + d
    with np.errstate(all="ignore"):
        ei = xt * n1 / n
        vi = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
    weights = np.nan_to_num(vi, nan=0.0)
    sum_v = float(np.nansum(vi))
    if sum_v == 0:
        raise InputError(
            "one of the two outcomes never occurred in any table: Peto's method cannot be used"
        )
    with np.errstate(all="ignore"):
        beta = float(np.sum(a - ei) / sum_v)
        se = float(np.sqrt(1 / np.float64(sum_v)))
        pos = vi > 0
        k_pos = int(pos.sum())
        qe_raw = np.sum((a[pos] - ei[pos]) ** 2 / vi[pos]) - np.sum(a - ei) ** 2 / np.sum(vi[pos])
        qe = float(np.maximum(0.0, qe_raw))
        if k_pos > 1:
            df = np.float64(p.yi.size - 1)
            qep = float(special.chdtrc(df, qe))
            i2 = float(np.maximum(0.0, 100 * (qe - df) / np.float64(qe)))
            h2 = float(qe / df)
        else:
            qep, i2, h2 = 1.0, 0.0, 1.0
    return _result(
        p,
        measure="PETO",
        method="PETO",
        level=level,
        beta=beta,
        se=se,
        heterogeneity=(qe, qep, i2, h2),
        weights=weights,
        k_pos=k_pos,
    )


def _mh_rates(p: _Prepared, measure: str, level: float, correct: bool) -> MHResult:
    """The IRR/IRD part of rma.mh (metafor's formulas)."""
    x1, x2, t1, t2 = (p.cells[name] for name in ("x1i", "x2i", "t1i", "t2i"))
    tt = t1 + t2
    nan = math.nan
    mh = mhp = nan
    with np.errstate(all="ignore"):
        if measure == "IRR":
            r, s = np.sum(x1 * (t2 / tt)), np.sum(x2 * (t1 / tt))
            if x1.sum() == 0 or x2.sum() == 0:
                beta = se = nan
            else:
                beta = float(np.log(r / s))
                se = float(np.sqrt(np.sum((t1 / tt) * (t2 / tt) * (x1 + x2)) / (r * s)))
            xt = x1 + x2
            if xt.sum() != 0:
                cc = 0.5 if correct else 0.0
                dev = (np.abs(np.sum(x1 - xt * (t1 / tt))) - cc) ** 2
                mh = float(dev / np.sum(xt * (t1 / tt) * (t2 / tt)))
                mhp = float(special.chdtrc(1, mh))
            weights = (x2 / tt) * t1
        else:
            w = np.sum((t1 / tt) * t2)
            beta = float(np.sum((x1 * t2 - x2 * t1) / tt) / w)
            se = float(np.sqrt(np.sum(((t1 / tt) * t2) ** 2 * (x1 / t1**2 + x2 / t2**2))) / w)
            weights = (t1 / tt) * t2
    return _result(
        p,
        measure=measure,
        method="MH",
        level=level,
        beta=beta,
        se=se,
        heterogeneity=_heterogeneity(p.yi, p.vi, beta),
        weights=weights,
        mh=mh,
        mhp=mhp,
    )
