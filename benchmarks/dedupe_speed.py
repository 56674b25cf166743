"""How long deduplication takes on large searches: ``find_links`` with every rule on N records.

The records are built in memory, deterministically (fixed seed), from the real MEDLINE records
of the Cohen et al. (2006) reviews in ``../shared/data/screening-cohen2006``: every real record,
then, past their number, new "originals" whose title joins the first half of one real title to
the second half of another (with a real author list and a year from 1990 to 2020), then copies
of a seeded 60 % of the originals as other databases hold them (the same copy makers as the
labelled set, ``benchmarks/dedupe_labelled.py``: Europe PMC, Embase-like, CINAHL-like with a
typo). So the title stage sees real title lengths and vocabulary, and real duplicates to find.

Prints, per size: records, links found, seconds for the whole ``find_links`` and for its title
stage. Reproduce with::

    .venv/bin/python benchmarks/dedupe_speed.py --sizes 20000 200000

The links on the labelled set are checked by ``benchmarks/dedupe_eval.py`` and the tests.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from dedupe_labelled import DEFAULT_SHARED, _copy, _pubmed_record, load_cohen
from rapidfuzz import fuzz, process

from metareview.screening import dedupe
from metareview.sources.record import Record


def make_records(n: int, shared: Path = DEFAULT_SHARED, *, seed: int = 7) -> list[Record]:
    """About ``n`` records: real originals, constructed originals, then database copies."""
    rng = random.Random(seed)
    rows = load_cohen(shared)
    n_originals = max(1, int(n / 1.6))
    originals = [_pubmed_record(r, f"10.5555/cohen2006.{r['pubmedID']}" if rng.random() < 0.4
                                else None) for r in rows[:n_originals]]
    serial = 90_000_000
    while len(originals) < n_originals:
        a, b = rng.choice(rows), rng.choice(rows)
        wa, wb = a["title"].split(), b["title"].split()
        title = " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2 :])
        serial += 1
        base = _pubmed_record({**rng.choice(rows), "title": title, "pubmedID": str(serial)}, None)
        originals.append(
            Record(source="pubmed", title=title, source_id=str(serial), authors=base.authors,
                   year=rng.randint(1990, 2020), pmid=str(serial))
        )
    out = list(originals)
    for rec in originals:
        if len(out) >= n:
            break
        if rng.random() < 0.6:
            out.append(_copy(rec, rng.choice(("europepmc", "embase", "cinahl")), rng))
    return out[:n]


def all_pairs(prepared: list, cfg: dedupe.DedupeSettings) -> tuple[np.ndarray, np.ndarray]:
    """The reference without blocking: every pair whose titles reach the threshold (cdist)."""
    titles = [p.title if p.title and not p.registry else "" for p in prepared]
    n, cutoff = len(titles), int(np.floor(cfg.title_threshold * 100))
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for start in range(0, n, 1000):
        block = process.cdist(titles[start : start + 1000], titles, scorer=fuzz.ratio,
                              score_cutoff=cutoff, dtype=np.uint8, workers=1)
        r, c = np.nonzero(block)
        r = r + start
        keep = (c > r) & np.array([bool(titles[x]) for x in r.tolist()], dtype=bool)
        out_i.append(r[keep])
        out_j.append(c[keep])
    return np.concatenate(out_i), np.concatenate(out_j)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--check", action="store_true",
                        help="also score every pair (no blocking) and compare the links")
    args = parser.parse_args(argv)
    title_seconds: list[float] = []
    inner = dedupe._title_rule

    def timed(*a: object, **k: object) -> None:
        t = time.perf_counter()
        inner(*a, **k)  # type: ignore[arg-type]
        title_seconds.append(time.perf_counter() - t)

    dedupe._title_rule = timed  # type: ignore[assignment]
    print(f"{'records':>9} {'links':>8} {'find_links s':>13} {'title stage s':>14}")
    for n in args.sizes:
        records = make_records(n, args.shared)
        t = time.perf_counter()
        links = dedupe.find_links(records, list(range(len(records))))
        total = time.perf_counter() - t
        print(f"{len(records):>9} {len(links):>8} {total:>13.2f} {title_seconds[-1]:>14.2f}")
        if args.check:
            blocked = dedupe._title_candidates
            dedupe._title_candidates = all_pairs  # type: ignore[assignment]
            t = time.perf_counter()
            reference = dedupe.find_links(records, list(range(len(records))))
            seconds = time.perf_counter() - t
            dedupe._title_candidates = blocked  # type: ignore[assignment]
            same = {(x.a, x.b, x.rule) for x in links} == {(x.a, x.b, x.rule) for x in reference}
            print(f"{'':>9} every pair scored: {len(reference)} links in {seconds:.2f} s; "
                  f"same links: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
