-- 031_grade: GRADE certainty-of-evidence ratings (owner: metareview.appraisal.grade_store).
--
-- One row per rating a reviewer gives (metareview grade DIR --set OUTCOME DOMAIN RATING
-- --reason TEXT): the latest row per (outcome, domain) counts, every earlier one stays
-- (append-only: rows are never updated or deleted), and every insert also goes to audit_log.
-- ``suggested`` is the rating metareview suggested when the reviewer rated (NULL when no
-- analysis was at hand). Same portability rules as 001_core: INTEGER/TEXT only, ISO-8601 UTC.
CREATE TABLE grade_ratings (
    id         INTEGER PRIMARY KEY,
    outcome    TEXT    NOT NULL,
    domain     TEXT    NOT NULL CHECK (domain IN ('risk_of_bias', 'inconsistency',
                                                  'indirectness', 'imprecision',
                                                  'publication_bias')),
    rating     INTEGER NOT NULL CHECK (rating IN (0, -1, -2)),
    suggested  INTEGER CHECK (suggested IS NULL OR suggested IN (0, -1, -2)),
    reason     TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    reviewer   TEXT    NOT NULL,
    rated_at   TEXT    NOT NULL
);
CREATE INDEX grade_ratings_outcome ON grade_ratings (outcome, domain);

CREATE TRIGGER grade_ratings_no_update
BEFORE UPDATE ON grade_ratings
BEGIN
    SELECT RAISE(ABORT, 'grade_ratings: a rating never changes; set a new one');
END;

CREATE TRIGGER grade_ratings_no_delete
BEFORE DELETE ON grade_ratings
BEGIN
    SELECT RAISE(ABORT, 'grade_ratings: ratings are never deleted; set a new one');
END;
