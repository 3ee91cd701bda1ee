-- Alerts raised by the rules, their evidence records and their history (SQLite).
-- Forward-only: never edit a migration that has shipped; add a new file instead.
-- Alerts are never deleted; evidence and events are never changed. An alert row
-- changes only in its state columns, and every change also writes an event.

CREATE TABLE alerts (
    id               TEXT    PRIMARY KEY CHECK (length(id) > 0),
    child_id         TEXT    NOT NULL CHECK (length(child_id) > 0),
    person_id        TEXT    NULL,
    rule_id          TEXT    NOT NULL CHECK (length(rule_id) > 0),
    pack_name        TEXT    NOT NULL,
    pack_version     TEXT    NOT NULL,
    severity         TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    title            TEXT    NOT NULL,
    explanation      TEXT    NOT NULL,
    citation         TEXT    NOT NULL,
    route            TEXT    NOT NULL,
    routed_to        TEXT    NOT NULL CHECK (length(routed_to) > 0),
    raised_at_us     INTEGER NOT NULL,
    updated_at_us    INTEGER NOT NULL,
    due_at_us        INTEGER NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'decided')),
    escalation_level INTEGER NOT NULL CHECK (escalation_level BETWEEN 0 AND 2),
    decided_at_us    INTEGER NULL
) WITHOUT ROWID;

CREATE INDEX alerts_status_due ON alerts (status, due_at_us);
CREATE INDEX alerts_child ON alerts (child_id, raised_at_us);
CREATE INDEX alerts_routed_to ON alerts (routed_to, status, due_at_us);

CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts are never deleted');
END;

CREATE TRIGGER alerts_state_only BEFORE UPDATE ON alerts
WHEN NEW.id IS NOT OLD.id OR NEW.child_id IS NOT OLD.child_id
    OR NEW.person_id IS NOT OLD.person_id OR NEW.rule_id IS NOT OLD.rule_id
    OR NEW.pack_name IS NOT OLD.pack_name OR NEW.pack_version IS NOT OLD.pack_version
    OR NEW.title IS NOT OLD.title OR NEW.explanation IS NOT OLD.explanation
    OR NEW.citation IS NOT OLD.citation OR NEW.route IS NOT OLD.route
    OR NEW.raised_at_us IS NOT OLD.raised_at_us
BEGIN
    SELECT RAISE(ABORT, 'alerts: only status, severity, due time, escalation and routing may change');
END;

CREATE TABLE alert_evidence (
    alert_id    TEXT    NOT NULL REFERENCES alerts (id),
    agency      TEXT    NOT NULL CHECK (length(agency) > 0),
    record_id   TEXT    NOT NULL CHECK (length(record_id) > 0),
    version     INTEGER NOT NULL CHECK (version >= 1),
    added_at_us INTEGER NOT NULL,
    PRIMARY KEY (alert_id, agency, record_id, version)
) WITHOUT ROWID;

CREATE TRIGGER alert_evidence_no_update BEFORE UPDATE ON alert_evidence
BEGIN
    SELECT RAISE(ABORT, 'alert_evidence is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER alert_evidence_no_delete BEFORE DELETE ON alert_evidence
BEGIN
    SELECT RAISE(ABORT, 'alert_evidence is append-only: DELETE is not allowed');
END;

CREATE TABLE alert_events (
    seq      INTEGER PRIMARY KEY,
    alert_id TEXT    NOT NULL REFERENCES alerts (id),
    at_us    INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('raised', 'evidence_added', 'severity_raised',
                 'reopened', 'decided', 'escalated', 'rerouted')),
    actor    TEXT    NULL,
    decision TEXT    NULL,
    reason   TEXT    NULL,
    detail   TEXT    NULL,
    CHECK (kind <> 'decided' OR (COALESCE(length(actor), 0) > 0
        AND COALESCE(length(decision), 0) > 0 AND COALESCE(length(reason), 0) > 0))
);

CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);

CREATE TRIGGER alert_events_no_update BEFORE UPDATE ON alert_events
BEGIN
    SELECT RAISE(ABORT, 'alert_events is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER alert_events_no_delete BEFORE DELETE ON alert_events
BEGIN
    SELECT RAISE(ABORT, 'alert_events is append-only: DELETE is not allowed');
END;
