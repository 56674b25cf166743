"""``metareview init`` and ``metareview import`` through :func:`metareview.cli.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metareview.cli import main
from metareview.store import Project

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
EXAMPLE_PROTOCOL = (
    Path(__file__).resolve().parents[2] / "src/metareview/examples/imatinib-ssc/protocol.yaml"
)


def test_init_and_import_with_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: file names are not folded
    project = tmp_path / "review"
    assert main(["init", str(project), "--protocol", str(EXAMPLE_PROTOCOL)]) == 0
    out = capsys.readouterr().out
    assert f"Created project {project}" in out and "protocol.yaml" in out
    code = main(
        [
            "import",
            str(project),
            str(DATA / "pubmed_efetch.xml"),
            str(DATA / "embase.ris"),
            "--query",
            "imatinib AND (scleroderma OR systemic sclerosis)",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "pubmed_efetch.xml" in out and "embase.ris" in out and "Added" in out
    with Project.open(project) as p:
        assert p.count_records() == 6
        rows = p.imports()
        assert [(r.format, r.n_added) for r in rows] == [("pubmed-xml", 3), ("ris", 3)]
        assert {r.query for r in rows} == {"imatinib AND (scleroderma OR systemic sclerosis)"}


def test_import_json_output_and_duplicate_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "review"
    main(["init", str(project)])
    capsys.readouterr()
    assert (
        main(["import", str(project), str(DATA / "medline.nbib"), "--source", "pubmed", "--json"])
        == 0
    )
    (first,) = json.loads(capsys.readouterr().out)
    assert (first["format"], first["source"], first["n_added"]) == ("medline", "pubmed", 2)
    assert main(["import", str(project), str(DATA / "medline.nbib"), "--json"]) == 0
    (second,) = json.loads(capsys.readouterr().out)
    assert second["n_added"] == 0 and second["already_imported_as"] == first["import_id"]


def test_import_csv_with_column_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "review"
    main(["init", str(project)])
    data = tmp_path / "export.csv"
    data.write_text("Article,Who\nImatinib in SSc,Roe J; Doe B\n", encoding="utf-8")
    assert (
        main(
            [
                "import",
                str(project),
                str(data),
                "--column",
                "title=Article",
                "--column",
                "authors=Who",
            ]
        )
        == 0
    )
    with Project.open(project) as p:
        (stored,) = p.records()
        assert stored.record.authors == ["Roe J", "Doe B"]
    capsys.readouterr()
    assert main(["import", str(project), str(data), "--column", "title"]) == 2
    assert "--column expects FIELD=COLUMN" in capsys.readouterr().err


def test_errors_exit_2_with_one_line_and_store_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "review"
    main(["init", str(project)])
    bad = tmp_path / "bad.ris"
    bad.write_text("TY  - JOUR\nTI  - ok\nER  - \nTY  - JOUR\nAU  - Smith J\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(project), str(DATA / "embase.ris"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"metareview: error: {bad}, line 4, record 2:")
    assert "imported before it: embase.ris" in err
    with Project.open(project) as p:
        assert p.count_records() == 3  # the good file only
    for args, message in (
        (["import", str(tmp_path / "nowhere"), str(bad)], "not a metareview project"),
        (["import", str(project), str(tmp_path / "missing.xml")], "file not found"),
        (["import", str(project), str(bad), "--format", "docx"], "unknown format 'docx'"),
        (["init", str(project)], "already a metareview project"),
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("metareview: error:") and message in err
        assert err.count("\n") == 1


def test_ctgov_page_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "review"
    main(["init", str(project)])
    capsys.readouterr()
    assert main(["import", str(project), str(DATA / "ctgov_page.json")]) == 0
    assert "metareview: note:" in capsys.readouterr().err


def test_init_without_protocol_writes_a_template_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The template is valid as it stands (placeholders marked EDIT), so 'protocol DIR' checks
    it, and 'init' says what to do with it."""
    from metareview.cli import main
    from metareview.protocol import load_protocol

    assert main(["init", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "template" in out and "EDIT" in out
    path = tmp_path / "p" / "protocol.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and text.count("EDIT") >= 10
    protocol = load_protocol(path)
    assert [o.name for o in protocol.outcomes] == ["primary"]
    assert protocol.model.method == "REML"
    assert main(["protocol", str(tmp_path / "p")]) == 0
