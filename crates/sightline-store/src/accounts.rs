//! Staff accounts, sessions, login throttling, break-glass grants and the
//! append-only audit log: two traits ([`AccountStore`], [`AuditStore`]) reached
//! from a [`crate::Store`] by `accounts()` and `audit()`, implemented by both
//! backends with the same SQL (written with `$n` placeholders; SQLite gets `?n`).
//!
//! The store only keeps rows. Password hashing, session policy and the audit
//! chain's maths live above it (`sightline-app`, `sightline-access`).
//!
//! - Invariant: `audit_log` is append-only: triggers reject UPDATE and DELETE (and
//!   TRUNCATE in PostgreSQL); `audit_head` only moves forward and cannot be deleted.
//! - Invariant: audit `seq` is gapless from 1: appends are serialised (SQLite
//!   `BEGIN IMMEDIATE`, PostgreSQL an advisory transaction lock) and each new row
//!   takes the head's `seq + 1`, checked again by the primary key.
//! - Invariant: a session id and a password are never stored, only their hashes.

use crate::StoreError;
use std::fmt;

/// The most rows one list call returns; larger limits are clamped.
pub const ACCOUNT_LIST_LIMIT_MAX: u32 = 1_000;
/// The most audit rows one read returns; larger limits are clamped.
pub const AUDIT_READ_LIMIT_MAX: u32 = 10_000;

/// A user to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// The PHC string of an argon2id hash.
    pub password_hash: String,
    /// Stable role name.
    pub role: String,
    /// The user's agency id.
    pub agency: String,
    /// The user's team, if any.
    pub team: Option<String>,
    /// UTC microseconds since the epoch.
    pub created_at_us: i64,
    /// Set for an account created inactive (a casework account an
    /// administrator created waits for a manager of its agency to activate it).
    pub disabled_at_us: Option<i64>,
}

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Its id.
    pub id: i64,
    /// Unique login name.
    pub username: String,
    /// The PHC string of an argon2id hash.
    pub password_hash: String,
    /// Stable role name.
    pub role: String,
    /// The user's agency id.
    pub agency: String,
    /// The user's team, if any.
    pub team: Option<String>,
    /// When created.
    pub created_at_us: i64,
    /// When disabled, if it is.
    pub disabled_at_us: Option<i64>,
}

// The password hash stays out of Debug output (and so out of logs).
impl fmt::Debug for NewUser {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("agency", &self.agency)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for UserRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("agency", &self.agency)
            .field("team", &self.team)
            .finish_non_exhaustive()
    }
}

/// A stored session (found by the hash of its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Whose session.
    pub user_id: i64,
    /// When it began.
    pub created_at_us: i64,
    /// When it was last used.
    pub last_seen_us: i64,
    /// When it was ended (logout), if it was.
    pub ended_at_us: Option<i64>,
}

/// Failed logins of one throttle key: a username, or `source:ADDRESS` for a
/// client address (usernames cannot contain `:`, so the two never collide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRow {
    /// Failures since the count last started (after a quiet window, or a
    /// successful login of the username).
    pub n_failures: i64,
    /// The latest failure.
    pub last_failure_us: i64,
    /// Logins are refused until then.
    pub locked_until_us: Option<i64>,
}

/// How failures are counted and delayed; see
/// [`AccountStore::record_login_failure`]. Back-off, not a fixed lock: the first
/// `free_failures` cost nothing, then each further failure doubles a delay from
/// `delay_first_us` up to `delay_max_us`, so a guesser cannot keep the key shut
/// for longer than `delay_max_us` after their latest failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures further apart than this start a new count (keep it longer than
    /// `delay_max_us`, or the count would decay while the key waits).
    pub window_us: i64,
    /// This many failures in a window are not delayed.
    pub free_failures: i64,
    /// The delay after the first failure beyond the free ones.
    pub delay_first_us: i64,
    /// The longest delay.
    pub delay_max_us: i64,
}

impl ThrottlePolicy {
    /// The delay after the `n_failures`-th failure of a count: none while
    /// free, then `delay_first_us` doubled per further failure, capped.
    pub fn delay_us(&self, n_failures: i64) -> i64 {
        let beyond = n_failures.saturating_sub(self.free_failures);
        if beyond <= 0 {
            return 0;
        }
        let doublings = u32::try_from(beyond - 1).unwrap_or(u32::MAX).min(62);
        self.delay_first_us
            .max(0)
            .saturating_mul(1_i64 << doublings)
            .min(self.delay_max_us)
    }
}

/// A break-glass grant to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// Who broke glass.
    pub user_id: i64,
    /// What it grants (a resource key such as `record:police/DA-1`).
    pub resource_key: String,
    /// The reason they gave.
    pub reason: String,
    /// When.
    pub granted_at_us: i64,
    /// Until when (exclusive).
    pub expires_at_us: i64,
}

/// A stored break-glass grant, with the username for the privacy officer's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// Its id.
    pub id: i64,
    /// Who broke glass.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// What it grants.
    pub resource_key: String,
    /// The reason they gave.
    pub reason: String,
    /// When.
    pub granted_at_us: i64,
    /// Until when (exclusive).
    pub expires_at_us: i64,
}

/// An agency token without its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Its id.
    pub id: i64,
    /// Its agency.
    pub agency: String,
    /// When created.
    pub created_at_us: i64,
    /// When revoked, if it was.
    pub revoked_at_us: Option<i64>,
}

/// A record without its body, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// Position in the log.
    pub seq: i64,
    /// The sending agency.
    pub agency: String,
    /// The agency's record id.
    pub record_id: String,
    /// The version.
    pub version: i64,
    /// The record kind.
    pub kind: String,
    /// As sent.
    pub occurred_at: String,
    /// When Sightline received it.
    pub received_at_us: i64,
}

/// One row of the audit log. The chain's maths (what `entry_hash` must be) is in
/// `sightline_access::audit`; the store only keeps the rows in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Gapless position from 1.
    pub seq: i64,
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
    /// The acting user, if a user.
    pub actor_user_id: Option<i64>,
    /// Their username (or `cli`).
    pub actor_username: String,
    /// Their role.
    pub actor_role: String,
    /// Their agency.
    pub actor_agency: String,
    /// The view or action.
    pub action: String,
    /// Which person or record.
    pub resource_key: String,
    /// Under which relationship or grant.
    pub basis: String,
    /// The decision or result.
    pub outcome: String,
    /// The previous entry's hash (zeros for the first).
    pub prev_hash: [u8; 32],
    /// This entry's hash.
    pub entry_hash: [u8; 32],
}

/// Accounts, sessions, throttling, grants and the token list.
pub trait AccountStore: Send + Sync {
    /// Creates a user; `None` when the username is taken.
    fn create_user(&self, user: &NewUser) -> Result<Option<i64>, StoreError>;
    /// The user with this username.
    fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    /// The user with this id.
    fn user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, StoreError>;
    /// Disables an active user at `at_us`: they cannot sign in and their
    /// sessions stop counting. `false` if there is no such active user.
    fn disable_user(&self, user_id: i64, at_us: i64) -> Result<bool, StoreError>;
    /// Makes an inactive (disabled, or not yet activated) user active. `false`
    /// if there is no such inactive user.
    fn enable_user(&self, user_id: i64) -> Result<bool, StoreError>;
    /// Users by username, at most `limit` (clamped to [`ACCOUNT_LIST_LIMIT_MAX`]).
    fn list_users(&self, limit: u32) -> Result<Vec<UserRow>, StoreError>;
    /// The user an external identity (an OpenID Connect issuer and subject)
    /// is linked to, if any.
    fn user_by_external_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRow>, StoreError>;
    /// Links an external identity to a user. `false` when the identity was
    /// already linked (to this user or another): a link never changes.
    fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        at_us: i64,
    ) -> Result<bool, StoreError>;
    /// Whether any external identity is linked to the user.
    fn has_external_identity(&self, user_id: i64) -> Result<bool, StoreError>;
    /// Sets a user's role, agency and team (sign-in with a provider maps them
    /// again at every sign-in). `false` if there is no such user.
    fn set_user_role(
        &self,
        user_id: i64,
        role: &str,
        agency: &str,
        team: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Stores a new session under the hash of its id.
    fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        now_us: i64,
    ) -> Result<(), StoreError>;
    /// The session with this id hash.
    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError>;
    /// Marks the session used at `now_us`.
    fn touch_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<(), StoreError>;
    /// Ends the session; `false` if there was no such live session.
    fn end_session(&self, id_hash: &[u8; 32], now_us: i64) -> Result<bool, StoreError>;
    /// The failed-login state of a throttle key: a username (known or not) or
    /// `source:ADDRESS`.
    fn login_throttle(&self, username: &str) -> Result<Option<ThrottleRow>, StoreError>;
    /// Counts one failed login of a throttle key (a new count when the latest
    /// failure is older than `window_us`) and, beyond `free_failures`, refuses
    /// the key for [`ThrottlePolicy::delay_us`] from `now_us`. Returns the new
    /// state.
    fn record_login_failure(
        &self,
        username: &str,
        now_us: i64,
        policy: &ThrottlePolicy,
    ) -> Result<ThrottleRow, StoreError>;
    /// Forgets a throttle key's failed logins (a username's, after a
    /// successful login).
    fn clear_login_failures(&self, username: &str) -> Result<(), StoreError>;
    /// Whether the refusal of a request the key `username` must wait for at
    /// `now_us` is the first of its delay window (which begins at the key's
    /// last failure): `true` once per window, marking it, so that refusals
    /// are audited once per key and window however many requests arrive.
    /// `false` when the key is not waiting at `now_us`. One statement, so
    /// concurrent refusals claim it once.
    fn claim_refusal_audit(&self, username: &str, now_us: i64) -> Result<bool, StoreError>;
    /// Records a break-glass grant and returns its id.
    fn create_grant(&self, grant: &NewGrant) -> Result<i64, StoreError>;
    /// Breaks the glass in one transaction, under the audit lock: records the
    /// grant only if its user was given fewer than `max` grants after
    /// `since_us` (counted and inserted in one statement), then the notice
    /// `notice(grant_id)` makes, then the audit entry `audit(grant id, seq,
    /// prev_hash)` builds (as [`AuditStore::append_audit`]'s `build`). At the
    /// limit nothing is granted or told, and the audit entry is built with
    /// `None` for the refusal. Returns the grant's id, or `None` at the limit.
    /// A crash leaves all three or none: never a grant without its audit entry.
    fn break_glass(
        &self,
        grant: &NewGrant,
        since_us: i64,
        max: i64,
        notice: &dyn Fn(i64) -> crate::NewNotice,
        audit: &mut dyn FnMut(Option<i64>, i64, [u8; 32]) -> AuditRow,
    ) -> Result<Option<i64>, StoreError>;
    /// A user's grants that have not expired at `now_us`.
    fn live_grants(&self, user_id: i64, now_us: i64) -> Result<Vec<GrantRow>, StoreError>;
    /// All grants, newest first, at most `limit`.
    fn list_grants(&self, limit: u32) -> Result<Vec<GrantRow>, StoreError>;
    /// Agency tokens (without hashes), newest first, at most `limit`.
    fn list_tokens(&self, limit: u32) -> Result<Vec<TokenRow>, StoreError>;
    /// The newest records of one agency (no bodies), newest first, at most
    /// `limit`: the "My work" page's list until alerts land.
    fn recent_records(&self, agency: &str, limit: u32) -> Result<Vec<RecordSummary>, StoreError>;
}

/// The append-only, hash-chained audit log.
pub trait AuditStore: Send + Sync {
    /// Appends one entry. Under the audit lock, calls `build(seq, prev_hash)` with
    /// the next `seq` and the newest entry's hash (zeros when empty); the row it
    /// returns (with its `entry_hash`) is inserted and becomes the head. The row's
    /// `seq` and `prev_hash` must be the ones given, else [`StoreError::Corrupt`].
    fn append_audit(
        &self,
        build: &mut dyn FnMut(i64, [u8; 32]) -> AuditRow,
    ) -> Result<AuditRow, StoreError>;
    /// Entries with `seq > after_seq`, ascending, at most `limit`.
    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError>;
    /// The newest entries with `seq < before_seq` (all when `None`), newest first.
    fn audit_recent(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// The newest entries whose `resource_key` is one of `resource_keys`, newest
    /// first, at most `limit` (index `audit_log_resource_seq`: reads only those
    /// entries, never the whole log; keys are asked about in chunks).
    fn audit_about(
        &self,
        resource_keys: &[String],
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// The recorded head: the newest entry's `seq` and hash.
    fn audit_head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError>;
}

/// Resource keys per statement of [`AuditStore::audit_about`] (SQLite binds one
/// parameter per key).
pub(crate) const AUDIT_KEYS_PER_QUERY: usize = 500;

/// Merges the newest-first answers of [`AuditStore::audit_about`]'s chunks.
pub(crate) fn newest_first(mut rows: Vec<AuditRow>, limit: u32) -> Vec<AuditRow> {
    rows.sort_unstable_by_key(|row| std::cmp::Reverse(row.seq));
    rows.dedup_by_key(|row| row.seq);
    rows.truncate(usize::try_from(clamp(limit, AUDIT_READ_LIMIT_MAX)).unwrap_or(0));
    rows
}

/// Clamps a list limit.
pub(crate) fn clamp(limit: u32, max: u32) -> i64 {
    i64::from(limit.min(max))
}

pub(crate) fn hash32(bytes: &[u8], what: &'static str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Corrupt(what))
}

// The SQL both backends run, with PostgreSQL placeholders.
pub(crate) const USER_COLUMNS: &str =
    "id, username, password_hash, role, agency, team, created_at_us, disabled_at_us";
pub(crate) const INSERT_USER: &str = "INSERT INTO users (username, password_hash, role, agency, team, created_at_us, disabled_at_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING RETURNING id";
pub(crate) const DISABLE_USER: &str =
    "UPDATE users SET disabled_at_us = $2 WHERE id = $1 AND disabled_at_us IS NULL";
pub(crate) const ENABLE_USER: &str =
    "UPDATE users SET disabled_at_us = NULL WHERE id = $1 AND disabled_at_us IS NOT NULL";
pub(crate) const SELECT_USER_BY_IDENTITY: &str = "SELECT u.id, u.username, u.password_hash, u.role, u.agency, u.team, u.created_at_us, u.disabled_at_us \
     FROM external_identities e JOIN users u ON u.id = e.user_id WHERE e.issuer = $1 AND e.subject = $2";
pub(crate) const INSERT_IDENTITY: &str = "INSERT INTO external_identities (issuer, subject, user_id, created_at_us) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject) DO NOTHING";
pub(crate) const SELECT_IDENTITY_OF_USER: &str =
    "SELECT 1 FROM external_identities WHERE user_id = $1 LIMIT 1";
pub(crate) const SET_USER_ROLE: &str =
    "UPDATE users SET role = $2, agency = $3, team = $4 WHERE id = $1";
pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO sessions (id_hash, user_id, created_at_us, last_seen_us) VALUES ($1, $2, $3, $3)";
pub(crate) const SELECT_SESSION: &str =
    "SELECT user_id, created_at_us, last_seen_us, ended_at_us FROM sessions WHERE id_hash = $1";
pub(crate) const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_seen_us = $2 WHERE id_hash = $1 AND last_seen_us < $2";
pub(crate) const END_SESSION: &str =
    "UPDATE sessions SET ended_at_us = $2 WHERE id_hash = $1 AND ended_at_us IS NULL";
pub(crate) const SELECT_THROTTLE: &str =
    "SELECT n_failures, last_failure_us, locked_until_us FROM login_throttle WHERE username = $1";
pub(crate) const COUNT_FAILURE: &str = "INSERT INTO login_throttle (username, n_failures, last_failure_us) VALUES ($1, 1, $2) \
     ON CONFLICT (username) DO UPDATE SET \
     n_failures = CASE WHEN login_throttle.last_failure_us < $3 THEN 1 ELSE login_throttle.n_failures + 1 END, \
     last_failure_us = $2 \
     RETURNING n_failures, last_failure_us, locked_until_us";
pub(crate) const DELAY_KEY: &str = "UPDATE login_throttle SET locked_until_us = $2 WHERE username = $1 \
     RETURNING n_failures, last_failure_us, locked_until_us";
pub(crate) const CLEAR_THROTTLE: &str = "DELETE FROM login_throttle WHERE username = $1";
pub(crate) const CLAIM_REFUSAL_AUDIT: &str = "UPDATE login_throttle SET refusal_audited_us = $2 \
     WHERE username = $1 AND locked_until_us > $2 \
     AND (refusal_audited_us IS NULL OR refusal_audited_us < last_failure_us)";
pub(crate) const INSERT_GRANT: &str = "INSERT INTO break_glass_grants (user_id, resource_key, reason, granted_at_us, expires_at_us) \
     VALUES ($1, $2, $3, $4, $5) RETURNING id";
/// [`INSERT_GRANT`] only while the user has fewer than `$7` grants given after
/// `$6`: the count and the insert are one statement.
pub(crate) const INSERT_GRANT_WITHIN: &str = "INSERT INTO break_glass_grants (user_id, resource_key, reason, granted_at_us, expires_at_us) \
     SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT) \
     WHERE (SELECT COUNT(*) FROM break_glass_grants WHERE user_id = $1 AND granted_at_us > $6) < $7 \
     RETURNING id";
pub(crate) const GRANT_COLUMNS: &str =
    "g.id, g.user_id, u.username, g.resource_key, g.reason, g.granted_at_us, g.expires_at_us";
pub(crate) const SELECT_TOKENS: &str =
    "SELECT id, agency, created_at_us, revoked_at_us FROM agency_tokens ORDER BY id DESC LIMIT $1";
pub(crate) const RECENT_RECORDS: &str = "SELECT seq, agency, record_id, version, kind, occurred_at, received_at_us \
     FROM records WHERE agency = $1 ORDER BY seq DESC LIMIT $2";
pub(crate) const AUDIT_COLUMNS: &str = "seq, at_us, actor_user_id, actor_username, actor_role, actor_agency, action, \
     resource_key, basis, outcome, prev_hash, entry_hash";
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (seq, at_us, actor_user_id, actor_username, actor_role, actor_agency, \
     action, resource_key, basis, outcome, prev_hash, entry_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(crate) const SELECT_HEAD: &str = "SELECT seq, entry_hash FROM audit_head WHERE id = 1";
pub(crate) const UPSERT_HEAD: &str = "INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, $1, $2) \
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, entry_hash = excluded.entry_hash";

/// Checks a row built by the caller of [`AuditStore::append_audit`].
pub(crate) fn check_audit_row(
    row: &AuditRow,
    seq: i64,
    prev_hash: &[u8; 32],
) -> Result<(), StoreError> {
    if row.seq != seq || row.prev_hash != *prev_hash {
        return Err(StoreError::Corrupt(
            "audit row does not continue the chain it was given",
        ));
    }
    Ok(())
}

/// Appends one audit entry on `conn`, inside the caller's transaction: takes
/// the audit lock ([`crate::alerts::AlertConn::lock_audit`]), reads the head,
/// calls `build(seq, prev_hash)`, checks and inserts its row and moves the
/// head. Both backends' [`AuditStore::append_audit`] and every write that
/// must carry its audit entry in its own transaction go through here.
pub(crate) fn append_audit_in(
    conn: &mut dyn crate::alerts::AlertConn,
    build: &mut dyn FnMut(i64, [u8; 32]) -> AuditRow,
) -> Result<AuditRow, StoreError> {
    use crate::alerts::{Cell, Param, int};
    conn.lock_audit()?;
    let head = conn.query(SELECT_HEAD, &[])?;
    let (seq, prev_hash) = match head.first() {
        Some(cells) => {
            let seq = int(cells.first())?;
            let hash = match cells.get(1) {
                Some(Cell::Bytes(bytes)) => hash32(bytes, "audit head is not 32 bytes")?,
                _ => return Err(StoreError::Corrupt("audit head is not 32 bytes")),
            };
            (seq.saturating_add(1), hash)
        }
        None => (1, [0; 32]),
    };
    let row = build(seq, prev_hash);
    check_audit_row(&row, seq, &prev_hash)?;
    conn.execute(
        INSERT_AUDIT,
        &[
            Param::Int(row.seq),
            Param::Int(row.at_us),
            row.actor_user_id.map_or(Param::NullInt, Param::Int),
            Param::Text(&row.actor_username),
            Param::Text(&row.actor_role),
            Param::Text(&row.actor_agency),
            Param::Text(&row.action),
            Param::Text(&row.resource_key),
            Param::Text(&row.basis),
            Param::Text(&row.outcome),
            Param::Bytes(&row.prev_hash),
            Param::Bytes(&row.entry_hash),
        ],
    )?;
    conn.execute(
        UPSERT_HEAD,
        &[Param::Int(row.seq), Param::Bytes(&row.entry_hash)],
    )?;
    Ok(row)
}

/// [`AccountStore::break_glass`] on `conn`, inside the caller's transaction.
pub(crate) fn break_glass_in(
    conn: &mut dyn crate::alerts::AlertConn,
    grant: &NewGrant,
    since_us: i64,
    max: i64,
    notice: &dyn Fn(i64) -> crate::NewNotice,
    audit: &mut dyn FnMut(Option<i64>, i64, [u8; 32]) -> AuditRow,
) -> Result<Option<i64>, StoreError> {
    use crate::alerts::{Param, int};
    // The audit lock first: on PostgreSQL it also serialises the count and
    // the insert of concurrent requests by the same user, so the daily limit
    // holds under READ COMMITTED too.
    conn.lock_audit()?;
    let rows = conn.query(
        INSERT_GRANT_WITHIN,
        &[
            Param::Int(grant.user_id),
            Param::Text(&grant.resource_key),
            Param::Text(&grant.reason),
            Param::Int(grant.granted_at_us),
            Param::Int(grant.expires_at_us),
            Param::Int(since_us),
            Param::Int(max),
        ],
    )?;
    let grant_id = match rows.first() {
        Some(cells) => Some(int(cells.first())?),
        None => None,
    };
    if let Some(grant_id) = grant_id {
        crate::access::append_notice_in(conn, &notice(grant_id))?;
    }
    append_audit_in(conn, &mut |seq, prev_hash| audit(grant_id, seq, prev_hash))?;
    Ok(grant_id)
}
