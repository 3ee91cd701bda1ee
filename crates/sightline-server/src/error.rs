//! The API's one error shape: `{"error": {"code", "message", "problems"?}}`, with
//! stable codes. Errors are logged once, here, without personal data.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sightline_core::interchange::{BatchRejected, Problem};
use utoipa::ToSchema;

/// Body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_batch`, `unauthorized`.
    pub code: &'static str,
    /// Plain words.
    pub message: String,
    /// For `invalid_batch`: every problem found (up to the limit), each with its
    /// position, field path and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ProblemSchema>>)]
    pub problems: Option<Vec<Problem>>,
    /// For `invalid_batch`: how many problems there were in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_problems: Option<u64>,
}

/// One problem with a submitted batch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProblemSchema {
    /// `{"line": n}` (JSON Lines), `{"index": n}` (JSON array), `{"row": n}` (CSV) or `"batch"`.
    position: serde_json::Value,
    /// Field path such as `persons[1].dob`, or the CSV column.
    path: String,
    message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
    /// Sent as `Retry-After` (a 429).
    pub retry_after_seconds: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: ErrorDetail {
                code,
                message: message.into(),
                problems: None,
                n_problems: None,
            },
            retry_after_seconds: None,
        }
    }

    /// 429: too many requests in progress; try again after `seconds`.
    pub fn too_many_requests(message: impl Into<String>, seconds: u32) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
        error.retry_after_seconds = Some(seconds);
        error
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer slt_...)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was stored by this request",
        )
    }

    pub fn rejected(rejected: BatchRejected) -> Self {
        let message = format!(
            "batch rejected: {} problem(s) in {} record(s); nothing was stored",
            rejected.n_problems, rejected.n_records_invalid
        );
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_batch", message);
        error.detail.n_problems = Some(rejected.n_problems);
        error.detail.problems = Some(rejected.problems);
        error
    }
}

impl From<sightline_store::StoreError> for ApiError {
    fn from(error: sightline_store::StoreError) -> Self {
        // Store errors carry no personal data (the store guarantees it).
        tracing::error!(error = %error, "store error");
        ApiError::internal()
    }
}

impl From<sightline_app::EngineError> for ApiError {
    fn from(error: sightline_app::EngineError) -> Self {
        // Engine errors name record ids at most, never personal data.
        tracing::error!(error = %error, "engine error");
        ApiError::internal()
    }
}

impl From<sightline_app::IngestError> for ApiError {
    fn from(error: sightline_app::IngestError) -> Self {
        match error {
            sightline_app::IngestError::Store(error) => error.into(),
            sightline_app::IngestError::Engine(error) => error.into(),
            sightline_app::IngestError::Rejected(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_batch",
                "batch rejected; nothing was stored",
            ),
        }
    }
}

impl From<sightline_app::TokenError> for ApiError {
    fn from(error: sightline_app::TokenError) -> Self {
        tracing::error!(error = %error, "token lookup failed");
        ApiError::internal()
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        tracing::error!(error = %error, "blocking task failed");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
