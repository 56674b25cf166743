"""Stopping rules on the Cohen (2006) sets: recall reached and work saved when each says stop.

Prints one Markdown row per (file, label level, rule): mean recall at stop over the seeds, the
lowest seed's recall, and the mean work saved (1 - records read / N). Rules: the hypergeometric
test of Callaghan & Müller-Hansen (Syst Rev 2020;9:273; target 0.95, confidence 0.95) and 50
irrelevant records in a row (metareview.screening.stopping).

Usage::

    nice -n 10 .venv/bin/python benchmarks/screening_stopping.py SEEDS FILE [FILE ...] \\
        [--data ../shared/data/screening-cohen2006]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metareview.screening.simulation import load_labelled_csv, simulate

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int)
    parser.add_argument("files", nargs="+")
    default_data = ROOT.parent / "shared/data/screening-cohen2006"
    parser.add_argument("--data", type=Path, default=default_data)
    args = parser.parse_args(argv)
    for f in args.files:
        for label in ("label1", "label2"):
            data = load_labelled_csv(args.data / f"{f}.csv", label)
            result = simulate(data, seeds=range(args.seeds))
            for rule, s in result.stopping.items():
                print(
                    f"| {f} | {label} | {rule} | {100 * s['recall']:.1f}% | "
                    f"{100 * s['min_recall']:.1f}% | {100 * s['work_saved']:.1f}% |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
