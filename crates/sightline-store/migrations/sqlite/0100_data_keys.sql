-- Record bodies encrypted at rest, erasure by destroying keys (issue #18 item 3).
-- data_keys: one random 256-bit key per person mention and per record body
-- (src/crypt.rs). A row is deleted only by an erasure, which writes its
-- tombstone first: erasures (who, when, why, what) and erased_keys (which key
-- ids went). AUTOINCREMENT so a deleted key id is never given to a new key.
-- The Rust step after this file (sqlite_backend::encrypt_plaintext_bodies)
-- seals the bodies already in the log, dropping and restoring the records
-- triggers inside this migration's transaction only.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE data_keys (
    key_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    key_bytes     BLOB    NOT NULL CHECK (length(key_bytes) = 32)
);

CREATE TRIGGER data_keys_no_update BEFORE UPDATE ON data_keys
BEGIN
    SELECT RAISE(ABORT, 'data_keys: a key never changes (erasure deletes it)');
END;

CREATE TABLE erasures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us         INTEGER NOT NULL,
    actor         TEXT    NOT NULL CHECK (length(actor) > 0),
    scope         TEXT    NOT NULL CHECK (scope IN ('person', 'record')),
    target        TEXT    NOT NULL CHECK (length(target) > 0),
    reason        TEXT    NOT NULL CHECK (length(reason) > 0),
    n_records     INTEGER NOT NULL,
    n_keys        INTEGER NOT NULL
);

CREATE TABLE erased_keys (
    key_id        INTEGER PRIMARY KEY,
    erasure_id    INTEGER NOT NULL REFERENCES erasures (id)
);

CREATE TRIGGER erasures_no_update BEFORE UPDATE ON erasures
BEGIN
    SELECT RAISE(ABORT, 'erasures is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER erasures_no_delete BEFORE DELETE ON erasures
BEGIN
    SELECT RAISE(ABORT, 'erasures is append-only: DELETE is not allowed');
END;
CREATE TRIGGER erased_keys_no_update BEFORE UPDATE ON erased_keys
BEGIN
    SELECT RAISE(ABORT, 'erased_keys is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER erased_keys_no_delete BEFORE DELETE ON erased_keys
BEGIN
    SELECT RAISE(ABORT, 'erased_keys is append-only: DELETE is not allowed');
END;
