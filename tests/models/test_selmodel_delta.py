"""selmodel(delta=...) and selmodel(prec=...) against metafor 3.8.1's ``selmodel``.

``delta``: some or all selection parameters fixed (``NA`` = estimated). ``prec``: a measure of
precision (``"sei"``, ``"vi"``, ``"ninv"``, ``"sqrtninv"``, with ``scaleprec``) in the halfnorm,
negexp, logistic and power selection functions (and metafor's experimental stepfun variant).
Goldens from scripts/goldens/selmodel_delta.R (tests/data/goldens_selmodel_delta.json), fitted
at the tight control of scripts/goldens/selmodel_tight.R (optim BFGS reltol 1e-14, gradient
steps ``ndeps`` 1e-6 for step functions and 1e-5 for the integrals, ``integrate()`` rel.tol
1e-12), so every field is compared at 1e-6: dat.hackshaw1998 (stepfun with steps partly fixed,
a first delta other than 1, two-sided; beta with one delta fixed; halfnorm and power fixed;
negexp with ``delta=NA``; each prec), the Vevea & Woods (2005) sensitivity analysis of
metafor's ``selmodel`` help (dat.cohen1981, the four selection functions of their Table 1,
printed at digits 3) and one on dat.hackshaw1998, ``prec="ninv"``/``"sqrtninv"`` on
dat.cohen1981 and dat.bcg, and meta-regressions on dat.bcg and dat.baskerville2012. The errors
for a ``delta`` of the wrong length or out of bounds carry metafor's messages.

Measured (this file's comparisons): every field within 1e-6 relative (or the absolute scales
of ``test_matches_metafor``); the log likelihoods ``ll`` to 1e-13. The largest relative gaps are
in ``LRT`` near 0 (cohen1981, 1.1e-5 relative of 0.055, 6e-7 absolute): metafor's ``ll0`` is
its ``rma(method = "ML")`` fit at the default convergence threshold, 3.2e-7 below the maximum
(with ``control = list(threshold = 1e-12)`` metafor's logLik is ours, 0.828859348417799, to
1e-14).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num
from scipy import stats

from metareview.errors import InputError
from metareview.models import SelmodelRegResult, SelmodelResult, rma, rma_reg, selmodel

GOLDENS = load_goldens("goldens_selmodel_delta.json")
CASES = GOLDENS["cases"]
TOL = 1e-6
#: a flat likelihood (delta 0.65 with SE 2.85): metafor's tight fit stops 1.0e-6 (relative) short
#: in delta; ours agrees with metafor's likelihood maximised by Newton steps to 4e-10
#: (tests/models/test_selmodel_polished.py)
CASE_TOL = {"cohen1981_halfnorm_prec_sqrtninv": 2e-6}
FIELDS = (
    "tau2",
    "se_tau2",
    "ci_lb_tau2",
    "ci_ub_tau2",
    "delta",
    "se_delta",
    "zval_delta",
    "pval_delta",
    "ci_lb_delta",
    "ci_ub_delta",
    "LRT",
    "LRT_tau2",
    "ll",
    "ll0",
    "QM",
    "logLik",
    "deviance",
    "AIC",
    "BIC",
    "AICc",
)


def _options(case: dict[str, Any]) -> dict[str, Any]:
    """The selmodel() options of the case, R's NA in ``delta`` as NaN (= estimated), with
    the sample sizes of ``prec="ninv"``/``"sqrtninv"``."""
    opts = dict(case["options"] or {})
    if "delta" in opts:
        opts["delta"] = np.atleast_1d(num(opts["delta"])).tolist()
    if "ni" in case:  # metafor reads them from rma(..., ni = ); ours takes them here
        opts["ni"] = case["ni"]
    return opts


def _fit(case: dict[str, Any]) -> SelmodelResult | SelmodelRegResult:
    yi, vi = np.array(case["yi"], float), np.array(case["vi"], float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "mods" in case:
            names = np.atleast_1d(case["mod_names"]).tolist()
            mods = pd.DataFrame(dict(zip(names, case["mods"], strict=True)))
            res: Any = rma_reg(yi, vi, mods=mods, method=case["rma_method"])
        else:
            res = rma(yi, vi, method=case["rma_method"])
        return selmodel(res, case["type"], **_options(case))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_metafor(case: dict[str, Any]) -> None:
    """Every field of metafor's selmodel(..., delta = ...) for this case at 1e-6: the
    coefficients with SE, z and CI, tau^2 with SE and CI, the deltas (NaN SE, z, p and CI for
    the fixed ones, metafor's NA), ``delta_fix``, ``LRT`` on the number of free deltas
    (``LRTp`` NaN at 0 df, as metafor's NA), the heterogeneity LRT and the fit statistics
    (``parms`` counting only free deltas). Values that are 0 in exact arithmetic get an
    absolute tolerance of TOL times the scale of their neighbours (coefficients: |beta| +
    3 SE; delta CIs and z: the deltas and their SEs; tau^2: its SE; QM: QM + 2 sqrt(QM) + 1);
    ``LRT`` one of TOL (a difference of log likelihoods)."""
    sav = _fit(case)
    want = case["result"]
    assert sav.k == want["k"]
    assert sav.LRTdf == want["LRTdf"]
    assert list(sav.delta_fix) == list(np.atleast_1d(want["delta_fix"]))
    if case["type"] == "stepfun":
        assert list(sav.ptable or ()) == [int(x) for x in np.atleast_1d(want["ptable"])]
    beta, se = np.atleast_1d(sav.beta), np.atleast_1d(sav.se)
    coef_scale = TOL * (np.abs(beta) + 3 * se)
    for name in ("beta", "se", "zval", "ci_lb", "ci_ub"):
        got = np.atleast_1d(np.asarray(getattr(sav, name), float))
        w = np.atleast_1d(num(want[name]))
        atol = {"se": 0.0, "zval": TOL * (np.abs(got) + 3)}.get(name, coef_scale)
        assert not (np.abs(got - w) > TOL * np.abs(w) + atol).any(), (name, got, w)
    if isinstance(sav, SelmodelRegResult):
        vb = np.array(want["vb"], float)
        sd = np.sqrt(np.diag(vb))
        np.testing.assert_allclose(sav.vb, vb, rtol=TOL, atol=TOL * np.outer(sd, sd).max())
    free_se = np.nanmax(sav.se_delta) if not all(sav.delta_fix) else 0.0
    # the LRT p-values through the statistics (compared below): NaN at 0 df as metafor's NA
    assert np.isnan(sav.LRTp) == np.isnan(num(want["LRTp"]))
    if sav.LRTdf:
        assert sav.LRTp == pytest.approx(stats.chi2.sf(sav.LRT, sav.LRTdf), rel=1e-12)
    for name in FIELDS:
        w = np.atleast_1d(num(want[name]))
        if name == "LRT_tau2" and "LRT_tau2_refit" in case:
            # metafor's own tau^2 = 0 refit failed inside try() (NA); the golden holds the
            # same refit called as selmodel(..., tau2 = 0) (scripts/goldens/selmodel_delta.R)
            w = np.atleast_1d(num(case["LRT_tau2_refit"]))
        got = np.atleast_1d(np.asarray(getattr(sav, name), dtype=float))
        assert got.shape == w.shape, name
        assert (np.isnan(got) == np.isnan(w)).all(), (name, got, w)
        ok = ~np.isnan(w)
        atol = 1e-9
        if name in ("tau2", "ci_lb_tau2"):
            atol = max(atol, TOL * float(num(want["se_tau2"])))
        if name in ("zval_delta", "ci_lb_delta", "ci_ub_delta"):
            atol = TOL * (float(np.nanmax(np.abs(sav.delta))) + 3 * free_se)
        if name in ("LRT", "LRT_tau2"):
            atol = TOL
        if name == "QM":  # z^2 of a z near 0: the scale of z
            atol = TOL * (sav.QM + 2 * np.sqrt(sav.QM) + 1)
        if name == "pval_delta":
            atol = 1e-7  # a p-value moves by rtol * z * phi(z) / p: compared absolutely
        np.testing.assert_allclose(got[ok], w[ok], rtol=CASE_TOL.get(case["name"], TOL),
                                   atol=atol, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_summary_as_metafor_prints(case: dict[str, Any]) -> None:
    """summary() is metafor's print() (R's curly quotes aside): fixed deltas as ``---`` with
    no significance code, ``LRT(df = 0) = ..., p-val = NA`` when every delta is fixed, an
    empty interval's ``k = 0`` row, at the digits of the input fit (3 for the cohen1981
    example of metafor's help)."""
    printed = case["printed"].replace("\u2018", "'").replace("\u2019", "'")
    digits = case.get("digits") or 4
    got = _fit(case).summary(digits=digits)
    if "LRT_tau2_refit" in case:  # metafor's NA heterogeneity LRT prints no such block
        lines = got.split("\n")
        at = lines.index("Test for Residual Heterogeneity:")
        got = "\n".join(lines[:at] + lines[at + 3 :])
    assert got == printed


def test_all_free_is_the_default_fit() -> None:
    """``delta=[1, None, None]`` for stepfun is the default fit (metafor sets an NA first delta
    to 1), and ``delta=None`` for the beta model is the default."""
    case = next(c for c in CASES if c["name"] == "hackshaw1998_stepfun3_delta_1_NA_NA")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = selmodel(res, "stepfun", steps=[0.025, 0.5])
        b = selmodel(res, "stepfun", steps=[0.025, 0.5], delta=[1, None, None])
        c = selmodel(res, "stepfun", steps=[0.025, 0.5], delta=[float("nan")] * 3)
    assert a.to_dict() == b.to_dict() == c.to_dict()
    assert a.delta_fix == (True, False, False)


@pytest.mark.parametrize(
    "err", GOLDENS["errors"], ids=[e["message"][:40] for e in GOLDENS["errors"]]
)
def test_bad_delta_as_metafor(err: dict[str, Any]) -> None:
    """A ``delta`` of the wrong length or out of the type's bounds: InputError with metafor's
    message (field ``delta``); an empty interval whose delta is estimated: InputError on
    ``steps`` (metafor: "One or more intervals do not contain any observed p-values")."""
    case = next(c for c in CASES if c["name"] == "hackshaw1998_stepfun3_delta_1_NA_NA")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    opts = dict(err["options"])
    opts["delta"] = np.atleast_1d(num(opts["delta"])).tolist()
    with pytest.raises(InputError) as info:
        selmodel(res, err["type"], **opts)
    if err["message"].startswith("One or more intervals"):
        assert info.value.field == "steps" and "no observed p-value" in str(info.value)
    else:
        assert info.value.field == "delta"
        assert err["message"] in str(info.value)


def test_prec_warnings_and_errors() -> None:
    """The beta model ignores ``prec`` with metafor's warning (the fit is the one without);
    stepfun takes it with metafor's "undocumented and experimental" warning; an unknown
    ``prec`` or ``"ninv"`` without sample sizes: InputError."""
    from metareview.errors import MetareviewWarning

    case = next(c for c in CASES if c["name"] == "hackshaw1998_beta_delta_NA_1")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    with pytest.warns(MetareviewWarning, match="'prec' ignored"):
        a = selmodel(res, "beta", prec="sei", delta=[None, 1])
    b = selmodel(res, "beta", delta=[None, 1])
    assert a.to_dict() == b.to_dict()
    with pytest.warns(MetareviewWarning, match="undocumented and experimental"):
        selmodel(res, "stepfun", steps=0.025, prec="sei")
    with pytest.raises(InputError) as info:
        selmodel(res, "halfnorm", prec="se")
    assert info.value.field == "prec"
    with pytest.raises(InputError) as info:
        selmodel(res, "halfnorm", prec="ninv")
    assert info.value.field == "ni"


def test_fixed_zero_weight_on_observed_interval() -> None:
    """A step weight fixed at 0 for an interval that holds p-values makes the likelihood 0
    (metafor's optim stops with an error there): an InputError on ``delta``."""
    case = next(c for c in CASES if c["name"] == "hackshaw1998_stepfun3_delta_1_NA_NA")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    with pytest.raises(InputError, match="at 0") as info:
        selmodel(res, "stepfun", steps=[0.025, 0.5], delta=[1, 0, None])
    assert info.value.field == "delta"
    with pytest.raises(InputError, match="finite"):
        selmodel(res, "halfnorm", delta=float("inf"))


@pytest.mark.parametrize(
    "warn", GOLDENS["warnings"], ids=[str(w["options"]["delta"]) for w in GOLDENS["warnings"]]
)
def test_bound_warning_as_metafor(warn: dict[str, Any]) -> None:
    """metafor's warning that a delta is (almost) at its bound also fires for a fixed delta
    (after metafor moves a bound beyond a fixed value to that value + eps^0.2): a ConvergenceWarning
    exactly where metafor warned (scripts/goldens/selmodel_delta.R, "warnings")."""
    from metareview.errors import ConvergenceWarning

    case = next(c for c in CASES if c["name"] == "hackshaw1998_stepfun3_delta_1_NA_NA")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    opts = dict(warn["options"])
    opts["delta"] = np.atleast_1d(num(opts["delta"])).tolist()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selmodel(res, warn["type"], **opts)
    warned = any(
        issubclass(w.category, ConvergenceWarning) and "bound" in str(w.message) for w in caught
    )
    assert warned == warn["warned"]


def test_no_selection_when_delta_fixed_at_zero() -> None:
    """halfnorm with ``delta=0`` has ``w(p) = 1``: the selection model is the random-effects
    model, so beta, tau^2 and ll are rma(method="ML")'s (its log likelihood ll0, LRT 0, by hand);
    metafor 3.8.1 stops there instead (its start value maps a delta fixed at 0 to -Inf)."""
    case = next(c for c in CASES if c["name"] == "hackshaw1998_stepfun3_delta_1_NA_NA")
    res = rma(np.array(case["yi"], float), np.array(case["vi"], float), method="ML")
    with pytest.warns(UserWarning, match="bound"):
        sav = selmodel(res, "halfnorm", delta=0)
    assert sav.LRTdf == 0 and np.isnan(sav.LRTp) and sav.delta_fix == (True,)
    assert sav.beta == pytest.approx(res.beta, rel=1e-7)
    assert sav.tau2 == pytest.approx(res.tau2, rel=1e-6)
    assert sav.ll == pytest.approx(sav.ll0, rel=1e-12)
    assert abs(sav.LRT) < 1e-10
