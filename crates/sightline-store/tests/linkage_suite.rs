//! The linkage decision log, on both backends (every database
//! `sightline_testkit::all_databases` gives).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use sightline_store::{DecisionVerdict, NewLinkageDecision, Store, StoreError};
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

fn decision(left: &str, right: &str, verdict: DecisionVerdict, at_us: i64) -> NewLinkageDecision {
    NewLinkageDecision {
        left_key: left.into(),
        right_key: right.into(),
        verdict,
        actor: "lead.a".into(),
        reason: "same school, same GP, date of birth typed twice".into(),
        at_us,
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
fn decisions_are_stored_in_order_with_canonical_pairs() {
    for (database, store) in stores() {
        let linkage = store.linkage();
        assert!(linkage.decisions(0, 100).unwrap().is_empty());
        let first = linkage
            .record_decision(&decision(
                "police/9/c",
                "gp/1/c",
                DecisionVerdict::Match,
                10,
            ))
            .unwrap();
        assert_eq!(
            (first.left_key.as_str(), first.right_key.as_str()),
            ("gp/1/c", "police/9/c"),
            "{:?}",
            database.backend
        );
        let second = linkage
            .record_decision(&decision(
                "gp/1/c",
                "school/4/c",
                DecisionVerdict::NonMatch,
                20,
            ))
            .unwrap();
        let third = linkage
            .record_decision(&decision(
                "gp/1/c",
                "police/9/c",
                DecisionVerdict::Withdrawn,
                30,
            ))
            .unwrap();
        assert!(first.seq < second.seq && second.seq < third.seq);

        let all = linkage.decisions(0, 100).unwrap();
        assert_eq!(all, vec![first.clone(), second.clone(), third.clone()]);
        assert_eq!(
            linkage.decisions(first.seq, 1).unwrap(),
            vec![second.clone()]
        );
        assert_eq!(
            linkage.decisions_for_key("police/9/c").unwrap(),
            vec![first.clone(), third.clone()]
        );
        assert_eq!(
            linkage.decisions_for_key("gp/1/c").unwrap(),
            vec![first, second, third]
        );
        assert!(linkage.decisions_for_key("ed/7/c").unwrap().is_empty());
    }
}

#[test]
fn bad_decisions_are_refused_before_the_database() {
    for (_database, store) in stores() {
        let linkage = store.linkage();
        let same = decision("gp/1/c", "gp/1/c", DecisionVerdict::Match, 1);
        let mut no_reason = decision("gp/1/c", "police/9/c", DecisionVerdict::Match, 1);
        no_reason.reason = String::new();
        let mut no_actor = decision("gp/1/c", "police/9/c", DecisionVerdict::Match, 1);
        no_actor.actor = " ".into();
        let long_key = decision(&"x".repeat(600), "gp/1/c", DecisionVerdict::Match, 1);
        for bad in [same, no_reason, no_actor, long_key] {
            assert!(matches!(
                linkage.record_decision(&bad),
                Err(StoreError::InvalidDecision { .. })
            ));
        }
        assert!(linkage.decisions(0, 10).unwrap().is_empty());
    }
}

#[test]
fn decisions_cannot_be_changed_or_removed() {
    for (database, store) in stores() {
        store
            .linkage()
            .record_decision(&decision(
                "gp/1/c",
                "police/9/c",
                DecisionVerdict::Match,
                10,
            ))
            .unwrap();
        let mut attempts = vec![
            "UPDATE linkage_decisions SET verdict = 'non_match'",
            "DELETE FROM linkage_decisions",
        ];
        if database.backend == TestBackend::Postgres {
            attempts.push("TRUNCATE linkage_decisions");
        }
        for sql in attempts {
            let error = execute_raw(&database, sql).expect_err(sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
        // A pair stored out of canonical order is refused by the schema too.
        let error = execute_raw(
            &database,
            "INSERT INTO linkage_decisions (left_key, right_key, verdict, actor, reason, at_us) \
             VALUES ('z/1/c', 'a/1/c', 'match', 'x', 'y', 1)",
        );
        assert!(error.is_err());
        assert_eq!(store.linkage().decisions(0, 10).unwrap().len(), 1);
    }
}
