//! Accounts, sessions, throttling, grants and the audit log, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // Shared with store_suite, which uses all of it.
mod support;

use sightline_store::{
    AuditRow, NOTICE_BREAK_GLASS, NewGrant, NewNotice, NewUser, NoticeFilter, ThrottlePolicy,
};
use support::TestDb;

macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&crate::support::sqlite_db());
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
    users_are_disabled_and_enabled,
    users_are_unique_by_username,
    sessions_live_and_end,
    failures_back_off_and_reset,
    break_glass_grants_expire,
    grants_within_a_limit_are_counted_per_user_and_period,
    break_glass_writes_grant_notice_and_audit_entry_in_one_transaction,
    tokens_are_listed_without_hashes,
    audit_appends_in_a_gapless_chain,
    audit_rows_cannot_be_changed_or_removed,
    concurrent_audit_appends_stay_gapless,
    recent_records_are_newest_first,
    audit_about_reads_only_the_entries_about_the_keys,
    grants_tokens_and_users_cannot_be_rewritten,
    every_table_is_append_only_or_listed_as_mutable,
);

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.into(),
        password_hash: HASH.into(),
        role: "practitioner".into(),
        agency: "police".into(),
        team: Some("north".into()),
        created_at_us: 10,
        disabled_at_us: None,
    }
}

fn users_are_unique_by_username(db: &TestDb) {
    let accounts = db.store.accounts();
    let id = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    assert_eq!(
        accounts.create_user(&new_user("synthetic.a")).unwrap(),
        None
    );
    let by_name = accounts.user_by_username("synthetic.a").unwrap().unwrap();
    assert_eq!(by_name.id, id);
    assert_eq!(by_name.team.as_deref(), Some("north"));
    assert_eq!(
        accounts.user_by_id(id).unwrap().unwrap().username,
        "synthetic.a"
    );
    assert!(accounts.user_by_username("nobody").unwrap().is_none());
    let mut bad_role = new_user("synthetic.b");
    bad_role.role = "superuser".into();
    assert!(accounts.create_user(&bad_role).is_err());
    let mut plain_password = new_user("synthetic.c");
    plain_password.password_hash = "hunter2".into();
    assert!(accounts.create_user(&plain_password).is_err());
    accounts.create_user(&new_user("synthetic.0")).unwrap();
    let names: Vec<String> = accounts
        .list_users(10)
        .unwrap()
        .into_iter()
        .map(|user| user.username)
        .collect();
    assert_eq!(names, ["synthetic.0", "synthetic.a"]);
    assert!(!format!("{by_name:?}").contains("argon2"));
}

/// A user is disabled and enabled again, each once; an account can be
/// created inactive (issue #15, finding 10).
fn users_are_disabled_and_enabled(db: &TestDb) {
    let accounts = db.store.accounts();
    let id = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    assert!(accounts.disable_user(id, 20).unwrap());
    assert!(!accounts.disable_user(id, 30).unwrap(), "already disabled");
    let user = accounts.user_by_id(id).unwrap().unwrap();
    assert_eq!(user.disabled_at_us, Some(20));
    assert!(accounts.enable_user(id).unwrap());
    assert!(!accounts.enable_user(id).unwrap(), "already active");
    assert_eq!(
        accounts.user_by_id(id).unwrap().unwrap().disabled_at_us,
        None
    );
    assert!(!accounts.disable_user(999, 20).unwrap(), "no such user");
    let mut inactive = new_user("synthetic.b");
    inactive.disabled_at_us = Some(10);
    let id = accounts.create_user(&inactive).unwrap().unwrap();
    assert_eq!(
        accounts.user_by_id(id).unwrap().unwrap().disabled_at_us,
        Some(10)
    );
}

fn sessions_live_and_end(db: &TestDb) {
    let accounts = db.store.accounts();
    let user_id = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    accounts.create_session(&[1; 32], user_id, 100).unwrap();
    let session = accounts.session(&[1; 32]).unwrap().unwrap();
    assert_eq!(
        (session.user_id, session.created_at_us, session.last_seen_us),
        (user_id, 100, 100)
    );
    accounts.touch_session(&[1; 32], 150).unwrap();
    accounts.touch_session(&[1; 32], 120).unwrap(); // never backwards
    assert_eq!(
        accounts.session(&[1; 32]).unwrap().unwrap().last_seen_us,
        150
    );
    assert!(accounts.end_session(&[1; 32], 200).unwrap());
    assert!(!accounts.end_session(&[1; 32], 300).unwrap());
    assert_eq!(
        accounts.session(&[1; 32]).unwrap().unwrap().ended_at_us,
        Some(200)
    );
    assert!(accounts.session(&[2; 32]).unwrap().is_none());
}

fn failures_back_off_and_reset(db: &TestDb) {
    let accounts = db.store.accounts();
    let policy = ThrottlePolicy {
        window_us: 100_000,
        free_failures: 2,
        delay_first_us: 1_000,
        delay_max_us: 5_000,
    };
    assert!(accounts.login_throttle("ghost").unwrap().is_none());
    // Free failures, then a delay that doubles per failure up to the cap; the
    // count is never reset by a delay (the old fixed lock reset it).
    let expected = [
        (10, 1, None),
        (20, 2, None),
        (30, 3, Some(1_030)),
        (2_000, 4, Some(4_000)),
        (5_000, 5, Some(9_000)),
        (10_000, 6, Some(15_000)),
        (20_000, 7, Some(25_000)),
    ];
    for (now_us, n_failures, locked_until_us) in expected {
        let row = accounts
            .record_login_failure("ghost", now_us, &policy)
            .unwrap();
        assert_eq!(
            (row.n_failures, row.locked_until_us),
            (n_failures, locked_until_us),
            "at {now_us}"
        );
        assert_eq!(accounts.login_throttle("ghost").unwrap(), Some(row));
    }
    // Source keys live beside usernames and count apart.
    let source = accounts
        .record_login_failure("source:192.0.2.1", 30, &policy)
        .unwrap();
    assert_eq!((source.n_failures, source.locked_until_us), (1, None));
    assert_eq!(
        accounts
            .login_throttle("ghost")
            .unwrap()
            .unwrap()
            .n_failures,
        7
    );
    // A failure after a quiet window starts a new count.
    assert_eq!(
        accounts
            .record_login_failure("ghost", 200_000, &policy)
            .unwrap()
            .n_failures,
        1
    );
    accounts.clear_login_failures("ghost").unwrap();
    assert!(accounts.login_throttle("ghost").unwrap().is_none());
}

fn break_glass_grants_expire(db: &TestDb) {
    let accounts = db.store.accounts();
    let user_id = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    let grant = |resource: &str, expires_at_us| NewGrant {
        user_id,
        resource_key: resource.into(),
        reason: "synthetic reason for the test".into(),
        granted_at_us: 100,
        expires_at_us,
    };
    let first = accounts
        .create_grant(&grant("record:health/R-1", 1_000))
        .unwrap();
    let second = accounts.create_grant(&grant("child:P-1", 2_000)).unwrap();
    let live: Vec<i64> = accounts
        .live_grants(user_id, 1_000)
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(live, [second]);
    assert_eq!(accounts.live_grants(user_id, 999).unwrap().len(), 2);
    let listed = accounts.list_grants(10).unwrap();
    assert_eq!(
        listed.iter().map(|g| g.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(listed[0].username, "synthetic.a");
    assert!(
        accounts.create_grant(&grant("child:P-2", 100)).is_err(),
        "expiry must follow grant"
    );
}

/// The notice a break-glass grant sends, for the store tests.
fn grant_notice(user_id: i64, grant_id: i64) -> NewNotice {
    NewNotice {
        at_us: 100,
        kind: NOTICE_BREAK_GLASS.into(),
        resource_key: "child:p-1".into(),
        to_agency: Some("health".into()),
        about_agency: "police".into(),
        about_user_id: Some(user_id),
        about_username: Some("synthetic.a".into()),
        subject: format!("break_glass:{grant_id}"),
        detail: "synthetic reason for the test".into(),
        to_user_id: None,
        to_team: None,
    }
}

/// Breaks the glass through the store, auditing as `granted` or `limit`;
/// returns the grant id.
fn break_glass(db: &TestDb, grant: &NewGrant, since_us: i64, max: i64) -> Option<i64> {
    let user_id = grant.user_id;
    db.store
        .accounts()
        .break_glass(
            grant,
            since_us,
            max,
            &|grant_id| grant_notice(user_id, grant_id),
            &mut |grant_id, seq, prev_hash| {
                let mut entry = row(seq, prev_hash, "break_glass");
                entry.resource_key = grant.resource_key.clone();
                (entry.basis, entry.outcome) = match grant_id {
                    Some(id) => (
                        format!("break_glass:{id}: {}", grant.reason),
                        "granted".into(),
                    ),
                    None => (String::new(), "limit".into()),
                };
                entry
            },
        )
        .unwrap()
}

fn grants_within_a_limit_are_counted_per_user_and_period(db: &TestDb) {
    let accounts = db.store.accounts();
    let a = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    let b = accounts
        .create_user(&new_user("synthetic.b"))
        .unwrap()
        .unwrap();
    let grant = |user_id, granted_at_us| NewGrant {
        user_id,
        resource_key: "child:p-1".into(),
        reason: "synthetic reason for the test".into(),
        granted_at_us,
        expires_at_us: granted_at_us + 10,
    };
    // Two in the period after 100 for a; the one at 100 is not after it.
    assert!(break_glass(db, &grant(a, 100), 0, 2).is_some());
    assert!(break_glass(db, &grant(a, 150), 0, 2).is_some());
    assert_eq!(break_glass(db, &grant(a, 160), 0, 2), None);
    assert!(break_glass(db, &grant(a, 170), 100, 2).is_some());
    assert_eq!(break_glass(db, &grant(a, 180), 100, 2), None);
    // Another user's count is their own.
    assert!(break_glass(db, &grant(b, 180), 100, 2).is_some());
    assert_eq!(accounts.list_grants(10).unwrap().len(), 4);
}

/// The grant, its notice and its audit entry are written together; a refusal
/// at the limit is audited alone; when the audit entry cannot be written
/// (here: a row that does not continue the chain), neither is the grant nor
/// its notice.
fn break_glass_writes_grant_notice_and_audit_entry_in_one_transaction(db: &TestDb) {
    let accounts = db.store.accounts();
    let a = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    let grant = |granted_at_us| NewGrant {
        user_id: a,
        resource_key: "child:p-1".into(),
        reason: "synthetic reason for the test".into(),
        granted_at_us,
        expires_at_us: granted_at_us + 10,
    };
    let notices = || {
        db.store
            .access()
            .notices(&NoticeFilter {
                limit: 100,
                ..NoticeFilter::default()
            })
            .unwrap()
    };
    let granted = break_glass(db, &grant(100), 0, 1).unwrap();
    let refused = break_glass(db, &grant(110), 0, 1);
    assert_eq!(refused, None);
    let entries = db.store.audit().audit_entries(0, 100).unwrap();
    let said: Vec<(&str, &str)> = entries
        .iter()
        .map(|entry| (entry.basis.as_str(), entry.outcome.as_str()))
        .collect();
    let basis = format!("break_glass:{granted}: synthetic reason for the test");
    assert_eq!(said, [(basis.as_str(), "granted"), ("", "limit")]);
    let told = notices();
    assert_eq!(told.len(), 1, "one notice, for the grant only");
    assert_eq!(told[0].notice.subject, format!("break_glass:{granted}"));

    // An audit entry the chain refuses rolls the grant and notice back.
    let failed = accounts.break_glass(
        &grant(200),
        150,
        1,
        &|grant_id| grant_notice(a, grant_id),
        &mut |_, seq, _| row(seq, [7; 32], "break_glass"),
    );
    assert!(failed.is_err(), "a row off the chain is refused");
    assert_eq!(accounts.list_grants(10).unwrap().len(), 1);
    assert_eq!(notices().len(), 1);
    assert_eq!(db.store.audit().audit_entries(0, 100).unwrap().len(), 2);
    // And the chain goes on after it.
    assert!(break_glass(db, &grant(210), 150, 1).is_some());
    assert_eq!(
        db.store.audit().audit_head().unwrap().map(|(seq, _)| seq),
        Some(3)
    );
}

fn tokens_are_listed_without_hashes(db: &TestDb) {
    let first = db.store.create_token("police", &[1; 32], 10).unwrap();
    let second = db.store.create_token("health", &[2; 32], 20).unwrap();
    db.store.revoke_token(first, 30).unwrap();
    let tokens = db.store.accounts().list_tokens(10).unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        (tokens[0].id, tokens[0].agency.as_str()),
        (second, "health")
    );
    assert_eq!(tokens[1].revoked_at_us, Some(30));
}

fn row(seq: i64, prev_hash: [u8; 32], action: &str) -> AuditRow {
    AuditRow {
        seq,
        at_us: 1_000 + seq,
        actor_user_id: Some(1),
        actor_username: "synthetic.a".into(),
        actor_role: "practitioner".into(),
        actor_agency: "police".into(),
        action: action.into(),
        resource_key: "record:police/R-1".into(),
        basis: "own_agency".into(),
        outcome: "full".into(),
        prev_hash,
        // The store does not check the maths; a distinct value per row is enough here.
        entry_hash: [seq as u8; 32],
    }
}

fn audit_appends_in_a_gapless_chain(db: &TestDb) {
    let audit = db.store.audit();
    assert!(audit.audit_head().unwrap().is_none());
    for n in 1..=5 {
        let appended = audit
            .append_audit(&mut |seq, prev_hash| {
                assert_eq!(seq, n);
                assert_eq!(
                    prev_hash,
                    if n == 1 { [0; 32] } else { [(n - 1) as u8; 32] }
                );
                row(seq, prev_hash, "view_record")
            })
            .unwrap();
        assert_eq!(appended.seq, n);
    }
    assert_eq!(audit.audit_head().unwrap(), Some((5, [5; 32])));
    let rows = audit.audit_entries(2, 2).unwrap();
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(rows[0], row(3, [2; 32], "view_record"));
    let recent = audit.audit_recent(None, 2).unwrap();
    assert_eq!(recent.iter().map(|r| r.seq).collect::<Vec<_>>(), [5, 4]);
    let older = audit.audit_recent(Some(4), 10).unwrap();
    assert_eq!(older.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 2, 1]);
    // A row that does not continue the chain is refused, and nothing is stored.
    let refused = audit.append_audit(&mut |seq, _| row(seq + 1, [9; 32], "forged"));
    assert!(refused.is_err());
    assert_eq!(audit.audit_head().unwrap(), Some((5, [5; 32])));
}

fn audit_about_reads_only_the_entries_about_the_keys(db: &TestDb) {
    // 1,300 entries about 650 resources; ask about 601 keys (more than one
    // statement's worth) of which 600 have entries.
    let audit = db.store.audit();
    let key_of = |seq: i64| format!("record:police/R-{}", seq % 650);
    for _ in 1..=1_300 {
        audit
            .append_audit(&mut |seq, prev_hash| AuditRow {
                resource_key: key_of(seq),
                ..row(seq, prev_hash, "view_record")
            })
            .unwrap();
    }
    let mut keys: Vec<String> = (0..600).map(|n| format!("record:police/R-{n}")).collect();
    keys.push("child:p-0000000000000000".into());
    let expected: Vec<i64> = (1..=1_300).rev().filter(|seq| seq % 650 < 600).collect();
    let found = audit.audit_about(&keys, 10_000).unwrap();
    assert_eq!(found.iter().map(|r| r.seq).collect::<Vec<_>>(), expected);
    assert!(found.iter().all(|r| keys.contains(&r.resource_key)));
    let newest = audit.audit_about(&keys, 3).unwrap();
    assert_eq!(
        newest.iter().map(|r| r.seq).collect::<Vec<_>>(),
        expected[..3]
    );
    assert!(audit.audit_about(&[], 10).unwrap().is_empty());
}

fn audit_rows_cannot_be_changed_or_removed(db: &TestDb) {
    let audit = db.store.audit();
    for _ in 0..2 {
        audit
            .append_audit(&mut |seq, prev| row(seq, prev, "view_record"))
            .unwrap();
    }
    for sql in [
        "UPDATE audit_log SET outcome = 'deny'",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 1",
    ] {
        let result = db.execute_raw(sql);
        assert!(result.is_err(), "{sql} was allowed");
    }
    if db.url.starts_with("postgres") {
        assert!(db.execute_raw("TRUNCATE audit_log").is_err());
    }
    assert_eq!(audit.audit_entries(0, 10).unwrap().len(), 2);
}

fn concurrent_audit_appends_stay_gapless(db: &TestDb) {
    let audit = db.store.audit();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    audit
                        .append_audit(&mut |seq, prev| {
                            let mut built = row(seq, prev, "view_record");
                            built.entry_hash = [(seq % 251) as u8 + 1; 32];
                            built
                        })
                        .unwrap();
                }
            });
        }
    });
    let rows = audit.audit_entries(0, 100).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].entry_hash);
    }
}

fn recent_records_are_newest_first(db: &TestDb) {
    let records = [
        support::record("police-a", "R1", 1, 1),
        support::record("health-b", "H1", 1, 1),
        support::record("police-a", "R2", 1, 1),
        support::record("police-a", "R1", 2, 2),
    ];
    let mut tx = db.store.begin().unwrap();
    tx.append(&records).unwrap();
    tx.commit().unwrap();
    let recent = db.store.accounts().recent_records("police-a", 2).unwrap();
    let ids: Vec<(&str, i64)> = recent
        .iter()
        .map(|r| (r.record_id.as_str(), r.version))
        .collect();
    assert_eq!(ids, [("R1", 2), ("R2", 1)]);
    assert!(recent[0].seq > recent[1].seq);
}

/// Issue #15, finding 6: `break_glass_grants` accepted a plain `DELETE`.
fn grants_tokens_and_users_cannot_be_rewritten(db: &TestDb) {
    let accounts = db.store.accounts();
    let user_id = accounts
        .create_user(&new_user("synthetic.a"))
        .unwrap()
        .unwrap();
    accounts
        .create_grant(&NewGrant {
            user_id,
            resource_key: "child:P-1".into(),
            reason: "synthetic reason for the test".into(),
            granted_at_us: 100,
            expires_at_us: 200,
        })
        .unwrap();
    let token_id = db.store.create_token("police", &[7; 32], 10).unwrap();
    let postgres = db.url.starts_with("postgres");
    let mut refused = vec![
        "DELETE FROM break_glass_grants",
        "UPDATE break_glass_grants SET expires_at_us = 9999",
        "UPDATE break_glass_grants SET reason = 'something else entirely'",
        "DELETE FROM agency_tokens",
        "UPDATE agency_tokens SET agency = 'health'",
        "DELETE FROM users",
        "UPDATE users SET username = 'synthetic.b'",
    ];
    if postgres {
        refused.extend([
            "TRUNCATE break_glass_grants",
            "TRUNCATE agency_tokens CASCADE",
            "TRUNCATE users CASCADE",
        ]);
    }
    for sql in refused {
        assert!(db.execute_raw(sql).is_err(), "{sql} was allowed");
    }
    assert_eq!(accounts.list_grants(10).unwrap().len(), 1);
    // What may change still can: a token is revoked once, a user disabled.
    assert!(db.store.revoke_token(token_id, 20).unwrap());
    assert!(
        db.execute_raw("UPDATE agency_tokens SET revoked_at_us = 30")
            .is_err(),
        "a revocation was rewritten"
    );
    db.execute_raw("UPDATE users SET disabled_at_us = 40")
        .unwrap();
}

/// Every table either refuses `DELETE` (a trigger; on PostgreSQL also
/// `TRUNCATE`) or is named here with why it may change. A new table cannot
/// skip the question.
fn every_table_is_append_only_or_listed_as_mutable(db: &TestDb) {
    const MUTABLE: &[(&str, &str)] = &[
        (
            "sessions",
            "last seen and end times move; holds no case data",
        ),
        ("login_throttle", "failure counters, cleared on success"),
        ("schema_migrations", "written by migrations only"),
        (
            "data_keys",
            "erasure deletes keys (crypto-shredding), after writing its tombstone to the append-only erasures and erased_keys",
        ),
        ("sqlite_sequence", "SQLite's own AUTOINCREMENT counters"),
    ];
    let (tables, delete_guarded, truncate_guarded) = if let Some(path) =
        db.url.strip_prefix("sqlite://")
    {
        let connection = rusqlite::Connection::open(path).unwrap();
        let strings = |sql: &str| -> Vec<String> {
            connection
                .prepare(sql)
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let tables = strings(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        );
        let delete_guarded = strings(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%BEFORE DELETE ON%'",
        );
        (tables, delete_guarded, None)
    } else {
        let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
        let mut strings = |sql: &str| -> Vec<String> {
            client
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect()
        };
        let tables = strings(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        );
        let delete_guarded = strings(
            "SELECT event_object_table::text FROM information_schema.triggers WHERE event_manipulation = 'DELETE'",
        );
        // information_schema does not list TRUNCATE triggers.
        let truncate_guarded = strings(
            "SELECT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND (t.tgtype & 32) <> 0",
        );
        (tables, delete_guarded, Some(truncate_guarded))
    };
    assert!(tables.iter().any(|table| table == "break_glass_grants"));
    for table in &tables {
        if MUTABLE.iter().any(|(name, _)| name == table) {
            continue;
        }
        assert!(
            delete_guarded.contains(table),
            "table {table} accepts DELETE: make it append-only or list it in MUTABLE with why"
        );
        if let Some(truncate_guarded) = &truncate_guarded {
            assert!(
                truncate_guarded.contains(table),
                "table {table} accepts TRUNCATE"
            );
        }
    }
}
