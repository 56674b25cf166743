"""The extraction form as a table: its columns, reading a filled-in CSV or workbook, checking it.

One row of the form is one group (arm) of one study for one outcome at one time point
(``metareview extract DIR --template``); its number columns are the fields of
:data:`~metareview.extraction.values.NUMBER_FIELDS` and its provenance columns apply to every
number in the row (use two rows with the same key for numbers from two places). Rows with
``outcome`` = ``characteristics`` describe the study and its arms (design, population, dose,
duration, participants randomised).

:func:`read_table` reads a CSV or an ``.xlsx`` workbook (every sheet but the definitions sheet)
into located rows; :func:`parse_rows` checks every row and returns the values or raises one
:class:`~metareview.errors.InputErrors` listing every problem, each with its file, sheet, row
and column, so a reviewer fixes them all in one pass. Nothing here touches the store.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metareview.errors import InputError, InputErrors
from metareview.extraction.values import GROUPS, NUMBER_FIELDS
from metareview.sources.cells import guard_cell, restore_cell

__all__ = [
    "CHARACTERISTICS",
    "DEFINITIONS_SHEET",
    "KEY_COLUMNS",
    "TEMPLATE_COLUMNS",
    "TEXT_COLUMNS",
    "ParsedRow",
    "TableRow",
    "parse_rows",
    "read_table",
    "write_csv",
    "write_xlsx",
]

#: The outcome name of rows describing the study and its arms.
CHARACTERISTICS = "characteristics"
#: The first sheet of a workbook template: the protocol's definitions (not read back).
DEFINITIONS_SHEET = "definitions"

KEY_COLUMNS: tuple[str, ...] = ("study_id", "study", "outcome", "group", "arm", "timepoint")
#: Number columns, in the order of the template (the issue's order, then the others).
NUMBER_COLUMNS: tuple[str, ...] = (
    "n", "events", "mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3", "min",
    "max", "mean_change", "sd_change", "estimate", "estimate_se",
)  # fmt: skip
PROVENANCE_COLUMNS: tuple[str, ...] = ("status", "source_record", "location", "quote", "note")
EXTRA_COLUMNS: tuple[str, ...] = (
    "scenario", "pvalue", "person_time", "r", "n_randomised", "why", "sensitivity", "source_ref",
)  # fmt: skip
#: Text columns of ``characteristics`` rows.
TEXT_COLUMNS: tuple[str, ...] = ("intervention", "dose", "design", "population", "duration")
TEMPLATE_COLUMNS: tuple[str, ...] = (
    *KEY_COLUMNS, *NUMBER_COLUMNS, *PROVENANCE_COLUMNS, *EXTRA_COLUMNS, *TEXT_COLUMNS,
)  # fmt: skip

_ALL_NUMBERS = tuple(c for c in TEMPLATE_COLUMNS if c in NUMBER_FIELDS)
_COUNTS = ("n", "events", "n_randomised")


@dataclass(frozen=True)
class TableRow:
    """One data row as read: where it is (sheet, 1-based row) and its cells by column."""

    sheet: str | None
    row: int
    cells: Mapping[str, str]


@dataclass(frozen=True)
class ParsedRow:
    """A checked row: its key, numbers, texts and provenance (source_record still a text)."""

    where: TableRow
    study_id: str
    outcome: str
    group: str
    arm: str
    timepoint: str
    scenario: str
    numbers: dict[str, float]
    texts: dict[str, str]
    status: str
    source_record: str
    source_ref: str
    location: str
    quote: str | None
    note: str | None
    why: str | None
    sensitivity: tuple[float, ...] = field(default=())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DECIMAL_COMMA = re.compile(r"^([-+]?\d+),(\d+)$")


def read_table(path: str | Path) -> list[TableRow]:
    """The data rows of a filled-in CSV or ``.xlsx`` template.

    Raises
    ------
    InputError
        The file is missing, unreadable, or a header is missing, repeated or unknown.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError("no such file", file=str(file))
    if file.suffix.lower() == ".xlsx":
        return _read_xlsx(file)
    from metareview.sources.base import read_text

    text = read_text(file)
    # spreadsheets set to a decimal comma (much of Europe) save CSV with ';' between cells
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("the file is empty", file=str(file)) from None
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=str(file)) from exc
    _check_header(header, str(file), None)
    rows: list[TableRow] = []
    try:
        for i, cells in enumerate(reader, start=1):
            if len(cells) > len(header):
                raise InputError(
                    f"{len(cells)} cells but {len(header)} columns (an unclosed quote?)",
                    file=str(file), row=i,
                )  # fmt: skip
            values = (restore_cell(c.strip()) for c in cells)
            if delimiter == ";":  # and so a decimal comma: 3,5 is 3.5
                values = (_DECIMAL_COMMA.sub(r"\1.\2", v) for v in values)
            rows.append(TableRow(None, i, dict(zip(header, values, strict=False))))
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=str(file), row=len(rows) + 1) from exc
    return rows


def _read_xlsx(file: Path) -> list[TableRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError(f"not a readable .xlsx workbook: {exc}", file=str(file)) from exc
    rows: list[TableRow] = []
    try:
        for sheet in book.worksheets:
            if sheet.title == DEFINITIONS_SHEET:
                continue
            it = sheet.iter_rows(values_only=True)
            first = next(it, None)
            if first is None:
                continue
            header = [_cell(h) for h in first]
            while header and not header[-1]:
                header.pop()
            _check_header(header, str(file), sheet.title)
            for i, values in enumerate(it, start=1):
                cells = {
                    h: restore_cell(_cell(v)) for h, v in zip(header, values, strict=False) if h
                }
                rows.append(TableRow(sheet.title, i, cells))
    finally:
        book.close()
    return rows


def _check_header(header: Sequence[str], file: str, sheet: str | None) -> None:
    where = file if sheet is None else f"{file}, sheet {sheet!r}"
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError("a column is repeated", file=where, field=name)
        seen.add(name)
        if name not in TEMPLATE_COLUMNS:
            raise InputError(
                "unknown column (see 'metareview extract DIR --template')", file=where, field=name
            )
    for need in ("study_id", "outcome", "group"):
        if need not in seen:
            raise InputError("missing column", file=where, field=need)


def _number(text: str) -> float:
    value = float(text.replace(",", "")) if text.count(",") and "." in text else float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if abs(value) > 1e15:
        raise ValueError("out of range")
    return value


def parse_rows(
    rows: Iterable[TableRow],
    *,
    file: str,
    outcomes: Sequence[str],
) -> list[ParsedRow]:
    """Check every row; return the rows that carry data.

    Raises
    ------
    InputErrors
        Listing every problem found (file, sheet, row, column and what is wrong).
    """
    problems: list[InputError] = []
    out: list[ParsedRow] = []
    known = {*outcomes, CHARACTERISTICS}
    for row in rows:
        where = file if row.sheet is None else f"{file}, sheet {row.sheet!r}"

        def bad(message: str, column: str | None = None, _w: str = where,
                _r: int = row.row) -> None:  # fmt: skip
            problems.append(InputError(message, file=_w, row=_r, field=column))

        c = row.cells
        numbers: dict[str, float] = {}
        for col in _ALL_NUMBERS:
            text = c.get(col, "")
            if not text:
                continue
            try:
                numbers[col] = _number(text)
            except ValueError:
                bad(f"{text!r} is not a number", col)
        texts = {col: c[col] for col in TEXT_COLUMNS if c.get(col)}
        if not numbers and not texts:
            continue  # a template row left blank
        outcome = c.get("outcome", "")
        group = c.get("group", "")
        if not c.get("study_id"):
            bad("missing study id", "study_id")
        if outcome not in known:
            bad(f"{outcome!r} is not an outcome of the protocol ({', '.join(sorted(known))})",
                "outcome")  # fmt: skip
        if group not in GROUPS:
            bad(f"group must be one of {', '.join(GROUPS)}, got {group!r}", "group")
        if texts and outcome != CHARACTERISTICS:
            bad(f"text columns ({', '.join(texts)}) belong on '{CHARACTERISTICS}' rows",
                next(iter(texts)))  # fmt: skip
        for col in _COUNTS:
            v = numbers.get(col)
            if v is not None and (v < 0 or not float(v).is_integer()):
                bad(f"a count must be a whole number >= 0, got {c[col]!r}", col)
        who = c.get("study") or c.get("study_id") or "not named"
        for col in ("sd", "se", "sd_change", "estimate_se"):
            if numbers.get(col, 0) < 0:
                bad(f"must not be negative (study {who}: {col} {c[col]})", col)
        if numbers.get("person_time", 1) <= 0:
            bad(f"person-time must be > 0 (study {who}: person_time {c['person_time']}); a rate "
                "over no time is not defined", "person_time")  # fmt: skip
        if "events" in numbers and "n" in numbers and numbers["events"] > numbers["n"]:
            bad(f"events ({c['events']}) exceed n ({c['n']})", "events")
        for lo, hi in (("ci_lower", "ci_upper"), ("q1", "median"), ("median", "q3"),
                       ("q1", "q3"), ("min", "max")):  # fmt: skip
            if lo in numbers and hi in numbers and numbers[lo] > numbers[hi]:
                bad(f"{lo} ({c[lo]}) is above {hi} ({c[hi]})", lo)
        if "pvalue" in numbers and not 0 < numbers["pvalue"] <= 1:
            bad("a p-value must be in (0, 1]", "pvalue")
        if "r" in numbers and not -1 <= numbers["r"] <= 1:
            bad("a correlation must be in [-1, 1]", "r")
        status = c.get("status", "").lower()
        why = c.get("why") or None
        if status == "derived":
            bad("derived numbers are not typed in: give the reported numbers they come from "
                "(e.g. the SE or CI for a missing SD); metareview derives them and records how",
                "status")  # fmt: skip
        elif status == "assumed":
            why = why or c.get("note") or None
            if not why:
                bad("an assumed number needs its reason in 'why' (or 'note')", "why")
        elif status != "reported":
            bad(f"status must be reported or assumed, got {status!r}", "status")
        if status == "reported" and not (c.get("source_record") or c.get("source_ref")):
            bad("a reported number needs its source record (record id, pmid:, nct: or doi:), "
                "or the key of a cited source in source_ref", "source_record")  # fmt: skip
        if status == "reported" and not c.get("location"):
            bad("say where in the source the number is (table, page, sentence or JSON path)",
                "location")  # fmt: skip
        sensitivity: tuple[float, ...] = ()
        if c.get("sensitivity"):
            try:
                sensitivity = tuple(_number(p) for p in c["sensitivity"].replace(",", ";")
                                    .split(";") if p.strip())  # fmt: skip
            except ValueError:
                bad("sensitivity values are numbers separated by ';'", "sensitivity")
            if status != "assumed":
                bad("sensitivity values are only for an assumed number", "sensitivity")
        out.append(
            ParsedRow(
                where=row,
                study_id=c.get("study_id", ""),
                outcome=outcome,
                group=group,
                arm=c.get("arm", ""),
                timepoint=c.get("timepoint", ""),
                scenario=c.get("scenario") or "main",
                numbers=numbers,
                texts=texts,
                status=status,
                source_record=c.get("source_record", ""),
                source_ref=c.get("source_ref", ""),
                location=c.get("location", ""),
                quote=c.get("quote") or None,
                note=c.get("note") or None,
                why=why,
                sensitivity=sensitivity,
            )
        )
    if problems:
        raise InputErrors(problems)
    return out


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write template rows (columns :data:`TEMPLATE_COLUMNS`) to a CSV file."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TEMPLATE_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: guard_cell(v) for k, v in row.items()})


def write_xlsx(
    path: str | Path,
    sheets: Mapping[str, Sequence[Mapping[str, Any]]],
    definitions: Sequence[tuple[str, str]],
) -> None:
    """Write a workbook: a definitions sheet, then one sheet of template rows per outcome."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = DEFINITIONS_SHEET
    for term, meaning in definitions:
        first.append([guard_cell(term), guard_cell(meaning)])
    for name, rows in sheets.items():
        sheet = book.create_sheet(title=re.sub(r"[\\/?*:\[\]]", "-", name)[:31])
        sheet.append(list(TEMPLATE_COLUMNS))
        for row in rows:
            sheet.append([guard_cell(row.get(c, "")) for c in TEMPLATE_COLUMNS])
    book.save(path)
