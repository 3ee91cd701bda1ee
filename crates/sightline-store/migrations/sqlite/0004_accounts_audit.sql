-- Staff accounts, sessions, login throttling, break-glass grants and the
-- append-only, hash-chained audit log (SQLite).
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash  TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role           TEXT    NOT NULL CHECK (role IN ('practitioner', 'team_manager',
                       'safeguarding_lead', 'privacy_officer', 'administrator')),
    agency         TEXT    NOT NULL CHECK (length(agency) > 0),
    team           TEXT    NULL,
    created_at_us  INTEGER NOT NULL,
    disabled_at_us INTEGER NULL
);

-- Only the SHA-256 of a session id is stored.
CREATE TABLE sessions (
    id_hash       BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    created_at_us INTEGER NOT NULL,
    last_seen_us  INTEGER NOT NULL,
    ended_at_us   INTEGER NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Per username, known or not, so that lock-out does not reveal which exist.
CREATE TABLE login_throttle (
    username        TEXT    PRIMARY KEY,
    n_failures      INTEGER NOT NULL,
    last_failure_us INTEGER NOT NULL,
    locked_until_us INTEGER NULL
);

CREATE TABLE break_glass_grants (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    resource_key  TEXT    NOT NULL CHECK (length(resource_key) > 0),
    reason        TEXT    NOT NULL CHECK (length(reason) > 0),
    granted_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL CHECK (expires_at_us > granted_at_us)
);

CREATE INDEX break_glass_grants_user ON break_glass_grants (user_id, expires_at_us);

-- seq is assigned by the writer (head + 1) so the chain is gapless.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY CHECK (seq >= 1),
    at_us          INTEGER NOT NULL,
    actor_user_id  INTEGER NULL,
    actor_username TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    actor_agency   TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    resource_key   TEXT    NOT NULL,
    basis          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    prev_hash      BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash     BLOB    NOT NULL CHECK (length(entry_hash) = 32)
);

CREATE INDEX audit_log_resource ON audit_log (resource_key, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed');
END;

-- The newest entry, so that removing the newest rows is detected too.
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    entry_hash BLOB    NOT NULL CHECK (length(entry_hash) = 32)
);

CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq <= OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
