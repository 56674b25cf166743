"""review stage of metareview: a review run end to end, from the project store to a result.

* :mod:`~metareview.review.store` — the review as its project store holds it (included studies,
  their assembled data, the study selection) and :func:`analyse_project`;
* :mod:`~metareview.review.analyse` — effect sizes and pooled analyses per protocol outcome;
* :mod:`~metareview.review.result` — :class:`ReviewResult`, the typed result every view (JSON,
  report) is made from;
* :mod:`~metareview.review.extract` — the extraction form, its import, conflicts, registry fill;
* :mod:`~metareview.review.folder` — a review kept as files (the bundled example), imported into
  a project store and run through the same path (:func:`run_folder`);
* :mod:`~metareview.review.pool` — a study-level CSV pooled (``metareview pool``).

Names are loaded on first use (PEP 562), so importing this package imports none of its modules
(and never matplotlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metareview._lazy import attach

if TYPE_CHECKING:
    from metareview.review.extract import (
        fill_from_registry,
        import_extraction,
        write_template,
    )
    from metareview.review.folder import bundled_example, import_folder, run_folder
    from metareview.review.pool import (
        ESCALC_COLUMNS,
        JSON_KEYS,
        PoolOutcome,
        pool_file,
        read_study_csv,
        to_json,
    )
    from metareview.review.result import ReviewResult
    from metareview.review.store import analyse_project, load_review

_EXPORTS: dict[str, str] = {
    "ESCALC_COLUMNS": "pool",
    "JSON_KEYS": "pool",
    "PoolOutcome": "pool",
    "pool_file": "pool",
    "read_study_csv": "pool",
    "to_json": "pool",
    "ReviewResult": "result",
    "analyse_project": "store",
    "load_review": "store",
    "bundled_example": "folder",
    "import_folder": "folder",
    "run_folder": "folder",
    "write_template": "extract",
    "import_extraction": "extract",
    "fill_from_registry": "extract",
}

__all__ = [
    "ESCALC_COLUMNS",
    "JSON_KEYS",
    "PoolOutcome",
    "ReviewResult",
    "analyse_project",
    "bundled_example",
    "fill_from_registry",
    "import_extraction",
    "import_folder",
    "load_review",
    "pool_file",
    "read_study_csv",
    "run_folder",
    "to_json",
    "write_template",
]
__getattr__, __dir__ = attach(__name__, _EXPORTS)
