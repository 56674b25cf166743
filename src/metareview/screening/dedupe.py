"""Find records that report the same study, and link them in the project store.

Rules, applied in this order; a pair of records gets at most one link, from the first rule
that matches it:

``pmid``
    The same PubMed id (e.g. a PubMed record and its Europe PMC copy). Score 1.
``doi``
    The same DOI after normalisation (:func:`metareview.sources.base.clean_doi`: no resolver
    prefix or ``doi:`` label, lower case, since DOIs are case-insensitive). A DOI shared by
    records whose titles have almost nothing in common (``fuzz.token_set_ratio`` below 0.5;
    conference abstracts in one supplement can share its DOI) is not used.
``nct``
    The same ClinicalTrials.gov id: between two registry records it is a duplicate; between a
    publication and a registry record (the id in the PubMed ``DataBankList``, the abstract or the
    title) or between two publications it means *reports of the same study*
    (``relation="same_study"``). A record naming several NCT ids (a pooled analysis) is not
    linked by this rule.
``title``
    Normalised titles (:func:`normalise_title`) at least ``title_threshold`` similar, years at
    most ``year_tolerance`` apart, and first-author surnames at least ``author_threshold``
    similar, where both records have them. Titles that differ in a number ("Part 1"/"Part 2",
    "12 weeks"/"52 weeks") or in a marker of a different kind of report ("protocol", "erratum",
    "comment", "extension", ...) are never linked.

Similarity of two strings is the normalised Indel similarity of :func:`rapidfuzz.fuzz.ratio`,
``1 - (len(a) + len(b) - 2 * LCS(a, b)) / (len(a) + len(b))`` where LCS is the longest common
subsequence (RapidFuzz documentation, ``fuzz.ratio``), divided by 100 here so it lies in [0, 1].

The rules follow the usual practice of deduplication tools for systematic reviews: identifiers
first, then title/author/year agreement (Rathbone et al. 2015, *Syst Rev* 4:6; McKeown & Mir 2021,
*Syst Rev* 10:38, the ASySD tool of Hair et al. 2023, *BMC Biol* 21:189).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import numpy as np
from rapidfuzz import fuzz, process

from metareview.errors import StoreError
from metareview.sources.base import clean_doi, find_nct_ids
from metareview.sources.record import Record

if TYPE_CHECKING:
    from metareview.store import Project
    from metareview.store.project import Transaction

__all__ = [
    "RULES",
    "DedupeResult",
    "DedupeSettings",
    "Link",
    "StoredLink",
    "UndoResult",
    "clusters",
    "dedupe_project",
    "find_links",
    "first_author_surname",
    "normalise_title",
    "stored_links",
    "title_similarity",
    "undo_link",
]

K = TypeVar("K", bound=Hashable)

#: The rules in the order they are tried.
RULES = ("pmid", "doi", "nct", "title")

# Words that carry no identity in a title (a short English list; titles are mostly English).
# fmt: off
_STOP_WORDS = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "as", "is", "are", "was", "were", "be", "been", "its", "their", "this", "that", "these",
    "those", "than", "vs", "versus", "via", "into", "among", "between", "during",
))
# fmt: on

# Spelling variants (British -> American, and common abbreviations) so databases agree.
_SPELLING = {
    "randomised": "randomized",
    "randomisation": "randomization",
    "paediatric": "pediatric",
    "anaesthesia": "anesthesia",
    "haemodynamic": "hemodynamic",
    "haemorrhage": "hemorrhage",
    "oesophageal": "esophageal",
    "oestrogen": "estrogen",
    "oestrogens": "estrogens",
    "tumour": "tumor",
    "tumours": "tumors",
    "behaviour": "behavior",
    "behavioural": "behavioral",
    "centre": "center",
    "labour": "labor",
    "ischaemia": "ischemia",
    "ischaemic": "ischemic",
    "anaemia": "anemia",
    "oedema": "edema",
    "diarrhoea": "diarrhea",
    "programme": "program",
    "favourable": "favorable",
    "characterisation": "characterization",
    "organisation": "organization",
    "hospitalisation": "hospitalization",
    "utilisation": "utilization",
    "ageing": "aging",
    "leucocyte": "leukocyte",
    "haematological": "hematological",
    "gynaecological": "gynecological",
    "foetal": "fetal",
    "dyskinaesia": "dyskinesia",
}

# Words that mark a different kind of report of the same topic or study; two titles are never
# linked when one has such a marker and the other does not.
_MARKERS = {
    "protocol": "protocol",
    "rationale": "protocol",
    "design": "protocol",
    "erratum": "erratum",
    "errata": "erratum",
    "correction": "erratum",
    "corrigendum": "erratum",
    "retraction": "retraction",
    "retracted": "retraction",
    "comment": "comment",
    "comments": "comment",
    "commentary": "comment",
    "reply": "comment",
    "response": "comment",
    "re": "comment",
    "letter": "comment",
    "extension": "extension",
    "interim": "interim",
    "final": "final",
    "update": "update",
    "updated": "update",
    "followup": "followup",
    "subgroup": "subgroup",
    "secondary": "secondary",
    "posthoc": "posthoc",
    "pooled": "pooled",
    "abstract": "abstract",
    "executive": "summary",
    "summary": "summary",
}

_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
}
_ORDINAL_CONTEXT = frozenset({"part", "phase", "study", "trial", "paper", "report", "stage"})


@dataclass(frozen=True, slots=True)
class DedupeSettings:
    """Thresholds of the title rule (similarities are in [0, 1])."""

    title_threshold: float = 0.93
    author_threshold: float = 0.80
    year_tolerance: int = 1
    #: Titles with fewer significant words than this need a known, agreeing year and author.
    short_title_words: int = 4
    #: Candidate pairs of the title rule scored in one batch.
    chunk: int = 100_000
    #: How many of a title's rarest words are its blocking keys (with the first author).
    block_words: int = 3


@dataclass(frozen=True, slots=True)
class Link(Generic[K]):
    """Two records found to report the same study.

    ``relation`` is ``"duplicate"`` (the same report, e.g. from two databases) or
    ``"same_study"`` (different reports of one study, linked by its registry id).
    ``score`` is 1 for identifier rules; for the title rule it is the lower of the title and
    first-author similarities (the title similarity alone when an author is missing).
    """

    a: K
    b: K
    rule: str
    score: float
    relation: str
    detail: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    title: str
    words: int
    numbers: frozenset[str]
    markers: frozenset[str]
    year: int | None
    surname: str | None
    doi: str | None
    pmid: str | None
    ncts: tuple[str, ...]
    registry: bool


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _title_tokens(title: str) -> list[str]:
    text = _strip_accents(title).casefold()
    text = text.replace("&", " and ")
    # Join hyphenated and apostrophised words ("follow-up" -> "followup", "post-hoc").
    text = re.sub(r"(?<=[a-z0-9])[-‐‑–'’](?=[a-z0-9])", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return [_SPELLING.get(t, t) for t in text.split()]


def normalise_title(title: str) -> str:
    """A title reduced for comparison.

    Accents removed (Unicode NFKD, combining marks dropped), case folded, hyphens inside words
    removed, all other punctuation turned into spaces, British spellings mapped to American
    ones, English stop words dropped, whitespace collapsed. A PubMed translated title's
    brackets disappear with the punctuation.

    Examples
    --------
    >>> normalise_title("[Randomised Trial of Imatinib in Systemic Sclerosis].")
    'randomized trial imatinib systemic sclerosis'
    """
    return " ".join(t for t in _title_tokens(title) if t not in _STOP_WORDS)


# A series number in Roman numerals: after "Part" (or phase, study...) or after ":", "." or " - ".
_ROMAN_SERIES = re.compile(
    r"(?:\b(?:part|phase|study|trial|paper|report|stage)\s+|[:.]\s*|\s-\s)"
    r"(I{1,3}|IV|VI{0,3}|IX|X)\b(?!')",
    re.IGNORECASE,
)


def _roman_series(title: str) -> set[str]:
    """Roman series numbers ("Part II", ": I. A double-blind study") in a title."""
    found = set()
    for match in _ROMAN_SERIES.finditer(title):
        numeral = match.group(1)
        # After punctuation only upper case counts ("...: I. A trial" but not "...: i.e.").
        if numeral.isupper() or match.group(0)[:1].isalpha():
            found.add(_ROMAN[numeral.lower()])
    return found


_DIGITS = re.compile(r"\d+")


def _numbers(tokens: list[str]) -> frozenset[str]:
    found = set()
    for i, token in enumerate(tokens):
        if token.isdigit():
            found.add(token.lstrip("0") or "0")
        elif token in _ROMAN and i > 0 and tokens[i - 1] in _ORDINAL_CONTEXT:
            found.add(_ROMAN[token])
        elif not token.isalpha():
            found.update(d.lstrip("0") or "0" for d in _DIGITS.findall(token))
    return frozenset(found)


def _markers(tokens: list[str]) -> frozenset[str]:
    found = {_MARKERS[t] for t in tokens if t in _MARKERS}
    joined = " ".join(tokens)
    if "post hoc" in joined:
        found.add("posthoc")
    if "follow up" in joined:
        found.add("followup")
    return frozenset(found)


_PARTICLES = frozenset(
    ("van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la", "le", "ter")
)
_INITIALS = re.compile(r"(?:[A-Z]\.?-?){1,4}")


def first_author_surname(name: str | None) -> str | None:
    """The surname in an author name as databases write it, normalised; None if empty.

    Handles ``"Surname, Given"`` / ``"Surname, G K"``, MEDLINE's ``"Surname GK"``, and
    ``"Given Surname"`` / ``"G. K. Surname"``. Accents are removed, case folded, nobiliary
    particles dropped (``"van der Vring"``, ``"Van Der Vring"`` and ``"Vring"`` agree) and
    anything but letters removed (``"Gross-Tsur"`` -> ``"grosstsur"``).

    Examples
    --------
    >>> first_author_surname("Gross-Tsur, V"), first_author_surname("Dahlöf CG")
    ('grosstsur', 'dahlof')
    >>> first_author_surname("Oliver Distler"), first_author_surname("J. A. van der Vring")
    ('distler', 'vring')
    """
    if not name or not name.strip():
        return None
    text = _strip_accents(name).strip()
    if "," in text:
        words = text.split(",", 1)[0].split()
    else:
        words = text.replace(".", ". ").split()
        if len(words) > 1 and _INITIALS.fullmatch(words[-1].replace(".", "")):
            # "Surname AB" / "Surname A.B." (initials last).
            while len(words) > 1 and _INITIALS.fullmatch(words[-1].replace(".", "")):
                words.pop()
        elif len(words) > 1:
            # "Given Surname" / "G. K. Surname": the surname is the last word with its particles.
            last = len(words) - 1
            first = last
            while first > 0 and words[first - 1].casefold() in _PARTICLES:
                first -= 1
            words = words[first:]
    kept = [w for w in words if w.casefold() not in _PARTICLES] or words
    letters = re.sub(r"[^a-z]", "", "".join(kept).casefold())
    return letters or None


def title_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two *normalised* titles (``fuzz.ratio / 100``)."""
    return float(fuzz.ratio(a, b)) / 100.0


def _prepare(record: Record) -> _Prepared:
    tokens = _title_tokens(record.title or "")
    significant = [t for t in tokens if t not in _STOP_WORDS]
    ncts = find_nct_ids(" ".join(record.nct_ids), record.title, record.abstract)
    return _Prepared(
        title=" ".join(significant),
        words=len(significant),
        numbers=_numbers(tokens) | _roman_series(_strip_accents(record.title or "")),
        markers=_markers(tokens),
        year=record.year,
        surname=first_author_surname(record.first_author),
        doi=clean_doi(record.doi),
        pmid=(record.pmid or "").strip() or None,
        ncts=tuple(ncts),
        registry=record.kind == "registry",
    )


class _Pairs(Generic[K]):
    """Collects links as a spanning forest: a link is kept only if it joins two groups.

    ``groups`` tracks the groups (seeded with links made before) and the pairs to keep apart.
    """

    def __init__(self, keys: Sequence[K], groups: _Groups) -> None:
        self.keys = keys
        self.groups = groups
        self.links: list[Link[K]] = []

    def add(self, i: int, j: int, rule: str, score: float, relation: str, detail: str) -> bool:
        if self.groups.find(i) == self.groups.find(j) or self.groups.separated(i, j):
            return False
        a, b = (i, j) if i < j else (j, i)
        self.groups.union(i, j)
        self.links.append(Link(self.keys[a], self.keys[b], rule, round(score, 4), relation, detail))
        return True


def _group(values: Iterable[tuple[int, str | None]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, value in values:
        if value:
            groups.setdefault(value, []).append(index)
    return {k: v for k, v in groups.items() if len(v) > 1}


@overload
def find_links(
    records: Sequence[Record],
    keys: None = None,
    *,
    settings: DedupeSettings | None = None,
    rules: Sequence[str] = RULES,
    blocked: Iterable[Iterable[int]] = (),
    linked: Iterable[tuple[int, int]] = (),
) -> list[Link[int]]: ...


@overload
def find_links(
    records: Sequence[Record],
    keys: Sequence[K],
    *,
    settings: DedupeSettings | None = None,
    rules: Sequence[str] = RULES,
    blocked: Iterable[Iterable[K]] = (),
    linked: Iterable[tuple[K, K]] = (),
) -> list[Link[K]]: ...


def find_links(
    records: Sequence[Record],
    keys: Sequence[Any] | None = None,
    *,
    settings: DedupeSettings | None = None,
    rules: Sequence[str] = RULES,
    blocked: Iterable[Iterable[Any]] = (),
    linked: Iterable[tuple[Any, Any]] = (),
) -> list[Link[Any]]:
    """Link records that report the same study (see the module docstring for the rules).

    Parameters
    ----------
    records
        The records to compare with each other.
    keys
        An identifier per record used in the links (default: the positions 0..n-1).
    settings
        Thresholds of the title rule.
    rules
        Which rules to apply (a subset of :data:`RULES`, applied in :data:`RULES` order).
    blocked
        Pairs of keys never to put in one group, directly or through other records (links a
        reviewer has undone).
    linked
        Pairs of keys linked before (e.g. by an earlier run): their groups are taken as given
        and no new link is made inside a group.

    Returns
    -------
    list of Link
        A spanning forest: a link is made only when it joins two groups not yet joined, so
        every link is needed and undoing one separates its two sides. Rules run in
        :data:`RULES` order (an identifier link is preferred to a title link); title links are
        taken best score first and never join groups holding different PMIDs or DOIs. Take
        :func:`clusters` of the links for the studies.
    """
    cfg = settings or DedupeSettings()
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"unknown dedupe rule(s): {sorted(unknown)}; known: {list(RULES)}")
    key_list: Sequence[Any] = list(range(len(records))) if keys is None else list(keys)
    if len(key_list) != len(records):
        raise ValueError("keys and records differ in length")
    prepared = [_prepare(r) for r in records]
    groups = _Groups(prepared)
    index = {key: i for i, key in enumerate(key_list)}
    for a, b in linked:
        if a in index and b in index:
            groups.union(index[a], index[b])
    for a, b in blocked:
        if a in index and b in index:
            groups.keep_apart(index[a], index[b])
    pairs: _Pairs[Any] = _Pairs(key_list, groups)

    if "pmid" in rules:
        for pmid, members in _group((i, p.pmid) for i, p in enumerate(prepared)).items():
            for j in members[1:]:
                pairs.add(members[0], j, "pmid", 1.0, "duplicate", f"PMID {pmid}")
    if "doi" in rules:
        for doi, members in _group((i, p.doi) for i, p in enumerate(prepared)).items():
            for j in members[1:]:
                first, other = prepared[members[0]], prepared[j]
                # token_set_ratio tolerates a short or abbreviated title; unrelated titles
                # (no words in common) score low.
                if first.title and other.title:
                    agree = fuzz.token_set_ratio(first.title, other.title) / 100.0
                    if agree < 0.5:
                        continue
                pairs.add(members[0], j, "doi", 1.0, "duplicate", f"DOI {doi}")
    if "nct" in rules:
        single = ((i, p.ncts[0] if len(p.ncts) == 1 else None) for i, p in enumerate(prepared))
        for nct, members in _group(single).items():
            registry = [i for i in members if prepared[i].registry]
            anchor = registry[0] if registry else members[0]
            for j in members:
                if j == anchor:
                    continue
                both_registry = prepared[anchor].registry and prepared[j].registry
                relation = "duplicate" if both_registry else "same_study"
                pairs.add(anchor, j, "nct", 1.0, relation, f"{nct}")
    if "title" in rules:
        _title_rule(prepared, pairs, cfg)
    return pairs.links


def _blocking_keys(prepared: list[_Prepared], cfg: DedupeSettings) -> list[list[str]]:
    """Each record's blocking keys: its ``cfg.block_words`` rarest title words (by how many
    titles hold them; ties by the word) and ``"@" + first-author surname``."""
    words = [sorted(set(p.title.split())) for p in prepared]
    df: dict[str, int] = {}
    for ws in words:
        for w in ws:
            df[w] = df.get(w, 0) + 1
    out: list[list[str]] = []
    for p, ws in zip(prepared, words, strict=True):
        keys = sorted(ws, key=lambda w: (df[w], w))[: cfg.block_words]
        if p.surname:
            keys.append("@" + p.surname)
        out.append(keys)
    return out


def _title_candidates(
    prepared: list[_Prepared], cfg: DedupeSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, worth scoring: they share a blocking key
    (:func:`_blocking_keys`), both have a title, neither is a registry record, their lengths
    allow the threshold and known years are at most ``year_tolerance`` apart.

    The length test is exact, not a heuristic: the Indel distance of two strings is at least
    the difference of their lengths, so ``ratio >= t`` needs ``|la - lb| <= (1 - t)(la + lb)``.
    """
    n = len(prepared)
    t = cfg.title_threshold
    eligible = [bool(p.title) and not p.registry for p in prepared]
    length = np.fromiter((len(p.title) for p in prepared), dtype=np.int64, count=n)
    blocks: dict[str, list[int]] = {}
    for i, keys in enumerate(_blocking_keys(prepared, cfg)):
        if eligible[i]:
            for k in keys:
                blocks.setdefault(k, []).append(i)
    codes: list[np.ndarray] = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        idx = np.asarray(members, dtype=np.int64)
        idx = idx[np.argsort(length[idx], kind="stable")]
        lens = length[idx]
        # partners of position p: the longer titles at p+1 .. hi[p]-1 with lb <= la (2 - t) / t
        hi = np.searchsorted(lens, lens * (2.0 - t) / t + 1e-9, side="right")
        counts = np.maximum(hi - np.arange(len(idx)) - 1, 0)
        total = int(counts.sum())
        if total == 0:
            continue
        pos = np.repeat(np.arange(len(idx)), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        a, b = idx[pos], idx[pos + 1 + offset]
        codes.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    pair = np.unique(np.concatenate(codes))
    first, second = pair // n, pair % n
    year = np.fromiter(
        (-(10**6) if r.year is None else r.year for r in prepared), dtype=np.int64, count=n
    )
    ya, yb = year[first], year[second]
    known = (ya > -(10**6)) & (yb > -(10**6))
    keep = ~known | (np.abs(ya - yb) <= cfg.year_tolerance)
    return first[keep], second[keep]


def _title_rule(prepared: list[_Prepared], pairs: _Pairs[Any], cfg: DedupeSettings) -> None:
    """Add title links, best first, never joining groups that hold different PMIDs or DOIs.

    The groups are those the links made so far form (identifier links included). Without this
    constraint a copy lacking identifiers would chain two different reports with the same title
    together; with it, the copy joins the report it resembles best (the first on a tie).

    Blocking: instead of all n(n-1)/2 pairs, only the pairs of :func:`_title_candidates` are
    scored (records sharing one of their rarest title words or the first author's surname), in
    batches through :func:`rapidfuzz.process.cpdist`. On the labelled set
    (``benchmarks/dedupe_eval.py``) and on 20,000 records (``benchmarks/dedupe_speed.py
    --check``) this finds the same links as scoring every pair.
    """
    if len(prepared) < 2:
        return
    cand_i, cand_j = _title_candidates(prepared, cfg)
    titles = [p.title for p in prepared]
    cutoff = int(np.floor(cfg.title_threshold * 100))
    candidates: list[tuple[float, int, int, str]] = []
    for start in range(0, len(cand_i), cfg.chunk):
        bi = cand_i[start : start + cfg.chunk].tolist()
        bj = cand_j[start : start + cfg.chunk].tolist()
        scores = process.cpdist(
            [titles[x] for x in bi],
            [titles[y] for y in bj],
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            dtype=np.uint8,
            workers=1,
        )
        for k in np.flatnonzero(scores).tolist():
            i, j = bi[k], bj[k]
            found = _consider_title_pair(i, j, prepared, cfg)
            if found is not None:
                candidates.append((found[0], i, j, found[1]))
    for score, i, j, detail in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if not pairs.groups.conflict(i, j):
            pairs.add(i, j, "title", score, "duplicate", detail)


class _Groups:
    """Union-find over record positions that tracks each group's PMIDs and DOIs."""

    def __init__(self, prepared: list[_Prepared]) -> None:
        self.parent = list(range(len(prepared)))
        self.apart: list[tuple[int, int]] = []
        self.ids: list[tuple[set[str], set[str]]] = [
            ({p.pmid} if p.pmid else set(), {p.doi} if p.doi else set()) for p in prepared
        ]

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def keep_apart(self, i: int, j: int) -> None:
        """Never join the groups of ``i`` and ``j`` (a link a reviewer undid)."""
        self.apart.append((i, j))

    def separated(self, i: int, j: int) -> bool:
        """Would joining the groups of ``i`` and ``j`` join a pair kept apart?"""
        if not self.apart:
            return False
        joined = {self.find(i), self.find(j)}
        return any({self.find(x), self.find(y)} == joined for x, y in self.apart)

    def conflict(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return False
        (pi, di), (pj, dj) = self.ids[ri], self.ids[rj]
        return bool((pi and pj and not pi & pj) or (di and dj and not di & dj))

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[rj] = ri
            self.ids[ri][0].update(self.ids[rj][0])
            self.ids[ri][1].update(self.ids[rj][1])


def _consider_title_pair(
    i: int, j: int, prepared: list[_Prepared], cfg: DedupeSettings
) -> tuple[float, str] | None:
    """``(score, detail)`` when records ``i`` and ``j`` pass the title rule, else None."""
    a, b = prepared[i], prepared[j]
    if not a.title or not b.title or a.registry or b.registry:
        return None
    sim = title_similarity(a.title, b.title)
    if sim < cfg.title_threshold:
        return None
    if a.numbers != b.numbers or a.markers != b.markers:
        return None
    # Different, known identifiers of the same kind mean different reports.
    if (a.pmid and b.pmid and a.pmid != b.pmid) or (a.doi and b.doi and a.doi != b.doi):
        return None
    years_known = a.year is not None and b.year is not None
    authors_known = a.surname is not None and b.surname is not None
    # Without both first authors, the years must agree exactly (less evidence, more agreement).
    tolerance = cfg.year_tolerance if authors_known else 0
    if years_known and abs(int(a.year or 0) - int(b.year or 0)) > tolerance:
        return None
    author_sim = None
    if authors_known:
        author_sim = float(fuzz.ratio(a.surname or "", b.surname or "")) / 100.0
        if author_sim < cfg.author_threshold:
            return None
    if min(a.words, b.words) < cfg.short_title_words and not (years_known and authors_known):
        return None
    score = sim if author_sim is None else min(sim, author_sim)
    year_text = f"{a.year}/{b.year}" if years_known else "year unknown"
    author_text = (
        f"first author {a.surname}/{b.surname} {author_sim:.2f}"
        if author_sim is not None
        else "first author unknown"
    )
    return score, f"title {sim:.3f}; {year_text}; {author_text}"


def clusters(keys: Iterable[K], links: Iterable[Link[K]]) -> list[list[K]]:
    """Connected components of the links (union-find), each sorted, singletons left out.

    Keys must be sortable among themselves; components come back ordered by their first key.
    """
    parent: dict[Any, Any] = {k: k for k in keys}

    def find(x: Any) -> Any:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for link in links:
        parent.setdefault(link.a, link.a)
        parent.setdefault(link.b, link.b)
        ra, rb = find(link.a), find(link.b)
        if ra != rb:
            parent[rb] = ra
    groups: dict[Any, list[Any]] = {}
    for key in parent:
        groups.setdefault(find(key), []).append(key)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])


# -- the project store ------------------------------------------------------------------------

_REASON_PREFIX = "dedupe:"


@dataclass(frozen=True, slots=True)
class StoredLink:
    """A row of ``dedupe_links``: a link between two stored records, maybe undone."""

    id: int
    run_id: int
    record_a: int
    record_b: int
    rule: str
    relation: str
    score: float
    detail: str
    linked_at: str
    linked_by: str
    undone_at: str | None
    undone_by: str | None
    undo_reason: str | None

    @property
    def active(self) -> bool:
        return self.undone_at is None


@dataclass(slots=True)
class DedupeResult:
    """What one ``dedupe`` run wrote."""

    run_id: int
    n_records: int
    links: list[StoredLink]
    studies: dict[int, list[int]] = field(default_factory=dict)
    #: Linked groups left alone because a reviewer had put their records in different studies.
    unsettled: list[list[int]] = field(default_factory=list)

    def by_rule(self) -> dict[str, int]:
        counts = dict.fromkeys(RULES, 0)
        for link in self.links:
            counts[link.rule] = counts.get(link.rule, 0) + 1
        return counts


@dataclass(slots=True)
class UndoResult:
    """What undoing one link did: the link, and whether its records are now in separate studies.

    ``still_connected_by`` lists other active links that keep the two records in one study.
    """

    link: StoredLink
    separated: bool
    still_connected_by: list[int]
    studies: dict[int, list[int]] = field(default_factory=dict)


_LINK_COLUMNS = (
    "id, run_id, record_a, record_b, rule, relation, score, detail, linked_at, linked_by, "
    "undone_at, undone_by, undo_reason"
)


def stored_links(project: Project, *, include_undone: bool = False) -> list[StoredLink]:
    """The deduplication links of a project, oldest first (active ones unless asked)."""
    sql = f"SELECT {_LINK_COLUMNS} FROM dedupe_links"
    if not include_undone:
        sql += " WHERE undone_at IS NULL"
    return [StoredLink(*row) for row in project.connection.execute(sql + " ORDER BY id")]


def dedupe_project(
    project: Project,
    *,
    settings: DedupeSettings | None = None,
    rules: Sequence[str] = RULES,
    actor: str | None = None,
) -> DedupeResult:
    """Find duplicates among all records of ``project`` and store the links and studies.

    Everything is written in one transaction: a ``dedupe_runs`` row, one ``dedupe_links`` row
    per new link (with rule, relation, score and detail), and the studies: each connected
    component of active links becomes one study (``study_records.reason`` says
    ``dedupe: ...``). Records already in studies are merged into the study of a record a reviewer
    placed by hand, else into the component's lowest study id; see :func:`_sync_studies`. Pairs
    linked before, and pairs a reviewer unlinked, are not linked again.
    """
    cfg = settings or DedupeSettings()
    stored = list(project.records())
    ids = [s.id for s in stored]
    previous = stored_links(project, include_undone=True)
    blocked = [(link.record_a, link.record_b) for link in previous if not link.active]
    linked = [(link.record_a, link.record_b) for link in previous if link.active]
    found = find_links(
        [s.record for s in stored], ids, settings=cfg, rules=rules, blocked=blocked, linked=linked
    )
    with project.transaction(actor=actor) as tx:
        run_id = tx.insert(
            "dedupe_runs",
            {
                "started_at": tx.at,
                "actor": tx.actor,
                "n_records": len(ids),
                "n_links": len(found),
                "settings_json": json.dumps({"rules": list(rules), **_settings_dict(cfg)}),
            },
            action="dedupe-run",
        )
        new: list[StoredLink] = []
        for link in found:
            a, b = sorted((int(link.a), int(link.b)))
            values = {
                "run_id": run_id,
                "record_a": a,
                "record_b": b,
                "rule": link.rule,
                "relation": link.relation,
                "score": link.score,
                "detail": link.detail,
                "linked_at": tx.at,
                "linked_by": tx.actor,
            }
            link_id = tx.insert("dedupe_links", values, action="dedupe-link")
            new.append(
                StoredLink(
                    id=link_id,
                    run_id=run_id,
                    record_a=a,
                    record_b=b,
                    rule=link.rule,
                    relation=link.relation,
                    score=link.score,
                    detail=link.detail,
                    linked_at=tx.at,
                    linked_by=tx.actor,
                    undone_at=None,
                    undone_by=None,
                    undo_reason=None,
                )
            )
        active = [
            Link(row.record_a, row.record_b, row.rule, row.score, row.relation, row.detail)
            for row in [*(p for p in previous if p.active), *new]
        ]
        reasons = {frozenset((s.record_a, s.record_b)): s for s in [*previous, *new]}
        unsettled = _sync_studies(tx, clusters(ids, active), reasons)
    return DedupeResult(run_id, len(ids), new, project.studies(), unsettled)


def _settings_dict(cfg: DedupeSettings) -> dict[str, Any]:
    return {
        "title_threshold": cfg.title_threshold,
        "author_threshold": cfg.author_threshold,
        "year_tolerance": cfg.year_tolerance,
        "short_title_words": cfg.short_title_words,
    }


def _active_memberships(
    tx: Transaction, record_ids: Sequence[int]
) -> dict[int, tuple[int, int, str]]:
    """record id -> (study_records id, study id, reason) for records with an active study link."""
    out: dict[int, tuple[int, int, str]] = {}
    for start in range(0, len(record_ids), 500):
        chunk = list(record_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row_id, study_id, record_id, reason in tx.execute(
            "SELECT id, study_id, record_id, reason FROM study_records "
            f"WHERE unlinked_at IS NULL AND record_id IN ({marks})",
            chunk,
        ):
            out[int(record_id)] = (int(row_id), int(study_id), str(reason))
    return out


def _reason_for(
    record_id: int, component: list[int], reasons: dict[frozenset[int], StoredLink]
) -> str:
    for other in component:
        link = reasons.get(frozenset((record_id, other)))
        if link is not None:
            return f"{_REASON_PREFIX} {link.rule} (link {link.id}: {link.detail})"
    return f"{_REASON_PREFIX} connected through other links"


def _sync_studies(
    tx: Transaction, components: list[list[int]], reasons: dict[frozenset[int], StoredLink]
) -> list[list[int]]:
    """Make each component one study: create, extend or merge studies as needed.

    Records a reviewer put in a study by hand (a ``study_records.reason`` not made by dedupe)
    are never moved: the component joins their study, and a component whose hand-placed
    records sit in different studies is left as it is and returned, for a reviewer to settle.
    """
    unsettled: list[list[int]] = []
    for component in components:
        members = _active_memberships(tx, component)
        pinned = sorted({m[1] for m in members.values() if not m[2].startswith(_REASON_PREFIX)})
        if len(pinned) > 1:
            unsettled.append(component)
            continue
        study_ids = sorted({m[1] for m in members.values()})
        if pinned:
            target = pinned[0]
        elif study_ids:
            target = study_ids[0]
        else:
            target = tx.insert(
                "studies",
                {"label": None, "created_at": tx.at, "created_by": tx.actor},
                action="study-create",
            )
        for record_id in component:
            current = members.get(record_id)
            if current is not None and current[1] == target:
                continue
            if current is not None:
                tx.update(
                    "study_records",
                    current[0],
                    {
                        "unlinked_at": tx.at,
                        "unlinked_by": tx.actor,
                        "unlink_reason": f"{_REASON_PREFIX} merged into study {target}",
                    },
                    action="unlink",
                )
            tx.insert(
                "study_records",
                {
                    "study_id": target,
                    "record_id": record_id,
                    "reason": _reason_for(record_id, component, reasons),
                    "linked_at": tx.at,
                    "linked_by": tx.actor,
                },
                action="link",
            )
    return unsettled


def undo_link(
    project: Project, link_id: int, *, reason: str = "undone by reviewer", actor: str | None = None
) -> UndoResult:
    """Undo one deduplication link (kept, marked undone, audited) and split its study if needed.

    If the two records are no longer connected by other active links (dedupe makes a spanning
    forest, so normally they are not), the larger side keeps the study and the other side leaves
    it (into a new study of its own when two or more records remain together; a lone record is
    simply unlinked). Only study links made by dedupe change; links a reviewer made by hand
    stay. The two records are never put together again by later ``dedupe`` runs.

    Raises
    ------
    StoreError
        No such link, or it was already undone.
    """
    with project.transaction(actor=actor) as tx:
        found = tx.execute(f"SELECT {_LINK_COLUMNS} FROM dedupe_links WHERE id = ?", (link_id,))
        row = found.fetchone()
        if row is None:
            raise StoreError(f"no dedupe link with id {link_id}")
        link = StoredLink(*row)
        if not link.active:
            raise StoreError(f"dedupe link {link_id} was already undone at {link.undone_at}")
        tx.update(
            "dedupe_links",
            link_id,
            {"undone_at": tx.at, "undone_by": tx.actor, "undo_reason": reason},
            action="dedupe-undo",
        )
        link = replace(link, undone_at=tx.at, undone_by=tx.actor, undo_reason=reason)
        rows = [
            StoredLink(*r)
            for r in tx.execute(
                f"SELECT {_LINK_COLUMNS} FROM dedupe_links WHERE undone_at IS NULL ORDER BY id"
            )
        ]
        graph = [Link(r.record_a, r.record_b, r.rule, r.score, r.relation, r.detail) for r in rows]
        components = clusters([link.record_a, link.record_b], graph)
        side_a = next((c for c in components if link.record_a in c), [link.record_a])
        side_b = next((c for c in components if link.record_b in c), [link.record_b])
        path: list[int] = []
        if link.record_b in side_a:
            path = [r.id for r in rows if r.record_a in side_a and r.record_b in side_a]
        else:
            _split(
                tx, link_id, side_a, side_b, {frozenset((r.record_a, r.record_b)): r for r in rows}
            )
    return UndoResult(link, not path, path, project.studies())


def _split(
    tx: Transaction,
    link_id: int,
    side_a: list[int],
    side_b: list[int],
    reasons: dict[frozenset[int], StoredLink],
) -> None:
    """Separate the two sides of an undone link: the larger keeps the study, the other leaves.

    A side of one record is simply unlinked; a leaving side of two or more records gets a new
    study. Only memberships made by dedupe change.
    """
    keeper, leaver = (side_a, side_b) if len(side_a) >= len(side_b) else (side_b, side_a)
    memberships = _active_memberships(tx, [*side_a, *side_b])
    for side in (keeper, leaver):
        if side is keeper and len(side) > 1:
            continue
        for record_id in side:
            current = memberships.get(record_id)
            if current is not None and current[2].startswith(_REASON_PREFIX):
                tx.update(
                    "study_records",
                    current[0],
                    {
                        "unlinked_at": tx.at,
                        "unlinked_by": tx.actor,
                        "unlink_reason": f"{_REASON_PREFIX} link {link_id} undone",
                    },
                    action="unlink",
                )
        if side is leaver and len(side) > 1:
            _sync_studies_new(tx, side, reasons)


def _sync_studies_new(
    tx: Transaction, side: list[int], reasons: dict[frozenset[int], StoredLink]
) -> None:
    """Put the records of ``side`` (just unlinked) into one new study."""
    study_id = tx.insert(
        "studies",
        {"label": None, "created_at": tx.at, "created_by": tx.actor},
        action="study-create",
    )
    for record_id in side:
        busy = tx.execute(
            "SELECT 1 FROM study_records WHERE record_id = ? AND unlinked_at IS NULL", (record_id,)
        ).fetchone()
        if busy:
            continue
        tx.insert(
            "study_records",
            {
                "study_id": study_id,
                "record_id": record_id,
                "reason": _reason_for(record_id, side, reasons),
                "linked_at": tx.at,
                "linked_by": tx.actor,
            },
            action="link",
        )
