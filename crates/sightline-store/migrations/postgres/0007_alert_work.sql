-- The work on alerts (PostgreSQL): assignment to a named worker, people reopening
-- a decided alert, and the follow-ups a decision sets (who does what by when),
-- recorded done once. Forward-only: never edit a migration that has shipped.

-- Whom in the routed team an alert is assigned to (a username); NULL: the team's.
ALTER TABLE alerts ADD COLUMN assigned_to TEXT NULL
    CHECK (assigned_to IS NULL OR length(assigned_to) > 0);

CREATE INDEX alerts_assigned_to ON alerts (assigned_to, status, due_at_us)
    WHERE assigned_to IS NOT NULL;

-- The history gains the kinds of people's actions.
ALTER TABLE alert_events DROP CONSTRAINT alert_events_kind_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_kind_check
    CHECK (kind IN ('raised', 'evidence_added', 'severity_raised', 'reopened', 'decided',
        'escalated', 'rerouted', 'assigned', 'unassigned', 'follow_up_done'));
-- A person's action names the person.
ALTER TABLE alert_events ADD CONSTRAINT alert_events_person_named
    CHECK (kind NOT IN ('assigned', 'unassigned', 'follow_up_done')
        OR COALESCE(length(actor), 0) > 0);
-- A person who reopens an alert says why (Sightline's reopening has no actor).
ALTER TABLE alert_events ADD CONSTRAINT alert_events_reopen_reason
    CHECK (kind <> 'reopened' OR actor IS NULL
        OR (length(actor) > 0 AND COALESCE(length(reason), 0) > 0));

-- What a decision asks someone to do (a strategy discussion, a visit, an
-- assessment, medical records), by whom and by when; recorded done once.
CREATE TABLE alert_follow_ups (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   TEXT   NOT NULL REFERENCES alerts (id),
    child_id   TEXT   NOT NULL CHECK (length(child_id) > 0),
    decision   TEXT   NOT NULL CHECK (length(decision) > 0),
    owner      TEXT   NOT NULL CHECK (length(owner) > 0),
    routed_to  TEXT   NOT NULL CHECK (length(routed_to) > 0),
    due_at_us  BIGINT NOT NULL,
    set_by     TEXT   NOT NULL CHECK (length(set_by) > 0),
    set_at_us  BIGINT NOT NULL,
    done_by    TEXT   NULL CHECK (done_by IS NULL OR length(done_by) > 0),
    done_at_us BIGINT NULL,
    CHECK ((done_by IS NULL) = (done_at_us IS NULL))
);

CREATE INDEX alert_follow_ups_owner_open ON alert_follow_ups (owner, due_at_us, id)
    WHERE done_at_us IS NULL;
CREATE INDEX alert_follow_ups_routed_open ON alert_follow_ups (routed_to, due_at_us, id)
    WHERE done_at_us IS NULL;
CREATE INDEX alert_follow_ups_alert ON alert_follow_ups (alert_id, id);

CREATE FUNCTION alert_follow_ups_done_once() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'alert_follow_ups are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.done_at_us IS NOT NULL OR NEW.id IS DISTINCT FROM OLD.id
        OR NEW.alert_id IS DISTINCT FROM OLD.alert_id OR NEW.child_id IS DISTINCT FROM OLD.child_id
        OR NEW.decision IS DISTINCT FROM OLD.decision
        OR NEW.owner IS DISTINCT FROM OLD.owner OR NEW.routed_to IS DISTINCT FROM OLD.routed_to
        OR NEW.due_at_us IS DISTINCT FROM OLD.due_at_us OR NEW.set_by IS DISTINCT FROM OLD.set_by
        OR NEW.set_at_us IS DISTINCT FROM OLD.set_at_us THEN
        RAISE EXCEPTION 'alert_follow_ups: only an open follow-up may change, and only to done'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER alert_follow_ups_done_once BEFORE UPDATE OR DELETE ON alert_follow_ups
    FOR EACH ROW EXECUTE FUNCTION alert_follow_ups_done_once();

CREATE TRIGGER alert_follow_ups_no_truncate BEFORE TRUNCATE ON alert_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION alert_history_reject_change();
