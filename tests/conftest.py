"""Shared test fixtures.

``../shared/`` (source documents, research notes, labelled data sets) sits beside the project in
development and CI but not in a user's clone: tests that need it skip with a reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI must be reproducible: the same examples on every run (a failure found locally with random
# examples is turned into a regression test). Locally, examples stay random to keep finding bugs.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the project; skip the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/ is not beside this checkout (it exists only in development and CI)")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir: Path) -> Path:
    path = shared_dir / "seeds"
    if not path.is_dir():
        pytest.skip("../shared/seeds/ is absent")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Committed test data (goldens, fixtures): ``tests/data``."""
    return DATA


#: Screening decisions for the e2e fixtures imported in the order pubmed.xml (records 1-4),
#: search.ris (5-8), ctgov.json (9-10): ALPHA-B (records 1, 6, 9) and BETA-B (3, 10) included at
#: both stages; record 5 (the RIS copy of 3) is a duplicate and not decided.
E2E_DECISIONS = """record_id,stage,decision,reason,reviewer,note
1,title_abstract,include,,alice,
3,title_abstract,include,,alice,
6,title_abstract,include,,alice,
9,title_abstract,include,,alice,
10,title_abstract,include,,alice,
1,full_text,include,,alice,
3,full_text,include,,alice,
6,full_text,include,,alice,
9,full_text,include,,alice,
10,full_text,include,,alice,
2,title_abstract,exclude,design,alice,secondary analysis
4,title_abstract,exclude,design,alice,narrative review
7,title_abstract,exclude,design,alice,survey
8,title_abstract,exclude,population,alice,healthy volunteers
"""


@pytest.fixture(scope="session")
def _e2e_screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from metareview.cli import main

    base = tmp_path_factory.mktemp("e2e")
    project = base / "project"
    e2e = DATA / "e2e"
    decisions = base / "decisions.csv"
    decisions.write_text(E2E_DECISIONS, encoding="utf-8")
    for argv in (
        ["init", str(project), "--protocol", str(e2e / "protocol.yaml")],
        [
            "import",
            str(project),
            *(str(e2e / f) for f in ("pubmed.xml", "search.ris", "ctgov.json")),
        ],
        ["dedupe", str(project)],
        ["decide", str(project), str(decisions)],
    ):
        assert main(argv) == 0, argv
    return project


@pytest.fixture
def e2e_project(_e2e_screened: Path, tmp_path: Path) -> Path:
    """A fresh copy of a project built from ``tests/data/e2e`` through the CLI (init, import,
    dedupe, decide): two included studies, ALPHA-B (study 1, with registry results in record
    9) and BETA-B (study 2, records 3 and 10), nothing extracted yet."""
    import shutil

    dest = tmp_path / "project"
    shutil.copytree(_e2e_screened, dest)
    return dest


#: The BCG vaccine trials (metadat's dat.bcg, Colditz et al. 1994) as a review built through
#: commands: 13 records, all included, per-arm counts extracted (outcome ``tb`` as RR, ``tb_or``
#: as OR with two assumed comparator risks). ``design`` is the allocation as dat.bcg gives it.
BCG_PROTOCOL = """\
title: BCG vaccine for preventing tuberculosis (systematic review test)
question:
  population: people at risk of tuberculosis
  intervention: BCG vaccine
  comparator: no vaccine
  outcomes: [tuberculosis]
eligibility:
  - {code: design, text: Controlled trials of BCG vaccination}
searches:
  - {source: PubMed, query: BCG AND tuberculosis AND trial, date_run: 2024-01-01}
outcomes:
  - {name: tb, measure: RR, better: lower, description: Tuberculosis cases}
  - name: tb_or
    measure: OR
    better: lower
    description: Tuberculosis cases (odds ratio)
    assumed_risks:
      - {label: low-incidence setting, risk: 0.01}
      - {label: high-incidence setting, risk: 0.05}
model: {method: REML, test: z, level: 95}
"""
BCG_DESIGN = {
    "random": "randomised controlled trial",
    "alternate": "quasi-randomised trial (alternate allocation)",
    "systematic": "non-randomised trial (systematic allocation)",
}


@pytest.fixture(scope="session")
def _bcg_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import csv

    from metareview.cli import main

    base = tmp_path_factory.mktemp("bcg")
    bcg = list(csv.DictReader((DATA / "cli" / "bcg.csv").open(encoding="utf-8")))
    with (base / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "authors", "year", "journal"])
        for i, r in enumerate(bcg, 1):
            name = r["study"]
            w.writerow([f"bcg{i}", f"BCG vaccine against tuberculosis: {name}",
                        f"{name.split()[0]} A", name.split()[-1], "Test Journal"])  # fmt: skip
    (base / "protocol.yaml").write_text(BCG_PROTOCOL, encoding="utf-8")
    lines = ["record_id,stage,decision,reason,reviewer,note"]
    lines += [f"{i},{stage},include,,Ana," for stage in ("title_abstract", "full_text")
              for i in range(1, 14)]  # fmt: skip
    (base / "decisions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = base / "project"
    form = base / "form.csv"
    for argv in (
        ["init", str(project), "--protocol", str(base / "protocol.yaml")],
        ["import", str(project), str(base / "records.csv")],
        ["decide", str(project), str(base / "decisions.csv")],
        ["extract", str(project), "--template", str(form)],
    ):
        assert main(argv) == 0, argv
    rows = list(csv.DictReader(form.open(encoding="utf-8", newline="")))
    for r in rows:
        b = bcg[int(r["study_id"]) - 1]
        r.update(status="reported", source_record=r["study_id"], location="Table 1")
        if r["group"] == "study":
            r["design"] = BCG_DESIGN[b["alloc"]]
        elif r["group"] == "intervention":
            r.update(arm="BCG", timepoint="end of follow-up", events=b["ai"],
                     n=str(int(b["ai"]) + int(b["bi"])))  # fmt: skip
        else:
            r.update(arm="No vaccine", timepoint="end of follow-up", events=b["ci"],
                     n=str(int(b["ci"]) + int(b["di"])))  # fmt: skip
    filled = base / "filled.csv"
    with filled.open("w", encoding="utf-8", newline="") as fh:
        dw = csv.DictWriter(fh, fieldnames=list(rows[0]))
        dw.writeheader()
        dw.writerows(rows)
    assert main(["extract", str(project), "--import", str(filled), "--reviewer", "Ana"]) == 0
    return project


@pytest.fixture
def bcg_project(_bcg_built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the BCG review built through the CLI (see :data:`BCG_PROTOCOL`): 13
    included trials with per-arm counts for ``tb`` (RR) and ``tb_or`` (OR), no risk of bias
    assessed and no GRADE rating set yet."""
    import shutil

    dest = tmp_path / "project"
    shutil.copytree(_bcg_built, dest)
    return dest
