"""Latency from a screening decision to the next record on a 5,000-record project.

Takes the first 5,000 records of the Cohen (2006) sets (files in name order, real titles,
abstracts and MeSH terms, ``label1``), and replays decisions at several stages of screening
(50, 500, 1,500 and 3,000 records labelled). After each decision it times what the screener
does: ``Ranker.fit(records, labels)`` (features are cached, so this compares the records'
text with the cached corpus and retrains), ``Ranker.rank()`` and reading the first record of
the order, and, separately, ``estimate_remaining_relevant()``. Prints median and 95th
percentile per ranker preset (``--models``: names of metareview.screening.ranking.PRESETS,
default the shipped ``default`` and the ranker before issue 11, ``legacy``); the goal is under
200 ms.

Usage (from the project root)::

    nice -n 10 .venv/bin/python benchmarks/screening_latency.py [--records 5000] \\
        [--decisions 40] [--models default,legacy] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from metareview.screening.ranking import DEFAULT_PRESET, PRESETS, Ranker
from metareview.screening.simulation import load_labelled_csv

ROOT = Path(__file__).resolve().parents[1]
STAGES = (50, 500, 1500, 3000)


def _load(data_dir: Path, n: int) -> tuple[list[dict[str, str]], np.ndarray]:
    records: list[dict[str, str]] = []
    labels: list[np.ndarray] = []
    for path in sorted(data_dir.glob("*.csv")):
        data = load_labelled_csv(path, "label1")
        records.extend(data.records)
        labels.append(data.labels)
    y = np.concatenate(labels)
    if len(records) < n:
        raise SystemExit(f"only {len(records)} records in {data_dir}")
    return records[:n], y[:n]


def run(data_dir: Path, n: int, decisions: int, models: list[str]) -> dict[str, Any]:
    records, truth = _load(data_dir, n)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {
        "records": n,
        "decisions_per_stage": decisions,
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "cpus": os.cpu_count(),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "ranker_commit": subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--",
             "src/metareview/screening/ranking.py"], capture_output=True, text=True,
        ).stdout.strip() or "unknown",
        "models": {},
    }
    for model in models:
        ranker = Ranker.from_preset(model, seed=0)
        labels = np.full(n, -1, dtype=np.int8)
        start = time.perf_counter()
        ranker.fit(records, labels)
        first_fit = time.perf_counter() - start
        next_times: list[float] = []
        estimate_times: list[float] = []
        for stage in STAGES:
            labels[:] = -1
            seen = rng.choice(n, size=stage, replace=False)
            labels[seen] = truth[seen]
            # make sure both classes are present, as after the priors
            labels[np.flatnonzero(truth == 1)[0]] = 1
            labels[np.flatnonzero(truth == 0)[0]] = 0
            ranker.fit(records, labels)
            for _ in range(decisions):
                t0 = time.perf_counter()
                ranker.fit(records, labels)
                nxt = int(ranker.rank().order[0])
                t1 = time.perf_counter()
                ranker.estimate_remaining_relevant()
                t2 = time.perf_counter()
                next_times.append(t1 - t0)
                estimate_times.append(t2 - t1)
                labels[nxt] = truth[nxt]  # the reviewer decides; the loop times the next one
        nt = np.array(next_times) * 1000
        et = np.array(estimate_times) * 1000
        out["models"][model] = {
            "first_fit_with_features_s": first_fit,
            "next_record_ms_median": float(np.median(nt)),
            "next_record_ms_p95": float(np.percentile(nt, 95)),
            "next_record_ms_max": float(nt.max()),
            "estimate_ms_median": float(np.median(et)),
            "estimate_ms_p95": float(np.percentile(et, 95)),
            "n_timed": len(nt),
        }
        m = out["models"][model]
        print(
            f"{model:7s} first fit (TF-IDF of {n} records + train) {first_fit:.2f} s; "
            f"decision -> next record: median {m['next_record_ms_median']:.0f} ms, "
            f"p95 {m['next_record_ms_p95']:.0f} ms, max {m['next_record_ms_max']:.0f} ms "
            f"({len(nt)} decisions); estimate of relevant left: median "
            f"{m['estimate_ms_median']:.0f} ms, p95 {m['estimate_ms_p95']:.0f} ms",
            flush=True,
        )
    out["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/data/screening-cohen2006"
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=40)
    parser.add_argument("--models", default=f"{DEFAULT_PRESET},legacy",
                        help=f"ranker presets: {', '.join(PRESETS)}")
    parser.add_argument(
        "--out", type=Path, default=None, help="also write screening_latency.json and .md here"
    )
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    result = run(args.data, args.records, args.decisions, models)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "screening_latency.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "screening_latency.md").write_text(_markdown(result))


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Screening latency: decision to next record",
        "",
        f"Produced by `benchmarks/screening_latency.py`: {result['records']} real records (Cohen "
        f"2006 sets), {result['decisions_per_stage']} decisions at each of "
        f"{', '.join(map(str, STAGES))} records labelled; Python {result['python']}, "
        f"scikit-learn {result['scikit-learn']}, {result['cpus']} CPUs shared with other work "
        f"(niced; load average {result['load_average_start'][0]:g} at the start, "
        f"{result['load_average_end'][0]:g} at the end); presets "
        f"{', '.join(result['models'])}, ranking.py at {result['ranker_commit']}.",
        "",
        "'next record' = `Ranker.fit(records, labels)` (corpus text check + retraining) "
        "+ `Ranker.rank()`; 'estimate' = `estimate_remaining_relevant()`.",
        "",
        "| model | first fit (TF-IDF + train), s | next record median, ms | p95, ms | max, ms "
        "| estimate median, ms | p95, ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model, m in result["models"].items():
        lines.append(
            f"| {model} | {m['first_fit_with_features_s']:.2f} | "
            f"{m['next_record_ms_median']:.0f} | {m['next_record_ms_p95']:.0f} | "
            f"{m['next_record_ms_max']:.0f} | {m['estimate_ms_median']:.1f} | "
            f"{m['estimate_ms_p95']:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
