//! Erasure (issue #18 item 3): destroys the data keys of a person's mentions
//! ([`erase_person`]) or of whole records ([`erase_records`], for retention),
//! so the sealed text the append-only log keeps can never be read again
//! (`sightline-store/src/crypt.rs`). The log rows, their order and
//! `content_hash`, and the audit chain are untouched and still verify.
//!
//! - Invariant: nothing is erased while a legal hold
//!   ([`crate::controls::is_on_hold`]) is in force on any person the affected
//!   records name: the whole request is refused.
//! - Invariant: the audit entry (`erase_person` / `erase_records`, with the
//!   reason) is written before the keys go; the store writes the tombstone
//!   (who, why, when, which key ids) in the transaction that deletes them.
//! - Invariant: after an erasure the caller reloads every in-memory picture
//!   ([`crate::SharedEngine::reload`]); a server notices an erasure made by
//!   another process at its next write or tick.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sightline_store::{ErasureRow, ErasureTarget, NewErasure, Store, StoreError};

use crate::audit::{AuditActor, record};
use crate::picture::LinkedRecords;

/// The audit action of a person's erasure.
pub const ERASE_PERSON_ACTION: &str = "erase_person";
/// The audit action of a records' erasure.
pub const ERASE_RECORDS_ACTION: &str = "erase_records";
/// Reason bounds, in characters.
pub const ERASURE_REASON_CHARS_MIN: usize = 20;
pub const ERASURE_REASON_CHARS_MAX: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(
        "the reason must be a sentence of {ERASURE_REASON_CHARS_MIN} to {ERASURE_REASON_CHARS_MAX} characters, without control characters"
    )]
    Reason,
    #[error("no person with this id in the log")]
    UnknownPerson,
    #[error("no record {0} in the log")]
    UnknownRecord(String),
    #[error("a legal hold is in force on person {0}: nothing was erased")]
    OnHold(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine could not be read or reloaded (the erasure may be done:
    /// the next write reloads it).
    #[error("the linked picture could not be read or reloaded: {0}")]
    Engine(String),
}

/// The reason, trimmed, if it is a sentence.
pub fn check_reason(reason: &str) -> Result<String, ErasureError> {
    let reason = reason.trim();
    let n_chars = reason.chars().count();
    if !(ERASURE_REASON_CHARS_MIN..=ERASURE_REASON_CHARS_MAX).contains(&n_chars)
        || reason.chars().any(char::is_control)
    {
        return Err(ErasureError::Reason);
    }
    Ok(reason.to_owned())
}

/// Every person id `linked` gives the persons of the newest version of each
/// record in `records`.
fn persons_named(
    linked: &LinkedRecords,
    records: &BTreeSet<(String, String)>,
) -> Result<BTreeSet<String>, ErasureError> {
    let mut persons = BTreeSet::new();
    for (agency, record_id) in records {
        let Some(record_idx) = linked.latest_idx(agency, record_id) else {
            continue;
        };
        for person_idx in 0..linked.n_persons(record_idx) {
            let person_id = linked.person_id(record_idx, person_idx);
            if !person_id.is_empty() {
                persons.insert(person_id.to_owned());
            }
        }
    }
    Ok(persons)
}

fn refuse_if_held(store: &dyn Store, persons: &BTreeSet<String>) -> Result<(), ErasureError> {
    for person_id in persons {
        if crate::controls::is_on_hold(store, person_id)? {
            return Err(ErasureError::OnHold(person_id.clone()));
        }
    }
    Ok(())
}

/// Erases whole records (every stored version, every key): retention's
/// erasure. `records` are `(agency, record_id)`; one the log does not hold is
/// [`ErasureError::UnknownRecord`] and nothing is erased. Refused when a
/// person any of them names is on legal hold. Audited (`erase_records`,
/// resource `records:N`, basis the reason) before the keys go.
pub fn erase_records(
    store: &dyn Store,
    linked: &LinkedRecords,
    records: &[(String, String)],
    reason: &str,
    actor: &AuditActor,
    now: DateTime<Utc>,
) -> Result<ErasureRow, ErasureError> {
    let reason = check_reason(reason)?;
    let records: BTreeSet<(String, String)> = records.iter().cloned().collect();
    for (agency, record_id) in &records {
        if store.record_versions(agency, record_id)?.is_empty() {
            return Err(ErasureError::UnknownRecord(format!("{agency}/{record_id}")));
        }
    }
    refuse_if_held(store, &persons_named(linked, &records)?)?;
    let target = match records.iter().next() {
        Some((agency, record_id)) if records.len() == 1 => format!("{agency}/{record_id}"),
        _ => format!("{} records", records.len()),
    };
    record(
        store,
        actor,
        ERASE_RECORDS_ACTION,
        &format!("records:{target}"),
        &format!("{ERASE_RECORDS_ACTION}: {reason}"),
        "ok",
        now,
    )?;
    Ok(store.erase(&NewErasure {
        at_us: crate::to_micros(now),
        actor: actor.username.clone(),
        scope: "record".to_owned(),
        target,
        reason,
        targets: records
            .into_iter()
            .map(|(agency, record_id)| ErasureTarget {
                agency,
                record_id,
                refs: None,
            })
            .collect(),
    })?)
}

/// Erases one person's mentions in every record (every version) linkage
/// gives them: their names, dates of birth, addresses, NHS numbers and other
/// identifiers. The rest of each record (its narrative, findings) stays.
/// Refused when the person, or anyone else those records name, is on legal
/// hold. Audited (`erase_person`, resource `person:ID`) before the keys go.
pub fn erase_person(
    store: &dyn Store,
    linked: &LinkedRecords,
    person_id: &str,
    reason: &str,
    actor: &AuditActor,
    now: DateTime<Utc>,
) -> Result<ErasureRow, ErasureError> {
    let reason = check_reason(reason)?;
    let mut refs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for mention_idx in crate::persons::person_records(linked, person_id) {
        let Some(mention) = linked.mentions.get(mention_idx as usize).copied() else {
            continue;
        };
        let Some(loaded) = linked.records.get(mention.record_idx) else {
            continue;
        };
        refs.entry(crate::picture::record_key(&loaded.record))
            .or_default()
            .insert(linked.person_of(mention).person_ref.clone());
    }
    if refs.is_empty() {
        return Err(ErasureError::UnknownPerson);
    }
    let records: BTreeSet<(String, String)> = refs.keys().cloned().collect();
    let mut persons = persons_named(linked, &records)?;
    persons.insert(person_id.to_owned());
    refuse_if_held(store, &persons)?;
    record(
        store,
        actor,
        ERASE_PERSON_ACTION,
        &format!("person:{person_id}"),
        &format!("{ERASE_PERSON_ACTION}: {reason}"),
        "ok",
        now,
    )?;
    Ok(store.erase(&NewErasure {
        at_us: crate::to_micros(now),
        actor: actor.username.clone(),
        scope: "person".to_owned(),
        target: person_id.to_owned(),
        reason,
        targets: refs
            .into_iter()
            .map(|((agency, record_id), refs)| ErasureTarget {
                agency,
                record_id,
                refs: Some(refs.into_iter().collect()),
            })
            .collect(),
    })?)
}

/// How an erased mention is shown: "erased on 7 December 2026 (reason)".
pub fn erased_note(erasure: &ErasureRow) -> String {
    format!(
        "erased on {} ({})",
        sightline_core::dates::date_of(crate::from_micros(erasure.at_us)),
        erasure.reason
    )
}

/// The erasure id an erased person's `source_person_id` names, if it is one.
pub fn erasure_of_source_id(source_person_id: &str) -> Option<i64> {
    source_person_id
        .strip_prefix(sightline_store::ERASED_PERSON_PREFIX)
        .and_then(|id| id.parse().ok())
}

/// [`erase_records`] from inside a server: over the engine's linked picture,
/// then the engine is reloaded at once, so no page, search or cache holds
/// what was erased. For the retention approval workflow.
pub fn erase_records_in(
    engine: &crate::SharedEngine,
    store: &dyn Store,
    records: &[(String, String)],
    reason: &str,
    actor: &AuditActor,
    now: DateTime<Utc>,
) -> Result<ErasureRow, ErasureError> {
    erase_then_reload(engine, store, now, |linked| {
        erase_records(store, linked, records, reason, actor, now)
    })
}

/// [`erase_person`] from inside a server (as [`erase_records_in`]).
pub fn erase_person_in(
    engine: &crate::SharedEngine,
    store: &dyn Store,
    person_id: &str,
    reason: &str,
    actor: &AuditActor,
    now: DateTime<Utc>,
) -> Result<ErasureRow, ErasureError> {
    erase_then_reload(engine, store, now, |linked| {
        erase_person(store, linked, person_id, reason, actor, now)
    })
}

/// Runs `erase` over the engine's linked picture, then reloads the engine at
/// once, so no page, search or cache holds what was erased.
fn erase_then_reload(
    engine: &crate::SharedEngine,
    store: &dyn Store,
    now: DateTime<Utc>,
    erase: impl FnOnce(&LinkedRecords) -> Result<ErasureRow, ErasureError>,
) -> Result<ErasureRow, ErasureError> {
    let erased = engine
        .with_linked(|linked, _| erase(linked))
        .map_err(|error| ErasureError::Engine(error.to_string()))??;
    engine
        .reload(store, now)
        .map_err(|error| ErasureError::Engine(error.to_string()))?;
    Ok(erased)
}
