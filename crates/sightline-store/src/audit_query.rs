//! The privacy officer's reads of the audit log and of break-glass grants:
//! filtered keyset pages (by user, resources, action and time, newest first,
//! through everything), the reasons given for grants, and the grants given since
//! a time (for the unusual-pattern flags). Written once over the connection
//! trait the alerts use; each backend only supplies the connection. Reached by
//! [`crate::Store::access`].
//!
//! - Invariant: a page is keyed by `seq` (`seq < before_seq`), so paging never
//!   repeats or skips an entry however many are appended meanwhile (appends
//!   take higher `seq`s).
//! - Invariant: a filter by many resource keys is asked in chunks of
//!   [`crate::accounts::AUDIT_KEYS_PER_QUERY`] keys, each chunk giving its own
//!   newest `limit`; the merged newest `limit` is then exactly the answer.

use crate::StoreError;
use crate::accounts::{AUDIT_KEYS_PER_QUERY, AUDIT_READ_LIMIT_MAX, AuditRow, clamp, newest_first};
use crate::alerts::{AlertConn, Cell, Param, int, opt_int, text};

/// The most resource keys one [`AuditQuery`] may name (a child with more
/// records than this is asked about in several queries by the caller).
pub const AUDIT_QUERY_KEYS_MAX: usize = 20_000;
/// The most grant ids one [`crate::AccessStore::grant_reasons`] call names.
pub const GRANT_IDS_MAX: usize = 1_000;

/// Which audit entries to read, newest first. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries of this actor (username as stored).
    pub actor_username: Option<String>,
    /// Only entries about one of these resource keys (at most
    /// [`AUDIT_QUERY_KEYS_MAX`]; an empty list matches nothing).
    pub resource_keys: Option<Vec<String>>,
    /// Only entries about a child (`child:...`).
    pub children_only: bool,
    /// Only entries of this action (view or action name as stored).
    pub action: Option<String>,
    /// Only entries with `at_us >= from_us`.
    pub from_us: Option<i64>,
    /// Only entries with `at_us < until_us`.
    pub until_us: Option<i64>,
    /// Only entries with `seq < before_seq` (the paging cursor).
    pub before_seq: Option<i64>,
    /// At most this many (clamped to [`AUDIT_READ_LIMIT_MAX`]).
    pub limit: u32,
}

/// A break-glass grant given, for counting (no reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantGiven {
    /// The grant's id.
    pub id: i64,
    /// Who broke glass.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// When.
    pub granted_at_us: i64,
}

const AUDIT_COLUMNS: &str = "seq, at_us, actor_user_id, actor_username, actor_role, actor_agency, \
     action, resource_key, basis, outcome, prev_hash, entry_hash";

fn bytes32(cell: Option<&Cell>) -> Result<[u8; 32], StoreError> {
    match cell {
        Some(Cell::Bytes(bytes)) => <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| StoreError::Corrupt("audit hash is not 32 bytes")),
        _ => Err(StoreError::Corrupt("audit hash is not bytes")),
    }
}

fn read_audit(cells: &[Cell]) -> Result<AuditRow, StoreError> {
    let mut cells = cells.iter();
    Ok(AuditRow {
        seq: int(cells.next())?,
        at_us: int(cells.next())?,
        actor_user_id: opt_int(cells.next())?,
        actor_username: text(cells.next())?,
        actor_role: text(cells.next())?,
        actor_agency: text(cells.next())?,
        action: text(cells.next())?,
        resource_key: text(cells.next())?,
        basis: text(cells.next())?,
        outcome: text(cells.next())?,
        prev_hash: bytes32(cells.next())?,
        entry_hash: bytes32(cells.next())?,
    })
}

/// One statement of `query` with `keys` (a chunk of its resource keys, if it
/// filters by them).
fn search_chunk(
    conn: &mut dyn AlertConn,
    query: &AuditQuery,
    keys: Option<&[String]>,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut params: Vec<Param<'_>> = Vec::new();
    if let Some(username) = &query.actor_username {
        params.push(Param::Text(username));
        sql.push_str(&format!(" AND actor_username = ${}", params.len()));
    }
    if let Some(keys) = keys {
        let mut placeholders = Vec::with_capacity(keys.len());
        for key in keys {
            params.push(Param::Text(key));
            placeholders.push(format!("${}", params.len()));
        }
        sql.push_str(&format!(
            " AND resource_key IN ({})",
            placeholders.join(", ")
        ));
    }
    if query.children_only {
        sql.push_str(" AND substr(resource_key, 1, 6) = 'child:'");
    }
    if let Some(action) = &query.action {
        params.push(Param::Text(action));
        sql.push_str(&format!(" AND action = ${}", params.len()));
    }
    if let Some(from_us) = query.from_us {
        params.push(Param::Int(from_us));
        sql.push_str(&format!(" AND at_us >= ${}", params.len()));
    }
    if let Some(until_us) = query.until_us {
        params.push(Param::Int(until_us));
        sql.push_str(&format!(" AND at_us < ${}", params.len()));
    }
    if let Some(before_seq) = query.before_seq {
        params.push(Param::Int(before_seq));
        sql.push_str(&format!(" AND seq < ${}", params.len()));
    }
    params.push(Param::Int(clamp(query.limit, AUDIT_READ_LIMIT_MAX)));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", params.len()));
    let rows = conn.query(&sql, &params)?;
    rows.iter().map(|cells| read_audit(cells)).collect()
}

pub(crate) fn audit_search_in(
    conn: &mut dyn AlertConn,
    query: &AuditQuery,
) -> Result<Vec<AuditRow>, StoreError> {
    let Some(keys) = &query.resource_keys else {
        return search_chunk(conn, query, None);
    };
    if keys.len() > AUDIT_QUERY_KEYS_MAX {
        return Err(StoreError::InvalidAccess {
            reason: "an audit query names too many resources",
        });
    }
    let mut found = Vec::new();
    for chunk in keys.chunks(AUDIT_KEYS_PER_QUERY) {
        found.extend(search_chunk(conn, query, Some(chunk))?);
    }
    Ok(newest_first(found, query.limit))
}

pub(crate) fn grant_reasons_in(
    conn: &mut dyn AlertConn,
    grant_ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    if grant_ids.len() > GRANT_IDS_MAX {
        return Err(StoreError::InvalidAccess {
            reason: "too many grants asked about at once",
        });
    }
    let mut reasons = Vec::with_capacity(grant_ids.len());
    for chunk in grant_ids.chunks(AUDIT_KEYS_PER_QUERY) {
        let params: Vec<Param<'_>> = chunk.iter().map(|id| Param::Int(*id)).collect();
        let placeholders: Vec<String> = (1..=chunk.len()).map(|idx| format!("${idx}")).collect();
        let sql = format!(
            "SELECT id, reason FROM break_glass_grants WHERE id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        for cells in conn.query(&sql, &params)? {
            let mut cells = cells.iter();
            reasons.push((int(cells.next())?, text(cells.next())?));
        }
    }
    Ok(reasons)
}

pub(crate) fn grants_since_in(
    conn: &mut dyn AlertConn,
    since_us: i64,
    after_id: i64,
    limit: u32,
) -> Result<Vec<GrantGiven>, StoreError> {
    let rows = conn.query(
        "SELECT g.id, g.user_id, u.username, g.granted_at_us FROM break_glass_grants g \
         JOIN users u ON u.id = g.user_id \
         WHERE g.granted_at_us >= $1 AND g.id > $2 ORDER BY g.id LIMIT $3",
        &[
            Param::Int(since_us),
            Param::Int(after_id),
            Param::Int(clamp(limit, AUDIT_READ_LIMIT_MAX)),
        ],
    )?;
    rows.iter()
        .map(|cells| {
            let mut cells = cells.iter();
            Ok(GrantGiven {
                id: int(cells.next())?,
                user_id: int(cells.next())?,
                username: text(cells.next())?,
                granted_at_us: int(cells.next())?,
            })
        })
        .collect()
}
