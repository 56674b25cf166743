-- 001_core: the project store's core tables.
--
-- Portability: only INTEGER, TEXT and REAL columns; timestamps are ISO-8601 UTC text; JSON is
-- text; booleans are 0/1 integers. ``INTEGER PRIMARY KEY`` becomes ``BIGINT GENERATED ALWAYS AS
-- IDENTITY`` on PostgreSQL. Partial unique indexes exist in both systems. The triggers use
-- SQLite's RAISE(ABORT); a PostgreSQL backend would express the same rules as PL/pgSQL trigger
-- functions that RAISE EXCEPTION.

CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    applied_at  TEXT    NOT NULL
);

-- Key/value facts about the project (format version, creation time, protocol file name).
CREATE TABLE project_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- One row per imported file or live search (PRISMA-S: what, where from, which query, when, how many).
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    path          TEXT,
    file_name     TEXT,
    sha256        TEXT,
    size_bytes    INTEGER,
    format        TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    query         TEXT,
    searched_at   TEXT,
    n_records     INTEGER NOT NULL DEFAULT 0,
    n_added       INTEGER NOT NULL DEFAULT 0,
    n_duplicates  INTEGER NOT NULL DEFAULT 0,
    imported_at   TEXT    NOT NULL,
    imported_by   TEXT    NOT NULL
);
-- The same file (by content) is imported once.
CREATE UNIQUE INDEX imports_sha256 ON imports (sha256) WHERE sha256 IS NOT NULL;

-- One row per source record; the raw payload is kept verbatim and never changes.
CREATE TABLE records (
    id                 INTEGER PRIMARY KEY,
    import_id          INTEGER NOT NULL REFERENCES imports (id),
    position           INTEGER NOT NULL,
    source             TEXT    NOT NULL,
    source_id          TEXT,
    kind               TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    abstract           TEXT    NOT NULL DEFAULT '',
    authors_json       TEXT    NOT NULL DEFAULT '[]',
    journal            TEXT,
    year               INTEGER,
    doi                TEXT,
    pmid               TEXT,
    pmcid              TEXT,
    nct_ids_json       TEXT    NOT NULL DEFAULT '[]',
    publication_types_json TEXT NOT NULL DEFAULT '[]',
    keywords_json      TEXT    NOT NULL DEFAULT '[]',
    mesh_terms_json    TEXT    NOT NULL DEFAULT '[]',
    language           TEXT,
    url                TEXT,
    fields_json        TEXT    NOT NULL DEFAULT '{}',
    raw                TEXT    NOT NULL,
    raw_format         TEXT    NOT NULL,
    content_hash       TEXT    NOT NULL,
    origin_file        TEXT,
    origin_query       TEXT,
    imported_at        TEXT    NOT NULL
);
-- Per-record identity: a source's own id when it has one, otherwise the payload's hash.
CREATE UNIQUE INDEX records_source_id ON records (source, source_id) WHERE source_id IS NOT NULL;
CREATE UNIQUE INDEX records_content_hash ON records (source, content_hash);
CREATE INDEX records_import ON records (import_id);
CREATE INDEX records_doi ON records (doi);
CREATE INDEX records_pmid ON records (pmid);

CREATE TRIGGER records_raw_immutable
BEFORE UPDATE OF raw, raw_format, content_hash, source, source_id, import_id ON records
BEGIN
    SELECT RAISE(ABORT, 'records: the raw payload and identity of a record never change');
END;

-- A study is what records report; study_records links them. A link is undone by setting
-- unlinked_at (never deleted), so the history of every deduplication decision stays.
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    label       TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE study_records (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    record_id      INTEGER NOT NULL REFERENCES records (id),
    reason         TEXT    NOT NULL,
    linked_at      TEXT    NOT NULL,
    linked_by      TEXT    NOT NULL,
    unlinked_at    TEXT,
    unlinked_by    TEXT,
    unlink_reason  TEXT
);
-- A record reports at most one study at a time.
CREATE UNIQUE INDEX study_records_active ON study_records (record_id) WHERE unlinked_at IS NULL;
CREATE INDEX study_records_study ON study_records (study_id);

-- Append-only log of every change: who, when, what, before and after (JSON).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    table_name   TEXT,
    row_id       INTEGER,
    before_json  TEXT,
    after_json   TEXT
);

CREATE TRIGGER audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
