"""Reading the metafor goldens of tests/data/ (shared by the tests of metareview.models).

The goldens are JSON written by the R scripts under scripts/goldens/; R's special values are
strings there ("NA", "NaN", "Inf", "-Inf") and :func:`num` turns them back into floats.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data"
#: Agreement with metafor: rtol, and atol for values that are 0 in exact arithmetic.
RTOL = 1e-6
ATOL = 1e-9
SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def load_goldens(name: str) -> dict[str, Any]:
    """The goldens file ``tests/data/<name>``."""
    loaded: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return loaded


def num(x: Any) -> Any:
    """A golden value as a float (None and R's "NA" as NaN); a list as a float array."""
    if isinstance(x, list):
        return np.array([num(e) for e in x], dtype=float)
    if x is None:
        return math.nan
    if isinstance(x, str):
        return SPECIAL[x]
    return float(x)


def golden_frame(goldens: dict[str, Any], name: str) -> pd.DataFrame:
    """Dataset ``name`` of ``goldens["datasets"]``: its columns ("NA" missing), ``yi``, ``vi``."""
    d = goldens["datasets"][name]
    df = pd.DataFrame(
        {
            c: [None if e == "NA" else e for e in (v if isinstance(v, list) else [v])]
            for c, v in d["columns"].items()
        }
    )
    df["yi"] = [num(e) for e in d["yi"]]
    df["vi"] = [num(e) for e in d["vi"]]
    return df
