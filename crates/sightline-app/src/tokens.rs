//! Agency API tokens. A token is shown once; only its SHA-256 hash is stored.
//! Tokens carry 256 random bits, so a fast hash is enough (no password hashing).

use rand::RngCore;
use sha2::{Digest, Sha256};
use sightline_core::AgencyId;
use sightline_store::{Store, StoreError};

/// The prefix that makes a Sightline token recognisable (e.g. to secret scanners).
pub const TOKEN_PREFIX: &str = "slt_";

/// A newly created token: the secret, to be shown once, and its id.
pub struct AgencyToken {
    pub id: i64,
    pub agency: AgencyId,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored form of a token secret.
pub fn token_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Creates a token for an agency and returns the secret (never stored).
pub fn create_token(
    store: &dyn Store,
    agency: &AgencyId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AgencyToken, TokenError> {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(random));
    let id = store.create_token(agency.as_str(), &token_hash(&secret), crate::to_micros(now))?;
    Ok(AgencyToken {
        id,
        agency: agency.clone(),
        secret,
    })
}

/// Creates a token for an agency ([`create_token`]) and audits it:
/// `create_token` on `agency:ID`, the new token as the basis (`token:N`), so
/// the agency's managers and leads see who created which of its tokens.
pub fn create_token_audited(
    store: &dyn Store,
    agency: &AgencyId,
    by: &crate::audit::AuditActor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AgencyToken, TokenError> {
    let token = create_token(store, agency, now)?;
    crate::audit::record(
        store,
        by,
        "create_token",
        &format!("agency:{agency}"),
        &format!("token:{}", token.id),
        "ok",
        now,
    )?;
    Ok(token)
}

/// Revokes token `token_id` at once (its agency's system is refused from the
/// next request) and audits it (`revoke_token` on `token:ID`, outcome `ok`, or
/// `not_found` for no such live token). `false` if there was none.
pub fn revoke_token(
    store: &dyn Store,
    token_id: i64,
    actor: &crate::audit::AuditActor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, TokenError> {
    let revoked = store.revoke_token(token_id, crate::to_micros(now))?;
    crate::audit::record(
        store,
        actor,
        "revoke_token",
        &format!("token:{token_id}"),
        "",
        if revoked { "ok" } else { "not_found" },
        now,
    )?;
    Ok(revoked)
}

/// The agency a presented secret belongs to, if it is a live token.
pub fn token_agency(store: &dyn Store, secret: &str) -> Result<Option<AgencyId>, TokenError> {
    Ok(live_token(store, secret)?.map(|token| token.agency))
}

/// A live token, as a request presented it: its id (which the audit log names)
/// and its agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    pub id: i64,
    pub agency: AgencyId,
}

impl LiveToken {
    /// The audit log's actor for what the token's system does: `token:ID` of
    /// its agency, role `agency_system` (issue #15, finding 11).
    pub fn audit_actor(&self) -> crate::audit::AuditActor {
        crate::audit::AuditActor {
            user_id: None,
            username: format!("token:{}", self.id),
            role: "agency_system".to_owned(),
            agency: self.agency.as_str().to_owned(),
        }
    }
}

/// The live token a presented secret is, if any.
pub fn live_token(store: &dyn Store, secret: &str) -> Result<Option<LiveToken>, TokenError> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let token = store.live_token(&token_hash(secret))?;
    Ok(token.and_then(|(id, agency)| {
        Some(LiveToken {
            id,
            agency: AgencyId::parse(&agency).ok()?,
        })
    }))
}
