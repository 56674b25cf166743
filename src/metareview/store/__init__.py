"""store stage of metareview: the SQLite project store, its migrations and audit log.

>>> from metareview.store import Project
>>> project = Project.init("my-review")                 # doctest: +SKIP
>>> project.import_file("pubmed.xml", query="...")      # doctest: +SKIP
"""

from metareview.store.project import (
    AuditEntry,
    ImportResult,
    ImportRow,
    Project,
    StoredRecord,
    StudyLink,
    Transaction,
    default_actor,
    file_sha256,
    record_hash,
)

__all__ = [
    "AuditEntry",
    "ImportResult",
    "ImportRow",
    "Project",
    "StoredRecord",
    "StudyLink",
    "Transaction",
    "default_actor",
    "file_sha256",
    "record_hash",
]
