//! The access model's records (relationships and access notices), on both
//! backends (every database `sightline_testkit::all_databases` gives).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use sightline_store::{
    NOTICE_CPIS_ACCESS, NewNotice, NewRelationship, NoticeFilter, Notify, RELATIONSHIP_ESTABLISHED,
    RELATIONSHIP_HELD, Store, StoreError,
};
use sightline_testkit::{TestBackend, TestDatabase, all_databases};

fn stores() -> Vec<(TestDatabase, Box<dyn Store>)> {
    all_databases()
        .into_iter()
        .map(|database| {
            let store = sightline_store::open(&database.url).expect("open store");
            (database, store)
        })
        .collect()
}

fn relationship(agency: &str, state: &str, notify: Notify) -> NewRelationship {
    NewRelationship {
        at_us: 100,
        child_id: "p-0123456789abcdef".into(),
        agency: agency.into(),
        basis: "nhs_number".into(),
        mention_key: format!("{agency}/R-1/c"),
        state: state.into(),
        source: "agency".into(),
        notify,
    }
}

fn execute_raw(database: &TestDatabase, sql: &str) -> Result<(), String> {
    match database.backend {
        TestBackend::Sqlite => {
            let path = database.url.strip_prefix("sqlite://").unwrap();
            let connection = rusqlite::Connection::open(path).unwrap();
            connection
                .execute_batch(sql)
                .map_err(|error| error.to_string())
        }
        TestBackend::Postgres => {
            let mut client = postgres::Client::connect(&database.url, postgres::NoTls).unwrap();
            client.batch_execute(sql).map_err(|error| {
                error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |db| db.message().to_owned())
            })
        }
    }
}

#[test]
fn relationships_commit_with_their_notices_or_not_at_all() {
    for (database, store) in stores() {
        // Rolled back: neither the relationship nor its notice.
        {
            let mut tx = store.begin().unwrap();
            tx.append_relationships(&[relationship(
                "school",
                RELATIONSHIP_ESTABLISHED,
                Notify::To(Some("riverside-la".into())),
            )])
            .unwrap();
        }
        assert!(store.access().relationships(0, 100).unwrap().is_empty());
        let all = NoticeFilter {
            limit: 100,
            ..NoticeFilter::default()
        };
        assert!(store.access().notices(&all).unwrap().is_empty());

        let mut tx = store.begin().unwrap();
        let stored = tx
            .append_relationships(&[
                relationship(
                    "school",
                    RELATIONSHIP_ESTABLISHED,
                    Notify::To(Some("riverside-la".into())),
                ),
                relationship("hospital", RELATIONSHIP_HELD, Notify::To(None)),
                relationship("gp", RELATIONSHIP_ESTABLISHED, Notify::Nobody),
            ])
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(stored.len(), 3);
        assert!(stored[0].seq < stored[1].seq && stored[1].seq < stored[2].seq);
        assert_eq!(
            store.access().relationships(0, 100).unwrap(),
            stored,
            "{:?}",
            database.backend
        );
        assert_eq!(
            store.access().relationships(stored[1].seq, 100).unwrap(),
            stored[2..].to_vec()
        );

        let notices = store.access().notices(&all).unwrap();
        let seen: Vec<(&str, Option<&str>, &str, String)> = notices
            .iter()
            .map(|row| {
                (
                    row.notice.kind.as_str(),
                    row.notice.to_agency.as_deref(),
                    row.notice.about_agency.as_str(),
                    row.notice.subject.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "relationship_held",
                    None,
                    "hospital",
                    format!("relationship:{}", stored[1].seq)
                ),
                (
                    "new_relationship",
                    Some("riverside-la"),
                    "school",
                    format!("relationship:{}", stored[0].seq)
                ),
            ]
        );
        let to_la = store
            .access()
            .notices(&NoticeFilter {
                to_agency: Some("riverside-la".into()),
                limit: 100,
                ..NoticeFilter::default()
            })
            .unwrap();
        assert_eq!(to_la.len(), 1);
        assert_eq!(to_la[0].notice.resource_key, "child:p-0123456789abcdef");
    }
}

#[test]
fn break_glass_notices_page_newest_first() {
    for (_database, store) in stores() {
        let mut seqs = Vec::new();
        for n in 0..5 {
            let row = store
                .access()
                .append_notice(&NewNotice {
                    at_us: n,
                    kind: "break_glass".into(),
                    resource_key: format!("record:gp/R-{n}"),
                    to_agency: Some("riverside-la".into()),
                    about_agency: "north-met-police".into(),
                    about_user_id: Some(7),
                    about_username: Some("pc.jones".into()),
                    subject: format!("break_glass:{n}"),
                    detail: "Child brought to custody suite with injuries tonight.".into(),
                    to_user_id: None,
                    to_team: None,
                })
                .unwrap();
            seqs.push(row.seq);
        }
        let page = |before_seq| {
            store
                .access()
                .notices(&NoticeFilter {
                    before_seq,
                    limit: 2,
                    ..NoticeFilter::default()
                })
                .unwrap()
                .into_iter()
                .map(|row| row.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(page(None), vec![seqs[4], seqs[3]]);
        assert_eq!(page(Some(seqs[3])), vec![seqs[2], seqs[1]]);
        let about = store
            .access()
            .notices(&NoticeFilter {
                resource_key: Some("record:gp/R-2".into()),
                limit: 10,
                ..NoticeFilter::default()
            })
            .unwrap();
        assert_eq!(about.len(), 1);
        assert_eq!(about[0].notice.about_user_id, Some(7));
        assert_eq!(about[0].notice.about_username.as_deref(), Some("pc.jones"));
    }
}

#[test]
fn bad_rows_are_refused_before_the_database() {
    for (_database, store) in stores() {
        let mut tx = store.begin().unwrap();
        let refused = tx.append_relationships(&[relationship("school", "maybe", Notify::To(None))]);
        assert!(matches!(refused, Err(StoreError::InvalidAccess { .. })));
        // The transaction is still usable.
        tx.append_relationships(&[relationship(
            "school",
            RELATIONSHIP_ESTABLISHED,
            Notify::To(None),
        )])
        .unwrap();
        tx.commit().unwrap();
        assert_eq!(store.access().relationships(0, 10).unwrap().len(), 1);
    }
}

#[test]
fn relationships_and_notices_are_append_only() {
    for (database, store) in stores() {
        let mut tx = store.begin().unwrap();
        tx.append_relationships(&[relationship(
            "school",
            RELATIONSHIP_ESTABLISHED,
            Notify::To(Some("riverside-la".into())),
        )])
        .unwrap();
        tx.commit().unwrap();
        let mut statements = vec![
            "UPDATE relationships SET state = 'held'",
            "DELETE FROM relationships",
            "UPDATE access_notices SET to_agency = NULL",
            "DELETE FROM access_notices",
        ];
        if database.backend == TestBackend::Postgres {
            statements.extend(["TRUNCATE relationships", "TRUNCATE access_notices"]);
        }
        for sql in statements {
            let error = execute_raw(&database, sql).expect_err(sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
        assert_eq!(store.access().relationships(0, 10).unwrap().len(), 1);
    }
}

fn restriction(
    record_id: &str,
    state: &str,
    roles: &[&str],
    at_us: i64,
) -> sightline_store::NewRestriction {
    sightline_store::NewRestriction {
        at_us,
        agency: "st-annes-gp".into(),
        record_id: record_id.into(),
        state: state.into(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        own_agency_only: true,
        reason: "Sharing this would put the child at greater risk now.".into(),
        by_user_id: Some(7),
        by_username: "gp.lead".into(),
    }
}

fn hold(person_id: &str, state: &str, at_us: i64) -> sightline_store::NewHold {
    sightline_store::NewHold {
        at_us,
        target: "child".into(),
        person_id: person_id.into(),
        state: state.into(),
        reason: "Held for the child safeguarding practice review.".into(),
        by_user_id: None,
        by_username: "cli".into(),
    }
}

/// A restriction or hold and its audit entry are one transaction: both are
/// written, or (when the audit entry is refused, here a row off the chain)
/// neither.
#[test]
fn restrictions_and_holds_are_written_with_their_audit_entry_or_not_at_all() {
    use sightline_store::{AuditRow, HOLD_PLACED, RESTRICTED};
    let entry = |basis: String, seq: i64, prev_hash: [u8; 32]| AuditRow {
        seq,
        at_us: 10,
        actor_user_id: Some(7),
        actor_username: "gp.lead".into(),
        actor_role: "safeguarding_lead".into(),
        actor_agency: "st-annes-gp".into(),
        action: "record_restricted".into(),
        resource_key: "record:st-annes-gp/GP-1".into(),
        basis,
        outcome: "restricted".into(),
        prev_hash,
        entry_hash: [seq as u8; 32],
    };
    for (_database, store) in stores() {
        let access = store.access();
        let row = access
            .append_restriction_audited(
                &restriction("GP-1", RESTRICTED, &["practitioner"], 10),
                &mut |id, seq, prev| entry(format!("restriction:{id}"), seq, prev),
            )
            .unwrap();
        let hold_row = access
            .append_hold_audited(
                &hold("p-000000000000000a", HOLD_PLACED, 11),
                &mut |id, seq, prev| entry(format!("hold:{id}"), seq, prev),
            )
            .unwrap();
        let bases: Vec<String> = store
            .audit()
            .audit_entries(0, 10)
            .unwrap()
            .into_iter()
            .map(|entry| entry.basis)
            .collect();
        assert_eq!(
            bases,
            [
                format!("restriction:{}", row.seq),
                format!("hold:{}", hold_row.seq)
            ]
        );
        // Refused audit entries take their event with them.
        assert!(
            access
                .append_restriction_audited(
                    &restriction("GP-2", RESTRICTED, &["practitioner"], 12),
                    &mut |_, seq, _| entry(String::new(), seq, [9; 32]),
                )
                .is_err()
        );
        assert!(
            access
                .append_hold_audited(
                    &hold("p-000000000000000b", HOLD_PLACED, 13),
                    &mut |_, seq, _| { entry(String::new(), seq, [9; 32]) }
                )
                .is_err()
        );
        assert_eq!(access.restriction_events(None, None, 10).unwrap().len(), 1);
        assert_eq!(access.hold_events(None, 10).unwrap().len(), 1);
        assert_eq!(store.audit().audit_entries(0, 10).unwrap().len(), 2);
    }
}

/// Restrictions in force page by (agency, record id) after a key, so a
/// reader can take every one of them however many there are.
#[test]
fn restrictions_in_force_page_after_a_key() {
    use sightline_store::RESTRICTED;
    for (_database, store) in stores() {
        let access = store.access();
        for (at, id) in ["GP-3", "GP-1", "GP-2"].iter().enumerate() {
            access
                .append_restriction(&restriction(id, RESTRICTED, &["practitioner"], at as i64))
                .unwrap();
        }
        let ids = |rows: Vec<sightline_store::RestrictionRow>| {
            rows.into_iter()
                .map(|row| row.event.record_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(access.restrictions_in_force(None, 2).unwrap()),
            ["GP-1", "GP-2"]
        );
        assert_eq!(
            ids(access
                .restrictions_in_force(Some(("st-annes-gp", "GP-2")), 2)
                .unwrap()),
            ["GP-3"]
        );
        assert!(
            access
                .restrictions_in_force(Some(("st-annes-gp", "GP-3")), 2)
                .unwrap()
                .is_empty()
        );
    }
}

/// A record's latest restriction event decides; restricting anew replaces
/// the roles; lifting ends it; every event stays, newest first.
#[test]
fn restrictions_in_force_are_each_records_latest_event() {
    use sightline_store::{LIFTED, RESTRICTED};
    for (_database, store) in stores() {
        let access = store.access();
        access
            .append_restriction(&restriction("GP-1", RESTRICTED, &["safeguarding_lead"], 10))
            .unwrap();
        access
            .append_restriction(&restriction("GP-2", RESTRICTED, &["practitioner"], 11))
            .unwrap();
        access
            .append_restriction(&restriction(
                "GP-1",
                RESTRICTED,
                &["team_manager", "safeguarding_lead"],
                12,
            ))
            .unwrap();
        access
            .append_restriction(&restriction("GP-2", LIFTED, &[], 13))
            .unwrap();
        let in_force = access.restrictions_in_force(None, 100).unwrap();
        assert_eq!(in_force.len(), 1, "{in_force:?}");
        assert_eq!(in_force[0].event.record_id, "GP-1");
        assert_eq!(
            in_force[0].event.roles,
            vec!["team_manager".to_owned(), "safeguarding_lead".to_owned()]
        );
        assert!(in_force[0].event.own_agency_only);
        assert_eq!(in_force[0].event.by_user_id, Some(7));
        let events = access.restriction_events(None, None, 100).unwrap();
        assert_eq!(
            events.iter().map(|row| row.event.at_us).collect::<Vec<_>>(),
            vec![13, 12, 11, 10]
        );
        let of_gp2 = access
            .restriction_events(Some(("st-annes-gp", "GP-2")), None, 1)
            .unwrap();
        assert_eq!(of_gp2[0].event.state, LIFTED);
        let older = access
            .restriction_events(None, Some(events[1].seq), 100)
            .unwrap();
        assert_eq!(older.len(), 2);
        // Refused: no roles, a role that is not casework, lifting with roles.
        for bad in [
            restriction("GP-3", RESTRICTED, &[], 20),
            restriction("GP-3", RESTRICTED, &["administrator"], 20),
            restriction("GP-3", LIFTED, &["practitioner"], 20),
            restriction("GP-3", "maybe", &["practitioner"], 20),
        ] {
            assert!(matches!(
                access.append_restriction(&bad),
                Err(StoreError::InvalidAccess { .. })
            ));
        }
        assert_eq!(access.restriction_events(None, None, 100).unwrap().len(), 4);
    }
}

#[test]
fn holds_in_force_are_each_persons_latest_event() {
    use sightline_store::{HOLD_PLACED, HOLD_RELEASED};
    for (_database, store) in stores() {
        let access = store.access();
        access
            .append_hold(&hold("p-000000000000000a", HOLD_PLACED, 10))
            .unwrap();
        access
            .append_hold(&hold("p-000000000000000b", HOLD_PLACED, 11))
            .unwrap();
        access
            .append_hold(&hold("p-000000000000000a", HOLD_RELEASED, 12))
            .unwrap();
        let in_force = access.holds_in_force(None, 100).unwrap();
        assert_eq!(
            in_force
                .iter()
                .map(|row| row.event.person_id.as_str())
                .collect::<Vec<_>>(),
            vec!["p-000000000000000b"]
        );
        assert!(
            access
                .holds_in_force(Some("p-000000000000000a"), 1)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            access
                .holds_in_force(Some("p-000000000000000b"), 1)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(access.hold_events(None, 100).unwrap().len(), 3);
        let mut bad = hold("p-000000000000000c", HOLD_PLACED, 13);
        bad.target = "record".into();
        assert!(access.append_hold(&bad).is_err());
    }
}

#[test]
fn restrictions_and_holds_are_append_only() {
    use sightline_store::{HOLD_PLACED, RESTRICTED};
    for (database, store) in stores() {
        store
            .access()
            .append_restriction(&restriction("GP-1", RESTRICTED, &["safeguarding_lead"], 10))
            .unwrap();
        store
            .access()
            .append_hold(&hold("p-000000000000000a", HOLD_PLACED, 10))
            .unwrap();
        let mut statements = vec![
            "UPDATE record_restrictions SET state = 'lifted'",
            "DELETE FROM record_restrictions",
            "UPDATE legal_holds SET state = 'released'",
            "DELETE FROM legal_holds",
        ];
        if database.backend == TestBackend::Postgres {
            statements.extend(["TRUNCATE record_restrictions", "TRUNCATE legal_holds"]);
        }
        for sql in statements {
            let error = execute_raw(&database, sql).expect_err(sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
        assert_eq!(
            store
                .access()
                .restrictions_in_force(None, 10)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.access().holds_in_force(None, 10).unwrap().len(), 1);
    }
}

fn cpis_notice(at_us: i64, child: &str, user_id: i64, to_user_id: Option<i64>) -> NewNotice {
    NewNotice {
        at_us,
        kind: NOTICE_CPIS_ACCESS.into(),
        resource_key: format!("child:{child}"),
        to_agency: Some("social-care".into()),
        about_agency: "riverside-ed".into(),
        about_user_id: Some(user_id),
        about_username: Some(format!("user-{user_id}")),
        subject: "view_child".into(),
        detail: "child_protection;practitioner".into(),
        to_user_id,
        to_team: to_user_id
            .is_none()
            .then(|| "team:social-care/duty".to_owned()),
    }
}

#[test]
fn cpis_notices_are_given_once_per_user_child_and_period_and_read_by_whom_they_tell() {
    for (database, store) in stores() {
        let access = store.access();
        let day = 86_400_000_000_i64;
        let first = access
            .append_notice_once_since(
                &cpis_notice(day + 10, "p-0000000000000001", 7, Some(40)),
                day,
            )
            .unwrap();
        assert!(first.is_some());
        // The same user, child and day: no second notice; another user, another
        // child or the next day: one each.
        let again = access
            .append_notice_once_since(
                &cpis_notice(day + 20, "p-0000000000000001", 7, Some(40)),
                day,
            )
            .unwrap();
        assert_eq!(again, None);
        for (at_us, child, user, since) in [
            (day + 30, "p-0000000000000001", 8, day),
            (day + 40, "p-0000000000000002", 7, day),
            (2 * day + 1, "p-0000000000000001", 7, 2 * day),
        ] {
            let given = access
                .append_notice_once_since(&cpis_notice(at_us, child, user, None), since)
                .unwrap();
            assert!(given.is_some(), "{child} {user} {at_us}");
        }
        // A notice once a day must name its user.
        let mut anonymous = cpis_notice(day, "p-0000000000000003", 7, None);
        anonymous.about_user_id = None;
        assert!(matches!(
            access.append_notice_once_since(&anonymous, 0),
            Err(StoreError::InvalidAccess { .. })
        ));

        let told = |to_user_id, to_team: Option<&str>| {
            access
                .notices(&NoticeFilter {
                    to_user_id,
                    to_team: to_team.map(str::to_owned),
                    limit: 100,
                    ..NoticeFilter::default()
                })
                .unwrap()
        };
        let worker = told(Some(40), None);
        assert_eq!(worker.len(), 1);
        assert_eq!(
            worker[0].notice,
            cpis_notice(day + 10, "p-0000000000000001", 7, Some(40))
        );
        assert_eq!(told(None, Some("team:social-care/duty")).len(), 3);
        assert_eq!(told(Some(40), Some("team:social-care/duty")).len(), 4);
        assert_eq!(told(Some(41), Some("team:social-care/other")).len(), 0);
        assert_eq!(
            access
                .count_notices_told(40, Some("team:social-care/duty"), 0)
                .unwrap(),
            4
        );
        assert_eq!(access.count_notices_told(40, None, 0).unwrap(), 1);
        assert_eq!(
            access
                .count_notices_told(40, Some("team:social-care/duty"), 2 * day)
                .unwrap(),
            1
        );
        // The lead agency's managers read them as before.
        assert_eq!(access.count_notices(Some("social-care"), 0).unwrap(), 4);
        // Still append-only after the table was rebuilt (SQLite).
        let refused = execute_raw(&database, "UPDATE access_notices SET detail = 'x'");
        assert!(refused.unwrap_err().contains("append-only"));
        let refused = execute_raw(&database, "DELETE FROM access_notices");
        assert!(refused.unwrap_err().contains("append-only"));
    }
}

fn unredaction(person_id: &str, record_id: &str, at_us: i64) -> sightline_store::NewUnredaction {
    sightline_store::NewUnredaction {
        at_us,
        person_id: person_id.into(),
        agency: "st-annes-gp".into(),
        record_id: record_id.into(),
        person_ref: "j".into(),
        reason: "The partner consented in writing to being named.".into(),
        by_user_id: Some(7),
        by_username: "privacy.officer".into(),
    }
}

#[test]
fn unredactions_are_read_per_person_oldest_first_and_append_only() {
    for (database, store) in stores() {
        let access = store.access();
        access
            .append_unredaction(&unredaction("p-000000000000000a", "GP-2", 11))
            .unwrap();
        access
            .append_unredaction(&unredaction("p-000000000000000b", "GP-1", 12))
            .unwrap();
        access
            .append_unredaction(&unredaction("p-000000000000000a", "GP-1", 13))
            .unwrap();
        let rows = access.unredactions("p-000000000000000a", 10).unwrap();
        assert_eq!(
            rows.iter()
                .map(|row| row.event.record_id.as_str())
                .collect::<Vec<_>>(),
            vec!["GP-2", "GP-1"]
        );
        assert_eq!(rows[0].event, unredaction("p-000000000000000a", "GP-2", 11));
        assert_eq!(
            access.unredactions("p-000000000000000a", 1).unwrap().len(),
            1
        );
        assert!(
            access
                .unredactions("p-000000000000000c", 10)
                .unwrap()
                .is_empty()
        );
        let mut bad = unredaction("p-000000000000000a", "GP-3", 14);
        bad.reason = " ".into();
        assert!(access.append_unredaction(&bad).is_err());
        bad = unredaction("p-000000000000000a", "GP-3", 14);
        bad.person_ref = String::new();
        assert!(access.append_unredaction(&bad).is_err());
        let mut statements = vec![
            "UPDATE sar_unredactions SET reason = 'x'",
            "DELETE FROM sar_unredactions",
        ];
        if database.backend == TestBackend::Postgres {
            statements.push("TRUNCATE sar_unredactions");
        }
        for sql in statements {
            let error = execute_raw(&database, sql).expect_err(sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
        assert_eq!(
            access.unredactions("p-000000000000000a", 10).unwrap().len(),
            2
        );
    }
}

#[test]
fn retention_batches_keep_their_records_and_decisions_append_only() {
    use sightline_store::{NewRetentionBatch, NewRetentionDecision, RetentionBatchRecord};
    for (database, store) in stores() {
        let access = store.access();
        let record = |record_id: &str| RetentionBatchRecord {
            agency: "haringate-csc".into(),
            record_id: record_id.into(),
            rule: "social care: to the child's 25th birthday".into(),
            kept_until: "2015-02-01".into(),
        };
        let batch = access
            .append_retention_batch(&NewRetentionBatch {
                created_at_us: 10,
                as_of: "2026-12-07".into(),
                n_blocked: 1,
                n_left_over: 0,
                made_by: "job".into(),
                records: vec![record("SC-2"), record("SC-1")],
            })
            .unwrap();
        assert_eq!(batch.n_records, 2);
        // A bad record rolls the whole batch back.
        let mut bad = record("SC-3");
        bad.kept_until = "soon".into();
        assert!(
            access
                .append_retention_batch(&NewRetentionBatch {
                    created_at_us: 11,
                    as_of: "2026-12-08".into(),
                    n_blocked: 0,
                    n_left_over: 0,
                    made_by: "job".into(),
                    records: vec![record("SC-3"), bad],
                })
                .is_err()
        );
        assert_eq!(
            access.retention_batches(None, None, 10).unwrap(),
            vec![batch.clone()]
        );
        assert_eq!(
            access
                .retention_batches(Some("2026-12-07"), None, 10)
                .unwrap()
                .len(),
            1
        );
        assert!(
            access
                .retention_batches(Some("2026-12-08"), None, 10)
                .unwrap()
                .is_empty()
        );
        let records = access.retention_batch_records(batch.id, None, 10).unwrap();
        assert_eq!(records, vec![record("SC-1"), record("SC-2")]);
        assert_eq!(
            access
                .retention_batch_records(batch.id, Some(("haringate-csc", "SC-1")), 10)
                .unwrap(),
            vec![record("SC-2")]
        );
        let decision = |decision: &str, at_us: i64| NewRetentionDecision {
            batch_id: batch.id,
            at_us,
            decision: decision.into(),
            reason: "Past the date under the schedule; nothing open.".into(),
            n_kept_held: 0,
            by_user_id: Some(7),
            by_username: "privacy.officer".into(),
        };
        access
            .append_retention_decision(&decision("deferred", 12))
            .unwrap();
        access
            .append_retention_decision(&decision("approved", 13))
            .unwrap();
        assert!(
            access
                .append_retention_decision(&decision("erased", 14))
                .is_err()
        );
        let decisions = access.retention_decisions(Some(batch.id), 10).unwrap();
        assert_eq!(
            decisions
                .iter()
                .map(|row| row.event.decision.as_str())
                .collect::<Vec<_>>(),
            vec!["approved", "deferred"]
        );
        let mut statements = vec![
            "UPDATE retention_batches SET n_records = 0",
            "DELETE FROM retention_batches",
            "UPDATE retention_batch_records SET rule = 'x'",
            "DELETE FROM retention_batch_records",
            "UPDATE retention_decisions SET decision = 'rejected'",
            "DELETE FROM retention_decisions",
        ];
        if database.backend == TestBackend::Postgres {
            statements.extend([
                "TRUNCATE retention_decisions",
                "TRUNCATE retention_batch_records",
            ]);
        }
        for sql in statements {
            let error = execute_raw(&database, sql).expect_err(sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
    }
}
