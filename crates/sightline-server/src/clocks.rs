//! `/api/v1/clocks` and `/api/v1/children/{id}/clocks`: the statutory clocks
//! (Working Together 2023 timescales in working days of England and Wales) the
//! web UI shows on *My work* and the child page, from the same application
//! function (`sightline_app::clocks`). Staff sessions only; every read is
//! authorised and recorded in the audit log as the `view_clocks` view.

use crate::AppState;
use crate::alerts::authorize_child;
use crate::auth::StaffAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Decision, Resource, View};
use sightline_app::clocks::{ClockEntry, agency_clocks_due, child_clocks};
use utoipa::{IntoParams, ToSchema};

/// Days ahead `GET /api/v1/clocks` looks when not told.
const DUE_WITHIN_DAYS_DEFAULT: u32 = 10;
/// The farthest it looks.
const DUE_WITHIN_DAYS_MAX: u32 = 400;
/// Clocks one answer lists at most (and by default).
const CLOCKS_LIMIT_MAX: usize = 1_000;

/// One statutory clock of one child.
#[derive(Serialize, ToSchema)]
pub struct ClockItem {
    /// The child's person id.
    pub child: String,
    /// The clock rule (`referral_decision_overdue`, `assessment_overdue`,
    /// `initial_conference_overdue`, `review_conference_overdue`).
    pub rule: String,
    pub title: String,
    /// `running`, `overdue`, `met`, `met_late`, `stopped` or `superseded` (went
    /// overdue, then a later period of the same clock did).
    pub status: String,
    /// The record that started the clock.
    pub started_by: ClockRecord,
    /// The day the clock (this period of it) runs from, `YYYY-MM-DD`.
    pub since: String,
    /// `1 working day`, `45 working days`, `3 months`, ...
    pub period: String,
    /// The last day on which the clock is met on time, `YYYY-MM-DD`.
    pub deadline: String,
    /// Working days from today to the deadline (0 due today, negative overdue);
    /// absent for met and stopped clocks.
    pub working_days_left: Option<i64>,
    /// The day a record met or stopped the clock.
    pub ended_on: Option<String>,
}

/// A source record by agency and the agency's id.
#[derive(Serialize, ToSchema)]
pub struct ClockRecord {
    pub agency: String,
    pub record_id: String,
}

impl From<ClockEntry> for ClockItem {
    fn from(entry: ClockEntry) -> Self {
        ClockItem {
            child: entry.child_id,
            rule: entry.rule,
            title: entry.title,
            status: entry.status.to_owned(),
            started_by: ClockRecord {
                agency: entry.started_by_agency,
                record_id: entry.started_by_record_id,
            },
            since: entry.since.to_string(),
            period: entry.period,
            deadline: entry.deadline.to_string(),
            working_days_left: entry.working_days_left,
            ended_on: entry.ended_on.map(|day| day.to_string()),
        }
    }
}

/// Clocks, overdue first, then by deadline (the child's finished clocks last).
#[derive(Serialize, ToSchema)]
pub struct ClockList {
    pub clocks: Vec<ClockItem>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// Running clocks due within this many calendar days (0 to 400; default 10);
    /// overdue clocks are always listed.
    #[param(minimum = 0, maximum = 400)]
    due_within_days: Option<u32>,
}

/// The statutory clocks overdue or due soon for the children your agency holds
/// (those it sent a `social_care.*` record about).
#[utoipa::path(
    get,
    path = "/api/v1/clocks",
    tag = "clocks",
    params(DueQuery),
    responses(
        (status = 200, body = ClockList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Your role does no casework", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn clocks_due(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<DueQuery>,
) -> Result<Json<ClockList>, ApiError> {
    let within_days = query.due_within_days.unwrap_or(DUE_WITHIN_DAYS_DEFAULT);
    if within_days > DUE_WITHIN_DAYS_MAX {
        return Err(ApiError::bad_request(format!(
            "due_within_days must be from 0 to {DUE_WITHIN_DAYS_MAX}"
        )));
    }
    let account = auth.account();
    let now = Utc::now();
    let list = tokio::task::spawn_blocking(move || {
        let decision = sightline_app::audit::authorize_view_and_record(
            state.store.as_ref(),
            &account,
            Action::ListAgencyRecords,
            Some(View::Clocks),
            &Resource::Agency(account.agency.clone()),
            &Default::default(),
            now,
        )?;
        if !decision.is_full() {
            return Err(ApiError::forbidden(
                "only casework roles see the clocks of their agency's children",
            ));
        }
        let entries = state.engine.read(|engine| {
            agency_clocks_due(
                engine,
                account.agency.as_str(),
                now,
                within_days,
                CLOCKS_LIMIT_MAX,
            )
        })?;
        Ok(ClockList {
            clocks: entries.into_iter().map(ClockItem::from).collect(),
        })
    })
    .await??;
    Ok(Json(list))
}

/// Every statutory clock of one child: running, overdue, met, met late and
/// stopped. Needs full access to the child (a relationship or break glass).
#[utoipa::path(
    get,
    path = "/api/v1/children/{id}/clocks",
    tag = "clocks",
    params(("id" = String, Path, pattern = "^p-[0-9a-f]{16}$", description = "Sightline's person id (p-...)")),
    responses(
        (status = 200, body = ClockList),
        (status = 400, description = "A path parameter that is not UTF-8 once percent-decoded", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "No relationship with the child (break glass in the web UI)", body = ErrorBody),
        (status = 404, description = "No such child", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn child_clocks_of(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(child_id): ApiPath<String>,
) -> Result<Json<ClockList>, ApiError> {
    let account = auth.account();
    let now = Utc::now();
    let list = tokio::task::spawn_blocking(move || {
        let decision = authorize_child(
            &state,
            &account,
            Action::ViewChild,
            Some(View::Clocks),
            &child_id,
            now,
        )?;
        let known = state.engine.read(|engine| {
            engine
                .facts()
                .get(&child_id)
                .is_some_and(|facts| facts.is_child)
        })?;
        match decision {
            Decision::Deny => Err(ApiError::forbidden("your role may not see children")),
            _ if !known => Err(ApiError::not_found("no such child")),
            Decision::Minimal => Err(ApiError::forbidden(
                "you have no relationship with this child: break glass in the web UI for full access",
            )),
            Decision::Full { .. } => {
                let entries = state
                    .engine
                    .read(|engine| child_clocks(engine, &child_id, now))?;
                Ok(ClockList {
                    clocks: entries.into_iter().map(ClockItem::from).collect(),
                })
            }
        }
    })
    .await??;
    Ok(Json(list))
}
