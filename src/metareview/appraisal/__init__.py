"""Appraise: risk of bias of each included study's result (RoB 2, ROBINS-I).

:mod:`~metareview.appraisal.vocabulary` owns the tools, domains, questions and judgement words;
:mod:`~metareview.appraisal.rob2` and :mod:`~metareview.appraisal.robins_i` the guidance's rules;
:mod:`~metareview.appraisal.assessment` applies them to one assessment (overrides kept beside the
algorithm); :mod:`~metareview.appraisal.stored` keeps assessments in the project store (the API the
certainty-of-evidence stage reads: :func:`study_rob`). The form a reviewer fills in and its import
are in :mod:`metareview.review.rob` (they need the review's included studies); the figures in
:mod:`metareview.report.rob_plots`.
"""

from __future__ import annotations

from metareview.appraisal.assessment import DomainResult, Judged, judge
from metareview.appraisal.stored import (
    Assessment,
    RobConflict,
    StudyRob,
    assessments,
    counted_assessments,
    rob_conflicts,
    study_rob,
)
from metareview.appraisal.vocabulary import ROB2, ROBINS_I, TOOLS, find_tool

__all__ = [
    "ROB2",
    "ROBINS_I",
    "TOOLS",
    "Assessment",
    "DomainResult",
    "Judged",
    "RobConflict",
    "StudyRob",
    "assessments",
    "counted_assessments",
    "find_tool",
    "judge",
    "rob_conflicts",
    "study_rob",
]
