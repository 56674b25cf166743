"""Stopping rules on the Cohen (2006) sets: recall reached and work saved when each says stop.

For every file, label level and seed, replays a reviewer reading in the default ranker's order
(one random relevant and one random irrelevant prior, 2% growing retraining batch) and writes
the order to ``ORDERS/FILE_LABEL.csv`` (``seed, rank, row, label``, as ``simulate --orders``);
orders already there are reused, so the rules can be rescored without simulating again.

Prints one Markdown row per (file, label level, rule): mean recall at stop over the seeds, the
lowest seed's recall, how many seeds fell below the target, and the mean work saved
(1 - records read / N). Rules: the hypergeometric test of Callaghan & Müller-Hansen (Syst Rev
2020;9:273; target 0.95, confidence 0.95) on the ranked tail, 50 irrelevant records in a row,
and the random-sample rule (metareview.screening.stopping) for each size of ``--stop-samples``
(records, or a percentage of the records after the priors): the reviewer reads the priors, the
sample, then the ranked order learnt from both (metareview.screening.simulation.sample_rule_stop,
replayed only as far as the rule needs); its work saved counts the sample as read. The
late-drawn sample rule (Callaghan & Müller-Hansen's design, metareview.screening.stopping.
late_sample_stop) for each switch rule of ``--late-switches``: the ranked order until the
switch fires, then the unscreened records in a random order (seeded by the seed), tested after
each draw; it needs only the saved order before the switch. The irrelevant-run heuristic for
each run of ``--runs`` (records, or a share of N). Only the defaults get per-file rows unless
``--all-rows``. Then a summary over every file, label level and seed per rule, and the
leave-one-review-out choice of the run and of the switch rule (``choose``: mean recall at stop
at or above the target on every file x label pair of the other eight files and at most
1 - confidence of their runs below it, then the most work saved), scored on the file left out.

Then the estimates of relevant records left at 10%, 25% and 50% screened, along the same
orders (metareview.screening.simulation.remaining_estimates): the ranker's extrapolation and a
simple random sample of 50 or 100 unscreened records with its exact 95% interval
(metareview.screening.remaining); median absolute error over every file, label and seed, and
the interval's coverage.

Usage::

    nice -n 10 .venv/bin/python benchmarks/screening_stopping.py --seeds 3 \\
        [--orders benchmarks/results/screening_stopping_orders] [FILE ...] \\
        [--data ../shared/data/screening-cohen2006] [--stop-samples 100,50%] \\
        [--runs 50,100,5%] [--late-switches run:50,screened:50%] [--all-rows]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from metareview.screening.ranking import Ranker
from metareview.screening.simulation import (
    ESTIMATE_AT,
    LabelledSet,
    load_labelled_csv,
    remaining_estimates,
    sample_rule_stop,
    simulate_order,
)
from metareview.screening.stopping import (
    DEFAULT_RUN,
    DEFAULT_SWITCH,
    first_stop,
    late_sample_stop,
    parse_switch,
)

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("label1", "label2")
FILES = (
    "ADHD", "Antihistamines", "AtypicalAntipsychotics", "CalciumChannelBlockers", "Estrogens",
    "NSAIDS", "OralHypoglycemics", "Triptans", "UrinaryIncontinence",
)
TARGET = 0.95
CONFIDENCE = 0.95
RUN = DEFAULT_RUN
#: Candidates for the leave-one-review-out choices (``--runs``, ``--late-switches``).
RUN_GRID = "50,75,100,150,200,300,1%,2%,3%,5%,7.5%,10%,15%,20%"
SWITCH_GRID = ("run:25,run:50,run:100,run:150,run:200,run:1%,run:2%,run:3%,run:5%,run:10%,"
               "run:15%,run:20%,screened:10%,screened:20%,screened:30%,screened:40%,"
               "screened:50%,screened:60%,screened:70%,screened:80%,"
               "run:50 or screened:40%,run:50 or screened:50%,run:50 or screened:60%,"
               "run:100 or screened:50%,run:100 or screened:60%,run:5% or screened:50%,"
               "run:5% or screened:60%,run:10% or screened:50%,run:10% or screened:60%")


def read_orders(path: Path) -> dict[int, NDArray[np.intp]]:
    """``seed -> order`` (0-based rows, priors first) from a ``seed, rank, row, label`` CSV."""
    rows: dict[int, list[tuple[int, int]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(int(r["seed"]), []).append((int(r["rank"]), int(r["row"])))
    return {s: np.array([row for _, row in sorted(v)], dtype=np.intp) for s, v in rows.items()}


def orders_for(
    data: LabelledSet, seeds: list[int], path: Path
) -> dict[int, NDArray[np.intp]]:
    """Each seed's whole reading order, simulated (and appended to ``path``) when not cached."""
    have = read_orders(path) if path.exists() else {}
    missing = [s for s in seeds if s not in have]
    if missing:
        new_file = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new_file:
                writer.writerow(["seed", "rank", "row", "label"])
            for seed in missing:
                started = time.perf_counter()
                priors, order = simulate_order(data.records, data.labels, seed=seed)
                full = np.concatenate([priors, order])
                for rank, row in enumerate(full, start=1):
                    writer.writerow([seed, rank, int(row), int(data.labels[row])])
                fh.flush()
                have[seed] = full
                print(f"# simulated {path.stem} seed {seed} "
                      f"({time.perf_counter() - started:.1f} s)", flush=True)
    return {s: have[s] for s in seeds}


def sample_size(spec: str, data: LabelledSet, n_priors: int) -> int:
    """``100`` records, or ``50%`` of the records after the priors."""
    if spec.endswith("%"):
        return max(1, round(float(spec[:-1]) / 100 * (data.n - n_priors)))
    return int(spec)


def _shown(rule: str, spec: str) -> str:
    return rule if not spec else f"{rule} ({spec})"


def stopping_rows(
    name: str, label: str, data: LabelledSet, orders: dict[int, NDArray[np.intp]],
    samples: list[str], runs: list[dict[str, object]], *, run_lengths: list[str],
    switches: list[str], show: set[str] | None = None,
) -> list[str]:
    """Markdown rows: each rule's recall at stop and work saved over the seeds (each run is
    also appended to ``runs`` for the summary and the leave-one-review-out choice). Only the
    rules in ``show`` (all when None) get a row; every rule is scored."""
    out = []
    rules = ([("hypergeometric", "")] + [("irrelevant-run", r) for r in run_lengths]
             + [("late-sample", w) for w in switches] + [("sample", s) for s in samples])
    for rule, spec in rules:
        recalls, saved, stopped = [], [], []
        for seed, order in orders.items():
            y = data.labels[order]
            if rule == "sample":
                size = sample_size(spec, data, 2)
                res = sample_rule_stop(data, order[:2], size, seed=seed, target=TARGET,
                                       confidence=CONFIDENCE)
                recall, work, done = res["recall"], res["work_saved"], res["stopped"]
            elif rule == "late-sample":
                res = late_sample_stop(y, spec, seed=seed, target=TARGET, confidence=CONFIDENCE)
                recall, work, done = res["recall"], res["work_saved"], res["stopped"]
            else:
                k = first_stop(y, rule, target=TARGET, confidence=CONFIDENCE, run=spec or RUN,
                               check_every=max(1, data.n // 500))
                read = data.n if k is None else k
                recall, work, done = float(y[:read].sum() / y.sum()), 1.0 - read / data.n, k
            recalls.append(float(recall))
            saved.append(float(work))
            stopped.append(done is not None and done is not False)
            runs.append({"rule": _shown(rule, spec), "file": name, "label": label,
                         "seed": seed, "recall": recall, "work_saved": work,
                         "stopped": stopped[-1]})
        below = sum(r < TARGET for r in recalls)
        shown = _shown(rule, spec)
        if show is not None and shown not in show:
            continue
        out.append(
            f"| {name} | {label} | {shown} | {100 * np.mean(recalls):.1f}% | "
            f"{100 * min(recalls):.1f}% | {below}/{len(recalls)} | {100 * np.mean(saved):.1f}% | "
            f"{sum(stopped)}/{len(stopped)} |"
        )
    return out


def late_null_stops(y: NDArray[np.integer[Any]], replays: int) -> tuple[int, int]:
    """(1, stops below the target over ``replays`` random orders after the default switch) when
    recall at the switch is below the target, the test's null hypothesis being true; else
    (0, 0). Seeds 1000, 1001, ... of :func:`late_sample_stop`."""
    k0 = parse_switch(DEFAULT_SWITCH).point(y, len(y))
    if k0 is None or y[:k0].sum() >= TARGET * y.sum():
        return 0, 0
    below = sum(late_sample_stop(y, DEFAULT_SWITCH, seed=1000 + r, target=TARGET,
                                 confidence=CONFIDENCE)["recall"] < TARGET
                for r in range(replays))  # fmt: skip
    return 1, int(below)


def summary_table(runs: list[dict[str, object]]) -> str:
    """Markdown: per rule, over every file, label level and seed."""
    out = ["| rule | runs | mean recall at stop | lowest | runs below 95% | mean work saved | "
           "runs where it said stop | file x label pairs with mean recall below 95% |",
           "|---|---|---|---|---|---|---|---|"]
    for rule in dict.fromkeys(str(r["rule"]) for r in runs):
        sel = [r for r in runs if r["rule"] == rule]
        rec = np.array([float(r["recall"]) for r in sel])  # type: ignore[arg-type]
        work = np.array([float(r["work_saved"]) for r in sel])  # type: ignore[arg-type]
        out.append(f"| {rule} | {len(sel)} | {100 * rec.mean():.1f}% | {100 * rec.min():.1f}% | "
                   f"{int((rec < TARGET).sum())} | {100 * work.mean():.1f}% | "
                   f"{sum(bool(r['stopped']) for r in sel)} | {len(_short_pairs(sel))} |")
    return "\n".join(out)


def _short_pairs(sel: list[dict[str, object]]) -> list[tuple[str, str]]:
    """(file, label) pairs whose mean recall at stop falls below the target."""
    pairs: dict[tuple[str, str], list[float]] = {}
    for r in sel:
        pairs.setdefault((str(r["file"]), str(r["label"])), []).append(
            float(r["recall"]))  # type: ignore[arg-type]
    return [k for k, v in pairs.items() if np.mean(v) < TARGET]


def choose(runs: list[dict[str, object]], candidates: list[str]) -> str:
    """The fixed criterion: among ``candidates`` (rule names as in ``runs``), those whose mean
    recall at stop reaches the target on every file x label pair and that fall below it in at
    most ``1 - CONFIDENCE`` of the runs; of those the one saving the most work on average.
    When none qualifies: the fewest pairs short of the target, then the fewest runs below it,
    then the most work saved."""
    def key(c: str) -> tuple[float, ...]:
        sel = [r for r in runs if r["rule"] == c]
        rec = np.array([float(r["recall"]) for r in sel])  # type: ignore[arg-type]
        work = float(np.mean([float(r["work_saved"]) for r in sel]))  # type: ignore[arg-type]
        short = len(_short_pairs(sel))
        share = float((rec < TARGET).mean())
        if short == 0 and share <= 1.0 - CONFIDENCE + 1e-12:
            return (1.0, 0.0, 0.0, work)
        return (0.0, -short, -share, work)
    return max(candidates, key=key)


def loo_table(runs: list[dict[str, object]], candidates: list[str], title: str) -> tuple[str, str]:
    """Leave-one-review-out: for each file, the candidate :func:`choose` picks on the other
    eight files (both label levels, every seed), scored on the file left out. Returns the
    Markdown table and the choice on all nine files."""
    files = list(dict.fromkeys(str(r["file"]) for r in runs))
    out = [f"| left out | {title} chosen on the other files | recall at stop (mean, both "
           "levels) | lowest | runs below 95% | work saved |", "|---|---|---|---|---|---|"]
    for f in files:
        train = [r for r in runs if r["file"] != f]
        pick = choose(train, candidates)
        held = [r for r in runs if r["file"] == f and r["rule"] == pick]
        rec = np.array([float(r["recall"]) for r in held])  # type: ignore[arg-type]
        work = np.mean([float(r["work_saved"]) for r in held])  # type: ignore[arg-type]
        out.append(f"| {f} | {pick} | {100 * rec.mean():.1f}% | {100 * rec.min():.1f}% | "
                   f"{int((rec < TARGET).sum())}/{len(rec)} | {100 * work:.1f}% |")
    return "\n".join(out), choose(runs, candidates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(FILES))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..n-1")
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared/data/screening-cohen2006")
    parser.add_argument("--orders", type=Path,
                        default=ROOT / "benchmarks/results/screening_stopping_orders")
    parser.add_argument("--stop-samples", default="100",
                        help="sample rule sizes, comma-separated: records or N%% of them")
    parser.add_argument("--no-estimates", action="store_true",
                        help="skip the estimates of relevant records left")
    parser.add_argument("--runs", default=RUN_GRID,
                        help="irrelevant-run lengths to score, comma-separated: records or N%% "
                        "of the records (the default is chosen among them by LOO)")
    parser.add_argument("--late-switches", default=SWITCH_GRID,
                        help="switch rules of the late-drawn sample rule to score (run:N, "
                        "run:X%%, screened:X%%; the default is chosen among them by LOO)")
    parser.add_argument("--late-mc", type=int, default=0, metavar="R",
                        help="for the default switch: in the runs whose recall at the switch is "
                        "below the target (where the test's null is true), replay R random "
                        "orders after the switch and count the stops below the target")
    parser.add_argument("--all-rows", action="store_true",
                        help="a per-file row for every candidate, not only the defaults")
    args = parser.parse_args(argv)
    args.orders.mkdir(parents=True, exist_ok=True)
    seeds = list(range(args.seeds))
    samples = [t for t in args.stop_samples.replace(" ", "").split(",") if t]
    run_lengths = [t for t in args.runs.replace(" ", "").split(",") if t]
    switches = [t.strip() for t in args.late_switches.split(",") if t.strip()]
    show = None if args.all_rows else (
        {"hypergeometric", _shown("irrelevant-run", str(RUN)), "irrelevant-run (50)",
         _shown("late-sample", DEFAULT_SWITCH)} | {_shown("sample", t) for t in samples})
    started = time.perf_counter()
    print("| file | label | rule | recall at stop (mean) | lowest seed | seeds below 95% | "
          "work saved | seeds it said stop |")
    print("|---|---|---|---|---|---|---|---|")
    runs: list[dict[str, object]] = []
    null_runs = null_stops = 0
    estimates: list[dict[str, object]] = []
    alternatives: list[dict[str, float]] = []
    for f in args.files:
        for label in LABELS:
            data = load_labelled_csv(args.data / f"{f}.csv", label)
            orders = orders_for(data, seeds, args.orders / f"{f}_{label}.csv")
            for line in stopping_rows(f, label, data, orders, samples, runs,
                                      run_lengths=run_lengths, switches=switches, show=show):
                print(line, flush=True)
            for order in orders.values():
                if args.late_mc < 1:
                    break
                h, b = late_null_stops(data.labels[order], args.late_mc)
                null_runs, null_stops = null_runs + h, null_stops + b
            if args.no_estimates:
                continue
            ranker = Ranker(seed=0)
            for seed, order in orders.items():
                alternatives.extend(model_alternatives(data, order, ranker))
                for size in SAMPLES:
                    for row in remaining_estimates(data.records, data.labels, order,
                                                   ranker=ranker, seed=seed, sample_size=size):
                        estimates.append({"file": f, "label": label, "seed": seed,
                                          "size": size, **row})
    print()
    print(summary_table(runs))
    for rule, grid, title in (("irrelevant-run", run_lengths, "run"),
                              ("late-sample", switches, "switch rule")):
        cands = [_shown(rule, g) for g in grid]
        if len(cands) > 1 and len(args.files) > 1:
            table, pick = loo_table(runs, cands, title)
            print(f"\n{rule}: leave-one-review-out choice of the {title} (criterion: mean recall "
                  f"at stop >= {TARGET:g} on every file x label pair of the other files and at "
                  f"most {100 * (1 - CONFIDENCE):g}% of their runs below it, then the most work "
                  f"saved)\n")
            print(table)
            print(f"\n{rule}: chosen on all files: {pick}")
    if args.late_mc > 0:
        share = null_stops / max(1, null_runs * args.late_mc)
        print(f"\nlate-sample ({DEFAULT_SWITCH}): {null_runs} runs with recall below "
              f"{TARGET:g} at the switch; over {args.late_mc} random orders after the switch "
              f"each, it stopped below the target in {null_stops} of "
              f"{null_runs * args.late_mc} ({100 * share:.1f}%; nominal at most "
              f"{100 * (1 - CONFIDENCE):g}%)")
    print(f"\n# {time.perf_counter() - started:.0f} s", flush=True)
    if args.no_estimates:
        return 0
    print()
    print(estimate_table(estimates))
    print()
    print("| screened | Quant: median abs error (median error), normal 95% interval coverage | "
          "EM prior-adjusted: median abs error (median error) |")
    print("|---|---|---|")
    for frac in ESTIMATE_AT:
        sel = [a for a in alternatives if a["screened"] == frac]
        t = np.array([a["truth"] for a in sel])
        q = np.array([a["quant"] for a in sel])
        e = np.array([a["em"] for a in sel])
        cov = np.mean([abs(a["quant"] - a["truth"]) <= 1.96 * a["quant_sd"] for a in sel])
        print(f"| {100 * frac:g}% | {np.median(np.abs(q - t)):.1f} ({np.median(q - t):+.1f}), "
              f"{100 * cov:.0f}% | {np.median(np.abs(e - t)):.1f} ({np.median(e - t):+.1f}) |")
    return 0


def _em_prior(p: NDArray[np.float64], prior: float, iters: int = 500) -> NDArray[np.float64]:
    """Saerens et al. (2002): posteriors ``p`` (trained at prior ``prior``) re-weighted to the
    prior of the records they are applied to, found by EM."""
    pi = float(p.mean())
    q = p
    for _ in range(iters):
        a = (pi / prior) * p
        q = a / (a + ((1 - pi) / (1 - prior)) * (1 - p))
        new = float(q.mean())
        if abs(new - pi) < 1e-10:
            break
        pi = new
    return q


def model_alternatives(
    data: LabelledSet, order: NDArray[np.intp], ranker: Ranker
) -> list[dict[str, float]]:
    """Quant and its EM prior adjustment at each fraction of ``ESTIMATE_AT`` along ``order``."""
    ranker._set_corpus(data.records)
    features = ranker._features
    assert features is not None
    out = []
    for frac in ESTIMATE_AT:
        k = int(frac * data.n)
        read, left = order[:k], order[k:]
        y = data.labels[read]
        lr = LogisticRegression(C=1.0, solver="liblinear", max_iter=1000).fit(features[read], y)
        p = lr.predict_proba(features[left])[:, 1]
        out.append({"screened": frac, "truth": float(data.labels[left].sum()),
                    "quant": float(p.sum()), "quant_sd": float(np.sqrt((p * (1 - p)).sum())),
                    "em": float(_em_prior(p, float(y.mean())).sum())})
    return out


SAMPLES = (50, 100)


def estimate_table(rows: list[dict[str, object]]) -> str:
    """Markdown: per fraction screened, the median absolute error of each estimate of the
    relevant records left (and its median signed error), and the random-sample interval's
    coverage."""
    out = ["| screened | runs | relevant left (median) | ranker's extrapolation: median abs "
           "error (median error) | " + " | ".join(
               f"random sample of {s}: median abs error, 95% interval coverage" for s in SAMPLES)
           + " |", "|---|---|---|---|" + "---|" * len(SAMPLES)]
    for frac in ESTIMATE_AT:
        base = [r for r in rows if r["screened"] == frac and r["size"] == SAMPLES[0]]
        truth = np.array([float(r["truth"]) for r in base])  # type: ignore[arg-type]
        model = np.array([np.nan if r["model"] is None else float(r["model"])  # type: ignore[arg-type]
                          for r in base])
        cells = [f"{100 * frac:g}%", str(len(base)), f"{np.median(truth):.0f}",
                 f"{np.nanmedian(np.abs(model - truth)):.1f} ({np.nanmedian(model - truth):+.1f})"]
        for size in SAMPLES:
            sel = [r for r in rows if r["screened"] == frac and r["size"] == size]
            est = np.array([float(r["sample"]) for r in sel])  # type: ignore[arg-type]
            t = np.array([float(r["truth"]) for r in sel])  # type: ignore[arg-type]
            cov = np.mean([bool(r["covered"]) for r in sel])
            cells.append(f"{np.median(np.abs(est - t)):.1f}, {100 * cov:.0f}%")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
