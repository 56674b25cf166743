"""Screening decisions: who decided what about which report, at which stage, and why.

Two stages, ``title_abstract`` and ``full_text``. A decision is ``include``, ``exclude`` or
``maybe``; an exclusion names the eligibility criterion it fails (its code in the protocol; required
at full text, where PRISMA 2020 counts exclusions per reason). Decisions are never changed or
deleted: an undo marks a decision undone, and a reviewer's later decision on the same record and
stage supersedes the earlier one. Every write is one audited store transaction.

Each record's *final* decision at a stage is

1. the latest resolution, when reviewers disagreed and someone resolved it;
2. otherwise the reviewers' current decisions when they agree (same decision and, for a
   full-text exclusion, same reason); a disagreement is a *conflict* with no final decision;
3. otherwise (no reviewer has decided) a rule-based exclusion or a removal, if any.

With ``screening.dual: true`` in the protocol a record needs two reviewers' decisions before it
has a final one.

Examples
--------
>>> with Screening.open("imatinib-ssc") as s:                       # doctest: +SKIP
...     s.decide(12, "title_abstract", "exclude", reviewer="VL", reason="design")
...     s.conflicts("title_abstract")
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from metareview.errors import InputError, StoreError
from metareview.protocol import Protocol, load_protocol
from metareview.screening.agreement import Agreement, agreement
from metareview.screening.hints import publication_hints
from metareview.screening.reports import ReportSet, report_set
from metareview.store.project import Project, Transaction, default_actor

__all__ = [
    "BASES",
    "DECISIONS",
    "STAGES",
    "BulkResult",
    "Decision",
    "DecisionInput",
    "FinalDecision",
    "Screening",
    "normalise_stage",
    "reviewer_key",
]

STAGES: tuple[str, ...] = ("title_abstract", "full_text")
DECISIONS: tuple[str, ...] = ("include", "exclude", "maybe")
BASES: tuple[str, ...] = ("reviewer", "resolution", "rule", "removed")

_STAGE_ALIASES = {
    "title_abstract": "title_abstract",
    "title-abstract": "title_abstract",
    "title/abstract": "title_abstract",
    "titleabstract": "title_abstract",
    "ta": "title_abstract",
    "tiab": "title_abstract",
    "abstract": "title_abstract",
    "full_text": "full_text",
    "full-text": "full_text",
    "fulltext": "full_text",
    "full text": "full_text",
    "ft": "full_text",
}
_DECISION_ALIASES = {
    "include": "include",
    "included": "include",
    "i": "include",
    "yes": "include",
    "exclude": "exclude",
    "excluded": "exclude",
    "e": "exclude",
    "no": "exclude",
    "maybe": "maybe",
    "m": "maybe",
    "unsure": "maybe",
}


def normalise_stage(stage: str) -> str:
    """The canonical stage name for ``stage`` (accepts ``ta``, ``full-text`` ...).

    Raises
    ------
    InputError
        Not a stage.
    """
    key = _STAGE_ALIASES.get(str(stage).strip().lower())
    if key is None:
        raise InputError(f"unknown stage {stage!r}; use title_abstract or full_text")
    return key


def _normalise_decision(decision: str) -> str:
    key = _DECISION_ALIASES.get(str(decision).strip().lower())
    if key is None:
        raise InputError(f"unknown decision {decision!r}; use include, exclude or maybe")
    return key


def reviewer_key(name: str) -> str:
    """A reviewer's identity key: the name case-folded with runs of spaces collapsed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Decision:
    """One stored decision (``reviewer`` is None for rule-based exclusions and removals)."""

    id: int
    record_id: int
    stage: str
    reviewer: str | None
    decision: str
    reason: str | None
    note: str | None
    basis: str
    decided_at: str
    undone_at: str | None = None
    undone_by: str | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None


@dataclass(frozen=True, slots=True)
class FinalDecision:
    """The state of one record at one stage.

    ``status`` is ``final`` (``decision`` set), ``conflict`` (reviewers disagree, no
    resolution), ``awaiting`` (dual screening and fewer than two reviewers so far) or
    ``undecided``. ``basis`` says where a final decision comes from: ``reviewer`` (one
    reviewer, or several who agree), ``resolution``, ``rule`` or ``removed``.
    """

    record_id: int
    stage: str
    status: str
    decision: str | None = None
    reason: str | None = None
    basis: str | None = None
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DecisionInput:
    """One decision to record in bulk (a row of a decisions CSV)."""

    record: str | int
    stage: str
    decision: str
    reviewer: str
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _Checked:
    """A decision's record, stage, decision and reason, checked and ready to store."""

    record_id: int
    stage: str
    decision: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What :meth:`Screening.decide_many` did."""

    n_rows: int
    n_added: int
    n_unchanged: int


_SELECT_DECISIONS = (
    "SELECT d.id, d.record_id, d.stage, r.name, d.decision, d.reason, d.note, d.basis, "
    "d.decided_at, d.undone_at, d.undone_by FROM screening_decisions d "
    "LEFT JOIN reviewers r ON r.id = d.reviewer_id"
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Screening:
    """Screening decisions of one project, checked against its protocol.

    Parameters
    ----------
    project
        An open project (its schema includes migration 010_screening).
    protocol
        The protocol; default the one in the project folder (``project.protocol_path``).
    actor
        Who is acting, for the audit log (default :func:`metareview.store.default_actor`).
    """

    def __init__(
        self,
        project: Project,
        protocol: Protocol | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        self.project = project
        if protocol is None and project.protocol_path is not None:
            protocol = load_protocol(project.protocol_path)
        self.protocol = protocol
        self.actor = actor or default_actor()
        self._reports: ReportSet | None = None
        self._owns_project = False

    @classmethod
    def open(
        cls, path: str | Path, *, actor: str | None = None, read_only: bool = False
    ) -> Screening:
        """Open the project at ``path`` with its protocol; notice protocol amendments.

        ``read_only=True`` opens the store read-only (:meth:`Project.open`) for the commands
        that only read it; protocol amendments are then not recorded (the next writing command
        records them).

        Raises
        ------
        StoreError
            Not a project.
        ProtocolError
            The project's protocol file does not validate.
        """
        from metareview.screening.amendments import sync_protocol

        project = Project.open(path, actor=actor, read_only=read_only)
        try:
            screening = cls(project, actor=actor)
            if not read_only:
                sync_protocol(project, actor=actor)
        except BaseException:
            project.close()
            raise
        screening._owns_project = True
        return screening

    def close(self) -> None:
        """Close the project if :meth:`open` opened it."""
        if self._owns_project:
            self.project.close()

    def __enter__(self) -> Screening:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reports ---------------------------------------------------------------------------

    @property
    def reports(self) -> ReportSet:
        """The project's records grouped into reports (cached; see :meth:`refresh`)."""
        if self._reports is None:
            counts = Counter(
                int(r[0])
                for r in self.project.connection.execute(
                    "SELECT record_id FROM screening_decisions WHERE undone_at IS NULL"
                )
            )
            self._reports = report_set(self.project, self.protocol, prefer=counts)
        return self._reports

    def refresh(self) -> None:
        """Forget cached report groups (after records were imported or deduplicated)."""
        self._reports = None

    def _by_source_id(self, source_id: str) -> int:
        """The representative record of the record(s) whose source id is ``source_id`` (the
        ``source_id`` column of ``metareview export --records`` / ``--decisions``)."""
        reports = self.reports
        found = [rid for rid, s in reports.records.items() if s.record.source_id == source_id]
        if not found:
            raise InputError(f"unknown record: no record has source id {source_id!r}")
        reps = {reports.representative[r] for r in found}
        if len(reps) > 1:
            raise InputError(
                f"source id {source_id!r} is ambiguous: records "
                f"{', '.join(map(str, sorted(found)))} of different sources have it; use a "
                "record id"
            )
        return reps.pop()

    def resolve_record(self, ref: str | int) -> int:
        """The representative record id for a reference: a store id, ``pmid:...``, ``doi:...``
        or ``nct:...``.

        Raises
        ------
        InputError
            No such record, an ambiguous reference, or a duplicate record (names the record
            that stands for its report).
        """
        text = str(ref).strip()
        reports = self.reports
        if re.fullmatch(r"\d+", text):
            rid = int(text)
            if rid not in reports.records:
                raise InputError(f"unknown record {text}: the project has no record with that id")
            candidates = [rid]
        else:
            prefix, _, value = text.partition(":")
            prefix = prefix.strip().lower()
            value = value.strip()
            if prefix == "source_id" and value:
                return self._by_source_id(value)
            if prefix not in {"pmid", "doi", "nct"} or not value:
                raise InputError(
                    f"unknown record {text!r}: give a record id, pmid:<PMID>, doi:<DOI> or "
                    "nct:<NCT id>"
                )
            found = self.project.find_records(
                pmid=value if prefix == "pmid" else None,
                doi=value if prefix == "doi" else None,
                nct_id=value.upper() if prefix == "nct" else None,
            )
            if not found:
                raise InputError(f"unknown record {text!r}: no record in the project has it")
            candidates = [s.id for s in found]
            reps = {reports.representative[c] for c in candidates}
            if prefix == "nct" and len(reps) > 1:
                # Articles list the trials they report; "nct:" names the registration itself.
                registry = {
                    reports.representative[s.id] for s in found if s.record.kind == "registry"
                }
                if len(registry) == 1:
                    reps = registry
            if len(reps) > 1:
                raise InputError(
                    f"record {text!r} is ambiguous: it matches reports "
                    f"{', '.join(map(str, sorted(reps)))}; use a record id"
                )
            return reps.pop()
        rid = candidates[0]
        rep = reports.representative[rid]
        if rep != rid:
            raise InputError(
                f"record {rid} is a duplicate of record {rep} (same report); decide on {rep}"
            )
        return rid

    # -- reviewers -------------------------------------------------------------------------

    def reviewers(self) -> list[str]:
        """Registered reviewer names, in order of registration."""
        return [
            r[0] for r in self.project.connection.execute("SELECT name FROM reviewers ORDER BY id")
        ]

    def _reviewer_id(self, tx: Transaction, name: str) -> int:
        clean = " ".join(str(name).split())
        if not clean:
            raise InputError("a reviewer name is required", field="reviewer")
        if len(clean) > 100 or _CONTROL.search(clean):
            raise InputError(f"reviewer name {name!r} is not a plain name", field="reviewer")
        if clean.casefold() in {"rule", "removed"}:
            raise InputError(
                f"reviewer name {clean!r} is reserved for rule-based decisions", field="reviewer"
            )
        row = tx.execute(
            "SELECT id, name FROM reviewers WHERE name_key = ?", (reviewer_key(clean),)
        ).fetchone()
        if row is not None:
            if row[1] != clean:
                raise InputError(
                    f"reviewer {clean!r} clashes with reviewer {row[1]!r}: two reviewers cannot "
                    "have the same name (names differing only in case or spacing are the same); "
                    f"use {row[1]!r} for that person or a distinct name for another",
                    field="reviewer",
                )
            return int(row[0])
        return tx.insert(
            "reviewers",
            {
                "name": clean,
                "name_key": reviewer_key(clean),
                "created_at": tx.at,
                "created_by": tx.actor,
            },
            action="reviewer-add",
        )

    def add_reviewer(self, name: str) -> str:
        """Register a reviewer (idempotent for the same spelling); returns the stored name.

        Raises
        ------
        InputError
            The name clashes with another reviewer's (same name up to case and spacing).
        """
        with self.project.transaction(actor=self.actor) as tx:
            rid = self._reviewer_id(tx, name)
            return str(tx.row("reviewers", rid)["name"])

    # -- reading decisions -------------------------------------------------------------------

    def decisions(
        self,
        *,
        stage: str | None = None,
        reviewer: str | None = None,
        record_id: int | None = None,
        include_undone: bool = False,
    ) -> list[Decision]:
        """Stored decisions, oldest first, filtered by stage, reviewer and record."""
        where: list[str] = []
        params: list[Any] = []
        if stage is not None:
            where.append("d.stage = ?")
            params.append(normalise_stage(stage))
        if reviewer is not None:
            where.append("r.name_key = ?")
            params.append(reviewer_key(reviewer))
        if record_id is not None:
            where.append("d.record_id = ?")
            params.append(int(record_id))
        if not include_undone:
            where.append("d.undone_at IS NULL")
        sql = _SELECT_DECISIONS
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            Decision(*row)
            for row in self.project.connection.execute(sql + " ORDER BY d.id", params)
        ]

    def _current_by_reviewer(
        self, decisions: Iterable[Decision]
    ) -> dict[tuple[int, str], dict[str, Decision]]:
        """(record, stage) -> reviewer -> that reviewer's latest active decision."""
        out: dict[tuple[int, str], dict[str, Decision]] = {}
        for d in decisions:
            if d.basis == "reviewer" and d.reviewer is not None and d.active:
                out.setdefault((d.record_id, d.stage), {})[d.reviewer] = d
        return out

    def final_decisions(self, stage: str) -> dict[int, FinalDecision]:
        """The state of every record that has any decision at ``stage`` (see module docstring)."""
        stage = normalise_stage(stage)
        dual = bool(self.protocol and self.protocol.screening.dual)
        by_record: dict[int, list[Decision]] = {}
        for d in self.decisions(stage=stage):
            by_record.setdefault(d.record_id, []).append(d)
        out: dict[int, FinalDecision] = {}
        for rid, ds in by_record.items():
            out[rid] = _final(rid, stage, ds, dual=dual, stage_needs_reason=stage == "full_text")
        return out

    def conflicts(self, stage: str) -> list[tuple[int, list[Decision]]]:
        """Records on which reviewers disagree and no resolution is recorded, with the decisions."""
        stage = normalise_stage(stage)
        finals = self.final_decisions(stage)
        current = self._current_by_reviewer(self.decisions(stage=stage))
        return [
            (rid, sorted(current[(rid, stage)].values(), key=lambda d: d.id))
            for rid, f in sorted(finals.items())
            if f.status == "conflict"
        ]

    def progress(self, stage: str) -> dict[str, Any]:
        """Where screening of ``stage`` stands: ``candidates`` (reports of the stage),
        ``final`` (counts of final decisions by decision, ``conflict`` and ``awaiting``) and
        ``reviewers`` (per reviewer, counts of their current decisions by decision, and
        ``left``: the reports still in their queue)."""
        stage = normalise_stage(stage)
        candidates = self.candidates(stage)
        final = Counter(
            f.decision or f.status for f in self.final_decisions(stage).values()
        )
        current = self._current_by_reviewer(self.decisions(stage=stage))
        per: dict[str, Counter[str]] = {name: Counter() for name in self.reviewers()}
        for by_reviewer in current.values():
            for name, d in by_reviewer.items():
                per.setdefault(name, Counter())[d.decision] += 1
        reviewers = {
            name: {
                **{k: counts.get(k, 0) for k in DECISIONS},
                "done": sum(counts.values()),
                "left": len(self.queue(stage, name)),
            }
            for name, counts in per.items()
        }
        return {"candidates": len(candidates), "final": dict(final), "reviewers": reviewers}

    # -- eligibility per stage --------------------------------------------------------------

    def candidates(self, stage: str) -> list[int]:
        """Reports that belong to ``stage``: at title/abstract every database/register report;
        at full text the reports included or marked maybe at title/abstract plus the reports
        from other methods, less those whose full text was not retrieved."""
        stage = normalise_stage(stage)
        reports = self.reports
        if stage == "title_abstract":
            return reports.reports("main")
        ta = self.final_decisions("title_abstract")
        not_retrieved = {rid for rid, ok in self.retrieval().items() if not ok}
        out = []
        for rid in reports.reports():
            if rid in not_retrieved:
                continue
            if reports.column[rid] == "other":
                f = ta.get(rid)
                if f is None or f.decision != "exclude":
                    out.append(rid)
            elif (f := ta.get(rid)) is not None and f.decision in {"include", "maybe"}:
                out.append(rid)
        return out

    def queue(self, stage: str, reviewer: str) -> list[int]:
        """Reports at ``stage`` still to be screened by ``reviewer``: candidates the reviewer
        has not decided and that have no final decision by resolution, rule or removal."""
        stage = normalise_stage(stage)
        key = reviewer_key(reviewer)
        done: set[int] = set()
        for d in self.decisions(stage=stage):
            if (d.reviewer is not None and reviewer_key(d.reviewer) == key) or d.basis in {
                "resolution",
                "rule",
                "removed",
            }:
                done.add(d.record_id)
        return [rid for rid in self.candidates(stage) if rid not in done]

    def labels(self, stage: str = "title_abstract") -> dict[int, int]:
        """Record id -> 1 (included or maybe) / 0 (excluded), for training the ranker.

        A final decision counts when there is one; otherwise (conflict, awaiting) a record is
        relevant when any reviewer included it or marked it maybe. Full-text decisions override
        title/abstract ones when ``stage`` is ``full_text``.
        """
        stage = normalise_stage(stage)
        stages = ["title_abstract"] if stage == "title_abstract" else list(STAGES)
        out: dict[int, int] = {}
        for st in stages:
            finals = self.final_decisions(st)
            current = self._current_by_reviewer(self.decisions(stage=st))
            for rid, f in finals.items():
                if f.decision is not None:
                    out[rid] = 0 if f.decision == "exclude" else 1
                else:
                    votes = current.get((rid, st), {}).values()
                    out[rid] = int(any(v.decision != "exclude" for v in votes))
        return out

    # -- writing decisions ------------------------------------------------------------------

    def _check_reason(
        self, stage: str, decision: str, reason: str | None, basis: str
    ) -> str | None:
        reason = (reason or "").strip() or None
        if decision != "exclude":
            if reason is not None:
                raise InputError(
                    f"a reason is given only for an exclusion, not for {decision!r}",
                    field="reason",
                )
            return None
        if reason is None:
            if stage == "full_text" and basis in {"reviewer", "resolution"}:
                raise InputError(
                    "a full-text exclusion needs a reason: the code of the eligibility criterion "
                    "it fails" + self._codes_hint(),
                    field="reason",
                )
            return None
        if self.protocol is None:
            raise InputError(
                f"reason {reason!r} cannot be checked: the project has no protocol with "
                "eligibility criteria (init the project with --protocol)",
                field="reason",
            )
        if reason not in self.protocol.reason_codes():
            raise InputError(
                f"reason {reason!r} is not an eligibility code of the protocol"
                + self._codes_hint(),
                field="reason",
            )
        return reason

    def _codes_hint(self) -> str:
        if self.protocol is None:
            return ""
        return " (" + ", ".join(self.protocol.reason_codes()) + ")"

    def _check_stage_allowed(self, tx: Transaction, record_id: int, stage: str) -> None:
        if stage != "full_text":
            if self.reports.column[record_id] == "other":
                raise InputError(
                    f"record {record_id} comes from other methods (citation searching, "
                    "websites); PRISMA 2020 screens it at full text only",
                    field="stage",
                )
            return
        if self.reports.column[record_id] == "other":
            return
        ds = [
            Decision(*row)
            for row in tx.execute(
                _SELECT_DECISIONS
                + " WHERE d.record_id = ? AND d.stage = 'title_abstract' AND d.undone_at IS NULL"
                " ORDER BY d.id",
                (record_id,),
            )
        ]
        dual = bool(self.protocol and self.protocol.screening.dual)
        final = _final(record_id, "title_abstract", ds, dual=dual, stage_needs_reason=False)
        if final.decision not in {"include", "maybe"}:
            state = final.decision or final.status
            raise InputError(
                f"record {record_id} is not a full-text report: its title/abstract decision "
                f"is {state!r} (it must be include or maybe)",
                field="stage",
            )

    def _insert(
        self,
        tx: Transaction,
        checked: _Checked,
        *,
        reviewer: str | None,
        note: str | None,
        basis: str,
    ) -> Decision:
        reviewer_id = self._reviewer_id(tx, reviewer) if reviewer is not None else None
        note = (note or "").strip() or None
        c = checked
        values = {
            "record_id": c.record_id,
            "stage": c.stage,
            "reviewer_id": reviewer_id,
            "decision": c.decision,
            "reason": c.reason,
            "note": note,
            "basis": basis,
            "decided_at": tx.at,
        }
        did = tx.insert("screening_decisions", values, action=f"screen-{basis}")
        name = None if reviewer_id is None else str(tx.row("reviewers", reviewer_id)["name"])
        return Decision(did, c.record_id, c.stage, name, c.decision, c.reason, note, basis, tx.at)

    def _prepare(
        self,
        tx: Transaction,
        ref: str | int,
        stage: str,
        decision: str,
        reason: str | None,
        basis: str,
    ) -> _Checked:
        stage = normalise_stage(stage)
        decision = _normalise_decision(decision)
        reason = self._check_reason(stage, decision, reason, basis)
        record_id = self.resolve_record(ref)
        self._check_stage_allowed(tx, record_id, stage)
        return _Checked(record_id, stage, decision, reason)

    def decide(
        self,
        record: str | int,
        stage: str,
        decision: str,
        *,
        reviewer: str,
        reason: str | None = None,
        note: str | None = None,
    ) -> Decision:
        """Record one reviewer's decision.

        Parameters
        ----------
        record
            Record id (or ``pmid:``/``doi:``/``nct:`` reference) of a report's representative.
        stage
            ``title_abstract`` or ``full_text``.
        decision
            ``include``, ``exclude`` or ``maybe``.
        reviewer
            The reviewer's name (registered on first use).
        reason
            For an exclusion, the eligibility code it fails (required at full text).
        note
            Free text.

        Raises
        ------
        InputError
            Unknown record, stage, decision or reason code; a reviewer name clash; a full-text
            decision on a record not included at title/abstract. Nothing is written.
        """
        with self.project.transaction(actor=self.actor) as tx:
            checked = self._prepare(tx, record, stage, decision, reason, "reviewer")
            out = self._insert(tx, checked, reviewer=reviewer, note=note, basis="reviewer")
        return out

    def decide_many(self, rows: Iterable[DecisionInput], *, file: str | None = None) -> BulkResult:
        """Record many decisions in one transaction: all of them, or (on any bad row) none.

        A row equal to the reviewer's current decision (same decision, reason and note) is
        counted as unchanged and not stored again, so re-importing an export adds nothing.

        Raises
        ------
        InputError
            The first bad row, with ``file`` and its 1-based row number.
        """
        with self.project.transaction(actor=self.actor) as tx:
            result = self.record_decisions(tx, rows, file=file)
            if result.n_rows == 0:
                raise InputError("no decisions in the file", file=file)
        return result

    def record_decisions(
        self, tx: Transaction, rows: Iterable[DecisionInput], *, file: str | None = None
    ) -> BulkResult:
        """:meth:`decide_many` inside a caller's transaction ``tx`` (e.g. an import's, so a
        labelled file's records and decisions are stored together or not at all)."""
        n = added = unchanged = 0
        for n, row in enumerate(rows, start=1):
            try:
                checked = self._prepare(
                    tx, row.record, row.stage, row.decision, row.reason, "reviewer"
                )
                name_row = tx.execute(
                    "SELECT id FROM reviewers WHERE name_key = ?", (reviewer_key(row.reviewer),)
                ).fetchone()
                self._reviewer_id(tx, row.reviewer)  # checks the name before comparing
                if name_row is not None:
                    last = tx.execute(
                        "SELECT decision, reason, note FROM screening_decisions WHERE "
                        "record_id = ? AND stage = ? AND reviewer_id = ? AND basis = "
                        "'reviewer' AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                        (checked.record_id, checked.stage, int(name_row[0])),
                    ).fetchone()
                    if last is not None and tuple(last) == (
                        checked.decision,
                        checked.reason,
                        (row.note or "").strip() or None,
                    ):
                        unchanged += 1
                        continue
                self._insert(
                    tx, checked, reviewer=row.reviewer, note=row.note, basis="reviewer"
                )
                added += 1
            except InputError as exc:
                raise InputError(exc.message, file=file, row=n, field=exc.field) from None
        return BulkResult(n_rows=n, n_added=added, n_unchanged=unchanged)

    def resolve(
        self,
        record: str | int,
        stage: str,
        decision: str,
        *,
        reviewer: str,
        reason: str | None = None,
        note: str | None = None,
    ) -> Decision:
        """Record the agreed decision on a conflict (by the reviewers or a third person).

        Raises
        ------
        InputError
            The record has no conflict at that stage, or the decision is invalid.
        """
        with self.project.transaction(actor=self.actor) as tx:
            checked = self._prepare(tx, record, stage, decision, reason, "resolution")
            state = self.final_decisions(checked.stage).get(checked.record_id)
            if state is None or state.status != "conflict":
                raise InputError(
                    f"record {checked.record_id} has no conflict at {checked.stage} to resolve "
                    f"(its state is {state.status if state else 'undecided'!r})"
                )
            out = self._insert(tx, checked, reviewer=reviewer, note=note, basis="resolution")
        return out

    def remove(self, record: str | int | Sequence[str | int], why: str) -> list[Decision]:
        """Remove reports before screening for a stated reason (PRISMA 2020: "records removed
        for other reasons", e.g. a retracted article); ``why`` is kept as the note.

        Several records are removed in one transaction (all or none).
        """
        if not why.strip():
            raise InputError("say why the record is removed", field="note")
        refs = [record] if isinstance(record, str | int) else list(record)
        out: list[Decision] = []
        with self.project.transaction(actor=self.actor) as tx:
            for ref in refs:
                rid = self.resolve_record(ref)
                if self.reports.column[rid] == "other":
                    raise InputError(
                        f"record {rid} comes from other methods; it is not screened at "
                        "title/abstract, so it cannot be removed before screening"
                    )
                already = tx.execute(
                    "SELECT id FROM screening_decisions WHERE record_id = ? AND "
                    "basis = 'removed' AND undone_at IS NULL",
                    (rid,),
                ).fetchone()
                if already is not None:
                    raise InputError(
                        f"record {rid} is already removed (decision {already[0]}); "
                        "undo that decision to change it"
                    )
                out.append(
                    self._insert(
                        tx,
                        _Checked(rid, "title_abstract", "exclude", None),
                        reviewer=None,
                        note=why,
                        basis="removed",
                    )
                )
        return out

    def undo(
        self,
        decision_id: int | None = None,
        *,
        reviewer: str | None = None,
        stage: str | None = None,
    ) -> Decision:
        """Undo one decision: the given one, or ``reviewer``'s latest (at ``stage``, if given).

        The decision stays in the table with ``undone_at``/``undone_by`` set.

        Raises
        ------
        InputError
            Nothing to undo, or the decision is already undone.
        """
        if decision_id is None:
            if reviewer is None:
                raise InputError("undo: give a decision id or a reviewer")
            mine = [d for d in self.decisions(reviewer=reviewer, stage=stage) if d.active]
            if not mine:
                raise InputError(f"reviewer {reviewer!r} has no decision to undo")
            decision_id = mine[-1].id
        with self.project.transaction(actor=self.actor) as tx:
            try:
                row = tx.row("screening_decisions", decision_id)
            except StoreError:
                raise InputError(f"no decision with id {decision_id}") from None
            if row["undone_at"] is not None:
                raise InputError(f"decision {decision_id} was already undone at {row['undone_at']}")
            tx.update(
                "screening_decisions",
                decision_id,
                {"undone_at": tx.at, "undone_by": tx.actor},
                action="screen-undo",
            )
        found = self.decisions(record_id=int(row["record_id"]), include_undone=True)
        return next(d for d in found if d.id == decision_id)

    # -- full-text retrieval -----------------------------------------------------------------

    def mark_retrieval(
        self,
        record: str | int | Sequence[str | int],
        retrieved: bool,
        *,
        note: str | None = None,
    ) -> None:
        """Record whether reports' full texts were obtained (PRISMA 2020: "not retrieved").

        Several records are marked in one transaction (all or none).
        """
        refs = [record] if isinstance(record, str | int) else list(record)
        with self.project.transaction(actor=self.actor) as tx:
            for ref in refs:
                rid = self.resolve_record(ref)
                tx.insert(
                    "fulltext_retrieval",
                    {
                        "record_id": rid,
                        "retrieved": int(bool(retrieved)),
                        "note": note,
                        "marked_at": tx.at,
                        "marked_by": tx.actor,
                    },
                    action="retrieval",
                )

    def retrieval(self) -> dict[int, bool]:
        """Record id -> whether its full text was retrieved (latest mark not undone)."""
        out: dict[int, bool] = {}
        for rid, ok in self.project.connection.execute(
            "SELECT record_id, retrieved FROM fulltext_retrieval WHERE undone_at IS NULL "
            "ORDER BY id"
        ):
            out[int(rid)] = bool(ok)
        return out

    # -- rules -------------------------------------------------------------------------------

    def apply_publication_type_rule(self) -> list[Decision]:
        """Exclude, by rule, undecided title/abstract reports whose structured publication-type
        hint maps to an eligibility code, when the protocol turns the rule on.

        Returns the rule-based decisions written (none when the rule is off). Each is stored
        with basis ``rule`` and the hint's evidence as its note, so it is reported as an
        automation-tool exclusion in PRISMA and never mistaken for a reviewer's judgement.
        """
        if self.protocol is None or not self.protocol.screening.exclude_by_publication_type:
            return []
        decided = {d.record_id for d in self.decisions(stage="title_abstract")}
        written: list[Decision] = []
        with self.project.transaction(actor=self.actor) as tx:
            for rid in self.candidates("title_abstract"):
                if rid in decided:
                    continue
                record = self.reports.records[rid].record
                for hint in publication_hints(record, self.protocol):
                    if hint.structured and hint.reason is not None:
                        written.append(
                            self._insert(
                                tx,
                                _Checked(rid, "title_abstract", "exclude", hint.reason),
                                reviewer=None,
                                note=f"publication-type rule: {hint.label} ({hint.evidence})",
                                basis="rule",
                            )
                        )
                        break
        return written

    # -- agreement ---------------------------------------------------------------------------

    def reviewer_pairs(self, stage: str) -> list[tuple[str, str, int]]:
        """Pairs of reviewers at ``stage`` with the number of records both decided, most first."""
        stage = normalise_stage(stage)
        current = self._current_by_reviewer(self.decisions(stage=stage))
        overlap: Counter[tuple[str, str]] = Counter()
        for per in current.values():
            for a, b in combinations(sorted(per), 2):
                overlap[(a, b)] += 1
        return [(a, b, n) for (a, b), n in overlap.most_common()]

    def agreement(
        self, stage: str, reviewers: Sequence[str] | None = None, *, level: float = 95.0
    ) -> Agreement:
        """Percent agreement and Cohen's kappa of two reviewers at ``stage`` over the records
        both decided (their current decisions: include / exclude / maybe).

        Parameters
        ----------
        reviewers
            The two reviewers; default the pair who decided the most records in common.

        Raises
        ------
        InputError
            Not two distinct reviewers, or no record decided by both.
        """
        stage = normalise_stage(stage)
        if reviewers is None:
            pairs = self.reviewer_pairs(stage)
            if not pairs:
                raise InputError(f"no record at {stage} was decided by two reviewers")
            a, b = pairs[0][0], pairs[0][1]
        else:
            if len(reviewers) != 2:
                raise InputError("agreement is between exactly two reviewers")
            a, b = reviewers
            if reviewer_key(a) == reviewer_key(b):
                raise InputError(
                    f"the two reviewers have the same name ({a!r} and {b!r}); give two reviewers"
                )
        names = {reviewer_key(n): n for n in self.reviewers()}
        for who in (a, b):
            if reviewer_key(who) not in names:
                raise InputError(f"unknown reviewer {who!r}")
        a, b = names[reviewer_key(a)], names[reviewer_key(b)]
        current = self._current_by_reviewer(self.decisions(stage=stage))
        xs, ys = [], []
        for (_rid, _st), per in sorted(current.items()):
            if a in per and b in per:
                xs.append(per[a].decision)
                ys.append(per[b].decision)
        if not xs:
            raise InputError(f"reviewers {a!r} and {b!r} decided no record in common at {stage}")
        return agreement(xs, ys, level=level)

    # -- export --------------------------------------------------------------------------------

    def export_rows(self, *, include_undone: bool = False) -> Iterator[dict[str, Any]]:
        """Decisions as rows for CSV (the columns :meth:`decide_many` reads, and more)."""
        for d in self.decisions(include_undone=include_undone):
            yield {
                "decision_id": d.id,
                "record_id": d.record_id,
                "stage": d.stage,
                "decision": d.decision,
                "reason": d.reason or "",
                "reviewer": d.reviewer or "",
                "note": d.note or "",
                "basis": d.basis,
                "decided_at": d.decided_at,
                "undone_at": d.undone_at or "",
            }


def _final(
    record_id: int, stage: str, ds: Sequence[Decision], *, dual: bool, stage_needs_reason: bool
) -> FinalDecision:
    active = [d for d in ds if d.active]
    resolutions = [d for d in active if d.basis == "resolution"]
    if resolutions:
        r = resolutions[-1]
        return FinalDecision(
            record_id,
            stage,
            "final",
            r.decision,
            r.reason,
            "resolution",
            (r.reviewer,) if r.reviewer else (),
        )
    current: dict[str, Decision] = {}
    for d in active:
        if d.basis == "reviewer" and d.reviewer is not None:
            current[d.reviewer] = d
    if current:
        names = tuple(sorted(current))
        votes = {
            (d.decision, d.reason if (stage_needs_reason and d.decision == "exclude") else None)
            for d in current.values()
        }
        if len(votes) > 1:
            return FinalDecision(record_id, stage, "conflict", reviewers=names)
        if dual and len(current) < 2:
            return FinalDecision(record_id, stage, "awaiting", reviewers=names)
        decision, _ = next(iter(votes))
        reasons = [d.reason for d in current.values() if d.reason]
        reason = Counter(reasons).most_common(1)[0][0] if reasons else None
        return FinalDecision(record_id, stage, "final", decision, reason, "reviewer", names)
    automatic = [d for d in active if d.basis in {"rule", "removed"}]
    if automatic:
        r = automatic[-1]
        return FinalDecision(record_id, stage, "final", r.decision, r.reason, r.basis)
    return FinalDecision(record_id, stage, "undecided")
