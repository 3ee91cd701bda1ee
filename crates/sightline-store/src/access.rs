//! The access model's records: the relationships intake establishes between
//! agencies and children (`relationships`), and the notices sent when someone
//! gains access to a child (`access_notices`: a new relationship, one held over
//! an agency's daily limit, a break-glass grant). Reached by
//! [`crate::Store::access`]; relationships are written in the record's own
//! transaction ([`crate::WriteTx::append_relationships`]). The semantics are
//! written once here over the connection trait the alerts use; each backend only
//! supplies the connection.
//!
//! What counts as a relationship, how long it lasts and who is told is decided
//! above the store (`sightline-access`, `sightline-app`); the store keeps rows.
//!
//! - Invariant: both tables are append-only: triggers reject UPDATE and DELETE
//!   (and TRUNCATE in PostgreSQL). A relationship ends by the linkage moving its
//!   record away from the child, never by an edit.
//! - Invariant: a relationship and its notice are written in one statement
//!   sequence of one transaction: no relationship without its notice.

use crate::StoreError;
use crate::accounts::AuditRow;
use crate::alerts::{AlertConn, Cell, Param, int, opt_int, opt_text, text};
use crate::audit_query::{AuditQuery, GrantGiven};

/// The most rows one read returns; larger limits are clamped.
pub const ACCESS_READ_LIMIT_MAX: u32 = 10_000;
/// The longest detail of a notice (a break-glass reason is at most 1,000
/// characters, up to 4 bytes each... and is checked before it gets here).
pub const NOTICE_DETAIL_BYTES_MAX: usize = 2_000;

/// `kind` of the notice of a relationship established.
pub const NOTICE_NEW_RELATIONSHIP: &str = "new_relationship";
/// `kind` of the notice of a relationship held over its agency's daily limit.
pub const NOTICE_RELATIONSHIP_HELD: &str = "relationship_held";
/// `kind` of the notice of a break-glass grant.
pub const NOTICE_BREAK_GLASS: &str = "break_glass";
/// `kind` of the notice of a full read of a child on a plan by another
/// agency's staff (after NHS England's CP-IS), told to the child's allocated
/// worker or the duty team.
pub const NOTICE_CPIS_ACCESS: &str = "cpis_access";

/// `state` of a relationship in force.
pub const RELATIONSHIP_ESTABLISHED: &str = "established";
/// `state` of a relationship held over the agency's daily limit.
pub const RELATIONSHIP_HELD: &str = "held";

/// A relationship to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelationship {
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
    /// The child's person id.
    pub child_id: String,
    /// The agency.
    pub agency: String,
    /// `first_record`, `nhs_number` or `address`.
    pub basis: String,
    /// The agency's mention that showed it (`agency/record_id/ref`).
    pub mention_key: String,
    /// [`RELATIONSHIP_ESTABLISHED`] or [`RELATIONSHIP_HELD`].
    pub state: String,
    /// `agency`, `operator` or `existing`.
    pub source: String,
    /// Whom to tell (the child's lead agency), with a notice of kind
    /// `new_relationship` (established) or `relationship_held` (held); `None`
    /// and not `existing`: only the privacy officer is told.
    pub notify: Notify,
}

/// Whether and whom a new relationship's notice tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// No notice (relationships found in a log from before they were recorded).
    Nobody,
    /// The privacy officer (who sees every notice) and, if given, this agency.
    To(Option<String>),
}

/// A stored relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipRow {
    /// Position; increases in insertion order.
    pub seq: i64,
    /// When.
    pub at_us: i64,
    /// The child's person id when it was recorded.
    pub child_id: String,
    /// The agency.
    pub agency: String,
    /// Why.
    pub basis: String,
    /// The agency's mention that showed it.
    pub mention_key: String,
    /// Established or held.
    pub state: String,
    /// Who sent the record.
    pub source: String,
}

/// A notice to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// When.
    pub at_us: i64,
    /// `new_relationship`, `relationship_held`, `break_glass` or
    /// `cpis_access`.
    pub kind: String,
    /// `child:<id>` or `record:<agency>/<id>`.
    pub resource_key: String,
    /// The lead agency told, if any.
    pub to_agency: Option<String>,
    /// Whose access.
    pub about_agency: String,
    /// For break glass and CP-IS: who.
    pub about_user_id: Option<i64>,
    /// For break glass and CP-IS: their username.
    pub about_username: Option<String>,
    /// `relationship:<seq>`, `break_glass:<grant id>`, or for CP-IS the view
    /// read (`view_child`).
    pub subject: String,
    /// The basis, the reason given, or for CP-IS `PLAN;ROLE`.
    pub detail: String,
    /// CP-IS: the allocated worker told (a user id).
    pub to_user_id: Option<i64>,
    /// CP-IS: the team told when no worker is allocated (`team:AGENCY/TEAM`).
    pub to_team: Option<String>,
}

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Position.
    pub seq: i64,
    /// The notice.
    pub notice: NewNotice,
}

/// Which notices to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeFilter {
    /// Only those telling this agency.
    pub to_agency: Option<String>,
    /// Only those telling this user or (with [`NoticeFilter::to_team`]) this
    /// team: either matches.
    pub to_user_id: Option<i64>,
    /// Only those telling this team (`team:AGENCY/TEAM`) or (with
    /// [`NoticeFilter::to_user_id`]) this user: either matches.
    pub to_team: Option<String>,
    /// Only those about this resource.
    pub resource_key: Option<String>,
    /// Only those with `seq < before_seq` (the paging cursor).
    pub before_seq: Option<i64>,
    /// At most this many (clamped to [`ACCESS_READ_LIMIT_MAX`]).
    pub limit: u32,
}

/// An alert citing a record as evidence: whom it is routed to and whether it
/// is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitingAlert {
    /// The alert.
    pub alert_id: String,
    /// The child it is about.
    pub child_id: String,
    /// Whom it is routed to now.
    pub routed_to: String,
    /// `open` or `decided`.
    pub status: String,
    /// When it was decided, if it was.
    pub decided_at_us: Option<i64>,
}

/// The access model's records.
pub trait AccessStore: Send + Sync {
    /// The alerts citing a record (any version) as evidence, at most `limit`
    /// (clamped to [`ACCESS_READ_LIMIT_MAX`]), newest first (index
    /// `alert_evidence_record`).
    fn alerts_citing(
        &self,
        agency: &str,
        record_id: &str,
        limit: u32,
    ) -> Result<Vec<CitingAlert>, StoreError>;
    /// Relationships with `seq > after_seq`, ascending, at most `limit`.
    fn relationships(&self, after_seq: i64, limit: u32)
    -> Result<Vec<RelationshipRow>, StoreError>;
    /// Appends one notice (break glass) in its own transaction.
    fn append_notice(&self, notice: &NewNotice) -> Result<NoticeRow, StoreError>;
    /// Appends one notice in its own transaction unless one of the same kind
    /// about the same resource and user was given at or after `since_us`
    /// (then `None`): CP-IS tells at most once per user, child and day.
    fn append_notice_once_since(
        &self,
        notice: &NewNotice,
        since_us: i64,
    ) -> Result<Option<NoticeRow>, StoreError>;
    /// Notices matching `filter`, newest first.
    fn notices(&self, filter: &NoticeFilter) -> Result<Vec<NoticeRow>, StoreError>;
    /// How many notices tell `to_agency` (all notices when `None`) with
    /// `at_us >= since_us`.
    fn count_notices(&self, to_agency: Option<&str>, since_us: i64) -> Result<u64, StoreError>;
    /// How many notices tell the user `to_user_id` or the team `to_team`
    /// (either) with `at_us >= since_us`.
    fn count_notices_told(
        &self,
        to_user_id: i64,
        to_team: Option<&str>,
        since_us: i64,
    ) -> Result<u64, StoreError>;
    /// Audit entries matching `query`, newest first (the privacy officer's
    /// access log and "who viewed this child"; indexes by actor, action,
    /// resource and time).
    fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError>;
    /// The reasons given for these break-glass grants, as `(id, reason)` by id
    /// (unknown ids are left out; at most [`crate::GRANT_IDS_MAX`] ids).
    fn grant_reasons(&self, grant_ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError>;
    /// Break-glass grants given at or after `since_us` with `id > after_id`,
    /// ascending by id, at most `limit` (the paging cursor is the last id).
    fn grants_since(
        &self,
        since_us: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<GrantGiven>, StoreError>;
    /// Appends a restriction event (restricting a record, or lifting it).
    fn append_restriction(
        &self,
        event: &crate::NewRestriction,
    ) -> Result<crate::RestrictionRow, StoreError>;
    /// The restrictions in force (each record's latest event, when it
    /// restricts), by agency and record id, at most `limit` (clamped to
    /// [`crate::CONTROLS_READ_LIMIT_MAX`]).
    fn restrictions_in_force(
        &self,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<crate::RestrictionRow>, StoreError>;
    /// Restriction events (of one record `(agency, record_id)`, if given) with
    /// `seq < before_seq`, newest first, at most `limit`.
    fn restriction_events(
        &self,
        record: Option<(&str, &str)>,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RestrictionRow>, StoreError>;
    /// Appends a legal hold event (placing, or releasing).
    fn append_hold(&self, event: &crate::NewHold) -> Result<crate::HoldRow, StoreError>;
    /// [`AccessStore::append_restriction`] with its audit entry in the same
    /// transaction (under the audit lock): `audit(restriction seq, seq,
    /// prev_hash)` builds it as [`crate::AuditStore::append_audit`]'s `build`.
    /// A crash leaves both or neither.
    fn append_restriction_audited(
        &self,
        event: &crate::NewRestriction,
        audit: &mut dyn FnMut(i64, i64, [u8; 32]) -> AuditRow,
    ) -> Result<crate::RestrictionRow, StoreError>;
    /// [`AccessStore::append_hold`] with its audit entry in the same
    /// transaction, as [`AccessStore::append_restriction_audited`].
    fn append_hold_audited(
        &self,
        event: &crate::NewHold,
        audit: &mut dyn FnMut(i64, i64, [u8; 32]) -> AuditRow,
    ) -> Result<crate::HoldRow, StoreError>;
    /// The holds in force (each person's latest event, when it places one), of
    /// one person if given, at most `limit`.
    fn holds_in_force(
        &self,
        person_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::HoldRow>, StoreError>;
    /// Hold events with `seq < before_seq`, newest first, at most `limit`.
    fn hold_events(
        &self,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::HoldRow>, StoreError>;
    /// Appends a subject access un-redaction (one third party of one record
    /// disclosed in one person's bundle).
    fn append_unredaction(
        &self,
        event: &crate::NewUnredaction,
    ) -> Result<crate::UnredactionRow, StoreError>;
    /// Writes a retention batch and its records (one transaction).
    fn append_retention_batch(
        &self,
        batch: &crate::NewRetentionBatch,
    ) -> Result<crate::RetentionBatchRow, StoreError>;
    /// Retention batches with `id < before_id` (of the day `as_of`, if given),
    /// newest first, at most `limit`.
    fn retention_batches(
        &self,
        as_of: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionBatchRow>, StoreError>;
    /// One batch's records by agency and record id, after `after`, at most `limit`.
    fn retention_batch_records(
        &self,
        batch_id: i64,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionBatchRecord>, StoreError>;
    /// Appends a decision on a retention batch.
    fn append_retention_decision(
        &self,
        event: &crate::NewRetentionDecision,
    ) -> Result<crate::RetentionDecisionRow, StoreError>;
    /// Decisions on retention batches (on one, if given), newest first.
    fn retention_decisions(
        &self,
        batch_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::RetentionDecisionRow>, StoreError>;
    /// The un-redactions of `person_id`'s bundle, oldest first, at most
    /// `limit` (clamped to [`crate::CONTROLS_READ_LIMIT_MAX`]).
    fn unredactions(
        &self,
        person_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::UnredactionRow>, StoreError>;
}

const INSERT_RELATIONSHIP: &str = "INSERT INTO relationships \
     (at_us, child_id, agency, basis, mention_key, state, source) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq";
const SELECT_RELATIONSHIPS: &str = "SELECT seq, at_us, child_id, agency, basis, mention_key, state, source \
     FROM relationships WHERE seq > $1 ORDER BY seq LIMIT $2";
const INSERT_NOTICE: &str = "INSERT INTO access_notices \
     (at_us, kind, resource_key, to_agency, about_agency, about_user_id, about_username, subject, detail, to_user_id, to_team) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq";
const NOTICE_COLUMNS: &str = "seq, at_us, kind, resource_key, to_agency, about_agency, \
     about_user_id, about_username, subject, detail, to_user_id, to_team";
const SAME_NOTICE_SINCE: &str = "SELECT seq FROM access_notices WHERE kind = $1 \
     AND resource_key = $2 AND about_user_id = $3 AND at_us >= $4 LIMIT 1";

const SELECT_CITING: &str = "SELECT a.id, a.child_id, a.routed_to, a.status, a.decided_at_us \
     FROM alerts a WHERE a.id IN (SELECT e.alert_id FROM alert_evidence e \
     WHERE e.agency = $1 AND e.record_id = $2) ORDER BY a.raised_at_us DESC, a.id LIMIT $3";

pub(crate) fn alerts_citing_in(
    conn: &mut dyn AlertConn,
    agency: &str,
    record_id: &str,
    limit: u32,
) -> Result<Vec<CitingAlert>, StoreError> {
    let rows = conn.query(
        SELECT_CITING,
        &[
            Param::Text(agency),
            Param::Text(record_id),
            Param::Int(crate::accounts::clamp(limit, ACCESS_READ_LIMIT_MAX)),
        ],
    )?;
    rows.iter()
        .map(|cells| {
            let mut cells = cells.iter();
            Ok(CitingAlert {
                alert_id: text(cells.next())?,
                child_id: text(cells.next())?,
                routed_to: text(cells.next())?,
                status: text(cells.next())?,
                decided_at_us: opt_int(cells.next())?,
            })
        })
        .collect()
}

fn check_relationship(row: &NewRelationship) -> Result<(), StoreError> {
    let reason = if row.child_id.is_empty() || row.agency.is_empty() || row.mention_key.is_empty() {
        "a relationship needs a child, an agency and a mention"
    } else if row.state != RELATIONSHIP_ESTABLISHED && row.state != RELATIONSHIP_HELD {
        "a relationship is established or held"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidAccess { reason })
}

fn check_notice(notice: &NewNotice) -> Result<(), StoreError> {
    if notice.detail.len() > NOTICE_DETAIL_BYTES_MAX {
        return Err(StoreError::InvalidAccess {
            reason: "a notice's detail is too long",
        });
    }
    Ok(())
}

fn insert_notice(conn: &mut dyn AlertConn, notice: &NewNotice) -> Result<NoticeRow, StoreError> {
    check_notice(notice)?;
    let rows = conn.query(
        INSERT_NOTICE,
        &[
            Param::Int(notice.at_us),
            Param::Text(&notice.kind),
            Param::Text(&notice.resource_key),
            Param::opt_text(notice.to_agency.as_deref()),
            Param::Text(&notice.about_agency),
            notice.about_user_id.map_or(Param::NullInt, Param::Int),
            Param::opt_text(notice.about_username.as_deref()),
            Param::Text(&notice.subject),
            Param::Text(&notice.detail),
            notice.to_user_id.map_or(Param::NullInt, Param::Int),
            Param::opt_text(notice.to_team.as_deref()),
        ],
    )?;
    let seq = int(rows.first().and_then(|row| row.first()))?;
    Ok(NoticeRow {
        seq,
        notice: notice.clone(),
    })
}

/// Appends relationships and their notices on `conn` (inside the caller's
/// transaction).
pub(crate) fn append_relationships_in(
    conn: &mut dyn AlertConn,
    rows: &[NewRelationship],
) -> Result<Vec<RelationshipRow>, StoreError> {
    for row in rows {
        check_relationship(row)?;
    }
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        let inserted = conn.query(
            INSERT_RELATIONSHIP,
            &[
                Param::Int(row.at_us),
                Param::Text(&row.child_id),
                Param::Text(&row.agency),
                Param::Text(&row.basis),
                Param::Text(&row.mention_key),
                Param::Text(&row.state),
                Param::Text(&row.source),
            ],
        )?;
        let seq = int(inserted.first().and_then(|cells| cells.first()))?;
        if let Notify::To(to_agency) = &row.notify {
            let kind = if row.state == RELATIONSHIP_ESTABLISHED {
                NOTICE_NEW_RELATIONSHIP
            } else {
                NOTICE_RELATIONSHIP_HELD
            };
            insert_notice(
                conn,
                &NewNotice {
                    at_us: row.at_us,
                    kind: kind.to_owned(),
                    resource_key: format!("child:{}", row.child_id),
                    to_agency: to_agency.clone(),
                    about_agency: row.agency.clone(),
                    about_user_id: None,
                    about_username: None,
                    subject: format!("relationship:{seq}"),
                    detail: row.basis.clone(),
                    to_user_id: None,
                    to_team: None,
                },
            )?;
        }
        stored.push(RelationshipRow {
            seq,
            at_us: row.at_us,
            child_id: row.child_id.clone(),
            agency: row.agency.clone(),
            basis: row.basis.clone(),
            mention_key: row.mention_key.clone(),
            state: row.state.clone(),
            source: row.source.clone(),
        });
    }
    Ok(stored)
}

pub(crate) fn relationships_in(
    conn: &mut dyn AlertConn,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<RelationshipRow>, StoreError> {
    let rows = conn.query(
        SELECT_RELATIONSHIPS,
        &[
            Param::Int(after_seq),
            Param::Int(crate::accounts::clamp(limit, ACCESS_READ_LIMIT_MAX)),
        ],
    )?;
    rows.iter()
        .map(|cells| {
            let mut cells = cells.iter();
            Ok(RelationshipRow {
                seq: int(cells.next())?,
                at_us: int(cells.next())?,
                child_id: text(cells.next())?,
                agency: text(cells.next())?,
                basis: text(cells.next())?,
                mention_key: text(cells.next())?,
                state: text(cells.next())?,
                source: text(cells.next())?,
            })
        })
        .collect()
}

pub(crate) fn append_notice_in(
    conn: &mut dyn AlertConn,
    notice: &NewNotice,
) -> Result<NoticeRow, StoreError> {
    insert_notice(conn, notice)
}

/// Appends `notice` on `conn` (inside the caller's write transaction) unless
/// the same user's notice of the same kind about the same resource was given
/// at or after `since_us`.
pub(crate) fn append_notice_once_since_in(
    conn: &mut dyn AlertConn,
    notice: &NewNotice,
    since_us: i64,
) -> Result<Option<NoticeRow>, StoreError> {
    let Some(user_id) = notice.about_user_id else {
        return Err(StoreError::InvalidAccess {
            reason: "a notice given once a day names the user it is about",
        });
    };
    let same = conn.query(
        SAME_NOTICE_SINCE,
        &[
            Param::Text(&notice.kind),
            Param::Text(&notice.resource_key),
            Param::Int(user_id),
            Param::Int(since_us),
        ],
    )?;
    if !same.is_empty() {
        return Ok(None);
    }
    insert_notice(conn, notice).map(Some)
}

pub(crate) fn notices_in(
    conn: &mut dyn AlertConn,
    filter: &NoticeFilter,
) -> Result<Vec<NoticeRow>, StoreError> {
    let mut sql = format!("SELECT {NOTICE_COLUMNS} FROM access_notices WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(agency) = &filter.to_agency {
        params.push(Param::Text(agency));
        sql.push_str(&format!(" AND to_agency = ${}", params.len()));
    }
    match (filter.to_user_id, &filter.to_team) {
        (Some(user_id), Some(team)) => {
            params.push(Param::Int(user_id));
            params.push(Param::Text(team));
            sql.push_str(&format!(
                " AND (to_user_id = ${} OR to_team = ${})",
                params.len() - 1,
                params.len()
            ));
        }
        (Some(user_id), None) => {
            params.push(Param::Int(user_id));
            sql.push_str(&format!(" AND to_user_id = ${}", params.len()));
        }
        (None, Some(team)) => {
            params.push(Param::Text(team));
            sql.push_str(&format!(" AND to_team = ${}", params.len()));
        }
        (None, None) => {}
    }
    if let Some(resource_key) = &filter.resource_key {
        params.push(Param::Text(resource_key));
        sql.push_str(&format!(" AND resource_key = ${}", params.len()));
    }
    if let Some(before) = filter.before_seq {
        params.push(Param::Int(before));
        sql.push_str(&format!(" AND seq < ${}", params.len()));
    }
    params.push(Param::Int(crate::accounts::clamp(
        filter.limit,
        ACCESS_READ_LIMIT_MAX,
    )));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", params.len()));
    let rows = conn.query(&sql, &params)?;
    rows.iter().map(|cells| read_notice(cells)).collect()
}

pub(crate) fn count_notices_in(
    conn: &mut dyn AlertConn,
    to_agency: Option<&str>,
    since_us: i64,
) -> Result<u64, StoreError> {
    let rows = match to_agency {
        Some(agency) => conn.query(
            "SELECT COUNT(*) FROM access_notices WHERE to_agency = $1 AND at_us >= $2",
            &[Param::Text(agency), Param::Int(since_us)],
        )?,
        None => conn.query(
            "SELECT COUNT(*) FROM access_notices WHERE at_us >= $1",
            &[Param::Int(since_us)],
        )?,
    };
    let count = int(rows.first().and_then(|row| row.first()))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(crate) fn count_notices_told_in(
    conn: &mut dyn AlertConn,
    to_user_id: i64,
    to_team: Option<&str>,
    since_us: i64,
) -> Result<u64, StoreError> {
    let rows = match to_team {
        Some(team) => conn.query(
            "SELECT COUNT(*) FROM access_notices WHERE (to_user_id = $1 OR to_team = $2) AND at_us >= $3",
            &[Param::Int(to_user_id), Param::Text(team), Param::Int(since_us)],
        )?,
        None => conn.query(
            "SELECT COUNT(*) FROM access_notices WHERE to_user_id = $1 AND at_us >= $2",
            &[Param::Int(to_user_id), Param::Int(since_us)],
        )?,
    };
    let count = int(rows.first().and_then(|row| row.first()))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

fn read_notice(cells: &[Cell]) -> Result<NoticeRow, StoreError> {
    let mut cells = cells.iter();
    Ok(NoticeRow {
        seq: int(cells.next())?,
        notice: NewNotice {
            at_us: int(cells.next())?,
            kind: text(cells.next())?,
            resource_key: text(cells.next())?,
            to_agency: opt_text(cells.next())?,
            about_agency: text(cells.next())?,
            about_user_id: opt_int(cells.next())?,
            about_username: opt_text(cells.next())?,
            subject: text(cells.next())?,
            detail: text(cells.next())?,
            to_user_id: opt_int(cells.next())?,
            to_team: opt_text(cells.next())?,
        },
    })
}
