"""models stage of metareview: fixed- and random-effects meta-analysis as metafor's ``rma.uni``.

Public API::

    from metareview.models import rma, RMAResult, leave1out, rma_batch, rma_mh, rma_peto

``rma`` fits one meta-analysis; ``rma_batch`` fits one per group of a long table in a single array
computation; ``leave1out`` refits without each study in turn. All three share one batch core
(``metareview.models._core.fit_padded``), so each formula lives in one place. ``rma_mh`` and
``rma_peto`` pool 2x2 tables by Mantel-Haenszel's and Peto's methods. ``rma_reg`` fits a
meta-regression, ``subgroup`` pools within subgroups and tests their differences, and
``regtest``, ``ranktest`` and ``trimfill`` address small-study effects. ``rma_mv`` fits
multilevel and multivariate models (``vcalc`` builds their covariance matrices) and ``robust``
gives cluster-robust tests for ``rma``, ``rma_reg`` and ``rma_mv`` fits. ``fsn`` and ``tes`` are
file-drawer analyses, and ``gosh`` refits every subset of the studies (``backend="dask"`` for a
cluster, as ``rma_batch``). ``METHODS``, ``TESTS``
and ``METHOD_NAMES`` (:mod:`metareview.models.methods`) are the vocabulary of pooling.
``rma_glmm`` fits generalised linear mixed models to 2x2 tables, rates and proportions
(metafor's ``rma.glmm``); ``selmodel`` fits selection models for publication bias.

Names are loaded on first use (PEP 562), so ``from metareview.models import METHODS`` does not
import SciPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metareview._lazy import attach

if TYPE_CHECKING:
    from metareview.models.anova import AnovaResult, AnovaWaldResult, AnovaXbResult, anova
    from metareview.models.batch import pad_groups, rma_batch
    from metareview.models.blup import blup, ranef
    from metareview.models.confint import ConfintResult, confint
    from metareview.models.cumul import cumul
    from metareview.models.glmm import GLMMResult, rma_glmm
    from metareview.models.gosh import GoshResult, gosh
    from metareview.models.hc import HCResult, hc
    from metareview.models.influence import (
        BaujatResult,
        InfluenceResult,
        baujat,
        hatvalues,
        influence,
        rstandard,
        rstudent,
    )
    from metareview.models.leave1out import leave1out
    from metareview.models.llplot import LLPlotData, llplot_data
    from metareview.models.matreg import MatregResult, matreg
    from metareview.models.methods import (
        COMMON_EFFECT_METHODS,
        EXTRA_RE_METHODS,
        METHOD_NAMES,
        METHODS,
        POOLING_METHODS,
        RE_METHODS,
        TESTS,
        TestName,
        method_name,
    )
    from metareview.models.mh import MHResult, rma_mh, rma_peto
    from metareview.models.multilevel import RMAMVResult, rma_mv
    from metareview.models.permutest import PermutestResult, permutest
    from metareview.models.profile import ProfileResult, profile
    from metareview.models.profile_mv import ProfileMVResult, profile_mv
    from metareview.models.publication import FsnResult, TesResult, fsn, tes
    from metareview.models.published import PublishedCheck, check_published
    from metareview.models.regression import RegResult, model_matrix, rma_reg
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

#: Where each public name lives (module under ``metareview.models``).
_EXPORTS: dict[str, str] = {
    "COMMON_EFFECT_METHODS": "methods",
    "METHODS": "methods",
    "METHOD_NAMES": "methods",
    "POOLING_METHODS": "methods",
    "EXTRA_RE_METHODS": "methods",
    "RE_METHODS": "methods",
    "TESTS": "methods",
    "TestName": "methods",
    "method_name": "methods",
    "MHResult": "mh",
    "rma_mh": "mh",
    "rma_peto": "mh",
    "PublishedCheck": "published",
    "check_published": "published",
    "RMAResult": "rma",
    "rma": "rma",
    "RanktestResult": "smallstudy",
    "RegtestResult": "smallstudy",
    "TrimfillResult": "smallstudy",
    "ranktest": "smallstudy",
    "regtest": "smallstudy",
    "trimfill": "smallstudy",
    "RegResult": "regression",
    "model_matrix": "regression",
    "rma_reg": "regression",
    "SubgroupResult": "subgroup",
    "subgroup": "subgroup",
    "leave1out": "leave1out",
    "pad_groups": "batch",
    "rma_batch": "batch",
    "RMAMVResult": "multilevel",
    "rma_mv": "multilevel",
    "RobustResult": "robust",
    "robust": "robust",
    "vcalc": "vcalc",
    "GLMMResult": "glmm",
    "rma_glmm": "glmm",
    "SelmodelResult": "selmodel",
    "SelmodelRegResult": "selmodel",
    "selmodel": "selmodel",
    "BaujatResult": "influence",
    "InfluenceResult": "influence",
    "baujat": "influence",
    "hatvalues": "influence",
    "influence": "influence",
    "rstandard": "influence",
    "rstudent": "influence",
    "cumul": "cumul",
    "PermutestResult": "permutest",
    "permutest": "permutest",
    "ConfintResult": "confint",
    "confint": "confint",
    "GoshResult": "gosh",
    "gosh": "gosh",
    "FsnResult": "publication",
    "TesResult": "publication",
    "fsn": "publication",
    "tes": "publication",
    "blup": "blup",
    "ranef": "blup",
    "HCResult": "hc",
    "hc": "hc",
    "ProfileResult": "profile",
    "profile": "profile",
    "LLPlotData": "llplot",
    "llplot_data": "llplot",
    "AnovaResult": "anova",
    "anova": "anova",
    "AnovaWaldResult": "anova",
    "AnovaXbResult": "anova",
    "AnovaWaldListResult": "anova",
    "p_adjust": "anova",
    "MatregResult": "matreg",
    "ProfileMVResult": "profile_mv",
    "profile_mv": "profile_mv",
    "matreg": "matreg",
}

__all__ = [
    "COMMON_EFFECT_METHODS",
    "EXTRA_RE_METHODS",
    "METHODS",
    "METHOD_NAMES",
    "POOLING_METHODS",
    "RE_METHODS",
    "TESTS",
    "AnovaResult",
    "AnovaWaldListResult",
    "AnovaWaldResult",
    "AnovaXbResult",
    "BaujatResult",
    "ConfintResult",
    "FsnResult",
    "GLMMResult",
    "GoshResult",
    "HCResult",
    "InfluenceResult",
    "LLPlotData",
    "MHResult",
    "MatregResult",
    "PermutestResult",
    "ProfileMVResult",
    "ProfileResult",
    "PublishedCheck",
    "RMAMVResult",
    "RMAResult",
    "RanktestResult",
    "RegResult",
    "RegtestResult",
    "RobustResult",
    "SelmodelRegResult",
    "SelmodelResult",
    "SubgroupResult",
    "TesResult",
    "TestName",
    "TrimfillResult",
    "anova",
    "baujat",
    "blup",
    "check_published",
    "confint",
    "cumul",
    "fsn",
    "gosh",
    "hatvalues",
    "hc",
    "influence",
    "leave1out",
    "llplot_data",
    "matreg",
    "method_name",
    "model_matrix",
    "p_adjust",
    "pad_groups",
    "permutest",
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
    "rstandard",
    "rstudent",
    "selmodel",
    "subgroup",
    "tes",
    "trimfill",
    "vcalc",
]
__getattr__, __dir__ = attach(__name__, _EXPORTS)
