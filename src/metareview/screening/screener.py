"""The interactive screener: one record at a time, in the ranker's order, one key per decision.

:class:`ScreeningSession` holds the logic (queue, ranking, decisions, undo, skip, progress) and is
usable without a terminal; :func:`run_screener` draws it with rich and reads single keys.

Keys: ``i`` include, ``e`` exclude (then the number of the eligibility criterion it fails), ``m``
maybe, ``n`` add a note to the next decision, ``u`` undo your last decision, ``s`` skip (the
record goes to the end of this session's queue), ``q`` quit. After every decision the ranker
(:class:`metareview.screening.ranking.Ranker`) retrains on all decisions so far and the next
record is the one it rates most likely relevant; the progress line shows the model's estimate of
relevant records still unscreened. With ``sample=N`` (``metareview screen --sample N``) a random
sample of N unscreened records is drawn and shown first, and the progress line gives the
estimate from it with its 95% interval (:mod:`metareview.screening.remaining`). The stopping
rules' verdicts follow (:func:`stopping_text`): the hypergeometric test on the ranked tail, N
irrelevant in a row, and with a sample the random-sample rule
(:mod:`metareview.screening.stopping`). With ``stop_late`` (``metareview screen --stop-late``)
the screener switches to a random order of the unscreened records once the switch rule fires and
shows Callaghan & Müller-Hansen's test on the records read since
(:mod:`metareview.screening.latesample`).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from metareview.errors import InputError
from metareview.screening.decisions import Decision, Screening, normalise_stage
from metareview.screening.hints import Hint, publication_hints
from metareview.screening.latesample import LateStatus, draw_late_sample, late_status
from metareview.screening.ranking import DEFAULT_MODEL, Ranker, record_parts
from metareview.screening.remaining import SampleStatus, draw_screening_sample, sample_status
from metareview.screening.stopping import (
    DEFAULT_RUN,
    StopDecision,
    Switch,
    decide,
    irrelevant_run,
    parse_switch,
    sample_decision,
)
from metareview.sources.record import Record

__all__ = [
    "Candidate",
    "ScreeningProgress",
    "ScreeningSession",
    "read_key",
    "remaining_text",
    "run_screener",
    "stopping_text",
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """The record to show next: its id, the record, its rank and the model's probability."""

    record_id: int
    record: Record
    rank: int
    probability: float
    hints: tuple[Hint, ...]


@dataclass(frozen=True, slots=True)
class ScreeningProgress:
    """Counts for the progress line (this reviewer, this stage)."""

    total: int
    done: int
    included: int
    excluded: int
    maybe: int
    remaining_relevant: float
    trained: bool
    #: The stopping rules' verdicts on this reviewer's decisions so far, in decision order
    #: (:func:`metareview.screening.stopping.decide`: hypergeometric test for the target recall
    #: at the confidence, default 95% and 95%, and 50 irrelevant in a row), then, when a random
    #: sample was drawn, the sample rule's on all decisions of the stage
    #: (:func:`metareview.screening.stopping.sample_decision`).
    stopping: tuple[StopDecision, ...] = ()
    #: The latest random sample's estimate of relevant records left, when one was drawn
    #: (:func:`metareview.screening.remaining.sample_status`).
    remaining_sample: SampleStatus | None = None
    #: Target recall and confidence of the statistical stopping rules.
    stop_target: float = 0.95
    stop_confidence: float = 0.95
    #: The late-drawn sample rule: its switch rule when the session watches for it, and the
    #: latest switch's status once one happened at the stage
    #: (:func:`metareview.screening.latesample.late_status`).
    stop_late: Switch | None = None
    late_sample: LateStatus | None = None
    #: This reviewer's irrelevant records in a row (the switch rule ``run:`` counts them).
    irrelevant_streak: int = 0

    @property
    def left(self) -> int:
        return self.total - self.done


class ScreeningSession:
    """One reviewer screening one stage, records ordered by the active-learning ranker.

    Parameters
    ----------
    screening
        The project's :class:`~metareview.screening.decisions.Screening`.
    reviewer
        The reviewer (registered if new; a name clashing with another reviewer's is refused).
    stage
        ``title_abstract`` (default) or ``full_text``.
    model, seed
        The ranker's preset (a name in :data:`~metareview.screening.ranking.PRESETS`; default
        the one ``metareview simulate`` uses too) and seed
        (:class:`~metareview.screening.ranking.Ranker`).
    sample, sample_seed
        Draw a random sample of ``sample`` unscreened records (seeded by ``sample_seed``, else
        at random), kept in the store, and show its records first: the estimate of relevant
        records left then comes from it. An earlier sample of the stage is shown first too.
    stop_target, stop_confidence
        Target recall and confidence of the statistical stopping rules (the hypergeometric
        test on the ranked tail and, with a sample, the random-sample rule).
    stop_run
        The irrelevant-run heuristic's run (records, or ``"X%"`` of them:
        :func:`~metareview.screening.stopping.run_length`).
    stop_late, late_seed
        The late-drawn sample rule's switch rule (``"run:50"``, ``"screened:30%"``:
        :func:`~metareview.screening.stopping.parse_switch`); once it fires on this
        reviewer's decisions the unscreened records are drawn in a random order (seeded by
        ``late_seed``, else at random), kept in the store and shown next. A switch already in
        the store is followed whatever this option says.
    """

    def __init__(
        self,
        screening: Screening,
        *,
        reviewer: str,
        stage: str = "title_abstract",
        model: str = DEFAULT_MODEL,
        seed: int = 0,
        sample: int | None = None,
        sample_seed: int | None = None,
        stop_target: float = 0.95,
        stop_confidence: float = 0.95,
        stop_run: int | str = DEFAULT_RUN,
        stop_late: str | None = None,
        late_seed: int | None = None,
    ) -> None:
        self.screening = screening
        self.stage = normalise_stage(stage)
        if sample is not None and sample < 1:
            raise InputError("the sample must hold 1 record or more", field="sample")
        if not 0.0 < stop_target < 1.0 or not 0.0 < stop_confidence < 1.0:
            raise InputError(
                f"stop target {stop_target} and confidence {stop_confidence} must lie in (0, 1)",
                field="stop_target",
            )
        self.stop_target = stop_target
        self.stop_confidence = stop_confidence
        self.stop_run = stop_run
        self.stop_late = None if stop_late is None else parse_switch(stop_late)
        self.late_seed = late_seed
        decide([], 1, run=stop_run)  # check the run before anything is written
        # Check the options before anything is written to the store.
        self.ranker = Ranker.from_preset(model, seed=seed)
        self.reviewer = screening.add_reviewer(reviewer)
        self.rule_exclusions: list[Decision] = []
        if self.stage == "title_abstract":
            self.rule_exclusions = screening.apply_publication_type_rule()
        # The ranker's corpus: every report of the stage, decided or not.
        self.ids: list[int] = screening.candidates(self.stage)
        self.index = {rid: i for i, rid in enumerate(self.ids)}
        self.records = [screening.reports.records[rid].record for rid in self.ids]
        # The ranker's text of each record, built once: refitting after every decision then
        # reuses the cached features (the texts are the same objects each time).
        self.texts = [record_parts(r) for r in self.records]
        self.labels = np.full(len(self.ids), -1, dtype=np.int8)
        for rid, label in screening.labels(self.stage).items():
            if rid in self.index:
                self.labels[self.index[rid]] = label
        if sample is not None:
            draw_screening_sample(screening, self.stage, sample, seed=sample_seed)
        self._sample = sample_status(screening, self.stage)
        self._late = late_status(screening, self.stage, target=stop_target,
                                 confidence=stop_confidence)  # fmt: skip
        self._streak = 0
        self.queue: set[int] = set(screening.queue(self.stage, self.reviewer))
        self.skipped: list[int] = []
        self.front: list[int] = []
        self.note: str | None = None
        self._mine = self._my_counts()
        self._ranking_dirty = True
        self._order: list[int] = []
        self._probability: dict[int, float] = {}
        self._estimate = math.nan
        self._trained = False
        self._stopping: tuple[StopDecision, ...] = ()
        self._data_version = int(
            screening.project.connection.execute("PRAGMA data_version").fetchone()[0]
        )

    def sync(self) -> bool:
        """Catch up with decisions written by others since the session was built (another
        reviewer's browser, ``metareview decide`` beside it): reload the labels the ranker
        learns from and this reviewer's queue. Cheap when nothing changed: SQLite's
        ``PRAGMA data_version`` changes only when another connection commits. Returns whether
        anything was reloaded.
        """
        conn = self.screening.project.connection
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if version == self._data_version:
            return False
        self._data_version = version
        self.screening.refresh()
        labels = np.full(len(self.ids), -1, dtype=np.int8)
        for rid, label in self.screening.labels(self.stage).items():
            if rid in self.index:
                labels[self.index[rid]] = label
        self.labels = labels
        self.queue = set(self.screening.queue(self.stage, self.reviewer))
        self._mine = self._my_counts()
        self._ranking_dirty = True
        return True

    def recall_curve(self) -> list[tuple[int, int]]:
        """This reviewer's screening so far as (records screened, records judged relevant)
        after each of their current decisions, in the order they were made: the empirical
        recall curve of an active-learning screen (Cormack & Grossman 2016, *Engineering
        quality and reliability in technology-assisted review*, SIGIR; ASReview's recall
        plot). Relevant means included or maybe, as the ranker learns it."""
        # self._mine: record -> current decision, in the order of each record's first
        # decision (built from the store in id order, kept up to date by decide and undo).
        latest = self._mine
        out: list[tuple[int, int]] = []
        found = 0
        for n, decision in enumerate(latest.values(), start=1):
            found += decision != "exclude"
            out.append((n, found))
        return out

    def _decision_order(self) -> list[int]:
        """The stage's decided records (positions in ``ids``) in the order they were first
        decided, by any reviewer, from the store: the reading order the stopping rules test,
        the same in a session resumed later (or in the web app) as in the one that made it."""
        order: dict[int, None] = {}
        for d in self.screening.decisions(stage=self.stage):
            if d.record_id in self.index:
                order.setdefault(self.index[d.record_id], None)
        return list(order)

    def _my_counts(self) -> dict[int, str]:
        mine: dict[int, str] = {}
        for d in self.screening.decisions(stage=self.stage, reviewer=self.reviewer):
            if d.basis == "reviewer":
                mine[d.record_id] = d.decision
        return mine

    # -- ranking -------------------------------------------------------------------------------

    def _rerank(self) -> None:
        if not self._ranking_dirty:
            return
        if not self.ids:
            self._order, self._probability, self._estimate = [], {}, 0.0
            self._ranking_dirty = False
            return
        self.ranker.fit(self.texts, self.labels, order=self._decision_order())
        pending = [self.index[r] for r in self.queue if r in self.index]
        ranking = self.ranker.rank(np.asarray(sorted(pending), dtype=np.intp))
        self._order = [self.ids[int(i)] for i in ranking.order]
        self._probability = {
            self.ids[int(i)]: float(p)
            for i, p in zip(ranking.order, ranking.probabilities, strict=True)
        }
        self._trained = ranking.trained
        self._estimate = self.ranker.estimate_remaining_relevant(
            np.asarray(sorted(pending), dtype=np.intp)
        )
        known = np.asarray(
            [v for v in (self.labels[i] for i in self.ranker._history) if v in (0, 1)],
            dtype=np.int64,
        )
        stops = decide(known, len(self.ids), target=self.stop_target,
                       confidence=self.stop_confidence, run=self.stop_run)  # fmt: skip
        self._streak = irrelevant_run(known)
        if self._sample is not None:
            self._sample = sample_status(self.screening, self.stage)
        sample = self._sample
        if sample is not None and sample.estimate is not None:
            est = sample.estimate
            stops.append(sample_decision(
                sample.outside_relevant + sample.found, est.pool, est.sampled, est.relevant,
                outside=sample.outside_relevant + sample.outside_undecided,
                target=self.stop_target, confidence=self.stop_confidence,
                complete=sample.complete,
            ))  # fmt: skip
        self._late = late_status(self.screening, self.stage, target=self.stop_target,
                                 confidence=self.stop_confidence)  # fmt: skip
        if (self._late is None and self.stop_late is not None and self.queue
                and self.stop_late.point(known, len(self.ids)) is not None):
            with contextlib.suppress(InputError):  # nothing unscreened at the stage: no draw
                draw_late_sample(self.screening, self.stage, self.stop_late.spec,
                                 seed=self.late_seed)  # fmt: skip
            self._late = late_status(self.screening, self.stage, target=self.stop_target,
                                     confidence=self.stop_confidence)  # fmt: skip
        if self._late is not None:
            stops.append(self._late.decision)
        elif self.stop_late is not None:
            stops.append(StopDecision("late-sample", False, 1.0, 1.0 - self.stop_confidence))
        self._stopping = tuple(stops)
        self._ranking_dirty = False

    def next(self) -> Candidate | None:
        """The record to screen next (None when the queue is empty).

        Order: a record just undone first, then the records of the random sample not yet
        screened (in the drawn order), then, after a switch to random order (the late-drawn
        sample rule), the unscreened records in the order drawn, then the ranker's order, then
        skipped records in the order they were skipped.
        """
        self._rerank()
        order = [r for r in self.front if r in self.queue]
        if self._sample is not None:
            order += [r for r in self._sample.sample.records
                      if r in self.queue and r not in self.skipped and r not in order]
        if self._late is not None:
            seen = set(order)
            order += [r for r in self._late.sample.records
                      if r in self.queue and r not in self.skipped and r not in seen]
        order += [r for r in self._order if r not in self.skipped and r not in order]
        order += [r for r in self.skipped if r in self.queue and r not in order]
        if not order:
            return None
        rid = order[0]
        record = self.screening.reports.records[rid].record
        rank = self._order.index(rid) + 1 if rid in self._order else len(self._order)
        return Candidate(
            record_id=rid,
            record=record,
            rank=rank,
            probability=self._probability.get(rid, math.nan),
            hints=tuple(publication_hints(record, self.screening.protocol)),
        )

    # -- actions -------------------------------------------------------------------------------

    def decide(self, record_id: int, decision: str, *, reason: str | None = None) -> Decision:
        """Record this reviewer's decision (with the pending note, if any) and update the model."""
        d = self.screening.decide(
            record_id, self.stage, decision, reviewer=self.reviewer, reason=reason, note=self.note
        )
        self.note = None
        self.queue.discard(record_id)
        self.front = [r for r in self.front if r != record_id]
        self.skipped = [r for r in self.skipped if r != record_id]
        self._mine[record_id] = d.decision
        if record_id in self.index:
            self.labels[self.index[record_id]] = 0 if d.decision == "exclude" else 1
        self._ranking_dirty = True
        return d

    def undo(self) -> Decision:
        """Undo this reviewer's latest decision at this stage; its record is shown next."""
        d = self.screening.undo(reviewer=self.reviewer, stage=self.stage)
        self._mine = self._my_counts()
        labels = self.screening.labels(self.stage)
        if d.record_id in self.index:
            self.labels[self.index[d.record_id]] = labels.get(d.record_id, -1)
            self.queue.add(d.record_id)
            self.front.insert(0, d.record_id)
        self._ranking_dirty = True
        return d

    def skip(self, record_id: int) -> None:
        """Put a record at the end of this session's queue."""
        self.front = [r for r in self.front if r != record_id]
        self.skipped = [r for r in self.skipped if r != record_id] + [record_id]

    def progress(self) -> ScreeningProgress:
        self._rerank()
        counts = {"include": 0, "exclude": 0, "maybe": 0}
        for decision in self._mine.values():
            counts[decision] += 1
        total = len(self.ids)
        return ScreeningProgress(
            total=total,
            done=total - len(self.queue),
            included=counts["include"],
            excluded=counts["exclude"],
            maybe=counts["maybe"],
            remaining_relevant=self._estimate,
            trained=self._trained,
            stopping=self._stopping,
            remaining_sample=self._sample,
            stop_target=self.stop_target,
            stop_confidence=self.stop_confidence,
            stop_late=self.stop_late,
            late_sample=self._late,
            irrelevant_streak=self._streak,
        )


def remaining_text(prog: ScreeningProgress) -> str:
    """The estimate of relevant records left as the screener and the web page show it: the
    random sample's, with its interval, once a sample record is read; else the ranker's
    extrapolation, marked as a model's."""
    sample = prog.remaining_sample
    if sample is not None and sample.estimate is not None:
        return sample.text()
    if prog.trained and not math.isnan(prog.remaining_relevant):
        return f"≈ {prog.remaining_relevant:.1f} (ranker's extrapolation, no interval)"
    return "n/a (needs an include and an exclude)"


def stopping_text(prog: ScreeningProgress) -> list[str]:
    """One line per stopping rule, as the screener and the web page show them."""
    out = []
    for d in prog.stopping:
        verdict = ": STOP" if d.stop else ""
        if d.rule == "hypergeometric":
            out.append(f"{100 * prog.stop_target:g}% recall test on the ranked tail: "
                       f"p = {d.value:.3f} (stop below {d.threshold:g}{verdict})")
        elif d.rule == "irrelevant-run":
            out.append(f"{d.value:.0f} irrelevant in a row (heuristic, no recall guarantee; "
                       f"stop at {d.threshold:.0f}{verdict})")
        elif d.rule == "sample":
            sample = prog.remaining_sample
            read = "" if sample is None or sample.complete else (
                f"; verdict once all {len(sample.sample.records)} sample records are read, "
                f"{sample.read} so far"
            )
            out.append(f"random sample: recall ≥ {100 * d.value:.1f}% at "
                       f"{100 * prog.stop_confidence:g}% confidence (stop at "
                       f"{100 * d.threshold:g}%{verdict}{read})")
        elif d.rule == "late-sample":
            late = prog.late_sample
            if late is None:
                sw = prog.stop_late
                when = "" if sw is None else f" {sw.text()}"
                so_far = (f"; {prog.irrelevant_streak} in a row so far"
                          if sw is not None and sw.counts_runs else "")
                out.append(f"late random sample: switches to a random order{when}{so_far}")
                continue
            out.append(
                f"late random sample ({late.sample.switch} fired after "
                f"{late.sample.screened} screened): {late.read} of {len(late.sample.records)} "
                f"drawn, {late.relevant} relevant; {100 * prog.stop_target:g}% recall test "
                f"p = {d.value:.3f} (stop below {d.threshold:g}{verdict})"
            )
    return out



# -- terminal ------------------------------------------------------------------------------------


def read_key() -> str:
    """Read one key press from stdin ('' at end of input); escape sequences become ``"\\x1b"``."""
    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        return sys.stdin.read(1)
    import termios
    import tty

    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        data = os.read(fd, 1)
        if data == b"\x1b":
            # Swallow the rest of an escape sequence (arrow keys), if it follows at once.
            while select.select([fd], [], [], 0.02)[0]:
                os.read(fd, 8)
        return data.decode("utf-8", errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


_STAGE_LABEL = {"title_abstract": "title/abstract", "full_text": "full text"}


def _render(session: ScreeningSession, cand: Candidate, message: str | None) -> Group:
    protocol = session.screening.protocol
    prog = session.progress()
    bar = ProgressBar(total=max(prog.total, 1), completed=prog.done, width=30)
    estimate = remaining_text(prog)
    head = Table.grid(padding=(0, 1))
    head.add_row(
        bar,
        Text(
            f"{prog.done}/{prog.total} screened · {prog.included} included · "
            f"{prog.excluded} excluded · {prog.maybe} maybe · relevant left {estimate}"
        ),
    )
    if prog.stopping:
        head.add_row(Text(""), Text("stop? " + " · ".join(stopping_text(prog)), style="dim"))
    rec = cand.record
    title = Text(rec.title or "(no title)", style="bold")
    meta = [
        rec.journal or "",
        str(rec.year) if rec.year else "",
        ", ".join(rec.publication_types) or rec.kind,
    ]
    ids = []
    if rec.nct_ids:
        ids.append("registry " + ", ".join(rec.nct_ids))
    elif rec.kind == "registry" and rec.source_id:
        ids.append(f"registry {rec.source_id}")
    if rec.pmid:
        ids.append(f"PMID {rec.pmid}")
    line = Text(" · ".join(m for m in meta + ids if m), style="dim")
    abstract = Text(rec.abstract or "(no abstract)")
    terms = protocol.key_terms() if protocol is not None else []
    if terms:
        abstract.highlight_words(terms, style="bold black on yellow", case_sensitive=False)
        title.highlight_words(terms, style="bold black on yellow", case_sensitive=False)
    parts: list[Text | Table] = [title, line, Text(""), abstract]
    for hint in cand.hints:
        suggestion = f" → suggests exclusion reason {hint.reason!r}" if hint.reason else ""
        parts.append(Text(f"Hint: {hint.label} ({hint.evidence}){suggestion}", style="magenta"))
    p = "" if math.isnan(cand.probability) else f" · p(relevant) = {cand.probability:.2f}"
    panel = Panel(
        Group(*parts),
        title=f"record {cand.record_id} · rank {cand.rank}{p}",
        subtitle=f"{_STAGE_LABEL[session.stage]} · reviewer {session.reviewer}",
    )
    keys = Text(
        "Keys: [i] include  [e] exclude  [m] maybe  [n] note  [u] undo  [s] skip  [q] quit",
        style="bold",
    )
    items: list[Table | Panel | Text] = [head, panel]
    if session.note:
        items.append(Text(f"Note for the next decision: {session.note}", style="cyan"))
    if message:
        items.append(Text(message, style="green"))
    items.append(keys)
    return Group(*items)


def _choose_reason(
    session: ScreeningSession, console: Console, key: Callable[[], str]
) -> tuple[bool, str | None]:
    """Ask for the eligibility code of an exclusion: (chosen, code); (False, None) if cancelled."""
    protocol = session.screening.protocol
    codes = protocol.eligibility if protocol is not None else []
    symbols = "123456789abcdfghjklmnoprstvwxyz"
    table = Table(title="Exclude: which criterion does the record fail?", show_header=False)
    for sym, criterion in zip(symbols, codes, strict=False):
        table.add_row(Text(f"[{sym}]"), Text(criterion.code), Text(criterion.text))
    optional = session.stage == "title_abstract"
    console.print(table)
    console.print(
        Text(
            "[Enter] no reason  [Esc] cancel" if optional else "[Esc] cancel (a reason is required)"
        )
    )
    while True:
        k = key()
        if k in ("", "\x1b"):
            return False, None
        if k in ("\r", "\n") and optional:
            return True, None
        if k in symbols and symbols.index(k) < len(codes):
            return True, codes[symbols.index(k)].code


def run_screener(
    session: ScreeningSession,
    *,
    console: Console | None = None,
    key: Callable[[], str] = read_key,
) -> int:
    """Run the interactive screener until the queue is empty or the reviewer quits.

    Returns the number of decisions recorded in this session (undos not subtracted).
    """
    console = console or Console()
    message: str | None = None
    if session.rule_exclusions:
        message = (
            f"{len(session.rule_exclusions)} record(s) excluded by the protocol's "
            "publication-type rule (logged as rule-based)"
        )
    made = undone = 0
    while True:
        cand = session.next()
        if cand is None:
            prog = session.progress()
            console.print(
                Text(
                    f"Nothing left to screen at {_STAGE_LABEL[session.stage]} for "
                    f"{session.reviewer}: {prog.done}/{prog.total} done."
                )
            )
            break
        console.clear()
        console.print(_render(session, cand, message))
        message = None
        k = key()
        if k in ("", "q", "Q", "\x04"):
            break
        try:
            if k in ("i", "I"):
                session.decide(cand.record_id, "include")
                made += 1
                message = f"record {cand.record_id}: included"
            elif k in ("m", "M"):
                session.decide(cand.record_id, "maybe")
                made += 1
                message = f"record {cand.record_id}: maybe"
            elif k in ("e", "E"):
                chosen, reason = _choose_reason(session, console, key)
                if chosen:
                    session.decide(cand.record_id, "exclude", reason=reason)
                    made += 1
                    message = f"record {cand.record_id}: excluded" + (
                        f" ({reason})" if reason else ""
                    )
                else:
                    message = "exclusion cancelled"
            elif k in ("u", "U"):
                d = session.undo()
                undone += 1
                message = f"undone: record {d.record_id} {d.decision}"
            elif k in ("s", "S"):
                session.skip(cand.record_id)
                message = f"record {cand.record_id}: skipped"
            elif k in ("n", "N"):
                session.note = console.input("Note: ").strip() or None
            else:
                message = f"unknown key {k!r}"
        except InputError as exc:
            message = f"error: {exc}"
    prog = session.progress()
    console.print(
        Text(
            f"Session ended: {made} decision(s) recorded, {undone} undone; "
            f"{prog.done}/{prog.total} screened by "
            f"{session.reviewer} at {_STAGE_LABEL[session.stage]}."
        )
    )
    return made
