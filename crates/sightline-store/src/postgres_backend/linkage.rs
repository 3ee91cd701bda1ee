//! [`LinkageStore`] on PostgreSQL.

use postgres::Row;

use super::PgStore;
use crate::StoreError;
use crate::accounts::clamp;
use crate::linkage::{
    DECISION_READ_LIMIT_MAX, INSERT_DECISION, LinkageDecisionRow, LinkageStore, NewLinkageDecision,
    SELECT_DECISIONS, SELECT_DECISIONS_FOR_KEY, canonical_pair, verdict_of,
};

fn read_decision(row: &Row) -> Result<LinkageDecisionRow, StoreError> {
    let verdict: String = row.try_get(3)?;
    Ok(LinkageDecisionRow {
        seq: row.try_get(0)?,
        left_key: row.try_get(1)?,
        right_key: row.try_get(2)?,
        verdict: verdict_of(&verdict)?,
        actor: row.try_get(4)?,
        reason: row.try_get(5)?,
        at_us: row.try_get(6)?,
    })
}

impl LinkageStore for PgStore {
    fn record_decision(
        &self,
        decision: &NewLinkageDecision,
    ) -> Result<LinkageDecisionRow, StoreError> {
        let (left_key, right_key) = canonical_pair(decision)?;
        let rows = self.rows(
            INSERT_DECISION,
            &[
                &left_key,
                &right_key,
                &decision.verdict.as_str(),
                &decision.actor,
                &decision.reason,
                &decision.at_us,
            ],
        )?;
        let seq: i64 = rows
            .first()
            .ok_or(StoreError::Corrupt("insert returned no seq"))?
            .try_get(0)?;
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
        self.rows(
            SELECT_DECISIONS,
            &[&after_seq, &clamp(limit, DECISION_READ_LIMIT_MAX)],
        )?
        .iter()
        .map(read_decision)
        .collect()
    }

    fn decisions_for_key(&self, key: &str) -> Result<Vec<LinkageDecisionRow>, StoreError> {
        self.rows(SELECT_DECISIONS_FOR_KEY, &[&key])?
            .iter()
            .map(read_decision)
            .collect()
    }
}
