//! The relationships an access decision is asked with: what puts a child, a
//! record or an alert in someone's work (the model is in ARCHITECTURE.md,
//! "The access model"). One place gathers them for every page, API call and
//! command, so the web UI and the API cannot disagree.
//!
//! - the agencies whose records established a relationship with the child
//!   ([`crate::Engine::agency_relationships`]);
//! - need-to-know follows the alert: the team or role an alert about the child
//!   is routed to (and so that team's managers), while the alert is open and for
//!   [`crate::relationships::RelationshipPolicy::alert_days_after_decision`]
//!   after its decision. The same alert lets them read its evidence records. The
//!   audit names the alert as the basis (`routed_alert:a-…`, "routed alert
//!   a-…" in words).
//!
//! Deciding an alert is asked of [`decide_alert`]: only those the open alert is
//! routed to, whatever else they have with the child.

use crate::Engine;
use crate::accounts::{Account, BreakGlassTarget};
use crate::relationships::RelationshipPolicy;
use chrono::{DateTime, Utc};
use sightline_access::{AccessContext, Action, Decision, Relationship, Resource};
use sightline_core::AgencyId;
use sightline_store::{AlertFilter, AlertRow, STATUS_OPEN, Store, StoreError};

/// Most alerts about one child (or citing one record) read for a decision.
pub const ALERTS_READ_MAX: u32 = 1_000;

const DAY_US: i64 = 24 * 60 * 60 * 1_000_000;

/// The relationship an alert gives those it is routed to, if it still counts
/// at `now_us`: open, or decided less than the policy's days ago.
pub fn routed_alert(
    alert_id: &str,
    routed_to: &str,
    status: &str,
    decided_at_us: Option<i64>,
    policy: &RelationshipPolicy,
    now_us: i64,
) -> Option<Relationship> {
    let until_us = if status == STATUS_OPEN {
        None
    } else {
        let until = decided_at_us?
            .saturating_add(i64::from(policy.alert_days_after_decision).saturating_mul(DAY_US));
        if until <= now_us {
            return None;
        }
        Some(until)
    };
    Some(Relationship::RoutedAlert {
        alert_id: alert_id.to_owned(),
        routed_to: routed_to.to_owned(),
        until_us,
    })
}

fn of_row(row: &AlertRow, policy: &RelationshipPolicy, now_us: i64) -> Option<Relationship> {
    routed_alert(
        &row.id,
        &row.routed_to,
        &row.status,
        row.decided_at_us,
        policy,
        now_us,
    )
}

/// Every relationship with the child: the agencies established with it and the
/// routes of its alerts that still count at `now`.
pub fn child_relationships(
    store: &dyn Store,
    engine: &Engine,
    child_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Relationship>, StoreError> {
    let now_us = crate::to_micros(now);
    let policy = engine.config().relationships;
    let mut relationships: Vec<Relationship> = engine
        .agency_relationships(child_id)
        .into_iter()
        .filter_map(|(agency, seq)| {
            Some(Relationship::AgencyRecord {
                agency: AgencyId::parse(&agency).ok()?,
                seq,
            })
        })
        .collect();
    let alerts = store.alerts().list(&AlertFilter {
        child_id: Some(child_id.to_owned()),
        limit: ALERTS_READ_MAX,
        ..AlertFilter::default()
    })?;
    relationships.extend(alerts.iter().filter_map(|row| of_row(row, &policy, now_us)));
    Ok(relationships)
}

/// The relationships with one record: the routes of the alerts citing it as
/// evidence that still count at `now`.
pub fn record_relationships(
    store: &dyn Store,
    policy: &RelationshipPolicy,
    agency: &str,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Relationship>, StoreError> {
    let now_us = crate::to_micros(now);
    Ok(store
        .access()
        .alerts_citing(agency, record_id, ALERTS_READ_MAX)?
        .iter()
        .filter_map(|alert| {
            routed_alert(
                &alert.alert_id,
                &alert.routed_to,
                &alert.status,
                alert.decided_at_us,
                policy,
                now_us,
            )
        })
        .collect())
}

/// Whether `account` may decide (or reopen) `alert`: only the team or role the
/// open alert is routed to (a team's managers are of the team). Audited as
/// `decide_alert` on `alert:ID`, with the alert as the basis.
pub fn decide_alert(
    store: &dyn Store,
    account: &Account,
    alert: &AlertRow,
    now: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    let context = AccessContext {
        relationships: vec![Relationship::RoutedAlert {
            alert_id: alert.id.clone(),
            routed_to: alert.routed_to.clone(),
            until_us: None,
        }],
        grants: Vec::new(),
        restriction: None,
    };
    // A decided alert is not open: reopening is asked of the same routing,
    // so the check is on the route alone.
    crate::audit::authorize_and_record(
        store,
        account,
        Action::DecideAlert,
        &Resource::Alert(alert.id.clone()),
        &context,
        now,
    )
}

/// Whether `account` may decide `alert`, without recording anything: for
/// showing or hiding a form. The decision itself goes through [`decide_alert`].
pub fn may_decide_alert(account: &Account, alert: &AlertRow, now: DateTime<Utc>) -> bool {
    alert.status == STATUS_OPEN && may_act_on_alert(account, alert, now)
}

/// Whether `account` is of the team or role `alert` is routed to, whatever its
/// status (reopening, assigning), without recording anything: for showing or
/// hiding a form. The act itself goes through [`decide_alert`].
pub fn may_act_on_alert(account: &Account, alert: &AlertRow, now: DateTime<Utc>) -> bool {
    sightline_access::authorize(
        &account.actor(),
        Action::DecideAlert,
        &Resource::Alert(alert.id.clone()),
        &AccessContext {
            relationships: vec![Relationship::RoutedAlert {
                alert_id: alert.id.clone(),
                routed_to: alert.routed_to.clone(),
                until_us: None,
            }],
            grants: Vec::new(),
            restriction: None,
        },
        crate::to_micros(now),
    )
    .is_full()
}

/// What a break-glass request on `resource` is for: whether it exists (a
/// child the engine knows, a stored record: nobody breaks glass on nothing,
/// issue #15 finding 8) and whom to tell (the child's lead agency, the
/// record's agency).
pub fn break_glass_target(
    store: &dyn Store,
    engine: &Engine,
    resource: &Resource,
) -> Result<BreakGlassTarget, StoreError> {
    let restriction = match resource {
        Resource::Record { agency, record_id } => {
            crate::controls::restriction_of(store, agency.as_str(), record_id)?
        }
        _ => None,
    };
    let (exists, tell_agency) = match resource {
        Resource::Child(child_id) => {
            let exists = engine
                .facts()
                .get(child_id)
                .is_some_and(|facts| facts.is_child);
            (exists, engine.lead_agency(child_id).filter(|_| exists))
        }
        Resource::Record { agency, record_id } => {
            let exists = !store
                .record_versions(agency.as_str(), record_id)?
                .is_empty();
            (exists, Some(agency.as_str().to_owned()).filter(|_| exists))
        }
        Resource::Service | Resource::Agency(_) | Resource::Alert(_) => (false, None),
    };
    Ok(BreakGlassTarget {
        resource: resource.clone(),
        exists,
        tell_agency,
        restriction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decided_alert_counts_for_the_policy_days_after_its_decision() {
        let policy = RelationshipPolicy::default();
        let decided_at = 1_000 * DAY_US;
        let routed = |now_us| {
            routed_alert(
                "a-1",
                "team:riverside-la/duty",
                "decided",
                Some(decided_at),
                &policy,
                now_us,
            )
        };
        let last = decided_at + i64::from(policy.alert_days_after_decision) * DAY_US;
        assert!(matches!(
            routed(last - 1),
            Some(Relationship::RoutedAlert { until_us: Some(until), .. }) if until == last
        ));
        assert_eq!(routed(last), None);
        assert!(matches!(
            routed_alert("a-1", "team:x/duty", STATUS_OPEN, None, &policy, i64::MAX),
            Some(Relationship::RoutedAlert { until_us: None, .. })
        ));
    }
}
