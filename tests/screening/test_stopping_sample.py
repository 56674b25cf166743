"""The random-sample stopping rule: recall's lower bound from a sample drawn up front.

Expected values are hand calculations written in each test (binomial coefficients), or the
definition (Callaghan & Müller-Hansen, Syst Rev 2020;9:273: reject "recall < target" when
P(X <= x | K_target) <= 1 - confidence) evaluated directly.
"""

from __future__ import annotations

import json
import math
from math import comb
from pathlib import Path

import numpy as np
import pytest

from metareview.cli import main
from metareview.errors import InputError
from metareview.screening.remaining import sample_estimate, sample_upper_bound
from metareview.screening.stopping import first_stop, sample_decision, sample_recall_bound

# U = 20 unscreened, a sample of s = 10 with x = 0 relevant: P(X = 0 | K) = C(20-K, 10)/C(20, 10)
#   K = 3: 19448/184756 = 0.1053; K = 4: 8008/184756 = 0.0433; K = 5: 3003/184756 = 0.0163
P_K3, P_K4, P_K5 = (comb(20 - k, 10) / comb(20, 10) for k in (3, 4, 5))


def test_one_sided_upper_bound_by_hand() -> None:
    assert P_K3 > 0.05 >= P_K4 > 0.025 >= P_K5
    # one-sided at 95%: the largest K with P(X <= 0 | K) > 0.05 is 3
    assert sample_upper_bound(20, 10, 0, confidence=0.95) == 3
    # at 97.5% it is 4, the upper end of the two-sided 95% interval
    assert sample_upper_bound(20, 10, 0, confidence=0.975) == 4
    assert sample_estimate(20, 10, 0, confidence=0.95).upper == 4
    with pytest.raises(InputError):
        sample_upper_bound(20, 10, 11)


def test_recall_bound_and_verdict_by_hand() -> None:
    # one relevant prior outside the pool (R_out = 1), so R <= 1 + K_hi = 4 at 95% confidence
    assert sample_recall_bound(1, 20, 10, 0, outside=1) == pytest.approx(1 / 4)
    assert sample_recall_bound(3, 20, 10, 0, outside=1) == pytest.approx(3 / 4)
    d = sample_decision(3, 20, 10, 0, outside=1, target=0.75, confidence=0.95)
    assert (d.rule, d.stop, d.value, d.threshold) == ("sample", True, 0.75, 0.75)
    assert not sample_decision(2, 20, 10, 0, outside=1, target=0.75).stop  # 2/4 = 0.5
    assert not sample_decision(3, 20, 10, 0, outside=1, target=0.8).stop  # 0.75 < 0.8
    # a sample not read in full gives no verdict, whatever the bound
    assert not sample_decision(3, 20, 10, 0, outside=1, target=0.75, complete=False).stop
    # the same verdicts as Callaghan & Müller-Hansen's test with the sample as the urn's draw:
    # K_tau = floor(found / tau - R_out) + 1; found 3 -> K_tau 4, p = P_K4 = 0.043 <= 0.05;
    # found 2 -> K_tau 2, p = C(18, 10) / C(20, 10) = 0.237 > 0.05
    assert math.floor(3 / 0.75 - 1) + 1 == 4 and P_K4 <= 0.05
    assert math.floor(2 / 0.75 - 1) + 1 == 2 and comb(18, 10) / comb(20, 10) > 0.05
    # nothing relevant can be left: recall 1
    assert sample_recall_bound(0, 10, 10, 0) == 1.0
    with pytest.raises(InputError):
        sample_decision(1, 20, 10, 0, target=1.0)


def test_first_stop_along_an_order_by_hand() -> None:
    # priors [1, 0], then the sample (10 irrelevant records of the 20 others), then the rest
    # as ranked: relevant at positions 13 and 15 (1-based). R <= 1 + 3 = 4, so target 0.75
    # needs 3 found: the 15th record.
    y = [1, 0] + [0] * 10 + [1, 0, 1] + [0] * 7
    assert len(y) == 22
    assert first_stop(y, "sample", sample=10, before=2, target=0.75) == 15
    # target 0.8 needs 3.2, so 4: never reached (only 3 relevant in all)
    assert first_stop(y, "sample", sample=10, before=2, target=0.8) is None
    # a sample whose bound is met by the records read already stops at its last record
    assert (
        first_stop([1, 0] + [0] * 10 + [0] * 10, "sample", sample=10, before=2, target=0.25) == 12
    )  # 1 found >= 0.25 * 4
    with pytest.raises(InputError):
        first_stop(y, "sample", sample=30, before=2)


def test_verdict_equals_the_hypergeometric_test_everywhere() -> None:
    # stop <=> P(X <= x | K_tau) <= 1 - c, K_tau = floor(found / tau - R_out) + 1, over random
    # counts (scipy's hypergeometric cdf evaluated directly)
    from scipy.stats import hypergeom

    rng = np.random.default_rng(5)
    for _ in range(500):
        pool = int(rng.integers(5, 200))
        s = int(rng.integers(1, pool + 1))
        x = int(rng.integers(0, s + 1))
        if pool - (s - x) < x:
            continue
        out = int(rng.integers(0, 4))
        k = int(rng.integers(x, pool - (s - x) + 1))
        found = out + int(rng.integers(x, k + 1))
        tau, c = float(rng.choice([0.8, 0.9, 0.95])), float(rng.choice([0.9, 0.95]))
        k_tau = math.floor(found / tau - out + 1e-9) + 1
        p = (
            0.0
            if k_tau > pool - (s - x)
            else 1.0
            if k_tau < x
            else hypergeom.cdf(x, pool, k_tau, s)
        )
        d = sample_decision(found, pool, s, x, outside=out, target=tau, confidence=c)
        assert d.stop == (p <= 1 - c), (pool, s, x, out, found, tau, c)


def _labelled(tmp_path: Path) -> Path:
    import csv

    rng = np.random.default_rng(3)
    path = tmp_path / "set.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstracts", "label1"])
        for i in range(120):
            rel = i % 4 == 0
            words = rng.choice(["trial", "placebo", "drug"] if rel else ["rat", "cell", "assay"], 6)
            w.writerow([f"record {i}", " ".join(words), "I" if rel else "E"])
    return path


def test_simulate_scores_the_sample_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metareview.screening.simulation import (
        load_labelled_csv,
        sample_rule_stop,
        simulate_order,
    )

    path = _labelled(tmp_path)
    argv = [
        "simulate",
        str(path),
        "--seeds",
        "2",
        "--stop-sample",
        "90",
        "--stop-target",
        "0.8",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    rule = out["stopping"]["sample"]
    assert rule["settings"] == {"target": 0.8, "confidence": 0.95, "sample": 90.0}
    assert set(out["stopping"]) == {"hypergeometric", "irrelevant-run", "sample"}
    # each seed against the replay scored directly (priors: the first two of its order)
    data = load_labelled_csv(path)
    runs = []
    for seed in (0, 1):
        priors, _ = simulate_order(data.records, data.labels, seed=seed, batch_size=10**6,
                                   stop=lambda *_: True)  # fmt: skip
        runs.append(sample_rule_stop(data, priors, 90, seed=seed, target=0.8))
    assert rule["stopped_at"] == pytest.approx(np.mean([r["stopped_at"] for r in runs]))
    assert rule["recall"] == pytest.approx(np.mean([r["recall"] for r in runs]))
    for r in runs:
        # the sample (92 records with the priors) is always read; work saved counts it
        assert r["stopped_at"] >= 92 and r["work_saved"] == pytest.approx(1 - r["stopped_at"] / 120)
    # without the flag there is no sample rule
    assert main(["simulate", str(path), "--seeds", "1", "--json"]) == 0
    assert "sample" not in json.loads(capsys.readouterr().out)["stopping"]
    assert main(["simulate", str(path), "--stop-sample", "0"]) == 2


def test_screener_status_line_shows_the_sample_rule(tmp_path: Path) -> None:
    # 8 records (4 relevant), a sample of 4 shown first (tests/screening/test_screener.py)
    from screening_builders import open_screening
    from test_screener import RELEVANT, _project

    from metareview.screening.screener import ScreeningSession, stopping_text

    folder = _project(tmp_path)
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A", seed=1, sample=4, sample_seed=7)
        assert [d.rule for d in session.progress().stopping] == ["hypergeometric", "irrelevant-run"]
        x = 0
        for n in range(1, 5):
            cand = session.next()
            assert cand is not None
            rel = RELEVANT in cand.record.title
            x += rel
            session.decide(cand.record_id, "include" if rel else "exclude",
                           reason=None if rel else "population")  # fmt: skip
            prog = session.progress()
            *_, sample = prog.stopping
            assert sample.rule == "sample" and not sample.stop
            # by hand: U = 8, n read with x relevant; K_hi = max K with
            # sum_{j <= x} C(K, j) C(8 - K, n - j) / C(8, n) > 0.05; recall >= x / K_hi
            k_hi = max(
                k
                for k in range(x, 8 - (n - x) + 1)
                if sum(comb(k, j) * comb(8 - k, n - j) for j in range(x + 1)) / comb(8, n) > 0.05
            )
            assert sample.value == pytest.approx(min(1.0, x / k_hi))
            line = stopping_text(prog)[-1]
            assert line.startswith(f"random sample: recall ≥ {100 * sample.value:.1f}% at 95%")
            assert ("verdict once all 4 sample records are read" in line) == (n < 4)


def test_screen_refuses_a_bad_stop_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_screener import _project

    folder = _project(tmp_path)
    assert main(["screen", str(folder), "--reviewer", "A", "--stop-target", "1.5"]) == 2
    assert "must lie in (0, 1)" in capsys.readouterr().err
