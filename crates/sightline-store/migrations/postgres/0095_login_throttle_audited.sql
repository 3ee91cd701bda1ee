-- A refused sign-in while a throttle key must wait is audited once per delay
-- window, not once per request (issue #15: an attacker must not be able to
-- flood the audit log): `refusal_audited_us` is when the current window's
-- refusal was audited; a window begins at `last_failure_us`.
-- Numbered 0095 to leave 0070-0094 to other features built alongside.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

ALTER TABLE login_throttle ADD COLUMN refusal_audited_us BIGINT NULL;
