//! Persons and clerical review over the linked log: a person's identity, every
//! source mention and the evidence for each link; fuzzy search by name and date
//! of birth; the review queue; people's stored match / non-match decisions
//! applied to the linkage; and a rebuild that recomputes persons from the log
//! and the decisions and checks it against linking record by record.
//!
//! Decisions live in the store's append-only `linkage_decisions` log. A merge or
//! a split is the event of a decision; it is undone by a later decision about the
//! same pair (`withdrawn`, or the opposite verdict), never by an edit. The
//! standing verdict of a pair is that of its newest decision ([`Decisions`]).
//!
//! What each view shows of an NHS number: the person detail (a full view) shows
//! it whole; search hits and the review queue show its last three digits only
//! ([`redact_nhs_number`]), enough to tell two candidates apart without copying
//! the identifier into every list.
//!
//! - Invariant: every re-link and rebuild applies the standing decisions: a
//!   `match` pair is in one person and a `non_match` pair in two (the linkage's
//!   hard constraints permitting, see `sightline_linkage`).
//! - Invariant: a decision is stored before it changes the persons in memory, so
//!   what a reviewer saw change can always be rebuilt from the store.
//! - Invariant: linking records one by one with the decisions interleaved gives
//!   the same persons as [`rebuild`] (same frozen model; property-tested).

use crate::picture::{
    LinkedRecords, LoadedRecord, MentionRef, ModelChoice, PictureError, link_records_with,
    load_versions, person_facts,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sightline_linkage::index::RELATIONAL_FIELD;
use sightline_linkage::{
    HardRule, LinkKind, LinkScope, LinkageIndex, MentionInput, NotCounted, RelationalEvidence,
    Verdict,
};
use sightline_store::{DecisionVerdict, LinkageDecisionRow, NewLinkageDecision, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// The most links one person detail lists with their evidence.
pub const PERSON_LINKS_MAX: usize = 500;
/// The most mentions one person detail lists.
pub const PERSON_MENTIONS_MAX: usize = 2_000;
/// The most persons one search returns.
pub const SEARCH_HITS_MAX: usize = 50;
/// The least match probability a search hit needs.
pub const SEARCH_PROBABILITY_MIN: f64 = 0.01;
/// The most birth years a name-only search looks in (the most recent).
pub const SEARCH_YEARS_MAX: usize = 120;
/// The longest name a search accepts, in characters.
pub const SEARCH_NAME_CHARS_MAX: usize = 200;
/// The most review pairs one read returns.
pub const REVIEW_PAIRS_MAX: usize = 1_000;

/// Errors of persons and review.
#[derive(Debug, thiserror::Error)]
pub enum PersonsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Picture(#[from] PictureError),
    #[error("linkage failed: {0}")]
    Linkage(#[from] sightline_linkage::LinkageError),
    /// A decision or query named a mention the log does not hold.
    #[error("no person mention with key {0:?}")]
    UnknownMention(String),
    /// The request is unusable (the message says why; it holds no personal data).
    #[error("{0}")]
    BadRequest(&'static str),
    /// A linkage decision refused before anything was stored ([`check_decision`]).
    #[error("{0}")]
    Refused(DecisionRefusal),
}

/// Why a person's linkage decision is refused before anything is stored (issue
/// #15, finding 5: a "same person" decision on any two mentions, with the
/// reason "same", put a child in the decider's agency's work). The message is
/// said to the reviewer; [`DecisionRefusal::code`] is recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefusal {
    #[error("Enter the reason for your decision")]
    EmptyReason,
    #[error(
        "Give the reason in at least a sentence ({} characters or more)",
        crate::decisions::REASON_CHARS_MIN
    )]
    ReasonTooShort,
    #[error("Enter a shorter reason (at most 2,000 characters)")]
    ReasonTooLong,
    /// A "same person" decision about two mentions the review queue does not
    /// offer ([`sightline_linkage::LinkageIndex::reviewable_link`]).
    #[error(
        "These two records are not a pair the review queue offers: only a pair the linkage scored as possibly one person can be decided to be the same person"
    )]
    NotOffered,
}

impl DecisionRefusal {
    /// The stable name recorded in the audit log.
    pub fn code(self) -> &'static str {
        match self {
            DecisionRefusal::EmptyReason => "reason_empty",
            DecisionRefusal::ReasonTooShort => "reason_too_short",
            DecisionRefusal::ReasonTooLong => "reason_too_long",
            DecisionRefusal::NotOffered => "not_offered_for_review",
        }
    }
}

/// Checks a decision's reason: a sentence ([`crate::decisions::validate_reason`])
/// of at most the store's [`sightline_store::DECISION_REASON_BYTES_MAX`] bytes. Returns it
/// trimmed.
pub fn check_decision_reason(reason: &str) -> Result<String, DecisionRefusal> {
    use crate::decisions::DecisionError;
    let reason = crate::decisions::validate_reason(reason).map_err(|error| match error {
        DecisionError::EmptyReason => DecisionRefusal::EmptyReason,
        DecisionError::ReasonTooShort => DecisionRefusal::ReasonTooShort,
        _ => DecisionRefusal::ReasonTooLong,
    })?;
    if reason.len() > sightline_store::DECISION_REASON_BYTES_MAX {
        return Err(DecisionRefusal::ReasonTooLong);
    }
    Ok(reason)
}

/// Checks a decision before it is stored: the reason is a sentence, and a
/// `match` (a merge) names a pair the review queue offers, or would offer but
/// for a decision already recorded about it (a reviewer turning their decision
/// round). A split or a withdrawal may name any two mentions. Both mentions
/// must be linked (callers refuse unknown ones first).
pub fn check_decision(
    linked: &LinkedRecords,
    decision: &NewLinkageDecision,
) -> Result<(), DecisionRefusal> {
    check_decision_reason(&decision.reason)?;
    if decision.verdict == DecisionVerdict::Match {
        let offered = match (
            linked.index.record_of(&decision.left_key),
            linked.index.record_of(&decision.right_key),
        ) {
            (Some(left), Some(right)) => linked.index.reviewable_link(left, right).is_some(),
            _ => false,
        };
        if !offered {
            return Err(DecisionRefusal::NotOffered);
        }
    }
    Ok(())
}

/// Every stored decision, ascending by `seq`.
pub fn load_decisions(store: &dyn Store) -> Result<Vec<LinkageDecisionRow>, StoreError> {
    let page = sightline_store::DECISION_READ_LIMIT_MAX;
    let mut rows: Vec<LinkageDecisionRow> = Vec::new();
    loop {
        let after_seq = rows.last().map_or(0, |row| row.seq);
        let batch = store.linkage().decisions(after_seq, page)?;
        let full = batch.len() == page as usize;
        rows.extend(batch);
        if !full {
            return Ok(rows);
        }
    }
}

/// How one decision changed the standing verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionChange {
    /// A pair without a standing verdict got one: the linkage can take it as is.
    Added(Verdict),
    /// A standing verdict was withdrawn or turned round: the persons it shaped
    /// must be relinked.
    Reversed,
    /// Nothing changed (the same verdict again, or withdrawing nothing).
    Unchanged,
}

/// The standing verdict of every decided pair: the newest decision about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    standing: BTreeMap<(String, String), (i64, Verdict)>,
    newest_seq: i64,
    n_rows: usize,
}

fn pair(left: &str, right: &str) -> (String, String) {
    if left < right {
        (left.to_owned(), right.to_owned())
    } else {
        (right.to_owned(), left.to_owned())
    }
}

impl Decisions {
    /// Estimated bytes ([`crate::memory`]) and the number of standing decisions.
    pub fn memory_bytes(&self) -> (usize, usize) {
        let bytes = sightline_linkage::memory::btree_map_bytes(&self.standing)
            + self
                .standing
                .keys()
                .map(|(left, right)| left.capacity() + right.capacity())
                .sum::<usize>();
        (bytes, self.standing.len())
    }

    /// The standing verdicts of `rows` (ascending by `seq`).
    pub fn from_rows(rows: &[LinkageDecisionRow]) -> Self {
        let mut decisions = Decisions::default();
        for row in rows {
            decisions.push(row);
        }
        decisions
    }

    /// Takes one more decision (newer than every earlier one).
    pub fn push(&mut self, row: &LinkageDecisionRow) -> DecisionChange {
        self.newest_seq = self.newest_seq.max(row.seq);
        self.n_rows += 1;
        let key = pair(&row.left_key, &row.right_key);
        let verdict = match row.verdict {
            DecisionVerdict::Match => Some(Verdict::Match),
            DecisionVerdict::NonMatch => Some(Verdict::NonMatch),
            DecisionVerdict::Withdrawn => None,
        };
        let before = self.standing.get(&key).map(|(_, verdict)| *verdict);
        match verdict {
            Some(verdict) => {
                self.standing.insert(key, (row.seq, verdict));
            }
            None => {
                self.standing.remove(&key);
            }
        }
        match (before, verdict) {
            (None, Some(verdict)) => DecisionChange::Added(verdict),
            (Some(old), Some(new)) if old == new => DecisionChange::Unchanged,
            (None, None) => DecisionChange::Unchanged,
            _ => DecisionChange::Reversed,
        }
    }

    /// The standing verdicts, oldest decision first.
    pub fn standing(&self) -> Vec<(String, String, Verdict)> {
        let mut standing: Vec<(i64, &(String, String), Verdict)> = self
            .standing
            .iter()
            .map(|(key, (seq, verdict))| (*seq, key, *verdict))
            .collect();
        standing.sort_by_key(|(seq, _, _)| *seq);
        standing
            .into_iter()
            .map(|(_, (left, right), verdict)| (left.clone(), right.clone(), verdict))
            .collect()
    }

    /// The standing verdicts naming `key`, oldest first.
    pub fn naming(&self, key: &str) -> Vec<(String, String, Verdict)> {
        let mut found: Vec<_> = self
            .standing
            .iter()
            .filter(|((left, right), _)| left == key || right == key)
            .map(|((left, right), (seq, verdict))| (*seq, left.clone(), right.clone(), *verdict))
            .collect();
        found.sort_by_key(|(seq, ..)| *seq);
        found
            .into_iter()
            .map(|(_, left, right, verdict)| (left, right, verdict))
            .collect()
    }

    /// The newest decision's `seq` taken (0 before any).
    pub fn newest_seq(&self) -> i64 {
        self.newest_seq
    }

    /// How many decisions were taken, standing or not.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// How many pairs have a standing verdict.
    pub fn n_standing(&self) -> usize {
        self.standing.len()
    }
}

/// How many standing verdicts name two mentions both in `linked`.
pub fn applicable_decisions(linked: &LinkedRecords, decisions: &Decisions) -> usize {
    decisions
        .standing
        .keys()
        .filter(|(left, right)| {
            linked.index.record_of(left).is_some() && linked.index.record_of(right).is_some()
        })
        .count()
}

/// Links `records` again with the frozen model of `linked` and the standing
/// decisions: how a reversed decision is applied.
fn relink(linked: &mut LinkedRecords, decisions: &Decisions) -> Result<(), PersonsError> {
    let cache = linked.records.cache_config().cloned();
    let records = std::mem::take(&mut linked.records)
        .into_loaded()
        .map_err(PictureError::BodyUnreadable)?;
    let (mentions, keys) = crate::picture::mention_keys(&records);
    let standing: Vec<(String, String, Verdict)> = decisions
        .standing()
        .into_iter()
        .filter(|(left, right, _)| {
            linked.index.record_of(left).is_some() && linked.index.record_of(right).is_some()
        })
        .collect();
    let index = LinkageIndex::batch(
        linked.index.settings().clone(),
        linked.index.model().clone(),
        LinkScope::Dedupe,
        crate::picture::streamed_inputs(&records, &mentions, keys),
        &standing,
    )?;
    *linked = LinkedRecords::new(records, mentions, index);
    if let Some(cache) = cache {
        // Every body is held again until the engine's next trim.
        linked
            .records
            .read_from(cache, true)
            .map_err(|error| PictureError::BodyUnreadable(error.0))?;
    }
    Ok(())
}

/// Applies one decision (already stored) to the persons in memory. A new verdict
/// goes straight into the index; a reversed one relinks with the same model.
pub fn apply_decision(
    linked: &mut LinkedRecords,
    decisions: &mut Decisions,
    row: &LinkageDecisionRow,
) -> Result<DecisionChange, PersonsError> {
    let change = decisions.push(row);
    match change {
        DecisionChange::Added(verdict) => {
            let present = linked.index.record_of(&row.left_key).is_some()
                && linked.index.record_of(&row.right_key).is_some();
            // A decision about a mention not linked yet waits for it (see add_record).
            if present {
                linked
                    .index
                    .decide(&row.left_key, &row.right_key, verdict)?;
                linked.relabel();
            }
        }
        DecisionChange::Reversed => relink(linked, decisions)?,
        DecisionChange::Unchanged => {}
    }
    Ok(change)
}

/// Links one more record at the end of `linked` (by index lookup, with the frozen
/// model) and applies the standing decisions that name its mentions.
pub fn add_record(
    linked: &mut LinkedRecords,
    decisions: &Decisions,
    loaded: LoadedRecord,
) -> Result<(), PersonsError> {
    linked.add_records_deciding(vec![loaded], |key| decisions.naming(key))?;
    Ok(())
}

/// Records a person's decision and applies it to `linked`. Both mentions must be
/// in `linked`, and the decision pass [`check_decision`]. The decision is stored
/// first.
pub fn decide(
    store: &dyn Store,
    linked: &mut LinkedRecords,
    decisions: &mut Decisions,
    decision: &NewLinkageDecision,
) -> Result<(LinkageDecisionRow, DecisionChange), PersonsError> {
    for key in [&decision.left_key, &decision.right_key] {
        if linked.index.record_of(key).is_none() {
            return Err(PersonsError::UnknownMention(key.clone()));
        }
    }
    check_decision(linked, decision).map_err(PersonsError::Refused)?;
    let row = store.linkage().record_decision(decision)?;
    // Decisions stored by someone else since `decisions` was read come first.
    for earlier in load_decisions_after(store, decisions.newest_seq())? {
        if earlier.seq < row.seq {
            apply_decision(linked, decisions, &earlier)?;
        }
    }
    let change = apply_decision(linked, decisions, &row)?;
    tracing::info!(
        decision.seq = row.seq,
        verdict = row.verdict.as_str(),
        "linkage decision recorded"
    );
    Ok((row, change))
}

/// The stored decisions newer than `after_seq`, ascending by `seq`.
pub fn load_decisions_after(
    store: &dyn Store,
    after_seq: i64,
) -> Result<Vec<LinkageDecisionRow>, StoreError> {
    let page = sightline_store::DECISION_READ_LIMIT_MAX;
    let mut rows: Vec<LinkageDecisionRow> = Vec::new();
    loop {
        let from = rows.last().map_or(after_seq, |row| row.seq);
        let batch = store.linkage().decisions(from, page)?;
        let full = batch.len() == page as usize;
        rows.extend(batch);
        if !full {
            return Ok(rows);
        }
    }
}

/// The linked log with its decisions, kept in memory by a long-running shell and
/// brought up to date by [`LinkedState::refresh`].
pub struct LinkedState {
    pub linked: LinkedRecords,
    pub decisions: Decisions,
    records_seen: u64,
}

impl LinkedState {
    /// Links the whole log with its decisions.
    pub fn load(store: &dyn Store) -> Result<Self, PersonsError> {
        let records_seen = store.count_records()?;
        let records = load_versions(store, None)?;
        let rows = load_decisions(store)?;
        let decisions = Decisions::from_rows(&rows);
        let linked = link_records_with(records, ModelChoice::Automatic, &decisions.standing())?;
        Ok(LinkedState {
            linked,
            decisions,
            records_seen,
        })
    }

    /// Brings `state` up to date with the store: relinks when the log grew, and
    /// applies decisions stored since (by another process, such as the CLI).
    pub fn refresh(store: &dyn Store, state: &mut Option<LinkedState>) -> Result<(), PersonsError> {
        let n_records = store.count_records()?;
        match state {
            Some(current) if current.records_seen == n_records => {
                for row in load_decisions_after(store, current.decisions.newest_seq())? {
                    apply_decision(&mut current.linked, &mut current.decisions, &row)?;
                }
            }
            _ => *state = Some(LinkedState::load(store)?),
        }
        Ok(())
    }
}

/// The NHS number with all but its last three digits hidden: `*** *** *919`.
pub fn redact_nhs_number(formatted: &str) -> String {
    let n_digits = formatted.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    formatted
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 3 > n_digits { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

/// Who a person is, as the agencies recorded them most often.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Identity {
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub dob: Option<String>,
    pub sex: Option<String>,
    /// Whole in a person detail; last three digits elsewhere.
    pub nhs_number: Option<String>,
    pub is_child: bool,
}

/// One source mention of a person: which record, which of its persons, and what
/// that agency recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct MentionView {
    /// `agency/record_id/ref`: the key decisions name.
    pub key: String,
    pub agency: String,
    pub record_id: String,
    #[serde(rename = "ref")]
    pub person_ref: String,
    pub version: i64,
    pub kind: String,
    pub occurred_at: String,
    pub role: String,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub dob: Option<String>,
    /// Whole or last three digits, as the view says.
    pub nhs_number: Option<String>,
    pub postcode: Option<String>,
}

/// One field's part of a link's score.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct FieldEvidence {
    pub field: String,
    /// The comparison level the pair reached (e.g. `exact`, `jaro_winkler >= 0.9`).
    pub level: String,
    /// log2 Bayes factor: how much this field counted, for (+) or against (-).
    pub weight: f64,
}

/// The evidence for one link: the waterfall.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct LinkEvidence {
    pub left: String,
    pub right: String,
    /// `auto`, `review`, or the hard rule (`same_nhs_number`, `same_source_id`,
    /// `human_match`...).
    pub kind: String,
    /// A hard rule or a person's decision that decides the pair whatever the score.
    pub decided_by: Option<String>,
    pub prior_weight: f64,
    pub fields: Vec<FieldEvidence>,
    pub match_weight: f64,
    pub match_probability: f64,
}

/// A person: identity, every source mention, the evidence for each link and the
/// decisions people made about its mentions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonDetail {
    pub id: String,
    pub identity: Identity,
    pub mentions: Vec<MentionView>,
    pub mentions_truncated: bool,
    pub links: Vec<LinkEvidence>,
    pub links_truncated: bool,
    pub decisions: Vec<DecisionView>,
}

impl PersonDetail {
    /// The person without the records withheld from the reader (restricted by
    /// their agency): their mentions, the links and decisions naming them.
    pub fn without(mut self, withheld: &crate::controls::Withheld) -> PersonDetail {
        if withheld.is_empty() {
            return self;
        }
        // Keys are `agency/record_id/ref`; a record id may hold a slash, so
        // the ref is cut at the last one.
        let hidden = |key: &str| {
            key.split_once('/')
                .and_then(|(agency, rest)| {
                    rest.rsplit_once('/')
                        .map(|(record_id, _)| withheld.contains(agency, record_id))
                })
                .unwrap_or(false)
        };
        self.mentions
            .retain(|mention| !withheld.contains(&mention.agency, &mention.record_id));
        self.links
            .retain(|link| !hidden(&link.left) && !hidden(&link.right));
        self.decisions
            .retain(|decision| !hidden(&decision.left) && !hidden(&decision.right));
        self
    }
}

/// A stored decision as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct DecisionView {
    pub seq: i64,
    pub left: String,
    pub right: String,
    pub verdict: String,
    pub actor: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl From<&LinkageDecisionRow> for DecisionView {
    fn from(row: &LinkageDecisionRow) -> Self {
        DecisionView {
            seq: row.seq,
            left: row.left_key.clone(),
            right: row.right_key.clone(),
            verdict: row.verdict.as_str().to_owned(),
            actor: row.actor.clone(),
            reason: row.reason.clone(),
            at: crate::from_micros(row.at_us),
        }
    }
}

fn hard_rule_name(rule: HardRule) -> &'static str {
    match rule {
        HardRule::SameStrongIdentifier => "same_nhs_number",
        HardRule::DifferentStrongIdentifiers => "different_nhs_numbers",
        HardRule::SameSourceId => "same_source_id",
        HardRule::DifferentSourceIds => "different_source_ids",
        HardRule::HumanMatch => "human_match",
        HardRule::HumanNonMatch => "human_non_match",
    }
}

fn link_kind_name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Auto => "auto",
        LinkKind::Review => "review",
        LinkKind::Hard(rule) => hard_rule_name(rule),
    }
}

/// The mention at linkage record `record` (records are mentions, in order).
fn mention_view(linked: &LinkedRecords, record: u32, whole_nhs: bool) -> Option<MentionView> {
    let mention = *linked.mentions.get(record as usize)?;
    let loaded = linked.records.get(mention.record_idx)?;
    let person = loaded.record.persons.get(mention.person_idx)?;
    let nhs = person.nhs_number.as_ref().map(|number| number.to_string());
    Some(MentionView {
        key: linked.index.key_of(record).to_owned(),
        agency: loaded.record.source.agency.as_str().to_owned(),
        record_id: loaded.record.source.record_id.as_str().to_owned(),
        person_ref: person.person_ref.clone(),
        version: loaded.record.source.version,
        kind: loaded.record.kind.as_str().to_owned(),
        occurred_at: loaded.record.occurred_at.to_string(),
        role: person.role.as_str().to_owned(),
        given_names: person.given_names.clone(),
        family_name: person.family_name.clone(),
        dob: person
            .dob
            .or(person.expected_dob)
            .map(|dob| dob.to_string()),
        nhs_number: if whole_nhs {
            nhs
        } else {
            nhs.as_deref().map(redact_nhs_number)
        },
        postcode: person
            .address
            .as_ref()
            .and_then(|address| address.postcode.as_ref())
            .map(|postcode| postcode.as_str().to_owned()),
    })
}

/// The waterfall of a pair of linkage records; relational evidence in words
/// from the left mention's side.
fn evidence(linked: &LinkedRecords, left: u32, right: u32, kind: &str) -> Option<LinkEvidence> {
    let mut explanation = linked.index.explain(left, right)?;
    relational_in_words(linked, left, right, "this person", &mut explanation);
    Some(evidence_of(linked, left, right, kind, &explanation))
}

/// The waterfall of an explained pair.
fn evidence_of(
    linked: &LinkedRecords,
    left: u32,
    right: u32,
    kind: &str,
    explanation: &sightline_linkage::Explanation,
) -> LinkEvidence {
    LinkEvidence {
        left: linked.index.key_of(left.min(right)).to_owned(),
        right: linked.index.key_of(left.max(right)).to_owned(),
        kind: kind.to_owned(),
        decided_by: explanation
            .hard_rule
            .map(|rule| hard_rule_name(rule).to_owned()),
        prior_weight: explanation.prior_weight,
        fields: explanation
            .fields
            .iter()
            .map(|field| FieldEvidence {
                field: field.field.clone(),
                level: field.level.clone(),
                weight: field.weight,
            })
            .collect(),
        match_weight: explanation.match_weight,
        match_probability: explanation.match_probability,
    }
}

/// Replaces the level of the waterfall's relational row ("people named
/// beside") by its evidence in words, seen from `subject`'s side (whose person
/// `noun` names: "this child"): who is named beside the other mention and how
/// they are linked to the subject's person.
pub fn relational_in_words(
    linked: &LinkedRecords,
    subject: u32,
    other: u32,
    noun: &str,
    explanation: &mut sightline_linkage::Explanation,
) {
    let Some(relational) = explanation.relational.as_ref() else {
        return;
    };
    let mut words = relational_words(linked, subject, other, noun, relational);
    if words.is_empty() {
        return;
    }
    let note = match relational.not_counted {
        Some(NotCounted::LinkedWithout) => Some("not needed: linked on its own evidence"),
        Some(NotCounted::NamesDisagree) => {
            Some("not counted: the given names disagree or are missing")
        }
        Some(NotCounted::DatesConflict) => Some("not counted: the dates of birth conflict"),
        None if relational.already_counted > 0.0 && relational.weight <= 0.0 => {
            Some("already counted: the same surname or address says they are of one family")
        }
        None if relational.already_counted > 0.0 => {
            Some("counted beyond what the same surname or address already says")
        }
        None => None,
    };
    if let Some(note) = note {
        words.push(note.to_owned());
    }
    if let Some(row) = explanation
        .fields
        .iter_mut()
        .find(|field| field.field == RELATIONAL_FIELD)
    {
        row.level = words.join("; ");
    }
}

/// Relational evidence in words, from `subject`'s side: "named beside Marcia
/// Campbell, who is linked to this child's mother in 4 records"; "lives with
/// Marcia Campbell at E7 9QX, where this child is recorded". Empty when the
/// evidence found no one.
pub fn relational_words(
    linked: &LinkedRecords,
    subject: u32,
    other: u32,
    noun: &str,
    evidence: &RelationalEvidence,
) -> Vec<String> {
    let subject_is_left = subject < other;
    let sides = |(left, right): (u32, u32)| {
        if subject_is_left {
            (left, right)
        } else {
            (right, left)
        }
    };
    let subject_person = linked.person_of_mention.get(subject as usize);
    let mut words = Vec::new();
    for pair in &evidence.shared_people {
        let (beside_subject, beside_other) = sides(*pair);
        let name = mention_name(linked, beside_other);
        let relation = kin_words(linked, beside_subject, subject);
        let together = subject_person
            .zip(linked.person_of_mention.get(beside_subject as usize))
            .map_or(0, |(subject_person, beside)| {
                records_naming_both(linked, subject_person, beside)
            });
        let records = if together == 1 { "record" } else { "records" };
        words.push(match relation {
            Some(relation) => format!(
                "named beside {name}, who is linked to {noun}'s {relation} in {together} {records}"
            ),
            None => format!(
                "named beside {name}, who is linked to someone named beside {noun} in {together} {records}"
            ),
        });
    }
    if let Some(pair) = evidence.shared_address {
        let (holder_subject, holder_other) = sides(pair);
        let postcode = mention_postcode(linked, holder_other)
            .or_else(|| mention_postcode(linked, holder_subject))
            .unwrap_or_else(|| "the same address".to_owned());
        words.push(if holder_other != other {
            format!(
                "lives with {} at {postcode}, where {noun} is recorded",
                mention_name(linked, holder_other)
            )
        } else {
            format!(
                "recorded at {postcode}, where {noun} lives with {}",
                mention_name(linked, holder_subject)
            )
        });
    }
    words
}

/// How many current records name both persons.
fn records_naming_both(linked: &LinkedRecords, a: &str, b: &str) -> usize {
    let mut records: BTreeSet<usize> = BTreeSet::new();
    for (mention, person) in linked.mentions.iter().zip(&linked.person_of_mention) {
        if person == a && linked.is_current(mention.record_idx) {
            records.insert(mention.record_idx);
        }
    }
    records
        .into_iter()
        .filter(|record_idx| {
            linked.records.get(*record_idx).is_some_and(|loaded| {
                (0..loaded.record.persons.len())
                    .any(|person_idx| linked.person_id(*record_idx, person_idx) == b)
            })
        })
        .count()
}

/// The name a mention was recorded under ("name not recorded" without one).
fn mention_name(linked: &LinkedRecords, record: u32) -> String {
    let person = linked
        .mentions
        .get(record as usize)
        .map(|mention| linked.person_of(*mention));
    match person.map(|person| (&person.given_names, &person.family_name)) {
        Some((Some(given), Some(family))) => format!("{given} {family}"),
        Some((Some(name), None) | (None, Some(name))) => name.clone(),
        _ => "someone whose name was not recorded".to_owned(),
    }
}

fn mention_postcode(linked: &LinkedRecords, record: u32) -> Option<String> {
    let mention = linked.mentions.get(record as usize)?;
    let address = linked.person_of(*mention).address.as_ref()?;
    address
        .postcode
        .as_ref()
        .map(|postcode| postcode.as_str().to_owned())
}

/// What `beside` is to `subject` by their record's relationships ("mother",
/// "grandfather", "carer"), else by `beside`'s role ("relative"); `None`
/// when the record says nothing (a role of `other`).
fn kin_words(linked: &LinkedRecords, beside: u32, subject: u32) -> Option<String> {
    use sightline_core::{RelationshipType as R, Sex};
    let (Some(beside), Some(subject)) = (
        linked.mentions.get(beside as usize),
        linked.mentions.get(subject as usize),
    ) else {
        return None;
    };
    let record = &linked.records.get(beside.record_idx)?.record;
    let person = record.persons.get(beside.person_idx)?;
    let by_sex = |female: &str, male: &str, other: &str| {
        match person.sex {
            Some(Sex::Female) => female,
            Some(Sex::Male) => male,
            _ => other,
        }
        .to_owned()
    };
    for relationship in &record.relationships {
        let forward =
            relationship.from == beside.person_idx && relationship.to == subject.person_idx;
        let backward =
            relationship.from == subject.person_idx && relationship.to == beside.person_idx;
        let words = match (relationship.relationship_type, forward, backward) {
            (R::ParentOf, true, _) => by_sex("mother", "father", "parent"),
            (R::StepParentOf, true, _) => by_sex("stepmother", "stepfather", "step-parent"),
            (R::GrandparentOf, true, _) => by_sex("grandmother", "grandfather", "grandparent"),
            (R::CarerOf, true, _) => "carer".to_owned(),
            (R::ParentOf | R::StepParentOf, _, true) => by_sex("daughter", "son", "child"),
            (R::GrandparentOf, _, true) => "grandchild".to_owned(),
            (R::CarerOf, _, true) => "the person they care for".to_owned(),
            (R::PartnerOf, true, _) | (R::PartnerOf, _, true) => "partner".to_owned(),
            (R::SiblingOf, true, _) | (R::SiblingOf, _, true) => {
                by_sex("sister", "brother", "brother or sister")
            }
            (R::RelativeOf, true, _) | (R::RelativeOf, _, true) => "relative".to_owned(),
            (R::LivesWith, true, _) | (R::LivesWith, _, true) => "household member".to_owned(),
            (R::Visits, true, _) => "visitor".to_owned(),
            _ => continue,
        };
        return Some(words);
    }
    match person.role {
        sightline_core::Role::Other | sightline_core::Role::Subject => None,
        role => Some(role.label().to_lowercase()),
    }
}

/// A record that may be about a person: linked to one of its mentions by a
/// link the clustering did not take (between the review and link thresholds,
/// or an automatic link the person's other mentions did not bear out), with
/// no one's decision yet. For the child page's "possible records".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PossibleRecord {
    /// The other record's mention (NHS number: last three digits).
    pub mention: MentionView,
    /// The person's mention it was compared with.
    pub against: MentionView,
    /// The evidence, relational evidence in words from the person's side.
    pub evidence: LinkEvidence,
    /// Match probability as a percentage, one decimal.
    pub probability_percent: f64,
    /// Whether people named beside it count in the evidence.
    pub relational: bool,
}

/// The most possible records one person shows.
pub const POSSIBLE_RECORDS_MAX: usize = 20;

/// The records that may be about person `person_id` (current versions only),
/// the strongest link to each other mention first, at most `limit`
/// ([`POSSIBLE_RECORDS_MAX`] at most). `noun` names the person in the
/// evidence ("this child"). Cost: the person's mentions and their links.
pub fn possible_records(
    linked: &LinkedRecords,
    person_id: &str,
    noun: &str,
    limit: usize,
) -> Vec<PossibleRecord> {
    let records = person_records(linked, person_id);
    let mut best: BTreeMap<u32, sightline_linkage::Link> = BTreeMap::new();
    for link in linked.index.possible_links(&records) {
        let inside_left = linked
            .person_of_mention
            .get(link.left as usize)
            .map(String::as_str)
            == Some(person_id);
        let other = if inside_left { link.right } else { link.left };
        let current = linked
            .mentions
            .get(other as usize)
            .is_some_and(|mention| linked.is_current(mention.record_idx));
        if !current {
            continue;
        }
        let stronger = best
            .get(&other)
            .is_none_or(|known| link.match_weight > known.match_weight);
        if stronger {
            best.insert(other, link);
        }
    }
    let mut links: Vec<(u32, sightline_linkage::Link)> = best.into_iter().collect();
    links.sort_by(|(a, x), (b, y)| y.match_weight.total_cmp(&x.match_weight).then(a.cmp(b)));
    links
        .into_iter()
        .take(limit.min(POSSIBLE_RECORDS_MAX))
        .filter_map(|(other, link)| {
            let subject = if other == link.left {
                link.right
            } else {
                link.left
            };
            let mut explanation = linked.index.explain(subject, other)?;
            relational_in_words(linked, subject, other, noun, &mut explanation);
            let relational = explanation
                .relational
                .as_ref()
                .is_some_and(|relational| relational.weight > 0.0);
            Some(PossibleRecord {
                mention: mention_view(linked, other, false)?,
                against: mention_view(linked, subject, false)?,
                probability_percent: (explanation.match_probability * 1000.0).round() / 10.0,
                relational,
                evidence: evidence_of(
                    linked,
                    link.left,
                    link.right,
                    link_kind_name(link.kind),
                    &explanation,
                ),
            })
        })
        .collect()
}

/// The records (mention indexes) of one person, in order.
pub fn person_records(linked: &LinkedRecords, person_id: &str) -> Vec<u32> {
    linked
        .person_of_mention
        .iter()
        .enumerate()
        .filter(|(_, id)| id.as_str() == person_id)
        .map(|(idx, _)| idx as u32)
        .collect()
}

fn identity_of(linked: &LinkedRecords, records: &[u32], whole_nhs: bool) -> Identity {
    let mentions: Vec<MentionRef> = records
        .iter()
        .filter_map(|record| linked.mentions.get(*record as usize).copied())
        .filter(|mention| linked.is_current(mention.record_idx))
        .collect();
    let facts = crate::picture::facts_of(linked, "", mentions);
    let nhs = facts.nhs_number;
    Identity {
        given_names: facts.given_names,
        family_name: facts.family_name,
        dob: facts.dob.map(|dob| dob.to_string()),
        sex: facts.sex.map(|sex| sex.as_str().to_owned()),
        nhs_number: if whole_nhs {
            nhs
        } else {
            nhs.as_deref().map(redact_nhs_number)
        },
        is_child: facts.is_child,
    }
}

/// The agencies that recorded a person (whom to contact).
pub fn person_agencies(linked: &LinkedRecords, person_id: &str) -> BTreeSet<String> {
    person_records(linked, person_id)
        .iter()
        .filter_map(|record| linked.mentions.get(*record as usize))
        .filter_map(|mention| linked.records.get(mention.record_idx))
        .map(|loaded| loaded.record.source.agency.as_str().to_owned())
        .collect()
}

/// A person in full: identity, every source mention, each link's waterfall and
/// the decisions about its mentions. `None` when no such person.
pub fn person_detail(
    store: &dyn Store,
    linked: &LinkedRecords,
    person_id: &str,
) -> Result<Option<PersonDetail>, PersonsError> {
    let records = person_records(linked, person_id);
    if records.is_empty() {
        return Ok(None);
    }
    let members: BTreeSet<u32> = records.iter().copied().collect();
    let mentions_truncated = records.len() > PERSON_MENTIONS_MAX;
    let mentions: Vec<MentionView> = records
        .iter()
        .take(PERSON_MENTIONS_MAX)
        .filter_map(|record| mention_view(linked, *record, true))
        .collect();
    let mut links = Vec::new();
    let mut links_truncated = false;
    let mut seen: BTreeSet<(u32, u32)> = BTreeSet::new();
    for link in linked.index.links() {
        let inside = members.contains(&link.left) && members.contains(&link.right);
        if !inside || !seen.insert((link.left, link.right)) {
            continue;
        }
        if links.len() >= PERSON_LINKS_MAX {
            links_truncated = true;
            break;
        }
        links.extend(evidence(
            linked,
            link.left,
            link.right,
            link_kind_name(link.kind),
        ));
    }
    let mut decisions: BTreeMap<i64, DecisionView> = BTreeMap::new();
    for mention in mentions.iter() {
        for row in store.linkage().decisions_for_key(&mention.key)? {
            decisions.insert(row.seq, DecisionView::from(&row));
        }
    }
    Ok(Some(PersonDetail {
        id: person_id.to_owned(),
        identity: identity_of(linked, &records, true),
        mentions,
        mentions_truncated,
        links,
        links_truncated,
        decisions: decisions.into_values().collect(),
    }))
}

/// A person's identity only (redacted NHS number) and the agencies that know
/// them: the minimal view, for whom the full detail is not allowed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonSummary {
    pub id: String,
    pub identity: Identity,
    pub agencies: Vec<String>,
    pub n_mentions: usize,
}

/// The minimal view of a person; `None` when no such person.
pub fn person_summary(linked: &LinkedRecords, person_id: &str) -> Option<PersonSummary> {
    let records = person_records(linked, person_id);
    if records.is_empty() {
        return None;
    }
    Some(PersonSummary {
        id: person_id.to_owned(),
        identity: identity_of(linked, &records, false),
        agencies: person_agencies(linked, person_id).into_iter().collect(),
        n_mentions: records.len(),
    })
}

/// A search: a name (given names then family name) and/or a date of birth.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub name: Option<String>,
    pub dob: Option<String>,
}

/// One person found, with the best score of any of their mentions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResult {
    #[serde(flatten)]
    pub person: PersonSummary,
    pub match_weight: f64,
    pub match_probability: f64,
}

/// The linkage input of a query: the last word of the name is the family name,
/// the words before it the given names (the linkage also tries them swapped).
fn query_mention(query: &SearchQuery) -> Result<MentionInput, PersonsError> {
    let name = query.name.as_deref().map(str::trim).unwrap_or("");
    let dob = query.dob.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() && dob.is_empty() {
        return Err(PersonsError::BadRequest(
            "give a name, a date of birth or both",
        ));
    }
    if name.chars().count() > SEARCH_NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return Err(PersonsError::BadRequest(
            "the name is too long or holds control characters",
        ));
    }
    let mut mention = MentionInput::new("\u{0}search");
    if !dob.is_empty() {
        sightline_core::PartialDate::parse(dob)
            .map_err(|_| PersonsError::BadRequest("dob must be YYYY, YYYY-MM or YYYY-MM-DD"))?;
        mention = mention.with("dob", dob);
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    if let Some((family, given)) = words.split_last() {
        mention = mention.with("family_name", *family);
        if !given.is_empty() {
            mention = mention.with("given_names", given.join(" "));
        }
    }
    Ok(mention)
}

/// Fuzzy search through the linkage's own blocking and model: persons best first.
pub fn search_persons(
    linked: &mut LinkedRecords,
    query: &SearchQuery,
    limit: usize,
) -> Result<Vec<SearchResult>, PersonsError> {
    let mention = query_mention(query)?;
    let limit = limit.clamp(1, SEARCH_HITS_MAX);
    // Ask for more mentions than persons: one person has several.
    let wanted = limit.saturating_mul(20);
    let no_dob = query.dob.as_deref().is_none_or(|dob| dob.trim().is_empty());
    let mut hits = if no_dob {
        // Every name blocking rule also keys on the birth year, so a name alone
        // is searched once per birth year the log holds (as a year-only date).
        let years: BTreeSet<i32> = linked
            .mentions
            .iter()
            .filter_map(|mention| {
                let person = linked.person_of(*mention);
                person.dob.or(person.expected_dob).map(|dob| dob.year())
            })
            .collect();
        let mut hits = Vec::new();
        for year in years.into_iter().rev().take(SEARCH_YEARS_MAX) {
            let by_year = mention.clone().with("dob", year.to_string());
            hits.extend(
                linked
                    .index
                    .search(&by_year, SEARCH_PROBABILITY_MIN, wanted),
            );
        }
        hits
    } else {
        linked
            .index
            .search(&mention, SEARCH_PROBABILITY_MIN, wanted)
    };
    hits.sort_by(|a, b| {
        b.match_weight
            .total_cmp(&a.match_weight)
            .then(a.record.cmp(&b.record))
    });
    let mut best: Vec<(String, f64, f64)> = Vec::new();
    for hit in hits {
        let Some(person_id) = linked.person_of_mention.get(hit.record as usize) else {
            continue;
        };
        if best.iter().any(|(id, ..)| id == person_id) {
            continue; // Hits come best first.
        }
        best.push((person_id.clone(), hit.match_weight, hit.match_probability));
        if best.len() >= limit {
            break;
        }
    }
    Ok(best
        .into_iter()
        .filter_map(|(person_id, match_weight, match_probability)| {
            Some(SearchResult {
                person: person_summary(linked, &person_id)?,
                match_weight,
                match_probability,
            })
        })
        .collect())
}

/// A pair waiting for a person's decision: both mentions, their persons now, and
/// the waterfall.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewPair {
    pub left: MentionView,
    pub right: MentionView,
    pub left_person: String,
    pub right_person: String,
    pub evidence: LinkEvidence,
}

/// The review queue: pairs scored between the review and link thresholds with no
/// decision yet, most likely matches first, at most `limit`.
pub fn review_queue(linked: &LinkedRecords, limit: usize) -> Vec<ReviewPair> {
    let mut queue = linked.index.review_queue();
    queue.sort_by(|a, b| {
        b.match_weight
            .total_cmp(&a.match_weight)
            .then((a.left, a.right).cmp(&(b.left, b.right)))
    });
    queue
        .into_iter()
        .take(limit.min(REVIEW_PAIRS_MAX))
        .filter_map(|link| {
            Some(ReviewPair {
                left: mention_view(linked, link.left, false)?,
                right: mention_view(linked, link.right, false)?,
                left_person: linked.person_of_mention.get(link.left as usize)?.clone(),
                right_person: linked.person_of_mention.get(link.right as usize)?.clone(),
                evidence: evidence(linked, link.left, link.right, link_kind_name(link.kind))?,
            })
        })
        .collect()
}

/// One pair of the review queue by its mentions' keys (either order), when it
/// waits for review (see [`review_queue`]).
pub fn review_pair(linked: &LinkedRecords, left_key: &str, right_key: &str) -> Option<ReviewPair> {
    let (a, b) = (
        linked.index.record_of(left_key)?,
        linked.index.record_of(right_key)?,
    );
    let link = linked.index.review_link(a, b)?;
    Some(ReviewPair {
        left: mention_view(linked, link.left, false)?,
        right: mention_view(linked, link.right, false)?,
        left_person: linked.person_of_mention.get(link.left as usize)?.clone(),
        right_person: linked.person_of_mention.get(link.right as usize)?.clone(),
        evidence: evidence(linked, link.left, link.right, link_kind_name(link.kind))?,
    })
}

/// The persons of `linked` as id -> sorted mention keys.
pub fn partition(linked: &LinkedRecords) -> BTreeMap<String, Vec<String>> {
    let mut persons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (record, person_id) in linked.person_of_mention.iter().enumerate() {
        persons
            .entry(person_id.clone())
            .or_default()
            .push(linked.index.key_of(record as u32).to_owned());
    }
    for keys in persons.values_mut() {
        keys.sort_unstable();
    }
    persons
}

/// How many persons differ between two linkings (present in one only, or with
/// other mentions).
pub fn changed_persons(a: &LinkedRecords, b: &LinkedRecords) -> usize {
    let (a, b) = (partition(a), partition(b));
    let ids: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    ids.into_iter()
        .filter(|id| a.get(*id) != b.get(*id))
        .count()
}

/// Links `records` one by one with the frozen model of `like` (same settings),
/// taking the decisions `rows` in between: each decision once every record
/// received before it was linked (the order the live system saw them).
pub fn link_incrementally(
    like: &LinkedRecords,
    records: Vec<LoadedRecord>,
    rows: &[LinkageDecisionRow],
) -> Result<LinkedRecords, PersonsError> {
    let index = LinkageIndex::new(
        like.index.settings().clone(),
        like.index.model().clone(),
        LinkScope::Dedupe,
    );
    let mut linked = LinkedRecords::new(Vec::new(), Vec::new(), index);
    let mut decisions = Decisions::default();
    let mut pending = rows.iter().peekable();
    for loaded in records {
        let received_us = crate::to_micros(loaded.received_at);
        while let Some(row) = pending.next_if(|row| row.at_us < received_us) {
            apply_decision(&mut linked, &mut decisions, row)?;
        }
        add_record(&mut linked, &decisions, loaded)?;
    }
    for row in pending {
        apply_decision(&mut linked, &mut decisions, row)?;
    }
    Ok(linked)
}

/// What a rebuild found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct RebuildReport {
    pub records: usize,
    pub mentions: usize,
    pub persons: usize,
    pub links: usize,
    pub review_pairs: usize,
    /// Decisions stored (every event, standing or not).
    pub decisions_stored: usize,
    /// Standing verdicts naming two mentions of the log: applied.
    pub decisions_applied: usize,
    /// Persons that differ between the rebuild and linking record by record.
    pub changed_persons: usize,
    /// Whether the rebuild equals linking record by record (`changed_persons == 0`).
    pub equal: bool,
}

/// Recomputes persons from the log and the decisions (batch), links the same
/// records one by one with the same frozen model and the decisions in between,
/// and reports whether both give the same persons.
pub fn rebuild(store: &dyn Store) -> Result<(LinkedRecords, RebuildReport), PersonsError> {
    let records = load_versions(store, None)?;
    let rows = load_decisions(store)?;
    let decisions = Decisions::from_rows(&rows);
    let rebuilt = link_records_with(
        records.clone(),
        ModelChoice::Automatic,
        &decisions.standing(),
    )?;
    let incremental = link_incrementally(&rebuilt, records, &rows)?;
    let changed = changed_persons(&rebuilt, &incremental);
    let report = RebuildReport {
        records: rebuilt.records.len(),
        mentions: rebuilt.mentions.len(),
        persons: person_facts(&rebuilt).len(),
        links: rebuilt
            .index
            .links()
            .iter()
            .filter(|link| link.kind != LinkKind::Review)
            .count(),
        review_pairs: rebuilt.index.review_queue().len(),
        decisions_stored: rows.len(),
        decisions_applied: applicable_decisions(&rebuilt, &decisions),
        changed_persons: changed,
        equal: changed == 0,
    };
    Ok((rebuilt, report))
}
