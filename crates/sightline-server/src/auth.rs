//! Agency systems authenticate with bearer tokens.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sightline_core::AgencyId;

/// The agency whose token made the request.
pub struct AgencyAuth(pub AgencyId);

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
        let agency = tokio::task::spawn_blocking(move || {
            sightline_app::token_agency(store.as_ref(), &secret)
        })
        .await??;
        agency.map(AgencyAuth).ok_or_else(ApiError::unauthorized)
    }
}
