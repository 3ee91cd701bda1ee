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

/// What is due on one day.
#[derive(Debug, Clone, Default)]
pub struct Due {
    pub as_of: Option<NaiveDate>,
    /// By rule name, in the schedule's order of first use.
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// Current records no rule takes.
    pub no_rule: usize,
    /// `(agency, record_id, rule)` of each record due (not blocked).
    pub records_due: Vec<(String, String, String)>,
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
    for (record_idx, loaded) in linked.records.iter().enumerate() {
        if !linked.is_current(record_idx) {
            continue;
        }
        let record = &loaded.record;
        let profile = organisation.profile(&record.source.agency, [record.kind.as_str()]);
        let Some(rule) = schedule.rule_for(profile.agency_type, record) else {
            due.no_rule += 1;
            continue;
        };
        let counts = due.by_rule.entry(rule.name.clone()).or_default();
        counts.records += 1;
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
            counts.undecided += 1;
            counts.adult_subject += 1;
            continue;
        }
        let Some(until) = kept_until(rule, record, subject_dob) else {
            counts.undecided += 1;
            continue;
        };
        if as_of <= until {
            continue;
        }
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
            due.records_due.push((
                record.source.agency.as_str().to_owned(),
                record.source.record_id.as_str().to_owned(),
                rule.name.clone(),
            ));
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
