"""Risk of bias in the analyses: a review built through the store (the 13 BCG vaccine trials,
metafor's ``dat.bcg``, with per-arm counts), a RoB 2 form imported for them, and the protocol's
risk-of-bias sensitivity and subgroup analyses against metafor.

The RoB 2 answers are synthetic (for this test only): randomised trials from 1970 on are
answered along the guidance's "low" path in every domain; earlier randomised trials have 1.2
(concealment) NI with 1.3 N, so D1 is "some concerns" (guidance flowchart, domain 1); trials
with alternate or systematic allocation have 1.1 N and 1.2 N, so D1 is "high". The goldens are
``scripts/goldens/rob_bcg.R`` -> ``tests/data/goldens_rob_bcg.json``:
``rma(yi, vi, data=dat, subset=rob != "high", method="REML")`` and the others named there.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metareview.review.analyse import analyse
from metareview.review.folder import import_folder
from metareview.review.rob import import_rob, write_rob_template
from metareview.review.store import analyse_project, load_review

DATA = Path(__file__).resolve().parents[1] / "data"
GOLD: dict[str, Any] = json.loads((DATA / "goldens_rob_bcg.json").read_text(encoding="utf-8"))

PROTOCOL = """\
title: BCG vaccine against tuberculosis (metafor's dat.bcg, built through the store)
version: "1.0"
authors: [metareview test suite]
question:
  population: people at risk of tuberculosis
  intervention: BCG vaccine
  comparator: no vaccine
  outcomes: [tuberculosis cases]
eligibility:
  - code: design
    text: controlled trial
searches:
  - source: dat.bcg
    kind: other
    query: none (the data set of metafor's examples)
    date_run: 2024-01-01
outcomes:
  - name: tb
    measure: RR
    better: lower
    description: tuberculosis cases
model:
  method: REML
  test: z
  level: 95
  rob_sensitivity: not_high
  rob_subgroup: true
"""

LOW = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
       "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}  # fmt: skip
ANSWERS = {"low": LOW, "some_concerns": {**LOW, "1.2": "NI"},
           "high": {**LOW, "1.1": "N", "1.2": "N"}}  # fmt: skip


def _studies_yaml() -> str:
    with open(DATA / "cli" / "bcg.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    src = "{ref: dat_bcg, where: metadat dat.bcg}"
    lines = [
        "sources:",
        "  - key: dat_bcg",
        "    citation: Colditz GA et al. JAMA 1994;271:698-702 (metadat::dat.bcg)",
        "studies:",
    ]
    for i, r in enumerate(rows, start=1):
        n1 = int(r["ai"]) + int(r["bi"])
        n2 = int(r["ci"]) + int(r["di"])
        lines += [
            f"  - id: bcg{i:02d}",
            f"    label: {json.dumps(r['study'])}",
            f"    citation: {json.dumps(r['study'])}",
            f"    design: {r['alloc']} allocation",
            "    arms: [{name: BCG, intervention: BCG vaccine}, {name: control}]",
            "    outcomes:",
            "      tb:",
            "        - measure: 2x2",
            "          timepoint: end of follow-up",
            "          inputs:",
            f"            ai: {{value: {r['ai']}, status: reported, source: {src}}}",
            f"            n1i: {{value: {n1}, status: reported, source: {src}}}",
            f"            ci: {{value: {r['ci']}, status: reported, source: {src}}}",
            f"            n2i: {{value: {n2}, status: reported, source: {src}}}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bcg_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bcg")
    folder = base / "review"
    folder.mkdir()
    (folder / "protocol.yaml").write_text(PROTOCOL, encoding="utf-8")
    (folder / "studies.yaml").write_text(_studies_yaml(), encoding="utf-8")
    project = base / "project"
    import_folder(folder, project)
    form = base / "rob.csv"
    write_rob_template(project, form, tool="rob2")
    with open(form, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    judged = dict(zip(GOLD["study"], GOLD["rob"], strict=True))
    for r in rows:
        r["answer"] = ANSWERS[judged[r["study"]]].get(r["question"], "")
    with open(form, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = import_rob(project, form, reviewer="ann")
    assert summary.n_assessments == 13
    return project


def _row(analysis: Any) -> Any:
    (row,) = [s for s in analysis.sensitivity if s.analysis == "risk of bias"]
    return row


def test_imported_form_gives_the_algorithm_s_judgements(bcg_project: Path) -> None:
    review = load_review(bcg_project)
    rob = review.risk_of_bias["tb"]
    labels = {sd.id: sd.label for sd in review.data.studies}
    got = {labels[k]: rob[v].overall for k, v in review.study_ids.items()}
    assert got == dict(zip(GOLD["study"], GOLD["rob"], strict=True))


def test_sensitivity_without_high_risk_equals_rma_on_the_subset(bcg_project: Path) -> None:
    """rma(yi, vi, data=dat, subset=rob != "high", method="REML") in metafor 3.8.1."""
    a = analyse_project(bcg_project).analysis("tb")
    assert a.k == 13
    row = _row(a)
    gold = GOLD["not_high"]
    assert row.setting == "without high risk of bias" and row.k == gold["k"] == 7
    assert (row.estimate, row.ci_lower, row.ci_upper, row.pvalue, row.tau2, row.I2) == (
        pytest.approx((gold["estimate"], gold["ci_lower"], gold["ci_upper"], gold["pvalue"],
                       gold["tau2"], gold["I2"]), rel=1e-6)
    )
    assert "Comstock et al 1974 (high)" in (row.note or "")


def test_sensitivity_low_risk_only_equals_rma_on_the_subset(bcg_project: Path) -> None:
    """rma(yi, vi, data=dat, subset=rob == "low", method="REML")."""
    review = load_review(bcg_project)
    model = review.protocol.model.model_copy(update={"rob_sensitivity": "low"})
    result = analyse(replace(review, protocol=review.protocol.model_copy(update={"model": model})))
    row = _row(result.analysis("tb"))
    gold = GOLD["low"]
    assert row.setting == "low risk of bias only" and row.k == 3
    assert (row.estimate, row.ci_lower, row.ci_upper, row.tau2) == pytest.approx(
        (gold["estimate"], gold["ci_lower"], gold["ci_upper"], gold["tau2"]), rel=1e-6
    )


def test_subgroups_by_risk_of_bias_equal_rma_per_group(bcg_project: Path) -> None:
    """rma(yi, vi, data=dat, subset=rob == g, method="REML") for each judgement g."""
    a = analyse_project(bcg_project).analysis("tb")
    (sub,) = [s for s in a.subgroups if s["by"] == "risk_of_bias"]
    groups = sub["result"].groups.set_index("group")
    assert sorted(groups.index) == ["high", "low", "some_concerns"]
    for name, gold in GOLD["groups"].items():
        g = groups.loc[name]
        assert int(g["k"]) == gold["k"]
        assert (g["estimate"], g["ci_lb"], g["ci_ub"], g["tau2"]) == pytest.approx(
            (gold["estimate"], gold["ci_lower"], gold["ci_upper"], gold["tau2"]), rel=1e-6
        )


def test_no_rob_settings_no_rob_analyses(bcg_project: Path) -> None:
    review = load_review(bcg_project)
    model = review.protocol.model.model_copy(update={"rob_sensitivity": None,
                                                     "rob_subgroup": False})  # fmt: skip
    result = analyse(replace(review, protocol=review.protocol.model_copy(update={"model": model})))
    a = result.analysis("tb")
    assert not [s for s in a.sensitivity if s.analysis == "risk of bias"]
    assert not [s for s in a.subgroups if s["by"] == "risk_of_bias"]


def test_report_shows_the_plots_and_writes_them(bcg_project: Path, tmp_path: Path) -> None:
    from metareview.report.html import write_report

    result = analyse_project(bcg_project)
    out = tmp_path / "report"
    write_report(result, out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="risk-of-bias"' in html and html.count('class="rob-traffic"') == 1
    assert "Some concerns" in html and "weighted by the studies' weights" in html
    assert "refitted without the studies at high overall risk of bias" in html  # Methods
    for stem in ("tb-rob-rob2-traffic-light", "tb-rob-rob2-summary"):
        for ext in ("svg", "png", "pdf"):
            assert (out / "figures" / f"{stem}.{ext}").is_file()
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (tb,) = doc["risk_of_bias"]
    assert {s["study"]: s["overall"] for s in tb["studies"]} == dict(
        zip(GOLD["study"], GOLD["rob"], strict=True)
    )
    assert result.to_json()["risk_of_bias"][0]["outcome"] == "tb"


def test_summary_bars_are_weighted_by_the_analysis(bcg_project: Path) -> None:
    """By hand: the share of D1 (and overall) judged j is sum(w_i, j_i = j) / sum(w_i) with
    w_i the study's weight in the main model (percent, summing to 100)."""
    from matplotlib.patches import Rectangle

    from metareview.report.rob_plots import COLOURS, rob_summary_plot

    result = analyse_project(bcg_project)
    (tb,) = result.risk_of_bias()
    studies = tb["studies"]
    total = sum(s["weight"] for s in studies)
    assert total == pytest.approx(100.0)
    want = {j: sum(s["weight"] for s in studies if s["overall"] == j) / total
            for j in ("low", "some_concerns", "high")}  # fmt: skip
    fig = rob_summary_plot(studies, "rob2")
    bars = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    # the first three bars are D1 (drawn top first): D1 = the overall judgement here
    got = {next(j for j in want if COLOURS[j].lower() == _hex(b)): b.get_width() for b in bars[:3]}
    assert got == pytest.approx(want, rel=1e-12)
    flat = rob_summary_plot(studies, "rob2", weighted=False)
    widths = [b.get_width() for b in flat.axes[0].patches if isinstance(b, Rectangle)][:3]
    assert widths == pytest.approx([3 / 13, 4 / 13, 6 / 13])


def _hex(patch: Any) -> str:
    from matplotlib.colors import to_hex

    return str(to_hex(patch.get_facecolor()))


def test_analyse_and_report_commands_show_risk_of_bias(
    bcg_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metareview.cli import main

    capsys.readouterr()
    assert main(["analyse", str(bcg_project), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (tb,) = doc["analyses"]
    assert [s["by"] for s in tb["subgroups"]] == ["risk_of_bias"]
    (rob,) = doc["risk_of_bias"]
    assert len(rob["studies"]) == 13
    (row,) = rob["sensitivity"]
    assert row["k"] == 7 and row["estimate"] == pytest.approx(GOLD["not_high"]["estimate"],
                                                              rel=1e-6)  # fmt: skip
    out = tmp_path / "report"
    assert main(["report", str(bcg_project), "--out", str(out)]) == 0
    assert (out / "figures" / "tb-rob-rob2-traffic-light.svg").is_file()
    assert 'id="risk-of-bias"' in (out / "report.html").read_text(encoding="utf-8")
