//! The privacy officer's subject access pages (issue #18 item 1): find the
//! person, produce their bundle in the browser (the same HTML as `sightline
//! sar`, from `sightline_app::sar::render_html_with`), download it as HTML
//! or JSON, and disclose third parties item by item with a reason.
//!
//! - Invariant: every bundle produced here is audited (`subject_access`,
//!   with its reason, by `sightline_app::sar::record_request`) before it is
//!   sent; every disclosure is audited before it is stored.
//! - Invariant: the search and the person's page are audited too
//!   (`sar_search` per person shown, `view_subject_access`): they show names
//!   and dates of birth.

use crate::WebState;
use crate::children::valid_person_id;
use crate::pages::{blocking, encode_path};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_app::accounts::LiveSession;
use sightline_app::audit::{self, AuditActor};
use sightline_app::persons::SearchQuery;
use sightline_app::sar::{self, SarError, Stylesheet, UnredactRequest};

/// The print stylesheet the bundle's page links to.
pub const SAR_STYLESHEET_PATH: &str = "/static/sar.css";
/// Most persons a search shows.
const SAR_SEARCH_RESULTS_MAX: usize = 20;
/// The longest text a form field takes back (a refused form is shown again).
const FIELD_CHARS_MAX: usize = 1_000;

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        sar::PRINT_CSS,
    )
        .into_response()
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct FindForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    dob: String,
}

#[derive(Serialize)]
struct FoundView {
    person_id: String,
    name: String,
    dob: String,
    child: bool,
    agencies: String,
    probability_percent: u32,
}

/// Find the person: by their id, or by name and date of birth (adults and
/// children alike). Each person shown is recorded (`sar_search`).
pub async fn find(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Query(form): Query<FindForm>,
) -> Response {
    let person = form.person.trim().to_owned();
    let mut error: Option<(&str, String)> = None;
    if !person.is_empty() {
        if !valid_person_id(&person) {
            error = Some((
                "person",
                "Enter an id that begins p- followed by 16 letters and digits".to_owned(),
            ));
        } else {
            let engine = state.engine.clone();
            let id = person.clone();
            let known = blocking(&state, Some(&session), move |_| {
                crate::children::with_engine(&engine, |engine| Ok(engine.facts().contains_key(&id)))
            })
            .await;
            match known {
                Ok(true) => {
                    return Redirect::to(&format!("/privacy/sar/{}", encode_path(&person)))
                        .into_response();
                }
                Ok(false) => error = Some(("person", "No person has this id".to_owned())),
                Err(response) => return response,
            }
        }
    }
    let searched = !form.name.trim().is_empty() || !form.dob.trim().is_empty();
    let mut results: Option<Vec<FoundView>> = None;
    if searched && error.is_none() {
        match sightline_app::views::search_query(&form.name, &form.dob) {
            Err(message) => {
                let field = if message.contains("date of birth") {
                    "dob"
                } else {
                    "name"
                };
                error = Some((field, message.to_owned()));
            }
            Ok((given, family, dob)) => {
                let engine = state.engine.clone();
                let by = AuditActor::of(&session.account);
                let now = Utc::now();
                let found = blocking(&state, Some(&session), move |store| {
                    let name = match given {
                        Some(given) => format!("{given} {family}"),
                        None => family,
                    };
                    let query = SearchQuery {
                        name: Some(name),
                        dob: Some(dob),
                    };
                    let hits = {
                        let mut guard = engine
                            .write(store, now)
                            .map_err(|error| error.to_string())?;
                        guard
                            .search_persons(&query, SAR_SEARCH_RESULTS_MAX)
                            .map_err(|error| error.to_string())?
                    };
                    let mut views = Vec::new();
                    for hit in hits {
                        let identity = &hit.person.identity;
                        let key = if identity.is_child { "child" } else { "person" };
                        audit::record(
                            store,
                            &by,
                            "sar_search",
                            &format!("{key}:{}", hit.person.id),
                            &format!("role:{}", by.role),
                            "minimal",
                            now,
                        )
                        .map_err(|error| error.to_string())?;
                        let name = [
                            identity.given_names.as_deref(),
                            identity.family_name.as_deref(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                        views.push(FoundView {
                            person_id: hit.person.id.clone(),
                            name: if name.is_empty() {
                                "Name not recorded".to_owned()
                            } else {
                                name
                            },
                            dob: identity.dob.clone().unwrap_or_default(),
                            child: identity.is_child,
                            agencies: hit.person.agencies.join(", "),
                            probability_percent: percent(hit.match_probability),
                        });
                    }
                    Ok::<_, String>(views)
                })
                .await;
                match found {
                    Ok(found) => results = Some(found),
                    Err(response) => return response,
                }
            }
        }
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (error_field, error) = match error {
        Some((field, message)) => (Some(field), Some(message)),
        None => (None, None),
    };
    page(
        &state,
        status,
        "sar_find.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { "Error: Subject access" } else { "Subject access" },
            nav => "sar",
            form => form,
            error => error,
            error_field => error_field,
            results => results,
        },
    )
}

fn percent(probability: f64) -> u32 {
    let rounded = (probability * 100.0).round();
    if rounded.is_finite() && rounded > 0.0 {
        rounded.min(100.0) as u32
    } else {
        0
    }
}

/// The forms of the person's page as submitted (shown again when refused).
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct BundleForm {
    #[serde(default)]
    reason: String,
    /// `page`, `html` or `json`.
    #[serde(default)]
    format: String,
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DiscloseForm {
    #[serde(default)]
    item: String,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct ItemView {
    key: String,
    agency: String,
    record_id: String,
    role: String,
    kind: String,
    disclosed: bool,
}

#[derive(Serialize)]
struct DisclosureView {
    key: String,
    reason: String,
    by: String,
    when: String,
}

/// What the person's page shows when a form was refused.
#[derive(Default)]
struct Refused {
    bundle_error: Option<String>,
    bundle_form: BundleForm,
    disclose_error: Option<String>,
    disclose_form: DiscloseForm,
}

/// The person's subject access page: who they are, the disclosures so far,
/// the form to produce the bundle and the form to disclose a third party.
pub async fn person(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
) -> Response {
    person_page(
        state,
        session,
        person_id,
        StatusCode::OK,
        Refused::default(),
    )
    .await
}

async fn person_page(
    state: WebState,
    session: LiveSession,
    person_id: String,
    status: StatusCode,
    refused: Refused,
) -> Response {
    if !valid_person_id(&person_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    let engine = state.engine.clone();
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let id = person_id.clone();
    let loaded = blocking(&state, Some(&session), move |store| {
        let found = engine
            .with_linked(|linked, facts| {
                let Some(facts_of) = facts.get(&id) else {
                    return Ok(None);
                };
                let items = sar::items(store, linked, &id)?;
                Ok::<_, SarError>(Some((
                    facts_of.clone(),
                    items,
                    sar::resource_key(facts, &id),
                )))
            })
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
        let Some((facts, items, resource)) = found else {
            return Ok(None);
        };
        audit::record(
            store,
            &by,
            "view_subject_access",
            &resource,
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(|error| error.to_string())?;
        let disclosures = store
            .access()
            .unredactions(&id, sar::UNREDACTIONS_MAX)
            .map_err(|error| error.to_string())?;
        Ok::<_, String>(Some((facts, items, disclosures)))
    })
    .await;
    let (facts, items, disclosures) = match loaded {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return error_page(&state, Some(&session), ErrorPage::not_found()),
        Err(response) => return response,
    };
    let disclosed: std::collections::BTreeSet<String> = disclosures
        .iter()
        .map(|row| {
            sar::SarItem {
                agency: row.event.agency.clone(),
                record_id: row.event.record_id.clone(),
                person_ref: row.event.person_ref.clone(),
            }
            .key()
        })
        .collect();
    let items: Vec<ItemView> = items
        .into_iter()
        .map(|view| ItemView {
            disclosed: disclosed.contains(&view.key),
            key: view.key,
            agency: state.agency_name(&view.item.agency),
            record_id: view.item.record_id,
            role: view.role.replace('_', " "),
            kind: view.kind.replace(['.', '_'], " "),
        })
        .collect();
    let disclosures: Vec<DisclosureView> = disclosures
        .into_iter()
        .map(|row| DisclosureView {
            key: sar::SarItem {
                agency: row.event.agency,
                record_id: row.event.record_id,
                person_ref: row.event.person_ref,
            }
            .key(),
            reason: row.event.reason,
            by: row.event.by_username,
            when: crate::pages::time(row.event.at_us),
        })
        .collect();
    let name = sightline_app::views::display_name(&facts);
    let has_error = refused.bundle_error.is_some() || refused.disclose_error.is_some();
    page(
        &state,
        status,
        "sar_person.html",
        context! {
            user => UserView::of(&session),
            page_title => if has_error { format!("Error: Subject access: {name}") } else { format!("Subject access: {name}") },
            nav => "sar",
            person_id => person_id,
            name => name,
            dob => facts.dob.map(sightline_core::dates::partial_date),
            child => facts.is_child,
            items => items,
            disclosures => disclosures,
            bundle_error => refused.bundle_error,
            bundle_form => refused.bundle_form,
            disclose_error => refused.disclose_error,
            disclose_form => refused.disclose_form,
        },
    )
}

fn cut(text: &str) -> String {
    text.chars().take(FIELD_CHARS_MAX).collect()
}

/// Produces the bundle (audited first): the page in the browser, or a
/// download of the HTML (stylesheet inside) or the JSON.
pub async fn produce(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Form(mut form): Form<BundleForm>,
) -> Response {
    if !valid_person_id(&person_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    form.reason = cut(&form.reason);
    let engine = state.engine.clone();
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let id = person_id.clone();
    let reason = form.reason.clone();
    let produced = blocking(&state, Some(&session), move |store| {
        let gathered = engine
            .with_linked(|linked, facts| sar::gather(store, linked, facts, &id, &reason, now))
            .map_err(|error| error.to_string())?;
        let bundle = match gathered {
            Ok(bundle) => bundle,
            Err(SarError::Store(error)) => return Err(error.to_string()),
            Err(refusal) => return Ok(Err(refusal)),
        };
        sar::record_request(store, &by, &bundle, now).map_err(|error| error.to_string())?;
        Ok(Ok(bundle))
    })
    .await;
    let bundle = match produced {
        Ok(Ok(bundle)) => bundle,
        Ok(Err(SarError::UnknownPerson)) => {
            return error_page(&state, Some(&session), ErrorPage::not_found());
        }
        Ok(Err(refusal)) => {
            let refused = Refused {
                bundle_error: Some(capitalise(&refusal.to_string())),
                bundle_form: form,
                ..Refused::default()
            };
            return person_page(
                state,
                session,
                person_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused,
            )
            .await;
        }
        Err(response) => return response,
    };
    let file_stem = format!("sar-{}", bundle.person_id);
    match form.format.as_str() {
        "json" => match serde_json::to_string_pretty(&bundle) {
            Ok(json) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/json; charset=utf-8".to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file_stem}.json\""),
                    ),
                ],
                json,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(error = %error, "subject access bundle not serialised");
                error_page(&state, Some(&session), ErrorPage::internal())
            }
        },
        "html" => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file_stem}.html\""),
                ),
            ],
            sar::render_html(&bundle),
        )
            .into_response(),
        _ => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            sar::render_html_with(&bundle, Stylesheet::Linked(SAR_STYLESHEET_PATH)),
        )
            .into_response(),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Discloses one third party of one record in the person's bundles (audited
/// first, then stored), then back to the person's page.
pub async fn disclose(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(person_id): Path<String>,
    Form(mut form): Form<DiscloseForm>,
) -> Response {
    if !valid_person_id(&person_id) {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    }
    form.item = cut(&form.item);
    form.reason = cut(&form.reason);
    let engine = state.engine.clone();
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let id = person_id.clone();
    let submitted = form.clone();
    let outcome = blocking(&state, Some(&session), move |store| {
        let result = engine
            .with_linked(|linked, facts| {
                sar::unredact(
                    store,
                    linked,
                    facts,
                    &by,
                    &UnredactRequest {
                        person_id: &id,
                        item: &submitted.item,
                        reason: &submitted.reason,
                    },
                    now,
                )
            })
            .map_err(|error| error.to_string())?;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(SarError::Store(error)) => Err(error.to_string()),
            Err(refusal) => Ok(Err(refusal)),
        }
    })
    .await;
    match outcome {
        Ok(Ok(())) => Redirect::to(&format!(
            "/privacy/sar/{}#disclosures",
            encode_path(&person_id)
        ))
        .into_response(),
        Ok(Err(SarError::UnknownPerson)) => {
            error_page(&state, Some(&session), ErrorPage::not_found())
        }
        Ok(Err(refusal)) => {
            let refused = Refused {
                disclose_error: Some(capitalise(&refusal.to_string())),
                disclose_form: form,
                ..Refused::default()
            };
            person_page(
                state,
                session,
                person_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused,
            )
            .await
        }
        Err(response) => response,
    }
}
