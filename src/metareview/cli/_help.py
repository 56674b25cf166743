# ruff: noqa: E501
"""The short help of every command, as ``metareview --help`` lists it (see ``cli/_group.py``).

Generated from the commands themselves; regenerate after changing a command's docstring::

    python -m metareview.cli._help

``tests/cli/test_main.py`` fails while this table differs from the commands' own help. A command
missing here is still listed correctly: its module is then imported for the listing.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    'version': "Print metareview's version.",
    'pool': 'Compute effect sizes from FILE and pool them (fixed or random effects).',
    'check-published': 'Check a published pooled result for internal consistency.\n\nReports the SE implied by the CI, whether the CI is symmetric on the model scale, whether the\np-value matches (normal or t with k-1 df), and likely sign or bound typos. Numbers are read\nas printed, so their last digit sets the rounding allowed. Exit code 0 either way; the\nverdict is in the output.',
    'simulate': 'Simulate screening FILE in the ranker\'s order; print WSS@95, WSS@100, RRF@10.\n\nEach seed draws one relevant and one irrelevant record as prior knowledge (as ASReview\'s\nsimulation does); the metrics and the curve cover the records read after them. WSS@r =\n(N - k_r)/N - (1 - r) (Cohen et al. 2006); RRF@10 = recall after reading 10% of the\nrecords. --json prints {"n", "n_included", "wss95", "wss100", "rrf10", "curve"} averaged\nover the seeds, with rrf10 as a proportion and curve rows (screened, found), plus\n"metrics" (recall@k%, WSS@x, ERF@x, ATD from one shared function), "stopping" (each\nstopping rule\'s recall and work saved when it says stop; with --stop-sample N also\n"sample", the rule on a random sample of N read first; with --stop-late also\n"late-sample", the rule on a random order after --stop-switch fires; "irrelevant-run" is\na heuristic with no recall guarantee), "remaining" (at 10/25/50%\nscreened: relevant records left, the ranker\'s estimate and a random-sample estimate with\nits 95% interval\'s coverage) and "per_seed".',
    'demo': 'Run the bundled review (imatinib in systemic sclerosis) and compare with the paper.',
    'run': 'Run the review in DIR (a review folder, or a project store): pool, report.',
    'init': 'Create a review project (a folder with project.sqlite); without --protocol, with a\ncommented protocol template to edit.',
    'import': "Import records from files (PubMed XML, MEDLINE, RIS, CSV, ClinicalTrials.gov, Europe PMC,\ntext pages); ASReview's labels (CSV included/label_included, RIS notes) become title/abstract\ndecisions.",
    'protocol': "Print the project's protocol and its amendments (or replace it with --replace).",
    'screen': "Screen records one at a time in the ranker's order (interactive).",
    'decide': 'Import decisions from a CSV file, all in one transaction (all or nothing).',
    'export': 'Export project data: --records, --decisions, --extraction (CSV), --r-script FILE.R, or\n--format asreview-csv|asreview-ris (records labelled for ASReview LAB).',
    'conflicts': "Dual screening: conflicts to resolve and agreement (Cohen's kappa, percent) per stage.",
    'resolve': 'Record the agreed decision on a conflict between reviewers.',
    'retrieval': 'Mark reports whose full text could not be retrieved (PRISMA: reports not retrieved).',
    'remove-record': 'Remove records before screening for a stated reason (PRISMA: removed for other reasons).',
    'prisma': 'Write the PRISMA 2020 flow diagram (SVG, PNG) and its counts (JSON).',
    'search': 'Search a live source and store the records with the query, date and count (PRISMA-S).\n\nPubMed is searched through the NCBI E-utilities (3 requests/s, 10 with $NCBI_API_KEY).\nEvery search is bounded: a total --deadline, --max-response-mb per reply (after\ndecompression), same-host redirects only, a --max-retry-after ceiling; retries are said on\nstderr.',
    'dedupe': 'Link records that report the same study (PMID, DOI, NCT id, then title/year/author).',
    'extract': 'Extract study data: write the form, import it, list conflicts, fill from registries.',
    'link': 'Link reports of one study by hand (audited); --undo LINK_ID takes a link back.',
    'analyse': 'Pool every protocol outcome from the stored extraction.',
    'report': 'Write the HTML report of the review from its project store.',
    'grade': "GRADE certainty per outcome: suggestions with their rules, reviewers' ratings.",
    'sof': "Write the summary-of-findings table (GRADEpro's layout).",
    'serve': 'Serve the project as a local web app (screening, extraction, analysis, report).',
    'rob': 'Assess risk of bias: write the form, import it, list assessments and conflicts.',
}


def current_help() -> dict[str, str]:
    """Each command's short help, with every command module imported."""
    import typer

    from metareview.cli import COMMANDS, app, load_commands

    load_commands([])
    group = typer.main.get_command(app)
    names = [name for names in COMMANDS.values() for name in names]
    out = {}
    for name in names:
        cmd = group.commands[name]  # type: ignore[attr-defined]
        out[name] = cmd.short_help or cmd.help or ""
    return out


def _write() -> None:  # pragma: no cover - a maintenance script
    """Rewrite the ``HELP = {...}`` block of this file from :func:`current_help`."""
    from pathlib import Path

    path = Path(__file__)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("HELP: dict[str, str] = {"))
    end = next(i for i in range(start, len(lines)) if lines[i].rstrip().endswith("}"))
    body = "".join(f"    {name!r}: {help_!r},\n" for name, help_ in current_help().items())
    lines[start : end + 1] = [f"HELP: dict[str, str] = {{\n{body}}}\n"]
    path.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    _write()
