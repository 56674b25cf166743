"""metareview.models.anova: the LRT of two nested fits against metafor 3.8-1's ``anova()``
(tests/data/metafor_examples_more.json, ``anova_bcg``: dat.bcg log risk ratios, with and
without ``ablat``, by ML, REML and EE; scripts/goldens/metafor_examples_more.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens, num

from metareview.effects import escalc
from metareview.errors import InputError, MetareviewWarning
from metareview.models import anova, rma, rma_reg

D = load_goldens("metafor_examples_data.json")
G = load_goldens("metafor_examples_more.json")["anova_bcg"]
BCG = escalc("RR", pd.DataFrame(D["bcg"]), ai="tpos", bi="tneg", ci="cpos", di="cneg")


@pytest.mark.parametrize("method", ["ML", "REML", "EE"])
def test_matches_metafor(method: str) -> None:
    full = rma_reg("yi", "vi", mods="ablat", data=BCG, method=method)
    red = rma("yi", "vi", data=BCG, method=method)
    if method == "REML":
        with pytest.warns(MetareviewWarning, match="REML comparisons"):
            a = anova(red, full)  # either order
    else:
        a = anova(red, full)
    g = G[method]
    np.testing.assert_allclose(
        [a.LRT, a.pval, a.R2], num([g["LRT"], g["pval"], g["R2"]]), rtol=1e-6
    )
    assert list(a.table["df"]) == g["parms"]
    for row, key in (("Full", "f"), ("Reduced", "r")):
        np.testing.assert_allclose(
            a.table.loc[row, ["logLik", "AIC", "BIC", "AICc"]].to_numpy(dtype=float),
            [g[key]["ll"], g[key]["AIC"], g[key]["BIC"], g[key]["AICc"]],
            rtol=1e-6,
        )
    assert "Reduced" in str(a)


def test_refusals() -> None:
    ml = rma("yi", "vi", data=BCG, method="ML")
    with pytest.raises(InputError, match="same number of parameters"):
        anova(ml, ml)
    with pytest.raises(InputError, match=r"ML and REML|REML and ML"):
        anova(rma_reg("yi", "vi", mods="ablat", data=BCG, method="REML"), ml)
    with pytest.raises(InputError, match="equal-effects"):
        anova(
            rma_reg("yi", "vi", mods="ablat", data=BCG, method="EE"),
            rma("yi", "vi", data=BCG, method="DL", tau2=0.5),
        )
    other = BCG.assign(yi=BCG["yi"] + 1)
    with pytest.raises(InputError, match="same yi and vi"):
        anova(rma_reg("yi", "vi", mods="ablat", data=other, method="ML"), ml)
