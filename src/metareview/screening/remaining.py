"""How many relevant records are left unscreened: an estimate from a random sample, with its
exact confidence interval.

The ranker's own estimate (:meth:`metareview.screening.ranking.Ranker.estimate_remaining_relevant`,
an extrapolation of the yield along the reading order) cannot be checked against anything: the
records an active learner reads are chosen, not sampled, so no model fitted to them is calibrated
on the records left (on the nine Cohen 2006 sets it was off by a median 37 records at 25%
screened: benchmarks/results/screening_stopping.md). A simple random sample of the unscreened
records is: with ``U`` records unscreened when ``s`` of them are drawn at random without
replacement and ``x`` of those are relevant, the number ``K`` of relevant records among the
``U`` has

    K_hat = U x / s                                         (unbiased)
    X ~ Hypergeometric(U, K, s)
    K_lo = min { K : P(X >= x | K) > (1 - c) / 2 }
    K_hi = max { K : P(X <= x | K) > (1 - c) / 2 }

the exact equal-tailed interval at confidence ``c`` (Clopper & Pearson's construction, Biometrika
1934;26:404-413, with the hypergeometric in place of the binomial, as the finite pool of
unscreened records requires). This is the random-sampling estimate of Callaghan & Müller-Hansen
(Syst Rev 2020;9:273), who sample the records left after active learning to test recall. The
relevant records left once the sample is read are ``K - x`` (those ``x`` are found).

In a project, ``metareview screen DIR --sample N`` draws the sample (kept in the store with the
pool it came from, :func:`draw_screening_sample`) and shows its records first, in the drawn
order, so any prefix read is itself a random sample; the progress line then gives the estimate
and interval of the relevant records still unscreened (:func:`sample_status`), and, once the
whole sample is read, the sample stopping rule's verdict from the one-sided bound
(:func:`sample_upper_bound`, :func:`metareview.screening.stopping.sample_decision`).

It costs the reading of ``s`` records that the ranking would have put later; on the Cohen sets a
sample of 100 gave a median absolute error of 4.9 records at 25% screened, its 95% interval
holding the truth in 96% of 54 runs (100% at 10% and at 50% screened):
benchmarks/results/screening_stopping.md.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import hypergeom

from metareview.errors import InputError

if TYPE_CHECKING:
    from metareview.screening.decisions import Screening

__all__ = [
    "RemainingEstimate",
    "SampleStatus",
    "StoredSample",
    "draw_sample",
    "draw_screening_sample",
    "latest_sample",
    "sample_estimate",
    "sample_status",
    "sample_upper_bound",
]


@dataclass(frozen=True, slots=True)
class RemainingEstimate:
    """Relevant records among the ``pool`` records that were unscreened when the sample was
    drawn: ``estimate`` (``K_hat``) and the exact interval ``lower``..``upper`` at
    ``confidence``, from ``sampled`` records of which ``relevant`` were relevant."""

    estimate: float
    lower: int
    upper: int
    confidence: float
    pool: int
    sampled: int
    relevant: int

    def left(self, found: int = 0) -> tuple[float, int, int]:
        """``(estimate, lower, upper)`` of the relevant records of the pool still unscreened,
        when ``found`` of them (the sample's ``relevant`` included) have been screened since."""
        if found < self.relevant:
            raise InputError(
                f"found {found} relevant records of the pool, fewer than the {self.relevant} of "
                "its sample", field="found",
            )  # fmt: skip
        return (
            max(0.0, self.estimate - found),
            max(0, self.lower - found),
            max(0, self.upper - found),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate, "lower": self.lower, "upper": self.upper,
            "confidence": self.confidence, "pool": self.pool, "sampled": self.sampled,
            "relevant": self.relevant, "method": "random sample",
        }  # fmt: skip


def sample_estimate(
    pool: int, sampled: int, relevant: int, *, confidence: float = 0.95
) -> RemainingEstimate:
    """Relevant records among ``pool`` unscreened records from a simple random sample of
    ``sampled`` of them holding ``relevant`` relevant ones (module notes: ``K_hat = U x / s``
    and the exact hypergeometric interval).

    Raises
    ------
    InputError
        Counts that cannot be (a sample larger than the pool, more relevant than sampled, an
        empty sample) or a confidence outside (0, 1).
    """
    _check_counts(pool, sampled, relevant, confidence)
    alpha = (1.0 - confidence) / 2.0
    return RemainingEstimate(
        estimate=pool * relevant / sampled,
        lower=_lower_bound(pool, sampled, relevant, alpha),
        upper=_upper_bound(pool, sampled, relevant, alpha),
        confidence=confidence,
        pool=pool,
        sampled=sampled,
        relevant=relevant,
    )


def _first(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """Smallest K in [lo, hi] with ok(K), ok monotone False..True (hi if none)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# K must leave room for the sample: x <= K <= U - (s - x). P(X >= x | K) grows with K and
# P(X <= x | K) falls with K (a larger K shifts the hypergeometric up), so each bound is found by
# bisection over that range.


def _lower_bound(pool: int, sampled: int, relevant: int, alpha: float) -> int:
    """``min { K : P(X >= x | K) > alpha }``, ``X ~ Hypergeometric(U, K, s)``."""
    return _first(relevant, pool - (sampled - relevant),
                  lambda k: float(hypergeom.sf(relevant - 1, pool, k, sampled)) > alpha)


def _upper_bound(pool: int, sampled: int, relevant: int, alpha: float) -> int:
    """``max { K : P(X <= x | K) > alpha }``, ``X ~ Hypergeometric(U, K, s)``."""
    k_min, k_max = relevant, pool - (sampled - relevant)
    # one below the first K where P(X <= x | K) <= alpha (k_max when there is none)
    beyond = _first(k_min, k_max,
                    lambda k: float(hypergeom.cdf(relevant, pool, k, sampled)) <= alpha)
    if float(hypergeom.cdf(relevant, pool, beyond, sampled)) > alpha:
        return k_max
    return max(k_min, beyond - 1)


def _check_counts(pool: int, sampled: int, relevant: int, confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must lie in (0, 1), got {confidence}", field="confidence")
    if not 0 < sampled <= pool:
        raise InputError(
            f"a sample of {sampled} from {pool} unscreened records: it must hold 1 to {pool}",
            field="sampled",
        )
    if not 0 <= relevant <= sampled:
        raise InputError(
            f"{relevant} relevant in a sample of {sampled}", field="relevant"
        )


def sample_upper_bound(pool: int, sampled: int, relevant: int, *, confidence: float = 0.95) -> int:
    """One-sided upper confidence bound of the relevant records ``K`` among ``pool``.

    ``K_hi = max { K : P(X <= x | K) > 1 - c }`` with ``X ~ Hypergeometric(U, K, s)``: the
    ``K`` not rejected by the one-sided test of "as few as ``x`` relevant in the sample" at
    level ``1 - c``, so ``P(K <= K_hi) >= c`` (the upper end of the two-sided interval of
    :func:`sample_estimate` at confidence ``2c - 1``). The sample stopping rule
    (:func:`metareview.screening.stopping.sample_recall_bound`) uses it.

    Raises
    ------
    InputError
        As :func:`sample_estimate`.
    """
    _check_counts(pool, sampled, relevant, confidence)
    return _upper_bound(pool, sampled, relevant, 1.0 - confidence)


def draw_sample(
    unscreened: Sequence[int] | NDArray[np.integer], size: int, *, seed: int | Sequence[int] = 0
) -> NDArray[np.intp]:
    """A simple random sample (without replacement, seeded) of ``size`` of the ``unscreened``
    records, in the random order drawn (all of them when fewer)."""
    pool = np.asarray(unscreened, dtype=np.intp).reshape(-1)
    if size < 1:
        raise InputError("the sample must hold 1 record or more", field="size")
    rng = np.random.default_rng(list(seed) if isinstance(seed, Sequence) else seed)
    return rng.choice(pool, min(size, len(pool)), replace=False)


# -- samples kept in the project store (metareview screen --sample N) ---------------------------


@dataclass(frozen=True, slots=True)
class StoredSample:
    """A sample drawn in a project: the records unscreened at the stage when it was drawn
    (``pool``) and those drawn, in the random order the screener shows them (``records``)."""

    id: int
    stage: str
    seed: int
    pool: tuple[int, ...]
    records: tuple[int, ...]
    drawn_at: str


@dataclass(frozen=True, slots=True)
class SampleStatus:
    """How far a stored sample has been screened and what it says.

    ``read`` sample records have a decision at the stage; ``estimate`` is
    :func:`sample_estimate` on them (None before the first); ``found`` the pool's records
    judged relevant since the draw (the sample's among them); ``left`` ``(estimate, lower,
    upper)`` of the relevant records still unscreened (:meth:`RemainingEstimate.left`).
    ``outside_relevant`` and ``outside_undecided`` count the stage's records outside the pool
    (decided before the draw, or added since) judged relevant and not decided yet: the sample
    says nothing of them, so the sample stopping rule counts them as found and as possibly
    relevant (:func:`metareview.screening.stopping.sample_decision`).
    """

    sample: StoredSample
    read: int
    estimate: RemainingEstimate | None
    found: int
    left: tuple[float, int, int] | None
    outside_relevant: int = 0
    outside_undecided: int = 0

    @property
    def complete(self) -> bool:
        """Every record of the sample has a decision at the stage."""
        return self.read == len(self.sample.records)

    def text(self) -> str:
        """The screener's progress text."""
        s = self.sample
        if self.estimate is None or self.left is None:
            return f"random sample: 0 of its {len(s.records)} records screened yet"
        est, lo, hi = self.left
        return (
            f"≈ {est:.1f} ({100 * self.estimate.confidence:g}% CI {lo}–{hi}; random sample, "
            f"{self.read} of {len(s.records)} read, of {len(s.pool)} unscreened)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample.id,
            "drawn_at": self.sample.drawn_at,
            "size": len(self.sample.records),
            "read": self.read,
            "pool": len(self.sample.pool),
            "found": self.found,
            "estimate": None if self.estimate is None else self.estimate.to_json(),
            "left": None if self.left is None else list(self.left),
            "outside_relevant": self.outside_relevant,
            "outside_undecided": self.outside_undecided,
        }


def draw_screening_sample(
    screening: Screening, stage: str, size: int, *, seed: int | None = None
) -> StoredSample:
    """Draw ``size`` records at random from those with no decision at ``stage`` yet and keep the
    sample (and the pool it was drawn from) in the store, in one audited transaction.

    Raises
    ------
    InputError
        No unscreened record, or a size below 1.
    """
    from metareview.screening.decisions import normalise_stage

    stage = normalise_stage(stage)
    decided = set(screening.final_decisions(stage))
    pool = [rid for rid in screening.candidates(stage) if rid not in decided]
    if not pool:
        raise InputError(f"no record is left unscreened at {stage}: nothing to sample")
    if seed is None:
        seed = secrets.randbelow(2**31)
    drawn = draw_sample(pool, size, seed=seed)
    with screening.project.transaction(actor=screening.actor) as tx:
        sid = tx.insert("screening_samples", {
            "stage": stage, "seed": int(seed), "pool_json": json.dumps(pool),
            "records_json": json.dumps([int(r) for r in drawn]), "drawn_at": tx.at,
            "drawn_by": tx.actor,
        }, action="sample-draw")  # fmt: skip
        at = tx.at
    return StoredSample(sid, stage, int(seed), tuple(pool), tuple(int(r) for r in drawn), at)


def latest_sample(screening: Screening, stage: str) -> StoredSample | None:
    """The latest sample drawn at ``stage``, or None."""
    from metareview.screening.decisions import normalise_stage

    stage = normalise_stage(stage)
    row = screening.project.connection.execute(
        "SELECT id, stage, seed, pool_json, records_json, drawn_at FROM screening_samples "
        "WHERE stage = ? ORDER BY id DESC LIMIT 1",
        (stage,),
    ).fetchone()
    if row is None:
        return None
    return StoredSample(int(row[0]), str(row[1]), int(row[2]), tuple(json.loads(row[3])),
                        tuple(json.loads(row[4])), str(row[5]))  # fmt: skip


def _stage_labels(screening: Screening, stage: str) -> dict[int, int]:
    """Record -> 1 (relevant) / 0 for every record with a current decision at ``stage``, read in
    one query (the screener asks after every decision): the latest resolution when there is
    one, else relevant when any reviewer's current decision (their latest not undone) is
    include or maybe, as :meth:`Screening.labels` counts a conflict; a rule-based exclusion or
    removal alone is 0."""
    rows = screening.project.connection.execute(
        "SELECT record_id, reviewer_id, decision, basis FROM screening_decisions "
        "WHERE stage = ? AND undone_at IS NULL ORDER BY id",
        (stage,),
    ).fetchall()
    resolved: dict[int, str] = {}
    votes: dict[int, dict[Any, str]] = {}
    for record_id, reviewer_id, decision, basis in rows:
        if basis == "resolution":
            resolved[int(record_id)] = str(decision)
        else:
            votes.setdefault(int(record_id), {})[reviewer_id if basis == "reviewer" else basis] = (
                str(decision)
            )
    out = {rid: int(any(d != "exclude" for d in v.values())) for rid, v in votes.items()}
    out.update({rid: int(d != "exclude") for rid, d in resolved.items()})
    return out


def sample_status(
    screening: Screening, stage: str, *, confidence: float = 0.95
) -> SampleStatus | None:
    """What the latest sample at ``stage`` says now (None when none was drawn). A record is
    relevant as the ranker learns it (:meth:`Screening.labels`: included or maybe)."""
    sample = latest_sample(screening, stage)
    if sample is None:
        return None
    labels = _stage_labels(screening, sample.stage)
    read = [r for r in sample.records if r in labels]
    found = sum(labels.get(r, 0) for r in sample.pool)
    pool = set(sample.pool)
    outside = [r for r in screening.candidates(sample.stage) if r not in pool]
    out_rel = sum(labels.get(r, 0) for r in outside)
    out_undecided = sum(r not in labels for r in outside)
    if not read:
        return SampleStatus(sample, 0, None, found, None, out_rel, out_undecided)
    est = sample_estimate(len(sample.pool), len(read), sum(labels.get(r, 0) for r in read),
                          confidence=confidence)  # fmt: skip
    return SampleStatus(sample, len(read), est, found, est.left(found), out_rel, out_undecided)
