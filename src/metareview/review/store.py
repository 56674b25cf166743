"""A review as its project store holds it: included studies, their data, the study selection.

:func:`included_studies` reads which studies are included from the screening decisions and the
study links (dedupe and ``metareview link``): a study is included when one of its reports is
included at full text (PRISMA 2020 counts studies and reports the same way). :func:`load_review`
assembles the extracted values of each included study into the study data the analysis reads
(:func:`metareview.extraction.assemble.assemble_outcome`), with, for every outcome a study does
not contribute to, the reason. :func:`analyse_project` runs it all: load, analyse, and compute
the study selection (PRISMA 2020 counts, amendments, checklist), writing the flow diagram into
the project folder when asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from metareview.appraisal.stored import assessments, study_rob
from metareview.errors import InputError
from metareview.extraction.assemble import (
    CONVERSIONS_SOURCE,
    NotPoolable,
    assemble_outcome,
    quantity,
)
from metareview.extraction.provenance import Quantity, SourceSpec
from metareview.extraction.stored import (
    effective_values,
    extraction_sources,
    not_reported,
    study_details,
)
from metareview.extraction.study import Arm, OutcomeData, StudyData, StudyDataFile
from metareview.extraction.values import ExtractedValue
from metareview.protocol import Protocol, load_protocol
from metareview.review.analyse import analyse
from metareview.review.published import PUBLISHED_FILE, load_published
from metareview.review.result import ReviewData, ReviewResult, ScreeningDecision, StudySelection
from metareview.screening.amendments import amendments, sync_protocol
from metareview.screening.checklist import ChecklistEntry, prisma_checklist
from metareview.screening.decisions import Screening
from metareview.screening.prisma import prisma_counts, write_prisma
from metareview.store import Project, StoredRecord

__all__ = [
    "IncludedStudy",
    "analyse_project",
    "ensure_studies",
    "included_studies",
    "load_review",
    "record_citation",
    "study_selection",
]

#: Checklist items the store's extraction and the analyses answer: item -> (status, where).
#: GRADE (items 15, 22) and the small-study assessment (14, 21) are made with every analysis.
_ANSWERED_BY_REVIEW: dict[str, tuple[str, str]] = {
    "9": (
        "answered",
        "extraction in the project store: every value with its source record, location, quote, "
        "status (reported or assumed), reviewer and time; double extraction compared by "
        "'metareview extract --conflicts'",
    ),
    "10b": ("answered", "study characteristics per study: design, population, arms, dose"),
    "13a": (
        "answered",
        "report: per outcome, the studies pooled and those without usable data, with the reason",
    ),
    "13b": (
        "answered",
        "each derived number states its conversion and inputs; assumed ones why",
    ),
    "13c": ("answered", "report: forest plot and study table per outcome"),
    "17": ("answered", "report: included studies table"),
    "19": ("answered", "report: study estimates with CIs (forest plots) and their inputs"),
    "20b": ("answered", "report: pooled estimates with CI, p-value and prediction interval"),
    "20d": ("answered", "report: sensitivity tables per outcome"),
    "14": (
        "answered",
        "small-study effects: funnel plot per outcome (k >= 3) and Egger's regression test "
        "(k >= 10) in GRADE's publication-bias domain (metareview grade)",
    ),
    "15": (
        "answered",
        "GRADE per outcome (metareview grade): five domains, each rating suggested by a stated "
        "rule; reviewers' ratings recorded with their reasons",
    ),
    "21": ("answered", "report: funnel plots and the publication-bias rating per outcome"),
    "22": (
        "answered",
        "report: summary of findings, certainty per outcome with each reason for rating down",
    ),
}

#: Checklist items the risk-of-bias assessments answer, when the store holds any.
_ANSWERED_BY_ROB: dict[str, tuple[str, str]] = {
    "11": (
        "answered",
        "risk of bias per study and outcome in the project store (metareview rob): RoB 2 for "
        "randomised trials (signalling questions, the guidance's algorithm, overrides with "
        "justification) or ROBINS-I; reviewers, conflicts (--conflicts) and consensus recorded",
    ),
    "18": (
        "answered",
        "report: risk of bias section (traffic-light and summary plots, judgements per domain)",
    ),
    "20a": ("answered", "report: risk of bias of the contributing studies per outcome"),
}


@dataclass(frozen=True)
class IncludedStudy:
    """An included study: its store id (None for a report linked to no study), label, records."""

    study_id: int | None
    key: str
    label: str
    records: tuple[StoredRecord, ...]


def _open_protocol(project: Project) -> Protocol:
    path = project.protocol_path
    if path is None:
        raise InputError(
            "the project has no protocol; add one with 'metareview protocol DIR --replace FILE'",
            file=str(project.path),
        )
    return load_protocol(path)


def record_citation(stored: StoredRecord) -> str:
    """A short citation of a record: first author et al., title, journal year, identifiers."""
    r = stored.record
    authors = list(r.authors or [])
    who = "" if not authors else (authors[0] + (" et al." if len(authors) > 1 else ""))
    parts = [
        p.strip().rstrip(".")
        for p in (who, r.title, " ".join(str(x) for x in (r.journal, r.year) if x))
        if p
    ]
    ids = [f"PMID {r.pmid}" if r.pmid else "", f"doi:{r.doi}" if r.doi else ""]
    ids += list(r.nct_ids or [])
    text = ". ".join(parts)
    extra = ", ".join(i for i in ids if i)
    return f"{text} ({extra})" if extra else text


def _label(records: Sequence[StoredRecord], fallback: str) -> str:
    """A study label as reviews write it: the first author's surname and the year of the
    earliest article among its reports (registry records only when there is no article)."""
    articles = [s for s in records if s.record.kind != "registry"] or list(records)
    dated = sorted(articles, key=lambda s: (s.record.year or 9999, s.id))
    for s in dated:
        authors = list(s.record.authors or [])
        if authors:
            surname = authors[0].split(",")[0].split()[0]
            return f"{surname} {s.record.year}" if s.record.year else surname
    for s in dated:
        if s.record.nct_ids:
            return str(s.record.nct_ids[0])
    return fallback


def included_studies(project: Project, protocol: Protocol | None = None) -> list[IncludedStudy]:
    """The studies included at full text, in order of their first record."""
    screening = Screening(project, protocol or _open_protocol(project))
    reports = screening.reports
    final = screening.final_decisions("full_text")
    keys: dict[str, list[int]] = {}
    for rep in reports.reports():
        f = final.get(rep)
        if f is not None and f.decision == "include":
            keys.setdefault(reports.study[rep], []).append(rep)
    links = project.studies()
    labels = {int(i): lab for i, lab in project.connection.execute("SELECT id, label FROM studies")}
    # studies with extracted data and no record at all (a study data file without records)
    for (with_data,) in project.connection.execute(
        "SELECT DISTINCT study_id FROM extraction_values WHERE superseded_at IS NULL ORDER BY 1"
    ):
        if int(with_data) not in links:
            keys.setdefault(f"s{int(with_data)}", [])
    out: list[IncludedStudy] = []
    for key in sorted(keys, key=lambda k: (min(keys[k]) if keys[k] else 10**12, k)):
        if key.startswith("s"):
            sid: int | None = int(key[1:])
            rec_ids = links.get(int(key[1:]), keys[key])
        else:
            sid = None
            rec_ids = keys[key]
        records = tuple(reports.records[r] for r in rec_ids if r in reports.records)
        fallback = key if sid is None else f"study {sid}"
        label = _label(records, fallback)
        if sid is not None and labels.get(sid) and not str(labels[sid]).startswith("study "):
            label = str(labels[sid])
        out.append(IncludedStudy(sid, key, label, records))
    return out


def ensure_studies(project: Project, *, actor: str | None = None) -> list[IncludedStudy]:
    """Give every included report that is linked to no study a study of its own (audited), so
    that values can be extracted for it; returns the included studies."""
    studies = included_studies(project)
    missing = [s for s in studies if s.study_id is None]
    for s in missing:
        project.link_records(
            [r.id for r in s.records],
            reason="included report linked to no other report: a study of its own (extraction)",
            label=s.label,
            actor=actor,
        )
    return included_studies(project) if missing else studies


_STUDY_ID = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def _study_key(study: IncludedStudy, details: Mapping[str, str]) -> str:
    """A StudyData id: the store label when it is an identifier (the bundled review's), else
    ``study<N>``."""
    label = details.get("key") or ""
    if label and all(c in _STUDY_ID for c in label):
        return label
    return f"study{study.study_id}" if study.study_id is not None else study.key


def _arms(values: Sequence[ExtractedValue], details: Mapping[str, str]) -> list[Arm]:
    arms: dict[str, dict[str, Quantity]] = {}
    for v in values:
        if v.key.outcome == "" and v.key.arm:
            arms.setdefault(v.key.arm, {})[v.key.field] = quantity(v)
    for key in details:
        if key.startswith("arm_intervention:"):
            arms.setdefault(key.split(":", 1)[1], {})
    if not arms:
        # no characteristics rows: the arms the outcome data name, with the most analysed
        for v in values:
            if v.key.outcome and v.key.arm and v.key.group in ("intervention", "comparator",
                                                                 "single"):  # fmt: skip
                entry = arms.setdefault(v.key.arm, {})
                if v.key.field == "n" and v.value is not None:
                    best = entry.get("n")
                    if best is None or best.numeric() < v.value:
                        entry["n"] = quantity(v)
    out = []
    for name, q in arms.items():
        out.append(
            Arm(
                name=name,
                intervention=details.get(f"arm_intervention:{name}"),
                dose=q.get("dose"),
                n_enrolled=q.get("n_randomised"),
                n_analysed=q.get("n"),
                included_in_review=details.get(f"arm_excluded:{name}") != "true",
            )
        )
    return out


def _prefixed(notes: list[str], prefix: str) -> Callable[[str], None]:
    def add(text: str) -> None:
        notes.append(prefix + text)

    return add


def _study_data(
    protocol: Protocol,
    study: IncludedStudy,
    values: Sequence[ExtractedValue],
    details: Mapping[str, str],
    reasons: Mapping[str, str],
    notes: list[str],
) -> StudyData:
    outcomes: dict[str, list[OutcomeData]] = {}
    not_extracted: dict[str, str] = {}
    label = details.get("label") or study.label
    for outcome in protocol.outcomes:
        mine = [v for v in values if v.key.outcome == outcome.name]
        if not mine:
            not_extracted[outcome.name] = reasons.get(
                outcome.name, "no data extracted for this outcome"
            )
            continue
        rows = []
        scenarios = list(dict.fromkeys(["main", *(v.key.scenario for v in mine)]))
        for scenario in scenarios:
            if scenario != "main" and not any(v.key.scenario == scenario for v in mine):
                continue
            try:
                row = assemble_outcome(
                    outcome.measure,
                    mine,
                    scenario=scenario,
                    note=_prefixed(notes, f"{label}, {outcome.name}: "),
                )
            except NotPoolable as exc:
                if scenario == "main":
                    not_extracted[outcome.name] = reasons.get(outcome.name, str(exc))
                continue
            row_note = details.get(f"row_note:{outcome.name}:{scenario}")
            arms = {v.key.arm for v in mine if v.key.scenario == scenario and v.key.arm}
            update: dict[str, object] = {}
            if row_note:
                update["note"] = row_note
            if len(arms) == 1 and row.measure in ("PR", "MC", "GEN", "RATE", "MEAN", "SD"):
                update["arm"] = next(iter(arms))
            rows.append(row.model_copy(update=update) if update else row)
        if rows and any(r.scenario == "main" for r in rows):
            outcomes[outcome.name] = rows
        elif rows:
            outcomes[outcome.name] = rows
            not_extracted.setdefault(outcome.name, reasons.get(outcome.name, ""))
    characteristics = {
        v.key.field.split(":", 1)[1]: quantity(v)
        for v in values
        if v.key.outcome == "" and v.key.field.startswith("characteristic:")
    }
    duration = next(
        (
            quantity(v)
            for v in values
            if v.key.outcome == "" and v.key.field == "duration"
        ),
        None,
    )
    year = details.get("year")
    if year is None:
        years = [s.record.year for s in study.records if s.record.year]
        year = str(min(years)) if years else None
    registry = (
        json.loads(details["registry"])
        if "registry" in details
        else sorted({n for s in study.records for n in (s.record.nct_ids or [])})
    )
    citation = details.get("citation") or "; ".join(record_citation(s) for s in study.records)
    return StudyData(
        id=_study_key(study, details),
        label=label,
        year=int(year) if year and year.isdigit() else None,
        citation=citation or label,
        registry=list(registry),
        record_ids=[s.record.source_id or f"record:{s.id}" for s in study.records],
        design=details.get("design") or "not recorded",
        population=details.get("population"),
        arms=_arms(values, details),
        duration_months=duration,
        characteristics=characteristics,
        outcomes=outcomes,
        not_extracted={k: v for k, v in not_extracted.items() if k not in outcomes or v},
        note=details.get("note"),
    )


def _sources(project: Project, values: Sequence[ExtractedValue]) -> list[SourceSpec]:
    out = {s.key: s for s in extraction_sources(project)}
    out.setdefault(CONVERSIONS_SOURCE.key, CONVERSIONS_SOURCE)
    for rid in sorted({v.source_record for v in values if v.source_record is not None}):
        stored = project.record(rid)
        out[f"record:{rid}"] = SourceSpec(
            key=f"record:{rid}",
            citation=record_citation(stored),
            url=stored.record.url,
            doi=stored.record.doi,
        )
    if any(v.source_record is None and v.source_ref is None for v in values):
        out["unsourced"] = SourceSpec(key="unsourced", citation="source not given")
    return list(out.values())


def _screening_rows(
    project: Project, screening: Screening, labels: Mapping[str, str]
) -> tuple[ScreeningDecision, ...]:
    reports = screening.reports
    rows = []
    for stage in ("title_abstract", "full_text"):
        for rid, f in sorted(screening.final_decisions(stage).items()):
            if f.decision is None or rid not in reports.records:
                continue
            if stage == "title_abstract" and f.decision != "exclude":
                continue
            rec = reports.records[rid].record
            study = reports.study.get(reports.representative.get(rid, rid), "")
            rows.append(
                ScreeningDecision(
                    source_id=rec.source_id or f"record:{rid}",
                    decision=f.decision,
                    reason_code=f.reason or "",
                    study_id=labels.get(study, study) if f.decision == "include" else "",
                    reason="",
                    stage=stage,
                    reviewer=", ".join(f.reviewers),
                )
            )
    return tuple(rows)


def load_review(path: str | Path) -> ReviewData:
    """The review in the project at ``path``, assembled for the analysis.

    Raises
    ------
    InputError
        The folder is not a project, or has no protocol.
    """
    with Project.open(path, read_only=True) as project:
        protocol = _open_protocol(project)
        studies = included_studies(project, protocol)
        effective = effective_values(project)
        details = study_details(project)
        reasons = not_reported(project)
        notes: list[str] = []
        data = []
        ids: dict[str, int] = {}
        for study in studies:
            mine = [v for v in effective.values if v.key.study_id == study.study_id]
            facts = dict(details.get(study.study_id, {})) if study.study_id is not None else {}
            if study.study_id is not None:
                label = project.connection.execute(
                    "SELECT label FROM studies WHERE id = ?", (study.study_id,)
                ).fetchone()
                if label and label[0]:
                    facts.setdefault("key", str(label[0]))
            sd = _study_data(
                protocol, study, mine, facts,
                {o: r for (sid, o), r in reasons.items() if sid == study.study_id}, notes,
            )  # fmt: skip
            data.append(sd)
            if study.study_id is not None:
                ids[sd.id] = study.study_id
        for c in effective.conflicts:
            notes.append(
                f"study {c.key.study_id}, {c.key.outcome or 'characteristics'}, {c.key.group} "
                f"{c.key.arm} {c.key.timepoint}: reviewers disagree on {c.key.field} "
                f"({', '.join(_said(v) for v in c.values)}); "
                "left out until a consensus is recorded (metareview extract --conflicts)"
            )
        if effective.unconfirmed:
            notes.append(
                f"{len(effective.unconfirmed)} value(s) pre-filled from registry results are not "
                "yet confirmed by a reviewer (metareview extract --template, then --import)"
            )
        screening = Screening(project, protocol)
        records = tuple(s.record for s in project.records())
        keys = {s.key: sd.label for s, sd in zip(studies, data, strict=True)}
        screening_rows = _screening_rows(project, screening, keys)
        sources = _sources(project, effective.values)
        published, published_source = load_published(Path(project.path) / PUBLISHED_FILE)
        # the risk of bias that counts, of the studies included now (an assessment stays in the
        # store when its study is later excluded, but does not enter the review)
        included = set(ids.values())
        rob = {
            o.name: {sid: r for sid, r in study_rob(project, o.name).items() if sid in included}
            for o in protocol.outcomes
        }
        return ReviewData(
            path=Path(project.path),
            protocol=protocol,
            data=StudyDataFile(sources=sources, studies=data),
            records=records,
            screening=screening_rows,
            published=published,
            published_source=published_source,
            data_file=f"{project.path} (extraction)",
            study_ids=ids,
            notes=tuple(notes),
            risk_of_bias={o: r for o, r in rob.items() if r},
        )


def _said(v: ExtractedValue) -> str:
    return f"{v.reviewer} {v.value if v.text is None else v.text}"


def _checklist(screening: Screening, has_data: bool) -> tuple[ChecklistEntry, ...]:
    out: list[ChecklistEntry] = []
    assessed = bool(assessments(screening.project))
    for entry in prisma_checklist(screening):
        better = _ANSWERED_BY_REVIEW.get(entry.item.id) if has_data else None
        if better is not None and entry.status == "missing":
            entry = replace(entry, status=better[0], where=better[1])
        rob = _ANSWERED_BY_ROB.get(entry.item.id) if assessed else None
        if rob is not None:
            entry = replace(entry, status=rob[0], where=rob[1])
        if entry.item.id == "20c" and has_data and entry.status == "missing":
            status, where = _heterogeneity_answer(screening.protocol)
            entry = replace(entry, status=status, where=where)
        out.append(entry)
    return tuple(out)


def _heterogeneity_answer(protocol: Protocol | None) -> tuple[str, str]:
    """PRISMA item 20c (investigations of the causes of heterogeneity) for an analysed review,
    as (status, where): the planned subgroup analyses, or the heterogeneity statistics only."""
    model = protocol.model if protocol is not None else None
    if model is not None and (model.subgroups or model.rob_subgroup):
        return "answered", "report: subgroup fits and the test for subgroup differences per outcome"
    return "partial", ("report: Q, I², τ² and the prediction interval per outcome; no "
                       "investigation of their causes was planned (model.subgroups)")  # fmt: skip


def study_selection(
    project: Project, *, has_data: bool = True, write_files: bool = False
) -> StudySelection:
    """The study selection of the project (PRISMA 2020 flow, amendments, checklist); with
    ``write_files`` the flow diagram (SVG, PNG) and counts (JSON) go into the project folder."""
    protocol = _open_protocol(project)
    sync_protocol(project)
    screening = Screening(project, protocol)
    files = write_prisma(screening, project.path) if write_files else {}
    return StudySelection(
        counts=prisma_counts(screening),
        amendments=tuple(amendments(project)),
        checklist=_checklist(screening, has_data),
        project_dir=Path(project.path),
        files=dict(files),
        n_records=project.count_records(),
        n_decisions=len(screening.decisions()),
        reviewers=tuple(screening.reviewers()),
    )


def analyse_project(path: str | Path, *, write_prisma_files: bool = False) -> ReviewResult:
    """Load the review in the project at ``path``, analyse it and add its study selection."""
    from metareview.appraisal.grade_store import grade_review

    review = load_review(path)
    result = analyse(review)
    with Project.open(path) as project:
        selection = (
            study_selection(
                project, has_data=bool(review.data.studies), write_files=write_prisma_files
            )
            if project.count_records()
            else None
        )
        grade = grade_review(result, project)
    return ReviewResult(
        project=result.project, analyses=result.analyses, notes=result.notes, selection=selection,
        grade=grade,
    )
