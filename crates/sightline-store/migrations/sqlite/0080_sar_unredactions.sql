-- Subject access un-redactions (issue #18 item 1): the privacy officer
-- discloses one third party of one record in a person's subject access
-- bundle, with a reason; every later bundle of that person shows the third
-- party's details in that record and lists the disclosure. An item is
-- (agency, record_id, person_ref): the other person's ref in the record.
-- Append-only. Numbered 0080; depends on nothing before it.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE sar_unredactions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us       INTEGER NOT NULL,
    -- The data subject whose bundle it applies to.
    person_id   TEXT    NOT NULL CHECK (length(person_id) BETWEEN 1 AND 64),
    agency      TEXT    NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id   TEXT    NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    person_ref  TEXT    NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 128),
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    -- NULL: an operator at the command line.
    by_user_id  INTEGER NULL,
    by_username TEXT    NOT NULL
);

CREATE INDEX sar_unredactions_person ON sar_unredactions (person_id, seq);

CREATE TRIGGER sar_unredactions_no_update BEFORE UPDATE ON sar_unredactions
BEGIN
    SELECT RAISE(ABORT, 'sar_unredactions is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER sar_unredactions_no_delete BEFORE DELETE ON sar_unredactions
BEGIN
    SELECT RAISE(ABORT, 'sar_unredactions is append-only: DELETE is not allowed');
END;
