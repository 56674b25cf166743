"""backend="dask": gosh() (of rma and rma_reg fits) and rma_batch() on a dask.distributed
cluster equal the numpy backend.

Both backends cut the same chunks (``gosh.CHUNK_ROWS`` subsets, ``batch.CHUNK_GROUPS`` analyses);
the chunk sizes are made small here so that several tasks run. Skips when dask[distributed]
(the ``scale`` extra, included in ``dev``) is not installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from goldens_helpers import load_goldens

from metareview.errors import InputError
from metareview.models import rma, rma_batch
from metareview.models.gosh import gosh

distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] not installed")
BCG = load_goldens("goldens_gosh.json")["datasets"]["bcg"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_gosh_on_dask_equals_numpy(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    res = rma(BCG["yi"], BCG["vi"], method="REML")
    module = importlib.import_module("metareview.models.gosh")  # the module, not the function
    monkeypatch.setattr(module, "CHUNK_ROWS", 1000)  # 8191 subsets: 9 tasks
    ref = gosh(res)
    out = gosh(res, backend="dask", client=client)
    np.testing.assert_array_equal(out.incl, ref.incl)
    np.testing.assert_array_equal(out.res.to_numpy(), ref.res.to_numpy())
    # and each row is the rma() fit of its subset (metafor's values: test_gosh.py)
    sel = out.incl[4000]
    assert out.res["estimate"].iloc[4000] == pytest.approx(
        rma(np.array(BCG["yi"])[sel], np.array(BCG["vi"])[sel]).beta, rel=1e-10
    )


def test_gosh_of_a_meta_regression_on_dask_equals_numpy(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gosh() of rma_reg(dat.bcg[1:10] ~ ablat, REML) (the data of test_gosh.py's metafor
    goldens, goldens_gosh_reg.json): all 1,013 subsets of >= 2 trials in 11 chunks of 100 on
    the client, bit for bit the numpy backend's, NaN rows included; one row checked against
    rma_reg() refitted to its subset."""
    from metareview.models import rma_reg

    gr = load_goldens("goldens_gosh_reg.json")["data"]
    data = pd.DataFrame({m: gr[m] for m in ("yi", "vi", "ablat")})
    res = rma_reg(data["yi"], data["vi"], mods="ablat", data=data, method="REML")
    monkeypatch.setattr(importlib.import_module("metareview.models.gosh"), "CHUNK_ROWS", 100)
    ref = gosh(res)
    out = gosh(res, backend="dask", client=client)
    assert len(out) == 1013 and (~out.fit).sum() == (~ref.fit).sum() > 0
    np.testing.assert_array_equal(out.incl, ref.incl)
    np.testing.assert_array_equal(out.fit, ref.fit)
    np.testing.assert_array_equal(out.res.to_numpy(), ref.res.to_numpy())  # NaN == NaN here
    i = 700
    sel = out.incl[i]
    one = rma_reg(data["yi"][sel], data["vi"][sel], mods="ablat",
                  data=data[sel].reset_index(drop=True), method="REML")  # fmt: skip
    assert out.res["ablat"].iloc[i] == pytest.approx(one.beta[1], rel=1e-10)
    assert out.res["tau2"].iloc[i] == pytest.approx(one.tau2, rel=1e-8, abs=1e-12)


def test_gosh_of_a_meta_regression_one_at_a_time_on_dask_equals_numpy(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-subset-at-a-time path (the fallback of the stacked fits) maps over the same
    chunks: 200 random subsets of dat.bcg ~ ablat (DL) in 4 tasks, identical on both backends."""
    from metareview.models import rma_reg
    from metareview.models.gosh import _gosh_reg

    gr = load_goldens("goldens_gosh_reg.json")["data"]
    data = pd.DataFrame({m: gr[m] for m in ("yi", "vi", "ablat")})
    res = rma_reg(data["yi"], data["vi"], mods="ablat", data=data, method="DL")
    monkeypatch.setattr(importlib.import_module("metareview.models.gosh"), "CHUNK_ROWS", 50)
    ref = _gosh_reg(res, 200, 7, batched=False)
    out = _gosh_reg(res, 200, 7, batched=False, backend="dask", client=client)
    np.testing.assert_array_equal(out.incl, ref.incl)
    np.testing.assert_array_equal(out.res.to_numpy(), ref.res.to_numpy())
    assert out.fit.sum() > 150


def test_gosh_of_a_weighted_meta_regression_is_refused_on_either_backend(client: Any) -> None:
    from metareview.models import rma_reg

    gr = load_goldens("goldens_gosh_reg.json")["data"]
    res = rma_reg(gr["yi"], gr["vi"], mods=np.asarray(gr["ablat"], float)[:, None],
                  method="GENQ", weights=np.ones(len(gr["yi"])))  # fmt: skip
    with pytest.raises(InputError, match="user weights"):
        gosh(res, backend="dask", client=client)


@pytest.mark.filterwarnings("ignore::metareview.errors.ConvergenceWarning")
def test_rma_batch_on_dask_equals_numpy(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    k = rng.integers(1, 9, n)
    g = np.repeat(np.arange(n), k)
    df = pd.DataFrame(
        {"g": g, "yi": rng.normal(0.2, 0.4, g.size), "vi": rng.uniform(0.01, 0.3, g.size)}
    )
    monkeypatch.setattr(importlib.import_module("metareview.models.batch"), "CHUNK_GROUPS", 300)
    with pytest.warns(UserWarning, match="k = 1"):
        ref = rma_batch(df, by="g")
    with pytest.warns(UserWarning, match="k = 1"):
        out = rma_batch(df, by="g", backend="dask", client=client)
    pd.testing.assert_frame_equal(out, ref, check_exact=True)
    one = df[df["g"] == 5]
    assert out.loc[5, "tau2"] == pytest.approx(rma(one["yi"], one["vi"]).tau2, rel=1e-8, abs=1e-12)


def test_a_client_needs_the_dask_backend(client: Any) -> None:
    with pytest.raises(InputError, match="backend='dask'"):
        gosh(rma(BCG["yi"], BCG["vi"]), client=client)
