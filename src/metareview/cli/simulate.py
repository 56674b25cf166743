"""``metareview simulate``: replay a labelled set to measure the screening the ranking saves."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.screening.ranking import DEFAULT_MODEL, MODELS
from metareview.screening.simulation import (
    DEFAULT_BATCH_FRACTION,
    load_labelled_csv,
    plot_recall_curve,
    simulate,
)


@app.command("simulate")
def simulate_command(
    file: Path = typer.Argument(..., help="Labelled CSV: title, abstracts, keywords, labels."),
    label_column: str = typer.Option(
        "label1", "--label-column", help="Column with 'I' for an include; anything else excludes."
    ),
    seeds: int = typer.Option(5, "--seeds", help="Number of seeds (0..n-1) to average over."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", help=f"Classifier: {', '.join(MODELS)}."),
    batch_fraction: float = typer.Option(
        DEFAULT_BATCH_FRACTION,
        "--batch-fraction",
        help="Retrain after max(1, floor(f x labelled)) new labels; 0 retrains every decision.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON only."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write the recall curve with the random-order line (.svg or .png)."
    ),
) -> None:
    """Simulate screening FILE in the ranker's order; print WSS@95, WSS@100, RRF@10.

    Each seed draws one relevant and one irrelevant record as prior knowledge (as ASReview's
    simulation does); the metrics and the curve cover the records read after them. WSS@r =
    (N - k_r)/N - (1 - r) (Cohen et al. 2006); RRF@10 = recall after reading 10% of the
    records. --json prints {"n", "n_included", "wss95", "wss100", "rrf10", "curve"} averaged
    over the seeds, with rrf10 as a proportion and curve rows (screened, found).
    """
    if seeds < 1:
        raise InputError("--seeds must be 1 or more", field="seeds")
    if model not in MODELS:
        raise InputError(
            f"unknown model {model!r}; choose one of {', '.join(MODELS)}", field="model"
        )
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise InputError("the plot file must end in .svg or .png", file=str(plot))
    data = load_labelled_csv(file, label_column)
    if as_json:
        result = simulate(data, model=model, seeds=range(seeds), batch_fraction=batch_fraction)
    else:
        console = Console(stderr=True)
        with console.status(f"simulating {data.n} records x {seeds} seed(s) with {model}"):
            result = simulate(data, model=model, seeds=range(seeds), batch_fraction=batch_fraction)
    if plot is not None:
        plot_recall_curve(result, plot)
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    table = Table(title=f"{file.name} ({label_column}, model {model}, {seeds} seed(s))")
    table.add_column("records", justify="right")
    table.add_column("included", justify="right")
    table.add_column("WSS@95", justify="right")
    table.add_column("WSS@100", justify="right")
    table.add_column("RRF@10", justify="right")
    table.add_row(
        str(result.n),
        str(result.n_included),
        f"{result.wss95:.3f}",
        f"{result.wss100:.3f}",
        f"{100 * result.rrf10:.1f}%",
    )
    out = Console()
    out.print(table)
    if len(result.per_seed) > 1:
        per = ", ".join(f"{s['wss95']:.3f}" for s in result.per_seed)
        out.print(f"WSS@95 per seed: {per}")
    if plot is not None:
        out.print(f"recall curve written to {plot}")
