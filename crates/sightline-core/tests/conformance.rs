//! Interchange v1 conformance: every fixture in `tests/fixtures/interchange/` (files
//! written to the specification as an agency's system would write them: every
//! rule, every example, every vocabulary code, all three formats) gets exactly
//! its expected answer from the parser: `ok N`, or every problem with its
//! position, field path and plain words. The same files go through
//! `sightline ingest` and `POST /api/v1/records` in those crates' tests.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use sightline_core::interchange::{Format, Limits, ParsedRecord, parse_batch};
use sightline_core::{FindingCode, Kind, RelationshipType, Role, Sex};
use sightline_testkit::interchange_fixtures::{self, Fixture, without_receipt_time};

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("valid instant")
}

fn parse(fixture: &Fixture) -> Result<Vec<ParsedRecord>, Vec<String>> {
    let format = Format::from_file_name(&fixture.name).expect("a known extension");
    parse_batch(&fixture.bytes, format, received_at(), &Limits::default()).map_err(|rejected| {
        rejected
            .problems
            .iter()
            .map(|problem| without_receipt_time(&problem.to_string()))
            .collect()
    })
}

fn fixture(name: &str) -> Fixture {
    interchange_fixtures::all()
        .into_iter()
        .find(|fixture| fixture.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn records(name: &str) -> Vec<ParsedRecord> {
    parse(&fixture(name)).unwrap_or_else(|problems| panic!("{name}: {problems:#?}"))
}

#[test]
fn every_fixture_gets_exactly_its_expected_answer() {
    let mut failures = Vec::new();
    for fixture in interchange_fixtures::all() {
        let actual = match parse(&fixture) {
            Ok(records) => vec![format!("ok {}", records.len())],
            Err(problems) => problems,
        };
        if actual != fixture.expected {
            failures.push(format!(
                "{}\n  expected:\n    {}\n  actual:\n    {}",
                fixture.name,
                fixture.expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_fixtures_use_every_kind_code_role_relationship_type_and_sex() {
    let kinds: Vec<&str> = records("every-kind.jsonl")
        .iter()
        .map(|parsed| parsed.record.kind.as_str())
        .collect();
    assert_eq!(kinds, Kind::NAMES);
    let codes: Vec<&str> = records("every-finding.jsonl")[0]
        .record
        .findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect();
    assert_eq!(codes, FindingCode::NAMES);
    let everyone = &records("persons-valid.jsonl")[0].record;
    let roles: Vec<&str> = everyone
        .persons
        .iter()
        .map(|person| person.role.as_str())
        .collect();
    assert_eq!(roles, Role::NAMES);
    let types: Vec<&str> = everyone
        .relationships
        .iter()
        .map(|relationship| relationship.relationship_type.as_str())
        .collect();
    assert_eq!(types, RelationshipType::NAMES);
    for sex in Sex::ALL {
        assert!(
            everyone
                .persons
                .iter()
                .any(|person| person.sex == Some(*sex))
        );
    }
}

#[test]
fn the_specification_example_reads_the_same_as_an_array_and_as_json_lines() {
    let from_lines = records("spec-example.jsonl");
    let from_array = records("spec-example-array.json");
    assert_eq!(from_lines[0].record, from_array[0].record);
    let record = &from_lines[0].record;
    assert_eq!(record.source.system.as_deref(), Some("Niche"));
    assert_eq!(record.findings[0].subjects, vec![1], "subjects: [\"m\"]");
    assert_eq!(
        (record.relationships[0].from, record.relationships[0].to),
        (1, 0)
    );
}

#[test]
fn values_are_parsed_into_their_types() {
    let expected_postcodes: Vec<Option<String>> = std::fs::read_to_string(
        interchange_fixtures::directory().join("identifiers-valid.postcodes"),
    )
    .expect("postcodes")
    .lines()
    .map(|line| (line != "-").then(|| line.to_owned()))
    .collect();
    let parsed = records("identifiers-valid.jsonl");
    let postcodes: Vec<Option<String>> = parsed
        .iter()
        .filter(|parsed| parsed.record.kind == Kind::AddressRecorded)
        .map(|parsed| {
            parsed.record.persons[0]
                .address
                .as_ref()
                .and_then(|address| address.postcode.as_ref())
                .map(|postcode| postcode.as_str().to_owned())
        })
        .collect();
    assert_eq!(postcodes, expected_postcodes);
    for parsed in parsed
        .iter()
        .filter(|parsed| parsed.record.kind != Kind::AddressRecorded)
    {
        let number = parsed.record.persons[0]
            .nhs_number
            .as_ref()
            .expect("an NHS number");
        assert_eq!(number.digits().len(), 10);
    }
    // A missing version is 1; versions in one batch keep their order.
    let versions: Vec<(String, i64)> = records("versions.jsonl")
        .iter()
        .map(|parsed| {
            (
                parsed.record.source.record_id.as_str().to_owned(),
                parsed.record.source.version,
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("DA-V", 1),
            ("DA-V", 2),
            ("DA-V", 1),
            ("DA-V", 3),
            ("DA-W", 1)
        ]
        .map(|(id, version)| (id.to_owned(), version))
    );
}

#[test]
fn the_csv_profile_reads_quoting_trimming_and_partial_rows() {
    let rows = records("csv-profile.csv");
    let first = &rows[0].record;
    assert_eq!(
        first.persons[0]
            .address
            .as_ref()
            .map(|address| address.lines.clone()),
        Some(vec!["12 Example Road, London".to_owned()])
    );
    assert_eq!(
        first.persons[0]
            .address
            .as_ref()
            .and_then(|address| address.postcode.as_ref())
            .map(|postcode| postcode.as_str()),
        Some("N17 6AA")
    );
    assert_eq!(first.findings.len(), 2);
    assert_eq!(
        first.findings[0].attributes.text("explanation"),
        Some("none")
    );
    assert_eq!(first.findings[1].attributes.text("risk"), Some("high"));
    assert_eq!(first.persons[0].person_ref, "subject");
    assert_eq!(first.persons[0].role, Role::Subject);
    let second = &rows[1].record;
    assert_eq!(second.source.version, 1, "an empty version cell is 1");
    assert_eq!(second.persons[0].given_names, None);
    let third = &rows[2].record;
    assert_eq!(third.persons[0].given_names.as_deref(), Some("Zoë \"Zee\""));
    assert_eq!(
        third.narrative.as_deref(),
        Some("Mother said \"he won't eat\".\nSecond line of the note, with a comma.")
    );
    let codes: Vec<&str> = third
        .findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect();
    assert_eq!(codes, ["faltering_growth", "poor_hygiene"]);
    let fourth = &rows[3].record;
    assert_eq!(fourth.findings[0].attributes.int("count"), Some(2));
    let fifth = &rows[4].record;
    assert_eq!(
        fifth.source.agency.as_str(),
        "st-annes-gp",
        "cells are trimmed"
    );
    assert_eq!(fifth.source.version, 3);
    let reordered = records("csv-reordered-bom.csv");
    assert_eq!(
        reordered[0].record.narrative.as_deref(),
        Some("A note, with a comma")
    );
}
