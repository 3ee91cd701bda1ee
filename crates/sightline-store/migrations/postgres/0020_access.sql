-- The access model's own records (PostgreSQL): the relationships intake
-- established between agencies and children, and the notices sent about new
-- access (a new relationship, one held over the daily limit, break glass).
-- Both append-only. Numbered 0020 to leave 0007-0019 to other features built
-- alongside; it depends only on 0001.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE relationships (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us       BIGINT NOT NULL,
    child_id    TEXT   NOT NULL CHECK (length(child_id) BETWEEN 1 AND 64),
    agency      TEXT   NOT NULL CHECK (length(agency) BETWEEN 1 AND 128),
    basis       TEXT   NOT NULL CHECK (basis IN ('first_record', 'social_care_episode', 'nhs_number', 'address')),
    -- The agency's mention that showed it: `agency/record_id/ref`.
    mention_key TEXT   NOT NULL CHECK (length(mention_key) BETWEEN 1 AND 512),
    -- `held`: over the agency's daily limit, not in force until established.
    state       TEXT   NOT NULL CHECK (state IN ('established', 'held')),
    -- `agency`: an agency's intake (limited); `operator`: the command line;
    -- `existing`: found in a log from before relationships were recorded.
    source      TEXT   NOT NULL CHECK (source IN ('agency', 'operator', 'existing'))
);

CREATE INDEX relationships_child ON relationships (child_id, seq);
CREATE INDEX relationships_agency ON relationships (agency, at_us);

CREATE TABLE access_notices (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us          BIGINT NOT NULL,
    kind           TEXT   NOT NULL CHECK (kind IN ('new_relationship', 'relationship_held', 'break_glass')),
    -- `child:<id>` or `record:<agency>/<id>`.
    resource_key   TEXT   NOT NULL CHECK (length(resource_key) BETWEEN 1 AND 600),
    -- The child's lead agency, told; NULL when only the privacy officer is.
    to_agency      TEXT   NULL,
    -- Whose access: the agency, and for break glass the user.
    about_agency   TEXT   NOT NULL,
    about_user_id  BIGINT NULL,
    about_username TEXT   NULL,
    -- `relationship:<seq>` or `break_glass:<grant id>`.
    subject        TEXT   NOT NULL CHECK (length(subject) BETWEEN 1 AND 64),
    -- The basis of a relationship, or the reason given for breaking glass.
    detail         TEXT   NOT NULL CHECK (length(detail) <= 2000)
);

CREATE INDEX access_notices_to ON access_notices (to_agency, seq);
CREATE INDEX access_notices_resource ON access_notices (resource_key, seq);

CREATE FUNCTION access_records_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER relationships_no_update_delete BEFORE UPDATE OR DELETE ON relationships
    FOR EACH ROW EXECUTE FUNCTION access_records_reject_change();
CREATE TRIGGER relationships_no_truncate BEFORE TRUNCATE ON relationships
    FOR EACH STATEMENT EXECUTE FUNCTION access_records_reject_change();
CREATE TRIGGER access_notices_no_update_delete BEFORE UPDATE OR DELETE ON access_notices
    FOR EACH ROW EXECUTE FUNCTION access_records_reject_change();
CREATE TRIGGER access_notices_no_truncate BEFORE TRUNCATE ON access_notices
    FOR EACH STATEMENT EXECUTE FUNCTION access_records_reject_change();
