-- Every table that must not change is append-only (issue #15, finding 6:
-- break_glass_grants accepted a plain DELETE). Records, alerts, linkage
-- decisions and the audit log already were; this adds:
--  - break_glass_grants: a grant is evidence of who broke glass, for what and
--    why; neither changed, deleted nor truncated;
--  - agency_tokens: never deleted; the only change is revoking once;
--  - users: never deleted (the audit log names them); id, username and
--    creation time never change (disabling, a new password or role do).
-- Numbered 0030 (hardening's reserved 0030-0039); depends only on 0001, 0004.
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE FUNCTION append_only_reject() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER break_glass_grants_no_update_delete BEFORE UPDATE OR DELETE ON break_glass_grants
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER break_glass_grants_no_truncate BEFORE TRUNCATE ON break_glass_grants
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();

CREATE FUNCTION agency_tokens_revoke_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id
        OR NEW.agency IS DISTINCT FROM OLD.agency
        OR NEW.token_hash IS DISTINCT FROM OLD.token_hash
        OR NEW.created_at_us IS DISTINCT FROM OLD.created_at_us
        OR OLD.revoked_at_us IS NOT NULL OR NEW.revoked_at_us IS NULL THEN
        RAISE EXCEPTION 'agency_tokens: the only change is revoking a live token once (%)', TG_OP
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER agency_tokens_revoke_only BEFORE UPDATE OR DELETE ON agency_tokens
    FOR EACH ROW EXECUTE FUNCTION agency_tokens_revoke_only();
CREATE TRIGGER agency_tokens_no_truncate BEFORE TRUNCATE ON agency_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();

CREATE FUNCTION users_identity_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id
        OR NEW.username IS DISTINCT FROM OLD.username
        OR NEW.created_at_us IS DISTINCT FROM OLD.created_at_us THEN
        RAISE EXCEPTION 'users are never deleted and keep their id, username and created_at_us (%)', TG_OP
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_identity_fixed BEFORE UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_identity_fixed();
CREATE TRIGGER users_no_truncate BEFORE TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
