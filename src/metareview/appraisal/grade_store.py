"""GRADE ratings in the project store, and the GRADE assessment of a review from its store.

A reviewer's rating of one domain of one outcome (``metareview grade DIR --set OUTCOME DOMAIN
RATING --reason TEXT``) is one row of ``grade_ratings`` (migration ``031_grade``), inserted in
one transaction with its audit-log entry; rows are never changed (triggers refuse it), the latest
per outcome and domain counts. :func:`grade_review` combines a review's pooled analyses
(:class:`~metareview.review.result.ReviewResult`), the studies' risk-of-bias assessments and the
reviewers' ratings into one :class:`~metareview.appraisal.grade.GradeOutcome` per outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metareview.appraisal.grade import (
    DOMAINS,
    GradeOutcome,
    ReviewerRating,
    RobLike,
    grade_outcome,
    parse_rating,
)
from metareview.appraisal.stored import study_rob
from metareview.errors import InputError, MetareviewError
from metareview.protocol import Protocol, load_protocol
from metareview.store import Project

if TYPE_CHECKING:
    from metareview.review.result import OutcomeAnalysis, ReviewResult

__all__ = ["StoredRating", "grade_review", "rating_history", "reviewer_ratings", "set_rating"]


@dataclass(frozen=True)
class StoredRating:
    """One row of ``grade_ratings``."""

    id: int
    outcome: str
    domain: str
    rating: int
    suggested: int | None
    reason: str
    reviewer: str
    rated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "outcome": self.outcome, "domain": self.domain,
            "rating": self.rating, "suggested": self.suggested, "reason": self.reason,
            "reviewer": self.reviewer, "rated_at": self.rated_at,
        }  # fmt: skip


def _protocol(project: Project) -> Protocol:
    if project.protocol_path is None:
        raise InputError(
            "the project has no protocol; add one with 'metareview protocol DIR --replace FILE'",
            file=str(project.path),
        )
    return load_protocol(project.protocol_path)


def _has_table(project: Project) -> bool:
    return (
        project.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'grade_ratings'"
        ).fetchone()
        is not None
    )


def set_rating(
    project: Project,
    outcome: str,
    domain: str,
    rating: object,
    reason: str,
    *,
    reviewer: str | None = None,
    suggested: int | None = None,
) -> StoredRating:
    """Record a reviewer's rating of ``domain`` for ``outcome`` (one audited transaction).

    ``outcome`` is a protocol outcome's name (case-insensitive), ``domain`` one of
    :data:`~metareview.appraisal.grade.DOMAINS`, ``rating`` 0, -1 or -2, ``reason`` non-empty.

    Raises
    ------
    InputError
        Naming the argument that is wrong (``OUTCOME``, ``DOMAIN``, ``RATING``, ``--reason``);
        nothing is stored.
    """
    protocol = _protocol(project)
    try:
        name = protocol.outcome(outcome).name
    except KeyError:
        known = ", ".join(o.name for o in protocol.outcomes) or "none"
        raise InputError(
            f"{outcome!r} is not an outcome of the protocol (outcomes: {known})", field="OUTCOME"
        ) from None
    if domain not in DOMAINS:
        raise InputError(
            f"{domain!r} is not a GRADE domain; use one of {', '.join(DOMAINS)}", field="DOMAIN"
        )
    value = parse_rating(rating)
    text = " ".join(str(reason or "").split())
    if not text:
        raise InputError("a rating needs a reason", field="--reason")
    if not _has_table(project):
        raise MetareviewError("the project store has no grade_ratings table (migration 031)")
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    with project.transaction(actor=reviewer) as tx:
        who = reviewer or tx.actor
        row_id = tx.insert(
            "grade_ratings",
            {"outcome": name, "domain": domain, "rating": value, "suggested": suggested,
             "reason": text, "reviewer": who, "rated_at": at},
            action="grade_set",
        )  # fmt: skip
    return StoredRating(row_id, name, domain, value, suggested, text, who, at)


def rating_history(project: Project) -> list[StoredRating]:
    """Every rating ever recorded, oldest first (the append-only history)."""
    if not _has_table(project):
        return []
    rows = project.connection.execute(
        "SELECT id, outcome, domain, rating, suggested, reason, reviewer, rated_at "
        "FROM grade_ratings ORDER BY id"
    )
    return [StoredRating(*r) for r in rows]


def reviewer_ratings(project: Project) -> dict[str, dict[str, ReviewerRating]]:
    """The latest rating per outcome (case-folded name) and domain."""
    out: dict[str, dict[str, ReviewerRating]] = {}
    for r in rating_history(project):
        out.setdefault(r.outcome.casefold(), {})[r.domain] = ReviewerRating(
            r.rating, r.reason, r.reviewer, r.rated_at
        )
    return out


def _study_rob(project: Project, outcome: str) -> Mapping[int, RobLike]:
    """Risk-of-bias judgements that count for ``outcome`` (``metareview rob``), by study id;
    empty when nothing is assessed (or the store predates migration 030)."""
    exists = project.connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name LIKE 'rob%'"
    ).fetchone()
    if exists is None:
        return {}
    return study_rob(project, outcome)


def _egger_p(analysis: OutcomeAnalysis) -> float | None:
    if analysis.fit is None or analysis.k < 10:
        return None
    from metareview.models.smallstudy import regtest

    try:
        return float(regtest(analysis.fit).pval)
    except MetareviewError:
        return None


def grade_review(result: ReviewResult, project: Project) -> tuple[GradeOutcome, ...]:
    """One GRADE assessment per protocol outcome of ``result`` (a review from ``project``)."""
    protocol = result.protocol
    designs = {s.id: s.design for s in result.studies}
    ratings = reviewer_ratings(project)
    out = []
    for analysis in result.analyses:
        try:
            spec = protocol.outcome(analysis.outcome)
        except KeyError:
            spec = None
        out.append(
            grade_outcome(
                analysis,
                spec,
                designs=designs,
                rob=_study_rob(project, analysis.outcome),
                reviewer=ratings.get(analysis.outcome.casefold(), {}),
                egger_p=_egger_p(analysis),
            )
        )
    return tuple(out)
