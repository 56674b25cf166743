"""``matreg()``: regression coefficients from a correlation or covariance matrix (metafor's
``matreg``), e.g. from the pooled correlations of a multivariate model (MASEM) or from the
``G`` matrix of a bivariate ``rma_mv`` fit (van Houwelingen et al. 2002).

>>> from metareview.models import matreg
>>> res = matreg(1, 0, R=fit.G, cov=True, means=fit.beta, V=fit.vvc)   # doctest: +SKIP

With outcome ``y`` and predictors ``x`` (``m`` of them) the standardised coefficients are
``b = R_xx^-1 R_xy`` (Cohen, Cohen, West & Aiken 2003, ch. 3). Their variance comes either

* from a sample size ``n`` (the matrix computed from raw data): ``Var(b) = (1 - R^2) /
  (n - m) R_xx^-1`` with ``R^2 = b'R_xy``, t-tests on ``n - m`` df and the omnibus
  ``F = (R^2/m) / ((1 - R^2)/(n - m))``; with ``cov=True`` the coefficients are unstandardised,
  ``b sd_y/sd_x``, with an intercept ``mean_y - mean_x'b`` and the OLS covariance
  ``sd_y^2 (n - 1)(1 - R^2)/(n - m - 1) [(n - 1) diag(0, S_xx) + n (1, mean_x)(1, mean_x)']^-1``
  on ``n - m - 1`` df, which is what ``lm`` gives on the raw data;
* or from ``V``, the covariance matrix of the elements of the lower triangle of ``R`` taken
  column by column (with the diagonal when ``cov=True``), by the delta method:
  ``Var(b) = A V A'`` with ``A = db/d vech(R)``, whose columns are ``-R_xx^-1 J_ij R_xx^-1 R_xy``
  for an element of ``R_xx`` (``J_ij`` the symmetric unit matrix of that pair) and
  ``R_xx^-1 e_i`` for the element ``R_{x_i y}`` (Becker 1992; Cheung 2015); Wald z-tests and
  ``QM = b'Var(b)^-1 b`` on ``m`` df (without the intercept when ``cov=True``).

``ztor=True``: ``R`` holds Fisher-z values and ``V`` their covariance; the correlations are
``tanh(z)`` and ``V`` becomes ``D V D`` with ``D = diag(1 - tanh(z)^2)``.

Differences from metafor 3.8.1: indices are 0-based (names may be used instead); with
``cov=True`` and ``V`` the covariances of the intercept with the slopes are ``-mean_x' Var(b)``
(metafor reports them with the opposite sign; the variances and every printed number agree).

References
----------
Becker, B. J. (1992). Using results from replicated studies to estimate linear models. Journal
    of Educational Statistics, 17(4), 341-362.
Cheung, M. W.-L. (2015). Meta-analysis: A structural equation modeling approach. Wiley.
van Houwelingen, H. C., Arends, L. R., & Stijnen, T. (2002). Advanced methods in
    meta-analysis: Multivariate approach and meta-regression. Statistics in Medicine, 21(4),
    589-624.
metafor's ``?matreg`` (metafor 3.8-1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview._json import finite_or_none, jsonable
from metareview.errors import InputError, MetareviewWarning
from metareview.models._core import alpha_from_level
from metareview.models._nearpd import nearpd as nearpd_fn
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Printable,
    Printed,
    Table,
    coefficient_header,
    coefficient_rows,
    render_text,
)
from metareview.models.rma import _readonly

__all__ = ["MatregResult", "matreg"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MatregResult(Printed):
    """metafor's ``matreg`` object: per coefficient ``beta, se, zval`` (a t value when
    ``test="t"``), ``pval, ci_lb, ci_ub`` and ``df`` (t only); ``vb`` is ``Var(b)``. ``R2`` is
    ``b'R_xy``; with ``n`` also ``R2adj`` and the omnibus ``F`` (``Fdf``, ``Fp``), with ``V``
    the omnibus ``QM`` (``QMdf``, ``QMp``). A coefficient that cannot be estimated (the
    intercept when ``cov=True`` is given no ``means``) is NaN (metafor's NA)."""

    coef_names: tuple[str, ...]
    beta: FloatArray = field(repr=False)
    se: FloatArray = field(repr=False)
    zval: FloatArray = field(repr=False)
    pval: FloatArray = field(repr=False)
    ci_lb: FloatArray = field(repr=False)
    ci_ub: FloatArray = field(repr=False)
    vb: FloatArray = field(repr=False)
    test: str
    df: float | None
    R2: float
    R2adj: float
    F: float
    Fdf: tuple[int, float] | None
    Fp: float
    QM: float
    QMdf: tuple[int, None] | None
    QMp: float
    level: float

    @property
    def coefficients(self) -> pd.DataFrame:
        """The table metafor prints (``tval`` and ``df`` for ``test="t"``)."""
        stat = "tval" if self.test == "t" else "zval"
        cols: dict[str, Any] = {"estimate": self.beta, "se": self.se, stat: self.zval}
        if self.df is not None:
            cols["df"] = np.full(len(self.coef_names), self.df)
        cols.update({"pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub})
        return pd.DataFrame(cols, index=pd.Index(self.coef_names, name="coef"))

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The result as metafor's ``print.matreg`` shows it."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        t_test = self.test == "t"
        header = coefficient_header(t_test=t_test, signif_stars=signif_stars)
        rows = coefficient_rows(
            self.beta, self.se, self.zval, self.pval, self.ci_lb, self.ci_ub, digits=digits,
            df=[f"{round(self.df, 2):g}"] * len(self.coef_names) if t_test and self.df is not None
            else None,
            signif_stars=signif_stars, no_star=" ",
        )  # fmt: skip
        names = [n + " " for n in ["", *self.coef_names]]
        out: list[Block] = ["", Table(header, rows, row_names=names, end=" ")]
        if signif_stars:
            out.append(SIGNIF_CODES)
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe values (NaN -> None); ``coefficients`` as a list of rows."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            out[name] = finite_or_none(val) if isinstance(val, float) else jsonable(val)
        out["coefficients"] = [
            {"name": n, "estimate": finite_or_none(b), "se": finite_or_none(s),
             "zval": finite_or_none(z), "pval": finite_or_none(pv),
             "ci_lb": finite_or_none(lo), "ci_ub": finite_or_none(hi)}
            for n, b, s, z, pv, lo, hi in zip(self.coef_names, self.beta, self.se, self.zval,
                                              self.pval, self.ci_lb, self.ci_ub, strict=True)
        ]
        return out


def _index(v: Any, names: Sequence[str] | None, p: int, what: str) -> int:
    """A 0-based index of ``R`` from an int or (with names) a name, matched as R's ``pmatch``
    (metafor's ``matreg``): an exact name, else the unique name starting with ``v``."""
    if isinstance(v, str):
        if names is None:
            raise InputError(f"{what} {v!r} is a name, but R has no names (give a DataFrame "
                             "or names=)", field=what)
        if len(set(names)) != len(names):
            raise InputError("the names of R must be unique", field="names")
        if v in names:
            return list(names).index(v)
        hits = [j for j, nm in enumerate(names) if v and nm.startswith(v)]
        if len(hits) != 1:
            how = "matches several variables" if hits else "matches no variable"
            raise InputError(f"could not find variable {v!r} in R: it {how} (names: "
                             f"{', '.join(names)})", field=what)
        return hits[0]
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise InputError(f"{what} must be a 0-based index or a name (got {v!r})", field=what)
    if not 0 <= int(v) < p:
        raise InputError(f"{what} index {v} outside 0..{p - 1} (0-based)", field=what)
    return int(v)


def _chol_inv(a: FloatArray, what: str) -> FloatArray:
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise InputError(f"cannot invert {what}: not positive definite", field="R") from None
    return np.asarray(np.linalg.inv(a), dtype=np.float64)


def matreg(
    y: int | str,
    x: int | str | Sequence[int | str] | None = None,
    *,
    R: Any,
    n: float | None = None,
    V: Any = None,
    cov: bool = False,
    means: Any = None,
    ztor: bool = False,
    names: Sequence[str] | None = None,
    level: float = 95.0,
    nearpd: bool = False,
) -> MatregResult:
    """Regress variable ``y`` on the variables ``x`` of a correlation (or, with ``cov=True``,
    covariance) matrix ``R``, as metafor's ``matreg`` (formulas in the module docstring).

    Parameters
    ----------
    y, x : int or str
        The outcome and the predictors: 0-based indices of ``R`` or its names (``x`` defaults
        to every other variable).
    R : array-like or DataFrame
        A ``p x p`` correlation or covariance matrix (its lower triangle is used; a
        DataFrame's columns, or ``names``, name the variables).
    n : float, optional
        The sample size the matrix was computed from (for the standard errors).
    V : array-like, optional
        Instead of ``n``: the covariance matrix of the lower-triangle elements of ``R``
        (column by column; with the diagonal when ``cov=True``), e.g. ``vb`` of the pooled
        correlations of an ``rma_mv`` fit or ``vvc`` of a ``cvvc="varcov"`` fit.
    cov : bool
        ``R`` is a covariance matrix: unstandardised coefficients with an intercept.
    means : array-like, optional
        With ``cov=True``: the means of the ``p`` variables (for the intercept).
    ztor : bool
        ``R`` and ``V`` are on Fisher's z scale.
    level : float
        Confidence level in percent.
    nearpd : bool
        metafor's ``nearpd``: when ``R[x, x]`` (the correlations of the predictors) is not
        positive definite, replace it by ``Matrix::nearPD(R[x, x], corr=TRUE)``
        (:func:`metareview.models._nearpd.nearpd`, Higham 2002) with a warning, as metafor
        3.8.1 does ("Treat results with caution": the repaired matrix lies on the boundary of
        the positive definite cone, its smallest eigenvalue about 1e-8 of the largest, so the
        coefficients along that direction are huge and unstable). Without it such an
        ``R[x, x]`` is an InputError.

    Names (``y``, ``x``) are matched as metafor's ``pmatch``: an exact name, else the one
    name that starts with the string given (an ambiguous or unknown prefix is an InputError).

    Returns
    -------
    MatregResult
    """
    if isinstance(R, pd.DataFrame):
        names = [str(c) for c in R.columns] if names is None else names
        R = R.to_numpy()
    rm = np.array(R, dtype=float)
    if rm.ndim != 2 or rm.shape[0] != rm.shape[1]:
        raise InputError("R must be a square matrix", field="R")
    p = rm.shape[0]
    if p < 2:
        raise InputError("R must be at least 2 x 2", field="R")
    if names is not None and len(names) != p:
        raise InputError(f"{len(names)} names for a {p} x {p} matrix", field="names")
    iu = np.triu_indices(p, 1)
    rm[iu] = rm.T[iu]  # the lower triangle is used, as metafor
    if not np.all(np.isfinite(rm)):
        raise InputError("R must hold finite numbers", field="R")
    yi = _index(y, names, p, "y")
    if x is None:
        xs = [j for j in range(p) if j != yi]
    else:
        xl = [x] if isinstance(x, int | str | np.integer) else list(x)
        xs = [_index(v, names, p, "x") for v in xl]
    if len(set(xs)) != len(xs):
        raise InputError("x must not repeat a variable", field="x")
    if yi in xs:
        raise InputError("y must not be one of x", field="x")
    if (V is None) == (n is None):
        raise InputError("give either n or V (not both)", field="V" if V is not None else "n")
    if cov and ztor:
        raise InputError("ztor=True needs correlations on the z scale, not cov=True",
                         field="ztor")
    m = len(xs)
    s = p * (p + 1) // 2 if cov else p * (p - 1) // 2
    vm: FloatArray | None = None
    if V is not None:
        vm = np.array(V, dtype=float)
        if vm.ndim != 2 or vm.shape != (s, s):
            raise InputError(f"V is {vm.shape} but R has {s} lower-triangle elements "
                             f"({s} x {s} expected)", field="V")
        ivu = np.triu_indices(s, 1)
        vm[ivu] = vm.T[ivu]
        if not np.all(np.isfinite(vm)):
            raise InputError("V must hold finite numbers", field="V")
    il = np.tril_indices(p, -1)
    if ztor:
        z = rm[il[0], il[1]]  # row-major here; reordered to column order below
        rm = np.tanh(rm)
        np.fill_diagonal(rm, 1.0)
        if vm is not None:
            order = np.lexsort((il[0], il[1]))  # R's lower.tri order: column by column
            d = np.diag(1.0 - np.tanh(z[order]) ** 2)
            vm = d @ vm @ d
    if cov:
        sd = np.sqrt(np.diag(rm))
        if not np.all(sd > 0):
            raise InputError("a covariance matrix needs positive variances", field="R")
        smat = rm
        rm = rm / np.outer(sd, sd)
        np.fill_diagonal(rm, 1.0)
        mv: FloatArray | None = None
        if means is not None:
            mv = np.asarray(means, dtype=float).ravel()
            if mv.size != p:
                raise InputError(f"means has {mv.size} values for {p} variables", field="means")
    else:
        if np.any(np.abs(rm) > 1):
            raise InputError("R must be a correlation matrix (values in [-1, 1]); "
                             "use cov=True for a covariance matrix", field="R")
        np.fill_diagonal(rm, 1.0)
    rxy = rm[xs, yi]
    rxx = rm[np.ix_(xs, xs)]
    try:
        inv = _chol_inv(rxx, "R[x, x]")
    except InputError:
        if not nearpd:
            raise
        warnings.warn("cannot invert R[x, x]: using nearPD() on it (as metafor's nearpd=TRUE); "
                      "treat the results with caution", MetareviewWarning, stacklevel=2)
        rxx = nearpd_fn(rxx, corr=True).mat
        try:
            inv = _chol_inv(rxx, "R[x, x] after nearPD()")
        except InputError:
            raise InputError("still cannot invert R[x, x] after nearPD()", field="R") from None
    b = inv @ rxy
    r2 = float(b @ rxy)
    base = [names[j] if names is not None else f"x{j}" for j in xs]
    alpha = alpha_from_level(level)
    f_val = f_p = r2adj = qm = qmp = math.nan
    fdf: tuple[int, float] | None = None
    qmdf: tuple[int, None] | None = None
    if n is not None:
        nn = float(n)
        df = nn - m - (1 if cov else 0)
        if not df > 0:
            raise InputError(f"n = {nn:g} is not larger than the {m + (1 if cov else 0)} "
                             "coefficient(s)", field="n")
        sse = 1.0 - r2
        mse = sse / df
        vb = mse * inv
        r2adj = 1.0 - (1.0 - r2) * (nn - 1.0) / df
        f_val = (r2 / m) / mse
        fdf = (m, df)
        f_p = float(special.fdtrc(m, df, f_val))
        if cov:
            sdy, sdx = sd[yi], sd[xs]
            b = b * sdy / sdx
            mx = mv[xs] if mv is not None else np.zeros(m)
            xtx = np.zeros((m + 1, m + 1))
            xtx[1:, 1:] = (nn - 1.0) * smat[np.ix_(xs, xs)]
            one = np.concatenate([[1.0], mx])
            xtx += nn * np.outer(one, one)
            vb = sdy ** 2 * (nn - 1.0) * (1.0 - r2) / df * _chol_inv(xtx, "X'X")
            b = np.concatenate([[mv[yi] - mx @ b if mv is not None else math.nan], b])
            if mv is None:
                vb[0, :] = vb[:, 0] = math.nan
            base = ["intrcpt", *base]
        se = np.sqrt(np.diag(vb))
        stat = b / se
        pv = 2.0 * special.stdtr(df, -np.abs(stat))
        crit = float(-special.stdtrit(df, alpha / 2.0))
        test, df_out = "t", df
    else:
        assert vm is not None
        if cov:
            sdx = sd[xs]
            b = b * sd[yi] / sdx
            rxy = smat[xs, yi]
            inv = inv / np.outer(sdx, sdx)  # (S_xx)^-1
        # u[i, j]: the position of R[i, j] in vech (R's lower.tri order, column by column)
        u = np.full((p, p), -1, dtype=np.int64)
        li, lj = np.tril_indices(p, 0 if cov else -1)
        order = np.lexsort((li, lj))
        u[li[order], lj[order]] = np.arange(s)
        u[lj[order], li[order]] = np.arange(s)
        a = np.zeros((m, s))
        for r_ in range(m):
            for c_ in range(r_, m):
                pos = u[xs[r_], xs[c_]]
                if pos < 0:  # the unit diagonal of a correlation matrix is not in vech
                    continue
                jm = np.zeros((m, m))
                jm[r_, c_] = jm[c_, r_] = 1.0
                a[:, pos] = -inv @ jm @ inv @ rxy
            a[:, u[xs[r_], yi]] = inv[:, r_]
        vb = a @ vm @ a.T
        if cov:
            mx = mv[xs] if mv is not None else np.zeros(m)
            b = np.concatenate([[mv[yi] - mx @ b if mv is not None else math.nan], b])
            xm = np.vstack([-mx[None, :], np.eye(m)])
            vb = xm @ vb @ xm.T
            if mv is None:
                vb[0, :] = vb[:, 0] = math.nan
            base = ["intrcpt", *base]
        se = np.sqrt(np.diag(vb))
        stat = b / se
        pv = 2.0 * special.ndtr(-np.abs(stat))
        crit = float(-special.ndtri(alpha / 2.0))
        sl = slice(1, None) if cov else slice(None)
        bs, vs = b[sl], vb[sl, sl]
        try:
            np.linalg.cholesky(vs)
            qm = float(bs @ np.linalg.solve(vs, bs))
            qmp = float(special.chdtrc(m, qm))
        except np.linalg.LinAlgError:
            qm = qmp = math.nan
        qmdf = (m, None)
        test, df_out = "z", None
    return MatregResult(
        coef_names=tuple(base), beta=_readonly(b), se=_readonly(se), zval=_readonly(stat),
        pval=_readonly(np.asarray(pv, dtype=float)), ci_lb=_readonly(b - crit * se),
        ci_ub=_readonly(b + crit * se), vb=_readonly(vb), test=test, df=df_out, R2=r2,
        R2adj=r2adj, F=f_val, Fdf=fdf, Fp=f_p, QM=qm, QMdf=qmdf, QMp=qmp,
        level=float(level) * 100.0 if float(level) < 1 else float(level),
    )
