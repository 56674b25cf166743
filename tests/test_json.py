"""The one JSON conversion (``metareview._json``): NumPy to Python, NaN/inf to None."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pydantic

from metareview._json import finite_or_none, jsonable


@dataclass
class _Point:
    x: float
    tags: tuple[str, ...]


class _Model(pydantic.BaseModel):
    a: float
    b: list[int]


def test_jsonable_converts_everything_json_can_hold() -> None:
    value = {
        "nan": np.float64("nan"), "inf": math.inf, "arr": np.array([[1.5, np.nan]]),
        "int": np.int64(4), "bool": np.bool_(True), "tuple": (1, 2.5), 3: "key as text",
        "dc": _Point(math.nan, ("a",)), "model": _Model(a=1.0, b=[1]), "fit": object(),
    }  # fmt: skip
    out = jsonable(value, drop=("fit",))
    assert out == {
        "nan": None, "inf": None, "arr": [[1.5, None]], "int": 4, "bool": True,
        "tuple": [1, 2.5], "3": "key as text", "dc": {"x": None, "tags": ["a"]},
        "model": {"a": 1.0, "b": [1]},
    }  # fmt: skip
    assert type(out["int"]) is int and type(out["bool"]) is bool
    json.dumps(out, allow_nan=False)


def test_finite_or_none() -> None:
    assert finite_or_none(np.float32(1.5)) == 1.5
    assert finite_or_none("0.043") == 0.043
    for missing in (None, True, math.nan, -math.inf, "x", object()):
        assert finite_or_none(missing) is None
