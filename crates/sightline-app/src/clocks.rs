//! Statutory clocks for the practitioner's pages and the API: where each clock
//! of the rule pack's clock rules stands for a child (running, met, met late,
//! stopped, overdue), and the clocks due soon for a team.
//!
//! The dates come from `sightline_rules::clocks`, the same sweep that fires the
//! clock rules over the engine's child picture, so a clock shown overdue is one
//! whose rule raised (or will raise at the engine's next tick) an alert; nothing
//! here re-derives a deadline. Working days are England and Wales's
//! (`sightline_rules::calendar`).
//!
//! - Invariant: pure over the engine's picture and `now`; no IO, no clock.

use crate::engine::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use sightline_rules::calendar::is_working_day;
use sightline_rules::{ClockReport, ClockStatus};
use std::cmp::Ordering;

/// One clock of one child, ready for a page or the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockEntry {
    /// The child's person id.
    pub child_id: String,
    /// The clock rule's id (`assessment_overdue`, ...).
    pub rule: String,
    /// What the clock is, in plain words.
    pub title: String,
    /// `running`, `met`, `met_late`, `stopped`, `superseded` (went overdue,
    /// then a later period of the same clock did) or `overdue`. Only a clock of
    /// a current episode is overdue: one whose plan ended, case closed or
    /// meeting record arrived is stopped or met.
    pub status: &'static str,
    /// The record that started the clock.
    pub started_by_agency: String,
    pub started_by_record_id: String,
    /// The day this period runs from.
    pub since: NaiveDate,
    /// The period (`45 working days`, `3 months`).
    pub period: String,
    /// The last day on which the clock is met on time.
    pub deadline: NaiveDate,
    /// Working days from today to the deadline (0: due today; negative: overdue
    /// by that many working days). Only for running and overdue clocks.
    pub working_days_left: Option<i64>,
    /// The day a record met or stopped the clock.
    pub ended_on: Option<NaiveDate>,
}

impl ClockEntry {
    fn of(child_id: &str, report: ClockReport, today: NaiveDate) -> ClockEntry {
        let (status, ended) = match &report.status {
            ClockStatus::Running => ("running", None),
            ClockStatus::Overdue { .. } => ("overdue", None),
            ClockStatus::Met { on, .. } => ("met", Some(*on)),
            ClockStatus::MetLate { on, .. } => ("met_late", Some(*on)),
            ClockStatus::Stopped { on, .. } => ("stopped", Some(*on)),
            ClockStatus::Superseded { on } => ("superseded", Some(*on)),
        };
        let working_days_left = ended
            .is_none()
            .then(|| working_days_between(today, report.deadline));
        ClockEntry {
            child_id: child_id.to_owned(),
            rule: report.rule_id,
            title: report.title,
            status,
            started_by_agency: report.started_by.agency,
            started_by_record_id: report.started_by.record_id,
            since: report.since,
            period: report.due.to_string(),
            deadline: report.deadline,
            working_days_left,
            ended_on: ended,
        }
    }

    /// Running or overdue: still needs something done.
    pub fn is_open(&self) -> bool {
        matches!(self.status, "running" | "overdue")
    }
}

/// The most days [`working_days_between`] walks; farther dates saturate.
const WORKING_DAYS_WALK_MAX: i64 = 4_000;

/// Working days after `from` up to and including `to` (negative when `to` is
/// before `from`: the working days after `to` up to and including `from`).
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let (low, high, sign) = match from.cmp(&to) {
        Ordering::Equal => return 0,
        Ordering::Less => (from, to, 1),
        Ordering::Greater => (to, from, -1),
    };
    let span = (high - low).num_days().min(WORKING_DAYS_WALK_MAX);
    let n_working = low
        .iter_days()
        .skip(1)
        .take(usize::try_from(span).unwrap_or(0))
        .filter(|day| is_working_day(*day))
        .count();
    sign * i64::try_from(n_working).unwrap_or(i64::MAX)
}

/// Every clock of the child as of `now`: overdue first, then running by
/// deadline, then the finished ones newest first.
pub fn child_clocks(engine: &Engine, child_id: &str, now: DateTime<Utc>) -> Vec<ClockEntry> {
    let Some(picture) = engine.child_picture(child_id) else {
        return Vec::new();
    };
    let today = now.date_naive();
    let mut entries: Vec<ClockEntry> = sightline_rules::clocks(engine.pack(), &picture, now)
        .into_iter()
        .map(|report| ClockEntry::of(child_id, report, today))
        .collect();
    sort_clocks(&mut entries);
    entries
}

/// Overdue, then running, then the rest; open ones by deadline, the others
/// newest first.
fn sort_clocks(entries: &mut [ClockEntry]) {
    fn rank(entry: &ClockEntry) -> u8 {
        match entry.status {
            "overdue" => 0,
            "running" => 1,
            _ => 2,
        }
    }
    entries.sort_by(|left, right| {
        rank(left).cmp(&rank(right)).then_with(|| {
            if left.is_open() {
                (left.deadline, &left.child_id, &left.rule).cmp(&(
                    right.deadline,
                    &right.child_id,
                    &right.rule,
                ))
            } else {
                right.deadline.cmp(&left.deadline)
            }
        })
    });
}

/// The children whose statutory clocks are `agency`'s: those it sent a
/// `social_care.*` record about (the local authority that holds the case).
pub fn children_of_agency(engine: &Engine, agency: &str) -> Vec<String> {
    engine
        .facts()
        .values()
        .filter(|facts| facts.is_child)
        .filter(|facts| {
            facts.mentions.iter().any(|mention| {
                engine
                    .linked()
                    .records
                    .get(mention.record_idx)
                    .is_some_and(|loaded| {
                        loaded.record.source.agency.as_str() == agency
                            && loaded.record.kind.as_str().starts_with("social_care.")
                    })
            })
        })
        .map(|facts| facts.id.clone())
        .collect()
}

/// The open clocks of `children` that are overdue or due within
/// `due_within_days` calendar days of `now`: overdue first, then by deadline;
/// at most `limit`.
pub fn clocks_due(
    engine: &Engine,
    children: &[String],
    now: DateTime<Utc>,
    due_within_days: u32,
    limit: usize,
) -> Vec<ClockEntry> {
    let today = now.date_naive();
    let last_day = today
        .checked_add_days(chrono::Days::new(u64::from(due_within_days)))
        .unwrap_or(NaiveDate::MAX);
    let mut entries: Vec<ClockEntry> = children
        .iter()
        .flat_map(|child_id| child_clocks(engine, child_id, now))
        .filter(|entry| {
            entry.status == "overdue" || (entry.is_open() && entry.deadline <= last_day)
        })
        .collect();
    sort_clocks(&mut entries);
    entries.truncate(limit);
    entries
}

/// [`clocks_due`] for the children whose clocks are `agency`'s
/// ([`children_of_agency`]), read from the engine's clock book (the clocks as
/// of each child's last evaluation, kept up to date at intake and tick) rather
/// than swept per call; the sweep only while the book is incomplete (after a
/// load, before the first tick). Cost: the agency's open clocks due by the last
/// day, not its children.
pub fn agency_clocks_due(
    engine: &Engine,
    agency: &str,
    now: DateTime<Utc>,
    due_within_days: u32,
    limit: usize,
) -> Vec<ClockEntry> {
    let book = engine.clock_book();
    if !book.is_complete() {
        let children = children_of_agency(engine, agency);
        return clocks_due(engine, &children, now, due_within_days, limit);
    }
    let today = now.date_naive();
    let last_day = today
        .checked_add_days(chrono::Days::new(u64::from(due_within_days)))
        .unwrap_or(NaiveDate::MAX);
    // Open clocks due by the last day: every overdue one (its deadline has
    // passed) and the running ones due soon.
    let mut entries: Vec<ClockEntry> = book
        .open_due_by(agency, last_day)
        .map(|(child_id, report)| ClockEntry::of(child_id, report.clone(), today))
        .collect();
    sort_clocks(&mut entries);
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn working_days_skip_weekends_and_bank_holidays_both_ways() {
        // Thursday 2007-04-05 to Tuesday 04-10: Good Friday, the weekend and
        // Easter Monday lie between, so the Tuesday is 1 working day on.
        assert_eq!(
            working_days_between(day("2007-04-05"), day("2007-04-10")),
            1
        );
        assert_eq!(
            working_days_between(day("2007-04-10"), day("2007-04-05")),
            -1
        );
        assert_eq!(
            working_days_between(day("2007-04-10"), day("2007-04-10")),
            0
        );
        // Monday to the next Monday: five working days.
        assert_eq!(
            working_days_between(day("2007-03-05"), day("2007-03-12")),
            5
        );
        // Far dates saturate instead of walking forever.
        assert!(
            working_days_between(day("1900-01-01"), day("2200-01-01")) <= WORKING_DAYS_WALK_MAX
        );
    }
}
