"""Builders shared by the screening tests: a protocol and small projects made by hand."""

from __future__ import annotations

from pathlib import Path

from metareview.screening.decisions import Screening
from metareview.sources.record import Record
from metareview.store import Project

PROTOCOL_YAML = """\
title: Imatinib for systemic sclerosis - a systematic review and meta-analysis
registration: CRD42020000000
question:
  population: adults with systemic sclerosis
  intervention: imatinib mesylate
  comparator: placebo, usual care or no treatment
  outcomes: [modified Rodnan skin score, HAQ-DI, adverse events]
eligibility:
  - code: population
    text: Adults with systemic sclerosis
  - code: intervention
    text: Imatinib at any dose for at least 6 months
  - code: design
    text: Randomised or single-arm clinical trials; no case reports or reviews
  - code: outcome
    text: Reports mRSS, HAQ-DI or adverse events
searches:
  - {source: PubMed, query: 'imatinib AND (scleroderma OR "systemic sclerosis")',
     date_run: 2020-02-07}
  - {source: Embase, query: 'imatinib AND scleroderma', date_run: 2020-02-07}
  - {source: ClinicalTrials.gov, query: 'imatinib | scleroderma', date_run: 2020-02-07}
  - {source: citation searching, query: 'reference lists of included studies',
     date_run: 2020-03-01, kind: other}
outcomes:
  - {name: mRSS, measure: MD, time_window: 6-12 months, better: lower, primary: true}
  - {name: HAQ-DI, measure: MD, time_window: 6-12 months, better: lower}
model:
  method: REML
  test: z
  level: 95
  sensitivity:
    - {name: DerSimonian-Laird, method: DL}
    - {name: leave one out, leave1out: true}
screening:
  hint_reasons: {case_report: design, review: design}
  key_terms: [imatinib, systemic sclerosis, scleroderma]
"""


def write_protocol(folder: Path, text: str = PROTOCOL_YAML, name: str = "protocol.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def pubmed(i: int, title: str | None = None, **kw: object) -> Record:
    """A PubMed record with PMID ``100 + i``."""
    return Record(
        source="PubMed",
        source_id=str(100 + i),
        pmid=str(100 + i),
        title=title or f"Imatinib mesylate in systemic sclerosis: study {i}",
        abstract=f"Patients with systemic sclerosis received imatinib (study {i}).",
        journal="Arthritis Rheum",
        year=2011,
        **kw,  # type: ignore[arg-type]
    )


def new_project(tmp_path: Path, protocol_text: str = PROTOCOL_YAML, name: str = "proj") -> Path:
    """An empty project with the protocol; returns its folder."""
    protocol = write_protocol(tmp_path / "in", protocol_text)
    Project.init(tmp_path / name, protocol_file=protocol, actor="setup").close()
    return tmp_path / name


def small_project(tmp_path: Path, n: int = 6, protocol_text: str = PROTOCOL_YAML) -> Path:
    """A project with ``n`` PubMed records (ids 1..n)."""
    folder = new_project(tmp_path, protocol_text)
    with Project.open(folder, actor="setup") as project:
        project.add_records([pubmed(i) for i in range(1, n + 1)], source="PubMed", actor="setup")
    return folder


def open_screening(folder: Path, actor: str = "tester") -> Screening:
    return Screening.open(folder, actor=actor)


def count_rows(folder: Path, table: str) -> int:
    with Project.open(folder, actor="check") as project:
        return int(project.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
