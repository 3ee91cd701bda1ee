//! The picture from the log: the example family's records from four agencies link
//! into three persons, and the default rules raise the alerts the guidance asks for.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::TimeZone;
use sightline_app::picture::{
    alerts_from_firings, evaluate_children, link_records, load_current_records, person_facts,
};
use sightline_core::interchange::{Format, Limits, parse_batch};

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");

/// `lines` (JSON Lines) ingested through the engine into a fresh database, then
/// the log linked as the picture is.
fn linked(
    lines: &str,
    received_at: chrono::DateTime<chrono::Utc>,
) -> (
    sightline_testkit::TestDatabase,
    sightline_app::picture::LinkedRecords,
) {
    let database = sightline_testkit::sqlite_database();
    let store = sightline_store::open(&database.url).expect("open");
    let records = parse_batch(
        lines.as_bytes(),
        Format::JsonLines,
        received_at,
        &Limits::default(),
    )
    .expect("valid records");
    let engine =
        sightline_app::SharedEngine::load_default(store.as_ref(), received_at).expect("engine");
    sightline_app::ingest_parsed(store.as_ref(), &engine, records, received_at).expect("stored");
    let loaded = load_current_records(store.as_ref(), None).expect("load");
    (database, link_records(loaded).expect("linked"))
}

fn linked_sample() -> (
    sightline_testkit::TestDatabase,
    sightline_app::picture::LinkedRecords,
) {
    let received_at = chrono::Utc
        .with_ymd_and_hms(2007, 6, 1, 0, 0, 0)
        .single()
        .expect("instant");
    linked(SAMPLE, received_at)
}

#[test]
fn one_family_across_four_agencies_is_three_persons() {
    let (_database, linked) = linked_sample();
    let facts = person_facts(&linked);
    let mut sizes: Vec<(usize, bool)> = facts
        .values()
        .map(|person| (person.mentions.len(), person.is_child))
        .collect();
    sizes.sort();
    assert_eq!(
        sizes,
        vec![(1, false), (2, false), (5, true)],
        "Jason (1), Tina (2), Leo (5 mentions)"
    );
}

#[test]
fn the_default_rules_see_the_pattern() {
    let (_database, linked) = linked_sample();
    let pack = sightline_rules::default_pack().expect("default pack");
    let now = chrono::Utc
        .with_ymd_and_hms(2007, 6, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let alerts = alerts_from_firings(evaluate_children(&linked, &pack, now));
    let rules: Vec<&str> = alerts.iter().map(|alert| alert.rule_id.as_str()).collect();
    for expected in [
        "injury_unexplained",
        "head_injury_or_fracture_under_2",
        "second_injury_under_5",
        "domestic_abuse_under_5",
    ] {
        assert!(
            rules.contains(&expected),
            "{expected} missing from {rules:?}"
        );
    }
    let second_injury = alerts
        .iter()
        .find(|alert| alert.rule_id == "second_injury_under_5")
        .expect("alert");
    let agencies: Vec<&str> = second_injury
        .evidence
        .iter()
        .map(|evidence| evidence.agency.as_str())
        .collect();
    assert!(
        agencies.contains(&"st-annes-gp") && agencies.contains(&"north-general-ed"),
        "seen by two agencies: {agencies:?}"
    );
    // Replaying as of before the hospital attendance, only the GP's concern is known.
    let before = chrono::Utc
        .with_ymd_and_hms(2007, 4, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let early = alerts_from_firings(evaluate_children(&linked, &pack, before));
    assert!(early.iter().all(|alert| alert.raised_at <= before));
}

/// Twins of the same sex (one surname, address, postcode and date of birth,
/// different given names, no NHS number) recorded by two agencies stay two
/// persons in the engine's picture of a small log (the reference model).
#[test]
fn twins_without_nhs_numbers_stay_two_persons() {
    let twin = |agency: &str, id: &str, given: &str| {
        format!(
            r#"{{"source": {{"agency": "{agency}", "record_id": "{id}", "version": 1}}, "kind": "education.concern", "occurred_at": "2021-03-01", "persons": [{{"ref": "c", "role": "subject", "given_names": "{given}", "family_name": "Knowles", "dob": "2014-11-17", "sex": "female", "address": {{"lines": ["175 Mill Lane"], "postcode": "EH16 6LL"}}}}]}}"#
        )
    };
    let lines = [
        twin("school-oak", "S-1", "Karen"),
        twin("police-met", "P-1", "Lisa"),
        twin("police-met", "P-2", "Karen"),
    ]
    .join("\n");
    let received_at = chrono::Utc
        .with_ymd_and_hms(2021, 6, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let (_database, linked) = linked(&lines, received_at);
    let mut sizes: Vec<usize> = person_facts(&linked)
        .values()
        .map(|person| person.mentions.len())
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 2], "Karen (2 records) and Lisa (1)");
}

/// A brother's unexplained rib fractures, recorded by radiology about him alone,
/// join his sister's picture (she was recorded as his sibling by the health
/// visitor) and raise `serious_injury_to_a_sibling` on her; his ordinary records
/// stay out of her picture. Invented family, NHS numbers from the 999 range.
#[test]
fn a_siblings_unexplained_fracture_reaches_the_child() {
    let lines = r#"{"source": {"agency": "north-hv", "record_id": "HV-1", "version": 1}, "kind": "health.health_visitor_contact", "occurred_at": "2021-04-08", "recorded_at": "2021-04-08T14:30:00Z", "persons": [{"ref": "b", "role": "subject", "nhs_number": "999 461 2832", "given_names": "Noah", "family_name": "Vale", "dob": "2021-03-27", "sex": "male"}, {"ref": "s", "role": "sibling", "nhs_number": "999 850 1288", "given_names": "Esme", "family_name": "Vale", "dob": "2020-04-09", "sex": "female"}], "outcome": {"child_seen": true}}
{"source": {"agency": "north-gp", "record_id": "GP-1", "version": 1}, "kind": "health.gp_consultation", "occurred_at": "2021-05-10", "recorded_at": "2021-05-10T09:40:00Z", "persons": [{"ref": "b", "role": "subject", "nhs_number": "999 461 2832", "given_names": "Noah", "family_name": "Vale", "dob": "2021-03-27", "sex": "male"}], "findings": [{"code": "injury", "type": "bruise", "site": "arm", "explanation": "consistent"}]}
{"source": {"agency": "north-radiology", "record_id": "RAD-1", "version": 1}, "kind": "other.note", "occurred_at": "2021-05-19", "recorded_at": "2021-05-19T18:00:00Z", "persons": [{"ref": "b", "role": "subject", "nhs_number": "999 461 2832", "given_names": "Noah", "family_name": "Vale", "dob": "2021-03-27", "sex": "male"}], "findings": [{"code": "injury", "type": "fracture", "site": "torso", "count": 6, "explanation": "none"}]}
"#;
    let received_at = chrono::Utc
        .with_ymd_and_hms(2021, 6, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let (_database, linked) = linked(lines, received_at);
    let pack = sightline_rules::default_pack().expect("default pack");
    let alerts = alerts_from_firings(evaluate_children(&linked, &pack, received_at));
    let facts = person_facts(&linked);
    let sister = facts
        .values()
        .find(|person| person.given_names.as_deref() == Some("Esme"))
        .expect("the sister is a person");
    let on_sister: Vec<_> = alerts
        .iter()
        .filter(|alert| alert.child_id == sister.id)
        .collect();
    assert_eq!(
        on_sister
            .iter()
            .map(|alert| alert.rule_id.as_str())
            .collect::<Vec<_>>(),
        vec!["serious_injury_to_a_sibling"],
        "{on_sister:?}"
    );
    let evidence: Vec<&str> = on_sister[0]
        .evidence
        .iter()
        .map(|evidence| evidence.record_id.as_str())
        .collect();
    assert_eq!(evidence, vec!["RAD-1"], "the fracture, not the GP's bruise");
}
