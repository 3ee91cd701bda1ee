-- The alerts citing a record, for need-to-know: whoever an alert is routed to
-- may read its evidence records (`AccessStore::alerts_citing`). Depends on
-- 0002_alerts only.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE INDEX alert_evidence_record ON alert_evidence (agency, record_id);
