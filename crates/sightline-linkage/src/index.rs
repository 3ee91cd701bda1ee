//! The linkage index: blocking keys -> record ids, frozen model and TF cache,
//! scored links, human decisions and the persons (clusters) built from them.
//!
//! Batch and incremental runs share every step: a record's candidates are the
//! earlier records sharing an admitted block key, and persons are computed per
//! connected component of clustering edges by one deterministic function, so
//! adding records one at a time gives the same links and persons as a batch.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::LinkageError;
use crate::model::{
    CandidateLists, CandidateScores, Explanation, LinkScope, Model, TrainingReport,
    probability_from_weight, score_candidate_lists, train_with_scores, weight_from_probability,
};
use crate::relational::{Contexts, NotCounted, RelationalEvidence};
use crate::settings::{LevelSet, Settings};
use crate::store::{Mention, MentionInput, NONE, NULL_LEVEL, RecordStore};

/// Blocking keys -> records, per rule. Each key admits its first
/// `block_records_max` records; later ones are not blocked by that key.
#[derive(Debug, Clone, Default)]
pub struct BlockIndex {
    rules: Vec<RuleBlocks>,
    keys_buffer: Vec<u64>,
}

/// One rule's blocks. Most keys hold one record: the map stores that record
/// id itself; a key with more records stores `MULTI_BLOCK | index` into
/// `multi`. Rules are independent, so a batch fills them in parallel.
#[derive(Debug, Clone, Default)]
struct RuleBlocks {
    blocks: FxHashMap<u64, u32>,
    multi: Vec<Vec<u32>>,
    overflow: usize,
}

/// A record whose automatic link into one cluster is at most this much
/// (log2) stronger than its refused link into another is ambiguous.
const AMBIGUITY_MARGIN: f64 = 1.0;
/// Most re-runs of a component's union when ambiguous records are found.
const AMBIGUITY_ROUNDS_MAX: usize = 4;

/// Mentions prepared together by [`LinkageIndex::prepare`] (a stream is read
/// this many at a time).
const PREPARE_CHUNK: usize = 1 << 16;
/// Records per task when classifying scored candidates.
const CLASSIFY_SLICE: usize = 1 << 14;
/// Records per task when merging the rules' candidate lists.
const MERGE_SLICE: usize = 4096;

/// Tag bit of a block value that points into `multi`; record ids stay below it.
const MULTI_BLOCK: u32 = 1 << 31;
/// Most records an index holds (ids must stay below the tag bit).
pub(crate) const RECORDS_MAX: usize = (MULTI_BLOCK - 1) as usize;

/// Blocking statistics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockingStats {
    /// Per rule: (name, number of keys, records turned away from full blocks).
    pub rules: Vec<(String, usize, usize)>,
}

impl RuleBlocks {
    fn slice<'a>(&'a self, value: &'a u32) -> &'a [u32] {
        if value & MULTI_BLOCK == 0 {
            std::slice::from_ref(value)
        } else {
            self.multi
                .get((value & !MULTI_BLOCK) as usize)
                .map_or(&[][..], Vec::as_slice)
        }
    }

    /// Admit `record` under each of `keys` (records in increasing order),
    /// appending to `earlier` the records already admitted under them.
    fn insert(
        &mut self,
        keys: &[u64],
        record: u32,
        cap: usize,
        mut earlier: Option<&mut Vec<u32>>,
    ) {
        for key in keys {
            let admitted = match self.blocks.get_mut(key) {
                None => {
                    self.blocks.insert(*key, record);
                    true
                }
                Some(value) if *value & MULTI_BLOCK == 0 => {
                    if let Some(out) = earlier.as_deref_mut() {
                        out.push(*value);
                    }
                    let idx = u32::try_from(self.multi.len()).unwrap_or(u32::MAX) & !MULTI_BLOCK;
                    self.multi.push(vec![*value, record]);
                    *value = MULTI_BLOCK | idx;
                    true
                }
                Some(value) => match self.multi.get_mut((*value & !MULTI_BLOCK) as usize) {
                    Some(members) if members.len() < cap => {
                        if let Some(out) = earlier.as_deref_mut() {
                            out.extend_from_slice(members);
                        }
                        members.push(record);
                        true
                    }
                    _ => false,
                },
            };
            if !admitted {
                self.overflow += 1;
            }
        }
    }

    fn members(&self, key: u64) -> &[u32] {
        self.blocks
            .get(&key)
            .map_or(&[][..], |value| self.slice(value))
    }
}

impl BlockIndex {
    /// Estimated heap bytes ([`crate::memory`]).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map_bytes, nested_vec_bytes, vec_bytes};
        vec_bytes(&self.rules)
            + vec_bytes(&self.keys_buffer)
            + self
                .rules
                .iter()
                .map(|rule| hash_map_bytes(&rule.blocks) + nested_vec_bytes(&rule.multi))
                .sum::<usize>()
    }

    /// An empty index for the settings' rules.
    pub fn new(settings: &Settings) -> BlockIndex {
        BlockIndex {
            rules: vec![RuleBlocks::default(); settings.blocking_rules.len()],
            keys_buffer: Vec::new(),
        }
    }

    /// Add a record (records must be inserted in increasing index order).
    pub fn insert(&mut self, settings: &Settings, store: &RecordStore, record: u32) {
        self.insert_collecting(settings, store, record, None);
    }

    /// Add a record and, when `earlier` is given, collect the records already
    /// in the blocks it was admitted to: exactly its later
    /// [`BlockIndex::candidates`] before scope filtering, without a second lookup.
    pub(crate) fn insert_collecting(
        &mut self,
        settings: &Settings,
        store: &RecordStore,
        record: u32,
        mut earlier: Option<&mut Vec<u32>>,
    ) {
        let mut keys = std::mem::take(&mut self.keys_buffer);
        let cap = settings.limits.block_records_max as usize;
        for (rule_idx, (rule, blocks)) in settings
            .blocking_rules
            .iter()
            .zip(&mut self.rules)
            .enumerate()
        {
            store.blocking_keys(rule_idx, &rule.parts, record, &mut keys);
            blocks.insert(&keys, record, cap, earlier.as_deref_mut());
        }
        self.keys_buffer = keys;
    }

    /// Add the records `range` (the next ones, in order), each rule on its
    /// own thread, and return per rule and record the records already in
    /// the blocks it was admitted to: (offsets, one more than records; flat list).
    /// The same blocks and lists as inserting them one by one, whatever the
    /// number of threads.
    pub(crate) fn insert_range_collecting(
        &mut self,
        settings: &Settings,
        store: &RecordStore,
        range: std::ops::Range<u32>,
    ) -> Vec<(Vec<u32>, Vec<u32>)> {
        use rayon::prelude::*;
        let cap = settings.limits.block_records_max as usize;
        self.rules
            .par_iter_mut()
            .zip(settings.blocking_rules.par_iter())
            .enumerate()
            .map(|(rule_idx, (blocks, rule))| {
                let mut keys = Vec::with_capacity(16);
                let mut offsets = Vec::with_capacity(range.len() + 1);
                let mut others = Vec::with_capacity(range.len());
                offsets.push(0);
                for record in range.clone() {
                    store.blocking_keys(rule_idx, &rule.parts, record, &mut keys);
                    blocks.insert(&keys, record, cap, Some(&mut others));
                    offsets.push(u32::try_from(others.len()).unwrap_or(u32::MAX));
                }
                (offsets, others)
            })
            .collect()
    }

    /// Earlier records (index below `record`) sharing an admitted key with
    /// `record` under any rule, in scope, sorted and deduplicated.
    pub fn candidates(
        &self,
        settings: &Settings,
        store: &RecordStore,
        scope: LinkScope,
        record: u32,
        out: &mut Vec<u32>,
    ) {
        let mut keys = Vec::with_capacity(16);
        self.candidates_with(settings, store, scope, record, out, &mut keys);
    }

    /// [`BlockIndex::candidates`] with a caller's scratch buffer for keys.
    pub(crate) fn candidates_with(
        &self,
        settings: &Settings,
        store: &RecordStore,
        scope: LinkScope,
        record: u32,
        out: &mut Vec<u32>,
        keys: &mut Vec<u64>,
    ) {
        out.clear();
        for (rule_idx, (rule, blocks)) in
            settings.blocking_rules.iter().zip(&self.rules).enumerate()
        {
            store.blocking_keys(rule_idx, &rule.parts, record, keys);
            for key in keys.iter() {
                let members = blocks.members(*key);
                if let Ok(position) = members.binary_search(&record) {
                    out.extend_from_slice(members.get(..position).unwrap_or_default());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|other| scope.allows(store, *other, record));
    }

    /// True when blocking makes `left` and `right` candidates of each other
    /// (they share a key under some rule and both were admitted to its block),
    /// in scope: what blocking recall counts.
    pub fn blocked_together(
        &self,
        settings: &Settings,
        store: &RecordStore,
        scope: LinkScope,
        left: u32,
        right: u32,
    ) -> bool {
        if !scope.allows(store, left, right) {
            return false;
        }
        let mut keys = Vec::with_capacity(16);
        settings
            .blocking_rules
            .iter()
            .zip(&self.rules)
            .enumerate()
            .any(|(rule_idx, (rule, blocks))| {
                store.blocking_keys(rule_idx, &rule.parts, left, &mut keys);
                keys.iter().any(|key| {
                    let members = blocks.members(*key);
                    members.binary_search(&left).is_ok() && members.binary_search(&right).is_ok()
                })
            })
    }

    /// Records admitted under one rule's key.
    pub(crate) fn members(&self, rule_idx: usize, key: u64) -> &[u32] {
        self.rules
            .get(rule_idx)
            .map_or(&[][..], |blocks| blocks.members(key))
    }

    /// Pairs one rule generates (before scope filtering).
    pub(crate) fn rule_pair_count(&self, rule_idx: usize) -> usize {
        self.rules.get(rule_idx).map_or(0, |blocks| {
            blocks
                .multi
                .iter()
                .map(|members| {
                    let n = members.len();
                    n * n.saturating_sub(1) / 2
                })
                .sum()
        })
    }

    /// Visit every pair one rule generates, blocks in key order for determinism.
    pub(crate) fn for_each_rule_pair(&self, rule_idx: usize, mut visit: impl FnMut(u32, u32)) {
        let Some(blocks) = self.rules.get(rule_idx) else {
            return;
        };
        let mut multi_keys: Vec<(u64, u32)> = blocks
            .blocks
            .iter()
            .filter(|(_, value)| **value & MULTI_BLOCK != 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        multi_keys.sort_unstable();
        for (_, value) in &multi_keys {
            let members = blocks.slice(value);
            for (position, right) in members.iter().enumerate() {
                for left in members.get(..position).unwrap_or_default() {
                    visit(*left, *right);
                }
            }
        }
    }

    /// Per-rule key counts and overflow.
    pub fn stats(&self, settings: &Settings) -> BlockingStats {
        BlockingStats {
            rules: settings
                .blocking_rules
                .iter()
                .zip(&self.rules)
                .map(|(rule, blocks)| (rule.name.clone(), blocks.blocks.len(), blocks.overflow))
                .collect(),
        }
    }
}

/// A hard rule that decided a pair regardless of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HardRule {
    /// Both carry the same valid strong identifier (NHS number): linked.
    SameStrongIdentifier,
    /// Different valid strong identifiers: never linked.
    DifferentStrongIdentifiers,
    /// Same agency and same source person id: one person.
    SameSourceId,
    /// Same agency, different source person ids: two people unless a person decides otherwise.
    DifferentSourceIds,
    /// A person decided these are the same.
    HumanMatch,
    /// A person decided these are different.
    HumanNonMatch,
}

/// How a link was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkKind {
    /// Probability at or above the link threshold.
    Auto,
    /// Probability between the review and link thresholds: for a person to decide.
    Review,
    /// Linked by a hard rule or a human decision.
    Hard(HardRule),
}

/// A scored pair of records kept by the index (auto, review or hard).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Earlier record index.
    pub left: u32,
    /// Later record index.
    pub right: u32,
    /// Model match weight (log2 odds, prior included); infinite for hard links found without scoring.
    pub match_weight: f64,
    /// Why it is a link.
    pub kind: LinkKind,
}

impl Link {
    /// Match probability from the weight (computed, not kept: the index holds
    /// every link for its life, 24 bytes each instead of 32).
    pub fn match_probability(&self) -> f64 {
        probability_from_weight(self.match_weight)
    }
}

/// One answer of [`LinkageIndex::search`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchHit {
    /// The matching record.
    pub record: u32,
    /// Its person.
    pub person: u32,
    /// Match weight of query against record.
    pub match_weight: f64,
    /// Match probability.
    pub match_probability: f64,
}

/// A person's decision about a pair of mentions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Same person.
    Match,
    /// Different people.
    NonMatch,
}

/// A constraint that stopped a merge the evidence asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Conflict {
    /// Earlier record of the edge that was refused.
    pub left: u32,
    /// Later record.
    pub right: u32,
    /// The rule that refused it.
    pub rule: HardRule,
}

/// What adding one mention did.
#[derive(Clone, Debug, PartialEq)]
pub struct AddOutcome {
    /// Index given to the new record.
    pub record: u32,
    /// Links found for it (auto, review and hard).
    pub links: Vec<Link>,
    /// The person (cluster) it now belongs to: the smallest record index in it.
    pub person: u32,
}

/// The waterfall row of relational evidence.
pub const RELATIONAL_FIELD: &str = "people named beside";

/// A batch's links per record, held until every group is complete when
/// mentions brought contexts (else recorded as they are found).
struct RecordLinks {
    links: Option<Vec<Vec<Link>>>,
}

impl RecordLinks {
    fn new(hold: bool) -> RecordLinks {
        RecordLinks {
            links: hold.then(Vec::new),
        }
    }

    /// Hold the next record's links; false when not holding (record them now).
    fn hold(&mut self, links: &[Link]) -> bool {
        match &mut self.links {
            Some(held) => {
                held.push(links.to_vec());
                true
            }
            None => false,
        }
    }
}

/// A slice of classified records: per record its number of links and its
/// identity keys, and the links in record order.
type ClassifiedSlice = (Vec<(u32, IdentityKeys)>, Vec<Link>);

/// A component's persons (one per member, in member order) and its refused merges.
type ComponentPersons = (Vec<u32>, Vec<Conflict>);

#[derive(Debug, Clone, Default)]
struct ClusterInfo {
    members: Vec<u32>,
    strong_ids: Vec<u32>,
    source_ids: Vec<(u32, u32)>,
}

/// The linkage index: records, blocks, frozen model, links, decisions, persons.
#[derive(Debug, Clone)]
pub struct LinkageIndex {
    settings: Settings,
    model: Model,
    scope: LinkScope,
    store: RecordStore,
    blocks: BlockIndex,
    tf_cache: Vec<Vec<f64>>,
    first_by_identity: FxHashMap<(u8, u32, u32), u32>,
    links: Vec<Link>,
    cluster_edges: Vec<Vec<u32>>,
    decisions: FxHashMap<(u32, u32), Verdict>,
    non_match_partners: FxHashMap<u32, Vec<u32>>,
    person_of: Vec<u32>,
    /// Refused merges, by the earlier record of the refused edge.
    conflicts: FxHashMap<u32, Vec<Conflict>>,
    candidate_pairs: usize,
    /// Candidate lists gathered while preparing a batch, used once by its first link.
    prepared: Option<CandidateLists>,
    /// Weights of the link and review thresholds.
    class_weights: (f64, f64),
    /// Records whose person changed since [`LinkageIndex::take_moved`] was last
    /// called (added records included), unsorted, possibly repeated.
    moved: Vec<u32>,
    /// The groups (records) mentions came in, for relational evidence.
    contexts: Contexts,
    /// Review-band links by record (both ends), for a person's possible records.
    review_edges: FxHashMap<u32, Vec<u32>>,
    /// With links capped per mention: union-find parents of the records
    /// over the kept automatic and identity links ([`kept_links`]).
    link_forest: Vec<u32>,
}

impl LinkageIndex {
    /// Estimated memory by part ([`crate::memory`]), names under `prefix`:
    /// what the index holds per mention, to explain a process's resident
    /// memory.
    pub fn memory_parts(&self, prefix: &str) -> Vec<crate::memory::MemoryPart> {
        use crate::memory::{MemoryPart, hash_map_bytes, nested_vec_bytes, vec_bytes};
        let n_records = self.store.len();
        let mut parts = self
            .store
            .memory_parts(&format!("{prefix}/prepared mentions"));
        parts.push(MemoryPart::new(
            format!("{prefix}/blocks"),
            self.blocks.heap_bytes(),
            n_records,
        ));
        // Links by kind (the list's spare capacity counted with the automatic ones).
        let (mut n_review, mut n_hard) = (0usize, 0usize);
        for link in &self.links {
            match link.kind {
                LinkKind::Review => n_review += 1,
                LinkKind::Hard(_) => n_hard += 1,
                LinkKind::Auto => {}
            }
        }
        let link_bytes = std::mem::size_of::<Link>();
        let n_auto = self.links.len() - n_review - n_hard;
        parts.push(MemoryPart::new(
            format!("{prefix}/links/automatic"),
            vec_bytes(&self.links) - (n_review + n_hard) * link_bytes,
            n_auto,
        ));
        parts.push(MemoryPart::new(
            format!("{prefix}/links/identity rules and decisions"),
            n_hard * link_bytes,
            n_hard,
        ));
        parts.push(MemoryPart::new(
            format!("{prefix}/links/review band"),
            n_review * link_bytes,
            n_review,
        ));
        parts.push(MemoryPart::new(
            format!("{prefix}/persons and cluster edges"),
            vec_bytes(&self.person_of)
                + vec_bytes(&self.link_forest)
                + nested_vec_bytes(&self.cluster_edges)
                + hash_map_bytes(&self.first_by_identity)
                + vec_bytes(&self.moved),
            n_records,
        ));
        parts.push(MemoryPart::new(
            format!("{prefix}/groups and relations"),
            self.contexts.heap_bytes(),
            n_records,
        ));
        let review = hash_map_bytes(&self.review_edges)
            + self.review_edges.values().map(vec_bytes).sum::<usize>();
        let decisions = hash_map_bytes(&self.decisions)
            + hash_map_bytes(&self.non_match_partners)
            + self
                .non_match_partners
                .values()
                .map(vec_bytes)
                .sum::<usize>()
            + hash_map_bytes(&self.conflicts)
            + self.conflicts.values().map(vec_bytes).sum::<usize>();
        parts.push(MemoryPart::new(
            format!("{prefix}/review edges, decisions, conflicts"),
            review + decisions,
            self.review_edges.len() + self.decisions.len() + self.conflicts.len(),
        ));
        let prepared = self.prepared.as_ref().map_or(0, |lists| {
            vec_bytes(&lists.offsets) + vec_bytes(&lists.others)
        });
        parts.push(MemoryPart::new(
            format!("{prefix}/term frequencies, batch candidates"),
            nested_vec_bytes(&self.tf_cache) + prepared,
            self.tf_cache.iter().map(Vec::len).sum(),
        ));
        parts
    }

    /// An empty index with a frozen model.
    pub fn new(settings: Settings, model: Model, scope: LinkScope) -> LinkageIndex {
        let store = RecordStore::new(&settings);
        let blocks = BlockIndex::new(&settings);
        let class_weights = (
            weight_from_probability(settings.thresholds.link_probability),
            weight_from_probability(settings.thresholds.review_probability),
        );
        LinkageIndex {
            class_weights,
            settings,
            model,
            scope,
            store,
            blocks,
            tf_cache: Vec::new(),
            first_by_identity: FxHashMap::default(),
            links: Vec::new(),
            cluster_edges: Vec::new(),
            decisions: FxHashMap::default(),
            non_match_partners: FxHashMap::default(),
            person_of: Vec::new(),
            conflicts: FxHashMap::default(),
            candidate_pairs: 0,
            prepared: None,
            moved: Vec::new(),
            contexts: Contexts::default(),
            review_edges: FxHashMap::default(),
            link_forest: Vec::new(),
        }
    }

    /// Build an index over many mentions at once (same result as adding them
    /// in order). Mentions may be a slice or a stream: a stream is read a
    /// chunk at a time ([`LinkageIndex::prepare`]), so a caller that makes
    /// each mention as it is asked for never holds them all.
    pub fn batch<M: Mention + Sync>(
        settings: Settings,
        model: Model,
        scope: LinkScope,
        mentions: impl IntoIterator<Item = M>,
        decisions: &[(String, String, Verdict)],
    ) -> Result<LinkageIndex, LinkageError> {
        let mut index = LinkageIndex::prepare(settings, scope, mentions)?;
        index.model = model;
        index.link_all(decisions)?;
        Ok(index)
    }

    /// Prepare and block mentions without scoring them (no model yet): the
    /// first step of [`LinkageIndex::train_and_link`]. Mentions may be a
    /// slice or a stream (each is dropped once prepared).
    pub fn prepare<M: Mention + Sync>(
        settings: Settings,
        scope: LinkScope,
        mentions: impl IntoIterator<Item = M>,
    ) -> Result<LinkageIndex, LinkageError> {
        LinkageIndex::prepare_in_chunks(settings, scope, mentions, PREPARE_CHUNK)
    }

    /// [`LinkageIndex::prepare`], reading `chunk` mentions at a time.
    fn prepare_in_chunks<M: Mention + Sync>(
        settings: Settings,
        scope: LinkScope,
        mentions: impl IntoIterator<Item = M>,
        chunk: usize,
    ) -> Result<LinkageIndex, LinkageError> {
        let mut index = LinkageIndex::new(settings, Model::default(), scope);
        let mut lists = CandidateLists::default();
        let mut mentions = mentions.into_iter();
        loop {
            let chunk: Vec<M> = mentions.by_ref().take(chunk.max(1)).collect();
            if chunk.is_empty() {
                break;
            }
            index.push_chunk(&chunk, &mut lists)?;
        }
        lists.offsets.push(lists.others.len());
        index.prepared = Some(lists);
        Ok(index)
    }

    /// Append a chunk of mentions, in order, as [`LinkageIndex::prepare`]
    /// does one by one: values prepared per column and blocks filled per
    /// rule on all cores, then each record's earlier candidates (sorted,
    /// deduplicated, in scope) appended to `lists`.
    fn push_chunk<M: Mention + Sync>(
        &mut self,
        chunk: &[M],
        lists: &mut CandidateLists,
    ) -> Result<(), LinkageError> {
        use rayon::prelude::*;
        let first = self.store.len();
        if first + chunk.len() > RECORDS_MAX {
            return Err(LinkageError::TooManyRecords);
        }
        self.store.push_many(&self.settings, chunk)?;
        for (record, mention) in (first..).zip(chunk) {
            self.contexts
                .push(u32::try_from(record).unwrap_or(NONE), mention.context());
        }
        self.cluster_edges.resize_with(self.store.len(), Vec::new);
        let range = u32::try_from(first).unwrap_or(u32::MAX)
            ..u32::try_from(self.store.len()).unwrap_or(u32::MAX);
        let per_rule =
            self.blocks
                .insert_range_collecting(&self.settings, &self.store, range.clone());
        // Merge the rules' lists record by record, in parallel over slices of records.
        let (store, scope) = (&self.store, self.scope);
        let records: Vec<u32> = range.collect();
        let merged: Vec<(Vec<usize>, Vec<u32>)> = records
            .par_chunks(MERGE_SLICE)
            .map(|slice| {
                let mut lengths = Vec::with_capacity(slice.len());
                let mut others = Vec::new();
                let mut earlier = Vec::new();
                for record in slice {
                    earlier.clear();
                    let at = (*record as usize) - first;
                    for (offsets, list) in &per_rule {
                        let (Some(from), Some(to)) = (offsets.get(at), offsets.get(at + 1)) else {
                            continue;
                        };
                        earlier.extend_from_slice(
                            list.get(*from as usize..*to as usize).unwrap_or_default(),
                        );
                    }
                    earlier.sort_unstable();
                    earlier.dedup();
                    earlier.retain(|other| scope.allows(store, *other, *record));
                    lengths.push(earlier.len());
                    others.extend_from_slice(&earlier);
                }
                (lengths, others)
            })
            .collect();
        for (lengths, others) in merged {
            let mut at = lists.others.len();
            for length in lengths {
                lists.offsets.push(at);
                at += length;
            }
            lists.others.extend_from_slice(&others);
        }
        Ok(())
    }

    /// Train a model on these mentions (seeded `rng`), freeze it, and link
    /// them all: the batch run when no model exists yet. Mentions may be a
    /// slice or a stream.
    pub fn train_and_link<R: rand::Rng, M: Mention + Sync>(
        settings: Settings,
        scope: LinkScope,
        mentions: impl IntoIterator<Item = M>,
        decisions: &[(String, String, Verdict)],
        rng: &mut R,
    ) -> Result<(LinkageIndex, TrainingReport), LinkageError> {
        let mut index = LinkageIndex::prepare(settings, scope, mentions)?;
        let (model, report, scores) = train_with_scores(
            &index.settings,
            &index.store,
            &index.blocks,
            scope,
            index.prepared.take(),
            rng,
        );
        index.model = model;
        index.link_all_scored(decisions, Some(scores))?;
        Ok((index, report))
    }

    /// Score every prepared record against earlier ones, apply decisions and
    /// cluster. Scoring runs on two threads; the result does not depend on it.
    fn link_all(&mut self, decisions: &[(String, String, Verdict)]) -> Result<(), LinkageError> {
        self.model
            .extend_tf_cache(&self.settings, &self.store, &mut self.tf_cache);
        let scores = self.prepared.take().map(|lists| {
            score_candidate_lists(
                &self.model,
                &self.settings,
                &self.store,
                &self.tf_cache,
                lists,
            )
        });
        self.link_all_scored(decisions, scores)
    }

    /// [`LinkageIndex::link_all`], reusing candidate scores from training when given.
    fn link_all_scored(
        &mut self,
        decisions: &[(String, String, Verdict)],
        scores: Option<CandidateScores>,
    ) -> Result<(), LinkageError> {
        if !self.links.is_empty() {
            return Err(LinkageError::Settings(
                "link_all runs once, on a fresh index".into(),
            ));
        }
        self.model
            .extend_tf_cache(&self.settings, &self.store, &mut self.tf_cache);
        let n_records = self.store.len() as u32;
        if let Some(scores) = scores
            && scores.offsets.len() == n_records as usize + 1
        {
            // Classified on all cores, a slice of records per task; identity
            // links and clustering edges are then added record by record.
            use rayon::prelude::*;
            let this = &*self;
            let starts: Vec<u32> = (0..n_records).step_by(CLASSIFY_SLICE).collect();
            let classified: Vec<ClassifiedSlice> = starts
                .par_iter()
                .map(|start| {
                    let end = start.saturating_add(CLASSIFY_SLICE as u32).min(n_records);
                    let mut counts = Vec::with_capacity((end - start) as usize);
                    let mut links = Vec::new();
                    for record in *start..end {
                        let range = scores.offsets.get(record as usize).copied().unwrap_or(0)
                            ..scores
                                .offsets
                                .get(record as usize + 1)
                                .copied()
                                .unwrap_or(0);
                        let others = scores.others.get(range.clone()).unwrap_or_default();
                        let weights = scores.field_weights.get(range).unwrap_or_default();
                        let before = links.len();
                        let keys = this.identity_keys(record);
                        for (other, field_weight) in others.iter().zip(weights) {
                            let weight = field_weight + this.model.prior_log2_odds;
                            if let Some(link) = this.classify_keyed(*other, record, keys, weight) {
                                links.push(link);
                            }
                        }
                        counts.push((
                            u32::try_from(links.len() - before).unwrap_or(u32::MAX),
                            keys,
                        ));
                    }
                    (counts, links)
                })
                .collect();
            self.candidate_pairs += scores.others.len();
            let mut record = 0u32;
            let mut links = Vec::new();
            let mut held = RecordLinks::new(self.holds_groups());
            for (counts, found) in classified {
                let mut at = 0usize;
                for (count, keys) in counts {
                    links.clear();
                    links.extend_from_slice(found.get(at..at + count as usize).unwrap_or_default());
                    at += count as usize;
                    self.identity_links_keyed(record, keys, &mut links);
                    if !held.hold(&links) {
                        self.record_links(&links);
                    }
                    record += 1;
                }
            }
            self.record_held_links(held);
            return self.apply_decisions_and_cluster(decisions);
        }
        let split = n_records / 2;
        let this = &*self;
        let score_range = |range: std::ops::Range<u32>| {
            let mut candidates = Vec::new();
            let mut keys = Vec::with_capacity(16);
            let mut per_record = Vec::with_capacity(range.len());
            for record in range {
                let mut links = Vec::new();
                this.blocks.candidates_with(
                    &this.settings,
                    &this.store,
                    this.scope,
                    record,
                    &mut candidates,
                    &mut keys,
                );
                let n_candidates = candidates.len();
                this.score_candidates(record, &candidates, &mut links);
                per_record.push((n_candidates, links));
            }
            per_record
        };
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| score_range(split..n_records));
            let first = score_range(0..split);
            (
                first,
                second
                    .join()
                    .unwrap_or_else(|_| score_range(split..n_records)),
            )
        });
        let mut held = RecordLinks::new(self.holds_groups());
        for (record, (n_candidates, mut links)) in
            (0..n_records).zip(first.into_iter().chain(second))
        {
            self.candidate_pairs += n_candidates;
            self.identity_links(record, &mut links);
            if !held.hold(&links) {
                self.record_links(&links);
            }
        }
        self.record_held_links(held);
        self.apply_decisions_and_cluster(decisions)
    }

    fn apply_decisions_and_cluster(
        &mut self,
        decisions: &[(String, String, Verdict)],
    ) -> Result<(), LinkageError> {
        let n_records = self.store.len() as u32;
        for (left, right, verdict) in decisions {
            self.store_decision(left, right, *verdict)?;
        }
        self.person_of = (0..n_records).collect();
        // Components in order of their first record, clustered on all cores
        // and applied in that order (the same persons whatever the threads).
        let mut seen = vec![false; self.store.len()];
        let mut components = Vec::new();
        for record in 0..n_records {
            if seen.get(record as usize).copied().unwrap_or(true) {
                continue;
            }
            // A record with no clustering edge is a person on its own.
            if self
                .cluster_edges
                .get(record as usize)
                .is_none_or(Vec::is_empty)
            {
                continue;
            }
            components.push(self.gather_component(record, |other| {
                seen.get_mut(other as usize)
                    .is_some_and(|flag| !std::mem::replace(flag, true))
            }));
        }
        let clustered: Vec<ComponentPersons> = {
            use rayon::prelude::*;
            let this = &*self;
            components
                .par_iter()
                .map(|members| this.component_persons(members))
                .collect()
        };
        for (members, persons) in components.iter().zip(clustered) {
            self.apply_component(members, persons);
        }
        // A batch is a fresh start: every record is new to the caller.
        self.moved.clear();
        self.shrink_to_fit();
        Ok(())
    }

    /// Gives back the spare capacity of the lists a batch grew by doubling
    /// (links, clustering edges, prepared records): the index keeps them for
    /// its life, and later mentions grow them gently
    /// ([`crate::memory::reserve_gently`]).
    pub fn shrink_to_fit(&mut self) {
        self.links.shrink_to_fit();
        for edges in &mut self.cluster_edges {
            edges.shrink_to_fit();
        }
        self.cluster_edges.shrink_to_fit();
        for edges in self.review_edges.values_mut() {
            edges.shrink_to_fit();
        }
        self.person_of.shrink_to_fit();
        self.link_forest.shrink_to_fit();
        self.moved.shrink_to_fit();
        self.store.shrink_to_fit();
    }

    /// Add one mention: find candidates by index lookup, score them with the
    /// frozen model, apply hard rules and recluster its component. A mention
    /// with a context is a group of one ([`LinkageIndex::add_group`]).
    pub fn add(&mut self, mention: &MentionInput) -> Result<AddOutcome, LinkageError> {
        let mut outcomes = self.add_group(std::slice::from_ref(mention))?;
        outcomes.pop().ok_or(LinkageError::TooManyRecords)
    }

    /// Add the mentions of one record together (one group: the same
    /// [`crate::MentionContext::group`], new to the index, or no context):
    /// each is scored against earlier records as [`LinkageIndex::add`] does,
    /// then the people named beside each lead to more candidates and add
    /// their relational evidence, and the components they touch are
    /// reclustered. The same links and persons as a batch over the same
    /// mentions in the same order.
    pub fn add_group(
        &mut self,
        mentions: &[MentionInput],
    ) -> Result<Vec<AddOutcome>, LinkageError> {
        let groups: Vec<Option<u64>> = mentions
            .iter()
            .map(|mention| mention.context.as_ref().map(|context| context.group))
            .collect();
        if let Some(Some(group)) = groups.first() {
            let one_group = groups.iter().all(|g| *g == Some(*group));
            if !one_group || self.contexts.last_group() == Some(*group) {
                return Err(LinkageError::Settings(
                    "the mentions of a group are added together, and a group id differs from the previous record's".into(),
                ));
            }
        } else if groups.iter().any(Option::is_some) {
            return Err(LinkageError::Settings(
                "a group's mentions all have a context or none has".into(),
            ));
        }
        let start = u32::try_from(self.store.len()).map_err(|_| LinkageError::TooManyRecords)?;
        for mention in mentions {
            self.push_record(mention)?;
        }
        self.model
            .extend_tf_cache(&self.settings, &self.store, &mut self.tf_cache);
        let end = u32::try_from(self.store.len()).map_err(|_| LinkageError::TooManyRecords)?;
        let mut candidates = Vec::new();
        let mut base = Vec::with_capacity(mentions.len());
        for record in start..end {
            let mut links = Vec::new();
            self.score_record(record, &mut candidates, &mut links);
            base.push(links);
        }
        let found = if groups.first().is_some_and(Option::is_some) {
            self.group_links(start, &base)
        } else {
            base
        };
        for (record, links) in (start..end).zip(&found) {
            self.record_links(links);
            crate::memory::reserve_gently(&mut self.person_of, 1);
            self.person_of.push(record);
            self.moved.push(record);
        }
        let mut clustered: FxHashSet<u32> = FxHashSet::default();
        for record in start..end {
            let has_edges = self
                .cluster_edges
                .get(record as usize)
                .is_some_and(|edges| !edges.is_empty());
            if has_edges && !clustered.contains(&record) {
                let component = self.component_of(record);
                clustered.extend(component.iter().copied());
                self.cluster_component(&component);
            }
        }
        Ok((start..end)
            .zip(found)
            .map(|(record, links)| AddOutcome {
                record,
                links,
                person: self.person(record),
            })
            .collect())
    }

    /// Whether mentions brought contexts and relational evidence is configured:
    /// a batch then holds its links until every group is complete.
    fn holds_groups(&self) -> bool {
        !self.contexts.is_empty() && self.settings.relational.is_some()
    }

    /// Records the links a batch held (record by record, from record 0),
    /// relational evidence counted group by group on all cores.
    fn record_held_links(&mut self, held: RecordLinks) {
        let Some(per_record) = held.links else {
            return;
        };
        use rayon::prelude::*;
        let mut groups: Vec<(u32, usize)> = Vec::new();
        for record in 0..u32::try_from(per_record.len()).unwrap_or(NONE) {
            if self.contexts.group_start(record) == record {
                groups.push((record, 1));
            } else if let Some(last) = groups.last_mut() {
                last.1 += 1;
            }
        }
        let this = &*self;
        let found: Vec<Vec<Vec<Link>>> = groups
            .par_iter()
            .map(|(start, len)| {
                let at = *start as usize;
                this.group_links(*start, per_record.get(at..at + len).unwrap_or_default())
            })
            .collect();
        for links in found.iter().flatten() {
            self.record_links(links);
        }
    }

    /// The links of the records of one group (`start..start + base.len()`)
    /// with relational evidence counted: `base[i]` holds record `start + i`'s
    /// links found by blocking, the model and the identity rules (to earlier
    /// records, ordered by `left`). The people named beside each record lead
    /// to more candidates (the other mentions of the earlier groups its
    /// group-mates are linked into); those and its review-band pairs are
    /// scored with their relational evidence and classified. Reads the index
    /// only (a batch does its groups in parallel).
    fn group_links(&self, start: u32, base: &[Vec<Link>]) -> Vec<Vec<Link>> {
        let mut found = base.to_vec();
        let Some(relational) = self.settings.relational.as_ref() else {
            return found;
        };
        if self.contexts.is_empty() || base.len() < 2 || base.len() > relational.group_mentions_max
        {
            return found;
        }
        let (link_weight, review_weight) = self.class_weights;
        let mut candidates: Vec<u32> = Vec::new();
        for (record, links) in (start..).zip(found.iter_mut()) {
            candidates.clear();
            for (mate, mate_links) in (start..).zip(base) {
                if mate == record || !self.contexts.beside(mate) {
                    continue;
                }
                for link in mate_links {
                    let linked = matches!(
                        link.kind,
                        LinkKind::Auto
                            | LinkKind::Hard(
                                HardRule::SameStrongIdentifier | HardRule::SameSourceId
                            )
                    );
                    if !linked || link.left >= start {
                        continue;
                    }
                    let group = self
                        .contexts
                        .members(link.left, relational.group_mentions_max);
                    if group.len() <= relational.group_mentions_max {
                        candidates.extend(group.filter(|other| *other != link.left));
                    }
                }
            }
            candidates.extend(
                links
                    .iter()
                    .filter(|link| link.kind == LinkKind::Review)
                    .map(|link| link.left),
            );
            candidates.retain(|other| {
                *other < start
                    && self.scope.allows(&self.store, *other, record)
                    && !links
                        .iter()
                        .any(|link| link.left == *other && link.kind != LinkKind::Review)
            });
            // The most recent first, at most candidates_max.
            candidates.sort_unstable_by(|a, b| b.cmp(a));
            candidates.dedup();
            candidates.truncate(relational.candidates_max);
            if candidates.is_empty() {
                continue;
            }
            let keys = self.identity_keys(record);
            for other in &candidates {
                let existing = links.iter().position(|link| link.left == *other);
                let base_weight = existing.and_then(|at| links.get(at)).map_or_else(
                    || {
                        self.model.pair_weight(
                            &self.settings,
                            &self.store,
                            &self.tf_cache,
                            *other,
                            record,
                        )
                    },
                    |link| link.match_weight,
                );
                let weight_max = relational.weight_max(self.model.prior_log2_odds);
                if base_weight < link_weight && base_weight + weight_max < review_weight {
                    continue;
                }
                let weight = base_weight + self.relational_weight(*other, record, base_weight);
                let Some(link) = self.classify_keyed(*other, record, keys, weight) else {
                    continue;
                };
                match existing.and_then(|at| links.get_mut(at)) {
                    Some(slot) => *slot = link,
                    None => links.push(link),
                }
            }
            links.sort_by_key(|link| link.left);
        }
        found
    }

    /// What relational evidence adds to a pair whose model weight is `base`.
    fn relational_weight(&self, left: u32, right: u32, base: f64) -> f64 {
        self.relational(left, right, base, false)
            .map_or(0.0, |evidence| evidence.weight)
    }

    /// The score of a pair: its model weight and, where the model alone does
    /// not link it, its relational evidence.
    fn score(&self, left: u32, right: u32) -> f64 {
        let (l, r) = (left.min(right), left.max(right));
        let base = self
            .model
            .pair_weight(&self.settings, &self.store, &self.tf_cache, l, r);
        base + self.relational_weight(l, r, base)
    }

    /// The relational evidence of a pair whose model weight is `base`: the
    /// people named beside both whom the model finds to be one person, and an
    /// address shared through the people one of them lives with; `None` when
    /// neither record names anyone beside them (or relational evidence is not
    /// configured). With `detail` it is found in full even when it cannot
    /// count (for explanations); without, only as far as it counts.
    fn relational(
        &self,
        left: u32,
        right: u32,
        base: f64,
        detail: bool,
    ) -> Option<RelationalEvidence> {
        let settings = self.settings.relational.as_ref()?;
        if self.contexts.is_empty() {
            return None;
        }
        let (left, right) = (left.min(right), left.max(right));
        let max = settings.group_mentions_max;
        let (left_group, right_group) = (
            self.contexts.members(left, max),
            self.contexts.members(right, max),
        );
        let no_one_beside = left_group.len() < 2 && right_group.len() < 2;
        if left_group.start == right_group.start
            || no_one_beside
            || left_group.len() > max
            || right_group.len() > max
        {
            return None;
        }
        let level = |set: &LevelSet| {
            self.settings
                .comparisons
                .get(set.comparison)
                .map_or(NULL_LEVEL, |comparison| {
                    self.store.comparison_level(comparison, left, right)
                })
        };
        // Without a given name on both sides the names cannot agree: a
        // family name is shared by a household (an unborn child and its mother).
        let given = level(&settings.names);
        let names_agree = given != NULL_LEVEL && settings.names.holds(given);
        let date = level(&settings.dates);
        let not_counted = if base >= self.class_weights.0 {
            Some(NotCounted::LinkedWithout)
        } else if !names_agree {
            Some(NotCounted::NamesDisagree)
        } else if date != NULL_LEVEL && !settings.dates.holds(date) {
            Some(NotCounted::DatesConflict)
        } else {
            None
        };
        if not_counted.is_some() && !detail {
            return None;
        }
        let mut shared_people = Vec::new();
        let mut taken: u64 = 0;
        for beside_left in left_group.clone() {
            if beside_left == left || !self.contexts.beside(beside_left) {
                continue;
            }
            let kin = self.contexts.kin_to(beside_left, left);
            for (position, beside_right) in right_group.clone().enumerate() {
                let bit = 1u64 << (position % 64);
                if beside_right == right
                    || taken & bit != 0
                    || !self.contexts.beside(beside_right)
                    || !kin.compatible(self.contexts.kin_to(beside_right, right))
                {
                    continue;
                }
                if self.same_by_model(beside_left, beside_right) {
                    taken |= bit;
                    shared_people.push((beside_left, beside_right));
                    break;
                }
            }
        }
        let shared_address = self.shared_address(left, left_group, right, right_group);
        let weight_found = settings.weight(
            self.model.prior_log2_odds,
            shared_people.len(),
            shared_address.is_some(),
        );
        // A household's agreements (surname, address) and the people named
        // beside both say the same thing, that the two are of one family:
        // only the larger counts.
        let already_counted = match settings.overlaps {
            Some(group) if weight_found > 0.0 => self
                .model
                .group_agreement(
                    &self.settings,
                    &self.store,
                    &self.tf_cache,
                    (left, right),
                    group,
                )
                .clamp(0.0, weight_found),
            _ => 0.0,
        };
        let overlaps = settings
            .overlaps
            .and_then(|group| self.settings.evidence_groups.get(group))
            .map(|group| group.name.clone());
        Some(RelationalEvidence {
            shared_people,
            shared_address,
            weight: if not_counted.is_none() {
                weight_found - already_counted
            } else {
                0.0
            },
            weight_found,
            already_counted,
            overlaps,
            not_counted,
        })
    }

    /// Whether two people named beside two mentions are one person by the
    /// identity rules, else by the model alone (never by relational evidence
    /// or a person's decision, so the evidence is a function of the two groups).
    fn same_by_model(&self, a: u32, b: u32) -> bool {
        let (l, r) = (a.min(b), a.max(b));
        match hard_rule_between(self.identity_keys(l), self.identity_keys(r)) {
            Some(HardRule::SameStrongIdentifier | HardRule::SameSourceId) => true,
            Some(_) => false,
            None => {
                self.model
                    .pair_weight(&self.settings, &self.store, &self.tf_cache, l, r)
                    >= self.class_weights.0
            }
        }
    }

    /// An address two mentions share when at least one of them has it only
    /// through someone it lives with (its own address against the other's
    /// is the model's comparison): the records holding it on each side.
    fn shared_address(
        &self,
        left: u32,
        left_group: std::ops::Range<u32>,
        right: u32,
        right_group: std::ops::Range<u32>,
    ) -> Option<(u32, u32)> {
        let settings = self.settings.relational.as_ref()?;
        let address = self.settings.comparisons.get(settings.address.comparison)?;
        let postcode = self
            .settings
            .comparisons
            .get(settings.postcode.comparison)?;
        let has_address = |record: u32| self.store.normalised(address.column, record).is_some();
        let holder = |record: u32, group: std::ops::Range<u32>| -> Option<(u32, bool)> {
            if has_address(record) {
                return Some((record, false));
            }
            group
                .filter(|other| {
                    *other != record
                        && self.contexts.beside(*other)
                        && self.contexts.lives_with(*other, record)
                        && has_address(*other)
                })
                .map(|other| (other, true))
                .next()
        };
        let ((left_holder, left_borrowed), (right_holder, right_borrowed)) =
            (holder(left, left_group)?, holder(right, right_group)?);
        if !(left_borrowed || right_borrowed) {
            return None;
        }
        let (a, b) = (left_holder.min(right_holder), left_holder.max(right_holder));
        let address_level = self.store.comparison_level(address, a, b);
        let postcode_level = self.store.comparison_level(postcode, a, b);
        let same = address_level != NULL_LEVEL
            && settings.address.holds(address_level)
            && (postcode_level == NULL_LEVEL || settings.postcode.holds(postcode_level));
        same.then_some((left_holder, right_holder))
    }

    /// Record a person's decision about two mentions (by key) and recluster.
    pub fn decide(
        &mut self,
        left_key: &str,
        right_key: &str,
        verdict: Verdict,
    ) -> Result<(), LinkageError> {
        let (left, right) = self.store_decision(left_key, right_key, verdict)?;
        for record in [left, right] {
            let component = self.component_of(record);
            self.cluster_component(&component);
        }
        Ok(())
    }

    fn push_record(&mut self, mention: &MentionInput) -> Result<u32, LinkageError> {
        self.push_record_collecting(mention, None)
    }

    fn push_record_collecting(
        &mut self,
        mention: &MentionInput,
        earlier: Option<&mut Vec<u32>>,
    ) -> Result<u32, LinkageError> {
        if self.store.has_key(&mention.key) {
            return Err(LinkageError::DuplicateKey(mention.key.clone()));
        }
        if self.store.len() >= RECORDS_MAX {
            return Err(LinkageError::TooManyRecords);
        }
        let record = self.store.push(&self.settings, mention);
        self.contexts.push(record, mention.context());
        self.blocks
            .insert_collecting(&self.settings, &self.store, record, earlier);
        crate::memory::reserve_gently(&mut self.cluster_edges, 1);
        self.cluster_edges.push(Vec::new());
        Ok(record)
    }

    fn identity_keys(&self, record: u32) -> IdentityKeys {
        let identity = &self.settings.identity;
        let strong = identity.strong_identifier.and_then(|column| {
            let value = self.store.columns.get(column)?.value(record)?;
            value.strong_valid.then_some((0, value.norm, 0))
        });
        let source = match (identity.agency_column, identity.source_id_column) {
            (Some(agency), Some(source)) => {
                let agency = self
                    .store
                    .columns
                    .get(agency)
                    .map_or(NONE, |c| c.norm_id(record));
                let source = self
                    .store
                    .columns
                    .get(source)
                    .map_or(NONE, |c| c.norm_id(record));
                (agency != NONE && source != NONE).then_some((1, agency, source))
            }
            _ => None,
        };
        [strong, source]
    }

    /// The hard rule deciding a pair, if any.
    fn hard_rule(&self, left: u32, right: u32) -> Option<HardRule> {
        hard_rule_between(self.identity_keys(left), self.identity_keys(right))
    }

    fn score_record(&mut self, record: u32, candidates: &mut Vec<u32>, new_links: &mut Vec<Link>) {
        self.blocks
            .candidates(&self.settings, &self.store, self.scope, record, candidates);
        self.candidate_pairs += candidates.len();
        self.score_candidates(record, candidates, new_links);
        self.identity_links(record, new_links);
    }

    /// Score candidates with the frozen model and the pairwise hard rules.
    fn score_candidates(&self, record: u32, candidates: &[u32], new_links: &mut Vec<Link>) {
        new_links.clear();
        for other in candidates {
            let weight =
                self.model
                    .pair_weight(&self.settings, &self.store, &self.tf_cache, *other, record);
            if let Some(link) = self.classify(*other, record, weight) {
                new_links.push(link);
            }
        }
    }

    /// The link a scored candidate pair makes, if any, after the pairwise hard rules.
    fn classify(&self, left: u32, right: u32, weight: f64) -> Option<Link> {
        self.classify_keyed(left, right, self.identity_keys(right), weight)
    }

    /// [`LinkageIndex::classify`] with the later record's identity keys.
    fn classify_keyed(
        &self,
        left: u32,
        right: u32,
        right_keys: IdentityKeys,
        weight: f64,
    ) -> Option<Link> {
        let (link_weight, review_weight) = self.class_weights;
        let kind = match hard_rule_between(self.identity_keys(left), right_keys) {
            Some(rule @ (HardRule::SameStrongIdentifier | HardRule::SameSourceId)) => {
                LinkKind::Hard(rule)
            }
            Some(HardRule::DifferentStrongIdentifiers) => return None,
            // Two ids of one agency never link automatically, but a person may say otherwise.
            Some(HardRule::DifferentSourceIds) if weight >= review_weight => LinkKind::Review,
            Some(_) => return None,
            None if weight >= link_weight => LinkKind::Auto,
            None if weight >= review_weight => LinkKind::Review,
            None => return None,
        };
        Some(Link {
            left,
            right,
            match_weight: weight,
            kind,
        })
    }

    /// Hard identity links to the first record with the same identity, even
    /// when blocking did not make them candidates. Records must come in order.
    fn identity_links(&mut self, record: u32, new_links: &mut Vec<Link>) {
        self.identity_links_keyed(record, self.identity_keys(record), new_links);
    }

    /// [`LinkageIndex::identity_links`] with the record's identity keys.
    fn identity_links_keyed(&mut self, record: u32, keys: IdentityKeys, new_links: &mut Vec<Link>) {
        for key in keys.into_iter().flatten() {
            let first = match self.first_by_identity.entry(key) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(record);
                    continue;
                }
                std::collections::hash_map::Entry::Occupied(slot) => *slot.get(),
            };
            let already = new_links.iter().any(|l| l.left == first);
            let rule = if key.0 == 0 {
                HardRule::SameStrongIdentifier
            } else {
                HardRule::SameSourceId
            };
            // A same-source-id pair with different NHS numbers stays apart.
            if already
                || !self.scope.allows(&self.store, first, record)
                || hard_rule_between(self.identity_keys(first), keys) != Some(rule)
            {
                continue;
            }
            let weight =
                self.model
                    .pair_weight(&self.settings, &self.store, &self.tf_cache, first, record);
            new_links.push(Link {
                left: first,
                right: record,
                match_weight: weight,
                kind: LinkKind::Hard(rule),
            });
        }
        new_links.sort_by_key(|link| link.left);
    }

    /// Keeps a record's links: all of them, or with
    /// [`crate::settings::Limits::links_per_mention_max`] those
    /// [`kept_links`] chooses. The choice reads the record's own links and
    /// the links kept for earlier records only, so a batch and the same
    /// mentions added one by one keep the same links.
    fn record_links(&mut self, new_links: &[Link]) {
        match self.settings.limits.links_per_mention_max {
            Some(max) => {
                let kept = kept_links(new_links, max, &mut self.link_forest);
                self.push_links(&kept);
            }
            None => self.push_links(new_links),
        }
    }

    fn push_links(&mut self, new_links: &[Link]) {
        crate::memory::reserve_gently(&mut self.links, new_links.len());
        for link in new_links {
            let link_idx = u32::try_from(self.links.len()).unwrap_or(NONE);
            self.links.push(*link);
            if link.kind == LinkKind::Review {
                for end in [link.left, link.right] {
                    self.review_edges.entry(end).or_default().push(link_idx);
                }
            } else {
                for end in [link.left, link.right] {
                    if let Some(edges) = self.cluster_edges.get_mut(end as usize) {
                        edges.push(link_idx);
                    }
                }
            }
        }
    }

    fn store_decision(
        &mut self,
        left_key: &str,
        right_key: &str,
        verdict: Verdict,
    ) -> Result<(u32, u32), LinkageError> {
        let find = |key: &str| {
            self.store
                .record_of(key)
                .ok_or_else(|| LinkageError::UnknownKey(key.into()))
        };
        let (a, b) = (find(left_key)?, find(right_key)?);
        if a == b {
            return Err(LinkageError::Settings(
                "a decision needs two different mentions".into(),
            ));
        }
        let (left, right) = (a.min(b), a.max(b));
        self.decisions.insert((left, right), verdict);
        match verdict {
            Verdict::Match => {
                let weight = self.model.pair_weight(
                    &self.settings,
                    &self.store,
                    &self.tf_cache,
                    left,
                    right,
                );
                self.record_links(&[Link {
                    left,
                    right,
                    match_weight: weight,
                    kind: LinkKind::Hard(HardRule::HumanMatch),
                }]);
            }
            Verdict::NonMatch => {
                self.non_match_partners.entry(left).or_default().push(right);
                self.non_match_partners.entry(right).or_default().push(left);
            }
        }
        Ok((left, right))
    }

    /// Records connected to `record` by clustering edges, sorted.
    fn component_of(&self, record: u32) -> Vec<u32> {
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        self.gather_component(record, |other| seen.insert(other))
    }

    /// The records connected to `record` by clustering edges, sorted;
    /// `first_visit(other)` is true the first time `other` is reached.
    fn gather_component(&self, record: u32, mut first_visit: impl FnMut(u32) -> bool) -> Vec<u32> {
        let mut members = vec![record];
        first_visit(record);
        let mut next = 0;
        while let Some(current) = members.get(next).copied() {
            next += 1;
            for link_idx in self
                .cluster_edges
                .get(current as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                let Some(link) = self.links.get(*link_idx as usize) else {
                    continue;
                };
                let other = if link.left == current {
                    link.right
                } else {
                    link.left
                };
                if first_visit(other) {
                    members.push(other);
                }
            }
        }
        members.sort_unstable();
        members
    }

    /// Cluster one component under the constraints; deterministic in the
    /// component's records, links and decisions only.
    fn cluster_component(&mut self, members: &[u32]) {
        let clustered = self.component_persons(members);
        self.apply_component(members, clustered);
    }

    /// Set the persons of a component's members and its refused merges, as
    /// [`LinkageIndex::component_persons`] found them.
    fn apply_component(&mut self, members: &[u32], (persons, conflicts): ComponentPersons) {
        for member in members {
            self.conflicts.remove(member);
        }
        for conflict in conflicts {
            self.conflicts
                .entry(conflict.left)
                .or_default()
                .push(conflict);
        }
        for (member, person) in members.iter().zip(persons) {
            if let Some(slot) = self.person_of.get_mut(*member as usize)
                && *slot != person
            {
                *slot = person;
                self.moved.push(*member);
            }
        }
    }

    /// The person of each of a component's members (sorted) and the refused
    /// merges, under the constraints; reads the index only.
    fn component_persons(&self, members: &[u32]) -> ComponentPersons {
        let mut edge_ids: Vec<u32> = members
            .iter()
            .flat_map(|m| {
                self.cluster_edges
                    .get(*m as usize)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .copied()
            })
            .collect();
        edge_ids.sort_unstable();
        edge_ids.dedup();
        let mut edges: Vec<Link> = edge_ids
            .iter()
            .filter_map(|idx| self.links.get(*idx as usize).copied())
            .collect();
        edges.sort_by(|a, b| {
            clustering_rank(a.kind)
                .cmp(&clustering_rank(b.kind))
                .then(b.match_weight.total_cmp(&a.match_weight))
                .then((a.left, a.right).cmp(&(b.left, b.right)))
        });
        edges.dedup_by(|a, b| a.left == b.left && a.right == b.right);

        let local: FxHashMap<u32, usize> = members
            .iter()
            .enumerate()
            .map(|(idx, m)| (*m, idx))
            .collect();
        // A record whose automatic links lead, about equally strongly, to two
        // clusters that refuse to merge (a mention without a date of birth,
        // like both a parent and a child of one name) cannot say which
        // person it is: its automatic links are set aside and it stays on
        // its own. Repeated until no new such record appears.
        let mut ambiguous = vec![false; members.len()];
        let (mut parent, mut conflicts);
        let mut rounds = 0;
        loop {
            let (round_parent, round_conflicts, newly) =
                self.union_edges(members, &local, &edges, &ambiguous);
            parent = round_parent;
            conflicts = round_conflicts;
            rounds += 1;
            if newly.is_empty() || rounds > AMBIGUITY_ROUNDS_MAX {
                break;
            }
            for idx in newly {
                if let Some(flag) = ambiguous.get_mut(idx) {
                    *flag = true;
                }
            }
        }
        let mut infos_members: Vec<Vec<u32>> = vec![Vec::new(); members.len()];
        for (idx, member) in members.iter().enumerate() {
            let root = find_root(&mut parent, idx);
            if let Some(list) = infos_members.get_mut(root) {
                list.push(*member);
            }
        }
        let persons = members
            .iter()
            .enumerate()
            .map(|(idx, member)| {
                let root = find_root(&mut parent, idx);
                infos_members
                    .get(root)
                    .and_then(|m| m.iter().min().copied())
                    .unwrap_or(*member)
            })
            .collect();
        (persons, conflicts)
    }

    /// One pass of constrained union over a component's sorted edges,
    /// skipping the automatic edges of records marked `ambiguous`. Returns
    /// the union-find parents, the refused merges, and the records newly
    /// found ambiguous (local indices).
    fn union_edges(
        &self,
        members: &[u32],
        local: &FxHashMap<u32, usize>,
        edges: &[Link],
        ambiguous: &[bool],
    ) -> (Vec<usize>, Vec<Conflict>, Vec<usize>) {
        let mut parent: Vec<usize> = (0..members.len()).collect();
        let mut infos: Vec<ClusterInfo> = members
            .iter()
            .map(|member| {
                let [strong, source] = self.identity_keys(*member);
                ClusterInfo {
                    members: vec![*member],
                    strong_ids: strong.map(|k| k.1).into_iter().collect(),
                    source_ids: source.map(|k| (k.1, k.2)).into_iter().collect(),
                }
            })
            .collect();
        let mut conflicts = Vec::new();
        // Weight of the strongest automatic edge that joined each record.
        let mut joined_by: Vec<Option<f64>> = vec![None; members.len()];
        let mut newly = Vec::new();
        let merge_weight = weight_from_probability(self.settings.thresholds.merge_probability);
        for edge in edges {
            let (Some(a), Some(b)) = (local.get(&edge.left), local.get(&edge.right)) else {
                continue;
            };
            let auto = edge.kind == LinkKind::Auto;
            let is_ambiguous = |idx: &usize| ambiguous.get(*idx).copied().unwrap_or(false);
            if auto && (is_ambiguous(a) || is_ambiguous(b)) {
                continue;
            }
            let (root_a, root_b) = (find_root(&mut parent, *a), find_root(&mut parent, *b));
            if root_a == root_b {
                continue;
            }
            let (Some(info_a), Some(info_b)) = (infos.get(root_a), infos.get(root_b)) else {
                continue;
            };
            let human = edge.kind == LinkKind::Hard(HardRule::HumanMatch);
            let refused = if disjoint_nonempty(&info_a.strong_ids, &info_b.strong_ids) {
                Some(HardRule::DifferentStrongIdentifiers)
            } else if !human && source_ids_conflict(&info_a.source_ids, &info_b.source_ids) {
                Some(HardRule::DifferentSourceIds)
            } else if self.human_non_match_between(info_a, info_b) {
                Some(HardRule::HumanNonMatch)
            } else {
                None
            };
            if let Some(rule) = refused {
                conflicts.push(Conflict {
                    left: edge.left,
                    right: edge.right,
                    rule,
                });
                continue;
            }
            if auto
                && info_a.members.len() + info_b.members.len() > 2
                && self.average_weight(info_a, info_b) < merge_weight
            {
                for end in [*a, *b] {
                    let joined = joined_by.get(end).copied().flatten();
                    if joined.is_some_and(|w| w - edge.match_weight <= AMBIGUITY_MARGIN)
                        && !newly.contains(&end)
                    {
                        newly.push(end);
                    }
                }
                continue;
            }
            if auto {
                for end in [*a, *b] {
                    if let Some(slot) = joined_by.get_mut(end)
                        && slot.is_none()
                    {
                        *slot = Some(edge.match_weight);
                    }
                }
            }
            let taken_b = std::mem::take(&mut infos[root_b]);
            let info_a = &mut infos[root_a];
            info_a.members.extend(taken_b.members);
            info_a.strong_ids.extend(taken_b.strong_ids);
            info_a.strong_ids.sort_unstable();
            info_a.strong_ids.dedup();
            info_a.source_ids.extend(taken_b.source_ids);
            info_a.source_ids.sort_unstable();
            info_a.source_ids.dedup();
            parent[root_b] = root_a;
        }
        (parent, conflicts, newly)
    }

    fn human_non_match_between(&self, a: &ClusterInfo, b: &ClusterInfo) -> bool {
        let (small, large) = if a.members.len() <= b.members.len() {
            (a, b)
        } else {
            (b, a)
        };
        small.members.iter().any(|member| {
            self.non_match_partners
                .get(member)
                .is_some_and(|partners| partners.iter().any(|p| large.members.contains(p)))
        })
    }

    /// Average match weight over pairs across two clusters (at most
    /// `cluster_pair_scores_max` pairs, in member order).
    fn average_weight(&self, a: &ClusterInfo, b: &ClusterInfo) -> f64 {
        let (mut total, mut count) = (0.0, 0usize);
        'outer: for left in &a.members {
            for right in &b.members {
                if count >= self.settings.limits.cluster_pair_scores_max {
                    break 'outer;
                }
                if !self.scope.allows(&self.store, *left, *right) {
                    continue;
                }
                total += self.score(*left, *right);
                count += 1;
            }
        }
        if count == 0 {
            f64::INFINITY
        } else {
            total / count as f64
        }
    }

    /// Fuzzy search: the records most like `query` (through the same blocking
    /// and model), best first, at most `limit`, with probability at least
    /// `probability_min`. The query is not added to the index.
    pub fn search(
        &mut self,
        query: &MentionInput,
        probability_min: f64,
        limit: usize,
    ) -> Vec<SearchHit> {
        let record = self.store.push_query(&self.settings, query);
        self.model
            .extend_tf_cache(&self.settings, &self.store, &mut self.tf_cache);
        let mut candidates: Vec<u32> = Vec::new();
        let mut keys = Vec::new();
        for (rule_idx, rule) in self.settings.blocking_rules.iter().enumerate() {
            self.store
                .blocking_keys(rule_idx, &rule.parts, record, &mut keys);
            for key in &keys {
                candidates.extend_from_slice(self.blocks.members(rule_idx, *key));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let weight_min = weight_from_probability(probability_min);
        let mut hits: Vec<SearchHit> = candidates
            .iter()
            .filter(|other| **other < record)
            .map(|other| {
                let weight = self.model.pair_weight(
                    &self.settings,
                    &self.store,
                    &self.tf_cache,
                    *other,
                    record,
                );
                SearchHit {
                    record: *other,
                    person: self.person(*other),
                    match_weight: weight,
                    match_probability: probability_from_weight(weight),
                }
            })
            .filter(|hit| hit.match_weight >= weight_min)
            .collect();
        self.store.pop();
        hits.sort_by(|a, b| {
            b.match_weight
                .total_cmp(&a.match_weight)
                .then(a.record.cmp(&b.record))
        });
        hits.truncate(limit);
        hits
    }

    /// The person (cluster id: smallest record index in it) of a record.
    pub fn person(&self, record: u32) -> u32 {
        self.person_of
            .get(record as usize)
            .copied()
            .unwrap_or(record)
    }

    /// Person of every record, by record index.
    pub fn persons(&self) -> &[u32] {
        &self.person_of
    }

    /// The records added or moved to another person since the last call,
    /// sorted and deduplicated: what an incremental caller must relabel. Cost:
    /// the records reported, not the index.
    pub fn take_moved(&mut self) -> Vec<u32> {
        let mut moved = std::mem::take(&mut self.moved);
        moved.sort_unstable();
        moved.dedup();
        moved
    }

    /// All links kept (auto, review and hard), in discovery order.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Links waiting for a person's decision, with no decision yet: those in
    /// the review band, and automatic links the clustering did not take (the
    /// two mentions stayed in different persons: a merge the cluster's other
    /// mentions did not bear out, or a mention linked about equally to two
    /// persons).
    pub fn review_queue(&self) -> Vec<Link> {
        self.links
            .iter()
            .filter(|link| self.waits_for_review(link))
            .copied()
            .collect()
    }

    fn waits_for_review(&self, link: &Link) -> bool {
        self.open_for_review(link) && !self.decisions.contains_key(&(link.left, link.right))
    }

    /// Whether a person is asked about the link when nobody has decided it: in
    /// the review band, or automatic with its mentions in different persons.
    fn open_for_review(&self, link: &Link) -> bool {
        match link.kind {
            LinkKind::Review => true,
            LinkKind::Auto => self.person(link.left) != self.person(link.right),
            LinkKind::Hard(_) => false,
        }
    }

    /// The link between two records that the review queue offers, or would
    /// offer but for a decision already recorded about the pair (so that a
    /// reviewer can turn their decision round). A person's "same person"
    /// decision is only for such pairs: never for two records the linkage did
    /// not score as possibly one person. Cost: the first record's links.
    pub fn reviewable_link(&self, a: u32, b: u32) -> Option<Link> {
        self.link_between(a, b, |link| self.open_for_review(link))
    }

    /// The link between two records that waits for review, if any
    /// ([`LinkageIndex::review_queue`]). Cost: the first record's links.
    pub fn review_link(&self, a: u32, b: u32) -> Option<Link> {
        self.link_between(a, b, |link| self.waits_for_review(link))
    }

    /// The link between two records, among the first record's review and
    /// cluster edges, that `keep` accepts.
    fn link_between(&self, a: u32, b: u32, keep: impl Fn(&Link) -> bool) -> Option<Link> {
        let (left, right) = (a.min(b), a.max(b));
        let review = self.review_edges.get(&left).map_or(&[][..], Vec::as_slice);
        let cluster = self
            .cluster_edges
            .get(left as usize)
            .map_or(&[][..], Vec::as_slice);
        review
            .iter()
            .chain(cluster)
            .filter_map(|link_idx| self.links.get(*link_idx as usize))
            .find(|link| (link.left, link.right) == (left, right) && keep(link))
            .copied()
    }

    /// The links of `records` that wait for review ([`LinkageIndex::review_queue`])
    /// and lead out of their person: records that may be the same person.
    /// Cost: the records' links, not the index.
    pub fn possible_links(&self, records: &[u32]) -> Vec<Link> {
        let mut found: Vec<u32> = Vec::new();
        for record in records {
            let review = self.review_edges.get(record).map_or(&[][..], Vec::as_slice);
            let cluster = self
                .cluster_edges
                .get(*record as usize)
                .map_or(&[][..], Vec::as_slice);
            for link_idx in review.iter().chain(cluster) {
                let Some(link) = self.links.get(*link_idx as usize) else {
                    continue;
                };
                if self.person(link.left) != self.person(link.right) && self.waits_for_review(link)
                {
                    found.push(*link_idx);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .filter_map(|link_idx| self.links.get(link_idx as usize).copied())
            .collect()
    }

    /// Merges refused by constraints, for review.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut conflicts: Vec<Conflict> = self.conflicts.values().flatten().copied().collect();
        conflicts.sort_unstable();
        conflicts
    }

    /// Explain the score of any two records (by index): the waterfall.
    pub fn explain(&self, left: u32, right: u32) -> Option<Explanation> {
        if left as usize >= self.store.len() || right as usize >= self.store.len() {
            return None;
        }
        let (l, r) = (left.min(right), left.max(right));
        let mut explanation = self
            .model
            .explain(&self.settings, &self.store, &self.tf_cache, l, r);
        let base = self
            .model
            .pair_weight(&self.settings, &self.store, &self.tf_cache, l, r);
        if let Some(relational) = self.relational(l, r, base, true) {
            explanation.fields.push(crate::FieldContribution {
                field: RELATIONAL_FIELD.to_owned(),
                level: relational.label(),
                bayes_factor: relational.weight.exp2(),
                weight: relational.weight,
            });
            explanation.match_weight += relational.weight;
            explanation.match_probability = probability_from_weight(explanation.match_weight);
            explanation.relational = Some(relational);
        }
        explanation.hard_rule = match self.decisions.get(&(l, r)) {
            Some(Verdict::Match) => Some(HardRule::HumanMatch),
            Some(Verdict::NonMatch) => Some(HardRule::HumanNonMatch),
            None => self.hard_rule(l, r),
        };
        Some(explanation)
    }

    /// Record index of a caller's key.
    pub fn record_of(&self, key: &str) -> Option<u32> {
        self.store.record_of(key)
    }

    /// Caller's key of a record.
    pub fn key_of(&self, record: u32) -> &str {
        self.store.key(record)
    }

    /// The prepared records.
    pub fn store(&self) -> &RecordStore {
        &self.store
    }

    /// The frozen model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Blocking statistics (keys and records turned away from full blocks per rule).
    pub fn blocking_stats(&self) -> BlockingStats {
        self.blocks.stats(&self.settings)
    }

    /// Candidate pairs scored so far.
    pub fn candidate_pairs(&self) -> usize {
        self.candidate_pairs
    }

    /// True when blocking made these two records candidates of each other
    /// (for blocking recall over true pairs, without listing candidates).
    pub fn blocked_together(&self, left: u32, right: u32) -> bool {
        self.blocks
            .blocked_together(&self.settings, &self.store, self.scope, left, right)
    }

    /// Candidates of a record among earlier records (for evaluation of blocking recall).
    pub fn candidates_of(&self, record: u32) -> Vec<u32> {
        let mut out = Vec::new();
        self.blocks
            .candidates(&self.settings, &self.store, self.scope, record, &mut out);
        out
    }
}

/// Where clustering takes a link: people's decisions first, then the
/// identity rules, then the model's automatic links.
fn clustering_rank(kind: LinkKind) -> u8 {
    match kind {
        LinkKind::Hard(HardRule::HumanMatch) => 0,
        LinkKind::Hard(_) => 1,
        _ => 2,
    }
}

/// The links a record keeps under a cap of `max`: every review link and
/// person's decision, its `max` strongest other links (in the order
/// clustering takes them: rank, weight, then the earlier record), and any
/// weaker one that joins two records no kept link connects yet, so the kept
/// links connect exactly what all the links would. `forest` holds the
/// union-find parents of the records over the links kept so far (records in
/// order; human decisions, taken at different times in a batch and one by
/// one, and review links stay out of it). Original order kept.
fn kept_links(links: &[Link], max: usize, forest: &mut Vec<u32>) -> Vec<Link> {
    let always = |link: &Link| {
        matches!(
            link.kind,
            LinkKind::Review | LinkKind::Hard(HardRule::HumanMatch)
        )
    };
    let mut ranked: Vec<usize> = (0..links.len())
        .filter(|at| links.get(*at).is_some_and(|link| !always(link)))
        .collect();
    ranked.sort_by(|a, b| match (links.get(*a), links.get(*b)) {
        (Some(a), Some(b)) => clustering_rank(a.kind)
            .cmp(&clustering_rank(b.kind))
            .then(b.match_weight.total_cmp(&a.match_weight))
            .then((a.left, a.right).cmp(&(b.left, b.right))),
        _ => std::cmp::Ordering::Equal,
    });
    let mut keep: Vec<bool> = links.iter().map(always).collect();
    for (position, at) in ranked.iter().enumerate() {
        let Some(link) = links.get(*at) else {
            continue;
        };
        let (left, right) = (
            forest_root(forest, link.left),
            forest_root(forest, link.right),
        );
        if position >= max && left == right {
            continue;
        }
        if let Some(slot) = keep.get_mut(*at) {
            *slot = true;
        }
        if left != right
            && let Some(parent) = forest.get_mut(left.max(right) as usize)
        {
            *parent = left.min(right);
        }
    }
    links
        .iter()
        .zip(keep)
        .filter(|(_, kept)| *kept)
        .map(|(link, _)| *link)
        .collect()
}

/// The root of `record` in a union-find forest (grown to hold it), halving
/// the path on the way.
fn forest_root(forest: &mut Vec<u32>, record: u32) -> u32 {
    let needed = record as usize + 1;
    if forest.len() < needed {
        crate::memory::reserve_gently(forest, needed - forest.len());
        let from = u32::try_from(forest.len()).unwrap_or(NONE);
        forest.extend(from..=record);
    }
    let mut current = record;
    loop {
        let parent = forest.get(current as usize).copied().unwrap_or(current);
        if parent == current {
            return current;
        }
        let grandparent = forest.get(parent as usize).copied().unwrap_or(parent);
        if let Some(slot) = forest.get_mut(current as usize) {
            *slot = grandparent;
        }
        current = grandparent;
    }
}

/// Identity keys of a record: its valid strong identifier and its
/// (agency, source person id), when present.
type IdentityKeys = [Option<(u8, u32, u32)>; 2];

/// The hard rule deciding a pair with these identity keys, if any.
fn hard_rule_between(
    [left_strong, left_source]: IdentityKeys,
    [right_strong, right_source]: IdentityKeys,
) -> Option<HardRule> {
    if let (Some(a), Some(b)) = (left_strong, right_strong) {
        return Some(if a == b {
            HardRule::SameStrongIdentifier
        } else {
            HardRule::DifferentStrongIdentifiers
        });
    }
    if let (Some(a), Some(b)) = (left_source, right_source)
        && a.1 == b.1
    {
        return Some(if a.2 == b.2 {
            HardRule::SameSourceId
        } else {
            HardRule::DifferentSourceIds
        });
    }
    None
}

fn find_root(parent: &mut [usize], mut idx: usize) -> usize {
    while let Some(&next) = parent.get(idx) {
        if next == idx {
            break;
        }
        let grand = parent.get(next).copied().unwrap_or(next);
        if let Some(slot) = parent.get_mut(idx) {
            *slot = grand;
        }
        idx = next;
    }
    idx
}

fn disjoint_nonempty(a: &[u32], b: &[u32]) -> bool {
    !a.is_empty() && !b.is_empty() && !a.iter().any(|x| b.contains(x))
}

/// True when some agency appears in both with no source id in common.
fn source_ids_conflict(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    a.iter().any(|(agency, _)| {
        let ids_a = a.iter().filter(|(ag, _)| ag == agency).map(|(_, id)| *id);
        let ids_b: Vec<u32> = b
            .iter()
            .filter(|(ag, _)| ag == agency)
            .map(|(_, id)| *id)
            .collect();
        !ids_b.is_empty() && !ids_a.clone().any(|id| ids_b.contains(&id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic mentions with many shared names, dates and postcodes, so
    /// blocks hold several records and some overflow.
    fn mentions(n: usize) -> Vec<MentionInput> {
        let given = ["Amelia", "Oliver", "Isla", "Jack", "Mia", "Noah", "Ava"];
        let family = ["Smith", "Jones", "Taylor", "Brown", "Khan"];
        (0..n)
            .map(|i| {
                let mut mention = MentionInput::new(format!("m{i}"))
                    .with("given_names", given[i % given.len()])
                    .with("family_name", family[(i / 3) % family.len()])
                    .with("dob", format!("20{:02}-0{}-1{}", i % 23, 1 + i % 9, i % 10))
                    .with("postcode", format!("LS{} {}AB", i % 17, i % 9));
                if i % 4 == 0 {
                    mention = mention.with("nhs_number", "9434765919");
                }
                mention
            })
            .collect()
    }

    /// Reading a batch in chunks of any size (and merging the rules' lists
    /// in slices) gives the same records, blocks and candidate lists as
    /// adding the mentions one by one.
    #[test]
    fn chunked_prepare_equals_one_by_one() {
        let settings = Settings::uk_persons().unwrap_or_else(|e| panic!("{e}"));
        let input = mentions(2 * MERGE_SLICE + 123);
        let mut one_by_one =
            LinkageIndex::new(settings.clone(), Model::default(), LinkScope::Dedupe);
        let mut expected = CandidateLists::default();
        for mention in &input {
            let mut earlier = Vec::new();
            let record = one_by_one
                .push_record_collecting(mention, Some(&mut earlier))
                .unwrap_or_else(|e| panic!("{e}"));
            earlier.sort_unstable();
            earlier.dedup();
            earlier.retain(|other| LinkScope::Dedupe.allows(&one_by_one.store, *other, record));
            expected.offsets.push(expected.others.len());
            expected.others.extend_from_slice(&earlier);
        }
        expected.offsets.push(expected.others.len());
        assert!(expected.others.len() > input.len());
        for chunk in [1, 7, 1000, PREPARE_CHUNK] {
            let mut index =
                LinkageIndex::prepare_in_chunks(settings.clone(), LinkScope::Dedupe, &input, chunk)
                    .unwrap_or_else(|e| panic!("{e}"));
            let lists = index.prepared.take().unwrap_or_default();
            assert_eq!(lists.offsets, expected.offsets, "chunk {chunk}");
            assert_eq!(lists.others, expected.others, "chunk {chunk}");
            assert_eq!(
                index.blocking_stats(),
                one_by_one.blocking_stats(),
                "chunk {chunk}"
            );
            for record in 0..input.len() as u32 {
                for column in 0..settings.columns.len() {
                    assert_eq!(
                        index.store.normalised(column, record),
                        one_by_one.store.normalised(column, record)
                    );
                }
                assert_eq!(
                    index.candidates_of(record),
                    one_by_one.candidates_of(record)
                );
            }
        }
    }

    /// A batch trained and linked on 1, 2 or 3 threads gives the same
    /// model, links (to the bit), refused merges and persons: training
    /// sums, classification slices and components are split across threads
    /// but combined in a fixed order.
    #[test]
    fn batch_is_the_same_on_any_number_of_threads() {
        let settings = Settings::uk_persons().unwrap_or_else(|e| panic!("{e}"));
        let input = mentions(CLASSIFY_SLICE + 777);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            pool.install(|| {
                let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
                let (index, _) = LinkageIndex::train_and_link(
                    settings.clone(),
                    LinkScope::Dedupe,
                    &input,
                    &[],
                    &mut rng,
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let links: Vec<(u32, u32, u64, LinkKind)> = index
                    .links()
                    .iter()
                    .map(|l| (l.left, l.right, l.match_weight.to_bits(), l.kind))
                    .collect();
                let mut conflicts: Vec<Conflict> =
                    index.conflicts.values().flatten().copied().collect();
                conflicts.sort_unstable();
                (
                    index.model.prior_log2_odds.to_bits(),
                    links,
                    conflicts,
                    index.persons().to_vec(),
                )
            })
        };
        let one = run(1);
        assert!(one.1.len() > input.len() / 2, "{} links", one.1.len());
        assert!(one.3.iter().enumerate().any(|(r, p)| r as u32 != *p));
        for threads in [2, 3] {
            assert!(run(threads) == one, "{threads} threads");
        }
    }

    /// A record's kept links: every review link and decision, the strongest
    /// identity links before the strongest automatic ones, and a weaker link
    /// that reaches a record no kept link connects, in their original order.
    #[test]
    fn kept_links_keep_review_decisions_the_strongest_and_connections() {
        let link = |left: u32, match_weight: f64, kind: LinkKind| Link {
            left,
            right: 9,
            match_weight,
            kind,
        };
        let links = [
            link(0, 20.0, LinkKind::Auto),
            link(1, 2.0, LinkKind::Review),
            link(2, 5.0, LinkKind::Hard(HardRule::SameStrongIdentifier)),
            link(3, 30.0, LinkKind::Auto),
            link(4, 1.0, LinkKind::Hard(HardRule::HumanMatch)),
            link(5, 25.0, LinkKind::Auto),
            link(6, 20.0, LinkKind::Auto),
        ];
        let lefts = |kept: Vec<Link>| kept.iter().map(|l| l.left).collect::<Vec<u32>>();
        // Records 0, 2, 3, 5 and 6 already connected by earlier kept links:
        // only the strongest are kept.
        let connected = || {
            let mut forest: Vec<u32> = (0..10).collect();
            for record in [2, 3, 5, 6] {
                forest[record] = 0;
            }
            forest
        };
        assert_eq!(lefts(kept_links(&links, 1, &mut connected())), [1, 2, 4]);
        assert_eq!(
            lefts(kept_links(&links, 3, &mut connected())),
            [1, 2, 3, 4, 5]
        );
        // Equal weights: the earlier record first.
        assert_eq!(
            lefts(kept_links(&links, 4, &mut connected())),
            [0, 1, 2, 3, 4, 5]
        );
        assert_eq!(kept_links(&links, 5, &mut connected()), links.to_vec());
        // Unconnected: every link that joins a new record to the record is
        // kept, and the forest joins them.
        let mut forest = Vec::new();
        assert_eq!(
            lefts(kept_links(&links, 1, &mut forest)),
            [0, 1, 2, 3, 4, 5, 6]
        );
        assert!(
            [0, 2, 3, 5, 6, 9]
                .iter()
                .all(|record| forest_root(&mut forest, *record) == 0)
        );
        assert_eq!(forest_root(&mut forest, 1), 1);
        assert_eq!(forest_root(&mut forest, 4), 4);
    }

    /// Repeated mentions (one child's many records) are scored once per
    /// pair of profiles: every link's weight is the pair's own score, to the bit.
    #[test]
    fn remembered_scores_equal_direct_scores() {
        let settings = Settings::uk_persons().unwrap_or_else(|e| panic!("{e}"));
        let base = mentions(600);
        let input: Vec<MentionInput> = (0..3)
            .flat_map(|copy| {
                base.iter().map(move |m| {
                    let mut repeated = m.clone();
                    repeated.key = format!("{}-{copy}", m.key);
                    repeated
                })
            })
            .collect();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
        let (index, _) =
            LinkageIndex::train_and_link(settings, LinkScope::Dedupe, &input, &[], &mut rng)
                .unwrap_or_else(|e| panic!("{e}"));
        let (_, shared) = index.store.comparison_profiles(&index.settings);
        assert!(shared.iter().all(|s| *s));
        assert!(!index.links().is_empty());
        for link in index.links() {
            let direct = index.model.pair_weight(
                &index.settings,
                &index.store,
                &index.tf_cache,
                link.left,
                link.right,
            );
            assert_eq!(link.match_weight.to_bits(), direct.to_bits(), "{link:?}");
        }
    }
}
