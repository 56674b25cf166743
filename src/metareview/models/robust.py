"""``robust()``: cluster-robust (sandwich) inference for ``rma``, ``rma_reg`` and ``rma_mv`` fits.

>>> from metareview.models import rma_mv, robust
>>> res = rma_mv("yi", "vi", data=dat, random="~ 1 | district/school")   # doctest: +SKIP
>>> print(robust(res, cluster=dat["district"]))                            # doctest: +SKIP
>>> print(robust(res, cluster="district", clubsandwich=True))               # doctest: +SKIP

With ``W`` the model's weight matrix (``diag(1/(v_i + tau^2))`` for ``rma``/``rma_reg``,
``M^-1`` for ``rma_mv``), ``B = (X'WX)^-1`` and ``e = y - X beta``:

* CR1 (metafor's default ``robust()``; Hedges, Tipton & Johnson 2010): with the "bread"
  ``B X'W`` and one residual block ``e_j e_j'`` per cluster,
  ``Var(beta) = n/(n - p) * sum_j (B X'W)_j e_j e_j' (B X'W)_j'`` (``n`` clusters; the factor is
  dropped with ``adjust=False``, CR0). Tests are t-tests and an F-test on ``n - p`` df.
* CR2 (``clubsandwich=True``: metafor's ``robust(..., clubSandwich=TRUE)``, i.e. clubSandwich's
  ``vcovCR(type="CR2")`` and ``coef_test(test="Satterthwaite")``; Bell & McCaffrey 2002,
  Pustejovsky & Tipton 2018): each cluster's residuals are first multiplied by
  ``A_j = D_j' (D_j (I - X_j B X_j' W_j) Theta_j D_j')^-1/2 D_j`` with ``Theta_j = W_j^-1``
  the working covariance and ``D_j`` its upper Cholesky factor (``Theta_j = D_j' D_j``);
  ``Var(beta) = B (sum_j X_j'W_j A_j e_j e_j' A_j W_j X_j) B``. The df of coefficient ``i`` is
  Satterthwaite's ``2 E^2 / V`` with ``E = tr P_i``, ``V = 2 sum(P_i^2)``, where the
  ``n x n`` matrix ``P_i = diag_j(|g_ij|^2) - H_i'H_i``, ``g_ij = (B X_j'W_j A_j D_j')_i``
  (row ``i``) and column ``j`` of ``H_i`` is row ``i`` of ``B X_j'W_j A_j X_j L`` with
  ``L L' = B``. CR2 needs the model's random effects nested within the clusters.

References
----------
Hedges, L. V., Tipton, E., & Johnson, M. C. (2010). Robust variance estimation in
    meta-regression with dependent effect size estimates. Research Synthesis Methods, 1(1),
    39-65.
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
    with multi-stage samples. Survey Methodology, 28(2), 169-181.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
    estimation and hypothesis testing in fixed effects models. Journal of Business & Economic
    Statistics, 36(4), 672-683.
metafor's ``robust.rma.uni``/``robust.rma.mv`` (metafor 3.8-1); clubSandwich 0.5.8
    (``vcovCR``, ``coef_test``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse, special

from metareview._json import finite_or_none, jsonable
from metareview.errors import InputError
from metareview.models._core import alpha_from_level
from metareview.models._printer import (
    SIGNIF_CODES,
    Block,
    Field,
    Printable,
    Printed,
    Table,
    moderators_heading,
    num,
    pval,
    render_text,
    stars,
)
from metareview.models.rma import _readonly

__all__ = ["RobustResult", "robust"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RobustResult(Printed):
    """Cluster-robust tests of a fitted model (metafor's ``robust()`` result).

    ``beta`` as fitted; ``se``, ``zval`` (t values), ``pval``, ``ci_lb``/``ci_ub`` from the
    robust ``vb``; ``ddf`` the t df per coefficient (``n - p`` for CR1, Satterthwaite for CR2);
    ``QM``/``QMp`` the robust F-test of the coefficients ``btt`` on ``QMdf`` df (CR1: Wald
    F on ``n - p`` df; CR2: clubSandwich's HTZ test); ``n_clusters`` and ``cluster_sizes``;
    ``vcov_type`` is "CR0", "CR1" or "CR2". ``model`` is the fitted model.
    """

    model: Any = field(repr=False)
    vcov_type: str
    coef_names: tuple[str, ...]
    beta: FloatArray = field(repr=False)
    se: FloatArray = field(repr=False)
    zval: FloatArray = field(repr=False)
    pval: FloatArray = field(repr=False)
    ci_lb: FloatArray = field(repr=False)
    ci_ub: FloatArray = field(repr=False)
    vb: FloatArray = field(repr=False)
    ddf: FloatArray = field(repr=False)
    QM: float | None
    QMp: float | None
    QMdf: tuple[int, float] | None
    btt: tuple[int, ...]
    n_clusters: int
    cluster_sizes: tuple[int, ...] = field(repr=False)
    level: float = 95.0

    @property
    def coefficients(self) -> pd.DataFrame:
        """The robust coefficient table: ``estimate, se, tval, df, pval, ci_lb, ci_ub``."""
        return pd.DataFrame(
            {"estimate": self.beta, "se": self.se, "tval": self.zval, "df": self.ddf,
             "pval": self.pval, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub},
            index=pd.Index(self.coef_names, name="coef"))

    def summary(self, digits: int = 4, signif_stars: bool = True) -> str:
        """As metafor prints a ``robust()`` result: the model's header and heterogeneity, the
        cluster counts, then the robust tests (marked ``¹``)."""
        return render_text(self._printable(digits=digits, signif_stars=signif_stars))

    def _printable(self, digits: int = 4, signif_stars: bool = True) -> Printable:
        base = list(self.model._printable(digits=digits, signif_stars=signif_stars).blocks)
        # keep the model's blocks up to its tests of moderators / model results
        cut = next((i for i, b in enumerate(base) if isinstance(b, str) and (
            b.startswith("Test of Moderators") or b == "Model Results:")), len(base))
        out: list[Block] = base[:cut]
        sizes = np.array(self.cluster_sizes)
        mean = float(sizes.mean())
        med = float(np.median(sizes))
        out += [
            Field("Number of estimates:   ", str(int(sizes.sum()))),
            Field("Number of clusters:    ", str(self.n_clusters)),
            # (metafor: one number when every cluster has as many estimates)
            Field("Estimates per cluster: ", str(sizes[0]) if np.all(sizes == sizes[0]) else
                  f"{sizes.min()}-{sizes.max()} (mean: {mean:.2f}, median: {med:g})"),
            "",
        ]
        cr2 = self.vcov_type == "CR2"
        p = self.beta.size
        int_only = p == 1 and self.coef_names == ("intrcpt",)
        if not int_only and self.QM is not None and self.QMdf is not None:
            out.append(moderators_heading(self.btt, "\u00b9"))
            out.append(Field(f"F(df1 = {self.QMdf[0]}, df2 = {_df_text(self.QMdf[1])}) = ",
                             f"{num(self.QM, digits)}, p-val {pval(self.QMp, digits, True)}"))
            out.append("")
        out += ["Model Results:", ""]
        sup = "\u00b9"
        header = ["estimate", f"se{sup}", f"tval{sup}", f"df{sup}", f"pval{sup}",
                  f"ci.lb{sup}", f"ci.ub{sup}"]
        rows = []
        for j in range(p):
            row = [num(float(self.beta[j]), digits), num(float(self.se[j]), digits) + " ",
                   num(float(self.zval[j]), digits) + " ", _df_text(float(self.ddf[j])) + " ",
                   pval(float(self.pval[j]), digits) + " ",
                   num(float(self.ci_lb[j]), digits) + " ", num(float(self.ci_ub[j]), digits)
                   + " "]
            if signif_stars:
                row.append(stars(float(self.pval[j])) or " ")
            rows.append(row)
        if signif_stars:
            header.append("")
        names = None if int_only else [n + " " for n in ["", *self.coef_names]]
        out.append(Table(header, rows, row_names=names, end=" "))
        if signif_stars:
            out.append(SIGNIF_CODES)
        tests = "t-test and confidence interval" if int_only else \
            "t/F-tests and confidence intervals"
        if cr2 and int_only:
            tests = "t-test and confidence interval"
        dfm = "Satterthwaite approx" if cr2 else "residual method"
        out += ["", f"1) results based on cluster-robust inference (var-cov estimator: "
                    f"{self.vcov_type},", f"   approx {tests}, df: {dfm})", ""]
        return Printable(out)

    def to_dict(self) -> dict[str, Any]:
        """The robust results as JSON-safe values (NaN -> None)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "model":
                continue
            val = getattr(self, name)
            out[name] = finite_or_none(val) if isinstance(val, float) else jsonable(val)
        return out


def _df_text(df: float) -> str:
    """Degrees of freedom as metafor prints them (rounded to 2 decimals, no trailing zeros)."""
    return f"{round(float(df), 2):g}"


# --------------------------------------------------------------------------- model pieces


def _model_parts(result: Any) -> tuple[FloatArray, FloatArray, FloatArray, Any, tuple[str, ...],
                                       tuple[int, ...], float]:
    """``(y, X, beta, W-blocks, names, btt, level)`` of an rma, rma_reg or rma_mv result.

    The weight blocks are ``(indices (nb, m), W (nb, m, m))`` pairs covering every row.
    """
    from metareview.models.multilevel import RMAMVResult
    from metareview.models.regression import RegResult
    from metareview.models.rma import RMAResult

    if isinstance(result, RMAMVResult):
        blocks = []
        for idx, mm in result.M_blocks:
            blocks.append((idx, np.linalg.inv(mm)))
        return (np.asarray(result.yi), np.asarray(result.X), np.asarray(result.beta), blocks,
                result.coef_names, result.btt, result.level)
    if isinstance(result, RegResult):
        y, x, beta = np.asarray(result.yi), np.asarray(result.X), np.asarray(result.beta)
        w = 1.0 / (np.asarray(result.vi) + result.tau2)
        return y, x, beta, _diag_blocks(w), result.coef_names, result.btt, result.level
    if isinstance(result, RMAResult):
        y = np.asarray(result.yi)
        w = 1.0 / (np.asarray(result.vi) + result.tau2)
        return (y, np.ones((y.size, 1)), np.array([result.beta]), _diag_blocks(w),
                ("intrcpt",), (0,), result.level)
    raise InputError("robust() takes a result of rma, rma_reg or rma_mv", field="result")


def _diag_blocks(w: FloatArray) -> list[tuple[NDArray[np.int64], FloatArray]]:
    idx = np.arange(w.size, dtype=np.int64)[:, None]
    return [(idx, w[:, None, None].copy())]


def _cluster_codes(cluster: Any, result: Any, k: int) -> NDArray[np.int64]:
    if isinstance(cluster, str):
        data = getattr(result, "data", None)
        if data is None or cluster not in data.columns:
            raise InputError(f"cluster {cluster!r}: pass the cluster values (e.g. "
                             "dat['district'])", field="cluster")
        cluster = data[cluster]
    vals = pd.Series(np.asarray(cluster.to_numpy() if isinstance(cluster, pd.Series)
                                else cluster, dtype=object))
    if len(vals) != k:
        raise InputError(f"cluster has {len(vals)} values for k = {k} estimates",
                         field="cluster")
    miss = vals.isna().to_numpy()
    if miss.any():
        raise InputError("missing cluster value", row=int(np.flatnonzero(miss)[0]) + 1,
                         field="cluster")
    codes, _ = pd.factorize(vals, sort=True)
    out: NDArray[np.int64] = codes.astype(np.int64)
    return out


# --------------------------------------------------------------------------- public function


def robust(
    result: Any,
    cluster: Any,
    *,
    clubsandwich: bool = False,
    adjust: bool = True,
) -> RobustResult:
    """Cluster-robust tests and CIs for a fitted model (metafor's ``robust()``).

    Parameters
    ----------
    result : RMAResult, RegResult or RMAMVResult
        A fit of :func:`rma`, :func:`rma_reg` or :func:`rma_mv`.
    cluster : array-like
        The cluster of each estimate (in the order of the fitted rows).
    clubsandwich : bool
        False: CR1 (CR0 with ``adjust=False``) with t-tests on ``n - p`` df, as metafor's
        default. True: CR2 with Satterthwaite df, as clubSandwich's ``coef_test(vcov="CR2")``.
    adjust : bool
        The small-sample factor ``n/(n - p)`` of CR1 (metafor's ``adjust=TRUE``).

    Returns
    -------
    RobustResult

    Raises
    ------
    InputError
        A cluster vector of the wrong length or with missing values, fewer clusters than
        coefficients + 1 (CR1), or (CR2) random effects not nested within the clusters.
    """
    y, x, beta, wblocks, names, btt, level = _model_parts(result)
    k, p = x.shape
    codes = _cluster_codes(cluster, result, k)
    n = int(codes.max()) + 1
    dfs = n - p
    if not clubsandwich and dfs <= 0:
        raise InputError(f"number of clusters ({n}) must be larger than the number of "
                         f"coefficients ({p})", field="cluster")
    if n < 2:
        raise InputError("cluster-robust inference needs at least two clusters",
                         field="cluster")
    e = y - x @ beta
    # W X row by row from the blocks (W is block diagonal)
    wx = np.zeros((k, p))
    for idx, w in wblocks:  # rows with idx -1 pad a block (identity, decoupled): skipped
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        xb = np.where(ok[:, :, None], x[safe], 0.0)
        wx[idx[ok]] = np.einsum("bij,bjp->bip", w, xb)[ok]
    bmat = np.asarray(np.linalg.inv(x.T @ wx), dtype=float)  # (X'WX)^-1
    sizes = np.bincount(codes, minlength=n)
    alpha = alpha_from_level(level)
    if not clubsandwich:
        # u_j = B X_j' W_j e_j summed within clusters (bread times the cluster residuals)
        u = np.zeros((n, p))
        np.add.at(u, codes, wx * e[:, None])
        meat = u.T @ u
        vb = bmat @ meat @ bmat
        vtype = "CR0"
        if adjust:
            vb = vb * n / dfs
            vtype = "CR1"
        se = np.sqrt(np.diag(vb))
        tval = beta / se
        ddf = np.full(p, float(dfs))
        pv = 2.0 * special.stdtr(dfs, -np.abs(tval))
        crit = np.full(p, float(-special.stdtrit(dfs, alpha / 2.0)))
        bsel = beta[list(btt)]
        m = len(btt)
        qm = float(bsel @ np.linalg.solve(vb[np.ix_(btt, btt)], bsel)) / m
        qmp = float(special.fdtrc(m, dfs, qm))
        qmdf: tuple[int, float] | None = (m, float(dfs))
        qm_o: float | None = qm
        qmp_o: float | None = qmp
    else:
        vb, ddf, ggs, harr = _cr2(x, e, wblocks, codes, n, bmat)
        vtype = "CR2"
        se = np.sqrt(np.diag(vb))
        tval = beta / se
        pv = 2.0 * special.stdtr(ddf, -np.abs(tval))
        crit = -special.stdtrit(ddf, alpha / 2.0)
        qm_o, qmp_o, df2 = _htz(beta, vb, ggs, harr, btt)
        qmdf = (len(btt), df2)
    return RobustResult(
        model=result, vcov_type=vtype, coef_names=tuple(names), beta=_readonly(beta),
        se=_readonly(se), zval=_readonly(tval), pval=_readonly(np.asarray(pv, dtype=float)),
        ci_lb=_readonly(beta - crit * se), ci_ub=_readonly(beta + crit * se),
        vb=_readonly(vb), ddf=_readonly(np.asarray(ddf, dtype=float)), QM=qm_o, QMp=qmp_o,
        QMdf=qmdf, btt=tuple(btt), n_clusters=n,
        cluster_sizes=tuple(int(s) for s in sizes), level=level,
    )


def _htz(
    beta: FloatArray, vb: FloatArray, ggs: FloatArray, harr: FloatArray, btt: tuple[int, ...]
) -> tuple[float, float, float]:
    """clubSandwich's HTZ Wald test of ``beta[btt] = 0`` (Pustejovsky & Tipton 2018, sec. 3.2):
    ``F = delta Q/q`` on ``(q, nu - q + 1)`` df, ``delta = (nu - q + 1)/nu``, with
    ``Q = b'(C V C')^-1 b`` and ``nu = q(q+1) / sum_st Var_st``, where for the ``q x q`` blocks
    ``P_st = diag_j((C G_j G_j' C')_st) - H_s'H_t`` and ``B = Omega^-1/2 P Omega^-1/2``
    (``Omega_st = tr P_st``), ``Var_st = sum(B_st * B_ts) + sum(B_ss * B_tt)``.

    Returns ``(F, p, df2)``."""
    c = np.zeros((len(btt), beta.size))
    c[np.arange(len(btt)), list(btt)] = 1.0
    q = c.shape[0]
    cb = c @ beta
    qstat = float(cb @ np.linalg.solve(c @ vb @ c.T, cb))
    gg = np.einsum("ai,jik,bk->abj", c, ggs, c)  # (q, q, J)
    hc = np.einsum("ai,iuj->auj", c, harr)  # (q, u, J)
    nj = gg.shape[2]
    parr = np.zeros((q, q, nj, nj))
    for a in range(q):
        for b in range(q):
            parr[a, b] = -hc[a].T @ hc[b] + np.diag(gg[a, b])
    omega = np.einsum("abjj->ab", parr)
    ev, evec = np.linalg.eigh(0.5 * (omega + omega.T))
    on = (evec / np.sqrt(ev)) @ evec.T
    bjk = np.einsum("sa,abjk,bt->stjk", on, parr, on)
    var = np.zeros((q, q))
    for s_ in range(q):
        for t in range(q):
            var[s_, t] = float(np.sum(bjk[s_, t] * bjk[t, s_]) + np.sum(bjk[s_, s_] * bjk[t, t]))
    nu = q * (q + 1) / float(np.sum(var))
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    fstat = delta * qstat / q
    return fstat, float(special.fdtrc(q, df2, fstat)) if df2 > 0 else float("nan"), df2


def _cr2(
    x: FloatArray, e: FloatArray, wblocks: Any, codes: NDArray[np.int64], n: int,
    bmat: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """CR2 ``Var(beta)`` and Satterthwaite df (module docstring), cluster by cluster; also
    ``G_j G_j'`` per cluster (``(n, p, p)``) and the ``H`` array (``(p, p, n)``) for HTZ."""
    k, p = x.shape
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[FloatArray] = []
    for idx, w in wblocks:
        m = idx.shape[1]
        rr = np.repeat(idx, m, axis=1).ravel()
        cc = np.tile(idx, (1, m)).ravel()
        keep = (rr >= 0) & (cc >= 0)
        rows.append(rr[keep])
        cols.append(cc[keep])
        vals.append(w.reshape(w.shape[0], -1).ravel()[keep])
    wfull = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                      np.concatenate(cols))), shape=(k, k))
    # random effects must be nested in the clusters: no weight links two clusters
    coo = wfull.tocoo()
    link = (codes[coo.row] != codes[coo.col]) & (coo.data != 0)
    if link.any():
        raise InputError("the model's random effects are not nested within the clusters "
                         "(CR2 needs them nested)", field="cluster")
    lchol = np.linalg.cholesky(bmat)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n))])
    comps = np.zeros((n, p))
    gsq = np.zeros((p, n))
    ggs = np.zeros((n, p, p))
    harr = np.zeros((p, p, n))
    for j in range(n):
        ix = order[bounds[j]:bounds[j + 1]]
        xj = x[ix]
        wj = np.asarray(wfull[ix][:, ix].todense())
        theta = np.linalg.inv(wj)
        theta = 0.5 * (theta + theta.T)
        dj = np.linalg.cholesky(theta).T  # upper: theta = D'D
        ih = np.eye(ix.size) - xj @ bmat @ (xj.T @ wj)
        gmat = dj @ ih @ theta @ dj.T
        gmat = 0.5 * (gmat + gmat.T)
        ev, evec = np.linalg.eigh(gmat)
        if np.min(ev) <= 1e-12 * max(1.0, float(np.max(np.abs(ev)))):
            ev = np.where(ev > 1e-12 * max(1.0, float(np.max(ev))), ev, np.inf)
        g_inv_half = (evec / np.sqrt(ev)) @ evec.T
        aj = dj.T @ g_inv_half @ dj
        ej = (xj.T @ wj) @ aj  # p x n_j adjusted estimating matrix
        comps[j] = ej @ e[ix]
        me = bmat @ ej
        gj = me @ dj.T
        gsq[:, j] = np.sum(gj * gj, axis=1)
        ggs[j] = gj @ gj.T
        harr[:, :, j] = me @ xj @ lchol
    vb = bmat @ (comps.T @ comps) @ bmat
    ddf = np.zeros(p)
    for i in range(p):
        hi = harr[i]  # p x n: column j is row i of B X_j'W_j A_j X_j L
        pmat = np.diag(gsq[i]) - hi.T @ hi
        ddf[i] = 2.0 * float(np.trace(pmat)) ** 2 / (2.0 * float(np.sum(pmat * pmat)))
    return vb, ddf, ggs, harr
