"""PRISMA 2020 flow: the counts, computed from the store and the decisions, and the diagram.

The boxes are those of the PRISMA 2020 flow diagram for new systematic reviews that searched
databases, registers and other sources (Page MJ et al. The PRISMA 2020 statement. BMJ
2021;372:n71, figure 1; the layout of the PRISMA2020 R package, Haddaway et al. Campbell Syst Rev
2022;18:e1230). Every number comes from the project:

==============================  =========================================================
box                             computed as
==============================  =========================================================
records identified (per source) records stored from that source + records an import of
                                that source skipped as already present
duplicate records removed       those skipped records + records that are not their report's
                                representative (:mod:`metareview.screening.reports`)
marked ineligible by automation reports excluded by the protocol's publication-type rule
removed for other reasons       reports removed before screening (``Screening.remove``)
records screened                database/register reports less the two rows above
records excluded                final title/abstract exclusions by reviewers
reports sought for retrieval    final title/abstract include or maybe (other methods: every
                                report not excluded)
reports not retrieved           sought reports marked not retrieved
reports assessed for eligibility sought less not retrieved
reports excluded (per reason)   final full-text exclusions, by eligibility code
studies included                distinct studies of the included reports
reports of included studies     final full-text inclusions
==============================  =========================================================

Records still awaiting a decision (undecided, in conflict, awaiting a second reviewer) are counted
in ``pending`` so that every column adds up; the diagram notes them when there are any.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metareview.errors import InputError
from metareview.protocol import Protocol
from metareview.screening.decisions import Screening
from metareview.screening.reports import source_kind

__all__ = ["PrismaCounts", "draw_prisma", "prisma_counts", "write_prisma"]


@dataclass(frozen=True)
class PrismaCounts:
    """The numbers of the PRISMA 2020 flow diagram (see the module docstring).

    ``excluded_reasons`` / ``other_excluded_reasons`` map eligibility codes (``"(no reason)"``
    when none was given) to counts, in protocol order. ``reason_labels`` maps a code to the
    criterion's text. ``pending`` holds records awaiting decisions per step.
    """

    databases: dict[str, int]
    registers: dict[str, int]
    other_sources: dict[str, int]
    duplicates: int
    automation: int
    removed_other: int
    screened: int
    screen_excluded: int
    sought: int
    not_retrieved: int
    assessed: int
    excluded_reasons: dict[str, int]
    other_sought: int
    other_not_retrieved: int
    other_assessed: int
    other_excluded_reasons: dict[str, int]
    other_duplicates: int
    studies_included: int
    reports_included: int
    pending: dict[str, int] = field(default_factory=dict)
    reason_labels: dict[str, str] = field(default_factory=dict)

    @property
    def identified_databases(self) -> int:
        return sum(self.databases.values())

    @property
    def identified_registers(self) -> int:
        return sum(self.registers.values())

    @property
    def identified_other(self) -> int:
        return sum(self.other_sources.values())

    @property
    def has_other_methods(self) -> bool:
        return bool(self.other_sources)

    def to_dict(self) -> dict[str, Any]:
        """All counts as a JSON-safe dict, with the totals of each box."""
        data = asdict(self)
        data["identified"] = {
            "databases": self.identified_databases,
            "registers": self.identified_registers,
            "other": self.identified_other,
        }
        data["excluded_full_text"] = sum(self.excluded_reasons.values())
        data["other_excluded_full_text"] = sum(self.other_excluded_reasons.values())
        return data


def prisma_counts(screening: Screening) -> PrismaCounts:
    """Compute the PRISMA 2020 counts of a project (see the module docstring)."""
    reports = screening.reports
    project = screening.project
    protocol = screening.protocol
    conn = project.connection

    # Records identified per source: stored + skipped at import as already present.
    stored = Counter(s.record.source for s in reports.records.values())
    skipped: Counter[str] = Counter()
    for source, n_dup in conn.execute(
        "SELECT source, COALESCE(SUM(n_duplicates), 0) FROM imports GROUP BY source"
    ):
        skipped[str(source)] += int(n_dup)
    per_source = stored + skipped
    columns: dict[str, dict[str, int]] = {"database": {}, "register": {}, "other": {}}
    for source in sorted(per_source, key=lambda s: (-per_source[s], s.casefold())):
        columns[source_kind(source, protocol)][source] = per_source[source]

    main_skipped = sum(n for s, n in skipped.items() if source_kind(s, protocol) != "other")
    other_skipped = sum(n for s, n in skipped.items() if source_kind(s, protocol) == "other")
    nonrep = reports.duplicates()
    duplicates = main_skipped + sum(1 for r in nonrep if reports.column[r] != "other")
    other_duplicates = other_skipped + sum(1 for r in nonrep if reports.column[r] == "other")

    ta = screening.final_decisions("title_abstract")
    ft = screening.final_decisions("full_text")
    retrieval = screening.retrieval()

    main_reps = reports.reports("main")
    automation = removed_other = screen_excluded = 0
    sought_ids: list[int] = []
    ta_pending = 0
    for rid in main_reps:
        f = ta.get(rid)
        if f is not None and f.basis == "rule":
            automation += 1
        elif f is not None and f.basis == "removed":
            removed_other += 1
        elif f is not None and f.decision == "exclude":
            screen_excluded += 1
        elif f is not None and f.decision in {"include", "maybe"}:
            sought_ids.append(rid)
        else:
            ta_pending += 1
    screened = len(main_reps) - automation - removed_other

    other_ids = [
        rid
        for rid in reports.reports("other")
        if (f := ta.get(rid)) is None or f.decision != "exclude"
    ]
    codes = protocol.reason_codes() if protocol is not None else []

    def full_text(ids: list[int]) -> tuple[int, int, dict[str, int], list[int], int]:
        not_retrieved = sum(1 for r in ids if retrieval.get(r) is False)
        assessed = [r for r in ids if retrieval.get(r) is not False]
        reasons: Counter[str] = Counter()
        included: list[int] = []
        pending = 0
        for r in assessed:
            f = ft.get(r)
            if f is not None and f.decision == "exclude":
                reasons[f.reason or "(no reason)"] += 1
            elif f is not None and f.decision == "include":
                included.append(r)
            else:
                pending += 1
        ordered = {c: reasons[c] for c in codes if reasons[c]}
        ordered.update({c: n for c, n in sorted(reasons.items()) if c not in ordered})
        return not_retrieved, len(assessed), ordered, included, pending

    nr, assessed, reasons, included, ft_pending = full_text(sought_ids)
    onr, oassessed, oreasons, oincluded, oft_pending = full_text(other_ids)
    all_included = included + oincluded
    studies = {reports.study[r] for r in all_included}
    labels = {c.code: c.text for c in protocol.eligibility} if protocol is not None else {}
    pending = {
        "title_abstract": ta_pending,
        "full_text": ft_pending,
        "other_full_text": oft_pending,
    }
    return PrismaCounts(
        databases=columns["database"],
        registers=columns["register"],
        other_sources=columns["other"],
        duplicates=duplicates,
        automation=automation,
        removed_other=removed_other,
        screened=screened,
        screen_excluded=screen_excluded,
        sought=len(sought_ids),
        not_retrieved=nr,
        assessed=assessed,
        excluded_reasons=reasons,
        other_sought=len(other_ids),
        other_not_retrieved=onr,
        other_assessed=oassessed,
        other_excluded_reasons=oreasons,
        other_duplicates=other_duplicates,
        studies_included=len(studies),
        reports_included=len(all_included),
        pending=pending,
        reason_labels=labels,
    )


# -- the diagram ------------------------------------------------------------------------------

_FILL = "#ffffff"
_EDGE = "#333333"
_HEAD_FILL = "#f2c14e"  # the template's yellow header boxes
_PHASE_FILL = "#a8c8e8"  # the template's light-blue phase labels
_GREY_FILL = "#e6e6e6"  # the template's grey "other methods" header
_FONT = 9.0
_LINE = 0.19  # inches per text line at _FONT
_PAD = 0.12


def _n(value: int) -> str:
    # No-break spaces keep "(n = 12)" on one line when a box's text wraps.
    return f"(n\u00a0=\u00a0{value:,})"


def _wrap(lines: list[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        indent = "    " if line.startswith("    ") else ""
        wrapped = textwrap.wrap(
            line.strip(), width=width, subsequent_indent=indent + "  ", initial_indent=indent
        )
        out.extend(wrapped or [""])
    return out


def _reason_lines(reasons: dict[str, int], labels: dict[str, str], pending: int) -> list[str]:
    lines = [f"Reports excluded {_n(sum(reasons.values()))}" + (":" if reasons else "")]
    for code, n in reasons.items():
        label = labels.get(code)
        lines.append(f"    {code} {_n(n)}" + (f": {label}" if label else ""))
    if pending:
        lines.append(f"Awaiting full-text decision {_n(pending)}")
    return lines


def _sources_lines(title: str, groups: list[tuple[str, dict[str, int]]]) -> list[str]:
    lines = [title]
    for name, per_source in groups:
        lines.append(f"{name} {_n(sum(per_source.values()))}")
        for source, n in per_source.items():
            lines.append(f"    {source} {_n(n)}")
    return lines


def draw_prisma(counts: PrismaCounts, *, title: str | None = None) -> Any:
    """Draw the PRISMA 2020 flow diagram; returns a matplotlib Figure.

    Layout as the PRISMA 2020 template (Page et al. 2021, figure 1): a header over the
    "databases and registers" columns and, when records came from other methods, over a second
    pair of columns; phase labels (Identification, Screening, Included) on the left; the main
    boxes in the left column of each pair, the removal and exclusion boxes on their right, with
    arrows down the main column and across to the exclusions.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    other = counts.has_other_methods
    # Column geometry in inches: phase label, main, main exclusions, [other, other exclusions].
    x_phase, w_phase = 0.25, 0.45
    x_main, w_main = 0.95, 3.3
    x_excl, w_excl = 4.75, 3.6
    x_other, w_other = 8.95, 3.0
    x_oexcl, w_oexcl = 12.45, 3.3
    width = (x_oexcl + w_oexcl + 0.25) if other else (x_excl + w_excl + 0.25)
    chars = {w: int(w * 13.5) for w in (w_main, w_excl, w_other, w_oexcl)}

    # Texts, row by row: identification, screened, sought, assessed, included.
    ident_main = _sources_lines(
        "Records identified from:",
        [("Databases", counts.databases), ("Registers", counts.registers)],
    )
    removed = [
        "Records removed before screening:",
        f"    Duplicate records removed {_n(counts.duplicates)}",
        f"    Records marked as ineligible by automation tools {_n(counts.automation)}",
        f"    Records removed for other reasons {_n(counts.removed_other)}",
    ]
    screened = [f"Records screened {_n(counts.screened)}"]
    screen_excl = [f"Records excluded {_n(counts.screen_excluded)}"]
    if counts.pending.get("title_abstract"):
        screen_excl.append(f"Awaiting screening decision {_n(counts.pending['title_abstract'])}")
    sought = [f"Reports sought for retrieval {_n(counts.sought)}"]
    not_retr = [f"Reports not retrieved {_n(counts.not_retrieved)}"]
    assessed = [f"Reports assessed for eligibility {_n(counts.assessed)}"]
    ft_excl = _reason_lines(
        counts.excluded_reasons,
        counts.reason_labels,
        counts.pending.get("full_text", 0),
    )
    included = [
        f"Studies included in review {_n(counts.studies_included)}",
        f"Reports of included studies {_n(counts.reports_included)}",
    ]
    ident_other: list[str] = []
    if other:
        ident_other = ["Records identified from:"] + [
            f"    {s} {_n(n)}" for s, n in counts.other_sources.items()
        ]
        if counts.other_duplicates:
            ident_other.append(f"Duplicates of other records {_n(counts.other_duplicates)}")
    o_sought = [f"Reports sought for retrieval {_n(counts.other_sought)}"]
    o_not_retr = [f"Reports not retrieved {_n(counts.other_not_retrieved)}"]
    o_assessed = [f"Reports assessed for eligibility {_n(counts.other_assessed)}"]
    o_excl = _reason_lines(
        counts.other_excluded_reasons,
        counts.reason_labels,
        counts.pending.get("other_full_text", 0),
    )

    def wrapped(lines: list[str], w: float) -> list[str]:
        return _wrap(lines, chars[w])

    rows: list[dict[str, list[str]]] = [
        {"main": wrapped(ident_main, w_main), "excl": wrapped(removed, w_excl)},
        {"main": wrapped(screened, w_main), "excl": wrapped(screen_excl, w_excl)},
        {"main": wrapped(sought, w_main), "excl": wrapped(not_retr, w_excl)},
        {"main": wrapped(assessed, w_main), "excl": wrapped(ft_excl, w_excl)},
        {"main": wrapped(included, w_main)},
    ]
    if other:
        rows[0]["other"] = wrapped(ident_other, w_other)
        rows[2]["other"] = wrapped(o_sought, w_other)
        rows[2]["oexcl"] = wrapped(o_not_retr, w_oexcl)
        rows[3]["other"] = wrapped(o_assessed, w_other)
        rows[3]["oexcl"] = wrapped(o_excl, w_oexcl)
    heights = [max(len(v) for v in row.values()) * _LINE + 2 * _PAD for row in rows]
    heights[-1] = max(heights[-1], 1.05)  # room for the rotated "Included" label
    gap = 0.42
    title_h = 0.45 if title else 0.0
    head_h = 0.42
    total_h = title_h + 0.2 + head_h + gap + sum(heights) + gap * (len(rows) - 1) + 0.3

    fig = Figure(figsize=(width, total_h))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total_h)
    ax.axis("off")

    def box(x: float, top: float, w: float, h: float, lines: list[str], **kw: Any) -> None:
        fill = kw.pop("fill", _FILL)
        ax.add_patch(
            FancyBboxPatch(
                (x, top - h),
                w,
                h,
                boxstyle="square,pad=0",
                facecolor=fill,
                edgecolor=_EDGE,
                linewidth=1.0,
            )
        )
        ax.text(
            x + _PAD,
            top - h / 2,
            "\n".join(lines),
            ha="left",
            va="center",
            fontsize=_FONT,
            linespacing=1.25,
            family="DejaVu Sans",
            **kw,
        )

    def centred(x: float, top: float, w: float, h: float, text: str, fill: str, **kw: Any) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, top - h),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=fill,
                edgecolor=_EDGE,
                linewidth=1.0,
            )
        )
        ax.text(
            x + w / 2,
            top - h / 2,
            text,
            ha="center",
            va="center",
            fontsize=_FONT + 1,
            fontweight="bold",
            **kw,
        )

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                arrowstyle="-|>",
                mutation_scale=12,
                color=_EDGE,
                linewidth=1.0,
                shrinkA=0,
                shrinkB=0,
            )
        )

    y = total_h - 0.15
    if title:
        ax.text(width / 2, y - 0.15, title, ha="center", va="top", fontsize=_FONT + 3)
        y -= title_h
    centred(
        x_main,
        y,
        x_excl + w_excl - x_main,
        head_h,
        "Identification of studies via databases and registers",
        _HEAD_FILL,
    )
    if other:
        centred(
            x_other,
            y,
            x_oexcl + w_oexcl - x_other,
            head_h,
            "Identification of studies via other methods",
            _GREY_FILL,
        )
    y -= head_h + gap
    tops: list[float] = []
    for h in heights:
        tops.append(y)
        y -= h + gap
    ident_top, screen_top, incl_top = tops[0], tops[1], tops[4]
    # Phase labels span their rows.
    phases = [
        ("Identification", ident_top, ident_top - heights[0]),
        ("Screening", screen_top, tops[3] - heights[3]),
        ("Included", incl_top, incl_top - heights[4]),
    ]
    for label, top, bottom in phases:
        centred(x_phase, top, w_phase, top - bottom, label, _PHASE_FILL, rotation=90)

    cols = {
        "main": (x_main, w_main),
        "excl": (x_excl, w_excl),
        "other": (x_other, w_other),
        "oexcl": (x_oexcl, w_oexcl),
    }
    for row, top, h in zip(rows, tops, heights, strict=True):
        for key, lines in row.items():
            x, w = cols[key]
            box(x, top, w, h, lines)
    # Arrows: down each main column, across to each exclusion box.
    for i in range(len(rows) - 1):
        top, h = tops[i], heights[i]
        arrow(x_main + w_main / 2, top - h, x_main + w_main / 2, tops[i + 1])
        if "excl" in rows[i]:
            arrow(x_main + w_main, top - h / 2, x_excl, top - h / 2)
        if other and "other" in rows[i]:
            if "oexcl" in rows[i]:
                arrow(x_other + w_other, top - h / 2, x_oexcl, top - h / 2)
            if i == 0:
                arrow(x_other + w_other / 2, top - h, x_other + w_other / 2, tops[2])
            elif i == 2:
                arrow(x_other + w_other / 2, top - h, x_other + w_other / 2, tops[3])
    if other:
        # Other methods' assessed reports join the included box.
        top3, h3 = tops[3], heights[3]
        x_from = x_other + w_other / 2
        y_mid = (top3 - h3 + incl_top) / 2
        ax.plot([x_from, x_from], [top3 - h3, y_mid], color=_EDGE, linewidth=1.0)
        ax.plot([x_from, x_main + w_main * 0.75], [y_mid, y_mid], color=_EDGE, linewidth=1.0)
        arrow(x_main + w_main * 0.75, y_mid, x_main + w_main * 0.75, incl_top)
    if counts.pending and any(counts.pending.values()):
        ax.text(
            x_main,
            0.12,
            "Screening is not finished: the boxes count records awaiting a decision separately.",
            fontsize=_FONT - 1,
            style="italic",
            va="bottom",
        )
    return fig


def write_prisma(
    screening: Screening, out_dir: str | Path, *, stem: str = "prisma", dpi: int = 200
) -> dict[str, Path]:
    """Write ``prisma.svg``, ``prisma.png`` and ``prisma.json`` (the counts) into ``out_dir``.

    Returns the paths by kind (``svg``, ``png``, ``json``).

    Raises
    ------
    InputError
        ``out_dir`` cannot be created or written (a file of that name exists, no permission).
    """
    import matplotlib

    counts = prisma_counts(screening)
    protocol: Protocol | None = screening.protocol
    fig = draw_prisma(counts, title=protocol.title if protocol else None)
    out = Path(out_dir)
    paths = {"svg": out / f"{stem}.svg", "png": out / f"{stem}.png", "json": out / f"{stem}.json"}
    try:
        out.mkdir(parents=True, exist_ok=True)
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "metareview"}):
            fig.savefig(paths["svg"], format="svg", metadata={"Date": None})
        fig.savefig(paths["png"], format="png", dpi=dpi)
        paths["json"].write_text(
            json.dumps(counts.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        where = exc.filename if exc.filename is not None else out
        raise InputError(f"cannot write the PRISMA files: {exc.strerror}", file=str(where)) from exc
    return paths
