"""``metareview demo`` and ``metareview run``: the JSON contract, the report and user errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from metareview.analysis import bundled_example
from metareview.cli import main


def test_demo_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # stdout is the JSON document and nothing else
    assert [a["outcome"] for a in doc["analyses"]] == ["mRSS", "HAQ", "dropout_ae", "sae"]
    for a in doc["analyses"]:
        assert set(a) == {"outcome", "measure", "method", "k", "estimate", "ci_lower",
                          "ci_upper", "pvalue", "published", "studies"}  # fmt: skip
        assert set(a["published"]) == {"estimate", "ci_lower", "ci_upper", "pvalue"}
        for s in a["studies"]:
            assert set(s) == {"study", "yi", "vi", "inputs"}
            for i in s["inputs"]:
                assert set(i) == {"name", "value", "status", "source"}
                assert i["status"] in {"reported", "derived", "assumed"}
                assert i["source"].strip()
    mrss = doc["analyses"][0]
    assert mrss["published"] == {"estimate": -3.091, "ci_lower": -6.081, "ci_upper": -0.102,
                                 "pvalue": 0.043}  # fmt: skip
    for a in doc["analyses"][2:]:  # proportions on the 0-1 scale
        assert a["estimate"] is None or 0 <= a["estimate"] <= 1


def test_demo_writes_report_and_prints_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir)]) == 0
    text = capsys.readouterr().out
    assert "-3.091" in text and "mRSS" in text and "direction agrees" in text
    assert (out_dir / "report.html").is_file()
    assert (out_dir / "report.json").is_file()


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
