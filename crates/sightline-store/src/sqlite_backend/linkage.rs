//! [`LinkageStore`] on SQLite: small writes on a pooled connection (serialised
//! with every other writer of the file by SQLite's lock).

use rusqlite::{Row, params};

use super::SqliteStore;
use crate::StoreError;
use crate::accounts::clamp;
use crate::linkage::{
    DECISION_READ_LIMIT_MAX, INSERT_DECISION, LinkageDecisionRow, LinkageStore, NewLinkageDecision,
    SELECT_DECISIONS, SELECT_DECISIONS_FOR_KEY, canonical_pair, verdict_of,
};

/// PostgreSQL placeholders (`$1`) to SQLite's (`?1`).
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

type RawDecision = (LinkageDecisionRow, String);

fn read_decision(row: &Row<'_>) -> rusqlite::Result<RawDecision> {
    Ok((
        LinkageDecisionRow {
            seq: row.get(0)?,
            left_key: row.get(1)?,
            right_key: row.get(2)?,
            verdict: crate::linkage::DecisionVerdict::Withdrawn,
            actor: row.get(4)?,
            reason: row.get(5)?,
            at_us: row.get(6)?,
        },
        row.get(3)?,
    ))
}

fn finish(
    rows: impl Iterator<Item = rusqlite::Result<RawDecision>>,
) -> Result<Vec<LinkageDecisionRow>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let (mut decision, verdict) = row?;
        decision.verdict = verdict_of(&verdict)?;
        out.push(decision);
    }
    Ok(out)
}

impl LinkageStore for SqliteStore {
    fn record_decision(
        &self,
        decision: &NewLinkageDecision,
    ) -> Result<LinkageDecisionRow, StoreError> {
        let (left_key, right_key) = canonical_pair(decision)?;
        let pooled = self.pooled()?;
        let seq: i64 = pooled
            .get()?
            .prepare_cached(&sqlite(INSERT_DECISION))?
            .query_row(
                params![
                    left_key,
                    right_key,
                    decision.verdict.as_str(),
                    decision.actor,
                    decision.reason,
                    decision.at_us
                ],
                |row| row.get(0),
            )?;
        Ok(LinkageDecisionRow {
            seq,
            left_key: left_key.to_owned(),
            right_key: right_key.to_owned(),
            verdict: decision.verdict,
            actor: decision.actor.clone(),
            reason: decision.reason.clone(),
            at_us: decision.at_us,
        })
    }

    fn decisions(&self, after_seq: i64, limit: u32) -> Result<Vec<LinkageDecisionRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(SELECT_DECISIONS))?;
        let rows = statement.query_map(
            params![after_seq, clamp(limit, DECISION_READ_LIMIT_MAX)],
            read_decision,
        )?;
        finish(rows)
    }

    fn decisions_for_key(&self, key: &str) -> Result<Vec<LinkageDecisionRow>, StoreError> {
        let pooled = self.pooled()?;
        let connection = pooled.get()?;
        let mut statement = connection.prepare_cached(&sqlite(SELECT_DECISIONS_FOR_KEY))?;
        let rows = statement.query_map(params![key], read_decision)?;
        finish(rows)
    }
}
