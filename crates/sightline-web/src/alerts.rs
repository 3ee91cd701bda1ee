//! The alert page (explanation, guidance, evidence, the child, history) and the
//! decision form; the alerts on My work.
//!
//! Reading an alert is reading about its child: `authorize_and_record` decides
//! `view_child` with the child's relationships (holding the alert is one). A
//! decision is `write_about_child`, which needs a real relationship (breaking
//! glass lets one read, not act).

use crate::WebState;
use crate::children::{self, minimal_page};
use crate::pages::{blocking, encode_path, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Decision, View};
use sightline_app::accounts::{Account, LiveSession};
use sightline_app::decisions::{DecisionError, DecisionKind, record_decision, validate_decision};
use sightline_app::views::{self, MinimalChild};
use sightline_store::{AlertEventRow, AlertFilter, AlertRow, STATUS_OPEN, Store, StoreError};

/// Checks a decision form with the shared vocabulary and rules
/// (`sightline_app::decisions`), as one error per field.
pub fn check_decision(decision: &str, reason: &str) -> Vec<FieldError> {
    let reason_error = |error: &DecisionError| match error {
        DecisionError::EmptyReason => Some("Enter the reason for your decision"),
        DecisionError::ReasonTooLong => Some("Enter a shorter reason (at most 10,000 characters)"),
        _ => None,
    };
    let mut errors = Vec::new();
    match validate_decision(decision, reason) {
        Ok(_) => {}
        Err(DecisionError::UnknownDecision) => {
            errors.push(FieldError {
                field: "decision",
                message: "Select a decision",
            });
            // The reason, checked as it would be with a known decision.
            if let Err(error) = validate_decision(DecisionKind::Visit.as_str(), reason)
                && let Some(message) = reason_error(&error)
            {
                errors.push(FieldError {
                    field: "reason",
                    message,
                });
            }
        }
        Err(error) => errors.push(FieldError {
            field: "reason",
            message: reason_error(&error).unwrap_or("Enter the reason for your decision"),
        }),
    }
    errors
}

#[derive(Serialize, Clone, Copy)]
pub struct FieldError {
    field: &'static str,
    message: &'static str,
}

/// The routings that reach `account`: their own (`user:NAME`), their team's
/// (`team:AGENCY/TEAM`) and their role's at their agency (`role:AGENCY/ROLE`),
/// as `sightline_core::org::routes_reaching` says.
pub fn routes_of(account: &Account) -> Vec<String> {
    let mut routes = vec![format!("user:{}", account.username)];
    routes.extend(sightline_core::org::routes_reaching(
        account.agency.as_str(),
        account.team.as_deref(),
        account.role.as_str(),
    ));
    routes
}

/// One alert in a list.
#[derive(Serialize)]
pub struct AlertSummary {
    id: String,
    href: String,
    title: String,
    severity: String,
    child_href: String,
    due: String,
    pub(crate) overdue: bool,
    pub(crate) due_soon: bool,
    escalation_level: i64,
    routed_to: String,
}

/// How soon counts as "due soon" on My work.
const DUE_SOON_US: i64 = 2 * 24 * 3_600_000_000;

pub fn summary(alert: &AlertRow, now_us: i64) -> AlertSummary {
    AlertSummary {
        id: alert.id.clone(),
        href: format!("/alerts/{}", encode_path(&alert.id)),
        title: alert.title.clone(),
        severity: alert.severity.clone(),
        child_href: format!("/children/{}", encode_path(&alert.child_id)),
        due: time(alert.due_at_us),
        overdue: alert.status == STATUS_OPEN && alert.due_at_us < now_us,
        due_soon: alert.status == STATUS_OPEN
            && alert.due_at_us >= now_us
            && alert.due_at_us < now_us.saturating_add(DUE_SOON_US),
        escalation_level: alert.escalation_level,
        routed_to: alert.routed_to.clone(),
    }
}

/// The open alerts routed to `account` or their team, overdue first, then by
/// severity, then by due time.
pub fn my_open_alerts(
    store: &dyn Store,
    account: &Account,
    now_us: i64,
    limit: u32,
) -> Result<Vec<AlertRow>, StoreError> {
    store.alerts().list(&AlertFilter {
        status: Some(STATUS_OPEN.to_owned()),
        routed_to: Some(routes_of(account)),
        now_us: Some(now_us),
        limit,
        ..AlertFilter::default()
    })
}

/// Every alert about a child, any status.
pub fn alerts_of_child(
    store: &dyn Store,
    child_id: &str,
    limit: u32,
) -> Result<Vec<AlertRow>, StoreError> {
    store.alerts().list(&AlertFilter {
        child_id: Some(child_id.to_owned()),
        limit,
        ..AlertFilter::default()
    })
}

#[derive(Serialize)]
struct EvidenceView {
    agency: String,
    record_id: String,
    version: i64,
    href: String,
    kind_words: Option<&'static str>,
    occurred: Option<String>,
}

#[derive(Serialize)]
struct EventView {
    when: String,
    kind: String,
    actor: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    detail: Option<String>,
}

fn event_view(event: AlertEventRow) -> EventView {
    EventView {
        when: time(event.at_us),
        kind: event.kind.replace('_', " "),
        actor: event.actor,
        decision: event.decision.map(|decision| decision.replace('_', " ")),
        reason: event.reason,
        detail: event.detail,
    }
}

#[derive(Serialize)]
struct AlertView {
    id: String,
    title: String,
    severity: String,
    status: String,
    open: bool,
    explanation: String,
    citation: String,
    rule_id: String,
    pack: String,
    routed_to: String,
    raised: String,
    due: String,
    overdue: bool,
    escalation_level: i64,
    child_href: String,
    child_name: String,
}

/// What the alert page shows, once decided.
enum AlertContent {
    Full {
        alert: Box<AlertView>,
        evidence: Vec<EvidenceView>,
        events: Vec<EventView>,
        may_decide: bool,
    },
    Minimal(MinimalChild),
    Unknown,
    Denied,
}

fn valid_alert_id(id: &str) -> bool {
    id.len() <= 64
        && id.starts_with("a-")
        && id[2..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

async fn load_alert(
    state: &WebState,
    session: &LiveSession,
    alert_id: &str,
) -> Result<AlertContent, Response> {
    if !valid_alert_id(alert_id) {
        return Err(error_page(state, Some(session), ErrorPage::not_found()));
    }
    let account = session.account.clone();
    let engine = state.engine.clone();
    let alert_id = alert_id.to_owned();
    let now = Utc::now();
    let now_us = sightline_app::to_micros(now);
    let organisation = state.organisation();
    blocking(state, Some(session), move |store| {
        let Some(alert) = store
            .alerts()
            .get(&alert_id)
            .map_err(|error| error.to_string())?
        else {
            return Ok(AlertContent::Unknown);
        };
        children::with_engine(&engine, |engine| {
            let picture = children::picture_of(engine);
            let (decision, _) = children::decide_child(
                store,
                engine,
                &account,
                &alert.child_id,
                Action::ViewChild,
                Some(View::Alert),
                now,
            )?;
            match decision {
                Decision::Deny => return Ok(AlertContent::Denied),
                Decision::Minimal => {
                    return Ok(match picture.child(&alert.child_id) {
                        Some(facts) => AlertContent::Minimal(views::minimal_child(
                            picture,
                            facts,
                            now.date_naive(),
                        )),
                        None => AlertContent::Denied,
                    });
                }
                Decision::Full { .. } => {}
            }
            let may_decide = sightline_app::need_to_know::may_decide_alert(&account, &alert, now);
            let records = picture
                .child(&alert.child_id)
                .map(|facts| picture.records_around(facts))
                .unwrap_or_default();
            let evidence = store
                .alerts()
                .evidence(&alert.id)
                .map_err(|error| error.to_string())?
                .into_iter()
                .map(|row| {
                    let record = records.get(&(row.agency.as_str(), row.record_id.as_str()));
                    EvidenceView {
                        href: format!("/records/{}/{}", row.agency, encode_path(&row.record_id)),
                        kind_words: record.map(|record| record.kind.label()),
                        occurred: record.map(|record| record.occurred_at.to_string()),
                        agency: row.agency,
                        record_id: row.record_id,
                        version: row.version,
                    }
                })
                .collect();
            let events = store
                .alerts()
                .events(&alert.id)
                .map_err(|error| error.to_string())?
                .into_iter()
                .map(event_view)
                .collect();
            let child_facts = picture.child(&alert.child_id);
            let child_name =
                child_facts.map_or_else(|| alert.child_id.clone(), views::display_name);
            // People by name and part, agencies by name: this reader may see the child.
            let explanation =
                views::explanation_in_words(picture, child_facts, &alert.explanation, &|agency| {
                    Some(crate::names::agency_name(&organisation, agency))
                });
            Ok(AlertContent::Full {
                alert: Box::new(AlertView {
                    child_href: format!("/children/{}", encode_path(&alert.child_id)),
                    child_name,
                    open: alert.status == STATUS_OPEN,
                    overdue: alert.status == STATUS_OPEN && alert.due_at_us < now_us,
                    raised: time(alert.raised_at_us),
                    due: time(alert.due_at_us),
                    pack: format!("{} {}", alert.pack_name, alert.pack_version),
                    id: alert.id,
                    title: alert.title,
                    severity: alert.severity,
                    status: alert.status,
                    explanation,
                    citation: alert.citation,
                    rule_id: alert.rule_id,
                    routed_to: alert.routed_to,
                    escalation_level: alert.escalation_level,
                }),
                evidence,
                events,
                may_decide,
            })
        })
    })
    .await
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct DecisionOption {
    value: &'static str,
    label: &'static str,
}

async fn alert_page(
    state: WebState,
    session: LiveSession,
    alert_id: String,
    status: StatusCode,
    form: DecisionForm,
    errors: Vec<FieldError>,
) -> Response {
    let content = match load_alert(&state, &session, &alert_id).await {
        Ok(content) => content,
        Err(response) => return response,
    };
    let (alert, evidence, events, may_decide) = match content {
        AlertContent::Full {
            alert,
            evidence,
            events,
            may_decide,
        } => (alert, evidence, events, may_decide),
        AlertContent::Minimal(minimal) => {
            return minimal_page(&state, &session, minimal, StatusCode::OK, None);
        }
        AlertContent::Unknown => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        AlertContent::Denied => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
    };
    let decisions: Vec<DecisionOption> = DecisionKind::ALL
        .into_iter()
        .map(|kind| DecisionOption {
            value: kind.as_str(),
            label: kind.label(),
        })
        .collect();
    let error_of = |field: &str| {
        errors
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message)
    };
    page(
        &state,
        status,
        "alert.html",
        context! {
            user => UserView::of(&session),
            page_title => if errors.is_empty() { alert.title.clone() } else { format!("Error: {}", alert.title) },
            nav => "my-work",
            action_path => format!("/alerts/{}/decision", encode_path(&alert.id)),
            decision_error => error_of("decision"),
            reason_error => error_of("reason"),
            alert => alert,
            evidence => evidence,
            events => events,
            may_decide => may_decide,
            decisions => decisions,
            form => form,
            errors => errors,
        },
    )
}

pub async fn alert(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(alert_id): Path<String>,
) -> Response {
    alert_page(
        state,
        session,
        alert_id,
        StatusCode::OK,
        DecisionForm::default(),
        Vec::new(),
    )
    .await
}

pub async fn decide(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(alert_id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if !valid_alert_id(&alert_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let errors = check_decision(&form.decision, &form.reason);
    if !errors.is_empty() {
        return alert_page(
            state,
            session,
            alert_id,
            StatusCode::BAD_REQUEST,
            form,
            errors,
        )
        .await;
    }
    let account = session.account.clone();
    let id = alert_id.clone();
    let decision_word = form.decision.clone();
    let reason = form.reason.trim().to_owned();
    let now = Utc::now();
    let outcome = blocking(&state, Some(&session), move |store| {
        let Some(alert) = store.alerts().get(&id).map_err(|error| error.to_string())? else {
            return Ok(DecideOutcome::Unknown);
        };
        // Only those the alert is routed to decide it (issue #15, finding 2).
        let decision = sightline_app::need_to_know::decide_alert(store, &account, &alert, now)
            .map_err(|error| error.to_string())?;
        if !decision.is_full() {
            return Ok(DecideOutcome::Denied);
        }
        let decided = record_decision(store, &id, &account.username, &decision_word, &reason, now);
        match decided {
            Ok(_) => Ok(DecideOutcome::Decided),
            Err(DecisionError::NotOpen) => Ok(DecideOutcome::NotOpen),
            Err(DecisionError::NotFound) => Ok(DecideOutcome::Unknown),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    match outcome {
        Ok(DecideOutcome::Decided) => {
            Redirect::to(&format!("/my-work?decided={}", encode_path(&alert_id))).into_response()
        }
        Ok(DecideOutcome::NotOpen) => {
            let errors = vec![FieldError {
                field: "decision",
                message: "This alert has already been decided: nothing was changed",
            }];
            alert_page(state, session, alert_id, StatusCode::CONFLICT, form, errors).await
        }
        Ok(DecideOutcome::Unknown) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Ok(DecideOutcome::Denied) => error_page(&state, Some(&session), ErrorPage::forbidden()),
        Err(response) => response,
    }
}

enum DecideOutcome {
    Decided,
    NotOpen,
    Unknown,
    Denied,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_app::decisions::REASON_CHARS_MAX;

    #[test]
    fn decisions_need_a_known_word_and_a_reason() {
        assert!(check_decision("visit", "Seen at home, synthetic").is_empty());
        let fields = |errors: Vec<FieldError>| errors.iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(check_decision("", "why")), vec!["decision"]);
        assert_eq!(
            fields(check_decision("delete_child", "why")),
            vec!["decision"]
        );
        assert_eq!(fields(check_decision("visit", "   ")), vec!["reason"]);
        assert_eq!(
            fields(check_decision("visit", &"x".repeat(REASON_CHARS_MAX + 1))),
            vec!["reason"]
        );
        assert_eq!(fields(check_decision("", "")), vec!["decision", "reason"]);
    }

    #[test]
    fn routes_reach_the_user_and_their_team() {
        let account = Account {
            id: 1,
            username: "synthetic.worker".to_owned(),
            role: sightline_access::Role::Practitioner,
            agency: sightline_core::AgencyId::parse("children-services").unwrap(),
            team: Some("duty".to_owned()),
        };
        assert_eq!(
            routes_of(&account),
            vec![
                "user:synthetic.worker",
                "team:children-services/duty",
                "role:children-services/practitioner"
            ]
        );
        let manager = Account {
            role: sightline_access::Role::TeamManager,
            team: None,
            ..account
        };
        assert_eq!(
            routes_of(&manager),
            vec![
                "user:synthetic.worker",
                "role:children-services/team_manager"
            ]
        );
        assert!(valid_alert_id("a-0123456789abcdef"));
        assert!(!valid_alert_id("a-../x") && !valid_alert_id("b-1"));
    }
}
