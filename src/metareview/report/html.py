"""The review report: one self-contained HTML file (plus report.json and the figures).

:func:`write_report` takes the result of a review run (the object returned by the analysis
runner, anything with ``to_dict()``, or that dict itself) and writes into ``out_dir``:

* ``report.html`` — one file a clinician can open offline: the question, the methods written out
  from the protocol and the model settings, the study characteristics, per outcome the pooled
  result, the forest plot (with each study's raw data when the result gives its arms), the
  funnel plot when k ≥ 3, the sensitivity and leave-one-out tables, and the provenance of every
  number (hover or focus a number to see its source and status; assumed numbers are marked).
  When the result gives a published figure for an outcome, it is shown beside the pooled one
  with the result's comparison and check of it; without one there is no such row or section.
  CSS and the figures (SVG) are inline, there is no script and nothing is fetched;
* ``report.json`` — the same content as data, and ``summary_of_findings`` (the table's cells
  as shown: :meth:`~metareview.appraisal.sof.SofTable.to_dict`) when GRADE rows are given;
* ``figures/<outcome>-forest.{svg,png,pdf}`` and ``…-funnel.*`` for papers, and
  ``figures/prisma.{svg,png,pdf}`` when the study selection is given.

The report is a pure function of the result: it fits no model, checks no published figure and
words no comparison itself; what the result does not give is not shown. The input is a mapping
(or an object whose ``to_dict()`` gives one) with these keys; only ``analyses`` is required::

    title, question (PICO mapping or text), protocol (Protocol.model_dump(mode="json")),
    sources: [{key, citation, url, doi, note}],
    studies: [StudyData.model_dump(mode="json") or {label, design, ...}],
    analyses: [{
        outcome, label, measure, method, test, level, k, better ("lower" | "higher"),
        scale ("log" for a generic (GEN) ratio such as a log hazard ratio),
        estimate, ci_lower, ci_upper, pvalue, se, tau2, I2, QE, QEp, pi_lower, pi_upper,
        transformed: {estimate, ci_lower, ci_upper, pi_lower, pi_upper},
        fit (the RMAResult: drawn as the forest and funnel plots; no fit, no plots),
        transf (callable back-transformation for the plots),
        published: {estimate, ci_lower, ci_upper, pvalue, k, where, quote, as_printed,
                    correction, check (PublishedCheck.to_dict())},
        comparison (text or list of sentences: how the pooled result compares with the
                    published one),
        studies: [{study, yi, vi, weight, assumed, inputs: [{name, value, status, source, ...}],
                   arms: [{group ("intervention" | "comparator" | "single"), arm, n, events,
                           mean, sd, mean_change, sd_change}]}],
        sensitivity: [{name, description, estimate, ci_lower, ci_upper, ...}] or
                     [{title, rows: [{...}]}],
        leave1out: [{slab, estimate, ci_lb, ci_ub, ...}],
        warnings: [text, ...] (shown prominently, in the summary and the outcome's section),
        note, explanation, excluded: [{study, reason}],
    }],
    selection: {prisma: PrismaCounts.to_dict(), amendments: [{version, seen_at, seen_by, note,
                changes: [{field, old, new}]}], checklist: {summary, items: [{id, topic,
                status, where}]}, project_dir, reviewers}   (optional; from metareview.review.store)

With ``selection`` the report has a "Study selection" section: the PRISMA 2020 flow diagram
(drawn here from the counts with :func:`metareview.screening.prisma.draw_prisma`), the counts
per box, the protocol amendments and a summary of the PRISMA 2020 checklist.

Scales. Proportions are on 0–1 and shown as percentages. Ratio measures (RR, OR, HR, IRR, ROM,
PETO, …, and GEN with ``scale: "log"``) are pooled as log ratios; the report shows them on their
natural scale everywhere ("RR 0.70 (0.44 to 1.10)"): a row's ``transformed`` values when given,
else the exponentiated ``estimate``/``ci_*``/``pi_*`` (headline, sensitivity and leave-one-out
rows alike). A published figure is taken as printed (a ratio is printed as a ratio). With k = 1
no heterogeneity and no prediction interval are shown, with k = 2 no prediction interval; the
leave-one-out and sensitivity tables of a proportion show no p-value (a test of logit p = 0
means nothing to a reader).

All user text is escaped (Jinja2 autoescape); links are kept only for http(s) URLs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, cast

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import metareview
from metareview._json import finite_or_none, jsonable
from metareview.effects.measures import find_measure, is_proportion
from metareview.errors import InputError
from metareview.models._format import format_number, format_p_report, format_significant
from metareview.models.methods import COMMON_EFFECT_METHODS, method_name
from metareview.report.plots import (
    FitLike,
    arm_columns,
    figure_svg,
    forest_plot,
    funnel_plot,
    is_ratio_measure,
    measure_label,
    save_figure,
)

__all__ = ["build_report_data", "outcome_slugs", "render_report", "write_report"]

#: k needed before a funnel plot says anything (Sterne et al. 2011, BMJ 343:d4002, advise ≥ 10
#: for asymmetry tests; the plot itself is shown from 3 so the reader sees the spread).
FUNNEL_MIN_K = 3


def _measure_text(measure: str) -> str:
    """What ``yi`` is for ``measure``, in words (the measure registry's description)."""
    info = find_measure(measure)
    return measure if info is None else info.description


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------


def _as_mapping(result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping):
        return dict(result)
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        if isinstance(data, Mapping):
            return dict(data)
    if is_dataclass(result) and not isinstance(result, type):
        return asdict(result)
    raise InputError(
        f"write_report() needs a review result (a mapping or an object with to_dict()), "
        f"got {type(result).__name__}"
    )


def _num(value: Any) -> float | None:
    """A finite float or None (accepts numpy scalars and numeric strings)."""
    return finite_or_none(value)


def _jsonable(value: Any) -> Any:
    """JSON-safe data for the page (NaN → None), without the fitted model and transform."""
    return jsonable(value, drop=("fit", "transf"))


def _records(value: Any) -> list[dict[str, Any]]:
    """Rows of a table given as a DataFrame, a list of mappings or None."""
    if value is None:
        return []
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(value, "columns"):
        return [dict(r) for r in to_dict(orient="records")]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [dict(_as_mapping(r)) for r in value]
    raise InputError(f"expected a table (rows of mappings), got {type(value).__name__}")


_SAFE_URL = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


def _safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and _SAFE_URL.match(url) else None


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()
    return slug or "outcome"


def outcome_slugs(names: Sequence[str]) -> list[str]:
    """The slug of each analysis in the report, in order: its element ids and figure file
    names (``figures/SLUG-forest.svg``); a repeated name gets ``-2`` appended."""
    used: set[str] = set()
    out: list[str] = []
    for name in names:
        slug = _slug(str(name or "outcome"))
        while slug in used:
            slug += "-2"
        used.add(slug)
        out.append(slug)
    return out


# --------------------------------------------------------------------------------------------
# View model
# --------------------------------------------------------------------------------------------


@dataclass
class Prov:
    """A displayed number with its provenance (what the hover/focus card shows)."""

    text: str
    status: str = ""
    source: str = ""
    where: str = ""
    quote: str = ""
    why: str = ""
    how: str = ""
    url: str | None = None


@dataclass
class Table:
    title: str
    description: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class OutcomeView:
    slug: str
    name: str
    label: str
    measure: str
    measure_text: str
    model_text: str
    k: int
    result: dict[str, str]
    published: dict[str, Any] | None
    check: dict[str, Any] | None
    comparison: list[str]
    forest_svg: Markup | None
    funnel_svg: Markup | None
    funnel_note: str
    figure_files: list[str]
    study_rows: list[dict[str, Any]]
    input_names: list[str]
    sensitivity: list[Table]
    note: str
    warnings: list[str] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)
    pooled: bool = True
    has_pi: bool = False
    provenance: dict[str, int] = field(default_factory=dict)
    est_header: str = "Estimate"
    ratio: bool = False
    #: How the estimates are shown when not on the model scale ("pooled on the log scale, ...").
    scale_note: str = ""


def _fmt(x: Any, digits: int = 3) -> str:
    return format_number(_num(x), digits, typographic=True, na="–")


def _estimate_formatter(measure: str, ratio: bool = False) -> Callable[[Any], str]:
    """Display format of estimates: percentages for proportions, ratios with 2 decimals (as
    RevMan prints them), back-transformed single-group rates and means with 4 significant
    digits (a rate of 0.002667 per person-day), 3 decimals otherwise."""
    if ratio:
        return lambda x: _fmt(x, 2)
    if _back_of(measure) is not None:
        return lambda x: format_significant(_num(x), 4, typographic=True, na="–")
    if is_proportion(measure):

        def percent(x: Any) -> str:
            v = _num(x)
            return "–" if v is None else f"{100 * v:.1f}%"

        return percent
    return _fmt


def _fmt_p(x: Any) -> str:
    return format_p_report(_num(x), 3, label="", na="–")


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    v = _num(value)
    if v is not None:
        if float(v).is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.4g}".replace("-", "\u2212")
    return "–" if value is None else str(value)


class _Sources:
    """Resolves source keys to citations."""

    def __init__(self, sources: Sequence[Mapping[str, Any]]) -> None:
        self.by_key = {str(s.get("key")): dict(s) for s in sources if s.get("key")}

    def describe(self, source: Any) -> tuple[str, str, str, str | None]:
        """(citation, where, quote, url) of a source given as a key, text or SourceRef dict."""
        if isinstance(source, Mapping):
            ref = str(source.get("ref") or source.get("key") or "")
            where = str(source.get("where") or "")
            quote = str(source.get("quote") or "")
            spec = self.by_key.get(ref)
            citation = str(spec.get("citation")) if spec else ref
            url = _safe_url(spec.get("url")) if spec else None
            return citation, where, quote, url
        text = "" if source is None else str(source)
        spec = self.by_key.get(text)
        if spec:
            return str(spec.get("citation")), "", "", _safe_url(spec.get("url"))
        return text, "", "", None


def _prov(quantity: Any, sources: _Sources, *, text: str | None = None) -> Prov:
    """A Prov from a Quantity dump, an analysis input ({name, value, status, source}) or a value."""
    if not isinstance(quantity, Mapping):
        return Prov(text=text if text is not None else _fmt_value(quantity))
    citation, where, quote, url = sources.describe(quantity.get("source"))
    where = str(quantity.get("where") or where)
    derive = quantity.get("derive") or quantity.get("derivation")
    how = ""
    if isinstance(derive, Mapping):
        inputs = derive.get("inputs") or {}
        args = (
            ", ".join(f"{k}={v}" for k, v in inputs.items()) if isinstance(inputs, Mapping) else ""
        )
        how = f"{derive.get('method', '')}({args})"
    elif derive:
        how = str(derive)
    value = quantity.get("value")
    return Prov(
        text=text if text is not None else _fmt_value(value),
        status=str(quantity.get("status") or ""),
        source=citation,
        where=where,
        quote=quote,
        why=str(quantity.get("why") or ""),
        how=how or str(quantity.get("how") or ""),
        url=url,
    )


def _fit_of(analysis: Mapping[str, Any]) -> FitLike | None:
    """The fitted model the result carries (``analysis["fit"]``); the report never refits."""
    fit = analysis.get("fit")
    if fit is not None and hasattr(fit, "yi") and hasattr(fit, "weights"):
        return cast(FitLike, fit)
    return None


def _model_text(method: str, test: str, level: float) -> str:
    name = method_name(method)
    if method.upper() in COMMON_EFFECT_METHODS:
        text = f"{name} model"
    else:
        text = f"random-effects model, τ² by {name}"
    if test == "knha":
        text += ", Knapp–Hartung (HKSJ) t-based test and interval"
    elif test == "t":
        text += ", t-based test and interval"
    else:
        text += ", Wald-type z test and interval"
    return f"{text}, {level:g}% level"


def _is_ratio(analysis: Mapping[str, Any]) -> bool:
    """Whether the analysis pools log ratios (RR, OR, …, or GEN with ``scale: "log"``)."""
    if is_ratio_measure(str(analysis.get("measure") or "")):
        return True
    return str(analysis.get("scale") or "").lower() == "log"


def _scale_note(measure: str, ratio: bool) -> str:
    """The methods' words on the scale: ratios and back-transformed single-group measures."""
    if ratio:
        return "pooled on the log scale, shown as ratios"
    info = find_measure(measure)
    if info is not None and _back_of(measure) is not None:
        return f"pooled on the {info.scale} scale, shown back-transformed as {info.label.lower()}"
    return ""


def _est_header(analysis: Mapping[str, Any], ratio: bool) -> str:
    """The estimate column's heading: the ratio's name, or the back-transformed single-group
    measure's label ("Estimate (incidence rate)"), else "Estimate"."""
    if ratio:
        return f"Estimate ({_ratio_name(analysis)})"
    measure = str(analysis.get("measure") or "")
    info = find_measure(measure)
    if info is not None and _back_of(measure) is not None:
        return f"Estimate ({info.label.lower()})"
    return "Estimate"


def _ratio_name(analysis: Mapping[str, Any]) -> str:
    """The abbreviation written before a ratio ("RR 0.70"); "Ratio" for a generic log ratio."""
    measure = str(analysis.get("measure") or "").upper()
    return measure if is_ratio_measure(measure) else "Ratio"


_DISPLAY_KEYS = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")


def _back_of(measure: str) -> Callable[[Any], Any] | None:
    """The back-transformation of a single-group measure pooled on another scale whose
    inverse needs no sample sizes (IRLN to a rate, MNLN to a mean, CVLN, SDLN: exp; the
    measure registry's ``back_transform``); None for every other measure."""
    info = find_measure(measure)
    if (
        info is None or info.groups != 1 or info.is_proportion or info.needs_ni
        or info.back_transform is None
    ):  # fmt: skip
        return None
    return info.back_transform


def _natural(
    row: Mapping[str, Any], ratio: bool, back: Callable[[Any], Any] | None = None
) -> dict[str, float | None]:
    """Estimate, CI and PI of a result row on the measure's natural scale.

    ``row["transformed"]`` (the back-transformed values the result gives) is preferred; without
    it ratio measures, pooled as log ratios, are exponentiated, and a single-group measure's
    rows go through its ``back`` transformation (:func:`_back_of`); other rows are shown as
    given.
    """
    given = row.get("transformed")
    out: dict[str, float | None] = {}
    for key in _DISPLAY_KEYS:
        if isinstance(given, Mapping) and _get(given, key) is not None:
            out[key] = _num(_get(given, key))
            continue
        value = _num(_get(row, key))
        if value is not None and ratio:
            value = math.exp(min(value, 700.0))
        elif value is not None and back is not None:
            value = _num(float(np.asarray(back(np.array([min(value, 700.0)])))[0]))
        out[key] = value
    return out


def _sensitivity_tables(
    analysis: Mapping[str, Any], level: float, fmt: Callable[[Any], str] = _fmt
) -> list[Table]:
    """The sensitivity and leave-one-out tables, estimates on the measure's natural scale."""
    tables: list[Table] = []
    ratio = _is_ratio(analysis)
    measure = str(analysis.get("measure") or "")
    proportion = is_proportion(measure)
    back = None if ratio else _back_of(measure)
    est_header = _est_header(analysis, ratio)
    raw = analysis.get("sensitivity") or []
    flat: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else _records(raw):
        item = _as_mapping(item)
        if "rows" in item:
            rows = _records(item["rows"])
            tables.append(
                _generic_table(
                    str(item.get("title") or item.get("name") or ""),
                    str(item.get("description") or ""),
                    rows,
                )
            )
        else:
            flat.append(item)
    if flat:
        tables.insert(
            0,
            _estimate_table(
                "Sensitivity analyses",
                "The pooled estimate under other estimators, tests and assumed inputs.",
                flat,
                level,
                fmt,
                ratio=ratio,
                est_header=est_header,
                pvalue=not proportion,
                back=back,
            ),
        )
    loo = _records(analysis.get("leave1out"))
    k = analysis.get("k")
    for row in loo:
        if row.get("k") is None and isinstance(k, int):
            row["k"] = k - 1
    if loo:
        tables.append(
            _estimate_table(
                "Leave-one-out",
                "The model refitted with each study left out in turn.",
                loo,
                level,
                fmt,
                label_key="slab",
                ratio=ratio,
                est_header=est_header,
                pvalue=not proportion,  # a test of logit p = 0 means nothing to a reader
                back=back,
            )
        )
    for group in analysis.get("subgroups") or []:
        result = group.get("result") if isinstance(group, Mapping) else None
        if not isinstance(result, Mapping) or proportion:
            continue  # proportions' subgroup estimates are on the model scale: plot only
        q, df, p = (result.get(k) for k in ("Q_between", "Q_between_df", "Q_between_p"))
        test_text = (
            f"Test for subgroup differences: Q = {_fmt(q, 2)}, df = {df}, "
            f"{format_p_report(_num(p), 3)}."
            if q is not None
            else ""
        )
        tables.append(
            _estimate_table(
                f"Subgroups: {group.get('name')}",
                f"Studies grouped by {group.get('by')}, pooled within each group with the "
                f"main model. {test_text} {group.get('note') or ''}".strip(),
                [dict(r) for r in result.get("groups") or []],
                level,
                fmt,
                label_key="group",
                ratio=ratio,
                est_header=est_header,
                pvalue=True,
                back=back,
            )
        )
    return tables


_KEY_ALIASES = {
    "ci_lower": ("ci_lower", "ci_lb"),
    "ci_upper": ("ci_upper", "ci_ub"),
    "pvalue": ("pvalue", "pval"),
    "pi_lower": ("pi_lower", "pi_lb"),
    "pi_upper": ("pi_upper", "pi_ub"),
}


def _get(row: Mapping[str, Any], key: str) -> Any:
    for alias in _KEY_ALIASES.get(key, (key,)):
        if alias in row:
            return row[alias]
    return None


def _estimate_table(
    title: str,
    description: str,
    rows: list[dict[str, Any]],
    level: float,
    fmt: Callable[[Any], str] = _fmt,
    label_key: str = "",
    *,
    ratio: bool = False,
    est_header: str = "Estimate",
    pvalue: bool = True,
    back: Callable[[Any], Any] | None = None,
) -> Table:
    """Rows of refits: estimate and CI (natural scale), p unless ``pvalue`` is False, τ², I².

    τ² and I² are left empty for a row with k = 1 (nothing to estimate them from).
    """
    columns = [
        "Analysis" if not label_key else "Left out",
        "k",
        est_header,
        f"{level:g}% CI",
        *(["p"] if pvalue else []),
        "τ²",
        "I²",
    ]
    out: list[list[str]] = []
    for row in rows:
        label = row.get(label_key) if label_key else None
        if label is None:
            label = row.get("name") or row.get("label") or row.get("analysis") or ""
        desc = row.get("description")
        shown = _natural(row, ratio, back)
        single = _num(row.get("k")) == 1
        out.append(
            [
                str(label) + (f" — {desc}" if desc and not label_key else ""),
                _fmt_value(row.get("k")) if row.get("k") is not None else "–",
                fmt(shown["estimate"]),
                f"{fmt(shown['ci_lower'])} to {fmt(shown['ci_upper'])}",
                *([_fmt_p(_get(row, "pvalue"))] if pvalue else []),
                "–" if single else _fmt(row.get("tau2"), 4),
                f"{_fmt(row.get('I2'), 1)}%"
                if _num(row.get("I2")) is not None and not single
                else "–",
            ]
        )
    return Table(title, description, columns, out)


def _generic_table(title: str, description: str, rows: list[dict[str, Any]]) -> Table:
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    body = [
        [
            _fmt(row.get(c)) if isinstance(row.get(c), float) else _fmt_value(row.get(c))
            for c in columns
        ]
        for row in rows
    ]
    return Table(title, description, columns, body)


def _study_rows(
    analysis: Mapping[str, Any], fit: FitLike | None, sources: _Sources
) -> tuple[list[dict[str, Any]], list[str]]:
    studies = analysis.get("studies") or []
    names: list[str] = []
    for s in studies:
        for inp in s.get("inputs") or []:
            name = str(inp.get("name"))
            if name not in names:
                names.append(name)
    weights: dict[str, float] = {}
    if fit is not None:
        w = np.asarray(fit.weights, dtype=float).reshape(-1)
        weights = {str(lab): float(x) for lab, x in zip(fit.slab, w, strict=False)}
    rows = []
    for s in studies:
        label = str(s.get("study") or "")
        by_name = {str(i.get("name")): i for i in s.get("inputs") or []}
        weight = _num(s.get("weight"))
        if weight is None:
            weight = weights.get(label)
        statuses = {str(i.get("status")) for i in by_name.values()}
        rows.append(
            {
                "study": label,
                "yi": _fmt(s.get("yi"), 3),
                "se": _fmt(
                    math.sqrt(v) if (v := _num(s.get("vi"))) is not None and v >= 0 else None, 3
                ),
                "weight": f"{weight:.1f}%" if weight is not None else "–",
                "inputs": [_prov(by_name[n], sources) if n in by_name else None for n in names],
                "has_assumed": _study_assumed(s) or "assumed" in statuses,
            }
        )
    return rows, names


def _study_assumed(study: Mapping[str, Any]) -> bool:
    """The study's ``assumed`` flag, else whether any of its inputs has status "assumed"."""
    if "assumed" in study and study["assumed"] is not None:
        return bool(study["assumed"])
    return any(str(i.get("status")) == "assumed" for i in study.get("inputs") or [])


def _forest_extras(analysis: Mapping[str, Any], fit: FitLike) -> dict[str, Any]:
    """forest_plot() arguments from the result: raw-data columns from each study's ``arms``,
    the assumed-input flags, the Favours side from ``better``, the log axis for ratios."""
    studies = [s for s in analysis.get("studies") or [] if isinstance(s, Mapping)]
    slab = [str(x) for x in fit.slab]
    if len(studies) == len(slab):
        aligned: list[Mapping[str, Any] | None] = list(studies)
    else:  # the fit holds fewer studies: match them by label
        by_label = {str(s.get("study") or s.get("label") or ""): s for s in studies}
        aligned = [by_label.get(lab) for lab in slab]
    arms = [
        [a for a in (s.get("arms") or []) if isinstance(a, Mapping)] if s is not None else []
        for s in aligned
    ]
    better = str(analysis.get("better") or "")
    extras: dict[str, Any] = {
        "columns": arm_columns(arms) if any(arms) else None,
        "assumed": [s is not None and _study_assumed(s) for s in aligned],
        "better": better if better in ("lower", "higher") else None,
        "log_scale": True if _is_ratio(analysis) else None,
    }
    # the first planned subgroup analysis lays the plot out by subgroup (RevMan's layout)
    groups = [g for g in analysis.get("subgroups") or [] if isinstance(g, Mapping)]
    if groups and len(list(groups[0].get("labels") or [])) == len(slab):
        extras["subgroup"] = [str(x) for x in groups[0]["labels"]]
        extras["subgroups"] = groups[0].get("fit") or groups[0].get("result")
    return extras


def _figures(
    analysis: Mapping[str, Any], fit: FitLike | None, slug: str, label: str, fig_dir: Path
) -> tuple[Markup | None, Markup | None, str, list[str]]:
    if fit is None:
        return None, None, "", []
    files: list[str] = []
    raw_transf = analysis.get("transf")
    transf: Callable[[Any], Any] | None = raw_transf if callable(raw_transf) else None
    xlabel = None
    if not _is_ratio(analysis):
        xlabel = f"{measure_label(str(fit.measure))} ({analysis.get('outcome') or label})"
    elif not is_ratio_measure(str(fit.measure)):  # a generic log ratio (GEN, scale "log")
        xlabel = f"Ratio ({analysis.get('outcome') or label}; log scale)"
    extras = _forest_extras(analysis, fit)
    measure = str(analysis.get("measure") or fit.measure)
    shown = _natural(analysis, False, _back_of(measure))["estimate"]
    if _back_of(measure) is not None and shown is not None and shown != 0:
        # a rate of 0.0027 per person-day needs more than 2 decimals: 4 significant digits
        extras["digits"] = max(2, min(10, 3 - math.floor(math.log10(abs(shown)))))
    forest = forest_plot(fit, transf=transf, xlabel=xlabel, **extras)
    forest_svg = Markup(figure_svg(forest, salt=f"{slug}-forest"))
    files += [p.name for p in save_figure(forest, fig_dir / f"{slug}-forest").values()]
    funnel_svg = None
    if int(fit.k) >= FUNNEL_MIN_K:
        funnel = funnel_plot(fit)
        funnel_svg = Markup(figure_svg(funnel, salt=f"{slug}-funnel"))
        files += [p.name for p in save_figure(funnel, fig_dir / f"{slug}-funnel").values()]
        note = (
            "With fewer than 10 studies the funnel plot cannot show small-study effects "
            "reliably (Sterne et al. 2011, BMJ 343:d4002); it is shown for the spread only."
            if int(fit.k) < 10
            else ""
        )
    else:
        k = int(fit.k)
        note = (
            f"No funnel plot: k = {k} {'study' if k == 1 else 'studies'} (at least "
            f"{FUNNEL_MIN_K} needed)."
        )
    return forest_svg, funnel_svg, note, files


def build_report_data(review_result: Any) -> dict[str, Any]:
    """The JSON-safe content of the report (what report.json holds): the result as given."""
    data = _as_mapping(review_result)
    if not isinstance(data.get("analyses"), list):
        raise InputError("the review result has no 'analyses' list", field="analyses")
    return dict(_jsonable(data))


def _outcome_views(
    data: Mapping[str, Any], raw_analyses: list[Any], sources: _Sources, fig_dir: Path
) -> list[OutcomeView]:
    views = []
    outcome_specs = {
        str(o.get("name")): o for o in (data.get("protocol") or {}).get("outcomes") or []
    }
    slugs = outcome_slugs([str(a.get("outcome") or "outcome") for a in data["analyses"]])
    for given, raw, slug in zip(data["analyses"], raw_analyses, slugs, strict=True):
        raw_map = _as_mapping(raw)
        name = str(given.get("outcome") or "outcome")
        spec = outcome_specs.get(name, {})
        label = str(given.get("label") or spec.get("description") or name)
        measure = str(given.get("measure") or spec.get("measure") or "GEN")
        analysis = {
            **given,
            "measure": measure,
            "better": given.get("better") or spec.get("better"),
        }
        method = str(analysis.get("method") or "REML")
        test = str(analysis.get("test") or "z")
        level = _num(analysis.get("level")) or 95.0
        ratio = _is_ratio(analysis)
        fit = _fit_of(raw_map)
        forest_svg, funnel_svg, funnel_note, files = _figures(
            {**analysis, "transf": raw_map.get("transf")},
            fit,
            slug,
            f"{name}: {label}" if label != name else name,
            fig_dir,
        )
        study_rows, input_names = _study_rows(analysis, fit, sources)
        provenance = {"reported": 0, "derived": 0, "assumed": 0}
        for row in study_rows:
            for p in row["inputs"]:
                if p is not None and p.status in provenance:
                    provenance[p.status] += 1
        k = int(analysis.get("k") or (fit.k if fit is not None else 0))
        est = _estimate_formatter(measure, ratio)
        shown = _natural(analysis, ratio, None if ratio else _back_of(measure))
        ci = f"{est(shown['ci_lower'])} to {est(shown['ci_upper'])}"
        prefix = f"{_ratio_name(analysis)} " if ratio else ""
        result = {
            "estimate": est(shown["estimate"]),
            "ci": ci,
            "headline": f"{prefix}{est(shown['estimate'])} ({ci})",
            "pvalue": _fmt_p(analysis.get("pvalue")),
            "pi": (
                f"{est(shown['pi_lower'])} to {est(shown['pi_upper'])}"
                if shown["pi_lower"] is not None and k >= 3
                else "–"
            ),
            "tau2": _fmt(analysis.get("tau2"), 4),
            "I2": f"{_fmt(analysis.get('I2'), 1)}%"
            if _num(analysis.get("I2")) is not None
            else "–",
            "Q": (
                f"{_fmt(analysis.get('QE'), 2)} (df = {k - 1}, p = {_fmt_p(analysis.get('QEp'))})"
                if _num(analysis.get("QE")) is not None and k >= 2
                else "–"
            ),
        }
        published = analysis.get("published")
        pub_view = None
        check = None
        comparison: list[str] = []
        if isinstance(published, Mapping) and _num(published.get("estimate")) is not None:
            pub = _natural(published, False)  # as printed: ratios already on their own scale
            printed = published.get("as_printed")
            pub_view = {
                "estimate": est(pub["estimate"]),
                "ci": (
                    f"{est(pub['ci_lower'])} to {est(pub['ci_upper'])}"
                    if pub["ci_lower"] is not None
                    else "not reported"
                ),
                "pvalue": _fmt_p(published.get("pvalue"))
                if _num(published.get("pvalue")) is not None
                else "not reported",
                "where": str(published.get("where") or ""),
                "quote": str(published.get("quote") or ""),
                "correction": str(published.get("correction") or ""),
                "as_printed": (
                    ", ".join(
                        f"{key.replace('_', ' ')} {est(val)}"
                        if key in _DISPLAY_KEYS
                        else f"{key.replace('_', ' ')} {_fmt_value(val)}"
                        for key, val in printed.items()
                        if _num(val) != _num(published.get(key))
                    )
                    if isinstance(printed, Mapping)
                    else ""
                ),
            }
            check = published.get("check")
            given_comparison = analysis.get("comparison")
            if isinstance(given_comparison, list):
                comparison = [str(c) for c in given_comparison if c]
            elif given_comparison:
                text = str(given_comparison).strip()
                comparison = [text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")]
        views.append(
            OutcomeView(
                slug=slug,
                name=name,
                label=label,
                measure=measure,
                measure_text=_measure_text(measure),
                model_text=_model_text(method, test, level),
                k=k,
                result=result,
                published=pub_view,
                check=dict(check) if isinstance(check, Mapping) else None,
                comparison=comparison,
                forest_svg=forest_svg,
                funnel_svg=funnel_svg,
                funnel_note=funnel_note,
                figure_files=files,
                study_rows=study_rows,
                input_names=input_names,
                sensitivity=_sensitivity_tables(analysis, level, est),
                note=""
                if analysis.get("warnings")
                else str(analysis.get("explanation") or analysis.get("note") or ""),
                warnings=_warnings(analysis),
                excluded=[
                    (str(e.get("study") or ""), str(e.get("reason") or ""))
                    for e in analysis.get("excluded") or []
                    if isinstance(e, Mapping)
                ],
                pooled=shown["estimate"] is not None,
                provenance=provenance,
                has_pi=k >= 3
                and method.upper() not in COMMON_EFFECT_METHODS
                and shown["pi_lower"] is not None,
                est_header=_est_header(analysis, ratio),
                ratio=ratio,
                scale_note=_scale_note(measure, ratio),
            )
        )
    return views


def _warnings(analysis: Mapping[str, Any]) -> list[str]:
    """The analysis' notes for the reader, minus the published correction (shown on its own)."""
    published = analysis.get("published") or {}
    correction = str(published.get("correction") or "").strip()
    out = []
    for w in analysis.get("warnings") or []:
        text = str(w).strip()
        if correction and correction in text:
            continue
        out.append(text[:1].upper() + text[1:])
    return out


def _study_characteristics(
    studies: Sequence[Mapping[str, Any]], sources: _Sources
) -> list[dict[str, Any]]:
    """Rows of the study characteristics table, every number with provenance."""
    rows = []
    for s in studies:
        arm_text: list[dict[str, Any]] = []
        for arm in s.get("arms") or []:
            arm = _as_mapping(arm)
            arm_text.append(
                {
                    "name": str(arm.get("name") or ""),
                    "intervention": str(arm.get("intervention") or ""),
                    "dose": _prov(arm.get("dose"), sources) if arm.get("dose") else None,
                    "n_enrolled": _prov(arm.get("n_enrolled"), sources)
                    if arm.get("n_enrolled")
                    else None,
                    "n_analysed": _prov(arm.get("n_analysed"), sources)
                    if arm.get("n_analysed")
                    else None,
                }
            )
        characteristics = s.get("characteristics") or {}
        duration = s.get("duration_months") or s.get("duration")
        rows.append(
            {
                "label": str(s.get("label") or s.get("study") or s.get("id") or ""),
                "registry": ", ".join(str(r) for r in s.get("registry") or []),
                "design": str(s.get("design") or ""),
                "population": str(s.get("population") or ""),
                "arms": arm_text,
                "duration": _prov(duration, sources) if duration is not None else None,
                "extra": [
                    (str(k).replace("_", " "), _prov(q, sources))
                    for k, q in characteristics.items()
                ],
                "outcomes": ", ".join(
                    str(name) for name, rows_ in (s.get("outcomes") or {}).items() if rows_
                ),
            }
        )
    return rows


def _screening(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Candidate records with their screening decision and reason (PRISMA 2020 item 16)."""
    records = {str(r.get("source_id")): r for r in data.get("records") or []}
    rows = []
    for d in data.get("screening") or []:
        rec = records.get(str(d.get("source_id")), {})
        rows.append(
            {
                "title": str(rec.get("title") or d.get("source_id") or ""),
                "year": str(rec.get("year") or ""),
                "kind": str(rec.get("kind") or ""),
                "url": _safe_url(rec.get("url")) or "",
                "decision": str(d.get("decision") or ""),
                "reason_code": str(d.get("reason_code") or ""),
                "reason": str(d.get("reason") or ""),
                "study": str(d.get("study_id") or ""),
                "stage": _STAGE_NAMES.get(str(d.get("stage") or ""), ""),
            }
        )
    return rows


_STAGE_NAMES = {"title_abstract": "title/abstract", "full_text": "full text"}


def _reason_text(reasons: Mapping[str, Any]) -> str:
    return ", ".join(f"{code} {int(n)}" for code, n in reasons.items())


def _count_rows(counts: Mapping[str, Any], other: bool) -> list[dict[str, str]]:
    """The PRISMA 2020 boxes as table rows: box, databases and registers, other methods."""

    def n(key: str) -> str:
        value = counts.get(key)
        return str(int(value)) if isinstance(value, int | float) else "–"

    def per_source(groups: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
        parts = []
        for name, sources in groups:
            total = sum(int(v) for v in sources.values())
            detail = ", ".join(f"{src} {int(v)}" for src, v in sources.items())
            parts.append(f"{name} {total}" + (f" ({detail})" if detail else ""))
        return "; ".join(parts)

    databases = counts.get("databases") or {}
    registers = counts.get("registers") or {}
    others = counts.get("other_sources") or {}
    identified = sum(int(v) for v in (*databases.values(), *registers.values()))
    reasons = counts.get("excluded_reasons") or {}
    oreasons = counts.get("other_excluded_reasons") or {}

    def excluded(r: Mapping[str, Any]) -> str:
        total = sum(int(v) for v in r.values())
        return f"{total}" + (f" ({_reason_text(r)})" if r else "")

    rows = [
        (
            "Records identified",
            f"{identified}: " + per_source([("databases", databases), ("registers", registers)]),
            f"{sum(int(v) for v in others.values())}"
            + (f" ({', '.join(f'{src} {int(v)}' for src, v in others.items())})" if others else ""),
        ),
        ("Duplicate records removed", n("duplicates"), n("other_duplicates")),
        ("Records marked ineligible by automation tools", n("automation"), "–"),
        ("Records removed for other reasons", n("removed_other"), "–"),
        ("Records screened (title and abstract)", n("screened"), "–"),
        ("Records excluded", n("screen_excluded"), "–"),
        ("Reports sought for retrieval", n("sought"), n("other_sought")),
        ("Reports not retrieved", n("not_retrieved"), n("other_not_retrieved")),
        ("Reports assessed for eligibility (full text)", n("assessed"), n("other_assessed")),
        ("Reports excluded, by eligibility code", excluded(reasons), excluded(oreasons)),
    ]
    out = [{"box": b, "main": m, "other": o if other else "", "span": ""} for b, m, o in rows]
    for box, key in (
        ("Studies included in the review", "studies_included"),
        ("Reports of included studies", "reports_included"),
    ):
        out.append({"box": box, "main": n(key), "other": "", "span": "1"})
    return out


def _selection(data: Mapping[str, Any], fig_dir: Path) -> dict[str, Any] | None:
    """The "Study selection" section: PRISMA 2020 flow diagram, counts, amendments, checklist."""
    from metareview.screening.prisma import PrismaCounts, draw_prisma

    raw = data.get("selection")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("prisma"), Mapping):
        return None
    counts_raw = dict(raw["prisma"])
    names = {f.name for f in dataclass_fields(PrismaCounts)}
    try:
        counts = PrismaCounts(**{k: v for k, v in counts_raw.items() if k in names})
    except TypeError as exc:
        raise InputError(f"the PRISMA counts are incomplete: {exc}", field="selection") from exc
    fig = draw_prisma(counts)
    svg = Markup(figure_svg(fig, salt="prisma"))
    files = [p.name for p in save_figure(fig, fig_dir / "prisma").values()]
    pending = {k: int(v) for k, v in (counts.pending or {}).items() if v}
    amendments = []
    for a in raw.get("amendments") or []:
        changes = [
            {
                "field": str(c.get("field") or ""),
                "old": _fmt_value(c.get("old")),
                "new": _fmt_value(c.get("new")),
            }
            for c in a.get("changes") or []
        ]
        amendments.append(
            {
                "version": str(a.get("version") or ""),
                "seen_at": str(a.get("seen_at") or ""),
                "seen_by": str(a.get("seen_by") or ""),
                "note": str(a.get("note") or ""),
                "changes": changes,
            }
        )
    checklist = raw.get("checklist") or {}
    items = [
        {
            "id": str(i.get("id") or ""),
            "section": str(i.get("section") or ""),
            "topic": str(i.get("topic") or ""),
            "status": str(i.get("status") or ""),
            "where": str(i.get("where") or ""),
        }
        for i in checklist.get("items") or []
    ]
    summary = {k: int(v) for k, v in (checklist.get("summary") or {}).items()}
    project_dir = raw.get("project_dir")
    where = None
    if project_dir:
        path = Path(str(project_dir))
        try:
            where = str(path.relative_to(fig_dir.parent)) + "/"
        except ValueError:
            where = path.name + "/"
    return {
        "svg": svg,
        "files": files,
        "other": counts.has_other_methods,
        "rows": _count_rows(counts_raw, counts.has_other_methods),
        "pending": [(_STAGE_NAMES.get(k, k.replace("_", " ")), v) for k, v in pending.items()],
        "amendments": amendments,
        "checklist": {"summary": summary, "items": items, "total": len(items)},
        "project": where,
        "reviewers": [str(r) for r in raw.get("reviewers") or []],
        "n_decisions": int(raw.get("n_decisions") or 0),
    }


def _methods(data: Mapping[str, Any]) -> dict[str, Any]:
    protocol = data.get("protocol") or {}
    model = protocol.get("model") or data.get("settings") or {}
    method = str(model.get("method") or "REML")
    test = str(model.get("test") or "z")
    level = _num(model.get("level")) or 95.0
    searches = [
        {
            "source": str(s.get("source") or ""),
            "query": str(s.get("query") or ""),
            "date": str(s.get("date_run") or ""),
            "notes": str(s.get("notes") or ""),
        }
        for s in protocol.get("searches") or []
    ]
    outcomes = []
    for o in protocol.get("outcomes") or []:
        window = o.get("time_window")
        if isinstance(window, Mapping):
            lo, hi, unit = window.get("min"), window.get("max"), window.get("unit", "")
            window = (
                f"{_fmt_value(lo)}–{_fmt_value(hi)} {unit}"
                if lo != hi
                else (f"{_fmt_value(lo)} {unit}")
            )
        measure = str(o.get("measure") or "")
        outcomes.append(
            {
                "name": str(o.get("name") or ""),
                "description": str(o.get("description") or ""),
                "measure": measure,
                "measure_text": _measure_text(measure),
                "window": str(window or ""),
                "better": str(o.get("better") or ""),
            }
        )
    sensitivity = [
        {"name": str(s.get("name") or ""), "description": str(s.get("description") or "")}
        for s in model.get("sensitivity") or []
    ]
    rob_plan = model.get("rob_sensitivity")
    if rob_plan in ("low", "not_high"):
        sensitivity.append({
            "name": "risk of bias",
            "description": "the main model refitted on the studies at low overall risk of bias"
            if rob_plan == "low" else
            "the main model refitted without the studies at high overall risk of bias "
            "(RoB 2 high; ROBINS-I serious or critical); studies not assessed are left out",
        })  # fmt: skip
    if model.get("rob_subgroup"):
        text = (
            "subgroup analysis by the overall risk-of-bias judgement, with the test for "
            "subgroup differences"
        )
        sensitivity.append({"name": "risk of bias subgroups", "description": text})
    return {
        "model": _model_text(method, test, level),
        "method": method,
        "searches": searches,
        "eligibility": [
            {"code": str(e.get("code") or ""), "text": str(e.get("text") or "")}
            for e in protocol.get("eligibility") or []
        ],
        "outcomes": outcomes,
        "sensitivity": sensitivity,
        "notes": str(protocol.get("notes") or ""),
        "extra": [str(x) for x in data.get("methods") or []]
        if isinstance(data.get("methods"), list)
        else ([str(data["methods"])] if data.get("methods") else []),
    }


def _question(data: Mapping[str, Any]) -> dict[str, Any]:
    q = data.get("question") or (data.get("protocol") or {}).get("question")
    if isinstance(q, Mapping):
        return {
            "text": "",
            "pico": [
                (label, str(q.get(key)))
                for key, label in (
                    ("population", "Population"),
                    ("intervention", "Intervention"),
                    ("comparator", "Comparator"),
                )
                if q.get(key)
            ]
            + (
                [("Outcomes", "; ".join(str(o) for o in q.get("outcomes") or []))]
                if q.get("outcomes")
                else []
            ),
        }
    return {"text": str(q or ""), "pico": []}


def _sof_table(data: Mapping[str, Any]) -> Any:
    """The :class:`~metareview.appraisal.sof.SofTable` of the result's GRADE rows (None
    without any)."""
    grade = data.get("grade") or []
    if not isinstance(grade, list) or not grade:
        return None
    from metareview.appraisal.sof import sof_table

    q = (data.get("protocol") or {}).get("question") or {}
    return sof_table(
        grade,
        title="Summary of findings (GRADE)",
        intervention=str(q.get("intervention") or "intervention"),
        comparator=str(q.get("comparator") or "comparator"),
    )


def _sof_html(table: Any) -> Markup:
    from metareview.appraisal.sof import sof_html

    return sof_html(table)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("metareview.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["fmt_p"] = _fmt_p
    return env


def _risk_of_bias(data: Mapping[str, Any], fig_dir: Path) -> list[dict[str, Any]]:
    """The "Risk of bias" section: per outcome and tool the traffic-light plot and the summary
    bar chart (weighted by the studies' weights in the outcome's main model when it is pooled;
    :mod:`metareview.report.rob_plots`), written to ``figures/<outcome>-rob-*`` too, and the
    judgements as a table."""
    from metareview.appraisal.vocabulary import JUDGEMENT_LABELS, TOOLS
    from metareview.report.rob_plots import rob_summary_plot, traffic_light_plot

    out: list[dict[str, Any]] = []
    for entry in data.get("risk_of_bias") or []:
        studies = [s for s in entry.get("studies") or [] if s.get("tool") in TOOLS]
        for tool in dict.fromkeys(str(s["tool"]) for s in studies):
            mine = [s for s in studies if s["tool"] == tool]
            slug = _slug(f"{entry.get('outcome')}-rob-{tool}")
            light = traffic_light_plot(mine, tool)
            weighted = any(s.get("weight") is not None for s in mine)
            summary = rob_summary_plot(mine, tool, weighted=weighted)
            files = [p.name for p in save_figure(light, fig_dir / f"{slug}-traffic-light").values()]
            files += [p.name for p in save_figure(summary, fig_dir / f"{slug}-summary").values()]
            spec = TOOLS[tool]
            out.append({
                "outcome": str(entry.get("outcome") or ""),
                "label": str(entry.get("label") or entry.get("outcome") or ""),
                "tool": spec.title,
                "domains": [(d.id, d.name) for d in spec.domains],
                "rows": [
                    {"study": str(s.get("study") or ""),
                     "judgements": [JUDGEMENT_LABELS.get(j, j) for j in (
                         {str(d["domain"]): str(d["judgement"]) for d in s.get("domains") or []}
                         .get(d.id, "–") for d in spec.domains)],
                     "overall": JUDGEMENT_LABELS.get(str(s.get("overall")), str(s.get("overall"))),
                     "weight": _fmt(s.get("weight"), 1) if s.get("weight") is not None else "–"}
                    for s in mine
                ],
                "weighted": weighted,
                "traffic_svg": Markup(figure_svg(light, salt=f"{slug}-traffic")),
                "summary_svg": Markup(figure_svg(summary, salt=f"{slug}-summary")),
                "files": files,
            })  # fmt: skip
    return out


def render_report(review_result: Any, fig_dir: Path) -> tuple[str, dict[str, Any]]:
    """Render the HTML (and return the report.json content); figures are written to fig_dir."""
    raw = _as_mapping(review_result)
    data = build_report_data(raw)
    sources = _Sources(data.get("sources") or [])
    studies = data.get("studies") or []
    characteristics = _study_characteristics(studies, sources)
    outcomes = _outcome_views(data, list(raw["analyses"]), sources, fig_dir)
    protocol = data.get("protocol") or {}
    screening = _screening(data)
    selection = _selection(data, fig_dir)
    risk_of_bias = _risk_of_bias(data, fig_dir)
    title = str(data.get("title") or protocol.get("title") or "Systematic review report")
    sof = _sof_table(data)
    if sof is not None:
        # the table's cells as the HTML shows them, for readers of report.json
        data["summary_of_findings"] = sof.to_dict()
    source_list = [
        {
            "key": str(s.get("key") or ""),
            "citation": str(s.get("citation") or ""),
            "url": _safe_url(s.get("url")),
            "doi": str(s.get("doi") or ""),
            "note": str(s.get("note") or ""),
        }
        for s in data.get("sources") or []
    ]
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            question=_question(data),
            methods=_methods(data),
            characteristics=characteristics,
            outcomes=outcomes,
            sources=source_list,
            screening=screening,
            selection=selection,
            risk_of_bias=risk_of_bias,
            sof=None if sof is None else _sof_html(sof),
            notes=[str(n) for n in data.get("notes") or []]
            if isinstance(data.get("notes"), list)
            else ([str(data["notes"])] if data.get("notes") else []),
            version=metareview.__version__ if hasattr(metareview, "__version__") else "",
        )
    )
    return html, data


def write_report(review_result: Any, out_dir: str | Path) -> Path:
    """Write ``report.html``, ``report.json`` and ``figures/`` into ``out_dir``.

    Parameters
    ----------
    review_result
        The analysis runner's result (``to_dict()`` is called) or the dict itself; see the
        module docstring for the keys read.
    out_dir
        Folder to write into (created when missing).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder: {exc.strerror}", file=str(out)) from exc
    html, data = render_report(review_result, out / "figures")
    # Write to temporary names, then rename, so a failure never leaves a half-written report.
    html_path = out / "report.html"
    json_path = out / "report.json"
    tmp_html = out / ".report.html.tmp"
    tmp_json = out / ".report.json.tmp"
    tmp_json.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp_html.write_text(html, encoding="utf-8")
    tmp_json.replace(json_path)
    tmp_html.replace(html_path)
    return html_path
