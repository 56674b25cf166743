"""``metareview check-published``: are a published estimate, CI and p-value consistent?"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from metareview.cli.app import app
from metareview.models.published import check_published

_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


@app.command("check-published")
def check_published_command(
    estimate: Annotated[str, typer.Option("--estimate", help="Pooled estimate as printed.")],
    ci_lower: Annotated[str, typer.Option("--ci-lower", help="Lower confidence bound.")],
    ci_upper: Annotated[str, typer.Option("--ci-upper", help="Upper confidence bound.")],
    pvalue: Annotated[
        str | None, typer.Option("--pvalue", help='p-value as printed: 0.043 or "<0.001".')
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="Number of studies (enables the t(k-1) check).")
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level in percent.")] = 95.0,
    scale: Annotated[
        str,
        typer.Option("--scale", help="Model scale: identity (MD, SMD) or log (OR, RR, HR)."),
    ] = "identity",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Check a published pooled result for internal consistency.

    Reports the SE implied by the CI, whether the CI is symmetric on the model scale, whether the
    p-value matches (normal or t with k-1 df), and likely sign or bound typos. Numbers are read
    as printed, so their last digit sets the rounding allowed. Exit code 0 either way; the
    verdict is in the output.
    """
    result = check_published(
        estimate, ci_lower, ci_upper, pvalue=pvalue, k=k, level=level, scale=scale
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return
    console = Console()
    lines = result.summary().splitlines()
    console.print(lines[0], markup=False, highlight=False)
    console.print(lines[1], markup=False, highlight=False)
    verdict = "consistent" if result.consistent else "NOT consistent as printed"
    console.print(f"Verdict: [{'green' if result.consistent else 'bold red'}]{verdict}[/]")
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("severity")
    table.add_column("finding")
    table.add_column("message", overflow="fold")
    for finding in result.findings:
        table.add_row(
            f"[{_STYLE[finding.severity]}]{finding.severity}[/]", finding.code, finding.message
        )
    console.print(table)
