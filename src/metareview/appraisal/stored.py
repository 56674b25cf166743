"""Risk-of-bias assessments in the project store: record them, read them, find disagreements,
and the judgement that counts per study for an outcome.

An assessment is one study × protocol outcome × tool by one reviewer; it goes in through
:func:`record_assessments`, one file per call and in one transaction, so a file is stored whole
or not at all. Nothing is rewritten: importing an assessment again for the same study, outcome,
tool, reviewer and basis supersedes every current row of the earlier one, which stays in the
tables with when it was superseded; every insert is in the audit log.

Which assessment counts for a study and outcome (:func:`study_rob`), following the Cochrane
Handbook's advice that two reviewers assess risk of bias independently and resolve
disagreements (Handbook v6.4, section 8.1.1, and section 7.5):

1. the ``consensus`` assessment, when one is recorded (the latest);
2. otherwise the one reviewer's, when only one reviewer assessed it;
3. otherwise the reviewers' common judgement when every domain's and the overall judgement
   agree;
4. otherwise none: the study is left out (it is listed by ``metareview rob DIR --conflicts``
   until a consensus is recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metareview.appraisal.assessment import DomainResult, Judged
from metareview.appraisal.vocabulary import OVERALL, TOOLS
from metareview.errors import InputError
from metareview.store import Project

__all__ = [
    "BASES",
    "Assessment",
    "NewAssessment",
    "RobConflict",
    "StoredAnswer",
    "StudyRob",
    "assessments",
    "counted_assessments",
    "record_assessments",
    "rob_conflicts",
    "study_rob",
]

#: Who an assessment is by: one reviewer, or the consensus of two.
BASES: tuple[str, ...] = ("reviewer", "consensus")


@dataclass(frozen=True)
class StoredAnswer:
    """One answer to a signalling question, with the quote and record it rests on."""

    domain: str
    question: str
    answer: str
    quote: str | None = None
    source_record: int | None = None


@dataclass(frozen=True)
class NewAssessment:
    """An assessment to store: study, outcome, tool, answers and their judgements."""

    study_id: int
    outcome: str
    tool: str
    answers: tuple[StoredAnswer, ...]
    judged: Judged
    study: str | None = None


@dataclass(frozen=True)
class Assessment:
    """A stored (current) assessment."""

    study_id: int
    study: str
    outcome: str
    tool: str
    reviewer: str
    basis: str
    domains: tuple[DomainResult, ...]
    overall: DomainResult
    answers: tuple[StoredAnswer, ...] = field(default=())
    batch_id: int = 0

    def same_judgements(self, other: Assessment) -> bool:
        """Whether ``other`` has the same tool and the same judgement in every domain and
        overall (answers may differ)."""
        return (
            self.tool == other.tool
            and self.overall.judgement == other.overall.judgement
            and {d.domain: d.judgement for d in self.domains}
            == {d.domain: d.judgement for d in other.domains}
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``metareview rob DIR --json`` form of this assessment."""
        return {
            "study_id": self.study_id,
            "study": self.study,
            "outcome": self.outcome,
            "tool": self.tool,
            "reviewer": self.reviewer,
            "basis": self.basis,
            "domains": [
                {
                    "domain": d.domain,
                    "judgement": d.judgement,
                    "algorithm": d.algorithm,
                    "override": d.override,
                    "justification": d.justification,
                }
                for d in self.domains
            ],
            "overall": self.overall.judgement,
            "overall_algorithm": self.overall.algorithm,
            "overall_override": self.overall.override,
            "overall_justification": self.overall.justification,
        }


@dataclass(frozen=True)
class StudyRob:
    """The risk-of-bias judgement that counts for one study and outcome (see the module
    docstring); ``domains`` are ``(domain id, judgement)`` in the tool's order."""

    study_id: int
    study: str
    outcome: str
    tool: str
    overall: str
    domains: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RobConflict:
    """Two or more reviewers' different judgements (``question`` None) or answers for one
    study, outcome, tool and domain, with no consensus recorded."""

    study_id: int
    study: str
    outcome: str
    tool: str
    domain: str
    question: str | None
    values: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "study": self.study,
            "outcome": self.outcome,
            "tool": self.tool,
            "domain": self.domain,
            "question": self.question,
            "values": [{"reviewer": r, "value": v} for r, v in self.values],
        }


def record_assessments(
    project: Project,
    items: Sequence[NewAssessment],
    *,
    reviewer: str,
    basis: str = "reviewer",
    file_name: str | None = None,
    sha256: str | None = None,
    actor: str | None = None,
) -> int:
    """Store the assessments of one file in one transaction; returns the batch id.

    Raises
    ------
    InputError
        No reviewer, an unknown basis or tool, a study or record the project lacks. Nothing is
        stored then.
    """
    who = " ".join(reviewer.split())
    if not who:
        raise InputError("a reviewer name is required", field="--reviewer")
    if basis not in BASES:
        raise InputError(f"basis must be one of {', '.join(BASES)}, got {basis!r}", field="basis")
    conn = project.connection
    studies = {int(r[0]) for r in conn.execute("SELECT id FROM studies")}
    with project.transaction(actor=actor) as tx:
        batch = tx.insert(
            "rob_batches",
            {"file_name": file_name, "sha256": sha256, "reviewer": who, "basis": basis,
             "n_answers": sum(len(a.answers) for a in items), "imported_at": tx.at,
             "imported_by": tx.actor},
            action="rob-batch",
        )  # fmt: skip
        for item in items:
            if item.study_id not in studies:
                raise InputError(f"no study {item.study_id} in the project", field="study_id")
            if item.tool not in TOOLS:
                raise InputError(f"unknown tool {item.tool!r}", field="tool")
            key = (item.study_id, item.outcome, item.tool, who, basis)
            for table in ("rob_answers", "rob_judgements"):
                for (old,) in tx.execute(
                    f"SELECT id FROM {table} WHERE study_id = ? AND outcome = ? AND tool = ? "
                    "AND reviewer = ? AND basis = ? AND superseded_at IS NULL",
                    key,
                ).fetchall():
                    tx.update(table, int(old), {"superseded_at": tx.at, "superseded_by": tx.actor},
                              action="rob-supersede")  # fmt: skip
            for a in item.answers:
                if a.source_record is not None and not tx.execute(
                    "SELECT 1 FROM records WHERE id = ?", (a.source_record,)
                ).fetchone():
                    raise InputError(
                        f"no record {a.source_record} in the project", field="source_record"
                    )
                tx.insert(
                    "rob_answers",
                    {"batch_id": batch, "study_id": item.study_id, "outcome": item.outcome,
                     "tool": item.tool, "domain": a.domain, "question": a.question,
                     "answer": a.answer, "quote": a.quote, "source_record": a.source_record,
                     "reviewer": who, "basis": basis, "answered_at": tx.at},
                    action="rob-answer",
                )  # fmt: skip
            for d in (*item.judged.domains, item.judged.overall):
                tx.insert(
                    "rob_judgements",
                    {"batch_id": batch, "study_id": item.study_id, "study_label": item.study,
                     "outcome": item.outcome, "tool": item.tool, "domain": d.domain,
                     "judgement": d.judgement, "algorithm": d.algorithm, "override": d.override,
                     "justification": d.justification, "reviewer": who, "basis": basis,
                     "judged_at": tx.at},
                    action="rob-judgement",
                )  # fmt: skip
    return batch


def _labels(project: Project) -> dict[int, str]:
    return {
        int(i): (str(lab) if lab else f"study {i}")
        for i, lab in project.connection.execute("SELECT id, label FROM studies")
    }


def assessments(project: Project, *, outcome: str | None = None) -> list[Assessment]:
    """Every current assessment (every reviewer and basis), in the order stored, of one
    outcome if given."""
    conn = project.connection
    where = "superseded_at IS NULL" + (" AND outcome = ?" if outcome is not None else "")
    params: tuple[Any, ...] = (outcome,) if outcome is not None else ()
    labels = _labels(project)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (sid, out, tool, domain, judgement, algorithm, override, why, reviewer, basis,
         batch, label) in conn.execute(
        "SELECT study_id, outcome, tool, domain, judgement, algorithm, override, justification, "
        f"reviewer, basis, batch_id, study_label FROM rob_judgements WHERE {where} ORDER BY id",
        params,
    ):  # fmt: skip
        key = (int(sid), str(out), str(tool), str(reviewer), str(basis))
        entry = found.setdefault(key, {"domains": [], "overall": None, "answers": [],
                                       "batch": int(batch), "label": label})  # fmt: skip
        result = DomainResult(str(domain), str(judgement), algorithm, override, why)
        if domain == OVERALL:
            entry["overall"] = result
        else:
            entry["domains"].append(result)
    for sid, out, tool, reviewer, basis, domain, question, answer, quote, record in conn.execute(
        "SELECT study_id, outcome, tool, reviewer, basis, domain, question, answer, quote, "
        f"source_record FROM rob_answers WHERE {where} ORDER BY id", params
    ):  # fmt: skip
        key = (int(sid), str(out), str(tool), str(reviewer), str(basis))
        if key in found:
            found[key]["answers"].append(
                StoredAnswer(str(domain), str(question), str(answer), quote,
                             None if record is None else int(record))
            )  # fmt: skip
    out_list = []
    for (sid, out, tool, reviewer, basis), e in found.items():
        order = [d.id for d in TOOLS[tool].domains]
        domains = sorted(e["domains"], key=lambda d: order.index(d.domain))
        out_list.append(
            Assessment(sid, e["label"] or labels.get(sid, f"study {sid}"), out, tool, reviewer,
                       basis, tuple(domains), e["overall"], tuple(e["answers"]), e["batch"])
        )  # fmt: skip
    return out_list


def _grouped(items: Sequence[Assessment]) -> dict[tuple[int, str], list[Assessment]]:
    groups: dict[tuple[int, str], list[Assessment]] = {}
    for a in items:
        groups.setdefault((a.study_id, a.outcome), []).append(a)
    return groups


def counted_assessments(project: Project, *, outcome: str | None = None) -> list[Assessment]:
    """The assessment that counts per study and outcome (the module docstring's rule); studies
    whose reviewers disagree without a consensus are left out."""
    chosen: list[Assessment] = []
    for group in _grouped(assessments(project, outcome=outcome)).values():
        consensus = [a for a in group if a.basis == "consensus"]
        reviewed = [a for a in group if a.basis == "reviewer"]
        if consensus:
            chosen.append(max(consensus, key=lambda a: a.batch_id))
        elif reviewed and all(a.same_judgements(reviewed[0]) for a in reviewed[1:]):
            chosen.append(reviewed[0])
    return chosen


def study_rob(project: Project, outcome: str) -> dict[int, StudyRob]:
    """The risk-of-bias judgement that counts for each assessed study for ``outcome``, keyed by
    store study id (``IncludedStudy.study_id``).

    The consensus assessment if recorded; else the single reviewer's; else the reviewers'
    common judgements if they agree in every domain and overall. Studies whose two reviewers
    disagree without a consensus are left out (they are listed by :func:`rob_conflicts`), as
    are studies without an assessment for ``outcome``. Assessments are recorded only for
    studies included at the time of the import (``metareview rob DIR --import`` checks).
    """
    return {
        a.study_id: StudyRob(
            a.study_id, a.study, a.outcome, a.tool, a.overall.judgement,
            tuple((d.domain, d.judgement) for d in a.domains),
        )
        for a in counted_assessments(project, outcome=outcome)
    }


def rob_conflicts(project: Project) -> list[RobConflict]:
    """Where reviewers' independent assessments differ and no consensus is recorded: every
    domain (and ``overall``) whose judgements differ, and every question whose answers do."""
    out: list[RobConflict] = []
    for (sid, outcome), group in _grouped(assessments(project)).items():
        if any(a.basis == "consensus" for a in group):
            continue
        reviewed = [a for a in group if a.basis == "reviewer"]
        if len(reviewed) < 2:
            continue
        study = reviewed[0].study
        tools = sorted({a.tool for a in reviewed})
        if len(tools) > 1:
            out.append(RobConflict(sid, study, outcome, "/".join(tools), "tool", None,
                                   tuple((a.reviewer, a.tool) for a in reviewed)))  # fmt: skip
            continue
        tool = tools[0]
        for d in [*(d.id for d in TOOLS[tool].domains), OVERALL]:
            said = []
            for a in reviewed:
                j = a.overall if d == OVERALL else next(
                    (x for x in a.domains if x.domain == d), None)  # fmt: skip
                said.append((a.reviewer, j.judgement if j else ""))
            if len({v for _, v in said}) > 1:
                out.append(RobConflict(sid, study, outcome, tool, d, None, tuple(said)))
        questions = [
            (dom.id, q.id) for dom in TOOLS[tool].domains for q in dom.questions
        ]
        for dom_id, qid in questions:
            said = []
            for a in reviewed:
                ans = next((x.answer for x in a.answers if x.question == qid), "")
                said.append((a.reviewer, ans))
            if len({v for _, v in said}) > 1:
                out.append(RobConflict(sid, study, outcome, tool, dom_id, qid, tuple(said)))
    return out
