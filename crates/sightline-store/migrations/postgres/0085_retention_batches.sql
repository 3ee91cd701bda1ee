-- Retention batches (issue #18 item 2): the daily job writes what the
-- retention schedule makes due into a batch (each record with its rule and
-- the day it was kept until; records blocked by a legal hold counted, not
-- listed); the privacy officer approves, rejects or defers each batch with a
-- reason. A batch's state is its latest decision. All three append-only
-- (append_only_reject() is 0030's). Numbered 0085.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE retention_batches (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at_us BIGINT NOT NULL,
    as_of         TEXT   NOT NULL CHECK (length(as_of) = 10),
    n_records     BIGINT NOT NULL CHECK (n_records >= 0),
    n_blocked     BIGINT NOT NULL CHECK (n_blocked >= 0),
    n_left_over   BIGINT NOT NULL CHECK (n_left_over >= 0),
    made_by       TEXT   NOT NULL CHECK (length(made_by) BETWEEN 1 AND 64)
);

CREATE INDEX retention_batches_as_of ON retention_batches (as_of);

CREATE TABLE retention_batch_records (
    batch_id   BIGINT NOT NULL REFERENCES retention_batches (id),
    agency     TEXT   NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id  TEXT   NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    rule       TEXT   NOT NULL CHECK (length(rule) BETWEEN 1 AND 200),
    kept_until TEXT   NOT NULL CHECK (length(kept_until) = 10),
    PRIMARY KEY (batch_id, agency, record_id)
);

CREATE TABLE retention_decisions (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id    BIGINT NOT NULL REFERENCES retention_batches (id),
    at_us       BIGINT NOT NULL,
    decision    TEXT   NOT NULL CHECK (decision IN ('approved', 'rejected', 'deferred')),
    reason      TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    n_kept_held BIGINT NOT NULL CHECK (n_kept_held >= 0),
    by_user_id  BIGINT NULL,
    by_username TEXT   NOT NULL
);

CREATE INDEX retention_decisions_batch ON retention_decisions (batch_id, seq);

CREATE TRIGGER retention_batches_no_update_delete BEFORE UPDATE OR DELETE ON retention_batches
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER retention_batches_no_truncate BEFORE TRUNCATE ON retention_batches
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER retention_batch_records_no_update_delete BEFORE UPDATE OR DELETE ON retention_batch_records
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER retention_batch_records_no_truncate BEFORE TRUNCATE ON retention_batch_records
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER retention_decisions_no_update_delete BEFORE UPDATE OR DELETE ON retention_decisions
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER retention_decisions_no_truncate BEFORE TRUNCATE ON retention_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
