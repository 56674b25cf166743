"""``metareview pool``: the CLI against metafor 3.8 on dat.bcg.

Expected values: ``tests/data/cli/bcg_pool_goldens.json``, written by
``scripts/goldens/cli_pool.R`` (``rma(yi, vi, data = escalc("RR", ...), method = ...)``,
``confint()``, ``predict()``, ``rma.mh(measure = "OR")``, ``rma.peto()`` with
``control = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)``); per-study rows from
``summary(escalc(...))`` and ``weights(fit)``, ``--transf`` from ``predict(fit, transf = exp)``,
the ``--by`` test from ``rma(estimates, sei = se, mods = ~ group, method = "FE")$QM`` (groups
fitted by REML, and by DL); ``bcg_gen.csv`` holds the same ``yi``, ``vi`` for the GEN path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main
from metareview.review.pool import JSON_KEYS, STUDY_KEYS

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
    got = json.loads(out)
    assert tuple(got) == (*JSON_KEYS, "studies")
    assert all(tuple(row) == STUDY_KEYS for row in got["studies"])


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
    got = {item["by"]: item for item in json.loads(out)["analyses"]}
    for want in GOLDENS["by_alloc"]:
        _assert_matches(got[want["by"]], want)


@pytest.mark.parametrize(
    ("argv", "case"),
    [
        (["--measure", "RR"], "by_alloc_test"),
        (["--measure", "RR", "--method", "DL"], "by_alloc_test_dl"),
        (["--measure", "GEN"], "by_alloc_test"),  # bcg_gen.csv: yi, vi read by NumPy
    ],
)
def test_by_json_reports_the_test_for_subgroup_differences(
    capsys: pytest.CaptureFixture[str], argv: list[str], case: str
) -> None:
    # metafor: each group's rma() (REML or DL), then the groups' estimates in
    # rma(estimate, sei = se, mods = ~ group, method = "FE"): QM, QMdf, QMp (cli_pool.R).
    csv = BCG.with_name("bcg_gen.csv") if "GEN" in argv else BCG
    if "GEN" in argv:
        from metareview.review.pool import _pool_lean

        assert _pool_lean(csv, method="REML", test="z", level=95.0, by="alloc") is not None
    code, out, err = _run(capsys, "pool", str(csv), *argv, "--by", "alloc", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert set(got) == {"analyses", "test_between"}
    assert [a["by"] for a in got["analyses"]] == ["alternate", "random", "systematic"]
    want = GOLDENS[case]
    test = got["test_between"]
    assert test["df"] == want["df"] and test["groups"] == 3
    assert _close(test["Q"], want["Q"]) and _close(test["pvalue"], want["pvalue"])
    code, text, _ = _run(capsys, "pool", str(csv), *argv, "--by", "alloc")
    assert code == 0
    assert f"QM(df = 2) = {want['Q']:.4f}, p-val = {want['pvalue']:.4f}" in text


def test_by_json_with_one_group_has_no_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "one.csv"
    csv.write_text("g,yi,vi\na,0.1,0.02\na,0.3,0.05\na,-0.1,0.04\n")
    code, out, err = _run(capsys, "pool", str(csv), "--measure", "GEN", "--by", "g", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["test_between"] is None and [a["by"] for a in got["analyses"]] == ["a"]


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


def test_json_per_study_rows_match_metafor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--json")
    assert code == 0, err
    rows = json.loads(out)["studies"]
    want = GOLDENS["studies"]
    assert [r["row"] for r in rows] == list(range(1, 14))
    assert rows[0]["study"] == "Aronson 1948"
    for key in ("yi", "vi", "weight", "ci_lb", "ci_ub"):
        for got, w in zip([r[key] for r in rows], want[key], strict=True):
            assert _close(got, w), (key, got, w)


def test_transf_exp_matches_metafor_predict(capsys: pytest.CaptureFixture[str]) -> None:
    for transf in ("exp", "auto"):  # auto for RR is exp
        code, out, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--transf", transf,
                              "--json")  # fmt: skip
        assert code == 0, err
        got = json.loads(out)
        assert got["transf"] == transf
        _assert_matches(got["transformed"], GOLDENS["transf_exp"])
        _assert_matches(got, GOLDENS["reml_z"])  # the model scale is still reported
    code, out, _ = _run(capsys, "pool", str(BCG), "--measure", "RR", "--transf", "auto")
    # metafor's print of predict(res, transf = exp): "0.4894 0.3441 0.6962 0.1546 1.5490"
    assert "0.4894 0.3441 0.6962 0.1546 1.5490" in out


def test_transf_auto_leaves_a_difference_measure_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "pool", str(BCG), "--measure", "RD", "--transf", "auto", "--json")
    assert code == 0 and "transformed" not in json.loads(out)
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--transf", "cube")
    assert code == 2 and "unknown transf" in err


def test_mh_per_study_rows_and_transf(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "OR", "--method", "MH",
                          "--transf", "auto", "--json")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    want = GOLDENS["mh_or"]
    for r, yi, vi, w in zip(got["studies"], want["studies_yi"], want["studies_vi"],
                            want["weight"], strict=True):  # fmt: skip
        assert _close(r["yi"], yi) and _close(r["vi"], vi) and _close(r["weight"], w)
    _assert_matches(got["transformed"], want["transf_exp"])


def test_by_prints_the_test_for_subgroup_differences(capsys: pytest.CaptureFixture[str]) -> None:
    from metareview.review.pool import pool_file

    want = GOLDENS["by_alloc_test"]
    outcome = pool_file(BCG, "RR", by="alloc")
    assert outcome.test_between is not None
    assert outcome.test_between["df"] == want["df"]
    assert _close(outcome.test_between["Q"], want["Q"])
    assert _close(outcome.test_between["pvalue"], want["pvalue"])
    code, out, _ = _run(capsys, "pool", str(BCG), "--measure", "RR", "--by", "alloc")
    assert code == 0
    # metafor prints QM as "QM(df = 2) = 1.8614, p-val = 0.3943"
    assert f"QM(df = 2) = {want['Q']:.4f}, p-val = {want['pvalue']:.4f}" in out


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf"])
def test_forest_and_funnel_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    forest, funnel = tmp_path / f"forest.plot.{suffix}", tmp_path / f"funnel.{suffix}"
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--forest", str(forest),
                        "--funnel", str(funnel), "--json")  # fmt: skip
    assert code == 0, err
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[suffix]
    for path in (forest, funnel):
        assert path.read_bytes().startswith(magic)
    if suffix == "svg":
        text = forest.read_text()
        assert "Aronson 1948" in text and "Random-effects model (REML)" in text


def test_figure_errors_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--forest",
                        str(tmp_path / "f.gif"))  # fmt: skip
    assert code == 2 and "f.gif" in err and ".svg" in err
    code, _, err = _run(capsys, "pool", str(BCG), "--measure", "RR", "--by", "alloc",
                        "--forest", str(tmp_path / "f.svg"))  # fmt: skip
    assert code == 2 and "--by" in err
    assert not (tmp_path / "f.svg").exists()


def test_lean_csv_path_equals_the_pandas_path(tmp_path: Path) -> None:
    # GEN with --by reads the file without pandas; an irregular file takes the full path.
    from metareview.review import pool as pool_mod

    rows = ["id,yi,vi"] + [f"{g},{0.1 * (i % 7) - 0.3},{0.02 + 0.01 * (i % 5)}"
                           for i, g in enumerate([3, 1, 2, 3, 1, 2, 2, 3, 1, 10, 10, 10])]
    path = tmp_path / "gen.csv"
    path.write_text("\n".join(rows) + "\n")
    lean = pool_mod._pool_lean(path, method="REML", test="z", level=95.0, by="id")
    assert lean is not None
    assert [i["by"] for i in lean.json] == [1, 2, 3, 10]  # numeric order, ints
    df = pool_mod.read_study_csv(path)
    from metareview.models import rma_batch

    table = rma_batch(df, by="id")
    full = pool_mod._table_to_json(table, "id", "GEN", "REML", "z")
    assert lean.json == full
    named = tmp_path / "named.csv"  # quoted text groups and standard errors
    named.write_text('g,yi,sei\n"b",0.1,0.2\n"a",0.3,0.1\n"b",0.2,0.3\n"a",0.5,0.2\n')
    lean = pool_mod._pool_lean(named, method="DL", test="z", level=95.0, by="g")
    assert lean is not None and [i["by"] for i in lean.json] == ["a", "b"]
    table = rma_batch(pool_mod.read_study_csv(named).assign(vi=lambda d: d["sei"] ** 2),
                      by="g", method="DL")  # fmt: skip
    assert lean.json == pool_mod._table_to_json(table, "g", "GEN", "DL", "z")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,yi,vi\n1,0.1,0.02\n1,,0.03\n2,0.2,0.01\n")
    assert pool_mod._pool_lean(bad, method="REML", test="z", level=95.0, by="id") is None


# -- the plain-argument path (metareview.cli._pool.parse): pool without typer ------------------

PLAIN_ARGV = [
    ["f.csv", "--measure", "GEN", "--by", "id", "--json"],
    ["--measure=RR", "f.csv", "--method", "DL", "--test=knha", "--level", "90"],
    ["f.csv", "--measure", "OR", "--transf", "auto", "--level=99.5", "--forest", "a.svg",
     "--funnel=b.png", "--json", "--json"],
    ["f.csv", "--measure", "GEN", "--model", "mv", "--random", "~ 1 | study/es", "--by", ""],
]  # fmt: skip

NOT_PLAIN_ARGV = [
    ["f.csv"],  # no --measure: typer's usage error
    ["--measure", "RR"],  # no file
    ["f.csv", "g.csv", "--measure", "RR"],
    ["f.csv", "--measure", "RR", "--help"],
    ["f.csv", "--measure", "RR", "--measure", "OR"],  # repeated
    ["f.csv", "--measure", "RR", "--level", "1e2"],  # left to typer's float conversion
    ["f.csv", "--measure", "RR", "--level", "high"],
    ["f.csv", "--measure", "RR", "--by"],  # no value
    ["f.csv", "--measure", "RR", "--by", "-x"],
    ["f.csv", "--measure", "RR", "--json=yes"],
    ["f.csv", "--measure", "RR", "--no-such-option", "1"],
    ["f.csv", "--measure", "RR", "--forest", ""],
    ["-", "--measure", "RR"],
    ["f.csv", "--measure", "RR", "--"],
]


def _typer_kwargs(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The arguments typer passes to the command's body for ``pool argv``."""
    import metareview.cli.pool as pool_cli
    from metareview.cli import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(pool_cli, "run",
                        lambda *a, **kw: seen.update(file=a[0], measure=a[1], **kw))  # fmt: skip
    app(args=["pool", *argv], prog_name="metareview", standalone_mode=False)
    return seen


@pytest.mark.parametrize("argv", PLAIN_ARGV)
def test_plain_arguments_are_parsed_as_typer_parses_them(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect

    from metareview.cli import _pool

    got = _pool.parse(argv)
    assert got is not None
    defaults = {name: p.default for name, p in inspect.signature(_pool.run).parameters.items()
                if p.default is not inspect.Parameter.empty}  # fmt: skip
    assert {**defaults, **got} == _typer_kwargs(argv, monkeypatch)


@pytest.mark.parametrize("argv", NOT_PLAIN_ARGV)
def test_other_arguments_are_left_to_typer(argv: list[str]) -> None:
    from metareview.cli import _pool

    assert _pool.parse(argv) is None


def test_plain_parser_knows_every_option_of_the_typer_command() -> None:
    # The option table of cli/_pool.py against the typer command: names, flags, defaults.
    import inspect

    import typer

    from metareview.cli import _pool, app, load_commands

    load_commands(["pool"])
    cmd = typer.main.get_group(app).get_command(None, "pool")  # type: ignore[arg-type]
    params = {p.name: p for p in cmd.params}
    run_params = inspect.signature(_pool.run).parameters
    assert set(params) == set(run_params)
    options = {opt: name for opt, (name, _) in _pool.OPTIONS.items()}
    for name, p in params.items():
        if name == "file":
            assert p.opts == ["file"] and p.required
            continue
        default = run_params[name].default
        assert (p.required, p.default) == ((True, None) if default is inspect.Parameter.empty
                                          else (False, default)), name  # fmt: skip
        table = _pool.FLAGS if p.is_flag else options
        assert [opt for opt, n in table.items() if n == name] == p.opts, name


def test_plain_pool_does_not_import_typer(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from metareview.cli import main\n"
        f"main(['pool', {str(BCG)!r}, '--measure', 'RR', '--by', 'alloc', '--json'])\n"
        "print(sorted(m for m in ('typer', 'click', 'pydantic', 'rich', 'pandas')"
        " if m in sys.modules))\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # RR needs escalc, which reads the file with pandas; typer, click, pydantic, rich stay out
    assert out.stdout.strip().splitlines()[-1] == "['pandas']"


@pytest.mark.parametrize(("env", "threads"), [({}, 1), ({"OPENBLAS_NUM_THREADS": "2"}, 2)])
def test_pool_loads_openblas_with_one_thread_unless_told(
    env: dict[str, str], threads: int
) -> None:
    # OpenBLAS's idle worker threads spin ~0.09 s of CPU for nothing (cli/_pool.one_blas_thread);
    # a thread count the user set wins, and the variable does not outlive the command
    code = (
        "import os, sys\n"
        "from metareview.cli import main\n"
        f"main(['pool', {str(BCG.with_name('bcg_gen.csv'))!r}, '--measure', 'GEN', '--by',"
        " 'alloc', '--json'])\n"
        "from threadpoolctl import threadpool_info\n"
        "blas = [p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas']\n"
        "print(blas, os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    import os
    import subprocess
    import sys

    from metareview.cli import _pool

    clean = {k: v for k, v in os.environ.items() if k not in _pool.BLAS_THREAD_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**clean, **env})  # fmt: skip
    blas, left = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert json.loads(blas) == [min(threads, os.cpu_count() or 1)]
    assert left == env.get("OPENBLAS_NUM_THREADS", "None")


def test_json_is_utf8_and_reads_back_bit_for_bit(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # orjson writes the JSON (metareview._json.dumps): UTF-8 text, the same doubles as in process
    csv = tmp_path / "groups.csv"
    csv.write_text("g,yi,vi\nMüller,0.1,0.01\nMüller,0.3,0.02\n東京,-0.2,1e-5\n東京,0.25,0.04\n",
                   encoding="utf-8")  # fmt: skip
    assert main(["pool", str(csv), "--measure", "GEN", "--by", "g", "--json"]) == 0
    raw = capsysbinary.readouterr().out
    got = json.loads(raw.decode("utf-8"))
    from metareview.review.pool import pool_file

    want = pool_file(csv, "GEN", by="g")
    assert [a["by"] for a in got["analyses"]] == ["Müller", "東京"]
    assert got == {"analyses": want.json, "test_between": want.test_between}
    assert "Müller".encode() in raw and b"NaN" not in raw


@pytest.mark.parametrize(("test", "imports_scipy"), [("z", False), ("knha", True)])
def test_lean_pool_imports_scipy_only_for_t_tests(test: str, imports_scipy: bool) -> None:
    # the GEN --by path needs neither pandas nor, for z tests, SciPy (models/_dist.py)
    code = (
        "import sys\n"
        "from metareview.cli import main\n"
        f"main(['pool', {str(BCG.with_name('bcg_gen.csv'))!r}, '--measure', 'GEN', '--by',"
        f" 'alloc', '--test', {test!r}, '--json'])\n"
        "print('scipy' in sys.modules, 'pandas' in sys.modules)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == f"{imports_scipy} False"


@pytest.mark.parametrize(
    ("case", "argv"),
    [
        ("hsk_z", ["--method", "HSk"]),
        ("pmm_knha", ["--method", "pmm", "--test", "knha"]),
    ],
)
def test_pool_estimators_outside_the_batch_core_match_metafor(
    capsys: pytest.CaptureFixture[str], case: str, argv: list[str]
) -> None:
    """metafor's ``rma(method = "HSk")`` and ``rma(method = "PMM", test = "knha")``
    (bcg_pool_goldens.json, scripts/goldens/cli_pool.R), pooled through ``rma``."""
    code, out, err = _run(capsys, "pool", str(BCG), "--measure", "RR", *argv, "--json")
    assert code == 0, err
    got = json.loads(out)
    want = dict(GOLDENS[case])
    assert got["method"] == want.pop("method")
    _assert_matches(got, want)


@pytest.mark.parametrize("csv", ["bcg.csv", "bcg_gen.csv"])
def test_pool_by_with_hsk_matches_metafor(capsys: pytest.CaptureFixture[str], csv: str) -> None:
    """``pool --method HSk --by alloc``: each group equals metafor's ``rma(yi, vi, data = d,
    method = "HSk")`` and the test between the groups ``rma(estimates, sei = se, mods = ~ group,
    method = "FE")$QM`` (by_alloc_hsk, by_alloc_test_hsk; cli_pool.R), by the pandas path (RR)
    and the NumPy one (GEN)."""
    measure = "GEN" if csv == "bcg_gen.csv" else "RR"
    code, out, err = _run(capsys, "pool", str(BCG.with_name(csv)), "--measure", measure,
                          "--method", "HSk", "--by", "alloc", "--json")
    assert code == 0, err
    got = json.loads(out)
    analyses = {a["by"]: a for a in got["analyses"]}
    for want in GOLDENS["by_alloc_hsk"]:
        want = {k: v for k, v in want.items() if k != "measure" or measure == "RR"}
        _assert_matches(analyses[want["by"]], want)
    want_test = GOLDENS["by_alloc_test_hsk"]
    assert got["test_between"]["df"] == want_test["df"]
    assert _close(got["test_between"]["Q"], want_test["Q"])
    assert _close(got["test_between"]["pvalue"], want_test["pvalue"])


@pytest.mark.parametrize(("csv", "method"), [("bcg.csv", "PMM"), ("bcg_gen.csv", "pmm")])
def test_pool_by_with_pmm_matches_metafor(
    capsys: pytest.CaptureFixture[str], csv: str, method: str
) -> None:
    """``pool --method PMM --by alloc`` (the batch core's median-unbiased Paule-Mandel): each
    group equals metafor's ``rma(yi, vi, data = d, method = "PMM", control = ctrl)`` and the
    test between the groups ``rma(estimates, sei = se, mods = ~ group, method = "FE")$QM``
    (by_alloc_pmm, by_alloc_test_pmm; cli_pool.R), by the pandas path (RR) and the NumPy one
    (GEN)."""
    measure = "GEN" if csv == "bcg_gen.csv" else "RR"
    code, out, err = _run(capsys, "pool", str(BCG.with_name(csv)), "--measure", measure,
                          "--method", method, "--by", "alloc", "--json")
    assert code == 0, err
    got = json.loads(out)
    analyses = {a["by"]: a for a in got["analyses"]}
    assert len(analyses) == len(GOLDENS["by_alloc_pmm"]) == 3
    for want in GOLDENS["by_alloc_pmm"]:
        want = {k: v for k, v in want.items() if k != "measure" or measure == "RR"}
        _assert_matches(analyses[want["by"]], want)
    want_test = GOLDENS["by_alloc_test_pmm"]
    assert got["test_between"]["df"] == want_test["df"]
    assert _close(got["test_between"]["Q"], want_test["Q"])
    assert _close(got["test_between"]["pvalue"], want_test["pvalue"])


SINGLE = json.loads(
    (Path(__file__).parents[1] / "data/cli/single_group_pool_goldens.json").read_text()
)


@pytest.mark.parametrize(
    ("measure", "csv"),
    [
        ("IR", "nielweise2008_rates.csv"),
        ("IRLN", "nielweise2008_rates.csv"),
        ("IRFT", "nielweise2008_rates.csv"),
        ("MN", "normand1999_arm1.csv"),
        ("MNLN", "normand1999_arm1.csv"),
    ],
)
def test_pool_single_group_measures_match_metafor(
    capsys: pytest.CaptureFixture[str], measure: str, csv: str
) -> None:
    """Single-group rates (xi, ti) and means (mi, sdi, ni) from a CSV: metafor 3.8
    ``rma(yi, vi, data = escalc(measure, ...))`` (scripts/goldens/cli_pool_single.R)."""
    path = Path(__file__).parents[1] / "data/cli" / csv
    code, out, err = _run(capsys, "pool", str(path), "--measure", measure, "--json")
    assert code == 0, err
    _assert_matches(json.loads(out), SINGLE[measure])
