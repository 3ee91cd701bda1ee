//! Restricting one of one's agency's records to named roles, and lifting the
//! restriction (issue #18 item 5), through the staff API. The rules are
//! `sightline_app::controls`; `authorize` decides (`Action::RestrictRecord`:
//! team managers and safeguarding leads of the record's agency).

use crate::AppState;
use crate::auth::StaffAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sightline_app::controls::{self, By, ControlError, RestrictionRequest};
use sightline_core::{AgencyId, RecordId};
use sightline_store::{RESTRICTED, RestrictionRow};
use utoipa::ToSchema;

/// Restrict a record to named roles.
#[derive(Deserialize, ToSchema)]
pub struct RestrictBody {
    /// Roles that may still read it: any of practitioner, team_manager,
    /// safeguarding_lead.
    pub roles: Vec<String>,
    /// Only those roles at the record's own agency.
    #[serde(default)]
    pub own_agency_only: bool,
    /// Why sharing would be more detrimental to the child: a sentence (20 or
    /// more characters, 4 or more words).
    #[schema(min_length = 20, max_length = 1000)]
    pub reason: String,
}

/// Lift a record's restriction.
#[derive(Deserialize, ToSchema)]
pub struct LiftBody {
    /// Why: a sentence (20 or more characters, 4 or more words).
    #[schema(min_length = 20, max_length = 1000)]
    pub reason: String,
}

/// A record's restriction as recorded.
#[derive(Serialize, ToSchema)]
pub struct RestrictionResponse {
    pub agency: String,
    pub record_id: String,
    /// `restricted` or `lifted`.
    pub state: String,
    pub roles: Vec<String>,
    pub own_agency_only: bool,
    pub reason: String,
    pub by: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: chrono::DateTime<Utc>,
}

impl RestrictionResponse {
    fn of(row: RestrictionRow) -> Self {
        let event = row.event;
        RestrictionResponse {
            state: if event.state == RESTRICTED {
                "restricted".to_owned()
            } else {
                "lifted".to_owned()
            },
            agency: event.agency,
            record_id: event.record_id,
            roles: event.roles,
            own_agency_only: event.own_agency_only,
            reason: event.reason,
            by: event.by_username,
            at: sightline_app::from_micros(event.at_us),
        }
    }
}

fn parse_record(agency: &str, record_id: &str) -> Result<(AgencyId, String), ApiError> {
    let agency = AgencyId::parse(agency)
        .map_err(|_| ApiError::bad_request("agency: not an agency id (^[a-z0-9-]{2,64}$)"))?;
    let record_id = RecordId::parse(record_id)
        .map_err(|_| ApiError::bad_request("record_id: not a record id (1 to 128 characters)"))?;
    Ok((agency, record_id.as_str().to_owned()))
}

fn control_error(error: ControlError) -> ApiError {
    match error {
        ControlError::Forbidden | ControlError::HoldForbidden => {
            ApiError::forbidden(error.to_string())
        }
        ControlError::NotFound(_) => ApiError::not_found(error.to_string()),
        ControlError::BadReason(_) | ControlError::BadRoles => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_restriction",
            error.to_string(),
        ),
        ControlError::NotInForce(_) => {
            ApiError::new(StatusCode::CONFLICT, "not_restricted", error.to_string())
        }
        ControlError::Store(error) => error.into(),
    }
}

/// Restrict one of your agency's records to named roles (team managers and
/// safeguarding leads of the record's agency). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/records/{agency}/{record_id}/restriction",
    tag = "records",
    params(
        ("agency" = String, Path, pattern = "^[a-z0-9-]{2,64}$"),
        ("record_id" = String, Path, min_length = 1, max_length = 128),
    ),
    request_body = RestrictBody,
    responses(
        (status = 200, description = "Restricted", body = RestrictionResponse),
        (status = 400, description = "A body that is not JSON, or a path parameter that is not UTF-8 or does not match its pattern", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a team manager or safeguarding lead of the record's agency, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "No roles, a role that is not casework, or a reason shorter than a sentence", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn restrict(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath((agency, record_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RestrictBody>,
) -> Result<Json<RestrictionResponse>, ApiError> {
    let (agency, record_id) = parse_record(&agency, &record_id)?;
    let account = auth.session.account;
    let now = Utc::now();
    let row = tokio::task::spawn_blocking(move || {
        let roles =
            controls::parse_roles(body.roles.iter().map(String::as_str)).map_err(control_error)?;
        controls::restrict_record(
            state.store.as_ref(),
            By::Account(&account),
            &RestrictionRequest {
                agency,
                record_id,
                roles,
                own_agency_only: body.own_agency_only,
                reason: body.reason,
            },
            now,
        )
        .map_err(control_error)
    })
    .await??;
    Ok(Json(RestrictionResponse::of(row)))
}

/// Lift the restriction of one of your agency's records. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/records/{agency}/{record_id}/restriction/lift",
    tag = "records",
    params(
        ("agency" = String, Path, pattern = "^[a-z0-9-]{2,64}$"),
        ("record_id" = String, Path, min_length = 1, max_length = 128),
    ),
    request_body = LiftBody,
    responses(
        (status = 200, description = "Lifted", body = RestrictionResponse),
        (status = 400, description = "A body that is not JSON, or a path parameter that is not UTF-8 or does not match its pattern", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a team manager or safeguarding lead of the record's agency, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The record is not restricted", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "A reason shorter than a sentence", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn lift(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath((agency, record_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<LiftBody>,
) -> Result<Json<RestrictionResponse>, ApiError> {
    let (agency, record_id) = parse_record(&agency, &record_id)?;
    let account = auth.session.account;
    let now = Utc::now();
    let row = tokio::task::spawn_blocking(move || {
        controls::lift_restriction(
            state.store.as_ref(),
            By::Account(&account),
            &agency,
            &record_id,
            &body.reason,
            now,
        )
        .map_err(control_error)
    })
    .await??;
    Ok(Json(RestrictionResponse::of(row)))
}
