-- Subject access un-redactions (issue #18 item 1): the privacy officer
-- discloses one third party of one record in a person's subject access
-- bundle, with a reason; every later bundle of that person shows the third
-- party's details in that record and lists the disclosure. An item is
-- (agency, record_id, person_ref): the other person's ref in the record.
-- Append-only (append_only_reject() is 0030's). Numbered 0080.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE sar_unredactions (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us       BIGINT NOT NULL,
    person_id   TEXT   NOT NULL CHECK (length(person_id) BETWEEN 1 AND 64),
    agency      TEXT   NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    record_id   TEXT   NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
    person_ref  TEXT   NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 128),
    reason      TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 4000),
    by_user_id  BIGINT NULL,
    by_username TEXT   NOT NULL
);

CREATE INDEX sar_unredactions_person ON sar_unredactions (person_id, seq);

CREATE TRIGGER sar_unredactions_no_update_delete BEFORE UPDATE OR DELETE ON sar_unredactions
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER sar_unredactions_no_truncate BEFORE TRUNCATE ON sar_unredactions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
