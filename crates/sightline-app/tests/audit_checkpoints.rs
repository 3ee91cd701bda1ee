//! Finding 6 of issue #15: with the database file, the audit log could be
//! rewritten so that `audit verify` still passed (drop the triggers, delete one
//! user's entries, recompute every hash and the head, restore the triggers).
//! Signed checkpoints written outside the database find it, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use sightline_access::audit::{AuditEntry, GENESIS_HASH, seal};
use sightline_access::note::NoteSigner;
use sightline_app::audit::{self, AuditActor};
use sightline_app::audit_checkpoints::{
    AuditFailure, CheckpointOutcome, Checkpointer, verify_with_checkpoints,
};
use sightline_store::{AuditRow, Store};
use sightline_testkit::{TestBackend, TestDatabase};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("audit.test.invalid/sightline", [11; 32]).unwrap()
}

fn actor(username: &str) -> AuditActor {
    AuditActor {
        user_id: Some(username.len() as i64),
        username: username.to_owned(),
        role: "practitioner".to_owned(),
        agency: "police".to_owned(),
    }
}

/// Appends `n` entries, alternating between an honest user and the one whose
/// reads an insider wants gone.
fn append(store: &dyn Store, n: usize) {
    for index in 0..n {
        let who = if index % 3 == 0 {
            "synthetic.snooper"
        } else {
            "synthetic.worker"
        };
        audit::record(
            store,
            &actor(who),
            "view_child",
            &format!("child:P-{index}"),
            "agency_contributed",
            "full",
            t0() + chrono::Duration::seconds(index as i64),
        )
        .unwrap();
    }
}

/// The rows, rewritten as an insider with the database would: without the
/// entries of `username`, renumbered, every hash and the head recomputed.
fn rewritten_rows(store: &dyn Store, drop_username: Option<&str>, keep: usize) -> Vec<AuditRow> {
    let rows = store.audit().audit_entries(0, 100_000).unwrap();
    let mut prev_hash = GENESIS_HASH;
    let mut out = Vec::new();
    for row in rows
        .into_iter()
        .filter(|row| Some(row.actor_username.as_str()) != drop_username)
        .take(keep)
    {
        let entry = AuditEntry {
            seq: out.len() as i64 + 1,
            at_us: row.at_us,
            actor_user_id: row.actor_user_id,
            actor_username: row.actor_username,
            actor_role: row.actor_role,
            actor_agency: row.actor_agency,
            action: row.action,
            resource_key: row.resource_key,
            basis: row.basis,
            outcome: row.outcome,
        };
        let sealed = seal(prev_hash, entry);
        prev_hash = sealed.entry_hash;
        out.push(AuditRow {
            seq: sealed.entry.seq,
            at_us: sealed.entry.at_us,
            actor_user_id: sealed.entry.actor_user_id,
            actor_username: sealed.entry.actor_username,
            actor_role: sealed.entry.actor_role,
            actor_agency: sealed.entry.actor_agency,
            action: sealed.entry.action,
            resource_key: sealed.entry.resource_key,
            basis: sealed.entry.basis,
            outcome: sealed.entry.outcome,
            prev_hash: sealed.prev_hash,
            entry_hash: sealed.entry_hash,
        });
    }
    out
}

/// Drops the triggers, replaces the log and its head with `rows`, and
/// restores the triggers, straight on the database.
fn rewrite(db: &TestDatabase, rows: &[AuditRow]) {
    let head = rows.last().map(|row| (row.seq, row.entry_hash.to_vec()));
    match db.backend {
        TestBackend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let mut connection = rusqlite::Connection::open(path).unwrap();
            let transaction = connection.transaction().unwrap();
            let triggers: Vec<(String, String)> = transaction
                .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_log', 'audit_head')")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(triggers.len() >= 3, "the append-only triggers exist");
            for (name, _) in &triggers {
                transaction
                    .execute_batch(&format!("DROP TRIGGER {name}"))
                    .unwrap();
            }
            transaction
                .execute_batch("DELETE FROM audit_log; DELETE FROM audit_head;")
                .unwrap();
            for row in rows {
                transaction.execute(
                    "INSERT INTO audit_log (seq, at_us, actor_user_id, actor_username, actor_role, actor_agency, action, resource_key, basis, outcome, prev_hash, entry_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    rusqlite::params![row.seq, row.at_us, row.actor_user_id, row.actor_username, row.actor_role, row.actor_agency, row.action, row.resource_key, row.basis, row.outcome, row.prev_hash.to_vec(), row.entry_hash.to_vec()],
                ).unwrap();
            }
            if let Some((seq, hash)) = head {
                transaction
                    .execute(
                        "INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, ?1, ?2)",
                        rusqlite::params![seq, hash],
                    )
                    .unwrap();
            }
            for (_, sql) in &triggers {
                transaction.execute_batch(sql).unwrap();
            }
            transaction.commit().unwrap();
        }
        TestBackend::Postgres => {
            let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            let mut transaction = client.transaction().unwrap();
            transaction
                .batch_execute(
                    "ALTER TABLE audit_log DISABLE TRIGGER USER;
                     ALTER TABLE audit_head DISABLE TRIGGER USER;
                     DELETE FROM audit_log; DELETE FROM audit_head;",
                )
                .unwrap();
            for row in rows {
                transaction.execute(
                    "INSERT INTO audit_log (seq, at_us, actor_user_id, actor_username, actor_role, actor_agency, action, resource_key, basis, outcome, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    &[&row.seq, &row.at_us, &row.actor_user_id, &row.actor_username, &row.actor_role, &row.actor_agency, &row.action, &row.resource_key, &row.basis, &row.outcome, &row.prev_hash.to_vec(), &row.entry_hash.to_vec()],
                ).unwrap();
            }
            if let Some((seq, hash)) = head {
                transaction
                    .execute(
                        "INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, $1, $2)",
                        &[&seq, &hash],
                    )
                    .unwrap();
            }
            transaction
                .batch_execute(
                    "ALTER TABLE audit_log ENABLE TRIGGER USER;
                     ALTER TABLE audit_head ENABLE TRIGGER USER;",
                )
                .unwrap();
            transaction.commit().unwrap();
        }
    }
}

fn checkpointed(n: usize) -> Vec<(TestDatabase, Box<dyn Store>, tempfile::TempDir)> {
    sightline_testkit::all_databases()
        .into_iter()
        .map(|db| {
            let store = sightline_store::open(&db.url).unwrap();
            append(store.as_ref(), n);
            let dir = tempfile::tempdir().unwrap();
            let mut checkpointer = Checkpointer::new(signer(), dir.path()).unwrap();
            assert_eq!(
                checkpointer.checkpoint(store.as_ref()).unwrap(),
                CheckpointOutcome::Written { size: n as u64 }
            );
            (db, store, dir)
        })
        .collect()
}

#[test]
fn a_rewrite_with_every_hash_and_the_head_recomputed_is_found() {
    for (db, store, dir) in checkpointed(30) {
        let verifier = signer().verifier();
        // Entries after the checkpoint are fine.
        append(store.as_ref(), 4);
        let summary = verify_with_checkpoints(store.as_ref(), dir.path(), &verifier)
            .unwrap()
            .unwrap();
        assert_eq!(summary.chain.n_entries, 34);
        assert_eq!(summary.largest_size, 30);

        let rows = rewritten_rows(store.as_ref(), Some("synthetic.snooper"), usize::MAX);
        drop(store);
        rewrite(&db, &rows);
        let store = sightline_store::open(&db.url).unwrap();
        // The log goes on growing past the checkpoint's size, as a serving
        // system's does.
        append(store.as_ref(), 20);
        // The chain alone is fooled: that was the finding.
        let chain = audit::verify_audit(store.as_ref()).unwrap().unwrap();
        assert_eq!(chain.n_entries, 42);
        // The checkpoints are not.
        let failure = verify_with_checkpoints(store.as_ref(), dir.path(), &verifier)
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(failure, AuditFailure::Rewritten { size: 30, .. }),
            "{:?}: {failure}",
            db.backend
        );
        assert!(failure.to_string().starts_with("audit log rewritten"));
        // And the server's checkpointer refuses to sign over it.
        let mut checkpointer = Checkpointer::new(signer(), dir.path()).unwrap();
        assert!(matches!(
            checkpointer.checkpoint(store.as_ref()).unwrap(),
            CheckpointOutcome::Refused(AuditFailure::Rewritten { .. })
        ));
    }
}

#[test]
fn a_truncation_with_the_head_moved_back_is_found() {
    for (db, store, dir) in checkpointed(12) {
        let rows = rewritten_rows(store.as_ref(), None, 9);
        drop(store);
        rewrite(&db, &rows);
        let store = sightline_store::open(&db.url).unwrap();
        assert!(audit::verify_audit(store.as_ref()).unwrap().is_ok());
        let failure = verify_with_checkpoints(store.as_ref(), dir.path(), &signer().verifier())
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                failure,
                AuditFailure::Truncated {
                    size: 12,
                    n_entries: 9,
                    ..
                }
            ),
            "{failure}"
        );
    }
}

#[test]
fn a_checkpoint_signed_by_another_key_or_edited_is_refused() {
    for (_db, store, dir) in checkpointed(5) {
        let other = NoteSigner::from_seed("audit.test.invalid/sightline", [12; 32]).unwrap();
        assert!(verify_with_checkpoints(store.as_ref(), dir.path(), &other.verifier()).is_err());
        let latest = dir.path().join("checkpoint");
        let text = std::fs::read_to_string(&latest).unwrap();
        std::fs::write(&latest, text.replacen("\n5\n", "\n4\n", 1)).unwrap();
        assert!(verify_with_checkpoints(store.as_ref(), dir.path(), &signer().verifier()).is_err());
    }
}

#[test]
fn the_checkpointer_writes_only_when_the_log_grew_and_keeps_every_size() {
    for (_db, store, dir) in checkpointed(3) {
        let mut checkpointer = Checkpointer::new(signer(), dir.path()).unwrap();
        assert_eq!(
            checkpointer.checkpoint(store.as_ref()).unwrap(),
            CheckpointOutcome::Written { size: 3 }
        );
        assert_eq!(
            checkpointer.checkpoint(store.as_ref()).unwrap(),
            CheckpointOutcome::Unchanged { size: 3 }
        );
        append(store.as_ref(), 2);
        assert_eq!(
            checkpointer.checkpoint(store.as_ref()).unwrap(),
            CheckpointOutcome::Written { size: 5 }
        );
        let mut sizes: Vec<String> = std::fs::read_dir(dir.path().join("log"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        sizes.sort();
        assert_eq!(sizes, ["3", "5"]);
        let summary = verify_with_checkpoints(store.as_ref(), dir.path(), &signer().verifier())
            .unwrap()
            .unwrap();
        assert_eq!((summary.n_checkpoints, summary.largest_size), (3, 5));
    }
}
