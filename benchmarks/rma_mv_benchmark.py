"""Multilevel REML (``~ 1 | study/es``): metareview's ``rma_mv`` against metafor's ``rma.mv``.

Two data sets, both fitted by both in the same run:

1. dat.konstantopoulos2011 (k = 56 in 11 districts), ``random = ~ 1 | district/school``; metafor
   with its defaults (dense algebra).
2. A simulated set of ``--clusters`` clusters of ``--per`` effects (10,000 in 1,000 by default;
   sigma^2 = 0.1 between and 0.05 within clusters, v_i ~ U(0.01, 0.1)); metafor with
   ``sparse=TRUE`` (its dense default would factor a 10,000 x 10,000 matrix each iteration).

Times are the best of ``--repeat`` fits (metafor's sparse fit: one run; with ``--rounds R`` the
two sides alternate R times on dat.konstantopoulos2011, a line per round gives both times, their
ratio and the load average, and the summary each side's best and the lowest per-round ratio), in
process on each side (R's ``system.time`` around ``rma.mv``, so R's start-up and CSV reading are
not counted; ours includes reading the columns, building the blocks and the result).
Also printed: the ratio and the largest absolute difference of the estimates (beta, se, sigma^2).
Needs ``Rscript`` with metafor for the comparison; without it only our times are printed.

Usage::

    .venv/bin/python benchmarks/rma_mv_benchmark.py [--clusters 1000] [--per 10] [--repeat 3]
        [--sets both|konstantopoulos|simulated] [--rounds 1] [--no-metafor]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metareview.models import rma_mv

HERE = Path(__file__).resolve().parent
GOLDENS = HERE.parent / "tests" / "data" / "goldens_rma_mv.json"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(TRUE)
d <- read.csv(args[1]); rep <- as.integer(args[2]); sparse <- args[3] == "sparse"
best <- Inf
for (i in seq_len(rep)) {
  t <- system.time(r <- rma.mv(yi, vi, random = ~ 1 | study/es, data = d, sparse = sparse))
  best <- min(best, t[["elapsed"]])
}
cat(jsonlite::toJSON(list(seconds = best, beta = as.numeric(r$beta), se = as.numeric(r$se),
                          sigma2 = as.numeric(r$sigma2)), digits = NA, auto_unbox = TRUE))
"""


def simulate(clusters: int, per: int, seed: int) -> pd.DataFrame:
    """``clusters`` x ``per`` effects from the three-level model (see the module docstring)."""
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(1, clusters + 1), per)
    es = np.tile(np.arange(1, per + 1), clusters)
    vi = rng.uniform(0.01, 0.1, study.size)
    yi = (0.2 + rng.normal(0, np.sqrt(0.1), clusters)[study - 1]
          + rng.normal(0, np.sqrt(0.05), study.size) + rng.normal(0, np.sqrt(vi)))
    return pd.DataFrame({"study": study, "es": es, "yi": np.round(yi, 12),
                         "vi": np.round(vi, 12)})


def konstantopoulos() -> pd.DataFrame:
    g = json.loads(GOLDENS.read_text(encoding="utf-8"))
    d = pd.DataFrame(g["datasets"]["konstantopoulos2011"]["columns"])
    return d.drop(columns=["study"]).rename(columns={"district": "study", "school": "es"})


def ours(d: pd.DataFrame, repeat: int) -> tuple[float, dict[str, np.ndarray]]:
    best = np.inf
    res = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = rma_mv("yi", "vi", data=d, random="~ 1 | study/es")
        best = min(best, time.perf_counter() - t0)
    assert res is not None
    return best, {"beta": res.beta, "se": res.se, "sigma2": res.sigma2}


def metafor(d: pd.DataFrame, repeat: int, sparse: bool,
            timeout: float) -> tuple[float, dict[str, np.ndarray]] | None:
    """metafor's best time and estimates; None when it does not finish within ``timeout`` s."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "fit.R"
        d.to_csv(csv, index=False)
        script.write_text(R_SCRIPT, encoding="utf-8")
        try:
            out = subprocess.run(["Rscript", str(script), str(csv), str(repeat),
                                  "sparse" if sparse else "dense"],
                                 capture_output=True, text=True, check=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    got = json.loads(out.stdout)
    return float(got["seconds"]), {k: np.atleast_1d(np.asarray(got[k], dtype=float))
                                   for k in ("beta", "se", "sigma2")}


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def rounds(name: str, d: pd.DataFrame, args: argparse.Namespace) -> str:
    """``args.rounds`` alternating rounds (ours, then metafor; each the best of
    ``args.repeat`` fits), one line per round with its ratio, then each side's best."""
    best_o, best_r, ratios = np.inf, np.inf, []
    est_o: dict[str, np.ndarray] = {}
    est_r: dict[str, np.ndarray] = {}
    for i in range(args.rounds):
        t_o, est_o = ours(d, args.repeat)
        got = metafor(d, args.repeat, False, args.metafor_timeout)
        if got is None:
            return f"{name}: metafor did not finish within {args.metafor_timeout:.0f} s"
        t_r, est_r = got
        ratios.append(t_r / t_o)
        best_o, best_r = min(best_o, t_o), min(best_r, t_r)
        print(f"  round {i + 1}: metareview {t_o * 1e3:.2f} ms, metafor rma.mv {t_r * 1e3:.1f} ms, "
              f"ratio {t_r / t_o:.1f}x ({load()})", flush=True)
    diff = max(float(np.max(np.abs(est_o[k] - est_r[k]))) for k in est_r)
    return (f"{name}: metareview {best_o:.4f} s, metafor rma.mv {best_r:.3f} s (each side's best "
            f"of {args.rounds} rounds x {args.repeat} fits), ratio {best_r / best_o:.1f}x, "
            f"lowest per-round ratio {min(ratios):.1f}x, max |difference| of estimates "
            f"{diff:.2e}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--per", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--metafor-timeout", type=float, default=3600.0,
                    help="seconds to wait for metafor on one data set")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate ours and metafor this many times on dat.konstantopoulos2011 "
                         "and keep each side's best (a shared machine's load evens out)")
    ap.add_argument("--no-metafor", action="store_true", help="time ours only")
    ap.add_argument("--sets", choices=["both", "konstantopoulos", "simulated"], default="both",
                    help="which data sets to run (metafor's sparse fit of the simulated one takes "
                         "~20 minutes)")
    args = ap.parse_args(argv)
    have_r = shutil.which("Rscript") is not None and not args.no_metafor
    sets = [("dat.konstantopoulos2011 (k = 56)", konstantopoulos(), False),
            (f"simulated (k = {args.clusters * args.per}, {args.clusters} clusters)",
             simulate(args.clusters, args.per, args.seed), True)]
    if args.sets != "both":
        sets = sets[:1] if args.sets == "konstantopoulos" else sets[1:]
    for name, d, sparse in sets:
        if have_r and not sparse and args.rounds > 1:
            line = rounds(name, d, args)
            print(line, flush=True)
            continue
        t_ours, est_ours = ours(d, args.repeat)
        line = f"{name}: metareview {t_ours:.4f} s"
        got = metafor(d, args.repeat if not sparse else 1, sparse, args.metafor_timeout) \
            if have_r else None
        label = f"metafor rma.mv{' (sparse=TRUE)' if sparse else ''}"
        if got is not None:
            t_r, est_r = got
            diff = max(float(np.max(np.abs(est_ours[k] - est_r[k]))) for k in est_r)
            line += (f", {label} {t_r:.3f} s, ratio {t_r / t_ours:.1f}x, "
                     f"max |difference| of estimates {diff:.2e}")
        elif have_r:
            line += (f", {label} did not finish within {args.metafor_timeout:.0f} s "
                     f"(ratio > {args.metafor_timeout / t_ours:.0f}x)")
        else:
            line += " (metafor not run)" if args.no_metafor else \
                " (Rscript not found: metafor not run)"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
