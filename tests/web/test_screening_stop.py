"""The screening page shows the stopping rules, the random-sample rule once a sample is read."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient

from metareview.screening.decisions import Screening
from metareview.screening.remaining import draw_screening_sample, sample_status
from metareview.screening.stopping import sample_recall_bound
from metareview.web import create_app

from .conftest import TOKEN, login
from .test_app import _current, _fresh_project, _post


def test_screening_page_shows_the_stopping_rules(tmp_path: Path) -> None:
    project = _fresh_project(tmp_path)
    with Screening.open(project) as s:
        drawn = draw_screening_sample(s, "title_abstract", 3, seed=1)
    with TestClient(create_app(project, token=TOKEN), base_url="http://127.0.0.1") as c:
        csrf = login(c, "Ana")
        page = html.unescape(c.get("/screening").text)
        assert 'id="stopping"' in page
        assert "95% recall test on the ranked tail" in page and "irrelevant in a row" in page
        assert "random sample: recall" not in page  # no sample record read yet
        first = _current(page)
        assert first == drawn.records[0]  # the sample comes first
        page = html.unescape(_post(c, "/screening/decide", csrf, record_id=first,
                                   decision="include"))  # fmt: skip
    with Screening.open(project) as s:
        status = sample_status(s, "title_abstract")
        assert status is not None and status.estimate is not None and status.read == 1
        # the value the page shows: sample_recall_bound on the store's counts (1 relevant in
        # a sample of 1 so far; nothing decided outside the pool)
        bound = sample_recall_bound(
            status.found + status.outside_relevant,
            len(drawn.pool),
            1,
            1,
            outside=status.outside_relevant + status.outside_undecided,
        )
    assert f"random sample: recall ≥ {100 * bound:.1f}% at 95% confidence" in page
    assert "verdict once all 3 sample records are read, 1 so far" in page


def test_screening_page_switches_to_the_late_random_sample(tmp_path: Path) -> None:
    import math
    from math import comb

    import pytest

    from metareview.errors import InputError
    from metareview.screening.latesample import latest_late_sample

    project = _fresh_project(tmp_path)
    with pytest.raises(InputError, match="switch rule"):
        create_app(project, token=TOKEN, stop_late="whenever")
    with TestClient(create_app(project, token=TOKEN, stop_late="run:1"),
                    base_url="http://127.0.0.1") as c:  # fmt: skip
        csrf = login(c, "Ana")
        page = html.unescape(c.get("/screening").text)
        assert "late random sample: switches to a random order after 1 irrelevant in a row" in page
        first = _current(page)
        page = html.unescape(_post(c, "/screening/decide", csrf, record_id=first,
                                   decision="exclude"))  # fmt: skip
        with Screening.open(project) as s:
            late = latest_late_sample(s, "title_abstract")
            assert late is not None and late.switch == "run:1"
            labels = s.labels("title_abstract")
        # the next record is the first of the draw; nothing drawn read yet: p = 1
        assert _current(page) == late.records[0]
        urn = len(late.records)
        assert (f"late random sample (run:1 fired after {late.screened} screened): 0 of {urn} "
                "drawn, 0 relevant; 95% recall test p = 1.000 (stop below 0.05)") in page
        page = html.unescape(_post(c, "/screening/decide", csrf, record_id=late.records[0],
                                   decision="exclude"))  # fmt: skip
    # by hand: found = relevant decided before (R_out, nothing undecided outside the urn),
    # K = floor(found / 0.95 - R_out) + 1, one irrelevant drawn: p = C(urn - K, 1) / C(urn, 1)
    found = sum(labels.values())
    k = math.floor(found / 0.95 - found + 1e-9) + 1
    p = comb(urn - k, 1) / comb(urn, 1) if k <= urn else 0.0
    assert f"1 of {urn} drawn, 0 relevant; 95% recall test p = {p:.3f}" in page
