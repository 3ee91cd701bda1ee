//! The data protection controls an agency or the privacy officer places on
//! what Sightline holds (issue #18 items 4 and 5): a record **restricted** by
//! its agency to named roles (`record_restrictions`), and a **legal hold** on a
//! child or person (`legal_holds`). Both are kept as events: restricting and
//! lifting, placing and releasing are rows, and what is in force is each
//! record's (each person's) latest row. Reached by [`crate::AccessStore`];
//! written once here over the alerts' connection trait.
//!
//! What a restriction lets whom read is decided above the store
//! (`sightline_access::Restriction`); what a hold blocks, in `sightline-app`.
//!
//! - Invariant: both tables are append-only (triggers reject UPDATE and DELETE,
//!   and TRUNCATE in PostgreSQL): who restricted or held what, when and why is
//!   never rewritten.
//! - Invariant: a restriction names at least one role, and only casework roles.

use crate::StoreError;
use crate::alerts::{AlertConn, Cell, Param, int, opt_int, text};

/// `state` of a restriction event that restricts.
pub const RESTRICTED: &str = "restricted";
/// `state` of a restriction event that lifts it.
pub const LIFTED: &str = "lifted";
/// `state` of a hold event that places it.
pub const HOLD_PLACED: &str = "placed";
/// `state` of a hold event that releases it.
pub const HOLD_RELEASED: &str = "released";
/// The most rows one read of controls returns; larger limits are clamped.
pub const CONTROLS_READ_LIMIT_MAX: u32 = 10_000;
/// The longest reason stored (a sentence, checked above the store).
pub const CONTROL_REASON_BYTES_MAX: usize = 4_000;
/// The roles a restriction may name (casework roles; stored comma-separated).
pub const RESTRICTION_ROLES: [&str; 3] = ["practitioner", "team_manager", "safeguarding_lead"];

/// A restriction event to record: restricting a record, or lifting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRestriction {
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
    /// The record's agency.
    pub agency: String,
    /// The agency's record id.
    pub record_id: String,
    /// [`RESTRICTED`] or [`LIFTED`].
    pub state: String,
    /// The roles that may still read it (stable names, from
    /// [`RESTRICTION_ROLES`]); empty when lifted.
    pub roles: Vec<String>,
    /// Only those roles at the record's agency.
    pub own_agency_only: bool,
    /// Why, in a sentence.
    pub reason: String,
    /// Who (`None`: an operator at the command line).
    pub by_user_id: Option<i64>,
    /// Their username (`cli` for an operator).
    pub by_username: String,
}

/// A stored restriction event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictionRow {
    /// Position; increases in insertion order.
    pub seq: i64,
    /// The event.
    pub event: NewRestriction,
}

/// A hold event to record: placing a legal hold on a child or person, or
/// releasing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    /// When.
    pub at_us: i64,
    /// `child` or `person`.
    pub target: String,
    /// Sightline's person id.
    pub person_id: String,
    /// [`HOLD_PLACED`] or [`HOLD_RELEASED`].
    pub state: String,
    /// Why (a case review, court proceedings, an inquiry), in a sentence.
    pub reason: String,
    /// Who (`None`: an operator at the command line).
    pub by_user_id: Option<i64>,
    /// Their username.
    pub by_username: String,
}

/// A stored hold event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// Position.
    pub seq: i64,
    /// The event.
    pub event: NewHold,
}

fn invalid(reason: &'static str) -> StoreError {
    StoreError::InvalidAccess { reason }
}

fn check_restriction(event: &NewRestriction) -> Result<(), StoreError> {
    if event.agency.is_empty() || event.record_id.is_empty() {
        return Err(invalid("a restriction needs a record"));
    }
    if event.reason.trim().is_empty() || event.reason.len() > CONTROL_REASON_BYTES_MAX {
        return Err(invalid(
            "a restriction needs a reason of at most 4,000 bytes",
        ));
    }
    match event.state.as_str() {
        RESTRICTED => {
            if event.roles.is_empty()
                || event
                    .roles
                    .iter()
                    .any(|role| !RESTRICTION_ROLES.contains(&role.as_str()))
            {
                return Err(invalid("a restriction names one or more casework roles"));
            }
        }
        LIFTED => {
            if !event.roles.is_empty() {
                return Err(invalid("lifting a restriction names no roles"));
            }
        }
        _ => return Err(invalid("a restriction is restricted or lifted")),
    }
    Ok(())
}

fn check_hold(event: &NewHold) -> Result<(), StoreError> {
    if event.person_id.is_empty() || (event.target != "child" && event.target != "person") {
        return Err(invalid("a hold is on a child or a person"));
    }
    if event.reason.trim().is_empty() || event.reason.len() > CONTROL_REASON_BYTES_MAX {
        return Err(invalid("a hold needs a reason of at most 4,000 bytes"));
    }
    if event.state != HOLD_PLACED && event.state != HOLD_RELEASED {
        return Err(invalid("a hold is placed or released"));
    }
    Ok(())
}

const RESTRICTION_COLUMNS: &str = "seq, at_us, agency, record_id, state, roles, own_agency_only, \
     reason, by_user_id, by_username";
const HOLD_COLUMNS: &str = "seq, at_us, target, person_id, state, reason, by_user_id, by_username";

fn read_restriction(cells: &[Cell]) -> Result<RestrictionRow, StoreError> {
    let mut cells = cells.iter();
    let seq = int(cells.next())?;
    let at_us = int(cells.next())?;
    let agency = text(cells.next())?;
    let record_id = text(cells.next())?;
    let state = text(cells.next())?;
    let roles = text(cells.next())?;
    let own_agency_only = int(cells.next())? != 0;
    let reason = text(cells.next())?;
    let by_user_id = opt_int(cells.next())?;
    let by_username = text(cells.next())?;
    Ok(RestrictionRow {
        seq,
        event: NewRestriction {
            at_us,
            agency,
            record_id,
            state,
            roles: roles
                .split(',')
                .filter(|role| !role.is_empty())
                .map(str::to_owned)
                .collect(),
            own_agency_only,
            reason,
            by_user_id,
            by_username,
        },
    })
}

fn read_hold(cells: &[Cell]) -> Result<HoldRow, StoreError> {
    let mut cells = cells.iter();
    Ok(HoldRow {
        seq: int(cells.next())?,
        event: NewHold {
            at_us: int(cells.next())?,
            target: text(cells.next())?,
            person_id: text(cells.next())?,
            state: text(cells.next())?,
            reason: text(cells.next())?,
            by_user_id: opt_int(cells.next())?,
            by_username: text(cells.next())?,
        },
    })
}

pub(crate) fn append_restriction_in(
    conn: &mut dyn AlertConn,
    event: &NewRestriction,
) -> Result<RestrictionRow, StoreError> {
    check_restriction(event)?;
    let roles = event.roles.join(",");
    let rows = conn.query(
        "INSERT INTO record_restrictions (at_us, agency, record_id, state, roles, \
         own_agency_only, reason, by_user_id, by_username) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
        &[
            Param::Int(event.at_us),
            Param::Text(&event.agency),
            Param::Text(&event.record_id),
            Param::Text(&event.state),
            Param::Text(&roles),
            Param::Int(i64::from(event.own_agency_only)),
            Param::Text(&event.reason),
            event.by_user_id.map_or(Param::NullInt, Param::Int),
            Param::Text(&event.by_username),
        ],
    )?;
    Ok(RestrictionRow {
        seq: int(rows.first().and_then(|row| row.first()))?,
        event: event.clone(),
    })
}

/// Restrictions in force: each record's latest event, when it restricts; by
/// agency and record id, after `after` (keyset paging), at most `limit`.
pub(crate) fn restrictions_in_force_in(
    conn: &mut dyn AlertConn,
    after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<RestrictionRow>, StoreError> {
    let mut sql = format!(
        "SELECT {RESTRICTION_COLUMNS} FROM record_restrictions r \
         WHERE r.seq = (SELECT MAX(l.seq) FROM record_restrictions l \
                        WHERE l.agency = r.agency AND l.record_id = r.record_id) \
           AND r.state = 'restricted'"
    );
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some((agency, record_id)) = after {
        params.push(Param::Text(agency));
        params.push(Param::Text(record_id));
        sql.push_str(" AND (r.agency > $1 OR (r.agency = $1 AND r.record_id > $2))");
    }
    page_query(
        conn,
        sql,
        params,
        "r.agency, r.record_id",
        limit,
        read_restriction,
    )
}

/// Every restriction event (of one record, if given) with `seq < before_seq`,
/// newest first, at most `limit`.
pub(crate) fn restriction_events_in(
    conn: &mut dyn AlertConn,
    record: Option<(&str, &str)>,
    before_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<RestrictionRow>, StoreError> {
    let mut sql = format!("SELECT {RESTRICTION_COLUMNS} FROM record_restrictions WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some((agency, record_id)) = record {
        params.push(Param::Text(agency));
        params.push(Param::Text(record_id));
        sql.push_str(&format!(
            " AND agency = ${} AND record_id = ${}",
            params.len() - 1,
            params.len()
        ));
    }
    if let Some(before) = before_seq {
        params.push(Param::Int(before));
        sql.push_str(&format!(" AND seq < ${}", params.len()));
    }
    page_query(conn, sql, params, "seq DESC", limit, read_restriction)
}

pub(crate) fn append_hold_in(
    conn: &mut dyn AlertConn,
    event: &NewHold,
) -> Result<HoldRow, StoreError> {
    check_hold(event)?;
    let rows = conn.query(
        "INSERT INTO legal_holds (at_us, target, person_id, state, reason, by_user_id, by_username) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        &[
            Param::Int(event.at_us),
            Param::Text(&event.target),
            Param::Text(&event.person_id),
            Param::Text(&event.state),
            Param::Text(&event.reason),
            event.by_user_id.map_or(Param::NullInt, Param::Int),
            Param::Text(&event.by_username),
        ],
    )?;
    Ok(HoldRow {
        seq: int(rows.first().and_then(|row| row.first()))?,
        event: event.clone(),
    })
}

/// Holds in force: each person's latest event, when it places a hold; of one
/// person if given; by person id, at most `limit`.
pub(crate) fn holds_in_force_in(
    conn: &mut dyn AlertConn,
    person_id: Option<&str>,
    limit: u32,
) -> Result<Vec<HoldRow>, StoreError> {
    let mut sql = format!(
        "SELECT {HOLD_COLUMNS} FROM legal_holds h \
         WHERE h.seq = (SELECT MAX(l.seq) FROM legal_holds l WHERE l.person_id = h.person_id) \
           AND h.state = 'placed'"
    );
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(person_id) = person_id {
        params.push(Param::Text(person_id));
        sql.push_str(&format!(" AND h.person_id = ${}", params.len()));
    }
    page_query(conn, sql, params, "h.person_id", limit, read_hold)
}

/// Every hold event with `seq < before_seq`, newest first, at most `limit`.
pub(crate) fn hold_events_in(
    conn: &mut dyn AlertConn,
    before_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<HoldRow>, StoreError> {
    let mut sql = format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(before) = before_seq {
        params.push(Param::Int(before));
        sql.push_str(&format!(" AND seq < ${}", params.len()));
    }
    page_query(conn, sql, params, "seq DESC", limit, read_hold)
}

/// Runs `sql` (its filters already in `params`) ordered by `order_by`, at most
/// `limit` rows (clamped to [`CONTROLS_READ_LIMIT_MAX`]), read by `read`.
pub(crate) fn page_query<T>(
    conn: &mut dyn AlertConn,
    mut sql: String,
    mut params: Vec<Param<'_>>,
    order_by: &str,
    limit: u32,
    read: fn(&[Cell]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    params.push(Param::Int(crate::accounts::clamp(
        limit,
        CONTROLS_READ_LIMIT_MAX,
    )));
    sql.push_str(&format!(" ORDER BY {order_by} LIMIT ${}", params.len()));
    let rows = conn.query(&sql, &params)?;
    rows.iter().map(|cells| read(cells)).collect()
}

/// A third party disclosed in a person's subject access bundle: one other
/// person (`person_ref`) of one record, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnredaction {
    /// When.
    pub at_us: i64,
    /// The data subject whose bundle it applies to.
    pub person_id: String,
    /// The record's agency.
    pub agency: String,
    /// The agency's record id.
    pub record_id: String,
    /// The third party's `ref` in the record.
    pub person_ref: String,
    /// Why it is disclosed, in a sentence.
    pub reason: String,
    /// Who (`None`: an operator at the command line).
    pub by_user_id: Option<i64>,
    /// Their username.
    pub by_username: String,
}

/// A stored un-redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnredactionRow {
    /// Position.
    pub seq: i64,
    /// The event.
    pub event: NewUnredaction,
}

const UNREDACTION_COLUMNS: &str =
    "seq, at_us, person_id, agency, record_id, person_ref, reason, by_user_id, by_username";

fn check_unredaction(event: &NewUnredaction) -> Result<(), StoreError> {
    if event.person_id.is_empty()
        || event.agency.is_empty()
        || event.record_id.is_empty()
        || event.person_ref.is_empty()
    {
        return Err(invalid(
            "an un-redaction names a person and a third party of a record",
        ));
    }
    if event.reason.trim().is_empty() || event.reason.len() > CONTROL_REASON_BYTES_MAX {
        return Err(invalid(
            "an un-redaction needs a reason of at most 4,000 bytes",
        ));
    }
    Ok(())
}

fn read_unredaction(cells: &[Cell]) -> Result<UnredactionRow, StoreError> {
    let mut cells = cells.iter();
    Ok(UnredactionRow {
        seq: int(cells.next())?,
        event: NewUnredaction {
            at_us: int(cells.next())?,
            person_id: text(cells.next())?,
            agency: text(cells.next())?,
            record_id: text(cells.next())?,
            person_ref: text(cells.next())?,
            reason: text(cells.next())?,
            by_user_id: opt_int(cells.next())?,
            by_username: text(cells.next())?,
        },
    })
}

pub(crate) fn append_unredaction_in(
    conn: &mut dyn AlertConn,
    event: &NewUnredaction,
) -> Result<UnredactionRow, StoreError> {
    check_unredaction(event)?;
    let rows = conn.query(
        "INSERT INTO sar_unredactions (at_us, person_id, agency, record_id, person_ref, reason, \
         by_user_id, by_username) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        &[
            Param::Int(event.at_us),
            Param::Text(&event.person_id),
            Param::Text(&event.agency),
            Param::Text(&event.record_id),
            Param::Text(&event.person_ref),
            Param::Text(&event.reason),
            event.by_user_id.map_or(Param::NullInt, Param::Int),
            Param::Text(&event.by_username),
        ],
    )?;
    Ok(UnredactionRow {
        seq: int(rows.first().and_then(|row| row.first()))?,
        event: event.clone(),
    })
}

/// The un-redactions of one person's bundle, oldest first, at most `limit`.
pub(crate) fn unredactions_in(
    conn: &mut dyn AlertConn,
    person_id: &str,
    limit: u32,
) -> Result<Vec<UnredactionRow>, StoreError> {
    let sql = format!("SELECT {UNREDACTION_COLUMNS} FROM sar_unredactions WHERE person_id = $1");
    page_query(
        conn,
        sql,
        vec![Param::Text(person_id)],
        "seq",
        limit,
        read_unredaction,
    )
}
