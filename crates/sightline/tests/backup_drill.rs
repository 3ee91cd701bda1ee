//! The restore drill (docs/operators.md, "Backup and restore"), the real
//! binary, on every backend: `sightline backup` of a database holding records
//! and audited actions, `sightline restore` into a new database (SQLite: a
//! new file; PostgreSQL: `pg_restore` of the archive into an empty database),
//! which passes `sightline audit verify` with the same head and holds the
//! same records; never over an existing database, never from a file that is
//! not a backup.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use sightline_testkit::TestBackend;
use std::process::{Command, Output};

fn sightline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .env("SIGHTLINE_LOG", "warn")
        .output()
        .expect("run sightline")
}

fn succeeds(args: &[&str]) -> String {
    let output = sightline(args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn count(url: &str) -> u64 {
    sightline_store::open(url)
        .expect("open the store")
        .count_records()
        .expect("count")
}

#[test]
fn a_backup_restores_into_a_new_database_that_verifies() {
    let sample = format!("{}/../../examples/sample.jsonl", env!("CARGO_MANIFEST_DIR"));
    for db in sightline_testkit::all_databases() {
        succeeds(&["user", "create-demo", "--agency", "police", "--db", &db.url]);
        succeeds(&["ingest", "--db", &db.url, &sample]);
        let records = count(&db.url);
        assert!(records > 0);
        let verified = succeeds(&["audit", "verify", "--db", &db.url]);
        assert!(
            verified.starts_with("audit chain intact: ") && !verified.contains("no entries"),
            "{verified}"
        );

        let directory = tempfile::tempdir().expect("temporary directory");
        let archive = directory.path().join("sightline.backup");
        let archive_path = archive.display().to_string();
        let said = succeeds(&["backup", "--db", &db.url, "--out", &archive_path]);
        assert!(said.starts_with("backed up to "), "{said}");
        // Never over an existing file.
        let again = sightline(&["backup", "--db", &db.url, "--out", &archive_path]);
        assert_eq!(again.status.code(), Some(1), "{again:?}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already exists"),
            "{again:?}"
        );

        let restored_pg;
        let restored_url = match db.backend {
            TestBackend::Sqlite => {
                assert!(said.contains(&format!("{records} record(s)")), "{said}");
                let restored = directory.path().join("restored.db");
                format!("sqlite://{}", restored.display())
            }
            TestBackend::Postgres => {
                restored_pg = sightline_testkit::postgres_database().expect("PostgreSQL");
                restored_pg.url.clone()
            }
        };
        // `sightline restore` into the new database: the records counted, the
        // chain verified to the same head.
        let restored = succeeds(&["restore", "--from", &archive_path, "--db", &restored_url]);
        assert!(
            restored.contains(&format!("database, {records} record(s))")),
            "{restored}"
        );
        assert!(
            restored.ends_with(&verified),
            "{restored} should end with {verified}"
        );
        assert_eq!(
            succeeds(&["audit", "verify", "--db", &restored_url]),
            verified,
            "the same chain, to the same head"
        );
        assert_eq!(count(&restored_url), records);

        // Never over a database that exists (the one just restored, or the
        // original), and never from a file that is not a backup.
        for target in [&restored_url, &db.url] {
            let over = sightline(&["restore", "--from", &archive_path, "--db", target]);
            assert_eq!(over.status.code(), Some(1), "{over:?}");
            let said = String::from_utf8_lossy(&over.stderr);
            assert!(
                said.contains("already exists") || said.contains("already holds"),
                "{said}"
            );
        }
        assert_eq!(count(&db.url), records, "the original is untouched");
        if db.backend == TestBackend::Sqlite {
            let not_a_backup = directory.path().join("notes.txt");
            std::fs::write(&not_a_backup, "not a database").unwrap();
            let target = format!("sqlite://{}", directory.path().join("other.db").display());
            let refused = sightline(&[
                "restore",
                "--from",
                &not_a_backup.display().to_string(),
                "--db",
                &target,
            ]);
            assert_eq!(refused.status.code(), Some(1), "{refused:?}");
            assert!(
                String::from_utf8_lossy(&refused.stderr).contains("is not a Sightline backup"),
                "{refused:?}"
            );
            assert!(!directory.path().join("other.db").exists());
        }
    }
}
