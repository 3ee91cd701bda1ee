//! `/api/v1/alerts`: the persisted alerts (filters, keyset pages, and for
//! one's own work counts per severity and overdue), one alert with its
//! evidence, follow-ups and history, recording a decision (with the follow-up
//! it sets), assigning an alert to a worker of its team, reopening a decided
//! alert; `/api/v1/follow-ups`: one's open follow-ups and recording one done.
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
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::params;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Resource, View};
use sightline_app::accounts::Account;
use sightline_app::controls::Withheld;
use sightline_app::decisions::{DecisionError, FollowUpRequest, Problems};
use sightline_app::from_micros;
use sightline_core::interchange::{Position, Problem};
use sightline_store::{
    AlertCounts, AlertCursor, AlertEventRow, AlertFilter, AlertRow, Assigned, EvidenceRow,
    FollowUpRow, Store,
};
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

/// One evidence record of an alert. A record its agency restricted away from
/// the reader is `restricted: true` with an empty agency and record id.
#[derive(Serialize, ToSchema)]
pub struct AlertEvidence {
    pub agency: String,
    pub record_id: String,
    pub version: i64,
    /// Restricted by its agency to roles the reader is not among.
    pub restricted: bool,
}

impl AlertEvidence {
    fn of(row: EvidenceRow, withheld: &Withheld) -> Self {
        if withheld.contains(&row.agency, &row.record_id) {
            return AlertEvidence {
                agency: String::new(),
                record_id: String::new(),
                version: 0,
                restricted: true,
            };
        }
        AlertEvidence {
            agency: row.agency,
            record_id: row.record_id,
            version: row.version,
            restricted: false,
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
    /// The worker (username) of the routed team it is assigned to; absent: the
    /// team's.
    pub assigned_to: Option<String>,
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
            assigned_to: row.assigned_to,
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
    /// `raised`, `evidence_added`, `severity_raised`, `reopened`, `decided`,
    /// `escalated`, `rerouted`, `assigned`, `unassigned` or `follow_up_done`.
    pub kind: String,
    /// Who, for a person's action (a `reopened` event without one is Sightline's,
    /// on new evidence).
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

/// What a decision asked someone to do, by when, and whether it is done.
#[derive(Serialize, ToSchema)]
pub struct FollowUp {
    pub id: i64,
    pub alert: String,
    /// The child's person id.
    pub child: String,
    /// The decision that set it: strategy_discussion, visit, assessment or medical.
    pub decision: String,
    /// Who will do it (username).
    pub owner: String,
    /// The alert's routing when it was decided.
    pub routed_to: String,
    /// The day it is due by.
    #[schema(value_type = String, format = Date)]
    pub due: chrono::NaiveDate,
    /// Not done and `due` has passed.
    pub overdue: bool,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    /// Who recorded it done, and when; absent while open.
    pub done_by: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
}

impl FollowUp {
    fn of(row: FollowUpRow, today: chrono::NaiveDate) -> FollowUp {
        let due = sightline_app::decisions::follow_up_due_day(&row);
        FollowUp {
            overdue: row.done_at_us.is_none() && due < today,
            due,
            id: row.id,
            alert: row.alert_id,
            child: row.child_id,
            decision: row.decision,
            owner: row.owner,
            routed_to: row.routed_to,
            set_by: row.set_by,
            set_at: from_micros(row.set_at_us),
            done_by: row.done_by,
            done_at: row.done_at_us.map(from_micros),
        }
    }
}

/// An alert with its evidence, follow-ups and history.
#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    pub alert: AlertItem,
    pub evidence: Vec<AlertEvidence>,
    pub follow_ups: Vec<FollowUp>,
    pub events: Vec<AlertEvent>,
}

const ALERT_LIMIT_DEFAULT: u32 = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only this child (person id).
    #[param(pattern = "^p-[0-9a-f]{16}$")]
    child: Option<String>,
    /// Only this severity: low, medium, high, critical.
    #[param(schema_with = crate::params::severity_schema)]
    severity: Option<String>,
    /// Only this status: open, decided.
    #[param(schema_with = crate::params::status_schema)]
    status: Option<String>,
    /// `true`: only open alerts past their due time.
    overdue: Option<bool>,
    /// Only this rule (its id).
    #[param(min_length = 1, max_length = 64)]
    rule: Option<String>,
    /// `true`: only the caller's work: alerts routed to them or their team, or
    /// assigned to them. The page then carries `counts`.
    mine: Option<bool>,
    /// `me`: only alerts assigned to the caller; `nobody`: only alerts assigned
    /// to nobody (the team's); any other value: assigned to that username.
    #[param(schema_with = crate::params::assigned_schema)]
    assigned: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[01][.][0-3][.]-?[0-9]{1,18}[.]a-[0-9a-f]{16}$")]
    cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// How many alerts match, by severity and overdue (all pages).
#[derive(Serialize, ToSchema)]
pub struct Counts {
    pub total: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    /// Open and past their due time.
    pub overdue: u64,
}

impl From<AlertCounts> for Counts {
    fn from(counts: AlertCounts) -> Self {
        let [low, medium, high, critical] = counts.by_severity;
        Counts {
            total: counts.total,
            critical,
            high,
            medium,
            low,
            overdue: counts.overdue,
        }
    }
}

/// A page of alerts: overdue first, then by severity, then by due time.
#[derive(Serialize, ToSchema)]
pub struct AlertPage {
    /// The alerts of children in the caller's work (seen in full); the alerts
    /// of other children are left out, not listed as restricted.
    pub alerts: Vec<AlertItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// With `mine=true`: every alert the filter matches (all pages), by severity
    /// and overdue.
    pub counts: Option<Counts>,
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
    ApiQuery(query): ApiQuery<AlertQuery>,
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
        None => None,
        Some(token) => Some(
            AlertCursor::from_token(token)
                .filter(|_| params::is_alert_cursor(token))
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))?,
        ),
    };
    if let Some(child) = &query.child {
        params::require(
            params::is_person_id(child),
            "child must be a person id (p-...)",
        )?;
    }
    if let Some(assigned) = &query.assigned {
        params::require(
            matches!(assigned.as_str(), "me" | "nobody") || params::is_username(assigned),
            "assigned must be me, nobody or a username",
        )?;
    }
    if let Some(rule) = &query.rule
        && (rule.is_empty() || rule.chars().count() > 64)
    {
        return Err(ApiError::bad_request("rule must be a rule id"));
    }
    let now = Utc::now();
    let now_us = now.timestamp_micros();
    let account = auth.session.account;
    let mine = query.mine.unwrap_or(false);
    let filter = AlertFilter {
        child_id: query.child,
        severity: query.severity,
        rule_id: query.rule,
        status: query.status,
        overdue_at_us: query.overdue.unwrap_or(false).then_some(now_us),
        holder: mine.then(|| sightline_app::work::holder_of(&account)),
        assigned: query.assigned.map(|assigned| match assigned.as_str() {
            "me" => Assigned::To(account.username.clone()),
            "nobody" => Assigned::Nobody,
            _ => Assigned::To(assigned),
        }),
        now_us: Some(now_us),
        after,
        limit,
        ..AlertFilter::default()
    };
    let page = tokio::task::spawn_blocking(move || {
        let counts = if mine {
            Some(Counts::from(state.store.alerts().counts(&filter)?))
        } else {
            None
        };
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
            counts,
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

/// The alert, checked that `account` is of the team or role it is routed to:
/// only they decide, assign or reopen it (issue #15, finding 2).
fn routed_alert_for(
    state: &AppState,
    account: &Account,
    id: &str,
    now: DateTime<Utc>,
) -> Result<AlertRow, ApiError> {
    let row = state
        .store
        .alerts()
        .get(id)?
        .ok_or_else(|| ApiError::not_found("no alert with that id"))?;
    let decision =
        sightline_app::need_to_know::decide_alert(state.store.as_ref(), account, &row, now)?;
    if !decision.is_full() {
        return Err(ApiError::forbidden(
            "only the team or role this alert is routed to may decide, assign or reopen it",
        ));
    }
    Ok(row)
}

fn detail(
    store: &dyn Store,
    account: &Account,
    row: AlertRow,
    now: DateTime<Utc>,
) -> Result<AlertDetail, ApiError> {
    let withheld = sightline_app::controls::withheld_from(store, account)?;
    let evidence = store.alerts().evidence(&row.id)?;
    let events = store.alerts().events(&row.id)?;
    let follow_ups = store.alerts().follow_ups_of(&row.id)?;
    Ok(AlertDetail {
        alert: AlertItem::of(row, true, now.timestamp_micros()),
        evidence: evidence
            .into_iter()
            .map(|row| AlertEvidence::of(row, &withheld))
            .collect(),
        follow_ups: follow_ups
            .into_iter()
            .map(|row| FollowUp::of(row, now.date_naive()))
            .collect(),
        events: events.into_iter().map(AlertEvent::from).collect(),
    })
}

/// One alert with its evidence and history.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    params(("id" = String, Path, pattern = "^a-[0-9a-f]{16}$")),
    responses(
        (status = 200, body = AlertDetail),
        (status = 400, description = "A path parameter that is not UTF-8 once percent-decoded", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "No working relationship with the child", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn get_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    let now = Utc::now();
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = alert_for(&state, &account, Action::ViewChild, &id, now)?;
        detail(state.store.as_ref(), &account, row, now)
    })
    .await??;
    Ok(Json(detail))
}

/// Who will carry out a decision, and by when.
#[derive(Deserialize, ToSchema)]
pub struct FollowUpBody {
    /// A username: an active account of the decider's agency.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{2,63}$")]
    pub owner: String,
    /// The day it will be done by (today or later).
    #[schema(value_type = String, format = Date)]
    pub due: chrono::NaiveDate,
}

/// A decision on an alert.
#[derive(Deserialize, ToSchema)]
pub struct AlertDecisionRequest {
    /// One of strategy_discussion, referral_to_social_care, visit, assessment,
    /// medical, police_referral, no_further_action.
    #[schema(schema_with = crate::params::decision_schema)]
    pub decision: String,
    /// Why: at least a sentence (20 to 10,000 characters, leading and trailing
    /// white space not counted).
    #[schema(min_length = 20, max_length = 10000, pattern = "\\S[\\s\\S]{18,}\\S")]
    pub reason: String,
    /// Who will do it and by when: required for strategy_discussion, visit,
    /// assessment and medical (it becomes a follow-up, open until recorded
    /// done); ignored for the others.
    pub follow_up: Option<FollowUpBody>,
}

impl AlertDecisionRequest {
    fn follow_up(&self) -> FollowUpRequest {
        self.follow_up
            .as_ref()
            .map(|body| FollowUpRequest {
                owner: body.owner.clone(),
                due: Some(body.due),
            })
            .unwrap_or_default()
    }
}

/// Record a decision on an open alert.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/decision",
    tag = "alerts",
    params(("id" = String, Path, pattern = "^a-[0-9a-f]{16}$")),
    request_body = AlertDecisionRequest,
    responses(
        (status = 200, description = "Decided", body = AlertDetail),
        (status = 400, description = "A body that is not JSON, or a path parameter that is not UTF-8", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not of the team or role the alert is routed to, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The alert is not open", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "Unknown decision, a reason shorter than a sentence, or a missing or invalid follow-up (every problem, by field)", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn decide_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AlertDecisionRequest>,
) -> Result<Json<AlertDetail>, ApiError> {
    let now = Utc::now();
    // Check what was sent before touching anything: exactly what the OpenAPI
    // document declares (the shared validation forgives white space around
    // the decision, as forms need; the API does not), every problem at once.
    let decision = if sightline_app::decisions::DecisionKind::parse(&request.decision).is_some() {
        request.decision.as_str()
    } else {
        ""
    };
    let mut problems = match sightline_app::decisions::validate_decision(
        decision,
        &request.reason,
        &request.follow_up(),
        now.date_naive(),
    ) {
        Ok(_) => Vec::new(),
        Err(Problems(problems)) => problems,
    };
    let owner_reported = problems.iter().any(|problem| {
        matches!(
            problem,
            DecisionError::FollowUpOwnerMissing | DecisionError::FollowUpOwnerUnknown
        )
    });
    if !owner_reported
        && request
            .follow_up
            .as_ref()
            .is_some_and(|follow_up| !params::is_username(&follow_up.owner))
    {
        problems.push(DecisionError::FollowUpOwnerUnknown);
    }
    if !problems.is_empty() {
        return Err(problems_error(Problems(problems)));
    }
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = routed_alert_for(&state, &account, &id, now)?;
        let decided = sightline_app::decisions::record_decision(
            state.store.as_ref(),
            &row.id,
            &account,
            &request.decision,
            &request.reason,
            &request.follow_up(),
            now,
        )
        .map_err(problems_error)?;
        tracing::info!(alert.id = %decided.id, "alert decided");
        detail(state.store.as_ref(), &account, decided, now)
    })
    .await??;
    Ok(Json(detail))
}

/// An assignment: a worker of the team the alert is routed to, or nobody.
#[derive(Deserialize, ToSchema)]
pub struct AssignmentRequest {
    /// A username the alert is routed to (the worker, or a member of the routed
    /// team); `null` gives it back to the team.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{2,63}$")]
    pub assignee: Option<String>,
}

/// Assign an open alert to a worker of its team, or back to the team.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/assignment",
    tag = "alerts",
    params(("id" = String, Path, pattern = "^a-[0-9a-f]{16}$")),
    request_body = AssignmentRequest,
    responses(
        (status = 200, description = "Assigned (an `assigned` or `unassigned` event names the caller; the same assignment again changes nothing)", body = AlertDetail),
        (status = 400, description = "A body that is not JSON, or a path parameter that is not UTF-8", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not of the team or role the alert is routed to, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The alert is not open", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "The assignee is not an active account the alert is routed to", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn assign_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AssignmentRequest>,
) -> Result<Json<AlertDetail>, ApiError> {
    let now = Utc::now();
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = routed_alert_for(&state, &account, &id, now)?;
        // A username as the document declares it, or null (back to the team).
        if request
            .assignee
            .as_deref()
            .is_some_and(|name| !params::is_username(name))
        {
            return Err(decision_error(DecisionError::AssigneeNotInTeam));
        }
        let assigned = sightline_app::decisions::assign_alert(
            state.store.as_ref(),
            &row.id,
            request.assignee.as_deref(),
            &account.username,
            now,
        )
        .map_err(decision_error)?;
        detail(state.store.as_ref(), &account, assigned, now)
    })
    .await??;
    Ok(Json(detail))
}

/// A person reopening a decided alert.
#[derive(Deserialize, ToSchema)]
pub struct ReopenRequest {
    /// Why: at least a sentence (20 to 10,000 characters, leading and trailing
    /// white space not counted).
    #[schema(min_length = 20, max_length = 10000, pattern = "\\S[\\s\\S]{18,}\\S")]
    pub reason: String,
}

/// Reopen a decided alert, with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/reopen",
    tag = "alerts",
    params(("id" = String, Path, pattern = "^a-[0-9a-f]{16}$")),
    request_body = ReopenRequest,
    responses(
        (status = 200, description = "Open again, due again by its severity; a `reopened` event names the caller and the reason", body = AlertDetail),
        (status = 400, description = "A body that is not JSON, or a path parameter that is not UTF-8", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not of the team or role the alert is routed to, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The alert is open (nothing to reopen)", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "No Content-Type: application/json", body = ErrorBody),
        (status = 422, description = "A reason shorter than a sentence", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn reopen_alert(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ReopenRequest>,
) -> Result<Json<AlertDetail>, ApiError> {
    sightline_app::decisions::validate_reason(&request.reason).map_err(decision_error)?;
    let now = Utc::now();
    let account = auth.session.account;
    let detail = tokio::task::spawn_blocking(move || {
        let row = routed_alert_for(&state, &account, &id, now)?;
        let due = state.engine.read(|engine| engine.config().due)?;
        let reopened = sightline_app::decisions::reopen_alert(
            state.store.as_ref(),
            &row.id,
            &account.username,
            &request.reason,
            now,
            &due,
        )
        .map_err(decision_error)?;
        tracing::info!(alert.id = %reopened.id, "alert reopened");
        detail(state.store.as_ref(), &account, reopened, now)
    })
    .await??;
    Ok(Json(detail))
}

/// The caller's open follow-ups.
#[derive(Serialize, ToSchema)]
pub struct FollowUpPage {
    /// Open follow-ups the caller owns or that decisions on their team's alerts
    /// set, soonest due first.
    pub follow_ups: Vec<FollowUp>,
    /// How many there are in all.
    pub total: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpQuery {
    /// At most this many, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The caller's open follow-ups (theirs and their team's).
#[utoipa::path(
    get,
    path = "/api/v1/follow-ups",
    tag = "alerts",
    params(FollowUpQuery),
    responses(
        (status = 200, body = FollowUpPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn list_follow_ups(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<FollowUpQuery>,
) -> Result<Json<FollowUpPage>, ApiError> {
    let limit = query.limit.unwrap_or(ALERT_LIMIT_DEFAULT);
    if !(1..=sightline_store::ALERT_LIST_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {}",
            sightline_store::ALERT_LIST_LIMIT_MAX
        )));
    }
    let now = Utc::now();
    let account = auth.session.account;
    let page = tokio::task::spawn_blocking(move || {
        let (rows, total) =
            sightline_app::work::my_follow_ups(state.store.as_ref(), &account, limit)?;
        Ok::<_, ApiError>(FollowUpPage {
            follow_ups: rows
                .into_iter()
                .map(|row| FollowUp::of(row, now.date_naive()))
                .collect(),
            total,
        })
    })
    .await??;
    Ok(Json(page))
}

/// Record a follow-up done (by the caller, now).
#[utoipa::path(
    post,
    path = "/api/v1/follow-ups/{id}/done",
    tag = "alerts",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "Done; a `follow_up_done` event on its alert names the caller", body = FollowUp),
        (status = 400, description = "An id that is not a 64-bit number", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "No working relationship with the alert's child, or a cookie without X-CSRF-Token", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already recorded done", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn follow_up_done(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<FollowUp>, ApiError> {
    let now = Utc::now();
    let account = auth.session.account;
    let done = tokio::task::spawn_blocking(move || {
        let follow_up = state
            .store
            .alerts()
            .follow_up(id)?
            .ok_or_else(|| ApiError::not_found("no follow-up with that id"))?;
        alert_for(
            &state,
            &account,
            Action::WriteAboutChild,
            &follow_up.alert_id,
            now,
        )?;
        let done = sightline_app::decisions::complete_follow_up(
            state.store.as_ref(),
            id,
            &account.username,
            now,
        )
        .map_err(decision_error)?;
        Ok::<_, ApiError>(FollowUp::of(done, now.date_naive()))
    })
    .await??;
    Ok(Json(done))
}

/// Every problem with what was sent, as one 422 naming each field; or the
/// one error that was not about the request's fields.
fn problems_error(problems: Problems) -> ApiError {
    if let [only] = problems.0.as_slice()
        && only.field().is_none()
    {
        return match problems.0.into_iter().next() {
            Some(error) => decision_error(error),
            None => ApiError::internal(),
        };
    }
    let mut error = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_decision",
        problems.to_string(),
    );
    error.detail.n_problems = Some(problems.0.len() as u64);
    error.detail.problems = Some(
        problems
            .0
            .iter()
            .map(|problem| Problem {
                position: Position::Batch,
                path: problem
                    .field()
                    .map_or_else(String::new, |field| field.as_str().to_owned()),
                message: problem.to_string(),
            })
            .collect(),
    );
    error
}

fn decision_error(error: DecisionError) -> ApiError {
    match error {
        DecisionError::UnknownDecision
        | DecisionError::EmptyReason
        | DecisionError::ReasonTooShort
        | DecisionError::ReasonTooLong
        | DecisionError::FollowUpOwnerMissing
        | DecisionError::FollowUpOwnerUnknown
        | DecisionError::FollowUpDueMissing
        | DecisionError::FollowUpDueInPast
        | DecisionError::AssigneeNotInTeam => problems_error(Problems(vec![error])),
        DecisionError::NotFound => ApiError::not_found("no alert with that id"),
        DecisionError::FollowUpNotFound => ApiError::not_found("no follow-up with that id"),
        DecisionError::NotOpen => ApiError::new(
            StatusCode::CONFLICT,
            "alert_not_open",
            "the alert is not open: a decision was already recorded",
        ),
        DecisionError::NotDecided => ApiError::new(
            StatusCode::CONFLICT,
            "alert_open",
            "the alert is open: there is no decision to reopen",
        ),
        DecisionError::FollowUpDone => ApiError::new(
            StatusCode::CONFLICT,
            "follow_up_done",
            "the follow-up was already recorded done",
        ),
        DecisionError::Store(error) => error.into(),
    }
}
