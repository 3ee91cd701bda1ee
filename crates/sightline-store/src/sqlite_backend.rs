//! The SQLite backend: one writer connection behind a mutex, plus a small pool of
//! other connections for reads and token writes. WAL with `synchronous=FULL`; the
//! writer's WAL is checkpointed by a background thread, not in its commits (see
//! [`checkpoint`]).

mod access;
mod accounts;
mod alerts;
mod checkpoint;
mod keys;
mod linkage;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use self::checkpoint::Checkpointer;
use crate::migrations::{self, AppliedMigration, MigrationReport};
use crate::sql::{self, ListParam, RECORD_COLUMNS};
use crate::url::SqliteLocation;
use crate::{
    AppendOutcome, Backend, EnvelopeKeys, ErasureRow, NewErasure, NewRecord, RecordFilter, Store,
    StoreError, StoredRecord, WriteTx, check_erasure, check_new_record,
};

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How many idle pooled connections are kept.
const POOL_IDLE_CONNECTIONS_MAX: usize = 4;
/// Prepared statements cached per connection.
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// A SQLite-backed [`Store`].
pub(crate) struct SqliteStore {
    // Declared first so its thread stops before the connections close (the last
    // to close checkpoints and removes the WAL).
    checkpointer: Checkpointer,
    writer: Mutex<Connection>,
    pool: Mutex<Vec<Connection>>,
    path: PathBuf,
    // Declared last so it is dropped after the connections are closed.
    _throwaway: Option<ThrowawayFile>,
}

impl SqliteStore {
    /// Opens (creating on first use) the database, checks durability settings and
    /// applies pending migrations.
    pub(crate) fn open(location: SqliteLocation) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(location, checkpoint::WAL_BYTES_MAX)
    }

    /// [`SqliteStore::open`] with the WAL size above which the writer
    /// checkpoints before its next transaction (tests use a small one).
    fn open_with_wal_limit(
        location: SqliteLocation,
        wal_bytes_max: u64,
    ) -> Result<Self, StoreError> {
        let (path, throwaway) = resolve(location)?;
        let mut writer = open_connection(&path)?;
        migrate_connection(&mut writer)?;
        let checkpointer = Checkpointer::start(&path, open_connection(&path)?, wal_bytes_max)?;
        checkpointer.configure_writer(&writer)?;
        Ok(SqliteStore {
            checkpointer,
            writer: Mutex::new(writer),
            pool: Mutex::new(Vec::new()),
            path,
            _throwaway: throwaway,
        })
    }

    /// Locks the writer connection and begins an immediate transaction on it
    /// (rolling back one a panic left open, and first bounding the WAL).
    fn begin_writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let connection = lock(&self.writer);
        if !connection.is_autocommit() {
            // Left open by a panic while a transaction was held: discard it.
            connection.execute_batch("ROLLBACK")?;
        }
        self.checkpointer.bound_wal(&connection)?;
        connection.execute_batch("BEGIN IMMEDIATE")?;
        Ok(connection)
    }

    /// Commits the writer's transaction; once it is durable (the WAL synced),
    /// asks for a checkpoint in the background.
    fn commit_writer(&self, connection: &Connection) -> Result<(), StoreError> {
        connection.execute_batch("COMMIT")?;
        self.checkpointer.request();
        Ok(())
    }

    fn pooled(&self) -> Result<PooledConnection<'_>, StoreError> {
        let idle = lock(&self.pool).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => open_connection(&self.path)?,
        };
        Ok(PooledConnection {
            store: self,
            connection: Some(connection),
        })
    }
}

/// Applies pending migrations to the database at `location`.
pub(crate) fn migrate(location: &SqliteLocation) -> Result<MigrationReport, StoreError> {
    let (path, _throwaway) = resolve(location.clone())?;
    let mut connection = open_connection(&path)?;
    migrate_connection(&mut connection)
}

/// Turns a location into a file path, creating the parent directory of a file
/// database, or a throwaway file for `sqlite::memory:`.
fn resolve(location: SqliteLocation) -> Result<(PathBuf, Option<ThrowawayFile>), StoreError> {
    match location {
        SqliteLocation::File(path) => {
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)?;
            }
            Ok((path, None))
        }
        SqliteLocation::Memory => {
            let throwaway = ThrowawayFile::new();
            Ok((throwaway.path.clone(), Some(throwaway)))
        }
    }
}

/// Opens one connection with the settings every connection must have, and reads
/// them back.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // Only takes effect when the file is new (before WAL is switched on).
    connection.execute_batch("PRAGMA page_size = 16384;")?;
    switch_to_wal(&connection)?;
    connection.execute_batch(&format!(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; \
         PRAGMA journal_size_limit = {}; PRAGMA secure_delete = ON;",
        checkpoint::WAL_BYTES_MAX
    ))?;
    check_durability(&connection)?;
    Ok(connection)
}

/// Switches a connection to WAL. On a new file several connections opening at
/// once race for the exclusive lock the switch needs, and SQLite reports
/// "database is locked" without calling the busy handler; so the switch is
/// retried, for at most [`BUSY_TIMEOUT`] in all.
fn switch_to_wal(connection: &Connection) -> Result<(), rusqlite::Error> {
    let started = std::time::Instant::now();
    loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if matches!(
                    error.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Reads the durability pragmas back and refuses a connection on which they did
/// not take.
fn check_durability(connection: &Connection) -> Result<(), StoreError> {
    let journal_mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(unsafe_setting("journal_mode", journal_mode, "wal"));
    }
    // 2 is FULL, 3 is EXTRA; both sync the WAL at every commit.
    let synchronous: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
    if synchronous < 2 {
        return Err(unsafe_setting(
            "synchronous",
            synchronous.to_string(),
            "2 (FULL) or more",
        ));
    }
    let foreign_keys: i64 = connection.query_row("PRAGMA foreign_keys", [], |row| row.get(0))?;
    if foreign_keys != 1 {
        return Err(unsafe_setting(
            "foreign_keys",
            foreign_keys.to_string(),
            "1 (on)",
        ));
    }
    Ok(())
}

fn unsafe_setting(setting: &'static str, found: String, expected: &'static str) -> StoreError {
    StoreError::UnsafeDurability {
        backend: Backend::Sqlite,
        setting,
        found,
        expected,
    }
}

/// Applies pending migrations inside one `BEGIN IMMEDIATE` transaction, so two
/// processes opening the same file at once do not both apply them.
fn migrate_connection(connection: &mut Connection) -> Result<MigrationReport, StoreError> {
    let migration_error = |error: rusqlite::Error| StoreError::Migration {
        backend: Backend::Sqlite,
        message: error.to_string(),
    };
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(migration_error)?;
    tx.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)
        .map_err(migration_error)?;
    let applied_versions = {
        let mut statement = tx
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .map_err(migration_error)?;
        statement
            .query_map([], |row| row.get::<_, i64>(0))
            .map_err(migration_error)?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(migration_error)?
    };
    let pending =
        migrations::pending(&applied_versions, migrations::SQLITE).map_err(|message| {
            StoreError::Migration {
                backend: Backend::Sqlite,
                message,
            }
        })?;
    let mut applied = Vec::new();
    for migration in pending {
        tx.execute_batch(migration.sql)
            .map_err(|error| StoreError::Migration {
                backend: Backend::Sqlite,
                message: format!("{}: {error}", migration.name),
            })?;
        if migration.version == 100 {
            // Seal the bodies already in the log (src/crypt.rs).
            keys::encrypt_plaintext_bodies(&tx).map_err(|error| StoreError::Migration {
                backend: Backend::Sqlite,
                message: format!("{}: {error}", migration.name),
            })?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_us) \
             VALUES (?1, ?2, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER))",
            params![migration.version, migration.name],
        )
        .map_err(migration_error)?;
        applied.push(AppliedMigration {
            version: migration.version,
            name: migration.name.to_owned(),
        });
    }
    let schema_version: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(migration_error)?;
    tx.commit().map_err(migration_error)?;
    Ok(MigrationReport {
        backend: Backend::Sqlite,
        applied,
        schema_version,
    })
}

/// Locks a mutex, recovering from poisoning: the guarded values (connections) stay
/// usable, and an interrupted transaction is rolled back by the next `begin`.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection borrowed from the pool; returned to it on drop.
struct PooledConnection<'a> {
    store: &'a SqliteStore,
    connection: Option<Connection>,
}

impl PooledConnection<'_> {
    fn get(&self) -> Result<&Connection, StoreError> {
        self.connection
            .as_ref()
            .ok_or(StoreError::Corrupt("pooled connection already returned"))
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            if !connection.is_autocommit() {
                return; // Never pool a connection left inside a transaction.
            }
            let mut idle = lock(&self.store.pool);
            if idle.len() < POOL_IDLE_CONNECTIONS_MAX {
                idle.push(connection);
            }
        }
    }
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<(StoredRecord, bool)> {
    let hash: Vec<u8> = row.get(9)?;
    let (content_hash, hash_ok) = match <[u8; 32]>::try_from(hash.as_slice()) {
        Ok(content_hash) => (content_hash, true),
        Err(_) => ([0; 32], false),
    };
    Ok((
        StoredRecord {
            seq: row.get(0)?,
            agency: row.get(1)?,
            record_id: row.get(2)?,
            version: row.get(3)?,
            kind: row.get(4)?,
            occurred_at: row.get(5)?,
            occurred_start_us: row.get(6)?,
            recorded_at_us: row.get(7)?,
            received_at_us: row.get(8)?,
            content_hash,
            body: row.get(10)?,
            erased: None,
        },
        hash_ok,
    ))
}

fn collect_records(
    rows: impl Iterator<Item = rusqlite::Result<(StoredRecord, bool)>>,
) -> Result<Vec<StoredRecord>, StoreError> {
    let mut records = Vec::new();
    for row in rows {
        let (record, hash_ok) = row?;
        if !hash_ok {
            return Err(StoreError::Corrupt("content_hash is not 32 bytes"));
        }
        records.push(record);
    }
    Ok(records)
}

impl Store for SqliteStore {
    fn begin(&self) -> Result<Box<dyn WriteTx + '_>, StoreError> {
        Ok(Box::new(SqliteWriteTx {
            connection: self.begin_writer()?,
            store: self,
            finished: false,
            failed: false,
        }))
    }

    fn record_versions(
        &self,
        agency: &str,
        record_id: &str,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE agency = ?1 AND record_id = ?2 ORDER BY version"
        ))?;
        let rows = statement.query_map(params![agency, record_id], read_record)?;
        let mut records = collect_records(rows)?;
        keys::open_records(connection, &mut records)?;
        records.retain(|record| record.erased.is_none());
        Ok(records)
    }

    fn list_records(&self, filter: &RecordFilter) -> Result<Vec<StoredRecord>, StoreError> {
        let Some(query) = sql::list_query(filter, '?') else {
            return Ok(Vec::new());
        };
        let values: Vec<rusqlite::types::Value> = query
            .params
            .iter()
            .map(|param| match param {
                ListParam::Text(text) => rusqlite::types::Value::Text((*text).to_owned()),
                ListParam::Int(int) => rusqlite::types::Value::Integer(*int),
            })
            .collect();
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&query.sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), read_record)?;
        let mut records = collect_records(rows)?;
        keys::open_records(connection, &mut records)?;
        Ok(records)
    }

    fn count_records(&self) -> Result<u64, StoreError> {
        let pooled = self.pooled()?;
        let count: i64 = pooled
            .get()?
            .query_row("SELECT COUNT(*) FROM records", [], |row| row.get(0))?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("negative record count"))
    }

    fn head_seq(&self) -> Result<Option<i64>, StoreError> {
        let pooled = self.pooled()?;
        let head: Option<i64> =
            pooled
                .get()?
                .query_row("SELECT MAX(seq) FROM records", [], |row| row.get(0))?;
        Ok(head)
    }

    fn create_token(
        &self,
        agency: &str,
        token_hash: &[u8; 32],
        created_at_us: i64,
    ) -> Result<i64, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let inserted = connection
            .prepare_cached(
                "INSERT INTO agency_tokens (agency, token_hash, created_at_us) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![agency, token_hash.as_slice(), created_at_us]);
        match inserted {
            Ok(_) => Ok(connection.last_insert_rowid()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Err(StoreError::TokenExists)
            }
            Err(error) => Err(error.into()),
        }
    }

    fn live_token(&self, token_hash: &[u8; 32]) -> Result<Option<(i64, String)>, StoreError> {
        let pooled = self.pooled()?;
        let token = pooled
            .get()?
            .prepare_cached(
                "SELECT id, agency FROM agency_tokens WHERE token_hash = ?1 AND revoked_at_us IS NULL",
            )?
            .query_row(params![token_hash.as_slice()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        Ok(token)
    }

    fn revoke_token(&self, token_id: i64, revoked_at_us: i64) -> Result<bool, StoreError> {
        let pooled = self.pooled()?;
        let changed = pooled
            .get()?
            .prepare_cached(
                "UPDATE agency_tokens SET revoked_at_us = ?1 WHERE id = ?2 AND revoked_at_us IS NULL",
            )?
            .execute(params![revoked_at_us, token_id])?;
        Ok(changed == 1)
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn accounts(&self) -> &dyn crate::AccountStore {
        self
    }

    fn audit(&self) -> &dyn crate::AuditStore {
        self
    }

    fn alerts(&self) -> &dyn crate::AlertStore {
        self
    }

    fn linkage(&self) -> &dyn crate::LinkageStore {
        self
    }

    fn access(&self) -> &dyn crate::AccessStore {
        self
    }

    fn erase(&self, erasure: &NewErasure) -> Result<ErasureRow, StoreError> {
        check_erasure(erasure)?;
        let connection = self.begin_writer()?;
        let erased = match keys::erase_in(&connection, erasure) {
            Ok(erased) => erased,
            Err(error) => {
                connection.execute_batch("ROLLBACK")?;
                return Err(error);
            }
        };
        connection.execute_batch("COMMIT")?;
        // The deleted key rows were zeroed in their pages (secure_delete); the
        // WAL still holds the pages as they were until it is checkpointed and
        // truncated.
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(erased)
    }

    fn erasures(&self) -> Result<Vec<ErasureRow>, StoreError> {
        let pooled = self.pooled()?;
        keys::erasures(pooled.get()?)
    }

    fn newest_erasure(&self) -> Result<Option<i64>, StoreError> {
        let pooled = self.pooled()?;
        Ok(pooled
            .get()?
            .prepare_cached("SELECT MAX(id) FROM erasures")?
            .query_row([], |row| row.get(0))?)
    }

    fn envelope_keys(&self, seq: i64) -> Result<Option<EnvelopeKeys>, StoreError> {
        let pooled = self.pooled()?;
        let body: Option<String> = pooled
            .get()?
            .prepare_cached("SELECT body FROM records WHERE seq = ?1")?
            .query_row(params![seq], |row| row.get(0))
            .optional()?;
        match body {
            Some(body) => crate::crypt::envelope_keys(&body),
            None => Ok(None),
        }
    }

    fn compact_after_erasure(&self) -> Result<(), StoreError> {
        let connection = lock(&self.writer);
        connection.execute_batch("VACUUM")?;
        let (busy, _, _): (i64, i64, i64) =
            connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
        if busy != 0 {
            return Err(StoreError::Corrupt(
                "the WAL could not be truncated: another connection is reading; run again when the server is stopped",
            ));
        }
        Ok(())
    }
}

/// A write transaction on the writer connection, begun with `BEGIN IMMEDIATE`.
struct SqliteWriteTx<'a> {
    connection: MutexGuard<'a, Connection>,
    store: &'a SqliteStore,
    finished: bool,
    /// An append failed part-way; the transaction may only be rolled back.
    failed: bool,
}

impl SqliteWriteTx<'_> {
    fn append_all(&mut self, records: &[NewRecord]) -> Result<Vec<AppendOutcome>, StoreError> {
        let connection = &*self.connection;
        let mut max_version = connection.prepare_cached(
            "SELECT MAX(version) FROM records WHERE agency = ?1 AND record_id = ?2",
        )?;
        let mut insert = connection.prepare_cached(
            "INSERT INTO records (agency, record_id, version, kind, occurred_at, occurred_start_us, \
             recorded_at_us, received_at_us, content_hash, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (agency, record_id, version) DO NOTHING",
        )?;
        let mut existing = connection.prepare_cached(
            "SELECT seq, content_hash FROM records WHERE agency = ?1 AND record_id = ?2 AND version = ?3",
        )?;
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            // A stored triple is a duplicate: looked up first, so no key is
            // made for a body that will not be stored.
            let stored: Option<(i64, Vec<u8>)> = existing
                .query_row(
                    params![record.agency, record.record_id, record.version],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            if let Some((existing_seq, existing_hash)) = stored {
                outcomes.push(AppendOutcome::Duplicate {
                    existing_seq,
                    same_content: existing_hash.as_slice() == record.content_hash.as_slice(),
                });
                continue;
            }
            // Version 1 cannot supersede anything: skip the lookup (most records).
            let current_max: Option<i64> = if record.version > 1 {
                max_version.query_row(params![record.agency, record.record_id], |row| row.get(0))?
            } else {
                None
            };
            let sealed = keys::seal(
                connection,
                &record.agency,
                &record.record_id,
                record.version,
                &record.body,
            )?;
            let n_inserted = insert.execute(params![
                record.agency,
                record.record_id,
                record.version,
                record.kind,
                record.occurred_at,
                record.occurred_start_us,
                record.recorded_at_us,
                record.received_at_us,
                record.content_hash.as_slice(),
                sealed,
            ])?;
            if n_inserted != 1 {
                return Err(StoreError::Corrupt("a new record was not inserted"));
            }
            outcomes.push(AppendOutcome::Stored {
                seq: connection.last_insert_rowid(),
                superseded: current_max.is_some_and(|max| max < record.version),
            });
        }
        Ok(outcomes)
    }
}

impl WriteTx for SqliteWriteTx<'_> {
    fn append(&mut self, records: &[NewRecord]) -> Result<Vec<AppendOutcome>, StoreError> {
        if self.failed {
            return Err(StoreError::TransactionFailed);
        }
        for (record_idx, record) in records.iter().enumerate() {
            check_new_record(record_idx, record)?;
        }
        let result = self.append_all(records);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn upsert_alerts(
        &mut self,
        alerts: &[crate::AlertUpsert],
        at_us: i64,
    ) -> Result<Vec<crate::AlertChange>, StoreError> {
        if self.failed {
            return Err(StoreError::TransactionFailed);
        }
        let result = crate::alerts::upsert_in(
            &mut alerts::SqliteAlertConn(&self.connection),
            alerts,
            at_us,
        );
        if matches!(result, Err(ref error) if !matches!(error, StoreError::InvalidAlert { .. })) {
            self.failed = true;
        }
        result
    }

    fn append_relationships(
        &mut self,
        rows: &[crate::NewRelationship],
    ) -> Result<Vec<crate::RelationshipRow>, StoreError> {
        if self.failed {
            return Err(StoreError::TransactionFailed);
        }
        let result = crate::access::append_relationships_in(
            &mut alerts::SqliteAlertConn(&self.connection),
            rows,
        );
        if matches!(result, Err(ref error) if !matches!(error, StoreError::InvalidAccess { .. })) {
            self.failed = true;
        }
        result
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::TransactionFailed);
        }
        self.store.commit_writer(&self.connection)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for SqliteWriteTx<'_> {
    fn drop(&mut self) {
        if !self.finished && !self.connection.is_autocommit() {
            // If this fails, the next `begin` sees the open transaction and rolls it back.
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

/// A private database file for `sqlite::memory:`, removed (with its WAL and shared
/// memory files) on drop. A real file keeps WAL mode and the pool working exactly
/// as for a named database.
struct ThrowawayFile {
    path: PathBuf,
}

impl ThrowawayFile {
    fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let name = format!(
            "sightline-memory-{}-{nanos}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ThrowawayFile {
            path: std::env::temp_dir().join(name),
        }
    }
}

impl Drop for ThrowawayFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::checkpoint::file_bytes;
    use super::*;

    #[test]
    fn durability_check_refuses_weak_settings() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("weak.db");
        let connection = open_connection(&path).unwrap();
        assert!(check_durability(&connection).is_ok());

        connection
            .execute_batch("PRAGMA synchronous = NORMAL")
            .unwrap();
        let error = check_durability(&connection).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::UnsafeDurability {
                    setting: "synchronous",
                    ..
                }
            ),
            "{error}"
        );

        let memory = Connection::open_in_memory().unwrap();
        let _: String = memory
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .unwrap();
        memory
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .unwrap();
        let error = check_durability(&memory).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::UnsafeDurability {
                    setting: "journal_mode",
                    ..
                }
            ),
            "{error}"
        );
    }

    /// `n_records` version-1 records of about 1 KB each, ids from `first_id`.
    fn records(first_id: usize, n_records: usize) -> Vec<NewRecord> {
        (first_id..first_id + n_records)
            .map(|id| NewRecord {
                agency: "st-annes-gp".into(),
                record_id: format!("R-{id}"),
                version: 1,
                kind: "health.gp_consultation".into(),
                occurred_at: "2007-04".into(),
                occurred_start_us: 0,
                recorded_at_us: 0,
                received_at_us: 0,
                content_hash: [7; 32],
                body: format!("{{\"id\": {id}, \"pad\": \"{}\"}}", "x".repeat(1000)),
            })
            .collect()
    }

    fn append_and_commit(store: &SqliteStore, records: &[NewRecord]) {
        let mut tx = store.begin().unwrap();
        let outcomes = tx.append(records).unwrap();
        assert!(
            outcomes
                .iter()
                .all(|outcome| matches!(outcome, AppendOutcome::Stored { .. }))
        );
        tx.commit().unwrap();
    }

    #[test]
    fn commits_leave_the_checkpoint_to_the_background_thread() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log.db");
        let store = SqliteStore::open(SqliteLocation::File(path.clone())).unwrap();
        let autocheckpoint: i64 = lock(&store.writer)
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            autocheckpoint, 0,
            "the writer must not checkpoint in COMMIT"
        );

        // About 5 MB: far beyond SQLite's automatic threshold of 1,000 pages.
        append_and_commit(&store, &records(0, 5_000));
        let database_bytes: u64 = open_connection(&path)
            .unwrap()
            .query_row(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(database_bytes > 5_000_000);
        // With no further write and no close, the thread copies every page from
        // the WAL into the database file (nothing else checkpoints).
        let started = std::time::Instant::now();
        while file_bytes(&path) < database_bytes {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the database file was not checkpointed: {} of {database_bytes} bytes",
                file_bytes(&path)
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        // A clean shutdown leaves no WAL behind.
        drop(store);
        let mut wal_path = path.clone().into_os_string();
        wal_path.push("-wal");
        assert!(!Path::new(&wal_path).exists());
        let store = SqliteStore::open(SqliteLocation::File(path)).unwrap();
        assert_eq!(store.count_records().unwrap(), 5_000);
    }

    #[test]
    fn the_wal_stays_bounded_under_back_to_back_batches() {
        const WAL_BYTES_MAX: u64 = 1024 * 1024;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log.db");
        let store =
            SqliteStore::open_with_wal_limit(SqliteLocation::File(path), WAL_BYTES_MAX).unwrap();
        let mut wal_bytes_seen_max = 0;
        // 60 batches of about 300 KB each: 18 MB written through the WAL.
        for batch_idx in 0..60 {
            append_and_commit(&store, &records(batch_idx * 300, 300));
            wal_bytes_seen_max = wal_bytes_seen_max.max(store.checkpointer.wal_bytes());
        }
        // At most the limit plus one batch (pages of the table and its indexes).
        assert!(
            wal_bytes_seen_max <= WAL_BYTES_MAX + 2 * 1024 * 1024,
            "the WAL grew to {wal_bytes_seen_max} bytes"
        );
        assert_eq!(store.count_records().unwrap(), 18_000);
    }

    #[test]
    fn an_acknowledged_batch_survives_a_crash_before_any_checkpoint() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log.db");
        let store = SqliteStore::open(SqliteLocation::File(path.clone())).unwrap();
        // Hold the checkpoint lock so no checkpoint can run: what is on disk when
        // the commit returns is the synced WAL only.
        let running = lock(store.checkpointer.running());
        append_and_commit(&store, &records(0, 2_000));
        // Copy the files as a crash would leave them (the shared-memory index is
        // rebuilt from the WAL on open).
        let crashed = directory.path().join("crashed.db");
        for suffix in ["", "-wal"] {
            let mut from = path.clone().into_os_string();
            from.push(suffix);
            let mut to = crashed.clone().into_os_string();
            to.push(suffix);
            std::fs::copy(&from, &to).unwrap();
        }
        drop(running);
        assert!(file_bytes(&crashed) < 1_000_000, "nothing checkpointed yet");
        let reopened = SqliteStore::open(SqliteLocation::File(crashed)).unwrap();
        assert_eq!(reopened.count_records().unwrap(), 2_000);
        assert_eq!(
            reopened
                .record_versions("st-annes-gp", "R-1999")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn throwaway_database_is_removed_on_drop() {
        let store = SqliteStore::open(SqliteLocation::Memory).unwrap();
        let path = store.path.clone();
        assert!(path.exists());
        drop(store);
        assert!(!path.exists());
    }
}
