"""Where sources meet the store: files and live searches brought into a project.

``sources/`` parses files and fetches from live services and never touches the store; this
module is the one place their records enter it:

* :func:`import_file` detects (or takes) a file's format, parses it lazily with the importer of
  :mod:`metareview.sources.detect` and adds its records in one transaction
  (:meth:`metareview.store.Project.add_records`: the whole file or nothing);
* :func:`search_into_project` runs a live search and keeps its records and its PRISMA-S facts
  (Rethlefsen et al. 2021, *Syst Rev* 10:39: the exact query, the date, the hits reported and
  retrieved) in one transaction: a ``searches`` row beside the ``imports`` row.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from metareview.errors import InputError, SourceError
from metareview.sources.clients.base import ProgressCallback, SearchResult
from metareview.sources.clients.record_search import RAW_FORMATS, SearchClient
from metareview.sources.record import Record
from metareview.store.project import ImportResult, Project, Transaction, file_sha256

__all__ = ["StoredSearch", "import_file", "search_into_project"]


def import_file(
    project: Project,
    path: str | Path,
    *,
    source: str | None = None,
    format: str | None = None,
    query: str | None = None,
    encoding: str | None = None,
    column_map: Mapping[str, str] | None = None,
    actor: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    observe: Callable[[Record], None] | None = None,
    within: Callable[[Transaction, int], None] | None = None,
) -> ImportResult:
    """Import one file into ``project`` (see :meth:`metareview.store.Project.import_file`).

    ``observe`` is called with each parsed record, in file order, as it streams into the store;
    ``within(tx, import_id)`` runs inside the import's transaction after the records are written
    (:meth:`~metareview.store.Project.add_records`), so rows it adds commit or roll back with
    the records (e.g. the decisions a labelled file carries).
    """
    from metareview.sources.detect import detect_format, parser_for

    file = Path(path)
    if not file.is_file():
        raise InputError("file not found", file=str(file))
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown text encoding {encoding!r}", field="--encoding") from None
    size = file.stat().st_size
    digest = file_sha256(file)
    fmt = format or detect_format(file)
    parse = parser_for(fmt)
    options: dict[str, Any] = {"encoding": encoding}
    if column_map:
        if fmt != "csv":
            raise InputError(f"a column mapping applies to CSV files, not {fmt}", file=str(file))
        options["mapping"] = dict(column_map)
    with open(file, "rb") as raw:
        stream: BinaryIO = raw
        if progress is not None:
            stream = _ProgressReader(raw, size, progress)  # type: ignore[assignment]
        records: Iterator[Record] = parse(stream, file=str(file), **options)
        if observe is not None:
            records = _observed(records, observe)
        return project.add_records(
            records,
            source=source,
            origin_file=file,
            query=query,
            format=fmt,
            file_sha256=digest,
            size_bytes=size,
            actor=actor,
            within=within,
        )


def _observed(records: Iterator[Record], observe: Callable[[Record], None]) -> Iterator[Record]:
    for record in records:
        observe(record)
        yield record


@dataclass(frozen=True, slots=True)
class StoredSearch:
    """A search as stored: its ``searches`` row id, what the source returned, the import."""

    search_id: int
    result: SearchResult
    imported: ImportResult


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


class _ProgressReader:
    """A binary reader that reports how many bytes were read."""

    def __init__(self, raw: BinaryIO, total: int, callback: Callable[[int, int], None]) -> None:
        self._raw = raw
        self._total = total
        self._callback = callback
        self._last = 0

    def _report(self) -> None:
        pos = self._raw.tell()
        if pos - self._last >= (1 << 18) or pos >= self._total:
            self._last = pos
            self._callback(pos, self._total)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._report()
        return data

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._report()
        return int(n or 0)

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self._report()
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:
        """The file is closed by its owner."""

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line
