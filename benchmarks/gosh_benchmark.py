"""GOSH of k = 16 studies (65,535 fits): metareview's gosh() against metafor's gosh().

Both refit the REML random-effects model to every non-empty subset of 16 simulated studies.
Ours: :func:`metareview.models.gosh` (one batch computation), best of ``--repeat`` runs, also with
``backend="dask"`` on a 2-worker LocalCluster when dask is installed. metafor: ``gosh(fit,
parallel = "multicore", ncpus = 2)`` in an Rscript subprocess in the same run (its default
control, as a user runs it). Printed: wall times, the ratio, and the largest absolute
differences of estimate, tau2, I2 and QE over the 65,535 subsets.

With ``--mods``: GOSH of the meta-regression ``rma(yi, vi, mods = ~ ablat, method = "REML")`` on
dat.bcg (log risk ratios, 13 trials: the 8,178 subsets of at least 2), fitted by the stacked
batches of :mod:`metareview.models._regbatch` (best of ``--repeat``), by the same model refitted
one subset at a time (the path before them, once), and by metafor's ``gosh(fit, parallel =
"multicore", ncpus = 2)`` in the same run; printed: the three times and the largest differences
between the two paths of ours and from metafor's (all columns).

With ``--reg``: GOSH of a meta-regression with one moderator on ``--k`` simulated studies
(default 16: the 65,519 subsets of at least 2), ``rma_reg(yi, vi, mods = x, method = "REML")``,
with the numpy backend (best of ``--repeat``), with ``backend="dask"`` on a 2-worker
LocalCluster (processes, one thread each; warmed by one call first), and by metafor's
``gosh(rma(yi, vi, mods = ~ x), parallel = "multicore", ncpus = 2)`` in the same run. With
``--subsets N`` all three fit N random subsets (metafor draws its own N, with replacement as its
gosh() does, so the values are compared on the subsets both drew) and ours are also timed on
every subset. Printed: wall times, ratios, whether dask equals numpy bit for bit, and the
largest absolute differences from metafor (its default control) of the coefficients, tau2, I2
and QE.

Usage::

    .venv/bin/python benchmarks/gosh_benchmark.py [--k 16] [--repeat 3] [--no-r]
    .venv/bin/python benchmarks/gosh_benchmark.py --mods [--repeat 3] [--no-r]
    .venv/bin/python benchmarks/gosh_benchmark.py --reg [--k 16] [--subsets N] [--no-r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from metareview.models.gosh import GoshResult

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
fit <- rma(yi, vi, data = dat, method = "REML")
t0 <- proc.time()[["elapsed"]]
g <- gosh(fit, parallel = "multicore", ncpus = 2, progbar = FALSE)
elapsed <- proc.time()[["elapsed"]] - t0
write.csv(data.frame(g$res, code = as.vector(g$incl %*% 2^(0:(ncol(g$incl) - 1)))), args[2],
          row.names = FALSE)
cat(sprintf("seconds=%.3f\n", elapsed))
"""


R_SCRIPT_MODS = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
fit <- rma(yi, vi, mods = ~ ablat, data = dat, method = "REML")
t0 <- proc.time()[["elapsed"]]
g <- gosh(fit, parallel = "multicore", ncpus = 2, progbar = FALSE)
elapsed <- proc.time()[["elapsed"]] - t0
write.csv(data.frame(g$res, code = as.vector(g$incl %*% 2^(0:(ncol(g$incl) - 1)))), args[2],
          row.names = FALSE)
cat(sprintf("seconds=%.3f\n", elapsed))
"""


R_SCRIPT_REG = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
fit <- rma(yi, vi, mods = ~ x, data = dat, method = "REML")
t0 <- proc.time()[["elapsed"]]
if (args[3] == "all") {
  g <- gosh(fit, parallel = "multicore", ncpus = 2, progbar = FALSE)
} else {
  g <- gosh(fit, subsets = as.numeric(args[3]), parallel = "multicore", ncpus = 2,
            progbar = FALSE, seed = as.numeric(args[4]))
}
elapsed <- proc.time()[["elapsed"]] - t0
write.csv(data.frame(g$res, code = as.vector(g$incl %*% 2^(0:(ncol(g$incl) - 1)))), args[2],
          row.names = FALSE)
cat(sprintf("seconds=%.3f\n", elapsed))
"""


def _time_gosh(res: Any, repeat: int, **kw: Any) -> tuple[float, GoshResult]:
    """Best wall time of ``repeat`` calls of ``gosh(res, **kw)``, and the last result."""
    from metareview.models import gosh

    best, out = float("inf"), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = gosh(res, **kw)
            best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def reg_case(k: int, subsets: int | None, repeat: int, seed: int, no_r: bool) -> None:
    """The ``--reg`` benchmark (module docstring)."""
    from metareview.models import rma_reg

    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    x = rng.normal(0.0, 1.0, k)
    yi = rng.normal(0.3 + 0.2 * x, np.sqrt(vi + 0.05))
    data = pd.DataFrame({"yi": yi, "vi": vi, "x": x})
    res = rma_reg(data["yi"], data["vi"], mods="x", data=data, method="REML")
    n_all = 2**k - 1 - k
    what = f"all {n_all} subsets of >= 2" if subsets is None else f"{subsets} random subsets"
    print(f"data: k = {k} simulated studies, one moderator x, seed {seed}; "
          f"rma_reg(mods = 'x', method = 'REML'); gosh: {what}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    kw: dict[str, Any] = {} if subsets is None else {"subsets": subsets, "seed": seed}
    best, ours = _time_gosh(res, repeat, **kw)
    print(f"metareview gosh() (numpy, best of {repeat}): {best:8.3f} s "
          f"({len(ours)} subsets, {int(ours.fit.sum())} fitted)")  # fmt: skip
    from dask.distributed import Client, LocalCluster

    with (LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl,
          Client(cl) as client):  # fmt: skip
        _time_gosh(res, 1, backend="dask", client=client, **kw)  # warm the workers
        dask_s, on_dask = _time_gosh(res, repeat, backend="dask", client=client, **kw)
        same = np.array_equal(on_dask.res.to_numpy(), ours.res.to_numpy(),
                              equal_nan=True)  # fmt: skip
        print(f"metareview gosh(backend='dask'), 2 workers (best of {repeat}): {dask_s:8.3f} s "
              f"(dask/numpy {dask_s / best:.2f}; identical to numpy: {same})")  # fmt: skip
        if subsets is not None:
            all_np, full = _time_gosh(res, 1)
            all_dk, full_dk = _time_gosh(res, 1, backend="dask", client=client)
            same_all = np.array_equal(full_dk.res.to_numpy(), full.res.to_numpy(),
                                      equal_nan=True)  # fmt: skip
            print(f"  all {n_all} subsets, once each: numpy {all_np:8.3f} s, dask {all_dk:8.3f} s "
                  f"(dask/numpy {all_dk / all_np:.2f}; identical: {same_all})")  # fmt: skip
    if no_r or shutil.which("Rscript") is None:
        print("metafor gosh(): skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv, script = (Path(tmp) / n for n in ("d.csv", "g.csv", "g.R"))
        data.to_csv(data_csv, index=False)
        script.write_text(R_SCRIPT_REG)
        cmd = ["Rscript", str(script), str(data_csv), str(out_csv),
               "all" if subsets is None else str(subsets), str(seed)]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"metafor gosh() failed: {proc.stderr.strip()[:300]}")
            return
        r_s = float(proc.stdout.strip().split("seconds=")[-1])
        ref = pd.read_csv(out_csv)
    print(f"metafor gosh(parallel='multicore', ncpus=2): {r_s:8.3f} s (Rscript wall {wall:.1f} s, "
          f"{len(ref)} subsets) -> metareview numpy {r_s / best:.0f}x, dask {r_s / dask_s:.0f}x "
          "faster")  # fmt: skip
    codes = (ours.incl.astype(np.int64) * (1 << np.arange(k))).sum(axis=1)
    mine = ours.res.assign(code=codes).set_index("code")
    theirs = ref.drop_duplicates("code").set_index("code")
    common = mine.index.intersection(theirs.index)
    mine, theirs = mine.loc[common], theirs.loc[common]
    na_same = np.array_equal(mine["tau2"].isna().to_numpy(), theirs["tau2"].isna().to_numpy())
    diffs = ", ".join(
        f"{c} {np.nanmax(np.abs(mine[c].to_numpy() - theirs[c].to_numpy())):.1e}"
        for c in ("intrcpt", "x", "tau2", "I2", "QE")
    )
    print(f"vs metafor on the {len(common)} subsets both fitted (its default control): "
          f"same NA rows {na_same}; max abs difference {diffs}")  # fmt: skip


def mods_case(repeat: int, no_r: bool) -> None:
    """The ``--mods`` benchmark (module docstring)."""
    import json

    from metareview.models import gosh, rma_reg
    from metareview.models.gosh import _gosh_reg

    golden = Path(__file__).resolve().parents[1] / "tests/data/goldens_models_extension.json"
    bcg = json.loads(golden.read_text("utf-8"))["datasets"]["bcg_RR"]
    data = pd.DataFrame({"yi": bcg["yi"], "vi": bcg["vi"], "ablat": bcg["columns"]["ablat"]})
    res = rma_reg(data["yi"], data["vi"], mods="ablat", data=data, method="REML")
    print("data: dat.bcg (RR, k = 13), rma_reg(mods = 'ablat', method = 'REML'); "
          "gosh: all subsets of >= 2 trials")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    best = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            t0 = time.perf_counter()
            ours = gosh(res)
            best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        loop = _gosh_reg(res, None, None, batched=False)
        loop_s = time.perf_counter() - t0
    print(f"subsets: {len(ours)} ({int(ours.fit.sum())} fitted; NaN: too few trials for 2 "
          "coefficients and tau2, or a rank-deficient model matrix)")  # fmt: skip
    print(f"metareview gosh(), stacked batches (best of {repeat}): {best:8.3f} s")
    print(f"metareview one subset at a time (the path before):   {loop_s:8.3f} s "
          f"-> {loop_s / best:.0f}x")  # fmt: skip
    a, b = ours.res.to_numpy(float), loop.res.to_numpy(float)
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))
    print(f"batched vs one at a time: same NaN rows {same_nan}, max relative difference "
          f"{rel:.1e} (denominator >= 1e-12)")  # fmt: skip
    if no_r or shutil.which("Rscript") is None:
        print("metafor gosh(): skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv, script = (Path(tmp) / n for n in ("d.csv", "g.csv", "g.R"))
        data.to_csv(data_csv, index=False)
        script.write_text(R_SCRIPT_MODS)
        t0 = time.perf_counter()
        proc = subprocess.run(["Rscript", str(script), str(data_csv), str(out_csv)],
                              capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"metafor gosh() failed: {proc.stderr.strip()[:300]}")
            return
        r_s = float(proc.stdout.strip().split("seconds=")[-1])
        ref = pd.read_csv(out_csv)
    print(f"metafor gosh(parallel='multicore', ncpus=2): {r_s:8.3f} s (Rscript wall {wall:.1f} s)"
          f" -> metareview {r_s / best:.0f}x faster")  # fmt: skip
    codes = (ours.incl.astype(np.int64) * (1 << np.arange(ours.k))).sum(axis=1)
    mine = ours.res.assign(code=codes).set_index("code")
    theirs = ref.set_index("code").loc[mine.index]
    na_same = np.array_equal(mine["tau2"].isna().to_numpy(), theirs["tau2"].isna().to_numpy())
    diffs = ", ".join(
        f"{c} {np.nanmax(np.abs(mine[c].to_numpy() - theirs[c].to_numpy())):.1e}"
        for c in ("intrcpt", "ablat", "tau2", "I2", "QE")
    )
    print(f"vs metafor (its default control): same NA rows {na_same}; max abs difference {diffs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--mods", action="store_true",
                        help="the meta-regression case (dat.bcg ~ ablat, 8,178 subsets)")
    parser.add_argument("--reg", action="store_true",
                        help="a meta-regression of --k simulated studies, numpy vs dask vs R")
    parser.add_argument("--subsets", type=int, default=None,
                        help="with --reg: this many random subsets (ours and metafor's)")
    args = parser.parse_args()
    if args.reg:
        reg_case(args.k, args.subsets, args.repeat, args.seed, args.no_r)
        return
    if args.mods:
        mods_case(args.repeat, args.no_r)
        return

    from metareview.models import gosh, rma

    rng = np.random.default_rng(args.seed)
    vi = rng.uniform(0.01, 0.2, args.k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    print(f"data: k = {args.k} simulated studies ({2**args.k - 1} subsets), seed {args.seed}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    res = rma(yi, vi, method="REML")
    best = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ours = gosh(res)
            best = min(best, time.perf_counter() - t0)
    print(f"metareview gosh() (numpy, best of {args.repeat}): {best:8.3f} s")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask backend: skipped (pip install 'metareview[scale]')")
    else:
        with (LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl,
              Client(cl) as client):  # fmt: skip
            gosh(res, backend="dask", client=client)  # warm the workers
            t0 = time.perf_counter()
            on_dask = gosh(res, backend="dask", client=client)
            dask_s = time.perf_counter() - t0
        same = np.array_equal(on_dask.res.to_numpy(), ours.res.to_numpy(), equal_nan=True)
        print(f"metareview gosh(backend='dask'), 2 workers: {dask_s:8.3f} s "
              f"(identical to numpy: {same})")  # fmt: skip

    if args.no_r or shutil.which("Rscript") is None:
        print("metafor gosh(): skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv, script = (Path(tmp) / n for n in ("d.csv", "g.csv", "g.R"))
        pd.DataFrame({"yi": yi, "vi": vi}).to_csv(data_csv, index=False)
        script.write_text(R_SCRIPT)
        t0 = time.perf_counter()
        proc = subprocess.run(["Rscript", str(script), str(data_csv), str(out_csv)],
                              capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"metafor gosh() failed: {proc.stderr.strip()[:300]}")
            return
        r_s = float(proc.stdout.strip().split("seconds=")[-1])
        ref = pd.read_csv(out_csv)
    print(f"metafor gosh(parallel='multicore', ncpus=2): {r_s:8.3f} s (Rscript wall {wall:.1f} s)"
          f" -> metareview {r_s / best:6.1f}x faster")  # fmt: skip
    codes = (ours.incl.astype(np.int64) * (1 << np.arange(args.k))).sum(axis=1)
    mine = ours.res.assign(code=codes).set_index("code")
    theirs = ref.set_index("code").loc[mine.index]
    diffs = ", ".join(
        f"{c} {np.nanmax(np.abs(mine[c].to_numpy() - theirs[c].to_numpy())):.1e}"
        for c in ("estimate", "tau2", "I2", "QE")
    )
    print(f"max abs difference over {len(mine)} subsets (metafor's default control): {diffs}")


if __name__ == "__main__":
    sys.exit(main())
