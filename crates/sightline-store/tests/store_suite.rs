//! One storage test suite, run against both backends.
//!
//! Each check is a plain function taking a fresh [`TestDb`]; `backend_tests!`
//! generates one `#[test]` per check per backend (`sqlite::name`, `postgres::name`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sightline_store::{
    AppendOutcome, Backend, NewRecord, RecordFilter, Store, StoreError, StoredRecord,
};
use support::{TestDb, record};

macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = crate::support::sqlite_db();
                    assert_eq!(db.store.backend(), sightline_store::Backend::Sqlite);
                    super::$name(&db);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(db) = crate::support::pg_db() else { return };
                    assert_eq!(db.store.backend(), sightline_store::Backend::Postgres);
                    super::$name(&db);
                }
            )*
        }
    };
}

backend_tests!(
    append_duplicate_supersede_and_history,
    duplicates_within_one_batch,
    large_batch_spanning_chunks,
    drop_without_commit_rolls_back,
    invalid_record_rejects_the_whole_slice,
    updates_and_deletes_are_rejected,
    bodies_are_sealed_and_erasure_destroys_keys,
    plaintext_bodies_are_sealed_by_the_migration,
    list_records_pages_with_a_cursor,
    list_records_filters,
    record_versions_ascending,
    timestamp_versions_round_trip_and_supersede,
    tokens,
    migrations_are_idempotent,
    concurrent_writers_keep_seq_in_commit_order,
    append_matches_the_model,
    long_slices_append_matches_the_model,
    works_inside_tokio_spawn_blocking,
    failed_append_poisons_the_transaction,
);

fn append_one(store: &dyn Store, records: &[NewRecord]) -> Vec<AppendOutcome> {
    let mut tx = store.begin().unwrap();
    let outcomes = tx.append(records).unwrap();
    tx.commit().unwrap();
    outcomes
}

fn stored_seq(outcome: AppendOutcome) -> i64 {
    match outcome {
        AppendOutcome::Stored { seq, .. } => seq,
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn append_duplicate_supersede_and_history(db: &TestDb) {
    let store = &*db.store;
    let first = append_one(store, &[record("police-a", "R1", 1, 1)]);
    assert!(matches!(
        first[..],
        [AppendOutcome::Stored {
            superseded: false,
            ..
        }]
    ));
    let seq_v1 = stored_seq(first[0]);

    let again = append_one(store, &[record("police-a", "R1", 1, 1)]);
    assert_eq!(
        again,
        vec![AppendOutcome::Duplicate {
            existing_seq: seq_v1,
            same_content: true
        }]
    );
    let changed = append_one(store, &[record("police-a", "R1", 1, 2)]);
    assert_eq!(
        changed,
        vec![AppendOutcome::Duplicate {
            existing_seq: seq_v1,
            same_content: false
        }]
    );

    let v3 = append_one(store, &[record("police-a", "R1", 3, 3)]);
    assert!(matches!(
        v3[..],
        [AppendOutcome::Stored {
            superseded: true,
            ..
        }]
    ));
    let late_v2 = append_one(store, &[record("police-a", "R1", 2, 2)]);
    assert!(matches!(
        late_v2[..],
        [AppendOutcome::Stored {
            superseded: false,
            ..
        }]
    ));
    assert!(stored_seq(late_v2[0]) > stored_seq(v3[0]));

    // The same record_id from another agency is a different record.
    let other = append_one(store, &[record("health-b", "R1", 2, 1)]);
    assert!(matches!(
        other[..],
        [AppendOutcome::Stored {
            superseded: false,
            ..
        }]
    ));

    assert_eq!(store.count_records().unwrap(), 4);
    let versions: Vec<i64> = store
        .record_versions("police-a", "R1")
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    // The first copy is kept, not overwritten by the changed duplicate.
    assert_eq!(
        store.record_versions("police-a", "R1").unwrap()[0].content_hash,
        [1; 32]
    );
}

fn duplicates_within_one_batch(db: &TestDb) {
    let store = &*db.store;
    let outcomes = append_one(
        store,
        &[
            record("school-c", "E1", 1, 1),
            record("school-c", "E1", 1, 1),
            record("school-c", "E1", 1, 9),
            record("school-c", "E1", 2, 2),
            record("school-c", "E1", 2, 2),
            record("school-c", "E1", 1, 1),
        ],
    );
    let seq_v1 = stored_seq(outcomes[0]);
    let seq_v2 = stored_seq(outcomes[3]);
    assert!(seq_v2 > seq_v1);
    assert_eq!(
        outcomes,
        vec![
            AppendOutcome::Stored {
                seq: seq_v1,
                superseded: false
            },
            AppendOutcome::Duplicate {
                existing_seq: seq_v1,
                same_content: true
            },
            AppendOutcome::Duplicate {
                existing_seq: seq_v1,
                same_content: false
            },
            AppendOutcome::Stored {
                seq: seq_v2,
                superseded: true
            },
            AppendOutcome::Duplicate {
                existing_seq: seq_v2,
                same_content: true
            },
            AppendOutcome::Duplicate {
                existing_seq: seq_v1,
                same_content: true
            },
        ]
    );
    assert_eq!(store.count_records().unwrap(), 2);
}

fn large_batch_spanning_chunks(db: &TestDb) {
    let store = &*db.store;
    // 2,500 new records then 2,500 repeats, so duplicates span the PostgreSQL chunk size.
    let mut batch: Vec<NewRecord> = (0..2_500)
        .map(|idx| record("gp-d", &format!("C{idx}"), 1, 1))
        .collect();
    batch.extend((0..2_500).map(|idx| record("gp-d", &format!("C{idx}"), 1, 1)));
    let outcomes = append_one(store, &batch);
    assert_eq!(outcomes.len(), 5_000);
    let seqs: Vec<i64> = outcomes[..2_500]
        .iter()
        .map(|outcome| stored_seq(*outcome))
        .collect();
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "seq follows input order"
    );
    for (idx, outcome) in outcomes[2_500..].iter().enumerate() {
        assert_eq!(
            *outcome,
            AppendOutcome::Duplicate {
                existing_seq: seqs[idx],
                same_content: true
            }
        );
    }
    assert_eq!(store.count_records().unwrap(), 2_500);
}

fn drop_without_commit_rolls_back(db: &TestDb) {
    let store = &*db.store;
    {
        let mut tx = store.begin().unwrap();
        let outcomes = tx
            .append(&[
                record("police-a", "R1", 1, 1),
                record("police-a", "R2", 1, 1),
            ])
            .unwrap();
        assert_eq!(outcomes.len(), 2);
    }
    assert_eq!(store.count_records().unwrap(), 0);
    assert!(store.record_versions("police-a", "R1").unwrap().is_empty());
    // The store is usable afterwards and the same triple is new again.
    let outcomes = append_one(store, &[record("police-a", "R1", 1, 1)]);
    assert!(matches!(
        outcomes[..],
        [AppendOutcome::Stored {
            superseded: false,
            ..
        }]
    ));
    assert_eq!(store.count_records().unwrap(), 1);
}

fn invalid_record_rejects_the_whole_slice(db: &TestDb) {
    let store = &*db.store;
    let mut tx = store.begin().unwrap();
    let result = tx.append(&[
        record("police-a", "R1", 1, 1),
        record("police-a", "R2", 0, 1),
    ]);
    assert!(
        matches!(result, Err(StoreError::InvalidRecord { record_idx: 1, .. })),
        "{result:?}"
    );
    tx.commit().unwrap();
    assert_eq!(store.count_records().unwrap(), 0);
}

fn updates_and_deletes_are_rejected(db: &TestDb) {
    append_one(&*db.store, &[record("police-a", "R1", 1, 1)]);
    let update = db.execute_raw("UPDATE records SET body = '{}'");
    assert!(
        update
            .as_ref()
            .is_err_and(|error| error.contains("append-only")),
        "{update:?}"
    );
    let delete = db.execute_raw("DELETE FROM records");
    assert!(
        delete
            .as_ref()
            .is_err_and(|error| error.contains("append-only")),
        "{delete:?}"
    );
    if db.store.backend() == Backend::Postgres {
        assert!(db.execute_raw("TRUNCATE records").is_err());
    }
    let kept = db.store.record_versions("police-a", "R1").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].body, record("police-a", "R1", 1, 1).body);
}

/// Reads every body column and key of the database on a raw connection.
fn raw_texts(db: &TestDb) -> (Vec<String>, usize) {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        let bodies = connection
            .prepare("SELECT body FROM records")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let n_keys: i64 = connection
            .query_row("SELECT COUNT(*) FROM data_keys", [], |row| row.get(0))
            .unwrap();
        (bodies, n_keys as usize)
    } else {
        let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
        let bodies = client
            .query("SELECT body FROM records", &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let n_keys: i64 = client
            .query_one("SELECT COUNT(*) FROM data_keys", &[])
            .unwrap()
            .get(0);
        (bodies, n_keys as usize)
    }
}

fn bodies_are_sealed_and_erasure_destroys_keys(db: &TestDb) {
    use sightline_store::{ErasureTarget, NewErasure};
    let store = &*db.store;
    let body = |version: i64, family: &str| {
        format!(
            r#"{{"source": {{"agency": "police-a", "record_id": "E1", "version": {version}}}, "persons": [{{"ref": "c", "role": "subject", "given_names": "Zebedee"}}, {{"ref": "m", "role": "parent", "family_name": "{family}", "dob": "1971-02-03"}}], "narrative": "Quietly spoken"}}"#
        )
    };
    let mut first = record("police-a", "E1", 1, 1);
    first.body = body(1, "Quillfeather");
    let mut second = record("police-a", "E1", 2, 2);
    second.body = body(2, "Quillfeathers");
    let mut other = record("police-a", "E2", 1, 3);
    other.body = body(1, "Ottermole").replace("E1", "E2");
    append_one(store, &[first.clone(), second.clone(), other.clone()]);
    let (bodies, n_keys) = raw_texts(db);
    assert_eq!(n_keys, 9, "a key per person and per record");
    for stored in &bodies {
        for value in [
            "Zebedee",
            "Quillfeather",
            "Ottermole",
            "1971-02-03",
            "Quietly",
        ] {
            assert!(!stored.contains(value), "{value} stored in clear");
        }
    }
    // Read back byte for byte.
    let versions = store.record_versions("police-a", "E1").unwrap();
    assert_eq!(versions[0].body, first.body);
    assert_eq!(versions[1].body, second.body);
    let seq = versions[0].seq;
    let keys = store.envelope_keys(seq).unwrap().unwrap();
    assert_eq!(keys.mentions.len(), 2);

    let erased = store
        .erase(&NewErasure {
            at_us: 1,
            actor: "cli".into(),
            scope: "person".into(),
            target: "p-test".into(),
            reason: "The subject asked and the DPO agreed".into(),
            targets: vec![ErasureTarget {
                agency: "police-a".into(),
                record_id: "E1".into(),
                refs: Some(vec!["m".into()]),
            }],
        })
        .unwrap();
    assert_eq!((erased.n_records, erased.n_keys), (2, 2));
    assert_eq!(raw_texts(db).1, 7);
    let versions = store.record_versions("police-a", "E1").unwrap();
    for version in &versions {
        assert!(!version.body.contains("Quillfeather"), "{}", version.body);
        assert!(!version.body.contains("1971-02-03"));
        assert!(version.body.contains("Zebedee"));
        assert!(
            version
                .body
                .contains(&format!("\"source_person_id\":\"erased:{}\"", erased.id))
        );
        assert!(version.erased.is_none());
        // The row is as it was: content_hash still the hash of the body as received.
    }
    assert_eq!(versions[0].content_hash, first.content_hash);
    assert_eq!(
        store.record_versions("police-a", "E2").unwrap()[0].body,
        other.body
    );
    // Erasing again destroys nothing more.
    let again = store
        .erase(&NewErasure {
            at_us: 2,
            actor: "cli".into(),
            scope: "record".into(),
            target: "police-a/E1".into(),
            reason: "Past its retention date and approved".into(),
            targets: vec![ErasureTarget {
                agency: "police-a".into(),
                record_id: "E1".into(),
                refs: None,
            }],
        })
        .unwrap();
    assert_eq!(again.n_keys, 4, "the record keys and the subject's");
    assert!(store.record_versions("police-a", "E1").unwrap().is_empty());
    let listed = store
        .list_records(&RecordFilter {
            limit: 10,
            ..RecordFilter::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 3, "erased rows stay in the log");
    assert_eq!(listed[0].erased, Some(again.id));
    assert!(listed[0].body.is_empty());
    assert_eq!(listed[2].body, other.body);
    let tombstones = store.erasures().unwrap();
    assert_eq!(tombstones.len(), 2);
    assert_eq!(tombstones[0].key_ids.len(), 2);
    assert_eq!(store.newest_erasure().unwrap(), Some(again.id));
    assert_eq!(raw_texts(db).1, 3);
    store.compact_after_erasure().ok();
    // The tombstones are append-only.
    assert!(db.execute_raw("DELETE FROM erasures").is_err());
    assert!(db.execute_raw("DELETE FROM erased_keys").is_err());
}

/// A log from before encryption (migration 0100 undone by hand, a plaintext
/// body added) is sealed when a store next opens it, and the append-only
/// trigger is back afterwards.
fn plaintext_bodies_are_sealed_by_the_migration(db: &TestDb) {
    let plain = r#"{"persons": [{"ref": "a", "role": "subject", "family_name": "Underwoodly"}], "narrative": "Oldlog"}"#;
    let undo = if db.store.backend() == Backend::Sqlite {
        format!(
            "DROP TABLE erased_keys; DROP TABLE erasures; DROP TABLE data_keys; \
             DELETE FROM schema_migrations WHERE version = 100; \
             INSERT INTO records (agency, record_id, version, kind, occurred_at, occurred_start_us, \
             recorded_at_us, received_at_us, content_hash, body) VALUES ('police-a', 'OLD1', 1, \
             'police.call_out', '2007-04', 0, 0, 0, zeroblob(32), '{plain}');"
        )
    } else {
        format!(
            "DROP TABLE erased_keys; DROP TABLE erasures; DROP TABLE data_keys; \
             DROP FUNCTION data_keys_no_update(); DROP SEQUENCE data_key_ids; \
             DELETE FROM schema_migrations WHERE version = 100; \
             INSERT INTO records (agency, record_id, version, kind, occurred_at, occurred_start_us, \
             recorded_at_us, received_at_us, content_hash, body) VALUES ('police-a', 'OLD1', 1, \
             'police.call_out', '2007-04', 0, 0, 0, decode(repeat('00', 32), 'hex'), '{plain}');"
        )
    };
    db.execute_raw(&undo).unwrap();
    let reopened = sightline_store::open(&db.url).unwrap();
    let (bodies, n_keys) = raw_texts(db);
    assert!(
        bodies
            .iter()
            .all(|body| !body.contains("Underwoodly") && !body.contains("Oldlog"))
    );
    assert!(n_keys >= 2);
    assert_eq!(
        reopened.record_versions("police-a", "OLD1").unwrap()[0].body,
        plain
    );
    // Appending after the migration seals as usual.
    append_one(&*reopened, &[record("police-a", "N1", 1, 1)]);
    assert_eq!(
        reopened.record_versions("police-a", "N1").unwrap()[0].body,
        record("police-a", "N1", 1, 1).body
    );
    let update = db.execute_raw("UPDATE records SET body = '{}'");
    assert!(update.is_err_and(|error| error.contains("append-only")));
}

/// 30 records over two agencies and three kinds, received an hour apart.
fn mixed_records() -> Vec<NewRecord> {
    let kinds = ["health.birth", "police.call_out", "other.note"];
    (0..30)
        .map(|idx| {
            let agency = if idx % 2 == 0 { "police-a" } else { "health-b" };
            let mut new = record(agency, &format!("M{idx}"), 1, 1);
            new.kind = kinds[idx % 3].to_owned();
            new.received_at_us = 1_700_000_000_000_000 + idx as i64 * 3_600_000_000;
            new
        })
        .collect()
}

fn list_records_pages_with_a_cursor(db: &TestDb) {
    let store = &*db.store;
    let appended = mixed_records();
    append_one(store, &appended[..17]);
    append_one(store, &appended[17..]);

    let mut seen: Vec<StoredRecord> = Vec::new();
    let mut after_seq = None;
    loop {
        let page = store
            .list_records(&RecordFilter {
                after_seq,
                limit: 7,
                ..RecordFilter::default()
            })
            .unwrap();
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        after_seq = Some(last.seq);
        seen.extend(page);
    }
    assert!(seen.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    let seen_new: Vec<NewRecord> = seen.iter().map(StoredRecord::to_new_record).collect();
    assert_eq!(seen_new, appended);
    assert!(
        store
            .list_records(&RecordFilter {
                limit: 0,
                ..RecordFilter::default()
            })
            .unwrap()
            .is_empty()
    );
}

fn list_records_filters(db: &TestDb) {
    let store = &*db.store;
    let appended = mixed_records();
    append_one(store, &appended);
    let all = store
        .list_records(&RecordFilter {
            limit: 1_000,
            ..RecordFilter::default()
        })
        .unwrap();
    assert_eq!(all.len(), 30);
    let cutoff_us = appended[20].received_at_us;
    let filters = [
        (Some("police-a"), None, None, None),
        (None, Some("health.birth"), None, None),
        (Some("health-b"), Some("other.note"), None, None),
        (None, None, Some(cutoff_us), None),
        (
            Some("police-a"),
            Some("police.call_out"),
            Some(cutoff_us),
            Some(all[5].seq),
        ),
        (Some("nobody"), None, None, None),
    ];
    for (agency, kind, received_since_us, after_seq) in filters {
        let filter = RecordFilter {
            agency: agency.map(str::to_owned),
            kind: kind.map(str::to_owned),
            received_since_us,
            after_seq,
            limit: 1_000,
        };
        let expected: Vec<&StoredRecord> = all
            .iter()
            .filter(|r| agency.is_none_or(|agency| r.agency == agency))
            .filter(|r| kind.is_none_or(|kind| r.kind == kind))
            .filter(|r| received_since_us.is_none_or(|since| r.received_at_us >= since))
            .filter(|r| after_seq.is_none_or(|after| r.seq > after))
            .collect();
        let got = store.list_records(&filter).unwrap();
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{filter:?}");
        let limited = store
            .list_records(&RecordFilter {
                limit: 2,
                ..filter.clone()
            })
            .unwrap();
        assert_eq!(
            limited.iter().collect::<Vec<_>>(),
            expected.iter().take(2).copied().collect::<Vec<_>>()
        );
    }
}

fn record_versions_ascending(db: &TestDb) {
    let store = &*db.store;
    append_one(
        store,
        &[record("police-a", "V", 5, 5), record("police-a", "V", 2, 2)],
    );
    append_one(
        store,
        &[record("police-a", "V", 9, 9), record("police-a", "W", 1, 1)],
    );
    let versions = store.record_versions("police-a", "V").unwrap();
    assert_eq!(
        versions.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![2, 5, 9]
    );
    assert_eq!(versions[2].to_new_record(), record("police-a", "V", 9, 9));
    assert!(
        store
            .record_versions("police-a", "missing")
            .unwrap()
            .is_empty()
    );
    assert!(store.record_versions("nobody", "V").unwrap().is_empty());
}

/// Agencies use timestamps as versions (epoch milliseconds, yyyymmddhhmmss):
/// every positive `i64` is stored, read back exactly and compared as a number.
fn timestamp_versions_round_trip_and_supersede(db: &TestDb) {
    let store = &*db.store;
    let over_u32 = 4_294_967_296;
    let yyyymmddhhmmss = 20_071_231_235_959;
    let epoch_ms = 1_732_700_000_000;
    let outcomes = append_one(
        store,
        &[
            record("police-a", "T", over_u32, 1),
            record("police-a", "T", yyyymmddhhmmss, 2),
        ],
    );
    assert!(
        matches!(
            outcomes[1],
            AppendOutcome::Stored {
                superseded: true,
                ..
            }
        ),
        "{outcomes:?}"
    );
    let outcomes = append_one(
        store,
        &[
            record("police-a", "T", epoch_ms, 3),
            record("police-a", "T", i64::MAX, 4),
            record("police-a", "M", i64::MAX, 5),
        ],
    );
    assert!(
        matches!(
            outcomes[0],
            AppendOutcome::Stored {
                superseded: false,
                ..
            }
        ),
        "a lower timestamp than the newest stored does not supersede: {outcomes:?}"
    );
    assert!(
        matches!(
            outcomes[1],
            AppendOutcome::Stored {
                superseded: true,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert!(
        matches!(
            outcomes[2],
            AppendOutcome::Stored {
                superseded: false,
                ..
            }
        ),
        "{outcomes:?}"
    );
    let again = append_one(store, &[record("police-a", "T", i64::MAX, 4)]);
    assert!(
        matches!(again[0], AppendOutcome::Duplicate { .. }),
        "{again:?}"
    );
    let versions = store.record_versions("police-a", "T").unwrap();
    assert_eq!(
        versions.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![over_u32, epoch_ms, yyyymmddhhmmss, i64::MAX]
    );
    for (stored, variant) in versions.iter().zip([1, 3, 2, 4]) {
        assert_eq!(
            stored.to_new_record(),
            record("police-a", "T", stored.version, variant)
        );
    }
}

fn tokens(db: &TestDb) {
    let store = &*db.store;
    let police_id = store.create_token("police-a", &[7; 32], 1_000).unwrap();
    let health_id = store.create_token("health-b", &[8; 32], 2_000).unwrap();
    assert_ne!(police_id, health_id);
    assert_eq!(
        store.token_agency(&[7; 32]).unwrap().as_deref(),
        Some("police-a")
    );
    assert_eq!(
        store.token_agency(&[8; 32]).unwrap().as_deref(),
        Some("health-b")
    );
    assert_eq!(store.token_agency(&[9; 32]).unwrap(), None);
    assert!(matches!(
        store.create_token("other", &[7; 32], 3_000),
        Err(StoreError::TokenExists)
    ));

    assert!(store.revoke_token(police_id, 4_000).unwrap());
    assert_eq!(store.token_agency(&[7; 32]).unwrap(), None);
    assert!(!store.revoke_token(police_id, 5_000).unwrap());
    assert!(!store.revoke_token(99_999, 5_000).unwrap());
    assert_eq!(
        store.token_agency(&[8; 32]).unwrap().as_deref(),
        Some("health-b")
    );
}

fn migrations_are_idempotent(db: &TestDb) {
    append_one(&*db.store, &[record("police-a", "R1", 1, 1)]);
    let report = sightline_store::migrate(&db.url).unwrap();
    assert!(report.applied.is_empty());
    assert!(report.schema_version >= 1);
    assert_eq!(report.backend, db.store.backend());
    let reopened = sightline_store::open(&db.url).unwrap();
    assert_eq!(reopened.count_records().unwrap(), 1);
    let outcomes = append_one(&*reopened, &[record("police-a", "R1", 2, 2)]);
    assert!(matches!(
        outcomes[..],
        [AppendOutcome::Stored {
            superseded: true,
            ..
        }]
    ));
    assert_eq!(db.store.count_records().unwrap(), 2);
}

fn concurrent_writers_keep_seq_in_commit_order(db: &TestDb) {
    let store = &*db.store;
    std::thread::scope(|scope| {
        for writer in 0..3 {
            scope.spawn(move || {
                for batch in 0..10 {
                    let records: Vec<NewRecord> = (0..5)
                        .map(|idx| record("police-a", &format!("T{writer}-{batch}-{idx}"), 1, 1))
                        .collect();
                    append_one(store, &records);
                }
            });
        }
        // A cursor reader running alongside never sees seq go backwards.
        scope.spawn(move || {
            let mut after_seq = None;
            for _ in 0..50 {
                let page = store
                    .list_records(&RecordFilter {
                        after_seq,
                        limit: 100,
                        ..RecordFilter::default()
                    })
                    .unwrap();
                assert!(page.windows(2).all(|pair| pair[0].seq < pair[1].seq));
                if let Some(last) = page.last() {
                    assert!(after_seq.is_none_or(|after| last.seq > after));
                    after_seq = Some(last.seq);
                }
            }
        });
    });
    assert_eq!(store.count_records().unwrap(), 150);
    let all = store
        .list_records(&RecordFilter {
            limit: 1_000,
            ..RecordFilter::default()
        })
        .unwrap();
    assert_eq!(all.len(), 150);
    // Each batch of five was committed as a unit: its seqs are contiguous in the log.
    for chunk in all.chunks(5) {
        let prefix = |r: &StoredRecord| {
            r.record_id
                .rsplit_once('-')
                .map(|(head, _)| head.to_owned())
        };
        assert!(
            chunk.iter().all(|r| prefix(r) == prefix(&chunk[0])),
            "batches interleaved"
        );
    }
}

fn works_inside_tokio_spawn_blocking(db: &TestDb) {
    // The HTTP server calls the store from `spawn_blocking`; the PostgreSQL client
    // runs its own small runtime, which must not clash with the server's.
    let url = db.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let count = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let store = sightline_store::open(&url).unwrap();
            append_one(&*store, &[record("police-a", "B1", 1, 1)]);
            store.count_records().unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(count, 1);
    assert_eq!(db.store.count_records().unwrap(), 1);
}

fn failed_append_poisons_the_transaction(db: &TestDb) {
    // A trigger installed behind the store's back makes one insert fail mid-slice.
    let trigger = match db.store.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER boom BEFORE INSERT ON records WHEN NEW.record_id = 'BOOM' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.record_id = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END; $$; \
             CREATE TRIGGER boom BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION boom();"
        }
    };
    db.execute_raw(trigger).unwrap();
    let store = &*db.store;
    let mut tx = store.begin().unwrap();
    let failed = tx.append(&[
        record("police-a", "OK1", 1, 1),
        record("police-a", "BOOM", 1, 1),
    ]);
    assert!(
        matches!(failed, Err(StoreError::Database { .. })),
        "{failed:?}"
    );
    let again = tx.append(&[record("police-a", "OK2", 1, 1)]);
    assert!(
        matches!(again, Err(StoreError::TransactionFailed)),
        "{again:?}"
    );
    assert!(matches!(tx.commit(), Err(StoreError::TransactionFailed)));
    assert_eq!(store.count_records().unwrap(), 0);
    // The store is usable afterwards.
    append_one(store, &[record("police-a", "OK1", 1, 1)]);
    assert_eq!(store.count_records().unwrap(), 1);
}

// ---- Model-based property test ----------------------------------------------------

/// One appended record in the model: which agency, record and version, and which
/// body variant.
type Op = (u8, u8, i64, u8);

#[derive(Debug, PartialEq, Eq)]
enum ModelOutcome {
    /// Stored as the n-th stored record overall.
    Stored {
        ordinal: usize,
        superseded: bool,
    },
    Duplicate {
        ordinal: usize,
        same_content: bool,
    },
}

#[derive(Clone, Default)]
struct Model {
    /// (agency, record_id, version) -> (ordinal, body variant).
    stored: BTreeMap<(String, String, i64), (usize, u8)>,
    n_stored: usize,
}

impl Model {
    fn append(&mut self, new: &NewRecord, variant: u8) -> ModelOutcome {
        let triple = (new.agency.clone(), new.record_id.clone(), new.version);
        if let Some((ordinal, stored_variant)) = self.stored.get(&triple) {
            return ModelOutcome::Duplicate {
                ordinal: *ordinal,
                same_content: *stored_variant == variant,
            };
        }
        let max = self
            .stored
            .keys()
            .filter(|(agency, record_id, _)| *agency == new.agency && *record_id == new.record_id)
            .map(|(_, _, version)| *version)
            .max();
        let ordinal = self.n_stored;
        self.n_stored += 1;
        self.stored.insert(triple, (ordinal, variant));
        ModelOutcome::Stored {
            ordinal,
            superseded: max.is_some_and(|max| max < new.version),
        }
    }
}

fn transactions_strategy() -> impl Strategy<Value = Vec<(Vec<Op>, bool)>> {
    let op = (0u8..2, 0u8..3, 1i64..5, 0u8..2);
    prop::collection::vec(
        (prop::collection::vec(op, 0..8), prop::bool::weighted(0.8)),
        1..6,
    )
}

fn append_matches_the_model(db: &TestDb) {
    check_against_the_model(db, transactions_strategy(), 3);
}

/// Slices long enough to be appended in multi-row groups (SQLite), mostly
/// version 1 and with repeats, so groups hold duplicates of earlier groups, of
/// rows earlier in the same group and of earlier transactions.
fn long_slices_append_matches_the_model(db: &TestDb) {
    let version = prop_oneof![8 => Just(1i64), 1 => 2i64..4];
    let op = (0u8..2, 0u8..40, version, 0u8..2);
    let strategy = prop::collection::vec(
        (prop::collection::vec(op, 0..130), prop::bool::weighted(0.8)),
        1..4,
    );
    check_against_the_model(db, strategy, 40);
}

fn check_against_the_model(
    db: &TestDb,
    strategy: impl Strategy<Value = Vec<(Vec<Op>, bool)>>,
    n_record_ids: u8,
) {
    let store = &*db.store;
    let case_counter = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |transactions| {
        // Every case writes under its own agencies, so cases share one database.
        case_counter.set(case_counter.get() + 1);
        let case_no = case_counter.get();
        let agency = |idx: u8| format!("case{case_no}-agency{idx}");
        let mut model = Model::default();
        // seq -> ordinal of the stored records seen so far.
        let mut ordinal_of_seq: HashMap<i64, usize> = HashMap::new();
        let mut last_seq = 0;
        for (ops, commit) in &transactions {
            let before = model.clone();
            let last_seq_before = last_seq;
            let mut tx = store.begin().unwrap();
            let records: Vec<NewRecord> = ops
                .iter()
                .map(|(agency_idx, record_idx, version, variant)| {
                    record(
                        &agency(*agency_idx),
                        &format!("R{record_idx}"),
                        *version,
                        *variant,
                    )
                })
                .collect();
            let outcomes = tx.append(&records).unwrap();
            prop_assert_eq!(outcomes.len(), records.len());
            let mut stored_here = Vec::new();
            for ((new, (_, _, _, variant)), outcome) in records.iter().zip(ops).zip(outcomes) {
                let expected = model.append(new, *variant);
                let actual = match outcome {
                    AppendOutcome::Stored { seq, superseded } => {
                        prop_assert!(seq > last_seq, "seq follows append order");
                        last_seq = seq;
                        let ordinal = ordinal_of_seq.len();
                        ordinal_of_seq.insert(seq, ordinal);
                        stored_here.push(seq);
                        ModelOutcome::Stored {
                            ordinal,
                            superseded,
                        }
                    }
                    AppendOutcome::Duplicate {
                        existing_seq,
                        same_content,
                    } => ModelOutcome::Duplicate {
                        ordinal: *ordinal_of_seq
                            .get(&existing_seq)
                            .expect("duplicate of a known seq"),
                        same_content,
                    },
                };
                prop_assert_eq!(actual, expected);
            }
            if *commit {
                tx.commit().unwrap();
            } else {
                drop(tx);
                model = before;
                // Rolled-back seqs may be handed out again (SQLite) or skipped (PostgreSQL).
                last_seq = last_seq_before;
                for seq in stored_here {
                    ordinal_of_seq.remove(&seq);
                }
            }
        }
        // Final state: every record's versions and contents, and nothing else.
        for agency_idx in 0..2 {
            for record_idx in 0..n_record_ids {
                let record_id = format!("R{record_idx}");
                let got: Vec<(i64, u8)> = store
                    .record_versions(&agency(agency_idx), &record_id)
                    .unwrap()
                    .iter()
                    .map(|r| (r.version, r.content_hash[0]))
                    .collect();
                let expected: Vec<(i64, u8)> = model
                    .stored
                    .iter()
                    .filter(|((a, r, _), _)| *a == agency(agency_idx) && *r == record_id)
                    .map(|((_, _, version), (_, variant))| (*version, *variant))
                    .collect();
                prop_assert_eq!(got, expected);
            }
            let listed = store
                .list_records(&RecordFilter {
                    agency: Some(agency(agency_idx)),
                    limit: 1_000,
                    ..RecordFilter::default()
                })
                .unwrap();
            let expected_count = model
                .stored
                .keys()
                .filter(|(a, _, _)| *a == agency(agency_idx))
                .count();
            prop_assert_eq!(listed.len(), expected_count);
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

// ---- Backend-specific checks ----------------------------------------------------

#[test]
fn sqlite_file_and_directories_are_created_on_first_use() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory
        .path()
        .join("nested")
        .join("deeper")
        .join("sightline.db");
    assert!(!path.exists());
    let store = sightline_store::open(&format!("sqlite://{}", path.display())).unwrap();
    assert!(path.exists());
    assert_eq!(store.count_records().unwrap(), 0);
    // WAL mode is a property of the file, visible from any connection.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let journal_mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal_mode, "wal");
    let page_size: i64 = raw
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    assert_eq!(page_size, 16_384);
    let version: i64 = raw
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert!(version >= 1);
}

#[test]
fn sqlite_migrate_reports_applied_migrations() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("m.db").display());
    let first = sightline_store::migrate(&url).unwrap();
    assert_eq!(first.applied[0].name, "0001_init");
    assert_eq!(
        Some(first.schema_version),
        first.applied.last().map(|m| m.version)
    );
    let second = sightline_store::migrate(&url).unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.schema_version, first.schema_version);
}

#[test]
fn sqlite_refuses_a_schema_newer_than_this_build() {
    let db = support::sqlite_db();
    db.execute_raw(
        "INSERT INTO schema_migrations (version, name, applied_at_us) VALUES (99, '0099_future', 0)",
    )
    .unwrap();
    let result = sightline_store::open(&db.url);
    assert!(
        matches!(result, Err(StoreError::Migration { .. })),
        "{:?}",
        result.err()
    );
}

#[test]
fn sqlite_memory_store_works() {
    let store = sightline_store::open("sqlite::memory:").unwrap();
    let outcomes = append_one(&*store, &[record("police-a", "R1", 1, 1)]);
    assert!(matches!(
        outcomes[..],
        [AppendOutcome::Stored {
            superseded: false,
            ..
        }]
    ));
    assert_eq!(store.count_records().unwrap(), 1);
}

#[test]
fn invalid_urls_are_refused() {
    for url in [
        "",
        "mysql://localhost/db",
        "sqlite://",
        "postgres://u:p@host:notaport/db",
    ] {
        assert!(
            matches!(
                sightline_store::open(url),
                Err(StoreError::InvalidUrl { .. })
            ),
            "{url}"
        );
    }
}

#[test]
fn postgres_refuses_synchronous_commit_off() {
    let Some((admin_url, url, name)) = support::pg_empty_database() else {
        return;
    };
    let mut admin = ::postgres::Client::connect(&admin_url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET synchronous_commit = off"
        ))
        .unwrap();
    let result = sightline_store::open(&url);
    assert!(
        matches!(
            result,
            Err(StoreError::UnsafeDurability {
                setting: "synchronous_commit",
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}

#[test]
fn postgres_migrate_reports_applied_migrations() {
    let Some((admin_url, url, name)) = support::pg_empty_database() else {
        return;
    };
    let first = sightline_store::migrate(&url).unwrap();
    assert_eq!(first.applied[0].name, "0001_init");
    let second = sightline_store::migrate(&url).unwrap();
    assert!(second.applied.is_empty());
    let mut admin = ::postgres::Client::connect(&admin_url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}

#[test]
fn with_database_rewrites_urls() {
    assert_eq!(
        support::with_database("postgres://postgres@127.0.0.1:54329/postgres", "x"),
        "postgres://postgres@127.0.0.1:54329/x"
    );
    assert_eq!(
        support::with_database(
            "postgresql:///postgres?host=/tmp/d&port=5&user=postgres",
            "x"
        ),
        "postgresql:///x?host=/tmp/d&port=5&user=postgres"
    );
    assert_eq!(
        support::with_database("postgres://h:1", "x"),
        "postgres://h:1/x"
    );
}

fn open_concurrently(url: &str) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| sightline_store::open(url).map(|_| ())))
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
    });
    let report = sightline_store::migrate(url).unwrap();
    assert!(report.applied.is_empty());
    assert!(report.schema_version >= 1);
}

#[test]
fn sqlite_first_opens_at_once_migrate_once() {
    let directory = tempfile::tempdir().unwrap();
    open_concurrently(&format!(
        "sqlite://{}",
        directory.path().join("race.db").display()
    ));
}

#[test]
fn postgres_first_opens_at_once_migrate_once() {
    let Some((admin_url, url, name)) = support::pg_empty_database() else {
        return;
    };
    open_concurrently(&url);
    let mut admin = ::postgres::Client::connect(&admin_url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}
