"""The one JSON conversion (``metareview._json``): NumPy to Python, NaN/inf to None."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pydantic
import pytest

from metareview._json import dumps, finite_or_none, jsonable


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


def test_dumps_reads_back_as_the_same_doubles_bit_for_bit() -> None:
    # orjson's float text against Python's repr: the same double after json.loads, for random
    # doubles over the whole exponent range and the awkward ones (subnormal, -0.0, 1e-05, 1e16)
    rng = np.random.default_rng(20261202)
    bits = rng.integers(0, 2**63, size=20_000, dtype=np.uint64) | (
        rng.integers(0, 2, size=20_000, dtype=np.uint64) << np.uint64(63)
    )
    drawn = bits.view(np.float64)
    awkward = [5e-324, -0.0, 1e-05, 1e16, 0.1, 2.0**53 + 2, 1.7976931348623157e308]
    x = [*drawn[np.isfinite(drawn)].tolist(), *awkward]
    doc = {"x": x, "k": [0, -1, 2**63 - 1]}
    got = json.loads(dumps(doc))
    assert np.array_equal(np.array(got["x"]).view(np.uint64), np.array(x).view(np.uint64))
    assert got == json.loads(json.dumps(doc, allow_nan=False))


def test_dumps_is_strict_utf8_json() -> None:
    text = dumps({"nan": math.nan, "inf": np.array([math.inf, 1.5]), "name": "Müller 東京"})
    assert text == '{"nan":null,"inf":[null,1.5],"name":"Müller 東京"}'.encode()
    # what orjson refuses goes to the standard library: an integer beyond 64 bits is written,
    # an object that is not JSON-safe is its usual TypeError
    assert json.loads(dumps({"big": 2**70})) == {"big": 2**70}
    with pytest.raises(TypeError):
        dumps({"fit": object()})
