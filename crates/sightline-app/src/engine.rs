//! The intake engine: the multi-agency picture kept in memory and brought up to
//! date by every intake batch, so alerts are raised in the record's own
//! transaction.
//!
//! An [`Engine`] holds every version of every record (the newest of each is
//! current; older ones stay as history), the linkage index over all their person
//! mentions, each person's facts (from current versions), the address index and
//! the rule pack. [`Engine::load`] builds it from the log (as [`crate::picture`]
//! does for a one-off evaluation). For each intake batch, inside the write
//! transaction and before it commits, [`Engine::on_intake`]:
//!
//! 1. adds the batch's records ([`LinkedRecords::add_records_deciding`]): new
//!    mentions are linked one at a time with the frozen model, standing
//!    decisions naming them applied as they come; a new version of a held
//!    record adds its mentions too, and the old version stops being current (its
//!    mentions stay in the index as evidence of identity, so nothing is
//!    relinked); only the first batch into an empty engine is linked as one batch
//!    (on two threads, with the same frozen model). Cost: the batch, plus the
//!    mentions whose person the index reports changed;
//! 2. finds the children whose picture may have changed: the persons mentioned by
//!    the new records, moved between persons by them or mentioned by a version
//!    they superseded, every child in a record of those persons, and every child
//!    recorded at one of their addresses (after the first batch into an empty
//!    engine: every child);
//! 3. evaluates the pack for those children at `now` (the batch's `received_at`:
//!    the wall clock in service), groups the firings into alerts with the
//!    deterministic ids of [`alerts_from_firings`], routes them ([`route_alert`]),
//!    gives them due times ([`DueTimes`]) and writes them with
//!    `WriteTx::upsert_alerts`.
//!
//! Invariant: the engine holds only what the log holds. Intake takes the engine's
//! write lock before its transaction begins and keeps it until the commit; if the
//! commit (or anything before it) fails, the engine is marked stale and reloaded
//! from the log before its next use. Before each batch the engine also reads any
//! rows appended by another process since it last looked (catch-up; their alerts
//! were written by that process, the children are re-evaluated at the next tick).
//!
//! Invariant: the alerts the engine writes for a child are the alerts a batch
//! evaluation over the same records computes for that child: linking in log order
//! with a frozen model gives the same persons either way, and the rules evaluate
//! as a sweep in arrival order, so evaluating after every record and once at the
//! end give the same firings (see `sightline_rules::evaluate`). Alerts are never
//! deleted: a person split or merged later by new evidence keeps the alerts raised
//! under their earlier id.
//!
//! The linkage model is chosen once, at load: the reference model under
//! [`crate::picture::TRAINING_MENTIONS_MIN`] mentions, else one trained on the
//! log with the fixed seed. It stays frozen for the life of the engine (an engine
//! loaded on an empty log keeps the reference model however much it ingests); it
//! is chosen again only when the engine is reloaded (a restart, or after a failed
//! write) or by `link --rebuild`, which both link the whole log.
//!
//! Time-based rules (statutory clocks, "not seen") fire without new records: when
//! a child is evaluated the engine also looks [`EngineConfig::clock_horizon_days`]
//! ahead and keeps the time of the child's next pending firing in a wake queue;
//! [`Engine::tick`] re-evaluates the children whose time has come.
//!
//! Linkage decisions: [`Engine::load`] links with the standing decisions
//! ([`crate::persons::load_decisions`]) and a standing decision naming a mention
//! is applied when that mention is linked (as [`crate::persons::link_incrementally`]
//! does; decisions name linkage keys, so one made about a version binds to that
//! version's mention). A decision is recorded and applied under the write lock with
//! [`Engine::decide`] (through [`crate::persons::decide`]), or a stored one
//! applied with [`SharedEngine::apply_decision`] (through
//! [`crate::persons::apply_decision`]); decisions stored by another process are
//! taken at catch-up. The children
//! around the persons a decision changed are re-evaluated at the next tick.
//!
//! Readers (the web UI) use [`SharedEngine::read`]: a closure gets `&Engine` and
//! can call [`Engine::linked`] (records and persons), [`Engine::facts`] (each
//! person's facts by id), [`Engine::addresses`], [`Engine::pack`] and
//! [`Engine::child_picture`]. Intake holds the write lock for the length of a
//! batch, so keep read closures short and never call into intake from one.

use crate::clock_book::ClockBook;
use crate::persons::{Decisions, PersonsError};
use crate::picture::{
    AddressIndex, Alert, LinkedRecords, LoadedRecord, PersonFacts, PictureError,
    alerts_from_firings, child_picture_with, facts_of, link_records_with, load_versions_after,
};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sightline_core::org::Organisation;
use sightline_rules::{ChildPicture, Firing, Pack, Route, Severity};
use sightline_store::{
    AlertChange, AlertFilter, AlertRow, AlertUpsert, ESCALATION_HEAD_OF_SERVICE,
    ESCALATION_TEAM_MANAGER, EvidenceRow, STATUS_OPEN, Store, StoreError, WriteTx,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockWriteGuard};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Picture(#[from] PictureError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Persons(#[from] PersonsError),
    #[error("the engine's lock was poisoned by a panic")]
    Poisoned,
    #[error("the rule pack routes alerts nobody in the organisation can receive:\n{}", .0.join("\n"))]
    UnreceivableRoutes(Vec<String>),
}

/// How long an alert of one severity may stay open before it escalates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuePeriod {
    /// Clock hours.
    Hours(u32),
    /// Working days in England and Wales (weekends and bank holidays excluded),
    /// at the same time of day.
    WorkingDays(u32),
}

impl DuePeriod {
    /// The end of the period that starts at `from`.
    pub fn after(self, from: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            DuePeriod::Hours(hours) => from + Duration::hours(i64::from(hours)),
            DuePeriod::WorkingDays(days) => {
                let date = sightline_rules::calendar::add_working_days(from.date_naive(), days);
                let time: NaiveTime = from.time();
                date.and_time(time).and_utc()
            }
        }
    }

    /// Parses `4h` (hours) or `3wd` (working days).
    pub fn parse(text: &str) -> Option<DuePeriod> {
        let text = text.trim();
        if let Some(hours) = text.strip_suffix('h') {
            return hours.parse().ok().map(DuePeriod::Hours);
        }
        text.strip_suffix("wd")?
            .parse()
            .ok()
            .map(DuePeriod::WorkingDays)
    }
}

/// Due times by severity. Default: critical 4 hours, high 1 working day, medium
/// 3 working days, low 10 working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimes {
    pub critical: DuePeriod,
    pub high: DuePeriod,
    pub medium: DuePeriod,
    pub low: DuePeriod,
}

impl Default for DueTimes {
    fn default() -> Self {
        DueTimes {
            critical: DuePeriod::Hours(4),
            high: DuePeriod::WorkingDays(1),
            medium: DuePeriod::WorkingDays(3),
            low: DuePeriod::WorkingDays(10),
        }
    }
}

impl DueTimes {
    pub fn period(&self, severity: Severity) -> DuePeriod {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub due: DueTimes,
    /// How far ahead a child's evaluation looks for pending clock firings.
    pub clock_horizon_days: i64,
    /// The agencies, their teams, each local authority's duty team and head of
    /// service, and the safeguarding leads (`sightline serve --org FILE`).
    pub organisation: Arc<Organisation>,
    /// Limits on the relationships intake establishes.
    pub relationships: crate::relationships::RelationshipPolicy,
    /// Where record bodies are read from on demand and how many are kept
    /// ([`crate::bodies`]); `None`: every body stays in memory.
    pub record_cache: Option<crate::bodies::BodyCacheConfig>,
    /// A read-only follower (`sightline serve --follow`): the engine never
    /// writes to the database (not even the relationships of an old log at
    /// load: the writer records those); it follows the log
    /// ([`SharedEngine::follow`]).
    pub follower: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            due: DueTimes::default(),
            clock_horizon_days: 400,
            organisation: Arc::new(Organisation::unconfigured()),
            relationships: crate::relationships::RelationshipPolicy::default(),
            record_cache: None,
            follower: false,
        }
    }
}

/// An alert as computed by the engine, with whom it goes to and when it is due.
#[derive(Debug, Clone)]
pub struct RoutedAlert {
    pub alert: Alert,
    /// The rule's route, as a name (`duty_team`, `allocated_worker:...`).
    pub route: String,
    /// Whom it is routed to: a user (`user:NAME`) or a team (`team:...`).
    pub routed_to: String,
    /// When it must be decided by, counted from when the engine raised it.
    pub due_at: DateTime<Utc>,
}

/// The rule's route as a stable name.
pub fn route_name(route: &Route) -> String {
    match route {
        Route::AllocatedWorker(worker) => format!("allocated_worker:{worker}"),
        Route::AllocatedTeam(team) => format!("allocated_team:{team}"),
        Route::DutyTeam => "duty_team".to_owned(),
        Route::HealthSafeguardingLead => "health_safeguarding_lead".to_owned(),
        Route::PoliceSafeguarding => "police_safeguarding".to_owned(),
        Route::TeamManager => "team_manager".to_owned(),
    }
}

/// The in-memory picture, kept up to date by intake.
pub struct Engine {
    pack: Pack,
    config: EngineConfig,
    linked: LinkedRecords,
    facts: BTreeMap<String, PersonFacts>,
    addresses: AddressIndex,
    /// People's linkage decisions: the standing verdicts the persons respect.
    decisions: Decisions,
    /// The highest log `seq` the engine has read.
    last_seq: Option<i64>,
    /// Children with a pending time-based firing, by when it falls due.
    wake: BTreeSet<(DateTime<Utc>, String)>,
    wake_of: HashMap<String, DateTime<Utc>>,
    /// Every child's statutory clocks as of its last evaluation.
    clocks: ClockBook,
    /// The relationships agencies hold with children through their records.
    relationships: crate::relationships::Ledger,
    /// Set when an intake failed after changing the engine: reload before use.
    stale: bool,
    /// The newest erasure when the engine was loaded: a newer one (made by
    /// this or another process) means a reload, so nothing erased stays in
    /// the linkage index, the facts or the body cache.
    newest_erasure: Option<i64>,
}

/// What one evaluation found.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub children: usize,
    pub alerts: Vec<RoutedAlert>,
}

impl Engine {
    /// Builds the engine from the log. Every child is due for a time-based
    /// re-evaluation at `now` (so clocks that fell due while no engine ran are
    /// caught by the first tick).
    pub fn load(
        store: &dyn Store,
        pack: Pack,
        config: EngineConfig,
        now: DateTime<Utc>,
    ) -> Result<Engine, EngineError> {
        let newest_erasure = store.newest_erasure()?;
        let loaded = load_versions_after(store, None, None)?;
        let decisions = Decisions::from_rows(&crate::persons::load_decisions(store)?);
        let mut engine = Engine::from_records_with(pack, config, loaded.records, decisions)?;
        engine.last_seq = loaded.last_seq;
        engine.newest_erasure = newest_erasure;
        engine.relationships.catch_up(store)?;
        let children: Vec<String> = engine.children().map(str::to_owned).collect();
        if engine.relationships.is_empty() && !children.is_empty() && !engine.config.follower {
            // A log from before relationships were recorded: record the ones its
            // records establish, once, without notices or limits.
            let mut tx = store.begin()?;
            engine.relationships.establish(
                tx.as_mut(),
                &engine.linked,
                &engine.facts,
                children.iter().map(String::as_str),
                crate::relationships::IntakeSource::Existing,
                crate::to_micros(now),
            )?;
            tx.commit()?;
        }
        for child in children {
            engine.set_wake(&child, Some(now));
        }
        if let Some(cache) = engine.config.record_cache.clone() {
            // The whole log is committed: nothing to pin.
            engine
                .linked
                .records
                .read_from(cache, true)
                .map_err(|error| PictureError::BodyUnreadable(error.0))?;
            engine.linked.records.trim();
        }
        Ok(engine)
    }

    /// Fails when a record body read since the failure count was
    /// `failures_before` could not be read ([`crate::bodies`]): what was
    /// computed over its placeholder must not be written or shown.
    pub fn check_bodies(&self, failures_before: u64) -> Result<(), EngineError> {
        let failed = self
            .linked
            .records
            .failures()
            .saturating_sub(failures_before);
        if failed > 0 {
            return Err(PictureError::BodiesUnreadable(failed).into());
        }
        Ok(())
    }

    /// How many record body reads have failed so far.
    pub fn body_failures(&self) -> u64 {
        self.linked.records.failures()
    }

    /// The batch of the last [`Engine::on_intake`] is committed: its record
    /// bodies are unpinned and the cache trimmed to its bound.
    pub fn committed(&mut self) {
        self.linked.records.unpin_all();
        self.linked.records.trim();
    }

    /// Drops record bodies beyond the cache's bound ([`crate::bodies`]).
    pub fn trim_bodies(&mut self) -> usize {
        self.linked.records.trim()
    }

    /// An engine over records already read (in log order).
    pub fn from_records(
        pack: Pack,
        config: EngineConfig,
        records: Vec<LoadedRecord>,
    ) -> Result<Engine, EngineError> {
        Engine::from_records_with(pack, config, records, Decisions::default())
    }

    /// An engine over records already read (in log order), linked with the
    /// standing linkage `decisions`.
    pub fn from_records_with(
        pack: Pack,
        config: EngineConfig,
        records: Vec<LoadedRecord>,
        decisions: Decisions,
    ) -> Result<Engine, EngineError> {
        let linked = link_records_with(
            crate::picture::newest_on_arrival(records),
            crate::picture::ModelChoice::Automatic,
            &decisions.standing(),
        )?;
        let facts = crate::picture::person_facts(&linked);
        let addresses = AddressIndex::new(&linked);
        let mut clocks = ClockBook::default();
        clocks.mark_pending(
            facts
                .values()
                .filter(|facts| facts.is_child)
                .map(|facts| facts.id.as_str()),
        );
        let mut relationships =
            crate::relationships::Ledger::new(config.relationships, config.organisation.clone());
        relationships.count_records(linked.records.iter());
        Ok(Engine {
            relationships,
            pack,
            config,
            linked,
            facts,
            addresses,
            decisions,
            last_seq: None,
            wake: BTreeSet::new(),
            wake_of: HashMap::new(),
            clocks,
            stale: false,
            newest_erasure: None,
        })
    }

    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The organisation the engine routes by (display names, types and teams
    /// of agencies).
    pub fn organisation(&self) -> &Arc<Organisation> {
        &self.config.organisation
    }

    /// The current records linked into persons.
    pub fn linked(&self) -> &LinkedRecords {
        &self.linked
    }

    /// Every person's facts, by person id.
    pub fn facts(&self) -> &BTreeMap<String, PersonFacts> {
        &self.facts
    }

    pub fn addresses(&self) -> &AddressIndex {
        &self.addresses
    }

    /// The highest log `seq` the engine has read.
    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq
    }

    /// The ids of every child.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.facts
            .values()
            .filter(|facts| facts.is_child)
            .map(|facts| facts.id.as_str())
    }

    /// The picture of one child (`None` when the id is not a child's).
    pub fn child_picture(&self, child_id: &str) -> Option<ChildPicture> {
        let facts = self.facts.get(child_id).filter(|facts| facts.is_child)?;
        Some(child_picture_with(
            &self.linked,
            facts,
            &self.facts,
            &self.addresses,
        ))
    }

    /// The relationships agencies hold with children through their records.
    pub fn relationships(&self) -> &crate::relationships::Ledger {
        &self.relationships
    }

    /// The agencies with a relationship in force with the child, each with the
    /// relationship's row (`seq`).
    pub fn agency_relationships(&self, child_id: &str) -> Vec<(String, i64)> {
        let Some(facts) = self.facts.get(child_id) else {
            return Vec::new();
        };
        let mentions = self.relationships.identities(&self.linked, facts);
        self.relationships.agencies_in_force(child_id, &mentions)
    }

    /// The child's lead agency (told of new access to the child): of the
    /// agencies with a relationship in force, the one that sent the child's most
    /// recent children's social care record, else the first established
    /// ([`crate::relationships::lead_agency`]). `None` for an unknown child or
    /// one no agency is established with.
    pub fn lead_agency(&self, child_id: &str) -> Option<String> {
        let facts = self.facts.get(child_id)?;
        let mut established = self.agency_relationships(child_id);
        established.sort_by_key(|(_, seq)| *seq);
        let agencies: Vec<&str> = established
            .iter()
            .map(|(agency, _)| agency.as_str())
            .collect();
        crate::relationships::lead_agency(&self.linked, facts, &agencies)
    }

    /// The linkage decisions the engine has taken.
    pub fn decisions(&self) -> &Decisions {
        &self.decisions
    }

    /// Every child's statutory clocks as of its last evaluation.
    pub fn clock_book(&self) -> &ClockBook {
        &self.clocks
    }

    /// Where the engine's memory goes, part by part (estimated from container
    /// capacities: see [`crate::memory`]).
    pub fn memory_report(&self) -> crate::memory::MemoryReport {
        use sightline_linkage::memory::{
            btree_map_bytes, btree_set_bytes, hash_map_bytes, vec_bytes,
        };
        let mut report = crate::memory::MemoryReport::default();
        self.linked.memory_report(&mut report);
        let facts_bytes = btree_map_bytes(&self.facts)
            + self
                .facts
                .iter()
                .map(|(person_id, facts)| {
                    person_id.capacity()
                        + facts.id.capacity()
                        + facts.given_names.as_ref().map_or(0, String::capacity)
                        + facts.family_name.as_ref().map_or(0, String::capacity)
                        + facts.nhs_number.as_ref().map_or(0, String::capacity)
                })
                .sum::<usize>();
        let facts_mentions: usize = self
            .facts
            .values()
            .map(|facts| vec_bytes(&facts.mentions))
            .sum();
        report.push("facts/persons", facts_bytes, self.facts.len());
        report.push(
            "facts/mentions of each person",
            facts_mentions,
            self.facts.len(),
        );
        let (address_bytes, n_addresses) = self.addresses.memory_bytes();
        report.push("address index", address_bytes, n_addresses);
        let (clock_bytes, n_children) = self.clocks.memory_bytes();
        report.push("clock book", clock_bytes, n_children);
        let (ledger_bytes, n_established) = self.relationships.memory_bytes();
        report.push("relationships ledger", ledger_bytes, n_established);
        let (decision_bytes, n_decisions) = self.decisions.memory_bytes();
        report.push("linkage decisions", decision_bytes, n_decisions);
        let wake_bytes = btree_set_bytes(&self.wake)
            + self
                .wake
                .iter()
                .map(|(_, child)| child.capacity())
                .sum::<usize>()
            + hash_map_bytes(&self.wake_of)
            + self.wake_of.keys().map(String::capacity).sum::<usize>();
        report.push("wake queue", wake_bytes, self.wake.len());
        report
    }

    /// Links `records` (in log order) from scratch with the engine's frozen
    /// model and the standing decisions, and rebuilds everything derived from
    /// them.
    fn relink(&mut self, records: Vec<LoadedRecord>) -> Result<(), EngineError> {
        let cache = self.linked.records.cache_config().cloned();
        self.linked = crate::picture::link_records_with_model(
            records,
            self.linked.index.model().clone(),
            &self.decisions.standing(),
        )?;
        if let Some(cache) = cache {
            // Records of a batch not yet committed: pinned until the next write.
            self.linked
                .records
                .read_from(cache, false)
                .map_err(|error| PictureError::BodyUnreadable(error.0))?;
        }
        self.facts = crate::picture::person_facts(&self.linked);
        self.addresses = AddressIndex::new(&self.linked);
        Ok(())
    }

    /// Adds records from the log (in log order) and returns the children whose
    /// picture may have changed. Versions not newer than the engine's are ignored.
    /// On an error the engine is stale and must be reloaded.
    pub fn add_records(
        &mut self,
        records: Vec<LoadedRecord>,
    ) -> Result<BTreeSet<String>, EngineError> {
        self.stale = true;
        let failures_before = self.linked.records.failures();
        if let Some(last) = records.iter().map(|loaded| loaded.seq).max() {
            self.last_seq = self.last_seq.max(Some(last));
        }
        let mut added = records;
        added.sort_by_key(|loaded| loaded.seq);
        self.relationships.count_records(&added);
        if added.is_empty() {
            self.stale = false;
            return Ok(BTreeSet::new());
        }
        if self.linked.records.is_empty() {
            // The first records: linked in one batch (scored on two threads)
            // with the model chosen at load, which stays frozen.
            self.relink(crate::picture::newest_on_arrival(added))?;
            let children: BTreeSet<String> = self.children().map(str::to_owned).collect();
            self.clocks = ClockBook::default();
            self.clocks
                .mark_pending(children.iter().map(String::as_str));
            self.stale = false;
            return Ok(children);
        }
        // Versions not newer than the one held are left out; a newer one
        // supersedes it: its old mentions stay in the index as history and leave
        // the persons' facts. Standing decisions naming a new mention apply as it
        // is linked (as in `persons::link_incrementally`).
        let decisions = &self.decisions;
        let delta = self
            .linked
            .add_records_deciding(added, |key| decisions.naming(key))?;
        let superseded: Vec<crate::picture::MentionRef> = delta
            .superseded
            .iter()
            .flat_map(|record_idx| self.linked.mentions_of_records(*record_idx..record_idx + 1))
            .collect();
        let new_mentions = self.linked.mentions_of_records(delta.added_records.clone());
        self.addresses.add(&self.linked, &new_mentions);

        // The persons whose mentions changed, and their mentions now.
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for mention in &superseded {
            changed.insert(
                self.linked
                    .person_id(mention.record_idx, mention.person_idx)
                    .to_owned(),
            );
        }
        for mention in &new_mentions {
            changed.insert(
                self.linked
                    .person_id(mention.record_idx, mention.person_idx)
                    .to_owned(),
            );
        }
        for (mention_idx, before) in &delta.moved {
            changed.insert(before.clone());
            if let Some(now_id) = self.linked.person_of_mention.get(*mention_idx) {
                changed.insert(now_id.clone());
            }
        }
        let mut mentions_by_person: BTreeMap<&str, Vec<crate::picture::MentionRef>> = changed
            .iter()
            .map(|person_id| (person_id.as_str(), Vec::new()))
            .collect();
        // The earlier mentions of changed persons, without those that moved away,
        // then the mentions that moved in or are new.
        let moved: BTreeSet<usize> = delta.moved.iter().map(|(idx, _)| *idx).collect();
        let mention_idx_of: HashMap<crate::picture::MentionRef, usize> = moved
            .iter()
            .filter_map(|idx| {
                self.linked
                    .mentions
                    .get(*idx)
                    .map(|mention| (*mention, *idx))
            })
            .collect();
        for person_id in &changed {
            if let Some(facts) = self.facts.get(person_id)
                && let Some(list) = mentions_by_person.get_mut(person_id.as_str())
            {
                list.extend(facts.mentions.iter().filter(|mention| {
                    !mention_idx_of.contains_key(mention)
                        && self.linked.is_current(mention.record_idx)
                }));
            }
        }
        for mention_idx in moved {
            if let (Some(mention), Some(person_id)) = (
                self.linked.mentions.get(mention_idx),
                self.linked.person_of_mention.get(mention_idx),
            ) && self.linked.is_current(mention.record_idx)
                && let Some(list) = mentions_by_person.get_mut(person_id.as_str())
            {
                list.push(*mention);
            }
        }
        for mention in &new_mentions {
            if !self.linked.is_current(mention.record_idx) {
                continue;
            }
            let person_id = self
                .linked
                .person_id(mention.record_idx, mention.person_idx);
            if let Some(list) = mentions_by_person.get_mut(person_id) {
                list.push(*mention);
            }
        }
        let mut affected: BTreeSet<String> = BTreeSet::new();
        for (person_id, mut mentions) in mentions_by_person {
            mentions.sort_unstable();
            mentions.dedup();
            if mentions.is_empty() {
                self.facts.remove(person_id);
                self.set_wake(person_id, None);
                continue;
            }
            let facts = facts_of(&self.linked, person_id, mentions);
            self.facts.insert(person_id.to_owned(), facts);
        }
        for person_id in &changed {
            self.children_around(person_id, &mut affected);
        }
        // Their clocks are out of date until they are evaluated.
        self.clocks
            .mark_pending(affected.iter().map(String::as_str));
        // Stays stale when a body could not be read.
        self.check_bodies(failures_before)?;
        self.stale = false;
        Ok(affected)
    }

    /// Adds to `children` the person if a child, every child in one of the
    /// person's records, and every child recorded at one of the person's
    /// addresses: the children whose picture includes what the person's records say.
    fn children_around(&self, person_id: &str, children: &mut BTreeSet<String>) {
        let Some(facts) = self.facts.get(person_id) else {
            return;
        };
        let mut candidates: BTreeSet<&str> = BTreeSet::new();
        candidates.insert(person_id);
        for mention in &facts.mentions {
            for person_idx in 0..self.linked.n_persons(mention.record_idx) {
                candidates.insert(self.linked.person_id(mention.record_idx, person_idx));
            }
            for other in self.addresses.at_same_address(&self.linked, *mention) {
                candidates.insert(self.linked.person_id(other.record_idx, other.person_idx));
            }
        }
        for candidate in candidates {
            if self
                .facts
                .get(candidate)
                .is_some_and(|facts| facts.is_child)
            {
                children.insert(candidate.to_owned());
            }
        }
    }

    /// Schedules `child_id`'s next evaluation; `None`: never (not a child, or
    /// no rule can fire), which also forgets its clocks.
    fn set_wake(&mut self, child_id: &str, at: Option<DateTime<Utc>>) {
        if let Some(before) = self.wake_of.remove(child_id) {
            self.wake.remove(&(before, child_id.to_owned()));
        }
        match at {
            Some(at) => {
                self.wake.insert((at, child_id.to_owned()));
                self.wake_of.insert(child_id.to_owned(), at);
            }
            None => self.clocks.remove(child_id),
        }
    }

    /// The agencies whose statutory clocks a child's are: those that sent a
    /// `social_care.*` record about the child (the local authority holding the
    /// case).
    fn clock_agencies(&self, facts: &PersonFacts) -> Vec<String> {
        let agencies: BTreeSet<&str> = facts
            .mentions
            .iter()
            .filter_map(|mention| self.linked.records.get(mention.record_idx))
            .filter(|loaded| loaded.record.kind.as_str().starts_with("social_care."))
            .map(|loaded| loaded.record.source.agency.as_str())
            .collect();
        agencies.into_iter().map(str::to_owned).collect()
    }

    /// Whom an alert about `child_id` with the rule's `route` goes to
    /// ([`crate::routing`]): by the child's local authority; an unknown child
    /// is the default local authority's.
    pub fn route_for(&self, child_id: &str, route: &Route) -> sightline_core::org::Recipient {
        let organisation = &self.config.organisation;
        let local_authority = match self.facts.get(child_id) {
            Some(facts) => crate::routing::child_local_authority(organisation, &self.linked, facts),
            None => organisation.default_local_authority(),
        };
        crate::routing::route_alert(route, local_authority, organisation)
    }

    /// Evaluates the pack for `children` at `now`: their alerts (every alert of
    /// theirs the log supports, new or not), routed and with due times counted
    /// from `now`. Records each child's next pending time-based firing and its
    /// statutory clocks at `now` ([`Engine::clock_book`]).
    pub fn evaluate(&mut self, children: &BTreeSet<String>, now: DateTime<Utc>) -> Evaluation {
        let horizon = now + Duration::days(self.config.clock_horizon_days);
        let mut evaluation = Evaluation::default();
        let mut wakes: Vec<(String, Option<DateTime<Utc>>)> = Vec::new();
        let mut clocks: Vec<(String, Vec<String>, Vec<sightline_rules::ClockReport>)> = Vec::new();
        for child_id in children {
            let Some(facts) = self.facts.get(child_id).filter(|facts| facts.is_child) else {
                wakes.push((child_id.clone(), None));
                continue;
            };
            if self.pack.rules.is_empty() {
                // Rules off: nothing can fire, no picture to build.
                evaluation.children += 1;
                wakes.push((child_id.clone(), None));
                continue;
            }
            evaluation.children += 1;
            let picture = child_picture_with(&self.linked, facts, &self.facts, &self.addresses);
            // Firings known by `now` are exactly the firings of the sweep up to
            // `now`, so one evaluation at the horizon gives both the alerts of now
            // and the next pending clock.
            let (mut known, pending): (Vec<Firing>, Vec<Firing>) =
                sightline_rules::evaluate(&self.pack, &picture, horizon)
                    .into_iter()
                    .partition(|firing| firing.raised_at <= now);
            let next = pending
                .iter()
                .map(|firing| firing.raised_at)
                .min()
                .unwrap_or(horizon);
            wakes.push((child_id.clone(), Some(next)));
            clocks.push((
                child_id.clone(),
                self.clock_agencies(facts),
                sightline_rules::clocks(&self.pack, &picture, now),
            ));
            known.sort_by(|a, b| (a.raised_at, &a.rule_id).cmp(&(b.raised_at, &b.rule_id)));
            let organisation = &self.config.organisation;
            let local_authority =
                crate::routing::child_local_authority(organisation, &self.linked, facts);
            for alert in alerts_from_firings(known) {
                let route = route_name(&alert.route);
                let routed_to =
                    crate::routing::route_alert(&alert.route, local_authority, organisation)
                        .as_route();
                let due_at = self.config.due.period(alert.severity).after(now);
                evaluation.alerts.push(RoutedAlert {
                    alert,
                    route,
                    routed_to,
                    due_at,
                });
            }
            if evaluation.children % crate::bodies::TRIM_EVERY_CHILDREN == 0 {
                self.linked.records.trim();
            }
        }
        for (child_id, at) in wakes {
            self.set_wake(&child_id, at);
        }
        for (child_id, agencies, reports) in clocks {
            self.clocks.set(&child_id, agencies, reports);
        }
        self.linked.records.trim();
        evaluation
    }

    /// When the next child's time-based re-evaluation falls due (the earliest
    /// entry of the wake queue), if any.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.wake.first().map(|(at, _)| *at)
    }

    /// Children whose next time-based firing is due by `now`.
    pub fn due_children(&self, now: DateTime<Utc>) -> BTreeSet<String> {
        self.wake
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, child_id)| child_id.clone())
            .collect()
    }

    /// Applies one stored linkage decision (newer than those the engine has;
    /// older ones are ignored) with [`crate::persons::apply_decision`], rebuilds
    /// the persons' facts and schedules the children around every person it
    /// changed for re-evaluation at `now` (the next tick). Returns those
    /// children. On an error the engine is stale and must be reloaded.
    pub fn apply_decision(
        &mut self,
        row: &sightline_store::LinkageDecisionRow,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, EngineError> {
        if row.seq <= self.decisions.newest_seq() {
            return Ok(BTreeSet::new());
        }
        self.stale = true;
        let failures_before = self.linked.records.failures();
        crate::persons::apply_decision(&mut self.linked, &mut self.decisions, row)?;
        let children = self.after_linkage_change(now);
        self.check_bodies(failures_before)?;
        self.linked.records.trim();
        self.stale = false;
        Ok(children)
    }

    /// Records a person's linkage decision with [`crate::persons::decide`] and
    /// applies it, as [`Engine::apply_decision`] does. Both mentions must be
    /// linked and the decision pass [`crate::persons::check_decision`] (a
    /// refusal changes nothing). On an error after the decision was checked the
    /// engine is stale.
    pub fn decide(
        &mut self,
        store: &dyn Store,
        decision: &sightline_store::NewLinkageDecision,
        now: DateTime<Utc>,
    ) -> Result<
        (
            sightline_store::LinkageDecisionRow,
            crate::persons::DecisionChange,
        ),
        EngineError,
    > {
        for key in [&decision.left_key, &decision.right_key] {
            if self.linked.index.record_of(key).is_none() {
                return Err(PersonsError::UnknownMention(key.clone()).into());
            }
        }
        let failures_before = self.linked.records.failures();
        crate::persons::check_decision(&self.linked, decision).map_err(PersonsError::Refused)?;
        self.check_bodies(failures_before)?;
        self.stale = true;
        let decided =
            crate::persons::decide(store, &mut self.linked, &mut self.decisions, decision);
        if let Err(PersonsError::Store(StoreError::InvalidDecision { .. })) = &decided {
            // Refused before anything was stored or changed.
            self.stale = false;
        }
        let decided = decided?;
        self.after_linkage_change(now);
        self.check_bodies(failures_before)?;
        self.linked.records.trim();
        self.stale = false;
        Ok(decided)
    }

    /// Searches persons ([`crate::persons::search_persons`]).
    pub fn search_persons(
        &mut self,
        query: &crate::persons::SearchQuery,
        limit: usize,
    ) -> Result<Vec<crate::persons::SearchResult>, PersonsError> {
        crate::persons::search_persons(&mut self.linked, query, limit)
    }

    /// Rebuilds what derives from the persons after a decision changed them and
    /// schedules the children around every changed person for the next tick.
    fn after_linkage_change(&mut self, now: DateTime<Utc>) -> BTreeSet<String> {
        let facts = crate::picture::person_facts(&self.linked);
        let before = std::mem::replace(&mut self.facts, facts);
        self.addresses = AddressIndex::new(&self.linked);
        let mut changed: BTreeSet<&str> = BTreeSet::new();
        for (person_id, facts) in &before {
            if self.facts.get(person_id).map(|now| &now.mentions) != Some(&facts.mentions) {
                changed.insert(person_id);
            }
        }
        for (person_id, facts) in &self.facts {
            if before.get(person_id).map(|then| &then.mentions) != Some(&facts.mentions) {
                changed.insert(person_id);
            }
        }
        let mut children: BTreeSet<String> = BTreeSet::new();
        let mut gone: Vec<String> = Vec::new();
        for person_id in changed {
            if self.facts.contains_key(person_id) {
                self.children_around(person_id, &mut children);
            } else {
                gone.push(person_id.to_owned());
            }
        }
        for person_id in gone {
            self.set_wake(&person_id, None);
        }
        for child in &children {
            self.set_wake(child, Some(now));
        }
        self.clocks
            .mark_pending(children.iter().map(String::as_str));
        children
    }

    /// Reads the log rows and linkage decisions appended since the engine last
    /// looked (by another process) and schedules the children they touch for
    /// the next tick.
    pub fn catch_up(&mut self, store: &dyn Store, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.relationships.catch_up(store)?;
        for row in crate::persons::load_decisions_after(store, self.decisions.newest_seq())? {
            self.apply_decision(&row, now)?;
        }
        let Some(after) = self.last_seq else {
            let loaded = load_versions_after(store, None, None)?;
            return self.catch_up_with(loaded.records, loaded.last_seq, now);
        };
        let loaded = load_versions_after(store, None, Some(after))?;
        self.catch_up_with(loaded.records, loaded.last_seq, now)
    }

    fn catch_up_with(
        &mut self,
        records: Vec<LoadedRecord>,
        last_seq: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.last_seq = self.last_seq.max(last_seq);
        if records.is_empty() {
            return Ok(());
        }
        for child in self.add_records(records)? {
            self.set_wake(&child, Some(now));
        }
        Ok(())
    }

    /// Whether an intake failed after changing the engine.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Marks the engine as holding state the log may not have.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }
}

/// The store row of an engine alert.
pub fn upsert_of(routed: &RoutedAlert) -> AlertUpsert {
    let alert = &routed.alert;
    AlertUpsert {
        alert: AlertRow {
            id: alert.id.clone(),
            child_id: alert.child_id.clone(),
            person_id: alert.person_id.clone(),
            rule_id: alert.rule_id.clone(),
            pack_name: alert.pack_name.clone(),
            pack_version: alert.pack_version.clone(),
            severity: alert.severity.as_str().to_owned(),
            title: alert.title.clone(),
            explanation: alert.explanation.clone(),
            citation: alert.citation.clone(),
            route: routed.route.clone(),
            routed_to: routed.routed_to.clone(),
            raised_at_us: crate::to_micros(alert.raised_at),
            updated_at_us: crate::to_micros(alert.updated_at),
            due_at_us: crate::to_micros(routed.due_at),
            status: STATUS_OPEN.to_owned(),
            escalation_level: 0,
            decided_at_us: None,
            assigned_to: None,
        },
        evidence: alert
            .evidence
            .iter()
            .map(|evidence| EvidenceRow {
                agency: evidence.agency.clone(),
                record_id: evidence.record_id.clone(),
                version: evidence.version,
            })
            .collect(),
    }
}

/// What writing alerts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlertsWritten {
    /// Children evaluated.
    pub children: u64,
    /// Alerts computed for them (new or not).
    pub alerts: u64,
    /// New alerts stored.
    pub raised: u64,
    /// Existing alerts that got evidence, a higher severity or were reopened.
    pub updated: u64,
}

/// Writes an evaluation's alerts in `tx` (idempotent: known alerts only gain
/// evidence or severity, or reopen).
pub fn write_alerts(
    tx: &mut dyn WriteTx,
    evaluation: &Evaluation,
    now: DateTime<Utc>,
) -> Result<AlertsWritten, StoreError> {
    let mut written = AlertsWritten {
        children: evaluation.children as u64,
        alerts: evaluation.alerts.len() as u64,
        ..AlertsWritten::default()
    };
    if evaluation.alerts.is_empty() {
        return Ok(written);
    }
    let rows: Vec<AlertUpsert> = evaluation.alerts.iter().map(upsert_of).collect();
    let mut updated: BTreeSet<String> = BTreeSet::new();
    for change in tx.upsert_alerts(&rows, crate::to_micros(now))? {
        match change {
            AlertChange::Raised { .. } => written.raised += 1,
            AlertChange::EvidenceAdded { id, .. }
            | AlertChange::Reopened { id }
            | AlertChange::SeverityRaised { id } => {
                updated.insert(id);
            }
            AlertChange::Unchanged { .. } => {}
        }
    }
    written.updated = updated.len() as u64;
    Ok(written)
}

impl Engine {
    /// The intake hook, called inside the batch's transaction before it commits:
    /// adds the batch's stored records, evaluates the children they touch at
    /// `now`, writes their alerts in `tx` and records the relationships the
    /// records establish (limited and told as `source` says). On an error the
    /// engine is stale; after a failed commit the caller marks it stale
    /// ([`Engine::mark_stale`]).
    pub fn on_intake(
        &mut self,
        tx: &mut dyn WriteTx,
        records: Vec<LoadedRecord>,
        now: DateTime<Utc>,
        source: crate::relationships::IntakeSource,
    ) -> Result<AlertsWritten, EngineError> {
        let failures_before = self.linked.records.failures();
        let children = self.add_records(records)?;
        let evaluation = self.evaluate(&children, now);
        self.stale = true;
        self.check_bodies(failures_before)?;
        let written = write_alerts(tx, &evaluation, now)?;
        self.relationships.establish(
            tx,
            &self.linked,
            &self.facts,
            children.iter().map(String::as_str),
            source,
            crate::to_micros(now),
        )?;
        self.check_bodies(failures_before)?;
        self.linked.records.trim();
        self.stale = false;
        Ok(written)
    }
}

/// What one escalation and re-evaluation pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    /// Time-based re-evaluation.
    pub alerts: AlertsWritten,
    /// Alerts escalated to the team manager.
    pub escalated_to_team_manager: u64,
    /// Alerts escalated to the head of service.
    pub escalated_to_head_of_service: u64,
    /// Open alerts whose recipient has no active account, sent to the head of
    /// service at once.
    pub escalated_without_recipient: u64,
    /// Open alerts whose recipient, head of service and duty team have no
    /// active account (not logged here: the server warns of them, a replay
    /// sums them up).
    pub routed_to_nobody: u64,
}

/// Escalates every open alert past its due time one level (the team managers
/// of its agency, then the head of service of that agency's local authority:
/// [`crate::routing::escalation_target`]), each with a new due time one more
/// period after the last.
pub fn escalate_overdue(
    store: &dyn Store,
    due: &DueTimes,
    organisation: &Organisation,
    now: DateTime<Utc>,
) -> Result<(u64, u64), StoreError> {
    let now_us = crate::to_micros(now);
    let (mut to_manager, mut to_head) = (0u64, 0u64);
    let mut after = None;
    loop {
        let page = store.alerts().list(&AlertFilter {
            status: Some(STATUS_OPEN.to_owned()),
            overdue_at_us: Some(now_us),
            now_us: Some(now_us),
            after: after.clone(),
            limit: sightline_store::ALERT_LIST_LIMIT_MAX,
            ..AlertFilter::default()
        })?;
        for row in &page {
            if row.escalation_level >= ESCALATION_HEAD_OF_SERVICE {
                continue;
            }
            let level = (row.escalation_level + 1).max(ESCALATION_TEAM_MANAGER);
            let severity = Severity::parse(&row.severity).unwrap_or(Severity::Critical);
            let new_due = due
                .period(severity)
                .after(crate::from_micros(row.due_at_us));
            let target =
                crate::routing::escalation_target(&row.routed_to, level, organisation).as_route();
            let detail =
                serde_json::json!({"from": row.routed_to, "overdue_since_us": row.due_at_us})
                    .to_string();
            match store.alerts().escalate(
                &row.id,
                level,
                &target,
                crate::to_micros(new_due),
                now_us,
                Some(&detail),
            ) {
                Ok(_) => {
                    if level >= ESCALATION_HEAD_OF_SERVICE {
                        to_head += 1;
                    } else {
                        to_manager += 1;
                    }
                }
                // Decided or escalated by someone else meanwhile.
                Err(StoreError::AlertNotOpen | StoreError::EscalationNotHigher { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        match page.last() {
            Some(last) if page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize => {
                after = Some(sightline_store::AlertCursor::after(last, Some(now_us)));
            }
            _ => break,
        }
    }
    Ok((to_manager, to_head))
}

impl SharedEngine {
    /// One pass of the ticker: re-evaluates the children whose time-based rules
    /// fell due by `now` and writes their alerts, then escalates overdue alerts.
    pub fn tick(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<TickReport, EngineError> {
        let (alerts, due, organisation) = {
            let mut engine = self.write(store, now)?;
            let failures_before = engine.body_failures();
            let children = engine.due_children(now);
            let evaluation = engine.evaluate(&children, now);
            // Relationships of the re-evaluated children (a linkage decision
            // moved their records) and those held over a limit, retried.
            let mut relationship_children = children.clone();
            relationship_children.extend(engine.relationships.held_children().map(str::to_owned));
            let engine = &mut *engine;
            let written = (|| -> Result<AlertsWritten, EngineError> {
                engine.check_bodies(failures_before)?;
                let mut tx = store.begin()?;
                let alerts = write_alerts(tx.as_mut(), &evaluation, now)?;
                engine.relationships.establish(
                    tx.as_mut(),
                    &engine.linked,
                    &engine.facts,
                    relationship_children.iter().map(String::as_str),
                    crate::relationships::IntakeSource::Agency,
                    crate::to_micros(now),
                )?;
                engine.check_bodies(failures_before)?;
                tx.commit()?;
                engine.linked.records.trim();
                Ok(alerts)
            })();
            match written {
                Ok(alerts) => (
                    alerts,
                    engine.config.due,
                    engine.config.organisation.clone(),
                ),
                Err(error) => {
                    // The wake queue moved on; reload so the children are retried.
                    engine.mark_stale();
                    return Err(error);
                }
            }
        };
        let (escalated_to_team_manager, escalated_to_head_of_service) =
            escalate_overdue(store, &due, &organisation, now)?;
        let unreceivable = crate::routing::escalate_unreceivable(store, &organisation, now)?;
        Ok(TickReport {
            alerts,
            escalated_to_team_manager,
            escalated_to_head_of_service,
            escalated_without_recipient: unreceivable.escalated,
            routed_to_nobody: unreceivable.routed_to_nobody,
        })
    }
}

/// How many children a follower evaluates under one hold of the write lock
/// ([`SharedEngine::follow`]).
pub const FOLLOW_EVALUATE_CHUNK: usize = 32;

/// The engine shared by intake (writer) and readers (the web UI).
#[derive(Clone)]
pub struct SharedEngine {
    inner: Arc<RwLock<Engine>>,
}

impl SharedEngine {
    pub fn new(engine: Engine) -> SharedEngine {
        SharedEngine {
            inner: Arc::new(RwLock::new(engine)),
        }
    }

    /// Loads the engine from the log with the default pack and settings.
    pub fn load_default(
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<SharedEngine, EngineError> {
        SharedEngine::load_configured(store, EngineConfig::default(), now)
    }

    /// Loads the engine from the log with the default pack and `config`,
    /// refusing a pack with a route nobody in the organisation can receive
    /// ([`crate::routing::check_pack_routes`]).
    pub fn load_configured(
        store: &dyn Store,
        config: EngineConfig,
        now: DateTime<Utc>,
    ) -> Result<SharedEngine, EngineError> {
        let pack = default_pack()?;
        let problems = crate::routing::check_pack_routes(&pack, &config.organisation);
        if !problems.is_empty() {
            return Err(EngineError::UnreceivableRoutes(problems));
        }
        Ok(SharedEngine::new(Engine::load(store, pack, config, now)?))
    }

    /// Settles the stored alerts with the organisation, as a server does when it
    /// starts: open alerts whose stored route the organisation cannot receive
    /// are rerouted by their rule's route ([`crate::routing::reroute_stored`]),
    /// then those whose recipient has no active account go to the head of
    /// service ([`crate::routing::escalate_unreceivable`]). Logs a warning for
    /// each recipient no active account reaches
    /// ([`crate::routing::unheld_recipients`]) and one for the open alerts
    /// nobody at all can receive.
    pub fn settle_routes(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<(u64, crate::routing::Unreceivable), EngineError> {
        let engine = self.write(store, now)?;
        let organisation = engine.config.organisation.clone();
        if let (receiving, true) = crate::routing::receiving_routes(store)? {
            for unheld in
                crate::routing::unheld_recipients(engine.pack(), &organisation, &receiving)
            {
                tracing::warn!("{}", unheld.warning());
            }
        }
        let rerouted = crate::routing::reroute_stored(
            store,
            &organisation,
            &|child_id, route| engine.route_for(child_id, route),
            now,
        )?;
        drop(engine);
        let unreceivable = crate::routing::escalate_unreceivable(store, &organisation, now)?;
        crate::routing::warn_routed_to_nobody(unreceivable.routed_to_nobody);
        Ok((rerouted, unreceivable))
    }

    /// Reloads the engine from the log now (after an erasure made in this
    /// process, so no page shows an erased value even before the next write).
    pub fn reload(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut engine = self.inner.write().map_err(|_| EngineError::Poisoned)?;
        let pack = engine.pack.clone();
        let config = engine.config.clone();
        *engine = Engine::load(store, pack, config, now)?;
        Ok(())
    }

    /// One pass of a read-only follower: applies what the writer (or anyone)
    /// appended since the last pass (records, linkage decisions,
    /// relationships; a reload after an erasure or a failed pass, as
    /// [`SharedEngine::write`] does), then re-evaluates in memory the children
    /// whose picture changed or whose time-based rules fell due, for their
    /// statutory clocks only: the alerts are the writer's, read from the
    /// database; nothing is written. The evaluation takes the write lock
    /// [`FOLLOW_EVALUATE_CHUNK`] children at a time, so pages are not held up
    /// behind a whole batch's children (or, after a load, every child).
    /// Returns the highest log `seq` applied.
    pub fn follow(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, EngineError> {
        let applied = self.write(store, now)?.last_seq();
        loop {
            let mut engine = self.inner.write().map_err(|_| EngineError::Poisoned)?;
            let children: BTreeSet<String> = engine
                .wake
                .iter()
                .take_while(|(at, _)| *at <= now)
                .take(FOLLOW_EVALUATE_CHUNK)
                .map(|(_, child_id)| child_id.clone())
                .collect();
            if children.is_empty() {
                break;
            }
            let failures_before = engine.body_failures();
            let _clocks_only = engine.evaluate(&children, now);
            if let Err(error) = engine.check_bodies(failures_before) {
                // The wake queue moved on: reload at the next pass.
                engine.mark_stale();
                return Err(error);
            }
        }
        Ok(applied)
    }

    /// The highest log `seq` the engine holds, without waiting: `None` while
    /// a write (an intake, a catch-up) holds the engine.
    pub fn try_last_seq(&self) -> Option<Option<i64>> {
        match self.inner.try_read() {
            Ok(engine) => Some(engine.last_seq()),
            Err(_) => None,
        }
    }

    /// Runs `read` with the engine (shared lock).
    pub fn read<T>(&self, read: impl FnOnce(&Engine) -> T) -> Result<T, EngineError> {
        let engine = self.inner.read().map_err(|_| EngineError::Poisoned)?;
        let failures_before = engine.body_failures();
        let value = read(&engine);
        // What was read over a body that could not be read is not shown.
        engine.check_bodies(failures_before)?;
        Ok(value)
    }

    /// Applies a linkage decision just stored (by [`crate::persons::decide`])
    /// under the write lock: see [`Engine::apply_decision`].
    pub fn apply_decision(
        &self,
        store: &dyn Store,
        row: &sightline_store::LinkageDecisionRow,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, EngineError> {
        let mut engine = self.write(store, now)?;
        engine.apply_decision(row, now)
    }

    /// A search under the write lock (`LinkageIndex::search` takes `&mut self`):
    /// runs `search` with the linkage index, each mention's person id and every
    /// person's facts, then `then` with the engine and what `search` found.
    /// Does not catch up with the log; keep both closures short.
    pub fn search<H, T>(
        &self,
        search: impl FnOnce(
            &mut sightline_linkage::LinkageIndex,
            &[String],
            &BTreeMap<String, PersonFacts>,
        ) -> H,
        then: impl FnOnce(&Engine, H) -> T,
    ) -> Result<T, EngineError> {
        let mut guard = self.inner.write().map_err(|_| EngineError::Poisoned)?;
        let engine = &mut *guard;
        let failures_before = engine.body_failures();
        let found = search(
            &mut engine.linked.index,
            &engine.linked.person_of_mention,
            &engine.facts,
        );
        let value = then(engine, found);
        engine.check_bodies(failures_before)?;
        Ok(value)
    }

    /// Runs `read` with the linked records and every person's facts.
    pub fn with_linked<T>(
        &self,
        read: impl FnOnce(&LinkedRecords, &BTreeMap<String, PersonFacts>) -> T,
    ) -> Result<T, EngineError> {
        self.read(|engine| read(engine.linked(), engine.facts()))
    }

    /// The engine for a writer, up to date with the log: reloaded when an earlier
    /// write failed, else caught up with rows other processes appended.
    pub fn write(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<RwLockWriteGuard<'_, Engine>, EngineError> {
        let mut engine = self.inner.write().map_err(|_| EngineError::Poisoned)?;
        let erased_since_load = store.newest_erasure()? != engine.newest_erasure;
        if erased_since_load {
            tracing::info!("reloading the engine from the log after an erasure");
            let pack = engine.pack.clone();
            let config = engine.config.clone();
            *engine = Engine::load(store, pack, config, now)?;
        } else if engine.is_stale() {
            tracing::warn!("reloading the engine from the log after a failed write");
            let pack = engine.pack.clone();
            let config = engine.config.clone();
            *engine = Engine::load(store, pack, config, now)?;
        } else {
            // The batch before this write committed (or failed, and the engine
            // is stale): its bodies may go.
            engine.linked.records.unpin_all();
            engine.linked.records.trim();
            engine.catch_up(store, now)?;
        }
        Ok(engine)
    }
}

/// The default rule pack (it is checked by the rules crate's tests, so an error
/// here means a broken build).
pub fn default_pack() -> Result<Pack, PictureError> {
    sightline_rules::default_pack().map_err(|errors| PictureError::RulePack(errors.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, 0, 0)
            .single()
            .expect("instant")
    }

    #[test]
    fn due_times_count_working_days_in_england_and_wales() {
        let due = DueTimes::default();
        // Thursday 2026-12-24, 15:00: Christmas, Boxing Day (Saturday, so
        // Monday 28th is the substitute) and the weekend do not count.
        let raised = at(2026, 12, 24, 15);
        assert_eq!(
            due.period(Severity::Critical).after(raised),
            at(2026, 12, 24, 19)
        );
        assert_eq!(
            due.period(Severity::High).after(raised),
            at(2026, 12, 29, 15)
        );
        assert_eq!(
            due.period(Severity::Medium).after(raised),
            at(2026, 12, 31, 15)
        );
        assert_eq!(DuePeriod::parse("4h"), Some(DuePeriod::Hours(4)));
        assert_eq!(DuePeriod::parse("10wd"), Some(DuePeriod::WorkingDays(10)));
        assert_eq!(DuePeriod::parse("10d"), None);
        assert_eq!(DuePeriod::parse("-1h"), None);
    }
}
