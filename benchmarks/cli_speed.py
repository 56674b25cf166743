"""How long a user waits for ``metareview --help`` and ``metareview pool`` (10,000 analyses).

Measured like hyperfine: each command is run ``--runs`` times as a fresh process after one
warm-up run; the minimum, median and mean wall time are printed, with the CPU time of the child
(user + sys, which a busy machine inflates less than wall time). Then:

- where the start-up goes: ``python -X importtime`` of each command, the modules that cost most;
- metafor's default loop over the same 10,000 analyses (``benchmarks/metafor_loop.R default``),
  in the same run, and the ratio to the CLI's best time;
- that the numbers are the same: the CLI's JSON against ``rma_batch`` in process (bit for bit)
  and against metafor (largest differences).

Usage::

    .venv/bin/python benchmarks/cli_speed.py [--runs 10] [--n 10000] [--no-r] [--tight]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from pool_benchmark import make_data  # noqa: E402


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_command(cmd: list[str], runs: int) -> tuple[list[float], list[float], str]:
    """Wall and CPU seconds of ``runs`` runs (after one warm-up), and the last stdout."""
    subprocess.run(cmd, capture_output=True, check=True)
    walls, cpus = [], []
    out = ""
    for _ in range(runs):
        c0 = _child_cpu()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        cpus.append(_child_cpu() - c0)
        out = proc.stdout
    return walls, cpus, out


def report(label: str, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{label:34s} wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s, "
        f"mean {statistics.mean(walls):.3f} s; CPU min {min(cpus):.3f} s, "
        f"median {statistics.median(cpus):.3f} s"
    )


def import_costs(argv: list[str], top: int = 8) -> str:
    """The ``top`` most expensive top-level imports (cumulative microseconds) of running argv."""
    code = f"import sys; from metareview.cli import main; main({argv!r})"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True)  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|")
        if cum.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cum), name.strip()))
    rows.sort(reverse=True)
    total = sum(c for c, _ in rows)
    parts = ", ".join(f"{n} {c / 1e3:.0f} ms" for c, n in rows[:top])
    return f"imports {total / 1e3:.0f} ms in all: {parts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-r", action="store_true", help="skip the metafor loop")
    parser.add_argument(
        "--tight", action="store_true", help="also run metafor's loop at the goldens' convergence"
    )
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    csv = OUT / f"pool_{args.n}.csv"
    df = make_data(args.n, args.seed)
    df.to_csv(csv, index=False)
    print(f"data: {args.n} meta-analyses, {len(df)} rows, {csv}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}, Python {sys.version.split()[0]}")  # fmt: skip

    exe = str(Path(sys.executable).with_name("metareview"))
    walls, cpus, _ = time_command([exe, "--help"], args.runs)
    report("metareview --help", walls, cpus)
    print("  " + import_costs(["--help"]))
    pool_cmd = [exe, "pool", str(csv), "--measure", "GEN", "--method", "REML", "--by", "id",
                "--json"]  # fmt: skip
    walls, cpus, out = time_command(pool_cmd, args.runs)
    report(f"metareview pool ({args.n} analyses)", walls, cpus)
    print("  " + import_costs(["pool", str(csv), "--measure", "GEN", "--by", "id", "--json"]))
    best = min(walls)

    cli = pd.DataFrame(json.loads(out)).rename(columns={"by": "id", "ci_lower": "ci_lb",
                                                        "ci_upper": "ci_ub"})  # fmt: skip
    import warnings

    from metareview.models import rma_batch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = rma_batch(df, by="id", method="REML")
    same = all(
        np.array_equal(cli[c].to_numpy(float), table[c].to_numpy(float), equal_nan=True)
        for c in ("estimate", "se", "tau2", "ci_lb", "ci_ub")
    )
    print(f"CLI JSON equals rma_batch in process bit for bit: {same}")

    if args.no_r or shutil.which("Rscript") is None:
        print("metafor loop: skipped")
        return
    for mode in ("default", "tight") if args.tight else ("default",):
        out_csv = OUT / f"metafor_{mode}.csv"
        proc = subprocess.run(["Rscript", str(HERE / "metafor_loop.R"), str(csv), str(out_csv),
                               mode], capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            print(f"metafor loop failed: {proc.stderr.strip()[:300]}")
            return
        loop = float(proc.stdout.strip().split("seconds=")[-1])
        ref = pd.read_csv(out_csv)
        merged = cli.merge(ref, on="id", suffixes=("", "_r"))
        diffs = ", ".join(
            f"{c} {np.nanmax(np.abs(merged[c].to_numpy(float) - merged[c + '_r'])):.1e}"
            for c in ("estimate", "se", "tau2", "ci_lb")
        )
        print(f"metafor rma() loop, control {mode:7s}: {loop:7.2f} s -> the CLI end to end is "
              f"{loop / best:6.1f}x faster; max abs difference: {diffs}")  # fmt: skip


if __name__ == "__main__":
    main()
