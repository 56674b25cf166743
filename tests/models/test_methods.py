"""The pooling vocabulary (``metareview.models.methods``) and the modules that derive from it.

Codes are metafor 3.8's (``?rma.uni`` method= and test=, ``?rma.mh``, ``?rma.peto``).
"""

from __future__ import annotations

import pytest

from metareview.errors import InputError
from metareview.models import (
    COMMON_EFFECT_METHODS,
    EXTRA_RE_METHODS,
    METHOD_NAMES,
    METHODS,
    POOLING_METHODS,
    RE_METHODS,
    TESTS,
    method_name,
    rma,
)
from metareview.protocol import ModelSettings


def test_the_lists_fit_together() -> None:
    assert ("EE", "FE", *RE_METHODS) == METHODS
    assert (*METHODS, "MH", "PETO", *EXTRA_RE_METHODS) == POOLING_METHODS
    assert TESTS == ("z", "t", "knha")
    assert set(METHOD_NAMES) == set(POOLING_METHODS)
    assert set(POOLING_METHODS) - set(RE_METHODS) - set(EXTRA_RE_METHODS) <= COMMON_EFFECT_METHODS
    assert method_name("dl") == "DerSimonian–Laird" and method_name("XYZ") == "XYZ"


@pytest.mark.parametrize("method", METHODS)
def test_rma_accepts_every_method(method: str) -> None:
    res = rma([-0.5, -0.2, -0.9, 0.1], [0.04, 0.09, 0.05, 0.1], method=method)
    assert res.method == method


def test_protocol_takes_its_lists_from_models() -> None:
    for method in POOLING_METHODS:
        assert ModelSettings(method=method.lower()).method == method
    for test in TESTS:
        assert ModelSettings(test=test).test == test
    with pytest.raises(ValueError, match="unknown method 'XYZ'; use one of EE, FE, DL"):
        ModelSettings(method="XYZ")
    with pytest.raises(ValueError):
        ModelSettings(test="wald")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="choose one of z, t, knha"):
        rma([0.1, 0.2], [0.01, 0.02], test="wald")


def test_extra_estimators_are_offered_for_pooling_and_by_the_batch_core() -> None:
    """HSk and PMM are pooling methods of a protocol and of ``pool``, and the batch core
    (``rma_batch``: ``pool --by``, subgroups, leave-one-out) fits both; GENQ/GENQM, which need
    study weights, it refuses with a clear error instead of "unknown method"."""
    import pandas as pd

    from metareview.models import rma_batch

    for m in EXTRA_RE_METHODS:
        assert m in POOLING_METHODS and m in METHOD_NAMES
        assert ModelSettings(method=m.lower()).method == m
    d = pd.DataFrame({"g": [1, 1, 1], "yi": [0.1, 0.3, 0.2], "vi": [0.01, 0.02, 0.03]})
    for m in EXTRA_RE_METHODS:
        assert rma_batch(d, by="g", method=m)["tau2"].notna().all()
    with pytest.raises(InputError, match="rma\\(\\) and rma_reg\\(\\) only"):
        rma_batch(d, by="g", method="GENQ")


def test_metafor_spelling() -> None:
    """metafor's rma() matches method= case-sensitively ("HSk"; ?rma.uni)."""
    from metareview.models.methods import metafor_method

    assert metafor_method("HSK") == "HSk" and metafor_method("PMM") == "PMM"
    assert metafor_method("REML") == "REML"


def test_protocol_takes_hsk_and_pmm_where_the_batch_core_refits() -> None:
    """Leave-one-out and subgroup analyses refit through the batch core, which has HSk and PMM:
    the protocol accepts both with them."""
    loo = {"name": "loo", "leave1out": True}
    for m in ("HSk", "pmm"):
        s = ModelSettings(method=m, sensitivity=[loo], subgroups=[{"name": "s", "by": "x"}],
                          rob_subgroup=True)
        assert s.method == m.upper()


@pytest.mark.parametrize("method", ["HSk", "PMM"])
def test_one_study_with_an_extra_estimator(method: str) -> None:
    """k = 1: metafor 3.8-1 ``rma(0.3, 0.04, method = "PMM", test = "knha")`` keeps the method,
    sets test = "z" (with a warning) and tau^2 = 0: the estimate is the study's (0.3, se 0.2)."""
    from metareview.errors import MetareviewWarning

    with pytest.warns(MetareviewWarning, match="k = 1"):
        r = rma([0.3], [0.04], method=method, test="knha")
    assert (r.method, r.test, r.tau2, r.beta, r.se) == (method, "z", 0.0, 0.3, pytest.approx(0.2))
