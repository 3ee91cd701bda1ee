//! Data keys on SQLite: storing them with the record they seal, reading them
//! to open bodies, and erasure (src/crypt.rs says why).

use std::collections::HashMap;

use rusqlite::{Connection, params, params_from_iter};

use crate::crypt::{self, KEY_BYTES, KeyState};
use crate::{ErasureRow, NewErasure, StoreError, StoredRecord};

/// Ids asked in one `IN (...)` list.
const IDS_PER_QUERY_MAX: usize = 500;

/// Keeps a new key (in the caller's transaction) and returns its id.
pub(super) fn store_key(connection: &Connection, key: &[u8; KEY_BYTES]) -> Result<i64, StoreError> {
    connection
        .prepare_cached("INSERT INTO data_keys (key_bytes) VALUES (?1)")?
        .execute(params![key.as_slice()])?;
    Ok(connection.last_insert_rowid())
}

/// Seals `body` for its row, storing its keys.
pub(super) fn seal(
    connection: &Connection,
    agency: &str,
    record_id: &str,
    version: i64,
    body: &str,
) -> Result<String, StoreError> {
    crypt::seal(agency, record_id, version, body, &mut |key| {
        store_key(connection, key)
    })
}

fn in_list(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// What each id in `ids` (ascending) resolves to: a live key, or the erasure
/// that took it. An id in neither table is left out (the opener reports it).
pub(super) fn key_states(
    connection: &Connection,
    ids: &[i64],
) -> Result<HashMap<i64, KeyState>, StoreError> {
    let mut states = HashMap::with_capacity(ids.len());
    let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
        return Ok(states);
    };
    let mut take = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, Vec<u8>)> {
        Ok((row.get(0)?, row.get(1)?))
    };
    let mut rows: Vec<(i64, Vec<u8>)> = Vec::new();
    // Keys are written in log order, so a page of the log mostly uses one
    // dense range of ids: one range read instead of many lists.
    let span = usize::try_from(last - first).unwrap_or(usize::MAX);
    if span <= ids.len().saturating_mul(4) {
        let mut statement = connection.prepare_cached(
            "SELECT key_id, key_bytes FROM data_keys WHERE key_id BETWEEN ?1 AND ?2",
        )?;
        for row in statement.query_map(params![first, last], &mut take)? {
            rows.push(row?);
        }
    } else {
        for chunk in ids.chunks(IDS_PER_QUERY_MAX) {
            let mut statement = connection.prepare(&format!(
                "SELECT key_id, key_bytes FROM data_keys WHERE key_id IN ({})",
                in_list(chunk.len())
            ))?;
            for row in statement.query_map(params_from_iter(chunk.iter()), &mut take)? {
                rows.push(row?);
            }
        }
    }
    // The range read may return keys nobody asked for: only the asked ones
    // are answered (erasure destroys exactly what it resolves here).
    for (key_id, bytes) in rows {
        if ids.binary_search(&key_id).is_ok() {
            states.insert(key_id, KeyState::Live(crypt::key_from_bytes(&bytes)?));
        }
    }
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !states.contains_key(id))
        .collect();
    for chunk in missing.chunks(IDS_PER_QUERY_MAX) {
        let mut statement = connection.prepare(&format!(
            "SELECT key_id, erasure_id FROM erased_keys WHERE key_id IN ({})",
            in_list(chunk.len())
        ))?;
        let erased = statement.query_map(params_from_iter(chunk.iter()), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in erased {
            let (key_id, erasure_id) = row?;
            states.insert(key_id, KeyState::Erased(erasure_id));
        }
    }
    Ok(states)
}

/// Opens the bodies of `records` read on `connection`.
pub(super) fn open_records(
    connection: &Connection,
    records: &mut [StoredRecord],
) -> Result<(), StoreError> {
    let ids = crypt::key_ids_of(records)?;
    if ids.is_empty() {
        return Ok(());
    }
    let states = key_states(connection, &ids)?;
    crypt::open_all(records, &states)
}

/// [`crate::Store::erase`] inside the writer's open transaction.
pub(super) fn erase_in(
    connection: &Connection,
    erasure: &NewErasure,
) -> Result<ErasureRow, StoreError> {
    let mut key_ids = Vec::new();
    let mut n_records = 0i64;
    {
        let mut versions = connection
            .prepare_cached("SELECT body FROM records WHERE agency = ?1 AND record_id = ?2")?;
        for target in &erasure.targets {
            let bodies = versions
                .query_map(params![target.agency, target.record_id], |row| {
                    row.get::<_, String>(0)
                })?
                .collect::<Result<Vec<String>, _>>()?;
            for body in bodies {
                if let Some(keys) = crypt::envelope_keys(&body)? {
                    let ids = crate::target_key_ids(&keys, target.refs.as_deref());
                    if !ids.is_empty() {
                        n_records += 1;
                    }
                    key_ids.extend(ids);
                }
            }
        }
    }
    key_ids.sort_unstable();
    key_ids.dedup();
    // Only keys still held: one erased before is already in a tombstone.
    let live: Vec<i64> = key_states(connection, &key_ids)?
        .into_iter()
        .filter_map(|(key_id, state)| matches!(state, KeyState::Live(_)).then_some(key_id))
        .collect();
    let mut live = live;
    live.sort_unstable();
    let n_keys = i64::try_from(live.len()).map_err(|_| StoreError::Corrupt("too many keys"))?;
    connection
        .prepare_cached(
            "INSERT INTO erasures (at_us, actor, scope, target, reason, n_records, n_keys) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            erasure.at_us,
            erasure.actor,
            erasure.scope,
            erasure.target,
            erasure.reason,
            n_records,
            n_keys
        ])?;
    let id = connection.last_insert_rowid();
    {
        let mut tombstone = connection
            .prepare_cached("INSERT INTO erased_keys (key_id, erasure_id) VALUES (?1, ?2)")?;
        let mut destroy = connection.prepare_cached("DELETE FROM data_keys WHERE key_id = ?1")?;
        for key_id in &live {
            tombstone.execute(params![key_id, id])?;
            destroy.execute(params![key_id])?;
        }
    }
    Ok(ErasureRow {
        id,
        at_us: erasure.at_us,
        actor: erasure.actor.clone(),
        scope: erasure.scope.clone(),
        target: erasure.target.clone(),
        reason: erasure.reason.clone(),
        n_records,
        n_keys,
        key_ids: live,
    })
}

/// Every erasure with its key ids, oldest first.
pub(super) fn erasures(connection: &Connection) -> Result<Vec<ErasureRow>, StoreError> {
    let mut rows: Vec<ErasureRow> = connection
        .prepare_cached(
            "SELECT id, at_us, actor, scope, target, reason, n_records, n_keys FROM erasures ORDER BY id",
        )?
        .query_map([], |row| {
            Ok(ErasureRow {
                id: row.get(0)?,
                at_us: row.get(1)?,
                actor: row.get(2)?,
                scope: row.get(3)?,
                target: row.get(4)?,
                reason: row.get(5)?,
                n_records: row.get(6)?,
                n_keys: row.get(7)?,
                key_ids: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut keys = connection
        .prepare_cached("SELECT key_id FROM erased_keys WHERE erasure_id = ?1 ORDER BY key_id")?;
    for row in &mut rows {
        row.key_ids = keys
            .query_map(params![row.id], |key| key.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(rows)
}

/// The migration step after `0100_data_keys`: seals every plaintext body in
/// the log, inside the migration's transaction, with the records triggers
/// dropped for the update and put back exactly as `0001_init` made them.
pub(super) fn encrypt_plaintext_bodies(connection: &Connection) -> Result<u64, StoreError> {
    connection.execute_batch("DROP TRIGGER records_no_update; DROP TRIGGER records_no_delete;")?;
    let mut n_sealed = 0u64;
    let mut after_seq = i64::MIN;
    loop {
        let page: Vec<(i64, String, String, i64, String)> = connection
            .prepare_cached(
                "SELECT seq, agency, record_id, version, body FROM records WHERE seq > ?1 ORDER BY seq LIMIT 1000",
            )?
            .query_map(params![after_seq], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let Some(last) = page.last() else {
            break;
        };
        after_seq = last.0;
        for (seq, agency, record_id, version, body) in page {
            if body.starts_with(crypt::ENVELOPE_PREFIX) {
                continue;
            }
            let sealed = seal(connection, &agency, &record_id, version, &body)?;
            connection
                .prepare_cached("UPDATE records SET body = ?1 WHERE seq = ?2")?
                .execute(params![sealed, seq])?;
            n_sealed += 1;
        }
    }
    connection.execute_batch(
        "CREATE TRIGGER records_no_update BEFORE UPDATE ON records
         BEGIN
             SELECT RAISE(ABORT, 'records is append-only: UPDATE is not allowed');
         END;
         CREATE TRIGGER records_no_delete BEFORE DELETE ON records
         BEGIN
             SELECT RAISE(ABORT, 'records is append-only: DELETE is not allowed');
         END;",
    )?;
    Ok(n_sealed)
}
