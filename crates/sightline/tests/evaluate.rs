//! `sightline evaluate` end to end on a small synthetic region: synth -> ingest ->
//! evaluate, and the report is well-formed. No quality floors: the figures of a
//! region of a few hundred children say little; docs/evaluation.md has the real
//! measurements.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;
use std::process::Command;

fn sightline(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("sightline runs");
    assert!(
        output.status.success(),
        "sightline {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn share(value: &Value, path: &str) -> f64 {
    let number = value
        .pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} is not a number in {value:#}"));
    assert!((0.0..=1.0).contains(&number), "{path} = {number}");
    number
}

fn count(value: &Value, path: &str) -> u64 {
    value
        .pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} is not a count"))
}

#[test]
fn synth_ingest_evaluate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let region = dir.path().join("region");
    let region_arg = region.to_str().expect("utf-8 path");
    let db = format!("sqlite://{}", dir.path().join("eval.db").display());
    sightline(&[
        "synth",
        "--children",
        "300",
        "--seed",
        "3",
        "--out",
        region_arg,
    ]);
    let mut files: Vec<String> = std::fs::read_dir(&region)
        .expect("region")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut ingest = vec!["ingest", "--db", &db];
    ingest.extend(files.iter().map(String::as_str));
    sightline(&ingest);

    let report: Value = serde_json::from_str(&sightline(&[
        "evaluate", "--db", &db, "--truth", region_arg, "--json",
    ]))
    .expect("JSON report");

    // Linkage: every mention is known to the truth, and the numbers add up.
    let mentions = count(&report, "/linkage/mentions");
    assert!(mentions > 0);
    assert_eq!(count(&report, "/linkage/mentions_without_truth"), 0);
    for path in [
        "/linkage/pairs/precision",
        "/linkage/pairs/recall",
        "/linkage/pairs/f1",
        "/linkage/clusters/precision",
        "/linkage/clusters/recall",
        "/linkage/clusters/f1",
        "/linkage/false_merge_rate",
        "/linkage/split_rate",
    ] {
        share(&report, path);
    }
    let false_merges = count(&report, "/linkage/false_merges");
    let by_kind: u64 = report
        .pointer("/linkage/false_merges_by_kind")
        .and_then(Value::as_object)
        .expect("by kind")
        .values()
        .map(|value| value.as_u64().expect("count"))
        .sum();
    assert_eq!(by_kind, false_merges);
    assert!(count(&report, "/linkage/false_merges_household_look_alikes") <= false_merges);

    // Rules: shares in [0, 1], counts consistent, a rate per child-month.
    assert!(
        report
            .pointer("/rules/child_months")
            .and_then(Value::as_f64)
            .expect("child-months")
            > 0.0
    );
    let trajectories = count(&report, "/rules/overall/trajectories");
    assert_eq!(
        report
            .pointer("/rules/trajectories")
            .and_then(Value::as_array)
            .expect("list")
            .len() as u64,
        trajectories
    );
    for path in [
        "/rules/overall/share_alerted_any",
        "/rules/overall/share_any_within_14_days",
        "/rules/overall/share_alerted_high",
        "/rules/overall/share_within_14_days",
    ] {
        share(&report, path);
    }
    assert!(
        count(&report, "/rules/overall/alerted_high_within_14_days")
            <= count(&report, "/rules/overall/alerted_high")
    );
    let high = count(&report, "/rules/high_alerts");
    assert!(
        count(&report, "/rules/false_high_alerts")
            + count(&report, "/rules/high_alerts_on_trajectory_siblings")
            + count(&report, "/rules/high_alerts_on_adults")
            <= high
    );
    let rate = report
        .pointer("/rules/false_high_per_1000_child_months")
        .and_then(Value::as_f64)
        .expect("rate");
    assert!(rate >= 0.0);
    for (rule_id, row) in report
        .pointer("/rules/by_rule")
        .and_then(Value::as_object)
        .expect("by rule")
    {
        assert_eq!(
            row.pointer("/detection/trajectories")
                .and_then(Value::as_u64),
            Some(trajectories),
            "{rule_id}"
        );
        share(row, "/detection/share_alerted_high");
        share(row, "/detection/share_within_14_days");
    }

    // The table prints too.
    let table = sightline(&["evaluate", "--db", &db, "--truth", region_arg]);
    assert!(
        table.contains("LINKAGE") && table.contains("OVERALL"),
        "{table}"
    );
}

/// The tiny synthetic case of `sightline-app`'s tests (`t01-tiny`).
fn tiny_case_corpus() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sightline-app/tests/cases")
}

#[test]
fn evaluate_cases_reports_each_checkpoint_and_the_corpus() {
    let corpus = tiny_case_corpus();
    let corpus_arg = corpus.to_str().expect("utf-8 path");
    let report: Value =
        serde_json::from_str(&sightline(&["evaluate", "--cases", corpus_arg, "--json"]))
            .expect("JSON");
    assert_eq!(count(&report, "/overall/cases"), 1);
    assert_eq!(count(&report, "/overall/checkpoints"), 2);
    assert_eq!(count(&report, "/overall/checkpoints_met"), 1);
    let case = &report["cases"][0];
    assert_eq!(case["id"], "t01-tiny");
    assert_eq!(
        case["checkpoints"][0]["met_by"]["rule_id"],
        "injury_unexplained"
    );
    assert_eq!(case["checkpoints"][1]["met"], false);
    let text = sightline(&["evaluate", "--cases", corpus_arg]);
    assert!(text.contains("c1   by 2021-03-05  met"), "{text}");
    assert!(text.contains("c2   by 2021-06-01  MISSED"), "{text}");
    assert!(text.contains("checkpoints met     1/2 (50.0%)"), "{text}");
    // A replay has no accounts: its open alerts reach nobody, said once as a
    // summary line, and not as a warning per step on standard error.
    assert!(count(&report, "/cases/0/alerts_routed_to_nobody_peak") > 0);
    assert_eq!(count(&report, "/overall/cases_routed_to_nobody"), 1);
    assert_eq!(
        text.matches(
            "no accounts in a replay: in 1 case(s) open alerts had nobody to receive them"
        )
        .count(),
        1,
        "{text}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["evaluate", "--cases", corpus_arg])
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("sightline runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("no active account"), "{stderr}");
}

#[test]
fn evaluate_cases_names_the_file_and_line_of_a_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case_dir = dir.path().join("t01-tiny");
    std::fs::create_dir(&case_dir).expect("case dir");
    let source = tiny_case_corpus().join("t01-tiny");
    let toml = std::fs::read_to_string(source.join("case.toml")).expect("case.toml");
    std::fs::write(
        case_dir.join("case.toml"),
        toml.replace("by = \"2021-06-01\"", "by = \"1 June 2021\""),
    )
    .expect("write");
    std::fs::copy(source.join("records.jsonl"), case_dir.join("records.jsonl")).expect("copy");
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["evaluate", "--cases", dir.path().to_str().expect("utf-8")])
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("sightline runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}:33: checkpoint c2: by \"1 June 2021\" is not a date YYYY-MM-DD",
        case_dir.join("case.toml").display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}
