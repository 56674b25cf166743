"""The review's protocol file: schema (pydantic) and loader (YAML).

A protocol states, before screening starts, what the review asks and how it will answer:
the question (PICO), the eligibility criteria (each with a short code that doubles as the
exclusion reason recorded at screening), the searches, the outcomes to pool, the model settings
and the screening rules. PRISMA 2020 items 5-7 and 13 and PROSPERO ask for exactly these.

A minimal protocol::

    title: Imatinib in systemic sclerosis
    question:
      population: adults with systemic sclerosis
      intervention: imatinib mesylate
      comparator: placebo, usual care or none
      outcomes: [modified Rodnan skin score, HAQ-DI]
    eligibility:
      - {code: population, text: Adults with systemic sclerosis}
      - {code: design, text: Clinical trials; no case reports or reviews}
    searches:
      - {source: PubMed, query: imatinib AND (scleroderma OR "systemic sclerosis"),
         date_run: 2020-02-07}
    outcomes:
      - {name: mRSS, measure: MD, time_window: 6-12 months, better: lower}
    model: {method: REML, test: z, level: 95}

:func:`load_protocol` reads such a file and raises :class:`~metareview.errors.ProtocolError`
whose message names the file, the line and the field of every problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from metareview.errors import InputError, ProtocolError
from metareview.models.methods import POOLING_METHODS, TestName

__all__ = [
    "HINT_KINDS",
    "REGISTER_SOURCES",
    "AssumedRisk",
    "EligibilityCriterion",
    "ModelSettings",
    "OutcomeSpec",
    "Protocol",
    "ProtocolValidationError",
    "Question",
    "RegistryMatch",
    "ScreeningRules",
    "Search",
    "SensitivityAnalysis",
    "TimeWindow",
    "iter_changes",
    "load_protocol",
    "parse_protocol",
    "protocol_digest",
]

#: Publication-type hints the screener recognises (see ``metareview.screening.hints``).
HINT_KINDS: tuple[str, ...] = (
    "case_report",
    "review",
    "meta_analysis",
    "editorial",
    "drug_monograph",
    "registry_no_results",
)

#: Search sources counted as trial registers (not bibliographic databases) in PRISMA 2020.
REGISTER_SOURCES: frozenset[str] = frozenset(
    {
        "clinicaltrials.gov",
        "ctgov",
        "clinicaltrials",
        "ictrp",
        "who ictrp",
        "euctr",
        "eu ctr",
        "ctis",
        "isrctn",
        "anzctr",
        "chictr",
        "drks",
        "jrct",
        "ctri",
        "umin",
    }
)

_CODE = r"^[a-z][a-z0-9_-]{0,31}$"
_Text = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    """Strict base: unknown keys are errors (a typo must not silently drop a setting)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Question(_Model):
    """The review question in PICO form (PRISMA 2020 item 4; PROSPERO fields 10-14)."""

    population: _Text
    intervention: _Text
    comparator: _Text
    outcomes: list[_Text] = Field(min_length=1)

    @field_validator("outcomes", mode="before")
    @classmethod
    def _one_outcome_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class EligibilityCriterion(_Model):
    """One eligibility criterion; ``code`` is the exclusion reason recorded when it fails.

    ``stage`` says at which screening stage the criterion can be judged: ``title_abstract``,
    ``full_text`` or ``both`` (the default).
    """

    code: str
    text: _Text
    stage: Literal["title_abstract", "full_text", "both"] = "both"

    @field_validator("code")
    @classmethod
    def _short_code(cls, value: str) -> str:
        if not re.fullmatch(_CODE, value):
            raise ValueError(
                f"{value!r} is not a short code: use 1-32 lower-case letters, digits, '-' or '_', "
                "starting with a letter (e.g. design)"
            )
        return value


class Search(_Model):
    """One search as run (PRISMA 2020 items 6-7; PRISMA-S).

    ``kind`` places the records in the PRISMA flow: ``database`` (bibliographic databases),
    ``register`` (trial registers) or ``other`` (citation searching, websites, contacts: the
    "other methods" column). When omitted it is ``register`` for a known register name
    (:data:`REGISTER_SOURCES`) and ``database`` otherwise. ``records`` is the number of hits the
    source reported, kept for the search log; PRISMA counts come from the imported records.
    """

    source: _Text
    query: _Text
    date_run: dt.date
    kind: Literal["database", "register", "other"] | None = None
    interface: str | None = None
    limits: str | None = None
    records: Annotated[int, Field(ge=0)] | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _default_kind(self) -> Search:
        if self.kind is None:
            kind = "register" if self.source.strip().lower() in REGISTER_SOURCES else "database"
            object.__setattr__(self, "kind", kind)
        return self

    @field_validator("date_run")
    @classmethod
    def _not_in_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError(f"date {value.isoformat()} is in the future")
        return value


_WINDOW = re.compile(
    r"^\s*(?P<lo>\d+(?:\.\d+)?)\s*(?:(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?))?\s*"
    r"(?P<unit>days?|weeks?|months?|years?)\s*$",
    re.IGNORECASE,
)


class TimeWindow(_Model):
    """The follow-up window an outcome is taken at, e.g. ``6-12 months`` or ``{min: 6, max: 12,
    unit: months}``. A single time (``12 months``) has ``min == max``."""

    min: Annotated[float, Field(ge=0)]
    max: Annotated[float, Field(ge=0)]
    unit: Literal["days", "weeks", "months", "years"]

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _WINDOW.match(value)
            if match is None:
                raise ValueError(f"time window {value!r} is not like '12 months' or '6-12 months'")
            lo = float(match["lo"])
            hi = float(match["hi"]) if match["hi"] else lo
            unit = match["unit"].lower()
            return {"min": lo, "max": hi, "unit": unit if unit.endswith("s") else unit + "s"}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
        return self

    def __str__(self) -> str:
        if self.min == self.max:
            return f"{self.min:g} {self.unit}"
        return f"{self.min:g}-{self.max:g} {self.unit}"


class RegistryMatch(_Model):
    """Which ClinicalTrials.gov results item feeds an outcome (see
    :mod:`metareview.extraction.registry`).

    ``kind`` is ``outcome_measure`` (an entry of the outcome measures module),
    ``serious_adverse_events`` (participants with a serious adverse event, per group) or
    ``withdrawals_adverse_events`` (participant-flow withdrawals whose reason is an adverse
    event). For ``outcome_measure``, ``terms`` are words matched case-insensitively against the
    outcome measures' titles and descriptions: a measure matches when it contains every term.
    """

    kind: Literal["outcome_measure", "serious_adverse_events", "withdrawals_adverse_events"]
    terms: list[_Text] = Field(default_factory=list)


class AssumedRisk(_Model):
    """An assumed comparator risk for the absolute effects of a dichotomous outcome (GRADE's
    "assumed risk" of a summary-of-findings table, e.g. a low- and a high-risk population):
    ``risk`` is a proportion (0-1), ``label`` what population it describes. Without one the
    comparator risk is the pooled comparator-arm risk (GRADEpro's "study population")."""

    label: _Text
    risk: Annotated[float, Field(gt=0, lt=1)]


class OutcomeSpec(_Model):
    """An outcome to pool: its name, effect measure (metafor ``escalc`` name), time window and
    the direction of benefit (``better: lower`` when a decrease is good, as for mRSS).

    The measure must be one :func:`~metareview.effects.escalc` computes
    (:data:`metareview.effects.measures.MEASURE_NAMES`); one it only labels (HR) is refused.
    ``registry`` optionally says which registry results item gives its data.

    For GRADE (:mod:`metareview.appraisal.grade`): ``mid`` is the minimal important difference
    the imprecision rule compares the confidence interval with -- for ratio measures a relative
    change (``0.25``: RR 0.75 and 1.25), otherwise in the measure's units (points of a score
    for MD, standard deviations for SMD, a proportion for RD); ``assumed_risks`` are comparator
    risks for the absolute effects of a dichotomous outcome; ``units`` names the outcome's
    units in the summary-of-findings table (for a single-group rate, IR or IRLN, the unit of
    person-time the studies' ``person_time`` is in: ``person-years``, ``catheter-days``)."""

    name: _Text
    measure: str
    better: Literal["higher", "lower"]
    time_window: TimeWindow | None = None
    primary: bool = False
    description: str | None = None
    registry: RegistryMatch | None = None
    mid: Annotated[float, Field(gt=0)] | None = None
    assumed_risks: list[AssumedRisk] = Field(default_factory=list)
    units: str | None = None

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str) -> str:
        from metareview.effects.measures import measure_info  # NumPy only when outcomes are read

        try:
            return measure_info(value, computable=True).name
        except InputError as exc:
            raise ValueError(exc.message) from None


class SubgroupAnalysis(_Model):
    """A planned subgroup analysis (PRISMA 2020 item 13e): studies grouped by a study
    characteristic -- ``design``, ``population`` or any characteristic extracted for the studies
    (a ``characteristics`` row's text, e.g. ``dose``) -- pooled per group, with the test for
    subgroup differences (:func:`metareview.models.subgroup`). ``outcomes`` limits it to some
    outcomes (default: all)."""

    name: _Text
    by: _Text
    description: str | None = None
    outcomes: list[str] = Field(default_factory=list)


class SensitivityAnalysis(_Model):
    """A planned sensitivity analysis: refit with other settings, leave one out, or drop studies.

    Unset ``method``/``test``/``level`` inherit the main model's values.
    """

    name: _Text
    description: str | None = None
    method: str | None = None
    test: TestName | None = None
    level: Annotated[float, Field(gt=0, lt=100)] | None = None
    leave1out: bool = False
    exclude: list[str] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=list)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        return None if value is None else _check_method(value)

    @model_validator(mode="after")
    def _does_something(self) -> SensitivityAnalysis:
        if not (self.method or self.test or self.level or self.leave1out or self.exclude):
            raise ValueError(
                "a sensitivity analysis must change something: set method, test, level, "
                "leave1out or exclude"
            )
        return self


def _check_method(value: str) -> str:
    upper = value.strip().upper()
    if upper not in POOLING_METHODS:
        raise ValueError(f"unknown method {value!r}; use one of {', '.join(POOLING_METHODS)}")
    return upper


class ModelSettings(_Model):
    """How outcomes are pooled: metafor's ``rma(method=, test=, level=)`` and the planned
    sensitivity analyses. Defaults are metafor's (REML, z test, 95%). ``drop00`` leaves out of
    ratio measures a study with no events in either arm (metafor's ``escalc(drop00=TRUE)``;
    by default it is kept with 1/2 added to each cell, and named in a warning)."""

    method: str = "REML"
    test: TestName = "z"
    level: Annotated[float, Field(gt=0, lt=100)] = 95.0
    drop00: bool = False
    sensitivity: list[SensitivityAnalysis] = Field(default_factory=list)
    subgroups: list[SubgroupAnalysis] = Field(default_factory=list)
    #: Risk of bias (``metareview rob``): refit with only the studies at ``low`` overall risk
    #: of bias, or without those at high risk (``not_high``: RoB 2 low or some concerns;
    #: ROBINS-I low or moderate). Studies not assessed are left out of that refit.
    rob_sensitivity: Literal["low", "not_high"] | None = None
    #: Risk of bias: a subgroup analysis by the studies' overall judgement.
    rob_subgroup: bool = False

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return _check_method(value)

    @field_validator("sensitivity")
    @classmethod
    def _unique_names(cls, value: list[SensitivityAnalysis]) -> list[SensitivityAnalysis]:
        _unique([s.name for s in value], "sensitivity analysis name")
        return value


class ScreeningRules(_Model):
    """Screening rules.

    ``exclude_by_publication_type`` (off by default) lets a publication-type hint exclude a record
    without a reviewer's decision; such exclusions are logged as rule-based. ``hint_reasons`` maps
    a hint kind (:data:`HINT_KINDS`) to the eligibility code it suggests; ``key_terms`` are
    highlighted in the screener (default: words of the question's population and intervention).
    ``reviewers`` optionally lists who screens; ``dual`` asks for two independent reviewers.
    """

    exclude_by_publication_type: bool = False
    hint_reasons: dict[str, str] = Field(default_factory=dict)
    key_terms: list[_Text] = Field(default_factory=list)
    reviewers: list[_Text] = Field(default_factory=list)
    dual: bool = False

    @field_validator("hint_reasons")
    @classmethod
    def _known_hints(cls, value: dict[str, str]) -> dict[str, str]:
        for kind in value:
            if kind not in HINT_KINDS:
                raise ValueError(f"unknown hint {kind!r}; use one of {', '.join(HINT_KINDS)}")
        return value

    @field_validator("reviewers")
    @classmethod
    def _unique_reviewers(cls, value: list[str]) -> list[str]:
        _unique([v.casefold() for v in value], "reviewer name")
        return value


class Protocol(_Model):
    """A review protocol (see the module docstring for the YAML form).

    Besides the fields, :meth:`reason_codes` gives the eligibility codes usable as exclusion
    reasons and :meth:`key_terms` the terms the screener highlights.
    """

    title: _Text
    question: Question
    eligibility: list[EligibilityCriterion] = Field(min_length=1)
    searches: list[Search] = Field(default_factory=list)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    model: ModelSettings = Field(default_factory=ModelSettings)
    screening: ScreeningRules = Field(default_factory=ScreeningRules)
    registration: str | None = None
    authors: list[str] = Field(default_factory=list)
    version: str | None = None
    funding: str | None = None
    competing_interests: str | None = None
    notes: str | None = None

    @field_validator("eligibility")
    @classmethod
    def _unique_codes(cls, value: list[EligibilityCriterion]) -> list[EligibilityCriterion]:
        _unique([c.code for c in value], "eligibility code")
        return value

    @field_validator("outcomes")
    @classmethod
    def _unique_outcomes(cls, value: list[OutcomeSpec]) -> list[OutcomeSpec]:
        _unique([o.name.casefold() for o in value], "outcome name")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        codes = set(self.reason_codes())
        for kind, code in self.screening.hint_reasons.items():
            if code not in codes:
                raise _LocatedValueError(
                    ("screening", "hint_reasons", kind),
                    f"{code!r} is not an eligibility code ({', '.join(sorted(codes))})",
                )
        names = {o.name.casefold() for o in self.outcomes}
        for i, sens in enumerate(self.model.sensitivity):
            for name in sens.outcomes:
                if name.casefold() not in names:
                    raise _LocatedValueError(
                        ("model", "sensitivity", i, "outcomes"),
                        f"{name!r} is not an outcome of this protocol",
                    )
        return self

    def reason_codes(self) -> list[str]:
        """The eligibility codes, in protocol order: the valid exclusion reasons."""
        return [c.code for c in self.eligibility]

    def criterion(self, code: str) -> EligibilityCriterion:
        """The criterion with this code; :class:`KeyError` if there is none."""
        for c in self.eligibility:
            if c.code == code:
                return c
        raise KeyError(code)

    def key_terms(self) -> list[str]:
        """Terms to highlight when screening: ``screening.key_terms`` or, when empty, the words
        of four letters or more of the question's population and intervention."""
        if self.screening.key_terms:
            return list(self.screening.key_terms)
        words: list[str] = []
        for text in (self.question.population, self.question.intervention):
            for word in re.findall(r"[A-Za-z][A-Za-z0-9-]{3,}", text):
                if word.casefold() not in _STOPWORDS and word.casefold() not in map(
                    str.casefold, words
                ):
                    words.append(word)
        return words

    def outcome(self, name: str) -> OutcomeSpec:
        """The outcome with this name (case-insensitive); :class:`KeyError` if there is none."""
        for o in self.outcomes:
            if o.name.casefold() == name.casefold():
                return o
        raise KeyError(name)

    def to_yaml(self) -> str:
        """The protocol as YAML (fields in schema order, unset optional fields left out)."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=96)


_STOPWORDS = frozenset(
    {
        "with",
        "without",
        "adults",
        "adult",
        "patients",
        "people",
        "children",
        "aged",
        "from",
        "that",
        "their",
        "have",
        "more",
        "than",
        "other",
        "usual",
        "care",
        "none",
        "placebo",
        "years",
        "mesylate",
        "treatment",
        "therapy",
    }
)


def _unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)


class _LocatedValueError(ValueError):
    """A cross-field error that knows the location of the offending field."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class ProtocolValidationError(ProtocolError):
    """The protocol file does not validate.

    ``problems`` lists ``(line, field, message)`` for each problem (line 1-based, or None when
    it cannot be placed); ``file`` is the file's path. ``str()`` gives them all, one per line.
    """

    def __init__(self, file: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.file = file
        self.problems = problems
        parts = []
        for line, field, message in problems:
            where = f"{file}, line {line}" if line is not None else file
            parts.append(f"{where}, field {field!r}: {message}" if field else f"{where}: {message}")
        super().__init__("; ".join(parts))


# ---------------------------------------------------------------------------------------------
# YAML with positions


class _ProtocolLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as text, so pydantic parses (and places) bad dates."""


_ProtocolLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_duplicate_keys(node: yaml.Node, file: str) -> None:
    """Reject duplicate mapping keys (PyYAML would silently keep the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ProtocolValidationError(
                    file,
                    [
                        (
                            key_node.start_mark.line + 1,
                            str(key),
                            f"duplicate key (first given on line {seen[key]})",
                        )
                    ],
                )
            seen[key] = key_node.start_mark.line + 1
            _check_duplicate_keys(value_node, file)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, file)


def _locate(root: yaml.Node | None, loc: Sequence[str | int]) -> tuple[int | None, str]:
    """The 1-based line of the node at pydantic location ``loc`` and its dotted field name.

    When the location does not exist in the file (a missing field) the line is that of the
    deepest existing parent mapping, which is where the field should have been written.
    """
    node = root
    line = root.start_mark.line + 1 if root is not None else None
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            names.append(f"[{part}]")
        else:
            names.append(("." if names else "") + part)
        if node is None:
            continue
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    # Point at the key for scalars and at the key line for nested blocks.
                    line = key_node.start_mark.line + 1
                    nxt = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None and isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            node = None
            continue
        node = nxt
    return line, "".join(names)


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic adds the validator kind ("function-after[...]") or union member names
    # ("str", "int", "TimeWindow") to locations; keep only real keys and indices.
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            "[" in part or part in {"str", "int", "float", "bool", "date", "none", "TimeWindow"}
        ):
            continue
        out.append(part)
    return tuple(out)


def _problems_from(
    exc: ValidationError, root: yaml.Node | None
) -> list[tuple[int | None, str, str]]:
    problems: list[tuple[int | None, str, str]] = []
    seen: set[tuple[int | None, str, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        message = str(err["msg"])
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _LocatedValueError):
            loc = loc + ctx_error.loc
            message = ctx_error.message
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            message = "unknown field (not part of the protocol schema)"
        elif err["type"] == "missing":
            message = "required field is missing"
        line, field = _locate(root, loc)
        item = (line, field, message)
        if item not in seen:
            seen.add(item)
            problems.append(item)
    return problems


def parse_protocol(text: str, file: str = "<protocol>") -> Protocol:
    """Validate protocol YAML text; ``file`` names it in error messages.

    Raises
    ------
    ProtocolValidationError
        YAML syntax errors, duplicate keys, and every schema violation, each with its line and
        field.
    """
    try:
        root = yaml.compose(text, Loader=_ProtocolLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        if problem == "mapping values are not allowed here":
            # the commonest slip: a title or description holding ": " (YAML reads a new key)
            problem += (
                '; a value containing ": " must be quoted, e.g. title: "Drug C: a systematic '
                'review"'
            )
        raise ProtocolValidationError(file, [(line, "", f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ProtocolValidationError(file, [(None, "", f"YAML error: {exc}")]) from None
    if root is None:
        raise ProtocolValidationError(file, [(None, "", "the protocol file is empty")])
    _check_duplicate_keys(root, file)
    data = yaml.load(text, Loader=_ProtocolLoader)  # a SafeLoader subclass
    if not isinstance(data, dict):
        raise ProtocolValidationError(
            file, [(root.start_mark.line + 1, "", "the protocol must be a YAML mapping of fields")]
        )
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolValidationError(file, _problems_from(exc, root)) from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol YAML file.

    Raises
    ------
    ProtocolError
        (a :class:`ProtocolValidationError`) when the file is missing, unreadable, not YAML or
        does not validate; the message names the file, line and field.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolValidationError(str(p), [(None, "", "no such protocol file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolValidationError(str(p), [(None, "", f"cannot read: {exc}")]) from None
    return parse_protocol(text, file=str(p))


def protocol_digest(text: str | bytes) -> str:
    """SHA-256 hex digest of a protocol file's bytes (used to notice amendments)."""
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def iter_changes(old: Protocol, new: Protocol) -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(field, old value, new value)`` for each leaf that differs between two protocols.

    Lists are compared item by item (``eligibility[2].text``); added or removed items show
    ``None`` on the missing side.
    """
    yield from _diff(old.model_dump(mode="json"), new.model_dump(mode="json"), "")


def _diff(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else str(key)
            yield from _diff(a.get(key), b.get(key), sub)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            yield from _diff(
                a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{path}[{i}]"
            )
    elif a != b:
        yield path, a, b
