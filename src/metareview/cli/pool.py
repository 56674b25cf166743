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
from metareview.review.pool import TRANSFS, pool_file

__all__ = ["pool"]


def _print_table(items: list[dict[str, Any]]) -> None:
    """One rich table row per analysis (``--by``), on the model scale (estimate and CI
    back-transformed with ``--transf``)."""
    from rich.console import Console
    from rich.table import Table

    first = items[0]
    title = f"measure {first['measure']}, method {first['method']}, test {first['test']}"
    if "transformed" in first:
        title += f"; estimate and CI back-transformed ({first['transf']})"
        items = [{**i, **{k: i["transformed"][k] for k in ("estimate", "ci_lower", "ci_upper")}}
                 for i in items]  # fmt: skip
    table = Table(title=title, title_justify="left")
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
) -> None:
    """Compute effect sizes from FILE and pool them (fixed or random effects)."""
    for plot in (forest, funnel):
        if plot is not None:
            _check_figure_path(plot, by)
            if model.lower() == "mv":
                raise InputError("--forest/--funnel draw rma models: leave out --model mv",
                                 file=str(plot))  # fmt: skip
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
            outcome = pool_file(
                file, measure, method=method, test=test, level=level, by=by, transf=transf
            )
    for w in caught:
        print(f"metareview: warning: {w.message}", file=sys.stderr)
    if outcome.model is not None:
        if forest is not None:
            _write_figure("forest", outcome.model, forest)
        if funnel is not None:
            _write_figure("funnel", outcome.model, funnel)
    if as_json:
        sys.stdout.write(outcome.to_json())
        sys.stdout.write("\n")
    elif outcome.model is not None:
        typer.echo(outcome.model.summary())
        assert isinstance(outcome.json, dict)
        if "transformed" in outcome.json:
            typer.echo(_transformed_text(outcome.json))
    else:
        assert isinstance(outcome.json, list)
        _print_table(outcome.json)
        typer.echo(_test_between_text(outcome.test_between, by))


def _transformed_text(item: dict[str, Any]) -> str:
    """The back-transformed estimate and intervals, as metafor prints
    ``predict(res, transf=)``."""
    t = item["transformed"]
    keys = [("pred", "estimate"), ("ci.lb", "ci_lower"), ("ci.ub", "ci_upper"),
            ("pi.lb", "pi_lower"), ("pi.ub", "pi_upper")]  # fmt: skip
    keys = [(label, key) for label, key in keys if t[key] is not None]
    cells = [format_number(t[key], 4) for _, key in keys]
    width = [max(len(label), len(c)) for (label, _), c in zip(keys, cells, strict=True)]
    head = " ".join(f"{label:>{w}}" for (label, _), w in zip(keys, width, strict=True))
    row = " ".join(f"{c:>{w}}" for c, w in zip(cells, width, strict=True))
    return f"Back-transformed ({item['transf']}):\n\n {head}\n {row}\n"


def _test_between_text(test: dict[str, Any] | None, by: str | None) -> str:
    """metafor's line for a subgroup test: ``Test for Subgroup Differences: QM(df = 1) = ...``."""
    if test is None:
        return f"\nTest for Subgroup Differences ({by}): needs two groups with an estimate\n"
    return (
        f"\nTest for Subgroup Differences ({by}; separate tau^2): "
        f"QM(df = {test['df']}) = {format_number(test['Q'], 4)}, "
        f"p-val {format_p(test['pvalue'], 4, showeq=True)}\n"
    )


_FIGURE_FORMATS = ("svg", "png", "pdf")


def _check_figure_path(path: Path, by: str | None) -> None:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _FIGURE_FORMATS:
        raise InputError("a figure file must end in .svg, .png or .pdf", file=str(path))
    if by is not None:
        raise InputError("--forest/--funnel draw one analysis: leave out --by", file=str(path))
    if not path.parent.is_dir():
        raise InputError("the figure's folder does not exist", file=str(path))


def _write_figure(kind: str, model: Any, path: Path) -> None:
    """Draw and save a forest or funnel plot (``report.plots``), dated nowhere in the file."""
    import matplotlib

    from metareview.report.plots import forest_plot, funnel_plot

    fig = forest_plot(model) if kind == "forest" else funnel_plot(model)
    fmt = path.suffix.lower().lstrip(".")
    try:
        if fmt == "svg":
            with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": path.name}):
                fig.savefig(path, format="svg", metadata={"Date": None})
        elif fmt == "pdf":
            fig.savefig(path, format="pdf", metadata={"CreationDate": None})
        else:
            fig.savefig(path, format="png", dpi=200)
    except OSError as exc:
        raise InputError(f"cannot write the figure ({exc.strerror})", file=str(path)) from exc
