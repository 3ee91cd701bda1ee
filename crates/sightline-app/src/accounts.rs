//! Staff accounts and sessions: argon2id password hashes, 256-bit session ids of
//! which only the SHA-256 is stored, idle and absolute timeouts, lock-out after
//! repeated failures, CSRF tokens bound to the session, break-glass grants and
//! demo accounts.
//!
//! - Invariant: a login answer does not depend on whether the username exists:
//!   failures are counted and locked per username, known or not, and an unknown
//!   username still costs one argon2id verification.
//! - Invariant: nothing secret is logged or kept: passwords and session ids exist
//!   only in memory; `Debug` of [`Password`] and [`SessionSecret`] is redacted.

use crate::audit::{AuditActor, record};
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sightline_access::{
    AccessContext, Action, Actor, BreakGlassGrant, BreakGlassReason, Decision, Resource, Role,
    authorize,
};
use sightline_core::AgencyId;
use sightline_store::{
    NOTICE_BREAK_GLASS, NewGrant, NewNotice, NewUser, Store, StoreError, ThrottlePolicy, UserRow,
};
use std::fmt;
use std::sync::OnceLock;

/// Session and login rules. Every limit is explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_us: i64,
    /// A session ends this long after login, however busy.
    pub absolute_us: i64,
    /// `last_seen` is written at most this often per session.
    pub touch_interval_us: i64,
    /// Back-off after repeated failed logins of one username (known or not):
    /// short, so that a guesser cannot keep the account's owner out for long.
    pub throttle: ThrottlePolicy,
    /// Back-off after repeated failed logins from one client address (any
    /// usernames): longer, so that one source guessing at many accounts is
    /// slowed to a few guesses an hour.
    pub source_throttle: ThrottlePolicy,
    /// How long a break-glass grant lasts.
    pub break_glass_us: i64,
    /// Most break-glass grants one user may be given in any 24 hours.
    pub break_glass_per_day: u32,
}

const MINUTE_US: i64 = 60 * 1_000_000;

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_us: 30 * MINUTE_US,
            absolute_us: 12 * 60 * MINUTE_US,
            touch_interval_us: MINUTE_US,
            throttle: ThrottlePolicy {
                window_us: 15 * MINUTE_US,
                free_failures: 5,
                delay_first_us: 1_000_000,
                delay_max_us: MINUTE_US,
            },
            // Generous before the first delay: one address may be a whole
            // office behind a NAT, all of whose mistakes count here.
            source_throttle: ThrottlePolicy {
                window_us: 60 * MINUTE_US,
                free_failures: 20,
                delay_first_us: 1_000_000,
                delay_max_us: 15 * MINUTE_US,
            },
            break_glass_us: 4 * 60 * MINUTE_US,
            break_glass_per_day: 5,
        }
    }
}

/// A login name: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit,
/// not starting `oidc-` (kept for accounts made by sign-in with a provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username (lower case only, so two accounts cannot differ by case).
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let ok_chars = text.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'_' | b'-')
        });
        let ok_start = text
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
        // `oidc-` names the accounts sign-in with a provider makes
        // (`sign_in::external_username`); nobody may choose one.
        let reserved = text.starts_with(crate::sign_in::EXTERNAL_USERNAME_PREFIX);
        if (3..=64).contains(&text.len()) && ok_chars && ok_start && !reserved {
            Ok(Username(text.to_owned()))
        } else {
            Err(AccountError::InvalidUsername)
        }
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team name: 1 to 64 of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team(String);

impl Team {
    /// Parses a team name.
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if ok {
            Ok(Team(text.to_owned()))
        } else {
            Err(AccountError::InvalidTeam)
        }
    }

    /// The team name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 12 to 1,024 characters. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Fewest characters.
    pub const CHARS_MIN: usize = 12;
    /// Most bytes (bounds the hashing work an attacker can ask for).
    pub const BYTES_MAX: usize = 1_024;

    /// Parses a new password.
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        if text.chars().count() < Self::CHARS_MIN {
            return Err(AccountError::WeakPassword);
        }
        if text.len() > Self::BYTES_MAX {
            return Err(AccountError::PasswordTooLong);
        }
        Ok(Password(text.to_owned()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Password(..)")
    }
}

/// The cookie value of a session: 256 random bits as 64 hex digits. Only its
/// SHA-256 is stored. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SessionSecret(hex::encode(bytes))
    }

    /// Parses a presented cookie value; `None` if it cannot be a session id.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| SessionSecret(text.to_ascii_lowercase()))
    }

    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The CSRF (synchroniser) token of this session: derived from the secret, so
    /// only the holder of the session cookie can know it, and it dies with it.
    pub fn csrf_token(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"sightline-csrf-v1\0");
        hasher.update(self.0.as_bytes());
        hex::encode(hasher.finalize())
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionSecret(..)")
    }
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    let (expected, given) = (expected.as_bytes(), given.as_bytes());
    if expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// A random token for forms shown before login (double-submit with a cookie).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A user as the rest of Sightline sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Agency.
    pub agency: AgencyId,
    /// Team, if any.
    pub team: Option<String>,
}

impl Account {
    /// The account of a stored user row.
    pub fn from_row(row: &UserRow) -> Result<Account, AccountError> {
        Ok(Account {
            id: row.id,
            username: row.username.clone(),
            role: Role::parse(&row.role).map_err(|_| AccountError::CorruptUser)?,
            agency: AgencyId::parse(&row.agency).map_err(|_| AccountError::CorruptUser)?,
            team: row.team.clone(),
        })
    }

    /// The account as [`sightline_access::authorize`] takes it.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            role: self.role,
            agency: self.agency.clone(),
            team: self.team.clone(),
        }
    }
}

/// What can go wrong with accounts. Messages carry no secret.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "a username is 3 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
    )]
    InvalidUsername,
    #[error("a team is 1 to 64 characters of a-z, 0-9 and '-'")]
    InvalidTeam,
    #[error("a password needs at least 12 characters")]
    WeakPassword,
    #[error("a password may have at most 1,024 bytes")]
    PasswordTooLong,
    #[error("that username is taken")]
    UsernameTaken,
    #[error("password hashing failed")]
    Hashing,
    #[error("a stored user has an unknown role or agency")]
    CorruptUser,
}

fn hasher() -> Argon2<'static> {
    // argon2id, version 0x13, 19 MiB, 2 passes, 1 lane: OWASP's recommended minimum.
    Argon2::default()
}

/// The PHC string of an argon2id hash of `password` with a fresh random salt.
pub fn hash_password(password: &Password) -> Result<String, AccountError> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| AccountError::Hashing)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| AccountError::Hashing)
}

fn password_matches(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of nothing anyone knows, verified against when the username is
/// unknown, so that answering takes as long as for a real user.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Password::parse(&random_token())
            .and_then(|password| hash_password(&password))
            .unwrap_or_default()
    })
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub password: Password,
    pub role: Role,
    pub agency: AgencyId,
    pub team: Option<Team>,
}

/// Whether an account of `role` that `by` creates starts inactive: a casework
/// account an administrator creates waits until a team manager or
/// safeguarding lead of its agency activates it ([`activate_account`]), so that
/// an administrator cannot read case content through an account of their own
/// making (issue #15, finding 10). The operator at the command line (who holds
/// the database) creates accounts active.
pub fn created_inactive(by: &AuditActor, role: Role) -> bool {
    by.role == Role::Administrator.as_str() && role.does_casework()
}

/// Creates an account (audited as `create_user` by `by`: outcome `ok`, or
/// `inactive` when it waits for activation, see [`created_inactive`]).
pub fn create_account(
    store: &dyn Store,
    account: &NewAccount,
    by: &AuditActor,
    now: DateTime<Utc>,
) -> Result<Account, AccountError> {
    let now_us = crate::to_micros(now);
    let inactive = created_inactive(by, account.role);
    let row = NewUser {
        username: account.username.as_str().to_owned(),
        password_hash: hash_password(&account.password)?,
        role: account.role.as_str().to_owned(),
        agency: account.agency.as_str().to_owned(),
        team: account.team.as_ref().map(|team| team.as_str().to_owned()),
        created_at_us: now_us,
        disabled_at_us: inactive.then_some(now_us),
    };
    let id = store
        .accounts()
        .create_user(&row)?
        .ok_or(AccountError::UsernameTaken)?;
    record(
        store,
        by,
        "create_user",
        &format!("user:{id}"),
        &format!("role:{}", by.role),
        if inactive { "inactive" } else { "ok" },
        now,
    )?;
    Ok(Account {
        id,
        username: row.username,
        role: account.role,
        agency: account.agency.clone(),
        team: row.team,
    })
}

/// Disables an account at once: it cannot sign in, and its sessions stop
/// counting from their next request. Audited (`disable_user` on `user:ID`,
/// outcome `ok`, or `not_found` when there is no such active account).
/// Administrators (the web page) and the operator (`sightline user disable`).
pub fn disable_account(
    store: &dyn Store,
    user_id: i64,
    by: &AuditActor,
    now: DateTime<Utc>,
) -> Result<bool, AccountError> {
    let disabled = store
        .accounts()
        .disable_user(user_id, crate::to_micros(now))?;
    record(
        store,
        by,
        "disable_user",
        &format!("user:{user_id}"),
        &format!("role:{}", by.role),
        if disabled { "ok" } else { "not_found" },
        now,
    )?;
    Ok(disabled)
}

/// Who activates an account.
#[derive(Debug, Clone, Copy)]
pub enum Activator<'a> {
    /// A signed-in user: for a casework account, a team manager or
    /// safeguarding lead of its agency; for another, an administrator; never
    /// oneself.
    User(&'a Account),
    /// The operator at the command line (`sightline user enable`), who holds
    /// the database.
    Operator,
}

/// What activating an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// No such inactive account.
    NotFound,
    /// The activator may not activate this account.
    NotAllowed,
}

/// Whether `by` may activate `user` (see [`Activator::User`]).
pub fn may_activate(by: &Account, user: &UserRow) -> bool {
    if by.id == user.id {
        return false;
    }
    match Role::parse(&user.role) {
        Ok(role) if role.does_casework() => {
            matches!(by.role, Role::TeamManager | Role::SafeguardingLead)
                && by.agency.as_str() == user.agency
        }
        Ok(_) => by.role == Role::Administrator,
        Err(_) => false,
    }
}

/// Activates an inactive account (one an administrator created, or one
/// disabled). Audited (`activate_user` on `user:ID`, outcome `ok`, `deny` or
/// `not_found`).
pub fn activate_account(
    store: &dyn Store,
    user_id: i64,
    by: Activator<'_>,
    now: DateTime<Utc>,
) -> Result<Activation, AccountError> {
    let accounts = store.accounts();
    let user = accounts
        .user_by_id(user_id)?
        .filter(|user| user.disabled_at_us.is_some());
    let outcome = match (&user, by) {
        (None, _) => Activation::NotFound,
        (Some(user), Activator::User(account)) if !may_activate(account, user) => {
            Activation::NotAllowed
        }
        (Some(_), _) => {
            if accounts.enable_user(user_id)? {
                Activation::Activated
            } else {
                Activation::NotFound
            }
        }
    };
    let actor = match by {
        Activator::User(account) => AuditActor::of(account),
        Activator::Operator => AuditActor::cli(),
    };
    record(
        store,
        &actor,
        "activate_user",
        &format!("user:{user_id}"),
        &format!("role:{}", actor.role),
        match outcome {
            Activation::Activated => "ok",
            Activation::NotFound => "not_found",
            Activation::NotAllowed => "deny",
        },
        now,
    )?;
    Ok(outcome)
}

/// Accounts, by username, at most `limit`.
pub fn list_accounts(store: &dyn Store, limit: u32) -> Result<Vec<Account>, AccountError> {
    store
        .accounts()
        .list_users(limit)?
        .iter()
        .map(Account::from_row)
        .collect()
}

/// The answer to a login attempt.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: set the cookie to `secret`.
    SignedIn {
        account: Account,
        secret: SessionSecret,
    },
    /// Refused. The same for a wrong password and an unknown username; when the
    /// username (known or not) or the client address must wait, until when.
    Refused { locked_until: Option<DateTime<Utc>> },
}

/// The throttle key of a client address: `source:` and the address, an IPv6
/// address by its /64 (one host usually holds a whole /64).
pub fn source_key(address: std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V4(v4) => format!("source:{v4}"),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("source:{v4}"),
            None => {
                let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                format!("source:{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Why a login was refused without checking its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Throttled {
    Source,
    Account,
}

impl Throttled {
    fn as_str(self) -> &'static str {
        match self {
            Throttled::Source => "throttle:source",
            Throttled::Account => "throttle:account",
        }
    }
}

/// Checks a username and password and starts a session. `source` is the
/// client's address when known (the web; not the command line): its failures
/// are counted and delayed apart from the username's.
pub fn login(
    store: &dyn Store,
    username: &str,
    password: &str,
    source: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<LoginOutcome, AccountError> {
    let now_us = crate::to_micros(now);
    let accounts = store.accounts();
    let source_key = source.map(source_key);
    let waiting_until = |key: &str| -> Result<Option<i64>, AccountError> {
        Ok(accounts
            .login_throttle(key)?
            .and_then(|throttle| throttle.locked_until_us)
            .filter(|until| *until > now_us))
    };
    let parsed = Username::parse(username.trim());
    // A source that must wait is refused before anything else, whatever name
    // it tries; then a username that must wait. Neither checks the password,
    // so neither counts as a failure (waiting out the delay is enough).
    let source_wait = match &source_key {
        Some(key) => waiting_until(key)?.map(|until| (Throttled::Source, key.as_str(), until)),
        None => None,
    };
    let wait = match (source_wait, &parsed) {
        (Some(wait), _) => Some(wait),
        (None, Ok(name)) => {
            waiting_until(name.as_str())?.map(|until| (Throttled::Account, name.as_str(), until))
        }
        (None, Err(_)) => None,
    };
    if let Some((why, key, until_us)) = wait {
        // Audited (issue #15, finding 9) once per key and delay window, not
        // once per request: a client that keeps asking while it must wait
        // cannot flood the audit log (the first refusal of the window says
        // the key was throttled; the rest add nothing).
        if !accounts.claim_refusal_audit(key, now_us)? {
            tracing::debug!(
                throttle = why.as_str(),
                "login refused: must wait (audited)"
            );
            return Ok(LoginOutcome::Refused {
                locked_until: Some(crate::from_micros(until_us)),
            });
        }
        // The account tried when it exists, else `user:unknown`; never the
        // password. The log line names neither the user nor the source.
        let tried = match &parsed {
            Ok(name) => accounts
                .user_by_username(name.as_str())?
                .map(|user| Account::from_row(&user))
                .transpose()?,
            Err(_) => None,
        };
        let resource = tried.as_ref().map_or_else(
            || "user:unknown".to_owned(),
            |account| format!("user:{}", account.id),
        );
        record(
            store,
            &AuditActor::login_attempt(tried.as_ref()),
            "login_throttled",
            &resource,
            why.as_str(),
            "refused",
            now,
        )?;
        tracing::info!(throttle = why.as_str(), "login refused: must wait");
        return Ok(LoginOutcome::Refused {
            locked_until: Some(crate::from_micros(until_us)),
        });
    }
    let Ok(username) = parsed else {
        // No such account can exist; still spend the time of a verification,
        // and count the failure against the source.
        let _ = password_matches(dummy_hash(), password);
        let locked_until = match &source_key {
            Some(key) => accounts
                .record_login_failure(key, now_us, &policy.source_throttle)?
                .locked_until_us
                .filter(|until| *until > now_us)
                .map(crate::from_micros),
            None => None,
        };
        return Ok(LoginOutcome::Refused { locked_until });
    };
    let username = username.as_str();
    let user = accounts
        .user_by_username(username)?
        .filter(|user| user.disabled_at_us.is_none());
    let password = if password.len() > Password::BYTES_MAX {
        ""
    } else {
        password
    };
    let verified = match &user {
        Some(user) => password_matches(&user.password_hash, password) && !password.is_empty(),
        None => {
            let _ = password_matches(dummy_hash(), password);
            false
        }
    };
    let user = match user {
        Some(user) if verified => user,
        user => {
            let account_until = accounts
                .record_login_failure(username, now_us, &policy.throttle)?
                .locked_until_us;
            let source_until = match &source_key {
                Some(key) => {
                    accounts
                        .record_login_failure(key, now_us, &policy.source_throttle)?
                        .locked_until_us
                }
                None => None,
            };
            let locked_until = account_until
                .max(source_until)
                .filter(|until| *until > now_us)
                .map(crate::from_micros);
            // Audited (issue #15, findings 9 and 11): the account tried, or
            // `user:unknown` without the text typed. A request refused because the
            // name or the source must wait is audited above as `login_throttled`.
            let tried = user.as_ref().map(Account::from_row).transpose()?;
            crate::audit::login_failed(
                store,
                tried.as_ref(),
                "password",
                if locked_until.is_some() {
                    "locked"
                } else {
                    "refused"
                },
                now,
            )?;
            tracing::info!(
                user.id = tried.as_ref().map(|account| account.id),
                locked = locked_until.is_some(),
                "login refused"
            );
            return Ok(LoginOutcome::Refused { locked_until });
        }
    };
    let account = Account::from_row(&user)?;
    accounts.clear_login_failures(username)?;
    let secret = SessionSecret::generate();
    accounts.create_session(&secret.id_hash(), account.id, now_us)?;
    record(
        store,
        &AuditActor::of(&account),
        "login",
        &format!("user:{}", account.id),
        "password",
        "ok",
        now,
    )?;
    tracing::info!(user.id = account.id, "signed in");
    Ok(LoginOutcome::SignedIn { account, secret })
}

/// A live session.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// Whose.
    pub account: Account,
    /// The CSRF token every form of this session must carry.
    pub csrf_token: String,
}

/// The account of a presented session cookie, if the session is live: not ended,
/// used within the idle timeout, and younger than the absolute timeout.
pub fn session_account(
    store: &dyn Store,
    cookie_value: &str,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<Option<LiveSession>, AccountError> {
    let Some(secret) = SessionSecret::parse(cookie_value) else {
        return Ok(None);
    };
    let now_us = crate::to_micros(now);
    let id_hash = secret.id_hash();
    let accounts = store.accounts();
    let Some(session) = accounts.session(&id_hash)? else {
        return Ok(None);
    };
    let expired = session.ended_at_us.is_some()
        || now_us.saturating_sub(session.last_seen_us) >= policy.idle_us
        || now_us.saturating_sub(session.created_at_us) >= policy.absolute_us;
    if expired {
        if session.ended_at_us.is_none() {
            accounts.end_session(&id_hash, now_us)?;
        }
        return Ok(None);
    }
    let Some(user) = accounts
        .user_by_id(session.user_id)?
        .filter(|user| user.disabled_at_us.is_none())
    else {
        return Ok(None);
    };
    if now_us.saturating_sub(session.last_seen_us) >= policy.touch_interval_us {
        accounts.touch_session(&id_hash, now_us)?;
    }
    Ok(Some(LiveSession {
        account: Account::from_row(&user)?,
        csrf_token: secret.csrf_token(),
    }))
}

/// Ends a session (logout). Audited when it was live.
pub fn logout(
    store: &dyn Store,
    cookie_value: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let Some(secret) = SessionSecret::parse(cookie_value) else {
        return Ok(());
    };
    let accounts = store.accounts();
    let id_hash = secret.id_hash();
    let Some(session) = accounts.session(&id_hash)? else {
        return Ok(());
    };
    if accounts.end_session(&id_hash, crate::to_micros(now))?
        && let Some(user) = accounts.user_by_id(session.user_id)?
    {
        let account = Account::from_row(&user)?;
        record(
            store,
            &AuditActor::of(&account),
            "logout",
            &format!("user:{}", account.id),
            "session",
            "ok",
            now,
        )?;
    }
    Ok(())
}

/// What is known about an account's access at `now` (its live break-glass
/// grants; relationships are added by linkage and alerts as they land).
pub fn access_context(
    store: &dyn Store,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<AccessContext, AccountError> {
    let grants = store
        .accounts()
        .live_grants(account.id, crate::to_micros(now))?
        .into_iter()
        .map(|grant| BreakGlassGrant {
            grant_id: grant.id,
            user_id: grant.user_id,
            resource_key: grant.resource_key,
            expires_at_us: grant.expires_at_us,
        })
        .collect();
    Ok(AccessContext {
        relationships: Vec::new(),
        grants,
        restriction: None,
    })
}

/// What a break-glass request is for, as the caller found it
/// ([`crate::need_to_know::break_glass_target`]): a child or record, whether
/// it exists, and whom to tell besides the privacy officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassTarget {
    /// The child or record.
    pub resource: Resource,
    /// Whether Sightline holds it.
    pub exists: bool,
    /// The child's lead agency, or the record's agency; `None`: only the
    /// privacy officer is told.
    pub tell_agency: Option<String>,
    /// A record's restriction in force: nobody outside its roles breaks glass
    /// on it.
    pub restriction: Option<sightline_access::Restriction>,
}

/// The answer to a break-glass request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakGlassOutcome {
    /// Granted until then; the privacy officer and the agency told, audited.
    Granted {
        grant_id: i64,
        expires_at: DateTime<Utc>,
    },
    /// The reason was missing or unusable (the message says why).
    BadReason(&'static str),
    /// The user has had [`SessionPolicy::break_glass_per_day`] grants in the
    /// last 24 hours (audited, outcome `limit`).
    LimitReached,
    /// No such child or record (audited, outcome `not_found`).
    NotFound,
    /// This account may not break glass (audited).
    Denied,
}

const DAY_US: i64 = 24 * 60 * MINUTE_US;

/// Grants `account` time-limited full access to a child or record that exists
/// for a reason given in a sentence, at most
/// [`SessionPolicy::break_glass_per_day`] times in any 24 hours. A grant is
/// told at once to the privacy officer and to `target.tell_agency` (an
/// `access_notices` row of kind `break_glass`), and the request is audited
/// whatever the answer (issue #15, finding 8).
pub fn break_glass(
    store: &dyn Store,
    account: &Account,
    target: &BreakGlassTarget,
    reason: &str,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<BreakGlassOutcome, AccountError> {
    let resource = &target.resource;
    let now_us = crate::to_micros(now);
    let decision = authorize(
        &account.actor(),
        Action::BreakGlass,
        resource,
        &AccessContext {
            restriction: target.restriction.clone(),
            ..AccessContext::default()
        },
        now_us,
    );
    let actor = AuditActor::of(account);
    let audit = |basis: &str, outcome: &str| {
        record(
            store,
            &actor,
            Action::BreakGlass.as_str(),
            &resource.key(),
            basis,
            outcome,
            now,
        )
    };
    if decision == Decision::Deny {
        audit("", "deny")?;
        return Ok(BreakGlassOutcome::Denied);
    }
    if !target.exists {
        audit("", "not_found")?;
        return Ok(BreakGlassOutcome::NotFound);
    }
    let reason = match BreakGlassReason::parse(reason) {
        Ok(reason) => reason,
        Err(message) => return Ok(BreakGlassOutcome::BadReason(message)),
    };
    let expires_at_us = now_us.saturating_add(policy.break_glass_us);
    let grant = NewGrant {
        user_id: account.id,
        resource_key: resource.key(),
        reason: reason.as_str().to_owned(),
        granted_at_us: now_us,
        expires_at_us,
    };
    // The grant, its notice and its audit entry are one transaction (the
    // store's `break_glass`): a crash leaves all three or none. At the daily
    // limit the same transaction records the refusal.
    let resource_key = resource.key();
    let notice = |grant_id: i64| NewNotice {
        at_us: now_us,
        kind: NOTICE_BREAK_GLASS.to_owned(),
        resource_key: resource_key.clone(),
        to_agency: target.tell_agency.clone(),
        about_agency: account.agency.as_str().to_owned(),
        about_user_id: Some(account.id),
        about_username: Some(account.username.clone()),
        subject: format!("break_glass:{grant_id}"),
        detail: reason.as_str().to_owned(),
        to_user_id: None,
        to_team: None,
    };
    let granted = store.accounts().break_glass(
        &grant,
        now_us.saturating_sub(DAY_US),
        i64::from(policy.break_glass_per_day),
        &notice,
        &mut |grant_id, seq, prev_hash| {
            let (basis, outcome) = match grant_id {
                Some(grant_id) => (
                    format!("break_glass:{grant_id}: {}", reason.as_str()),
                    "granted",
                ),
                None => (String::new(), "limit"),
            };
            let entry = crate::audit::Unsealed {
                actor: &actor,
                action: Action::BreakGlass.as_str(),
                resource_key: &resource_key,
                basis: &basis,
                outcome,
                now,
            };
            crate::audit::seal(&entry, seq, prev_hash)
        },
    )?;
    let Some(grant_id) = granted else {
        tracing::warn!(user.id = account.id, "break-glass refused: daily limit");
        return Ok(BreakGlassOutcome::LimitReached);
    };
    tracing::warn!(
        user.id = account.id,
        grant.id = grant_id,
        "break-glass access granted"
    );
    Ok(BreakGlassOutcome::Granted {
        grant_id,
        expires_at: crate::from_micros(expires_at_us),
    })
}

/// One demo account with its password, to print at the start of `sightline demo`.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub role: Role,
    pub username: String,
    pub password: String,
    pub agency: AgencyId,
    pub team: Option<String>,
}

/// Creates one account per role in `agency` (practitioner and team manager in
/// team `north`), with random passwords, and returns them for printing. Only for
/// demonstration databases.
pub fn create_demo_accounts(
    store: &dyn Store,
    agency: &AgencyId,
    now: DateTime<Utc>,
) -> Result<Vec<DemoAccount>, AccountError> {
    let mut created = Vec::new();
    for role in Role::ALL {
        let username = format!("demo.{}", role.as_str().replace('_', "-"));
        let password = random_token()[..20].to_owned();
        let team =
            matches!(role, Role::Practitioner | Role::TeamManager).then(|| "north".to_owned());
        let account = NewAccount {
            username: Username::parse(&username)?,
            password: Password::parse(&password)?,
            role,
            agency: agency.clone(),
            team: team.as_deref().map(Team::parse).transpose()?,
        };
        create_account(store, &account, &AuditActor::cli(), now)?;
        created.push(DemoAccount {
            role,
            username,
            password,
            agency: agency.clone(),
            team,
        });
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_parse() {
        assert!(Username::parse("synthetic.worker-1").is_ok());
        for bad in ["ab", "Upper", ".dot", "spa ce", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Password::parse("short"),
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            Password::parse(&"x".repeat(1_025)),
            Err(AccountError::PasswordTooLong)
        ));
        let password = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{password:?}"), "Password(..)");
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "correct horse battery!"));
        assert_ne!(hash, hash_password(&password).unwrap(), "salted");
        assert!(!password_matches("not a hash", "anything"));
    }

    #[test]
    fn session_secrets_and_csrf_tokens() {
        let secret = SessionSecret::generate();
        assert_eq!(secret.as_str().len(), 64);
        assert_eq!(SessionSecret::parse(secret.as_str()), Some(secret.clone()));
        assert_eq!(SessionSecret::parse("zz"), None);
        assert_ne!(secret.csrf_token(), SessionSecret::generate().csrf_token());
        assert!(tokens_match(&secret.csrf_token(), &secret.csrf_token()));
        assert!(!tokens_match(&secret.csrf_token(), ""));
        assert_eq!(format!("{secret:?}"), "SessionSecret(..)");
    }
}
