"""``metareview pool``: effect sizes from a CSV file and a meta-analysis of them.

Parse, call :func:`metareview.review.pool.pool_file`, print: the model's summary (one
analysis), a table (``--by``) or JSON (``--json``). Warnings about rows left out go to stderr;
errors become one stderr line and exit code 2 (:func:`metareview.cli.main`).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.models._format import format_number, format_p
from metareview.review.pool import pool_file

__all__ = ["pool"]


def _print_table(items: list[dict[str, Any]]) -> None:
    """One rich table row per analysis (``--by``), on the model scale."""
    from rich.console import Console
    from rich.table import Table

    first = items[0]
    table = Table(
        title=f"measure {first['measure']}, method {first['method']}, test {first['test']}",
        title_justify="left",
    )
    cols = ["k", "estimate", "se", "ci_lower", "ci_upper", "pvalue", "tau2", "I2", "Q"]
    if "by" in first:
        table.add_column("by")
    for col in cols:
        table.add_column(col, justify="right")
    for item in items:
        cells = [] if "by" not in item else [str(item["by"])]
        for col in cols:
            value = item[col]
            if value is None:
                cells.append("-")
            elif col == "k":
                cells.append(str(value))
            elif col == "pvalue":
                cells.append(format_p(value, 4))
            else:
                cells.append(format_number(value, 4))
        table.add_row(*cells)
    Console(width=max(100, Console().width)).print(table)


@app.command()
def pool(
    file: Annotated[Path, typer.Argument(help="CSV with metafor-named columns, one study a row.")],
    measure: Annotated[str, typer.Option(help="Effect size measure (escalc): MD, SMD, OR, ...")],
    method: Annotated[
        str, typer.Option(help="tau² estimator (EE FE DL REML ML PM HS SJ HE EB) or MH, PETO.")
    ] = "REML",
    test: Annotated[str, typer.Option(help="z, t, or knha (Hartung-Knapp).")] = "z",
    level: Annotated[float, typer.Option(help="Confidence level in percent.")] = 95.0,
    by: Annotated[str | None, typer.Option(help="Pool each value of this column apart.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    model: Annotated[
        str, typer.Option(help="uni (one effect a study) or mv (multilevel, rma_mv).")
    ] = "uni",
    random: Annotated[
        str, typer.Option(help="With --model mv: metafor's random formula.")
    ] = "~ 1 | study/es",
) -> None:
    """Compute effect sizes from FILE and pool them (fixed or random effects)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model.lower() == "mv":
            from metareview.review.pool_mv import pool_file_mv

            if by is not None:
                raise InputError("--by cannot be combined with --model mv", field="by")
            outcome = pool_file_mv(file, measure, random=random, method=method, test=test,
                                   level=level)
        elif model.lower() != "uni":
            raise InputError(f"--model must be uni or mv (got {model!r})", field="model")
        else:
            outcome = pool_file(file, measure, method=method, test=test, level=level, by=by)
    for w in caught:
        print(f"metareview: warning: {w.message}", file=sys.stderr)
    if as_json:
        sys.stdout.write(outcome.to_json())
        sys.stdout.write("\n")
    elif outcome.model is not None:
        typer.echo(outcome.model.summary())
    else:
        assert isinstance(outcome.json, list)
        _print_table(outcome.json)
