//! The case-review corpus (`eval/reviews/`, format in its README): a case's
//! records replayed through the intake engine in the order they were recorded,
//! in logical time, and scored against the checkpoints written from the review.
//!
//! Reads nothing but what it is given: the case's two files as text
//! ([`parse_case`]) and an empty store to replay into ([`replay_case`]).
//!
//! - Each group of records with the same `recorded_at` is one intake batch
//!   ([`crate::ingest_parsed`], received at that instant), so linkage, rules and
//!   the alert store work exactly as for an agency's upload; between batches the
//!   engine's ticker runs at every time a clock falls due
//!   ([`crate::SharedEngine::tick`]), and after the last record up to the end of
//!   the last checkpoint's day.
//! - Alerts are read back from the store after every step, so an alert's
//!   severity and evidence are known at each logical instant, as a practitioner
//!   would have seen them.
//! - A person's `ref` is the case's ground truth of who they are (linkage never
//!   reads it): the child's alerts are those whose child held one of the child's
//!   mentions at the time.
//!
//! A checkpoint is met when a high or critical alert about the child was raised
//! by the end of its `by` day, and either one of the checkpoint's records is
//! among the alert's evidence or the alert became high at or after the earliest
//! of them was recorded; the lead time is from the moment both held to the end
//! of the `by` day.
//!
//! The burden: an alert, once high or critical, is held open from that moment,
//! and again from each later change (new evidence), for [`HOLD_DAYS`] (a
//! practitioner decides it within that time; new evidence reopens it). Open
//! high alert-months per case-month is the time-average of the number of such
//! open alerts over the case's period, from its first record to 30 days after
//! its last record or checkpoint day.

use crate::engine::{Engine, EngineConfig, EngineError, SharedEngine};
use crate::ingest::{IngestError, ingest_parsed};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sightline_core::interchange::{Format, Limits, ParsedRecord, Position, parse_batch};
use sightline_rules::Pack;
use sightline_store::{AlertFilter, AlertRow, Store, StoreError, severity_rank};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How long a high alert is held open after it is raised or changes (days).
pub const HOLD_DAYS: i64 = 30;
/// The observation period runs this long after the last record or checkpoint.
pub const TAIL_DAYS: i64 = 30;
/// Days in an average month, for alert-months and case-months.
pub const DAYS_PER_MONTH: f64 = 30.436_875;
/// At most this many records in one case.
pub const CASE_RECORDS_MAX: usize = 5_000;
/// At most this many checkpoints in one case.
pub const CHECKPOINTS_MAX: usize = 200;
/// At most this many ticks between two records (a clock loop guard).
const TICKS_PER_STEP_MAX: usize = 10_000;

/// The harms a case may name (the corpus README's list).
pub const HARMS: &[&str] = &[
    "physical_abuse",
    "neglect",
    "sexual_abuse",
    "emotional_abuse",
    "domestic_abuse",
    "fabricated_illness",
    "criminal_exploitation",
    "sexual_exploitation",
];

/// The failure patterns a case may name (the corpus README's list).
pub const PATTERNS: &[&str] = &[
    "unknown_adult",
    "disguised_compliance",
    "family_referrals_closed",
    "child_not_seen",
    "missed_health_appointments",
    "moves_between_authorities",
    "withdrawn_from_school",
    "pre_birth_concerns",
    "repeated_injuries",
    "referrals_closed_nfa",
    "missing_episodes",
    "excluded_from_school",
    "domestic_abuse_in_household",
    "parental_substance_misuse",
    "parental_mental_health",
    "name_only_records",
];

/// The two files of a case, as read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct CaseFiles<'a> {
    /// The case's directory name (its id).
    pub dir_name: &'a str,
    /// How to name `case.toml` in problems (e.g. its path).
    pub case_toml_name: &'a str,
    pub case_toml: &'a str,
    /// How to name `records.jsonl` in problems.
    pub records_name: &'a str,
    pub records_jsonl: &'a [u8],
}

/// What is wrong with a case file: the file, the line when known, plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseProblem {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for CaseProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The published review a case reconstructs.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub title: String,
    pub publisher: String,
    pub year: i64,
    pub url: String,
}

/// What the case is about.
#[derive(Debug, Clone, Serialize)]
pub struct About {
    pub age_at_harm_years: i64,
    pub harms: Vec<String>,
    pub patterns: Vec<String>,
    pub local_authorities: i64,
    pub summary: String,
}

/// A record named by a checkpoint: `agency/record_id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RecordKey {
    pub agency: String,
    pub record_id: String,
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.agency, self.record_id)
    }
}

/// "By this date, on these records, someone should have been alerted."
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub id: String,
    pub by: NaiveDate,
    pub records: Vec<RecordKey>,
    /// The ref of the child the checkpoint is about.
    pub child_ref: String,
    pub finding: String,
    pub source: String,
}

/// A parsed, checked case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub child_ref: String,
    pub review: Review,
    pub about: About,
    pub checkpoints: Vec<Checkpoint>,
    /// The records, in file order.
    pub records: Vec<ParsedRecord>,
}

// The wire shape of `case.toml` (private: the domain types above are built
// from it after checking).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseToml {
    id: toml::Spanned<String>,
    title: String,
    child: toml::Spanned<String>,
    review: ReviewToml,
    about: AboutToml,
    #[serde(default, rename = "checkpoint")]
    checkpoints: Vec<CheckpointToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewToml {
    title: String,
    publisher: String,
    year: i64,
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AboutToml {
    age_at_harm_years: i64,
    harms: Vec<toml::Spanned<String>>,
    patterns: Vec<toml::Spanned<String>>,
    local_authorities: i64,
    summary: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointToml {
    id: toml::Spanned<String>,
    by: toml::Spanned<String>,
    records: Vec<toml::Spanned<String>>,
    finding: String,
    source: String,
    child: Option<toml::Spanned<String>>,
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> u64 {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count() as u64
        + 1
}

/// Reads and checks a case: `case.toml` against the corpus format and
/// `records.jsonl` against the interchange specification, every problem at
/// once, each naming its file and line.
pub fn parse_case(files: &CaseFiles<'_>) -> Result<Case, Vec<CaseProblem>> {
    let mut problems = Vec::new();
    let toml_problem = |line: Option<u64>, message: String| CaseProblem {
        file: files.case_toml_name.to_owned(),
        line,
        message,
    };
    let records = parse_records(files, &mut problems);
    let wire: CaseToml = match toml::from_str(files.case_toml) {
        Ok(wire) => wire,
        Err(error) => {
            let line = error
                .span()
                .map(|span| line_of(files.case_toml, span.start));
            problems.push(toml_problem(line, error.message().to_owned()));
            return Err(problems);
        }
    };
    let at = |span: std::ops::Range<usize>| Some(line_of(files.case_toml, span.start));
    if wire.id.get_ref() != files.dir_name {
        problems.push(toml_problem(
            at(wire.id.span()),
            format!(
                "id \"{}\" is not the directory's name \"{}\"",
                wire.id.get_ref(),
                files.dir_name
            ),
        ));
    }
    for (list, known, what) in [
        (&wire.about.harms, HARMS, "harm"),
        (&wire.about.patterns, PATTERNS, "pattern"),
    ] {
        for item in list {
            if !known.contains(&item.get_ref().as_str()) {
                problems.push(toml_problem(
                    at(item.span()),
                    format!(
                        "\"{}\" is not a known {what} (known: {})",
                        item.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    if wire.checkpoints.len() > CHECKPOINTS_MAX {
        problems.push(toml_problem(
            None,
            format!("more than {CHECKPOINTS_MAX} checkpoints"),
        ));
    }
    let record_keys: HashMap<RecordKey, &ParsedRecord> = records
        .iter()
        .map(|parsed| {
            (
                RecordKey {
                    agency: parsed.record.source.agency.as_str().to_owned(),
                    record_id: parsed.record.source.record_id.as_str().to_owned(),
                },
                parsed,
            )
        })
        .collect();
    let refs: BTreeSet<&str> = records
        .iter()
        .flat_map(|parsed| parsed.record.persons.iter())
        .map(|person| person.person_ref.as_str())
        .collect();
    let records_ok = problems.is_empty() || !records.is_empty();
    let check_child = |child: &toml::Spanned<String>, problems: &mut Vec<CaseProblem>| {
        if records_ok && !refs.contains(child.get_ref().as_str()) {
            problems.push(toml_problem(
                at(child.span()),
                format!(
                    "child \"{}\" is not the ref of any person in {}",
                    child.get_ref(),
                    files.records_name
                ),
            ));
        }
    };
    check_child(&wire.child, &mut problems);
    let mut checkpoint_ids: BTreeSet<String> = BTreeSet::new();
    let mut checkpoints = Vec::new();
    for wire_checkpoint in &wire.checkpoints {
        let id = wire_checkpoint.id.get_ref().clone();
        if !checkpoint_ids.insert(id.clone()) {
            problems.push(toml_problem(
                at(wire_checkpoint.id.span()),
                format!("checkpoint id \"{id}\" is used twice"),
            ));
        }
        let by = match NaiveDate::parse_from_str(wire_checkpoint.by.get_ref(), "%Y-%m-%d") {
            Ok(by) => Some(by),
            Err(_) => {
                problems.push(toml_problem(
                    at(wire_checkpoint.by.span()),
                    format!(
                        "checkpoint {id}: by \"{}\" is not a date YYYY-MM-DD",
                        wire_checkpoint.by.get_ref()
                    ),
                ));
                None
            }
        };
        if wire_checkpoint.records.is_empty() {
            problems.push(toml_problem(
                at(wire_checkpoint.id.span()),
                format!("checkpoint {id} names no records"),
            ));
        }
        let mut keys = Vec::new();
        for named in &wire_checkpoint.records {
            let key = named
                .get_ref()
                .split_once('/')
                .map(|(agency, record_id)| RecordKey {
                    agency: agency.to_owned(),
                    record_id: record_id.to_owned(),
                });
            match key {
                Some(key) if record_keys.contains_key(&key) || !records_ok => keys.push(key),
                Some(key) => problems.push(toml_problem(
                    at(named.span()),
                    format!(
                        "checkpoint {id}: record \"{key}\" is not in {}",
                        files.records_name
                    ),
                )),
                None => problems.push(toml_problem(
                    at(named.span()),
                    format!(
                        "checkpoint {id}: \"{}\" is not agency/record_id",
                        named.get_ref()
                    ),
                )),
            }
        }
        let child_ref = match &wire_checkpoint.child {
            Some(child) => {
                check_child(child, &mut problems);
                child.get_ref().clone()
            }
            None => wire.child.get_ref().clone(),
        };
        if let Some(by) = by {
            checkpoints.push(Checkpoint {
                id,
                by,
                records: keys,
                child_ref,
                finding: wire_checkpoint.finding.trim().to_owned(),
                source: wire_checkpoint.source.trim().to_owned(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Case {
        id: wire.id.into_inner(),
        title: wire.title,
        child_ref: wire.child.into_inner(),
        review: Review {
            title: wire.review.title,
            publisher: wire.review.publisher,
            year: wire.review.year,
            url: wire.review.url,
        },
        about: About {
            age_at_harm_years: wire.about.age_at_harm_years,
            harms: wire
                .about
                .harms
                .into_iter()
                .map(toml::Spanned::into_inner)
                .collect(),
            patterns: wire
                .about
                .patterns
                .into_iter()
                .map(toml::Spanned::into_inner)
                .collect(),
            local_authorities: wire.about.local_authorities,
            summary: wire.about.summary.trim().to_owned(),
        },
        checkpoints,
        records,
    })
}

/// `records.jsonl` parsed as an interchange batch; every record must say when
/// it was recorded, since the replay takes records in that order.
fn parse_records(files: &CaseFiles<'_>, problems: &mut Vec<CaseProblem>) -> Vec<ParsedRecord> {
    // Received "far in the future", so no case record is refused as dated in
    // the future; a record without `recorded_at` is refused below instead of
    // taking this as its default.
    let received_at = DateTime::<Utc>::from_timestamp(4_102_444_800, 0).unwrap_or_default();
    let limits = Limits {
        records_max: CASE_RECORDS_MAX,
        ..Limits::default()
    };
    let line = |position: Position| match position {
        Position::Line(line) => Some(line),
        _ => None,
    };
    match parse_batch(files.records_jsonl, Format::JsonLines, received_at, &limits) {
        Ok(records) => {
            for parsed in &records {
                let has_recorded_at = serde_json::from_str::<serde_json::Value>(&parsed.body)
                    .ok()
                    .is_some_and(|body| body.get("recorded_at").is_some());
                if !has_recorded_at {
                    problems.push(CaseProblem {
                        file: files.records_name.to_owned(),
                        line: line(parsed.position),
                        message: "recorded_at: a case's records need recorded_at (the replay takes them in the order they were recorded)".to_owned(),
                    });
                }
            }
            records
        }
        Err(rejected) => {
            for problem in rejected.problems {
                let message = if problem.path.is_empty() {
                    problem.message
                } else {
                    format!("{}: {}", problem.path, problem.message)
                };
                problems.push(CaseProblem {
                    file: files.records_name.to_owned(),
                    line: line(problem.position),
                    message,
                });
            }
            Vec::new()
        }
    }
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the store to replay into is not empty")]
    StoreNotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the engine's clocks did not settle between two records")]
    ClocksUnsettled,
}

/// The alert that met a checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct MetBy {
    pub alert_id: String,
    pub rule_id: String,
    /// The alert's severity when it met the checkpoint.
    pub severity: String,
    pub met_at: DateTime<Utc>,
    /// Days from `met_at` to the end of the `by` day.
    pub lead_days: f64,
    /// `evidence` (a checkpoint record is among its evidence) or `after_records`
    /// (it became high after the earliest checkpoint record was recorded).
    pub via: &'static str,
}

/// One checkpoint's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointResult {
    pub id: String,
    pub by: NaiveDate,
    pub child_ref: String,
    pub records: Vec<RecordKey>,
    pub met: bool,
    pub met_by: Option<MetBy>,
    /// Alerts about the child raised by the end of the `by` day:
    /// `rule (severity then)`.
    pub alerts_by_then: Vec<String>,
    /// How many persons held the child's mentions at the end of the `by` day.
    pub child_persons_by_then: usize,
}

/// The alerts one rule raised in a case.
#[derive(Debug, Clone, Serialize)]
pub struct RuleFired {
    pub rule_id: String,
    pub alerts: u64,
    /// About the case's child (any child of the case's checkpoints).
    pub alerts_about_child: u64,
    pub highest_severity: String,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub id: String,
    pub title: String,
    pub age_at_harm_years: i64,
    pub harms: Vec<String>,
    pub patterns: Vec<String>,
    pub records: usize,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub case_months: f64,
    pub checkpoints: Vec<CheckpointResult>,
    pub checkpoints_met: usize,
    /// Every alert stored, about any child of the case.
    pub alerts: u64,
    pub alerts_by_severity: BTreeMap<String, u64>,
    /// Alerts that were high or critical at some moment.
    pub high_alerts: u64,
    /// Sum over high alerts of the months they were held open (see the module docs).
    pub open_high_alert_months: f64,
    /// `open_high_alert_months / case_months`.
    pub open_high_alerts_per_case_month: f64,
    /// The most high alerts held open at one moment.
    pub open_high_alerts_peak: usize,
    pub rules: Vec<RuleFired>,
    /// The child's mentions (current versions) and the persons they were
    /// linked into at the end of the replay (1 when linkage found the child
    /// whole).
    pub child_mentions: usize,
    pub child_persons: usize,
    /// The most open alerts at one step that nobody could receive: a replay
    /// has no accounts, so every open alert counts (the server warns of such
    /// alerts; a replay reports this one figure instead).
    pub alerts_routed_to_nobody_peak: u64,
}

/// An alert as followed through the replay.
#[derive(Debug, Clone)]
struct Followed {
    rule_id: String,
    child_id: String,
    raised_at: DateTime<Utc>,
    /// Severity at each step it changed.
    severities: Vec<(DateTime<Utc>, String)>,
    high_since: Option<DateTime<Utc>>,
    /// Each evidence record and when it was first seen.
    evidence: BTreeMap<RecordKey, DateTime<Utc>>,
    /// Times it was raised or changed (evidence, severity).
    changes: Vec<DateTime<Utc>>,
}

impl Followed {
    fn severity_at(&self, at: DateTime<Utc>) -> Option<&str> {
        self.severities
            .iter()
            .rev()
            .find(|(since, _)| *since <= at)
            .map(|(_, severity)| severity.as_str())
    }
}

/// What the replay saw, step by step.
#[derive(Default)]
struct Observed {
    alerts: BTreeMap<String, Followed>,
    /// The most open alerts at one step with nobody to receive them.
    routed_to_nobody_peak: u64,
    /// For each child ref: each person id that held one of its mentions, and
    /// when first.
    child_ids: BTreeMap<String, BTreeMap<String, DateTime<Utc>>>,
    /// For each child ref: after each step, how many persons held its mentions.
    child_persons: BTreeMap<String, Vec<(DateTime<Utc>, usize)>>,
}

fn is_high(severity: &str) -> bool {
    severity_rank(severity) >= severity_rank("high")
}

impl Observed {
    fn read_alerts(&mut self, store: &dyn Store, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut filter = AlertFilter {
            limit: sightline_store::ALERT_LIST_LIMIT_MAX,
            ..AlertFilter::default()
        };
        loop {
            let page = store.alerts().list(&filter)?;
            for row in &page {
                self.follow(store, row, at)?;
            }
            match page.last() {
                Some(last) if page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize => {
                    filter.after = Some(sightline_store::AlertCursor::after(last, None));
                }
                _ => return Ok(()),
            }
        }
    }

    fn follow(
        &mut self,
        store: &dyn Store,
        row: &AlertRow,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let followed = self
            .alerts
            .entry(row.id.clone())
            .or_insert_with(|| Followed {
                rule_id: row.rule_id.clone(),
                child_id: row.child_id.clone(),
                raised_at: crate::from_micros(row.raised_at_us),
                severities: Vec::new(),
                high_since: None,
                evidence: BTreeMap::new(),
                changes: vec![at],
            });
        let mut changed = false;
        if followed.severities.last().map(|(_, severity)| severity) != Some(&row.severity) {
            followed.severities.push((at, row.severity.clone()));
            changed = true;
        }
        if followed.high_since.is_none() && is_high(&row.severity) {
            followed.high_since = Some(at);
        }
        for evidence in store.alerts().evidence(&row.id)? {
            let key = RecordKey {
                agency: evidence.agency,
                record_id: evidence.record_id,
            };
            if let std::collections::btree_map::Entry::Vacant(entry) = followed.evidence.entry(key)
            {
                entry.insert(at);
                changed = true;
            }
        }
        if changed && followed.changes.last() != Some(&at) {
            followed.changes.push(at);
        }
        Ok(())
    }

    fn read_persons(
        &mut self,
        engine: &SharedEngine,
        child_refs: &BTreeSet<String>,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let persons: BTreeMap<String, BTreeSet<String>> = engine.read(|engine| {
            let linked = engine.linked();
            let mut persons: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (record_idx, loaded) in linked.records.iter().enumerate() {
                if !linked.is_current(record_idx) {
                    continue;
                }
                for (person_idx, person) in loaded.record.persons.iter().enumerate() {
                    if child_refs.contains(&person.person_ref) {
                        persons
                            .entry(person.person_ref.clone())
                            .or_default()
                            .insert(linked.person_id(record_idx, person_idx).to_owned());
                    }
                }
            }
            persons
        })?;
        for child_ref in child_refs {
            let ids = persons.get(child_ref).cloned().unwrap_or_default();
            let known = self.child_ids.entry(child_ref.clone()).or_default();
            for id in &ids {
                known.entry(id.clone()).or_insert(at);
            }
            self.child_persons
                .entry(child_ref.clone())
                .or_default()
                .push((at, ids.len()));
        }
        Ok(())
    }

    /// Whether the alert's child held one of `child_ref`'s mentions by `at`.
    fn is_about(&self, followed: &Followed, child_ref: &str, at: DateTime<Utc>) -> bool {
        self.child_ids
            .get(child_ref)
            .and_then(|ids| ids.get(&followed.child_id))
            .is_some_and(|first| *first <= at)
    }

    fn persons_at(&self, child_ref: &str, at: DateTime<Utc>) -> usize {
        self.child_persons
            .get(child_ref)
            .and_then(|steps| steps.iter().rev().find(|(when, _)| *when <= at))
            .map_or(0, |(_, n)| *n)
    }
}

/// The end of a day (the first instant of the next).
fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    (date + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// Replays `case` into `store` (which must be empty) with `pack` and scores it.
pub fn replay_case(
    case: &Case,
    store: &dyn Store,
    pack: Pack,
    config: EngineConfig,
) -> Result<CaseReport, ReplayError> {
    if store.count_records()? > 0 {
        return Err(ReplayError::StoreNotEmpty);
    }
    let mut order: Vec<&ParsedRecord> = case.records.iter().collect();
    order.sort_by_key(|parsed| parsed.record.recorded_at);
    let Some(first) = order.first().map(|parsed| parsed.record.recorded_at) else {
        return Err(ReplayError::StoreNotEmpty);
    };
    let last_record = order
        .last()
        .map_or(first, |parsed| parsed.record.recorded_at);
    let last_by = case
        .checkpoints
        .iter()
        .map(|checkpoint| end_of_day(checkpoint.by))
        .max()
        .unwrap_or(last_record);
    let replay_end = last_record.max(last_by);
    let child_refs: BTreeSet<String> = std::iter::once(case.child_ref.clone())
        .chain(case.checkpoints.iter().map(|c| c.child_ref.clone()))
        .collect();

    let engine = SharedEngine::new(Engine::load(store, pack, config, first)?);
    let mut observed = Observed::default();
    let mut groups: Vec<(DateTime<Utc>, Vec<ParsedRecord>)> = Vec::new();
    for parsed in order {
        match groups.last_mut() {
            Some((at, group)) if *at == parsed.record.recorded_at => group.push(parsed.clone()),
            _ => groups.push((parsed.record.recorded_at, vec![parsed.clone()])),
        }
    }
    for (at, group) in groups {
        tick_until(store, &engine, &mut observed, &child_refs, at, false)?;
        let summary = ingest_parsed(store, &engine, group, at)?;
        observed.routed_to_nobody_peak = observed
            .routed_to_nobody_peak
            .max(summary.alerts_routed_to_nobody);
        observed.read_persons(&engine, &child_refs, at)?;
        observed.read_alerts(store, at)?;
    }
    tick_until(store, &engine, &mut observed, &child_refs, replay_end, true)?;

    let period_end = replay_end + Duration::days(TAIL_DAYS);
    let case_months = days_between(first, period_end) / DAYS_PER_MONTH;
    let checkpoints: Vec<CheckpointResult> = case
        .checkpoints
        .iter()
        .map(|checkpoint| score_checkpoint(case, checkpoint, &observed))
        .collect();
    let (open_high_alert_months, open_high_alerts_peak) = burden(&observed, period_end);
    let mut alerts_by_severity: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: BTreeMap<String, RuleFired> = BTreeMap::new();
    for followed in observed.alerts.values() {
        let severity = followed
            .severities
            .last()
            .map_or("low", |(_, severity)| severity.as_str());
        *alerts_by_severity.entry(severity.to_owned()).or_default() += 1;
        let about_child = child_refs
            .iter()
            .any(|child_ref| observed.is_about(followed, child_ref, period_end));
        let entry = rules
            .entry(followed.rule_id.clone())
            .or_insert_with(|| RuleFired {
                rule_id: followed.rule_id.clone(),
                alerts: 0,
                alerts_about_child: 0,
                highest_severity: severity.to_owned(),
            });
        entry.alerts += 1;
        entry.alerts_about_child += u64::from(about_child);
        if severity_rank(severity) > severity_rank(&entry.highest_severity) {
            severity.clone_into(&mut entry.highest_severity);
        }
    }
    let child_persons = observed.persons_at(&case.child_ref, period_end);
    let child_mentions = engine.read(|engine| {
        let linked = engine.linked();
        linked
            .records
            .iter()
            .enumerate()
            .filter(|(record_idx, _)| linked.is_current(*record_idx))
            .flat_map(|(_, loaded)| loaded.record.persons.iter())
            .filter(|person| person.person_ref == case.child_ref)
            .count()
    })?;
    Ok(CaseReport {
        id: case.id.clone(),
        title: case.title.clone(),
        age_at_harm_years: case.about.age_at_harm_years,
        harms: case.about.harms.clone(),
        patterns: case.about.patterns.clone(),
        records: case.records.len(),
        period_start: first,
        period_end,
        case_months,
        checkpoints_met: checkpoints.iter().filter(|result| result.met).count(),
        checkpoints,
        alerts: observed.alerts.len() as u64,
        alerts_by_severity,
        high_alerts: observed
            .alerts
            .values()
            .filter(|followed| followed.high_since.is_some())
            .count() as u64,
        open_high_alert_months,
        open_high_alerts_per_case_month: if case_months > 0.0 {
            open_high_alert_months / case_months
        } else {
            0.0
        },
        open_high_alerts_peak,
        rules: rules.into_values().collect(),
        child_mentions,
        child_persons,
        alerts_routed_to_nobody_peak: observed.routed_to_nobody_peak,
    })
}

/// Runs the ticker at every time a child's clock falls due, up to `until`
/// (before it, or at it too when `inclusive`), reading the alerts after each.
fn tick_until(
    store: &dyn Store,
    engine: &SharedEngine,
    observed: &mut Observed,
    child_refs: &BTreeSet<String>,
    until: DateTime<Utc>,
    inclusive: bool,
) -> Result<(), ReplayError> {
    for _ in 0..TICKS_PER_STEP_MAX {
        let Some(next) = engine.read(Engine::next_wake)? else {
            return Ok(());
        };
        if next > until || (next == until && !inclusive) {
            return Ok(());
        }
        let report = engine.tick(store, next)?;
        observed.routed_to_nobody_peak =
            observed.routed_to_nobody_peak.max(report.routed_to_nobody);
        observed.read_persons(engine, child_refs, next)?;
        observed.read_alerts(store, next)?;
    }
    Err(ReplayError::ClocksUnsettled)
}

fn score_checkpoint(case: &Case, checkpoint: &Checkpoint, observed: &Observed) -> CheckpointResult {
    let deadline = end_of_day(checkpoint.by);
    let recorded: HashMap<RecordKey, DateTime<Utc>> = case
        .records
        .iter()
        .map(|parsed| {
            (
                RecordKey {
                    agency: parsed.record.source.agency.as_str().to_owned(),
                    record_id: parsed.record.source.record_id.as_str().to_owned(),
                },
                parsed.record.recorded_at,
            )
        })
        .collect();
    let earliest_record = checkpoint
        .records
        .iter()
        .filter_map(|key| recorded.get(key))
        .min()
        .copied();
    let mut best: Option<MetBy> = None;
    let mut alerts_by_then = Vec::new();
    for (alert_id, followed) in &observed.alerts {
        if followed.raised_at >= deadline
            || !observed.is_about(followed, &checkpoint.child_ref, deadline)
        {
            continue;
        }
        if let Some(severity) = followed.severity_at(deadline) {
            alerts_by_then.push(format!("{} ({severity})", followed.rule_id));
        }
        let Some(high_since) = followed.high_since.filter(|at| *at < deadline) else {
            continue;
        };
        let mut candidates: Vec<(DateTime<Utc>, &'static str)> = Vec::new();
        for key in &checkpoint.records {
            if let Some(seen) = followed.evidence.get(key) {
                candidates.push((high_since.max(*seen), "evidence"));
            }
        }
        if earliest_record.is_some_and(|earliest| high_since >= earliest) {
            candidates.push((high_since, "after_records"));
        }
        let Some((met_at, via)) = candidates
            .into_iter()
            .filter(|(at, _)| *at < deadline)
            .min_by_key(|(at, _)| *at)
        else {
            continue;
        };
        if best.as_ref().is_none_or(|best| met_at < best.met_at) {
            best = Some(MetBy {
                alert_id: alert_id.clone(),
                rule_id: followed.rule_id.clone(),
                severity: followed.severity_at(met_at).unwrap_or("high").to_owned(),
                met_at,
                lead_days: days_between(met_at, deadline),
                via,
            });
        }
    }
    alerts_by_then.sort();
    alerts_by_then.dedup();
    CheckpointResult {
        id: checkpoint.id.clone(),
        by: checkpoint.by,
        child_ref: checkpoint.child_ref.clone(),
        records: checkpoint.records.clone(),
        met: best.is_some(),
        met_by: best,
        alerts_by_then,
        child_persons_by_then: observed.persons_at(&checkpoint.child_ref, deadline),
    }
}

/// Open high alert-months (the union of `[change, change + HOLD_DAYS]` over
/// each high alert's changes from when it became high, clipped to the period)
/// and the most held open at once.
fn burden(observed: &Observed, period_end: DateTime<Utc>) -> (f64, usize) {
    let hold = Duration::days(HOLD_DAYS);
    let mut total_days = 0.0;
    let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for followed in observed.alerts.values() {
        let Some(high_since) = followed.high_since else {
            continue;
        };
        let mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let starts = std::iter::once(high_since).chain(
            followed
                .changes
                .iter()
                .copied()
                .filter(|at| *at > high_since),
        );
        for start in starts {
            let end = (start + hold).min(period_end);
            match intervals.last_mut() {
                Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
                _ => intervals.push((start, end)),
            }
        }
        for (start, end) in intervals {
            total_days += days_between(start, end).max(0.0);
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    edges.sort();
    let (mut open, mut peak) = (0i64, 0i64);
    for (_, delta) in edges {
        open += delta;
        peak = peak.max(open);
    }
    (
        total_days / DAYS_PER_MONTH,
        usize::try_from(peak).unwrap_or(0),
    )
}

/// The corpus's figures, over every case.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusSummary {
    pub cases: usize,
    pub checkpoints: usize,
    pub checkpoints_met: usize,
    pub share_met: f64,
    /// Median and minimum lead time of the met checkpoints (days).
    pub lead_days_median: Option<f64>,
    pub lead_days_min: Option<f64>,
    pub alerts: u64,
    pub high_alerts: u64,
    pub alerts_per_case: f64,
    pub high_alerts_per_case: f64,
    /// Sum of open high alert-months over the sum of case-months.
    pub open_high_alerts_per_case_month: f64,
    /// The mean over cases of each case's figure.
    pub open_high_alerts_per_case_month_mean: f64,
    /// Cases in which the child's mentions ended in more than one person.
    pub cases_child_split: usize,
    /// Alerts per rule over the corpus.
    pub rules: BTreeMap<String, u64>,
    /// Checkpoints met per rule (the rule of the alert that met each).
    pub met_by_rule: BTreeMap<String, u64>,
    /// Cases in which open alerts had nobody to receive them (a replay has no
    /// accounts), and the most at one step of any case.
    pub cases_routed_to_nobody: usize,
    pub alerts_routed_to_nobody_peak: u64,
}

/// Sums the case reports.
pub fn summarise(reports: &[CaseReport]) -> CorpusSummary {
    let checkpoints: Vec<&CheckpointResult> = reports
        .iter()
        .flat_map(|report| &report.checkpoints)
        .collect();
    let mut leads: Vec<f64> = checkpoints
        .iter()
        .filter_map(|result| result.met_by.as_ref().map(|met| met.lead_days))
        .collect();
    leads.sort_by(f64::total_cmp);
    let median = match leads.len() {
        0 => None,
        n if n % 2 == 1 => leads.get(n / 2).copied(),
        n => Some((leads[n / 2 - 1] + leads[n / 2]) / 2.0),
    };
    let n_cases = reports.len();
    let per_case = |total: f64| {
        if n_cases == 0 {
            0.0
        } else {
            total / n_cases as f64
        }
    };
    let alerts: u64 = reports.iter().map(|report| report.alerts).sum();
    let high_alerts: u64 = reports.iter().map(|report| report.high_alerts).sum();
    let alert_months: f64 = reports
        .iter()
        .map(|report| report.open_high_alert_months)
        .sum();
    let case_months: f64 = reports.iter().map(|report| report.case_months).sum();
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    for report in reports {
        for rule in &report.rules {
            *rules.entry(rule.rule_id.clone()).or_default() += rule.alerts;
        }
    }
    let mut met_by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for met in checkpoints
        .iter()
        .filter_map(|result| result.met_by.as_ref())
    {
        *met_by_rule.entry(met.rule_id.clone()).or_default() += 1;
    }
    let n_met = checkpoints.iter().filter(|result| result.met).count();
    CorpusSummary {
        cases: n_cases,
        checkpoints: checkpoints.len(),
        checkpoints_met: n_met,
        share_met: if checkpoints.is_empty() {
            0.0
        } else {
            n_met as f64 / checkpoints.len() as f64
        },
        lead_days_median: median,
        lead_days_min: leads.first().copied(),
        alerts,
        high_alerts,
        alerts_per_case: per_case(alerts as f64),
        high_alerts_per_case: per_case(high_alerts as f64),
        open_high_alerts_per_case_month: if case_months > 0.0 {
            alert_months / case_months
        } else {
            0.0
        },
        open_high_alerts_per_case_month_mean: per_case(
            reports
                .iter()
                .map(|report| report.open_high_alerts_per_case_month)
                .sum(),
        ),
        cases_child_split: reports
            .iter()
            .filter(|report| report.child_persons > 1)
            .count(),
        rules,
        met_by_rule,
        cases_routed_to_nobody: reports
            .iter()
            .filter(|report| report.alerts_routed_to_nobody_peak > 0)
            .count(),
        alerts_routed_to_nobody_peak: reports
            .iter()
            .map(|report| report.alerts_routed_to_nobody_peak)
            .max()
            .unwrap_or(0),
    }
}
