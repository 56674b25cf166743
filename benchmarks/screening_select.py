"""Choose the ranker's settings by leave-one-review-out over the nine Cohen (2006) sets.

For every candidate setting (features and class weighting of :class:`Ranker`), every file,
both label levels and every seed, replays a reviewer from one random relevant and one random
irrelevant prior (2% growing retraining batch) and records WSS@95 and recall@10%. Then, for each
held-out review, the setting with the best mean score on the *other eight* reviews is chosen and
evaluated on the held-out one; the score is the mean of WSS@95 and recall@10% (both in [0, 1]).
The per-review spread is printed: which setting each fold chose, its held-out WSS@95 and
recall@10%, and the same for the ranker before issue 11 (``legacy``). Picking by the nine-set
mean alone would reward fit; the held-out figures measure how the choice generalises.

Results are cached per (file, label, setting, seed) as JSON under ``--cache`` so an interrupted
run resumes.

Usage (from the project root; about 8 minutes per seed on one core)::

    nice -n 10 .venv/bin/python benchmarks/screening_select.py \\
        [--data ../shared/data/screening-cohen2006] [--seeds 1] [--labels label1,label2] \\
        [--cache /tmp/screen/select_cache] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from metareview.screening.ranking import PRESETS, Ranker
from metareview.screening.simulation import load_labelled_csv, rrf, simulate_order, wss

ROOT = Path(__file__).resolve().parents[1]


def candidate_settings() -> dict[str, dict[str, Any]]:
    """The grid: 1-2-grams, no stop words, sublinear tf and max_df 0.95 throughout (issue 11);
    the keyword block's weight and the extra weight on relevant records vary (min_df 1, and
    min_df 2 at one point: the grid is small because the machine was shared)."""
    grid: dict[str, dict[str, Any]] = {}
    points = [(1, kw, rel) for kw, rel in itertools.product((0.0, 0.3, 1.0), (1.0, 2.0))]
    for min_df, kw, rel in [*points, (2, 0.3, 1.0)]:
        name = f"df{min_df}-kw{kw:g}-rel{rel:g}"
        grid[name] = {
            "model": "logreg",
            "ngram_max": 2,
            "stop_words": False,
            "max_df": 0.95,
            "min_df": min_df,
            "keyword_weight": kw,
            "relevant_weight": rel,
        }
    grid["legacy"] = dict(PRESETS["legacy"])
    return grid


def run_one(
    data_dir: Path, file: str, label: str, name: str, setting: dict[str, Any], seed: int,
    cache: Path,
) -> dict[str, float]:
    """WSS@95 and recall@10% of one simulation, from the cache when already run."""
    out = cache / f"{file}.{label}.{name}.s{seed}.json"
    if out.exists():
        return dict(json.loads(out.read_text()))
    data = load_labelled_csv(data_dir / f"{file}.csv", label)
    kwargs = dict(setting)
    model = kwargs.pop("model")
    ranker = Ranker(model, seed=seed, **kwargs)
    _, order = simulate_order(data.records, data.labels, seed=seed, ranker=ranker)
    y = data.labels[order]
    result = {"wss95": wss(y, 0.95), "recall10": rrf(y, 0.10)}
    out.write_text(json.dumps(result))
    return result


def loo_objective(table: dict[str, dict[str, tuple[float, float]]], name: str,
                  keep: list[str]) -> float:
    """The selection score of setting ``name`` on reviews ``keep``: the mean over them of
    ``(WSS@95 + recall@10%) / 2`` (``table[name][file] = (wss95, recall10)``)."""
    return float(np.mean([(table[name][f][0] + table[name][f][1]) / 2 for f in keep]))


def loo_choose(table: dict[str, dict[str, tuple[float, float]]], files: list[str],
               candidates: list[str]) -> dict[str, str]:
    """Leave-one-review-out selection: for each held-out review, the candidate with the best
    :func:`loo_objective` on the *other* reviews (ties: the first candidate)."""
    chosen: dict[str, str] = {}
    for held in files:
        keep = [f for f in files if f != held]
        chosen[held] = max(candidates, key=lambda n: loo_objective(table, n, keep))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = ROOT.parent / "shared/data/screening-cohen2006"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--labels", default="label1,label2")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/screen/select_cache"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data folder {args.data}", file=sys.stderr)
        return 2
    args.cache.mkdir(parents=True, exist_ok=True)
    files = sorted(p.stem for p in args.data.glob("*.csv"))
    settings = candidate_settings()
    labels = args.labels.split(",")
    # scores[label][name][file] = mean over seeds of (wss95, recall10)
    scores: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    t0 = time.time()
    for label in labels:
        scores[label] = {}
        for name, setting in settings.items():
            scores[label][name] = {}
            for file in files:
                runs = [
                    run_one(args.data, file, label, name, setting, seed, args.cache)
                    for seed in range(args.seeds)
                ]
                scores[label][name][file] = (
                    float(np.mean([r["wss95"] for r in runs])),
                    float(np.mean([r["recall10"] for r in runs])),
                )
        print(f"[{label}: {time.time() - t0:.0f} s]", file=sys.stderr)

    report: dict[str, Any] = {"seeds": args.seeds, "settings": settings, "labels": {}}
    for label in labels:
        table = scores[label]
        candidates = [n for n in settings if n != "legacy"]
        chosen_for = loo_choose(table, files, candidates)

        print(f"\n## {label}: leave-one-review-out ({args.seeds} seed(s))\n")
        print("| held out | chosen on the other 8 | WSS@95 | recall@10% | legacy WSS@95 | "
              "legacy recall@10% |")
        print("|---|---|---|---|---|---|")
        rows = []
        for held in files:
            chosen = chosen_for[held]
            w, r = table[chosen][held]
            lw, lr = table["legacy"][held]
            rows.append({"held_out": held, "chosen": chosen, "wss95": w, "recall10": r,
                         "legacy_wss95": lw, "legacy_recall10": lr})
            print(f"| {held} | {chosen} | {w:.3f} | {100 * r:.1f}% | {lw:.3f} | {100 * lr:.1f}% |")
        mw = np.mean([x["wss95"] for x in rows])
        mr = np.mean([x["recall10"] for x in rows])
        lw_ = np.mean([x["legacy_wss95"] for x in rows])
        lr_ = np.mean([x["legacy_recall10"] for x in rows])
        wins = sum(x["wss95"] >= x["legacy_wss95"] for x in rows)
        print(f"| **mean** | | **{mw:.3f}** | **{100 * mr:.1f}%** | {lw_:.3f} | {100 * lr_:.1f}% |")
        print(f"\nheld-out WSS@95 at or above legacy on {wins} of {len(rows)} reviews; "
              f"held-out WSS@95 range {min(x['wss95'] for x in rows):.3f}"
              f"-{max(x['wss95'] for x in rows):.3f}")
        overall = max(candidates, key=lambda n: loo_objective(table, n, files))
        print(f"best on all nine (for reference only, not a selection): {overall}")
        report["labels"][label] = {"folds": rows, "all_nine_best": overall,
                                   "per_setting": table}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
