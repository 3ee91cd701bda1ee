//! Sign-in with an OpenID Connect provider: the authorisation code flow with
//! PKCE (issue #17 item 4).
//!
//! `GET /login/oidc/{provider}` gives the browser a new pre-session cookie and
//! sends it to the provider with a random `state`, `nonce` and PKCE challenge;
//! the three are kept here, bound to the SHA-256 of that pre-session.
//! `GET /login/oidc/callback` takes the flow of its `state` (once: a state
//! used again finds nothing), checks the browser holds the same pre-session,
//! exchanges the code with the PKCE verifier and verifies the ID token (its
//! signature against the provider's published keys, issuer, audience, expiry
//! and nonce: the `openidconnect` crate), then maps its claims to a role
//! (`sightline_app::sign_in`).
//!
//! - Invariant: a flow is used at most once and within [`FLOW_SECONDS_MAX`];
//!   at most [`FLOWS_MAX`] wait at once.
//! - Invariant: nothing a provider sends is logged but the kind of failure.
//! - Invariant: the HTTP client follows no redirects (server-side request
//!   forgery) and gives up after [`PROVIDER_TIMEOUT`].

use crate::WebState;
use crate::guard::{cookie, is_secure, pre_session_cookie_name, session_cookie_name};
use crate::pages::blocking;
use crate::render::{ErrorPage, error_page};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::Deserialize;
use sha2::Digest as _;
use sightline_app::sign_in::{self, ExternalOutcome, Provider};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a sign-in may take at the provider.
pub const FLOW_SECONDS_MAX: i64 = 10 * 60;
/// The most sign-ins waiting for their callback at once.
pub const FLOWS_MAX: usize = 10_000;
/// How long one request to a provider may take.
pub const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest query value read on the callback.
const CALLBACK_VALUE_BYTES_MAX: usize = 4096;

/// A sign-in sent to a provider, waiting for its callback.
struct Flow {
    provider: String,
    pre_session_hash: [u8; 32],
    nonce: String,
    pkce_verifier: String,
    started: DateTime<Utc>,
}

/// The sign-ins in flight and the HTTP client that talks to providers.
pub struct Flows {
    waiting: Mutex<HashMap<String, Flow>>,
    http: Option<openidconnect::reqwest::Client>,
}

impl std::fmt::Debug for Flows {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Flows(..)")
    }
}

impl Flows {
    pub fn new() -> Flows {
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(
                |error| tracing::error!(error = %error, "no HTTP client for sign-in providers"),
            )
            .ok();
        Flows {
            waiting: Mutex::new(HashMap::new()),
            http,
        }
    }

    /// Keeps a flow under its state; `false` when too many are waiting.
    fn start(&self, state: String, flow: Flow) -> bool {
        let Ok(mut waiting) = self.waiting.lock() else {
            return false;
        };
        let now = flow.started;
        waiting.retain(|_, kept| (now - kept.started).num_seconds() <= FLOW_SECONDS_MAX);
        if waiting.len() >= FLOWS_MAX {
            return false;
        }
        waiting.insert(state, flow);
        true
    }

    /// Takes the flow of `state` (it is gone afterwards), if it is there and
    /// young enough.
    fn take(&self, state: &str, now: DateTime<Utc>) -> Option<Flow> {
        let mut waiting = self.waiting.lock().ok()?;
        waiting
            .remove(state)
            .filter(|flow| (now - flow.started).num_seconds() <= FLOW_SECONDS_MAX)
    }
}

impl Default for Flows {
    fn default() -> Self {
        Flows::new()
    }
}

fn hash_pre_session(pre_session: &str) -> [u8; 32] {
    sha2::Sha256::digest(pre_session.as_bytes()).into()
}

/// Why a sign-in with a provider was refused (the words on the page, and the
/// audit outcome).
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// The provider could not be reached or answered nonsense.
    Unreachable,
    /// The provider's discovery document names another issuer.
    WrongProvider,
    /// No waiting sign-in has this state (used already, too old, or never
    /// issued), or another browser's.
    BadState,
    /// The provider said no (the user cancelled, or was not allowed).
    ProviderError,
    /// The code exchange failed or the ID token did not verify.
    BadToken,
    /// No usable subject in the claims.
    NoSubject,
    /// The claims map to no role.
    NoRole,
    /// The account is disabled.
    Disabled,
}

impl Refusal {
    fn outcome(self) -> &'static str {
        match self {
            Refusal::Unreachable => "unreachable",
            Refusal::WrongProvider => "wrong_issuer",
            Refusal::BadState => "bad_state",
            Refusal::ProviderError => "provider_error",
            Refusal::BadToken => "bad_token",
            Refusal::NoSubject => "no_subject",
            Refusal::NoRole => "no_role",
            Refusal::Disabled => "disabled",
        }
    }

    fn page(self) -> ErrorPage {
        let (status, title, message) = match self {
            Refusal::Unreachable => (
                StatusCode::BAD_GATEWAY,
                "The sign-in service could not be reached",
                "Sightline could not reach your organisation's sign-in service. Try again in a few minutes; if it keeps happening, tell your administrator.",
            ),
            Refusal::WrongProvider => (
                StatusCode::BAD_GATEWAY,
                "The sign-in service is not the one expected",
                "The sign-in service answered as another service than the one Sightline is set up to trust, so you were not signed in. This attempt has been recorded. Tell your administrator.",
            ),
            Refusal::BadState => (
                StatusCode::FORBIDDEN,
                "This sign-in has expired",
                "The sign-in was started too long ago, was used already, or was started in another browser. Go to the sign-in page and start again.",
            ),
            Refusal::ProviderError => (
                StatusCode::FORBIDDEN,
                "You were not signed in",
                "Your organisation's sign-in service did not sign you in. Go to the sign-in page and start again.",
            ),
            Refusal::BadToken => (
                StatusCode::FORBIDDEN,
                "Your sign-in could not be checked",
                "The answer from the sign-in service could not be verified, so you were not signed in. This attempt has been recorded. Go to the sign-in page and start again.",
            ),
            Refusal::NoSubject => (
                StatusCode::FORBIDDEN,
                "Your sign-in could not be checked",
                "The sign-in service did not say who you are, so you were not signed in. This attempt has been recorded. Tell your administrator.",
            ),
            Refusal::NoRole => (
                StatusCode::FORBIDDEN,
                "You do not have a role in Sightline",
                "You signed in with your organisation, but none of your roles there gives access to Sightline. This attempt has been recorded. Ask your manager or administrator for the Sightline role you need.",
            ),
            Refusal::Disabled => (
                StatusCode::FORBIDDEN,
                "Your Sightline account is disabled",
                "Your Sightline account has been disabled, so you were not signed in. This attempt has been recorded. Ask your administrator.",
            ),
        };
        ErrorPage {
            status,
            title,
            message,
        }
    }
}

/// Shows the refusal page; audits the refusals the account layer has not
/// (`login_failed` on `user:unknown`, basis `oidc:PROVIDER`).
async fn refuse(state: &WebState, provider: &str, refusal: Refusal, detail: &str) -> Response {
    tracing::warn!(
        provider,
        outcome = refusal.outcome(),
        detail,
        "sign-in with a provider refused"
    );
    if !matches!(refusal, Refusal::NoRole | Refusal::Disabled) {
        let basis = format!("oidc:{provider}");
        let now = Utc::now();
        let outcome = refusal.outcome();
        if let Err(response) = blocking(state, None, move |store| {
            sightline_app::audit::login_failed(store, None, &basis, outcome, now)
        })
        .await
        {
            return response;
        }
    }
    error_page(state, None, refusal.page())
}

/// The kind of an error (its variant's name), without what it carries: the
/// crate's messages hold what the provider sent (an issuer, a subject, its
/// error description), which no log line may.
fn kind_of(error: &impl std::fmt::Debug) -> String {
    let text = format!("{error:?}");
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A discovery failure in words: the crate's own messages (an unreachable
/// address, an issuer that does not match), which name only the configured
/// provider's URLs.
fn discovery_problem(error: impl std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The provider's discovery document (and its keys). A document that names
/// another issuer than the one configured is `WrongProvider`.
async fn discover(
    http: &openidconnect::reqwest::Client,
    provider: &Provider,
) -> Result<CoreProviderMetadata, (Refusal, String)> {
    let issuer = IssuerUrl::new(provider.issuer.clone())
        .map_err(|error| (Refusal::Unreachable, discovery_problem(error)))?;
    CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|error| match error {
            openidconnect::DiscoveryError::Validation(_) => {
                (Refusal::WrongProvider, discovery_problem(error))
            }
            error => (Refusal::Unreachable, discovery_problem(error)),
        })
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /login/oidc/{provider}`: sends the browser to the provider.
pub async fn start(
    State(state): State<WebState>,
    Path(provider_name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let sign_in = &state.config.sign_in;
    let Some(provider) = sign_in.provider(&provider_name) else {
        return error_page(&state, None, ErrorPage::not_found());
    };
    let Some(http) = state.flows.http.as_ref() else {
        return refuse(
            &state,
            &provider.name,
            Refusal::Unreachable,
            "no HTTP client",
        )
        .await;
    };
    let metadata = match discover(http, provider).await {
        Ok(metadata) => metadata,
        Err((refusal, problem)) => {
            return refuse(&state, &provider.name, refusal, &problem).await;
        }
    };
    let redirect = match RedirectUrl::new(sign_in.redirect_uri()) {
        Ok(redirect) => redirect,
        Err(error) => {
            return refuse(
                &state,
                &provider.name,
                Refusal::Unreachable,
                &error.to_string(),
            )
            .await;
        }
    };
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        provider
            .client_secret
            .as_ref()
            .map(|secret| ClientSecret::new(secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.scopes.iter().filter(|scope| *scope != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if let Some(acr_values) = &provider.acr_values {
        request = request.add_extra_param("acr_values", acr_values.clone());
    }
    let (url, csrf_state, nonce) = request.url();
    let now = Utc::now();
    let secure = is_secure(&state, &headers);
    // A new pre-session for this browser; the callback must bring it back.
    // SameSite=Lax: the callback is a top-level navigation from the
    // provider's site, which a Strict cookie would not come back with.
    let (pre_session, _) = state.login_key.issue(now);
    let flow = Flow {
        provider: provider.name.clone(),
        pre_session_hash: hash_pre_session(&pre_session),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        started: now,
    };
    if !state.flows.start(csrf_state.secret().clone(), flow) {
        tracing::warn!("sign-in refused: too many sign-ins waiting");
        return error_page(&state, None, ErrorPage::internal());
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    let mut pre_session_cookie = format!(
        "{}={pre_session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={FLOW_SECONDS_MAX}",
        pre_session_cookie_name(secure)
    );
    if secure {
        pre_session_cookie.push_str("; Secure");
    }
    with_cookie(response, &pre_session_cookie)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The claims of a verified ID token's payload, as JSON.
fn payload_claims(id_token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// `GET /login/oidc/callback`: the provider sends the browser back here.
pub async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let now = Utc::now();
    let secure = is_secure(&state, &headers);
    let too_long = |value: &Option<String>| {
        value
            .as_ref()
            .is_some_and(|value| value.len() > CALLBACK_VALUE_BYTES_MAX)
    };
    if too_long(&query.code) || too_long(&query.state) || too_long(&query.error) {
        return refuse(&state, "unknown", Refusal::BadState, "query value too long").await;
    }
    let Some(flow) = query
        .state
        .as_deref()
        .and_then(|csrf_state| state.flows.take(csrf_state, now))
    else {
        return refuse(
            &state,
            "unknown",
            Refusal::BadState,
            "no waiting sign-in has this state",
        )
        .await;
    };
    let pre_session = cookie(&headers, pre_session_cookie_name(secure)).unwrap_or_default();
    let same_browser = sightline_app::accounts::tokens_match(
        &hex::encode(flow.pre_session_hash),
        &hex::encode(hash_pre_session(&pre_session)),
    );
    if !same_browser {
        return refuse(
            &state,
            &flow.provider,
            Refusal::BadState,
            "pre-session does not match",
        )
        .await;
    }
    let Some(provider) = state.config.sign_in.provider(&flow.provider) else {
        return refuse(
            &state,
            &flow.provider,
            Refusal::BadState,
            "provider no longer configured",
        )
        .await;
    };
    if let Some(error) = &query.error {
        // The provider's error code only (RFC 6749's short words); its
        // description may name the user.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return refuse(&state, &provider.name, Refusal::ProviderError, &code).await;
    }
    let Some(code) = query.code.clone() else {
        return refuse(&state, &provider.name, Refusal::ProviderError, "no code").await;
    };
    let claims = match verified_claims(&state, provider, &flow, code).await {
        Ok(claims) => claims,
        Err((refusal, detail)) => return refuse(&state, &provider.name, refusal, &detail).await,
    };
    let Some(subject) = sign_in::subject_of(provider, &claims) else {
        return refuse(
            &state,
            &provider.name,
            Refusal::NoSubject,
            "no subject claim",
        )
        .await;
    };
    let mapped = sign_in::map_claims(provider, &claims);
    let provider_name = provider.name.clone();
    let issuer = provider.issuer.clone();
    let outcome = match blocking(&state, None, move |store| {
        sign_in::external_login(
            store,
            &provider_name,
            &issuer,
            &subject,
            mapped.as_ref(),
            now,
        )
    })
    .await
    {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    match outcome {
        ExternalOutcome::SignedIn { secret, .. } => {
            let response = signed_in_page(&state);
            let response = with_cookie(
                response,
                &crate::guard::set_cookie(
                    session_cookie_name(secure),
                    secret.as_str(),
                    secure,
                    false,
                ),
            );
            with_cookie(
                response,
                &crate::guard::set_cookie(pre_session_cookie_name(secure), "", secure, true),
            )
        }
        ExternalOutcome::NoRole => {
            refuse(&state, &provider.name, Refusal::NoRole, "no rule matched").await
        }
        ExternalOutcome::Disabled => {
            refuse(&state, &provider.name, Refusal::Disabled, "disabled").await
        }
    }
}

/// The page that follows a sign-in: it moves on to My work at once. A
/// redirect would not do: the browser arrived from the provider's site, and
/// the session cookie (SameSite=Strict) would not go with a redirect that
/// continues that cross-site navigation; a refresh from this page is a
/// navigation of Sightline's own.
fn signed_in_page(state: &WebState) -> Response {
    crate::render::page(
        state,
        StatusCode::OK,
        "signed_in.html",
        minijinja::context! {
            user => None::<crate::render::UserView>,
            page_title => "Signed in",
            nav => "",
        },
    )
}

/// Exchanges the code and verifies the ID token; its claims, with the user
/// info endpoint's when the provider asks for them.
async fn verified_claims(
    state: &WebState,
    provider: &Provider,
    flow: &Flow,
    code: String,
) -> Result<serde_json::Map<String, serde_json::Value>, (Refusal, String)> {
    let http = state
        .flows
        .http
        .as_ref()
        .ok_or((Refusal::Unreachable, "no HTTP client".to_owned()))?;
    let metadata = discover(http, provider).await?;
    let redirect = RedirectUrl::new(state.config.sign_in.redirect_uri())
        .map_err(|error| (Refusal::Unreachable, error.to_string()))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        provider
            .client_secret
            .as_ref()
            .map(|secret| ClientSecret::new(secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect);
    let token_response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|error| (Refusal::Unreachable, error.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|error| {
            (
                Refusal::BadToken,
                format!("code exchange: {}", kind_of(&error)),
            )
        })?;
    let id_token = token_response
        .extra_fields()
        .id_token()
        .ok_or((Refusal::BadToken, "no ID token".to_owned()))?;
    let skew = chrono::Duration::seconds(i64::from(provider.clock_skew_seconds));
    let verifier = client
        .id_token_verifier()
        .set_time_fn(move || Utc::now() - skew);
    let nonce = Nonce::new(flow.nonce.clone());
    let verified = id_token
        .claims(&verifier, &nonce)
        .map_err(|error| (Refusal::BadToken, format!("ID token: {}", kind_of(&error))))?;
    let subject = verified.subject().clone();
    let mut claims = payload_claims(&id_token.to_string())
        .ok_or((Refusal::BadToken, "ID token payload unreadable".to_owned()))?;
    if provider.userinfo {
        let access_token = AccessToken::new(token_response.access_token().secret().clone());
        let user_info: openidconnect::UserInfoClaims<
            AllClaims,
            openidconnect::core::CoreGenderClaim,
        > = client
            .user_info(access_token, Some(subject))
            .map_err(|error| (Refusal::Unreachable, error.to_string()))?
            .request_async(http)
            .await
            .map_err(|error| (Refusal::BadToken, format!("user info: {}", kind_of(&error))))?;
        // The ID token's registered claims stay as verified; the user info
        // adds the rest (CIS2 gives the user's roles there).
        for (name, value) in user_info.additional_claims().0.clone() {
            if !matches!(
                name.as_str(),
                "iss" | "sub" | "aud" | "exp" | "iat" | "nonce"
            ) {
                claims.insert(name, value);
            }
        }
    }
    Ok(claims)
}

/// Every claim the user info endpoint gives beyond the standard ones.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct AllClaims(serde_json::Map<String, serde_json::Value>);

impl openidconnect::AdditionalClaims for AllClaims {}
