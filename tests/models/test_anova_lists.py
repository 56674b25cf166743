"""metareview.models.anova with ``btt`` a list of sets (metafor 3.8-1's ``anova(res,
btt=list(...))``, ``list.anova.rma``) and ``adjust=`` (metafor >= 4.0), against
tests/data/goldens_anova.json (``list_cases``, ``adjust_cases``; ``Rscript
scripts/goldens/anova.R``). metafor 3.8.1 has no ``adjust``: the adjusted references are R's
``p.adjust(p, method)`` of metafor 3.8.1's p-values, which is what metafor 4's ``adjust`` does
(QMp of the sets, pval of the rows of X). Tolerance rtol 1e-6 (the rma.mv fits' components are
optimised independently on both sides); p_adjust on fixed inputs at 1e-12.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from goldens_helpers import load_goldens, num
from test_anova_wald import _fit

from metareview.errors import InputError
from metareview.models import anova, p_adjust
from metareview.models.anova import P_ADJUST, AnovaWaldListResult, AnovaXbResult

G = load_goldens("goldens_anova.json")
LISTS: dict[str, Any] = G["list_cases"]
ADJ: dict[str, Any] = G["adjust_cases"]


def _sets(btt: list[Any], char_vector: bool = False) -> list[Any]:
    """metafor's 1-based sets -> 0-based lists; a name -> a set of one name. A case made with a
    character vector (``char_vector``: metafor's ``btt=c("a", "b")``, which it turns into
    ``as.list(btt)``) is called as ours is, with the flat list of strings."""
    if char_vector:
        return list(btt)
    return [[b] if isinstance(b, str) else [int(x) - 1 for x in np.atleast_1d(b)] for b in btt]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_btt_list_matches_metafor(name: str) -> None:
    """metafor: ``anova(res, btt=list(...))`` of the case (scripts/goldens/anova.R)."""
    g = LISTS[name]
    a = anova(_fit(g["fit"]), btt=_sets(g["btt"], bool(g.get("char_vector"))))
    assert isinstance(a, AnovaWaldListResult)
    assert list(a.specs) == list(g["specs"])
    np.testing.assert_allclose([t.QM for t in a.tests], num(g["QM"]), rtol=1e-6)
    np.testing.assert_allclose([t.QMp for t in a.tests], num(g["QMp"]), rtol=1e-6)
    for t, b, df in zip(a.tests, g["btts"].values(), g["QMdf"].values(),
                            strict=True):
        assert [x + 1 for x in t.btt] == list(np.atleast_1d(b))
        ref_df = np.atleast_1d(num(df))
        assert t.QMdf[0] == ref_df[0]
        assert (t.QMdf[1] is None) == bool(np.isnan(ref_df[1]))
    assert a.summary() == g["print"]
    for method in P_ADJUST:
        adj = anova(_fit(g["fit"]), btt=_sets(g["btt"], bool(g.get("char_vector"))),
                    adjust=method)
        assert isinstance(adj, AnovaWaldListResult) and adj.adjust == method
        np.testing.assert_allclose([t.QMp for t in adj.tests], num(g["adjusted"][method]),
                                   rtol=1e-6, err_msg=method)
        np.testing.assert_allclose(adj.QMp_raw, num(g["QMp"]), rtol=1e-6)
    json.dumps(a.to_dict())


@pytest.mark.parametrize("name", sorted(ADJ))
def test_adjust_x_rows_as_p_adjust(name: str) -> None:
    """metafor 4: ``anova(res, X=, adjust=)`` adjusts each row's pval; the omnibus QMp not."""
    g = ADJ[name]
    res = _fit(g["fit"])
    for method in P_ADJUST:
        a = anova(res, X=np.array(g["X"], dtype=float), adjust=method)
        assert isinstance(a, AnovaXbResult) and a.adjust == method
        np.testing.assert_allclose(np.log(a.pval), np.log(num(g["adjusted"][method])),
                                   rtol=1e-6, err_msg=method)
        np.testing.assert_allclose(a.QMp, num(g["QMp"]), rtol=1e-6)


def test_p_adjust_by_hand() -> None:
    """Hand calculation (p sorted: 0.01, 0.02, 0.03, 0.04; n = 4), as R's p.adjust:
    bonferroni 4p; holm cummax((5 - i) p) = .04, .06, .06, .06; hochberg cummin from the top of
    (5 - i) p = .04, .04, .04, .04; BH cummin from the top of 4/i p = .04 each; BY = BH *
    (1 + 1/2 + 1/3 + 1/4); hommel .04 each (R: p.adjust(c(.04,.01,.03,.02), "hommel"))."""
    p = [0.04, 0.01, 0.03, 0.02]
    np.testing.assert_allclose(p_adjust(p, "bonferroni"), [0.16, 0.04, 0.12, 0.08], rtol=1e-12)
    np.testing.assert_allclose(p_adjust(p, "holm"), [0.06, 0.04, 0.06, 0.06], rtol=1e-12)
    np.testing.assert_allclose(p_adjust(p, "hochberg"), [0.04] * 4, rtol=1e-12)
    np.testing.assert_allclose(p_adjust(p, "BH"), [0.04] * 4, rtol=1e-12)
    np.testing.assert_allclose(p_adjust(p, "BY"), [0.04 * 25 / 12] * 4, rtol=1e-12)
    np.testing.assert_allclose(p_adjust(p, "hommel"), [0.04] * 4, rtol=1e-12)
    np.testing.assert_allclose(p_adjust([0.5, np.nan, 0.6], "bonferroni"), [1.0, np.nan, 1.0])


def test_adjust_errors_and_aliases() -> None:
    g = LISTS["bcg_list_2_3"]
    res = _fit(g["fit"])
    with pytest.raises(InputError, match="unknown adjust"):
        anova(res, btt=[[1], [2]], adjust="sidak")
    with pytest.raises(InputError, match="rhs cannot"):
        anova(res, btt=[[1], [2]], rhs=0)
    with pytest.raises(InputError, match="empty"):
        anova(res, btt=[[1], []])
    a = anova(res, btt=[[1], [2]], adjust=True)
    b = anova(res, btt=[[1], [2]], adjust="bonf")
    assert isinstance(a, AnovaWaldListResult) and isinstance(b, AnovaWaldListResult)
    assert a.adjust == b.adjust == "bonferroni"
