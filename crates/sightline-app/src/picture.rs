//! The multi-agency picture, computed from the log: the current version of every
//! record, the persons they mention (linkage), and each child's picture with the
//! rules evaluated over it.
//!
//! Invariant: the picture is a function of the log (and the seed and `as_of`):
//! computing it twice gives the same persons and the same alerts.
//!
//! Invariant: "what did we know at T": with `as_of`, only records the agencies had
//! recorded by T count (`recorded_at <= T`), and rules run with `now = T`.

use crate::bodies::Records;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::SeedableRng;
use sightline_core::interchange::parse_stored;
use sightline_core::{FindingCode, Kind, PartialDate, Record, RelationshipType, Role, Sex};
use sightline_linkage::memory::reserve_gently;
use sightline_linkage::{
    Kin, LinkScope, LinkageIndex, MentionContext, MentionInput, Model, Settings, UkPersonMention,
    Verdict,
};
use sightline_rules::{
    Child, ChildPicture, Event, EventFinding, EventPerson, EvidenceRef, Firing, Pack, Subject,
};
use sightline_store::{RecordFilter, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The seed of linkage training, fixed so the picture is reproducible.
pub const LINKAGE_SEED: u64 = 20_070_801;

/// Age under which a person counts as a child.
const CHILD_AGE_YEARS: i32 = 18;

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the rule pack has {0} error(s)")]
    RulePack(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("linkage failed: {0}")]
    Linkage(#[from] sightline_linkage::LinkageError),
    #[error("{0} record body(ies) could not be read from the log")]
    BodiesUnreadable(u64),
    #[error("a record body could not be read from the log: {0}")]
    BodyUnreadable(String),
    #[error(
        "stored record {agency}/{record_id} v{version} no longer parses; the log may be corrupt"
    )]
    Corrupt {
        agency: String,
        record_id: String,
        version: i64,
    },
}

/// A current record version from the log.
#[derive(Debug, Clone)]
pub struct LoadedRecord {
    pub seq: i64,
    pub record: Record,
    pub received_at: DateTime<Utc>,
}

/// The current version of every record (the highest version received), in log
/// order of those versions. With `as_of`, only what had been recorded by then.
pub fn load_current_records(
    store: &dyn Store,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<LoadedRecord>, PictureError> {
    Ok(load_current_records_after(store, as_of, None)?.records)
}

/// The current versions among the log rows after `after_seq`, and the highest
/// `seq` read.
pub struct LoadedLog {
    pub records: Vec<LoadedRecord>,
    /// The highest `seq` read (current or not); `None` when nothing was read.
    pub last_seq: Option<i64>,
}

/// [`load_current_records`] over the rows after `after_seq` only: the highest
/// version of each record among them, in log order of those versions.
pub fn load_current_records_after(
    store: &dyn Store,
    as_of: Option<DateTime<Utc>>,
    after_seq: Option<i64>,
) -> Result<LoadedLog, PictureError> {
    let mut current: HashMap<(String, String), LoadedRecord> = HashMap::new();
    let last_seq = read_log_after(store, as_of, after_seq, |loaded| {
        let key = record_key(&loaded.record);
        let newer = current
            .get(&key)
            .is_none_or(|known| known.record.source.version < loaded.record.source.version);
        if newer {
            current.insert(key, loaded);
        }
    })?;
    let mut records: Vec<LoadedRecord> = current.into_values().collect();
    records.sort_by_key(|loaded| loaded.seq);
    Ok(LoadedLog { records, last_seq })
}

/// Every version of every record that was the newest of its record when it
/// arrived, in log order (a version arriving after a newer one of the same
/// record is left out, as intake ignores it). Superseded versions stay: they are
/// history in the log and evidence of identity for the linkage, while the
/// picture reads only the newest ([`LinkedRecords::is_current`]). With `as_of`,
/// only what had been recorded by then.
pub fn load_versions(
    store: &dyn Store,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<LoadedRecord>, PictureError> {
    Ok(load_versions_after(store, as_of, None)?.records)
}

/// [`load_versions`] over the rows after `after_seq` only (versions are compared
/// among those rows; the caller drops those not newer than what it holds).
pub fn load_versions_after(
    store: &dyn Store,
    as_of: Option<DateTime<Utc>>,
    after_seq: Option<i64>,
) -> Result<LoadedLog, PictureError> {
    let mut records = Vec::new();
    let last_seq = read_log_after(store, as_of, after_seq, |loaded| records.push(loaded))?;
    records.sort_by_key(|loaded| loaded.seq);
    Ok(LoadedLog {
        records: newest_on_arrival(records),
        last_seq,
    })
}

/// Reads the log rows after `after_seq` in pages, in log order, and hands each
/// row recorded by `as_of` (all without it) to `take`, parsed. Returns the
/// highest `seq` read (recorded by `as_of` or not).
fn read_log_after(
    store: &dyn Store,
    as_of: Option<DateTime<Utc>>,
    after_seq: Option<i64>,
    mut take: impl FnMut(LoadedRecord),
) -> Result<Option<i64>, PictureError> {
    const PAGE: u32 = 10_000;
    let mut after_seq = after_seq;
    let mut last_seq = None;
    loop {
        let page = store.list_records(&RecordFilter {
            after_seq,
            limit: PAGE,
            ..RecordFilter::default()
        })?;
        for stored in &page {
            last_seq = last_seq.max(Some(stored.seq));
            let received_at = crate::from_micros(stored.received_at_us);
            if as_of.is_some_and(|as_of| crate::from_micros(stored.recorded_at_us) > as_of) {
                continue;
            }
            // An erased record (its key destroyed) has no body: it is not in
            // any picture.
            if stored.erased.is_some() {
                continue;
            }
            let record =
                parse_stored(&stored.body, received_at).map_err(|_| PictureError::Corrupt {
                    agency: stored.agency.clone(),
                    record_id: stored.record_id.clone(),
                    version: stored.version,
                })?;
            take(LoadedRecord {
                seq: stored.seq,
                record,
                received_at,
            });
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after_seq = Some(last.seq),
            _ => break,
        }
    }
    Ok(last_seq)
}

/// The records (in log order) that were the newest version of their record when
/// they arrived: what intake keeps.
pub fn newest_on_arrival(records: Vec<LoadedRecord>) -> Vec<LoadedRecord> {
    let mut held: HashMap<(String, String), i64> = HashMap::new();
    records
        .into_iter()
        .filter(|loaded| {
            let version = loaded.record.source.version;
            match held.entry(record_key(&loaded.record)) {
                std::collections::hash_map::Entry::Occupied(mut known) => {
                    let newer = *known.get() < version;
                    if newer {
                        known.insert(version);
                    }
                    newer
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(version);
                    true
                }
            }
        })
        .collect()
}

/// One person mention: which record, which of its persons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MentionRef {
    pub record_idx: usize,
    pub person_idx: usize,
}

/// Records linked into persons.
///
/// `records` holds every version linked, in log order: a record's newest version
/// and the versions it superseded. The linkage index holds the mentions of every
/// version (an old version stays evidence of identity); the persons, their facts
/// and the pictures read only current versions ([`LinkedRecords::is_current`]).
pub struct LinkedRecords {
    /// Every version linked, its body held or read from the log on demand
    /// ([`crate::bodies`]).
    pub records: Records,
    /// Every mention, in linkage order (mention `i` is the index's record `i`).
    pub mentions: Vec<MentionRef>,
    /// The stable person id of each mention (parallel to `mentions`).
    pub person_of_mention: Vec<String>,
    pub index: LinkageIndex,
    /// Whether each record is the newest version of its record (parallel to `records`).
    current: Vec<bool>,
    /// The newest version of each `(agency, record_id)`.
    latest: LatestVersions,
    /// The index (into `mentions`) of each record's first mention: a record's
    /// mentions are consecutive, in its persons' order, so the person id of
    /// `persons[person_idx]` of record `r` is that of mention
    /// `mention_start[r] + person_idx` (no second copy of the ids per record).
    mention_start: Vec<usize>,
}

/// The newest version of each `(agency, record_id)` held: the index of its
/// record, found by a 64-bit hash of the pair with the held record's own ids
/// compared on every hit, so the ids are not copied per record. A pair whose
/// hash an earlier, different pair holds (never seen in practice, but
/// possible) goes in a side map keyed by the ids themselves, so lookups are
/// exact.
#[derive(Debug, Default)]
struct LatestVersions {
    by_hash: HashMap<u64, usize>,
    collided: HashMap<(String, String), usize>,
}

fn record_key_hash(agency: &str, record_id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: the same pair hashes the same in every process.
    let mut hasher = std::hash::DefaultHasher::new();
    agency.hash(&mut hasher);
    record_id.hash(&mut hasher);
    hasher.finish()
}

fn is_record(records: &Records, record_idx: usize, agency: &str, record_id: &str) -> bool {
    records.get(record_idx).is_some_and(|loaded| {
        loaded.record.source.agency.as_str() == agency
            && loaded.record.source.record_id.as_str() == record_id
    })
}

impl LatestVersions {
    /// The index in `records` of the newest version of `(agency, record_id)`.
    fn get(&self, records: &Records, agency: &str, record_id: &str) -> Option<usize> {
        let holder = *self.by_hash.get(&record_key_hash(agency, record_id))?;
        if is_record(records, holder, agency, record_id) {
            return Some(holder);
        }
        self.collided
            .get(&(agency.to_owned(), record_id.to_owned()))
            .copied()
    }

    /// Makes `record_idx` the newest version of `(agency, record_id)`; the
    /// record may not be in `records` yet (it is pushed next).
    fn insert(&mut self, records: &Records, agency: &str, record_id: &str, record_idx: usize) {
        use std::collections::hash_map::Entry;
        match self.by_hash.entry(record_key_hash(agency, record_id)) {
            Entry::Vacant(slot) => {
                slot.insert(record_idx);
            }
            Entry::Occupied(mut slot) => {
                if is_record(records, *slot.get(), agency, record_id) {
                    slot.insert(record_idx);
                } else {
                    self.collided
                        .insert((agency.to_owned(), record_id.to_owned()), record_idx);
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        use sightline_linkage::memory::hash_map_bytes;
        hash_map_bytes(&self.by_hash)
            + hash_map_bytes(&self.collided)
            + self
                .collided
                .keys()
                .map(|(agency, record_id)| agency.capacity() + record_id.capacity())
                .sum::<usize>()
    }
}

/// Gives back the spare capacity of a record's buffers (lists grown while
/// parsing hold up to twice what they need), since the engine keeps every
/// record it links for its life.
pub(crate) fn shrink_record(record: &mut Record) {
    record.persons.shrink_to_fit();
    for person in &mut record.persons {
        person.aliases.shrink_to_fit();
        if let Some(address) = &mut person.address {
            address.lines.shrink_to_fit();
        }
    }
    record.findings.shrink_to_fit();
    for finding in &mut record.findings {
        finding.subjects.shrink_to_fit();
        finding.attributes.0.shrink_to_fit();
    }
    record.relationships.shrink_to_fit();
    record.outcome.0.shrink_to_fit();
}

/// What [`LinkedRecords::add_records`] changed.
#[derive(Debug, Default)]
pub struct LinkDelta {
    /// The indexes (into `records`) of the records added.
    pub added_records: std::ops::Range<usize>,
    /// Earlier mentions whose person changed (clusters merged or split by the new
    /// mentions): the mention index and the person id it had before.
    pub moved: Vec<(usize, String)>,
    /// The records (indexes into `records`) that a version added superseded.
    pub superseded: Vec<usize>,
}

impl LinkedRecords {
    /// The person id of `persons[person_idx]` of record `record_idx`.
    pub fn person_id(&self, record_idx: usize, person_idx: usize) -> &str {
        if person_idx >= self.n_persons(record_idx) {
            return "";
        }
        self.mention_start
            .get(record_idx)
            .and_then(|start| self.person_of_mention.get(start + person_idx))
            .map_or("", String::as_str)
    }

    /// How many persons record `record_idx` names (its mentions), without
    /// reading its body.
    pub fn n_persons(&self, record_idx: usize) -> usize {
        let Some(start) = self.mention_start.get(record_idx) else {
            return 0;
        };
        let end = self
            .mention_start
            .get(record_idx + 1)
            .copied()
            .unwrap_or(self.mentions.len());
        end.saturating_sub(*start)
    }

    /// Persons with their current mentions, ordered by id.
    pub fn persons(&self) -> BTreeMap<&str, Vec<MentionRef>> {
        let mut persons: BTreeMap<&str, Vec<MentionRef>> = BTreeMap::new();
        for (mention, person_id) in self.mentions.iter().zip(&self.person_of_mention) {
            if !self.is_current(mention.record_idx) {
                continue;
            }
            persons
                .entry(person_id.as_str())
                .or_default()
                .push(*mention);
        }
        persons
    }

    /// The person of a mention as its record names them. A record whose body
    /// could not be read names nobody: then the placeholder's person (see
    /// [`crate::bodies`]; the operation fails when it ends).
    pub fn person_of(&self, mention: MentionRef) -> &sightline_core::Person {
        match self.records[mention.record_idx]
            .record
            .persons
            .get(mention.person_idx)
        {
            Some(person) => person,
            None => nobody(),
        }
    }

    /// Adds records (later in the log than every record held) one mention at a
    /// time with the frozen model ([`LinkageIndex::add`]), then gives the mentions
    /// the index reports moved their new person id. A version not newer than the
    /// one held is left out; a newer one supersedes it (the old version's mentions
    /// stay in the index, its record stops being current). The result is the one
    /// [`link_records`] gives over all the versions with the same model (the
    /// linkage index links in order either way). Cost: the records added and the
    /// mentions moved, not the records held. On an error the value is left
    /// half-updated: drop it and link again.
    pub fn add_records(&mut self, records: Vec<LoadedRecord>) -> Result<LinkDelta, PictureError> {
        self.add_records_deciding(records, |_| Vec::new())
    }

    /// [`LinkedRecords::add_records`], applying after each record the standing
    /// decisions `naming` gives for each of its mentions' keys (those whose two
    /// mentions are both linked by then; the others wait for theirs).
    pub fn add_records_deciding(
        &mut self,
        records: Vec<LoadedRecord>,
        naming: impl Fn(&str) -> Vec<(String, String, Verdict)>,
    ) -> Result<LinkDelta, PictureError> {
        let first_record = self.records.len();
        let n_old_mentions = self.mentions.len();
        let mut superseded = Vec::new();
        // The batch's bodies stay until it is committed.
        self.records.pin_new();
        for mut loaded in records {
            shrink_record(&mut loaded.record);
            let held = self.latest.get(
                &self.records,
                loaded.record.source.agency.as_str(),
                loaded.record.source.record_id.as_str(),
            );
            if held
                .and_then(|record_idx| self.records.get(record_idx))
                .is_some_and(|known| known.record.source.version >= loaded.record.source.version)
            {
                continue;
            }
            let record_idx = self.records.len();
            if let Some(old) = held {
                if let Some(flag) = self.current.get_mut(old) {
                    *flag = false;
                }
                superseded.push(old);
            }
            // The engine keeps these lists for its life: grown by an eighth,
            // not doubled.
            let n_persons = loaded.record.persons.len();
            reserve_gently(&mut self.mention_start, 1);
            reserve_gently(&mut self.current, 1);
            reserve_gently(&mut self.mentions, n_persons);
            reserve_gently(&mut self.person_of_mention, n_persons);
            self.mention_start.push(self.mentions.len());
            let mut inputs: Vec<MentionInput> = Vec::with_capacity(loaded.record.persons.len());
            for person_idx in 0..loaded.record.persons.len() {
                let index = &self.index;
                let input = mention_input_keyed(&loaded.record, record_idx, person_idx, |key| {
                    index.record_of(key).is_some() || inputs.iter().any(|input| input.key == key)
                });
                inputs.push(input);
                self.mentions.push(MentionRef {
                    record_idx,
                    person_idx,
                });
                self.person_of_mention.push(String::new());
            }
            // The record's persons are linked together, so the people named
            // beside each count as relational evidence.
            self.index.add_group(&inputs)?;
            for record in self.mention_start.last().copied().unwrap_or(0)..self.mentions.len() {
                let key = self.index.key_of(record as u32).to_owned();
                for (left, right, verdict) in naming(&key) {
                    if self.index.record_of(&left).is_some()
                        && self.index.record_of(&right).is_some()
                    {
                        self.index.decide(&left, &right, verdict)?;
                    }
                }
            }
            self.latest.insert(
                &self.records,
                loaded.record.source.agency.as_str(),
                loaded.record.source.record_id.as_str(),
                record_idx,
            );
            self.current.push(true);
            self.records.push(loaded);
        }
        let mut moved = Vec::new();
        for record in self.index.take_moved() {
            let mention_idx = record as usize;
            if mention_idx >= self.mentions.len() {
                continue;
            }
            // A cluster's label is its smallest mention: the earliest, whose key
            // gives the person id (as in the batch linkage).
            let person_id = person_id_for(self.index.key_of(self.index.person(record)));
            if let Some(slot) = self.person_of_mention.get_mut(mention_idx) {
                let before = std::mem::replace(slot, person_id);
                if mention_idx < n_old_mentions && before != *slot {
                    moved.push((mention_idx, before));
                }
            }
        }
        Ok(LinkDelta {
            added_records: first_record..self.records.len(),
            moved,
            superseded,
        })
    }

    /// Estimated memory by part ([`crate::memory`]): the records held (their
    /// parsed bodies), the mentions and person ids, and the linkage index.
    pub fn memory_report(&self, report: &mut crate::memory::MemoryReport) {
        use sightline_linkage::memory::vec_bytes;
        let mut bodies = crate::memory::RecordBytes::default();
        let mut n_bodies = 0;
        for loaded in self.records.held_bodies() {
            n_bodies += 1;
            let bytes = crate::memory::record_bytes(&loaded.record);
            bodies.persons += bytes.persons;
            bodies.coded += bytes.coded;
            bodies.narrative += bytes.narrative;
            bodies.source += bytes.source;
        }
        let n_records = self.records.len();
        let n_mentions = self.mentions.len();
        report.push("records/seq of each", self.records.slot_bytes(), n_records);
        report.push(
            "records/bodies held: struct",
            n_bodies * std::mem::size_of::<LoadedRecord>(),
            n_bodies,
        );
        report.push("records/bodies held: persons", bodies.persons, n_bodies);
        report.push(
            "records/bodies held: findings, outcome, relationships",
            bodies.coded,
            n_bodies,
        );
        report.push("records/bodies held: narrative", bodies.narrative, n_bodies);
        report.push("records/bodies held: source ids", bodies.source, n_bodies);
        report.push(
            "records/newest version by key",
            self.latest.memory_bytes() + vec_bytes(&self.current) + vec_bytes(&self.mention_start),
            n_records,
        );
        report.push("mentions/refs", vec_bytes(&self.mentions), n_mentions);
        report.push(
            "mentions/person id of each mention",
            vec_bytes(&self.person_of_mention)
                + self
                    .person_of_mention
                    .iter()
                    .map(String::capacity)
                    .sum::<usize>(),
            n_mentions,
        );
        report.extend(self.index.memory_parts("linkage index"));
    }

    /// Whether record `record_idx` is the newest version of its record.
    pub fn is_current(&self, record_idx: usize) -> bool {
        self.current.get(record_idx).copied().unwrap_or(false)
    }

    /// The index (into `records`) of the newest version held of
    /// `(agency, record_id)`.
    pub fn latest_idx(&self, agency: &str, record_id: &str) -> Option<usize> {
        self.latest.get(&self.records, agency, record_id)
    }

    /// The newest version held of `(agency, record_id)`.
    pub fn latest(&self, agency: &str, record_id: &str) -> Option<&LoadedRecord> {
        self.latest
            .get(&self.records, agency, record_id)
            .and_then(|record_idx| self.records.get(record_idx))
    }

    /// The current records (the newest version of each), in log order.
    pub fn current_records(&self) -> impl Iterator<Item = &LoadedRecord> {
        self.current
            .iter()
            .enumerate()
            .filter(|(_, current)| **current)
            .filter_map(|(record_idx, _)| self.records.get(record_idx))
    }

    /// The linkage index's record of a mention.
    pub fn index_record(&self, mention: MentionRef) -> Option<u32> {
        let start = self.mention_start.get(mention.record_idx)?;
        u32::try_from(start + mention.person_idx).ok()
    }

    /// The mentions of records `records` (a range of record indexes).
    pub fn mentions_of_records(&self, records: std::ops::Range<usize>) -> Vec<MentionRef> {
        let first = self
            .mentions
            .partition_point(|mention| mention.record_idx < records.start);
        let end = self
            .mentions
            .partition_point(|mention| mention.record_idx < records.end);
        self.mentions.get(first..end).unwrap_or_default().to_vec()
    }
}

/// The linkage input of `persons[person_idx]` of `record`, keyed
/// `agency/record_id/ref` unless a mention already linked (`taken`) has that key
/// (an earlier version of the record): then `…@v<version>`, primed until free.
/// Keys are given in log order, so linking in order gives the same keys
/// whether the records come one batch at a time or all at once.
fn mention_input_keyed(
    record: &Record,
    record_idx: usize,
    person_idx: usize,
    taken: impl Fn(&str) -> bool,
) -> MentionInput {
    let mut input = mention_input(record, person_idx)
        .with_context(mention_context(record, record_idx, person_idx));
    if taken(&input.key) {
        let mut key = format!("{}@v{}", input.key, record.source.version);
        while taken(&key) {
            key.push('\'');
        }
        input.key = key;
    }
    input
}

/// What `record` says around `persons[person_idx]`, for relational evidence:
/// the record is the group (keyed by its position `record_idx` among the
/// versions linked), the person may be evidence about the others unless a
/// professional named in passing, and its relationships to them.
fn mention_context(record: &Record, record_idx: usize, person_idx: usize) -> MentionContext {
    let beside = record
        .persons
        .get(person_idx)
        .is_some_and(|person| person.role != Role::Professional);
    let relations = record
        .relationships
        .iter()
        .filter(|relationship| relationship.from == person_idx && relationship.to != person_idx)
        .filter_map(|relationship| {
            let to = u16::try_from(relationship.to).ok()?;
            Some((to, kin_of(relationship.relationship_type)))
        })
        .collect();
    MentionContext {
        group: record_idx as u64,
        beside,
        relations,
    }
}

/// A relationship type as linkage tells people apart by it.
fn kin_of(relationship: RelationshipType) -> Kin {
    match relationship {
        RelationshipType::ParentOf | RelationshipType::StepParentOf => Kin::ParentOf,
        RelationshipType::GrandparentOf => Kin::GrandparentOf,
        RelationshipType::PartnerOf => Kin::PartnerOf,
        RelationshipType::SiblingOf => Kin::SiblingOf,
        RelationshipType::CarerOf => Kin::CarerOf,
        RelationshipType::LivesWith => Kin::LivesWith,
        RelationshipType::Visits | RelationshipType::RelativeOf | RelationshipType::Other => {
            Kin::Other
        }
    }
}

/// The `(agency, record_id)` of a record: what its versions share.
pub fn record_key(record: &Record) -> (String, String) {
    (
        record.source.agency.as_str().to_owned(),
        record.source.record_id.as_str().to_owned(),
    )
}

/// The linkage input of `persons[person_idx]` of `record`.
fn mention_input(record: &Record, person_idx: usize) -> MentionInput {
    let no_lines: &[String] = &[];
    let person = record.persons.get(person_idx);
    let nhs_number = person
        .and_then(|person| person.nhs_number.as_ref())
        .map(|number| number.digits());
    let dob = person
        .and_then(|person| person.dob.or(person.expected_dob))
        .map(|dob| dob.to_string());
    let address = person.and_then(|person| person.address.as_ref());
    UkPersonMention {
        agency: record.source.agency.as_str(),
        record_id: record.source.record_id.as_str(),
        person_ref: person.map_or("", |person| person.person_ref.as_str()),
        source_person_id: person.and_then(|person| person.source_person_id.as_deref()),
        nhs_number: nhs_number.as_deref(),
        given_names: person.and_then(|person| person.given_names.as_deref()),
        family_name: person.and_then(|person| person.family_name.as_deref()),
        dob: dob.as_deref(),
        sex: person.and_then(|person| person.sex.map(Sex::as_str)),
        address_lines: address.map_or(no_lines, |address| address.lines.as_slice()),
        postcode: address
            .and_then(|address| address.postcode.as_ref())
            .map(|postcode| postcode.as_str()),
    }
    .to_mention()
}

/// The mention key the linkage uses: `agency/record_id/ref`.
pub fn mention_key(record: &Record, person_idx: usize) -> String {
    let person_ref = record
        .persons
        .get(person_idx)
        .map_or("", |person| person.person_ref.as_str());
    format!(
        "{}/{}/{}",
        record.source.agency, record.source.record_id, person_ref
    )
}

/// Below this many mentions a log is too small to estimate its own model (EM
/// needs many candidate pairs); the shipped reference model is used instead.
pub const TRAINING_MENTIONS_MIN: usize = 20_000;

/// The UK persons model trained on a synthetic region (see the example
/// `train_reference_model`), used for logs too small to train on.
pub const REFERENCE_MODEL_TOML: &str = include_str!("../models/uk-persons-reference.toml");

/// Most automatic and identity links the engine keeps per mention, to
/// earlier mentions (the strongest; review links and people's decisions are
/// all kept): a child's mentions would otherwise keep a link for nearly every
/// pair of them, growing with the square of the child's records (14 a mention
/// at 17 records a child). Any pair's score is computed again when a page
/// asks ([`sightline_linkage::LinkageIndex::explain`]). docs/benchmarks.md,
/// "Engine memory", has what it saves and what it changes.
pub const LINKS_PER_MENTION_MAX: usize = 4;

/// The engine's linkage settings: the UK persons settings with at most
/// [`LINKS_PER_MENTION_MAX`] links kept per mention.
pub fn engine_linkage_settings() -> Result<Settings, PictureError> {
    let mut settings = Settings::uk_persons()?;
    settings.limits.links_per_mention_max = Some(LINKS_PER_MENTION_MAX);
    Ok(settings)
}

/// How the linkage model is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// Train on the log when it is large enough, else the reference model.
    Automatic,
    /// Always train on the log (with the fixed seed).
    Train,
}

/// Links every person mention of `records` into persons: with a model trained on
/// them (fixed seed) when there are at least [`TRAINING_MENTIONS_MIN`] mentions,
/// else with the reference model.
pub fn link_records(records: Vec<LoadedRecord>) -> Result<LinkedRecords, PictureError> {
    link_records_with(records, ModelChoice::Automatic, &[])
}

/// Links with a model trained on `records` whatever their number.
pub fn link_records_trained(records: Vec<LoadedRecord>) -> Result<LinkedRecords, PictureError> {
    link_records_with(records, ModelChoice::Train, &[])
}

/// Every person mention of `records` (versions in log order), in linkage
/// order, with its linkage input (keyed `agency/record_id/ref`, or
/// `…@v<version>` for a later version's mention of the same person).
pub fn mention_inputs(records: &[LoadedRecord]) -> (Vec<MentionRef>, Vec<MentionInput>) {
    let (mentions, keys) = mention_keys(records);
    let inputs = streamed_inputs(records, &mentions, keys).collect();
    (mentions, inputs)
}

/// Every person mention of `records` in linkage order, and its key as
/// [`mention_inputs`] gives it.
pub(crate) fn mention_keys(records: &[LoadedRecord]) -> (Vec<MentionRef>, Vec<String>) {
    let n_mentions = records
        .iter()
        .map(|loaded| loaded.record.persons.len())
        .sum();
    let mut mentions = Vec::with_capacity(n_mentions);
    let mut keys: Vec<String> = Vec::with_capacity(n_mentions);
    let mut taken: std::collections::HashSet<String> =
        std::collections::HashSet::with_capacity(n_mentions);
    for (record_idx, loaded) in records.iter().enumerate() {
        let record = &loaded.record;
        for person_idx in 0..record.persons.len() {
            let mut key = mention_key(record, person_idx);
            if taken.contains(&key) {
                key = format!("{key}@v{}", record.source.version);
                while taken.contains(&key) {
                    key.push('\'');
                }
            }
            taken.insert(key.clone());
            keys.push(key);
            mentions.push(MentionRef {
                record_idx,
                person_idx,
            });
        }
    }
    (mentions, keys)
}

/// The linkage inputs of `mentions` (with their `keys`), made one at a time
/// as the index reads them: a batch holds one chunk of inputs at a time
/// ([`LinkageIndex::prepare`]), never one per mention of the whole log (each
/// input owns a string per value, over a kilobyte a mention).
pub(crate) fn streamed_inputs<'a>(
    records: &'a [LoadedRecord],
    mentions: &'a [MentionRef],
    keys: Vec<String>,
) -> impl Iterator<Item = MentionInput> + 'a {
    mentions.iter().zip(keys).map(|(mention, key)| {
        let record = &records[mention.record_idx].record;
        let mut input = mention_input(record, mention.person_idx).with_context(mention_context(
            record,
            mention.record_idx,
            mention.person_idx,
        ));
        input.key = key;
        input
    })
}

/// The `decisions` whose two keys are among `keys`.
fn decisions_among(
    keys: &[String],
    decisions: &[(String, String, Verdict)],
) -> Vec<(String, String, Verdict)> {
    if decisions.is_empty() {
        return Vec::new();
    }
    let keys: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    decisions
        .iter()
        .filter(|(left, right, _)| keys.contains(left.as_str()) && keys.contains(right.as_str()))
        .cloned()
        .collect()
}

/// Links `records` as [`link_records`] does (or always training, with
/// [`ModelChoice::Train`]), applying people's match / non-match `decisions`
/// (by mention key; decisions naming a mention not in `records` are left out).
pub fn link_records_with(
    records: Vec<LoadedRecord>,
    choice: ModelChoice,
    decisions: &[(String, String, Verdict)],
) -> Result<LinkedRecords, PictureError> {
    let (mentions, keys) = mention_keys(&records);
    let decisions = decisions_among(&keys, decisions);
    let settings = engine_linkage_settings()?;
    let inputs = streamed_inputs(&records, &mentions, keys);
    let index = match choice {
        ModelChoice::Automatic if mentions.len() < TRAINING_MENTIONS_MIN => {
            let model = Model::from_toml(REFERENCE_MODEL_TOML, &settings)?;
            LinkageIndex::batch(settings, model, LinkScope::Dedupe, inputs, &decisions)?
        }
        ModelChoice::Automatic | ModelChoice::Train => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(LINKAGE_SEED);
            LinkageIndex::train_and_link(settings, LinkScope::Dedupe, inputs, &decisions, &mut rng)?
                .0
        }
    };
    Ok(LinkedRecords::new(records, mentions, index))
}

/// Links `records` as [`link_records_with`] does, with a given (frozen) model:
/// how the engine relinks without training again.
pub fn link_records_with_model(
    records: Vec<LoadedRecord>,
    model: Model,
    decisions: &[(String, String, Verdict)],
) -> Result<LinkedRecords, PictureError> {
    let (mentions, keys) = mention_keys(&records);
    let decisions = decisions_among(&keys, decisions);
    let settings = engine_linkage_settings()?;
    let inputs = streamed_inputs(&records, &mentions, keys);
    let index = LinkageIndex::batch(settings, model, LinkScope::Dedupe, inputs, &decisions)?;
    Ok(LinkedRecords::new(records, mentions, index))
}

impl LinkedRecords {
    /// Records, their mentions (in the index's record order) and the index that
    /// linked them.
    pub fn new(
        mut records: Vec<LoadedRecord>,
        mentions: Vec<MentionRef>,
        index: LinkageIndex,
    ) -> Self {
        for loaded in &mut records {
            shrink_record(&mut loaded.record);
        }
        let mut mention_start = Vec::with_capacity(records.len());
        let mut next = 0;
        for loaded in &records {
            mention_start.push(next);
            next += loaded.record.persons.len();
        }
        let records = Records::held(records);
        let mut mentions = mentions;
        mentions.shrink_to_fit();
        let mut latest = LatestVersions::default();
        let mut current = vec![true; records.len()];
        for (record_idx, loaded) in records.iter().enumerate() {
            let (agency, record_id) = (
                loaded.record.source.agency.as_str(),
                loaded.record.source.record_id.as_str(),
            );
            if let Some(old) = latest.get(&records, agency, record_id)
                && let Some(flag) = current.get_mut(old)
            {
                *flag = false;
            }
            latest.insert(&records, agency, record_id, record_idx);
        }
        let mut linked = LinkedRecords {
            records,
            mentions,
            person_of_mention: Vec::new(),
            index,
            current,
            latest,
            mention_start,
        };
        linked.relabel();
        linked
    }

    /// Recomputes every mention's person id from the index's clusters (after the
    /// index changed, e.g. by a decision).
    pub fn relabel(&mut self) {
        // A person's id comes from its earliest mention, so it does not depend on
        // the linkage's internal cluster numbering.
        self.index.take_moved();
        let clusters = self.index.persons();
        let mut first_mention_of_cluster: HashMap<u32, usize> = HashMap::new();
        for (mention_idx, cluster) in clusters.iter().enumerate() {
            first_mention_of_cluster
                .entry(*cluster)
                .or_insert(mention_idx);
        }
        self.person_of_mention = (0..self.mentions.len())
            .map(|mention_idx| {
                let cluster = clusters
                    .get(mention_idx)
                    .copied()
                    .unwrap_or(mention_idx as u32);
                let first = first_mention_of_cluster
                    .get(&cluster)
                    .copied()
                    .unwrap_or(mention_idx);
                person_id_for(self.index.key_of(first as u32))
            })
            .collect();
    }
}

/// A stable, opaque person id derived from a mention key (`agency/record_id/ref`
/// of the person's earliest mention).
pub fn person_id_for(mention_key: &str) -> String {
    let hash = blake3::hash(mention_key.as_bytes());
    format!("p-{}", &hash.to_hex()[..16])
}

/// The most common value, ties broken by the smallest.
fn most_common<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|(a_value, a_count), (b_value, b_count)| {
            a_count.cmp(b_count).then(b_value.cmp(a_value))
        })
        .map(|(value, _)| value)
}

/// What is known about one person across their mentions.
#[derive(Debug, Clone)]
pub struct PersonFacts {
    pub id: String,
    pub dob: Option<PartialDate>,
    pub sex: Option<Sex>,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub nhs_number: Option<String>,
    pub mentions: Vec<MentionRef>,
    pub is_child: bool,
}

/// Kinds whose subject is a child whatever their recorded date of birth says.
fn is_child_service_kind(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::HealthHealthVisitorContact
            | Kind::HealthBirth
            | Kind::EducationConcern
            | Kind::EducationAbsence
            | Kind::SocialCareReferral
            | Kind::SocialCareAssessment
            | Kind::SocialCareStrategyDiscussion
            | Kind::SocialCareSection47
            | Kind::SocialCareConference
            | Kind::SocialCarePlan
            | Kind::SocialCareVisit
            | Kind::SocialCarePlacement
            | Kind::HealthCpMedical
            | Kind::EducationExclusion
            | Kind::PoliceMissingPerson
            | Kind::SocialCareReturnInterview
    )
}

/// Facts of every person, by id.
pub fn person_facts(linked: &LinkedRecords) -> BTreeMap<String, PersonFacts> {
    linked
        .persons()
        .into_iter()
        .map(|(person_id, mentions)| (person_id.to_owned(), facts_of(linked, person_id, mentions)))
        .collect()
}

/// What the mentions of one person say about them, most common value first.
pub fn facts_of(
    linked: &LinkedRecords,
    person_id: &str,
    mut mentions: Vec<MentionRef>,
) -> PersonFacts {
    // Kept for the engine's life: no spare capacity.
    mentions.shrink_to_fit();
    let persons: Vec<&sightline_core::Person> = mentions
        .iter()
        .map(|mention| linked.person_of(*mention))
        .collect();
    let dob = most_common(
        persons
            .iter()
            .filter_map(|person| person.dob.or(person.expected_dob)),
    );
    let latest_event_year = mentions
        .iter()
        .map(|mention| {
            linked.records[mention.record_idx]
                .record
                .occurred_at
                .start()
                .year()
        })
        .max();
    let is_child = match (dob, latest_event_year) {
        (Some(dob), Some(year)) => year - dob.year() < CHILD_AGE_YEARS,
        _ => mentions.iter().any(|mention| {
            let record = &linked.records[mention.record_idx].record;
            is_child_service_kind(record.kind)
                && record
                    .persons
                    .get(mention.person_idx)
                    .is_some_and(|person| person.role == Role::Subject)
        }),
    };
    PersonFacts {
        id: person_id.to_owned(),
        dob,
        sex: most_common(persons.iter().filter_map(|person| person.sex)),
        given_names: most_common(
            persons
                .iter()
                .filter_map(|person| person.given_names.clone()),
        ),
        family_name: most_common(
            persons
                .iter()
                .filter_map(|person| person.family_name.clone()),
        ),
        nhs_number: most_common(
            persons
                .iter()
                .filter_map(|person| person.nhs_number.as_ref().map(|number| number.to_string())),
        ),
        mentions,
        is_child,
    }
}

fn occurred_date(record: &Record) -> (NaiveDate, bool) {
    match record.occurred_at.date() {
        Some(date) => (date, false),
        None => (record.occurred_at.start().date_naive(), true),
    }
}

/// The event a record is for the child `child_id` (who may or may not be in it).
/// `at_child_address` holds the persons of this record whom it places at the
/// child's address (see [`AddressIndex`]).
fn event_for(
    linked: &LinkedRecords,
    record_idx: usize,
    child_id: &str,
    at_child_address: &BTreeSet<usize>,
) -> Event {
    let record = &linked.records[record_idx].record;
    let subject_of = |person_idx: usize| {
        let person_id = linked.person_id(record_idx, person_idx);
        if person_id == child_id {
            Subject::Child
        } else {
            Subject::Person(person_id.to_owned())
        }
    };
    let (occurred, occurred_month_only) = occurred_date(record);
    let mut event = Event::new(
        EvidenceRef::new(
            record.source.agency.as_str(),
            record.source.record_id.as_str(),
            record.source.version,
        ),
        record.kind,
        occurred,
        record.recorded_at,
    );
    event.occurred_month_only = occurred_month_only;
    let child_idx = record
        .persons
        .iter()
        .enumerate()
        .find(|(person_idx, _)| linked.person_id(record_idx, *person_idx) == child_id)
        .map(|(person_idx, _)| person_idx);
    event.child_role = child_idx.map(|person_idx| record.persons[person_idx].role);
    event.findings = record
        .findings
        .iter()
        .map(|finding| EventFinding {
            code: finding.code,
            subjects: finding
                .subjects
                .iter()
                .map(|&person_idx| subject_of(person_idx))
                .collect(),
            attributes: finding.attributes.clone(),
        })
        .collect();
    event.outcome = record.outcome.clone();
    event.people = record
        .persons
        .iter()
        .enumerate()
        .filter(|(person_idx, _)| linked.person_id(record_idx, *person_idx) != child_id)
        .map(|(person_idx, person)| {
            let mut relationships: Vec<(sightline_core::RelationshipType, Subject)> = record
                .relationships
                .iter()
                .filter(|relationship| relationship.from == person_idx)
                .map(|relationship| (relationship.relationship_type, subject_of(relationship.to)))
                .collect();
            // An agency recording this adult's home as the child's address is
            // evidence that they live with the child, whatever else it says.
            let lives_with = (sightline_core::RelationshipType::LivesWith, Subject::Child);
            if at_child_address.contains(&person_idx) && !relationships.contains(&lives_with) {
                relationships.push(lives_with);
            }
            // Being brother or sister goes both ways: the child recorded as a
            // `sibling` in a record about this person, or `sibling_of` them,
            // makes them the child's sibling too.
            let sibling = (sightline_core::RelationshipType::SiblingOf, Subject::Child);
            let child_is_their_sibling = child_idx.is_some_and(|child_idx| {
                (event.child_role == Some(Role::Sibling) && person.role == Role::Subject)
                    || record.relationships.iter().any(|relationship| {
                        relationship.from == child_idx
                            && relationship.to == person_idx
                            && relationship.relationship_type
                                == sightline_core::RelationshipType::SiblingOf
                    })
            });
            if child_is_their_sibling && !relationships.contains(&sibling) {
                relationships.push(sibling);
            }
            EventPerson {
                person_id: linked.person_id(record_idx, person_idx).to_owned(),
                role: person.role,
                relationships,
            }
        })
        .collect();
    event
}

/// How far back a child's record at an address vouches for the child living
/// there when another agency records an adult at that address.
const SAME_ADDRESS_DAYS: i64 = 183;

/// A normalised address: every line and the postcode, lower case, letters and
/// digits only. `None` without a postcode or a line (too vague to say two
/// people share a home).
pub(crate) fn address_key(address: &sightline_core::Address) -> Option<String> {
    let postcode = address.postcode.as_ref()?;
    let mut key = String::new();
    for line in &address.lines {
        for word in line
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
        {
            key.push_str(&word.to_lowercase());
            key.push(' ');
        }
    }
    if key.is_empty() {
        return None;
    }
    key.push('|');
    key.extend(
        postcode
            .as_str()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .map(|c| c.to_ascii_uppercase()),
    );
    Some(key)
}

/// Where agencies recorded each person as living: address key -> the mentions
/// with that address. Built once over the log, read by every child's picture.
pub struct AddressIndex {
    by_address: HashMap<String, Vec<MentionRef>>,
}

impl AddressIndex {
    pub fn new(linked: &LinkedRecords) -> Self {
        let mut index = AddressIndex {
            by_address: HashMap::new(),
        };
        let current: Vec<MentionRef> = linked
            .mentions
            .iter()
            .filter(|mention| linked.is_current(mention.record_idx))
            .copied()
            .collect();
        index.add(linked, &current);
        index
    }

    /// Indexes more mentions (later than every mention indexed). Mentions of a
    /// version superseded later stay indexed and are skipped when read.
    /// Estimated bytes ([`crate::memory`]) and the number of addresses.
    pub fn memory_bytes(&self) -> (usize, usize) {
        use sightline_linkage::memory::{hash_map_bytes, vec_bytes};
        let bytes = hash_map_bytes(&self.by_address)
            + self
                .by_address
                .iter()
                .map(|(key, mentions)| key.capacity() + vec_bytes(mentions))
                .sum::<usize>();
        (bytes, self.by_address.len())
    }

    pub fn add(&mut self, linked: &LinkedRecords, mentions: &[MentionRef]) {
        for mention in mentions {
            let person = linked.person_of(*mention);
            if person.role == Role::Professional {
                continue;
            }
            if let Some(key) = person.address.as_ref().and_then(address_key) {
                self.by_address.entry(key).or_default().push(*mention);
            }
        }
    }

    /// The current mentions recorded at the same address as `mention` (itself
    /// included when current); none when it has no usable address.
    pub fn at_same_address<'a>(
        &'a self,
        linked: &'a LinkedRecords,
        mention: MentionRef,
    ) -> impl Iterator<Item = &'a MentionRef> + 'a {
        linked
            .person_of(mention)
            .address
            .as_ref()
            .and_then(address_key)
            .and_then(|key| self.by_address.get(&key))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|other| linked.is_current(other.record_idx))
    }

    /// Mentions of adults that a record places at the child's address: the
    /// child was recorded there within [`SAME_ADDRESS_DAYS`] before, in a record
    /// that had arrived by the time the adult's record did (so the link is as
    /// known in logical time).
    fn adults_at_child_address(
        &self,
        linked: &LinkedRecords,
        child: &PersonFacts,
        facts_by_id: &BTreeMap<String, PersonFacts>,
    ) -> Vec<MentionRef> {
        let mut child_sightings: HashMap<String, Vec<(NaiveDate, DateTime<Utc>)>> = HashMap::new();
        for mention in &child.mentions {
            let Some(key) = linked
                .person_of(*mention)
                .address
                .as_ref()
                .and_then(address_key)
            else {
                continue;
            };
            let record = &linked.records[mention.record_idx].record;
            child_sightings
                .entry(key)
                .or_default()
                .push((occurred_date(record).0, record.recorded_at));
        }
        let mut found = Vec::new();
        for (key, sightings) in &child_sightings {
            let Some(mentions) = self.by_address.get(key) else {
                continue;
            };
            for mention in mentions {
                if !linked.is_current(mention.record_idx) {
                    continue;
                }
                let person_id = linked.person_id(mention.record_idx, mention.person_idx);
                let is_adult = facts_by_id
                    .get(person_id)
                    .is_some_and(|person| !person.is_child);
                if person_id == child.id || !is_adult {
                    continue;
                }
                let record = &linked.records[mention.record_idx].record;
                let occurred = occurred_date(record).0;
                let vouched = sightings.iter().any(|(child_occurred, child_recorded)| {
                    *child_recorded <= record.recorded_at
                        && *child_occurred <= occurred
                        && (occurred - *child_occurred).num_days() <= SAME_ADDRESS_DAYS
                });
                if vouched {
                    found.push(*mention);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// The picture of one child: the records that mention the child, and the records
/// of the people who appear with the child.
pub fn child_picture(
    linked: &LinkedRecords,
    facts: &PersonFacts,
    facts_by_id: &BTreeMap<String, PersonFacts>,
) -> ChildPicture {
    child_picture_with(linked, facts, facts_by_id, &AddressIndex::new(linked))
}

/// Whether the record is about harm to the person it mentions here: they are
/// its subject and it is a child protection medical or holds an injury, an
/// allegation or a disclosure about them.
fn records_harm_to(linked: &LinkedRecords, mention: &MentionRef) -> bool {
    let record = &linked.records[mention.record_idx].record;
    let Some(person) = record.persons.get(mention.person_idx) else {
        return false;
    };
    if person.role != Role::Subject {
        return false;
    }
    record.kind == Kind::HealthCpMedical
        || record.findings.iter().any(|finding| {
            matches!(
                finding.code,
                FindingCode::Injury | FindingCode::Allegation | FindingCode::Disclosure
            ) && (finding.subjects.is_empty() || finding.subjects.contains(&mention.person_idx))
        })
}

/// [`child_picture`] with an address index built once for many children. Adults
/// recorded at the child's address (see [`AddressIndex`]) count as living with
/// the child, and their own records join the picture like those of any adult
/// who appears with the child.
pub fn child_picture_with(
    linked: &LinkedRecords,
    facts: &PersonFacts,
    facts_by_id: &BTreeMap<String, PersonFacts>,
    addresses: &AddressIndex,
) -> ChildPicture {
    let mut picture = ChildPicture::new(Child::new(facts.id.clone(), facts.dob));
    picture.child.sex = facts.sex;
    let child_records: BTreeSet<usize> = facts
        .mentions
        .iter()
        .map(|mention| mention.record_idx)
        .collect();
    let mut around: BTreeSet<&str> = BTreeSet::new();
    for &record_idx in &child_records {
        for person_idx in 0..linked.records[record_idx].record.persons.len() {
            let person_id = linked.person_id(record_idx, person_idx);
            if person_id != facts.id {
                around.insert(person_id);
            }
        }
    }
    let mut at_child_address: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for mention in addresses.adults_at_child_address(linked, facts, facts_by_id) {
        around.insert(linked.person_id(mention.record_idx, mention.person_idx));
        at_child_address
            .entry(mention.record_idx)
            .or_default()
            .insert(mention.person_idx);
    }
    let mut record_idxs = child_records.clone();
    for person_id in &around {
        if let Some(person) = facts_by_id.get(*person_id) {
            // Adults' own records (offences, releases, domestic incidents) matter;
            // other children's records are their own pictures, except the
            // records of harm to them (previous maltreatment in the family,
            // NICE CG89's risk factor): a sibling's unexplained fracture
            // concerns this child too.
            if !person.is_child {
                record_idxs.extend(person.mentions.iter().map(|mention| mention.record_idx));
            } else {
                record_idxs.extend(
                    person
                        .mentions
                        .iter()
                        .filter(|mention| records_harm_to(linked, mention))
                        .map(|mention| mention.record_idx),
                );
            }
        }
    }
    let mut events: Vec<Event> = record_idxs
        .into_iter()
        .map(|record_idx| {
            let at_address = at_child_address
                .get(&record_idx)
                .cloned()
                .unwrap_or_default();
            event_for(linked, record_idx, &facts.id, &at_address)
        })
        .collect();
    events.sort_by(|a, b| (a.recorded_at, &a.evidence).cmp(&(b.recorded_at, &b.evidence)));
    for event in events {
        // A picture over its limits keeps the events it has; the rest are not lost
        // from the log, only from this evaluation.
        if picture.add_event(event).is_err() {
            tracing::warn!(
                events_max = ChildPicture::EVENTS_MAX,
                "a child's picture reached its limit"
            );
            break;
        }
    }
    for person_id in &around {
        if let (Some(person), Ok(entry)) =
            (facts_by_id.get(*person_id), picture.person_entry(person_id))
        {
            entry.dob = person.dob;
        }
    }
    picture
}

/// Every alert the rule pack raises over the log's children, as of `now`.
pub fn evaluate_children(linked: &LinkedRecords, pack: &Pack, now: DateTime<Utc>) -> Vec<Firing> {
    let facts = person_facts(linked);
    let addresses = AddressIndex::new(linked);
    let mut firings = Vec::new();
    for child in facts.values().filter(|facts| facts.is_child) {
        let picture = child_picture_with(linked, child, &facts, &addresses);
        firings.extend(sightline_rules::evaluate(pack, &picture, now));
    }
    firings.sort_by(|a, b| {
        (a.raised_at, &a.child_id, &a.rule_id).cmp(&(b.raised_at, &b.child_id, &b.rule_id))
    });
    firings
}

/// An alert: one or more firings of a rule for a child (and person) whose
/// windows overlap. A rule firing again on an open alert adds its evidence.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Stable: from the rule, child, person and the first firing's time.
    pub id: String,
    pub rule_id: String,
    pub pack_name: String,
    pub pack_version: String,
    pub child_id: String,
    pub person_id: Option<String>,
    pub severity: sightline_rules::Severity,
    pub title: String,
    pub explanation: String,
    pub citation: String,
    pub route: sightline_rules::Route,
    pub evidence: Vec<EvidenceRef>,
    /// When the first firing became true (logical time).
    pub raised_at: DateTime<Utc>,
    /// When the latest firing added evidence.
    pub updated_at: DateTime<Utc>,
    last_key: sightline_rules::DedupKey,
}

/// Groups firings (in `raised_at` order) into alerts.
pub fn alerts_from_firings(firings: Vec<Firing>) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = Vec::new();
    // One rule on one child: firings about different people around the child
    // join the same alert (`DedupKey::matches`).
    let mut open: HashMap<(String, String), usize> = HashMap::new();
    for firing in firings {
        let key = firing.dedup_key();
        let group = (firing.rule_id.clone(), firing.child_id.clone());
        if let Some(&alert_idx) = open.get(&group)
            && let Some(alert) = alerts.get_mut(alert_idx)
            && alert.last_key.matches(&key)
        {
            for evidence in firing.evidence {
                if !alert.evidence.contains(&evidence) {
                    alert.evidence.push(evidence);
                }
            }
            alert.evidence.sort();
            alert.severity = alert.severity.max(firing.severity);
            alert.updated_at = alert.updated_at.max(firing.raised_at);
            alert.last_key = key;
            continue;
        }
        let id_source = format!(
            "{}|{}|{}|{}",
            firing.rule_id,
            firing.child_id,
            firing.person_id.as_deref().unwrap_or(""),
            firing.raised_at.timestamp_micros()
        );
        let id = format!("a-{}", &blake3::hash(id_source.as_bytes()).to_hex()[..16]);
        open.insert(group, alerts.len());
        alerts.push(Alert {
            id,
            rule_id: firing.rule_id,
            pack_name: firing.pack_name,
            pack_version: firing.pack_version,
            child_id: firing.child_id,
            person_id: firing.person_id,
            severity: firing.severity,
            title: firing.title,
            explanation: firing.explanation,
            citation: firing.citation,
            route: firing.route,
            evidence: firing.evidence,
            raised_at: firing.raised_at,
            updated_at: firing.raised_at,
            last_key: key,
        });
    }
    alerts
}

/// The person of a mention whose record could not be read ([`crate::bodies`]).
fn nobody() -> &'static sightline_core::Person {
    static NOBODY: std::sync::OnceLock<sightline_core::Person> = std::sync::OnceLock::new();
    NOBODY.get_or_init(|| sightline_core::Person {
        person_ref: String::new(),
        role: Role::Other,
        source_person_id: None,
        nhs_number: None,
        given_names: None,
        family_name: None,
        aliases: Vec::new(),
        dob: None,
        expected_dob: None,
        sex: None,
        address: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(lines: &[&str], postcode: Option<&str>) -> Option<String> {
        address_key(&sightline_core::Address {
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
            postcode: postcode.map(|text| sightline_core::Postcode::parse(text).expect("postcode")),
        })
    }

    #[test]
    fn address_keys_ignore_case_and_punctuation_but_not_the_flat() {
        let home = key(&["Flat 23", "66 Albion Avenue"], Some("LS13 2TF"));
        assert!(home.is_some());
        assert_eq!(
            home,
            key(&["flat 23,", "66  ALBION avenue"], Some("ls13 2tf"))
        );
        assert_ne!(
            home,
            key(&["Flat 24", "66 Albion Avenue"], Some("LS13 2TF"))
        );
        assert_ne!(
            home,
            key(&["Flat 23", "66 Albion Avenue"], Some("LS13 2TG"))
        );
        // Too vague to say two people share a home.
        assert_eq!(key(&["66 Albion Avenue"], None), None);
        assert_eq!(key(&[], Some("LS13 2TF")), None);
    }
}
