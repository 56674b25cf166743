"""Bad input: malformed files, hostile XML, wrong encodings, huge files, format detection."""

from __future__ import annotations

import io
import time
import tracemalloc
from pathlib import Path

import pytest

from metareview.errors import InputError, SourceError
from metareview.sources import csv_import, medline, pubmed, ris, text
from metareview.sources.base import SourceFormatError
from metareview.sources.detect import FORMATS, detect_format, detect_format_bytes, parse_file

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&xxe;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


def test_errors_are_both_input_and_source_errors() -> None:
    err = SourceFormatError("bad", file="f.xml", line=3, record=2, field="PMID")
    assert isinstance(err, InputError) and isinstance(err, SourceError)
    assert str(err) == "f.xml, line 3, record 2, field 'PMID': bad"


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_attacks_are_refused(payload: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(SourceFormatError, match="refused: the XML declares entities"):
        list(pubmed.parse(io.BytesIO(payload), file="attack.xml"))
    assert time.perf_counter() - start < 5


def test_malformed_xml_names_line_column_and_record() -> None:
    xml = (
        (DATA / "pubmed_efetch.xml")
        .read_bytes()
        .replace(
            b"<Title>Arthritis and rheumatism</Title>", b"<Title>Arthritis & rheumatism</Title>"
        )
    )
    line = xml[: xml.index(b"Arthritis & rheumatism")].count(b"\n") + 1
    with pytest.raises(SourceFormatError) as caught:
        list(pubmed.parse(io.BytesIO(xml), file="p.xml"))
    assert caught.value.line == line
    assert caught.value.record == 3
    assert str(caught.value).startswith(f"p.xml, line {line}, record 3: malformed XML at column")


def test_truncated_xml() -> None:
    xml = (DATA / "pubmed_efetch.xml").read_bytes()[:-200]
    with pytest.raises(SourceFormatError, match="malformed XML"):
        list(pubmed.parse(io.BytesIO(xml), file="p.xml"))


def test_latin1_file_is_refused_with_line_then_read_when_named(tmp_path: Path) -> None:
    data = "TY  - JOUR\nTI  - Sclérodermie systémique\nER  - \n".encode("latin-1")
    with pytest.raises(SourceFormatError, match=r"r.ris, line 2: not valid utf-8 text \(byte 0xe9"):
        list(ris.parse(io.BytesIO(data), file="r.ris"))
    (record,) = ris.parse(io.BytesIO(data), file="r.ris", encoding="latin-1")
    assert record.title == "Sclérodermie systémique"
    path = tmp_path / "latin.csv"
    path.write_bytes("title,year\nÉtude,2001\n".encode("latin-1"))
    with pytest.raises(SourceFormatError, match="line 2"):
        list(parse_file(path))
    assert next(parse_file(path, encoding="latin-1")).title == "Étude"


@pytest.mark.parametrize(
    ("module", "payload"),
    [
        (ris, "TY  - JOUR\nTI  - Sclérodermie\nER  - \n"),
        (medline, "PMID- 1\nTI  - Sclérodermie\n"),
        (csv_import, "title,year\nSclérodermie,2001\n"),
        (text, "Sclérodermie\n\nA case report.\n"),
    ],
)
def test_byte_order_marks_are_honoured(module, payload: str) -> None:
    for encoded in (b"\xef\xbb\xbf" + payload.encode("utf-8"), payload.encode("utf-16")):
        (record,) = module.parse(io.BytesIO(encoded), file="bom")
        assert record.title == "Sclérodermie"


def _write_big_xml(path: Path, n: int) -> None:
    article = (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{}</PMID>'
        "<Article><Journal><JournalIssue><PubDate><Year>2010</Year></PubDate></JournalIssue>"
        "<Title>J Tests</Title></Journal><ArticleTitle>Generated article {}</ArticleTitle>"
        "<Abstract><AbstractText>" + "Imatinib 400 mg/day. " * 40 + "</AbstractText></Abstract>"
        "</Article></MedlineCitation></PubmedArticle>\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0"?>\n<PubmedArticleSet>\n')
        for i in range(n):
            out.write(article.format(i + 1, i + 1))
        out.write("</PubmedArticleSet>\n")


@pytest.mark.slow
def test_big_xml_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 3 MB file (generated here, not kept) is parsed with far less memory than its size."""
    path = tmp_path / "big.xml"
    _write_big_xml(path, 3_000)
    size = path.stat().st_size
    assert size > 2_500_000
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            count = 0
            for count, record in enumerate(pubmed.parse(handle, file=str(path)), start=1):  # noqa: B007
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3_000 and record.pmid == "3000"
    # Streaming: peak Python memory is a small fraction of the file (the tree is cleared).
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_detection() -> None:
    expected = {
        "pubmed_efetch.xml": "pubmed-xml",
        "medline.nbib": "medline",
        "embase.ris": "ris",
        "records.csv": "csv",
        "cohen_style.csv": "csv",
        "ctgov_page.json": "ctgov-json",
        "ctgov_study_results.json": "ctgov-json",
        "europepmc.json": "europepmc-json",
    }
    for name, fmt in expected.items():
        assert detect_format(DATA / name) == fmt, name
        assert fmt in FORMATS
    assert detect_format_bytes(b"PMID- 123\nTI  - x\n") == "medline"
    assert detect_format_bytes(b"\xef\xbb\xbfTY  - JOUR\n") == "ris"
    assert detect_format_bytes(b"Some pasted page\n\nText.") == "text"
    assert detect_format_bytes(b'{"resultList": {"result": []}}') == "europepmc-json"
    with pytest.raises(InputError, match="cannot read"):
        detect_format(DATA / "missing.xml")


def test_json_that_is_not_utf8() -> None:
    from metareview.sources import ctgov

    with pytest.raises(SourceFormatError, match=r"c.json, line 2: not valid UTF-8"):
        list(ctgov.parse(io.BytesIO('{"studies":\n"é"}'.encode("latin-1")), file="c.json"))
