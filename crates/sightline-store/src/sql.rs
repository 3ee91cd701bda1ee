//! SQL text shared by both backends.

use crate::{LIST_RECORDS_LIMIT_MAX, RecordFilter};

/// The columns of `records`, in the order rows are read into a `StoredRecord`.
pub(crate) const RECORD_COLUMNS: &str = "seq, agency, record_id, version, kind, occurred_at, \
     occurred_start_us, recorded_at_us, received_at_us, content_hash, body";

/// One bound parameter of a list query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListParam<'a> {
    Text(&'a str),
    Int(i64),
}

/// A `list_records` query: SQL with numbered placeholders and its parameters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ListQuery<'a> {
    pub(crate) sql: String,
    pub(crate) params: Vec<ListParam<'a>>,
}

/// Builds the query for `filter`, with placeholders `?1` (SQLite) or `$1`
/// (PostgreSQL) depending on `placeholder_prefix`. Only the conditions present are
/// written, so the planner can use the `(agency, seq)` index.
/// `None` when the limit is 0 and there is nothing to ask.
pub(crate) fn list_query(filter: &RecordFilter, placeholder_prefix: char) -> Option<ListQuery<'_>> {
    if filter.limit == 0 {
        return None;
    }
    let mut params = vec![ListParam::Int(filter.after_seq.unwrap_or(i64::MIN))];
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE seq > {placeholder_prefix}1");
    if let Some(agency) = filter.agency.as_deref() {
        params.push(ListParam::Text(agency));
        sql.push_str(&format!(
            " AND agency = {placeholder_prefix}{}",
            params.len()
        ));
    }
    if let Some(kind) = filter.kind.as_deref() {
        params.push(ListParam::Text(kind));
        sql.push_str(&format!(" AND kind = {placeholder_prefix}{}", params.len()));
    }
    if let Some(received_since_us) = filter.received_since_us {
        params.push(ListParam::Int(received_since_us));
        sql.push_str(&format!(
            " AND received_at_us >= {placeholder_prefix}{}",
            params.len()
        ));
    }
    params.push(ListParam::Int(i64::from(
        filter.limit.min(LIST_RECORDS_LIMIT_MAX),
    )));
    sql.push_str(&format!(
        " ORDER BY seq LIMIT {placeholder_prefix}{}",
        params.len()
    ));
    Some(ListQuery { sql, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_writes_only_present_conditions() {
        let filter = RecordFilter {
            kind: Some("health.birth".into()),
            after_seq: Some(7),
            limit: 50_000,
            ..RecordFilter::default()
        };
        let query = list_query(&filter, '$');
        let expected_sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE seq > $1 AND kind = $2 ORDER BY seq LIMIT $3"
        );
        assert_eq!(
            query,
            Some(ListQuery {
                sql: expected_sql,
                params: vec![
                    ListParam::Int(7),
                    ListParam::Text("health.birth"),
                    ListParam::Int(i64::from(LIST_RECORDS_LIMIT_MAX)),
                ],
            })
        );
    }

    #[test]
    fn list_query_with_zero_limit_asks_nothing() {
        assert_eq!(list_query(&RecordFilter::default(), '?'), None);
    }
}
