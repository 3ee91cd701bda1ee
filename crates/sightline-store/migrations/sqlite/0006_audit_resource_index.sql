-- "Who has viewed this child": the privacy officer's page reads the audit
-- entries about one child and its records. This index lets it read exactly those
-- (newest first) instead of scanning the whole log. Self-contained: it depends
-- only on audit_log (0004).
CREATE INDEX audit_log_resource_seq ON audit_log (resource_key, seq);
