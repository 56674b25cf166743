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
- **Late-drawn random sample** (``late-sample``, Callaghan & Müller-Hansen's own design: their
  "random sampling" after prioritised screening; their reference implementation of the test is
  ``calculate_h0`` of buscarR, https://mcallaghan.github.io/buscarR/reference/calculate_h0.html).
  The reviewer reads in the ranker's order until a *switch rule* fires (:class:`Switch`: ``n``
  irrelevant in a row, ``run:N`` or ``run:X%`` of the records, ``screened:X%`` of them, or the
  first of two such rules, ``run:50 or screened:60%``),
  then the ``U`` records still unscreened (the urn) are read in a random order. After each
  draw, with ``n`` drawn, ``x`` of them relevant, ``found`` relevant records read in all and
  ``R_out`` the most relevant records there can be outside the urn (those judged relevant
  before the switch, ``r_AL`` in the paper, plus any not decided since), recall is below
  ``τ`` exactly when the urn holds ``K >= K_τ`` relevant records,

      K_τ = floor(found / τ - R_out) + 1        (their K_tar = floor(r_seen / τ - r_AL + 1))
      p = P(X <= x),  X ~ Hypergeometric(U, K_τ, n)

  and the reviewer stops once ``p < 1 - confidence`` (``K_τ > U``: the null is impossible, p =
  0). Unlike the test on the ranked tail it assumes nothing about the ranking: the draws *are*
  a random sample of the urn. Like the paper, the test is repeated after every draw. Its cost
  is the reading of the draws: with ``K_τ`` small (few relevant records found), rejecting
  needs a large share of the urn, ``1 - (1 - c)^(1 / K_τ)`` of it when none of the draws is
  relevant. On the nine Cohen sets (both levels, seeds 0-9, target and confidence 0.95) the
  default switch :data:`DEFAULT_SWITCH` (``run:100 or screened:60%``, chosen by
  leave-one-review-out among 29 rules, in 7 of 9 folds with the current default ranker)
  stopped at a mean recall of 98.4%, at or above 95% on average on every file and level,
  below it in 4 of 180 runs (2.2%, within the 5% the confidence allows; in the 89 runs still
  below 95% recall at the switch, 200 random orders each stopped below it in 5.5%: testing
  after every draw costs a little over the nominal 5%), saving 13.0% of the reading; the
  test on the ranked tail saved 15.4% with none below, but only because these rankers rate
  the relevant records left above the irrelevant ones, which it assumes and cannot check
  (benchmarks/results/screening_stopping.md).
- **N irrelevant in a row**: stop after ``n`` consecutive irrelevant decisions (a common
  heuristic with **no recall guarantee**; cf. Ros et al. 2017). The run can be a share of the
  records (``"5%"``: ``ceil(0.05 N)``), so that it grows with the set, as the literature's
  heuristics do. The default :data:`DEFAULT_RUN`, 100 in a row, was chosen by
  leave-one-review-out over the nine Cohen sets among 6 lengths and 8 shares (1-20%) of N, in 8
  of 9 folds: mean recall 99.2%, below 95% in 1 of 180 runs, 17.5% saved (50 in a row: 37 of
  180 below, down to 70%). Shares of N did worse on these sets (310-1,218 records): a share
  short enough to stop early on the large sets is a handful of records on the small ones (5%
  of 310 is 16). The fold leaving Antihistamines out chose 15% of N, which stopped below 95%
  in 10 of 10 seeds of Antihistamines at full-text level (mean 81.9%): the heuristic has no
  guarantee (benchmarks/results/screening_stopping.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import hypergeom

from metareview.errors import InputError
from metareview.screening.remaining import sample_upper_bound

__all__ = [
    "DEFAULT_RUN",
    "DEFAULT_SWITCH",
    "StopDecision",
    "Switch",
    "decide",
    "first_stop",
    "hypergeometric_p",
    "irrelevant_run",
    "late_sample_decision",
    "late_sample_p",
    "late_sample_stop",
    "parse_switch",
    "run_length",
    "sample_decision",
    "sample_recall_bound",
]

#: The irrelevant-run heuristic's default run: a share of the records (``run_length``), chosen by
#: leave-one-review-out over the nine Cohen sets (benchmarks/results/screening_stopping.md).
DEFAULT_RUN = "100"

#: The late-drawn sample rule's default switch rule (:func:`parse_switch`), chosen by
#: leave-one-review-out over the nine Cohen sets (benchmarks/results/screening_stopping.md).
DEFAULT_SWITCH = "run:100 or screened:60%"


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
    _check_target(target)
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


def _check_target(target: float, confidence: float | None = None) -> None:
    """Target recall (and, when given, confidence) strictly between 0 and 1."""
    if not 0.0 < target < 1.0:
        raise InputError(f"target recall must lie in (0, 1), got {target}", field="target")
    if confidence is not None and not 0.0 < confidence < 1.0:
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
    run: int | str = DEFAULT_RUN,
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
        ``"irrelevant-run"`` (``run`` irrelevant in a row: records, or ``"X%"`` of
        ``n_total``, :func:`run_length`) or ``"sample"`` (the random-sample rule at ``target``
        and ``confidence``). The late-drawn sample rule reads a random order after its switch,
        not the given order: :func:`late_sample_stop`.
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
        length = run_length(run, total)
        # position of the run-th consecutive 0: cumulative count reset at each 1
        streak = 0
        for i, v in enumerate(y):
            streak = 0 if v else streak + 1
            if streak >= length:
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
    run: int | str = DEFAULT_RUN,
) -> list[StopDecision]:
    """Both rules' verdicts on the records read so far (for the screener's progress line); the
    irrelevant run's threshold is ``run_length(run, n_total)``."""
    p = hypergeometric_p(labels_in_order, n_total, target)
    streak = irrelevant_run(labels_in_order)
    length = run_length(run, n_total)
    alpha = 1.0 - confidence
    return [
        StopDecision("hypergeometric", p < alpha, p, alpha),
        StopDecision("irrelevant-run", streak >= length, float(streak), float(length)),
    ]


# -- the irrelevant run as a share of the records; the late-drawn random sample ----------------


def run_length(run: int | str, n_total: int) -> int:
    """Records in the irrelevant run: ``run`` itself (``50``, ``"50"``) or ``ceil(X / 100 N)``
    for ``"X%"`` of the ``N = n_total`` records (at least 1).

    Raises
    ------
    InputError
        A run below 1, a share outside (0, 100], or text that is neither.
    """
    text = str(run).strip()
    try:
        if text.endswith("%"):
            share = float(text[:-1])
            if not 0.0 < share <= 100.0:
                raise ValueError
            return max(1, math.ceil(share / 100.0 * int(n_total) - 1e-9))
        length = int(text)
    except ValueError:
        raise InputError(
            f"irrelevant run {run!r}: give a number of records (50) or a share of them (5%)",
            field="run",
        ) from None
    if length < 1:
        raise InputError("the run must be 1 or more", field="run")
    return length


_SWITCH_KINDS = ("run", "screened")


@dataclass(frozen=True, slots=True)
class Switch:
    """When ranked screening hands over to random draws (the late-drawn sample rule).

    ``kind`` ``"run"``: after ``value`` irrelevant records in a row (the irrelevant-run
    heuristic firing); ``"screened"``: once ``value`` records are screened. ``share``: ``value``
    is a percentage of the records ``N`` (rounded up), not a count. ``otherwise``: a second
    rule; the switch fires at whichever comes first. Written ``run:50``, ``run:2%``,
    ``screened:30%``, ``run:50 or screened:60%`` (:func:`parse_switch`).
    """

    kind: str
    value: float
    share: bool
    otherwise: Switch | None = None

    @property
    def spec(self) -> str:
        one = f"{self.kind}:{self.value:g}{'%' if self.share else ''}"
        return one if self.otherwise is None else f"{one} or {self.otherwise.spec}"

    @property
    def counts_runs(self) -> bool:
        """Whether any of its rules counts irrelevant records in a row."""
        return self.kind == "run" or (self.otherwise is not None and self.otherwise.counts_runs)

    def records(self, n_total: int) -> int:
        """This rule's threshold in records for a review of ``n_total`` records (the first
        rule's, when there are two)."""
        if self.share:
            return max(1, math.ceil(self.value / 100.0 * int(n_total) - 1e-9))
        return max(1, int(self.value))

    def point(self, labels_in_order: Sequence[int] | NDArray[Any], n_total: int) -> int | None:
        """Records read when the switch first fires along the order, or None."""
        y = _labels(labels_in_order)
        at = self.records(n_total)
        if self.kind == "screened":
            here = at if at <= len(y) else None
        else:
            here = first_stop(y, "irrelevant-run", n_total=n_total, run=at)
        there = None if self.otherwise is None else self.otherwise.point(y, n_total)
        hits = [k for k in (here, there) if k is not None]
        return min(hits) if hits else None

    def text(self) -> str:
        """How the screener names it."""
        amount = f"{self.value:g}% of the records" if self.share else f"{self.value:g}"
        if self.kind == "run":
            one = f"after {amount} irrelevant in a row"
        else:
            one = f"after {amount} screened" if self.share else f"after {amount} records screened"
        if self.otherwise is None:
            return one
        return f"{one} or {self.otherwise.text()}"


def _parse_one(spec: str, whole: str) -> Switch:
    kind, _, amount = spec.strip().partition(":")
    kind = kind.strip().lower()
    amount = amount.strip()
    share = amount.endswith("%")
    try:
        value = float(amount[:-1] if share else amount)
    except ValueError:
        value = math.nan
    if kind not in _SWITCH_KINDS or not value > 0 or (share and value > 100) or (
        not share and value != int(value)
    ):
        raise InputError(
            f"switch rule {whole!r}: give run:N or run:X% (irrelevant records in a row) or "
            "screened:N or screened:X% (records screened), or two of them joined by 'or'",
            field="switch",
        )
    return Switch(kind, value, share)


def parse_switch(spec: str | Switch) -> Switch:
    """``run:50``, ``run:2%``, ``screened:30%``, ``screened:400`` or two joined by ``or``
    (``run:50 or screened:60%``: whichever fires first) as a :class:`Switch`.

    Raises
    ------
    InputError
        An unknown kind, an amount that is not a positive number (a share above 100%), or
        more than two rules.
    """
    if isinstance(spec, Switch):
        return spec
    parts = [t for t in str(spec).lower().split(" or ")]
    if len(parts) > 2:
        raise InputError(f"switch rule {spec!r}: at most two rules joined by 'or'",
                         field="switch")  # fmt: skip
    first = _parse_one(parts[0], str(spec))
    if len(parts) == 1:
        return first
    return Switch(first.kind, first.value, first.share, _parse_one(parts[1], str(spec)))


def _k_tau(found: int | NDArray[Any], outside: int, target: float) -> Any:
    """``floor(found / τ - R_out) + 1`` (at least 0): the fewest relevant records in the urn for
    which recall would be below ``τ`` (module notes)."""
    k = np.floor(np.asarray(found, dtype=np.float64) / target - outside + 1e-9).astype(np.int64)
    return np.maximum(k + 1, 0)


def _late_p(x: Any, urn: int, k_tau: Any, n: Any) -> NDArray[np.float64]:
    """``P(X <= x)``, ``X ~ Hypergeometric(urn, K_τ, n)``; 0 where ``K_τ > urn`` (impossible)."""
    k_tau = np.asarray(k_tau, dtype=np.int64)
    possible = k_tau <= urn
    p = np.zeros(np.broadcast(np.asarray(x), k_tau, np.asarray(n)).shape, dtype=np.float64)
    if possible.any():
        kt = np.where(possible, k_tau, 0)
        p = np.where(possible, hypergeom.cdf(x, urn, kt, n), 0.0)
    return np.minimum(np.asarray(p, dtype=np.float64), 1.0)


def late_sample_p(
    found: int,
    pool: int,
    sampled: int,
    sample_relevant: int,
    *,
    outside: int,
    target: float = 0.95,
) -> float:
    """p-value of "recall < target" from a random sample drawn late (module notes).

    Parameters
    ----------
    found
        Relevant records read in all (before the switch, in the draws, and any other).
    pool, sampled, sample_relevant
        ``U`` records unscreened at the switch (the urn), ``n`` of them drawn and read, ``x`` of
        those relevant.
    outside
        ``R_out``: the most relevant records there can be outside the urn (those judged
        relevant plus those not decided yet).
    target
        Target recall ``τ``.

    Returns
    -------
    float
        ``P(X <= x)`` with ``X ~ Hypergeometric(U, K_τ, n)``, ``K_τ = floor(found / τ -
        R_out) + 1``; 0 when ``K_τ > U``.
    """
    _check_target(target)
    if not 0 <= sampled <= pool or not 0 <= sample_relevant <= sampled:
        raise InputError(
            f"{sample_relevant} relevant in {sampled} drawn from {pool} records", field="sampled"
        )
    if found < sample_relevant or outside < 0:
        raise InputError(
            f"found {found} relevant records, fewer than the {sample_relevant} drawn",
            field="found",
        )
    k_tau = _k_tau(found, outside, target)
    return float(_late_p(sample_relevant, pool, k_tau, sampled))


def late_sample_decision(
    found: int,
    pool: int,
    sampled: int,
    sample_relevant: int,
    *,
    outside: int,
    target: float = 0.95,
    confidence: float = 0.95,
) -> StopDecision:
    """The late-drawn sample rule's verdict: stop when :func:`late_sample_p` ``< 1 -
    confidence``."""
    _check_target(target, confidence)
    p = late_sample_p(found, pool, sampled, sample_relevant, outside=outside, target=target)
    alpha = 1.0 - confidence
    return StopDecision("late-sample", p < alpha, p, alpha)


def late_sample_stop(
    labels_in_order: Sequence[int] | NDArray[Any],
    switch: str | Switch = DEFAULT_SWITCH,
    *,
    seed: int = 0,
    n_total: int | None = None,
    target: float = 0.95,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Replay the late-drawn sample rule on a ranked order (a simulation).

    The reviewer reads ``labels_in_order`` (the ranker's whole order, priors first) until
    ``switch`` fires after ``k0`` records, then the other ``U = N - k0`` records in a random
    order (``numpy.random.default_rng([seed, 273])``), testing after each draw (and once at the
    switch, where only ``K_τ > U`` can reject) with ``R_out`` the relevant records of the first
    ``k0``. The ranking after the switch plays no part, so the order before it is all a
    simulation needs. A switch that never fires, or a test that never rejects, reads all ``N``.

    Returns
    -------
    dict
        ``switched_at`` (``k0``, None when it never fired), ``stopped_at`` (records read),
        ``drawn``, ``recall`` (over every relevant record), ``work_saved`` (``1 - stopped_at /
        N``), ``stopped`` and ``p`` (the p-value when it stopped).
    """
    _check_target(target, confidence)
    sw = parse_switch(switch)
    y = _labels(labels_in_order)
    total = len(y) if n_total is None else int(n_total)
    if total != len(y):
        raise InputError(
            f"the late-drawn sample rule replays the whole order: {len(y)} labels for "
            f"{total} records", field="n_total",
        )  # fmt: skip
    relevant = int(y.sum())
    k0 = sw.point(y, total)
    never = {"switched_at": k0, "stopped_at": total, "drawn": 0 if k0 is None else total - k0,
             "recall": 1.0, "work_saved": 0.0, "stopped": False, "p": None}  # fmt: skip
    if k0 is None or relevant == 0:
        return never
    r_al = int(y[:k0].sum())
    urn = total - k0
    rng = np.random.default_rng([int(seed), 273])
    drawn = y[k0:][rng.permutation(urn)]
    n = np.arange(0, urn + 1)
    x = np.concatenate([[0], np.cumsum(drawn)])
    p = _late_p(x, urn, _k_tau(r_al + x, r_al, target), n)
    hits = np.flatnonzero(p < 1.0 - confidence)
    if hits.size == 0:
        return never
    i = int(hits[0])
    read = k0 + i
    return {"switched_at": k0, "stopped_at": read, "drawn": i,
            "recall": float((r_al + x[i]) / relevant), "work_saved": 1.0 - read / total,
            "stopped": True, "p": float(p[i])}  # fmt: skip
