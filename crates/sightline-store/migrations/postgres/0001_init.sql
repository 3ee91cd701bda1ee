-- The append-only record log and agency API tokens (PostgreSQL).
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE records (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency            TEXT   NOT NULL CHECK (length(agency) > 0),
    record_id         TEXT   NOT NULL CHECK (length(record_id) > 0),
    version           BIGINT NOT NULL CHECK (version >= 1),
    kind              TEXT   NOT NULL,
    occurred_at       TEXT   NOT NULL,
    occurred_start_us BIGINT NOT NULL,
    recorded_at_us    BIGINT NOT NULL,
    received_at_us    BIGINT NOT NULL,
    content_hash      BYTEA  NOT NULL CHECK (octet_length(content_hash) = 32),
    body              TEXT   NOT NULL,
    CONSTRAINT records_agency_record_version UNIQUE (agency, record_id, version)
);

CREATE INDEX records_agency_kind_seq ON records (agency, kind, seq);
CREATE INDEX records_kind_seq ON records (kind, seq);

-- The log is append-only: corrections arrive as higher versions.
CREATE FUNCTION records_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER records_no_update_delete BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION records_reject_change();

CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION records_reject_change();

CREATE TABLE agency_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency        TEXT   NOT NULL CHECK (length(agency) > 0),
    token_hash    BYTEA  NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT NULL
);
