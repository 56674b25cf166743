"""metafor's ``anova.rma``: the likelihood-ratio comparison of two nested ``rma``/``rma_reg``
fits (``anova(full, reduced)``), and Wald-type tests of one ``rma_reg``/``rma_mv`` fit: of a subset
of its coefficients (``anova(res, btt=)``) and of linear combinations of them (``anova(res, X=)``).

>>> from metareview.models import anova, rma, rma_reg
>>> anova(rma_reg("yi", "vi", mods="ablat", data=dat, method="ML"),
...       rma("yi", "vi", data=dat, method="ML"))          # doctest: +SKIP

Each fit has ``parms = p + 1`` parameters (``p`` coefficients and tau^2; ``p`` for an EE model or
a fixed tau^2) and, with ``ll`` its log-likelihood at the estimates (restricted for REML,
:func:`~metareview.models.confint.loglik_tau2`, else ML), metafor's fit statistics
``dev = -2 (ll - sum log phi(0; v_i))`` (ML; ``-2 ll`` for REML), ``AIC = -2 ll + 2 parms``,
``BIC = -2 ll + parms log n`` and ``AICc = -2 ll + 2 parms n' / (n' - parms - 1)``,
``n = k`` (ML) or ``k - p`` (REML), ``n' = max(n, parms + 2)``. The fit with more parameters is
the full one; ``LRT = max(0, dev_reduced - dev_full)`` on ``parms_full - parms_reduced`` df, and
``R2 = 100 max(0, (tau2_r - tau2_f) / tau2_r)`` (0 when ``tau2_r = 0``; for EE models from the
residual variances of the weighted least-squares fits).

Warnings as metafor: an LRT of fits not estimated by ML/REML (or EE); REML fits with different
model matrices (their restricted likelihoods are not comparable); model matrices that are not
nested.

Wald-type tests (``b`` the coefficients, ``V = Var(b)`` the fit's ``vb``, already scaled by
Knapp-Hartung's ``s2w`` for ``test="knha"``):

* ``btt``: ``QM = (b_btt - rhs)' V_btt^-1 (b_btt - rhs)`` on ``m = |btt|`` df, chi-square; for a
  t-based fit (``test="t"``/``"knha"``) ``F = QM / m`` on ``(m, df2)`` with ``df2`` the fit's
  ``QMdf[1]``.
* ``X`` (``m x p``; ``p - 1`` columns when the model has an intercept, which is then prepended):
  ``Xb = X b - rhs``, ``se = sqrt(diag(X V X'))``, ``zval = Xb / se``, two-sided p from the normal
  or from t with each row's df (the fit's ``ddf``; for ``rma_mv`` with per-coefficient df the
  smallest over the row's nonzero coefficients); the omnibus ``QM = Xb' (X V X')^-1 Xb`` on ``m``
  df (``F = QM / m`` on ``(m, min ddf)``), only when ``X`` has full row rank (else NA).

Reference: metafor 3.8-1, ``anova.rma`` and ``print.anova.rma`` (help page and R source).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview._json import finite_or_none, jsonable
from metareview.errors import InputError, MetareviewWarning
from metareview.models._printer import (
    Block,
    Printable,
    Printed,
    Table,
    format_btt,
    moderators_test,
    num,
    pval,
    render_text,
    wald_field,
)
from metareview.models._refit import Model, model_of
from metareview.models.confint import loglik_tau2

__all__ = ["AnovaResult", "AnovaWaldListResult", "AnovaWaldResult", "AnovaXbResult", "anova",
           "p_adjust"]

_EE = ("EE", "FE")


@dataclass(frozen=True, eq=False)
class AnovaResult:
    """metafor's ``anova.rma`` (LRT) object: ``table`` (rows ``Full``, ``Reduced``; columns
    ``df, AIC, BIC, AICc, logLik, LRT, pval, QE, tau2``), ``LRT``, ``pval``, ``df`` (difference
    in parameters), ``R2`` (percent) and ``method`` (the full model's)."""

    table: pd.DataFrame
    LRT: float
    pval: float
    df: int
    R2: float
    method: str

    def summary(self, digits: int = 4) -> str:
        """The table as metafor prints it."""
        return (
            "\n"
            + self.table.to_string(float_format=lambda x: f"{x:.{digits}f}", na_rep="")
            + ("\n" if math.isnan(self.R2) else f"\n\nR^2: {self.R2:.{digits}f}%\n")
        )

    def __str__(self) -> str:
        return self.summary()


def _parms(m: Model) -> int:
    return m.p + (0 if m.method in _EE or m.tau2_fixed is not None else 1)


def _fit_stats(m: Model) -> dict[str, float]:
    reml = m.method == "REML"
    ll = loglik_tau2(m, 0.0 if m.method in _EE else m.tau2, "REML" if reml else "ML")
    parms = _parms(m)
    n = m.k - m.p if reml else m.k
    if reml:
        dev = -2.0 * ll
    elif m.k > m.p:
        dev = -2.0 * (ll - float(np.sum(-0.5 * np.log(2 * math.pi * m.v))))
    else:
        dev = 0.0
    n2 = max(n, parms + 2)
    return {
        "ll": ll,
        "dev": dev,
        "AIC": -2.0 * ll + 2.0 * parms,
        "BIC": -2.0 * ll + parms * math.log(n),
        "AICc": -2.0 * ll + 2.0 * parms * n2 / (n2 - parms - 1),
    }


def _rank(x: NDArray[np.float64]) -> int:
    return int(np.linalg.matrix_rank(x))


def _wls_sigma2(m: Model) -> float:
    """Residual variance of the weighted least-squares fit (weights ``1/v``), R's
    ``sigma(lm(y ~ X, weights = 1/v))^2``."""
    w = 1.0 / m.v
    xw = m.X * w[:, None]
    b = np.linalg.solve(m.X.T @ xw, xw.T @ m.y)
    return float(np.sum(w * (m.y - m.X @ b) ** 2)) / (m.k - m.p)


@dataclass(frozen=True, eq=False)
class AnovaWaldResult(Printed):
    """metafor's ``anova(res, btt=)`` object (``type="Wald.btt"``): the Wald-type test of the
    coefficients ``btt`` (0-based; metafor's are 1-based) against ``rhs``. ``QM`` is an F value
    with ``QMdf = (m, df2)`` when ``test`` is "t"/"knha", else chi-square with
    ``QMdf = (m, None)``; ``k``, ``p`` the fit's, ``m`` the number of coefficients tested."""

    QM: float
    QMdf: tuple[int, int | None]
    QMp: float
    btt: tuple[int, ...]
    rhs: tuple[float, ...]
    k: int
    p: int
    m: int
    test: str

    def summary(self, digits: int = 4) -> str:
        """The test as metafor's ``print.anova.rma`` shows it."""
        return render_text(self._printable(digits))

    def _printable(self, digits: int = 4) -> Printable:
        f_test = self.test in ("t", "knha")
        return Printable(["", *moderators_test(
            self.btt, self.QM, self.QMp, self.QMdf, f_test=f_test, digits=digits
        )])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-safe values (NaN -> None; ``btt`` 0-based)."""
        return {
            "type": "Wald.btt", "QM": finite_or_none(self.QM), "QMdf": list(self.QMdf),
            "QMp": finite_or_none(self.QMp), "btt": list(self.btt), "rhs": list(self.rhs),
            "k": self.k, "p": self.p, "m": self.m, "test": self.test,
        }  # fmt: skip


@dataclass(frozen=True, eq=False)
class AnovaXbResult(Printed):
    """metafor's ``anova(res, X=)`` object (``type="Wald.Xb"``): per row of ``X`` (``m x p``)
    the linear combination ``Xb = X b - rhs`` with ``se``, ``zval`` (a t value for "t"/"knha"),
    ``pval`` and ``ddf`` (None for z tests), its text ``hyp``; and the omnibus test of all rows
    ``QM``/``QMdf``/``QMp`` (F on ``(m, min ddf)`` for t-based fits; NaN and ``QMdf`` None when
    ``X`` is not of full row rank)."""

    X: NDArray[np.float64]
    rhs: NDArray[np.float64]
    Xb: NDArray[np.float64]
    se: NDArray[np.float64]
    zval: NDArray[np.float64]
    pval: NDArray[np.float64]
    ddf: tuple[int, ...] | None
    QM: float
    QMdf: tuple[int, int | None] | None
    QMp: float
    hyp: tuple[str, ...]
    k: int
    p: int
    m: int
    test: str
    adjust: str | None = None  # the rows' pval adjusted by p_adjust (the omnibus QMp is not)

    @property
    def table(self) -> pd.DataFrame:
        """One row per linear combination: ``hyp, estimate, se, zval`` (or ``tval`` and
        ``df``), ``pval``."""
        t_test = self.ddf is not None
        cols: dict[str, Any] = {"hyp": list(self.hyp), "estimate": self.Xb, "se": self.se,
                                "tval" if t_test else "zval": self.zval}
        if self.ddf is not None:
            cols["df"] = list(self.ddf)
        cols["pval"] = self.pval
        return pd.DataFrame(cols, index=pd.RangeIndex(1, self.m + 1))

    def summary(self, digits: int = 4) -> str:
        """The tests as metafor's ``print.anova.rma`` shows them."""
        return render_text(self._printable(digits))

    def _printable(self, digits: int = 4) -> Printable:
        one = self.m == 1
        names = ["", *(f"{i + 1}:" for i in range(self.m))]
        # metafor prints the hypotheses (a one-column data frame with an empty header) right
        # after the heading, and ends every line of both tables with a space
        hyp = Table([""], [[h] for h in self.hyp], row_names=names, end=" ").text()
        out: list[Block] = ["", ("Hypothesis:" if one else "Hypotheses:") + hyp[0], *hyp[1:]]
        t_test = self.ddf is not None
        header = ["estimate", "se", "tval" if t_test else "zval", *(["df"] if t_test else []),
                  "pval"]
        rows = []
        for j in range(self.m):
            row = [num(float(self.Xb[j]), digits), num(float(self.se[j]), digits),
                   num(float(self.zval[j]), digits)]
            if self.ddf is not None:
                row.append(f"{round(self.ddf[j], 2):g}")
            rows.append([*row, pval(float(self.pval[j]), digits)])
        out += ["", "Results:", Table(header, rows, row_names=names, end=" ", sep=" ")]
        if self.QMdf is not None and not math.isnan(self.QM):
            out += ["", "Test of Hypothesis:" if one else "Omnibus Test of Hypotheses:",
                    wald_field(self.QM, self.QMp, self.QMdf, f_test=t_test, digits=digits)]
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-safe values (NaN -> None)."""
        return {
            "type": "Wald.Xb", "X": jsonable(self.X), "rhs": jsonable(self.rhs),
            "Xb": jsonable(self.Xb), "se": jsonable(self.se), "zval": jsonable(self.zval),
            "pval": jsonable(self.pval), "ddf": None if self.ddf is None else list(self.ddf),
            "QM": finite_or_none(self.QM),
            "QMdf": None if self.QMdf is None else list(self.QMdf),
            "QMp": finite_or_none(self.QMp), "hyp": list(self.hyp), "k": self.k, "p": self.p,
            "m": self.m, "test": self.test, "adjust": self.adjust,
        }  # fmt: skip


#: R's ``p.adjust.methods``
P_ADJUST = ("holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "fdr", "none")


def p_adjust(p: Sequence[float] | NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """p-values adjusted for multiple testing, as R's ``p.adjust`` (``n`` the number of
    p-values, ``p_(i)`` the i-th smallest; each result capped at 1):

    * ``bonferroni``: ``n p``; ``holm`` (Holm 1979): ``max_{j<=i} (n - j + 1) p_(j)``;
    * ``hochberg`` (Hochberg 1988): ``min_{j>=i} (n - j + 1) p_(j)``;
    * ``BH``/``fdr`` (Benjamini & Hochberg 1995): ``min_{j>=i} n/j p_(j)``; ``BY`` (Benjamini
      & Yekutieli 2001): ``BH`` times ``sum_{j=1}^n 1/j``;
    * ``hommel`` (Hommel 1988, as computed by Wright 1992): for ``m = n, ..., 2`` the
      ``m``-subset bound ``c_m = min_{j=1..m} m p_(n-m+j) / j``; hypotheses ``i <= n-m+1`` get
      ``min(m p_(i), c_m)``, the others that of ``n-m+1``; the adjusted value is the largest
      over ``m`` (starting from ``c_n``), and at least ``p_(i)``;
    * ``none``: ``p``.
    NaN p-values are left out of ``n`` and stay NaN.
    """
    if method not in P_ADJUST:
        raise InputError(f"unknown adjust method {method!r}; use one of {', '.join(P_ADJUST)}"
                         " (as R's p.adjust)", field="adjust")
    pv = np.asarray(p, dtype=float)
    out = np.full(pv.shape, np.nan)
    ok = np.isfinite(pv)
    x = pv[ok]
    n = x.size
    if n == 0 or method == "none":
        out[ok] = x
        return out
    order = np.argsort(x, kind="stable")
    ps = x[order]
    rank = np.arange(1, n + 1, dtype=float)
    if method == "bonferroni":
        adj = n * ps
    elif method == "holm":
        adj = np.maximum.accumulate((n - rank + 1) * ps)
    elif method == "hochberg":
        adj = np.minimum.accumulate(((n - rank + 1) * ps)[::-1])[::-1]
    elif method in ("BH", "fdr", "BY"):
        scale = float(np.sum(1.0 / rank)) if method == "BY" else 1.0
        adj = np.minimum.accumulate((scale * n / rank * ps)[::-1])[::-1]
    else:  # hommel
        pa = np.full(n, float(np.min(n * ps / rank)))
        for m in range(n - 1, 1, -1):
            head = n - m + 1  # hypotheses 1..n-m+1 (0-based 0..head-1)
            c_m = float(np.min(m * ps[head:] / np.arange(2, m + 1)))
            q = np.empty(n)
            q[:head] = np.minimum(m * ps[:head], c_m)
            q[head:] = q[head - 1]
            pa = np.maximum(pa, q)
        adj = np.maximum(pa, ps)
    res = np.empty(n)
    res[order] = np.minimum(1.0, adj)
    out[ok] = res
    return out


def _adjust_method(adjust: str | bool | None) -> str | None:
    """metafor 4's ``adjust``: a ``p.adjust`` method (R's unique abbreviations accepted), or
    ``True`` for ``"bonferroni"`` (``False``: ``"none"``)."""
    if adjust is None:
        return None
    if isinstance(adjust, bool):
        return "bonferroni" if adjust else "none"
    hits = [m for m in P_ADJUST if m.startswith(str(adjust))]
    if str(adjust) in P_ADJUST:
        return str(adjust)
    if len(hits) != 1:
        raise InputError(f"unknown adjust method {adjust!r}; use one of {', '.join(P_ADJUST)}"
                         " (as R's p.adjust)", field="adjust")
    return hits[0]


@dataclass(frozen=True, eq=False)
class AnovaWaldListResult(Printed):
    """metafor's ``anova(res, btt=list(...))`` object (``list.anova.rma``): one
    :class:`AnovaWaldResult` per set in ``tests``, named by ``specs`` (the set as given: a
    name, or metafor's 1-based ``2:3``); with ``adjust`` their ``QMp`` are adjusted across the
    sets (:func:`p_adjust`) and ``QMp_raw`` keeps the unadjusted ones."""

    tests: tuple[AnovaWaldResult, ...]
    specs: tuple[str, ...]
    adjust: str | None
    QMp_raw: tuple[float, ...]

    @property
    def table(self) -> pd.DataFrame:
        """metafor's ``as.data.frame``: ``spec`` (dropped when every spec is a number),
        ``coefs``, ``QM, df`` (``Fval, df1, df2`` for t-based fits), ``pval``."""
        f_test = self.tests[0].test in ("t", "knha")
        cols: dict[str, Any] = {}
        if not all(sp[:1] in "123456789" and sp[:1] for sp in self.specs):
            cols["spec"] = list(self.specs)
        cols["coefs"] = [format_btt(t.btt) for t in self.tests]
        cols["Fval" if f_test else "QM"] = [t.QM for t in self.tests]
        cols["df1" if f_test else "df"] = [t.QMdf[0] for t in self.tests]
        if f_test:
            cols["df2"] = [t.QMdf[1] for t in self.tests]
        cols["pval"] = [t.QMp for t in self.tests]
        return pd.DataFrame(cols, index=pd.RangeIndex(1, len(self.tests) + 1))

    def summary(self, digits: int = 4) -> str:
        """The tests as metafor's ``print.list.anova.rma`` shows them."""
        return render_text(self._printable(digits))

    def _printable(self, digits: int = 4) -> Printable:
        tab = self.table
        rows: list[list[str | None]] = []
        for _, r in tab.iterrows():
            row: list[str | None] = []
            for c in tab.columns:
                v = r[c]
                if c in ("QM", "Fval"):
                    row.append(num(float(v), digits))
                elif c == "pval":
                    row.append(pval(float(v), digits))
                elif c in ("df", "df1", "df2"):
                    row.append("NA" if v is None else f"{round(float(v), 2):g}")
                else:
                    row.append(str(v))
            rows.append(row)
        names = ["", *(str(i) for i in tab.index)]
        return Printable(["", Table(list(tab.columns), rows, row_names=names, end=" ", sep=" "),
                          ""])

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-safe values (NaN -> None; ``btt`` 0-based)."""
        return {"type": "list.Wald.btt", "specs": list(self.specs), "adjust": self.adjust,
                "QMp_raw": [finite_or_none(x) for x in self.QMp_raw],
                "tests": [t.to_dict() for t in self.tests]}


def _coefs(result: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], tuple[str, ...]]:
    """``b``, ``Var(b)`` and the coefficient names of an ``rma_reg``/``rma_mv`` fit."""
    from metareview.models.multilevel import RMAMVResult
    from metareview.models.regression import RegResult

    if not isinstance(result, RegResult | RMAMVResult):
        raise InputError(
            "a Wald-type test (btt= or X=) needs an rma_reg or rma_mv result, not "
            f"{type(result).__name__}",
            field="result",
        )
    b = np.asarray(result.beta, dtype=float)
    return b, np.asarray(result.vb, dtype=float), tuple(result.coef_names)


def _coef_ddf(result: Any) -> tuple[int, ...] | None:
    """Per-coefficient t df of a t-based fit (None for z): ``rma_mv``'s ``ddf_coef``, else the
    fit's ``ddf`` for every coefficient."""
    if result.test not in ("t", "knha") or result.ddf is None:
        return None
    per = tuple(getattr(result, "ddf_coef", ()) or ())
    return per if per else (int(result.ddf),) * int(result.p)


def _rhs(rhs: Any, m: int, what: str) -> NDArray[np.float64]:
    """metafor's ``.expand1``: one value for every test, else exactly ``m`` values."""
    if rhs is None:
        return np.zeros(m)
    r = np.atleast_1d(np.asarray(rhs, dtype=float)).ravel()
    if r.size == 1:
        r = np.full(m, r[0])
    if r.size != m:
        raise InputError(
            f"length of rhs ({r.size}) does not match the number of {what} ({m})", field="rhs"
        )
    if not np.all(np.isfinite(r)):
        raise InputError("rhs must be finite numbers", field="rhs")
    return r


def _btt(btt: Any, names: tuple[str, ...], fixed: bool = False) -> tuple[int, ...]:
    """0-based indices, or one string matched against the coefficient names as metafor's
    ``.set.btt`` does (``grep(btt, colnames(X), fixed=fixed)``: a regular expression searched
    in each name, or with ``fixed`` a literal substring); every name it matches is tested."""
    p = len(names)
    items = [btt] if isinstance(btt, str | int | np.integer) else list(btt)
    strings = [b for b in items if isinstance(b, str)]
    if strings and len(strings) != len(items):
        raise InputError(
            f"btt mixes coefficient indices and names ({items!r}); give indices or one name "
            "pattern", field="btt")
    if len(strings) > 1:
        raise InputError(
            f"a btt set takes one name pattern, not {len(strings)} ({strings!r}): metafor "
            "tests each string of a vector separately (btt=[...] of strings here too); for "
            f"one test of all of them give one pattern such as {'|'.join(strings)!r}",
            field="btt")
    out: set[int] = set()
    for b in items:
        if isinstance(b, str):
            try:
                hits = [j for j, n in enumerate(names) if (b in n if fixed else re.search(b, n))]
            except re.error as exc:
                raise InputError(f"btt {b!r} is not a valid regular expression ({exc}); "
                                 "use fixed=True to match it literally", field="btt") from None
            if not hits:
                raise InputError(
                    f"cannot identify coefficient(s) corresponding to the btt string {b!r} "
                    f"(it matches none of the coefficients {', '.join(names)})", field="btt"
                )
            out.update(hits)
        else:
            j = int(b)
            if j < 0 or j >= p:
                raise InputError(f"btt must index the {p} coefficient(s) (0-based)", field="btt")
            out.add(j)
    if not out:
        raise InputError("btt selects no coefficient", field="btt")
    return tuple(sorted(out))


def _r_number(x: float) -> str:
    """A number as R's ``as.character`` writes it (15 significant digits, no trailing zeros)."""
    return f"{x:.15g}"


def _hypothesis(row: NDArray[np.float64], names: tuple[str, ...]) -> str:
    """One row of metafor's ``hyp``: ``c*name`` for every nonzero (4-decimal) coefficient, a
    unit coefficient written as the sign alone (``intrcpt + 10*ablat - year``). metafor removes
    every ``1*`` in the text, which also shortens ``11*x`` to ``1x``; here only whole unit
    coefficients are dropped."""
    terms = []
    for c, n in zip(np.round(row, 4), names, strict=True):
        if c == 0:
            continue
        text = {1.0: "", -1.0: "-"}.get(float(c), _r_number(float(c)) + "*")
        terms.append(text + n)
    return " + ".join(terms).replace("+ -", "- ")


def _wald_btt(result: Any, btt: Any, rhs: Any, fixed: bool = False) -> AnovaWaldResult:
    b, vb, names = _coefs(result)
    idx = tuple(result.btt) if btt is None else _btt(btt, names, fixed)
    m = len(idx)
    r = _rhs(rhs, m, "coefficients tested")
    d = b[list(idx)] - r
    try:
        low = np.linalg.cholesky(vb[np.ix_(idx, idx)])
        z = np.linalg.solve(low, d)
        qm = float(z @ z)
    except np.linalg.LinAlgError:
        qm = math.nan
    if result.test in ("t", "knha"):
        df2 = result.QMdf[1]
        qm = qm / m
        qmp = float(special.fdtrc(m, df2, qm)) if df2 is not None and df2 > 0 else math.nan
        qmdf: tuple[int, int | None] = (m, df2)
    else:
        qmp = float(special.chdtrc(m, qm))
        qmdf = (m, None)
    return AnovaWaldResult(
        QM=qm, QMdf=qmdf, QMp=qmp, btt=idx, rhs=tuple(float(x) for x in r), k=int(result.k),
        p=int(result.p), m=m, test=str(result.test),
    )  # fmt: skip


def _wald_xb(result: Any, X: Any, rhs: Any) -> AnovaXbResult:
    b, vb, names = _coefs(result)
    p = len(names)
    try:
        xm = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"X must be a numeric vector or matrix ({exc})", field="X") from None
    if xm.ndim == 1:
        xm = xm[None, :]
    if xm.ndim != 2 or xm.shape[0] == 0:
        raise InputError("X must be a numeric vector or matrix", field="X")
    if not np.all(np.isfinite(xm)):
        raise InputError("X must be finite numbers", field="X")
    if names and names[0] == "intrcpt" and xm.shape[1] == p - 1:
        xm = np.column_stack([np.ones(xm.shape[0]), xm])
    if xm.shape[1] != p:
        raise InputError(
            f"length or number of columns of X ({xm.shape[1]}) does not match the number of "
            f"model coefficients ({p})",
            field="X",
        )
    m = xm.shape[0]
    r = _rhs(rhs, m, "linear combinations")
    coef_ddf = _coef_ddf(result)
    ddf = None if coef_ddf is None else tuple(
        min(d for d, nz in zip(coef_ddf, row != 0, strict=True) if nz) if np.any(row != 0)
        else min(coef_ddf)
        for row in xm
    )  # fmt: skip
    xb = xm @ b - r
    vxb = xm @ vb @ xm.T
    se = np.sqrt(np.diag(vxb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = xb / se
    if ddf is None:
        pv = 2.0 * special.ndtr(-np.abs(zval))
    else:
        pv = np.array([
            2.0 * special.stdtr(d, -abs(z)) if d > 0 else math.nan
            for d, z in zip(ddf, zval, strict=True)
        ])  # fmt: skip
    qm, qmp = math.nan, math.nan
    qmdf: tuple[int, int | None] | None = None
    if np.linalg.matrix_rank(xm) == m:
        try:
            low = np.linalg.cholesky(vxb)
            z = np.linalg.solve(low, xb)
            qm = float(z @ z)
        except np.linalg.LinAlgError:
            qm = math.nan
        if ddf is None:
            qmdf = (m, None)
            qmp = float(special.chdtrc(m, qm))
        else:
            qm = qm / m
            qmdf = (m, min(ddf))
            qmp = float(special.fdtrc(m, min(ddf), qm)) if min(ddf) > 0 else math.nan
    if not np.any(r):
        right = "0"
    elif np.unique(r).size == 1:
        right = _r_number(round(float(r[0]), 4))
    else:
        right = None
    hyp = tuple(
        f"{_hypothesis(row, names)} = {right if right is not None else num(float(rj), 4)}"
        for row, rj in zip(xm, r, strict=True)
    )
    return AnovaXbResult(
        X=xm, rhs=r, Xb=xb, se=se, zval=zval, pval=np.asarray(pv, dtype=float), ddf=ddf,
        QM=qm, QMdf=qmdf, QMp=qmp, hyp=hyp, k=int(result.k), p=p, m=m, test=str(result.test),
    )  # fmt: skip


def _is_btt_list(btt: Any) -> bool:
    """``btt`` is a list of sets: a list/tuple with a list, tuple, range or array in it, or
    (metafor: ``if (is.character(btt) && length(btt) > 1L) btt <- as.list(btt)``) a list or
    tuple of two or more strings, each string a set."""
    if not isinstance(btt, list | tuple):
        return False
    if len(btt) > 1 and all(isinstance(b, str) for b in btt):
        return True
    return any(isinstance(b, list | tuple | range | np.ndarray) for b in btt)


def _wald_btt_list(result: Any, btt: Any, rhs: Any,
                   method: str | None, fixed: bool = False) -> AnovaWaldListResult:
    """One :func:`_wald_btt` per set of ``btt`` (metafor: ``lapply(btt, anova)``), its ``QMp``
    adjusted across the sets by ``method``."""
    if rhs is not None:
        raise InputError("rhs cannot be given with a list of btt sets (as metafor)",
                         field="rhs")
    if not btt:
        raise InputError("btt is an empty list", field="btt")
    names = _coefs(result)[2]
    tests, specs = [], []
    for b in btt:
        items = [b] if isinstance(b, str | int | np.integer) else list(b)
        if not items:
            raise InputError("btt holds an empty set", field="btt")
        tests.append(_wald_btt(result, items, None, fixed))
        if all(isinstance(v, str) for v in items):
            specs.append(",".join(str(v) for v in items))
        else:
            specs.append(format_btt(_btt(items, names, fixed)))
    raw = tuple(t.QMp for t in tests)
    if method is not None:
        adj = p_adjust(np.array(raw), method)
        tests = [dataclasses.replace(t, QMp=float(a)) for t, a in zip(tests, adj, strict=True)]
    return AnovaWaldListResult(tests=tuple(tests), specs=tuple(specs), adjust=method,
                               QMp_raw=raw)


def anova(
    result: Any,
    result2: Any = None,
    *,
    btt: int | str | Sequence[Any] | None = None,
    X: Any = None,
    rhs: float | Sequence[float] | None = None,
    adjust: str | bool | None = None,
    fixed: bool = False,
) -> AnovaResult | AnovaWaldResult | AnovaXbResult | AnovaWaldListResult:
    """metafor's ``anova.rma`` (formulas in the module docstring).

    * ``anova(full, reduced)``: compare two nested fits of the same data by a likelihood-ratio
      test (either order: the fit with more parameters is the full model) ->
      :class:`AnovaResult`.
    * ``anova(res, btt=...)``: Wald-type test of the coefficients ``btt`` (0-based indices, or
      names matched as regular expressions as metafor does; ``rhs`` the hypothesised values,
      default 0) of an ``rma_reg``/``rma_mv`` fit -> :class:`AnovaWaldResult`.
    * ``anova(res, X=...)``: the linear combinations ``X b`` (a vector or a matrix with one row
      per combination; without the intercept column when the model has one) tested against
      ``rhs`` -> :class:`AnovaXbResult`.
    * ``anova(res, btt=[[1, 2], [3]])``: ``btt`` a list of sets (an element a list, tuple or
      range of indices, or one name pattern; a single index or name is a set of one): one
      Wald-type test per set, as metafor's ``btt=list(...)`` -> :class:`AnovaWaldListResult`.
      A list of two or more strings, ``btt=["ablat", "year"]``, is such a list too (one test
      per string), as metafor turns a character vector ``btt=c("ablat", "year")`` into
      ``as.list(btt)``.

    A string in ``btt`` is metafor's ``grep(btt, colnames(X))``: a regular expression searched
    in each coefficient name (``"alloc"`` matches ``factor(alloc)random`` and
    ``factor(alloc)systematic``, tested together); ``fixed=True`` (metafor's ``fixed``
    argument) matches it as a literal substring. A string that matches no name is an
    InputError (metafor: "Cannot identify coefficient(s) corresponding to the specified 'btt'
    string."), as are indices and names mixed in one set.
    * ``anova(res)``: the fit's own omnibus test (its ``btt``).

    ``adjust`` (metafor >= 4.0's argument): a method of R's ``p.adjust`` (``"holm"``,
    ``"hochberg"``, ``"hommel"``, ``"bonferroni"``, ``"BH"``, ``"BY"``, ``"fdr"``, ``"none"``;
    unique abbreviations accepted; ``True`` is ``"bonferroni"``) for the p-values of the sets of
    a ``btt`` list or of the rows of ``X`` (:func:`p_adjust`).

    Raises
    ------
    InputError
        For the LRT: fits that are not ``rma``/``rma_reg`` results, have the same number of
        parameters, are of different data, compare an EE full model with a random-effects
        reduced one, or mix ML and REML. For the Wald tests: a fit that is not an
        ``rma_reg``/``rma_mv`` result, ``btt`` outside the coefficients, ``X`` of the wrong
        width or not numeric, ``rhs`` of the wrong length; ``btt`` and ``X`` together, or with
        ``result2``.
    """
    method = _adjust_method(adjust)
    if result2 is None:
        if btt is not None and X is not None:
            raise InputError("give btt or X, not both", field="X")
        if X is not None:
            xb = _wald_xb(result, X, rhs)
            if method is None:
                return xb
            return dataclasses.replace(xb, pval=p_adjust(xb.pval, method), adjust=method)
        if _is_btt_list(btt):
            return _wald_btt_list(result, btt, rhs, method, bool(fixed))
        return _wald_btt(result, btt, rhs, bool(fixed))
    if btt is not None or X is not None or rhs is not None or adjust is not None:
        raise InputError(
            "btt, X, rhs and adjust test one model; the likelihood-ratio test of two takes none",
            field="result2",
        )
    return _lrt(result, result2)


def _check_nested(method_f: str, method_r: str, x_f: NDArray[np.float64],
                  x_r: NDArray[np.float64], stacklevel: int) -> None:
    """metafor's checks of a full and a reduced model (``anova.rma``): ML against REML is an
    error; REML fits with different fixed effects and models whose design matrices do not
    nest get a warning."""
    if {method_f, method_r} == {"ML", "REML"}:
        raise InputError(f"mismatch between {method_f} and {method_r} estimation in the full "
                         "versus reduced model", field="method")
    same_x = x_f.shape == x_r.shape and np.array_equal(x_f, x_r)
    if method_f == "REML" and not same_x:
        warnings.warn("REML comparisons are not meaningful for models with different fixed "
                      "effects (fit both by ML)", MetareviewWarning, stacklevel=stacklevel)
    if not same_x and max(_rank(x_f), _rank(x_r)) != _rank(np.column_stack([x_f, x_r])):
        warnings.warn("the models being compared appear not to be nested", MetareviewWarning,
                      stacklevel=stacklevel)


def _lrt_mv(full: Any, reduced: Any) -> AnovaResult:
    """The likelihood-ratio test of two nested ``rma_mv`` fits, as metafor's ``anova.rma``:
    ``LRT = 2 (ll_full - ll_reduced)`` on ``parms_full - parms_reduced`` df, the fit statistics
    and QE of each; no R^2 (metafor gives it for ``rma.uni`` fits only)."""
    from metareview.models.multilevel import RMAMVResult

    if not isinstance(reduced, RMAMVResult):
        raise InputError("compare an rma_mv fit with another rma_mv fit", field="result2")
    f, r = (full, reduced) if full.parms > reduced.parms else (reduced, full)
    if f.parms == r.parms:
        raise InputError("the models have the same number of parameters", field="result2")
    if f.yi.shape != r.yi.shape or not np.array_equal(f.yi, r.yi):
        raise InputError("the full and reduced models are not fitted to the same yi",
                         field="result2")
    _check_nested(f.method, r.method, f.X, r.X, stacklevel=5)
    df = int(f.parms - r.parms)
    lrt = max(0.0, 2.0 * (f.logLik - r.logLik))
    pval = float(special.chdtrc(df, lrt))
    table = pd.DataFrame(
        {
            "df": [f.parms, r.parms], "AIC": [f.AIC, r.AIC], "BIC": [f.BIC, r.BIC],
            "AICc": [f.AICc, r.AICc], "logLik": [f.logLik, r.logLik],
            "LRT": [math.nan, lrt], "pval": [math.nan, pval], "QE": [f.QE, r.QE],
        },
        index=pd.Index(["Full", "Reduced"]),
    )
    return AnovaResult(table=table, LRT=lrt, pval=pval, df=df, R2=math.nan, method=f.method)


def _lrt(result: Any, result2: Any) -> AnovaResult:
    """The likelihood-ratio test of two nested fits (see :func:`anova`)."""
    from metareview.models.multilevel import RMAMVResult

    if isinstance(result, RMAMVResult):
        return _lrt_mv(result, result2)
    f, r = model_of(result), model_of(result2)
    res_f, res_r = result, result2
    if _parms(f) == _parms(r):
        raise InputError("the models have the same number of parameters", field="result2")
    if _parms(f) < _parms(r):
        f, r, res_f, res_r = r, f, res_r, res_f
    if f.y.shape != r.y.shape or not (np.array_equal(f.y, r.y) and np.array_equal(f.v, r.v)):
        raise InputError(
            "the full and reduced models are not fitted to the same yi and vi", field="result2"
        )
    if f.method in _EE and r.method not in _EE:
        raise InputError(
            "the full model is an equal-effects and the reduced a random-effects model",
            field="method",
        )
    ok = (*_EE, "ML", "REML")
    if f.method not in ok or r.method not in ok:
        warnings.warn("LRTs should be based on ML/REML estimation", MetareviewWarning, stacklevel=2)
    _check_nested(f.method, r.method, f.X, r.X, stacklevel=4)
    if f.method in _EE:
        s2f, s2r = _wls_sigma2(f), _wls_sigma2(r)
        r2 = 100.0 * max(0.0, (s2r - s2f) / s2r)
    elif r.tau2 == 0:
        r2 = 0.0
    else:
        r2 = 100.0 * max(0.0, (r.tau2 - f.tau2) / r.tau2)
    sf, sr = _fit_stats(f), _fit_stats(r)
    df = _parms(f) - _parms(r)
    lrt = max(0.0, sr["dev"] - sf["dev"])
    pval = float(special.chdtrc(df, lrt))
    qe = [float(getattr(x, "QE", math.nan)) for x in (res_f, res_r)]
    table = pd.DataFrame(
        {
            "df": [_parms(f), _parms(r)],
            "AIC": [sf["AIC"], sr["AIC"]],
            "BIC": [sf["BIC"], sr["BIC"]],
            "AICc": [sf["AICc"], sr["AICc"]],
            "logLik": [sf["ll"], sr["ll"]],
            "LRT": [math.nan, lrt],
            "pval": [math.nan, pval],
            "QE": qe,
            "tau2": [f.tau2, r.tau2],
        },
        index=pd.Index(["Full", "Reduced"]),
    )
    return AnovaResult(table=table, LRT=lrt, pval=pval, df=df, R2=r2, method=f.method)
