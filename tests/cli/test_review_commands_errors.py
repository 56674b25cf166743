"""The review commands (extract, link, analyse, report, export) on bad input: one error line,
exit code 2, nothing written to the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from metareview.cli import main


def _digest(project: Path) -> str:
    return hashlib.sha256((project / "project.sqlite").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["analyse", "{tmp}/nowhere"], "not a metareview project"),
        (["report", "{tmp}"], "not a metareview project"),
        (["extract", "{p}"], "give one of --template"),
        (["extract", "{p}", "--template", "a.csv", "--conflicts"], "give one of"),
        (["extract", "{p}", "--import", "{tmp}/missing.csv", "--reviewer", "A"], "no such file"),
        (["extract", "{p}", "--import", "{tmp}/binary.csv", "--reviewer", "A"], "not UTF-8"),
        (["extract", "{p}", "--import", "{tmp}/binary.csv"], "needs --reviewer"),
        (["extract", "{p}", "--template", "{tmp}/no/such/dir/form.csv"], "cannot write"),
        (["extract", "{p}", "--template", "{tmp}/form.txt"], "csv or xlsx"),
        (["link", "{p}"], "name the records"),
        (["link", "{p}", "9999"], "unknown record 9999"),
        (["link", "{p}", "pmid:1"], "matches no record"),
        (["link", "{p}", "--undo", "1"], "needs --reason"),
        (["export", "{p}", "--r-script", "{tmp}/no/such/dir/x.R"], "no such folder"),
        (["export", "{p}", "--records", "--format", "xml"], "--format"),
        (["export", "{p}", "--included"], "say what to export"),
        (["export", "{p}", "--decisions", "--extraction"], "say what to export"),
    ],
)
def test_one_line_and_nothing_written(
    e2e_project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    (tmp_path / "binary.csv").write_bytes(b"\x00\xff\xfe\x89PNG\r\n" * 10)
    before = _digest(e2e_project)
    argv = [a.format(p=e2e_project, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("metareview: error:") and err.count("\n") == 1, err
    assert says in err
    assert _digest(e2e_project) == before
