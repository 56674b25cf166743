"""Simulated screening on a labelled set: how much work does the ranking save?

A reviewer who already knows every label is replayed: she starts from prior knowledge of one
relevant and one irrelevant record drawn at random (seeded; ASReview's simulation default,
``n_prior_included = n_prior_excluded = 1``), then reads the records in the order the
:class:`~metareview.screening.ranking.Ranker` proposes, the ranker retraining as labels arrive.
The reading order gives the recall curve and the metrics of the field:

- **WSS@r**, work saved over sampling at recall ``r`` (Cohen et al., J Am Med Inform Assoc
  2006;13:206-219): ``WSS = (TN + FN) / N - (1 - r)``, where ``TN + FN`` are the records left
  unread when the reviewer stops at the first point that recall reaches ``r``. Reading in random
  order saves nothing on average, so WSS is the fraction of screening saved over random order
  at equal recall.
- **RRF@x**, relevant records found after screening a fraction ``x`` of the records: recall after
  reading the first ``floor(x N)`` records (ASReview Insights, "recall"/RRF).

As in ASReview Insights (``priors=False``, its default), the prior records are not part of the
evaluated order: ``N`` and the relevant count are those of the records left after the priors,
and the curve starts after them. With one relevant and one irrelevant prior this removes one
"free" relevant record that a simulated oracle, not the ranking, found.

Retraining after every decision is what ASReview does; to keep simulations affordable the
ranker here retrains after a growing batch: after ``max(1, floor(batch_fraction * L))`` new
labels, ``L`` the number labelled at the last training, reading the previous ranking's next
records meanwhile (``batch_fraction = 0`` retrains after every decision). With the default 2% this
is about 240 trainings for 1,200 records instead of 1,200, and on the nine Cohen (2006) sets
logistic regression's average WSS@95 was 0.313 / 0.398 (label1 / label2, five seeds) against
0.309 / 0.396 retraining after every decision (two seeds): benchmarks/results/.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError
from metareview.screening.ranking import DEFAULT_CLASSIFIER, Ranker, RecordLike
from metareview.screening.remaining import draw_sample, sample_estimate, sample_upper_bound
from metareview.screening.stopping import (
    DEFAULT_RUN,
    first_stop,
    late_sample_stop,
    parse_switch,
    run_length,
)

__all__ = [
    "DEFAULT_BATCH_FRACTION",
    "LabelledSet",
    "SimulationResult",
    "load_labelled_csv",
    "parse_batch",
    "plot_recall_curve",
    "recall_curve",
    "remaining_estimates",
    "rrf",
    "sample_rule_stop",
    "screening_metrics",
    "simulate",
    "simulate_order",
    "wss",
]

#: Default growth of the retraining batch (2% of the labelled count).
DEFAULT_BATCH_FRACTION = 0.02
#: Where ``simulate`` checks the estimates of relevant records left (fractions screened), and
#: the size of the random sample it draws there (metareview.screening.remaining).
ESTIMATE_AT: tuple[float, ...] = (0.10, 0.25, 0.50)
ESTIMATE_SAMPLE = 100

_TEXT_COLUMNS = ("title", "abstracts", "abstract", "keywords")
#: ASReview LAB's label columns in a labelled CSV (1 relevant, 0 irrelevant).
_ASREVIEW_LABELS = ("included", "label_included")


# -- metrics --------------------------------------------------------------------------------


def _as_labels(labels_in_order: Sequence[int] | NDArray[Any]) -> NDArray[np.int64]:
    y = np.asarray(labels_in_order).astype(np.int64).reshape(-1)
    if y.size == 0:
        raise InputError("the reading order is empty")
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels in reading order must be 0 (irrelevant) or 1 (relevant)")
    if y.sum() == 0:
        raise InputError("the reading order holds no relevant record; recall is undefined")
    return y


def recall_curve(labels_in_order: Sequence[int] | NDArray[Any]) -> NDArray[np.int64]:
    """Relevant records found after each record read.

    Parameters
    ----------
    labels_in_order
        1 (relevant) / 0 (irrelevant) for each record, in the order the reviewer reads them.

    Returns
    -------
    ndarray of shape (N + 1, 2)
        Rows ``(screened, found)`` for ``screened = 0 .. N``.
    """
    y = _as_labels(labels_in_order)
    found = np.concatenate(([0], np.cumsum(y)))
    return np.column_stack((np.arange(len(y) + 1), found))


def _needed(recall: float, n_relevant: int) -> int:
    """Smallest number of relevant records whose share of ``n_relevant`` is at least ``recall``."""
    # the tolerance keeps 0.95 * 20 from rounding up to 20 through floating point.
    return max(1, math.ceil(recall * n_relevant - 1e-9))


def wss(labels_in_order: Sequence[int] | NDArray[Any], recall: float = 0.95) -> float:
    """Work saved over sampling at a recall level (Cohen et al. 2006).

    ``WSS@r = (N - k_r) / N - (1 - r)`` where ``N`` is the number of records and ``k_r`` the
    number read when recall first reaches ``r``, i.e. when ``ceil(r * n_relevant)`` relevant
    records have been found (Cohen AM, Hersh WR, Peterson K, Yen PY. J Am Med Inform Assoc
    2006;13:206-219: ``WSS = (TN + FN) / N - (1 - R)``).

    Parameters
    ----------
    labels_in_order
        1 / 0 for each record in reading order.
    recall
        Target recall ``r`` in (0, 1].

    Returns
    -------
    float
        WSS@r; 0 on average for a random order, at most ``r - n_needed/N`` for a perfect one.
    """
    if not 0.0 < recall <= 1.0:
        raise InputError(f"recall must lie in (0, 1], got {recall}", field="recall")
    y = _as_labels(labels_in_order)
    n = len(y)
    needed = _needed(recall, int(y.sum()))
    k = int(np.searchsorted(np.cumsum(y), needed)) + 1
    return (n - k) / n - (1.0 - recall)


def rrf(labels_in_order: Sequence[int] | NDArray[Any], fraction: float = 0.10) -> float:
    """Relevant records found (recall) after reading a fraction of the records.

    ``RRF@x = found(floor(x N)) / n_relevant`` (ASReview Insights' recall at ``x``; RRF@10 is
    ``x = 0.10``).

    Returns
    -------
    float
        A proportion in [0, 1] (multiply by 100 for the percentage).
    """
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"fraction must lie in [0, 1], got {fraction}", field="fraction")
    y = _as_labels(labels_in_order)
    k = math.floor(fraction * len(y) + 1e-9)
    return float(y[:k].sum() / y.sum())


def screening_metrics(
    labels_in_order: Sequence[int] | NDArray[Any],
    *,
    n_priors: int = 0,
    recall_at: Sequence[float] = (0.05, 0.10, 0.20),
    wss_at: Sequence[float] = (0.95, 1.0),
    erf_at: Sequence[float] = (0.10,),
) -> dict[str, Any]:
    """Every metric of a screening order, from one function (so any tool's order scores alike).

    Parameters
    ----------
    labels_in_order
        1 / 0 for each record in the order it was read, prior records first.
    n_priors
        How many leading records were prior knowledge; they are left out of every metric (as
        ASReview Insights does by default), so ``N`` and ``R`` count the records after them.
    recall_at, wss_at, erf_at
        The fractions screened for recall@k% and ERF@x, the recall levels for WSS@r.

    Returns
    -------
    dict
        ``n`` (N), ``n_relevant`` (R), ``recall`` {"10": recall after ``floor(0.10 N)``
        records}, ``wss`` {"95": WSS@95}, ``erf`` {"10": ERF@10}, ``atd`` and ``atd_fraction``;
        keys are percentages written with ``%g``.

    Notes
    -----
    With ``found(k)`` the relevant records among the first ``k`` read:

    - recall@x = ``found(floor(x N)) / R`` (ASReview Insights' recall / RRF@x);
    - WSS@r = ``(N - k_r) / N - (1 - r)``, ``k_r`` the records read when ``ceil(r R)`` relevant
      are found (Cohen et al., J Am Med Inform Assoc 2006;13:206-219);
    - ERF@x = recall@x - floor(x N)/N, the share of relevant records found beyond what reading
      in random order finds on average (ASReview Insights' extra relevant records found, as
      a proportion);
    - ATD = ``(1/R) sum_i t_i``, ``t_i`` the records read (1-based position) when the i-th
      relevant record was found, the average time to discovery (Ferdinands et al., Syst Rev
      2023;12:100); ``atd_fraction = ATD / N``.
    """
    y_all = np.asarray(labels_in_order).astype(np.int64).reshape(-1)
    if not 0 <= n_priors < len(y_all):
        raise InputError(
            f"n_priors must lie in 0..{len(y_all) - 1} for an order of {len(y_all)} records",
            field="n_priors",
        )
    y = _as_labels(y_all[n_priors:])
    n = len(y)
    n_rel = int(y.sum())
    positions = np.flatnonzero(y == 1) + 1
    atd = float(positions.mean())
    return {
        "n": n,
        "n_relevant": n_rel,
        "n_priors": int(n_priors),
        "recall": {f"{100 * x:g}": rrf(y, x) for x in recall_at},
        "wss": {f"{100 * r:g}": wss(y, r) for r in wss_at},
        "erf": {f"{100 * x:g}": rrf(y, x) - math.floor(x * n + 1e-9) / n for x in erf_at},
        "atd": atd,
        "atd_fraction": atd / n,
    }


def parse_batch(text: str) -> tuple[int | None, float | None]:
    """``--batch``: ``"N"`` retrains every N decisions, ``"2%"`` after a growing 2% batch.

    Returns ``(size, None)`` or ``(None, fraction)``; InputError on anything else.
    """
    raw = text.strip()
    try:
        if raw.endswith("%"):
            fraction = float(raw[:-1]) / 100.0
            if not 0.0 <= fraction <= 1.0:
                raise ValueError
            return None, fraction
        size = int(raw)
        if size < 1:
            raise ValueError
        return size, None
    except ValueError:
        raise InputError(
            f"--batch {text!r} is neither a whole number of decisions (1 or more) nor a "
            "percentage such as 2%",
            field="batch",
        ) from None


# -- data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """Records with known labels: ``texts[i]`` is relevant when ``labels[i] == 1``."""

    records: list[dict[str, str]]
    labels: NDArray[np.int8]
    source: str = ""

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def n_included(self) -> int:
        return int(self.labels.sum())


def load_labelled_csv(path: str | Path, label_column: str = "label1") -> LabelledSet:
    """Read a labelled CSV in the Cohen (2006) layout.

    Columns ``title``, ``abstracts`` (or ``abstract``), ``keywords`` feed the ranker (any may be
    missing but not all); ``label_column`` holds ``I`` for an include and anything else
    (``E``, an exclusion code, empty) for an exclusion. ASReview LAB's label columns
    ``included`` and ``label_included`` hold 1 (relevant) or 0 (irrelevant) instead.

    Raises
    ------
    InputError
        Unreadable or malformed CSV, missing label column, no text columns, no include or no
        exclude; the message names the file (and row where one is at fault).
    """
    path = Path(path)
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if not header:
                raise InputError("the file is empty or has no header row", file=name)
            if label_column not in header:
                raise InputError(
                    f"no label column {label_column!r}; the header has: {', '.join(header)}",
                    file=name,
                    field=label_column,
                )
            if not any(c in header for c in _TEXT_COLUMNS):
                raise InputError(
                    "no text column to rank on; expected one of " + ", ".join(_TEXT_COLUMNS),
                    file=name,
                )
            records: list[dict[str, str]] = []
            labels: list[int] = []
            for row_number, row in enumerate(reader, start=1):
                if None in row:
                    raise InputError(
                        f"{len(header) + len(row[None])} fields where the header has {len(header)}",
                        file=name,
                        row=row_number,
                    )
                if any(v is None for v in row.values()):
                    raise InputError(
                        f"fewer fields than the header's {len(header)}", file=name, row=row_number
                    )
                records.append({c: row[c] for c in _TEXT_COLUMNS if c in row})
                value = row[label_column].strip()
                if label_column in _ASREVIEW_LABELS:
                    # ASReview's labelled CSV: 1 relevant, 0 irrelevant (empty: unlabelled,
                    # which a simulation cannot replay)
                    if value not in ("0", "1"):
                        raise InputError(
                            f"{label_column} is {value!r}; ASReview's labels are 1 (relevant) "
                            "or 0 (irrelevant), and a simulation needs every record labelled",
                            file=name, row=row_number, field=label_column,
                        )
                    labels.append(int(value))
                else:
                    labels.append(1 if value == "I" else 0)
    except FileNotFoundError as exc:
        raise InputError("no such file", file=name) from exc
    except IsADirectoryError as exc:
        raise InputError("is a folder, not a CSV file", file=name) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=name) from exc
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", file=name) from exc
    if not records:
        raise InputError("no records after the header", file=name)
    y = np.asarray(labels, dtype=np.int8)
    if y.sum() < 2:
        raise InputError(
            f"{int(y.sum())} record(s) labelled 'I' in {label_column!r}; a simulation needs at "
            "least two includes (one as prior knowledge, one to find)",
            file=name,
            field=label_column,
        )
    if (y == 0).sum() < 2:
        raise InputError(
            f"fewer than two exclusions in {label_column!r}; nothing to rank against",
            file=name,
            field=label_column,
        )
    return LabelledSet(records=records, labels=y, source=name)


# -- simulation -----------------------------------------------------------------------------


def simulate_order(
    records: Sequence[RecordLike],
    labels: Sequence[int] | NDArray[Any],
    *,
    model: str = DEFAULT_CLASSIFIER,
    seed: int = 0,
    batch_fraction: float = DEFAULT_BATCH_FRACTION,
    ranker: Ranker | None = None,
    prior_ids: Sequence[int] | None = None,
    prior_relevant: int = 1,
    prior_irrelevant: int = 1,
    batch_size: int | None = None,
    stop: Callable[[int, int], bool] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Replay a reviewer reading in the ranker's order.

    Parameters
    ----------
    records, labels
        The labelled set (labels 1 relevant / 0 irrelevant, all known).
    model, seed
        The ranker's classifier and seed; the seed also draws the priors.
    batch_fraction
        Retrain after ``max(1, floor(batch_fraction * L))`` new labels (``L`` labelled at the
        last training); 0 retrains after every decision.
    ranker
        A ranker to reuse (its cached features are kept when the records are the same);
        default a new ``Ranker(model, seed=seed)``.
    prior_ids
        0-based rows to start from as prior knowledge (the same for every seed); default
        ``prior_relevant`` relevant and ``prior_irrelevant`` irrelevant rows drawn with ``seed``.
    batch_size
        Retrain after every ``batch_size`` decisions instead of a growing fraction.
    stop
        Called after each batch with (records read after the priors, relevant among them);
        when it returns True the replay ends there and ``order`` is the records read so far
        (a benchmark that needs only WSS@95 and recall@10% stops once both are known).

    Returns
    -------
    priors, order
        The indices of the prior records (relevant first) and of all other records in the
        order they were read.
    """
    y = np.asarray(labels).astype(np.int8).reshape(-1)
    n = len(y)
    if n != len(records):
        raise InputError(f"{n} labels for {len(records)} records", field="labels")
    if not batch_fraction >= 0 or math.isinf(batch_fraction):  # NaN fails the comparison
        raise InputError(
            f"batch_fraction must be a finite number, 0 or more (got {batch_fraction})",
            field="batch_fraction",
        )
    relevant = np.flatnonzero(y == 1)
    irrelevant = np.flatnonzero(y == 0)
    if len(relevant) == 0 or len(irrelevant) == 0:
        raise InputError("a simulation needs at least one relevant and one irrelevant record")
    if batch_size is not None and batch_size < 1:
        raise InputError("batch_size must be 1 or more", field="batch_size")
    if prior_ids is not None:
        priors = np.asarray(list(prior_ids), dtype=np.intp).reshape(-1)
        bad = [int(i) for i in priors if not 0 <= i < n]
        if bad:
            raise InputError(
                f"prior row {bad[0]} is not a data row (0..{n - 1})", field="prior_ids"
            )
        if len(set(priors.tolist())) != len(priors) or len(priors) >= n:
            raise InputError("prior rows must be distinct and fewer than the records",
                             field="prior_ids")
    else:
        if prior_relevant < 0 or prior_irrelevant < 0:
            raise InputError("prior counts must be 0 or more", field="prior_relevant")
        if prior_relevant > len(relevant) - 1 or prior_irrelevant > len(irrelevant):
            raise InputError(
                f"cannot draw {prior_relevant} relevant and {prior_irrelevant} irrelevant priors "
                f"from {len(relevant)} relevant and {len(irrelevant)} irrelevant records "
                "(one relevant must be left to find)",
                field="prior_relevant",
            )
        rng = np.random.default_rng(seed)
        if (prior_relevant, prior_irrelevant) == (1, 1):  # the draw of earlier versions
            priors = np.array([rng.choice(relevant), rng.choice(irrelevant)], dtype=np.intp)
        else:
            priors = np.concatenate([
                rng.choice(relevant, prior_relevant, replace=False),
                rng.choice(irrelevant, prior_irrelevant, replace=False),
            ]).astype(np.intp)

    if ranker is None:
        ranker = Ranker(model, seed=seed)
    ranker._set_corpus(records)
    ranker._reseed(seed)
    known = np.full(n, -1, dtype=np.int8)
    known[priors] = y[priors]
    n_labelled = len(priors)
    read: list[int] = []
    found = 0
    while n_labelled < n:
        ranker._fit_labels(known)
        queue = ranker.rank().order
        if batch_size is not None:
            batch = batch_size
        else:
            batch = max(1, math.floor(batch_fraction * n_labelled))
        take = queue[:batch]
        known[take] = y[take]
        read.extend(int(i) for i in take)
        n_labelled += len(take)
        found += int(y[take].sum())
        if stop is not None and stop(len(read), found):
            break
    return priors, np.asarray(read, dtype=np.intp)


def remaining_estimates(
    records: Sequence[RecordLike],
    labels: Sequence[int] | NDArray[Any],
    order: Sequence[int] | NDArray[np.integer],
    *,
    ranker: Ranker,
    seed: int = 0,
    at: Sequence[float] = ESTIMATE_AT,
    sample_size: int = ESTIMATE_SAMPLE,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Both estimates of the relevant records left, against the truth, along one reading order.

    At each fraction ``f`` of ``at``, with ``k = floor(f N)`` records of ``order`` (priors
    first) read: the ranker trained on those ``k`` gives its extrapolation
    (:meth:`Ranker.estimate_remaining_relevant`), and a simple random sample of
    ``sample_size`` of the ``N - k`` unscreened records (seeded by ``(seed, 1000 f)``) gives
    :func:`metareview.screening.remaining.sample_estimate` with its interval at
    ``confidence``. ``truth`` is the relevant records among the ``N - k``.

    Returns
    -------
    list of dict
        One per fraction: ``screened`` (f), ``read`` (k), ``unscreened``, ``truth``, ``model``,
        ``sample`` (estimate), ``lower``, ``upper``, ``sampled``, ``covered`` (truth within
        the interval).
    """
    y = np.asarray(labels).astype(np.int8).reshape(-1)
    full = np.asarray(order, dtype=np.intp).reshape(-1)
    ranker._set_corpus(records)
    out = []
    for frac in at:
        k = math.floor(frac * len(full) + 1e-9)
        if not 0 < k < len(full):
            continue
        known = np.full(len(y), -1, dtype=np.int8)
        known[full[:k]] = y[full[:k]]
        ranker._reseed(seed)
        ranker._fit_labels(known)
        model = ranker.estimate_remaining_relevant(history=full[:k])
        left = full[k:]
        truth = int(y[left].sum())
        sample = draw_sample(left, sample_size, seed=(int(seed), round(1000 * frac)))
        est = sample_estimate(len(left), len(sample), int(y[sample].sum()), confidence=confidence)
        out.append({
            "screened": frac, "read": k, "unscreened": len(left), "truth": truth,
            "model": None if math.isnan(model) else model, "sample": est.estimate,
            "lower": est.lower, "upper": est.upper, "sampled": est.sampled,
            "covered": est.lower <= truth <= est.upper,
        })  # fmt: skip
    return out


@dataclass(frozen=True)
class SimulationResult:
    """Metrics of simulated screening, averaged over seeds.

    ``n`` and ``n_included`` describe the whole file; the metrics and ``curve`` describe the
    records read after the priors (see the module notes). ``curve`` holds rows
    ``(screened, found)`` with ``found`` averaged over seeds. ``orders`` holds each seed's
    whole reading order (0-based data rows, priors first); ``metrics`` the mean over seeds of
    :func:`screening_metrics`; ``stopping`` each stopping rule's mean recall and work saved
    when it first said stop (recall over every relevant record of the file, priors included).
    """

    n: int
    n_included: int
    wss95: float
    wss100: float
    rrf10: float
    curve: NDArray[np.float64]
    model: str
    seeds: tuple[int, ...]
    batch_fraction: float
    per_seed: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    orders: list[NDArray[np.intp]] = field(default_factory=list)
    n_priors: int = 2
    metrics: dict[str, Any] = field(default_factory=dict)
    stopping: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_size: int | None = None
    #: Per fraction screened ("10", "25", "50"): the mean over seeds of the relevant records
    #: left (``truth``), the ranker's extrapolation (``model``) and the random-sample estimate
    #: (``sample``), their mean absolute errors, and how often the sample's interval held the
    #: truth (``coverage``): :func:`remaining_estimates`.
    remaining: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``metareview simulate --json`` object."""
        return {
            "n": self.n,
            "n_included": self.n_included,
            "n_priors": self.n_priors,
            "model": self.model,
            "seeds": list(self.seeds),
            "batch": self.batch_size if self.batch_size is not None
            else f"{100 * self.batch_fraction:g}%",
            "wss95": self.wss95,
            "wss100": self.wss100,
            "rrf10": self.rrf10,
            "metrics": self.metrics,
            "stopping": self.stopping,
            "remaining": self.remaining,
            "per_seed": self.per_seed,
            "curve": [[int(s), round(float(f), 6)] for s, f in self.curve],
        }

    def write_orders(self, path: str | Path) -> Path:
        """Write the per-seed orders as CSV ``seed, rank, row, label`` (rank from 1, priors
        first, ``row`` the 0-based data row of the input file)."""
        path = Path(path)
        labels = self._labels
        try:
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["seed", "rank", "row", "label"])
                for seed, order in zip(self.seeds, self.orders, strict=True):
                    for rank, row in enumerate(order, start=1):
                        writer.writerow([seed, rank, int(row), int(labels[row])])
        except OSError as exc:
            raise InputError(f"cannot write the orders ({exc.strerror})", file=str(path)) from exc
        return path

    _labels: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))


def _mean_nested(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over dicts of the same shape (numbers averaged, nested dicts recursed)."""
    out: dict[str, Any] = {}
    for key, value in items[0].items():
        if isinstance(value, dict):
            out[key] = _mean_nested([it[key] for it in items])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            vals = [it[key] for it in items if it[key] is not None]
            out[key] = float(np.mean(vals)) if vals else None
        else:
            out[key] = value
    return out


def sample_rule_stop(
    data: LabelledSet,
    priors: NDArray[np.intp],
    size: int,
    *,
    seed: int,
    target: float = 0.95,
    confidence: float = 0.95,
    model: str = DEFAULT_CLASSIFIER,
    ranker: Ranker | None = None,
    batch_fraction: float = DEFAULT_BATCH_FRACTION,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Where the random-sample stopping rule stops along a replay with the sample read first.

    The reviewer reads ``priors``, then a simple random sample of ``size`` of the other records
    (:func:`~metareview.screening.remaining.draw_sample` seeded by ``(seed, 33)``; all of them
    when fewer), then the ranker's order (:func:`simulate_order`, learning from the priors and
    the sample). The rule (:func:`metareview.screening.stopping.first_stop`, ``"sample"``)
    stops at the first record after the sample where ``found >= target (R_out + K_hi)``; as
    ``found`` never exceeds the relevant records ``R`` of the set, a sample whose bound asks
    for more than ``R`` never stops, and the replay is skipped (the reviewer reads all ``N``).
    Otherwise the replay ends once that many are found.

    Returns
    -------
    dict
        ``stopped_at`` (records read, ``N`` when it never stops), ``recall`` (over every
        relevant record, priors included), ``work_saved`` (``1 - stopped_at / N``, the sample
        counted as read), ``stopped``, ``sampled`` and ``needed`` (relevant records to find).
    """
    y = np.asarray(data.labels).astype(np.int64)
    rest = np.setdiff1d(np.arange(data.n), priors)
    sample = draw_sample(rest, size, seed=(int(seed), 33))
    first = np.concatenate([priors, sample]).astype(np.intp)
    b, s = len(priors), len(sample)
    k_hi = sample_upper_bound(data.n - b, s, int(y[sample].sum()), confidence=confidence)
    needed = math.ceil((target - 1e-12) * (int(y[priors].sum()) + k_hi))
    total = int(y.sum())
    order = first
    if needed <= total and s < len(rest):
        have = int(y[first].sum())
        _, more = simulate_order(
            data.records, data.labels, model=model, seed=int(seed), ranker=ranker,
            prior_ids=[int(i) for i in first], batch_fraction=batch_fraction,
            batch_size=batch_size, stop=lambda _read, found: have + found >= needed,
        )  # fmt: skip
        order = np.concatenate([first, more])
    k = first_stop(y[order], "sample", n_total=data.n, target=target, confidence=confidence,
                   sample=s, before=b)  # fmt: skip
    read = data.n if k is None else k
    return {
        "stopped_at": read,
        # never stopping, the reviewer reads every record (the replay may have been skipped)
        "recall": 1.0 if k is None else float(y[order[:read]].sum() / total),
        "work_saved": 1.0 - read / data.n,
        "stopped": k is not None,
        "sampled": s,
        "needed": needed,
    }


def _stop_settings(
    rule: str, target: float, confidence: float, run: int | str, run_records: int,
    sample: int | None, switch: Any,
) -> dict[str, Any]:
    """The ``settings`` of one rule in ``simulate --json``'s ``stopping``."""
    if rule == "irrelevant-run":
        return {"run": str(run), "records": run_records}
    out: dict[str, Any] = {"target": target, "confidence": confidence}
    if rule == "sample":
        out["sample"] = float(sample or 0)
    if rule == "late-sample":
        out["switch"] = switch.spec
    return out


def simulate(
    data: LabelledSet,
    *,
    model: str = DEFAULT_CLASSIFIER,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    batch_fraction: float = DEFAULT_BATCH_FRACTION,
    batch_size: int | None = None,
    prior_ids: Sequence[int] | None = None,
    prior_relevant: int = 1,
    prior_irrelevant: int = 1,
    ranker_options: Mapping[str, Any] | None = None,
    stop_target: float = 0.95,
    stop_confidence: float = 0.95,
    stop_run: int | str = DEFAULT_RUN,
    estimate_sample: int = ESTIMATE_SAMPLE,
    stop_sample: int | None = None,
    stop_late: str | None = None,
) -> SimulationResult:
    """Simulate screening ``data`` once per seed; score each order with
    :func:`screening_metrics`, the stopping rules (:mod:`metareview.screening.stopping`) and
    the estimates of relevant records left (:func:`remaining_estimates`, a random sample of
    ``estimate_sample`` records at 10%, 25% and 50% screened).

    With ``stop_sample`` the random-sample stopping rule is scored too, on a second replay per
    seed in which the reviewer reads, after the same priors, a random sample of
    ``stop_sample`` of the other records (as ``metareview screen --sample N`` shows it first),
    then the ranked order, the ranker learning from the sample
    (:func:`sample_rule_stop`). Its work saved counts the sample's records as read.

    With ``stop_late`` (a switch rule, :func:`metareview.screening.stopping.parse_switch`) the
    late-drawn sample rule of Callaghan & Müller-Hansen is scored on each seed's order: ranked
    reading until the switch fires, then the unscreened records in a random order, tested
    after each draw (:func:`metareview.screening.stopping.late_sample_stop`, seeded by the
    seed). ``stop_run`` is the irrelevant run in records or ``"X%"`` of them.

    Features are computed once and shared by the seeds. ``ranker_options`` are passed to
    :class:`Ranker` (e.g. a preset of :data:`metareview.screening.ranking.PRESETS`).
    """
    if not seeds:
        raise InputError("give at least one seed", field="seeds")
    ranker = Ranker(model, seed=int(seeds[0]), **dict(ranker_options or {}))
    per_seed: list[dict[str, Any]] = []
    curves: list[NDArray[np.int64]] = []
    orders: list[NDArray[np.intp]] = []
    if stop_sample is not None and stop_sample < 1:
        raise InputError("the stopping sample must hold 1 record or more", field="stop_sample")
    run_records = run_length(stop_run, data.n)
    switch = None if stop_late is None else parse_switch(stop_late)
    stops: dict[str, list[dict[str, Any]]] = {"hypergeometric": [], "irrelevant-run": []}
    if stop_sample is not None:
        stops["sample"] = []
    if switch is not None:
        stops["late-sample"] = []
    n_priors = 0
    for seed in seeds:
        priors, order = simulate_order(
            data.records,
            data.labels,
            model=model,
            seed=int(seed),
            batch_fraction=batch_fraction,
            ranker=ranker,
            prior_ids=prior_ids,
            prior_relevant=prior_relevant,
            prior_irrelevant=prior_irrelevant,
            batch_size=batch_size,
        )
        n_priors = len(priors)
        full = np.concatenate([priors, order])
        orders.append(full)
        y_full = data.labels[full]
        y = y_full[n_priors:]
        metrics = screening_metrics(y_full, n_priors=n_priors)
        per_seed.append(
            {"seed": int(seed), "wss95": wss(y, 0.95), "wss100": wss(y, 1.0),
             "rrf10": rrf(y, 0.10), "metrics": metrics,
             "remaining": remaining_estimates(
                 data.records, data.labels, full, ranker=ranker, seed=int(seed),
                 sample_size=estimate_sample)}
        )
        curves.append(recall_curve(y))
        for rule in stops:
            if rule == "sample":
                assert stop_sample is not None
                stops[rule].append(sample_rule_stop(
                    data, priors, stop_sample, seed=int(seed), target=stop_target,
                    confidence=stop_confidence, model=model, ranker=ranker,
                    batch_fraction=batch_fraction, batch_size=batch_size,
                ))  # fmt: skip
                continue
            if rule == "late-sample":
                assert switch is not None
                stops[rule].append(late_sample_stop(
                    y_full, switch, seed=int(seed), target=stop_target,
                    confidence=stop_confidence,
                ))  # fmt: skip
                continue
            k = first_stop(
                y_full, rule, target=stop_target, confidence=stop_confidence, run=run_records,
                check_every=max(1, data.n // 500),
            )
            read = data.n if k is None else k
            stops[rule].append({
                "stopped_at": read,
                "recall": float(y_full[:read].sum() / y_full.sum()),
                "work_saved": 1.0 - read / data.n,
                "stopped": k is not None,
            })
    curve = np.mean(np.stack(curves), axis=0).astype(np.float64)
    stopping = {
        rule: {
            "recall": float(np.mean([r["recall"] for r in runs])),
            "min_recall": float(np.min([r["recall"] for r in runs])),
            "work_saved": float(np.mean([r["work_saved"] for r in runs])),
            "stopped_at": float(np.mean([r["stopped_at"] for r in runs])),
            "stopped": float(np.mean([r["stopped"] for r in runs])),
            "below_target": float(np.mean([r["recall"] < stop_target for r in runs])),
            "settings": _stop_settings(rule, stop_target, stop_confidence, stop_run,
                                       run_records, stop_sample, switch),
            **({"switched_at": float(np.mean([
                data.n if r["switched_at"] is None else r["switched_at"] for r in runs])),
                "switched": float(np.mean([r["switched_at"] is not None for r in runs]))}
               if rule == "late-sample" else {}),
            **({"heuristic": True, "guarantee": "none"} if rule == "irrelevant-run" else {}),
        }
        for rule, runs in stops.items()
    }
    remaining: dict[str, dict[str, Any]] = {}
    for frac in ESTIMATE_AT:
        at: list[dict[str, Any]] = [
            r for one in per_seed for r in one["remaining"] if r["screened"] == frac
        ]
        if not at:
            continue
        fitted = [r for r in at if r["model"] is not None]
        remaining[f"{100 * frac:g}"] = {
            "truth": float(np.mean([r["truth"] for r in at])),
            "model": float(np.mean([r["model"] for r in fitted])) if fitted else None,
            "sample": float(np.mean([r["sample"] for r in at])),
            "model_abs_error": float(np.mean([abs(r["model"] - r["truth"]) for r in fitted]))
            if fitted else None,
            "sample_abs_error": float(np.mean([abs(r["sample"] - r["truth"]) for r in at])),
            "coverage": float(np.mean([r["covered"] for r in at])),
            "sampled": float(np.mean([r["sampled"] for r in at])),
        }
    return SimulationResult(
        n=data.n,
        n_included=data.n_included,
        wss95=float(np.mean([s["wss95"] for s in per_seed])),
        wss100=float(np.mean([s["wss100"] for s in per_seed])),
        rrf10=float(np.mean([s["rrf10"] for s in per_seed])),
        curve=curve,
        model=model,
        seeds=tuple(int(s) for s in seeds),
        batch_fraction=batch_fraction,
        per_seed=per_seed,
        source=data.source,
        orders=orders,
        n_priors=n_priors,
        metrics=_mean_nested([s["metrics"] for s in per_seed]),
        stopping=stopping,
        batch_size=batch_size,
        remaining=remaining,
        _labels=data.labels,
    )


def plot_recall_curve(
    result: SimulationResult, path: str | Path, *, title: str = "", model_name: str | None = None
) -> Path:
    """Draw the recall curve with the random-order line and write it as SVG or PNG.

    The format follows the file's suffix (``.svg`` or ``.png``). ``model_name`` names the
    curve (e.g. the preset, ``"default"``); by default the classifier (``result.model``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise InputError("the plot file must end in .svg or .png", file=str(path))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    screened = result.curve[:, 0]
    found = result.curve[:, 1]
    n_read = screened[-1]
    n_rel = found[-1]
    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    try:
        name = result.model if model_name is None else model_name
        label = f"{name} (mean of {len(result.seeds)} seed(s))"
        ax.plot(screened, found, color="#1f5fa8", lw=1.6, label=label)
        ax.plot([0, n_read], [0, n_rel], color="#888888", lw=1.0, ls="--", label="random order")
        ax.plot([0, n_rel, n_read], [0, n_rel, n_rel], color="#2e8b57", lw=1.0, ls="-.",
                label="oracle (relevant first)")
        target = _needed(0.95, round(n_rel))
        ax.axhline(target, color="#b5651d", lw=0.8, ls=":", label="95% recall")
        ax.set_xlim(0, n_read)
        ax.set_ylim(0, n_rel * 1.02)
        ax.set_xlabel("records screened")
        ax.set_ylabel("relevant records found")
        ax.set_title(
            title
            or f"WSS@95 {result.wss95:.3f}   WSS@100 {result.wss100:.3f}   "
            f"RRF@10 {100 * result.rrf10:.1f}%",
            fontsize=10,
        )
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.grid(True, lw=0.3, alpha=0.5)
        fig.tight_layout()
        try:
            fig.savefig(
                path, format=suffix[1:], metadata={"Date": None} if suffix == ".svg" else None
            )
        except OSError as exc:
            raise InputError(f"cannot write the plot ({exc.strerror})", file=str(path)) from exc
    finally:
        plt.close(fig)
    return path
