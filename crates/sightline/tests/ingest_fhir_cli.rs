//! `sightline ingest` of FHIR R4 bundles (`.fhir.json`), the real binary, on
//! every backend: a bundle needs `--agency`; the ED attendance bundle stores
//! one record and raises the alerts its interchange twin raises; a malformed
//! bundle prints every problem at its FHIR path and stores nothing.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/fhir/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn sightline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("run sightline")
}

fn count(url: &str) -> u64 {
    sightline_store::open(url)
        .expect("open the store")
        .count_records()
        .expect("count")
}

/// The stored alerts without what names the records (ids, evidence, the
/// child's person id) or the wall clock (`updated_at`, `due_at`).
fn alerts(url: &str) -> Vec<Value> {
    let output = sightline(&["alerts", "--db", url, "--json"]);
    assert!(output.status.success(), "{output:?}");
    let mut alerts: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    for alert in &mut alerts {
        let alert = alert.as_object_mut().expect("object");
        for key in ["id", "evidence", "updated_at", "child", "due_at"] {
            alert.remove(key);
        }
    }
    alerts.sort_by_key(|alert| alert["rule"].to_string());
    alerts
}

#[test]
fn fhir_bundles_through_sightline_ingest() {
    for (by_hand, db) in sightline_testkit::all_databases()
        .into_iter()
        .zip(sightline_testkit::all_databases())
    {
        let bundle = fixture("ed-infant-injury.fhir.json");
        let output = sightline(&["ingest", "--db", &db.url, &bundle]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("needs --agency"), "{stderr}");
        assert_eq!(count(&db.url), 0);

        let output = sightline(&[
            "ingest",
            "--db",
            &by_hand.url,
            &fixture("ed-infant-injury.jsonl"),
        ]);
        assert!(output.status.success(), "{output:?}");
        let expected = alerts(&by_hand.url);
        assert!(
            !expected.is_empty(),
            "the interchange record raises an alert"
        );

        let output = sightline(&["ingest", "--db", &db.url, "--agency", "exmere-ed", &bundle]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{output:?}");
        assert!(
            stdout.starts_with("stored 1 record(s) from 1 file(s)"),
            "{stdout}"
        );
        assert_eq!(count(&db.url), 1);
        assert_eq!(alerts(&db.url), expected);

        let malformed = fixture("malformed.fhir.json");
        let output = sightline(&[
            "ingest",
            "--db",
            &db.url,
            "--agency",
            "exmere-ed",
            &malformed,
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let prefix = format!("{malformed}: ");
        let problems: Vec<&str> = stderr
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect();
        assert!(problems.len() > 3, "{stderr}");
        assert!(
            problems
                .iter()
                .all(|problem| problem.contains("Bundle.entry[")),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was stored"), "{stderr}");
        assert_eq!(count(&db.url), 1, "nothing more stored");
    }
}
