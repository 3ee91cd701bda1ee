//! Persons and clerical review: stored decisions split and merge persons and are
//! undone by later decisions; the person detail explains every link; search
//! finds people by name and date of birth; linking record by record with the
//! decisions in between gives the same persons as a rebuild (property test).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use sightline_app::persons::{
    Decisions, LinkedState, SearchQuery, changed_persons, decide, link_incrementally, partition,
    person_detail, rebuild, review_queue, search_persons,
};
use sightline_app::picture::{LoadedRecord, ModelChoice, link_records_with};
use sightline_core::interchange::{Format, Limits, parse_batch, parse_stored};
use sightline_store::{DecisionVerdict, LinkageDecisionRow, NewLinkageDecision, Store};

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");

fn instant(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2007, 6, day, 0, 0, 0)
        .single()
        .unwrap()
}

fn sample_store() -> (sightline_testkit::TestDatabase, Box<dyn Store>) {
    let database = sightline_testkit::sqlite_database();
    let store = sightline_store::open(&database.url).unwrap();
    let records = parse_batch(
        SAMPLE.as_bytes(),
        Format::JsonLines,
        instant(1),
        &Limits::default(),
    )
    .unwrap();
    let engine = sightline_app::SharedEngine::load_default(store.as_ref(), instant(1)).unwrap();
    sightline_app::ingest_parsed(store.as_ref(), &engine, records, instant(1)).unwrap();
    (database, store)
}

fn decision(left: &str, right: &str, verdict: DecisionVerdict) -> NewLinkageDecision {
    NewLinkageDecision {
        left_key: left.into(),
        right_key: right.into(),
        verdict,
        actor: "lead.a".into(),
        reason: "checked with both agencies".into(),
        at_us: sightline_app::to_micros(instant(2)),
    }
}

const GP: &str = "st-annes-gp/GP-2007-0113/c";
const POLICE: &str = "north-met-police/DA-2007-0412/c";
const REFERRAL: &str = "haringate-csc/REF-2007-0301/c";

fn person_of<'a>(
    persons: &'a std::collections::BTreeMap<String, Vec<String>>,
    key: &str,
) -> &'a str {
    persons
        .iter()
        .find(|(_, keys)| keys.iter().any(|k| k == key))
        .map(|(id, _)| id.as_str())
        .unwrap()
}

#[test]
fn a_split_is_stored_applied_and_undone_by_a_later_decision() {
    let (_database, store) = sample_store();
    let mut state = None;
    LinkedState::refresh(store.as_ref(), &mut state).unwrap();
    let mut state = state.unwrap();
    let before = partition(&state.linked);
    assert_eq!(person_of(&before, POLICE), person_of(&before, REFERRAL));

    // Police's Leo (no NHS number) is split from the social care referral's.
    let (row, _) = decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision(POLICE, REFERRAL, DecisionVerdict::NonMatch),
    )
    .unwrap();
    assert_eq!(row.left_key, REFERRAL, "stored in canonical order");
    let split = partition(&state.linked);
    assert_ne!(person_of(&split, POLICE), person_of(&split, REFERRAL));

    // A rebuild from the store gives the same persons, and equals linking
    // record by record.
    let (rebuilt, report) = rebuild(store.as_ref()).unwrap();
    assert_eq!(partition(&rebuilt), split);
    assert!(report.equal, "{report:?}");
    assert_eq!(report.decisions_applied, 1);
    assert_eq!(report.decisions_stored, 1);

    // Withdrawn: the model decides again, nothing was deleted.
    decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision(REFERRAL, POLICE, DecisionVerdict::Withdrawn),
    )
    .unwrap();
    assert_eq!(partition(&state.linked), before);
    assert_eq!(store.linkage().decisions(0, 10).unwrap().len(), 2);
    let (rebuilt, report) = rebuild(store.as_ref()).unwrap();
    assert_eq!(partition(&rebuilt), before);
    assert_eq!((report.decisions_stored, report.decisions_applied), (2, 0));

    // Another process's decision is picked up by refresh.
    store
        .linkage()
        .record_decision(&decision(GP, POLICE, DecisionVerdict::NonMatch))
        .unwrap();
    let mut refreshed = Some(state);
    LinkedState::refresh(store.as_ref(), &mut refreshed).unwrap();
    let persons = partition(&refreshed.unwrap().linked);
    assert_ne!(person_of(&persons, GP), person_of(&persons, POLICE));
}

#[test]
fn decisions_about_unknown_mentions_are_refused_and_not_stored() {
    let (_database, store) = sample_store();
    let mut state = LinkedState::load(store.as_ref()).unwrap();
    let error = decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision(GP, "nobody/1/c", DecisionVerdict::Match),
    );
    assert!(error.is_err());
    assert!(store.linkage().decisions(0, 10).unwrap().is_empty());
}

#[test]
fn the_person_detail_explains_each_link() {
    let (_database, store) = sample_store();
    let state = LinkedState::load(store.as_ref()).unwrap();
    let persons = partition(&state.linked);
    let leo = person_of(&persons, GP);
    let detail = person_detail(store.as_ref(), &state.linked, leo)
        .unwrap()
        .unwrap();
    assert_eq!(detail.mentions.len(), 5);
    assert_eq!(detail.identity.given_names.as_deref(), Some("Leo"));
    assert_eq!(detail.identity.nhs_number.as_deref(), Some("943 476 5919"));
    assert!(detail.identity.is_child);
    assert!(!detail.links.is_empty());
    // The GP and ED share a valid NHS number: a hard link.
    assert!(
        detail
            .links
            .iter()
            .any(|link| link.kind == "same_nhs_number"),
        "{:?}",
        detail.links
    );
    for link in &detail.links {
        assert!(!link.fields.is_empty());
        let total: f64 = link.prior_weight + link.fields.iter().map(|f| f.weight).sum::<f64>();
        assert!((total - link.match_weight).abs() < 1e-6, "{link:?}");
    }
    assert!(
        person_detail(store.as_ref(), &state.linked, "p-0000000000000000")
            .unwrap()
            .is_none()
    );
}

#[test]
fn search_finds_people_by_name_and_dob() {
    let (_database, store) = sample_store();
    let mut state = LinkedState::load(store.as_ref()).unwrap();
    let leo = person_of(&partition(&state.linked), GP).to_owned();
    let query = SearchQuery {
        name: Some("leo marsh".into()),
        dob: Some("2006-03-01".into()),
    };
    let hits = search_persons(&mut state.linked, &query, 10).unwrap();
    assert_eq!(
        hits.first().map(|hit| hit.person.id.as_str()),
        Some(leo.as_str())
    );
    // Lists show the last three digits only.
    assert_eq!(
        hits[0].person.identity.nhs_number.as_deref(),
        Some("*** *** *919")
    );
    let tina = search_persons(
        &mut state.linked,
        &SearchQuery {
            name: Some("Tina Marsh".into()),
            dob: Some("1981-09-20".into()),
        },
        10,
    )
    .unwrap();
    assert_eq!(tina[0].person.identity.given_names.as_deref(), Some("Tina"));
    for bad in [
        SearchQuery::default(),
        SearchQuery {
            name: Some("x".repeat(500)),
            dob: None,
        },
        SearchQuery {
            name: None,
            dob: Some("01/03/2006".into()),
        },
    ] {
        assert!(search_persons(&mut state.linked, &bad, 10).is_err());
    }
    // Nothing was added to the index by searching.
    assert_eq!(
        state.linked.index.store().len(),
        state.linked.mentions.len()
    );
    assert!(review_queue(&state.linked, 100).len() <= 100);
}

// --- incremental = rebuild -------------------------------------------------

/// A small population: (given, family, dob, nhs).
const PEOPLE: &[(&str, &str, &str, Option<&str>)] = &[
    ("Leo", "Marsh", "2006-03-01", Some("9434765919")),
    ("Tina", "Marsh", "1981-09-20", None),
    ("Jason", "Owen", "1979-02-11", None),
    ("Amelia", "Hughes", "2015-06-02", Some("9434765870")),
    ("Amelie", "Hughes", "2015-06-02", None),
    ("Peter", "Smith", "2006-03-01", None),
];

const AGENCIES: &[&str] = &["st-annes-gp", "north-met-police", "haringate-csc"];

#[derive(Debug, Clone)]
struct Mention {
    person: usize,
    typo: bool,
    month_only: bool,
    with_nhs: bool,
}

fn mention_strategy() -> impl Strategy<Value = Mention> {
    (0..PEOPLE.len(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(person, typo, month_only, with_nhs)| Mention {
            person,
            typo,
            month_only,
            with_nhs,
        },
    )
}

fn body(idx: usize, agency: &str, mentions: &[Mention]) -> String {
    let persons: Vec<serde_json::Value> = mentions
        .iter()
        .enumerate()
        .map(|(ref_idx, mention)| {
            let (given, family, dob, nhs) = PEOPLE[mention.person];
            let given = if mention.typo {
                format!("{}{}", &given[..given.len() - 1], "e")
            } else {
                given.to_owned()
            };
            let mut person = serde_json::json!({
                "ref": format!("p{ref_idx}"),
                "role": "subject",
                "given_names": given,
                "family_name": family,
                "dob": if mention.month_only { &dob[..7] } else { dob },
            });
            if let (true, Some(nhs)) = (mention.with_nhs, nhs) {
                person["nhs_number"] = serde_json::json!(nhs);
            }
            person
        })
        .collect();
    serde_json::json!({
        "source": {"agency": agency, "record_id": format!("R-{idx}"), "version": 1},
        "kind": "health.gp_consultation",
        "occurred_at": "2007-03-01",
        "persons": persons,
    })
    .to_string()
}

fn hour(n: usize) -> DateTime<Utc> {
    instant(1) + chrono::Duration::hours(n as i64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn linking_record_by_record_with_decisions_equals_a_rebuild(
        records in prop::collection::vec(
            (0..AGENCIES.len(), prop::collection::vec(mention_strategy(), 1..3)),
            2..16,
        ),
        raw_decisions in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0..3u8, any::<prop::sample::Index>()),
            0..8,
        ),
    ) {
        let loaded: Vec<LoadedRecord> = records
            .iter()
            .enumerate()
            .map(|(idx, (agency, mentions))| {
                let received_at = hour(idx);
                LoadedRecord {
                    seq: idx as i64 + 1,
                    record: parse_stored(&body(idx, AGENCIES[*agency], mentions), received_at).unwrap(),
                    received_at,
                }
            })
            .collect();
        let keys: Vec<String> = records
            .iter()
            .enumerate()
            .flat_map(|(idx, (agency, mentions))| {
                (0..mentions.len()).map(move |ref_idx| format!("{}/R-{idx}/p{ref_idx}", AGENCIES[*agency]))
            })
            .collect();
        // Decisions at times between records, in time order.
        let mut rows: Vec<LinkageDecisionRow> = Vec::new();
        let mut timed: Vec<(usize, usize, usize, u8)> = raw_decisions
            .iter()
            .map(|(a, b, verdict, at)| (at.index(records.len() + 1), a.index(keys.len()), b.index(keys.len()), *verdict))
            .filter(|(_, a, b, _)| a != b)
            .collect();
        timed.sort_by_key(|(at, ..)| *at);
        for (seq, (at, a, b, verdict)) in timed.into_iter().enumerate() {
            let (left, right) = if keys[a] < keys[b] { (&keys[a], &keys[b]) } else { (&keys[b], &keys[a]) };
            rows.push(LinkageDecisionRow {
                seq: seq as i64 + 1,
                left_key: left.clone(),
                right_key: right.clone(),
                verdict: [DecisionVerdict::Match, DecisionVerdict::NonMatch, DecisionVerdict::Withdrawn][verdict as usize],
                actor: "lead.a".into(),
                reason: "property test".into(),
                at_us: sightline_app::to_micros(hour(at)) - 1,
            });
        }
        let decisions = Decisions::from_rows(&rows);
        let rebuilt = link_records_with(loaded.clone(), ModelChoice::Automatic, &decisions.standing()).unwrap();
        let incremental = link_incrementally(&rebuilt, loaded, &rows).unwrap();
        prop_assert_eq!(changed_persons(&rebuilt, &incremental), 0);
        prop_assert_eq!(partition(&rebuilt), partition(&incremental));
        // A standing non-match is never one person.
        let persons = partition(&rebuilt);
        for (left, right, verdict) in decisions.standing() {
            if verdict == sightline_linkage::Verdict::NonMatch {
                prop_assert_ne!(person_of(&persons, &left), person_of(&persons, &right));
            }
        }
    }
}

#[test]
fn the_engine_loads_and_applies_linkage_decisions() {
    let (_database, store) = sample_store();
    let engine = sightline_app::SharedEngine::load_default(store.as_ref(), instant(2)).unwrap();
    let engine_persons = || engine.read(|engine| partition(engine.linked())).unwrap();
    let before = engine_persons();
    assert_eq!(person_of(&before, POLICE), person_of(&before, REFERRAL));

    // A non-match between two mentions the engine linked splits them there.
    let mut state = LinkedState::load(store.as_ref()).unwrap();
    let (row, _) = decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision(POLICE, REFERRAL, DecisionVerdict::NonMatch),
    )
    .unwrap();
    engine
        .apply_decision(store.as_ref(), &row, instant(2))
        .unwrap();
    let split = engine_persons();
    assert_ne!(person_of(&split, POLICE), person_of(&split, REFERRAL));
    assert_eq!(split, partition(&state.linked), "one picture with review");
    // Applying it again changes nothing; a fresh load links with it.
    engine
        .apply_decision(store.as_ref(), &row, instant(2))
        .unwrap();
    assert_eq!(engine_persons(), split);
    let loaded = sightline_app::SharedEngine::load_default(store.as_ref(), instant(2)).unwrap();
    assert_eq!(
        loaded.read(|engine| partition(engine.linked())).unwrap(),
        split
    );

    // Turned round to a match: one person again.
    let (row, _) = decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision(POLICE, REFERRAL, DecisionVerdict::Match),
    )
    .unwrap();
    engine
        .apply_decision(store.as_ref(), &row, instant(2))
        .unwrap();
    let merged = engine_persons();
    assert_eq!(person_of(&merged, POLICE), person_of(&merged, REFERRAL));
    assert_eq!(merged, partition(&state.linked));

    // Another process's decision is taken when the engine catches up.
    store
        .linkage()
        .record_decision(&decision(GP, POLICE, DecisionVerdict::NonMatch))
        .unwrap();
    drop(engine.write(store.as_ref(), instant(2)).unwrap());
    let persons = engine_persons();
    assert_ne!(person_of(&persons, GP), person_of(&persons, POLICE));

    // Recorded through the engine: withdrawn, the model decides again.
    let mut guard = engine.write(store.as_ref(), instant(2)).unwrap();
    let unknown = guard.decide(
        store.as_ref(),
        &decision(GP, "nobody/none/c", DecisionVerdict::Match),
        instant(2),
    );
    assert!(unknown.is_err());
    assert!(!guard.is_stale(), "a refused decision changes nothing");
    guard
        .decide(
            store.as_ref(),
            &decision(GP, POLICE, DecisionVerdict::Withdrawn),
            instant(2),
        )
        .unwrap();
    drop(guard);
    assert_eq!(engine_persons(), merged);
}
