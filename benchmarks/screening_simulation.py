"""Simulated screening on the nine Cohen (2006) drug class review sets: WSS@95, WSS@100, RRF@10.

For every file, both label levels (``label1`` title/abstract, ``label2`` full text) and every
ranker preset (``--models``: names of metareview.screening.ranking.PRESETS, default the shipped
``default`` and the ranker before issue 11, ``legacy``), replays a reviewer reading in the
ranker's order from one random relevant and one random irrelevant prior (per seed), and averages
the metrics over the seeds. Also reports how far the ranker's estimate of relevant records left
is from the truth at 25% and 50% screened (best preset), and writes the table as Markdown and
JSON.

With ``--orders DIR`` the default preset's orders are read from (and missing ones appended to)
``DIR/FILE_LABEL.csv`` (``seed, rank, row, label``), the cache benchmarks/screening_stopping.py
writes with the same protocol, so the two benchmarks score the same replays.

Usage (from the project root; about 10 minutes of CPU per preset)::

    nice -n 10 .venv/bin/python benchmarks/screening_simulation.py \\
        [--data ../shared/data/screening-cohen2006] [--seeds 5] [--models default,legacy] \\
        [--batch-fraction 0.02] [--out benchmarks/results] [--orders DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedKFold

from metareview.screening.ranking import DEFAULT_PRESET, PRESETS, Ranker
from metareview.screening.simulation import (
    DEFAULT_BATCH_FRACTION,
    load_labelled_csv,
    rrf,
    simulate_order,
    wss,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screening_stopping import orders_for  # the order cache of that benchmark

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("label1", "label2")


def ranker_commit() -> str:
    """The last commit that changed the ranker (ranking.py), and HEAD."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                                  text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    ranking = git("log", "-1", "--format=%h", "--", "src/metareview/screening/ranking.py")
    return f"ranking.py at {ranking}, HEAD {git('rev-parse', '--short', 'HEAD')}"


def _estimate_error(
    ranker: Ranker, labels: np.ndarray, priors: np.ndarray, order: np.ndarray, frac: float
) -> tuple[float, int]:
    """Estimate of relevant left after reading ``frac`` of the records, and the truth."""
    full = np.concatenate([priors, order])
    k = int(frac * len(full))
    known = np.full(len(full), -1, dtype=np.int8)
    known[full[:k]] = labels[full[:k]]
    ranker._fit_labels(known)
    estimate = ranker.estimate_remaining_relevant(history=full[:k])
    return estimate, int(labels[full[k:]].sum())


def _cross_validated_wss(ranker: Ranker, labels: np.ndarray) -> float:
    """WSS@95 of a 5-fold cross-validated ranking: each fold scored by a model trained on the
    other four (all their labels known). A reference for what the classifier can reach with
    most labels known, not an active-learning result."""
    scores = np.zeros(len(labels))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in folds.split(np.zeros(len(labels)), labels):
        known = np.full(len(labels), -1, dtype=np.int8)
        known[train] = labels[train]
        ranker._fit_labels(known)
        scores[test] = ranker.probabilities[test]
    return wss(labels[np.argsort(-scores, kind="stable")], 0.95)


def run(
    data_dir: Path, seeds: list[int], models: list[str], batch_fraction: float,
    orders: Path | None = None,
) -> dict[str, Any]:
    load_start = [round(v, 2) for v in os.getloadavg()]
    files = sorted(data_dir.glob("*.csv"))
    if not files:
        sys.exit(f"no CSV files in {data_dir}")
    rows: list[dict[str, Any]] = []
    estimates: list[dict[str, Any]] = []
    for path in files:
        for label in LABELS:
            data = load_labelled_csv(path, label)
            for model in models:
                ranker = Ranker.from_preset(model, seed=seeds[0])
                ranker._set_corpus(data.records)  # the features (simulate_order keeps them)
                started = time.perf_counter()
                per_seed = []
                cached = None
                if (orders is not None and model == DEFAULT_PRESET
                        and batch_fraction == DEFAULT_BATCH_FRACTION):
                    orders.mkdir(parents=True, exist_ok=True)
                    cached = orders_for(data, seeds, orders / f"{path.stem}_{label}.csv")
                for seed in seeds:
                    if cached is not None:
                        priors, order = cached[seed][:2], cached[seed][2:]
                    else:
                        priors, order = simulate_order(
                            data.records,
                            data.labels,
                            seed=seed,
                            batch_fraction=batch_fraction,
                            ranker=ranker,
                        )
                    y = data.labels[order]
                    per_seed.append(
                        {
                            "seed": seed,
                            "wss95": wss(y, 0.95),
                            "wss100": wss(y, 1.0),
                            "rrf10": rrf(y, 0.10),
                        }
                    )
                    for frac in (0.25, 0.50):
                        est, truth = _estimate_error(ranker, data.labels, priors, order, frac)
                        estimates.append(
                            {
                                "file": path.name,
                                "label": label,
                                "model": model,
                                "seed": seed,
                                "screened": frac,
                                "estimate": est,
                                "truth": truth,
                            }
                        )
                seconds = time.perf_counter() - started
                row: dict[str, Any] = {
                    "file": path.name,
                    "label": label,
                    "model": model,
                    "n": data.n,
                    "n_included": data.n_included,
                    "wss95": float(np.mean([s["wss95"] for s in per_seed])),
                    "wss95_sd": float(np.std([s["wss95"] for s in per_seed], ddof=1))
                    if len(seeds) > 1
                    else 0.0,
                    "wss100": float(np.mean([s["wss100"] for s in per_seed])),
                    "rrf10": float(np.mean([s["rrf10"] for s in per_seed])),
                    "wss95_cv5": _cross_validated_wss(ranker, data.labels),
                    "seconds": seconds,
                    "per_seed": per_seed,
                }
                rows.append(row)
                print(
                    f"{path.name:28s} {label} {model:7s} n={data.n:5d} inc={data.n_included:4d} "
                    f"WSS@95={row['wss95']:.3f} WSS@100={row['wss100']:.3f} "
                    f"RRF@10={100 * row['rrf10']:.1f}%  ({seconds:.1f} s)",
                    flush=True,
                )
    averages = {
        label: {
            model: {
                key: float(
                    np.mean([r[key] for r in rows if r["label"] == label and r["model"] == model])
                )
                for key in ("wss95", "wss100", "rrf10", "wss95_cv5")
            }
            for model in models
        }
        for label in LABELS
    }
    best = max(models, key=lambda m: np.mean([averages[lb][m]["wss95"] for lb in LABELS]))
    return {
        "settings": {
            "ranker_commit": ranker_commit(),
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
            "load_average_start": load_start,
            "data": str(data_dir),
            "seeds": seeds,
            "models": models,
            "batch_fraction": batch_fraction,
            "priors": "one random relevant + one random irrelevant record per seed; excluded "
            "from the evaluated order (ASReview Insights priors=False)",
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "machine": platform.machine(),
        },
        "rows": rows,
        "averages": averages,
        "best_on_average_wss95": best,
        "estimates": estimates,
    }


def _markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    models = s["models"]
    out = [
        "# Screening simulation on the Cohen (2006) drug class review sets",
        "",
        "Produced by `benchmarks/screening_simulation.py` "
        f"(seeds {', '.join(map(str, s['seeds']))}; retraining batch fraction "
        f"{s['batch_fraction']}; scikit-learn {s['scikit-learn']}, Python {s['python']}; "
        f"presets {', '.join(models)}, {s['ranker_commit']}; niced on 2 CPUs shared with other "
        f"work, load average {s['load_average_start'][0]:g} at the start and "
        f"{s['load_average_end'][0]:g} at the end).",
        "",
        "WSS@r = (N - k_r)/N - (1 - r), k_r the records read when recall first reaches r "
        "(Cohen et al. 2006); RRF@10 = recall after reading 10% of the records (ASReview "
        "Insights). Priors (one random relevant, one random irrelevant per seed) are excluded "
        "from the evaluated order, as ASReview Insights does by default. Mean over seeds; "
        "sd = standard deviation of WSS@95 over seeds. The last column is a reference, not active "
        "learning: WSS@95 of a 5-fold cross-validated ranking (each fifth of the records scored "
        "by the same classifier trained on the labels of the other four fifths).",
        "",
    ]
    for label in LABELS:
        out += [
            f"## {label} ({'title/abstract' if label == 'label1' else 'full-text'} inclusions)",
            "",
            "| file | N | included | model | WSS@95 (sd) | WSS@100 | RRF@10 | WSS@95 5-fold CV |",
            "|---|---:|---:|---|---:|---:|---:|---:|",
        ]
        for r in result["rows"]:
            if r["label"] != label:
                continue
            out.append(
                f"| {r['file']} | {r['n']} | {r['n_included']} | {r['model']} | "
                f"{r['wss95']:.3f} ({r['wss95_sd']:.3f}) | {r['wss100']:.3f} | "
                f"{100 * r['rrf10']:.1f}% | {r['wss95_cv5']:.3f} |"
            )
        out += [
            "",
            f"Average over the {len({r['file'] for r in result['rows']})} files ({label}):",
            "",
            "| model | WSS@95 | WSS@100 | RRF@10 | WSS@95 5-fold CV |",
            "|---|---:|---:|---:|---:|",
        ]
        for m in models:
            a = result["averages"][label][m]
            out.append(
                f"| {m} | {a['wss95']:.3f} | {a['wss100']:.3f} | {100 * a['rrf10']:.1f}% "
                f"| {a['wss95_cv5']:.3f} |"
            )
        out.append("")
    out += [
        f"Best model on WSS@95 averaged over files and both label levels: "
        f"**{result['best_on_average_wss95']}**.",
        "",
    ]
    best = result["best_on_average_wss95"]
    est = [e for e in result["estimates"] if e["model"] == best]
    if est:
        out += [
            f"## Estimate of relevant records left ({best}; mean over seeds)",
            "",
            "| file | label | screened | estimate | truth |",
            "|---|---|---:|---:|---:|",
        ]
        keys = sorted({(e["file"], e["label"], e["screened"]) for e in est})
        abs_err: dict[float, list[float]] = {0.25: [], 0.50: []}
        for f, lb, frac in keys:
            sel = [e for e in est if (e["file"], e["label"], e["screened"]) == (f, lb, frac)]
            m_est = float(np.mean([e["estimate"] for e in sel]))
            m_true = float(np.mean([e["truth"] for e in sel]))
            abs_err[frac].extend(abs(e["estimate"] - e["truth"]) for e in sel)
            out.append(f"| {f} | {lb} | {int(frac * 100)}% | {m_est:.1f} | {m_true:.1f} |")
        out += [
            "",
            "Median absolute error: "
            + ", ".join(
                f"{np.median(v):.1f} records at {int(k * 100)}% screened"
                for k, v in abs_err.items()
            ),
            "",
        ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/data/screening-cohen2006"
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default=f"{DEFAULT_PRESET},legacy",
                        help=f"ranker presets: {', '.join(PRESETS)}")
    parser.add_argument("--orders", type=Path, default=None,
                        help="order cache of the default preset (screening_stopping.py's)")
    parser.add_argument("--batch-fraction", type=float, default=DEFAULT_BATCH_FRACTION)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    parser.add_argument("--name", default="screening_simulation")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in PRESETS]
    if unknown:
        sys.exit(f"unknown preset {unknown[0]!r}; choose from {', '.join(PRESETS)}")
    result = run(args.data, list(range(args.seeds)), models, args.batch_fraction, args.orders)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    md = _markdown(result)
    (args.out / f"{args.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
