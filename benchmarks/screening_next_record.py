"""Screener latency: from a reviewer's key press to the next record, on a 5,000-record project.

End to end, as ``metareview screen`` does it (rendering aside): the decision is written to the
project store in its own audited transaction (``Screening.decide``), the ranker retrains on all
decisions (``Ranker.fit`` with cached features), the unscreened records are ranked, the
estimate of relevant records left is recomputed, and the next record is picked
(``ScreeningSession.decide`` + ``ScreeningSession.next`` + ``ScreeningSession.progress``).
The ranker alone is measured by ``benchmarks/screening_latency.py``.

Records: the first 5,000 records of the Cohen (2006) sets in ``../shared/data/
screening-cohen2006`` (files in name order; real titles, abstracts and MeSH terms), decided by
their ``label1``. Decisions are timed at several points of a screening (after 50, 200, 1,000 and
3,000 records have been decided; the decisions before each point are bulk-imported untimed). The
first two lie in the default ranker's cold-start window (fewer than 5% of the records labelled),
where each new relevant record also scores both feature sets by leave-one-relevant-out.

Usage (from the project root)::

    nice .venv/bin/python benchmarks/screening_next_record.py [--records 5000] [--decisions 30]
        [--model nb] [--json benchmarks/results/screening_next_record.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from metareview.screening.decisions import DecisionInput, Screening
from metareview.screening.ranking import DEFAULT_MODEL
from metareview.screening.screener import ScreeningSession
from metareview.screening.simulation import load_labelled_csv
from metareview.sources.record import Record
from metareview.store import Project

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "screening-cohen2006"
PROTOCOL = """\
title: Drug class reviews (Cohen 2006) - screening latency benchmark
question: {population: adults, intervention: drug class, comparator: other drugs,
           outcomes: [efficacy]}
eligibility:
  - {code: other, text: Not eligible (the Cohen sets record no reason)}
"""
STAGES = (50, 200, 1000, 3000)


def _records(n: int) -> tuple[list[Record], np.ndarray]:
    records: list[Record] = []
    labels: list[int] = []
    for path in sorted(DATA.glob("*.csv")):
        data = load_labelled_csv(path, "label1")
        for rec, label in zip(data.records, data.labels, strict=True):
            keywords = rec.get("keywords") or ""
            abstract = rec.get("abstracts") or rec.get("abstract") or ""
            records.append(
                Record(
                    source="PubMed",
                    title=str(rec.get("title") or ""),
                    abstract="" if abstract == "NA" else str(abstract),
                    keywords=[k.strip() for k in str(keywords).split(";") if k.strip()],
                    source_id=f"{path.stem}-{len(records)}",
                )
            )
            labels.append(int(label))
            if len(records) == n:
                return records, np.asarray(labels)
    raise SystemExit(f"only {len(records)} records in {DATA}")


def _summary(ms: list[float], cpu: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    c = np.asarray(cpu)
    return {
        "median_ms": round(float(np.median(a)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "max_ms": round(float(a.max()), 1),
        # this process's CPU time per decision: what the wall time would be on an idle machine
        "cpu_median_ms": round(float(np.median(c)), 1),
        "cpu_p95_ms": round(float(np.percentile(c, 95)), 1),
    }


def run(n: int, decisions: int, model: str) -> dict[str, Any]:
    records, truth = _records(n)
    out: dict[str, Any] = {
        "records": n,
        "model": model,
        "decisions_timed_per_stage": decisions,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "stages": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        protocol = Path(tmp) / "protocol.yaml"
        protocol.write_text(PROTOCOL, encoding="utf-8")
        t0 = time.perf_counter()
        with Project.init(Path(tmp) / "p", protocol_file=protocol, actor="bench") as project:
            project.add_records(records, source="PubMed", actor="bench")
        out["import_s"] = round(time.perf_counter() - t0, 2)
        # Record ids follow insertion order: id i+1 is records[i].
        order = np.random.default_rng(0).permutation(n)
        done = 0
        for stage in STAGES:
            with Screening.open(Path(tmp) / "p", actor="bench") as s:
                rows = [
                    DecisionInput(
                        str(int(i) + 1),
                        "title_abstract",
                        "include" if truth[i] else "exclude",
                        "reviewer",
                    )
                    for i in order[done:stage]
                ]
                if rows:
                    s.decide_many(rows)
                done = stage
                t0 = time.perf_counter()
                session = ScreeningSession(s, reviewer="reviewer", model=model)
                cand = session.next()
                session.progress()
                start_s = time.perf_counter() - t0
                times: list[float] = []
                cpu: list[float] = []
                for _ in range(decisions):
                    assert cand is not None
                    label = truth[cand.record_id - 1]
                    t0 = time.perf_counter()
                    c0 = time.process_time()
                    session.decide(cand.record_id, "include" if label else "exclude")
                    cand = session.next()
                    session.progress()
                    times.append(1000 * (time.perf_counter() - t0))
                    cpu.append(1000 * (time.process_time() - c0))
                done += decisions
                out["stages"].append(
                    {"decided_before": stage, "start_s": round(start_s, 2), **_summary(times, cpu)}
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=30)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent (it exists only beside a development checkout)")
    result = run(args.records, args.decisions, args.model)
    print(
        f"{result['records']} records, model {result['model']}, "
        f"import {result['import_s']} s, {result['cpus']} CPUs"
    )
    print(f"load average at start {result['load_average_at_start']}")
    print(f"{'decided before':>15} {'start (s)':>10} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}"
          f" {'cpu med':>8} {'cpu p95':>8}")
    for st in result["stages"]:
        print(
            f"{st['decided_before']:>15} {st['start_s']:>10} {st['median_ms']:>10} "
            f"{st['p95_ms']:>8} {st['max_ms']:>8} {st['cpu_median_ms']:>8} {st['cpu_p95_ms']:>8}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
