"""Tests of the active-learning ranker (metareview.screening.ranking)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metareview.errors import InputError
from metareview.screening.ranking import (
    DEFAULT_CLASSIFIER,
    DEFAULT_MODEL,
    DEFAULT_PRESET,
    FEATURE_DEFAULTS,
    LEGACY_FEATURES,
    MODELS,
    PRESETS,
    Ranker,
    Ranking,
    _balanced_weights,
    _extrapolate_yield,
    _team_draft,
    record_text,
)
from metareview.sources.record import Record

RELEVANT_WORDS = ["imatinib", "scleroderma", "randomized", "skin", "fibrosis", "placebo"]
IRRELEVANT_WORDS = ["mouse", "kidney", "cell", "culture", "membrane", "enzyme"]
FILLER = ["study", "patients", "results", "effect", "treatment", "analysis", "data", "group"]


def _corpus(n_rel: int = 12, n_irr: int = 36, seed: int = 1) -> tuple[list[str], np.ndarray]:
    """Made-up abstracts: relevant ones draw on one vocabulary, irrelevant on another."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[int] = []
    for i in range(n_rel + n_irr):
        rel = i < n_rel
        words = list(rng.choice(RELEVANT_WORDS if rel else IRRELEVANT_WORDS, size=6))
        words += list(rng.choice(FILLER, size=6))
        texts.append(" ".join(words))
        labels.append(1 if rel else 0)
    perm = rng.permutation(len(texts))
    return [texts[i] for i in perm], np.asarray(labels)[perm]


def _start(labels: np.ndarray, k: int = 2) -> list[int | None]:
    """Labels with only the first k relevant and first k irrelevant records known."""
    known: list[int | None] = [None] * len(labels)
    for cls in (1, 0):
        for i in np.flatnonzero(labels == cls)[:k]:
            known[i] = int(cls)
    return known


def test_record_text_from_record_mapping_and_string() -> None:
    rec = Record(
        source="pubmed",
        title="Imatinib in SSc",
        abstract="A trial.",
        keywords=["Scleroderma, Systemic"],
        mesh_terms=["Imatinib Mesylate", "Humans"],
    )
    assert (
        record_text(rec)
        == "Imatinib in SSc\nA trial.\nScleroderma, Systemic\nImatinib Mesylate; Humans"
    )
    # the Cohen (2006) columns; 'NA' marks a missing abstract there
    row = {"title": "T", "abstracts": "NA", "keywords": "Humans; Child"}
    assert record_text(row) == "T\nHumans; Child"
    assert record_text({"title": "T", "abstract": "A", "abstracts": "B"}) == "T\nA"
    assert record_text("plain text") == "plain text"


@pytest.mark.parametrize("model", MODELS)
def test_ranks_the_relevant_looking_records_first(model: str) -> None:
    texts, labels = _corpus()
    ranking = Ranker(model, seed=0).fit(texts, _start(labels)).rank()
    assert isinstance(ranking, Ranking) and ranking.trained
    assert len(ranking) == len(labels) - 4
    # every unlabelled relevant record (8 of them) comes before every irrelevant one
    n_rel_left = int(labels.sum()) - 2
    assert labels[ranking.order[:n_rel_left]].tolist() == [1] * n_rel_left
    assert np.all(np.diff(ranking.probabilities) <= 0)
    assert np.all((ranking.probabilities >= 0) & (ranking.probabilities <= 1))


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_ranking(model: str) -> None:
    texts, labels = _corpus(seed=3)
    known = _start(labels, k=3)
    a = Ranker(model, seed=7).fit(texts, known).rank()
    b = Ranker(model, seed=7).fit(texts, known).rank()
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)


def test_ties_are_broken_by_the_seed() -> None:
    # identical texts have identical probabilities; their order follows the seeded permutation
    texts = ["imatinib skin trial"] * 2 + ["mouse kidney cell"] * 2 + ["same words here"] * 6
    known: list[int | None] = [1, None, 0, None] + [None] * 6
    rankings = [Ranker("nb", seed=s).fit(texts, known).rank().order for s in range(8)]
    # the relevant-looking record first, the irrelevant-looking one last, the six ties between
    assert all(o[0] == 1 and o[-1] == 3 for o in rankings)
    orders = {tuple(o[1:7]) for o in rankings}
    assert all(set(o) == set(range(4, 10)) for o in orders)
    assert len(orders) > 1
    again = Ranker("nb", seed=5).fit(texts, known).rank().order
    np.testing.assert_array_equal(again, Ranker("nb", seed=5).fit(texts, known).rank().order)


def test_untrained_until_both_classes_are_known() -> None:
    texts, labels = _corpus()
    only_excludes: list[int | None] = [0 if v == 0 else None for v in labels]
    ranker = Ranker("nb", seed=2).fit(texts, only_excludes)
    ranking = ranker.rank()
    assert not ranking.trained and not ranker.trained
    assert sorted(ranking.order.tolist()) == np.flatnonzero(labels == 1).tolist()
    assert np.isnan(ranking.probabilities).all()
    assert math.isnan(ranker.estimate_remaining_relevant())
    # same seed, same random order
    np.testing.assert_array_equal(
        ranking.order, Ranker("nb", seed=2).fit(texts, only_excludes).rank().order
    )


def test_candidates_and_label_forms() -> None:
    texts, labels = _corpus()
    known = np.array([-1 if v is None else v for v in _start(labels)])
    ranker = Ranker("logreg").fit(texts, known)
    sub = ranker.rank([5, 6, 7])
    assert sorted(sub.order.tolist()) == [5, 6, 7]
    # True/False/None give the same fit as 1/0/-1
    as_bools = [None if v < 0 else bool(v) for v in known]
    np.testing.assert_array_equal(
        Ranker("logreg").fit(texts, as_bools).rank().order, ranker.rank().order
    )
    with pytest.raises(InputError, match="candidate indices"):
        ranker.rank([len(texts)])


def test_features_are_reused_while_the_records_do_not_change() -> None:
    texts, labels = _corpus()
    ranker = Ranker("nb").fit(texts, _start(labels))
    features = ranker._features
    ranker.fit(list(texts), _start(labels, k=3))
    assert ranker._features is features
    ranker.fit([*texts[:-1], "a new abstract about imatinib"], _start(labels, k=3))
    assert ranker._features is not features


def test_bad_input() -> None:
    texts, _ = _corpus()
    with pytest.raises(InputError, match="unknown ranking model"):
        Ranker("bert")
    with pytest.raises(InputError, match="labels were given"):
        Ranker().fit(texts, [1, 0])
    bad: list[object] = [None] * len(texts)
    bad[3] = "maybe"
    with pytest.raises(InputError, match="row 4") as info:
        Ranker().fit(texts, bad)
    assert info.value.field == "labels"
    with pytest.raises(InputError, match="no records"):
        Ranker().fit([], [])
    with pytest.raises(InputError, match="no words"):
        Ranker().fit(["", "  ?  "], [1, 0])
    with pytest.raises(InputError, match="no words"):  # only stop words, removed on request
        Ranker(stop_words=True).fit(["the", "and"], [1, 0])
    with pytest.raises(RuntimeError, match="fit"):
        Ranker().rank()


def test_extrapolated_yield_by_hand() -> None:
    # Constant yield: the MLE of y_j ~ Poisson(exp(a + b t)) with b <= 0 is b = 0, exp(a) = mean
    # (the score equations give sum(mu) = sum(y)); the estimate is mean * records left.
    assert _extrapolate_yield(np.ones(8), 5) == pytest.approx(5.0, rel=1e-6)
    # Rising yield (0,1,0,1): the unconstrained slope is positive, so the bound b = 0 holds and
    # exp(a) = 2/4; 10 records left -> 5.
    assert _extrapolate_yield(np.array([0.0, 1, 0, 1]), 10) == pytest.approx(5.0, rel=1e-5)
    assert _extrapolate_yield(np.array([1.0, 0, 1]), 0) == 0.0
    # A yield that has stopped: far fewer expected than the average rate would suggest.
    decaying = np.array([1.0] * 20 + [0.0] * 80)
    assert _extrapolate_yield(decaying, 100) < 0.05 * 0.2 * 100


def test_estimate_follows_the_decision_order() -> None:
    texts, labels = _corpus(n_rel=10, n_irr=40)
    ranker = Ranker("nb", seed=0)
    known: list[int | None] = [None] * len(texts)
    first_rel = int(np.flatnonzero(labels == 1)[0])
    first_irr = int(np.flatnonzero(labels == 0)[0])
    known[first_rel], known[first_irr] = 1, 0
    ranker.fit(texts, known)
    read = [first_rel, first_irr]
    for _ in range(20):  # a reviewer following the ranking, one decision at a time
        nxt = int(ranker.rank().order[0])
        known[nxt] = int(labels[nxt])
        read.append(nxt)
        ranker.fit(texts, known)
    assert ranker._history == read
    left = int(labels[[i for i in range(len(texts)) if known[i] is None]].sum())
    est = ranker.estimate_remaining_relevant()
    assert left == 0  # all ten relevant records were found within 22 reads
    assert 0.0 <= est < 1.0
    assert ranker.estimate_remaining_relevant([]) == 0.0


# -- presets and the default (issue 11) -------------------------------------------------------


def _settings(ranker: Ranker) -> dict[str, object]:
    return {
        "model": ranker.model,
        "ngram_max": ranker.ngram_max,
        "stop_words": ranker.stop_words,
        "max_df": ranker.max_df,
        "min_df": ranker.min_df,
        "keyword_weight": ranker.keyword_weight,
        "relevant_weight": ranker.relevant_weight,
        "keyword_from": ranker.keyword_from,
        "keyword_warmup": ranker.keyword_warmup,
        "keyword_ramp": ranker.keyword_ramp,
        "keyword_select": ranker.keyword_select,
        "keyword_select_until": ranker.keyword_select_until,
    }


def test_the_default_preset_is_the_default_ranker() -> None:
    # one default in one place: Ranker() with no options, the default preset, and the name the
    # CLI commands default to are the same configuration
    assert DEFAULT_MODEL == DEFAULT_PRESET
    assert PRESETS[DEFAULT_PRESET] == {"model": DEFAULT_CLASSIFIER, **FEATURE_DEFAULTS}
    assert _settings(Ranker()) == PRESETS[DEFAULT_PRESET]
    assert _settings(Ranker.from_preset()) == PRESETS[DEFAULT_PRESET]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_by_name(name: str) -> None:
    ranker = Ranker.from_preset(name, seed=4)
    assert _settings(ranker) == PRESETS[name] and ranker.seed == 4
    texts, labels = _corpus()
    ranking = ranker.fit(texts, _start(labels)).rank()
    n_rel_left = int(labels.sum()) - 2
    assert labels[ranking.order[:n_rel_left]].tolist() == [1] * n_rel_left


def test_earlier_presets_keep_their_features() -> None:
    for name in ("logreg", "nb", "svm", "legacy"):
        assert PRESETS[name] == {"model": PRESETS[name]["model"], **LEGACY_FEATURES}
    assert PRESETS["legacy"]["model"] == "logreg"
    assert PRESETS["ngram2"]["keyword_weight"] == 0.3
    with pytest.raises(InputError, match=r"unknown ranking model 'bert'.*legacy"):
        Ranker.from_preset("bert")


def test_default_ranking_of_a_hand_made_set() -> None:
    # Two known records, three to rank. Record 2 repeats the include's words (and its bigram
    # "skin fibrosis"), record 4 the exclude's; record 3 shares words with neither, so its
    # score is the intercept alone. With any linear model that puts the include's terms on
    # the positive side, the order is 2, 3, 4; the keywords (a separate block) agree.
    records = [
        ("imatinib skin fibrosis trial", "Scleroderma, Systemic"),
        ("mouse kidney cell culture", "Animals"),
        ("imatinib and skin fibrosis", "Scleroderma, Systemic"),
        ("weather report", ""),
        ("kidney cell culture in mouse", "Animals"),
    ]
    ranker = Ranker.from_preset(seed=0).fit(records, [1, 0, None, None, None])
    ranking = ranker.rank()
    assert ranking.order.tolist() == [2, 3, 4]
    assert np.all(np.diff(ranking.probabilities) <= 0)
    again = Ranker.from_preset(seed=0).fit(records, [1, 0, None, None, None]).rank()
    np.testing.assert_array_equal(again.order, ranking.order)
    np.testing.assert_array_equal(again.probabilities, ranking.probabilities)


def test_keywords_are_a_separate_down_weighted_block() -> None:
    records = [("imatinib trial", "Scleroderma"), ("mouse study", "Animals"), ("x y", "Animals")]
    kw0 = Ranker(keyword_weight=0.0).fit(records, [1, 0, None])
    # with weight 0 the keywords do not count: the same scores as with none at all
    no_kw = Ranker(keyword_weight=0.0).fit([(t, "") for t, _ in records], [1, 0, None])
    np.testing.assert_allclose(kw0.probabilities, no_kw.probabilities)
    # the keyword block is a tf-idf block scaled by the weight, beside the text block
    ranker = Ranker(keyword_weight=0.3).fit(records, [1, 0, None])
    assert ranker._features is not None and kw0._features is not None
    text_cols = kw0._features.shape[1]
    block = ranker._features[:, text_cols:].toarray()
    np.testing.assert_allclose(np.linalg.norm(block, axis=1), [0.3, 0.3, 0.3])
    # "Animals", shared with the exclude, pulls the third record down
    assert ranker.probabilities[2] < kw0.probabilities[2]


def test_the_keyword_block_enters_from_the_kth_relevant_label() -> None:
    records = [("imatinib trial", "Scleroderma"), ("mouse study", "Animals"),
               ("x y", "Animals"), ("imatinib skin", "Scleroderma"), ("z w", "Scleroderma")]
    one_rel = [1, 0, None, None, None]
    two_rel = [1, 0, None, 1, None]
    text_only = Ranker(keyword_weight=0.0)
    always = Ranker(keyword_weight=0.3)
    from2 = Ranker(keyword_weight=0.3, keyword_from=2, keyword_select=None)
    # one relevant label: the text block alone, the scores of a ranker without keywords
    np.testing.assert_allclose(from2.fit(records, one_rel).probabilities,
                               text_only.fit(records, one_rel).probabilities)
    assert not np.allclose(always.fit(records, one_rel).probabilities,
                           text_only.probabilities)
    # from the second relevant label on: the keyword block too, as the ranker that always has it
    np.testing.assert_allclose(from2.fit(records, two_rel).probabilities,
                               always.fit(records, two_rel).probabilities)
    for bad in (0, 1.5):
        with pytest.raises(InputError, match="keyword_from"):
            Ranker(keyword_from=bad, keyword_select=None)  # type: ignore[arg-type]


def _ten_records() -> list[tuple[str, str]]:
    """Ten records with keyword blocks: 2 relevant-looking, 8 others."""
    words = ["imatinib trial", "mouse study", "x y", "imatinib skin", "z w", "skin trial",
             "mouse kidney", "cell culture", "trial placebo", "enzyme assay"]
    mesh = ["Scleroderma", "Animals", "Animals", "Scleroderma", "Scleroderma", "Humans",
            "Animals", "Animals", "Humans", "Animals"]
    return list(zip(words, mesh, strict=True))


def test_the_keyword_warmup_reads_the_text_block_until_the_share_is_labelled() -> None:
    records = _ten_records()
    two = [1, 0] + [None] * 8            # 2 of 10 labelled: 20%
    three = [1, 0, 0] + [None] * 7       # 3 of 10: 30%
    text_only = Ranker(keyword_weight=0.0)
    always = Ranker(keyword_weight=0.3)
    warm = Ranker(keyword_weight=0.3, keyword_warmup=0.3, keyword_select=None)
    # below 30% labelled: ELAS u4's features (the text block alone)
    np.testing.assert_allclose(warm.fit(records, two).probabilities,
                               text_only.fit(records, two).probabilities)
    assert not np.allclose(always.fit(records, two).probabilities, text_only.probabilities)
    assert warm.keyword_factor(1, 2) == 0.0 and warm.keyword_factor(1, 3) == 1.0
    # from 30% labelled on: the keyword block too
    np.testing.assert_allclose(warm.fit(records, three).probabilities,
                               always.fit(records, three).probabilities)


def test_the_keyword_ramp_scales_the_block_by_the_share_labelled() -> None:
    records = _ten_records()
    labels = [1, 0, 0, None, None, None, None, None, None, None]   # 3 of 10 labelled
    ramp = Ranker(keyword_weight=0.3, keyword_ramp=0.5, keyword_select=None)  # full at 5 labelled
    ramp.fit(records, labels)
    # 3 / (0.5 * 10) = 0.6 of the weight: the same scores as a ranker weighting the block 0.18
    assert ramp.keyword_factor(1, 3) == pytest.approx(0.6)
    fixed = Ranker(keyword_weight=0.3 * 0.6).fit(records, labels)
    np.testing.assert_allclose(ramp.probabilities, fixed.probabilities, rtol=1e-6, atol=1e-9)
    # the cached features keep the full weight (the ramp scales a copy)
    assert ramp._features is not None
    block = ramp._features[:, ramp._n_text_columns:].toarray()
    np.testing.assert_allclose(np.linalg.norm(block, axis=1), 0.3)
    # past the ramp: the full weight
    done = [1, 0, 0, 0, 1, None, None, None, None, None]
    np.testing.assert_allclose(ramp.fit(records, done).probabilities,
                               Ranker(keyword_weight=0.3).fit(records, done).probabilities)
    for name in ("keyword_warmup", "keyword_ramp"):
        for bad in (-0.1, 1.5):
            with pytest.raises(InputError, match=name):
                Ranker(keyword_select=None, **{name: bad})


# -- the keyword block decided per review (keyword_select; issue 11's third cold-start grid) --

#: Four relevant records sharing "imatinib" (each with its own other words) and six unscreened
#: irrelevant ones with unrelated text.
_SELECT_TEXT = ["imatinib skin trial placebo dose weeks",
                "imatinib lung fibrosis score biopsy open",
                "imatinib scleroderma cohort pilot safety", "imatinib vascular ulcer pain relief",
                "mouse kidney", "cell culture", "enzyme review", "membrane survey", "heart valve",
                "brain imaging", "liver graft", "bone density"]
#: Three relevant and two irrelevant labelled; record 3 (relevant) and 6-11 unscreened.
_SELECT_LABELS: list[int | None] = [1, 1, 1, None, 0, 0] + [None] * 6


def _misleading_mesh() -> list[tuple[str, str]]:
    """Each relevant record has its own MeSH heading, and the unscreened irrelevant ones carry
    the headings of the three labelled relevant ones: the keyword block points away."""
    mesh = ["Adult", "Aged", "Female", "Male", "Animals", "Animals"] + ["Adult; Aged; Female"] * 6
    return list(zip(_SELECT_TEXT, mesh, strict=True))


def test_keyword_select_loo_drops_a_misleading_keyword_block() -> None:
    records = _misleading_mesh()
    full = Ranker().fit(records, _SELECT_LABELS)
    text_only = Ranker(keyword_weight=0.0).fit(records, _SELECT_LABELS)
    # by hand: the full features rank the unscreened relevant record 3 last, the text alone first
    assert full.rank().order[-1] == 3 and text_only.rank().order[0] == 3
    # leave-one-relevant-out: holding out 0, 1 or 2, the full features rank it below the
    # irrelevant records that share the other two's headings; the text block alone above them
    select = Ranker(keyword_select="loo", keyword_select_until=1.0).fit(records, _SELECT_LABELS)
    assert select.keyword_choice == "text"
    np.testing.assert_allclose(select.probabilities, text_only.probabilities)
    np.testing.assert_array_equal(select.rank().order, text_only.rank().order)
    # from keyword_select_until of the records labelled on (here 6 of 12 >= 40%): the full
    # features, as the ranker without the option
    late = Ranker(keyword_select="loo", keyword_select_until=0.4).fit(records, _SELECT_LABELS)
    assert late.keyword_choice == "full"
    np.testing.assert_allclose(late.probabilities, full.probabilities)
    # one relevant record known: nothing to hold out, the full features
    one = Ranker(keyword_select="loo", keyword_select_until=1.0)
    one.fit(records, [1, None, None, None, 0, 0] + [None] * 6)
    assert one.keyword_choice == "full"


def test_keyword_select_loo_keeps_a_helpful_keyword_block() -> None:
    # the relevant records share only their MeSH heading; the unscreened irrelevant records
    # reuse their words
    text = ["skin trial placebo", "lung fibrosis score", "cohort pilot safety", "ulcer pain relief",
            "mouse kidney", "cell culture", "skin placebo", "fibrosis score", "pilot safety",
            "trial lung", "pain cohort", "relief ulcer"]
    records = list(zip(text, ["Scleroderma"] * 4 + ["Animals"] * 8, strict=True))
    full = Ranker().fit(records, _SELECT_LABELS)
    text_only = Ranker(keyword_weight=0.0).fit(records, _SELECT_LABELS)
    # by hand: the relevant record 3 is 5th of 7 with the keyword block, last without it
    assert list(full.rank().order).index(3) == 4 and text_only.rank().order[-1] == 3
    select = Ranker(keyword_select="loo", keyword_select_until=1.0).fit(records, _SELECT_LABELS)
    assert select.keyword_choice == "full"
    np.testing.assert_allclose(select.probabilities, full.probabilities)


class _Coins:
    """A stand-in for numpy's Generator that returns the given uniforms in turn."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def test_team_draft_interleaving_by_hand() -> None:
    first = np.array([0, 1, 2, 3, 4])
    second = np.array([3, 2, 1, 0, 4])
    # coin 0.1: the first side picks 0; then the second (fewer picks) 3; tie, coin 0.9: the
    # second again, 2 (its best not yet placed); then the first, 1; the rest in first's order
    out = _team_draft(first, second, 4, _Coins([0.1, 0.9]))  # type: ignore[arg-type]
    np.testing.assert_array_equal(out, [0, 3, 2, 1, 4])


def test_keyword_select_interleave_hedges_between_both_rankings() -> None:
    records = _misleading_mesh()
    full = Ranker().fit(records, _SELECT_LABELS).rank().order
    text_only = Ranker(keyword_weight=0.0).fit(records, _SELECT_LABELS).rank().order
    assert full[0] != text_only[0]
    mixed = Ranker(keyword_select="interleave", keyword_select_until=1.0)
    order = mixed.fit(records, _SELECT_LABELS).rank().order
    assert mixed.keyword_choice == "interleave"
    # each ranking's best record among the first two, every candidate once, the same again
    assert set(order[:2]) == {full[0], text_only[0]}
    assert sorted(order) == sorted(full)
    np.testing.assert_array_equal(mixed.rank().order, order)
    # the probabilities shown are the full model's
    np.testing.assert_allclose(mixed.rank().probabilities,
                               Ranker().fit(records, _SELECT_LABELS).probabilities[order])
    late = Ranker(keyword_select="interleave", keyword_select_until=0.4)
    np.testing.assert_array_equal(late.fit(records, _SELECT_LABELS).rank().order, full)


def test_keyword_select_bad_input() -> None:
    with pytest.raises(InputError, match="keyword_select"):
        Ranker(keyword_select="both")
    with pytest.raises(InputError, match="keyword_select"):
        Ranker(keyword_select="loo", keyword_warmup=0.05)
    with pytest.raises(InputError, match="keyword_select_until"):
        Ranker(keyword_select="loo", keyword_select_until=1.5)


def test_keyword_select_loo_scores_equal_one_fit_per_held_out_record() -> None:
    # the held-out fits are scored on the labelled records' columns in one product: the same
    # scores, to the last bit, as a fit and a score over every column for each held-out record
    texts, _ = _corpus()
    labels = np.full(len(texts), -1, dtype=np.int8)
    labels[:4] = 1
    labels[12:24] = 0
    ranker = Ranker(keyword_select="loo", keyword_select_until=1.0)
    ranker.fit(texts, labels)
    assert ranker._features is not None
    labelled = np.flatnonzero(labels >= 0)
    held = [0, 1, 2, 3]
    fast = ranker._loo_scores(ranker._features, labels, labelled, held)
    for k, r in enumerate(held):
        train = labelled[labelled != r]
        y = labels[train]
        slow = ranker._classify(ranker._features, train, y,
                                _balanced_weights(y, ranker.relevant_weight), platt=False)[0]
        np.testing.assert_array_equal(fast[:, k], slow)
