//! `POST /fhir/R4`: FHIR R4 bundles from agency systems that speak FHIR, mapped
//! to interchange records by `sightline-fhir` and stored like any batch (all or
//! nothing, alerts in the same transaction). Answers are FHIR: an
//! `OperationOutcome` whose issues name FHIR paths (`expression`).

use crate::AppState;
use crate::auth::AgencyAuth;
use crate::error::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sightline_fhir::{EntryOutcome, FhirProblem, Mapped};

/// The media type of FHIR's JSON format.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR answer: the resource as `application/fhir+json`.
fn fhir_response(status: StatusCode, resource: Value) -> Response {
    let mut response = (status, Json(resource)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// One issue of an OperationOutcome.
fn issue(severity: &str, code: &str, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({"severity": severity, "code": code, "diagnostics": diagnostics});
    if let Some(expression) = expression {
        issue["expression"] = json!([expression]);
    }
    issue
}

fn operation_outcome(issues: Vec<Value>) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// An API error as an OperationOutcome with its status and headers
/// (`WWW-Authenticate` of a 401, `Retry-After` of a 429).
pub(crate) fn error_outcome(error: ApiError) -> Response {
    let code = match error.status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::MISDIRECTED_REQUEST => "not-supported",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => "exception",
    };
    let mut response = fhir_response(
        error.status,
        operation_outcome(vec![issue("error", code, &error.detail.message, None)]),
    );
    let plain = error.into_response();
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = plain.headers().get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A refusal in FHIR's words: any intake error as an OperationOutcome.
struct Refused(Box<Response>);

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Refused(Box::new(error_outcome(error)))
    }
}

/// The 422 answer of a bundle that cannot be mapped: every problem at its path.
fn rejected_outcome(problems: &[FhirProblem]) -> Response {
    let issues = problems
        .iter()
        .map(|problem| issue("error", "invalid", &problem.message, Some(&problem.path)))
        .collect();
    fhir_response(StatusCode::UNPROCESSABLE_ENTITY, operation_outcome(issues))
}

/// What became of each entry, in words, for the 200 answer.
fn entry_issues(mapped: &Mapped) -> Vec<Value> {
    let record_name = |record_idx: usize| {
        mapped
            .records
            .get(record_idx)
            .map_or_else(String::new, |parsed| {
                format!(
                    "record {} ({})",
                    parsed.record.source.record_id,
                    parsed.record.kind.label()
                )
            })
    };
    mapped
        .entries
        .iter()
        .enumerate()
        .map(|(entry_idx, outcome)| {
            let expression = format!("Bundle.entry[{entry_idx}]");
            let words = match outcome {
                EntryOutcome::Record(record_idx) => {
                    format!("stored as {}", record_name(*record_idx))
                }
                EntryOutcome::PartOf(record_idxs) => format!(
                    "read into {}",
                    record_idxs
                        .iter()
                        .map(|&record_idx| record_name(record_idx))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                EntryOutcome::NotStored(reason) => format!("not stored: {reason}"),
            };
            issue("information", "informational", &words, Some(&expression))
        })
        .collect()
}

/// Submit a FHIR R4 Bundle (type `transaction`, `batch` or `collection`).
///
/// The bundle's Patient, RelatedPerson, Encounter, Appointment, Condition,
/// Observation and Flag resources are mapped to interchange records of the
/// token's agency (`docs/integrators.md`, "FHIR R4") and stored as one batch:
/// if anything cannot be mapped or is invalid, nothing is stored and the answer
/// is a 422 `OperationOutcome` with every problem at its FHIR path. A 200
/// `OperationOutcome` says what became of each entry. The token, the body
/// limit and the intake gate are those of `/api/v1/records` (one intake path).
#[utoipa::path(
    post,
    path = "/fhir/R4",
    tag = "records",
    request_body(
        description = "A FHIR R4 Bundle (JSON)",
        content(
            (serde_json::Value = "application/fhir+json"),
            (serde_json::Value = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Stored; an OperationOutcome saying what became of each entry", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 401, description = "No valid token (OperationOutcome)", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 413, description = "Body over the limit (OperationOutcome)", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 415, description = "Not FHIR JSON (OperationOutcome)", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 422, description = "The bundle cannot be mapped or is invalid; nothing stored (OperationOutcome, each issue's expression a FHIR path)", body = serde_json::Value, content_type = "application/fhir+json"),
        (status = 429, description = "The agency (or the server) already has as many batches in progress as it may; nothing was read (OperationOutcome). Retry after the `Retry-After` seconds.", body = serde_json::Value, content_type = "application/fhir+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
    security(("bearer" = [])),
)]
pub async fn submit_bundle(
    State(state): State<AppState>,
    auth: Result<AgencyAuth, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match submit(state, auth, headers, body).await {
        Ok(response) | Err(response) => response,
    }
}

async fn submit(
    state: AppState,
    auth: Result<AgencyAuth, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let AgencyAuth(agency, _) = auth.map_err(error_outcome)?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(FHIR_JSON)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != FHIR_JSON && media_type != "application/json" {
        return Err(error_outcome(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send a FHIR R4 Bundle as application/fhir+json",
        )));
    }
    let engine = state.engine.clone();
    let sender = agency.clone();
    let (summary, mut issues) = crate::records::intake(&state, agency, body, move |input| {
        let service = engine
            .read(|engine| {
                engine
                    .organisation()
                    .profile(&sender, std::iter::empty())
                    .service
            })
            .map_err(ApiError::from)?;
        let context = sightline_fhir::Context {
            agency: &sender,
            service,
            received_at: input.received_at,
            limits: input.limits,
        };
        let mapped = sightline_fhir::map_bundle(input.bytes, &context).map_err(|problems| {
            tracing::info!(agency = %sender, problems = problems.len(), "FHIR bundle rejected");
            Refused(Box::new(rejected_outcome(&problems)))
        })?;
        let issues = entry_issues(&mapped);
        Ok((mapped.records, issues))
    })
    .await
    .map_err(|Refused(response)| *response)?;
    issues.insert(
        0,
        issue(
            "information",
            "informational",
            &format!(
                "stored {} record(s): {} new, {} duplicate ({} with different content), {} superseded an earlier version",
                summary.records,
                summary.stored,
                summary.duplicate,
                summary.duplicate_with_different_content,
                summary.superseded,
            ),
            None,
        ),
    );
    Ok(fhir_response(StatusCode::OK, operation_outcome(issues)))
}

/// `GET /fhir/R4/metadata`: the CapabilityStatement (what this endpoint
/// accepts). Public, as FHIR expects; it holds no personal data.
pub async fn capability_statement() -> Response {
    fhir_response(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-07",
            "kind": "instance",
            "software": {"name": "Sightline"},
            "fhirVersion": "4.0.1",
            "format": [FHIR_JSON],
            "rest": [{
                "mode": "server",
                "documentation": "POST a Bundle (transaction, batch or collection) to the base with an agency bearer token. Patient, RelatedPerson, Encounter, Appointment, Condition, Observation and Flag are mapped to interchange records (docs/integrators.md, \"FHIR R4\"); Organization, Practitioner, PractitionerRole and Location are read as context. Nothing is read back over FHIR.",
                "security": {"description": "Authorization: Bearer <agency token>"},
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }],
        }),
    )
}
