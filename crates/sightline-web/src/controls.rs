//! Restriction of a record and legal holds on the web (issue #18 items 4 and
//! 5): the restriction form on the record page for the record agency's team
//! managers and safeguarding leads, and the privacy officer's lists of
//! restrictions (`/privacy/restrictions`) and legal holds (`/privacy/holds`).
//! The rules are `sightline_app::controls`; `authorize` decides.

use crate::WebState;
use crate::pages::{blocking, encode_path, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{AccessContext, Action, Resource, Role};
use sightline_app::accounts::{Account, LiveSession};
use sightline_app::audit::{self, AuditActor};
use sightline_app::controls::{self, By, ControlError, HoldTarget, RestrictionRequest};
use sightline_store::{HoldRow, RESTRICTED, RestrictionRow};

/// The roles the restriction form offers, as `(stable name, label)`.
pub(crate) const ROLE_CHOICES: [(&str, &str); 3] = [
    ("practitioner", "Practitioners"),
    ("team_manager", "Team managers"),
    ("safeguarding_lead", "Safeguarding leads"),
];

/// Whether the account may restrict (or lift) the record: for showing the form.
/// The act itself is decided and audited by `sightline_app::controls`.
pub(crate) fn may_restrict(account: &Account, resource: &Resource) -> bool {
    sightline_access::authorize(
        &account.actor(),
        Action::RestrictRecord,
        resource,
        &AccessContext::default(),
        sightline_app::to_micros(Utc::now()),
    )
    .is_full()
}

fn role_words(names: &[String]) -> String {
    let labels: Vec<String> = names
        .iter()
        .map(|name| Role::parse(name).map_or_else(|_| name.clone(), |role| role.label().to_owned()))
        .collect();
    labels.join(", ")
}

/// A restriction event as pages show it.
#[derive(Debug, Serialize)]
pub(crate) struct RestrictionView {
    pub in_force: bool,
    pub agency: String,
    pub record_id: String,
    pub href: String,
    pub roles: String,
    pub own_agency_only: bool,
    pub reason: String,
    pub by: String,
    pub when: String,
}

impl RestrictionView {
    pub(crate) fn of(row: &RestrictionRow) -> RestrictionView {
        let event = &row.event;
        RestrictionView {
            in_force: event.state == RESTRICTED,
            agency: event.agency.clone(),
            record_id: event.record_id.clone(),
            href: format!(
                "/records/{}/{}",
                event.agency,
                encode_path(&event.record_id)
            ),
            roles: role_words(&event.roles),
            own_agency_only: event.own_agency_only,
            reason: event.reason.clone(),
            by: event.by_username.clone(),
            when: time(event.at_us),
        }
    }
}

/// The restriction form as submitted.
#[derive(Deserialize, Default)]
pub struct RestrictionForm {
    /// `restrict` or `lift`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    role_practitioner: Option<String>,
    #[serde(default)]
    role_team_manager: Option<String>,
    #[serde(default)]
    role_safeguarding_lead: Option<String>,
    #[serde(default)]
    own_agency_only: Option<String>,
    #[serde(default)]
    reason: String,
}

pub async fn record_restriction(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path((agency, record_id)): Path<(String, String)>,
    Form(form): Form<RestrictionForm>,
) -> Response {
    let Some(Resource::Record {
        agency: agency_id,
        record_id: parsed_id,
    }) = crate::pages::record_resource(&agency, &record_id)
    else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let account = session.account.clone();
    let now = Utc::now();
    let lift = form.action == "lift";
    let chosen: Vec<&str> = [
        ("practitioner", &form.role_practitioner),
        ("team_manager", &form.role_team_manager),
        ("safeguarding_lead", &form.role_safeguarding_lead),
    ]
    .into_iter()
    .filter(|(_, ticked)| ticked.is_some())
    .map(|(name, _)| name)
    .collect();
    let own_agency_only = form.own_agency_only.is_some();
    let reason = form.reason.clone();
    let outcome = blocking(&state, Some(&session), move |store| {
        let by = By::Account(&account);
        let result = if lift {
            controls::lift_restriction(store, by, &agency_id, &parsed_id, &reason, now)
        } else {
            controls::parse_roles(chosen).and_then(|roles| {
                controls::restrict_record(
                    store,
                    by,
                    &RestrictionRequest {
                        agency: agency_id.clone(),
                        record_id: parsed_id.clone(),
                        roles,
                        own_agency_only,
                        reason: reason.clone(),
                    },
                    now,
                )
            })
        };
        match result {
            Ok(_) => Ok(Ok(())),
            Err(ControlError::Store(error)) => Err(error.to_string()),
            Err(other) => Ok(Err(other)),
        }
    })
    .await;
    match outcome {
        Err(response) => response,
        Ok(Ok(())) => {
            Redirect::to(&format!("/records/{agency}/{}", encode_path(&record_id))).into_response()
        }
        Ok(Err(ControlError::Forbidden)) => {
            error_page(&state, Some(&session), ErrorPage::forbidden())
        }
        Ok(Err(ControlError::NotFound(_))) => {
            error_page(&state, Some(&session), ErrorPage::not_found())
        }
        Ok(Err(other)) => {
            crate::pages::record_page(
                state,
                session,
                agency,
                record_id,
                None,
                Some(other.to_string()),
            )
            .await
        }
    }
}

/// A legal hold event as pages show it.
#[derive(Debug, Serialize)]
pub(crate) struct HoldView {
    pub in_force: bool,
    pub target: String,
    pub person_id: String,
    pub href: String,
    pub reason: String,
    pub by: String,
    pub when: String,
}

impl HoldView {
    pub(crate) fn of(row: &HoldRow) -> HoldView {
        let event = &row.event;
        HoldView {
            in_force: event.state == sightline_store::HOLD_PLACED,
            target: event.target.clone(),
            person_id: event.person_id.clone(),
            href: format!("/privacy/children/{}", encode_path(&event.person_id)),
            reason: event.reason.clone(),
            by: event.by_username.clone(),
            when: time(event.at_us),
        }
    }
}

/// Most history rows the privacy officer's lists show.
const HISTORY_ROWS_MAX: u32 = 500;

/// The privacy officer's list of record restrictions: those in force, then
/// every restriction event, newest first. Audited as `view_restrictions`.
pub async fn restrictions(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
) -> Response {
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let loaded = blocking(&state, Some(&session), move |store| {
        audit::record(
            store,
            &by,
            "view_restrictions",
            "service",
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(|error| error.to_string())?;
        let in_force = controls::restrictions_in_force(store).map_err(|error| error.to_string())?;
        let events = store
            .access()
            .restriction_events(None, None, HISTORY_ROWS_MAX)
            .map_err(|error| error.to_string())?;
        Ok::<_, String>((in_force, events))
    })
    .await;
    let (in_force, events) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    page(
        &state,
        StatusCode::OK,
        "restrictions.html",
        context! {
            user => UserView::of(&session),
            page_title => "Restricted records",
            nav => "restrictions",
            in_force => in_force.iter().map(RestrictionView::of).collect::<Vec<_>>(),
            events => events.iter().map(RestrictionView::of).collect::<Vec<_>>(),
        },
    )
}

/// The privacy officer's list of legal holds: those in force, then every
/// hold event, newest first, with the forms to place and release one.
/// Audited as `view_legal_holds`.
pub async fn holds(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
) -> Response {
    holds_page(state, session, StatusCode::OK, None, HoldForm::default()).await
}

async fn holds_page(
    state: WebState,
    session: LiveSession,
    status: StatusCode,
    error: Option<String>,
    form: HoldForm,
) -> Response {
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let loaded = blocking(&state, Some(&session), move |store| {
        audit::record(
            store,
            &by,
            "view_legal_holds",
            "service",
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(|error| error.to_string())?;
        let in_force = controls::holds_in_force(store).map_err(|error| error.to_string())?;
        let events = store
            .access()
            .hold_events(None, HISTORY_ROWS_MAX)
            .map_err(|error| error.to_string())?;
        Ok::<_, String>((in_force, events))
    })
    .await;
    let (in_force, events) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    page(
        &state,
        status,
        "holds.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { "Error: Legal holds" } else { "Legal holds" },
            nav => "holds",
            in_force => in_force.iter().map(HoldView::of).collect::<Vec<_>>(),
            events => events.iter().map(HoldView::of).collect::<Vec<_>>(),
            hold_error => error,
            hold_form => form,
        },
    )
}

/// The longest person id or reason a hold form takes (a refused form may
/// hold anything; it is shown again, so it is cut).
const HOLD_FIELD_CHARS_MAX: usize = 1_000;

/// The place or release form as submitted.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct HoldForm {
    /// `place` or `release`.
    #[serde(default)]
    action: String,
    /// `child` or `person` (placing).
    #[serde(default)]
    target: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    reason: String,
}

/// Why a hold form was refused (no personal data: ids are the service's).
enum HoldRefusal {
    Control(ControlError),
    UnknownPerson(&'static str),
}

/// Places or releases a legal hold (the privacy officer; decided and audited
/// by `sightline_app::controls`, CSRF checked by the router), then back to
/// the list; a refused form is shown again with the problem.
pub async fn change_hold(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Form(mut form): Form<HoldForm>,
) -> Response {
    form.person_id = form
        .person_id
        .trim()
        .chars()
        .take(HOLD_FIELD_CHARS_MAX)
        .collect();
    form.reason = form.reason.chars().take(HOLD_FIELD_CHARS_MAX).collect();
    let account = session.account.clone();
    let engine = state.engine.clone();
    let submitted = form.clone();
    let now = Utc::now();
    let outcome = blocking(&state, Some(&session), move |store| {
        let by = By::Account(&account);
        let person_id = submitted.person_id.as_str();
        let result = match submitted.action.as_str() {
            "release" => controls::release_hold(store, by, person_id, &submitted.reason, now)
                .map_err(HoldRefusal::Control),
            "place" => {
                let target = match submitted.target.as_str() {
                    "child" => HoldTarget::Child,
                    _ => HoldTarget::Person,
                };
                // The store does not know persons: the picture does.
                let known = crate::children::valid_person_id(person_id)
                    && crate::children::with_engine(&engine, |engine| {
                        Ok(engine
                            .facts()
                            .get(person_id)
                            .is_some_and(|facts| target == HoldTarget::Person || facts.is_child))
                    })?;
                if known {
                    controls::place_hold(store, by, target, person_id, &submitted.reason, now)
                        .map_err(HoldRefusal::Control)
                } else {
                    Err(HoldRefusal::UnknownPerson(match target {
                        HoldTarget::Child => {
                            "no child has this id (a child's id begins p- and is on their page)"
                        }
                        HoldTarget::Person => {
                            "no person has this id (a person's id begins p- and is on their page)"
                        }
                    }))
                }
            }
            _ => Err(HoldRefusal::UnknownPerson(
                "choose to place or release a hold",
            )),
        };
        match result {
            Ok(_) => Ok(Ok(())),
            Err(HoldRefusal::Control(ControlError::Store(error))) => Err(error.to_string()),
            Err(other) => Ok(Err(other)),
        }
    })
    .await;
    match outcome {
        Err(response) => response,
        Ok(Ok(())) => Redirect::to("/privacy/holds").into_response(),
        Ok(Err(HoldRefusal::Control(ControlError::HoldForbidden))) => {
            error_page(&state, Some(&session), ErrorPage::forbidden())
        }
        Ok(Err(refusal)) => {
            let message = match refusal {
                HoldRefusal::Control(error) => error.to_string(),
                HoldRefusal::UnknownPerson(words) => words.to_owned(),
            };
            holds_page(
                state,
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                form,
            )
            .await
        }
    }
}
