"""The one printer of every fitted result: text in metafor's layout, and HTML.

A result class describes itself once (``_printable()``: a :class:`Printable`, a sequence of
blocks) and the :class:`Printed` mixin gives it ``summary()``, ``__str__`` and ``_repr_html_``.
A block is a line of text (a title, a setting, a blank line), a :class:`Field` (key-value
line), a :class:`Table` (header, row names, cells) or :data:`SIGNIF_CODES`.

* :func:`render_text` prints the blocks line by line as metafor does (``print.rma.uni``,
  ``print.rma.mh``, ``print.regtest``, ...): tables right-aligned as R prints a character data
  frame.
* :func:`render_html` renders the same blocks as escaped HTML: one ``<table>`` per run of fields
  and per table, other lines as ``<p>``; for notebooks and the HTML report.

One missing-value convention: a missing cell (``None``) and a missing number (NaN through
:func:`num`/:func:`pval`, i.e. :mod:`metareview.models._format`) print as metafor's ``NA``, in
text and in HTML. Numbers follow metafor (4 decimals, p-values below 1e-4 printed as
``<.0001``) and the significance stars of R's ``symnum()``.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from numpy.typing import NDArray

from metareview.models._format import format_number, format_p

__all__ = [
    "NA",
    "SIGNIF_CODES",
    "Field",
    "Printable",
    "Printed",
    "SignifCodes",
    "Table",
    "coefficient_header",
    "coefficient_rows",
    "format_btt",
    "moderators_heading",
    "moderators_test",
    "num",
    "pval",
    "render_html",
    "render_text",
    "stars",
    "wald_field",
]

NA = "NA"
"""What metafor prints for a missing value, in text and in HTML."""

Cell: TypeAlias = str | None


def num(x: float | None, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals as metafor's ``.fcf`` (``NA`` when missing)."""
    return format_number(x, digits, na=NA)


def pval(p: float | None, digits: int = 4, showeq: bool = False, add0: bool = False) -> str:
    """A p-value as metafor's ``.pval`` (``<.0001``; ``NA`` when missing)."""
    return format_p(p, digits, showeq, add0=add0)


def stars(p: float) -> str:
    """R's significance codes: 0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1."""
    if math.isnan(p):
        return ""
    for cut, sym in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return sym
    return ""


def _cell(c: Cell) -> str:
    return NA if c is None else c


@dataclass(frozen=True)
class Field:
    """A key-value line. In text ``key + value`` (the key carries metafor's padding); in HTML
    a row ``<th>key</th><td>value</td>``."""

    key: str
    value: Cell


@dataclass(frozen=True)
class Table:
    """Columns ``header`` over ``rows`` of cells, with optional ``row_names`` (first entry
    for the header line). ``end`` is appended to every text line (``print.rma.mh`` ends its
    table lines with a space)."""

    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    row_names: Sequence[str] | None = None
    end: str = ""
    #: between columns (R's print of a data frame uses one space)
    sep: str = "  "

    def text(self) -> list[str]:
        """Right-aligned columns separated by two spaces, as R prints a character data frame."""
        cols = [list(self.header), *[[_cell(c) for c in r] for r in self.rows]]
        widths = [max(len(r[j]) for r in cols) for j in range(len(self.header))]
        names = list(self.row_names or [""] * len(cols))
        name_w = max((len(n) for n in names), default=0)
        lines = []
        for r, name in zip(cols, names, strict=True):
            cells = self.sep.join(c.rjust(w) for c, w in zip(r, widths, strict=True))
            lines.append((name.ljust(name_w) + " " if name_w else "") + cells + self.end)
        return lines


@dataclass(frozen=True)
class SignifCodes:
    """The legend of the significance stars."""

    legend: str = "0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


SIGNIF_CODES = SignifCodes()

Block: TypeAlias = str | Field | Table | SignifCodes


@dataclass(frozen=True)
class Printable:
    """A neutral description of a result: its blocks, in print order."""

    blocks: Sequence[Block]

    def __add__(self, other: Printable) -> Printable:
        return Printable([*self.blocks, *other.blocks])


def format_btt(btt: Sequence[int]) -> str:
    """metafor's ``.format.btt``: ``2:3`` for a run of coefficients, else ``2,4`` (1-based)."""
    one = [b + 1 for b in btt]
    if len(one) > 1 and all(b - a == 1 for a, b in itertools.pairwise(one)):
        return f"{one[0]}:{one[-1]}"
    return ",".join(str(b) for b in one)


def moderators_heading(btt: Sequence[int], mark: str = "") -> str:
    """metafor's ``Test of Moderators (coefficients 2:3):`` line (``mark``: a footnote sign)."""
    plural = " " if len(btt) == 1 else "s "
    return f"Test of Moderators (coefficient{plural}{format_btt(btt)}):{mark}"


def moderators_test(
    btt: Sequence[int],
    QM: float,
    QMp: float,
    QMdf: tuple[int, int | float | None] | Sequence[Any],
    *,
    f_test: bool,
    digits: int,
) -> list[Block]:
    """The omnibus test of moderators as metafor prints it: ``F(df1 = ., df2 = .)`` for a
    t-based fit, else ``QM(df = .)``; then a blank line."""
    return [moderators_heading(btt), wald_field(QM, QMp, QMdf, f_test=f_test, digits=digits), ""]


def wald_field(
    QM: float,
    QMp: float,
    QMdf: tuple[int, int | float | None] | Sequence[Any],
    *,
    f_test: bool,
    digits: int,
) -> Field:
    """A Wald-type test line as metafor prints it: ``F(df1 = ., df2 = .) = F, p-val = p`` for a
    t-based fit, else ``QM(df = .) = QM, p-val = p``."""
    test = f"{num(QM, digits)}, p-val {pval(QMp, digits, True)}"
    label = f"F(df1 = {QMdf[0]}, df2 = {QMdf[1]}) = " if f_test else f"QM(df = {QMdf[0]}) = "
    return Field(label, test)


def coefficient_header(*, t_test: bool, signif_stars: bool) -> list[str]:
    """The header of metafor's ``Model Results`` table (``tval``/``df`` for a t-based fit)."""
    stat = ["tval", "df"] if t_test else ["zval"]
    return ["estimate", "se", *stat, "pval", "ci.lb", "ci.ub", *([""] if signif_stars else [])]


_Floats: TypeAlias = Sequence[float] | NDArray[Any]


def coefficient_rows(
    beta: _Floats,
    se: _Floats,
    zval: _Floats,
    pvals: _Floats,
    ci_lb: _Floats,
    ci_ub: _Floats,
    *,
    digits: int,
    df: Sequence[str] | None = None,
    signif_stars: bool = False,
    no_star: str = "",
) -> list[list[str]]:
    """The rows of metafor's ``Model Results`` table: estimate, se, z/t (df), p, CI, stars
    (``no_star`` where p > 0.1: R's symnum prints a space in some methods)."""
    rows = []
    for j in range(len(beta)):
        row = [num(float(beta[j]), digits), num(float(se[j]), digits), num(float(zval[j]), digits)]
        if df is not None:
            row.append(df[j])
        row += [
            pval(float(pvals[j]), digits),
            num(float(ci_lb[j]), digits),
            num(float(ci_ub[j]), digits),
        ]
        if signif_stars:
            row.append(stars(float(pvals[j])) or no_star)
        rows.append(row)
    return rows


def render_text(p: Printable) -> str:
    """The blocks as metafor prints them, one line each (a :class:`Table` takes its lines,
    :data:`SIGNIF_CODES` a blank line, ``---`` and the legend)."""
    out: list[str] = []
    for b in p.blocks:
        if isinstance(b, str):
            out.append(b)
        elif isinstance(b, Field):
            out.append(b.key + _cell(b.value))
        elif isinstance(b, Table):
            out += b.text()
        else:
            out += ["", "---", f"Signif. codes:  {b.legend}"]
    return "\n".join(out)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(t: Table) -> str:
    names = list(t.row_names) if t.row_names else None
    head = "".join(f"<th>{_e(h)}</th>" for h in t.header)
    if names:
        head = f"<th>{_e(names[0])}</th>" + head
    body = []
    for i, row in enumerate(t.rows):
        cells = "".join(f"<td>{_e(_cell(c))}</td>" for c in row)
        if names:
            cells = f"<th>{_e(names[i + 1])}</th>" + cells
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="metareview-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_html(p: Printable) -> str:
    """The blocks as escaped HTML in one ``<div>``: every run of :class:`Field` lines and every
    :class:`Table` a ``<table>``, other non-blank lines a ``<p>``."""
    out: list[str] = []
    fields: list[str] = []

    def flush() -> None:
        if fields:
            out.append(f'<table class="metareview-fields"><tbody>{"".join(fields)}</tbody></table>')
            fields.clear()

    for b in p.blocks:
        if isinstance(b, Field):
            fields.append(f"<tr><th>{_e(b.key.strip())}</th><td>{_e(_cell(b.value))}</td></tr>")
            continue
        flush()
        if isinstance(b, str):
            if b.strip():
                out.append(f"<p>{_e(b.strip())}</p>")
        elif isinstance(b, Table):
            out.append(_html_table(b))
        else:
            out.append(f"<p>Signif. codes: {_e(b.legend)}</p>")
    flush()
    return '<div class="metareview-result">' + "".join(out) + "</div>"


def tau2_fields(
    tau2: float, tau: float, se_tau2: float | None, digits: int, labels: tuple[str, str]
) -> list[Field]:
    """metafor's tau^2 and tau lines (``print.rma.uni``, ``print.rma`` with moderators): tau^2
    with its SE, both with 0 digits when tau^2 is 0 to machine precision. ``labels`` are the
    two keys, padded as each printout aligns them."""
    tdig = 0 if abs(tau2) <= 2.220446049250313e-15 else digits
    se = "" if se_tau2 is None else f" (SE = {num(se_tau2, digits)})"
    return [Field(labels[0], num(tau2, tdig) + se), Field(labels[1], num(tau, tdig))]


class Printed:
    """``summary()``, ``__str__`` and ``_repr_html_`` from one ``_printable()``.

    A class whose printout takes options (``digits``, ``signif_stars``) overrides
    ``_printable`` with them and ``summary`` to pass them on."""

    __slots__ = ()

    def _printable(self) -> Printable:
        raise TypeError(f"{type(self).__name__} must describe itself in _printable()")

    def summary(self) -> str:
        """The result as text, in metafor's layout."""
        return render_text(self._printable())

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return render_html(self._printable())
