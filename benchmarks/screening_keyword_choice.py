"""How often the default ranker reads the text block alone in the cold start (issue 11).

A diagnostic of ``Ranker(keyword_select="loo")`` (the default preset): on every Cohen (2006)
set and label level, seeds 0-9 (the priors and 2% growing batch of ``metareview simulate``), the
reviewer is replayed until 5% of the records are read, and every retraining while fewer than
``keyword_select_until`` of the records are labelled is counted by the features it used
(:attr:`Ranker.keyword_choice`: the text block alone, or text plus keyword block). Prints a
Markdown table: retrainings in the window, how many read the text block alone, and in how many
seeds that happened at least once.

Usage (from the project root)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/screening_keyword_choice.py \\
        [--data ../shared/data/screening-cohen2006] [--seeds 10]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from metareview.screening.ranking import Ranker
from metareview.screening.simulation import load_labelled_csv, simulate_order

ROOT = Path(__file__).resolve().parents[1]


class _CountingRanker(Ranker):
    """The default ranker, noting the features of every trained fit in the window."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.used: list[str] = []

    def _fit_labels(self, labels: NDArray[np.int8]) -> None:
        super()._fit_labels(labels)
        in_window = np.count_nonzero(labels >= 0) < self.keyword_select_until * self.n_records
        if in_window and self.trained:
            self.used.append(self.keyword_choice)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared/data/screening-cohen2006")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    print("| review | level | retrainings in the window | text block alone | "
          "seeds ever switching |")
    print("|---|---|---|---|---|")
    for name in sorted(p.stem for p in args.data.glob("*.csv")):
        for label in ("label1", "label2"):
            data = load_labelled_csv(args.data / f"{name}.csv", label)
            k5 = math.ceil(0.05 * data.n)

            def stop(read: int, found: int, k5: int = k5) -> bool:
                """The 2 priors plus the records read reach 5% of the set."""
                return read + 2 >= k5

            total = text = switched = 0
            for seed in range(args.seeds):
                ranker = _CountingRanker(seed)
                simulate_order(data.records, data.labels, seed=seed, ranker=ranker, stop=stop)
                total += len(ranker.used)
                text += ranker.used.count("text")
                switched += "text" in ranker.used
            print(f"| {name} | {label} | {total} | {text} ({100 * text / max(total, 1):.0f}%) | "
                  f"{switched} of {args.seeds} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
