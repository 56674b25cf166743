"""``subgroup()``: pooling within subgroups and the test for subgroup differences.

Each subgroup gets its own model (its own tau^2), fitted for all subgroups at once by the batch
core :func:`metareview.models._core.fit_padded`. Two tests of the difference between subgroups
are reported, because both are in use and they can disagree:

- **separate tau^2** (``Q_between``): Cochran's Q of the subgroup estimates,
  ``Q_b = sum_j (mu_j - mu_bar)^2 / SE_j^2`` with ``mu_bar`` their inverse-variance weighted mean,
  chi-square with ``G - 1`` df (Borenstein et al. 2009, ch. 19; Cochrane Handbook, ch. 10;
  RevMan). It matches the subgroup estimates shown, and equals metafor's
  ``rma(estimate, sei=se, mods=~group, method="FE")`` omnibus test ``QM``.
- **common tau^2** (``QM_common``): the omnibus test of a mixed-effects meta-regression on the
  subgroup factor, ``rma(yi, vi, mods = ~ factor(group))`` in metafor (Viechtbauer's
  recommendation; an F test with ``test="knha"``). It pools the residual heterogeneity across
  subgroups and is the steadier choice when subgroups hold few studies.

The per-subgroup estimates are the separate-tau^2 fits; ``test_between`` says which test is the
headline one (default ``"separate"``, the one consistent with those estimates).

References
----------
Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction to
    Meta-Analysis. Wiley (chapter 19, "Subgroup analyses").
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from metareview._json import finite_or_none
from metareview.errors import InputError, MetareviewWarning
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
    clean_yi_vi,
    default_measure,
    effect_columns,
    frame_args,
)
from metareview.models._printer import (
    Block,
    Field,
    Printable,
    Printed,
    Table,
    num,
    pval,
    render_text,
)
from metareview.models.batch import pad_groups
from metareview.models.regression import RegResult, _fit, _level_text, _levels, model_matrix

__all__ = ["SubgroupResult", "subgroup"]

#: Columns of :attr:`SubgroupResult.groups` after ``group``.
GROUP_COLUMNS: tuple[str, ...] = (
    "k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "ddf", "tau2", "I2", "H2", "QE",
    "QEp", "pi_lb", "pi_ub",
)


@dataclass(frozen=True, eq=False)
class SubgroupResult(Printed):
    """Subgroup analysis: one model per subgroup and two tests of subgroup differences.

    Attributes
    ----------
    groups : DataFrame
        One row per subgroup (in level order): ``group`` then :data:`GROUP_COLUMNS` (metafor's
        quantities of each subgroup's own ``rma``; ``zval`` is a t value for "t"/"knha").
    Q_between, Q_between_df, Q_between_p : float, int, float
        Separate-tau^2 test: Q of the subgroup estimates (chi-square, ``G - 1`` df).
    QM_common, QMdf_common, QMp_common : float, tuple, float
        Common-tau^2 test: ``QM`` of the meta-regression on the subgroup factor (``QMdf`` is
        ``(G - 1, None)`` for a chi-square test, ``(G - 1, k - G)`` for an F test); NaN when
        that model cannot be fitted (e.g. ``k <= G`` for a random-effects model).
    common : RegResult or None
        The common-tau^2 meta-regression itself.
    test_between : {"separate", "common"}
        Which test is the headline one (printed first).
    """

    by: str
    k: int
    method: str
    test: str
    level: float
    measure: str
    groups: pd.DataFrame = field(repr=False)
    Q_between: float = math.nan
    Q_between_df: int = 0
    Q_between_p: float = math.nan
    QM_common: float = math.nan
    QMdf_common: tuple[int, int | None] = (0, None)
    QMp_common: float = math.nan
    common: RegResult | None = field(default=None, repr=False)
    test_between: str = "separate"
    control: Control = field(default_factory=Control, repr=False)

    @property
    def p_between(self) -> float:
        """The p-value of the headline test (``test_between``)."""
        return self.Q_between_p if self.test_between == "separate" else self.QMp_common

    def summary(self, digits: int = 4) -> str:
        """Per-subgroup results, then both tests of subgroup differences."""
        return render_text(self._printable(digits=digits))

    def _printable(self, digits: int = 4) -> Printable:
        """The settings, one row per subgroup, then both tests of subgroup differences (the
        headline first)."""
        out: list[Block] = [
            "", f"Subgroup analysis by {self.by} (k = {self.k}; {self._model_text()})", ""
        ]
        stat = "tval" if self.test != "z" else "zval"
        header = ["k", "estimate", "se", stat, "pval", "ci.lb", "ci.ub", "tau2", "I2(%)"]
        rows = []
        for _, r in self.groups.iterrows():
            rows.append([
                str(int(r["k"])), num(r["estimate"], digits), num(r["se"], digits),
                num(r["zval"], digits), pval(r["pval"], digits), num(r["ci_lb"], digits),
                num(r["ci_ub"], digits), num(r["tau2"], digits), num(r["I2"], 2),
            ])
        out.append(Table(header, rows, row_names=["", *[str(g) for g in self.groups["group"]]]))
        out.append("")
        sep = (
            f"Q_between(df = {self.Q_between_df}) = {num(self.Q_between, digits)}, "
            f"p-val {pval(self.Q_between_p, digits, True)}"
        )
        if math.isnan(self.QM_common):
            com = "not estimable"
        elif self.QMdf_common[1] is not None:
            com = (
                f"F(df1 = {self.QMdf_common[0]}, df2 = {self.QMdf_common[1]}) = "
                f"{num(self.QM_common, digits)}, p-val {pval(self.QMp_common, digits, True)}"
            )
        else:
            com = (
                f"QM(df = {self.QMdf_common[0]}) = {num(self.QM_common, digits)}, "
                f"p-val {pval(self.QMp_common, digits, True)}"
            )
        lines = {
            "separate": Field("  separate tau^2 (Q of subgroup estimates): ", sep),
            "common": Field(f"  common tau^2 (meta-regression on {self.by}):  ", com),
        }
        first = lines[self.test_between]
        out.append("Test for Subgroup Differences:")
        out.append(Field(first.key, f"{first.value}  [headline]"))
        out.append(lines["common" if self.test_between == "separate" else "separate"])
        out.append("")
        return Printable(out)

    def _model_text(self) -> str:
        if self.method in ("EE", "FE"):
            return "equal-effects model in each subgroup"
        return f"random-effects model in each subgroup, tau^2 estimator: {self.method}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: settings, ``groups`` as a list of rows, both tests."""
        rows = []
        for rec in self.groups.to_dict(orient="records"):
            rows.append({
                k: (finite_or_none(v) if isinstance(v, float) else (int(v) if k == "k" else v))
                for k, v in rec.items()
            })
        return {
            "by": self.by, "k": self.k, "method": self.method, "test": self.test,
            "level": self.level, "measure": self.measure, "groups": rows,
            "Q_between": finite_or_none(self.Q_between), "Q_between_df": self.Q_between_df,
            "Q_between_p": finite_or_none(self.Q_between_p),
            "QM_common": finite_or_none(self.QM_common), "QMdf_common": list(self.QMdf_common),
            "QMp_common": finite_or_none(self.QMp_common), "test_between": self.test_between,
        }


def subgroup(
    yi: Any,
    vi: Any = None,
    groups: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    measure: str | None = None,
    test_between: Literal["separate", "common"] = "separate",
    control: Mapping[str, Any] | Control | None = None,
    na_action: NaAction = "fail",
) -> SubgroupResult:
    """Pool within each subgroup and test whether the subgroups differ.

    Parameters
    ----------
    yi, vi, sei, data, method, test, level, measure, control, na_action
        As for :func:`metareview.models.rma` (``yi`` may be a DataFrame with ``yi``/``vi``).
    groups : str or array-like
        The subgroup of each study (a column name of ``data`` or values). Levels are ordered as
        R's ``factor()`` (sorted; a pandas Categorical keeps its order). A missing group is an
        error, or the row is left out with ``na_action="omit"``.
    test_between : {"separate", "common"}
        The headline test; both are always computed (see the module docstring).

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Subgroup ``j`` is fitted as ``rma(yi[g == j], vi[g == j], method=, test=, level=)``; its
    estimate ``mu_j`` and standard error ``SE_j`` (Knapp-Hartung scaled for "knha") give
    ``Q_b = sum (mu_j - mu_bar)^2 / SE_j^2``, ``mu_bar = sum(mu_j/SE_j^2)/sum(1/SE_j^2)``, on
    ``G - 1`` df. The common-tau^2 test is :func:`metareview.models.rma_reg` with the subgroup
    factor as the only moderator (``QM`` over its ``G - 1`` dummies).
    """
    yi, vi, sei, data = frame_args(yi, vi, sei, data)
    if groups is None:
        raise InputError("give the subgroup of each study (groups=)", field="groups")
    method = normalise_method(method)
    test = normalise_test(test)
    alpha_from_level(level)
    ctl = make_control(control)
    if test_between not in ("separate", "common"):
        raise InputError("test_between must be 'separate' or 'common'", field="test_between")
    measure = default_measure(measure, data)

    y, v, y_field, v_field = effect_columns(yi, vi, sei, data)
    if isinstance(groups, str):
        if data is None or groups not in data.columns:
            raise InputError(f"no column {groups!r} in the data", field=groups)
        by = groups
        g = data[groups].reset_index(drop=True)
    else:
        by = str(getattr(groups, "name", None) or "group")
        g = pd.Series(groups).reset_index(drop=True) if not isinstance(groups, pd.Series) else (
            groups.reset_index(drop=True)
        )
    if len(g) != y.size:
        raise InputError(f"groups has {len(g)} values for {y.size} studies", field=by)
    g_missing = g.isna().to_numpy()
    if g_missing.any():
        if na_action == "fail":
            raise InputError(
                "missing subgroup (use na_action='omit' to leave such rows out)",
                row=int(np.flatnonzero(g_missing)[0]) + 1, field=by,
            )
        warnings.warn(
            f"{int(g_missing.sum())} row(s) without a subgroup left out", MetareviewWarning,
            stacklevel=2,
        )
    keep = clean_yi_vi(
        np.where(g_missing, 0.0, y), np.where(g_missing, 1.0, v), yi_field=y_field,
        vi_field=v_field, na_action=na_action,
    ) & ~g_missing
    y, v, g = y[keep], v[keep], g[keep].reset_index(drop=True)
    if y.size == 0:
        raise InputError("no studies to pool", field=y_field)

    levels = _levels(g)
    codes = np.asarray(pd.Categorical(g, categories=levels).codes, dtype=np.int64)
    n_groups = len(levels)
    names = [_level_text(lev) for lev in levels]
    mask, (yy, vv) = pad_groups(codes, n_groups, y, v)
    kk = mask.sum(axis=1)
    if np.any(kk == 1):
        warnings.warn(
            f"{int((kk == 1).sum())} subgroup(s) with k = 1 fitted with tau^2 = 0 and a z test "
            "(as metafor)", MetareviewWarning, stacklevel=2,
        )
    fit = fit_padded(
        yy, vv, mask, method=method, test=test, level=level, control=ctl,
        labels=[f"{by}={n}" for n in names],
    )
    table = pd.DataFrame({
        "group": names, "k": fit.k, "estimate": fit.beta, "se": fit.se, "zval": fit.zval,
        "pval": fit.pval, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub, "ddf": fit.ddf,
        "tau2": fit.tau2, "I2": fit.I2, "H2": fit.H2, "QE": fit.QE, "QEp": fit.QEp,
        "pi_lb": fit.pi_lb, "pi_ub": fit.pi_ub,
    })

    # separate tau^2: Q of the subgroup estimates (an EE pooling of them)
    q_b, q_df, q_p = math.nan, n_groups - 1, math.nan
    if n_groups > 1:
        between = fit_padded(
            fit.beta[None, :], (fit.se**2)[None, :], np.ones((1, n_groups), dtype=bool),
            method="EE", control=ctl,
        )
        q_b = float(between.QE[0])
        q_p = float(special.chdtrc(q_df, q_b))

    # common tau^2: meta-regression on the subgroup factor
    common: RegResult | None = None
    qm, qmp = math.nan, math.nan
    qmdf: tuple[int, int | None] = (max(n_groups - 1, 0), None)
    if n_groups > 1:
        x, xnames, _ = model_matrix(
            pd.DataFrame({by: pd.Categorical(g, categories=levels)}), k=y.size
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetareviewWarning)
                common = _fit(
                    y, v, x, xnames, method=method, test=test, alpha=alpha_from_level(level),
                    level=level, btt=None, measure=measure,
                    slab=[str(i + 1) for i in range(y.size)], tau2=None, control=ctl,
                )
            qm, qmdf, qmp = common.QM, common.QMdf, common.QMp
        except InputError as exc:
            warnings.warn(
                f"common-tau^2 test of subgroup differences not estimable: {exc}",
                MetareviewWarning, stacklevel=2,
            )
    lv = float(level) * 100.0 if float(level) < 1 else float(level)
    return SubgroupResult(
        by=by, k=int(y.size), method=method, test=test, level=lv, measure=measure,
        groups=table, Q_between=q_b, Q_between_df=q_df, Q_between_p=q_p,
        QM_common=qm, QMdf_common=qmdf, QMp_common=qmp, common=common,
        test_between=test_between, control=ctl,
    )
