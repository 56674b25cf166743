"""One risk-of-bias assessment: answers in, domain and overall judgements out, overrides kept.

:func:`judge` applies a tool's rules to one study's answers for one outcome. For every domain
it keeps the algorithm's judgement (RoB 2; none for ROBINS-I, which leaves the domain judgement
to the reviewer) beside the reviewer's override and its justification; the judgement that counts
is the override when there is one, else the algorithm's. The overall judgement is the tool's
overall rule over the domain judgements that count, or the reviewer's override of it.

Overrides need a justification (RoB 2 full guidance, 22 Aug 2019, section 1.3.2: "review authors
... may override the proposed judgement ... and should justify"), and an overall override may
not be better than the worst domain (RoB 2: "the overall risk-of-bias judgement ... is at least
as severe as the most severe domain"; ROBINS-I, Sterne et al. BMJ 2016;355:i4919, Table 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from metareview.appraisal import rob2, robins_i
from metareview.appraisal.vocabulary import OVERALL, Tool
from metareview.errors import InputError, InputErrors

__all__ = ["DomainResult", "Judged", "judge", "severity"]


@dataclass(frozen=True)
class DomainResult:
    """One domain (or ``overall``): the judgement that counts, the algorithm's, the override."""

    domain: str
    judgement: str
    algorithm: str | None
    override: str | None
    justification: str | None


@dataclass(frozen=True)
class Judged:
    """The domains of one assessment and its overall judgement."""

    domains: tuple[DomainResult, ...]
    overall: DomainResult


def severity(tool: Tool, judgement: str) -> int | None:
    """Rank of ``judgement`` from best (0) to worst; None for ``no_information``, which is off
    the ROBINS-I scale."""
    if judgement == "no_information":
        return None
    scale = [j for j in tool.judgements if j != "no_information"]
    return scale.index(judgement) if judgement in scale else None


def judge(
    tool: Tool,
    answers: Mapping[str, str],
    overrides: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> Judged:
    """Judge one assessment.

    Parameters
    ----------
    tool
        :data:`~metareview.appraisal.vocabulary.ROB2` or ``ROBINS_I``.
    answers
        ``{question id: answer}`` (``Y, PY, PN, N, NI, NA``).
    overrides
        ``{domain id or "overall": (judgement, justification)}``.

    Raises
    ------
    InputErrors
        Every problem, each an :class:`InputError` whose ``field`` is the question id, or
        ``domain_override:<domain>`` / ``justification:<domain>`` for an override.
    """
    overrides = overrides or {}
    problems: list[InputError] = []
    results: list[DomainResult] = []
    for d in tool.domains:
        mine = {q.id: answers[q.id] for q in d.questions if q.id in answers}
        override, why = overrides.get(d.id, (None, None))
        if override and override not in tool.judgements:
            problems.append(InputError(
                f"{override!r} is not a {tool.name} judgement ({', '.join(tool.judgements)})",
                field=f"domain_override:{d.id}"))  # fmt: skip
            continue
        algorithm: str | None = None
        try:
            if tool.algorithmic:
                algorithm = rob2.domain_judgement(d.id, mine)
            else:
                robins_i.domain_judgement(d.id, mine, override)
        except InputError as exc:
            field = exc.field if exc.field != "domain_override" else f"domain_override:{d.id}"
            if not override or tool.algorithmic is False:
                problems.append(InputError(f"domain {d.id}: {exc.message}", field=field))
                continue
        if override and tool.algorithmic and override != algorithm and not (why or "").strip():
            problems.append(InputError(
                f"domain {d.id}: an override of the algorithm's judgement needs a justification",
                field=f"justification:{d.id}"))  # fmt: skip
            continue
        counts = override or algorithm
        assert counts is not None
        results.append(DomainResult(d.id, counts, algorithm, override or None, why or None))
    if problems:
        raise InputErrors(problems)
    counted = [r.judgement for r in results]
    rule = rob2.overall_judgement if tool.algorithmic else robins_i.overall_judgement
    algorithm = rule(counted)
    override, why = overrides.get(OVERALL, (None, None))
    if override:
        if override not in tool.judgements:
            raise InputErrors([InputError(
                f"{override!r} is not a {tool.name} judgement ({', '.join(tool.judgements)})",
                field=f"domain_override:{OVERALL}")])  # fmt: skip
        if override != algorithm and not (why or "").strip():
            raise InputErrors([InputError(
                "an override of the overall judgement needs a justification",
                field=f"justification:{OVERALL}")])  # fmt: skip
        worst = max((s for j in counted if (s := severity(tool, j)) is not None), default=0)
        rank = severity(tool, override)
        if rank is not None and rank < worst:
            raise InputErrors([InputError(
                f"the overall judgement may not be better than the worst domain ({algorithm})",
                field=f"domain_override:{OVERALL}")])  # fmt: skip
    overall = DomainResult(OVERALL, override or algorithm, algorithm, override or None, why or None)
    return Judged(tuple(results), overall)
