//! Data keys on PostgreSQL: storing them with the records they seal, reading
//! them to open bodies, and erasure (src/crypt.rs says why).

use std::collections::HashMap;

use postgres::GenericClient;

use super::PgConnection;
use crate::crypt::{self, KEY_BYTES, KeyState};
use crate::{ErasureRow, NewErasure, NewRecord, StoreError, StoredRecord};

/// Seals the bodies of `records` (new rows, in the writer's transaction),
/// storing their keys in one insert. Key ids are taken from `data_key_ids`
/// as a block: the writer lock keeps other writers out meanwhile.
pub(super) fn seal_all(
    connection: &mut PgConnection,
    records: &[&NewRecord],
) -> Result<Vec<String>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let client = &mut connection.client;
    let base: i64 = client
        .query_one("SELECT nextval('data_key_ids')", &[])?
        .try_get(0)?;
    let mut next_id = base;
    let mut key_ids: Vec<i64> = Vec::new();
    let mut key_bytes: Vec<Vec<u8>> = Vec::new();
    let mut bodies = Vec::with_capacity(records.len());
    for record in records {
        bodies.push(crypt::seal(
            &record.agency,
            &record.record_id,
            record.version,
            &record.body,
            &mut |key: &[u8; KEY_BYTES]| {
                let id = next_id;
                next_id += 1;
                key_ids.push(id);
                key_bytes.push(key.to_vec());
                Ok(id)
            },
        )?);
    }
    if next_id - 1 > base {
        client.execute("SELECT setval('data_key_ids', $1)", &[&(next_id - 1)])?;
    }
    client.execute(
        "INSERT INTO data_keys (key_id, key_bytes) SELECT * FROM UNNEST($1::int8[], $2::bytea[])",
        &[&key_ids, &key_bytes],
    )?;
    Ok(bodies)
}

/// What each id in `ids` resolves to: a live key, or the erasure that took
/// it. An id in neither table is left out (the opener reports it).
pub(super) fn key_states(
    client: &mut impl GenericClient,
    ids: &[i64],
) -> Result<HashMap<i64, KeyState>, StoreError> {
    let mut states = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(states);
    }
    for row in client.query(
        "SELECT key_id, key_bytes FROM data_keys WHERE key_id = ANY($1)",
        &[&ids],
    )? {
        let bytes: Vec<u8> = row.try_get(1)?;
        states.insert(
            row.try_get::<_, i64>(0)?,
            KeyState::Live(crypt::key_from_bytes(&bytes)?),
        );
    }
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !states.contains_key(id))
        .collect();
    if !missing.is_empty() {
        for row in client.query(
            "SELECT key_id, erasure_id FROM erased_keys WHERE key_id = ANY($1)",
            &[&missing],
        )? {
            states.insert(row.try_get(0)?, KeyState::Erased(row.try_get(1)?));
        }
    }
    Ok(states)
}

/// Opens the bodies of `records`.
pub(super) fn open_records(
    client: &mut impl GenericClient,
    records: &mut [StoredRecord],
) -> Result<(), StoreError> {
    let ids = crypt::key_ids_of(records)?;
    if ids.is_empty() {
        return Ok(());
    }
    let states = key_states(client, &ids)?;
    crypt::open_all(records, &states)
}

/// [`crate::Store::erase`] inside a transaction holding the writer lock.
pub(super) fn erase_in(
    client: &mut impl GenericClient,
    erasure: &NewErasure,
) -> Result<ErasureRow, StoreError> {
    let mut key_ids = Vec::new();
    let mut n_records = 0i64;
    for target in &erasure.targets {
        for row in client.query(
            "SELECT body FROM records WHERE agency = $1 AND record_id = $2",
            &[&target.agency, &target.record_id],
        )? {
            let body: String = row.try_get(0)?;
            if let Some(keys) = crypt::envelope_keys(&body)? {
                let ids = crate::target_key_ids(&keys, target.refs.as_deref());
                if !ids.is_empty() {
                    n_records += 1;
                }
                key_ids.extend(ids);
            }
        }
    }
    key_ids.sort_unstable();
    key_ids.dedup();
    let mut live: Vec<i64> = key_states(client, &key_ids)?
        .into_iter()
        .filter_map(|(key_id, state)| matches!(state, KeyState::Live(_)).then_some(key_id))
        .collect();
    live.sort_unstable();
    let n_keys = i64::try_from(live.len()).map_err(|_| StoreError::Corrupt("too many keys"))?;
    let id: i64 = client
        .query_one(
            "INSERT INTO erasures (at_us, actor, scope, target, reason, n_records, n_keys) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &erasure.at_us,
                &erasure.actor,
                &erasure.scope,
                &erasure.target,
                &erasure.reason,
                &n_records,
                &n_keys,
            ],
        )?
        .try_get(0)?;
    client.execute(
        "INSERT INTO erased_keys (key_id, erasure_id) SELECT k, $2 FROM UNNEST($1::int8[]) AS k",
        &[&live, &id],
    )?;
    client.execute("DELETE FROM data_keys WHERE key_id = ANY($1)", &[&live])?;
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
pub(super) fn erasures(client: &mut impl GenericClient) -> Result<Vec<ErasureRow>, StoreError> {
    let mut rows = Vec::new();
    for row in client.query(
        "SELECT id, at_us, actor, scope, target, reason, n_records, n_keys FROM erasures ORDER BY id",
        &[],
    )? {
        rows.push(ErasureRow {
            id: row.try_get(0)?,
            at_us: row.try_get(1)?,
            actor: row.try_get(2)?,
            scope: row.try_get(3)?,
            target: row.try_get(4)?,
            reason: row.try_get(5)?,
            n_records: row.try_get(6)?,
            n_keys: row.try_get(7)?,
            key_ids: Vec::new(),
        });
    }
    for erasure in &mut rows {
        erasure.key_ids = client
            .query(
                "SELECT key_id FROM erased_keys WHERE erasure_id = $1 ORDER BY key_id",
                &[&erasure.id],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
    }
    Ok(rows)
}

/// The migration step after `0100_data_keys`: seals every plaintext body in
/// the log inside the migration's transaction, with the records trigger
/// disabled for the update only.
pub(super) fn encrypt_plaintext_bodies(client: &mut impl GenericClient) -> Result<u64, StoreError> {
    client.batch_execute("ALTER TABLE records DISABLE TRIGGER records_no_update_delete")?;
    let mut n_sealed = 0u64;
    let mut after_seq = i64::MIN;
    loop {
        let page = client.query(
            "SELECT seq, agency, record_id, version, body FROM records WHERE seq > $1 ORDER BY seq LIMIT 1000",
            &[&after_seq],
        )?;
        let Some(last) = page.last() else {
            break;
        };
        after_seq = last.try_get(0)?;
        for row in &page {
            let body: String = row.try_get(4)?;
            if body.starts_with(crypt::ENVELOPE_PREFIX) {
                continue;
            }
            let seq: i64 = row.try_get(0)?;
            let agency: String = row.try_get(1)?;
            let record_id: String = row.try_get(2)?;
            let version: i64 = row.try_get(3)?;
            let sealed = crypt::seal(&agency, &record_id, version, &body, &mut |key| {
                Ok(client
                    .query_one(
                        "INSERT INTO data_keys (key_id, key_bytes) VALUES (nextval('data_key_ids'), $1) RETURNING key_id",
                        &[&key.as_slice()],
                    )?
                    .try_get(0)?)
            })?;
            client.execute(
                "UPDATE records SET body = $1 WHERE seq = $2",
                &[&sealed, &seq],
            )?;
            n_sealed += 1;
        }
    }
    client.batch_execute("ALTER TABLE records ENABLE TRIGGER records_no_update_delete")?;
    Ok(n_sealed)
}
