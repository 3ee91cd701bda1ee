//! Persisted alerts: one row per alert, the evidence records behind it, an
//! append-only history of what happened to it (raised, evidence added, severity
//! raised, reopened, decided, escalated, rerouted, assigned, unassigned, follow-up
//! done), and the follow-ups decisions set (who does what by when).
//!
//! The semantics live here once, written against [`AlertConn`] (a connection inside
//! a transaction); each backend only supplies the connection. Writes made by
//! [`crate::WriteTx::upsert_alerts`] are part of the record's transaction, so a
//! crash loses no alert and a rolled-back record raises none.
//!
//! # Invariants
//!
//! - Invariant: alerts, their evidence and their events are never deleted; evidence
//!   and events are never updated (database triggers). An alert row is updated only
//!   in its state columns (status, severity, due time, escalation, routing,
//!   `updated_at_us`, `decided_at_us`), and every such change writes an event.
//! - Invariant: upserting the same alerts twice changes nothing the second time
//!   (every input reports [`AlertChange::Unchanged`]), so re-evaluating records in
//!   a batch, one by one or after a crash gives the same alerts.
//! - Invariant: severity only rises; escalation level only rises while an alert is
//!   open (an alert reopened by new evidence starts again at level 0; one reopened
//!   by a person keeps its routing and level).
//! - Invariant: a person's action (decision, assignment, reopening, follow-up
//!   done) is an event naming the person; a decision or reopening also gives the
//!   reason. A follow-up changes once, from open to done (database triggers).

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::StoreError;

/// The most rows one [`AlertStore::list`] or [`AlertStore::overdue`] call
/// returns; larger limits are clamped.
pub const ALERT_LIST_LIMIT_MAX: u32 = 1_000;

/// Alert severities, lowest first. Stored as these words.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Escalation level of an alert nobody has escalated.
pub const ESCALATION_NONE: i64 = 0;
/// Escalated to the team manager.
pub const ESCALATION_TEAM_MANAGER: i64 = 1;
/// Escalated to the head of service.
pub const ESCALATION_HEAD_OF_SERVICE: i64 = 2;

/// `status` of an alert waiting for a decision.
pub const STATUS_OPEN: &str = "open";
/// `status` of an alert with a recorded decision.
pub const STATUS_DECIDED: &str = "decided";

/// The rank of a severity word (low 0 .. critical 3); `None` if unknown.
pub fn severity_rank(severity: &str) -> Option<usize> {
    SEVERITIES.iter().position(|known| *known == severity)
}

/// One alert, as stored. `Debug` leaves out the explanation (it can hold personal
/// facts).
#[derive(Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// `a-<16 hex>`, chosen by the caller (deterministic, so re-raising finds it).
    pub id: String,
    /// The child the alert is about.
    pub child_id: String,
    /// The person id of the child, when linkage knows it.
    pub person_id: Option<String>,
    /// The rule that raised it.
    pub rule_id: String,
    /// The rule pack it came from.
    pub pack_name: String,
    /// The rule pack's version.
    pub pack_version: String,
    /// One of [`SEVERITIES`].
    pub severity: String,
    /// Short title.
    pub title: String,
    /// Plain-language explanation.
    pub explanation: String,
    /// The guidance the rule rests on.
    pub citation: String,
    /// The rule's route text.
    pub route: String,
    /// Whom it is routed to, e.g. `user:<username>` or `team:<agency>/duty`.
    pub routed_to: String,
    /// When it was raised, in logical time (UTC microseconds).
    pub raised_at_us: i64,
    /// When it last changed, in logical time.
    pub updated_at_us: i64,
    /// When a decision is due.
    pub due_at_us: i64,
    /// [`STATUS_OPEN`] or [`STATUS_DECIDED`].
    pub status: String,
    /// [`ESCALATION_NONE`], [`ESCALATION_TEAM_MANAGER`] or [`ESCALATION_HEAD_OF_SERVICE`].
    pub escalation_level: i64,
    /// When the (latest) decision was recorded; `None` while open.
    pub decided_at_us: Option<i64>,
    /// The worker (username) of the routed team it is assigned to; `None`: the
    /// team's. Ignored by upserts (see [`AlertStore::assign`]).
    pub assigned_to: Option<String>,
}

/// One evidence record of an alert.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvidenceRow {
    /// `source.agency` of the record.
    pub agency: String,
    /// `source.record_id`.
    pub record_id: String,
    /// `source.version`.
    pub version: i64,
}

/// One entry of an alert's history. `Debug` leaves out the reason (free text).
#[derive(Clone, PartialEq, Eq)]
pub struct AlertEventRow {
    /// Position in the history of all alerts; increasing.
    pub seq: i64,
    /// The alert.
    pub alert_id: String,
    /// When, in logical time.
    pub at_us: i64,
    /// `raised`, `evidence_added`, `severity_raised`, `reopened`, `decided`,
    /// `escalated`, `rerouted`, `assigned`, `unassigned` or `follow_up_done`.
    pub kind: String,
    /// Who, for a person's action (`decided`, `assigned`, `unassigned`,
    /// `follow_up_done`, and `reopened` by a person): the username.
    pub actor: Option<String>,
    /// The decision word (`decided`).
    pub decision: Option<String>,
    /// The reason (`decided`, and `reopened` by a person).
    pub reason: Option<String>,
    /// JSON text with the particulars, e.g. `{"n":2}` for `evidence_added`.
    pub detail: Option<String>,
}

/// One alert to raise or re-raise, with its evidence.
///
/// On insert, `status`, `escalation_level` and `decided_at_us` of `alert` are
/// ignored (a new alert is open, not escalated, undecided) and `updated_at_us` is
/// the call's `at_us`. On update only `severity` (if higher), `due_at_us` (if the
/// alert reopens) and `routed_to` (if it reopens) are used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertUpsert {
    /// The alert.
    pub alert: AlertRow,
    /// Its evidence records; ones already stored are skipped.
    pub evidence: Vec<EvidenceRow>,
}

/// What one upsert did to one alert. [`crate::WriteTx::upsert_alerts`] returns,
/// for each input in order, either `Unchanged` or each change it made, in the order
/// the events were written (`EvidenceAdded`, then `SeverityRaised`, then `Reopened`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertChange {
    /// A new alert was stored.
    Raised {
        /// Its id.
        id: String,
    },
    /// `n` evidence records were added to an existing alert.
    EvidenceAdded {
        /// Its id.
        id: String,
        /// How many.
        n: u64,
    },
    /// A decided alert got new evidence and is open again.
    Reopened {
        /// Its id.
        id: String,
    },
    /// The severity rose.
    SeverityRaised {
        /// Its id.
        id: String,
    },
    /// Nothing changed.
    Unchanged {
        /// Its id.
        id: String,
    },
}

/// A position in the [`AlertStore::list`] order, to page after.
///
/// The order is: overdue first (open and `due_at_us < now_us` of the filter), then
/// severity from critical to low, then `due_at_us` ascending, then `id`. Build a
/// cursor from the last row of a page with [`AlertCursor::after`] using the same
/// `now_us`; it travels in URLs as [`AlertCursor::to_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertCursor {
    /// 0 when the row is overdue, else 1.
    pub overdue_key: i64,
    /// 0 for critical .. 3 for low.
    pub severity_key: i64,
    /// The row's `due_at_us`.
    pub due_at_us: i64,
    /// The row's id.
    pub id: String,
}

impl AlertCursor {
    /// The cursor just after `row` in the order for `now_us`.
    pub fn after(row: &AlertRow, now_us: Option<i64>) -> AlertCursor {
        let overdue = now_us.is_some_and(|now| row.status == STATUS_OPEN && row.due_at_us < now);
        AlertCursor {
            overdue_key: i64::from(!overdue),
            severity_key: severity_key(&row.severity),
            due_at_us: row.due_at_us,
            id: row.id.clone(),
        }
    }

    /// `overdue.severity.due.id`, safe in a URL query when the id is.
    pub fn to_token(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.overdue_key, self.severity_key, self.due_at_us, self.id
        )
    }

    /// Parses [`AlertCursor::to_token`]; `None` for anything else.
    pub fn from_token(token: &str) -> Option<AlertCursor> {
        let mut parts = token.splitn(4, '.');
        let overdue_key: i64 = parts.next()?.parse().ok()?;
        let severity_key: i64 = parts.next()?.parse().ok()?;
        let due_at_us: i64 = parts.next()?.parse().ok()?;
        let id = parts.next()?;
        if !(0..=1).contains(&overdue_key) || !(0..=3).contains(&severity_key) || id.is_empty() {
            return None;
        }
        Some(AlertCursor {
            overdue_key,
            severity_key,
            due_at_us,
            id: id.to_owned(),
        })
    }
}

/// 0 for critical .. 3 for low (and anything unknown), as in the list order.
fn severity_key(severity: &str) -> i64 {
    let rank = severity_rank(severity).unwrap_or(0);
    i64::try_from(SEVERITIES.len() - 1 - rank).unwrap_or(3)
}

/// Whose alerts: routed to one of `routes` (a user, their team), or assigned to
/// `user` wherever they are routed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    /// Routings (`user:NAME`, `team:AGENCY/TEAM`, ...); may be empty.
    pub routes: Vec<String>,
    /// A username.
    pub user: String,
}

/// Which assignment an alert must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// Assigned to this username.
    To(String),
    /// Assigned to nobody (the team's).
    Nobody,
}

/// Which alerts [`AlertStore::list`], [`AlertStore::count`],
/// [`AlertStore::counts`] and [`AlertStore::rule_counts`] see. Every condition
/// present must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this child.
    pub child_id: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only open alerts with `due_at_us < overdue_at_us`.
    pub overdue_at_us: Option<i64>,
    /// Only alerts routed to one of these (an empty list matches nothing).
    pub routed_to: Option<Vec<String>>,
    /// Only alerts this holder holds (routed to their routes or assigned to them).
    pub holder: Option<Holder>,
    /// Only alerts with this assignment.
    pub assigned: Option<Assigned>,
    /// "Now" for the overdue-first order (and the overdue count of
    /// [`AlertStore::counts`]); `None` orders as if nothing were overdue.
    pub now_us: Option<i64>,
    /// Only rows after this position in the order (the paging cursor; ignored by
    /// the counts).
    pub after: Option<AlertCursor>,
    /// Only rows before this position (the page before a cursor; `list` returns
    /// the last `limit` of them, still in the order). Ignored by the counts.
    pub before: Option<AlertCursor>,
    /// At most this many rows (clamped to [`ALERT_LIST_LIMIT_MAX`]; ignored by `count`).
    pub limit: u32,
}

/// A recorded decision on an open alert. `Debug` leaves out the reason (free text).
#[derive(Clone, PartialEq, Eq)]
pub struct Decision {
    /// The alert.
    pub alert_id: String,
    /// Who decided (username); not empty.
    pub actor: String,
    /// The decision word (checked by the caller); not empty.
    pub decision: String,
    /// Why; not empty.
    pub reason: String,
    /// When, in logical time.
    pub at_us: i64,
    /// What the decision asks someone to do, by when (a follow-up is stored).
    pub follow_up: Option<FollowUpPlan>,
}

/// Who will carry out a decision, and by when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUpPlan {
    /// The username who will do it; not empty.
    pub owner: String,
    /// By when, in logical time.
    pub due_at_us: i64,
}

/// One follow-up: what a decision asked someone to do, and whether it is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUpRow {
    /// Increasing.
    pub id: i64,
    /// The alert whose decision set it.
    pub alert_id: String,
    /// The alert's child.
    pub child_id: String,
    /// The decision word.
    pub decision: String,
    /// The username who will do it.
    pub owner: String,
    /// The alert's routing when it was decided (the team it is shown to).
    pub routed_to: String,
    /// By when.
    pub due_at_us: i64,
    /// Who decided, and when.
    pub set_by: String,
    pub set_at_us: i64,
    /// Who recorded it done, and when; `None` while open.
    pub done_by: Option<String>,
    pub done_at_us: Option<i64>,
}

/// Which follow-ups [`AlertStore::follow_ups`] returns: open ones (not done)
/// owned by `holder.user` or set on alerts routed to `holder.routes`, by due
/// time then id, after `after` (a `(due_at_us, id)` position).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowUpFilter {
    /// Whose.
    pub holder: Holder,
    /// Only those after this `(due_at_us, id)`.
    pub after: Option<(i64, i64)>,
    /// At most this many (clamped to [`ALERT_LIST_LIMIT_MAX`]).
    pub limit: u32,
}

/// An assignment of an open alert to a worker, or back to the team (`assignee`
/// `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The alert.
    pub alert_id: String,
    /// The username it is assigned to; `None`: nobody (the team's).
    pub assignee: Option<String>,
    /// Who assigned it; not empty.
    pub actor: String,
    /// When, in logical time.
    pub at_us: i64,
}

/// A person reopening a decided alert. `Debug` leaves out the reason.
#[derive(Clone, PartialEq, Eq)]
pub struct Reopening {
    /// The alert.
    pub alert_id: String,
    /// Who reopened it; not empty.
    pub actor: String,
    /// Why; not empty.
    pub reason: String,
    /// When, in logical time.
    pub at_us: i64,
    /// The new due time of the decision.
    pub due_at_us: i64,
}

/// How many alerts a filter matches, by severity and overdue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertCounts {
    /// All of them.
    pub total: u64,
    /// By severity, in the order of [`SEVERITIES`] (low first).
    pub by_severity: [u64; 4],
    /// Open and due before the filter's `now_us` (0 without one).
    pub overdue: u64,
}

/// Stored alerts. Reached through [`crate::Store::alerts`]. Each method runs in its
/// own short transaction; on SQLite the writing ones (`decide`, `escalate`) take
/// the writer lock, so never call them while holding a [`crate::WriteTx`] on the
/// same thread.
pub trait AlertStore: Send + Sync {
    /// One alert; `None` if unknown.
    fn get(&self, id: &str) -> Result<Option<AlertRow>, StoreError>;
    /// Its evidence records, in the order they were added.
    fn evidence(&self, id: &str) -> Result<Vec<EvidenceRow>, StoreError>;
    /// Its history, ascending by `seq`.
    fn events(&self, id: &str) -> Result<Vec<AlertEventRow>, StoreError>;
    /// Alerts matching `filter`, in the [`AlertCursor`] order, after `filter.after`.
    fn list(&self, filter: &AlertFilter) -> Result<Vec<AlertRow>, StoreError>;
    /// How many alerts match `filter` (all pages).
    fn count(&self, filter: &AlertFilter) -> Result<u64, StoreError>;
    /// How many alerts match `filter` (all pages), by severity and overdue at
    /// `filter.now_us`, in one query.
    fn counts(&self, filter: &AlertFilter) -> Result<AlertCounts, StoreError>;
    /// The rules of the alerts matching `filter` (all pages), with how many
    /// each, by rule id.
    fn rule_counts(&self, filter: &AlertFilter) -> Result<Vec<(String, u64)>, StoreError>;
    /// Records a decision on an open alert: status `decided`, a `decided` event,
    /// and the follow-up it sets, if any (its detail names the follow-up).
    /// [`StoreError::AlertNotFound`], [`StoreError::AlertNotOpen`], or
    /// [`StoreError::InvalidAlert`] for an empty actor, decision, reason or
    /// follow-up owner.
    fn decide(&self, decision: &Decision) -> Result<AlertRow, StoreError>;
    /// Assigns an open alert to a worker, or back to the team, with an
    /// `assigned` or `unassigned` event naming who did it; assigning it where it
    /// already is changes nothing and writes no event. [`StoreError::AlertNotFound`],
    /// [`StoreError::AlertNotOpen`], or [`StoreError::InvalidAlert`] for an empty
    /// actor or assignee.
    fn assign(&self, assignment: &Assignment) -> Result<AlertRow, StoreError>;
    /// A person reopens a decided alert: open again with a new due time, its
    /// routing, escalation level and assignment as they were, and a `reopened`
    /// event naming the person and the reason. [`StoreError::AlertNotFound`],
    /// [`StoreError::AlertNotDecided`], or [`StoreError::InvalidAlert`] for an
    /// empty actor or reason.
    fn reopen(&self, reopening: &Reopening) -> Result<AlertRow, StoreError>;
    /// Open follow-ups, see [`FollowUpFilter`].
    fn follow_ups(&self, filter: &FollowUpFilter) -> Result<Vec<FollowUpRow>, StoreError>;
    /// How many open follow-ups [`FollowUpFilter`] matches (all pages).
    fn count_follow_ups(&self, filter: &FollowUpFilter) -> Result<u64, StoreError>;
    /// Every follow-up of an alert, open or done, oldest first.
    fn follow_ups_of(&self, alert_id: &str) -> Result<Vec<FollowUpRow>, StoreError>;
    /// One follow-up; `None` if unknown.
    fn follow_up(&self, id: i64) -> Result<Option<FollowUpRow>, StoreError>;
    /// Records a follow-up done by `actor`, with a `follow_up_done` event on its
    /// alert. [`StoreError::FollowUpNotFound`], [`StoreError::FollowUpDone`], or
    /// [`StoreError::InvalidAlert`] for an empty actor.
    fn complete_follow_up(
        &self,
        id: i64,
        actor: &str,
        at_us: i64,
    ) -> Result<FollowUpRow, StoreError>;
    /// Escalates an open alert to `new_level`, routing it to `routed_to` with a new
    /// due time, and writes an `escalated` event with `detail` (JSON text).
    /// [`StoreError::EscalationNotHigher`] when `new_level` is not above the current.
    fn escalate(
        &self,
        id: &str,
        new_level: i64,
        routed_to: &str,
        new_due_at_us: i64,
        at_us: i64,
        detail: Option<&str>,
    ) -> Result<AlertRow, StoreError>;
    /// Routes an open alert to `routed_to` (e.g. a worker was allocated) and writes
    /// a `rerouted` event with `detail` (JSON text); its due time and escalation
    /// level stay. Routing to where it already is changes nothing and writes no
    /// event. [`StoreError::AlertNotFound`] or [`StoreError::AlertNotOpen`].
    fn reroute(
        &self,
        id: &str,
        routed_to: &str,
        at_us: i64,
        detail: Option<&str>,
    ) -> Result<AlertRow, StoreError>;
    /// Open alerts with `due_at_us < now_us`, most severe first, then by due time.
    fn overdue(&self, now_us: i64, limit: u32) -> Result<Vec<AlertRow>, StoreError>;
}

// ---------------------------------------------------------------------------
// Backend-neutral implementation.

/// One bound parameter. SQL text uses `$n` placeholders; SQLite rewrites them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
    NullText,
    NullInt,
    /// A BLOB (SQLite) or BYTEA (PostgreSQL): the audit log's hashes.
    Bytes(&'a [u8]),
}

impl<'a> Param<'a> {
    pub(crate) fn opt_text(value: Option<&'a str>) -> Param<'a> {
        value.map_or(Param::NullText, Param::Text)
    }
}

/// One value read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    Int(i64),
    Text(String),
    /// A BLOB (SQLite) or BYTEA (PostgreSQL): the audit log's hashes.
    Bytes(Vec<u8>),
    Null,
}

/// A connection inside a transaction (or autocommit, for reads).
pub(crate) trait AlertConn {
    /// Runs `sql` and returns its rows.
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError>;
    /// Runs `sql` and returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError>;
    /// Appended to a SELECT of the row about to be changed: `" FOR UPDATE"` on
    /// PostgreSQL; empty on SQLite, whose writer lock already excludes others.
    fn lock_clause(&self) -> &'static str;
    /// Takes the audit lock for the rest of the transaction, before reading
    /// the audit head: PostgreSQL's transaction-scoped advisory lock; nothing
    /// on SQLite, whose `BEGIN IMMEDIATE` writer lock already excludes every
    /// other writer.
    fn lock_audit(&mut self) -> Result<(), StoreError>;
}

const ALERT_COLUMNS: &str = "id, child_id, person_id, rule_id, pack_name, pack_version, severity, \
     title, explanation, citation, route, routed_to, raised_at_us, updated_at_us, due_at_us, \
     status, escalation_level, decided_at_us, assigned_to";
/// Heads of multi-row inserts (see `insert_rows`).
const INSERT_ALERTS: &str = "INSERT INTO alerts (id, child_id, person_id, rule_id, pack_name, \
     pack_version, severity, title, explanation, citation, route, routed_to, raised_at_us, \
     updated_at_us, due_at_us, status, escalation_level)";
const INSERT_EVIDENCE: &str =
    "INSERT INTO alert_evidence (alert_id, agency, record_id, version, added_at_us)";
const INSERT_EVENTS: &str =
    "INSERT INTO alert_events (alert_id, at_us, kind, actor, decision, reason, detail)";
const EVENT_COLUMNS: &str = "seq, alert_id, at_us, kind, actor, decision, reason, detail";
const SET_SEVERITY: &str = "UPDATE alerts SET severity = $2, updated_at_us = $3 WHERE id = $1";
const REOPEN: &str = "UPDATE alerts SET status = 'open', due_at_us = $2, routed_to = $3, \
     escalation_level = 0, decided_at_us = NULL, updated_at_us = $4 WHERE id = $1";
const SET_DECIDED: &str = "UPDATE alerts SET status = 'decided', decided_at_us = $2, updated_at_us = $2 \
     WHERE id = $1";
const SET_ROUTED: &str = "UPDATE alerts SET routed_to = $2, updated_at_us = $3 WHERE id = $1";
const SET_ESCALATED: &str = "UPDATE alerts SET escalation_level = $2, routed_to = $3, due_at_us = $4, \
     updated_at_us = $5 WHERE id = $1";
const SET_ASSIGNED: &str = "UPDATE alerts SET assigned_to = $2, updated_at_us = $3 WHERE id = $1";
const REOPEN_BY_PERSON: &str = "UPDATE alerts SET status = 'open', due_at_us = $2, \
     decided_at_us = NULL, updated_at_us = $3 WHERE id = $1";
const FOLLOW_UP_COLUMNS: &str = "id, alert_id, child_id, decision, owner, routed_to, due_at_us, \
     set_by, set_at_us, done_by, done_at_us";
const INSERT_FOLLOW_UP: &str = "INSERT INTO alert_follow_ups (alert_id, child_id, decision, owner, \
     routed_to, due_at_us, set_by, set_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
const SET_FOLLOW_UP_DONE: &str =
    "UPDATE alert_follow_ups SET done_by = $2, done_at_us = $3 WHERE id = $1";

/// The list order key expressions (all ascending), see [`AlertCursor`]. `{now}`
/// is replaced by the placeholder of `now_us`.
const OVERDUE_KEY: &str =
    "CAST(CASE WHEN status = 'open' AND due_at_us < {now} THEN 0 ELSE 1 END AS BIGINT)";
const SEVERITY_KEY: &str = "CAST(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 \
     WHEN 'medium' THEN 2 ELSE 3 END AS BIGINT)";

pub(crate) fn int(cell: Option<&Cell>) -> Result<i64, StoreError> {
    match cell {
        Some(Cell::Int(value)) => Ok(*value),
        _ => Err(StoreError::Corrupt("alert column is not an integer")),
    }
}

pub(crate) fn opt_int(cell: Option<&Cell>) -> Result<Option<i64>, StoreError> {
    match cell {
        Some(Cell::Null) => Ok(None),
        other => int(other).map(Some),
    }
}

pub(crate) fn text(cell: Option<&Cell>) -> Result<String, StoreError> {
    match cell {
        Some(Cell::Text(value)) => Ok(value.clone()),
        _ => Err(StoreError::Corrupt("alert column is not text")),
    }
}

pub(crate) fn opt_text(cell: Option<&Cell>) -> Result<Option<String>, StoreError> {
    match cell {
        Some(Cell::Null) => Ok(None),
        other => text(other).map(Some),
    }
}

fn read_alert(row: &[Cell]) -> Result<AlertRow, StoreError> {
    let mut cells = row.iter();
    Ok(AlertRow {
        id: text(cells.next())?,
        child_id: text(cells.next())?,
        person_id: opt_text(cells.next())?,
        rule_id: text(cells.next())?,
        pack_name: text(cells.next())?,
        pack_version: text(cells.next())?,
        severity: text(cells.next())?,
        title: text(cells.next())?,
        explanation: text(cells.next())?,
        citation: text(cells.next())?,
        route: text(cells.next())?,
        routed_to: text(cells.next())?,
        raised_at_us: int(cells.next())?,
        updated_at_us: int(cells.next())?,
        due_at_us: int(cells.next())?,
        status: text(cells.next())?,
        escalation_level: int(cells.next())?,
        decided_at_us: opt_int(cells.next())?,
        assigned_to: opt_text(cells.next())?,
    })
}

fn read_follow_up(row: &[Cell]) -> Result<FollowUpRow, StoreError> {
    let mut cells = row.iter();
    Ok(FollowUpRow {
        id: int(cells.next())?,
        alert_id: text(cells.next())?,
        child_id: text(cells.next())?,
        decision: text(cells.next())?,
        owner: text(cells.next())?,
        routed_to: text(cells.next())?,
        due_at_us: int(cells.next())?,
        set_by: text(cells.next())?,
        set_at_us: int(cells.next())?,
        done_by: opt_text(cells.next())?,
        done_at_us: opt_int(cells.next())?,
    })
}

/// `text` as a JSON string literal (event details are JSON text; this crate
/// has no JSON library).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn read_event(row: &[Cell]) -> Result<AlertEventRow, StoreError> {
    let mut cells = row.iter();
    Ok(AlertEventRow {
        seq: int(cells.next())?,
        alert_id: text(cells.next())?,
        at_us: int(cells.next())?,
        kind: text(cells.next())?,
        actor: opt_text(cells.next())?,
        decision: opt_text(cells.next())?,
        reason: opt_text(cells.next())?,
        detail: opt_text(cells.next())?,
    })
}

fn invalid(reason: &'static str) -> StoreError {
    StoreError::InvalidAlert { reason }
}

/// Checks one upsert before it reaches the database.
fn check_upsert(upsert: &AlertUpsert) -> Result<(), StoreError> {
    let alert = &upsert.alert;
    if alert.id.is_empty() {
        return Err(invalid("id is empty"));
    }
    if alert.child_id.is_empty() {
        return Err(invalid("child_id is empty"));
    }
    if alert.rule_id.is_empty() {
        return Err(invalid("rule_id is empty"));
    }
    if severity_rank(&alert.severity).is_none() {
        return Err(invalid("severity is not low, medium, high or critical"));
    }
    if alert.routed_to.is_empty() {
        return Err(invalid("routed_to is empty"));
    }
    for evidence in &upsert.evidence {
        if evidence.agency.is_empty() || evidence.record_id.is_empty() || evidence.version < 1 {
            return Err(invalid(
                "evidence needs an agency, a record_id and a version of at least 1",
            ));
        }
    }
    Ok(())
}

struct NewEvent<'a> {
    alert_id: &'a str,
    at_us: i64,
    kind: &'static str,
    actor: Option<&'a str>,
    decision: Option<&'a str>,
    reason: Option<&'a str>,
    detail: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    fn new(alert_id: &'a str, at_us: i64, kind: &'static str, detail: Option<&'a str>) -> Self {
        NewEvent {
            alert_id,
            at_us,
            kind,
            actor: None,
            decision: None,
            reason: None,
            detail,
        }
    }
}

fn insert_event(conn: &mut dyn AlertConn, event: &NewEvent<'_>) -> Result<(), StoreError> {
    let row = vec![
        Param::Text(event.alert_id),
        Param::Int(event.at_us),
        Param::Text(event.kind),
        Param::opt_text(event.actor),
        Param::opt_text(event.decision),
        Param::opt_text(event.reason),
        Param::opt_text(event.detail),
    ];
    insert_rows(conn, INSERT_EVENTS, 7, &[row])
}

fn select_alert(
    conn: &mut dyn AlertConn,
    id: &str,
    for_update: bool,
) -> Result<Option<AlertRow>, StoreError> {
    let lock = if for_update { conn.lock_clause() } else { "" };
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1{lock}");
    conn.query(&sql, &[Param::Text(id)])?
        .first()
        .map(|row| read_alert(row))
        .transpose()
}

fn require_open(conn: &mut dyn AlertConn, id: &str) -> Result<AlertRow, StoreError> {
    let alert = select_alert(conn, id, true)?.ok_or(StoreError::AlertNotFound)?;
    if alert.status != STATUS_OPEN {
        return Err(StoreError::AlertNotOpen);
    }
    Ok(alert)
}

/// The most rows one multi-row statement carries (a power of two).
const ROWS_PER_STATEMENT_MAX: usize = 256;

/// Splits `items` into runs of power-of-two lengths (largest first), none longer
/// than `max_len` (a power of two). Statements are sent in these sizes, so each
/// connection prepares at most log2(`max_len`) + 1 shapes of each statement while
/// a slice of any size takes few round trips (PostgreSQL) or few statement steps
/// (SQLite, where 256-row statements cost 10 to 15% less CPU than one-row ones).
fn pow2_chunks<T>(mut items: &[T], max_len: usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    while !items.is_empty() {
        let mut size = max_len.max(1);
        while size > items.len() {
            size /= 2;
        }
        let (chunk, rest) = items.split_at(size);
        chunks.push(chunk);
        items = rest;
    }
    chunks
}

/// `($1, $2, ..), ($k, ..)`: `n_rows` tuples of `n_columns` numbered placeholders.
fn values_list(n_rows: usize, n_columns: usize) -> String {
    (0..n_rows)
        .map(|row| {
            let placeholders: Vec<String> = (1..=n_columns)
                .map(|column| format!("${}", row * n_columns + column))
                .collect();
            format!("({})", placeholders.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts `rows` (each `n_columns` parameters) with `head VALUES ...`, in few
/// multi-row statements.
fn insert_rows(
    conn: &mut dyn AlertConn,
    head: &str,
    n_columns: usize,
    rows: &[Vec<Param<'_>>],
) -> Result<(), StoreError> {
    let max_len = ROWS_PER_STATEMENT_MAX;
    for chunk in pow2_chunks(rows, max_len) {
        let params: Vec<Param<'_>> = chunk.iter().flatten().copied().collect();
        let sql = format!("{head} VALUES {}", values_list(chunk.len(), n_columns));
        conn.execute(&sql, &params)?;
    }
    Ok(())
}

/// What the store already holds about the alerts of one upsert slice.
#[derive(Default)]
struct Known {
    /// id -> (severity, status).
    alerts: HashMap<String, (String, String)>,
    /// (alert id, agency, record_id, version).
    evidence: HashSet<(String, String, String, i64)>,
}

/// Reads, and on PostgreSQL locks, the stored state of the alerts in `upserts`.
fn read_known(conn: &mut dyn AlertConn, upserts: &[AlertUpsert]) -> Result<Known, StoreError> {
    let mut ids: Vec<&str> = upserts.iter().map(|u| u.alert.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut known = Known::default();
    let max_len = ROWS_PER_STATEMENT_MAX;
    for chunk in pow2_chunks(&ids, max_len) {
        let params: Vec<Param<'_>> = chunk.iter().map(|id| Param::Text(id)).collect();
        let placeholders = values_list(1, chunk.len());
        let lock = conn.lock_clause();
        let sql =
            format!("SELECT id, severity, status FROM alerts WHERE id IN {placeholders}{lock}");
        for row in conn.query(&sql, &params)? {
            let mut cells = row.iter();
            let id = text(cells.next())?;
            let severity = text(cells.next())?;
            let status = text(cells.next())?;
            known.alerts.insert(id, (severity, status));
        }
    }
    let mut known_ids: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| known.alerts.contains_key(*id))
        .collect();
    known_ids.sort_unstable();
    for chunk in pow2_chunks(&known_ids, max_len) {
        let params: Vec<Param<'_>> = chunk.iter().map(|id| Param::Text(id)).collect();
        let placeholders = values_list(1, chunk.len());
        let sql = format!(
            "SELECT alert_id, agency, record_id, version FROM alert_evidence WHERE alert_id IN {placeholders}"
        );
        for row in conn.query(&sql, &params)? {
            let mut cells = row.iter();
            known.evidence.insert((
                text(cells.next())?,
                text(cells.next())?,
                text(cells.next())?,
                int(cells.next())?,
            ));
        }
    }
    Ok(known)
}

/// The writes one upsert slice needs, planned in memory from what is stored.
#[derive(Debug, Default, PartialEq, Eq)]
struct UpsertPlan<'a> {
    changes: Vec<AlertChange>,
    /// New alerts, each with its severity after the whole slice.
    new_alerts: Vec<(&'a AlertRow, String)>,
    /// (alert id, evidence row), in input order.
    evidence: Vec<(&'a str, &'a EvidenceRow)>,
    /// Existing alerts whose severity rose: (id, severity after the slice).
    severity_updates: Vec<(&'a str, String)>,
    /// Existing alerts reopened: (id, due time, routed to).
    reopens: Vec<(&'a str, i64, &'a str)>,
    /// (alert id, kind, detail), in order.
    events: Vec<(&'a str, &'static str, String)>,
}

/// One alert's state while a slice is planned.
struct Planned {
    severity: String,
    decided: bool,
    /// Inserted by this slice.
    new: bool,
    /// Index into `new_alerts` (new) or `severity_updates` (existing, once raised).
    severity_slot: Option<usize>,
}

/// Plans `upserts` against `known` (see [`crate::WriteTx::upsert_alerts`] for the
/// semantics). Pure: the same inputs and stored state give the same plan.
fn plan_upserts<'a>(upserts: &'a [AlertUpsert], known: &Known) -> UpsertPlan<'a> {
    let mut plan = UpsertPlan::default();
    let mut state: HashMap<&'a str, Planned> = HashMap::new();
    let mut evidence_seen: HashSet<(&'a str, &'a str, &'a str, i64)> = HashSet::new();
    for upsert in upserts {
        let alert = &upsert.alert;
        let id = alert.id.as_str();
        let mut n_new: u64 = 0;
        for row in &upsert.evidence {
            let key = (id, row.agency.as_str(), row.record_id.as_str(), row.version);
            let stored = known.evidence.contains(&(
                alert.id.clone(),
                row.agency.clone(),
                row.record_id.clone(),
                row.version,
            ));
            if !stored && evidence_seen.insert(key) {
                plan.evidence.push((id, row));
                n_new += 1;
            }
        }
        if !state.contains_key(id) {
            if let Some((severity, status)) = known.alerts.get(id) {
                state.insert(
                    id,
                    Planned {
                        severity: severity.clone(),
                        decided: status == STATUS_DECIDED,
                        new: false,
                        severity_slot: None,
                    },
                );
            } else {
                plan.new_alerts.push((alert, alert.severity.clone()));
                state.insert(
                    id,
                    Planned {
                        severity: alert.severity.clone(),
                        decided: false,
                        new: true,
                        severity_slot: Some(plan.new_alerts.len() - 1),
                    },
                );
                plan.events
                    .push((id, "raised", format!("{{\"evidence\":{n_new}}}")));
                plan.changes.push(AlertChange::Raised { id: id.to_owned() });
                continue;
            }
        }
        let Some(planned) = state.get_mut(id) else {
            continue;
        };
        let n_before = plan.changes.len();
        if n_new > 0 {
            plan.events
                .push((id, "evidence_added", format!("{{\"n\":{n_new}}}")));
            plan.changes.push(AlertChange::EvidenceAdded {
                id: id.to_owned(),
                n: n_new,
            });
        }
        if severity_rank(&alert.severity) > severity_rank(&planned.severity) {
            // Both words are checked members of SEVERITIES: no escaping needed.
            let detail = format!(
                "{{\"from\":\"{}\",\"to\":\"{}\"}}",
                planned.severity, alert.severity
            );
            planned.severity = alert.severity.clone();
            match (planned.new, planned.severity_slot) {
                (true, Some(slot)) => {
                    if let Some(new_alert) = plan.new_alerts.get_mut(slot) {
                        new_alert.1 = alert.severity.clone();
                    }
                }
                (false, Some(slot)) => {
                    if let Some(update) = plan.severity_updates.get_mut(slot) {
                        update.1 = alert.severity.clone();
                    }
                }
                (_, None) => {
                    plan.severity_updates.push((id, alert.severity.clone()));
                    planned.severity_slot = Some(plan.severity_updates.len() - 1);
                }
            }
            plan.events.push((id, "severity_raised", detail));
            plan.changes
                .push(AlertChange::SeverityRaised { id: id.to_owned() });
        }
        if planned.decided && n_new > 0 {
            planned.decided = false;
            plan.reopens
                .push((id, alert.due_at_us, alert.routed_to.as_str()));
            plan.events.push((
                id,
                "reopened",
                format!("{{\"due_at_us\":{}}}", alert.due_at_us),
            ));
            plan.changes
                .push(AlertChange::Reopened { id: id.to_owned() });
        }
        if plan.changes.len() == n_before {
            plan.changes
                .push(AlertChange::Unchanged { id: id.to_owned() });
        }
    }
    plan
}

/// [`crate::WriteTx::upsert_alerts`], inside the caller's transaction: reads the
/// stored state of the slice's alerts, plans in memory,
/// then writes with multi-row statements.
pub(crate) fn upsert_in(
    conn: &mut dyn AlertConn,
    upserts: &[AlertUpsert],
    at_us: i64,
) -> Result<Vec<AlertChange>, StoreError> {
    for upsert in upserts {
        check_upsert(upsert)?;
    }
    if upserts.is_empty() {
        return Ok(Vec::new());
    }
    let known = read_known(conn, upserts)?;
    let plan = plan_upserts(upserts, &known);
    let alert_rows: Vec<Vec<Param<'_>>> = plan
        .new_alerts
        .iter()
        .map(|(alert, severity)| {
            vec![
                Param::Text(&alert.id),
                Param::Text(&alert.child_id),
                Param::opt_text(alert.person_id.as_deref()),
                Param::Text(&alert.rule_id),
                Param::Text(&alert.pack_name),
                Param::Text(&alert.pack_version),
                Param::Text(severity),
                Param::Text(&alert.title),
                Param::Text(&alert.explanation),
                Param::Text(&alert.citation),
                Param::Text(&alert.route),
                Param::Text(&alert.routed_to),
                Param::Int(alert.raised_at_us),
                Param::Int(at_us),
                Param::Int(alert.due_at_us),
                Param::Text(STATUS_OPEN),
                Param::Int(ESCALATION_NONE),
            ]
        })
        .collect();
    insert_rows(conn, INSERT_ALERTS, 17, &alert_rows)?;
    let evidence_rows: Vec<Vec<Param<'_>>> = plan
        .evidence
        .iter()
        .map(|(alert_id, row)| {
            vec![
                Param::Text(alert_id),
                Param::Text(&row.agency),
                Param::Text(&row.record_id),
                Param::Int(row.version),
                Param::Int(at_us),
            ]
        })
        .collect();
    insert_rows(conn, INSERT_EVIDENCE, 5, &evidence_rows)?;
    for (id, severity) in &plan.severity_updates {
        conn.execute(
            SET_SEVERITY,
            &[Param::Text(id), Param::Text(severity), Param::Int(at_us)],
        )?;
    }
    for (id, due_at_us, routed_to) in &plan.reopens {
        conn.execute(
            REOPEN,
            &[
                Param::Text(id),
                Param::Int(*due_at_us),
                Param::Text(routed_to),
                Param::Int(at_us),
            ],
        )?;
    }
    let event_rows: Vec<Vec<Param<'_>>> = plan
        .events
        .iter()
        .map(|(alert_id, kind, detail)| {
            vec![
                Param::Text(alert_id),
                Param::Int(at_us),
                Param::Text(kind),
                Param::NullText,
                Param::NullText,
                Param::NullText,
                Param::Text(detail),
            ]
        })
        .collect();
    insert_rows(conn, INSERT_EVENTS, 7, &event_rows)?;
    Ok(plan.changes)
}

/// [`AlertStore::decide`], inside a transaction the caller commits.
pub(crate) fn decide_in(
    conn: &mut dyn AlertConn,
    decision: &Decision,
) -> Result<AlertRow, StoreError> {
    if decision.actor.trim().is_empty() {
        return Err(invalid("actor is empty"));
    }
    if decision.decision.trim().is_empty() {
        return Err(invalid("decision is empty"));
    }
    if decision.reason.trim().is_empty() {
        return Err(invalid("reason is empty"));
    }
    if let Some(plan) = &decision.follow_up
        && plan.owner.trim().is_empty()
    {
        return Err(invalid("the follow-up's owner is empty"));
    }
    let alert = require_open(conn, &decision.alert_id)?;
    conn.execute(
        SET_DECIDED,
        &[Param::Text(&decision.alert_id), Param::Int(decision.at_us)],
    )?;
    let detail = match &decision.follow_up {
        None => None,
        Some(plan) => {
            let rows = conn.query(
                INSERT_FOLLOW_UP,
                &[
                    Param::Text(&decision.alert_id),
                    Param::Text(&alert.child_id),
                    Param::Text(&decision.decision),
                    Param::Text(&plan.owner),
                    Param::Text(&alert.routed_to),
                    Param::Int(plan.due_at_us),
                    Param::Text(&decision.actor),
                    Param::Int(decision.at_us),
                ],
            )?;
            let id = int(rows.first().and_then(|row| row.first()))?;
            Some(format!(
                "{{\"follow_up\":{id},\"owner\":{},\"due_at_us\":{}}}",
                json_string(&plan.owner),
                plan.due_at_us
            ))
        }
    };
    insert_event(
        conn,
        &NewEvent {
            actor: Some(&decision.actor),
            decision: Some(&decision.decision),
            reason: Some(&decision.reason),
            ..NewEvent::new(
                &decision.alert_id,
                decision.at_us,
                "decided",
                detail.as_deref(),
            )
        },
    )?;
    select_alert(conn, &decision.alert_id, false)?.ok_or(StoreError::AlertNotFound)
}

/// [`AlertStore::assign`], inside a transaction the caller commits.
pub(crate) fn assign_in(
    conn: &mut dyn AlertConn,
    assignment: &Assignment,
) -> Result<AlertRow, StoreError> {
    if assignment.actor.trim().is_empty() {
        return Err(invalid("actor is empty"));
    }
    if assignment
        .assignee
        .as_deref()
        .is_some_and(|assignee| assignee.trim().is_empty())
    {
        return Err(invalid("assignee is empty"));
    }
    let alert = require_open(conn, &assignment.alert_id)?;
    if alert.assigned_to == assignment.assignee {
        return Ok(alert);
    }
    conn.execute(
        SET_ASSIGNED,
        &[
            Param::Text(&assignment.alert_id),
            Param::opt_text(assignment.assignee.as_deref()),
            Param::Int(assignment.at_us),
        ],
    )?;
    let from = alert
        .assigned_to
        .as_deref()
        .map_or_else(|| "null".to_owned(), json_string);
    let (kind, detail) = match assignment.assignee.as_deref() {
        Some(assignee) => (
            "assigned",
            format!("{{\"to\":{},\"from\":{from}}}", json_string(assignee)),
        ),
        None => ("unassigned", format!("{{\"from\":{from}}}")),
    };
    insert_event(
        conn,
        &NewEvent {
            actor: Some(&assignment.actor),
            ..NewEvent::new(&assignment.alert_id, assignment.at_us, kind, Some(&detail))
        },
    )?;
    select_alert(conn, &assignment.alert_id, false)?.ok_or(StoreError::AlertNotFound)
}

/// [`AlertStore::reopen`], inside a transaction the caller commits.
pub(crate) fn reopen_in(
    conn: &mut dyn AlertConn,
    reopening: &Reopening,
) -> Result<AlertRow, StoreError> {
    if reopening.actor.trim().is_empty() {
        return Err(invalid("actor is empty"));
    }
    if reopening.reason.trim().is_empty() {
        return Err(invalid("reason is empty"));
    }
    let alert = select_alert(conn, &reopening.alert_id, true)?.ok_or(StoreError::AlertNotFound)?;
    if alert.status == STATUS_OPEN {
        return Err(StoreError::AlertNotDecided);
    }
    conn.execute(
        REOPEN_BY_PERSON,
        &[
            Param::Text(&reopening.alert_id),
            Param::Int(reopening.due_at_us),
            Param::Int(reopening.at_us),
        ],
    )?;
    let detail = format!("{{\"due_at_us\":{}}}", reopening.due_at_us);
    insert_event(
        conn,
        &NewEvent {
            actor: Some(&reopening.actor),
            reason: Some(&reopening.reason),
            ..NewEvent::new(
                &reopening.alert_id,
                reopening.at_us,
                "reopened",
                Some(&detail),
            )
        },
    )?;
    select_alert(conn, &reopening.alert_id, false)?.ok_or(StoreError::AlertNotFound)
}

fn select_follow_up(
    conn: &mut dyn AlertConn,
    id: i64,
    for_update: bool,
) -> Result<Option<FollowUpRow>, StoreError> {
    let lock = if for_update { conn.lock_clause() } else { "" };
    let sql = format!("SELECT {FOLLOW_UP_COLUMNS} FROM alert_follow_ups WHERE id = $1{lock}");
    conn.query(&sql, &[Param::Int(id)])?
        .first()
        .map(|row| read_follow_up(row))
        .transpose()
}

/// [`AlertStore::follow_up`].
pub(crate) fn follow_up_in(
    conn: &mut dyn AlertConn,
    id: i64,
) -> Result<Option<FollowUpRow>, StoreError> {
    select_follow_up(conn, id, false)
}

/// [`AlertStore::follow_ups_of`].
pub(crate) fn follow_ups_of_in(
    conn: &mut dyn AlertConn,
    alert_id: &str,
) -> Result<Vec<FollowUpRow>, StoreError> {
    conn.query(
        &format!(
            "SELECT {FOLLOW_UP_COLUMNS} FROM alert_follow_ups WHERE alert_id = $1 ORDER BY id"
        ),
        &[Param::Text(alert_id)],
    )?
    .iter()
    .map(|row| read_follow_up(row))
    .collect()
}

/// The WHERE clause of [`AlertStore::follow_ups`] and its count.
fn follow_up_conditions<'a>(
    filter: &'a FollowUpFilter,
    with_cursor: bool,
) -> (String, Vec<Param<'a>>) {
    let mut params = vec![Param::Text(&filter.holder.user)];
    let mut whose = vec!["owner = $1".to_owned()];
    if !filter.holder.routes.is_empty() {
        let placeholders: Vec<String> = filter
            .holder
            .routes
            .iter()
            .map(|route| {
                params.push(Param::Text(route));
                format!("${}", params.len())
            })
            .collect();
        whose.push(format!("routed_to IN ({})", placeholders.join(", ")));
    }
    let mut sql = format!(" WHERE done_at_us IS NULL AND ({})", whose.join(" OR "));
    if with_cursor && let Some((due_at_us, id)) = filter.after {
        params.push(Param::Int(due_at_us));
        params.push(Param::Int(id));
        let n = params.len();
        sql.push_str(&format!(" AND (due_at_us, id) > (${}, ${n})", n - 1));
    }
    (sql, params)
}

/// [`AlertStore::follow_ups`].
pub(crate) fn follow_ups_in(
    conn: &mut dyn AlertConn,
    filter: &FollowUpFilter,
) -> Result<Vec<FollowUpRow>, StoreError> {
    if filter.limit == 0 {
        return Ok(Vec::new());
    }
    let (conditions, mut params) = follow_up_conditions(filter, true);
    params.push(Param::Int(i64::from(
        filter.limit.min(ALERT_LIST_LIMIT_MAX),
    )));
    let sql = format!(
        "SELECT {FOLLOW_UP_COLUMNS} FROM alert_follow_ups{conditions} ORDER BY due_at_us, id LIMIT ${}",
        params.len()
    );
    conn.query(&sql, &params)?
        .iter()
        .map(|row| read_follow_up(row))
        .collect()
}

/// [`AlertStore::count_follow_ups`].
pub(crate) fn count_follow_ups_in(
    conn: &mut dyn AlertConn,
    filter: &FollowUpFilter,
) -> Result<u64, StoreError> {
    let (conditions, params) = follow_up_conditions(filter, false);
    let rows = conn.query(
        &format!("SELECT COUNT(*) FROM alert_follow_ups{conditions}"),
        &params,
    )?;
    let count = int(rows.first().and_then(|row| row.first()))?;
    u64::try_from(count).map_err(|_| StoreError::Corrupt("negative follow-up count"))
}

/// [`AlertStore::complete_follow_up`], inside a transaction the caller commits.
pub(crate) fn complete_follow_up_in(
    conn: &mut dyn AlertConn,
    id: i64,
    actor: &str,
    at_us: i64,
) -> Result<FollowUpRow, StoreError> {
    if actor.trim().is_empty() {
        return Err(invalid("actor is empty"));
    }
    let follow_up = select_follow_up(conn, id, true)?.ok_or(StoreError::FollowUpNotFound)?;
    if follow_up.done_at_us.is_some() {
        return Err(StoreError::FollowUpDone);
    }
    conn.execute(
        SET_FOLLOW_UP_DONE,
        &[Param::Int(id), Param::Text(actor), Param::Int(at_us)],
    )?;
    let detail = format!(
        "{{\"follow_up\":{id},\"decision\":{}}}",
        json_string(&follow_up.decision)
    );
    insert_event(
        conn,
        &NewEvent {
            actor: Some(actor),
            ..NewEvent::new(&follow_up.alert_id, at_us, "follow_up_done", Some(&detail))
        },
    )?;
    select_follow_up(conn, id, false)?.ok_or(StoreError::FollowUpNotFound)
}

/// The arguments of [`AlertStore::escalate`].
pub(crate) struct Escalation<'a> {
    pub(crate) id: &'a str,
    pub(crate) new_level: i64,
    pub(crate) routed_to: &'a str,
    pub(crate) new_due_at_us: i64,
    pub(crate) at_us: i64,
    pub(crate) detail: Option<&'a str>,
}

/// [`AlertStore::escalate`], inside a transaction the caller commits.
pub(crate) fn escalate_in(
    conn: &mut dyn AlertConn,
    escalation: &Escalation<'_>,
) -> Result<AlertRow, StoreError> {
    if escalation.routed_to.is_empty() {
        return Err(invalid("routed_to is empty"));
    }
    if !(ESCALATION_NONE..=ESCALATION_HEAD_OF_SERVICE).contains(&escalation.new_level) {
        return Err(invalid("escalation level is not 0, 1 or 2"));
    }
    let alert = require_open(conn, escalation.id)?;
    if escalation.new_level <= alert.escalation_level {
        return Err(StoreError::EscalationNotHigher {
            current: alert.escalation_level,
        });
    }
    conn.execute(
        SET_ESCALATED,
        &[
            Param::Text(escalation.id),
            Param::Int(escalation.new_level),
            Param::Text(escalation.routed_to),
            Param::Int(escalation.new_due_at_us),
            Param::Int(escalation.at_us),
        ],
    )?;
    insert_event(
        conn,
        &NewEvent::new(
            escalation.id,
            escalation.at_us,
            "escalated",
            escalation.detail,
        ),
    )?;
    select_alert(conn, escalation.id, false)?.ok_or(StoreError::AlertNotFound)
}

/// [`AlertStore::reroute`], inside a transaction the caller commits.
pub(crate) fn reroute_in(
    conn: &mut dyn AlertConn,
    id: &str,
    routed_to: &str,
    at_us: i64,
    detail: Option<&str>,
) -> Result<AlertRow, StoreError> {
    if routed_to.is_empty() {
        return Err(invalid("routed_to is empty"));
    }
    let alert = require_open(conn, id)?;
    if alert.routed_to == routed_to {
        return Ok(alert);
    }
    conn.execute(
        SET_ROUTED,
        &[Param::Text(id), Param::Text(routed_to), Param::Int(at_us)],
    )?;
    insert_event(conn, &NewEvent::new(id, at_us, "rerouted", detail))?;
    select_alert(conn, id, false)?.ok_or(StoreError::AlertNotFound)
}

/// [`AlertStore::get`].
pub(crate) fn get_in(conn: &mut dyn AlertConn, id: &str) -> Result<Option<AlertRow>, StoreError> {
    select_alert(conn, id, false)
}

/// [`AlertStore::evidence`].
pub(crate) fn evidence_in(
    conn: &mut dyn AlertConn,
    id: &str,
) -> Result<Vec<EvidenceRow>, StoreError> {
    conn.query(
        "SELECT agency, record_id, version FROM alert_evidence WHERE alert_id = $1 \
         ORDER BY added_at_us, agency, record_id, version",
        &[Param::Text(id)],
    )?
    .iter()
    .map(|row| {
        let mut cells = row.iter();
        Ok(EvidenceRow {
            agency: text(cells.next())?,
            record_id: text(cells.next())?,
            version: int(cells.next())?,
        })
    })
    .collect()
}

/// [`AlertStore::events`].
pub(crate) fn events_in(
    conn: &mut dyn AlertConn,
    id: &str,
) -> Result<Vec<AlertEventRow>, StoreError> {
    conn.query(
        &format!("SELECT {EVENT_COLUMNS} FROM alert_events WHERE alert_id = $1 ORDER BY seq"),
        &[Param::Text(id)],
    )?
    .iter()
    .map(|row| read_event(row))
    .collect()
}

/// The WHERE clause of a list or count, its parameters, and the placeholder
/// number of `now_us`.
struct FilterSql<'a> {
    conditions: Vec<String>,
    params: Vec<Param<'a>>,
}

impl<'a> FilterSql<'a> {
    fn push(&mut self, param: Param<'a>) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    fn build(filter: &'a AlertFilter) -> FilterSql<'a> {
        let mut sql = FilterSql {
            conditions: Vec::new(),
            params: Vec::new(),
        };
        if let Some(child_id) = filter.child_id.as_deref() {
            let placeholder = sql.push(Param::Text(child_id));
            sql.conditions.push(format!("child_id = {placeholder}"));
        }
        if let Some(severity) = filter.severity.as_deref() {
            let placeholder = sql.push(Param::Text(severity));
            sql.conditions.push(format!("severity = {placeholder}"));
        }
        if let Some(rule_id) = filter.rule_id.as_deref() {
            let placeholder = sql.push(Param::Text(rule_id));
            sql.conditions.push(format!("rule_id = {placeholder}"));
        }
        if let Some(status) = filter.status.as_deref() {
            let placeholder = sql.push(Param::Text(status));
            sql.conditions.push(format!("status = {placeholder}"));
        }
        if let Some(overdue_at_us) = filter.overdue_at_us {
            let placeholder = sql.push(Param::Int(overdue_at_us));
            sql.conditions
                .push(format!("status = 'open' AND due_at_us < {placeholder}"));
        }
        if let Some(routed_to) = filter.routed_to.as_deref() {
            if routed_to.is_empty() {
                sql.conditions.push("1 = 0".to_owned());
            } else {
                let placeholders: Vec<String> = routed_to
                    .iter()
                    .map(|target| sql.push(Param::Text(target)))
                    .collect();
                sql.conditions
                    .push(format!("routed_to IN ({})", placeholders.join(", ")));
            }
        }
        if let Some(holder) = &filter.holder {
            let user = sql.push(Param::Text(&holder.user));
            if holder.routes.is_empty() {
                sql.conditions.push(format!("assigned_to = {user}"));
            } else {
                let placeholders: Vec<String> = holder
                    .routes
                    .iter()
                    .map(|route| sql.push(Param::Text(route)))
                    .collect();
                sql.conditions.push(format!(
                    "(routed_to IN ({}) OR assigned_to = {user})",
                    placeholders.join(", ")
                ));
            }
        }
        match &filter.assigned {
            None => {}
            Some(Assigned::Nobody) => sql.conditions.push("assigned_to IS NULL".to_owned()),
            Some(Assigned::To(user)) => {
                let placeholder = sql.push(Param::Text(user));
                sql.conditions.push(format!("assigned_to = {placeholder}"));
            }
        }
        sql
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// [`AlertStore::list`].
pub(crate) fn list_in(
    conn: &mut dyn AlertConn,
    filter: &AlertFilter,
) -> Result<Vec<AlertRow>, StoreError> {
    if filter.limit == 0 {
        return Ok(Vec::new());
    }
    let mut sql = FilterSql::build(filter);
    // Without a "now" nothing is overdue: i64::MIN is below every due time.
    let now = sql.push(Param::Int(filter.now_us.unwrap_or(i64::MIN)));
    let overdue_key = OVERDUE_KEY.replace("{now}", &now);
    for (cursor, comparison) in [(&filter.after, ">"), (&filter.before, "<")] {
        if let Some(cursor) = cursor {
            let a = sql.push(Param::Int(cursor.overdue_key));
            let b = sql.push(Param::Int(cursor.severity_key));
            let c = sql.push(Param::Int(cursor.due_at_us));
            let d = sql.push(Param::Text(&cursor.id));
            sql.conditions.push(format!(
                "({overdue_key}, {SEVERITY_KEY}, due_at_us, id) {comparison} ({a}, {b}, {c}, {d})"
            ));
        }
    }
    let limit = sql.push(Param::Int(i64::from(
        filter.limit.min(ALERT_LIST_LIMIT_MAX),
    )));
    // The page before a cursor is the last rows before it: read backwards, then
    // turned round.
    let direction = if filter.before.is_some() { " DESC" } else { "" };
    let query = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts{} ORDER BY {overdue_key}{direction}, {SEVERITY_KEY}{direction}, \
         due_at_us{direction}, id{direction} LIMIT {limit}",
        sql.where_clause()
    );
    let mut rows = conn
        .query(&query, &sql.params)?
        .iter()
        .map(|row| read_alert(row))
        .collect::<Result<Vec<_>, _>>()?;
    if filter.before.is_some() {
        rows.reverse();
    }
    Ok(rows)
}

/// [`AlertStore::counts`].
pub(crate) fn counts_in(
    conn: &mut dyn AlertConn,
    filter: &AlertFilter,
) -> Result<AlertCounts, StoreError> {
    let mut sql = FilterSql::build(filter);
    let now = sql.push(Param::Int(filter.now_us.unwrap_or(i64::MIN)));
    let query = format!(
        "SELECT severity, CAST(COUNT(*) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN status = 'open' AND due_at_us < {now} THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM alerts{} GROUP BY severity",
        sql.where_clause()
    );
    let mut counts = AlertCounts::default();
    for row in conn.query(&query, &sql.params)? {
        let mut cells = row.iter();
        let severity = text(cells.next())?;
        let n = u64::try_from(int(cells.next())?)
            .map_err(|_| StoreError::Corrupt("negative alert count"))?;
        let n_overdue = u64::try_from(int(cells.next())?)
            .map_err(|_| StoreError::Corrupt("negative alert count"))?;
        let rank = severity_rank(&severity).ok_or(StoreError::Corrupt("unknown severity"))?;
        if let Some(slot) = counts.by_severity.get_mut(rank) {
            *slot += n;
        }
        counts.total += n;
        counts.overdue += n_overdue;
    }
    Ok(counts)
}

/// [`AlertStore::rule_counts`].
pub(crate) fn rule_counts_in(
    conn: &mut dyn AlertConn,
    filter: &AlertFilter,
) -> Result<Vec<(String, u64)>, StoreError> {
    let sql = FilterSql::build(filter);
    let query = format!(
        "SELECT rule_id, CAST(COUNT(*) AS BIGINT) FROM alerts{} GROUP BY rule_id ORDER BY rule_id",
        sql.where_clause()
    );
    conn.query(&query, &sql.params)?
        .iter()
        .map(|row| {
            let mut cells = row.iter();
            let rule_id = text(cells.next())?;
            let n = u64::try_from(int(cells.next())?)
                .map_err(|_| StoreError::Corrupt("negative alert count"))?;
            Ok((rule_id, n))
        })
        .collect()
}

/// [`AlertStore::count`].
pub(crate) fn count_in(conn: &mut dyn AlertConn, filter: &AlertFilter) -> Result<u64, StoreError> {
    let sql = FilterSql::build(filter);
    let query = format!("SELECT COUNT(*) FROM alerts{}", sql.where_clause());
    let rows = conn.query(&query, &sql.params)?;
    let count = int(rows.first().and_then(|row| row.first()))?;
    u64::try_from(count).map_err(|_| StoreError::Corrupt("negative alert count"))
}

/// [`AlertStore::overdue`].
pub(crate) fn overdue_in(
    conn: &mut dyn AlertConn,
    now_us: i64,
    limit: u32,
) -> Result<Vec<AlertRow>, StoreError> {
    list_in(
        conn,
        &AlertFilter {
            overdue_at_us: Some(now_us),
            now_us: Some(now_us),
            limit,
            ..AlertFilter::default()
        },
    )
}

// Debug output ends up in logs and panic messages: it leaves out free text that can
// hold personal data (explanations, reasons).
impl fmt::Debug for AlertRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AlertRow")
            .field("id", &self.id)
            .field("child_id", &self.child_id)
            .field("person_id", &self.person_id)
            .field("rule_id", &self.rule_id)
            .field("pack_name", &self.pack_name)
            .field("pack_version", &self.pack_version)
            .field("severity", &self.severity)
            .field("routed_to", &self.routed_to)
            .field("raised_at_us", &self.raised_at_us)
            .field("updated_at_us", &self.updated_at_us)
            .field("due_at_us", &self.due_at_us)
            .field("status", &self.status)
            .field("escalation_level", &self.escalation_level)
            .field("decided_at_us", &self.decided_at_us)
            .field("assigned_to", &self.assigned_to)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AlertEventRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AlertEventRow")
            .field("seq", &self.seq)
            .field("alert_id", &self.alert_id)
            .field("at_us", &self.at_us)
            .field("kind", &self.kind)
            .field("actor", &self.actor)
            .field("decision", &self.decision)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Decision {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Decision")
            .field("alert_id", &self.alert_id)
            .field("actor", &self.actor)
            .field("decision", &self.decision)
            .field("at_us", &self.at_us)
            .field("reason_chars", &self.reason.chars().count())
            .field("follow_up", &self.follow_up)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Reopening {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Reopening")
            .field("alert_id", &self.alert_id)
            .field("actor", &self.actor)
            .field("at_us", &self.at_us)
            .field("due_at_us", &self.due_at_us)
            .field("reason_chars", &self.reason.chars().count())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AlertChange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertChange::Raised { id } => write!(formatter, "{id} raised"),
            AlertChange::EvidenceAdded { id, n } => write!(formatter, "{id} +{n} evidence"),
            AlertChange::Reopened { id } => write!(formatter, "{id} reopened"),
            AlertChange::SeverityRaised { id } => write!(formatter, "{id} severity raised"),
            AlertChange::Unchanged { id } => write!(formatter, "{id} unchanged"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_tokens_round_trip_and_refuse_junk() {
        let cursor = AlertCursor {
            overdue_key: 0,
            severity_key: 2,
            due_at_us: -5,
            id: "a-00.ff".into(),
        };
        assert_eq!(
            AlertCursor::from_token(&cursor.to_token()),
            Some(cursor.clone())
        );
        for junk in [
            "",
            "0.1.2",
            "2.0.0.a",
            "0.4.0.a",
            "x.0.0.a",
            "0.0.0.",
            "0.0.99999999999999999999.a",
        ] {
            assert_eq!(AlertCursor::from_token(junk), None, "{junk}");
        }
    }

    #[test]
    fn debug_output_leaves_out_free_text() {
        let decision = Decision {
            alert_id: "a-1".into(),
            actor: "sw".into(),
            decision: "visit".into(),
            reason: "SECRET-REASON".into(),
            at_us: 0,
            follow_up: None,
        };
        let event = AlertEventRow {
            seq: 1,
            alert_id: "a-1".into(),
            at_us: 0,
            kind: "decided".into(),
            actor: None,
            decision: None,
            reason: Some("SECRET-REASON".into()),
            detail: None,
        };
        let alert = AlertRow {
            id: "a-1".into(),
            child_id: "c".into(),
            person_id: None,
            rule_id: "r".into(),
            pack_name: "p".into(),
            pack_version: "1".into(),
            severity: "high".into(),
            title: "t".into(),
            explanation: "SECRET-EXPLANATION".into(),
            citation: "c".into(),
            route: "r".into(),
            routed_to: "team:x/duty".into(),
            raised_at_us: 0,
            updated_at_us: 0,
            due_at_us: 0,
            status: "open".into(),
            escalation_level: 0,
            decided_at_us: None,
            assigned_to: None,
        };
        for text in [
            format!("{decision:?}"),
            format!("{event:?}"),
            format!("{alert:?}"),
        ] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("a-1"), "{text}");
        }
    }

    fn upsert_with(id: &str, severity: &str, records: &[&str]) -> AlertUpsert {
        AlertUpsert {
            alert: AlertRow {
                id: id.into(),
                child_id: "c".into(),
                person_id: None,
                rule_id: "r".into(),
                pack_name: "p".into(),
                pack_version: "1".into(),
                severity: severity.into(),
                title: String::new(),
                explanation: String::new(),
                citation: String::new(),
                route: String::new(),
                routed_to: "team:x/duty".into(),
                raised_at_us: 0,
                updated_at_us: 0,
                due_at_us: 7,
                status: STATUS_OPEN.into(),
                escalation_level: 0,
                decided_at_us: None,
                assigned_to: None,
            },
            evidence: records
                .iter()
                .map(|record_id| EvidenceRow {
                    agency: "police".into(),
                    record_id: (*record_id).into(),
                    version: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn a_slice_is_planned_as_its_inputs_one_after_another() {
        let mut known = Known::default();
        known
            .alerts
            .insert("a-1".into(), ("medium".into(), STATUS_DECIDED.into()));
        known
            .evidence
            .insert(("a-1".into(), "police".into(), "R1".into(), 1));
        let slice = [
            upsert_with("a-1", "high", &["R1", "R2"]),
            upsert_with("a-1", "critical", &["R2", "R3", "R3"]),
            upsert_with("a-2", "low", &["R1"]),
            upsert_with("a-2", "high", &["R1"]),
        ];
        let plan = plan_upserts(&slice, &known);
        let id = |id: &str| id.to_owned();
        assert_eq!(
            plan.changes,
            [
                AlertChange::EvidenceAdded {
                    id: id("a-1"),
                    n: 1
                },
                AlertChange::SeverityRaised { id: id("a-1") },
                AlertChange::Reopened { id: id("a-1") },
                AlertChange::EvidenceAdded {
                    id: id("a-1"),
                    n: 1
                },
                AlertChange::SeverityRaised { id: id("a-1") },
                AlertChange::Raised { id: id("a-2") },
                AlertChange::SeverityRaised { id: id("a-2") },
            ]
        );
        // One severity update per stored alert, with the final severity; a new
        // alert is inserted with its final severity.
        assert_eq!(plan.severity_updates, [("a-1", "critical".to_owned())]);
        assert_eq!(plan.reopens, [("a-1", 7, "team:x/duty")]);
        assert_eq!(plan.new_alerts.len(), 1);
        assert_eq!(plan.new_alerts[0].1, "high");
        let evidence: Vec<(&str, &str)> = plan
            .evidence
            .iter()
            .map(|(alert_id, row)| (*alert_id, row.record_id.as_str()))
            .collect();
        assert_eq!(evidence, [("a-1", "R2"), ("a-1", "R3"), ("a-2", "R1")]);
        assert_eq!(plan.events.len(), 7);
        assert_eq!(
            plan.events[4],
            (
                "a-1",
                "severity_raised",
                "{\"from\":\"high\",\"to\":\"critical\"}".to_owned()
            )
        );
        // Planned again against the state it leaves: nothing to do.
        let mut after = Known::default();
        for (alert_id, severity) in [("a-1", "critical"), ("a-2", "high")] {
            after
                .alerts
                .insert(alert_id.into(), (severity.into(), STATUS_OPEN.into()));
        }
        for (alert_id, record_id) in evidence {
            after
                .evidence
                .insert((alert_id.into(), "police".into(), record_id.into(), 1));
        }
        after
            .evidence
            .insert(("a-1".into(), "police".into(), "R1".into(), 1));
        let again = plan_upserts(&slice, &after);
        assert!(
            again
                .changes
                .iter()
                .all(|change| matches!(change, AlertChange::Unchanged { .. }))
        );
        assert!(again.evidence.is_empty() && again.events.is_empty());
    }

    #[test]
    fn statements_come_in_power_of_two_sizes() {
        let items: Vec<usize> = (0..700).collect();
        let sizes: Vec<usize> = pow2_chunks(&items, 256).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [256, 256, 128, 32, 16, 8, 4]);
        assert!(pow2_chunks::<usize>(&[], 256).is_empty());
        assert_eq!(pow2_chunks(&items[..3], 1).len(), 3);
        assert_eq!(values_list(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn severity_order() {
        assert!(severity_rank("critical") > severity_rank("high"));
        assert!(severity_rank("low") > None);
        assert_eq!(severity_rank("urgent"), None);
        assert_eq!(severity_key("critical"), 0);
        assert_eq!(severity_key("low"), 3);
    }
}
