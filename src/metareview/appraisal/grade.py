"""GRADE certainty of the evidence per outcome: the rules metareview suggests, and the arithmetic.

GRADE (the GRADE handbook, Schünemann et al. 2013; Guyatt et al., *J Clin Epidemiol* 2011,
the "GRADE guidelines" series) rates the certainty of a body of evidence for one outcome. It
starts **high** for randomised trials and **low** for non-randomised studies -- or high for
non-randomised studies assessed with ROBINS-I, whose "low risk" means comparable to a well-done
randomised trial (Schünemann et al., *J Clin Epidemiol* 2019;111:105-114) -- and rates down
0, 1 or 2 levels in each of five domains::

    risk_of_bias      GRADE 4 (Guyatt et al. 2011;64:407-415)
    inconsistency     GRADE 7 (Guyatt et al. 2011;64:1294-1302)
    indirectness      GRADE 8 (Guyatt et al. 2011;64:1303-1310)
    imprecision       GRADE 6 (Guyatt et al. 2011;64:1283-1293)
    publication_bias  GRADE 5 (Guyatt et al. 2011;64:1277-1282)

    certainty = max(start + sum of the five ratings, very low)
    levels: high = 4, moderate = 3, low = 2, very low = 1

metareview *suggests* a rating where a rule can be written down and writes the rule into the
reason (:func:`suggest_risk_of_bias`, :func:`suggest_inconsistency`,
:func:`suggest_imprecision`, :func:`suggest_publication_bias`); indirectness has no rule (the
match of the studies' population, intervention and outcome to the question is a reviewer's
judgement) and is suggested 0 with a reason saying so. A reviewer confirms or changes each
rating (``metareview grade DIR --set``); the reviewer's rating is the one that counts.

The absolute effects of a dichotomous outcome (:func:`absolute_effects`) follow GRADEpro: the
comparator risk (ACR) is the pooled comparator-arm risk, sum of events over sum of participants
("study population"), unless the protocol gives assumed risks; the intervention risk is
``ACR x RR`` for a risk ratio and ``ACR·OR / (1 - ACR + ACR·OR)`` for an odds ratio (Cochrane
Handbook 6.4, section 15.4.4), ``ACR + RD`` for a risk difference; all per 1000, rounded to
whole numbers (half away from zero).

This module is pure: it reads a pooled analysis (:class:`~metareview.review.result.
OutcomeAnalysis`, duck-typed) and risk-of-bias judgements given to it; the store is read by
:mod:`metareview.appraisal.grade_store`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from scipy.stats import norm

from metareview.effects.measures import MeasureInfo, find_measure
from metareview.errors import InputError

if TYPE_CHECKING:
    from metareview.protocol import OutcomeSpec
    from metareview.review.result import OutcomeAnalysis

__all__ = [
    "CERTAINTY",
    "DOMAINS",
    "DomainRating",
    "GradeOutcome",
    "ReviewerRating",
    "Suggestion",
    "absolute_effects",
    "certainty",
    "comparator_risk",
    "grade_outcome",
    "optimal_information_size",
    "parse_rating",
    "single_group_rate",
    "suggest_imprecision",
    "suggest_inconsistency",
    "suggest_indirectness",
    "suggest_publication_bias",
    "suggest_risk_of_bias",
]

#: The five GRADE domains, in GRADEpro's order.
DOMAINS: tuple[str, ...] = (
    "risk_of_bias",
    "inconsistency",
    "indirectness",
    "imprecision",
    "publication_bias",
)

#: Certainty levels from lowest (1) to highest (4).
CERTAINTY: tuple[str, ...] = ("very_low", "low", "moderate", "high")

Start = Literal["high", "low"]
#: What the absolute-effect columns of the summary of findings show: risks per 1000
#: (dichotomous), a difference (continuous), a single group's proportion, rate or mean.
Kind = Literal["dichotomous", "continuous", "proportion", "rate", "mean", "other", "none"]

#: The "per N" a single-group rate is shown per (GRADEpro's choices of a whole-number base).
RATE_BASES: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)

#: GRADE 6's default thresholds of appreciable benefit and harm for ratio measures: a relative
#: risk reduction or increase of 25% (RR 0.75 and 1.25).
DEFAULT_RELATIVE_MID = 0.25
#: GRADE 6's threshold for a standardised mean difference when no MID is known (0.5 SD).
DEFAULT_SMD_MID = 0.5

#: Judgements that count as high risk / some concerns in the risk-of-bias rule (RoB 2, and
#: ROBINS-I mapped as Schünemann et al. 2019 do when starting high).
_HIGH = frozenset({"high", "serious", "critical"})
_SOME = frozenset({"some_concerns", "moderate"})
_LOW = frozenset({"low"})


@dataclass(frozen=True)
class Suggestion:
    """A suggested rating (0, -1 or -2) with the reason, which states the rule applied."""

    rating: int
    reason: str


@dataclass(frozen=True)
class ReviewerRating:
    """A reviewer's rating of one domain of one outcome (latest ``metareview grade --set``)."""

    rating: int
    reason: str
    reviewer: str
    at: str


@dataclass(frozen=True)
class DomainRating:
    """One domain of one outcome: the rating that counts, the suggestion, and who decided.

    ``rating`` is the reviewer's when one was recorded, else the suggestion; ``reason`` goes
    with ``rating``; ``suggested_reason`` is the rule's reason even when a reviewer decided.
    """

    rating: int
    suggested: int
    reason: str
    suggested_reason: str
    reviewer: str | None = None
    at: str | None = None

    @property
    def confirmed(self) -> bool:
        """Whether a reviewer has rated this domain (confirming or changing the suggestion)."""
        return self.reviewer is not None

    def to_json(self) -> dict[str, Any]:
        """``{"rating", "suggested", "reason"}`` (``metareview grade --json``)."""
        return {"rating": self.rating, "suggested": self.suggested, "reason": self.reason}

    def to_dict(self) -> dict[str, Any]:
        """Full form for the report."""
        return {
            **self.to_json(),
            "suggested_reason": self.suggested_reason,
            "reviewer": self.reviewer,
            "at": self.at,
        }


@dataclass(frozen=True)
class GradeOutcome:
    """The GRADE assessment of one protocol outcome, with its relative and absolute effects.

    ``relative`` is ``{"measure", "estimate", "ci_lower", "ci_upper"}`` for ratio measures
    (None otherwise). ``absolute`` is, for dichotomous outcomes, ``{"comparator_per_1000",
    "intervention_per_1000", "difference_per_1000", "difference_ci_lower",
    "difference_ci_upper"}`` at the first comparator risk (``comparator`` says which);
    ``absolute_by_risk`` repeats it, with a ``label``, for every comparator risk when the
    protocol gives assumed risks. For continuous outcomes it is ``{"measure", "difference",
    "ci_lower", "ci_upper", "units"}`` (the mean difference in the outcome's units, or SDs for
    an SMD); for a single-group proportion ``{"proportion_per_1000", "ci_lower_per_1000",
    "ci_upper_per_1000"}`` (GRADE reports the pooled proportion, there is no comparator).
    For a single-group rate (IR, IRLN) it is :func:`single_group_rate`'s ``{"measure", "rate",
    "ci_lower", "ci_upper", "per", "rate_per", "ci_lower_per", "ci_upper_per",
    "person_time_unit"}`` and ``"person_time"`` (Σ over the studies' arms, None if one lacks
    it); for a single-group mean, coefficient of variation or SD (MN, MNLN, CVLN, SDLN)
    ``{"measure", "statistic", "value", "ci_lower", "ci_upper", "units"}``; both on the scale
    the report shows (``OutcomeAnalysis.transformed`` for the log measures).
    ``absolute_note`` says why a single-group outcome has no absolute effect (IRS, IRFT).
    """

    outcome: str
    description: str
    measure: str
    studies: int
    participants: int | None
    design: str
    start: Start
    start_reason: str
    domains: Mapping[str, DomainRating]
    certainty: str | None
    relative: Mapping[str, Any] | None
    absolute: Mapping[str, Any] | None
    comparator: str | None = None
    absolute_by_risk: tuple[Mapping[str, Any], ...] = ()
    kind: Kind = "other"
    notes: tuple[str, ...] = field(default_factory=tuple)
    absolute_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One element of ``metareview grade --json``'s ``outcomes``: ``{"outcome", "studies",
        "participants", "design", "start", "domains", "certainty", "relative", "absolute"}``
        (and ``absolute_by_risk`` when the protocol gives several assumed risks)."""
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "studies": self.studies,
            "participants": self.participants,
            "design": self.design,
            "start": self.start,
            "domains": {d: self.domains[d].to_json() for d in DOMAINS},
            "certainty": self.certainty,
            "relative": None if self.relative is None else dict(self.relative),
            "absolute": None if self.absolute is None else dict(self.absolute),
        }
        if len(self.absolute_by_risk) > 1:
            out["absolute_by_risk"] = [dict(a) for a in self.absolute_by_risk]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Full form for the report (``ReviewResult.to_dict()["grade"]``)."""
        return {
            **self.to_json(),
            "description": self.description,
            "measure": self.measure,
            "kind": self.kind,
            "start_reason": self.start_reason,
            "comparator": self.comparator,
            "absolute_by_risk": [dict(a) for a in self.absolute_by_risk],
            "domains": {d: self.domains[d].to_dict() for d in DOMAINS},
            "notes": list(self.notes),
            "absolute_note": self.absolute_note,
        }


class RobLike(Protocol):
    """What the rules read of a study's risk-of-bias assessment
    (:class:`metareview.appraisal.stored.StudyRob`)."""

    @property
    def tool(self) -> str: ...

    @property
    def overall(self) -> str: ...


# ---------------------------------------------------------------------------------------------
# arithmetic


def parse_rating(value: object) -> int:
    """A rating as a reviewer writes it (``0``, ``-1``, ``-2``, also with a Unicode minus).

    Raises
    ------
    InputError
        Anything else.
    """
    text = str(value).strip().replace("\u2212", "-")
    if text in ("0", "-0", "-1", "-2"):
        return int(text)
    raise InputError(f"rating {value!r} is not 0, -1 or -2", field="RATING")


def certainty(start: Start, ratings: Sequence[int]) -> str:
    """``start`` (high = 4, low = 2) plus the ratings, floored at very low (1): the GRADE
    certainty (GRADE handbook, section 5; Balshem et al., *J Clin Epidemiol* 2011;64:401-406).
    """
    for r in ratings:
        if r not in (0, -1, -2):
            raise InputError(f"rating {r!r} is not 0, -1 or -2", field="rating")
    level = (4 if start == "high" else 2) + sum(ratings)
    return CERTAINTY[max(level, 1) - 1]


def _round(x: float) -> int:
    """Round half away from zero (GRADEpro shows whole numbers per 1000)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _intervention_risk(measure: str, acr: float, effect: float) -> float:
    """The intervention risk at comparator risk ``acr``; a risk ratio or difference that would
    give a risk outside 0-1 is capped there (a risk per 1000 is at most 1000)."""
    if measure == "RR":
        return min(acr * effect, 1.0)
    if measure in ("OR", "PETO"):
        return acr * effect / (1 - acr + acr * effect)
    if measure == "RD":
        return min(max(acr + effect, 0.0), 1.0)
    raise InputError(f"no absolute effect for measure {measure!r}", field="measure")


def absolute_effects(
    measure: str, estimate: float, ci_lower: float, ci_upper: float, acr: float
) -> dict[str, int]:
    """Anticipated absolute effects per 1000 at comparator risk ``acr`` (0-1).

    ``estimate``/``ci_*`` are on the natural scale (RR, OR, or RD as a proportion). The
    intervention risk is ``ACR·RR`` (RR), ``ACR·OR/(1 - ACR + ACR·OR)`` (OR, also Peto's), or
    ``ACR + RD``; the difference and its CI are the intervention risks at the estimate and the CI
    limits minus ACR (risks capped at 0 and 1). Every number is per 1000 and rounded half away
    from zero after the arithmetic (Cochrane Handbook 6.4, 15.4.4; GRADEpro's summary of findings).

    Returns
    -------
    dict
        ``{"comparator_per_1000", "intervention_per_1000", "difference_per_1000",
        "difference_ci_lower", "difference_ci_upper"}``.
    """
    if not 0 <= acr <= 1:
        raise InputError(f"comparator risk {acr!r} is not a proportion", field="risk")
    icr = _intervention_risk(measure, acr, estimate)
    lo = _intervention_risk(measure, acr, ci_lower)
    hi = _intervention_risk(measure, acr, ci_upper)
    return {
        "comparator_per_1000": _round(1000 * acr),
        "intervention_per_1000": _round(1000 * icr),
        "difference_per_1000": _round(1000 * (icr - acr)),
        "difference_ci_lower": _round(1000 * (min(lo, hi) - acr)),
        "difference_ci_upper": _round(1000 * (max(lo, hi) - acr)),
    }


def single_group_rate(
    measure: str, rate: float, ci_lower: float, ci_upper: float, unit: str | None = None
) -> dict[str, Any]:
    """A single group's pooled incidence rate as GRADE reports it: events per N units of
    person-time, whole numbers, no comparator.

    ``rate``/``ci_*`` are events per one unit of person-time as extracted (for IRLN the report's
    back-transformed ``exp`` values). ``per`` is the first of :data:`RATE_BASES` (1,000, 10,000,
    ...) at which the rounded rate is at least 10, so that the whole numbers keep two significant
    digits (GRADEpro shows "per 1,000" and lets the base grow for rare events); ``rate_per`` =
    round(per x rate), ``ci_lower_per``/``ci_upper_per`` likewise, rounded half away from zero
    (GRADE guidelines 12, Guyatt et al., *J Clin Epidemiol* 2013;66:158-172). ``unit`` names the
    person-time unit (the protocol outcome's ``units``: ``person-years``, ``catheter-days``).

    Examples
    --------
    >>> single_group_rate("IR", 0.0026667, 0.0014078, 0.0050513, "catheter-days")["rate_per"]
    27
    """
    per = next((b for b in RATE_BASES if abs(_round(b * rate)) >= 10), RATE_BASES[-1])
    return {
        "measure": measure,
        "rate": rate,
        "ci_lower": ci_lower,
        "ci_upper": ci_upper,
        "per": per,
        "rate_per": _round(per * rate),
        "ci_lower_per": _round(per * ci_lower),
        "ci_upper_per": _round(per * ci_upper),
        "person_time_unit": unit or None,
    }


def comparator_risk(arms: Sequence[Sequence[Mapping[str, Any]]]) -> float | None:
    """The pooled comparator-arm risk: Σ events / Σ participants over the comparator arms of
    the pooled studies (GRADEpro's "study population" assumed risk); None without counts."""
    events = n = 0.0
    for study in arms:
        for arm in study:
            if arm.get("group") != "comparator":
                continue
            e, m = arm.get("events"), arm.get("n")
            if e is None or m is None:
                return None
            events += float(e)
            n += float(m)
    return events / n if n > 0 else None


def optimal_information_size(
    comparator: float, rrr: float = DEFAULT_RELATIVE_MID, alpha: float = 0.05, power: float = 0.8
) -> int:
    """The optimal information size (GRADE 6): the total number of participants one trial
    would need to detect a relative risk reduction ``rrr`` from comparator risk ``p_c``,

        p_i = p_c (1 - rrr),
        n per group = (z_{1-α/2} + z_{power})² [p_c(1 - p_c) + p_i(1 - p_i)] / (p_c - p_i)²,

    rounded up, times 2 (the usual sample size for two proportions, Fleiss 1981; α = 0.05
    two-sided, power 0.8, RRR 25% as GRADE 6 suggests)."""
    p_i = comparator * (1 - rrr)
    z = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    n = z**2 * (comparator * (1 - comparator) + p_i * (1 - p_i)) / (comparator - p_i) ** 2
    return 2 * math.ceil(n - 1e-9)


def optimal_information_size_md(
    sd: float, mid: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """The optimal information size for a mean difference (GRADE 6): ``2 (z_{1-α/2} +
    z_{power})² σ² / δ²`` per group with δ = the MID and σ the pooled SD, rounded up, times 2."""
    z = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    return 2 * math.ceil(2 * z**2 * sd**2 / mid**2 - 1e-9)


# ---------------------------------------------------------------------------------------------
# suggestion rules

RULE_RISK_OF_BIAS = (
    "rule: -2 when studies at high risk of bias (RoB 2 high; ROBINS-I serious or critical) carry "
    "more than half the weight of the pooled analysis; -1 when studies at high risk or with some "
    "concerns (ROBINS-I moderate) together carry more than half; otherwise 0 (GRADE 4, Guyatt "
    "et al. 2011: judge by the studies that contribute most weight)"
)


def suggest_risk_of_bias(
    weights: Sequence[float], judgements: Sequence[str | None]
) -> Suggestion:
    """The risk-of-bias rule: weight shares of the pooled analysis by overall judgement.

    ``weights`` are the studies' weights (any scale; normalised here), ``judgements`` their
    overall risk-of-bias judgements (RoB 2 ``low``/``some_concerns``/``high``; ROBINS-I
    ``low``/``moderate``/``serious``/``critical``/``no_information``; None when not assessed).
    See :data:`RULE_RISK_OF_BIAS`; when more than half the weight is not assessed (or ROBINS-I
    ``no_information``) no rating is suggested (0, "not assessed").
    """
    total = float(sum(weights))
    if not weights or total <= 0:
        return Suggestion(0, "not assessed: no pooled studies")
    share = {"high": 0.0, "some": 0.0, "low": 0.0, "none": 0.0}
    for w, j in zip(weights, judgements, strict=True):
        key = (
            "high" if j in _HIGH else "some" if j in _SOME else "low" if j in _LOW else "none"
        )
        share[key] += 100 * float(w) / total
    text = (
        f"{share['high']:.0f}% of the weight from studies at high risk of bias, "
        f"{share['some']:.0f}% with some concerns, {share['low']:.0f}% at low risk"
        + (f", {share['none']:.0f}% not assessed" if share["none"] > 0.05 else "")
    )
    if share["none"] > 50:
        return Suggestion(
            0,
            f"not assessed: {text}; assess risk of bias (metareview rob) or judge it; "
            + RULE_RISK_OF_BIAS,
        )
    if share["high"] > 50:
        rating = -2
    elif share["high"] + share["some"] > 50:
        rating = -1
    else:
        rating = 0
    return Suggestion(rating, f"{text}; {RULE_RISK_OF_BIAS}")


RULE_INCONSISTENCY = (
    "rule: -2 when I² ≥ 75% and the study estimates lie on both sides of no effect; -1 when "
    "I² ≥ 50%, or when they lie on both sides and the prediction interval includes no effect "
    "although the confidence interval does not; otherwise 0 (GRADE 7, Guyatt et al. 2011; I² "
    "bands of the Cochrane Handbook 10.10.2)"
)


def suggest_inconsistency(
    k: int,
    I2: float | None,
    yi: Sequence[float],
    null: float | None,
    ci: tuple[float | None, float | None],
    pi: tuple[float | None, float | None],
) -> Suggestion:
    """The inconsistency rule from I², the directions of the study effects and the prediction
    interval (see :data:`RULE_INCONSISTENCY`). ``yi``, ``null``, ``ci`` and ``pi`` are on the
    model scale (log for ratios); ``null`` is None for single-group measures (no direction)."""
    if k < 2:
        return Suggestion(0, "not applicable: a single study (inconsistency cannot be assessed)")
    i2 = 0.0 if I2 is None else float(I2)
    above = below = 0
    if null is not None:
        above = sum(1 for y in yi if y > null)
        below = sum(1 for y in yi if y < null)
    both = above > 0 and below > 0
    lo, hi = ci
    plo, phi = pi
    pi_crosses = (
        null is not None
        and None not in (lo, hi, plo, phi)
        and not (lo <= null <= hi)  # type: ignore[operator]
        and plo < null < phi  # type: ignore[operator]
    )
    parts = [f"I² = {i2:.0f}%"]
    if null is not None:
        parts.append(f"{above} of {k} study estimates above and {below} below no effect")
    if plo is not None and phi is not None:
        parts.append(
            "the prediction interval includes no effect"
            if null is not None and plo < null < phi
            else "the prediction interval excludes no effect"
            if null is not None
            else "prediction interval given"
        )
    if i2 >= 75 and both:
        rating = -2
    elif i2 >= 50 or (both and pi_crosses):
        rating = -1
    else:
        rating = 0
    return Suggestion(rating, f"{'; '.join(parts)}; {RULE_INCONSISTENCY}")


def suggest_indirectness() -> Suggestion:
    """Indirectness has no rule: whether the studies' population, intervention, comparator and
    outcome match the question is a reviewer's judgement (GRADE 8, Guyatt et al. 2011)."""
    return Suggestion(
        0,
        "not assessed: reviewer judgement (do the studies' population, intervention, comparator "
        "and outcome match the question? GRADE 8, Guyatt et al. 2011)",
    )


RULE_IMPRECISION = (
    "rule: -2 when the 95% CI includes both appreciable benefit and appreciable harm; -1 when "
    "it includes no effect and an appreciable effect, or the participants fall short of the "
    "optimal information size (OIS: α 0.05, power 0.8); otherwise 0 (GRADE 6, Guyatt et al. 2011)"
)


def suggest_imprecision(
    ci: tuple[float, float],
    null: float,
    thresholds: tuple[float, float] | None,
    participants: int | None = None,
    ois: int | None = None,
    what: str = "",
) -> Suggestion:
    """The imprecision rule (see :data:`RULE_IMPRECISION`): the CI (natural scale: ratios as
    ratios) against the thresholds of appreciable benefit and harm ``(low, high)`` around
    ``null``, then the participants against the OIS. Without thresholds (an MD with no MID in
    the protocol) only "the CI includes no effect" can be judged: -1 then."""
    lo, hi = ci
    includes_null = lo <= null <= hi
    shown = f"95% CI {lo:.3g} to {hi:.3g}"
    if thresholds is None:
        if includes_null:
            return Suggestion(
                -1,
                f"{shown} includes no effect; no minimal important difference in the protocol "
                f"(outcomes[].mid), so an unimportant effect cannot be told apart; "
                f"{RULE_IMPRECISION}",
            )
        text = f"{shown} excludes no effect; no minimal important difference in the protocol"
    else:
        t_lo, t_hi = thresholds
        text = f"{shown} against thresholds {t_lo:.3g} and {t_hi:.3g}{what}"
        if lo < t_lo and hi > t_hi:
            return Suggestion(
                -2, f"{text}: includes appreciable benefit and harm; {RULE_IMPRECISION}"
            )
        if includes_null and (lo < t_lo or hi > t_hi):
            return Suggestion(
                -1, f"{text}: includes no effect and an appreciable effect; {RULE_IMPRECISION}"
            )
    if ois is not None and participants is not None:
        if participants < ois:
            return Suggestion(
                -1,
                f"{text}; {participants} participants, fewer than the OIS of {ois}; "
                f"{RULE_IMPRECISION}",
            )
        text += f"; {participants} participants, at least the OIS of {ois}"
    return Suggestion(0, f"{text}; {RULE_IMPRECISION}")


RULE_PUBLICATION_BIAS = (
    "rule: with at least 10 studies, -1 when Egger's regression test (metafor regtest) gives "
    "p < 0.10, otherwise 0; with fewer, the funnel plot and the test have too little power "
    "(Sterne et al. BMJ 2011;343:d4002) and it is a reviewer's judgement (GRADE 5, Guyatt et "
    "al. 2011)"
)


def suggest_publication_bias(k: int, egger_p: float | None) -> Suggestion:
    """The publication-bias rule from Egger's test (see :data:`RULE_PUBLICATION_BIAS`)."""
    if k < 10 or egger_p is None:
        return Suggestion(
            0, f"not assessed: {k} {'study' if k == 1 else 'studies'} (fewer than 10); "
            "reviewer judgement; "
            + RULE_PUBLICATION_BIAS,
        )
    if egger_p < 0.10:
        return Suggestion(
            -1, f"funnel plot asymmetry, Egger's test p = {egger_p:.3f}; {RULE_PUBLICATION_BIAS}"
        )
    return Suggestion(
        0, f"no funnel plot asymmetry detected, Egger's test p = {egger_p:.3f}; "
        + RULE_PUBLICATION_BIAS,
    )


# ---------------------------------------------------------------------------------------------
# one outcome


def _design(
    designs: Sequence[str | None], rob: Sequence[RobLike | None]
) -> tuple[str, Start, str]:
    """The body of evidence's design and GRADE's starting level, with the reason."""
    tools = [None if r is None else r.tool.lower().replace("_", "-") for r in rob]
    if tools and all(t == "rob2" for t in tools):
        return "randomised", "high", "randomised trials (assessed with RoB 2): start high"
    if tools and all(t in ("rob2", "robins-i") for t in tools):
        design = "non-randomised" if all(t == "robins-i" for t in tools) else "mixed"
        return (
            design,
            "high",
            "non-randomised studies assessed with ROBINS-I start high (Schünemann et al. "
            "J Clin Epidemiol 2019;111:105-114); their risk of bias rates them down",
        )
    kinds = []
    for text in designs:
        t = (text or "").lower()
        if not t or t == "not recorded":
            kinds.append("unknown")
        elif "random" in t and not any(
            w in t for w in ("non-random", "nonrandom", "non random", "quasi", "not random")
        ):
            kinds.append("randomised")
        else:
            kinds.append("non-randomised")
    if kinds and all(k == "randomised" for k in kinds):
        return "randomised", "high", "randomised trials: start high (GRADE handbook 5.1)"
    if "non-randomised" in kinds:
        return (
            "non-randomised",
            "low",
            "non-randomised studies without ROBINS-I assessments: start low (GRADE handbook 5.1)",
        )
    return (
        "not recorded",
        "low",
        "study design not recorded in the extraction (characteristics: design): start low until "
        "it is",
    )


def _kind(measure: str) -> Kind:
    info = find_measure(measure)
    if info is None:
        return "other"
    if info.is_proportion:
        return "proportion"
    if info.family == "single-group rate":
        return "rate"
    if info.family == "single-group mean":
        return "mean"
    if info.family == "two-group binary":
        return "dichotomous"
    if info.family == "two-group continuous" and measure in ("MD", "SMD", "SMDH", "SMD1"):
        return "continuous"
    if measure == "MC":  # a single group's raw mean change: in the outcome's units
        return "continuous"
    return "other"


def _person_time(studies: Sequence[Any]) -> float | None:
    """Σ person-time over the pooled studies' arms (None when a study gives none)."""
    total = 0.0
    for s in studies:
        times = [a.get("person_time") for a in s.arms]
        if not times or any(t is None for t in times):
            return None
        total += sum(float(t) for t in times)
    return total


def _participants(studies: Sequence[Any]) -> int | None:
    total = 0.0
    for s in studies:
        ns = [a.get("n") for a in s.arms if a.get("n") is not None]
        if ns:
            total += sum(float(n) for n in ns)
        elif s.ni is not None:
            total += float(s.ni)
        else:
            return None
    return _round(total)


def _pooled_sd(studies: Sequence[Any]) -> float | None:
    num = den = 0.0
    for s in studies:
        for a in s.arms:
            sd, n = a.get("sd"), a.get("n")
            if sd is None or n is None:
                return None
            num += (float(n) - 1) * float(sd) ** 2
            den += float(n) - 1
    return math.sqrt(num / den) if den > 0 else None


def _single_group(
    analysis: OutcomeAnalysis, info: MeasureInfo, spec: OutcomeSpec | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The absolute effect of a single-group rate or mean, on the scale the report shows it.

    A measure on its display scale (IR, MN) is the pooled estimate itself; a log measure (IRLN,
    MNLN, CVLN, SDLN) the report's back-transformed values (``analysis.transformed``, metafor's
    ``predict(res, transf = exp)``: one owner for the back-transform). A measure the report does
    not back-transform (IRS, IRFT) has no absolute effect; the note says why.
    """
    if info.scale == "identity":
        est, lo, hi = analysis.estimate, analysis.ci_lower, analysis.ci_upper
    elif analysis.transformed is not None:
        t = analysis.transformed
        est, lo, hi = t.get("estimate"), t.get("ci_lower"), t.get("ci_upper")
    else:
        instead = "IRLN or IR" if info.family == "single-group rate" else "MNLN or MN"
        what = info.label.lower()
        return None, (
            f"no absolute effect: {analysis.measure} is pooled on the {info.scale} scale, which "
            f"the report does not back-transform; pool as {instead} for "
            f"{'an' if what[0] in 'aeiou' else 'a'} {what} a reader can use"
        )
    if est is None or lo is None or hi is None:
        return None, "no absolute effect: the pooled estimate or its CI is not available"
    units = spec.units if spec is not None and spec.units else None
    if info.family == "single-group rate":
        rate = single_group_rate(analysis.measure, est, lo, hi, units)
        # the follow-up GRADEpro puts beside the participants: the pooled person-time
        rate["person_time"] = _person_time(analysis.studies) if analysis.studies else None
        return rate, None
    return {
        "measure": analysis.measure,
        "statistic": info.label.lower(),
        "value": est,
        "ci_lower": lo,
        "ci_upper": hi,
        # a coefficient of variation is a ratio of two numbers in the same units: it has none
        "units": None if analysis.measure == "CVLN" else units,
    }, None


def grade_outcome(
    analysis: OutcomeAnalysis,
    spec: OutcomeSpec | None = None,
    *,
    designs: Mapping[str, str | None] | None = None,
    rob: Mapping[int, RobLike] | None = None,
    reviewer: Mapping[str, ReviewerRating] | None = None,
    egger_p: float | None = None,
) -> GradeOutcome:
    """The GRADE assessment of one pooled outcome.

    Parameters
    ----------
    analysis
        The outcome's pooled analysis (weights, I², CI, PI, the studies with their arms).
    spec
        The protocol outcome (``mid``, ``assumed_risks``, ``units``).
    designs
        Study design text per ``StudyEffect.study`` (``StudyData.design``).
    rob
        Risk-of-bias assessments for this outcome by store study id.
    reviewer
        The reviewer's latest rating per domain (these replace the suggestions).
    egger_p
        Egger's test p-value (metafor ``regtest(fit)``) when k >= 10.
    """
    designs = designs or {}
    rob = rob or {}
    reviewer = reviewer or {}
    studies = list(analysis.studies)
    k = analysis.k
    study_rob = [None if s.study_id is None else rob.get(s.study_id) for s in studies]
    design, start, start_reason = _design([designs.get(s.study) for s in studies], study_rob)
    kind = _kind(analysis.measure)
    participants = _participants(studies) if studies else 0
    info = find_measure(analysis.measure)
    notes: list[str] = []

    suggestions: dict[str, Suggestion] = {"indirectness": suggest_indirectness()}
    relative: dict[str, Any] | None = None
    absolute: dict[str, Any] | None = None
    by_risk: list[dict[str, Any]] = []
    comparator: str | None = None
    absolute_note: str | None = None
    if k == 0 or None in (analysis.estimate, analysis.ci_lower, analysis.ci_upper):
        none = Suggestion(0, "not assessed: no study contributes to this outcome")
        suggestions.update(
            risk_of_bias=none, inconsistency=none, imprecision=none, publication_bias=none
        )
        kind_out: Kind = "none"
    else:
        kind_out = kind
        weights = analysis.weights()
        suggestions["risk_of_bias"] = suggest_risk_of_bias(
            [0.0 if w is None else w for w in weights],
            [None if r is None else r.overall for r in study_rob],
        )
        null_model = None
        if info is not None and info.null_value is not None:
            null_model = 0.0 if info.is_ratio else float(info.null_value)
        suggestions["inconsistency"] = suggest_inconsistency(
            k, analysis.I2, [s.yi for s in studies], null_model,
            (analysis.ci_lower, analysis.ci_upper), (analysis.pi_lower, analysis.pi_upper),
        )  # fmt: skip
        suggestions["publication_bias"] = suggest_publication_bias(k, egger_p)
        est: float | None = analysis.estimate
        lo: float | None = analysis.ci_lower
        hi: float | None = analysis.ci_upper
        if info is not None and info.is_ratio and analysis.transformed is not None:
            t = analysis.transformed
            est, lo, hi = t["estimate"], t["ci_lower"], t["ci_upper"]
            relative = {"measure": analysis.measure, "estimate": est, "ci_lower": lo,
                        "ci_upper": hi}  # fmt: skip
        assert est is not None and lo is not None and hi is not None
        mid = spec.mid if spec is not None else None
        if kind == "dichotomous":
            acr_pooled = comparator_risk([s.arms for s in studies])
            risks: list[tuple[str, float]] = []
            if spec is not None and spec.assumed_risks:
                risks = [(r.label, r.risk) for r in spec.assumed_risks]
            elif acr_pooled is not None:
                risks = [("study population", acr_pooled)]
            else:
                notes.append("no comparator-arm counts: absolute effects not computed")
            m = analysis.measure
            if m in ("RR", "OR", "PETO", "RD"):
                for label, acr in risks:
                    by_risk.append({"label": label, **absolute_effects(m, est, lo, hi, acr)})
            if by_risk:
                absolute = {k_: v for k_, v in by_risk[0].items() if k_ != "label"}
                comparator = str(by_risk[0]["label"])
            if analysis.measure == "RD":
                thresholds = None if mid is None else (-mid, mid)
                null = 0.0
            else:
                rel_mid = DEFAULT_RELATIVE_MID if mid is None else mid
                thresholds = (1 - rel_mid, 1 + rel_mid)
                null = 1.0
            ois = None
            rrr = DEFAULT_RELATIVE_MID if (mid is None or analysis.measure == "RD") else mid
            if acr_pooled is not None and 0 < acr_pooled < 1:
                ois = optimal_information_size(acr_pooled, rrr)
            suggestions["imprecision"] = suggest_imprecision(
                (lo, hi), null, thresholds, participants, ois,
                what=" (GRADE 6 default: ratio 0.75 and 1.25)" if mid is None and null == 1 else "",
            )  # fmt: skip
        elif kind == "continuous":
            raw = analysis.measure in ("MD", "MC")  # in the outcome's units, not SDs
            units = spec.units if spec is not None and spec.units else ("" if raw else "SD")
            absolute = {"measure": analysis.measure, "difference": est, "ci_lower": lo,
                        "ci_upper": hi, "units": units or None}  # fmt: skip
            # an MD has no default threshold; an SMD GRADE 6's 0.5 SD
            default = None if raw else DEFAULT_SMD_MID
            threshold = default if mid is None else mid
            ois = None
            sd = _pooled_sd(studies) if raw else 1.0
            if threshold is not None and sd is not None:
                ois = optimal_information_size_md(sd, threshold)
            suggestions["imprecision"] = suggest_imprecision(
                (lo, hi), 0.0, None if threshold is None else (-threshold, threshold),
                participants, ois,
            )  # fmt: skip
            if analysis.measure == "MC":
                notes.append(
                    "a single group's mean change from baseline: no comparator, so the effect is "
                    "the pooled change itself"
                )
        else:
            if kind in ("rate", "mean") and info is not None:
                absolute, absolute_note = _single_group(analysis, info, spec)
                if absolute_note is not None:
                    notes.append(absolute_note)
            if kind == "proportion":
                absolute = {
                    "proportion_per_1000": _round(1000 * est),
                    "ci_lower_per_1000": _round(1000 * lo),
                    "ci_upper_per_1000": _round(1000 * hi),
                }
                notes.append(
                    "a single-group proportion: GRADE reports the pooled proportion per 1000; "
                    "there is no comparator and no relative effect"
                )
            if info is not None and not info.is_ratio and analysis.transformed is not None:
                # a single-group rate or mean: its CI as the report shows it (IRLN as a rate)
                lo, hi = analysis.transformed["ci_lower"], analysis.transformed["ci_upper"]
                assert lo is not None and hi is not None
            suggestions["imprecision"] = Suggestion(
                0,
                "not assessed: reviewer judgement (no rule for "
                + ("a single-group proportion" if kind == "proportion" else
                   f"{info.label if info else analysis.measure} ({analysis.measure})")
                + f"; 95% CI {lo:.3g} to {hi:.3g})",
            )
    domains: dict[str, DomainRating] = {}
    for d in DOMAINS:
        s = suggestions[d]
        r = reviewer.get(d)
        domains[d] = DomainRating(
            rating=s.rating if r is None else r.rating,
            suggested=s.rating,
            reason=s.reason if r is None else r.reason,
            suggested_reason=s.reason,
            reviewer=None if r is None else r.reviewer,
            at=None if r is None else r.at,
        )
    grade = (
        None if kind_out == "none" else certainty(start, [domains[d].rating for d in DOMAINS])
    )
    return GradeOutcome(
        outcome=analysis.outcome,
        description=analysis.description,
        measure=analysis.measure,
        studies=k,
        participants=participants,
        design=design,
        start=start,
        start_reason=start_reason,
        domains=domains,
        certainty=grade,
        relative=relative,
        absolute=absolute,
        comparator=comparator,
        absolute_by_risk=tuple(by_risk),
        kind=kind_out,
        notes=tuple(notes),
        absolute_note=absolute_note,
    )
