//! `sightline retention due` on a synthetic region, on each backend: counts
//! per rule of the default schedule (nothing due before the children were
//! born, social care due once they are past 25), a legal hold placed through
//! the command line blocks its person's records (and lists them) until it is
//! released, and a schedule file replaces the defaults (issue #18 item 2,
//! listing only).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
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

/// `(records, due, blocked, no date)` by rule name, and the held lines.
fn due_table(stdout: &str) -> (BTreeMap<String, [usize; 4]>, Vec<String>) {
    let mut rows = BTreeMap::new();
    let mut held = Vec::new();
    for line in stdout.lines().skip(2) {
        if line.starts_with("on legal hold: ") {
            held.push(line.to_owned());
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() == 5 {
            let number = |text: &str| {
                text.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            };
            rows.insert(
                fields[0].to_owned(),
                [
                    number(fields[1]),
                    number(fields[2]),
                    number(fields[3]),
                    number(fields[4]),
                ],
            );
        }
    }
    (rows, held)
}

const SOCIAL_CARE: &str = "social care: to the child's 25th birthday";

#[test]
fn retention_due_counts_per_rule_and_a_legal_hold_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let region = dir.path().join("region");
    sightline(&[
        "synth",
        "--children",
        "80",
        "--seed",
        "5",
        "--out",
        region.to_str().unwrap(),
    ]);
    let org = region.join("organisation.toml");
    let org = org.to_str().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&region)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    let schedule = dir.path().join("schedule.toml");
    std::fs::write(
        &schedule,
        "[[rule]]\nname = \"social care only\"\nagency_type = \"social_care\"\nkinds = \"social_care.\"\nkeep_until = \"birthday:30\"\n",
    )
    .unwrap();

    for test_db in sightline_testkit::all_databases() {
        let db = test_db.url.clone();
        let mut ingest = vec!["ingest", "--db", &db];
        ingest.extend(files.iter().map(String::as_str));
        sightline(&ingest);
        let due = |as_of: &str| {
            due_table(&sightline(&[
                "retention",
                "due",
                "--db",
                &db,
                "--org",
                org,
                "--as-of",
                as_of,
            ]))
        };

        // Before anyone was born nothing is due; in 2100 every social care
        // record with a child subject is.
        let (early, _) = due("1990-01-01");
        assert!(
            early.values().all(|row| row[1] == 0 && row[2] == 0),
            "{early:?}"
        );
        let (late, held) = due("2100-01-01");
        assert!(held.is_empty());
        let social = late[SOCIAL_CARE];
        assert!(social[0] > 0 && social[1] > 0, "{late:?}");
        assert_eq!(social[0], social[1] + social[3], "{late:?}");

        // A hold on a child known to social care blocks its records.
        let persons = sightline(&["persons", "--db", &db]);
        let child = persons
            .lines()
            .filter(|line| line.contains("social-care"))
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let dob = fields
                    .iter()
                    .find(|field| field.len() == 10 && field.starts_with("20"))?;
                (dob.as_bytes()[4] == b'-').then(|| fields[0].to_owned())
            })
            .next()
            .expect("a child known to social care");
        sightline(&[
            "hold",
            "place",
            "--db",
            &db,
            "--child",
            &child,
            "--reason",
            "Held for the child safeguarding practice review of this family.",
        ]);
        let (held_rows, held) = due("2100-01-01");
        let blocked: usize = held_rows.values().map(|row| row[2]).sum();
        assert!(held_rows[SOCIAL_CARE][2] > 0, "{held_rows:?}");
        assert_eq!(
            held_rows[SOCIAL_CARE][1] + held_rows[SOCIAL_CARE][2],
            social[1],
            "blocked records are not due"
        );
        assert_eq!(
            held,
            vec![format!("on legal hold: {child} blocks {blocked} records")]
        );
        sightline(&[
            "hold",
            "release",
            "--db",
            &db,
            "--child",
            &child,
            "--reason",
            "The review has reported and the panel has closed its file.",
        ]);
        let (released, held) = due("2100-01-01");
        assert!(held.is_empty());
        assert_eq!(released[SOCIAL_CARE], social);

        // A schedule file replaces the defaults.
        let stdout = sightline(&[
            "retention",
            "due",
            "--db",
            &db,
            "--org",
            org,
            "--as-of",
            "2100-01-01",
            "--schedule",
            schedule.to_str().unwrap(),
        ]);
        let (own, _) = due_table(&stdout);
        assert_eq!(own.keys().collect::<Vec<_>>(), vec!["social care only"]);
        assert_eq!(own["social care only"][0], social[0]);
        assert!(stdout.contains("nothing is deleted"));

        // `retention run` (cron's daily pass) writes the batch of the day once.
        let run = |as_of: &str| {
            sightline(&[
                "retention",
                "run",
                "--db",
                &db,
                "--org",
                org,
                "--as-of",
                as_of,
            ])
        };
        assert!(run("1990-01-01").contains("nothing newly due"));
        let first = run("2100-01-01");
        let due_records: usize = late.values().map(|row| row[1]).sum();
        assert!(
            first.starts_with(&format!(
                "retention batch 1 of 2100-01-01: {due_records} records due, 0 blocked by legal hold"
            )),
            "{first}"
        );
        assert!(run("2100-01-01").contains("was already written"));
        // The next day, the records of the pending batch are not batched again.
        let next = run("2100-01-02");
        assert!(
            next.contains(&format!(
                "({due_records} due already in a batch pending or approved): no batch written"
            )),
            "{next}"
        );
    }
}
