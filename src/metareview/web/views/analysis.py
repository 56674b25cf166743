"""Analysis and report: the pooled results as ``metareview analyse`` prints them, the forest
plots, the report as ``metareview report`` writes it (``DIR/report``), and every export.

The report is rewritten when the store has changed since it was last written (the last audit
log entry, which every write adds), so a forest plot follows a changed value on the next view.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from metareview.errors import InputError
from metareview.report.html import outcome_slugs, write_report
from metareview.review.store import analyse_project
from metareview.store import Project
from metareview.web.app import WebState
from metareview.web.views import state_of

router = APIRouter()

REPORT_DIR = "report"

#: Downloads: name -> (media type, what it is).
DOWNLOADS: dict[str, tuple[str, str]] = {
    "records.csv": ("text/csv", "every record with its study, duplicate and decisions"),
    "records.ris": ("application/x-research-info-systems", "every record, RIS"),
    "included.ris": ("application/x-research-info-systems", "reports of included studies, RIS"),
    "decisions.csv": ("text/csv", "every screening decision"),
    "extraction.csv": ("text/csv", "every extracted value with its provenance"),
    "analysis.json": ("application/json", "the analysis, as metareview analyse --json prints"),
    "check.R": ("text/plain", "an R script that rebuilds every pool with metafor"),
    "check.csv": ("text/csv", "the data the R script reads"),
    "prisma.svg": ("image/svg+xml", "the PRISMA 2020 flow diagram"),
    "prisma.json": ("application/json", "the PRISMA 2020 counts"),
}


def _store_version(directory: Path) -> int:
    with Project.open(directory) as project:
        row = project.connection.execute("SELECT max(id) FROM audit_log").fetchone()
    return int(row[0] or 0)


def report_view(state: WebState) -> dict[str, Any]:
    """Analyse the project and (re)write ``DIR/report`` if the store changed (report thread)."""
    with state.report_lock:
        version = _store_version(state.directory)
        out = state.directory / REPORT_DIR
        if (
            version != state.report_version
            or not (out / "report.html").is_file()
            or state.report_cache is None
        ):
            result = analyse_project(state.directory, write_prisma_files=True)
            write_report(result, out)
            names = [a.outcome for a in result.analyses]
            state.report_cache = {
                "summary": result.summary(),
                "outcomes": [
                    {
                        "name": n,
                        "slug": s,
                        "forest": (out / "figures" / f"{s}-forest.svg").is_file(),
                    }
                    for n, s in zip(names, outcome_slugs(names), strict=True)
                ],
            }
            state.report_version = version
        return {**state.report_cache, "version": version}


@router.get("/analysis", response_class=HTMLResponse)
async def analysis(request: Request) -> Response:
    state = state_of(request)
    data = await state.job(report_view, state)
    return state.render(request, "analysis.html", {**data, "downloads": DOWNLOADS})


@router.get("/analysis/forest/{outcome}", response_class=HTMLResponse)
async def forest(request: Request, outcome: str) -> Response:
    """One outcome's forest plot (a fragment: the extraction page shows it after a save)."""
    state = state_of(request)
    data = await state.job(report_view, state)
    found = [o for o in data["outcomes"] if o["name"] == outcome]
    return state.render(
        request,
        "_forest.html",
        {"o": found[0] if found else None, "name": outcome, "version": data["version"]},
    )


@router.get("/report/{path:path}")
async def report_file(request: Request, path: str) -> Response:
    """A file of ``DIR/report`` (served with the report's own Content-Security-Policy)."""
    state = state_of(request)
    if not (state.directory / REPORT_DIR / "report.html").is_file():
        await state.job(report_view, state)
    root = (state.directory / REPORT_DIR).resolve()
    target = (root / (path or "report.html")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return Response("404 Not Found", status_code=404, media_type="text/plain")
    return FileResponse(target)


def _export(state: WebState, name: str) -> bytes:
    """One download, made by the API function behind ``metareview export``/``analyse``/
    ``prisma`` (store thread)."""
    from metareview.review.extract import EXPORT_COLUMNS, export_extraction
    from metareview.screening.decisions import Screening
    from metareview.screening.exports import (
        DECISION_COLUMNS,
        RECORD_COLUMNS,
        csv_text,
        decision_rows,
        record_rows,
        records_ris,
    )
    from metareview.screening.prisma import prisma_counts, write_prisma

    d = state.directory
    if name == "extraction.csv":
        return csv_text(EXPORT_COLUMNS, export_extraction(d)).encode("utf-8")
    if name == "analysis.json":
        return json.dumps(analyse_project(d).to_json(), ensure_ascii=False).encode("utf-8")
    if name in ("check.R", "check.csv"):
        from metareview.report.rscript import write_r_script

        with tempfile.TemporaryDirectory() as tmp:
            script, data = write_r_script(analyse_project(d), Path(tmp) / "check.R")
            return (script if name == "check.R" else data).read_bytes()
    with Screening.open(d) as s:
        if name == "records.csv":
            return csv_text(RECORD_COLUMNS, record_rows(s)).encode("utf-8")
        if name in ("records.ris", "included.ris"):
            return records_ris(s, included=name == "included.ris").encode("utf-8")
        if name == "decisions.csv":
            return csv_text(DECISION_COLUMNS, decision_rows(s)).encode("utf-8")
        if name == "prisma.json":
            return json.dumps(prisma_counts(s).to_dict(), ensure_ascii=False).encode("utf-8")
        if name == "prisma.svg":
            with tempfile.TemporaryDirectory() as tmp:
                return Path(write_prisma(s, Path(tmp))["svg"]).read_bytes()
    raise InputError(f"no download named {name!r}")


@router.get("/download/{name}")
async def download(request: Request, name: str) -> Response:
    if name not in DOWNLOADS:
        return Response("404 Not Found", status_code=404, media_type="text/plain")
    state = state_of(request)
    body = await state.job(_export, state, name)
    media, _ = DOWNLOADS[name]
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
