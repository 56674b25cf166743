"""The PRISMA 2020 checklist, item by item, with where the project answers each.

The 27 items and their sub-items (42 entries) are those of the PRISMA 2020 checklist (Page MJ et
al. The PRISMA 2020 statement. BMJ 2021;372:n71, table 1); the descriptions here are short
paraphrases, not the checklist's wording. For each item :func:`prisma_checklist` says where the
project answers it (a protocol field, the search log, the screening decisions, the data and
analyses stored by later stages) or that it is missing; narrative items (rationale, discussion)
are always left to the authors.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from metareview.screening.amendments import amendments, protocol_versions
from metareview.screening.decisions import Screening

__all__ = ["ITEMS", "ChecklistEntry", "ChecklistItem", "prisma_checklist"]


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One PRISMA 2020 checklist item (``id`` as printed: ``"13a"``)."""

    id: str
    section: str
    topic: str
    description: str


@dataclass(frozen=True, slots=True)
class ChecklistEntry:
    """An item with the project's answer.

    ``status`` is ``answered``, ``partial`` or ``missing``; ``where`` says where the answer is
    (or what is missing).
    """

    item: ChecklistItem
    status: str
    where: str

    def to_dict(self) -> dict[str, str]:
        return {**asdict(self.item), "status": self.status, "where": self.where}


def _i(id: str, section: str, topic: str, description: str) -> ChecklistItem:
    return ChecklistItem(id, section, topic, description)


#: The PRISMA 2020 items in checklist order (descriptions paraphrased).
ITEMS: tuple[ChecklistItem, ...] = (
    _i("1", "Title", "Title", "The title says the report is a systematic review."),
    _i("2", "Abstract", "Abstract", "A structured abstract (PRISMA 2020 for Abstracts)."),
    _i("3", "Introduction", "Rationale", "Why the review is needed, given what is known."),
    _i("4", "Introduction", "Objectives", "The question(s) the review answers, stated explicitly."),
    _i(
        "5",
        "Methods",
        "Eligibility criteria",
        "Inclusion and exclusion criteria; how studies were grouped for synthesis.",
    ),
    _i(
        "6",
        "Methods",
        "Information sources",
        "Every database, register, website and other source, with the date each was last searched.",
    ),
    _i(
        "7",
        "Methods",
        "Search strategy",
        "The full search for each source, with filters and limits.",
    ),
    _i(
        "8",
        "Methods",
        "Selection process",
        "How eligibility was decided: reviewers per record "
        "and report, independence, automation tools.",
    ),
    _i(
        "9",
        "Methods",
        "Data collection process",
        "How data were collected from reports: collectors, independence, confirmation, tools.",
    ),
    _i("10a", "Methods", "Data items", "Outcomes sought, and which results were sought for each."),
    _i(
        "10b",
        "Methods",
        "Data items",
        "Other variables sought (participants, interventions, "
        "funding) and assumptions about missing information.",
    ),
    _i(
        "11",
        "Methods",
        "Study risk of bias assessment",
        "Tools and process used to assess risk of bias in the included studies.",
    ),
    _i("12", "Methods", "Effect measures", "The effect measure for each outcome."),
    _i("13a", "Methods", "Synthesis methods", "How studies were chosen for each synthesis."),
    _i(
        "13b",
        "Methods",
        "Synthesis methods",
        "How data were prepared (missing statistics, conversions).",
    ),
    _i(
        "13c", "Methods", "Synthesis methods", "How results of studies were tabulated or displayed."
    ),
    _i(
        "13d",
        "Methods",
        "Synthesis methods",
        "How results were combined: model, heterogeneity estimator, software.",
    ),
    _i("13e", "Methods", "Synthesis methods", "How causes of heterogeneity were explored."),
    _i("13f", "Methods", "Synthesis methods", "Sensitivity analyses."),
    _i(
        "14",
        "Methods",
        "Reporting bias assessment",
        "How risk of bias from missing results was assessed.",
    ),
    _i(
        "15",
        "Methods",
        "Certainty assessment",
        "How certainty in the body of evidence was assessed.",
    ),
    _i(
        "16a",
        "Results",
        "Study selection",
        "Results of the search and selection, with a flow diagram.",
    ),
    _i(
        "16b",
        "Results",
        "Study selection",
        "Studies that seem eligible but were excluded, and why.",
    ),
    _i("17", "Results", "Study characteristics", "Each included study with its characteristics."),
    _i("18", "Results", "Risk of bias in studies", "Risk of bias of each included study."),
    _i(
        "19",
        "Results",
        "Results of individual studies",
        "Per study and outcome: summary statistics and effect estimate with its precision.",
    ),
    _i(
        "20a",
        "Results",
        "Results of syntheses",
        "Characteristics and risk of bias of the studies in each synthesis.",
    ),
    _i(
        "20b",
        "Results",
        "Results of syntheses",
        "Each synthesis: estimate, confidence interval and heterogeneity.",
    ),
    _i("20c", "Results", "Results of syntheses", "Results of the heterogeneity investigations."),
    _i("20d", "Results", "Results of syntheses", "Results of the sensitivity analyses."),
    _i("21", "Results", "Reporting biases", "Risk of bias from missing results, per synthesis."),
    _i("22", "Results", "Certainty of evidence", "Certainty of the evidence for each outcome."),
    _i("23a", "Discussion", "Discussion", "Interpretation in the context of other evidence."),
    _i("23b", "Discussion", "Discussion", "Limitations of the evidence."),
    _i("23c", "Discussion", "Discussion", "Limitations of the review process."),
    _i("23d", "Discussion", "Discussion", "Implications for practice, policy and research."),
    _i(
        "24a",
        "Other information",
        "Registration and protocol",
        "Registration (register and number), or that the review was not registered.",
    ),
    _i(
        "24b",
        "Other information",
        "Registration and protocol",
        "Where the protocol can be read, or that none was written.",
    ),
    _i(
        "24c",
        "Other information",
        "Registration and protocol",
        "Amendments to the registration or protocol.",
    ),
    _i("25", "Other information", "Support", "Sources of support and the funders' role."),
    _i("26", "Other information", "Competing interests", "Competing interests of the authors."),
    _i(
        "27",
        "Other information",
        "Availability of data, code and other materials",
        "Which data, code and materials are public, and where.",
    ),
)

_NARRATIVE = "narrative for the authors to write in the report"


def _tables_with_rows(conn: sqlite3.Connection, *prefixes: str) -> list[str]:
    """Tables whose name starts with one of ``prefixes`` and that hold at least one row."""
    names = [
        str(r[0])
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    out = []
    for name in names:
        if (
            any(name.startswith(p) for p in prefixes)
            and name.replace("_", "").isalnum()
            and conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()
        ):
            out.append(name)
    return out


def prisma_checklist(screening: Screening) -> list[ChecklistEntry]:
    """Every PRISMA 2020 item with where the project answers it, in checklist order."""
    protocol = screening.protocol
    project = screening.project
    conn = project.connection
    answers: dict[str, tuple[str, str]] = {}

    def set_(item: str, status: str, where: str) -> None:
        answers[item] = (status, where)

    no_protocol = "the project has no protocol (init with --protocol)"
    if protocol is not None:
        title = protocol.title.lower()
        if "systematic review" in title or "meta-analys" in title:
            set_("1", "answered", "protocol: title")
        else:
            set_("1", "partial", "protocol: title (does not say 'systematic review')")
        q = protocol.question
        set_(
            "4",
            "answered",
            f"protocol: question (population, intervention, comparator, "
            f"{len(q.outcomes)} outcome(s))",
        )
        set_("5", "answered", f"protocol: eligibility ({len(protocol.eligibility)} criteria)")
        if protocol.searches:
            set_(
                "6",
                "answered",
                f"protocol: searches ({len(protocol.searches)} sources with dates run)"
                + ("; search log: imports" if project.imports() else ""),
            )
            set_("7", "answered", "protocol: searches[].query (full strategy per source)")
        elif project.imports():
            set_("6", "partial", "search log: imports (no searches in the protocol)")
            queries = [i for i in project.imports() if i.query]
            set_(
                "7",
                "partial" if queries else "missing",
                "search log: imports[].query" if queries else "no search strategies",
            )
        else:
            set_("6", "missing", "no searches in the protocol and no imports")
            set_("7", "missing", "no search strategies")
        if protocol.outcomes:
            set_("10a", "answered", f"protocol: outcomes ({len(protocol.outcomes)})")
            measures = ", ".join(f"{o.name}: {o.measure}" for o in protocol.outcomes)
            set_("12", "answered", f"protocol: outcomes[].measure ({measures})")
        else:
            set_("10a", "missing", "protocol has no outcomes")
            set_("12", "missing", "protocol has no outcomes")
        m = protocol.model
        set_(
            "13d",
            "answered",
            f"protocol: model (method {m.method}, test {m.test}, level {m.level:g}%; "
            "software metareview)",
        )
        planned = [g.name for g in m.subgroups] + (["risk of bias"] if m.rob_subgroup else [])
        if planned:
            set_("13e", "answered", f"protocol: model.subgroups ({', '.join(planned)}), with "
                 "the test for subgroup differences")  # fmt: skip
        else:
            set_("13e", "missing", "no subgroup or meta-regression plan in the protocol")
        if m.sensitivity:
            set_("13f", "answered", f"protocol: model.sensitivity ({len(m.sensitivity)})")
        else:
            set_("13f", "missing", "no sensitivity analyses in the protocol")
        if protocol.registration:
            set_("24a", "answered", f"protocol: registration ({protocol.registration})")
        else:
            set_("24a", "missing", "protocol.registration (or state not registered)")
        path = project.protocol_path
        set_("24b", "answered", f"protocol file in the project: {path.name if path else '?'}")
        amended = amendments(project)
        n_versions = len(protocol_versions(project))
        if amended:
            set_("24c", "answered", f"protocol amendments: {len(amended)} recorded")
        else:
            set_(
                "24c",
                "answered",
                f"protocol amendments: none recorded ({n_versions} version(s) seen)",
            )
        if protocol.funding:
            set_("25", "answered", "protocol: funding")
        else:
            set_("25", "missing", "protocol.funding")
        if protocol.competing_interests:
            set_("26", "answered", "protocol: competing_interests")
        else:
            set_("26", "missing", "protocol.competing_interests")
    else:
        for item in (
            "1",
            "4",
            "5",
            "6",
            "7",
            "10a",
            "12",
            "13d",
            "13e",
            "13f",
            "24a",
            "24b",
            "24c",
            "25",
            "26",
        ):
            set_(item, "missing", no_protocol)

    # Selection process and results, from the decisions.
    decisions = screening.decisions()
    if decisions:
        reviewers = screening.reviewers()
        per_stage = []
        for stage in ("title_abstract", "full_text"):
            pairs = screening.reviewer_pairs(stage)
            per_stage.append(f"{stage}: {'dual' if pairs else 'single'}")
        rule = any(d.basis == "rule" for d in decisions)
        # Ranking orders records but excludes none; only the rule is an automation tool that
        # marks records ineligible (PRISMA 2020 item 8).
        tools = (
            "; automation tool: protocol's publication-type rule"
            if rule
            else "; no record excluded by an automation tool"
        )
        set_(
            "8",
            "answered",
            f"screening decisions ({len(reviewers)} reviewer(s); {', '.join(per_stage)}{tools})",
        )
        set_("16a", "answered", "PRISMA flow: metareview prisma (counts from the store)")
        ft_excluded = [d for d in decisions if d.stage == "full_text" and d.decision == "exclude"]
        if ft_excluded:
            set_(
                "16b",
                "answered",
                f"full-text exclusions with reasons ({len(ft_excluded)}): export --decisions",
            )
        else:
            set_("16b", "partial", "no full-text exclusions recorded yet")
    else:
        set_("8", "missing", "no screening decisions yet")
        set_(
            "16a",
            "partial" if project.imports() else "missing",
            "PRISMA flow: identification only (no decisions yet)",
        )
        set_("16b", "missing", "no full-text decisions yet")

    # Later stages: answered when their tables hold data.
    extraction = _tables_with_rows(conn, "extraction", "study_data", "extracted")
    rob = _tables_with_rows(conn, "risk_of_bias", "rob")
    analyses = _tables_with_rows(conn, "analys", "synthes", "pooled")
    for item, found, what in (
        ("9", extraction, "data extraction with provenance"),
        ("10b", extraction, "extracted study variables"),
        ("13a", extraction, "outcomes per study in the extraction"),
        ("13b", extraction, "conversions recorded with the extracted data"),
        ("17", extraction, "study characteristics"),
        ("19", extraction, "per-study results"),
        ("11", rob, "risk-of-bias assessments"),
        ("18", rob, "risk-of-bias judgements"),
        ("20a", rob, "risk of bias of contributing studies"),
        ("13c", analyses, "forest plots and tables in the report"),
        ("20b", analyses, "pooled results"),
        ("20c", analyses, "heterogeneity results"),
        ("20d", analyses, "sensitivity analysis results"),
    ):
        if found:
            set_(item, "answered", f"{what} (tables: {', '.join(found)})")
        else:
            set_(item, "missing", f"no {what} in the project yet")
    for item in ("14", "15", "21", "22"):
        set_(item, "missing", "assessed when the review is analysed (metareview analyse, grade, "
             "report: funnel plots, Egger's test, GRADE), not held in the store")  # fmt: skip
    # GRADE: reviewers' certainty ratings (metareview grade --set) in the store.
    grade = _tables_with_rows(conn, "grade")
    if grade:
        set_("15", "answered", f"GRADE, five domains per outcome with the rules shown: "
             f"metareview grade (tables: {', '.join(grade)})")  # fmt: skip
        set_("22", "answered", "certainty per outcome: summary of findings (metareview sof; "
             "the report)")  # fmt: skip
    for item in ("2", "3", "23a", "23b", "23c", "23d"):
        set_(item, "missing", _NARRATIVE)
    set_(
        "27",
        "partial",
        "the project folder (protocol, store, decisions) can be shared; say where it is published",
    )
    return [ChecklistEntry(item, *answers[item.id]) for item in ITEMS]
