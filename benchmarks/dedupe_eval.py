"""Precision, recall and F1 of deduplication on the labelled set (benchmarks/dedupe_labelled.py).

Pairwise measures over records, as in the deduplication literature (e.g. McKeown & Mir 2021):
the true pairs are the pairs of records of the same report; the predicted pairs are the pairs
of records that end up in one cluster (connected component of the links). Then

    precision = TP / predicted pairs,  recall = TP / true pairs,  F1 = 2PR / (P + R).

Printed per rule applied alone, cumulatively in the order the rules run, and for all rules
together; ``--errors`` lists the false and missed pairs. Needs ``../shared`` (the Cohen 2006
files). Reproduce with::

    .venv/bin/python benchmarks/dedupe_eval.py
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedupe_labelled import DEFAULT_SHARED, SEED, Labelled, build, summary

from metareview.screening.dedupe import RULES, DedupeSettings, clusters, find_links


def _pairs(groups: Iterable[Sequence[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in combinations(g, 2)}


def true_pairs(items: list[Labelled]) -> set[frozenset[str]]:
    by_report: dict[str, list[str]] = {}
    for item in items:
        by_report.setdefault(item.report, []).append(item.key)
    return _pairs(by_report.values())


def evaluate(
    items: list[Labelled], rules: Sequence[str], settings: DedupeSettings | None = None
) -> dict[str, float | int | set[frozenset[str]]]:
    """Pairwise TP/FP/FN, precision, recall, F1 of the clusters the given rules make."""
    keys = [i.key for i in items]
    links = find_links([i.record for i in items], keys, rules=rules, settings=settings)
    predicted = _pairs(clusters(keys, links))
    truth = true_pairs(items)
    tp = len(predicted & truth)
    fp = len(predicted - truth)
    fn = len(truth - predicted)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "links": len(links),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false": predicted - truth,
        "missed": truth - predicted,
    }


def scale(shared: Path, seed: int) -> str:
    """Time :func:`find_links` on every Cohen record and one second-database copy of each."""
    import random

    from dedupe_labelled import _copy, _pubmed_record, load_cohen

    rng = random.Random(seed)
    originals = [_pubmed_record(row, None) for row in load_cohen(shared)]
    databases = ("europepmc", "embase", "cinahl")
    records = originals + [_copy(r, databases[i % 3], rng) for i, r in enumerate(originals)]
    started = time.perf_counter()
    links = find_links(records)
    seconds = time.perf_counter() - started
    truth = {frozenset((str(i), str(i + len(originals)))) for i in range(len(originals))}
    found = _pairs([[str(k) for k in group] for group in clusters(range(len(records)), links)])
    caught = len(found & truth) / len(truth)
    return (
        f"scale: {len(records)} records, {len(links)} links in {seconds:.1f} s "
        f"(one process, one thread); copies linked to their original: {caught:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--errors", action="store_true", help="list false and missed pairs")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also time all rules on every Cohen record plus a copy of each (about 10,800)",
    )
    args = parser.parse_args(argv)
    if not (args.shared / "data" / "screening-cohen2006").is_dir():
        print(f"{args.shared}/data/screening-cohen2006 is absent; nothing to measure")
        return 1
    items = build(args.shared, seed=args.seed)
    by_key = {i.key: i for i in items}
    print(summary(items))
    print()
    header = f"{'rules':<28}{'links':>7}{'TP':>6}{'FP':>5}{'FN':>5}{'precision':>11}"
    header += f"{'recall':>9}{'F1':>8}"
    print(header)
    rows: list[tuple[str, Sequence[str]]] = [(f"{r} alone", (r,)) for r in RULES]
    rows += [(" + ".join(RULES[: n + 1]), RULES[: n + 1]) for n in range(1, len(RULES))]
    result = None
    for name, rules in rows:
        started = time.perf_counter()
        result = evaluate(items, rules)
        seconds = time.perf_counter() - started
        print(
            f"{name:<28}{result['links']:>7}{result['tp']:>6}{result['fp']:>5}{result['fn']:>5}"
            f"{result['precision']:>11.3f}{result['recall']:>9.3f}{result['f1']:>8.3f}"
            f"   ({seconds:.2f} s)"
        )
    if args.scale:
        print()
        print(scale(args.shared, args.seed))
    if args.errors and result is not None:
        for label in ("false", "missed"):
            pairs = result[label]
            assert isinstance(pairs, set)
            print(f"\n{label} pairs (all rules): {len(pairs)}")
            for pair in sorted(sorted(p) for p in pairs):
                a, b = (by_key[k] for k in pair)
                print(
                    f"  {a.key} [{a.case}] {a.record.year} {a.record.first_author!r}: "
                    f"{a.record.title[:80]!r}"
                )
                print(
                    f"  {b.key} [{b.case}] {b.record.year} {b.record.first_author!r}: "
                    f"{b.record.title[:80]!r}"
                )
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
