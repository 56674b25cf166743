"""Tests of simulated screening: metrics by hand, the labelled-CSV reader, the simulate command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from metareview.cli import main
from metareview.errors import InputError
from metareview.screening.ranking import Ranker
from metareview.screening.simulation import (
    load_labelled_csv,
    recall_curve,
    rrf,
    simulate,
    simulate_order,
    wss,
)

# Reading order for the hand calculations: N = 10 records, 3 relevant, read at positions 1, 3, 6.
ORDER = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]


def test_recall_curve_by_hand() -> None:
    curve = recall_curve(ORDER)
    assert curve.tolist() == [
        [0, 0],
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 2],
        [5, 2],
        [6, 3],
        [7, 3],
        [8, 3],
        [9, 3],
        [10, 3],
    ]


def test_wss_by_hand() -> None:
    # Cohen 2006: WSS = (TN + FN)/N - (1 - r), the reviewer stopping when recall reaches r.
    # r = 1: all 3 found after 6 records -> 4 unread: 4/10 - 0 = 0.40
    assert wss(ORDER, 1.0) == pytest.approx(0.40, abs=1e-12)
    # r = 0.95: ceil(0.95 * 3) = 3 needed -> still 6 read: 4/10 - 0.05 = 0.35
    assert wss(ORDER, 0.95) == pytest.approx(0.35, abs=1e-12)
    # r = 0.5: ceil(1.5) = 2 needed -> 3 read: 7/10 - 0.5 = 0.20
    assert wss(ORDER, 0.5) == pytest.approx(0.20, abs=1e-12)
    # perfect order of the same set: 3 read, 7/10 - 0.05 = 0.65 at 95%
    assert wss(sorted(ORDER, reverse=True), 0.95) == pytest.approx(0.65, abs=1e-12)
    # the worst order: relevant last; 10 read, 0/10 - 0.05
    assert wss(sorted(ORDER), 0.95) == pytest.approx(-0.05, abs=1e-12)


def test_wss95_with_twenty_relevant_needs_nineteen() -> None:
    # 20 relevant in 100; 19 of them in the first 19 places, the 20th last.
    # 95% of 20 is exactly 19 (no rounding up to 20 through floating point): stop after 19.
    order = [1] * 19 + [0] * 80 + [1]
    assert wss(order, 0.95) == pytest.approx((100 - 19) / 100 - 0.05, abs=1e-12)  # 0.76
    assert wss(order, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_rrf_by_hand() -> None:
    # recall after floor(x N) records: 10% of 10 = 1 record -> 1 of 3 found
    assert rrf(ORDER, 0.10) == pytest.approx(1 / 3)
    assert rrf(ORDER, 0.25) == pytest.approx(1 / 3)  # floor(2.5) = 2 records
    assert rrf(ORDER, 0.30) == pytest.approx(2 / 3)  # 3 records
    assert rrf(ORDER, 1.0) == 1.0
    assert rrf(ORDER, 0.0) == 0.0


def test_metric_input_errors() -> None:
    with pytest.raises(InputError, match="no relevant"):
        wss([0, 0, 0])
    with pytest.raises(InputError, match="0 \\(irrelevant\\) or 1"):
        rrf([0, 2, 1])
    with pytest.raises(InputError, match="recall"):
        wss(ORDER, 0.0)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    header = ["pubmedID", "title", "keywords", "authors", "abstracts", "label1", "label2"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _made_up_rows(n_rel: int = 10, n_irr: int = 50) -> list[dict[str, str]]:
    rng = np.random.default_rng(11)
    rel = ["imatinib", "scleroderma", "randomized", "skin", "fibrosis", "placebo", "trial"]
    irr = ["mouse", "kidney", "cell", "culture", "membrane", "enzyme", "rat", "assay"]
    rows = []
    for i in range(n_rel + n_irr):
        is_rel = i % 6 == 0 and i // 6 < n_rel
        words = " ".join(rng.choice(rel if is_rel else irr, size=8))
        rows.append(
            {
                "pubmedID": str(1000 + i),
                "title": words[:30],
                "keywords": "Humans; Skin" if is_rel else "Animals; Kidney",
                "authors": "Doe, J",
                "abstracts": words,
                "label1": "I" if is_rel else ("E" if i % 2 else "4"),
                "label2": "I" if is_rel and i < 20 else "E",
            }
        )
    return rows


def test_load_labelled_csv(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    data = load_labelled_csv(path)
    assert (data.n, data.n_included) == (60, 10)
    # any label other than 'I' ("E", an exclusion code "4") is an exclusion
    assert load_labelled_csv(path, "label2").n_included == 4
    assert set(data.records[0]) == {"title", "abstracts", "keywords"}


def test_load_labelled_csv_errors(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    with pytest.raises(InputError, match="no label column 'label3'") as info:
        load_labelled_csv(path, "label3")
    assert info.value.file == str(path) and info.value.field == "label3"

    rows = _made_up_rows()
    for row in rows:
        row["label1"] = "E"
    with pytest.raises(InputError, match="0 record\\(s\\) labelled 'I'"):
        load_labelled_csv(_write_csv(tmp_path / "none.csv", rows))

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("title,abstracts,label1\na,b,I\nc,d,E,extra\n")
    with pytest.raises(InputError, match="row 2"):
        load_labelled_csv(ragged)
    short = tmp_path / "short.csv"
    short.write_text("title,abstracts,label1\na,b,I\nc,d\n")
    with pytest.raises(InputError, match="row 2"):
        load_labelled_csv(short)

    with pytest.raises(InputError, match="no such file"):
        load_labelled_csv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_labelled_csv(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"title,label1\n\xff\xfe,I\n")
    with pytest.raises(InputError, match="UTF-8"):
        load_labelled_csv(binary)
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("id,label1\n1,I\n")
    with pytest.raises(InputError, match="no text column"):
        load_labelled_csv(no_text)


def test_simulation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    data = load_labelled_csv(_write_csv(tmp_path / "set.csv", _made_up_rows()))
    p1, o1 = simulate_order(data.records, data.labels, seed=3)
    p2, o2 = simulate_order(data.records, data.labels, seed=3)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(o1, o2)
    # the priors: one relevant, one irrelevant; every other record read exactly once
    assert data.labels[p1].tolist() == [1, 0]
    assert sorted([*p1.tolist(), *o1.tolist()]) == list(range(data.n))
    # retraining after every decision reads the same set; seeds draw different priors
    _, every = simulate_order(data.records, data.labels, seed=3, batch_fraction=0.0)
    assert sorted(every.tolist()) == sorted(o1.tolist())
    ranker = Ranker("nb")
    priors = {
        tuple(simulate_order(data.records, data.labels, seed=s, ranker=ranker)[0]) for s in range(3)
    }
    assert len(priors) > 1


def test_simulate_averages_over_seeds(tmp_path: Path) -> None:
    data = load_labelled_csv(_write_csv(tmp_path / "set.csv", _made_up_rows()))
    result = simulate(data, seeds=(0, 1, 2))
    assert result.wss95 == pytest.approx(np.mean([s["wss95"] for s in result.per_seed]))
    assert result.rrf10 == pytest.approx(np.mean([s["rrf10"] for s in result.per_seed]))
    # priors are excluded from the evaluated order (ASReview Insights' default)
    assert result.curve[-1].tolist() == [data.n - 2, data.n_included - 1]
    # separable made-up set: all 9 relevant records after the priors are read first
    assert result.wss100 == pytest.approx((58 - 9) / 58)


def test_beats_random_order_on_a_real_set(shared_dir: Path) -> None:
    path = shared_dir / "data/screening-cohen2006/ADHD.csv"
    if not path.exists():
        pytest.skip("the Cohen (2006) ADHD set is absent")
    data = load_labelled_csv(path, "label1")
    _, order = simulate_order(data.records, data.labels, model="nb", seed=0, batch_fraction=0.05)
    model_wss = wss(data.labels[order], 0.95)
    random_order = np.random.default_rng(0).permutation(order)
    random_wss = wss(data.labels[random_order], 0.95)
    assert model_wss > random_wss + 0.3
    assert rrf(data.labels[order], 0.10) > 2 * rrf(data.labels[random_order], 0.10)


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    plot = tmp_path / "curve.svg"
    code = main(["simulate", str(path), "--seeds", "2", "--json", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    payload = json.loads(out)
    assert {"n", "n_included", "wss95", "wss100", "rrf10", "curve", "metrics", "stopping"} <= set(
        payload
    )
    assert (payload["n"], payload["n_included"]) == (60, 10)
    assert payload["curve"][0] == [0, 0.0] and payload["curve"][-1] == [58, 9.0]
    assert "<svg" in plot.read_text()
    assert "default (mean of 2 seed(s))" in plot.read_text()  # the curve names the preset


def test_cli_table_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    plot = tmp_path / "curve.png"
    code = main(["simulate", str(path), "--seeds", "1", "--model", "logreg", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    assert "WSS@95" in out and "RRF@10" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-column", "label9"], "no label column 'label9'"),
        (["--model", "bert"], "unknown model 'bert'"),
        (["--seeds", "0"], "--seeds must be 1 or more"),
        (["--plot", "out.pdf"], "must end in .svg or .png"),
    ],
)
def test_cli_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    code = main(["simulate", str(path), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("metareview: error: ") and message in err
    assert err.count("\n") == 1


def test_cli_bad_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('title,abstracts,label1\n"unterminated,x,I\n')
    code = main(["simulate", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err


def test_cli_default_is_the_default_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metareview.screening.ranking import DEFAULT_PRESET, PRESETS

    path = _write_csv(tmp_path / "set.csv", _made_up_rows())
    outputs = []
    for extra in ([], ["--model", DEFAULT_PRESET]):
        orders = tmp_path / f"orders{len(extra)}.csv"
        assert main(["simulate", str(path), "--seeds", "2", "--json", "--orders", str(orders),
                     *extra]) == 0
        capsys.readouterr()
        outputs.append(orders.read_text())
    assert outputs[0] == outputs[1]
    # and the Python API's default ranker is the same configuration
    data = load_labelled_csv(path)
    preset = dict(PRESETS[DEFAULT_PRESET])
    model = preset.pop("model")
    ours = simulate(data, seeds=(0, 1))
    named = simulate(data, seeds=(0, 1), model=model, ranker_options=preset)
    for a, b in zip(ours.orders, named.orders, strict=True):
        np.testing.assert_array_equal(a, b)
    # every preset runs by name
    for name in PRESETS:
        assert main(["simulate", str(path), "--seeds", "1", "--json", "--model", name]) == 0
        capsys.readouterr()


def test_replay_stops_when_told(tmp_path: Path) -> None:
    data = load_labelled_csv(_write_csv(tmp_path / "set.csv", _made_up_rows()))
    _, full = simulate_order(data.records, data.labels, seed=1)
    seen: list[tuple[int, int]] = []

    def stop(read: int, found: int) -> bool:
        seen.append((read, found))
        return found >= 5

    _, part = simulate_order(data.records, data.labels, seed=1, stop=stop)
    # the same reading order, cut after the first batch that brought the fifth relevant record
    np.testing.assert_array_equal(part, full[: len(part)])
    assert seen[-1] == (len(part), int(data.labels[part].sum())) and seen[-1][1] >= 5
    assert all(f < 5 for _, f in seen[:-1])
