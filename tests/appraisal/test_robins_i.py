"""ROBINS-I: the reviewer's domain judgements (the 2016 guidance gives no algorithm) and the
overall rule of Sterne et al. BMJ 2016;355:i4919, Table 3."""

from __future__ import annotations

import pytest

from metareview.appraisal import robins_i
from metareview.appraisal.assessment import judge
from metareview.appraisal.vocabulary import ROBINS_I
from metareview.errors import InputError, InputErrors


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        (["low"] * 7, "low"),  # low in all domains
        (["low", "moderate", "low", "low", "moderate", "low", "low"], "moderate"),
        (["moderate"] * 7, "moderate"),  # low or moderate in all domains
        (["low", "serious", "moderate", "low", "low", "low", "low"], "serious"),
        (["serious", "serious", "low", "low", "low", "low", "no_information"], "serious"),
        (["low", "serious", "critical", "low", "low", "low", "low"], "critical"),
        (["critical", "no_information", "low", "low", "low", "low", "low"], "critical"),
        # no clear indication of serious/critical, information lacking in a (key) domain
        (["low", "moderate", "low", "no_information", "low", "low", "low"], "no_information"),
    ],
)
def test_overall_rule(domains: list[str], expected: str) -> None:
    assert robins_i.overall_judgement(domains) == expected


def test_no_algorithm_the_reviewer_judges_each_domain() -> None:
    with pytest.raises(InputError) as err:
        robins_i.domain_judgement("D1", {"1.1": "Y"}, None)
    assert err.value.field == "domain_override"
    assert robins_i.domain_judgement("D1", {"1.1": "Y"}, "serious") == "serious"


def test_judge_keeps_no_algorithm_judgement() -> None:
    judgements = {f"D{i}": ("low", None) for i in range(1, 8)}
    judgements["D1"] = ("serious", "no adjustment for disease duration")
    got = judge(ROBINS_I, {"1.1": "Y", "1.4": "N"}, judgements)
    assert [(d.domain, d.judgement, d.algorithm) for d in got.domains][:2] == [
        ("D1", "serious", None), ("D2", "low", None)
    ]
    assert got.overall.judgement == "serious"


def test_missing_domain_judgements_are_all_listed() -> None:
    with pytest.raises(InputErrors) as err:
        judge(ROBINS_I, {"1.1": "Y"}, {"D1": ("low", None)})
    assert [p.field for p in err.value.problems] == [f"domain_override:D{i}" for i in range(2, 8)]


def test_vocabulary_numbers_questions_as_the_guidance() -> None:
    ids = [q.id for d in ROBINS_I.domains for q in d.questions]
    assert len(ids) == 34 and ids[0] == "1.1" and ids[-1] == "7.3"
    assert [len(d.questions) for d in ROBINS_I.domains] == [8, 5, 3, 6, 5, 4, 3]
