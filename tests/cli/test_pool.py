"""``metareview pool``: the CLI against metafor 3.8 on dat.bcg.

Expected values: ``tests/data/cli/bcg_pool_goldens.json``, written by
``scripts/goldens/cli_pool.R`` (``rma(yi, vi, data = escalc("RR", ...), method = ...)``,
``confint()``, ``predict()``, ``rma.mh(measure = "OR")``, ``rma.peto()`` with
``control = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main
from metareview.review.pool import JSON_KEYS

GOLDENS = json.loads((Path(__file__).parents[1] / "data/cli/bcg_pool_goldens.json").read_text())
BCG = Path(__file__).parents[1] / "data/cli/bcg.csv"
RTOL = 1e-6


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _close(got: Any, want: Any) -> bool:
    if want is None:
        return got is None
    if isinstance(want, str):
        return bool(got == want)
    return abs(got - want) <= RTOL * abs(want) + 1e-10


def _assert_matches(got: dict[str, Any], want: dict[str, Any]) -> None:
    want = _beyond_cap(got, want)
    bad = {k: (got.get(k), v) for k, v in want.items() if not _close(got.get(k), v)}
    assert not bad, bad


def _beyond_cap(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """metafor stops the Q-profile search at max(100, 10 tau2) (the k = 2 "alternate" group
    prints ">100"); metareview reports the true bound beyond it (tests/models/test_confint.py
    checks it by hand), so that key is compared as "> cap"."""
    cap = max(100.0, 10.0 * want["tau2"]) if isinstance(want.get("tau2"), float) else None
    w = want.get("tau2_ci_upper")
    if cap is not None and isinstance(w, int | float) and abs(w - cap) <= 1e-9 * cap:
        assert got["tau2_ci_upper"] > cap
        return {k: v for k, v in want.items() if k != "tau2_ci_upper"}
    return want


def test_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "pool", str(BCG), "--measure", "RR", "--json")
    assert code == 0
    assert tuple(json.loads(out)) == JSON_KEYS


@pytest.mark.parametrize(
    ("case", "argv"),
    [
        ("reml_z", ["--method", "REML"]),
        ("dl_knha", ["--method", "DL", "--test", "knha"]),
    ],
)
def test_pool_matches_metafor(
    capsys: pytest.CaptureFixture[str], case: str, argv: list[str]
) -> None:
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "RR", *argv, "--json")
    assert code == 0, err
    _assert_matches(json.loads(out), GOLDENS[case])


def test_pool_by_group_matches_metafor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--by", "alloc", "--json")
    assert code == 0, err
    got = {item["by"]: item for item in json.loads(out)}
    for want in GOLDENS["by_alloc"]:
        _assert_matches(got[want["by"]], want)


@pytest.mark.parametrize(("method", "case"), [("MH", "mh_or"), ("PETO", "peto")])
def test_mantel_haenszel_and_peto(
    capsys: pytest.CaptureFixture[str], method: str, case: str
) -> None:
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "OR", "--method", method,
                          "--json")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    want = GOLDENS[case]
    for key_ours, key_r in [("k", "k"), ("estimate", "estimate"), ("se", "se"),
                            ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper"),
                            ("pvalue", "pvalue"), ("Q", "Q"), ("Q_pvalue", "Q_pvalue"),
                            ("I2", "I2")]:  # fmt: skip
        assert _close(got[key_ours], want[key_r]), (key_ours, got[key_ours], want[key_r])
    assert got["tau2"] == 0.0  # equal effects: metafor's rma.mh/rma.peto objects hold tau2 = 0


def test_readable_summary_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "pool", str(BCG), "--measure", "RR")
    assert code == 0
    # metafor's print.rma.uni: "Random-Effects Model (k = 13; tau^2 estimator: REML)" and the
    # model results line "-0.7145  0.1798  -3.9744  <.0001  -1.0669  -0.3622"
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in out
    assert "-0.7145" in out and "0.1798" in out


def test_text_in_numeric_column_names_file_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ai,bi,ci,di\n4,119,11,128\n6,three hundred,29,274\n")
    code, out, err = _run(capsys, "pool", str(bad), "--measure", "RR", "--json")
    assert code == 2
    assert out == ""
    assert str(bad) in err and "row 2" in err and "'bi'" in err
    assert "Traceback" not in err


def test_uncomputable_rows_are_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Row 3 has an empty cell: escalc gives NA there and metafor drops it with a warning.
    src = BCG.read_text().splitlines()
    header, rows = src[0], src[1:]
    cells = rows[2].split(",")
    cells[-1] = ""
    rows[2] = ",".join(cells)
    path = tmp_path / "gap.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    code, out, err = _run(capsys, "pool", str(path), "--measure", "RR", "--json")
    assert code == 0
    assert json.loads(out)["k"] == 12
    assert "data rows 3" in err


def test_missing_file_and_nothing_to_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "pool", str(tmp_path / "nope.csv"), "--measure", "RR")
    assert code == 2 and "no such file" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("ai,bi,ci,di\n")
    code, _, err = _run(capsys, "pool", str(empty), "--measure", "RR")
    assert code == 2 and "no data rows" in err


def test_unknown_method_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--method", "XYZ")
    assert code == 2 and "unknown method" in err


def test_peto_refuses_a_measure_other_than_odds_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--method", "PETO")
    assert code == 2 and "odds ratios" in err


def test_mh_takes_group_sizes_instead_of_non_event_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ai, n1i = ai + bi, ci, n2i = ci + di describe the same tables: the same MH estimate.
    lines = BCG.read_text().splitlines()[1:]
    rows = [line.rsplit(",", 4) for line in lines]
    path = tmp_path / "sizes.csv"
    body = [f"{a},{int(a) + int(b)},{c},{int(c) + int(d)}" for _, a, b, c, d in rows]
    path.write_text("ai,n1i,ci,n2i\n" + "\n".join(body) + "\n")
    code, out, err = _run(capsys, "pool", str(path), "--measure", "OR", "--method", "MH", "--json")
    assert code == 0, err
    assert _close(json.loads(out)["estimate"], GOLDENS["mh_or"]["estimate"])
