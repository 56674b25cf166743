"""The summary-of-findings table (GRADEpro's layout) as HTML, CSV and DOCX.

One row per protocol outcome, the columns of a GRADEpro summary of findings (Guyatt et al.,
*J Clin Epidemiol* 2011;64:383-394 "GRADE guidelines 1", and 2013;66:158-172 "GRADE guidelines
12: preparing summary of findings tables"):

    Outcomes | № of participants (studies) | Certainty of the evidence (GRADE) |
    Relative effect (95% CI) | Anticipated absolute effects: Risk with comparator |
    Risk difference with intervention

Certainty is shown with GRADE's symbols (⊕⊕⊕⊕ high, ⊕⊕⊕⊝ moderate, ⊕⊕⊝⊝ low, ⊕⊝⊝⊝ very low)
and footnote letters, each footnote giving a reason for rating down. A single group's outcome
(no comparator) shows its pooled value in the last column, as GRADE reports it: a proportion
per 1,000, an incidence rate per N units of person-time ("27 per 10,000 catheter-days (from 14
to 51); single group, no comparator", the unit from the protocol outcome's ``units``), a mean,
coefficient of variation or standard deviation with its 95% CI, each on the scale the report
shows it (:func:`metareview.appraisal.grade.grade_outcome`). :func:`sof_table` builds
the table from the GRADE assessments (:class:`~metareview.appraisal.grade.GradeOutcome`);
:func:`sof_html` renders it (every text escaped by Jinja2's autoescape), :func:`write_sof`
writes ``sof.html``, ``sof.csv`` (formula-like cells neutralised by
:func:`metareview.sources.cells.guard_cell`) and ``sof.docx`` (python-docx).
"""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from metareview.appraisal.grade import DOMAINS, GradeOutcome
from metareview.errors import InputError
from metareview.models._format import format_significant
from metareview.sources.cells import guard_cell

__all__ = [
    "COLUMNS",
    "SYMBOLS",
    "SofRow",
    "SofTable",
    "sof_html",
    "sof_table",
    "write_sof",
]

#: GRADE's certainty symbols and labels (GRADEpro prints them so).
SYMBOLS: dict[str, tuple[str, str]] = {
    "high": ("⊕⊕⊕⊕", "HIGH"),
    "moderate": ("⊕⊕⊕⊝", "MODERATE"),
    "low": ("⊕⊕⊝⊝", "LOW"),
    "very_low": ("⊕⊝⊝⊝", "VERY LOW"),
}

#: Column headings, in GRADEpro's order (also the CSV header, with ``footnotes``).
COLUMNS: tuple[str, ...] = (
    "Outcomes",
    "№ of participants (studies)",
    "Certainty of the evidence (GRADE)",
    "Relative effect (95% CI)",
    "Risk with comparator",
    "Risk difference with intervention",
)

_DOMAIN_TEXT = {
    "risk_of_bias": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
}


@dataclass(frozen=True)
class SofRow:
    """One row of the table, every cell as text (``marks``: footnote letters of the certainty)."""

    outcome: str
    description: str
    participants: str
    certainty: str
    marks: tuple[str, ...]
    relative: str
    comparator: str
    difference: str

    def cells(self) -> list[str]:
        """The six cells in :data:`COLUMNS` order (marks after the certainty)."""
        cert = self.certainty + (" " + ",".join(self.marks) if self.marks else "")
        return [self.description, self.participants, cert, self.relative, self.comparator,
                self.difference]  # fmt: skip


@dataclass(frozen=True)
class SofTable:
    """The summary-of-findings table: a title line, rows, footnotes ``(letter, text)``."""

    title: str
    rows: tuple[SofRow, ...]
    footnotes: tuple[tuple[str, str], ...]
    explanations: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": list(COLUMNS),
            "rows": [{"outcome": r.outcome, "cells": r.cells()} for r in self.rows],
            "footnotes": [{"mark": m, "text": t} for m, t in self.footnotes],
            "explanations": list(self.explanations),
        }


def _marks() -> Any:
    letters = string.ascii_lowercase
    n = 0
    while True:
        q, r = divmod(n, len(letters))
        yield (letters[q - 1] if q else "") + letters[r]
        n += 1


def _per_1000(x: int) -> str:
    return f"{x:,} per 1,000"


def _signed(x: int, more: str = "more", fewer: str = "fewer") -> str:
    return f"{abs(x):,} {more if x > 0 else fewer}"


def _short(reason: str) -> str:
    """The finding without the rule's long text (the rule is in ``metareview grade``)."""
    return reason.split("; rule:")[0].strip()


def _num(x: Any, digits: int = 2) -> str:
    return "–" if x is None else f"{float(x):.{digits}f}"


def _design_text(g: Mapping[str, Any]) -> str:
    one = g["studies"] == 1
    if g["design"] == "randomised":
        return "RCT" if one else "RCTs"
    if g["design"] == "non-randomised":
        return "non-randomised study" if one else "non-randomised studies"
    return "study" if one else "studies"


_SINGLE = "single group, no comparator"


def _follow_up(g: Mapping[str, Any]) -> str:
    """A rate's pooled person-time, GRADEpro's "follow-up" beside the participants."""
    a = g.get("absolute")
    if g.get("kind") != "rate" or not a or a.get("person_time") is None:
        return ""
    unit = a.get("person_time_unit") or "units of person-time"
    return f"; follow-up {_round_text(float(a['person_time']))} {unit}"


def _round_text(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def _absolute_cells(g: Mapping[str, Any]) -> tuple[str, str]:
    a = g.get("absolute")
    kind = g.get("kind")
    if a is None:
        note = g.get("absolute_note")
        return "–", f"– ({note})" if note and kind in ("rate", "mean") else "–"
    if kind == "dichotomous":
        risks = g.get("absolute_by_risk") or [{**a, "label": g.get("comparator") or ""}]
        comp, diff = [], []
        for r in risks:
            label = f"{r['label']}: " if len(risks) > 1 else ""
            comp.append(label + _per_1000(int(r["comparator_per_1000"])))
            d, lo, hi = (int(r[k]) for k in ("difference_per_1000", "difference_ci_lower",
                                             "difference_ci_upper"))  # fmt: skip
            diff.append(f"{label}{_signed(d)} per 1,000 (from {_signed(lo)} to {_signed(hi)})")
        return "\n".join(comp), "\n".join(diff)
    if kind == "continuous":
        units = f" {a['units']}" if a.get("units") else ""
        md, md_lo, md_hi = (float(a[k]) for k in ("difference", "ci_lower", "ci_upper"))

        def side(x: float) -> str:
            return f"{abs(x):.2f}{units} {'higher' if x > 0 else 'lower'}"

        if a["measure"] == "MC":  # one group before/after: the pooled change, no comparator
            return "–", (
                f"mean change {side(md)} ({side(md_lo)} to {side(md_hi)}); single group, "
                "no comparator"
            )
        return "–", f"{a['measure']} {side(md)} ({side(md_lo)} to {side(md_hi)})"
    if kind == "proportion":
        return "–", (
            f"{_per_1000(int(a['proportion_per_1000']))} (from {int(a['ci_lower_per_1000']):,} "
            f"to {int(a['ci_upper_per_1000']):,}); single group, no comparator"
        )
    if kind == "rate":
        unit = a.get("person_time_unit") or "units of person-time as extracted"
        per = f"per {int(a['per']):,} {unit}"
        return "–", (
            f"{int(a['rate_per']):,} {per} (from {int(a['ci_lower_per']):,} to "
            f"{int(a['ci_upper_per']):,}); {_SINGLE}"
        )
    if kind == "mean":
        units = f" {a['units']}" if a.get("units") else ""

        def sig(x: Any) -> str:
            return format_significant(float(x))

        return "–", (
            f"{a['statistic']} {sig(a['value'])}{units} ({sig(a['ci_lower'])} to "
            f"{sig(a['ci_upper'])}); {_SINGLE}"
        )
    return "–", "–"


def sof_table(
    grade: Sequence[GradeOutcome | Mapping[str, Any]],
    *,
    title: str = "",
    intervention: str = "intervention",
    comparator: str = "comparator",
) -> SofTable:
    """The summary-of-findings table of the GRADE assessments, one row per outcome.

    ``grade`` holds :class:`GradeOutcome` objects or their :meth:`~GradeOutcome.to_dict`
    form (what ``report.json`` keeps under ``"grade"``).

    Each domain rated down gets a footnote ``"<Domain> (-1): <reason>"``, lettered a, b, ... in
    row order (GRADEpro's explanations); so does a body of evidence that starts low for want of
    a recorded design (the participants column then says only "studies"); outcomes no study
    reports get "No studies".
    """
    marks = _marks()
    rows, notes = [], []
    for given in grade:
        g = given.to_dict() if isinstance(given, GradeOutcome) else given
        outcome, description = str(g["outcome"]), str(g.get("description") or g["outcome"])
        if g.get("certainty") is None:
            rows.append(SofRow(outcome, description, "(0 studies)", "–", (), "–", "–",
                               "No study reports this outcome"))  # fmt: skip
            continue
        mine = []
        if g.get("start") == "low" and g.get("design") != "non-randomised":
            # the design column says why non-randomised evidence starts low; an unrecorded
            # design does not, so its starting level gets a footnote of its own
            m = next(marks)
            mine.append(m)
            why = g.get("start_reason") or "study design not recorded"
            notes.append((m, f"Starts at low certainty: {why}"))
        for d in DOMAINS:
            r = g["domains"][d]
            if r["rating"] < 0:
                m = next(marks)
                mine.append(m)
                who = (
                    f" [{r['reviewer']}]" if r.get("reviewer") else " [suggested, not confirmed]"
                )
                rating = str(r["rating"]).replace("-", "−")
                notes.append((m, f"{_DOMAIN_TEXT[d]} ({rating}){who}: {_short(r['reason'])}"))
        symbols, label = SYMBOLS[str(g["certainty"])]
        participants = "–" if g.get("participants") is None else f"{g['participants']:,}"
        follow_up = _follow_up(g)
        rel = "–"
        relative = g.get("relative")
        if relative is not None:
            rel = (
                f"{relative['measure']} {_num(relative['estimate'])} "
                f"({_num(relative['ci_lower'])} to {_num(relative['ci_upper'])})"
            )
        comp, diff = _absolute_cells(g)
        rows.append(
            SofRow(
                outcome=outcome,
                description=description,
                participants=f"{participants} ({g['studies']} {_design_text(g)})" + follow_up,
                certainty=f"{symbols} {label}",
                marks=tuple(mine),
                relative=rel,
                comparator=comp,
                difference=diff,
            )
        )
    kinds = {g.get("kind") for g in (x.to_dict() if isinstance(x, GradeOutcome) else x
                                     for x in grade)}  # fmt: skip
    about: list[str] = []
    if "dichotomous" in kinds:
        about.append(
            "The risk in the intervention group (and its 95% CI) is based on the assumed risk in "
            "the comparison group and the relative effect of the intervention (and its 95% CI). "
            "The comparator risk is the pooled comparator-arm risk of the studies (events / "
            "participants) unless the protocol gives assumed risks."
        )
    if kinds & {"proportion", "rate", "mean"}:
        about.append(
            "A single-group outcome has no comparator and no relative effect: the last column "
            "gives its pooled value (a proportion per 1,000, a rate per 1,000 or more units of "
            "person-time, or a mean, coefficient of variation or standard deviation) with its "
            "95% CI, on the scale the report shows it."
        )
    explanations = (
        f"Intervention: {intervention}. Comparison: {comparator}.",
        *about,
        "GRADE certainty: high, we are very confident that the true effect lies close to the "
        "estimate; moderate, the true effect is likely to be close to the estimate but may be "
        "substantially different; low, the true effect may be substantially different; very "
        "low, the true effect is likely to be substantially different.",
    )
    return SofTable(title or "Summary of findings", tuple(rows), tuple(notes), explanations)


_TABLE = """\
<table class="sof">
<caption>{{ t.title }}</caption>
<thead>
<tr><th rowspan="2">{{ cols[0] }}</th><th rowspan="2">{{ cols[1] }}</th>\
<th rowspan="2">{{ cols[2] }}</th><th rowspan="2">{{ cols[3] }}</th>\
<th colspan="2">Anticipated absolute effects (95% CI)</th></tr>
<tr><th>{{ cols[4] }}</th><th>{{ cols[5] }}</th></tr>
</thead>
<tbody>
{% for r in t.rows %}<tr><td>{{ r.description }}{% if r.description != r.outcome %}\
<br><span class="muted">{{ r.outcome }}</span>{% endif %}</td><td>{{ r.participants }}</td>\
<td class="certainty">{{ r.certainty }}\
{% if r.marks %}<sup>{{ r.marks|join(",") }}</sup>{% endif %}</td>\
<td>{{ r.relative }}</td><td>{{ r.comparator|replace("\\n", "; ") }}</td>\
<td>{{ r.difference|replace("\\n", "; ") }}</td></tr>
{% endfor %}</tbody>
</table>
{% if t.footnotes %}<ol class="sof-notes" style="list-style:none;padding-left:0">\
{% for m, text in t.footnotes %}\
<li><sup>{{ m }}</sup> {{ text }}</li>{% endfor %}</ol>{% endif %}
{% for e in t.explanations %}<p class="muted">{{ e }}</p>
{% endfor %}"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ t.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table.sof{border-collapse:collapse}
.sof th,.sof td{border:1px solid #999;padding:.35em .6em;vertical-align:top;text-align:left}
.sof th{background:#eef}
.certainty{white-space:nowrap}
.muted{color:#666;font-size:.9em}
ol.sof-notes{list-style:none;padding-left:0}
</style></head>
<body>
{{ table }}
</body>
</html>
"""


def _env() -> Environment:
    return Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def sof_html(table: SofTable, *, standalone: bool = False) -> Markup:
    """The table as HTML (every text escaped); with ``standalone`` a whole page."""
    env = _env()
    inner = env.from_string(_TABLE).render(t=table, cols=COLUMNS)
    if not standalone:
        return Markup(inner)
    return Markup(env.from_string(_PAGE).render(t=table, table=Markup(inner)))


def _csv_text(table: SofTable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["outcome", *COLUMNS, "footnotes"])
    texts = dict(table.footnotes)
    for r in table.rows:
        notes = " ".join(f"{m}. {texts[m]}" for m in r.marks)
        w.writerow([guard_cell(c) for c in [r.outcome, *r.cells(), notes]])
    return buf.getvalue()


def _write_docx(table: SofTable, path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading(table.title, level=1)
    grid = document.add_table(rows=2, cols=len(COLUMNS))
    grid.style = "Table Grid"
    head, sub = grid.rows[0].cells, grid.rows[1].cells
    for i in range(4):
        head[i].merge(sub[i]).text = COLUMNS[i]
    top = head[4].merge(head[5])
    top.text = "Anticipated absolute effects (95% CI)"
    sub[4].text, sub[5].text = COLUMNS[4], COLUMNS[5]
    for r in table.rows:
        cells = grid.add_row().cells
        for i, text in enumerate(r.cells()):
            cells[i].text = text
    for m, text in table.footnotes:
        document.add_paragraph(f"{m}. {text}")
    for e in table.explanations:
        document.add_paragraph(e)
    document.save(str(path))


def write_sof(table: SofTable, out_dir: str | Path) -> dict[str, Path]:
    """Write ``sof.html``, ``sof.csv`` and ``sof.docx`` into ``out_dir`` (created when missing).

    Each file is written under a temporary name and renamed, so a failure leaves no
    half-written table. Returns ``{"html", "csv", "docx"}`` paths.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", file=str(out)) from exc
    paths = {"html": out / "sof.html", "csv": out / "sof.csv", "docx": out / "sof.docx"}
    tmp = {k: p.with_name(f".{p.name}.tmp") for k, p in paths.items()}
    try:
        tmp["html"].write_text(str(sof_html(table, standalone=True)), encoding="utf-8")
        tmp["csv"].write_text(_csv_text(table), encoding="utf-8")
        _write_docx(table, tmp["docx"])
    except OSError as exc:
        for p in tmp.values():
            p.unlink(missing_ok=True)
        raise InputError(f"cannot write the table: {exc.strerror}", file=str(out)) from exc
    for k, p in paths.items():
        tmp[k].replace(p)
    return paths
