"""ClinicalTrials.gov API v2 JSON: one study, a list of studies, or a search page.

A search page is ``{"studies": [...], "nextPageToken": "..."}`` (``/api/v2/studies``); one study
is what ``/api/v2/studies/NCT...`` returns (``protocolSection``, ``resultsSection``,
``derivedSection``, ``hasResults``). Each study becomes one ``kind='registry'`` record.

Record fields
-------------
``source='ctgov'``, ``source_id`` and ``nct_ids`` = the NCT id, ``title`` = brief title,
``abstract`` = brief summary, ``year`` = year of the study start date, ``keywords`` = the
sponsor's keywords, ``mesh_terms`` = condition and intervention MeSH terms of the derived section,
``url`` = the study page.

``Record.fields`` structure (all keys present; missing data is None or empty)
----------------------------------------------------------------------------
::

    nct_id, brief_title, official_title, acronym, org_study_id, secondary_ids: [str]
    status: {overall, why_stopped, start_date, primary_completion_date, completion_date,
             first_posted, last_update_posted}
    sponsor: {lead, lead_class, collaborators: [str]}
    conditions: [str]
    detailed_description: str | None
    design: {study_type, phases: [str], allocation, intervention_model, primary_purpose,
             masking, who_masked: [str], enrollment: int | None, enrollment_type}
    arms: [{label, type, description, interventions: [str], doses: [str]}]
    interventions: [{type, name, description, arm_labels: [str], other_names: [str],
                     doses: [str]}]
    eligibility: {criteria_text, inclusion: [str], exclusion: [str], items: [str], sex,
                  minimum_age, maximum_age, healthy_volunteers, std_ages: [str]}
    outcomes: {primary | secondary | other: [{measure, description, time_frame}]}
    officials: [{name, affiliation, role}]
    locations: [{facility, city, state, zip, country, status}]
    references: [{pmid, type, citation}]
    has_results: bool
    results: None, or
      {participant_flow: {recruitment_details, pre_assignment_details,
                          groups: [{id, title, description}],
                          periods: [{title,
                                     milestones: [{type, counts: {group_id: int}}],
                                     drop_withdraws: [{type, counts: {group_id: int}}]}]},
       baseline: {population_description, groups: [...], denoms: {group_id: int},
                  measures: [MEASURE]},
       outcome_measures: [{type, title, description, population_description,
                           reporting_status, time_frame, groups: [...],
                           denoms: {group_id: int}, analyses: [ANALYSIS], **MEASURE}],
       adverse_events: {time_frame, description, frequency_threshold,
                        groups: [{id, title, description, deaths_affected, deaths_at_risk,
                                  serious_affected, serious_at_risk, other_affected,
                                  other_at_risk}],
                        serious: [EVENT], other: [EVENT]}}
    MEASURE  = {title, param_type, dispersion_type, unit,
                classes: [{title, categories: [{title,
                           measurements: [{group_id, value, spread, lower_limit,
                                           upper_limit}]}]}]}
    ANALYSIS = {group_ids: [str], p_value, statistical_method, param_type, param_value,
                ci_pct, ci_sides, ci_lower, ci_upper, non_inferiority_type}
    EVENT    = {term, organ_system, assessment_type, source_vocabulary,
                stats: [{group_id, events, affected, at_risk}]}

Numbers that the API sends as text (``"numSubjects": "15"``, ``"value": "53.2"``) become
int/float; text that is not a number (``"NA"``) is kept as it is. ``eligibility.inclusion`` and
``exclusion`` are the criteria split at their ``Inclusion Criteria:`` / ``Exclusion Criteria:``
headings into one string per bullet; ``items`` holds criteria under no heading. ``doses`` are
dose expressions found in the text (``400 mg/day``), kept verbatim.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterator
from typing import IO, Any

from metareview.errors import MetareviewWarning
from metareview.sources.base import SourceFormatError, dedupe_keep_order, load_json, parse_year
from metareview.sources.record import Record
from metareview.sources.shape import NUMBER, SCALAR, TEXT, Spec, check_shape, json_type

__all__ = [
    "DOSE_RE",
    "find_doses",
    "parse",
    "parse_page",
    "parse_study",
    "split_eligibility",
]

#: A dose as written in registries and abstracts: amount, unit, optional schedule.
DOSE_RE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|µg|μg|ug|IU|mL|ml)"
    r"(?:\s*/\s*(?:m2|m²|kg))?"
    r"(?:\s*(?:/|per)\s*(?:day|d|j|jour|week|wk|dose)\b"
    r"|\s+(?:once|twice|three times)\s+(?:a\s+)?(?:daily|day|weekly)"
    r"|\s+(?:daily|bid|b\.i\.d\.|qd|od)\b)?",
    re.IGNORECASE,
)

_HEADING = re.compile(r"^\s*(?:key\s+)?(inclusion|exclusion)\s+criteria\b\s*:?\s*(.*)$", re.I)
_BULLET = re.compile(r"^\s*(?:[*\-•·▪◦]|\d{1,2}[.)]|[a-z][.)])\s+")


def find_doses(*texts: str | None) -> list[str]:
    """Dose expressions (``400 mg/day``, ``300 mg twice daily``) in ``texts``, without repeats."""
    found: list[str] = []
    for text in texts:
        if text:
            found.extend(" ".join(m.group(0).split()) for m in DOSE_RE.finditer(text))
    return dedupe_keep_order(found)


def split_eligibility(text: str | None) -> dict[str, list[str]]:
    """Split eligibility criteria text into inclusion, exclusion and unlabelled items.

    Sections start at lines ``Inclusion Criteria:`` / ``Exclusion Criteria:`` (any case, text
    may follow the colon). Within a section a new item starts at a bullet (``*``, ``-``, ``•``,
    ``1.``, ``a)``) or after a blank line; other lines continue the current item. Criteria
    before any heading go to ``items``.

    Returns
    -------
    dict
        ``{"inclusion": [...], "exclusion": [...], "items": [...]}``.
    """
    out: dict[str, list[str]] = {"inclusion": [], "exclusion": [], "items": []}
    if not text:
        return out
    section = "items"
    current: list[str] = []

    def flush() -> None:
        item = " ".join(" ".join(current).split())
        if item:
            out[section].append(item)
        current.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _HEADING.match(line)
        if heading:
            flush()
            section = heading.group(1).lower()
            rest = heading.group(2).strip()
            if rest:
                current.append(rest)
            continue
        if not line.strip():
            flush()
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            current.append(line[bullet.end() :])
        else:
            current.append(line)
    flush()
    return out


def parse(
    stream: IO[bytes], *, file: str = "<ctgov-json>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield one record per study of a ClinicalTrials.gov API v2 JSON file.

    A page with a ``nextPageToken`` is only part of a search: a
    :class:`~metareview.errors.MetareviewWarning` says so.

    Raises
    ------
    SourceFormatError
        Malformed JSON, or a study without ``protocolSection.identificationModule.nctId``.
    """
    del encoding
    document = load_json(stream, file=file)
    records, token = parse_page(document, file=file)
    if token:
        warnings.warn(
            f"{file}: this is one page of a larger search (nextPageToken={token!r}); "
            "import the other pages too",
            MetareviewWarning,
            stacklevel=2,
        )
    yield from records


def parse_page(document: Any, *, file: str = "<ctgov-json>") -> tuple[list[Record], str | None]:
    """Records of a parsed API v2 document and its ``nextPageToken`` (None on the last page).

    Accepts a search page (``{"studies": [...]}``), one study (``{"protocolSection": ...}``) or
    a JSON array of studies.
    """
    token: str | None = None
    if isinstance(document, dict) and "studies" in document:
        studies = document["studies"]
        token = document.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise SourceFormatError(
                f"should be text, not {json_type(token)}", file=file, field="nextPageToken"
            )
        if not isinstance(studies, list):
            raise SourceFormatError('"studies" is not a list', file=file, field="studies")
    elif isinstance(document, dict) and "protocolSection" in document:
        studies = [document]
    elif isinstance(document, list):
        studies = document
    else:
        raise SourceFormatError(
            "not ClinicalTrials.gov API v2 JSON: expected a study (protocolSection) or a "
            "search page (studies)",
            file=file,
        )
    return [parse_study(s, file=file, position=i) for i, s in enumerate(studies, 1)], token


def _date() -> dict[str, Spec]:
    return {"date": TEXT, "type": TEXT}


_TEXTS: list[Spec] = [TEXT]
_GROUPS: list[Spec] = [{"id": SCALAR, "title": TEXT, "description": TEXT}]
_DENOMS: list[Spec] = [{"units": TEXT, "counts": [{"groupId": SCALAR, "value": NUMBER}]}]
_MEASURE: dict[str, Spec] = {
    "title": TEXT,
    "paramType": TEXT,
    "dispersionType": TEXT,
    "unitOfMeasure": TEXT,
    "classes": [
        {
            "title": TEXT,
            "categories": [
                {
                    "title": TEXT,
                    "measurements": [
                        {
                            "groupId": SCALAR,
                            "value": NUMBER,
                            "spread": NUMBER,
                            "lowerLimit": NUMBER,
                            "upperLimit": NUMBER,
                        }
                    ],
                }
            ],
        }
    ],
}
_EVENTS: list[Spec] = [
    {
        "term": TEXT,
        "organSystem": TEXT,
        "assessmentType": TEXT,
        "sourceVocabulary": TEXT,
        "stats": [
            {"groupId": SCALAR, "numEvents": NUMBER, "numAffected": NUMBER, "numAtRisk": NUMBER}
        ],
    }
]

#: The shape of one API v2 study, as far as :func:`parse_study` reads it (see
#: :mod:`metareview.sources.shape`; the field names are the API's).
STUDY_SHAPE: dict[str, Spec] = {
    "hasResults": SCALAR,
    "protocolSection": {
        "identificationModule": {
            "nctId": TEXT,
            "briefTitle": TEXT,
            "officialTitle": TEXT,
            "acronym": TEXT,
            "orgStudyIdInfo": {"id": SCALAR},
            "secondaryIdInfos": [{"id": SCALAR}],
        },
        "statusModule": {
            "overallStatus": TEXT,
            "whyStopped": TEXT,
            "startDateStruct": _date(),
            "primaryCompletionDateStruct": _date(),
            "completionDateStruct": _date(),
            "studyFirstPostDateStruct": _date(),
            "lastUpdatePostDateStruct": _date(),
        },
        "sponsorCollaboratorsModule": {
            "leadSponsor": {"name": TEXT, "class": TEXT},
            "collaborators": [{"name": TEXT}],
        },
        "conditionsModule": {"conditions": _TEXTS, "keywords": _TEXTS},
        "descriptionModule": {"briefSummary": TEXT, "detailedDescription": TEXT},
        "designModule": {
            "studyType": TEXT,
            "phases": _TEXTS,
            "designInfo": {
                "allocation": TEXT,
                "interventionModel": TEXT,
                "primaryPurpose": TEXT,
                "maskingInfo": {"masking": TEXT, "whoMasked": _TEXTS},
            },
            "enrollmentInfo": {"count": NUMBER, "type": TEXT},
        },
        "armsInterventionsModule": {
            "armGroups": [
                {"label": TEXT, "type": TEXT, "description": TEXT, "interventionNames": _TEXTS}
            ],
            "interventions": [
                {
                    "type": TEXT,
                    "name": TEXT,
                    "description": TEXT,
                    "armGroupLabels": _TEXTS,
                    "otherNames": _TEXTS,
                }
            ],
        },
        "eligibilityModule": {
            "eligibilityCriteria": TEXT,
            "sex": TEXT,
            "minimumAge": TEXT,
            "maximumAge": TEXT,
            "healthyVolunteers": SCALAR,
            "stdAges": _TEXTS,
        },
        "outcomesModule": {
            key: [{"measure": TEXT, "description": TEXT, "timeFrame": TEXT}]
            for key in ("primaryOutcomes", "secondaryOutcomes", "otherOutcomes")
        },
        "contactsLocationsModule": {
            "overallOfficials": [{"name": TEXT, "affiliation": TEXT, "role": TEXT}],
            "locations": [
                {
                    "facility": TEXT,
                    "city": TEXT,
                    "state": TEXT,
                    "zip": TEXT,
                    "country": TEXT,
                    "status": TEXT,
                }
            ],
        },
        "referencesModule": {"references": [{"pmid": SCALAR, "type": TEXT, "citation": TEXT}]},
    },
    "resultsSection": {
        "participantFlowModule": {
            "recruitmentDetails": TEXT,
            "preAssignmentDetails": TEXT,
            "groups": _GROUPS,
            "periods": [
                {
                    "title": TEXT,
                    "milestones": [
                        {
                            "type": TEXT,
                            "achievements": [{"groupId": SCALAR, "numSubjects": NUMBER}],
                        }
                    ],
                    "dropWithdraws": [
                        {"type": TEXT, "reasons": [{"groupId": SCALAR, "numSubjects": NUMBER}]}
                    ],
                }
            ],
        },
        "baselineCharacteristicsModule": {
            "populationDescription": TEXT,
            "groups": _GROUPS,
            "denoms": _DENOMS,
            "measures": [_MEASURE],
        },
        "outcomeMeasuresModule": {
            "outcomeMeasures": [
                {
                    **_MEASURE,
                    "type": TEXT,
                    "description": TEXT,
                    "populationDescription": TEXT,
                    "reportingStatus": TEXT,
                    "timeFrame": TEXT,
                    "groups": _GROUPS,
                    "denoms": _DENOMS,
                    "analyses": [
                        {
                            "groupIds": [SCALAR],
                            "pValue": SCALAR,
                            "statisticalMethod": TEXT,
                            "paramType": TEXT,
                            "paramValue": NUMBER,
                            "ciPctValue": NUMBER,
                            "ciNumSides": TEXT,
                            "ciLowerLimit": NUMBER,
                            "ciUpperLimit": NUMBER,
                            "nonInferiorityType": TEXT,
                        }
                    ],
                }
            ]
        },
        "adverseEventsModule": {
            "timeFrame": TEXT,
            "description": TEXT,
            "frequencyThreshold": NUMBER,
            "eventGroups": [
                {
                    "id": SCALAR,
                    "title": TEXT,
                    "description": TEXT,
                    **{
                        key: NUMBER
                        for key in (
                            "deathsNumAffected",
                            "deathsNumAtRisk",
                            "seriousNumAffected",
                            "seriousNumAtRisk",
                            "otherNumAffected",
                            "otherNumAtRisk",
                        )
                    },
                }
            ],
            "seriousEvents": _EVENTS,
            "otherEvents": _EVENTS,
        },
    },
    "derivedSection": {
        key: {"meshes": [{"term": TEXT}]}
        for key in ("conditionBrowseModule", "interventionBrowseModule")
    },
}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _list(obj: Any, *path: str) -> list[Any]:
    value = _get(obj, *path)
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).replace(",", "").strip())
    except ValueError:
        return None


def _number(value: Any) -> Any:
    """An API number sent as text -> int or float; other text unchanged; None stays None."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _counts(items: list[Any], key: str) -> dict[str, Any]:
    return {str(i.get("groupId")): _number(i.get(key)) for i in items if isinstance(i, dict)}


def _groups(module: Any) -> list[dict[str, Any]]:
    return [
        {"id": g.get("id"), "title": g.get("title"), "description": g.get("description")}
        for g in _list(module, "groups")
    ]


def _denoms(module: Any) -> dict[str, Any]:
    for denom in _list(module, "denoms"):
        if str(denom.get("units", "Participants")).lower() == "participants":
            return _counts(_list(denom, "counts"), "value")
    denoms = _list(module, "denoms")
    return _counts(_list(denoms[0], "counts"), "value") if denoms else {}


def _measure(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": m.get("title"),
        "param_type": m.get("paramType"),
        "dispersion_type": m.get("dispersionType"),
        "unit": m.get("unitOfMeasure"),
        "classes": [
            {
                "title": c.get("title"),
                "categories": [
                    {
                        "title": cat.get("title"),
                        "measurements": [
                            {
                                "group_id": x.get("groupId"),
                                "value": _number(x.get("value")),
                                "spread": _number(x.get("spread")),
                                "lower_limit": _number(x.get("lowerLimit")),
                                "upper_limit": _number(x.get("upperLimit")),
                            }
                            for x in _list(cat, "measurements")
                        ],
                    }
                    for cat in _list(c, "categories")
                ],
            }
            for c in _list(m, "classes")
        ],
    }


def _events(items: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "term": e.get("term"),
            "organ_system": e.get("organSystem"),
            "assessment_type": e.get("assessmentType"),
            "source_vocabulary": e.get("sourceVocabulary"),
            "stats": [
                {
                    "group_id": s.get("groupId"),
                    "events": _int(s.get("numEvents")),
                    "affected": _int(s.get("numAffected")),
                    "at_risk": _int(s.get("numAtRisk")),
                }
                for s in _list(e, "stats")
            ],
        }
        for e in items
    ]


def _results(section: Any) -> dict[str, Any] | None:
    if not isinstance(section, dict) or not section:
        return None
    flow = section.get("participantFlowModule")
    baseline = section.get("baselineCharacteristicsModule")
    outcomes = section.get("outcomeMeasuresModule")
    adverse = section.get("adverseEventsModule")
    return {
        "participant_flow": None
        if flow is None
        else {
            "recruitment_details": flow.get("recruitmentDetails"),
            "pre_assignment_details": flow.get("preAssignmentDetails"),
            "groups": _groups(flow),
            "periods": [
                {
                    "title": p.get("title"),
                    "milestones": [
                        {
                            "type": m.get("type"),
                            "counts": _counts(_list(m, "achievements"), "numSubjects"),
                        }
                        for m in _list(p, "milestones")
                    ],
                    "drop_withdraws": [
                        {
                            "type": d.get("type"),
                            "counts": _counts(_list(d, "reasons"), "numSubjects"),
                        }
                        for d in _list(p, "dropWithdraws")
                    ],
                }
                for p in _list(flow, "periods")
            ],
        },
        "baseline": None
        if baseline is None
        else {
            "population_description": baseline.get("populationDescription"),
            "groups": _groups(baseline),
            "denoms": _denoms(baseline),
            "measures": [_measure(m) for m in _list(baseline, "measures")],
        },
        "outcome_measures": [
            {
                "type": m.get("type"),
                "description": m.get("description"),
                "population_description": m.get("populationDescription"),
                "reporting_status": m.get("reportingStatus"),
                "time_frame": m.get("timeFrame"),
                "groups": _groups(m),
                "denoms": _denoms(m),
                **_measure(m),
                "analyses": [
                    {
                        "group_ids": list(a.get("groupIds") or []),
                        "p_value": a.get("pValue"),
                        "statistical_method": a.get("statisticalMethod"),
                        "param_type": a.get("paramType"),
                        "param_value": _number(a.get("paramValue")),
                        "ci_pct": _number(a.get("ciPctValue")),
                        "ci_sides": a.get("ciNumSides"),
                        "ci_lower": _number(a.get("ciLowerLimit")),
                        "ci_upper": _number(a.get("ciUpperLimit")),
                        "non_inferiority_type": a.get("nonInferiorityType"),
                    }
                    for a in _list(m, "analyses")
                ],
            }
            for m in _list(outcomes, "outcomeMeasures")
        ],
        "adverse_events": None
        if adverse is None
        else {
            "time_frame": adverse.get("timeFrame"),
            "description": adverse.get("description"),
            "frequency_threshold": _number(adverse.get("frequencyThreshold")),
            "groups": [
                {
                    "id": g.get("id"),
                    "title": g.get("title"),
                    "description": g.get("description"),
                    "deaths_affected": _int(g.get("deathsNumAffected")),
                    "deaths_at_risk": _int(g.get("deathsNumAtRisk")),
                    "serious_affected": _int(g.get("seriousNumAffected")),
                    "serious_at_risk": _int(g.get("seriousNumAtRisk")),
                    "other_affected": _int(g.get("otherNumAffected")),
                    "other_at_risk": _int(g.get("otherNumAtRisk")),
                }
                for g in _list(adverse, "eventGroups")
            ],
            "serious": _events(_list(adverse, "seriousEvents")),
            "other": _events(_list(adverse, "otherEvents")),
        },
    }


def parse_study(study: Any, *, file: str = "<ctgov-json>", position: int = 1) -> Record:
    """One API v2 study object as a ``kind='registry'`` :class:`Record` (see module docs).

    Raises
    ------
    SourceFormatError
        The object is not a study or has no NCT id.
    """
    if not isinstance(study, dict):
        raise SourceFormatError("a study is not a JSON object", file=file, record=position)
    check_shape(study, STUDY_SHAPE, file=file, record=position)
    protocol = study.get("protocolSection")
    nct_id = _get(protocol, "identificationModule", "nctId")
    if not isinstance(nct_id, str) or not nct_id:
        raise SourceFormatError(
            "study without protocolSection.identificationModule.nctId",
            file=file,
            record=position,
            field="nctId",
        )
    ident = _get(protocol, "identificationModule") or {}
    status = _get(protocol, "statusModule") or {}
    sponsor = _get(protocol, "sponsorCollaboratorsModule") or {}
    description = _get(protocol, "descriptionModule") or {}
    design = _get(protocol, "designModule") or {}
    arms_module = _get(protocol, "armsInterventionsModule") or {}
    eligibility = _get(protocol, "eligibilityModule") or {}
    outcomes = _get(protocol, "outcomesModule") or {}

    interventions = [
        {
            "type": i.get("type"),
            "name": i.get("name"),
            "description": i.get("description"),
            "arm_labels": list(i.get("armGroupLabels") or []),
            "other_names": list(i.get("otherNames") or []),
            "doses": find_doses(i.get("name"), i.get("description")),
        }
        for i in _list(arms_module, "interventions")
    ]
    arms = [
        {
            "label": a.get("label"),
            "type": a.get("type"),
            "description": a.get("description"),
            "interventions": list(a.get("interventionNames") or []),
            "doses": find_doses(a.get("label"), a.get("description")),
        }
        for a in _list(arms_module, "armGroups")
    ]
    criteria_text = eligibility.get("eligibilityCriteria")
    split = split_eligibility(criteria_text)

    def outcome_list(key: str) -> list[dict[str, Any]]:
        return [
            {
                "measure": o.get("measure"),
                "description": o.get("description"),
                "time_frame": o.get("timeFrame"),
            }
            for o in _list(outcomes, key)
        ]

    start_date = _get(status, "startDateStruct", "date")
    fields: dict[str, Any] = {
        "nct_id": nct_id,
        "brief_title": ident.get("briefTitle"),
        "official_title": ident.get("officialTitle"),
        "acronym": ident.get("acronym"),
        "org_study_id": _get(ident, "orgStudyIdInfo", "id"),
        "secondary_ids": [s.get("id") for s in _list(ident, "secondaryIdInfos") if s.get("id")],
        "status": {
            "overall": status.get("overallStatus"),
            "why_stopped": status.get("whyStopped"),
            "start_date": start_date,
            "primary_completion_date": _get(status, "primaryCompletionDateStruct", "date"),
            "completion_date": _get(status, "completionDateStruct", "date"),
            "first_posted": _get(status, "studyFirstPostDateStruct", "date"),
            "last_update_posted": _get(status, "lastUpdatePostDateStruct", "date"),
        },
        "sponsor": {
            "lead": _get(sponsor, "leadSponsor", "name"),
            "lead_class": _get(sponsor, "leadSponsor", "class"),
            "collaborators": [c.get("name") for c in _list(sponsor, "collaborators")],
        },
        "conditions": list(_get(protocol, "conditionsModule", "conditions") or []),
        "detailed_description": description.get("detailedDescription"),
        "design": {
            "study_type": design.get("studyType"),
            "phases": list(design.get("phases") or []),
            "allocation": _get(design, "designInfo", "allocation"),
            "intervention_model": _get(design, "designInfo", "interventionModel"),
            "primary_purpose": _get(design, "designInfo", "primaryPurpose"),
            "masking": _get(design, "designInfo", "maskingInfo", "masking"),
            "who_masked": list(_get(design, "designInfo", "maskingInfo", "whoMasked") or []),
            "enrollment": _int(_get(design, "enrollmentInfo", "count")),
            "enrollment_type": _get(design, "enrollmentInfo", "type"),
        },
        "arms": arms,
        "interventions": interventions,
        "eligibility": {
            "criteria_text": criteria_text,
            "inclusion": split["inclusion"],
            "exclusion": split["exclusion"],
            "items": split["items"],
            "sex": eligibility.get("sex"),
            "minimum_age": eligibility.get("minimumAge"),
            "maximum_age": eligibility.get("maximumAge"),
            "healthy_volunteers": eligibility.get("healthyVolunteers"),
            "std_ages": list(eligibility.get("stdAges") or []),
        },
        "outcomes": {
            "primary": outcome_list("primaryOutcomes"),
            "secondary": outcome_list("secondaryOutcomes"),
            "other": outcome_list("otherOutcomes"),
        },
        "officials": [
            {"name": o.get("name"), "affiliation": o.get("affiliation"), "role": o.get("role")}
            for o in _list(protocol, "contactsLocationsModule", "overallOfficials")
        ],
        "locations": [
            {
                "facility": loc.get("facility"),
                "city": loc.get("city"),
                "state": loc.get("state"),
                "zip": loc.get("zip"),
                "country": loc.get("country"),
                "status": loc.get("status"),
            }
            for loc in _list(protocol, "contactsLocationsModule", "locations")
        ],
        "references": [
            {"pmid": r.get("pmid"), "type": r.get("type"), "citation": r.get("citation")}
            for r in _list(protocol, "referencesModule", "references")
        ],
        "has_results": bool(study.get("hasResults") or study.get("resultsSection")),
        "results": _results(study.get("resultsSection")),
    }
    mesh = [
        m.get("term")
        for key in ("conditionBrowseModule", "interventionBrowseModule")
        for m in _list(study, "derivedSection", key, "meshes")
        if m.get("term")
    ]
    return Record(
        source="ctgov",
        title=ident.get("briefTitle") or ident.get("officialTitle") or "",
        kind="registry",
        source_id=nct_id,
        abstract=description.get("briefSummary") or "",
        authors=[],
        year=parse_year(start_date),
        nct_ids=[nct_id],
        keywords=list(_get(protocol, "conditionsModule", "keywords") or []),
        mesh_terms=dedupe_keep_order(mesh),
        url=f"https://clinicaltrials.gov/study/{nct_id}",
        fields=fields,
        raw=json.dumps(study, ensure_ascii=False),
        raw_format="ctgov-json",
        origin_file=file,
    )


def parse_ctgov_json(data: bytes | str, *, file: str = "<ctgov-json>") -> list[Record]:
    """All records of an API v2 JSON document held in memory."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_page(load_json(io.BytesIO(raw), file=file), file=file)[0]
