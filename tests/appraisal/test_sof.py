"""The summary-of-findings table (:mod:`metareview.appraisal.sof`): cells in GRADEpro's layout,
footnotes, escaping and formula guarding; the bundled imatinib review's single-group
proportions (GRADE reports the pooled proportion per 1000, no comparator)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from metareview.appraisal.sof import COLUMNS, SYMBOLS, sof_html, sof_table, write_sof

DATA = Path(__file__).resolve().parents[1] / "data"


def _domains(**rated: tuple[int, str]) -> dict[str, Any]:
    out = {}
    for d in ("risk_of_bias", "inconsistency", "indirectness", "imprecision",
              "publication_bias"):  # fmt: skip
        rating, reason = rated.get(d, (0, "fine"))
        out[d] = {"rating": rating, "suggested": rating, "reason": reason, "reviewer": None}
    return out


HOSTILE = {
    "outcome": "=cmd|' /C calc'!A0",
    "description": "<script>alert(1)</script> pain",
    "studies": 2, "participants": 157, "design": "randomised", "start": "high",
    "domains": _domains(imprecision=(-1, "CI <b>wide</b>; rule: long text")),
    "certainty": "moderate", "relative": None, "kind": "continuous",
    "absolute": {"measure": "MD", "difference": -1.53, "ci_lower": -2.84, "ci_upper": -0.23,
                 "units": "points"},
}  # fmt: skip


def test_cells_symbols_and_footnotes() -> None:
    t = sof_table([HOSTILE])
    (row,) = t.rows
    assert row.participants == "157 (2 RCTs)"
    assert row.certainty == "⊕⊕⊕⊝ MODERATE" and row.marks == ("a",)
    assert row.difference == "MD 1.53 points lower (2.84 points lower to 0.23 points lower)"
    assert row.comparator == "–" and row.relative == "–"
    # the footnote gives the finding without the rule's long text; unconfirmed is said
    assert t.footnotes == (("a", "Imprecision (−1) [suggested, not confirmed]: CI <b>wide</b>"),)
    assert {s for s, _ in SYMBOLS.values()} == {"⊕⊕⊕⊕", "⊕⊕⊕⊝", "⊕⊕⊝⊝", "⊕⊝⊝⊝"}


def test_html_escapes_and_csv_guards(tmp_path: Path) -> None:
    html = str(sof_html(sof_table([HOSTILE]), standalone=True))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; pain" in html
    assert "<b>wide</b>" not in html and "&lt;b&gt;wide&lt;/b&gt;" in html
    paths = write_sof(sof_table([HOSTILE]), tmp_path / "out")
    rows = list(csv.reader(paths["csv"].open(encoding="utf-8", newline="")))
    assert rows[0] == ["outcome", *COLUMNS, "footnotes"]
    assert rows[1][0] == "'=cmd|' /C calc'!A0"  # a formula-like cell starts with a quote
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_dichotomous_row_and_no_studies() -> None:
    g = {
        "outcome": "mortality", "description": "Death", "studies": 3, "participants": 1200,
        "design": "non-randomised", "start": "low", "certainty": "very_low", "kind": "dichotomous",
        "domains": _domains(risk_of_bias=(-1, "60% high"), inconsistency=(-2, "I² 80%")),
        "relative": {"measure": "RR", "estimate": 1.234, "ci_lower": 0.9, "ci_upper": 1.7},
        "absolute": {"comparator_per_1000": 100, "intervention_per_1000": 123,
                     "difference_per_1000": 23, "difference_ci_lower": -10,
                     "difference_ci_upper": 70},
        "comparator": "study population",
    }  # fmt: skip
    none = {"outcome": "HAQ", "description": "HAQ-DI", "studies": 0, "participants": 0,
            "design": "not recorded", "start": "low", "certainty": None, "kind": "none",
            "domains": _domains(), "relative": None, "absolute": None}  # fmt: skip
    t = sof_table([g, none])
    r, n = t.rows
    assert r.cells() == ["Death", "1,200 (3 non-randomised studies)", "⊕⊝⊝⊝ VERY LOW a,b",
                         "RR 1.23 (0.90 to 1.70)", "100 per 1,000",
                         "23 more per 1,000 (from 10 fewer to 70 more)"]  # fmt: skip
    assert [m for m, _ in t.footnotes] == ["a", "b"]
    assert n.difference == "No study reports this outcome" and n.certainty == "–"


def test_design_not_recorded_starting_level_has_a_footnote() -> None:
    """LOW with no domain rated down (start low, design not recorded: grade.py's rule) is
    explained by a footnote, as the participants column says only "studies"; found in a new
    user's run (the e2e review without characteristics rows)."""
    reason = ("study design not recorded in the extraction (characteristics: design): start "
              "low until it is")
    g = {**HOSTILE, "outcome": "bss", "description": "BSS", "design": "not recorded",
         "start": "low", "start_reason": reason, "certainty": "low",
         "domains": _domains()}  # fmt: skip
    (row,) = sof_table([g]).rows
    t = sof_table([g])
    assert row.participants == "157 (2 studies)" and row.certainty == "⊕⊕⊝⊝ LOW"
    assert row.marks == ("a",)
    assert t.footnotes == (("a", f"Starts at low certainty: {reason}"),)
    # rated down as well: the start's note comes first, the domains' after it
    g2 = {**g, "certainty": "very_low", "domains": _domains(imprecision=(-1, "wide"))}
    t2 = sof_table([g2])
    assert t2.rows[0].marks == ("a", "b") and t2.footnotes[1][1].startswith("Imprecision (−1)")


def test_imatinib_single_group_proportions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metareview.review.folder import bundled_example, run_folder

    monkeypatch.chdir(tmp_path)
    result = run_folder(bundled_example())
    grade = {g.outcome: g for g in result.grade}
    golden = json.loads((DATA / "goldens_imatinib_example.json").read_text("utf-8"))
    drop = grade["dropout_ae"]
    # Khanna 2011: 7 of 20 -> 350 per 1000; metafor's PLO CI back-transformed (0.17684 to
    # 0.57440) -> 177 to 574; no comparator, no relative effect
    assert drop.absolute == {"proportion_per_1000": 350, "ci_lower_per_1000": 177,
                             "ci_upper_per_1000": 574}  # fmt: skip
    assert round(1000 * golden["dropout_PLO"]["pred_ci_lb"]) == 177
    assert round(1000 * golden["dropout_PLO"]["pred_ci_ub"]) == 574
    assert drop.relative is None and drop.kind == "proportion"
    assert drop.domains["imprecision"].reason.startswith("not assessed: reviewer judgement")
    assert grade["HAQ"].certainty is None  # k = 0
    row = next(r for r in sof_table(result.grade).rows if r.outcome == "dropout_ae")
    assert row.comparator == "–"
    assert row.difference.startswith("350 per 1,000 (from 177 to 574); single group")


def test_imatinib_mean_change_is_the_absolute_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mRSS is pooled as a single group's raw mean change (MC): GRADE's absolute effect is that
    pooled change in the outcome's units, with its CI, and the table says there is no
    comparator (it used to show a dash)."""
    from metareview.review.folder import bundled_example, run_folder

    monkeypatch.chdir(tmp_path)
    result = run_folder(bundled_example())
    mrss = next(g for g in result.grade if g.outcome == "mRSS")
    pooled = next(a for a in result.analyses if a.outcome == "mRSS")
    assert mrss.kind == "continuous"
    assert mrss.absolute is not None and mrss.absolute["measure"] == "MC"
    fit = pooled.fit
    assert fit is not None
    assert mrss.absolute["difference"] == pytest.approx(fit.beta, abs=1e-12)
    assert mrss.absolute["ci_lower"] == pytest.approx(fit.ci_lb, abs=1e-12)
    assert mrss.absolute["ci_upper"] == pytest.approx(fit.ci_ub, abs=1e-12)
    row = next(r for r in sof_table(result.grade).rows if r.outcome == "mRSS")
    assert row.difference.startswith(f"mean change {abs(fit.beta):.2f}")
    assert row.difference.endswith("single group, no comparator")
