"""review stage of metareview: a review run end to end, from the project store to a result.

* :mod:`~metareview.review.store` — the review as its project store holds it (included studies,
  their assembled data, the study selection) and :func:`~metareview.review.store.analyse_project`;
* :mod:`~metareview.review.analyse` — effect sizes and pooled analyses per protocol outcome;
* :mod:`~metareview.review.result` — the typed result every view (JSON, report) is made from;
* :mod:`~metareview.review.folder` — a review kept as files (the bundled example), imported into
  a project store and run through the same path.
"""
