"""Effect sizes: raw study data to ``yi``/``vi`` (metafor's ``escalc``), conversions for
incompletely reported statistics (:mod:`metareview.effects.conversions`), and display
back-transformations (:mod:`metareview.effects.transforms`)."""

from metareview.effects.escalc import COLUMN_NAMES, NotComputable, escalc, not_computable, reasons
from metareview.effects.measures import MEASURES, hedges_correction
from metareview.effects.transforms import display_transform

__all__ = [
    "COLUMN_NAMES",
    "MEASURES",
    "NotComputable",
    "display_transform",
    "escalc",
    "hedges_correction",
    "not_computable",
    "reasons",
]
