"""Meta-regressions fitted to many subsets of one data set at once (the batched core behind
:func:`~metareview.models.gosh` of an :func:`~metareview.models.rma_reg` fit).

Row ``i`` of the boolean matrix ``incl`` (``n`` subsets x ``k`` studies) selects the studies of
one fit of ``y = X beta + u + e`` (metafor's ``rma.uni`` with ``mods``). A study left out of a
subset gets weight 0, so every quantity is a masked weighted sum over the ``k`` studies and the
``p x p`` systems are solved for all rows at once (``numpy.linalg.solve`` on stacked matrices).
No ``k x k`` matrix is formed: with ``W = diag(w)``, ``A = X'WX``, ``beta = A^-1 X'Wy``,
``r = y - X beta`` and ``P = W - WXA^-1X'W``,

    y'Py = sum w r^2,    Py = w r (so y'PPy = sum (w r)^2),
    tr P = sum w - tr(A^-1 X'W^2X),
    tr(PP) = sum w^2 - 2 tr(A^-1 X'W^3X) + tr((A^-1 X'W^2X)^2).

The estimators, their stopping rules and truncation are those of
:func:`metareview.models.regression._estimate_tau2` (metafor 3.8-1 ``rma.uni``) step for step,
so each row equals the one-at-a-time fit ``rma_reg(yi[S], vi[S], mods=X[S])`` to rounding:

- DL ``(y'Py - (k-p)) / tr P`` and HS ``(y'Py - k) / sum w`` (``w = 1/v``); HSk
  ``(k/(k-p) y'Py - k) / sum w``;
- HE ``(y'(I-H)y - tr((I-H)V)) / (k-p)``, ``tr((I-H)V) = sum v - tr((X'X)^-1 X'VX)``;
- SJ ``tau0^2 y'Py / (k-p)`` at ``w = 1/(v + tau0^2)``;
- PM / PMM: the root of ``y'P(t)y = k - p`` / ``qchisq(0.5, k - p)`` by Newton's method from
  0 (``y'P(t)y`` is decreasing and convex: its derivatives are ``-y'PPy`` and ``2 y'PPPy``),
  safeguarded by bisection;
- REML, ML, EB: Fisher scoring from ``max(0, HE)`` with metafor's step halving; where it does
  not settle within ``maxiter`` steps, the root of its estimating equation (as the
  one-at-a-time fit then does, there by Brent's method, here by bisection to the same
  tolerance); then (REML, ML) metafor's ``ll0check``.

Rows whose root is not bracketed are returned in ``redo`` for the caller to fit one at a time
(that path raises the error that makes a NaN row).

References
----------
metafor 3.8-1: ``rma.uni`` and ``gosh.rma`` (R source).
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. Journal of Educational and Behavioral Statistics, 30(3), 261-293.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metareview.models._core import Control, _halve_steps

__all__ = ["VECTOR_METHODS", "fit_subsets"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: The ``rma_reg`` methods fitted here (metafor's spelling, as ``RegResult.method``); GENQ and
#: GENQM (user weights) are fitted one subset at a time.
VECTOR_METHODS: frozenset[str] = frozenset(
    {"EE", "FE", "DL", "HS", "HSk", "HE", "SJ", "PM", "PMM", "REML", "ML", "EB"}
)
#: The smallest eigenvalue of ``X_S'X_S`` below which a subset's model matrix is rank-deficient
#: (as :func:`metareview.models.regression._fit`).
_EVTOL = 1e-7


class _Data:
    """The studies (``y, v, X``), their products for the stacked ``p x p`` systems, and the
    inclusion mask of the rows being fitted."""

    def __init__(
        self, y: FloatArray, v: FloatArray, X: FloatArray, mask: FloatArray,
        products: tuple[FloatArray, FloatArray] | None = None,
    ) -> None:  # fmt: skip
        self.y, self.v, self.X, self.mask = y, v, X, mask
        self.p = X.shape[1]
        if products is None:  # x_j x_j' (flattened) and x_j y_j, shared by every row
            products = ((X[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1), X * y[:, None])
        self.XX, self.Xy = products
        self.k = mask.sum(axis=1)
        self.df = self.k - self.p
        self.vbar = (mask @ v) / self.k

    def rows(self, idx: NDArray[np.intp]) -> _Data:
        return _Data(self.y, self.v, self.X, self.mask[idx], (self.XX, self.Xy))

    def gram(self, w: FloatArray) -> FloatArray:
        """``X'WX`` per row, shape (n, p, p)."""
        return (w @ self.XX).reshape(w.shape[0], self.p, self.p)

    def wls(self, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``A = X'WX``, ``beta = A^-1 X'Wy`` and the residuals ``y - X beta`` per row."""
        a = self.gram(w)
        beta = np.asarray(np.linalg.solve(a, (w @ self.Xy)[..., None])[..., 0], dtype=np.float64)
        return a, beta, self.y - beta @ self.X.T

    def weights(self, t: FloatArray) -> FloatArray:
        """``w = 1/(v + t)`` on the studies of each row, 0 elsewhere."""
        out: FloatArray = self.mask / (self.v[None, :] + t[:, None])
        return out


def _trace_ab(a: FloatArray, b: FloatArray) -> FloatArray:
    """``tr(A^-1 B)`` per row."""
    return np.einsum("nii->n", np.linalg.solve(a, b))


def _rss(w: FloatArray, r: FloatArray) -> FloatArray:
    return np.einsum("nj,nj->n", w * r, r)


def _q(d: _Data, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``Q(t) = y'P(t)y`` and its derivative ``-y'P(t)P(t)y`` per row."""
    w = d.weights(t)
    _, _, r = d.wls(w)
    wr = w * r
    return np.einsum("nj,nj->n", wr, r), -np.einsum("nj,nj->n", wr, wr)


def _score_terms(d: _Data, t: FloatArray, method: str) -> tuple[FloatArray, FloatArray]:
    """Numerator and denominator of the Fisher scoring step at ``t`` (regression._estimate_tau2):
    REML ``(y'PPy - tr P) / tr(PP)``, ML ``(y'PPy - sum w) / sum w^2``, EB
    ``(y'Py k/(k-p) - k) / sum w``."""
    w = d.weights(t)
    a, _, r = d.wls(w)
    wr = w * r
    sw = w.sum(axis=1)
    if method == "EB":
        return np.einsum("nj,nj->n", wr, r) * d.k / d.df - d.k, sw
    ypy2 = np.einsum("nj,nj->n", wr, wr)
    w2 = w * w
    if method == "ML":
        return ypy2 - sw, w2.sum(axis=1)
    b2 = d.gram(w2)
    c = np.linalg.solve(a, b2)
    trp = sw - np.einsum("nii->n", c)
    trpp = (w2.sum(axis=1) - 2.0 * _trace_ab(a, d.gram(w2 * w))
            + np.einsum("nij,nji->n", c, c))  # fmt: skip
    return ypy2 - trp, trpp


def _loglik(d: _Data, t: FloatArray, method: str) -> FloatArray:
    """(Restricted) log-likelihood without the constants that cancel in the ``ll0check``:
    ``-1/2 sum log(v + t) - 1/2 y'Py``, REML ``- 1/2 log det(X'WX)``."""
    w = d.weights(t)
    a, _, r = d.wls(w)
    logv = np.log(d.v[None, :] + t[:, None])
    ll = -0.5 * np.einsum("nj,nj->n", d.mask, logv) - 0.5 * _rss(w, r)
    if method == "REML":
        ll = ll - 0.5 * np.linalg.slogdet(a)[1]
    return np.asarray(ll, dtype=np.float64)


def _tau2_he(d: _Data) -> FloatArray:
    a, _, r = d.wls(d.mask)
    trhv = _trace_ab(a, d.gram(d.mask * d.v[None, :]))
    return (_rss(d.mask, r) - (d.mask @ d.v - trhv)) / d.df


def _root(d: _Data, target: FloatArray, control: Control) -> tuple[FloatArray, BoolArray]:
    """The root of ``Q(t) = target`` (0 when ``Q(0) < target``), and which rows found one."""
    n = d.mask.shape[0]
    t = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    q0, _ = _q(d, t)
    need = np.flatnonzero(q0 >= target)
    if need.size == 0:
        return t, ok
    sub = d.rows(need)
    tg = target[need]
    ym = (sub.mask @ d.y) / sub.k
    var = (sub.mask * (d.y[None, :] - ym[:, None]) ** 2).sum(axis=1) / (sub.k - 1.0)
    hi = np.maximum(100.0, 10.0 * var)
    for _ in range(300):
        qh, _ = _q(sub, hi)
        grow = qh > tg
        if not grow.any():
            break
        hi = np.where(grow, hi * 10.0, hi)
    bracketed = ~grow
    lo = np.zeros(need.size)
    cur = np.zeros(need.size)
    live = bracketed.copy()
    for _ in range(max(control.maxiter, 200)):
        idx = np.flatnonzero(live)
        if idx.size == 0:
            break
        q, dq = _q(sub.rows(idx), cur[idx])
        f = q - tg[idx]
        la = np.where(f > 0, cur[idx], lo[idx])
        ha = np.where(f < 0, cur[idx], hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = cur[idx] - f / dq
        good = np.isfinite(newton) & (newton > la) & (newton < ha)
        new = np.where(good, newton, 0.5 * (la + ha))
        new = np.where(f == 0, cur[idx], new)
        scale = control.tol * (np.abs(new) + sub.vbar[idx])
        done = (np.abs(new - cur[idx]) <= scale) | (f == 0) | ((ha - la) <= scale)
        cur[idx], lo[idx], hi[idx] = new, la, ha
        live[idx[done]] = False
    t[need] = cur
    ok[need] = bracketed & ~live
    return t, ok


def _scoring(d: _Data, method: str, control: Control) -> tuple[FloatArray, BoolArray]:
    """Fisher scoring (REML, ML, EB) from ``max(0, HE)``, as regression._estimate_tau2: a step
    that would make tau^2 negative is halved until it does not, or tau^2 is 0 at once when the
    equation is already negative at 0; stops when ``|step| <= threshold * max(tau2, mean v)``.
    Returns tau^2 and which rows converged within ``maxiter`` steps."""
    n = d.mask.shape[0]
    t = np.maximum(0.0, _tau2_he(d))
    num0, _ = _score_terms(d, np.zeros(n), method)
    u0_neg = num0 <= 0
    conv = np.zeros(n, dtype=bool)
    live = np.arange(n)
    for _ in range(control.maxiter):
        if live.size == 0:
            break
        tl = t[live]
        num, den = _score_terms(d.rows(live), tl, method)
        with np.errstate(divide="ignore", invalid="ignore"):
            adj = num / den
        adj[np.isnan(adj)] = 0.0
        to_zero = (tl + adj < 0) & u0_neg[live]
        adj = _halve_steps(tl, adj)
        new = tl + adj
        done = np.abs(adj) <= control.threshold * np.maximum(new, d.vbar[live])
        new[to_zero] = 0.0
        done |= to_zero
        t[live] = new
        conv[live[done]] = True
        live = live[~done]
    return t, conv


def _score_root(
    d: _Data, t: FloatArray, conv: BoolArray, method: str, control: Control
) -> tuple[FloatArray, BoolArray]:
    """The rows of ``t`` whose Fisher scoring did not settle (``~conv``), solved as
    regression._estimate_tau2 solves them then: tau^2 = 0 when the estimating equation
    ``u(t)`` (the numerator of :func:`_score_terms`) is ``<= 0`` at 0, else its root on
    ``[0, hi]``, ``hi = max(10 |HE|, mean v)`` multiplied by 4 until ``u(hi) < 0`` (at most 200
    times). The one-at-a-time path finds the root by Brent's method with ``xtol = tol/1000``,
    ``rtol = 4 eps``; here bisection stops at the same bound, ``hi - lo <= xtol + rtol mid``,
    so both are within it of the root. Rows with no bracket stay unconverged."""
    t, conv = t.copy(), conv.copy()
    idx = np.flatnonzero(~conv)
    sub = d.rows(idx)
    u0, _ = _score_terms(sub, np.zeros(idx.size), method)
    zero = u0 <= 0
    t[idx[zero]] = 0.0
    conv[idx[zero]] = True
    rest = np.flatnonzero(~zero)
    if rest.size == 0:
        return t, conv
    s = sub.rows(rest)
    hi = np.maximum(10.0 * np.abs(_tau2_he(s)), s.vbar)
    bracketed = np.zeros(rest.size, dtype=bool)
    for _ in range(200):
        grow = np.flatnonzero(~bracketed)
        if grow.size == 0:
            break
        f, _ = _score_terms(s.rows(grow), hi[grow], method)
        neg = f < 0
        bracketed[grow[neg]] = True
        hi[grow[~neg]] *= 4.0
    xtol, rtol = control.tol * 1e-3, 4.0 * np.finfo(np.float64).eps
    lo = np.zeros(rest.size)
    live = bracketed.copy()
    for _ in range(max(control.maxiter, 500)):
        i = np.flatnonzero(live)
        if i.size == 0:
            break
        mid = 0.5 * (lo[i] + hi[i])
        f, _ = _score_terms(s.rows(i), mid, method)
        lo[i] = np.where(f >= 0, mid, lo[i])  # u(mid) = 0: both ends move to mid
        hi[i] = np.where(f > 0, hi[i], mid)
        width = hi[i] - lo[i]
        live[i[width <= xtol + rtol * np.abs(0.5 * (lo[i] + hi[i]))]] = False
    ok = bracketed & ~live
    t[idx[rest[ok]]] = 0.5 * (lo[ok] + hi[ok])
    conv[idx[rest[ok]]] = True
    return t, conv


def fit_subsets(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    incl: BoolArray,
    *,
    method: str,
    control: Control,
    tau2: float | None = None,
) -> tuple[dict[str, FloatArray], BoolArray]:
    """Fit the meta-regression of ``(y, v, X)`` to the studies of every row of ``incl``.

    Parameters
    ----------
    y, v : ndarray, shape (k,)
    X : ndarray, shape (k, p)
        The model matrix of the full fit.
    incl : ndarray of bool, shape (n, k)
        The subsets (rows of at least ``p`` studies).
    method : str
        One of :data:`VECTOR_METHODS` (``RegResult.method``).
    control : Control
        ``threshold``, ``tol``, ``maxiter`` and the SJ start ``tau2_init``, as the fit's.
    tau2 : float, optional
        A fixed tau^2 (no estimation).

    Returns
    -------
    cols : dict
        ``QE, I2, H2, tau2`` (n,) and ``beta`` (n, p): NaN where the subset has too few studies
        for the coefficients (and tau^2), or a model matrix not of full rank (metafor drops a
        coefficient there, and its gosh() then stores NA for the row).
    redo : ndarray of bool, shape (n,)
        Rows to fit one at a time (no root bracketed here).
    """
    n, _ = incl.shape
    p = X.shape[1]
    is_ee = method in ("EE", "FE")
    fixed = tau2 is not None and not is_ee
    mask = incl.astype(np.float64)
    kf = mask.sum(axis=1)
    need = p if (is_ee or fixed) else p + 1
    ok = kf >= need
    if ok.any():
        xtx = (mask[ok] @ (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)).reshape(-1, p, p)
        rank_ok = np.linalg.eigvalsh(xtx)[:, 0] > _EVTOL
        ok[np.flatnonzero(ok)[~rank_ok]] = False
    cols = {name: np.full(n, np.nan) for name in ("QE", "I2", "H2", "tau2")}
    cols["beta"] = np.full((n, p), np.nan)
    redo = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return cols, redo
    d = _Data(y, v, X, mask[rows])
    conv = np.ones(rows.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w0 = d.mask / v[None, :]
        a0, _, r0 = d.wls(w0)
        rss0 = _rss(w0, r0)
        trp0 = w0.sum(axis=1) - _trace_ab(a0, d.gram(w0 * w0))
        if is_ee:
            t = np.zeros(rows.size)
        elif fixed:
            assert tau2 is not None
            t = np.full(rows.size, float(tau2))
        elif method == "DL":
            t = (rss0 - d.df) / trp0
        elif method == "HS":
            t = (rss0 - d.k) / w0.sum(axis=1)
        elif method == "HSk":
            t = (d.k / d.df * rss0 - d.k) / w0.sum(axis=1)
        elif method == "HE":
            t = _tau2_he(d)
        elif method == "SJ":
            if control.tau2_init is not None:
                t0 = np.full(rows.size, float(control.tau2_init))
            else:
                ym = (d.mask @ y) / d.k
                t0 = (d.mask * (y[None, :] - ym[:, None]) ** 2).sum(axis=1) / d.k
            q, _ = _q(d, t0)
            t = t0 * q / d.df
        elif method in ("PM", "PMM"):
            target = special.chdtri(d.df, 0.5) if method == "PMM" else d.df.copy()
            t, conv = _root(d, target, control)
        elif method in ("REML", "ML", "EB"):
            t, conv = _scoring(d, method, control)
            if not conv.all():
                t, conv = _score_root(d, t, conv, method, control)
            if method != "EB":
                check = np.flatnonzero(conv & (t > control.threshold))
                if check.size:
                    sub = d.rows(check)
                    gain = _loglik(sub, np.zeros(check.size), method) - _loglik(
                        sub, t[check], method
                    )
                    t[check[gain > control.tol]] = 0.0
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(f"method {method!r} is not batched")
        if not (is_ee or fixed):
            t = np.maximum(t, 0.0)
        _, beta, _ = d.wls(d.weights(t))
        df = d.df
        has_df = df > 0
        qe = np.where(has_df, np.maximum(rss0, 0.0), 0.0)
        vt = np.where(has_df, df / trp0, 0.0)
        if is_ee:
            i2 = np.where(qe > 0, np.maximum(0.0, 100.0 * (qe - df) / qe), 0.0)
            h2 = qe / df
        else:
            i2 = 100.0 * t / (vt + t)
            h2 = t / vt + 1.0
        i2 = np.where(has_df, i2, 0.0)
        h2 = np.where(has_df, h2, 1.0)
    good = rows[conv]
    cols["QE"][good], cols["I2"][good], cols["H2"][good] = qe[conv], i2[conv], h2[conv]
    cols["tau2"][good] = t[conv]
    cols["beta"][good] = beta[conv]
    redo[rows[~conv]] = True
    return cols, redo
