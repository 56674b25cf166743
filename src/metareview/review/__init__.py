"""A review run end to end, as a Python API: what the command line and the web app call.

:mod:`metareview.review.pool` pools a study-level CSV file (``metareview pool``):
:func:`pool_file` returns a :class:`PoolOutcome`. Names are loaded on first use (PEP 562), so
importing this package imports none of its modules (and never matplotlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metareview._lazy import attach

if TYPE_CHECKING:
    from metareview.review.pool import (
        ESCALC_COLUMNS,
        JSON_KEYS,
        PoolOutcome,
        pool_file,
        read_study_csv,
        to_json,
    )

_EXPORTS: dict[str, str] = {
    "ESCALC_COLUMNS": "pool",
    "JSON_KEYS": "pool",
    "PoolOutcome": "pool",
    "pool_file": "pool",
    "read_study_csv": "pool",
    "to_json": "pool",
}

__all__ = [
    "ESCALC_COLUMNS",
    "JSON_KEYS",
    "PoolOutcome",
    "pool_file",
    "read_study_csv",
    "to_json",
]
__getattr__, __dir__ = attach(__name__, _EXPORTS)
