//! One writer, read-only followers (issue #16 item 3; ARCHITECTURE.md,
//! "Writer and followers").
//!
//! A follower (`sightline serve --follow`) loads the engine from the log as
//! the writer does, then polls the database every `poll_interval` and applies
//! what was appended since its last pass
//! ([`sightline_app::SharedEngine::follow`]): records, linkage decisions,
//! relationships, erasures. It evaluates rules in memory for the statutory
//! clocks only; alerts are the writer's, read from the database. It runs no
//! ticker (no escalation, no retention pass) and no audit checkpointer.
//!
//! Invariant: a follower never writes a record, an alert, a linkage decision
//! or an erasure. The requests that would ([`refused`]) answer 421 with where
//! to send them; the writes that depend only on the database (sessions, audit
//! entries of reads, alert decisions, break-glass...) it makes itself.
//!
//! Lag (`/readyz`, `sightline_follower_lag_seconds`): 0 when the engine holds
//! the database's head `seq`; otherwise an upper bound on how long the oldest
//! record it has not applied has been waiting: the smaller of the time since
//! the start of the last pass that reached the head it saw, and the age of
//! that record by its `received_at`.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// What this process is.
#[derive(Debug, Clone, Default)]
pub enum Role {
    /// Intake, rule evaluation, alert writes, the ticker (the only one).
    #[default]
    Writer,
    /// Read-only: follows the log, serves pages and the API.
    Follower(FollowerConfig),
}

/// A follower's settings.
#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// How often the log is polled for what the writer appended.
    pub poll_interval: Duration,
    /// The writer's public URL, named in refusals (optional).
    pub writer_url: Option<String>,
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            poll_interval: Duration::from_millis(200),
            writer_url: None,
        }
    }
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Follower(_) => "follower",
        }
    }

    pub fn is_follower(&self) -> bool {
        matches!(self, Role::Follower(_))
    }
}

/// When the follower last held everything committed (the start of its last
/// pass that reached the head it read first).
#[derive(Debug)]
pub struct FollowState {
    caught_up_at: Mutex<Option<Instant>>,
    /// The highest `seq` a follower's pages can show, set after each pass
    /// (so `/readyz` does not wait for a pass holding the engine's lock);
    /// on the writer, the last one `/readyz` read; -1 before either.
    applied: AtomicI64,
}

impl Default for FollowState {
    fn default() -> Self {
        FollowState {
            caught_up_at: Mutex::new(None),
            applied: AtomicI64::new(-1),
        }
    }
}

/// The follower's position against the database (`/readyz`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Lag {
    /// The highest log `seq` the engine holds (0: none).
    pub applied_seq: i64,
    /// The highest `seq` in the database (0: empty log).
    pub head_seq: i64,
    /// 0 when `applied_seq >= head_seq`, else an upper bound on how long the
    /// oldest unapplied record has been waiting, in seconds.
    pub lag_seconds: f64,
}

/// Reads the engine's and the database's positions (blocking). A follower's
/// applied `seq` is the one its last pass left (without waiting for a pass
/// in progress); the writer's is read from its engine when no intake holds
/// it, else the one read last (so `/readyz` does not wait for an intake).
pub fn lag(state: &AppState) -> Result<Lag, String> {
    let last = state.follow.applied.load(Ordering::Acquire);
    let applied_seq = if state.config.role.is_follower() && last >= 0 {
        last
    } else {
        match state.engine.try_last_seq() {
            Some(applied) => {
                let applied = applied.unwrap_or(0);
                if !state.config.role.is_follower() {
                    state.follow.applied.store(applied, Ordering::Release);
                }
                applied
            }
            None if last >= 0 => last,
            None => state
                .engine
                .read(|engine| engine.last_seq())
                .map_err(|error| error.to_string())?
                .unwrap_or(0),
        }
    };
    let head_seq = state
        .store
        .head_seq()
        .map_err(|error| error.to_string())?
        .unwrap_or(0);
    if applied_seq >= head_seq {
        return Ok(Lag {
            applied_seq,
            head_seq,
            lag_seconds: 0.0,
        });
    }
    let since_caught_up = state
        .follow
        .caught_up_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .map(|at| at.elapsed().as_secs_f64());
    let oldest = state
        .store
        .list_records(&sightline_store::RecordFilter {
            after_seq: Some(applied_seq),
            limit: 1,
            ..sightline_store::RecordFilter::default()
        })
        .map_err(|error| error.to_string())?;
    let waiting = oldest.first().map(|row| {
        let now_us = sightline_app::to_micros(chrono::Utc::now());
        (now_us - row.received_at_us).max(0) as f64 / 1e6
    });
    let lag_seconds = match (since_caught_up, waiting) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => 0.0,
    };
    Ok(Lag {
        applied_seq,
        head_seq,
        lag_seconds,
    })
}

/// `GET /readyz`: the role and, for both roles, the applied and head `seq`
/// and the lag. 503 when the database cannot be read.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let role = state.config.role.name();
    let read = state.clone();
    match tokio::task::spawn_blocking(move || lag(&read)).await {
        Ok(Ok(lag)) => {
            if state.config.role.is_follower() {
                metrics::gauge!("sightline_follower_lag_seconds").set(lag.lag_seconds);
            }
            axum::Json(serde_json::json!({
                "status": "ready",
                "role": role,
                "applied_seq": lag.applied_seq,
                "head_seq": lag.head_seq,
                "lag_seconds": lag.lag_seconds,
            }))
            .into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(error = %error, "readyz: database not read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "role": role})),
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(error = %error, "readyz: task failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Every `poll_interval`: one [`sightline_app::SharedEngine::follow`] pass,
/// then the lag gauge.
pub(crate) async fn run_follower(state: AppState, config: FollowerConfig) {
    let mut interval = tokio::time::interval(config.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        interval.tick().await;
        let pass_state = state.clone();
        let passed = tokio::task::spawn_blocking(move || -> Result<Lag, String> {
            let state = pass_state;
            let started = Instant::now();
            let head_before = state.store.head_seq().map_err(|error| error.to_string())?;
            let applied = state
                .engine
                .follow(state.store.as_ref(), chrono::Utc::now())
                .map_err(|error| error.to_string())?;
            let before = state.follow.applied.load(Ordering::Acquire);
            if applied.unwrap_or(0) != before {
                tracing::debug!(
                    applied_seq = applied.unwrap_or(0),
                    pass_ms = started.elapsed().as_millis() as u64,
                    "follower pass applied records"
                );
            }
            state
                .follow
                .applied
                .store(applied.unwrap_or(0), Ordering::Release);
            if applied >= head_before {
                *state
                    .follow
                    .caught_up_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(started);
            }
            lag(&state)
        })
        .await;
        match passed {
            Ok(Ok(lag)) => {
                metrics::gauge!("sightline_follower_lag_seconds").set(lag.lag_seconds);
                metrics::gauge!("sightline_follower_applied_seq").set(lag.applied_seq as f64);
                if failing {
                    tracing::info!(applied_seq = lag.applied_seq, "following the log again");
                    failing = false;
                }
            }
            Ok(Err(error)) => {
                if !failing {
                    tracing::error!(error = %error, "follower pass failed (retried every poll)");
                }
                failing = true;
            }
            Err(error) => tracing::error!(error = %error, "follower pass task failed"),
        }
    }
}

/// Whether a follower refuses this request: the writes that change the log
/// or the linkage (and so every engine's picture): intake (interchange and
/// FHIR), linkage decisions (API and web), retention approvals (they erase).
pub fn refused(method: &Method, path: &str) -> bool {
    if *method != Method::POST && *method != Method::PUT && *method != Method::PATCH {
        return false;
    }
    matches!(
        path,
        "/api/v1/records"
            | "/fhir/R4"
            | "/fhir/R4/"
            | "/api/v1/linkage/review"
            | "/linkage/review"
            | "/linkage/decisions/withdraw"
    ) || (path.starts_with("/privacy/retention/") && path.ends_with("/decision"))
}

/// On a follower: answers a [`refused`] request with 421 Misdirected Request
/// and where to send it (JSON for the API, an OperationOutcome for FHIR, a
/// page for the web UI), before anything reads its body.
pub(crate) async fn refuse_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Role::Follower(config) = &state.config.role else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    if !refused(request.method(), &path) {
        return next.run(request).await;
    }
    let to = match &config.writer_url {
        Some(url) => format!("the writer at {url}"),
        None => "the writer (this deployment's reverse proxy sends writes there)".to_owned(),
    };
    let message = format!(
        "this Sightline server is a read-only follower: it does not take intake, linkage decisions or retention approvals; send this request to {to} (docs/scaling.md)"
    );
    tracing::warn!(route = %path_kind(&path), "write refused on a follower");
    let error = ApiError::new(StatusCode::MISDIRECTED_REQUEST, "follower", message.clone());
    if path.starts_with("/api/") {
        error.into_response()
    } else if path.starts_with("/fhir/") {
        crate::fhir::error_outcome(error)
    } else {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sent to the wrong server - Sightline</title></head><body><main><h1>Sent to the wrong server</h1><p>{}</p></main></body></html>",
            html_escape(&message)
        );
        (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    }
}

/// The refused route's template for the log (never the raw path, which for
/// a retention decision holds a batch id only, but keep the rule).
fn path_kind(path: &str) -> &'static str {
    match path {
        "/api/v1/records" => "/api/v1/records",
        "/fhir/R4" | "/fhir/R4/" => "/fhir/R4",
        "/api/v1/linkage/review" => "/api/v1/linkage/review",
        "/linkage/review" => "/linkage/review",
        "/linkage/decisions/withdraw" => "/linkage/decisions/withdraw",
        _ => "/privacy/retention/{batch_id}/decision",
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_decisions_and_approvals_are_refused_reads_and_other_writes_are_not() {
        for path in [
            "/api/v1/records",
            "/fhir/R4",
            "/api/v1/linkage/review",
            "/linkage/review",
            "/linkage/decisions/withdraw",
            "/privacy/retention/7/decision",
        ] {
            assert!(refused(&Method::POST, path), "{path}");
            assert!(!refused(&Method::GET, path), "{path}");
        }
        for path in [
            "/login",
            "/logout",
            "/alerts/a-0123456789abcdef/decision",
            "/api/v1/alerts/a-0123456789abcdef/decision",
            "/children/p-0123456789abcdef/break-glass",
            "/records/st-annes-gp/R-1/restriction",
            "/privacy/holds",
        ] {
            assert!(!refused(&Method::POST, path), "{path}");
        }
    }
}
