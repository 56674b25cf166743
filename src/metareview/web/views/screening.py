"""Screening: one record at a time in the ranker's order, conflicts, and their resolution.

The record panel is one fragment (``_screen.html``) that every action returns, so a key press
is one htmx request: the decision is stored (``ScreeningSession.decide`` ->
``Screening.decide``, one audited transaction), the ranker retrains, and the next record comes
back rendered. A decision names the record it is about; one the reviewer has already decided
(a key pressed twice, a resent request) is not stored again.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from metareview.errors import InputError
from metareview.screening.decisions import STAGES, Screening, normalise_stage, reviewer_key
from metareview.screening.screener import ScreeningSession, remaining_text, stopping_text
from metareview.web.app import WebState
from metareview.web.render import curve_svg, highlight
from metareview.web.views import is_htmx, login_redirect, require_reviewer, session_of, state_of

router = APIRouter()

STAGE_LABELS = {"title_abstract": "Title and abstract", "full_text": "Full text"}


def _session(state: WebState, reviewer: str, stage: str) -> ScreeningSession:
    """The reviewer's session for ``stage`` (store thread), caught up with others' writes."""
    key = (reviewer_key(reviewer), stage)
    session = state.screeners.get(key)
    if session is None:
        screening = Screening.open(state.directory)
        try:
            session = ScreeningSession(screening, reviewer=reviewer, stage=stage,
                                       stop_late=state.stop_late)  # fmt: skip
        except BaseException:
            screening.close()
            raise
        state.screeners[key] = session
    else:
        session.sync()
    return session


def screen_view(
    state: WebState, reviewer: str, stage: str, message: str | None = None
) -> dict[str, Any]:
    """Everything the record panel shows (store thread)."""
    session = _session(state, reviewer, stage)
    cand = session.next()
    prog = session.progress()
    protocol = session.screening.protocol
    criteria = [c for c in (protocol.eligibility if protocol else []) if c.stage in (stage, "both")]
    terms = [(t, "inc") for t in (protocol.key_terms() if protocol else [])]
    record: dict[str, Any] | None = None
    if cand is not None:
        rec = cand.record
        hint_terms = [
            (h.evidence.split("'")[1], "exc")
            for h in cand.hints
            if not h.structured and h.evidence.count("'") >= 2
        ]
        record = {
            "id": cand.record_id,
            "rank": cand.rank,
            "probability": None if math.isnan(cand.probability) else cand.probability,
            "title": highlight(rec.title or "(no title)", terms + hint_terms),
            "abstract": highlight(rec.abstract or "(no abstract)", terms + hint_terms),
            "journal": rec.journal,
            "year": rec.year,
            "authors": ", ".join(rec.authors[:6]) + (" et al." if len(rec.authors) > 6 else ""),
            "types": ", ".join(rec.publication_types) or rec.kind,
            "pmid": rec.pmid,
            "nct": ", ".join(rec.nct_ids),
            "doi": rec.doi,
            "hints": cand.hints,
            "meta": [
                m
                for m in (
                    ", ".join(rec.authors[:6]) + (" et al." if len(rec.authors) > 6 else ""),
                    rec.journal,
                    str(rec.year) if rec.year else "",
                    ", ".join(rec.publication_types) or rec.kind,
                    f"PMID {rec.pmid}" if rec.pmid else "",
                    ", ".join(rec.nct_ids),
                    f"doi {rec.doi}" if rec.doi else "",
                )
                if m
            ],
        }
    estimate = remaining_text(prog)
    return {
        "stage": stage,
        "stage_label": STAGE_LABELS[stage],
        "record": record,
        "progress": prog,
        "estimate": estimate,
        "stopping": stopping_text(prog),
        "criteria": criteria,
        "reason_optional": stage == "title_abstract",
        "curve": curve_svg(session.recall_curve(), prog.total),
        "note": session.note,
        "message": message,
        "dual": bool(protocol and protocol.screening.dual),
    }


def _decide(
    state: WebState, reviewer: str, stage: str, record_id: int, decision: str, reason: str | None
) -> dict[str, Any]:
    session = _session(state, reviewer, stage)
    if record_id not in session.queue:
        # Already decided by this reviewer (a second key press, a resent request): not again.
        return screen_view(state, reviewer, stage, f"record {record_id} is already decided")
    d = session.decide(record_id, decision, reason=reason or None)
    said = f"record {d.record_id}: {d.decision}" + (f" ({d.reason})" if d.reason else "")
    return screen_view(state, reviewer, stage, said)


def _undo(state: WebState, reviewer: str, stage: str) -> dict[str, Any]:
    session = _session(state, reviewer, stage)
    d = session.undo()
    return screen_view(state, reviewer, stage, f"undone: record {d.record_id} {d.decision}")


def _skip(state: WebState, reviewer: str, stage: str, record_id: int) -> dict[str, Any]:
    _session(state, reviewer, stage).skip(record_id)
    return screen_view(state, reviewer, stage, f"record {record_id}: skipped")


def _note(state: WebState, reviewer: str, stage: str, note: str) -> dict[str, Any]:
    session = _session(state, reviewer, stage)
    session.note = note.strip() or None
    said = "note kept for the next decision" if session.note else "note cleared"
    return screen_view(state, reviewer, stage, said)


def _stage(stage: str) -> str:
    return normalise_stage(stage)


@router.get("/screening", response_class=HTMLResponse)
async def screening_page(request: Request, stage: str = "title_abstract") -> Response:
    if not session_of(request).reviewer:
        return login_redirect(request)
    state = state_of(request)
    reviewer = require_reviewer(request)
    data = await state.run(screen_view, state, reviewer, _stage(stage))
    return state.render(
        request, "screening.html", {**data, "stages": STAGES, "stage_labels": STAGE_LABELS}
    )


def _panel(request: Request, data: dict[str, Any]) -> Response:
    state = state_of(request)
    name = "_screen.html" if is_htmx(request) else "screening.html"
    return state.render(request, name, {**data, "stages": STAGES, "stage_labels": STAGE_LABELS})


@router.post("/screening/decide", response_class=HTMLResponse)
async def decide(
    request: Request,
    record_id: Annotated[int, Form()],
    decision: Annotated[str, Form()],
    stage: Annotated[str, Form()] = "title_abstract",
    reason: Annotated[str, Form()] = "",
) -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    data = await state.run(_decide, state, reviewer, _stage(stage), record_id, decision, reason)
    return _panel(request, data)


@router.post("/screening/undo", response_class=HTMLResponse)
async def undo(request: Request, stage: Annotated[str, Form()] = "title_abstract") -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    return _panel(request, await state.run(_undo, state, reviewer, _stage(stage)))


@router.post("/screening/skip", response_class=HTMLResponse)
async def skip(
    request: Request,
    record_id: Annotated[int, Form()],
    stage: Annotated[str, Form()] = "title_abstract",
) -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    return _panel(request, await state.run(_skip, state, reviewer, _stage(stage), record_id))


@router.post("/screening/note", response_class=HTMLResponse)
async def note(
    request: Request,
    note: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "title_abstract",
) -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    return _panel(request, await state.run(_note, state, reviewer, _stage(stage), note))


# -- conflicts -------------------------------------------------------------------------------


def conflicts_view(state: WebState) -> dict[str, Any]:
    """Per stage: the conflicts (as ``metareview conflicts`` lists them) and the agreement."""
    out: dict[str, Any] = {}
    with Screening.open(state.directory) as s:
        codes = s.protocol.eligibility if s.protocol else []
        for st in STAGES:
            try:
                agree: dict[str, Any] | None = s.agreement(st).to_dict()
            except InputError as exc:
                agree = {"note": str(exc)}
            out[st] = {
                "agreement": agree,
                "conflicts": [
                    {
                        "record_id": rid,
                        "title": s.reports.records[rid].record.title,
                        "decisions": ds,
                    }
                    for rid, ds in s.conflicts(st)
                ],
            }
    return {"by_stage": out, "codes": codes}


@router.get("/screening/conflicts", response_class=HTMLResponse)
async def conflicts_page(request: Request) -> Response:
    state = state_of(request)
    data = await state.run(conflicts_view, state)
    return state.render(request, "conflicts.html", {**data, "stage_labels": STAGE_LABELS})


def _resolve(
    state: WebState,
    reviewer: str,
    record_id: int,
    stage: str,
    decision: str,
    reason: str,
    note: str,
) -> None:
    with Screening.open(state.directory) as s:
        s.resolve(
            record_id, stage, decision, reviewer=reviewer, reason=reason or None, note=note or None
        )


@router.post("/screening/resolve", response_class=HTMLResponse)
async def resolve(
    request: Request,
    record_id: Annotated[int, Form()],
    stage: Annotated[str, Form()],
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """``metareview resolve``: the agreed decision on a conflict."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    await state.run(_resolve, state, reviewer, record_id, _stage(stage), decision, reason, note)
    data = await state.run(conflicts_view, state)
    return state.render(
        request,
        "conflicts.html",
        {**data, "stage_labels": STAGE_LABELS, "message": f"record {record_id} resolved"},
    )
