"""Duplicates and studies: the links ``metareview dedupe`` made (undo one: not a duplicate),
possible duplicates it did not link (link them), and linking reports to studies by hand
(``metareview link``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from metareview.screening.dedupe import DedupeSettings, find_links, stored_links, undo_link
from metareview.screening.links import list_studies, resolve_records
from metareview.store import Project
from metareview.web.app import WebState
from metareview.web.views import require_reviewer, state_of

router = APIRouter()

#: Title similarity from which an unlinked pair is offered as a possible duplicate (the
#: dedupe rule itself links from :attr:`DedupeSettings.title_threshold`, 0.93).
POSSIBLE_THRESHOLD = 0.80


def duplicates_view(state: WebState) -> dict[str, Any]:
    """Active links, weakest first, and possible duplicates not linked nor undone before."""
    with Project.open(state.directory) as project:
        stored = project.records()
        by_id = {s.id: s.record for s in stored}
        every = stored_links(project, include_undone=True)
        active = sorted((x for x in every if x.active), key=lambda x: (x.score, x.id))
        seen = {frozenset((x.record_a, x.record_b)) for x in every}
        studies = project.studies()
        same_study = {frozenset((a, b)) for ids in studies.values() for a in ids for b in ids}
        loose = DedupeSettings(title_threshold=POSSIBLE_THRESHOLD, author_threshold=0.6)
        possible = [
            link
            for link in find_links(
                [s.record for s in stored], [s.id for s in stored], settings=loose, rules=("title",)
            )
            if frozenset((link.a, link.b)) not in seen | same_study
        ]
    return {"links": active, "possible": possible, "records": by_id}


@router.get("/duplicates", response_class=HTMLResponse)
async def duplicates(request: Request) -> Response:
    state = state_of(request)
    data = await state.run(duplicates_view, state)
    return state.render(request, "duplicates.html", {**data, "message": None})


def _not_duplicate(state: WebState, reviewer: str, link_id: int) -> str:
    with Project.open(state.directory, actor=reviewer) as project:
        out = undo_link(project, link_id, reason=f"not a duplicate ({reviewer}, web)")
    if out.separated:
        return f"link #{link_id} undone: records {out.link.record_a} and {out.link.record_b}"
    ids = ", ".join(f"#{i}" for i in out.still_connected_by)
    return f"link #{link_id} undone; the records are still joined by links {ids}"


@router.post("/duplicates/undo", response_class=HTMLResponse)
async def not_duplicate(request: Request, link_id: Annotated[int, Form()]) -> Response:
    """``metareview dedupe DIR --undo LINK_ID``: the two records are not the same report."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    message = await state.run(_not_duplicate, state, reviewer, link_id)
    data = await state.run(duplicates_view, state)
    return state.render(request, "duplicates.html", {**data, "message": message})


def _link(state: WebState, reviewer: str, refs: list[str], reason: str, label: str) -> str:
    with Project.open(state.directory, actor=reviewer) as project:
        ids = resolve_records(project, refs)
        study = project.link_by_hand(ids, reason=reason, label=label or None, actor=reviewer)
    return f"records {', '.join(map(str, ids))} linked to study {study}"


@router.post("/duplicates/link", response_class=HTMLResponse)
async def link_pair(
    request: Request, record_a: Annotated[int, Form()], record_b: Annotated[int, Form()]
) -> Response:
    """A possible duplicate confirmed: the two records are put in one study (``metareview
    link``)."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    message = await state.run(
        _link,
        state,
        reviewer,
        [str(record_a), str(record_b)],
        "same study (possible duplicate confirmed in the web app)",
        "",
    )
    data = await state.run(duplicates_view, state)
    return state.render(request, "duplicates.html", {**data, "message": message})


# -- studies --------------------------------------------------------------------------------


@router.get("/studies", response_class=HTMLResponse)
async def studies(request: Request) -> Response:
    state = state_of(request)
    data = await state.run(list_studies, state.directory)
    return state.render(request, "studies.html", {"studies": data, "message": None})


def _unlink(state: WebState, reviewer: str, link_id: int, reason: str) -> str:
    with Project.open(state.directory, actor=reviewer) as project:
        project.unlink(link_id, reason=reason, actor=reviewer)
    return f"link {link_id} undone"


@router.post("/studies/link", response_class=HTMLResponse)
async def link_records(
    request: Request,
    records: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
) -> Response:
    """``metareview link DIR RECORD_ID... --reason R [--study LABEL]``."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    refs = records.replace(",", " ").split()
    message = await state.run(_link, state, reviewer, refs, reason, label)
    data = await state.run(list_studies, state.directory)
    return state.render(request, "studies.html", {"studies": data, "message": message})


@router.post("/studies/unlink", response_class=HTMLResponse)
async def unlink(
    request: Request, link_id: Annotated[int, Form()], reason: Annotated[str, Form()]
) -> Response:
    """``metareview link DIR --undo LINK_ID --reason R``."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    message = await state.run(_unlink, state, reviewer, link_id, reason)
    data = await state.run(list_studies, state.directory)
    return state.render(request, "studies.html", {"studies": data, "message": message})
