//! Alert storage, run against both backends: upsert semantics and idempotence,
//! reopening, decisions, escalation, listing, the append-only triggers, rollback
//! with the record transaction, and migrating an existing database.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sightline_store::{
    AlertChange, AlertCounts, AlertCursor, AlertFilter, AlertRow, AlertStore, AlertUpsert,
    Assigned, Assignment, Decision, EvidenceRow, FollowUpFilter, FollowUpPlan, Holder, Reopening,
    SEVERITIES, Store, StoreError, severity_rank,
};
use support::{TestDb, record};

macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = crate::support::sqlite_db();
                    super::$name(&db);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(db) = crate::support::pg_db() else { return };
                    super::$name(&db);
                }
            )*
        }
    };
}

backend_tests!(
    upsert_raises_adds_evidence_and_is_idempotent,
    same_alert_twice_in_one_slice,
    large_slices_span_several_statements,
    invalid_upsert_rejects_the_slice_without_poisoning,
    decided_alert_reopens_on_new_evidence_only,
    decide_checks_the_alert_and_the_words,
    escalate_only_upwards_and_only_open,
    reroute_open_alerts_once,
    list_filters_order_and_pages,
    history_is_append_only,
    dropped_transaction_drops_its_alerts,
    upsert_waits_for_a_decision_in_flight,
    concurrent_decisions_one_wins,
    upsert_matches_the_model,
    batch_and_incremental_upserts_agree,
    assignment_is_a_person_s_event_on_open_alerts,
    people_reopen_decided_alerts_with_a_reason,
    decisions_set_follow_ups_recorded_done_once,
    follow_ups_are_append_only_but_for_done,
    holders_counts_and_pages_both_ways_match_the_model,
);

const HOUR: i64 = 3_600_000_000;

fn ev(agency: &str, record_id: &str, version: i64) -> EvidenceRow {
    EvidenceRow {
        agency: agency.to_owned(),
        record_id: record_id.to_owned(),
        version,
    }
}

fn alert(id: &str, child_id: &str, severity: &str, due_at_us: i64) -> AlertRow {
    AlertRow {
        id: id.to_owned(),
        child_id: child_id.to_owned(),
        person_id: Some(format!("p-{child_id}")),
        rule_id: "injury-non-mobile".to_owned(),
        pack_name: "default".to_owned(),
        pack_version: "1".to_owned(),
        severity: severity.to_owned(),
        title: "Injury in a child not independently mobile".to_owned(),
        explanation: "A bruise was recorded for a child who is not mobile.".to_owned(),
        citation: "safeguarding-facts.md#bruising".to_owned(),
        route: "allocated worker, else duty team".to_owned(),
        routed_to: "team:north-la/duty".to_owned(),
        raised_at_us: 10 * HOUR,
        updated_at_us: 0,
        due_at_us,
        status: "open".to_owned(),
        escalation_level: 0,
        decided_at_us: None,
        assigned_to: None,
    }
}

fn upsert(alert: AlertRow, evidence: &[EvidenceRow]) -> AlertUpsert {
    AlertUpsert {
        alert,
        evidence: evidence.to_vec(),
    }
}

fn upsert_committed(store: &dyn Store, upserts: &[AlertUpsert], at_us: i64) -> Vec<AlertChange> {
    let mut tx = store.begin().unwrap();
    let changes = tx.upsert_alerts(upserts, at_us).unwrap();
    tx.commit().unwrap();
    changes
}

fn kinds(alerts: &dyn AlertStore, id: &str) -> Vec<String> {
    alerts
        .events(id)
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

fn decision(alert_id: &str, at_us: i64) -> Decision {
    Decision {
        alert_id: alert_id.to_owned(),
        actor: "sw.jones".to_owned(),
        decision: "visit".to_owned(),
        reason: "Home visit arranged with the health visitor.".to_owned(),
        at_us,
        follow_up: None,
    }
}

fn upsert_raises_adds_evidence_and_is_idempotent(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-0000000000000001";
    let first = upsert(
        alert(id, "c1", "high", 14 * HOUR),
        &[ev("police", "DA-1", 1), ev("health", "H-9", 2)],
    );
    assert_eq!(
        upsert_committed(store, std::slice::from_ref(&first), 11 * HOUR),
        vec![AlertChange::Raised { id: id.into() }]
    );
    let stored = alerts.get(id).unwrap().unwrap();
    let mut expected = first.alert.clone();
    expected.updated_at_us = 11 * HOUR;
    assert_eq!(stored, expected);
    assert_eq!(
        alerts.evidence(id).unwrap(),
        vec![ev("health", "H-9", 2), ev("police", "DA-1", 1)]
    );
    let events = alerts.events(id).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "raised");
    assert_eq!(events[0].at_us, 11 * HOUR);
    assert_eq!(events[0].detail.as_deref(), Some("{\"evidence\":2}"));
    assert_eq!(events[0].actor, None);

    // The same again, even with other descriptive fields and a later time: nothing.
    let mut again = first.clone();
    again.alert.title = "Changed title".into();
    again.alert.due_at_us = 99 * HOUR;
    assert_eq!(
        upsert_committed(store, &[again], 12 * HOUR),
        vec![AlertChange::Unchanged { id: id.into() }]
    );
    assert_eq!(alerts.get(id).unwrap().unwrap(), expected);
    assert_eq!(kinds(alerts, id), ["raised"]);

    // One new evidence record among known ones; a lower severity is ignored.
    let more = upsert(
        alert(id, "c1", "low", 14 * HOUR),
        &[ev("police", "DA-1", 1), ev("police", "DA-1", 2)],
    );
    assert_eq!(
        upsert_committed(store, &[more], 13 * HOUR),
        vec![AlertChange::EvidenceAdded {
            id: id.into(),
            n: 1
        }]
    );
    let stored = alerts.get(id).unwrap().unwrap();
    assert_eq!(stored.severity, "high");
    assert_eq!(
        stored.updated_at_us,
        11 * HOUR,
        "evidence is not a state change"
    );
    assert_eq!(alerts.evidence(id).unwrap().len(), 3);

    // A higher severity with no new evidence.
    let higher = upsert(alert(id, "c1", "critical", 1), &[ev("police", "DA-1", 1)]);
    assert_eq!(
        upsert_committed(store, std::slice::from_ref(&higher), 14 * HOUR),
        vec![AlertChange::SeverityRaised { id: id.into() }]
    );
    let stored = alerts.get(id).unwrap().unwrap();
    assert_eq!(stored.severity, "critical");
    assert_eq!(stored.updated_at_us, 14 * HOUR);
    assert_eq!(
        stored.due_at_us,
        14 * HOUR,
        "an open alert keeps its due time"
    );
    assert_eq!(
        upsert_committed(store, &[higher], 15 * HOUR),
        vec![AlertChange::Unchanged { id: id.into() }]
    );
    assert_eq!(
        kinds(alerts, id),
        ["raised", "evidence_added", "severity_raised"]
    );
    let events = alerts.events(id).unwrap();
    assert!(events.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert_eq!(events[1].detail.as_deref(), Some("{\"n\":1}"));
    assert_eq!(
        events[2].detail.as_deref(),
        Some("{\"from\":\"high\",\"to\":\"critical\"}")
    );

    // Both at once: evidence first, then severity.
    let both = upsert(alert(id, "c1", "critical", 1), &[ev("school", "S-1", 1)]);
    assert_eq!(
        upsert_committed(store, &[both], 16 * HOUR),
        vec![AlertChange::EvidenceAdded {
            id: id.into(),
            n: 1
        }]
    );
    assert_eq!(alerts.get("a-ffffffffffffffff").unwrap(), None);
    assert!(alerts.evidence("a-ffffffffffffffff").unwrap().is_empty());
    assert!(alerts.events("a-ffffffffffffffff").unwrap().is_empty());
}

fn same_alert_twice_in_one_slice(db: &TestDb) {
    let store = &*db.store;
    let a = upsert(alert("a-01", "c1", "medium", HOUR), &[ev("police", "1", 1)]);
    let b = upsert(
        alert("a-01", "c1", "high", HOUR),
        &[ev("police", "1", 1), ev("police", "2", 1)],
    );
    let c = upsert(alert("a-02", "c2", "low", HOUR), &[]);
    assert_eq!(
        upsert_committed(store, &[a.clone(), a.clone(), b, c], HOUR),
        vec![
            AlertChange::Raised { id: "a-01".into() },
            AlertChange::Unchanged { id: "a-01".into() },
            AlertChange::EvidenceAdded {
                id: "a-01".into(),
                n: 1
            },
            AlertChange::SeverityRaised { id: "a-01".into() },
            AlertChange::Raised { id: "a-02".into() },
        ]
    );
    assert!(store.alerts().evidence("a-02").unwrap().is_empty());
    assert_eq!(
        store.alerts().events("a-02").unwrap()[0].detail.as_deref(),
        Some("{\"evidence\":0}")
    );
}

/// More alerts, evidence and events than one multi-row statement carries, each id
/// twice, with an evidence record repeated inside one input.
fn large_slices_span_several_statements(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let n_alerts = 301;
    let first: Vec<AlertUpsert> = (0..n_alerts)
        .map(|idx| {
            upsert(
                alert(&format!("a-{idx:016x}"), "c1", "low", HOUR),
                &[
                    ev("police", &idx.to_string(), 1),
                    ev("police", &idx.to_string(), 1),
                ],
            )
        })
        .collect();
    let second: Vec<AlertUpsert> = first
        .iter()
        .map(|one| {
            let mut more = one.clone();
            more.alert.severity = "high".into();
            more.evidence.push(ev("health", &one.alert.id, 1));
            more
        })
        .collect();
    let slice: Vec<AlertUpsert> = first.iter().chain(&second).cloned().collect();
    let changes = upsert_committed(store, &slice, HOUR);
    assert_eq!(changes.len(), n_alerts * 3);
    assert_eq!(alerts.count(&AlertFilter::default()).unwrap(), 301);
    assert_eq!(
        alerts
            .count(&AlertFilter {
                severity: Some("high".into()),
                ..AlertFilter::default()
            })
            .unwrap(),
        301
    );
    for idx in [0, 255, 256, 300] {
        let id = format!("a-{idx:016x}");
        assert_eq!(alerts.evidence(&id).unwrap().len(), 2);
        assert_eq!(
            kinds(alerts, &id),
            ["raised", "evidence_added", "severity_raised"]
        );
        assert_eq!(
            alerts.events(&id).unwrap()[0].detail.as_deref(),
            Some("{\"evidence\":1}")
        );
    }
    // The whole slice again, then decided and re-raised in one large slice.
    let again = upsert_committed(store, &slice, 2 * HOUR);
    assert!(
        again
            .iter()
            .all(|change| matches!(change, AlertChange::Unchanged { .. }))
    );
    for one in first.iter().step_by(2) {
        alerts.decide(&decision(&one.alert.id, 3 * HOUR)).unwrap();
    }
    let renewed: Vec<AlertUpsert> = second
        .iter()
        .map(|one| {
            let mut more = one.clone();
            more.evidence.push(ev("school", &one.alert.id, 1));
            more.alert.due_at_us = 50 * HOUR;
            more
        })
        .collect();
    let changes = upsert_committed(store, &renewed, 4 * HOUR);
    let n_reopened = changes
        .iter()
        .filter(|change| matches!(change, AlertChange::Reopened { .. }))
        .count();
    assert_eq!(n_reopened, 151);
    assert_eq!(
        alerts
            .count(&AlertFilter {
                status: Some("open".into()),
                ..AlertFilter::default()
            })
            .unwrap(),
        301
    );
}

fn invalid_upsert_rejects_the_slice_without_poisoning(db: &TestDb) {
    let store = &*db.store;
    let good = upsert(alert("a-01", "c1", "high", HOUR), &[ev("police", "1", 1)]);
    let mut bad_severity = good.clone();
    bad_severity.alert.id = "a-02".into();
    bad_severity.alert.severity = "urgent".into();
    let mut bad_evidence = good.clone();
    bad_evidence.alert.id = "a-03".into();
    bad_evidence.evidence = vec![ev("police", "1", 0)];
    let mut no_child = good.clone();
    no_child.alert.child_id = String::new();
    let mut tx = store.begin().unwrap();
    tx.append(&[record("police", "1", 1, 1)]).unwrap();
    for bad in [bad_severity, bad_evidence, no_child] {
        let result = tx.upsert_alerts(&[good.clone(), bad], HOUR);
        assert!(
            matches!(result, Err(StoreError::InvalidAlert { .. })),
            "{result:?}"
        );
    }
    // Nothing was written and the transaction still works.
    assert_eq!(
        tx.upsert_alerts(&[good], HOUR).unwrap(),
        vec![AlertChange::Raised { id: "a-01".into() }]
    );
    tx.commit().unwrap();
    assert_eq!(store.count_records().unwrap(), 1);
    assert_eq!(store.alerts().count(&AlertFilter::default()).unwrap(), 1);
}

fn decided_alert_reopens_on_new_evidence_only(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-0000000000000002";
    let raised = upsert(alert(id, "c1", "medium", 5 * HOUR), &[ev("police", "1", 1)]);
    upsert_committed(store, std::slice::from_ref(&raised), HOUR);
    alerts
        .escalate(id, 1, "user:tm.smith", 8 * HOUR, 6 * HOUR, None)
        .unwrap();
    let decided = alerts.decide(&decision(id, 7 * HOUR)).unwrap();
    assert_eq!(decided.status, "decided");
    assert_eq!(decided.decided_at_us, Some(7 * HOUR));

    // The same evidence again: still decided.
    assert_eq!(
        upsert_committed(store, std::slice::from_ref(&raised), 8 * HOUR),
        vec![AlertChange::Unchanged { id: id.into() }]
    );
    assert_eq!(alerts.get(id).unwrap().unwrap().status, "decided");
    // A higher severity alone does not reopen either.
    let mut higher = raised.clone();
    higher.alert.severity = "high".into();
    assert_eq!(
        upsert_committed(store, std::slice::from_ref(&higher), 8 * HOUR),
        vec![AlertChange::SeverityRaised { id: id.into() }]
    );
    assert_eq!(alerts.get(id).unwrap().unwrap().status, "decided");

    // New evidence reopens it with the caller's due time and routing, unescalated.
    let mut renewed = upsert(
        alert(id, "c1", "high", 20 * HOUR),
        &[ev("police", "1", 1), ev("health", "7", 1)],
    );
    renewed.alert.routed_to = "user:sw.jones".into();
    assert_eq!(
        upsert_committed(store, &[renewed.clone()], 9 * HOUR),
        vec![
            AlertChange::EvidenceAdded {
                id: id.into(),
                n: 1
            },
            AlertChange::Reopened { id: id.into() },
        ]
    );
    let reopened = alerts.get(id).unwrap().unwrap();
    assert_eq!(reopened.status, "open");
    assert_eq!(reopened.due_at_us, 20 * HOUR);
    assert_eq!(reopened.routed_to, "user:sw.jones");
    assert_eq!(reopened.escalation_level, 0);
    assert_eq!(reopened.decided_at_us, None);
    assert_eq!(reopened.updated_at_us, 9 * HOUR);
    assert_eq!(reopened.raised_at_us, raised.alert.raised_at_us);
    assert_eq!(
        upsert_committed(store, &[renewed], 10 * HOUR),
        vec![AlertChange::Unchanged { id: id.into() }]
    );
    assert_eq!(
        kinds(alerts, id),
        [
            "raised",
            "escalated",
            "decided",
            "severity_raised",
            "evidence_added",
            "reopened"
        ]
    );
    // It can be decided again; the first decision stays in the history.
    alerts.decide(&decision(id, 11 * HOUR)).unwrap();
    let decided_events: Vec<i64> = alerts
        .events(id)
        .unwrap()
        .into_iter()
        .filter(|event| event.kind == "decided")
        .map(|event| event.at_us)
        .collect();
    assert_eq!(decided_events, [7 * HOUR, 11 * HOUR]);
}

fn decide_checks_the_alert_and_the_words(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-03";
    assert!(matches!(
        alerts.decide(&decision(id, HOUR)),
        Err(StoreError::AlertNotFound)
    ));
    upsert_committed(
        store,
        &[upsert(alert(id, "c1", "high", 2 * HOUR), &[])],
        HOUR,
    );
    for (actor, word, reason) in [
        ("", "visit", "why"),
        ("sw.jones", "", "why"),
        ("sw.jones", "visit", ""),
        ("sw.jones", "visit", "   "),
    ] {
        let result = alerts.decide(&Decision {
            alert_id: id.into(),
            actor: actor.into(),
            decision: word.into(),
            reason: reason.into(),
            at_us: 2 * HOUR,
            follow_up: None,
        });
        assert!(
            matches!(result, Err(StoreError::InvalidAlert { .. })),
            "{result:?}"
        );
    }
    assert_eq!(alerts.get(id).unwrap().unwrap().status, "open");
    assert_eq!(kinds(alerts, id), ["raised"]);

    let decided = alerts.decide(&decision(id, 3 * HOUR)).unwrap();
    assert_eq!(decided.status, "decided");
    assert_eq!(decided.decided_at_us, Some(3 * HOUR));
    assert_eq!(decided.updated_at_us, 3 * HOUR);
    assert_eq!(alerts.get(id).unwrap().unwrap(), decided);
    let events = alerts.events(id).unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "decided");
    assert_eq!(last.actor.as_deref(), Some("sw.jones"));
    assert_eq!(last.decision.as_deref(), Some("visit"));
    assert_eq!(
        last.reason.as_deref(),
        Some("Home visit arranged with the health visitor.")
    );
    assert!(matches!(
        alerts.decide(&decision(id, 4 * HOUR)),
        Err(StoreError::AlertNotOpen)
    ));
    assert_eq!(alerts.events(id).unwrap().len(), 2);
}

fn escalate_only_upwards_and_only_open(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-04";
    assert!(matches!(
        alerts.escalate(id, 1, "user:tm", HOUR, HOUR, None),
        Err(StoreError::AlertNotFound)
    ));
    upsert_committed(
        store,
        &[upsert(alert(id, "c1", "critical", 4 * HOUR), &[])],
        HOUR,
    );
    let detail = "{\"from\":\"team:north-la/duty\",\"overdue_us\":1}";
    let first = alerts
        .escalate(id, 1, "user:tm.smith", 9 * HOUR, 5 * HOUR, Some(detail))
        .unwrap();
    assert_eq!(first.escalation_level, 1);
    assert_eq!(first.routed_to, "user:tm.smith");
    assert_eq!(first.due_at_us, 9 * HOUR);
    assert_eq!(first.updated_at_us, 5 * HOUR);
    assert_eq!(first.status, "open");
    for level in [0, 1] {
        let result = alerts.escalate(id, level, "user:x", HOUR, 6 * HOUR, None);
        assert!(
            matches!(result, Err(StoreError::EscalationNotHigher { current: 1 })),
            "{result:?}"
        );
    }
    for (level, target) in [(3, "user:x"), (-1, "user:x"), (2, "")] {
        let result = alerts.escalate(id, level, target, HOUR, 6 * HOUR, None);
        assert!(
            matches!(result, Err(StoreError::InvalidAlert { .. })),
            "{result:?}"
        );
    }
    let second = alerts
        .escalate(id, 2, "user:hos.brown", 12 * HOUR, 10 * HOUR, None)
        .unwrap();
    assert_eq!(second.escalation_level, 2);
    assert_eq!(alerts.get(id).unwrap().unwrap(), second);
    let events = alerts.events(id).unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["raised", "escalated", "escalated"]
    );
    assert_eq!(events[1].detail.as_deref(), Some(detail));
    assert_eq!(events[1].at_us, 5 * HOUR);
    assert_eq!(events[2].detail, None);

    alerts.decide(&decision("a-04", 11 * HOUR)).unwrap();
    upsert_committed(
        store,
        &[upsert(alert("a-05", "c1", "low", HOUR), &[])],
        HOUR,
    );
    alerts.decide(&decision("a-05", 2 * HOUR)).unwrap();
    assert!(matches!(
        alerts.escalate("a-05", 1, "user:tm", HOUR, 3 * HOUR, None),
        Err(StoreError::AlertNotOpen)
    ));
}

fn reroute_open_alerts_once(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-11";
    assert!(matches!(
        alerts.reroute(id, "user:sw.jones", HOUR, None),
        Err(StoreError::AlertNotFound)
    ));
    upsert_committed(
        store,
        &[upsert(alert(id, "c1", "medium", 5 * HOUR), &[])],
        HOUR,
    );
    let detail = "{\"reason\":\"allocated\"}";
    let moved = alerts
        .reroute(id, "user:sw.jones", 2 * HOUR, Some(detail))
        .unwrap();
    assert_eq!(moved.routed_to, "user:sw.jones");
    assert_eq!(moved.due_at_us, 5 * HOUR);
    assert_eq!(moved.escalation_level, 0);
    assert_eq!(moved.updated_at_us, 2 * HOUR);
    // Again to the same place: nothing happens.
    assert_eq!(
        alerts.reroute(id, "user:sw.jones", 3 * HOUR, None).unwrap(),
        moved
    );
    assert!(matches!(
        alerts.reroute(id, "", 3 * HOUR, None),
        Err(StoreError::InvalidAlert { .. })
    ));
    let events = alerts.events(id).unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["raised", "rerouted"]
    );
    assert_eq!(events[1].detail.as_deref(), Some(detail));
    alerts.decide(&decision(id, 4 * HOUR)).unwrap();
    assert!(matches!(
        alerts.reroute(id, "user:other", 5 * HOUR, None),
        Err(StoreError::AlertNotOpen)
    ));
}

/// The list order, computed in Rust: overdue first, severity high to low, due
/// time, id.
fn expected_order(rows: &mut [AlertRow], now_us: Option<i64>) {
    rows.sort_by_key(|row| {
        let overdue = now_us.is_some_and(|now| row.status == "open" && row.due_at_us < now);
        (
            !overdue,
            std::cmp::Reverse(severity_rank(&row.severity)),
            row.due_at_us,
            row.id.clone(),
        )
    });
}

/// Which rows a filter should keep, computed in Rust.
type Keep = Box<dyn Fn(&AlertRow) -> bool>;

fn list_filters_order_and_pages(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let mut upserts = Vec::new();
    for idx in 0..23_i64 {
        let severity = SEVERITIES[usize::try_from(idx % 4).unwrap()];
        let mut row = alert(
            &format!("a-{:016x}", idx * 7919 % 101),
            &format!("c{}", idx % 3),
            severity,
            (idx % 5) * HOUR,
        );
        row.routed_to = format!("user:w{}", idx % 4);
        upserts.push(upsert(row, &[ev("police", &idx.to_string(), 1)]));
    }
    upsert_committed(store, &upserts, 0);
    for idx in [1, 5, 9, 14] {
        alerts
            .decide(&decision(&upserts[idx].alert.id, HOUR))
            .unwrap();
    }
    let all: Vec<AlertRow> = upserts
        .iter()
        .map(|u| alerts.get(&u.alert.id).unwrap().unwrap())
        .collect();

    let now = Some(3 * HOUR);
    let filters: Vec<(AlertFilter, Keep)> = vec![
        (AlertFilter::default(), Box::new(|_| true)),
        (
            AlertFilter {
                child_id: Some("c1".into()),
                ..AlertFilter::default()
            },
            Box::new(|row| row.child_id == "c1"),
        ),
        (
            AlertFilter {
                severity: Some("high".into()),
                status: Some("open".into()),
                ..AlertFilter::default()
            },
            Box::new(|row| row.severity == "high" && row.status == "open"),
        ),
        (
            AlertFilter {
                overdue_at_us: Some(2 * HOUR),
                ..AlertFilter::default()
            },
            Box::new(|row| row.status == "open" && row.due_at_us < 2 * HOUR),
        ),
        (
            AlertFilter {
                routed_to: Some(vec!["user:w1".into(), "user:w3".into()]),
                status: Some("decided".into()),
                ..AlertFilter::default()
            },
            Box::new(|row| {
                (row.routed_to == "user:w1" || row.routed_to == "user:w3")
                    && row.status == "decided"
            }),
        ),
        (
            AlertFilter {
                routed_to: Some(Vec::new()),
                ..AlertFilter::default()
            },
            Box::new(|_| false),
        ),
    ];
    for (filter, keep) in filters {
        for now_us in [None, now] {
            let mut expected: Vec<AlertRow> = all.iter().filter(|r| keep(r)).cloned().collect();
            expected_order(&mut expected, now_us);
            let filter = AlertFilter {
                now_us,
                ..filter.clone()
            };
            assert_eq!(
                alerts.count(&filter).unwrap(),
                u64::try_from(expected.len()).unwrap()
            );
            let whole = alerts
                .list(&AlertFilter {
                    limit: 1_000,
                    ..filter.clone()
                })
                .unwrap();
            assert_eq!(whole, expected, "{filter:?}");
            // Paging by 4 through a cursor token gives the same rows.
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = alerts
                    .list(&AlertFilter {
                        after: after.clone(),
                        limit: 4,
                        ..filter.clone()
                    })
                    .unwrap();
                assert!(page.len() <= 4);
                let Some(last) = page.last() else { break };
                let token = AlertCursor::after(last, now_us).to_token();
                after = Some(AlertCursor::from_token(&token).unwrap());
                paged.extend(page);
            }
            assert_eq!(paged, expected, "paged {filter:?}");
        }
    }
    assert!(
        alerts
            .list(&AlertFilter {
                limit: 0,
                ..AlertFilter::default()
            })
            .unwrap()
            .is_empty()
    );
    let mut overdue: Vec<AlertRow> = all
        .iter()
        .filter(|row| row.status == "open" && row.due_at_us < 3 * HOUR)
        .cloned()
        .collect();
    expected_order(&mut overdue, now);
    assert_eq!(alerts.overdue(3 * HOUR, 1_000).unwrap(), overdue);
    assert_eq!(alerts.overdue(3 * HOUR, 2).unwrap(), overdue[..2]);
    assert!(alerts.overdue(i64::MIN, 10).unwrap().is_empty());
}

fn history_is_append_only(db: &TestDb) {
    let store = &*db.store;
    upsert_committed(
        store,
        &[upsert(
            alert("a-06", "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    let refused = [
        "DELETE FROM alerts",
        "DELETE FROM alert_evidence",
        "DELETE FROM alert_events",
        "UPDATE alert_evidence SET added_at_us = 0",
        "UPDATE alert_events SET reason = 'rewritten'",
        "UPDATE alerts SET title = 'rewritten'",
        "UPDATE alerts SET child_id = 'c2'",
        "UPDATE alerts SET raised_at_us = 0",
        "UPDATE alerts SET person_id = NULL",
    ];
    for sql in refused {
        let result = db.execute_raw(sql);
        assert!(result.is_err(), "{sql} was allowed");
    }
    if store.backend() == sightline_store::Backend::Postgres {
        for table in ["alerts", "alert_evidence", "alert_events"] {
            assert!(
                db.execute_raw(&format!("TRUNCATE {table} CASCADE"))
                    .is_err()
            );
        }
    }
    // The state columns may change (the store writes an event when it does).
    db.execute_raw("UPDATE alerts SET severity = 'critical', updated_at_us = 5")
        .unwrap();
    let row = store.alerts().get("a-06").unwrap().unwrap();
    assert_eq!(row.severity, "critical");
    assert_eq!(row.title, alert("a-06", "c1", "high", HOUR).title);
    assert_eq!(store.alerts().evidence("a-06").unwrap().len(), 1);
    assert_eq!(store.alerts().events("a-06").unwrap().len(), 1);
    // Constraints hold for raw writes too.
    assert!(
        db.execute_raw("UPDATE alerts SET severity = 'urgent'")
            .is_err()
    );
    assert!(
        db.execute_raw(
            "INSERT INTO alert_events (alert_id, at_us, kind) VALUES ('a-06', 1, 'decided')"
        )
        .is_err(),
        "a decision needs an actor, a decision and a reason"
    );
}

fn dropped_transaction_drops_its_alerts(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    upsert_committed(
        store,
        &[upsert(
            alert("a-07", "c1", "low", HOUR),
            &[ev("police", "0", 1)],
        )],
        HOUR,
    );
    {
        let mut tx = store.begin().unwrap();
        tx.append(&[record("police", "1", 1, 1)]).unwrap();
        let changes = tx
            .upsert_alerts(
                &[
                    upsert(alert("a-08", "c1", "high", HOUR), &[ev("police", "1", 1)]),
                    upsert(alert("a-07", "c1", "high", HOUR), &[ev("police", "1", 1)]),
                ],
                2 * HOUR,
            )
            .unwrap();
        assert_eq!(changes.len(), 3);
        // Dropped without commit.
    }
    assert_eq!(store.count_records().unwrap(), 0);
    assert_eq!(alerts.get("a-08").unwrap(), None);
    assert!(alerts.events("a-08").unwrap().is_empty());
    let kept = alerts.get("a-07").unwrap().unwrap();
    assert_eq!(kept.severity, "low");
    assert_eq!(alerts.evidence("a-07").unwrap().len(), 1);
    assert_eq!(kinds(alerts, "a-07"), ["raised"]);
    // The store writes normally afterwards, also through decide (the writer lock).
    alerts.decide(&decision("a-07", 3 * HOUR)).unwrap();
    let mut tx = store.begin().unwrap();
    tx.append(&[record("police", "1", 1, 1)]).unwrap();
    tx.upsert_alerts(
        &[upsert(
            alert("a-08", "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        4 * HOUR,
    )
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(store.count_records().unwrap(), 1);
    assert!(alerts.get("a-08").unwrap().is_some());
}

/// A decision committing while a record transaction re-raises the same alert with
/// new evidence: the upsert must see the decision (and reopen), not the state from
/// before it. A raw transaction stands in for a decision in flight.
fn upsert_waits_for_a_decision_in_flight(db: &TestDb) {
    let store = &*db.store;
    let id = "a-10";
    upsert_committed(
        store,
        &[upsert(
            alert(id, "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    let decide_sql = format!(
        "UPDATE alerts SET status = 'decided', decided_at_us = 2, updated_at_us = 2 WHERE id = '{id}'"
    );
    let renewed = upsert(
        alert(id, "c1", "high", 9 * HOUR),
        &[ev("police", "1", 1), ev("police", "2", 1)],
    );
    let changes = match store.backend() {
        sightline_store::Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let mut connection = rusqlite::Connection::open(path).unwrap();
            let tx = connection
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute_batch(&decide_sql).unwrap();
            std::thread::scope(|scope| {
                let handle = scope
                    .spawn(|| upsert_committed(store, std::slice::from_ref(&renewed), 3 * HOUR));
                std::thread::sleep(std::time::Duration::from_millis(300));
                assert!(!handle.is_finished(), "the upsert waits for the decision");
                tx.commit().unwrap();
                handle.join().unwrap()
            })
        }
        sightline_store::Backend::Postgres => {
            let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(&decide_sql).unwrap();
            std::thread::scope(|scope| {
                let handle = scope
                    .spawn(|| upsert_committed(store, std::slice::from_ref(&renewed), 3 * HOUR));
                std::thread::sleep(std::time::Duration::from_millis(300));
                assert!(!handle.is_finished(), "the upsert waits for the decision");
                tx.commit().unwrap();
                handle.join().unwrap()
            })
        }
    };
    assert_eq!(
        changes,
        vec![
            AlertChange::EvidenceAdded {
                id: id.into(),
                n: 1
            },
            AlertChange::Reopened { id: id.into() },
        ]
    );
    let row = store.alerts().get(id).unwrap().unwrap();
    assert_eq!(row.status, "open");
    assert_eq!(row.due_at_us, 9 * HOUR);
}

/// Several people deciding the same alert at once: exactly one decision is
/// recorded, the others are told it is no longer open.
fn concurrent_decisions_one_wins(db: &TestDb) {
    let store = &*db.store;
    let id = "a-12";
    upsert_committed(
        store,
        &[upsert(
            alert(id, "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    let n_threads = 4;
    let barrier = std::sync::Barrier::new(n_threads);
    let results: Vec<Result<AlertRow, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|worker| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut mine = decision(id, 2 * HOUR);
                    mine.actor = format!("worker{worker}");
                    store.alerts().decide(&mine)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let n_ok = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(n_ok, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|result| result.is_ok() || matches!(result, Err(StoreError::AlertNotOpen)))
    );
    assert_eq!(kinds(store.alerts(), id), ["raised", "decided"]);
}

// ---- Model-based property test ----------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// Upsert alert `idx` with this severity, these evidence records (indexes) and due time.
    Upsert(u8, u8, Vec<u8>, i64),
    Decide(u8),
    Escalate(u8, i64),
    /// Assign alert `idx` to worker `n`, or back to the team.
    Assign(u8, Option<u8>),
    /// A person reopens alert `idx` with this due time.
    Reopen(u8, i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelAlert {
    severity: u8,
    status: &'static str,
    due_at_us: i64,
    escalation_level: i64,
    evidence: BTreeSet<u8>,
    events: Vec<&'static str>,
    assigned: Option<u8>,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..4, prop::collection::vec(0u8..4, 0..3), 0i64..100)
            .prop_map(|(idx, sev, ev, due)| Op::Upsert(idx, sev, ev, due)),
        1 => (0u8..3).prop_map(Op::Decide),
        1 => (0u8..3, 0i64..3).prop_map(|(idx, level)| Op::Escalate(idx, level)),
        1 => (0u8..3, prop::option::of(0u8..2)).prop_map(|(idx, worker)| Op::Assign(idx, worker)),
        1 => (0u8..3, 0i64..100).prop_map(|(idx, due)| Op::Reopen(idx, due)),
    ]
}

fn model_upsert(
    model: &mut BTreeMap<u8, ModelAlert>,
    idx: u8,
    severity: u8,
    evidence: &[u8],
    due: i64,
) -> Vec<&'static str> {
    let Some(alert) = model.get_mut(&idx) else {
        model.insert(
            idx,
            ModelAlert {
                severity,
                status: "open",
                due_at_us: due,
                escalation_level: 0,
                evidence: evidence.iter().copied().collect(),
                events: vec!["raised"],
                assigned: None,
            },
        );
        return vec!["raised"];
    };
    let mut changes = Vec::new();
    let n_before = alert.evidence.len();
    alert.evidence.extend(evidence.iter().copied());
    let n_new = alert.evidence.len() - n_before;
    if n_new > 0 {
        changes.push("evidence_added");
    }
    if severity > alert.severity {
        alert.severity = severity;
        changes.push("severity_raised");
    }
    if alert.status == "decided" && n_new > 0 {
        alert.status = "open";
        alert.due_at_us = due;
        alert.escalation_level = 0;
        changes.push("reopened");
    }
    alert.events.extend(changes.iter().copied());
    if changes.is_empty() {
        changes.push("unchanged");
    }
    changes
}

fn change_kind(change: &AlertChange) -> &'static str {
    match change {
        AlertChange::Raised { .. } => "raised",
        AlertChange::EvidenceAdded { .. } => "evidence_added",
        AlertChange::SeverityRaised { .. } => "severity_raised",
        AlertChange::Reopened { .. } => "reopened",
        AlertChange::Unchanged { .. } => "unchanged",
    }
}

fn upsert_of(case_no: u32, idx: u8, severity: u8, evidence: &[u8], due: i64) -> AlertUpsert {
    upsert(
        alert(
            &format!("a-case{case_no}-{idx}"),
            &format!("child{case_no}"),
            SEVERITIES[usize::from(severity)],
            due,
        ),
        &evidence
            .iter()
            .map(|e| ev("police", &format!("R{e}"), 1))
            .collect::<Vec<_>>(),
    )
}

fn upsert_matches_the_model(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let case_counter = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop::collection::vec(
        (
            prop::collection::vec(op_strategy(), 1..6),
            prop::bool::weighted(0.75),
            prop::bool::ANY,
        ),
        1..6,
    );
    let result = runner.run(&strategy, |transactions| {
        case_counter.set(case_counter.get() + 1);
        let case_no = case_counter.get();
        let id = |idx: u8| format!("a-case{case_no}-{idx}");
        let mut model: BTreeMap<u8, ModelAlert> = BTreeMap::new();
        let mut clock = 0;
        for (ops, commit, one_slice) in &transactions {
            // Upserts of one transaction go through one WriteTx, one call each or
            // all in one slice; decisions and escalations run on their own, after it.
            let before = model.clone();
            let mut tx = store.begin().unwrap();
            let mut others = Vec::new();
            let mut slice = Vec::new();
            let mut expected_slice = Vec::new();
            for op in ops {
                clock += 1;
                match op {
                    Op::Upsert(idx, severity, evidence, due) => {
                        let one = upsert_of(case_no, *idx, *severity, evidence, *due);
                        let expected = model_upsert(&mut model, *idx, *severity, evidence, *due);
                        if *one_slice {
                            slice.push(one);
                            expected_slice.extend(expected);
                        } else {
                            let changes = tx.upsert_alerts(&[one], clock).unwrap();
                            let got: Vec<&str> = changes.iter().map(change_kind).collect();
                            prop_assert_eq!(got, expected);
                        }
                    }
                    other => others.push(other.clone()),
                }
            }
            if !slice.is_empty() {
                let changes = tx.upsert_alerts(&slice, clock).unwrap();
                let got: Vec<&str> = changes.iter().map(change_kind).collect();
                prop_assert_eq!(got, expected_slice);
            }
            if *commit {
                tx.commit().unwrap();
            } else {
                drop(tx);
                model = before;
            }
            for op in others {
                clock += 1;
                match op {
                    Op::Decide(idx) => {
                        let result = alerts.decide(&decision(&id(idx), clock));
                        match model.get_mut(&idx) {
                            None => prop_assert!(matches!(result, Err(StoreError::AlertNotFound))),
                            Some(alert) if alert.status != "open" => {
                                prop_assert!(matches!(result, Err(StoreError::AlertNotOpen)));
                            }
                            Some(alert) => {
                                prop_assert!(result.is_ok(), "{:?}", result);
                                alert.status = "decided";
                                alert.events.push("decided");
                            }
                        }
                    }
                    Op::Escalate(idx, level) => {
                        let result = alerts.escalate(&id(idx), level, "user:tm", 0, clock, None);
                        match model.get_mut(&idx) {
                            None => prop_assert!(matches!(result, Err(StoreError::AlertNotFound))),
                            Some(alert) if alert.status != "open" => {
                                prop_assert!(matches!(result, Err(StoreError::AlertNotOpen)));
                            }
                            Some(alert) if level <= alert.escalation_level => {
                                prop_assert!(
                                    matches!(result, Err(StoreError::EscalationNotHigher { .. })),
                                    "{:?}",
                                    result
                                );
                            }
                            Some(alert) => {
                                prop_assert!(result.is_ok(), "{:?}", result);
                                alert.escalation_level = level;
                                alert.due_at_us = 0;
                                alert.events.push("escalated");
                            }
                        }
                    }
                    Op::Assign(idx, worker) => {
                        let name = worker.map(|n| format!("sw.{n}"));
                        let result = alerts.assign(&assignment(&id(idx), name.as_deref(), clock));
                        match model.get_mut(&idx) {
                            None => prop_assert!(matches!(result, Err(StoreError::AlertNotFound))),
                            Some(alert) if alert.status != "open" => {
                                prop_assert!(matches!(result, Err(StoreError::AlertNotOpen)));
                            }
                            Some(alert) => {
                                prop_assert!(result.is_ok(), "{:?}", result);
                                if alert.assigned != worker {
                                    alert.events.push(if worker.is_some() {
                                        "assigned"
                                    } else {
                                        "unassigned"
                                    });
                                    alert.assigned = worker;
                                }
                            }
                        }
                    }
                    Op::Reopen(idx, due) => {
                        let result = alerts.reopen(&reopening(&id(idx), clock, due));
                        match model.get_mut(&idx) {
                            None => prop_assert!(matches!(result, Err(StoreError::AlertNotFound))),
                            Some(alert) if alert.status == "open" => {
                                prop_assert!(matches!(result, Err(StoreError::AlertNotDecided)));
                            }
                            Some(alert) => {
                                prop_assert!(result.is_ok(), "{:?}", result);
                                alert.status = "open";
                                alert.due_at_us = due;
                                alert.events.push("reopened");
                            }
                        }
                    }
                    Op::Upsert(..) => unreachable!(),
                }
            }
        }
        for idx in 0..3u8 {
            let stored = alerts.get(&id(idx)).unwrap();
            let Some(expected) = model.get(&idx) else {
                prop_assert_eq!(stored, None);
                prop_assert!(alerts.events(&id(idx)).unwrap().is_empty());
                continue;
            };
            let stored = stored.expect("alert in the model is stored");
            let evidence: BTreeSet<u8> = alerts
                .evidence(&id(idx))
                .unwrap()
                .iter()
                .map(|e| e.record_id[1..].parse().unwrap())
                .collect();
            let events: Vec<String> = kinds(alerts, &id(idx));
            let expected_events: Vec<String> = expected
                .events
                .iter()
                .map(|kind| (*kind).to_owned())
                .collect();
            prop_assert_eq!(events, expected_events);
            let got = ModelAlert {
                severity: u8::try_from(severity_rank(&stored.severity).unwrap()).unwrap(),
                status: if stored.status == "open" {
                    "open"
                } else {
                    "decided"
                },
                due_at_us: stored.due_at_us,
                escalation_level: stored.escalation_level,
                evidence,
                events: expected.events.clone(),
                assigned: stored
                    .assigned_to
                    .as_deref()
                    .map(|name| name.trim_start_matches("sw.").parse().unwrap()),
            };
            prop_assert_eq!(&got, expected);
            prop_assert_eq!(stored.decided_at_us.is_some(), stored.status == "decided");
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// The same upserts in one transaction, or one per transaction, or each repeated:
/// the same alerts, evidence and event kinds.
fn batch_and_incremental_upserts_agree(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let case_counter = std::cell::Cell::new(0u32);
    let strategy = prop::collection::vec(
        (0u8..3, 0u8..4, prop::collection::vec(0u8..5, 0..3), 0i64..9),
        1..12,
    );
    let result = runner.run(&strategy, |ops| {
        case_counter.set(case_counter.get() + 1);
        let case_no = case_counter.get();
        // Three runs under different case numbers: batch, incremental, repeated.
        let runs = [case_no * 3, case_no * 3 + 1, case_no * 3 + 2];
        let upserts = |run: u32| -> Vec<AlertUpsert> {
            ops.iter()
                .map(|(idx, sev, ev, due)| upsert_of(run, *idx, *sev, ev, *due))
                .collect()
        };
        upsert_committed(store, &upserts(runs[0]), 1);
        for one in upserts(runs[1]) {
            upsert_committed(store, &[one], 1);
        }
        for one in upserts(runs[2]) {
            upsert_committed(store, std::slice::from_ref(&one), 1);
            let again = upsert_committed(store, &[one], 1);
            prop_assert!(
                matches!(again[..], [AlertChange::Unchanged { .. }]),
                "{:?}",
                again
            );
        }
        let snapshot = |run: u32| {
            (0..3u8)
                .map(|idx| {
                    let id = format!("a-case{run}-{idx}");
                    let row = alerts.get(&id).unwrap().map(|mut row| {
                        row.id.clear();
                        row.child_id.clear();
                        row.person_id = None;
                        row
                    });
                    let evidence = alerts.evidence(&id).unwrap();
                    (row, evidence, kinds(alerts, &id))
                })
                .collect::<Vec<_>>()
        };
        let batch = snapshot(runs[0]);
        prop_assert_eq!(&snapshot(runs[1]), &batch);
        prop_assert_eq!(&snapshot(runs[2]), &batch);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

// ---- Migrating an existing database ------------------------------------------------

const SQLITE_BEFORE_ALERTS: [(i64, &str, &str); 3] = [
    (
        1,
        "0001_init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        4,
        "0004_accounts_audit",
        include_str!("../migrations/sqlite/0004_accounts_audit.sql"),
    ),
    (
        5,
        "0005_record_indexes",
        include_str!("../migrations/sqlite/0005_record_indexes.sql"),
    ),
];

const POSTGRES_BEFORE_ALERTS: [(i64, &str, &str); 3] = [
    (
        1,
        "0001_init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        4,
        "0004_accounts_audit",
        include_str!("../migrations/postgres/0004_accounts_audit.sql"),
    ),
    (
        5,
        "0005_record_indexes",
        include_str!("../migrations/postgres/0005_record_indexes.sql"),
    ),
];

/// The SQL that builds a database as the build before alerts left it, with one record.
fn schema_before_alerts(migrations: &[(i64, &str, &str)]) -> String {
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at_us BIGINT NOT NULL);\n",
    );
    for (version, name, body) in migrations {
        sql.push_str(body);
        sql.push_str(&format!(
            ";\nINSERT INTO schema_migrations (version, name, applied_at_us) VALUES ({version}, '{name}', 0);\n"
        ));
    }
    sql
}

fn check_migrated(url: &str) {
    let report = sightline_store::migrate(url).unwrap();
    let applied: Vec<i64> = report.applied.iter().map(|m| m.version).collect();
    // 0002 (and any other number reserved below 5 that has landed since), in order.
    assert!(applied.contains(&2), "{applied:?}");
    assert!(applied.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(
        applied.iter().all(|version| ![1, 4, 5].contains(version)),
        "{applied:?}"
    );
    // The schema ends at the newest migration, which is one applied here.
    assert_eq!(report.schema_version, *applied.last().unwrap());
    assert!(report.schema_version >= 6, "{applied:?}");
    let store = sightline_store::open(url).unwrap();
    assert_eq!(store.count_records().unwrap(), 0);
    let changes = upsert_committed(
        &*store,
        &[upsert(
            alert("a-09", "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    assert_eq!(changes, vec![AlertChange::Raised { id: "a-09".into() }]);
    assert!(sightline_store::migrate(url).unwrap().applied.is_empty());
}

#[test]
fn sqlite_migration_applies_to_a_database_from_before_alerts() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("before-alerts.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(&schema_before_alerts(&SQLITE_BEFORE_ALERTS))
        .unwrap();
    drop(connection);
    check_migrated(&format!("sqlite://{}", path.display()));
}

#[test]
fn postgres_migration_applies_to_a_database_from_before_alerts() {
    let Some((admin_url, url, name)) = support::pg_empty_database() else {
        return;
    };
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(&schema_before_alerts(&POSTGRES_BEFORE_ALERTS))
        .unwrap();
    drop(client);
    check_migrated(&url);
    let mut admin = ::postgres::Client::connect(&admin_url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}

// ---- Assignment, reopening, follow-ups -----------------------------------------

fn assignment(alert_id: &str, assignee: Option<&str>, at_us: i64) -> Assignment {
    Assignment {
        alert_id: alert_id.to_owned(),
        assignee: assignee.map(str::to_owned),
        actor: "tm.khan".to_owned(),
        at_us,
    }
}

fn reopening(alert_id: &str, at_us: i64, due_at_us: i64) -> Reopening {
    Reopening {
        alert_id: alert_id.to_owned(),
        actor: "tm.khan".to_owned(),
        reason: "The school reports a new bruise; looking again.".to_owned(),
        at_us,
        due_at_us,
    }
}

fn assignment_is_a_person_s_event_on_open_alerts(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-10";
    upsert_committed(
        store,
        &[upsert(
            alert(id, "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    assert!(matches!(
        alerts.assign(&assignment("a-missing", Some("sw.one"), HOUR)),
        Err(StoreError::AlertNotFound)
    ));
    for bad in [
        Assignment {
            actor: " ".into(),
            ..assignment(id, Some("sw.one"), HOUR)
        },
        assignment(id, Some(""), HOUR),
    ] {
        assert!(matches!(
            alerts.assign(&bad),
            Err(StoreError::InvalidAlert { .. })
        ));
    }
    let assigned = alerts
        .assign(&assignment(id, Some("sw.one"), 2 * HOUR))
        .unwrap();
    assert_eq!(assigned.assigned_to.as_deref(), Some("sw.one"));
    assert_eq!(assigned.updated_at_us, 2 * HOUR);
    // The same assignment again: nothing changes, no event.
    alerts
        .assign(&assignment(id, Some("sw.one"), 3 * HOUR))
        .unwrap();
    alerts
        .assign(&assignment(id, Some("sw.two"), 4 * HOUR))
        .unwrap();
    let back = alerts.assign(&assignment(id, None, 5 * HOUR)).unwrap();
    assert_eq!(back.assigned_to, None);
    assert_eq!(
        kinds(alerts, id),
        ["raised", "assigned", "assigned", "unassigned"]
    );
    let events = alerts.events(id).unwrap();
    assert!(
        events[1..]
            .iter()
            .all(|e| e.actor.as_deref() == Some("tm.khan"))
    );
    assert_eq!(
        events[2].detail.as_deref(),
        Some("{\"to\":\"sw.two\",\"from\":\"sw.one\"}")
    );
    assert_eq!(events[3].detail.as_deref(), Some("{\"from\":\"sw.two\"}"));
    // A quote in a name stays valid JSON.
    alerts
        .assign(&assignment(id, Some("o\"brien"), 6 * HOUR))
        .unwrap();
    assert_eq!(
        alerts.events(id).unwrap().last().unwrap().detail.as_deref(),
        Some("{\"to\":\"o\\\"brien\",\"from\":null}")
    );
    // An upsert leaves the assignment alone, even when it reopens the alert.
    alerts.decide(&decision(id, 7 * HOUR)).unwrap();
    assert!(matches!(
        alerts.assign(&assignment(id, Some("sw.one"), 8 * HOUR)),
        Err(StoreError::AlertNotOpen)
    ));
    upsert_committed(
        store,
        &[upsert(
            alert(id, "c1", "high", 9 * HOUR),
            &[ev("police", "2", 1)],
        )],
        9 * HOUR,
    );
    let row = alerts.get(id).unwrap().unwrap();
    assert_eq!(row.status, "open");
    assert_eq!(row.assigned_to.as_deref(), Some("o\"brien"));
}

fn people_reopen_decided_alerts_with_a_reason(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let id = "a-11";
    upsert_committed(
        store,
        &[upsert(
            alert(id, "c1", "medium", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    assert!(matches!(
        alerts.reopen(&reopening(id, HOUR, 2 * HOUR)),
        Err(StoreError::AlertNotDecided)
    ));
    assert!(matches!(
        alerts.reopen(&reopening("a-missing", HOUR, 2 * HOUR)),
        Err(StoreError::AlertNotFound)
    ));
    alerts
        .escalate(id, 1, "team:north-la/manager", 3 * HOUR, 2 * HOUR, None)
        .unwrap();
    alerts
        .assign(&assignment(id, Some("sw.one"), 2 * HOUR))
        .unwrap();
    alerts.decide(&decision(id, 3 * HOUR)).unwrap();
    for bad in [
        Reopening {
            reason: "  ".into(),
            ..reopening(id, 4 * HOUR, 5 * HOUR)
        },
        Reopening {
            actor: String::new(),
            ..reopening(id, 4 * HOUR, 5 * HOUR)
        },
    ] {
        assert!(matches!(
            alerts.reopen(&bad),
            Err(StoreError::InvalidAlert { .. })
        ));
    }
    let reopened = alerts.reopen(&reopening(id, 4 * HOUR, 30 * HOUR)).unwrap();
    assert_eq!(reopened.status, "open");
    assert_eq!(reopened.decided_at_us, None);
    assert_eq!(reopened.due_at_us, 30 * HOUR);
    assert_eq!(reopened.updated_at_us, 4 * HOUR);
    // Routing, escalation and assignment stay as they were.
    assert_eq!(reopened.routed_to, "team:north-la/manager");
    assert_eq!(reopened.escalation_level, 1);
    assert_eq!(reopened.assigned_to.as_deref(), Some("sw.one"));
    let last = alerts.events(id).unwrap().pop().unwrap();
    assert_eq!(last.kind, "reopened");
    assert_eq!(last.actor.as_deref(), Some("tm.khan"));
    assert_eq!(
        last.reason.as_deref(),
        Some("The school reports a new bruise; looking again.")
    );
    // And it can be decided again.
    alerts.decide(&decision(id, 5 * HOUR)).unwrap();
    assert_eq!(
        kinds(alerts, id),
        [
            "raised",
            "escalated",
            "assigned",
            "decided",
            "reopened",
            "decided"
        ]
    );
    // The database refuses a person's reopening without a reason.
    assert!(
        db.execute_raw(
            "INSERT INTO alert_events (alert_id, at_us, kind, actor) VALUES ('a-11', 1, 'reopened', 'x')"
        )
        .is_err()
    );
    assert!(
        db.execute_raw(
            "INSERT INTO alert_events (alert_id, at_us, kind) VALUES ('a-11', 1, 'assigned')"
        )
        .is_err(),
        "an assignment names who made it"
    );
}

fn holder(user: &str, routes: &[&str]) -> Holder {
    Holder {
        routes: routes.iter().map(|route| (*route).to_owned()).collect(),
        user: user.to_owned(),
    }
}

fn decisions_set_follow_ups_recorded_done_once(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let mut upserts = Vec::new();
    for (idx, routed_to) in [
        "team:north-la/duty",
        "team:north-la/duty",
        "team:south-la/duty",
    ]
    .iter()
    .enumerate()
    {
        let mut row = alert(&format!("a-2{idx}"), &format!("c{idx}"), "high", HOUR);
        row.routed_to = (*routed_to).to_owned();
        upserts.push(upsert(row, &[ev("police", &idx.to_string(), 1)]));
    }
    upsert_committed(store, &upserts, HOUR);
    let plan = |owner: &str, day: i64| FollowUpPlan {
        owner: owner.to_owned(),
        due_at_us: day * 24 * HOUR,
    };
    assert!(matches!(
        alerts.decide(&Decision {
            follow_up: Some(plan(" ", 3)),
            ..decision("a-20", 2 * HOUR)
        }),
        Err(StoreError::InvalidAlert { .. })
    ));
    assert_eq!(alerts.get("a-20").unwrap().unwrap().status, "open");
    alerts
        .decide(&Decision {
            follow_up: Some(plan("sw.one", 5)),
            ..decision("a-20", 2 * HOUR)
        })
        .unwrap();
    alerts
        .decide(&Decision {
            follow_up: Some(plan("sw.two", 3)),
            ..decision("a-21", 2 * HOUR)
        })
        .unwrap();
    alerts
        .decide(&Decision {
            follow_up: Some(plan("sw.one", 4)),
            ..decision("a-22", 2 * HOUR)
        })
        .unwrap();
    let first = alerts.follow_ups_of("a-20").unwrap();
    assert_eq!(first.len(), 1);
    let follow_up = &first[0];
    assert_eq!(
        (
            follow_up.child_id.as_str(),
            follow_up.decision.as_str(),
            follow_up.owner.as_str(),
            follow_up.routed_to.as_str(),
            follow_up.set_by.as_str(),
            follow_up.set_at_us,
            follow_up.done_by.as_deref(),
        ),
        (
            "c0",
            "visit",
            "sw.one",
            "team:north-la/duty",
            "sw.jones",
            2 * HOUR,
            None
        )
    );
    let decided = alerts.events("a-20").unwrap().pop().unwrap();
    assert_eq!(
        decided.detail.unwrap(),
        format!(
            "{{\"follow_up\":{},\"owner\":\"sw.one\",\"due_at_us\":{}}}",
            follow_up.id,
            5 * 24 * HOUR
        )
    );
    // sw.one owns two; the north duty team's alerts set two: by due day, then id.
    let owner_of = |filter: FollowUpFilter| -> Vec<String> {
        alerts
            .follow_ups(&filter)
            .unwrap()
            .into_iter()
            .map(|row| row.alert_id)
            .collect()
    };
    let mine = FollowUpFilter {
        holder: holder("sw.one", &[]),
        after: None,
        limit: 10,
    };
    assert_eq!(owner_of(mine.clone()), ["a-22", "a-20"]);
    let team = FollowUpFilter {
        holder: holder("sw.three", &["team:north-la/duty"]),
        after: None,
        limit: 10,
    };
    assert_eq!(owner_of(team.clone()), ["a-21", "a-20"]);
    assert_eq!(alerts.count_follow_ups(&team).unwrap(), 2);
    let both = FollowUpFilter {
        holder: holder("sw.one", &["team:north-la/duty"]),
        after: None,
        limit: 1,
    };
    let page = alerts.follow_ups(&both).unwrap();
    assert_eq!(page.len(), 1);
    let rest = alerts
        .follow_ups(&FollowUpFilter {
            after: Some((page[0].due_at_us, page[0].id)),
            limit: 10,
            ..both.clone()
        })
        .unwrap();
    assert_eq!(
        rest.iter()
            .map(|row| row.alert_id.as_str())
            .collect::<Vec<_>>(),
        ["a-22", "a-20"]
    );
    // Done once, with who and when, and an event on the alert.
    assert!(matches!(
        alerts.complete_follow_up(follow_up.id, "", 6 * HOUR),
        Err(StoreError::InvalidAlert { .. })
    ));
    let done = alerts
        .complete_follow_up(follow_up.id, "sw.one", 6 * HOUR)
        .unwrap();
    assert_eq!(done.done_by.as_deref(), Some("sw.one"));
    assert_eq!(done.done_at_us, Some(6 * HOUR));
    assert!(matches!(
        alerts.complete_follow_up(follow_up.id, "sw.two", 7 * HOUR),
        Err(StoreError::FollowUpDone)
    ));
    assert!(matches!(
        alerts.complete_follow_up(999_999, "sw.two", 7 * HOUR),
        Err(StoreError::FollowUpNotFound)
    ));
    assert_eq!(alerts.follow_up(999_999).unwrap(), None);
    assert_eq!(alerts.follow_up(follow_up.id).unwrap().unwrap(), done);
    assert_eq!(owner_of(mine), ["a-22"]);
    assert_eq!(alerts.count_follow_ups(&team).unwrap(), 1);
    let last = alerts.events("a-20").unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_deref(), last.at_us),
        ("follow_up_done", Some("sw.one"), 6 * HOUR)
    );
    assert_eq!(
        alerts
            .follow_ups(&FollowUpFilter { limit: 0, ..team })
            .unwrap(),
        []
    );
}

fn follow_ups_are_append_only_but_for_done(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    upsert_committed(
        store,
        &[upsert(
            alert("a-30", "c1", "high", HOUR),
            &[ev("police", "1", 1)],
        )],
        HOUR,
    );
    alerts
        .decide(&Decision {
            follow_up: Some(FollowUpPlan {
                owner: "sw.one".into(),
                due_at_us: 9 * HOUR,
            }),
            ..decision("a-30", 2 * HOUR)
        })
        .unwrap();
    for sql in [
        "DELETE FROM alert_follow_ups",
        "UPDATE alert_follow_ups SET owner = 'sw.two'",
        "UPDATE alert_follow_ups SET due_at_us = 0",
        "UPDATE alert_follow_ups SET done_by = 'sw.two'",
        "UPDATE alerts SET assigned_to = ''",
    ] {
        assert!(db.execute_raw(sql).is_err(), "{sql} was allowed");
    }
    db.execute_raw("UPDATE alert_follow_ups SET done_by = 'sw.one', done_at_us = 10")
        .unwrap();
    assert!(
        db.execute_raw("UPDATE alert_follow_ups SET done_by = 'sw.two', done_at_us = 11")
            .is_err(),
        "a follow-up is done once"
    );
    if store.backend() == sightline_store::Backend::Postgres {
        assert!(db.execute_raw("TRUNCATE alert_follow_ups").is_err());
    }
    assert_eq!(
        alerts.follow_ups_of("a-30").unwrap()[0].done_at_us,
        Some(10)
    );
}

/// The rows a filter keeps, computed in Rust over what the store holds.
fn model_keeps(filter: &AlertFilter, row: &AlertRow) -> bool {
    let status = filter.status.as_ref().is_none_or(|s| *s == row.status);
    let severity = filter.severity.as_ref().is_none_or(|s| *s == row.severity);
    let rule = filter.rule_id.as_ref().is_none_or(|r| *r == row.rule_id);
    let overdue = filter
        .overdue_at_us
        .is_none_or(|at| row.status == "open" && row.due_at_us < at);
    let held = filter.holder.as_ref().is_none_or(|holder| {
        holder.routes.contains(&row.routed_to) || row.assigned_to.as_deref() == Some(&holder.user)
    });
    let assigned = match &filter.assigned {
        None => true,
        Some(Assigned::Nobody) => row.assigned_to.is_none(),
        Some(Assigned::To(user)) => row.assigned_to.as_deref() == Some(user.as_str()),
    };
    status && severity && rule && overdue && held && assigned
}

/// Alerts with random severities, rules, due times, routings, assignments and
/// decisions; for random filters the list (whole, paged forwards, paged
/// backwards from the end), the counts and the rule counts are the model's.
fn holders_counts_and_pages_both_ways_match_the_model(db: &TestDb) {
    let store = &*db.store;
    let alerts = store.alerts();
    let case_counter = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let alert_strategy = (
        0u8..4,
        0u8..3,
        0i64..6,
        0u8..3,
        0u8..3,
        prop::bool::weighted(0.3),
    );
    let filter_strategy = (
        prop::option::of(0u8..4),
        prop::option::of(0u8..3),
        prop::bool::ANY,
        prop::option::of(0u8..3),
        0u8..3,
        1u32..5,
    );
    let strategy = (
        prop::collection::vec(alert_strategy, 0..14),
        prop::collection::vec(filter_strategy, 1..4),
    );
    let routes = ["team:la/duty", "team:la/manager", "user:sw.one"];
    let workers = ["sw.one", "sw.two", "sw.three"];
    let result = runner.run(&strategy, |(rows, filters)| {
        case_counter.set(case_counter.get() + 1);
        let case_no = case_counter.get();
        let child = format!("child-h{case_no}");
        let mut upserts = Vec::new();
        for (idx, (severity, rule, due, route, _, _)) in rows.iter().enumerate() {
            let mut row = alert(
                &format!("a-h{case_no}-{idx}"),
                &child,
                SEVERITIES[usize::from(*severity)],
                due * HOUR,
            );
            row.rule_id = format!("rule-{rule}");
            row.routed_to = routes[usize::from(*route)].to_owned();
            upserts.push(upsert(row, &[ev("police", &format!("h{idx}"), 1)]));
        }
        upsert_committed(store, &upserts, 0);
        for (idx, (_, _, _, _, worker, decided)) in rows.iter().enumerate() {
            let id = format!("a-h{case_no}-{idx}");
            if *worker > 0 {
                alerts
                    .assign(&assignment(&id, Some(workers[usize::from(*worker)]), HOUR))
                    .unwrap();
            }
            if *decided {
                alerts.decide(&decision(&id, 2 * HOUR)).unwrap();
            }
        }
        let all: Vec<AlertRow> = (0..rows.len())
            .map(|idx| alerts.get(&format!("a-h{case_no}-{idx}")).unwrap().unwrap())
            .collect();
        for (severity, rule, overdue, whose, holder_idx, page) in filters {
            let now_us = 3 * HOUR;
            let filter = AlertFilter {
                child_id: Some(child.clone()),
                severity: severity.map(|s| SEVERITIES[usize::from(s)].to_owned()),
                rule_id: rule.map(|r| format!("rule-{r}")),
                overdue_at_us: overdue.then_some(now_us),
                holder: Some(holder(
                    workers[usize::from(holder_idx)],
                    &routes[..usize::from(holder_idx) + 1],
                )),
                assigned: whose.map(|w| match w {
                    0 => Assigned::Nobody,
                    other => Assigned::To(workers[usize::from(other)].to_owned()),
                }),
                now_us: Some(now_us),
                ..AlertFilter::default()
            };
            let mut expected: Vec<AlertRow> = all
                .iter()
                .filter(|row| model_keeps(&filter, row))
                .cloned()
                .collect();
            expected_order(&mut expected, Some(now_us));
            let whole = alerts
                .list(&AlertFilter {
                    limit: 1_000,
                    ..filter.clone()
                })
                .unwrap();
            prop_assert_eq!(&whole, &expected);
            let mut counts = AlertCounts::default();
            for row in &expected {
                counts.total += 1;
                counts.by_severity[severity_rank(&row.severity).unwrap()] += 1;
                counts.overdue += u64::from(row.status == "open" && row.due_at_us < now_us);
            }
            prop_assert_eq!(alerts.counts(&filter).unwrap(), counts);
            let mut rules: BTreeMap<String, u64> = BTreeMap::new();
            for row in &expected {
                *rules.entry(row.rule_id.clone()).or_default() += 1;
            }
            prop_assert_eq!(
                alerts.rule_counts(&filter).unwrap(),
                rules.into_iter().collect::<Vec<_>>()
            );
            // Forwards by `page`, then backwards from past the last row.
            let mut forwards = Vec::new();
            let mut after = None;
            loop {
                let rows = alerts
                    .list(&AlertFilter {
                        after: after.clone(),
                        limit: page,
                        ..filter.clone()
                    })
                    .unwrap();
                let Some(last) = rows.last() else { break };
                after = Some(AlertCursor::after(last, Some(now_us)));
                forwards.extend(rows);
            }
            prop_assert_eq!(&forwards, &expected);
            let mut backwards: Vec<AlertRow> = Vec::new();
            let mut before = Some(AlertCursor {
                overdue_key: 1,
                severity_key: 3,
                due_at_us: i64::MAX,
                id: "~".to_owned(),
            });
            loop {
                let rows = alerts
                    .list(&AlertFilter {
                        before: before.clone(),
                        limit: page,
                        ..filter.clone()
                    })
                    .unwrap();
                prop_assert!(rows.len() <= page as usize);
                let Some(first) = rows.first() else { break };
                before = Some(AlertCursor::after(first, Some(now_us)));
                let mut rows = rows;
                rows.extend(backwards);
                backwards = rows;
            }
            prop_assert_eq!(&backwards, &expected);
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
