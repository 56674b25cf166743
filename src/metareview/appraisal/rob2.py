"""RoB 2: the guidance's algorithms from signalling-question answers to domain judgements, and
the overall rule.

Individually randomised parallel-group trials, effect of assignment to intervention. Each
function follows the "Algorithm for suggested judgement" of its domain in the full guidance
document (Higgins, Savović, Page, Sterne (eds), RoB 2 full guidance, 22 August 2019,
riskofbias.info; summarised in Sterne et al. BMJ 2019;366:l4898, Table 2 and the web appendix).
Answers are ``Y, PY, PN, N, NI`` (``NA`` for a question not asked); judgements ``low``,
``some_concerns``, ``high``. A question the algorithm needs on the path the earlier answers take
must be answered, otherwise :class:`~metareview.errors.InputError` with ``field`` = the question id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from metareview.errors import InputError

__all__ = ["DOMAIN_RULES", "domain_judgement", "overall_judgement"]

LOW, SOME, HIGH = "low", "some_concerns", "high"
_YES = frozenset({"Y", "PY"})
_NO = frozenset({"N", "PN"})
_ORDER = {LOW: 0, SOME: 1, HIGH: 2}

Answers = Mapping[str, str]


def _need(answers: Answers, question: str, why: str) -> str:
    """The answer to ``question``, which this path of the algorithm needs."""
    a = (answers.get(question) or "").strip().upper()
    if a in ("", "NA"):
        raise InputError(
            f"question {question} must be answered (Y, PY, PN, N or NI) because {why}"
            + (f"; got {a!r}" if a else ""),
            field=question,
        )
    return a


def domain_1(answers: Answers) -> str:
    """Bias arising from the randomisation process (questions 1.1-1.3).

    Guidance algorithm (RoB 2 full guidance, domain 1 flowchart):

    - 1.2 (concealment) N/PN -> high.
    - 1.2 NI: 1.3 (baseline imbalance suggests a problem) Y/PY -> high; N/PN/NI -> some concerns.
    - 1.2 Y/PY and 1.1 (random sequence) N/PN -> some concerns.
    - 1.2 Y/PY and 1.1 Y/PY/NI: 1.3 N/PN/NI -> low; Y/PY -> some concerns.
    """
    a12 = _need(answers, "1.2", "every path starts at allocation concealment")
    if a12 in _NO:
        return HIGH
    if a12 == "NI":
        return HIGH if _need(answers, "1.3", "1.2 is NI") in _YES else SOME
    if _need(answers, "1.1", "1.2 is Y/PY") in _NO:
        return SOME
    return SOME if _need(answers, "1.3", "1.2 is Y/PY and 1.1 is Y/PY/NI") in _YES else LOW


def domain_2(answers: Answers) -> str:
    """Bias due to deviations from intended interventions, effect of assignment (2.1-2.7).

    Guidance algorithm (RoB 2 full guidance, domain 2 flowchart for the effect of assignment),
    in two parts whose worse judgement is the domain's:

    Part 1 (2.1-2.5): 2.1 and 2.2 both N/PN -> low; otherwise 2.3 (deviations because of the
    trial context) N/PN -> low, NI -> some concerns, Y/PY -> 2.4 (likely to affect the outcome)
    N/PN -> some concerns, Y/PY/NI -> 2.5 (balanced) Y/PY -> some concerns, N/PN/NI -> high.

    Part 2 (2.6-2.7): 2.6 (appropriate analysis) Y/PY -> low; N/PN/NI -> 2.7 (substantial
    impact of analysing participants outside their randomised group) N/PN -> some concerns,
    Y/PY/NI -> high.

    Low for the domain needs low in both parts; high in either part gives high; otherwise some
    concerns.
    """
    a21 = _need(answers, "2.1", "part 1 starts with participants' awareness")
    a22 = _need(answers, "2.2", "part 1 starts with carers' awareness")
    if a21 in _NO and a22 in _NO:
        part1 = LOW
    else:
        a23 = _need(answers, "2.3", "2.1 or 2.2 is Y/PY/NI")
        if a23 in _NO:
            part1 = LOW
        elif a23 == "NI" or _need(answers, "2.4", "2.3 is Y/PY") in _NO:
            part1 = SOME
        else:
            part1 = SOME if _need(answers, "2.5", "2.4 is Y/PY/NI") in _YES else HIGH
    if _need(answers, "2.6", "part 2 starts with the analysis") in _YES:
        part2 = LOW
    else:
        part2 = SOME if _need(answers, "2.7", "2.6 is N/PN/NI") in _NO else HIGH
    return max(part1, part2, key=_ORDER.__getitem__)


def domain_3(answers: Answers) -> str:
    """Bias due to missing outcome data (3.1-3.4).

    Guidance algorithm (RoB 2 full guidance, domain 3 flowchart): 3.1 (data for nearly all
    participants) Y/PY -> low; otherwise 3.2 (evidence the result is not biased) Y/PY -> low;
    otherwise 3.3 (missingness could depend on the true value) N/PN -> low; otherwise 3.4
    (missingness likely depended on the true value) N/PN -> some concerns, Y/PY/NI -> high.
    """
    if _need(answers, "3.1", "the domain starts with data availability") in _YES:
        return LOW
    a32 = _need(answers, "3.2", "3.1 is N/PN/NI")
    if a32 == "NI":
        raise InputError("question 3.2 allows Y, PY, PN or N (not NI)", field="3.2")
    if a32 in _YES:
        return LOW
    if _need(answers, "3.3", "3.2 is N/PN") in _NO:
        return LOW
    return SOME if _need(answers, "3.4", "3.3 is Y/PY/NI") in _NO else HIGH


def domain_4(answers: Answers) -> str:
    """Bias in measurement of the outcome (4.1-4.5).

    Guidance algorithm (RoB 2 full guidance, domain 4 flowchart): 4.1 (inappropriate method)
    Y/PY -> high; 4.2 (measurement could differ between groups) Y/PY -> high. With 4.2 N/PN:
    4.3 (assessors aware) N/PN -> low; else 4.4 (could be influenced) N/PN -> low; else 4.5
    (likely influenced) N/PN -> some concerns, Y/PY/NI -> high. With 4.2 NI the same path, but
    the two "low" ends are some concerns.
    """
    if _need(answers, "4.1", "the domain starts with the method of measurement") in _YES:
        return HIGH
    a42 = _need(answers, "4.2", "4.1 is N/PN/NI")
    if a42 in _YES:
        return HIGH
    best = LOW if a42 in _NO else SOME
    if _need(answers, "4.3", "4.1 and 4.2 are N/PN/NI") in _NO:
        return best
    if _need(answers, "4.4", "4.3 is Y/PY/NI") in _NO:
        return best
    return SOME if _need(answers, "4.5", "4.4 is Y/PY/NI") in _NO else HIGH


def domain_5(answers: Answers) -> str:
    """Bias in selection of the reported result (5.1-5.3).

    Guidance algorithm (RoB 2 full guidance, domain 5 flowchart): 5.2 or 5.3 (selected from
    several outcome measurements or analyses) Y/PY -> high; both N/PN: 5.1 (pre-specified plan)
    Y/PY -> low, N/PN/NI -> some concerns; otherwise (one of 5.2, 5.3 NI, neither Y/PY) -> some
    concerns.
    """
    a52 = _need(answers, "5.2", "the domain asks about selection from outcome measurements")
    a53 = _need(answers, "5.3", "the domain asks about selection from analyses")
    if a52 in _YES or a53 in _YES:
        return HIGH
    if a52 in _NO and a53 in _NO:
        return LOW if _need(answers, "5.1", "5.2 and 5.3 are N/PN") in _YES else SOME
    return SOME


#: Each domain's algorithm by domain id.
DOMAIN_RULES: dict[str, Callable[[Answers], str]] = {
    "D1": domain_1,
    "D2": domain_2,
    "D3": domain_3,
    "D4": domain_4,
    "D5": domain_5,
}


def domain_judgement(domain: str, answers: Answers) -> str:
    """The judgement the guidance's algorithm gives domain ``domain`` (``D1`` ... ``D5``).

    Raises
    ------
    InputError
        The domain is unknown, or a question on the algorithm's path is unanswered
        (``field`` = the question id).
    """
    rule = DOMAIN_RULES.get(domain)
    if rule is None:
        raise InputError(f"RoB 2 has no domain {domain!r} (D1-D5)", field="domain")
    return rule(answers)


def overall_judgement(domains: Sequence[str]) -> str:
    """The overall risk of bias from the domain judgements.

    Sterne et al. BMJ 2019;366:l4898, Table 3 (and the full guidance, section 1.3.3): low if
    every domain is low; high if at least one domain is high; otherwise some concerns. The
    guidance also allows "high" when several domains have some concerns that together lower
    confidence substantially; that is a reviewer's judgement, recorded as an override of the
    overall judgement, never made by this rule.
    """
    if not domains:
        raise InputError("no domain judgements to combine", field="domain")
    if any(d == HIGH for d in domains):
        return HIGH
    if all(d == LOW for d in domains):
        return LOW
    return SOME
