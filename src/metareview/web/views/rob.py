"""Risk of bias: per included study × outcome, the signalling questions of each domain (RoB 2
or ROBINS-I) with the algorithm's judgement shown as answers are given, and overrides with
their justification.

The live judgement is :func:`metareview.appraisal.rob2.domain_judgement` per domain and
:func:`metareview.appraisal.assessment.judge` overall; saving writes the form's rows in the
columns of ``metareview rob --template`` and stores them with
:func:`metareview.review.rob.import_rob`, the checks and single transaction of ``metareview rob
--import`` (every problem at once, nothing stored then).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from metareview.appraisal import rob2
from metareview.appraisal.assessment import judge
from metareview.appraisal.stored import assessments
from metareview.appraisal.vocabulary import (
    ANSWERS,
    JUDGEMENT_LABELS,
    OVERALL,
    TOOLS,
    Tool,
    find_tool,
)
from metareview.errors import InputError, InputErrors
from metareview.review.rob import ROB_COLUMNS, import_rob
from metareview.review.store import _open_protocol, ensure_studies
from metareview.store import Project
from metareview.web.app import WebState
from metareview.web.views import login_redirect, require_reviewer, session_of, state_of

router = APIRouter()


def _tool(name: str) -> Tool:
    tool = find_tool(name)
    if tool is None:
        raise InputError(f"unknown tool {name!r}: use {' or '.join(TOOLS)}", field="tool")
    return tool


def list_view(state: WebState, reviewer: str) -> dict[str, Any]:
    """Included studies × outcomes with each reviewer's overall judgement."""
    with Project.open(state.directory, actor=reviewer) as project:
        protocol = _open_protocol(project)
        studies = ensure_studies(project, actor=reviewer)
        found = assessments(project)
    cells: dict[tuple[int, str], list[tuple[str, str, str]]] = {}
    for a in found:
        cells.setdefault((a.study_id, a.outcome), []).append(
            (a.reviewer if a.basis == "reviewer" else a.basis, a.tool, a.overall.judgement)
        )
    return {
        "studies": studies,
        "outcomes": protocol.outcomes,
        "cells": cells,
        "labels": JUDGEMENT_LABELS,
        "tools": list(TOOLS),
    }


@router.get("/rob", response_class=HTMLResponse)
async def rob_list(request: Request) -> Response:
    if not session_of(request).reviewer:
        return login_redirect(request)
    state = state_of(request)
    data = await state.run(list_view, state, require_reviewer(request))
    return state.render(request, "rob_list.html", data)


def _posted_answers(tool: Tool, posted: dict[str, str]) -> dict[str, str]:
    return {
        q.id: posted[f"a-{q.id}"]
        for d in tool.domains
        for q in d.questions
        if posted.get(f"a-{q.id}")
    }


def _posted_overrides(
    tool: Tool, posted: dict[str, str]
) -> dict[str, tuple[str | None, str | None]]:
    out: dict[str, tuple[str | None, str | None]] = {}
    for domain in [*(d.id for d in tool.domains), OVERALL]:
        o, w = posted.get(f"o-{domain}", ""), posted.get(f"j-{domain}", "")
        if o or w:
            out[domain] = (o or None, w or None)
    return out


def judgements(
    tool: Tool, answers: dict[str, str], overrides: dict[str, tuple[str | None, str | None]]
) -> dict[str, Any]:
    """The algorithm's judgement of each domain so far (or what it still needs) and the
    overall judgement once every domain has one."""
    domains: dict[str, dict[str, str | None]] = {}
    for d in tool.domains:
        mine = {q.id: answers[q.id] for q in d.questions if q.id in answers}
        algorithm: str | None = None
        needs: str | None = None
        if tool.algorithmic:
            try:
                algorithm = rob2.domain_judgement(d.id, mine)
            except InputError as exc:
                needs = exc.message
        override = overrides.get(d.id, (None, None))[0]
        domains[d.id] = {"algorithm": algorithm, "needs": needs, "counts": override or algorithm}
    overall: str | None = None
    problem: str | None = None
    try:
        overall = judge(tool, answers, overrides).overall.judgement
    except InputErrors as exc:
        problem = "; ".join(p.message for p in exc.problems)
    return {"domains": domains, "overall": overall, "problem": problem}


def form_view(
    state: WebState,
    reviewer: str,
    study_id: int,
    outcome: str,
    tool_name: str,
    posted: dict[str, str] | None = None,
) -> dict[str, Any]:
    tool = _tool(tool_name)
    with Project.open(state.directory, actor=reviewer) as project:
        protocol = _open_protocol(project)
        studies = {s.study_id: s for s in ensure_studies(project, actor=reviewer)}
        if study_id not in studies:
            raise InputError(
                f"study {study_id} is not an included study of the project", field="study_id"
            )
        if outcome not in [o.name for o in protocol.outcomes]:
            raise InputError(f"{outcome!r} is not an outcome of the protocol", field="outcome")
        mine = [
            a
            for a in assessments(project, outcome=outcome)
            if a.study_id == study_id
            and a.tool == tool.name
            and a.reviewer == reviewer
            and a.basis == "reviewer"
        ]
    if posted is None:
        posted = {}
        if mine:
            a = mine[-1]
            for ans in a.answers:
                posted[f"a-{ans.question}"] = ans.answer
                if ans.quote:
                    posted[f"q-{ans.question}"] = ans.quote
            for r in [*a.domains, a.overall]:
                if r.override:
                    posted[f"o-{r.domain}"] = r.override
                if r.justification:
                    posted[f"j-{r.domain}"] = r.justification
    live = judgements(tool, _posted_answers(tool, posted), _posted_overrides(tool, posted))
    return {
        "study": studies[study_id],
        "study_id": study_id,
        "outcome": outcome,
        "tool": tool,
        "tools": list(TOOLS),
        "posted": posted,
        "live": live,
        "answers": ANSWERS,
        "labels": JUDGEMENT_LABELS,
        "overall_id": OVERALL,
        "stored": bool(mine),
        "error": None,
        "message": None,
    }


@router.get("/rob/{study_id}/{outcome}", response_class=HTMLResponse)
async def rob_form(request: Request, study_id: int, outcome: str, tool: str = "rob2") -> Response:
    if not session_of(request).reviewer:
        return login_redirect(request)
    state = state_of(request)
    data = await state.run(form_view, state, require_reviewer(request), study_id, outcome, tool)
    return state.render(request, "rob_form.html", data)


@router.post("/rob/{study_id}/{outcome}/judge", response_class=HTMLResponse)
async def rob_judge(request: Request, study_id: int, outcome: str, tool: str = "rob2") -> Response:
    """The judgements for the answers given so far (htmx, on every change of the form)."""
    state = state_of(request)
    t = _tool(tool)
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    live = judgements(t, _posted_answers(t, posted), _posted_overrides(t, posted))
    return state.render(
        request, "_rob_judgements.html", {"tool": t, "live": live, "labels": JUDGEMENT_LABELS}
    )


def _save(
    state: WebState,
    reviewer: str,
    study_id: int,
    outcome: str,
    tool_name: str,
    posted: dict[str, str],
) -> dict[str, Any]:
    tool = _tool(tool_name)
    rows: list[dict[str, str]] = []
    common = {
        "study_id": str(study_id),
        "outcome": outcome,
        "tool": tool.name,
        "reviewer": reviewer,
    }
    for d in tool.domains:
        for i, q in enumerate(d.questions):
            row = {
                **common,
                "domain": d.id,
                "question": q.id,
                "text": q.text,
                "answer": posted.get(f"a-{q.id}", ""),
                "quote": posted.get(f"q-{q.id}", ""),
            }
            if i == 0:
                row["domain_override"] = posted.get(f"o-{d.id}", "")
                row["justification"] = posted.get(f"j-{d.id}", "")
            rows.append(row)
    rows.append(
        {
            **common,
            "domain": OVERALL,
            "question": "",
            "domain_override": posted.get(f"o-{OVERALL}", ""),
            "justification": posted.get(f"j-{OVERALL}", ""),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "risk-of-bias form.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(ROB_COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
        try:
            summary = import_rob(state.directory, path, reviewer=reviewer)
        except InputError as exc:
            failed = form_view(state, reviewer, study_id, outcome, tool.name, posted=posted)
            failed["error"] = str(exc).replace(f"{tmp}/", "")
            return failed
    saved = form_view(state, reviewer, study_id, outcome, tool.name)
    saved["message"] = (
        f"{summary.n_assessments} assessment stored"
        if summary.n_assessments
        else "nothing to store: the form is blank"
    )
    return saved


@router.post("/rob/{study_id}/{outcome}", response_class=HTMLResponse)
async def rob_save(request: Request, study_id: int, outcome: str, tool: str = "rob2") -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    data = await state.run(_save, state, reviewer, study_id, outcome, tool, posted)
    return state.render(request, "rob_form.html", data, status_code=422 if data["error"] else 200)
