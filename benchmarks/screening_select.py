"""Choose the ranker's settings by leave-one-review-out over the nine Cohen (2006) sets.

For every candidate setting (features, classifier and class weighting of :class:`Ranker`),
every file, both label levels and every seed, replays a reviewer from one random relevant and
one random irrelevant prior (2% growing retraining batch, as ``metareview simulate``) and
records WSS@95 and recall@10% (priors left out, as :func:`screening_metrics`). The replay stops
once both are known (95% of the relevant records found and 10% of the records read): the rest
of the order changes neither. Then, for each held-out review, the setting with the best mean
score on the *other eight* reviews is chosen and evaluated on the held-out one; the score of a
setting on a review is the mean of its WSS@95 and recall@10% (both in [0, 1]) over the seeds,
averaged over both label levels (one setting serves both, as one default serves ``screen`` and
``simulate``). With ``--criterion coldstart`` the score includes the cold start:
``(WSS@95 + recall@10% + (recall@2.5% + recall@5%) / 2) / 3``, recall@x the share of the
relevant records found in the first ``floor(x N)`` read (priors left out), so a setting that
finds the first relevant records late loses even when its WSS@95 is high (issue 11; stated
before the cold-start grid's per-review results were looked at).
Picking by the nine-set mean alone would reward fit; the held-out figures measure how the
choice generalises. Printed per label level: which setting each fold chose, its held-out
WSS@95 and recall@10% beside ``legacy`` (the ranker before issue 11), the default preset's and,
with ``--asreview``, ASReview's; then every setting's per-review figures.

Results are cached per (file, label, features, classifier, seed) as JSON (the positions of the
relevant records in the reading order) under ``--cache``, so an interrupted run resumes.

Usage (from the project root; about 25 CPU-minutes per seed for the whole grid)::

    nice -n 10 .venv/bin/python benchmarks/screening_select.py \\
        [--data ../shared/data/screening-cohen2006] [--seeds 3] [--labels label1,label2] \\
        [--grid issue11|coldstart|coldstart2|coldstart3] [--criterion wss-recall|coldstart] \\
        [--cache /tmp/screen/select_cache] [--only default] \\
        [--asreview /work/asreview-cache/summary.json] [--json out.json]

``--asreview`` reads the per-set results of ``benchmarks/screening_vs_asreview.py`` (a
``summary.json`` with ``tools["asreview-elas_u4"][set][label][seed]`` = ``{"wss95",
"recall10"}``, same priors, schedule and metric function). ``--only default`` runs only the
default preset (a check of the shipped ranker; it is not part of the selection grid).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from metareview.screening.ranking import LEGACY_FEATURES, Ranker
from metareview.screening.simulation import load_labelled_csv, simulate_order

ROOT = Path(__file__).resolve().parents[1]

#: (``keyword_select`` stated, so these rows keep their meaning whatever Ranker's default)
_NGRAM = {"ngram_max": 2, "stop_words": False, "max_df": 0.95, "keyword_select": None}
#: Feature sets: word 1-2-grams, no stop-word removal, sublinear tf, max_df 0.95, l2 norm
#: throughout (issue 11); min_df 1 or 2; keywords/MeSH left out or a block weighted 0.3.
FEATURES: dict[str, dict[str, Any]] = {
    "df1-kw0": {**_NGRAM, "min_df": 1, "keyword_weight": 0.0},
    "df1-kw0.3": {**_NGRAM, "min_df": 1, "keyword_weight": 0.3},
    "df2-kw0": {**_NGRAM, "min_df": 2, "keyword_weight": 0.0},
    "df2-kw0.3": {**_NGRAM, "min_df": 2, "keyword_weight": 0.3},
    # the keyword block only from the k-th relevant label on (the cold-start grid)
    **{f"df1-kw0.3-from{k}": {**_NGRAM, "min_df": 1, "keyword_weight": 0.3, "keyword_from": k}
       for k in (2, 3, 5)},
    # the keyword block by the share of the records labelled (the second cold-start grid):
    # left out for the first 2.5% / 5% labelled (a warm-up on ELAS u4's features), or its
    # weight ramped up linearly over the first 5% / 10% labelled
    **{f"df1-kw0.3-warm{100 * x:g}": {**_NGRAM, "min_df": 1, "keyword_weight": 0.3,
                                      "keyword_warmup": x} for x in (0.025, 0.05)},
    **{f"df1-kw0.3-ramp{100 * x:g}": {**_NGRAM, "min_df": 1, "keyword_weight": 0.3,
                                      "keyword_ramp": x} for x in (0.05, 0.10)},
    # the keyword block decided per review while fewer than 5% are labelled (the third
    # cold-start grid): by leave-one-relevant-out ranks, or by interleaving both rankings
    **{f"df1-kw0.3-{how}5": {**_NGRAM, "min_df": 1, "keyword_weight": 0.3,
                             "keyword_select": how, "keyword_select_until": 0.05}
       for how in ("loo", "interleave")},
}
#: Classifiers: (model, extra weight on relevant records on top of the balanced weights, C).
#: The weights are scaled to mean 1 (as ASReview's); the ``lr-rel*`` settings were first run
#: with the weights unscaled and C = 1, which is the same objective as C = (1 + w) / 2 scaled.
#: ``svm-u4`` is the classifier and weighting of ASReview 2's ELAS u4 (linear SVM, squared
#: hinge, C = 0.11, relevant records weighted 9.8 times the balanced ratio).
CLASSIFIERS: dict[str, tuple[str, float, float]] = {
    "lr-rel1": ("logreg", 1.0, 1.0),
    "lr-rel3": ("logreg", 3.0, 2.0),
    "lr-rel5": ("logreg", 5.0, 3.0),
    "lr-rel10": ("logreg", 10.0, 5.5),
    "svm-u4": ("svm", 9.8, 0.11),
}
#: The grid the selection runs over (a subset of FEATURES x CLASSIFIERS: the machine was shared
#: by several jobs, so not every pair was affordable). It grew in two rounds after looking at
#: the nine-set results (heavier relevant weights, then ELAS u4's SVM and weights, because
#: recall@10% lagged ASReview's): leave-one-review-out guards the choice within the grid, not
#: the making of the grid.
GRID: list[tuple[str, str]] = [
    ("df1-kw0.3", "lr-rel1"),  # the "ngram2" preset
    ("df1-kw0.3", "lr-rel3"),
    ("df1-kw0.3", "lr-rel5"),
    ("df1-kw0.3", "lr-rel10"),
    ("df1-kw0", "lr-rel3"),
    ("df1-kw0", "lr-rel10"),
    ("df2-kw0.3", "lr-rel3"),
    ("df2-kw0.3", "lr-rel10"),
    ("df1-kw0.3", "svm-u4"),  # the default preset
    ("df1-kw0", "svm-u4"),
    ("df2-kw0.3", "svm-u4"),
]
#: The cold-start grid (issue 11): the default, the same with the keyword block entering only
#: once 2, 3 or 5 relevant records are labelled (the text block alone before: ELAS u4's
#: features), and the text block alone throughout (ELAS u4's features and classifier). Run
#: alone (without ``legacy`` and the default preset, which is its first row). The run in
#: benchmarks/results/screening_select_coldstart.md covered the first three (``--settings``):
#: the from5 and text-only rows were not run for lack of time.
COLD_GRID: list[tuple[str, str]] = [
    ("df1-kw0.3", "svm-u4"),
    ("df1-kw0.3-from2", "svm-u4"),
    ("df1-kw0.3-from3", "svm-u4"),
    ("df1-kw0.3-from5", "svm-u4"),
    ("df1-kw0", "svm-u4"),
]
#: The second cold-start grid (issue 11, the ideas left by the first): the default; the text
#: block alone (ELAS u4's features) while fewer than 2.5% or 5% of the records are labelled (a
#: warm-up closer to ASReview for the first retrainings only); the keyword block's weight
#: ramped from 0 to 0.3 over the first 5% or 10% labelled. Fixed, with the selection criterion
#: (``--criterion coldstart``) and the shipping rule of
#: benchmarks/results/screening_select_coldstart2.md, before any of these ran.
COLD2_GRID: list[tuple[str, str]] = [
    ("df1-kw0.3", "svm-u4"),
    ("df1-kw0.3-warm2.5", "svm-u4"),
    ("df1-kw0.3-warm5", "svm-u4"),
    ("df1-kw0.3-ramp5", "svm-u4"),
    ("df1-kw0.3-ramp10", "svm-u4"),
]
#: The third cold-start grid (issue 11): the default, and the keyword block decided review by
#: review from its own labels while fewer than 5% of the records are labelled
#: (``Ranker(keyword_select="loo")``: the feature set that ranks held-out relevant records
#: better; ``"interleave"``: team-draft interleaving of both rankings), the full features after.
#: Fixed, with the criterion and the shipping rule of
#: benchmarks/results/screening_select_coldstart3.md, before either ran on the Cohen sets.
COLD3_GRID: list[tuple[str, str]] = [
    ("df1-kw0.3", "svm-u4"),
    ("df1-kw0.3-loo5", "svm-u4"),
    ("df1-kw0.3-interleave5", "svm-u4"),
]
GRIDS: dict[str, list[tuple[str, str]]] = {"issue11": GRID, "coldstart": COLD_GRID,
                                           "coldstart2": COLD2_GRID, "coldstart3": COLD3_GRID}
#: The cold start: the fractions read at which the relevant records found are counted.
COLD_AT: tuple[float, float] = (0.025, 0.05)


def candidate_settings() -> dict[str, dict[str, Any]]:
    """The grid as :class:`Ranker` options by name (``"model"`` and keyword arguments), plus
    ``"legacy"``; used by ``benchmarks/screening_vs_asreview.py --loo``."""
    out: dict[str, dict[str, Any]] = {}
    for feat, clf in GRID:
        model, rel, c = CLASSIFIERS[clf]
        out[f"{feat}-{clf}"] = {"model": model, "relevant_weight": rel, "c": c,
                                **FEATURES[feat]}
    out["legacy"] = {"model": "logreg", **LEGACY_FEATURES}
    return out


def loo_objective(table: dict[str, dict[str, tuple[float, float]]], name: str,
                  keep: list[str]) -> float:
    """The selection score of setting ``name`` on reviews ``keep``: the mean over them of
    ``(WSS@95 + recall@10%) / 2`` (``table[name][file] = (wss95, recall10)``)."""
    return float(np.mean([(table[name][f][0] + table[name][f][1]) / 2 for f in keep]))


def loo_choose(table: dict[str, dict[str, tuple[float, float]]], files: list[str],
               candidates: list[str]) -> dict[str, str]:
    """Leave-one-review-out selection: for each held-out review, the candidate with the best
    :func:`loo_objective` on the *other* reviews (ties: the first candidate). For both label
    levels at once, key the table's reviews by (label, review) and hold out both keys of a
    review (as :func:`main` does)."""
    chosen: dict[str, str] = {}
    for held in files:
        keep = [f for f in files if f != held]
        chosen[held] = max(candidates, key=lambda n: loo_objective(table, n, keep))
    return chosen


def _metrics(result: dict[str, Any]) -> tuple[float, float, float, float]:
    """WSS@95, recall@10%, recall@2.5% and recall@5% from the relevant records' positions (as
    simulation.wss/rrf; the replay ran past 10% read, so the early positions are all there)."""
    n, n_rel, pos = result["n"], result["n_rel"], result["pos"]
    needed = max(1, math.ceil(0.95 * n_rel - 1e-9))
    k = pos[needed - 1] + 1

    def recall(x: float) -> float:
        read = math.floor(x * n + 1e-9)
        return sum(p < read for p in pos) / n_rel

    return (n - k) / n - 0.05, recall(0.10), recall(COLD_AT[0]), recall(COLD_AT[1])


def criterion_score(values: tuple[float, ...], criterion: str = "wss-recall") -> float:
    """One review's score of a setting: ``(WSS@95 + recall@10%) / 2`` (``"wss-recall"``), or
    with the cold start ``(WSS@95 + recall@10% + (recall@2.5% + recall@5%) / 2) / 3``
    (``"coldstart"``); ``values`` = (wss95, recall10[, recall2.5, recall5])."""
    if criterion == "wss-recall":
        return (values[0] + values[1]) / 2
    if criterion == "coldstart":
        return (values[0] + values[1] + (values[2] + values[3]) / 2) / 3
    raise ValueError(f"unknown criterion {criterion!r}; choose wss-recall or coldstart")


#: The tool of ``benchmarks/screening_vs_asreview.py`` whose orders (same priors, schedule and
#: ranker, so the same reading order) ``--orders`` reads instead of replaying a grid setting,
#: when the setting is the one those orders were made with: its ``settings.json``
#: (:meth:`Ranker.settings`), or, for caches written before it kept one, ``df1-kw0.3/svm-u4``
#: (the default preset until the third cold-start grid).
ORDERS_TOOL = "metareview-default"
LEGACY_ORDERS_SETTING = ("df1-kw0.3", "svm-u4")


def _orders_match(orders_dir: Path, tool: str, feat: str, clf: str, ranker: Ranker) -> bool:
    """True when ``orders_dir/tool`` holds the orders of this grid setting."""
    path = orders_dir / tool / "settings.json"
    if not path.exists():
        return (feat, clf) == LEGACY_ORDERS_SETTING
    return bool(json.loads(path.read_text()) == ranker.settings())


def _from_orders(orders_dir: Path, data: Any, file: str, label: str, tool: str,
                 seed: int) -> dict[str, Any] | None:
    """One replay's cache entry from screening_vs_asreview's ``seed, rank, row, label`` CSV."""
    path = orders_dir / tool / f"{file}.{label}.csv"
    if not path.exists():
        return None
    rows = [(int(r["rank"]), int(r["row"])) for r in csv.DictReader(path.open())
            if int(r["seed"]) == seed]
    if len(rows) != data.n:
        return None
    order = np.array([row for _, row in sorted(rows)], dtype=np.intp)
    times = json.loads(path.with_suffix(".json").read_text()).get(str(seed), {})
    return {"n": data.n - 2, "n_rel": data.n_included - 1,
            "pos": np.flatnonzero(data.labels[order][2:]).tolist(),
            "cpu_s": times.get("cpu_s", math.nan), "from": str(path)}


def run_one(
    data: Any, file: str, label: str, feat: str, clf: str, ranker: Ranker, seed: int,
    cache: Path, orders_dir: Path | None = None,
) -> tuple[float, float, float, float]:
    """WSS@95, recall@10%, @2.5% and @5% of one replay, from the cache when already run (or
    from screening_vs_asreview's orders, ``orders_dir``, when :func:`_orders_match`)."""
    out = cache / f"{file}.{label}.{feat}.{clf}.s{seed}.json"
    if (not out.exists() and orders_dir is not None
            and _orders_match(orders_dir, ORDERS_TOOL, feat, clf, ranker)):
        entry = _from_orders(orders_dir, data, file, label, ORDERS_TOOL, seed)
        if entry is not None:
            out.write_text(json.dumps(entry))
    if not out.exists():
        n_eval = data.n - 2
        n_rel = data.n_included - 1
        needed = max(1, math.ceil(0.95 * n_rel - 1e-9))
        k10 = math.floor(0.10 * n_eval + 1e-9)
        t0 = time.process_time()
        _, order = simulate_order(
            data.records, data.labels, seed=seed, ranker=ranker,
            stop=lambda read, found: found >= needed and read >= k10,
        )
        y = data.labels[order]
        out.write_text(json.dumps({
            "n": n_eval, "n_rel": n_rel, "pos": np.flatnonzero(y).tolist(),
            "cpu_s": time.process_time() - t0,
        }))
    return _metrics(json.loads(out.read_text()))


def _ranker(feat: str, clf: str) -> Ranker:
    if feat == "legacy":
        return Ranker("logreg", **LEGACY_FEATURES)
    if feat == "default":
        return Ranker.from_preset("default")
    model, rel, c = CLASSIFIERS[clf]
    return Ranker(model, relevant_weight=rel, c=c, **FEATURES[feat])


def _asreview(path: Path | None, seeds: int,
              data: Path) -> dict[str, dict[str, tuple[float, ...]]]:
    """ASReview's per-set means over seeds 0..seeds-1: {label: {set: (wss95, recall10[,
    recall2.5, recall5])}}; the cold start when the summary has it (found counts over R)."""
    if path is None or not path.exists():
        return {}
    tools = json.loads(path.read_text()).get("tools", {})
    runs = tools.get("asreview-elas_u4", {})
    out: dict[str, dict[str, tuple[float, ...]]] = {}
    for file, by_label in runs.items():
        for label, by_seed in by_label.items():
            vals = [by_seed[str(s)] for s in range(seeds) if str(s) in by_seed]
            if len(vals) < seeds:
                print(f"ASReview has {len(vals)} of {seeds} seeds on {file} {label}: left out",
                      file=sys.stderr)
                continue
            row: tuple[float, ...] = (float(np.mean([v["wss95"] for v in vals])),
                                      float(np.mean([v["recall10"] for v in vals])))
            if all("found5" in v for v in vals):
                n_rel = load_labelled_csv(data / f"{file}.csv", label).n_included - 1
                row += tuple(float(np.mean([v[k] for v in vals])) / n_rel
                             for k in ("found2.5", "found5"))
            out.setdefault(label, {})[file] = row
    return out


#: The cold start compared seed by seed with ELAS u4: (summary key, index in run_one's tuple).
COLD_KEYS: tuple[tuple[str, int], ...] = (("found2.5", 2), ("found5", 3))


def _cold_paired(per_seed: dict[str, dict[str, dict[str, list[tuple[float, ...]]]]],
                 asreview: Path, seeds: int, data: Path,
                 chosen_for: dict[str, str]) -> dict[str, Any]:
    """Print and return, per setting and label level, the reviews where the cold start is
    behind (or ahead of) ELAS u4 beyond the seed noise.

    Relevant records found at 2.5% and 5% read (priors left out), paired with ASReview's run
    of the same seed and priors (``summary.json`` of screening_vs_asreview.py):
    ``d_s = found_mr(s) - found_u4(s)``; *behind* when the 95% t interval of the mean of
    ``d_s`` over the seeds lies below 0 (its
    :func:`screening_vs_asreview.paired_difference`). The row ``LOO`` takes each held-out
    review's setting from its fold's choice.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from screening_vs_asreview import paired_difference

    runs = json.loads(asreview.read_text()).get("tools", {}).get("asreview-elas_u4", {})
    out: dict[str, Any] = {}
    print(f"\n## The cold start against ELAS u4, seed by seed ({seeds} seeds)\n")
    print("Reviews behind (ahead of) ELAS u4 beyond the seed noise in relevant records found "
          "at 2.5% and 5% read: the 95% t interval of the mean paired difference over seeds "
          "below (above) 0.\n")
    print("| setting | level | behind at 2.5% | behind at 5% | ahead at 2.5% | ahead at 5% | "
          "mean d found@2.5% | mean d found@5% |")
    print("|---|---|---|---|---|---|---|---|")
    names = sorted({n for lb in per_seed for n in per_seed[lb]})
    rows: list[str] = names + (["LOO"] if chosen_for else [])
    for lb, by_setting in per_seed.items():
        for name in rows:
            def pick(f: str, name: str = name) -> str:
                return chosen_for[f] if name == "LOO" else name

            files = sorted(f for f in by_setting[names[0]] if f in runs and lb in runs[f])
            result: dict[str, Any] = {}
            cells: list[str] = []
            means: list[str] = []
            for key, idx in COLD_KEYS:
                behind, ahead, ds = [], [], []
                for f in files:
                    ours = by_setting[pick(f)][f]
                    theirs = [float(runs[f][lb][str(s)][key]) for s in range(seeds)]
                    n_rel = load_labelled_csv(data / f"{f}.csv", lb).n_included - 1
                    found = [round(v[idx] * n_rel) for v in ours]
                    d = paired_difference(found, theirs)
                    ds.append(d["mean"])
                    if d["hi"] < 0:
                        behind.append(f)
                    if d["lo"] > 0:
                        ahead.append(f)
                result[key] = {"behind": behind, "ahead": ahead,
                               "mean_d": float(np.mean(ds)) if ds else math.nan}
                cells.append(f"{len(behind)} ({', '.join(behind) or '-'})")
                means.append(f"{result[key]['mean_d']:+.2f}")
            ahead_cells = [f"{len(result[k]['ahead'])} ({', '.join(result[k]['ahead']) or '-'})"
                           for k, _ in COLD_KEYS]
            print(f"| {name} | {lb} | {' | '.join(cells)} | {' | '.join(ahead_cells)} | "
                  f"{' | '.join(means)} |")
            out.setdefault(lb, {})[name] = result
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = ROOT.parent / "shared/data/screening-cohen2006"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labels", default="label1,label2")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/screen/select_cache"))
    parser.add_argument("--only", default=None, help="'default': run only the default preset")
    parser.add_argument("--asreview", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="issue11",
                        help="the candidate settings (default issue11)")
    parser.add_argument("--criterion", choices=("wss-recall", "coldstart"),
                        default="wss-recall", help="each fold's selection score")
    parser.add_argument("--orders", type=Path, default=None,
                        help="screening_vs_asreview's cache: read the default's replays there")
    parser.add_argument("--settings", default=None,
                        help="comma-separated feature names of the grid to run (e.g. to fill "
                        "the cache in parallel processes); the selection is then among them")
    args = parser.parse_args(argv)
    grid = GRIDS[args.grid]
    if args.settings:
        grid = [(f, c) for f, c in grid if f in args.settings.split(",")]
    if not args.data.is_dir():
        print(f"no data folder {args.data}", file=sys.stderr)
        return 2
    args.cache.mkdir(parents=True, exist_ok=True)
    files = sorted(p.stem for p in args.data.glob("*.csv"))
    labels = args.labels.split(",")
    seeds = range(args.seeds)
    if args.only == "default":
        runs = [("default", "preset")]
    elif args.grid.startswith("coldstart"):
        runs = grid
    else:
        runs = [("legacy", "lr-rel1"), ("default", "preset"), *grid]
    # scores[label][setting][file] = mean over seeds of (wss95, recall10, recall2.5, recall5)
    scores: dict[str, dict[str, dict[str, tuple[float, ...]]]] = {lb: {} for lb in labels}
    # per_seed[label][setting][file] = the seeds' (wss95, recall10, recall2.5, recall5)
    per_seed: dict[str, dict[str, dict[str, list[tuple[float, ...]]]]] = {lb: {} for lb in labels}
    t0 = time.time()
    for file in files:
        data = {lb: load_labelled_csv(args.data / f"{file}.csv", lb) for lb in labels}
        for feat, clf in runs:
            ranker = _ranker(feat, clf)
            for lb in labels:
                vals = [run_one(data[lb], file, lb, feat, clf, ranker, s, args.cache,
                                args.orders)
                        for s in seeds]
                scores[lb].setdefault(f"{feat}/{clf}", {})[file] = tuple(
                    float(np.mean([v[i] for v in vals])) for i in range(4))
                per_seed[lb].setdefault(f"{feat}/{clf}", {})[file] = [tuple(v) for v in vals]
        print(f"[{file}: {time.time() - t0:.0f} s]", file=sys.stderr)

    asr = _asreview(args.asreview, args.seeds, args.data)
    report: dict[str, Any] = {"seeds": args.seeds, "grid": grid, "criterion": args.criterion,
                              "labels": {}}
    candidates = [f"{a}/{b}" for a, b in grid]

    def objective(name: str, keep: list[str]) -> float:
        """Mean of :func:`criterion_score` over the kept reviews and both label levels: one
        setting serves both stages, as one default serves ``screen`` and ``simulate``."""
        return float(np.mean([criterion_score(scores[lb][name][f], args.criterion)
                              for lb in labels for f in keep]))

    # the fold's choice, made on the other eight reviews (never on the held-out one)
    chosen_for = {} if args.only == "default" else {
        held: max(candidates, key=lambda n: objective(n, [f for f in files if f != held]))
        for held in files
    }
    for lb in labels:
        table = scores[lb]
        base = asr.get(lb, {})
        def cold(v: tuple[float, ...]) -> float:
            """The cold start of one review: mean of recall@2.5% and recall@5% (NaN if absent)."""
            return (v[2] + v[3]) / 2 if len(v) >= 4 else math.nan

        def cells(v: tuple[float, ...]) -> str:
            return f" {v[0]:.3f} | {100 * v[1]:.1f}% | {100 * cold(v):.1f}% |"

        nan4 = (math.nan,) * 4
        rows = []
        for held in files:
            chosen = "default/preset" if args.only == "default" else chosen_for[held]
            v = table[chosen][held]
            rows.append({"held_out": held, "chosen": chosen, "wss95": v[0], "recall10": v[1],
                         "recall2.5": v[2], "recall5": v[3], "cold": cold(v)})
        print(f"\n## {lb}: leave-one-review-out ({args.seeds} seed(s), criterion "
              f"{args.criterion})\n")
        head = "| held out | chosen on the other 8 | WSS@95 | recall@10% | cold start |"
        extra = [n for n in ("default/preset", "legacy/lr-rel1") if n in table]
        for n in extra:
            head += f" {n.split('/')[0]} WSS@95 | recall@10% | cold |"
        if base:
            head += " ASReview u4 WSS@95 | recall@10% | cold |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for row in rows:
            f = row["held_out"]
            line = f"| {f} | {row['chosen']} |" + cells(table[row["chosen"]][f])
            for n in extra:
                line += cells(table[n][f])
            if base:
                line += cells(base.get(f, nan4))
            print(line)

        def mean_of(vs: list[tuple[float, ...]]) -> tuple[float, ...]:
            width = min(len(v) for v in vs)
            return tuple(float(np.mean([v[i] for v in vs])) for i in range(width))

        line = "| **mean** | |" + cells(mean_of([table[x["chosen"]][x["held_out"]] for x in rows]))
        for n in extra:
            line += cells(mean_of([table[n][f] for f in files]))
        if base:
            line += cells(mean_of([base.get(f, nan4) for f in files]))
        print(line)
        print(f"\ncold start: mean of recall@2.5% and recall@5% (relevant found in the first "
              f"2.5% / 5% read, priors left out); held-out WSS@95 range "
              f"{min(x['wss95'] for x in rows):.3f} to {max(x['wss95'] for x in rows):.3f}; "
              f"recall@10% range {100 * min(x['recall10'] for x in rows):.1f}% to "
              f"{100 * max(x['recall10'] for x in rows):.1f}%")
        if base:
            kept = [x for x in rows if x["held_out"] in base]
            counts = [sum(x[k] >= base[x["held_out"]][i] for x in kept)
                      for k, i in (("wss95", 0), ("recall10", 1))]
            text = (f"at or above ASReview u4 on {counts[0]} of {len(kept)} reviews for WSS@95, "
                    f"{counts[1]} of {len(kept)} for recall@10%")
            if all(len(base[x["held_out"]]) >= 4 for x in kept):
                cc = sum(x["cold"] >= cold(base[x["held_out"]]) for x in kept)
                text += f", {cc} of {len(kept)} for the cold start"
            print(text)
        if args.only != "default":
            print(f"\nEvery setting (WSS@95 / recall@10% / cold start per review, mean over "
                  f"{args.seeds} seed(s)):\n")
            print("| setting | " + " | ".join(f[:8] for f in files) + " | mean |")
            print("|---" * (len(files) + 2) + "|")
            for name, per in table.items():
                row_cells = " | ".join(
                    f"{per[f][0]:.3f} / {100 * per[f][1]:.0f}% / {100 * cold(per[f]):.0f}%"
                    for f in files)
                m = mean_of([per[f] for f in files])
                print(f"| {name} | {row_cells} | {m[0]:.3f} / {100 * m[1]:.1f}% / "
                      f"{100 * cold(m):.1f}% |")
        report["labels"][lb] = {"folds": rows, "per_setting": table}
    if args.asreview is not None and args.asreview.exists():
        report["against_asreview"] = _cold_paired(per_seed, args.asreview, args.seeds,
                                                  args.data, chosen_for)
    if chosen_for:
        print(f"\nbest on all nine, both levels (for reference only, not a selection): "
              f"{max(candidates, key=lambda n: objective(n, files))}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
