"""permutest() against metafor 3.8-1's ``permutest.rma.uni``.

Exact tests (goldens, tests/data/goldens_diagnostics.json from scripts/goldens/diagnostics.R,
``permutest(res, exact=TRUE)``): dat.bcg REML and DL+knha (2^13 = 8192 sign flips), dat.normand1999
DL (2^9), and dat.bcg rows 1-6 with ablat (6!/2! = 360 distinct permutations: ablat = 44 twice).
They must agree exactly (a p-value is a count over the permutations). The random test with a seed
agrees with the exact p-value within Monte-Carlo error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from diag_goldens import FITS, fit

from metareview.errors import InputError
from metareview.models import permutest, rma
from metareview.models.permutest import _distinct_permutations, _n_distinct

EXACT = sorted(f for f in FITS if "permutest_exact" in FITS[f])


@pytest.mark.parametrize("fid", EXACT)
def test_exact_permutation_test_matches_metafor(fid: str) -> None:
    g = FITS[fid]["permutest_exact"]
    res = permutest(fit(fid), exact=True)
    assert res.exact
    want = np.atleast_1d(np.asarray(g["pval"], dtype=float))
    # the same counts of permutations (the JSON holds 15 significant digits)
    np.testing.assert_array_equal(np.round(res.pval * res.iter), np.round(want * res.iter))
    np.testing.assert_allclose(res.pval, want, rtol=1e-14)
    assert round(res.QMp * res.iter) == round(g["QMp"] * res.iter)


def test_exact_iterations() -> None:
    """2^13 sign vectors for k = 13; 6!/2! arrangements of bcg rows 1-6 (hand arithmetic)."""
    assert permutest(fit("bcg_REML"), exact=True).iter == 8192
    assert permutest(fit("bcg6_ablat_REML"), exact=True).iter == 360
    # exact by default when the permutations fit in iter: 2^3 = 8 <= 1000
    small = permutest(rma([0.1, 0.4, 0.3], [0.01, 0.02, 0.03]))
    assert small.exact and small.iter == 8


def test_distinct_permutations_of_a_multiset() -> None:
    perms = list(_distinct_permutations(np.array([0, 0, 1, 2])))
    assert len(perms) == 12 == _n_distinct(np.array([0, 0, 1, 2]))  # 4!/2!
    assert len({tuple(p) for p in perms}) == 12


def test_random_test_within_monte_carlo_error() -> None:
    """bcg REML: the exact p-value is 12/8192 (metafor); 4000 random flips with a seed give a
    p-value within 4 binomial standard errors of it, and the same seed gives the same result."""
    res = fit("bcg_REML")
    p_exact = FITS["bcg_REML"]["permutest_exact"]["pval"]
    a = permutest(res, iter=4000, seed=1)
    assert not a.exact and a.iter == 4000
    se = math.sqrt(p_exact * (1 - p_exact) / 4000)
    assert abs(float(a.pval[0]) - p_exact) <= 4 * se + 1 / 4000
    b = permutest(res, iter=4000, seed=1)
    assert float(b.pval[0]) == float(a.pval[0])


def test_random_moderator_test_within_monte_carlo_error() -> None:
    res = fit("bcg6_ablat_REML")
    p_exact = FITS["bcg6_ablat_REML"]["permutest_exact"]["QMp"]
    a = permutest(res, iter=300, seed=7, exact=False)
    assert not a.exact
    se = math.sqrt(p_exact * (1 - p_exact) / 300)
    assert abs(a.QMp - p_exact) <= 4 * se + 1 / 300


def test_bad_iter() -> None:
    with pytest.raises(InputError, match="iter"):
        permutest(fit("bcg_REML"), iter=1)
