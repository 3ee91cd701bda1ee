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
    load_versions, mention_inputs, person_facts,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sightline_linkage::{HardRule, LinkKind, LinkScope, LinkageIndex, MentionInput, Verdict};
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
    let records = std::mem::take(&mut linked.records);
    let (mentions, inputs) = mention_inputs(&records);
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
        &inputs,
        &standing,
    )?;
    *linked = LinkedRecords::new(records, mentions, index);
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
/// in `linked`. The decision is stored first.
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

/// The waterfall of a pair of linkage records.
fn evidence(linked: &LinkedRecords, left: u32, right: u32, kind: &str) -> Option<LinkEvidence> {
    let explanation = linked.index.explain(left, right)?;
    Some(LinkEvidence {
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
    })
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
                evidence: evidence(linked, link.left, link.right, "review")?,
            })
        })
        .collect()
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
