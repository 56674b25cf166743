"""The report in a real browser: Debian's headless Chromium renders the bundled review's report.

Checks that the page loads with no console message at all (the report has no script, and its
Content-Security-Policy blocks any load, so any message is a CSP violation or an error), that
the figures are in the rendered DOM, and that they are drawn: the screenshot must contain the
prediction-interval red of the mRSS forest plot and the grey of the funnel plot's background.
The screenshot is kept as ``test-artifacts/report.png`` (git-ignored) for a person to look at.

Chromium is driven through its command line (``--dump-dom``, ``--screenshot``), so no browser
download or extra Python package is needed.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from metareview.report.html import write_report
from metareview.review.folder import bundled_example, run_folder

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PI_RED = (176, 58, 46)  # plots._PI_COLOUR "#b03a2e"
FUNNEL_GREY = (217, 217, 217)  # funnel_plot background "#d9d9d9"
PRISMA_YELLOW = (242, 193, 78)  # screening.prisma._HEAD_FILL "#f2c14e", the template's header

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed"
    ),
]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
            ],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    return write_report(run_folder(bundled_example(), out), out)


def test_renders_without_console_messages(report: Path) -> None:
    proc = chromium("--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = proc.stdout
    # Every pooled outcome has its forest plot in the rendered DOM; mRSS (k = 3) a funnel.
    for slug in ("mrss", "dropout_ae", "sae"):
        figure = re.search(rf'<figure class="forest" id="forest-{slug}">(.*?)</figure>', dom, re.S)
        assert figure is not None and "<svg" in figure.group(1), slug
    assert re.search(r'id="funnel-mrss">\s*<svg', dom)
    assert "Prediction interval" in dom
    # The study selection: the PRISMA 2020 flow diagram drawn from the project store.
    assert re.search(r'<figure class="prisma" id="prisma-flow">\s*<svg', dom)
    assert "Identification of studies via databases and registers" in dom


def test_screenshot_shows_plots(report: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    proc = chromium(f"--screenshot={shot}", "--window-size=1280,16000", report.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = np.rint(mpimg.imread(shot)[:, :, :3] * 255).astype(int)
    red = (pixels == PI_RED).all(axis=2)
    grey = (pixels == FUNNEL_GREY).all(axis=2)
    # The prediction-interval bar: a few hundred red pixels (3 px x ~200 px at 96 dpi).
    assert red.sum() > 200
    # The funnel background: a block of rows each with more than 100 grey pixels.
    assert (grey.sum(axis=1) > 100).sum() > 150
    # The PRISMA diagram's yellow header bar: a band of rows, each with hundreds of its pixels.
    yellow_rows = np.flatnonzero((pixels == PRISMA_YELLOW).all(axis=2).sum(axis=1) > 200)
    assert yellow_rows.size > 15
    # Keep the study selection section on its own for a person to look at.
    top = max(int(yellow_rows[0]) - 250, 0)
    mpimg.imsave(ARTIFACTS / "report-selection.png", pixels[top : top + 1500] / 255.0)
