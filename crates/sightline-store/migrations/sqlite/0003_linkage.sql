-- Clerical review of record linkage: every person's match / non-match decision
-- about two person mentions, append-only (SQLite). A merge or split is the event
-- of a decision; reversing it is a later decision ('withdrawn' or the opposite
-- verdict), never an edit.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE linkage_decisions (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Mention keys `agency/record_id/ref`, left < right.
    left_key  TEXT    NOT NULL CHECK (length(left_key) BETWEEN 1 AND 512),
    right_key TEXT    NOT NULL CHECK (length(right_key) BETWEEN 1 AND 512),
    verdict   TEXT    NOT NULL CHECK (verdict IN ('match', 'non_match', 'withdrawn')),
    actor     TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
    reason    TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    at_us     INTEGER NOT NULL,
    CHECK (left_key < right_key)
);

CREATE INDEX linkage_decisions_left ON linkage_decisions (left_key, seq);
CREATE INDEX linkage_decisions_right ON linkage_decisions (right_key, seq);

CREATE TRIGGER linkage_decisions_no_update BEFORE UPDATE ON linkage_decisions
BEGIN
    SELECT RAISE(ABORT, 'linkage_decisions is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER linkage_decisions_no_delete BEFORE DELETE ON linkage_decisions
BEGIN
    SELECT RAISE(ABORT, 'linkage_decisions is append-only: DELETE is not allowed');
END;
