"""The vocabulary of pooling: tau² estimators, tests of the pooled estimate, and their names.

The one owner of these lists (the protocol, the command line and the HTML report derive theirs
from here). Plain constants, no numerical imports, so reading a protocol does not load SciPy.

Names and codes are metafor's (``?rma.uni``: ``method``, ``test``; ``?rma.mh``, ``?rma.peto``).
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "COMMON_EFFECT_METHODS",
    "EXTRA_RE_METHODS",
    "METHODS",
    "METHOD_NAMES",
    "POOLING_METHODS",
    "RE_METHODS",
    "TESTS",
    "TestName",
    "metafor_method",
    "method_name",
]

#: Every ``method`` of :func:`~metareview.models.rma` (metafor's ``rma.uni``; ``FE`` is metafor's
#: alias of ``EE``).
METHODS: tuple[str, ...] = ("EE", "FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
#: The random-effects estimators of tau².
RE_METHODS: tuple[str, ...] = ("DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
#: Estimators beyond metafor's classic list (:mod:`metareview.models.estimators` for
#: ``rma_reg``; the batch core has both) that need no input but the effects: metafor's ``HSk``
#: (Hunter-Schmidt with the small-sample correction) and ``PMM`` (median-unbiased Paule-Mandel),
#: upper-cased as every code here. GENQ/GENQM are left out: they need study weights, which
#: neither a protocol nor ``pool`` has.
EXTRA_RE_METHODS: tuple[str, ...] = ("HSK", "PMM")
#: Every way of pooling a review can ask for: the ``rma`` estimators plus Mantel-Haenszel
#: (:func:`~metareview.models.rma_mh`) and Peto (:func:`~metareview.models.rma_peto`).
POOLING_METHODS: tuple[str, ...] = (*METHODS, "MH", "PETO", *EXTRA_RE_METHODS)
#: The methods that fit a common (equal, fixed) effect, without tau² ("CE" is metafor 4's name
#: for EE, accepted when a fitted model from elsewhere is displayed).
COMMON_EFFECT_METHODS: frozenset[str] = frozenset({"EE", "FE", "CE", "MH", "PETO"})

#: A test (and CI) of the pooled estimate: normal, t with k - p df, or Knapp-Hartung.
TestName = Literal["z", "t", "knha"]
#: The tests of the pooled estimate (metafor's ``test=``).
TESTS: tuple[TestName, ...] = get_args(TestName)

#: How a report names each pooling method.
METHOD_NAMES: dict[str, str] = {
    "DL": "DerSimonian–Laird",
    "REML": "restricted maximum likelihood (REML)",
    "ML": "maximum likelihood",
    "PM": "Paule–Mandel",
    "HS": "Hunter–Schmidt",
    "SJ": "Sidik–Jonkman",
    "HE": "Hedges",
    "EB": "empirical Bayes",
    "HSK": "Hunter–Schmidt, small-sample corrected",
    "PMM": "median-unbiased Paule–Mandel",
    "EE": "common (equal) effect",
    "FE": "common (fixed) effect",
    "MH": "Mantel–Haenszel common effect",
    "PETO": "Peto common effect",
}

def method_name(method: str) -> str:
    """The display name of ``method`` (any case); the code itself when it is not one we know."""
    return METHOD_NAMES.get(str(method).upper(), method)


def metafor_method(method: str) -> str:
    """``method`` as metafor's ``rma(method=)`` spells it (its match is case-sensitive):
    ``HSK`` (any case) -> ``"HSk"``; any other ``method`` is returned as it is."""
    return "HSk" if str(method).upper() == "HSK" else method
