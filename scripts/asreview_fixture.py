"""Make the ASReview-written fixtures of tests/data/sources/ with ASReview LAB itself.

Run with ASReview's own interpreter (not metareview's; ASReview is no dependency)::

    python3 -m venv /tmp/asr && /tmp/asr/bin/pip install asreview==3.0.8
    /tmp/asr/bin/python scripts/asreview_fixture.py tests/data/sources

It writes a small RIS file of six invented records, creates an ASReview LAB project in oracle
mode on it (``asreview.Project.create`` + ``add_dataset``, in a temporary ``ASREVIEW_PATH``),
labels records as a reviewer would (``Database.label_record``: rows 0 and 2 relevant, row 1
irrelevant, row 3 irrelevant with a note; rows 4 and 5 not seen; a last ranking stored, which
the web app needs to list the unseen records), and downloads the labelled
dataset through the web app's own export endpoint (``GET /api/projects/ID/export_dataset``,
every collection, authentication off) as RIS and as CSV:
``asreview_export.ris`` and ``asreview_export.csv``. ``asreview_input.ris`` is the input.

``--check FILE ...`` instead reads files (e.g. ``metareview export --format asreview-csv``)
with ASReview's own loader and prints each record's title and the label ASReview sees::

    /tmp/asr/bin/python scripts/asreview_fixture.py --check export.csv export.ris
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

INPUT = """\
TY  - JOUR
TI  - Drug A versus placebo for chronic cough: a randomised trial
AU  - Smith, J
PY  - 2019
T2  - Journal of Invented Trials
DO  - 10.9999/jit.2019.001
AB  - Adults with chronic cough were randomised to drug A or placebo for 12 weeks.
ID  - 101
ER  -

TY  - JOUR
TI  - Cough in the community: a survey of general practice
AU  - Jones, K
PY  - 2018
T2  - Journal of Invented Surveys
AB  - A cross-sectional survey of coughing patients in 40 practices.
ID  - 102
ER  -

TY  - JOUR
TI  - Drug A for refractory chronic cough: a crossover trial
AU  - Brown, L
PY  - 2020
T2  - Journal of Invented Trials
AB  - Twenty-four patients received drug A and placebo in random order.
N1  - Pilot study
ID  - 103
ER  -

TY  - JOUR
TI  - Gabapentin in neuropathic pain: a cohort study
AU  - Green, P
PY  - 2017
T2  - Invented Pain Journal
AB  - A cohort of 300 patients treated with gabapentin.
ID  - 104
ER  -

TY  - JOUR
TI  - Drug B versus drug A for chronic cough
AU  - White, M
PY  - 2021
T2  - Journal of Invented Trials
AB  - A head-to-head randomised comparison over 8 weeks.
ID  - 105
ER  -

TY  - JOUR
TI  - Cough reflex sensitivity in healthy volunteers
AU  - Black, R
PY  - 2016
T2  - Invented Physiology
AB  - Capsaicin challenge in 30 volunteers.
ID  - 106
ER  -
"""

# RIS ends a record with "ER  - " (tag, two spaces, dash, space)
INPUT = INPUT.replace("ER  -\n", "ER  - \n")

#: dataset row -> label (1 relevant, 0 irrelevant); rows not listed stay unlabelled.
LABELS = {0: 1, 1: 0, 2: 1, 3: 0}
NOTES = {3: "not a cough study"}


def main(out: Path) -> int:
    tmp = Path(tempfile.mkdtemp())
    os.environ["ASREVIEW_PATH"] = str(tmp / "projects")
    (tmp / "projects").mkdir()
    from asreview import Project
    from asreview.webapp.app import create_app

    out.mkdir(parents=True, exist_ok=True)
    source = out / "asreview_input.ris"
    source.write_text(INPUT, encoding="utf-8")
    project = Project.create(tmp / "projects" / "fixture", project_id="fixture")
    project.add_dataset(source)
    with project.db as db:
        ids = db.input.get_df()[["record_id", "dataset_row"]]
        by_row = dict(zip(ids["dataset_row"], ids["record_id"], strict=True))
        for row, label in LABELS.items():
            db.label_record(int(by_row[row]), label)
        for row, note in NOTES.items():
            db.update_note(int(by_row[row]), note)
        # the web app lists unseen records from the model's last ranking: store one, as a
        # trained model would (here simply in dataset order)
        db.add_last_ranking(
            [int(by_row[r]) for r in sorted(by_row)], "nb", "max", "balanced", "tfidf",
            training_set=len(LABELS),
        )
    app = create_app(authentication=False, testing=True)
    client = app.test_client()
    for fmt in ("ris", "csv"):
        reply = client.get(
            "/api/projects/fixture/export_dataset",
            query_string={"format": fmt,
                          "collections": ["relevant", "not_seen", "irrelevant"]},
        )
        if reply.status_code != 200:
            print(reply.status_code, reply.data[:500], file=sys.stderr)
            return 1
        (out / f"asreview_export.{fmt}").write_bytes(reply.data)
        print(f"wrote {out / f'asreview_export.{fmt}'}")
    return 0


def check(files: list[str]) -> int:
    from asreview.data.loader import _from_file

    for fp in files:
        records = _from_file(fp, dataset_id="check")
        labels = [r.included for r in records]
        print(f"{fp}: {len(records)} records, {labels.count(1)} relevant, "
              f"{labels.count(0)} irrelevant, {labels.count(None)} not seen")
        for r in records:
            print(f"  {r.included!s:>5}  {r.title[:70]}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        raise SystemExit(check(sys.argv[2:]))
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/sources")))
