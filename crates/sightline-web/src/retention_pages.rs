//! The privacy officer's retention pages (issue #18 item 2): the batches the
//! daily pass wrote (`sightline_app::retention::make_batch`), each with its
//! counts by rule and by agency and its records, and the decision on each:
//! approve, reject or defer, with a reason (`decide_batch`).
//!
//! - Invariant: every page is audited before it is read (`view_retention`),
//!   every decision before it is stored.
//! - Invariant: an approval erases the batch's records at once
//!   (`retention::erase_approved_batch`, keys destroyed), except those a legal
//!   hold covers at that moment, which are kept and counted.

use crate::WebState;
use crate::pages::{blocking, time};
use crate::render::{ErrorPage, UserView, error_page, page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sightline_app::accounts::LiveSession;
use sightline_app::audit::{self, AuditActor};
use sightline_app::retention::{self, RetentionError};
use sightline_store::{RetentionBatchRecord, RetentionBatchRow, RetentionDecisionRow};
use std::collections::BTreeMap;

/// Most batches the list shows.
const BATCHES_LISTED_MAX: u32 = 200;
/// Most records a batch's page lists (the counts cover all of them).
const RECORDS_LISTED_MAX: usize = 500;

#[derive(Serialize)]
struct BatchView {
    id: i64,
    href: String,
    day: String,
    made: String,
    made_by: String,
    n_records: i64,
    n_blocked: i64,
    n_left_over: i64,
    state: String,
    state_words: String,
    decided_by: Option<String>,
    decided: Option<String>,
    reason: Option<String>,
    n_kept_held: i64,
}

fn day_words(text: &str) -> String {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(sightline_core::dates::date)
        .unwrap_or_else(|_| text.to_owned())
}

fn state_words(state: &str, n_kept_held: i64) -> String {
    match state {
        "approved" => format!(
            "Approved: the records were erased{}",
            if n_kept_held > 0 {
                format!("; {n_kept_held} on legal hold were kept")
            } else {
                String::new()
            }
        ),
        "rejected" => "Rejected: the records are kept".to_owned(),
        "deferred" => "Deferred: to be decided".to_owned(),
        _ => "Waiting for a decision".to_owned(),
    }
}

fn batch_view(batch: &RetentionBatchRow, latest: Option<&RetentionDecisionRow>) -> BatchView {
    let state = retention::batch_state(latest).to_owned();
    let n_kept_held = latest.map_or(0, |row| row.event.n_kept_held);
    BatchView {
        id: batch.id,
        href: format!("/privacy/retention/{}", batch.id),
        day: day_words(&batch.as_of),
        made: time(batch.created_at_us),
        made_by: if batch.made_by == retention::MADE_BY_JOB {
            "the daily pass".to_owned()
        } else {
            "an operator (sightline retention run)".to_owned()
        },
        n_records: batch.n_records,
        n_blocked: batch.n_blocked,
        n_left_over: batch.n_left_over,
        state_words: state_words(&state, n_kept_held),
        state,
        decided_by: latest.map(|row| row.event.by_username.clone()),
        decided: latest.map(|row| time(row.event.at_us)),
        reason: latest.map(|row| row.event.reason.clone()),
        n_kept_held,
    }
}

fn record_view_error(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// The list of batches: those waiting (pending or deferred) first.
pub async fn batches(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
) -> Response {
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let loaded = blocking(&state, Some(&session), move |store| {
        audit::record(
            store,
            &by,
            "view_retention",
            "service",
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(record_view_error)?;
        let batches = store
            .access()
            .retention_batches(None, None, BATCHES_LISTED_MAX)
            .map_err(record_view_error)?;
        let latest = retention::latest_decisions(store).map_err(record_view_error)?;
        Ok::<_, String>((batches, latest))
    })
    .await;
    let (batches, latest) = match loaded {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let views: Vec<BatchView> = batches
        .iter()
        .map(|batch| batch_view(batch, latest.get(&batch.id)))
        .collect();
    let (waiting, decided): (Vec<BatchView>, Vec<BatchView>) = views
        .into_iter()
        .partition(|view| view.state == "pending" || view.state == "deferred");
    page(
        &state,
        StatusCode::OK,
        "retention.html",
        context! {
            user => UserView::of(&session),
            page_title => "Retention",
            nav => "retention",
            waiting => waiting,
            decided => decided,
        },
    )
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct BatchQuery {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    agency: String,
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DecisionForm {
    /// `approve`, `reject` or `defer`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct CountView {
    name: String,
    key: String,
    records: usize,
    href: String,
}

#[derive(Serialize)]
struct RecordRowView {
    agency: String,
    record_id: String,
    rule: String,
    kept_until: String,
}

#[derive(Serialize)]
struct DecisionView {
    decision: String,
    reason: String,
    by: String,
    when: String,
}

pub async fn batch(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(batch_id): Path<String>,
    Query(query): Query<BatchQuery>,
) -> Response {
    batch_page(
        state,
        session,
        batch_id,
        query,
        StatusCode::OK,
        None,
        DecisionForm::default(),
    )
    .await
}

async fn batch_page(
    state: WebState,
    session: LiveSession,
    batch_id: String,
    query: BatchQuery,
    status: StatusCode,
    error: Option<String>,
    form: DecisionForm,
) -> Response {
    let Ok(id) = batch_id.parse::<i64>() else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let loaded = blocking(&state, Some(&session), move |store| {
        let Some(batch) = store
            .access()
            .retention_batches(None, id.checked_add(1), 1)
            .map_err(record_view_error)?
            .into_iter()
            .find(|batch| batch.id == id)
        else {
            return Ok(None);
        };
        audit::record(
            store,
            &by,
            "view_retention",
            &format!("retention_batch:{id}"),
            &format!("role:{}", by.role),
            "full",
            now,
        )
        .map_err(record_view_error)?;
        let records = retention::batch_records(store, id).map_err(record_view_error)?;
        let decisions = store
            .access()
            .retention_decisions(Some(id), 100)
            .map_err(record_view_error)?;
        Ok::<_, String>(Some((batch, records, decisions)))
    })
    .await;
    let (batch, records, decisions) = match loaded {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return error_page(&state, Some(&session), ErrorPage::not_found()),
        Err(response) => return response,
    };
    let view = batch_view(&batch, decisions.first());
    let by_rule = counts(&records, |record| record.rule.clone())
        .into_iter()
        .map(|(key, records)| CountView {
            href: format!(
                "/privacy/retention/{id}?rule={}",
                crate::pages::encode_path(&key)
            ),
            name: key.clone(),
            key,
            records,
        })
        .collect::<Vec<_>>();
    let by_agency = counts(&records, |record| record.agency.clone())
        .into_iter()
        .map(|(key, records)| CountView {
            href: format!(
                "/privacy/retention/{id}?agency={}",
                crate::pages::encode_path(&key)
            ),
            name: state.agency_name(&key),
            key,
            records,
        })
        .collect::<Vec<_>>();
    let filtered: Vec<&RetentionBatchRecord> = records
        .iter()
        .filter(|record| query.rule.is_empty() || record.rule == query.rule)
        .filter(|record| query.agency.is_empty() || record.agency == query.agency)
        .collect();
    let n_filtered = filtered.len();
    let rows: Vec<RecordRowView> = filtered
        .into_iter()
        .take(RECORDS_LISTED_MAX)
        .map(|record| RecordRowView {
            agency: state.agency_name(&record.agency),
            record_id: record.record_id.clone(),
            rule: record.rule.clone(),
            kept_until: day_words(&record.kept_until),
        })
        .collect();
    let decisions: Vec<DecisionView> = decisions
        .iter()
        .map(|row| DecisionView {
            decision: row.event.decision.clone(),
            reason: row.event.reason.clone(),
            by: row.event.by_username.clone(),
            when: time(row.event.at_us),
        })
        .collect();
    let open = view.state == "pending" || view.state == "deferred";
    let filter_words = if !query.rule.is_empty() {
        Some(format!("under the rule \u{201c}{}\u{201d}", query.rule))
    } else if !query.agency.is_empty() {
        Some(format!("from {}", state.agency_name(&query.agency)))
    } else {
        None
    };
    page(
        &state,
        status,
        "retention_batch.html",
        context! {
            user => UserView::of(&session),
            page_title => if error.is_some() { format!("Error: Retention batch {id}") } else { format!("Retention batch {id}") },
            nav => "retention",
            batch => view,
            by_rule => by_rule,
            by_agency => by_agency,
            rows => rows,
            n_filtered => n_filtered,
            n_shown_max => RECORDS_LISTED_MAX,
            filter_words => filter_words,
            decisions => decisions,
            open => open,
            error => error,
            form => form,
        },
    )
}

/// How many records of `records` have each key, by key.
fn counts(
    records: &[RetentionBatchRecord],
    key: impl Fn(&RetentionBatchRecord) -> String,
) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for record in records {
        *counted.entry(key(record)).or_insert(0) += 1;
    }
    counted
}

/// Approves, rejects or defers a batch (audited first), then back to it.
pub async fn decide(
    State(state): State<WebState>,
    Extension(session): Extension<LiveSession>,
    Path(batch_id): Path<String>,
    Form(mut form): Form<DecisionForm>,
) -> Response {
    let Ok(id) = batch_id.parse::<i64>() else {
        return error_page(&state, Some(&session), ErrorPage::not_found());
    };
    form.reason = form.reason.chars().take(2_000).collect();
    let engine = state.engine.clone();
    let by = AuditActor::of(&session.account);
    let now = Utc::now();
    let submitted = form.clone();
    let outcome = blocking(&state, Some(&session), move |store| {
        let result = engine
            .with_linked(|linked, _| {
                retention::decide_batch(
                    store,
                    linked,
                    &by,
                    id,
                    &submitted.decision,
                    &submitted.reason,
                    now,
                )
            })
            .map_err(record_view_error)?;
        // An approval erases at once what no legal hold covers.
        let result = match result {
            Ok(row) if row.event.decision == sightline_store::RETENTION_APPROVED => {
                retention::erase_approved_batch(&engine, store, &by, id, &row.event.reason, now)
                    .map(|_| row)
            }
            other => other,
        };
        match result {
            Ok(_) => Ok(Ok(())),
            Err(RetentionError::Store(error))
            | Err(RetentionError::Erasure(sightline_app::erasure::ErasureError::Store(error))) => {
                Err(error.to_string())
            }
            Err(refusal) => Ok(Err(refusal)),
        }
    })
    .await;
    match outcome {
        Ok(Ok(())) => Redirect::to(&format!("/privacy/retention/{id}")).into_response(),
        Ok(Err(RetentionError::UnknownBatch)) => {
            error_page(&state, Some(&session), ErrorPage::not_found())
        }
        Ok(Err(refusal)) => {
            let message = refusal.to_string();
            let mut chars = message.chars();
            let message = match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => message,
            };
            batch_page(
                state,
                session,
                batch_id,
                BatchQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                form,
            )
            .await
        }
        Err(response) => response,
    }
}
