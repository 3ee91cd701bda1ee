//! `/metrics` in the Prometheus text format (`metrics` facade, rendered by
//! `metrics-exporter-prometheus`), for the scraper holding the metrics token.
//!
//! Invariant: no label carries a child, person, record, alert or account id;
//! labels are route templates, status codes, agency ids, outcomes and
//! severities, all from small fixed sets.
//!
//! Invariant: without a configured metrics token `/metrics` answers 404 to
//! everyone, so per-agency counts never reach the public internet by default.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sightline_store::{AlertFilter, SEVERITIES, STATUS_DECIDED, STATUS_OPEN, Store};
use std::sync::OnceLock;
use std::time::Instant;

/// The token a Prometheus scraper sends (`Authorization: Bearer ...`) to read
/// `/metrics`. `Debug` leaves it out.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// At least 32 characters (a random token, as from `openssl rand -hex 32`);
    /// surrounding white space (a file's newline) is dropped.
    pub fn parse(text: &str) -> Result<MetricsToken, String> {
        let token = text.trim();
        if token.chars().count() < METRICS_TOKEN_CHARS_MIN {
            return Err(format!(
                "the metrics token must be at least {METRICS_TOKEN_CHARS_MIN} characters"
            ));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the metrics token must not contain white space".to_owned());
        }
        Ok(MetricsToken(token.to_owned()))
    }

    /// A new random token (256 bits, hex), as the demo prints.
    pub fn generate() -> MetricsToken {
        use rand::RngCore;
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        MetricsToken(hex::encode(random))
    }

    /// The secret, to show once (the demo prints its curl command).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    fn matches(&self, presented: &str) -> bool {
        let (expected, presented) = (self.0.as_bytes(), presented.as_bytes());
        expected.len() == presented.len()
            && expected
                .iter()
                .zip(presented)
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MetricsToken(..)")
    }
}

/// The shortest metrics token accepted.
pub const METRICS_TOKEN_CHARS_MIN: usize = 32;

/// Records beyond the engine's position counted for the lag gauge at most.
pub const ENGINE_LAG_RECORDS_MAX: u32 = 1_000;

/// Bucket bounds (seconds) of every `*_seconds` histogram.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed once; every server in the process (tests
/// start several) renders from the same handle. If some other recorder was
/// installed first, this one is built but not installed: `/metrics` then
/// renders, with nothing recorded.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&SECONDS_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows nothing");
        } else {
            describe();
        }
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "sightline_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP requests by route template (never the raw path), method and status"
    );
    describe_counter!(
        "sightline_intake_batches_total",
        "Intake batches (interchange and FHIR) by agency and outcome"
    );
    describe_counter!(
        "sightline_intake_records_total",
        "Records of accepted intake batches by agency and outcome (stored or duplicate)"
    );
    describe_histogram!(
        "sightline_intake_linkage_seconds",
        metrics::Unit::Seconds,
        "Time to store, link and evaluate one accepted intake batch (linkage runs inside it, in one transaction)"
    );
    describe_gauge!(
        "sightline_engine_load_seconds",
        metrics::Unit::Seconds,
        "Time the engine took at start to read and link the whole log"
    );
    describe_counter!(
        "sightline_alerts_raised_total",
        "Alerts ever raised, by severity (read from the store at each scrape)"
    );
    describe_gauge!(
        "sightline_alerts_decided",
        "Alerts decided (not reopened), by severity (read from the store at each scrape)"
    );
    describe_gauge!(
        "sightline_alerts_open",
        "Open alerts by severity (read from the store at each scrape)"
    );
    describe_gauge!(
        "sightline_alerts_overdue",
        "Open alerts past their due time, by severity (updated by the ticker)"
    );
    describe_gauge!(
        "sightline_engine_lag_records",
        "Records in the log that the engine has not read (counted up to 1000)"
    );
    describe_gauge!(
        "sightline_follower_lag_seconds",
        metrics::Unit::Seconds,
        "A follower: 0 when its engine holds the database's newest record, else an upper bound on how long the oldest record it has not applied has waited (updated every poll and at each /readyz)"
    );
    describe_gauge!(
        "sightline_follower_applied_seq",
        "A follower: the highest log seq its engine holds"
    );
    describe_gauge!(
        "sightline_audit_chain_entries",
        "Entries in the hash-chained audit log"
    );
}

/// The outcomes of an intake batch (the `outcome` label).
const BATCH_OUTCOMES: [&str; 6] = [
    "accepted",
    "rejected",
    "forbidden",
    "too_large",
    "busy",
    "failed",
];

/// Registers the intake series of every agency in the organisation at zero,
/// so a scrape shows them (and `increase()` works) before the first batch.
/// Adds nothing to a series that already counts.
pub(crate) fn register_intake_series(organisation: &sightline_core::org::Organisation) {
    for agency in organisation.agencies().filter(|agency| agency.named) {
        let agency = agency.id.as_str();
        for outcome in BATCH_OUTCOMES {
            intake_batch_add(agency, outcome, 0);
        }
        intake_records(agency, 0, 0);
    }
    // Registered (it renders with zero counts) before the first batch.
    let _registered = metrics::histogram!("sightline_intake_linkage_seconds");
}

/// Times every request, labelled with its route template.
pub(crate) async fn time_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        "sightline_http_request_duration_seconds",
        "route" => route,
        "method" => method,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// Counts one intake batch and, when accepted, its records.
pub(crate) fn intake_batch(agency: &str, outcome: &'static str) {
    intake_batch_add(agency, outcome, 1);
}

fn intake_batch_add(agency: &str, outcome: &'static str, n: u64) {
    metrics::counter!("sightline_intake_batches_total", "agency" => agency.to_owned(), "outcome" => outcome)
        .increment(n);
}

pub(crate) fn intake_records(agency: &str, stored: u64, duplicate: u64) {
    metrics::counter!("sightline_intake_records_total", "agency" => agency.to_owned(), "outcome" => "stored")
        .increment(stored);
    metrics::counter!("sightline_intake_records_total", "agency" => agency.to_owned(), "outcome" => "duplicate")
        .increment(duplicate);
}

pub(crate) fn intake_linkage(seconds: f64) {
    metrics::histogram!("sightline_intake_linkage_seconds").record(seconds);
}

pub(crate) fn engine_loaded(seconds: f64) {
    metrics::gauge!("sightline_engine_load_seconds").set(seconds);
}

/// The overdue gauge, by severity, as of `now_us` (the ticker calls this).
pub(crate) fn update_overdue(store: &dyn Store, now_us: i64) {
    let filter = AlertFilter {
        status: Some(STATUS_OPEN.to_owned()),
        overdue_at_us: Some(now_us),
        now_us: Some(now_us),
        ..AlertFilter::default()
    };
    match store.alerts().counts(&filter) {
        Ok(counts) => {
            for (severity, n) in SEVERITIES.iter().zip(counts.by_severity) {
                metrics::gauge!("sightline_alerts_overdue", "severity" => *severity).set(n as f64);
            }
        }
        Err(error) => tracing::error!(error = %error, "overdue alerts not counted"),
    }
}

/// The gauges read from the store and the engine at each scrape.
fn update_from_store(state: &AppState) -> Result<(), String> {
    let store = state.store.as_ref();
    for (status, name) in [
        (STATUS_OPEN, "sightline_alerts_open"),
        (STATUS_DECIDED, "sightline_alerts_decided"),
    ] {
        let filter = AlertFilter {
            status: Some(status.to_owned()),
            ..AlertFilter::default()
        };
        let counts = store
            .alerts()
            .counts(&filter)
            .map_err(|error| error.to_string())?;
        for (severity, n) in SEVERITIES.iter().zip(counts.by_severity) {
            metrics::gauge!(name, "severity" => *severity).set(n as f64);
        }
    }
    let all = store
        .alerts()
        .counts(&AlertFilter::default())
        .map_err(|error| error.to_string())?;
    for (severity, n) in SEVERITIES.iter().zip(all.by_severity) {
        metrics::counter!("sightline_alerts_raised_total", "severity" => *severity).absolute(n);
    }
    let audit_entries = store
        .audit()
        .audit_head()
        .map_err(|error| error.to_string())?
        .map_or(0, |(seq, _)| seq);
    metrics::gauge!("sightline_audit_chain_entries").set(audit_entries as f64);
    let engine_seq = state
        .engine
        .read(|engine| engine.last_seq())
        .map_err(|error| error.to_string())?;
    let unread = store
        .list_records(&sightline_store::RecordFilter {
            after_seq: Some(engine_seq.unwrap_or(0)),
            limit: ENGINE_LAG_RECORDS_MAX,
            ..sightline_store::RecordFilter::default()
        })
        .map_err(|error| error.to_string())?;
    metrics::gauge!("sightline_engine_lag_records").set(unread.len() as f64);
    Ok(())
}

/// `GET /metrics`: 404 unless a metrics token is configured, 401 without it.
pub(crate) async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.config.metrics_token.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !presented.is_some_and(|presented| token.matches(presented)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let handle = handle();
    let scraped = state.clone();
    match tokio::task::spawn_blocking(move || update_from_store(&scraped)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(error = %error, "metrics: store not read"),
        Err(error) => tracing::error!(error = %error, "metrics: task failed"),
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::MetricsToken;

    #[test]
    fn tokens_are_long_and_compared_whole() {
        assert!(MetricsToken::parse("short").is_err());
        assert!(MetricsToken::parse(&format!("{} x", "a".repeat(40))).is_err());
        let token = MetricsToken::parse(&format!("{}\n", "a".repeat(40))).unwrap_or_else(|e| {
            unreachable!("{e}");
        });
        assert!(token.matches(&"a".repeat(40)));
        assert!(!token.matches(&"a".repeat(39)));
        assert!(!token.matches(&format!("{}b", "a".repeat(39))));
        assert_eq!(format!("{token:?}"), "MetricsToken(..)");
    }
}
