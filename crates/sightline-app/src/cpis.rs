//! CP-IS behaviour for every agency (after NHS England's Child Protection -
//! Information Sharing): when someone of another agency than children's social
//! care reads a child in full (the child page, the chronology, a record
//! mentioning the child, a person through the API) and the child is on a child protection plan, looked after, or has
//! an unborn child protection plan, the child's allocated worker is told at
//! once, or if none the duty team of the lead social care agency: an access
//! notice of kind `cpis_access` saying who (user, role, agency), where (the
//! agency's service), when and which page.
//!
//! - **On a plan** ([`plan_status`]): from the child's `social_care.plan`
//!   records in the picture, as the child page's "current plans": a plan whose
//!   latest record (by date) did not end it. A child protection plan of a child
//!   whose date of birth is unknown or still to come is an unborn child
//!   protection plan.
//! - **Whom** ([`told_about`]): the lead social care agency is the agency of
//!   the duty team of the child's local authority
//!   ([`crate::routing::child_local_authority`]). Interchange carries no
//!   allocations, so the allocated worker is the active account of that agency
//!   an open alert about the child, routed to that agency, is assigned to (the
//!   most recently raised); without one, the duty team (`team:AGENCY/TEAM`).
//!   The notice also names the lead agency (`to_agency`), so its managers and
//!   leads and the privacy officer read it as any other notice.
//! - **Not told**: reads by social care agencies' staff, by roles that do no
//!   casework, and by agencies whose organisation entry says
//!   `access_notice = "silent"` (planned care, as CP-IS allows a GP practice).
//!   Silent reads are audited like every read: the privacy officer sees them in
//!   the access log.
//! - Invariant: at most one notice per user, child and day (UTC): the store
//!   writes it only when none of that user about that child was given since the
//!   day began ([`sightline_store::AccessStore::append_notice_once_since`]).

use crate::Engine;
use crate::accounts::Account;
use crate::picture::PersonFacts;
use crate::views::Picture;
use chrono::{DateTime, NaiveDate, Utc};
use sightline_access::View;
use sightline_core::org::{AccessNotice, AgencyType, HealthService};
use sightline_core::vocab::Kind;
use sightline_store::{
    AlertFilter, NOTICE_CPIS_ACCESS, NewNotice, NoticeRow, STATUS_OPEN, Store, StoreError,
};
use std::collections::BTreeMap;

/// Most alerts about one child read to find its allocated worker.
const ALERTS_READ_MAX: u32 = 200;

/// Why a child's reads are told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    ChildProtectionPlan,
    LookedAfter,
    UnbornChildProtectionPlan,
}

impl PlanStatus {
    /// The stored name (the first field of a notice's detail).
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::ChildProtectionPlan => "child_protection_plan",
            PlanStatus::LookedAfter => "looked_after",
            PlanStatus::UnbornChildProtectionPlan => "unborn_child_protection_plan",
        }
    }

    pub fn parse(text: &str) -> Option<PlanStatus> {
        [
            PlanStatus::ChildProtectionPlan,
            PlanStatus::LookedAfter,
            PlanStatus::UnbornChildProtectionPlan,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// As a phrase after "the child": "is on a child protection plan".
    pub fn label(self) -> &'static str {
        match self {
            PlanStatus::ChildProtectionPlan => "is on a child protection plan",
            PlanStatus::LookedAfter => "is looked after",
            PlanStatus::UnbornChildProtectionPlan => "has an unborn child protection plan",
        }
    }
}

/// Whether the child is on a child protection plan, looked after or has an
/// unborn child protection plan on `today` (see the module's rule); the first
/// of these when several hold, `None` when none does.
pub fn plan_status(
    picture: Picture<'_>,
    facts: &PersonFacts,
    today: NaiveDate,
) -> Option<PlanStatus> {
    // The latest record of each plan, by date then record id (as the child
    // page orders them).
    let mut latest: BTreeMap<&str, (NaiveDate, &str, bool)> = BTreeMap::new();
    for mention in &facts.mentions {
        let Some(loaded) = picture.linked.records.get(mention.record_idx) else {
            continue;
        };
        let record = &loaded.record;
        if record.kind != Kind::SocialCarePlan {
            continue;
        }
        let Some(plan) = record.outcome.text("plan") else {
            continue;
        };
        let date = record.occurred_at.start().date_naive();
        let key = (date, record.source.record_id.as_str());
        let ended = record.outcome.text("status") == Some("end");
        if latest
            .get(plan)
            .is_none_or(|(best_date, best_id, _)| key >= (*best_date, *best_id))
        {
            latest.insert(plan, (key.0, key.1, ended));
        }
    }
    let current = |plan: &str| latest.get(plan).is_some_and(|(_, _, ended)| !ended);
    if current("child_protection") {
        let unborn = facts.dob.is_none_or(|dob| dob.earliest() > today);
        return Some(if unborn {
            PlanStatus::UnbornChildProtectionPlan
        } else {
            PlanStatus::ChildProtectionPlan
        });
    }
    current("looked_after").then_some(PlanStatus::LookedAfter)
}

/// Whom a notice about a child tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    /// The lead social care agency.
    pub agency: String,
    /// The allocated worker's user id, if the child has one.
    pub user_id: Option<i64>,
    /// The duty team (`team:AGENCY/TEAM`) when no worker is allocated.
    pub team: Option<String>,
}

/// Whom a full read of the child tells (see the module's rule).
pub fn told_about(
    store: &dyn Store,
    engine: &Engine,
    facts: &PersonFacts,
) -> Result<Told, StoreError> {
    let organisation = engine.organisation();
    let local_authority =
        crate::routing::child_local_authority(organisation, engine.linked(), facts);
    let duty_team = &local_authority.duty_team;
    let agency = duty_team.agency().as_str().to_owned();
    let mut alerts = store.alerts().list(&AlertFilter {
        child_id: Some(facts.id.clone()),
        status: Some(STATUS_OPEN.to_owned()),
        limit: ALERTS_READ_MAX,
        ..AlertFilter::default()
    })?;
    alerts.sort_by_key(|alert| std::cmp::Reverse(alert.raised_at_us));
    let team_prefix = format!("team:{agency}/");
    let role_prefix = format!("role:{agency}/");
    for alert in &alerts {
        if !(alert.routed_to.starts_with(&team_prefix) || alert.routed_to.starts_with(&role_prefix))
        {
            continue;
        }
        let Some(username) = &alert.assigned_to else {
            continue;
        };
        let Some(user) = store.accounts().user_by_username(username)? else {
            continue;
        };
        if user.disabled_at_us.is_none() && user.agency == agency {
            return Ok(Told {
                agency,
                user_id: Some(user.id),
                team: None,
            });
        }
    }
    Ok(Told {
        agency,
        user_id: None,
        team: Some(duty_team.as_route()),
    })
}

/// Where the reader works, as the notice stores it: the health service, or
/// the agency's type.
fn setting_of(agency_type: AgencyType, service: Option<HealthService>) -> &'static str {
    match service {
        Some(service) => service.as_str(),
        None => agency_type.as_str(),
    }
}

/// After `account` was given the full `view` of the child `child_id` at
/// `now`: tells the child's allocated worker or duty team when the module's
/// rule says so. Returns the notice written, or `None` (not on a plan, social
/// care's own staff, a silent agency, already told today).
pub fn after_full_read(
    store: &dyn Store,
    engine: &Engine,
    account: &Account,
    child_id: &str,
    view: View,
    now: DateTime<Utc>,
) -> Result<Option<NoticeRow>, StoreError> {
    if !account.role.does_casework() {
        return Ok(None);
    }
    let profile = engine
        .organisation()
        .profile(&account.agency, std::iter::empty());
    if profile.agency_type == AgencyType::SocialCare
        || profile.access_notice == AccessNotice::Silent
    {
        return Ok(None);
    }
    let picture = Picture {
        linked: engine.linked(),
        facts: engine.facts(),
        addresses: engine.addresses(),
    };
    let Some(facts) = picture.child(child_id) else {
        return Ok(None);
    };
    let Some(status) = plan_status(picture, facts, now.date_naive()) else {
        return Ok(None);
    };
    let told = told_about(store, engine, facts)?;
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |start| start.and_utc());
    store.access().append_notice_once_since(
        &NewNotice {
            at_us: crate::to_micros(now),
            kind: NOTICE_CPIS_ACCESS.to_owned(),
            resource_key: format!("child:{child_id}"),
            to_agency: Some(told.agency),
            about_agency: account.agency.as_str().to_owned(),
            about_user_id: Some(account.id),
            about_username: Some(account.username.clone()),
            subject: view.as_str().to_owned(),
            detail: format!(
                "{};{};{}",
                status.as_str(),
                account.role.as_str(),
                setting_of(profile.agency_type, profile.service)
            ),
            to_user_id: told.user_id,
            to_team: told.team,
        },
        crate::to_micros(day_start),
    )
}

/// After `account` was given the full view of the record `(agency,
/// record_id)` at `now`: [`after_full_read`] (view `view_record`) for each
/// child the record's newest version mentions. Returns the notices written.
pub fn after_full_record_read(
    store: &dyn Store,
    engine: &Engine,
    account: &Account,
    agency: &str,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<NoticeRow>, StoreError> {
    let linked = engine.linked();
    let Some(record_idx) = linked.latest_idx(agency, record_id) else {
        return Ok(Vec::new());
    };
    let n_persons = linked
        .records
        .get(record_idx)
        .map_or(0, |loaded| loaded.record.persons.len());
    let mut children: Vec<&str> = (0..n_persons)
        .map(|person_idx| linked.person_id(record_idx, person_idx))
        .filter(|person_id| {
            engine
                .facts()
                .get(*person_id)
                .is_some_and(|facts| facts.is_child)
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    let mut notices = Vec::new();
    for child_id in children {
        notices.extend(after_full_read(
            store,
            engine,
            account,
            child_id,
            View::Record,
            now,
        )?);
    }
    Ok(notices)
}

/// A CP-IS notice in words, after the name of who read: "opened the child's
/// page as a practitioner (Emergency and urgent care); the child is on a
/// child protection plan".
pub fn notice_words(subject: &str, detail: &str) -> String {
    let mut fields = detail.split(';');
    let status = fields.next().and_then(PlanStatus::parse);
    let role = fields.next().unwrap_or("").replace('_', " ");
    let setting = fields.next().unwrap_or("");
    let setting = HealthService::parse(setting)
        .map(HealthService::label)
        .or_else(|| AgencyType::parse(setting).map(AgencyType::label))
        .unwrap_or("an agency");
    let view = sightline_access::words::audit_action_label(subject);
    let status = status.map_or("is on a plan", PlanStatus::label);
    format!("{view} as a {role} ({setting}); the child {status}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_as_words() {
        assert_eq!(
            notice_words(
                "view_child",
                "child_protection_plan;practitioner;unscheduled_care"
            ),
            "opened the child's page as a practitioner (Emergency and urgent care); the child is on a child protection plan"
        );
        assert_eq!(
            notice_words("view_chronology", "looked_after;team_manager;police"),
            "read the chronology as a team manager (Police); the child is looked after"
        );
        assert!(
            notice_words("view_person", "unborn_child_protection_plan;practitioner;x")
                .ends_with("(an agency); the child has an unborn child protection plan")
        );
        for status in [
            PlanStatus::ChildProtectionPlan,
            PlanStatus::LookedAfter,
            PlanStatus::UnbornChildProtectionPlan,
        ] {
            assert_eq!(PlanStatus::parse(status.as_str()), Some(status));
        }
    }
}
