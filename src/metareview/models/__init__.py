"""models stage of metareview: fixed- and random-effects meta-analysis as metafor's ``rma.uni``.

Public API::

    from metareview.models import rma, RMAResult, leave1out, rma_batch, rma_mh, rma_peto

``rma`` fits one meta-analysis; ``rma_batch`` fits one per group of a long table in a single array
computation; ``leave1out`` refits without each study in turn. All three share one batch core
(``metareview.models._core.fit_padded``), so each formula lives in one place. ``rma_mh`` and
``rma_peto`` pool 2x2 tables by Mantel-Haenszel's and Peto's methods.
"""

from metareview.models.batch import pad_groups, rma_batch
from metareview.models.leave1out import leave1out
from metareview.models.mh import MHResult, rma_mh, rma_peto
from metareview.models.rma import RMAResult, rma

__all__ = [
    "MHResult",
    "RMAResult",
    "leave1out",
    "pad_groups",
    "rma",
    "rma_batch",
    "rma_mh",
    "rma_peto",
]
