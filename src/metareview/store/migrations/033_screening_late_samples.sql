-- 033_screening_late_samples: the late-drawn random sample of Callaghan & Muller-Hansen's
-- stopping rule (owner: metareview.screening.latesample).
--
-- One row per switch (metareview screen DIR --stop-late): when the switch rule fired
-- (``switch_rule``, e.g. run:50, with ``screened`` records decided at the stage then), every
-- record still unscreened at the stage (the urn the test is about) in the random order drawn
-- (``records_json``; seeded by ``seed``). The screener shows them in that order, so the records
-- read since are a simple random sample of the urn. Rows are never updated or deleted; the
-- latest switch of a stage counts. Every insert also goes to audit_log. Same portability rules
-- as 001_core: INTEGER/TEXT only, JSON as text, ISO-8601 UTC timestamps.
CREATE TABLE screening_late_samples (
    id            INTEGER PRIMARY KEY,
    stage         TEXT    NOT NULL CHECK (stage IN ('title_abstract', 'full_text')),
    switch_rule   TEXT    NOT NULL,
    screened      INTEGER NOT NULL CHECK (screened >= 0),
    seed          INTEGER NOT NULL,
    records_json  TEXT    NOT NULL,
    drawn_at      TEXT    NOT NULL,
    drawn_by      TEXT    NOT NULL
);
CREATE INDEX screening_late_samples_stage ON screening_late_samples (stage, id);

CREATE TRIGGER screening_late_samples_no_update
BEFORE UPDATE ON screening_late_samples
BEGIN
    SELECT RAISE(ABORT, 'screening_late_samples: a draw never changes');
END;

CREATE TRIGGER screening_late_samples_no_delete
BEFORE DELETE ON screening_late_samples
BEGIN
    SELECT RAISE(ABORT, 'screening_late_samples: draws are never deleted');
END;
