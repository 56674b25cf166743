"""metareview.models.profile (metafor's values compared in
tests/models/test_metafor_examples_more.py, raudenbush1985); here its definition."""

from __future__ import annotations

import numpy as np
import pytest

from metareview.errors import InputError
from metareview.models import confint, profile, rma
from metareview.models._refit import model_of
from metareview.models.confint import loglik_tau2

Y = np.array([0.10, -0.30, 0.45, 0.05, 0.22, 0.61, -0.12])
V = np.array([0.02, 0.05, 0.04, 0.01, 0.08, 0.03, 0.06])


def test_profile_curve() -> None:
    res = rma(Y, V)
    pr = profile(res, xlim=(0, 0.3), steps=31)
    m = model_of(res)
    np.testing.assert_allclose(pr.ll, [loglik_tau2(m, t) for t in pr.tau2])
    assert pr.maxll == pytest.approx(loglik_tau2(m, res.tau2))
    assert pr.ll.max() <= pr.maxll + 1e-12
    fixed = rma(Y, V, tau2=float(pr.tau2[10]))
    assert pr.table["beta"][10] == pytest.approx(fixed.beta)
    assert pr.table["ci_ub"][10] == pytest.approx(fixed.ci_ub)


def test_default_range_and_errors() -> None:
    res = rma(Y, V, method="ML")
    lb, ub = confint(res).tau2_ci
    pr = profile(res)
    assert pr.tau2[0] == pytest.approx(min(res.tau2, lb))
    assert pr.tau2[-1] == pytest.approx(max(0.1, res.tau2, ub))
    with pytest.raises(InputError, match="estimated tau"):
        profile(rma(Y, V, method="EE"))
    with pytest.raises(InputError, match="steps"):
        profile(res, steps=1)
