"""ROBINS-I: domain judgements (the reviewer's) and the overall rule.

Sterne JAC, Hernán MA, Reeves BC, et al. ROBINS-I: a tool for assessing risk of bias in
non-randomised studies of interventions. BMJ 2016;355:i4919, and the detailed guidance of
20 October 2016. Judgements are ``low``, ``moderate``, ``serious``, ``critical`` and
``no_information``.

The 2016 guidance gives the signalling questions and, for each domain, criteria that *describe*
each judgement ("Risk of bias judgement" tables), but no algorithm from answers to the
judgement: the signalling questions inform the reviewer's judgement (BMJ 2016, "the signalling
questions ... are intended to facilitate judgements"). So metareview computes no domain
judgement for ROBINS-I: the reviewer gives it (the template's ``domain_override`` column) and
the answers are stored beside it. Only the overall rule is applied (:func:`overall_judgement`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metareview.appraisal.vocabulary import ROBINS_I
from metareview.errors import InputError

__all__ = ["domain_judgement", "overall_judgement"]

LOW, MODERATE, SERIOUS, CRITICAL, NO_INFO = ROBINS_I.judgements


def domain_judgement(domain: str, answers: Mapping[str, str], judgement: str | None) -> str:
    """The domain judgement: the reviewer's ``judgement``, which ROBINS-I (2016) leaves to
    the reviewer (no algorithm; see the module docstring). ``answers`` are not combined.

    Raises
    ------
    InputError
        The domain is unknown, no judgement is given (``field`` = ``domain_override``), or the
        judgement is not one of the ROBINS-I words.
    """
    if ROBINS_I.domain(domain) is None:
        raise InputError(f"ROBINS-I has no domain {domain!r} (D1-D7)", field="domain")
    if not judgement:
        raise InputError(
            f"ROBINS-I gives no algorithm for domain {domain}: give the reviewer's judgement "
            f"({', '.join(ROBINS_I.judgements)})",
            field="domain_override",
        )
    if judgement not in ROBINS_I.judgements:
        raise InputError(
            f"{judgement!r} is not a ROBINS-I judgement ({', '.join(ROBINS_I.judgements)})",
            field="domain_override",
        )
    return judgement


def overall_judgement(domains: Sequence[str]) -> str:
    """The overall risk of bias from the seven domain judgements.

    Sterne et al. BMJ 2016;355:i4919, Table 3: low if low in all domains; moderate if low or
    moderate in all domains; serious if serious in at least one domain but critical in none;
    critical if critical in at least one domain; no information if there is no clear indication
    of serious or critical risk and information is lacking in one or more key domains.

    The guidance leaves which domains are "key" to the reviewer; this rule treats every domain
    as key (any ``no_information`` domain without a serious or critical one gives
    ``no_information``). A reviewer who judges a domain without information not key records a
    justified override of the overall judgement.
    """
    if not domains:
        raise InputError("no domain judgements to combine", field="domain")
    if CRITICAL in domains:
        return CRITICAL
    if SERIOUS in domains:
        return SERIOUS
    if NO_INFO in domains:
        return NO_INFO
    if all(d == LOW for d in domains):
        return LOW
    return MODERATE
