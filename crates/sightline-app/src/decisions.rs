//! Decisions on alerts and what follows them: the closed vocabulary, its
//! validation, recording a decision (with the follow-up it sets), reopening a
//! decided alert, assigning an alert to a worker of its team, and recording a
//! follow-up done. The HTTP API and the web UI both call these.
//!
//! - Invariant: an alert is open until a person records one of [`DecisionKind`]
//!   with a reason of at least [`REASON_CHARS_MIN`] characters; the decision is
//!   an event of the alert (never deleted).
//! - Invariant: a decision of a strategy discussion, a visit, an assessment or
//!   medical records names who will carry it out (an active account of the
//!   decider's agency) and by when (today or later); it is stored as a follow-up
//!   that stays open until someone records it done.
//! - Invariant: reopening needs a decided alert and a reason as long as a
//!   decision's; assigning needs an open alert and a worker the alert is routed
//!   to ([`crate::work::routes_of`]).
//!
//! Who may do these things is not decided here: callers ask `sightline_access`
//! first (deciding, reopening and assigning are writes about the alert's child).

use crate::accounts::Account;
use crate::engine::DueTimes;
use crate::to_micros;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sightline_rules::Severity;
use sightline_store::{
    AlertRow, Assignment, Decision, FollowUpPlan, FollowUpRow, Reopening, Store, StoreError,
    UserRow,
};
use std::fmt;

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
            DecisionKind::Medical => "Medical records",
            DecisionKind::PoliceReferral => "Police referral",
            DecisionKind::NoFurtherAction => "No further action",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        DecisionKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// What someone must then do, for the decisions that set a follow-up.
    pub fn follow_up_words(self) -> Option<&'static str> {
        match self {
            DecisionKind::StrategyDiscussion => Some("Hold the strategy discussion"),
            DecisionKind::Visit => Some("Visit the child"),
            DecisionKind::Assessment => Some("Complete the assessment"),
            DecisionKind::Medical => Some("Obtain the medical records"),
            DecisionKind::ReferralToSocialCare
            | DecisionKind::PoliceReferral
            | DecisionKind::NoFurtherAction => None,
        }
    }

    /// Whether the decision names who will carry it out, and by when.
    pub fn needs_follow_up(self) -> bool {
        self.follow_up_words().is_some()
    }
}

/// The shortest reason accepted, in characters (a sentence, not "ok").
pub const REASON_CHARS_MIN: usize = 20;
/// The longest reason accepted, in characters.
pub const REASON_CHARS_MAX: usize = 10_000;

/// A field of the decision, reopening or assignment forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Decision,
    Reason,
    FollowUpOwner,
    FollowUpDue,
    Assignee,
}

impl Field {
    /// The field's name in forms and in the API's problems.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Decision => "decision",
            Field::Reason => "reason",
            Field::FollowUpOwner => "follow_up_owner",
            Field::FollowUpDue => "follow_up_due",
            Field::Assignee => "assignee",
        }
    }
}

/// What is wrong with a decision, a reopening, an assignment or a follow-up.
/// The messages are plain words a person can act on, shown by both surfaces.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("Select a decision")]
    UnknownDecision,
    #[error("Enter the reason for your decision")]
    EmptyReason,
    #[error("Give the reason in at least a sentence ({REASON_CHARS_MIN} characters or more)")]
    ReasonTooShort,
    #[error("Enter a shorter reason (at most 10,000 characters)")]
    ReasonTooLong,
    #[error("Select who will do it")]
    FollowUpOwnerMissing,
    #[error("Who will do it must be an active account of your agency")]
    FollowUpOwnerUnknown,
    #[error("Enter the date by which it will be done")]
    FollowUpDueMissing,
    #[error("The date by which it will be done must be today or later")]
    FollowUpDueInPast,
    #[error("Select someone of the team this alert is routed to")]
    AssigneeNotInTeam,
    #[error("no such alert")]
    NotFound,
    #[error("the alert is not open (already decided)")]
    NotOpen,
    #[error("the alert is open: there is no decision to reopen")]
    NotDecided,
    #[error("no such follow-up")]
    FollowUpNotFound,
    #[error("the follow-up was already recorded done")]
    FollowUpDone,
    #[error(transparent)]
    Store(StoreError),
}

impl DecisionError {
    /// The form field the problem is about, for problems with what was entered.
    pub fn field(&self) -> Option<Field> {
        match self {
            DecisionError::UnknownDecision => Some(Field::Decision),
            DecisionError::EmptyReason
            | DecisionError::ReasonTooShort
            | DecisionError::ReasonTooLong => Some(Field::Reason),
            DecisionError::FollowUpOwnerMissing | DecisionError::FollowUpOwnerUnknown => {
                Some(Field::FollowUpOwner)
            }
            DecisionError::FollowUpDueMissing | DecisionError::FollowUpDueInPast => {
                Some(Field::FollowUpDue)
            }
            DecisionError::AssigneeNotInTeam => Some(Field::Assignee),
            DecisionError::NotFound
            | DecisionError::NotOpen
            | DecisionError::NotDecided
            | DecisionError::FollowUpNotFound
            | DecisionError::FollowUpDone
            | DecisionError::Store(_) => None,
        }
    }
}

impl From<StoreError> for DecisionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AlertNotFound => DecisionError::NotFound,
            StoreError::AlertNotOpen => DecisionError::NotOpen,
            StoreError::AlertNotDecided => DecisionError::NotDecided,
            StoreError::FollowUpNotFound => DecisionError::FollowUpNotFound,
            StoreError::FollowUpDone => DecisionError::FollowUpDone,
            other => DecisionError::Store(other),
        }
    }
}

/// Every problem with what was submitted, one per field at most.
#[derive(Debug)]
pub struct Problems(pub Vec<DecisionError>);

impl fmt::Display for Problems {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        formatter.write_str(&messages.join("; "))
    }
}

/// Who will carry out a decision and by when, as submitted (the date already
/// read from the form's or the request's text; `None` when none was given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpRequest {
    /// A username; empty when none was chosen.
    pub owner: String,
    pub due: Option<NaiveDate>,
}

/// A decision checked against the vocabulary, with its trimmed reason and, for
/// the kinds that need one, its follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDecision {
    pub kind: DecisionKind,
    pub reason: String,
    pub follow_up: Option<(String, NaiveDate)>,
}

/// Checks a reason: present, at least [`REASON_CHARS_MIN`] and at most
/// [`REASON_CHARS_MAX`] characters once trimmed.
pub fn validate_reason(reason: &str) -> Result<String, DecisionError> {
    let reason = reason.trim();
    let n_chars = reason.chars().count();
    if n_chars == 0 {
        return Err(DecisionError::EmptyReason);
    }
    if n_chars < REASON_CHARS_MIN {
        return Err(DecisionError::ReasonTooShort);
    }
    if n_chars > REASON_CHARS_MAX {
        return Err(DecisionError::ReasonTooLong);
    }
    Ok(reason.to_owned())
}

/// Checks a decision as submitted on `today`: a known kind, a reason
/// ([`validate_reason`]), and for the kinds that need one a follow-up owner and
/// a date not before today. The follow-up of other kinds is ignored. Every
/// problem is reported, the reason checked even when the kind is unknown.
pub fn validate_decision(
    decision: &str,
    reason: &str,
    follow_up: &FollowUpRequest,
    today: NaiveDate,
) -> Result<ValidDecision, Problems> {
    let mut problems = Vec::new();
    let kind = DecisionKind::parse(decision.trim());
    if kind.is_none() {
        problems.push(DecisionError::UnknownDecision);
    }
    let reason = validate_reason(reason).map_err(|error| problems.push(error));
    let mut plan = None;
    if kind.is_some_and(DecisionKind::needs_follow_up) {
        let owner = follow_up.owner.trim();
        if owner.is_empty() {
            problems.push(DecisionError::FollowUpOwnerMissing);
        }
        match follow_up.due {
            None => problems.push(DecisionError::FollowUpDueMissing),
            Some(due) if due < today => problems.push(DecisionError::FollowUpDueInPast),
            Some(due) => plan = Some((owner.to_owned(), due)),
        }
    }
    match (kind, reason) {
        (Some(kind), Ok(reason)) if problems.is_empty() => Ok(ValidDecision {
            kind,
            reason,
            follow_up: plan,
        }),
        _ => Err(Problems(problems)),
    }
}

/// The instant a follow-up due on `day` is stored at (the start of that day,
/// UTC); a follow-up is overdue from the day after.
pub fn follow_up_due_at_us(day: NaiveDate) -> i64 {
    to_micros(day.and_time(NaiveTime::MIN).and_utc())
}

/// The day a follow-up is due, from its stored instant.
pub fn follow_up_due_day(row: &FollowUpRow) -> NaiveDate {
    crate::from_micros(row.due_at_us).date_naive()
}

/// The active account `username`, if there is one.
fn active_user(store: &dyn Store, username: &str) -> Result<Option<UserRow>, DecisionError> {
    Ok(store
        .accounts()
        .user_by_username(username)?
        .filter(|user| user.disabled_at_us.is_none()))
}

/// Validates and records a decision by `decider` on an open alert, with the
/// follow-up it sets (its owner an active account of the decider's agency).
pub fn record_decision(
    store: &dyn Store,
    alert_id: &str,
    decider: &Account,
    decision: &str,
    reason: &str,
    follow_up: &FollowUpRequest,
    now: DateTime<Utc>,
) -> Result<AlertRow, Problems> {
    let valid = validate_decision(decision, reason, follow_up, now.date_naive())?;
    let follow_up = match valid.follow_up {
        None => None,
        Some((owner, due)) => {
            let known = active_user(store, &owner).map_err(|error| Problems(vec![error]))?;
            if known.is_none_or(|user| user.agency != decider.agency.as_str()) {
                return Err(Problems(vec![DecisionError::FollowUpOwnerUnknown]));
            }
            Some(FollowUpPlan {
                owner,
                due_at_us: follow_up_due_at_us(due),
            })
        }
    };
    store
        .alerts()
        .decide(&Decision {
            alert_id: alert_id.to_owned(),
            actor: decider.username.clone(),
            decision: valid.kind.as_str().to_owned(),
            reason: valid.reason,
            at_us: to_micros(now),
            follow_up,
        })
        .map_err(|error| Problems(vec![error.into()]))
}

/// A person reopens a decided alert with a reason ([`validate_reason`]); a
/// decision is due again one period of its severity after `now` (`due`, the
/// engine's due times).
pub fn reopen_alert(
    store: &dyn Store,
    alert_id: &str,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
    due: &DueTimes,
) -> Result<AlertRow, DecisionError> {
    let reason = validate_reason(reason)?;
    let alert = store
        .alerts()
        .get(alert_id)?
        .ok_or(DecisionError::NotFound)?;
    let severity = Severity::parse(&alert.severity).unwrap_or(Severity::Critical);
    let due_at = due.period(severity).after(now);
    Ok(store.alerts().reopen(&Reopening {
        alert_id: alert_id.to_owned(),
        actor: actor.to_owned(),
        reason,
        at_us: to_micros(now),
        due_at_us: to_micros(due_at),
    })?)
}

/// Whether `user` can be assigned an alert routed to `routed_to`: an active
/// account the routing reaches ([`crate::work::routes_of`]).
pub fn may_hold(user: &UserRow, routed_to: &str) -> bool {
    user.disabled_at_us.is_none()
        && Account::from_row(user).is_ok_and(|account| {
            crate::work::routes_of(&account)
                .iter()
                .any(|route| route == routed_to)
        })
}

/// Assigns an open alert to `assignee` (a worker it is routed to, see
/// [`may_hold`]) or, with `None`, back to its team.
pub fn assign_alert(
    store: &dyn Store,
    alert_id: &str,
    assignee: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AlertRow, DecisionError> {
    let alert = store
        .alerts()
        .get(alert_id)?
        .ok_or(DecisionError::NotFound)?;
    if let Some(assignee) = assignee {
        let user = active_user(store, assignee)?;
        if !user.is_some_and(|user| may_hold(&user, &alert.routed_to)) {
            return Err(DecisionError::AssigneeNotInTeam);
        }
    }
    Ok(store.alerts().assign(&Assignment {
        alert_id: alert_id.to_owned(),
        assignee: assignee.map(str::to_owned),
        actor: actor.to_owned(),
        at_us: to_micros(now),
    })?)
}

/// Records a follow-up done by `actor`.
pub fn complete_follow_up(
    store: &dyn Store,
    follow_up_id: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<FollowUpRow, DecisionError> {
    Ok(store
        .alerts()
        .complete_follow_up(follow_up_id, actor, to_micros(now))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    const REASON: &str = "Seen at home with both parents; synthetic.";

    fn check(
        decision: &str,
        reason: &str,
        follow_up: (&str, Option<&str>),
        expected: Result<DecisionKind, &[&str]>,
    ) {
        let request = FollowUpRequest {
            owner: follow_up.0.to_owned(),
            due: follow_up.1.map(day),
        };
        let got = validate_decision(decision, reason, &request, day("2026-03-02"))
            .map(|valid| valid.kind)
            .map_err(|problems| {
                problems
                    .0
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            });
        let expected = expected.map_err(|messages| {
            messages
                .iter()
                .map(|message| (*message).to_owned())
                .collect::<Vec<_>>()
        });
        assert_eq!(got, expected, "{decision:?} {reason:?} {follow_up:?}");
    }

    #[test]
    fn the_vocabulary_a_sentence_and_a_follow_up_are_required() {
        check(
            "referral_to_social_care",
            REASON,
            ("", None),
            Ok(DecisionKind::ReferralToSocialCare),
        );
        check(
            " no_further_action ",
            "Explained by the hospital's report.",
            ("", None),
            Ok(DecisionKind::NoFurtherAction),
        );
        check(
            "visit",
            REASON,
            ("sw.one", Some("2026-03-02")),
            Ok(DecisionKind::Visit),
        );
        check(
            "no_further_action",
            "ok",
            ("", None),
            Err(&["Give the reason in at least a sentence (20 characters or more)"]),
        );
        check(
            "visit",
            "   ",
            ("sw.one", Some("2026-03-09")),
            Err(&["Enter the reason for your decision"]),
        );
        check(
            "Visit",
            "x",
            ("", None),
            Err(&[
                "Select a decision",
                "Give the reason in at least a sentence (20 characters or more)",
            ]),
        );
        check(
            "medical",
            &"x".repeat(REASON_CHARS_MAX + 1),
            ("sw.one", Some("2026-03-09")),
            Err(&["Enter a shorter reason (at most 10,000 characters)"]),
        );
        check(
            "strategy_discussion",
            REASON,
            ("", None),
            Err(&[
                "Select who will do it",
                "Enter the date by which it will be done",
            ]),
        );
        check(
            "assessment",
            REASON,
            ("sw.one", Some("2026-03-01")),
            Err(&["The date by which it will be done must be today or later"]),
        );
        // A sentence of 20 characters counts characters, not bytes.
        check(
            "no_further_action",
            &"é".repeat(REASON_CHARS_MIN),
            ("", None),
            Ok(DecisionKind::NoFurtherAction),
        );
        for kind in DecisionKind::ALL {
            assert_eq!(DecisionKind::parse(kind.as_str()), Some(kind));
        }
        let with_follow_up: Vec<&str> = DecisionKind::ALL
            .into_iter()
            .filter(|kind| kind.needs_follow_up())
            .map(DecisionKind::as_str)
            .collect();
        assert_eq!(
            with_follow_up,
            ["strategy_discussion", "visit", "assessment", "medical"]
        );
    }

    #[test]
    fn every_problem_names_its_field() {
        let problems =
            validate_decision("", "", &FollowUpRequest::default(), day("2026-03-02")).unwrap_err();
        let fields: Vec<_> = problems.0.iter().filter_map(DecisionError::field).collect();
        assert_eq!(fields, [Field::Decision, Field::Reason]);
        assert_eq!(
            follow_up_due_at_us(day("1970-01-02")),
            86_400 * 1_000_000,
            "a follow-up is due from the start of its day"
        );
    }
}
