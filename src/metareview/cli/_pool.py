"""``metareview pool`` without typer: the command's body and a parser for plain argument lists.

:func:`run` is what the command does (call :func:`metareview.review.pool.pool_file`, print);
``cli/pool.py`` declares the typer command, which calls :func:`run`. :func:`parse` reads an
argument list made only of ``pool``'s own options and one file (``--opt value`` or
``--opt=value``, each at most once): :func:`metareview.cli.main` then calls :func:`run` directly,
without importing typer, click or pydantic (about a third of the command's start-up). Anything
else (``--help``, an unknown or repeated option, a value that is not plainly one, a missing
``--measure``) returns None and typer parses the list, with its usage errors. The option table
here and the typer command's parameters are kept equal by ``tests/cli/test_pool.py``.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from metareview.errors import InputError

__all__ = ["BLAS_THREAD_VARIABLES", "FLAGS", "OPTIONS", "one_blas_thread", "parse", "run"]


def _path(value: str) -> Path:
    if not value:
        raise ValueError("an empty path")
    return Path(value)


_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _float(value: str) -> float:
    """A plain decimal (``95``, ``99.5``); anything else is left to typer's conversion."""
    if _DECIMAL.fullmatch(value) is None:
        raise ValueError(value)
    return float(value)


#: ``pool``'s options that take a value: option -> (parameter of :func:`run`, conversion).
OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--measure": ("measure", str), "--method": ("method", str), "--test": ("test", str),
    "--level": ("level", _float), "--by": ("by", str), "--transf": ("transf", str),
    "--forest": ("forest", _path), "--funnel": ("funnel", _path), "--model": ("model", str),
    "--random": ("random", str), "--mods": ("mods", str), "--struct": ("struct", str),
}  # fmt: skip

#: ``pool``'s flags: option -> parameter of :func:`run`.
FLAGS: dict[str, str] = {"--json": "as_json"}


def parse(argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`run` for ``argv`` (the arguments after ``pool``), or None
    when typer should parse them (see the module docstring)."""
    given: dict[str, Any] = {}
    files: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in FLAGS:
            given[FLAGS[arg]] = True
            continue
        name, eq, value = arg.partition("=")
        if name in OPTIONS:
            if not eq:
                if i >= len(argv):
                    return None
                value = argv[i]
                i += 1
            param, convert = OPTIONS[name]
            if param in given or value.startswith("-"):
                return None
            try:
                given[param] = convert(value)
            except ValueError:
                return None
        elif arg.startswith("-") or not arg:
            return None
        else:
            files.append(arg)
    if len(files) != 1 or "measure" not in given:
        return None
    return {"file": Path(files[0]), **given}


def run(
    file: Path,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    by: str | None = None,
    as_json: bool = False,
    transf: str = "none",
    forest: Path | None = None,
    funnel: Path | None = None,
    model: str = "uni",
    random: str = "~ 1 | study/es",
    mods: str | None = None,
    struct: str = "CS",
) -> None:
    """``metareview pool``: effect sizes from ``file``, pooled; print the summary, the ``--by``
    table with the test for subgroup differences, or JSON. Warnings go to stderr."""
    # rma_mv's dense algebra (--model mv) may use the BLAS threads; the rest never calls BLAS
    with nullcontext() if model.lower() == "mv" else one_blas_thread():
        _run(file, measure, method, test, level, by, as_json, transf, forest, funnel, model,
             random, mods, struct)  # fmt: skip


#: The variables OpenBLAS reads for its thread count at load (the first one set wins).
BLAS_THREAD_VARIABLES: tuple[str, ...] = (
    "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
)  # fmt: skip


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Load NumPy's OpenBLAS with one thread when NumPy is first imported inside the block.

    NumPy's bundled OpenBLAS starts one worker thread per core when it loads, and each worker
    spins for a while before it sleeps: on this project's 2-core machine that is ~0.06 s of
    wall time at ``import numpy`` and ~0.09 s of CPU on the other core, for nothing, since
    ``pool``'s fit is elementwise array arithmetic and einsum reductions, no BLAS call. So
    ``OPENBLAS_NUM_THREADS=1`` is set for the block, unless NumPy is loaded already (then it is
    too late) or the user set one of :data:`BLAS_THREAD_VARIABLES` (theirs wins); the
    environment is restored afterwards, so nothing started later inherits it.
    """
    if "numpy" in sys.modules or any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        yield
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)


def _run(
    file: Path, measure: str, method: str, test: str, level: float, by: str | None,
    as_json: bool, transf: str, forest: Path | None, funnel: Path | None, model: str,
    random: str, mods: str | None = None, struct: str = "CS",
) -> None:  # fmt: skip
    """The body of :func:`run`."""
    from metareview.review.pool import pool_file

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
                                   level=level, mods=mods, struct=struct)  # fmt: skip
        elif model.lower() != "uni":
            raise InputError(f"--model must be uni or mv (got {model!r})", field="model")
        else:
            if mods is not None or struct != "CS":
                raise InputError("--mods and --struct need --model mv (with --random "
                                 "\"~ 1 | study\" for one effect a study)", field="mods")
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
        _write_json(outcome.to_json_bytes())
    elif outcome.model is not None:
        print(outcome.model.summary())
        assert isinstance(outcome.json, dict)
        if "transformed" in outcome.json:
            print(_transformed_text(outcome.json))
    else:
        assert isinstance(outcome.json, list)
        _print_table(outcome.json)
        print(_test_between_text(outcome.test_between, by))


def _write_json(data: bytes) -> None:
    """JSON text and a newline on stdout, as UTF-8 (RFC 8259) whatever stdout's encoding, through
    its byte buffer when it has one."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # a text-only stream (e.g. io.StringIO)
        out.write(data.decode("utf-8"))
        out.write("\n")
        return
    out.flush()
    buffer.write(data)
    buffer.write(b"\n")
    buffer.flush()


def _print_table(items: list[dict[str, Any]]) -> None:
    """One rich table row per analysis (``--by``), on the model scale (estimate and CI
    back-transformed with ``--transf``)."""
    from rich.console import Console
    from rich.table import Table

    from metareview.models._format import format_number, format_p

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


def _transformed_text(item: dict[str, Any]) -> str:
    """The back-transformed estimate and intervals, as metafor prints
    ``predict(res, transf=)``."""
    from metareview.models._format import format_number

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
    from metareview.models._format import format_number, format_p

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
