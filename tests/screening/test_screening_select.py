"""benchmarks/screening_select.py: the grids' rows and which cached orders stand for a row."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from benchmark_modules import load_benchmark

from metareview.screening.ranking import Ranker


@pytest.fixture(scope="module")
def select() -> ModuleType:
    return load_benchmark("screening_select")


def test_the_coldstart3_rows(select: ModuleType) -> None:
    # the shipped default is the grid's loo5 row; the grid's first row (the default it was run
    # against) keeps the keyword block always, whatever Ranker's default now is
    default = Ranker.from_preset("default").settings()
    assert select._ranker("df1-kw0.3-loo5", "svm-u4").settings() == default
    old = select._ranker("df1-kw0.3", "svm-u4").settings()
    assert old == {**default, "keyword_select": None}
    assert select.GRIDS["coldstart3"][0] == ("df1-kw0.3", "svm-u4")


def test_orders_are_read_only_for_the_ranker_that_made_them(select: ModuleType,
                                                           tmp_path: Path) -> None:
    tool = tmp_path / "metareview-default"
    tool.mkdir()
    loo5 = select._ranker("df1-kw0.3-loo5", "svm-u4")
    old = select._ranker("df1-kw0.3", "svm-u4")
    # no settings.json (a cache written before it was kept): the default of that time only
    assert select._orders_match(tmp_path, tool.name, "df1-kw0.3", "svm-u4", old)
    assert not select._orders_match(tmp_path, tool.name, "df1-kw0.3-loo5", "svm-u4", loo5)
    # settings.json as screening_vs_asreview.py writes it for the default preset
    (tool / "settings.json").write_text(json.dumps(Ranker.from_preset("default").settings()))
    assert select._orders_match(tmp_path, tool.name, "df1-kw0.3-loo5", "svm-u4", loo5)
    assert not select._orders_match(tmp_path, tool.name, "df1-kw0.3", "svm-u4", old)
