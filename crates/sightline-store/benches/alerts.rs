//! Alert write and read rates: `upsert_alerts` inside write transactions (new
//! alerts, the same again, and re-raises that add evidence), then list pages.
//!
//! ```text
//! cargo bench -p sightline-store --bench alerts                       # SQLite in a temp dir
//! SIGHTLINE_BENCH_PG_URL=postgres://... cargo bench -p sightline-store --bench alerts
//! SIGHTLINE_BENCH_ALERTS=100000 cargo bench -p sightline-store --bench alerts
//! ```
//!
//! The PostgreSQL run needs an empty scratch database.

mod support;

use std::error::Error;
use std::time::Instant;

use sightline_store::{AlertFilter, AlertRow, AlertUpsert, EvidenceRow, SEVERITIES, Store};
use support::thread_cpu_seconds;

/// Alerts per write transaction, like the alerts of one intake batch.
const TX_ALERTS: usize = 500;
const HOUR_US: i64 = 3_600_000_000;

fn upserts(n_alerts: usize, run_tag: &str, evidence_version: i64) -> Vec<AlertUpsert> {
    (0..n_alerts)
        .map(|alert_idx| {
            let offset = i64::try_from(alert_idx).unwrap_or(i64::MAX);
            AlertUpsert {
                alert: AlertRow {
                    id: format!("a-{run_tag}-{alert_idx:016x}"),
                    child_id: format!("child-{}", alert_idx / 3),
                    person_id: None,
                    rule_id: format!("rule-{}", alert_idx % 20),
                    pack_name: "default".to_owned(),
                    pack_version: "1".to_owned(),
                    severity: SEVERITIES[alert_idx % 4].to_owned(),
                    title: "Synthetic benchmark alert".to_owned(),
                    explanation: "A synthetic rule matched two synthetic records.".to_owned(),
                    citation: "safeguarding-facts.md".to_owned(),
                    route: "allocated worker, else duty team".to_owned(),
                    routed_to: format!("team:agency-{}/duty", alert_idx % 8),
                    raised_at_us: offset * HOUR_US,
                    updated_at_us: 0,
                    due_at_us: offset * HOUR_US + 24 * HOUR_US,
                    status: "open".to_owned(),
                    escalation_level: 0,
                    decided_at_us: None,
                    assigned_to: None,
                },
                evidence: (0..2)
                    .map(|evidence_idx| EvidenceRow {
                        agency: format!("agency-{}", (alert_idx + evidence_idx) % 8),
                        record_id: format!("{run_tag}-{alert_idx}-{evidence_idx}"),
                        version: evidence_version,
                    })
                    .collect(),
            }
        })
        .collect()
}

fn write(
    label: &str,
    store: &dyn Store,
    upserts: &[AlertUpsert],
    at_us: i64,
) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let cpu_started = thread_cpu_seconds();
    for tx_slice in upserts.chunks(TX_ALERTS) {
        let mut tx = store.begin()?;
        tx.upsert_alerts(tx_slice, at_us)?;
        tx.commit()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds()
        .zip(cpu_started)
        .map_or_else(String::new, |(end, start)| {
            format!("; client thread CPU {:.3} s", end - start)
        });
    println!(
        "{label}: {} alerts in {seconds:.3} s = {:.0} alerts/s ({TX_ALERTS}-alert transactions){cpu}",
        upserts.len(),
        upserts.len() as f64 / seconds
    );
    Ok(())
}

fn run(backend: &str, store: &dyn Store, n_alerts: usize) -> Result<(), Box<dyn Error>> {
    let run_tag = format!("run{}", std::process::id());
    let new = upserts(n_alerts, &run_tag, 1);
    write(&format!("{backend}, new alerts"), store, &new, 1)?;
    write(
        &format!("{backend}, the same again (unchanged)"),
        store,
        &new,
        2,
    )?;
    let more = upserts(n_alerts, &run_tag, 2);
    write(
        &format!("{backend}, re-raised with new evidence"),
        store,
        &more,
        3,
    )?;

    let now_us = i64::try_from(n_alerts / 2).unwrap_or(0) * HOUR_US;
    let filter = AlertFilter {
        status: Some("open".to_owned()),
        now_us: Some(now_us),
        limit: 100,
        ..AlertFilter::default()
    };
    let n_pages = 50;
    let started = Instant::now();
    for _ in 0..n_pages {
        store.alerts().list(&filter)?;
    }
    let list_ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(n_pages);
    let started = Instant::now();
    let count = store.alerts().count(&filter)?;
    let count_ms = started.elapsed().as_secs_f64() * 1000.0;
    let child_filter = AlertFilter {
        child_id: Some("child-7".to_owned()),
        limit: 100,
        ..AlertFilter::default()
    };
    let started = Instant::now();
    for _ in 0..n_pages {
        store.alerts().list(&child_filter)?;
    }
    let child_ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(n_pages);
    println!(
        "{backend}: first page of 100 open alerts (overdue first) of {count}: {list_ms:.1} ms; \
         count {count_ms:.1} ms; one child's alerts {child_ms:.2} ms"
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let n_alerts: usize = std::env::var("SIGHTLINE_BENCH_ALERTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000);
    let directory =
        std::env::temp_dir().join(format!("sightline-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let sqlite_url = format!("sqlite://{}", directory.join("bench.db").display());
    let run_sqlite = || -> Result<(), Box<dyn Error>> {
        let store = sightline_store::open(&sqlite_url)?;
        run("sqlite", &*store, n_alerts)
    };
    let result = run_sqlite();
    let _ = std::fs::remove_dir_all(&directory);
    result?;

    if let Ok(url) = std::env::var("SIGHTLINE_BENCH_PG_URL") {
        let store = sightline_store::open(&url)?;
        run("postgres", &*store, n_alerts)?;
    } else {
        println!("postgres: skipped (set SIGHTLINE_BENCH_PG_URL to an empty scratch database)");
    }
    Ok(())
}
