//! [`AlertStore`] on PostgreSQL: the shared alert logic over a pooled client.
//! `decide` and `escalate` run in their own transaction and lock the alert row
//! (`SELECT ... FOR UPDATE`), which also orders them against a record transaction
//! re-raising the same alert.

use postgres::types::{ToSql, Type};

use super::{PgConnection, PgStore};
use crate::StoreError;
use crate::alerts::{
    self, AlertConn, AlertCounts, AlertEventRow, AlertFilter, AlertRow, AlertStore, Assignment,
    Cell, Decision, Escalation, EvidenceRow, FollowUpFilter, FollowUpRow, Param, Reopening,
};

/// A PostgreSQL connection seen as an [`AlertConn`].
pub(crate) struct PgAlertConn<'a>(pub(crate) &'a mut PgConnection);

static NULL_TEXT: Option<&str> = None;
static NULL_INT: Option<i64> = None;

fn to_sql<'a>(param: &'a Param<'a>) -> &'a (dyn ToSql + Sync) {
    match param {
        Param::Int(int) => int,
        Param::Text(text) => text,
        Param::NullText => &NULL_TEXT,
        Param::NullInt => &NULL_INT,
        Param::Bytes(bytes) => bytes,
    }
}

impl AlertConn for PgAlertConn<'_> {
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(to_sql).collect();
        let rows = self.0.query(sql, &params)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(row.len());
            for (idx, column) in row.columns().iter().enumerate() {
                let cell = match *column.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(idx)?.map(Cell::Int),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(idx)?
                        .map(|int| Cell::Int(i64::from(int))),
                    Type::TEXT | Type::VARCHAR => {
                        row.try_get::<_, Option<String>>(idx)?.map(Cell::Text)
                    }
                    Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(idx)?.map(Cell::Bytes),
                    _ => return Err(StoreError::Corrupt("alert column has an unexpected type")),
                };
                cells.push(cell.unwrap_or(Cell::Null));
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(to_sql).collect();
        let statement = self.0.prepare_cached(sql)?;
        Ok(self.0.client.execute(&statement, &params)?)
    }

    fn lock_clause(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn lock_audit(&mut self) -> Result<(), StoreError> {
        self.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[Param::Int(super::accounts::AUDIT_LOCK_KEY)],
        )?;
        Ok(())
    }
}

impl PgStore {
    /// Runs `read` on a pooled connection (autocommit).
    pub(crate) fn alert_read<T>(
        &self,
        read: impl FnOnce(&mut dyn AlertConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut pooled = self.pool.get()?;
        let result = read(&mut PgAlertConn(pooled.connection_mut()?));
        if result.is_err() {
            pooled.broken = pooled
                .connection
                .as_ref()
                .is_none_or(|connection| connection.client.is_closed());
        }
        result
    }

    /// Runs `write` in its own transaction; commits on `Ok`, rolls back on `Err`.
    pub(crate) fn alert_write<T>(
        &self,
        write: impl FnOnce(&mut dyn AlertConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut pooled = self.pool.get()?;
        let connection = pooled.connection_mut()?;
        if let Err(error) = connection.client.batch_execute("BEGIN") {
            pooled.broken = true;
            return Err(error.into());
        }
        let result = write(&mut PgAlertConn(connection));
        let ended = match &result {
            Ok(_) => connection.client.batch_execute("COMMIT"),
            Err(_) => connection.client.batch_execute("ROLLBACK"),
        };
        match (result, ended) {
            (Ok(value), Ok(())) => Ok(value),
            (Err(error), ended) => {
                pooled.broken = ended.is_err();
                Err(error)
            }
            (Ok(_), Err(error)) => {
                pooled.broken = true;
                Err(error.into())
            }
        }
    }
}

impl AlertStore for PgStore {
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
