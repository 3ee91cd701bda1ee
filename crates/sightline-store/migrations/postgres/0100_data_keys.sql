-- Record bodies encrypted at rest, erasure by destroying keys (issue #18 item 3).
-- data_keys: one random 256-bit key per person mention and per record body
-- (src/crypt.rs). A row is deleted only by an erasure, which writes its
-- tombstone first: erasures (who, when, why, what) and erased_keys (which key
-- ids went). Key ids come from data_key_ids, taken by writers under the
-- writer lock, so an id is never given twice.
-- The Rust step after this file (postgres_backend::encrypt_plaintext_bodies)
-- seals the bodies already in the log, disabling and restoring the records
-- trigger inside this migration's transaction only.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE SEQUENCE data_key_ids AS bigint START 1;

CREATE TABLE data_keys (
    key_id        bigint  PRIMARY KEY,
    key_bytes     bytea   NOT NULL CHECK (length(key_bytes) = 32)
);

CREATE FUNCTION data_keys_no_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'data_keys: a key never changes (erasure deletes it)'
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER data_keys_no_update BEFORE UPDATE ON data_keys
    FOR EACH ROW EXECUTE FUNCTION data_keys_no_update();

CREATE TABLE erasures (
    id            bigserial PRIMARY KEY,
    at_us         bigint  NOT NULL,
    actor         text    NOT NULL CHECK (length(actor) > 0),
    scope         text    NOT NULL CHECK (scope IN ('person', 'record')),
    target        text    NOT NULL CHECK (length(target) > 0),
    reason        text    NOT NULL CHECK (length(reason) > 0),
    n_records     bigint  NOT NULL,
    n_keys        bigint  NOT NULL
);

CREATE TABLE erased_keys (
    key_id        bigint  PRIMARY KEY,
    erasure_id    bigint  NOT NULL REFERENCES erasures (id)
);

CREATE TRIGGER erasures_no_update_delete BEFORE UPDATE OR DELETE ON erasures
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON erasures
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER erased_keys_no_update_delete BEFORE UPDATE OR DELETE ON erased_keys
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER erased_keys_no_truncate BEFORE TRUNCATE ON erased_keys
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
