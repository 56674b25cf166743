"""One conversion of metareview's values to JSON: NumPy to Python, NaN and infinities to None.

Every ``to_dict()``, the ``--json`` output of the command line and the HTML report's embedded
data go through :func:`jsonable` (or :func:`finite_or_none` for one number), so "a quantity that
does not apply" is ``null`` everywhere and ``json.dumps(..., allow_nan=False)`` never fails.
:func:`dumps` writes large documents (``metareview pool --by`` on 10,000 groups) with orjson.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np

__all__ = ["dumps", "finite_or_none", "jsonable"]


def finite_or_none(value: Any) -> float | None:
    """A finite float, or None (None, NaN, infinities, booleans, text that is not a number).

    Accepts Python and NumPy numbers and numeric strings (``"0.043"``).
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def jsonable(value: Any, *, drop: Collection[str] = ()) -> Any:
    """``value`` as JSON-safe Python: dicts, lists, str, int, float (finite), bool and None.

    Mappings (keys as text, minus the keys in ``drop``, at every depth), lists, tuples and NumPy
    arrays recurse; NumPy scalars become Python scalars; NaN and infinities become None; a
    pydantic model is dumped (``model_dump(mode="json")``), an object with ``to_dict()`` or a
    dataclass instance is converted field by field; anything else becomes its ``str``.
    """
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, drop=drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list | tuple):
        return [jsonable(v, drop=drop) for v in value]
    if isinstance(value, np.ndarray | np.generic):  # arrays and scalars: Python values
        return jsonable(value.tolist(), drop=drop)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return jsonable(dump(mode="json"), drop=drop)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict(), drop=drop)
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value), drop=drop)
    return str(value)


def dumps(value: Any) -> bytes:
    """``value`` (JSON-safe, as :func:`jsonable` returns) as strict JSON text in UTF-8 (RFC 8259).

    Written by orjson, about 20 times faster than :func:`json.dumps` on 10,000 pooled analyses
    (its float formatting is the cost): compact (no spaces after ``,`` and ``:``), non-ASCII
    text as UTF-8 instead of ``\\u`` escapes, and each float as the shortest text that reads back
    as the same double, as Python's ``repr`` does (only the spelling may differ: ``0.00001`` for
    ``1e-05``), so ``json.loads`` gives the same values bit for bit. Strict: a NaN or infinity
    that reached here would be written as ``null`` (never ``NaN``); NumPy arrays and scalars are
    accepted. What orjson refuses (an integer beyond 64 bits, an object that is not JSON-safe)
    goes to :func:`json.dumps` (``allow_nan=False``), which writes it or raises its usual error.
    """
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:
        import json

        return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
