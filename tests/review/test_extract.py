"""``review.extract``: the form, its all-or-nothing import, conflicts, consensus, registry
values and the tidy export, on the e2e fixture project built through the CLI (``e2e_project``
in ``tests/conftest.py``: study 1 = ALPHA-B, records 1, 2, 6, 9 with results in record 9;
study 2 = BETA-B, records 3, 5 and 10, record 5 a duplicate of 3).

Effect sizes at the end are checked against R (metafor 3.8.1), the ``escalc()`` call beside
each number."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from metareview.cli import main
from metareview.errors import InputError, InputErrors
from metareview.extraction.table import TEMPLATE_COLUMNS
from metareview.review.extract import (
    REGISTRY_REVIEWER,
    export_extraction,
    extraction_conflicts,
    fill_from_registry,
    groups_for,
    import_extraction,
    write_template,
)
from metareview.review.store import analyse_project
from metareview.store import Project

BETA = {"study_id": "2", "status": "reported", "source_record": "pmid:39990003"}


def form(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(TEMPLATE_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def sae_rows(events_drug: str = "12", **extra: str) -> list[dict[str, str]]:
    """BETA-B serious adverse events: 12/100 vs 20/98 (invented for this test)."""
    common = {**BETA, "outcome": "sae", "timepoint": "12 weeks", "location": "Table 3", **extra}
    return [
        {**common, "group": "intervention", "arm": "Drug A", "events": events_drug, "n": "100"},
        {**common, "group": "comparator", "arm": "Placebo", "events": "20", "n": "98"},
    ]


def bss_median_rows() -> list[dict[str, str]]:
    """BETA-B BSS at 12 weeks as medians (IQR): 14 (10-19), n 45 vs 17 (12-22), n 50."""
    common = {**BETA, "outcome": "bss", "timepoint": "12 weeks", "location": "Table 2"}
    return [
        {**common, "group": "intervention", "arm": "Drug A", "median": "14", "q1": "10",
         "q3": "19", "n": "45"},
        {**common, "group": "comparator", "arm": "Placebo", "median": "17", "q1": "12",
         "q3": "22", "n": "50"},
    ]  # fmt: skip


def table_rows(project_dir: Path) -> list[tuple[object, ...]]:
    with Project.open(project_dir) as p:
        return [
            tuple(r) for r in p.connection.execute("SELECT * FROM extraction_values ORDER BY id")
        ]


def test_groups_for_measures() -> None:
    assert groups_for("MD") == groups_for("RR") == ("intervention", "comparator")
    assert groups_for("PLO") == groups_for("MC") == ("single",)
    assert groups_for("GEN") == ("contrast",)


def test_template_has_a_row_per_study_outcome_and_group(e2e_project: Path, tmp_path: Path) -> None:
    """2 studies x (1 characteristics row + 3 outcomes x 2 groups) = 14 rows (by hand)."""
    out = tmp_path / "form.csv"
    summary = write_template(e2e_project, out)
    assert (summary.n_rows, summary.n_studies, summary.n_prefilled) == (14, 2, 0)
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(TEMPLATE_COLUMNS)
        rows = list(reader)
    keys = [(r["study_id"], r["outcome"], r["group"]) for r in rows]
    assert keys[:7] == [
        ("1", "characteristics", "study"),
        ("1", "bss", "intervention"), ("1", "bss", "comparator"),
        ("1", "sae", "intervention"), ("1", "sae", "comparator"),
        ("1", "dropout_ae", "intervention"), ("1", "dropout_ae", "comparator"),
    ]  # fmt: skip
    assert {r["study_id"] for r in rows} == {"1", "2"}
    # the blank form imports as nothing and stores nothing
    summary2 = import_extraction(e2e_project, out, reviewer="ann")
    assert (summary2.n_rows, summary2.n_values) == (0, 0)


def test_template_format_is_checked(e2e_project: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="csv or xlsx"):
        write_template(e2e_project, tmp_path / "form.ods")


def test_fill_from_registry(e2e_project: Path) -> None:
    """ALPHA-B's posted results (tests/data/e2e/README.md): BSS change -8.4 (6.1), n 52 vs
    -4.9 (6.4), n 56, and the MD contrast; SAE 4/60 vs 2/60; AE dropouts 5/60 vs 1/60."""
    got = fill_from_registry(e2e_project)
    assert got.studies == ("Example 2020",)
    assert got.n_values == 19
    assert any("record 10" in w and "no posted results" in w for w in got.warnings)
    rows = export_extraction(e2e_project)
    assert {r["basis"] for r in rows} == {"registry"}
    assert {r["reviewer"] for r in rows} == {REGISTRY_REVIEWER}
    assert {r["source_id"] for r in rows} == {"nct:NCT09990001"}
    by = {(r["outcome"], r["group"], r["field"]): r["value"] for r in rows}
    assert by[("sae", "intervention", "events")] == 4
    assert by[("sae", "comparator", "n")] == 60
    assert by[("dropout_ae", "intervention", "events")] == 5
    assert by[("bss", "intervention", "mean_change")] == -8.4
    assert by[("bss", "comparator", "sd_change")] == 6.4
    assert by[("bss", "contrast", "estimate")] == -3.5


def test_import_stores_values_with_provenance(e2e_project: Path, tmp_path: Path) -> None:
    path = form(tmp_path / "ann.csv", sae_rows())
    summary = import_extraction(e2e_project, path, reviewer="ann")
    assert (summary.n_rows, summary.n_values, summary.studies) == (2, 4, ("Dummy 2022",))
    assert (summary.reviewer, summary.basis) == ("ann", "reviewer")
    rows = export_extraction(e2e_project)
    assert {(r["group"], r["field"], r["value"]) for r in rows} == {
        ("intervention", "events", 12), ("intervention", "n", 100),
        ("comparator", "events", 20), ("comparator", "n", 98),
    }  # fmt: skip
    assert {r["source_record"] for r in rows} == {3}
    assert {r["source_id"] for r in rows} == {"pmid:39990003"}
    assert {r["location"] for r in rows} == {"Table 3"}


def test_refused_import_lists_every_problem_and_stores_nothing(
    e2e_project: Path, tmp_path: Path
) -> None:
    import_extraction(e2e_project, form(tmp_path / "first.csv", sae_rows()), reviewer="ann")
    before = table_rows(e2e_project)
    bad = [
        *sae_rows(events_drug="13"),  # rows 1-2: fine, and must not be stored either
        {**BETA, "outcome": "sae", "group": "intervention", "events": "x", "location": "T3"},
        {**BETA, "study_id": "7", "outcome": "sae", "group": "comparator", "n": "5",
         "location": "T3"},
        {**BETA, "outcome": "sae", "group": "comparator", "n": "5", "location": "T3",
         "source_record": "pmid:123"},
        {**BETA, "outcome": "sae", "group": "comparator", "n": "5", "location": "T3",
         "source_record": "5"},
    ]  # fmt: skip
    path = form(tmp_path / "bad.csv", bad)
    with pytest.raises(InputErrors) as err:
        import_extraction(e2e_project, path, reviewer="ann")
    assert {(p.row, p.field) for p in err.value.problems} == {(3, "events")}  # table checks first
    assert table_rows(e2e_project) == before

    bad[2] = {**bad[2], "events": "4"}
    path = form(tmp_path / "bad.csv", bad)
    with pytest.raises(InputErrors) as err:
        import_extraction(e2e_project, path, reviewer="ann")
    assert {(p.row, p.field) for p in err.value.problems} == {
        (4, "study_id"),
        (5, "source_record"),
        (6, "source_record"),
    }
    assert all(p.file == str(path) for p in err.value.problems)
    msg = {p.row: p.message for p in err.value.problems}
    assert "not an included study" in msg[4]
    assert table_rows(e2e_project) == before


def test_a_value_given_twice_is_refused(e2e_project: Path, tmp_path: Path) -> None:
    rows = sae_rows()
    path = form(tmp_path / "twice.csv", [*rows, {**rows[0], "location": "Table 4"}])
    with pytest.raises(InputErrors) as err:
        import_extraction(e2e_project, path, reviewer="ann")
    assert {(p.row, p.field) for p in err.value.problems} == {(3, "events"), (3, "n")}
    assert table_rows(e2e_project) == []


def test_conflicts_then_consensus(e2e_project: Path, tmp_path: Path) -> None:
    import_extraction(e2e_project, form(tmp_path / "ann.csv", sae_rows("12")), reviewer="ann")
    import_extraction(e2e_project, form(tmp_path / "bob.csv", sae_rows("13")), reviewer="bob")
    (found,) = extraction_conflicts(e2e_project)
    assert (found.key.study_id, found.key.outcome, found.key.group, found.key.field) == (
        2, "sae", "intervention", "events",
    )  # fmt: skip
    assert sorted((v.reviewer, v.value) for v in found.values) == [("ann", 12.0), ("bob", 13.0)]

    agreed = form(tmp_path / "agreed.csv", sae_rows("12")[:1])
    summary = import_extraction(e2e_project, agreed, reviewer="ann", consensus=True)
    assert summary.basis == "consensus"
    assert extraction_conflicts(e2e_project) == []


def test_reimport_supersedes_own_values(e2e_project: Path, tmp_path: Path) -> None:
    import_extraction(e2e_project, form(tmp_path / "a.csv", sae_rows("12")), reviewer="ann")
    import_extraction(e2e_project, form(tmp_path / "a.csv", sae_rows("11")), reviewer="ann")
    assert extraction_conflicts(e2e_project) == []
    rows = export_extraction(e2e_project)
    assert [
        r["value"] for r in rows if r["field"] == "events" and r["group"] == "intervention"
    ] == [11]
    assert len(rows) == 4
    assert len(table_rows(e2e_project)) == 8  # the first 4, superseded, are kept


def test_prefilled_xlsx_form_confirms_registry_values(e2e_project: Path, tmp_path: Path) -> None:
    """The registry's values written into a workbook and imported back unchanged by a reviewer
    become that reviewer's values: the same numbers, nothing left unconfirmed."""
    fill_from_registry(e2e_project)
    book = tmp_path / "form.xlsx"
    summary = write_template(e2e_project, book)
    assert summary.n_prefilled == 7
    got = import_extraction(e2e_project, book, reviewer="ann")
    assert got.n_values == 19
    rows = export_extraction(e2e_project)
    mine = {
        (r["outcome"], r["group"], r["field"]): r["value"] for r in rows if r["reviewer"] == "ann"
    }
    registry = {
        (r["outcome"], r["group"], r["field"]): r["value"] for r in rows if r["basis"] == "registry"
    }
    assert mine == registry


def test_cli_extract_round_trip(
    e2e_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = form(tmp_path / "ann.csv", sae_rows())
    assert main(["extract", str(e2e_project), "--import", str(path), "--reviewer", "ann"]) == 0
    bad = form(tmp_path / "bad.csv", sae_rows(events_drug="101"))
    before = table_rows(e2e_project)
    assert main(["extract", str(e2e_project), "--import", str(bad), "--reviewer", "ann"]) == 2
    err = capsys.readouterr().err
    assert "events (101) exceed n (100)" in err
    assert table_rows(e2e_project) == before


def _study_effect(result: object, outcome: str, study_id: int) -> tuple[float, float]:
    (analysis,) = [a for a in result.analyses if a.outcome == outcome]  # type: ignore[attr-defined]
    (effect,) = [s for s in analysis.studies if s.study_id == study_id]
    return effect.yi, effect.vi


def test_effect_sizes_from_the_store_match_metafor(e2e_project: Path, tmp_path: Path) -> None:
    """Through the API: registry values for ALPHA-B, a reviewer's form for BETA-B."""
    fill_from_registry(e2e_project)
    import_extraction(e2e_project, form(tmp_path / "ann.csv", sae_rows() + bss_median_rows()),
                      reviewer="ann")  # fmt: skip
    result = analyse_project(e2e_project)
    # escalc("RR", ai=12, n1i=100, ci=20, n2i=98)
    assert _study_effect(result, "sae", 2) == pytest.approx(
        (-0.531028331084, 0.113129251701), rel=1e-9
    )
    # escalc("RR", ai=4, n1i=60, ci=2, n2i=60)
    assert _study_effect(result, "sae", 1) == pytest.approx(
        (0.693147180560, 0.716666666667), rel=1e-9
    )
    # escalc("MD", m1i=-8.4, sd1i=6.1, n1i=52, m2i=-4.9, sd2i=6.4, n2i=56)
    assert _study_effect(result, "bss", 1) == pytest.approx((-3.5, 1.447005494505), rel=1e-9)
    # medians/IQR -> Luo 2018 mean, Wan 2014 SD (see tests/extraction/test_assemble.py), then
    # escalc("MD", m1i=14.354333333333, sd1i=6.892185826181, n1i=45, m2i=17,
    #        sd2i=7.633045808232, n2i=50)
    assert _study_effect(result, "bss", 2) == pytest.approx(
        (-2.645666666667, 2.220872776491), rel=1e-9
    )


def test_export_names_each_value_s_study(e2e_project: Path, tmp_path: Path) -> None:
    """Studies made by ``dedupe`` have no label in the store; the export gives the label the
    review uses everywhere else (first author and year: the template's ``study`` column)."""
    template = write_template(e2e_project, tmp_path / "form.csv").path
    with open(template, encoding="utf-8", newline="") as fh:
        labels = {r["study_id"]: r["study"] for r in csv.DictReader(fh)}
    assert labels == {"1": "Example 2020", "2": "Dummy 2022"}
    import_extraction(e2e_project, form(tmp_path / "ann.csv", sae_rows()), reviewer="ann")
    assert {r["study"] for r in export_extraction(e2e_project)} == {"Dummy 2022"}


def test_a_value_given_twice_in_two_sheets_is_refused(e2e_project: Path, tmp_path: Path) -> None:
    """Row 1 of sheet 'sae' and row 1 of a copied sheet give the same value: refused, as two
    rows of one CSV are, not one silently superseding the other within the batch."""
    from metareview.extraction.table import write_xlsx

    book = tmp_path / "form.xlsx"
    rows = sae_rows()
    write_xlsx(book, {"sae": rows, "sae (2)": [{**rows[0], "events": "13"}]}, [])
    with pytest.raises(InputErrors) as err:
        import_extraction(e2e_project, book, reviewer="ann")
    assert {(p.file, p.row, p.field) for p in err.value.problems} == {
        (f"{book}, sheet 'sae (2)'", 1, "events"), (f"{book}, sheet 'sae (2)'", 1, "n"),
    }  # fmt: skip
    assert table_rows(e2e_project) == []


def test_registry_fill_twice_keeps_one_current_set(e2e_project: Path) -> None:
    fill_from_registry(e2e_project)
    fill_from_registry(e2e_project)
    assert len(export_extraction(e2e_project)) == 19
    assert len(table_rows(e2e_project)) == 38  # the first fill kept, superseded


def test_reviewer_template_is_prefilled_with_own_values(e2e_project: Path, tmp_path: Path) -> None:
    fill_from_registry(e2e_project)
    import_extraction(e2e_project, form(tmp_path / "ann.csv", sae_rows()), reviewer="ann")
    out = tmp_path / "mine.csv"
    summary = write_template(e2e_project, out, reviewer="ann")
    assert summary.n_prefilled == 2  # ann's two rows only, not the registry's
    with open(out, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["events"]]
    assert [(r["study_id"], r["group"], r["events"], r["n"], r["source_record"]) for r in rows] == [
        ("2", "intervention", "12", "100", "pmid:39990003"),
        ("2", "comparator", "20", "98", "pmid:39990003"),
    ]


def test_a_conflict_keeps_the_study_out_of_the_analysis(e2e_project: Path, tmp_path: Path) -> None:
    fill_from_registry(e2e_project)
    import_extraction(e2e_project, form(tmp_path / "ann.csv", sae_rows("12")), reviewer="ann")
    import_extraction(e2e_project, form(tmp_path / "bob.csv", sae_rows("13")), reviewer="bob")
    result = analyse_project(e2e_project)
    (sae,) = [a for a in result.analyses if a.outcome == "sae"]
    assert [s.study_id for s in sae.studies] == [1]
    import_extraction(e2e_project, form(tmp_path / "c.csv", sae_rows("13")[:1]), reviewer="ann",
                      consensus=True)  # fmt: skip
    (sae,) = [a for a in analyse_project(e2e_project).analyses if a.outcome == "sae"]
    assert [s.study_id for s in sae.studies] == [1, 2]
    # escalc("RR", ai=13, n1i=100, ci=20, n2i=98)
    assert _study_effect(analyse_project(e2e_project), "sae", 2) == pytest.approx(
        (-0.450985623410, 0.106718995290), rel=1e-9
    )


def test_own_form_round_trips(e2e_project: Path, tmp_path: Path) -> None:
    """A reviewer's values written back into their form and imported again are unchanged:
    negative numbers, a quote that starts like a formula, an assumed value with its reason and
    sensitivity values."""
    rows = [
        {**BETA, "outcome": "bss", "group": "intervention", "arm": "Drug A",
         "timepoint": "12 weeks", "mean_change": "-6.25", "sd_change": "5.5", "n": "45",
         "location": "Table 2", "quote": "=-6.25 (5.5)"},
        {"study_id": "2", "outcome": "bss", "group": "comparator", "arm": "Placebo",
         "timepoint": "12 weeks", "mean_change": "-3", "sd_change": "5.5", "n": "50",
         "status": "assumed", "why": "SD borrowed from the drug arm", "sensitivity": "4.5;6.5"},
    ]  # fmt: skip
    import_extraction(e2e_project, form(tmp_path / "a.csv", rows), reviewer="ann")
    first = sorted((r["group"], r["field"], r["value"], r["status"], r["why"], r["sensitivity"],
                    r["quote"]) for r in export_extraction(e2e_project))  # fmt: skip
    mine = write_template(e2e_project, tmp_path / "mine.csv", reviewer="ann").path
    import_extraction(e2e_project, mine, reviewer="ann")
    again = sorted((r["group"], r["field"], r["value"], r["status"], r["why"], r["sensitivity"],
                    r["quote"]) for r in export_extraction(e2e_project))  # fmt: skip
    assert again == first
    assert ("intervention", "mean_change", -6.25, "reported", None, None, "=-6.25 (5.5)") in first
    assert ("comparator", "sd_change", 5.5, "assumed", "SD borrowed from the drug arm",
            [4.5, 6.5], None) in first  # fmt: skip


def test_double_zero_study_is_kept_with_a_warning_or_dropped(
    e2e_project: Path, tmp_path: Path
) -> None:
    """BETA-B with 0/40 vs 0/40 serious adverse events. By default it is kept with metafor's
    1/2 added to each cell -- yi = ln((0.5/41)/(0.5/41)) = 0, vi = 2 (1/0.5 - 1/41) = 3.951220
    (escalc("RR", ai=0, n1i=40, ci=0, n2i=40)) -- and named in a warning; with the protocol's
    ``model.drop00: true`` it is left out with that reason (escalc's drop00=TRUE)."""
    fill_from_registry(e2e_project)
    rows = [
        {**BETA, "outcome": "sae", "group": g, "arm": g, "timepoint": "12 weeks", "events": "0",
         "n": "40", "location": "Abstract, Results"}
        for g in ("intervention", "comparator")
    ]  # fmt: skip
    import_extraction(e2e_project, form(tmp_path / "zero.csv", rows), reviewer="ann")
    result = analyse_project(e2e_project)
    assert _study_effect(result, "sae", 2) == pytest.approx((0.0, 2 * (2 - 1 / 41)), rel=1e-9)
    sae = result.analysis("sae")
    assert sae.k == 2
    assert any("zero events in both arms" in n and "Dummy 2022" in n for n in sae.notes)
    protocol = e2e_project / "protocol.yaml"
    protocol.write_text(
        protocol.read_text(encoding="utf-8").replace(
            "  method: REML", "  method: REML\n  drop00: true"
        ),
        encoding="utf-8",
    )
    sae = analyse_project(e2e_project).analysis("sae")
    assert sae.k == 1
    assert next(s for s, r in sae.excluded if "drop00" in r) == "Dummy 2022"


def test_planned_subgroup_analysis_by_design(e2e_project: Path, tmp_path: Path) -> None:
    """A protocol subgroup analysis by design: ALPHA-B (registry, "parallel") and BETA-B
    ("dose-finding") are one study each, so each subgroup's estimate is that study's MD, and
    the test for subgroup differences is Q_b = (y1 - y2)^2 / (v1 + v2) on 1 df, by hand:
    y = -8.4 - -4.9 = -3.5, v = 6.1^2/52 + 6.4^2/56; y = -6.2 - -4.0 = -2.2,
    v = 5.8^2/38 + 6.0^2/39 (metafor: rma(yi, vi, mods = ~ design) gives the same QM)."""
    fill_from_registry(e2e_project)
    chars = {"outcome": "characteristics", "group": "study", "location": "Abstract, Methods"}
    rows = [
        {"study_id": "1", "status": "reported", "source_record": "pmid:39990001", **chars,
         "design": "parallel"},
        {**BETA, **chars, "design": "dose-finding"},
    ] + [
        {**BETA, "outcome": "bss", "group": g, "arm": g, "timepoint": "12 weeks", "n": n,
         "mean_change": m, "sd_change": s, "location": "Abstract, Results"}
        for g, n, m, s in (("intervention", "38", "-6.2", "5.8"), ("comparator", "39", "-4.0",
                                                                    "6.0"))
    ]  # fmt: skip
    import_extraction(e2e_project, form(tmp_path / "f.csv", rows), reviewer="ann")
    protocol = e2e_project / "protocol.yaml"
    protocol.write_text(
        protocol.read_text(encoding="utf-8").replace(
            "  method: REML",
            "  method: REML\n  subgroups:\n    - name: design\n      by: design\n"
            "      outcomes: [bss]",
        ),
        encoding="utf-8",
    )
    result = analyse_project(e2e_project)
    (group,) = result.analysis("bss").subgroups
    v1, v2 = 6.1**2 / 52 + 6.4**2 / 56, 5.8**2 / 38 + 6.0**2 / 39
    summary = group["result"].to_dict()
    assert summary["Q_between"] == pytest.approx((-3.5 + 2.2) ** 2 / (v1 + v2), rel=1e-9)
    assert summary["Q_between_df"] == 1
    by = {g["group"]: g["estimate"] for g in summary["groups"]}
    assert by == pytest.approx({"parallel": -3.5, "dose-finding": -2.2})
    assert result.analysis("sae").subgroups == ()  # limited to bss
    doc = result.to_json()
    assert doc["analyses"][0]["subgroups"][0]["by"] == "design"
    from metareview.report.html import write_report

    html = write_report(result, tmp_path / "report").read_text(encoding="utf-8")
    assert "Subgroups: design" in html and "Test for subgroup differences" in html


def test_a_cited_source_that_is_not_a_record_round_trips(e2e_project: Path, tmp_path: Path) -> None:
    """A value whose source is a cited document the project holds (``source_ref``, as the
    bundled review's handbook sections), not a record: written into the form, imported back
    unchanged; an unknown key is refused naming its row and column."""
    from metareview.extraction.provenance import SourceSpec
    from metareview.extraction.stored import record_values

    with Project.open(e2e_project) as project:
        record_values(
            project, [], reviewer="setup",
            sources=[SourceSpec(key="csr2023", citation="ALPHA-B clinical study report, 2023")],
        )  # fmt: skip
    rows = [
        {"study_id": "1", "outcome": "sae", "group": g, "arm": g, "timepoint": "12 weeks",
         "events": e, "n": "60", "status": "reported", "source_ref": "csr2023",
         "location": "Table 14.3.1"}
        for g, e in (("intervention", "4"), ("comparator", "2"))
    ]  # fmt: skip
    import_extraction(e2e_project, form(tmp_path / "a.csv", rows), reviewer="ann")
    first = sorted((r["group"], r["field"], r["value"], r["source_ref"], r["source_record"])
                   for r in export_extraction(e2e_project))  # fmt: skip
    assert ("intervention", "events", 4.0, "csr2023", None) in first
    mine = write_template(e2e_project, tmp_path / "mine.csv", reviewer="ann").path
    import_extraction(e2e_project, mine, reviewer="ann")
    again = sorted((r["group"], r["field"], r["value"], r["source_ref"], r["source_record"])
                   for r in export_extraction(e2e_project))  # fmt: skip
    assert again == first
    rows[0]["source_ref"] = "nope"
    with pytest.raises(InputErrors) as info:
        import_extraction(e2e_project, form(tmp_path / "b.csv", rows), reviewer="ann")
    assert (info.value.row, info.value.field) == (1, "source_ref")
