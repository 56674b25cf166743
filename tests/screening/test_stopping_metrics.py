"""screening_metrics, the stopping rules and ``simulate --orders``: hand calculations."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom
from test_simulation import _made_up_rows, _write_csv

from metareview.cli import main
from metareview.errors import InputError
from metareview.screening.simulation import parse_batch, screening_metrics
from metareview.screening.stopping import first_stop, hypergeometric_p, irrelevant_run


def test_screening_metrics_by_hand() -> None:
    # two priors, then ten records read; relevant at positions 2, 5 and 10 (1-based).
    order = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1]
    m = screening_metrics(order, n_priors=2, recall_at=(0.05, 0.10, 0.20),
                          wss_at=(0.6, 0.95, 1.0), erf_at=(0.10, 0.20))
    assert (m["n"], m["n_relevant"], m["n_priors"]) == (10, 3, 2)
    # recall@x = found(floor(x N)) / R: floor(0.5)=0 -> 0; floor(1)=1 -> 0; floor(2)=2 -> 1/3
    assert m["recall"] == {"5": 0.0, "10": 0.0, "20": pytest.approx(1 / 3)}
    # WSS@r = (N - k_r)/N - (1 - r): r=0.6 needs ceil(1.8)=2 found, k=5 -> 0.5 - 0.4 = 0.1;
    # r=0.95 needs 3, k=10 -> 0 - 0.05; r=1 needs 3, k=10 -> 0
    assert m["wss"]["60"] == pytest.approx(0.1)
    assert m["wss"]["95"] == pytest.approx(-0.05)
    assert m["wss"]["100"] == pytest.approx(0.0)
    # ERF@x = recall@x - floor(x N)/N: 0 - 0.1, 1/3 - 0.2
    assert m["erf"]["10"] == pytest.approx(-0.1)
    assert m["erf"]["20"] == pytest.approx(1 / 3 - 0.2)
    # ATD = mean position of the relevant records = (2 + 5 + 10)/3
    assert m["atd"] == pytest.approx(17 / 3)
    assert m["atd_fraction"] == pytest.approx(17 / 30)
    with pytest.raises(InputError, match="n_priors"):
        screening_metrics(order, n_priors=12)


def test_parse_batch() -> None:
    assert parse_batch("10") == (10, None)
    assert parse_batch("2%") == (None, 0.02)
    for bad in ("0", "x", "-3%", "150%"):
        with pytest.raises(InputError, match="--batch"):
            parse_batch(bad)


def test_hypergeometric_p_by_hand() -> None:
    # Callaghan & Müller-Hansen 2020: 6 read of N = 20, relevant at 1, 2, 4; target 0.5.
    y = [1, 1, 0, 1, 0, 0]
    n_total, target = 20, 0.5
    r_seen = 3
    expected = []
    for n in range(1, 7):  # the last n records read as a sample from the urn unread before them
        k_n = sum(y[-n:])
        r_al = r_seen - k_n
        urn = n_total - 6 + n
        # fewest relevant in the urn for recall < 0.5
        k_tau = math.floor(r_seen / target - r_al) + 1
        expected.append(hypergeom.cdf(k_n, urn, k_tau, n))
    # n = 1: urn 15 holding 4 relevant, the one record drawn irrelevant: 11/15
    assert expected[0] == pytest.approx(11 / 15)
    # n = 2: urn 16 holding 4 relevant, both irrelevant: (12/16)(11/15)
    assert expected[1] == pytest.approx(12 / 16 * 11 / 15)
    assert hypergeometric_p(y, n_total, target) == pytest.approx(min(expected), rel=1e-12)


def test_hypergeometric_rule_stops_only_when_recall_is_safe() -> None:
    # 10 relevant among the first 10 of 200, then 190 irrelevant: after reading k records the
    # urn of 200 - 10 = 190 ... the rule must stop somewhere after the last relevant record.
    y = np.array([1] * 10 + [0] * 190)
    k = first_stop(y, "hypergeometric", target=0.95, confidence=0.95)
    assert k is not None and 10 < k < 200
    # at the stop the p-value is below 0.05, one record earlier it was not
    assert hypergeometric_p(y[:k], 200, 0.95) < 0.05 <= hypergeometric_p(y[: k - 1], 200, 0.95)
    # nothing found: never stops; a null that cannot hold (all records read): p = 0
    assert hypergeometric_p([0, 0, 0], 10) == 1.0
    assert hypergeometric_p([1, 0, 1], 3) == 0.0


def test_irrelevant_run() -> None:
    assert irrelevant_run([1, 0, 0, 1, 0, 0, 0]) == 3
    assert irrelevant_run([0, 0]) == 2
    assert first_stop([1, 0, 0, 1, 0, 0, 0, 1], "irrelevant-run", run=3) == 7
    assert first_stop([1, 0, 1], "irrelevant-run", run=3) is None
    with pytest.raises(InputError, match="unknown stopping rule"):
        first_stop([1], "knee")


def test_orders_csv_recomputes_the_printed_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    orders = tmp_path / "orders.csv"
    code = main(["simulate", str(path), "--seeds", "2", "--json", "--batch", "5",
                 "--prior-relevant", "2", "--prior-irrelevant", "1", "--orders", str(orders)])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    with orders.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["seed", "rank", "row", "label"]
        rows = list(reader)
    n = payload["n"]
    assert len(rows) == 2 * n
    with path.open(newline="") as fh:
        truth = [1 if r["label1"] == "I" else 0 for r in csv.DictReader(fh)]
    for seed in (0, 1):
        mine = [r for r in rows if r["seed"] == str(seed)]
        assert [int(r["rank"]) for r in mine] == list(range(1, n + 1))
        assert sorted(int(r["row"]) for r in mine) == list(range(n))  # every row once
        assert all(truth[int(r["row"])] == int(r["label"]) for r in mine)
        assert sum(int(r["label"]) for r in mine[:2]) == 2  # the relevant priors come first
        again = screening_metrics([int(r["label"]) for r in mine], n_priors=payload["n_priors"])
        assert again == payload["per_seed"][seed]["metrics"]
    assert payload["n_priors"] == 3


def test_prior_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    orders = tmp_path / "orders.csv"
    assert main(["simulate", str(path), "--seeds", "1", "--json", "--prior-ids", "0,11",
                 "--orders", str(orders)]) == 0
    with orders.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["row"] for r in rows[:2]] == ["0", "11"]
    capsys.readouterr()
    assert main(["simulate", str(path), "--prior-ids", "0,9999"]) == 2
    assert "prior row 9999" in capsys.readouterr().err


def test_asreview_label_columns(tmp_path: Path) -> None:
    from metareview.screening.simulation import load_labelled_csv

    path = tmp_path / "asreview.csv"
    path.write_text("title,abstract,included\nA drug trial,x,1\nA rat study,y,0\n"
                    "Another trial,z,1\nA cell assay,w,0\n", encoding="utf-8")
    data = load_labelled_csv(path, "included")
    assert data.labels.tolist() == [1, 0, 1, 0]
    path.write_text("title,label_included\nA,1\nB,\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2") as info:
        load_labelled_csv(path, "label_included")
    assert info.value.field == "label_included"


def test_hypergeometric_p_is_the_minimum_over_every_sample_size() -> None:
    """The rule evaluates P(X <= k_n) only at the ends of runs of irrelevant records (where the
    minimum over n lies); here every n = 1..k is evaluated by hand and the minima agree."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        k = int(rng.integers(1, 200))
        n_total = k + int(rng.integers(0, 300))
        y = (rng.random(k) < rng.random() * 0.5).astype(int)
        target = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        r = int(y.sum())
        if r == 0:
            assert hypergeometric_p(y, n_total, target) == 1.0
            continue
        n = np.arange(1, k + 1)
        tail = np.cumsum(y[::-1])
        urn = n_total - k + n
        k_tau = np.maximum(np.floor(r / target - (r - tail) + 1e-9).astype(np.int64) + 1, 0)
        if (k_tau > urn).any():
            expected = 0.0
        else:
            expected = min(float(np.min(hypergeom.cdf(tail, urn, k_tau, n))), 1.0)
        assert hypergeometric_p(y, n_total, target) == pytest.approx(expected, abs=1e-15)
