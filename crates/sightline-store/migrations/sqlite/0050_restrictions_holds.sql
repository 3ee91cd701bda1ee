-- Data protection controls (issue #18 items 4 and 5), kept as events:
--  - record_restrictions: an agency restricts one of its records to named
--    casework roles (optionally at its own agency only), or lifts the
--    restriction; the latest event of a record is what is in force;
--  - legal_holds: a hold on a child or person (a case review, court
--    proceedings, an inquiry) placed or released; it blocks retention and
--    erasure while the person's latest event places it.
-- Both append-only. Numbered 0050; depends on nothing before it.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE record_restrictions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us           INTEGER NOT NULL,
    agency          TEXT    NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id       TEXT    NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    state           TEXT    NOT NULL CHECK (state IN ('restricted', 'lifted')),
    -- Stable role names, comma-separated; empty when lifted.
    roles           TEXT    NOT NULL CHECK (length(roles) <= 200),
    own_agency_only INTEGER NOT NULL CHECK (own_agency_only IN (0, 1)),
    reason          TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    -- NULL: an operator at the command line.
    by_user_id      INTEGER NULL,
    by_username     TEXT    NOT NULL
);

CREATE INDEX record_restrictions_record ON record_restrictions (agency, record_id, seq);

CREATE TRIGGER record_restrictions_no_update BEFORE UPDATE ON record_restrictions
BEGIN
    SELECT RAISE(ABORT, 'record_restrictions is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER record_restrictions_no_delete BEFORE DELETE ON record_restrictions
BEGIN
    SELECT RAISE(ABORT, 'record_restrictions is append-only: DELETE is not allowed');
END;

CREATE TABLE legal_holds (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us       INTEGER NOT NULL,
    target      TEXT    NOT NULL CHECK (target IN ('child', 'person')),
    person_id   TEXT    NOT NULL CHECK (length(person_id) BETWEEN 1 AND 64),
    state       TEXT    NOT NULL CHECK (state IN ('placed', 'released')),
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    by_user_id  INTEGER NULL,
    by_username TEXT    NOT NULL
);

CREATE INDEX legal_holds_person ON legal_holds (person_id, seq);

CREATE TRIGGER legal_holds_no_update BEFORE UPDATE ON legal_holds
BEGIN
    SELECT RAISE(ABORT, 'legal_holds is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
BEGIN
    SELECT RAISE(ABORT, 'legal_holds is append-only: DELETE is not allowed');
END;
