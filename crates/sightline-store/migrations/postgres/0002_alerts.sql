-- Alerts raised by the rules, their evidence records and their history (PostgreSQL).
-- Forward-only: never edit a migration that has shipped; add a new file instead.
-- Alerts are never deleted; evidence and events are never changed. An alert row
-- changes only in its state columns, and every change also writes an event.

CREATE TABLE alerts (
    id               TEXT   PRIMARY KEY CHECK (length(id) > 0),
    child_id         TEXT   NOT NULL CHECK (length(child_id) > 0),
    person_id        TEXT   NULL,
    rule_id          TEXT   NOT NULL CHECK (length(rule_id) > 0),
    pack_name        TEXT   NOT NULL,
    pack_version     TEXT   NOT NULL,
    severity         TEXT   NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    title            TEXT   NOT NULL,
    explanation      TEXT   NOT NULL,
    citation         TEXT   NOT NULL,
    route            TEXT   NOT NULL,
    routed_to        TEXT   NOT NULL CHECK (length(routed_to) > 0),
    raised_at_us     BIGINT NOT NULL,
    updated_at_us    BIGINT NOT NULL,
    due_at_us        BIGINT NOT NULL,
    status           TEXT   NOT NULL CHECK (status IN ('open', 'decided')),
    escalation_level BIGINT NOT NULL CHECK (escalation_level BETWEEN 0 AND 2),
    decided_at_us    BIGINT NULL
);

CREATE INDEX alerts_status_due ON alerts (status, due_at_us);
CREATE INDEX alerts_child ON alerts (child_id, raised_at_us);
CREATE INDEX alerts_routed_to ON alerts (routed_to, status, due_at_us);

CREATE FUNCTION alerts_state_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'alerts are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.child_id IS DISTINCT FROM OLD.child_id
        OR NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.rule_id IS DISTINCT FROM OLD.rule_id
        OR NEW.pack_name IS DISTINCT FROM OLD.pack_name
        OR NEW.pack_version IS DISTINCT FROM OLD.pack_version
        OR NEW.title IS DISTINCT FROM OLD.title OR NEW.explanation IS DISTINCT FROM OLD.explanation
        OR NEW.citation IS DISTINCT FROM OLD.citation OR NEW.route IS DISTINCT FROM OLD.route
        OR NEW.raised_at_us IS DISTINCT FROM OLD.raised_at_us THEN
        RAISE EXCEPTION 'alerts: only status, severity, due time, escalation and routing may change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER alerts_state_only BEFORE UPDATE OR DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION alerts_state_only();

CREATE FUNCTION alert_history_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER alerts_no_truncate BEFORE TRUNCATE ON alerts
    FOR EACH STATEMENT EXECUTE FUNCTION alert_history_reject_change();

CREATE TABLE alert_evidence (
    alert_id    TEXT   NOT NULL REFERENCES alerts (id),
    agency      TEXT   NOT NULL CHECK (length(agency) > 0),
    record_id   TEXT   NOT NULL CHECK (length(record_id) > 0),
    version     BIGINT NOT NULL CHECK (version >= 1),
    added_at_us BIGINT NOT NULL,
    PRIMARY KEY (alert_id, agency, record_id, version)
);

CREATE TRIGGER alert_evidence_no_update_delete BEFORE UPDATE OR DELETE ON alert_evidence
    FOR EACH ROW EXECUTE FUNCTION alert_history_reject_change();

CREATE TRIGGER alert_evidence_no_truncate BEFORE TRUNCATE ON alert_evidence
    FOR EACH STATEMENT EXECUTE FUNCTION alert_history_reject_change();

CREATE TABLE alert_events (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id TEXT   NOT NULL REFERENCES alerts (id),
    at_us    BIGINT NOT NULL,
    kind     TEXT   NOT NULL CHECK (kind IN ('raised', 'evidence_added', 'severity_raised',
                 'reopened', 'decided', 'escalated', 'rerouted')),
    actor    TEXT   NULL,
    decision TEXT   NULL,
    reason   TEXT   NULL,
    detail   TEXT   NULL,
    CHECK (kind <> 'decided' OR (COALESCE(length(actor), 0) > 0
        AND COALESCE(length(decision), 0) > 0 AND COALESCE(length(reason), 0) > 0))
);

CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);

CREATE TRIGGER alert_events_no_update_delete BEFORE UPDATE OR DELETE ON alert_events
    FOR EACH ROW EXECUTE FUNCTION alert_history_reject_change();

CREATE TRIGGER alert_events_no_truncate BEFORE TRUNCATE ON alert_events
    FOR EACH STATEMENT EXECUTE FUNCTION alert_history_reject_change();
