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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metareview.errors import InputError
from metareview.screening.ranking import DEFAULT_MODEL, Ranker, RecordLike

__all__ = [
    "DEFAULT_BATCH_FRACTION",
    "LabelledSet",
    "SimulationResult",
    "load_labelled_csv",
    "plot_recall_curve",
    "recall_curve",
    "rrf",
    "simulate",
    "simulate_order",
    "wss",
]

#: Default growth of the retraining batch (2% of the labelled count).
DEFAULT_BATCH_FRACTION = 0.02

_TEXT_COLUMNS = ("title", "abstracts", "abstract", "keywords")


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
    (``E``, an exclusion code, empty) for an exclusion.

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
                labels.append(1 if row[label_column].strip() == "I" else 0)
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
    model: str = DEFAULT_MODEL,
    seed: int = 0,
    batch_fraction: float = DEFAULT_BATCH_FRACTION,
    ranker: Ranker | None = None,
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
    rng = np.random.default_rng(seed)
    priors = np.array([rng.choice(relevant), rng.choice(irrelevant)], dtype=np.intp)

    if ranker is None:
        ranker = Ranker(model, seed=seed)
    ranker._set_corpus(records)
    ranker._reseed(seed)
    known = np.full(n, -1, dtype=np.int8)
    known[priors] = y[priors]
    n_labelled = 2
    read: list[int] = []
    while n_labelled < n:
        ranker._fit_labels(known)
        queue = ranker.rank().order
        batch = max(1, math.floor(batch_fraction * n_labelled))
        take = queue[:batch]
        known[take] = y[take]
        read.extend(int(i) for i in take)
        n_labelled += len(take)
    return priors, np.asarray(read, dtype=np.intp)


@dataclass(frozen=True)
class SimulationResult:
    """Metrics of simulated screening, averaged over seeds.

    ``n`` and ``n_included`` describe the whole file; the metrics and ``curve`` describe the
    records read after the priors (see the module notes). ``curve`` holds rows
    ``(screened, found)`` with ``found`` averaged over seeds.
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
    per_seed: list[dict[str, float]] = field(default_factory=list)
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``metareview simulate --json`` object."""
        return {
            "n": self.n,
            "n_included": self.n_included,
            "wss95": self.wss95,
            "wss100": self.wss100,
            "rrf10": self.rrf10,
            "curve": [[int(s), round(float(f), 6)] for s, f in self.curve],
        }


def simulate(
    data: LabelledSet,
    *,
    model: str = DEFAULT_MODEL,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    batch_fraction: float = DEFAULT_BATCH_FRACTION,
) -> SimulationResult:
    """Simulate screening ``data`` once per seed and average WSS@95, WSS@100, RRF@10, the curve.

    Features are computed once and shared by the seeds.
    """
    if not seeds:
        raise InputError("give at least one seed", field="seeds")
    ranker = Ranker(model, seed=int(seeds[0]))
    per_seed: list[dict[str, float]] = []
    curves: list[NDArray[np.int64]] = []
    for seed in seeds:
        _, order = simulate_order(
            data.records,
            data.labels,
            model=model,
            seed=int(seed),
            batch_fraction=batch_fraction,
            ranker=ranker,
        )
        y = data.labels[order]
        per_seed.append(
            {"seed": int(seed), "wss95": wss(y, 0.95), "wss100": wss(y, 1.0), "rrf10": rrf(y, 0.10)}
        )
        curves.append(recall_curve(y))
    curve = np.mean(np.stack(curves), axis=0).astype(np.float64)
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
    )


def plot_recall_curve(result: SimulationResult, path: str | Path, *, title: str = "") -> Path:
    """Draw the recall curve with the random-order line and write it as SVG or PNG.

    The format follows the file's suffix (``.svg`` or ``.png``).
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
        label = f"{result.model} (mean of {len(result.seeds)} seed(s))"
        ax.plot(screened, found, color="#1f5fa8", lw=1.6, label=label)
        ax.plot([0, n_read], [0, n_rel], color="#888888", lw=1.0, ls="--", label="random order")
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
