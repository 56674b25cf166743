"""Overview: the protocol, PRISMA 2020 counts live from the store, progress per stage and
reviewer; the reviewer-name form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from metareview.screening.decisions import STAGES, Screening
from metareview.screening.prisma import prisma_counts
from metareview.web.views import session_of, state_of

router = APIRouter()


def overview_data(directory: Any) -> dict[str, Any]:
    """What the overview shows (also its JSON form, ``/overview.json``)."""
    with Screening.open(directory) as s:
        protocol = s.protocol
        return {
            "protocol": None if protocol is None else protocol.model_dump(mode="json"),
            "prisma": prisma_counts(s).to_dict() if s.project.count_records() else None,
            "progress": {stage: s.progress(stage) for stage in STAGES},
            "conflicts": {stage: len(s.conflicts(stage)) for stage in STAGES},
            "reviewers": s.reviewers(),
            "dual": bool(protocol and protocol.screening.dual),
        }


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    state = state_of(request)
    data = await state.run(overview_data, state.directory)
    return state.render(request, "overview.html", data)


@router.get("/overview.json")
async def overview_json(request: Request) -> JSONResponse:
    state = state_of(request)
    return JSONResponse(await state.run(overview_data, state.directory))


@router.get("/reviewer", response_class=HTMLResponse)
async def reviewer_form(request: Request, next: str = "/") -> Response:
    state = state_of(request)
    names = await state.run(_reviewers, state.directory)
    return state.render(request, "reviewer.html", {"next": _local(next), "names": names})


def _reviewers(directory: Any) -> list[str]:
    with Screening.open(directory) as s:
        return s.reviewers()


def _register(directory: Any, name: str) -> str:
    with Screening.open(directory) as s:
        return s.add_reviewer(name)


@router.post("/reviewer")
async def set_reviewer(
    request: Request, name: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Register the name (as ``metareview screen --reviewer`` does: a clash is refused)."""
    state = state_of(request)
    session_of(request).reviewer = await state.run(_register, state.directory, name)
    return RedirectResponse(_local(next), status_code=303)


def _local(url: str) -> str:
    """Only a path of this app as a redirect target (no open redirect)."""
    return url if url.startswith("/") and not url.startswith("//") else "/"
