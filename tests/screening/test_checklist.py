"""The PRISMA 2020 checklist: all 27 items with their sub-items, and where each is answered."""

from __future__ import annotations

from pathlib import Path

from screening_builders import PROTOCOL_YAML, open_screening, small_project

from metareview.screening.checklist import ITEMS, prisma_checklist


def test_items_are_the_prisma_2020_items() -> None:
    # Page et al. BMJ 2021;372:n71, table 1: items 1-27; 10, 13, 16, 20, 23, 24 have sub-items.
    ids = [i.id for i in ITEMS]
    assert len(ids) == 42 and len(set(ids)) == 42
    assert {int("".join(ch for ch in i if ch.isdigit())) for i in ids} == set(range(1, 28))
    assert [i for i in ids if i.startswith("13")] == ["13a", "13b", "13c", "13d", "13e", "13f"]
    assert [i for i in ids if i.startswith("20")] == ["20a", "20b", "20c", "20d"]
    assert [i for i in ids if i.startswith("24")] == ["24a", "24b", "24c"]
    assert ITEMS[0].section == "Title" and ITEMS[-1].topic.startswith("Availability")


def test_answers_from_the_project(tmp_path: Path) -> None:
    folder = small_project(tmp_path)
    with open_screening(folder) as s:
        before = {e.item.id: e for e in prisma_checklist(s)}
        assert before["8"].status == "missing"
        s.decide(1, "ta", "include", reviewer="A")
        s.decide(1, "ta", "include", reviewer="B")
        s.decide(1, "ft", "exclude", reviewer="A", reason="outcome")
        entries = {e.item.id: e for e in prisma_checklist(s)}
    assert len(entries) == 42
    assert entries["1"].status == "answered"  # the title says "systematic review"
    assert entries["5"].where == "protocol: eligibility (4 criteria)"
    assert entries["6"].status == "answered" and "4 sources" in entries["6"].where
    assert entries["8"].status == "answered" and "title_abstract: dual" in entries["8"].where
    assert entries["12"].where == "protocol: outcomes[].measure (mRSS: MD, HAQ-DI: MD)"
    assert entries["13f"].where == "protocol: model.sensitivity (2)"
    assert entries["16b"].status == "answered"
    assert entries["24a"].where == "protocol: registration (CRD42020000000)"
    assert entries["25"].status == "missing"  # no funding statement in this protocol
    assert entries["23a"].status == "missing"  # narrative


def test_planned_subgroups_answer_item_13e(tmp_path: Path) -> None:
    with open_screening(small_project(tmp_path / "none")) as s:
        plain = {e.item.id: e for e in prisma_checklist(s)}
    assert plain["13e"].status == "missing"
    text = PROTOCOL_YAML.replace(
        "  sensitivity:\n",
        "  rob_subgroup: true\n  subgroups:\n    - {name: dose, by: dose}\n  sensitivity:\n",
    )
    with open_screening(small_project(tmp_path / "planned", protocol_text=text)) as s:
        planned = {e.item.id: e for e in prisma_checklist(s)}
    assert planned["13e"].status == "answered"
    assert planned["13e"].where.startswith("protocol: model.subgroups (dose, risk of bias)")
