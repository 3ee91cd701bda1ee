//! The privacy officer's reads of the audit log (`AccessStore::audit_search`,
//! `grant_reasons`, `grants_since`, `count_notices`), on both backends (every
//! database `sightline_testkit::all_databases` gives).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use sightline_store::{AuditQuery, AuditRow, NewGrant, NewNotice, NewUser, Store};
use sightline_testkit::all_databases;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

/// Appends one entry: `seq` and `prev_hash` as the store gives them, a
/// made-up entry hash (the store keeps rows; the chain's maths is above it).
fn append(store: &dyn Store, at_us: i64, username: &str, action: &str, key: &str, basis: &str) {
    store
        .audit()
        .append_audit(&mut |seq, prev_hash| AuditRow {
            seq,
            at_us,
            actor_user_id: Some(1),
            actor_username: username.to_owned(),
            actor_role: "practitioner".to_owned(),
            actor_agency: "police".to_owned(),
            action: action.to_owned(),
            resource_key: key.to_owned(),
            basis: basis.to_owned(),
            outcome: "full".to_owned(),
            prev_hash,
            entry_hash: [u8::try_from(seq % 251).unwrap(); 32],
        })
        .unwrap();
}

fn seqs(rows: &[AuditRow]) -> Vec<i64> {
    rows.iter().map(|row| row.seq).collect()
}

#[test]
fn the_log_pages_through_everything_with_every_filter() {
    for database in all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        let store = store.as_ref();
        // 120 entries: three users in turn, about child:c-0 .. c-9 and records,
        // one a minute from minute 0.
        let minute = 60_000_000_i64;
        for idx in 0..120_i64 {
            let user = ["ann", "bob", "cy"][usize::try_from(idx % 3).unwrap()];
            let (action, key) = if idx % 4 == 0 {
                ("view_record", format!("record:police/R-{}", idx % 10))
            } else {
                ("view_child", format!("child:c-{}", idx % 10))
            };
            append(store, idx * minute, user, action, &key, "own_agency");
        }

        // Paging with no filter: every entry once, newest first.
        let mut seen = Vec::new();
        let mut before_seq = None;
        loop {
            let page = store
                .access()
                .audit_search(&AuditQuery {
                    before_seq,
                    limit: 50,
                    ..AuditQuery::default()
                })
                .unwrap();
            let Some(last) = page.last() else { break };
            before_seq = Some(last.seq);
            seen.extend(seqs(&page));
        }
        assert_eq!(
            seen,
            (1..=120).rev().collect::<Vec<_>>(),
            "{:?}",
            database.backend
        );

        // Every filter together: bob's child views of c-1 or c-4 in minutes 10..100.
        let query = AuditQuery {
            actor_username: Some("bob".into()),
            resource_keys: Some(vec!["child:c-1".into(), "child:c-4".into()]),
            action: Some("view_child".into()),
            from_us: Some(10 * minute),
            until_us: Some(100 * minute),
            limit: 1_000,
            ..AuditQuery::default()
        };
        let rows = store.access().audit_search(&query).unwrap();
        let expected: Vec<i64> = (10..100_i64)
            .rev()
            .filter(|idx| idx % 3 == 1 && idx % 4 != 0 && [1, 4].contains(&(idx % 10)))
            .map(|idx| idx + 1)
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(seqs(&rows), expected, "{:?}", database.backend);
        assert!(rows.iter().all(|row| row.actor_username == "bob"));
        // The hashes come back as stored.
        assert_eq!(
            rows[0].entry_hash,
            [u8::try_from(rows[0].seq % 251).unwrap(); 32]
        );

        // Children only; a page of a resource filter continues from its cursor.
        let children = store
            .access()
            .audit_search(&AuditQuery {
                children_only: true,
                before_seq: Some(10),
                limit: 3,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(seqs(&children), vec![8, 7, 6]);

        // More keys than one statement takes: asked in chunks, merged newest first.
        let mut keys: Vec<String> = (0..1_200).map(|idx| format!("child:none-{idx}")).collect();
        keys.push("record:police/R-0".into());
        keys.push("child:c-9".into());
        let rows = store
            .access()
            .audit_search(&AuditQuery {
                resource_keys: Some(keys),
                limit: 4,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(
            seqs(&rows),
            vec![120, 110, 101, 100],
            "{:?}",
            database.backend
        );
        let none = store
            .access()
            .audit_search(&AuditQuery {
                resource_keys: Some(Vec::new()),
                limit: 4,
                ..AuditQuery::default()
            })
            .unwrap();
        assert!(none.is_empty());
    }
}

#[test]
fn grants_are_read_back_by_id_and_by_time() {
    for database in all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        let user_id = store
            .accounts()
            .create_user(&NewUser {
                username: "synthetic.glass".into(),
                password_hash: HASH.into(),
                role: "practitioner".into(),
                agency: "police".into(),
                team: None,
                created_at_us: 1,
                disabled_at_us: None,
            })
            .unwrap()
            .unwrap();
        let mut ids = Vec::new();
        for idx in 0..5_i64 {
            ids.push(
                store
                    .accounts()
                    .create_grant(&NewGrant {
                        user_id,
                        resource_key: format!("child:c-{idx}"),
                        reason: format!("Synthetic reason number {idx} for the test"),
                        granted_at_us: 1_000 * idx,
                        expires_at_us: 1_000 * idx + 500,
                    })
                    .unwrap(),
            );
        }
        let reasons = store
            .access()
            .grant_reasons(&[ids[3], ids[1], 999_999])
            .unwrap();
        assert_eq!(
            reasons,
            vec![
                (ids[1], "Synthetic reason number 1 for the test".to_owned()),
                (ids[3], "Synthetic reason number 3 for the test".to_owned()),
            ]
        );
        let since = store.access().grants_since(2_000, 0, 2).unwrap();
        assert_eq!(
            since.iter().map(|grant| grant.id).collect::<Vec<_>>(),
            vec![ids[2], ids[3]]
        );
        assert!(
            since
                .iter()
                .all(|grant| grant.username == "synthetic.glass")
        );
        let rest = store.access().grants_since(2_000, ids[3], 10).unwrap();
        assert_eq!(
            rest.iter().map(|grant| grant.id).collect::<Vec<_>>(),
            vec![ids[4]]
        );
        assert!(store.access().grant_reasons(&vec![1; 1_001]).is_err());
    }
}

#[test]
fn notices_are_counted_by_agency_and_time() {
    for database in all_databases() {
        let store = sightline_store::open(&database.url).unwrap();
        for (at_us, to_agency) in [
            (10, Some("riverside-la")),
            (20, Some("riverside-la")),
            (30, None),
        ] {
            store
                .access()
                .append_notice(&NewNotice {
                    at_us,
                    kind: "break_glass".into(),
                    resource_key: "child:p-0123456789abcdef".into(),
                    to_agency: to_agency.map(str::to_owned),
                    about_agency: "police".into(),
                    about_user_id: Some(1),
                    about_username: Some("synthetic.glass".into()),
                    subject: "break_glass:1".into(),
                    detail: "Synthetic reason for the test".into(),
                    to_user_id: None,
                    to_team: None,
                })
                .unwrap();
        }
        let access = store.access();
        assert_eq!(access.count_notices(Some("riverside-la"), 0).unwrap(), 2);
        assert_eq!(access.count_notices(Some("riverside-la"), 15).unwrap(), 1);
        assert_eq!(access.count_notices(None, 0).unwrap(), 3);
        assert_eq!(access.count_notices(Some("elsewhere"), 0).unwrap(), 0);
    }
}
