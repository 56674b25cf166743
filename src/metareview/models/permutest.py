"""Permutation tests of ``rma``/``rma_reg`` fits, as metafor's ``permutest.rma.uni``.

>>> from metareview.models import rma, permutest
>>> permutest(rma("yi", "vi", data=dat), exact=True).pval   # doctest: +SKIP

Intercept-only model: under H0 (mu = 0) with effects symmetric about 0, each ``y_i`` is as
likely as ``-y_i``; the model is refitted to every vector of signs (``2^k`` of them: the exact
test) or to ``iter`` random ones, and the p-value is the share of refits whose test statistic is
at least as extreme as the observed one (Follmann & Proschan 1999). Meta-regression: the rows of
the model matrix are permuted against the effects (every distinct permutation: exact; or
``iter`` random ones), which under H0 of no moderator effect leaves the distribution unchanged
(Higgins & Thompson 2004). As metafor:

- the exact test is used when ``exact=True`` or when the number of distinct permutations is at
  most ``iter`` (``2^k``, resp. ``k! / prod(n_j!)`` over groups of identical rows of ``X``);
- in the random test the first of the ``iter`` statistics is the observed one;
- two-sided p-value of coefficient ``j``: ``mean(|z*_j| >= |z_j| - tol)``; omnibus:
  ``mean(QM* >= QM - tol)`` with ``tol = sqrt(machine eps)``; refits that fail are left out.

References
----------
Follmann, D. A., & Proschan, M. A. (1999). Valid inference in random effects meta-analysis.
    Biometrics, 55(3), 732-737.
Higgins, J. P. T., & Thompson, S. G. (2004). Controlling the risk of spurious findings from
    meta-regression. Statistics in Medicine, 23(11), 1663-1682.
Viechtbauer, W., Lopez-Lopez, J. A., Sanchez-Meca, J., & Marin-Martinez, F. (2015). A comparison
    of procedures to test for moderators in mixed-effects meta-regression models. Psychological
    Methods, 20(3), 360-374.
metafor 3.8-1: ``permutest.rma.uni`` (R source).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError
from metareview.models._core import fit_padded
from metareview.models._refit import Model, model_of, refit

__all__ = ["PermutestResult", "permutest"]

FloatArray = NDArray[np.float64]
#: metafor's ``comptol``: ``.Machine$double.eps^0.5``.
_COMPTOL = math.sqrt(float(np.finfo(float).eps))
#: Largest number of refits an exact test is allowed to run.
_MAX_EXACT = 1 << 24
#: Sign-flip refits per call of the batch core.
_CHUNK = 1 << 14


@dataclass(frozen=True, eq=False)
class PermutestResult:
    """Result of :func:`permutest`: ``pval`` (permutation p-value per coefficient, in the order
    of ``coef_names``), ``QMp`` (of the omnibus test), ``zval``/``QM`` (observed), ``iter``
    (refits run), ``exact``, and the permutation distributions ``zval_perm`` (iter x p),
    ``beta_perm`` and ``QM_perm`` (metafor's ``permdist``)."""

    coef_names: tuple[str, ...]
    pval: FloatArray = field(repr=False)
    QMp: float
    zval: FloatArray = field(repr=False)
    QM: float
    iter: int
    exact: bool
    zval_perm: FloatArray = field(repr=False)
    beta_perm: FloatArray = field(repr=False)
    QM_perm: FloatArray = field(repr=False)

    def summary(self, digits: int = 4) -> str:
        """The p-values as metafor prints them (exact or approximate permutation test)."""
        kind = "exact" if self.exact else "approximate"
        lines = [f"Permutation test ({kind}, {self.iter} iterations)", ""]
        lines.append(
            f"Test of moderators: QM = {self.QM:.{digits}f}, p-val* = {self.QMp:.{digits}f}"
        )
        lines.append("")
        for name, z, p in zip(self.coef_names, self.zval, self.pval, strict=True):
            lines.append(f"{name:>12}  zval = {z:.{digits}f}  pval* = {p:.{digits}f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "coef_names": list(self.coef_names), "pval": [float(p) for p in self.pval],
            "QMp": self.QMp, "zval": [float(z) for z in self.zval], "QM": self.QM,
            "iter": self.iter, "exact": self.exact,
        }


def _distinct_permutations(labels: NDArray[np.int64]) -> Iterator[NDArray[np.int64]]:
    """Every distinct arrangement of the multiset ``labels`` (lexicographic next permutation,
    which skips repeats), starting from the sorted one."""
    a = np.sort(labels).copy()
    n = a.size
    while True:
        yield a.copy()
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = a[i + 1 :][::-1].copy()


def _n_distinct(labels: NDArray[np.int64]) -> float:
    """``k! / prod(n_j!)``: the number of distinct arrangements (inf when huge)."""
    _, counts = np.unique(labels, return_counts=True)
    log_n = math.lgamma(labels.size + 1) - sum(math.lgamma(c + 1) for c in counts)
    return math.inf if log_n > 700 else float(round(math.exp(log_n)))


def _flip_fits(m: Model, signs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(beta, zval)`` of the intercept-only model refitted to ``signs * y`` (batch core)."""
    betas, zvals = [], []
    for a in range(0, signs.shape[0], _CHUNK):
        s = signs[a : a + _CHUNK]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_padded(
                s * m.y[None, :], np.broadcast_to(m.v, s.shape), np.ones(s.shape, dtype=bool),
                method=m.method, test=m.test, level=m.level, tau2=m.tau2_fixed,
                control=m.control, on_fail="nan",
            )  # fmt: skip
        betas.append(fit.beta)
        zvals.append(fit.zval)
    return np.concatenate(betas), np.concatenate(zvals)


def permutest(
    result: Any,
    iter: int = 1000,
    *,
    exact: bool | None = None,
    seed: int | None = None,
) -> PermutestResult:
    """Permutation test of the coefficients of an ``rma``/``rma_reg`` fit (metafor's
    ``permutest.rma.uni``; see the module docstring).

    Parameters
    ----------
    result : RMAResult or RegResult
    iter : int
        Number of random permutations (at least 2) when the test is not exact.
    exact : bool, optional
        Force the exact test (True) or not (None/False: exact only when there are at most
        ``iter`` distinct permutations).
    seed : int, optional
        Seed of the random permutations (NumPy's generator; metafor uses R's, so random
        p-values agree with metafor's within Monte-Carlo error, exact ones exactly).

    Raises
    ------
    InputError
        ``iter < 2``, or an exact test of more than 2^24 permutations.
    """
    m = model_of(result)
    iter = int(iter)
    if iter < 2:
        raise InputError("iter must be >= 2", field="iter")
    k, p = m.k, m.p
    zobs = m.beta / np.sqrt(np.diag(m.vb))
    qm_obs = _qm(m.beta, m.vb, m.btt, m.test)
    rng = np.random.default_rng(seed)
    if m.int_only:
        n_exact = 2.0**k
        use_exact = bool(exact) or n_exact <= iter
        if use_exact:
            if n_exact > _MAX_EXACT:
                raise InputError(
                    f"an exact permutation test needs 2^{k} refits; too many", field="exact"
                )
            n = int(n_exact)
            bits = (np.arange(n)[:, None] >> np.arange(k)[None, :]) & 1
            signs = np.where(bits == 1, -1.0, 1.0)
        else:
            n = iter
            signs = rng.choice([-1.0, 1.0], size=(n, k))
        beta_p, z_p = _flip_fits(m, signs)
        beta_perm, zval_perm = beta_p[:, None], z_p[:, None]
        qm_perm = z_p**2
    else:
        # groups of identical rows of X (as metafor's X.indices)
        _, labels = np.unique(m.X, axis=0, return_inverse=True)
        labels = np.asarray(labels, dtype=np.int64).ravel()
        n_exact = _n_distinct(labels)
        use_exact = bool(exact) or n_exact <= iter
        rows: list[NDArray[np.int64]] | Iterator[NDArray[np.int64]]
        if use_exact:
            if n_exact > _MAX_EXACT:
                raise InputError(
                    f"an exact permutation test needs {n_exact:.3g} refits; too many",
                    field="exact",
                )
            n = int(n_exact)
            # arrangements of the row groups; row j of the permuted X is a row of group a[j]
            first = np.array([int(np.flatnonzero(labels == g)[0]) for g in range(labels.max() + 1)])
            rows = (first[a] for a in _distinct_permutations(labels))
        else:
            n = iter
            rows = [rng.permutation(k) for _ in range(n)]
        beta_perm = np.full((n, p), np.nan)
        zval_perm = np.full((n, p), np.nan)
        qm_perm = np.full(n, np.nan)
        for i, r in enumerate(rows):
            if not use_exact and i == 0:
                continue
            res = refit(m, X=m.X[r])
            if res is None:
                continue
            beta_perm[i] = res.beta
            zval_perm[i] = res.zval
            qm_perm[i] = res.QM
    if not use_exact:
        beta_perm[0] = m.beta
        zval_perm[0] = zobs
        qm_perm[0] = qm_obs
    with np.errstate(invalid="ignore"):
        hits = np.abs(zval_perm) >= np.abs(zobs)[None, :] - _COMPTOL
        ok = np.isfinite(zval_perm)
        pval = np.minimum((hits & ok).sum(axis=0) / ok.sum(axis=0), 1.0)
        okq = np.isfinite(qm_perm)
        qmp = float(np.sum((qm_perm >= qm_obs - _COMPTOL) & okq) / np.sum(okq))
    return PermutestResult(
        coef_names=m.names, pval=pval, QMp=qmp, zval=zobs, QM=qm_obs, iter=n, exact=use_exact,
        zval_perm=zval_perm, beta_perm=beta_perm, QM_perm=qm_perm,
    )


def _qm(beta: FloatArray, vb: FloatArray, btt: tuple[int, ...], test: str) -> float:
    """metafor's ``QM = b' Var(b)^-1 b`` over ``btt`` (divided by their number for t/knha)."""
    idx = list(btt)
    b = beta[idx]
    qm = float(b @ np.linalg.solve(vb[np.ix_(idx, idx)], b))
    return qm / len(idx) if test in ("t", "knha") else qm
