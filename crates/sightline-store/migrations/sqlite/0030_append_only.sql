-- Every table that must not change is append-only (issue #15, finding 6:
-- break_glass_grants accepted a plain DELETE). Records, alerts, linkage
-- decisions and the audit log already were; this adds:
--  - break_glass_grants: a grant is evidence of who broke glass, for what and
--    why; neither changed nor deleted;
--  - agency_tokens: never deleted; the only change is revoking once;
--  - users: never deleted (the audit log names them); id, username and
--    creation time never change (disabling, a new password or role do).
-- Numbered 0030 (hardening's reserved 0030-0039); depends only on 0001, 0004.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TRIGGER break_glass_grants_no_update BEFORE UPDATE ON break_glass_grants
BEGIN
    SELECT RAISE(ABORT, 'break_glass_grants is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER break_glass_grants_no_delete BEFORE DELETE ON break_glass_grants
BEGIN
    SELECT RAISE(ABORT, 'break_glass_grants is append-only: DELETE is not allowed');
END;

CREATE TRIGGER agency_tokens_no_delete BEFORE DELETE ON agency_tokens
BEGIN
    SELECT RAISE(ABORT, 'agency_tokens are never deleted (revoke them)');
END;

CREATE TRIGGER agency_tokens_revoke_only BEFORE UPDATE ON agency_tokens
WHEN NEW.id IS NOT OLD.id OR NEW.agency IS NOT OLD.agency
    OR NEW.token_hash IS NOT OLD.token_hash OR NEW.created_at_us IS NOT OLD.created_at_us
    OR OLD.revoked_at_us IS NOT NULL OR NEW.revoked_at_us IS NULL
BEGIN
    SELECT RAISE(ABORT, 'agency_tokens: the only change is revoking a live token once');
END;

CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted (disable them)');
END;

CREATE TRIGGER users_identity_fixed BEFORE UPDATE ON users
WHEN NEW.id IS NOT OLD.id OR NEW.username IS NOT OLD.username
    OR NEW.created_at_us IS NOT OLD.created_at_us
BEGIN
    SELECT RAISE(ABORT, 'users: id, username and created_at_us never change');
END;
