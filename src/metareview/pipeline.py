"""A review run end to end as a metareview project: files -> project store -> screening ->
PRISMA 2020 flow -> analyses.

A review folder (laid out as :mod:`metareview.analysis` describes) keeps its candidate records
(``records.jsonl``) and screening decisions (``screening.csv``) as files. :func:`build_project`
turns them into a project store, the way a review run with ``metareview init``, ``import`` and
``decide`` would hold them:

1. the project is created with the review's protocol (``Project.init``), and the protocol's
   first version is recorded (:func:`~metareview.screening.amendments.sync_protocol`);
2. the records are added with one import per source (``Project.add_records``), so the PRISMA
   flow counts identification per source and places each source in its column (databases,
   registers, other methods: :func:`metareview.screening.reports.source_kind`);
3. the records of each study (``studies.yaml`` ``record_ids`` and the ``study_id`` column of
   ``screening.csv``) are linked to one study, so that "studies included" counts studies, not
   reports;
4. the decisions are recorded with :meth:`Screening.decide_many` in one transaction. A row's
   ``stage`` is the stage at which its final decision was made: a record decided at full text
   passed title/abstract screening, so it gets a title/abstract inclusion first (records from
   other methods are screened at full text only, as PRISMA 2020 draws them). When the file has
   no ``stage``, an inclusion is a full-text decision and an exclusion is taken at the earliest
   stage its eligibility criterion can be judged at (the protocol's ``eligibility[].stage``);
5. the PRISMA 2020 counts are computed (:func:`~metareview.screening.prisma.prisma_counts`)
   and the flow diagram (SVG, PNG) and counts (JSON) written into the project folder.

The project is built in a temporary folder beside its destination and renamed into place only
when complete, so a failing build never leaves a half-written project; a previous project at
the destination is replaced only by a complete new one.

:func:`run_pipeline` runs the analyses (:func:`metareview.analysis.run_review`) and attaches the
:class:`StudySelection` to the result, which the HTML report renders as its "Study selection"
section and ``--json`` adds as ``"prisma"``.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from metareview.analysis import ReviewProject, ReviewResult, load_project, run_review
from metareview.errors import InputError, StoreError
from metareview.screening.amendments import ProtocolVersion, amendments, sync_protocol
from metareview.screening.checklist import ChecklistEntry, prisma_checklist
from metareview.screening.decisions import DecisionInput, Screening
from metareview.screening.prisma import PrismaCounts, prisma_counts, write_prisma
from metareview.sources.record import Record
from metareview.store import Project, default_actor
from metareview.store.project import DB_NAME

__all__ = [
    "PROJECT_DIRNAME",
    "StudySelection",
    "build_project",
    "populate_project",
    "run_pipeline",
    "study_selection",
]

#: The project store's folder inside a run's output folder.
PROJECT_DIRNAME = "project"

#: Checklist items that a file-based review answers outside the project store (its study data
#: file and the analyses of the report): item -> (status, where).
_ANSWERED_BY_REVIEW: dict[str, tuple[str, str]] = {
    "9": (
        "partial",
        "studies.yaml: every extracted number with its source, place and status (reported, "
        "derived, assumed); who extracted and whether independently is not recorded",
    ),
    "10b": ("answered", "studies.yaml: design, population, arms, dose, duration per study"),
    "13a": (
        "answered",
        "report: per outcome, the studies pooled and those without usable data, with the reason",
    ),
    "13b": (
        "answered",
        "studies.yaml: each derived number states its conversion and inputs; assumed ones why",
    ),
    "13c": ("answered", "report: forest plot and study table per outcome"),
    "17": ("answered", "report: included studies table"),
    "19": ("answered", "report: study estimates with CIs (forest plots) and their inputs"),
    "20b": ("answered", "report: pooled estimates with CI, p-value and prediction interval"),
    "20d": ("answered", "report: sensitivity tables per outcome"),
}


@dataclass(frozen=True)
class StudySelection:
    """The study selection of a review as its project store holds it.

    Attributes
    ----------
    counts
        The PRISMA 2020 flow counts.
    amendments
        Protocol versions recorded after screening had started (PRISMA 2020 item 24c).
    checklist
        The PRISMA 2020 checklist with where the review answers each item.
    project_dir
        The project folder, or None when it was built in a temporary folder and discarded.
    files
        The PRISMA files written into the project folder (``svg``, ``png``, ``json``).
    n_records, n_decisions
        Records stored and screening decisions recorded.
    reviewers
        Who screened.
    """

    counts: PrismaCounts
    amendments: tuple[ProtocolVersion, ...] = ()
    checklist: tuple[ChecklistEntry, ...] = ()
    project_dir: Path | None = None
    files: Mapping[str, Path] = field(default_factory=dict)
    n_records: int = 0
    n_decisions: int = 0
    reviewers: tuple[str, ...] = ()

    def checklist_summary(self) -> dict[str, int]:
        """How many checklist items are ``answered``, ``partial`` and ``missing``."""
        out = {"answered": 0, "partial": 0, "missing": 0}
        for entry in self.checklist:
            out[entry.status] = out.get(entry.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe content for the report (``ReviewResult.to_dict()["selection"]``)."""
        return {
            "prisma": self.counts.to_dict(),
            "amendments": [
                {
                    "version": v.id,
                    "seen_at": v.seen_at,
                    "seen_by": v.seen_by,
                    "file": v.file_name,
                    "note": v.note,
                    "changes": [
                        {"field": str(c.get("field")), "old": c.get("old"), "new": c.get("new")}
                        for c in v.changes
                    ],
                }
                for v in self.amendments
            ],
            "checklist": {
                "summary": self.checklist_summary(),
                "items": [e.to_dict() for e in self.checklist],
            },
            "project_dir": None if self.project_dir is None else str(self.project_dir),
            "files": {k: str(p) for k, p in self.files.items()},
            "n_records": self.n_records,
            "n_decisions": self.n_decisions,
            "reviewers": list(self.reviewers),
        }


# -- building the store -----------------------------------------------------------------------


def _screening_file(review: ReviewProject) -> str:
    return str(review.path / "screening.csv")


def _records_by_source(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records grouped by source, sources in order of first appearance."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.source, []).append(record)
    return groups


def _search_query(review: ReviewProject, source: str) -> tuple[str | None, str | None]:
    """The protocol's query and date for a source (matched by name), if it lists one."""
    for search in review.protocol.searches:
        if search.source.strip().casefold() == source.strip().casefold():
            return search.query, search.date_run.isoformat()
    return None, None


def _store_ids(project: Project) -> dict[str, list[int]]:
    """Source id -> ids of the stored records that carry it."""
    out: dict[str, list[int]] = {}
    for stored in project.records():
        if stored.record.source_id:
            out.setdefault(stored.record.source_id, []).append(stored.id)
    return out


def _record_id(ids: Mapping[str, list[int]], source_id: str, file: str, row: int) -> int:
    found = ids.get(source_id, [])
    if len(found) != 1:
        what = "no record" if not found else f"{len(found)} records (from different sources)"
        raise InputError(
            f"{what} in the project with source id {source_id!r}",
            file=file,
            row=row,
            field="source_id",
        )
    return found[0]


def _link_studies(project: Project, review: ReviewProject, ids: Mapping[str, list[int]]) -> int:
    """Link each study's records (studies.yaml ``record_ids``, screening.csv ``study_id``)."""
    file = _screening_file(review)
    study_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for i, study in enumerate(review.data.studies):
        for source_id in study.record_ids:
            earlier = study_of.setdefault(source_id, study.id)
            if earlier != study.id:
                raise InputError(
                    f"record {source_id!r} is named by two studies, {earlier!r} and {study.id!r}",
                    file=str(review.path / "studies.yaml"),
                    field=f"studies[{i}].record_ids",
                )
            members.setdefault(study.id, []).append(source_id)
    for row, d in enumerate(review.screening, start=1):
        if not d.study_id:
            continue
        known = study_of.get(d.source_id)
        if known is not None and known != d.study_id:
            raise InputError(
                f"record {d.source_id!r} belongs to study {known!r} in studies.yaml, not "
                f"{d.study_id!r}",
                file=file,
                row=row,
                field="study_id",
            )
        if known is None:
            study_of[d.source_id] = d.study_id
            members.setdefault(d.study_id, []).append(d.source_id)
    for study_id, source_ids in members.items():
        record_ids = []
        for source_id in source_ids:
            found = ids.get(source_id, [])
            if len(found) != 1:
                raise InputError(
                    f"study {study_id!r} names record {source_id!r}, which "
                    + (
                        "the project lacks"
                        if not found
                        else f"{len(found)} records (from different sources) share"
                    ),
                    file=str(review.path / "studies.yaml"),
                    field="record_ids",
                )
            record_ids.append(found[0])
        project.link_records(
            record_ids, reason=f"records of study {study_id} (studies.yaml)", label=study_id
        )
    return len(members)


def _default_reviewer(review: ReviewProject) -> str:
    """Who screened when the decisions file does not say: the protocol's only listed
    screener, else its first author, else the current user."""
    protocol = review.protocol
    if len(protocol.screening.reviewers) == 1:
        return protocol.screening.reviewers[0]
    if protocol.authors:
        return protocol.authors[0]
    return default_actor()


def _default_stage(review: ReviewProject, decision: str, reason_code: str) -> str:
    if decision != "exclude" or not reason_code:
        return "full_text"
    try:
        criterion = review.protocol.criterion(reason_code)
    except KeyError:
        return "full_text"  # the screening layer reports the unknown code
    return "full_text" if criterion.stage == "full_text" else "title_abstract"


def _decision_rows(
    review: ReviewProject, screening: Screening, ids: Mapping[str, list[int]]
) -> tuple[list[DecisionInput], list[int]]:
    """The decisions to record, and for each the screening.csv row it comes from."""
    file = _screening_file(review)
    columns = screening.reports.column
    fallback = _default_reviewer(review)
    rows: list[DecisionInput] = []
    origin: list[int] = []
    for n, d in enumerate(review.screening, start=1):
        rid = _record_id(ids, d.source_id, file, n)
        reviewer = d.reviewer or fallback
        other_methods = columns.get(rid) == "other"
        stage = d.stage or (
            "full_text" if other_methods else _default_stage(review, d.decision, d.reason_code)
        )
        if stage == "full_text" and not other_methods:
            rows.append(DecisionInput(rid, "title_abstract", "include", reviewer))
            origin.append(n)
        rows.append(
            DecisionInput(
                rid,
                stage,
                d.decision,
                reviewer,
                reason=(d.reason_code or None) if d.decision == "exclude" else None,
                note=d.reason or None,
            )
        )
        origin.append(n)
    return rows, origin


def populate_project(
    project: Project, review: ReviewProject, *, actor: str | None = None
) -> Screening:
    """Fill a new, empty project with the review's records, studies and decisions.

    Parameters
    ----------
    project
        An open project created with the review's protocol (``Project.init(...,
        protocol_file=...)``), holding no records yet.
    review
        The loaded review folder.
    actor
        Who acts, for the audit log.

    Returns
    -------
    Screening
        The project's screening, with every decision of ``screening.csv`` recorded.

    Raises
    ------
    InputError
        A decision that the screening rules refuse (unknown reason code, a full-text decision
        on a record excluded at title/abstract, a title/abstract decision on a record from
        other methods, ...): the message names screening.csv and its row.
    """
    sync_protocol(project, actor=actor)
    records_file = review.path / "records.jsonl"
    for source, records in _records_by_source(review.records).items():
        query, searched_at = _search_query(review, source)
        project.add_records(
            records,
            origin_file=records_file,
            query=query,
            searched_at=searched_at,
            format="jsonl",
            actor=actor,
        )
    ids = _store_ids(project)
    _link_studies(project, review, ids)
    screening = Screening(project, review.protocol, actor=actor)
    rows, origin = _decision_rows(review, screening, ids)
    if rows:
        try:
            screening.decide_many(rows)
        except InputError as exc:
            row = origin[exc.row - 1] if exc.row is not None else None
            raise InputError(
                exc.message, file=_screening_file(review), row=row, field=exc.field
            ) from None
    screening.refresh()
    return screening


def _checklist(screening: Screening, review: ReviewProject) -> tuple[ChecklistEntry, ...]:
    entries = prisma_checklist(screening)
    has_data = bool(review.data.studies)
    out: list[ChecklistEntry] = []
    for entry in entries:
        better = _ANSWERED_BY_REVIEW.get(entry.item.id) if has_data else None
        if better is not None and entry.status == "missing":
            entry = replace(entry, status=better[0], where=better[1])
        out.append(entry)
    return tuple(out)


def _selection(
    screening: Screening, review: ReviewProject, folder: Path, files: Mapping[str, Path]
) -> StudySelection:
    project = screening.project
    return StudySelection(
        counts=prisma_counts(screening),
        amendments=tuple(amendments(project)),
        checklist=_checklist(screening, review),
        project_dir=folder,
        files=dict(files),
        n_records=project.count_records(),
        n_decisions=len(screening.decisions()),
        reviewers=tuple(screening.reviewers()),
    )


def build_project(
    review: str | Path | ReviewProject, dest: str | Path, *, actor: str | None = None
) -> StudySelection:
    """Build the review's project store at ``dest``, fresh, and compute its study selection.

    The project is built in a temporary folder next to ``dest`` and renamed into place when
    complete. An existing ``dest`` must be a metareview project (it is replaced) or an empty
    folder; anything else is refused rather than overwritten.

    Parameters
    ----------
    review
        A review folder or a loaded :class:`~metareview.analysis.ReviewProject`.
    dest
        The project folder to create (e.g. ``OUT/project``).
    actor
        Who builds it, for the audit log (default: the current user).

    Returns
    -------
    StudySelection
        With ``project_dir = dest`` and the PRISMA files written into it.

    Raises
    ------
    InputError
        The review's files are inconsistent (see :func:`populate_project`); ``dest`` is a file
        or a folder that is not a project. Nothing is left behind.
    """
    proj = review if isinstance(review, ReviewProject) else load_project(review)
    target = Path(dest)
    if target.exists() and not (
        target.is_dir() and ((target / DB_NAME).is_file() or not any(target.iterdir()))
    ):
        raise InputError(
            "exists and is not a metareview project; not replacing it", file=str(target)
        )
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        # mkdir (not mkdtemp, which makes the folder private) so the project gets the
        # permissions any new folder would; the random name keeps concurrent builds apart.
        tmp = parent / f".{target.name}-{secrets.token_hex(6)}.tmp"
        tmp.mkdir()
    except OSError as exc:
        raise InputError(
            f"cannot create the project folder: {exc.strerror}", file=str(parent)
        ) from exc
    old: Path | None = None
    try:
        selection = _build_in(proj, tmp, actor=actor)
        if target.exists():
            old = parent / f".{target.name}-old-{tmp.name}"
            target.rename(old)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not target.exists():
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    files = {k: target / p.name for k, p in selection.files.items()}
    return replace(selection, project_dir=target, files=files)


def _build_in(review: ReviewProject, folder: Path, *, actor: str | None) -> StudySelection:
    protocol_file = review.path / "protocol.yaml"
    project = Project.init(folder, protocol_file=protocol_file, actor=actor)
    try:
        screening = populate_project(project, review, actor=actor)
        files = write_prisma(screening, folder)
        selection = _selection(screening, review, folder, files)
        if project.integrity_check() != "ok":
            raise StoreError(f"{folder}: the new project fails its integrity check")
    finally:
        project.close()
    return selection


def study_selection(
    review: str | Path | ReviewProject, out: str | Path | None = None
) -> StudySelection | None:
    """The review's study selection, with its project built at ``out/project`` (or, when
    ``out`` is None, in a temporary folder that is removed afterwards); None when the review
    has no candidate records (no ``records.jsonl``), so there is no selection to show."""
    proj = review if isinstance(review, ReviewProject) else load_project(review)
    if not proj.records:
        return None
    if out is not None:
        return build_project(proj, Path(out) / PROJECT_DIRNAME)
    with tempfile.TemporaryDirectory(prefix="metareview-") as tmp:
        selection = build_project(proj, Path(tmp) / PROJECT_DIRNAME)
    return replace(selection, project_dir=None, files={})


def run_pipeline(review: str | Path | ReviewProject, out: str | Path | None = None) -> ReviewResult:
    """Run a review end to end: build its project store, compute the study selection (PRISMA
    2020), and pool every outcome.

    Parameters
    ----------
    review
        A review folder or a loaded :class:`~metareview.analysis.ReviewProject`.
    out
        The run's output folder; the project store goes to ``out/project``. When None the store
        is built in a temporary folder and removed (``--json`` runs write nothing).

    Returns
    -------
    ReviewResult
        :func:`~metareview.analysis.run_review`'s result with ``selection`` set (None when the
        review has no records).
    """
    proj = review if isinstance(review, ReviewProject) else load_project(review)
    selection = study_selection(proj, out)
    return replace(run_review(proj), selection=selection)
