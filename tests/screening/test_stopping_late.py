"""The late-drawn random-sample stopping rule (Callaghan & Müller-Hansen, Syst Rev 2020;9:273),
the switch rules, and the irrelevant run as a share of the records.

Expected values are hand calculations written in each test (binomial coefficients), or the
authors' own worked example (the ``hyper_criteriaR`` note of their rapid-screening repository:
20 relevant of 90 read in a review of 100, the last 70 irrelevant, target 0.9: K_hat = 3 and
p = 0.001460565).
"""

from __future__ import annotations

import math
from math import comb
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom

from metareview.errors import InputError
from metareview.screening.stopping import (
    DEFAULT_SWITCH,
    decide,
    first_stop,
    late_sample_decision,
    late_sample_p,
    late_sample_stop,
    parse_switch,
    run_length,
)


def test_late_p_by_hand() -> None:
    # 19 relevant found before the switch, one of the 60 drawn of the 100 unscreened is relevant:
    # K_tau = floor(20 / 0.95 - 19) + 1 = floor(2.05) + 1 = 3
    # p = P(X <= 1 | U = 100, K = 3, n = 60) = [C(97, 60) + 3 C(97, 59)] / C(100, 60)
    assert math.floor(20 / 0.95 - 19) + 1 == 3
    by_hand = (comb(97, 60) + 3 * comb(97, 59)) / comb(100, 60)
    assert by_hand == pytest.approx((40 * 39 * 38 + 3 * 60 * 40 * 39) / (100 * 99 * 98))
    p = late_sample_p(20, 100, 60, 1, outside=19, target=0.95)
    assert p == pytest.approx(by_hand, rel=1e-12)
    assert p == pytest.approx(float(hypergeom.cdf(1, 100, 3, 60)), rel=1e-12)
    d = late_sample_decision(20, 100, 60, 1, outside=19)
    assert (d.rule, d.stop, d.threshold) == ("late-sample", by_hand < 0.05, pytest.approx(0.05))


def test_late_p_is_the_authors_worked_example() -> None:
    # Their note: 90 of 100 read, 20 relevant, all among the first 20; the last 70 taken as the
    # sample, so r_ML = 20 and the urn holds the 80 records unread before it.
    # K_hat = floor(r_seen / tau - r_ML + 1) = floor(20 / 0.9 - 20 + 1) = 3;
    # p = phyper(0, 3, 77, 70) = C(77, 70) / C(80, 70) = (10 * 9 * 8) / (80 * 79 * 78)
    assert math.floor(20 / 0.9 - 20 + 1) == 3
    by_hand = (10 * 9 * 8) / (80 * 79 * 78)
    assert by_hand == pytest.approx(0.001460565, abs=5e-10)  # the value their note prints
    assert late_sample_p(20, 80, 70, 0, outside=20, target=0.9) == pytest.approx(by_hand)


def test_late_p_edges() -> None:
    # K_tau larger than the urn: recall cannot be below the target, p = 0 (stop)
    # found 100, nothing outside unknown: K_tau = floor(100 / 0.95 - 100) + 1 = 6 > urn of 5
    assert late_sample_p(100, 5, 0, 0, outside=100) == 0.0
    assert late_sample_decision(100, 5, 0, 0, outside=100).stop
    # nothing drawn yet from an urn that could hold K_tau: p = 1
    assert late_sample_p(10, 50, 0, 0, outside=10) == 1.0
    # records not decided outside the urn count as possibly relevant: R_out 10 + 5 undecided
    # gives K_tau = floor(10 / 0.95 - 15) + 1 = -4 + 1 -> 0, so p = P(X <= 0 | K = 0) = 1
    assert late_sample_p(10, 50, 20, 0, outside=15) == 1.0
    for bad in ((1, 10, 11, 0), (1, 10, 5, 6), (0, 10, 5, 1)):
        with pytest.raises(InputError):
            late_sample_p(*bad, outside=0)
    with pytest.raises(InputError):
        late_sample_p(1, 10, 5, 0, outside=0, target=1.0)


def test_late_stop_along_an_order_by_hand() -> None:
    # 19 relevant first, then 81 irrelevant (N = 100). After the switch every draw is
    # irrelevant whatever the random order, so K_tau = floor(19 / 0.95 - 19) + 1 = 2 and after
    # n draws from the urn of U: p_n = C(U - 2, n) / C(U, n) = (U - n)(U - n - 1) / (U (U - 1)).
    y = np.array([1] * 19 + [0] * 81)

    def first_n(urn: int) -> int:
        return next(n for n in range(urn + 1)
                    if (urn - n) * (urn - n - 1) / (urn * (urn - 1)) < 0.05)  # fmt: skip

    # screened:20 switches after 20 records: U = 80
    out = late_sample_stop(y, "screened:20", seed=3)
    n = first_n(80)
    # n = 62: (18 * 17) / (80 * 79) = 0.0484 < 0.05 <= (19 * 18) / (80 * 79) = 0.0541
    assert n == 62
    assert (18 * 17) / (80 * 79) < 0.05 <= (19 * 18) / (80 * 79)
    assert out["switched_at"] == 20 and out["drawn"] == n and out["stopped_at"] == 20 + n
    assert out["recall"] == 1.0 and out["work_saved"] == pytest.approx(1 - (20 + n) / 100)
    assert out["p"] == pytest.approx((80 - n) * (79 - n) / (80 * 79))
    # run:10 fires at the 10th irrelevant in a row: record 29, U = 71
    out = late_sample_stop(y, "run:10", seed=3)
    assert out["switched_at"] == 29 and out["stopped_at"] == 29 + first_n(71)
    # 10% of N = 10 records in a row: the same
    assert late_sample_stop(y, "run:10%")["switched_at"] == 29
    # a switch that never fires reads everything
    out = late_sample_stop(y, "run:90")
    assert (out["switched_at"], out["stopped_at"], out["stopped"]) == (None, 100, False)


def test_late_stop_with_relevant_records_left_matches_the_test() -> None:
    # 30 relevant among 400; the ranked order finds 25 first. Whatever the random order, the
    # stop is the first draw where the test rejects, with the counts of the draws so far.
    rng = np.random.default_rng(5)
    tail = np.array([1] * 5 + [0] * 345)
    rng.shuffle(tail)
    y = np.concatenate([[1] * 25, [0] * 25, tail])
    for seed in range(5):
        out = late_sample_stop(y, "screened:50", seed=seed)
        assert out["switched_at"] == 50
        drawn = y[50:][np.random.default_rng([seed, 273]).permutation(350)]
        n = out["drawn"]
        x = int(drawn[:n].sum())
        assert out["p"] == pytest.approx(late_sample_p(25 + x, 350, n, x, outside=25))
        assert out["p"] < 0.05
        if n:
            xm = int(drawn[:n - 1].sum())
            assert late_sample_p(25 + xm, 350, n - 1, xm, outside=25) >= 0.05
        assert out["recall"] == pytest.approx((25 + x) / 30)


def test_switch_rules() -> None:
    sw = parse_switch("run:2%")
    assert (sw.kind, sw.value, sw.share, sw.spec) == ("run", 2.0, True, "run:2%")
    assert sw.records(251) == 6  # ceil(5.02)
    assert parse_switch("screened:30%").records(1000) == 300
    assert parse_switch(" Screened : 400 ").spec == "screened:400"
    assert parse_switch(DEFAULT_SWITCH).spec == DEFAULT_SWITCH
    assert parse_switch("run:50").text() == "after 50 irrelevant in a row"
    assert parse_switch("screened:30%").text() == "after 30% of the records screened"
    # two rules: whichever fires first (19 relevant then 81 irrelevant: a run of 10 ends at
    # record 29, 15 records are screened at record 15)
    both = parse_switch("run:10 or screened:15")
    assert both.spec == "run:10 or screened:15" and both.counts_runs
    assert both.text() == "after 10 irrelevant in a row or after 15 records screened"
    y = [1] * 19 + [0] * 81
    assert both.point(y, 100) == 15 and parse_switch("run:10 or screened:50").point(y, 100) == 29
    assert parse_switch("run:90 or screened:99").point(y, 100) == 99
    assert parse_switch("run:90 or screened:100%").point(y[:50], 100) is None
    assert not parse_switch("screened:5%").counts_runs
    with pytest.raises(InputError, match="at most two"):
        parse_switch("run:1 or run:2 or run:3")
    for bad in ("run", "run:0", "run:-3", "run:2.5", "screened:120%", "yield:5", "run:x",
                "run:5 or", "run:5 and screened:5"):
        with pytest.raises(InputError, match="switch rule"):
            parse_switch(bad)


def test_run_as_a_share_of_the_records() -> None:
    assert run_length(50, 1000) == 50
    assert run_length("50", 10) == 50
    assert run_length("5%", 251) == 13  # ceil(12.55)
    assert run_length("5%", 200) == 10  # exactly 10, not 11
    assert run_length("0.1%", 10) == 1
    for bad in ("0", "-1", "0%", "101%", "five"):
        with pytest.raises(InputError):
            run_length(bad, 100)
    y = [1] + [0] * 12
    assert first_stop(y, "irrelevant-run", run="5%", n_total=200) == 11  # run of 10
    assert first_stop(y, "irrelevant-run", run="10%", n_total=200) is None  # run of 20
    _, run = decide(y, 200, run="5%")
    assert (run.rule, run.stop, run.value, run.threshold) == ("irrelevant-run", True, 12.0, 10.0)


# -- in a project: the screener switches, keeps the draw, and tests on it --------------------


def _p_by_hand(found: int, outside: int, urn: int, n: int, x: int, target: float = 0.95) -> float:
    """P(X <= x), X ~ Hypergeometric(urn, K, n), K = floor(found / target - outside) + 1, by
    binomial coefficients (0 when K exceeds the urn)."""
    k = max(0, math.floor(found / target - outside + 1e-9) + 1)
    if k > urn:
        return 0.0
    return sum(comb(k, j) * comb(urn - k, n - j) for j in range(x + 1)) / comb(urn, n)


def test_screener_switches_to_a_late_random_sample(tmp_path: Path) -> None:
    from screening_builders import open_screening
    from test_screener import RELEVANT, _project

    from metareview.screening.latesample import latest_late_sample
    from metareview.screening.screener import ScreeningSession, stopping_text

    folder = _project(tmp_path, n_each=6)
    with open_screening(folder) as s:
        session = ScreeningSession(s, reviewer="A", seed=1, stop_late="run:2", late_seed=11)
        prog = session.progress()
        assert prog.stopping[-1].rule == "late-sample" and not prog.stopping[-1].stop
        assert stopping_text(prog)[-1] == (
            "late random sample: switches to a random order after 2 irrelevant in a row; "
            "0 in a row so far")
        truth: dict[int, int] = {}
        late = None
        while late is None:
            cand = session.next()
            assert cand is not None
            rel = int(RELEVANT in cand.record.title)
            truth[cand.record_id] = rel
            session.decide(cand.record_id, "include" if rel else "exclude",
                           reason=None if rel else "population")  # fmt: skip
            session.progress()
            late = latest_late_sample(s, "title_abstract")
        # the switch fired on the second irrelevant in a row, and the draw holds every record
        # not decided then, in a random order, with the rule that fired
        mine = list(truth.values())
        assert mine[-2:] == [0, 0] and late.switch == "run:2"
        labels = s.labels("title_abstract")
        assert late.screened == len(labels)
        assert set(late.records) == set(session.ids) - set(labels)
        outside = sum(labels.values())  # relevant decided before the switch (nothing undecided)
        urn = len(late.records)
        for n in range(1, urn + 1):
            cand = session.next()
            assert cand is not None and cand.record_id == late.records[n - 1]  # drawn order
            rel = int(RELEVANT in cand.record.title)
            session.decide(cand.record_id, "include" if rel else "exclude",
                           reason=None if rel else "population")  # fmt: skip
            x = sum(int(RELEVANT in s.reports.records[r].record.title) for r in late.records[:n])
            prog = session.progress()
            d = prog.stopping[-1]
            assert d.rule == "late-sample"
            assert d.value == pytest.approx(_p_by_hand(outside + x, outside, urn, n, x))
            assert d.stop == (d.value < 0.05)
            assert stopping_text(prog)[-1] == (
                f"late random sample (run:2 fired after {late.screened} screened): {n} of "
                f"{urn} drawn, {x} relevant; 95% recall test p = {d.value:.3f} (stop below "
                f"0.05{': STOP' if d.stop else ''})")
        # the draw is kept as drawn
        conn = s.project.connection
        with pytest.raises(Exception, match="never changes"):
            conn.execute("UPDATE screening_late_samples SET seed = 1")
        with pytest.raises(Exception, match="never deleted"):
            conn.execute("DELETE FROM screening_late_samples")
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE table_name = 'screening_late_samples'")]
        assert actions == ["late-sample-draw"]


def test_a_stored_switch_is_followed_and_a_skip_ends_the_sample(tmp_path: Path) -> None:
    from screening_builders import open_screening
    from test_screener import _project

    from metareview.screening.latesample import draw_late_sample, late_status
    from metareview.screening.screener import ScreeningSession

    folder = _project(tmp_path)
    with open_screening(folder) as s:
        late = draw_late_sample(s, "title_abstract", "screened:10%", seed=4)
        session = ScreeningSession(s, reviewer="B", seed=1)  # no --stop-late: follows the draw
        first = session.next()
        assert first is not None and first.record_id == late.records[0]
        session.skip(first.record_id)
        second = session.next()
        assert second is not None and second.record_id == late.records[1]
        session.decide(second.record_id, "exclude", reason="population")
        status = late_status(s, "title_abstract")
        # the first drawn record is unread: the random sample read in order is still empty
        assert status is not None and status.read == 0
        with pytest.raises(InputError, match="switch rule"):
            draw_late_sample(s, "title_abstract", "soon")
        with pytest.raises(InputError, match="switch rule"):
            ScreeningSession(s, reviewer="C", stop_late="later")
