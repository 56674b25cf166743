"""Published results and hand calculations reproduced by rma().

Each test names its source. Published values are compared at the precision they were printed.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from goldens_helpers import load_goldens
from scipy import stats

from metareview.models import rma

DATASETS = load_goldens("goldens_rma.json")["datasets"]


def test_viechtbauer_2010_bcg_reml() -> None:
    """Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48, section 3: random-effects model (REML) fitted to the BCG trials (Colditz et al.
    1994) with log relative risks: tau^2 = 0.3132 (SE = 0.1664), I^2 = 92.22%, H^2 = 12.86,
    Q(df = 12) = 152.2330; estimate -0.7145, se 0.1798, z -3.9744, CI -1.0669 to -0.3622; and
    ``predict(res, transf = exp)``: 0.4894 (0.3441, 0.6962), credibility interval 0.1546 to 1.5490.
    """
    d = DATASETS["bcg_RR"]
    res = rma(d["yi"], d["vi"], method="REML")
    half = 5e-5  # printed to 4 decimals
    assert res.tau2 == pytest.approx(0.3132, abs=half)
    assert res.se_tau2 == pytest.approx(0.1664, abs=half)
    assert pytest.approx(92.22, abs=5e-3) == res.I2
    assert pytest.approx(12.86, abs=5e-3) == res.H2
    assert pytest.approx(152.2330, abs=half) == res.QE
    assert res.beta == pytest.approx(-0.7145, abs=half)
    assert res.se == pytest.approx(0.1798, abs=half)
    assert res.zval == pytest.approx(-3.9744, abs=half)
    assert res.ci_lb == pytest.approx(-1.0669, abs=half)
    assert res.ci_ub == pytest.approx(-0.3622, abs=half)
    p = res.predict(transf=math.exp)
    for key, value in [("pred", 0.4894), ("ci_lb", 0.3441), ("ci_ub", 0.6962),
                       ("pi_lb", 0.1546), ("pi_ub", 1.5490)]:
        assert p[key] == pytest.approx(value, abs=half), key


def test_colditz_1994_bcg_trials_random_effects() -> None:
    """Colditz GA et al. (1994). Efficacy of BCG vaccine in the prevention of tuberculosis.
    JAMA 271(9):698-702, abstract (Results): the random-effects relative risk of TB in the
    prospective trials was 0.49 (95% CI 0.34 to 0.70). dat.bcg (metadat) holds the trials' 2x2
    tables; DerSimonian-Laird, the random-effects method of the time, reproduces the figure.
    (Quoted from memory of the abstract, not from a copy read in this project.)"""
    d = DATASETS["bcg_RR"]
    res = rma(d["yi"], d["vi"], method="DL")
    rr = [round(math.exp(x), 2) for x in (res.beta, res.ci_lb, res.ci_ub)]
    assert rr == [0.49, 0.34, 0.70]


def test_hackshaw_1997_passive_smoking() -> None:
    """Hackshaw AK, Law MR, Wald NJ (1997). The accumulated evidence on lung cancer and
    environmental tobacco smoke. BMJ 315:980-988, abstract (Results): in 37 studies the excess
    risk of lung cancer in non-smokers living with a smoker was 24% (95% CI 13% to 36%),
    P < 0.001 (random-effects pooling of the log odds ratios; dat.hackshaw1998 in metadat).
    The DerSimonian-Laird fit reproduces it; REML would print 37% as upper bound, EE 20%."""
    d = DATASETS["hackshaw1998_OR"]
    res = rma(d["yi"], d["vi"], method="DL")
    assert res.k == 37
    excess = [round(100 * (math.exp(x) - 1)) for x in (res.beta, res.ci_lb, res.ci_ub)]
    assert excess == [24, 13, 36]
    assert res.pval < 0.001
    reml = rma(d["yi"], d["vi"], method="REML")
    assert round(100 * (math.exp(reml.ci_ub) - 1)) == 37


def test_dersimonian_laird_and_knha_by_hand() -> None:
    """A hand calculation in exact fractions of the DerSimonian & Laird (1986) moment estimator
    T^2 = (Q - df)/C, C = sum w - sum w^2/sum w (as laid out by Borenstein et al. 2009,
    Introduction to Meta-Analysis, ch. 12), the random-effects mean, and the Hartung-Knapp (2001)
    variance sum w*(y - mu)^2 / ((k-1) sum w*) with a t(k-1) interval."""
    y = [Fraction(2, 10), Fraction(5, 10), Fraction(9, 10)]
    v = [Fraction(4, 100), Fraction(1, 100), Fraction(9, 100)]
    w = [1 / vi for vi in v]  # 25, 100, 100/9
    sw = sum(w)  # 1225/9
    mu_fe = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw  # 585/1225
    assert mu_fe == Fraction(585, 1225)
    q = sum(wi * (yi - mu_fe) ** 2 for wi, yi in zip(w, y, strict=True))
    c = sw - sum(wi**2 for wi in w) / sw
    t2 = (q - 2) / c
    assert t2 > 0
    ws = [1 / (vi + t2) for vi in v]
    mu = sum(wi * yi for wi, yi in zip(ws, y, strict=True)) / sum(ws)
    se = math.sqrt(1 / float(sum(ws)))
    q_star = sum(wi * (yi - mu) ** 2 for wi, yi in zip(ws, y, strict=True))
    se_hk = math.sqrt(float(q_star / (2 * sum(ws))))

    res = rma([float(x) for x in y], [float(x) for x in v], method="DL")
    assert pytest.approx(float(q), rel=1e-12) == res.QE
    assert res.tau2 == pytest.approx(float(t2), rel=1e-12)
    assert res.beta == pytest.approx(float(mu), rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)
    vt = 2 / float(c)  # typical within-study variance (k-1)/C
    assert pytest.approx(100 * float(t2) / (vt + float(t2)), rel=1e-12) == res.I2
    assert pytest.approx(100 * float((q - 2) / q), rel=1e-12) == res.I2  # equal for DL

    hk = rma([float(x) for x in y], [float(x) for x in v], method="DL", test="knha")
    crit = stats.t.ppf(0.975, 2)
    assert hk.se == pytest.approx(se_hk, rel=1e-12)
    assert hk.ci_ub == pytest.approx(float(mu) + crit * se_hk, rel=1e-12)
    assert hk.pi_ub == pytest.approx(float(mu) + crit * math.sqrt(se_hk**2 + float(t2)),
                                     rel=1e-12)
    assert hk.ddf == 2
