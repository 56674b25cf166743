"""The bundled review's data: complete provenance, decided records, published figures as printed.

These tests read only the package data, except the seed checks, which compare with the source
documents in ``../shared/seeds`` (skipped in a user's clone).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metareview.extraction import STATUSES
from metareview.review.folder import ReviewFolder, bundled_example, load_folder


@pytest.fixture(scope="module")
def project() -> ReviewFolder:
    return load_folder(bundled_example())


def test_bundled_files_exist() -> None:
    folder = bundled_example()
    for name in ("protocol.yaml", "studies.yaml", "records.jsonl", "screening.csv",
                 "published.yaml", "README.md"):  # fmt: skip
        assert (folder / name).is_file(), name


def test_every_number_has_status_and_source(project: ReviewFolder) -> None:
    keys = {s.key for s in project.data.sources}
    count = 0
    for study in project.data.studies:
        for path, q in study.quantities():
            count += 1
            assert q.status in STATUSES, (study.id, path)
            assert q.source.ref in keys and q.source.where.strip(), (study.id, path)
            if q.status == "derived":
                assert q.derive is not None, (study.id, path)
            elif q.status == "assumed":
                assert q.why and q.why.strip(), (study.id, path)
                assert q.value is not None
            else:
                assert q.value is not None
    assert count > 50


def test_every_source_has_a_citation_and_address(project: ReviewFolder) -> None:
    for s in project.data.sources:
        assert s.citation.strip()
        assert s.url or s.doi, s.key


def test_each_study_says_why_it_misses_an_outcome(project: ReviewFolder) -> None:
    names = [o.name for o in project.protocol.outcomes]
    for study in project.data.studies:
        for name in names:
            has_main = bool(study.outcome_rows(name))
            assert has_main or name in study.not_extracted, (study.id, name)
            assert not (has_main and name in study.not_extracted), (study.id, name)


def test_records_and_screening_agree(project: ReviewFolder) -> None:
    ids = [str(r.source_id) for r in project.records]
    assert len(ids) == len(set(ids))
    decided = [d.source_id for d in project.screening]
    assert sorted(decided) == sorted(ids), "every record is decided exactly once"
    included = {d.study_id for d in project.screening if d.decision == "include"}
    assert included == {s.id for s in project.data.studies}
    for study in project.data.studies:
        assert set(study.record_ids) <= set(ids), study.id
    codes = set(project.protocol.reason_codes())
    assert all(d.reason_code in codes for d in project.screening if d.decision == "exclude")


def test_seeds_are_all_screened(project: ReviewFolder, seeds_dir: Path) -> None:
    seed_files = sorted(p.name for p in seeds_dir.iterdir() if p.is_file())
    by_seed = {str(r.fields["seed_file"]): r for r in project.records if r.fields.get("seed_file")}
    assert sorted(by_seed) == seed_files
    decisions = {d.source_id: d for d in project.screening}
    kinds = {}
    for name, record in by_seed.items():
        d = decisions[str(record.source_id)]
        assert d.reason, name
        kinds[name] = (record.kind, d.decision)
    # the two registry pages, the case report, the monograph and the meta-analysis abstract
    assert sorted(k for k, _ in kinds.values()) == [
        "article",
        "article",
        "monograph",
        "registry",
        "registry",
    ]


def test_seed_registry_ids_match(project: ReviewFolder, seeds_dir: Path) -> None:
    for record in project.records:
        seed = record.fields.get("seed_file")
        if seed and record.nct_ids:
            text = (seeds_dir / seed).read_text(encoding="utf-8")
            for nct in record.nct_ids:
                assert nct in text, (seed, nct)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2212", "-")).strip()


def test_published_figures_are_in_the_abstract(project: ReviewFolder, seeds_dir: Path) -> None:
    """The published figures are compared as the abstract prints them (seed 000)."""
    abstract = _norm((seeds_dir / "000_9bd60d6b50d973a5.txt").read_text(encoding="utf-8"))
    mrss = project.published["mRSS"]
    for x in (mrss.estimate, mrss.ci_lower, mrss.ci_upper, mrss.pvalue):
        assert f"{x:g}".lstrip("-") in abstract
    haq = project.published["HAQ"]
    assert haq.as_printed is not None
    assert "-0.096; 95 CI -0.197 to -0.006" in abstract  # as printed
    assert haq.ci_upper == -haq.as_printed["ci_upper"]  # the corrected sign
    assert haq.correction
    assert "22%" in abstract and project.published["dropout_ae"].estimate == 0.22
    assert "17%" in abstract and project.published["sae"].estimate == 0.17


def test_protocol_follows_the_paper(project: ReviewFolder) -> None:
    p = project.protocol
    assert p.model.method == "DL" and p.model.test == "z"
    assert [o.name for o in p.outcomes] == ["mRSS", "HAQ", "dropout_ae", "sae"]
    paper = [s for s in p.searches if s.kind == "database"]
    assert {s.date_run.isoformat() for s in paper} == {"2020-02-07"}
    assert {s.source for s in paper} == {"PubMed/MEDLINE", "Cochrane CENTRAL",
                                         "Web of Science"}  # fmt: skip
    # The rebuild's own other-methods source (the seed documents), for the PRISMA flow.
    others = [s for s in p.searches if s.kind != "database"]
    assert [(s.source, s.kind) for s in others] == [("seed", "other")]
