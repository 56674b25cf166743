"""The root command group, lazy: ``metareview --help`` lists every command without importing one.

typer builds a click command from each registered function's signature, so a command exists
only once its module is imported. :class:`LazyGroup` lists the commands of
:data:`metareview.cli.COMMANDS` in that order whether or not their modules are loaded; for the
root help it shows each unloaded command by the help text recorded in
:data:`metareview.cli._help.HELP` (a test keeps that table equal to the commands' own help, so
the listing is the same as with every module imported). Anything else that asks for an unloaded
command (running it, its own ``--help``) imports its module and gets the real command.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["LazyGroup"]


class LazyGroup(TyperGroup):
    """A :class:`typer.core.TyperGroup` whose commands are imported on demand."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        from metareview.cli import COMMANDS

        order = [name for names in COMMANDS.values() for name in names]
        loaded = super().list_commands(ctx)
        return order + [name for name in loaded if name not in order]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        from metareview.cli import COMMANDS
        from metareview.cli._help import HELP

        module = next((mod for mod, names in COMMANDS.items() if cmd_name in names), None)
        if module is None:
            return None
        if self._listing and cmd_name in HELP:
            return TyperCommand(cmd_name, short_help=HELP[cmd_name])
        importlib.import_module(f"metareview.cli.{module}")
        return self._real_command(cmd_name)

    def _real_command(self, cmd_name: str) -> Any:
        """The click command typer builds for ``cmd_name``, now that its module registered it."""
        from metareview.cli.app import app

        for info in app.registered_commands:
            assert info.callback is not None
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            if name == cmd_name:
                cmd = typer.main.get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=app.rich_markup_mode,
                )
                self.add_command(cmd, cmd_name)
                return cmd
        return None  # pragma: no cover - COMMANDS names a command its module does not define

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
