"""fsn() and tes() against metafor 3.8's ``fsn()`` and ``tes()``.

Goldens: ``tests/data/goldens_gosh.json`` from ``scripts/goldens/gosh.R``: ``fsn(yi, vi, type =,
alpha =, weighted =, target =)`` and ``tes(yi, vi, test =, alternative =, tes.alternative =,
theta =, tau2 =)`` on dat.bcg (log risk ratios) and dat.molloy2014 (Fisher's z). metafor finds
``theta.lim`` with ``uniroot``'s default tolerance (about 1.2e-4); the script also stores the same
root refined by ``uniroot(tol = 1e-13)`` (``theta_lim_tight``), which we match at 1e-6.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from goldens_helpers import RTOL, load_goldens, num
from scipy.stats import norm

from metareview.errors import InputError
from metareview.models import fsn, rma, tes

G = load_goldens("goldens_gosh.json")


def _data(case: str) -> tuple[list[float], list[float]]:
    ds = G["datasets"][case.split("_")[0]]
    return ds["yi"], ds["vi"]


def _opt(x: Any) -> float | None:
    return None if x == "NA" else float(x)


@pytest.mark.parametrize("case", sorted(G["fsn"]))
def test_fsn_matches_metafor(case: str) -> None:
    want = G["fsn"][case]
    yi, vi = _data(case)
    got = fsn(yi, vi, **(want["args"] or {}))
    assert got.type == want["type"]
    assert got.fsnum == want["fsnum"]
    for name in ("pval", "meanes", "target"):
        w = _opt(want[name])
        g = getattr(got, name)
        assert (g is None) == (w is None), name
        if w is not None:
            assert g == pytest.approx(w, rel=RTOL), name


def test_fsn_by_hand() -> None:
    # Rosenthal: z_i = y_i / sqrt(v_i) = 2, 3, 1 -> z = 6 / sqrt(3); N = 3 (z / 1.644854)^2 - 3
    got = fsn([0.2, 0.3, 0.1], [0.01, 0.01, 0.01])
    assert got.fsnum == math.ceil(3 * (6 / math.sqrt(3) / 1.6448536269514722) ** 2 - 3)
    # Orwin: mean 0.2, target 0.1 -> N = 3 (0.2 - 0.1) / 0.1 = 3 exactly (not rounded up)
    assert fsn([0.2, 0.3, 0.1], type="Orwin").fsnum == 3
    assert fsn([0.2, 0.3, 0.1], type="orwin", target=0).fsnum == math.inf
    # a target of the other sign takes the sign of the mean (metafor)
    assert fsn([-0.2, -0.3, -0.1], type="Orwin", target=0.1).target == -0.1


# metafor's own tests (tests/testthat/test_misc_fsn.r of the metafor repository, Becker 2005's
# three data sets): Rosenthal, Orwin (unweighted and weighted, with a target), Rosenberg and the
# General method (metafor >= 4; its default approximate form).
BECKER = [
    ("raudenbush", {"type": "Rosenthal"}, 26),
    ("raudenbush", {"type": "Orwin", "target": 0.05}, 44),
    ("raudenbush", {"type": "Orwin", "target": 0.05, "weighted": True}, 4),
    ("raudenbush", {"type": "Rosenberg"}, 0),
    ("raudenbush", {"type": "General"}, 0),
    ("raudenbush", {"type": "General", "target": 0.05}, 12),
    ("hackshaw", {"type": "Rosenthal"}, 393),
    ("hackshaw", {"type": "Orwin", "target": 0.049}, 186),
    ("hackshaw", {"type": "Orwin", "target": 0.049, "weighted": True}, 104),
    ("hackshaw", {"type": "Rosenberg"}, 202),
    ("hackshaw", {"type": "General"}, 112),
    ("mcdaniel", {"type": "Rosenthal"}, 50364),
    ("mcdaniel", {"type": "Orwin", "target": 0.15}, 129),
    ("mcdaniel", {"type": "Orwin", "target": 0.15, "weighted": True}, 65),
    ("mcdaniel", {"type": "Rosenberg"}, 45528),
    ("mcdaniel", {"type": "General"}, 6068),
]


@pytest.mark.parametrize(("case", "args", "want"), BECKER)
def test_fsn_matches_metafors_own_tests(case: str, args: dict[str, Any], want: int) -> None:
    yi, vi = _data(case)
    assert fsn(yi, vi, **args).fsnum == want


def test_general_fsn_by_hand() -> None:
    # The General method's definition written out: N studies averaging 0 with the typical
    # variance vt = 1/mean(1/v); tau^2 updated as in fsn()'s docstring; N is the smallest count
    # with p >= alpha.
    yi, vi = _data("hackshaw")
    y, v = np.array(yi), np.array(vi)
    res = rma(y, v)
    k, est, tau2, vt = len(y), res.beta, res.tau2, 1 / np.mean(1 / v)

    def p_with(n: int) -> float:
        mu0 = k * est / (k + n)
        t = max(0.0, ((k - 1) * tau2 + max(0, n - 1) * tau2 + k * (est - mu0) ** 2
                      + n * mu0**2) / (k + n - 1))  # fmt: skip
        sw = np.sum(1 / (v + t)) + n / (vt + t)
        mu = np.sum(y / (v + t)) / sw
        return float(2 * norm.sf(abs(mu) * np.sqrt(sw)))

    n = next(n for n in range(10_000) if p_with(n) >= 0.05)
    got = fsn(y, v, type="General")
    assert got.fsnum == n
    assert got.pval_fsn == pytest.approx(p_with(n), rel=1e-10)
    assert got.ub_sign == "" and "General" in got.summary()


def test_fsn_bad_input() -> None:
    with pytest.raises(InputError, match="unknown type"):
        fsn([0.1, 0.2], [0.1, 0.1], type="REM")
    with pytest.raises(InputError, match="alpha"):
        fsn([0.1, 0.2], [0.1, 0.1], alpha=1.5)
    with pytest.raises(InputError):
        fsn([0.1, 0.2], [0.1, -0.1])


@pytest.mark.parametrize("case", sorted(G["tes"]))
def test_tes_matches_metafor(case: str) -> None:
    want = G["tes"][case]
    yi, vi = _data(case)
    args = {k.replace(".", "_"): v for k, v in (want["args"] or {}).items()}
    got = tes(yi, vi, **args)
    assert (got.k, got.O, got.test) == (want["k"], want["O"], want["test"])
    np.testing.assert_array_equal(got.sig.astype(int), want["sig"])
    np.testing.assert_allclose(got.power, num(want["power"]), rtol=RTOL, atol=1e-12)
    for name in ("E", "OEratio", "pval", "theta"):
        assert getattr(got, name) == pytest.approx(want[name], rel=RTOL), name
    assert (got.X2 is None) == (want["X2"] == "NA")
    x2 = got.X2
    if x2 is not None:
        assert x2 == pytest.approx(want["X2"], rel=RTOL)
    lim, loose, tight = got.theta_lim, want["theta_lim"], want["theta_lim_tight"]
    if loose == "NA":
        assert lim is None
        return
    got_lim = list(lim) if isinstance(lim, tuple) else [lim]
    for g, w_loose, w_tight in zip(got_lim, np.atleast_1d(num(loose)),
                                   np.atleast_1d(num(tight)), strict=True):  # fmt: skip
        assert g is not None
        assert g == pytest.approx(w_loose, abs=2e-4)  # metafor's uniroot tolerance
        assert g == pytest.approx(w_tight, rel=RTOL)


def test_tes_of_a_fitted_model_uses_its_estimate_and_tau2() -> None:
    yi, vi = _data("bcg")
    res = rma(yi, vi, method="REML")
    want = G["tes"]["bcg_reml_tau2"]  # tes(yi, vi, theta = fit$beta, tau2 = fit$tau2)
    got = tes(res)
    assert got.pval == pytest.approx(want["pval"], rel=RTOL)
    expected = got.E
    assert expected == pytest.approx(want["E"], rel=RTOL)


def test_tes_exact_test_by_hand() -> None:
    # Two studies, no heterogeneity, theta given: power p_i = Phi(mu_i - c) + Phi(-c - mu_i);
    # the exact greater-than test of O = 1 is P(S >= 1) = 1 - (1 - p1)(1 - p2).
    yi, vi = [0.5, 0.1], [0.04, 0.09]
    c = norm.ppf(0.975)
    p = [norm.cdf(0.3 / s - c) + norm.cdf(-c - 0.3 / s) for s in (0.2, 0.3)]
    got = tes(yi, vi, theta=0.3)
    assert got.O == 1  # z = 2.5 and 0.33
    assert got.power == pytest.approx(p, rel=1e-12)
    assert got.pval == pytest.approx(1 - (1 - p[0]) * (1 - p[1]), rel=1e-12)


def test_tes_bad_input() -> None:
    with pytest.raises(InputError, match="tes_alternative"):
        tes([0.1, 0.2], [0.1, 0.1], tes_alternative="sideways")
    with pytest.raises(InputError, match="theta"):
        tes([0.1, 0.2], [0.1, 0.1], theta=[0.1, 0.2, 0.3])
