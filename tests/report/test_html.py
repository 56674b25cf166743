"""Tests of the HTML/JSON report (structure, escaping, provenance, published check)."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from metareview.effects import escalc
from metareview.errors import InputError
from metareview.models import rma
from metareview.report.html import build_report_data, write_report
from metareview.review.folder import bundled_example, run_folder
from metareview.review.result import ReviewResult


class _Collect(HTMLParser):
    """Collects tags, provenance spans (with their card text) and inline SVGs."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cards: list[tuple[str, str]] = []  # (classes, card text)
        self._stack: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        cls = a.get("class") or ""
        if tag == "span" and cls.split()[:1] == ["q"]:
            self._stack.append((tag, cls, []))
        elif tag == "span" and self._stack:
            self._stack.append((tag, "", []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._stack:
            _, cls, parts = self._stack.pop()
            if cls:
                self.cards.append((cls, "".join(parts)))
            elif self._stack:
                self._stack[-1][2].extend(parts)

    def handle_data(self, data: str) -> None:
        if self._stack:
            self._stack[-1][2].append(data)


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def result() -> ReviewResult:
    return run_folder(bundled_example())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, result: ReviewResult) -> Path:
    return write_report(result, tmp_path_factory.mktemp("report"))


def test_files_written(report: Path, result: ReviewResult) -> None:
    out = report.parent
    assert report.name == "report.html"
    assert (out / "report.json").is_file()
    figures = {p.name for p in (out / "figures").iterdir()}
    for a in result.analyses:
        slug = a.outcome.lower()
        if a.k == 0:
            assert not any(f.startswith(f"{slug}-") for f in figures)
            continue
        assert {f"{slug}-forest.{ext}" for ext in ("svg", "png", "pdf")} <= figures
        has_funnel = f"{slug}-funnel.svg" in figures
        assert has_funnel == (a.k >= 3)
    assert not list(out.glob(".*.tmp"))


def test_self_contained(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    tags = parse(html).tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object")]
    for _, attrs in tags:
        for name, value in attrs.items():
            if name in ("src", "srcset", "data"):
                pytest.fail(f"external resource attribute {name}={value!r}")
            if name == "href" and value:
                assert value.startswith(("#", "https://", "http://")), value
    assert "default-src 'none'" in html  # CSP: nothing may load, no script may run
    assert "@import" not in html
    assert not re.findall(r"url\((?!#)", html)  # only in-page references (SVG clip paths)


def test_plots_inlined_per_outcome(report: Path, result: ReviewResult) -> None:
    html = report.read_text(encoding="utf-8")
    for a in result.analyses:
        slug = a.outcome.lower()
        if a.k:
            start = html.index(f'id="forest-{slug}"')
            assert html.index("<svg", start) < html.index("</figure>", start)
        else:
            assert f'id="forest-{slug}"' not in html
    assert 'id="funnel-mrss"' in html
    assert 'id="funnel-sae"' not in html  # k = 2


def test_every_number_has_provenance(report: Path) -> None:
    cards = [(c, t) for c, t in parse(report.read_text(encoding="utf-8")).cards
             if "q-legend" not in c]  # fmt: skip
    assert len(cards) > 40
    statuses = {c.split()[1] for c, _ in cards}
    assert statuses == {"st-reported", "st-derived", "st-assumed"}
    for cls, text in cards:
        assert "Source" in text, (cls, text)
        if "st-assumed" in cls:
            assert "Why" in text, text  # assumed numbers say why
            assert text.lstrip().split()[0] != ""


def test_assumed_numbers_marked(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert '<sup class="mark" aria-label="assumed">A</sup>' in html
    assert 'class="assumed-row"' in html


def test_published_check_in_report(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    haq = html[html.index('id="outcome-haq"') : html.index('id="outcome-dropout_ae"')]
    assert "not consistent as printed" in haq
    assert "Likely sign typo in the upper bound" in haq
    mrss = html[html.index('id="outcome-mrss"') : html.index('id="outcome-haq"')]
    assert "internally consistent" in mrss
    assert "p = 0.0427" in mrss  # implied by the published CI (hand calculation in
    # tests/models/test_published.py)


def test_report_json(report: Path) -> None:
    data = json.loads((report.parent / "report.json").read_text(encoding="utf-8"))
    by = {a["outcome"]: a for a in data["analyses"]}
    assert set(by) == {"mRSS", "HAQ", "dropout_ae", "sae"}
    assert by["mRSS"]["published"]["check"]["consistent"] is True
    haq = by["HAQ"]["published"]["check"]
    assert haq["consistent"] is False
    assert haq["corrected"]["ci_ub"] == pytest.approx(0.006)
    assert "fit" not in by["mRSS"] and "transf" not in by["mRSS"]
    for a in data["analyses"]:
        for s in a["studies"]:
            for inp in s["inputs"]:
                assert inp["status"] in ("reported", "derived", "assumed")


def _minimal(name: str = "Study <script>alert(1)</script>") -> dict[str, Any]:
    # Two studies, yi = (1, 3), vi = (1, 1); the report refits them (EE: beta = 2).
    return {
        "title": "A <b>bold</b> title",
        "question": "Does <i>x</i> work?",
        "sources": [{"key": "s1", "citation": "Paper & co", "url": "javascript:alert(1)"}],
        "analyses": [{
            "outcome": "pain",
            "measure": "MD",
            "method": "EE",
            "k": 2,
            "estimate": 2.0,
            "ci_lower": 2 - 1.959964 / math.sqrt(2),
            "ci_upper": 2 + 1.959964 / math.sqrt(2),
            "studies": [
                {"study": name, "yi": 1.0, "vi": 1.0,
                 "inputs": [{"name": "yi", "value": 1.0, "status": "reported",
                             "source": {"ref": "s1", "where": "Table <2>"}}]},
                {"study": "Other", "yi": 3.0, "vi": 1.0, "inputs": []},
            ],
            "published": {"estimate": 2.1, "ci_lower": 0.7, "ci_upper": 3.5},
        }],
    }  # fmt: skip


def test_user_text_is_escaped(tmp_path: Path) -> None:
    html = write_report(_minimal(), tmp_path).read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "A &lt;b&gt;bold&lt;/b&gt; title" in html
    assert "Table &lt;2&gt;" in html
    assert "javascript:" not in html  # unsafe link dropped, citation kept as text
    assert "Paper &amp; co" in html


def test_dict_input_is_not_refitted(tmp_path: Path) -> None:
    # The report is a pure function of the result: no fit given, no plots; no check given, no
    # check of the published figure, and no comparison worded by the report.
    html = write_report(_minimal("Alpha"), tmp_path / "a").read_text(encoding="utf-8")
    assert 'id="forest-pain"' not in html and "<svg" not in html
    assert "Check of the published figures" not in html
    assert "Ours against published" not in html
    assert "check" not in build_report_data(_minimal("Alpha"))["analyses"][0]["published"]
    # With the fit the result carries: EE weights 50% each (hand calculation: equal
    # variances); no funnel for k = 2.
    data = _minimal("Alpha")
    data["analyses"][0]["fit"] = rma([1.0, 3.0], [1.0, 1.0], method="EE", measure="MD",
                                     slab=["Alpha", "Other"])  # fmt: skip
    data["analyses"][0]["comparison"] = "difference (ours - published) -0.100"
    html = write_report(data, tmp_path / "b").read_text(encoding="utf-8")
    svg = html[html.index('id="forest-pain"') :]
    assert "50.0%" in svg
    assert "No funnel plot: k = 2 studies" in html
    assert "Ours against published:</b> Difference (ours - published) -0.100." in html


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_report(42, tmp_path)
    with pytest.raises(InputError, match="analyses"):
        write_report({"analyses": "none"}, tmp_path)
    assert not (tmp_path / "report.html").exists()


def _selection() -> dict[str, Any]:
    # A hand-made flow: 12 database records, 2 duplicates, 10 screened, 6 excluded, 4 assessed,
    # 1 excluded for "design", 3 reports of 2 studies included; one amendment.
    counts = {
        "databases": {"PubMed <db>": 12}, "registers": {}, "other_sources": {},
        "duplicates": 2, "automation": 0, "removed_other": 0, "screened": 10,
        "screen_excluded": 6, "sought": 4, "not_retrieved": 0, "assessed": 4,
        "excluded_reasons": {"design": 1}, "other_sought": 0, "other_not_retrieved": 0,
        "other_assessed": 0, "other_excluded_reasons": {}, "other_duplicates": 0,
        "studies_included": 2, "reports_included": 3,
        "pending": {"title_abstract": 0, "full_text": 0, "other_full_text": 0},
        "reason_labels": {"design": "Randomised <trials> only"},
        "identified": {"databases": 12, "registers": 0, "other": 0},
    }
    return {
        "prisma": counts,
        "amendments": [{
            "version": 2, "seen_at": "2024-01-02T03:04:05+00:00", "seen_by": "ann",
            "note": "widened <script>alert(2)</script>",
            "changes": [{"field": "eligibility[0].text", "old": "adults", "new": "all ages"}],
        }],
        "checklist": {
            "summary": {"answered": 1, "partial": 0, "missing": 1},
            "items": [
                {"id": "1", "section": "Title", "topic": "Title", "status": "answered",
                 "where": "protocol: title"},
                {"id": "2", "section": "Abstract", "topic": "Abstract", "status": "missing",
                 "where": "narrative <b>x</b>"},
            ],
        },
        "project_dir": None,
        "reviewers": ["ann"],
        "n_decisions": 14,
    }  # fmt: skip


def test_study_selection_section(tmp_path: Path) -> None:
    data = _minimal("Alpha")
    data["selection"] = _selection()
    out = write_report(data, tmp_path)
    html = out.read_text(encoding="utf-8")
    section = html[html.index('<section id="selection">') : html.index('<section id="studies">')]
    figure = re.search(r'<figure class="prisma" id="prisma-flow">(.*?)</figure>', section, re.S)
    assert figure is not None and "<svg" in figure.group(1)
    assert "Records screened (n\u00a0=\u00a010)" in figure.group(1)
    assert "PubMed &lt;db&gt;" in figure.group(1)  # escaped by matplotlib's SVG writer
    assert "<td>Records excluded</td><td>6</td>" in section  # no other-methods column
    assert "<td>1 (design 1)</td>" in section
    assert "14 decisions recorded (screened by ann)" in section
    assert "widened &lt;script&gt;alert(2)&lt;/script&gt;" in section
    assert "<code>eligibility[0].text</code>: adults → all ages" in section
    assert "narrative &lt;b&gt;x&lt;/b&gt;" in section
    assert "Of the 2 checklist items, 1 are answered" in section
    assert "<script" not in html
    assert (tmp_path / "figures" / "prisma.svg").is_file()
    assert 'href="#selection"' in html


def test_no_selection_no_section(tmp_path: Path) -> None:
    html = write_report(_minimal("Alpha"), tmp_path).read_text(encoding="utf-8")
    assert 'id="selection"' not in html and not (tmp_path / "figures" / "prisma.svg").exists()


def _user_result() -> dict[str, Any]:
    """A user's review: no published figures, one two-group RR outcome with arms, k = 2.

    Trial B has no event in the intervention arm (escalc adds 0.5 to its cells, metafor's
    default ``add=1/2, to="only0"``); trial C has no event in either arm and is left out
    (metafor's ``drop00=TRUE``), which the analysis' warnings say.
    """
    ai, n1, ci, n2 = [12, 0], [100, 40], [18, 3], [100, 38]
    dat = escalc("RR", ai=ai, bi=[a - b for a, b in zip(n1, ai, strict=True)], ci=ci,
                 di=[a - b for a, b in zip(n2, ci, strict=True)])  # fmt: skip
    fit = rma(dat["yi"], dat["vi"], method="REML", measure="RR", slab=["Trial A", "Trial B"])
    loo = [
        {"slab": "Trial A", "k": 1, "estimate": float(dat["yi"][1]), "ci_lb": -4.0,
         "ci_ub": 1.0, "pval": 0.2, "tau2": 0.0, "I2": 0.0},
        {"slab": "Trial B", "k": 1, "estimate": float(dat["yi"][0]), "ci_lb": -1.2,
         "ci_ub": 0.3, "pval": 0.3, "tau2": 0.0, "I2": 0.0},
    ]  # fmt: skip
    studies = []
    for i, label in enumerate(["Trial A", "Trial B"]):
        studies.append({
            "study": label, "yi": float(dat["yi"][i]), "vi": float(dat["vi"][i]),
            "weight": float(fit.weights[i]), "assumed": i == 1,
            "inputs": [{"name": "ai", "value": ai[i], "status": "reported",
                        "source": {"ref": "s1", "where": "Table 2"}}],
            "arms": [
                {"group": "intervention", "arm": "drug", "n": n1[i], "events": ai[i]},
                {"group": "comparator", "arm": "placebo", "n": n2[i], "events": ci[i]},
            ],
        })  # fmt: skip
    return {
        "title": "Drug X for condition Y",
        "question": {"population": "adults", "intervention": "drug X",
                     "comparator": "placebo", "outcomes": ["relapse"]},
        "sources": [{"key": "s1", "citation": "Trial A report"}],
        "analyses": [{
            "outcome": "relapse", "label": "Relapse at 12 months", "measure": "RR",
            "method": "REML", "test": "z", "level": 95.0, "better": "lower", "k": 2,
            "estimate": float(fit.beta), "ci_lower": float(fit.ci_lb),
            "ci_upper": float(fit.ci_ub), "pvalue": float(fit.pval), "tau2": float(fit.tau2),
            "I2": float(fit.I2), "QE": float(fit.QE), "QEp": float(fit.QEp),
            "pi_lower": float(fit.pi_lb), "pi_upper": float(fit.pi_ub),
            "published": None, "comparison": None, "fit": fit, "studies": studies,
            "leave1out": loo,
            "excluded": [{"study": "Trial C", "reason": "no events in either arm"}],
            "warnings": ["Trial C has zero events in both arms: it is left out of the risk "
                         "ratio (it carries no information on it)"],
        }],
    }  # fmt: skip


def test_user_report_has_no_bundled_wording(tmp_path: Path) -> None:
    data = _user_result()
    fit = data["analyses"][0]["fit"]
    html = write_report(data, tmp_path).read_text(encoding="utf-8")
    text = html.lower()
    assert "published" not in text  # no column, row, section or sentence about one
    assert "rebuild" not in text
    # The headline on the ratio scale: exp of the pooled log risk ratio and its CI.
    b, lo, hi = (math.exp(x) for x in (fit.beta, fit.ci_lb, fit.ci_ub))
    headline = f"RR {b:.2f} ({lo:.2f} to {hi:.2f})"
    glance = html[html.index('<section id="summary">') : html.index('<section id="methods">')]
    assert headline in glance
    outcome = html[html.index('id="outcome-relapse"') :]
    table = outcome[outcome.index('<table class="result">') : outcome.index("</table>")]
    assert f"<b>{b:.2f}</b>" in table and f"{lo:.2f} to {hi:.2f}" in table
    # k = 2: Q and I² shown, no prediction interval.
    assert "95% PI" not in table and "I²" in table
    assert "too few studies for a prediction interval" in outcome
    # The zero-event warning in the summary and at the top of the outcome section.
    warning = "Trial C has zero events in both arms"
    assert warning in glance and outcome.index(warning) < outcome.index("<table")
    # Leave-one-out on the ratio scale (exp of the log RR left in), no tau2/I2 for k = 1.
    loo = outcome[outcome.index("<h3>Leave-one-out</h3>") :]
    loo = loo[: loo.index("</table>")]
    assert f"{math.exp(data['analyses'][0]['leave1out'][0]['estimate']):.2f}" in loo
    assert f"{math.exp(-4.0):.2f} to {math.exp(1.0):.2f}" in loo
    assert "Estimate (RR)" in loo
    # The forest plot: raw data per arm, Favours labels, assumed inputs marked.
    forest = outcome[outcome.index('id="forest-relapse"') : outcome.index("</figure>")]
    for t in ("Intervention", "Comparator", "Events", "Total", ">12<", ">100<", ">18<", ">38<",
              "Favours intervention", "Favours comparator", "Trial B †",
              "† includes assumed inputs (see report)"):  # fmt: skip
        assert t in forest, t
    assert 'class="assumed-row"' in outcome


def test_single_study_and_proportion_tables(tmp_path: Path) -> None:
    # k = 1: no heterogeneity and no prediction interval; a proportion's leave-one-out and
    # sensitivity tables carry no p column.
    data = _user_result()
    a = data["analyses"][0]
    a.update(k=1, fit=None, studies=a["studies"][:1], leave1out=[], warnings=[])
    html = write_report(data, tmp_path / "k1").read_text(encoding="utf-8")
    table = html[html.index('<table class="result">') :]
    table = table[: table.index("</table>")]
    assert "95% PI" not in table and "I²" not in table and "τ²" not in table
    assert ">Single study<" in table
    prop = _minimal("Alpha")
    p = prop["analyses"][0]
    p.update(measure="PLO", estimate=0.2, ci_lower=0.1, ci_upper=0.3, published=None,
             leave1out=[{"slab": "Alpha", "k": 1, "estimate": 0.3, "ci_lb": 0.2,
                         "ci_ub": 0.4, "pval": 0.01}])  # fmt: skip
    html = write_report(prop, tmp_path / "pr").read_text(encoding="utf-8")
    loo = html[html.index("<h3>Leave-one-out</h3>") :]
    loo = loo[: loo.index("</table>")]
    assert "30.0%" in loo and ">p<" not in loo and "0.010" not in loo


def test_generic_log_ratio_and_transformed_preferred(tmp_path: Path) -> None:
    # A GEN log hazard ratio (scale "log") is shown exponentiated; the result's own
    # back-transformed values ("transformed") win over exp() when given.
    data = _minimal("Alpha")
    a = data["analyses"][0]
    a.update(measure="GEN", scale="log", estimate=math.log(0.7), ci_lower=math.log(0.44),
             ci_upper=math.log(1.1), published=None)  # fmt: skip
    html = write_report(data, tmp_path / "gen").read_text(encoding="utf-8")
    assert "Ratio 0.70 (0.44 to 1.10)" in html
    a["transformed"] = {"estimate": 0.71, "ci_lower": 0.45, "ci_upper": 1.12}
    html = write_report(data, tmp_path / "tr").read_text(encoding="utf-8")
    assert "Ratio 0.71 (0.45 to 1.12)" in html


def test_published_ratio_is_shown_as_printed(tmp_path: Path) -> None:
    # The pooled log RR is exponentiated; the published RR is printed as a ratio already.
    data = _user_result()
    data["analyses"][0]["published"] = {"estimate": 0.62, "ci_lower": 0.3, "ci_upper": 1.3}
    html = write_report(data, tmp_path).read_text(encoding="utf-8")
    table = html[html.index('<table class="result">') :]
    table = table[: table.index("</table>")]
    assert "<b>0.62</b>" in table and "0.30 to 1.30" in table
