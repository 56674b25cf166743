"""Apply the pre-registered shipping rule of a cold-start grid to its run (issue 11).

The rule, fixed in ``benchmarks/results/screening_select_coldstart2.md`` before the grid ran:
a candidate replaces the default only if

1. the leave-one-review-out folds choose it in at least 7 of the 9;
2. the held-out means (each fold's choice scored on its held-out review, averaged over the
   nine reviews) of WSS@95 and recall@10% are at or above ELAS u4's at both label levels;
3. seed by seed against ELAS u4 (the paired t interval of relevant records found at 2.5% and
   5% read over the seeds, :func:`screening_vs_asreview.paired_difference`), it is behind
   beyond the seed noise (the 95% interval below 0) on fewer (review, level, cut-off) cells
   than the default, and behind on none where the default is not.

Reads the ``--json`` report of ``benchmarks/screening_select.py`` (the folds' choices), its
``--cache`` (each replay's relevant positions), ASReview's ``summary.json`` of
``benchmarks/screening_vs_asreview.py`` (ELAS u4 seed by seed) and the data (``R``), and
prints, as Markdown: the folds' choices, the held-out means beside ELAS u4's (WSS@95,
recall@10%, found@2.5%, found@5%), every setting's nine-review means, the paired cells behind
and ahead for every setting, and each condition's verdict per candidate::

    nice -n 10 .venv/bin/python benchmarks/screening_select_rule.py \\
        --json /tmp/cold/coldstart2.json --cache /work/asreview-cache/select_coldstart2 \\
        --asreview /work/asreview-cache/coldstart2/summary.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from metareview.screening.simulation import load_labelled_csv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The default's row in the coldstart2 and coldstart3 grids (the ``default`` preset when they
#: ran); a grid's default is its first row (``--default`` overrides).
DEFAULT_SETTING = "df1-kw0.3/svm-u4"
#: Condition 1: the folds that must choose a candidate.
MIN_FOLDS = 7
#: (summary key of screening_vs_asreview, index in screening_select._metrics' tuple).
COLD_KEYS: tuple[tuple[str, int], ...] = (("found2.5", 2), ("found5", 3))
#: A (review, level, cut-off) cell of the paired comparison.
Cell = tuple[str, str, str]


def _module(name: str) -> ModuleType:
    """A benchmark script of this folder as a module (they are not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name}.py from {HERE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shipping_rule(folds: dict[str, str], default: str, candidates: Sequence[str],
                  held_out: dict[str, tuple[float, float]],
                  asreview: dict[str, tuple[float, float]],
                  behind: dict[str, set[Cell]], min_folds: int = MIN_FOLDS,
                  ) -> dict[str, dict[str, Any]]:
    """The three conditions of the shipping rule for each candidate.

    ``folds[held]`` is the setting chosen on the other reviews; ``held_out[level]`` and
    ``asreview[level]`` the (WSS@95, recall@10%) means over the reviews of the folds' choices
    and of ELAS u4; ``behind[setting]`` the cells where the setting's paired interval lies
    below 0. Condition 2 concerns the selection's held-out figures, so it is the same for
    every candidate. Returns per candidate ``folds`` (count), ``c1``, ``c2``, ``c3``,
    ``new_behind`` (cells behind where the default is not) and ``ships`` (all three).
    """
    c2 = all(held_out[lb][i] >= asreview[lb][i] for lb in asreview for i in (0, 1))
    base = behind[default]
    out: dict[str, dict[str, Any]] = {}
    for name in candidates:
        if name == default:
            continue
        n_folds = sum(choice == name for choice in folds.values())
        new = behind[name] - base
        c3 = len(behind[name]) < len(base) and not new
        c1 = n_folds >= min_folds
        out[name] = {"folds": n_folds, "c1": c1, "c2": c2, "c3": c3,
                     "new_behind": sorted(new), "ships": c1 and c2 and c3}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True,
                        help="screening_select.py's --json report")
    parser.add_argument("--cache", type=Path, required=True,
                        help="screening_select.py's --cache")
    parser.add_argument("--asreview", type=Path, required=True,
                        help="screening_vs_asreview.py's summary.json")
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared/data/screening-cohen2006")
    parser.add_argument("--default", default=None,
                        help="the grid's row the candidates must beat (default its first row)")
    args = parser.parse_args(argv)
    select = _module("screening_select")
    paired_difference = _module("screening_vs_asreview").paired_difference

    report = json.loads(args.json.read_text())
    seeds = range(int(report["seeds"]))
    names = [f"{a}/{b}" for a, b in report["grid"]]
    default = args.default or names[0]
    labels = list(report["labels"])
    folds = {row["held_out"]: row["chosen"] for row in report["labels"][labels[0]]["folds"]}
    files = sorted(folds)
    u4 = json.loads(args.asreview.read_text())["tools"]["asreview-elas_u4"]
    n_rel = {(f, lb): load_labelled_csv(args.data / f"{f}.csv", lb).n_included - 1
             for f in files for lb in labels}

    def ours(name: str, f: str, lb: str) -> list[tuple[float, ...]]:
        """The seeds' (WSS@95, recall@10%, found@2.5%, found@5%) of one setting."""
        feat, clf = name.split("/")
        vals: list[tuple[float, ...]] = []
        for s in seeds:
            path = args.cache / f"{f}.{lb}.{feat}.{clf}.s{s}.json"
            w, r10, r25, r5 = select._metrics(json.loads(path.read_text()))
            vals.append((w, r10, round(r25 * n_rel[f, lb]), round(r5 * n_rel[f, lb])))
        return vals

    def theirs(f: str, lb: str) -> list[tuple[float, ...]]:
        return [tuple(float(u4[f][lb][str(s)][k]) for k in ("wss95", "recall10", "found2.5",
                                                                "found5")) for s in seeds]

    def means(rows: list[list[tuple[float, ...]]]) -> tuple[float, ...]:
        """Mean over reviews of the mean over seeds."""
        return tuple(float(np.mean([np.mean([v[i] for v in r]) for r in rows]))
                     for i in range(4))

    def fmt(m: tuple[float, ...]) -> str:
        return f"{m[0]:.3f} | {100 * m[1]:.1f}% | {m[2]:.2f} | {m[3]:.2f}"

    print(f"Folds' choices (criterion {report['criterion']}, both levels, {len(seeds)} seeds):\n")
    print("| held out | chosen on the other 8 |\n|---|---|")
    for f in files:
        print(f"| {f} | {folds[f]} |")
    print("\nMeans over the nine reviews (mean over seeds of each; found@x = relevant records "
          "found in the first floor(x N) read, priors left out):\n")
    print("| level | setting | WSS@95 | recall@10% | found@2.5% | found@5% |")
    print("|---|---|---|---|---|---|")
    held_out: dict[str, tuple[float, float]] = {}
    base: dict[str, tuple[float, float]] = {}
    for lb in labels:
        loo = means([ours(folds[f], f, lb) for f in files])
        ref = means([theirs(f, lb) for f in files])
        held_out[lb], base[lb] = (loo[0], loo[1]), (ref[0], ref[1])
        print(f"| {lb} | **held out (folds' choices)** | {fmt(loo)} |")
        print(f"| {lb} | ASReview ELAS u4 | {fmt(ref)} |")
        for name in names:
            every = means([ours(name, f, lb) for f in files])
            print(f"| {lb} | {name} (all nine) | {fmt(every)} |")

    print("\nSeed by seed against ELAS u4: cells where the 95% paired t interval of "
          "d_s = found_mr(s) - found_u4(s) lies below 0 (behind) or above 0 (ahead); "
          "mean d [interval]:\n")
    print("| setting | behind | ahead |\n|---|---|---|")
    behind: dict[str, set[Cell]] = {}
    for name in names:
        cells_b, cells_a = [], []
        behind[name] = set()
        for lb in labels:
            for f in files:
                a, b = ours(name, f, lb), theirs(f, lb)
                for key, idx in COLD_KEYS:
                    d = paired_difference([v[idx] for v in a], [v[idx] for v in b])
                    text = (f"{f} {lb} @{key[5:]}%: {d['mean']:+.1f} "
                            f"[{d['lo']:+.2f}, {d['hi']:+.2f}]")
                    if d["hi"] < 0:
                        behind[name].add((f, lb, key))
                        cells_b.append(text)
                    if d["lo"] > 0:
                        cells_a.append(text)
        print(f"| {name} | {len(cells_b)}: {'; '.join(cells_b) or '-'} | "
              f"{len(cells_a)}: {'; '.join(cells_a) or '-'} |")

    verdicts = shipping_rule(folds, default, names, held_out, base, behind)
    print("\nThe shipping rule, per candidate (1: chosen in >= 7 of 9 folds; 2: held-out WSS@95 "
          "and recall@10% >= ELAS u4 at both levels; 3: behind on fewer cells than the default "
          f"({len(behind[default])}) and on none where it is not):\n")
    print("| candidate | folds | (1) | (2) | (3) | behind where the default is not | ships |")
    print("|---|---|---|---|---|---|---|")
    for name, v in verdicts.items():
        new = "; ".join(" ".join(c) for c in v["new_behind"]) or "-"
        print(f"| {name} | {v['folds']} | {'yes' if v['c1'] else 'no'} | "
              f"{'yes' if v['c2'] else 'no'} | {'yes' if v['c3'] else 'no'} "
              f"({len(behind[name])} behind) | {new} | {'**yes**' if v['ships'] else 'no'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
