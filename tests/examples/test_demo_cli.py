"""``metareview demo`` and ``metareview run``: the JSON contract, the report and user errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from metareview.cli import main
from metareview.review.folder import bundled_example


def test_demo_json_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # stdout is the JSON document and nothing else
    assert [a["outcome"] for a in doc["analyses"]] == ["mRSS", "HAQ", "dropout_ae", "sae"]
    for a in doc["analyses"]:
        # issue 6's keys, and what the store-based analysis adds (issue 9): the test, PI,
        # heterogeneity, "transformed", "not_pooled", warnings
        assert set(a) == {"outcome", "measure", "method", "test", "k", "estimate", "ci_lower",
                          "ci_upper", "pvalue", "se", "pi_lower", "pi_upper", "tau2", "I2", "QE",
                          "QEp", "transformed", "published", "studies", "not_pooled",
                          "warnings", "subgroups"}  # fmt: skip
        assert set(a["published"]) == {"estimate", "ci_lower", "ci_upper", "pvalue"}
        for s in a["studies"]:
            assert set(s) == {"study", "study_id", "yi", "vi", "weight", "inputs"}
            for i in s["inputs"]:
                assert set(i) == {"name", "value", "status", "source"}
                assert i["status"] in {"reported", "derived", "assumed"}
                assert i["source"].strip()
    mrss = doc["analyses"][0]
    assert mrss["published"] == {"estimate": -3.091, "ci_lower": -6.081, "ci_upper": -0.102,
                                 "pvalue": 0.043}  # fmt: skip
    for a in doc["analyses"][2:]:  # proportions on the 0-1 scale
        assert a["estimate"] is None or 0 <= a["estimate"] <= 1
    # The one addition to issue 6's document: the PRISMA 2020 counts, computed from a project
    # store built (in a temporary folder) from records.jsonl and screening.csv.
    # and (issue 12) the risk of bias of the studies assessed, from the bundled rob.csv
    assert set(doc) == {"analyses", "prisma", "risk_of_bias", "grade"}
    prisma = doc["prisma"]
    assert prisma["identified"] == {"databases": 7, "registers": 4, "other": 7}
    assert (prisma["studies_included"], prisma["reports_included"]) == (5, 9)


def test_demo_writes_report_and_prints_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir)]) == 0
    text = capsys.readouterr().out
    assert "-3.091" in text and "mRSS" in text and "direction agrees" in text
    assert (out_dir / "report.html").is_file()
    assert (out_dir / "report.json").is_file()
    # The review as a project store, with its PRISMA 2020 flow computed from the decisions.
    assert "5 studies included (9 reports)" in " ".join(text.split())
    project = out_dir / "project"
    for name in ("project.sqlite", "protocol.yaml", "prisma.svg", "prisma.png", "prisma.json"):
        assert (project / name).is_file(), name
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    figure = re.search(r'<figure class="prisma" id="prisma-flow">(.*?)</figure>', html, re.S)
    assert figure is not None and "<svg" in figure.group(1)
    assert "Records screened (n\u00a0=\u00a011)" in figure.group(1)
    assert 'id="selection"' in html and "Protocol amendments" in html
    assert "None: the protocol was not changed after screening started." in html
    assert (out_dir / "figures" / "prisma.svg").is_file()
    data = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert data["selection"]["prisma"]["screened"] == 11
    # A second run replaces the project with a fresh one.
    assert main(["demo", "--out", str(out_dir)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "figures", "project", "report.html", "report.json"
    ]  # fmt: skip


def test_demo_json_also_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` prints the document on stdout and still writes the report to ``--out``."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--json", "--out", "here"]) == 0
    json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == [
        "figures", "project", "report.html", "report.json"
    ]  # fmt: skip


def test_run_on_a_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(bundled_example(), proj)
    assert main(["run", str(proj), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["analyses"][0]["k"] == 3
    assert main(["run", str(proj)]) == 0
    assert (proj / "report" / "report.html").is_file()


def test_run_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metareview: error:") and err.count("\n") == 1
    proj = tmp_path / "proj"
    shutil.copytree(bundled_example(), proj)
    (proj / "studies.yaml").write_text("sources: [\n", encoding="utf-8")
    assert main(["run", str(proj), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "studies.yaml" in captured.err and "Traceback" not in captured.err


def test_run_refused_decision_leaves_no_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(bundled_example(), proj)
    path = proj / "screening.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # seed 000 comes from other methods: PRISMA 2020 screens it at full text only.
    assert lines[1].startswith("seed:000") and lines[1].endswith(",full_text")
    lines[1] = lines[1].removesuffix("full_text") + "title_abstract"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["run", str(proj)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metareview: error:") and err.count("\n") == 1
    assert "screening.csv, row 1, column 'stage'" in err and "other methods" in err
    assert not (proj / "report" / "project").exists()
    assert not (proj / "report" / "report.html").exists()
