"""Agreement between two screeners: percent agreement and Cohen's kappa.

For ``n`` records rated by both reviewers into categories ``k`` (include / exclude / maybe), with
``n_kl`` the records reviewer A put in ``k`` and reviewer B in ``l``::

    p_o   = sum_k n_kk / n                                 (observed agreement)
    p_e   = sum_k (n_k. / n) (n_.k / n)                    (agreement expected by chance)
    kappa = (p_o - p_e) / (1 - p_e)                        (Cohen 1960, eq. 1)

and the large-sample standard error under the alternative (Cohen 1960, eq. 9)::

    se(kappa) = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2))

Reference: Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas
1960;20:37-46. doi:10.1177/001316446002000104. ``kappa`` equals
``sklearn.metrics.cohen_kappa_score`` (unweighted); the tests check both against a hand
calculation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from metareview.errors import InputError

__all__ = ["Agreement", "agreement", "cohen_kappa"]


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement between two raters on the same items.

    Attributes
    ----------
    n
        Items rated by both.
    n_agree
        Items on which they agree.
    percent
        ``100 * n_agree / n``.
    kappa, se, ci_lb, ci_ub
        Cohen's kappa, its standard error (Cohen 1960, eq. 9) and Wald confidence limits at
        ``level`` (NaN when ``p_e = 1``, i.e. both raters used a single category).
    p_o, p_e
        Observed and chance agreement.
    table
        The cross-tabulation ``{(category_a, category_b): count}``.
    """

    n: int
    n_agree: int
    percent: float
    kappa: float
    se: float
    ci_lb: float
    ci_ub: float
    p_o: float
    p_e: float
    level: float = 95.0
    categories: tuple[str, ...] = ()
    table: dict[tuple[str, str], int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe dict (NaN becomes None; the table becomes a list of rows)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "n": self.n,
            "n_agree": self.n_agree,
            "percent": num(self.percent),
            "kappa": num(self.kappa),
            "se": num(self.se),
            "ci_lb": num(self.ci_lb),
            "ci_ub": num(self.ci_ub),
            "p_o": num(self.p_o),
            "p_e": num(self.p_e),
            "level": self.level,
            "table": [{"a": a, "b": b, "n": count} for (a, b), count in sorted(self.table.items())],
        }


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two raters' labels (see the module docstring for the formula).

    Returns NaN when chance agreement is 1 (both raters gave every item the same single
    category), where kappa is undefined.
    """
    return agreement(a, b).kappa


def agreement(a: Sequence[str], b: Sequence[str], *, level: float = 95.0) -> Agreement:
    """Percent agreement and Cohen's kappa of two raters' labels on the same items.

    Parameters
    ----------
    a, b
        Labels of reviewer A and B, aligned item by item.
    level
        Confidence level (percent) for the kappa interval.

    Raises
    ------
    InputError
        ``a`` and ``b`` differ in length, or are empty.
    """
    if len(a) != len(b):
        raise InputError(f"the two raters rated {len(a)} and {len(b)} items; they must match")
    n = len(a)
    if n == 0:
        raise InputError("no items rated by both reviewers: agreement is undefined")
    categories = tuple(sorted(set(a) | set(b)))
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(categories), len(categories)), dtype=np.int64)
    for x, y in zip(a, b, strict=True):
        counts[index[x], index[y]] += 1
    n_agree = int(np.trace(counts))
    p_o = n_agree / n
    row = counts.sum(axis=1) / n
    col = counts.sum(axis=0) / n
    p_e = float(row @ col)
    if math.isclose(p_e, 1.0):
        kappa = se = lb = ub = math.nan
    else:
        kappa = (p_o - p_e) / (1.0 - p_e)
        se = math.sqrt(p_o * (1.0 - p_o) / (n * (1.0 - p_e) ** 2))
        z = float(stats.norm.ppf(0.5 + level / 200.0))
        lb, ub = kappa - z * se, kappa + z * se
    table = {
        (categories[i], categories[j]): int(counts[i, j])
        for i in range(len(categories))
        for j in range(len(categories))
        if counts[i, j]
    }
    return Agreement(
        n=n,
        n_agree=n_agree,
        percent=100.0 * p_o,
        kappa=kappa,
        se=se,
        ci_lb=lb,
        ci_ub=ub,
        p_o=p_o,
        p_e=p_e,
        level=level,
        categories=categories,
        table=table,
    )
