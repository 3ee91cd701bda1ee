-- Sign-in with an OpenID Connect provider (issue #17 item 4): the account a
-- provider's user signs in to, keyed by the ID token's issuer and subject
-- (the claim the provider's configuration names: `sub`, or Entra ID's `oid`).
-- Append-only: an identity, once linked, stays with its account.
-- Numbered 0090 (after 0080, which landed first).
-- Forward-only: never edit a migration that has shipped; add a new file instead.

CREATE TABLE external_identities (
    issuer         TEXT   NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
    subject        TEXT   NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id        BIGINT NOT NULL REFERENCES users (id),
    created_at_us  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);

CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TRIGGER external_identities_append_only BEFORE UPDATE OR DELETE ON external_identities
    FOR EACH ROW EXECUTE FUNCTION append_only_reject();
CREATE TRIGGER external_identities_no_truncate BEFORE TRUNCATE ON external_identities
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_reject();
