"""The command line: thin, every command calls the Python API of its stage.

Each command lives in its own module under ``metareview.cli`` and registers itself on
:data:`metareview.cli.app.app`; :data:`COMMANDS` lists the modules and their commands. Any
:class:`~metareview.errors.MetareviewError` becomes one line on stderr and exit code 2.
Tests call :func:`main` with an argument list and read the exit code it returns.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import TYPE_CHECKING, Any

from metareview.errors import MetareviewError

if TYPE_CHECKING:  # typer loads with the first command that needs it (see _Package)
    from metareview.cli.app import app

__all__ = ["COMMANDS", "app", "load_commands", "main"]

#: Each command module and the commands it registers on ``app``. ``main`` imports only the module
#: of the command being run, so ``metareview pool`` does not pay for importing matplotlib,
#: scikit-learn or httpx; help and unknown commands load them all.
COMMANDS: dict[str, tuple[str, ...]] = {
    "version": ("version",),
    "pool": ("pool",),
    "published": ("check-published",),
    "simulate": ("simulate",),
    "demo": ("demo", "run"),
    "project": ("init", "import"),
    "screening": (
        "protocol", "screen", "decide", "export", "conflicts", "resolve", "retrieval",
        "remove-record", "prisma",
    ),
    "search": ("search",),
    "dedupe": ("dedupe",),
    "extract": ("extract",),
    "link": ("link",),
    "analyse": ("analyse", "report"),
    "grade": ("grade",),
    "sof": ("sof",),
    "serve": ("serve",),
    "rob": ("rob",),
}  # fmt: skip


def load_commands(argv: list[str] | None = None) -> None:
    """Register the command(s) ``argv`` asks for on ``app`` (all of them when it names none)."""
    name = next((arg for arg in (argv or []) if not arg.startswith("-")), None)
    modules = [mod for mod, names in COMMANDS.items() if name in names] or list(COMMANDS)
    for module in modules:
        importlib.import_module(f"metareview.cli.{module}")


def _load_for(argv: list[str]) -> None:
    """Import what running ``argv`` needs: the named command's module; for the root help or an
    unknown command, only modules with a command missing from the help table
    (:mod:`metareview.cli._help`), since :class:`~metareview.cli._group.LazyGroup` lists the
    others without them."""
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    if any(name in names for names in COMMANDS.values()):
        load_commands(argv)
        return
    from metareview.cli._help import HELP

    for module, names in COMMANDS.items():
        if any(n not in HELP for n in names):
            importlib.import_module(f"metareview.cli.{module}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code.

    0 success, 2 a user error (bad input, usage), 130 interrupted.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _run_plain_pool(args[1:]) if args[:1] == ["pool"] else None
        if code is not None:
            return code
        from metareview.cli.app import app

        _load_for(args)
        app(args=args, prog_name="metareview")
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


def _run_plain_pool(argv: list[str]) -> int | None:
    """Run ``metareview pool`` without typer when ``argv`` holds only its plain options
    (:func:`metareview.cli._pool.parse`) and return the exit code; None when typer has to parse
    them."""
    from metareview.cli import _pool

    kwargs = _pool.parse(argv)
    if kwargs is None:
        return None
    try:
        _pool.run(**kwargs)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (``| head``): exit 1 quietly, as click does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


class _Package(types.ModuleType):
    """This package, whose ``app`` (the typer application) is imported on first use, so that
    importing :mod:`metareview.cli` does not import typer (Python's documented module
    ``__class__`` assignment)."""

    @property
    def app(self) -> Any:
        from metareview.cli.app import app

        return app

    @app.setter
    def app(self, value: Any) -> None:
        """Importing the submodule ``metareview.cli.app`` sets it here: ``app`` stays the
        typer application."""


sys.modules[__name__].__class__ = _Package


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
