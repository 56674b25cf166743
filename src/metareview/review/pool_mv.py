"""A long CSV pooled by a multilevel model (``metareview pool --model mv``).

>>> from metareview.review.pool_mv import pool_file_mv
>>> out = pool_file_mv("long.csv", "SMD", random="~ 1 | study/es")   # doctest: +SKIP
>>> print(out.model)                                                  # doctest: +SKIP

The file has one row per effect size (several per study) with metafor's columns for
``measure`` (``escalc``) and the grouping columns the ``random`` formula names. Rows whose
effect size cannot be computed are left out with a warning (as :func:`pool_file`); the fit is
:func:`metareview.models.rma_mv` (metafor's ``rma.mv(yi, vi, random=, data=)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metareview._json import jsonable
from metareview.errors import InputError
from metareview.review.pool import (
    PoolOutcome,
    _drop_uncomputable,
    _effect_sizes,
    _in_file,
    read_study_csv,
)

__all__ = ["pool_file_mv"]


def pool_file_mv(
    path: str | Path,
    measure: str,
    *,
    random: str = "~ 1 | study/es",
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    mods: str | None = None,
    struct: str = "CS",
) -> PoolOutcome:
    """Compute effect sizes from a long CSV and fit a multilevel model to them.

    Parameters
    ----------
    path : str or Path
        The CSV (metafor-named columns, one effect size a row).
    measure : str
        The escalc measure (``GEN`` for given ``yi``/``vi``).
    random : str
        metafor's ``random`` formula, e.g. ``"~ 1 | study/es"``; its columns must be in the file.
    method : {"REML", "ML"}
    test : {"z", "t"}
    level : float
        Confidence level in percent.
    mods : str, optional
        Moderators, a formula of the file's columns (``"~ year"``, ``"~ 0 + outcome"``).
    struct : str
        The structure of an ``~ inner | outer`` term (metafor's ``struct``).

    Returns
    -------
    PoolOutcome
        ``json``: the fit's :meth:`~metareview.models.RMAMVResult.to_dict` with ``measure`` and
        ``model = "mv"``; ``model``: the :class:`~metareview.models.RMAMVResult`.

    Raises
    ------
    InputError
        An unreadable file, a column the formula names that the file lacks, bad numbers
        (naming the file row), or a model that cannot be fitted.
    """
    from metareview.models.multilevel import rma_mv

    path = Path(path)
    df = read_study_csv(path)
    es = _effect_sizes(df, measure, path)
    es = _drop_uncomputable(es, path)
    if es.empty:
        raise InputError("no row has a computable effect size; nothing to pool", file=str(path))
    try:
        res = rma_mv("yi", "vi", data=es.reset_index(drop=True), random=random, mods=mods,
                     struct=struct, method=method, test=test, level=level)
    except InputError as exc:
        raise _in_file(exc, es, path, measure) from exc
    out: dict[str, Any] = {"model": "mv", "measure": measure, **res.to_dict()}
    return PoolOutcome(jsonable(out), res)
