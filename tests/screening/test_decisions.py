"""Screening decisions: recording, undo, final decisions, dual screening, bulk import, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from screening_builders import (
    PROTOCOL_YAML,
    count_rows,
    open_screening,
    pubmed,
    small_project,
)

from metareview.errors import InputError
from metareview.screening.decisions import DecisionInput, Screening
from metareview.sources.record import Record
from metareview.store import Project


def test_decide_and_read_back(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        d = s.decide(1, "title_abstract", "exclude", reviewer="Vasiliki", reason="design",
                     note="narrative review")  # fmt: skip
        assert (d.record_id, d.stage, d.reviewer, d.decision, d.reason, d.note, d.basis) == (
            1, "title_abstract", "Vasiliki", "exclude", "design", "narrative review", "reviewer",
        )  # fmt: skip
        assert d.decided_at.endswith("+00:00")
        s.decide("pmid:102", "ta", "include", reviewer="Vasiliki")  # aliases and references
        finals = s.final_decisions("title_abstract")
        assert finals[1].decision == "exclude" and finals[1].reason == "design"
        assert finals[2].decision == "include"
        assert s.queue("title_abstract", "Vasiliki") == [3, 4, 5, 6]
        # a later decision by the same reviewer supersedes the earlier one
        s.decide(1, "title_abstract", "maybe", reviewer="Vasiliki")
        assert s.final_decisions("title_abstract")[1].decision == "maybe"
        assert len(s.decisions(record_id=1)) == 2


def test_every_write_is_audited(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder, actor="auditor") as s:
        d = s.decide(1, "ta", "include", reviewer="A")
        s.undo(d.id)
        entries = s.project.audit(table="screening_decisions")
    assert [e.action for e in entries] == ["screen-reviewer", "screen-undo"]
    assert entries[0].after["decision"] == "include"
    assert entries[1].before == {"undone_at": None, "undone_by": None}
    assert entries[1].actor == "auditor"


def test_undo(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
        s.decide(2, "ta", "exclude", reviewer="A")
        undone = s.undo(reviewer="A")
        assert undone.record_id == 2 and undone.undone_at is not None
        assert 2 not in s.final_decisions("ta")
        assert s.queue("ta", "A") == [2, 3, 4, 5, 6]
        # the undone decision is kept
        assert [d.id for d in s.decisions(include_undone=True)] == [1, 2]
        with pytest.raises(InputError, match="already undone"):
            s.undo(undone.id)
        s.undo(reviewer="A")
        with pytest.raises(InputError, match="no decision to undo"):
            s.undo(reviewer="A")


def test_full_text_rules(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        with pytest.raises(InputError, match="not a full-text report"):
            s.decide(1, "full_text", "include", reviewer="A")
        s.decide(1, "ta", "include", reviewer="A")
        s.decide(2, "ta", "maybe", reviewer="A")
        assert s.candidates("full_text") == [1, 2]
        with pytest.raises(InputError, match="full-text exclusion needs a reason"):
            s.decide(1, "full_text", "exclude", reviewer="A")
        s.decide(1, "full_text", "exclude", reviewer="A", reason="outcome")
        with pytest.raises(InputError, match="only for an exclusion"):
            s.decide(2, "full_text", "include", reviewer="A", reason="outcome")
        s.mark_retrieval(2, False, note="no library access")
        assert s.candidates("full_text") == [1]


def test_dual_screening_conflict_resolution_and_agreement(tmp_path: Path) -> None:
    folder = small_project(tmp_path, n=6)
    with open_screening(folder) as s:
        a = ["include", "include", "exclude", "exclude", "exclude", "maybe"]
        b = ["include", "exclude", "exclude", "exclude", "include", "maybe"]
        for rid, (x, y) in enumerate(zip(a, b, strict=True), start=1):
            s.decide(rid, "ta", x, reviewer="Alice")
            s.decide(rid, "ta", y, reviewer="Bob")
        assert [rid for rid, _ in s.conflicts("ta")] == [2, 5]
        assert s.final_decisions("ta")[2].status == "conflict"
        # Agreement: 4/6 agree. A: inc 2, exc 3, maybe 1; B: inc 2, exc 3, maybe 1.
        # p_e = (2*2 + 3*3 + 1*1)/36 = 14/36; kappa = (4/6 - 14/36)/(1 - 14/36) = 10/22 = 0.4545
        res = s.agreement("ta")
        assert res.n == 6 and res.percent == pytest.approx(400 / 6)
        assert res.kappa == pytest.approx(10 / 22)
        assert s.agreement("ta", ["bob", "ALICE"]).kappa == pytest.approx(10 / 22)
        with pytest.raises(InputError, match="no conflict"):
            s.resolve(1, "ta", "include", reviewer="Carol")
        r = s.resolve(2, "ta", "exclude", reviewer="Carol", note="agreed at meeting")
        assert r.basis == "resolution"
        assert s.final_decisions("ta")[2].decision == "exclude"
        assert [rid for rid, _ in s.conflicts("ta")] == [5]
        # agreement is computed on the reviewers' own decisions, not the resolution
        assert s.agreement("ta").kappa == pytest.approx(10 / 22)


def test_dual_protocol_waits_for_two_reviewers(tmp_path: Path) -> None:
    text = PROTOCOL_YAML.replace("screening:\n", "screening:\n  dual: true\n")
    folder = small_project(tmp_path, n=2, protocol_text=text)
    with open_screening(folder) as s:
        s.decide(1, "ta", "include", reviewer="A")
        assert s.final_decisions("ta")[1].status == "awaiting"
        s.decide(1, "ta", "include", reviewer="B")
        assert s.final_decisions("ta")[1].status == "final"


def _snapshot(folder: Path) -> tuple[int, int, int]:
    # The first open records the protocol's first version; take snapshots after that.
    open_screening(folder).close()
    return (
        count_rows(folder, "screening_decisions"),
        count_rows(folder, "reviewers"),
        count_rows(folder, "audit_log"),
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.decide(99, "ta", "include", reviewer="A"), "unknown record 99"),
        (lambda s: s.decide("pmid:999", "ta", "include", reviewer="A"), "unknown record"),
        (lambda s: s.decide(1, "ta", "exclude", reviewer="A", reason="language"),
         "'language' is not an eligibility code"),
        (lambda s: s.decide(1, "ta", "yes please", reviewer="A"), "unknown decision"),
        (lambda s: s.decide(1, "stage 3", "include", reviewer="A"), "unknown stage"),
        (lambda s: s.decide(1, "ta", "include", reviewer="alice  smith"), "clashes with"),
        (lambda s: s.decide(1, "ta", "include", reviewer="  "), "reviewer name is required"),
        (lambda s: s.agreement("ta", ["Alice Smith", "alice smith"]), "same name"),
    ],
)  # fmt: skip
def test_bad_input_writes_nothing(tmp_path: Path, call: object, message: str) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        s.decide(2, "ta", "include", reviewer="Alice Smith")
    before = _snapshot(folder)
    with open_screening(folder) as s, pytest.raises(InputError, match=message):
        call(s)  # type: ignore[operator]
    assert _snapshot(folder) == before


def test_duplicate_record_is_refused(tmp_path: Path) -> None:
    folder = small_project(tmp_path, n=3)
    with Project.open(folder, actor="setup") as project:
        # the same article from Embase (same PMID) linked to the PubMed record
        project.add_records([pubmed(1)], source="Embase", actor="setup")
        project.link_records([1, 4], reason="dedupe: pmid")
    with open_screening(folder) as s:
        assert s.reports.duplicates() == [4]
        with pytest.raises(InputError, match="record 4 is a duplicate of record 1"):
            s.decide(4, "ta", "include", reviewer="A")
        assert s.candidates("ta") == [1, 2, 3]


def test_bulk_import_is_all_or_nothing(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    rows = [
        DecisionInput("1", "title_abstract", "include", "Alice"),
        DecisionInput("2", "title_abstract", "exclude", "Alice", reason="design"),
        DecisionInput("3", "title_abstract", "exclude", "Alice", reason="not-a-code"),
    ]
    before = _snapshot(folder)
    with open_screening(folder) as s, pytest.raises(InputError) as info:
        s.decide_many(rows, file="decisions.csv")
    assert str(info.value).startswith("decisions.csv, row 3, column 'reason': ")
    assert _snapshot(folder) == before
    with open_screening(folder) as s:
        result = s.decide_many(rows[:2], file="decisions.csv")
        assert (result.n_rows, result.n_added, result.n_unchanged) == (2, 2, 0)
        # importing the same rows again changes nothing
        again = s.decide_many(rows[:2], file="decisions.csv")
        assert (again.n_added, again.n_unchanged) == (0, 2)
        # full text after title/abstract in the same batch is fine
        s.decide_many(
            [
                DecisionInput("4", "ta", "include", "Bob"),
                DecisionInput("4", "ft", "exclude", "Bob", reason="outcome"),
            ]
        )
        assert s.final_decisions("full_text")[4].reason == "outcome"


def test_two_reviewers_with_the_same_name_in_one_file(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    before = _snapshot(folder)
    rows = [
        DecisionInput("1", "ta", "include", "Alice"),
        DecisionInput("2", "ta", "include", "ALICE"),
    ]
    with open_screening(folder) as s, pytest.raises(InputError, match=r"row 2.*clashes"):
        s.decide_many(rows, file="f.csv")
    assert _snapshot(folder) == before


def test_publication_type_rule_off_by_default(tmp_path: Path) -> None:
    folder = small_project(tmp_path, n=1)
    with Project.open(folder, actor="setup") as project:
        project.add_records(
            [pubmed(7, publication_types=["Case Reports"])], source="PubMed", actor="setup"
        )
    with open_screening(folder) as s:
        assert s.apply_publication_type_rule() == []
        assert s.decisions() == []


def test_publication_type_rule_when_on_is_logged_as_rule(tmp_path: Path) -> None:
    text = PROTOCOL_YAML.replace(
        "screening:\n", "screening:\n  exclude_by_publication_type: true\n"
    )
    folder = small_project(tmp_path, n=1, protocol_text=text)
    with Project.open(folder, actor="setup") as project:
        project.add_records(
            [
                pubmed(7, publication_types=["Case Reports"]),
                pubmed(8, publication_types=["Editorial"]),  # no reason mapped: not excluded
                pubmed(9, title="Imatinib: a case report"),  # title only: never excluded by rule
            ],
            source="PubMed",
            actor="setup",
        )
    with open_screening(folder) as s:
        written = s.apply_publication_type_rule()
        assert [(d.record_id, d.basis, d.reason, d.reviewer) for d in written] == [
            (2, "rule", "design", None)
        ]
        assert "publication-type rule: case report" in (written[0].note or "")
        assert s.final_decisions("ta")[2].basis == "rule"
        assert [e.action for e in s.project.audit(action="screen-rule")] == ["screen-rule"]
        # a reviewer can overrule the rule
        s.decide(2, "ta", "include", reviewer="A")
        assert s.final_decisions("ta")[2].decision == "include"
        assert s.apply_publication_type_rule() == []  # idempotent


def test_export_rows_round_trip(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        s.decide(1, "ta", "exclude", reviewer="A", reason="population", note="children")
        rows = list(s.export_rows())
        assert rows[0] | {"decided_at": "t"} == {
            "decision_id": 1, "record_id": 1, "stage": "title_abstract", "decision": "exclude",
            "reason": "population", "reviewer": "A", "note": "children", "basis": "reviewer",
            "decided_at": "t", "undone_at": "",
        }  # fmt: skip


def test_screening_without_protocol(tmp_path: Path) -> None:
    Project.init(tmp_path / "p", actor="setup").close()
    with Project.open(tmp_path / "p", actor="setup") as project:
        project.add_records([pubmed(1)], source="PubMed", actor="setup")
    with Screening.open(tmp_path / "p", actor="t") as s:
        assert s.protocol is None
        s.decide(1, "ta", "exclude", reviewer="A")  # no reason: fine at title/abstract
        with pytest.raises(InputError, match="no protocol"):
            s.decide(1, "ta", "exclude", reviewer="A", reason="design")


def test_nct_reference_means_the_registration_when_articles_cite_it(tmp_path: Path) -> None:
    # An article naming NCT00555581 in its databank list and the registry record itself: the
    # reference "nct:NCT00555581" resolves to the registry record, not "ambiguous".
    folder = small_project(tmp_path, n=0)
    with Project.open(folder, actor="setup") as project:
        project.add_records([pubmed(1, nct_ids=["NCT00555581"])], source="PubMed", actor="setup")
        registry = Record(source="ClinicalTrials.gov", source_id="NCT00555581", kind="registry",
                          title="Imatinib mesylate in systemic sclerosis", nct_ids=["NCT00555581"])
        project.add_records([registry], source="ClinicalTrials.gov", actor="setup")
    with open_screening(folder) as s:
        assert s.resolve_record("nct:NCT00555581") == 2
        assert s.resolve_record("pmid:101") == 1


def test_removing_a_record_twice_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    folder = small_project(tmp_path, n=3)
    with open_screening(folder) as s:
        s.remove(2, "retracted")
    before = count_rows(folder, "screening_decisions")
    with open_screening(folder) as s, pytest.raises(InputError, match="already removed"):
        s.remove([3, 2], "retracted")
    assert count_rows(folder, "screening_decisions") == before
