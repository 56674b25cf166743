"""The command-line entry point: lazy command loading, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from metareview.cli import COMMANDS, app, load_commands, main


def test_commands_table_matches_what_the_modules_register() -> None:
    load_commands([])
    registered = {cmd.name or cmd.callback.__name__ for cmd in app.registered_commands}  # type: ignore[union-attr]
    listed = {name for names in COMMANDS.values() for name in names}
    assert registered == listed


def test_pool_does_not_import_the_heavy_stages() -> None:
    code = (
        "import sys\n"
        "from metareview.cli import main\n"
        "main(['pool', '--help'])\n"
        "print(sorted(m for m in ('sklearn', 'matplotlib', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("metareview ")
