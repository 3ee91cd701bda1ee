//! Append throughput: synthetic records appended in large write transactions.
//!
//! ```text
//! cargo bench -p sightline-store --bench append                       # SQLite in a temp dir
//! SIGHTLINE_BENCH_PG_URL=postgres://... cargo bench -p sightline-store --bench append
//! SIGHTLINE_BENCH_RECORDS=500000 cargo bench -p sightline-store --bench append
//! ```
//!
//! Prints records per second for each backend. The PostgreSQL run needs an empty
//! scratch database (it appends to whatever it is given).

mod support;

use std::error::Error;
use std::time::Instant;

use sightline_store::{NewRecord, Store};
use support::thread_cpu_seconds;

/// Records per `append` call, like a large intake batch.
const BATCH_RECORDS: usize = 10_000;

fn synthetic_records(n_records: usize, run_tag: &str) -> Vec<NewRecord> {
    (0..n_records)
        .map(|record_idx| {
            let agency = format!("agency-{}", record_idx % 8);
            let record_id = format!("{run_tag}-{record_idx}");
            let occurred_start_us = 1_176_417_600_000_000 + (record_idx as i64) * 60_000_000;
            let mut content_hash = [0u8; 32];
            for (byte_idx, byte) in content_hash.iter_mut().enumerate() {
                *byte = (record_idx.wrapping_mul(31).wrapping_add(byte_idx) % 251) as u8;
            }
            NewRecord {
                body: format!(
                    "{{\"source\":{{\"agency\":\"{agency}\",\"record_id\":\"{record_id}\",\"version\":1}},\
                     \"kind\":\"police.call_out\",\"occurred_at\":\"2007-04-13\",\
                     \"persons\":[{{\"ref\":\"c\",\"role\":\"subject\",\"given_names\":\"Synthetic\",\
                     \"family_name\":\"Child{record_idx}\",\"dob\":\"2006-03-01\",\"sex\":\"unknown\"}}],\
                     \"narrative\":\"Synthetic benchmark record. Officers attended a welfare check \
                     and recorded that the child was seen and well; no further action.\"}}"
                ),
                agency,
                record_id,
                version: 1,
                kind: "police.call_out".to_owned(),
                occurred_at: "2007-04-13".to_owned(),
                occurred_start_us,
                recorded_at_us: occurred_start_us + 3_600_000_000,
                received_at_us: occurred_start_us + 7_200_000_000,
                content_hash,
            }
        })
        .collect()
}

/// Appends `records` in transactions of `tx_records` each (one `append` call per
/// [`BATCH_RECORDS`]) and prints the rates.
fn bench(
    label: &str,
    store: &dyn Store,
    records: &[NewRecord],
    tx_records: usize,
) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let cpu_started = thread_cpu_seconds();
    let mut commit_seconds = 0.0;
    for tx_slice in records.chunks(tx_records.max(1)) {
        let mut tx = store.begin()?;
        for batch in tx_slice.chunks(BATCH_RECORDS) {
            tx.append(batch)?;
        }
        let commit_started = Instant::now();
        tx.commit()?;
        commit_seconds += commit_started.elapsed().as_secs_f64();
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds()
        .zip(cpu_started)
        .map(|(end, start)| end - start);
    let body_bytes: usize = records.iter().map(|record| record.body.len()).sum();
    println!(
        "{label}: appended {} records ({} body bytes each on average) in {seconds:.3} s = {:.0} records/s",
        records.len(),
        body_bytes / records.len().max(1),
        records.len() as f64 / seconds
    );
    println!("{label}: of which commits (fsync, checkpoint) {commit_seconds:.3} s");
    if let Some(cpu_seconds) = cpu_seconds {
        println!(
            "{label}: client thread CPU {cpu_seconds:.3} s = {:.0} records per CPU second",
            records.len() as f64 / cpu_seconds
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let n_records: usize = std::env::var("SIGHTLINE_BENCH_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200_000);
    let run_tag = format!("run{}", std::process::id());
    let records = synthetic_records(n_records, &run_tag);

    let directory = std::env::temp_dir().join(format!("sightline-bench-{run_tag}"));
    std::fs::create_dir_all(&directory)?;
    let sqlite_url = format!("sqlite://{}", directory.join("bench.db").display());
    let run_sqlite = || -> Result<(), Box<dyn Error>> {
        let store = sightline_store::open(&sqlite_url)?;
        bench(
            "sqlite, one transaction, empty log",
            &*store,
            &records,
            n_records,
        )?;
        // As many again onto a log that already holds them, in intake-sized transactions.
        let more = synthetic_records(n_records, &format!("{run_tag}b"));
        bench(
            "sqlite, 10,000-record transactions",
            &*store,
            &more,
            BATCH_RECORDS,
        )
    };
    let result = run_sqlite();
    let _ = std::fs::remove_dir_all(&directory);
    result?;

    if let Ok(url) = std::env::var("SIGHTLINE_BENCH_PG_URL") {
        let store = sightline_store::open(&url)?;
        bench(
            "postgres, 10,000-record transactions",
            &*store,
            &records,
            BATCH_RECORDS,
        )?;
    } else {
        println!("postgres: skipped (set SIGHTLINE_BENCH_PG_URL to an empty scratch database)");
    }
    Ok(())
}
