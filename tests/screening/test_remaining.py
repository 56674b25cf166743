"""The random-sample estimate of relevant records left and its exact hypergeometric interval.

Expected values are hand calculations written in each test (binomial coefficients), or the
truth counted on a made-up labelled set.
"""

from __future__ import annotations

import csv
from math import comb
from pathlib import Path

import numpy as np
import pytest

from metareview.cli import main
from metareview.errors import InputError
from metareview.screening.ranking import Ranker
from metareview.screening.remaining import draw_sample, sample_estimate
from metareview.screening.simulation import load_labelled_csv, remaining_estimates


def test_no_relevant_in_the_sample_by_hand() -> None:
    # U = 10, s = 5, x = 0: P(X = 0 | K) = C(10 - K, 5) / C(10, 5)
    #   K = 3: 21/252 = 0.083 > 0.025; K = 4: 6/252 = 0.0238 < 0.025  -> upper bound 3
    assert comb(7, 5) / comb(10, 5) > 0.025 > comb(6, 5) / comb(10, 5)
    est = sample_estimate(10, 5, 0)
    assert (est.estimate, est.lower, est.upper) == (0.0, 0, 3)


def test_all_relevant_in_the_sample_by_hand() -> None:
    # U = 10, s = 5, x = 5: P(X = 5 | K) = C(K, 5) / C(10, 5)
    #   K = 6: 6/252 < 0.025; K = 7: 21/252 > 0.025  -> lower bound 7; the upper bound is 10
    est = sample_estimate(10, 5, 5)
    assert (est.estimate, est.lower, est.upper) == (10.0, 7, 10)


def test_middle_case_and_left() -> None:
    # U = 200, s = 50, x = 5: K_hat = 200 * 5 / 50 = 20. Bounds by their defining tail
    # probabilities: P(X >= 5 | K_lo) > 0.025 >= P(X >= 5 | K_lo - 1), and the mirror for K_hi.
    from scipy.stats import hypergeom

    est = sample_estimate(200, 50, 5)
    assert est.estimate == 20.0
    assert hypergeom.sf(4, 200, est.lower, 50) > 0.025 >= hypergeom.sf(4, 200, est.lower - 1, 50)
    assert hypergeom.cdf(5, 200, est.upper, 50) > 0.025 >= hypergeom.cdf(5, 200, est.upper + 1, 50)
    assert est.lower < 20 < est.upper
    # after reading the sample and finding 3 more of the pool's relevant records
    assert est.left(8) == (12.0, est.lower - 8, est.upper - 8)
    with pytest.raises(InputError):
        est.left(4)


def test_census_is_exact() -> None:
    est = sample_estimate(30, 30, 7)
    assert (est.estimate, est.lower, est.upper) == (7.0, 7, 7)


@pytest.mark.parametrize(
    ("pool", "sampled", "relevant", "confidence"),
    [(10, 0, 0, 0.95), (10, 11, 0, 0.95), (10, 5, 6, 0.95), (10, 5, 1, 1.0)],
)
def test_impossible_counts_refused(pool: int, sampled: int, relevant: int,
                                   confidence: float) -> None:
    with pytest.raises(InputError):
        sample_estimate(pool, sampled, relevant, confidence=confidence)


def test_draw_sample_is_seeded_without_replacement() -> None:
    a = draw_sample(range(100, 200), 30, seed=(1, 250))
    assert len(set(a.tolist())) == 30 and set(a.tolist()) <= set(range(100, 200))
    assert a.tolist() == draw_sample(range(100, 200), 30, seed=(1, 250)).tolist()
    assert len(draw_sample([1, 2, 3], 10)) == 3


def _labelled(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path / "set.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstracts", "label1"])
        for i in range(300):
            rel = i % 5 == 0
            words = rng.choice(["trial", "placebo", "drug"] if rel else ["rat", "cell", "assay"], 6)
            w.writerow([f"record {i}", " ".join(words), "I" if rel else "E"])
    return path


def test_remaining_estimates_truth_and_interval(tmp_path: Path) -> None:
    data = load_labelled_csv(_labelled(tmp_path))
    order = np.random.default_rng(0).permutation(data.n)
    rows = remaining_estimates(data.records, data.labels, order, ranker=Ranker(seed=0),
                               sample_size=40)  # fmt: skip
    assert [r["screened"] for r in rows] == [0.10, 0.25, 0.50]
    for r in rows:
        k = r["read"]
        assert r["truth"] == int(data.labels[order[k:]].sum())  # counted directly
        assert r["unscreened"] == data.n - k and r["sampled"] == 40
        assert r["lower"] <= r["sample"] <= r["upper"]
        assert r["covered"] == (r["lower"] <= r["truth"] <= r["upper"])


def test_simulate_cli_reports_both_estimates(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = _labelled(tmp_path)
    assert main(["simulate", str(path), "--seeds", "1", "--estimate-sample", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["remaining"]) == {"10", "25", "50"}
    est = out["remaining"]["25"]
    assert est["sampled"] == 30 and 0.0 <= est["coverage"] <= 1.0
    assert est["sample_abs_error"] >= 0.0
    assert main(["simulate", str(path), "--estimate-sample", "0"]) == 2


def test_screener_sample_shown_first_and_estimated(tmp_path: Path) -> None:
    # 8 records (4 relevant, 4 irrelevant, as tests/screening/test_screener.py builds them);
    # a sample of 4 is drawn from the 8 unscreened and shown first, in the drawn order.
    from screening_builders import open_screening
    from test_screener import RELEVANT, _project

    from metareview.screening.remaining import latest_sample, sample_status
    from metareview.screening.screener import ScreeningSession, remaining_text

    folder = _project(tmp_path)
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A", seed=1, sample=4, sample_seed=7)
        stored = latest_sample(s, "title_abstract")
        assert stored is not None and len(stored.pool) == 8 and len(stored.records) == 4
        assert remaining_text(session.progress()).startswith("n/a")  # nothing read yet
        relevant_in_sample = 0
        for expected in stored.records:
            cand = session.next()
            assert cand is not None and cand.record_id == expected
            rel = RELEVANT in cand.record.title
            relevant_in_sample += rel
            session.decide(cand.record_id, "include" if rel else "exclude",
                           reason=None if rel else "population")  # fmt: skip
        status = sample_status(s, "title_abstract")
        assert status is not None and status.read == 4
        # K_hat = 8 x / 4 relevant in the pool; x of them found, so 2x - x = x left
        assert status.estimate is not None
        assert status.estimate.estimate == 8 * relevant_in_sample / 4
        assert status.left is not None and status.left[0] == relevant_in_sample
        assert status.found == relevant_in_sample
        assert "random sample, 4 of 4 read, of 8 unscreened" in remaining_text(session.progress())
        # the stored sample cannot be changed
        import sqlite3

        with pytest.raises(sqlite3.DatabaseError):
            s.project.connection.execute("DELETE FROM screening_samples")


def test_bounds_equal_the_full_scan_over_k() -> None:
    # the bisection's bounds against the definition evaluated at every feasible K
    from scipy.stats import hypergeom

    rng = np.random.default_rng(0)
    for _ in range(200):
        pool = int(rng.integers(1, 300))
        sampled = int(rng.integers(1, pool + 1))
        relevant = int(rng.integers(0, sampled + 1))
        ks = np.arange(relevant, pool - (sampled - relevant) + 1)
        lo = ks[hypergeom.sf(relevant - 1, pool, ks, sampled) > 0.025]
        hi = ks[hypergeom.cdf(relevant, pool, ks, sampled) > 0.025]
        est = sample_estimate(pool, sampled, relevant)
        assert (est.lower, est.upper) == (int(lo.min()), int(hi.max())), (pool, sampled, relevant)
