-- Staff accounts, sessions, login throttling, break-glass grants and the
-- append-only, hash-chained audit log (PostgreSQL).
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       TEXT   NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash  TEXT   NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role           TEXT   NOT NULL CHECK (role IN ('practitioner', 'team_manager',
                       'safeguarding_lead', 'privacy_officer', 'administrator')),
    agency         TEXT   NOT NULL CHECK (length(agency) > 0),
    team           TEXT   NULL,
    created_at_us  BIGINT NOT NULL,
    disabled_at_us BIGINT NULL
);

-- Only the SHA-256 of a session id is stored.
CREATE TABLE sessions (
    id_hash       BYTEA  PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    created_at_us BIGINT NOT NULL,
    last_seen_us  BIGINT NOT NULL,
    ended_at_us   BIGINT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Per username, known or not, so that lock-out does not reveal which exist.
CREATE TABLE login_throttle (
    username        TEXT   PRIMARY KEY,
    n_failures      BIGINT NOT NULL,
    last_failure_us BIGINT NOT NULL,
    locked_until_us BIGINT NULL
);

CREATE TABLE break_glass_grants (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    resource_key  TEXT   NOT NULL CHECK (length(resource_key) > 0),
    reason        TEXT   NOT NULL CHECK (length(reason) > 0),
    granted_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL CHECK (expires_at_us > granted_at_us)
);

CREATE INDEX break_glass_grants_user ON break_glass_grants (user_id, expires_at_us);

-- seq is assigned by the writer (head + 1, under an advisory lock) so the chain
-- is gapless.
CREATE TABLE audit_log (
    seq            BIGINT PRIMARY KEY CHECK (seq >= 1),
    at_us          BIGINT NOT NULL,
    actor_user_id  BIGINT NULL,
    actor_username TEXT   NOT NULL,
    actor_role     TEXT   NOT NULL,
    actor_agency   TEXT   NOT NULL,
    action         TEXT   NOT NULL,
    resource_key   TEXT   NOT NULL,
    basis          TEXT   NOT NULL,
    outcome        TEXT   NOT NULL,
    prev_hash      BYTEA  NOT NULL CHECK (octet_length(prev_hash) = 32),
    entry_hash     BYTEA  NOT NULL CHECK (octet_length(entry_hash) = 32)
);

CREATE INDEX audit_log_resource ON audit_log (resource_key, seq);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();

-- The newest entry, so that removing the newest rows is detected too.
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT  NOT NULL,
    entry_hash BYTEA   NOT NULL CHECK (octet_length(entry_hash) = 32)
);

CREATE FUNCTION audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'audit_head only moves forward' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();

CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
