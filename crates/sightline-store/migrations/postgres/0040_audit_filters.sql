-- The privacy officer's access log pages through the audit log newest first,
-- filtered by user, action and time, and counts break-glass grants per user
-- over time (the unusual-pattern flags). These indexes let each filter read
-- only its entries instead of the whole log. Numbered 0040 to leave room to
-- features built alongside; it depends only on audit_log and
-- break_glass_grants (0004).
-- Forward-only: never edit a migration that has shipped; add a new file instead.
CREATE INDEX audit_log_actor_seq ON audit_log (actor_username, seq);
CREATE INDEX audit_log_action_seq ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at_us);
CREATE INDEX break_glass_grants_granted ON break_glass_grants (granted_at_us);
