//! The interchange conformance fixtures (`tests/fixtures/interchange/`) through
//! `sightline ingest`, the real binary, on every backend: a valid file exits 0
//! and reports its record count; an invalid one exits 1, prints exactly the
//! problems the parser's conformance test expects (as `FILE: position: path:
//! message`) and stores nothing.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_testkit::interchange_fixtures::{self, Fixture, without_receipt_time};
use std::collections::BTreeSet;
use std::process::Command;

fn count(url: &str) -> u64 {
    sightline_store::open(url)
        .expect("open the store")
        .count_records()
        .expect("count")
}

/// The distinct `(agency, record_id, version)` of the valid fixtures: what the
/// log must hold once they are all ingested, whatever the order.
fn distinct_versions(fixtures: &[Fixture]) -> usize {
    let mut keys = BTreeSet::new();
    for fixture in fixtures.iter().filter(|fixture| fixture.is_valid()) {
        let format = Format::from_file_name(&fixture.name).expect("a known extension");
        let records = parse_batch(
            &fixture.bytes,
            format,
            chrono::Utc::now(),
            &Limits::default(),
        )
        .expect("a valid fixture");
        for parsed in records {
            let source = parsed.record.source;
            keys.insert((source.agency, source.record_id, source.version));
        }
    }
    keys.len()
}

#[test]
fn every_fixture_gets_its_answer_from_sightline_ingest() {
    for db in sightline_testkit::all_databases() {
        let mut failures = Vec::new();
        for fixture in interchange_fixtures::all() {
            let before = count(&db.url);
            let path = fixture.path.display().to_string();
            let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
                .args(["ingest", "--db", &db.url, &path])
                .output()
                .expect("run sightline ingest");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if fixture.is_valid() {
                let n_records = fixture.expected[0].trim_start_matches("ok ");
                if !output.status.success()
                    || !stdout.starts_with(&format!("stored {n_records} record(s) from 1 file(s)"))
                {
                    failures.push(format!(
                        "{}: {}\n{stdout}{stderr}",
                        fixture.name, output.status
                    ));
                }
                continue;
            }
            let prefix = format!("{path}: ");
            let problems: Vec<String> = stderr
                .lines()
                .filter_map(|line| line.strip_prefix(&prefix))
                .map(without_receipt_time)
                .collect();
            let summary = format!(
                "rejected: {} problem(s); nothing was stored",
                fixture.expected.len()
            );
            if output.status.code() != Some(1)
                || problems != fixture.expected
                || !stderr.contains(&summary)
            {
                failures.push(format!(
                    "{}: {}\n  expected:\n    {}\n  actual:\n{stderr}",
                    fixture.name,
                    output.status,
                    fixture.expected.join("\n    "),
                ));
            }
            assert_eq!(count(&db.url), before, "{}: nothing stored", fixture.name);
        }
        assert!(
            failures.is_empty(),
            "{:?}: {}",
            db.backend,
            failures.join("\n\n")
        );
        let fixtures = interchange_fixtures::all();
        assert_eq!(
            count(&db.url) as usize,
            distinct_versions(&fixtures),
            "every distinct version of the valid fixtures stored once"
        );
    }
}

#[test]
fn the_files_of_one_ingest_are_one_batch() {
    for db in sightline_testkit::all_databases() {
        let directory = interchange_fixtures::directory();
        let valid = directory.join("spec-example.jsonl").display().to_string();
        let invalid = directory.join("spec-errors.jsonl").display().to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args(["ingest", "--db", &db.url, &valid, &invalid])
            .output()
            .expect("run sightline ingest");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{invalid}: line 3: persons[0].dob:")),
            "{stderr}"
        );
        assert_eq!(count(&db.url), 0, "the valid file is not stored either");
    }
}
