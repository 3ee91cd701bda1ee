//! `/api/v1/alerts`: the persisted alerts, one alert with its evidence and
//! history, and recording a decision.
//!
//! These are people's actions, so they authenticate with a staff session (the
//! one the web UI's login creates), not an agency token: either
//! `Authorization: Bearer <session token>` (the value of the `sightline_session`
//! cookie), or the cookie itself. A POST authenticated by the cookie must also
//! carry the session's CSRF token in `X-CSRF-Token`. Every read and write is
//! authorised per child with `sightline_access` and recorded in the audit log.

use crate::AppState;
use crate::auth::StaffAuth;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Resource, View};
use sightline_app::accounts::Account;
use sightline_app::decisions::DecisionError;
use sightline_app::from_micros;
use sightline_store::{AlertCursor, AlertEventRow, AlertFilter, AlertRow, EvidenceRow, Store};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Authorises `action` on `child_id` for `account` and records it in the audit
/// log; the decision.
pub(crate) fn authorize_child(
    state: &AppState,
    account: &Account,
    action: Action,
    view: Option<View>,
    child_id: &str,
    now: DateTime<Utc>,
) -> Result<sightline_access::Decision, ApiError> {
    let store = state.store.as_ref();
    let mut context =
        sightline_app::accounts::access_context(store, account, now).map_err(|error| {
            tracing::error!(error = %error, "access context failed");
            ApiError::internal()
        })?;
    context.relationships = state.engine.read(|engine| {
        sightline_app::need_to_know::child_relationships(store, engine, child_id, now)
    })??;
    Ok(sightline_app::audit::authorize_view_and_record(
        store,
        account,
        action,
        view,
        &Resource::Child(child_id.to_owned()),
        &context,
        now,
    )?)
}

/// One evidence record of an alert.
#[derive(Serialize, ToSchema)]
pub struct AlertEvidence {
    pub agency: String,
    pub record_id: String,
    pub version: i64,
}

impl From<EvidenceRow> for AlertEvidence {
    fn from(row: EvidenceRow) -> Self {
        AlertEvidence {
            agency: row.agency,
            record_id: row.record_id,
            version: row.version,
        }
    }
}

/// An alert. With only minimal access to the child (`restricted: true`) the
/// title, explanation and citation are left out.
#[derive(Serialize, ToSchema)]
pub struct AlertItem {
    pub id: String,
    /// The rule that raised it, its pack and the pack's version.
    pub rule: String,
    pub rule_pack: String,
    pub rule_version: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The child's person id (as in `sightline persons`).
    pub child: String,
    /// The person around the child a person rule is about.
    pub person: Option<String>,
    /// When the rule fired, in logical time.
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it must be decided by.
    pub due_at: DateTime<Utc>,
    /// Open and past `due_at`.
    pub overdue: bool,
    /// `open` or `decided`.
    pub status: String,
    /// 0 none, 1 team manager, 2 head of service.
    pub escalation_level: i64,
    pub decided_at: Option<DateTime<Utc>>,
    /// The rule's route, and whom it is routed to now.
    pub route: String,
    pub routed_to: String,
    pub restricted: bool,
    pub title: Option<String>,
    pub explanation: Option<String>,
    pub citation: Option<String>,
}

impl AlertItem {
    fn of(row: AlertRow, full: bool, now_us: i64) -> AlertItem {
        AlertItem {
            overdue: row.status == sightline_store::STATUS_OPEN && row.due_at_us < now_us,
            id: row.id,
            rule: row.rule_id,
            rule_pack: row.pack_name,
            rule_version: row.pack_version,
            severity: row.severity,
            child: row.child_id,
            person: row.person_id,
            raised_at: from_micros(row.raised_at_us),
            updated_at: from_micros(row.updated_at_us),
            due_at: from_micros(row.due_at_us),
            status: row.status,
            escalation_level: row.escalation_level,
            decided_at: row.decided_at_us.map(from_micros),
            route: row.route,
            routed_to: row.routed_to,
            restricted: !full,
            title: full.then_some(row.title),
            // The API names no person (agency systems are not need-to-know
            // readers of the people around a child): references read as
            // "a person around the child" and agency ids.
            explanation: full
                .then(|| sightline_rules::resolve_explanation(&row.explanation, &|_| None)),
            citation: full.then_some(row.citation),
        }
    }
}

/// One event of an alert's history.
#[derive(Serialize, ToSchema)]
pub struct AlertEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `raised`, `evidence_added`, `severity_raised`, `escalated`, `decided`, ...
    pub kind: String,
    pub actor: Option<String>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

impl From<AlertEventRow> for AlertEvent {
    fn from(row: AlertEventRow) -> Self {
        AlertEvent {
            seq: row.seq,
            at: from_micros(row.at_us),
            kind: row.kind,
            actor: row.actor,
            decision: row.decision,
            reason: row.reason,
            detail: row
                .detail
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
        }
    }
}

/// An alert with its evidence and history.
#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    pub alert: AlertItem,
    pub evidence: Vec<AlertEvidence>,
    pub events: Vec<AlertEvent>,
}

const ALERT_LIMIT_DEFAULT: u32 = 100;

#[derive(Deserialize, IntoParams)]
pub struct AlertQuery {
    /// Only this child (person id).
    child: Option<String>,
    /// Only this severity: low, medium, high, critical.
    severity: Option<String>,
    /// Only this status: open, decided.
    status: Option<String>,
    /// `true`: only open alerts past their due time.
    overdue: Option<bool>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 100).
    limit: Option<u32>,
}

/// A page of alerts: overdue first, then by severity, then by due time.
#[derive(Serialize, ToSchema)]
pub struct AlertPage {
    /// The alerts of children in the caller's work (seen in full); the alerts
    /// of other children are left out, not listed as restricted.
    pub alerts: Vec<AlertItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List alerts.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(AlertQuery),
    responses(
        (status = 200, body = AlertPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn list_alerts(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(query): Query<AlertQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    let limit = query.limit.unwrap_or(ALERT_LIMIT_DEFAULT);
    if !(1..=sightline_store::ALERT_LIST_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {}",
            sightline_store::ALERT_LIST_LIMIT_MAX
        )));
    }
    if let Some(severity) = &query.severity
        && sightline_store::severity_rank(severity).is_none()
    {
        return Err(ApiError::bad_request(
            "severity must be low, medium, high or critical",
        ));
    }
    if let Some(status) = &query.status
        && status != sightline_store::STATUS_OPEN
        && status != sightline_store::STATUS_DECIDED
    {
        return Err(ApiError::bad_request("status must be open or decided"));
    }
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(token) => Some(
            AlertCursor::from_token(token)
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))?,
        ),
    };
    let now = Utc::now();
    let now_us = now.timestamp_micros();
    let filter = AlertFilter {
        child_id: query.child,
        severity: query.severity,
        status: query.status,
        overdue_at_us: query.overdue.unwrap_or(false).then_some(now_us),
        now_us: Some(now_us),
        after,
        limit,
        ..AlertFilter::default()
    };
    let account = auth.session.account;
    let page = tokio::task::spawn_blocking(move || {
        let rows = state.store.alerts().list(&filter)?;
        let next_cursor = (rows.len() == limit as usize)
            .then(|| rows.last())
            .flatten()
            .map(|last| AlertCursor::after(last, Some(now_us)).to_token());
        let mut decisions: BTreeMap<String, sightline_access::Decision> = BTreeMap::new();
        let mut alerts = Vec::with_capacity(rows.len());
        for row in rows {
            if !decisions.contains_key(&row.child_id) {
                let decision = authorize_child(
                    &state,
                    &account,
                    Action::ViewChild,
                    Some(View::AlertList),
                    &row.child_id,
                    now,
                )?;
                decisions.insert(row.child_id.clone(), decision);
            }
            // Only the alerts of children in the reader's work: an alert's rule,
            // child and the person around the child are not the minimal view's
            // (issue #15, finding 3).
            if decisions
                .get(&row.child_id)
                .is_some_and(sightline_access::Decision::is_full)
            {
                alerts.push(AlertItem::of(row, true, now_us));
            }
        }
        Ok::<_, ApiError>(AlertPage {
            alerts,
            next_cursor,
        })
    })
    .await??;
    Ok(Json(page))
}

/// The alert, checked for full access to its child with `action`.
fn alert_for(
    state: &AppState,
    account: &Account,
    action: Action,
    id: &str,
    now: DateTime<Utc>,
) -> Result<AlertRow, ApiError> {
    let row = state
        .store
        .alerts()
        .get(id)?
        .ok_or_else(|| ApiError::not_found("no alert with that id"))?;
    let view = (action == Action::ViewChild).then_some(View::Alert);
    let decision = authorize_child(state, account, action, view, &row.child_id, now)?;
    if !decision.is_full() {
        return Err(ApiError::forbidden(
            "you have no working relationship with this child (break glass in the web UI to read)",
        ));
    }
    Ok(row)
}

fn detail(store: &dyn Store, row: AlertRow, now_us: i64) -> Result<AlertDetail, ApiError> {
    let evidence = store.alerts().evidence(&row.id)?;
    let events = store.alerts().events(&row.id)?;
    Ok(AlertDetail {
        alert: AlertItem::of(row, true, now_us),
        evidence: evidence.into_iter().map(AlertEvidence::from).collect(),
        events: events.into_iter().map(AlertEvent::from).collect(),
    })
}

/// One alert with its evidence and history.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = AlertDetail),
        (status = 401, body = ErrorBody),
        (status = 403, description = "No working relationship with the child", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn get_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    let now = Utc::now();
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = alert_for(&state, &account, Action::ViewChild, &id, now)?;
        detail(state.store.as_ref(), row, now.timestamp_micros())
    })
    .await??;
    Ok(Json(detail))
}

/// A decision on an alert.
#[derive(Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// One of strategy_discussion, referral_to_social_care, visit, assessment,
    /// medical, police_referral, no_further_action.
    pub decision: String,
    /// Why (required, not empty).
    pub reason: String,
}

/// Record a decision on an open alert.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/decision",
    tag = "alerts",
    params(("id" = String, Path)),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided", body = AlertDetail),
        (status = 401, body = ErrorBody),
        (status = 403, description = "No working relationship with the child, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The alert is not open", body = ErrorBody),
        (status = 422, description = "Unknown decision or empty reason", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn decide_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<String>,
    Json(request): Json<DecisionRequest>,
) -> Result<Json<AlertDetail>, ApiError> {
    // Check the vocabulary before touching anything.
    sightline_app::decisions::validate_decision(&request.decision, &request.reason)
        .map_err(decision_error)?;
    let now = Utc::now();
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = state
            .store
            .alerts()
            .get(&id)?
            .ok_or_else(|| ApiError::not_found("no alert with that id"))?;
        // Only those the alert is routed to decide it (issue #15, finding 2).
        let decision =
            sightline_app::need_to_know::decide_alert(state.store.as_ref(), &account, &row, now)?;
        if !decision.is_full() {
            return Err(ApiError::forbidden(
                "only the team or role this alert is routed to may decide it",
            ));
        }
        let decided = sightline_app::decisions::record_decision(
            state.store.as_ref(),
            &row.id,
            &account.username,
            &request.decision,
            &request.reason,
            now,
        )
        .map_err(decision_error)?;
        tracing::info!(alert.id = %decided.id, "alert decided");
        detail(state.store.as_ref(), decided, now.timestamp_micros())
    })
    .await??;
    Ok(Json(detail))
}

fn decision_error(error: DecisionError) -> ApiError {
    match error {
        DecisionError::UnknownDecision
        | DecisionError::EmptyReason
        | DecisionError::ReasonTooLong => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_decision",
            error.to_string(),
        ),
        DecisionError::NotFound => ApiError::not_found("no alert with that id"),
        DecisionError::NotOpen => ApiError::new(
            StatusCode::CONFLICT,
            "alert_not_open",
            "the alert is not open: a decision was already recorded",
        ),
        DecisionError::Store(error) => error.into(),
    }
}
