//! Issue #15, finding 12: names from records reached the operator's terminal
//! unfiltered. A record whose names carry an escape sequence (setting the
//! window title), a CSI and a right-to-left override is ingested; what
//! `persons`, `records` and `alerts` print holds none of them, and their
//! `--json` output is still JSON with the names intact.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

const HOSTILE: &[char] = &['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}'];

fn sightline(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn record_data_reaches_the_terminal_escaped() {
    let db = sightline_testkit::sqlite_database();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("hostile.jsonl");
    let record = serde_json::json!({
        "source": {"agency": "north-met-police", "record_id": "T-1"},
        "kind": "police.call_out",
        "occurred_at": "2007-06-01",
        "persons": [{"ref": "c", "role": "subject",
            "given_names": "Leo\u{1b}]0;owned\u{7}",
            "family_name": "Ma\u{9b}31mrsh\u{202e}kcatta\u{2066}",
            "dob": "2006-03-01"}],
        "narrative": "synthetic \u{1b}[2J note"
    });
    std::fs::write(&file, format!("{record}\n")).unwrap();
    let (ok, _, stderr) = sightline(&["ingest", file.to_str().unwrap(), "--db", &db.url]);
    assert!(ok, "{stderr}");
    for args in [
        vec!["persons"],
        vec!["persons", "--json"],
        vec!["records"],
        vec!["records", "--json"],
        vec!["alerts"],
    ] {
        let mut args = args.clone();
        args.extend(["--db", &db.url]);
        let (ok, stdout, stderr) = sightline(&args);
        assert!(ok, "{args:?}: {stderr}");
        for printed in [&stdout, &stderr] {
            assert!(
                !printed.contains(HOSTILE),
                "{args:?} printed a control character: {printed:?}"
            );
        }
        if args.contains(&"--json") {
            let value: serde_json::Value = serde_json::from_str(&stdout).expect("still JSON");
            if args[0] == "records" {
                // The record as received, decoded: the names are intact.
                assert!(
                    value
                        .to_string()
                        .contains("Ma\\u009b31mrsh\u{202e}kcatta\u{2066}")
                        || value
                            .to_string()
                            .contains("Ma\u{9b}31mrsh\u{202e}kcatta\u{2066}"),
                    "{value}"
                );
            }
        }
    }
    let (_, persons, _) = sightline(&["persons", "--db", &db.url]);
    assert!(persons.contains("Leo\\u001b]0;owned\\u0007"), "{persons}");
}
