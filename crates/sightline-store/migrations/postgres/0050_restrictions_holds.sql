-- Data protection controls (issue #18 items 4 and 5), kept as events:
--  - record_restrictions: an agency restricts one of its records to named
--    casework roles (optionally at its own agency only), or lifts the
--    restriction; the latest event of a record is what is in force;
--  - legal_holds: a hold on a child or person (a case review, court
--    proceedings, an inquiry) placed or released; it blocks retention and
--    erasure while the person's latest event places it.
-- Both append-only (append_only_reject() is 0030's). Numbered 0050.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE record_restrictions (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us           BIGINT NOT NULL,
    agency          TEXT   NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id       TEXT   NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    state           TEXT   NOT NULL CHECK (state IN ('restricted', 'lifted')),
    -- Stable role names, comma-separated; empty when lifted.
    roles           TEXT   NOT NULL CHECK (length(roles) <= 200),
    own_agency_only BIGINT NOT NULL CHECK (own_agency_only IN (0, 1)),
    reason          TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    -- NULL: an operator at the command line.
    by_user_id      BIGINT NULL,
    by_username     TEXT   NOT NULL
);

CREATE INDEX record_restrictions_record ON record_restrictions (agency, record_id, seq);

CREATE TRIGGER record_restrictions_no_update_delete BEFORE UPDATE OR DELETE ON record_restrictions
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER record_restrictions_no_truncate BEFORE TRUNCATE ON record_restrictions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();

CREATE TABLE legal_holds (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us       BIGINT NOT NULL,
    target      TEXT   NOT NULL CHECK (target IN ('child', 'person')),
    person_id   TEXT   NOT NULL CHECK (length(person_id) BETWEEN 1 AND 64),
    state       TEXT   NOT NULL CHECK (state IN ('placed', 'released')),
    reason      TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    by_user_id  BIGINT NULL,
    by_username TEXT   NOT NULL
);

CREATE INDEX legal_holds_person ON legal_holds (person_id, seq);

CREATE TRIGGER legal_holds_no_update_delete BEFORE UPDATE OR DELETE ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER legal_holds_no_truncate BEFORE TRUNCATE ON legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
