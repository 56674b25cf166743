"""A review of the user's own, from search records to the report, through commands alone.

The synthetic review in ``tests/data/e2e`` (see its README: invented trials, not evidence) goes
through ``init``, ``import`` (PubMed XML, an Embase RIS export, a ClinicalTrials.gov API v2 page
with posted results), ``dedupe``, ``decide``, ``extract --from-registry``, ``extract --template``,
``extract --import``, ``analyse --json``, ``report`` and ``export --r-script``: nothing is written
by hand but the protocol and the numbers a reviewer types into the extraction form.

Expected values are computed by hand in each test from the numbers in the fixtures (the
ALPHA-B registry results, the BETA-B abstract); the exported R script is run with metafor when R
is installed and must reproduce every pooled estimate to 1e-6.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from metareview.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "e2e"

#: Decisions a reviewer makes, by record id in import order (pubmed.xml 1-4, search.ris 5-8,
#: ctgov.json 9-10); record 5 is the RIS duplicate of record 3 and is not screened.
DECISIONS = """record_id,stage,decision,reason,reviewer,note
1,title_abstract,include,,Ana,
2,title_abstract,include,,Ana,
3,title_abstract,include,,Ana,
4,title_abstract,exclude,design,Ana,narrative review
6,title_abstract,include,,Ana,
7,title_abstract,exclude,design,Ana,survey
8,title_abstract,exclude,population,Ana,healthy volunteers
9,title_abstract,include,,Ana,
10,title_abstract,include,,Ana,
1,full_text,include,,Ana,
2,full_text,exclude,outcomes,Ana,sleep quality only
3,full_text,include,,Ana,
6,full_text,include,,Ana,
9,full_text,include,,Ana,
10,full_text,include,,Ana,
"""

BETA_QUOTE = "The BSS changed by -6.2 (SD 5.8) with drug A (n=38) and by -4.0 (SD 6.0) with placebo"


def _fill(template: Path, filled: Path) -> None:
    """What the reviewer does with the form: keep the registry's ALPHA-B values (confirming
    them) and type BETA-B's numbers from its abstract (PMID 39990003)."""
    with template.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    bss = [r for r in rows if r["outcome"] == "bss"]
    beta = {r["study_id"] for r in bss} - {r["study_id"] for r in bss if r["n"]}
    assert len(beta) == 1, "one study (BETA-B) has no registry results"
    out = []
    for r in rows:
        if r["study_id"] in beta:
            arm = "Drug A 25 mg" if r["group"] == "intervention" else "Placebo"
            common = {"arm": arm, "timepoint": "12 weeks", "status": "reported",
                      "source_record": "pmid:39990003",
                      "location": "Abstract, Results"}  # fmt: skip
            if r["outcome"] == "bss":
                nums = (
                    ("38", "-6.2", "5.8") if r["group"] == "intervention" else ("39", "-4.0", "6.0")
                )
                r.update(common, n=nums[0], mean_change=nums[1], sd_change=nums[2],
                         quote=BETA_QUOTE)  # fmt: skip
            elif r["outcome"] == "sae":
                r.update(common, events="2" if r["group"] == "intervention" else "1",
                         quote="Two participants on drug A and one on placebo had a serious "
                         "adverse event")  # fmt: skip
                assumed = dict(r, events="", n="40", status="assumed",
                               location="Abstract, Methods", quote="Eighty adults",
                               why="80 randomised; arm sizes not reported, 1:1 assumed",
                               )  # fmt: skip
                out.append(assumed)
            elif r["outcome"] == "characteristics":
                r.update(status="reported", source_record="pmid:39990003",
                         location="Abstract, Methods",
                         design="randomised, placebo-controlled")  # fmt: skip
        out.append(r)
    with filled.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(out)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run every command once; the tests below read what they left."""
    tmp = tmp_path_factory.mktemp("e2e")
    project = tmp / "review"
    outputs: dict[str, object] = {"dir": project, "tmp": tmp}

    def run(args: list[str]) -> str:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(args)
        assert code == 0, args
        return buf.getvalue()

    run(["init", str(project), "--protocol", str(DATA / "protocol.yaml")])
    run(["import", str(project), str(DATA / "pubmed.xml")])
    run(["import", str(project), str(DATA / "search.ris"), "--source", "embase"])
    run(["import", str(project), str(DATA / "ctgov.json")])
    run(["dedupe", str(project)])
    (tmp / "decisions.csv").write_text(DECISIONS, encoding="utf-8")
    run(["decide", str(project), str(tmp / "decisions.csv")])
    outputs["registry"] = json.loads(run(["extract", str(project), "--from-registry", "--json"]))
    run(["extract", str(project), "--template", str(tmp / "form.csv")])
    _fill(tmp / "form.csv", tmp / "filled.csv")
    run(["extract", str(project), "--import", str(tmp / "filled.csv"), "--reviewer", "Ana"])
    outputs["json"] = json.loads(run(["analyse", str(project), "--json"]))
    outputs["text"] = run(["analyse", str(project)])
    run(["report", str(project), "--out", str(tmp / "report")])
    run(["export", str(project), "--r-script", str(tmp / "check.R")])
    return outputs


def test_prisma_counts_come_from_the_store(review: dict[str, object]) -> None:
    """By hand: 4 PubMed + 4 Embase records (databases), 2 registry records; the RIS BETA-B
    record duplicates PMID 39990003 by DOI (1 duplicate); 9 screened, 3 excluded at title/
    abstract, 6 assessed, 1 excluded at full text (outcomes); ALPHA-B (PMID 39990001, the
    conference abstract, NCT09990001) and BETA-B (PMID 39990003, NCT09990002): 2 studies, 5
    reports."""
    prisma = review["json"]["prisma"]  # type: ignore[index]
    assert prisma["identified"] == {"databases": 8, "registers": 2, "other": 0}
    assert prisma["duplicates"] == 1
    assert (prisma["screened"], prisma["screen_excluded"], prisma["assessed"]) == (9, 3, 6)
    assert prisma["excluded_reasons"] == {"outcomes": 1}
    assert (prisma["studies_included"], prisma["reports_included"]) == (2, 5)


def test_registry_fill_found_alpha_b(review: dict[str, object]) -> None:
    reg = review["registry"]
    assert reg["values"] > 0 and len(reg["studies"]) == 1  # type: ignore[index]


def _analysis(review: dict[str, object], outcome: str) -> dict[str, object]:
    for a in review["json"]["analyses"]:  # type: ignore[index]
        if a["outcome"] == outcome:
            return a  # type: ignore[no-any-return]
    raise KeyError(outcome)


def test_mean_difference_by_hand(review: dict[str, object]) -> None:
    """ALPHA-B (registry): -8.4 (6.1), n 52 vs -4.9 (6.4), n 56; BETA-B (abstract): -6.2
    (5.8), n 38 vs -4.0 (6.0), n 39. MD_i = m1 - m2, v_i = sd1^2/n1 + sd2^2/n2. Q = 0.52 < df
    = 1, so REML's tau^2 is 0 (metafor agrees, see the R check) and the pooled MD is the
    inverse-variance mean."""
    y = [-8.4 - -4.9, -6.2 - -4.0]
    v = [6.1**2 / 52 + 6.4**2 / 56, 5.8**2 / 38 + 6.0**2 / 39]
    w = [1 / x for x in v]
    est = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    se = 1 / math.sqrt(sum(w))
    a = _analysis(review, "bss")
    assert a["k"] == 2 and a["measure"] == "MD" and a["method"] == "REML"
    assert a["tau2"] == pytest.approx(0, abs=1e-10)
    assert a["estimate"] == pytest.approx(est, rel=1e-6)
    assert a["se"] == pytest.approx(se, rel=1e-6)
    assert a["ci_lower"] == pytest.approx(est - 1.959963984540054 * se, rel=1e-6)
    assert a["transformed"] is None
    studies = {s["study_id"]: s for s in a["studies"]}
    assert sorted(s["yi"] for s in studies.values()) == pytest.approx(sorted(y))
    assert sum(s["weight"] for s in studies.values()) == pytest.approx(100)
    # every input carries its source: the registry record or the abstract
    sources = [i["source"] for s in a["studies"] for i in s["inputs"]]
    assert any("NCT09990001" in src and "resultsSection" in src for src in sources)
    assert any("39990003" in src and "Abstract, Results" in src for src in sources)


def test_risk_ratio_on_its_natural_scale(review: dict[str, object]) -> None:
    """SAE: ALPHA-B 4/60 vs 2/60 (registry), BETA-B 2/40 vs 1/40 (abstract; 40 per arm
    assumed). Both RRs are 2, so the pooled RR is exactly 2: log RR = ln 2 in the JSON and
    2.00 where a person reads it."""
    a = _analysis(review, "sae")
    assert a["k"] == 2
    assert a["estimate"] == pytest.approx(math.log(2), rel=1e-9)
    assert a["transformed"]["estimate"] == pytest.approx(2.0, rel=1e-9)  # type: ignore[index]
    assert a["pi_lower"] is None  # k = 2: no prediction interval
    assert "RR 2.00" in str(review["text"])
    # dropouts due to adverse events: ALPHA-B only (5/60 vs 1/60): RR 5, k = 1, no Q
    d = _analysis(review, "dropout_ae")
    assert d["k"] == 1 and d["QE"] is None
    assert d["transformed"]["estimate"] == pytest.approx(5.0)  # type: ignore[index]
    assert [n["study"] for n in d["not_pooled"]]  # BETA-B, with its reason


def test_no_unconfirmed_registry_values_remain(review: dict[str, object]) -> None:
    for a in review["json"]["analyses"]:  # type: ignore[index]
        assert not any("not yet confirmed" in w for w in a["warnings"])
    assert "not yet confirmed" not in str(review["text"])


def test_report_reads_as_the_users_review(review: dict[str, object]) -> None:
    html = (Path(review["tmp"]) / "report" / "report.html").read_text(encoding="utf-8")  # type: ignore[arg-type]
    assert "Drug A versus placebo for condition B" in html
    assert "Studies included in review" in html
    assert "rebuild" not in html.lower()
    assert BETA_QUOTE.split(" with drug A")[0] in html  # provenance quote of an extracted value
    figures = Path(review["tmp"]) / "report" / "figures"  # type: ignore[arg-type]
    assert (figures / "bss-forest.svg").is_file() and (figures / "prisma.svg").is_file()


def test_r_script_reproduces_every_pooled_estimate(review: dict[str, object]) -> None:
    script = Path(review["tmp"]) / "check.R"  # type: ignore[arg-type]
    assert script.is_file() and script.with_suffix(".csv").is_file()
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("R is not installed (apt-get install -y r-cran-metafor)")
    probe = subprocess.run([rscript, "-e", "library(metafor)"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip("R's metafor is not installed (apt-get install -y r-cran-metafor)")
    done = subprocess.run([rscript, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    checks = re.findall(r"^metareview-check (\S+) (.+)$", done.stdout, flags=re.MULTILINE)
    assert {c[0] for c in checks} == {"bss", "sae", "dropout_ae"}
    for outcome, numbers in checks:
        b, se, lo, hi, tau2 = (float(x) for x in numbers.split())
        a = _analysis(review, outcome)
        assert a["estimate"] == pytest.approx(b, rel=1e-6, abs=1e-9)
        assert a["se"] == pytest.approx(se, rel=1e-6)
        assert a["ci_lower"] == pytest.approx(lo, rel=1e-6)
        assert a["ci_upper"] == pytest.approx(hi, rel=1e-6)
        assert a["tau2"] == pytest.approx(tau2, rel=1e-6, abs=1e-9)
