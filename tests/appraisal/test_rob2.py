"""RoB 2 domain algorithms and the overall rule against the guidance's decision tables.

Each parametrised table below is the "Algorithm for suggested judgement" of one domain of the
RoB 2 full guidance document (Higgins, Savović, Page, Sterne (eds), 22 August 2019,
riskofbias.info; individually randomised parallel-group trials, effect of assignment), one row
per path through its flowchart, with every answer that leads down that path (Y and PY, N and
PN, and NI where the chart groups it). The overall rule is Sterne et al. BMJ 2019;366:l4898,
Table 3.
"""

from __future__ import annotations

import itertools

import pytest

from metareview.appraisal import rob2
from metareview.appraisal.assessment import judge
from metareview.appraisal.vocabulary import ROB2
from metareview.errors import InputError, InputErrors

YES, NO = ("Y", "PY"), ("N", "PN")
YNI, NNI, ANY = (*YES, "NI"), (*NO, "NI"), (*YES, *NO, "NI")


def expand(*groups: tuple[str, ...]) -> list[tuple[str, ...]]:
    return list(itertools.product(*groups))


# Domain 1 (questions 1.1, 1.2, 1.3): the guidance's flowchart, path by path.
D1 = (
    [((a11, a12, a13), "low") for a11, a12, a13 in expand(YNI, YES, NNI)]
    + [((a11, a12, a13), "some_concerns") for a11, a12, a13 in expand(YNI, YES, YES)]
    + [((a11, a12, a13), "some_concerns") for a11, a12, a13 in expand(NO, YES, ANY)]
    + [((a11, "NI", a13), "some_concerns") for a11, a13 in expand(ANY, NNI)]
    + [((a11, "NI", a13), "high") for a11, a13 in expand(ANY, YES)]
    + [((a11, a12, a13), "high") for a11, a12, a13 in expand(ANY, NO, ANY)]
)


@pytest.mark.parametrize(("answers", "expected"), D1)
def test_domain_1(answers: tuple[str, str, str], expected: str) -> None:
    got = rob2.domain_judgement("D1", dict(zip(("1.1", "1.2", "1.3"), answers, strict=True)))
    assert got == expected


def test_domain_1_table_covers_every_combination() -> None:
    """The table above has one row for each of the 5^3 answer combinations."""
    assert len({a for a, _ in D1}) == len(D1) == 125


def d2(a21: str, a22: str, a23: str = "NA", a24: str = "NA", a25: str = "NA",
       a26: str = "Y", a27: str = "NA") -> dict[str, str]:  # fmt: skip
    return dict(zip(("2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"),
                    (a21, a22, a23, a24, a25, a26, a27), strict=True))  # fmt: skip


# Domain 2, part 1 (2.1-2.5) with part 2 low (2.6 = Y): the flowchart's part 1 ends.
D2_PART1 = (
    [(d2(a, b), "low") for a, b in expand(NO, NO)]
    + [(d2(a, b, c), "low") for a, b, c in expand(YNI, ANY, NO)]
    + [(d2(a, b, "NI"), "some_concerns") for a, b in expand(YNI, NO)]
    + [(d2(a, b, c, e), "some_concerns") for a, b, c, e in expand(NO, YNI, YES, NO)]
    + [(d2("Y", "Y", c, e, f), "some_concerns") for c, e, f in expand(YES, YNI, YES)]
    + [(d2("Y", "N", c, e, f), "high") for c, e, f in expand(YES, YNI, NNI)]
)
# Domain 2, part 2 (2.6-2.7) with part 1 low (2.1 = 2.2 = N).
D2_PART2 = (
    [(d2("N", "N", a26=a), "low") for (a,) in expand(YES)]
    + [(d2("N", "N", a26=a, a27=b), "some_concerns") for a, b in expand(NNI, NO)]
    + [(d2("N", "N", a26=a, a27=b), "high") for a, b in expand(NNI, YNI)]
)


@pytest.mark.parametrize(("answers", "expected"), D2_PART1 + D2_PART2)
def test_domain_2(answers: dict[str, str], expected: str) -> None:
    assert rob2.domain_judgement("D2", answers) == expected


@pytest.mark.parametrize(
    ("part1", "part2", "expected"),
    [
        # the domain's criteria: low only if both parts low; high if either is high
        ("some_concerns", "low", "some_concerns"),
        ("low", "some_concerns", "some_concerns"),
        ("some_concerns", "some_concerns", "some_concerns"),
        ("high", "low", "high"),
        ("low", "high", "high"),
        ("some_concerns", "high", "high"),
    ],
)
def test_domain_2_combines_its_two_parts(part1: str, part2: str, expected: str) -> None:
    p1 = {"low": d2("N", "N"), "some_concerns": d2("Y", "N", "NI"),
          "high": d2("Y", "Y", "Y", "Y", "N")}[part1]  # fmt: skip
    p2 = {"low": {"2.6": "Y"}, "some_concerns": {"2.6": "N", "2.7": "N"},
          "high": {"2.6": "N", "2.7": "Y"}}[part2]  # fmt: skip
    assert rob2.domain_judgement("D2", {**p1, **p2}) == expected


D3 = (
    [({"3.1": a}, "low") for (a,) in expand(YES)]
    + [({"3.1": a, "3.2": b}, "low") for a, b in expand(NNI, YES)]
    + [({"3.1": a, "3.2": b, "3.3": c}, "low") for a, b, c in expand(NNI, NO, NO)]
    + [({"3.1": "N", "3.2": "N", "3.3": c, "3.4": d}, "some_concerns")
       for c, d in expand(YNI, NO)]
    + [({"3.1": "N", "3.2": "PN", "3.3": c, "3.4": d}, "high")
       for c, d in expand(YNI, YNI)]
)  # fmt: skip


@pytest.mark.parametrize(("answers", "expected"), D3)
def test_domain_3(answers: dict[str, str], expected: str) -> None:
    assert rob2.domain_judgement("D3", answers) == expected


def d4(a41: str, a42: str, a43: str = "NA", a44: str = "NA", a45: str = "NA") -> dict[str, str]:
    return dict(zip(("4.1", "4.2", "4.3", "4.4", "4.5"), (a41, a42, a43, a44, a45), strict=True))


D4 = (
    [(d4(a, "N"), "high") for (a,) in expand(YES)]
    + [(d4(a, b), "high") for a, b in expand(NNI, YES)]
    # 4.2 N/PN: the upper branch
    + [(d4(a, b, c), "low") for a, b, c in expand(NNI, NO, NO)]
    + [(d4(a, b, c, e), "low") for a, b, c, e in expand(NO, NO, YNI, NO)]
    + [(d4("N", "N", c, e, f), "some_concerns") for c, e, f in expand(YNI, YES, NO)]
    + [(d4("N", "PN", c, e, f), "high")
       for c, e, f in expand(YNI, YNI, YNI)]
    # 4.2 NI: the lower branch, where the upper branch's "low" ends are some concerns
    + [(d4(a, "NI", c), "some_concerns") for a, c in expand(NNI, NO)]
    + [(d4("N", "NI", c, e), "some_concerns") for c, e in expand(YNI, NO)]
    + [(d4("N", "NI", "Y", e, f), "some_concerns") for e, f in expand(YNI, NO)]
    + [(d4("PN", "NI", "Y", e, f), "high") for e, f in expand(YNI, YNI)]
)  # fmt: skip


@pytest.mark.parametrize(("answers", "expected"), D4)
def test_domain_4(answers: dict[str, str], expected: str) -> None:
    assert rob2.domain_judgement("D4", answers) == expected


D5 = (
    [({"5.1": a, "5.2": b, "5.3": c}, "high")
     for a, b, c in expand(ANY, YES, ANY)]
    + [({"5.1": a, "5.2": b, "5.3": c}, "high")
       for a, b, c in expand(ANY, NNI, YES)]
    + [({"5.1": a, "5.2": b, "5.3": c}, "low") for a, b, c in expand(YES, NO, NO)]
    + [({"5.1": a, "5.2": b, "5.3": c}, "some_concerns")
       for a, b, c in expand(NNI, NO, NO)]
    + [({"5.1": a, "5.2": b, "5.3": c}, "some_concerns")
       for a, b, c in expand(ANY, NNI, NNI) if "NI" in (b, c)]
)  # fmt: skip


@pytest.mark.parametrize(("answers", "expected"), D5)
def test_domain_5(answers: dict[str, str], expected: str) -> None:
    assert rob2.domain_judgement("D5", answers) == expected


def test_domain_5_table_covers_every_combination() -> None:
    assert len({tuple(a.values()) for a, _ in D5}) == len(D5) == 125


@pytest.mark.parametrize(
    ("domain", "answers", "question"),
    [
        ("D1", {"1.1": "Y", "1.3": "N"}, "1.2"),
        ("D1", {"1.2": "Y", "1.1": "Y"}, "1.3"),
        ("D2", {"2.1": "Y", "2.2": "N", "2.6": "Y"}, "2.3"),
        ("D2", {"2.1": "N", "2.2": "N", "2.6": "N"}, "2.7"),
        ("D3", {"3.1": "N", "3.2": "NA"}, "3.2"),
        ("D4", {"4.1": "N", "4.2": "N", "4.3": "Y"}, "4.4"),
        ("D5", {"5.1": "Y", "5.2": "N"}, "5.3"),
    ],
)
def test_a_question_on_the_path_must_be_answered(
    domain: str, answers: dict[str, str], question: str
) -> None:
    with pytest.raises(InputError) as err:
        rob2.domain_judgement(domain, answers)
    assert err.value.field == question


def test_questions_off_the_path_are_not_needed() -> None:
    """2.1 and 2.2 both N: 2.3-2.5 are not asked (NA), as the guidance's form shows."""
    assert rob2.domain_judgement("D2", {"2.1": "N", "2.2": "PN", "2.6": "Y"}) == "low"


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        (["low"] * 5, "low"),
        (["low", "low", "some_concerns", "low", "low"], "some_concerns"),
        (["some_concerns"] * 5, "some_concerns"),  # raised to high only by an override
        (["low", "high", "low", "low", "low"], "high"),
        (["some_concerns", "high", "some_concerns", "low", "low"], "high"),
    ],
)
def test_overall_rule(domains: list[str], expected: str) -> None:
    """Sterne et al. BMJ 2019;366:l4898, Table 3."""
    assert rob2.overall_judgement(domains) == expected


ALL_LOW = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
           "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}  # fmt: skip


def test_judge_all_low() -> None:
    got = judge(ROB2, ALL_LOW)
    assert [(d.domain, d.judgement, d.algorithm, d.override) for d in got.domains] == [
        (f"D{i}", "low", "low", None) for i in range(1, 6)
    ]
    assert (got.overall.judgement, got.overall.algorithm) == ("low", "low")


def test_override_is_kept_beside_the_algorithm() -> None:
    """D1 by the algorithm: 1.2 NI, 1.3 N -> some concerns; the reviewer overrides to low."""
    answers = {**ALL_LOW, "1.2": "NI"}
    got = judge(ROB2, answers, {"D1": ("low", "central randomisation described in protocol")})
    d1 = got.domains[0]
    assert (d1.judgement, d1.algorithm, d1.override) == ("low", "some_concerns", "low")
    assert d1.justification == "central randomisation described in protocol"
    assert got.overall.judgement == "low"


def test_several_some_concerns_raised_to_high_only_by_override() -> None:
    answers = {**ALL_LOW, "1.2": "NI", "5.1": "NI", "3.1": "N", "3.2": "N", "3.3": "Y",
               "3.4": "N"}  # fmt: skip
    plain = judge(ROB2, answers)
    assert [d.judgement for d in plain.domains] == [
        "some_concerns", "low", "some_concerns", "low", "some_concerns"
    ]
    assert plain.overall.judgement == "some_concerns"
    raised = judge(ROB2, answers, {"overall": ("high", "three domains with some concerns")})
    assert (raised.overall.judgement, raised.overall.algorithm) == ("high", "some_concerns")


def test_override_needs_a_justification_and_cannot_lower_the_overall() -> None:
    with pytest.raises(InputErrors) as err:
        judge(ROB2, {**ALL_LOW, "1.2": "N"}, {"D1": ("low", None)})
    assert err.value.problems[0].field == "justification:D1"
    with pytest.raises(InputErrors) as err:
        judge(ROB2, {**ALL_LOW, "1.2": "N"}, {"overall": ("low", "we trust it")})
    assert err.value.problems[0].field == "domain_override:overall"
