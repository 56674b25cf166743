"""Extraction: per included study × protocol outcome, a form with one row per arm, the study's
records beside it, and the other reviewers' values side by side.

Saving the form stores its rows through
:func:`metareview.review.extract.import_extraction_rows`, the checks and single transaction of
``metareview extract --import``: every problem is reported at once (naming the row and column)
and nothing is stored then. Derived numbers are never typed: the derivation picker only shows
the reported numbers a derivation needs (the analysis recomputes it each run, see
:mod:`metareview.extraction.assemble`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from metareview.effects.measures import find_measure
from metareview.errors import InputError
from metareview.extraction.derivations import DERIVATIONS
from metareview.extraction.registry import registry_values
from metareview.extraction.stored import current_values
from metareview.extraction.table import TableRow
from metareview.extraction.values import NUMBER_FIELDS, ExtractedValue
from metareview.review.extract import (
    extraction_conflicts,
    fill_from_registry,
    groups_for,
    import_extraction_rows,
    record_ref,
)
from metareview.review.store import _open_protocol, ensure_studies
from metareview.store import Project
from metareview.web.app import WebState
from metareview.web.render import sentences
from metareview.web.views import login_redirect, require_reviewer, session_of, state_of

router = APIRouter()

#: The numbers the form asks for, by the measure's family (the template's columns).
FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
    "two-group binary": ("n", "events", "n_randomised"),
    "single-group proportion": ("n", "events"),
    "rates": ("events", "person_time"),
    "single-group rate": ("events", "person_time"),
}
CONTINUOUS = (
    "n",
    "mean",
    "sd",
    "se",
    "ci_lower",
    "ci_upper",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "mean_change",
    "sd_change",
    "pvalue",
    "r",
    "n_randomised",
)
CONTRAST = ("estimate", "estimate_se", "ci_lower", "ci_upper", "pvalue")

#: The derivation picker: how an SD (or SE) the analysis needs is obtained, and the reported
#: numbers each way needs (the conversions of :data:`DERIVATIONS`).
PICKER: dict[str, tuple[str, tuple[str, ...]]] = {
    "reported": ("SD reported", ("sd",)),
    "sd_from_se": ("SD from the SE", ("se",)),
    "sd_from_ci": ("SD from a 95% CI of the mean", ("ci_lower", "ci_upper")),
    "sd_from_median_iqr": ("mean and SD from median and IQR", ("median", "q1", "q3")),
    "sd_from_median_range": ("mean and SD from median and range", ("median", "min", "max")),
    "change_sd": ("change SD from baseline and follow-up SDs and r", ("r",)),
}
assert all(k in DERIVATIONS for k in PICKER if k != "reported")

PROVENANCE = ("status", "source_record", "location", "quote", "note", "why")


def _fields(measure: str, group: str) -> tuple[str, ...]:
    if group == "contrast":
        return CONTRAST
    info = find_measure(measure)
    family = "" if info is None else info.family
    return FAMILY_FIELDS.get(family, CONTINUOUS)


def list_view(state: WebState, reviewer: str) -> dict[str, Any]:
    """The included studies × outcomes, with how many values each reviewer has stored."""
    with Project.open(state.directory, actor=reviewer) as project:
        protocol = _open_protocol(project)
        studies = ensure_studies(project, actor=reviewer)
        values = current_values(project)
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for v in values:
        who = "registry" if v.basis == "registry" else v.reviewer
        cell = counts.setdefault((v.key.study_id, v.key.outcome), {})
        cell[who] = cell.get(who, 0) + 1
    conflicts = {(c.key.study_id, c.key.outcome) for c in extraction_conflicts(state.directory)}
    return {
        "studies": studies,
        "outcomes": protocol.outcomes,
        "counts": counts,
        "conflicts": conflicts,
        "message": None,
    }


@router.get("/extraction", response_class=HTMLResponse)
async def extraction_list(request: Request) -> Response:
    if not session_of(request).reviewer:
        return login_redirect(request)
    state = state_of(request)
    data = await state.run(list_view, state, require_reviewer(request))
    return state.render(request, "extraction_list.html", data)


@router.post("/extraction/registry", response_class=HTMLResponse)
async def from_registry(request: Request) -> Response:
    """``metareview extract DIR --from-registry``: pre-fill values from posted results."""
    state = state_of(request)
    reviewer = require_reviewer(request)
    summary = await state.run(fill_from_registry, state.directory, actor=reviewer)
    data = await state.run(list_view, state, reviewer)
    data["message"] = (
        f"{summary.n_values} values pre-filled from registry results of "
        f"{', '.join(summary.studies) or 'no study'}; confirm them in each form"
    )
    return state.render(request, "extraction_list.html", data)


def _row_key(v: ExtractedValue) -> tuple[str, str, str, str]:
    return (v.key.group, v.key.arm, v.key.timepoint, v.key.scenario)


def form_view(
    state: WebState,
    reviewer: str,
    study_id: int,
    outcome: str,
    posted: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The form of one study × outcome: rows (one per arm), the values of this reviewer (or
    the registry's to confirm), the other reviewers' values, and the study's records."""
    with Project.open(state.directory, actor=reviewer) as project:
        protocol = _open_protocol(project)
        studies = {s.study_id: s for s in ensure_studies(project, actor=reviewer)}
        if study_id not in studies:
            raise InputError(
                f"study {study_id} is not an included study of the project", field="study_id"
            )
        try:
            spec = protocol.outcome(outcome)
        except KeyError:
            raise InputError(
                f"{outcome!r} is not an outcome of the protocol", field="outcome"
            ) from None
        values = [
            v for v in current_values(project, study_id=study_id) if v.key.outcome == spec.name
        ]
    study = studies[study_id]
    mine = [v for v in values if v.basis in ("reviewer", "consensus") and v.reviewer == reviewer]
    registry = [v for v in values if v.basis == "registry"]
    shown = mine or registry
    others: dict[str, list[ExtractedValue]] = {}
    for v in values:
        if v.basis == "reviewer" and v.reviewer != reviewer:
            others.setdefault(v.reviewer, []).append(v)
    keys: list[tuple[str, str, str, str]] = []
    for v in [*shown, *(v for vs in others.values() for v in vs)]:
        if _row_key(v) not in keys:
            keys.append(_row_key(v))
    for group in groups_for(spec.measure):
        if not any(k[0] == group for k in keys):
            keys.append((group, "", str(spec.time_window or ""), "main"))
    refs = {r.id: record_ref(r) for r in study.records}
    rows = []
    for i, key in enumerate(keys, start=1):
        group = key[0]
        fields = _fields(spec.measure, group)
        here = [v for v in shown if _row_key(v) == key]
        cells: dict[str, Any] = {v.key.field: v.value for v in here if v.value is not None}
        first = here[0] if here else None
        prov = {
            "status": first.status if first else "reported",
            "source_record": refs.get(first.source_record, "")
            if first and first.source_record
            else "",
            "location": " | ".join(dict.fromkeys(v.location for v in here if v.location)),
            "quote": " | ".join(dict.fromkeys(v.quote for v in here if v.quote)),
            "note": first.note or "" if first else "",
            "why": first.why or "" if first else "",
        }
        theirs = {
            name: {v.key.field: v.value for v in vs if _row_key(v) == key}
            for name, vs in others.items()
        }
        if posted is not None:  # a form sent back with its problems: keep what was typed
            cells = {f: posted.get(f"r{i}-{f}", "") for f in fields}
            prov = {p: posted.get(f"r{i}-{p}", "") for p in PROVENANCE}
        rows.append(
            {
                "i": i,
                "group": group,
                "arm": key[1],
                "timepoint": key[2],
                "scenario": key[3],
                "fields": fields,
                "cells": cells,
                "prov": prov,
                "theirs": theirs,
                "from_registry": not mine and bool(here),
            }
        )
    return {
        "study": study,
        "study_id": study_id,
        "outcome": spec,
        "rows": rows,
        "others": sorted(others),
        "sources": [_source(r, spec) for r in study.records],
        "field_help": NUMBER_FIELDS,
        "picker": PICKER,
        "picker_json": json.dumps({k: list(v[1]) for k, v in PICKER.items()}),
        "message": None,
        "error": None,
    }


def _source(stored: Any, spec: Any) -> dict[str, Any]:
    """One record's text for the side pane: abstract sentences, registry results as a table."""
    rec = stored.record
    table: list[Any] = []
    warnings: tuple[str, ...] = ()
    if rec.raw_format == "ctgov-json":
        try:
            found = registry_values(json.loads(rec.raw), [spec])
            table, warnings = list(found.values), found.warnings
        except (ValueError, InputError) as exc:
            warnings = (str(exc),)
    return {
        "ref": record_ref(stored),
        "id": stored.id,
        "title": rec.title,
        "kind": rec.kind,
        "citation": " · ".join(str(x) for x in (rec.journal, rec.year, rec.source_id) if x),
        "sentences": sentences(rec.abstract or ""),
        "results": table,
        "warnings": warnings,
    }


@router.get("/extraction/{study_id}/{outcome}", response_class=HTMLResponse)
async def form(request: Request, study_id: int, outcome: str) -> Response:
    if not session_of(request).reviewer:
        return login_redirect(request)
    state = state_of(request)
    data = await state.run(form_view, state, require_reviewer(request), study_id, outcome)
    return state.render(request, "extraction_form.html", data)


def _save(
    state: WebState, reviewer: str, study_id: int, outcome: str, posted: dict[str, str]
) -> dict[str, Any]:
    view = form_view(state, reviewer, study_id, outcome)
    table: list[TableRow] = []
    for row in view["rows"]:
        i = row["i"]
        cells = {
            "study_id": str(study_id),
            "outcome": view["outcome"].name,
            "group": row["group"],
            "arm": posted.get(f"r{i}-arm", row["arm"]),
            "timepoint": posted.get(f"r{i}-timepoint", row["timepoint"]),
            "scenario": "" if row["scenario"] == "main" else row["scenario"],
        }
        for f in row["fields"]:
            cells[f] = posted.get(f"r{i}-{f}", "").strip()
        for p in PROVENANCE:
            cells[p] = posted.get(f"r{i}-{p}", "").strip()
        if cells["status"] != "assumed":
            cells["why"] = ""
        table.append(TableRow("web form", i, cells))
    try:
        summary = import_extraction_rows(
            state.directory,
            table,
            file=f"extraction form (study {study_id}, {outcome})",
            file_name="web form",
            reviewer=reviewer,
        )
    except InputError as exc:
        failed = form_view(state, reviewer, study_id, outcome, posted=posted)
        failed["error"] = str(exc)
        return failed
    saved = form_view(state, reviewer, study_id, outcome)
    saved["message"] = f"{summary.n_values} values stored for {', '.join(summary.studies)}"
    return saved


@router.post("/extraction/{study_id}/{outcome}", response_class=HTMLResponse)
async def save(request: Request, study_id: int, outcome: str) -> Response:
    state = state_of(request)
    reviewer = require_reviewer(request)
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    data = await state.run(_save, state, reviewer, study_id, outcome, posted)
    return state.render(
        request, "extraction_form.html", data, status_code=422 if data["error"] else 200
    )


__all__ = ["router"]
