"""Import a large generated file into a fresh project: time, throughput, peak memory, size.

Generates a PubMed efetch XML, a RIS and a MEDLINE file of about ``--mb`` megabytes each in a
temporary folder (deleted afterwards), imports each into its own new project through
:meth:`metareview.store.Project.import_file` (one transaction per file), and prints wall time,
records per second, the process's peak resident memory (``ru_maxrss``) and the database size.
Peak memory is measured in a fresh child process per format so one import does not hide
another's. Reproduce with::

    nice .venv/bin/python benchmarks/import_large.py --mb 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_FILLER = "Imatinib mesylate 400 mg/day was compared with placebo in systemic sclerosis. " * 9


def write_pubmed(path: Path, target_bytes: int) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<PubmedArticleSet>\n')
        while out.tell() < target_bytes:
            n += 1
            out.write(
                f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
                f'<PMID Version="1">{n}</PMID><Article><Journal><JournalIssue><PubDate>'
                f"<Year>{1990 + n % 30}</Year></PubDate></JournalIssue><Title>Journal {n % 97}"
                f"</Title></Journal><ArticleTitle>Generated trial {n} of imatinib</ArticleTitle>"
                f"<Abstract><AbstractText>{_FILLER}</AbstractText></Abstract><AuthorList>"
                f"<Author><LastName>Roe</LastName><Initials>J</Initials></Author></AuthorList>"
                f"</Article></MedlineCitation><PubmedData><ArticleIdList><ArticleId "
                f'IdType="doi">10.9999/gen.{n}</ArticleId></ArticleIdList></PubmedData>'
                f"</PubmedArticle>\n"
            )
        out.write("</PubmedArticleSet>\n")
    return n


def write_ris(path: Path, target_bytes: int) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < target_bytes:
            n += 1
            out.write(
                f"TY  - JOUR\nID  - E{n}\nTI  - Generated trial {n} of imatinib\n"
                f"AU  - Roe, J\nPY  - {1990 + n % 30}\nJO  - Journal {n % 97}\n"
                f"AB  - {_FILLER}\nDO  - 10.9999/gen.{n}\nER  - \n\n"
            )
    return n


def write_medline(path: Path, target_bytes: int) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < target_bytes:
            n += 1
            out.write(
                f"PMID- {n}\nTI  - Generated trial {n} of imatinib\nAB  - {_FILLER}\n"
                f"AU  - Roe J\nDP  - {1990 + n % 30}\nJT  - Journal {n % 97}\n"
                f"LID - 10.9999/gen.{n} [doi]\n\n"
            )
    return n


_CHILD = """
import json, resource, sys, time
from metareview.store import Project
project = Project.init(sys.argv[1])
start = time.perf_counter()
result = project.import_file(sys.argv[2])
seconds = time.perf_counter() - start
project.close()
print(json.dumps({"n_added": result.n_added, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of each generated file")
    parser.add_argument("--formats", default="pubmed-xml,ris,medline")
    args = parser.parse_args(argv)
    writers = {"pubmed-xml": write_pubmed, "ris": write_ris, "medline": write_medline}
    print(f"python {sys.version.split()[0]}; file size target {args.mb:.0f} MB")
    print(
        f"{'format':<11} {'file MB':>8} {'records':>9} {'seconds':>8} {'rec/s':>8} "
        f"{'peak RSS MB':>12} {'db MB':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            data = Path(tmp) / f"big.{fmt}"
            n = writers[fmt](data, int(args.mb * 1024 * 1024))
            project = Path(tmp) / f"project-{fmt}"
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(project), str(data)],
                check=True,
                capture_output=True,
                text=True,
            )
            stats = json.loads(out.stdout)
            assert stats["n_added"] == n, (stats, n)
            db_mb = sum(p.stat().st_size for p in project.glob("project.sqlite*")) / 2**20
            print(
                f"{fmt:<11} {data.stat().st_size / 2**20:>8.1f} {n:>9} "
                f"{stats['seconds']:>8.1f} {n / stats['seconds']:>8.0f} "
                f"{stats['peak_rss_mb']:>12.0f} {db_mb:>8.1f}"
            )
            data.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
