"""Which GOSH subsets differ from metafor's gosh(), and why.

The data of ``gosh_benchmark.py`` (k = 16 simulated studies, seed 20261202, REML; 65,535
subsets). metafor's values per subset come from ``gosh(fit)`` run in an Rscript subprocess
(``--r-csv FILE`` reuses a CSV with columns ``code, k, QE, I2, H2, tau2, estimate``, ``code``
the subset as the binary number whose bit j says study j + 1 is in). For the ``--top``
subsets with the largest difference in the estimate it prints ours, metafor's gosh() value,
metafor's ``rma(subset = ...)`` refit at tight convergence (``threshold = 1e-12``), and the
restricted log likelihood at our tau^2, at metafor's and at tau^2 = 0 (the REML criterion
both maximise), so the reader sees which fit is at the maximum.

Usage::

    .venv/bin/python benchmarks/gosh_subsets.py [--top 100] [--r-csv metafor_gosh.csv]
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

R_GOSH = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
g <- gosh(rma(yi, vi, data = dat, method = "REML"), parallel = "multicore", ncpus = 2,
          progbar = FALSE)
write.csv(data.frame(g$res, code = as.vector(g$incl %*% 2^(0:(ncol(g$incl) - 1)))), args[2],
          row.names = FALSE)
"""

R_REFIT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
codes <- read.csv(args[2])$code
k <- nrow(dat)
out <- t(sapply(codes, function(cd) {
  sel <- bitwAnd(cd, 2^(0:(k - 1))) > 0
  r <- suppressWarnings(rma.uni(dat$yi, dat$vi, method = "REML", subset = sel, skipr2 = TRUE,
                                control = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)))
  c(cd, r$tau2, r$beta[1], r$I2)
}))
colnames(out) <- c("code", "tau2", "estimate", "I2")
write.csv(out, args[3], row.names = FALSE)
"""


def reml_ll(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Restricted log likelihood of the random-effects model at ``tau2`` (metafor's REML
    ``ll``): ``-1/2 [(k-1) log 2pi + sum log(v+t) + log sum w + sum w (y - mu)^2]``."""
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    return -0.5 * (
        (y.size - 1) * math.log(2 * math.pi)
        + float(np.sum(np.log(v + tau2)))
        + math.log(float(np.sum(w)))
        + float(np.sum(w * (y - mu) ** 2))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--r-csv", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("Rscript") is None:
        sys.exit("needs Rscript with metafor")

    from metareview.models import gosh, rma

    rng = np.random.default_rng(args.seed)
    vi = rng.uniform(0.01, 0.2, args.k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gosh(rma(yi, vi, method="REML"))
    codes = (ours.incl.astype(np.int64) * (1 << np.arange(args.k))).sum(axis=1)
    mine = ours.res.assign(code=codes).set_index("code")
    with tempfile.TemporaryDirectory() as tmp:
        data_csv = Path(tmp) / "d.csv"
        pd.DataFrame({"yi": yi, "vi": vi}).to_csv(data_csv, index=False)
        r_csv = args.r_csv
        if r_csv is None:
            r_csv = Path(tmp) / "g.csv"
            (Path(tmp) / "g.R").write_text(R_GOSH)
            subprocess.run(["Rscript", str(Path(tmp) / "g.R"), str(data_csv), str(r_csv)],
                           check=True)  # fmt: skip
        theirs = pd.read_csv(r_csv).set_index("code").loc[mine.index]
        diff = (mine["estimate"] - theirs["estimate"]).abs()
        top = diff.sort_values(ascending=False).index[: args.top]
        pd.DataFrame({"code": top}).to_csv(Path(tmp) / "top.csv", index=False)
        (Path(tmp) / "r.R").write_text(R_REFIT)
        subprocess.run(
            [
                "Rscript",
                str(Path(tmp) / "r.R"),
                str(data_csv),
                str(Path(tmp) / "top.csv"),
                str(Path(tmp) / "tight.csv"),
            ],
            check=True,
        )
        tight = pd.read_csv(Path(tmp) / "tight.csv").set_index("code").loc[top]

    print(f"data: k = {args.k} simulated studies, seed {args.seed}, REML; {len(mine)} subsets")
    print(
        "ours vs metafor gosh() (default control): max |diff| "
        + ", ".join(
            f"{c} {np.nanmax(np.abs(mine[c] - theirs[c])):.1e}"
            for c in ("estimate", "tau2", "I2", "QE")
        )
    )
    print(
        f"subsets with |estimate diff| > 1e-6: {int((diff > 1e-6).sum())}, > 1e-4: "
        f"{int((diff > 1e-4).sum())}, > 1e-3: {int((diff > 1e-3).sum())}"
    )
    t = tight
    m = mine.loc[top]
    print(
        f"the {len(top)} subsets with the largest differences, refitted by metafor at "
        "threshold = 1e-12: max |diff| vs ours: "
        f"estimate {np.max(np.abs(m['estimate'] - t['estimate'])):.1e}, "
        f"tau2 {np.max(np.abs(m['tau2'] - t['tau2'])):.1e}, "
        f"I2 {np.max(np.abs(m['I2'] - t['I2'])):.1e}"
    )
    rows = []
    for c in top[:12]:
        sel = ((c >> np.arange(args.k)) & 1).astype(bool)
        y, v = yi[sel], vi[sel]
        rows.append({
            "studies": " ".join(str(j + 1) for j in np.nonzero(sel)[0]),
            "est_ours": m.loc[c, "estimate"], "est_gosh": theirs.loc[c, "estimate"],
            "est_tight": t.loc[c, "estimate"], "tau2_ours": m.loc[c, "tau2"],
            "tau2_gosh": theirs.loc[c, "tau2"], "tau2_tight": t.loc[c, "tau2"],
            "llR_ours": reml_ll(y, v, float(m.loc[c, "tau2"])),
            "llR_gosh": reml_ll(y, v, float(theirs.loc[c, "tau2"])),
            "llR_tau2=0": reml_ll(y, v, 0.0),
        })  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.7g}"))


if __name__ == "__main__":
    main()
