"""How long a user waits for ``metareview --help`` and ``metareview pool`` (10,000 analyses).

Measured like hyperfine: each command is run ``--runs`` times as a fresh process after one
warm-up run; the minimum, median and mean wall time are printed, with the CPU time of the child
(user + sys, which a busy machine inflates less than wall time), and the load average before and
after. The package is byte-compiled first (``compileall``), as ``pip install`` leaves it: with
``PYTHONDONTWRITEBYTECODE`` set, an editable checkout would otherwise recompile every module on
every run. ``--before SRC`` times another source tree (e.g. ``git archive main src | tar -x -C
/tmp/before``, then ``--before /tmp/before/src``) in the same run, the runs interleaved so that
both see the same load. Then:

- where the start-up goes: ``python -X importtime`` of each command, the modules that cost most;
- metafor's default loop over the same 10,000 analyses (``benchmarks/metafor_loop.R default``),
  in the same run, and the ratio to the CLI's best time;
- where the CPU goes (``--steps``, on by default): ``import numpy`` in a fresh process with
  OpenBLAS's default threads and with one (what the plain ``pool`` path loads), and, in this
  process with ``time.process_time`` (best of 5), the steps of the lean path: the NumPy read,
  the batch fit with its Q-profile CIs, the JSON objects, and the JSON text by orjson
  (``metareview._json.dumps``) against the standard library's ``json.dumps`` of the same
  document, which must read back to the same values;
- that the numbers are the same: the CLI's JSON against ``rma_batch`` in process (bit for bit)
  and against metafor (largest differences).

Usage::

    .venv/bin/python benchmarks/cli_speed.py [--runs 10] [--n 10000] [--no-r] [--tight]
        [--before SRC] [--no-steps]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from pool_benchmark import make_data  # noqa: E402


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_commands(
    cmds: dict[str, tuple[list[str], dict[str, str] | None]], runs: int
) -> dict[str, tuple[list[float], list[float], str]]:
    """Wall and CPU seconds of ``runs`` runs of each labelled (command, environment), after one
    warm-up each, the runs interleaved; and each command's last stdout."""
    for cmd, env in cmds.values():
        subprocess.run(cmd, capture_output=True, check=True, env=env)
    out: dict[str, tuple[list[float], list[float], str]] = {k: ([], [], "") for k in cmds}
    for _ in range(runs):
        for label, (cmd, env) in cmds.items():
            c0 = _child_cpu()
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            walls, cpus, _ = out[label]
            walls.append(time.perf_counter() - t0)
            cpus.append(_child_cpu() - c0)
            out[label] = (walls, cpus, proc.stdout)
    return out


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report(label: str, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{label:34s} wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s, "
        f"mean {statistics.mean(walls):.3f} s; CPU min {min(cpus):.3f} s, "
        f"median {statistics.median(cpus):.3f} s"
    )


def import_costs(argv: list[str], top: int = 8) -> str:
    """The ``top`` most expensive top-level imports (cumulative microseconds) of running argv."""
    code = f"import sys; from metareview.cli import main; main({argv!r})"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True)  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|")
        if cum.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cum), name.strip()))
    rows.sort(reverse=True)
    total = sum(c for c, _ in rows)
    parts = ", ".join(f"{n} {c / 1e3:.0f} ms" for c, n in rows[:top])
    return f"imports {total / 1e3:.0f} ms in all: {parts}"


def numpy_import_costs(runs: int) -> str:
    """``import numpy`` in a fresh process, OpenBLAS with its default threads (one a core) and
    with one (``OPENBLAS_NUM_THREADS=1``, as ``metareview.cli._pool.one_blas_thread``): CPU and
    wall minima of ``runs`` interleaved runs."""
    from metareview.cli._pool import BLAS_THREAD_VARIABLES

    clean = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    cmd = [sys.executable, "-c", "import numpy"]
    timed = time_commands(
        {"default": (cmd, clean), "one": (cmd, {**clean, "OPENBLAS_NUM_THREADS": "1"})}, runs
    )
    (w_d, c_d, _), (w_1, c_1, _) = timed["default"], timed["one"]
    return (
        f"import numpy, OpenBLAS default threads: wall min {min(w_d):.3f} s, CPU min "
        f"{min(c_d):.3f} s; one thread: wall min {min(w_1):.3f} s, CPU min {min(c_1):.3f} s"
    )


def _best_cpu(fn: Any, repeats: int = 5) -> tuple[float, Any]:
    """The least ``time.process_time`` of ``repeats`` calls of ``fn``, and its last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def step_costs(csv: Path) -> str:
    """CPU seconds of each step of ``pool``'s lean path in this process (best of 5): the read
    (orjson's parse of the rows as one JSON array, as ``_pool_lean``, beside ``np.loadtxt``,
    which ``_pool_lean`` falls back to), the fit (``fit_padded``, Q-profile CIs included), the
    whole of ``_pool_lean`` (read, fit and the JSON objects), and the JSON text by orjson
    against ``json.dumps(..., allow_nan=False)`` of the same document (same values read back)."""
    import warnings

    from metareview.models._core import fit_padded
    from metareview.models.batch import pad_groups
    from metareview.review.pool import _group_keys, _json_number_rows, _pool_lean

    def read() -> Any:
        with csv.open(encoding="utf-8") as fh:
            fh.readline()
            return np.loadtxt(fh, delimiter=",", usecols=[1, 2, 0], ndmin=2, dtype=float)

    def read_json() -> Any:
        return _json_number_rows(csv.read_bytes().partition(b"\n")[2], 3)[:, [1, 2, 0]]

    t_loadtxt, num = _best_cpu(read)
    t_read, num_json = _best_cpu(read_json)
    same_read = bool(np.array_equal(num, num_json))
    keys, codes, _ = _group_keys(num[:, 2])
    mask, (yy, vv) = pad_groups(codes, len(keys), num[:, 0], num[:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit, _ = _best_cpu(lambda: fit_padded(yy, vv, mask, method="REML", test="z"))
        t_lean, outcome = _best_cpu(
            lambda: _pool_lean(csv, method="REML", test="z", level=95.0, by="id")
        )
    doc = {"analyses": outcome.json, "test_between": outcome.test_between}
    t_orjson, fast = _best_cpu(outcome.to_json_bytes)
    t_std, slow = _best_cpu(lambda: json.dumps(doc, allow_nan=False))
    same = json.loads(fast) == json.loads(slow) == doc
    return (
        f"steps (CPU, best of 5, in process): read {t_read:.3f} s (np.loadtxt {t_loadtxt:.3f} s, "
        f"same doubles: {same_read}), fit {t_fit:.3f} s, read + fit "
        f"+ JSON objects {t_lean:.3f} s; JSON text: orjson {t_orjson:.4f} s ({len(fast)} bytes) "
        f"vs json.dumps {t_std:.4f} s ({len(slow)} bytes), same values: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-r", action="store_true", help="skip the metafor loop")
    parser.add_argument("--before", help="another source tree (its src/) timed in the same run")
    parser.add_argument(
        "--tight", action="store_true", help="also run metafor's loop at the goldens' convergence"
    )
    parser.add_argument("--no-steps", action="store_true", help="skip the per-step CPU costs")
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    csv = OUT / f"pool_{args.n}.csv"
    df = make_data(args.n, args.seed)
    df.to_csv(csv, index=False)
    print(f"data: {args.n} meta-analyses, {len(df)} rows, {csv}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}, Python {sys.version.split()[0]}")  # fmt: skip

    import metareview

    trees = [Path(metareview.__file__).parent]
    if args.before:
        trees.append(Path(args.before) / "metareview")
    for tree in trees:
        compileall.compile_dir(str(tree), quiet=1)
    print(f"bytecode: compiled ({', '.join(map(str, trees))})")

    exe = str(Path(sys.executable).with_name("metareview"))
    before_env = None
    if args.before:
        before_env = {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())}
    pool_args = ["pool", str(csv), "--measure", "GEN", "--method", "REML", "--by", "id", "--json"]
    label = f"metareview pool ({args.n} analyses)"
    for argv, name in ((["--help"], "metareview --help"), (pool_args, label)):
        cmds: dict[str, tuple[list[str], dict[str, str] | None]] = {"": ([exe, *argv], None)}
        if before_env is not None:
            cmds["before"] = ([exe, *argv], before_env)
        print(f"load average before: {_load()}")
        timed = time_commands(cmds, args.runs)
        for key, (walls, cpus, _) in timed.items():
            report(f"{'before: ' if key else ''}{name}", walls, cpus)
        print(f"load average after:  {_load()}")
        print("  " + import_costs(argv))
    walls, cpus, out = timed[""]
    best, best_cpu = min(walls), min(cpus)
    if not args.no_steps:
        print(f"load average before: {_load()}")
        print(numpy_import_costs(args.runs))
        print(step_costs(csv))
        print(f"load average after:  {_load()}")

    got = json.loads(out)
    cli = pd.DataFrame(got["analyses"]).rename(columns={"by": "id", "ci_lower": "ci_lb",
                                                        "ci_upper": "ci_ub"})  # fmt: skip
    import warnings

    from metareview.models import rma_batch
    from metareview.review.pool import _FIELDS, test_between

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = rma_batch(df, by="id", method="REML")
    rows = pd.DataFrame(got["analyses"])
    same = all(
        np.array_equal(rows[key].to_numpy(float), table[name].to_numpy(float), equal_nan=True)
        for key, name in _FIELDS.items()
    ) and np.array_equal(rows["k"].to_numpy(), table["k"].to_numpy())
    print(f"CLI JSON equals rma_batch in process bit for bit (k, {', '.join(_FIELDS)}): {same}")
    print(f"test for subgroup differences equal to test_between() of the JSON rows: "
          f"{got['test_between'] == test_between(got['analyses'])}")  # fmt: skip

    if args.no_r or shutil.which("Rscript") is None:
        print("metafor loop: skipped")
        return
    for mode in ("default", "tight") if args.tight else ("default",):
        out_csv = OUT / f"metafor_{mode}.csv"
        proc = subprocess.run(["Rscript", str(HERE / "metafor_loop.R"), str(csv), str(out_csv),
                               mode], capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            print(f"metafor loop failed: {proc.stderr.strip()[:300]}")
            return
        loop = float(proc.stdout.strip().split("seconds=")[-1])
        loop_cpu = float(proc.stdout.split("cpu_seconds=")[1].split()[0])
        ref = pd.read_csv(out_csv)
        merged = cli.merge(ref, on="id", suffixes=("", "_r"))
        diffs = ", ".join(
            f"{c} {np.nanmax(np.abs(merged[c].to_numpy(float) - merged[c + '_r'])):.1e}"
            for c in ("estimate", "se", "tau2", "ci_lb")
        )
        print(f"metafor rma() loop, control {mode:7s}: {loop:7.2f} s wall, {loop_cpu:.2f} s CPU "
              f"-> the CLI end to end is {loop / best:6.1f}x faster in wall time, "
              f"{loop_cpu / best_cpu:6.1f}x in CPU time (best runs); max abs difference: "
              f"{diffs}")  # fmt: skip


if __name__ == "__main__":
    main()
