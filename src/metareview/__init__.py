"""metareview: a systematic review of clinical evidence, from the search to the pooled answer.

The public API follows R's metafor: :func:`escalc` turns raw study data into effect sizes
``yi``/``vi``; :func:`rma` pools them and returns an immutable result with ``.summary()`` and
``.to_dict()``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
