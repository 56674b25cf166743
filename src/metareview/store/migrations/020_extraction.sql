-- 020_extraction: extracted study data with provenance (owner: metareview.extraction).
--
-- One row per extracted value: a study (studies.id), a protocol outcome ('' for the study's
-- characteristics), a group (intervention, comparator, single, contrast; 'study' for study-level
-- characteristics), an arm, a time point, a data scenario and a field (n, events, mean, sd, ...).
-- Values are never rewritten: importing a value again for the same key, reviewer and basis
-- supersedes the earlier one (superseded_at/superseded_by), so every earlier value stays.
-- Same portability rules as 001_core: INTEGER, TEXT, REAL; ISO-8601 UTC text; JSON as text.

-- Citable documents that are not records of the project (a handbook section, a full text read
-- elsewhere) that values can name as their source: ``key`` is how values refer to them.
CREATE TABLE extraction_sources (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL UNIQUE,
    citation    TEXT    NOT NULL,
    url         TEXT,
    doi         TEXT,
    note        TEXT,
    record_id   INTEGER REFERENCES records (id),
    added_at    TEXT    NOT NULL,
    added_by    TEXT    NOT NULL
);

-- One row per imported extraction file (or registry fill, or bundled folder).
CREATE TABLE extraction_batches (
    id           INTEGER PRIMARY KEY,
    file_name    TEXT,
    sha256       TEXT,
    reviewer     TEXT    NOT NULL,
    basis        TEXT    NOT NULL CHECK (basis IN ('reviewer', 'consensus', 'registry')),
    n_values     INTEGER NOT NULL DEFAULT 0,
    imported_at  TEXT    NOT NULL,
    imported_by  TEXT    NOT NULL
);

CREATE TABLE extraction_values (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES extraction_batches (id),
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    outcome        TEXT    NOT NULL,
    grp            TEXT    NOT NULL
                   CHECK (grp IN ('intervention', 'comparator', 'single', 'contrast', 'study')),
    arm            TEXT    NOT NULL DEFAULT '',
    timepoint      TEXT    NOT NULL DEFAULT '',
    scenario       TEXT    NOT NULL DEFAULT 'main',
    field          TEXT    NOT NULL,
    value          REAL,
    text_value     TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('reported', 'derived', 'assumed')),
    why            TEXT,
    sensitivity_json TEXT,
    source_record  INTEGER REFERENCES records (id),
    source_ref     TEXT,
    location       TEXT    NOT NULL DEFAULT '',
    quote          TEXT,
    note           TEXT,
    reviewer       TEXT    NOT NULL,
    basis          TEXT    NOT NULL CHECK (basis IN ('reviewer', 'consensus', 'registry')),
    extracted_at   TEXT    NOT NULL,
    superseded_at  TEXT,
    superseded_by  TEXT,
    CHECK (value IS NOT NULL OR text_value IS NOT NULL),
    CHECK (status != 'assumed' OR (why IS NOT NULL AND why != ''))
);
CREATE INDEX extraction_values_study ON extraction_values (study_id, outcome);
CREATE UNIQUE INDEX extraction_values_current
    ON extraction_values (study_id, outcome, grp, arm, timepoint, scenario, field, reviewer, basis)
    WHERE superseded_at IS NULL;

CREATE TRIGGER extraction_values_fixed
BEFORE UPDATE OF study_id, outcome, grp, arm, timepoint, scenario, field, value, text_value,
    status, why, source_record, source_ref, location, quote, reviewer, basis, extracted_at
ON extraction_values
BEGIN
    SELECT RAISE(ABORT, 'extraction_values: a value never changes; import a new one');
END;

-- Why a study contributes nothing to an outcome (shown to the reader as a decision, not a gap).
CREATE TABLE extraction_not_reported (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES extraction_batches (id),
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    outcome        TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    reviewer       TEXT    NOT NULL,
    noted_at       TEXT    NOT NULL,
    superseded_at  TEXT
);

-- Study-level facts that are text, not numbers of an outcome (design, population, citation).
CREATE TABLE study_details (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    key            TEXT    NOT NULL,
    value          TEXT    NOT NULL,
    reviewer       TEXT    NOT NULL,
    noted_at       TEXT    NOT NULL,
    superseded_at  TEXT
);
CREATE INDEX study_details_study ON study_details (study_id);
