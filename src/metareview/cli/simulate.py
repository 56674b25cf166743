"""``metareview simulate``: replay a labelled set to measure the screening the ranking saves."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metareview.cli.app import app
from metareview.errors import InputError
from metareview.screening.ranking import DEFAULT_MODEL, PRESETS
from metareview.screening.simulation import (
    DEFAULT_BATCH_FRACTION,
    ESTIMATE_SAMPLE,
    SimulationResult,
    load_labelled_csv,
    parse_batch,
    plot_recall_curve,
    simulate,
)
from metareview.screening.stopping import DEFAULT_RUN, DEFAULT_SWITCH, parse_switch, run_length


def _parse_ids(text: str) -> list[int]:
    """``--prior-ids 3,17,40`` as 0-based data rows."""
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise InputError(
            f"--prior-ids {text!r}: give comma-separated 0-based data rows, e.g. 3,17",
            field="prior_ids",
        ) from None


@app.command("simulate")
def simulate_command(
    file: Path = typer.Argument(..., help="Labelled CSV: title, abstracts, keywords, labels."),
    label_column: str = typer.Option(
        "label1", "--label-column", help="Column with 'I' for an include; anything else excludes."
    ),
    seeds: int = typer.Option(5, "--seeds", help="Number of seeds (0..n-1) to average over."),
    model: str = typer.Option(
        DEFAULT_MODEL, "--model", help=f"Ranker preset: {', '.join(PRESETS)}."
    ),
    batch_fraction: float = typer.Option(
        DEFAULT_BATCH_FRACTION,
        "--batch-fraction",
        help="Retrain after max(1, floor(f x labelled)) new labels; 0 retrains every decision.",
    ),
    batch: str | None = typer.Option(
        None, "--batch", help="Retrain every N decisions ('10') or after a growing batch ('2%')."
    ),
    prior_ids: str | None = typer.Option(
        None, "--prior-ids", help="Comma-separated 0-based data rows known before screening."
    ),
    prior_relevant: int = typer.Option(
        1, "--prior-relevant", help="Relevant priors drawn per seed (without --prior-ids)."
    ),
    prior_irrelevant: int = typer.Option(
        1, "--prior-irrelevant", help="Irrelevant priors drawn per seed (without --prior-ids)."
    ),
    orders: Path | None = typer.Option(
        None, "--orders", help="Write every seed's reading order as CSV: seed, rank, row, label."
    ),
    stop_target: float = typer.Option(
        0.95, "--stop-target", help="Target recall of the statistical stopping rules."
    ),
    stop_confidence: float = typer.Option(
        0.95, "--stop-confidence", help="Confidence of the statistical stopping rules."
    ),
    stop_run: str = typer.Option(
        DEFAULT_RUN, "--stop-run",
        help="Heuristic (no recall guarantee): stop after this many irrelevant records in a "
        "row, or this share of the records ('5%').",
    ),
    estimate_sample: int = typer.Option(
        ESTIMATE_SAMPLE, "--estimate-sample",
        help="Random sample drawn at 10/25/50% screened to estimate the relevant records left.",
    ),
    stop_sample: int | None = typer.Option(
        None, "--stop-sample",
        help="Score the random-sample stopping rule too: read a random sample of N first.",
    ),
    stop_late: bool = typer.Option(
        False, "--stop-late",
        help="Score the late-drawn sample rule too (Callaghan & Müller-Hansen): ranked "
        "screening until --stop-switch fires, then the unscreened records at random, tested "
        "after each.",
    ),
    stop_switch: str = typer.Option(
        DEFAULT_SWITCH, "--stop-switch",
        help="When --stop-late switches to random order: run:N or run:X% (irrelevant in a "
        "row), screened:N or screened:X%.",
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
    over the seeds, with rrf10 as a proportion and curve rows (screened, found), plus
    "metrics" (recall@k%, WSS@x, ERF@x, ATD from one shared function), "stopping" (each
    stopping rule's recall and work saved when it says stop; with --stop-sample N also
    "sample", the rule on a random sample of N read first; with --stop-late also
    "late-sample", the rule on a random order after --stop-switch fires; "irrelevant-run" is
    a heuristic with no recall guarantee), "remaining" (at 10/25/50%
    screened: relevant records left, the ranker's estimate and a random-sample estimate with
    its 95% interval's coverage) and "per_seed".
    """
    if estimate_sample < 1:
        raise InputError("--estimate-sample must be 1 or more", field="estimate_sample")
    if seeds < 1:
        raise InputError("--seeds must be 1 or more", field="seeds")
    if stop_sample is not None and stop_sample < 1:
        raise InputError("--stop-sample must be 1 or more", field="stop_sample")
    if model not in PRESETS:
        raise InputError(
            f"unknown model {model!r}; choose one of {', '.join(PRESETS)}", field="model"
        )
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise InputError("the plot file must end in .svg or .png", file=str(plot))
    if not 0.0 < stop_target < 1.0 or not 0.0 < stop_confidence < 1.0:
        raise InputError("--stop-target and --stop-confidence must lie in (0, 1)",
                         field="stop_target")
    run_length(stop_run, 1)  # a clear error before any work
    switch = parse_switch(stop_switch).spec if stop_late else None
    batch_size: int | None = None
    if batch is not None:
        batch_size, fraction = parse_batch(batch)
        if fraction is not None:
            batch_fraction = fraction
    preset = dict(PRESETS[model])
    classifier = preset.pop("model")
    ids = _parse_ids(prior_ids) if prior_ids is not None else None
    data = load_labelled_csv(file, label_column)

    def run() -> SimulationResult:
        return simulate(
            data, model=classifier, seeds=range(seeds), batch_fraction=batch_fraction,
            batch_size=batch_size, prior_ids=ids, prior_relevant=prior_relevant,
            prior_irrelevant=prior_irrelevant, ranker_options=preset, stop_target=stop_target,
            stop_confidence=stop_confidence, stop_run=stop_run, estimate_sample=estimate_sample,
            stop_sample=stop_sample, stop_late=switch,
        )

    if as_json:
        result = run()
    else:
        console = Console(stderr=True)
        with console.status(f"simulating {data.n} records x {seeds} seed(s) with {model}"):
            result = run()
    if plot is not None:
        plot_recall_curve(result, plot, model_name=model)
    if orders is not None:
        result.write_orders(orders)
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    table = Table(title=f"{file.name} ({label_column}, model {model}, {seeds} seed(s))")
    table.add_column("records", justify="right")
    table.add_column("included", justify="right")
    table.add_column("WSS@95", justify="right")
    table.add_column("WSS@100", justify="right")
    table.add_column("RRF@10", justify="right")
    table.add_column("ERF@10", justify="right")
    table.add_column("ATD", justify="right")
    m = result.metrics
    table.add_row(
        str(result.n),
        str(result.n_included),
        f"{result.wss95:.3f}",
        f"{result.wss100:.3f}",
        f"{100 * result.rrf10:.1f}%",
        f"{100 * m['erf']['10']:.1f}%",
        f"{m['atd']:.1f}",
    )
    out = Console()
    out.print(table)
    recalls = ", ".join(f"{k}% {100 * v:.1f}%" for k, v in m["recall"].items())
    out.print(f"recall after screening {recalls} (after {result.n_priors} prior records)")
    for rule, stop in result.stopping.items():
        settings = ", ".join(f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}"
                             for k, v in stop["settings"].items())
        out.print(
            f"stopping rule {rule} ({settings}): stops after {stop['stopped_at']:.0f} records, "
            f"recall {100 * stop['recall']:.1f}% (lowest seed {100 * stop['min_recall']:.1f}%), "
            f"work saved {100 * stop['work_saved']:.1f}%"
            + (" (the sample's reading counted)" if rule == "sample" else "")
            + (f" (switched to random order after {stop['switched_at']:.0f} records; the draws "
               "counted)" if rule == "late-sample" else "")
            + (" (a heuristic: no recall guarantee)" if rule == "irrelevant-run" else "")
        )
    for at, est in result.remaining.items():
        model_text = "" if est["model"] is None else (
            f", ranker's extrapolation {est['model']:.1f} (error {est['model_abs_error']:.1f})"
        )
        out.print(
            f"relevant left at {at}% screened: {est['truth']:.1f}; random sample of "
            f"{est['sampled']:.0f}: {est['sample']:.1f} (error {est['sample_abs_error']:.1f}, "
            f"95% interval held the truth in {100 * est['coverage']:.0f}% of seeds)"
            + model_text
        )
    if len(result.per_seed) > 1:
        per = ", ".join(f"{s['wss95']:.3f}" for s in result.per_seed)
        out.print(f"WSS@95 per seed: {per}")
    if plot is not None:
        out.print(f"recall curve written to {plot}")
    if orders is not None:
        out.print(f"screening orders written to {orders}")
