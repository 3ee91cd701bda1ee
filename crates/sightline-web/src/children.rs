//! The pages about one child: the child page, the chronology (table, SVG
//! timeline, CSV), break glass on a child, search, and the privacy officer's
//! "who viewed this child".
//!
//! Need-to-know: every page asks `authorize_and_record` with the child's real
//! relationships (the agencies that contributed a record about the child, and the
//! holders of its open alerts) and the user's break-glass grants. Without a
//! relationship a casework user gets the minimal view and the break-glass form.

use crate::WebState;
use crate::clocks::ClockView;
use crate::pages::{FieldError, optional_date};
use crate::pages::{blocking, break_glass, encode_path};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_access::{AccessContext, Action, Decision, Resource, View};
use sightline_app::accounts::{self, Account, BreakGlassOutcome, LiveSession};
use sightline_app::audit::{self, AuditActor};
use sightline_app::controls::Withheld;
use sightline_app::views::{
    self, ChildView, ChronologyFilter, ChronologyRow, MinimalChild, Picture, TimelineMark,
};
use sightline_app::{Engine, SharedEngine};
use sightline_store::Store;
use std::collections::BTreeSet;

/// Runs `work` on the engine (under its shared lock: keep it short).
pub(crate) fn with_engine<T>(
    engine: &SharedEngine,
    work: impl FnOnce(&Engine) -> Result<T, String>,
) -> Result<T, String> {
    engine.read(work).map_err(|error| error.to_string())?
}

/// The picture the pages read: the engine's linked records, facts and addresses.
pub(crate) fn picture_of(engine: &Engine) -> Picture<'_> {
    Picture {
        linked: engine.linked(),
        facts: engine.facts(),
        addresses: engine.addresses(),
    }
}

/// Whether a path parameter can be a person id (`p-` and 16 hex digits).
pub(crate) fn valid_person_id(person_id: &str) -> bool {
    person_id.len() == 18
        && person_id.starts_with("p-")
        && person_id[2..]
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
}

/// Most alerts about one child a page reads.
const CHILD_ALERTS_MAX: u32 = 200;

/// Decides (and records) `action` on the child for `account`, with the child's
/// real relationships and the account's grants.
pub(crate) fn decide_child(
    store: &dyn Store,
    engine: &Engine,
    account: &Account,
    person_id: &str,
    action: Action,
    view: Option<View>,
    now: chrono::DateTime<Utc>,
) -> Result<(Decision, AccessContext), String> {
    let mut context: AccessContext =
        accounts::access_context(store, account, now).map_err(|error| error.to_string())?;
    if picture_of(engine).child(person_id).is_some() {
        context.relationships =
            sightline_app::need_to_know::child_relationships(store, engine, person_id, now)
                .map_err(|error| error.to_string())?;
    }
    let decision = audit::authorize_view_and_record(
        store,
        account,
        action,
        view,
        &Resource::Child(person_id.to_owned()),
        &context,
        now,
    )
    .map_err(|error| error.to_string())?;
    Ok((decision, context))
}

/// What a child page shows, once decided.
enum ChildContent<T> {
    Full { basis: String, view: T },
    Minimal(MinimalChild),
    Unknown,
    Denied,
}

/// Loads the picture, decides access to the child and, when allowed in full,
/// builds the page's data with `full`.
async fn load_child<T: Send + 'static>(
    state: &WebState,
    session: &LiveSession,
    person_id: &str,
    view: View,
    full: impl FnOnce(&dyn Store, &Engine, &str, &Withheld) -> Result<T, String> + Send + 'static,
) -> Result<ChildContent<T>, Response> {
    if !valid_person_id(person_id) {
        return Err(error_page(state, Some(session), ErrorPage::not_found()));
    }
    let account = session.account.clone();
    let engine = state.engine.clone();
    let person_id = person_id.to_owned();
    let now = Utc::now();
    blocking(state, Some(session), move |store| {
        with_engine(&engine, |engine| {
            let picture = picture_of(engine);
            let (decision, _) = decide_child(
                store,
                engine,
                &account,
                &person_id,
                Action::ViewChild,
                Some(view),
                now,
            )?;
            let known = picture.child(&person_id).is_some();
            Ok(match decision {
                Decision::Deny => ChildContent::Denied,
                _ if !known => ChildContent::Unknown,
                Decision::Minimal => match picture.child(&person_id) {
                    Some(facts) => ChildContent::Minimal(views::minimal_child(
                        picture,
                        facts,
                        now.date_naive(),
                    )),
                    None => ChildContent::Unknown,
                },
                Decision::Full { basis } => {
                    // CP-IS: a child on a plan read in full by another agency
                    // tells the child's allocated worker or duty team.
                    sightline_app::cpis::after_full_read(
                        store, engine, &account, &person_id, view, now,
                    )
                    .map_err(|error| error.to_string())?;
                    // Records their agency restricted away from this reader
                    // are left out of every page about the child.
                    let withheld = sightline_app::controls::withheld_from(store, &account)
                        .map_err(|error| error.to_string())?;
                    ChildContent::Full {
                        basis: basis.label_for_reader(),
                        view: full(store, engine, &person_id, &withheld)?,
                    }
                }
            })
        })
    })
    .await
}

pub(crate) fn minimal_page(
    state: &WebState,
    session: &LiveSession,
    minimal: MinimalChild,
    status: StatusCode,
    reason_error: Option<(&'static str, String)>,
) -> Response {
    let (reason_message, reason) = reason_error.unzip();
    page(
        state,
        status,
        "child_minimal.html",
        context! {
            user => UserView::of(session),
            page_title => if reason_message.is_some() { format!("Error: {}", minimal.name) } else { minimal.name.clone() },
            nav => "",
            action_path => format!("/children/{}/break-glass", minimal.person_id),
            child => minimal,
            break_glass_hours => state.config.session.break_glass_us / 3_600_000_000,
            reason_error => reason_message,
            reason => reason.unwrap_or_default(),
        },
    )
}

/// Renders the common outcomes of [`load_child`] other than the full view.
fn not_full<T>(
    state: &WebState,
    session: &LiveSession,
    content: ChildContent<T>,
) -> Result<(String, T), Box<Response>> {
    let response = match content {
        ChildContent::Full { basis, view } => return Ok((basis, view)),
        ChildContent::Minimal(minimal) => {
            minimal_page(state, session, minimal, StatusCode::OK, None)
        }
        ChildContent::Unknown => error_page(state, Some(session), ErrorPage::not_found()),
        ChildContent::Denied => error_page(state, Some(session), ErrorPage::forbidden()),
    };
    Err(Box::new(response))
}

// ---- the child page ----

pub async fn child(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
) -> Response {
    let now = Utc::now();
    let today = now.date_naive();
    let now_us = sightline_app::to_micros(now);
    let content = match load_child(
        &state,
        &session,
        &person_id,
        View::Child,
        move |store, engine, id, withheld| {
            let picture = picture_of(engine);
            let clocks = sightline_app::clocks::child_clocks(engine, id, now);
            let alerts: Vec<crate::alerts::AlertSummary> =
                crate::alerts::alerts_of_child(store, id, CHILD_ALERTS_MAX)
                    .map_err(|error| error.to_string())?
                    .iter()
                    .map(|alert| crate::alerts::summary(alert, now_us))
                    .collect();
            let mut possible = sightline_app::persons::possible_records(
                picture.linked,
                id,
                "this child",
                sightline_app::persons::POSSIBLE_RECORDS_MAX,
            );
            let hold = sightline_app::controls::hold_of(store, id)
                .map_err(|error| error.to_string())?
                .map(|row| crate::controls::HoldView::of(&row));
            possible.retain(|possible| {
                !withheld.contains(&possible.mention.agency, &possible.mention.record_id)
                    && !withheld.contains(&possible.against.agency, &possible.against.record_id)
            });
            Ok(picture.child(id).map(|facts| {
                (
                    views::child_view_for(picture, facts, today, withheld).without(withheld),
                    alerts,
                    (clocks, possible, hold),
                )
            }))
        },
    )
    .await
    {
        Ok(content) => content,
        Err(response) => return response,
    };
    let (basis, (view, alerts, (clocks, possible, hold))) =
        match not_full(&state, &session, content) {
            Ok((basis, Some(view))) => (basis, view),
            Ok((_, None)) => return error_page(&state, Some(&session), ErrorPage::not_found()),
            Err(response) => return *response,
        };
    let view: ChildView = view;
    page(
        &state,
        StatusCode::OK,
        "child.html",
        context! {
            user => UserView::of(&session),
            page_title => view.name.clone(),
            nav => "",
            basis => basis,
            child => view,
            alerts => alerts,
            clocks => clocks.into_iter().map(|clock| ClockView::of(clock, None)).collect::<Vec<_>>(),
            possible => possible.into_iter().map(PossibleView::of).collect::<Vec<_>>(),
            hold => hold,
        },
    )
}

/// A possible record as the child page shows it ("Possible records"), with
/// the link to its review.
#[derive(Serialize)]
struct PossibleView {
    record_href: String,
    agency: String,
    record_id: String,
    kind: String,
    occurred_at: String,
    recorded_name: String,
    dob: Option<String>,
    postcode: Option<String>,
    /// The linked record it was compared with: its agency (templates name it
    /// with `agency_name`) and its id there.
    against_agency: String,
    against_record: String,
    probability_percent: f64,
    relational: bool,
    /// The evidence in words: each detail that counted, for or against.
    evidence: Vec<(String, String, String)>,
    review_href: String,
}

impl PossibleView {
    fn of(possible: sightline_app::persons::PossibleRecord) -> PossibleView {
        let mention = &possible.mention;
        let name = [
            mention.given_names.as_deref(),
            mention.family_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let kind = sightline_core::Kind::parse(&mention.kind)
            .map_or_else(|| mention.kind.clone(), |kind| kind.label().to_owned());
        PossibleView {
            record_href: format!(
                "/records/{}/{}",
                mention.agency,
                encode_path(&mention.record_id)
            ),
            agency: mention.agency.clone(),
            record_id: mention.record_id.clone(),
            kind,
            occurred_at: sightline_core::dates::occurred_text(&mention.occurred_at),
            recorded_name: if name.is_empty() {
                "Name not recorded".to_owned()
            } else {
                name
            },
            dob: mention.dob.as_deref().map(|dob| {
                sightline_core::PartialDate::parse(dob)
                    .map_or_else(|_| dob.to_owned(), sightline_core::dates::partial_date)
            }),
            postcode: mention.postcode.clone(),
            against_agency: possible.against.agency.clone(),
            against_record: possible.against.record_id.clone(),
            probability_percent: possible.probability_percent,
            relational: possible.relational,
            evidence: possible
                .evidence
                .fields
                .iter()
                .filter(|field| field.weight != 0.0)
                .map(|field| {
                    (
                        field.field.replace('_', " "),
                        // Levels name other columns ("swapped with family_name").
                        field.level.replace('_', " "),
                        format!("{:+.1}", field.weight),
                    )
                })
                .collect(),
            review_href: format!(
                "/linkage/review?left={}&right={}",
                encode_path(&possible.evidence.left),
                encode_path(&possible.evidence.right)
            ),
        }
    }
}

#[derive(Deserialize)]
pub struct BreakGlassForm {
    #[serde(default)]
    reason: String,
}

pub async fn child_break_glass(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Form(form): Form<BreakGlassForm>,
) -> Response {
    if !valid_person_id(&person_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let resource = Resource::Child(person_id.clone());
    let outcome = match break_glass(&state, &session, resource, &form.reason).await {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    let message = match outcome {
        BreakGlassOutcome::Granted { .. } => {
            return Redirect::to(&format!("/children/{person_id}")).into_response();
        }
        BreakGlassOutcome::NotFound => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        BreakGlassOutcome::Denied => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
        BreakGlassOutcome::BadReason(message) => message,
        BreakGlassOutcome::LimitReached => crate::pages::BREAK_GLASS_LIMIT_MESSAGE,
    };
    let content = match load_child(&state, &session, &person_id, View::Child, |_, _, _, _| {
        Ok(())
    })
    .await
    {
        Ok(content) => content,
        Err(response) => return response,
    };
    match content {
        ChildContent::Minimal(minimal) => minimal_page(
            &state,
            &session,
            minimal,
            StatusCode::BAD_REQUEST,
            Some((message, form.reason)),
        ),
        // Already allowed in full: nothing to break.
        ChildContent::Full { .. } => {
            Redirect::to(&format!("/children/{person_id}")).into_response()
        }
        ChildContent::Unknown => error_page(&state, Some(&session), ErrorPage::not_found()),
        ChildContent::Denied => error_page(&state, Some(&session), ErrorPage::forbidden()),
    }
}

// ---- the chronology ----

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct ChronologyQuery {
    #[serde(default)]
    agency: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl ChronologyQuery {
    fn filter(&self) -> (ChronologyFilter, Vec<FieldError>) {
        let mut errors = Vec::new();
        let from = optional_date(&self.from, "from", "the start date", &mut errors);
        let to = optional_date(&self.to, "to", "the end date", &mut errors);
        let some = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
        (
            ChronologyFilter {
                agency: some(&self.agency),
                kind: some(&self.kind),
                from,
                to,
            },
            errors,
        )
    }

    fn query_string(&self) -> String {
        crate::pages::filter_query_string(&[
            ("agency", &self.agency),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

/// The chronology's data: every row, the child's name and the alert marks.
struct ChronologyData {
    name: String,
    rows: Vec<ChronologyRow>,
    marks: Vec<TimelineMark>,
}

fn chronology_data(
    store: &dyn Store,
    engine: &Engine,
    person_id: &str,
    withheld: &Withheld,
) -> Result<Option<ChronologyData>, String> {
    let picture = picture_of(engine);
    let Some(facts) = picture.child(person_id) else {
        return Ok(None);
    };
    let mut marks = Vec::new();
    for alert in crate::alerts::alerts_of_child(store, person_id, CHILD_ALERTS_MAX)
        .map_err(|error| error.to_string())?
    {
        marks.push(TimelineMark {
            date: sightline_app::from_micros(alert.raised_at_us).date_naive(),
            decision: false,
            label: alert.title.clone(),
        });
        for event in store
            .alerts()
            .events(&alert.id)
            .map_err(|error| error.to_string())?
        {
            if event.kind == "decided" {
                marks.push(TimelineMark {
                    date: sightline_app::from_micros(event.at_us).date_naive(),
                    decision: true,
                    label: format!(
                        "{} on {}",
                        event.decision.as_deref().unwrap_or("").replace('_', " "),
                        alert.title
                    ),
                });
            }
        }
    }
    Ok(Some(ChronologyData {
        name: views::display_name(facts),
        rows: views::chronology(picture, facts)
            .into_iter()
            .filter(|row| !withheld.contains(&row.agency, &row.record_id))
            .collect(),
        marks,
    }))
}

#[derive(Serialize)]
struct RowView {
    #[serde(flatten)]
    row: ChronologyRow,
    href: String,
}

pub async fn chronology(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Query(query): Query<ChronologyQuery>,
) -> Response {
    let content = match load_child(
        &state,
        &session,
        &person_id,
        View::Chronology,
        chronology_data,
    )
    .await
    {
        Ok(content) => content,
        Err(response) => return response,
    };
    let data = match not_full(&state, &session, content) {
        Ok((_, Some(data))) => data,
        Ok((_, None)) => return error_page(&state, Some(&session), ErrorPage::not_found()),
        Err(response) => return *response,
    };
    let (filter, errors) = query.filter();
    let agencies: BTreeSet<&str> = data.rows.iter().map(|row| row.agency.as_str()).collect();
    // Kinds by their display names (the filter still sends the code).
    let kinds: BTreeSet<(&str, &str)> = data
        .rows
        .iter()
        .map(|row| (row.kind_label, row.kind))
        .collect();
    let kinds: Vec<minijinja::Value> = kinds
        .into_iter()
        .map(|(label, code)| minijinja::context! { code => code, label => label })
        .collect();
    let rows: Vec<ChronologyRow> = data
        .rows
        .iter()
        .filter(|row| filter.keeps(row))
        .cloned()
        .map(|mut row| {
            row.agency_name = state.agency_name(&row.agency);
            row
        })
        .collect();
    let marks: Vec<TimelineMark> = data
        .marks
        .iter()
        .filter(|mark| {
            filter.from.is_none_or(|from| mark.date >= from)
                && filter.to.is_none_or(|to| mark.date <= to)
        })
        .cloned()
        .collect();
    let timeline = views::timeline_svg(&rows, &marks);
    let query_string = query.query_string();
    let csv_href = if query_string.is_empty() {
        format!("/children/{person_id}/chronology.csv")
    } else {
        format!("/children/{person_id}/chronology.csv?{query_string}")
    };
    let rows: Vec<RowView> = rows
        .into_iter()
        .map(|row| RowView {
            href: format!("/records/{}/{}", row.agency, encode_path(&row.record_id)),
            row,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(
        &state,
        status,
        "chronology.html",
        context! {
            user => UserView::of(&session),
            page_title => if errors.is_empty() { format!("Chronology: {}", data.name) } else { format!("Error: Chronology: {}", data.name) },
            nav => "",
            person_id => person_id,
            name => data.name,
            rows => rows,
            n_total => data.rows.len(),
            agencies => agencies,
            kinds => kinds,
            query => query,
            from_error => errors.iter().find(|error| error.field == "from").map(|error| error.message.clone()),
            to_error => errors.iter().find(|error| error.field == "to").map(|error| error.message.clone()),
            errors => errors,
            timeline => minijinja::Value::from_safe_string(timeline),
            csv_href => csv_href,
        },
    )
}

pub async fn chronology_csv(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Query(query): Query<ChronologyQuery>,
) -> Response {
    let content = match load_child(
        &state,
        &session,
        &person_id,
        View::ChronologyCsv,
        chronology_data,
    )
    .await
    {
        Ok(content) => content,
        Err(response) => return response,
    };
    let data = match content {
        ChildContent::Full {
            view: Some(data), ..
        } => data,
        ChildContent::Full { view: None, .. } | ChildContent::Unknown => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        // A download is never the minimal view: the child page offers break glass.
        ChildContent::Minimal(_) | ChildContent::Denied => {
            return error_page(&state, Some(&session), ErrorPage::forbidden());
        }
    };
    let (filter, _) = query.filter();
    let rows: Vec<ChronologyRow> = data
        .rows
        .into_iter()
        .filter(|row| filter.keeps(row))
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"chronology-{person_id}.csv\""),
            ),
        ],
        views::chronology_csv(&rows),
    )
        .into_response()
}

// ---- search ----

#[derive(Deserialize, Serialize, Default)]
pub struct SearchForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    dob: String,
}

#[derive(Serialize)]
struct SearchResultView {
    person_id: String,
    name: String,
    full: bool,
    dob: Option<String>,
    age_years: Option<u32>,
    current_plans: Vec<String>,
    contacts: Vec<String>,
    probability_percent: f64,
}

/// Most results a search shows.
const SEARCH_RESULTS_MAX: usize = 20;

pub async fn search(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(form): Query<SearchForm>,
) -> Response {
    let account = session.account.clone();
    let now = Utc::now();
    // The privacy officer searches to start from a child: the results lead to
    // who viewed the child, never to its case content.
    let privacy_officer = account.role == sightline_access::Role::PrivacyOfficer;
    if !account.role.does_casework() && !privacy_officer {
        // Recorded like any refused read.
        let by = AuditActor::of(&account);
        let _ = blocking(&state, Some(&session), move |store| {
            audit::record(store, &by, "search_children", "service", "", "deny", now)
        })
        .await;
        return error_page(&state, Some(&session), ErrorPage::forbidden());
    }
    let searched = !form.name.trim().is_empty() || !form.dob.trim().is_empty();
    let parsed = searched.then(|| views::search_query(&form.name, &form.dob));
    let mut error = None;
    let mut results: Option<Vec<SearchResultView>> = None;
    match parsed {
        None => {}
        Some(Err(message)) => error = Some(message),
        Some(Ok((given, family, dob))) => {
            let engine = state.engine.clone();
            let found = blocking(&state, Some(&session), move |store| {
                let search = |index: &mut _, person_of_mention: &[String], facts: &_| {
                    views::search_children(
                        index,
                        person_of_mention,
                        facts,
                        given.as_deref(),
                        &family,
                        &dob,
                        SEARCH_RESULTS_MAX,
                    )
                };
                let by = AuditActor::of(&account);
                if privacy_officer {
                    let basis = format!("role:{}", by.role);
                    audit::record(store, &by, "search_children", "service", &basis, "ok", now)
                        .map_err(|error| error.to_string())?;
                }
                engine
                    .search(search, |engine, hits| {
                        let picture = picture_of(engine);
                        let today = now.date_naive();
                        let mut views_found = Vec::new();
                        for hit in hits {
                            if privacy_officer {
                                let Some(facts) = picture.child(&hit.person_id) else {
                                    continue;
                                };
                                audit::record(
                                    store,
                                    &by,
                                    View::Search.as_str(),
                                    &format!("child:{}", hit.person_id),
                                    &format!("role:{}", by.role),
                                    "minimal",
                                    now,
                                )
                                .map_err(|error| error.to_string())?;
                                let minimal = views::minimal_child(picture, facts, today);
                                views_found.push(SearchResultView {
                                    person_id: hit.person_id,
                                    name: minimal.name,
                                    full: false,
                                    dob: None,
                                    age_years: minimal.age_years,
                                    current_plans: Vec::new(),
                                    contacts: Vec::new(),
                                    probability_percent: hit.probability_percent,
                                });
                                continue;
                            }
                            let (decision, _) = decide_child(
                                store,
                                engine,
                                &account,
                                &hit.person_id,
                                Action::ViewChild,
                                Some(View::Search),
                                now,
                            )?;
                            let Some(facts) = picture.child(&hit.person_id) else {
                                continue;
                            };
                            let minimal = views::minimal_child(picture, facts, today);
                            let full = decision.is_full();
                            views_found.push(SearchResultView {
                                person_id: hit.person_id,
                                name: minimal.name,
                                full,
                                dob: if full {
                                    facts.dob.map(sightline_core::dates::partial_date)
                                } else {
                                    None
                                },
                                age_years: minimal.age_years,
                                current_plans: minimal.current_plans,
                                contacts: minimal.contacts,
                                probability_percent: hit.probability_percent,
                            });
                        }
                        Ok::<_, String>(views_found)
                    })
                    .map_err(|error| error.to_string())?
            })
            .await;
            match found {
                Ok(found) => results = Some(found),
                Err(response) => return response,
            }
        }
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        &state,
        status,
        "search.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { "Error: Find a child" } else { "Find a child" },
            nav => "search",
            form => form,
            error_field => if error.is_some_and(|message| message.contains("date of birth")) { "dob" } else { "name" },
            error => error,
            results => results,
            privacy_officer => privacy_officer,
        },
    )
}
