//! Decisions on alerts: the closed vocabulary, its validation, and recording one.
//! The HTTP API and the web UI both call [`record_decision`].
//!
//! Invariant: an alert is open until a person records one of [`DecisionKind`]
//! with a non-empty reason; the decision is an event of the alert (never deleted).

use crate::to_micros;
use chrono::{DateTime, Utc};
use sightline_store::{AlertRow, Decision, Store, StoreError};

/// The decisions a person may record on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    StrategyDiscussion,
    ReferralToSocialCare,
    Visit,
    Assessment,
    Medical,
    PoliceReferral,
    NoFurtherAction,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 7] = [
        DecisionKind::StrategyDiscussion,
        DecisionKind::ReferralToSocialCare,
        DecisionKind::Visit,
        DecisionKind::Assessment,
        DecisionKind::Medical,
        DecisionKind::PoliceReferral,
        DecisionKind::NoFurtherAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::StrategyDiscussion => "strategy_discussion",
            DecisionKind::ReferralToSocialCare => "referral_to_social_care",
            DecisionKind::Visit => "visit",
            DecisionKind::Assessment => "assessment",
            DecisionKind::Medical => "medical",
            DecisionKind::PoliceReferral => "police_referral",
            DecisionKind::NoFurtherAction => "no_further_action",
        }
    }

    /// Plain words for a form.
    pub fn label(self) -> &'static str {
        match self {
            DecisionKind::StrategyDiscussion => "Strategy discussion",
            DecisionKind::ReferralToSocialCare => "Referral to social care",
            DecisionKind::Visit => "Visit",
            DecisionKind::Assessment => "Assessment",
            DecisionKind::Medical => "Medical",
            DecisionKind::PoliceReferral => "Police referral",
            DecisionKind::NoFurtherAction => "No further action",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        DecisionKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The longest reason accepted, in characters.
pub const REASON_CHARS_MAX: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("unknown decision; use one of: {}", DecisionKind::ALL.map(DecisionKind::as_str).join(", "))]
    UnknownDecision,
    #[error("a reason is required")]
    EmptyReason,
    #[error("the reason is over {REASON_CHARS_MAX} characters")]
    ReasonTooLong,
    #[error("no such alert")]
    NotFound,
    #[error("the alert is not open (already decided)")]
    NotOpen,
    #[error(transparent)]
    Store(StoreError),
}

/// A decision checked against the vocabulary, with its trimmed reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDecision {
    pub kind: DecisionKind,
    pub reason: String,
}

/// Checks a decision as submitted: a known kind and a non-empty reason of at most
/// [`REASON_CHARS_MAX`] characters.
pub fn validate_decision(decision: &str, reason: &str) -> Result<ValidDecision, DecisionError> {
    let kind = DecisionKind::parse(decision.trim()).ok_or(DecisionError::UnknownDecision)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DecisionError::EmptyReason);
    }
    if reason.chars().count() > REASON_CHARS_MAX {
        return Err(DecisionError::ReasonTooLong);
    }
    Ok(ValidDecision {
        kind,
        reason: reason.to_owned(),
    })
}

/// Validates and records a decision by `actor` (a username) on an open alert.
pub fn record_decision(
    store: &dyn Store,
    alert_id: &str,
    actor: &str,
    decision: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AlertRow, DecisionError> {
    let valid = validate_decision(decision, reason)?;
    store
        .alerts()
        .decide(&Decision {
            alert_id: alert_id.to_owned(),
            actor: actor.to_owned(),
            decision: valid.kind.as_str().to_owned(),
            reason: valid.reason,
            at_us: to_micros(now),
        })
        .map_err(|error| match error {
            StoreError::AlertNotFound => DecisionError::NotFound,
            StoreError::AlertNotOpen => DecisionError::NotOpen,
            other => DecisionError::Store(other),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(decision: &str, reason: &str, expected: Result<DecisionKind, &str>) {
        let got = validate_decision(decision, reason)
            .map(|valid| valid.kind)
            .map_err(|error| error.to_string());
        assert_eq!(
            got,
            expected.map_err(str::to_owned),
            "{decision:?} {reason:?}"
        );
    }

    #[test]
    fn the_vocabulary_and_a_reason_are_required() {
        check("visit", "Seen at home", Ok(DecisionKind::Visit));
        check(
            " no_further_action ",
            "Explained",
            Ok(DecisionKind::NoFurtherAction),
        );
        check("visit", "   ", Err("a reason is required"));
        check(
            "Visit",
            "x",
            Err(
                "unknown decision; use one of: strategy_discussion, referral_to_social_care, visit, assessment, medical, police_referral, no_further_action",
            ),
        );
        check(
            "",
            "x",
            Err(
                "unknown decision; use one of: strategy_discussion, referral_to_social_care, visit, assessment, medical, police_referral, no_further_action",
            ),
        );
        check(
            "medical",
            &"x".repeat(REASON_CHARS_MAX + 1),
            Err("the reason is over 10000 characters"),
        );
        for kind in DecisionKind::ALL {
            assert_eq!(DecisionKind::parse(kind.as_str()), Some(kind));
        }
    }
}
