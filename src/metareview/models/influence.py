"""Case diagnostics of ``rma``/``rma_reg`` fits: metafor's ``influence.rma.uni``, ``rstandard``,
``rstudent`` and ``baujat``.

>>> from metareview.models import rma, influence
>>> inf = influence(rma("yi", "vi", data=dat))   # doctest: +SKIP
>>> inf.inf[inf.is_infl]                        # doctest: +SKIP

Each study ``i`` is deleted in turn and the model refitted with the same settings (metafor's
deletion loop; :mod:`metareview.models._refit`). With ``W = diag(1/(v + tau^2))``, the hat matrix
``H = X (X'WX)^-1 X'W`` and, for the fit without study ``i``, ``b_(-i)``, ``Var_(-i)(b)``,
``tau2_(-i)``, ``s2w_(-i)`` (the Knapp-Hartung factor; 1 unless ``test="knha"``):

- ``rstudent``: ``(y_i - x_i'b_(-i)) / sqrt(s2w_(-i) (v_i + tau2_(-i)) + x_i'Var_(-i)(b) x_i)``
- ``dffits``: ``(x_i'b - x_i'b_(-i)) / sqrt(s2w_(-i) h_i (tau2_(-i) + v_i))``
- ``cook_d``: ``(b - b_(-i))' Var(b)^-1 (b - b_(-i))`` over all ``p`` coefficients
- ``cov_r``: ``det Var_(-i)(b) / det Var(b)``
- ``tau2_del``, ``QE_del``: tau^2 and the residual Q of the fit without ``i``
- ``hat``: ``h_i``; ``weight``: ``100 w_i / sum w`` (percent)
- ``dfbs``: ``(b - b_(-i)) / sqrt(s2w_(-i) diag((X'W_(-i)X)^-1))``, ``W_(-i) = diag(1/(v +
  tau2_(-i)))`` over all ``k`` studies
- ``inf``: "*" when ``|dffits| > 3 sqrt(p/(k-p))``, or ``pchisq(cook_d, m) > 0.5``, or
  ``hat > 3 p/k``, or any ``|dfbs| > 1`` (metafor's rule; ``m = p`` coefficients).

References
----------
Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods, 1(2), 112-125.
Baujat, B., Mahe, C., Pignon, J.-P., & Hill, C. (2002). A graphical method for exploring
    heterogeneity in meta-analyses: application to a meta-analysis of 65 trials. Statistics in
    Medicine, 21(18), 2641-2652.
metafor 3.8-1: ``influence.rma.uni``, ``rstandard.rma.uni``, ``baujat.rma`` (R sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from metareview.errors import InputError
from metareview.models._refit import Model, model_of, refit

__all__ = [
    "BaujatResult",
    "InfluenceResult",
    "baujat",
    "hatvalues",
    "influence",
    "rstandard",
    "rstudent",
]

FloatArray = NDArray[np.float64]
_EPS = float(np.finfo(float).eps)


def _check_k(m: Model, what: str) -> None:
    if m.k < 2:
        raise InputError(f"{what}: stopped because k = 1 (as metafor)", field="result")


def _hat_matrix(m: Model) -> FloatArray:
    """``H = X (X'WX)^-1 X'W`` with ``W = diag(1/(v + tau^2))``."""
    w = 1.0 / (m.v + m.tau2)
    wx = m.X * w[:, None]
    inv = np.linalg.inv(m.X.T @ wx)
    h: FloatArray = m.X @ inv @ wx.T
    return h


def hatvalues(result: Any) -> FloatArray:
    """Diagonal of the hat matrix ``H = X (X'WX)^-1 X'W`` (metafor's ``hatvalues.rma.uni``)."""
    m = model_of(result)
    return np.asarray(np.diag(_hat_matrix(m)), dtype=float)


@dataclass(frozen=True)
class _Deleted:
    tau2: FloatArray
    QE: FloatArray
    pred: FloatArray  # x_i' b_(-i)
    vpred: FloatArray  # x_i' Var_(-i)(b) x_i
    s2w: FloatArray
    beta: FloatArray  # (k, p)
    vb: list[FloatArray | None]


def _deletion_fits(m: Model) -> _Deleted:
    """Refit ``m`` without each study in turn (NaN where the refit fails)."""
    k, p = m.k, m.p
    nan = np.full(k, np.nan)
    tau2, qe, pred, vpred, s2w = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    beta = np.full((k, p), np.nan)
    vbs: list[FloatArray | None] = []
    for i in range(k):
        keep = np.ones(k, dtype=bool)
        keep[i] = False
        res = refit(m, keep=keep)
        if res is None:
            vbs.append(None)
            continue
        xi = m.X[i]
        tau2[i] = res.tau2
        qe[i] = res.QE
        beta[i] = res.beta
        pred[i] = float(xi @ res.beta)
        vpred[i] = float(xi @ res.vb @ xi)
        s2w[i] = res.s2w
        vbs.append(np.asarray(res.vb, dtype=float))
    return _Deleted(tau2, qe, pred, vpred, s2w, beta, vbs)


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """metafor's ``infl.rma.uni``: ``inf`` (a DataFrame indexed by study label with columns
    ``rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight, inf``), ``dfbs`` (one
    column per coefficient), ``is_infl`` (boolean per study), and ``tau2``, ``QE``, ``k``, ``p``,
    ``m`` (coefficients tested by ``cook_d``/``cov_r``)."""

    inf: pd.DataFrame = field(repr=False)
    dfbs: pd.DataFrame = field(repr=False)
    is_infl: NDArray[np.bool_] = field(repr=False)
    tau2: float
    QE: float
    k: int
    p: int
    m: int

    def summary(self, digits: int = 4) -> str:
        """The table as metafor prints ``influence()`` (values rounded to ``digits``)."""
        return str(self.inf.round(digits).to_string())

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: per-study rows of ``inf`` (with ``slab``) and ``dfbs``."""
        from metareview._json import finite_or_none

        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for slab, r in df.iterrows():
                d: dict[str, Any] = {"slab": str(slab)}
                for c, val in r.items():
                    d[str(c)] = finite_or_none(val) if isinstance(val, float) else val
                out.append(d)
            return out

        return {
            "inf": rows(self.inf), "dfbs": rows(self.dfbs),
            "is_infl": [bool(b) for b in self.is_infl], "tau2": self.tau2, "QE": self.QE,
            "k": self.k, "p": self.p, "m": self.m,
        }


def influence(result: Any) -> InfluenceResult:
    """Outlier and influence diagnostics of an ``rma``/``rma_reg`` fit (metafor's
    ``influence.rma.uni``); formulas in the module docstring.

    Raises
    ------
    InputError
        For k = 1 or a result that is not from ``rma``/``rma_reg``.
    """
    m = model_of(result)
    _check_k(m, "influence")
    k, p = m.k, m.p
    btt = list(range(p))  # metafor's .set.btt(NULL, p, int.incl=FALSE): every coefficient
    nb = len(btt)
    d = _deletion_fits(m)
    h = _hat_matrix(m)
    hat = np.diag(h).copy()
    pred_full = m.X @ m.beta
    w = 1.0 / (m.v + m.tau2)
    weight = 100.0 * w / w.sum()
    svb = np.linalg.inv(m.vb[np.ix_(btt, btt)])
    det_full = float(np.linalg.det(m.vb[np.ix_(btt, btt)]))
    dffits = np.full(k, np.nan)
    dfbs = np.full((k, p), np.nan)
    cook = np.full(k, np.nan)
    covr = np.full(k, np.nan)
    for i in range(k):
        vbd = d.vb[i]
        if vbd is None:
            continue
        dffits[i] = (pred_full[i] - d.pred[i]) / np.sqrt(d.s2w[i] * hat[i] * (d.tau2[i] + m.v[i]))
        wd = 1.0 / (m.v + d.tau2[i])
        vb_del = np.linalg.inv(m.X.T @ (m.X * wd[:, None]))
        dfb = m.beta - d.beta[i]
        dfbs[i] = dfb / np.sqrt(d.s2w[i] * np.diag(vb_del))
        db = dfb[btt]
        cook[i] = float(db @ svb @ db)
        covr[i] = float(np.linalg.det(vbd[np.ix_(btt, btt)])) / det_full
    resid = m.y - d.pred
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    se = np.sqrt(m.v * d.s2w + d.vpred + d.tau2 * d.s2w)
    with np.errstate(invalid="ignore", divide="ignore"):
        stres = resid / se
        flag = (
            (np.abs(dffits) > 3.0 * np.sqrt(p / (k - p)) if k > p else np.zeros(k, bool))
            | (special.chdtr(nb, cook) > 0.5)
            | (hat > 3.0 * p / k)
            | np.any(np.abs(dfbs) > 1.0, axis=1)
        )
    index = pd.Index(list(m.slab), name="slab")
    inf = pd.DataFrame(
        {
            "rstudent": stres, "dffits": dffits, "cook_d": cook, "cov_r": covr,
            "tau2_del": d.tau2, "QE_del": d.QE, "hat": hat, "weight": weight,
            "inf": np.where(flag, "*", ""),
        },
        index=index,
    )
    dfb_frame = pd.DataFrame(dfbs, columns=list(m.names), index=index)
    qe = float(getattr(result, "QE", np.nan))
    return InfluenceResult(
        inf=inf, dfbs=dfb_frame, is_infl=np.asarray(flag, dtype=bool), tau2=m.tau2, QE=qe,
        k=k, p=p, m=nb,
    )


def rstandard(result: Any) -> pd.DataFrame:
    """Standardised (marginal) residuals, metafor's ``rstandard.rma.uni``: ``resid = y - Xb``,
    ``se = sqrt(diag((I - H) M (I - H)'))`` with ``M = diag(v + tau^2)``, ``z = resid/se``.
    Columns ``resid, se, z``, indexed by study label."""
    m = model_of(result)
    h = _hat_matrix(m)
    imh = np.eye(m.k) - h
    e = m.y - m.X @ m.beta
    e[np.abs(e) < 100 * _EPS] = 0.0
    ve = imh @ np.diag(m.v + m.tau2) @ imh.T
    se = np.sqrt(np.diag(ve))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = e / se
    return pd.DataFrame({"resid": e, "se": se, "z": z}, index=pd.Index(list(m.slab), name="slab"))


def rstudent(result: Any) -> pd.DataFrame:
    """Studentised deleted residuals, metafor's ``rstudent.rma.uni``: ``resid = y_i -
    x_i'b_(-i)``, ``se = sqrt(s2w_(-i) (v_i + tau2_(-i)) + x_i'Var_(-i)(b) x_i)``, ``z``.
    Columns ``resid, se, z``, indexed by study label."""
    m = model_of(result)
    _check_k(m, "rstudent")
    d = _deletion_fits(m)
    resid = m.y - d.pred
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    se = np.sqrt(m.v * d.s2w + d.vpred + d.tau2 * d.s2w)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = resid / se
    return pd.DataFrame(
        {"resid": resid, "se": se, "z": z}, index=pd.Index(list(m.slab), name="slab")
    )


@dataclass(frozen=True, eq=False)
class BaujatResult:
    """The coordinates of metafor's Baujat plot: ``x`` (contribution of each study to the
    (residual) Q: the squared Pearson residual ``(y_i - x_i'b)^2 / (v_i + tau^2)``), ``y``
    (influence on the fitted value: ``(x_i'b_(-i) - x_i'b)^2 / x_i'Var_(-i)(b) x_i``), ``slab``,
    and the axis labels metafor uses."""

    x: FloatArray = field(repr=False)
    y: FloatArray = field(repr=False)
    slab: tuple[str, ...] = field(repr=False)
    xlab: str
    ylab: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"x": self.x, "y": self.y}, index=pd.Index(self.slab, name="slab"))


def baujat(result: Any) -> BaujatResult:
    """The Baujat et al. (2002) diagnostics as metafor's ``baujat.rma`` computes them (see
    :class:`BaujatResult`); draw them with
    :func:`metareview.report.diagnostic_plots.baujat_plot`."""
    m = model_of(result)
    _check_k(m, "baujat")
    d = _deletion_fits(m)
    pred_full = m.X @ m.beta
    with np.errstate(invalid="ignore", divide="ignore"):
        y = (d.pred - pred_full) ** 2 / d.vpred
    x = (m.y - pred_full) ** 2 / (m.tau2 + m.v)
    if m.method in ("EE", "FE"):
        xlab = (
            "Contribution to Overall Heterogeneity" if m.int_only
            else "Contribution to Residual Heterogeneity"
        )
    else:
        xlab = "Squared Pearson Residual"
    ylab = "Influence on Overall Result" if m.int_only else "Influence on Fitted Value"
    return BaujatResult(x=x, y=y, slab=m.slab, xlab=xlab, ylab=ylab)
