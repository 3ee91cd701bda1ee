//! `sightline erase` end to end on a synthetic region (issue #18 item 3), on
//! each backend: an adult linked exactly as the ground truth is erased; a
//! legal hold refuses it first; afterwards `audit verify` passes, and none of
//! the adult's own values (names, dates of birth, NHS number, postcode,
//! address lines, the agencies' person ids: those no other person in the
//! region has) is in the log as read back, the linked persons, the subject
//! access bundle or the exports. On SQLite, a byte scan of every file in the
//! database directory (database, WAL, shared memory) and of a backup made
//! afterwards finds none of them either. On PostgreSQL the erased key rows
//! are gone from `data_keys`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

const REASON: &str = "Erasure request ER-2026-14 from the data subject, approved by the DPO.";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("sightline runs")
}

fn sightline(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "sightline {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// The identifying values of one interchange person, as sent.
fn values_of(person: &Value) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    let mut add = |value: &Value| {
        if let Some(text) = value.as_str().filter(|text| !text.trim().is_empty()) {
            values.insert(text.to_owned());
        }
    };
    for field in [
        "given_names",
        "family_name",
        "dob",
        "expected_dob",
        "source_person_id",
    ] {
        add(&person[field]);
    }
    for alias in person["aliases"].as_array().into_iter().flatten() {
        add(alias);
    }
    add(&person["address"]["postcode"]);
    for line in person["address"]["lines"].as_array().into_iter().flatten() {
        add(line);
    }
    if let Some(nhs) = person["nhs_number"].as_str() {
        values.insert(nhs.to_owned());
        values.insert(nhs.chars().filter(char::is_ascii_digit).collect());
    }
    values
}

/// Whether a value can be searched for in raw database bytes without
/// matching base64 ciphertext by chance: it holds a character base64 never
/// writes (space, hyphen), or it is long.
fn scannable(value: &str) -> bool {
    value.contains([' ', '-']) || value.len() >= 8
}

/// The values of `needles` found in `haystack`, case-insensitively.
fn found_in(haystack: &[u8], needles: &BTreeSet<String>) -> Vec<String> {
    let haystack = haystack.to_ascii_lowercase();
    needles
        .iter()
        .filter(|needle| {
            let needle = needle.to_ascii_lowercase();
            haystack
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .cloned()
        .collect()
}

/// Whether `needle` occurs in `text` as a whole word.
fn has_word(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + needle.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

fn words_found(text: &str, values: &BTreeSet<String>) -> Vec<String> {
    values
        .iter()
        .filter(|value| has_word(text, value))
        .cloned()
        .collect()
}

/// Every file under `dir`, read whole.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push((
                path.display().to_string(),
                std::fs::read(&path).expect("file"),
            ));
        }
    }
    files
}

#[test]
fn erasing_an_adult_leaves_none_of_their_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let region = dir.path().join("region");
    sightline(&[
        "synth",
        "--children",
        "150",
        "--seed",
        "7",
        "--out",
        region.to_str().unwrap(),
    ]);
    let org = region.join("organisation.toml");
    let org = org.to_str().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&region)
        .expect("region")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    let region_records: Vec<Value> = files
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file)
                .expect("region file")
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).expect("record"))
                .collect::<Vec<_>>()
        })
        .collect();

    // The ground truth: who each mention is.
    let truth = common::RegionTruth::read(&region);

    for test_db in sightline_testkit::all_databases() {
        let db = test_db.url.clone();
        let work = tempfile::tempdir().expect("temp dir");
        let mut ingest = vec!["ingest", "--db", &db];
        ingest.extend(files.iter().map(String::as_str));
        sightline(&ingest);

        // An adult linked exactly as the truth, with the most records, whose
        // own values include a scannable one no other person has.
        let persons: Value =
            serde_json::from_str(&sightline(&["persons", "--db", &db, "--json"])).expect("persons");
        let mut chosen: Option<(String, BTreeSet<String>, usize)> = None;
        for adult in truth.exact_adults(&persons) {
            let common::ExactAdult {
                person_id,
                true_id,
                records,
            } = adult;
            // Their values and everyone else's, over the whole region.
            let mut own = BTreeSet::new();
            let mut others = BTreeSet::new();
            for record in &region_records {
                let agency = record["source"]["agency"].as_str().unwrap();
                let record_id = record["source"]["record_id"].as_str().unwrap();
                for person in record["persons"].as_array().into_iter().flatten() {
                    let key = (
                        agency.to_owned(),
                        record_id.to_owned(),
                        person["ref"].as_str().unwrap().to_owned(),
                    );
                    if truth.person_of.get(&key) == Some(&true_id) {
                        own.extend(values_of(person));
                    } else {
                        others.extend(values_of(person));
                    }
                }
            }
            let others_lower: BTreeSet<String> =
                others.iter().map(|value| value.to_lowercase()).collect();
            let unique: BTreeSet<String> = own
                .into_iter()
                .filter(|value| !others_lower.contains(&value.to_lowercase()))
                .collect();
            if !unique.iter().any(|value| scannable(value)) {
                continue;
            }
            if chosen.as_ref().is_none_or(|(_, _, n)| records.len() > *n) {
                chosen = Some((person_id, unique, records.len()));
            }
        }
        let (person_id, unique, n_records) = chosen.expect("an adult linked exactly as the truth");
        assert!(n_records >= 2, "the adult has {n_records} records");
        let scanned: BTreeSet<String> = unique
            .iter()
            .filter(|value| scannable(value))
            .cloned()
            .collect();

        // Before: the log as read back holds them (so the checks below can
        // fail), and the database files never held them in clear.
        let records_before = sightline(&["records", "--db", &db, "--json", "--limit", "0"]);
        assert!(
            !words_found(&records_before, &unique).is_empty(),
            "the adult's values are in the log before: {unique:?}"
        );
        let sqlite_dir = db
            .strip_prefix("sqlite://")
            .map(|path| Path::new(path).parent().unwrap().to_path_buf());
        if let Some(sqlite_dir) = &sqlite_dir {
            for (file, bytes) in files_under(sqlite_dir) {
                let found = found_in(&bytes, &scanned);
                assert!(
                    found.is_empty(),
                    "{file} holds {found:?} in clear before erasure"
                );
            }
        }

        // Every key as it was, to look for the erased ones' bytes afterwards.
        let keys_before: BTreeMap<i64, Vec<u8>> = match db.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .expect("open")
                .prepare("SELECT key_id, key_bytes FROM data_keys")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            None => BTreeMap::new(),
        };

        // A legal hold on the adult refuses the erasure, whole.
        sightline(&[
            "hold",
            "place",
            "--db",
            &db,
            "--person",
            &person_id,
            "--reason",
            "Care proceedings under way: keep everything about this person.",
        ]);
        let refused = run(&[
            "erase", "--db", &db, "--person", &person_id, "--reason", REASON,
        ]);
        assert!(!refused.status.success(), "erasure under a hold");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("legal hold"),
            "{refused:?}"
        );
        assert!(
            !words_found(
                &sightline(&["records", "--db", &db, "--json", "--limit", "0"]),
                &unique
            )
            .is_empty(),
            "nothing was erased under the hold"
        );
        sightline(&[
            "hold",
            "release",
            "--db",
            &db,
            "--person",
            &person_id,
            "--reason",
            "Proceedings concluded; the hold is no longer needed.",
        ]);

        let said = sightline(&[
            "erase", "--db", &db, "--person", &person_id, "--reason", REASON,
        ]);
        assert!(said.starts_with("erasure 1: "), "{said}");
        assert!(!said.contains(" 0 keys"), "{said}");
        assert!(said.contains("compacted"), "{said}");
        let verified = sightline(&["audit", "verify", "--db", &db]);
        assert!(verified.contains("intact"), "{verified}");

        // Gone from the log as read back, linkage, a subject access bundle
        // and the exports.
        let records_after = sightline(&["records", "--db", &db, "--json", "--limit", "0"]);
        assert_eq!(words_found(&records_after, &unique), Vec::<String>::new());
        assert!(
            records_after.contains("\"erased:1\""),
            "the erased mentions read back as erased"
        );
        let persons_after = sightline(&["persons", "--db", &db, "--json"]);
        assert_eq!(words_found(&persons_after, &unique), Vec::<String>::new());
        for kind in ["ssd", "dfe-api", "cin-census"] {
            let out = work.path().join(kind);
            sightline(&[
                "export",
                kind,
                "--db",
                &db,
                "--org",
                org,
                "--la",
                "999",
                "--from",
                "2000-01-01",
                "--to",
                "2030-12-31",
                "--out",
                out.to_str().unwrap(),
                "--reason",
                "Checking that an erased person is in no export.",
            ]);
            for (file, bytes) in files_under(&out) {
                let found = words_found(&String::from_utf8_lossy(&bytes), &unique);
                assert!(found.is_empty(), "{file} holds {found:?}");
            }
        }
        if let Some(sqlite_dir) = &sqlite_dir {
            // Every file of the database directory, and a backup made now.
            let backup = work.path().join("after.db");
            sightline(&["backup", "--db", &db, "--out", backup.to_str().unwrap()]);
            let mut scanned_files = files_under(sqlite_dir);
            scanned_files.push((
                backup.display().to_string(),
                std::fs::read(&backup).expect("backup"),
            ));
            let erased_ids: Vec<i64> =
                rusqlite::Connection::open(db.strip_prefix("sqlite://").unwrap())
                    .expect("open")
                    .prepare("SELECT key_id FROM erased_keys")
                    .unwrap()
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
            assert!(!erased_ids.is_empty());
            for (file, bytes) in scanned_files {
                let found = found_in(&bytes, &scanned);
                assert!(found.is_empty(), "{file} holds {found:?} after erasure");
                // No copy of a destroyed key in any page or frame.
                for key_id in &erased_ids {
                    let key = &keys_before[key_id];
                    assert!(
                        !bytes
                            .windows(key.len())
                            .any(|window| window == key.as_slice()),
                        "{file} still holds destroyed key {key_id}"
                    );
                }
            }
        } else {
            let mut client = postgres::Client::connect(&db, postgres::NoTls).expect("connect");
            let erased: Vec<i64> = client
                .query("SELECT key_id FROM erased_keys", &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            assert!(!erased.is_empty());
            let left: i64 = client
                .query_one(
                    "SELECT count(*) FROM data_keys WHERE key_id = ANY($1)",
                    &[&erased],
                )
                .unwrap()
                .get(0);
            assert_eq!(left, 0, "erased key rows are gone");
        }
    }
}
