"""Text rendering of a fitted model in the layout of metafor's ``print.rma.uni``.

One printer serves the terminal (``str(res)``), notebooks (``_repr_html_``) and the HTML report.
Number formats follow metafor (:mod:`metareview.models._format`: 4 decimals, p-values below 1e-4
printed as ``<.0001``) and the significance stars of R's ``symnum()``.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

from metareview.models._format import format_number as _f
from metareview.models._format import format_p as _p

if TYPE_CHECKING:
    from metareview.models.rma import RMAResult

__all__ = ["render_html", "render_text"]

_MODEL_NAMES = {"EE": "Equal-Effects Model", "FE": "Fixed-Effects Model"}


def _stars(p: float) -> str:
    """R's significance codes: 0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1."""
    if math.isnan(p):
        return ""
    for cut, sym in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return sym
    return ""


def _table(header: list[str], rows: list[list[str]], row_names: list[str] | None = None) -> str:
    """Right-aligned columns separated by two spaces, as R prints a character data frame."""
    cols = [header, *rows]
    widths = [max(len(r[j]) for r in cols) for j in range(len(header))]
    names = row_names or [""] * (len(rows) + 1)
    name_w = max((len(n) for n in names), default=0)
    lines = []
    for r, name in zip(cols, names, strict=True):
        cells = "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))
        lines.append((name.ljust(name_w) + " " if name_w else "") + cells)
    return "\n".join(lines)


def render_text(res: RMAResult, digits: int = 4, signif_stars: bool = True) -> str:
    """The summary of ``res`` as metafor prints it, plus the Q-profile CIs and the prediction
    interval (as metafor's ``confint()`` and ``predict()`` print them)."""
    out: list[str] = [""]
    is_ee = res.method in ("EE", "FE")
    if is_ee:
        out.append(f"{_MODEL_NAMES[res.method]} (k = {res.k})")
    elif res.tau2_fixed:
        out.append(f"Random-Effects Model (k = {res.k}; user-specified tau^2 value)")
    else:
        out.append(f"Random-Effects Model (k = {res.k}; tau^2 estimator: {res.method})")
    out.append("")
    if not is_ee:
        tdig = 0 if abs(res.tau2) <= 2.220446049250313e-15 else digits
        se = "" if res.se_tau2 is None else f" (SE = {_f(res.se_tau2, digits)})"
        out.append(f"tau^2 (estimated amount of total heterogeneity): {_f(res.tau2, tdig)}{se}")
        out.append(
            "tau (square root of estimated tau^2 value):      "
            f"{_f(math.sqrt(res.tau2), tdig)}"
        )
    if not math.isnan(res.I2):
        out.append(f"I^2 (total heterogeneity / total variability):   {_f(res.I2, 2)}%")
    if not math.isnan(res.H2):
        out.append(f"H^2 (total variability / sampling variability):  {_f(res.H2, 2)}")
    out.append("")
    out.append("Test for Heterogeneity:")
    out.append(
        f"Q(df = {res.k - 1}) = {_f(res.QE, digits)}, p-val {_p(res.QEp, digits, showeq=True)}"
    )
    out.append("")
    out.append("Model Results:")
    out.append("")
    stars = _stars(res.pval) if signif_stars else None
    if res.ddf is not None:
        header = ["estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub"]
        row = [
            _f(res.beta, digits), _f(res.se, digits), _f(res.zval, digits), f"{res.ddf:g}",
            _p(res.pval, digits), _f(res.ci_lb, digits), _f(res.ci_ub, digits),
        ]
    else:
        header = ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
        row = [
            _f(res.beta, digits), _f(res.se, digits), _f(res.zval, digits),
            _p(res.pval, digits), _f(res.ci_lb, digits), _f(res.ci_ub, digits),
        ]
    if stars is not None:
        header.append("")
        row.append(stars)
    out.append(_table(header, [row]))
    if signif_stars:
        out.append("")
        out.append("---")
        out.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    if res.tau2_ci_lb is not None and res.tau2_ci_ub is not None:
        out.append("")
        out.append(f"Heterogeneity, {res.level:g}% CI (Q-profile method):")
        out.append("")
        tau_lb = math.sqrt(res.tau2_ci_lb) if res.tau2_ci_lb >= 0 else float("nan")
        tau_ub = math.sqrt(res.tau2_ci_ub) if res.tau2_ci_ub >= 0 else float("nan")
        rows = [
            [_f(res.tau2, digits), _f(res.tau2_ci_lb, digits), _f(res.tau2_ci_ub, digits)],
            [_f(math.sqrt(res.tau2), digits), _f(tau_lb, digits), _f(tau_ub, digits)],
            [_f(res.I2, digits), _f(res.I2_ci_lb, digits), _f(res.I2_ci_ub, digits)],
            [_f(res.H2, digits), _f(res.H2_ci_lb, digits), _f(res.H2_ci_ub, digits)],
        ]
        out.append(
            _table(
                ["estimate", "ci.lb", "ci.ub"],
                rows,
                row_names=["", "tau^2", "tau", "I^2(%)", "H^2"],
            )
        )
    if res.pi_lb is not None and res.pi_ub is not None:
        out.append("")
        out.append(
            f"Prediction interval ({res.level:g}%): {_f(res.pi_lb, digits)} to "
            f"{_f(res.pi_ub, digits)}"
        )
    out.append("")
    return "\n".join(out)


def render_html(res: RMAResult) -> str:
    """The text summary in a ``<pre>`` block (escaped), for notebooks and the HTML report."""
    return f"<pre>{html.escape(render_text(res))}</pre>"
