"""``metareview pool``: effect sizes from a CSV file and a meta-analysis of them.

Parse, call :func:`metareview.review.pool.pool_file`, print: the model's summary (one
analysis), a table (``--by``) or JSON (``--json``). Warnings about rows left out go to stderr;
errors become one stderr line and exit code 2 (:func:`metareview.cli.main`). The body is
:func:`metareview.cli._pool.run`, which :func:`metareview.cli.main` calls without typer when the
arguments are plain (:func:`metareview.cli._pool.parse`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metareview.cli._pool import run
from metareview.cli.app import app
from metareview.review.pool import TRANSFS

__all__ = ["pool"]


@app.command()
def pool(
    file: Annotated[Path, typer.Argument(help="CSV with metafor-named columns, one study a row.")],
    measure: Annotated[str, typer.Option(help="Effect size measure (escalc): MD, SMD, OR, ...")],
    method: Annotated[
        str,
        typer.Option(
            help="tau² estimator (EE FE DL REML ML PM PMM HS HSK SJ HE EB) or MH, PETO."
        ),
    ] = "REML",
    test: Annotated[str, typer.Option(help="z, t, or knha (Hartung-Knapp).")] = "z",
    level: Annotated[float, typer.Option(help="Confidence level in percent.")] = 95.0,
    by: Annotated[
        str | None,
        typer.Option(help="Pool each value of this column apart and test their differences."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    transf: Annotated[
        str,
        typer.Option(
            help="Also show the estimate and intervals back-transformed: "
            + ", ".join(TRANSFS)
            + " (auto: exp for ratio measures, inverse logit for PLO, ...)."
        ),
    ] = "none",
    forest: Annotated[
        Path | None, typer.Option(help="Write a forest plot to this file (.svg, .png or .pdf).")
    ] = None,
    funnel: Annotated[
        Path | None, typer.Option(help="Write a funnel plot to this file (.svg, .png or .pdf).")
    ] = None,
    model: Annotated[
        str, typer.Option(help="uni (one effect a study) or mv (multilevel, rma_mv).")
    ] = "uni",
    random: Annotated[
        str, typer.Option(help="With --model mv: metafor's random formula.")
    ] = "~ 1 | study/es",
    mods: Annotated[
        str | None,
        typer.Option(help="With --model mv: moderators, a formula of the file's columns "
                     "('~ year', '~ 0 + outcome').")
    ] = None,
    struct: Annotated[
        str, typer.Option(help="With --model mv: the structure of an '~ inner | outer' term "
                          "(CS HCS UN AR HAR CAR DIAG ID).")
    ] = "CS",
) -> None:
    """Compute effect sizes from FILE and pool them (fixed or random effects)."""
    run(file, measure, method=method, test=test, level=level, by=by, as_json=as_json,
        transf=transf, forest=forest, funnel=funnel, model=model, random=random, mods=mods,
        struct=struct)  # fmt: skip
