"""``metareview pool --model mv --random``: multilevel pooling of a long CSV.

The CSV is dat.konstantopoulos2011 (districts as ``study``, schools as ``es``) written from
tests/data/goldens_rma_mv.json; the expected numbers are metafor's ``rma.mv(yi, vi,
random = ~ 1 | district/school)`` from the same goldens (fit ``konst_reml``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metareview.cli import main

GOLDENS = json.loads((Path(__file__).resolve().parents[1] / "data" /
                      "goldens_rma_mv.json").read_text(encoding="utf-8"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def long_csv(tmp_path: Path) -> Path:
    d = pd.DataFrame(GOLDENS["datasets"]["konstantopoulos2011"]["columns"])
    d = d.drop(columns=["study"]).rename(columns={"district": "study", "school": "es"})
    path = tmp_path / "long.csv"
    d.to_csv(path, index=False)
    return path


def test_pool_model_mv_prints_metafors_model(capsys: pytest.CaptureFixture[str],
                                             long_csv: Path) -> None:
    code, out, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--model", "mv",
                          "--random", "~ 1 | study/es")
    assert code == 0, err
    ref = GOLDENS["fits"]["konst_reml"]["print"].splitlines()
    lines = out.rstrip("\n").splitlines()
    # metafor's printout line for line, but for the factor names (district -> study, ...)
    assert len(lines) == len(ref) - (ref[-1] == "")
    for ours, theirs in zip(lines, ref[: len(lines)], strict=True):
        if "district" in theirs or "factor" in theirs:  # column width follows the names
            assert ours.split()[:5] == theirs.split()[:5]
        else:
            assert ours == theirs


def test_pool_model_mv_json(capsys: pytest.CaptureFixture[str], long_csv: Path) -> None:
    code, out, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--model", "mv",
                          "--random", "~ 1 | study/es", "--json")
    assert code == 0, err
    got = json.loads(out)
    ref = GOLDENS["fits"]["konst_reml"]
    assert got["model"] == "mv" and got["k"] == 56
    np.testing.assert_allclose(got["beta"], [ref["beta"]], rtol=1e-6)
    np.testing.assert_allclose(got["sigma2"], ref["sigma2"], rtol=1e-6)
    assert got["s_names"] == ["study", "study/es"]


def test_pool_model_mv_errors_are_one_line(capsys: pytest.CaptureFixture[str],
                                           long_csv: Path) -> None:
    code, out, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--model", "mv",
                          "--random", "~ 1 | nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no column 'nope'" in err
    code, _, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--model", "xx")
    assert code == 2 and "--model must be uni or mv" in err
    code, _, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--model", "mv",
                        "--method", "DL")
    assert code == 2 and "REML" in err


def _mv_json(capsys: pytest.CaptureFixture[str], path: Path, *options: str) -> dict[str, Any]:
    code, out, err = _run(capsys, "pool", str(path), "--measure", "GEN", "--model", "mv",
                          *options, "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_pool_model_mv_mods_and_struct(capsys: pytest.CaptureFixture[str], long_csv: Path,
                                       tmp_path: Path) -> None:
    """``--mods`` and ``--struct``: metafor's ``rma.mv(yi, vi, random = ~ 1 | district/school,
    mods = ~ I(year - 1990))`` (fit ``konst_reml_year``) and ``rma.mv(yi, vi, random =
    ~ factor(study) | district)`` with CS (fit ``konst_mv_cs``) from the goldens."""
    got = _mv_json(capsys, long_csv, "--random", "~ 1 | study/es", "--mods", "~ I(year - 1990)")
    ref = GOLDENS["fits"]["konst_reml_year"]
    np.testing.assert_allclose(got["beta"], ref["beta"], rtol=1e-6)
    np.testing.assert_allclose(got["sigma2"], ref["sigma2"], rtol=1e-6)
    cs = tmp_path / "cs.csv"
    pd.DataFrame(GOLDENS["datasets"]["konstantopoulos2011"]["columns"]).to_csv(cs, index=False)
    got = _mv_json(capsys, cs, "--random", "~ factor(study) | district", "--struct", "CS")
    ref = GOLDENS["fits"]["konst_mv_cs"]
    np.testing.assert_allclose(got["tau2"], ref["tau2"], rtol=1e-6)
    np.testing.assert_allclose(got["rho"], ref["rho"], rtol=1e-6)
    code, _, err = _run(capsys, "pool", str(long_csv), "--measure", "GEN", "--mods", "~ year")
    assert code == 2 and "--model mv" in err
