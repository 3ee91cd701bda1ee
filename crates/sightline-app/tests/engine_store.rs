//! The engine against real databases (SQLite and PostgreSQL): alerts written in
//! the intake transaction equal a batch evaluation of the log; the ticker fires
//! clocks without new records and escalates overdue alerts, team manager then
//! head of service; a decided alert does not escalate.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use sightline_app::SharedEngine;
use sightline_app::picture::{
    alerts_from_firings, evaluate_children, link_records, load_current_records,
};
use sightline_core::interchange::{Format, Limits, parse_batch};
use sightline_store::{AlertFilter, Store};
use std::collections::BTreeMap;

const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 12, 0, 0)
        .single()
        .expect("instant")
}

/// Every stored alert: id -> (severity, evidence record ids).
fn stored(store: &dyn Store) -> BTreeMap<String, (String, Vec<String>)> {
    store
        .alerts()
        .list(&AlertFilter {
            limit: 1_000,
            ..AlertFilter::default()
        })
        .expect("list")
        .into_iter()
        .map(|row| {
            let mut evidence: Vec<String> = store
                .alerts()
                .evidence(&row.id)
                .expect("evidence")
                .into_iter()
                .map(|evidence| format!("{}/{}", evidence.agency, evidence.record_id))
                .collect();
            evidence.sort();
            (row.id, (row.severity, evidence))
        })
        .collect()
}

fn batch(store: &dyn Store, now: DateTime<Utc>) -> BTreeMap<String, (String, Vec<String>)> {
    let linked = link_records(load_current_records(store, None).expect("load")).expect("linked");
    let pack = sightline_rules::default_pack().expect("pack");
    alerts_from_firings(evaluate_children(&linked, &pack, now))
        .into_iter()
        .map(|alert| {
            let mut evidence: Vec<String> = alert
                .evidence
                .iter()
                .map(|evidence| format!("{}/{}", evidence.agency, evidence.record_id))
                .collect();
            evidence.sort();
            (alert.id, (alert.severity.as_str().to_owned(), evidence))
        })
        .collect()
}

#[test]
fn record_by_record_intake_stores_the_batch_alerts_and_the_ticker_escalates() {
    for database in sightline_testkit::all_databases() {
        let store = sightline_store::open(&database.url).expect("open");
        let received_at = at(2007, 6, 1);
        let engine = SharedEngine::load_default(store.as_ref(), received_at).expect("engine");
        // One record per batch, in the order the sample lists them.
        for line in SAMPLE.lines().filter(|line| !line.trim().is_empty()) {
            let records = parse_batch(
                line.as_bytes(),
                Format::JsonLines,
                received_at,
                &Limits::default(),
            )
            .expect("valid");
            sightline_app::ingest_parsed(store.as_ref(), &engine, records, received_at)
                .expect("stored");
        }
        let persisted = stored(store.as_ref());
        assert!(
            persisted.len() >= 3,
            "{:?}: {persisted:?}",
            database.backend
        );
        assert_eq!(
            persisted,
            batch(store.as_ref(), received_at),
            "{:?}",
            database.backend
        );

        // Decide one alert; leave the others open.
        let decided_id = persisted.keys().next().expect("an alert").clone();
        let lead = sightline_app::accounts::Account {
            id: 1,
            username: "lead".to_owned(),
            role: sightline_access::Role::SafeguardingLead,
            agency: sightline_core::AgencyId::parse("social-care").expect("agency"),
            team: None,
        };
        sightline_app::decisions::record_decision(
            store.as_ref(),
            &decided_id,
            &lead,
            "referral_to_social_care",
            "Referred to social care after talking with police",
            &sightline_app::decisions::FollowUpRequest::default(),
            received_at,
        )
        .expect("decided");

        // A month on (wall clock of the tick): clocks that fell due fire without
        // new records, and every open alert is past due: team manager.
        let later = received_at + Duration::days(30);
        let report = engine.tick(store.as_ref(), later).expect("tick");
        assert_eq!(report.escalated_to_head_of_service, 0);
        let open = store
            .alerts()
            .list(&AlertFilter {
                status: Some("open".to_owned()),
                limit: 1_000,
                ..AlertFilter::default()
            })
            .expect("list");
        assert_eq!(
            report.escalated_to_team_manager as usize,
            open.len() - report.alerts.raised as usize
        );
        assert_eq!(
            batch(store.as_ref(), later),
            stored(store.as_ref()),
            "{:?}: the tick raised what a batch evaluation at the later time does",
            database.backend
        );
        for row in &open {
            // The team managers of the agency it was routed to.
            if row.escalation_level == 1 {
                assert!(
                    row.routed_to.starts_with("role:") && row.routed_to.ends_with("/team_manager"),
                    "{}",
                    row.routed_to
                );
            }
        }
        // Another month: head of service; then nothing more.
        let report = engine
            .tick(store.as_ref(), later + Duration::days(30))
            .expect("tick");
        assert!(report.escalated_to_head_of_service >= 1);
        engine
            .tick(store.as_ref(), later + Duration::days(90))
            .expect("tick");
        let decided = store
            .alerts()
            .get(&decided_id)
            .expect("get")
            .expect("alert");
        assert_eq!(
            (decided.status.as_str(), decided.escalation_level),
            ("decided", 0)
        );
        let events = store.alerts().events(&decided_id).expect("events");
        assert!(events.iter().all(|event| event.kind != "escalated"));
        for row in store
            .alerts()
            .list(&AlertFilter {
                status: Some("open".to_owned()),
                limit: 1_000,
                ..AlertFilter::default()
            })
            .expect("list")
        {
            if row.raised_at_us < sightline_app::to_micros(later) {
                assert_eq!(row.escalation_level, 2, "{}", row.id);
                // The head of service of that agency's local authority.
                assert_eq!(
                    row.routed_to,
                    sightline_core::org::Organisation::unconfigured()
                        .default_local_authority()
                        .head_of_service
                        .as_route(),
                    "{}",
                    row.id
                );
            }
        }
    }
}

/// A synthetic region's records, one `Vec` per file (agency), parsed as
/// received at `received_at`.
fn region_batches(
    received_at: DateTime<Utc>,
) -> Vec<Vec<sightline_core::interchange::ParsedRecord>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = sightline_synth::SynthConfig::defaults().expect("defaults");
    config.children = 40;
    config.seed = 11;
    let summary = sightline_synth::generate(&config, dir.path()).expect("region");
    let mut batches = Vec::new();
    for file in &summary.files {
        let bytes = std::fs::read(dir.path().join(file)).expect("read");
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut parsed = parse_batch(
            &bytes,
            Format::JsonLines,
            received_at,
            &Limits {
                records_max: usize::MAX,
                ..Limits::default()
            },
        )
        .expect("valid region");
        // Batches of 50 records, as an agency's feed sends them.
        while !parsed.is_empty() {
            let rest = parsed.split_off(parsed.len().min(50));
            batches.push(std::mem::replace(&mut parsed, rest));
        }
    }
    batches
}

#[test]
fn with_a_record_cache_of_five_bodies_intake_the_ticker_and_a_restart_give_the_batch_alerts() {
    const BOUND: usize = 5;
    for database in sightline_testkit::all_databases() {
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::from(sightline_store::open(&database.url).expect("open"));
        let received_at = at(2030, 1, 1);
        let config = sightline_app::EngineConfig {
            record_cache: Some(sightline_app::bodies::BodyCacheConfig {
                store: store.clone(),
                records_max: BOUND,
            }),
            ..sightline_app::EngineConfig::default()
        };
        let engine = SharedEngine::load_configured(store.as_ref(), config.clone(), received_at)
            .expect("engine");
        let mut n_records = 0;
        for batch in region_batches(received_at) {
            n_records += batch.len();
            sightline_app::ingest_parsed(store.as_ref(), &engine, batch, received_at)
                .expect("stored");
        }
        assert!(n_records > 200, "{n_records}");
        let held = |engine: &SharedEngine| {
            engine
                .read(|engine| engine.linked().records.bodies_held())
                .expect("read")
        };
        // Each batch's bodies leave memory once it is committed.
        assert!(
            held(&engine) <= BOUND,
            "{:?}: {}",
            database.backend,
            held(&engine)
        );
        let persisted = stored(store.as_ref());
        assert!(
            persisted.len() >= 5,
            "{:?}: {}",
            database.backend,
            persisted.len()
        );
        assert_eq!(
            persisted,
            batch(store.as_ref(), received_at),
            "{:?}",
            database.backend
        );

        // The ticker evaluates every child again, reading their records from
        // the log: the same alerts, and the cache within its bound after it.
        let later = received_at + Duration::days(1);
        engine.tick(store.as_ref(), later).expect("tick");
        assert!(
            held(&engine) <= BOUND,
            "{:?}: {}",
            database.backend,
            held(&engine)
        );
        assert_eq!(
            batch(store.as_ref(), later),
            stored(store.as_ref()),
            "{:?}",
            database.backend
        );

        // A restart: the load keeps the bound, and its first tick (every child)
        // changes nothing.
        drop(engine);
        let engine = SharedEngine::load_configured(store.as_ref(), config, later).expect("engine");
        assert!(
            held(&engine) <= BOUND,
            "{:?}: {}",
            database.backend,
            held(&engine)
        );
        let before = stored(store.as_ref());
        let report = engine.tick(store.as_ref(), later).expect("tick");
        assert!(report.alerts.children > 10, "{:?}", report.alerts);
        assert_eq!(report.alerts.raised, 0, "{:?}", database.backend);
        assert_eq!(stored(store.as_ref()), before, "{:?}", database.backend);
        assert!(
            held(&engine) <= BOUND,
            "{:?}: {}",
            database.backend,
            held(&engine)
        );
        // A child page reads its records on demand.
        let (child, n_events) = engine
            .read(|engine| {
                let child = engine.children().next().expect("a child").to_owned();
                let picture = engine.child_picture(&child).expect("picture");
                (child, picture.events().len())
            })
            .expect("read");
        assert!(n_events > 0, "{child}");
    }
}
