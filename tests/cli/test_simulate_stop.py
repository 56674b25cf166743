"""``metareview simulate --stop-sample N``: the random-sample stopping rule in the text output."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from metareview.cli import main


def test_simulate_prints_the_sample_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per rule
    rng = np.random.default_rng(1)
    path = tmp_path / "set.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstracts", "label1"])
        for i in range(80):
            rel = i % 4 == 0
            words = rng.choice(["trial", "placebo", "drug"] if rel else ["rat", "cell", "assay"], 6)
            w.writerow([f"record {i}", " ".join(words), "I" if rel else "E"])
    assert main(["simulate", str(path), "--seeds", "1", "--stop-sample", "40"]) == 0
    out = capsys.readouterr().out
    line = next(t for t in out.splitlines() if t.startswith("stopping rule sample"))
    assert "(target 0.95, confidence 0.95, sample 40)" in line
    assert line.endswith("(the sample's reading counted)")
    assert main(["simulate", str(path), "--stop-sample", "-3"]) == 2
    assert "--stop-sample must be 1 or more" in capsys.readouterr().err
