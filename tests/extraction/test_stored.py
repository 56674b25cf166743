"""``extraction.stored``: one batch per transaction, supersede on re-import, and which value an
analysis uses (consensus > agreeing reviewers > registry; a conflict when reviewers disagree,
Cochrane Handbook v6.4, section 5.5.2). The project is the e2e fixture built through the CLI
(``e2e_project`` in ``tests/conftest.py``): study 1 and study 2, records 1-10."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metareview.errors import InputError
from metareview.extraction.provenance import SourceSpec
from metareview.extraction.stored import (
    conflicts,
    current_values,
    effective_values,
    extraction_sources,
    not_reported,
    record_values,
    study_details,
)
from metareview.extraction.values import ExtractedValue, ValueKey
from metareview.review.store import ensure_studies
from metareview.store import Project


@pytest.fixture
def project(e2e_project: Path) -> Iterator[Project]:
    with Project.open(e2e_project, actor="tester") as p:
        assert [s.study_id for s in ensure_studies(p)] == [1, 2]
        yield p


def key(field: str = "events", *, study: int = 1, group: str = "intervention") -> ValueKey:
    return ValueKey(study, "sae", group, "Drug A", "12 weeks", "main", field)


def value(x: float, field: str = "events", **kw: object) -> ExtractedValue:
    study = kw.pop("study", 1)
    args: dict[str, object] = {"source_record": 1, "location": "Table 2", **kw}
    return ExtractedValue(key=key(field, study=study), value=x, status="reported", **args)  # type: ignore[arg-type]


def counts(p: Project) -> tuple[int, ...]:
    return tuple(
        int(p.connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
        for t in ("extraction_values", "extraction_batches", "extraction_sources",
                  "extraction_not_reported", "study_details")
    )  # fmt: skip


def test_record_and_read_back(project: Project) -> None:
    batch = record_values(project, [value(4), value(60, "n")], reviewer="  Ann   Lee ")
    got = current_values(project)
    assert [(v.key.field, v.value) for v in got] == [("events", 4.0), ("n", 60.0)]
    assert {v.reviewer for v in got} == {"Ann Lee"}  # whitespace normalised
    assert {v.basis for v in got} == {"reviewer"}
    assert got[0].source_record == 1 and got[0].location == "Table 2"
    assert got[0].extracted_at
    n_batch = project.connection.execute(
        "SELECT n_values, reviewer FROM extraction_batches WHERE id = ?", (batch,)
    ).fetchone()
    assert tuple(n_batch) == (2, "Ann Lee")
    assert current_values(project, study_id=2) == []


def test_every_insert_is_audited(project: Project) -> None:
    record_values(project, [value(4), value(60, "n")], reviewer="ann")
    actions = [
        r[0]
        for r in project.connection.execute(
            "SELECT action FROM audit_log WHERE table_name = 'extraction_values'"
        )
    ]
    assert actions == ["extraction-value", "extraction-value"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (value(5, study=99), "study_id"),
        (value(5, source_record=999), "source_record"),
        (value(5, source_record=None, source_ref="nowhere"), "source_ref"),
    ],
)
def test_a_failing_batch_stores_nothing(project: Project, bad: ExtractedValue, field: str) -> None:
    """The bad value comes last: the values before it, the batch row and the new source are
    rolled back with it."""
    record_values(project, [value(1)], reviewer="ann")
    before = counts(project)
    spec = SourceSpec(key="csr", citation="Clinical study report")
    with pytest.raises(InputError) as err:
        record_values(project, [value(4), value(60, "n"), bad], reviewer="bob", sources=[spec])
    assert err.value.field == field
    assert counts(project) == before
    assert [v.value for v in current_values(project)] == [1.0]


def test_not_reported_for_an_unknown_study_stores_nothing(project: Project) -> None:
    before = counts(project)
    with pytest.raises(InputError):
        record_values(project, [value(4)], reviewer="ann", not_reported={(99, "sae"): "none"})
    assert counts(project) == before


def test_reviewer_and_basis_are_checked(project: Project) -> None:
    before = counts(project)
    with pytest.raises(InputError, match="reviewer"):
        record_values(project, [value(4)], reviewer="  ")
    with pytest.raises(InputError, match="basis"):
        record_values(project, [value(4)], reviewer="ann", basis="guess")
    assert counts(project) == before


def test_source_ref_given_in_the_batch(project: Project) -> None:
    spec = SourceSpec(key="csr", citation="Clinical study report", url="https://example.org")
    record_values(project, [value(4, source_record=None, source_ref="csr")], reviewer="ann",
                  sources=[spec])  # fmt: skip
    # a later batch may name the stored source without giving it again; it is not added twice
    record_values(project, [value(5, source_record=None, source_ref="csr")], reviewer="bob",
                  sources=[spec])  # fmt: skip
    assert extraction_sources(project) == [spec]


def test_reimport_by_the_same_reviewer_supersedes(project: Project) -> None:
    record_values(project, [value(4), value(60, "n")], reviewer="ann")
    record_values(project, [value(5)], reviewer="ann")
    got = {v.key.field: v.value for v in current_values(project)}
    assert got == {"events": 5.0, "n": 60.0}  # n not re-imported: still current
    rows = project.connection.execute(
        "SELECT value, superseded_at IS NOT NULL FROM extraction_values WHERE field = 'events' "
        "ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(4.0, 1), (5.0, 0)]  # never rewritten, kept
    supersede = project.connection.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'extraction-supersede'"
    ).fetchone()[0]
    assert supersede == 1


def test_other_reviewer_and_other_basis_do_not_supersede(project: Project) -> None:
    record_values(project, [value(4)], reviewer="ann")
    record_values(project, [value(4)], reviewer="bob")
    record_values(project, [value(4)], reviewer="ann", basis="consensus")
    assert sorted((v.reviewer, v.basis) for v in current_values(project)) == [
        ("ann", "consensus"), ("ann", "reviewer"), ("bob", "reviewer"),
    ]  # fmt: skip


def test_one_reviewer_is_used(project: Project) -> None:
    record_values(project, [value(4)], reviewer="ann")
    eff = effective_values(project)
    assert [(v.reviewer, v.value) for v in eff.values] == [("ann", 4.0)]
    assert eff.conflicts == () and eff.unconfirmed == ()


def test_agreeing_reviewers_give_one_value(project: Project) -> None:
    """Agreement is on the number to a relative 1e-9 (4 and 4 + 1e-12 agree)."""
    record_values(project, [value(4)], reviewer="ann")
    record_values(project, [value(4 + 1e-12)], reviewer="bob")
    eff = effective_values(project)
    assert len(eff.values) == 1 and eff.values[0].reviewer == "ann"
    assert eff.conflicts == ()


def test_disagreeing_reviewers_are_a_conflict_until_consensus(project: Project) -> None:
    record_values(project, [value(4), value(60, "n")], reviewer="ann")
    record_values(project, [value(3), value(60, "n")], reviewer="bob")
    eff = effective_values(project)
    assert [v.key.field for v in eff.values] == ["n"]  # the disputed key is left out
    assert len(eff.conflicts) == 1
    found = eff.conflicts[0]
    assert found.key == key("events")
    assert sorted((v.reviewer, v.value) for v in found.values) == [("ann", 4.0), ("bob", 3.0)]
    assert conflicts(project) == list(eff.conflicts)

    record_values(project, [value(4)], reviewer="ann", basis="consensus")
    eff = effective_values(project)
    assert eff.conflicts == ()
    events = [v for v in eff.values if v.key.field == "events"]
    assert [(v.basis, v.value) for v in events] == [("consensus", 4.0)]


def test_consensus_wins_even_when_reviewers_agree(project: Project) -> None:
    record_values(project, [value(4)], reviewer="ann")
    record_values(project, [value(4)], reviewer="bob")
    record_values(project, [value(6)], reviewer="carol", basis="consensus")
    assert [v.value for v in effective_values(project).values] == [6.0]


def test_text_values_conflict_on_their_text(project: Project) -> None:
    def dose(text: str) -> ExtractedValue:
        return ExtractedValue(key=key("dose"), value=None, text=text, status="reported",
                              source_record=1, location="Methods")  # fmt: skip

    record_values(project, [dose("50 mg daily")], reviewer="ann")
    record_values(project, [dose(" 50 mg daily ")], reviewer="bob")
    assert conflicts(project) == []
    record_values(project, [dose("100 mg daily")], reviewer="bob")
    assert len(conflicts(project)) == 1


def test_registry_value_only_until_a_reviewer_gives_one(project: Project) -> None:
    record_values(project, [value(4), value(60, "n")], reviewer="registry", basis="registry")
    eff = effective_values(project)
    assert sorted(v.key.field for v in eff.unconfirmed) == ["events", "n"]
    assert {v.basis for v in eff.values} == {"registry"}

    record_values(project, [value(5)], reviewer="ann")  # differs from the registry: no conflict
    eff = effective_values(project)
    assert eff.conflicts == ()
    assert {(v.key.field, v.basis, v.value) for v in eff.values} == {
        ("events", "reviewer", 5.0), ("n", "registry", 60.0),
    }  # fmt: skip
    assert [v.key.field for v in eff.unconfirmed] == ["n"]


def test_not_reported_and_details_are_superseded(project: Project) -> None:
    record_values(project, [], reviewer="ann", not_reported={(2, "sae"): "not reported"},
                  details={1: {"design": "parallel RCT"}})  # fmt: skip
    record_values(project, [], reviewer="ann", not_reported={(2, "sae"): "only as a figure"},
                  details={1: {"design": "parallel RCT, 2 arms"}})  # fmt: skip
    assert not_reported(project) == {(2, "sae"): "only as a figure"}
    assert study_details(project) == {1: {"design": "parallel RCT, 2 arms"}}


def test_superseding_reasons_and_details_is_audited(project: Project) -> None:
    """Like a superseded value, a superseded reason or study detail leaves an audit entry."""
    record_values(project, [], reviewer="ann", not_reported={(2, "sae"): "not reported"},
                  details={1: {"design": "parallel RCT"}})  # fmt: skip
    record_values(project, [], reviewer="ann", not_reported={(2, "sae"): "only as a figure"},
                  details={1: {"design": "parallel RCT, 2 arms"}})  # fmt: skip
    audited = {
        (str(t), int(r))
        for t, r in project.connection.execute(
            "SELECT table_name, row_id FROM audit_log WHERE before_json IS NOT NULL"
        )
    }
    for table in ("extraction_not_reported", "study_details"):
        (old,) = project.connection.execute(
            f"SELECT id FROM {table} WHERE superseded_at IS NOT NULL"
        ).fetchone()
        assert (table, int(old)) in audited
