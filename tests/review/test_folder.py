"""The review as a metareview project: store built from the files, PRISMA 2020 counts by hand.

The expected counts below were tallied by hand from the bundled ``records.jsonl`` and
``screening.csv`` (and the protocol's ``searches``), not taken from the code under test:

records.jsonl, 18 records, by ``source``:
  pubmed 7  url:ard.bmj.com/content/70/6/1003, pmid:21769849, pmid:21769850, pmid:23039171,
            doi:10.1186/ar4606, pmid:25152211, pmid:19180499            -> databases
  ctgov 4   nct:NCT00555581, nct:NCT00512902, nct:NCT01545427, nct:NCT00613171 -> registers
  seed 5    the five seed documents (protocol search "seed", kind other)  -> other methods
  other 2   the two discovery.researcher.life case series                -> other methods
No two records are the same report (distinct PMIDs/DOIs/titles/NCT ids): 0 duplicates.

screening.csv, databases and registers (11 records, all screened at title/abstract):
  title/abstract exclusion 1: pmid:19180499 (design, case report of two patients)
  -> 10 reports sought, none marked not retrieved, 10 assessed;
  full-text exclusions 2: pmid:25152211 (duration), nct:NCT00613171 (publication)
  -> 8 reports included.
Other methods (7 records, screened at full text only, as PRISMA 2020 draws them):
  exclusions 6: design 5 (seed 000, 002, 004 and the two case series), publication 1 (seed 001)
  -> 1 report included (seed 003, the Prey 2012 registry page).
Included: 8 + 1 = 9 reports of 5 studies (spiera2011, khanna2011, pope2011, prey2012,
fraticelli2014).
Decisions stored: 18 rows + one title/abstract inclusion for each of the 10 database/register
rows decided at full text = 28.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections import Counter
from pathlib import Path

import pytest

from metareview.errors import InputError
from metareview.review.folder import (
    PROJECT_DIRNAME,
    bundled_example,
    import_folder,
    load_folder,
    run_folder,
)
from metareview.review.result import StudySelection
from metareview.review.store import study_selection
from metareview.store import Project


def build_project(review: Path, dest: Path) -> StudySelection:
    """The review folder imported into a store at ``dest``, and that store's study selection."""
    import_folder(review, dest)
    with Project.open(dest) as project:
        return study_selection(project, write_files=True)


def run_selection(review: Path, out: Path) -> StudySelection | None:
    return run_folder(review, out).selection


HAND = {
    "databases": {"pubmed": 7},
    "registers": {"ctgov": 4},
    "other_sources": {"seed": 5, "other": 2},
    "duplicates": 0,
    "other_duplicates": 0,
    "automation": 0,
    "removed_other": 0,
    "screened": 11,
    "screen_excluded": 1,
    "sought": 10,
    "not_retrieved": 0,
    "assessed": 10,
    "excluded_reasons": {"duration": 1, "publication": 1},
    "other_sought": 7,
    "other_not_retrieved": 0,
    "other_assessed": 7,
    "other_excluded_reasons": {"design": 5, "publication": 1},
    "studies_included": 5,
    "reports_included": 9,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StudySelection:
    return build_project(bundled_example(), tmp_path_factory.mktemp("pipeline") / "project")


@pytest.fixture
def review_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "review"
    shutil.copytree(bundled_example(), folder)
    return folder


def _counts(selection: StudySelection) -> dict[str, object]:
    data = selection.counts.to_dict()
    return {k: data[k] for k in HAND}


def test_prisma_counts_match_the_hand_tally(built: StudySelection) -> None:
    assert _counts(built) == HAND
    assert built.counts.pending == {"title_abstract": 0, "full_text": 0, "other_full_text": 0}
    data = built.counts.to_dict()
    assert data["identified"] == {"databases": 7, "registers": 4, "other": 7}
    assert data["excluded_full_text"] == 2 and data["other_excluded_full_text"] == 6


def test_hand_tally_agrees_with_the_files() -> None:
    """Re-derive the source totals and decision tallies straight from the two files, so the
    hand numbers above cannot silently drift from the bundled data."""
    folder = bundled_example()
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert Counter(r["source"] for r in records) == {"pubmed": 7, "ctgov": 4, "seed": 5, "other": 2}
    with (folder / "screening.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 18
    tally = Counter((r["stage"], r["decision"], r["reason_code"]) for r in rows)
    assert tally == {
        ("title_abstract", "exclude", "design"): 1,
        ("full_text", "exclude", "design"): 5,
        ("full_text", "exclude", "publication"): 2,
        ("full_text", "exclude", "duration"): 1,
        ("full_text", "include", ""): 9,
    }


def test_store_holds_the_review(built: StudySelection) -> None:
    assert built.project_dir is not None
    with Project.open(built.project_dir) as project:
        assert project.count_records() == 18
        imports = project.imports()
        assert [(i.source, i.n_records) for i in imports] == [
            ("seed", 5),
            ("pubmed", 7),
            ("ctgov", 4),
            ("other", 2),
        ]
        assert imports[0].query is not None and imports[0].query.startswith("none")
        studies = project.studies()
        assert sorted(len(members) for members in studies.values()) == [1, 2, 2, 2, 2]
        assert project.integrity_check() == "ok"
        assert project.protocol_path is not None and project.protocol_path.name == "protocol.yaml"
    assert built.n_records == 18
    assert built.n_decisions == 28
    assert built.reviewers == ("metareview bundled example",)
    assert built.amendments == ()  # one protocol version, seen before screening


def test_prisma_files_written(built: StudySelection) -> None:
    assert set(built.files) == {"svg", "png", "json"}
    assert built.project_dir is not None
    for path in built.files.values():
        assert path.is_file() and path.parent == built.project_dir
    counts = json.loads(built.files["json"].read_text(encoding="utf-8"))
    assert {k: counts[k] for k in HAND} == HAND
    svg = built.files["svg"].read_text(encoding="utf-8")
    assert "Records screened (n\u00a0=\u00a011)" in svg
    assert "Studies included in review (n\u00a0=\u00a05)" in svg


def test_checklist_summary(built: StudySelection) -> None:
    summary = built.checklist_summary()
    assert sum(summary.values()) == len(built.checklist) == 42
    by_id = {e.item.id: e for e in built.checklist}
    assert by_id["16a"].status == "answered"
    assert by_id["24c"].status == "answered" and "none recorded" in by_id["24c"].where
    # The study data live in the store's extraction tables (imported from studies.yaml).
    assert by_id["17"].status == "answered"
    assert by_id["9"].status == "answered" and "extraction" in by_id["9"].where
    # The bundled rob.csv holds RoB 2 assessments of the two randomised trials.
    assert by_id["18"].status == "answered" and "risk of bias" in by_id["18"].where
    assert by_id["11"].status == "answered"
    # Every analysis rates GRADE per outcome and assesses small-study effects (PRISMA 14, 15,
    # 21, 22), so the report's checklist answers them.
    for item in ("14", "15", "21", "22"):
        assert by_id[item].status == "answered", item
    assert "GRADE" in by_id["15"].where and "summary of findings" in by_id["22"].where
    # Heterogeneity is reported per outcome, but the protocol plans no subgroup analysis.
    assert by_id["20c"].status == "partial" and "no investigation" in by_id["20c"].where


def test_stage_column_is_optional(review_copy: Path, tmp_path: Path) -> None:
    """Without ``stage`` an inclusion is a full-text decision and an exclusion is taken at the
    earliest stage its criterion allows: for the bundled file that gives the same flow."""
    path = review_copy / "screening.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        names = [n for n in rows[0] if n != "stage"]
        writer = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    selection = build_project(review_copy, tmp_path / "out" / "project")
    assert _counts(selection) == HAND


def _break_row_one(review: Path) -> None:
    """Give seed 000 (other methods) a title/abstract stage, which PRISMA 2020 does not allow
    (the file loader accepts it; the screening layer refuses it)."""
    path = review / "screening.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("seed:000") and lines[1].endswith(",full_text")
    lines[1] = lines[1][: -len("full_text")] + "title_abstract"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_failing_build_leaves_nothing(review_copy: Path, tmp_path: Path) -> None:
    _break_row_one(review_copy)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="other methods") as info:
        run_folder(review_copy, out)
    assert info.value.file is not None and info.value.file.endswith("screening.csv")
    assert (info.value.row, info.value.field) == (1, "stage")
    assert not (out / PROJECT_DIRNAME).exists()
    assert list(out.iterdir()) == []  # no temporary folder left behind


def test_failing_rebuild_keeps_the_previous_project(review_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_selection(review_copy, out)
    assert first is not None and first.project_dir == out / PROJECT_DIRNAME
    _break_row_one(review_copy)
    with pytest.raises(InputError):
        run_selection(review_copy, out)
    assert sorted(p.name for p in out.iterdir()) == [PROJECT_DIRNAME]
    with Project.open(out / PROJECT_DIRNAME) as project:
        assert project.count_records() == 18


def test_rebuild_is_fresh(review_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_selection(review_copy, out)
    again = run_selection(review_copy, out)
    assert again is not None and _counts(again) == HAND
    with Project.open(out / PROJECT_DIRNAME) as project:
        assert project.count_records() == 18  # replaced, not added to
    assert sorted(p.name for p in out.iterdir()) == [PROJECT_DIRNAME]


def test_does_not_replace_a_foreign_folder(tmp_path: Path) -> None:
    dest = tmp_path / "out" / PROJECT_DIRNAME
    dest.mkdir(parents=True)
    (dest / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not a metareview project"):
        build_project(bundled_example(), dest)
    assert (dest / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in dest.parent.iterdir()) == [PROJECT_DIRNAME]


def test_ambiguous_record_in_decisions_is_located(review_copy: Path, tmp_path: Path) -> None:
    """The same source id from two sources: the decision cannot say which record it is on."""
    path = review_copy / "records.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    twin = json.loads(next(line for line in lines if '"pmid:19180499"' in line))
    twin["source"] = "europepmc"
    path.write_text("\n".join([*lines, json.dumps(twin)]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="2 records") as info:
        build_project(review_copy, tmp_path / "project")
    assert info.value.row == 16 and info.value.field == "source_id"
    assert not (tmp_path / "project").exists()


def test_no_records_no_selection(review_copy: Path, tmp_path: Path) -> None:
    (review_copy / "records.jsonl").unlink()
    (review_copy / "screening.csv").unlink()
    result = run_folder(review_copy, tmp_path / "out")
    assert result.selection is None
    # rob.csv still goes in (its quotes kept, its source records unresolved without records)
    assert set(result.to_json()) == {"analyses", "risk_of_bias", "grade"}
    # the study data still go through the store: five studies, the same pooled mRSS
    assert (tmp_path / "out" / PROJECT_DIRNAME / "project.sqlite").is_file()
    assert len(result.studies) == 5 and result.analysis("mRSS").k == 3


def test_json_run_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_folder(bundled_example())
    assert result.selection is not None and result.selection.project_dir is None
    doc = result.to_json()
    # risk_of_bias: the bundled RoB 2 assessments (rob.csv) of the two randomised trials
    assert set(doc) == {"analyses", "prisma", "risk_of_bias", "grade"}
    assert {k: doc["prisma"][k] for k in HAND} == HAND
    assert list(tmp_path.iterdir()) == []


def test_unknown_stage_is_located(review_copy: Path) -> None:
    path = review_copy / "screening.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].removesuffix("full_text") + "abstracts-and-more"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown stage") as info:
        load_folder(review_copy)
    assert (info.value.row, info.value.field) == (3, "stage")


def test_abandoned_builds_are_cleaned_up(review_copy: Path, tmp_path: Path) -> None:
    """A build killed mid-way leaves ``.project-<pid>-<hex>.tmp`` (and, killed during the swap,
    the previous project as ``.project-old-...``). The next build removes what dead processes
    left, puts back a set-aside project that nothing replaced, and leaves a live build alone."""
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    (out / f".project-{pid}-{'a' * 12}.tmp").mkdir()
    live = out / f".project-{os.getpid()}-{'b' * 12}.tmp"
    live.mkdir()
    run_selection(review_copy, out)
    assert not (out / f".project-{pid}-{'a' * 12}.tmp").exists()
    assert live.is_dir()
    # killed during the swap: the project set aside, nothing in its place -> put back
    (out / PROJECT_DIRNAME).rename(out / f".project-old-.project-{pid}-{'c' * 12}.tmp")
    from metareview.review.folder import _remove_abandoned

    _remove_abandoned(out, PROJECT_DIRNAME)
    with Project.open(out / PROJECT_DIRNAME) as project:
        assert project.count_records() == 18
    live.rmdir()


def test_a_two_arm_trial_in_the_study_data_file(review_copy: Path, tmp_path: Path) -> None:
    """studies.yaml holds two-arm data (layout 2x2) for a risk-ratio outcome, and the folder
    goes through the store: Pope 2011's 9 imatinib vs 1 placebo patients with 2 and 0 serious
    events (taken as an illustration of the layout, not as the review's analysis). By hand, with
    metafor's 1/2 added to each cell of a table with a zero (escalc's default to="only0"):
    yi = ln((2.5/10)/(0.5/2)) = 0, vi = 1/2.5 - 1/10 + 1/0.5 - 1/2 = 1.8."""
    protocol = review_copy / "protocol.yaml"
    text = protocol.read_text(encoding="utf-8")
    text = text.replace(
        "outcomes:\n  - name: mRSS",
        "outcomes:\n  - name: sae_rr\n    measure: RR\n    better: lower\n"
        "    description: serious adverse events, imatinib vs placebo\n  - name: mRSS",
    )
    protocol.write_text(text, encoding="utf-8")
    studies = review_copy / "studies.yaml"
    data = studies.read_text(encoding="utf-8")
    src = '{ref: pope2011, where: "Abstract, Results"}'
    row = (
        "      sae_rr:\n        - measure: 2x2\n          timepoint: 6 months\n          inputs:\n"
        f"            ai: {{value: 2, status: reported, source: {src}}}\n"
        f"            n1i: {{value: 9, status: reported, source: {src}}}\n"
        f"            ci: {{value: 0, status: reported, source: {src}}}\n"
        f"            n2i: {{value: 1, status: reported, source: {src}}}\n"
    )
    anchor = "  - id: pope2011"
    head, tail = data.split(anchor, 1)
    tail = tail.replace("    outcomes:\n", "    outcomes:\n" + row, 1)
    studies.write_text(head + anchor + tail, encoding="utf-8")
    result = run_folder(review_copy, tmp_path / "out")
    a = result.analysis("sae_rr")
    assert a.k == 1 and a.measure == "RR"
    (effect,) = a.studies
    assert (effect.yi, effect.vi) == pytest.approx((0.0, 1.8), abs=1e-12)
    assert [arm["events"] for arm in effect.arms] == [2, 0]
    assert a.transformed is not None and a.transformed["estimate"] == pytest.approx(1.0)


def test_a_single_group_rate_in_the_study_data_file(review_copy: Path, tmp_path: Path) -> None:
    """studies.yaml holds a single group's events over person-time (layout RATE) for an IRLN
    outcome, and the folder goes through the store (2 events over 54 person-months: an
    illustration of the layout, not the review's data). By hand (metafor's escalc formula):
    yi = ln(2/54), vi = 1/2; with k = 1 the pooled rate is the study's, 2/54."""
    protocol = review_copy / "protocol.yaml"
    text = protocol.read_text(encoding="utf-8")
    text = text.replace(
        "outcomes:\n  - name: mRSS",
        "outcomes:\n  - name: sae_rate\n    measure: IRLN\n    better: lower\n"
        "    description: serious adverse events per person-month\n  - name: mRSS",
    )
    protocol.write_text(text, encoding="utf-8")
    studies = review_copy / "studies.yaml"
    data = studies.read_text(encoding="utf-8")
    src = '{ref: pope2011, where: "Abstract, Results"}'
    row = (
        "      sae_rate:\n        - measure: RATE\n          timepoint: 6 months\n"
        "          inputs:\n"
        f"            xi: {{value: 2, status: reported, source: {src}}}\n"
        f"            ti: {{value: 54, status: reported, source: {src}}}\n"
    )
    anchor = "  - id: pope2011"
    head, tail = data.split(anchor, 1)
    tail = tail.replace("    outcomes:\n", "    outcomes:\n" + row, 1)
    studies.write_text(head + anchor + tail, encoding="utf-8")
    result = run_folder(review_copy, tmp_path / "out")
    a = result.analysis("sae_rate")
    assert a.k == 1 and a.measure == "IRLN"
    (effect,) = a.studies
    assert (effect.yi, effect.vi) == pytest.approx((math.log(2 / 54), 0.5), rel=1e-12)
    assert effect.arms[0]["events"] == 2 and effect.arms[0]["person_time"] == 54
    assert a.transformed is not None and a.transformed["estimate"] == pytest.approx(2 / 54)


def test_planned_subgroups_answer_items_13e_and_20c(review_copy: Path, tmp_path: Path) -> None:
    protocol = review_copy / "protocol.yaml"
    text = protocol.read_text(encoding="utf-8")
    plan = "  level: 95\n  subgroups:\n    - {name: dose, by: dose}\n"
    protocol.write_text(text.replace("  level: 95\n", plan, 1), encoding="utf-8")
    selection = build_project(review_copy, tmp_path / "project")
    by_id = {e.item.id: e for e in selection.checklist}
    assert by_id["13e"].status == "answered" and "dose" in by_id["13e"].where
    assert by_id["20c"].status == "answered" and "subgroup" in by_id["20c"].where
