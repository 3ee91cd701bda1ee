//! One source record as a person reads it: a summary list of who is in it,
//! what was found, the outcome, the relationships and the narrative, every code
//! by its display name (`sightline_core::labels`) and every date in words.

use std::collections::BTreeMap;

use serde::Serialize;
use sightline_core::labels::{attribute_label, humanise, value_words};
use sightline_core::{Attributes, Record, dates};

/// A key and its value, as a summary-list row.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub key: String,
    pub value: String,
}

/// A person in the record.
#[derive(Debug, Serialize)]
pub(crate) struct PersonView {
    pub name: String,
    pub rows: Vec<Row>,
}

/// A finding: what, about whom, and its attributes.
#[derive(Debug, Serialize)]
pub(crate) struct FindingView {
    pub label: String,
    pub rows: Vec<Row>,
}

/// The record's content in words.
#[derive(Debug, Serialize)]
pub(crate) struct RecordContent {
    pub persons: Vec<PersonView>,
    pub findings: Vec<FindingView>,
    pub outcome: Vec<Row>,
    pub relationships: Vec<String>,
    pub narrative: Option<String>,
}

fn row(key: impl Into<String>, value: impl Into<String>) -> Row {
    Row {
        key: key.into(),
        value: value.into(),
    }
}

fn attribute_rows(attributes: &Attributes) -> Vec<Row> {
    attributes
        .0
        .iter()
        .map(|(name, value)| {
            let key = attribute_label(name).map_or_else(|| humanise(name), str::to_owned);
            row(key, value_words(name, value))
        })
        .collect()
}

/// How an erased person reads: "Parent, erased on 7 December 2026 (reason)";
/// `None` for a person not erased.
fn erased_name(
    person: &sightline_core::Person,
    erased_notes: &BTreeMap<i64, String>,
) -> Option<String> {
    let erasure_id = person
        .source_person_id
        .as_deref()
        .and_then(sightline_app::erasure::erasure_of_source_id)?;
    Some(match erased_notes.get(&erasure_id) {
        Some(note) => format!("{}, {note}", person.role.label()),
        None => format!("{}, erased", person.role.label()),
    })
}

fn person_name(record: &Record, index: usize, erased_notes: &BTreeMap<i64, String>) -> String {
    record.persons.get(index).map_or_else(
        || "someone not named".to_owned(),
        |person| {
            if let Some(erased) = erased_name(person, erased_notes) {
                return erased;
            }
            match (&person.given_names, &person.family_name) {
                (Some(given), Some(family)) => format!("{given} {family}"),
                (Some(name), None) | (None, Some(name)) => name.clone(),
                (None, None) => format!("{} (name not recorded)", person.role.label()),
            }
        },
    )
}

/// "a, b and c".
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The record's persons, findings, outcome, relationships and narrative.
#[cfg(test)]
pub(crate) fn record_content(record: &Record) -> RecordContent {
    record_content_with(record, &BTreeMap::new())
}

/// [`record_content`], with how each erasure reads (by erasure id) for the
/// persons erased from the record.
pub(crate) fn record_content_with(
    record: &Record,
    erased_notes: &BTreeMap<i64, String>,
) -> RecordContent {
    let persons = record
        .persons
        .iter()
        .enumerate()
        .map(|(index, person)| {
            let mut rows = vec![row("Part in this record", person.role.label())];
            if let Some(dob) = person.dob {
                rows.push(row("Date of birth", dates::partial_date(dob)));
            }
            if let Some(expected) = person.expected_dob {
                rows.push(row("Expected date of birth", dates::partial_date(expected)));
            }
            if let Some(sex) = person.sex {
                rows.push(row("Sex", sex.label()));
            }
            if let Some(nhs_number) = &person.nhs_number {
                rows.push(row("NHS number", nhs_number.to_string()));
            }
            if !person.aliases.is_empty() {
                rows.push(row("Also known as", person.aliases.join(", ")));
            }
            if let Some(address) = &person.address {
                let mut lines = address.lines.clone();
                if let Some(postcode) = &address.postcode {
                    lines.push(postcode.as_str().to_owned());
                }
                rows.push(row("Address", lines.join(", ")));
            }
            PersonView {
                name: person_name(record, index, erased_notes),
                rows,
            }
        })
        .collect();
    let findings = record
        .findings
        .iter()
        .map(|finding| {
            let about: Vec<String> = finding
                .subjects
                .iter()
                .map(|index| person_name(record, *index, erased_notes))
                .collect();
            let mut rows = Vec::new();
            if !about.is_empty() {
                rows.push(row("About", listed(&about)));
            }
            rows.extend(attribute_rows(&finding.attributes));
            FindingView {
                label: finding.code.label().to_owned(),
                rows,
            }
        })
        .collect();
    let relationships = record
        .relationships
        .iter()
        .map(|relationship| {
            format!(
                "{} – {} {}",
                person_name(record, relationship.from, erased_notes),
                sightline_core::labels::in_sentence(relationship.relationship_type.label()),
                person_name(record, relationship.to, erased_notes)
            )
        })
        .collect();
    RecordContent {
        persons,
        findings,
        outcome: attribute_rows(&record.outcome),
        relationships,
        narrative: record.narrative.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erased_person_reads_as_erased_not_as_an_error() {
        let body = r#"{"source": {"agency": "st-annes-gp", "record_id": "GP-1", "version": 1},
          "kind": "health.gp_consultation", "occurred_at": "2007-01-13T10:20:00Z",
          "persons": [{"ref": "c", "role": "subject", "given_names": "Leo"},
                      {"ref": "m", "role": "parent", "source_person_id": "erased:3"}],
          "relationships": [{"from": "m", "to": "c", "type": "parent_of"}]}"#;
        let received = chrono::DateTime::parse_from_rfc3339("2007-01-13T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let record = sightline_core::interchange::parse_stored(body, received).unwrap();
        let notes = BTreeMap::from([(
            3,
            "erased on 7 December 2026 (asked by the subject)".to_owned(),
        )]);
        let text = serde_json::to_string(&record_content_with(&record, &notes)).unwrap();
        assert!(
            text.contains(
                "Parent, erased on 7 December 2026 (asked by the subject) – parent of Leo"
            ),
            "{text}"
        );
        assert!(!text.contains("erased:3"), "{text}");
    }

    #[test]
    fn a_record_reads_in_words() {
        let body = r#"{"source": {"agency": "st-annes-gp", "record_id": "GP-1", "version": 1},
          "kind": "health.ed_attendance", "occurred_at": "2007-01-13T10:20:00Z",
          "persons": [{"ref": "c", "role": "subject", "given_names": "Leo", "family_name": "Marsh",
                       "dob": "2006-03-01", "sex": "male", "nhs_number": "943 476 5919"},
                      {"ref": "m", "role": "parent", "given_names": "Ann", "family_name": "Marsh"}],
          "relationships": [{"from": "m", "to": "c", "type": "parent_of"}],
          "findings": [{"code": "injury", "subjects": ["c"], "type": "bruise", "site": "face", "explanation": "inconsistent"}],
          "outcome": {"admitted": false},
          "narrative": "Seen in the department."}"#;
        let received = chrono::DateTime::parse_from_rfc3339("2007-01-13T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let record = sightline_core::interchange::parse_stored(body, received).unwrap();
        let content = record_content(&record);
        let text = serde_json::to_string(&content).unwrap();
        for expected in [
            "Leo Marsh",
            "1 March 2006",
            "Male",
            "943 476 5919",
            "Part in this record",
            "Parent",
            "Injury",
            "Bruise",
            "Face",
            "Inconsistent with the injury",
            "Admitted",
            "\"No\"",
            "Ann Marsh – parent of Leo Marsh",
            "Seen in the department.",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        for code in [
            "parent_of",
            "health.ed_attendance",
            "2006-03-01",
            "inconsistent\"",
        ] {
            assert!(!text.contains(code), "{code} in {text}");
        }
    }
}
