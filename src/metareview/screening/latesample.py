"""The late-drawn random sample of a screening (Callaghan & Müller-Hansen's stopping rule).

The reviewer screens in the ranker's order until the switch rule fires
(:class:`metareview.screening.stopping.Switch`, ``metareview screen DIR --stop-late``, by
default :data:`~metareview.screening.stopping.DEFAULT_SWITCH`); then every record still
unscreened at the stage (the urn) is put in a random order, kept in the store with the rule and
seed (:func:`draw_late_sample`, one audited transaction, migration 033), and the screener shows
the urn in that order. Any prefix read is then a simple random sample of the urn, and after each
decision :func:`late_status` gives Callaghan & Müller-Hansen's p-value of "recall < target"
(:func:`metareview.screening.stopping.late_sample_decision`; Syst Rev 2020;9:273):

    K_τ = floor(found / τ - R_out) + 1,   p = P(X <= x),  X ~ Hypergeometric(U, K_τ, n)

with ``n`` the urn's records read *in the drawn order* (the longest prefix with a decision: a
record skipped out of order ends the sample, so the test stays on a random sample), ``x`` the
relevant among them, ``found`` every relevant record of the stage and ``R_out`` the most
relevant records there can be outside the urn (judged relevant, or not decided yet). A record
is relevant as the ranker learns it (included or maybe, :meth:`Screening.labels`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from metareview.errors import InputError
from metareview.screening.remaining import _stage_labels
from metareview.screening.stopping import StopDecision, late_sample_decision, parse_switch

if TYPE_CHECKING:
    from metareview.screening.decisions import Screening

__all__ = ["LateSample", "LateStatus", "draw_late_sample", "late_status", "latest_late_sample"]


@dataclass(frozen=True, slots=True)
class LateSample:
    """A switch to random order: the rule that fired, the records decided at the stage then
    (``screened``), and the unscreened records (the urn) in the random order drawn."""

    id: int
    stage: str
    switch: str
    screened: int
    seed: int
    records: tuple[int, ...]
    drawn_at: str


@dataclass(frozen=True, slots=True)
class LateStatus:
    """How far the urn has been read in the drawn order and what the test says.

    ``read`` urn records read in the drawn order (the prefix), ``relevant`` of them relevant;
    ``found`` every relevant record of the stage; ``outside`` the most relevant records there can
    be outside the urn (``R_out``); ``decision`` the rule's verdict."""

    sample: LateSample
    read: int
    relevant: int
    found: int
    outside: int
    decision: StopDecision

    def to_json(self) -> dict[str, Any]:
        return {
            "late_sample_id": self.sample.id, "switch": self.sample.switch,
            "switched_after": self.sample.screened, "drawn_at": self.sample.drawn_at,
            "urn": len(self.sample.records), "read": self.read, "relevant": self.relevant,
            "found": self.found, "outside": self.outside, "p": self.decision.value,
            "stop": self.decision.stop,
        }  # fmt: skip


def draw_late_sample(
    screening: Screening, stage: str, switch: str, *, seed: int | None = None
) -> LateSample:
    """Put every record with no decision at ``stage`` in a random order (seeded by ``seed``,
    else at random) and keep it, with the switch rule, in the store in one audited transaction.

    Raises
    ------
    InputError
        An invalid switch rule, or no record left unscreened.
    """
    from metareview.screening.decisions import normalise_stage

    stage = normalise_stage(stage)
    rule = parse_switch(switch)
    decided = set(screening.final_decisions(stage))
    candidates = screening.candidates(stage)
    urn = [rid for rid in candidates if rid not in decided]
    if not urn:
        raise InputError(f"no record is left unscreened at {stage}: nothing to draw")
    if seed is None:
        seed = secrets.randbelow(2**31)
    order = np.random.default_rng([int(seed), 273]).permutation(np.asarray(urn, dtype=np.int64))
    records = [int(r) for r in order]
    screened = len(candidates) - len(urn)
    with screening.project.transaction(actor=screening.actor) as tx:
        lid = tx.insert("screening_late_samples", {
            "stage": stage, "switch_rule": rule.spec, "screened": screened, "seed": int(seed),
            "records_json": json.dumps(records), "drawn_at": tx.at, "drawn_by": tx.actor,
        }, action="late-sample-draw")  # fmt: skip
        at = tx.at
    return LateSample(lid, stage, rule.spec, screened, int(seed), tuple(records), at)


def latest_late_sample(screening: Screening, stage: str) -> LateSample | None:
    """The latest switch to random order at ``stage``, or None."""
    from metareview.screening.decisions import normalise_stage

    row = screening.project.connection.execute(
        "SELECT id, stage, switch_rule, screened, seed, records_json, drawn_at "
        "FROM screening_late_samples WHERE stage = ? ORDER BY id DESC LIMIT 1",
        (normalise_stage(stage),),
    ).fetchone()
    if row is None:
        return None
    return LateSample(int(row[0]), str(row[1]), str(row[2]), int(row[3]), int(row[4]),
                      tuple(int(r) for r in json.loads(row[5])), str(row[6]))  # fmt: skip


def late_status(
    screening: Screening, stage: str, *, target: float = 0.95, confidence: float = 0.95
) -> LateStatus | None:
    """What the latest late draw at ``stage`` says now (None when there was no switch)."""
    sample = latest_late_sample(screening, stage)
    if sample is None:
        return None
    labels = _stage_labels(screening, sample.stage)
    read = relevant = 0
    for rid in sample.records:
        if rid not in labels:
            break
        read += 1
        relevant += labels[rid]
    urn = set(sample.records)
    outside = [r for r in screening.candidates(sample.stage) if r not in urn]
    out_rel = sum(labels.get(r, 0) for r in outside)
    out_undecided = sum(r not in labels for r in outside)
    found = out_rel + sum(labels.get(r, 0) for r in sample.records)
    decision = late_sample_decision(
        found, len(sample.records), read, relevant, outside=out_rel + out_undecided,
        target=target, confidence=confidence,
    )  # fmt: skip
    return LateStatus(sample, read, relevant, found, out_rel + out_undecided, decision)
