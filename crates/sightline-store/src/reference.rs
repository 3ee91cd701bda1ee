//! The physical reference for the ingest benchmark: a plain bulk insert of the
//! same rows, with a unique key, in one transaction, into the same kind of
//! database with the same durability settings. Sightline's intake is measured
//! against it (`sightline bench ingest`, `docs/benchmarks.md`).

use crate::url::{self, DatabaseUrl, SqliteLocation};
use crate::{Backend, StoreError};

/// One row of the reference: the idempotency key and the body.
pub struct ReferenceRow<'a> {
    pub agency: &'a str,
    pub record_id: &'a str,
    pub version: i64,
    pub body: &'a str,
}

const CREATE: &str = "CREATE TABLE reference_rows (agency TEXT NOT NULL, record_id TEXT NOT NULL, version BIGINT NOT NULL, body TEXT NOT NULL, UNIQUE (agency, record_id, version))";
const INSERT_SQLITE: &str =
    "INSERT INTO reference_rows (agency, record_id, version, body) VALUES (?1, ?2, ?3, ?4)";
const INSERT_POSTGRES: &str =
    "INSERT INTO reference_rows (agency, record_id, version, body) VALUES ($1, $2, $3, $4)";

/// Inserts `rows` into a new table `reference_rows` of the database at `url` (a
/// fresh database is best) in one transaction, one prepared INSERT per row, then
/// drops the table. Returns the number of rows inserted.
pub fn reference_bulk_insert(url: &str, rows: &[ReferenceRow<'_>]) -> Result<u64, StoreError> {
    match url::parse(url)? {
        DatabaseUrl::Sqlite(SqliteLocation::File(path)) => {
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)?;
            }
            let mut connection = crate::sqlite_backend::open_connection(&path)?;
            connection.execute_batch("DROP TABLE IF EXISTS reference_rows")?;
            connection.execute_batch(CREATE)?;
            let transaction = connection.transaction()?;
            let mut n_inserted = 0u64;
            {
                let mut insert = transaction.prepare(INSERT_SQLITE)?;
                for row in rows {
                    n_inserted += insert.execute(rusqlite::params![
                        row.agency,
                        row.record_id,
                        row.version,
                        row.body
                    ])? as u64;
                }
            }
            transaction.commit()?;
            connection.execute_batch("DROP TABLE reference_rows")?;
            Ok(n_inserted)
        }
        DatabaseUrl::Sqlite(SqliteLocation::Memory) => Err(StoreError::InvalidUrl {
            reason: "the reference needs a database file, not sqlite::memory:".to_owned(),
        }),
        DatabaseUrl::Postgres(config) => {
            let database_error = |error: postgres::Error| StoreError::Database {
                backend: Backend::Postgres,
                code: error.code().map(|code| code.code().to_owned()),
                message: error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |db| db.message().to_owned()),
            };
            let mut client = config.connect(postgres::NoTls).map_err(database_error)?;
            client
                .batch_execute("DROP TABLE IF EXISTS reference_rows")
                .map_err(database_error)?;
            client.batch_execute(CREATE).map_err(database_error)?;
            let mut transaction = client.transaction().map_err(database_error)?;
            let insert = transaction
                .prepare(INSERT_POSTGRES)
                .map_err(database_error)?;
            let mut n_inserted = 0u64;
            for row in rows {
                n_inserted += transaction
                    .execute(
                        &insert,
                        &[&row.agency, &row.record_id, &row.version, &row.body],
                    )
                    .map_err(database_error)?;
            }
            transaction.commit().map_err(database_error)?;
            client
                .batch_execute("DROP TABLE reference_rows")
                .map_err(database_error)?;
            Ok(n_inserted)
        }
    }
}
