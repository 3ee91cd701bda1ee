//! Sign-in with OpenID Connect providers (issue #17 item 4): the sign-in
//! configuration file, its presets for Microsoft Entra ID and NHS CIS2, the
//! mapping of a provider's claims to a Sightline role, agency and team, and
//! the account an identity signs in to.
//!
//! The protocol itself (discovery, PKCE, the code exchange, verifying the ID
//! token's signature, issuer, audience, expiry and nonce) is `sightline-web`'s;
//! this module only ever sees claims that were verified.
//!
//! - Invariant: an identity is keyed by (issuer, subject) and, once linked to
//!   an account, stays with it (`external_identities` is append-only).
//! - Invariant: role, agency and team come from the provider's claims at every
//!   sign-in; claims that map to no role sign nobody in (audited
//!   `login_failed`, outcome `no_role`).
//! - Invariant: an account made by sign-in has a username no one can choose
//!   (`oidc-` is refused by [`crate::accounts::Username::parse`]) and a
//!   password hash of a random secret nobody knows, so it has no password.

use crate::accounts::{self, Account, AccountError, SessionSecret, Team};
use crate::audit::{AuditActor, record};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::Digest as _;
use sightline_access::Role;
use sightline_core::AgencyId;
use sightline_store::Store;
use sightline_store::{NewUser, UserRow};
use std::fmt;
use std::path::Path;

/// The most providers one file configures.
pub const PROVIDERS_MAX: usize = 16;
/// The most role rules one provider has.
pub const ROLE_RULES_MAX: usize = 1_000;
/// The longest subject kept (longer ones are refused).
pub const SUBJECT_BYTES_MAX: usize = 255;
/// The prefix of the usernames of accounts made by sign-in.
pub const EXTERNAL_USERNAME_PREFIX: &str = "oidc-";

/// What is wrong with a sign-in configuration.
#[derive(Debug, thiserror::Error)]
pub enum SignInConfigError {
    #[error("could not read the sign-in file: {0}")]
    Read(#[from] std::io::Error),
    #[error("the sign-in file is not valid TOML of the expected shape: {0}")]
    Toml(String),
    #[error("provider {provider}: {problem}")]
    Provider { provider: String, problem: String },
    #[error("{0}")]
    Invalid(String),
}

fn provider_problem(provider: &str, problem: impl Into<String>) -> SignInConfigError {
    SignInConfigError::Provider {
        provider: provider.to_owned(),
        problem: problem.into(),
    }
}

/// A provider's client secret. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ClientSecret(..)")
    }
}

/// Where a provider's claims name the user's roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// A claim holding a string or a list of strings (Entra ID's `roles` for
    /// app roles, or `groups` for group object ids).
    Claim(String),
    /// NHS CIS2: the entry of `nhsid_nrbac_roles` whose `person_roleid` is
    /// `selected_roleid` (the role the user chose at sign-in); its
    /// `role_code` is matched, and its `org_code` when a rule names one.
    Cis2SelectedRole,
}

/// One rule of a provider's role mapping: a claim value (with, for CIS2, an
/// organisation code) to a Sightline role, agency and team. Rules are tried in
/// the order written; the first that matches wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    /// The value matched: an app role's value, a group's object id, or a CIS2
    /// role code (the whole `S..:G..:R..` code or its `R..` part).
    pub value: String,
    /// For CIS2: the organisation (ODS code) the selected role must be at.
    pub org: Option<String>,
    pub role: Role,
    pub agency: AgencyId,
    pub team: Option<Team>,
}

/// One OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its name in URLs and audit entries: 1 to 24 of `a-z 0-9 -`.
    pub name: String,
    /// The button's words ("Sign in with NHS Care Identity").
    pub label: String,
    /// The issuer URL, exactly as the provider's discovery document and ID
    /// tokens give it.
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (PKCE only).
    pub client_secret: Option<ClientSecret>,
    /// Scopes asked for (always with `openid`).
    pub scopes: Vec<String>,
    /// `acr_values` sent with the authorisation request, if any.
    pub acr_values: Option<String>,
    /// The claim that identifies the user at this issuer (`sub`; Entra ID:
    /// `oid`, the same for the user in every application of the tenant).
    pub subject_claim: String,
    /// Whether to read the user info endpoint too (CIS2 gives the roles there).
    pub userinfo: bool,
    pub roles: RoleSource,
    pub rules: Vec<RoleRule>,
    /// How far the provider's clock may be from ours, in seconds.
    pub clock_skew_seconds: u32,
}

/// The sign-in configuration (`sightline serve --sign-in FILE`).
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// Whether staff may sign in with a Sightline password. When `false` the
    /// login page shows only the providers and `POST /login` refuses.
    pub local_passwords: bool,
    /// Sightline's own address as the browser sees it (`https://sightline.example.org`):
    /// the redirect URI registered with each provider is this followed by
    /// `/login/oidc/callback`.
    pub public_url: String,
    pub providers: Vec<Provider>,
}

impl Default for SignInConfig {
    fn default() -> Self {
        SignInConfig {
            local_passwords: true,
            public_url: String::new(),
            providers: Vec::new(),
        }
    }
}

impl SignInConfig {
    /// The redirect URI registered with every provider.
    pub fn redirect_uri(&self) -> String {
        format!("{}/login/oidc/callback", self.public_url)
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|provider| provider.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWire {
    #[serde(default = "yes")]
    local_passwords: bool,
    public_url: String,
    #[serde(default, rename = "provider")]
    providers: Vec<ProviderWire>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderWire {
    name: String,
    label: Option<String>,
    /// `entra`, `cis2` or `generic` (the default).
    preset: Option<String>,
    issuer: String,
    client_id: String,
    client_secret_env: Option<String>,
    client_secret_file: Option<String>,
    scopes: Option<Vec<String>>,
    acr_values: Option<String>,
    subject_claim: Option<String>,
    userinfo: Option<bool>,
    /// A claim name, or `cis2:selected_role`.
    roles_from: Option<String>,
    clock_skew_seconds: Option<u32>,
    #[serde(default, rename = "role")]
    rules: Vec<RuleWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleWire {
    value: String,
    org: Option<String>,
    role: String,
    agency: String,
    team: Option<String>,
}

/// The CIS2 scopes for a user's roles and organisations.
pub const CIS2_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "nationalrbacaccess",
    "associatedorgs",
    "selectedrole",
];

/// Reads a sign-in file; client secrets come from the environment variable or
/// the file each provider names, never from the sign-in file itself.
pub fn read_sign_in_config(path: &Path) -> Result<SignInConfig, SignInConfigError> {
    let text = std::fs::read_to_string(path)?;
    parse_sign_in_config(&text, &|name| std::env::var(name).ok(), &|file| {
        std::fs::read_to_string(file).ok()
    })
}

/// Parses a sign-in file. `env` and `read_file` look up client secrets.
pub fn parse_sign_in_config(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    read_file: &dyn Fn(&str) -> Option<String>,
) -> Result<SignInConfig, SignInConfigError> {
    let wire: FileWire = toml::from_str(text)
        .map_err(|error| SignInConfigError::Toml(error.message().to_owned()))?;
    let public_url = wire.public_url.trim_end_matches('/').to_owned();
    if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
        return Err(SignInConfigError::Invalid(
            "public_url must be Sightline's http(s) address as the browser sees it".to_owned(),
        ));
    }
    if wire.providers.len() > PROVIDERS_MAX {
        return Err(SignInConfigError::Invalid(format!(
            "at most {PROVIDERS_MAX} providers"
        )));
    }
    if !wire.local_passwords && wire.providers.is_empty() {
        return Err(SignInConfigError::Invalid(
            "local_passwords = false needs at least one [[provider]]: nobody could sign in"
                .to_owned(),
        ));
    }
    let mut providers = Vec::with_capacity(wire.providers.len());
    for provider in wire.providers {
        let provider = parse_provider(provider, env, read_file)?;
        if providers
            .iter()
            .any(|other: &Provider| other.name == provider.name)
        {
            return Err(provider_problem(&provider.name, "named twice"));
        }
        providers.push(provider);
    }
    Ok(SignInConfig {
        local_passwords: wire.local_passwords,
        public_url,
        providers,
    })
}

fn parse_provider(
    wire: ProviderWire,
    env: &dyn Fn(&str) -> Option<String>,
    read_file: &dyn Fn(&str) -> Option<String>,
) -> Result<Provider, SignInConfigError> {
    let name = wire.name;
    let name_ok = (1..=24).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if !name_ok {
        return Err(provider_problem(
            &name,
            "a provider name is 1 to 24 characters of a-z, 0-9 and '-'",
        ));
    }
    let preset = wire.preset.as_deref().unwrap_or("generic");
    let (scopes, subject_claim, userinfo, roles_from) = match preset {
        "generic" => (vec!["openid", "profile"], "sub", false, "roles"),
        "entra" => (vec!["openid", "profile"], "oid", false, "roles"),
        "cis2" => (CIS2_SCOPES.to_vec(), "sub", true, "cis2:selected_role"),
        other => {
            return Err(provider_problem(
                &name,
                format!("unknown preset \"{other}\" (entra, cis2 or generic)"),
            ));
        }
    };
    let issuer = wire.issuer.trim().to_owned();
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) || issuer.len() > 500 {
        return Err(provider_problem(&name, "issuer must be an http(s) URL"));
    }
    if wire.client_id.trim().is_empty() {
        return Err(provider_problem(&name, "client_id is empty"));
    }
    let client_secret = match (&wire.client_secret_env, &wire.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(provider_problem(
                &name,
                "give client_secret_env or client_secret_file, not both",
            ));
        }
        (Some(variable), None) => Some(env(variable).ok_or_else(|| {
            provider_problem(&name, format!("the environment has no {variable}"))
        })?),
        (None, Some(file)) => Some(
            read_file(file)
                .ok_or_else(|| provider_problem(&name, format!("could not read {file}")))?,
        ),
        (None, None) => None,
    };
    let client_secret = match client_secret.map(|secret| secret.trim().to_owned()) {
        Some(secret) if secret.is_empty() => {
            return Err(provider_problem(&name, "the client secret is empty"));
        }
        secret => secret.map(ClientSecret),
    };
    let mut scopes: Vec<String> = wire
        .scopes
        .unwrap_or_else(|| scopes.into_iter().map(str::to_owned).collect());
    if !scopes.iter().any(|scope| scope == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    let roles_from = wire.roles_from.as_deref().unwrap_or(roles_from);
    let roles = if roles_from == "cis2:selected_role" {
        RoleSource::Cis2SelectedRole
    } else if !roles_from.is_empty() && !roles_from.contains(':') {
        RoleSource::Claim(roles_from.to_owned())
    } else {
        return Err(provider_problem(
            &name,
            "roles_from is a claim name or cis2:selected_role",
        ));
    };
    if wire.rules.is_empty() {
        return Err(provider_problem(
            &name,
            "no [[provider.role]] rules: nobody could sign in",
        ));
    }
    if wire.rules.len() > ROLE_RULES_MAX {
        return Err(provider_problem(
            &name,
            format!("at most {ROLE_RULES_MAX} role rules"),
        ));
    }
    let mut rules = Vec::with_capacity(wire.rules.len());
    for rule in wire.rules {
        let role = Role::parse(&rule.role)
            .map_err(|error| provider_problem(&name, format!("role {}: {error}", rule.role)))?;
        let agency = AgencyId::parse(&rule.agency).map_err(|_| {
            provider_problem(&name, format!("agency {} is not an agency id", rule.agency))
        })?;
        let team = rule
            .team
            .as_deref()
            .map(Team::parse)
            .transpose()
            .map_err(|error| provider_problem(&name, error.to_string()))?;
        if rule.value.is_empty() {
            return Err(provider_problem(&name, "a role rule's value is empty"));
        }
        rules.push(RoleRule {
            value: rule.value,
            org: rule.org,
            role,
            agency,
            team,
        });
    }
    Ok(Provider {
        label: wire.label.unwrap_or_else(|| format!("Sign in with {name}")),
        issuer,
        client_id: wire.client_id.trim().to_owned(),
        client_secret,
        scopes,
        acr_values: wire.acr_values.filter(|values| !values.trim().is_empty()),
        subject_claim: wire
            .subject_claim
            .unwrap_or_else(|| subject_claim.to_owned()),
        userinfo: wire.userinfo.unwrap_or(userinfo),
        roles,
        rules,
        clock_skew_seconds: wire.clock_skew_seconds.unwrap_or(60).min(300),
        name,
    })
}

/// A role, agency and team the claims map to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub role: Role,
    pub agency: AgencyId,
    pub team: Option<Team>,
}

/// The claims' values that rules are matched against, with the organisation
/// each is at (CIS2 only).
fn claimed_roles(
    source: &RoleSource,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, Option<String>)> {
    use serde_json::Value;
    match source {
        RoleSource::Claim(name) => match claims.get(name) {
            Some(Value::String(value)) => vec![(value.clone(), None)],
            Some(Value::Array(values)) => values
                .iter()
                .filter_map(Value::as_str)
                .map(|value| (value.to_owned(), None))
                .collect(),
            _ => Vec::new(),
        },
        RoleSource::Cis2SelectedRole => {
            let Some(selected) = claims.get("selected_roleid").and_then(Value::as_str) else {
                return Vec::new();
            };
            let Some(Value::Array(roles)) = claims.get("nhsid_nrbac_roles") else {
                return Vec::new();
            };
            roles
                .iter()
                .filter(|role| role.get("person_roleid").and_then(Value::as_str) == Some(selected))
                .filter_map(|role| {
                    let code = role.get("role_code").and_then(Value::as_str)?;
                    let org = role
                        .get("org_code")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    Some((code.to_owned(), org))
                })
                .collect()
        }
    }
}

/// The role, agency and team `claims` map to under `provider`'s rules: the
/// first rule (in the order written) whose value the claims hold.
pub fn map_claims(
    provider: &Provider,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Option<Mapped> {
    let claimed = claimed_roles(&provider.roles, claims);
    provider
        .rules
        .iter()
        .find(|rule| {
            claimed.iter().any(|(value, org)| {
                let value_matches = match provider.roles {
                    RoleSource::Claim(_) => *value == rule.value,
                    // A CIS2 role code is `S8000:G8000:R8000`; a rule may name
                    // the whole code or its role (last) part.
                    RoleSource::Cis2SelectedRole => {
                        *value == rule.value || value.rsplit(':').next() == Some(&rule.value)
                    }
                };
                value_matches
                    && rule
                        .org
                        .as_ref()
                        .is_none_or(|wanted| org.as_ref() == Some(wanted))
            })
        })
        .map(|rule| Mapped {
            role: rule.role,
            agency: rule.agency.clone(),
            team: rule.team.clone(),
        })
}

/// The subject that identifies the user at the issuer: the claim the
/// provider names, a non-empty string of at most [`SUBJECT_BYTES_MAX`].
pub fn subject_of(
    provider: &Provider,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    claims
        .get(&provider.subject_claim)
        .and_then(serde_json::Value::as_str)
        .filter(|subject| (1..=SUBJECT_BYTES_MAX).contains(&subject.len()))
        .map(str::to_owned)
}

/// The username of the account made for (issuer, subject) at `provider`:
/// `oidc-PROVIDER-` and 24 hex digits of a SHA-256 of issuer and subject (no
/// personal data, the same at every sign-in).
pub fn external_username(provider: &str, issuer: &str, subject: &str) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(issuer.as_bytes());
    hasher.update([0u8]);
    hasher.update(subject.as_bytes());
    let digest = hex::encode(hasher.finalize());
    format!(
        "{EXTERNAL_USERNAME_PREFIX}{provider}-{}",
        digest.get(..24).unwrap_or(&digest)
    )
}

/// The answer to a sign-in with a provider.
#[derive(Debug)]
pub enum ExternalOutcome {
    /// Signed in: set the cookie to `secret`.
    SignedIn {
        account: Account,
        secret: SessionSecret,
        /// Whether this sign-in made the account.
        created: bool,
    },
    /// The claims map to no Sightline role.
    NoRole,
    /// The account linked to the identity is disabled.
    Disabled,
}

/// Signs in the user the provider vouched for: finds the account linked to
/// (issuer, subject), or makes and links one, sets its role, agency and team
/// from `mapped`, and starts a session. Audited: `login` (basis
/// `oidc:PROVIDER`), `create_user` and `map_role` when they happen, or
/// `login_failed` with outcome `no_role` or `disabled`.
pub fn external_login(
    store: &dyn Store,
    provider: &str,
    issuer: &str,
    subject: &str,
    mapped: Option<&Mapped>,
    now: DateTime<Utc>,
) -> Result<ExternalOutcome, AccountError> {
    let now_us = crate::to_micros(now);
    let accounts = store.accounts();
    let basis = format!("oidc:{provider}");
    let linked = accounts.user_by_external_identity(issuer, subject)?;
    let Some(mapped) = mapped else {
        let tried = linked.as_ref().map(Account::from_row).transpose()?;
        crate::audit::login_failed(store, tried.as_ref(), &basis, "no_role", now)?;
        tracing::info!(
            user.id = tried.as_ref().map(|account| account.id),
            provider,
            "sign-in refused: the provider's claims map to no role"
        );
        return Ok(ExternalOutcome::NoRole);
    };
    let (user, created) = match linked {
        Some(user) => (user, false),
        None => (
            create_external(store, provider, issuer, subject, mapped, now)?,
            true,
        ),
    };
    if user.disabled_at_us.is_some() {
        let account = Account::from_row(&user)?;
        crate::audit::login_failed(store, Some(&account), &basis, "disabled", now)?;
        tracing::info!(
            user.id = account.id,
            provider,
            "sign-in refused: account disabled"
        );
        return Ok(ExternalOutcome::Disabled);
    }
    let team = mapped.team.as_ref().map(Team::as_str);
    let changed = user.role != mapped.role.as_str()
        || user.agency != mapped.agency.as_str()
        || user.team.as_deref() != team;
    if changed {
        accounts.set_user_role(user.id, mapped.role.as_str(), mapped.agency.as_str(), team)?;
    }
    let account = Account {
        id: user.id,
        username: user.username.clone(),
        role: mapped.role,
        agency: mapped.agency.clone(),
        team: team.map(str::to_owned),
    };
    if changed && !created {
        record(
            store,
            &AuditActor::of(&account),
            "map_role",
            &format!("user:{}", account.id),
            &basis,
            "ok",
            now,
        )?;
    }
    let secret = SessionSecret::generate();
    accounts.create_session(&secret.id_hash(), account.id, now_us)?;
    record(
        store,
        &AuditActor::of(&account),
        "login",
        &format!("user:{}", account.id),
        &basis,
        "ok",
        now,
    )?;
    tracing::info!(
        user.id = account.id,
        provider,
        created,
        "signed in with a provider"
    );
    Ok(ExternalOutcome::SignedIn {
        account,
        secret,
        created,
    })
}

/// Makes the account of a first sign-in and links the identity to it. The
/// username follows from (issuer, subject), so two first sign-ins at once, or
/// one that stopped between making the account and linking it, end on the
/// same account.
fn create_external(
    store: &dyn Store,
    provider: &str,
    issuer: &str,
    subject: &str,
    mapped: &Mapped,
    now: DateTime<Utc>,
) -> Result<UserRow, AccountError> {
    let now_us = crate::to_micros(now);
    let accounts = store.accounts();
    let username = external_username(provider, issuer, subject);
    // A password nobody knows: the column holds an argon2id hash, and this
    // account signs in only through its provider.
    let unusable = accounts::Password::parse(&accounts::random_token())?;
    let row = NewUser {
        username: username.clone(),
        password_hash: accounts::hash_password(&unusable)?,
        role: mapped.role.as_str().to_owned(),
        agency: mapped.agency.as_str().to_owned(),
        team: mapped.team.as_ref().map(|team| team.as_str().to_owned()),
        created_at_us: now_us,
        disabled_at_us: None,
    };
    let made = accounts.create_user(&row)?;
    let user = accounts
        .user_by_username(&username)?
        .ok_or(AccountError::CorruptUser)?;
    if made.is_none() && accounts.has_external_identity(user.id)? {
        // The name is taken by an account linked to another identity: only a
        // SHA-256 collision gets here.
        return Err(AccountError::UsernameTaken);
    }
    accounts.link_external_identity(issuer, subject, user.id, now_us)?;
    let linked = accounts
        .user_by_external_identity(issuer, subject)?
        .ok_or(AccountError::CorruptUser)?;
    if made.is_some() {
        let account = Account::from_row(&linked)?;
        record(
            store,
            &AuditActor::of(&account),
            "create_user",
            &format!("user:{}", account.id),
            &format!("oidc:{provider}"),
            "ok",
            now,
        )?;
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<SignInConfig, SignInConfigError> {
        parse_sign_in_config(
            text,
            &|name| (name == "ENTRA_SECRET").then(|| "s3cret".to_owned()),
            &|_| None,
        )
    }

    const ENTRA: &str = r#"
public_url = "https://sightline.example.org/"
local_passwords = false

[[provider]]
name = "entra"
preset = "entra"
issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
client_secret_env = "ENTRA_SECRET"

[[provider.role]]
value = "Sightline.Lead"
role = "safeguarding_lead"
agency = "la-social-care"

[[provider.role]]
value = "Sightline.Practitioner"
role = "practitioner"
agency = "la-social-care"
team = "mash"
"#;

    const CIS2: &str = r#"
public_url = "https://sightline.example.org"

[[provider]]
name = "cis2"
preset = "cis2"
label = "Sign in with NHS Care Identity"
issuer = "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare"
client_id = "sightline"
acr_values = "AAL3_ANY"

[[provider.role]]
value = "R8000"
org = "RXA"
role = "practitioner"
agency = "ed"
"#;

    fn map(config: &SignInConfig, claims: serde_json::Value) -> Option<Mapped> {
        let serde_json::Value::Object(claims) = claims else {
            return None;
        };
        map_claims(&config.providers[0], &claims)
    }

    #[test]
    fn entra_preset_reads_oid_and_app_roles() {
        let config = parse(ENTRA).unwrap();
        assert!(!config.local_passwords);
        assert_eq!(
            config.redirect_uri(),
            "https://sightline.example.org/login/oidc/callback"
        );
        let provider = &config.providers[0];
        assert_eq!(provider.subject_claim, "oid");
        assert_eq!(provider.scopes, ["openid", "profile"]);
        assert_eq!(provider.client_secret.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{provider:?}").contains("s3cret"));
        let mapped = map(
            &config,
            json!({"roles": ["Other", "Sightline.Practitioner"]}),
        )
        .unwrap();
        assert_eq!(mapped.role, Role::Practitioner);
        assert_eq!(mapped.team.as_ref().unwrap().as_str(), "mash");
        // The first rule written wins.
        let mapped = map(
            &config,
            json!({"roles": ["Sightline.Practitioner", "Sightline.Lead"]}),
        );
        assert_eq!(mapped.unwrap().role, Role::SafeguardingLead);
        assert_eq!(map(&config, json!({"roles": ["Other"]})), None);
        assert_eq!(map(&config, json!({"groups": ["Sightline.Lead"]})), None);
        assert_eq!(
            map(&config, json!({"roles": "Sightline.Lead"}))
                .unwrap()
                .role,
            Role::SafeguardingLead
        );
        let claims = json!({"oid": "00000000-0000-0000-66f3-3332eca7ea81", "sub": "pairwise"});
        assert_eq!(
            subject_of(provider, claims.as_object().unwrap()).as_deref(),
            Some("00000000-0000-0000-66f3-3332eca7ea81")
        );
    }

    #[test]
    fn cis2_preset_maps_the_selected_role_at_its_organisation() {
        let config = parse(CIS2).unwrap();
        assert!(config.local_passwords);
        let provider = &config.providers[0];
        assert_eq!(provider.scopes, CIS2_SCOPES);
        assert!(provider.userinfo);
        assert_eq!(provider.acr_values.as_deref(), Some("AAL3_ANY"));
        let roles = json!([
            {"person_roleid": "555254242105", "org_code": "RXA", "role_code": "S8000:G8000:R8001"},
            {"person_roleid": "555254242106", "org_code": "RXA", "role_code": "S8000:G8000:R8000"},
            {"person_roleid": "555254242107", "org_code": "RYY", "role_code": "S8000:G8000:R8000"},
        ]);
        let selected = |id: &str| json!({"selected_roleid": id, "nhsid_nrbac_roles": roles});
        assert_eq!(
            map(&config, selected("555254242106")).unwrap().role,
            Role::Practitioner
        );
        // Another role of the same person, or the right role at another trust.
        assert_eq!(map(&config, selected("555254242105")), None);
        assert_eq!(map(&config, selected("555254242107")), None);
        assert_eq!(map(&config, json!({"nhsid_nrbac_roles": roles})), None);
    }

    #[test]
    fn bad_files_are_refused_with_the_problem() {
        let check = |text: &str, expected: &str| {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should say {expected}");
        };
        check("public_url = \"x\"", "public_url");
        check(
            "public_url = \"https://a\"\nlocal_passwords = false",
            "nobody could sign in",
        );
        let secret_missing = ENTRA.replace("ENTRA_SECRET", "MISSING");
        check(&secret_missing, "no MISSING");
        check(&ENTRA.replace("safeguarding_lead", "chief"), "unknown role");
        check(
            &ENTRA.replace("preset = \"entra\"", "preset = \"okta\""),
            "unknown preset",
        );
        check(
            &ENTRA.replace("name = \"entra\"", "name = \"Entra ID\""),
            "provider name",
        );
        check(&ENTRA.replace("client_secret_env", "client_secret"), "TOML");
        check(
            &format!("{ENTRA}\n{}", &ENTRA[ENTRA.find("[[provider]]").unwrap()..]),
            "named twice",
        );
    }

    #[test]
    fn external_usernames_are_stable_and_not_choosable() {
        let name = external_username("entra", "https://issuer", "subject-1");
        assert_eq!(
            name,
            external_username("entra", "https://issuer", "subject-1")
        );
        assert_ne!(
            name,
            external_username("entra", "https://issuer", "subject-2")
        );
        assert!(name.starts_with("oidc-entra-") && name.len() == "oidc-entra-".len() + 24);
        assert!(crate::accounts::Username::parse(&name).is_err());
    }
}
