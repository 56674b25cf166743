"""Run a live search and keep its records and its PRISMA-S facts in a project, in one transaction.

PRISMA-S (Rethlefsen et al. 2021, *Syst Rev* 10:39) asks a review to report, for each database,
the exact query, the date it was run and the number of records it returned. The records go to the
project's ``records`` table through :meth:`metareview.store.Project.add_records` (one ``imports``
row), and a ``searches`` row beside it keeps the source, query, endpoint, time, the number of hits
the source reported and the number retrieved. Both commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from metareview.errors import SourceError
from metareview.sources.clients.base import ProgressCallback, SearchResult

if TYPE_CHECKING:
    from metareview.store import Project
    from metareview.store.project import ImportResult, Transaction

__all__ = ["RAW_FORMATS", "SearchClient", "StoredSearch", "make_client", "search_into_project"]

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


@dataclass(frozen=True, slots=True)
class StoredSearch:
    """A search as stored: its ``searches`` row id, what the source returned, the import."""

    search_id: int
    result: SearchResult
    imported: ImportResult


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


def search_into_project(
    project: Project,
    client: SearchClient,
    query: str,
    *,
    max_records: int | None = None,
    actor: str | None = None,
    progress: ProgressCallback | None = None,
    store_progress: Callable[[int], None] | None = None,
) -> StoredSearch:
    """Search with ``client`` and store the records and the search's PRISMA-S row together.

    Nothing is written when the search fails; the download finishes before the transaction
    starts, so the project is locked only for the write.

    Raises
    ------
    SourceError
        The search failed (HTTP error after retries, malformed reply, ...).
    """
    if not query.strip():
        raise SourceError("the search query is empty")
    if max_records is not None and max_records < 1:
        raise SourceError("--max must be at least 1")
    result = client.search(query, max_records=max_records, progress=progress)
    search_id = 0

    def add_search_row(tx: Transaction, import_id: int) -> None:
        nonlocal search_id
        search_id = tx.insert(
            "searches",
            {
                "import_id": import_id,
                "source": result.source,
                "query": result.query,
                "url": result.url,
                "searched_at": result.searched_at,
                "n_reported": result.count,
                "n_retrieved": len(result.records),
                "max_records": max_records,
                "details_json": json.dumps(
                    {**result.details, "requests": result.requests}, ensure_ascii=False
                ),
            },
            action="search",
        )

    imported = project.add_records(
        result.records,
        source=result.source,
        query=result.query,
        format=RAW_FORMATS.get(result.source, result.source),
        searched_at=result.searched_at,
        actor=actor,
        progress=store_progress,
        within=add_search_row,
    )
    return StoredSearch(search_id, result, imported)
