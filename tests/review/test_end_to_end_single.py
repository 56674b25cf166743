"""A review of single-group rates and means, from the protocol to the report, through commands.

Nine invented studies (records in a CSV written here) each report, for one group, infections
over catheter-days and the mean length of stay with its SD: the numbers are row i of metadat's
``dat.nielweise2008`` (treated arm: ``x1i``, ``t1i``) and ``dat.normand1999`` (first arm:
``m1i``, ``sd1i``, ``n1i``), paired row by row for this test only. The protocol pools the
infections as IRLN, IR, IRS and IRFT and the stay as MN, MNLN, CVLN and SDLN (REML, z). The
review goes through ``init``, ``import``, ``decide``, ``extract --template``, ``extract
--import``, ``analyse --json``, ``report`` and ``export --r-script``; the expected values are
metafor 3.8's ``rma(yi, vi, method = "REML")`` on ``escalc(measure, xi, ti)`` and
``escalc(measure, mi, sdi, ni)``, with ``predict(res, transf = exp)``, ``leave1out(res, transf =
exp)`` and the DL refit for the log measures (``tests/data/e2e_single/goldens.json``, written by
``scripts/goldens/e2e_single_group.R``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from metareview.cli import main
from metareview.models._format import format_significant

GOLDENS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "e2e_single" / "goldens.json").read_text(
        encoding="utf-8"
    )
)
DATA: list[dict[str, float]] = GOLDENS["data"]

PROTOCOL = """\
title: Drug C in hospitalised adults (single-group test review)
question:
  population: hospitalised adults with a central venous catheter
  intervention: drug C
  comparator: none (single-group cohorts)
  outcomes: [catheter infections, length of stay]
eligibility:
  - {code: design, text: Cohort studies of adults given drug C}
searches:
  - {source: PubMed, query: drug C AND catheter, date_run: 2024-01-01}
outcomes:
  - {name: infections, measure: IRLN, better: lower, description: Infections per catheter-day,
     units: catheter-days}
  - {name: stay, measure: MN, better: lower, description: Length of stay (days), units: days}
  - {name: stay_log, measure: MNLN, better: lower, description: Length of stay (days; log mean),
     units: days}
  - {name: infections_raw, measure: IR, better: lower, description: Infections (raw rate)}
  - {name: infections_sqrt, measure: IRS, better: lower, description: Infections (root rate)}
  - {name: infections_ft, measure: IRFT, better: lower, description: Infections (FT rate)}
  - {name: stay_cv, measure: CVLN, better: lower, description: Length of stay (CV), units: days}
  - {name: stay_sd, measure: SDLN, better: lower, description: Length of stay (SD), units: days}
model:
  method: REML
  test: z
  level: 95
  sensitivity:
    - {name: leave one out, leave1out: true}
    - {name: DerSimonian-Laird, method: DL}
"""


def _run(args: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(args)
    assert code == 0, args
    return buf.getvalue()


def _screened(base: Path) -> Path:
    """The project after init, import and decide: nine included studies, nothing extracted."""
    with (base / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "authors", "year", "journal"])
        for i in range(1, len(DATA) + 1):
            w.writerow([f"c{i}", f"Drug C in hospitalised adults: cohort {i}",
                        f"Author{i} A", str(2000 + i), "Test Journal"])  # fmt: skip
    (base / "protocol.yaml").write_text(PROTOCOL, encoding="utf-8")
    lines = ["record_id,stage,decision,reason,reviewer,note"]
    lines += [f"{i},{stage},include,,Ana," for stage in ("title_abstract", "full_text")
              for i in range(1, len(DATA) + 1)]  # fmt: skip
    (base / "decisions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = base / "project"
    _run(["init", str(project), "--protocol", str(base / "protocol.yaml")])
    _run(["import", str(project), str(base / "records.csv")])
    _run(["decide", str(project), str(base / "decisions.csv")])
    _run(["extract", str(project), "--template", str(base / "form.csv")])
    return project


def _filled(form: Path, out: Path, change: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The reviewer's form: each study's numbers typed from its (invented) Table 2; ``change``
    replaces cells of study 1's ``infections`` or ``stay`` rows (``{"stay": {"n": ""}}``)."""
    rows = list(csv.DictReader(form.open(encoding="utf-8", newline="")))
    for r in rows:
        d = DATA[int(r["study_id"]) - 1]
        r.update(status="reported", source_record=r["study_id"], location="Table 2",
                 arm="Drug C", timepoint="discharge")  # fmt: skip
        if r["outcome"] == "characteristics":
            r.update(design="prospective cohort", arm="", timepoint="")
        elif r["outcome"].startswith("infections"):
            r.update(
                events=_plain(d["xi"]),
                person_time=_plain(d["ti"]),
                quote=f"{_plain(d['xi'])} infections in {_plain(d['ti'])} catheter-days",
            )
        else:
            r.update(mean=_plain(d["mi"]), sd=_plain(d["sdi"]), n=_plain(d["ni"]))
        if change and r["study_id"] == "1" and r["outcome"] in change:
            r.update(change[r["outcome"]])
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("single")
    _screened(base)
    return base


@pytest.fixture(scope="module")
def review(built: Path) -> dict[str, Any]:
    """Every command once on a copy of the screened project; the tests read what they left."""
    base = built / "run"
    base.mkdir()
    project = base / "project"
    shutil.copytree(built / "project", project)
    _filled(built / "form.csv", base / "filled.csv")
    _run(["extract", str(project), "--import", str(base / "filled.csv"), "--reviewer", "Ana"])
    out: dict[str, Any] = {"base": base}
    out["json"] = json.loads(_run(["analyse", str(project), "--json"]))
    out["text"] = _run(["analyse", str(project)])
    _run(["report", str(project), "--out", str(base / "report")])
    _run(["export", str(project), "--r-script", str(base / "check.R")])
    _run(["sof", str(project), "--out", str(base / "sof")])
    return out


def _analysis(data: dict[str, Any], outcome: str) -> dict[str, Any]:
    return next(a for a in data["analyses"] if a["outcome"] == outcome)


RATES = ["infections", "infections_raw", "infections_sqrt", "infections_ft"]
MEANS = ["stay", "stay_log", "stay_cv", "stay_sd"]
#: Outcomes back-transformed (exp), with the label the report gives their scale.
BACK = {"infections": "incidence rate", "stay_log": "mean", "stay_cv": "coefficient of variation",
        "stay_sd": "standard deviation"}  # fmt: skip


@pytest.mark.parametrize("outcome", RATES + MEANS)
def test_pooled_values_equal_metafor(review: dict[str, Any], outcome: str) -> None:
    """metafor: rma(yi, vi, method = "REML") on escalc("IRLN" | "IR" | "IRS" | "IRFT", xi, ti)
    and escalc("MN" | "MNLN" | "CVLN" | "SDLN", mi, sdi, ni) of the nine studies
    (goldens.json); every study contributes with metafor's yi and vi."""
    g = GOLDENS[outcome]
    a = _analysis(review["json"], outcome)
    assert (a["measure"], a["method"], a["k"]) == (g["measure"], "REML", 9)
    for key in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "I2", "QE", "QEp",
                "pi_lower", "pi_upper"):  # fmt: skip
        assert a[key] == pytest.approx(g[key], rel=1e-6), key
    # a test of "rate = 1" or "mean = 0" answers no question: no p-value, as for proportions
    assert a["pvalue"] is None
    studies = sorted(a["studies"], key=lambda s: s["study_id"])
    assert [s["yi"] for s in studies] == pytest.approx(g["yi"], rel=1e-9)
    assert [s["vi"] for s in studies] == pytest.approx(g["vi"], rel=1e-9)
    assert a["not_pooled"] == []


@pytest.mark.parametrize("outcome", list(BACK))
def test_log_measures_are_back_transformed(review: dict[str, Any], outcome: str) -> None:
    """IRLN → incidence rate, MNLN → mean, CVLN, SDLN by exp: metafor's predict(res, transf =
    exp); IR, MN on their own scale, IRS and IRFT not back-transformed (pool --transf auto
    neither)."""
    g = GOLDENS[outcome]["transformed"]
    t = _analysis(review["json"], outcome)["transformed"]
    for key in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        assert t[key] == pytest.approx(g[key], rel=1e-6), key
    for other in set(RATES + MEANS) - set(BACK):
        assert _analysis(review["json"], other)["transformed"] is None


def test_grade_states_the_rate_not_its_log(review: dict[str, Any]) -> None:
    """GRADE has no rule for a single-group rate: the reason quotes its CI as a rate."""
    g = GOLDENS["infections"]["transformed"]
    rows = {r["outcome"]: r for r in review["json"]["grade"]}
    reason = rows["infections"]["domains"]["imprecision"]["reason"]
    assert f"95% CI {g['ci_lower']:.3g} to {g['ci_upper']:.3g}" in reason
    assert rows["infections"]["relative"] is None


def _half_up(x: float) -> int:
    """Round half away from zero (GRADEpro's whole numbers; every x here is positive)."""
    return int(x + 0.5)


def _expected_sof() -> dict[str, str]:
    """The summary of findings' last column for each outcome, by hand from the metafor goldens.

    Rates: events per N units of person-time, N the first of 1,000, 10,000, ... at which the
    rounded rate is at least 10: IRLN's rate (predict(res, transf = exp)) 0.0026667 per
    catheter-day is 2.67 per 1,000 (3: too coarse) and 26.67 per 10,000 -> 27, its CI
    0.0014078 to 0.0050513 -> 14 to 51; IR's 0.0025747 (0.0012035 to 0.0039459) -> 26 (12 to
    39), no unit in the protocol. Means, CV and SD with four significant digits, as the report.
    """
    rate, raw = GOLDENS["infections"]["transformed"], GOLDENS["infections_raw"]
    for r in (rate, raw):
        assert _half_up(1_000 * r["estimate"]) < 10 <= _half_up(10_000 * r["estimate"])
    cells = {
        "infections": (rate, "catheter-days"),
        "infections_raw": (raw, "units of person-time as extracted"),
    }
    out = {
        name: f"{_half_up(1e4 * r['estimate'])} per 10,000 {unit} (from "
        f"{_half_up(1e4 * r['ci_lower'])} to {_half_up(1e4 * r['ci_upper'])}); single group, no "
        "comparator"
        for name, (r, unit) in cells.items()
    }
    assert out["infections"].startswith("27 per 10,000 catheter-days (from 14 to 51)")
    for name, statistic, units in (
        ("stay", "mean", " days"),
        ("stay_log", "mean", " days"),
        ("stay_cv", "coefficient of variation", ""),
        ("stay_sd", "standard deviation", " days"),
    ):
        g = GOLDENS[name].get("transformed") or GOLDENS[name]  # MN is on its own scale
        lo, hi = (format_significant(g[k]) for k in ("ci_lower", "ci_upper"))
        out[name] = (
            f"{statistic} {format_significant(g['estimate'])}{units} ({lo} to {hi}); single "
            "group, no comparator"
        )
    assert out["stay"] == "mean 38.32 days (24.90 to 51.75); single group, no comparator"
    for name, measure, scale in (("infections_sqrt", "IRS", "square root"),
                                 ("infections_ft", "IRFT", "Freeman-Tukey")):  # fmt: skip
        out[name] = (
            f"– (no absolute effect: {measure} is pooled on the {scale} scale, which the "
            "report does not back-transform; pool as IRLN or IR for an incidence rate a reader "
            "can use)"
        )
    return out


def test_summary_of_findings_gives_the_single_group_value(review: dict[str, Any]) -> None:
    """GRADE reports a single group's rate per N person-time units, its mean, CV or SD in its
    units, with the 95% CI and no comparator (GRADE guidelines 12): in sof.csv, sof.docx,
    sof.html, the report's HTML and report.json, from the same back-transformed values."""
    import docx

    expected = _expected_sof()
    base = review["base"]
    with (base / "sof" / "sof.csv").open(encoding="utf-8", newline="") as fh:
        csv_rows = {r["outcome"]: r for r in csv.DictReader(fh)}
    report = json.loads((base / "report" / "report.json").read_text(encoding="utf-8"))
    json_rows = {r["outcome"]: r["cells"] for r in report["summary_of_findings"]["rows"]}
    document = docx.Document(str(base / "sof" / "sof.docx"))
    docx_cells = {c.text for row in document.tables[0].rows for c in row.cells}
    html = (base / "sof" / "sof.html").read_text(encoding="utf-8")
    report_html = (base / "report" / "report.html").read_text(encoding="utf-8")
    for outcome, text in expected.items():
        assert csv_rows[outcome]["Risk difference with intervention"] == text, outcome
        assert csv_rows[outcome]["Risk with comparator"] == "–"
        assert csv_rows[outcome]["Relative effect (95% CI)"] == "–"
        assert json_rows[outcome][5] == text, outcome
        assert text in docx_cells, outcome
        escaped = text.replace("&", "&amp;")
        assert f"<td>{escaped}</td>" in html and f"<td>{escaped}</td>" in report_html, outcome
    # a rate's follow-up beside the participants (none recorded for rates): Σ catheter-days
    days = sum(d["ti"] for d in DATA)
    follow_up = f"– (9 non-randomised studies); follow-up {days:,.0f} catheter-days"
    assert csv_rows["infections"]["№ of participants (studies)"] == follow_up
    assert json_rows["infections"][1] == follow_up
    grade = {g["outcome"]: g for g in report["grade"]}
    a = grade["infections"]["absolute"]
    t = GOLDENS["infections"]["transformed"]
    assert grade["infections"]["kind"] == "rate"
    assert (a["per"], a["rate_per"], a["person_time_unit"]) == (10_000, 27, "catheter-days")
    assert a["person_time"] == days
    for key in ("rate", "ci_lower", "ci_upper"):  # the report's own transformed values
        assert a[key] == pytest.approx(t["estimate" if key == "rate" else key], rel=1e-12)
    m = grade["stay_sd"]["absolute"]
    assert grade["stay_sd"]["kind"] == "mean" and m["statistic"] == "standard deviation"
    assert m["value"] == pytest.approx(GOLDENS["stay_sd"]["transformed"]["estimate"], rel=1e-12)
    assert grade["infections_sqrt"]["absolute"] is None
    assert grade["infections_sqrt"]["absolute_note"].startswith("no absolute effect: IRS")


def test_terminal_headline_shows_the_rate(review: dict[str, Any]) -> None:
    g = GOLDENS["infections"]["transformed"]
    head = f"IRLN {format_significant(g['estimate'])} ({format_significant(g['ci_lower'])} to "
    assert head in review["text"]


def test_json_report_carries_them(review: dict[str, Any]) -> None:
    report = json.loads((review["base"] / "report" / "report.json").read_text(encoding="utf-8"))
    for outcome in RATES + MEANS:
        a = _analysis(report, outcome)
        assert a["estimate"] == pytest.approx(GOLDENS[outcome]["estimate"], rel=1e-6)
        assert a["tau2"] == pytest.approx(GOLDENS[outcome]["tau2"], rel=1e-6)
    t = _analysis(report, "infections")["transformed"]
    assert t["estimate"] == pytest.approx(GOLDENS["infections"]["transformed"]["estimate"], 1e-6)
    arms = _analysis(report, "infections")["studies"][0]["arms"]
    assert {"events", "person_time"} <= set(arms[0])


def _section(html: str, outcome: str) -> str:
    start = html.index(f'id="outcome-{outcome}"')
    end = html.find('id="outcome-', start + 1)
    return html[start : end if end > 0 else len(html)]


def _sig(x: float) -> str:
    return format_significant(x, typographic=True)


def test_html_report_shows_the_back_transformed_scale(review: dict[str, Any]) -> None:
    """The headline, the leave-one-out and the DL rows of the IRLN and MNLN outcomes on the
    rate / mean scale (metafor: predict, leave1out with transf = exp); MN as it is."""
    html = (review["base"] / "report" / "report.html").read_text(encoding="utf-8")
    for outcome, label in BACK.items():
        g = GOLDENS[outcome]
        sec = _section(html, outcome)
        t = g["transformed"]
        assert f"<b>{_sig(t['estimate'])}</b>" in sec
        assert f"{_sig(t['ci_lower'])} to {_sig(t['ci_upper'])}" in sec
        assert f"{_sig(t['pi_lower'])} to {_sig(t['pi_upper'])}" in sec
        # the summary's headline
        assert f"{_sig(t['estimate'])} ({_sig(t['ci_lower'])} to {_sig(t['ci_upper'])})" in html
        assert f"Estimate ({label})" in sec
        assert f"shown back-transformed as {label}" in sec
        loo = g["leave1out_transformed"]
        for i in range(len(loo["estimate"])):
            assert f"{_sig(loo['ci_lower'][i])} to {_sig(loo['ci_upper'][i])}" in sec, i
        dl = g["dl_transformed"]
        assert f"{_sig(dl['ci_lower'])} to {_sig(dl['ci_upper'])}" in sec
    sec = _section(html, "stay")
    g = GOLDENS["stay"]
    assert f"<b>{g['estimate']:.3f}</b>" in sec
    assert "back-transformed" not in sec
    sec = _section(html, "infections")
    assert "Person-time" in sec  # the forest plot's raw data
    t = GOLDENS["infections"]["transformed"]  # the forest plot's pooled row, as many digits
    assert f"{_sig(t['estimate'])} [{_sig(t['ci_lower'])}, {_sig(t['ci_upper'])}]" in sec


def test_r_script_reproduces_every_pool(review: dict[str, Any]) -> None:
    """``export --r-script``: metafor recomputes each yi/vi from xi, ti / mi, sdi, ni (the
    script stops on a difference) and refits every outcome."""
    script = review["base"] / "check.R"
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("R is not installed (apt-get install -y r-cran-metafor)")
    probe = subprocess.run([rscript, "-e", "library(metafor)"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip("R's metafor is not installed (apt-get install -y r-cran-metafor)")
    done = subprocess.run([rscript, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    checks = dict(re.findall(r"^metareview-check (\S+) (.+)$", done.stdout, flags=re.MULTILINE))
    assert set(checks) == set(RATES + MEANS)
    for outcome, numbers in checks.items():
        b, se, lo, hi, tau2 = (float(x) for x in numbers.split())
        g = GOLDENS[outcome]
        assert (b, se, lo, hi, tau2) == pytest.approx(
            (g["estimate"], g["se"], g["ci_lower"], g["ci_upper"], g["tau2"]), rel=1e-6
        ), outcome


def _digest(project: Path) -> str:
    return hashlib.sha256((project / "project.sqlite").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"infections": {"person_time": "0"}}, "person_time", "person-time must be > 0"),
        ({"infections": {"person_time": "-5"}}, "person_time", "person-time must be > 0"),
        ({"stay": {"sd": "-7"}}, "sd", "must not be negative"),
        ({"stay": {"n": ""}}, "n", "no number of participants (n)"),
        ({"infections": {"person_time": ""}}, "person_time", "no person-time"),
        ({"stay_log": {"mean": "0"}}, "mean", "MNLN takes the log of the mean"),
    ],
)
def test_bad_numbers_name_study_and_field_and_store_nothing(
    built: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    field: str,
    says: str,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(built / "project", project)
    _filled(built / "form.csv", tmp_path / "filled.csv", change)
    before = _digest(project)
    code = main(["extract", str(project), "--import", str(tmp_path / "filled.csv"),
                 "--reviewer", "Ana"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in err and f"column {field!r}" in err, err
    assert "study Author1 2001" in err, err
    assert _digest(project) == before
