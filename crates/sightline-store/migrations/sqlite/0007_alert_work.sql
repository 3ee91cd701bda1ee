-- The work on alerts (SQLite): assignment to a named worker, people reopening a
-- decided alert, and the follow-ups a decision sets (who does what by when),
-- recorded done once. Forward-only: never edit a migration that has shipped.

-- Whom in the routed team an alert is assigned to (a username); NULL: the team's.
ALTER TABLE alerts ADD COLUMN assigned_to TEXT NULL
    CHECK (assigned_to IS NULL OR length(assigned_to) > 0);

CREATE INDEX alerts_assigned_to ON alerts (assigned_to, status, due_at_us)
    WHERE assigned_to IS NOT NULL;

-- The history gains the kinds of people's actions. SQLite cannot change a
-- CHECK constraint, so the table is rebuilt with the same rows and seq values;
-- DROP TABLE fires no trigger, and takes the old index and triggers with it.
CREATE TABLE alert_events_v7 (
    seq      INTEGER PRIMARY KEY,
    alert_id TEXT    NOT NULL REFERENCES alerts (id),
    at_us    INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('raised', 'evidence_added', 'severity_raised',
                 'reopened', 'decided', 'escalated', 'rerouted', 'assigned', 'unassigned',
                 'follow_up_done')),
    actor    TEXT    NULL,
    decision TEXT    NULL,
    reason   TEXT    NULL,
    detail   TEXT    NULL,
    CHECK (kind <> 'decided' OR (COALESCE(length(actor), 0) > 0
        AND COALESCE(length(decision), 0) > 0 AND COALESCE(length(reason), 0) > 0)),
    -- A person's action names the person.
    CHECK (kind NOT IN ('assigned', 'unassigned', 'follow_up_done')
        OR COALESCE(length(actor), 0) > 0),
    -- A person who reopens an alert says why (Sightline's reopening has no actor).
    CHECK (kind <> 'reopened' OR actor IS NULL
        OR (length(actor) > 0 AND COALESCE(length(reason), 0) > 0))
);

INSERT INTO alert_events_v7 (seq, alert_id, at_us, kind, actor, decision, reason, detail)
    SELECT seq, alert_id, at_us, kind, actor, decision, reason, detail FROM alert_events;

DROP TABLE alert_events;

ALTER TABLE alert_events_v7 RENAME TO alert_events;

CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);

CREATE TRIGGER alert_events_no_update BEFORE UPDATE ON alert_events
BEGIN
    SELECT RAISE(ABORT, 'alert_events is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER alert_events_no_delete BEFORE DELETE ON alert_events
BEGIN
    SELECT RAISE(ABORT, 'alert_events is append-only: DELETE is not allowed');
END;

-- What a decision asks someone to do (a strategy discussion, a visit, an
-- assessment, medical records), by whom and by when; recorded done once.
CREATE TABLE alert_follow_ups (
    id         INTEGER PRIMARY KEY,
    alert_id   TEXT    NOT NULL REFERENCES alerts (id),
    child_id   TEXT    NOT NULL CHECK (length(child_id) > 0),
    decision   TEXT    NOT NULL CHECK (length(decision) > 0),
    owner      TEXT    NOT NULL CHECK (length(owner) > 0),
    routed_to  TEXT    NOT NULL CHECK (length(routed_to) > 0),
    due_at_us  INTEGER NOT NULL,
    set_by     TEXT    NOT NULL CHECK (length(set_by) > 0),
    set_at_us  INTEGER NOT NULL,
    done_by    TEXT    NULL CHECK (done_by IS NULL OR length(done_by) > 0),
    done_at_us INTEGER NULL,
    CHECK ((done_by IS NULL) = (done_at_us IS NULL))
);

CREATE INDEX alert_follow_ups_owner_open ON alert_follow_ups (owner, due_at_us, id)
    WHERE done_at_us IS NULL;
CREATE INDEX alert_follow_ups_routed_open ON alert_follow_ups (routed_to, due_at_us, id)
    WHERE done_at_us IS NULL;
CREATE INDEX alert_follow_ups_alert ON alert_follow_ups (alert_id, id);

CREATE TRIGGER alert_follow_ups_no_delete BEFORE DELETE ON alert_follow_ups
BEGIN
    SELECT RAISE(ABORT, 'alert_follow_ups are never deleted');
END;

CREATE TRIGGER alert_follow_ups_done_once BEFORE UPDATE ON alert_follow_ups
WHEN OLD.done_at_us IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.alert_id IS NOT OLD.alert_id
    OR NEW.child_id IS NOT OLD.child_id
    OR NEW.decision IS NOT OLD.decision OR NEW.owner IS NOT OLD.owner
    OR NEW.routed_to IS NOT OLD.routed_to OR NEW.due_at_us IS NOT OLD.due_at_us
    OR NEW.set_by IS NOT OLD.set_by OR NEW.set_at_us IS NOT OLD.set_at_us
BEGIN
    SELECT RAISE(ABORT, 'alert_follow_ups: only an open follow-up may change, and only to done');
END;
