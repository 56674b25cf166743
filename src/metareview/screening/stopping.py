"""When to stop screening: a statistical rule and a heuristic, on the decisions so far.

- **Hypergeometric rule** (Callaghan MW, Müller-Hansen F. Statistical stopping criteria for
  automated screening in systematic reviews. Syst Rev 2020;9:273, doi:10.1186/s13643-020-01521-4).
  The last ``n`` records read are treated as a sample drawn without replacement from the
  ``N_n = N - (k - n)`` records that were unread before them (``k`` read so far, ``N`` in all).
  With ``r_seen`` relevant found in all and ``r_al`` among the first ``k - n``, recall is below
  the target ``τ`` exactly when that urn held ``K >= K_τ = floor(r_seen / τ - r_al) + 1``
  relevant records. The null hypothesis "recall < τ" is rejected when

      p_n = P(X <= k_n),  X ~ Hypergeometric(N_n, K_τ, n)

  (``k_n`` the relevant records among the last ``n``) falls below ``1 - confidence`` for some
  ``n``. An active-learning order puts relevant records first, so the tail of the order holds
  fewer of them than a random sample would: treating it as random is conservative (their
  Section "Stopping criteria during active learning"). Stop when ``min_n p_n < 1 - confidence``.
- **Random-sample rule** (``sample``): a simple random sample of ``s`` of the ``U`` records
  unscreened when it was drawn (the pool), read before the ranked order
  (:mod:`metareview.screening.remaining`, ``metareview screen --sample N``), with ``x``
  relevant, bounds the relevant records ``K`` of the pool from above at confidence ``c``:
  ``K_hi = max { K : P(X <= x | K) > 1 - c }``, ``X ~ Hypergeometric(U, K, s)``. The records
  outside the pool are known (decided before the draw) or counted as possibly relevant, so the
  total relevant is ``R <= R_out + K_hi`` with probability ``c`` at least, and with ``found``
  relevant records read in all (those outside the pool, the sample's and those the ranking
  found since) the lower confidence bound of recall is

      recall_lo = found / (R_out + K_hi)

  Stop when ``recall_lo >= τ``. This is Callaghan & Müller-Hansen's hypergeometric test with
  the random sample as the urn's draw (their "random sampling" stage): ``recall_lo >= τ``
  exactly when ``P(X <= x | K_τ) <= 1 - c`` for ``K_τ = floor(found / τ - R_out) + 1``, the
  fewest relevant records in the pool for which recall would be below ``τ``. Unlike the rule
  on the ranked tail it assumes nothing about the ranking, and it is one test, not one per
  record read: ``K_hi`` comes from the sample alone and ``found`` only grows, so the chance of
  stopping below the target is at most ``P(K > K_hi) <= 1 - c`` however often it is checked.
  The verdict is drawn once the whole sample is read (each prefix would be another test). The
  price: with the sample drawn up front from the whole set, ``K_hi`` is close to ``K`` only when
  the sample is a large share of it: on the nine Cohen sets (seeds 0-9, both levels) samples of
  100 records, 25% and 50% let it stop in 7, 14 and 22 of 180 runs, saving a mean 1.4-2.8% of
  the reading, below 95% recall in 2, 11 and 9 runs (benchmarks/results/screening_stopping.md).
- **N irrelevant in a row**: stop after ``n`` consecutive irrelevant decisions (a common
  heuristic with no recall guarantee; cf. Ros et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import hypergeom

from metareview.errors import InputError
from metareview.screening.remaining import sample_upper_bound

__all__ = [
    "StopDecision",
    "decide",
    "first_stop",
    "hypergeometric_p",
    "irrelevant_run",
    "sample_decision",
    "sample_recall_bound",
]


@dataclass(frozen=True, slots=True)
class StopDecision:
    """A stopping rule's verdict after the records read so far."""

    rule: str
    stop: bool
    value: float  # p-value (hypergeometric), irrelevant run, or recall's lower bound (sample)
    threshold: float


def _labels(labels_in_order: Sequence[int] | NDArray[Any]) -> NDArray[np.int64]:
    y = np.asarray(labels_in_order).astype(np.int64).reshape(-1)
    if y.size and not np.isin(y, (0, 1)).all():
        raise InputError("labels in reading order must be 0 or 1", field="labels")
    return y


def hypergeometric_p(
    labels_in_order: Sequence[int] | NDArray[Any], n_total: int, target: float = 0.95
) -> float:
    """Smallest p-value of "recall < target" over the tails of the order read so far.

    Parameters
    ----------
    labels_in_order
        1 / 0 for each record read so far, in reading order (``k`` of them).
    n_total
        ``N``, every record of the review (read or not).
    target
        Target recall ``τ`` in (0, 1).

    Returns
    -------
    float
        ``min_n P(X <= k_n)`` with ``X ~ Hypergeom(N - k + n, K_τ, n)`` (module notes); 1 when
        nothing relevant has been found; 0 when the null is impossible (``K_τ`` larger than the
        urn).
    """
    if not 0.0 < target < 1.0:
        raise InputError(f"target recall must lie in (0, 1), got {target}", field="target")
    y = _labels(labels_in_order)
    k = len(y)
    if n_total < k:
        raise InputError(f"{k} records read but only {n_total} in all", field="n_total")
    r_seen = int(y.sum())
    if r_seen == 0 or k == 0:
        return 1.0
    n = np.arange(1, k + 1)  # sample sizes: the last n records read
    tail = np.cumsum(y[::-1])  # k_n, relevant among the last n
    r_al = r_seen - tail
    urn = n_total - k + n
    k_tau = np.floor(r_seen / target - r_al + 1e-9).astype(np.int64) + 1
    k_tau = np.maximum(k_tau, 0)
    possible = k_tau <= urn
    if not possible.any():
        return 0.0
    if not possible.all():
        return 0.0
    # Within a run of irrelevant records (tail constant) the p-value falls as n grows: a sample
    # of n + 1 from an urn with one more irrelevant record is the n-sample (extra record drawn)
    # or a larger sample of the same urn, so X stochastically grows. The minimum over n is
    # therefore at the end of a run: before each relevant record, and at n = k.
    ends = np.flatnonzero(np.append(y[::-1][1:] == 1, True))
    p = hypergeom.cdf(tail[ends], urn[ends], k_tau[ends], n[ends])
    return float(min(np.min(p), 1.0))


def irrelevant_run(labels_in_order: Sequence[int] | NDArray[Any]) -> int:
    """Irrelevant records read since the last relevant one (all of them if none yet)."""
    y = _labels(labels_in_order)
    hits = np.flatnonzero(y == 1)
    return int(len(y) if hits.size == 0 else len(y) - 1 - hits[-1])


def _check_target(target: float, confidence: float) -> None:
    if not 0.0 < target < 1.0:
        raise InputError(f"target recall must lie in (0, 1), got {target}", field="target")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must lie in (0, 1), got {confidence}", field="confidence")


def sample_recall_bound(
    found: int,
    pool: int,
    sampled: int,
    sample_relevant: int,
    *,
    outside: int = 0,
    confidence: float = 0.95,
) -> float:
    """Lower confidence bound of recall from a random sample of the pool (module notes).

    Parameters
    ----------
    found
        Relevant records read in all: outside the pool, in the sample and found since.
    pool, sampled, sample_relevant
        ``U`` records unscreened when the sample was drawn, ``s`` of them sampled, ``x`` of
        those relevant.
    outside
        ``R_out``, the most relevant records there can be outside the pool (those judged
        relevant plus those not decided yet).
    confidence
        ``c``: ``recall >= recall_lo`` with probability ``c`` at least.

    Returns
    -------
    float
        ``found / (R_out + K_hi)``, at most 1 (1 when ``R_out + K_hi = 0``: the sample rules
        out any relevant record).
    """
    if found < 0 or outside < 0:
        raise InputError(f"counts must be 0 or more (found {found}, outside {outside})",
                         field="found")  # fmt: skip
    k_hi = sample_upper_bound(pool, sampled, sample_relevant, confidence=confidence)
    total = outside + k_hi
    return 1.0 if total == 0 else min(1.0, found / total)


def sample_decision(
    found: int,
    pool: int,
    sampled: int,
    sample_relevant: int,
    *,
    outside: int = 0,
    target: float = 0.95,
    confidence: float = 0.95,
    complete: bool = True,
) -> StopDecision:
    """The random-sample rule's verdict: stop when :func:`sample_recall_bound` reaches
    ``target`` and the sample has been read in full (``complete``)."""
    _check_target(target, confidence)
    bound = sample_recall_bound(found, pool, sampled, sample_relevant, outside=outside,
                                confidence=confidence)  # fmt: skip
    return StopDecision("sample", bool(complete and bound >= target - 1e-12), bound, target)


def first_stop(
    labels_in_order: Sequence[int] | NDArray[Any],
    rule: str,
    *,
    n_total: int | None = None,
    target: float = 0.95,
    confidence: float = 0.95,
    run: int = 50,
    check_every: int = 1,
    sample: int = 0,
    before: int = 0,
) -> int | None:
    """Number of records read when ``rule`` first says stop along an order, or None.

    Parameters
    ----------
    labels_in_order
        1 / 0 for the whole order (what a simulated reviewer reads, priors first).
    rule
        ``"hypergeometric"`` (target recall ``target`` at ``confidence``),
        ``"irrelevant-run"`` (``run`` irrelevant in a row) or ``"sample"`` (the random-sample
        rule at ``target`` and ``confidence``).
    n_total
        Records in the review; default the length of the order.
    check_every
        Test the hypergeometric rule after every ``check_every`` records (1: each record).
    sample, before
        For ``"sample"``: the order's first ``before`` records were read before the sample was
        drawn (the priors), the next ``sample`` are the random sample of the other
        ``n_total - before`` records (the pool). The rule can say stop from the sample's last
        record on.
    """
    y = _labels(labels_in_order)
    total = len(y) if n_total is None else int(n_total)
    if rule == "sample":
        _check_target(target, confidence)
        s, b = int(sample), int(before)
        if s < 1 or b < 0 or b + s > len(y):
            raise InputError(
                f"a sample of {sample} after {before} records does not fit an order of {len(y)}",
                field="sample",
            )
        outside = int(y[:b].sum())  # read before the draw: known
        x = int(y[b:b + s].sum())
        k_hi = sample_upper_bound(total - b, s, x, confidence=confidence)
        found = np.cumsum(y)[b + s - 1:]
        # found / (outside + k_hi) >= target, as sample_decision compares it
        total_hi = outside + k_hi
        ok = np.flatnonzero(found >= (target - 1e-12) * total_hi) if total_hi else np.array([0])
        return None if ok.size == 0 else int(b + s + ok[0])
    if rule == "irrelevant-run":
        if run < 1:
            raise InputError("the run must be 1 or more", field="run")
        # position of the run-th consecutive 0: cumulative count reset at each 1
        streak = 0
        for i, v in enumerate(y):
            streak = 0 if v else streak + 1
            if streak >= run:
                return i + 1
        return None
    if rule == "hypergeometric":
        if not 0.0 < confidence < 1.0:
            raise InputError("confidence must lie in (0, 1)", field="confidence")
        alpha = 1.0 - confidence
        step = max(1, int(check_every))
        for k in range(step, len(y) + 1, step):
            if hypergeometric_p(y[:k], total, target) < alpha:
                return k
        return None
    raise InputError(
        f"unknown stopping rule {rule!r}; use hypergeometric, irrelevant-run or sample",
        field="rule",
    )


def decide(
    labels_in_order: Sequence[int] | NDArray[Any],
    n_total: int,
    *,
    target: float = 0.95,
    confidence: float = 0.95,
    run: int = 50,
) -> list[StopDecision]:
    """Both rules' verdicts on the records read so far (for the screener's progress line)."""
    p = hypergeometric_p(labels_in_order, n_total, target)
    streak = irrelevant_run(labels_in_order)
    alpha = 1.0 - confidence
    return [
        StopDecision("hypergeometric", p < alpha, p, alpha),
        StopDecision("irrelevant-run", streak >= run, float(streak), float(run)),
    ]
