//! Prepared records: every raw value is interned per column and prepared once
//! (normalised text, tokens, phonetic key, nickname groups, parsed date,
//! postcode parts); records hold only integer ids. Comparison levels and
//! blocking keys are computed from these ids.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::normalise::{
    PartialDate, address_tokens, identifier_digits, is_valid_nhs_number, nickname_groups,
    normalise_name, normalise_sex, normalise_text, parse_postcode, phonetic_key,
    sorted_lists_intersect,
};
use crate::relational::MentionContext;
use crate::settings::{ColumnKind, Comparison, KeyKind, KeyPart, LevelSpec, Settings};
use crate::similarity;

/// Marks a missing value or an absent derived feature.
pub(crate) const NONE: u32 = u32::MAX;
/// The level code of a comparison where either side is missing.
pub const NULL_LEVEL: u8 = 15;
/// Most keys one record contributes to one blocking rule (cartesian products
/// of multi-token keys are cut here).
const KEYS_PER_RULE_MAX: usize = 16;

/// A mention of a person as a caller supplies it: a caller-chosen key (unique
/// within an index), the data set it came from (for link-only tasks; 0 when
/// deduplicating), and raw values by column name. Unknown columns are ignored;
/// missing columns are missing values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MentionInput {
    /// Caller's key for the mention, e.g. `agency/record_id/ref`.
    pub key: String,
    /// Data set tag; in link-only mode pairs within one tag are never compared.
    pub dataset: u16,
    /// `(column name, raw value)` pairs.
    pub values: Vec<(String, String)>,
    /// The people named beside it in its record, for relational evidence.
    pub context: Option<MentionContext>,
}

impl MentionInput {
    /// A mention with no values yet.
    pub fn new(key: impl Into<String>) -> MentionInput {
        MentionInput {
            key: key.into(),
            dataset: 0,
            values: Vec::new(),
            context: None,
        }
    }

    /// Set what its record says around it (relational evidence).
    pub fn with_context(mut self, context: MentionContext) -> MentionInput {
        self.context = Some(context);
        self
    }

    /// Add a value (empty values are treated as missing).
    pub fn with(mut self, column: &str, value: impl Into<String>) -> MentionInput {
        self.values.push((column.to_string(), value.into()));
        self
    }

    /// Set the data set tag.
    pub fn in_dataset(mut self, dataset: u16) -> MentionInput {
        self.dataset = dataset;
        self
    }

    /// [`Mention::value`] by name, looking first at position `*hint` (where
    /// the column was in the previous mention: callers pass values in one
    /// order) and leaving there the position it was found at.
    fn value_from(&self, column: &str, hint: &mut usize) -> Option<&str> {
        let at = match self.values.get(*hint) {
            Some((name, _)) if name == column => *hint,
            _ => self.values.iter().position(|(name, _)| name == column)?,
        };
        *hint = at;
        self.values.get(at).map(|(_, value)| value.as_str())
    }
}

/// A mention as the index reads it: a key (unique within an index), a data
/// set tag and a raw value per settings column. [`MentionInput`] is one; a
/// caller holding its records as text (a CSV file read whole) can hand them
/// over borrowed, without an owned string per value.
pub trait Mention {
    /// Caller's key for the mention.
    fn key(&self) -> &str;
    /// Data set tag (0 when deduplicating).
    fn dataset(&self) -> u16;
    /// The raw value of settings column `column` (named `name`); `None` or
    /// blank when missing (values are trimmed by the store). `hint` is
    /// scratch the store keeps per column from one mention to the next, for
    /// implementations that search by name.
    fn value(&self, column: usize, name: &str, hint: &mut usize) -> Option<&str>;
    /// What its record says around it (relational evidence); none by default.
    fn context(&self) -> Option<&MentionContext> {
        None
    }
}

impl Mention for MentionInput {
    fn key(&self) -> &str {
        &self.key
    }

    fn dataset(&self) -> u16 {
        self.dataset
    }

    fn value(&self, _column: usize, name: &str, hint: &mut usize) -> Option<&str> {
        self.value_from(name, hint)
    }

    fn context(&self) -> Option<&MentionContext> {
        self.context.as_ref()
    }
}

impl<T: Mention + ?Sized> Mention for &T {
    fn key(&self) -> &str {
        (**self).key()
    }

    fn dataset(&self) -> u16 {
        (**self).dataset()
    }

    fn value(&self, column: usize, name: &str, hint: &mut usize) -> Option<&str> {
        (**self).value(column, name, hint)
    }

    fn context(&self) -> Option<&MentionContext> {
        (**self).context()
    }
}

/// Distinct strings with dense ids, stored end to end in one buffer (no
/// allocation per string). Looked up by a 64-bit hash of the text; the text
/// is compared on every hit, and the rare strings whose hash an earlier one
/// already holds live in a small side map, so lookups are exact.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    text: String,
    /// End of each string in `text`; string `id` starts where `id - 1` ends.
    ends: Vec<u32>,
    by_hash: FxHashMap<u64, u32>,
    collided: FxHashMap<Box<str>, u32>,
}

fn text_hash(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

impl Interner {
    /// The id of `text`, if interned.
    pub(crate) fn find(&self, text: &str) -> Option<u32> {
        let id = *self.by_hash.get(&text_hash(text))?;
        if self.get(id) == text {
            Some(id)
        } else {
            self.collided.get(text).copied()
        }
    }

    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        let hash = text_hash(text);
        let holder = self.by_hash.get(&hash).copied();
        if let Some(id) = holder {
            if self.get(id) == text {
                return id;
            }
            if let Some(id) = self.collided.get(text) {
                return *id;
            }
        }
        self.push_new(text, hash, holder.is_some())
    }

    /// Append `text`, known not to be interned, with its hash.
    fn push_new(&mut self, text: &str, hash: u64, collided: bool) -> u32 {
        let id = u32::try_from(self.ends.len()).unwrap_or(NONE - 1);
        if self.text.capacity() - self.text.len() < text.len() {
            // Grown gently, as the lists of an index are
            // ([`crate::memory::reserve_gently`]).
            self.text
                .reserve_exact(text.len().max(self.text.len() / 8).max(256));
        }
        crate::memory::reserve_gently(&mut self.ends, 1);
        self.text.push_str(text);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        if collided {
            self.collided.insert(text.into(), id);
        } else {
            self.by_hash.insert(hash, id);
        }
        id
    }

    /// Intern `text` unless it is already interned: its new id, or `None`.
    pub(crate) fn insert_new(&mut self, text: &str) -> Option<u32> {
        let hash = text_hash(text);
        let holder = self.by_hash.get(&hash).copied();
        if let Some(id) = holder
            && (self.get(id) == text || self.collided.contains_key(text))
        {
            return None;
        }
        Some(self.push_new(text, hash, holder.is_some()))
    }

    pub(crate) fn reserve(&mut self, strings: usize) {
        self.ends.reserve(strings);
        self.by_hash.reserve(strings);
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        let idx = id as usize;
        let Some(end) = self.ends.get(idx) else {
            return "";
        };
        let start = if idx == 0 {
            0
        } else {
            self.ends.get(idx - 1).copied().unwrap_or(0)
        };
        self.text.get(start as usize..*end as usize).unwrap_or("")
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Gives back the spare capacity of the text and the ends (not the
    /// hash map: lookups need its room).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Estimated heap bytes ([`crate::memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map_bytes, string_bytes, vec_bytes};
        string_bytes(&self.text)
            + vec_bytes(&self.ends)
            + hash_map_bytes(&self.by_hash)
            + hash_map_bytes(&self.collided)
            + self.collided.keys().map(|text| text.len()).sum::<usize>()
    }
}

/// One distinct raw value of a column, prepared. One cache line: a pair's
/// comparison reads one line per column and side (token and nickname lists
/// live in the column's pools).
#[derive(Debug, Clone)]
#[repr(align(64))]
pub(crate) struct ValueInfo {
    pub(crate) norm: u32,
    /// Start and length of the sorted token ids in the column's `token_pool`.
    tokens_at: u32,
    tokens_len: u16,
    /// Start and length of the sorted nickname groups in the column's `group_pool`.
    groups_len: u16,
    groups_at: u32,
    pub(crate) phonetic: u32,
    pub(crate) date: Option<PartialDate>,
    pub(crate) district: u32,
    pub(crate) sector: u32,
    pub(crate) strong_valid: bool,
    pub(crate) char_mask: u64,
    /// Hash of the normalised text, comparable across columns.
    pub(crate) norm_hash: u64,
}

const _: () = assert!(std::mem::size_of::<ValueInfo>() == 64);

#[derive(Debug, Clone)]
pub(crate) struct ColumnStore {
    kind: ColumnKind,
    nhs_check: bool,
    /// Distinct raw values (interned) and the value id of each (`NONE` when
    /// the raw value normalises to nothing).
    raws: Interner,
    raw_values: Vec<u32>,
    pub(crate) values: Vec<ValueInfo>,
    /// Every value's token ids, end to end.
    token_pool: Vec<u32>,
    /// Every value's nickname groups, end to end.
    group_pool: Vec<u16>,
    pub(crate) norms: Interner,
    tokens: Interner,
    phonetics: Interner,
    postcode_parts: Interner,
    pub(crate) record_values: Vec<u32>,
}

impl ColumnStore {
    fn new(kind: ColumnKind, nhs_check: bool) -> ColumnStore {
        ColumnStore {
            kind,
            nhs_check,
            raws: Interner::default(),
            raw_values: Vec::new(),
            values: Vec::new(),
            token_pool: Vec::new(),
            group_pool: Vec::new(),
            norms: Interner::default(),
            tokens: Interner::default(),
            phonetics: Interner::default(),
            postcode_parts: Interner::default(),
            record_values: Vec::new(),
        }
    }

    fn push(&mut self, raw: Option<&str>) {
        let raw = raw.map(str::trim).filter(|raw| !raw.is_empty());
        let value_id = match raw {
            None => NONE,
            Some(raw) => match self.raws.find(raw) {
                Some(raw_id) => self
                    .raw_values
                    .get(raw_id as usize)
                    .copied()
                    .unwrap_or(NONE),
                None => {
                    let id = self.prepare(raw);
                    self.raws.intern(raw);
                    self.raw_values.push(id);
                    id
                }
            },
        };
        crate::memory::reserve_gently(&mut self.record_values, 1);
        self.record_values.push(value_id);
    }

    fn prepare(&mut self, raw: &str) -> u32 {
        let mut info = ValueInfo {
            norm: NONE,
            tokens_at: 0,
            tokens_len: 0,
            groups_len: 0,
            groups_at: 0,
            phonetic: NONE,
            date: None,
            district: NONE,
            sector: NONE,
            strong_valid: false,
            char_mask: 0,
            norm_hash: 0,
        };
        let norm: Option<String> = match self.kind {
            ColumnKind::Name => {
                let norm = normalise_name(raw);
                let mut token_ids: Vec<u32> = norm
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(|t| self.tokens.intern(t))
                    .collect();
                token_ids.sort_unstable();
                token_ids.dedup();
                self.pool_tokens(&mut info, &token_ids);
                let key = phonetic_key(&norm);
                if !key.is_empty() {
                    info.phonetic = self.phonetics.intern(&key);
                }
                let mut groups: Vec<u16> = norm.split(' ').flat_map(nickname_groups).collect();
                groups.sort_unstable();
                groups.dedup();
                let at = u32::try_from(self.group_pool.len()).unwrap_or(u32::MAX);
                let len = groups.len().min(usize::from(u16::MAX));
                self.group_pool
                    .extend_from_slice(groups.get(..len).unwrap_or_default());
                info.groups_at = at;
                info.groups_len = u16::try_from(len).unwrap_or(u16::MAX);
                Some(norm)
            }
            ColumnKind::Date => {
                info.date = PartialDate::parse(raw);
                Some(identifier_digits(raw))
            }
            ColumnKind::Postcode => parse_postcode(raw).map(|parts| {
                info.district = self.postcode_parts.intern(&parts.district);
                info.sector = self.postcode_parts.intern(&parts.sector);
                parts.full
            }),
            ColumnKind::Text => {
                let norm = normalise_text(raw);
                let mut token_ids: Vec<u32> = address_tokens(&norm)
                    .iter()
                    .map(|t| self.tokens.intern(t))
                    .collect();
                token_ids.sort_unstable();
                self.pool_tokens(&mut info, &token_ids);
                Some(norm)
            }
            ColumnKind::Identifier => {
                let digits = identifier_digits(raw);
                info.strong_valid = if self.nhs_check {
                    is_valid_nhs_number(&digits)
                } else {
                    !digits.is_empty()
                };
                Some(digits)
            }
            ColumnKind::Category => Some(normalise_text(raw)),
            ColumnKind::Sex => normalise_sex(raw).map(str::to_string),
        };
        let norm = norm.filter(|n| !n.is_empty());
        let Some(norm) = norm else {
            // Values that normalise to nothing are missing (remembered as NONE).
            return NONE;
        };
        if self.kind == ColumnKind::Category {
            info.strong_valid = true;
        }
        info.char_mask = similarity::char_mask(&norm);
        info.norm_hash = {
            let mut hasher = FxHasher::default();
            norm.hash(&mut hasher);
            hasher.finish()
        };
        info.norm = self.norms.intern(&norm);
        let id = u32::try_from(self.values.len()).unwrap_or(NONE - 1);
        self.values.push(info);
        id
    }

    /// Put a value's sorted token ids in the pool (at most `u16::MAX`).
    fn pool_tokens(&mut self, info: &mut ValueInfo, token_ids: &[u32]) {
        let len = token_ids.len().min(usize::from(u16::MAX));
        info.tokens_at = u32::try_from(self.token_pool.len()).unwrap_or(u32::MAX);
        info.tokens_len = u16::try_from(len).unwrap_or(u16::MAX);
        self.token_pool
            .extend_from_slice(token_ids.get(..len).unwrap_or_default());
    }

    /// A value's sorted token ids.
    #[inline]
    pub(crate) fn tokens(&self, info: &ValueInfo) -> &[u32] {
        let at = info.tokens_at as usize;
        self.token_pool
            .get(at..at + usize::from(info.tokens_len))
            .unwrap_or_default()
    }

    /// A value's sorted nickname groups.
    #[inline]
    pub(crate) fn nick_groups(&self, info: &ValueInfo) -> &[u16] {
        let at = info.groups_at as usize;
        self.group_pool
            .get(at..at + usize::from(info.groups_len))
            .unwrap_or_default()
    }

    pub(crate) fn value(&self, record: u32) -> Option<&ValueInfo> {
        let id = *self.record_values.get(record as usize)?;
        self.values.get(id as usize)
    }

    pub(crate) fn norm_str(&self, record: u32) -> Option<&str> {
        self.value(record).map(|v| self.norms.get(v.norm))
    }

    /// Norm id of a record's value, or `NONE`.
    pub(crate) fn norm_id(&self, record: u32) -> u32 {
        self.value(record).map_or(NONE, |v| v.norm)
    }
}

impl ColumnStore {
    /// Estimated heap bytes: (prepared values and pools, interned text, each
    /// record's value id).
    fn heap_bytes(&self) -> (usize, usize, usize) {
        use crate::memory::vec_bytes;
        let values = vec_bytes(&self.values)
            + vec_bytes(&self.raw_values)
            + vec_bytes(&self.token_pool)
            + vec_bytes(&self.group_pool);
        let text = self.raws.heap_bytes()
            + self.norms.heap_bytes()
            + self.tokens.heap_bytes()
            + self.phonetics.heap_bytes()
            + self.postcode_parts.heap_bytes();
        (values, text, vec_bytes(&self.record_values))
    }
}

/// Prepared records in columns.
#[derive(Debug, Clone)]
pub struct RecordStore {
    pub(crate) columns: Vec<ColumnStore>,
    /// Value ids of every record, row by row (`columns.len()` per record): a
    /// pair's comparisons read two rows, two cache lines, instead of one
    /// line per column and record.
    rows: Vec<u32>,
    /// The distinct keys, end to end in one buffer (no string per record).
    keys: Interner,
    /// Each record's key id in `keys` (`NONE` for a search query). In a
    /// [`crate::LinkageIndex`] keys are unique, so a record's key id is its index.
    key_ids: Vec<u32>,
    pub(crate) datasets: Vec<u16>,
}

impl RecordStore {
    /// An empty store for these settings.
    pub fn new(settings: &Settings) -> RecordStore {
        let columns = settings
            .columns
            .iter()
            .enumerate()
            .map(|(idx, column)| {
                let nhs_check = settings.identity.strong_identifier == Some(idx)
                    && settings.identity.strong_identifier_nhs_check;
                ColumnStore::new(column.kind, nhs_check)
            })
            .collect();
        RecordStore {
            columns,
            rows: Vec::new(),
            keys: Interner::default(),
            key_ids: Vec::new(),
            datasets: Vec::new(),
        }
    }

    /// Prepare and append a mention; returns its record index.
    pub fn push(&mut self, settings: &Settings, mention: &impl Mention) -> u32 {
        let key = self.keys.intern(mention.key());
        self.push_values(settings, mention, key)
    }

    /// Prepare and append a search query: a record without a key, dropped
    /// again by [`RecordStore::pop`].
    pub(crate) fn push_query(&mut self, settings: &Settings, query: &impl Mention) -> u32 {
        self.push_values(settings, query, NONE)
    }

    fn push_values(&mut self, settings: &Settings, mention: &impl Mention, key: u32) -> u32 {
        let record = u32::try_from(self.datasets.len()).unwrap_or(NONE - 1);
        crate::memory::reserve_gently(&mut self.rows, self.columns.len());
        crate::memory::reserve_gently(&mut self.key_ids, 1);
        crate::memory::reserve_gently(&mut self.datasets, 1);
        for (idx, (column, spec)) in self.columns.iter_mut().zip(&settings.columns).enumerate() {
            column.push(mention.value(idx, &spec.name, &mut 0));
            self.rows
                .push(column.record_values.last().copied().unwrap_or(NONE));
        }
        self.key_ids.push(key);
        self.datasets.push(mention.dataset());
        record
    }

    /// Prepare and append many mentions (the same result as pushing them one
    /// by one): each column interns and prepares its values on its own
    /// thread, in record order, so ids do not depend on the number of
    /// threads; the keys are interned meanwhile. A key already in the store
    /// (or twice in `mentions`) is an error, after which the store is
    /// incomplete and must be dropped.
    pub fn push_many<M: Mention + Sync>(
        &mut self,
        settings: &Settings,
        mentions: &[M],
    ) -> Result<(), crate::LinkageError> {
        use rayon::prelude::*;
        let first = self.datasets.len();
        let (keys, key_ids, columns) = (&mut self.keys, &mut self.key_ids, &mut self.columns);
        let (keyed, ()) = rayon::join(
            || {
                keys.reserve(mentions.len());
                key_ids.reserve(mentions.len());
                for mention in mentions {
                    let key = mention.key();
                    let id = keys
                        .insert_new(key)
                        .ok_or_else(|| crate::LinkageError::DuplicateKey(key.to_string()))?;
                    key_ids.push(id);
                }
                Ok(())
            },
            || {
                columns
                    .par_iter_mut()
                    .zip(settings.columns.par_iter())
                    .enumerate()
                    .for_each(|(idx, (column, spec))| {
                        column.record_values.reserve(mentions.len());
                        let mut hint = 0;
                        for mention in mentions {
                            column.push(mention.value(idx, &spec.name, &mut hint));
                        }
                    });
            },
        );
        keyed?;
        let n_columns = self.columns.len();
        self.rows.reserve(mentions.len() * n_columns);
        for record in first..first + mentions.len() {
            for column in &self.columns {
                self.rows
                    .push(column.record_values.get(record).copied().unwrap_or(NONE));
            }
        }
        self.datasets
            .extend(mentions.iter().map(|mention| mention.dataset()));
        Ok(())
    }

    /// The record with this key, when keys are unique (as in a
    /// [`crate::LinkageIndex`]: a record's key id is then its index).
    pub(crate) fn record_of(&self, key: &str) -> Option<u32> {
        let id = self.keys.find(key)?;
        (self.key_ids.get(id as usize) == Some(&id)).then_some(id)
    }

    /// True when a record has this key.
    pub(crate) fn has_key(&self, key: &str) -> bool {
        self.keys.find(key).is_some()
    }

    /// Per record, the id of its comparison profile (records with the same
    /// value in every compared column share one, and score alike against any
    /// record), and per profile whether more than one record has it.
    pub(crate) fn comparison_profiles(&self, settings: &Settings) -> (Vec<u32>, Vec<bool>) {
        let mut compared: Vec<usize> = settings
            .comparisons
            .iter()
            .flat_map(|c| {
                std::iter::once(c.column).chain(c.levels.iter().filter_map(|l| l.other_column))
            })
            .collect();
        compared.sort_unstable();
        compared.dedup();
        let profile_of = |record: u32| compared.iter().map(move |c| self.value_id(*c, record));
        let mut by_hash: FxHashMap<u64, u32> = FxHashMap::default();
        let mut collided: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut first_record: Vec<u32> = Vec::new();
        let mut shared: Vec<bool> = Vec::new();
        let mut profiles = Vec::with_capacity(self.len());
        // Hashed on all cores; ids are then given in record order.
        let hashes: Vec<u64> = {
            use rayon::prelude::*;
            (0..u32::try_from(self.len()).unwrap_or(u32::MAX))
                .into_par_iter()
                .map(|record| {
                    let mut hasher = FxHasher::default();
                    profile_of(record).for_each(|id| hasher.write_u32(id));
                    hasher.finish()
                })
                .collect()
        };
        for (record, hash) in (0..u32::try_from(self.len()).unwrap_or(u32::MAX)).zip(hashes) {
            let holder = by_hash.get(&hash).copied();
            let known = match holder {
                Some(id)
                    if first_record
                        .get(id as usize)
                        .is_some_and(|first| profile_of(*first).eq(profile_of(record))) =>
                {
                    Some(id)
                }
                Some(_) => collided
                    .get(&profile_of(record).collect::<Vec<u32>>())
                    .copied(),
                None => None,
            };
            let id = match known {
                Some(id) => {
                    if let Some(flag) = shared.get_mut(id as usize) {
                        *flag = true;
                    }
                    id
                }
                None => {
                    let id = u32::try_from(first_record.len()).unwrap_or(u32::MAX);
                    first_record.push(record);
                    shared.push(false);
                    if holder.is_some() {
                        collided.insert(profile_of(record).collect(), id);
                    } else {
                        by_hash.insert(hash, id);
                    }
                    id
                }
            };
            profiles.push(id);
        }
        (profiles, shared)
    }

    /// Remove the last record, a query of [`RecordStore::push_query`]
    /// (searches prepare a query like a record and then drop it). Interned
    /// values stay; they are harmless.
    pub(crate) fn pop(&mut self) {
        for column in &mut self.columns {
            column.record_values.pop();
        }
        self.rows
            .truncate(self.rows.len().saturating_sub(self.columns.len()));
        self.key_ids.pop();
        self.datasets.pop();
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.datasets.len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.datasets.is_empty()
    }

    /// Gives back the spare capacity of every list (after a batch).
    pub fn shrink_to_fit(&mut self) {
        for column in &mut self.columns {
            column.raws.shrink_to_fit();
            column.raw_values.shrink_to_fit();
            column.values.shrink_to_fit();
            column.token_pool.shrink_to_fit();
            column.group_pool.shrink_to_fit();
            column.norms.shrink_to_fit();
            column.tokens.shrink_to_fit();
            column.phonetics.shrink_to_fit();
            column.postcode_parts.shrink_to_fit();
            column.record_values.shrink_to_fit();
        }
        self.rows.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.key_ids.shrink_to_fit();
        self.datasets.shrink_to_fit();
    }

    /// Estimated memory by part ([`crate::memory`]), names under `prefix`.
    pub fn memory_parts(&self, prefix: &str) -> Vec<crate::memory::MemoryPart> {
        use crate::memory::{MemoryPart, vec_bytes};
        let n_records = self.len();
        let (mut values, mut text, mut record_values) = (0, 0, 0);
        let mut n_values = 0;
        for column in &self.columns {
            let (column_values, column_text, column_records) = column.heap_bytes();
            values += column_values;
            text += column_text;
            record_values += column_records;
            n_values += column.values.len();
        }
        vec![
            MemoryPart::new(
                format!("{prefix}/distinct values, prepared"),
                values,
                n_values,
            ),
            MemoryPart::new(format!("{prefix}/distinct values, text"), text, n_values),
            MemoryPart::new(
                format!("{prefix}/value ids per mention (columns and rows)"),
                record_values + vec_bytes(&self.rows),
                n_records,
            ),
            MemoryPart::new(
                format!("{prefix}/mention keys"),
                self.keys.heap_bytes() + vec_bytes(&self.key_ids) + vec_bytes(&self.datasets),
                n_records,
            ),
        ]
    }

    /// The caller's key of a record.
    pub fn key(&self, record: u32) -> &str {
        self.key_ids
            .get(record as usize)
            .map_or("", |id| self.keys.get(*id))
    }

    /// The data set tag of a record.
    pub fn dataset(&self, record: u32) -> u16 {
        self.datasets.get(record as usize).copied().unwrap_or(0)
    }

    /// The value id of a column for a record (`NONE` when missing).
    #[inline]
    fn value_id(&self, column: usize, record: u32) -> u32 {
        self.rows
            .get(record as usize * self.columns.len() + column)
            .copied()
            .unwrap_or(NONE)
    }

    /// The prepared value of a column for a record, read through the rows.
    #[inline]
    fn row_value(&self, column: usize, record: u32) -> Option<&ValueInfo> {
        let id = self.value_id(column, record);
        self.columns.get(column)?.values.get(id as usize)
    }

    /// Norm id of a column's value for a record, or `NONE`.
    #[inline]
    pub(crate) fn norm_id(&self, column: usize, record: u32) -> u32 {
        self.row_value(column, record).map_or(NONE, |v| v.norm)
    }

    /// Normalised value of a column for a record (for display and tests).
    pub fn normalised(&self, column: usize, record: u32) -> Option<&str> {
        self.columns.get(column)?.norm_str(record)
    }

    /// The level index of a comparison for a pair: 0.. for configured levels,
    /// `levels.len()` for "else", [`NULL_LEVEL`] when either side is missing.
    pub fn comparison_level(&self, comparison: &Comparison, left: u32, right: u32) -> u8 {
        let Some(column) = self.columns.get(comparison.column) else {
            return NULL_LEVEL;
        };
        let (id_left, id_right) = (
            self.value_id(comparison.column, left),
            self.value_id(comparison.column, right),
        );
        let (Some(a), Some(b)) = (
            column.values.get(id_left as usize),
            column.values.get(id_right as usize),
        ) else {
            return NULL_LEVEL;
        };
        let same_raw = id_left == id_right;
        // Jaro-Winkler is computed at most once per pair, however many levels use it.
        let mut jaro_winkler: Option<f64> = None;
        let mut jaro_winkler_bound: Option<f64> = None;
        // Edit distance is computed once, capped at the largest DL level's maximum.
        let mut edit_distance: Option<Option<usize>> = None;
        for (level_idx, level) in comparison.levels.iter().enumerate() {
            let holds = match &level.spec {
                LevelSpec::Exact => same_raw,
                LevelSpec::ExactNormalised => a.norm == b.norm,
                LevelSpec::AnyToken => sorted_lists_intersect(column.tokens(a), column.tokens(b)),
                LevelSpec::Nickname => {
                    a.norm == b.norm
                        || sorted_lists_intersect(column.nick_groups(a), column.nick_groups(b))
                }
                LevelSpec::Phonetic => a.phonetic != NONE && a.phonetic == b.phonetic,
                LevelSpec::JaroWinkler { threshold } => {
                    a.norm == b.norm || {
                        let (sa, sb) = (column.norms.get(a.norm), column.norms.get(b.norm));
                        *jaro_winkler_bound.get_or_insert_with(|| {
                            similarity::jaro_winkler_upper_bound(sa, a.char_mask, sb, b.char_mask)
                        }) >= *threshold
                            && *jaro_winkler.get_or_insert_with(|| similarity::jaro_winkler(sa, sb))
                                >= *threshold
                    }
                }
                LevelSpec::DamerauLevenshtein { max } => {
                    let (sa, sb) = (column.norms.get(a.norm), column.norms.get(b.norm));
                    edit_distance
                        .get_or_insert_with(|| {
                            similarity::osa_capped(sa, sb, comparison.edit_distance_max)
                        })
                        .is_some_and(|distance| distance <= *max)
                }
                LevelSpec::Swapped { .. } => level.other_column.is_some_and(|other| {
                    let (Some(a_other), Some(b_other), Some(other_column)) = (
                        self.row_value(other, left),
                        self.row_value(other, right),
                        self.columns.get(other),
                    ) else {
                        return false;
                    };
                    // Hashes of the normalised text first; the text only when they agree.
                    if a.norm_hash != b_other.norm_hash || a_other.norm_hash != b.norm_hash {
                        return false;
                    }
                    let (a_self, b_self) = (column.norms.get(a.norm), column.norms.get(b.norm));
                    let (a_other, b_other) = (
                        other_column.norms.get(a_other.norm),
                        other_column.norms.get(b_other.norm),
                    );
                    a_self == b_other && a_other == b_self && a_self != a_other
                }),
                LevelSpec::TokenOverlap { min } => {
                    token_overlap(column.tokens(a), column.tokens(b)) >= *min
                }
                LevelSpec::DateExact => a.date.is_some_and(|d| d.is_full()) && a.date == b.date,
                LevelSpec::DateTransposed => match (a.date, b.date) {
                    (Some(da), Some(db)) => da.transposed() == Some(db),
                    _ => false,
                },
                LevelSpec::DateYearMonth => match (a.date, b.date) {
                    (Some(da), Some(db)) => {
                        da.year() == db.year() && da.month().is_some() && da.month() == db.month()
                    }
                    _ => false,
                },
                LevelSpec::DateYear => match (a.date, b.date) {
                    (Some(da), Some(db)) => da.year() == db.year(),
                    _ => false,
                },
                LevelSpec::DatePartialAgree => match (a.date, b.date) {
                    (Some(da), Some(db)) => {
                        let agree =
                            |x: Option<u8>, y: Option<u8>| x.is_none() || y.is_none() || x == y;
                        da.year() == db.year()
                            && agree(da.month(), db.month())
                            && agree(da.day(), db.day())
                    }
                    _ => false,
                },
                LevelSpec::PostcodeSector => a.sector != NONE && a.sector == b.sector,
                LevelSpec::PostcodeDistrict => a.district != NONE && a.district == b.district,
            };
            if holds {
                return u8::try_from(level_idx).unwrap_or(NULL_LEVEL);
            }
        }
        u8::try_from(comparison.levels.len()).unwrap_or(NULL_LEVEL)
    }

    /// Blocking keys of a record for one rule (hashed); empty when a key part is missing.
    pub(crate) fn blocking_keys(
        &self,
        rule_idx: usize,
        parts: &[KeyPart],
        record: u32,
        out: &mut Vec<u64>,
    ) {
        out.clear();
        // Each part yields one or more 32-bit components; the keys are the
        // hashes of every combination (at most KEYS_PER_RULE_MAX), without allocating.
        let mut combos = [0u64; KEYS_PER_RULE_MAX];
        combos[0] = {
            let mut hasher = FxHasher::default();
            rule_idx.hash(&mut hasher);
            hasher.finish()
        };
        let mut n_combos = 1usize;
        let mut components = [0u32; KEYS_PER_RULE_MAX];
        for part in parts {
            let Some(column) = self.columns.get(part.column) else {
                return;
            };
            let Some(value) = column.value(record) else {
                return;
            };
            let mut n_components = 0usize;
            let mut push = |component: u32| {
                if component != NONE && n_components < KEYS_PER_RULE_MAX {
                    components[n_components] = component;
                    n_components += 1;
                }
            };
            match part.kind {
                KeyKind::Exact => match part.unordered_with {
                    None => push(value.norm),
                    Some(other) => {
                        let Some(other_text) =
                            self.columns.get(other).and_then(|c| c.norm_str(record))
                        else {
                            return;
                        };
                        let text = column.norms.get(value.norm);
                        let (low, high) = if text <= other_text {
                            (text, other_text)
                        } else {
                            (other_text, text)
                        };
                        let mut hasher = FxHasher::default();
                        (low, high).hash(&mut hasher);
                        push(fold(hasher.finish()));
                    }
                },
                KeyKind::Phonetic => push(value.phonetic),
                KeyKind::Compact => {
                    let mut hasher = FxHasher::default();
                    for byte in column.norms.get(value.norm).bytes().filter(|b| *b != b' ') {
                        hasher.write_u8(byte);
                    }
                    push(fold(hasher.finish()));
                }
                KeyKind::AnyToken => column.tokens(value).iter().for_each(|t| push(*t)),
                KeyKind::Year => {
                    if let Some(date) = value.date {
                        push(u32::from(date.year()));
                    }
                }
                KeyKind::YearMonth => {
                    if let Some(month) = value.date.and_then(|d| d.month().map(|m| (d.year(), m))) {
                        push(u32::from(month.0) * 16 + u32::from(month.1));
                    }
                }
                KeyKind::PostcodeDistrict => push(value.district),
                KeyKind::PostcodeSector => push(value.sector),
            }
            if n_components == 0 {
                return;
            }
            let key = |combo: u64, component: u32| {
                let mut hasher = FxHasher::default();
                (combo, part.column, component).hash(&mut hasher);
                hasher.finish()
            };
            if n_components == 1 {
                // One component (most parts): every combination extends in place.
                for combo in combos.iter_mut().take(n_combos) {
                    *combo = key(*combo, components[0]);
                }
                continue;
            }
            let n_next = (n_combos * n_components).min(KEYS_PER_RULE_MAX);
            let mut next = [0u64; KEYS_PER_RULE_MAX];
            for (slot, target) in next.iter_mut().enumerate().take(n_next) {
                let (combo, component) = (slot / n_components, slot % n_components);
                *target = key(combos[combo], components[component]);
            }
            combos = next;
            n_combos = n_next;
        }
        out.extend_from_slice(&combos[..n_combos]);
        if n_combos > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }
}

/// Fold a 64-bit hash into a 31-bit component (never `NONE`).
fn fold(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32 & (NONE >> 1)
}

fn token_overlap(left: &[u32], right: &[u32]) -> f64 {
    let smaller = left.len().min(right.len());
    if smaller == 0 {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / smaller as f64
}

#[cfg(test)]
mod interner_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn interner_ids_match_text(words in proptest::collection::vec("[a-c]{0,3}|é[a-c]", 0..60)) {
            let mut interner = Interner::default();
            let ids: Vec<u32> = words.iter().map(|w| interner.intern(w)).collect();
            for (word, id) in words.iter().zip(&ids) {
                prop_assert_eq!(interner.get(*id), word.as_str());
                prop_assert_eq!(interner.find(word), Some(*id));
            }
            for (i, a) in words.iter().enumerate() {
                for (j, b) in words.iter().enumerate() {
                    prop_assert_eq!(ids[i] == ids[j], a == b);
                }
            }
            let distinct: std::collections::HashSet<&String> = words.iter().collect();
            prop_assert_eq!(interner.len(), distinct.len());
            prop_assert_eq!(interner.find("zzz"), None);
        }
    }
}
