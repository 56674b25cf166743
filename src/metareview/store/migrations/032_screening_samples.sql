-- 032_screening_samples: random samples of the unscreened records (owner:
-- metareview.screening.remaining), drawn to estimate how many relevant records are left.
--
-- One row per sample (metareview screen DIR --sample N): the stage, the records unscreened when
-- it was drawn (``pool_json``, the urn the estimate is about) and the records drawn, in the
-- random order the screener shows them (``records_json``). Rows are never updated or deleted;
-- the latest sample of a stage counts. Every insert also goes to audit_log. Same portability
-- rules as 001_core: INTEGER/TEXT only, JSON as text, ISO-8601 UTC timestamps.
CREATE TABLE screening_samples (
    id            INTEGER PRIMARY KEY,
    stage         TEXT    NOT NULL CHECK (stage IN ('title_abstract', 'full_text')),
    seed          INTEGER NOT NULL,
    pool_json     TEXT    NOT NULL,
    records_json  TEXT    NOT NULL,
    drawn_at      TEXT    NOT NULL,
    drawn_by      TEXT    NOT NULL
);
CREATE INDEX screening_samples_stage ON screening_samples (stage, id);

CREATE TRIGGER screening_samples_no_update
BEFORE UPDATE ON screening_samples
BEGIN
    SELECT RAISE(ABORT, 'screening_samples: a sample never changes; draw a new one');
END;

CREATE TRIGGER screening_samples_no_delete
BEFORE DELETE ON screening_samples
BEGIN
    SELECT RAISE(ABORT, 'screening_samples: samples are never deleted');
END;
