"""The bundled imatinib review's RoB 2 assessments (``examples/imatinib-ssc/rob.csv``): the
judgements the guidance's algorithm gives for its answers (worked by hand below, RoB 2 full
guidance 22 Aug 2019 flowcharts), and every quote found verbatim in its source."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from metareview.appraisal.assessment import judge
from metareview.appraisal.vocabulary import ROB2
from metareview.review.folder import bundled_example

ROB = bundled_example() / "rob.csv"


def _rows() -> list[dict[str, str]]:
    with open(ROB, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_judgements_follow_the_algorithm() -> None:
    """Pope 2011: D1 1.2 NI, 1.3 NI -> some concerns; D2 2.1/2.2 PN, 2.6 PY -> low; D3 3.1 NI,
    3.2 PN, 3.3 PY, 3.4 NI -> high; D4 4.1-4.3 PN -> low; D5 5.2 PN, 5.3 NI -> some concerns;
    overall high. Prey 2012: as Pope but D2 2.6 NI, 2.7 NI -> high."""
    got = {}
    for study in ("pope2011", "prey2012"):
        answers = {r["question"]: r["answer"] for r in _rows()
                   if r["study_id"] == study and r["answer"]}  # fmt: skip
        j = judge(ROB2, answers)
        got[study] = ([d.judgement for d in j.domains], j.overall.judgement)
    assert got == {
        "pope2011": (["some_concerns", "low", "high", "low", "some_concerns"], "high"),
        "prey2012": (["some_concerns", "high", "high", "low", "some_concerns"], "high"),
    }


def test_answers_other_than_ni_carry_a_quote() -> None:
    missing = [(r["study_id"], r["question"]) for r in _rows()
               if r["answer"] and r["answer"] != "NI" and not r["quote"]]  # fmt: skip
    assert missing == [("prey2012", "3.2")]  # no NI allowed there; see the README


def test_quotes_are_verbatim(seeds_dir: Path, shared_dir: Path) -> None:
    """Titles from records.jsonl, the registry page from seed 003, Pope's abstract sentences
    from the research notes that quote it (../shared/research/imatinib-ssc.md)."""
    titles = {}
    for line in (bundled_example() / "records.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        titles[f"pmid:{rec.get('pmid')}"] = str(rec.get("title") or "")
    seed = (seeds_dir / "003_ef5e47533b52bfb7.txt").read_text(encoding="utf-8")
    notes_file = shared_dir / "research" / "imatinib-ssc.md"
    if not notes_file.is_file():
        pytest.skip("../shared/research/imatinib-ssc.md is absent")
    notes = notes_file.read_text(encoding="utf-8")
    for r in _rows():
        quote, record = r["quote"], r["source_record"]
        if not quote:
            continue
        if record.startswith("source_id:seed:003"):
            assert quote in seed, quote
        else:
            assert quote.lower() in titles[record].lower() or quote in notes, quote
