"""Extracted values in the project store: record them, read them, find disagreements.

Values go in through :func:`record_values`, one batch (a file, a registry fill) per call and in
one transaction, so a batch is stored whole or not at all. A value is never rewritten: a new
value for the same key by the same reviewer (and basis) supersedes the earlier one, which stays
in the table with when it was superseded, and every insert is in the audit log.

Which value an analysis uses for a key (:func:`effective_values`), in the order of the Cochrane
Handbook's advice on independent double extraction (section 5.5.2):

1. the ``consensus`` value, when one is recorded;
2. otherwise the reviewers' values when they agree (or only one reviewer extracted it);
3. otherwise, when reviewers disagree, no value: the key is a conflict
   (``metareview extract DIR --conflicts``) until a consensus is recorded;
4. a value pre-filled from a registry (``registry``) only when no reviewer gave one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from metareview.errors import InputError
from metareview.extraction.provenance import SourceSpec
from metareview.extraction.values import BASES, ExtractedValue, ValueKey
from metareview.store import Project

__all__ = [
    "Conflict",
    "Effective",
    "conflicts",
    "current_values",
    "effective_values",
    "extraction_sources",
    "not_reported",
    "record_values",
    "study_details",
]

_COLUMNS = (
    "id, study_id, outcome, grp, arm, timepoint, scenario, field, value, text_value, status, why, "
    "sensitivity_json, source_record, source_ref, location, quote, note, reviewer, basis, "
    "extracted_at"
)


@dataclass(frozen=True)
class Conflict:
    """A key on which reviewers' current values disagree and no consensus is recorded."""

    key: ValueKey
    values: tuple[ExtractedValue, ...]


@dataclass(frozen=True)
class Effective:
    """The values an analysis uses, the conflicts left out and the registry values used."""

    values: tuple[ExtractedValue, ...]
    conflicts: tuple[Conflict, ...]
    unconfirmed: tuple[ExtractedValue, ...]


def _value(row: Sequence[object]) -> ExtractedValue:
    (vid, study, outcome, grp, arm, tp, scen, fld, value, text, status, why, sens, srec, sref,
     loc, quote, note, reviewer, basis, at) = row  # fmt: skip
    return ExtractedValue(
        key=ValueKey(int(study), str(outcome), str(grp), str(arm), str(tp), str(scen), str(fld)),  # type: ignore[call-overload]
        value=None if value is None else float(value),  # type: ignore[arg-type]
        text=None if text is None else str(text),
        status=str(status),
        why=None if why is None else str(why),
        sensitivity=tuple(float(v) for v in json.loads(str(sens))) if sens else (),
        source_record=None if srec is None else int(srec),  # type: ignore[call-overload]
        source_ref=None if sref is None else str(sref),
        location=str(loc or ""),
        quote=None if quote is None else str(quote),
        note=None if note is None else str(note),
        reviewer=str(reviewer),
        basis=str(basis),
        extracted_at=str(at),
        id=int(vid),  # type: ignore[call-overload]
    )


def record_values(
    project: Project,
    values: Sequence[ExtractedValue],
    *,
    reviewer: str,
    basis: str = "reviewer",
    file_name: str | None = None,
    sha256: str | None = None,
    not_reported: Mapping[tuple[int, str], str] | None = None,
    details: Mapping[int, Mapping[str, str]] | None = None,
    sources: Sequence[SourceSpec] = (),
    actor: str | None = None,
) -> int:
    """Store one batch of values (and reasons for outcomes not reported) in one transaction.

    Parameters
    ----------
    values
        The values; their ``reviewer``/``basis`` are replaced by the arguments.
    reviewer
        Who extracted them (required: double extraction compares reviewers).
    basis
        ``reviewer``, ``consensus`` or ``registry``.
    not_reported
        ``{(study_id, outcome): reason}``: why a study gives nothing for an outcome.
    details
        ``{study_id: {key: text}}``: study characteristics (design, population, ...).
    sources
        Citable documents the values' ``source_ref`` name, added when new.

    Returns
    -------
    int
        The batch id.

    Raises
    ------
    InputError
        No reviewer, an unknown basis, a study or record the project lacks, a source key that
        is neither given nor stored. Nothing is stored then.
    """
    who = " ".join(reviewer.split())
    if not who:
        raise InputError("a reviewer name is required", field="--reviewer")
    if basis not in BASES:
        raise InputError(f"basis must be one of {', '.join(BASES)}, got {basis!r}", field="basis")
    conn = project.connection
    studies = {int(r[0]) for r in conn.execute("SELECT id FROM studies")}
    with project.transaction(actor=actor) as tx:
        known = {str(r[0]) for r in tx.execute("SELECT key FROM extraction_sources")}
        for spec in sources:
            if spec.key in known:
                continue
            tx.insert(
                "extraction_sources",
                {
                    "key": spec.key,
                    "citation": spec.citation,
                    "url": spec.url,
                    "doi": spec.doi,
                    "note": spec.note,
                    "added_at": tx.at,
                    "added_by": tx.actor,
                },
                action="extraction-source",
            )
            known.add(spec.key)
        batch = tx.insert(
            "extraction_batches",
            {
                "file_name": file_name,
                "sha256": sha256,
                "reviewer": who,
                "basis": basis,
                "n_values": len(values),
                "imported_at": tx.at,
                "imported_by": tx.actor,
            },
            action="extraction-batch",
        )
        for v in values:
            k = v.key
            if k.study_id not in studies:
                raise InputError(f"no study {k.study_id} in the project", field="study_id")
            if v.source_ref is not None and v.source_ref not in known:
                raise InputError(f"unknown source {v.source_ref!r}", field="source_ref")
            if (
                v.source_record is not None
                and not tx.execute(
                    "SELECT 1 FROM records WHERE id = ?", (v.source_record,)
                ).fetchone()
            ):
                raise InputError(
                    f"no record {v.source_record} in the project", field="source_record"
                )
            old = tx.execute(
                "SELECT id FROM extraction_values WHERE study_id = ? AND outcome = ? AND grp = ? "
                "AND arm = ? AND timepoint = ? AND scenario = ? AND field = ? AND reviewer = ? "
                "AND basis = ? AND superseded_at IS NULL",
                (k.study_id, k.outcome, k.group, k.arm, k.timepoint, k.scenario, k.field, who,
                 basis),
            ).fetchone()  # fmt: skip
            if old is not None:
                tx.update(
                    "extraction_values",
                    int(old[0]),
                    {"superseded_at": tx.at, "superseded_by": tx.actor},
                    action="extraction-supersede",
                )
            tx.insert(
                "extraction_values",
                {
                    "batch_id": batch,
                    "study_id": k.study_id,
                    "outcome": k.outcome,
                    "grp": k.group,
                    "arm": k.arm,
                    "timepoint": k.timepoint,
                    "scenario": k.scenario,
                    "field": k.field,
                    "value": v.value,
                    "text_value": v.text,
                    "status": v.status,
                    "why": v.why,
                    "sensitivity_json": json.dumps(list(v.sensitivity)) if v.sensitivity else None,
                    "source_record": v.source_record,
                    "source_ref": v.source_ref,
                    "location": v.location,
                    "quote": v.quote,
                    "note": v.note,
                    "reviewer": who,
                    "basis": basis,
                    "extracted_at": tx.at,
                },
                action="extraction-value",
            )
        for (study_id, outcome), reason in (not_reported or {}).items():
            if study_id not in studies:
                raise InputError(f"no study {study_id} in the project", field="study_id")
            for (old_id,) in tx.execute(
                "SELECT id FROM extraction_not_reported WHERE study_id = ? AND outcome = ? AND "
                "reviewer = ? AND superseded_at IS NULL",
                (study_id, outcome, who),
            ).fetchall():
                tx.update("extraction_not_reported", int(old_id), {"superseded_at": tx.at},
                          action="extraction-not-reported-supersede")  # fmt: skip
            tx.insert(
                "extraction_not_reported",
                {"batch_id": batch, "study_id": study_id, "outcome": outcome, "reason": reason,
                 "reviewer": who, "noted_at": tx.at},
                action="extraction-not-reported",
            )  # fmt: skip
        for study_id, facts in (details or {}).items():
            for key, text in facts.items():
                for (old_id,) in tx.execute(
                    "SELECT id FROM study_details WHERE study_id = ? AND key = ? "
                    "AND superseded_at IS NULL",
                    (study_id, key),
                ).fetchall():
                    tx.update("study_details", int(old_id), {"superseded_at": tx.at},
                              action="study-detail-supersede")  # fmt: skip
                tx.insert(
                    "study_details",
                    {"study_id": study_id, "key": key, "value": text, "reviewer": who,
                     "noted_at": tx.at},
                    action="study-detail",
                )  # fmt: skip
    return batch


def current_values(project: Project, *, study_id: int | None = None) -> list[ExtractedValue]:
    """Every value not superseded, in the order stored (of one study, if given)."""
    sql = f"SELECT {_COLUMNS} FROM extraction_values WHERE superseded_at IS NULL"
    params: tuple[object, ...] = ()
    if study_id is not None:
        sql += " AND study_id = ?"
        params = (study_id,)
    return [_value(r) for r in project.connection.execute(sql + " ORDER BY id", params)]


def _by_key(values: Iterable[ExtractedValue]) -> dict[ValueKey, list[ExtractedValue]]:
    out: dict[ValueKey, list[ExtractedValue]] = {}
    for v in values:
        out.setdefault(v.key, []).append(v)
    return out


def effective_values(project: Project) -> Effective:
    """The values an analysis uses (see the module docstring for the rule)."""
    chosen: list[ExtractedValue] = []
    found: list[Conflict] = []
    unconfirmed: list[ExtractedValue] = []
    for key, group in _by_key(current_values(project)).items():
        consensus = [v for v in group if v.basis == "consensus"]
        reviewed = [v for v in group if v.basis == "reviewer"]
        registry = [v for v in group if v.basis == "registry"]
        if consensus:
            chosen.append(consensus[-1])
        elif reviewed:
            if all(v.same_content(reviewed[0]) for v in reviewed[1:]):
                chosen.append(reviewed[0])
            else:
                found.append(Conflict(key, tuple(reviewed)))
        elif registry:
            chosen.append(registry[-1])
            unconfirmed.append(registry[-1])
    chosen.sort(key=lambda v: v.id or 0)
    return Effective(tuple(chosen), tuple(found), tuple(unconfirmed))


def conflicts(project: Project) -> list[Conflict]:
    """Keys where reviewers' values disagree and no consensus is recorded."""
    return list(effective_values(project).conflicts)


def not_reported(project: Project) -> dict[tuple[int, str], str]:
    """``{(study_id, outcome): reason}`` for outcomes a study gives no usable data for."""
    out: dict[tuple[int, str], str] = {}
    for study_id, outcome, reason in project.connection.execute(
        "SELECT study_id, outcome, reason FROM extraction_not_reported "
        "WHERE superseded_at IS NULL ORDER BY id"
    ):
        out[(int(study_id), str(outcome))] = str(reason)
    return out


def study_details(project: Project) -> dict[int, dict[str, str]]:
    """``{study_id: {key: text}}``: the study characteristics recorded as text."""
    out: dict[int, dict[str, str]] = {}
    for study_id, key, value in project.connection.execute(
        "SELECT study_id, key, value FROM study_details WHERE superseded_at IS NULL ORDER BY id"
    ):
        out.setdefault(int(study_id), {})[str(key)] = str(value)
    return out


def extraction_sources(project: Project) -> list[SourceSpec]:
    """The citable documents (not records) values name as their source."""
    return [
        SourceSpec(key=str(k), citation=str(c), url=u, doi=d, note=n)
        for k, c, u, d, n in project.connection.execute(
            "SELECT key, citation, url, doi, note FROM extraction_sources ORDER BY id"
        )
    ]
