-- Clerical review of record linkage: every person's match / non-match decision
-- about two person mentions, append-only (PostgreSQL). A merge or split is the
-- event of a decision; reversing it is a later decision ('withdrawn' or the
-- opposite verdict), never an edit.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE linkage_decisions (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Mention keys `agency/record_id/ref`, left < right (byte order).
    left_key  TEXT   NOT NULL CHECK (length(left_key) BETWEEN 1 AND 512),
    right_key TEXT   NOT NULL CHECK (length(right_key) BETWEEN 1 AND 512),
    verdict   TEXT   NOT NULL CHECK (verdict IN ('match', 'non_match', 'withdrawn')),
    actor     TEXT   NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
    reason    TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    at_us     BIGINT NOT NULL,
    CHECK (left_key COLLATE "C" < right_key COLLATE "C")
);

CREATE INDEX linkage_decisions_left ON linkage_decisions (left_key, seq);
CREATE INDEX linkage_decisions_right ON linkage_decisions (right_key, seq);

CREATE FUNCTION linkage_decisions_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'linkage_decisions is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER linkage_decisions_no_update_delete BEFORE UPDATE OR DELETE ON linkage_decisions
    FOR EACH ROW EXECUTE FUNCTION linkage_decisions_reject_change();

CREATE TRIGGER linkage_decisions_no_truncate BEFORE TRUNCATE ON linkage_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION linkage_decisions_reject_change();
