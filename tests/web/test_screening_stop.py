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
