"""``rma_reg()``: meta-regression (the mixed-effects model with moderators, metafor's ``rma.uni``
with ``mods``).

>>> from metareview.models import rma_reg
>>> res = rma_reg("yi", "vi", mods="ablat + year", data=dat)   # doctest: +SKIP
>>> print(res)                                                  # doctest: +SKIP

The model is ``y = X beta + u + e`` with ``u ~ N(0, tau^2 I)`` (residual heterogeneity) and
``e ~ N(0, diag(v))``. Every estimator of tau^2 here is metafor's general-``X`` formula; the
intercept-only model is the special case ``X = 1`` and then equals :func:`metareview.models.rma`
(asserted by the tests). The amount of heterogeneity accounted for (pseudo R^2) needs the
intercept-only fit, which comes from the batch core :func:`metareview.models._core.fit_padded`.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48 (section 3.3; ``rma.uni`` source, metafor 3.8-1).
Raudenbush, S. W. (2009). Analyzing effect sizes: Random-effects models. In H. Cooper,
    L. V. Hedges, & J. C. Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis
    (2nd ed., pp. 295-315). Russell Sage Foundation.
Knapp, G., & Hartung, J. (2003). Improved tests for a random effects meta-regression with a
    single covariate. Statistics in Medicine, 22(17), 2693-2710.
Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be undertaken
    and interpreted? Statistics in Medicine, 21(11), 1559-1573.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from metareview._json import finite_or_none, jsonable
from metareview.errors import ConvergenceError, ConvergenceWarning, InputError, MetareviewWarning
from metareview.models._core import (
    Control,
    alpha_from_level,
    fit_padded,
    make_control,
    normalise_method,
    normalise_test,
)
from metareview.models._input import (
    NaAction,
    as_float,
    clean_yi_vi,
    default_measure,
    effect_columns,
    frame_args,
    study_labels,
)
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Field,
    Printable,
    Printed,
    Table,
    coefficient_header,
    coefficient_rows,
    moderators_test,
    num,
    pval,
    render_text,
    tau2_fields,
)
from metareview.models.estimators import (
    EXTRA_METHODS,
    check_weights,
    extra_method,
    extra_se_tau2,
    extra_tau2,
    weighted_coefficients,
)
from metareview.models.rma import _opt, _readonly

__all__ = ["RegResult", "model_matrix", "rma_reg"]

FloatArray = NDArray[np.float64]
#: Moderators: a formula such as ``"ablat + factor(alloc)"``, column names of ``data``, a
#: DataFrame, or a numeric array (one column per moderator).
Mods = str | Sequence[str] | pd.DataFrame | ArrayLike

_EPS = float(np.finfo(float).eps)
#: metafor's ``evtol``: the model matrix is rank deficient when an eigenvalue of X'X is below it.
_EVTOL = 1e-7
#: Largest moderator value (absolute) accepted: products in X'WX must stay finite.
_MAX_MOD = 1e100
_FACTOR_TERM = re.compile(r"^factor\(\s*([^()]+?)\s*\)$")


# --------------------------------------------------------------------------- design matrix


def _level_text(x: object) -> str:
    """A factor level as R prints it (``2`` not ``2.0``; ``TRUE``/``FALSE``)."""
    if isinstance(x, bool | np.bool_):
        return "TRUE" if x else "FALSE"
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


def _levels(s: pd.Series) -> list[Any]:
    """Factor levels in R's order: a pandas Categorical keeps its order; otherwise sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().tolist())
        return [c for c in s.cat.categories if c in present]
    values = s.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _mod_terms(
    mods: Mods | None, data: pd.DataFrame | None, k: int
) -> list[tuple[str, pd.Series, bool]]:
    """The moderator terms as ``(name, column, categorical)``, in model order."""
    if mods is None:
        return []
    if isinstance(mods, str):
        text = mods.strip()
        text = text[1:] if text.startswith("~") else text
        if data is None:
            raise InputError("a moderator formula needs data=", field="mods")
        terms: list[tuple[str, pd.Series, bool]] = []
        for raw in text.split("+"):
            term = raw.strip()
            if term in ("", "1"):
                continue
            if term in ("0", "-1") or term.startswith("-") or any(c in term for c in "*:^|"):
                raise InputError(
                    f"unsupported formula term {term!r}: use column names and factor(name) "
                    "joined by '+' (build interactions as columns)",
                    field="mods",
                )
            m = _FACTOR_TERM.match(term)
            col = m.group(1) if m else term
            if col not in data.columns:
                raise InputError(f"no column {col!r} in the data", field=col)
            s = data[col].reset_index(drop=True)
            terms.append((term, s, bool(m) or _is_categorical(s)))
        return terms
    if isinstance(mods, pd.Series):
        mods = mods.to_frame(name=str(mods.name) if mods.name is not None else "mods")
    if isinstance(mods, pd.DataFrame):
        return [
            (str(c), mods[c].reset_index(drop=True), _is_categorical(mods[c]))
            for c in mods.columns
        ]
    if isinstance(mods, Sequence) and mods and all(isinstance(m, str) for m in mods):
        if data is None:
            raise InputError("moderator column names need data=", field="mods")
        names = [str(m) for m in mods]
        return _mod_terms(" + ".join(names), data, k)
    arr = np.asarray(mods, dtype=object)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError("mods must be one or two-dimensional", field="mods")
    name = (lambda j: "mods") if arr.shape[1] == 1 else (lambda j: f"X{j + 1}")
    return [
        (name(j), pd.Series(as_float(arr[:, j], name(j))), False) for j in range(arr.shape[1])
    ]


def model_matrix(
    mods: Mods | None,
    data: pd.DataFrame | None = None,
    *,
    k: int | None = None,
) -> tuple[FloatArray, tuple[str, ...], NDArray[np.bool_]]:
    """The design matrix of a meta-regression, as R's ``model.matrix`` with treatment contrasts.

    Parameters
    ----------
    mods : str, sequence of str, DataFrame or array-like, optional
        A formula of main effects (``"ablat + year + factor(grade)"``; a leading ``~`` is
        allowed), column names of ``data``, a DataFrame or a numeric array. Numeric columns enter
        as they are; text, boolean and categorical columns, and any column wrapped in
        ``factor()``, are dummy coded with the first level (sorted, or a pandas Categorical's
        order) as the reference, one column ``<term><level>`` per other level (R's names, e.g.
        ``allocrandom``, ``factor(grade)2``). An intercept ``intrcpt`` always comes first.
    data : DataFrame, optional
        Where names are looked up.
    k : int, optional
        Number of studies (the row count when ``mods`` is None).

    Returns
    -------
    X : ndarray, shape (k, p)
        NaN in the rows where a moderator is missing.
    names : tuple of str
        Column names (``intrcpt`` first).
    missing : ndarray of bool, shape (k,)
        Rows with a missing moderator.
    """
    terms = _mod_terms(mods, data, k or 0)
    n = k if k is not None else (len(terms[0][1]) if terms else 0)
    for name, s, _ in terms:
        if len(s) != n:
            raise InputError(f"moderator {name!r} has {len(s)} values for {n} studies",
                             field=name)
    missing = np.zeros(n, dtype=bool)
    for _, s, cat in terms:
        miss = s.isna().to_numpy()
        if not cat:
            miss = miss | np.isnan(as_float(s, "mods"))
        missing |= miss
    cols: list[FloatArray] = [np.ones(n)]
    names: list[str] = ["intrcpt"]
    for name, s, cat in terms:
        if cat:
            levels = _levels(s[~missing])
            values = s.to_numpy(dtype=object)
            for lev in levels[1:]:
                col = np.where(missing, np.nan, (values == lev).astype(float))
                cols.append(col)
                names.append(f"{name}{_level_text(lev)}")
        else:
            cols.append(np.where(missing, np.nan, as_float(s, name)))
            names.append(name)
    return np.column_stack(cols), tuple(names), missing


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class _Fit:
    tau2: float
    se_tau2: float
    converged_by: str


def _proj(x: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``P = W - W X (X'WX)^-1 X'W`` and ``(X'WX)^-1`` for weights ``w``."""
    wx = x * w[:, None]
    inv = np.asarray(np.linalg.inv(x.T @ wx), dtype=np.float64)
    proj: FloatArray = np.diag(w) - wx @ inv @ wx.T
    return proj, inv


def _q_resid(y: FloatArray, v: FloatArray, x: FloatArray, t: float) -> float:
    """``y' P y`` with ``w = 1/(v + t)``: the residual (generalised) Q statistic, computed as
    ``sum w (y - X beta)^2`` (the quadratic form cancels when X'WX is ill-conditioned)."""
    w = 1.0 / (v + t)
    _, inv = _proj(x, w)
    r = y - x @ (inv @ (x.T @ (w * y)))
    return float(np.sum(w * r * r))


def _score(y: FloatArray, v: FloatArray, x: FloatArray, t: float, method: str) -> float:
    """The estimating equation behind each Fisher scoring step (its numerator).

    REML: ``y'PPy - tr P``; ML: ``y'PPy - sum w``; EB: ``y'Py k/(k-p) - k``.
    """
    w = 1.0 / (v + t)
    p, _ = _proj(x, w)
    py = p @ y
    k, q = x.shape
    if method == "REML":
        return float(py @ py - np.trace(p))
    if method == "ML":
        return float(py @ py - w.sum())
    return float((y @ py) * k / (k - q) - k)


def _ll(y: FloatArray, v: FloatArray, x: FloatArray, t: float, method: str) -> float:
    """(Restricted) log-likelihood without constants that cancel in the ``ll0check``."""
    w = 1.0 / (v + t)
    _, inv = _proj(x, w)
    b = inv @ (x.T @ (w * y))
    rss = float(np.sum(w * (y - x @ b) ** 2))
    out = -0.5 * float(np.sum(np.log(v + t))) - 0.5 * rss
    if method == "REML":
        out -= 0.5 * float(np.linalg.slogdet(x.T @ (x * w[:, None]))[1])
    return out


def _root(fun: Any, hi0: float, tol: float, maxiter: int) -> tuple[float, bool]:
    """Root of a decreasing ``fun`` on ``[0, hi]`` with ``fun(0) > 0``; ``hi`` grows as needed."""
    hi = hi0
    for _ in range(200):
        if fun(hi) < 0:
            break
        hi *= 4.0
    else:
        return math.nan, False
    from scipy import optimize  # only meta-regression with PM/EB needs it; its import is slow

    root = optimize.brentq(fun, 0.0, hi, xtol=tol * 1e-3, rtol=4 * _EPS,
                           maxiter=max(maxiter, 500))
    return float(root), True


def _estimate_tau2(
    y: FloatArray, v: FloatArray, x: FloatArray, method: str, control: Control
) -> tuple[float, str]:
    """tau^2 of ``method`` (before truncation at 0) as metafor's ``rma.uni`` with moderators.

    With ``W = diag(w)``, ``P = W - W X (X'WX)^-1 X'W`` and ``RSS = y'Py``:

    - DL: ``(RSS - (k-p)) / tr P``, ``w = 1/v`` (DerSimonian & Laird 1986; Raudenbush 2009)
    - HS: ``(RSS - k) / sum w``, ``w = 1/v``
    - HE: ``(y'(I-H)y - tr((I-H)V)) / (k-p)``, ``H = X(X'X)^-1 X'`` (ordinary least squares)
    - SJ: ``tau0^2 RSS / (k-p)``, ``w = 1/(v + tau0^2)``, ``tau0^2 = sum (y - ybar)^2 / k``
    - PM: the root of ``RSS(tau2) = k - p`` (0 when ``RSS(0) < k - p``)
    - REML, ML, EB: Fisher scoring from ``max(0, HE)`` with the steps
      ``(y'PPy - tr P)/tr(PP)``, ``(y'PPy - sum w)/sum w^2`` and ``(RSS k/(k-p) - k)/sum w``,
      each halved while it would make tau^2 negative; stops when the change is at most
      ``threshold * max(tau2, mean(v))``. Should scoring not settle within ``maxiter`` steps the
      estimating equation is solved by Brent's method instead (a ConvergenceWarning says so).
    """
    k, p = x.shape
    if method in ("DL", "HS"):
        w = 1.0 / v
        pm, _ = _proj(x, w)
        rss = float(y @ pm @ y)
        if method == "DL":
            return (rss - (k - p)) / float(np.trace(pm)), "closed form"
        return (rss - k) / float(w.sum()), "closed form"
    if method == "SJ":
        t0 = _sj_start(y, control)
        return t0 * _q_resid(y, v, x, t0) / (k - p), "closed form"
    he = _tau2_he(y, v, x)
    if method == "HE":
        return he, "closed form"
    vbar = float(v.mean())
    if method == "PM":
        target = float(k - p)
        if _q_resid(y, v, x, 0.0) < target:
            return 0.0, "closed form"
        var = float(np.var(y, ddof=1)) if k > 1 else vbar
        root, ok = _root(lambda t: _q_resid(y, v, x, t) - target, max(100.0, 10.0 * var),
                         control.tol, control.maxiter)
        if not ok:
            raise ConvergenceError("PM: no root of the generalised Q equation was bracketed")
        return root, "root"
    # REML, ML, EB: Fisher scoring
    t = max(0.0, he)
    u0 = _score(y, v, x, 0.0, method)
    for _ in range(control.maxiter):
        w = 1.0 / (v + t)
        pm, _ = _proj(x, w)
        py = pm @ y
        if method == "REML":
            adj = (float(py @ py) - float(np.trace(pm))) / float(np.sum(pm * pm))
        elif method == "ML":
            adj = (float(py @ py) - float(w.sum())) / float(np.sum(w * w))
        else:
            adj = (float(y @ py) * k / (k - p) - k) / float(w.sum())
        if math.isnan(adj):
            adj = 0.0
        if t + adj < 0 and u0 <= 0:  # the halved steps would converge to 0: take the limit
            return 0.0, "scoring"
        while t + adj < 0:
            adj /= 2.0
        t_new = t + adj
        t = t_new
        if abs(adj) <= control.threshold * max(t, vbar):
            return t, "scoring"
    warnings.warn(
        f"{method}: Fisher scoring did not converge within {control.maxiter} iterations; "
        "its estimating equation was solved by Brent's method instead",
        ConvergenceWarning,
        stacklevel=4,
    )
    if u0 <= 0:
        return 0.0, "root"
    root, ok = _root(lambda s: _score(y, v, x, s, method), max(10.0 * abs(he), vbar),
                     control.tol, control.maxiter)
    if not ok:
        raise ConvergenceError(f"the {method} estimator of tau^2 did not converge")
    return root, "root"


def _sj_start(y: FloatArray, control: Control | None) -> float:
    """Sidik-Jonkman's ``tau0^2``: ``control.tau2_init``, else ``sum (y - ybar)^2 / k``."""
    if control is not None and control.tau2_init is not None:
        return float(control.tau2_init)
    return float(np.mean((y - y.mean()) ** 2))


def _tau2_he(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    k, p = x.shape
    h = x @ np.linalg.solve(x.T @ x, x.T)
    p0 = np.eye(k) - h
    return (float(y @ p0 @ y) - float(np.sum(np.diag(p0) * v))) / (k - p)


def _se_tau2(
    y: FloatArray, v: FloatArray, x: FloatArray, method: str, t: float,
    control: Control | None = None,
) -> float:
    """Standard error of tau^2 as metafor computes it for each estimator, ``df = k - p``:

    - DL: ``sqrt(2 df + 4 t tr P + 2 t^2 tr(PP)) / tr P``; HS: the same over ``sum w``
      (``w = 1/v``)
    - HE: ``sqrt(2 tr(PVPV) + 4 t tr(PV) + 2 t^2 df) / df`` with ``P = I - H``
    - SJ: ``tau0^2/df sqrt(2 tr(PVPV) + 4 t tr(PVP) + 2 t^2 tr(PP))``, ``P`` at ``tau0^2``
    - ML: ``sqrt(2 / sum w^2)``; REML: ``sqrt(2 / tr(PP))`` (at ``t``)
    - PM, EB: ``sqrt(2 k^2 / df) / sum w`` (at ``t``)
    """
    k, p = x.shape
    df = k - p
    if method in ("DL", "HS"):
        w = 1.0 / v
        pm, _ = _proj(x, w)
        trp = float(np.trace(pm))
        num = 2.0 * df + 4.0 * t * trp + 2.0 * t * t * float(np.sum(pm * pm))
        return math.sqrt(num) / (trp if method == "DL" else float(w.sum()))
    if method == "HE":
        pm = np.eye(k) - x @ np.linalg.solve(x.T @ x, x.T)
        pv = pm * v[None, :]
        num = 2.0 * float(np.sum(pv * pv.T)) + 4.0 * t * float(np.trace(pv)) + 2.0 * t * t * df
        return math.sqrt(num) / df
    if method == "SJ":
        t0 = _sj_start(y, control)
        pm, _ = _proj(x, 1.0 / (v + t0))
        pv = pm * v[None, :]
        num = (
            2.0 * float(np.sum(pv * pv.T))
            + 4.0 * t * float(np.sum(pv * pm))
            + 2.0 * t * t * float(np.sum(pm * pm))
        )
        return t0 / df * math.sqrt(num)
    w = 1.0 / (v + t)
    if method == "ML":
        return math.sqrt(2.0 / float(np.sum(w * w)))
    if method == "REML":
        pm, _ = _proj(x, w)
        return math.sqrt(2.0 / float(np.sum(pm * pm)))
    return math.sqrt(2.0 * k * k / df) / float(w.sum())  # PM, EB


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class RegResult(Printed):
    """A fitted meta-regression (metafor's ``rma.uni`` object with moderators).

    Attributes use metafor's names. Per coefficient (arrays in the order of ``coef_names``):
    ``beta``, ``se``, ``zval`` (a t value when ``test`` is "t" or "knha"), ``pval``,
    ``ci_lb``/``ci_ub``; ``vb`` is their variance-covariance matrix. ``tau2`` is the residual
    heterogeneity with ``se_tau2``; ``I2`` and ``H2`` are residual (unaccounted variability),
    ``R2`` the percentage of heterogeneity accounted for (None for intercept-only models or
    when the intercept-only fit fails); ``QE``/``QEp`` the test for residual heterogeneity
    (df ``k - p``); ``QM``/``QMp`` the omnibus test of the coefficients ``btt`` (0-based indices;
    an F value with ``QMdf = (m, k - p)`` for "t"/"knha", else chi-square with ``QMdf = (m,
    None)``); ``ddf`` the t df (None for z); ``X`` the model matrix; ``yi``, ``vi``, ``slab`` the
    data used.
    """

    k: int
    p: int
    measure: str
    method: str
    test: str
    level: float
    coef_names: tuple[str, ...]
    beta: NDArray[np.float64] = field(repr=False)
    se: NDArray[np.float64] = field(repr=False)
    zval: NDArray[np.float64] = field(repr=False)
    pval: NDArray[np.float64] = field(repr=False)
    ci_lb: NDArray[np.float64] = field(repr=False)
    ci_ub: NDArray[np.float64] = field(repr=False)
    vb: NDArray[np.float64] = field(repr=False)
    ddf: int | None = None
    tau2: float = 0.0
    se_tau2: float | None = None
    I2: float = float("nan")
    H2: float = float("nan")
    R2: float | None = None
    vt: float = float("nan")
    QE: float = float("nan")
    QEp: float = float("nan")
    QM: float = float("nan")
    QMp: float = float("nan")
    QMdf: tuple[int, int | None] = (1, None)
    btt: tuple[int, ...] = (0,)
    s2w: float = 1.0
    X: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    yi: NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)
    vi: NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)
    slab: tuple[str, ...] = field(default=(), repr=False)
    tau2_fixed: bool = False
    control: Control = field(default_factory=Control, repr=False)
    #: The moderator terms as ``(name, categorical, levels)`` (levels of a categorical term in
    #: model order, the first the reference), so ``predict(newmods=...)`` codes new values as
    #: the fit did; empty when the moderators were given as an array.
    mod_terms: tuple[tuple[str, bool, tuple[Any, ...]], ...] = field(default=(), repr=False)
    #: The user's ``weights`` (metafor's ``x$weights``) of a GENQ/GENQM or weighted fit, else None.
    user_weights: NDArray[np.float64] | None = field(default=None, repr=False)

    def predict(
        self,
        newmods: Any = None,
        *,
        transf: Any = None,
        level: float | None = None,
    ) -> pd.DataFrame:
        """Predicted values with CIs and prediction intervals (metafor's ``predict.rma``).

        ``newmods`` are new moderator values: a DataFrame or mapping with the original
        moderator columns (text and ``factor()`` columns coded with the fit's levels), or
        numbers as metafor takes them (one column per non-intercept coefficient, in
        ``coef_names`` order; a 1-D array is one value per row for a single moderator, else
        one row); None gives the fitted values of the studies. See
        :func:`metareview.models.predict.predict_reg` for the formulas.
        """
        from metareview.models.predict import predict_reg

        return predict_reg(self, newmods, transf=transf, level=level)

    def confint(self, *, type: str = "QP", level: float | None = None) -> Any:
        """CIs of tau^2, tau, I^2, H^2 (Q-profile by default): :func:`metareview.models.confint`."""
        from metareview.models.confint import confint

        return confint(self, type=type, level=level)

    @property
    def int_only(self) -> bool:
        """True for the intercept-only model."""
        return self.p == 1

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return math.sqrt(self.tau2)

    @property
    def coefficients(self) -> pd.DataFrame:
        """The coefficient table (index: ``coef_names``) as metafor prints it: ``estimate, se,
        zval`` (or ``tval`` and ``df``), ``pval, ci_lb, ci_ub``."""
        stat = "tval" if self.ddf is not None else "zval"
        cols: dict[str, Any] = {"estimate": self.beta, "se": self.se, stat: self.zval}
        if self.ddf is not None:
            cols["df"] = np.full(self.p, self.ddf)
        cols.update({"pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub})
        return pd.DataFrame(cols, index=pd.Index(self.coef_names, name="coef"))

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """The model as metafor's ``print.rma.uni`` shows a meta-regression."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        """metafor's ``print.rma.uni`` of a meta-regression (settings, residual heterogeneity,
        test of moderators, coefficient table)."""
        is_ee = self.method in ("EE", "FE")
        out: list[Block] = [""]
        if is_ee:
            name = {"EE": "Equal-Effects", "FE": "Fixed-Effects"}[self.method]
            title = f"{name} Model" if self.int_only else f"{name} with Moderators Model"
            out.append(f"{title} (k = {self.k})")
        else:
            title = "Random-Effects Model" if self.int_only else "Mixed-Effects Model"
            how = (
                "user-specified tau^2 value" if self.tau2_fixed
                else f"tau^2 estimator: {self.method}"
            )
            out.append(f"{title} (k = {self.k}; {how})")
        out.append("")
        if not is_ee:
            out.extend(tau2_fields(self.tau2, self.tau, self.se_tau2, digits, (
                "tau^2 (estimated amount of residual heterogeneity):     ",
                "tau (square root of estimated tau^2 value):             ",
            )))
        out.append(Field(
            "I^2 (residual heterogeneity / unaccounted variability): ", f"{num(self.I2, 2)}%"
        ))
        out.append(Field(
            "H^2 (unaccounted variability / sampling variability):   ", num(self.H2, 2)
        ))
        if self.R2 is not None:
            out.append(Field(
                "R^2 (amount of heterogeneity accounted for):            ",
                f"{num(self.R2, 2)}%",
            ))
        out += ["", "Test for Residual Heterogeneity:"]
        out.append(Field(
            f"QE(df = {self.k - self.p}) = ",
            f"{num(self.QE, digits)}, p-val {pval(self.QEp, digits, True)}",
        ))
        out.append("")
        if self.p > 1 and not math.isnan(self.QM):
            out += moderators_test(
                self.btt, self.QM, self.QMp, self.QMdf, f_test=self.ddf is not None, digits=digits
            )
        out += ["Model Results:", ""]
        header = coefficient_header(t_test=self.ddf is not None, signif_stars=signif_stars)
        rows = coefficient_rows(
            self.beta, self.se, self.zval, self.pval, self.ci_lb, self.ci_ub, digits=digits,
            df=None if self.ddf is None else [f"{self.ddf:g}"] * self.p,
            signif_stars=signif_stars,
        )  # fmt: skip
        out.append(Table(header, rows, row_names=["", *self.coef_names]))
        if signif_stars:
            out.append(SIGNIF_CODES)
        out.append("")
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe values (NaN -> None); ``coefficients`` as a list of rows."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            if name == "mod_terms":
                continue
            if isinstance(val, np.ndarray):
                out[name] = jsonable(np.where(np.isfinite(val), val, np.nan))
            elif isinstance(val, Control):
                out[name] = {"threshold": val.threshold, "tol": val.tol, "maxiter": val.maxiter}
            elif isinstance(val, tuple):
                out[name] = list(val)
            elif isinstance(val, float):
                out[name] = finite_or_none(val)
            else:
                out[name] = val
        out["coefficients"] = [
            {
                "name": n, "estimate": _opt(b), "se": _opt(s), "zval": _opt(z), "pval": _opt(pv),
                "ci_lb": _opt(lo), "ci_ub": _opt(hi),
            }
            for n, b, s, z, pv, lo, hi in zip(
                self.coef_names, self.beta, self.se, self.zval, self.pval, self.ci_lb,
                self.ci_ub, strict=True,
            )
        ]
        out["tau"] = _opt(self.tau)
        return out


# --------------------------------------------------------------------------- public function


def rma_reg(
    yi: Any,
    vi: Any = None,
    mods: Mods | None = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    btt: Sequence[int] | None = None,
    measure: str | None = None,
    slab: Any = None,
    tau2: float | None = None,
    control: Mapping[str, Any] | Control | None = None,
    na_action: NaAction = "fail",
    weights: Any = None,
) -> RegResult:
    """Fit a meta-regression ``y_i = x_i' beta + u_i + e_i`` (metafor's ``rma(yi, vi, mods=)``).

    ``u_i ~ N(0, tau^2)`` is the residual heterogeneity (``tau^2 = 0`` for ``method="EE"``) and
    ``e_i ~ N(0, v_i)``. Given tau^2: ``beta = (X'WX)^-1 X'Wy``, ``Var(beta) = (X'WX)^-1`` with
    ``W = diag(1/(v_i + tau^2))``.

    Parameters
    ----------
    yi, vi, sei, data, measure, slab, tau2, control, na_action
        As for :func:`metareview.models.rma` (``yi`` may be a DataFrame with ``yi``/``vi``
        columns, which then also serves as ``data``). ``na_action="omit"`` also leaves out rows
        with a missing moderator (metafor's behaviour); "fail" names the first such row.
    mods : str, sequence of str, DataFrame or array-like, optional
        The moderators; see :func:`model_matrix` (numeric columns as they are, text/categorical
        columns and ``factor(name)`` dummy coded with the first level as the reference; an
        intercept is always included). None fits the intercept-only model.
    method : str
        ``EE`` (alias ``FE``), ``DL``, ``REML``, ``ML``, ``PM``, ``HS``, ``SJ``, ``HE``, ``EB``;
        formulas in :func:`_estimate_tau2`; or ``HSk``, ``GENQ``, ``GENQM``, ``PMM``
        (:mod:`metareview.models.estimators`; GENQ and GENQM need ``weights``).
    weights : str or array-like, optional
        User weights ``a_i`` (metafor's ``weights=``): they define GENQ/GENQM's statistic and
        give ``beta = (X'AX)^-1 X'Ay`` with ``Var(beta) = (X'AX)^-1 X'A(V + tau^2)AX(X'AX)^-1``
        (not with ``test="knha"``).
    test : {"z", "t", "knha"}
        ``z``: Wald z-tests and a chi-square omnibus test; ``t``: t-tests with ``k - p`` df and
        an F omnibus test; ``knha``: Knapp & Hartung (2003), the same t and F tests with
        ``Var(beta)`` multiplied by ``s2w = sum w_i (y_i - x_i' beta)^2 / (k - p)`` (not
        truncated at 1, as metafor).
    level : float
        Confidence level in percent.
    btt : sequence of int, optional
        0-based indices of the coefficients tested by QM (default: all but the intercept; the
        intercept for intercept-only models), as metafor's ``btt`` (which is 1-based).

    Returns
    -------
    RegResult

    Notes
    -----
    Heterogeneity statistics (metafor's definitions, with ``P`` at ``w = 1/v``):
    ``QE = y'Py`` on ``k - p`` df (Cochran's Q of the residuals); the typical within-study
    variance ``vt = (k - p)/tr P``; ``I2 = 100 tau2/(vt + tau2)`` and ``H2 = tau2/vt + 1`` (for EE
    models ``I2 = max(0, 100 (QE - (k-p))/QE)`` and ``H2 = QE/(k-p)``).
    Omnibus test ``QM = b' Var(b)^-1 b`` over the coefficients ``btt`` (divided by their number
    ``m`` and referred to F(m, k - p) for "t"/"knha").
    Pseudo R^2 (Raudenbush 2009): ``R2 = max(0, 100 (tau2_0 - tau2)/tau2_0)`` where ``tau2_0``
    is the intercept-only estimate with the same method (0 when ``tau2_0 = 0``); for EE models
    metafor's adjusted R^2 of the weighted least-squares regression, ``max(0, 100 adjR2)``.

    Differences from metafor 3.8: the intercept is always included (``factor()`` columns are
    coded against their first level); terms cannot be interactions or transformations (build
    them as columns); factor levels are taken from the rows used, so a level left without
    studies by missing values does not become an empty dummy; convergence as
    :func:`metareview.models.rma` (relative threshold; a root finder when scoring oscillates).

    Raises
    ------
    InputError
        Bad numbers or missing values (naming row and column), unknown columns, a rank-deficient
        model matrix, or too few studies (``k <= p`` for EE, ``k <= p + 1`` otherwise).
    ConvergenceError
        When an iterative estimator finds no solution.
    """
    yi, vi, sei, data = frame_args(yi, vi, sei, data)
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    method = extra_method(method) or normalise_method(method)
    test = normalise_test(test)
    alpha = alpha_from_level(level)
    ctl = make_control(control)
    measure = default_measure(measure, data)

    y, v, y_field, v_field = effect_columns(yi, vi, sei, data)
    if isinstance(weights, str) and data is not None:
        if weights not in data.columns:
            raise InputError(f"no column {weights!r} in data", field=weights)
        weights = data[weights].to_numpy()
    a_all = None if weights is None else check_weights(weights, y.size)
    x_all, names, mod_missing = model_matrix(mods, data, k=y.size)
    if mod_missing.any():
        if na_action == "fail":
            i = int(np.flatnonzero(mod_missing)[0])
            raise InputError(
                "missing moderator value (use na_action='omit' to leave such rows out)",
                row=i + 1, field="mods",
            )
        rows = ", ".join(str(int(r) + 1) for r in np.flatnonzero(mod_missing)[:10])
        warnings.warn(
            f"{int(mod_missing.sum())} row(s) with a missing moderator left out of the model: "
            f"row(s) {rows}",
            MetareviewWarning,
            stacklevel=2,
        )
    y_chk = np.where(mod_missing, 0.0, y)
    v_chk = np.where(mod_missing, 1.0, v)
    keep = clean_yi_vi(y_chk, v_chk, yi_field=y_field, vi_field=v_field, na_action=na_action)
    keep &= ~mod_missing
    labels = [lab for lab, kp in zip(study_labels(slab, data, y.size), keep, strict=True) if kp]
    y, v, x = y[keep], v[keep], x_all[keep]
    by_name = isinstance(mods, str) or (
        isinstance(mods, list | tuple) and bool(mods) and all(isinstance(m, str) for m in mods)
    )
    if data is not None and by_name and not keep.all():
        # a factor whose levels changed after omission: rebuild from the rows used
        x, names, _ = model_matrix(mods, data.loc[keep].reset_index(drop=True), k=y.size)
    res = _fit(
        y, v, x, names, method=method, test=test, alpha=alpha, level=level, btt=btt,
        measure=measure, slab=labels, tau2=tau2, control=ctl,
        weights=None if a_all is None else a_all[keep],
    )
    if by_name and data is not None:
        used = data.loc[keep].reset_index(drop=True)
        info = tuple(
            (name, cat, tuple(_levels(col)) if cat else ())
            for name, col, cat in _mod_terms(mods, used, y.size)
        )
        res = dataclasses.replace(res, mod_terms=info)
    return res


def _fit(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    names: Sequence[str],
    *,
    method: str,
    test: str,
    alpha: float,
    level: float,
    btt: Sequence[int] | None,
    measure: str,
    slab: Sequence[str],
    tau2: float | None,
    control: Control,
    skip_r2: bool = False,
    weights: FloatArray | None = None,
) -> RegResult:
    """Fit the model to clean data (used by :func:`rma_reg` and the small-study tests)."""
    k, p = x.shape
    if weights is not None and test == "knha":
        raise InputError("weights cannot be combined with test='knha'", field="weights")
    is_ee = method in ("EE", "FE")
    fixed = tau2 is not None and not is_ee
    need = p if (is_ee or fixed) else p + 1
    if k < need:
        raise InputError(
            f"{p} coefficient(s){'' if is_ee or fixed else ' and tau^2'} cannot be estimated "
            f"from k = {k} studies",
            field="mods",
        )
    big = np.flatnonzero(np.nanmax(np.abs(x), axis=0) > _MAX_MOD)
    if big.size:
        # X'WX holds products of moderator values: beyond 1e100 they overflow (all-NaN fits)
        raise InputError(
            f"moderator {names[int(big[0])]!r} has values above {_MAX_MOD:g} in absolute value, "
            "whose products overflow double precision; rescale it (e.g. divide by a power of 10)",
            field=names[int(big[0])],
        )
    if np.linalg.eigvalsh(x.T @ x).min() <= _EVTOL:
        raise InputError(
            "model matrix not of full rank (a moderator is constant or a combination of others): "
            + ", ".join(names),
            field="mods",
        )
    int_only = p == 1
    if btt is None:
        btt_t = tuple(range(1, p)) if p > 1 else (0,)
    else:
        btt_t = tuple(sorted({int(b) for b in btt}))
        if not btt_t or min(btt_t) < 0 or max(btt_t) >= p:
            raise InputError(f"btt must index the {p} coefficient(s) (0-based)", field="btt")

    # ---- tau^2
    if is_ee:
        t, se_t = 0.0, math.nan
    else:
        if fixed:
            assert tau2 is not None
            t = float(tau2)
            if not math.isfinite(t) or t < 0:
                raise InputError("a fixed tau2 must be finite and >= 0", field="tau2")
        elif method in EXTRA_METHODS:
            t = extra_tau2(y, v, x, method, weights, control.tol)
        else:
            t, _ = _estimate_tau2(y, v, x, method, control)
            if method in ("ML", "REML") and t > control.threshold:
                ll0 = _ll(y, v, x, 0.0, method)
                if ll0 - _ll(y, v, x, t, method) > control.tol:
                    warnings.warn(
                        "Fisher scoring may have stopped at a local maximum; tau^2 set to 0 "
                        "(as metafor's ll0check)",
                        MetareviewWarning,
                        stacklevel=3,
                    )
                    t = 0.0
            t = max(0.0, t)
        if method in EXTRA_METHODS:
            se_t = extra_se_tau2(y, v, x, method, t, weights)
        else:
            se_t = _se_tau2(y, v, x, method, t, control)

    # ---- coefficients
    w = 1.0 / (v + t)
    _, vb = _proj(x, w)
    beta = vb @ (x.T @ (w * y))
    if weights is not None:
        beta, vb = weighted_coefficients(y, v, x, t, weights)
    s2w = 1.0
    if test == "knha":
        rss = float(np.sum(w * (y - x @ beta) ** 2))
        s2w = rss / (k - p) if k > p else 1.0
        if rss <= _EPS and k > p:
            # a perfect fit: s2w = 0 would make every t infinite (metafor: zval = Inf)
            warnings.warn(
                "Knapp-Hartung: the model fits the effects exactly, so the scaling factor s2w "
                "is 0 and the t statistics would be infinite (metafor: zval = Inf); the unscaled "
                "variance (s2w = 1) is used",
                MetareviewWarning,
                stacklevel=3,
            )
            s2w = 1.0
    vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    use_t = test in ("t", "knha")
    df = k - p
    bsel = beta[list(btt_t)]
    try:
        qm = float(bsel @ np.linalg.solve(vb[np.ix_(btt_t, btt_t)], bsel))
    except np.linalg.LinAlgError:
        qm = math.nan
    m = len(btt_t)
    if use_t:
        qm = qm / m
        qmp = float(special.fdtrc(m, df, qm)) if df > 0 else math.nan
        pval = 2.0 * special.stdtr(df, -np.abs(zval)) if df > 0 else np.full(p, np.nan)
        crit = float(-special.stdtrit(df, alpha / 2.0)) if df > 0 else math.nan
        qmdf: tuple[int, int | None] = (m, df)
    else:
        qmp = float(special.chdtrc(m, qm))
        pval = 2.0 * special.ndtr(-(np.abs(zval)))
        crit = float(-special.ndtri(alpha / 2.0))
        qmdf = (m, None)

    # ---- residual heterogeneity (w = 1/v)
    if k > p:
        w0 = 1.0 / v
        p0, inv0 = _proj(x, w0)
        # y'P0y as the weighted residual sum of squares: the quadratic form y @ P0 @ y cancels
        # (it lost 7 digits on some dat.bcg subsets of tests/models/test_gosh.py)
        r0 = y - x @ (inv0 @ (x.T @ (w0 * y)))
        qe = max(0.0, float(np.sum(w0 * r0 * r0)))
        qep = float(special.chdtrc(df, qe))
        vt = df / float(np.trace(p0))
        if is_ee:
            i2 = max(0.0, 100.0 * (qe - df) / qe) if qe > 0 else 0.0
            h2 = qe / df
        else:
            i2 = 100.0 * t / (vt + t)
            h2 = t / vt + 1.0
    else:
        qe, qep, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0

    # skip_r2: refits of the diagnostics need no R^2 (metafor's skipr2=TRUE)
    r2 = None if int_only or skip_r2 else _pseudo_r2(y, v, x, w, method, t, control, weights)

    lv = float(level) * 100.0 if float(level) < 1 else float(level)
    return RegResult(
        k=k, p=p, measure=measure, method=method, test=test, level=lv,
        coef_names=tuple(names),
        beta=_readonly(beta), se=_readonly(se), zval=_readonly(zval),
        pval=_readonly(np.asarray(pval, dtype=float)),
        ci_lb=_readonly(beta - crit * se), ci_ub=_readonly(beta + crit * se), vb=_readonly(vb),
        ddf=df if use_t else None,
        tau2=t, se_tau2=_opt(se_t), I2=i2, H2=h2, R2=r2, vt=vt,
        QE=qe, QEp=qep, QM=qm, QMp=qmp, QMdf=qmdf, btt=btt_t, s2w=s2w,
        X=_readonly(x), yi=_readonly(y), vi=_readonly(v), slab=tuple(slab),
        tau2_fixed=fixed, control=control,
        user_weights=None if weights is None else _readonly(weights),
    )


def _pseudo_r2(
    y: FloatArray, v: FloatArray, x: FloatArray, w: FloatArray, method: str, tau2: float,
    control: Control,
    weights: FloatArray | None = None,
) -> float | None:
    """metafor's R^2 for a model with moderators (see :func:`rma_reg`, Notes)."""
    k, p = x.shape
    if method in EXTRA_METHODS:
        tau2_0 = extra_tau2(y, v, np.ones((k, 1)), method, weights, control.tol)
        return 0.0 if tau2_0 == 0.0 else max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)
    if method in ("EE", "FE"):
        if np.var(y) == 0:
            return 0.0
        ybar = float(np.sum(w * y) / np.sum(w))
        tss = float(np.sum(w * (y - ybar) ** 2))
        _, inv = _proj(x, w)
        b = inv @ (x.T @ (w * y))
        rss = float(np.sum(w * (y - x @ b) ** 2))
        adj = 1.0 - (rss / tss) * (k - 1) / (k - p)
        return max(0.0, 100.0 * adj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit0 = fit_padded(y[None, :], v[None, :], np.ones((1, k), dtype=bool), method=method,
                          control=control, on_fail="nan")
    tau2_0 = float(fit0.tau2[0])
    if math.isnan(tau2_0):
        return None
    if tau2_0 == 0.0:
        return 0.0
    return max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)
