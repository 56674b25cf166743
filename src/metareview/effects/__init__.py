"""Effect sizes: raw study data to ``yi``/``vi`` (metafor's ``escalc``), conversions for
incompletely reported statistics (:mod:`metareview.effects.conversions`), and display
back-transformations (:mod:`metareview.effects.transforms`).

:mod:`metareview.effects.measures` owns the measure vocabulary: :data:`MEASURE_INFO`,
:func:`measure_info`, :data:`MEASURE_NAMES`. Names are loaded on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metareview._lazy import attach

if TYPE_CHECKING:
    from metareview.effects.escalc import (
        COLUMN_NAMES,
        NotComputable,
        escalc,
        not_computable,
        reasons,
    )
    from metareview.effects.measures import (
        MEASURE_INFO,
        MEASURE_NAMES,
        MEASURES,
        MeasureInfo,
        find_measure,
        hedges_correction,
        measure_info,
    )
    from metareview.effects.transforms import display_transform

_EXPORTS: dict[str, str] = {
    "COLUMN_NAMES": "escalc",
    "NotComputable": "escalc",
    "escalc": "escalc",
    "not_computable": "escalc",
    "reasons": "escalc",
    "MEASURES": "measures",
    "MEASURE_INFO": "measures",
    "MEASURE_NAMES": "measures",
    "MeasureInfo": "measures",
    "find_measure": "measures",
    "hedges_correction": "measures",
    "measure_info": "measures",
    "display_transform": "transforms",
}

__all__ = [
    "COLUMN_NAMES",
    "MEASURES",
    "MEASURE_INFO",
    "MEASURE_NAMES",
    "MeasureInfo",
    "NotComputable",
    "display_transform",
    "escalc",
    "find_measure",
    "hedges_correction",
    "measure_info",
    "not_computable",
    "reasons",
]
__getattr__, __dir__ = attach(__name__, _EXPORTS)
