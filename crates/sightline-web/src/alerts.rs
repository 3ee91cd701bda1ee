//! The alert page (explanation, guidance, evidence, the child, whose it is,
//! follow-ups, history) with the decision form beside the explanation; assigning
//! an alert to a worker of its team; reopening a decided alert; recording a
//! follow-up done.
//!
//! Reading an alert is reading about its child: `authorize_and_record` decides
//! `view_child` with the child's relationships (holding the alert is one).
//! Deciding, assigning, reopening and recording a follow-up done are acts on the
//! alert, decided in one place ([`act_on_alert`]).

use crate::WebState;
use crate::alert_words::{
    date_words, decision_words, due_words, event_words, follow_up_due_words, follow_up_words,
    route_words, severity_label, time_words,
};
use crate::children::{self, minimal_page};
use crate::pages::FieldError;
use crate::pages::{blocking, encode_path};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{Action, Decision, View};
use sightline_app::accounts::{Account, LiveSession};
use sightline_app::decisions::{
    self, DecisionError, DecisionKind, FollowUpRequest, Problems, REASON_CHARS_MIN,
};
use sightline_app::views::{self, MinimalChild};
use sightline_core::org::Organisation;
use sightline_store::{
    ACCOUNT_LIST_LIMIT_MAX, AlertEventRow, AlertRow, FollowUpRow, STATUS_OPEN, Store,
};

fn field_errors(problems: &Problems) -> Vec<FieldError> {
    problems
        .0
        .iter()
        .map(|problem| FieldError {
            field: problem.field().map_or("decision", |field| field.as_str()),
            message: problem.to_string(),
        })
        .collect()
}

/// Checks a decision form with the shared vocabulary and rules
/// (`sightline_app::decisions`), as one error per field.
pub fn check_decision(form: &DecisionForm, today: chrono::NaiveDate) -> Vec<FieldError> {
    let (request, mut errors) = follow_up_request(form);
    if let Err(problems) =
        decisions::validate_decision(&form.decision, &form.reason, &request, today)
    {
        for error in field_errors(&problems) {
            if !errors
                .iter()
                .any(|known: &FieldError| known.field == error.field)
            {
                errors.push(error);
            }
        }
    }
    errors
}

/// The follow-up of a decision form, and an error when its date cannot be read.
fn follow_up_request(form: &DecisionForm) -> (FollowUpRequest, Vec<FieldError>) {
    let due_text = form.follow_up_due.trim();
    let needs =
        DecisionKind::parse(form.decision.trim()).is_some_and(DecisionKind::needs_follow_up);
    let (due, errors) = match sightline_core::dates::parse_date_input(due_text) {
        Ok(due) => (Some(due), Vec::new()),
        // An empty date is for the decision's rules to report, with the others.
        Err(_) if due_text.is_empty() || !needs => (None, Vec::new()),
        Err(error) => (
            None,
            vec![FieldError {
                field: "follow_up_due",
                message: error.message("the date by which it will be done"),
            }],
        ),
    };
    (
        FollowUpRequest {
            owner: form.follow_up_owner.clone(),
            due,
        },
        errors,
    )
}

/// Every alert about a child, any status.
pub fn alerts_of_child(
    store: &dyn Store,
    child_id: &str,
    limit: u32,
) -> Result<Vec<AlertRow>, sightline_store::StoreError> {
    store.alerts().list(&sightline_store::AlertFilter {
        child_id: Some(child_id.to_owned()),
        limit,
        ..sightline_store::AlertFilter::default()
    })
}

/// One alert in a list (the child page's alerts).
#[derive(Serialize)]
pub struct AlertSummary {
    id: String,
    href: String,
    title: String,
    severity: String,
    severity_label: &'static str,
    child_href: String,
    due: String,
    pub(crate) overdue: bool,
    escalation_level: i64,
    routed_to: String,
}

/// The child page's alert row; its template names the routing
/// (`route_name`).
pub fn summary(alert: &AlertRow, now_us: i64) -> AlertSummary {
    AlertSummary {
        id: alert.id.clone(),
        href: format!("/alerts/{}", encode_path(&alert.id)),
        title: alert.title.clone(),
        severity: alert.severity.clone(),
        severity_label: severity_label(&alert.severity),
        child_href: format!("/children/{}", encode_path(&alert.child_id)),
        due: time_words(alert.due_at_us),
        overdue: alert.status == STATUS_OPEN && alert.due_at_us < now_us,
        escalation_level: alert.escalation_level,
        routed_to: alert.routed_to.clone(),
    }
}

#[derive(Serialize)]
struct EvidenceView {
    /// Restricted by its agency away from this reader: shown as "restricted
    /// record", nothing more.
    restricted: bool,
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
    what: &'static str,
    actor: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    detail: Option<String>,
}

/// The particulars of an event, in words, from its JSON detail.
fn event_detail(event: &AlertEventRow, organisation: &Organisation) -> Option<String> {
    let detail: serde_json::Value = serde_json::from_str(event.detail.as_deref()?).ok()?;
    match event.kind.as_str() {
        "assigned" => detail["to"].as_str().map(|to| format!("To {to}")),
        "evidence_added" => detail["n"]
            .as_u64()
            .map(|n| format!("{n} more {}", if n == 1 { "record" } else { "records" })),
        "raised" => detail["evidence"]
            .as_u64()
            .map(|n| format!("On {n} {}", if n == 1 { "record" } else { "records" })),
        "severity_raised" => match (detail["from"].as_str(), detail["to"].as_str()) {
            (Some(from), Some(to)) => Some(format!(
                "From {} to {}",
                severity_label(from),
                severity_label(to)
            )),
            _ => None,
        },
        "escalated" => detail["from"]
            .as_str()
            .map(|from| format!("Overdue with {}", route_words(organisation, from))),
        "decided" => match (detail["owner"].as_str(), detail["due_at_us"].as_i64()) {
            (Some(owner), Some(due)) => Some(format!("Follow-up: {owner}, by {}", date_words(due))),
            _ => None,
        },
        "follow_up_done" => detail["decision"].as_str().map(follow_up_words),
        _ => None,
    }
}

fn event_view(event: AlertEventRow, organisation: &Organisation) -> EventView {
    EventView {
        when: time_words(event.at_us),
        what: event_words(&event.kind, event.actor.is_some()),
        detail: event_detail(&event, organisation),
        actor: event.actor,
        decision: event.decision.as_deref().map(decision_words),
        reason: event.reason,
    }
}

#[derive(Serialize)]
struct FollowUpView {
    what: String,
    owner: String,
    due: String,
    overdue: bool,
    done: Option<String>,
    done_action: String,
}

fn follow_up_view(row: &FollowUpRow, today: chrono::NaiveDate) -> FollowUpView {
    let due = decisions::follow_up_due_day(row);
    FollowUpView {
        what: follow_up_words(&row.decision),
        owner: row.owner.clone(),
        due: follow_up_due_words(due, today),
        overdue: row.done_at_us.is_none() && due < today,
        done: match (&row.done_by, row.done_at_us) {
            (Some(by), Some(at)) => Some(format!("Done, recorded by {by} on {}", time_words(at))),
            _ => None,
        },
        done_action: format!("/follow-ups/{}/done", row.id),
    }
}

#[derive(Serialize)]
struct AlertView {
    id: String,
    title: String,
    severity: String,
    severity_label: &'static str,
    status: String,
    open: bool,
    explanation: String,
    citation: String,
    rule_id: String,
    pack: String,
    routed_to: String,
    assigned_to: Option<String>,
    raised: String,
    due: String,
    decided: Option<String>,
    overdue: bool,
    escalation_level: i64,
    child_href: String,
    child_name: String,
}

#[derive(Serialize, Clone)]
struct Worker {
    username: String,
    label: String,
}

/// What the alert page shows, once decided.
enum AlertContent {
    Full(Box<FullAlert>),
    Minimal(MinimalChild),
    Unknown,
    Denied,
}

struct FullAlert {
    alert: AlertView,
    evidence: Vec<EvidenceView>,
    events: Vec<EventView>,
    follow_ups: Vec<FollowUpView>,
    /// May record a decision, assign, reopen: of the team or role the alert
    /// is routed to.
    may_act: bool,
    /// May record a follow-up done: may write about the child.
    may_record_done: bool,
    /// Who can be assigned the alert (the workers it is routed to).
    assignable: Vec<Worker>,
    /// Who can be named to carry out a decision (the decider's agency).
    owners: Vec<Worker>,
}

fn valid_alert_id(id: &str) -> bool {
    id.len() <= 64
        && id.starts_with("a-")
        && id[2..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

/// Who may do an act on an alert.
#[derive(Clone, Copy)]
enum ActBy {
    /// Decide, assign, reopen: only the team or role the alert is routed to
    /// (`need_to_know::decide_alert`, audited `decide_alert` on the alert).
    Routed,
    /// Record a follow-up done: whoever may write about the alert's child
    /// (the follow-up's owner may be of another team of the agency).
    ChildWriter,
}

/// Whether `account` may act on `alert`, decided and audited by
/// `sightline_access`. The one place the web asks.
fn act_on_alert(
    store: &dyn Store,
    engine: &sightline_app::Engine,
    account: &Account,
    alert: &AlertRow,
    by: ActBy,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let decision = match by {
        ActBy::Routed => sightline_app::need_to_know::decide_alert(store, account, alert, now)
            .map_err(|error| error.to_string())?,
        ActBy::ChildWriter => {
            children::decide_child(
                store,
                engine,
                account,
                &alert.child_id,
                Action::WriteAboutChild,
                None,
                now,
            )?
            .0
        }
    };
    Ok(decision.is_full())
}

/// Whether `account` could write about the alert's child, without an audit
/// entry (for showing the follow-ups' forms; the act itself is decided by
/// [`act_on_alert`]).
fn could_write(
    context: &sightline_access::AccessContext,
    account: &Account,
    alert: &AlertRow,
) -> bool {
    sightline_access::authorize(
        &account.actor(),
        Action::WriteAboutChild,
        &sightline_access::Resource::Child(alert.child_id.clone()),
        context,
        0,
    )
    .is_full()
}

/// The workers the alert can be assigned to, and those who can be named to
/// carry out a decision (active casework accounts of `account`'s agency).
fn workers(
    store: &dyn Store,
    account: &Account,
    routed_to: &str,
) -> Result<(Vec<Worker>, Vec<Worker>), String> {
    let users = store
        .accounts()
        .list_users(ACCOUNT_LIST_LIMIT_MAX)
        .map_err(|error| error.to_string())?;
    let worker = |user: &sightline_store::UserRow| Worker {
        label: if user.username == account.username {
            format!("{} (you)", user.username)
        } else {
            user.username.clone()
        },
        username: user.username.clone(),
    };
    let assignable = users
        .iter()
        .filter(|user| decisions::may_hold(user, routed_to))
        .map(worker)
        .collect();
    let owners = users
        .iter()
        .filter(|user| user.disabled_at_us.is_none() && user.agency == account.agency.as_str())
        .filter(|user| {
            sightline_access::Role::parse(&user.role).is_ok_and(|role| role.does_casework())
        })
        .map(worker)
        .collect();
    Ok((assignable, owners))
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
        let (assignable, owners) = workers(store, &account, &alert.routed_to)?;
        let follow_ups = store
            .alerts()
            .follow_ups_of(&alert.id)
            .map_err(|error| error.to_string())?
            .iter()
            .map(|row| follow_up_view(row, now.date_naive()))
            .collect();
        children::with_engine(&engine, |engine| {
            let picture = children::picture_of(engine);
            let organisation = organisation.as_ref();
            let (decision, context) = children::decide_child(
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
            let may_act = sightline_app::need_to_know::may_act_on_alert(&account, &alert, now);
            let may_record_done = could_write(&context, &account, &alert);
            let records = picture
                .child(&alert.child_id)
                .map(|facts| picture.records_around(facts))
                .unwrap_or_default();
            let withheld = sightline_app::controls::withheld_from(store, &account)
                .map_err(|error| error.to_string())?;
            let evidence = store
                .alerts()
                .evidence(&alert.id)
                .map_err(|error| error.to_string())?
                .into_iter()
                .map(|row| {
                    if withheld.contains(&row.agency, &row.record_id) {
                        return EvidenceView {
                            restricted: true,
                            agency: String::new(),
                            record_id: String::new(),
                            version: 1,
                            href: String::new(),
                            kind_words: None,
                            occurred: None,
                        };
                    }
                    let record = records.get(&(row.agency.as_str(), row.record_id.as_str()));
                    EvidenceView {
                        restricted: false,
                        href: format!("/records/{}/{}", row.agency, encode_path(&row.record_id)),
                        kind_words: record.map(|record| record.kind.label()),
                        occurred: record
                            .map(|record| sightline_core::dates::occurred(record.occurred_at)),
                        agency: crate::names::agency_name(organisation, &row.agency),
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
                .map(|event| event_view(event, organisation))
                .collect();
            let child_facts = picture.child(&alert.child_id);
            let child_name =
                child_facts.map_or_else(|| "Name not known".to_owned(), views::display_name);
            // People by name and part, agencies by name: this reader may see the child.
            let explanation =
                views::explanation_in_words(picture, child_facts, &alert.explanation, &|agency| {
                    Some(crate::names::agency_name(organisation, agency))
                });
            let open = alert.status == STATUS_OPEN;
            Ok(AlertContent::Full(Box::new(FullAlert {
                alert: AlertView {
                    child_href: format!("/children/{}", encode_path(&alert.child_id)),
                    child_name,
                    open,
                    overdue: open && alert.due_at_us < now_us,
                    raised: time_words(alert.raised_at_us),
                    due: if open {
                        due_words(alert.due_at_us, now_us)
                    } else {
                        String::new()
                    },
                    decided: alert.decided_at_us.map(time_words),
                    pack: format!("{} {}", alert.pack_name, alert.pack_version),
                    severity_label: severity_label(&alert.severity),
                    routed_to: route_words(organisation, &alert.routed_to),
                    assigned_to: alert.assigned_to,
                    id: alert.id,
                    title: alert.title,
                    severity: alert.severity,
                    status: alert.status,
                    explanation,
                    citation: alert.citation,
                    rule_id: alert.rule_id,
                    escalation_level: alert.escalation_level,
                },
                evidence,
                events,
                follow_ups,
                may_act,
                may_record_done,
                assignable,
                owners,
            })))
        })
    })
    .await
}

/// The decision form as submitted.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    follow_up_owner: String,
    #[serde(default)]
    follow_up_due: String,
}

/// The assignment form as submitted: a username, or empty for the team.
#[derive(Deserialize, Default, Clone)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

/// The reopening form as submitted.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct ReopenForm {
    #[serde(default)]
    reopen_reason: String,
}

#[derive(Serialize)]
struct DecisionOption {
    value: &'static str,
    label: &'static str,
    follow_up: Option<&'static str>,
}

/// The query of the alert page: which action just succeeded.
#[derive(Deserialize, Default)]
pub struct AlertQuery {
    assigned: Option<String>,
    reopened: Option<String>,
}

/// What the page says first, after a successful action.
#[derive(Default)]
struct Forms {
    decision: DecisionForm,
    reopen: ReopenForm,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
}

async fn alert_page(
    state: WebState,
    session: LiveSession,
    alert_id: String,
    status: StatusCode,
    forms: Forms,
) -> Response {
    let content = match load_alert(&state, &session, &alert_id).await {
        Ok(content) => content,
        Err(response) => return response,
    };
    let full = match content {
        AlertContent::Full(full) => full,
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
    let FullAlert {
        alert,
        evidence,
        events,
        follow_ups,
        may_act,
        may_record_done,
        assignable,
        owners,
    } = *full;
    let decisions: Vec<DecisionOption> = DecisionKind::ALL
        .into_iter()
        .map(|kind| DecisionOption {
            value: kind.as_str(),
            label: kind.label(),
            follow_up: kind.follow_up_words(),
        })
        .collect();
    let error_of = |field: &str| {
        forms
            .errors
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.clone())
    };
    let owner_selected = if forms.decision.follow_up_owner.is_empty() {
        session.account.username.clone()
    } else {
        forms.decision.follow_up_owner.clone()
    };
    let base = format!("/alerts/{}", encode_path(&alert.id));
    page(
        &state,
        status,
        "alert.html",
        context! {
            user => UserView::of(&session),
            page_title => if forms.errors.is_empty() { alert.title.clone() } else { format!("Error: {}", alert.title) },
            nav => "my-work",
            action_path => format!("{base}/decision"),
            assign_path => format!("{base}/assignment"),
            reopen_path => format!("{base}/reopen"),
            decision_error => error_of("decision"),
            reason_error => error_of("reason"),
            owner_error => error_of("follow_up_owner"),
            due_error => error_of("follow_up_due"),
            assignee_error => error_of("assignee"),
            reopen_error => error_of("reopen_reason"),
            notice => forms.notice,
            alert => alert,
            evidence => evidence,
            events => events,
            follow_ups => follow_ups,
            may_act => may_act,
            may_record_done => may_record_done,
            assignable => assignable,
            owners => owners,
            owner_selected => owner_selected,
            decisions => decisions,
            reason_chars_min => REASON_CHARS_MIN,
            form => forms.decision,
            reopen_form => forms.reopen,
            errors => forms.errors,
        },
    )
}

pub async fn alert(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(alert_id): Path<String>,
    Query(query): Query<AlertQuery>,
) -> Response {
    let notice = if query.assigned.is_some() {
        Some("Whose this alert is was recorded in its history.")
    } else if query.reopened.is_some() {
        Some("The alert is open again; your reason is in its history.")
    } else {
        None
    };
    alert_page(
        state,
        session,
        alert_id,
        StatusCode::OK,
        Forms {
            notice,
            ..Forms::default()
        },
    )
    .await
}

/// What an act on an alert came to.
enum ActOutcome<T> {
    Done(T),
    Refused(DecisionError),
    Unknown,
    Denied,
}

/// Runs `act` on the alert when [`act_on_alert`] allows it.
async fn act<T: Send + 'static>(
    state: &WebState,
    session: &LiveSession,
    alert_id: &str,
    by: ActBy,
    act: impl FnOnce(
        &dyn Store,
        &Account,
        &AlertRow,
        &sightline_app::SharedEngine,
    ) -> Result<T, DecisionError>
    + Send
    + 'static,
) -> Result<ActOutcome<T>, Response> {
    let account = session.account.clone();
    let engine = state.engine.clone();
    let alert_id = alert_id.to_owned();
    let now = Utc::now();
    blocking(state, Some(session), move |store| {
        let Some(alert) = store
            .alerts()
            .get(&alert_id)
            .map_err(|error| error.to_string())?
        else {
            return Ok(ActOutcome::Unknown);
        };
        let allowed = children::with_engine(&engine, |engine| {
            act_on_alert(store, engine, &account, &alert, by, now)
        })?;
        if !allowed {
            return Ok(ActOutcome::Denied);
        }
        match act(store, &account, &alert, &engine) {
            Ok(value) => Ok(ActOutcome::Done(value)),
            Err(DecisionError::Store(error)) => Err(error.to_string()),
            Err(DecisionError::NotFound) => Ok(ActOutcome::Unknown),
            Err(refused) => Ok(ActOutcome::Refused(refused)),
        }
    })
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
    let now = Utc::now();
    let errors = check_decision(&form, now.date_naive());
    if !errors.is_empty() {
        return alert_page(
            state,
            session,
            alert_id,
            StatusCode::BAD_REQUEST,
            Forms {
                decision: form,
                errors,
                ..Forms::default()
            },
        )
        .await;
    }
    let submitted = form.clone();
    let outcome = act(
        &state,
        &session,
        &alert_id,
        ActBy::Routed,
        move |store, account, alert, _| {
            let (request, _) = follow_up_request(&submitted);
            decisions::record_decision(
                store,
                &alert.id,
                account,
                &submitted.decision,
                &submitted.reason,
                &request,
                now,
            )
            .map_err(|mut problems| {
                if problems.0.len() == 1 {
                    problems.0.remove(0)
                } else {
                    DecisionError::UnknownDecision
                }
            })
        },
    )
    .await;
    match outcome {
        Ok(ActOutcome::Done(decided)) => {
            tracing::info!(alert.id = %decided.id, "alert decided");
            Redirect::to(&format!("/my-work?decided={}", encode_path(&alert_id))).into_response()
        }
        Ok(ActOutcome::Refused(DecisionError::NotOpen)) => {
            let errors = vec![FieldError {
                field: "decision",
                message: "This alert has already been decided: nothing was changed".to_owned(),
            }];
            alert_page(
                state,
                session,
                alert_id,
                StatusCode::CONFLICT,
                Forms {
                    decision: form,
                    errors,
                    ..Forms::default()
                },
            )
            .await
        }
        Ok(ActOutcome::Refused(refused)) => {
            let errors = field_errors(&Problems(vec![refused]));
            alert_page(
                state,
                session,
                alert_id,
                StatusCode::BAD_REQUEST,
                Forms {
                    decision: form,
                    errors,
                    ..Forms::default()
                },
            )
            .await
        }
        Ok(ActOutcome::Unknown) => error_page(&state, Some(&session), ErrorPage::not_found()),
        Ok(ActOutcome::Denied) => error_page(&state, Some(&session), ErrorPage::forbidden()),
        Err(response) => response,
    }
}

pub async fn assign(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(alert_id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    if !valid_alert_id(&alert_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let now = Utc::now();
    let assignee = Some(form.assignee.trim().to_owned()).filter(|name| !name.is_empty());
    let outcome = act(
        &state,
        &session,
        &alert_id,
        ActBy::Routed,
        move |store, account, alert, _| {
            decisions::assign_alert(
                store,
                &alert.id,
                assignee.as_deref(),
                &account.username,
                now,
            )
        },
    )
    .await;
    let refused = |message: &str, status| {
        let forms = Forms {
            errors: vec![FieldError {
                field: "assignee",
                message: message.to_owned(),
            }],
            ..Forms::default()
        };
        (forms, status)
    };
    let (forms, status) = match outcome {
        Ok(ActOutcome::Done(_)) => {
            return Redirect::to(&format!("/alerts/{}?assigned=1", encode_path(&alert_id)))
                .into_response();
        }
        Ok(ActOutcome::Refused(DecisionError::NotOpen)) => refused(
            "Only an open alert can be assigned: this one has been decided",
            StatusCode::CONFLICT,
        ),
        Ok(ActOutcome::Refused(error)) => refused(&error.to_string(), StatusCode::BAD_REQUEST),
        Ok(ActOutcome::Unknown) => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        Ok(ActOutcome::Denied) => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
        Err(response) => return response,
    };
    alert_page(state, session, alert_id, status, forms).await
}

pub async fn reopen(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(alert_id): Path<String>,
    Form(form): Form<ReopenForm>,
) -> Response {
    if !valid_alert_id(&alert_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let now = Utc::now();
    let reason = form.reopen_reason.clone();
    let outcome = act(
        &state,
        &session,
        &alert_id,
        ActBy::Routed,
        move |store, account, alert, engine| {
            let due = engine.read(|engine| engine.config().due).map_err(|error| {
                DecisionError::Store(sightline_store::StoreError::Corrupt(
                    if matches!(error, sightline_app::EngineError::Poisoned) {
                        "the engine's lock was poisoned"
                    } else {
                        "the engine could not be read"
                    },
                ))
            })?;
            decisions::reopen_alert(store, &alert.id, &account.username, &reason, now, &due)
        },
    )
    .await;
    let with_error = |message: String, status| {
        (
            Forms {
                reopen: form.clone(),
                errors: vec![FieldError {
                    field: "reopen_reason",
                    message: if message == DecisionError::EmptyReason.to_string() {
                        "Enter why you are reopening this alert".to_owned()
                    } else {
                        message
                    },
                }],
                ..Forms::default()
            },
            status,
        )
    };
    let (forms, status) = match outcome {
        Ok(ActOutcome::Done(_)) => {
            return Redirect::to(&format!("/alerts/{}?reopened=1", encode_path(&alert_id)))
                .into_response();
        }
        Ok(ActOutcome::Refused(DecisionError::NotDecided)) => with_error(
            "This alert is already open: nothing was changed".to_owned(),
            StatusCode::CONFLICT,
        ),
        Ok(ActOutcome::Refused(error)) => with_error(error.to_string(), StatusCode::BAD_REQUEST),
        Ok(ActOutcome::Unknown) => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        Ok(ActOutcome::Denied) => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
        Err(response) => return response,
    };
    alert_page(state, session, alert_id, status, forms).await
}

/// `POST /follow-ups/{id}/done`: records the follow-up done by the user, who
/// must be allowed to act on its alert.
pub async fn follow_up_done(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(follow_up_id): Path<String>,
) -> Response {
    let Some(follow_up_id) = follow_up_id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.alerts().follow_up(follow_up_id)).await;
    let follow_up = match found {
        Ok(Ok(Some(follow_up))) => follow_up,
        Ok(Ok(None)) => return error_page(&state, Some(&session), ErrorPage::not_found()),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "follow-up read failed");
            return error_page(&state, Some(&session), ErrorPage::internal());
        }
        Err(error) => {
            tracing::error!(error = %error, "follow-up task failed");
            return error_page(&state, Some(&session), ErrorPage::internal());
        }
    };
    let now = Utc::now();
    let outcome = act(
        &state,
        &session,
        &follow_up.alert_id,
        ActBy::ChildWriter,
        move |store, account, _, _| {
            decisions::complete_follow_up(store, follow_up_id, &account.username, now)
        },
    )
    .await;
    match outcome {
        Ok(ActOutcome::Done(_) | ActOutcome::Refused(DecisionError::FollowUpDone)) => {
            Redirect::to(&format!("/my-work?follow_up_done={follow_up_id}")).into_response()
        }
        Ok(ActOutcome::Refused(_) | ActOutcome::Unknown) => {
            error_page(&state, Some(&session), ErrorPage::not_found())
        }
        Ok(ActOutcome::Denied) => error_page(&state, Some(&session), ErrorPage::forbidden()),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(decision: &str, reason: &str, owner: &str, due: &str) -> DecisionForm {
        DecisionForm {
            decision: decision.to_owned(),
            reason: reason.to_owned(),
            follow_up_owner: owner.to_owned(),
            follow_up_due: due.to_owned(),
        }
    }

    #[test]
    fn decisions_need_a_known_word_a_sentence_and_a_follow_up() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let fields = |errors: Vec<FieldError>| errors.iter().map(|e| e.field).collect::<Vec<_>>();
        let reason = "Seen at home with both parents, synthetic";
        assert!(check_decision(&form("police_referral", reason, "", ""), today).is_empty());
        assert!(check_decision(&form("visit", reason, "sw.one", "9 March 2026"), today).is_empty());
        assert_eq!(
            fields(check_decision(&form("", "why", "", ""), today)),
            ["decision", "reason"]
        );
        assert_eq!(
            fields(check_decision(
                &form("visit", "ok", "sw", "2026-03-09"),
                today
            )),
            ["reason"]
        );
        assert_eq!(
            fields(check_decision(
                &form("visit", reason, "", "31/02/2026"),
                today
            )),
            ["follow_up_due", "follow_up_owner"]
        );
        assert_eq!(
            fields(check_decision(
                &form("assessment", reason, "sw", "1 March 2026"),
                today
            )),
            ["follow_up_due"]
        );
        let errors = check_decision(&form("visit", reason, "sw", "12/31/2026"), today);
        assert_eq!(
            errors[0].message,
            "The date by which it will be done must be a real date, for example 3 October 2023"
        );
        assert!(valid_alert_id("a-0123456789abcdef"));
        assert!(!valid_alert_id("a-../x") && !valid_alert_id("b-1"));
    }
}
