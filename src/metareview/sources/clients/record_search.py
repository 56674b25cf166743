"""Run a live search and keep its records and its PRISMA-S facts in a project, in one transaction.

PRISMA-S (Rethlefsen et al. 2021, *Syst Rev* 10:39) asks a review to report, for each database,
the exact query, the date it was run and the number of records it returned. The records go to the
project's ``records`` table through :meth:`metareview.store.Project.add_records` (one ``imports``
row), and a ``searches`` row beside it keeps the source, query, endpoint, time, the number of hits
the source reported and the number retrieved. Both commit together or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from metareview.errors import SourceError
from metareview.sources.clients.base import ProgressCallback, SearchResult

if TYPE_CHECKING:
    pass

__all__ = ["RAW_FORMATS", "SearchClient", "make_client"]

#: The ``imports.format`` of each live source's records.
RAW_FORMATS = {"pubmed": "pubmed-xml", "ctgov": "ctgov-json", "europepmc": "europepmc-json"}


class SearchClient(Protocol):
    """What :func:`search_into_project` needs of a client."""

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
