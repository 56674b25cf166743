"""``metareview demo`` and ``metareview run DIR``: run a review and report on it.

``demo`` runs the bundled review (imatinib in systemic sclerosis, rebuilding Liakouli et al.
2020 from its primary studies); ``run`` runs a review folder laid out the same way (see
:mod:`metareview.review.folder`), or a project store made with ``init``/``import``/``extract``.
A folder is first imported into a project store at ``OUT/project``
(:func:`metareview.review.folder.import_folder`), then analysed from that store and reported:
the same path as a review built with commands. Both print our pooled results (beside the
published ones, when the review has any) and write the HTML report to ``--out``; ``--json``
also prints the JSON document (:meth:`metareview.review.result.ReviewResult.to_json`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metareview.cli.app import app
from metareview.effects.measures import PROPORTION_MEASURES
from metareview.errors import InputError
from metareview.review.folder import bundled_example, run_folder
from metareview.review.result import OutcomeAnalysis, ReviewResult
from metareview.store.project import DB_NAME

__all__ = ["demo", "run"]


def _fmt(x: float | None, proportion: bool) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{100 * x:.1f}%" if proportion else f"{x:.3f}"


def _interval(est: float | None, lo: float | None, hi: float | None, proportion: bool) -> str:
    if est is None:
        return "not estimable"
    text = _fmt(est, proportion)
    if lo is not None and hi is not None:
        text += f" [{_fmt(lo, proportion)}, {_fmt(hi, proportion)}]"
    return text


def _row(a: OutcomeAnalysis) -> list[str]:
    proportion = a.measure in PROPORTION_MEASURES
    pub = a.published
    published = _interval(pub.estimate, pub.ci_lower, pub.ci_upper, proportion) if pub else "–"
    diff = a.difference
    if diff is None:
        diff_text = "–"
    elif proportion:
        diff_text = f"{100 * diff:+.1f} points"
    else:
        diff_text = f"{diff:+.3f}"
    return [
        a.outcome,
        str(a.k),
        f"{a.measure} {a.method}/{a.test}",
        _interval(a.estimate, a.ci_lower, a.ci_upper, proportion),
        published,
        diff_text,
    ]


def _print_summary(result: ReviewResult, console: Console) -> None:
    if not any(a.published is not None for a in result.analyses):
        console.print(result.summary(), highlight=False)
        return
    table = Table(title=result.protocol.title, show_lines=False)
    for col in ("Outcome", "k", "Model", "Ours (95% CI)", "Published (95% CI)", "Difference"):
        table.add_column(col, overflow="fold")
    for a in result.analyses:
        table.add_row(*_row(a))
    console.print(table)
    for a in result.analyses:
        console.print(f"[bold]{a.outcome}[/bold]: {a.comparison}")
        for label, reason in a.excluded:
            console.print(f"  - {label} not pooled: {' '.join(reason.split())}", highlight=False)
        for note in a.notes:
            console.print(f"  note: {' '.join(note.split())}", highlight=False)
    assumed = sum(
        1 for a in result.analyses for s in a.studies for i in s.inputs if i.status == "assumed"
    )
    if assumed:
        console.print(
            f"{assumed} input(s) are assumed, not reported; the report's sensitivity tables show "
            "how the results move with them."
        )


def _print_selection(result: ReviewResult, console: Console) -> None:
    selection = result.selection
    if selection is None:
        return
    c = selection.counts
    excluded = sum(c.excluded_reasons.values()) + sum(c.other_excluded_reasons.values())
    console.print(
        f"Study selection (PRISMA 2020): {c.identified_databases} records from databases, "
        f"{c.identified_registers} from registers, {c.identified_other} from other methods; "
        f"{c.duplicates + c.other_duplicates} duplicates removed; {c.screened} screened, "
        f"{c.screen_excluded} excluded at title/abstract; {c.assessed + c.other_assessed} "
        f"assessed in full, {excluded} excluded; {c.studies_included} studies included "
        f"({c.reports_included} reports).",
        highlight=False,
    )
    if selection.project_dir is not None:
        console.print(f"Project store written to {selection.project_dir}", highlight=False)


def _write_report(result: ReviewResult, out: Path, console: Console) -> None:
    from metareview.report.html import write_report

    path = write_report(result, out)
    console.print(f"Report written to {path}")


def _run(project: Path, out: Path | None, as_json: bool) -> None:
    _show(run_folder(project, out), out, as_json)


def _show(result: ReviewResult, out: Path | None, as_json: bool) -> None:
    console = Console(stderr=as_json)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, allow_nan=False))
    else:
        _print_summary(result, console)
        _print_selection(result, console)
    if out is not None:
        _write_report(result, out, console)


@app.command()
def demo(
    out: Path = typer.Option(
        Path("metareview-demo"),
        "--out",
        help="Folder for the HTML report and the project store (OUT/project).",
        show_default=True,
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the results as JSON on stdout (the report is still written)."
    ),
) -> None:
    """Run the bundled review (imatinib in systemic sclerosis) and compare with the paper."""
    _run(bundled_example(), out, as_json)


@app.command()
def run(
    project: Path = typer.Argument(..., help="Project folder (protocol.yaml, studies.yaml, ...)."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for the HTML report and the project store (default: DIR/report).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the results as JSON on stdout (the report is still written)."
    ),
) -> None:
    """Run the review in DIR (a review folder, or a project store): pool, report."""
    if not project.is_dir():
        raise InputError("not a project folder", file=str(project))
    target = out if out is not None else project / "report"
    if (project / DB_NAME).is_file():
        from metareview.review.store import analyse_project

        result = analyse_project(project, write_prisma_files=True)
        _show(result, target, as_json)
        return
    _run(project, target, as_json)
