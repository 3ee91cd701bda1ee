//! Record bodies read from the log on demand, through a cache with a bound.
//!
//! [`Records`] holds, for every version the linkage has seen, its log `seq`
//! and a cell for its parsed body. Built over records already read
//! ([`Records::held`]) it keeps every body, as a one-off picture needs. Once
//! [`Records::read_from`] gives it the store, bodies become a cache: a body
//! not held is read from the log by its `seq` when it is first asked for
//! ([`Records::get`], or indexing), and [`Records::trim`] drops the bodies read
//! earliest until at most [`BodyCacheConfig::records_max`] are held. The
//! engine trims after each write and every [`TRIM_EVERY_CHILDREN`] children it
//! evaluates, so between two trims readers may hold more than the bound (a
//! page reads one child's records).
//!
//! Invariant: a body is dropped only when the log holds it committed: the
//! bodies of the batch being written are pinned ([`Records::push`] after
//! [`Records::pin_new`]) until [`Records::unpin_all`], which the engine calls at
//! the start of its next write (the batch committed, or the engine was marked
//! stale and is reloaded).
//!
//! Invariant: a body that cannot be read (the database is unreachable, or the
//! stored body no longer parses) is never silently left out: the read counts a
//! failure ([`Records::failures`]) and gives a placeholder record with no
//! persons, findings or outcome; the engine compares the count before and
//! after each operation (intake, tick, decision, every read through
//! [`crate::SharedEngine`]) and fails the operation when it grew, so nothing
//! computed over the placeholder is written or shown.

use crate::picture::LoadedRecord;
use chrono::{DateTime, Utc};
use sightline_core::interchange::parse_stored;
use sightline_core::{
    AgencyId, Attributes, Kind, OccurredAt, Record, RecordId, Source, ValueError,
};
use sightline_store::{RecordFilter, Store};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Record bodies the engine keeps in memory by default while serving
/// (`sightline serve --record-cache`): about 1 KB each parsed.
pub const RECORD_CACHE_DEFAULT: usize = 50_000;

/// The engine trims the cache after evaluating this many children.
pub const TRIM_EVERY_CHILDREN: usize = 64;

/// Where the engine reads record bodies from, and how many it keeps.
#[derive(Clone)]
pub struct BodyCacheConfig {
    pub store: Arc<dyn Store>,
    /// At most this many bodies held after each trim (those of the batch being
    /// written aside).
    pub records_max: usize,
}

impl std::fmt::Debug for BodyCacheConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BodyCacheConfig")
            .field("records_max", &self.records_max)
            .finish_non_exhaustive()
    }
}

struct Slot {
    seq: i64,
    received_at: DateTime<Utc>,
    body: OnceLock<Box<LoadedRecord>>,
}

struct Cache {
    config: BodyCacheConfig,
    /// The records whose body is held, in the order they were filled.
    filled: Mutex<VecDeque<u32>>,
    /// Records from this index on are pinned (the batch being written).
    pinned_from: usize,
    /// Returned for a body that could not be read.
    placeholder: Box<LoadedRecord>,
}

/// Every record version the engine has linked, with its body held or read on
/// demand (see the module documentation).
pub struct Records {
    slots: Vec<Slot>,
    cache: Option<Cache>,
    failures: AtomicU64,
}

impl Default for Records {
    fn default() -> Self {
        Records::held(Vec::new())
    }
}

impl Records {
    /// Records whose bodies are all held, for as long as the value lives.
    pub fn held(records: Vec<LoadedRecord>) -> Records {
        let mut slots = Vec::with_capacity(records.len());
        for loaded in records {
            slots.push(Slot {
                seq: loaded.seq,
                received_at: loaded.received_at,
                body: OnceLock::from(Box::new(loaded)),
            });
        }
        Records {
            slots,
            cache: None,
            failures: AtomicU64::new(0),
        }
    }

    /// From now on, bodies are a cache over `config.store` with its bound. The
    /// bodies held stay until [`Records::trim`]; with `committed` false they
    /// are pinned until [`Records::unpin_all`] (they belong to a batch not yet
    /// committed).
    pub fn read_from(
        &mut self,
        config: BodyCacheConfig,
        committed: bool,
    ) -> Result<(), ValueError> {
        let filled: VecDeque<u32> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.body.get().is_some())
            .filter_map(|(record_idx, _)| u32::try_from(record_idx).ok())
            .collect();
        self.cache = Some(Cache {
            config,
            filled: Mutex::new(filled),
            pinned_from: if committed { self.slots.len() } else { 0 },
            placeholder: Box::new(placeholder()?),
        });
        Ok(())
    }

    /// The cache's settings, when bodies are read on demand.
    pub fn cache_config(&self) -> Option<&BodyCacheConfig> {
        self.cache.as_ref().map(|cache| &cache.config)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The log `seq` of record `record_idx`.
    pub fn seq(&self, record_idx: usize) -> Option<i64> {
        self.slots.get(record_idx).map(|slot| slot.seq)
    }

    /// When record `record_idx` was received.
    pub fn received_at(&self, record_idx: usize) -> Option<DateTime<Utc>> {
        self.slots.get(record_idx).map(|slot| slot.received_at)
    }

    /// How many bodies are held now.
    pub fn bodies_held(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.body.get().is_some())
            .count()
    }

    /// How many body reads have failed since the value was made.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Record `record_idx`, read from the log when its body is not held
    /// (`None` only past the end). A body that cannot be read gives the
    /// placeholder and counts a failure.
    pub fn get(&self, record_idx: usize) -> Option<&LoadedRecord> {
        let slot = self.slots.get(record_idx)?;
        if let Some(body) = slot.body.get() {
            return Some(body);
        }
        let cache = self.cache.as_ref()?;
        match read_body(cache.config.store.as_ref(), slot.seq) {
            Ok(loaded) => {
                if slot.body.set(Box::new(loaded)).is_ok()
                    && let (Ok(mut filled), Ok(record_idx)) =
                        (cache.filled.lock(), u32::try_from(record_idx))
                {
                    filled.push_back(record_idx);
                }
                slot.body.get().map(|body| &**body)
            }
            Err(reason) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    record.seq = slot.seq,
                    reason,
                    "a record body could not be read from the log"
                );
                Some(&cache.placeholder)
            }
        }
    }

    /// The bodies held now, without reading any.
    pub fn held_bodies(&self) -> impl Iterator<Item = &LoadedRecord> + '_ {
        self.slots
            .iter()
            .filter_map(|slot| slot.body.get().map(|body| &**body))
    }

    /// Every record in order, bodies read as [`Records::get`] does.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedRecord> + '_ {
        (0..self.slots.len()).filter_map(|record_idx| self.get(record_idx))
    }

    /// Adds a record (its body held; pinned while the batch is written when
    /// bodies are a cache).
    pub fn push(&mut self, loaded: LoadedRecord) {
        sightline_linkage::memory::reserve_gently(&mut self.slots, 1);
        let record_idx = self.slots.len();
        self.slots.push(Slot {
            seq: loaded.seq,
            received_at: loaded.received_at,
            body: OnceLock::from(Box::new(loaded)),
        });
        if let Some(cache) = &mut self.cache
            && let (Ok(filled), Ok(record_idx)) =
                (cache.filled.get_mut(), u32::try_from(record_idx))
        {
            filled.push_back(record_idx);
        }
    }

    /// Pins the records added from now on (the batch being written).
    pub fn pin_new(&mut self) {
        if let Some(cache) = &mut self.cache {
            cache.pinned_from = cache.pinned_from.min(self.slots.len());
        }
    }

    /// Unpins every record: the batch they came in is committed.
    pub fn unpin_all(&mut self) {
        if let Some(cache) = &mut self.cache {
            cache.pinned_from = self.slots.len();
        }
    }

    /// Drops the bodies read earliest until at most the bound are held, or
    /// only pinned ones are left above it (they are never dropped). Returns
    /// how many were dropped. Without a cache, nothing.
    pub fn trim(&mut self) -> usize {
        let Some(cache) = &mut self.cache else {
            return 0;
        };
        let Ok(filled) = cache.filled.get_mut() else {
            return 0;
        };
        let mut dropped = 0;
        let mut kept_pinned = VecDeque::new();
        while filled.len() > cache.config.records_max {
            let Some(record_idx) = filled.pop_front() else {
                break;
            };
            let record_idx = record_idx as usize;
            if record_idx >= cache.pinned_from {
                kept_pinned.push_back(record_idx as u32);
                continue;
            }
            if let Some(slot) = self.slots.get_mut(record_idx)
                && slot.body.take().is_some()
            {
                dropped += 1;
            }
        }
        while let Some(record_idx) = kept_pinned.pop_back() {
            filled.push_front(record_idx);
        }
        if dropped > 0 {
            filled.shrink_to(filled.len() + filled.len() / 8);
        }
        dropped
    }

    /// Every record with its body, read from the log where not held (for a
    /// relink of the whole log).
    pub fn into_loaded(self) -> Result<Vec<LoadedRecord>, String> {
        let mut records = Vec::with_capacity(self.slots.len());
        let store = self.cache.as_ref().map(|cache| cache.config.store.clone());
        for slot in self.slots {
            match (slot.body.into_inner(), &store) {
                (Some(body), _) => records.push(*body),
                (None, Some(store)) => records.push(read_body(store.as_ref(), slot.seq)?),
                (None, None) => return Err("a record body is missing".to_owned()),
            }
        }
        Ok(records)
    }

    /// Estimated bytes of the slots (not the bodies) and of the fill queue.
    pub fn slot_bytes(&self) -> usize {
        use sightline_linkage::memory::vec_bytes;
        vec_bytes(&self.slots)
            + self.cache.as_ref().map_or(0, |cache| {
                cache
                    .filled
                    .lock()
                    .map_or(0, |filled| filled.capacity() * std::mem::size_of::<u32>())
            })
    }
}

impl std::ops::Index<usize> for Records {
    type Output = LoadedRecord;

    /// Record `record_idx` as [`Records::get`] gives it. Past the end it
    /// panics, as a slice does.
    fn index(&self, record_idx: usize) -> &LoadedRecord {
        match self.get(record_idx) {
            Some(loaded) => loaded,
            None => panic!(
                "record index {record_idx} out of range ({} records)",
                self.slots.len()
            ),
        }
    }
}

/// Reads and parses the body of the log row at `seq`.
fn read_body(store: &dyn Store, seq: i64) -> Result<LoadedRecord, String> {
    let rows = store
        .list_records(&RecordFilter {
            after_seq: Some(seq - 1),
            limit: 1,
            ..RecordFilter::default()
        })
        .map_err(|error| error.to_string())?;
    let Some(stored) = rows.into_iter().next().filter(|stored| stored.seq == seq) else {
        return Err("the row is not in the log".to_owned());
    };
    if stored.erased.is_some() {
        return Err("the record was erased".to_owned());
    }
    let received_at = crate::from_micros(stored.received_at_us);
    let mut record = parse_stored(&stored.body, received_at)
        .map_err(|_| "the stored body no longer parses".to_owned())?;
    crate::picture::shrink_record(&mut record);
    Ok(LoadedRecord {
        seq,
        record,
        received_at,
    })
}

/// What a read that failed gives: a record with nobody and nothing in it.
fn placeholder() -> Result<LoadedRecord, ValueError> {
    let epoch = DateTime::<Utc>::default();
    Ok(LoadedRecord {
        seq: 0,
        record: Record {
            source: Source {
                agency: AgencyId::parse("unreadable")?,
                system: None,
                record_id: RecordId::parse("unreadable")?,
                version: 1,
            },
            kind: Kind::PoliceDomesticIncident,
            occurred_at: OccurredAt::Day(epoch.date_naive()),
            recorded_at: epoch,
            persons: Vec::new(),
            findings: Vec::new(),
            relationships: Vec::new(),
            narrative: None,
            outcome: Attributes::default(),
        },
        received_at: epoch,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;
    use sightline_core::interchange::{Format, Limits, parse_batch};

    const SAMPLE: &str = include_str!("../../../examples/sample.jsonl");

    /// A throwaway store holding the sample, and its records as read back.
    fn sample_store() -> (Arc<dyn Store>, Vec<LoadedRecord>) {
        let store: Arc<dyn Store> = Arc::from(sightline_store::open("sqlite::memory:").unwrap());
        let received_at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2007, 6, 1, 12, 0, 0)
            .single()
            .unwrap();
        let parsed = parse_batch(
            SAMPLE.as_bytes(),
            Format::JsonLines,
            received_at,
            &Limits::default(),
        )
        .unwrap();
        let rows: Vec<_> = parsed
            .into_iter()
            .map(|parsed| crate::prepare(parsed, received_at).row)
            .collect();
        let mut tx = store.begin().unwrap();
        tx.append(&rows).unwrap();
        tx.commit().unwrap();
        let records = crate::picture::load_versions(store.as_ref(), None).unwrap();
        assert!(records.len() >= 4, "the sample holds records");
        (store, records)
    }

    fn ids(loaded: &LoadedRecord) -> (String, String, i64, usize) {
        (
            loaded.record.source.agency.as_str().to_owned(),
            loaded.record.source.record_id.as_str().to_owned(),
            loaded.record.source.version,
            loaded.record.persons.len(),
        )
    }

    #[test]
    fn the_cache_holds_at_most_its_bound_and_reads_the_rest_from_the_log() {
        let (store, originals) = sample_store();
        let mut records = Records::held(originals.clone());
        assert_eq!(records.bodies_held(), originals.len());
        records
            .read_from(
                BodyCacheConfig {
                    store,
                    records_max: 2,
                },
                true,
            )
            .unwrap();
        assert_eq!(records.trim(), originals.len() - 2);
        assert_eq!(records.bodies_held(), 2);
        // The two held are the last filled; the first is read from the log,
        // the same record as before.
        assert_eq!(ids(&records[0]), ids(&originals[0]));
        assert_eq!(records[0].record, originals[0].record);
        assert_eq!(records.bodies_held(), 3);
        for (record_idx, original) in originals.iter().enumerate() {
            assert_eq!(records[record_idx].record, original.record);
        }
        assert_eq!(records.bodies_held(), originals.len());
        records.trim();
        assert_eq!(records.bodies_held(), 2);
        assert_eq!(records.failures(), 0);
    }

    #[test]
    fn the_batch_being_written_is_never_dropped_until_unpinned() {
        let (store, originals) = sample_store();
        let (first, batch) = originals.split_at(2);
        let mut records = Records::held(first.to_vec());
        records
            .read_from(
                BodyCacheConfig {
                    store,
                    records_max: 1,
                },
                true,
            )
            .unwrap();
        records.pin_new();
        for loaded in batch {
            records.push(loaded.clone());
        }
        records.trim();
        // Only the committed records went: the batch is all held.
        assert_eq!(records.bodies_held(), batch.len());
        records.unpin_all();
        records.trim();
        assert_eq!(records.bodies_held(), 1);
    }

    #[test]
    fn a_body_the_log_does_not_hold_gives_the_placeholder_and_counts_a_failure() {
        let (store, originals) = sample_store();
        let mut missing = originals[0].clone();
        missing.seq = 1_000_000;
        let mut records = Records::held(vec![missing]);
        records
            .read_from(
                BodyCacheConfig {
                    store,
                    records_max: 0,
                },
                true,
            )
            .unwrap();
        records.trim();
        assert_eq!(records.bodies_held(), 0);
        assert_eq!(records.failures(), 0);
        let read = &records[0];
        assert!(read.record.persons.is_empty());
        assert_eq!(read.record.source.agency.as_str(), "unreadable");
        assert_eq!(records.failures(), 1);
        assert_eq!(records.bodies_held(), 0);
    }
}
