"""One printer for every result class (``models/_printer.py``).

``summary()`` of one fit per class is compared with the text captured (in
``tests/data/printer_summaries.json``) from this code base before the printer was shared: the
text output is metafor's layout and must not change. ``_repr_html_`` exists for every class,
escapes user text and prints metafor's ``NA`` for a missing value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metareview.models import (
    MHResult,
    PublishedCheck,
    RanktestResult,
    RegResult,
    RegtestResult,
    RMAResult,
    SubgroupResult,
    TrimfillResult,
    check_published,
    ranktest,
    regtest,
    rma,
    rma_mh,
    rma_peto,
    rma_reg,
    subgroup,
    trimfill,
)

GOLDEN = Path(__file__).parent.parent / "data" / "printer_summaries.json"

YI = np.array(
    [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02]
)
VI = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.27])
GRP = ["<50", "<50", "<50", "b", "b", "b", "b", "c", "c", "c", "c", "c", "c"]
AI = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
N1 = [123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913]
CI = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
N2 = [139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854]


def _fits() -> dict[str, Any]:
    bi = [n - a for n, a in zip(N1, AI, strict=True)]
    di = [n - c for n, c in zip(N2, CI, strict=True)]
    base = rma(YI, VI)
    return {
        "rma": base,
        "rma_reg": rma_reg(YI, VI, mods=pd.DataFrame({"g": GRP})),
        "rma_reg_knha": rma_reg(
            YI, VI, mods=pd.DataFrame({"x": np.arange(13.0)}), test="knha"
        ),
        "rma_mh": rma_mh(AI, bi, CI, di, measure="OR"),
        "rma_mh_rd": rma_mh(AI, bi, CI, di, measure="RD"),
        "rma_peto": rma_peto(AI, bi, CI, di),
        "subgroup": subgroup(YI, VI, GRP),
        "regtest": regtest(base),
        "ranktest": ranktest(base),
        "trimfill": trimfill(base),
        "trimfill_r0": trimfill(base, estimator="R0"),
        "published": check_published("0.75", "0.60", "0.94", pvalue="0.01", k=10, scale="log"),
        "published_nok": check_published(1.2, 0.9, 1.6),
    }


FITS = _fits()
CLASSES = (
    RMAResult, RegResult, MHResult, SubgroupResult, RegtestResult, RanktestResult,
    TrimfillResult, PublishedCheck,
)


@pytest.mark.parametrize("name", sorted(FITS))
def test_summary_text_unchanged(name: str) -> None:
    # expected: summary() of the same fit captured before the printer was shared
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
    res = FITS[name]
    assert res.summary() == want
    assert str(res) == want


def test_every_class_is_covered_and_has_repr_html() -> None:
    assert {type(r) for r in FITS.values()} == set(CLASSES)
    for res in FITS.values():
        assert isinstance(res._repr_html_(), str)


def _text_outside_tags(html_text: str) -> str:
    return re.sub(r"</?[a-z0-9]+(?: [a-z-]+=\"[^\"<>]*\")*>", "", html_text)


@pytest.mark.parametrize("name", sorted(FITS))
def test_html_is_tables_and_escaped(name: str) -> None:
    out = FITS[name]._repr_html_()
    assert "<table" in out
    assert "<" not in _text_outside_tags(out)  # every '<' in text (labels, '<.0001') escaped


def test_html_escapes_a_study_label() -> None:
    # the subgroup label "<50" and the moderator level "<50" are user text
    sub = FITS["subgroup"]._repr_html_()
    assert "&lt;50" in sub and "<50" not in sub
    reg = rma_reg(YI, VI, mods=pd.DataFrame({"g": [g if g != "b" else "<b>" for g in GRP]}))
    assert "g&lt;b&gt;" in reg._repr_html_() and "<b>" not in reg._repr_html_()
    assert "<b>" in reg.summary()
    tf = FITS["trimfill"]
    assert "&lt;.0001" in tf._repr_html_()


def _na_cells(html_text: str) -> int:
    return len(re.findall(r">NA<", html_text))


def test_html_prints_na_for_a_missing_value() -> None:
    nan = math.nan
    cases = [
        replace(FITS["rma"], se=nan, pval=nan),
        replace(FITS["rma_reg"], se=np.array([nan, 1.0, 1.0]), pval=np.array([nan, 0.5, 0.5])),
        replace(FITS["rma_mh"], se=nan, pval=nan),
        replace(FITS["regtest"], zval=nan, pval=nan),
        replace(FITS["ranktest"], tau=nan, pval=nan),
        replace(FITS["trimfill"], se_k0=nan),
        replace(FITS["published"], pval_z=nan, se=nan),
    ]
    sub = FITS["subgroup"]
    groups = sub.groups.copy()
    groups.loc[0, "se"] = nan
    cases.append(replace(sub, groups=groups, Q_between_p=nan))
    for res in cases:
        text, out = res.summary(), res._repr_html_()
        assert "NA" in text, type(res).__name__
        assert "nan" not in text, type(res).__name__
        assert _na_cells(out) >= 1 or "NA" in _text_outside_tags(out), type(res).__name__
        assert "nan" not in _text_outside_tags(out), type(res).__name__
