"""metareview: a systematic review of clinical evidence, from the search to the pooled answer.

The public API follows R's metafor: :func:`escalc` turns raw study data into effect sizes
``yi``/``vi``; :func:`rma` pools them and returns an immutable result with ``.summary()`` and
``.to_dict()``. Everything a user calls is importable from here::

    from metareview import escalc, rma, rma_mh, leave1out, trimfill, Project, load_protocol

(also ``metareview.rma(...)``). Names are loaded on first use (PEP 562): ``import metareview``
imports none of the stages, so the command line starts fast.

Where the names live: effect sizes and the measure vocabulary in :mod:`metareview.effects`
(``measure_info``, ``MEASURE_NAMES``); models and the method vocabulary in
:mod:`metareview.models` (``METHODS``, ``TESTS``); a pooled CSV in :mod:`metareview.review`;
the protocol in :mod:`metareview.protocol`; the project store in :mod:`metareview.store`;
the report in :mod:`metareview.report`; the exception tree in :mod:`metareview.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metareview._lazy import attach

__version__ = "0.1.0"

if TYPE_CHECKING:
    from metareview.appraisal.grade import GradeOutcome
    from metareview.appraisal.grade_store import set_rating
    from metareview.appraisal.sof import sof_table, write_sof
    from metareview.effects.escalc import NotComputable, escalc
    from metareview.effects.measures import MEASURE_INFO, MEASURE_NAMES, MeasureInfo, measure_info
    from metareview.effects.transforms import display_transform
    from metareview.errors import (
        ConvergenceError,
        ConvergenceWarning,
        InputError,
        MetareviewError,
        MetareviewWarning,
        ProtocolError,
        SourceError,
        StoreError,
    )
    from metareview.extraction import StudyData, load_studies
    from metareview.models.anova import AnovaResult, anova
    from metareview.models.batch import rma_batch
    from metareview.models.blup import blup, ranef
    from metareview.models.confint import confint
    from metareview.models.cumul import cumul
    from metareview.models.glmm import GLMMResult, rma_glmm
    from metareview.models.gosh import GoshResult, gosh
    from metareview.models.hc import HCResult, hc
    from metareview.models.influence import baujat, influence
    from metareview.models.leave1out import leave1out
    from metareview.models.llplot import llplot_data
    from metareview.models.matreg import matreg
    from metareview.models.methods import METHOD_NAMES, METHODS, TESTS
    from metareview.models.mh import MHResult, rma_mh, rma_peto
    from metareview.models.multilevel import RMAMVResult, rma_mv
    from metareview.models.permutest import permutest
    from metareview.models.profile import ProfileResult, profile
    from metareview.models.profile_mv import profile_mv
    from metareview.models.publication import FsnResult, TesResult, fsn, tes
    from metareview.models.published import PublishedCheck, check_published
    from metareview.models.regression import RegResult, rma_reg
    from metareview.models.rma import RMAResult, rma
    from metareview.models.robust import RobustResult, robust
    from metareview.models.selmodel import SelmodelRegResult, SelmodelResult, selmodel
    from metareview.models.smallstudy import (
        RanktestResult,
        RegtestResult,
        TrimfillResult,
        ranktest,
        regtest,
        trimfill,
    )
    from metareview.models.subgroup import SubgroupResult, subgroup
    from metareview.models.vcalc import vcalc
    from metareview.protocol import Protocol, load_protocol, parse_protocol
    from metareview.report.gosh_plot import gosh_plot
    from metareview.report.html import write_report
    from metareview.report.llplot import llplot
    from metareview.report.plots import forest_plot, funnel_plot
    from metareview.review.folder import bundled_example, run_folder
    from metareview.review.pool import PoolOutcome, pool_file
    from metareview.review.result import ReviewResult
    from metareview.review.store import analyse_project
    from metareview.store.project import Project

#: Where each public name lives.
_EXPORTS: dict[str, str] = {
    "NotComputable": "metareview.effects.escalc",
    "escalc": "metareview.effects.escalc",
    "MEASURE_INFO": "metareview.effects.measures",
    "MEASURE_NAMES": "metareview.effects.measures",
    "MeasureInfo": "metareview.effects.measures",
    "measure_info": "metareview.effects.measures",
    "display_transform": "metareview.effects.transforms",
    "RMAResult": "metareview.models.rma",
    "rma": "metareview.models.rma",
    "MHResult": "metareview.models.mh",
    "rma_mh": "metareview.models.mh",
    "rma_peto": "metareview.models.mh",
    "RegResult": "metareview.models.regression",
    "rma_reg": "metareview.models.regression",
    "rma_batch": "metareview.models.batch",
    "leave1out": "metareview.models.leave1out",
    "SubgroupResult": "metareview.models.subgroup",
    "subgroup": "metareview.models.subgroup",
    "RanktestResult": "metareview.models.smallstudy",
    "RegtestResult": "metareview.models.smallstudy",
    "TrimfillResult": "metareview.models.smallstudy",
    "ranktest": "metareview.models.smallstudy",
    "regtest": "metareview.models.smallstudy",
    "trimfill": "metareview.models.smallstudy",
    "PublishedCheck": "metareview.models.published",
    "check_published": "metareview.models.published",
    "RMAMVResult": "metareview.models.multilevel",
    "rma_mv": "metareview.models.multilevel",
    "RobustResult": "metareview.models.robust",
    "robust": "metareview.models.robust",
    "vcalc": "metareview.models.vcalc",
    "METHODS": "metareview.models.methods",
    "METHOD_NAMES": "metareview.models.methods",
    "TESTS": "metareview.models.methods",
    "PoolOutcome": "metareview.review.pool",
    "pool_file": "metareview.review.pool",
    "Protocol": "metareview.protocol",
    "load_protocol": "metareview.protocol",
    "parse_protocol": "metareview.protocol",
    "Project": "metareview.store.project",
    "StudyData": "metareview.extraction",
    "load_studies": "metareview.extraction",
    "write_report": "metareview.report.html",
    "forest_plot": "metareview.report.plots",
    "funnel_plot": "metareview.report.plots",
    "analyse_project": "metareview.review.store",
    "run_folder": "metareview.review.folder",
    "bundled_example": "metareview.review.folder",
    "ReviewResult": "metareview.review.result",
    "ConvergenceError": "metareview.errors",
    "ConvergenceWarning": "metareview.errors",
    "InputError": "metareview.errors",
    "MetareviewError": "metareview.errors",
    "MetareviewWarning": "metareview.errors",
    "ProtocolError": "metareview.errors",
    "SourceError": "metareview.errors",
    "StoreError": "metareview.errors",
    "GLMMResult": "metareview.models.glmm",
    "rma_glmm": "metareview.models.glmm",
    "SelmodelResult": "metareview.models.selmodel",
    "SelmodelRegResult": "metareview.models.selmodel",
    "selmodel": "metareview.models.selmodel",
    "GradeOutcome": "metareview.appraisal.grade",
    "set_rating": "metareview.appraisal.grade_store",
    "sof_table": "metareview.appraisal.sof",
    "write_sof": "metareview.appraisal.sof",
    "influence": "metareview.models.influence",
    "baujat": "metareview.models.influence",
    "cumul": "metareview.models.cumul",
    "permutest": "metareview.models.permutest",
    "confint": "metareview.models.confint",
    "GoshResult": "metareview.models.gosh",
    "gosh": "metareview.models.gosh",
    "gosh_plot": "metareview.report.gosh_plot",
    "FsnResult": "metareview.models.publication",
    "TesResult": "metareview.models.publication",
    "fsn": "metareview.models.publication",
    "tes": "metareview.models.publication",
    "blup": "metareview.models.blup",
    "ranef": "metareview.models.blup",
    "HCResult": "metareview.models.hc",
    "hc": "metareview.models.hc",
    "ProfileResult": "metareview.models.profile",
    "profile": "metareview.models.profile",
    "llplot_data": "metareview.models.llplot",
    "llplot": "metareview.report.llplot",
    "AnovaResult": "metareview.models.anova",
    "anova": "metareview.models.anova",
    "matreg": "metareview.models.matreg",
    "profile_mv": "metareview.models.profile_mv",
}

__all__ = [
    "MEASURE_INFO",
    "MEASURE_NAMES",
    "METHODS",
    "METHOD_NAMES",
    "TESTS",
    "AnovaResult",
    "ConvergenceError",
    "ConvergenceWarning",
    "FsnResult",
    "GLMMResult",
    "GoshResult",
    "GradeOutcome",
    "HCResult",
    "InputError",
    "MHResult",
    "MeasureInfo",
    "MetareviewError",
    "MetareviewWarning",
    "NotComputable",
    "PoolOutcome",
    "ProfileResult",
    "Project",
    "Protocol",
    "ProtocolError",
    "PublishedCheck",
    "RMAMVResult",
    "RMAResult",
    "RanktestResult",
    "RegResult",
    "RegtestResult",
    "ReviewResult",
    "RobustResult",
    "SelmodelRegResult",
    "SelmodelResult",
    "SourceError",
    "StoreError",
    "StudyData",
    "SubgroupResult",
    "TesResult",
    "TrimfillResult",
    "__version__",
    "analyse_project",
    "anova",
    "baujat",
    "blup",
    "bundled_example",
    "check_published",
    "confint",
    "cumul",
    "display_transform",
    "escalc",
    "forest_plot",
    "fsn",
    "funnel_plot",
    "gosh",
    "gosh_plot",
    "hc",
    "influence",
    "leave1out",
    "llplot",
    "llplot_data",
    "load_protocol",
    "load_studies",
    "matreg",
    "measure_info",
    "parse_protocol",
    "permutest",
    "pool_file",
    "profile",
    "profile_mv",
    "ranef",
    "ranktest",
    "regtest",
    "rma",
    "rma_batch",
    "rma_glmm",
    "rma_mh",
    "rma_mv",
    "rma_peto",
    "rma_reg",
    "robust",
    "run_folder",
    "selmodel",
    "set_rating",
    "sof_table",
    "subgroup",
    "tes",
    "trimfill",
    "vcalc",
    "write_report",
    "write_sof",
]
__getattr__, __dir__ = attach(__name__, _EXPORTS)
