"""Run the analyses of a review: effect sizes from the study data, pooled per protocol outcome.

:func:`analyse` takes a :class:`~metareview.review.result.ReviewData` (the review as its project
store holds it, :func:`metareview.review.store.load_review`) and returns a
:class:`~metareview.review.result.ReviewResult`. For each protocol outcome it recomputes every
derived number of every study from its inputs (:mod:`metareview.extraction.derivations`),
computes the effect sizes with :func:`~metareview.effects.escalc` and pools them with
:func:`~metareview.models.rma` with the protocol's model, then adds the sensitivity analyses:

* the protocol's planned ones (other estimators, Knapp-Hartung tests, leave-one-out);
* every assumed number that carries ``sensitivity`` values (e.g. the pre-post correlation
  ``ri`` over 0.3-0.8), refitted for each value;
* every alternative data ``scenario`` in the study data (another time point, bounds);
* for proportions, the Freeman-Tukey double arcsine (PFT) beside the logit (PLO), each
  back-transformed properly (inverse logit; inverse Freeman-Tukey with the harmonic mean of n,
  Miller 1978).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metareview._json import jsonable
from metareview.appraisal.stored import StudyRob
from metareview.effects import escalc
from metareview.effects.measures import (
    MEASURE_INFO,
    PROPORTION_MEASURES,
    SINGLE_GROUP_MEASURES,
    find_measure,
    is_ratio,
)
from metareview.errors import InputError, MetareviewError, MetareviewWarning
from metareview.extraction.derivations import DERIVATIONS
from metareview.extraction.provenance import Quantity, SourceSpec
from metareview.extraction.study import MEASURE_INPUTS, OutcomeData, StudyData
from metareview.models import leave1out, rma
from metareview.models.published import PublishedCheck, check_published
from metareview.protocol import OutcomeSpec
from metareview.review.result import (
    InputValue,
    OutcomeAnalysis,
    PublishedFigure,
    ReviewData,
    ReviewResult,
    SensitivityRow,
    StudyEffect,
)

__all__ = [
    "analyse",
    "analyse_outcome",
    "collect_effects",
    "resolve_inputs",
]


#: Input layouts (``OutcomeData.measure``) each protocol measure can be computed from.
_LAYOUTS: dict[str, tuple[str, ...]] = {
    **{m: ("PR",) for m in PROPORTION_MEASURES},
    **{m: (layout, "GEN") for m, i in MEASURE_INFO.items() for fam, layout in
       (("two-group binary", "2x2"), ("rates", "RATES"), ("two-group continuous", "MEANS"),
        ("single-group rate", "RATE"), ("single-group mean", "MEAN"))
       if i.computable and i.family == fam},
    "SDLN": ("SD", "GEN"),
    "MC": ("MC", "GEN"),
    "GEN": ("GEN",),
}  # fmt: skip

#: Layouts computed with the protocol outcome's measure (the others are their own measure).
_MEASURED_LAYOUTS = ("PR", "2x2", "MEANS", "RATES", "RATE", "MEAN", "SD")

_num = jsonable

# -- from study data to effect sizes ---------------------------------------------------------


def _source_text(q: Quantity, sources: Mapping[str, SourceSpec], derivation: str | None) -> str:
    spec = sources.get(q.source.ref)
    cite = spec.citation if spec is not None else q.source.ref
    parts = [f"{cite} {q.source.where}".strip()]
    if q.source.quote:
        parts.append(f'"{q.source.quote}"')
    if spec is not None and spec.url:
        parts.append(spec.url)
    text = "; ".join(parts)
    if derivation:
        text = f"derived: {derivation}. Method: {text}"
    if q.status == "assumed" and q.why:
        text = f"assumed: {q.why.strip()}. Basis: {text}"
    return text


def resolve_inputs(
    row: OutcomeData, file: str = "studies.yaml", where: str = ""
) -> dict[str, tuple[Quantity, str | None]]:
    """Compute every derived input of ``row`` from its inputs.

    Returns ``{name: (quantity with value, derivation text or None)}``. A typed ``value`` on a
    derived number is checked against the computation (relative tolerance 1e-6).
    """
    out: dict[str, tuple[Quantity, str | None]] = {
        n: (q, None) for n, q in row.inputs.items() if q.derive is None
    }
    pending = {n: q for n, q in row.inputs.items() if q.derive is not None}
    while pending:
        progressed = False
        for name, q in list(pending.items()):
            assert q.derive is not None
            if any(src not in out for src in q.derive.inputs.values()):
                continue
            if q.derive.method not in DERIVATIONS:
                raise InputError(
                    f"unknown derivation {q.derive.method!r} (known: {', '.join(DERIVATIONS)})",
                    file=file, field=f"{where}.inputs.{name}.derive.method",
                )  # fmt: skip
            func, describe = DERIVATIONS[q.derive.method]
            try:
                args = {arg: out[src][0].numeric() for arg, src in q.derive.inputs.items()}
                value = float(func(**args))
            except (ValueError, TypeError) as exc:
                raise InputError(
                    f"cannot derive {name}: {exc}", file=file, field=f"{where}.inputs.{name}"
                ) from exc
            if q.value is not None and not math.isclose(
                float(q.numeric()), value, rel_tol=1e-6, abs_tol=1e-12
            ):
                raise InputError(
                    f"typed value {q.value} differs from the derivation ({value:.6g})",
                    file=file, field=f"{where}.inputs.{name}.value",
                )  # fmt: skip
            inputs_text = ", ".join(
                f"{src} = {out[src][0].value}" for src in q.derive.inputs.values()
            )
            text = f"{describe(q.derive.inputs)}, with {inputs_text}, gives {value:.6g}"
            out[name] = (q.with_value(value), text)
            del pending[name]
            progressed = True
        if not progressed:
            raise InputError(
                "derivations depend on each other in a cycle",
                file=file, field=f"{where}.inputs.{sorted(pending)[0]}",
            )  # fmt: skip
    return out


def _effect(
    study: StudyData,
    row: OutcomeData,
    measure: str,
    sources: Mapping[str, SourceSpec],
    overrides: Mapping[str, float] | None = None,
    where: str = "",
    file: str = "studies.yaml",
    study_id: int | None = None,
) -> StudyEffect:
    """One study row to ``yi``/``vi`` on the analysis's model scale."""
    resolved = resolve_inputs(row, file=file, where=where)
    values = {n: q.numeric() for n, (q, _) in resolved.items() if _is_number(q.value)}
    status = {n: q.status for n, (q, _) in resolved.items()}
    for name, override in (overrides or {}).items():
        if name in values and row.inputs[name].status == "assumed":
            values[name] = override
    try:
        args: dict[str, Any] = _escalc_args(row.measure, values)
        df = escalc(_escalc_measure(row.measure, measure), **args)
    except (InputError, KeyError) as exc:
        detail = exc.message if isinstance(exc, InputError) else f"input {exc} is not a number"
        column = f".inputs.{exc.field}" if isinstance(exc, InputError) and exc.field else ""
        raise InputError(detail, file=file, field=where + column) from exc
    yi = float(df["yi"].iloc[0])
    vi = float(df["vi"].iloc[0])
    if not (math.isfinite(yi) and math.isfinite(vi)):
        raise InputError(
            f"no effect size could be computed from {', '.join(row.inputs)}",
            file=file, field=where,
        )  # fmt: skip
    inputs = []
    for name, (q, derivation) in resolved.items():
        value: float | int | str | None = q.value
        if name in (overrides or {}) and q.status == "assumed":
            value = values[name]
        spec = sources.get(q.source.ref)
        inputs.append(
            InputValue(
                name=name,
                value=_num(value),
                status=q.status,
                source=_source_text(q, sources, derivation),
                where=q.source.where,
                ref=q.source.ref,
                quote=q.source.quote,
                url=spec.url if spec is not None else None,
                derivation=derivation,
                why=q.why,
                note=q.note,
            )
        )
    order = list(row.inputs)
    inputs.sort(key=lambda i: order.index(i.name))
    ni = values.get("ni")
    if ni is None and "n1i" in values and "n2i" in values:
        ni = values["n1i"] + values["n2i"]
    return StudyEffect(
        study=study.id,
        label=study.label,
        study_id=study_id,
        arms=_arms(row.measure, measure, values, status, row.arm, vi),
        measure=measure if row.measure in _MEASURED_LAYOUTS else row.measure,
        timepoint=row.timepoint,
        yi=yi,
        vi=vi,
        ni=ni,
        inputs=tuple(inputs),
        scenario=row.scenario,
        note=row.note,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _escalc_measure(layout: str, measure: str) -> str:
    """The escalc measure a row of ``layout`` is computed with under a protocol ``measure``."""
    return measure if layout in _MEASURED_LAYOUTS else layout


def _escalc_args(layout: str, values: Mapping[str, float]) -> dict[str, list[float]]:
    """escalc's keyword arguments for one row (metafor's argument names)."""
    if layout == "GEN":
        names: tuple[str, ...] = ("yi", "sei") if "sei" in values else ("yi", "vi")
    else:
        names = MEASURE_INPUTS[layout]
    return {name: [values[name]] for name in names}


#: Arm fields of each layout, by group, and the escalc input each one shows.
_ARM_FIELDS: dict[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {
    "2x2": (("intervention", (("events", "ai"), ("n", "n1i"))),
            ("comparator", (("events", "ci"), ("n", "n2i")))),
    "RATES": (("intervention", (("events", "x1i"), ("person_time", "t1i"))),
              ("comparator", (("events", "x2i"), ("person_time", "t2i")))),
    "MEANS": (("intervention", (("mean", "m1i"), ("sd", "sd1i"), ("n", "n1i"))),
              ("comparator", (("mean", "m2i"), ("sd", "sd2i"), ("n", "n2i")))),
    "PR": (("single", (("events", "xi"), ("n", "ni"))),),
    "RATE": (("single", (("events", "xi"), ("person_time", "ti"))),),
    "MEAN": (("single", (("mean", "mi"), ("sd", "sdi"), ("n", "ni"))),),
    "SD": (("single", (("sd", "sdi"), ("n", "ni"))),),
    "MC": (("single", (("mean", "m1i"), ("mean_baseline", "m2i"), ("n", "ni"))),),
    "GEN": (("single", (("mean_change", "yi"), ("sd_change", "sd_change"), ("n", "ni"))),),
}  # fmt: skip


def _arms(
    layout: str,
    measure: str,
    values: Mapping[str, float],
    status: Mapping[str, str],
    arm: str | None,
    vi: float,
) -> tuple[dict[str, Any], ...]:
    """Per-group raw data of a row, for forest plots (RevMan's data columns).

    Each arm lists under ``not_reported`` the fields that are not reported numbers: inputs
    whose status is derived or assumed, and values computed here. A single-group mean change
    shows its change and the SD of the change, SD = sqrt(vi * n) (metafor's MC:
    ``vi = (sd1i^2 + sd2i^2 - 2 ri sd1i sd2i) / ni``; from a generic row ``vi = sei^2``), as
    RevMan's "Mean change, SD, N" columns. A generic row of any other measure has no raw data.
    """
    if layout == "GEN" and not (measure == "MC" and "ni" in values):
        return ()
    out = []
    for group, fields in _ARM_FIELDS.get(layout, ()):
        entry: dict[str, Any] = {"group": group, "arm": arm} if group == "single" else {
            "group": group}  # fmt: skip
        missing: list[str] = []
        for field, name in fields:
            entry[field] = _num(values.get(name))
            if entry[field] is not None and status.get(name, "reported") != "reported":
                missing.append(field)
        if layout == "MC":
            entry["mean_change"] = _num(values["m1i"] - values["m2i"])
            missing.append("mean_change")
        if layout in ("MC", "GEN") and entry.get("sd_change") is None:
            entry["sd_change"] = _num(math.sqrt(vi * values["ni"]))
            missing.append("sd_change")
        entry["not_reported"] = sorted(missing)
        out.append(entry)
    return tuple(out)


def _check_row_measure(outcome: OutcomeSpec, row: OutcomeData, study: StudyData, file: str) -> None:
    allowed = _LAYOUTS.get(outcome.measure, ("GEN",))
    if row.measure not in allowed:
        raise InputError(
            f"outcome {outcome.name} is pooled as {outcome.measure}; its study data must be "
            f"{' or '.join(allowed)}, not {row.measure}",
            file=file, field=f"{study.id}.outcomes.{outcome.name}",
        )  # fmt: skip


def collect_effects(
    project: ReviewData,
    outcome: OutcomeSpec,
    *,
    measure: str | None = None,
    scenario: str = "main",
    overrides: Mapping[str, float] | None = None,
    keep00: bool = False,
) -> list[StudyEffect]:
    """Effect sizes of every study contributing to ``outcome`` in ``scenario``.

    A two-group study with no events in either arm is left out when the protocol says
    ``model.drop00`` (unless ``keep00``).

    ``measure`` overrides the protocol's measure for proportions (PFT instead of PLO);
    ``overrides`` replaces assumed inputs by name (``{"ri": 0.3}``) for sensitivity analyses.
    """
    use = measure or outcome.measure
    drop = project.protocol.model.drop00 and not keep00
    sources = {s.key: s for s in project.data.sources}
    file = project.data_file
    out: list[StudyEffect] = []
    for study in project.data.studies:
        rows = study.outcome_rows(outcome.name, scenario)
        if len(rows) > 1:
            raise InputError(
                f"study {study.id} has {len(rows)} rows for {outcome.name} in scenario "
                f"{scenario!r}; give one",
                file=file, field=f"{study.id}.outcomes.{outcome.name}",
            )  # fmt: skip
        for row in rows:
            _check_row_measure(outcome, row, study, file)
            where = f"{study.id}.outcomes.{outcome.name}"
            sid = project.study_ids.get(study.id)
            effect = _effect(study, row, use, sources, overrides, where, file, sid)
            if not (drop and _both_zero(effect)):
                out.append(effect)
    return out


# -- pooling ---------------------------------------------------------------------------------


def _back_transform(measure: str, ni: Sequence[float]) -> Callable[[Any], Any] | None:
    """The measure's model-to-display function (:class:`~metareview.effects.measures.
    MeasureInfo`), with the studies' sizes bound when it needs them (PFT)."""
    info = find_measure(measure)
    if info is None or info.back_transform is None:
        return None
    f = info.back_transform
    if info.needs_ni:
        n = np.asarray(ni, dtype=float)
        return lambda x: f(x, ni=n)
    return lambda x: f(x)


def _transform(measure: str, ni: Sequence[float]) -> Callable[[Any], Any] | None:
    """What :attr:`OutcomeAnalysis.estimate` is shown on: proportions back on the 0-1 scale;
    everything else on its model scale (ratios stay log in the JSON, see ``transformed``)."""
    return _back_transform(measure, ni) if measure in PROPORTION_MEASURES else None


def _fit(effects: Sequence[StudyEffect], measure: str, method: str, test: str, level: float) -> Any:
    with warnings.catch_warnings():
        if len(effects) == 1:
            # k = 1 is stated in the analysis notes; metafor-style warning not repeated per refit
            warnings.simplefilter("ignore", MetareviewWarning)
        return rma(
            np.array([e.yi for e in effects]),
            np.array([e.vi for e in effects]),
            method=method,
            test=test,
            level=level,
            measure=measure,
            slab=[e.label for e in effects],
        )


def _display(fit: Any, transf: Callable[[Any], Any] | None) -> dict[str, float | None]:
    pred = fit.predict(transf=transf)
    return {k: _num(_scalar(v)) for k, v in pred.items()}


def _scalar(v: Any) -> Any:
    arr = np.asarray(v)
    return float(arr.reshape(-1)[0]) if arr.size else None


def _sens_row(
    analysis: str,
    setting: str,
    effects: Sequence[StudyEffect],
    measure: str,
    method: str,
    test: str,
    level: float,
    note: str | None = None,
) -> SensitivityRow:
    if not effects:
        return SensitivityRow(analysis, setting, 0, method, test, None, None, None, None, None,
                              None, note or "no study contributes")  # fmt: skip
    ni = [e.ni if e.ni is not None else math.nan for e in effects]
    fit = _fit(effects, measure, method, test, level)
    shown = _display(fit, _transform(measure, ni))
    return SensitivityRow(
        analysis=analysis,
        setting=setting,
        k=int(fit.k),
        method=method,
        test=test,
        estimate=shown["pred"],
        ci_lower=shown["ci_lb"],
        ci_upper=shown["ci_ub"],
        pvalue=None if measure in SINGLE_GROUP_MEASURES else _num(fit.pval),
        tau2=_num(fit.tau2),
        I2=_num(fit.I2),
        note=note,
    )


def _compare(
    estimate: float | None,
    lo: float | None,
    hi: float | None,
    pub: PublishedFigure | None,
    proportion: bool,
    *,
    k: int = 0,
    se: float | None = None,
    check: PublishedCheck | None = None,
    missing: Sequence[str] = (),
) -> str:
    """One sentence comparing our result with the published one, and the likely reasons."""
    if pub is None or pub.estimate is None:
        return "no published figure to compare with"
    if estimate is None or lo is None or hi is None:
        return "not estimable from the extracted data; the published figure cannot be checked"
    diff = estimate - pub.estimate
    parts = [f"difference (ours - published) {diff:+.3f}"]
    if not proportion:
        agree = np.sign(estimate) == np.sign(pub.estimate)
        parts.append("direction agrees" if agree else "direction DISAGREES")
    if pub.ci_lower is not None and pub.ci_upper is not None:
        overlap = not (hi < pub.ci_lower or lo > pub.ci_upper)
        parts.append(
            "confidence intervals overlap" if overlap else "confidence intervals DO NOT overlap"
        )
    else:
        inside = lo <= pub.estimate <= hi
        parts.append(
            "published estimate lies inside our CI" if inside
            else "published estimate lies OUTSIDE our CI"
        )  # fmt: skip
    if check is not None and se is not None and not proportion:
        parts.append(f"standard error {se:.3f} here vs {check.se:.3f} implied by the published CI")
    if missing:
        parts.append(
            f"k = {k} here: {', '.join(missing)} could not contribute from the sources reachable, "
            "while the published analysis may have used them (its k is not reported)"
        )
    return "; ".join(parts)


def _published_check(pub: PublishedFigure | None, level: float) -> PublishedCheck | None:
    if pub is None:
        return None
    printed = dict(pub.as_printed or {})
    est = printed.get("estimate", pub.estimate)
    lo = printed.get("ci_lower", pub.ci_lower)
    hi = printed.get("ci_upper", pub.ci_upper)
    if est is None or lo is None or hi is None:
        return None
    try:
        return check_published(
            repr(est), repr(lo), repr(hi),
            pvalue=None if pub.pvalue is None else repr(pub.pvalue), level=level,
        )  # fmt: skip
    except MetareviewError:
        return None


def analyse_outcome(project: ReviewData, outcome: OutcomeSpec) -> OutcomeAnalysis:
    """Pool one outcome with the protocol's model, plus all its sensitivity analyses."""
    settings = project.protocol.model
    method, test, level = settings.method, settings.test, settings.level
    measure = outcome.measure
    proportion = measure in PROPORTION_MEASURES
    effects = collect_effects(project, outcome)
    dropped: dict[str, str] = {}
    if settings.drop00:
        dropped = {
            e.study: "no events in either arm: left out, as the protocol asks (model.drop00)"
            for e in collect_effects(project, outcome, keep00=True)
            if _both_zero(e)
        }
    contributing = {e.study for e in effects}
    excluded = tuple(
        (
            s.label,
            dropped.get(s.id)
            or s.not_extracted.get(outcome.name, "no data extracted for this outcome"),
        )
        for s in project.data.studies
        if s.id not in contributing
    )
    published = project.published.get(outcome.name)
    notes: list[str] = []
    sens: list[SensitivityRow] = []
    fit = None
    transf = None
    loo: pd.DataFrame | None = None
    shown: dict[str, float | None] = dict.fromkeys(("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"))
    if effects:
        fit = _fit(effects, measure, method, test, level)
        transf = _transform(measure, [e.ni if e.ni is not None else math.nan for e in effects])
        shown = _display(fit, transf)
        if len(effects) == 1:
            notes.append("only one study contributes: the 'pooled' result is that study's own")
        notes.extend(_zero_event_notes(effects, measure))
        # planned sensitivity analyses of the protocol
        for plan in settings.sensitivity:
            if plan.outcomes and outcome.name not in plan.outcomes:
                continue
            if plan.leave1out:
                if len(effects) >= 2:
                    loo = _leave1out_display(fit, transf, effects)
                continue
            kept = [
                e for e in effects if e.study not in plan.exclude and e.label not in plan.exclude
            ]
            sens.append(
                _sens_row(
                    "estimator", plan.name, kept, measure, plan.method or method,
                    plan.test or test, plan.level or level, plan.description,
                )
            )  # fmt: skip
        # assumed inputs with sensitivity values (e.g. the pre-post correlation)
        for name, values in _sensitivity_inputs(project, outcome).items():
            for v in values:
                eff = collect_effects(project, outcome, overrides={name: v})
                sens.append(
                    _sens_row(f"assumed {name}", f"{name} = {v:g}", eff, measure, method, test,
                              level)
                )  # fmt: skip
        sens.extend(_rob_sensitivity(project, outcome, effects, measure, method, test, level))
        if proportion:
            other = "PFT" if measure != "PFT" else "PLO"
            eff = collect_effects(project, outcome, measure=other)
            sens.append(
                _sens_row("transformation", other, eff, other, method, test, level,
                          _TRANSFORM_NOTES[other])
            )  # fmt: skip
    # alternative data scenarios (also when the main analysis has no study)
    for scen in _scenarios(project, outcome):
        eff = collect_effects(project, outcome, scenario=scen)
        sens.append(_sens_row("data scenario", scen, eff, measure, method, test, level))
        if proportion:
            eff = collect_effects(project, outcome, scenario=scen, measure="PFT")
            sens.append(_sens_row("data scenario", f"{scen} (PFT)", eff, "PFT", method, test,
                                  level))  # fmt: skip
    estimate, lo, hi = shown["pred"], shown["ci_lb"], shown["ci_ub"]
    if len(effects) <= 2:
        # a prediction interval needs k >= 3 (Riley et al. 2011, BMJ 342:d549); Q needs k >= 2
        shown["pi_lb"] = shown["pi_ub"] = None
    check = _published_check(published, level)
    if not effects:
        notes.append(
            "no study reports usable numbers for this outcome in the sources reachable; "
            "nothing is pooled rather than inventing inputs"
        )
    if published is not None and published.correction:
        notes.append(f"published figure corrected: {published.correction.strip()}")
    return OutcomeAnalysis(
        outcome=outcome.name,
        description=outcome.description or outcome.name,
        measure=measure,
        method=method,
        test=test,
        level=level,
        better=outcome.better,
        k=len(effects),
        estimate=estimate,
        ci_lower=lo,
        ci_upper=hi,
        pvalue=None if (fit is None or measure in SINGLE_GROUP_MEASURES) else _num(fit.pval),
        pi_lower=shown["pi_lb"],
        pi_upper=shown["pi_ub"],
        tau2=None if fit is None else _num(fit.tau2),
        I2=None if fit is None else _num(fit.I2),
        QE=None if fit is None or len(effects) < 2 else _num(fit.QE),
        QEp=None if fit is None or len(effects) < 2 else _num(fit.QEp),
        fit=fit,
        transf=transf,
        studies=tuple(effects),
        excluded=excluded,
        sensitivity=tuple(sens),
        leave1out=loo,
        published=published,
        published_check=check,
        comparison=_compare(
            estimate,
            lo,
            hi,
            published,
            proportion,
            k=len(effects),
            se=None if fit is None else _num(fit.se),
            check=check,
            missing=[label for label, _ in excluded],
        ),
        notes=tuple(notes),
        transformed=_transformed(fit, measure, transf, shown),
        subgroups=_subgroups(project, outcome, effects, measure, method, test, level),
    )


def _characteristic(study: StudyData, by: str) -> str:
    """A study's value of a characteristic (``design``, ``population``, an extracted text)."""
    if by in ("design", "population", "label", "citation"):
        value = getattr(study, by)
    elif by in study.characteristics:
        value = study.characteristics[by].value
    else:
        doses = {a.dose.value for a in study.arms if a.dose is not None} if by == "dose" else set()
        value = "; ".join(sorted(str(d) for d in doses)) if doses else None
    return str(value) if value not in (None, "", "not recorded") else "not reported"


def _subgroups(
    project: ReviewData,
    outcome: OutcomeSpec,
    effects: Sequence[StudyEffect],
    measure: str,
    method: str,
    test: str,
    level: float,
) -> tuple[dict[str, Any], ...]:
    """The protocol's subgroup analyses of one outcome (metafor: ``rma(yi, vi, subset=)`` per
    group and the test for subgroup differences, :func:`metareview.models.subgroup`)."""
    from metareview.models.subgroup import subgroup

    studies = {s.id: s for s in project.data.studies}
    out = []
    for plan in project.protocol.model.subgroups:
        if plan.outcomes and outcome.name not in plan.outcomes:
            continue
        labels = [_characteristic(studies[e.study], plan.by) for e in effects]
        if len(set(labels)) < 2:
            continue  # one group: nothing to compare
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetareviewWarning)
            result = subgroup(
                np.array([e.yi for e in effects]), np.array([e.vi for e in effects]), labels,
                method=method, test=test, level=level, measure=measure,
            )  # fmt: skip
        out.append({"name": plan.name, "by": plan.by, "labels": tuple(labels),
                    "result": result, "note": plan.description})  # fmt: skip
    rob = project.risk_of_bias.get(outcome.name, {})
    if project.protocol.model.rob_subgroup and rob:
        labels = [_rob_overall(rob, e) for e in effects]
        if len(set(labels)) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetareviewWarning)
                result = subgroup(
                    np.array([e.yi for e in effects]), np.array([e.vi for e in effects]), labels,
                    method=method, test=test, level=level, measure=measure,
                )  # fmt: skip
            out.append({"name": "risk of bias", "by": "risk_of_bias", "labels": tuple(labels),
                        "result": result,
                        "note": "studies grouped by their overall risk-of-bias judgement "
                                "(metareview rob; protocol model.rob_subgroup)"})  # fmt: skip
    return tuple(out)


def _rob_overall(rob: Mapping[int, StudyRob], effect: StudyEffect) -> str:
    """A study's overall risk-of-bias judgement for the outcome, or ``not assessed``."""
    found = rob.get(effect.study_id) if effect.study_id is not None else None
    return found.overall if found is not None else "not assessed"


#: Overall judgements kept by ``model.rob_sensitivity`` (RoB 2 and ROBINS-I words).
ROB_KEPT: dict[str, frozenset[str]] = {
    "low": frozenset({"low"}),
    "not_high": frozenset({"low", "some_concerns", "moderate"}),
}


def _rob_sensitivity(
    project: ReviewData,
    outcome: OutcomeSpec,
    effects: Sequence[StudyEffect],
    measure: str,
    method: str,
    test: str,
    level: float,
) -> list[SensitivityRow]:
    """The protocol's risk-of-bias sensitivity analysis (``model.rob_sensitivity``): the main
    model refitted on the studies at low overall risk of bias (``low``), or on those not at
    high risk (``not_high``: RoB 2 low or some concerns, ROBINS-I low or moderate; Cochrane
    Handbook v6.4, section 7.6.2 and 10.14). Studies not assessed, or whose reviewers disagree
    without a consensus, are left out of the refit (their risk is not known to be low)."""
    plan = project.protocol.model.rob_sensitivity
    if plan is None:
        return []
    rob = project.risk_of_bias.get(outcome.name, {})
    kept = [e for e in effects if _rob_overall(rob, e) in ROB_KEPT[plan]]
    left = [f"{e.label} ({_rob_overall(rob, e).replace('_', ' ')})" for e in effects
            if e not in kept]  # fmt: skip
    setting = "low risk of bias only" if plan == "low" else "without high risk of bias"
    note = "left out: " + ", ".join(left) if left else "no study left out"
    return [_sens_row("risk of bias", setting, kept, measure, method, test, level, note)]


def _transformed(
    fit: Any,
    measure: str,
    transf: Callable[[Any], Any] | None,
    shown: Mapping[str, float | None],
) -> dict[str, float | None] | None:
    """Estimate, CI and PI on the natural scale: exp for ratio measures, the proportion for
    proportion measures (as :attr:`OutcomeAnalysis.estimate` already is), the single-group
    measures' back-transformation (IRLN to a rate, MNLN to a mean, CVLN and SDLN by exp: what
    ``metareview pool --transf auto`` gives, metafor's ``predict(res, transf=exp)``); None
    otherwise (and for IRS and IRFT, whose inverse metafor does not apply by default)."""
    if fit is None:
        return None
    keys = {"pred": "estimate", "ci_lb": "ci_lower", "ci_ub": "ci_upper",
            "pi_lb": "pi_lower", "pi_ub": "pi_upper"}  # fmt: skip
    if is_ratio(measure) or single_group_back(measure):
        exp = _back_transform(measure, [])
        assert exp is not None
        out = {}
        for key, name in keys.items():
            v = shown.get(key)
            out[name] = None if v is None else _num(float(np.asarray(exp(v))))
        return out
    if measure in PROPORTION_MEASURES and transf is not None:
        return {name: shown.get(key) for key, name in keys.items()}
    return None


def single_group_back(measure: str) -> bool:
    """Whether ``measure`` is a single-group measure (not a proportion) pooled on a scale with
    a back-transformation that needs no sample sizes: IRLN, MNLN, CVLN, SDLN (exp)."""
    info = find_measure(measure)
    return (
        info is not None and info.groups == 1 and not info.is_proportion
        and info.back_transform is not None and not info.needs_ni
    )  # fmt: skip


def _both_zero(effect: StudyEffect) -> bool:
    """Whether a two-group study has no events in either arm (a "double-zero" study)."""
    return len(effect.arms) == 2 and all(a.get("events") == 0 for a in effect.arms)


def _zero_event_notes(effects: Sequence[StudyEffect], measure: str) -> list[str]:
    """A warning for each study with no events in either arm (Cochrane Handbook 10.4.4.2)."""
    out = []
    for e in effects:
        if _both_zero(e):
            out.append(
                f"{e.label}: zero events in both arms; kept with metafor's correction (1/2 added "
                f"to each cell), although such a study carries almost no information on the "
                f"{measure}"
            )
    return out


_TRANSFORM_NOTES = {
    "PFT": "Freeman-Tukey double arcsine, back-transformed with the harmonic mean of n",
    "PLO": "logit, back-transformed with the inverse logit",
}


def _leave1out_display(
    fit: Any, transf: Callable[[Any], Any] | None, effects: Sequence[StudyEffect]
) -> pd.DataFrame:
    loo = leave1out(fit).copy()
    loo.insert(1, "k", len(effects) - 1)
    if transf is not None:
        for col in ("estimate", "ci_lb", "ci_ub"):
            loo[col] = np.asarray(transf(loo[col].to_numpy(dtype=float)), dtype=float)
    return loo


def _sensitivity_inputs(project: ReviewData, outcome: OutcomeSpec) -> dict[str, list[float]]:
    found: dict[str, set[float]] = {}
    for study in project.data.studies:
        for row in study.outcome_rows(outcome.name):
            for name, q in row.inputs.items():
                if q.status == "assumed" and q.sensitivity:
                    found.setdefault(name, set()).update(float(v) for v in q.sensitivity)
    return {name: sorted(values) for name, values in sorted(found.items())}


def _scenarios(project: ReviewData, outcome: OutcomeSpec) -> list[str]:
    seen: list[str] = []
    for study in project.data.studies:
        for row in study.outcomes.get(outcome.name, []):
            if row.scenario != "main" and row.scenario not in seen:
                seen.append(row.scenario)
    return seen


def analyse(review: ReviewData) -> ReviewResult:
    """Analyse every protocol outcome of ``review``: one :class:`OutcomeAnalysis` each."""
    analyses = tuple(analyse_outcome(review, o) for o in review.protocol.outcomes)
    return ReviewResult(project=review, analyses=analyses, notes=review.notes)
