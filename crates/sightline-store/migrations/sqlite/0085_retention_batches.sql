-- Retention batches (issue #18 item 2): the daily job writes what the
-- retention schedule makes due into a batch (each record with its rule and
-- the day it was kept until; records blocked by a legal hold counted, not
-- listed); the privacy officer approves, rejects or defers each batch with a
-- reason. A batch's state is its latest decision. All three append-only.
-- Numbered 0085; depends on nothing before it.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE retention_batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at_us INTEGER NOT NULL,
    -- The day the schedule was applied (YYYY-MM-DD).
    as_of        TEXT    NOT NULL CHECK (length(as_of) = 10),
    n_records    INTEGER NOT NULL CHECK (n_records >= 0),
    -- Due, but a person they name is on legal hold: counted, not in the batch.
    n_blocked    INTEGER NOT NULL CHECK (n_blocked >= 0),
    -- Due, but left for a later batch (over the batch limit).
    n_left_over  INTEGER NOT NULL CHECK (n_left_over >= 0),
    -- `job` (the server's daily pass) or `cli` (sightline retention run).
    made_by      TEXT    NOT NULL CHECK (length(made_by) BETWEEN 1 AND 64)
);

CREATE INDEX retention_batches_as_of ON retention_batches (as_of);

CREATE TABLE retention_batch_records (
    batch_id   INTEGER NOT NULL REFERENCES retention_batches (id),
    agency     TEXT    NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id  TEXT    NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    rule       TEXT    NOT NULL CHECK (length(rule) BETWEEN 1 AND 200),
    kept_until TEXT    NOT NULL CHECK (length(kept_until) = 10),
    PRIMARY KEY (batch_id, agency, record_id)
);

CREATE TABLE retention_decisions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id    INTEGER NOT NULL REFERENCES retention_batches (id),
    at_us       INTEGER NOT NULL,
    decision    TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected', 'deferred')),
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    -- Approved: records of the batch found on legal hold when it was approved.
    n_kept_held INTEGER NOT NULL CHECK (n_kept_held >= 0),
    by_user_id  INTEGER NULL,
    by_username TEXT    NOT NULL
);

CREATE INDEX retention_decisions_batch ON retention_decisions (batch_id, seq);

CREATE TRIGGER retention_batches_no_update BEFORE UPDATE ON retention_batches
BEGIN
    SELECT RAISE(ABORT, 'retention_batches is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER retention_batches_no_delete BEFORE DELETE ON retention_batches
BEGIN
    SELECT RAISE(ABORT, 'retention_batches is append-only: DELETE is not allowed');
END;
CREATE TRIGGER retention_batch_records_no_update BEFORE UPDATE ON retention_batch_records
BEGIN
    SELECT RAISE(ABORT, 'retention_batch_records is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER retention_batch_records_no_delete BEFORE DELETE ON retention_batch_records
BEGIN
    SELECT RAISE(ABORT, 'retention_batch_records is append-only: DELETE is not allowed');
END;
CREATE TRIGGER retention_decisions_no_update BEFORE UPDATE ON retention_decisions
BEGIN
    SELECT RAISE(ABORT, 'retention_decisions is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER retention_decisions_no_delete BEFORE DELETE ON retention_decisions
BEGIN
    SELECT RAISE(ABORT, 'retention_decisions is append-only: DELETE is not allowed');
END;
