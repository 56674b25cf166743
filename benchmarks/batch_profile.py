"""Time the batch core in process: ``rma_batch`` (REML) against PyMARE's vectorised REML.

Both run on the same CSV (by default ``benchmarks/out/pool_10000.csv``, written by
``pool_benchmark.py``: 10,000 analyses, k 3-30) in this process, best of ``--repeat`` runs:

1. ``rma_batch(df, by="id", method="REML")``: the full fit (estimate, SE, z test and CI, tau^2 and
   its SE, Q-profile CI of tau^2, Q, I^2, H^2, prediction interval), including grouping and padding.
2. PyMARE's ``VarianceBasedLikelihoodEstimator(method="REML")`` (beta and tau^2 only), one call
   per k as PyMARE needs equal k, with the data already split by k (as ``pool_benchmark.py``).

``--profile`` adds the cProfile listing of one ``rma_batch`` call; ``--save FILE`` pickles the
result table (to compare two versions of the code with ``--compare FILE``: the largest relative
difference per column, relative to ``max(|a|, |b|)``).

Usage::

    .venv/bin/python benchmarks/batch_profile.py [--csv FILE] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from metareview.models import rma_batch

HERE = Path(__file__).resolve().parent
COMPARE_COLS = ("estimate", "se", "ci_lb", "ci_ub", "tau2", "se_tau2", "tau2_ci_lb",
                "tau2_ci_ub", "I2", "H2", "QE", "pi_lb", "pi_ub")  # fmt: skip


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def pymare_runner(df: pd.DataFrame) -> Callable[[], None] | None:
    try:
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    stacks = []
    for k, part in df.groupby(df.groupby("id")["id"].transform("size")):
        n = part["id"].nunique()
        y = part["yi"].to_numpy().reshape(n, int(k)).T
        v = part["vi"].to_numpy().reshape(n, int(k)).T
        stacks.append((y, v))

    def run() -> None:
        for y, v in stacks:
            est = VarianceBasedLikelihoodEstimator(method="REML")
            est.fit(y=y, v=v, X=np.ones((y.shape[0], 1)))

    return run


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    print(f"vs {len(ref)} saved analyses: largest relative difference, |a - b| / max(|a|, |b|)")
    for col in COMPARE_COLS:
        a, b = ours[col].to_numpy(float), ref[col].to_numpy(float)
        nan_diff = int((np.isnan(a) != np.isnan(b)).sum())
        ok = np.isfinite(a) & np.isfinite(b)
        scale = np.maximum(np.abs(a[ok]), np.abs(b[ok]))
        rel = np.abs(a[ok] - b[ok]) / np.where(scale > 0, scale, 1.0)
        print(f"  {col:11s} {rel.max():.1e}   (NaN pattern differs in {nan_diff})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=HERE / "out" / "pool_10000.csv")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    if not args.csv.exists():
        sys.exit(f"{args.csv} not found: run benchmarks/pool_benchmark.py first (it writes it)")

    df = pd.read_csv(args.csv)
    n = df["id"].nunique()
    print(f"data: {args.csv} ({n} analyses, {len(df)} studies)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}")  # fmt: skip
    warnings.simplefilter("ignore")
    out = rma_batch(df, by="id", method="REML")  # warm-up
    ours = best_of(lambda: rma_batch(df, by="id", method="REML"), args.repeat)
    print(f"rma_batch REML (full fit), best of {args.repeat}:     {ours:7.3f} s")
    run = pymare_runner(df)
    if run is None:
        print("PyMARE: not installed (pip install pymare to include it)")
    else:
        run()
        pm = best_of(run, args.repeat)
        print(f"PyMARE REML (beta, tau2 only), best of {args.repeat}:  {pm:7.3f} s   "
              f"-> rma_batch {pm / ours:.1f}x faster")  # fmt: skip
    if args.save:
        out.to_pickle(args.save)
        print(f"saved the result table to {args.save}")
    if args.compare:
        compare(out, pd.read_pickle(args.compare))
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        rma_batch(df, by="id", method="REML")
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(20)
        print(text.getvalue())


if __name__ == "__main__":
    main()
