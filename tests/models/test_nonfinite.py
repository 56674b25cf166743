"""No silent NaN or inf: each degenerate input is a clear error or a finite result with a warning.

- Knapp-Hartung on identical effects: metafor sets s2w = 0 and reports zval = Inf; metareview
  uses s2w = 1 (finite, the unscaled variance) with a MetareviewWarning.
- Huge tau^2: inputs are bounded (|yi| <= 1e50, 1e-50 <= vi <= 1e50), so tau^2, I^2, H^2 and the
  Q-profile bounds stay finite at the extremes (checked here).
- Moderators of 1e200: InputError naming the moderator (X'WX would overflow).
- rma_mh on all-zero tables (metafor: NA estimate) and on counts of 1e300 (overflow): InputError;
  ``metareview pool --method MH`` prints it on one line and exits 2.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from metareview.errors import InputError, MetareviewWarning
from metareview.models import rma, rma_batch, rma_mh, rma_reg


def _finite(res: object, names: tuple[str, ...]) -> None:
    for n in names:
        val = getattr(res, n)
        assert val is not None and np.all(np.isfinite(val)), n


def test_knha_identical_studies_is_finite_with_warning() -> None:
    with pytest.warns(MetareviewWarning, match="Knapp-Hartung"):
        res = rma([0.5, 0.5, 0.5], [0.1, 0.2, 0.3], test="knha")
    _finite(res, ("zval", "se", "pval", "ci_lb", "ci_ub"))
    # s2w = 1: the variance is the unscaled 1/sum(w) (tau^2 = 0): 1/(10 + 5 + 10/3)
    assert res.se == pytest.approx(math.sqrt(1 / (10 + 5 + 10 / 3)), rel=1e-12)
    assert res.zval == pytest.approx(0.5 / res.se, rel=1e-12)


def test_knha_exact_meta_regression_is_finite_with_warning() -> None:
    with pytest.warns(MetareviewWarning, match="Knapp-Hartung"):
        res = rma_reg([1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.1], mods=[1, 2, 3, 4], test="knha")
    _finite(res, ("zval", "se", "pval", "ci_lb", "ci_ub"))


@pytest.mark.parametrize("method", ["DL", "REML", "PM", "EE"])
def test_extreme_but_allowed_scales_stay_finite(method: str) -> None:
    y, v = [0.0, 1e50, -3e49], [1e-50, 1e-50, 2e-50]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(y, v, method=method)
    _finite(res, ("beta", "se", "tau2", "I2", "H2", "QE"))
    if method != "EE":
        _finite(res, ("tau2_ci_lb", "tau2_ci_ub", "I2_ci_ub", "H2_ci_ub"))
    df = pd.DataFrame({"g": ["a"] * 3, "yi": y, "vi": v})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = rma_batch(df, by="g", method=method)
    for col in ("estimate", "tau2", "I2", "H2"):
        assert np.isfinite(out[col]).all(), col


def test_huge_moderators_are_an_error() -> None:
    with pytest.raises(InputError, match=r"moderator .mods.*rescale"):
        rma_reg([0.1, 0.3, 0.2, 0.5, 0.4], [0.1] * 5, mods=[1e200, 2e200, 3e200, 4e200, 6e200])
    df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.1] * 4, "dose": [1e150, 2, 3, 4]})
    with pytest.raises(InputError) as exc:
        rma_reg("yi", "vi", mods="dose", data=df)
    assert exc.value.field == "dose"


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mh_all_zero_tables_are_an_error(measure: str) -> None:
    """metafor's rma.mh returns NA (OR, RR) here; metareview says why."""
    with pytest.raises(InputError, match="cannot be computed: no events"):
        rma_mh(ai=[0, 0], bi=[10, 12], ci=[0, 0], di=[9, 11], measure=measure)


def test_mh_all_cells_zero_is_an_error() -> None:
    with pytest.raises(InputError):
        rma_mh(ai=[0, 0], bi=[0, 0], ci=[0, 0], di=[0, 0], measure="OR")


def test_mh_huge_counts_are_an_error() -> None:
    with pytest.raises(InputError, match="above 1e\\+15") as exc:
        rma_mh(ai=[1e300, 1e300], bi=[1e300, 1e300], ci=[1e300, 1e300], di=[1e300, 1e300])
    assert exc.value.row == 1


def test_mh_rates_without_events_is_an_error() -> None:
    with pytest.raises(InputError, match="no events"):
        rma_mh(x1i=[0, 0], x2i=[0, 0], t1i=[100, 120], t2i=[90, 110], measure="IRR")


def test_cli_pool_mh_all_zero_exits_2(tmp_path, capsys) -> None:
    from metareview.cli import main

    f = tmp_path / "zero.csv"
    f.write_text("study,ai,bi,ci,di\nA,0,10,0,12\nB,0,8,0,9\n", encoding="utf-8")
    code = main(["pool", str(f), "--measure", "OR", "--method", "MH"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no events" in err
