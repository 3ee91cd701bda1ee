//! The relationships agencies hold with children through their records: which
//! are in force, and recording the new ones intake establishes.
//!
//! The identity check is [`sightline_access::corroborated`]: a record establishes
//! its agency's relationship with a child only when it is the child's first
//! record or carries an NHS number or address an established agency gave. Every
//! relationship so established is a row of the store's `relationships` table
//! (append-only), written in the transaction of the records that established it,
//! with a notice to the child's lead agency and the privacy officer; an agency's
//! intake establishes at most [`RelationshipPolicy::per_agency_day`] new ones in
//! any 24 hours, and the rest are held (recorded, and told to the privacy
//! officer) until the agency is under its limit again.
//!
//! A [`Ledger`] keeps the rows in memory, inside the engine, so an access
//! decision reads them under the engine's lock without a query.
//!
//! - Invariant: a relationship is in force only while a row established it for
//!   that child and agency and the row's record still links to the child (a
//!   split that moves the record away ends it; a merge that changes the child's
//!   id establishes it again, with a new notice).
//! - Invariant: only an agency's own intake counts against its daily limit;
//!   records an operator loads with the command line establish without a limit
//!   (the operator holds the database), and relationships found in a log from
//!   before they were recorded are recorded once, without notices.

use crate::picture::{LinkedRecords, LoadedRecord, MentionRef, PersonFacts, address_key};
use sightline_access::{MentionIdentity, RecordBasis, corroborated};
use sightline_core::Kind;
use sightline_core::org::{AgencyType, Organisation};
use sightline_store::{
    NewRelationship, Notify, RELATIONSHIP_ESTABLISHED, RELATIONSHIP_HELD, RelationshipRow, Store,
    StoreError, WriteTx,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// A day, in microseconds: the window of the per-agency limit.
const DAY_US: i64 = 24 * 60 * 60 * 1_000_000;
/// Rows read per page when loading.
const LOAD_PAGE_ROWS: u32 = 10_000;

/// Limits on new relationships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationshipPolicy {
    /// New relationships one agency's intake may establish in any 24 hours;
    /// beyond it they are held.
    pub per_agency_day: u32,
    /// How long after its decision an alert still lets those it was routed to
    /// read its child and evidence.
    pub alert_days_after_decision: u32,
}

impl Default for RelationshipPolicy {
    fn default() -> Self {
        RelationshipPolicy {
            per_agency_day: 500,
            alert_days_after_decision: 30,
        }
    }
}

/// Who sent the records a relationship rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeSource {
    /// An agency's system with its token (the API), or Sightline re-evaluating
    /// in service: counted against the agency's daily limit, and told.
    Agency,
    /// An operator at the command line (`sightline ingest`, `demo`): told, not
    /// limited.
    Operator,
    /// Found in a log from before relationships were recorded: neither.
    Existing,
}

impl IntakeSource {
    fn as_str(self) -> &'static str {
        match self {
            IntakeSource::Agency => "agency",
            IntakeSource::Operator => "operator",
            IntakeSource::Existing => "existing",
        }
    }
}

/// One relationship row as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Established {
    seq: i64,
    mention_key: String,
}

/// The relationship rows, in memory.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Established rows by (child id, agency).
    established: HashMap<(String, String), Vec<Established>>,
    /// Held (child id, agency) pairs with no established row since.
    held: BTreeMap<(String, String), i64>,
    /// When each agency's limited relationships were established, oldest first.
    limited_at: HashMap<String, VecDeque<i64>>,
    /// The newest row read.
    last_seq: i64,
    /// Rows read in all.
    n_rows: u64,
    /// How many records of each kind family (`social_care`, `police`...) each
    /// agency sent: its type when the organisation does not say.
    agency_kinds: HashMap<String, BTreeMap<&'static str, u64>>,
    /// The agencies' types.
    organisation: Arc<Organisation>,
    policy: RelationshipPolicy,
}

/// The key of a mention as relationships name it: `agency/record_id/ref`.
pub fn mention_key(linked: &LinkedRecords, mention: MentionRef) -> String {
    let record = &linked.records[mention.record_idx].record;
    let person_ref = record
        .persons
        .get(mention.person_idx)
        .map_or("", |person| person.person_ref.as_str());
    format!(
        "{}/{}/{person_ref}",
        record.source.agency, record.source.record_id
    )
}

/// Whether a kind is an episode record of children's social care (a referral,
/// assessment, plan, visit...; not the closing of a case).
fn is_episode_kind(kind: Kind) -> bool {
    is_social_care(kind) && kind != Kind::SocialCareCaseClosed
}

/// The family of a kind: the part before the dot.
fn kind_family(kind: Kind) -> &'static str {
    let name = kind.as_str();
    name.split_once('.').map_or(name, |(family, _)| family)
}

/// The child's lead agency, told of new access: of the agencies established with
/// the child, the one that sent its most recent children's social care record,
/// else the agency of its first record.
pub fn lead_agency(
    linked: &LinkedRecords,
    facts: &PersonFacts,
    established: &[&str],
) -> Option<String> {
    let social_care = facts
        .mentions
        .iter()
        .filter(|mention| linked.is_current(mention.record_idx))
        .map(|mention| &linked.records[mention.record_idx])
        .filter(|loaded| is_social_care(loaded.record.kind))
        .filter(|loaded| established.contains(&loaded.record.source.agency.as_str()))
        .max_by_key(|loaded| (loaded.record.recorded_at, loaded.seq))
        .map(|loaded| loaded.record.source.agency.as_str().to_owned());
    social_care.or_else(|| established.first().map(|agency| (*agency).to_owned()))
}

fn is_social_care(kind: Kind) -> bool {
    kind.as_str().starts_with("social_care.")
}

impl Ledger {
    /// Estimated bytes ([`crate::memory`]) and the number of (child, agency)
    /// pairs established.
    pub fn memory_bytes(&self) -> (usize, usize) {
        use sightline_linkage::memory::{btree_map_bytes, deque_bytes, hash_map_bytes, vec_bytes};
        let established = hash_map_bytes(&self.established)
            + self
                .established
                .iter()
                .map(|((child, agency), rows)| {
                    child.capacity()
                        + agency.capacity()
                        + vec_bytes(rows)
                        + rows
                            .iter()
                            .map(|row| row.mention_key.capacity())
                            .sum::<usize>()
                })
                .sum::<usize>();
        let held = btree_map_bytes(&self.held)
            + self
                .held
                .keys()
                .map(|(child, agency)| child.capacity() + agency.capacity())
                .sum::<usize>();
        let limited = hash_map_bytes(&self.limited_at)
            + self.limited_at.values().map(deque_bytes).sum::<usize>();
        let kinds = hash_map_bytes(&self.agency_kinds)
            + self
                .agency_kinds
                .values()
                .map(btree_map_bytes)
                .sum::<usize>();
        (established + held + limited + kinds, self.established.len())
    }

    /// The identity the current mentions of a person give, for the identity
    /// check.
    pub fn identities(&self, linked: &LinkedRecords, facts: &PersonFacts) -> Vec<MentionIdentity> {
        facts
            .mentions
            .iter()
            .filter(|mention| linked.is_current(mention.record_idx))
            .map(|mention| {
                let loaded = &linked.records[mention.record_idx];
                let agency = loaded.record.source.agency.as_str();
                let person = linked.person_of(*mention);
                MentionIdentity {
                    agency: agency.to_owned(),
                    seq: loaded.seq,
                    mention_key: mention_key(linked, *mention),
                    nhs_number: person.nhs_number.as_ref().map(ToString::to_string),
                    address: person.address.as_ref().and_then(address_key),
                    opens_episode: is_episode_kind(loaded.record.kind)
                        && self.is_social_care_agency(agency),
                }
            })
            .collect()
    }

    /// Counts the kinds of records an agency sent (every version), to know its
    /// type when the organisation does not say.
    pub fn count_records<'a>(&mut self, records: impl IntoIterator<Item = &'a LoadedRecord>) {
        for loaded in records {
            *self
                .agency_kinds
                .entry(loaded.record.source.agency.as_str().to_owned())
                .or_default()
                .entry(kind_family(loaded.record.kind))
                .or_default() += 1;
        }
    }

    /// Whether the agency is children's social care: as the organisation file
    /// says, or for an agency it does not name, as most of its records say
    /// (`sightline org check` warns of such agencies).
    pub fn is_social_care_agency(&self, agency: &str) -> bool {
        let agency_type = match self.organisation.agency(agency) {
            Some(profile) => profile.agency_type,
            None => AgencyType::from_kinds(self.agency_kinds.get(agency).into_iter().flat_map(
                |families| {
                    families
                        .iter()
                        .flat_map(|(family, count)| std::iter::repeat_n(*family, *count as usize))
                },
            )),
        };
        agency_type == AgencyType::SocialCare
    }

    /// An empty ledger with `policy`, typing agencies by `organisation`.
    pub fn new(policy: RelationshipPolicy, organisation: Arc<Organisation>) -> Ledger {
        Ledger {
            established: HashMap::new(),
            held: BTreeMap::new(),
            limited_at: HashMap::new(),
            last_seq: 0,
            n_rows: 0,
            agency_kinds: HashMap::new(),
            organisation,
            policy,
        }
    }

    /// Reads the rows appended since the ledger last looked (by another process).
    pub fn catch_up(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        loop {
            let rows = store
                .access()
                .relationships(self.last_seq, LOAD_PAGE_ROWS)?;
            let full_page = rows.len() == LOAD_PAGE_ROWS as usize;
            for row in &rows {
                self.apply(row);
            }
            if !full_page {
                return Ok(());
            }
        }
    }

    /// The limits in force.
    pub fn policy(&self) -> RelationshipPolicy {
        self.policy
    }

    /// Changes the limits.
    pub fn set_policy(&mut self, policy: RelationshipPolicy) {
        self.policy = policy;
    }

    /// Whether no row was ever recorded.
    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    /// Takes one stored row into memory (rows newer than the ledger's newest).
    pub fn apply(&mut self, row: &RelationshipRow) {
        if row.seq <= self.last_seq {
            return;
        }
        self.last_seq = row.seq;
        self.n_rows += 1;
        let key = (row.child_id.clone(), row.agency.clone());
        if row.state == RELATIONSHIP_ESTABLISHED {
            self.held.remove(&key);
            self.established.entry(key).or_default().push(Established {
                seq: row.seq,
                mention_key: row.mention_key.clone(),
            });
            if row.source == IntakeSource::Agency.as_str()
                && row.basis != RecordBasis::FirstRecord.as_str()
            {
                let times = self.limited_at.entry(row.agency.clone()).or_default();
                while times
                    .front()
                    .is_some_and(|at| *at <= row.at_us.saturating_sub(DAY_US))
                {
                    times.pop_front();
                }
                times.push_back(row.at_us);
            }
        } else if row.state == RELATIONSHIP_HELD && !self.established.contains_key(&key) {
            self.held.insert(key, row.at_us);
        }
    }

    /// The relationship row in force between `agency` and the child, given the
    /// child's current mentions: an established row for this child and agency
    /// whose mention is still one of the child's.
    pub fn in_force(
        &self,
        child_id: &str,
        agency: &str,
        mentions: &[MentionIdentity],
    ) -> Option<i64> {
        let rows = self
            .established
            .get(&(child_id.to_owned(), agency.to_owned()))?;
        rows.iter()
            .find(|row| {
                mentions.iter().any(|mention| {
                    mention.agency == agency && mention.mention_key == row.mention_key
                })
            })
            .map(|row| row.seq)
    }

    /// Every agency with a relationship in force with the child, and its row.
    pub fn agencies_in_force(
        &self,
        child_id: &str,
        mentions: &[MentionIdentity],
    ) -> Vec<(String, i64)> {
        let mut agencies: Vec<&str> = mentions.iter().map(|m| m.agency.as_str()).collect();
        agencies.sort_unstable();
        agencies.dedup();
        agencies
            .into_iter()
            .filter_map(|agency| {
                self.in_force(child_id, agency, mentions)
                    .map(|seq| (agency.to_owned(), seq))
            })
            .collect()
    }

    /// The (child, agency) pairs held over a limit, waiting.
    pub fn held_children(&self) -> impl Iterator<Item = &str> {
        self.held.keys().map(|(child_id, _)| child_id.as_str())
    }

    /// How many limited relationships `agency` established in the 24 hours
    /// before `now_us`.
    fn established_in_day(&self, agency: &str, now_us: i64) -> usize {
        self.limited_at.get(agency).map_or(0, |times| {
            times
                .iter()
                .filter(|at| **at > now_us.saturating_sub(DAY_US))
                .count()
        })
    }

    /// The rows to record for one child: each agency the identity check
    /// establishes that has no relationship in force, established (and told)
    /// or, over the agency's daily limit, held (once).
    pub fn plan_child(
        &self,
        linked: &LinkedRecords,
        facts: &PersonFacts,
        source: IntakeSource,
        now_us: i64,
        planned_per_agency: &mut HashMap<String, usize>,
    ) -> Vec<NewRelationship> {
        let mentions = self.identities(linked, facts);
        let found = corroborated(&mentions);
        if found.is_empty() {
            return Vec::new();
        }
        let agencies: Vec<&str> = found.iter().map(|found| found.agency.as_str()).collect();
        let lead = lead_agency(linked, facts, &agencies);
        let mut rows = Vec::new();
        for corroboration in &found {
            if self
                .in_force(&facts.id, &corroboration.agency, &mentions)
                .is_some()
            {
                continue;
            }
            let key = (facts.id.clone(), corroboration.agency.clone());
            // The first record opens the child's file: it shows its agency
            // nobody else's records, so it is recorded but neither limited nor
            // told (else every new baby a GP registers would be a notice).
            let first = corroboration.basis == RecordBasis::FirstRecord;
            let limited = source == IntakeSource::Agency && !first;
            let planned = planned_per_agency
                .entry(corroboration.agency.clone())
                .or_default();
            let over_limit = limited
                && self.established_in_day(&corroboration.agency, now_us) + *planned
                    >= self.policy.per_agency_day as usize;
            let (state, notify) = if over_limit {
                if self.held.contains_key(&key) {
                    continue;
                }
                (RELATIONSHIP_HELD, Notify::To(None))
            } else {
                if limited {
                    *planned += 1;
                }
                let notify = match source {
                    _ if first => Notify::Nobody,
                    IntakeSource::Existing => Notify::Nobody,
                    IntakeSource::Agency | IntakeSource::Operator => Notify::To(lead.clone()),
                };
                (RELATIONSHIP_ESTABLISHED, notify)
            };
            rows.push(NewRelationship {
                at_us: now_us,
                child_id: facts.id.clone(),
                agency: corroboration.agency.clone(),
                basis: corroboration.basis.as_str().to_owned(),
                mention_key: corroboration.mention_key.clone(),
                state: state.to_owned(),
                source: source.as_str().to_owned(),
                notify,
            });
        }
        rows
    }

    /// Plans, writes in `tx` and takes into memory the relationships of
    /// `children` (those that are children). Returns the rows written.
    pub fn establish<'a>(
        &mut self,
        tx: &mut dyn WriteTx,
        linked: &LinkedRecords,
        facts: &BTreeMap<String, PersonFacts>,
        children: impl IntoIterator<Item = &'a str>,
        source: IntakeSource,
        now_us: i64,
    ) -> Result<Vec<RelationshipRow>, StoreError> {
        let mut planned_per_agency = HashMap::new();
        let mut rows = Vec::new();
        for child_id in children {
            if let Some(child) = facts.get(child_id).filter(|facts| facts.is_child) {
                rows.extend(self.plan_child(
                    linked,
                    child,
                    source,
                    now_us,
                    &mut planned_per_agency,
                ));
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let stored = tx.append_relationships(&rows)?;
        for row in &stored {
            self.apply(row);
        }
        Ok(stored)
    }
}
