//! Writing and checking the audit log: every read and write of personal data is
//! recorded (who, role, agency, which view or action, which person or record,
//! under which basis, with which outcome) as one entry of the hash chain whose
//! maths is in `sightline_access::audit`.
//!
//! - Invariant: [`authorize_and_record`] is how a shell asks for access: it never
//!   returns a decision that was not recorded.

use chrono::{DateTime, Utc};
use sightline_access::audit::{
    AuditEntry, ChainBreak, ChainSummary, ChainVerifier, Head, SealedEntry, entry_hash,
};
use sightline_access::{AccessContext, Action, Decision, Resource, View, authorize};
use sightline_store::{AuditRow, Store, StoreError};

use crate::accounts::Account;

/// Who an audit entry names as the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub user_id: Option<i64>,
    pub username: String,
    pub role: String,
    pub agency: String,
}

impl AuditActor {
    /// A signed-in user.
    pub fn of(account: &Account) -> Self {
        AuditActor {
            user_id: Some(account.id),
            username: account.username.clone(),
            role: account.role.as_str().to_owned(),
            agency: account.agency.as_str().to_owned(),
        }
    }

    /// Whoever tried to sign in as `user` and failed (the account's name; an
    /// unknown username is not recorded as typed: it may be a password).
    pub fn login_attempt(user: Option<&Account>) -> Self {
        match user {
            Some(account) => AuditActor::of(account),
            None => AuditActor {
                user_id: None,
                username: "unknown".to_owned(),
                role: String::new(),
                agency: String::new(),
            },
        }
    }

    /// An operator at the command line (who has the database itself).
    pub fn cli() -> Self {
        AuditActor {
            user_id: None,
            username: "cli".to_owned(),
            role: "operator".to_owned(),
            agency: String::new(),
        }
    }
}

fn to_entry(row: &AuditRow) -> SealedEntry {
    SealedEntry {
        entry: AuditEntry {
            seq: row.seq,
            at_us: row.at_us,
            actor_user_id: row.actor_user_id,
            actor_username: row.actor_username.clone(),
            actor_role: row.actor_role.clone(),
            actor_agency: row.actor_agency.clone(),
            action: row.action.clone(),
            resource_key: row.resource_key.clone(),
            basis: row.basis.clone(),
            outcome: row.outcome.clone(),
        },
        prev_hash: row.prev_hash,
        entry_hash: row.entry_hash,
    }
}

/// What one audit entry says, before the chain places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsealed<'a> {
    pub actor: &'a AuditActor,
    pub action: &'a str,
    pub resource_key: &'a str,
    pub basis: &'a str,
    pub outcome: &'a str,
    pub now: DateTime<Utc>,
}

/// Seals `entry` as the chain's entry `seq` after `prev_hash`: the row an
/// audit append (alone, or inside a write's own transaction) inserts.
pub fn seal(entry: &Unsealed<'_>, seq: i64, prev_hash: [u8; 32]) -> AuditRow {
    let entry = AuditEntry {
        seq,
        at_us: crate::to_micros(entry.now),
        actor_user_id: entry.actor.user_id,
        actor_username: entry.actor.username.clone(),
        actor_role: entry.actor.role.clone(),
        actor_agency: entry.actor.agency.clone(),
        action: entry.action.to_owned(),
        resource_key: entry.resource_key.to_owned(),
        basis: entry.basis.to_owned(),
        outcome: entry.outcome.to_owned(),
    };
    let entry_hash = entry_hash(&prev_hash, &entry);
    AuditRow {
        seq,
        at_us: entry.at_us,
        actor_user_id: entry.actor_user_id,
        actor_username: entry.actor_username,
        actor_role: entry.actor_role,
        actor_agency: entry.actor_agency,
        action: entry.action,
        resource_key: entry.resource_key,
        basis: entry.basis,
        outcome: entry.outcome,
        prev_hash,
        entry_hash,
    }
}

/// Appends one sealed entry and returns its `seq`.
pub fn record(
    store: &dyn Store,
    actor: &AuditActor,
    action: &str,
    resource_key: &str,
    basis: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let entry = Unsealed {
        actor,
        action,
        resource_key,
        basis,
        outcome,
        now,
    };
    let row = store
        .audit()
        .append_audit(&mut |seq, prev_hash| seal(&entry, seq, prev_hash))?;
    Ok(row.seq)
}

/// Decides with [`sightline_access::authorize`] and records the decision (and
/// its basis) before returning it, under the action's own name.
pub fn authorize_and_record(
    store: &dyn Store,
    account: &Account,
    action: Action,
    resource: &Resource,
    context: &AccessContext,
    now: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    authorize_view_and_record(store, account, action, None, resource, context, now)
}

/// Like [`authorize_and_record`], naming in the audit entry the view that reads
/// the resource (`view_chronology`, `export_chronology_csv`, ...) instead of the
/// action that was decided.
pub fn authorize_view_and_record(
    store: &dyn Store,
    account: &Account,
    action: Action,
    view: Option<View>,
    resource: &Resource,
    context: &AccessContext,
    now: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    let decision = authorize(
        &account.actor(),
        action,
        resource,
        context,
        crate::to_micros(now),
    );
    let basis = match &decision {
        Decision::Full { basis } => basis.to_string(),
        Decision::Minimal | Decision::Deny => String::new(),
    };
    record(
        store,
        &AuditActor::of(account),
        view.map_or(action.as_str(), View::as_str),
        &resource.key(),
        &basis,
        decision.outcome(),
        now,
    )?;
    Ok(decision)
}

/// Audits a refused sign-in, whatever refused it (a password, a provider's
/// claims, a disabled account): `login_failed` on the account tried, or on
/// `user:unknown` when none was (the name typed is not recorded: it may be a
/// password), with the way in as the basis (`password`, `oidc:PROVIDER`) and
/// why as the outcome.
pub fn login_failed(
    store: &dyn Store,
    tried: Option<&Account>,
    basis: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let resource = tried.map_or_else(
        || "user:unknown".to_owned(),
        |account| format!("user:{}", account.id),
    );
    record(
        store,
        &AuditActor::login_attempt(tried),
        "login_failed",
        &resource,
        basis,
        outcome,
        now,
    )
}

/// Records the records a reviewer was shown in the linkage review queue (issue
/// #15, finding 11): one `view_review_queue` entry per record (each once,
/// however many pairs name it), on `record:AGENCY/ID`, so "who viewed this
/// child" lists the reviewers who saw the child's records side by side.
pub fn record_review_pairs_shown(
    store: &dyn Store,
    actor: &AuditActor,
    pairs: &[crate::persons::ReviewPair],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let records: std::collections::BTreeSet<String> = pairs
        .iter()
        .flat_map(|pair| [&pair.left, &pair.right])
        .map(|mention| format!("record:{}/{}", mention.agency, mention.record_id))
        .collect();
    for resource in records {
        record(
            store,
            actor,
            "view_review_queue",
            &resource,
            &format!("role:{}", actor.role),
            "shown",
            now,
        )?;
    }
    Ok(())
}

/// Rows read per page while verifying.
const VERIFY_PAGE_ROWS: u32 = 5_000;

/// Walks the whole audit log in order and checks every link and hash, and that
/// the chain ends at the recorded head. `Ok(Err(..))` names the first broken
/// entry.
pub fn verify_audit(store: &dyn Store) -> Result<Result<ChainSummary, ChainBreak>, StoreError> {
    let mut verifier = ChainVerifier::new();
    let recorded_head = match walk_audit(store, 0, &mut |sealed| verifier.push(sealed))? {
        Ok(head) => head,
        Err(broken) => return Ok(Err(broken)),
    };
    Ok(verifier.finish(recorded_head))
}

/// Reads the audit log in `seq` order from the entry after `after_seq`, giving
/// each entry to `visit` (which stops the walk with an error), and returns the
/// head recorded once the last entry was read.
pub(crate) fn walk_audit<E>(
    store: &dyn Store,
    mut after_seq: i64,
    visit: &mut dyn FnMut(&SealedEntry) -> Result<(), E>,
) -> Result<Result<Option<Head>, E>, StoreError> {
    let audit = store.audit();
    // The head seen at the end of the previous pass that found no further rows.
    let mut head_seen: Option<Option<Head>> = None;
    loop {
        let rows = audit.audit_entries(after_seq, VERIFY_PAGE_ROWS)?;
        if let Some(last) = rows.last() {
            head_seen = None;
            after_seq = last.seq;
            for row in &rows {
                if let Err(error) = visit(&to_entry(row)) {
                    return Ok(Err(error));
                }
            }
            continue;
        }
        // Read the head only after the last row: an entry appended meanwhile moves
        // the head past what was read, and is then read and checked too.
        let recorded_head = audit
            .audit_head()?
            .map(|(seq, entry_hash)| Head { seq, entry_hash });
        let moved = recorded_head.is_some_and(|head| head.seq > after_seq);
        if moved && head_seen != Some(recorded_head) {
            head_seen = Some(recorded_head);
            continue;
        }
        return Ok(Ok(recorded_head));
    }
}

/// The newest audit entries, newest first (for the privacy officer's page).
pub fn recent_entries(
    store: &dyn Store,
    before_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    store.audit().audit_recent(before_seq, limit)
}
