"""metareview's ranker against ASReview LAB's default model, side by side (issue 11).

Both tools replay the same reviewer on the nine Cohen (2006) sets, at the abstract level
(``label1``) and the full-text level (``label2``):

- **priors**: one random relevant and one random irrelevant record per seed (seeds 0-9),
  drawn once here by :func:`draw_priors` (NumPy ``default_rng(seed)``, the draw
  ``metareview simulate`` makes by default) and handed to both tools as the same data rows;
- **schedule**: retrain after ``max(1, floor(0.02 L))`` new labels, ``L`` the number labelled
  so far (metareview's default "2% growing batch"); in ASReview this is the cycle's ``n_query``
  given as a function of the results so far, which ASReview 3 accepts;
- **ASReview's model**: its default, ELAS u4 (TF-IDF of 1-2-word terms, sublinear tf, max_df
  0.95, no stop-word removal; a linear SVM, C = 0.11; relevant records weighted by the
  "balanced" sample weight, ratio 9.8; maximum-score query), preceded as in
  ``asreview simulate`` by its top-down cycle, which stops at once because the priors hold both
  classes; the model seed is NumPy's global seed, set per run as ``asreview simulate --seed``
  does. Each tool reads every record to the end (ASReview: ``NLabeled(-1)``), so the orders
  and CPU times cover the same work;
- **text**: ASReview reads the set written as its own labelled CSV (``title``, ``abstract``
  from the Cohen ``abstracts`` column, ``keywords``, ``included``) through
  ``asreview.load_dataset``; ELAS u4's TF-IDF reads ``title`` and ``abstract`` only, so the MeSH
  keywords are not part of its features (the Cohen ``NA`` of a missing abstract is read by
  pandas as missing, i.e. empty). metareview reads the original CSV (title, abstract and
  keywords, as its preset decides);
- **metrics**: one function, :func:`score_order`, scores every order with metareview's
  :func:`~metareview.screening.simulation.screening_metrics` (the priors left out, as ASReview
  Insights does): WSS@95, recall@10%, ERF@10 and ATD. On the first ASReview run the figures
  are cross-checked against ASReview Insights' own metric functions when
  ``asreviewcontrib.insights`` is importable.

Design: one interpreter has both packages. ASReview lives in its own virtual environment with
metareview installed beside it (this script installs nothing)::

    python3 -m venv /work/asr-venv
    /work/asr-venv/bin/pip install asreview==3.0.8
    /work/asr-venv/bin/pip install -e .                       # this checkout
    /work/asr-venv/bin/pip install --no-deps asreview-insights==1.6.1   # optional cross-check
    nice -n 10 /work/asr-venv/bin/python benchmarks/screening_vs_asreview.py

Each tool's per-seed orders go to ``--cache`` (default ``/work/asreview-cache``) as
``<tool>/<set>.<label>.csv`` with the columns ``seed, rank, row, label`` that
``metareview simulate --orders`` writes (``row`` the 0-based data row, priors first), with the
CPU and wall seconds of each run in ``<tool>/<set>.<label>.json``; ``summary.json`` holds per
tool, set, label and seed ``wss95, recall10, erf10, atd, cpu_s, wall_s`` and is rewritten after
every run. ASReview's orders are always reused from the cache, so a rerun needs ASReview only
for what is missing and runs without it when nothing is (metareview's orders are recomputed
unless ``--reuse-metareview``).

``--model`` picks metareview's preset (``metareview simulate --model``); ``--loo`` instead
chooses, for each held-out review, the setting of ``benchmarks/screening_select.py``'s grid
with the best score on the other eight (its :func:`screening_select.loo_choose`), and
compares that held-out choice with ASReview.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metareview.screening.ranking import DEFAULT_PRESET, PRESETS, Ranker
from metareview.screening.simulation import (
    DEFAULT_BATCH_FRACTION,
    LabelledSet,
    load_labelled_csv,
    screening_metrics,
    simulate_order,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "screening-cohen2006"
DEFAULT_CACHE = Path("/work/asreview-cache")
ASREVIEW_TOOL = "asreview-elas_u4"
ASREVIEW_VERSION = "3.0.8"
LABELS = ("label1", "label2")
N_PRIORS = 2

INSTALL_HINT = (
    "asreview is not importable by this Python ({python}) and the cache {cache} lacks "
    "ASReview's orders for: {missing}. Install it in a separate virtual environment with "
    "metareview beside it and run this script with that interpreter:\n"
    "  python3 -m venv /work/asr-venv && /work/asr-venv/bin/pip install asreview==3.0.8\n"
    "  /work/asr-venv/bin/pip install -e .\n"
    "  nice -n 10 /work/asr-venv/bin/python benchmarks/screening_vs_asreview.py"
)


# -- shared parts (no ASReview needed) ---------------------------------------------------


def draw_priors(labels: Sequence[int] | NDArray[Any], seed: int) -> NDArray[np.intp]:
    """One relevant and one irrelevant data row, drawn with ``numpy.random.default_rng(seed)``.

    The draw ``metareview simulate`` makes by default (relevant first, then irrelevant), so the
    same rows go to both tools and match metareview's own simulations of that seed.
    """
    y = np.asarray(labels).reshape(-1)
    relevant = np.flatnonzero(y == 1)
    irrelevant = np.flatnonzero(y == 0)
    if len(relevant) < 2 or len(irrelevant) < 1:
        raise ValueError(
            f"{len(relevant)} relevant and {len(irrelevant)} irrelevant records: a simulation "
            "needs two relevant (one prior, one to find) and one irrelevant"
        )
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(relevant), rng.choice(irrelevant)], dtype=np.intp)


def score_order(labels: Sequence[int] | NDArray[Any], order: Sequence[int] | NDArray[Any],
                n_priors: int = N_PRIORS) -> dict[str, float]:
    """WSS@95, recall@10%, ERF@10 and ATD of one screening order, for any tool.

    ``order`` holds every data row once, priors first; ``labels[row]`` is 1 for relevant.
    The figures are :func:`metareview.screening.simulation.screening_metrics` of the labels in
    reading order with the ``n_priors`` leading records left out (``N`` and ``R`` count the
    records after them): WSS@95 = ``(N - k)/N - 0.05`` with ``k`` the records read when
    ``ceil(0.95 R)`` relevant are found (Cohen et al. 2006); recall@10% = relevant found in the
    first ``floor(0.10 N)`` over ``R``; ERF@10 = recall@10% - ``floor(0.10 N)/N``; ATD the mean
    1-based position at which each relevant record is found (Ferdinands et al. 2023);
    ``found2.5`` and ``found5`` the cold start (:func:`cold_start`).
    """
    y = np.asarray(labels).reshape(-1)
    rows = np.asarray(order, dtype=np.intp).reshape(-1)
    if len(rows) != len(y) or len(np.unique(rows)) != len(y):
        raise ValueError(f"the order must hold each of the {len(y)} data rows once "
                         f"({len(rows)} entries, {len(np.unique(rows))} distinct)")
    m = screening_metrics(y[rows], n_priors=n_priors, recall_at=(0.10,), wss_at=(0.95,),
                          erf_at=(0.10,))
    found = cold_start(y[rows], n_priors=n_priors)
    return {"wss95": float(m["wss"]["95"]), "recall10": float(m["recall"]["10"]),
            "erf10": float(m["erf"]["10"]), "atd": float(m["atd"]),
            **{f"found{k}": float(v) for k, v in found.items()}}


#: The cold start: how much of the reading, priors left out, the early recall curve is read at.
COLD_START_AT: tuple[float, ...] = (0.025, 0.05)


def cold_start(labels_in_order: Sequence[int] | NDArray[Any], n_priors: int = N_PRIORS,
               at: Sequence[float] = COLD_START_AT) -> dict[str, int]:
    """Relevant records found in the first ``floor(x N)`` records read, priors left out.

    The early part of the recall curve as counts (the issue's "relevant records found in the
    first 191 read"): ``found(x) = sum_{j <= floor(x N)} y_j`` with ``y`` the labels in reading
    order after the ``n_priors`` leading records and ``N = len(y)``; keys are percentages
    written with ``%g`` (``"2.5"``, ``"5"``), as :func:`screening_metrics` writes them.
    """
    y = np.asarray(labels_in_order).astype(np.int64).reshape(-1)[n_priors:]
    n = len(y)
    return {f"{100 * x:g}": int(y[:math.floor(x * n + 1e-9)].sum()) for x in at}


def paired_difference(ours: Sequence[float] | NDArray[Any],
                      theirs: Sequence[float] | NDArray[Any],
                      level: float = 0.95) -> dict[str, float]:
    """Paired comparison over seeds: the mean of ``d_s = ours_s - theirs_s`` and its spread.

    Returns ``mean``, ``sd`` (sample SD of ``d_s``, ``ddof = 1``), ``lo`` and ``hi`` (the
    two-sided ``level`` t interval of the mean, ``mean -/+ t_{n-1} sd / sqrt(n)``: the paired t
    test's interval, Student 1908), ``worse`` and ``better`` (seeds with ``d_s < 0`` and
    ``> 0``) and ``n``. With one seed the interval is infinite and ``sd`` NaN.
    """
    from scipy import stats

    a = np.asarray(ours, dtype=np.float64).reshape(-1)
    b = np.asarray(theirs, dtype=np.float64).reshape(-1)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired values need the same seeds on both sides ({len(a)} and "
                         f"{len(b)} values)")
    d = a - b
    n = len(d)
    mean = float(d.mean())
    if n == 1:
        return {"mean": mean, "sd": math.nan, "lo": -math.inf, "hi": math.inf,
                "worse": float(d[0] < 0), "better": float(d[0] > 0), "n": 1.0}
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "lo": mean - half, "hi": mean + half,
            "worse": float((d < 0).sum()), "better": float((d > 0).sum()), "n": float(n)}


def write_orders(path: Path, orders: dict[int, NDArray[np.intp]],
                 labels: NDArray[Any]) -> None:
    """Write ``seed, rank, row, label`` (rank from 1, priors first), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".csv.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seed", "rank", "row", "label"])
        for seed in sorted(orders):
            for rank, row in enumerate(orders[seed], start=1):
                writer.writerow([seed, rank, int(row), int(labels[row])])
    os.replace(tmp, path)


def read_orders(path: Path) -> dict[int, NDArray[np.intp]]:
    """The per-seed orders of a ``seed, rank, row, label`` CSV (empty when absent)."""
    if not path.exists():
        return {}
    rows: dict[int, list[tuple[int, int]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            rows.setdefault(int(rec["seed"]), []).append((int(rec["rank"]), int(rec["row"])))
    return {s: np.array([r for _, r in sorted(v)], dtype=np.intp) for s, v in rows.items()}


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def asreview_available() -> bool:
    """Whether ``import asreview`` works in this interpreter.

    The import runs in a temporary folder: ASReview's ``synergy_dataset`` opens a
    ``synergy_cache.sqlite`` in the working folder when first imported.
    """
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            import asreview  # noqa: F401
        except ImportError:
            return False
        finally:
            os.chdir(here)
    return True


# -- the two tools -----------------------------------------------------------------------


def growing_batch(n_labelled: int, fraction: float = DEFAULT_BATCH_FRACTION) -> int:
    """Records to read before the next retraining: ``max(1, floor(fraction * L))``, as in
    :func:`metareview.screening.simulation.simulate_order`."""
    return max(1, math.floor(fraction * n_labelled))


def run_metareview(data: LabelledSet, setting: dict[str, Any], seed: int,
                   priors: NDArray[np.intp], fraction: float = DEFAULT_BATCH_FRACTION,
                   ) -> tuple[NDArray[np.intp], float, float]:
    """One metareview simulation from ``priors``; (order with priors first, CPU s, wall s).

    A new :class:`Ranker` per run, so its feature extraction is timed as ASReview's is.
    """
    options = dict(setting)
    model = options.pop("model")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ranker = Ranker(model, seed=seed, **options)
    got, order = simulate_order(data.records, data.labels, seed=seed, ranker=ranker,
                                prior_ids=[int(i) for i in priors], batch_fraction=fraction)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return np.concatenate([got, order]).astype(np.intp), cpu, wall


def asreview_csv(src: Path, label: str, dest: Path) -> NDArray[np.int8]:
    """Write ``src`` as ASReview's labelled CSV (title, abstract, keywords, included 1/0)."""
    data = load_labelled_csv(src, label)
    with src.open(newline="", encoding="utf-8-sig") as fh, \
            dest.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["title", "abstract", "keywords", "included"])
        for rec, y in zip(csv.DictReader(fh), data.labels, strict=True):
            writer.writerow([rec.get("title", ""), rec.get("abstracts", rec.get("abstract", "")),
                             rec.get("keywords", ""), int(y)])
    return data.labels


def run_asreview(src: Path, label: str, seed: int, priors: NDArray[np.intp],
                 fraction: float = DEFAULT_BATCH_FRACTION,
                 ) -> tuple[NDArray[np.intp], float, float]:
    """One ASReview simulation with ELAS u4 from ``priors``; (order, CPU s, wall s).

    Mirrors ``asreview simulate`` (asreview/simulation/cli.py): the top-down cycle until both
    classes are labelled, then the default model's cycle, here with ``n_query`` the growing
    batch and a stopper that lets it read every record.
    """
    if not asreview_available():  # imported first in a temporary folder (see there)
        raise RuntimeError("asreview is not importable")
    from asreview import load_dataset
    from asreview.learner import ActiveLearningCycle
    from asreview.models.models import get_ai_config
    from asreview.models.queriers import TopDown
    from asreview.models.stoppers import IsFittable, NLabeled
    from asreview.simulation.simulate import Simulate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{src.stem}.csv"
        labels = asreview_csv(src, label, path)
        with load_dataset(path, dataset_id=path.name) as db:
            df = db.input.get_df()
        rows = df["dataset_row"].to_numpy()
        if not np.array_equal(np.sort(rows), np.arange(len(labels))):
            raise RuntimeError(f"ASReview read {len(df)} records of {len(labels)} from {src}")
        row_of_record = dict(zip(df["record_id"].tolist(), rows.tolist(), strict=True))
        record_of_row = {r: i for i, r in row_of_record.items()}
        if not np.array_equal(df["included"].to_numpy()[np.argsort(rows)], labels):
            raise RuntimeError(f"ASReview's labels differ from {label} of {src}")
        meta = get_ai_config()["value"]  # ELAS u4, the default
        meta.n_query = lambda results: growing_batch(len(results), fraction)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        np.random.seed(seed)  # as `asreview simulate --seed`
        cycles = [ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
                  ActiveLearningCycle.from_meta(meta)]
        sim = Simulate(df, df["included"], cycles, stopper=NLabeled(-1), print_progress=False)
        sim.label([record_of_row[int(r)] for r in priors])
        sim.review()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        order = np.array([row_of_record[int(i)] for i in sim._results["record_id"]],
                         dtype=np.intp)
    if not np.array_equal(order[:N_PRIORS], priors):
        raise RuntimeError("ASReview's results do not start with the priors given")
    return order, cpu, wall


def insights_crosscheck(labels: NDArray[Any], order: NDArray[np.intp]) -> dict[str, Any] | None:
    """Our metrics against ASReview Insights' own curves on one order (priors left out).

    asreview-insights 1.6.1 (pinned to ASReview 2, installed ``--no-deps``) cannot import its
    package with ASReview 3 (``asreview.open_state`` is gone), so its ``algorithms.py``, which
    needs only NumPy, is loaded by path, and a curve is read at ``x`` as its ``_slice_metric``
    does (the last point at or before ``x``). Recall must agree exactly. WSS and ERF are
    defined differently there: Insights' WSS@95 is ``(k_rand(j) - k(j)) / N`` with
    ``j = floor(0.95 R)`` relevant (the last curve point at or below 95%) and ``k_rand`` the
    position where the rounded random line ``round(linspace(0, R, N))`` reaches ``j``, where
    Cohen's counts ``ceil(0.95 R)`` against ``0.05 N``; its ERF subtracts the rounded random
    line instead of ``floor(xN)/N``.
    """
    import importlib.util

    spec = importlib.util.find_spec("asreviewcontrib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "insights" / "algorithms.py"
    if not path.exists():
        return None
    mod_spec = importlib.util.spec_from_file_location("_insights_algorithms", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    algorithms = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(algorithms)

    def at(curve: tuple[list[float], list[float]], x: float) -> float:
        xs, ys = curve
        return float(ys[int(np.searchsorted(xs, x, side="right")) - 1])

    y = np.asarray(labels)[order][N_PRIORS:].tolist()
    theirs = {
        "recall10": at(algorithms._recall_values(y), 0.10),
        "wss95": at(algorithms._wss_values(y), 0.95),
        "erf10": at(algorithms._erf_values(y), 0.10),
    }
    return {"ours": score_order(labels, order), "insights": theirs, "n": len(y)}


# -- the benchmark -----------------------------------------------------------------------


def _files(data_dir: Path, only: str | None) -> list[str]:
    """Set names in increasing size (the CPU is shared: small sets finish first)."""
    paths = sorted(data_dir.glob("*.csv"), key=lambda p: (p.stat().st_size, p.stem))
    names = [p.stem for p in paths]
    if only:
        wanted = only.split(",")
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise SystemExit(f"unknown set(s) {', '.join(unknown)}; have {', '.join(names)}")
        names = [n for n in names if n in wanted]
    return names


class Runner:
    """Runs (or reads from the cache) each tool's orders and keeps ``summary.json``."""

    def __init__(self, data_dir: Path, cache: Path, seeds: Sequence[int],
                 reuse_metareview: bool, log: Callable[[str], None]) -> None:
        self.data_dir, self.cache, self.seeds = data_dir, cache, list(seeds)
        self.reuse_metareview, self.log = reuse_metareview, log
        self.summary = _read_json(cache / "summary.json")
        self.summary.setdefault("tools", {})
        self.summary["settings"] = {
            "seeds": self.seeds, "priors": "1 relevant + 1 irrelevant, numpy default_rng(seed)",
            "batch": f"{100 * DEFAULT_BATCH_FRACTION:g}% growing", "asreview": ASREVIEW_VERSION,
            "asreview_model": "elas_u4", "metrics": "priors left out (screening_metrics)",
        }
        self._data: dict[tuple[str, str], LabelledSet] = {}
        self.crosscheck: dict[str, Any] | None = self.summary.get("crosscheck")

    def data(self, name: str, label: str) -> LabelledSet:
        key = (name, label)
        if key not in self._data:
            self._data[key] = load_labelled_csv(self.data_dir / f"{name}.csv", label)
        return self._data[key]

    def missing_asreview(self, names: Sequence[str]) -> list[str]:
        out = []
        for name in names:
            for label in LABELS:
                have = read_orders(self.cache / ASREVIEW_TOOL / f"{name}.{label}.csv")
                if any(s not in have for s in self.seeds):
                    out.append(f"{name}.{label}")
        return out

    def orders(self, tool: str, name: str, label: str, setting: dict[str, Any] | None,
               fraction: float = DEFAULT_BATCH_FRACTION, seeds: Sequence[int] | None = None,
               ) -> dict[int, NDArray[np.intp]]:
        """Every seed's order of ``tool`` (ASReview when ``setting`` is None); ``fraction`` 0
        retrains after every decision."""
        seeds = self.seeds if seeds is None else list(seeds)
        data = self.data(name, label)
        csv_path = self.cache / tool / f"{name}.{label}.csv"
        times_path = csv_path.with_suffix(".json")
        reuse = setting is None or self.reuse_metareview
        have = read_orders(csv_path) if reuse else {}
        times = _read_json(times_path) if reuse else {}
        for seed in seeds:
            if seed in have and str(seed) in times:
                continue
            priors = draw_priors(data.labels, seed)
            if setting is None:
                order, cpu, wall = run_asreview(self.data_dir / f"{name}.csv", label, seed,
                                                priors, fraction)
                if self.crosscheck is None:
                    check = insights_crosscheck(data.labels, order)
                    if check is not None:
                        self.crosscheck = {"set": name, "label": label, "seed": seed, **check}
                        self.summary["crosscheck"] = self.crosscheck
            else:
                order, cpu, wall = run_metareview(data, setting, seed, priors, fraction)
                # which ranker made these orders (screening_select.py --orders checks it)
                options = dict(setting)
                ranker = Ranker(options.pop("model"), **options)
                _write_json(self.cache / tool / "settings.json", ranker.settings())
            have[seed] = order
            times[str(seed)] = {"cpu_s": cpu, "wall_s": wall,
                                "priors": [int(p) for p in priors]}
            write_orders(csv_path, have, data.labels)
            _write_json(times_path, times)
            self._record(tool, name, label, seed, data.labels, order, times[str(seed)])
            self.log(f"{tool} {name} {label} seed {seed}: {cpu:.1f} CPU-s, {wall:.1f} s")
        for seed in seeds:  # summary rows for orders read from the cache
            self._record(tool, name, label, seed, data.labels, have[seed], times[str(seed)])
        return {s: have[s] for s in seeds}

    def _record(self, tool: str, name: str, label: str, seed: int, labels: NDArray[Any],
                order: NDArray[np.intp], timing: dict[str, Any]) -> None:
        row = {**score_order(labels, order), "cpu_s": timing["cpu_s"],
               "wall_s": timing["wall_s"]}
        on_disk = _read_json(self.cache / "summary.json")
        for summary in (self.summary, on_disk):
            tools = summary.setdefault("tools", {})
            tools.setdefault(tool, {}).setdefault(name, {}).setdefault(label, {})[str(seed)] = row
        # merged into the file as it is now, so runs side by side keep each other's rows
        on_disk["settings"] = self.summary["settings"]
        if "crosscheck" in self.summary:
            on_disk["crosscheck"] = self.summary["crosscheck"]
        _write_json(self.cache / "summary.json", on_disk)

    def per_seed(self, tool: str, name: str, label: str, key: str,
                 seeds: Sequence[int] | None = None) -> list[float]:
        """One metric of ``tool`` on one set and label, seed by seed."""
        seeds = self.seeds if seeds is None else seeds
        return [float(self.summary["tools"][tool][name][label][str(s)][key]) for s in seeds]

    def scores(self, tool: str, name: str, label: str,
               seeds: Sequence[int] | None = None) -> dict[str, float]:
        """Mean over seeds of the summary row of ``tool`` on one set and label."""
        seeds = self.seeds if seeds is None else seeds
        rows = [self.summary["tools"][tool][name][label][str(s)] for s in seeds]
        return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _table(label: str, names: Sequence[str], mr: dict[str, dict[str, float]],
           asr: dict[str, dict[str, float]], mr_label: dict[str, str], title: str) -> list[str]:
    """The per-review table and the mean row with the per-review spread."""
    lines = [f"\n## {label} ({'abstract' if label == 'label1' else 'full-text'} level): {title}\n",
             "| review | metareview | WSS@95 mr | WSS@95 u4 | recall@10% mr | recall@10% u4 | "
             "ATD mr | ATD u4 | CPU-s mr | CPU-s u4 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        a, b = mr[n], asr[n]
        lines.append(
            f"| {n} | {mr_label[n]} | {a['wss95']:.3f} | {b['wss95']:.3f} | "
            f"{100 * a['recall10']:.1f}% | {100 * b['recall10']:.1f}% | {a['atd']:.1f} | "
            f"{b['atd']:.1f} | {a['cpu_s']:.1f} | {b['cpu_s']:.1f} |")

    def mean(d: dict[str, dict[str, float]], k: str) -> float:
        return float(np.mean([d[n][k] for n in names]))

    lines.append(
        f"| **mean** | | **{mean(mr, 'wss95'):.3f}** | **{mean(asr, 'wss95'):.3f}** | "
        f"**{100 * mean(mr, 'recall10'):.1f}%** | **{100 * mean(asr, 'recall10'):.1f}%** | "
        f"{mean(mr, 'atd'):.1f} | {mean(asr, 'atd'):.1f} | {mean(mr, 'cpu_s'):.1f} | "
        f"{mean(asr, 'cpu_s'):.1f} |")
    for key, what, scale, fmt in (("wss95", "WSS@95", 1.0, ".3f"),
                                  ("recall10", "recall@10%", 100.0, ".1f")):
        diff = [mr[n][key] - asr[n][key] for n in names]
        wins = sum(d >= 0 for d in diff)
        text = (f"\n{what}: metareview at or above ASReview on {wins} of {len(names)} reviews; "
                f"mr - u4 per review {scale * min(diff):+{fmt}} to {scale * max(diff):+{fmt}}")
        if len(names) > 1:
            sd_mr = scale * np.std([mr[n][key] for n in names], ddof=1)
            sd_u4 = scale * np.std([asr[n][key] for n in names], ddof=1)
            text += f"; SD over reviews mr {sd_mr:{fmt}}, u4 {sd_u4:{fmt}}"
        lines.append(text)
    return lines


#: The paired comparisons per review: (summary key, heading, scale, format).
PAIRED: tuple[tuple[str, str, float, str], ...] = (
    ("found2.5", "found@2.5%", 1.0, ".1f"), ("found5", "found@5%", 1.0, ".1f"),
    ("recall10", "recall@10% (points)", 100.0, ".1f"), ("wss95", "WSS@95", 1.0, ".3f"))


def paired_table(label: str, names: Sequence[str], runner: Runner, tools: dict[str, str],
                 ) -> tuple[list[str], dict[str, dict[str, dict[str, float]]]]:
    """The cold start and the paired comparison per review, seed by seed, against ELAS u4.

    ``tools[name]`` is metareview's tool on that review. For each review: ``N`` and ``R``
    (priors left out), the records read at 2.5% and 5% (``floor(x N)``), each tool's relevant
    found there (mean over seeds), and for every metric of :data:`PAIRED` the mean paired
    difference mr - u4 over seeds with its SD and 95% t interval (:func:`paired_difference`).
    A review is *behind beyond the seed noise* when the interval's upper end is below 0.
    Returns the lines and ``{name: {key: paired_difference(...)}}``.
    """
    seeds = runner.seeds
    lines = [f"\n### {label}: cold start and paired differences over {len(seeds)} seeds\n",
             "Relevant records found after reading 2.5% and 5% of the records (priors left "
             "out; mean over seeds, mr / u4), and per metric the paired difference mr - u4: "
             "mean ± SD over seeds [95% t interval]. **bold**: behind beyond the seed noise "
             "(the interval below 0).\n",
             "| review | N / R | read@2.5% | found@2.5% mr / u4 | read@5% | found@5% mr / u4 | "
             + " | ".join(f"d {h}" for _, h, _, _ in PAIRED) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(PAIRED)]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for n in names:
        data = runner.data(n, label)
        big_n, big_r = data.n - N_PRIORS, data.n_included - 1
        cells = [n, f"{big_n} / {big_r}"]
        out[n] = {}
        for key, *_ in PAIRED:
            out[n][key] = paired_difference(runner.per_seed(tools[n], n, label, key),
                                            runner.per_seed(ASREVIEW_TOOL, n, label, key))
        for key, x in (("found2.5", 0.025), ("found5", 0.05)):
            mr_mean = np.mean(runner.per_seed(tools[n], n, label, key))
            u4_mean = np.mean(runner.per_seed(ASREVIEW_TOOL, n, label, key))
            cells += [str(math.floor(x * big_n + 1e-9)), f"{mr_mean:.1f} / {u4_mean:.1f}"]
        for key, _, scale, fmt in PAIRED:
            d = out[n][key]
            text = (f"{scale * d['mean']:+{fmt}} ± {scale * d['sd']:{fmt}} "
                    f"[{scale * d['lo']:+{fmt}}, {scale * d['hi']:+{fmt}}]")
            cells.append(f"**{text}**" if d["hi"] < 0 else text)
        lines.append("| " + " | ".join(cells) + " |")
    for key, head, scale, fmt in PAIRED:
        behind = [n for n in names if out[n][key]["hi"] < 0]
        ahead = [n for n in names if out[n][key]["lo"] > 0]
        mean_d = np.mean([out[n][key]["mean"] for n in names])
        lines.append(f"\n{head}: mean over reviews of d {scale * mean_d:+{fmt}}; behind beyond "
                     f"the seed noise on {len(behind)} of {len(names)} "
                     f"({', '.join(behind) or 'none'}), ahead on {len(ahead)} "
                     f"({', '.join(ahead) or 'none'})")
    return lines, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--model", default=DEFAULT_PRESET,
                        help=f"metareview's preset: {', '.join(PRESETS)} "
                        f"(default {DEFAULT_PRESET})")
    parser.add_argument("--loo", action="store_true",
                        help="leave-one-review-out choice among screening_select's settings")
    parser.add_argument("--sets", default=None, help="comma-separated set names (default all)")
    parser.add_argument("--reuse-metareview", action="store_true",
                        help="reuse metareview's cached orders too (only if its code is unchanged)")
    parser.add_argument("--asreview-only", action="store_true",
                        help="only fill the cache with ASReview's orders")
    parser.add_argument("--every-decision", default=None, metavar="SETS",
                        help="also run both tools retraining after every decision (ASReview's "
                        "own default, n_query 1) on these comma-separated sets, seed 0, label1")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)

    if not args.data.is_dir():
        print(f"no data folder {args.data}", file=sys.stderr)
        return 2
    if args.model not in PRESETS:
        print(f"unknown --model {args.model!r}; choose one of {', '.join(PRESETS)}",
              file=sys.stderr)
        return 2
    names = _files(args.data, args.sets)
    seeds = list(range(args.seeds))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    runner = Runner(args.data, args.cache, seeds, args.reuse_metareview, log)
    missing = runner.missing_asreview(names)
    if missing and not asreview_available():
        print(INSTALL_HINT.format(python=sys.executable, cache=args.cache,
                                  missing=", ".join(missing)), file=sys.stderr)
        return 2

    if args.loo:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import screening_select

        settings = {k: v for k, v in screening_select.candidate_settings().items()
                    if k != "legacy"}
    else:
        settings = {args.model: dict(PRESETS[args.model])}

    asr: dict[str, dict[str, dict[str, float]]] = {lab: {} for lab in LABELS}
    mr: dict[str, dict[str, dict[str, dict[str, float]]]] = {lab: {} for lab in LABELS}
    for name in names:  # increasing size, ASReview first so its cache fills early
        for label in LABELS:
            runner.orders(ASREVIEW_TOOL, name, label, None)
            asr[label][name] = runner.scores(ASREVIEW_TOOL, name, label)
            if args.asreview_only:
                continue
            for sname, setting in settings.items():
                tool = f"metareview-{sname}"
                runner.orders(tool, name, label, setting)
                mr[label].setdefault(sname, {})[name] = runner.scores(tool, name, label)
    if args.asreview_only:
        return 0

    lines = [f"# metareview against ASReview LAB {ASREVIEW_VERSION} (ELAS u4)\n",
             f"Sets: {', '.join(names)}; seeds {seeds[0]}-{seeds[-1]}; priors 1 relevant + 1 "
             "irrelevant per seed, the same rows for both tools; retraining after a 2% growing "
             "batch; metrics by one function with the priors left out. CPU-s: process CPU "
             "seconds per simulation (features, trainings and rankings), mean over seeds."]
    summary_rows = []
    for label in LABELS:
        if args.loo:
            table = {s: {n: (mr[label][s][n]["wss95"], mr[label][s][n]["recall10"])
                         for n in names} for s in settings}
            chosen = screening_select.loo_choose(table, list(names), list(settings))
            picked = {n: mr[label][chosen[n]][n] for n in names}
            title = "metareview's held-out choice (leave-one-review-out) against ELAS u4"
            lines += _table(label, names, picked, asr[label], chosen, title)
            lines += paired_table(label, names, runner,
                                  {n: f"metareview-{chosen[n]}" for n in names})[0]
            lines += [f"\nEach candidate on all {len(names)} reviews (for reference, not a "
                      "selection): mean WSS@95 / recall@10%, and the reviews where it is at or "
                      "above ELAS u4 on both\n",
                      "| setting | WSS@95 | recall@10% | reviews >= u4 on both |",
                      "|---|---|---|---|"]
            for sname in settings:
                got = mr[label][sname]
                both = sum(got[n]["wss95"] >= asr[label][n]["wss95"]
                           and got[n]["recall10"] >= asr[label][n]["recall10"] for n in names)
                lines.append(
                    f"| {sname} | {np.mean([got[n]['wss95'] for n in names]):.3f} | "
                    f"{100 * np.mean([got[n]['recall10'] for n in names]):.1f}% | {both} |")
            w_u4 = np.mean([asr[label][n]["wss95"] for n in names])
            r_u4 = np.mean([asr[label][n]["recall10"] for n in names])
            lines.append(f"| ELAS u4 | {w_u4:.3f} | {100 * r_u4:.1f}% | |")
            mr_name = "metareview LOO"
        else:
            picked = mr[label][args.model]
            title = f"metareview {args.model} against ELAS u4"
            lines += _table(label, names, picked, asr[label], dict.fromkeys(names, args.model),
                            title)
            lines += paired_table(label, names, runner,
                                  dict.fromkeys(names, f"metareview-{args.model}"))[0]
            mr_name = f"metareview {args.model}"
        summary_rows.append((label, picked))
    lines += ["\n## The issue's table\n",
              f"| level | {mr_name} WSS@95 | ASReview ELAS u4 WSS@95 | recall@10% (mr / u4) | "
              "found@2.5% (mr / u4) | found@5% (mr / u4) |",
              "|---|---|---|---|---|---|"]
    for label, picked in summary_rows:
        w_mr = np.mean([picked[n]["wss95"] for n in names])
        w_u4 = np.mean([asr[label][n]["wss95"] for n in names])
        r_mr = np.mean([picked[n]["recall10"] for n in names])
        r_u4 = np.mean([asr[label][n]["recall10"] for n in names])
        found = [f"{np.mean([picked[n][k] for n in names]):.2f} / "
                 f"{np.mean([asr[label][n][k] for n in names]):.2f}"
                 for k in ("found2.5", "found5")]
        lines.append(f"| {label}, {len(names)} Cohen 2006 sets | {w_mr:.3f} | {w_u4:.3f} | "
                     f"{100 * r_mr:.1f}% / {100 * r_u4:.1f}% | {found[0]} | {found[1]} |")
    if runner.crosscheck is not None:
        c = runner.crosscheck
        lines.append(
            f"\nCross-check with ASReview Insights' metric functions ({c['set']} {c['label']} "
            f"seed {c['seed']}, N = {c['n']}; ours / Insights'): recall@10% "
            f"{c['ours']['recall10']:.6f} / {c['insights']['recall10']:.6f}, WSS@95 "
            f"{c['ours']['wss95']:.6f} / {c['insights']['wss95']:.6f}, ERF@10 "
            f"{c['ours']['erf10']:.6f} / {c['insights']['erf10']:.6f} (Insights' WSS@95 is "
            "read at floor(0.95 R) relevant against its rounded random line, ours at "
            "ceil(0.95 R) against 0.05 N; its ERF subtracts the rounded random line)")
    if args.every_decision:
        lines += ["\n## Retraining after every decision (seed 0, label1)\n",
                  "ASReview's own default schedule (`n_query` 1) for both tools: CPU seconds "
                  "per simulation, and the metrics of that one order.\n",
                  f"| review | records | CPU-s mr {args.model} | CPU-s u4 | WSS@95 mr | "
                  "WSS@95 u4 | recall@10% mr | recall@10% u4 |",
                  "|---|---|---|---|---|---|---|---|"]
        for name in _files(args.data, args.every_decision):
            got = {}
            runs: list[tuple[str, dict[str, Any] | None]] = [
                (f"metareview-{args.model}-n1", dict(PRESETS[args.model])),
                (f"{ASREVIEW_TOOL}-n1", None)]
            for tool, cfg in runs:
                runner.orders(tool, name, "label1", cfg, fraction=0.0, seeds=[0])
                got[tool] = runner.scores(tool, name, "label1", seeds=[0])
            a, b = got[f"metareview-{args.model}-n1"], got[f"{ASREVIEW_TOOL}-n1"]
            lines.append(
                f"| {name} | {runner.data(name, 'label1').n} | {a['cpu_s']:.1f} | "
                f"{b['cpu_s']:.1f} | {a['wss95']:.3f} | {b['wss95']:.3f} | "
                f"{100 * a['recall10']:.1f}% | {100 * b['recall10']:.1f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
