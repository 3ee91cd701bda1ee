//! The demonstration logins of `sightline demo`: one person for each part of
//! the work, in the agencies the organisation routes alerts to, so that every
//! route of the rule pack reaches somebody and the first login has work waiting.
//! Only for demonstration databases (random passwords, printed once).

use crate::accounts::{
    AccountError, DemoAccount, NewAccount, Password, Team, Username, create_account, random_token,
};
use crate::audit::AuditActor;
use chrono::{DateTime, Utc};
use sightline_access::Role;
use sightline_core::org::{AgencyType, Organisation, Recipient};
use sightline_store::Store;

/// One demonstration login to create: who it is and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub agency: String,
    pub team: Option<String>,
    /// What the login is for, in a few words.
    pub purpose: String,
}

/// The account that receives what is routed to `recipient`: a member of its
/// team (with `role_in_team`), or a holder of its role.
fn receiver_of(recipient: &Recipient, role_in_team: Role) -> (Role, String, Option<String>) {
    match recipient {
        Recipient::Team { agency, team } => {
            (role_in_team, agency.as_str().to_owned(), Some(team.clone()))
        }
        Recipient::Role { agency, role } => (
            Role::parse(role).unwrap_or(role_in_team),
            agency.as_str().to_owned(),
            None,
        ),
    }
}

/// The logins for `organisation`, the one to start with first: children's
/// social care's duty worker and team manager (of the default local
/// authority's duty team), its head of service, the health safeguarding lead,
/// a police public protection officer (the police lead), a school's designated
/// safeguarding lead, a privacy officer and an administrator (of social care).
pub fn demo_logins(organisation: &Organisation) -> Vec<DemoLogin> {
    let local_authority = organisation.default_local_authority();
    let mut logins = Vec::new();
    let mut add =
        |username: &str, (role, agency, team): (Role, String, Option<String>), purpose: &str| {
            logins.push(DemoLogin {
                username: username.to_owned(),
                role,
                agency,
                team,
                purpose: purpose.to_owned(),
            });
        };
    let duty = &local_authority.duty_team;
    add(
        "demo.duty-worker",
        receiver_of(duty, Role::Practitioner),
        "children's social care duty worker: most alerts arrive here; start with this one",
    );
    add(
        "demo.team-manager",
        receiver_of(duty, Role::TeamManager),
        "manager of the duty team: sees the team's alerts and those escalated to team managers",
    );
    add(
        "demo.head-of-service",
        receiver_of(&local_authority.head_of_service, Role::TeamManager),
        "head of service: receives what is overdue twice and what nobody else can",
    );
    if let Some(lead) = organisation.health_safeguarding_lead() {
        add(
            "demo.health-lead",
            receiver_of(lead, Role::SafeguardingLead),
            "health safeguarding lead: receives the alerts routed to health",
        );
    }
    if let Some(lead) = organisation.police_safeguarding() {
        add(
            "demo.police-officer",
            receiver_of(lead, Role::Practitioner),
            "police public protection officer: receives the alerts routed to police",
        );
    }
    if let Some(school) = organisation
        .agencies()
        .find(|agency| agency.agency_type == AgencyType::School)
    {
        add(
            "demo.school-dsl",
            (Role::SafeguardingLead, school.id.as_str().to_owned(), None),
            "a school's designated safeguarding lead: sees the children the school knows",
        );
    }
    let office = duty.agency().as_str().to_owned();
    add(
        "demo.privacy-officer",
        (Role::PrivacyOfficer, office.clone(), None),
        "privacy officer: who viewed which child and why, never case content",
    );
    add(
        "demo.administrator",
        (Role::Administrator, office, None),
        "administrator: users and agency tokens, never case content",
    );
    logins
}

/// Creates the demonstration logins of `organisation` with random passwords
/// and returns them, in order, for printing.
pub fn create_demo_logins(
    store: &dyn Store,
    organisation: &Organisation,
    now: DateTime<Utc>,
) -> Result<Vec<(DemoLogin, DemoAccount)>, AccountError> {
    let mut created = Vec::new();
    for login in demo_logins(organisation) {
        let password = random_token()[..20].to_owned();
        let agency = sightline_core::AgencyId::parse(&login.agency)
            .map_err(|_| AccountError::CorruptUser)?;
        let account = NewAccount {
            username: Username::parse(&login.username)?,
            password: Password::parse(&password)?,
            role: login.role,
            agency: agency.clone(),
            team: login.team.as_deref().map(Team::parse).transpose()?,
        };
        create_account(store, &account, &AuditActor::cli(), now)?;
        let account = DemoAccount {
            role: login.role,
            username: login.username.clone(),
            password,
            agency,
            team: login.team.clone(),
        };
        created.push((login, account));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unconfigured_organisation_has_a_login_for_each_part_of_the_work() {
        let logins = demo_logins(&Organisation::unconfigured());
        let summary: Vec<(&str, Role, &str, Option<&str>)> = logins
            .iter()
            .map(|login| {
                (
                    login.username.as_str(),
                    login.role,
                    login.agency.as_str(),
                    login.team.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "demo.duty-worker",
                    Role::Practitioner,
                    "social-care",
                    Some("duty")
                ),
                (
                    "demo.team-manager",
                    Role::TeamManager,
                    "social-care",
                    Some("duty")
                ),
                (
                    "demo.head-of-service",
                    Role::TeamManager,
                    "social-care",
                    Some("head-of-service")
                ),
                (
                    "demo.health-lead",
                    Role::SafeguardingLead,
                    "health-safeguarding",
                    None
                ),
                (
                    "demo.police-officer",
                    Role::Practitioner,
                    "police",
                    Some("public-protection")
                ),
                (
                    "demo.privacy-officer",
                    Role::PrivacyOfficer,
                    "social-care",
                    None
                ),
                (
                    "demo.administrator",
                    Role::Administrator,
                    "social-care",
                    None
                ),
            ]
        );
        assert!(logins[0].purpose.contains("start with this one"));
    }
}
