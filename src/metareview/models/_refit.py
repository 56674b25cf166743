"""Refitting a fitted ``rma``/``rma_reg`` model to changed data (shared by the diagnostics).

metafor's ``influence()``, ``baujat()``, ``permutest()`` and the profile-likelihood CI refit
``rma.uni`` with the original settings (``method``, ``test``, ``level``, a fixed ``tau2``,
``control``) on a subset, on sign-flipped effects or on permuted moderators. :class:`Model`
holds those settings and the data of either result class, with the model matrix (a column of
ones for :class:`~metareview.models.rma.RMAResult`), and :func:`refit` fits it again through
the meta-regression code, whose intercept-only fit equals :func:`~metareview.models.rma`'s.
A refit that fails (too few studies, a rank-deficient matrix, no convergence) is None, where
metafor records NA.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError, MetareviewError
from metareview.models._core import Control

__all__ = ["Model", "check_batch_refit", "model_of", "refit"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Model:
    """The data and settings of a fitted ``rma``/``rma_reg`` model (see module docstring)."""

    y: FloatArray
    v: FloatArray
    X: FloatArray
    names: tuple[str, ...]
    method: str
    test: str
    level: float
    tau2_fixed: float | None
    control: Control
    btt: tuple[int, ...]
    measure: str
    slab: tuple[str, ...]
    #: the fitted values of the result itself
    beta: FloatArray
    vb: FloatArray
    tau2: float
    s2w: float
    #: the fit used user ``weights`` (refits do not carry them: :func:`refit` refuses)
    weighted: bool = False

    @property
    def k(self) -> int:
        return int(self.y.size)

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def int_only(self) -> bool:
        return self.p == 1


def model_of(result: Any) -> Model:
    """The :class:`Model` of an :class:`RMAResult` or :class:`RegResult`.

    Raises
    ------
    InputError
        For any other object (e.g. Mantel-Haenszel results, which have no ``rma.uni`` model).
    """
    from metareview.models.regression import RegResult
    from metareview.models.rma import RMAResult

    if isinstance(result, RMAResult):
        y = np.asarray(result.yi, dtype=float)
        k = y.size
        s2w = 1.0
        if result.test == "knha" and k > 1:
            w = 1.0 / (result.vi + result.tau2)
            s2w = result.se**2 * float(w.sum())
        return Model(
            y=y, v=np.asarray(result.vi, dtype=float), X=np.ones((k, 1)), names=("intrcpt",),
            method=result.method, test=result.test, level=result.level,
            tau2_fixed=result.tau2 if result.tau2_fixed else None, control=result.control,
            btt=(0,), measure=result.measure, slab=tuple(result.slab),
            beta=np.array([result.beta]), vb=np.array([[result.se**2]]), tau2=result.tau2,
            s2w=s2w, weighted=result.user_weights is not None,
        )
    if isinstance(result, RegResult):
        return Model(
            y=np.asarray(result.yi, dtype=float), v=np.asarray(result.vi, dtype=float),
            X=np.asarray(result.X, dtype=float), names=tuple(result.coef_names),
            method=result.method, test=result.test, level=result.level,
            tau2_fixed=result.tau2 if result.tau2_fixed else None, control=result.control,
            btt=tuple(result.btt), measure=result.measure, slab=tuple(result.slab),
            beta=np.asarray(result.beta, dtype=float), vb=np.asarray(result.vb, dtype=float),
            tau2=result.tau2, s2w=result.s2w, weighted=result.user_weights is not None,
        )
    raise InputError(
        f"expected a result of rma() or rma_reg(), got {type(result).__name__}", field="result"
    )


def check_batch_refit(result: Any, what: str) -> None:
    """Refuse ``what`` (leave1out, cumul, gosh, trimfill: refits through the batch core) for a
    fit with user weights (so also GENQ/GENQM, which need them) or with control ``tau2_init``
    (an SJ start the batch core does not take), rather than refit it differently. Every other
    estimator (HSk and PMM too) the batch core has."""
    method = getattr(result, "method", "")
    ctl = getattr(result, "control", None)
    if getattr(result, "user_weights", None) is not None:
        raise InputError(f"{what}: not supported for a fit with user weights", field="weights")
    if ctl is not None and ctl.tau2_init is not None:
        raise InputError(
            f"{what}: not supported for method {method!r} with control tau2_init", field="method"
        )


def refit(
    m: Model,
    *,
    keep: NDArray[np.bool_] | None = None,
    y: FloatArray | None = None,
    X: FloatArray | None = None,
    tau2: float | None = None,
    btt: tuple[int, ...] | None = None,
) -> Any:
    """``m`` fitted again (a :class:`~metareview.models.regression.RegResult`), or None.

    ``keep`` selects studies; ``y``/``X`` replace the effects or the model matrix; ``tau2``
    fixes tau^2 (otherwise the model's own fixed value, if any); ``btt`` the tested coefficients.
    A failed fit, or one with a non-finite coefficient, is None (metafor's ``try()`` -> NA).
    """
    from metareview.models.regression import _fit

    if m.weighted:
        raise InputError(
            "this fit used user weights, which refits (influence, permutest, the PL CI, ...) "
            "do not carry: not supported", field="weights",
        )
    yy = m.y if y is None else y
    xx = m.X if X is None else X
    vv = m.v
    if keep is not None:
        yy, vv, xx = yy[keep], vv[keep], xx[keep]
    fixed = m.tau2_fixed if tau2 is None else tau2
    slab = tuple(str(i + 1) for i in range(yy.size))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _fit(
                yy, vv, xx, m.names, method=m.method, test=m.test,
                alpha=(100.0 - m.level) / 100.0, level=m.level,
                btt=m.btt if btt is None else btt, measure=m.measure, slab=slab,
                tau2=fixed, control=m.control, skip_r2=True,
            )  # fmt: skip
    except (MetareviewError, np.linalg.LinAlgError, FloatingPointError):
        return None
    if not (np.all(np.isfinite(res.beta)) and math.isfinite(res.tau2)):
        return None
    return res
