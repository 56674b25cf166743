"""The parts of benchmarks/screening_vs_asreview.py that need no ASReview."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from benchmark_modules import load_benchmark

from metareview.screening.simulation import simulate_order

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("screening_vs_asreview")


def _write_set(folder: Path, name: str = "Tiny") -> Path:
    """A Cohen-layout CSV of 24 records: 'trial' records are included at both levels."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["pubmedID", "title", "keywords", "authors", "abstracts", "label1", "label2"])
        for i in range(24):
            inc = i % 4 == 0
            title = f"randomised trial of drug {i}" if inc else f"case report of topic {i}"
            w.writerow([1000 + i, title, "Humans; Drug Therapy" if inc else "Humans",
                        "A B", "NA" if i == 5 else f"text {i}",
                        "I" if inc or i == 3 else "E", "I" if inc else "E"])
    return path


def test_priors_are_deterministic_and_the_draw_simulate_makes(bench: ModuleType) -> None:
    y = np.array([0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0])
    for seed in (0, 1, 2):
        a = bench.draw_priors(y, seed)
        assert np.array_equal(a, bench.draw_priors(y, seed))
        assert y[a[0]] == 1 and y[a[1]] == 0
        # metareview's own default draw (no prior_ids) picks the same rows for the seed
        records = [f"record {i}" for i in range(len(y))]
        priors, _ = simulate_order(records, y, seed=seed)
        assert np.array_equal(priors, a)
    # the draw is numpy's default_rng(seed): choice over the relevant, then the irrelevant rows
    rng = np.random.default_rng(7)
    expected = [rng.choice(np.flatnonzero(y == 1)), rng.choice(np.flatnonzero(y == 0))]
    assert bench.draw_priors(y, 7).tolist() == expected
    with pytest.raises(ValueError, match="two relevant"):
        bench.draw_priors(np.array([0, 0, 1]), 0)


def test_score_order_by_hand(bench: ModuleType) -> None:
    # rows 0..11; priors rows 0 (relevant) and 1 (irrelevant); then ten records whose labels
    # in reading order are 1 1 0 1 0 0 0 0 0 0.
    labels = np.zeros(12, dtype=int)
    labels[[0, 2, 3, 5]] = 1
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    got = bench.score_order(labels, order)
    # N = 10, R = 3. WSS@95: ceil(0.95 * 3) = 3 relevant found after k = 4 records read:
    # (10 - 4) / 10 - 0.05 = 0.55. recall@10%: floor(0.1 * 10) = 1 record read, 1 of 3 found.
    # ERF@10 = 1/3 - 1/10. ATD = (1 + 2 + 4) / 3.
    assert got["wss95"] == pytest.approx(0.55)
    assert got["recall10"] == pytest.approx(1 / 3)
    assert got["erf10"] == pytest.approx(1 / 3 - 0.1)
    assert got["atd"] == pytest.approx(7 / 3)
    with pytest.raises(ValueError, match="each of the 12 data rows once"):
        bench.score_order(labels, order[:-1])
    with pytest.raises(ValueError, match="each of the 12 data rows once"):
        bench.score_order(labels, [*order[:-1], 0])


def test_cold_start_by_hand(bench: ModuleType) -> None:
    # two priors, then N = 80 records read: 1 0 1 1 0 0 1 0 ... (relevant at 1, 3, 4, 7)
    y = np.zeros(82, dtype=int)
    y[[0, 2, 4, 5, 8]] = 1
    # 2.5%: floor(0.025 * 80) = 2 records read (1 0): 1 found; 5%: floor(4.0) = 4 (1 0 1 1): 3
    assert bench.cold_start(y) == {"2.5": 1, "5": 3}
    # N = 79: floor(1.975) = 1 record (1 found), floor(3.95) = 3 records (1 0 1: 2 found)
    assert bench.cold_start(y[:81]) == {"2.5": 1, "5": 2}
    # the priors are never counted: with none left out the first four are 1 0 1 0
    assert bench.cold_start(y, n_priors=0, at=(0.05,)) == {"5": 2}
    # score_order carries the same counts for a whole order (rows read in row order)
    got = bench.score_order(y, np.arange(82))
    assert (got["found2.5"], got["found5"]) == (1.0, 3.0)


def test_paired_difference_by_hand(bench: ModuleType) -> None:
    # d = ours - theirs = 1, 2, 3: mean 2, SD 1; the 95% t interval with 2 df is
    # 2 -/+ t * 1 / sqrt(3), t = (2p - 1) / sqrt(2 p (1 - p)) at p = 0.975 (Student's t with
    # 2 df has this closed-form quantile) = 4.30265
    t = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    got = bench.paired_difference([3, 4, 6], [2, 2, 3])
    assert got["mean"] == pytest.approx(2.0)
    assert got["sd"] == pytest.approx(1.0)
    assert got["lo"] == pytest.approx(2 - t / math.sqrt(3))
    assert got["hi"] == pytest.approx(2 + t / math.sqrt(3))
    assert (got["worse"], got["better"], got["n"]) == (0.0, 3.0, 3.0)
    # d = 2, 0, -2: mean 0, SD 2, one seed worse and one better
    got = bench.paired_difference([3, 1, 2], [1, 1, 4])
    assert got["mean"] == pytest.approx(0.0) and got["sd"] == pytest.approx(2.0)
    assert got["hi"] == pytest.approx(2 * t / math.sqrt(3))
    assert (got["worse"], got["better"]) == (1.0, 1.0)
    one = bench.paired_difference([1], [2])
    assert one["mean"] == -1.0 and math.isnan(one["sd"]) and one["hi"] == math.inf
    with pytest.raises(ValueError, match="same seeds"):
        bench.paired_difference([1, 2], [1])


def test_growing_batch_is_simulates_default_schedule(bench: ModuleType) -> None:
    # max(1, floor(0.02 L)): 1 until L = 100, 2 from 100, 20 at 1,000
    assert [bench.growing_batch(n) for n in (2, 49, 50, 99, 100, 149, 150, 1000)] == [
        1, 1, 1, 1, 2, 2, 3, 20]


def test_orders_round_trip(bench: ModuleType, tmp_path: Path) -> None:
    labels = np.array([1, 0, 0, 1])
    orders = {1: np.array([3, 1, 0, 2]), 0: np.array([0, 1, 3, 2])}
    path = tmp_path / "t" / "x.label1.csv"
    bench.write_orders(path, orders, labels)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["seed,rank,row,label", "0,1,0,1", "0,2,1,0"]
    back = bench.read_orders(path)
    assert sorted(back) == [0, 1]
    assert all(np.array_equal(back[s], orders[s]) for s in orders)
    assert bench.read_orders(tmp_path / "absent.csv") == {}


def test_exits_with_a_clear_message_without_asreview(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    _write_set(data)
    monkeypatch.setattr(bench, "asreview_available", lambda: False)
    code = bench.main(["--data", str(data), "--cache", str(tmp_path / "cache"), "--seeds", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "asreview is not importable" in err
    assert "Tiny.label1, Tiny.label2" in err
    assert "pip install asreview==3.0.8" in err


def test_runs_from_cached_asreview_orders_without_asreview(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    src = _write_set(data)
    cache = tmp_path / "cache"
    monkeypatch.setattr(bench, "asreview_available", lambda: False)
    for label in ("label1", "label2"):
        ys = bench.load_labelled_csv(src, label).labels
        priors = bench.draw_priors(ys, 0)
        rest = [i for i in range(len(ys)) if i not in priors]
        order = np.array([*priors, *rest])  # a stand-in for ASReview's order
        path = cache / bench.ASREVIEW_TOOL / f"Tiny.{label}.csv"
        bench.write_orders(path, {0: order}, ys)
        path.with_suffix(".json").write_text(
            json.dumps({"0": {"cpu_s": 1.0, "wall_s": 2.0, "priors": priors.tolist()}}))
    out = tmp_path / "table.md"
    code = bench.main(["--data", str(data), "--cache", str(cache), "--seeds", "1",
                       "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "## The issue's table" in printed and "label2, 1 Cohen 2006 sets" in printed
    assert "### label1: cold start and paired differences over 1 seeds" in printed
    assert out.read_text().strip() == printed.strip()
    summary = json.loads((cache / "summary.json").read_text())
    row = summary["tools"][bench.ASREVIEW_TOOL]["Tiny"]["label1"]["0"]
    assert set(row) == {"wss95", "recall10", "erf10", "atd", "found2.5", "found5", "cpu_s",
                        "wall_s"}
    assert row["cpu_s"] == 1.0
    # metareview's orders were computed and cached beside ASReview's, with the same priors
    mr = bench.read_orders(cache / f"metareview-{bench.DEFAULT_PRESET}" / "Tiny.label1.csv")[0]
    asr = bench.read_orders(cache / bench.ASREVIEW_TOOL / "Tiny.label1.csv")[0]
    assert np.array_equal(mr[:2], asr[:2])
    assert sorted(mr.tolist()) == list(range(24))


def test_loo_choose_picks_on_the_other_reviews() -> None:
    spec = importlib.util.spec_from_file_location("screening_select",
                                                  BENCHMARKS / "screening_select.py")
    assert spec is not None and spec.loader is not None
    select = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(select)
    # (WSS@95, recall@10%) per review; "a" is best on r1 alone, "b" on r2 and r3.
    table = {"a": {"r1": (0.9, 0.9), "r2": (0.1, 0.1), "r3": (0.2, 0.2)},
             "b": {"r1": (0.0, 0.0), "r2": (0.3, 0.3), "r3": (0.3, 0.3)}}
    # holding out r1: b scores 0.3 on r2, r3 against a's 0.15; holding out r2: a's mean of
    # r1, r3 is 0.55 against b's 0.15; likewise for r3 (0.5 against 0.15).
    assert select.loo_choose(table, ["r1", "r2", "r3"], ["a", "b"]) == {
        "r1": "b", "r2": "a", "r3": "a"}
    assert select.loo_objective(table, "a", ["r2", "r3"]) == pytest.approx(0.15)


def test_select_cold_start_criterion_by_hand() -> None:
    spec = importlib.util.spec_from_file_location("screening_select",
                                                  BENCHMARKS / "screening_select.py")
    assert spec is not None and spec.loader is not None
    select = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(select)
    # N = 80, R = 4, relevant read at positions 0, 2, 3, 9 (0-based): 95% needs ceil(3.8) = 4
    # found, after k = 10 read: WSS@95 = 70/80 - 0.05; recall@10% (8 read) 3/4; recall@2.5%
    # (2 read) 1/4; recall@5% (4 read) 3/4
    got = select._metrics({"n": 80, "n_rel": 4, "pos": [0, 2, 3, 9]})
    assert got == pytest.approx((70 / 80 - 0.05, 0.75, 0.25, 0.75))
    assert select.criterion_score(got) == pytest.approx((0.825 + 0.75) / 2)
    assert select.criterion_score(got, "coldstart") == pytest.approx(
        (0.825 + 0.75 + (0.25 + 0.75) / 2) / 3)
    with pytest.raises(ValueError, match="unknown criterion"):
        select.criterion_score(got, "mean")
