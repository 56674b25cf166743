"""The live search clients by name, and what a client must do (:class:`SearchClient`).

Storing a search's records and its PRISMA-S facts is the store's job
(:func:`metareview.store.ingest.search_into_project`); this module only finds the client.
"""

from __future__ import annotations

from typing import Any, Protocol

from metareview.errors import SourceError
from metareview.sources.clients.base import ProgressCallback, SearchResult

__all__ = ["RAW_FORMATS", "SearchClient", "make_client"]

#: The ``imports.format`` of each live source's records.
RAW_FORMATS = {"pubmed": "pubmed-xml", "ctgov": "ctgov-json", "europepmc": "europepmc-json"}


class SearchClient(Protocol):
    """What :func:`metareview.store.ingest.search_into_project` needs of a client."""

    source: str

    def search(
        self,
        query: str,
        *,
        max_records: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SearchResult: ...

    def close(self) -> None: ...


def make_client(source: str, *, base_url: str | None = None, **kw: Any) -> SearchClient:
    """The client for ``source`` (``pubmed``, ``ctgov`` or ``europepmc``).

    Raises
    ------
    SourceError
        Unknown source name.
    """
    from metareview.sources.clients import CLIENTS

    try:
        cls = CLIENTS[source]
    except KeyError:
        raise SourceError(
            f"unknown live source {source!r}; choose one of {', '.join(sorted(CLIENTS))}"
        ) from None
    client: SearchClient = cls(base_url, **kw) if base_url else cls(**kw)
    return client
