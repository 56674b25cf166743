"""A new user's single-group rate review, from ``metareview init`` to the HTML report, through
commands only, with the person-time pre-filled from ClinicalTrials.gov.

The user edits the ``init`` template (the lines marked EDIT, one IRLN outcome with ``units:
catheter-days`` and ``registry`` terms), imports two registry records in the API v2 format
(``tests/data/e2e_single/ctgov_rates.json``: invented cohorts posting 7 infections over 1344
catheter-days and 8 over 1600, rows 1-2 of metadat's ``dat.nielweise2008`` treated arm), includes
both, runs ``extract --from-registry``, confirms the values through ``extract --template`` /
``--import``, then ``analyse --json``, ``report`` and ``sof``. Expected values: metafor 3.8's
``rma(yi, vi, method = "REML")`` on ``escalc("IRLN", xi, ti)`` with ``predict(res, transf =
exp)`` (``tests/data/e2e_single/goldens_registry.json``, written by
``scripts/goldens/e2e_registry_rates.R``); the summary of findings' rate by hand from it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "e2e_single"
GOLDENS = json.loads((DATA / "goldens_registry.json").read_text(encoding="utf-8"))
OM = "resultsSection.outcomeMeasuresModule.outcomeMeasures"

OUTCOMES = """\
outcomes:
  - name: crbsi
    measure: IRLN
    better: lower
    primary: true
    description: Catheter-related bloodstream infections per catheter-day
    units: catheter-days
    registry: {kind: outcome_measure, terms: [catheter-related bloodstream infection]}

"""


#: As the user first typed it; YAML needs it quoted (test_a_colon_in_the_title_is_explained).
TITLE = "Drug C lock solution and catheter infections: a systematic review"


def _run(args: list[str]) -> str:
    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 0, (args, err.getvalue())
    return buf.getvalue() + err.getvalue()


def _edit_template(text: str) -> str:
    """What the user types over the template: the question, one outcome, and a plain text for
    every other line marked EDIT."""
    text = text.replace(
        'EDIT systematic review title (say "systematic review" or "meta-analysis")',
        TITLE,
    )
    text = re.sub(r"(?ms)^outcomes:\n  - name: primary\n.*?(?=^# )", OUTCOMES, text)
    assert "name: primary" not in text
    return re.sub(r"EDIT ([^\n]*)", lambda m: m.group(1).replace("(e.g. ", "(").strip(), text)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("rates")
    project = base / "rev"
    out: dict[str, Any] = {"base": base, "project": project}
    _run(["init", str(project)])
    protocol = project / "protocol.yaml"
    edited = _edit_template(protocol.read_text(encoding="utf-8"))
    protocol.write_text(edited.replace(TITLE, f'"{TITLE}"'), encoding="utf-8")
    _run(["protocol", str(project)])
    _run(["import", str(project), str(DATA / "ctgov_rates.json")])
    _run(["export", str(project), "--records", "--out", str(base / "records.csv")])
    with (base / "records.csv").open(encoding="utf-8", newline="") as fh:
        ids = [r["record_id"] for r in csv.DictReader(fh)]
    rows = ["record_id,stage,decision,reason,reviewer"]
    rows += [f"{i},{stage},include,,Ana" for stage in ("title_abstract", "full_text") for i in ids]
    (base / "decisions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _run(["decide", str(project), str(base / "decisions.csv")])
    out["prefill"] = _run(["extract", str(project), "--from-registry"])
    _run(["extract", str(project), "--template", str(base / "form.csv")])
    with (base / "form.csv").open(encoding="utf-8", newline="") as fh:
        form = list(csv.DictReader(fh))
    out["form"] = form
    for r in form:  # the reviewer checks the registry's numbers and adds the design
        if r["outcome"] == "characteristics":
            r.update(design="single-arm trial", status="reported",
                     source_record=f"nct:{r['study']}", location="designModule")  # fmt: skip
    with (base / "filled.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(form[0]))
        writer.writeheader()
        writer.writerows(form)
    _run(["extract", str(project), "--import", str(base / "filled.csv"), "--reviewer", "Ana"])
    out["json"] = json.loads(_run(["analyse", str(project), "--json"]))
    _run(["report", str(project), "--out", str(base / "report")])
    _run(["sof", str(project), "--out", str(base / "sof")])
    out["grade"] = _run(["grade", str(project)])
    return out


def test_registry_prefills_events_and_person_time(review: dict[str, Any]) -> None:
    """LOCK-1's catheter-days are a measure of their own, LOCK-2's the units analysed; the
    posted rates per 1000 catheter-days are left out, with a warning naming their path."""
    assert "Pre-filled 6 values for 2 studies" in review["prefill"]
    assert f"{OM}[2].unitOfMeasure: 'infections per 1000 catheter-days' is a rate" in (
        review["prefill"]
    )
    rows = {r["study"]: r for r in review["form"] if r["outcome"] == "crbsi"}
    assert [(r["events"], r["person_time"], r["n"]) for r in rows.values()] == [
        ("7", "1344", "155"), ("8", "1600", "31"),
    ]  # fmt: skip
    assert f"{OM}[1].classes[0].categories[0].measurements[0].value" in (
        rows["NCT09990101"]["location"]
    )
    assert f"{OM}[0].denoms[1].counts[0].value" in rows["NCT09990102"]["location"]
    assert "Overall Number of Units Analyzed (catheter-days)" in rows["NCT09990102"]["quote"]
    # the fixture's posted rates are R's exact Poisson ones: they are what a registry shows
    for i, r in enumerate(GOLDENS["posted_rates"]):
        assert f"{r['rate_per_1000']:.2f}" in json.dumps(_posted(i))


def _posted(i: int) -> Any:
    doc = json.loads((DATA / "ctgov_rates.json").read_text(encoding="utf-8"))
    [m] = [m for m in doc["studies"][i]["resultsSection"]["outcomeMeasuresModule"][
        "outcomeMeasures"] if m["unitOfMeasure"].endswith("per 1000 catheter-days")]  # fmt: skip
    return m["classes"][0]["categories"][0]["measurements"][0]


def test_pooled_rate_equals_metafor(review: dict[str, Any]) -> None:
    """metafor: rma(yi, vi, method = "REML") on escalc("IRLN", xi = c(7, 8), ti = c(1344,
    1600)); predict(res, transf = exp) for the rate."""
    g = GOLDENS["crbsi"]
    [a] = review["json"]["analyses"]
    assert (a["outcome"], a["measure"], a["k"]) == ("crbsi", "IRLN", 2)
    for key in ("estimate", "se", "ci_lower", "ci_upper"):
        assert a[key] == pytest.approx(g[key], rel=1e-6), key
    assert a["tau2"] == pytest.approx(g["tau2"], abs=1e-10)
    for key in ("estimate", "ci_lower", "ci_upper"):
        assert a["transformed"][key] == pytest.approx(g["transformed"][key], rel=1e-6), key
    assert [s["yi"] for s in a["studies"]] == pytest.approx(g["yi"], rel=1e-9)
    assert [s["vi"] for s in a["studies"]] == pytest.approx(g["vi"], rel=1e-9)


def test_report_and_summary_of_findings_show_the_rate(review: dict[str, Any]) -> None:
    """By hand from the golden rate 0.0050962 (0.0030723 to 0.0084532) per catheter-day:
    5.1 per 1,000 rounds to 5 (< 10), so per 10,000: 50.96 -> 51, 30.72 -> 31, 84.53 -> 85;
    the follow-up is 1344 + 1600 = 2944 catheter-days."""
    t = GOLDENS["crbsi"]["transformed"]
    assert int(1_000 * t["estimate"] + 0.5) < 10
    cell = (
        f"{int(1e4 * t['estimate'] + 0.5)} per 10,000 catheter-days (from "
        f"{int(1e4 * t['ci_lower'] + 0.5)} to {int(1e4 * t['ci_upper'] + 0.5)}); single group, "
        "no comparator"
    )
    assert cell.startswith("51 per 10,000 catheter-days (from 31 to 85)")
    base = review["base"]
    with (base / "sof" / "sof.csv").open(encoding="utf-8", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["Risk difference with intervention"] == cell
    assert row["№ of participants (studies)"] == (
        "– (2 non-randomised studies); follow-up 2,944 catheter-days"
    )
    html = (base / "report" / "report.html").read_text(encoding="utf-8")
    assert f"<td>{cell}</td>" in html
    # every person-time shown keeps its registry provenance
    assert f"{OM}[0].denoms[1].counts[0].value" in html
    report = json.loads((base / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["summary_of_findings"]["rows"][0]["cells"][5] == cell


def test_a_colon_in_the_title_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The title as first typed (``: `` unquoted) stopped the walk-through with YAML's "mapping
    values are not allowed here"; the message now says what to do, with the line."""
    project = tmp_path / "rev"
    _run(["init", str(project)])
    protocol = project / "protocol.yaml"
    protocol.write_text(_edit_template(protocol.read_text(encoding="utf-8")), encoding="utf-8")
    capsys.readouterr()
    assert main(["protocol", str(project)]) == 2
    err = capsys.readouterr().err
    assert "line 5: YAML syntax error: mapping values are not allowed here" in err
    assert 'a value containing ": " must be quoted' in err


def test_grade_prints_no_none(review: dict[str, Any]) -> None:
    """A rate's studies record no participants: ``grade`` said "None participants"."""
    first = review["grade"].splitlines()[0]
    assert first == (
        "crbsi: low; 2 studies, participants not recorded; non-randomised, start low"
    )
