"""backend="dask": gosh() and rma_batch() on a dask.distributed cluster equal the numpy backend.

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
