//! Interchange conformance (v1.1, `spec/interchange.md`): every fixture in
//! `tests/fixtures/interchange/` (files written to the specification as an
//! agency's system would write them: every rule, every example, every
//! vocabulary code and value, all three formats) gets exactly
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

/// The v1 fixture's values, then the v1.1 fixture's: together every value of
/// the vocabulary, in the specification's order (v1.1 appends to each list).
fn v1_then_v1_1<'a>(v1: Vec<&'a str>, v1_1: Vec<&'a str>) -> Vec<&'a str> {
    v1.into_iter().chain(v1_1).collect()
}

#[test]
fn the_fixtures_use_every_kind_code_role_relationship_type_and_sex() {
    let kinds_of = |name: &str| -> Vec<&'static str> {
        records(name)
            .iter()
            .map(|parsed| parsed.record.kind.as_str())
            .collect()
    };
    assert_eq!(
        v1_then_v1_1(kinds_of("every-kind.jsonl"), kinds_of("v1.1-kinds.jsonl")),
        Kind::NAMES
    );
    let codes_of = |name: &str| -> Vec<&'static str> {
        records(name)[0]
            .record
            .findings
            .iter()
            .map(|finding| finding.code.as_str())
            .collect()
    };
    assert_eq!(
        v1_then_v1_1(
            codes_of("every-finding.jsonl"),
            codes_of("v1.1-findings.jsonl")
        ),
        FindingCode::NAMES
    );
    let everyone = &records("persons-valid.jsonl")[0].record;
    let everyone_v1_1 = &records("v1.1-persons.jsonl")[0].record;
    let roles_of = |record: &sightline_core::Record| -> Vec<&'static str> {
        record
            .persons
            .iter()
            .map(|person| person.role.as_str())
            .collect()
    };
    let mut roles_v1_1: Vec<&str> = Vec::new();
    for role in roles_of(everyone_v1_1) {
        if role != "subject" && !roles_v1_1.contains(&role) {
            roles_v1_1.push(role);
        }
    }
    assert_eq!(v1_then_v1_1(roles_of(everyone), roles_v1_1), Role::NAMES);
    let types_of = |record: &sightline_core::Record| -> Vec<&'static str> {
        record
            .relationships
            .iter()
            .map(|relationship| relationship.relationship_type.as_str())
            .collect()
    };
    let mut types_v1_1 = types_of(everyone_v1_1);
    types_v1_1.retain(|relationship_type| *relationship_type != "sibling_of");
    assert_eq!(
        v1_then_v1_1(types_of(everyone), types_v1_1),
        RelationshipType::NAMES
    );
    for sex in Sex::ALL {
        assert!(
            everyone
                .persons
                .iter()
                .any(|person| person.sex == Some(*sex))
        );
    }
}

/// An enumerated or boolean value as the fixtures spell it.
fn value_text(value: &sightline_core::AttributeValue) -> Option<String> {
    match value {
        sightline_core::AttributeValue::Enum(text) => Some((*text).to_owned()),
        sightline_core::AttributeValue::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Every value of every enumerated attribute of every kind's outcome and every
/// finding (v1 and v1.1), and every boolean attribute both ways, is accepted
/// in some valid fixture.
#[test]
fn the_valid_fixtures_use_every_attribute_value() {
    use sightline_core::vocab::{AttributeType, finding_attributes, outcome_attributes};
    let mut seen: std::collections::BTreeSet<(String, String, String)> = Default::default();
    for fixture in interchange_fixtures::all()
        .into_iter()
        .filter(Fixture::is_valid)
    {
        for parsed in parse(&fixture).expect("a valid fixture") {
            let record = &parsed.record;
            for spec in outcome_attributes(record.kind) {
                if let Some(value) = record.outcome.get(spec.name).and_then(value_text) {
                    seen.insert((record.kind.as_str().to_owned(), spec.name.to_owned(), value));
                }
            }
            for finding in &record.findings {
                for spec in finding_attributes(finding.code) {
                    if let Some(value) = finding.attributes.get(spec.name).and_then(value_text) {
                        seen.insert((
                            finding.code.as_str().to_owned(),
                            spec.name.to_owned(),
                            value,
                        ));
                    }
                }
            }
        }
    }
    let mut missing = Vec::new();
    let owners = Kind::ALL
        .iter()
        .map(|kind| (kind.as_str(), outcome_attributes(*kind)))
        .chain(
            FindingCode::ALL
                .iter()
                .map(|code| (code.as_str(), finding_attributes(*code))),
        );
    for (owner, specs) in owners {
        for spec in specs {
            let values: Vec<String> = match spec.ty {
                AttributeType::Enum(values) => values.iter().map(|v| (*v).to_owned()).collect(),
                AttributeType::Bool => vec!["true".to_owned(), "false".to_owned()],
                _ => continue,
            };
            for value in values {
                let key = (owner.to_owned(), spec.name.to_owned(), value);
                if !seen.contains(&key) {
                    missing.push(format!("{}.{} = {}", key.0, key.1, key.2));
                }
            }
        }
    }
    assert!(missing.is_empty(), "never used: {missing:#?}");
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

fn specification() -> String {
    std::fs::read_to_string(interchange_fixtures::directory().join("../../../spec/interchange.md"))
        .expect("spec/interchange.md")
}

/// The examples in `spec/interchange.md` are the fixtures `spec-example.jsonl`
/// and `spec-v1.1-example.jsonl`, record for record.
#[test]
fn the_specification_examples_are_the_example_fixtures() {
    let text = specification();
    let examples: Vec<&str> = text
        .split("```json\n")
        .skip(1)
        .map(|rest| rest.split("```").next().expect("a closed block"))
        .collect();
    assert_eq!(examples.len(), 2);
    for (example, fixture_name) in examples
        .iter()
        .zip(["spec-example.jsonl", "spec-v1.1-example.jsonl"])
    {
        let example: serde_json::Value = serde_json::from_str(example).expect("JSON");
        let fixture: serde_json::Value =
            serde_json::from_slice(&fixture(fixture_name).bytes).expect("JSON");
        assert_eq!(example, fixture, "{fixture_name}");
    }
}

/// Every kind, role, relationship type, finding code, attribute and value the
/// parser knows is written in `spec/interchange.md` (as `code`), so the
/// specification and the vocabulary cannot drift apart.
#[test]
fn the_specification_lists_every_vocabulary_value() {
    use sightline_core::vocab::{AttributeType, finding_attributes, outcome_attributes};
    let text = specification();
    let mut names: Vec<&str> = Vec::new();
    names.extend(Kind::NAMES);
    names.extend(Role::NAMES);
    names.extend(RelationshipType::NAMES);
    names.extend(FindingCode::NAMES);
    names.extend(Sex::NAMES);
    let specs = Kind::ALL
        .iter()
        .flat_map(|kind| outcome_attributes(*kind))
        .chain(
            FindingCode::ALL
                .iter()
                .flat_map(|code| finding_attributes(*code)),
        );
    for spec in specs {
        names.push(spec.name);
        if let AttributeType::Enum(values) = spec.ty {
            names.extend(values);
        }
    }
    let missing: Vec<&&str> = names
        .iter()
        .filter(|name| !text.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in the specification: {missing:?}");
}
