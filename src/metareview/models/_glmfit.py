"""Numerical kernels of :mod:`metareview.models.glmm`: R's ``glm.fit`` IRLS, lme4's adaptive
Gauss-Hermite marginal likelihood, and the non-central hypergeometric likelihood.

* :func:`glm_fit` follows R's ``glm.fit`` step by step (starting values ``mustart`` of the
  family, IRLS until ``|dev - devold| / (|dev| + 0.1) < 1e-8``, the covariance from the weights
  of the last iteration), so fits with a zero cell, whose estimates run off towards infinity,
  stop where R's stop.
* :func:`agq_deviance` is lme4's objective for a GLMM with one scalar random effect per study
  (``glmer(..., nAGQ=7)``; Bates et al. 2015, *J Stat Softw* 67(1); the AGQ rule of
  ``lme4:::GHrule``): with ``b_i = tau u_i``, ``u_i ~ N(0, 1)`` and ``devc_i(u)`` the study's
  deviance residuals plus ``u^2``, at the conditional mode ``u_i*`` and ``L_i^2 = 1 + tau^2
  sum_j z_ij^2 w_ij`` the study contributes
  ``devc_i(u*) + log L_i^2 - 2 log sum_q w_q exp(-(devc_i(u* + x_q / L_i) - devc_i(u*)) / 2
  + x_q^2 / 2)`` (Gauss-Hermite nodes ``x_q`` and weights ``w_q`` for the standard normal).
  ``nagq=1`` is the Laplace approximation.
* :func:`nchg_logpmf` is the log density of Fisher's non-central hypergeometric distribution
  (metafor's ``.dnchgi`` through BiasedUrn's ``dFNCHypergeo``): ``P(X = a) = C(n1, a)
  C(n2, m1 - a) psi^a / sum_x C(n1, x) C(n2, m1 - x) psi^x``, summed exactly over the support
  in log space; :func:`nchg_marginal` integrates it against a normal density of the log odds
  ratio by adaptive Gauss-Hermite quadrature (Stijnen, Hamza & Ozdemir 2010, Stat Med 29,
  3046-3067, eq. 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

FloatArray = NDArray[np.float64]
Family = Literal["binomial", "poisson"]

_EPS = float(np.finfo(float).eps)
_THRESH = 30.0  # R's logit link: eta beyond +-30 is clamped (family.c, THRESH/MTHRESH)


def _lse(a: FloatArray, axis: int, b: FloatArray | None = None) -> FloatArray:
    """log(sum(b * exp(a))) along ``axis``, stably (SciPy's logsumexp without its overhead)."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(a - top)
    if b is not None:
        e = e * b
    return np.asarray(np.log(np.sum(e, axis=axis)) + np.squeeze(top, axis=axis))


def _linkinv(eta: FloatArray, family: Family) -> FloatArray:
    if family == "binomial":
        tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1 / _EPS, np.exp(
            np.clip(eta, -_THRESH, _THRESH))))
        return np.asarray(tmp / (1 + tmp))
    return np.asarray(np.maximum(np.exp(eta), _EPS))


def _mu_eta(eta: FloatArray, family: Family) -> FloatArray:
    if family == "binomial":
        e = np.exp(np.clip(eta, -_THRESH, _THRESH))
        return np.asarray(np.where(np.abs(eta) > _THRESH, _EPS, e / (1 + e) ** 2))
    return np.asarray(np.maximum(np.exp(eta), _EPS))


def _variance(mu: FloatArray, family: Family) -> FloatArray:
    return np.asarray(mu * (1 - mu)) if family == "binomial" else mu


def _ylogy(y: FloatArray, m: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(y > 0, y * np.log(y / m), 0.0))


def dev_resids(y: FloatArray, mu: FloatArray, wt: FloatArray, family: Family) -> FloatArray:
    """R's ``family$dev.resids``: binomial on proportions ``y`` with prior weights ``wt``
    (trials), Poisson on counts."""
    if family == "binomial":
        return np.asarray(2 * wt * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu)))
    return np.asarray(2 * wt * (_ylogy(y, mu) - (y - mu)))


def loglik(x: FloatArray, n: FloatArray, mu: FloatArray, family: Family) -> float:
    """Log likelihood ``sum log dbinom(x, n, mu)`` or ``sum log dpois(x, mu)`` (R's logLik of a
    glm)."""
    if family == "binomial":
        with np.errstate(divide="ignore", invalid="ignore"):
            lc = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
            term = lc + np.where(x > 0, x * np.log(mu), 0.0) + np.where(
                n - x > 0, (n - x) * np.log1p(-mu), 0.0)
        return float(np.sum(term))
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(x > 0, x * np.log(mu), 0.0) - mu - special.gammaln(x + 1)
    return float(np.sum(term))


@dataclass(frozen=True)
class GLMFit:
    """Coefficients, their covariance (dispersion 1), fitted means and log likelihood."""

    coef: FloatArray
    vcov: FloatArray
    mu: FloatArray
    loglik: float
    converged: bool


def glm_fit(
    X: FloatArray, x: FloatArray, n: FloatArray | None, offset: FloatArray | None,
    family: Family, *, epsilon: float = 1e-8, maxit: int = 25,
) -> GLMFit:
    """R's ``glm.fit`` (IRLS, canonical link) for counts ``x`` out of ``n`` trials (binomial)
    or Poisson counts ``x``; ``offset`` on the linear predictor. ``X`` must have full column
    rank (the caller drops aliased columns as R's pivoting would)."""
    off = np.zeros(x.size) if offset is None else offset
    if family == "binomial":
        assert n is not None
        wt = n.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(wt > 0, x / wt, 0.0)
        mu = (wt * y + 0.5) / (wt + 1)
        eta = np.log(mu / (1 - mu))
    else:
        wt = np.ones(x.size)
        y = x.astype(float)
        mu = y + 0.1
        eta = np.log(mu)
    devold = float(np.sum(dev_resids(y, mu, wt, family)))
    coef = np.zeros(X.shape[1])
    xtwx = np.eye(X.shape[1])
    converged = False
    for _ in range(maxit):
        me = _mu_eta(eta, family)
        good = (wt > 0) & (me != 0)
        z = (eta - off)[good] + (y - mu)[good] / me[good]
        w = np.sqrt(wt[good] * me[good] ** 2 / _variance(mu, family)[good])
        Xw = X[good] * w[:, None]
        try:
            coef, *_ = np.linalg.lstsq(Xw, z * w, rcond=None)
        except np.linalg.LinAlgError:
            break
        xtwx = Xw.T @ Xw
        eta = X @ coef + off
        mu = _linkinv(eta, family)
        dev = float(np.sum(dev_resids(y, mu, wt, family)))
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        devold = dev
    try:
        vcov = np.asarray(np.linalg.inv(xtwx), dtype=float)
    except np.linalg.LinAlgError:
        vcov = np.full(xtwx.shape, np.nan)
        converged = False
    return GLMFit(coef, vcov, mu, loglik(x, wt, mu, family), converged)


def _gh_rule(nagq: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Hermite nodes and weights for the standard normal density (``lme4::GHrule``)."""
    if nagq == 1:
        return np.zeros(1), np.ones(1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(nagq)
    return nodes, weights / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class GroupedData:
    """Rows of a GLMM with one scalar random effect per study: counts ``x`` out of ``n``
    (binomial; ``n`` unused for Poisson), the fixed design ``X``, ``offset``, the random-effect
    design ``z`` and the study index ``group`` (0..k-1) of each row."""

    x: FloatArray
    n: FloatArray
    X: FloatArray
    offset: FloatArray
    z: FloatArray
    group: NDArray[np.intp]
    k: int
    family: Family


def _cond_mean(eta: FloatArray, family: Family, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and canonical weight (variance) of the counts at linear predictor ``eta``."""
    if family == "binomial":
        p = special.expit(eta)
        return n * p, n * p * (1 - p)
    mu = np.exp(eta)
    return mu, mu


def _devc(d: GroupedData, eta0: FloatArray, tau: float, u: FloatArray) -> FloatArray:
    """Per study: deviance residuals at ``eta0 + tau z u`` plus ``u^2`` (lme4's ``devcCol``)."""
    eta = eta0 + tau * d.z * u[d.group]
    return np.asarray(np.bincount(d.group, weights=_row_deviance(d, eta), minlength=d.k) + u**2)


def _row_deviance(d: GroupedData, eta: FloatArray) -> FloatArray:
    """Each row's deviance residual at linear predictor ``eta``."""
    if d.family == "binomial":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(d.n > 0, d.x / d.n, 0.0)
        # deviance residuals 2 [x log(x/(n p)) + (n - x) log((n - x)/(n q))], without
        # cancellation for extreme eta
        lp = -np.logaddexp(0, -eta)
        lq = -np.logaddexp(0, eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            sat = np.where(d.x > 0, d.x * np.log(y), 0.0) + np.where(
                d.n - d.x > 0, (d.n - d.x) * np.log1p(-y), 0.0)
        return np.asarray(2 * (sat - (d.x * lp + (d.n - d.x) * lq)))
    mu = np.exp(eta)
    return np.asarray(2 * (_ylogy(d.x, mu) - (d.x - mu)))


def _modes(d: GroupedData, eta0: FloatArray, tau: float) -> tuple[FloatArray, FloatArray]:
    """Conditional modes ``u*`` (Newton on each study's penalised deviance, with step halving
    where a full step would increase it, as lme4's PIRLS) and ``L^2 = 1 + tau^2 sum z^2 w``
    there."""
    u = np.zeros(d.k)
    dev = _devc(d, eta0, tau, u)
    for _ in range(200):
        eta = eta0 + tau * d.z * u[d.group]
        mean, w = _cond_mean(eta, d.family, d.n)
        grad = np.bincount(d.group, weights=tau * d.z * (d.x - mean), minlength=d.k) - u
        hess = np.bincount(d.group, weights=tau**2 * d.z**2 * w, minlength=d.k) + 1
        step = grad / hess
        frac = np.ones(d.k)
        for _ in range(60):
            trial = u + frac * step
            new = _devc(d, eta0, tau, trial)
            worse = ~(new <= dev + 1e-10 * (1 + np.abs(dev)))
            if not worse.any():
                break
            frac = np.where(worse, frac / 2, frac)
        u, dev = trial, new
        if np.max(np.abs(frac * step)) < 1e-11:
            break
    eta = eta0 + tau * d.z * u[d.group]
    _, w = _cond_mean(eta, d.family, d.n)
    l2 = np.bincount(d.group, weights=tau**2 * d.z**2 * w, minlength=d.k) + 1.0
    return u, np.asarray(l2, dtype=float)


def _eta0(d: GroupedData, beta: FloatArray, alpha: FloatArray | None) -> FloatArray:
    eta = d.X @ beta + d.offset
    return eta if alpha is None else eta + alpha[d.group]


def agq_terms(
    d: GroupedData, beta: FloatArray, tau: float, nagq: int = 7,
    alpha: FloatArray | None = None,
) -> FloatArray:
    """Each study's term of lme4's AGQ deviance (relative to the saturated model) at fixed
    effects ``beta`` (plus a fixed intercept ``alpha_i`` per study when given) and
    random-effect SD ``tau`` (see the module docstring)."""
    tau = abs(tau)
    eta0 = _eta0(d, beta, alpha)
    u, l2 = _modes(d, eta0, tau)
    devc0 = _devc(d, eta0, tau, u)
    nodes, weights = _gh_rule(nagq)
    sd = 1 / np.sqrt(l2)
    terms = np.empty((nodes.size, d.k))
    for q, (node, wq) in enumerate(zip(nodes, weights, strict=True)):
        if node == 0:
            terms[q] = math.log(wq)
        else:
            dq = _devc(d, eta0, tau, u + node * sd)
            terms[q] = math.log(wq) - (dq - devc0) / 2 + node**2 / 2
    return np.asarray(devc0 + np.log(l2) - 2 * _lse(terms, 0))


def agq_deviance(
    d: GroupedData, beta: FloatArray, tau: float, nagq: int = 7,
    alpha: FloatArray | None = None,
) -> float:
    """lme4's AGQ deviance: the sum of :func:`agq_terms`."""
    return float(np.sum(agq_terms(d, beta, tau, nagq, alpha)))


def conditional_loglik(
    d: GroupedData, beta: FloatArray, tau: float, alpha: FloatArray | None = None
) -> float:
    """Log likelihood of the data at the conditional modes of the random effects: what
    metafor reports as ``logLik`` for a glmer fit (``ll.QE - deviance(fit) / 2``, lme4's
    ``deviance()`` being the sum of squared deviance residuals at the modes)."""
    eta0 = _eta0(d, beta, alpha)
    u, _ = _modes(d, eta0, abs(tau))
    eta = eta0 + abs(tau) * d.z * u[d.group]
    if d.family == "binomial":
        return loglik(d.x, d.n, special.expit(eta), "binomial")
    return loglik(d.x, d.n, np.exp(eta), "poisson")


def _modes_multi(
    d: GroupedData, eta0: FloatArray, lam: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Conditional modes ``u*`` (k, q) of ``q`` random effects per study (columns of ``d.z``;
    ``lam`` their relative SDs (q,), independent effects, or the lower-triangular relative
    covariance factor Lambda (q, q), ``Cov = Lambda Lambda'``), the penalised deviance there
    and ``log det(I + Lambda' Z_i' W_i Z_i Lambda)`` of each study (lme4's ``ldL2``): Newton
    with step halving, as lme4's PIRLS with the fixed effects held."""
    lam_m = np.diag(lam) if lam.ndim == 1 else lam
    zl = d.z.reshape(d.z.shape[0], -1) @ lam_m  # (n, q): the rows of Z Lambda
    q = lam_m.shape[0]
    eye = np.eye(q)

    def devc(u: FloatArray) -> FloatArray:
        eta = eta0 + np.sum(zl * u[d.group], axis=1)
        return np.asarray(np.bincount(d.group, weights=_row_deviance(d, eta), minlength=d.k)
                          + np.sum(u**2, axis=1))

    def curvature(u: FloatArray) -> tuple[FloatArray, FloatArray]:
        eta = eta0 + np.sum(zl * u[d.group], axis=1)
        mean, w = _cond_mean(eta, d.family, d.n)
        grad = np.zeros((d.k, q))
        hess = np.zeros((d.k, q, q))
        np.add.at(grad, d.group, zl * (d.x - mean)[:, None])
        np.add.at(hess, d.group, w[:, None, None] * zl[:, :, None] * zl[:, None, :])
        return grad - u, hess + eye

    u = np.zeros((d.k, q))
    dev = devc(u)
    for _ in range(200):
        grad, hess = curvature(u)
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        frac = np.ones(d.k)
        for _ in range(60):
            trial = u + frac[:, None] * step
            new = devc(trial)
            worse = ~(new <= dev + 1e-10 * (1 + np.abs(dev)))
            if not worse.any():
                break
            frac = np.where(worse, frac / 2, frac)
        u, dev = trial, new
        if np.max(np.abs(frac[:, None] * step)) < 1e-11:
            break
    _, hess = curvature(u)
    return u, dev, np.asarray(np.linalg.slogdet(hess)[1], dtype=float)


def laplace_terms(d: GroupedData, beta: FloatArray, lam: FloatArray) -> FloatArray:
    """Each study's term of lme4's Laplace deviance (``nAGQ = 1``; relative to the saturated
    model) for ``q`` random effects per study, ``z`` the (n, q) random-effect design and
    ``lam`` either their SDs (q,), independent effects (lme4's ``(1 | study) + (0 + group |
    study)``, i.e. ``(group || study)``), or the lower-triangular factor Lambda (q, q) of
    their covariance ``Lambda Lambda'`` (lme4's ``(group | study)``, whose ``theta`` is
    Lambda's lower triangle by columns): ``devc_i(u*) + log det(I + Lambda' Z_i' W_i Z_i
    Lambda)``, ``devc_i`` the study's deviance residuals at ``eta = X beta + offset + Z
    Lambda u`` plus ``|u|^2`` and ``W_i`` the GLM weights at the mode (Bates et al. 2015,
    *J Stat Softw* 67(1), eq. 34). With ``q = 1`` it is :func:`agq_terms` with ``nagq=1``."""
    eta0 = _eta0(d, beta, None)
    lam = np.asarray(lam, dtype=float)
    _, dev, logdet = _modes_multi(d, eta0, np.abs(lam) if lam.ndim == 1 else lam)
    return np.asarray(dev + logdet)


def saturated_loglik(d: GroupedData) -> float:
    """Log likelihood of the saturated model (every row fitted exactly)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(d.n > 0, d.x / d.n, 0.0) if d.family == "binomial" else d.x
    return loglik(d.x, d.n, mu, d.family)


# --- Fisher's non-central hypergeometric distribution -------------------------------------


@dataclass(frozen=True)
class NCHG:
    """The tables' conditional distributions: observed ``a``, group sizes ``n1``, ``n2`` and
    total events ``m1``; per table its support and the log of C(n1, x) C(n2, m1 - x)."""

    a: FloatArray
    support: list[FloatArray]
    logc: list[FloatArray]

    @classmethod
    def from_tables(cls, ai: FloatArray, bi: FloatArray, ci: FloatArray, di: FloatArray) -> NCHG:
        n1, n2, m1 = ai + bi, ci + di, ai + ci
        support, logc = [], []
        for i in range(ai.size):
            x = np.arange(max(0.0, m1[i] - n2[i]), min(n1[i], m1[i]) + 1)
            lc = (special.gammaln(n1[i] + 1) - special.gammaln(x + 1)
                  - special.gammaln(n1[i] - x + 1) + special.gammaln(n2[i] + 1)
                  - special.gammaln(m1[i] - x + 1) - special.gammaln(n2[i] - m1[i] + x + 1))
            support.append(x)
            logc.append(lc)
        return cls(ai, support, logc)

    def moments(self, i: int, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """log P(X = a_i), E[X] and Var[X] of table ``i`` at log odds ratios ``theta``."""
        x, lc = self.support[i], self.logc[i]
        lw = lc[None, :] + np.outer(theta, x)
        norm = _lse(lw, 1)
        p = np.exp(lw - norm[:, None])
        mean = p @ x
        var = np.maximum(p @ x**2 - mean**2, 0.0)
        j = int(self.a[i] - x[0])
        return lw[:, j] - norm, mean, var


_NCHG_NODES = 48
_HX, _HW = np.polynomial.hermite.hermgauss(_NCHG_NODES)


def nchg_loglik_fixed(t: NCHG, theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Sum of log P_i(a_i | theta_i), with the score ``a_i - E[X]`` and information ``Var[X]``
    of each table."""
    total = 0.0
    score = np.empty(theta.size)
    info = np.empty(theta.size)
    for i in range(theta.size):
        lp, mean, var = t.moments(i, np.array([theta[i]]))
        total += float(lp[0])
        score[i] = t.a[i] - mean[0]
        info[i] = var[0]
    return total, score, info


def nchg_marginal(t: NCHG, mu: float, tau2: float) -> FloatArray:
    """``log int P_i(a_i | theta) phi(theta; mu, tau2) dtheta`` of each table, by adaptive
    Gauss-Hermite quadrature (48 nodes around each integrand's mode, scaled by its
    curvature)."""
    total = np.empty(t.a.size)
    for i in range(t.a.size):
        # mode of the log-concave integrand by Newton
        th = mu
        for _ in range(100):
            _, mean, var = t.moments(i, np.array([th]))
            g = t.a[i] - mean[0] - (th - mu) / tau2
            h = -var[0] - 1 / tau2
            step = -g / h
            th += step
            if abs(step) < 1e-12 * (1 + abs(th)):
                break
        _, _, var = t.moments(i, np.array([th]))
        s = 1 / math.sqrt(var[0] + 1 / tau2)
        nodes = th + math.sqrt(2) * s * _HX
        lp, _, _ = t.moments(i, nodes)
        lnorm = -0.5 * math.log(2 * math.pi * tau2) - (nodes - mu) ** 2 / (2 * tau2)
        total[i] = float(_lse(lp + lnorm + _HX**2, 0, _HW)) + math.log(
            math.sqrt(2) * s)
    return total
