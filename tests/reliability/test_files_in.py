"""Hostile files into ``import``: one error line naming file/row/field, exit 2, nothing stored.

Every file is generated here (no large file is committed); the big ones use a small configured
limit (``metareview.sources.base.MAX_LINE_BYTES``) so they stay a few tens of MB and fast. The
hypothesis tests mutate the recorded ClinicalTrials.gov / Europe PMC pages and round-trip CSV
and RIS through their writers, bounded in examples and time.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import sqlite3
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metareview.cli import main
from metareview.errors import MetareviewError, SourceError
from metareview.sources import base, csv_import, ctgov, europepmc, ris

CLIENTS = Path(__file__).resolve().parents[1] / "data" / "clients"
SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"
MiB = 1 << 20


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "review"
    assert main(["init", str(folder), "--json"]) == 0
    capsys.readouterr()
    return folder


def dump(folder: Path) -> list[str]:
    conn = sqlite3.connect(folder / "project.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def refused(project: Path, file: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """Import ``file``; assert one error line, exit 2, the store unchanged; return the line."""
    before = dump(project)
    assert main(["import", str(project), str(file), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("metareview: error: "), err
    assert str(file) in lines[0]
    assert dump(project) == before
    return lines[0]


def imported(project: Path, file: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["import", str(project), str(file), "--json"]) == 0, capsys.readouterr().err
    result: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return result


def ctgov_study() -> dict[str, Any]:
    study: dict[str, Any] = json.loads((CLIENTS / "ctgov_page_2.json").read_text())["studies"][0]
    return study


def epmc_page() -> dict[str, Any]:
    page: dict[str, Any] = json.loads((CLIENTS / "europepmc_page_1.json").read_text())
    return page


def put(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the dotted ``path`` set to ``value``."""
    out = copy.deepcopy(document)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


# -- wrong types in JSON ------------------------------------------------------------------------

CTGOV_CASES = [
    ("protocolSection.identificationModule.briefTitle", ["a", "list"], "text, not a list"),
    ("protocolSection.identificationModule.briefTitle", 42, "text, not a number"),
    ("protocolSection.identificationModule.officialTitle", {"x": 1}, "text, not an object"),
    ("protocolSection.conditionsModule.conditions", "Scleroderma", "a list, not text"),
    ("protocolSection.conditionsModule.keywords", [["nested"]], "text, not a list"),
    ("protocolSection.designModule", ["a module as a list"], "an object, not a list"),
    ("protocolSection.designModule.enrollmentInfo.count", [28], "a number, not a list"),
    ("protocolSection.armsInterventionsModule.armGroups", {"label": "A"}, "a list, not an obj"),
    ("protocolSection.armsInterventionsModule.interventions", ["imatinib"], "an object, not text"),
    ("protocolSection.descriptionModule.briefSummary", True, "text, not true/false"),
    ("derivedSection.conditionBrowseModule.meshes", [{"term": 7}], "text, not a number"),
    ("resultsSection.adverseEventsModule.seriousEvents", "none", "a list, not text"),
]


@pytest.mark.parametrize(("path", "value", "said"), CTGOV_CASES)
def test_ctgov_wrong_type_is_refused_naming_the_field(
    path: str, value: Any, said: str, project: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    file = tmp_path / "ctgov.json"
    file.write_text(json.dumps({"studies": [put(ctgov_study(), path, value)]}), encoding="utf-8")
    line = refused(project, file, capsys)
    first = path.split(".")
    assert "record 1" in line and f"field '{'.'.join(first)}" in line, line
    assert f"should be {said}" in line


EPMC_CASES = [
    ("title", ["Imatinib", "in SSc"], "text, not a list"),
    ("title", 3.5, "text, not a number"),
    ("authorList", [{"fullName": "Spiera R"}], "an object, not a list"),
    ("authorList.author", [{"fullName": ["Spiera", "R"]}], "text, not a list"),
    ("journalInfo.journal", "Ann Rheum Dis", "an object, not text"),
    ("pubTypeList.pubType", "research-article", "a list, not text"),
    ("abstractText", {"p": "x"}, "text, not an object"),
]


@pytest.mark.parametrize(("path", "value", "said"), EPMC_CASES)
def test_europepmc_wrong_type_is_refused_naming_the_field(
    path: str, value: Any, said: str, project: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    page = epmc_page()
    page["resultList"]["result"][1] = put(page["resultList"]["result"][1], path, value)
    file = tmp_path / "epmc.json"
    file.write_text(json.dumps(page), encoding="utf-8")
    line = refused(project, file, capsys)
    assert f"record 2, field '{path}" in line and f"should be {said}" in line, line


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out.extend(_paths(sub, (*prefix, key)))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            out.extend(_paths(sub, (*prefix, index)))
    return out


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(document)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


_STUDY = ctgov_study()
_STUDY_PATHS = _paths(_STUDY)
_EPMC = epmc_page()
_EPMC_PATHS = _paths(_EPMC)


def _record_is_well_typed(record: Any) -> None:
    assert isinstance(record.title, str) and isinstance(record.abstract, str)
    for name in ("authors", "keywords", "mesh_terms", "nct_ids", "publication_types"):
        assert all(isinstance(x, str) for x in getattr(record, name)), name
    for name in ("journal", "doi", "pmid", "pmcid", "language", "url", "source_id"):
        assert getattr(record, name) is None or isinstance(getattr(record, name), str), name
    json.dumps(record.fields)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(_STUDY_PATHS), value=_json)
def test_any_ctgov_study_value_parses_or_is_one_located_error(where: Any, value: Any) -> None:
    study = _replace(_STUDY, where, value)
    try:
        records, _ = ctgov.parse_page({"studies": [study]}, file="f.json")
    except base.SourceFormatError as exc:
        assert exc.file == "f.json"
        return
    for record in records:
        _record_is_well_typed(record)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(_EPMC_PATHS), value=_json)
def test_any_europepmc_value_parses_or_is_one_located_error(where: Any, value: Any) -> None:
    reply = _replace(_EPMC, where, value)
    try:
        records, _ = europepmc.parse_response(reply, file="f.json")
    except base.SourceFormatError as exc:
        assert exc.file == "f.json"
        return
    for record in records:
        _record_is_well_typed(record)


# -- deep nesting, huge numbers -----------------------------------------------------------------


def test_deeply_nested_json_file_is_one_error(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "deep.json"
    file.write_text('{"studies": [' + "[" * 200_000 + "]" * 200_000 + "]}", encoding="utf-8")
    assert "JSON nested too deeply" in refused(project, file, capsys)


def test_deep_json_inside_a_known_field_is_one_error(tmp_path: Path) -> None:
    # Under Python's recursion limit for json, deeper than any schema: the check walks it
    # without recursing and stops at the first wrong type.
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    study = put(ctgov_study(), "protocolSection.conditionsModule.conditions", deep)
    with pytest.raises(base.SourceFormatError, match="should be text, not a list"):
        ctgov.parse_page({"studies": [study]}, file="f.json")


def test_5000_digit_integer_is_one_error(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = json.dumps(ctgov_study()).replace('"count": 28', '"count": ' + "9" * 5000)
    assert '"count": 999' in study
    file = tmp_path / "big.json"
    file.write_text('{"studies": [' + study + "]}", encoding="utf-8")
    assert "JSON value not usable" in refused(project, file, capsys)


def test_nan_and_infinity_are_not_json(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = json.dumps(ctgov_study()).replace('"count": 28', '"count": Infinity')
    file = tmp_path / "inf.json"
    file.write_text('{"studies": [' + study + "]}", encoding="utf-8")
    assert "Infinity is not a JSON number" in refused(project, file, capsys)


def test_deeply_nested_pubmed_xml_file_is_one_error(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = (SOURCES / "pubmed_efetch.xml").read_text(encoding="utf-8")
    deep = "<b>" * 100_000 + "x" + "</b>" * 100_000
    file = tmp_path / "deep.xml"
    file.write_text(xml.replace("<ArticleTitle>", "<ArticleTitle>" + deep, 1), encoding="utf-8")
    assert "XML nested more than 256 elements deep" in refused(project, file, capsys)


# -- huge lines and cells -----------------------------------------------------------------------


def test_huge_ris_line_stops_at_the_limit_fast_and_bounded(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(base, "MAX_LINE_BYTES", MiB)
    file = tmp_path / "huge.ris"
    with open(file, "wb") as out:
        out.write(b"TY  - JOUR\nTI  - A title\nAB  - ")
        for _ in range(32):  # a 32 MiB line (the 1 GB case, scaled down with its limit)
            out.write(b"a" * MiB)
        out.write(b"\nER  - \n")
    started = time.monotonic()
    tracemalloc.start()
    try:
        line = refused(project, file, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert f"{file}, line 3: line longer than {MiB} bytes" in line
    assert peak < 16 * MiB


def test_endless_record_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "MAX_RECORD_CHARS", 100_000)
    data = b"TY  - JOUR\nTI  - t\n" + b"KW  - word\n" * 20_000
    with pytest.raises(base.SourceFormatError, match="record longer than 100000 characters"):
        list(ris.parse(io.BytesIO(data), file="x.ris"))


def test_csv_cell_over_128_kib_is_read(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "long.csv"
    abstract = "word " * 60_000  # 300 KB, over the csv module's default 131072
    file.write_text(f'title,abstract\nA long one,"{abstract}"\n', encoding="utf-8")
    assert imported(project, file, capsys)[0]["n_added"] == 1


def test_csv_cell_over_the_limit_is_one_error(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(base, "MAX_LINE_BYTES", 1000)
    file = tmp_path / "long.csv"
    file.write_text('title,abstract\nok,fine\nA,"' + "x\n" * 800 + '"\n', encoding="utf-8")
    old = csv.field_size_limit()
    try:
        line = refused(project, file, capsys)
    finally:
        csv.field_size_limit(old)
    assert "line 3, record 2: does not parse as CSV: field larger than field limit" in line


# -- silent loss becomes a refusal --------------------------------------------------------------


def test_unclosed_csv_quote_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "quote.csv"
    file.write_text(
        'title,year\nFirst,2001\n"Second, unclosed,2002\nThird,2003\nFourth,2004\n',
        encoding="utf-8",
    )
    line = refused(project, file, capsys)
    assert f"{file}, line 3, record 2: a quoted cell opened here is never closed" in line


def test_repeated_title_header_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "dup.csv"
    file.write_text("title,abstract,Title\nA,b,C\n", encoding="utf-8")
    line = refused(project, file, capsys)
    assert "line 1, field 'Title': the header names this column twice (columns 1 and 3)" in line


def test_cell_swallowing_rows_is_warned(tmp_path: Path) -> None:
    data = b'title,year\n"First\nSecond,2002\nThird,2003",2001\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = list(csv_import.parse(io.BytesIO(data), file="w.csv"))
    assert len(records) == 1
    assert "w.csv, line 2, row 1, column 'title': the cell spans 3 lines that look like rows" in (
        str(caught[0].message)
    )


@pytest.mark.parametrize(
    "content",
    [bytes(range(0, 32)) * 40, b"\x00" * 500, b"PK\x03\x04" + b"\x00\x01\x02" * 300],
    ids=["control", "nul", "zip"],
)
def test_binary_file_is_refused(
    content: bytes, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "blob.dat"
    file.write_bytes(content)
    assert "binary data, not text" in refused(project, file, capsys)


def test_random_bytes_are_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "noise.bin"
    file.write_bytes(bytes((i * 97 + 13) % 256 for i in range(4000)))
    refused(project, file, capsys)


def test_cr_only_ris_is_read(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SOURCES / "embase.ris").read_bytes().replace(b"\r\n", b"\n")
    n = text.count(b"\nER  -") + text.startswith(b"ER  -")
    file = tmp_path / "mac.ris"
    file.write_bytes(text.replace(b"\n", b"\r"))
    assert imported(project, file, capsys)[0]["n_added"] == n > 0


# -- round trips: what a careful writer writes is read back unchanged ---------------------------

_cell = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from('",;\n\t '),
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=5))
def test_csv_written_by_the_csv_module_reads_back(rows: list[tuple[str, str]]) -> None:
    rows = [(f"T{i} {t}", a) for i, (t, a) in enumerate(rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["title", "abstract"])
    writer.writerows(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = list(csv_import.parse(io.BytesIO(buffer.getvalue().encode()), file="rt.csv"))
    assert [(r.title, r.abstract) for r in records] == [
        (t.strip(), a.strip()) for t, a in rows
    ]


@settings(max_examples=60, deadline=None)
@given(
    titles=st.lists(st.text("abc xyz,;", min_size=1, max_size=20).map(str.strip).filter(bool),
                    min_size=1, max_size=5),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
)  # fmt: skip
def test_ris_reads_the_same_with_any_line_end(titles: list[str], end: str) -> None:
    text = "".join(f"TY  - JOUR{end}TI  - {t}{end}ER  - {end}{end}" for t in titles)
    records = list(ris.parse(io.BytesIO(text.encode()), file="le.ris"))
    assert [r.title for r in records] == titles


def test_live_reply_with_wrong_types_is_a_source_error() -> None:
    page = epmc_page()
    page["resultList"]["result"][0]["title"] = ["a", "list"]
    with pytest.raises(SourceError) as info:
        europepmc.parse_response(page, file="https://www.ebi.ac.uk/.../search (page 1)")
    assert isinstance(info.value, MetareviewError)
    assert "record 1, field 'title': should be text, not a list" in str(info.value)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
                   max_size=12),
    ends=st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=12, max_size=12),
    last_end=st.booleans(),
)  # fmt: skip
def test_raw_lines_split_as_universal_newlines_across_chunk_edges(
    lines: list[bytes], ends: list[bytes], last_end: bool
) -> None:
    # A limit of 8 bytes makes every line meet a read edge: CR at the end of one read and LF
    # at the start of the next must still be one line end (bytes.splitlines is the reference).
    data = b"".join(line + end for line, end in zip(lines, ends, strict=False))
    if lines and not last_end:
        data = data[: -len(ends[len(lines) - 1])]
    old, base.MAX_LINE_BYTES = base.MAX_LINE_BYTES, 8
    try:
        got = list(base.raw_lines(base.peekable(io.BytesIO(data)), file="f"))
    finally:
        base.MAX_LINE_BYTES = old
    assert got == data.splitlines()


def test_raw_lines_refuse_a_line_one_byte_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_LINE_BYTES", 8)
    assert list(base.raw_lines(base.peekable(io.BytesIO(b"12345678\r\n")), file="f")) == [
        b"12345678"
    ]
    with pytest.raises(base.SourceFormatError, match=r"line 2: line longer than 8 bytes"):
        list(base.raw_lines(base.peekable(io.BytesIO(b"ok\r123456789\n")), file="f"))
