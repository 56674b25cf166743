"""``metareview grade DIR``: GRADE certainty of the evidence per outcome, from the store.

Thin: the review is analysed from its store (:func:`metareview.review.store.analyse_project`),
which carries one GRADE assessment per outcome (:mod:`metareview.appraisal.grade`: the rules'
suggestions, replaced by the reviewers' ratings); ``--set OUTCOME DOMAIN RATING --reason TEXT``
records a rating (:func:`metareview.appraisal.grade_store.set_rating`, audited, append-only),
``--history`` lists every rating recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from metareview.cli.app import app
from metareview.errors import InputError

__all__ = ["grade"]


@app.command("grade")
def grade(
    directory: Annotated[Path, typer.Argument(help="The project folder.")],
    set_: Annotated[
        tuple[str, str, str] | None,
        typer.Option(
            "--set",
            help="Rate OUTCOME's DOMAIN (risk_of_bias, inconsistency, indirectness, imprecision, "
            "publication_bias) 0, -1 or -2.",
            metavar="OUTCOME DOMAIN RATING",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required with --set).")
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who rates (default: the system user).")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="List every rating recorded, oldest first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessments as JSON.")] = False,
) -> None:
    """GRADE certainty per outcome: suggestions with their rules, reviewers' ratings."""
    from metareview.appraisal.grade_store import rating_history, set_rating
    from metareview.review.store import analyse_project
    from metareview.store import Project

    if reason is not None and set_ is None:
        raise InputError("--reason goes with --set OUTCOME DOMAIN RATING", field="--reason")
    if set_ is not None:
        if not reason or not reason.strip():
            raise InputError("--set needs --reason TEXT", field="--reason")
        outcome, domain, rating = set_
        result = analyse_project(directory)
        suggested = next(
            (g.domains[domain].suggested for g in result.grade
             if g.outcome.casefold() == outcome.casefold() and domain in g.domains),
            None,
        )  # fmt: skip
        with Project.open(directory, actor=reviewer) as project:
            stored = set_rating(
                project, outcome, domain, rating, reason, reviewer=reviewer, suggested=suggested
            )
        typer.echo(
            f"{stored.outcome} {stored.domain}: {stored.rating} (suggested "
            f"{'–' if stored.suggested is None else stored.suggested}) by {stored.reviewer}"
        )
    if history:
        with Project.open(directory) as project:
            rows = rating_history(project)
        if as_json:
            typer.echo(json.dumps({"history": [r.to_dict() for r in rows]}, indent=2))
            return
        for r in rows:
            typer.echo(
                f"{r.id}\t{r.rated_at}\t{r.reviewer}\t{r.outcome}\t{r.domain}\t{r.rating}"
                f"\t(suggested {'–' if r.suggested is None else r.suggested})\t{r.reason}"
            )
        return
    if set_ is not None and not as_json:
        return
    result = analyse_project(directory)
    if as_json:
        doc = {"outcomes": [g.to_json() for g in result.grade]}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        return
    for g in result.grade:
        who = (
            "participants not recorded" if g.participants is None
            else f"{g.participants:,} participants"
        )  # fmt: skip
        typer.echo(
            f"{g.outcome}: {(g.certainty or 'not rated (no studies)').replace('_', ' ')}; "
            f"{g.studies} studies, {who}; {g.design}, start {g.start}"
        )
        for name, d in g.domains.items():
            who = f"{d.reviewer}" if d.reviewer else "suggested"
            changed = (
                f" (suggested {d.suggested})" if d.reviewer and d.rating != d.suggested else ""
            )
            typer.echo(f"  {name}: {d.rating} [{who}]{changed} {d.reason}")
