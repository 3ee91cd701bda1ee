//! [`AlertStore`] on SQLite: the shared alert logic over a rusqlite connection.
//! Reads use the pool; `decide` and `escalate` take the writer connection and
//! `BEGIN IMMEDIATE`, like a record append.

use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};

use super::SqliteStore;
use crate::StoreError;
use crate::alerts::{
    self, AlertConn, AlertCounts, AlertEventRow, AlertFilter, AlertRow, AlertStore, Assignment,
    Cell, Decision, Escalation, EvidenceRow, FollowUpFilter, FollowUpRow, Param, Reopening,
};

/// A SQLite connection seen as an [`AlertConn`]. `$n` placeholders become `?n`.
pub(crate) struct SqliteAlertConn<'a>(pub(crate) &'a Connection);

fn value(param: &Param<'_>) -> Value {
    match param {
        Param::Int(int) => Value::Integer(*int),
        Param::Text(text) => Value::Text((*text).to_owned()),
        Param::NullText | Param::NullInt => Value::Null,
        Param::Bytes(bytes) => Value::Blob(bytes.to_vec()),
    }
}

impl AlertConn for SqliteAlertConn<'_> {
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let mut statement = self.0.prepare_cached(&sql.replace('$', "?"))?;
        let n_columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter().map(value)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(n_columns);
            for idx in 0..n_columns {
                cells.push(match row.get_ref(idx)? {
                    ValueRef::Integer(int) => Cell::Int(int),
                    ValueRef::Text(bytes) => Cell::Text(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| StoreError::Corrupt("alert text is not UTF-8"))?,
                    ),
                    ValueRef::Null => Cell::Null,
                    ValueRef::Blob(bytes) => Cell::Bytes(bytes.to_vec()),
                    ValueRef::Real(_) => {
                        return Err(StoreError::Corrupt("alert column has an unexpected type"));
                    }
                });
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let n_changed = self
            .0
            .prepare_cached(&sql.replace('$', "?"))?
            .execute(rusqlite::params_from_iter(params.iter().map(value)))?;
        Ok(u64::try_from(n_changed).unwrap_or(u64::MAX))
    }

    fn lock_clause(&self) -> &'static str {
        ""
    }

    fn lock_audit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl SqliteStore {
    /// Runs `read` on a pooled connection.
    pub(crate) fn alert_read<T>(
        &self,
        read: impl FnOnce(&mut dyn AlertConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.pooled()?;
        read(&mut SqliteAlertConn(pooled.get()?))
    }

    /// Runs `write` in its own `BEGIN IMMEDIATE` transaction on the writer
    /// connection; commits on `Ok`, rolls back on `Err`.
    pub(crate) fn alert_write<T>(
        &self,
        write: impl FnOnce(&mut dyn AlertConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = self.begin_writer()?;
        match write(&mut SqliteAlertConn(&connection)) {
            Ok(value) => {
                self.commit_writer(&connection)?;
                Ok(value)
            }
            Err(error) => {
                // If this fails, the next writer sees the open transaction and rolls it back.
                let _ = connection.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }
}

impl AlertStore for SqliteStore {
    fn get(&self, id: &str) -> Result<Option<AlertRow>, StoreError> {
        self.alert_read(|conn| alerts::get_in(conn, id))
    }

    fn evidence(&self, id: &str) -> Result<Vec<EvidenceRow>, StoreError> {
        self.alert_read(|conn| alerts::evidence_in(conn, id))
    }

    fn events(&self, id: &str) -> Result<Vec<AlertEventRow>, StoreError> {
        self.alert_read(|conn| alerts::events_in(conn, id))
    }

    fn list(&self, filter: &AlertFilter) -> Result<Vec<AlertRow>, StoreError> {
        self.alert_read(|conn| alerts::list_in(conn, filter))
    }

    fn count(&self, filter: &AlertFilter) -> Result<u64, StoreError> {
        self.alert_read(|conn| alerts::count_in(conn, filter))
    }

    fn counts(&self, filter: &AlertFilter) -> Result<AlertCounts, StoreError> {
        self.alert_read(|conn| alerts::counts_in(conn, filter))
    }

    fn rule_counts(&self, filter: &AlertFilter) -> Result<Vec<(String, u64)>, StoreError> {
        self.alert_read(|conn| alerts::rule_counts_in(conn, filter))
    }

    fn decide(&self, decision: &Decision) -> Result<AlertRow, StoreError> {
        self.alert_write(|conn| alerts::decide_in(conn, decision))
    }

    fn assign(&self, assignment: &Assignment) -> Result<AlertRow, StoreError> {
        self.alert_write(|conn| alerts::assign_in(conn, assignment))
    }

    fn reopen(&self, reopening: &Reopening) -> Result<AlertRow, StoreError> {
        self.alert_write(|conn| alerts::reopen_in(conn, reopening))
    }

    fn follow_ups(&self, filter: &FollowUpFilter) -> Result<Vec<FollowUpRow>, StoreError> {
        self.alert_read(|conn| alerts::follow_ups_in(conn, filter))
    }

    fn count_follow_ups(&self, filter: &FollowUpFilter) -> Result<u64, StoreError> {
        self.alert_read(|conn| alerts::count_follow_ups_in(conn, filter))
    }

    fn follow_ups_of(&self, alert_id: &str) -> Result<Vec<FollowUpRow>, StoreError> {
        self.alert_read(|conn| alerts::follow_ups_of_in(conn, alert_id))
    }

    fn follow_up(&self, id: i64) -> Result<Option<FollowUpRow>, StoreError> {
        self.alert_read(|conn| alerts::follow_up_in(conn, id))
    }

    fn complete_follow_up(
        &self,
        id: i64,
        actor: &str,
        at_us: i64,
    ) -> Result<FollowUpRow, StoreError> {
        self.alert_write(|conn| alerts::complete_follow_up_in(conn, id, actor, at_us))
    }

    fn escalate(
        &self,
        id: &str,
        new_level: i64,
        routed_to: &str,
        new_due_at_us: i64,
        at_us: i64,
        detail: Option<&str>,
    ) -> Result<AlertRow, StoreError> {
        let escalation = Escalation {
            id,
            new_level,
            routed_to,
            new_due_at_us,
            at_us,
            detail,
        };
        self.alert_write(|conn| alerts::escalate_in(conn, &escalation))
    }

    fn reroute(
        &self,
        id: &str,
        routed_to: &str,
        at_us: i64,
        detail: Option<&str>,
    ) -> Result<AlertRow, StoreError> {
        self.alert_write(|conn| alerts::reroute_in(conn, id, routed_to, at_us, detail))
    }

    fn overdue(&self, now_us: i64, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
        self.alert_read(|conn| alerts::overdue_in(conn, now_us, limit))
    }
}
