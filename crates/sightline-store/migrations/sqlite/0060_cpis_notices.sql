-- CP-IS access notices (SQLite): a full read of a child on a plan by another
-- agency's staff tells the child's allocated worker (`to_user_id`) or the duty
-- team of the lead social care agency (`to_team`, `team:AGENCY/TEAM`), with a
-- notice of kind `cpis_access`. SQLite cannot change a CHECK in place, so the
-- table is rebuilt with every row, its indexes and its append-only triggers.
-- Numbered 0060 to leave 0050-0059 to other features built alongside.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

DROP TRIGGER access_notices_no_update;
DROP TRIGGER access_notices_no_delete;

CREATE TABLE access_notices_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us          INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('new_relationship', 'relationship_held', 'break_glass', 'cpis_access')),
    -- `child:<id>` or `record:<agency>/<id>`.
    resource_key   TEXT    NOT NULL CHECK (length(resource_key) BETWEEN 1 AND 600),
    -- The child's lead agency, told; NULL when only the privacy officer is.
    to_agency      TEXT    NULL,
    -- Whose access: the agency, and for break glass and CP-IS the user.
    about_agency   TEXT    NOT NULL,
    about_user_id  INTEGER NULL,
    about_username TEXT    NULL,
    -- `relationship:<seq>`, `break_glass:<grant id>` or the view (`view_child`).
    subject        TEXT    NOT NULL CHECK (length(subject) BETWEEN 1 AND 64),
    -- The basis of a relationship, the reason given for breaking glass, or
    -- what the CP-IS notice says (`plan;role`).
    detail         TEXT    NOT NULL CHECK (length(detail) <= 2000),
    -- CP-IS: the allocated worker told, or else the duty team told.
    to_user_id     INTEGER NULL,
    to_team        TEXT    NULL CHECK (to_team IS NULL OR length(to_team) BETWEEN 1 AND 300)
);

INSERT INTO access_notices_new
    (seq, at_us, kind, resource_key, to_agency, about_agency, about_user_id, about_username, subject, detail)
SELECT seq, at_us, kind, resource_key, to_agency, about_agency, about_user_id, about_username, subject, detail
FROM access_notices;

DROP TABLE access_notices;
ALTER TABLE access_notices_new RENAME TO access_notices;

CREATE INDEX access_notices_to ON access_notices (to_agency, seq);
CREATE INDEX access_notices_resource ON access_notices (resource_key, seq);
CREATE INDEX access_notices_to_user ON access_notices (to_user_id, seq);
CREATE INDEX access_notices_to_team ON access_notices (to_team, seq);

CREATE TRIGGER access_notices_no_update BEFORE UPDATE ON access_notices
BEGIN
    SELECT RAISE(ABORT, 'access_notices is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER access_notices_no_delete BEFORE DELETE ON access_notices
BEGIN
    SELECT RAISE(ABORT, 'access_notices is append-only: DELETE is not allowed');
END;
