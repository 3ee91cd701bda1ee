//! Restriction of a record and legal hold (issue #18 items 4 and 5): the
//! operations the web UI, the API and the command line share.
//!
//! **Restriction.** A team manager or safeguarding lead of a record's agency
//! restricts the record to named casework roles (optionally at their own agency
//! only), with a reason of a sentence: the duty to share's exception, that
//! sharing would be more detrimental to the child. It is honoured by
//! [`sightline_access::authorize`] for the record itself (the restriction rides
//! in the [`AccessContext`], [`restriction_of`]) and, for pages that show a
//! child's records together, by [`withheld_from`]: the records whose
//! restriction does not admit the reader, which those pages leave out. The
//! rules still read a restricted record (an alert is not withheld); its
//! evidence shows "restricted record" to those outside the roles.
//!
//! **Legal hold.** A hold on a child or a person (a case review, court
//! proceedings, an inquiry) blocks retention and erasure until it is released:
//! whatever expires or erases asks [`is_on_hold`] first.
//!
//! - Invariant: restricting, lifting, placing and releasing are each one
//!   append-only event (who, when, why) and one audit entry
//!   (`record_restricted`, `record_unrestricted`, `legal_hold_placed`,
//!   `legal_hold_released`, basis `restriction:SEQ` or `hold:SEQ`).
//! - Invariant: a restriction is in force from its event until a later lift;
//!   the latest event of a record decides.

use crate::accounts::Account;
use crate::audit::{self, AuditActor};
use chrono::{DateTime, Utc};
use sightline_access::{AccessContext, Action, BreakGlassReason, Resource, Restriction, Role};
use sightline_core::AgencyId;
use sightline_store::{
    CONTROLS_READ_LIMIT_MAX, HOLD_PLACED, HOLD_RELEASED, HoldRow, LIFTED, NewHold, NewRestriction,
    RESTRICTED, RestrictionRow, Store, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

/// The category a subject access bundle gives for a restricted record it
/// withholds (the Act's exception; the agency's own reason stays with it).
pub const RESTRICTION_CATEGORY: &str =
    "restricted by its agency: sharing would be more detrimental to the child";

/// Who restricts, lifts, places or releases.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// A signed-in user (web or API), decided by `authorize`.
    Account(&'a Account),
    /// An operator at the command line (holds the database; audited as `cli`).
    Operator,
}

impl By<'_> {
    fn audit_actor(&self) -> AuditActor {
        match self {
            By::Account(account) => AuditActor::of(account),
            By::Operator => AuditActor::cli(),
        }
    }

    fn user_id(&self) -> Option<i64> {
        match self {
            By::Account(account) => Some(account.id),
            By::Operator => None,
        }
    }
}

/// What can go wrong restricting or holding. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Not a manager or lead of the record's agency.
    #[error("only a team manager or safeguarding lead of the record's agency may restrict it")]
    Forbidden,
    /// Not the privacy officer (placing or releasing a legal hold).
    #[error("only the privacy officer may place or release a legal hold")]
    HoldForbidden,
    /// No such record (or child, or person).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The reason is not a sentence.
    #[error("{0}")]
    BadReason(&'static str),
    /// No roles, or a role that is not a casework role.
    #[error("name one or more of practitioner, team_manager, safeguarding_lead")]
    BadRoles,
    /// Lifting a restriction that is not in force (or releasing a hold).
    #[error("{0}")]
    NotInForce(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The roles a restriction may name: casework roles, parsed from their stable
/// names, each once.
pub fn parse_roles<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Role>, ControlError> {
    let mut roles = BTreeSet::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let role = Role::parse(name).map_err(|_| ControlError::BadRoles)?;
        if !role.does_casework() {
            return Err(ControlError::BadRoles);
        }
        roles.insert(role);
    }
    if roles.is_empty() {
        return Err(ControlError::BadRoles);
    }
    Ok(roles.into_iter().collect())
}

fn restriction_of_row(row: &RestrictionRow) -> Option<Restriction> {
    if row.event.state != RESTRICTED {
        return None;
    }
    Some(Restriction {
        agency: AgencyId::parse(&row.event.agency).ok()?,
        // A role the access model no longer knows admits nobody.
        roles: row
            .event
            .roles
            .iter()
            .filter_map(|name| Role::parse(name).ok())
            .collect(),
        own_agency_only: row.event.own_agency_only,
    })
}

/// The restriction in force on a record, if any: put it in the
/// [`AccessContext`] of every decision about the record.
pub fn restriction_of(
    store: &dyn Store,
    agency: &str,
    record_id: &str,
) -> Result<Option<Restriction>, StoreError> {
    Ok(store
        .access()
        .restriction_events(Some((agency, record_id)), None, 1)?
        .first()
        .and_then(restriction_of_row))
}

/// The latest restriction event of a record (in force or lifted), for showing
/// who restricted it and why.
pub fn latest_restriction(
    store: &dyn Store,
    agency: &str,
    record_id: &str,
) -> Result<Option<RestrictionRow>, StoreError> {
    Ok(store
        .access()
        .restriction_events(Some((agency, record_id)), None, 1)?
        .into_iter()
        .next())
}

/// The records withheld from one reader: restricted, and the restriction does
/// not admit them. Pages that show a child's records together leave these out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withheld {
    records: BTreeSet<(String, String)>,
}

impl Withheld {
    /// Nothing withheld.
    pub fn none() -> Withheld {
        Withheld::default()
    }

    /// Whether the record `(agency, record_id)` is withheld.
    pub fn contains(&self, agency: &str, record_id: &str) -> bool {
        // Few restrictions: a linear look is cheaper than building keys.
        self.records
            .iter()
            .any(|(a, r)| a == agency && r == record_id)
    }

    /// Whether nothing is withheld.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// These records withheld (a subject access bundle withholds every
    /// restricted record).
    pub fn of_records(records: impl IntoIterator<Item = (String, String)>) -> Withheld {
        Withheld {
            records: records.into_iter().collect(),
        }
    }
}

/// The records whose restriction in force does not admit `account` (decided
/// by [`Restriction::admits`], as `authorize` decides a record).
pub fn withheld_from(store: &dyn Store, account: &Account) -> Result<Withheld, StoreError> {
    let actor = account.actor();
    let records = restrictions_in_force(store)?
        .iter()
        .filter_map(|row| {
            let restriction = restriction_of_row(row)?;
            (!restriction.admits(&actor))
                .then(|| (row.event.agency.clone(), row.event.record_id.clone()))
        })
        .collect();
    Ok(Withheld { records })
}

/// Every record restricted now, whoever reads: what an export (which no
/// restriction admits, having no role) leaves out.
pub fn restricted_records(store: &dyn Store) -> Result<Withheld, StoreError> {
    Ok(Withheld::of_records(
        restrictions_in_force(store)?
            .into_iter()
            .filter(|row| row.event.state == RESTRICTED)
            .map(|row| (row.event.agency, row.event.record_id)),
    ))
}

/// Every restriction in force, by agency and record id: all of them, page by
/// page (a restriction left out would show its record to everyone).
pub fn restrictions_in_force(store: &dyn Store) -> Result<Vec<RestrictionRow>, StoreError> {
    restrictions_in_force_paged(store, CONTROLS_READ_LIMIT_MAX)
}

fn restrictions_in_force_paged(
    store: &dyn Store,
    page: u32,
) -> Result<Vec<RestrictionRow>, StoreError> {
    let page = page.max(1);
    let mut all: Vec<RestrictionRow> = Vec::new();
    loop {
        let after = all
            .last()
            .map(|row| (row.event.agency.as_str(), row.event.record_id.as_str()));
        let rows = store.access().restrictions_in_force(after, page)?;
        let done = rows.len() < page as usize;
        all.extend(rows);
        if done {
            return Ok(all);
        }
    }
}

/// Restrictions in force keyed by `(agency, record_id)` (the SAR's look-up).
pub fn restrictions_by_record(
    store: &dyn Store,
) -> Result<BTreeMap<(String, String), RestrictionRow>, StoreError> {
    Ok(restrictions_in_force(store)?
        .into_iter()
        .map(|row| ((row.event.agency.clone(), row.event.record_id.clone()), row))
        .collect())
}

/// What to restrict a record to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictionRequest {
    /// The record's agency.
    pub agency: AgencyId,
    /// The agency's record id.
    pub record_id: String,
    /// The roles that may still read it.
    pub roles: Vec<Role>,
    /// Only those roles at the record's agency.
    pub own_agency_only: bool,
    /// Why, in a sentence.
    pub reason: String,
}

fn sentence(reason: &str) -> Result<String, ControlError> {
    BreakGlassReason::parse(reason)
        .map(|reason| reason.as_str().to_owned())
        .map_err(ControlError::BadReason)
}

/// The audit entry of a control change, sealed as entry `seq` of the chain
/// inside the change's own transaction.
#[allow(clippy::too_many_arguments)]
fn sealed(
    actor: &audit::AuditActor,
    action: &str,
    resource_key: &str,
    basis: &str,
    outcome: &str,
    now: DateTime<Utc>,
    seq: i64,
    prev_hash: [u8; 32],
) -> sightline_store::AuditRow {
    let entry = audit::Unsealed {
        actor,
        action,
        resource_key,
        basis,
        outcome,
        now,
    };
    audit::seal(&entry, seq, prev_hash)
}

/// Decides (and audits, `restrict_record`) whether `by` may restrict or lift
/// restrictions on the record.
fn may_restrict(
    store: &dyn Store,
    by: By<'_>,
    agency: &AgencyId,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    if let By::Account(account) = by {
        let decision = audit::authorize_and_record(
            store,
            account,
            Action::RestrictRecord,
            &Resource::Record {
                agency: agency.clone(),
                record_id: record_id.to_owned(),
            },
            &AccessContext::default(),
            now,
        )?;
        if !decision.is_full() {
            return Err(ControlError::Forbidden);
        }
    }
    if store
        .record_versions(agency.as_str(), record_id)?
        .is_empty()
    {
        return Err(ControlError::NotFound("record"));
    }
    Ok(())
}

/// Restricts a record (or restricts it anew, to other roles): one event and
/// one audit entry `record_restricted` with basis `restriction:SEQ`.
pub fn restrict_record(
    store: &dyn Store,
    by: By<'_>,
    request: &RestrictionRequest,
    now: DateTime<Utc>,
) -> Result<RestrictionRow, ControlError> {
    let reason = sentence(&request.reason)?;
    if request.roles.is_empty() || request.roles.iter().any(|role| !role.does_casework()) {
        return Err(ControlError::BadRoles);
    }
    may_restrict(store, by, &request.agency, &request.record_id, now)?;
    let actor = by.audit_actor();
    let resource_key = format!("record:{}/{}", request.agency, request.record_id);
    // The event and its audit entry are one transaction.
    let row = store.access().append_restriction_audited(
        &NewRestriction {
            at_us: crate::to_micros(now),
            agency: request.agency.as_str().to_owned(),
            record_id: request.record_id.clone(),
            state: RESTRICTED.to_owned(),
            roles: request
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect(),
            own_agency_only: request.own_agency_only,
            reason,
            by_user_id: by.user_id(),
            by_username: actor.username.clone(),
        },
        &mut |restriction_seq, seq, prev_hash| {
            sealed(
                &actor,
                "record_restricted",
                &resource_key,
                &format!("restriction:{restriction_seq}"),
                "restricted",
                now,
                seq,
                prev_hash,
            )
        },
    )?;
    Ok(row)
}

/// Lifts a record's restriction: one event and one audit entry
/// `record_unrestricted`.
pub fn lift_restriction(
    store: &dyn Store,
    by: By<'_>,
    agency: &AgencyId,
    record_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<RestrictionRow, ControlError> {
    let reason = sentence(reason)?;
    may_restrict(store, by, agency, record_id, now)?;
    if restriction_of(store, agency.as_str(), record_id)?.is_none() {
        return Err(ControlError::NotInForce("the record is not restricted"));
    }
    let actor = by.audit_actor();
    let resource_key = format!("record:{agency}/{record_id}");
    let row = store.access().append_restriction_audited(
        &NewRestriction {
            at_us: crate::to_micros(now),
            agency: agency.as_str().to_owned(),
            record_id: record_id.to_owned(),
            state: LIFTED.to_owned(),
            roles: Vec::new(),
            own_agency_only: false,
            reason,
            by_user_id: by.user_id(),
            by_username: actor.username.clone(),
        },
        &mut |restriction_seq, seq, prev_hash| {
            sealed(
                &actor,
                "record_unrestricted",
                &resource_key,
                &format!("restriction:{restriction_seq}"),
                "lifted",
                now,
                seq,
                prev_hash,
            )
        },
    )?;
    Ok(row)
}

// ---- legal hold ----

/// What a hold is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTarget {
    /// A child (the child's person id).
    Child,
    /// Any person (a parent, an adult around a child).
    Person,
}

impl HoldTarget {
    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldTarget::Child => "child",
            HoldTarget::Person => "person",
        }
    }
}

/// Decides (and audits, `manage_legal_holds`) whether `by` may place or
/// release legal holds: the privacy officer, or an operator at the command
/// line.
fn may_manage_holds(store: &dyn Store, by: By<'_>, now: DateTime<Utc>) -> Result<(), ControlError> {
    if let By::Account(account) = by {
        let decision = audit::authorize_and_record(
            store,
            account,
            Action::ManageLegalHolds,
            &Resource::Service,
            &AccessContext::default(),
            now,
        )?;
        if !decision.is_full() {
            return Err(ControlError::HoldForbidden);
        }
    }
    Ok(())
}

fn hold_event(
    store: &dyn Store,
    by: By<'_>,
    target: HoldTarget,
    person_id: &str,
    state: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HoldRow, ControlError> {
    let reason = sentence(reason)?;
    let actor = by.audit_actor();
    let action = if state == HOLD_PLACED {
        "legal_hold_placed"
    } else {
        "legal_hold_released"
    };
    let resource_key = format!("{}:{person_id}", target.as_str());
    // The event and its audit entry are one transaction.
    let row = store.access().append_hold_audited(
        &NewHold {
            at_us: crate::to_micros(now),
            target: target.as_str().to_owned(),
            person_id: person_id.to_owned(),
            state: state.to_owned(),
            reason,
            by_user_id: by.user_id(),
            by_username: actor.username.clone(),
        },
        &mut |hold_seq, seq, prev_hash| {
            sealed(
                &actor,
                action,
                &resource_key,
                &format!("hold:{hold_seq}"),
                state,
                now,
                seq,
                prev_hash,
            )
        },
    )?;
    Ok(row)
}

/// Places a legal hold on a child or person (the caller checks the person
/// exists: the engine knows persons, the store does not). Placing a hold on a
/// person already held records the new reason too.
pub fn place_hold(
    store: &dyn Store,
    by: By<'_>,
    target: HoldTarget,
    person_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HoldRow, ControlError> {
    may_manage_holds(store, by, now)?;
    hold_event(store, by, target, person_id, HOLD_PLACED, reason, now)
}

/// Releases the hold on a person.
pub fn release_hold(
    store: &dyn Store,
    by: By<'_>,
    person_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HoldRow, ControlError> {
    may_manage_holds(store, by, now)?;
    let held = store
        .access()
        .holds_in_force(Some(person_id), 1)?
        .into_iter()
        .next()
        .ok_or(ControlError::NotInForce("there is no hold on this person"))?;
    let target = if held.event.target == "child" {
        HoldTarget::Child
    } else {
        HoldTarget::Person
    };
    hold_event(store, by, target, person_id, HOLD_RELEASED, reason, now)
}

/// Whether a hold is in force on the person: retention and erasure must not
/// touch them (or the records about them) while it is.
pub fn is_on_hold(store: &dyn Store, person_id: &str) -> Result<bool, StoreError> {
    Ok(!store
        .access()
        .holds_in_force(Some(person_id), 1)?
        .is_empty())
}

/// The hold in force on the person, if any.
pub fn hold_of(store: &dyn Store, person_id: &str) -> Result<Option<HoldRow>, StoreError> {
    Ok(store
        .access()
        .holds_in_force(Some(person_id), 1)?
        .into_iter()
        .next())
}

/// Every hold in force, by person id.
pub fn holds_in_force(store: &dyn Store) -> Result<Vec<HoldRow>, StoreError> {
    store.access().holds_in_force(None, CONTROLS_READ_LIMIT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every restriction in force is read, however many pages it takes: a
    /// restriction left behind a page limit would show its record to all.
    #[test]
    fn every_restriction_in_force_is_read_page_by_page() {
        let store = sightline_store::open("sqlite::memory:").unwrap();
        for n in 0..5 {
            store
                .access()
                .append_restriction(&sightline_store::NewRestriction {
                    at_us: n,
                    agency: "st-annes-gp".into(),
                    record_id: format!("GP-{n}"),
                    state: RESTRICTED.into(),
                    roles: vec!["practitioner".into()],
                    own_agency_only: false,
                    reason: "Sharing this would put the child at greater risk now.".into(),
                    by_user_id: None,
                    by_username: "gp.lead".into(),
                })
                .unwrap();
        }
        let rows = restrictions_in_force_paged(store.as_ref(), 2).unwrap();
        let ids: Vec<&str> = rows
            .iter()
            .map(|row| row.event.record_id.as_str())
            .collect();
        assert_eq!(ids, ["GP-0", "GP-1", "GP-2", "GP-3", "GP-4"]);
        assert_eq!(
            restrictions_in_force_paged(store.as_ref(), 0)
                .unwrap()
                .len(),
            5
        );
    }
}
