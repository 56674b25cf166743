"""The goldens of tests/data/goldens_diagnostics.json (``Rscript scripts/goldens/diagnostics.R``,
metafor 3.8-1, ``control=list(threshold=1e-12, tol=1e-12, maxiter=5000)``) and the fits they
describe, refitted with metareview."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pandas as pd
from goldens_helpers import golden_frame, load_goldens

from metareview.models import rma, rma_reg

G = load_goldens("goldens_diagnostics.json")
FITS: dict[str, dict[str, Any]] = G["fits"]


def frame(dataset: str) -> pd.DataFrame:
    return golden_frame(G, dataset)


def fit(fid: str) -> Any:
    """The metareview fit of golden fit ``fid`` (same data, mods, method and test)."""
    f = FITS[fid]
    d = frame(f["dataset"])
    slab = G["datasets"][f["dataset"]]["slab"]
    mods = f["mods"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mods in (None, "NA") or (isinstance(mods, float) and math.isnan(mods)):
            return rma(d["yi"], d["vi"], method=f["method"], test=f["test"], slab=slab,
                       measure=G["datasets"][f["dataset"]]["measure"])
        return rma_reg(d["yi"], d["vi"], mods=mods, data=d, method=f["method"], test=f["test"],
                       slab=slab)
