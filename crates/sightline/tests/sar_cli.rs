//! `sightline sar` end to end on a synthetic region: synth -> ingest -> sar for
//! an adult, checked against the region's ground truth: the bundle holds every
//! record that mentions them and no other person's name, date of birth, NHS
//! number or postcode; the request is audited; stdout holds no personal data.
//! On each backend.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const REASON: &str = "Subject access request SAR-2026-001 received by letter on 1 December.";

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

/// Whether `needle` occurs in `text` as a whole word (case as given).
fn has_word(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + needle.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// A person's identifying values as sent: `(names, dobs, nhs numbers, postcodes)`.
#[derive(Default)]
struct Values {
    names: BTreeSet<String>,
    dobs: BTreeSet<String>,
    nhs_numbers: BTreeSet<String>,
    postcodes: BTreeSet<String>,
}

impl Values {
    fn add(&mut self, person: &Value) {
        for field in ["given_names", "family_name"] {
            if let Some(name) = person[field].as_str() {
                self.names.extend(
                    name.split(|c: char| c.is_whitespace() || c == '-')
                        .filter(|word| word.chars().count() >= 2)
                        .map(str::to_owned),
                );
            }
        }
        if let Some(dob) = person["dob"].as_str() {
            self.dobs.insert(dob.to_owned());
        }
        if let Some(nhs) = person["nhs_number"].as_str() {
            self.nhs_numbers.insert(nhs.to_owned());
            self.nhs_numbers
                .insert(nhs.chars().filter(char::is_ascii_digit).collect());
        }
        if let Some(postcode) = person["address"]["postcode"].as_str() {
            self.postcodes.insert(postcode.to_owned());
        }
    }
}

fn lower(values: &BTreeSet<String>) -> BTreeSet<String> {
    values.iter().map(|value| value.to_lowercase()).collect()
}

#[test]
fn sar_for_an_adult_holds_every_record_and_no_third_party() {
    let dir = tempfile::tempdir().expect("temp dir");
    let region = dir.path().join("region");
    let region_arg = region.to_str().expect("utf-8 path");
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
    for test_db in sightline_testkit::all_databases() {
        let db = test_db.url.clone();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ingest = vec!["ingest", "--db", &db];
        ingest.extend(files.iter().map(String::as_str));
        sightline(&ingest);

        // The ground truth: who each mention is.
        let truth = common::RegionTruth::read(&region);

        // An adult whom linkage holds exactly as the truth does (a false merge or
        // a split would be linkage's error, measured by `sightline evaluate`), with
        // the most records.
        let persons: Value =
            serde_json::from_str(&sightline(&["persons", "--db", &db, "--json"])).expect("persons");
        let chosen = truth
            .exact_adults(&persons)
            .into_iter()
            .rev() // the first of those with the most records
            .max_by_key(|adult| adult.records.len())
            .map(|adult| (adult.person_id, adult.true_id, adult.records.len()));
        let (person_id, true_id, n_records) = chosen.expect("an adult linked exactly as the truth");
        assert!(n_records >= 5, "the adult has {n_records} records");

        let out = dir.path().join("sar");
        let stdout = sightline(&[
            "sar",
            "--db",
            &db,
            "--person",
            &person_id,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            REASON,
        ]);
        let json_text = std::fs::read_to_string(out.join("sar.json")).expect("sar.json");
        let html = std::fs::read_to_string(out.join("sar.html")).expect("sar.html");
        let bundle: Value = serde_json::from_str(&json_text).expect("JSON bundle");

        // Every record that mentions them, and no other.
        let bundle_records: BTreeSet<(String, String)> = bundle["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|record| {
                (
                    record["agency"].as_str().unwrap().to_owned(),
                    record["record_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(Some(&bundle_records), truth.records_of.get(&true_id));

        // The values of the subject and of everyone else in those records, as the
        // agencies sent them.
        let mut subject = Values::default();
        let mut others = Values::default();
        for file in &files {
            for line in std::fs::read_to_string(file).expect("region file").lines() {
                let record: Value = serde_json::from_str(line).expect("record");
                let agency = record["source"]["agency"].as_str().unwrap().to_owned();
                let record_id = record["source"]["record_id"].as_str().unwrap().to_owned();
                if !bundle_records.contains(&(agency.clone(), record_id.clone())) {
                    continue;
                }
                for person in record["persons"].as_array().expect("persons") {
                    let key = (
                        agency.clone(),
                        record_id.clone(),
                        person["ref"].as_str().unwrap().to_owned(),
                    );
                    if truth.person_of.get(&key) == Some(&true_id) {
                        subject.add(person);
                    } else {
                        others.add(person);
                    }
                }
            }
        }
        // A value the subject shares (a household's family name or postcode) is
        // theirs as well.
        let shared_names = lower(&subject.names);
        let third_names: BTreeSet<&String> = others
            .names
            .iter()
            .filter(|name| !shared_names.contains(&name.to_lowercase()))
            .collect();
        assert!(!third_names.is_empty(), "the adult's records name others");
        for name in &third_names {
            assert!(
                !has_word(&json_text, name),
                "third party name {name} in sar.json"
            );
            assert!(
                !has_word(&html, name),
                "third party name {name} in sar.html"
            );
        }
        for nhs in others.nhs_numbers.difference(&subject.nhs_numbers) {
            assert!(
                !json_text.contains(nhs.as_str()),
                "third party NHS number in sar.json"
            );
            assert!(
                !html.contains(nhs.as_str()),
                "third party NHS number in sar.html"
            );
        }
        let shared_postcodes = lower(&subject.postcodes);
        for postcode in &others.postcodes {
            if shared_postcodes.contains(&postcode.to_lowercase()) {
                continue;
            }
            assert!(
                !json_text.contains(postcode.as_str()),
                "third party postcode {postcode} in sar.json"
            );
            assert!(
                !html.contains(postcode.as_str()),
                "third party postcode {postcode} in sar.html"
            );
        }
        // Dates of birth: in the records' contents (a record's own dates may fall
        // on someone's birthday: a birth is recorded on the day) and in the page.
        for record in bundle["records"].as_array().unwrap() {
            let mut body = record["body"].clone();
            let fields = body.as_object_mut().unwrap();
            for field in ["occurred_at", "recorded_at", "source"] {
                fields.remove(field);
            }
            let text = body.to_string();
            for dob in others.dobs.difference(&subject.dobs) {
                assert!(
                    !has_word(&text, dob),
                    "third party date of birth in a record"
                );
            }
        }
        for dob in others.dobs.difference(&subject.dobs) {
            assert!(
                !has_word(&html, dob),
                "third party date of birth in sar.html"
            );
        }
        // The subject's own data is there.
        let own = subject.names.iter().next().expect("the subject has a name");
        assert!(has_word(&json_text, own) && has_word(&html, own));
        assert!(json_text.contains("[redacted: third party]"));

        // The page: no scripts, headings, captioned tables, print CSS.
        assert!(!html.to_lowercase().contains("<script"));
        for needle in [
            "<h1>",
            "<h2 id=\"records\">",
            "<caption>",
            "@media print",
            "lang=\"en-GB\"",
        ] {
            assert!(html.contains(needle), "{needle} missing from sar.html");
        }

        // Stdout: a summary, none of the subject's data.
        assert!(
            stdout.contains(&format!("{n_records} record(s)")),
            "{stdout}"
        );
        for name in &subject.names {
            assert!(
                !has_word(&stdout, name),
                "subject's name on stdout: {stdout}"
            );
        }

        // Audited, with the reason; a second SAR lists the first as an access.
        let audit = sightline(&["audit", "verify", "--db", &db]);
        assert!(!audit.is_empty());
        sightline(&[
            "sar",
            "--db",
            &db,
            "--person",
            &person_id,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            REASON,
        ]);
        let again: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("sar.json")).unwrap()).unwrap();
        let entries = again["access"].as_array().expect("access");
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["action"], "subject_access");
        assert_eq!(entries[0]["resource_key"], format!("person:{person_id}"));
        assert_eq!(
            entries[0]["basis_in_words"],
            format!("subject access request: {REASON}")
        );
        assert_eq!(
            entries[0]["action_in_words"],
            "answered a subject access request"
        );

        // Issue #18 items 4 and 5: one of their records restricted by its
        // agency is withheld (listed with the category, not its content), and
        // a legal hold on them is listed.
        let (agency, record_id) = bundle_records.iter().next().unwrap().clone();
        sightline(&[
            "record",
            "restrict",
            "--db",
            &db,
            "--agency",
            &agency,
            "--record",
            &record_id,
            "--roles",
            "safeguarding_lead",
            "--own-agency-only",
            "--reason",
            "Sharing this record would be more detrimental to the child.",
        ]);
        sightline(&[
            "hold",
            "place",
            "--db",
            &db,
            "--person",
            &person_id,
            "--reason",
            "Held for the court proceedings listed in January 2027.",
        ]);
        sightline(&[
            "sar",
            "--db",
            &db,
            "--person",
            &person_id,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            REASON,
        ]);
        let restricted: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("sar.json")).unwrap()).unwrap();
        let shown: BTreeSet<(String, String)> = restricted["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| {
                (
                    record["agency"].as_str().unwrap().to_owned(),
                    record["record_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(shown.len(), bundle_records.len() - 1);
        assert!(!shown.contains(&(agency.clone(), record_id.clone())));
        let withheld = restricted["withheld"].as_array().expect("withheld");
        assert_eq!(withheld.len(), 1, "{withheld:?}");
        assert_eq!(withheld[0]["record_id"], record_id.as_str());
        assert!(
            withheld[0]["category"]
                .as_str()
                .unwrap()
                .contains("more detrimental to the child")
        );
        assert!(
            restricted["linkage"]["mentions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|mention| mention["record_id"] != record_id.as_str()),
            "the restricted record's mention is withheld from the linkage"
        );
        let holds = restricted["holds"].as_array().expect("holds");
        assert_eq!(holds.len(), 1, "{holds:?}");
        assert!(
            holds[0]["reason"]
                .as_str()
                .unwrap()
                .contains("court proceedings")
        );
        let html = std::fs::read_to_string(out.join("sar.html")).unwrap();
        assert!(html.contains("Records withheld") && html.contains("Legal holds"));

        // Disclosing one third party of one record (--unredact): that record
        // shows them, the bundle lists the disclosure, and it is audited.
        let (record, third) = restricted["records"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|record| {
                let third = record["third_parties"].as_array()?.first()?.clone();
                Some((record.clone(), third))
            })
            .expect("a record naming someone else");
        let item = third["item"].as_str().unwrap().to_owned();
        const DISCLOSE: &str =
            "The partner of the requester consented to his details being shared.";
        let stdout = sightline(&[
            "sar",
            "--db",
            &db,
            "--person",
            &person_id,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            REASON,
            "--unredact",
            &item,
            "--unredact-reason",
            DISCLOSE,
        ]);
        assert!(stdout.contains(&format!("disclosed {item}")), "{stdout}");
        let disclosed: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("sar.json")).unwrap()).unwrap();
        assert_eq!(disclosed["disclosures"][0]["item"], item.as_str());
        assert_eq!(disclosed["disclosures"][0]["reason"], DISCLOSE);
        let shown = disclosed["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|other| {
                other["record_id"] == record["record_id"] && other["agency"] == record["agency"]
            })
            .flat_map(|other| other["third_parties"].as_array().unwrap().clone())
            .filter(|other| other["item"] == item.as_str())
            .collect::<Vec<_>>();
        assert!(!shown.is_empty() && shown.iter().all(|other| other["disclosed"] == true));
        let html = std::fs::read_to_string(out.join("sar.html")).unwrap();
        assert!(html.contains("Third parties disclosed") && html.contains(DISCLOSE));
        assert!(
            disclosed["access"]
                .as_array()
                .unwrap()
                .iter()
                .any(|entry| entry["action"] == "sar_unredact")
        );
        sightline(&["audit", "verify", "--db", &db]);
    }
}

#[test]
fn sar_refuses_a_short_reason_and_an_unknown_person() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = dir.path().join("sar");
    for (person, reason, why) in [
        (
            "p-0000000000000000",
            "because",
            "the reason must be a sentence",
        ),
        ("p-0000000000000000", REASON, "no person with this id"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args([
                "sar",
                "--db",
                &db,
                "--person",
                person,
                "--out",
                out.to_str().unwrap(),
                "--reason",
                reason,
            ])
            .env("SIGHTLINE_LOG", "warn")
            .output()
            .expect("sightline runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{stderr}");
        assert!(!out.exists(), "nothing written");
    }
}
