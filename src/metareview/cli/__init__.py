"""The command line: thin, every command calls the Python API of its stage.

Each command lives in its own module under ``metareview.cli`` and registers itself on
:data:`metareview.cli.app.app`; :data:`_COMMAND_MODULES` lists them. Any
:class:`~metareview.errors.MetareviewError` becomes one line on stderr and exit code 2.
Tests call :func:`main` with an argument list and read the exit code it returns.
"""

from __future__ import annotations

import importlib
import sys

from metareview.cli.app import app
from metareview.errors import MetareviewError

__all__ = ["app", "main"]

# One module per command group; each registers its commands on ``app`` when imported.
_COMMAND_MODULES: tuple[str, ...] = (
    "version",
    "pool",
    "published",
    "simulate",
    "demo",
    "project",
    "screening",
    "search",
    "dedupe",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"metareview.cli.{_name}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code.

    0 success, 2 a user error (bad input, usage), 130 interrupted.
    """
    try:
        app(args=argv, prog_name="metareview")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    except MetareviewError as exc:
        print(f"metareview: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("metareview: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
