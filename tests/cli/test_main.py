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


def test_help_table_matches_the_commands_own_help() -> None:
    # metareview --help lists unloaded commands from cli/_help.py: it must say what they say.
    # Regenerate with: python -m metareview.cli._help
    from metareview.cli._help import HELP, current_help

    assert current_help() == HELP


def test_root_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from metareview.cli import main\n"
        "main(['--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('metareview.cli.')\n"
        "             and m not in ('metareview.cli.app', 'metareview.cli._group',\n"
        "                           'metareview.cli._help')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "remove-record" in out.stdout and "check-published" in out.stdout


def test_every_command_runs_when_loaded_on_demand() -> None:
    # app() without main(): the lazy group imports the command's module itself.
    code = (
        "import sys\n"
        "from metareview.cli import app\n"
        "try:\n"
        "    app(args=['version'], prog_name='metareview')\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("metareview ")
