//! The statutory clocks of every child the engine holds, kept up to date as
//! records and time arrive, so that a page listing an agency's clocks reads what
//! is open instead of sweeping every child's picture.
//!
//! The engine writes the book whenever it evaluates a child
//! ([`crate::Engine::evaluate`]: at intake for the children a batch touches, at
//! each tick for the children whose time-based rules fell due), with the clock
//! reports of `sightline_rules::clocks` at the evaluation's `now` and the
//! agencies whose clocks they are (those that sent a `social_care.*` record
//! about the child). A clock changes state only through a record (met, stopped,
//! a new period) or by going overdue, which is a firing the wake queue brings
//! the child back for, so the book is as current as the engine's alerts.
//!
//! - Invariant: for every child evaluated at `now`, the book holds exactly the
//!   reports `sightline_rules::clocks` gives at `now` (tested in
//!   `tests/engine.rs` against the sweep).
//! - Invariant: the book is complete only when every child the engine holds has
//!   been evaluated since the engine was loaded; until then (between a load and
//!   the first tick) readers fall back to the sweep.

use chrono::NaiveDate;
use sightline_rules::{ClockReport, ClockStatus};
use std::collections::{BTreeSet, HashMap, HashSet};

/// One child's clocks as of its last evaluation.
#[derive(Debug, Default)]
struct Booked {
    /// The agencies whose clocks these are.
    agencies: Vec<String>,
    reports: Vec<ClockReport>,
}

/// Every child's clocks, with the open ones of each agency by deadline.
#[derive(Debug, Default)]
pub struct ClockBook {
    children: HashMap<String, Booked>,
    /// Open (running or overdue) clocks by agency: (deadline, child, report index).
    open_by_agency: HashMap<String, BTreeSet<(NaiveDate, String, usize)>>,
    /// Children held but not evaluated since the engine was loaded.
    pending: HashSet<String>,
}

fn is_open(report: &ClockReport) -> bool {
    matches!(
        report.status,
        ClockStatus::Running | ClockStatus::Overdue { .. }
    )
}

impl ClockBook {
    /// Estimated bytes ([`crate::memory`]) and the number of children booked.
    pub fn memory_bytes(&self) -> (usize, usize) {
        use sightline_linkage::memory::{
            btree_set_bytes, hash_map_bytes, hash_set_bytes, vec_bytes,
        };
        let reports = |reports: &Vec<ClockReport>| {
            vec_bytes(reports)
                + reports
                    .iter()
                    .map(|report| {
                        report.rule_id.capacity()
                            + report.title.capacity()
                            + report.started_by.agency.capacity()
                            + report.started_by.record_id.capacity()
                    })
                    .sum::<usize>()
        };
        let children = hash_map_bytes(&self.children)
            + self
                .children
                .iter()
                .map(|(child, booked)| {
                    child.capacity()
                        + vec_bytes(&booked.agencies)
                        + booked.agencies.iter().map(String::capacity).sum::<usize>()
                        + reports(&booked.reports)
                })
                .sum::<usize>();
        let open = hash_map_bytes(&self.open_by_agency)
            + self
                .open_by_agency
                .iter()
                .map(|(agency, open)| {
                    agency.capacity()
                        + btree_set_bytes(open)
                        + open
                            .iter()
                            .map(|(_, child, _)| child.capacity())
                            .sum::<usize>()
                })
                .sum::<usize>();
        let pending = hash_set_bytes(&self.pending)
            + self.pending.iter().map(String::capacity).sum::<usize>();
        (children + open + pending, self.children.len())
    }

    /// Records `child_id`'s clocks and the agencies they belong to, replacing
    /// what the book held for the child.
    pub fn set(&mut self, child_id: &str, agencies: Vec<String>, reports: Vec<ClockReport>) {
        self.remove(child_id);
        for (report_idx, report) in reports.iter().enumerate() {
            if !is_open(report) {
                continue;
            }
            for agency in &agencies {
                self.open_by_agency
                    .entry(agency.clone())
                    .or_default()
                    .insert((report.deadline, child_id.to_owned(), report_idx));
            }
        }
        self.children
            .insert(child_id.to_owned(), Booked { agencies, reports });
    }

    /// Forgets `child_id` (no longer a child, or merged into another person).
    pub fn remove(&mut self, child_id: &str) {
        self.pending.remove(child_id);
        let Some(booked) = self.children.remove(child_id) else {
            return;
        };
        for (report_idx, report) in booked.reports.iter().enumerate() {
            if !is_open(report) {
                continue;
            }
            for agency in &booked.agencies {
                if let Some(open) = self.open_by_agency.get_mut(agency) {
                    open.remove(&(report.deadline, child_id.to_owned(), report_idx));
                    if open.is_empty() {
                        self.open_by_agency.remove(agency);
                    }
                }
            }
        }
    }

    /// Marks children as held but not yet evaluated: the book is incomplete
    /// until each is [`ClockBook::set`] or [`ClockBook::remove`]d.
    pub fn mark_pending<'a>(&mut self, children: impl IntoIterator<Item = &'a str>) {
        self.pending.extend(children.into_iter().map(str::to_owned));
    }

    /// Whether every child held has been evaluated since the engine was loaded.
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }

    /// The open clocks of `agency` whose deadline is on or before `last_day`,
    /// by deadline: (child id, report).
    pub fn open_due_by<'a>(
        &'a self,
        agency: &str,
        last_day: NaiveDate,
    ) -> impl Iterator<Item = (&'a str, &'a ClockReport)> + 'a {
        self.open_by_agency
            .get(agency)
            .into_iter()
            .flat_map(|open| open.iter())
            .take_while(move |(deadline, _, _)| *deadline <= last_day)
            .filter_map(|(_, child_id, report_idx)| {
                let report = self.children.get(child_id)?.reports.get(*report_idx)?;
                Some((child_id.as_str(), report))
            })
    }

    /// The clocks of one child as of its last evaluation.
    pub fn reports_of(&self, child_id: &str) -> Option<&[ClockReport]> {
        self.children
            .get(child_id)
            .map(|booked| booked.reports.as_slice())
    }
}
