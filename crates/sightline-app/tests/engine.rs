//! The intake engine gives the alerts of a batch evaluation whatever the batches:
//! a synthetic region fed to the engine in random slices (in arrival order) ends
//! with the same alerts, same ids, severities and evidence, as linking and
//! evaluating the whole log at once.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use sightline_app::engine::{Engine, EngineConfig};
use sightline_app::picture::{
    LoadedRecord, alerts_from_firings, evaluate_children, link_records, newest_on_arrival,
};
use sightline_core::interchange::{Format, Limits, parse_batch};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// A small synthetic region's records in arrival order (`recorded_at`), with
/// log positions.
fn region() -> &'static Vec<LoadedRecord> {
    static REGION: OnceLock<Vec<LoadedRecord>> = OnceLock::new();
    REGION.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = sightline_synth::SynthConfig::defaults().expect("defaults");
        config.children = 100;
        config.seed = 5;
        let summary = sightline_synth::generate(&config, dir.path()).expect("region");
        let received_at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2030, 1, 1, 0, 0, 0)
            .single()
            .expect("instant");
        let mut records = Vec::new();
        for file in &summary.files {
            let bytes = std::fs::read(dir.path().join(file)).expect("read");
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = parse_batch(
                &bytes,
                Format::JsonLines,
                received_at,
                &Limits {
                    records_max: usize::MAX,
                    ..Limits::default()
                },
            )
            .expect("valid region");
            records.extend(parsed.into_iter().map(|parsed| parsed.record));
        }
        records.sort_by(|a, b| {
            (
                a.recorded_at,
                a.source.agency.as_str(),
                a.source.record_id.as_str(),
                a.source.version,
            )
                .cmp(&(
                    b.recorded_at,
                    b.source.agency.as_str(),
                    b.source.record_id.as_str(),
                    b.source.version,
                ))
        });
        // Corrections: every ninth record is sent again 40 records later as
        // version 2 with its first person's family name changed (which can move
        // the mention to another person), and its version 1 again 60 records
        // later (older than the one held: ignored).
        let mut with_corrections = Vec::new();
        let mut pending: Vec<(usize, sightline_core::Record)> = Vec::new();
        for (idx, record) in records.into_iter().enumerate() {
            if idx % 9 == 4 {
                let mut corrected = record.clone();
                corrected.source.version = 2;
                if let Some(person) = corrected.persons.first_mut() {
                    person.family_name = Some(format!(
                        "{}-Corrected",
                        person.family_name.as_deref().unwrap_or("Unknown")
                    ));
                }
                pending.push((idx + 40, corrected));
                pending.push((idx + 60, record.clone()));
            }
            with_corrections.push(record);
            while let Some(position) = pending.iter().position(|(at, _)| *at <= idx) {
                with_corrections.push(pending.remove(position).1);
            }
        }
        with_corrections.extend(pending.into_iter().map(|(_, record)| record));
        with_corrections
            .into_iter()
            .enumerate()
            .map(|(idx, record)| LoadedRecord {
                seq: idx as i64 + 1,
                received_at: record.recorded_at,
                record,
            })
            .collect()
    })
}

/// A person as compared: id, mentions (record, person index), whether a child.
type PersonSummary = (String, Vec<(usize, usize)>, bool);

/// An alert as compared: id, rule, child, severity, raised_at, evidence.
type Compared = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    BTreeSet<String>,
);

fn batch_alerts(records: &[LoadedRecord], now: DateTime<Utc>) -> BTreeMap<String, Compared> {
    // What a fresh load computes: every version newest on arrival, linked in
    // log order, the picture from the current ones.
    let linked = link_records(newest_on_arrival(records.to_vec())).expect("linked");
    let pack = sightline_rules::default_pack().expect("pack");
    alerts_from_firings(evaluate_children(&linked, &pack, now))
        .into_iter()
        .map(|alert| {
            let evidence = alert
                .evidence
                .iter()
                .map(|evidence| format!("{}/{}", evidence.agency, evidence.record_id))
                .collect();
            (
                alert.id.clone(),
                (
                    alert.id,
                    alert.rule_id,
                    alert.child_id,
                    alert.severity.as_str().to_owned(),
                    alert.raised_at,
                    evidence,
                ),
            )
        })
        .collect()
}

/// Feeds the records to an engine in slices, evaluating after each at the
/// slice's logical time, and merges the alerts as the store's upsert does (new
/// ids inserted, evidence added, severity raised).
fn engine_alerts(
    records: &[LoadedRecord],
    cuts: &[usize],
    now: DateTime<Utc>,
) -> BTreeMap<String, Compared> {
    let pack = sightline_rules::default_pack().expect("pack");
    let mut engine =
        Engine::from_records(pack, EngineConfig::default(), Vec::new()).expect("engine");
    let mut merged: BTreeMap<String, Compared> = BTreeMap::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|cut| *cut < records.len())
        .collect();
    bounds.push(records.len());
    bounds.sort_unstable();
    bounds.dedup();
    for end in bounds {
        if end <= start {
            continue;
        }
        let slice = records[start..end].to_vec();
        let slice_now = if end == records.len() {
            now
        } else {
            slice
                .iter()
                .map(|loaded| loaded.record.recorded_at)
                .max()
                .expect("non-empty")
        };
        let children = engine.add_records(slice).expect("added");
        for routed in engine.evaluate(&children, slice_now).alerts {
            let alert = routed.alert;
            let evidence: BTreeSet<String> = alert
                .evidence
                .iter()
                .map(|evidence| format!("{}/{}", evidence.agency, evidence.record_id))
                .collect();
            let entry = merged.entry(alert.id.clone()).or_insert_with(|| {
                (
                    alert.id.clone(),
                    alert.rule_id.clone(),
                    alert.child_id.clone(),
                    alert.severity.as_str().to_owned(),
                    alert.raised_at,
                    BTreeSet::new(),
                )
            });
            entry.5.extend(evidence);
            if severity_rank(alert.severity.as_str()) > severity_rank(&entry.3) {
                entry.3 = alert.severity.as_str().to_owned();
            }
        }
        start = end;
    }
    // The last slice saw every child the batch evaluation does; the time-based
    // rules of the others run at the tick.
    let due = engine.due_children(now);
    for routed in engine.evaluate(&due, now).alerts {
        let alert = routed.alert;
        let entry = merged.entry(alert.id.clone()).or_insert_with(|| {
            (
                alert.id.clone(),
                alert.rule_id.clone(),
                alert.child_id.clone(),
                alert.severity.as_str().to_owned(),
                alert.raised_at,
                BTreeSet::new(),
            )
        });
        entry.5.extend(
            alert
                .evidence
                .iter()
                .map(|evidence| format!("{}/{}", evidence.agency, evidence.record_id)),
        );
    }
    merged
}

fn severity_rank(severity: &str) -> usize {
    ["low", "medium", "high", "critical"]
        .iter()
        .position(|name| *name == severity)
        .unwrap_or(0)
}

fn check(cuts: &[usize]) {
    let records = region();
    let now = records.last().expect("records").record.recorded_at + chrono::Duration::days(30);
    let batch = batch_alerts(records, now);
    let engine = engine_alerts(records, cuts, now);
    assert!(
        batch.len() >= 5,
        "the region raises alerts: {}",
        batch.len()
    );
    let batch_ids: BTreeSet<&String> = batch.keys().collect();
    let engine_ids: BTreeSet<&String> = engine.keys().collect();
    assert_eq!(
        batch_ids.difference(&engine_ids).count() + engine_ids.difference(&batch_ids).count(),
        0,
        "batch only: {:?}\nengine only: {:?}",
        batch_ids
            .difference(&engine_ids)
            .map(|id| &batch[*id])
            .collect::<Vec<_>>(),
        engine_ids
            .difference(&batch_ids)
            .map(|id| &engine[*id])
            .collect::<Vec<_>>()
    );
    for (id, alert) in &batch {
        assert_eq!(alert, &engine[id]);
    }
}

#[test]
fn one_batch_and_one_record_at_a_time_give_the_batch_alerts() {
    let n_records = region().len();
    // The region holds corrections: later versions supersede records linked earlier.
    let superseding = region()
        .iter()
        .filter(|loaded| loaded.record.source.version > 1)
        .count();
    assert!(superseding > 0, "the region holds later versions");
    check(&[]);
    check(&(1..n_records).step_by(1).collect::<Vec<_>>());
}

#[test]
fn the_memory_report_counts_every_record_and_mention_it_holds() {
    let records = region();
    let pack = sightline_rules::default_pack().expect("pack");
    let engine =
        Engine::from_records(pack, EngineConfig::default(), records.clone()).expect("engine");
    let held = newest_on_arrival(records.clone());
    let n_mentions: usize = held.iter().map(|loaded| loaded.record.persons.len()).sum();
    let report = engine.memory_report();
    let part = |name: &str| {
        report
            .parts
            .iter()
            .find(|part| part.name == name)
            .unwrap_or_else(|| panic!("no part {name}"))
            .clone()
    };
    // Without a record cache every body is held.
    assert_eq!(part("records/seq of each").items, held.len() as u64);
    assert_eq!(part("records/bodies held: struct").items, held.len() as u64);
    assert_eq!(part("mentions/refs").items, n_mentions as u64);
    assert_eq!(
        part("records/bodies held: struct").bytes,
        (held.len() * std::mem::size_of::<LoadedRecord>()) as u64
    );
    assert!(part("records/bodies held: persons").bytes > 0);
    assert_eq!(
        part("linkage index/prepared mentions/mention keys").items,
        n_mentions as u64
    );
    assert!(report.bytes_under("linkage index") > 0);
    assert_eq!(
        report.total_bytes(),
        report.parts.iter().map(|part| part.bytes).sum::<u64>()
    );
    // The table names every part once.
    let table = report.to_string();
    for part in &report.parts {
        assert_eq!(table.matches(&format!("| {} |", part.name)).count(), 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn any_slicing_gives_the_persons_of_a_fresh_load(cuts in proptest::collection::vec(0usize..2_000, 0..12)) {
        let records = region();
        let n_records = records.len();
        let pack = sightline_rules::default_pack().expect("pack");
        let fresh = Engine::from_records(pack.clone(), EngineConfig::default(), records.clone()).expect("fresh");
        let mut engine = Engine::from_records(pack, EngineConfig::default(), Vec::new()).expect("engine");
        let mut bounds: Vec<usize> = cuts.into_iter().map(|cut| cut % n_records.max(1)).collect();
        bounds.push(n_records);
        bounds.sort_unstable();
        bounds.dedup();
        let mut start = 0;
        for end in bounds {
            engine.add_records(records[start..end].to_vec()).expect("added");
            start = end;
        }
        prop_assert_eq!(&engine.linked().person_of_mention, &fresh.linked().person_of_mention);
        let facts = |engine: &Engine| -> Vec<PersonSummary> {
            engine.facts().values().map(|facts| (
                facts.id.clone(),
                facts.mentions.iter().map(|mention| (mention.record_idx, mention.person_idx)).collect(),
                facts.is_child,
            )).collect()
        };
        prop_assert_eq!(facts(&engine), facts(&fresh));
        // The picture reads only the newest version of each record.
        for facts in engine.facts().values() {
            for mention in &facts.mentions {
                prop_assert!(engine.linked().is_current(mention.record_idx));
            }
        }
    }

    /// The clocks My work and the clocks API list come from the engine's clock
    /// book, kept at intake and tick; at every tick they are exactly what
    /// sweeping every child of the agency at that time gives.
    #[test]
    fn the_clock_book_lists_what_the_sweep_does(cuts in proptest::collection::vec(0usize..2_000, 0..8)) {
        use sightline_app::clocks::{agency_clocks_due, children_of_agency, clocks_due};
        let records = region();
        let n_records = records.len();
        let pack = sightline_rules::default_pack().expect("pack");
        let mut engine = Engine::from_records(pack, EngineConfig::default(), Vec::new()).expect("engine");
        let agencies: BTreeSet<String> = records
            .iter()
            .filter(|loaded| loaded.record.kind.as_str().starts_with("social_care."))
            .map(|loaded| loaded.record.source.agency.as_str().to_owned())
            .collect();
        prop_assert!(!agencies.is_empty());
        // Random slices, and a tick a quarter, half and three quarters through.
        let mut bounds: Vec<usize> = cuts.into_iter().map(|cut| cut % n_records.max(1)).collect();
        bounds.extend([n_records / 4, n_records / 2, 3 * n_records / 4, n_records]);
        bounds.sort_unstable();
        bounds.dedup();
        let mut start = 0;
        let mut n_listed = 0;
        for end in bounds {
            if end <= start {
                continue;
            }
            let slice = records[start..end].to_vec();
            let slice_now = slice.iter().map(|loaded| loaded.record.recorded_at).max().expect("non-empty");
            let children = engine.add_records(slice).expect("added");
            engine.evaluate(&children, slice_now);
            start = end;
            // The tick a day later: the children whose time came are evaluated again.
            let now = slice_now + chrono::Duration::days(1);
            let due = engine.due_children(now);
            engine.evaluate(&due, now);
            prop_assert!(engine.clock_book().is_complete());
            for agency in &agencies {
                for within_days in [10, 400] {
                    let book = agency_clocks_due(&engine, agency, now, within_days, usize::MAX);
                    let sweep = clocks_due(&engine, &children_of_agency(&engine, agency), now, within_days, usize::MAX);
                    prop_assert_eq!(&book, &sweep, "{} within {} days at {}", agency, within_days, now);
                    n_listed += book.len();
                }
            }
        }
        prop_assert!(n_listed > 0, "the region has open clocks");
        // A freshly loaded engine has evaluated nobody: it sweeps until it has.
        let loaded = Engine::from_records(sightline_rules::default_pack().expect("pack"), EngineConfig::default(), records.clone()).expect("loaded");
        prop_assert!(!loaded.clock_book().is_complete());
    }

    #[test]
    fn any_slicing_gives_the_batch_alerts(cuts in proptest::collection::vec(0usize..2_000, 0..12)) {
        let n_records = region().len();
        let cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % n_records.max(1)).collect();
        check(&cuts);
    }
}
