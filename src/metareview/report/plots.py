"""Forest and funnel plots of a fitted random- or common-effect model (matplotlib).

The layout follows metafor's ``forest.rma()`` and RevMan: one row per study with its estimate
and confidence interval (square sized by weight), the weight in percent and the numbers on the
right, the pooled estimate as a diamond, the prediction interval as a bar below it, and the
heterogeneity and overall-effect tests written out underneath. Study intervals use the normal
quantile, ``yi ± z_{1−α/2} √vi``, as ``forest.rma()`` does; the diamond spans the model's own
interval (t-based under Knapp–Hartung).

Ratio measures (OR, RR, HR, …) are drawn on the log scale with the axis labelled in ratios
(metafor's ``atransf=exp``); proportions and other transformed measures are drawn on the
back-transformed scale (metafor's ``transf=``), so a logit proportion appears as a proportion.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), and
:func:`save_figure` writes SVG, PNG and PDF; :func:`figure_svg` returns an SVG fragment ready to
inline in HTML.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator
from matplotlib.transforms import blended_transform_factory
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from metareview.effects.measures import MEASURE_INFO, SINGLE_GROUP_MEASURES, find_measure
from metareview.effects.transforms import transf_exp
from metareview.errors import InputError
from metareview.models._format import format_number, format_p_report
from metareview.models.methods import COMMON_EFFECT_METHODS

__all__ = [
    "Column",
    "FitLike",
    "arm_columns",
    "default_transf",
    "figure_svg",
    "forest_plot",
    "funnel_plot",
    "is_ratio_measure",
    "measure_label",
    "save_figure",
]

FloatArray = NDArray[np.float64]
Transf = Callable[[FloatArray], FloatArray]

#: Measures analysed as log ratios: drawn on the log scale with ratio tick labels.
RATIO_MEASURES = frozenset(n for n, m in MEASURE_INFO.items() if m.is_ratio)
_INK = "#1a1a1a"
_ACCENT = "#2b5d8a"
_PI_COLOUR = "#b03a2e"
_ROW_IN = 0.27  # height of one row in inches


class FitLike(Protocol):
    """What the plots read from a fitted model (the fields of :class:`RMAResult`, read-only)."""

    @property
    def k(self) -> int: ...
    @property
    def measure(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def test(self) -> str: ...
    @property
    def level(self) -> float: ...
    @property
    def beta(self) -> float: ...
    @property
    def se(self) -> float: ...
    @property
    def zval(self) -> float: ...
    @property
    def pval(self) -> float: ...
    @property
    def ci_lb(self) -> float: ...
    @property
    def ci_ub(self) -> float: ...
    @property
    def tau2(self) -> float: ...
    @property
    def I2(self) -> float: ...
    @property
    def QE(self) -> float: ...
    @property
    def QEp(self) -> float: ...
    @property
    def pi_lb(self) -> float | None: ...
    @property
    def pi_ub(self) -> float | None: ...
    @property
    def ddf(self) -> int | None: ...
    @property
    def yi(self) -> Any: ...
    @property
    def vi(self) -> Any: ...
    @property
    def weights(self) -> Any: ...
    @property
    def slab(self) -> Sequence[str]: ...


def is_ratio_measure(measure: str) -> bool:
    """Whether ``measure`` is pooled as a log ratio (shown with ``exp`` on a log axis)."""
    return measure.upper() in RATIO_MEASURES


def measure_label(measure: str) -> str:
    """Axis label for ``measure`` on its display scale (``"Odds ratio"``, ``"Mean change"``)."""
    info = find_measure(measure)
    return measure if info is None else info.axis_label


def _exp(x: FloatArray) -> FloatArray:
    return np.asarray(transf_exp(x), dtype=float)


def default_transf(measure: str) -> Transf | None:
    """The back-transformation a forest plot applies by default (metafor's ``transf=``).

    The measure's :attr:`~metareview.effects.measures.MeasureInfo.back_transform`: PLO → inverse
    logit; PLN, IRLN, MNLN → exp; PAS → ``sin(x)²``; ZCOR → tanh. Ratio measures return None
    (they keep the log scale with ratio tick labels); so does PFT, whose inverse needs the
    sample sizes (pass ``transf=`` built from ``metareview.effects.transforms``).
    """
    info = find_measure(measure)
    if info is None or info.is_ratio or info.needs_ni:
        return None
    return info.back_transform


def _fmt(x: float, digits: int) -> str:
    return format_number(x, digits, typographic=True)


def _fmt_p(p: float) -> str:
    return format_p_report(p, 3)


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Log-scale tick positions at round ratios spanning ``[exp(lo), exp(hi)]``."""
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
    inside = [c for c in candidates if lo <= math.log(c) <= hi]
    if len(inside) > 7:
        preferred = {0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0}
        inside = [c for c in inside if c in preferred]
    return [math.log(c) for c in inside] or [0.0]


def _model_name(res: FitLike) -> str:
    method = res.method.upper()
    if method in ("EE", "FE", "CE"):
        name = "Common-effect model"
    elif method == "MH":
        name = "Common-effect model (Mantel–Haenszel)"
    elif method == "PETO":
        name = "Common-effect model (Peto)"
    else:
        name = f"Random-effects model ({method}"
        if res.test in ("knha", "t"):
            name += ", Knapp–Hartung" if res.test == "knha" else ", t-test"
        name += ")"
    return name


def _is_random(res: FitLike) -> bool:
    return res.method.upper() not in COMMON_EFFECT_METHODS


def _as_array(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=float).reshape(-1)


@dataclass(frozen=True)
class Column:
    """A text column of a forest plot, drawn left of the plot (RevMan's raw-data columns).

    ``values`` holds one string per study, in the order of the fit's studies; ``group`` is a
    heading spanning consecutive columns with the same group (``"Intervention"`` over its
    ``"Events"`` and ``"Total"``); ``marked`` flags the values that are not reported numbers
    (derived or assumed), shown in brackets with a footnote.
    """

    header: str
    values: Sequence[str]
    group: str = ""
    marked: Sequence[bool] = ()


#: Arm fields shown as columns, in order, by the kind of data an arm carries; the first field
#: present in every arm of a group decides the kind.
_ARM_LAYOUTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("person_time", (("events", "Events"), ("person_time", "Person-time"))),
    ("events", (("events", "Events"), ("n", "Total"))),
    ("mean_change", (("mean_change", "Mean change"), ("sd_change", "SD"), ("n", "N"))),
    ("mean", (("mean", "Mean"), ("sd", "SD"), ("n", "Total"))),
    ("sd", (("sd", "SD"), ("n", "Total"))),
)
_ARM_GROUPS = (("intervention", "Intervention"), ("comparator", "Comparator"), ("single", ""))


def _arm_text(value: Any, count: bool) -> str:
    """A count as an integer, a mean or SD with two decimals; missing values as empty cells."""
    if value is None or isinstance(value, bool):
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return ""
    if count and x.is_integer():
        return str(int(x))
    return _fmt(x, 2)


def arm_columns(arms: Sequence[Sequence[Mapping[str, Any]]]) -> list[Column]:
    """Raw-data columns of a forest plot from each study's arms, as RevMan prints them.

    ``arms[i]`` lists study ``i``'s arms as mappings with ``group`` (``"intervention"``,
    ``"comparator"`` or ``"single"``) and the arm's numbers: ``events`` and ``n`` give
    "Events, Total" (``events`` and ``person_time``: "Events, Person-time"); ``mean``, ``sd``
    and ``n`` give "Mean, SD, Total"; ``mean_change``,
    ``sd_change`` and ``n`` give "Mean change, SD, N". Two-group studies get one set of
    columns per group under the group's heading; single-group studies one set without heading.
    A study without an arm of a group gets empty cells. No arms at all: no columns. The fields
    an arm lists under ``not_reported`` (derived or assumed) are shown in brackets, "[8.58]".
    """
    columns: list[Column] = []
    for group, heading in _ARM_GROUPS:
        per_study = [
            next((a for a in study if str(a.get("group") or "") == group), None) for study in arms
        ]
        present = [a for a in per_study if a is not None]
        if not present:
            continue
        layout = next(
            (
                fields
                for key, fields in _ARM_LAYOUTS
                if any(a.get(key) is not None for a in present)
            ),
            None,
        )
        if layout is None:
            layout = (("n", "N"),)
        for key, header in layout:
            texts = [
                "" if a is None else _arm_text(a.get(key), key in ("events", "n", "person_time"))
                for a in per_study
            ]
            marked = [
                bool(t) and a is not None and key in (a.get("not_reported") or ())
                for a, t in zip(per_study, texts, strict=True)
            ]
            values = [f"[{t}]" if m else t for t, m in zip(texts, marked, strict=True)]
            columns.append(Column(header, values, heading, marked))
    return columns


#: Measures of one group with no comparator to favour: the single-group measures and the mean
#: changes (metafor's MC, SMCC, SMCR, SMCRH are within-group changes).
_NO_COMPARATOR = SINGLE_GROUP_MEASURES | {"MC", "SMCC", "SMCR", "SMCRH"}


@dataclass
class _Row:
    """One line of the forest plot's study block (a study, a subgroup heading or subtotal)."""

    kind: str  # "study", "heading", "subtotal", "het", "blank"
    text: str = ""
    study: int = -1
    group: Mapping[str, Any] | None = None


def _subgroup_summary(subgroups: Any) -> dict[str, Any]:
    """A :class:`~metareview.models.subgroup.SubgroupResult` (or its ``to_dict()``) as a dict."""
    to_dict = getattr(subgroups, "to_dict", None)
    data = to_dict() if callable(to_dict) else subgroups
    if not isinstance(data, Mapping) or not isinstance(data.get("groups"), Sequence):
        raise InputError(
            "subgroups= needs a SubgroupResult or its to_dict() (with a 'groups' list)",
            field="subgroups",
        )
    return dict(data)


def _subgroup_test_text(summary: Mapping[str, Any]) -> str | None:
    """The headline test line, "Test for subgroup differences: Q = …, df = …, p = …"."""

    def num(key: str) -> float:
        value = summary.get(key)
        return float(value) if isinstance(value, int | float) else math.nan

    if summary.get("test_between") == "common" and math.isfinite(num("QM_common")):
        df = list(summary.get("QMdf_common") or [0, None])
        p = num("QMp_common")
        if len(df) > 1 and df[1] is not None:
            stat = f"F({int(df[0])}, {int(df[1])}) = {num('QM_common'):.2f}"
        else:
            stat = f"Q = {num('QM_common'):.2f}, df = {int(df[0])}"
    else:
        q = num("Q_between")
        if not math.isfinite(q):
            return None
        stat = f"Q = {q:.2f}, df = {int(summary.get('Q_between_df') or 0)}"
        p = num("Q_between_p")
    return f"Test for subgroup differences: {stat}, {_fmt_p(p)}"


def forest_plot(
    res: FitLike,
    *,
    transf: Transf | None = None,
    xlabel: str | None = None,
    ax: Axes | None = None,
    show_pi: bool = True,
    digits: int = 2,
    title: str | None = None,
    columns: Sequence[Column | tuple[str, Sequence[str]]] | None = None,
    better: str | None = None,
    favours: tuple[str, str] = ("intervention", "comparator"),
    assumed: Sequence[bool] | None = None,
    subgroup: Sequence[str] | None = None,
    subgroups: Any = None,
    log_scale: bool | None = None,
) -> Figure:
    """Draw a forest plot of a fitted model, in the style of metafor's ``forest.rma()``.

    Parameters
    ----------
    res
        A fitted model (:class:`~metareview.models.RMAResult` or anything with its fields).
    transf
        Function applied to estimates and bounds for display (metafor's ``transf``), e.g. the
        inverse logit for PLO. Default: :func:`default_transf` of ``res.measure``; ratio
        measures keep the log axis labelled in ratios.
    xlabel
        Axis label; default from the measure (``"Odds ratio (log scale)"``).
    ax
        Axes to draw into; its figure needs about 3 inches of margin on either side for the
        text columns (more on the left with ``columns``). Default: a new figure sized to the
        number of rows and columns.
    show_pi
        Draw the prediction interval bar (random-effects models with k ≥ 3 only; metafor's
        ``addpred``).
    digits
        Decimals of the printed estimates and bounds.
    title
        Title above the plot.
    columns
        Per-study text columns drawn between the study labels and the plot, as RevMan's raw
        data ("Events", "Total" per group): :class:`Column` objects (see :func:`arm_columns`)
        or ``(header, values)`` pairs, one value per study in the fit's order.
    better
        ``"lower"`` or ``"higher"``: which direction of the effect is good for the
        intervention. Writes "Favours intervention" / "Favours comparator" under the axis on
        either side of the null (1 for ratios on their log axis, 0 for differences). Not drawn
        for single-group measures and mean changes (there is no comparator).
    favours
        The names after "Favours" (intervention, comparator).
    assumed
        One flag per study: studies with assumed (imputed) inputs get a dagger after their
        label and a footnote "† includes assumed inputs (see report)".
    subgroup
        The subgroup of each study: studies are drawn under subgroup headings, in the order of
        ``subgroups``' rows (then any other subgroup in order of appearance).
    subgroups
        The subgroup fits and the test for subgroup differences: a
        :class:`~metareview.models.subgroup.SubgroupResult` or its ``to_dict()`` (rows of
        ``group``, ``k``, ``estimate``, ``ci_lb``, ``ci_ub``, ``tau2``, ``I2``, ``QE``, ``QEp``
        on the model scale). Each subgroup gets a diamond and a heterogeneity line, and the
        test "Test for subgroup differences: Q = …, df = …, p = …" goes under the plot.
    log_scale
        Draw on the log axis with ratio labels; default: whether ``res.measure`` is a ratio
        measure (pass True for a generic (GEN) log hazard ratio).

    Returns
    -------
    matplotlib.figure.Figure
    """
    yi = _as_array(res.yi)
    vi = _as_array(res.vi)
    weights = _as_array(res.weights)
    k = yi.size
    if k == 0 or vi.size != k:
        raise InputError("a forest plot needs one variance per estimate and at least one study")
    slab = (
        [str(s) for s in res.slab] if len(res.slab) == k else [f"Study {i + 1}" for i in range(k)]
    )
    cols = [c if isinstance(c, Column) else Column(str(c[0]), list(c[1])) for c in columns or ()]
    for c in cols:
        if len(c.values) != k:
            raise InputError(
                f"forest plot column {c.header!r} has {len(c.values)} values for {k} studies",
                field="columns",
            )
    if assumed is not None and len(assumed) != k:
        raise InputError(f"assumed= has {len(assumed)} flags for {k} studies", field="assumed")
    if subgroup is not None and len(subgroup) != k:
        raise InputError(f"subgroup= has {len(subgroup)} labels for {k} studies", field="subgroup")
    if better is not None and better not in ("lower", "higher"):
        raise InputError("better= must be 'lower' or 'higher'", field="better")
    flagged = [bool(a) for a in assumed] if assumed is not None else [False] * k
    labels = [s + (" †" if flagged[i] else "") for i, s in enumerate(slab)]
    summary = _subgroup_summary(subgroups) if subgroups is not None else None

    level = float(res.level)
    crit = float(stats.norm.ppf(1.0 - (1.0 - level / 100.0) / 2.0))
    sei = np.sqrt(vi)
    ci_lb = yi - crit * sei
    ci_ub = yi + crit * sei

    on_log = is_ratio_measure(res.measure) if log_scale is None else bool(log_scale)
    ratio = on_log and transf is None
    tf: Transf = transf or default_transf(res.measure) or (lambda x: np.asarray(x, dtype=float))
    transformed = transf is not None or (default_transf(res.measure) is not None and not ratio)

    def show(x: float | FloatArray) -> FloatArray:
        """Values on the display scale (the axis scale is the model scale for ratio measures)."""
        arr = np.asarray(x, dtype=float)
        return _exp(arr) if ratio else tf(arr)

    def pos(x: float | FloatArray) -> FloatArray:
        """Positions on the axis: model scale for ratios (log axis), display scale otherwise."""
        arr = np.asarray(x, dtype=float)
        return arr if ratio else tf(arr)

    random = _is_random(res)
    draw_pi = (
        show_pi
        and random
        and res.k >= 3
        and res.pi_lb is not None
        and res.pi_ub is not None
        and math.isfinite(float(res.pi_lb))
        and math.isfinite(float(res.pi_ub))
    )

    # The study block, top to bottom: studies, or subgroup headings, studies, subtotals.
    block: list[_Row] = []
    if subgroup is None:
        block = [_Row("study", labels[i], study=i) for i in range(k)]
    else:
        fits = {str(g.get("group")): g for g in (summary or {}).get("groups") or []}
        order = list(fits)
        order += [g for g in dict.fromkeys(str(s) for s in subgroup) if g not in fits]
        for name in order:
            members = [i for i in range(k) if str(subgroup[i]) == name]
            if not members:
                continue
            if block and block[-1].kind != "het":
                block.append(_Row("blank"))
            block.append(_Row("heading", name))
            block += [_Row("study", labels[i], study=i) for i in members]
            fit_g = fits.get(name)
            if fit_g is not None:
                block.append(_Row("subtotal", "Subtotal", group={**fit_g, "members": members}))
                het = _subgroup_het_text(fit_g, res)
                if het:
                    block.append(_Row("het", het))
    n_block = len(block)

    # Row positions: the block n_block..1 from the top, a rule, the model row, then the PI row.
    model_y = -0.55
    pi_y = -1.45
    rows_bottom = pi_y if draw_pi else model_y
    groups_header = any(c.group for c in cols)
    lines = [_heterogeneity_text(res)]
    if res.measure.upper() not in SINGLE_GROUP_MEASURES:
        lines.append(_overall_text(res))
    if summary is not None:
        test_text = _subgroup_test_text(summary)
        if test_text:
            lines.append(test_text)
    if any(flagged):
        lines.append("† includes assumed inputs (see report)")
    if any(any(c.marked) for c in cols):
        lines.append("[ ] derived or assumed, not reported (see report)")
    foot_lines = len(lines)
    draw_favours = better is not None and res.measure.upper() not in _NO_COMPARATOR
    n_rows = n_block + 2 + (2 if draw_pi else 1) + (1 if groups_header else 0)

    fontsize = 9.0
    char_in = 0.075  # mean width of one character at 9 pt, in inches
    label_texts = [r.text for r in block if r.kind in ("study", "heading", "subtotal")]
    label_chars = max(len(s) for s in [*label_texts, _model_name(res), "Prediction interval"])
    label_in = min(max(char_in * label_chars + 0.4, 1.4 if cols else 2.2), 5.0 if cols else 4.2)
    col_w = [
        max(char_in * max(len(c.header), *(len(v) for v in c.values)) + 0.22, 0.5) for c in cols
    ]
    cols_in = sum(col_w) + (0.15 if cols else 0.0)
    left_in = label_in + cols_in
    plot_in = 3.6
    # "est [lo, hi]" in monospace, right of the weight column (more decimals: wider; a rate)
    shown_all = np.concatenate([show(yi), show(ci_lb), show(ci_ub)])
    num_chars = max((len(_fmt(float(v), digits)) for v in shown_all if np.isfinite(v)), default=4)
    right_in = max(2.6, 1.1 + char_in * (3 * num_chars + 5))
    width_in = left_in + plot_in + right_in
    bottom_in = 0.55 + 0.2 * foot_lines + (0.22 if draw_favours else 0.0)
    top_in = 0.3 + (0.3 if title else 0.0)
    height_in = n_rows * _ROW_IN + bottom_in + top_in

    if ax is None:
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_axes(
            (
                left_in / width_in,
                bottom_in / height_in,
                plot_in / width_in,
                1.0 - (bottom_in + top_in) / height_in,
            )
        )
    else:
        parent = ax.get_figure()
        if not isinstance(parent, Figure):
            raise InputError("the axes given to forest_plot() belong to no figure")
        fig = parent
    fig_w_in = fig.get_figwidth()
    ax_box = ax.get_position()
    ax_w_in = ax_box.width * fig_w_in

    def col(offset_in: float, *, from_right: bool) -> float:
        """Axes-fraction x of a text column ``offset_in`` inches outside the plot area."""
        return 1.0 + offset_in / ax_w_in if from_right else -offset_in / ax_w_in

    text_tf = blended_transform_factory(ax.transAxes, ax.transData)
    x_label = col(ax_box.x0 * fig_w_in - 0.15, from_right=False)
    x_weight = col(0.75, from_right=True)
    x_est = col(right_in - 0.15, from_right=True)
    # Raw-data columns: right-aligned, the last one 0.25 in left of the plot.
    col_right: list[float] = []
    edge = 0.25
    for w in reversed(col_w):
        col_right.insert(0, col(edge, from_right=False))
        edge += w

    def put(x: float, y: float, text: str, ha: str = "left", **kw: Any) -> None:
        ax.text(
            x,
            y,
            text,
            transform=text_tf,
            ha=ha,
            va="center",
            fontsize=kw.pop("fontsize", fontsize),
            clip_on=False,
            **kw,
        )

    # Axis range from every interval drawn.
    pooled = np.array([res.ci_lb, res.beta, res.ci_ub], dtype=float)
    extent = [ci_lb, ci_ub, pooled]
    sub_rows = [r for r in block if r.kind == "subtotal" and r.group is not None]
    for r in sub_rows:
        assert r.group is not None
        extent.append(np.array([r.group.get("ci_lb"), r.group.get("ci_ub")], dtype=float))
    if draw_pi:
        extent.append(np.array([res.pi_lb, res.pi_ub], dtype=float))
    finite = np.concatenate([pos(e) for e in extent])
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(finite.max())
    refline: float | None = None
    if not transformed:
        refline = 0.0
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.04 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(rows_bottom - 0.7, n_block + 1.2 + (0.85 if groups_header else 0.0))

    # Header: column names, and group headings spanning their columns with a rule under them.
    header_y = n_block + 0.9
    bold: dict[str, Any] = {"fontweight": "bold"}
    put(x_label, header_y, "Study", **bold)
    put(x_weight, header_y, "Weight", "right", **bold)
    put(x_est, header_y, f"Estimate [{level:g}% CI]", "right", **bold)
    for c, right in zip(cols, col_right, strict=True):
        put(right, header_y, c.header, "right", **bold)
    j = 0
    while j < len(cols):
        name = cols[j].group
        end = j
        while end + 1 < len(cols) and cols[end + 1].group == name:
            end += 1
        if name:
            left = col_right[j] - (col_w[j] - 0.1) / ax_w_in
            right = col_right[end]
            put((left + right) / 2, header_y + 0.85, name, "center", **bold)
            ax.plot(
                [left, right],
                [header_y + 0.5, header_y + 0.5],
                transform=text_tf,
                color=_INK,
                lw=0.5,
                clip_on=False,
            )
        j = end + 1
    ax.plot(
        [x_label, x_est],
        [n_block + 0.45, n_block + 0.45],
        transform=text_tf,
        color=_INK,
        lw=0.6,
        clip_on=False,
    )

    # Studies, subgroup headings and subtotals.
    wmax = float(np.nanmax(weights)) if weights.size and np.isfinite(weights).any() else 1.0
    mono: dict[str, Any] = {"family": "DejaVu Sans Mono"}
    for r_index, row in enumerate(block):
        y = float(n_block - r_index)
        if row.kind == "heading":
            put(x_label, y, row.text, **bold)
            continue
        if row.kind == "het":
            put(x_label, y, row.text, fontsize=fontsize - 1.5, color="#333333")
            continue
        if row.kind == "subtotal" and row.group is not None:
            g = row.group
            g_pooled = np.array([g.get("ci_lb"), g.get("estimate"), g.get("ci_ub")], dtype=float)
            if np.isfinite(g_pooled).all():
                s_lb, s_est, s_ub = (float(v) for v in pos(g_pooled))
                ax.add_patch(
                    Polygon(
                        [(s_lb, y), (s_est, y + 0.26), (s_ub, y), (s_est, y - 0.26)],
                        closed=True,
                        facecolor=_ACCENT,
                        edgecolor=_INK,
                        lw=0.6,
                        zorder=3,
                    )
                )
                sh = show(g_pooled)
                est_text = f"{_fmt(sh[1], digits)} [{_fmt(sh[0], digits)}, {_fmt(sh[2], digits)}]"
            else:
                est_text = "NA"
            members = list(g.get("members") or [])
            w_sum = float(np.nansum(weights[members])) if weights.size == k else math.nan
            k_g = g.get("k")
            k_text = f" (k = {int(k_g)})" if isinstance(k_g, int | float) else ""
            put(x_label, y, row.text + k_text, **bold)
            put(x_weight, y, f"{w_sum:.1f}%" if math.isfinite(w_sum) else "", "right", **bold)
            put(x_est, y, est_text, "right", **bold, **mono)
            continue
        if row.kind != "study":
            continue
        i = row.study
        est, lb, ub = (float(v) for v in pos(np.array([yi[i], ci_lb[i], ci_ub[i]])))
        ax.plot([lb, ub], [y, y], color=_INK, lw=1.0, solid_capstyle="butt", zorder=2)
        ax.plot([lb, lb], [y - 0.12, y + 0.12], color=_INK, lw=1.0, zorder=2)
        ax.plot([ub, ub], [y - 0.12, y + 0.12], color=_INK, lw=1.0, zorder=2)
        w = float(weights[i]) if i < weights.size else math.nan
        size = 4.0 + 8.0 * math.sqrt(w / wmax) if math.isfinite(w) and wmax > 0 else 5.0
        ax.plot(
            [est],
            [y],
            marker="s",
            markersize=size,
            color=_ACCENT,
            markeredgecolor=_INK,
            markeredgewidth=0.6,
            zorder=3,
        )
        shown = show(np.array([yi[i], ci_lb[i], ci_ub[i]]))
        put(x_label, y, row.text)
        for c, right in zip(cols, col_right, strict=True):
            put(right, y, str(c.values[i]), "right")
        put(x_weight, y, f"{w:.1f}%" if math.isfinite(w) else "", "right")
        put(
            x_est,
            y,
            f"{_fmt(shown[0], digits)} [{_fmt(shown[1], digits)}, {_fmt(shown[2], digits)}]",
            "right",
            **mono,
        )

    # Separator, pooled diamond, prediction interval.
    ax.plot([x_label, x_est], [0.35, 0.35], transform=text_tf, color=_INK, lw=0.6, clip_on=False)
    d_lb, d_est, d_ub = (float(v) for v in pos(pooled))
    ax.add_patch(
        Polygon(
            [(d_lb, model_y), (d_est, model_y + 0.32), (d_ub, model_y), (d_est, model_y - 0.32)],
            closed=True,
            facecolor=_INK,
            edgecolor=_INK,
            zorder=3,
        )
    )
    shown = show(pooled)
    put(x_label, model_y, _model_name(res), **bold)
    put(x_weight, model_y, "100.0%", "right", **bold)
    put(
        x_est,
        model_y,
        f"{_fmt(shown[1], digits)} [{_fmt(shown[0], digits)}, {_fmt(shown[2], digits)}]",
        "right",
        **bold,
        **mono,
    )
    if draw_pi:
        p_lb, p_ub = (float(v) for v in pos(np.array([res.pi_lb, res.pi_ub], dtype=float)))
        ax.plot(
            [p_lb, p_ub], [pi_y, pi_y], color=_PI_COLOUR, lw=2.2, solid_capstyle="butt", zorder=3
        )
        for x in (p_lb, p_ub):
            ax.plot([x, x], [pi_y - 0.18, pi_y + 0.18], color=_PI_COLOUR, lw=1.4, zorder=3)
        shown_pi = show(np.array([res.pi_lb, res.pi_ub], dtype=float))
        put(x_label, pi_y, "Prediction interval", color=_PI_COLOUR)
        put(
            x_est,
            pi_y,
            f"[{_fmt(shown_pi[0], digits)}, {_fmt(shown_pi[1], digits)}]",
            "right",
            color=_PI_COLOUR,
            **mono,
        )

    if refline is not None:
        ax.plot(
            [refline, refline],
            [rows_bottom - 0.7, n_block + 0.45],
            color="#777777",
            lw=0.8,
            ls=(0, (4, 3)),
            zorder=1,
        )

    # Axis: log scale labelled in ratios, or plain.
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    if ratio:
        ticks = _ratio_ticks(lo - pad, hi + pad)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels([f"{math.exp(t):g}" for t in ticks])
    ax.tick_params(axis="x", labelsize=fontsize - 0.5)
    default_label = measure_label(res.measure) + (" (log scale)" if ratio else "")
    ax.set_xlabel(xlabel or default_label, fontsize=fontsize, labelpad=18 if draw_favours else 4)

    # "Favours …" on either side of the null, under the tick labels (RevMan).
    if draw_favours:
        null = 0.0 if (ratio or not transformed) else float(tf(np.array([0.0]))[0])
        left_name, right_name = favours if better == "lower" else favours[::-1]
        x_lo, x_hi = ax.get_xlim()
        null = min(max(null, x_lo), x_hi)
        fav_tf = blended_transform_factory(ax.transData, ax.transAxes)
        for text, ha, dx in ((left_name, "right", -4), (right_name, "left", 4)):
            ax.annotate(
                f"Favours {text}",
                xy=(null, 0.0),
                xycoords=fav_tf,
                xytext=(dx, -17),
                textcoords="offset points",
                ha=ha,
                va="top",
                fontsize=fontsize - 0.5,
                color="#333333",
                annotation_clip=False,
            )

    # Heterogeneity, the tests and the footnotes, under the axis (RevMan places them under the
    # pooled row; metafor in the model label).
    foot_tf = blended_transform_factory(ax.transAxes, fig.transFigure)
    fig_h_in = fig.get_figheight()
    for j, line in enumerate(lines):
        ax.text(
            x_label,
            (0.12 + 0.2 * (len(lines) - 1 - j)) / fig_h_in,
            line,
            transform=foot_tf,
            ha="left",
            va="bottom",
            fontsize=fontsize - 0.5,
            color="#333333",
            clip_on=False,
        )
    if title:
        ax.text(
            x_label,
            1.0 - 0.15 / fig_h_in,
            title,
            transform=foot_tf,
            ha="left",
            va="top",
            fontsize=fontsize + 2,
            fontweight="bold",
            clip_on=False,
        )
    return fig


def _subgroup_het_text(row: Mapping[str, Any], res: FitLike) -> str:
    """The heterogeneity line under a subgroup's subtotal (nothing for k = 1)."""
    k = row.get("k")
    if not isinstance(k, int | float) or int(k) < 2:
        return ""

    def num(key: str) -> float:
        value = row.get(key)
        return float(value) if isinstance(value, int | float) else math.nan

    parts = []
    if _is_random(res) and math.isfinite(num("tau2")):
        parts.append(f"τ² = {num('tau2'):.4g}")
    if math.isfinite(num("QE")):
        parts.append(f"Q = {num('QE'):.2f}, df = {int(k) - 1}, {_fmt_p(num('QEp'))}")
    if math.isfinite(num("I2")):
        parts.append(f"I² = {num('I2'):.1f}%")
    return "Heterogeneity: " + "; ".join(parts) if parts else ""


def _heterogeneity_text(res: FitLike) -> str:
    df = res.k - 1
    if df < 1:
        return "Heterogeneity: not estimable from a single study"
    parts = []
    if _is_random(res) and math.isfinite(float(res.tau2)):
        parts.append(f"τ² = {float(res.tau2):.4g} ({res.method.upper()})")
    parts.append(f"Q = {float(res.QE):.2f}, df = {df}, {_fmt_p(float(res.QEp))}")
    if res.I2 is not None and math.isfinite(float(res.I2)):
        parts.append(f"I² = {float(res.I2):.1f}%")
    return "Heterogeneity: " + "; ".join(parts)


def _overall_text(res: FitLike) -> str:
    stat = float(res.zval)
    if res.test in ("knha", "t") and res.ddf is not None:
        ddf = float(res.ddf)
        name = f"t({ddf:g})"
    else:
        name = "z"
    return f"Test for overall effect: {name} = {_fmt(stat, 2)}, {_fmt_p(float(res.pval))}"


def funnel_plot(res: FitLike, *, ax: Axes | None = None, xlabel: str | None = None) -> Figure:
    """Funnel plot: estimates against their standard errors with the pseudo-confidence region.

    As metafor's ``funnel.rma()``: x is ``yi`` on the model scale, y is ``√vi`` with 0 at the
    top; the white triangle is ``β̂ ± z_{1−α/2} · SE`` around the pooled estimate ``β̂`` (the
    region where studies would fall without heterogeneity or small-study effects), on a grey
    background. Needs k ≥ 3 (fewer points say nothing about asymmetry).

    Raises
    ------
    InputError
        When ``res`` has fewer than 3 studies.
    """
    yi = _as_array(res.yi)
    sei = np.sqrt(_as_array(res.vi))
    if yi.size < 3:
        raise InputError(f"a funnel plot needs at least 3 studies, got {yi.size}")
    level = float(res.level)
    crit = float(stats.norm.ppf(1.0 - (1.0 - level / 100.0) / 2.0))
    beta = float(res.beta)
    if ax is None:
        fig = Figure(figsize=(5.6, 4.4))
        ax = fig.add_axes((0.14, 0.13, 0.8, 0.8))
    else:
        parent = ax.get_figure()
        if not isinstance(parent, Figure):
            raise InputError("the axes given to funnel_plot() belong to no figure")
        fig = parent
    se_max = float(np.nanmax(sei)) * 1.08
    half = crit * se_max
    x_lo = min(float(np.nanmin(yi)), beta - half)
    x_hi = max(float(np.nanmax(yi)), beta + half)
    pad = 0.05 * (x_hi - x_lo)
    ax.set_facecolor("#d9d9d9")
    ax.add_patch(
        Polygon(
            [(beta - half, se_max), (beta, 0.0), (beta + half, se_max)],
            closed=True,
            facecolor="white",
            edgecolor="#555555",
            lw=0.8,
            ls=(0, (4, 3)),
            zorder=1,
        )
    )
    ax.plot([beta, beta], [0.0, se_max], color=_INK, lw=0.9, zorder=2)
    ax.plot(yi, sei, "o", markersize=6, color=_INK, markerfacecolor=_INK, zorder=3)
    ax.set_xlim(x_lo - pad, x_hi + pad)
    ax.set_ylim(se_max, 0.0)
    ratio = is_ratio_measure(res.measure)
    label = measure_label(res.measure)
    info = find_measure(res.measure)
    if ratio:
        label = "Log " + label.lower()
    elif info is not None and default_transf(res.measure) is not None:
        # drawn on the model scale: say which ("Log incidence rate", not "Incidence rate")
        label = info.description[:1].upper() + info.description[1:]
    ax.set_xlabel(xlabel or label, fontsize=9.5)
    ax.set_ylabel("Standard error", fontsize=9.5)
    ax.tick_params(labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def figure_svg(fig: Figure, *, salt: str = "metareview") -> str:
    """The figure as an SVG fragment for inlining in HTML (no XML declaration or DOCTYPE).

    Text is kept as SVG text (``svg.fonttype = "none"``; matplotlib escapes it), and ``salt``
    makes element ids unique when several figures share one page.
    """
    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def save_figure(
    fig: Figure, stem: str | Path, formats: Iterable[str] = ("svg", "png", "pdf"), *, dpi: int = 200
) -> dict[str, Path]:
    """Write ``fig`` as ``stem.svg``, ``stem.png`` and ``stem.pdf`` (or the ``formats`` given).

    Files carry no creation date, so the same figure gives the same bytes (SVG, PDF).
    Returns the written paths by format.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "svg":
            with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": stem.name}):
                fig.savefig(path, format="svg", metadata={"Date": None})
        elif fmt == "pdf":
            fig.savefig(path, format="pdf", metadata={"CreationDate": None})
        elif fmt == "png":
            fig.savefig(path, format="png", dpi=dpi)
        else:
            raise InputError(f"unknown figure format {fmt!r}; use svg, png or pdf", field="format")
        out[fmt] = path
    return out
