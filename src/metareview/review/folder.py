"""A review kept as a folder of files (as the bundled example is), brought into a project store.

A review folder holds::

    protocol.yaml     the protocol (question, eligibility, outcomes, model settings)
    studies.yaml      extracted study data, every number with status and source
                      (:mod:`metareview.extraction.study`)
    records.jsonl     candidate records, one JSON object per line (optional)
    screening.csv     source_id, decision, reason_code, study_id, reason (optional), and
                      optionally stage (title_abstract or full_text) and reviewer
    published.yaml    published pooled results to compare with (optional)
    rob.csv           risk-of-bias assessments, a filled ``metareview rob`` form (optional)

:func:`import_folder` turns it into a project store, the way a review run with ``metareview
init``, ``import``, ``decide``, ``link`` and ``extract --import`` would hold it:

1. the project is created with the review's protocol (``Project.init``), and the protocol's
   first version is recorded (:func:`~metareview.screening.amendments.sync_protocol`);
2. the records are added with one import per source (``Project.add_records``), so the PRISMA
   flow counts identification per source and places each source in its column;
3. the records of each study (``studies.yaml`` ``record_ids`` and the ``study_id`` column of
   ``screening.csv``) are linked to one study, so that "studies included" counts studies, not
   reports;
4. the decisions are recorded with :meth:`Screening.decide_many` in one transaction. A row's
   ``stage`` is the stage at which its final decision was made: a record decided at full text
   passed title/abstract screening, so it gets a title/abstract inclusion first (records from
   other methods are screened at full text only, as PRISMA 2020 draws them). When the file has
   no ``stage``, an inclusion is a full-text decision and an exclusion is taken at the earliest
   stage its eligibility criterion can be judged at (the protocol's ``eligibility[].stage``);
5. the study data go into the store's extraction tables as values (one per number, with its
   status, source, location and quote; derived numbers are not stored but recomputed);
6. ``published.yaml`` is copied into the project folder;
7. ``rob.csv``, when present, is imported as the risk-of-bias assessments
   (:func:`metareview.review.rob.import_rob_into`), by the protocol's screener or first author.

The project is built in a temporary folder beside its destination and renamed into place only
when complete, so a failing build never leaves a half-written project; a previous project at
the destination is replaced only by a complete new one. :func:`run_folder` then analyses the
store (:func:`metareview.review.store.load_review`, :func:`metareview.review.analyse.analyse`):
the same path as a review built with commands.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from metareview.errors import InputError, StoreError
from metareview.extraction.provenance import Quantity
from metareview.extraction.stored import record_values
from metareview.extraction.study import (
    OutcomeData,
    StudyData,
    StudyDataFile,
    load_studies,
)
from metareview.extraction.values import ExtractedValue, ValueKey
from metareview.protocol import Protocol, load_protocol
from metareview.review.analyse import resolve_inputs
from metareview.review.published import PUBLISHED_FILE, load_published
from metareview.review.result import PublishedFigure, ReviewResult, ScreeningDecision
from metareview.review.store import analyse_project
from metareview.screening.amendments import sync_protocol
from metareview.screening.decisions import DecisionInput, Screening, normalise_stage
from metareview.sources.base import read_text
from metareview.sources.record import Record
from metareview.store import Project, default_actor
from metareview.store.project import DB_NAME

__all__ = [
    "PROJECT_DIRNAME",
    "ReviewFolder",
    "bundled_example",
    "import_folder",
    "load_folder",
    "run_folder",
]

#: The project store's folder inside a run's output folder.
PROJECT_DIRNAME = "project"


@dataclass(frozen=True)
class ReviewFolder:
    """A loaded review folder: protocol, study data, records, screening and published results."""

    path: Path
    protocol: Protocol
    data: StudyDataFile
    records: tuple[Record, ...]
    screening: tuple[ScreeningDecision, ...]
    published: dict[str, PublishedFigure]
    published_source: dict[str, Any]


# -- loading a folder ------------------------------------------------------------------------


def bundled_example() -> Path:
    """The folder of the bundled imatinib-in-systemic-sclerosis review (package data)."""
    return Path(str(resources.files("metareview") / "examples" / "imatinib-ssc"))


def _load_records(path: Path) -> tuple[Record, ...]:
    if not path.exists():
        return ()
    known = {f.name for f in fields(Record)}
    out: list[Record] = []
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON: {exc.msg} (character {exc.colno})", file=str(path), row=i
            ) from exc
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", file=str(path), row=i)
        unknown = sorted(set(obj) - known)
        if unknown:
            raise InputError("unknown record field", file=str(path), row=i, field=unknown[0])
        for required in ("source", "title"):
            if not obj.get(required):
                raise InputError("missing", file=str(path), row=i, field=required)
        out.append(Record(**obj))
    return tuple(out)


def _load_screening(
    path: Path, protocol: Protocol, data: StudyDataFile, records: Sequence[Record]
) -> tuple[ScreeningDecision, ...]:
    if not path.exists():
        return ()
    record_ids = {r.source_id for r in records}
    study_ids = {s.id for s in data.studies}
    codes = set(protocol.reason_codes())
    out: list[ScreeningDecision] = []
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"source_id", "decision", "reason_code", "study_id", "reason"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise InputError("missing column", file=str(path), field=sorted(missing)[0])
        optional = {"stage", "reviewer"} & set(reader.fieldnames or [])
        for i, row in enumerate(reader, start=1):
            d = ScreeningDecision(
                **{k: (row.get(k) or "").strip() for k in sorted(need | optional)}
            )
            if d.stage:
                try:
                    stage = normalise_stage(d.stage)
                except InputError as exc:
                    raise InputError(exc.message, file=str(path), row=i, field="stage") from None
                d = replace(d, stage=stage)
            if records and d.source_id not in record_ids:
                raise InputError(
                    f"no record {d.source_id!r} in records.jsonl",
                    file=str(path), row=i, field="source_id",
                )  # fmt: skip
            if d.decision not in ("include", "exclude"):
                raise InputError(
                    f"decision must be include or exclude, got {d.decision!r}",
                    file=str(path), row=i, field="decision",
                )  # fmt: skip
            if d.decision == "exclude" and d.reason_code not in codes:
                raise InputError(
                    f"{d.reason_code!r} is not an eligibility code of the protocol "
                    f"({', '.join(sorted(codes))})",
                    file=str(path), row=i, field="reason_code",
                )  # fmt: skip
            if d.decision == "include" and d.study_id not in study_ids:
                raise InputError(
                    f"included record names study {d.study_id!r}, which studies.yaml lacks",
                    file=str(path), row=i, field="study_id",
                )  # fmt: skip
            if not d.reason:
                raise InputError("every decision needs a reason", file=str(path), row=i,
                                 field="reason")  # fmt: skip
            out.append(d)
    return tuple(out)


def load_folder(path: str | Path) -> ReviewFolder:
    """Load and cross-check a project folder (see the module docstring for its layout).

    Raises
    ------
    InputError, ProtocolError
        A file is missing or does not validate; the message names the file, row and field.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError("not a project folder", file=str(root))
    for name in ("protocol.yaml", "studies.yaml"):
        if not (root / name).is_file():
            raise InputError(f"the project has no {name}", file=str(root / name))
    protocol = load_protocol(root / "protocol.yaml")
    data = load_studies(root / "studies.yaml")
    outcome_names = {o.name for o in protocol.outcomes}
    for i, study in enumerate(data.studies):
        for name in list(study.outcomes) + list(study.not_extracted):
            if name not in outcome_names:
                raise InputError(
                    f"outcome {name!r} is not an outcome of the protocol "
                    f"({', '.join(sorted(outcome_names))})",
                    file=str(root / "studies.yaml"), field=f"studies[{i}].outcomes.{name}",
                )  # fmt: skip
    records = _load_records(root / "records.jsonl")
    if records:
        known = {r.source_id for r in records}
        for i, study in enumerate(data.studies):
            for rid in study.record_ids:
                if rid not in known:
                    raise InputError(
                        f"record {rid!r} is not in records.jsonl",
                        file=str(root / "studies.yaml"), field=f"studies[{i}].record_ids",
                    )  # fmt: skip
    screening = _load_screening(root / "screening.csv", protocol, data, records)
    published, published_source = load_published(root / PUBLISHED_FILE)
    return ReviewFolder(
        path=root,
        protocol=protocol,
        data=data,
        records=records,
        screening=screening,
        published=published,
        published_source=published_source,
    )


# -- building the store -----------------------------------------------------------------------


def _screening_file(review: ReviewFolder) -> str:
    return str(review.path / "screening.csv")


def _records_by_source(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records grouped by source, sources in order of first appearance."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.source, []).append(record)
    return groups


def _search_query(review: ReviewFolder, source: str) -> tuple[str | None, str | None]:
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


def _link_studies(project: Project, review: ReviewFolder, ids: Mapping[str, list[int]]) -> int:
    """Link each study's records (studies.yaml ``record_ids``, screening.csv ``study_id``)."""
    if not review.records:
        return 0  # no records to link: the studies of the data file stand alone
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


def _default_reviewer(review: ReviewFolder) -> str:
    """Who screened when the decisions file does not say: the protocol's only listed
    screener, else its first author, else the current user."""
    protocol = review.protocol
    if len(protocol.screening.reviewers) == 1:
        return protocol.screening.reviewers[0]
    if protocol.authors:
        return protocol.authors[0]
    return default_actor()


def _default_stage(review: ReviewFolder, decision: str, reason_code: str) -> str:
    if decision != "exclude" or not reason_code:
        return "full_text"
    try:
        criterion = review.protocol.criterion(reason_code)
    except KeyError:
        return "full_text"  # the screening layer reports the unknown code
    return "full_text" if criterion.stage == "full_text" else "title_abstract"


def _decision_rows(
    review: ReviewFolder, screening: Screening, ids: Mapping[str, list[int]]
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
    project: Project, review: ReviewFolder, *, actor: str | None = None
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


def import_folder(
    review: str | Path | ReviewFolder, dest: str | Path, *, actor: str | None = None
) -> Path:
    """Build the review folder's project store at ``dest``, fresh (see the module docstring).

    The project is built in a temporary folder next to ``dest`` and renamed into place when
    complete. An existing ``dest`` must be a metareview project (it is replaced) or an empty
    folder; anything else is refused rather than overwritten.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    InputError
        The review's files are inconsistent (see :func:`populate_project`); ``dest`` is a file
        or a folder that is not a project. Nothing is left behind.
    """
    proj = review if isinstance(review, ReviewFolder) else load_folder(review)
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
        _remove_abandoned(parent, target.name)
        tmp = parent / f".{target.name}-{os.getpid()}-{secrets.token_hex(6)}.tmp"
        tmp.mkdir()
    except OSError as exc:
        raise InputError(
            f"cannot create the project folder: {exc.strerror}", file=str(parent)
        ) from exc
    old: Path | None = None
    try:
        _build_in(proj, tmp, actor=actor)
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
    return target


_TMP_NAME = re.compile(r"^\.(?P<name>.+)-(?P<pid>\d+)-[0-9a-f]{12}\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_abandoned(parent: Path, name: str) -> None:
    """Clean up after builds of ``name`` whose process is gone (killed before it could): their
    half-built folders are removed; a previous project set aside for the swap
    (``.NAME-old-...``) is put back when no project took its place, else removed. A live
    build's folders (its process still runs) are left alone."""
    if not parent.is_dir():
        return
    target = parent / name
    old_prefix = f".{name}-old-"
    for entry in sorted(parent.iterdir()):
        is_old = entry.name.startswith(old_prefix)
        m = _TMP_NAME.match(entry.name[len(old_prefix):] if is_old else entry.name)
        if not (m and m["name"] == name and entry.is_dir()) or _alive(int(m["pid"])):
            continue
        if is_old and not target.exists():
            entry.rename(target)
        else:
            shutil.rmtree(entry, ignore_errors=True)


#: The folder's risk-of-bias assessments: a filled ``metareview rob --template`` form (optional).
ROB_FILE = "rob.csv"


def _build_in(review: ReviewFolder, folder: Path, *, actor: str | None) -> None:
    protocol_file = review.path / "protocol.yaml"
    project = Project.init(folder, protocol_file=protocol_file, actor=actor)
    try:
        populate_project(project, review, actor=actor)
        import_study_data(project, review, actor=actor)
        rob_file = review.path / ROB_FILE
        if rob_file.is_file():
            from metareview.review.rob import import_rob_into

            import_rob_into(project, rob_file, reviewer=_default_reviewer(review),
                            resolve_records=bool(review.records), actor=actor)  # fmt: skip
        published = review.path / PUBLISHED_FILE
        if published.is_file():
            shutil.copyfile(published, folder / PUBLISHED_FILE)
        if project.integrity_check() != "ok":
            raise StoreError(f"{folder}: the new project fails its integrity check")
    finally:
        project.close()


def run_folder(
    review: str | Path | ReviewFolder, out: str | Path | None = None, *, actor: str | None = None
) -> ReviewResult:
    """Run a review folder end to end: its project store at ``out/project`` (a temporary
    folder, removed afterwards, when ``out`` is None), then the analyses of that store.

    Returns
    -------
    ReviewResult
        As :func:`metareview.review.store.analyse_project` gives it for the new store.
    """
    proj = review if isinstance(review, ReviewFolder) else load_folder(review)
    if out is not None:
        dest = import_folder(proj, Path(out) / PROJECT_DIRNAME, actor=actor)
        return analyse_project(dest, write_prisma_files=True)
    with tempfile.TemporaryDirectory(prefix="metareview-") as tmp:
        dest = import_folder(proj, Path(tmp) / PROJECT_DIRNAME, actor=actor)
        result = analyse_project(dest, write_prisma_files=False)
    selection = result.selection
    if selection is not None:
        selection = replace(selection, project_dir=None, files={})
    return replace(result, selection=selection)


# -- the study data file into the store's extraction tables --------------------------------


def _value(
    study_id: int, outcome: str, group: str, arm: str, timepoint: str, scenario: str,
    field: str, q: Quantity,
) -> ExtractedValue:  # fmt: skip
    numeric = isinstance(q.value, int | float) and not isinstance(q.value, bool)
    return ExtractedValue(
        key=ValueKey(study_id, outcome, group, arm, timepoint, scenario, field),
        value=float(q.value) if numeric else None,  # type: ignore[arg-type]
        text=None if numeric or q.value is None else str(q.value),
        status=q.status,
        why=q.why,
        sensitivity=tuple(q.sensitivity or ()),
        source_ref=q.source.ref,
        location=q.source.where,
        quote=q.source.quote,
        note=q.note,
    )


#: Where each metafor input of a study data row goes: layout -> input -> (group, field, baseline).
_FOLDER_FIELDS: dict[str, dict[str, tuple[str, str, bool]]] = {
    "PR": {"xi": ("single", "events", False), "ni": ("single", "n", False)},
    "MC": {
        "m1i": ("single", "mean", False), "m2i": ("single", "mean", True),
        "sd1i": ("single", "sd", False), "sd2i": ("single", "sd", True),
        "ni": ("single", "n", False), "ri": ("single", "r", False),
    },
    "GEN": {
        "yi": ("single", "mean_change", False), "sei": ("single", "se", False),
        "pval": ("single", "pvalue", False), "ni": ("single", "n", False),
    },
    "2x2": {
        "ai": ("intervention", "events", False), "n1i": ("intervention", "n", False),
        "ci": ("comparator", "events", False), "n2i": ("comparator", "n", False),
    },
    "MEANS": {
        "m1i": ("intervention", "mean", False), "sd1i": ("intervention", "sd", False),
        "n1i": ("intervention", "n", False), "m2i": ("comparator", "mean", False),
        "sd2i": ("comparator", "sd", False), "n2i": ("comparator", "n", False),
    },
    "RATES": {
        "x1i": ("intervention", "events", False), "t1i": ("intervention", "person_time", False),
        "x2i": ("comparator", "events", False), "t2i": ("comparator", "person_time", False),
    },
    "RATE": {"xi": ("single", "events", False), "ti": ("single", "person_time", False)},
    "MEAN": {
        "mi": ("single", "mean", False), "sdi": ("single", "sd", False),
        "ni": ("single", "n", False),
    },
    "SD": {"sdi": ("single", "sd", False), "ni": ("single", "n", False)},
}  # fmt: skip

#: Derived inputs the extraction assembly recomputes itself (so they are not stored).
_RECOMPUTED = {("GEN", "sei", "se_from_pvalue")}


def _row_values(
    study_id: int, outcome: str, row: OutcomeData, where: str, file: str
) -> list[ExtractedValue]:
    fields_of = _FOLDER_FIELDS[row.measure]
    arm = row.arm or ""
    out = []
    for name, q in row.inputs.items():
        if q.derive is not None:
            if (row.measure, name, q.derive.method) in _RECOMPUTED:
                continue
            raise InputError(
                f"derived input {name!r} ({q.derive.method}) cannot go into the store; give the "
                "reported numbers it comes from (the analysis derives what it needs)",
                file=file, field=f"{where}.inputs.{name}",
            )  # fmt: skip
        if name not in fields_of:
            raise InputError(
                f"input {name!r} is not one of {row.measure}'s ({', '.join(fields_of)})",
                file=file, field=f"{where}.inputs.{name}",
            )  # fmt: skip
        group, fld, baseline = fields_of[name]
        timepoint = "baseline" if baseline else row.timepoint
        out.append(_value(study_id, outcome, group, arm, timepoint, row.scenario, fld, q))
    return out


def _study_ids(project: Project, data: StudyDataFile) -> dict[str, int]:
    """StudyData.id -> studies.id (the links made from ``record_ids``; new studies otherwise)."""
    by_label = {
        str(label): int(sid)
        for sid, label in project.connection.execute("SELECT id, label FROM studies")
        if label
    }
    out: dict[str, int] = {}
    for study in data.studies:
        if study.id in by_label:
            out[study.id] = by_label[study.id]
            continue
        with project.transaction() as tx:
            out[study.id] = tx.insert(
                "studies",
                {"label": study.id, "created_at": tx.at, "created_by": tx.actor},
                action="study-create",
            )
    return out


def _details(study: StudyData) -> dict[str, str]:
    facts = {
        "label": study.label,
        "citation": study.citation,
        "design": study.design,
    }
    if study.year is not None:
        facts["year"] = str(study.year)
    if study.population:
        facts["population"] = study.population
    if study.registry:
        facts["registry"] = json.dumps(study.registry)
    if study.note:
        facts["note"] = study.note
    for arm in study.arms:
        if not arm.included_in_review:
            facts[f"arm_excluded:{arm.name}"] = "true"
    for outcome, rows in study.outcomes.items():
        for row in rows:
            if row.note:
                facts[f"row_note:{outcome}:{row.scenario}"] = row.note
    return facts


def import_study_data(project: Project, review: ReviewFolder, *, actor: str | None = None) -> int:
    """Put the folder's study data (``studies.yaml``) into the store's extraction tables.

    Returns the batch id. Everything goes in one transaction.
    """
    file = str(review.path / "studies.yaml")
    for i, study in enumerate(review.data.studies):
        for outcome, rows in study.outcomes.items():
            for j, row in enumerate(rows):
                # every derivation is checked (a typed value against its computation) here,
                # although the store keeps only the reported numbers it comes from
                resolve_inputs(row, file=file, where=f"studies[{i}].outcomes.{outcome}[{j}]")
    ids = _study_ids(project, review.data)
    values: list[ExtractedValue] = []
    not_reported: dict[tuple[int, str], str] = {}
    details: dict[int, dict[str, str]] = {}
    for i, study in enumerate(review.data.studies):
        sid = ids[study.id]
        details[sid] = _details(study)
        for arm in study.arms:
            for fld, q in (("intervention", None), ("dose", arm.dose),
                           ("n_randomised", arm.n_enrolled), ("n", arm.n_analysed)):  # fmt: skip
                if fld == "intervention":
                    if arm.intervention:
                        details[sid][f"arm_intervention:{arm.name}"] = arm.intervention
                    continue
                if q is not None:
                    values.append(_value(sid, "", "study", arm.name, "", "main", fld, q))
        if study.duration_months is not None:
            values.append(
                _value(sid, "", "study", "", "", "main", "duration", study.duration_months)
            )
        for name, q in study.characteristics.items():
            values.append(_value(sid, "", "study", "", "", "main", f"characteristic:{name}", q))
        for outcome, rows in study.outcomes.items():
            for j, row in enumerate(rows):
                where = f"studies[{i}].outcomes.{outcome}[{j}]"
                values.extend(_row_values(sid, outcome, row, where, file))
        for outcome, reason in study.not_extracted.items():
            not_reported[(sid, outcome)] = " ".join(reason.split())
    reviewer = _default_reviewer(review)
    return record_values(
        project,
        values,
        reviewer=reviewer,
        file_name="studies.yaml",
        not_reported=not_reported,
        details=details,
        sources=review.data.sources,
        actor=actor,
    )
