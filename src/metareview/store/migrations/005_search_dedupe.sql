-- 005_search_dedupe: live searches (PRISMA-S) and deduplication links.
-- Owned by the live clients (metareview search) and screening.dedupe (metareview dedupe).
-- Same portability rules as 001_core: INTEGER, TEXT, REAL; ISO-8601 UTC text; JSON as text.

-- One row per live search, beside its ``imports`` row: the hits the database reported (which
-- may exceed the records retrieved when --max capped the download), the endpoint and details.
CREATE TABLE searches (
    id             INTEGER PRIMARY KEY,
    import_id      INTEGER NOT NULL REFERENCES imports (id),
    source         TEXT    NOT NULL,
    query          TEXT    NOT NULL,
    url            TEXT    NOT NULL,
    searched_at    TEXT    NOT NULL,
    n_reported     INTEGER NOT NULL,
    n_retrieved    INTEGER NOT NULL,
    max_records    INTEGER,
    details_json   TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX searches_import ON searches (import_id);

-- One row per run of ``metareview dedupe``.
CREATE TABLE dedupe_runs (
    id             INTEGER PRIMARY KEY,
    started_at     TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    n_records      INTEGER NOT NULL,
    n_links        INTEGER NOT NULL,
    settings_json  TEXT    NOT NULL DEFAULT '{}'
);

-- A link between two records found to report the same study: the rule that found it, its
-- score and a human-readable detail. A reviewer undoes a link by setting undone_at (never
-- deleted); an undone pair is never linked again by a later run.
CREATE TABLE dedupe_links (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES dedupe_runs (id),
    record_a     INTEGER NOT NULL REFERENCES records (id),
    record_b     INTEGER NOT NULL REFERENCES records (id),
    rule         TEXT    NOT NULL,
    relation     TEXT    NOT NULL,
    score        REAL    NOT NULL,
    detail       TEXT    NOT NULL,
    linked_at    TEXT    NOT NULL,
    linked_by    TEXT    NOT NULL,
    undone_at    TEXT,
    undone_by    TEXT,
    undo_reason  TEXT,
    CHECK (record_a < record_b),
    CHECK (relation IN ('duplicate', 'same_study'))
);
CREATE UNIQUE INDEX dedupe_links_pair ON dedupe_links (record_a, record_b);
CREATE INDEX dedupe_links_b ON dedupe_links (record_b);
