//! Clerical review of record linkage: the append-only log of people's decisions
//! about pairs of person mentions ([`LinkageStore`], reached by
//! [`crate::Store::linkage`]), implemented by both backends with the same SQL.
//!
//! A merge or a split is the event of a `match` or `non_match` decision; undoing
//! it is a later decision about the same pair (`withdrawn`, or the opposite
//! verdict). Nothing is ever edited or removed, so every person the linkage ever
//! showed can be explained from the log of records and this log of decisions.
//!
//! - Invariant: `linkage_decisions` is append-only: triggers reject UPDATE and
//!   DELETE (and TRUNCATE in PostgreSQL).
//! - Invariant: a stored pair is in canonical order, `left_key < right_key` (byte
//!   order); [`LinkageStore::record_decision`] orders the keys it is given.
//! - Invariant: `seq` increases in insertion order; the effective verdict of a
//!   pair is that of its decision with the highest `seq`.

use crate::StoreError;

/// The most decisions one read returns; larger limits are clamped.
pub const DECISION_READ_LIMIT_MAX: u32 = 10_000;
/// The longest mention key accepted (`agency/record_id/ref`).
pub const MENTION_KEY_BYTES_MAX: usize = 512;
/// The longest actor name accepted.
pub const ACTOR_BYTES_MAX: usize = 128;
/// The longest reason accepted.
pub const REASON_BYTES_MAX: usize = 2_000;

/// What a person decided about two mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionVerdict {
    /// The same person: a merge.
    Match,
    /// Different people: a split.
    NonMatch,
    /// The earlier decision about this pair no longer stands; the model decides
    /// again.
    Withdrawn,
}

impl DecisionVerdict {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionVerdict::Match => "match",
            DecisionVerdict::NonMatch => "non_match",
            DecisionVerdict::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stable name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "match" => Some(DecisionVerdict::Match),
            "non_match" => Some(DecisionVerdict::NonMatch),
            "withdrawn" => Some(DecisionVerdict::Withdrawn),
            _ => None,
        }
    }
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLinkageDecision {
    /// One mention key (`agency/record_id/ref`).
    pub left_key: String,
    /// The other mention key.
    pub right_key: String,
    /// What was decided.
    pub verdict: DecisionVerdict,
    /// Who decided (a username, or `cli:<name>` from the command line).
    pub actor: String,
    /// Why, in their words.
    pub reason: String,
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
}

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageDecisionRow {
    /// Position in the decision log.
    pub seq: i64,
    /// The smaller mention key.
    pub left_key: String,
    /// The larger mention key.
    pub right_key: String,
    /// What was decided.
    pub verdict: DecisionVerdict,
    /// Who decided.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When, UTC microseconds since the epoch.
    pub at_us: i64,
}

/// The append-only log of linkage decisions.
pub trait LinkageStore: Send + Sync {
    /// Appends one decision (keys put in canonical order) and returns it as stored.
    fn record_decision(
        &self,
        decision: &NewLinkageDecision,
    ) -> Result<LinkageDecisionRow, StoreError>;
    /// Decisions with `seq > after_seq`, ascending, at most `limit` (clamped to
    /// [`DECISION_READ_LIMIT_MAX`]).
    fn decisions(&self, after_seq: i64, limit: u32) -> Result<Vec<LinkageDecisionRow>, StoreError>;
    /// Every decision naming `key` on either side, ascending by `seq`.
    fn decisions_for_key(&self, key: &str) -> Result<Vec<LinkageDecisionRow>, StoreError>;
}

/// Checks a decision and returns its keys in canonical order.
pub(crate) fn canonical_pair(decision: &NewLinkageDecision) -> Result<(&str, &str), StoreError> {
    let reason = if decision.left_key.is_empty() || decision.right_key.is_empty() {
        "a mention key is empty"
    } else if decision.left_key.len() > MENTION_KEY_BYTES_MAX
        || decision.right_key.len() > MENTION_KEY_BYTES_MAX
    {
        "a mention key is too long"
    } else if decision.left_key == decision.right_key {
        "a decision needs two different mentions"
    } else if decision.actor.trim().is_empty() || decision.actor.len() > ACTOR_BYTES_MAX {
        "the actor is empty or too long"
    } else if decision.reason.trim().is_empty() || decision.reason.len() > REASON_BYTES_MAX {
        "the reason is empty or too long"
    } else {
        let (left, right) = (decision.left_key.as_str(), decision.right_key.as_str());
        return Ok(if left < right {
            (left, right)
        } else {
            (right, left)
        });
    };
    Err(StoreError::InvalidDecision { reason })
}

/// Reads a stored verdict.
pub(crate) fn verdict_of(text: &str) -> Result<DecisionVerdict, StoreError> {
    DecisionVerdict::parse(text).ok_or(StoreError::Corrupt("unknown linkage verdict"))
}

// The SQL both backends run, with PostgreSQL placeholders.
pub(crate) const INSERT_DECISION: &str = "INSERT INTO linkage_decisions \
     (left_key, right_key, verdict, actor, reason, at_us) VALUES ($1, $2, $3, $4, $5, $6) \
     RETURNING seq";
pub(crate) const SELECT_DECISIONS: &str = "SELECT seq, left_key, right_key, verdict, actor, reason, at_us \
     FROM linkage_decisions WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const SELECT_DECISIONS_FOR_KEY: &str = "SELECT seq, left_key, right_key, verdict, actor, reason, at_us \
     FROM linkage_decisions WHERE left_key = $1 OR right_key = $1 ORDER BY seq";

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(left: &str, right: &str) -> NewLinkageDecision {
        NewLinkageDecision {
            left_key: left.into(),
            right_key: right.into(),
            verdict: DecisionVerdict::Match,
            actor: "lead.a".into(),
            reason: "same child, same school".into(),
            at_us: 1,
        }
    }

    #[test]
    fn pairs_are_ordered_and_checked() {
        assert_eq!(
            canonical_pair(&decision("police/9/c", "gp/1/c")).unwrap(),
            ("gp/1/c", "police/9/c")
        );
        assert!(canonical_pair(&decision("gp/1/c", "gp/1/c")).is_err());
        assert!(canonical_pair(&decision("", "gp/1/c")).is_err());
        let mut no_reason = decision("gp/1/c", "police/9/c");
        no_reason.reason = "  ".into();
        assert!(canonical_pair(&no_reason).is_err());
        for verdict in [
            DecisionVerdict::Match,
            DecisionVerdict::NonMatch,
            DecisionVerdict::Withdrawn,
        ] {
            assert_eq!(DecisionVerdict::parse(verdict.as_str()), Some(verdict));
        }
        assert_eq!(DecisionVerdict::parse("maybe"), None);
    }
}
