"""Provenance rules of extracted numbers and the study data loader's error messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from metareview.errors import InputError
from metareview.extraction import Quantity, load_studies

SRC = {"ref": "s1", "where": "Table 2"}


def test_reported_needs_value() -> None:
    with pytest.raises(ValidationError, match="needs a 'value'"):
        Quantity.model_validate({"status": "reported", "source": SRC})


def test_assumed_needs_why() -> None:
    with pytest.raises(ValidationError, match="needs 'why'"):
        Quantity.model_validate({"status": "assumed", "value": 0.5, "source": SRC})
    q = Quantity.model_validate(
        {"status": "assumed", "value": 0.5, "source": SRC, "why": "not reported",
         "sensitivity": [0.3, 0.8]}
    )  # fmt: skip
    assert q.numeric() == 0.5


def test_derived_needs_derivation_and_only_derived_may_have_one() -> None:
    with pytest.raises(ValidationError, match="needs 'derive'"):
        Quantity.model_validate({"status": "derived", "source": SRC})
    with pytest.raises(ValidationError, match="only allowed on a 'derived'"):
        Quantity.model_validate(
            {"status": "reported", "value": 1, "source": SRC,
             "derive": {"method": "se_from_pvalue", "inputs": {}}}
        )  # fmt: skip


def test_sensitivity_only_on_assumed() -> None:
    with pytest.raises(ValidationError, match="only allowed on an 'assumed'"):
        Quantity.model_validate(
            {"status": "reported", "value": 1, "source": SRC, "sensitivity": [1, 2]}
        )


def test_status_must_be_one_of_three() -> None:
    with pytest.raises(ValidationError):
        Quantity.model_validate({"status": "guessed", "value": 1, "source": SRC})


def test_source_where_required() -> None:
    with pytest.raises(ValidationError):
        Quantity.model_validate({"status": "reported", "value": 1, "source": {"ref": "s1"}})


_GOOD = """
sources:
  - {key: s1, citation: "Author A. Journal 2020."}
studies:
  - id: a2020
    label: A 2020
    citation: Author A 2020
    design: single-arm
    arms: [{name: drug}]
    outcomes:
      mRSS:
        - measure: GEN
          timepoint: 6 months
          inputs:
            yi: {value: -2.0, status: reported, source: {ref: s1, where: Table 2}}
            sei: {value: 1.0, status: reported, source: {ref: s1, where: Table 2}}
"""


def test_load_good_file(tmp_path: Path) -> None:
    path = tmp_path / "studies.yaml"
    path.write_text(_GOOD, encoding="utf-8")
    data = load_studies(path)
    assert data.study("a2020").outcome_rows("mRSS")[0].inputs["yi"].numeric() == -2.0
    assert [p for p, _ in data.study("a2020").quantities()] == [
        "outcomes.mRSS[0].inputs.yi",
        "outcomes.mRSS[0].inputs.sei",
    ]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "ref: s1, where: Table 2}}\n            sei",
            "ref: s9, where: Table 2}}\n            sei",
            None,
            "source 's9' is not in 'sources'",
        ),
        ("measure: GEN", "measure: XYZ", "studies[0].outcomes.mRSS[0]", "measure 'XYZ'"),
        (
            "            sei: {value: 1.0, status: reported, source: {ref: s1, where: Table 2}}\n",
            "",
            "studies[0].outcomes.mRSS[0]",
            "needs inputs: sei (or vi)",
        ),
        (
            "status: reported, source: {ref: s1, where: Table 2}}\n            sei",
            "status: assumed, source: {ref: s1, where: Table 2}}\n            sei",
            "studies[0].outcomes.mRSS[0].inputs.yi",
            "needs 'why'",
        ),
    ],
)
def test_bad_file_names_field(
    tmp_path: Path, old: str, new: str, field: str | None, message: str
) -> None:
    assert old in _GOOD
    path = tmp_path / "studies.yaml"
    path.write_text(_GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)) as info:
        load_studies(path)
    assert info.value.file == str(path)
    if field is not None:
        assert info.value.field == field


def test_missing_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_studies(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_studies(bad)
