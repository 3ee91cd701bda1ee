//! The retention schedule (issue #18 item 2), listing only: which records
//! are past the date their rule keeps them to, as of a day. Nothing here
//! deletes anything: erasure (crypto-shredding, item 3) is a later task, and
//! this list is what a privacy officer would approve a batch from.
//!
//! A [`Schedule`] is configuration: rules in order, the first that matches a
//! record (by its agency's type, its kind's prefix and, optionally, the plan
//! its outcome names) decides how long it is kept: to a birthday of the
//! record's subject, a number of years from the subject's birth, or the
//! review date the record carries (`outcome.review_date`). The defaults
//! ([`Schedule::default`]) are the design in docs/data-protection.md,
//! section 4, with their sources there.
//!
//! - Invariant: a record whose subject (or any person it names) is on legal
//!   hold ([`crate::controls::is_on_hold`]) is never counted due: it is
//!   counted blocked, and the held persons are listed.
//! - Invariant: a record whose date cannot be told (no date of birth of its
//!   subject, no review date) is counted undecided, never due; so is a
//!   record a birth-based rule takes whose subject was an adult (18 or over)
//!   on its date: the schedule has no rule for adults' records yet.

use crate::picture::{LinkedRecords, PersonFacts};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use sightline_core::org::{AgencyType, Organisation};
use sightline_core::{PartialDate, Record, Role};
use std::collections::BTreeMap;

/// How long a rule keeps a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepUntil {
    /// To the subject's birthday at this age (the day after is due).
    Birthday(u32),
    /// This many years from the subject's birth.
    YearsFromBirth(u32),
    /// To the record's own review date (`outcome.review_date`, YYYY-MM-DD).
    ReviewDate,
}

/// One rule of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    /// A short name, shown in the counts.
    pub name: String,
    /// The sending agency's type.
    pub agency_type: AgencyType,
    /// The kinds it takes: those starting with this (`social_care.`).
    pub kind_prefix: String,
    /// Only records whose `outcome.plan` is this (`looked_after`).
    pub plan: Option<String>,
    pub keep_until: KeepUntil,
}

/// The schedule: rules, first match wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub rules: Vec<RetentionRule>,
}

/// Why a schedule file is refused.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("the retention schedule is not valid TOML: {0}")]
    Toml(String),
    #[error("retention rule {0}: {1}")]
    Rule(usize, String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    agency_type: String,
    kinds: String,
    #[serde(default)]
    plan: Option<String>,
    keep_until: String,
}

/// The age from which a record's subject is an adult.
pub const ADULT_YEARS: i32 = 18;

/// Most rules a schedule holds.
pub const SCHEDULE_RULES_MAX: usize = 200;

fn rule(
    name: &str,
    agency_type: AgencyType,
    kind_prefix: &str,
    plan: Option<&str>,
    keep_until: KeepUntil,
) -> RetentionRule {
    RetentionRule {
        name: name.to_owned(),
        agency_type,
        kind_prefix: kind_prefix.to_owned(),
        plan: plan.map(str::to_owned),
        keep_until,
    }
}

impl Default for Schedule {
    /// docs/data-protection.md, "Proposed retention schedule".
    fn default() -> Schedule {
        Schedule {
            rules: vec![
                rule(
                    "looked after: 75 years from birth",
                    AgencyType::SocialCare,
                    "social_care.",
                    Some("looked_after"),
                    KeepUntil::YearsFromBirth(75),
                ),
                rule(
                    "social care: to the child's 25th birthday",
                    AgencyType::SocialCare,
                    "social_care.",
                    None,
                    KeepUntil::Birthday(25),
                ),
                rule(
                    "police: to the review date",
                    AgencyType::Police,
                    "",
                    None,
                    KeepUntil::ReviewDate,
                ),
                rule(
                    "health: to the child's 25th birthday",
                    AgencyType::Health,
                    "health.",
                    None,
                    KeepUntil::Birthday(25),
                ),
                rule(
                    "school: to the child's 25th birthday",
                    AgencyType::School,
                    "education.",
                    None,
                    KeepUntil::Birthday(25),
                ),
            ],
        }
    }
}

fn parse_keep_until(text: &str) -> Result<KeepUntil, String> {
    let number = |rest: &str| {
        rest.parse::<u32>()
            .ok()
            .filter(|years| (1..=150).contains(years))
            .ok_or_else(|| format!("{text}: the years must be 1 to 150"))
    };
    if text == "review_date" {
        Ok(KeepUntil::ReviewDate)
    } else if let Some(rest) = text.strip_prefix("birthday:") {
        Ok(KeepUntil::Birthday(number(rest)?))
    } else if let Some(rest) = text.strip_prefix("years_from_birth:") {
        Ok(KeepUntil::YearsFromBirth(number(rest)?))
    } else {
        Err(format!(
            "keep_until \"{text}\": give birthday:N, years_from_birth:N or review_date"
        ))
    }
}

impl Schedule {
    /// A schedule from its TOML (`[[rule]]` tables: name, agency_type,
    /// kinds, optional plan, keep_until).
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let file: ScheduleFile = toml::from_str(text)
            .map_err(|error| ScheduleError::Toml(error.message().to_owned()))?;
        if file.rule.is_empty() || file.rule.len() > SCHEDULE_RULES_MAX {
            return Err(ScheduleError::Rule(
                0,
                format!("give 1 to {SCHEDULE_RULES_MAX} [[rule]] tables"),
            ));
        }
        let mut rules = Vec::new();
        for (index, wire) in file.rule.into_iter().enumerate() {
            let number = index + 1;
            let agency_type = AgencyType::ALL
                .iter()
                .copied()
                .find(|agency_type| agency_type.as_str() == wire.agency_type)
                .ok_or_else(|| {
                    ScheduleError::Rule(number, format!("no agency type \"{}\"", wire.agency_type))
                })?;
            let keep_until = parse_keep_until(&wire.keep_until)
                .map_err(|why| ScheduleError::Rule(number, why))?;
            if wire.name.trim().is_empty() || wire.name.len() > 200 {
                return Err(ScheduleError::Rule(
                    number,
                    "name: 1 to 200 characters".to_owned(),
                ));
            }
            rules.push(RetentionRule {
                name: wire.name,
                agency_type,
                kind_prefix: wire.kinds,
                plan: wire.plan,
                keep_until,
            });
        }
        Ok(Schedule { rules })
    }

    /// The rule that keeps `record` from an agency of `agency_type`.
    pub fn rule_for(&self, agency_type: AgencyType, record: &Record) -> Option<&RetentionRule> {
        self.rules.iter().find(|rule| {
            rule.agency_type == agency_type
                && record.kind.as_str().starts_with(&rule.kind_prefix)
                && rule
                    .plan
                    .as_deref()
                    .is_none_or(|plan| record.outcome.text("plan") == Some(plan))
        })
    }
}

/// The same day `years` later (29 February in a year without one: the 28th).
fn years_after(day: NaiveDate, years: i32) -> Option<NaiveDate> {
    let year = day.year().checked_add(years)?;
    NaiveDate::from_ymd_opt(year, day.month(), day.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, day.month(), 28))
}

/// The day a record is kept to under `rule` (the day after is due), from
/// the subject's date of birth (the latest it can be) or the review date.
pub fn kept_until(
    rule: &RetentionRule,
    record: &Record,
    subject_dob: Option<PartialDate>,
) -> Option<NaiveDate> {
    let born = subject_dob.map(PartialDate::latest);
    match rule.keep_until {
        KeepUntil::Birthday(age) | KeepUntil::YearsFromBirth(age) => {
            years_after(born?, i32::try_from(age).ok()?)
        }
        KeepUntil::ReviewDate => record
            .outcome
            .text("review_date")
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()),
    }
}

/// The counts of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCounts {
    /// Current records the rule keeps.
    pub records: usize,
    /// Past their date on the day asked.
    pub due: usize,
    /// Past their date, but a person they name is on legal hold.
    pub blocked: usize,
    /// No date can be told (no date of birth, no review date).
    pub undecided: usize,
    /// Of `undecided`: a birth-based rule, but the subject was an adult on
    /// the record's date.
    pub adult_subject: usize,
}

/// A record past the day its rule keeps it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRecord {
    pub agency: String,
    pub record_id: String,
    /// The rule's name.
    pub rule: String,
    /// The last day the rule keeps it.
    pub kept_until: NaiveDate,
}

/// What the schedule says of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRetention {
    /// No rule of the schedule takes it: kept.
    NoRule,
    /// A rule takes it, but no date can be told (no date of birth of its
    /// subject, no review date), or its subject was an adult on its date.
    Undecided { rule: String, adult_subject: bool },
    /// Kept until this day under this rule (the day after, it is due).
    KeptUntil { rule: String, until: NaiveDate },
}

/// What the schedule says of the record at `record_idx` of `linked`: the
/// one judgement [`due`] and the record page share.
pub fn record_retention(
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    organisation: &Organisation,
    schedule: &Schedule,
    record_idx: usize,
) -> Option<RecordRetention> {
    let loaded = linked.records.get(record_idx)?;
    let record = &loaded.record;
    let profile = organisation.profile(&record.source.agency, [record.kind.as_str()]);
    let Some(rule) = schedule.rule_for(profile.agency_type, record) else {
        return Some(RecordRetention::NoRule);
    };
    let subject_dob = record
        .persons
        .iter()
        .enumerate()
        .find(|(_, person)| person.role == Role::Subject)
        .and_then(|(person_idx, person)| {
            facts
                .get(linked.person_id(record_idx, person_idx))
                .and_then(|facts| facts.dob)
                .or(person.dob)
        });
    let birth_based = rule.keep_until != KeepUntil::ReviewDate;
    // Certainly an adult: 18 even if born on the latest day the date allows.
    let adult = subject_dob.is_some_and(|dob| {
        years_after(dob.latest(), ADULT_YEARS)
            .is_some_and(|eighteen| record.occurred_at.start().date_naive() >= eighteen)
    });
    if birth_based && adult {
        return Some(RecordRetention::Undecided {
            rule: rule.name.clone(),
            adult_subject: true,
        });
    }
    Some(match kept_until(rule, record, subject_dob) {
        Some(until) => RecordRetention::KeptUntil {
            rule: rule.name.clone(),
            until,
        },
        None => RecordRetention::Undecided {
            rule: rule.name.clone(),
            adult_subject: false,
        },
    })
}

/// What is due on one day.
#[derive(Debug, Clone, Default)]
pub struct Due {
    pub as_of: Option<NaiveDate>,
    /// By rule name, in the schedule's order of first use.
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// Current records no rule takes.
    pub no_rule: usize,
    /// Each record due (not blocked), in log order.
    pub records_due: Vec<DueRecord>,
    /// Persons on hold and how many due records they block.
    pub held: BTreeMap<String, usize>,
}

/// Lists what the schedule makes due on `as_of`: every current record, by
/// its rule. `on_hold` answers whether a person id is on legal hold (the
/// shell passes [`crate::controls::is_on_hold`]); asked once per person.
pub fn due<E>(
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    organisation: &Organisation,
    schedule: &Schedule,
    as_of: NaiveDate,
    mut on_hold: impl FnMut(&str) -> Result<bool, E>,
) -> Result<Due, E> {
    let mut due = Due {
        as_of: Some(as_of),
        ..Due::default()
    };
    let mut hold_of: BTreeMap<String, bool> = BTreeMap::new();
    for record_idx in 0..linked.records.len() {
        if !linked.is_current(record_idx) {
            continue;
        }
        let Some(judged) = record_retention(linked, facts, organisation, schedule, record_idx)
        else {
            continue;
        };
        let (rule_name, until) = match judged {
            RecordRetention::NoRule => {
                due.no_rule += 1;
                continue;
            }
            RecordRetention::Undecided {
                rule,
                adult_subject,
            } => {
                let counts = due.by_rule.entry(rule).or_default();
                counts.records += 1;
                counts.undecided += 1;
                if adult_subject {
                    counts.adult_subject += 1;
                }
                continue;
            }
            RecordRetention::KeptUntil { rule, until } => (rule, until),
        };
        let counts = due.by_rule.entry(rule_name.clone()).or_default();
        counts.records += 1;
        if as_of <= until {
            continue;
        }
        let Some(loaded) = linked.records.get(record_idx) else {
            continue;
        };
        let record = &loaded.record;
        let mut held_persons = Vec::new();
        for person_idx in 0..record.persons.len() {
            let person_id = linked.person_id(record_idx, person_idx);
            if person_id.is_empty() {
                continue;
            }
            let held = match hold_of.get(person_id) {
                Some(held) => *held,
                None => {
                    let held = on_hold(person_id)?;
                    hold_of.insert(person_id.to_owned(), held);
                    held
                }
            };
            if held {
                held_persons.push(person_id.to_owned());
            }
        }
        if held_persons.is_empty() {
            counts.due += 1;
            due.records_due.push(DueRecord {
                agency: record.source.agency.as_str().to_owned(),
                record_id: record.source.record_id.as_str().to_owned(),
                rule: rule_name,
                kept_until: until,
            });
        } else {
            counts.blocked += 1;
            for person in held_persons {
                *due.held.entry(person).or_default() += 1;
            }
        }
    }
    Ok(due)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_schedule_file_parses_and_refuses_what_it_cannot_read() {
        let schedule = Schedule::parse(
            r#"
[[rule]]
name = "looked after"
agency_type = "social_care"
kinds = "social_care."
plan = "looked_after"
keep_until = "years_from_birth:75"

[[rule]]
name = "police"
agency_type = "police"
kinds = ""
keep_until = "review_date"
"#,
        )
        .unwrap();
        assert_eq!(schedule.rules.len(), 2);
        assert_eq!(schedule.rules[0].keep_until, KeepUntil::YearsFromBirth(75));
        assert_eq!(schedule.rules[1].keep_until, KeepUntil::ReviewDate);
        for (text, expected) in [
            ("", "1 to"),
            (
                "[[rule]]\nname='x'\nagency_type='ministry'\nkinds=''\nkeep_until='review_date'",
                "agency type",
            ),
            (
                "[[rule]]\nname='x'\nagency_type='police'\nkinds=''\nkeep_until='forever'",
                "keep_until",
            ),
            (
                "[[rule]]\nname='x'\nagency_type='police'\nkinds=''\nkeep_until='birthday:0'",
                "1 to 150",
            ),
            (
                "[[rule]]\nname='x'\nagency_type='police'\nkinds=''\nkeep_until='review_date'\nextra=1",
                "TOML",
            ),
        ] {
            let error = Schedule::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}

// ---- batches and their approval ----

/// Who made a batch: the server's daily pass.
pub const MADE_BY_JOB: &str = "job";
/// Who made a batch: `sightline retention run`.
pub const MADE_BY_CLI: &str = "cli";
/// The audit action of a batch written.
pub const BATCH_ACTION: &str = "retention_batch";
/// The shortest decision reason (a sentence).
pub const DECISION_REASON_CHARS_MIN: usize = 20;
/// The longest decision reason.
pub const DECISION_REASON_CHARS_MAX: usize = 1_000;
/// The most batches read back when looking for records already in one.
const OPEN_BATCHES_READ_MAX: u32 = 1_000;

/// Why a batch could not be made or decided.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(
        "the reason must be a sentence of {DECISION_REASON_CHARS_MIN} to {DECISION_REASON_CHARS_MAX} characters, without control characters"
    )]
    Reason,
    #[error("choose to approve, reject or defer the batch")]
    Decision,
    #[error("no retention batch has this number")]
    UnknownBatch,
    #[error("this batch was already {0}; it cannot be decided again")]
    AlreadyDecided(String),
    #[error(transparent)]
    Store(#[from] sightline_store::StoreError),
    /// The approval is recorded but its erasure failed (for example a legal
    /// hold placed a moment before): nothing of the batch was erased.
    #[error("the approval is recorded but nothing was erased: {0}")]
    Erasure(#[from] crate::erasure::ErasureError),
}

/// What the daily pass did.
#[derive(Debug, Clone)]
pub enum BatchOutcome {
    /// A batch for the day existed already (the pass runs once a day).
    Already(sightline_store::RetentionBatchRow),
    /// Nothing newly due and nothing blocked: no batch written.
    Nothing {
        /// Due, but already in a batch pending or approved.
        n_in_open_batches: usize,
    },
    /// The batch written.
    Made {
        batch: sightline_store::RetentionBatchRow,
        /// Due, but already in a batch pending or approved.
        n_in_open_batches: usize,
    },
}

/// A batch's state: its latest decision, or pending.
pub fn batch_state(latest: Option<&sightline_store::RetentionDecisionRow>) -> &str {
    latest.map_or("pending", |row| row.event.decision.as_str())
}

/// The latest decision of each batch (of the newest decisions read).
pub fn latest_decisions(
    store: &dyn sightline_store::Store,
) -> Result<BTreeMap<i64, sightline_store::RetentionDecisionRow>, sightline_store::StoreError> {
    let mut latest = BTreeMap::new();
    for row in store
        .access()
        .retention_decisions(None, sightline_store::CONTROLS_READ_LIMIT_MAX)?
    {
        // Newest first: the first seen of a batch is its latest.
        latest.entry(row.event.batch_id).or_insert(row);
    }
    Ok(latest)
}

/// Every record of batch `batch_id`, paged through.
pub fn batch_records(
    store: &dyn sightline_store::Store,
    batch_id: i64,
) -> Result<Vec<sightline_store::RetentionBatchRecord>, sightline_store::StoreError> {
    let mut records: Vec<sightline_store::RetentionBatchRecord> = Vec::new();
    loop {
        let after = records
            .last()
            .map(|last| (last.agency.clone(), last.record_id.clone()));
        let page = store.access().retention_batch_records(
            batch_id,
            after
                .as_ref()
                .map(|(agency, id)| (agency.as_str(), id.as_str())),
            sightline_store::CONTROLS_READ_LIMIT_MAX,
        )?;
        let full = page.len() >= sightline_store::CONTROLS_READ_LIMIT_MAX as usize;
        records.extend(page);
        if !full {
            return Ok(records);
        }
    }
}

/// The daily pass (the server's ticker once a day, `sightline retention
/// run` from cron): unless a batch of `as_of` exists, writes one of what the
/// schedule makes due that day, each record with its rule and date, leaving
/// out records on legal hold (counted) and those already in a batch pending
/// or approved, at most [`sightline_store::RETENTION_BATCH_RECORDS_MAX`]
/// (the rest counted, for the next day). Audited ([`BATCH_ACTION`]).
#[allow(clippy::too_many_arguments)]
pub fn make_batch(
    store: &dyn sightline_store::Store,
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    organisation: &Organisation,
    schedule: &Schedule,
    as_of: NaiveDate,
    actor: &crate::audit::AuditActor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BatchOutcome, RetentionError> {
    let day = as_of.format("%Y-%m-%d").to_string();
    if let Some(existing) = store
        .access()
        .retention_batches(Some(&day), None, 1)?
        .into_iter()
        .next()
    {
        return Ok(BatchOutcome::Already(existing));
    }
    let listed = due(linked, facts, organisation, schedule, as_of, |person| {
        crate::controls::is_on_hold(store, person)
    })?;
    let latest = latest_decisions(store)?;
    let mut in_open: std::collections::BTreeSet<(String, String)> =
        std::collections::BTreeSet::new();
    for batch in store
        .access()
        .retention_batches(None, None, OPEN_BATCHES_READ_MAX)?
    {
        let state = batch_state(latest.get(&batch.id));
        if state == "pending" || state == sightline_store::RETENTION_APPROVED {
            for record in batch_records(store, batch.id)? {
                in_open.insert((record.agency, record.record_id));
            }
        }
    }
    let mut records = Vec::new();
    let mut n_in_open_batches = 0;
    let mut n_left_over: i64 = 0;
    for record in listed.records_due {
        if in_open.contains(&(record.agency.clone(), record.record_id.clone())) {
            n_in_open_batches += 1;
            continue;
        }
        if records.len() >= sightline_store::RETENTION_BATCH_RECORDS_MAX {
            n_left_over += 1;
            continue;
        }
        records.push(sightline_store::RetentionBatchRecord {
            agency: record.agency,
            record_id: record.record_id,
            rule: record.rule,
            kept_until: record.kept_until.format("%Y-%m-%d").to_string(),
        });
    }
    let n_blocked: usize = listed.by_rule.values().map(|counts| counts.blocked).sum();
    if records.is_empty() && n_blocked == 0 && n_left_over == 0 {
        return Ok(BatchOutcome::Nothing { n_in_open_batches });
    }
    let batch = store
        .access()
        .append_retention_batch(&sightline_store::NewRetentionBatch {
            created_at_us: crate::to_micros(now),
            as_of: day,
            n_blocked: i64::try_from(n_blocked).unwrap_or(i64::MAX),
            n_left_over,
            made_by: actor.username.clone(),
            records,
        })?;
    crate::audit::record(
        store,
        actor,
        BATCH_ACTION,
        &format!("retention_batch:{}", batch.id),
        &format!(
            "schedule on {}: {} due, {} blocked by legal hold",
            batch.as_of, batch.n_records, batch.n_blocked
        ),
        "ok",
        now,
    )?;
    Ok(BatchOutcome::Made {
        batch,
        n_in_open_batches,
    })
}

/// The actor the server's daily pass writes as.
pub fn job_actor() -> crate::audit::AuditActor {
    crate::audit::AuditActor {
        user_id: None,
        username: MADE_BY_JOB.to_owned(),
        role: "system".to_owned(),
        agency: String::new(),
    }
}

/// The records of a batch that a person they name is on legal hold now
/// (re-checked when the batch is approved and again at erasure).
pub fn held_records(
    store: &dyn sightline_store::Store,
    linked: &LinkedRecords,
    records: &[sightline_store::RetentionBatchRecord],
) -> Result<std::collections::BTreeSet<(String, String)>, sightline_store::StoreError> {
    let mut held = std::collections::BTreeSet::new();
    let mut hold_of: BTreeMap<String, bool> = BTreeMap::new();
    for record in records {
        let Some(record_idx) = linked.latest_idx(&record.agency, &record.record_id) else {
            continue;
        };
        for person_idx in 0..linked.n_persons(record_idx) {
            let person_id = linked.person_id(record_idx, person_idx);
            if person_id.is_empty() {
                continue;
            }
            let on_hold = match hold_of.get(person_id) {
                Some(on_hold) => *on_hold,
                None => {
                    let on_hold = crate::controls::is_on_hold(store, person_id)?;
                    hold_of.insert(person_id.to_owned(), on_hold);
                    on_hold
                }
            };
            if on_hold {
                held.insert((record.agency.clone(), record.record_id.clone()));
                break;
            }
        }
    }
    Ok(held)
}

/// The privacy officer's decision on batch `batch_id`: `approved`,
/// `rejected` or `deferred`, with a reason of a sentence. A batch approved
/// or rejected is decided for good; a deferred one can be decided again.
/// Approving re-checks legal holds: the records now held are counted and
/// will never be erased from this batch. Audited first
/// (`retention_approved|rejected|deferred`), then stored.
pub fn decide_batch(
    store: &dyn sightline_store::Store,
    linked: &LinkedRecords,
    actor: &crate::audit::AuditActor,
    batch_id: i64,
    decision: &str,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<sightline_store::RetentionDecisionRow, RetentionError> {
    let decision = match decision {
        "approve" | "approved" => sightline_store::RETENTION_APPROVED,
        "reject" | "rejected" => sightline_store::RETENTION_REJECTED,
        "defer" | "deferred" => sightline_store::RETENTION_DEFERRED,
        _ => return Err(RetentionError::Decision),
    };
    let reason = reason.trim();
    let n_chars = reason.chars().count();
    if !(DECISION_REASON_CHARS_MIN..=DECISION_REASON_CHARS_MAX).contains(&n_chars)
        || reason.chars().any(char::is_control)
    {
        return Err(RetentionError::Reason);
    }
    let Some(batch) = store
        .access()
        .retention_batches(None, batch_id.checked_add(1), 1)?
        .into_iter()
        .find(|batch| batch.id == batch_id)
    else {
        return Err(RetentionError::UnknownBatch);
    };
    if let Some(latest) = store
        .access()
        .retention_decisions(Some(batch.id), 1)?
        .into_iter()
        .next()
        && latest.event.decision != sightline_store::RETENTION_DEFERRED
    {
        return Err(RetentionError::AlreadyDecided(latest.event.decision));
    }
    let n_kept_held = if decision == sightline_store::RETENTION_APPROVED {
        held_records(store, linked, &batch_records(store, batch.id)?)?.len()
    } else {
        0
    };
    crate::audit::record(
        store,
        actor,
        &format!("retention_{decision}"),
        &format!("retention_batch:{}", batch.id),
        reason,
        "ok",
        now,
    )?;
    Ok(store
        .access()
        .append_retention_decision(&sightline_store::NewRetentionDecision {
            batch_id: batch.id,
            at_us: crate::to_micros(now),
            decision: decision.to_owned(),
            reason: reason.to_owned(),
            n_kept_held: i64::try_from(n_kept_held).unwrap_or(i64::MAX),
            by_user_id: actor.user_id,
            by_username: actor.username.clone(),
        })?)
}

/// What erasing an approved batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchErased {
    /// Records whose keys were destroyed now.
    pub n_erased: usize,
    /// Records kept because a legal hold covers someone they name.
    pub n_kept_held: usize,
}

/// Erases the records of approved batch `batch_id` that no legal hold covers
/// at this moment (holds are checked again here, and once more inside the
/// erasure, which refuses the whole set if one appeared in between), through
/// [`crate::erasure::erase_records_in`]: keys destroyed, a tombstone written,
/// audited, and the engine reloaded so no page or cache keeps them. The
/// erasure's reason names the batch and carries the approval's reason.
pub fn erase_approved_batch(
    engine: &crate::SharedEngine,
    store: &dyn sightline_store::Store,
    actor: &crate::audit::AuditActor,
    batch_id: i64,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BatchErased, RetentionError> {
    let records = batch_records(store, batch_id)?;
    let held = engine
        .with_linked(|linked, _| held_records(store, linked, &records))
        .map_err(|error| crate::erasure::ErasureError::Engine(error.to_string()))??;
    let to_erase: Vec<(String, String)> = records
        .iter()
        .map(|record| (record.agency.clone(), record.record_id.clone()))
        .filter(|key| !held.contains(key))
        .collect();
    if !to_erase.is_empty() {
        let prefix = format!("retention batch {batch_id} approved: ");
        let room = crate::erasure::ERASURE_REASON_CHARS_MAX.saturating_sub(prefix.chars().count());
        let reason = format!(
            "{prefix}{}",
            reason.trim().chars().take(room).collect::<String>()
        );
        crate::erasure::erase_records_in(engine, store, &to_erase, &reason, actor, now)?;
    }
    Ok(BatchErased {
        n_erased: to_erase.len(),
        n_kept_held: held.len(),
    })
}

/// What a record page and the record API say of a record's retention.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RetentionShown {
    /// The rule of the schedule that keeps it, if any.
    pub rule: Option<String>,
    /// The last day the rule keeps it (YYYY-MM-DD), if it can be told.
    pub kept_until: Option<NaiveDate>,
    /// Whether that day has passed on the day asked.
    pub past: bool,
    /// The same in words, for people.
    pub in_words: String,
}

/// The retention of the newest version of `(agency, record_id)`, in words,
/// as of `today`; `None` if the record is not in `linked`.
pub fn retention_shown(
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    organisation: &Organisation,
    schedule: &Schedule,
    agency: &str,
    record_id: &str,
    today: NaiveDate,
) -> Option<RetentionShown> {
    let record_idx = linked.latest_idx(agency, record_id)?;
    let judged = record_retention(linked, facts, organisation, schedule, record_idx)?;
    Some(match judged {
        RecordRetention::NoRule => RetentionShown {
            rule: None,
            kept_until: None,
            past: false,
            in_words: "Kept: no rule of the retention schedule covers this record".to_owned(),
        },
        RecordRetention::Undecided {
            rule,
            adult_subject,
        } => RetentionShown {
            in_words: if adult_subject {
                format!(
                    "No date: the rule \u{201c}{rule}\u{201d} is for children's records and its subject was an adult on its date"
                )
            } else {
                format!(
                    "No date can be told under the rule \u{201c}{rule}\u{201d} (no date of birth or review date)"
                )
            },
            rule: Some(rule),
            kept_until: None,
            past: false,
        },
        RecordRetention::KeptUntil { rule, until } => {
            let past = today > until;
            RetentionShown {
                in_words: if past {
                    format!(
                        "Kept until {} under the rule \u{201c}{rule}\u{201d}: past that date, it is erased once the privacy officer approves its batch (unless a legal hold keeps it)",
                        sightline_core::dates::date(until)
                    )
                } else {
                    format!(
                        "Kept until {} under the rule \u{201c}{rule}\u{201d}",
                        sightline_core::dates::date(until)
                    )
                },
                rule: Some(rule),
                kept_until: Some(until),
                past,
            }
        }
    })
}
