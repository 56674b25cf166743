"""Risk-of-bias figures as robvis draws them: the traffic-light plot and the summary bar chart.

McGuinness LA, Higgins JPT. Risk-of-bias VISualization (robvis): an R package and Shiny web app
for visualizing risk-of-bias assessments. Res Syn Meth 2021;12:55-61. Colours and symbols follow
robvis's defaults ("cochrane" colour scheme): RoB 2 low green "+", some concerns yellow "-",
high red "X"; ROBINS-I low green "+", moderate yellow "-", serious red "X", critical dark red
"!", no information blue "?".

Both functions take the studies of one outcome assessed with one tool, each a mapping with
``study``, ``overall``, ``domains`` (``[{"domain", "judgement"}]``) and, for the weighted
summary, ``weight`` (percent weight in the outcome's main model). Nothing here reads a store or
fits a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from metareview.appraisal.vocabulary import JUDGEMENT_LABELS, TOOLS
from metareview.errors import InputError

__all__ = ["COLOURS", "SYMBOLS", "rob_summary_plot", "traffic_light_plot"]

#: robvis's "cochrane" colours per judgement.
COLOURS: dict[str, str] = {
    "low": "#02C100",
    "some_concerns": "#E2DF07",
    "moderate": "#E2DF07",
    "high": "#BF0000",
    "serious": "#BF0000",
    "critical": "#820000",
    "no_information": "#4EA1F7",
}
#: robvis's symbols per judgement.
SYMBOLS: dict[str, str] = {
    "low": "+",
    "some_concerns": "-",
    "moderate": "-",
    "high": "X",
    "serious": "X",
    "critical": "!",
    "no_information": "?",
}


def _tool(tool: str) -> Any:
    found = TOOLS.get(tool)
    if found is None:
        raise InputError(f"unknown risk-of-bias tool {tool!r}", field="tool")
    return found


def _judgements(study: Mapping[str, Any]) -> dict[str, str]:
    return {str(d["domain"]): str(d["judgement"]) for d in study.get("domains") or []}


def traffic_light_plot(studies: Sequence[Mapping[str, Any]], tool: str) -> Figure:
    """The traffic-light plot: one row per study, one column per domain and ``Overall``, a
    coloured circle with the judgement's symbol in each cell, the domain names under the grid
    and a legend of the tool's judgement words (robvis ``rob_traffic_light``)."""
    spec = _tool(tool)
    domains = [d.id for d in spec.domains]
    columns = [*domains, "Overall"]
    n = len(studies)
    width = 1.8 + 0.55 * len(columns) + 1.6
    height = 1.3 + 0.42 * n + 0.22 * len(domains) + 0.4
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(-4.2, len(columns) + 3.2)
    top = 1.6
    bottom = -(n + 0.6 + 0.5 * len(domains) + 0.6)
    ax.set_ylim(bottom, top)
    ax.axis("off")
    ax.text(len(columns) / 2 - 0.5, top - 0.5, "Risk of bias domains", ha="center", va="center",
            fontsize=10, fontweight="bold")  # fmt: skip
    for j, col in enumerate(columns):
        ax.text(j, 0.3, col, ha="center", va="center", fontsize=9, fontweight="bold")
    ax.text(-0.8, 0.3, "Study", ha="right", va="center", fontsize=9, fontweight="bold")
    for i, s in enumerate(studies):
        y = -(i + 0.5)
        ax.text(-0.8, y, str(s.get("study", "")), ha="right", va="center", fontsize=8)
        found = _judgements(s)
        for j, col in enumerate(columns):
            judgement = str(s.get("overall")) if col == "Overall" else found.get(col)
            if judgement is None or judgement not in COLOURS:
                continue
            ax.scatter([j], [y], s=260, c=COLOURS[judgement], edgecolors="black",
                       linewidths=0.4, zorder=2)  # fmt: skip
            ax.text(j, y, SYMBOLS[judgement], ha="center", va="center", fontsize=9,
                    fontweight="bold", zorder=3)  # fmt: skip
    ax.plot([-0.5, len(columns) - 0.5], [0, 0], color="grey", linewidth=0.5)
    ax.plot([len(domains) - 0.5] * 2, [0.6, -n], color="grey", linewidth=0.5)
    y = -(n + 0.6)
    ax.text(-4.1, y, "Domains:", ha="left", va="center", fontsize=8, fontweight="bold")
    for k, d in enumerate(spec.domains):
        ax.text(-4.1, y - 0.5 * (k + 1), f"{d.id}: {d.name}.", ha="left", va="center",
                fontsize=7.5)  # fmt: skip
    handles = [
        Patch(facecolor=COLOURS[w], edgecolor="black", label=f"{SYMBOLS[w]} {JUDGEMENT_LABELS[w]}")
        for w in spec.judgements
    ]
    fig.legend(handles=handles, title="Judgement", loc="upper right", fontsize=8,
               title_fontsize=8, frameon=False)  # fmt: skip
    return fig


def rob_summary_plot(
    studies: Sequence[Mapping[str, Any]], tool: str, *, weighted: bool = True
) -> Figure:
    """The summary bar chart: per domain (and overall) the proportion of information at each
    judgement, weighted by the studies' weights in the analysis (robvis ``rob_summary(weighted =
    TRUE)``; unweighted, or when no study has a weight, each study counts once).

    For domain ``d`` and judgement ``j`` the bar length is ``sum(w_i [j_id = j]) / sum(w_i)``
    over the studies assessed, with ``w_i`` the study's weight (1 when unweighted; 0 for a
    study without a weight when others have one: it is not in the analysis, so it carries no
    information).
    """
    spec = _tool(tool)
    use_weights = weighted and any(s.get("weight") is not None for s in studies)
    rows = [(d.id, d.name) for d in spec.domains] + [("Overall", "Overall risk of bias")]
    shares: list[dict[str, float]] = []
    for did, _ in rows:
        total = 0.0
        acc = dict.fromkeys(spec.judgements, 0.0)
        for s in studies:
            j = str(s.get("overall")) if did == "Overall" else _judgements(s).get(did)
            if j not in acc:
                continue
            w = float(s.get("weight") or 0.0) if use_weights else 1.0
            acc[j] += w
            total += w
        shares.append({k: (v / total if total else 0.0) for k, v in acc.items()})
    fig = Figure(figsize=(9.0, 0.45 * len(rows) + 1.6))
    ax = fig.add_axes((0.47, 0.28, 0.5, 0.62))
    ys = list(range(len(rows)))[::-1]
    for y, share in zip(ys, shares, strict=True):
        left = 0.0
        for j in spec.judgements:
            if share[j] > 0:
                ax.barh(y, share[j], left=left, color=COLOURS[j], edgecolor="black",
                        linewidth=0.4, height=0.7)  # fmt: skip
                left += share[j]
    ax.set_yticks(ys, [f"{did}: {name}" if did != "Overall" else name for did, name in rows],
                  fontsize=8)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
    how = " (weighted by the analysis)" if use_weights else " (studies counted once)"
    ax.set_xlabel("Proportion of information" + how, fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=COLOURS[w], edgecolor="black", label=JUDGEMENT_LABELS[w])
               for w in spec.judgements]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    return fig
