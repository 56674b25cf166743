"""The one exception tree of metareview.

Every error a user can cause derives from :class:`MetareviewError`. The command line turns any of
them into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceError",
    "ConvergenceWarning",
    "InputError",
    "InputErrors",
    "MetareviewError",
    "MetareviewWarning",
    "ProtocolError",
    "SourceError",
    "StoreError",
]


class MetareviewError(Exception):
    """Base class of every error metareview raises on purpose."""


class InputError(MetareviewError, ValueError):
    """Bad input data; says where: file, row and field when they are known.

    ``row`` is 1-based as a person counts data rows in a file (the header is not a row).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"column {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InputErrors(InputError):
    """Several problems in one input, all found in one pass (a form a person fixes at once).

    ``problems`` are the located :class:`InputError` s; ``file``/``row``/``field`` are the first
    one's; ``str()`` gives them all, separated by "; ".
    """

    def __init__(self, problems: list[InputError]) -> None:
        if not problems:
            raise ValueError("InputErrors needs at least one problem")
        self.problems = list(problems)
        first = problems[0]
        super().__init__(first.message, file=first.file, row=first.row, field=first.field)

    def __str__(self) -> str:
        head = f"{len(self.problems)} problems: " if len(self.problems) > 1 else ""
        return head + "; ".join(InputError.__str__(p) for p in self.problems)


class ConvergenceError(MetareviewError, RuntimeError):
    """An iterative estimator did not converge.

    ``init``: where the estimator can resume (``rma_mv``: the ``control`` start values of the
    estimates reached, metafor's ``restart``), else None."""

    init: dict[str, list[float]] | None = None


class StoreError(MetareviewError):
    """The project store cannot do what was asked (missing project, bad migration, conflict)."""


class SourceError(MetareviewError):
    """A source (file importer or live client) failed: malformed payload, HTTP error, paging."""


class ProtocolError(MetareviewError):
    """The protocol file does not validate; the message names the line and field."""


class MetareviewWarning(UserWarning):
    """Base class of metareview's warnings (e.g. rows left out of an analysis)."""


class ConvergenceWarning(MetareviewWarning):
    """An estimator converged only loosely or hit a boundary."""
