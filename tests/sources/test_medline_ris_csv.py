"""MEDLINE/NBIB, RIS (rispy) and CSV importers, field by field."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from metareview.sources import csv_import, medline, ris
from metareview.sources.base import SourceFormatError

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"


def _parse(module, name: str, **options) -> list:
    with open(DATA / name, "rb") as handle:
        return list(module.parse(handle, file=name, **options))


# -- MEDLINE ------------------------------------------------------------------------------------


def test_medline_records() -> None:
    prey, distler = _parse(medline, "medline.nbib")
    assert prey.pmid == prey.source_id == "22827536"
    # Continuation lines (six spaces) are joined to their tag's value.
    assert prey.title == (
        "Imatinib mesylate in scleroderma-associated diffuse skin fibrosis: a phase II "
        "multicentre randomized double-blinded controlled trial."
    )
    assert prey.abstract.endswith("efficacy of imatinib 400 mg daily on skin fibrosis.")
    assert prey.authors == ["Prey S", "Ezzedine K"]
    assert prey.fields["authors_full"] == ["Prey, S", "Ezzedine, K"]
    assert prey.journal == "The British journal of dermatology"
    assert prey.year == 2012
    assert prey.doi == "10.1111/j.1365-2133.2012.11186.x"
    assert prey.nct_ids == ["NCT00479934"]  # from SI - ClinicalTrials.gov/NCT00479934
    assert prey.publication_types[-1] == "Randomized Controlled Trial"
    assert prey.mesh_terms == ["Humans", "Imatinib Mesylate", "Scleroderma, Systemic"]
    assert prey.fields["mesh_headings"] == [
        "Humans",
        "Imatinib Mesylate / therapeutic use*",
        "Scleroderma, Systemic / drug therapy",
        "Scleroderma, Systemic / pathology*",
    ]
    assert prey.fields["pages"] == "1138-44"
    assert prey.raw.startswith("PMID- 22827536\nOWN - NLM")
    assert distler.pmcid == "PMC1234567"
    assert distler.doi == "10.1002/art.23694"  # from AID ... [doi]
    assert distler.publication_types == ["Case Reports", "Journal Article"]


def test_medline_garbage_line_names_line_and_record() -> None:
    text = b"PMID- 1\nTI  - A title\n\nPMID- 2\nthis is not a tag line\n"
    with pytest.raises(SourceFormatError, match=r"m.nbib, line 5, record 2: not a MEDLINE line"):
        list(medline.parse(io.BytesIO(text), file="m.nbib"))


def test_medline_record_without_pmid() -> None:
    with pytest.raises(SourceFormatError, match="record 1, field 'PMID'"):
        list(medline.parse(io.BytesIO(b"TI  - No id\nAB  - text\n"), file="m.nbib"))


# -- RIS ----------------------------------------------------------------------------------------


def test_ris_embase_conference_and_central_registry() -> None:
    article, conference, registry = _parse(ris, "embase.ris")
    assert article.title.startswith("Imatinib mesylate in scleroderma-associated")
    assert article.authors == ["Prey S.", "Ezzedine K.", "Doussau A."]
    assert article.year == 2012  # Y1 - 2012//
    assert article.journal == "British Journal of Dermatology"
    assert article.doi == "10.1111/j.1365-2133.2012.11186.x"
    assert article.pmid == "22827536"  # Embase puts the PMID in AN
    assert article.source_id == "638211234"
    # The N2 abstract spans two lines in the file (CRLF line ends).
    assert article.abstract == (
        "Background Imatinib inhibits the tyrosine kinases of PDGF receptors. "
        "Objectives To assess imatinib 400 mg daily (NCT00479934)."
    )
    assert article.nct_ids == ["NCT00479934"]
    assert article.keywords == ["imatinib", "systemic sclerosis"]
    assert article.fields["database"] == "Embase"
    assert (article.fields["start_page"], article.fields["end_page"]) == ("1138", "1144")
    assert article.kind == "article"
    assert conference.kind == "abstract"
    assert conference.publication_types == ["Conference Abstract"]
    assert registry.kind == "registry"
    assert registry.nct_ids == ["NCT00479934"]  # found in the UR link
    assert registry.raw.startswith("TY  - CTR")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"hello\nTY  - JOUR\n", r"line 1, record 1: expected a record starting with 'TY  - '"),
        (b"TY  - JOUR\nTI  - A\nER  - \nTY  - JOUR\nTI  - B\n", r"line 4, record 2: .*no 'ER"),
        (b"TY  - JOUR\nTI  - A\nTY  - JOUR\nER  - \n", r"line 3, record 1: .*no 'ER  -' before"),
        (
            b"TY  - JOUR\nAU  - Smith J\nER  - \n",
            r"record 1, field 'TI': RIS record without a title",
        ),
    ],
)
def test_ris_malformed(text: bytes, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message):
        list(ris.parse(io.BytesIO(text), file="bad.ris"))


# -- CSV ----------------------------------------------------------------------------------------


def test_csv_default_mapping() -> None:
    prey, distler = _parse(csv_import, "records.csv")
    assert prey.title.startswith("Imatinib mesylate in scleroderma")
    assert prey.authors == ["Prey S", "Ezzedine K", "Doussau A"]  # comma-separated names
    assert distler.authors == ["Distler, JH"]  # one "Last, Initials" name
    assert (prey.year, prey.journal, prey.pmid) == (2012, "Br J Dermatol", "22827536")
    assert prey.doi == "10.1111/j.1365-2133.2012.11186.x"
    assert prey.fields == {"columns": {"Notes": "included"}}
    # A quoted cell spanning two lines is one cell; raw keeps both lines.
    assert distler.fields["columns"]["Notes"] == "two-line\nnote"
    assert distler.raw.count("\n") == 1


def test_csv_cohen_2006_columns() -> None:
    first, second = _parse(csv_import, "cohen_style.csv")
    assert first.pmid == first.source_id == "90000001"
    assert first.authors == ["Roe, J A", "Doe, B", "Poe, C D"]
    assert first.keywords == ["Adult", "Imatinib Mesylate", "Scleroderma, Systemic"]
    assert first.abstract.startswith("To assess imatinib.; This open-label study")
    assert first.nct_ids == ["NCT00506831"]
    assert first.fields["columns"] == {"label1": "1", "label2": "0"}
    assert second.authors == ["Smith, A"]


def test_csv_explicit_mapping_and_tab_delimiter() -> None:
    data = b"Article\tWho\tWhen\nImatinib in SSc\tRoe J; Doe B\t2019\n"
    (record,) = csv_import.parse(
        io.BytesIO(data), file="t.tsv", mapping={"title": "Article", "authors": "Who"}
    )
    assert record.title == "Imatinib in SSc"
    assert record.authors == ["Roe J", "Doe B"]
    assert record.year is None and record.fields == {"columns": {"When": "2019"}}


def test_csv_errors_name_file_line_and_row() -> None:
    with pytest.raises(SourceFormatError, match="no title or PMID column"):
        list(csv_import.parse(io.BytesIO(b"a,b\n1,2\n"), file="c.csv"))
    with pytest.raises(SourceFormatError, match=r"c.csv, line 3, record 2: 4 cells"):
        list(csv_import.parse(io.BytesIO(b"title,year\nA,2000\nB,2001,x,y\n"), file="c.csv"))
    with pytest.raises(SourceFormatError, match=r"record 2, field 'title': row without title"):
        list(csv_import.parse(io.BytesIO(b"title,year\nA,2000\n,2001\n"), file="c.csv"))
    with pytest.raises(SourceFormatError, match="column 'Nope' is not in the header"):
        list(csv_import.parse(io.BytesIO(b"title\nA\n"), file="c.csv", mapping={"title": "Nope"}))
    with pytest.raises(SourceFormatError, match="unknown record field 'colour'"):
        list(csv_import.parse(io.BytesIO(b"title\nA\n"), file="c.csv", mapping={"colour": "x"}))
