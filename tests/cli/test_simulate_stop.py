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


def _labelled(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "set.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstracts", "label1"])
        for i in range(120):
            rel = i % 6 == 0
            words = rng.choice(["trial", "placebo", "drug"] if rel else ["rat", "cell", "assay"], 6)
            w.writerow([f"record {i}", " ".join(words), "I" if rel else "E"])
    return path


def test_simulate_scores_the_late_sample_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from metareview.screening.simulation import load_labelled_csv
    from metareview.screening.stopping import late_sample_stop, run_length

    path = _labelled(tmp_path)
    orders = tmp_path / "orders.csv"
    argv = ["simulate", str(path), "--seeds", "2", "--stop-late", "--stop-switch", "run:10",
            "--stop-run", "10%", "--json", "--orders", str(orders)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    late = out["stopping"]["late-sample"]
    assert late["settings"] == {"target": 0.95, "confidence": 0.95, "switch": "run:10"}
    run = out["stopping"]["irrelevant-run"]
    # 10% of 120 records: a run of 12; marked as a heuristic without guarantee
    assert run["settings"] == {"run": "10%", "records": 12} and run_length("10%", 120) == 12
    assert run["heuristic"] is True and run["guarantee"] == "none"
    # each seed's order (written by --orders) replayed through late_sample_stop directly
    data = load_labelled_csv(path)
    by_seed: dict[int, list[tuple[int, int]]] = {}
    with orders.open() as fh:
        for r in csv.DictReader(fh):
            by_seed.setdefault(int(r["seed"]), []).append((int(r["rank"]), int(r["label"])))
    runs = [late_sample_stop([lab for _, lab in sorted(v)], "run:10", seed=seed)
            for seed, v in sorted(by_seed.items())]
    assert data.n == 120 and len(runs) == 2
    assert late["stopped_at"] == pytest.approx(np.mean([r["stopped_at"] for r in runs]))
    assert late["recall"] == pytest.approx(np.mean([r["recall"] for r in runs]))
    assert late["switched_at"] == pytest.approx(np.mean([r["switched_at"] for r in runs]))
    # the text output names the switch and says the heuristic has no guarantee
    monkeypatch.setenv("COLUMNS", "250")
    assert main(argv[:-3]) == 0
    text = capsys.readouterr().out
    line = next(t for t in text.splitlines() if t.startswith("stopping rule late-sample"))
    assert "(target 0.95, confidence 0.95, switch run:10)" in line
    assert "switched to random order after" in line
    line = next(t for t in text.splitlines() if t.startswith("stopping rule irrelevant-run"))
    assert "(run 10%, records 12)" in line and line.endswith("(a heuristic: no recall guarantee)")
    # without the flag, no late rule; bad settings are refused before any work
    assert main(["simulate", str(path), "--seeds", "1", "--json"]) == 0
    assert "late-sample" not in json.loads(capsys.readouterr().out)["stopping"]
    assert main(["simulate", str(path), "--stop-late", "--stop-switch", "soon"]) == 2
    assert "switch rule 'soon'" in capsys.readouterr().err
    assert main(["simulate", str(path), "--stop-run", "0%"]) == 2
    assert "irrelevant run '0%'" in capsys.readouterr().err


def test_screen_refuses_a_bad_switch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metareview.screening.decisions import Screening

    project = tmp_path / "p"
    assert main(["init", str(project)]) == 0
    argv = ["screen", str(project), "--reviewer", "A", "--stop-late", "--stop-switch", "x:1"]
    assert main(argv) == 2
    assert "switch rule 'x:1'" in capsys.readouterr().err
    with Screening.open(project) as s:  # nothing written
        assert s.project.connection.execute(
            "SELECT count(*) FROM screening_late_samples").fetchone()[0] == 0
