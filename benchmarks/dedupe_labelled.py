"""Build the labelled set for measuring deduplication, deterministically, from real records.

Input: the MEDLINE records of the Cohen et al. (2006) drug class reviews in
``../shared/data/screening-cohen2006/*.csv`` (real PMIDs, titles, authors, MeSH terms). Nothing of
it is copied into the repository; this script rebuilds the set in memory (or writes it where
asked) each time, and always the same way (fixed seed, sorted inputs).

What the set contains, each record labelled with the report it is (``report``, the PMID of the
original article) and the case it tests (``case``):

``original``
    Real PubMed records: every record whose normalised title is at least 85 % similar to
    another record's with a *different* PMID (real near-identical titles of different reports:
    letters answering an article under its title, drug monographs of the same name, series
    papers, a trial's design paper and its results paper), plus a seeded random sample of the
    remaining records.
``copy-<database>``
    The same article as another database would hold it, made from a real record: Europe PMC
    (keeps the PMID; MEDLINE-style authors), Embase-like (no PMID; title case or upper case,
    punctuation changes, British spelling, ``vs.``), CINAHL-like (no PMID, no DOI, one typo in the
    title, accents stripped, "Given Surname" authors), some with the year one later (print vs
    electronic date). A DOI is kept in another form (``https://doi.org/`` prefix, upper case,
    ``doi:``) or dropped.
``sibling-part`` / ``sibling-protocol``
    Constructed different reports that look alike: for a real title numbered as a series
    ("Part II", ": II.") the other part by the same authors, same year; for a real randomised
    trial, its design paper ("...: rationale and design") by the same first author, two years
    earlier. Labelled as different reports.

Years: the CSV files carry no publication year, so each real record is given the year its PMID
falls in, interpolated between approximate first PMIDs of each year (PubMed assigns PMIDs in
order of entry); exact years do not matter, only that copies agree within one year.

DOIs: the CSV files carry no DOI, so a seeded 40 % of the originals get a DOI under Crossref's
test prefix ``10.5555`` (``10.5555/cohen2006.<pmid>``), which resolves to nothing real.

Run ``python benchmarks/dedupe_labelled.py --summary`` to print what the set holds, or
``--out FILE.jsonl`` to write it.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import random
import re
import sys
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from metareview.sources.record import Record

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared"
COHEN = Path("data") / "screening-cohen2006"

SEED = 2006
N_RANDOM = 220
NEAR_TITLE = 85

# Approximate first PMID of MEDLINE entries per year (for an approximate year; see docstring).
_YEAR_ANCHORS = [
    (7_000_000, 1993),
    (7_600_000, 1995),
    (8_500_000, 1996),
    (9_000_000, 1997),
    (9_430_000, 1998),
    (9_900_000, 1999),
    (10_600_000, 2000),
    (11_130_000, 2001),
    (11_780_000, 2002),
    (12_500_000, 2003),
    (14_700_000, 2004),
    (15_600_000, 2005),
]


@dataclass(slots=True)
class Labelled:
    """A record of the labelled set and its truth."""

    key: str
    report: str
    case: str
    record: Record


def approx_year(pmid: str) -> int:
    """The approximate year a PMID was assigned (linear between anchors; see module docstring)."""
    value = int(pmid)
    starts = [a for a, _ in _YEAR_ANCHORS]
    i = bisect_right(starts, value) - 1
    if i < 0:
        return _YEAR_ANCHORS[0][1] - 1
    if i >= len(_YEAR_ANCHORS) - 1:
        return _YEAR_ANCHORS[-1][1]
    (p0, y0), (p1, y1) = _YEAR_ANCHORS[i], _YEAR_ANCHORS[i + 1]
    return int(y0 + (y1 - y0) * (value - p0) / (p1 - p0))


def _authors(text: str) -> list[str]:
    if not text or text.strip() == "NA":
        return []
    return [a.strip() for a in text.split(";") if a.strip()]


def load_cohen(shared: Path) -> list[dict[str, str]]:
    """All rows of the Cohen 2006 files, one per PMID (first file in name order wins)."""
    folder = shared / COHEN
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"{folder}: no CSV files")
    rows: dict[str, dict[str, str]] = {}
    for file in files:
        with open(file, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows.setdefault(row["pubmedID"], {**row, "file": file.name})
    return [rows[k] for k in sorted(rows, key=int)]


def _pubmed_record(row: dict[str, str], doi: str | None) -> Record:
    pmid = row["pubmedID"]
    return Record(
        source="pubmed",
        title=row["title"],
        source_id=pmid,
        abstract="" if row["abstracts"] == "NA" else row["abstracts"],
        authors=_authors(row["authors"]),
        year=approx_year(pmid),
        pmid=pmid,
        doi=doi,
        mesh_terms=[t.strip() for t in row["keywords"].split(";") if t.strip()],
    )


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _medline_author(name: str) -> str:
    """'Reimer, E J' -> 'Reimer EJ'."""
    if "," not in name:
        return name
    surname, given = (p.strip() for p in name.split(",", 1))
    initials = "".join(w[0] for w in re.split(r"[\s.\-]+", given) if w)
    return f"{surname} {initials}".strip()


def _dotted_author(name: str) -> str:
    """'Reimer, E J' -> 'Reimer, E.J.'."""
    if "," not in name:
        return name
    surname, given = (p.strip() for p in name.split(",", 1))
    initials = "".join(f"{w[0]}." for w in re.split(r"[\s.\-]+", given) if w)
    return f"{surname}, {initials}"


def _given_first(name: str) -> str:
    """'Reimer, E J' -> 'E. J. Reimer' (accents stripped, as some databases do)."""
    if "," not in name:
        return _strip_accents(name)
    surname, given = (p.strip() for p in name.split(",", 1))
    initials = " ".join(f"{w[0]}." for w in re.split(r"[\s.\-]+", given) if w)
    return _strip_accents(f"{initials} {surname}".strip())


_SMALL = {"a", "an", "the", "of", "in", "on", "and", "or", "for", "to", "with", "by", "at"}


def _title_case(title: str) -> str:
    words = title.split(" ")
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        out.append(lower if i and lower in _SMALL else word[:1].upper() + word[1:])
    return " ".join(out)


_BRITISH = [
    ("randomized", "randomised"),
    ("pediatric", "paediatric"),
    ("anesthesia", "anaesthesia"),
    ("hemodynamic", "haemodynamic"),
    ("tumor", "tumour"),
    ("behavior", "behaviour"),
    ("ischemia", "ischaemia"),
    ("estrogen", "oestrogen"),
    ("labor", "labour"),
]


def _embase_title(title: str, rng: random.Random) -> str:
    text = title.rstrip(".")
    for us, uk in _BRITISH:
        text = re.sub(rf"\b{us}", uk, text)
        text = re.sub(rf"\b{us.capitalize()}", uk.capitalize(), text)
    text = re.sub(r"\bversus\b", "vs.", text)
    text = text.replace(": ", " - ") if rng.random() < 0.5 else text
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.upper() if rng.random() < 0.3 else _title_case(text)


def _typo(title: str, rng: random.Random) -> str:
    """One typing error in a word of five letters or more (swap, drop or double a letter)."""
    words = title.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return title
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif kind == "drop":
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def _doi_variant(doi: str, rng: random.Random) -> str | None:
    form = rng.choice(("url", "upper", "label", "missing"))
    if form == "url":
        return f"https://doi.org/{doi}"
    if form == "upper":
        return doi.upper()
    if form == "label":
        return f"doi:{doi}"
    return None


def _copy(base: Record, database: str, rng: random.Random) -> Record:
    year = base.year
    if year is not None and rng.random() < 0.2:
        year += 1
    doi = _doi_variant(base.doi, rng) if base.doi else None
    if database == "europepmc":
        return Record(
            source="europepmc",
            title=base.title.rstrip("."),
            source_id=f"MED:{base.pmid}",
            abstract=base.abstract,
            authors=[_medline_author(a) for a in base.authors],
            year=base.year,
            pmid=base.pmid,
            doi=doi,
        )
    if database == "embase":
        return Record(
            source="embase",
            title=_embase_title(base.title, rng),
            abstract=base.abstract,
            authors=[_dotted_author(a) for a in base.authors],
            year=year,
            doi=doi,
        )
    return Record(
        source="cinahl",
        title=_typo(_strip_accents(base.title), rng),
        abstract=base.abstract,
        authors=[_given_first(a) for a in base.authors],
        year=year,
    )


def _normal(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _strip_accents(title).lower()).split())


_SERIES = re.compile(r"(\bPart\s+|:\s+)(I{1,3}|[1-3])(\b)")
_OTHER_PART = {"I": "II", "II": "I", "III": "II", "1": "2", "2": "1", "3": "2"}


def _sibling_part(row: dict[str, str]) -> Record | None:
    match = _SERIES.search(row["title"])
    if not match:
        return None
    number = match.group(2)
    title = row["title"][: match.start(2)] + _OTHER_PART[number] + row["title"][match.end(2) :]
    record = _pubmed_record(row, None)
    record.source, record.pmid, record.source_id, record.abstract = "embase", None, None, ""
    record.title = title
    return record


def _sibling_protocol(row: dict[str, str]) -> Record:
    record = _pubmed_record(row, None)
    title = row["title"].rstrip(".")
    record.source, record.pmid, record.source_id, record.abstract = "embase", None, None, ""
    record.title = f"{title}: rationale and design."
    record.year = (record.year or 2000) - 2
    return record


@functools.lru_cache(maxsize=4)
def _near_titles(shared: Path) -> frozenset[int]:
    """Positions (in :func:`load_cohen` order) of records whose normalised title is at least
    ``NEAR_TITLE`` % similar (``fuzz.ratio``) to another record's; computed once per folder."""
    rows = load_cohen(shared)
    titles = [_normal(r["title"]) for r in rows]
    near: set[int] = set()
    for start in range(0, len(rows), 1000):
        block = process.cdist(
            titles[start : start + 1000],
            titles,
            scorer=fuzz.ratio,
            score_cutoff=NEAR_TITLE,
            dtype="uint8",
            workers=1,
        )
        for r, c in zip(*block.nonzero(), strict=True):
            i, j = start + int(r), int(c)
            if i != j:
                near.update((i, j))
    return frozenset(near)


def build(shared: Path = DEFAULT_SHARED, *, seed: int = SEED) -> list[Labelled]:
    """The labelled set (see the module docstring); the same list for the same inputs and seed."""
    rng = random.Random(seed)
    rows = load_cohen(shared)
    near = _near_titles(shared)
    rest = [i for i in range(len(rows)) if i not in near]
    chosen = sorted(near) + sorted(rng.sample(rest, N_RANDOM))

    out: list[Labelled] = []
    for i in chosen:
        row = rows[i]
        doi = f"10.5555/cohen2006.{row['pubmedID']}" if rng.random() < 0.4 else None
        case = "original-near-title" if i in near else "original"
        out.append(Labelled(f"P{row['pubmedID']}", row["pubmedID"], case, _pubmed_record(row, doi)))

    originals = list(out)
    for item in originals:
        draw = rng.random()
        if draw < 0.25:
            continue
        database = "europepmc" if draw < 0.45 else ("embase" if draw < 0.75 else "cinahl")
        copy = _copy(item.record, database, rng)
        out.append(
            Labelled(f"{database[0].upper()}{item.report}", item.report, f"copy-{database}", copy)
        )

    # Constructed look-alikes of different reports (see the module docstring).
    for item in originals:
        row = next(r for r in (rows[i] for i in chosen) if r["pubmedID"] == item.report)
        part = _sibling_part(row)
        if part is not None:
            out.append(Labelled(f"S{item.report}", f"part-of-{item.report}", "sibling-part", part))
    trials = [
        it
        for it in originals
        if re.search(r"\brandomi[sz]ed\b.*\btrial\b", it.record.title, re.IGNORECASE)
        and "design" not in it.record.title.lower()
    ]
    for item in rng.sample(trials, min(15, len(trials))):
        row = next(r for r in (rows[i] for i in chosen) if r["pubmedID"] == item.report)
        out.append(
            Labelled(
                f"D{item.report}",
                f"protocol-of-{item.report}",
                "sibling-protocol",
                _sibling_protocol(row),
            )
        )
    return out


def summary(items: list[Labelled]) -> str:
    """Counts by case, and the number of true duplicate pairs."""
    cases = Counter(i.case for i in items)
    reports = Counter(i.report for i in items)
    pairs = sum(n * (n - 1) // 2 for n in reports.values())
    lines = [f"records: {len(items)}", f"reports: {len(reports)}", f"true duplicate pairs: {pairs}"]
    lines += [f"  {case}: {n}" for case, n in sorted(cases.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write the set as JSON lines")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    items = build(args.shared, seed=args.seed)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            for item in items:
                row = {
                    "key": item.key,
                    "report": item.report,
                    "case": item.case,
                    "record": asdict(item.record),
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.summary or not args.out:
        print(summary(items))
    return 0


if __name__ == "__main__":
    sys.exit(main())
