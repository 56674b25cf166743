"""metafor's selmodel integrals against ours and an independent reference.

Run from the repository root, after benchmarks/selmodel_integrals.R wrote ``ai.json``:
    python benchmarks/selmodel_integrals.py ai.json
For each case it prints the largest relative error of our A_i (selmodel's composite
Gauss-Legendre rule) and of metafor's at each rel.tol, both against scipy's ``quad`` (QUADPACK)
split at the integrand's kinks (the p-value clamps) at epsrel 1e-13, and the error that makes
in the log likelihood (the sum of log A_i). Results: benchmarks/results/selmodel_integrals.txt.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate

sys.path.insert(0, "tests/models")
from goldens_helpers import num

sm = importlib.import_module("metareview.models.selmodel")


def reference(c: dict[str, Any], i: int, mu: float, tau2: float, delta: Any, alt: str) -> float:
    """A_i by scipy's quad on each piece between the kinks (z = (y - mu) / sd in +-40)."""
    vi = float(c["vi"][i])
    sd, sv = math.sqrt(vi + tau2), math.sqrt(vi)
    pmin = sm._PVAL_MIN.get(c["type"], 0.0)

    def f(z: float) -> float:
        p = float(sm._pvalues(np.array([mu + sd * z]), np.array([vi]), alt)[0])
        p = min(max(p, pmin), 1 - pmin)
        lw = float(sm._log_w(c["type"], np.array([p]), delta, 0.0)[0])
        return math.exp(lw - z * z / 2) / math.sqrt(2 * math.pi)

    kinks = [(k * sv - mu) / sd for k in sm._kinks(alt, [pmin, 1 - pmin, 0.0])]
    pts = [-40.0, *sorted(k for k in kinks if -40 < k < 40), 40.0]
    return sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=1000)[0]
               for a, b in itertools.pairwise(pts))


def main(path: str) -> None:
    cases = json.loads(Path("tests/data/goldens_selmodel.json").read_text())["cases"]
    golden = {c["name"]: c for c in cases}
    for line in Path(path).read_text().splitlines():
        d = json.loads(line)
        c = golden[d["name"][0]]
        yi, vi = np.array(c["yi"], float), np.array(c["vi"], float)
        opts = c["options"] if isinstance(c["options"], dict) else {}
        alt = opts.get("alternative", "greater")
        r = c["result"]
        beta, tau2 = np.atleast_1d(num(r["beta"])), float(num(r["tau2"]))
        delta = np.atleast_1d(num(r["delta"]))
        X = np.column_stack([np.ones(yi.size), *[np.array(m, float) for m in c.get("mods", [])]])
        mu = X @ beta
        pmin = sm._PVAL_MIN.get(c["type"], 0.0)
        setup = sm._Setup(c["type"], alt, yi, vi, np.array([0.0]), sm._pvalues(yi, vi, alt),
                          None, pmin, delta.size, (None,) * delta.size, np.zeros(1),
                          np.zeros(1), None)
        ours = np.exp(sm._log_a_cont(setup, mu, tau2, delta))
        ref = np.array([reference(c, i, float(mu[i]), tau2, delta, alt) for i in range(yi.size)])
        err = np.max(np.abs(ours / ref - 1))
        print(f"{c['name']} ({c['type']}): ours vs reference, max rel {err:.1e}")
        for key, vals in d["Ai"].items():
            v = np.array([np.nan if x is None else x for x in vals], float)
            print(f"   metafor {key:16s} max rel {np.nanmax(np.abs(v / ref - 1)):.1e}, "
                  f"log-likelihood error {np.nansum(np.log(v / ref)):.2e}")


if __name__ == "__main__":
    main(sys.argv[1])
