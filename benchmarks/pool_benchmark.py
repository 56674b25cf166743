"""Pool 10,000 random meta-analyses (k 3–30) with REML: metareview's CLI against a metafor loop.

What it measures, on the same machine and the same CSV:

1. ``metareview pool FILE --measure GEN --method REML --by id --json`` end to end (process start,
   CSV read, batch fit, JSON out): best of ``--repeat`` runs.
2. The batch fit alone (``rma_batch``), in process.
3. metafor: ``rma(yi, vi, method = "REML")`` in an R loop over the same analyses
   (``benchmarks/metafor_loop.R``), with the tight convergence our goldens use and with metafor's
   defaults. Needs ``Rscript`` with metafor (``apt-get install -y r-cran-metafor``).
4. PyMARE's vectorised REML (``pymare.estimators.VarianceBasedLikelihoodEstimator``) if PyMARE is
   importable; PyMARE fits a stack of analyses of equal k, so the data go in one call per k.

and how far the estimates are from metafor's (max absolute and relative difference).

Usage::

    .venv/bin/python benchmarks/pool_benchmark.py [--n 10000] [--repeat 3] [--seed 20261123]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def make_data(n: int, seed: int) -> pd.DataFrame:
    """``n`` meta-analyses, k uniform on 3..30, within-study variances 0.01–0.5, tau² 0–0.3."""
    rng = np.random.default_rng(seed)
    k = rng.integers(3, 31, size=n)
    ids = np.repeat(np.arange(1, n + 1), k)
    tau2 = np.repeat(rng.uniform(0.0, 0.3, size=n), k)
    mu = np.repeat(rng.normal(0.0, 0.5, size=n), k)
    vi = rng.uniform(0.01, 0.5, size=ids.size)
    yi = rng.normal(mu, np.sqrt(vi + tau2))
    return pd.DataFrame({"id": ids, "yi": np.round(yi, 10), "vi": np.round(vi, 10)})


def time_cli(csv: Path, repeat: int) -> tuple[float, list[dict[str, object]]]:
    exe = Path(sys.executable).with_name("metareview")
    cmd = [str(exe), "pool", str(csv), "--measure", "GEN", "--method", "REML", "--by", "id",
           "--json"]  # fmt: skip
    best = float("inf")
    out: list[dict[str, object]] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - t0)
        out = json.loads(proc.stdout)["analyses"]
    return best, out


def time_batch(df: pd.DataFrame, repeat: int) -> float:
    from metareview.models import rma_batch

    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        rma_batch(df, by="id", method="REML")
        best = min(best, time.perf_counter() - t0)
    return best


def time_metafor(csv: Path, mode: str) -> tuple[float, pd.DataFrame] | None:
    if shutil.which("Rscript") is None:
        return None
    out_csv = OUT / f"metafor_{mode}.csv"
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["Rscript", str(HERE / "metafor_loop.R"), str(csv), str(out_csv), mode],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"metafor loop failed: {proc.stderr.strip()[:300]}", file=sys.stderr)
        return None
    loop = float(proc.stdout.strip().split("seconds=")[-1])
    print(f"  (Rscript wall time incl. startup and CSV read: {wall:.2f} s)")
    return loop, pd.read_csv(out_csv)


def time_pymare(df: pd.DataFrame) -> tuple[float, pd.DataFrame] | None:
    try:
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    stacks = []
    for k, part in df.groupby(df.groupby("id")["id"].transform("size")):
        ids = part["id"].unique()
        y = part["yi"].to_numpy().reshape(len(ids), int(k)).T
        v = part["vi"].to_numpy().reshape(len(ids), int(k)).T
        stacks.append((ids, y, v))
    t0 = time.perf_counter()
    rows = []
    for ids, y, v in stacks:
        intercept = np.ones((y.shape[0], 1))
        est = VarianceBasedLikelihoodEstimator(method="REML").fit(y=y, v=v, X=intercept)
        params = est.params_
        rows.append(pd.DataFrame({"id": ids, "estimate": np.ravel(params["fe_params"]),
                                  "tau2": np.ravel(params["tau2"])}))  # fmt: skip
    return time.perf_counter() - t0, pd.concat(rows)


def max_diff(ours: pd.DataFrame, ref: pd.DataFrame, cols: tuple[str, ...]) -> str:
    """Largest differences, and how many values miss ``|a - b| <= 1e-6 |b| + 1e-9`` (the goldens'
    tolerance; the absolute part covers tau² at or near 0)."""
    merged = ours.merge(ref, on="id", suffixes=("", "_ref"))
    parts = []
    for col in cols:
        a = merged[col].to_numpy(float)
        b = merged[f"{col}_ref"].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b)
        absd = np.abs(a[ok] - b[ok])
        big = np.abs(b[ok]) > 1e-6
        reld = absd[big] / np.abs(b[ok][big])
        miss = int((absd > 1e-6 * np.abs(b[ok]) + 1e-9).sum())
        parts.append(f"{col}: max abs {absd.max():.1e}, max rel {reld.max():.1e}, "
                     f"{miss} of {ok.sum()} outside 1e-6")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    csv = OUT / f"pool_{args.n}.csv"
    df = make_data(args.n, args.seed)
    df.to_csv(csv, index=False)
    print(f"data: {args.n} meta-analyses, {len(df)} rows (k 3-30), seed {args.seed}, {csv}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    cli_s, cli_out = time_cli(csv, args.repeat)
    ours = pd.DataFrame(
        {
            "id": [r["by"] for r in cli_out],
            "estimate": [r["estimate"] for r in cli_out],
            "se": [r["se"] for r in cli_out],
            "tau2": [r["tau2"] for r in cli_out],
            "ci_lb": [r["ci_lower"] for r in cli_out],
            "ci_ub": [r["ci_upper"] for r in cli_out],
        }
    )
    print(f"metareview CLI (REML, best of {args.repeat}):  {cli_s:8.3f} s")
    batch_s = time_batch(df, args.repeat)
    print(f"metareview rma_batch in process:        {batch_s:8.3f} s")

    for mode in ("tight", "default"):
        got = time_metafor(csv, mode)
        if got is None:
            print("metafor loop: skipped (no Rscript with metafor)")
            break
        loop_s, ref = got
        print(
            f"metafor rma() loop, control {mode:7s}:  {loop_s:8.3f} s   "
            f"-> CLI {loop_s / cli_s:6.1f}x faster, batch {loop_s / batch_s:7.1f}x faster"
        )
        print(f"  vs metafor ({mode}): {max_diff(ours, ref, ('estimate', 'se', 'tau2', 'ci_lb'))}")

    got_pm = time_pymare(df)
    if got_pm is None:
        print("PyMARE: skipped (pip install pymare to include it)")
    else:
        pm_s, pm = got_pm
        print(
            f"PyMARE REML (one vectorised call per k): {pm_s:8.3f} s   "
            f"-> batch {pm_s / batch_s:6.1f}x faster"
        )
        print(f"  PyMARE vs ours: {max_diff(pm, ours, ('estimate', 'tau2'))}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
