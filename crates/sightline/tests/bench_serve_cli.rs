//! `sightline bench serve` end to end, as the real binary, on SQLite and
//! PostgreSQL: it makes a small region's database, starts the server as a
//! child process, creates accounts and tokens with the CLI, drives users and
//! feeds for a few seconds and reports every route with requests and no
//! errors; run again on the same database with a feed whose token the server
//! never issued, its refusals are counted as errors and the run exits 1.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;
use std::process::{Command, Output};

fn bench_serve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["bench", "serve"])
        .args(args)
        .env_remove("SIGHTLINE_ORG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn routes(report: &Value) -> Vec<(String, u64, u64)> {
    report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["route"].as_str().unwrap().to_owned(),
                row["count"].as_u64().unwrap(),
                row["errors"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn bench_serve_reports_every_route_and_counts_refusals_as_errors() {
    for test_db in sightline_testkit::all_databases() {
        let dir = tempfile::tempdir().unwrap();
        let work_dir = dir.path().join("work");
        let work = work_dir.to_str().unwrap();
        let json = dir.path().join("report.json");
        let common = [
            "--seconds",
            "3",
            "--users",
            "5",
            "--feeds",
            "2",
            "--think-ms",
            "10",
            "--feed-interval-ms",
            "300",
            "--big-child-records",
            "200",
            "--json",
            json.to_str().unwrap(),
        ];
        let mut args = vec!["--children", "30", "--db", &test_db.url, "--work-dir", work];
        args.extend(common);
        let output = bench_serve(&args);
        let stdout = text(&output.stdout);
        assert!(
            output.status.success(),
            "{:?}: {stdout}\n{}",
            test_db.backend,
            text(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let rows = routes(&report);
        assert_eq!(rows.len(), 16, "{rows:?}");
        for (route, count, errors) in &rows {
            assert!(
                *count > 0,
                "{:?}: no request to {route}: {stdout}",
                test_db.backend
            );
            assert_eq!(*errors, 0, "{:?}: {route}: {stdout}", test_db.backend);
            assert!(
                stdout.contains(&format!("| {route} | {count} | 0 |")),
                "{stdout}"
            );
        }
        assert_eq!(report["errors"], 0);
        assert_eq!(report["users"], 5);
        assert_eq!(report["feeds"], 2);
        let memory = &report["memory"];
        assert!(
            memory["samples_mb"].as_array().unwrap().len() >= 2
                && memory["max_mb"].as_f64().unwrap() > 10.0
                // The kernel folds threads' RSS counters into VmHWM lazily:
                // it may trail a VmRSS sample by a little.
                && memory["hwm_mb"].as_f64().unwrap() >= 0.9 * memory["max_mb"].as_f64().unwrap(),
            "{memory}"
        );
        assert!(
            report["big_child"]["mentions"].as_u64().unwrap() >= 200,
            "{}",
            report["big_child"]
        );

        // The same database again (as made by `bench ingest`: --db and the
        // region), one of the two feeds with a token the server never issued.
        let region = work_dir.join("region");
        let mut args = vec![
            "--db",
            &test_db.url,
            "--region",
            region.to_str().unwrap(),
            "--work-dir",
            work,
            "--invalid-token-feeds",
            "1",
        ];
        args.extend(common);
        let output = bench_serve(&args);
        let stdout = text(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{stdout}\n{}",
            text(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let intake = routes(&report)
            .into_iter()
            .find(|(route, _, _)| route.starts_with("POST /api/v1/records"))
            .unwrap();
        assert!(intake.2 > 0 && intake.2 < intake.1, "{intake:?}: {stdout}");
        assert_eq!(report["errors"].as_u64().unwrap(), intake.2, "{stdout}");
        assert!(stdout.contains("HTTP 401"), "{stdout}");
    }
}
