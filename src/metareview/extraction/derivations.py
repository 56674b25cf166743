"""Named conversions a ``derived`` number may name: each recomputed from its inputs every run.

Every formula lives in :mod:`metareview.effects.conversions` (with its reference); this module
only names them for provenance records: :data:`DERIVATIONS` maps a method name to the function
(keyword inputs, one number out) and a sentence describing it, which the report shows beside the
number. The names are what ``derive: {method: ...}`` in a study data file and the extraction
assembly (:mod:`metareview.extraction.assemble`) use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from scipy.special import ndtri

from metareview.effects.conversions import (
    change_sd,
    combine_groups,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    sd_from_ci,
    sd_from_pvalue,
    sd_from_se,
    se_from_ci,
)
from metareview.errors import InputError

__all__ = ["DERIVATIONS", "Derive", "se_from_pvalue"]


def se_from_pvalue(estimate: float, pval: float, ni: float) -> float:
    """Standard error of a mean change from the two-sided p-value of a paired t-test.

    .. math:: t = F^{-1}_{t,\\,n-1}(1 - p/2), \\qquad SD = |\\bar d| \\sqrt{n} / t, \\qquad
              SE = SD / \\sqrt{n} = |\\bar d| / t

    where :math:`\\bar d` is the mean change and :math:`n` the number of pairs (Cochrane
    Handbook v6.4, section 6.5.2.3, via :func:`metareview.effects.conversions.sd_from_pvalue`).
    A p-value printed as "p < x" should be given as ``x``, which yields the largest SE
    consistent with the report.

    Raises
    ------
    InputError
        When ``pval`` is not in (0, 1), ``ni`` < 2 or the estimate is zero (no information).
    """
    if estimate == 0:
        raise InputError("a zero estimate carries no information on its SE", field="estimate")
    sd = float(sd_from_pvalue(pval, estimate, ni))
    return sd / math.sqrt(ni)


def _se_from_pvalue_z(estimate: float, pval: float) -> float:
    """SE of an estimate from its two-sided p-value with a normal test: |estimate| / z(1 - p/2)
    (Cochrane Handbook v6.4, section 6.3.2; for ratios the estimate is on the log scale)."""
    if estimate == 0:
        raise InputError("a zero estimate carries no information on its SE", field="estimate")
    if not 0 < pval < 1:
        raise InputError(f"p-value must be in (0, 1), got {pval}", field="pvalue")
    return abs(estimate) / float(ndtri(1 - pval / 2))


def _se_from_log_ci(lower: float, upper: float) -> float:
    """SE of a log ratio from the 95% CI of the ratio: (ln upper - ln lower) / (2 x 1.96)
    (Cochrane Handbook v6.4, section 6.3.2)."""
    if lower <= 0 or upper <= 0:
        raise InputError("a ratio's confidence limits must be positive", field="ci_lower")
    return float(se_from_ci(math.log(lower), math.log(upper)))


def _log(x: float) -> float:
    if x <= 0:
        raise InputError(f"a ratio must be positive to take its log, got {x}", field="estimate")
    return math.log(x)


def _combined(which: int) -> Callable[..., float]:
    def f(n1: float, mean1: float, sd1: float, n2: float, mean2: float, sd2: float) -> float:
        return float(combine_groups(n1, mean1, sd1, n2, mean2, sd2)[which])

    return f


def _wan(which: int, kind: str) -> Callable[..., float]:
    def f(ni: float, median: float, lower: float, upper: float) -> float:
        if kind == "iqr":
            return float(mean_sd_from_median_iqr(lower, median, upper, ni)[which])
        return float(mean_sd_from_median_range(lower, median, upper, ni)[which])

    return f


Derive = tuple[Callable[..., float], Callable[[Mapping[str, str]], str]]

#: Named conversions: method -> (function taking keyword inputs, text describing it).
DERIVATIONS: dict[str, Derive] = {
    "se_from_pvalue": (
        se_from_pvalue,
        lambda i: (
            f"SE = |{i['estimate']}| / t(1 - {i['pval']}/2, {i['ni']} - 1): "
            "the SE implied by a two-sided paired t-test p-value (Cochrane Handbook 6.5.2.3)"
        ),
    ),
    "se_from_pvalue_z": (
        _se_from_pvalue_z,
        lambda i: (
            f"SE = |{i['estimate']}| / z(1 - {i['pval']}/2), from a two-sided p-value "
            "(Cochrane Handbook 6.3.2)"
        ),
    ),
    "se_from_ci": (
        lambda lower, upper: float(se_from_ci(lower, upper)),
        lambda i: (
            f"SE = ({i['upper']} - {i['lower']}) / (2 x 1.96), from a symmetric 95% CI "
            "(Cochrane Handbook 6.5.2.2)"
        ),
    ),
    "se_from_log_ci": (
        _se_from_log_ci,
        lambda i: (
            f"SE = (ln {i['upper']} - ln {i['lower']}) / (2 x 1.96), from the 95% CI of a "
            "ratio (Cochrane Handbook 6.3.2)"
        ),
    ),
    "se_from_sd": (
        lambda sd, ni: sd / math.sqrt(ni),
        lambda i: f"SE = {i['sd']} / sqrt({i['ni']})",
    ),
    "sd_from_se": (
        lambda se, ni: float(sd_from_se(se, ni)),
        lambda i: f"SD = {i['se']} x sqrt({i['ni']}) (Cochrane Handbook 6.5.2.2)",
    ),
    "sd_from_ci": (
        lambda lower, upper, ni: float(sd_from_ci(lower, upper, ni)),
        lambda i: (
            f"SD = sqrt({i['ni']}) ({i['upper']} - {i['lower']}) / (2 c), c the t quantile "
            "on n - 1 df below n = 60 and 1.96 above (Cochrane Handbook 6.5.2.2)"
        ),
    ),
    "mean_from_median_iqr": (
        _wan(0, "iqr"),
        lambda i: (
            f"mean from median {i['median']} and quartiles {i['lower']}-{i['upper']} "
            "(Luo et al. 2018)"
        ),
    ),
    "sd_from_median_iqr": (
        _wan(1, "iqr"),
        lambda i: f"SD = ({i['upper']} - {i['lower']}) / eta(n) (Wan et al. 2014)",
    ),
    "mean_from_median_range": (
        _wan(0, "range"),
        lambda i: (
            f"mean from median {i['median']} and range {i['lower']}-{i['upper']} (Luo et al. 2018)"
        ),
    ),
    "sd_from_median_range": (
        _wan(1, "range"),
        lambda i: f"SD = ({i['upper']} - {i['lower']}) / xi(n) (Wan et al. 2014)",
    ),
    "change_sd": (
        lambda sd_pre, sd_post, r: float(change_sd(sd_pre, sd_post, r)),
        lambda i: (
            f"SD of change = sqrt({i['sd_pre']}^2 + {i['sd_post']}^2 - 2 {i['r']} "
            f"{i['sd_pre']} {i['sd_post']}) (Cochrane Handbook 6.5.2.8)"
        ),
    ),
    "difference": (lambda a, b: a - b, lambda i: f"{i['a']} - {i['b']}"),
    "sum": (lambda a, b: a + b, lambda i: f"{i['a']} + {i['b']} (arms combined)"),
    "log": (_log, lambda i: f"ln {i['x']}"),
    "combined_n": (_combined(0), lambda i: f"{i['n1']} + {i['n2']} (arms combined)"),
    "combined_mean": (
        _combined(1),
        lambda i: "(n1 m1 + n2 m2) / (n1 + n2), arms combined (Cochrane Handbook 6.5.2.10)",
    ),
    "combined_sd": (
        _combined(2),
        lambda i: "SD of the combined arms (Cochrane Handbook 6.5.2.10, Table 6.5.a)",
    ),
}
