//! Retention batches (issue #18 item 2): what the daily job found due under
//! the retention schedule (`retention_batches`, `retention_batch_records`)
//! and the privacy officer's decisions on each batch (`retention_decisions`).
//! Reached by [`crate::AccessStore`]; written once here over the alerts'
//! connection trait.
//!
//! - Invariant: all three tables are append-only; a batch's state is its
//!   latest decision (none: pending).
//! - Invariant: a batch and its records are written in one transaction.

use crate::StoreError;
use crate::alerts::{AlertConn, Cell, Param, int, opt_int, text};
use crate::controls::{CONTROL_REASON_BYTES_MAX, page_query};

/// A decision that approves a batch (its records are to be erased).
pub const RETENTION_APPROVED: &str = "approved";
/// A decision that rejects a batch (its records are kept).
pub const RETENTION_REJECTED: &str = "rejected";
/// A decision that defers a batch (decided later).
pub const RETENTION_DEFERRED: &str = "deferred";
/// The most records one batch holds (the rest wait for the next batch).
pub const RETENTION_BATCH_RECORDS_MAX: usize = 10_000;

/// One record of a batch: due under `rule` since the day after `kept_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionBatchRecord {
    pub agency: String,
    pub record_id: String,
    /// The schedule rule's name.
    pub rule: String,
    /// YYYY-MM-DD: the last day the rule kept it.
    pub kept_until: String,
}

/// A batch to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRetentionBatch {
    pub created_at_us: i64,
    /// YYYY-MM-DD: the day the schedule was applied.
    pub as_of: String,
    /// Due but blocked by a legal hold (counted, not listed).
    pub n_blocked: i64,
    /// Due but over [`RETENTION_BATCH_RECORDS_MAX`]: left for a later batch.
    pub n_left_over: i64,
    /// `job` or `cli`.
    pub made_by: String,
    pub records: Vec<RetentionBatchRecord>,
}

/// A stored batch (without its records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionBatchRow {
    pub id: i64,
    pub created_at_us: i64,
    pub as_of: String,
    pub n_records: i64,
    pub n_blocked: i64,
    pub n_left_over: i64,
    pub made_by: String,
}

/// A decision on a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRetentionDecision {
    pub batch_id: i64,
    pub at_us: i64,
    /// [`RETENTION_APPROVED`], [`RETENTION_REJECTED`] or [`RETENTION_DEFERRED`].
    pub decision: String,
    pub reason: String,
    /// Approved: the batch's records found on legal hold when approved.
    pub n_kept_held: i64,
    pub by_user_id: Option<i64>,
    pub by_username: String,
}

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDecisionRow {
    pub seq: i64,
    pub event: NewRetentionDecision,
}

fn invalid(reason: &'static str) -> StoreError {
    StoreError::InvalidAccess { reason }
}

const BATCH_COLUMNS: &str = "id, created_at_us, as_of, n_records, n_blocked, n_left_over, made_by";
const DECISION_COLUMNS: &str =
    "seq, batch_id, at_us, decision, reason, n_kept_held, by_user_id, by_username";

fn read_batch(cells: &[Cell]) -> Result<RetentionBatchRow, StoreError> {
    let mut cells = cells.iter();
    Ok(RetentionBatchRow {
        id: int(cells.next())?,
        created_at_us: int(cells.next())?,
        as_of: text(cells.next())?,
        n_records: int(cells.next())?,
        n_blocked: int(cells.next())?,
        n_left_over: int(cells.next())?,
        made_by: text(cells.next())?,
    })
}

fn read_record(cells: &[Cell]) -> Result<RetentionBatchRecord, StoreError> {
    let mut cells = cells.iter();
    Ok(RetentionBatchRecord {
        agency: text(cells.next())?,
        record_id: text(cells.next())?,
        rule: text(cells.next())?,
        kept_until: text(cells.next())?,
    })
}

fn read_decision(cells: &[Cell]) -> Result<RetentionDecisionRow, StoreError> {
    let mut cells = cells.iter();
    Ok(RetentionDecisionRow {
        seq: int(cells.next())?,
        event: NewRetentionDecision {
            batch_id: int(cells.next())?,
            at_us: int(cells.next())?,
            decision: text(cells.next())?,
            reason: text(cells.next())?,
            n_kept_held: int(cells.next())?,
            by_user_id: opt_int(cells.next())?,
            by_username: text(cells.next())?,
        },
    })
}

pub(crate) fn append_batch_in(
    conn: &mut dyn AlertConn,
    batch: &NewRetentionBatch,
) -> Result<RetentionBatchRow, StoreError> {
    if batch.as_of.len() != 10 || batch.made_by.is_empty() {
        return Err(invalid("a retention batch needs its day and who made it"));
    }
    if batch.records.len() > RETENTION_BATCH_RECORDS_MAX
        || batch.n_blocked < 0
        || batch.n_left_over < 0
    {
        return Err(invalid("a retention batch holds at most 10,000 records"));
    }
    let n_records = i64::try_from(batch.records.len()).unwrap_or(i64::MAX);
    let rows = conn.query(
        "INSERT INTO retention_batches (created_at_us, as_of, n_records, n_blocked, n_left_over, made_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            Param::Int(batch.created_at_us),
            Param::Text(&batch.as_of),
            Param::Int(n_records),
            Param::Int(batch.n_blocked),
            Param::Int(batch.n_left_over),
            Param::Text(&batch.made_by),
        ],
    )?;
    let id = int(rows.first().and_then(|row| row.first()))?;
    for record in &batch.records {
        if record.kept_until.len() != 10 || record.rule.is_empty() {
            return Err(invalid("a batch record needs its rule and date"));
        }
        conn.query(
            "INSERT INTO retention_batch_records (batch_id, agency, record_id, rule, kept_until) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Param::Int(id),
                Param::Text(&record.agency),
                Param::Text(&record.record_id),
                Param::Text(&record.rule),
                Param::Text(&record.kept_until),
            ],
        )?;
    }
    Ok(RetentionBatchRow {
        id,
        created_at_us: batch.created_at_us,
        as_of: batch.as_of.clone(),
        n_records,
        n_blocked: batch.n_blocked,
        n_left_over: batch.n_left_over,
        made_by: batch.made_by.clone(),
    })
}

/// Batches with `id < before_id` (of the day `as_of`, if given), newest
/// first, at most `limit`.
pub(crate) fn batches_in(
    conn: &mut dyn AlertConn,
    as_of: Option<&str>,
    before_id: Option<i64>,
    limit: u32,
) -> Result<Vec<RetentionBatchRow>, StoreError> {
    let mut sql = format!("SELECT {BATCH_COLUMNS} FROM retention_batches WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(as_of) = as_of {
        params.push(Param::Text(as_of));
        sql.push_str(&format!(" AND as_of = ${}", params.len()));
    }
    if let Some(before) = before_id {
        params.push(Param::Int(before));
        sql.push_str(&format!(" AND id < ${}", params.len()));
    }
    page_query(conn, sql, params, "id DESC", limit, read_batch)
}

/// One batch's records by agency and record id, after `after` (keyset), at
/// most `limit`.
pub(crate) fn batch_records_in(
    conn: &mut dyn AlertConn,
    batch_id: i64,
    after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<RetentionBatchRecord>, StoreError> {
    let mut sql = "SELECT agency, record_id, rule, kept_until FROM retention_batch_records \
                   WHERE batch_id = $1"
        .to_owned();
    let mut params: Vec<Param<'_>> = vec![Param::Int(batch_id)];
    if let Some((agency, record_id)) = after {
        params.push(Param::Text(agency));
        params.push(Param::Text(record_id));
        sql.push_str(" AND (agency > $2 OR (agency = $2 AND record_id > $3))");
    }
    page_query(conn, sql, params, "agency, record_id", limit, read_record)
}

pub(crate) fn append_decision_in(
    conn: &mut dyn AlertConn,
    event: &NewRetentionDecision,
) -> Result<RetentionDecisionRow, StoreError> {
    if ![RETENTION_APPROVED, RETENTION_REJECTED, RETENTION_DEFERRED]
        .contains(&event.decision.as_str())
    {
        return Err(invalid("a batch is approved, rejected or deferred"));
    }
    if event.reason.trim().is_empty() || event.reason.len() > CONTROL_REASON_BYTES_MAX {
        return Err(invalid("a decision needs a reason of at most 4,000 bytes"));
    }
    let rows = conn.query(
        "INSERT INTO retention_decisions (batch_id, at_us, decision, reason, n_kept_held, by_user_id, by_username) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        &[
            Param::Int(event.batch_id),
            Param::Int(event.at_us),
            Param::Text(&event.decision),
            Param::Text(&event.reason),
            Param::Int(event.n_kept_held),
            event.by_user_id.map_or(Param::NullInt, Param::Int),
            Param::Text(&event.by_username),
        ],
    )?;
    Ok(RetentionDecisionRow {
        seq: int(rows.first().and_then(|row| row.first()))?,
        event: event.clone(),
    })
}

/// Decisions (on one batch, if given), newest first, at most `limit`.
pub(crate) fn decisions_in(
    conn: &mut dyn AlertConn,
    batch_id: Option<i64>,
    limit: u32,
) -> Result<Vec<RetentionDecisionRow>, StoreError> {
    let mut sql = format!("SELECT {DECISION_COLUMNS} FROM retention_decisions WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(batch_id) = batch_id {
        params.push(Param::Int(batch_id));
        sql.push_str(&format!(" AND batch_id = ${}", params.len()));
    }
    page_query(conn, sql, params, "seq DESC", limit, read_decision)
}
