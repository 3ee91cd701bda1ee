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

/// A record of `agency` about a child and the mother: the child as
/// `child_json`, the mother as `mother_json`, the mother its parent.
fn child_with_mother(
    agency: &str,
    id: &str,
    kind: &str,
    child_json: &str,
    mother_json: &str,
) -> String {
    format!(
        r#"{{"source": {{"agency": "{agency}", "record_id": "{id}", "version": 1}}, "kind": "{kind}", "occurred_at": "2016-06-16", "persons": [{{"ref": "child", "role": "subject", {child_json}}}, {{"ref": "mother", "role": "parent", {mother_json}}}], "relationships": [{{"from": "mother", "to": "child", "type": "parent_of"}}]}}"#
    )
}

const TYRESE: &str = r#""given_names": "Tyrese", "family_name": "Lindsay", "dob": "2003-01-11", "sex": "male", "address": {"lines": ["Flat 4, 27 Carlow Row"], "postcode": "E7 9QX"}"#;
const MARCIA: &str = r#""given_names": "Marcia", "family_name": "Campbell", "dob": "1981-06-02", "sex": "female", "address": {"lines": ["Flat 4, 27 Carlow Row"], "postcode": "E7 9QX"}"#;
const MARCIA_POLICE: &str = r#""given_names": "Marcia", "family_name": "Campbell", "sex": "female", "address": {"lines": ["Flat 4, 27 Carlow Row"], "postcode": "E7 9QX"}"#;

fn police_log_beside_mother(child_json: &str) -> String {
    [
        child_with_mother(
            "greenway-gp",
            "GP-1",
            "health.gp_consultation",
            TYRESE,
            MARCIA,
        ),
        child_with_mother(
            "eastbrook-csc",
            "REF-1",
            "social_care.referral",
            TYRESE,
            MARCIA,
        ),
        child_with_mother(
            "met-police",
            "CAD-1",
            "police.missing_person",
            child_json,
            MARCIA_POLICE,
        ),
    ]
    .join("\n")
}

fn person_of(linked: &sightline_app::picture::LinkedRecords, key: &str) -> String {
    let record = linked.index.record_of(key).expect("mention");
    linked.person_of_mention[record as usize].clone()
}

#[test]
fn a_child_named_by_name_alone_beside_the_mother_is_the_same_child() {
    let received_at = chrono::Utc
        .with_ymd_and_hms(2016, 7, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let lines = police_log_beside_mother(r#""given_names": "Tyrese", "family_name": "Campbell""#);
    let (_database, linked) = linked(&lines, received_at);
    let child = person_of(&linked, "greenway-gp/GP-1/child");
    assert_eq!(person_of(&linked, "met-police/CAD-1/child"), child);
    assert_ne!(person_of(&linked, "met-police/CAD-1/mother"), child);
    // The evidence says who was named beside the police log's child, in words.
    let detail_links = sightline_app::persons::possible_records(&linked, &child, "this child", 20);
    assert!(
        detail_links.is_empty(),
        "nothing left to review: {detail_links:?}"
    );
    let (police, referral) = (
        linked
            .index
            .record_of("met-police/CAD-1/child")
            .expect("mention"),
        linked
            .index
            .record_of("eastbrook-csc/REF-1/child")
            .expect("mention"),
    );
    let mut explanation = linked.index.explain(referral, police).expect("explained");
    sightline_app::persons::relational_in_words(
        &linked,
        referral,
        police,
        "this child",
        &mut explanation,
    );
    let row = explanation
        .fields
        .iter()
        .find(|field| field.field == "people named beside")
        .expect("a relational row");
    assert!(row.weight > 0.0, "{row:?}");
    assert!(
        row.level.contains(
            "named beside Marcia Campbell, who is linked to this child's mother in 3 records"
        ),
        "{}",
        row.level
    );
}

#[test]
fn a_sister_named_beside_the_same_mother_stays_another_child() {
    let received_at = chrono::Utc
        .with_ymd_and_hms(2016, 7, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let lines = police_log_beside_mother(r#""given_names": "Shanice", "family_name": "Campbell""#);
    let (_database, linked) = linked(&lines, received_at);
    assert_ne!(
        person_of(&linked, "met-police/CAD-1/child"),
        person_of(&linked, "greenway-gp/GP-1/child")
    );
}

#[test]
fn a_link_the_child_records_do_not_bear_out_is_offered_as_a_possible_record() {
    // The police log names "Tyrese Campbell" beside his grandfather, whom one
    // other record names beside the child; four school records give the child
    // another surname and no one beside him: linked to one record, not to the
    // child as a whole, so offered for review.
    let received_at = chrono::Utc
        .with_ymd_and_hms(2016, 7, 1, 0, 0, 0)
        .single()
        .expect("instant");
    let school = |id: &str| {
        format!(
            r#"{{"source": {{"agency": "kingsford-academy", "record_id": "{id}", "version": 1}}, "kind": "education.concern", "occurred_at": "2016-03-01", "persons": [{{"ref": "child", "role": "subject", {TYRESE}}}]}}"#
        )
    };
    let with_grandfather = |agency: &str, id: &str, child_json: &str| {
        format!(
            r#"{{"source": {{"agency": "{agency}", "record_id": "{id}", "version": 1}}, "kind": "social_care.referral", "occurred_at": "2016-05-01", "persons": [{{"ref": "child", "role": "subject", {child_json}}}, {{"ref": "grandfather", "role": "relative", "given_names": "Winston", "family_name": "Campbell", "sex": "male", "address": {{"lines": ["12 Tennyson Walk"], "postcode": "E7 0DT"}}}}], "relationships": [{{"from": "grandfather", "to": "child", "type": "grandparent_of"}}]}}"#
        )
    };
    let lines = [
        school("S-1"),
        school("S-2"),
        school("S-3"),
        school("S-4"),
        with_grandfather("eastbrook-csc", "REF-1", TYRESE),
        with_grandfather(
            "met-police",
            "CAD-1",
            r#""given_names": "Tyrese", "family_name": "Campbell""#,
        ),
    ]
    .join("\n");
    let (_database, linked) = linked(&lines, received_at);
    let child = person_of(&linked, "kingsford-academy/S-1/child");
    assert_eq!(person_of(&linked, "eastbrook-csc/REF-1/child"), child);
    assert_ne!(person_of(&linked, "met-police/CAD-1/child"), child);
    let possible = sightline_app::persons::possible_records(&linked, &child, "this child", 20);
    let police = possible
        .iter()
        .find(|record| record.mention.key == "met-police/CAD-1/child")
        .expect("the police log is a possible record");
    assert!(police.relational, "{police:?}");
    let words: Vec<&str> = police
        .evidence
        .fields
        .iter()
        .map(|field| field.level.as_str())
        .collect();
    assert!(
        words.iter().any(|level| level.contains(
            "named beside Winston Campbell, who is linked to this child's grandfather in 1 record"
        )),
        "{words:?}"
    );
    // It waits in the review queue, and can be shown on its own.
    let pair =
        sightline_app::persons::review_pair(&linked, &police.evidence.left, &police.evidence.right)
            .expect("in the review queue");
    assert_eq!(pair.evidence.left, police.evidence.left);
    assert!(
        sightline_app::persons::review_queue(&linked, 1_000)
            .iter()
            .any(|queued| {
                queued.evidence.right == police.evidence.right
                    && queued.evidence.left == police.evidence.left
            })
    );
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
