"""models stage of metareview: fixed- and random-effects meta-analysis as metafor's ``rma.uni``.

Public API::

    from metareview.models import rma, RMAResult, leave1out, rma_batch, rma_mh, rma_peto

``rma`` fits one meta-analysis; ``rma_batch`` fits one per group of a long table in a single array
computation; ``leave1out`` refits without each study in turn. All three share one batch core
(``metareview.models._core.fit_padded``), so each formula lives in one place. ``rma_mh`` and
``rma_peto`` pool 2x2 tables by Mantel-Haenszel's and Peto's methods. ``rma_reg`` fits a
meta-regression, ``subgroup`` pools within subgroups and tests their differences, and
``regtest``, ``ranktest`` and ``trimfill`` address small-study effects.
"""

from metareview.models.batch import pad_groups, rma_batch
from metareview.models.leave1out import leave1out
from metareview.models.mh import MHResult, rma_mh, rma_peto
from metareview.models.regression import RegResult, model_matrix, rma_reg
from metareview.models.rma import RMAResult, rma
from metareview.models.smallstudy import (
    RanktestResult,
    RegtestResult,
    TrimfillResult,
    ranktest,
    regtest,
    trimfill,
)
from metareview.models.subgroup import SubgroupResult, subgroup

__all__ = [
    "MHResult",
    "RMAResult",
    "RanktestResult",
    "RegResult",
    "RegtestResult",
    "SubgroupResult",
    "TrimfillResult",
    "leave1out",
    "model_matrix",
    "pad_groups",
    "ranktest",
    "regtest",
    "rma",
    "rma_batch",
    "rma_mh",
    "rma_peto",
    "rma_reg",
    "subgroup",
    "trimfill",
]
