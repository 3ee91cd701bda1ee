//! Test support: fresh databases for each backend (from `sightline-testkit`, which
//! says where PostgreSQL comes from and when its tests are skipped), and
//! synthetic records.

use sightline_store::{NewRecord, Store};
use sightline_testkit::TestDatabase;

#[allow(unused_imports)] // Each test binary uses a different part.
pub use sightline_testkit::{pg_empty_database, with_database};

/// A fresh database and a store opened on it. Dropping it removes the database.
pub struct TestDb {
    pub store: Box<dyn Store>,
    pub url: String,
    _database: TestDatabase,
}

impl TestDb {
    fn open(database: TestDatabase) -> TestDb {
        let store = sightline_store::open(&database.url).expect("open store");
        TestDb {
            store,
            url: database.url.clone(),
            _database: database,
        }
    }

    /// Runs one SQL statement on a separate raw connection, bypassing the store.
    pub fn execute_raw(&self, sql: &str) -> Result<(), String> {
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let connection = rusqlite::Connection::open(path).map_err(|error| error.to_string())?;
            connection
                .execute_batch(sql)
                .map_err(|error| error.to_string())
        } else {
            let mut client = postgres::Client::connect(&self.url, postgres::NoTls)
                .map_err(|error| error.to_string())?;
            client.batch_execute(sql).map_err(|error| {
                error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |db| db.message().to_owned())
            })
        }
    }
}

/// A new SQLite database file in a fresh temporary directory.
pub fn sqlite_db() -> TestDb {
    TestDb::open(sightline_testkit::sqlite_database())
}

/// A new PostgreSQL database, or `None` when PostgreSQL is not available here
/// (after saying so loudly; with `CI=true` this panics instead).
pub fn pg_db() -> Option<TestDb> {
    sightline_testkit::postgres_database().map(TestDb::open)
}

/// A synthetic record. `variant` changes the body and so the content hash.
pub fn record(agency: &str, record_id: &str, version: i64, variant: u8) -> NewRecord {
    let occurred_start_us = 1_176_417_600_000_000 + i64::from(variant) * 86_400_000_000;
    NewRecord {
        agency: agency.to_owned(),
        record_id: record_id.to_owned(),
        version,
        kind: "other.note".to_owned(),
        occurred_at: "2007-04-13".to_owned(),
        occurred_start_us,
        recorded_at_us: occurred_start_us + 3_600_000_000,
        received_at_us: occurred_start_us + 7_200_000_000,
        content_hash: [variant; 32],
        body: format!(
            "{{\"source\":{{\"agency\":\"{agency}\",\"record_id\":\"{record_id}\",\"version\":{version}}},\
             \"kind\":\"other.note\",\"narrative\":\"synthetic test note {variant}\"}}"
        ),
    }
}
