"""The interactive screener, driven through a pseudo-terminal (pexpect) and as a Python object."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from screening_builders import new_project, open_screening

from metareview.screening.screener import ScreeningSession
from metareview.sources.record import Record
from metareview.store import Project

BIN = Path(sys.executable).parent / "metareview"

RELEVANT = "Imatinib versus placebo in diffuse cutaneous systemic sclerosis: randomised trial"
IRRELEVANT = "Dietary fibre and colorectal adenoma recurrence in older adults"


def _project(tmp_path: Path, n_each: int = 4) -> Path:
    folder = new_project(tmp_path)
    records = []
    for i in range(n_each):
        records.append(
            Record(
                source="PubMed",
                source_id=f"r{i}",
                title=f"{RELEVANT} {i}",
                abstract="Imatinib reduced skin thickening in systemic sclerosis patients.",
                journal="Ann Rheum Dis",
                year=2011,
                nct_ids=[f"NCT0055558{i}"],
            )
        )
        records.append(
            Record(
                source="PubMed",
                source_id=f"x{i}",
                title=f"{IRRELEVANT} {i}",
                abstract="Fibre intake and adenoma recurrence in a colonoscopy cohort.",
                journal="Gut",
                year=2009,
                publication_types=["Review"] if i == 0 else [],
            )
        )
    with Project.open(folder, actor="setup") as project:
        project.add_records(records, source="PubMed")
    return folder


def _shown(screen: str) -> int:
    """The id of the record on screen (from the panel title "record N · rank R")."""
    return int(re.findall(r"record (\d+) · rank", screen)[-1])


def _spawn(folder: Path, *args: str) -> pexpect.spawn:
    env = dict(os.environ, METAREVIEW_ACTOR="pty-test", COLUMNS="120", LINES="40")
    return pexpect.spawn(
        str(BIN),
        ["screen", str(folder), *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )


@pytest.mark.skipif(not BIN.exists(), reason="the metareview script is not installed")
def test_screen_through_a_terminal(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    child = _spawn(folder, "--reviewer", "Vasiliki", "--stage", "title_abstract")
    try:
        child.expect("Keys:")
        screen = child.before
        assert "0/8 screened" in screen
        assert "reviewer Vasiliki" in screen
        first = _shown(screen)
        child.send("i")  # include the first record shown
        child.expect("Keys:")
        second = _shown(child.before)
        child.send("e")  # exclude: the reason menu lists the protocol's codes
        child.expect("which criterion")
        child.expect("cancel")
        menu = child.before
        for code in ("population", "intervention", "design", "outcome"):
            assert code in menu
        child.send("3")  # design
        child.expect("Keys:")
        assert "excluded (design)" in child.before
        child.send("m")  # maybe on the third
        child.expect("Keys:")
        child.send("u")  # undo the maybe
        child.expect("Keys:")
        assert "undone" in child.before
        child.send("s")  # skip it
        child.expect("Keys:")
        assert "skipped" in child.before
        child.send("n")  # a note for the next decision
        child.expect("Note: ")
        child.sendline("checked the registry")
        child.expect("Keys:")
        child.send("i")
        child.expect("Keys:")
        assert "3/8 screened" in child.before
        child.send("q")
        child.expect("Session ended")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    with open_screening(folder) as s:
        current = {d.record_id: d for d in s.decisions(stage="title_abstract")}
        everything = s.decisions(include_undone=True)
    assert len(current) == 3 and len(everything) == 4
    assert current[first].decision == "include"
    assert (current[second].decision, current[second].reason) == ("exclude", "design")
    undone = [d for d in everything if not d.active]
    assert [d.decision for d in undone] == ["maybe"]
    noted = [d for d in current.values() if d.note]
    assert [(d.decision, d.note) for d in noted] == [("include", "checked the registry")]
    assert all(d.reviewer == "Vasiliki" for d in everything)


@pytest.mark.skipif(not BIN.exists(), reason="the metareview script is not installed")
def test_screen_refuses_a_clashing_reviewer_name(tmp_path: Path) -> None:
    folder = _project(tmp_path, n_each=1)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="Vasiliki")
    child = _spawn(folder, "--reviewer", "VASILIKI")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "clashes with reviewer 'Vasiliki'" in (child.before or "")


def test_session_ranks_relevant_records_first(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A", seed=1)
        # before one include and one exclude the order is a seeded random order
        assert not session.progress().trained
        relevant = [rid for rid in session.ids if RELEVANT in s.reports.records[rid].record.title]
        irrelevant = [rid for rid in session.ids if rid not in relevant]
        session.decide(relevant[0], "include")
        session.decide(irrelevant[0], "exclude", reason="population")
        progress = session.progress()
        assert progress.trained and (progress.done, progress.total) == (2, 8)
        assert progress.included == 1 and progress.excluded == 1
        # the model now puts the three remaining relevant records first
        shown = []
        for _ in range(3):
            cand = session.next()
            assert cand is not None
            shown.append(cand.record_id)
            session.decide(cand.record_id, "include")
        assert sorted(shown) == sorted(relevant[1:])
        # the model's estimate of relevant records left lies between 0 and the 3 unscreened
        assert 0.0 <= session.progress().remaining_relevant <= 3.0
        # the stopping rules judge the five decisions so far (1, 0, 1, 1, 1 of 8 records):
        # the last record read was relevant, so no irrelevant run; the hypergeometric p-value is
        # the one metareview.screening.stopping computes for that order
        from metareview.screening.stopping import hypergeometric_p

        hyper, run = session.progress().stopping
        assert (hyper.rule, run.rule) == ("hypergeometric", "irrelevant-run")
        assert run.value == 0 and not run.stop
        assert hyper.value == pytest.approx(hypergeometric_p([1, 0, 1, 1, 1], 8, 0.95))
        # hints are shown with the record (record x0 is typed "Review")
        cand = session.next()
        assert cand is not None


def test_session_skip_and_undo_order(tmp_path: Path) -> None:
    folder = _project(tmp_path, n_each=2)
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A")
        first = session.next()
        assert first is not None
        session.skip(first.record_id)
        second = session.next()
        assert second is not None and second.record_id != first.record_id
        session.decide(second.record_id, "include")
        undone = session.undo()
        assert undone.record_id == second.record_id
        again = session.next()
        assert again is not None and again.record_id == second.record_id
        # the skipped record comes last
        order = []
        while (cand := session.next()) is not None:
            order.append(cand.record_id)
            session.decide(cand.record_id, "maybe")
        assert order[-1] == first.record_id and len(order) == 4


def test_rule_exclusions_happen_when_the_screener_starts(tmp_path: Path) -> None:
    from screening_builders import PROTOCOL_YAML

    text = PROTOCOL_YAML.replace(
        "screening:\n", "screening:\n  exclude_by_publication_type: true\n"
    )
    folder = new_project(tmp_path, text)
    with Project.open(folder, actor="setup") as project:
        project.add_records(
            [
                Record(source="PubMed", title="A review", publication_types=["Review"]),
                Record(source="PubMed", title="A trial of imatinib"),
            ],
            source="PubMed",
        )
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A")
        assert [d.record_id for d in session.rule_exclusions] == [1]
        assert session.queue == {2}


def test_session_uses_the_default_preset_and_presets_by_name(tmp_path: Path) -> None:
    from metareview.errors import InputError
    from metareview.screening.ranking import DEFAULT_PRESET, PRESETS

    folder = _project(tmp_path)
    with open_screening(folder) as s:
        ranker = ScreeningSession(s, reviewer="A").ranker
        # the same default as `metareview simulate` (the default preset)
        assert (ranker.model, ranker.ngram_max, ranker.keyword_weight, ranker.relevant_weight) == (
            PRESETS[DEFAULT_PRESET]["model"],
            PRESETS[DEFAULT_PRESET]["ngram_max"],
            PRESETS[DEFAULT_PRESET]["keyword_weight"],
            PRESETS[DEFAULT_PRESET]["relevant_weight"],
        )
        legacy = ScreeningSession(s, reviewer="A", model="legacy").ranker
        assert (legacy.ngram_max, legacy.keyword_weight) == (1, None)
        with pytest.raises(InputError, match="unknown ranking model 'bert'"):
            ScreeningSession(s, reviewer="B", model="bert")


def test_a_resumed_session_tests_the_stored_reading_order(tmp_path: Path) -> None:
    # Decisions made in an order other than the records' positions: a session resumed from
    # the store (or the web app's) judges the same reading order as the session that made
    # them. Reading order here: the two irrelevant records with the highest ids, two
    # relevant, two more irrelevant (0, 0, 1, 1, 0, 0); in id order the same decisions read
    # 1, 0, 1, 0, 0, 0, which the resumed session judged before the fix.
    from metareview.screening.stopping import hypergeometric_p

    folder = _project(tmp_path)
    with open_screening(folder) as s:
        live = ScreeningSession(s, reviewer="A", seed=1)
        relevant = [rid for rid in live.ids if RELEVANT in s.reports.records[rid].record.title]
        irrelevant = [rid for rid in live.ids if rid not in relevant]
        read = [(irrelevant[-1], "exclude"), (irrelevant[-2], "exclude"),
                (relevant[0], "include"), (relevant[1], "include"),
                (irrelevant[-3], "exclude"), (irrelevant[-4], "exclude")]
        for rid, decision in read:
            live.decide(rid, decision, reason="population" if decision == "exclude" else None)
        hyper_live, run_live = live.progress().stopping
    with open_screening(folder) as s:
        resumed = ScreeningSession(s, reviewer="A", seed=1)
        hyper, run = resumed.progress().stopping
    assert run.value == run_live.value == 2  # by hand: the last two decisions
    assert hyper.value == hyper_live.value
    assert hyper.value == pytest.approx(hypergeometric_p([0, 0, 1, 1, 0, 0], 8, 0.95))
