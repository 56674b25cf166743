"""rma_glmm(model="UM.RS") on the golden data sets: time per fit and agreement with metafor.

Run from the repository root:  python benchmarks/glmm_umrs.py [--repeat 3]

For each UM.RS case of tests/data/goldens_glmm.json (metafor 3.8.1 with lme4 1.1-31, made by
scripts/goldens/glmm.R) it prints the median wall time of a fit and the largest relative
difference from metafor's beta, SE, tau^2, sigma^2, QE_Wld and logLik; for the ML cases also
from the exact Laplace fit made in R (``laplace_exact``) and from metafor's fit with
glmmTMB (``glmmtmb``). Why the ML fits differ from
metafor's: tests/models/test_glmm.py's module docstring.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from metareview.models import rma_glmm

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("beta", "se", "tau2", "sigma2", "QE_Wld", "logLik")


def _num(value: Any) -> Any:
    if isinstance(value, list):
        return [_num(v) for v in value]
    return math.nan if value == "NA" else value


def _rel(got: float, want: float) -> float:
    if want == 0:
        return abs(got)
    return abs(got - want) / abs(want)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fits per case (median time)")
    args = parser.parse_args()
    goldens = json.loads((ROOT / "tests/data/goldens_glmm.json").read_text())
    exact = goldens["laplace_exact"]
    tmb = goldens.get("glmmtmb", {})
    print(f"metafor {goldens['metafor_version']}, lme4 {goldens['lme4_version']}")
    head = f"{'case':30s} {'k':>3s} {'time s':>7s}  " + "  ".join(f"{f:>8s}" for f in FIELDS)
    print(head)
    for case in goldens["cases"]:
        if case["options"].get("model") != "UM.RS":
            continue
        cells = {name: _num(v) for name, v in case["cells"].items()}
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = rma_glmm(case["measure"], **cells, **case["options"])
            times.append(time.perf_counter() - start)
        want = case["result"]
        diffs = [_rel(getattr(res, f), float(_num(want[f]))) for f in FIELDS]
        print(
            f"{case['name']:30s} {res.k:3d} {statistics.median(times):7.2f}  "
            + "  ".join(f"{d:8.1e}" for d in diffs)
            + "  vs metafor"
        )
        if case["name"] in exact:
            ref = exact[case["name"]]
            diffs = [_rel(getattr(res, f), float(ref[f])) for f in FIELDS]
            print(
                f"{'':30s} {'':3s} {'':7s}  "
                + "  ".join(f"{d:8.1e}" for d in diffs)
                + "  vs exact Laplace (R)"
            )
        if case["name"] in tmb:
            ref = tmb[case["name"]]
            diffs = [_rel(getattr(res, f), float(ref[f])) for f in FIELDS]
            print(
                f"{'':30s} {'':3s} {'':7s}  "
                + "  ".join(f"{d:8.1e}" for d in diffs)
                + "  vs metafor with glmmTMB"
            )


if __name__ == "__main__":
    main()
