"""A process killed (SIGKILL) in the middle of an import never leaves a half-written project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metareview.store import Project

SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"

_ARTICLE = (
    '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
    '<PMID Version="1">{pmid}</PMID><Article><Journal><JournalIssue><PubDate><Year>2010</Year>'
    "</PubDate></JournalIssue><Title>Journal of Tests</Title></Journal>"
    "<ArticleTitle>Generated article {pmid} on imatinib in systemic sclerosis</ArticleTitle>"
    "<Abstract><AbstractText>{filler}</AbstractText></Abstract>"
    "<AuthorList><Author><LastName>Author</LastName><Initials>A</Initials></Author></AuthorList>"
    "</Article></MedlineCitation></PubmedArticle>\n"
)


def write_pubmed_xml(path: Path, n: int, *, start: int = 10_000_000) -> None:
    """A PubMed efetch file of ``n`` generated articles (about 1 KB each)."""
    filler = "Imatinib mesylate was given at 400 mg/day. " * 18
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<PubmedArticleSet>\n')
        for i in range(n):
            out.write(_ARTICLE.format(pmid=start + i, filler=filler))
        out.write("</PubmedArticleSet>\n")


_IMPORTER = """
import sys
from metareview.store import Project
project = Project.open(sys.argv[1])
def progress(done, total):
    print(done, flush=True)
result = project.import_file(sys.argv[2], progress=progress)
print("finished", result.n_added, flush=True)
"""


@pytest.mark.slow
def test_sigkill_mid_import_leaves_project_as_before(tmp_path: Path) -> None:
    project_dir = tmp_path / "review"
    with Project.init(project_dir) as project:
        project.import_file(SOURCES / "pubmed_efetch.xml")
        before = {
            t: project.connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("records", "imports", "audit_log")
        }
    big = tmp_path / "big.xml"
    write_pubmed_xml(big, 12_000)
    size = big.stat().st_size

    killed_at = None
    for _attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _IMPORTER, str(project_dir), str(big)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            if line.startswith("finished"):
                break
            done = int(line)
            # Kill once a third of the file has been parsed and inserted (mid-transaction).
            if done > size // 3:
                os.kill(proc.pid, signal.SIGKILL)
                killed_at = done
                break
            assert time.monotonic() < deadline
        proc.wait(timeout=60)
        if killed_at is not None:
            break
    assert killed_at is not None, "the import finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL

    with Project.open(project_dir) as project:
        assert project.integrity_check() == "ok"
        after = {
            t: project.connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("records", "imports", "audit_log")
        }
        assert after == before
        # The same file imports completely afterwards: nothing of the killed attempt remains.
        result = project.import_file(big)
        assert result.n_added == 12_000
        assert project.count_records() == before["records"] + 12_000
