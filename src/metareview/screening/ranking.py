"""Ranking records for screening by active learning, as ASReview does it.

The reviewer's decisions so far train a classifier on TF-IDF features of every record's title,
abstract and keywords (MeSH terms); the records not yet screened are ordered by the predicted
probability of being relevant, most likely first (ASReview's *max* query strategy, a
certainty-based strategy). Retrain whenever decisions arrive and rank again.

Usage::

    ranker = Ranker.from_preset("default", seed=0)   # or Ranker(model="svm", ...)
    ranker.fit(records, labels)          # labels: 1 include, 0 exclude, None (or -1) unscreened
    ranking = ranker.rank()              # ranking.order[0] is the record to show next
    ranker.estimate_remaining_relevant() # estimated relevant records among the unscreened

The features are computed once per corpus (TF-IDF is unsupervised, so all records, labelled or
not, are used) and reused by every retraining; the screener's time from a decision to the next
record on 5,000 records is in benchmarks/results/screening_next_record.json.

Design, following ASReview LAB (van de Schoot et al., Nat Mach Intell 2021;3:125-133,
doi:10.1038/s42256-020-00287-7):

- **Features.** ``TfidfVectorizer`` over all records of the project (feature extraction is
  unsupervised, so it is fitted once on the whole corpus, labelled or not, as ASReview does):
  title and abstract as word 1-2-grams, no stop-word removal, sublinear term frequency, terms
  in more than 95% of the records dropped (``max_df``), as ASReview LAB 2's TF-IDF. Keywords /
  MeSH terms are a separate TF-IDF block (each term a token) multiplied by ``keyword_weight``
  and stacked beside the text block, so a long MeSH list cannot swamp a short abstract (appended
  as text they wrecked the cold start on some reviews: issue 11). Every default was chosen by
  leave-one-review-out over the nine Cohen (2006) sets (``benchmarks/screening_select.py``).
- **Classifiers.** ``"svm"`` linear support vector machine (squared hinge loss, C = 0.11, the
  classifier of ASReview 2's ELAS u4 model), the default; ``"logreg"`` L2-penalised logistic
  regression (C = 1, liblinear); ``"nb"`` multinomial naive Bayes with alpha = 3.822 (ASReview
  1's default classifier and smoothing). The default (SVM, relevant records weighted 9.8 times
  the balanced ratio as ELAS u4 weighs them, the features above) was chosen by every fold of a
  leave-one-review-out selection over the nine Cohen (2006) sets, three seeds, both label
  levels (benchmarks/screening_select.py; figures in benchmarks/results/screening_select.md).
- **Cold start.** While fewer than 5% of the records are labelled, the keyword block is used
  only when, after the latest relevant record, it ranks held-out relevant records better than
  the text block alone (leave-one-relevant-out, ``keyword_select="loo"``); chosen by all nine
  folds of a pre-registered leave-one-review-out grid (benchmarks/results/
  screening_select_coldstart3.md), where the keyword block from the first fit had put the cold
  start behind ELAS u4's on two reviews.
- **Class balance.** Relevant records are rare, so each class gets the same total weight:
  ``w_c = n / (2 n_c)`` for the ``n_c`` labelled records of class ``c`` among ``n`` (scikit-learn's
  "balanced" weights, King & Zeng 2001); the relevant class is then weighted
  ``relevant_weight`` times more and the weights are scaled to mean 1, which is ASReview 2's
  "balanced" sample weight with ``ratio = relevant_weight``.
- **Query.** Records are ordered by the classifier's score (log-odds or margin), highest first.
- **Determinism.** Given the same records, labels, model and seed the ranking is identical: the
  classifiers are deterministic given the seed, and ties in score are broken by a seeded
  permutation of the record indices.

Before at least one include and one exclude are known no classifier can be trained; the ranking is
then a seeded random order (``Ranking.trained`` is False), which is the situation ASReview solves
by asking for prior knowledge of one relevant and one irrelevant record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from metareview.errors import InputError
from metareview.sources.record import Record

__all__ = [
    "DEFAULT_CLASSIFIER",
    "DEFAULT_MODEL",
    "DEFAULT_PRESET",
    "FEATURE_DEFAULTS",
    "LEGACY_FEATURES",
    "MODELS",
    "PRESETS",
    "Ranker",
    "Ranking",
    "RecordLike",
    "record_parts",
    "record_text",
]

#: The classifiers :class:`Ranker` offers, by name.
MODELS: tuple[str, ...] = ("nb", "logreg", "svm")

#: ASReview's default smoothing for multinomial naive Bayes.
_NB_ALPHA = 3.822
#: Regularisation of ASReview 2's ELAS u4 linear SVM.
_SVM_C = 0.11
_LOGREG_C = 1.0
#: liblinear's stopping tolerance for logistic regression (scikit-learn's default is 1e-4).
#: With 1e-2 the dual solver stops after fewer passes over the labelled records; on two Cohen
#: (2006) sets the simulated reading orders were identical, or first differed at record 338 of
#: 391, to those of 1e-4 (issue 11).
_LOGREG_TOL = 1e-2
#: liblinear's stopping tolerance for the SVM (scikit-learn's default is 1e-4): a third less
#: training time at 3,000 decisions; on three Cohen sets x 2 label levels x 3 seeds, 11 of 18
#: replays found every relevant record at the same position as with 1e-4 and the rest moved by
#: 1 to 3 positions (issue 11; the selection grid ran with 1e-4).
_SVM_TOL = 1e-2

#: Ways :class:`Ranker` can decide, review by review, whether the keyword block helps the
#: early ranking (``keyword_select``; issue 11's third cold-start grid).
KEYWORD_SELECT: tuple[str, ...] = ("loo", "interleave")
#: ``keyword_select="loo"`` holds out at most this many relevant records (the latest found).
_LOO_MAX_RELEVANT = 10
#: ``keyword_select="interleave"`` interleaves this many leading positions of the two
#: rankings; the rest follows the ranking with the keyword block.
_INTERLEAVE_DEPTH = 500

#: The features of the ranker before issue 11: single words, English stop words removed,
#: keywords/MeSH appended to the text, no extra weight on relevant records. The ``"logreg"``,
#: ``"nb"``, ``"svm"`` and ``"legacy"`` presets keep them, so earlier results can be repeated.
LEGACY_FEATURES: dict[str, Any] = {
    "ngram_max": 1,
    "stop_words": True,
    "max_df": 1.0,
    "min_df": 1,
    "keyword_weight": None,
    "relevant_weight": 1.0,
    "keyword_from": 1,
    "keyword_warmup": 0.0,
    "keyword_ramp": 0.0,
    "keyword_select": None,
    "keyword_select_until": 0.05,
}

#: The default classifier, chosen with the features below by leave-one-review-out over the
#: nine Cohen (2006) sets (benchmarks/screening_select.py).
DEFAULT_CLASSIFIER = "svm"

#: Feature and weighting defaults of :class:`Ranker`, chosen by leave-one-review-out over the
#: nine Cohen (2006) sets, three seeds, both label levels (benchmarks/screening_select.py,
#: benchmarks/results/screening_select.md): every fold chose these with ELAS u4's SVM and
#: weights. Held-out mean WSS@95 / recall@10% 0.305 / 30.8% (label1) and 0.404 / 47.0% (label2),
#: against 0.280 / 29.6% and 0.367 / 45.3% for ASReview LAB 3.0.8's ELAS u4 in the same run;
#: without the keyword block the same SVM gives ASReview's figures exactly. The keyword block is
#: decided per review while fewer than 5% of the records are labelled (``keyword_select="loo"``):
#: chosen by all nine folds of the third cold-start grid, 10 seeds, and behind ELAS u4's cold
#: start beyond the seed noise on no review (benchmarks/results/screening_select_coldstart3.md).
FEATURE_DEFAULTS: dict[str, Any] = {
    "ngram_max": 2,
    "stop_words": False,
    "max_df": 0.95,
    "min_df": 1,
    "keyword_weight": 0.3,
    "relevant_weight": 9.8,
    "keyword_from": 1,
    "keyword_warmup": 0.0,
    "keyword_ramp": 0.0,
    "keyword_select": "loo",
    "keyword_select_until": 0.05,
}

#: The preset ``metareview screen`` and ``metareview simulate`` use unless told otherwise: the
#: default classifier on the default features (the one place the default is set).
DEFAULT_PRESET = "default"
#: The default preset's name, under its earlier name.
DEFAULT_MODEL = DEFAULT_PRESET

#: Named ranker configurations for ``--model`` of ``metareview screen`` and ``simulate``:
#: the default (``DEFAULT_PRESET``); ``"logreg"``, ``"nb"``, ``"svm"``, the three classifiers on
#: the features before issue 11 (:data:`LEGACY_FEATURES`); ``"ngram2"``, the first
#: leave-one-review-out choice (1-2-word terms, keywords as a block weighted 0.3, no extra
#: weight on relevant records); and ``"legacy"``, the default ranker before issue 11 (logistic
#: regression on the legacy features), kept so changes can be measured.
PRESETS: dict[str, dict[str, Any]] = {
    DEFAULT_PRESET: {"model": DEFAULT_CLASSIFIER, **FEATURE_DEFAULTS},
    "logreg": {"model": "logreg", **LEGACY_FEATURES},
    "nb": {"model": "nb", **LEGACY_FEATURES},
    "svm": {"model": "svm", **LEGACY_FEATURES},
    "ngram2": {
        "model": "logreg",
        "ngram_max": 2,
        "stop_words": False,
        "max_df": 0.95,
        "min_df": 1,
        "keyword_weight": 0.3,
        "relevant_weight": 1.0,
        "keyword_from": 1,
        "keyword_warmup": 0.0,
        "keyword_ramp": 0.0,
        "keyword_select": None,
        "keyword_select_until": 0.05,
    },
    "legacy": {"model": "logreg", **LEGACY_FEATURES},
}

RecordLike = Record | Mapping[str, Any] | str | tuple[str, str]


def _join(part: Any) -> str:
    """One field as text: strings as they are, lists joined by '; ', missing/'NA' empty."""
    if part is None:
        return ""
    if isinstance(part, str):
        text = part
    elif isinstance(part, float) and np.isnan(part):  # pandas' missing value
        return ""
    else:
        text = "; ".join(str(p) for p in part)
    text = text.strip()
    return "" if text == "NA" else text


def record_parts(record: RecordLike) -> tuple[str, str]:
    """The ranker's two inputs for one record: (title and abstract, keywords and MeSH terms).

    Accepts what :func:`record_text` accepts; a plain string is all text, no keywords. The
    keywords come back ``'; '``-separated (one MeSH heading or keyword between separators).
    """
    if isinstance(record, str):
        return record, ""
    if isinstance(record, tuple):
        return record
    if isinstance(record, Record):
        text_parts: list[Any] = [record.title, record.abstract]
        kw_parts: list[Any] = [record.keywords, record.mesh_terms]
    else:
        abstract = record.get("abstract")
        if abstract is None:
            abstract = record.get("abstracts")
        text_parts = [record.get("title"), abstract]
        kw_parts = [record.get("keywords"), record.get("mesh_terms")]
    text = "\n".join(t for t in (_join(p) for p in text_parts) if t)
    keywords = "; ".join(t for t in (_join(p) for p in kw_parts) if t)
    return text, keywords


def _keyword_tokens(text: str) -> list[str]:
    """Keywords split at ';' (MeSH headings keep their commas: 'Carcinoma, Non-Small-Cell Lung')."""
    return [t.strip().lower() for t in text.split(";") if t.strip()]


def record_text(record: RecordLike) -> str:
    """The text the ranker reads for one record: title, abstract and keywords/MeSH terms.

    Parameters
    ----------
    record
        A :class:`~metareview.sources.record.Record`, a mapping with any of the keys
        ``title``, ``abstract`` (or ``abstracts``, the Cohen 2006 column), ``keywords``,
        ``mesh_terms`` (strings, or lists of strings), or a plain string used as it is.
        ``"NA"`` (the Cohen files' marker of a missing abstract) counts as empty.

    Returns
    -------
    str
        The parts joined by newlines.
    """
    if isinstance(record, str):
        return record
    if isinstance(record, tuple):
        return "\n".join(p for p in record if p)
    if isinstance(record, Record):
        parts: list[Any] = [record.title, record.abstract, record.keywords, record.mesh_terms]
    else:
        abstract = record.get("abstract")
        if abstract is None:
            abstract = record.get("abstracts")
        parts = [record.get("title"), abstract, record.get("keywords"), record.get("mesh_terms")]
    out: list[str] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, str):
            text = part
        elif isinstance(part, float) and np.isnan(part):  # pandas' missing value
            continue
        else:
            text = "; ".join(str(p) for p in part)
        text = text.strip()
        if text and text != "NA":
            out.append(text)
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Candidate records ordered by predicted relevance, most likely relevant first.

    Attributes
    ----------
    order
        Record indices (positions in the records given to :meth:`Ranker.fit`), best first.
    probabilities
        The model's probability that each record in ``order`` is relevant, aligned with
        ``order`` (non-increasing: probabilities are a monotone function of the ranking score;
        except while ``keyword_select="interleave"`` interleaves two rankings).
        NaN when ``trained`` is False.
    trained
        False when the labels did not yet contain both an include and an exclude; ``order`` is
        then a seeded random order.
    """

    order: NDArray[np.intp]
    probabilities: NDArray[np.float64]
    trained: bool

    def __len__(self) -> int:
        return len(self.order)


def _balanced_weights(y: NDArray[np.int8], relevant_weight: float = 1.0) -> NDArray[np.float64]:
    """Sample weights: ``n / (2 n_c)`` (both classes equal total weight), relevant ones
    ``relevant_weight`` times more, then scaled to mean 1 (so the weighting never changes the
    strength of the penalty: ASReview's "balanced" sample weights with ``ratio``)."""
    n = len(y)
    n_pos = int(y.sum())
    n_neg = n - n_pos
    w = np.where(y == 1, relevant_weight * n / (2.0 * n_pos), n / (2.0 * n_neg))
    return w * (n / w.sum())


def _coerce_labels(labels: Sequence[Any] | NDArray[Any], n: int) -> NDArray[np.int8]:
    """Labels as int8: 1 include, 0 exclude, -1 unlabelled; InputError on anything else."""
    if len(labels) != n:
        raise InputError(
            f"{len(labels)} labels were given for {n} records; give one label per record "
            "(1 include, 0 exclude, None unscreened)",
            field="labels",
        )
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iub":
        # the screener's and the simulation's int8 arrays: checked without a Python loop
        values = labels.astype(np.int64)
        bad = np.flatnonzero(~np.isin(values, (-1, 0, 1)))
        if bad.size:
            raise InputError(
                f"label {labels[bad[0]]!r} is not 1 (include), 0 (exclude) or None (unscreened)",
                row=int(bad[0]) + 1,
                field="labels",
            )
        return values.astype(np.int8)
    out = np.full(n, -1, dtype=np.int8)
    for i, value in enumerate(labels):
        if value is None:
            continue
        if isinstance(value, float) and np.isnan(value):
            continue
        if value is True or value == 1:
            out[i] = 1
        elif value is False or value == 0:
            out[i] = 0
        elif value == -1:
            continue
        else:
            raise InputError(
                f"label {value!r} is not 1 (include), 0 (exclude) or None (unscreened)",
                row=i + 1,
                field="labels",
            )
    return out


class Ranker:
    """Active-learning ranker: train on the decisions so far, order the rest by relevance.

    Parameters
    ----------
    model
        ``"svm"`` (linear SVM, the default; probabilities by Platt scaling of its decision
        values on the labelled records: Platt 1999), ``"logreg"`` (logistic regression) or
        ``"nb"`` (multinomial naive Bayes, ASReview 1's default).
    seed
        Seed for the classifier and for breaking ties; the same seed gives the same ranking.
    ngram_max
        Longest word n-gram in the text block (1: single words; 2 adds bigrams).
    stop_words
        Remove scikit-learn's English stop words from the text block (default False).
    max_df, min_df
        Drop terms found in more than ``max_df`` (a proportion) or fewer than ``min_df`` (a
        count) of the records.
    keyword_weight
        Weight of the keyword/MeSH block stacked beside the text block (0 leaves keywords out);
        ``None`` appends the keywords to the text instead (the ranker before issue 11).
    relevant_weight
        Extra weight on relevant records, on top of the balanced class weights (the weights are
        then scaled to mean 1, so this does not change the penalty's strength).
    c
        The classifier's ``C`` (inverse penalty); default 1 for logistic regression and 0.11
        for the SVM (ASReview 2's ELAS u4).
    keyword_from
        The keyword block (``keyword_weight`` > 0) enters the features once this many relevant
        records are labelled; before that the classifier reads the text block alone (a schedule
        by the number of relevant labels: the keywords of one or two relevant records can pull
        the first batches towards records that share only their MeSH terms). 1: always.
    keyword_warmup
        A warm-up by the share of the records labelled: while fewer than ``keyword_warmup * n``
        of the ``n`` records are labelled (priors included) the classifier reads the text block
        alone, i.e. ELAS u4's features (issue 11's "short warm-up model closer to ASReview's").
        0 (the default): no warm-up.
    keyword_ramp
        A ramp of the keyword block's weight by the share labelled: with ``L`` records labelled
        the block is weighted ``keyword_weight * min(1, L / (keyword_ramp * n))`` (after any
        warm-up or ``keyword_from`` wait, during which it is 0). 0 (the default): the full
        weight from the start.
    keyword_select
        Decide, for this review, whether the keyword block helps the early ranking, while
        fewer than ``keyword_select_until * n`` records are labelled (afterwards the full
        features, as without it). ``None``: always the full features. ``"loo"`` (the
        default, benchmarks/results/screening_select_coldstart3.md): at each retraining
        after a new relevant record arrived (two or more known), each feature set (the text
        block alone, i.e. ELAS u4's features, and text plus keyword block) is scored by
        leave-one-relevant-out: for each of the latest 10 relevant records
        ``r`` (``_LOO_MAX_RELEVANT``), the classifier trained on the other
        labelled records ranks ``r`` among the unscreened records, and its rank percentile
        ``(#{s_u > s_r} + #{s_u = s_r} / 2) / (U + 1)`` is averaged over ``r``; the ranking
        uses the text block alone only when its mean percentile is strictly lower (ties and
        too few relevant: the full features). ``"interleave"``: both classifiers are trained
        and the ranking is their team-draft interleaving (Radlinski, Kurup & Joachims, CIKM
        2008): in each round the side with fewer picks (a seeded coin on a tie) adds its
        highest record not yet picked; no choice is made, the batch hedges between the two.
    keyword_select_until
        The share of the records labelled (priors included) up to which ``keyword_select``
        applies (default 0.05, the cold start's 5% read).

    Notes
    -----
    TF-IDF (scikit-learn's smooth variant): ``tfidf(t, d) = (1 + log tf(t, d)) * (1 + log((1 +
    n) / (1 + df(t))))``, rows scaled to unit Euclidean norm (Salton & Buckley 1988). Naive Bayes
    posterior: ``P(rel | d) ∝ π_rel ∏_t θ_{t,rel}^{x_{d,t}}`` with ``θ_{t,c} = (N_{t,c} + α) /
    (N_c + α V)`` (McCallum & Nigam 1998). Logistic regression: ``P(rel | d) = 1 / (1 +
    exp(-(w·x_d + b)))`` with ``w, b`` minimising ``½‖(w, b)‖² + C Σ_i s_i log(1 + exp(-y_i (w·x_i
    + b)))`` over the labelled records (``y_i = ±1``, ``s_i`` the balancing weights; liblinear,
    Fan et al., J Mach Learn Res 2008;9:1871-1874). Linear SVM: ``w, b`` minimising ``½‖(w, b)‖²
    + C Σ_i s_i max(0, 1 - y_i (w·x_i + b))²`` (squared hinge loss; liblinear's dual solver).
    """

    def __init__(
        self,
        model: str = DEFAULT_CLASSIFIER,
        *,
        seed: int = 0,
        ngram_max: int = FEATURE_DEFAULTS["ngram_max"],
        stop_words: bool = FEATURE_DEFAULTS["stop_words"],
        max_df: float = FEATURE_DEFAULTS["max_df"],
        min_df: int = FEATURE_DEFAULTS["min_df"],
        keyword_weight: float | None = FEATURE_DEFAULTS["keyword_weight"],
        relevant_weight: float = FEATURE_DEFAULTS["relevant_weight"],
        c: float | None = None,
        keyword_from: int = FEATURE_DEFAULTS["keyword_from"],
        keyword_warmup: float = FEATURE_DEFAULTS["keyword_warmup"],
        keyword_ramp: float = FEATURE_DEFAULTS["keyword_ramp"],
        keyword_select: str | None = FEATURE_DEFAULTS["keyword_select"],
        keyword_select_until: float = FEATURE_DEFAULTS["keyword_select_until"],
    ) -> None:
        if model not in MODELS:
            raise InputError(
                f"unknown ranking model {model!r}; choose one of {', '.join(MODELS)}",
                field="model",
            )
        if ngram_max < 1:
            raise InputError("ngram_max must be 1 or more", field="ngram_max")
        if not 0.0 < max_df <= 1.0:
            raise InputError("max_df must lie in (0, 1]", field="max_df")
        if min_df < 1:
            raise InputError("min_df must be 1 or more", field="min_df")
        if keyword_weight is not None and not keyword_weight >= 0:
            raise InputError("keyword_weight must be 0 or more (or None)", field="keyword_weight")
        if c is not None and not c > 0:
            raise InputError("c must be more than 0 (or None)", field="c")
        if not relevant_weight > 0:
            raise InputError("relevant_weight must be more than 0", field="relevant_weight")
        if int(keyword_from) != keyword_from or keyword_from < 1:
            raise InputError("keyword_from must be a whole number, 1 or more",
                             field="keyword_from")
        if keyword_select is not None and keyword_select not in KEYWORD_SELECT:
            raise InputError(
                f"unknown keyword_select {keyword_select!r}; choose one of "
                f"{', '.join(KEYWORD_SELECT)} (or None)",
                field="keyword_select",
            )
        if keyword_select is not None and (keyword_from > 1 or keyword_warmup > 0
                                           or keyword_ramp > 0):
            raise InputError("keyword_select replaces keyword_from, keyword_warmup and "
                             "keyword_ramp: give it alone", field="keyword_select")
        for name, value in (("keyword_warmup", keyword_warmup), ("keyword_ramp", keyword_ramp),
                            ("keyword_select_until", keyword_select_until)):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must lie in [0, 1] (a share of the records)",
                                 field=name)
        self.model = model
        self.seed = int(seed)
        self.ngram_max = int(ngram_max)
        self.stop_words = bool(stop_words)
        self.max_df = float(max_df)
        self.min_df = int(min_df)
        self.keyword_weight = None if keyword_weight is None else float(keyword_weight)
        self.relevant_weight = float(relevant_weight)
        self.c = None if c is None else float(c)
        self.keyword_from = int(keyword_from)
        self.keyword_warmup = float(keyword_warmup)
        self.keyword_ramp = float(keyword_ramp)
        self.keyword_select = keyword_select
        self.keyword_select_until = float(keyword_select_until)
        # keyword_select's state: the feature set chosen ("full" or "text"; "interleave" while
        # interleaving), the relevant count it was chosen at, the text-only scores to interleave
        self._kw_choice = "full"
        self._kw_choice_at = 0
        self._kw_used = "full"
        self._alt_scores: NDArray[np.float64] | None = None
        self._features: sp.csr_matrix | None = None
        # the text block alone (the first columns of ``_features``; the same matrix when there
        # is no keyword block), read while fewer than ``keyword_from`` relevant are labelled
        self._text_features: sp.csr_matrix | None = None
        self._n_text_columns = 0
        # for the ramp: which stored entries of ``_features`` belong to the keyword block
        self._keyword_entries: NDArray[np.bool_] | None = None
        # (settings, texts) of the corpus the cached features belong to; comparing the texts
        # themselves is exact and, on 5,000 abstracts, takes about a millisecond.
        self._corpus_key: tuple[Any, list[tuple[str, str]]] | None = None
        self._labels: NDArray[np.int8] | None = None
        self._probabilities: NDArray[np.float64] | None = None
        self._tiebreak: NDArray[np.intp] | None = None
        self._scores: NDArray[np.float64] | None = None
        self._history: list[int] = []

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, *, seed: int = 0) -> Ranker:
        """A ranker configured by a named preset of :data:`PRESETS` (``--model`` of ``metareview
        screen`` and ``simulate``); InputError naming the presets for an unknown name."""
        if name not in PRESETS:
            raise InputError(
                f"unknown ranking model {name!r}; choose one of {', '.join(PRESETS)}",
                field="model",
            )
        options = dict(PRESETS[name])
        return cls(options.pop("model"), seed=seed, **options)

    # -- features ---------------------------------------------------------------------------

    def _settings(self) -> tuple[Any, ...]:
        return (self.ngram_max, self.stop_words, self.max_df, self.min_df, self.keyword_weight,
                self.keyword_from > 1 or self.keyword_warmup > 0 or self.keyword_select
                is not None, self.keyword_ramp > 0)

    def _vectorize(self, parts: list[tuple[str, str]]) -> sp.csr_matrix:
        """TF-IDF of the text block, and of the keyword block scaled by ``keyword_weight``."""
        n = len(parts)
        # max_df as a proportion prunes nothing on a corpus too small for it to mean anything
        max_df: float | int = self.max_df if n * self.max_df >= 2 else 1.0
        min_df = self.min_df if self.min_df <= n else 1
        appended = self.keyword_weight is None
        texts = [f"{t}\n{k}" if appended and k else t for t, k in parts]
        vectorizer = TfidfVectorizer(
            stop_words="english" if self.stop_words else None,
            ngram_range=(1, self.ngram_max),
            sublinear_tf=True,
            max_df=max_df,
            min_df=min_df,
            dtype=np.float64,
        )
        try:
            matrix = sp.csr_matrix(vectorizer.fit_transform(texts))
        except ValueError as exc:  # every record empty, only stop words, or pruned away
            raise InputError(f"the records have no words to rank on ({exc})") from exc
        self._n_text_columns = int(matrix.shape[1])
        if appended or not self.keyword_weight:
            return matrix
        keywords = [k for _, k in parts]
        if not any(keywords):
            return matrix
        kw_vectorizer = TfidfVectorizer(
            analyzer=_keyword_tokens, sublinear_tf=True, max_df=max_df, dtype=np.float64
        )
        try:
            kw = sp.csr_matrix(kw_vectorizer.fit_transform(keywords))
        except ValueError:  # every keyword pruned: the text block alone
            return matrix
        return sp.csr_matrix(sp.hstack([matrix, self.keyword_weight * kw], format="csr"))

    def _set_corpus(self, records: Sequence[RecordLike]) -> None:
        # the screener passes (text, keywords) tuples: taken as they are, without a call each
        texts = [r if type(r) is tuple else record_parts(r) for r in records]
        if not texts:
            raise InputError("no records to rank", field="records")
        key = (self._settings(), texts)
        if self._corpus_key is None or key != self._corpus_key:
            features = self._vectorize(texts)
            # Sorted column indices within each row, and flagged so: scikit-learn's solvers
            # sort a matrix not flagged sorted, and row selection keeps the order (below).
            features.sort_indices()
            self._features = features
            self._text_features = features
            self._keyword_entries = None
            has_keywords = self._n_text_columns < features.shape[1]
            if has_keywords and (self.keyword_from > 1 or self.keyword_warmup > 0
                                 or self.keyword_select is not None):
                text = sp.csr_matrix(features[:, : self._n_text_columns])
                text.sort_indices()
                self._text_features = text
            if has_keywords and self.keyword_ramp > 0:
                self._keyword_entries = features.indices >= self._n_text_columns
            self._corpus_key = key
            self._reseed(self.seed)

    def _reseed(self, seed: int) -> None:
        """Use ``seed`` from now on (classifier and tie-breaking)."""
        self.seed = int(seed)
        self._tiebreak = np.random.default_rng(self.seed).permutation(self.n_records)
        self._labels = None
        self._probabilities = None
        self._scores = None
        self._history = []
        self._kw_choice = "full"
        self._kw_choice_at = 0
        self._alt_scores = None

    # -- training ---------------------------------------------------------------------------

    def fit(
        self, records: Sequence[RecordLike], labels: Sequence[Any] | NDArray[Any],
        *, order: Sequence[int] | None = None,
    ) -> Ranker:
        """Train on the labelled records and score every record.

        Parameters
        ----------
        records
            All records of the project, labelled or not (Records, mappings or strings; see
            :func:`record_text`). Features are recomputed only when the records' text changes,
            so calling ``fit`` after every decision with the same records is cheap.
        labels
            One per record: 1 (or True) include, 0 (or False) exclude, None or -1 not screened.
        order
            The labelled records' positions in the order they were decided, when the caller
            knows it (a screening session resumed from the store). Without it the order is
            learnt across calls: records labelled since the previous ``fit`` are appended
            (in position order within one call). The reading order is what the stopping
            rules, the estimate of relevant records left and ``keyword_select="loo"``'s
            "latest relevant records" read.

        Returns
        -------
        Ranker
            ``self``.
        """
        self._set_corpus(records)
        assert self._features is not None
        self._fit_labels(_coerce_labels(labels, self._features.shape[0]), order=order)
        return self

    def _fit_labels(self, labels: NDArray[np.int8], *, order: Sequence[int] | None = None
                    ) -> None:
        """Train on ``labels`` (int8, -1 unlabelled) over the cached features; score all.
        ``order``: the decision order of the labelled records (see :meth:`fit`)."""
        assert self._features is not None
        labels = labels.copy()  # callers may go on changing their array in place
        previous = self._labels
        if order is not None:
            seen = [int(i) for i in order if labels[int(i)] >= 0]
            rest = set(np.flatnonzero(labels >= 0).tolist()) - set(seen)
            self._history = seen + sorted(rest)
        elif previous is None or len(previous) != len(labels):
            self._history = [int(i) for i in np.flatnonzero(labels >= 0)]
        else:
            kept = [i for i in self._history if labels[i] >= 0]
            new = np.flatnonzero((labels >= 0) & (previous < 0))
            self._history = kept + [int(i) for i in new]
        self._labels = labels
        labelled = np.flatnonzero(labels >= 0)
        y = labels[labelled].astype(np.int8)
        if y.size == 0 or y.min() == y.max():
            self._probabilities = None
            self._scores = None
            self._alt_scores = None
            self._kw_used = "full"
            return
        n_relevant = int(y.sum())
        weights = _balanced_weights(y, self.relevant_weight)
        X_all = self._features_for(n_relevant, len(labelled))
        self._alt_scores = None
        self._kw_used = "full"
        mode = self._select_mode(len(labelled))
        if mode == "loo":
            if n_relevant >= 2 and n_relevant != self._kw_choice_at:
                self._kw_choice = self._loo_choice(labels)
                self._kw_choice_at = n_relevant
            if self._kw_choice == "text":
                assert self._text_features is not None
                X_all = self._text_features
                self._kw_used = "text"
        elif mode == "interleave":
            assert self._text_features is not None
            self._alt_scores = self._classify(self._text_features, labelled, y, weights,
                                              platt=False)[0]
            self._kw_used = "interleave"
        score, proba = self._classify(X_all, labelled, y, weights)
        assert proba is not None
        self._scores = score
        self._probabilities = proba

    def _classify(
        self, X_all: sp.csr_matrix, labelled: NDArray[np.intp], y: NDArray[np.int8],
        weights: NDArray[np.float64], *, platt: bool = True,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Train the classifier on rows ``labelled`` of ``X_all`` (labels ``y``, sample weights
        ``weights``) and score every row: (score, probability), the probability None when
        ``platt`` is False and the model is the SVM (its Platt scaling skipped)."""
        X = X_all[labelled]
        # the rows of a matrix with sorted indices keep them sorted (scipy does not flag it,
        # and scikit-learn would sort them again at every fit: a third of its time)
        X.has_sorted_indices = True
        # ``score`` orders the records (a log-odds or margin at full precision, so that
        # probabilities rounding to 0 or 1 never tie); ``proba`` is what the reviewer sees.
        proba: NDArray[np.float64] | None
        if self.model == "nb":
            nb = MultinomialNB(alpha=_NB_ALPHA)
            nb.fit(X, y, sample_weight=weights)
            jll = nb.predict_joint_log_proba(X_all)
            score = jll[:, 1] - jll[:, 0]
            proba = expit(score)
        else:
            clf = self._linear_model()
            clf.fit(X, y, sample_weight=weights)
            score = clf.decision_function(X_all)
            proba = expit(score) if self.model == "logreg" else None
            if proba is None and platt:
                # the SVM's margins as probabilities, Platt scaling: p = 1 / (1 + exp(-(A f + B))),
                # A and B fitted on the labelled records' margins (lightly penalised, so
                # separable training data stays finite). liblinear: a tenth of L-BFGS's time
                scaler = LogisticRegression(C=1.0, solver="liblinear")
                scaler.fit(score[labelled].reshape(-1, 1), y, sample_weight=weights)
                proba = scaler.predict_proba(score.reshape(-1, 1))[:, 1]
        score = np.asarray(score, dtype=np.float64)
        return score, None if proba is None else np.asarray(proba, dtype=np.float64)

    def _select_mode(self, n_labelled: int) -> str | None:
        """``keyword_select`` when it applies to this fit (a keyword block exists and fewer
        than ``keyword_select_until * n`` records are labelled), else None."""
        if self.keyword_select is None or self._text_features is self._features:
            return None
        if n_labelled >= self.keyword_select_until * self.n_records:
            return None
        return self.keyword_select

    def _loo_choice(self, labels: NDArray[np.int8]) -> str:
        """``keyword_select="loo"``: "text" when the text block alone ranks held-out relevant
        records better than text plus keyword block, else "full".

        For each feature set and each of the latest :data:`_LOO_MAX_RELEVANT` relevant
        records ``r`` (in the order decided), the classifier is trained on the labelled
        records other than ``r`` and ``r`` is ranked among the ``U`` unscreened records: its
        rank percentile is ``(#{u: s_u > s_r} + #{u: s_u = s_r} / 2) / (U + 1)`` (0 = first).
        The feature set with the strictly lower mean percentile wins; ties: "full".
        """
        assert self._features is not None and self._text_features is not None
        labelled = np.flatnonzero(labels >= 0)
        pool = np.flatnonzero(labels < 0)
        if pool.size == 0:
            return "full"
        decided = [i for i in self._history if labels[i] == 1]
        held = decided[-_LOO_MAX_RELEVANT:]
        means: dict[str, float] = {}
        for name, X_all in (("full", self._features), ("text", self._text_features)):
            scores = self._loo_scores(X_all, labels, labelled, held)
            percentiles = []
            for k, r in enumerate(held):
                s_pool, s_r = scores[pool, k], scores[r, k]
                percentiles.append((np.count_nonzero(s_pool > s_r)
                                    + 0.5 * np.count_nonzero(s_pool == s_r)) / (pool.size + 1))
            means[name] = float(np.mean(percentiles))
        return "text" if means["text"] < means["full"] else "full"

    def _loo_scores(self, X_all: sp.csr_matrix, labels: NDArray[np.int8],
                    labelled: NDArray[np.intp], held: list[int]) -> NDArray[np.float64]:
        """Every record's score (column ``k``) under the classifier trained on the labelled
        records other than ``held[k]``.

        For the linear models the features are first cut to the columns that occur in the
        labelled records: liblinear's weights are exactly 0 on every other column (its dual
        coordinate descent only touches a training row's entries), so the scores are the same
        to the last bit, and the held-out fits are scored in one sparse product.
        """
        out = np.empty((X_all.shape[0], len(held)), dtype=np.float64)
        cols = np.unique(X_all[labelled].indices)
        if self.model == "nb" or cols.size <= labelled.size:  # (liblinear's dual as before)
            for k, r in enumerate(held):
                train = labelled[labelled != r]
                y = labels[train].astype(np.int8)
                out[:, k] = self._classify(X_all, train, y,
                                           _balanced_weights(y, self.relevant_weight),
                                           platt=False)[0]
            return out
        X_cut = sp.csr_matrix(X_all[:, cols])
        X_cut.sort_indices()
        coefs = np.empty((cols.size, len(held)), dtype=np.float64)
        for k, r in enumerate(held):
            train = labelled[labelled != r]
            y = labels[train].astype(np.int8)
            X = X_cut[train]
            X.has_sorted_indices = True
            clf = self._linear_model()
            clf.fit(X, y, sample_weight=_balanced_weights(y, self.relevant_weight))
            coefs[:, k] = clf.coef_.ravel()
            out[:, k] = clf.intercept_[0]
        out += X_cut @ coefs
        return out

    def _linear_model(self) -> LinearSVC | LogisticRegression:
        """The (unfitted) linear classifier of ``model`` ("svm" or "logreg")."""
        if self.model == "logreg":
            # liblinear's dual solver: same optimum as the primal, several times faster when
            # features outnumber labelled records, as they do in screening.
            return LogisticRegression(
                C=_LOGREG_C if self.c is None else self.c,
                solver="liblinear",
                dual=True,
                tol=_LOGREG_TOL,
                random_state=self.seed,
                max_iter=1000,
            )
        return LinearSVC(
            C=_SVM_C if self.c is None else self.c,
            loss="squared_hinge",
            tol=_SVM_TOL,
            random_state=self.seed,
            dual="auto",
        )

    def keyword_factor(self, n_relevant: int, n_labelled: int) -> float:
        """The share of ``keyword_weight`` the keyword block gets at this point of screening.

        0 while fewer than ``keyword_from`` relevant or fewer than ``keyword_warmup * n``
        records are labelled; then ``min(1, L / (keyword_ramp * n))`` for ``L`` labelled
        (1 without a ramp), ``n`` the number of records.
        """
        n = self.n_records
        if n_relevant < self.keyword_from or n_labelled < self.keyword_warmup * n:
            return 0.0
        if self.keyword_ramp > 0 and n_labelled < self.keyword_ramp * n:
            return n_labelled / (self.keyword_ramp * n)
        return 1.0

    def _features_for(self, n_relevant: int, n_labelled: int) -> sp.csr_matrix:
        """The feature matrix for this fit: the text block alone, the full matrix, or (during
        a ramp) the full matrix with the keyword block's entries scaled by
        :meth:`keyword_factor`."""
        assert self._features is not None and self._text_features is not None
        factor = self.keyword_factor(n_relevant, n_labelled)
        if factor >= 1.0:
            return self._features
        if factor == 0.0:
            return self._text_features
        if self._keyword_entries is None:  # no keyword block to scale
            return self._features
        scaled = self._features.copy()
        scaled.data[self._keyword_entries] *= factor
        scaled.has_sorted_indices = True
        return scaled

    # -- results ----------------------------------------------------------------------------

    @property
    def n_records(self) -> int:
        """Number of records the ranker was fitted on (0 before :meth:`fit`)."""
        return 0 if self._features is None else int(self._features.shape[0])

    def settings(self) -> dict[str, Any]:
        """The options in effect, as :data:`PRESETS` spells them, with ``c`` resolved to the
        classifier's default when not given (naive Bayes has none: None)."""
        c = self.c
        if c is None:
            c = {"svm": _SVM_C, "logreg": _LOGREG_C}.get(self.model)
        return {"model": self.model, "ngram_max": self.ngram_max,
                "stop_words": self.stop_words, "max_df": self.max_df, "min_df": self.min_df,
                "keyword_weight": self.keyword_weight, "relevant_weight": self.relevant_weight,
                "c": c, "keyword_from": self.keyword_from,
                "keyword_warmup": self.keyword_warmup, "keyword_ramp": self.keyword_ramp,
                "keyword_select": self.keyword_select,
                "keyword_select_until": self.keyword_select_until}

    @property
    def keyword_choice(self) -> str:
        """The features of the last :meth:`fit`: ``"full"`` (text and keyword block),
        ``"text"`` (the text block alone, chosen by ``keyword_select="loo"``) or
        ``"interleave"`` (both, interleaved)."""
        return self._kw_used

    @property
    def trained(self) -> bool:
        """True when the last :meth:`fit` saw both an include and an exclude."""
        return self._probabilities is not None

    @property
    def probabilities(self) -> NDArray[np.float64]:
        """Probability of relevance for every record (labelled ones too); NaN if untrained."""
        self._require_fit()
        if self._probabilities is None:
            return np.full(self.n_records, np.nan)
        return self._probabilities.copy()

    def _require_fit(self) -> None:
        if self._features is None or self._labels is None:
            raise RuntimeError("call Ranker.fit(records, labels) before ranking")

    def _candidates(
        self, candidates: Sequence[int] | NDArray[np.integer] | None
    ) -> NDArray[np.intp]:
        assert self._labels is not None
        if candidates is None:
            return np.flatnonzero(self._labels < 0)
        idx = np.asarray(candidates, dtype=np.intp).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_records):
            raise InputError(
                f"candidate indices must lie in 0..{self.n_records - 1}", field="candidates"
            )
        return idx

    def rank(self, candidates: Sequence[int] | NDArray[np.integer] | None = None) -> Ranking:
        """Order candidate records by predicted relevance, most likely first (max query).

        Parameters
        ----------
        candidates
            Record indices to order; default every record whose label is unscreened.

        Returns
        -------
        Ranking
            ``order`` (record indices) and ``probabilities`` (aligned with ``order``).
        """
        self._require_fit()
        assert self._tiebreak is not None
        idx = self._candidates(candidates)
        tiebreak = self._tiebreak[idx]
        if self._probabilities is None:
            order = idx[np.argsort(tiebreak, kind="stable")]
            return Ranking(order=order, probabilities=np.full(len(order), np.nan), trained=False)
        assert self._scores is not None
        # lexsort sorts by the last key first: score descending, then the seeded tiebreak.
        perm = np.lexsort((tiebreak, -self._scores[idx]))
        order = idx[perm]
        if self._alt_scores is not None and len(order) > 1:
            assert self._labels is not None
            alt = idx[np.lexsort((tiebreak, -self._alt_scores[idx]))]
            coin = np.random.default_rng((self.seed, int(np.count_nonzero(self._labels >= 0))))
            order = _team_draft(order, alt, _INTERLEAVE_DEPTH, coin)
        return Ranking(order=order, probabilities=self._probabilities[order], trained=True)

    def estimate_remaining_relevant(
        self,
        candidates: Sequence[int] | NDArray[np.integer] | None = None,
        *,
        history: Sequence[int] | NDArray[np.integer] | None = None,
    ) -> float:
        """Estimate how many relevant records are left among the unscreened candidates.

        The yield of relevant records along the reading order falls as the ranking exhausts
        them. It is modelled as a Poisson rate that decays exponentially with the reading
        position, fitted by maximum likelihood to the decisions so far, and extrapolated over
        the records left (a gain-curve extrapolation; cf. the "knee" of Cormack & Grossman,
        SIGIR 2016)::

            y_j ~ Poisson(exp(a + b t_j)),  t_j = j / k,  b <= 0,  j = 1..k read so far
            remaining = sum_{j = k+1}^{k+m} exp(a + b j / k)      (m candidates left)

        Parameters
        ----------
        candidates
            The records still to screen; default every unscreened record.
        history
            Record indices in the order they were decided. Default: the order in which labels
            appeared over this ranker's successive :meth:`fit` calls (labels already present at
            the first call count in index order).

        Returns
        -------
        float
            The estimate; NaN before any include is known.

        Notes
        -----
        A rough guide for the screener's progress bar, not a stopping rule: early in screening,
        before the yield has begun to fall, it overestimates; benchmarks/screening_simulation.py
        reports its error on the Cohen (2006) sets.
        """
        self._require_fit()
        assert self._labels is not None
        idx = self._candidates(candidates)
        order = np.asarray(self._history if history is None else history, dtype=np.intp)
        order = order[self._labels[order] >= 0] if order.size else order
        y = self._labels[order].astype(np.float64)
        if y.size == 0 or y.sum() == 0:
            return float("nan")
        return _extrapolate_yield(y, len(idx))


def _team_draft(first: NDArray[np.intp], second: NDArray[np.intp], depth: int,
                rng: np.random.Generator) -> NDArray[np.intp]:
    """Team-draft interleaving of two orders of the same records (Radlinski, Kurup & Joachims,
    CIKM 2008): until ``depth`` records are placed, the side with fewer picks (``rng``'s coin
    on a tie) adds its highest record not yet placed; the rest follow in ``first``'s order."""
    m = min(depth, len(first))
    placed: list[int] = []
    taken: set[int] = set()
    pos = [0, 0]
    picks = [0, 0]
    sides = (first, second)
    while len(placed) < m:
        side = 0 if picks[0] < picks[1] or (picks[0] == picks[1] and rng.random() < 0.5) else 1
        src, i = sides[side], pos[side]
        while int(src[i]) in taken:
            i += 1
        placed.append(int(src[i]))
        taken.add(int(src[i]))
        pos[side] = i + 1
        picks[side] += 1
    head = np.asarray(placed, dtype=np.intp)
    return np.concatenate([head, first[~np.isin(first, head)]])


def _extrapolate_yield(y: NDArray[np.float64], n_left: int) -> float:
    """Fit ``y_j ~ Poisson(exp(a + b j/k))`` (``b <= 0``) and sum the rate over ``n_left`` more."""
    if n_left == 0:
        return 0.0
    k = len(y)
    t = np.arange(1, k + 1) / k

    def nll(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        eta = theta[0] + theta[1] * t
        mu = np.exp(eta)
        value = float(mu.sum() - (y * eta).sum())
        grad = np.array([mu.sum() - y.sum(), (mu * t).sum() - (y * t).sum()])
        return value, grad

    start = np.array([np.log(max(y.mean(), 1e-3)), 0.0])
    fit = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=[(-30.0, 5.0), (-200.0, 0.0)])
    a, b = fit.x
    t_left = (k + np.arange(1, n_left + 1)) / k
    return float(np.exp(a + b * t_left).sum())
