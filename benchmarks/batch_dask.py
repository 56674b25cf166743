"""One million REML meta-analyses through ``rma_batch(..., backend="dask")`` on a LocalCluster.

Simulates ``--n`` analyses (k uniform on ``--kmin``..``--kmax``, within-study variances
0.01-0.5, tau^2 0-0.3), fits them with ``rma_batch(df, by="id", method="REML", backend="dask")``
on a ``LocalCluster`` of ``--workers`` worker processes (one thread each), then with the numpy
backend in this process, and prints the wall times, each worker's peak resident memory (its
``ru_maxrss``, which includes the ~100 MB of a Python process with NumPy and SciPy loaded), this
process's peak, and whether the two results are identical (every column, bit for bit).

Run it at low priority, and pass a smaller ``--n`` for a quick check::

    nice -n 10 .venv/bin/python benchmarks/batch_dask.py [--n 1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

import numpy as np
import pandas as pd


def make_data(n: int, kmin: int, kmax: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(kmin, kmax + 1, size=n)
    ids = np.repeat(np.arange(1, n + 1), k)
    tau2 = np.repeat(rng.uniform(0.0, 0.3, size=n), k)
    mu = np.repeat(rng.normal(0.0, 0.5, size=n), k)
    vi = rng.uniform(0.01, 0.5, size=ids.size)
    yi = rng.normal(mu, np.sqrt(vi + tau2))
    return pd.DataFrame({"id": ids, "yi": yi, "vi": vi})


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--kmin", type=int, default=3)
    parser.add_argument("--kmax", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    from dask.distributed import Client, LocalCluster

    from metareview.models import rma_batch
    from metareview.models.batch import CHUNK_GROUPS

    df = make_data(args.n, args.kmin, args.kmax, args.seed)
    print(f"data: {args.n} analyses, {len(df)} rows (k {args.kmin}-{args.kmax}), "
          f"chunks of {CHUNK_GROUPS} analyses")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    warnings.simplefilter("ignore")
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        t0 = time.perf_counter()
        on_dask = rma_batch(df, by="id", method="REML", backend="dask", client=client)
        dask_s = time.perf_counter() - t0
        peaks = client.run(_peak_rss_mb)
    print(f"rma_batch(backend='dask'), {args.workers} workers: {dask_s:8.2f} s wall "
          f"({args.n / dask_s:,.0f} analyses/s)")  # fmt: skip
    for worker, mb in sorted(peaks.items()):
        print(f"  peak memory of worker {worker}: {mb:7.1f} MB")
    t0 = time.perf_counter()
    on_numpy = rma_batch(df, by="id", method="REML")
    numpy_s = time.perf_counter() - t0
    print(f"rma_batch(backend='numpy'), this process: {numpy_s:8.2f} s wall")
    print(f"  peak memory of this process (data, padded arrays, both results): "
          f"{_peak_rss_mb():7.1f} MB")  # fmt: skip
    same = on_dask.columns.equals(on_numpy.columns) and all(
        np.array_equal(on_dask[c].to_numpy(), on_numpy[c].to_numpy(), equal_nan=True)
        for c in on_numpy.columns
    )
    print(f"results identical (every column, bit for bit): {same}")


if __name__ == "__main__":
    main()
