"""The protocol schema and its loader: valid files load, every problem names its line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from metareview.errors import ProtocolError
from metareview.protocol import (
    Protocol,
    ProtocolValidationError,
    iter_changes,
    load_protocol,
    parse_protocol,
    protocol_digest,
)

GOOD = """\
title: Imatinib in systemic sclerosis
question:
  population: adults with systemic sclerosis
  intervention: imatinib mesylate
  comparator: placebo or none
  outcomes: [mRSS, HAQ-DI]
eligibility:
  - {code: population, text: Adults with systemic sclerosis}
  - code: design
    text: Clinical trials
    stage: full_text
searches:
  - {source: PubMed, query: imatinib AND scleroderma, date_run: 2020-02-07}
  - {source: ClinicalTrials.gov, query: imatinib, date_run: 2020-02-07}
  - {source: reference lists, query: backward citations, date_run: 2020-02-10, kind: other}
outcomes:
  - {name: mRSS, measure: md, time_window: 6-12 months, better: lower, primary: true}
  - name: HAQ-DI
    measure: MD
    better: lower
    time_window: {min: 24, max: 52, unit: weeks}
model:
  method: reml
  test: knha
  level: 90
  sensitivity:
    - {name: DL, method: DL}
    - {name: drop open-label, exclude: [Spiera 2011]}
screening:
  hint_reasons: {case_report: design}
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ProtocolValidationError) as info:
        parse_protocol(text, file="protocol.yaml")
    return info.value.problems


def test_valid_protocol_loads_with_normalised_values(tmp_path: Path) -> None:
    path = tmp_path / "protocol.yaml"
    path.write_text(GOOD, encoding="utf-8")
    p = load_protocol(path)
    assert isinstance(p, Protocol)
    assert p.reason_codes() == ["population", "design"]
    assert p.criterion("design").stage == "full_text"
    assert p.searches[0].date_run == dt.date(2020, 2, 7)
    # kind: explicit, inferred register for a known register name, database otherwise
    assert [s.kind for s in p.searches] == ["database", "register", "other"]
    assert p.outcomes[0].measure == "MD" and p.outcomes[0].better == "lower"
    window = p.outcomes[0].time_window
    assert window is not None and (window.min, window.max) == (6.0, 12.0)
    assert str(p.outcomes[1].time_window) == "24-52 weeks"
    assert p.model.method == "REML" and p.model.test == "knha" and p.model.level == 90
    assert p.screening.exclude_by_publication_type is False  # off by default
    assert p.outcome("mrss").name == "mRSS"
    # key terms default to the question's population and intervention words
    assert p.key_terms() == ["systemic", "sclerosis", "imatinib"]


def test_defaults_are_metafor_defaults() -> None:
    minimal = GOOD.split("searches:")[0]
    p = parse_protocol(minimal)
    assert (p.model.method, p.model.test, p.model.level) == ("REML", "z", 95.0)
    assert p.searches == [] and p.outcomes == []


def test_round_trip_through_yaml() -> None:
    p = parse_protocol(GOOD)
    again = parse_protocol(p.to_yaml())
    assert again == p
    assert list(iter_changes(p, again)) == []


def test_iter_changes_names_changed_fields() -> None:
    old = parse_protocol(GOOD)
    new = parse_protocol(GOOD.replace("level: 90", "level: 95").replace("Clinical trials", "RCTs"))
    changes = {f: (a, b) for f, a, b in iter_changes(old, new)}
    assert changes == {"eligibility[1].text": ("Clinical trials", "RCTs"), "model.level": (90, 95)}


@pytest.mark.parametrize(
    ("edit", "line", "field", "message"),
    [
        # a value of the wrong kind
        (("better: lower, primary", "better: down, primary"), 17, "outcomes[0].better",
         "'higher' or 'lower'"),
        # an unknown key (a typo must not silently drop a setting)
        (("  test: knha", "  tset: knha"), 24, "model.tset", "unknown field"),
        # a code that is not a short code
        (("code: design", "code: Study Design"), 9, "eligibility[1].code", "not a short code"),
        # an unknown effect measure
        (("measure: md", "measure: XYZ"), 17, "outcomes[0].measure", "unknown measure 'XYZ'"),
        # a metafor measure escalc cannot compute (only a label for yi/vi pooled as GEN)
        (("measure: md", "measure: HR"), 17, "outcomes[0].measure", "escalc does not compute HR"),
        # an impossible date
        (("date_run: 2020-02-07}\n  - {source: C", "date_run: 2020-02-30}\n  - {source: C"), 13,
         "searches[0].date_run", "date"),
        # a hint mapped to a code that is not an eligibility code
        (("case_report: design", "case_report: desgin"), 30, "screening.hint_reasons.case_report",
         "'desgin' is not an eligibility code"),
        # a time window that cannot be read
        (("6-12 months", "half a year"), 17, "outcomes[0].time_window", "time window"),
        # a level outside (0, 100)
        (("level: 90", "level: 190"), 25, "model.level", "less than 100"),
        # an unknown estimator
        (("method: DL}", "method: DLX}"), 27, "model.sensitivity[0].method", "unknown method"),
    ],
)  # fmt: skip
def test_errors_name_line_and_field(
    edit: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = edit
    assert old in GOOD
    found = problems(GOOD.replace(old, new, 1))
    assert len(found) == 1, found
    got_line, got_field, got_message = found[0]
    assert (got_line, got_field) == (line, field)
    assert message in got_message


def test_missing_field_points_at_its_parent() -> None:
    text = GOOD.replace("  comparator: placebo or none\n", "")
    [(line, field, message)] = problems(text)
    assert (line, field) == (2, "question.comparator")
    assert message == "required field is missing"


def test_duplicate_codes_and_keys() -> None:
    [(line, field, message)] = problems(GOOD.replace("code: design", "code: population"))
    assert field == "eligibility" and line == 7 and "duplicate eligibility code" in message
    [(line, field, message)] = problems(
        GOOD.replace("title: Imatinib", "title: A\ntitle: Imatinib")
    )
    assert (line, field) == (2, "title") and "duplicate key (first given on line 1)" in message


def test_several_problems_are_all_reported() -> None:
    text = GOOD.replace("better: lower, primary", "better: down, primary").replace(
        "  test: knha", "  tset: knha"
    )
    found = problems(text)
    assert [(p[0], p[1]) for p in found] == [(17, "outcomes[0].better"), (24, "model.tset")]


def test_message_names_file_line_and_field() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(GOOD.replace("better: lower, primary", "better: down, primary"), "p.yaml")
    assert str(info.value).startswith("p.yaml, line 17, field 'outcomes[0].better': ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: [unclosed\nquestion: x\n", "line 2: YAML syntax error"),
        ("", "the protocol file is empty"),
        ("- just\n- a list\n", "must be a YAML mapping"),
    ],
)
def test_not_a_protocol(text: str, expected: str) -> None:
    with pytest.raises(ProtocolError, match=expected):
        parse_protocol(text, "p.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="no such protocol file"):
        load_protocol(tmp_path / "nope.yaml")


def test_future_search_date_is_refused() -> None:
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    found = problems(
        GOOD.replace(
            "date_run: 2020-02-07}\n  - {source: C", f"date_run: {future}}}\n  - {{source: C"
        )
    )
    assert found[0][1] == "searches[0].date_run" and "in the future" in found[0][2]


def test_sensitivity_analysis_must_change_something() -> None:
    found = problems(GOOD.replace("{name: DL, method: DL}", "{name: DL}"))
    assert found[0][:2] == (27, "model.sensitivity[0]")
    assert "must change something" in found[0][2]


def test_digest_is_sha256() -> None:
    # sha256("") is the well-known e3b0c442... constant
    assert protocol_digest("") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
