-- 010_screening: eligibility screening (owner: the screening stage, metareview.screening).
--
-- Decisions are never deleted or rewritten: undoing one sets undone_at/undone_by, and a later
-- decision by the same reviewer on the same record and stage supersedes an earlier one. Every
-- insert and update also goes to audit_log (through metareview.store.Transaction).
-- Same portability rules as 001_core: INTEGER/TEXT/REAL only, ISO-8601 UTC text timestamps.

-- People who screen. ``name_key`` is the name case-folded with spaces collapsed: two reviewers
-- whose names differ only in case or spacing are refused (they would be indistinguishable).
CREATE TABLE reviewers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    name_key    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

-- One row per decision on one record at one stage.
--   basis 'reviewer'   a reviewer's own judgement
--         'resolution' the agreed decision after two reviewers disagreed
--         'rule'       the protocol's publication-type rule (PRISMA: "marked as ineligible by
--                      automation tools"); reviewer_id is NULL
--         'removed'    removed before screening for another stated reason (PRISMA: "records
--                      removed for other reasons"), e.g. retracted
CREATE TABLE screening_decisions (
    id           INTEGER PRIMARY KEY,
    record_id    INTEGER NOT NULL REFERENCES records (id),
    stage        TEXT    NOT NULL CHECK (stage IN ('title_abstract', 'full_text')),
    reviewer_id  INTEGER REFERENCES reviewers (id),
    decision     TEXT    NOT NULL CHECK (decision IN ('include', 'exclude', 'maybe')),
    reason       TEXT,
    note         TEXT,
    basis        TEXT    NOT NULL DEFAULT 'reviewer'
                 CHECK (basis IN ('reviewer', 'resolution', 'rule', 'removed')),
    decided_at   TEXT    NOT NULL,
    undone_at    TEXT,
    undone_by    TEXT,
    CHECK (decision = 'exclude' OR reason IS NULL),
    CHECK (basis IN ('rule', 'removed') OR reviewer_id IS NOT NULL)
);
CREATE INDEX screening_decisions_record ON screening_decisions (record_id, stage);
CREATE INDEX screening_decisions_reviewer ON screening_decisions (reviewer_id, stage);

CREATE TRIGGER screening_decisions_fixed
BEFORE UPDATE OF record_id, stage, reviewer_id, decision, reason, note, basis, decided_at
ON screening_decisions
BEGIN
    SELECT RAISE(ABORT, 'screening_decisions: a decision never changes; undo it and decide again');
END;

-- Whether the full text of a report sought for retrieval was obtained (PRISMA: "reports not
-- retrieved"). The latest row not undone counts.
CREATE TABLE fulltext_retrieval (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES records (id),
    retrieved   INTEGER NOT NULL CHECK (retrieved IN (0, 1)),
    note        TEXT,
    marked_at   TEXT    NOT NULL,
    marked_by   TEXT    NOT NULL,
    undone_at   TEXT,
    undone_by   TEXT
);
CREATE INDEX fulltext_retrieval_record ON fulltext_retrieval (record_id);

-- Each distinct version of the protocol file metareview has seen, oldest first. ``amendment``
-- is 1 when the version appeared after screening had started (PRISMA 2020 item 24c).
CREATE TABLE protocol_versions (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT    NOT NULL,
    file_name     TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    seen_at       TEXT    NOT NULL,
    seen_by       TEXT    NOT NULL,
    amendment     INTEGER NOT NULL CHECK (amendment IN (0, 1)),
    changes_json  TEXT    NOT NULL DEFAULT '[]',
    note          TEXT
);
