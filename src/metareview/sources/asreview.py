"""ASReview LAB's labelling conventions in CSV and RIS files: reading a record's label and note.

ASReview LAB (van de Schoot et al., Nat Mach Intell 2021;3:125-133) keeps a reviewer's
decisions in the files it reads and writes (read from the source of ASReview 3.0.8,
``asreview/data/base.py``, ``asreview/data/ris.py`` and the web app's dataset export):

- **CSV/TSV/Excel.** The label is the first of the columns ``asreview_label``, ``included``,
  ``label``, ``final_included``, ``label_included``, ``included_label``, ``included_final``,
  ``included_flag``, ``include`` that the header has; ``1`` (or ``yes``, ``y``) is relevant,
  ``0`` (``no``, ``n``) irrelevant, an empty cell not seen. The export writes the input's
  columns, the pandas index as a first, unnamed column, and ``asreview_label``,
  ``asreview_time``, ``asreview_note`` (the reviewer's note), ``asreview_group_id``.
- **RIS.** There is no label tag: the label is a note (``N1``) ``ASReview_relevant``,
  ``ASReview_irrelevant`` or ``ASReview_not_seen``; the export adds further notes
  ``asreview_<column>: <JSON value>`` (``asreview_note: "..."``, ``asreview_time: "..."``),
  and numbers its records with a line ``1.``, ``2.``, ... before each ``TY`` (rispy's
  ``enumerate``). ASReview drops the ``LB`` tag on import, so it carries no label.

metareview reads the same columns and notes (``included`` is what the export writes for
CSV, the notes for RIS) so that a review moves between the two tools with its decisions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from metareview.errors import InputError

__all__ = [
    "LABEL_COLUMNS",
    "NOTE_LABELS",
    "csv_label",
    "csv_label_column",
    "csv_note",
    "label_note",
    "ris_label",
    "ris_note",
]

#: ASReview's label columns, in the order it prefers them (``asreview/data/base.py``).
LABEL_COLUMNS: tuple[str, ...] = (
    "asreview_label", "included", "label", "final_included", "label_included",
    "included_label", "included_final", "included_flag", "include",
)  # fmt: skip

#: RIS notes that carry a label (``asreview/data/ris.py``): 1 relevant, 0 irrelevant, None not
#: seen.
NOTE_LABELS: dict[str, int | None] = {
    "ASReview_relevant": 1,
    "ASReview_irrelevant": 0,
    "ASReview_not_seen": None,
}

_CSV_VALUES: dict[str, int | None] = {
    "": None, "1": 1, "0": 0, "1.0": 1, "0.0": 0, "yes": 1, "no": 0, "y": 1, "n": 0,
}  # fmt: skip


def csv_label_column(header: Sequence[str]) -> str | None:
    """The column ASReview would read the label from (as written in ``header``), or None."""
    by_key = {h.strip().lower(): h for h in header}
    for name in LABEL_COLUMNS:
        if name in by_key:
            return by_key[name]
    return None


def csv_label(
    value: str, *, column: str, file: str | None = None, row: int | None = None
) -> int | None:
    """A CSV label cell as 1 (relevant), 0 (irrelevant) or None (not seen).

    Raises
    ------
    InputError
        Any other value, naming the file, row and column.
    """
    key = value.strip().lower()
    if key not in _CSV_VALUES:
        raise InputError(
            f"label {value!r} is not one of ASReview's: 1 (relevant), 0 (irrelevant) or empty "
            "(not seen)",
            file=file, row=row, field=column,
        )  # fmt: skip
    return _CSV_VALUES[key]


def csv_note(columns: Mapping[str, str]) -> str | None:
    """The reviewer's note of ASReview's export (column ``asreview_note``), or None."""
    for name, value in columns.items():
        if name.strip().lower() == "asreview_note" and value.strip():
            return value.strip()
    return None


def ris_label(notes: Sequence[str]) -> tuple[bool, int | None]:
    """``(labelled, label)`` from a RIS record's notes: ``labelled`` is False when no note is
    an ASReview label; ``label`` is 1, 0 or None (``ASReview_not_seen``).

    As ASReview does, the first note that contains one of :data:`NOTE_LABELS` counts (a
    Zotero export wraps notes in ``<p>...</p>``).
    """
    for note in notes:
        for marker, label in NOTE_LABELS.items():
            if marker in note:
                return True, label
    return False, None


def ris_note(notes: Sequence[str]) -> str | None:
    """The reviewer's note that ASReview's RIS export writes as ``asreview_note: "<JSON>"``."""
    for note in notes:
        text = note.strip()
        if text.startswith("asreview_note:"):
            value = text.partition(":")[2].strip()
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            if decoded not in (None, ""):
                return str(decoded)
    return None


def label_note(label: int | None) -> str:
    """The RIS note ASReview reads ``label`` from (1, 0 or None)."""
    for marker, value in NOTE_LABELS.items():
        if value == label:
            return marker
    raise InputError(f"label {label!r} is not 1, 0 or None")
