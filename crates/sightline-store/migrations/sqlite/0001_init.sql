-- The append-only record log and agency API tokens (SQLite).
-- Forward-only: never edit a migration that has shipped; add a new file instead.

-- seq is the rowid without AUTOINCREMENT: rows are never deleted (see the triggers),
-- so max(seq) + 1 never reuses a committed seq, and inserts skip sqlite_sequence.
CREATE TABLE records (
    seq               INTEGER PRIMARY KEY,
    agency            TEXT    NOT NULL CHECK (length(agency) > 0),
    record_id         TEXT    NOT NULL CHECK (length(record_id) > 0),
    version           INTEGER NOT NULL CHECK (version >= 1),
    kind              TEXT    NOT NULL,
    occurred_at       TEXT    NOT NULL,
    occurred_start_us INTEGER NOT NULL,
    recorded_at_us    INTEGER NOT NULL,
    received_at_us    INTEGER NOT NULL,
    content_hash      BLOB    NOT NULL CHECK (length(content_hash) = 32),
    body              TEXT    NOT NULL,
    UNIQUE (agency, record_id, version)
);

CREATE INDEX records_agency_kind_seq ON records (agency, kind, seq);
CREATE INDEX records_kind_seq ON records (kind, seq);

-- The log is append-only: corrections arrive as higher versions.
CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN
    SELECT RAISE(ABORT, 'records is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN
    SELECT RAISE(ABORT, 'records is append-only: DELETE is not allowed');
END;

CREATE TABLE agency_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency        TEXT    NOT NULL CHECK (length(agency) > 0),
    token_hash    BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER NULL
);
