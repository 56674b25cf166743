-- 030_rob: risk-of-bias assessments (owner: metareview.appraisal).
--
-- One assessment is one study (studies.id) x protocol outcome x tool x reviewer (and basis:
-- 'reviewer' for an independent assessment, 'consensus' for the one agreed after two). Its rows:
-- the answers to the signalling questions (each with an optional quote and source record), and
-- one judgement row per domain and one for 'overall' (the algorithm's judgement, the reviewer's
-- override and its justification, the judgement that counts; study_label is the study's label
-- as the review showed it when assessed). Rows are never rewritten:
-- importing the same study x outcome x tool again for the same reviewer and basis supersedes
-- every current row of the earlier assessment (superseded_at/superseded_by); all inserts and
-- supersessions are in the audit log. Same portability rules as 001_core.

-- One row per imported assessment file.
CREATE TABLE rob_batches (
    id           INTEGER PRIMARY KEY,
    file_name    TEXT,
    sha256       TEXT,
    reviewer     TEXT    NOT NULL,
    basis        TEXT    NOT NULL CHECK (basis IN ('reviewer', 'consensus')),
    n_answers    INTEGER NOT NULL DEFAULT 0,
    imported_at  TEXT    NOT NULL,
    imported_by  TEXT    NOT NULL
);

CREATE TABLE rob_answers (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES rob_batches (id),
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    outcome        TEXT    NOT NULL,
    tool           TEXT    NOT NULL CHECK (tool IN ('rob2', 'robins-i')),
    domain         TEXT    NOT NULL,
    question       TEXT    NOT NULL,
    answer         TEXT    NOT NULL CHECK (answer IN ('Y', 'PY', 'PN', 'N', 'NI', 'NA')),
    quote          TEXT,
    source_record  INTEGER REFERENCES records (id),
    reviewer       TEXT    NOT NULL,
    basis          TEXT    NOT NULL CHECK (basis IN ('reviewer', 'consensus')),
    answered_at    TEXT    NOT NULL,
    superseded_at  TEXT,
    superseded_by  TEXT
);
CREATE INDEX rob_answers_study ON rob_answers (study_id, outcome);
CREATE UNIQUE INDEX rob_answers_current
    ON rob_answers (study_id, outcome, tool, question, reviewer, basis)
    WHERE superseded_at IS NULL;

CREATE TABLE rob_judgements (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES rob_batches (id),
    study_id       INTEGER NOT NULL REFERENCES studies (id),
    study_label    TEXT,
    outcome        TEXT    NOT NULL,
    tool           TEXT    NOT NULL CHECK (tool IN ('rob2', 'robins-i')),
    domain         TEXT    NOT NULL,
    judgement      TEXT    NOT NULL,
    algorithm      TEXT,
    override       TEXT,
    justification  TEXT,
    reviewer       TEXT    NOT NULL,
    basis          TEXT    NOT NULL CHECK (basis IN ('reviewer', 'consensus')),
    judged_at      TEXT    NOT NULL,
    superseded_at  TEXT,
    superseded_by  TEXT,
    CHECK (override IS NULL OR override = algorithm OR algorithm IS NULL
           OR (justification IS NOT NULL AND justification != ''))
);
CREATE INDEX rob_judgements_study ON rob_judgements (study_id, outcome);
CREATE UNIQUE INDEX rob_judgements_current
    ON rob_judgements (study_id, outcome, tool, domain, reviewer, basis)
    WHERE superseded_at IS NULL;

CREATE TRIGGER rob_answers_fixed
BEFORE UPDATE OF batch_id, study_id, outcome, tool, domain, question, answer, quote,
    source_record, reviewer, basis, answered_at
ON rob_answers
BEGIN
    SELECT RAISE(ABORT, 'rob_answers: an answer never changes; import a new assessment');
END;

CREATE TRIGGER rob_judgements_fixed
BEFORE UPDATE OF batch_id, study_id, outcome, tool, domain, judgement, algorithm, override,
    justification, reviewer, basis, judged_at
ON rob_judgements
BEGIN
    SELECT RAISE(ABORT, 'rob_judgements: a judgement never changes; import a new assessment');
END;
