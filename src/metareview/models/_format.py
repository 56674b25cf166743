"""The one place numbers and p-values are turned into text.

Two families, each used everywhere it applies:

* metafor's console style (``print.rma``): :func:`format_p` is metafor's ``.pval`` (``<.0001``
  below the cutoff) and :func:`format_number` with ``typographic=False`` its ``.fcf`` (fixed
  decimals, ``NA``, ``Inf``). The model printer and ``metareview pool``'s table use these.
* report style (figures, HTML, prose): :func:`format_p_report` (``p < 0.001``, ``p = 0.043``) and
  :func:`format_number` with ``typographic=True`` (a true minus sign, no ``-0.000``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_number", "format_p", "format_p_report", "format_significant"]


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def format_p(
    p: float | None,
    digits: int = 4,
    showeq: bool = False,
    sep: str | None = None,
    add0: bool = False,
) -> str:
    """A p-value as metafor prints it (its internal ``.pval(p, digits, showeq, sep, add0)``).

    ``p`` with ``digits`` decimals, or ``<.0001`` (for ``digits=4``) below ``10**-digits``;
    ``NA`` when missing. ``showeq`` puts ``"="`` before a value (``p-val = 0.0123``); ``sep``
    goes between the sign and the number and defaults to ``" "`` with ``showeq`` and ``""``
    without (as metafor's print methods call ``.pval``); ``add0`` writes ``<0.0001``.

    Examples
    --------
    >>> format_p(0.01234), format_p(3e-7), format_p(0.5, 2, True)
    ('0.0123', '<.0001', '= 0.50')
    >>> format_p(1e-9, 4, True, add0=True)
    '< 0.0001'
    """
    eq = "=" if showeq else ""
    gap = (" " if showeq else "") if sep is None else sep
    if p is None or math.isnan(p):
        return f"{eq}{gap}NA"
    if p >= 10.0 ** (-digits):
        return f"{eq}{gap}{p:.{digits}f}"
    return f"<{gap}{'0' if add0 else ''}." + "0" * (digits - 1) + "1"


def format_p_report(p: float | None, digits: int = 3, *, label: str = "p", na: str = "NA") -> str:
    """A p-value for a figure or a report: ``p = 0.043``, ``p < 0.001``.

    ``digits`` decimals, or ``< 10**-digits`` below it (``p < 0.001`` for ``digits=3``).
    Without a ``label`` the text is ``0.043`` or ``< 0.001``. A missing or non-finite ``p``
    gives ``na`` (after ``"p = "`` when there is a label).

    Examples
    --------
    >>> format_p_report(0.0427), format_p_report(1e-5, 4), format_p_report(None, label="", na="–")
    ('p = 0.043', 'p < 0.0001', '–')
    """
    lead = f"{label} " if label else ""
    if p is None or not math.isfinite(p):
        return f"{lead}= {na}" if label else na
    cutoff = 10.0 ** (-digits)
    if p < cutoff:
        return f"{lead}< {cutoff:.{digits}f}"
    return f"{lead}= {p:.{digits}f}" if label else f"{p:.{digits}f}"


def format_number(
    x: float | None, digits: int = 4, *, typographic: bool = False, na: str = "NA"
) -> str:
    """A number with ``digits`` decimals.

    ``typographic=False`` is metafor's ``.fcf`` (R's ``formatC(x, format = "f")``): ``NA`` for
    missing, ``Inf``/``-Inf``, a plain hyphen-minus. ``typographic=True`` is the report style:
    every non-finite value gives ``na``, a value that rounds to zero has no sign, and negative
    numbers take the minus sign U+2212.

    Examples
    --------
    >>> format_number(-0.00004), format_number(-0.00004, 3, typographic=True)
    ('-0.0000', '0.000')
    >>> format_number(-1.5, 2, typographic=True)
    '−1.50'
    """
    if _missing(x):
        return na
    assert x is not None
    if math.isinf(x):
        return na if typographic else ("Inf" if x > 0 else "-Inf")
    text = f"{x:.{digits}f}"
    if not typographic:
        return text
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text.replace("-", "\u2212")


def format_significant(
    x: float | None, digits: int = 4, *, typographic: bool = False, na: str = "NA"
) -> str:
    """A number with ``digits`` significant digits in fixed notation (at most 10 decimals), for
    values whose size varies by orders of magnitude (an incidence rate of 0.002667 per
    person-day, a mean stay of 33.88 days); otherwise as :func:`format_number`.

    Examples
    --------
    >>> format_significant(0.00266669), format_significant(33.8761), format_significant(1234.5)
    ('0.002667', '33.88', '1234')
    """
    if _missing(x) or x is None or not math.isfinite(x) or x == 0:
        return format_number(x, digits - 1, typographic=typographic, na=na)
    decimals = min(10, max(0, digits - 1 - math.floor(math.log10(abs(x)))))
    return format_number(x, decimals, typographic=typographic, na=na)
