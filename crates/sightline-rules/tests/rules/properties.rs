//! Properties of evaluation over arbitrary pictures: it never panics, and
//! evaluating after every record gives the same firings, at the same logical
//! times, as evaluating once at the end.

use crate::support::{day, default_pack};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use sightline_core::vocab::{AttributeSpec, AttributeType, finding_attributes, outcome_attributes};
use sightline_core::{
    AttributeValue, Attributes, FindingCode, Kind, PartialDate, RelationshipType, Role,
};
use sightline_rules::{
    AgencyType, Child, ChildPicture, Event, EventFinding, EventPerson, EvidenceRef, Firing,
    Subject, evaluate,
};
use std::collections::BTreeSet;

const AGENCIES: &[&str] = &[
    "st-annes-gp",
    "north-ed",
    "north-met-police",
    "haringey-cs",
    "park-primary",
];
const PEOPLE: &[&str] = &["mother-1", "partner-2", "lodger-3"];

/// Picks from a slice by a seed.
fn pick<T: Copy>(items: &[T], seed: u32) -> T {
    items[seed as usize % items.len()]
}

fn random_attributes(specs: &[AttributeSpec], seed: u32) -> Attributes {
    let mut attributes = Vec::new();
    for (idx, spec) in specs.iter().enumerate() {
        let bits = seed.rotate_left(idx as u32 * 5);
        if bits & 1 == 0 {
            continue;
        }
        let value = match spec.ty {
            AttributeType::Bool => AttributeValue::Bool(bits & 2 == 0),
            AttributeType::Enum(values) => AttributeValue::Enum(pick(values, bits >> 2)),
            AttributeType::Text { .. } => AttributeValue::Text(
                pick(&["violence", "other", "st-annes-gp"], bits >> 2).to_owned(),
            ),
            AttributeType::Int { min, .. } => AttributeValue::Int(min + i64::from(bits % 3)),
            AttributeType::PartialDate => continue,
        };
        attributes.push((spec.name, value));
    }
    Attributes(attributes)
}

/// One event from a handful of random numbers.
fn build_event(seed: [u32; 10]) -> Event {
    let kind = pick(Kind::ALL, seed[0]);
    let agency = pick(AGENCIES, seed[1]);
    let occurred = day("2006-01-01") + Duration::days(i64::from(seed[2] % 700));
    let delay_minutes = i64::from(seed[3] % 4) * i64::from(seed[3] % 50_000);
    let recorded_at = Utc.from_utc_datetime(&occurred.and_hms_opt(8, 0, 0).unwrap_or_default())
        + Duration::minutes(delay_minutes);
    let record_id = format!("r{}", seed[4] % 12);
    let version = 1 + i64::from(seed[4] / 12 % 2);
    let mut event = Event::new(
        EvidenceRef::new(agency, record_id, version),
        kind,
        occurred,
        recorded_at,
    );
    if seed[5].is_multiple_of(5) {
        event.agency_type = pick(AgencyType::ALL, seed[5] / 5);
    }
    event.occurred_month_only = seed[5].is_multiple_of(11);
    event.child_role = if seed[6].is_multiple_of(4) {
        None
    } else {
        Some(pick(Role::ALL, seed[6] / 4))
    };
    event.outcome = random_attributes(outcome_attributes(kind), seed[7]);
    for finding_idx in 0..seed[8] % 3 {
        let code = pick(FindingCode::ALL, seed[8].rotate_left(finding_idx * 7) / 3);
        let subject = if seed[8].rotate_left(finding_idx * 3).is_multiple_of(3) {
            Subject::Person(pick(PEOPLE, seed[8] >> 9).to_owned())
        } else {
            Subject::Child
        };
        event.findings.push(EventFinding {
            code,
            subjects: vec![subject],
            attributes: random_attributes(
                finding_attributes(code),
                seed[9].rotate_left(finding_idx),
            ),
        });
    }
    for person_idx in 0..seed[9] % 3 {
        let bits = seed[9].rotate_left(person_idx * 11);
        let relationships = if bits.is_multiple_of(2) {
            vec![(pick(RelationshipType::ALL, bits >> 3), Subject::Child)]
        } else {
            vec![(
                RelationshipType::PartnerOf,
                Subject::Person("mother-1".to_owned()),
            )]
        };
        event.people.push(EventPerson {
            person_id: pick(PEOPLE, bits >> 1).to_owned(),
            role: pick(Role::ALL, bits >> 5),
            relationships,
        });
    }
    event
}

fn child(dob_seed: Option<u32>) -> Child {
    let dob = dob_seed.map(|seed| {
        let date = day("2004-01-01") + Duration::days(i64::from(seed % 1_500));
        match seed % 5 {
            0 => PartialDate::Month(2005, 1 + seed % 12),
            1 => PartialDate::Year(2004 + (seed % 3) as i32),
            _ => PartialDate::Day(date),
        }
    });
    Child::new("child-1", dob)
}

fn picture_of(child: &Child, events: &[Event]) -> ChildPicture {
    let mut picture = ChildPicture::new(child.clone());
    for event in events {
        picture.add_event(event.clone()).unwrap();
    }
    picture
}

/// What must agree between incremental and batch evaluation.
type Key = (
    String,
    Vec<EvidenceRef>,
    DateTime<Utc>,
    String,
    String,
    NaiveDate,
    NaiveDate,
);

fn key(firing: &Firing) -> Key {
    (
        firing.rule_id.clone(),
        firing.evidence.clone(),
        firing.raised_at,
        firing.severity.to_string(),
        firing.explanation.clone(),
        firing.window.start,
        firing.window.end,
    )
}

fn pictures() -> impl Strategy<Value = (Child, Vec<Event>)> {
    (
        proptest::option::weighted(0.9, any::<u32>()),
        proptest::collection::vec(any::<[u32; 10]>(), 0..24),
    )
        .prop_map(|(dob_seed, seeds)| {
            (
                child(dob_seed),
                seeds.into_iter().map(build_event).collect(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_never_panics_and_stays_in_logical_time((child, events) in pictures(), now_days in 0i64..900) {
        let picture = picture_of(&child, &events);
        let now = Utc.from_utc_datetime(&day("2006-01-01").and_hms_opt(0, 0, 0).unwrap_or_default()) + Duration::days(now_days);
        for firing in evaluate(default_pack(), &picture, now) {
            prop_assert!(firing.raised_at <= now, "{firing:?}");
            prop_assert!(!firing.evidence.is_empty());
            prop_assert!(!firing.explanation.contains('{'), "{}", firing.explanation);
            prop_assert!(firing.window.start <= firing.window.end);
            for evidence in &firing.evidence {
                let recorded = picture.events().iter().find(|event| &event.evidence == evidence);
                prop_assert!(recorded.is_some_and(|event| event.recorded_at <= now), "evidence {evidence} not known at {now}");
            }
        }
    }

    #[test]
    fn incremental_evaluation_equals_batch((child, events) in pictures()) {
        let full = picture_of(&child, &events);
        let Some(last) = full.events().last().map(|event| event.recorded_at) else {
            return Ok(());
        };
        let end = last + Duration::days(400);
        let batch: BTreeSet<Key> = evaluate(default_pack(), &full, end).iter().map(key).collect();
        let mut moments: Vec<DateTime<Utc>> = full.events().iter().map(|event| event.recorded_at).collect();
        moments.dedup();
        let mut incremental: BTreeSet<Key> = BTreeSet::new();
        for moment in moments {
            let known: Vec<Event> = full.events().iter().filter(|event| event.recorded_at <= moment).cloned().collect();
            let picture = picture_of(&child, &known);
            for firing in evaluate(default_pack(), &picture, moment) {
                let firing_key = key(&firing);
                prop_assert!(
                    batch.contains(&firing_key),
                    "incremental firing at {moment} missing from batch: {firing_key:#?}\nbatch has: {:#?}",
                    batch.iter().filter(|key| key.0 == firing.rule_id).collect::<Vec<_>>()
                );
                incremental.insert(firing_key);
            }
        }
        let batch_until_last: BTreeSet<Key> = batch.iter().filter(|key| key.2 <= last).cloned().collect();
        prop_assert_eq!(incremental, batch_until_last);
    }
}
