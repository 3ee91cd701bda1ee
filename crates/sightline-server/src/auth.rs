//! Agency systems authenticate with bearer tokens.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sightline_core::AgencyId;

/// The agency whose token made the request, and the token (which the audit
/// log names for its reads).
pub struct AgencyAuth(pub AgencyId, pub sightline_app::LiveToken);

impl FromRequestParts<AppState> for AgencyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|secret| secret.trim().to_owned())
            .ok_or_else(ApiError::unauthorized)?;
        let store = state.store.clone();
        let token =
            tokio::task::spawn_blocking(move || sightline_app::live_token(store.as_ref(), &secret))
                .await??;
        token
            .map(|token| AgencyAuth(token.agency.clone(), token))
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The header a staff API write carries: the session's CSRF token (as the web
/// forms carry it in a field), so that a session cookie alone cannot write.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A member of staff with a live session, calling the API either with the
/// session token as `Authorization: Bearer <token>` or with the session cookie
/// of the web UI. A cookie is sent by the browser on its own, so a cookie write
/// (any method but GET and HEAD) also needs the session's CSRF token in
/// [`CSRF_HEADER`]; a bearer token is never ambient and needs none.
pub struct StaffAuth {
    pub session: sightline_app::accounts::LiveSession,
}

impl StaffAuth {
    pub fn account(self) -> sightline_app::accounts::Account {
        self.session.account
    }
}

fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|secret| secret.trim().to_owned());
        let (token, by_cookie) = match bearer {
            Some(token) => (token, false),
            None => (
                cookie_value(
                    parts,
                    sightline_web::session_cookie_name(sightline_web::is_secure_request(
                        &state.config.web,
                        &parts.headers,
                    )),
                )
                .ok_or_else(staff_unauthorized)?,
                true,
            ),
        };
        let store = state.store.clone();
        let policy = state.config.web.session;
        let session = tokio::task::spawn_blocking(move || {
            sightline_app::accounts::session_account(
                store.as_ref(),
                &token,
                chrono::Utc::now(),
                &policy,
            )
        })
        .await?
        .map_err(|error| {
            tracing::error!(error = %error, "session lookup failed");
            ApiError::internal()
        })?
        .ok_or_else(staff_unauthorized)?;
        let reading =
            parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
        if by_cookie && !reading {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            if !sightline_app::accounts::tokens_match(&session.csrf_token, given) {
                return Err(ApiError::forbidden(
                    "a cookie-authenticated write must carry the session's CSRF token in X-CSRF-Token",
                ));
            }
        }
        Ok(StaffAuth { session })
    }
}

fn staff_unauthorized() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a live staff session is required (Authorization: Bearer <session token>, or the session cookie after signing in at /login)",
    )
}
