"""``metareview grade`` and ``metareview sof`` on a review built through the store: the BCG
vaccine trials (metadat's dat.bcg) with per-arm counts (``bcg_project`` in tests/conftest.py).

Relative effects come from metafor (``tests/data/goldens_grade.json``, written by
``scripts/goldens/grade.R``: ``rma(yi, vi, method = "REML")`` on ``escalc("RR"|"OR", dat.bcg)``,
``predict(res, transf = exp)``, ``regtest(res)``); comparator risks and absolute effects are
computed by hand in each test from the trials' counts.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main

GOLDENS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "goldens_grade.json").read_text("utf-8")
)
RR = GOLDENS["cases"]["RR"]
OR = GOLDENS["cases"]["OR"]

#: dat.bcg's unvaccinated arms: cpos (tuberculosis cases) and cpos + cneg (participants).
CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
CN = [139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854]
# Σ cpos = 1510, Σ n = 166283: the pooled comparator risk ("study population")
ACR = 1510 / 166283

#: Four of the five keys per outcome and the three per domain, exactly as the issue names them.
KEYS = {"outcome", "studies", "participants", "design", "start", "domains", "certainty",
        "relative", "absolute"}  # fmt: skip
DOMAINS = {"risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"}
ABSOLUTE = {"comparator_per_1000", "intervention_per_1000", "difference_per_1000",
            "difference_ci_lower", "difference_ci_upper"}  # fmt: skip
#: RoB 2 answers of every domain's "low" path (as tests/cli/test_rob.py).
LOW = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
       "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}  # fmt: skip


def grade_json(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["grade", str(project), "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return {o["outcome"]: o for o in doc["outcomes"]}


def test_grade_json_shape_and_values(bcg_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sum(CPOS) == 1510 and sum(CN) == 166283
    out = grade_json(bcg_project, capsys)
    assert set(out) == {"tb", "tb_or"}
    tb = out["tb"]
    assert set(tb) == KEYS
    assert set(tb["domains"]) == DOMAINS
    for d in tb["domains"].values():
        assert set(d) == {"rating", "suggested", "reason"}
    assert set(tb["relative"]) == {"measure", "estimate", "ci_lower", "ci_upper"}
    assert set(tb["absolute"]) == ABSOLUTE
    # 13 trials; participants = every arm: Σ(tpos + tneg) + Σ(cpos + cneg)
    assert tb["studies"] == 13
    assert tb["participants"] == 357347 == sum(CN) + 191064
    # relative effect: metafor's RR (REML) back-transformed
    rel = tb["relative"]
    assert rel["measure"] == "RR"
    for key in ("estimate", "ci_lower", "ci_upper"):
        assert rel[key] == pytest.approx(RR[key], rel=1e-6)
    # absolute effects at ACR = 1510/166283 = 0.0090809 (hand):
    #   comparator 9.08 -> 9 per 1000
    #   intervention 0.0090809 x 0.489421 = 0.0044444 -> 4
    #   difference 0.0090809 x (0.489421 - 1) = -0.0046365 -> -5
    #   CI 0.0090809 x (0.344074 - 1) = -0.0059564 -> -6; x (0.696166 - 1) = -0.0027591 -> -3
    assert round(1000 * ACR, 2) == 9.08
    assert tb["absolute"] == {
        "comparator_per_1000": 9, "intervention_per_1000": 4, "difference_per_1000": -5,
        "difference_ci_lower": -6, "difference_ci_upper": -3,
    }  # fmt: skip
    # design text from the extraction: 7 random, 2 alternate, 4 systematic -> non-randomised
    assert (tb["design"], tb["start"]) == ("non-randomised", "low")
    dom = tb["domains"]
    # I² 92.2% (metafor) with 2 estimates above no effect (TPT Madras 1980, Comstock & Webster
    # 1969) and 11 below -> -2
    assert dom["inconsistency"]["suggested"] == -2
    assert f"I² = {RR['I2']:.0f}%" in dom["inconsistency"]["reason"]
    assert "2 of 13 study estimates above and 11 below" in dom["inconsistency"]["reason"]
    # k = 13 >= 10: Egger's test (metafor regtest) p = 0.422 -> 0
    assert dom["publication_bias"]["suggested"] == 0
    assert f"p = {RR['regtest_p']:.3f}" in dom["publication_bias"]["reason"]
    # CI 0.344-0.696 lies below RR 0.75 (no effect excluded); OIS for p_c = 0.0090809 and RRR
    # 25%: p_i = 0.0068107, n = 7.848879 (0.0090809 x 0.9909191 + 0.0068107 x 0.9931893) /
    # 0.0022702² per group; 357347 participants exceed it -> 0
    p_c, p_i = ACR, ACR * 0.75
    z2 = (1.959963985 + 0.841621234) ** 2
    n = z2 * (p_c * (1 - p_c) + p_i * (1 - p_i)) / (p_c - p_i) ** 2
    ois = 2 * int(n + 1)
    assert f"at least the OIS of {ois}" in dom["imprecision"]["reason"]
    assert dom["imprecision"]["suggested"] == 0
    assert dom["risk_of_bias"]["reason"].startswith("not assessed")
    assert dom["indirectness"]["reason"].startswith("not assessed: reviewer judgement")
    # low (2) + inconsistency -2 -> floored at very low
    assert tb["certainty"] == "very_low"


def test_odds_ratio_with_assumed_risks(
    bcg_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = grade_json(bcg_project, capsys)["tb_or"]
    assert out["relative"]["measure"] == "OR"
    for key in ("estimate", "ci_lower", "ci_upper"):
        assert out["relative"][key] == pytest.approx(OR[key], rel=1e-6)
    # The protocol's assumed risks replace the study population. OR 0.474650 (0.329630 to
    # 0.683472), ACR·OR / (1 - ACR + ACR·OR):
    #   ACR 0.01: 0.0047465 / 0.9947465 = 0.0047716 -> 5; difference -5.23 -> -5;
    #             0.0032963 / 0.9932963 = 0.0033185 -> -6.68 -> -7;
    #             0.0068347 / 0.9968347 = 0.0068564 -> -3.14 -> -3
    #   ACR 0.05: 0.0237325 / 0.9737325 = 0.0243727 -> 24; difference -25.63 -> -26;
    #             0.0164815 / 0.9664815 = 0.0170531 -> -32.95 -> -33;
    #             0.0341736 / 0.9841736 = 0.0347231 -> -15.28 -> -15
    assert out["absolute"] == {
        "comparator_per_1000": 10, "intervention_per_1000": 5, "difference_per_1000": -5,
        "difference_ci_lower": -7, "difference_ci_upper": -3,
    }  # fmt: skip
    assert out["absolute_by_risk"] == [
        {"label": "low-incidence setting", **out["absolute"]},
        {"label": "high-incidence setting", "comparator_per_1000": 50,
         "intervention_per_1000": 24, "difference_per_1000": -26, "difference_ci_lower": -33,
         "difference_ci_upper": -15},
    ]  # fmt: skip
    # the same by formula, from metafor's OR
    acr, odr = 0.05, OR["estimate"]
    assert round(1000 * (acr * odr / (1 - acr + acr * odr) - acr)) == -26


def test_set_is_logged_and_shown(bcg_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["grade", str(bcg_project), "--set", "TB", "risk_of_bias", "-1", "--reason",
            "systematic allocation in 4 trials", "--reviewer", "Ana"]  # fmt: skip
    assert main(argv) == 0
    assert "tb risk_of_bias: -1 (suggested 0) by Ana" in capsys.readouterr().out
    tb = grade_json(bcg_project, capsys)["tb"]
    rob = tb["domains"]["risk_of_bias"]
    assert rob == {"rating": -1, "suggested": 0, "reason": "systematic allocation in 4 trials"}
    # low (2) - 1 - 2 -> very low still; the other outcome is untouched
    assert tb["certainty"] == "very_low"
    # a second rating of the same domain supersedes it; the history keeps both
    assert main(["grade", str(bcg_project), "--set", "tb", "risk_of_bias", "0", "--reason",
                 "allocation judged adequate", "--reviewer", "Bo"]) == 0  # fmt: skip
    assert main(["grade", str(bcg_project), "--set", "tb", "inconsistency", "−1", "--reason",
                 "heterogeneity explained by latitude", "--reviewer", "Bo"]) == 0  # fmt: skip
    tb = grade_json(bcg_project, capsys)["tb"]
    assert tb["domains"]["risk_of_bias"]["rating"] == 0
    assert tb["domains"]["inconsistency"] == {
        "rating": -1, "suggested": -2, "reason": "heterogeneity explained by latitude"
    }
    assert tb["certainty"] == "very_low"  # 2 - 1 = 1
    capsys.readouterr()
    assert main(["grade", str(bcg_project), "--history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert [(h["reviewer"], h["domain"], h["rating"], h["suggested"]) for h in history] == [
        ("Ana", "risk_of_bias", -1, 0), ("Bo", "risk_of_bias", 0, 0),
        ("Bo", "inconsistency", -1, -2),
    ]  # fmt: skip
    # in the audit log, and never rewritten
    db = sqlite3.connect(bcg_project / "project.sqlite")
    logged = db.execute(
        "SELECT actor, after_json FROM audit_log WHERE action = 'grade_set' ORDER BY id"
    ).fetchall()
    assert [a for a, _ in logged] == ["Ana", "Bo", "Bo"]
    assert json.loads(logged[0][1])["reason"] == "systematic allocation in 4 trials"
    with pytest.raises(sqlite3.DatabaseError, match="never changes"):
        db.execute("UPDATE grade_ratings SET rating = 0")
    with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
        db.execute("DELETE FROM grade_ratings")
    db.close()
    # the text view says who rated and what was suggested
    capsys.readouterr()
    assert main(["grade", str(bcg_project)]) == 0
    text = capsys.readouterr().out
    assert "inconsistency: -1 [Bo] (suggested -2) heterogeneity explained by latitude" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "mortality", "imprecision", "-1", "--reason", "x"], "not an outcome"),
        (["--set", "tb", "imprecise", "-1", "--reason", "x"], "not a GRADE domain"),
        (["--set", "tb", "imprecision", "1", "--reason", "x"], "not 0, -1 or -2"),
        (["--set", "tb", "imprecision", "-1"], "--set needs --reason"),
        (["--set", "tb", "imprecision", "-1", "--reason", "  "], "--set needs --reason"),
        (["--reason", "x"], "--reason goes with --set"),
    ],
)
def test_bad_set_is_refused_and_nothing_stored(
    bcg_project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(["grade", str(bcg_project), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metareview: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    db = sqlite3.connect(bcg_project / "project.sqlite")
    assert db.execute("SELECT COUNT(*) FROM grade_ratings").fetchone() == (0,)
    db.close()


def test_not_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["grade", str(tmp_path / "nowhere"), "--json"],
                 ["sof", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("metareview: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def _rob_form(project: Path, tmp: Path) -> Path:
    """A RoB 2 assessment of every trial: the "low" answers, and the overall judgement
    overridden by allocation (alternate: some concerns; systematic: high)."""
    bcg = list(csv.DictReader((Path(__file__).resolve().parents[1] / "data" / "cli" /
                               "bcg.csv").open(encoding="utf-8")))  # fmt: skip
    out = tmp / "rob.csv"
    assert main(["rob", str(project), "--template", str(out), "--tool", "rob2", "--outcome",
                 "tb"]) == 0  # fmt: skip
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    judged = {"alternate": "some_concerns", "systematic": "high"}
    for r in rows:
        alloc = bcg[int(r["study_id"]) - 1]["alloc"]
        r["answer"] = LOW.get(r["question"], "")
        if r["domain"] == "overall" and alloc in judged:
            r.update(domain_override=judged[alloc], justification=f"{alloc} allocation")
    filled = tmp / "rob_filled.csv"
    with filled.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return filled


def test_risk_of_bias_rule_reads_the_rob_assessments(
    bcg_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled = _rob_form(bcg_project, tmp_path)
    assert main(["rob", str(bcg_project), "--import", str(filled), "--reviewer", "Ana"]) == 0
    tb = grade_json(bcg_project, capsys)["tb"]
    # RoB 2 for every trial: GRADE starts high
    assert (tb["design"], tb["start"]) == ("randomised", "high")
    # metafor's weights (percent) summed by allocation: systematic (high) 30.52%, alternate
    # (some concerns) 18.96%, random (low) 50.52% -> high + some = 49.48% is not more than
    # half -> 0
    alloc, w = GOLDENS["alloc"], RR["weights"]
    share = {a: sum(x for x, b in zip(w, alloc, strict=True) if b == a) for a in set(alloc)}
    assert round(share["systematic"], 2) == 30.52 and round(share["alternate"], 2) == 18.96
    rob = tb["domains"]["risk_of_bias"]
    assert rob["suggested"] == 0
    assert rob["reason"].startswith(
        "31% of the weight from studies at high risk of bias, 19% with some concerns, "
        "51% at low risk"
    )
    # high (4) - 2 (inconsistency) = low
    assert tb["certainty"] == "low"
    # the OR outcome has no assessment: not assessed, and GRADE starts low from the design text
    assert grade_json(bcg_project, capsys)["tb_or"]["domains"]["risk_of_bias"]["reason"].startswith(
        "not assessed"
    )


def test_sof_files_and_report(
    bcg_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import docx

    assert main(["grade", str(bcg_project), "--set", "tb", "imprecision", "0", "--reason",
                 "CI excludes no effect <and> OIS met", "--reviewer", "Ana"]) == 0  # fmt: skip
    out = tmp_path / "sof"
    assert main(["sof", str(bcg_project), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["sof.csv", "sof.docx", "sof.html"]
    # CSV: one row per outcome, GRADEpro's columns
    rows = list(csv.DictReader((out / "sof.csv").open(encoding="utf-8", newline="")))
    assert [r["outcome"] for r in rows] == ["tb", "tb_or"]
    tb = rows[0]
    assert tb["№ of participants (studies)"] == "357,347 (13 non-randomised studies)"
    assert tb["Certainty of the evidence (GRADE)"] == "⊕⊝⊝⊝ VERY LOW a"
    assert tb["Relative effect (95% CI)"] == "RR 0.49 (0.34 to 0.70)"
    assert tb["Risk with comparator"] == "9 per 1,000"
    assert tb["Risk difference with intervention"] == "5 fewer per 1,000 (from 6 fewer to 3 fewer)"
    assert tb["footnotes"].startswith("a. Inconsistency (−2) [suggested, not confirmed]: I² = 92%")
    assert rows[1]["Risk with comparator"] == (
        "low-incidence setting: 10 per 1,000\nhigh-incidence setting: 50 per 1,000"
    )
    # HTML: the same cells, and the reviewer's reason escaped
    html = (out / "sof.html").read_text(encoding="utf-8")
    assert "⊕⊝⊝⊝ VERY LOW<sup>a</sup>" in html
    assert "5 fewer per 1,000 (from 6 fewer to 3 fewer)" in html
    # DOCX read back with python-docx: header rows, then one row per outcome
    table = docx.Document(str(out / "sof.docx")).tables[0]
    cells = [c.text for c in table.rows[2].cells]
    assert cells == ["Tuberculosis cases", "357,347 (13 non-randomised studies)", "⊕⊝⊝⊝ VERY LOW a",
                     "RR 0.49 (0.34 to 0.70)", "9 per 1,000",
                     "5 fewer per 1,000 (from 6 fewer to 3 fewer)"]  # fmt: skip
    assert table.rows[0].cells[4].text == "Anticipated absolute effects (95% CI)"
    assert table.rows[1].cells[4].text == "Risk with comparator"
    # the report: the same table, and the GRADE rows in report.json
    rep = tmp_path / "report"
    assert main(["report", str(bcg_project), "--out", str(rep)]) == 0
    page = (rep / "report.html").read_text(encoding="utf-8")
    assert '<section id="sof">' in page and "⊕⊝⊝⊝ VERY LOW<sup>a</sup>" in page
    assert "<td>9 per 1,000</td>" in page
    data = json.loads((rep / "report.json").read_text(encoding="utf-8"))
    assert data["grade"][0]["outcome"] == "tb"
    assert data["grade"][0]["domains"]["imprecision"]["reviewer"] == "Ana"
    # analyse --json carries them too
    capsys.readouterr()
    assert main(["analyse", str(bcg_project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["grade"][0]["certainty"] == "very_low"


def test_prisma_items_15_and_22(bcg_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def items() -> dict[str, str]:
        capsys.readouterr()
        assert main(["prisma", str(bcg_project), "--checklist", "--json"]) == 0
        return {e["id"]: e["status"] for e in json.loads(capsys.readouterr().out)}

    before = items()
    assert before["15"] == before["22"] == "missing"
    assert main(["grade", str(bcg_project), "--set", "tb", "indirectness", "0", "--reason",
                 "population, vaccine and outcome as asked"]) == 0  # fmt: skip
    after = items()
    assert after["15"] == after["22"] == "answered"
