"""Where batches of fits run: in this process (``"numpy"``) or on a Dask cluster (``"dask"``).

:func:`run_chunks` maps one function over a list of chunks (each an independent piece of a batch
computation) and returns the results in order. With ``backend="dask"`` each chunk is one task on
a ``dask.distributed`` client: the one passed as ``client``, or a ``LocalCluster`` started for the
call and closed after it. Warnings raised inside a task are recorded there and raised again here,
once per distinct message, so both backends tell the user the same things. Dask is an optional
dependency (``pip install 'metareview[scale]'``); it is imported only when asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from metareview.errors import InputError

__all__ = ["BACKENDS", "Backend", "check_backend", "run_chunks"]

Backend = Literal["numpy", "dask"]
#: The backends :func:`run_chunks` knows.
BACKENDS: tuple[str, ...] = ("numpy", "dask")

T = TypeVar("T")
R = TypeVar("R")


def check_backend(backend: str, client: Any = None) -> str:
    """``backend`` checked (``"numpy"`` or ``"dask"``); a ``client`` needs the dask backend."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose numpy or dask", field="backend")
    if client is not None and backend != "dask":
        raise InputError("a client is used only with backend='dask'", field="client")
    if backend == "dask":
        try:
            import dask.distributed  # noqa: F401
        except ImportError as exc:  # pragma: no cover - dask is in the dev extra
            raise InputError(
                "backend='dask' needs dask.distributed: pip install 'metareview[scale]'",
                field="backend",
            ) from exc
    return backend


def _recorded(fn: Callable[[T], R], chunk: T) -> tuple[R, list[tuple[type[Warning], str]]]:
    """``fn(chunk)`` with the warnings it raises recorded (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(chunk)
    return out, [(w.category, str(w.message)) for w in caught]


def run_chunks(
    fn: Callable[[T], R],
    chunks: Sequence[T],
    *,
    backend: str = "numpy",
    client: Any = None,
    n_workers: int | None = None,
) -> list[R]:
    """``[fn(c) for c in chunks]``, in this process or as Dask tasks; results in chunk order.

    Parameters
    ----------
    fn : callable
        A module-level function (Dask pickles it by reference).
    chunks : sequence
        The independent pieces of work.
    backend : {"numpy", "dask"}
    client : dask.distributed.Client, optional
        Where the tasks run; by default a ``LocalCluster`` (``n_workers`` workers, one thread
        each) is started for this call and closed afterwards.
    n_workers : int, optional
        Workers of the default ``LocalCluster`` (Dask's default when None).
    """
    check_backend(backend, client)
    if backend == "numpy":
        return [fn(c) for c in chunks]
    from dask.distributed import Client, LocalCluster

    own = client is None
    cluster = None
    if own:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = client.map(_recorded, [fn] * len(chunks), chunks, pure=False)
        results = client.gather(futures)
    finally:
        if own:
            client.close()
            assert cluster is not None
            cluster.close()
    seen: set[tuple[type[Warning], str]] = set()
    out: list[R] = []
    for value, caught in results:
        out.append(value)
        for category, message in caught:
            if (category, message) not in seen:
                seen.add((category, message))
                warnings.warn(message, category, stacklevel=3)
    return out
