//! The PostgreSQL backend: the synchronous `postgres` client behind a small pool
//! of its own, with prepared statements cached per connection. Writers take a
//! transaction-scoped advisory lock first, so `seq` order equals commit order.

mod access;
mod accounts;
mod alerts;
mod keys;
mod linkage;

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::migrations::{self, AppliedMigration, MigrationReport};
use crate::sql::{self, ListParam, RECORD_COLUMNS};
use crate::{
    AppendOutcome, Backend, EnvelopeKeys, ErasureRow, NewErasure, NewRecord, RecordFilter, Store,
    StoreError, StoredRecord, WriteTx, check_erasure, check_new_record,
};

/// Advisory lock key held by every write transaction (ASCII "SIGHTLWR").
const WRITER_LOCK_KEY: i64 = 0x5349_4748_544C_5752;
/// Advisory lock key held while migrating (ASCII "SIGHTLMG").
const MIGRATION_LOCK_KEY: i64 = 0x5349_4748_544C_4D47;
/// Most connections the pool opens at once.
const POOL_CONNECTIONS_MAX: usize = 8;
/// How long a caller waits for a free connection before [`StoreError::PoolTimeout`].
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout used when the URL gives none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Records sent per INSERT; bounds statement size while keeping round trips few.
const APPEND_CHUNK_RECORDS_MAX: usize = 2_000;

/// A PostgreSQL-backed [`Store`].
pub(crate) struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects, checks durability settings and applies pending migrations.
    pub(crate) fn open(config: postgres::Config) -> Result<Self, StoreError> {
        let pool = Pool::new(config);
        {
            let mut pooled = pool.get()?;
            migrate_client(&mut pooled.connection_mut()?.client)?;
        }
        Ok(PgStore { pool })
    }
}

/// Applies pending migrations to the database `config` points at.
pub(crate) fn migrate(config: &postgres::Config) -> Result<MigrationReport, StoreError> {
    let mut config = config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut client = config.connect(NoTls)?;
    migrate_client(&mut client)
}

/// Applies pending migrations in one transaction, under an advisory lock so that
/// concurrent openers apply each migration once.
fn migrate_client(client: &mut Client) -> Result<MigrationReport, StoreError> {
    let migration_error = |error: postgres::Error| StoreError::Migration {
        backend: Backend::Postgres,
        message: StoreError::from(error).to_string(),
    };
    let mut tx = client.transaction().map_err(migration_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(migration_error)?;
    tx.batch_execute(migrations::CREATE_SCHEMA_MIGRATIONS)
        .map_err(migration_error)?;
    let applied_versions: Vec<i64> = tx
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .map_err(migration_error)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(migration_error)?;
    let pending =
        migrations::pending(&applied_versions, migrations::POSTGRES).map_err(|message| {
            StoreError::Migration {
                backend: Backend::Postgres,
                message,
            }
        })?;
    let mut applied = Vec::new();
    for migration in pending {
        tx.batch_execute(migration.sql)
            .map_err(|error| StoreError::Migration {
                backend: Backend::Postgres,
                message: format!("{}: {}", migration.name, StoreError::from(error)),
            })?;
        if migration.version == 100 {
            // Seal the bodies already in the log (src/crypt.rs).
            keys::encrypt_plaintext_bodies(&mut tx).map_err(|error| StoreError::Migration {
                backend: Backend::Postgres,
                message: format!("{}: {error}", migration.name),
            })?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_us) \
             VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
            &[&migration.version, &migration.name],
        )
        .map_err(migration_error)?;
        applied.push(AppliedMigration {
            version: migration.version,
            name: migration.name.to_owned(),
        });
    }
    let schema_version: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(migration_error)?;
    tx.commit().map_err(migration_error)?;
    Ok(MigrationReport {
        backend: Backend::Postgres,
        applied,
        schema_version,
    })
}

/// Refuses a server that would not make commits durable.
fn check_durability(client: &mut Client) -> Result<(), StoreError> {
    let row = client.query_one(
        "SELECT current_setting('synchronous_commit'), current_setting('fsync')",
        &[],
    )?;
    let synchronous_commit: String = row.try_get(0)?;
    let fsync: String = row.try_get(1)?;
    if synchronous_commit.eq_ignore_ascii_case("off") {
        return Err(StoreError::UnsafeDurability {
            backend: Backend::Postgres,
            setting: "synchronous_commit",
            found: synchronous_commit,
            expected: "not off",
        });
    }
    if !fsync.eq_ignore_ascii_case("on") {
        return Err(StoreError::UnsafeDurability {
            backend: Backend::Postgres,
            setting: "fsync",
            found: fsync,
            expected: "on",
        });
    }
    Ok(())
}

/// One open connection and the statements prepared on it.
struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgConnection {
    /// Prepares `sql` once per connection; later calls reuse the statement.
    fn prepare_cached(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepare_cached(sql)?;
        Ok(self.client.query(&statement, params)?)
    }
}

struct PoolState {
    idle: Vec<PgConnection>,
    /// Connections open, idle or lent out.
    n_open: usize,
}

/// A small blocking connection pool: at most [`POOL_CONNECTIONS_MAX`] connections,
/// each checked for durability settings when opened.
struct Pool {
    config: postgres::Config,
    state: Mutex<PoolState>,
    freed: Condvar,
}

impl Pool {
    fn new(mut config: postgres::Config) -> Self {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        Pool {
            config,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                n_open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self) -> Result<PooledConnection<'_>, StoreError> {
        let deadline = Instant::now() + POOL_WAIT_TIMEOUT;
        let mut state = self.lock_state();
        loop {
            if let Some(connection) = state.idle.pop() {
                if connection.client.is_closed() {
                    state.n_open = state.n_open.saturating_sub(1);
                    continue;
                }
                return Ok(PooledConnection {
                    pool: self,
                    connection: Some(connection),
                    broken: false,
                });
            }
            if state.n_open < POOL_CONNECTIONS_MAX {
                state.n_open += 1;
                drop(state);
                return match self.connect() {
                    Ok(connection) => Ok(PooledConnection {
                        pool: self,
                        connection: Some(connection),
                        broken: false,
                    }),
                    Err(error) => {
                        let mut state = self.lock_state();
                        state.n_open = state.n_open.saturating_sub(1);
                        drop(state);
                        self.freed.notify_one();
                        Err(error)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::PoolTimeout {
                    backend: Backend::Postgres,
                });
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    fn connect(&self) -> Result<PgConnection, StoreError> {
        let mut client = self.config.connect(NoTls)?;
        check_durability(&mut client)?;
        Ok(PgConnection {
            client,
            statements: HashMap::new(),
        })
    }
}

/// A connection lent out by the pool; returned on drop unless marked broken.
struct PooledConnection<'a> {
    pool: &'a Pool,
    connection: Option<PgConnection>,
    broken: bool,
}

impl PooledConnection<'_> {
    fn connection_mut(&mut self) -> Result<&mut PgConnection, StoreError> {
        self.connection
            .as_mut()
            .ok_or(StoreError::Corrupt("pooled connection already returned"))
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock_state();
        match self.connection.take() {
            Some(connection) if !self.broken && !connection.client.is_closed() => {
                state.idle.push(connection);
            }
            _ => state.n_open = state.n_open.saturating_sub(1),
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

fn read_record(row: &Row) -> Result<StoredRecord, StoreError> {
    let hash: Vec<u8> = row.try_get(9)?;
    let content_hash = <[u8; 32]>::try_from(hash.as_slice())
        .map_err(|_| StoreError::Corrupt("content_hash is not 32 bytes"))?;
    Ok(StoredRecord {
        seq: row.try_get(0)?,
        agency: row.try_get(1)?,
        record_id: row.try_get(2)?,
        version: row.try_get(3)?,
        kind: row.try_get(4)?,
        occurred_at: row.try_get(5)?,
        occurred_start_us: row.try_get(6)?,
        recorded_at_us: row.try_get(7)?,
        received_at_us: row.try_get(8)?,
        content_hash,
        body: row.try_get(10)?,
        erased: None,
    })
}

impl Store for PgStore {
    fn begin(&self) -> Result<Box<dyn WriteTx + '_>, StoreError> {
        let mut pooled = self.pool.get()?;
        let begun = pooled.connection_mut()?.client.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})"
        ));
        if let Err(error) = begun {
            pooled.broken = true;
            return Err(error.into());
        }
        Ok(Box::new(PgWriteTx {
            pooled,
            finished: false,
            failed: false,
        }))
    }

    fn record_versions(
        &self,
        agency: &str,
        record_id: &str,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled.connection_mut()?.query(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE agency = $1 AND record_id = $2 ORDER BY version"
            ),
            &[&agency, &record_id],
        )?;
        let mut records = rows
            .iter()
            .map(read_record)
            .collect::<Result<Vec<_>, _>>()?;
        keys::open_records(&mut pooled.connection_mut()?.client, &mut records)?;
        records.retain(|record| record.erased.is_none());
        Ok(records)
    }

    fn list_records(&self, filter: &RecordFilter) -> Result<Vec<StoredRecord>, StoreError> {
        let Some(query) = sql::list_query(filter, '$') else {
            return Ok(Vec::new());
        };
        let params: Vec<&(dyn ToSql + Sync)> = query
            .params
            .iter()
            .map(|param| match param {
                ListParam::Text(text) => text as &(dyn ToSql + Sync),
                ListParam::Int(int) => int as &(dyn ToSql + Sync),
            })
            .collect();
        let mut pooled = self.pool.get()?;
        let rows = pooled.connection_mut()?.query(&query.sql, &params)?;
        let mut records = rows
            .iter()
            .map(read_record)
            .collect::<Result<Vec<_>, _>>()?;
        keys::open_records(&mut pooled.connection_mut()?.client, &mut records)?;
        Ok(records)
    }

    fn count_records(&self) -> Result<u64, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled
            .connection_mut()?
            .query("SELECT count(*) FROM records", &[])?;
        let count: i64 = rows
            .first()
            .ok_or(StoreError::Corrupt("count returned no row"))?
            .try_get(0)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("negative record count"))
    }

    fn head_seq(&self) -> Result<Option<i64>, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled
            .connection_mut()?
            .query("SELECT max(seq) FROM records", &[])?;
        Ok(rows
            .first()
            .ok_or(StoreError::Corrupt("max returned no row"))?
            .try_get(0)?)
    }

    fn create_token(
        &self,
        agency: &str,
        token_hash: &[u8; 32],
        created_at_us: i64,
    ) -> Result<i64, StoreError> {
        let mut pooled = self.pool.get()?;
        let inserted = pooled.connection_mut()?.query(
            "INSERT INTO agency_tokens (agency, token_hash, created_at_us) VALUES ($1, $2, $3) RETURNING id",
            &[&agency, &token_hash.as_slice(), &created_at_us],
        );
        match inserted {
            Ok(rows) => Ok(rows
                .first()
                .ok_or(StoreError::Corrupt("insert returned no id"))?
                .try_get(0)?),
            Err(StoreError::Database {
                code: Some(code), ..
            }) if code == SqlState::UNIQUE_VIOLATION.code() => Err(StoreError::TokenExists),
            Err(error) => Err(error),
        }
    }

    fn live_token(&self, token_hash: &[u8; 32]) -> Result<Option<(i64, String)>, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled.connection_mut()?.query(
            "SELECT id, agency FROM agency_tokens WHERE token_hash = $1 AND revoked_at_us IS NULL",
            &[&token_hash.as_slice()],
        )?;
        match rows.first() {
            Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
            None => Ok(None),
        }
    }

    fn revoke_token(&self, token_id: i64, revoked_at_us: i64) -> Result<bool, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled.connection_mut()?.query(
            "UPDATE agency_tokens SET revoked_at_us = $1 WHERE id = $2 AND revoked_at_us IS NULL RETURNING id",
            &[&revoked_at_us, &token_id],
        )?;
        Ok(rows.len() == 1)
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
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
        let mut pooled = self.pool.get()?;
        let client = &mut pooled.connection_mut()?.client;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK_KEY])?;
        let erased = keys::erase_in(&mut tx, erasure)?;
        tx.commit()?;
        Ok(erased)
    }

    fn erasures(&self) -> Result<Vec<ErasureRow>, StoreError> {
        let mut pooled = self.pool.get()?;
        keys::erasures(&mut pooled.connection_mut()?.client)
    }

    fn newest_erasure(&self) -> Result<Option<i64>, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled
            .connection_mut()?
            .query("SELECT MAX(id) FROM erasures", &[])?;
        match rows.first() {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(None),
        }
    }

    fn envelope_keys(&self, seq: i64) -> Result<Option<EnvelopeKeys>, StoreError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled
            .connection_mut()?
            .query("SELECT body FROM records WHERE seq = $1", &[&seq])?;
        match rows.first() {
            Some(row) => crate::crypt::envelope_keys(&row.try_get::<_, String>(0)?),
            None => Ok(None),
        }
    }

    fn compact_after_erasure(&self) -> Result<(), StoreError> {
        let mut pooled = self.pool.get()?;
        let client = &mut pooled.connection_mut()?.client;
        client.batch_execute("VACUUM FULL data_keys")?;
        client.batch_execute("CHECKPOINT")?;
        Ok(())
    }
}

/// A write transaction holding the writer advisory lock until it ends.
struct PgWriteTx<'a> {
    pooled: PooledConnection<'a>,
    finished: bool,
    /// An append failed; the server-side transaction is aborted.
    failed: bool,
}

const SELECT_MAX_VERSIONS: &str = "SELECT (SELECT max(r.version) FROM records r \
     WHERE r.agency = k.agency AND r.record_id = k.record_id) \
     FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS k(agency, record_id, ord) ORDER BY k.ord";

const INSERT_RECORDS: &str = "INSERT INTO records (agency, record_id, version, kind, occurred_at, \
     occurred_start_us, recorded_at_us, received_at_us, content_hash, body) \
     SELECT u.agency, u.record_id, u.version, u.kind, u.occurred_at, u.occurred_start_us, \
            u.recorded_at_us, u.received_at_us, u.content_hash, u.body \
     FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[], \
                 $7::int8[], $8::int8[], $9::bytea[], $10::text[]) WITH ORDINALITY \
          AS u(agency, record_id, version, kind, occurred_at, occurred_start_us, \
               recorded_at_us, received_at_us, content_hash, body, ord) \
     ORDER BY u.ord \
     ON CONFLICT (agency, record_id, version) DO NOTHING \
     RETURNING seq, agency, record_id, version";

const SELECT_EXISTING: &str = "SELECT r.seq, r.agency, r.record_id, r.version, r.content_hash \
     FROM records r \
     JOIN UNNEST($1::text[], $2::text[], $3::int8[]) AS k(agency, record_id, version) \
       ON r.agency = k.agency AND r.record_id = k.record_id AND r.version = k.version";

type Triple = (String, String, i64);

fn triple_of(record: &NewRecord) -> Triple {
    (
        record.agency.clone(),
        record.record_id.clone(),
        record.version,
    )
}

impl PgWriteTx<'_> {
    /// Appends one chunk in at most three round trips: the current max version of
    /// every key, one INSERT of every triple first seen in the chunk, and (only when
    /// some already existed) a look-up of the existing copies.
    fn append_chunk(&mut self, chunk: &[NewRecord]) -> Result<Vec<AppendOutcome>, StoreError> {
        let connection = self.pooled.connection_mut()?;

        // The first occurrence of each triple in the chunk; later ones are
        // duplicates of it and are not sent.
        let mut first_idx_of: HashMap<(&str, &str, i64), usize> = HashMap::new();
        let mut first_idxs = Vec::new();
        // Each distinct (agency, record_id) key, and each record's key index.
        let mut key_idx_of: HashMap<(&str, &str), usize> = HashMap::new();
        let mut key_agencies = Vec::new();
        let mut key_record_ids = Vec::new();
        let mut record_key_idx = Vec::with_capacity(chunk.len());
        for (record_idx, record) in chunk.iter().enumerate() {
            let triple = (
                record.agency.as_str(),
                record.record_id.as_str(),
                record.version,
            );
            first_idx_of.entry(triple).or_insert_with(|| {
                first_idxs.push(record_idx);
                record_idx
            });
            let key = (record.agency.as_str(), record.record_id.as_str());
            let key_idx = *key_idx_of.entry(key).or_insert_with(|| {
                key_agencies.push(key.0);
                key_record_ids.push(key.1);
                key_agencies.len() - 1
            });
            record_key_idx.push(key_idx);
        }

        let max_rows = connection.query(SELECT_MAX_VERSIONS, &[&key_agencies, &key_record_ids])?;
        let mut running_max: Vec<Option<i64>> = max_rows
            .iter()
            .map(|row| row.try_get::<_, Option<i64>>(0))
            .collect::<Result<_, _>>()?;
        if running_max.len() != key_agencies.len() {
            return Err(StoreError::Corrupt(
                "max-version query returned the wrong number of rows",
            ));
        }

        let firsts: Vec<&NewRecord> = first_idxs
            .iter()
            .filter_map(|idx| chunk.get(*idx))
            .collect();
        // The triples already stored are duplicates: looked up first, so no
        // key is made for a body that will not be stored.
        let mut existing: HashMap<Triple, (i64, Vec<u8>)> = HashMap::new();
        {
            let agencies: Vec<&str> = firsts.iter().map(|record| record.agency.as_str()).collect();
            let record_ids: Vec<&str> = firsts
                .iter()
                .map(|record| record.record_id.as_str())
                .collect();
            let versions: Vec<i64> = firsts.iter().map(|record| record.version).collect();
            for row in connection.query(SELECT_EXISTING, &[&agencies, &record_ids, &versions])? {
                existing.insert(
                    (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?),
                    (row.try_get(0)?, row.try_get(4)?),
                );
            }
        }
        let firsts: Vec<&NewRecord> = firsts
            .into_iter()
            .filter(|record| !existing.contains_key(&triple_of(record)))
            .collect();
        let bodies = keys::seal_all(connection, &firsts)?;
        let agencies: Vec<&str> = firsts.iter().map(|record| record.agency.as_str()).collect();
        let record_ids: Vec<&str> = firsts
            .iter()
            .map(|record| record.record_id.as_str())
            .collect();
        let versions: Vec<i64> = firsts.iter().map(|record| record.version).collect();
        let kinds: Vec<&str> = firsts.iter().map(|record| record.kind.as_str()).collect();
        let occurred_ats: Vec<&str> = firsts
            .iter()
            .map(|record| record.occurred_at.as_str())
            .collect();
        let occurred_starts: Vec<i64> = firsts
            .iter()
            .map(|record| record.occurred_start_us)
            .collect();
        let recorded_ats: Vec<i64> = firsts.iter().map(|record| record.recorded_at_us).collect();
        let received_ats: Vec<i64> = firsts.iter().map(|record| record.received_at_us).collect();
        let hashes: Vec<&[u8]> = firsts
            .iter()
            .map(|record| record.content_hash.as_slice())
            .collect();
        let inserted_rows = if firsts.is_empty() {
            Vec::new()
        } else {
            connection.query(
                INSERT_RECORDS,
                &[
                    &agencies,
                    &record_ids,
                    &versions,
                    &kinds,
                    &occurred_ats,
                    &occurred_starts,
                    &recorded_ats,
                    &received_ats,
                    &hashes,
                    &bodies,
                ],
            )?
        };
        let mut inserted_seq: HashMap<Triple, i64> = HashMap::with_capacity(inserted_rows.len());
        for row in &inserted_rows {
            inserted_seq.insert(
                (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?),
                row.try_get(0)?,
            );
        }

        // Walk the chunk in order, so `superseded` reflects earlier records in it.
        let mut outcomes: Vec<AppendOutcome> = Vec::with_capacity(chunk.len());
        // For each first occurrence: the seq and content hash of the stored copy.
        let mut stored_copy: HashMap<usize, (i64, [u8; 32])> = HashMap::new();
        for (record_idx, record) in chunk.iter().enumerate() {
            let triple = (
                record.agency.as_str(),
                record.record_id.as_str(),
                record.version,
            );
            let first_idx = first_idx_of.get(&triple).copied().unwrap_or(record_idx);
            if first_idx != record_idx {
                let (existing_seq, stored_hash) =
                    stored_copy
                        .get(&first_idx)
                        .copied()
                        .ok_or(StoreError::Corrupt(
                            "duplicate seen before its first occurrence",
                        ))?;
                outcomes.push(AppendOutcome::Duplicate {
                    existing_seq,
                    same_content: stored_hash == record.content_hash,
                });
                continue;
            }
            let owned_triple = triple_of(record);
            if let Some(seq) = inserted_seq.get(&owned_triple) {
                let key_max = record_key_idx
                    .get(record_idx)
                    .and_then(|key_idx| running_max.get_mut(*key_idx))
                    .ok_or(StoreError::Corrupt("record has no key"))?;
                let superseded = key_max.is_some_and(|max| max < record.version);
                *key_max = Some(key_max.map_or(record.version, |max| max.max(record.version)));
                stored_copy.insert(record_idx, (*seq, record.content_hash));
                outcomes.push(AppendOutcome::Stored {
                    seq: *seq,
                    superseded,
                });
            } else {
                let (existing_seq, existing_hash) = existing
                    .get(&owned_triple)
                    .ok_or(StoreError::Corrupt("record neither inserted nor found"))?;
                let stored_hash = <[u8; 32]>::try_from(existing_hash.as_slice())
                    .map_err(|_| StoreError::Corrupt("content_hash is not 32 bytes"))?;
                stored_copy.insert(record_idx, (*existing_seq, stored_hash));
                outcomes.push(AppendOutcome::Duplicate {
                    existing_seq: *existing_seq,
                    same_content: stored_hash == record.content_hash,
                });
            }
        }
        Ok(outcomes)
    }
}

impl WriteTx for PgWriteTx<'_> {
    fn append(&mut self, records: &[NewRecord]) -> Result<Vec<AppendOutcome>, StoreError> {
        if self.failed {
            return Err(StoreError::TransactionFailed);
        }
        for (record_idx, record) in records.iter().enumerate() {
            check_new_record(record_idx, record)?;
        }
        let mut outcomes = Vec::with_capacity(records.len());
        for chunk in records.chunks(APPEND_CHUNK_RECORDS_MAX) {
            match self.append_chunk(chunk) {
                Ok(chunk_outcomes) => outcomes.extend(chunk_outcomes),
                Err(error) => {
                    self.failed = true;
                    return Err(error);
                }
            }
        }
        Ok(outcomes)
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
            &mut alerts::PgAlertConn(self.pooled.connection_mut()?),
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
            &mut alerts::PgAlertConn(self.pooled.connection_mut()?),
            rows,
        );
        if matches!(result, Err(ref error) if !matches!(error, StoreError::InvalidAccess { .. })) {
            self.failed = true;
        }
        result
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.failed {
            // COMMIT of an aborted transaction silently rolls back; say so instead.
            return Err(StoreError::TransactionFailed);
        }
        let committed = self.pooled.connection_mut()?.client.batch_execute("COMMIT");
        match committed {
            Ok(()) => {
                self.finished = true;
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Drop for PgWriteTx<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let rolled_back = match self.pooled.connection_mut() {
            Ok(connection) => connection.client.batch_execute("ROLLBACK").is_ok(),
            Err(_) => false,
        };
        if !rolled_back {
            // Do not pool a connection in an unknown transaction state.
            self.pooled.broken = true;
        }
    }
}
