"""Deduplication: the rules, the store (links, studies, undo, audit), the command, the benchmark.

Expected values are worked out by hand in each test from the rule definitions in
``metareview.screening.dedupe`` (no reference implementation exists to compare against).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from benchmark_modules import load_benchmark

from metareview.cli import main
from metareview.errors import StoreError
from metareview.screening import dedupe
from metareview.screening.dedupe import (
    DedupeSettings,
    Link,
    clusters,
    dedupe_project,
    find_links,
    first_author_surname,
    normalise_title,
    stored_links,
    undo_link,
)
from metareview.sources.ctgov import parse_ctgov_json
from metareview.sources.pubmed import parse_pubmed_xml
from metareview.sources.record import Record
from metareview.store import Project

CLIENT_DATA = Path(__file__).resolve().parents[1] / "data" / "clients"
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

SPIERA = (
    "Imatinib mesylate (Gleevec) in the treatment of diffuse cutaneous systemic sclerosis: "
    "results of a 1-year, phase IIa, single-arm, open-label clinical trial."
)


def rec(title: str, **kw: object) -> Record:
    kw.setdefault("source", "pubmed")
    return Record(title=title, **kw)  # type: ignore[arg-type]


def pairs(links: list[Link[int]]) -> set[tuple[int, int, str]]:
    return {(link.a, link.b, link.rule) for link in links}


# -- normalisation ---------------------------------------------------------------------------


def test_normalise_title_folds_case_accents_punctuation_spelling_and_stop_words() -> None:
    assert normalise_title("[Randomised Trial of Imatinib in Systemic Sclerosis].") == (
        "randomized trial imatinib systemic sclerosis"
    )
    assert normalise_title("Étude de l'imatinib: effets") == "etude de limatinib effets"
    assert normalise_title("Follow-up of X & Y") == "followup x y"


@pytest.mark.parametrize(
    ("name", "surname"),
    [
        ("Spiera, Robert F", "spiera"),
        ("Spiera RF", "spiera"),
        ("Spiera, R.F.", "spiera"),
        ("R. F. Spiera", "spiera"),
        ("Robert F Spiera", "spiera"),
        ("van der Vring JA", "vring"),
        ("J. A. van der Vring", "vring"),
        ("Yki-Järvinen, H", "ykijarvinen"),
        ("Dahlöf C", "dahlof"),
        ("", None),
        (None, None),
    ],
)
def test_first_author_surname_formats(name: str | None, surname: str | None) -> None:
    assert first_author_surname(name) == surname


# -- identifier rules -------------------------------------------------------------------------


def test_pmid_and_normalised_doi_link_copies() -> None:
    records = [
        rec(SPIERA, pmid="21398330", doi="10.1136/ard.2010.143974"),
        rec(SPIERA.upper(), source="europepmc", pmid="21398330"),
        rec("Imatinib in dcSSc", source="embase", doi="https://doi.org/10.1136/ARD.2010.143974"),
    ]
    links = find_links(records, rules=("pmid", "doi"))
    assert pairs(links) == {(0, 1, "pmid"), (0, 2, "doi")}
    assert all(link.score == 1.0 and link.relation == "duplicate" for link in links)
    assert links[1].detail == "DOI 10.1136/ard.2010.143974"


def test_shared_doi_with_unrelated_titles_is_not_used() -> None:
    # Conference abstracts in one supplement share the supplement's DOI.
    records = [
        rec("Imatinib in systemic sclerosis skin fibrosis", doi="10.1002/art.39999"),
        rec("Tocilizumab for giant cell arteritis relapse", doi="10.1002/art.39999"),
    ]
    assert find_links(records, rules=("doi",)) == []


def test_nct_id_links_publication_to_its_registry_record() -> None:
    articles = parse_pubmed_xml((CLIENT_DATA / "pubmed_efetch_1.xml").read_bytes())
    trials = parse_ctgov_json((CLIENT_DATA / "ctgov_page_1.json").read_bytes())
    records = [*articles, *trials]  # 0 Spiera, 1 Khanna, 2 NCT00555581, 3 NCT00512902
    links = find_links(records)
    # Spiera's NCT id is in the DataBankList, Khanna's only in the abstract.
    assert pairs(links) == {(0, 2, "nct"), (1, 3, "nct")}
    assert {link.relation for link in links} == {"same_study"}
    assert {link.detail for link in links} == {"NCT00555581", "NCT00512902"}


def test_nct_between_two_registry_records_is_a_duplicate() -> None:
    records = [
        rec("Imatinib in SSc", source="ctgov", kind="registry", nct_ids=["NCT00555581"]),
        rec(
            "Imatinib mesylate in scleroderma",
            source="text",
            kind="registry",
            nct_ids=["NCT00555581"],
        ),
        rec("Pooled analysis", abstract="Trials NCT00555581 and NCT00512902 were pooled."),
    ]
    links = find_links(records, rules=("nct",))
    # The pooled analysis names two trials, so the NCT rule leaves it alone.
    assert [(link.a, link.b, link.relation) for link in links] == [(0, 1, "duplicate")]


# -- title rule -------------------------------------------------------------------------------


def test_second_database_copies_are_linked_by_title() -> None:
    records = [
        rec(SPIERA, authors=["Spiera RF"], year=2011, pmid="21398330"),
        rec(
            "IMATINIB MESYLATE (GLEEVEC) IN THE TREATMENT OF DIFFUSE CUTANEOUS SYSTEMIC "
            "SCLEROSIS - RESULTS OF A 1-YEAR, PHASE IIA, SINGLE-ARM, OPEN-LABEL CLINICAL TRIAL",
            source="embase",
            authors=["Spiera, R.F."],
            year=2012,
        ),
        rec(
            SPIERA.replace("treatment", "traetment"),
            source="cinahl",
            authors=["R. F. Spiera"],
            year=2011,
        ),
    ]
    links = find_links(records)
    # 0-1 (similarity 1 after normalisation) first, then 0-2; 1-2 would join nothing new.
    assert pairs(links) == {(0, 1, "title"), (0, 2, "title")}
    assert clusters(range(3), links) == [[0, 1, 2]]
    typo = next(link for link in links if (link.a, link.b) == (0, 2))
    # Normalised, the title has 131 characters; swapping two adjacent letters costs one
    # deletion and one insertion (Indel distance 2), so the similarity is
    # 1 - 2 / (131 + 131) = 0.99237 (score = min(title 0.99237, author 1.0)).
    assert len(normalise_title(SPIERA)) == 131
    assert typo.score == pytest.approx(1 - 2 / 262, abs=1e-4)
    assert typo.detail.startswith("title 0.992; 2011/2011; first author spiera/spiera 1.00")


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (dict(authors=["Spiera RF"], year=2013), "years two apart"),
        (dict(authors=["Pope J"], year=2011), "another first author"),
        (dict(authors=["Spiera RF"], year=2011, pmid="99999999"), "another PMID"),
    ],
)
def test_title_rule_vetoes(other: dict[str, object], why: str) -> None:
    base = rec(SPIERA, authors=["Spiera RF"], year=2011, pmid="21398330")
    assert find_links([base, rec(SPIERA, source="embase", **other)]) == [], why


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "Risperidone versus haloperidol: I. Meta-analysis of efficacy and safety.",
            "Risperidone versus haloperidol: II. Meta-analysis of efficacy and safety.",
        ),
        (
            "The agitated brain injured patient. Part 1: Pathophysiology and treatment.",
            "The agitated brain injured patient. Part 2: Pathophysiology and treatment.",
        ),
        (
            "Imatinib in diffuse cutaneous systemic sclerosis: a randomized controlled trial.",
            "Imatinib in diffuse cutaneous systemic sclerosis: a randomized controlled trial "
            "protocol.",
        ),
        (
            "Imatinib in diffuse cutaneous systemic sclerosis: a randomized controlled trial.",
            "Erratum: Imatinib in diffuse cutaneous systemic sclerosis: a randomized controlled "
            "trial.",
        ),
        (
            "Olanzapine versus placebo: results of a 12-week double-blind trial.",
            "Olanzapine versus placebo: results of a 52-week double-blind trial.",
        ),
    ],
)
def test_different_reports_with_look_alike_titles_are_not_linked(first: str, second: str) -> None:
    records = [
        rec(first, authors=["Marder SR"], year=1998),
        rec(second, source="embase", authors=["Marder, S.R."], year=1998),
    ]
    assert find_links(records) == []


def test_without_authors_the_years_must_agree_exactly() -> None:
    title = "Effects of calcium antagonists on the risks of coronary heart disease and cancer."
    same_year = [rec(title, year=1997), rec(title, source="embase", year=1997)]
    next_year = [rec(title, year=1997), rec(title, source="embase", year=1998)]
    assert len(find_links(same_year)) == 1
    assert find_links(next_year) == []


def test_short_titles_need_author_and_year() -> None:
    assert (
        find_links([rec("Nateglinide.", year=2001), rec("Nateglinide", source="x", year=2001)])
        == []
    )
    assert (
        len(
            find_links(
                [
                    rec("Nateglinide.", authors=["Dunn CJ"], year=2001),
                    rec("NATEGLINIDE", source="x", authors=["Dunn, C.J."], year=2001),
                ]
            )
        )
        == 1
    )


def test_copy_without_identifiers_joins_one_report_only() -> None:
    title = "Cetirizine inhibits bradykinin-induced cutaneous wheal and flare in atopic subjects."
    records = [
        rec(title, authors=["Fadel R"], year=2000, pmid="10782524"),
        rec(title, authors=["Fadel R"], year=2000, pmid="11003455"),
        rec(title.upper(), source="embase", authors=["Fadel, R."], year=2000),
    ]
    links = find_links(records)
    groups = clusters(range(3), links)
    # The copy is as similar to both; it joins the first, and the two PMIDs stay apart.
    assert groups == [[0, 2]]


def test_blocked_pairs_are_not_linked() -> None:
    records = [rec(SPIERA, pmid="1"), rec(SPIERA, source="europepmc", pmid="1")]
    assert find_links(records, ["a", "b"], blocked=[("b", "a")]) == []


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dedupe rule"):
        find_links([], rules=("isbn",))


def test_clusters_are_connected_components() -> None:
    links = [Link(1, 2, "pmid", 1.0, "duplicate", ""), Link(2, 5, "title", 0.95, "duplicate", "")]
    assert clusters(range(7), links) == [[1, 2, 5]]


# -- the project store ------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    opened = Project.init(tmp_path / "review", actor="tester")
    articles = parse_pubmed_xml((CLIENT_DATA / "pubmed_efetch_1.xml").read_bytes())
    trials = parse_ctgov_json((CLIENT_DATA / "ctgov_page_1.json").read_bytes())
    copies = [
        rec(SPIERA.upper(), source="embase", authors=["Spiera, R.F."], year=2011),
        rec(
            SPIERA,
            source="europepmc",
            source_id="MED:21398330",
            pmid="21398330",
            authors=["Spiera RF"],
            year=2011,
        ),
    ]
    opened.add_records(articles, source="pubmed", actor="tester")  # ids 1 Spiera, 2 Khanna
    opened.add_records(trials, source="ctgov", actor="tester")  # 3 NCT00555581, 4 NCT00512902
    opened.add_records(copies[:1], source="embase", actor="tester")  # 5
    opened.add_records(copies[1:], source="europepmc", actor="tester")  # 6
    yield opened
    opened.close()


def test_dedupe_project_stores_links_and_studies(project: Project) -> None:
    result = dedupe_project(project, actor="tester")
    found = {(link.record_a, link.record_b, link.rule) for link in result.links}
    assert found == {(1, 6, "pmid"), (1, 3, "nct"), (2, 4, "nct"), (1, 5, "title")}
    assert result.by_rule() == {"pmid": 1, "doi": 0, "nct": 2, "title": 1}
    assert sorted(project.studies().values()) == [[1, 3, 5, 6], [2, 4]]
    reasons = {link.record_id: link.reason for link in project.study_links()}
    assert reasons[6].startswith("dedupe: pmid (link")
    assert len(project.audit(action="dedupe-link")) == 4
    # A second run finds nothing new.
    again = dedupe_project(project, actor="tester")
    assert again.links == []
    assert sorted(project.studies().values()) == [[1, 3, 5, 6], [2, 4]]


def test_records_placed_by_hand_are_not_moved(project: Project) -> None:
    first = project.link_records([1], reason="reviewer: index paper", actor="reviewer")
    second = project.link_records([5], reason="reviewer: separate report", actor="reviewer")
    result = dedupe_project(project, actor="tester")
    # 1 and 5 are linked (title), but a reviewer put them in different studies: left alone.
    assert result.unsettled == [[1, 3, 5, 6]]
    assert project.study_of(1) == first and project.study_of(5) == second
    assert project.study_of(6) is None
    assert sorted(project.studies().values()) == [[1], [2, 4], [5]]


def test_undo_splits_the_study_and_is_never_redone(project: Project) -> None:
    result = dedupe_project(project, actor="tester")
    title_link = next(link for link in result.links if link.rule == "title")
    outcome = undo_link(project, title_link.id, reason="different report", actor="reviewer")
    assert outcome.separated
    assert sorted(project.studies().values()) == [[1, 3, 6], [2, 4]]
    assert project.study_of(5) is None
    undone = [link for link in stored_links(project, include_undone=True) if not link.active]
    assert [(u.id, u.undone_by, u.undo_reason) for u in undone] == [
        (title_link.id, "reviewer", "different report")
    ]
    entry = project.audit(action="dedupe-undo")[-1]
    assert entry.before == {"undone_at": None, "undone_by": None, "undo_reason": None}
    assert dedupe_project(project, actor="tester").links == []
    with pytest.raises(StoreError, match="already undone"):
        undo_link(project, title_link.id)
    with pytest.raises(StoreError, match="no dedupe link"):
        undo_link(project, 999)


def test_undo_of_an_identifier_link_separates_its_record(project: Project) -> None:
    result = dedupe_project(project, actor="tester")
    pmid_link = next(link for link in result.links if link.rule == "pmid")
    assert (pmid_link.record_a, pmid_link.record_b) == (1, 6)
    undo = undo_link(project, pmid_link.id, actor="reviewer")
    assert undo.separated and undo.still_connected_by == []
    assert project.study_of(6) is None
    assert sorted(project.studies().values()) == [[1, 3, 5], [2, 4]]
    # The undone pair stays apart, also through other records (6 resembles 5 by title, and 5
    # is in 1's study, so linking 5-6 would rejoin 1 and 6).
    assert dedupe_project(project, actor="tester").links == []
    assert sorted(project.studies().values()) == [[1, 3, 5], [2, 4]]


def test_undo_between_two_groups_gives_the_leaving_group_a_new_study(tmp_path: Path) -> None:
    with Project.init(tmp_path / "p", actor="tester") as opened:
        article = rec(SPIERA, pmid="21398330", nct_ids=["NCT00555581"], year=2011)
        copy = rec(SPIERA, source="europepmc", source_id="MED:21398330", pmid="21398330")
        registry = rec(
            "Imatinib in SSc",
            source="ctgov",
            source_id="NCT00555581",
            kind="registry",
            nct_ids=["NCT00555581"],
        )
        who = rec(
            "Imatinib mesylate in scleroderma",
            source="ictrp",
            source_id="NCT00555581",
            kind="registry",
            nct_ids=["NCT00555581"],
        )
        for record in (article, copy, registry, who):  # ids 1, 2, 3, 4
            opened.add_records([record], actor="tester")
        result = dedupe_project(opened, actor="tester")
        found = [(x.record_a, x.record_b, x.rule, x.relation) for x in result.links]
        assert found == [
            (1, 2, "pmid", "duplicate"),
            (1, 3, "nct", "same_study"),
            (3, 4, "nct", "duplicate"),
        ]
        (study,) = opened.studies()
        outcome = undo_link(opened, result.links[1].id, actor="reviewer")
        assert outcome.separated and outcome.link.undone_by == "reviewer"
        # Equal sides: the side of record_a (1, 2) keeps the study; 3 and 4 get a new one.
        assert opened.studies()[study] == [1, 2]
        assert sorted(opened.studies().values()) == [[1, 2], [3, 4]]


# -- the command ------------------------------------------------------------------------------


def test_dedupe_command_table_json_list_and_undo(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(project.path)
    project.close()
    assert main(["dedupe", folder]) == 0
    out = capsys.readouterr().out
    assert "4 new links (pmid 1, doi 0, nct 2, title 1)" in " ".join(out.split())
    assert main(["dedupe", folder, "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 4
    assert main(["dedupe", folder, "--undo", str(listed[0]["id"]), "--json"]) == 0
    undone = json.loads(capsys.readouterr().out)
    assert undone["undone"]["id"] == listed[0]["id"] and undone["separated"] is True
    assert main(["dedupe", folder, "--undo", str(listed[0]["id"])]) == 2
    assert "already undone" in capsys.readouterr().err
    assert main(["dedupe", folder, "--rules", "pmid,isbn"]) == 2
    assert "unknown rule" in capsys.readouterr().err


# -- the labelled benchmark set ---------------------------------------------------------------


def _load(name: str) -> ModuleType:
    return load_benchmark(name)


@pytest.mark.slow
def test_labelled_set_precision_and_recall(shared_dir: Path) -> None:
    if not (shared_dir / "data" / "screening-cohen2006").is_dir():
        pytest.skip("../shared/data/screening-cohen2006 is absent")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        labelled = _load("dedupe_labelled")
        evaluate = _load("dedupe_eval").evaluate
    finally:
        sys.path.remove(str(BENCHMARKS))
    items = labelled.build(shared_dir)
    assert len(items) >= 200
    cases = {item.case for item in items}
    assert {"original-near-title", "copy-embase", "copy-cinahl", "sibling-protocol"} <= cases
    assert items == labelled.build(shared_dir)  # deterministic
    overall = evaluate(items, ("pmid", "doi", "nct", "title"), DedupeSettings())
    # Floors below the measured figures (precision 0.993, recall 0.993 on seed 2006; see
    # benchmarks/dedupe_eval.py), so a regression fails here.
    assert overall["precision"] >= 0.97
    assert overall["recall"] >= 0.97
    pmid_only = evaluate(items, ("pmid",), DedupeSettings())
    assert pmid_only["precision"] == 1.0


def _all_pairs(prepared: list, cfg: object) -> tuple[np.ndarray, np.ndarray]:
    """Reference candidates without blocking: every pair i < j."""
    i, j = np.triu_indices(len(prepared), 1)
    return i.astype(np.int64), j.astype(np.int64)


def test_blocking_finds_the_links_scoring_every_pair_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The title stage scores only pairs sharing a rare title word or the first author's
    surname; on records with typos, case changes, shuffled authors and look-alike titles it
    makes exactly the links that scoring all n(n-1)/2 pairs makes."""
    rng = random.Random(3)
    words = [f"w{k}" + "x" * rng.randint(2, 9) for k in range(400)]
    surnames = ["Smith", "Wang", "Garcia", "Müller", "Okafor", "Ivanova", "Kim", "Rossi"]
    records: list[Record] = []
    for k in range(300):
        title = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        author = f"{rng.choice(surnames)}, {chr(65 + k % 26)}"
        year = rng.randint(2000, 2010)
        records.append(Record(source="pubmed", title=title, authors=[author], year=year))
        if rng.random() < 0.5:  # a copy with one typo and a different case
            pos = rng.randrange(len(title))
            typo = title[:pos] + "q" + title[pos + 1 :]
            records.append(
                Record(source="embase", title=typo.upper(), authors=[author], year=year)
            )
    blocked = find_links(records)
    monkeypatch.setattr(dedupe, "_title_candidates", _all_pairs)
    reference = find_links(records)
    assert len(reference) > 50
    assert [(x.a, x.b, x.rule, x.score) for x in blocked] == [
        (x.a, x.b, x.rule, x.score) for x in reference
    ]


def test_a_5000_digit_number_in_a_title_is_compared_as_text() -> None:
    """Python refuses int() of more than 4,300 digits; a title number is kept as a string."""
    digits = "9" * 5000
    a = Record(source="pubmed", title=f"Trial {digits} of imatinib", authors=["Ng, A"], year=2001)
    b = Record(source="embase", title=f"TRIAL {digits} OF IMATINIB", authors=["Ng, A"], year=2001)
    links = find_links([a, b])
    assert [(x.a, x.b, x.rule) for x in links] == [(0, 1, "title")]
