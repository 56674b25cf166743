"""Spreadsheet cells that cannot run: the one guard every CSV/XLSX export uses, and its undo.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets; a record title or a reviewer's note can start that way,
and a shared export would run it (OWASP, "CSV Injection"). :func:`guard_cell` prefixes such
text with a single quote, which spreadsheets show as text; numbers (``-3.5``) stay numbers.
:func:`restore_cell` removes that one quote again when a file metareview wrote is read back
(``decide``, ``extract --import``), so every value round-trips unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_START", "guard_cell", "restore_cell"]

#: First characters that make a spreadsheet cell a formula (OWASP CSV-injection rule).
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _guarded(text: str) -> bool:
    """Text :func:`guard_cell` prefixes: formula-like, or already looking guarded (``'=x``,
    which a user may have typed to defuse a formula: it gets one more quote, so that
    :func:`restore_cell` gives back exactly what was stored)."""
    if text.startswith(FORMULA_START) and not _is_number(text):
        return True
    return len(text) > 1 and text[0] == "'" and text[1] in "'=+-@\t\r"


def guard_cell(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet: formula-like text gets a leading ``'``."""
    if isinstance(value, str) and _guarded(value):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """Undo :func:`guard_cell` on a cell read back: ``restore_cell(guard_cell(s)) == s`` for
    every string ``s``."""
    if len(text) > 1 and text[0] == "'" and _guarded(text[1:]):
        return text[1:]
    return text
