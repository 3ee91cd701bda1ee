//! The one authorisation function. Every page, API call and command that reads or
//! writes personal data asks [`authorize`] first and records the answer's basis in
//! the audit log.
//!
//! Need-to-know: casework roles see a child (or a record) in full when they or
//! their team have a relationship with it (allocated, holding an alert about the
//! child, their agency's record established a relationship: see
//! [`crate::relationship`]) or hold a live break-glass grant;
//! otherwise a minimal view (enough to know whom to contact). Privacy officers see
//! the access log and administrators manage accounts; neither sees case content.

use crate::role::Role;
use sightline_core::AgencyId;
use std::fmt;

/// Who is asking: the signed-in user as the session knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The agency the user works for.
    pub agency: AgencyId,
    /// The user's team within the agency, if any.
    pub team: Option<String>,
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open the "My work" page.
    ViewMyWork,
    /// List record summaries of an agency ([`Resource::Agency`]).
    ListAgencyRecords,
    /// Read one record ([`Resource::Record`]).
    ViewRecord,
    /// Read a child's picture or chronology ([`Resource::Child`]).
    ViewChild,
    /// Write about a child ([`Resource::Child`]).
    WriteAboutChild,
    /// Decide (or reopen) an alert ([`Resource::Alert`]): only those it is
    /// routed to, while it is open.
    DecideAlert,
    /// Ask for time-limited full access to a record or child (break glass).
    BreakGlass,
    /// Read the access log and break-glass grants (no case content).
    ViewAccessLog,
    /// List and create user accounts.
    ManageUsers,
    /// List and create agency API tokens.
    ManageTokens,
    /// Search persons by name and date of birth ([`Resource::Service`]); hits
    /// are minimal views.
    SearchPersons,
    /// Review uncertain linkage pairs and record match / non-match decisions
    /// ([`Resource::Service`]): safeguarding leads and team managers.
    ReviewLinkage,
    /// See one's agency's accounts and agency tokens, and activate the casework
    /// accounts an administrator created ([`Resource::Service`]): safeguarding
    /// leads and team managers (the second person for new casework accounts).
    ManageAgencyAccounts,
    /// Restrict one of one's agency's records to named roles, or lift its
    /// restriction ([`Resource::Record`]): team managers and safeguarding
    /// leads of the record's agency.
    RestrictRecord,
    /// Place and release legal holds on children and persons
    /// ([`Resource::Service`]): the privacy officer.
    ManageLegalHolds,
    /// Answer a subject access request: produce a person's bundle and
    /// un-redact a third party in it, item by item, with a reason
    /// ([`Resource::Service`]): the privacy officer.
    SubjectAccess,
    /// List and decide batches of records due for erasure under the
    /// retention schedule ([`Resource::Service`]): the privacy officer.
    ApproveRetention,
}

impl Action {
    /// The stable name used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewMyWork => "view_my_work",
            Action::ListAgencyRecords => "list_agency_records",
            Action::ViewRecord => "view_record",
            Action::ViewChild => "view_child",
            Action::WriteAboutChild => "write_about_child",
            Action::DecideAlert => "decide_alert",
            Action::BreakGlass => "break_glass",
            Action::ViewAccessLog => "view_access_log",
            Action::ManageUsers => "manage_users",
            Action::ManageTokens => "manage_tokens",
            Action::SearchPersons => "search_persons",
            Action::ReviewLinkage => "review_linkage",
            Action::ManageAgencyAccounts => "manage_agency_accounts",
            Action::RestrictRecord => "restrict_record",
            Action::ManageLegalHolds => "manage_legal_holds",
            Action::SubjectAccess => "subject_access_request",
            Action::ApproveRetention => "approve_retention",
        }
    }
}

/// What the action is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The service itself (pages without personal data about children).
    Service,
    /// The records of one agency, as a list.
    Agency(AgencyId),
    /// One record of one agency.
    Record {
        /// The agency that sent it.
        agency: AgencyId,
        /// The agency's id of the record.
        record_id: String,
    },
    /// One child, by Sightline's person id.
    Child(String),
    /// One alert, by its id.
    Alert(String),
}

impl Resource {
    /// The stable key of the resource, as audited and as break-glass grants name it.
    pub fn key(&self) -> String {
        match self {
            Resource::Service => "service".to_owned(),
            Resource::Agency(agency) => format!("agency:{agency}"),
            Resource::Record { agency, record_id } => format!("record:{agency}/{record_id}"),
            Resource::Child(person_id) => format!("child:{person_id}"),
            Resource::Alert(alert_id) => format!("alert:{alert_id}"),
        }
    }

    /// The kind part of [`Resource::key`].
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Service => "service",
            Resource::Agency(_) => "agency",
            Resource::Record { .. } => "record",
            Resource::Child(_) => "child",
            Resource::Alert(_) => "alert",
        }
    }
}

/// A fact that makes a child (or record) part of someone's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relationship {
    /// The child is allocated to this user.
    AllocatedToUser(i64),
    /// The child is allocated to this team of this agency.
    AllocatedToTeam {
        /// The team's agency.
        agency: AgencyId,
        /// The team.
        team: String,
    },
    /// An alert about the child (or citing the record) is routed to
    /// `routed_to` (`team:AGENCY/TEAM`: the users of AGENCY in TEAM, its
    /// managers among them; `role:AGENCY/ROLE`: the users of AGENCY with
    /// ROLE). It counts while the alert is open (`until_us: None`) and, once
    /// decided, until `until_us` (exclusive). A route without an agency reaches
    /// nobody.
    RoutedAlert {
        /// The alert.
        alert_id: String,
        /// Whom it is routed to.
        routed_to: String,
        /// `None` while open; after the decision, when it stops counting.
        until_us: Option<i64>,
    },
    /// A record of this agency established its relationship with the child
    /// (the identity check of [`crate::corroborated`]), recorded as the
    /// relationship row `seq`. Merely sending a record about the child is not
    /// one.
    AgencyRecord {
        /// The agency.
        agency: AgencyId,
        /// The relationship row.
        seq: i64,
    },
}

/// A reason given for breaking glass: a sentence, not a token ("xxxxxxxxxx",
/// "ok"): 20 to 1,000 characters with at least 4 words of two or more letters,
/// no control characters but line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassReason(String);

impl BreakGlassReason {
    /// Fewest characters a reason may have.
    pub const CHARS_MIN: usize = 20;
    /// Most characters a reason may have.
    pub const CHARS_MAX: usize = 1_000;
    /// Fewest words (runs of two or more letters) a reason may have.
    pub const WORDS_MIN: usize = 4;

    /// Parses a reason, trimming surrounding whitespace.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let trimmed = text.trim();
        let n_chars = trimmed.chars().count();
        if n_chars < Self::CHARS_MIN {
            return Err("give the reason in a sentence of at least 20 characters");
        }
        if n_chars > Self::CHARS_MAX {
            return Err("give a reason of at most 1,000 characters");
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n') {
            return Err("the reason contains control characters");
        }
        let n_words = trimmed
            .split(|c: char| !c.is_alphabetic())
            .filter(|word| word.chars().count() >= 2)
            .count();
        if n_words < Self::WORDS_MIN {
            return Err("give the reason in words: what has happened and why you need to see this");
        }
        Ok(BreakGlassReason(trimmed.to_owned()))
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A time-limited grant of full access after breaking glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassGrant {
    /// The grant's id (as stored).
    pub grant_id: i64,
    /// Whom it was granted to.
    pub user_id: i64,
    /// [`Resource::key`] of what it grants.
    pub resource_key: String,
    /// When it stops counting, UTC microseconds since the epoch (exclusive).
    pub expires_at_us: i64,
}

/// A record restricted by its agency to named roles (UK GDPR Article 18; the
/// duty to share's exception, "sharing would be more detrimental to the
/// child"): nobody outside those roles (and, when `own_agency_only`, outside
/// the agency) reads it, whatever their relationship, alert or grant. Inside
/// them the usual need-to-know still applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The record's agency (which restricted it).
    pub agency: AgencyId,
    /// The roles that may still read it.
    pub roles: Vec<Role>,
    /// Only those roles at the record's own agency.
    pub own_agency_only: bool,
}

impl Restriction {
    /// Whether the restriction lets `actor` read the record (their role is
    /// named, and their agency is the record's when it must be). Asked by
    /// [`authorize`] for every record, and by the pages that show a child's
    /// records to withhold the ones it does not admit.
    pub fn admits(&self, actor: &Actor) -> bool {
        self.roles.contains(&actor.role) && (!self.own_agency_only || actor.agency == self.agency)
    }
}

/// What is known about the resource and the actor when deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessContext {
    /// The relationships of the resource (for a child: allocation, alerts,
    /// contributing agencies).
    pub relationships: Vec<Relationship>,
    /// The actor's break-glass grants (expired ones are ignored).
    pub grants: Vec<BreakGlassGrant>,
    /// For a record: its agency's restriction in force, if any.
    pub restriction: Option<Restriction>,
}

impl AccessContext {
    /// Whether the record this context is about is restricted away from `actor`.
    fn restricted_from(&self, actor: &Actor) -> bool {
        self.restriction
            .as_ref()
            .is_some_and(|restriction| !restriction.admits(actor))
    }
}

/// Why access was granted in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The action needs a role, and the actor has it.
    Role(Role),
    /// The record or list belongs to the actor's own agency.
    OwnAgency,
    /// The child is allocated to the actor.
    Allocated,
    /// The child is allocated to the actor's team.
    TeamAllocated,
    /// An alert about the child (or citing the record) is routed to the
    /// actor's team or role.
    RoutedAlert {
        /// The alert.
        alert_id: String,
    },
    /// The actor's agency holds an established relationship with the child
    /// (relationship row `seq`).
    AgencyRecord {
        /// The relationship row.
        seq: i64,
    },
    /// A live break-glass grant.
    BreakGlass {
        /// The grant.
        grant_id: i64,
    },
}

impl fmt::Display for Basis {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Basis::Role(role) => write!(formatter, "role:{role}"),
            Basis::OwnAgency => formatter.write_str("own_agency"),
            Basis::Allocated => formatter.write_str("allocated"),
            Basis::TeamAllocated => formatter.write_str("team_allocated"),
            Basis::RoutedAlert { alert_id } => write!(formatter, "routed_alert:{alert_id}"),
            Basis::AgencyRecord { seq } => write!(formatter, "relationship:{seq}"),
            Basis::BreakGlass { grant_id } => write!(formatter, "break_glass:{grant_id}"),
        }
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed in full, for this reason.
    Full {
        /// Why.
        basis: Basis,
    },
    /// Only the minimal view (identity, whether on a plan, whom to contact) and
    /// the break-glass action.
    Minimal,
    /// Not allowed at all.
    Deny,
}

impl Decision {
    /// The stable name used in the audit log.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::Full { .. } => "full",
            Decision::Minimal => "minimal",
            Decision::Deny => "deny",
        }
    }

    /// Whether the decision allows the full view or the action.
    pub fn is_full(&self) -> bool {
        matches!(self, Decision::Full { .. })
    }
}

fn full(basis: Basis) -> Decision {
    Decision::Full { basis }
}

fn role_only(actor: &Actor, allowed: Role) -> Decision {
    if actor.role == allowed {
        full(Basis::Role(allowed))
    } else {
        Decision::Deny
    }
}

/// A live grant of `actor` on `resource`, if any.
fn live_grant(
    actor: &Actor,
    resource: &Resource,
    context: &AccessContext,
    now_us: i64,
) -> Option<i64> {
    let key = resource.key();
    context
        .grants
        .iter()
        .find(|grant| {
            grant.user_id == actor.user_id
                && grant.resource_key == key
                && now_us < grant.expires_at_us
        })
        .map(|grant| grant.grant_id)
}

/// Whether `routed_to` (`team:AGENCY/TEAM` or `role:AGENCY/ROLE`) reaches the
/// actor: the actor's agency and team, or agency and role.
pub fn route_reaches(routed_to: &str, actor: &Actor) -> bool {
    match sightline_core::org::Recipient::parse(routed_to) {
        Ok(recipient) => recipient.reaches(
            actor.agency.as_str(),
            actor.team.as_deref(),
            actor.role.as_str(),
        ),
        Err(_) => false,
    }
}

/// The routed alert among `relationships` that reaches the actor and counts at
/// `now_us` (open, or decided less than its period ago); with `alert`, only
/// that alert, and only while open.
fn routed_alert_of(
    actor: &Actor,
    relationships: &[Relationship],
    now_us: i64,
    alert: Option<&str>,
) -> Option<Basis> {
    relationships
        .iter()
        .find_map(|relationship| match relationship {
            Relationship::RoutedAlert {
                alert_id,
                routed_to,
                until_us,
            } if route_reaches(routed_to, actor)
                && match alert {
                    Some(wanted) => wanted == alert_id && until_us.is_none(),
                    None => until_us.is_none_or(|until| now_us < until),
                } =>
            {
                Some(Basis::RoutedAlert {
                    alert_id: alert_id.clone(),
                })
            }
            _ => None,
        })
}

/// The relationship that puts the child in the actor's work, strongest first.
fn relationship_basis(actor: &Actor, relationships: &[Relationship], now_us: i64) -> Option<Basis> {
    let same_team = |agency: &AgencyId, team: &str| {
        *agency == actor.agency && actor.team.as_deref() == Some(team)
    };
    let candidates = [
        relationships.contains(&Relationship::AllocatedToUser(actor.user_id))
            .then_some(Basis::Allocated),
        relationships
            .iter()
            .any(|r| matches!(r, Relationship::AllocatedToTeam { agency, team } if same_team(agency, team)))
            .then_some(Basis::TeamAllocated),
        routed_alert_of(actor, relationships, now_us, None),
        relationships.iter().find_map(|r| match r {
            Relationship::AgencyRecord { agency, seq } if *agency == actor.agency => {
                Some(Basis::AgencyRecord { seq: *seq })
            }
            _ => None,
        }),
    ];
    candidates.into_iter().flatten().next()
}

/// Decides whether `actor` may do `action` on `resource` at `now_us` (UTC
/// microseconds since the epoch). Pure; fails closed: any pairing of action and
/// resource not listed here is [`Decision::Deny`].
pub fn authorize(
    actor: &Actor,
    action: Action,
    resource: &Resource,
    context: &AccessContext,
    now_us: i64,
) -> Decision {
    let casework = actor.role.does_casework();
    match (action, resource) {
        (Action::ViewMyWork, Resource::Service) => full(Basis::Role(actor.role)),
        (
            Action::ViewAccessLog
            | Action::ManageLegalHolds
            | Action::SubjectAccess
            | Action::ApproveRetention,
            Resource::Service,
        ) => role_only(actor, Role::PrivacyOfficer),
        (Action::ManageUsers | Action::ManageTokens, Resource::Service) => {
            role_only(actor, Role::Administrator)
        }
        (Action::SearchPersons, Resource::Service) => {
            if casework {
                full(Basis::Role(actor.role))
            } else {
                Decision::Deny
            }
        }
        // Merging and splitting persons changes every agency's picture: leads and
        // the managers who answer for casework.
        (Action::ReviewLinkage, Resource::Service) => match actor.role {
            Role::SafeguardingLead | Role::TeamManager => full(Basis::Role(actor.role)),
            _ => Decision::Deny,
        },
        // A casework account reads case content: a manager or lead of its
        // agency, not the administrator who created it, lets it in.
        (Action::ManageAgencyAccounts, Resource::Service) => match actor.role {
            Role::SafeguardingLead | Role::TeamManager => full(Basis::Role(actor.role)),
            _ => Decision::Deny,
        },
        (Action::ListAgencyRecords, Resource::Agency(agency)) => {
            if casework && *agency == actor.agency {
                full(Basis::OwnAgency)
            } else {
                Decision::Deny
            }
        }
        // A restricted record is not there for anyone outside its named roles:
        // not its own agency's other staff, not an alert's team, not break glass.
        (Action::ViewRecord | Action::BreakGlass, Resource::Record { .. })
            if context.restricted_from(actor) =>
        {
            Decision::Deny
        }
        (Action::RestrictRecord, Resource::Record { agency, .. }) => match actor.role {
            Role::SafeguardingLead | Role::TeamManager if *agency == actor.agency => {
                full(Basis::Role(actor.role))
            }
            _ => Decision::Deny,
        },
        (Action::ViewRecord, Resource::Record { agency, .. }) => {
            if !casework {
                Decision::Deny
            } else if *agency == actor.agency {
                full(Basis::OwnAgency)
            } else if let Some(basis) = routed_alert_of(actor, &context.relationships, now_us, None)
            {
                // The record is evidence of an alert routed to the actor.
                full(basis)
            } else if let Some(grant_id) = live_grant(actor, resource, context, now_us) {
                full(Basis::BreakGlass { grant_id })
            } else {
                Decision::Minimal
            }
        }
        (Action::ViewChild, Resource::Child(_)) => {
            if !casework {
                Decision::Deny
            } else if let Some(basis) = relationship_basis(actor, &context.relationships, now_us) {
                full(basis)
            } else if let Some(grant_id) = live_grant(actor, resource, context, now_us) {
                full(Basis::BreakGlass { grant_id })
            } else {
                Decision::Minimal
            }
        }
        // Writing needs a real relationship: breaking glass lets one read, not act.
        (Action::WriteAboutChild, Resource::Child(_)) => {
            match (
                casework,
                relationship_basis(actor, &context.relationships, now_us),
            ) {
                (true, Some(basis)) => full(basis),
                _ => Decision::Deny,
            }
        }
        // Only those the open alert is routed to decide it: another agency's
        // relationship with the child is not enough, nor is breaking glass.
        (Action::DecideAlert, Resource::Alert(alert_id)) => {
            match (
                casework,
                routed_alert_of(actor, &context.relationships, now_us, Some(alert_id)),
            ) {
                (true, Some(basis)) => full(basis),
                _ => Decision::Deny,
            }
        }
        (Action::BreakGlass, Resource::Record { .. } | Resource::Child(_)) => {
            if casework {
                full(Basis::Role(actor.role))
            } else {
                Decision::Deny
            }
        }
        _ => Decision::Deny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn agency(text: &str) -> AgencyId {
        AgencyId::parse(text).unwrap()
    }

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: 7,
            role,
            agency: agency("police"),
            team: Some("north".to_owned()),
        }
    }

    fn child() -> Resource {
        Resource::Child("P-1".to_owned())
    }

    fn record(of: &str) -> Resource {
        Resource::Record {
            agency: agency(of),
            record_id: "R-1".to_owned(),
        }
    }

    fn related(relationships: Vec<Relationship>) -> AccessContext {
        AccessContext {
            relationships,
            ..AccessContext::default()
        }
    }

    fn granted(user_id: i64, resource: &Resource, expires_at_us: i64) -> AccessContext {
        AccessContext {
            relationships: Vec::new(),
            restriction: None,
            grants: vec![BreakGlassGrant {
                grant_id: 42,
                user_id,
                resource_key: resource.key(),
                expires_at_us,
            }],
        }
    }

    fn routed(alert_id: &str, routed_to: &str, until_us: Option<i64>) -> Relationship {
        Relationship::RoutedAlert {
            alert_id: alert_id.to_owned(),
            routed_to: routed_to.to_owned(),
            until_us,
        }
    }

    #[track_caller]
    fn check(
        actor: Actor,
        action: Action,
        resource: Resource,
        context: AccessContext,
        expected: Decision,
    ) {
        let decision = authorize(&actor, action, &resource, &context, NOW);
        assert_eq!(
            decision, expected,
            "{:?} {:?} {:?} {:?}",
            actor.role, action, resource, context
        );
    }

    #[test]
    fn service_pages_by_role() {
        use Role::*;
        let table = [
            (
                Practitioner,
                Action::ViewMyWork,
                full(Basis::Role(Practitioner)),
            ),
            (
                Administrator,
                Action::ViewMyWork,
                full(Basis::Role(Administrator)),
            ),
            (Practitioner, Action::ViewAccessLog, Decision::Deny),
            (Administrator, Action::ViewAccessLog, Decision::Deny),
            (
                PrivacyOfficer,
                Action::ViewAccessLog,
                full(Basis::Role(PrivacyOfficer)),
            ),
            (
                PrivacyOfficer,
                Action::ManageLegalHolds,
                full(Basis::Role(PrivacyOfficer)),
            ),
            (SafeguardingLead, Action::ManageLegalHolds, Decision::Deny),
            (
                PrivacyOfficer,
                Action::SubjectAccess,
                full(Basis::Role(PrivacyOfficer)),
            ),
            (
                PrivacyOfficer,
                Action::ApproveRetention,
                full(Basis::Role(PrivacyOfficer)),
            ),
            (SafeguardingLead, Action::SubjectAccess, Decision::Deny),
            (Administrator, Action::SubjectAccess, Decision::Deny),
            (TeamManager, Action::ApproveRetention, Decision::Deny),
            (Administrator, Action::ApproveRetention, Decision::Deny),
            (Administrator, Action::ManageLegalHolds, Decision::Deny),
            (Practitioner, Action::ManageUsers, Decision::Deny),
            (SafeguardingLead, Action::ManageUsers, Decision::Deny),
            (PrivacyOfficer, Action::ManageTokens, Decision::Deny),
            (
                Administrator,
                Action::ManageUsers,
                full(Basis::Role(Administrator)),
            ),
            (
                Administrator,
                Action::ManageTokens,
                full(Basis::Role(Administrator)),
            ),
            (
                SafeguardingLead,
                Action::ReviewLinkage,
                full(Basis::Role(SafeguardingLead)),
            ),
            (
                TeamManager,
                Action::ReviewLinkage,
                full(Basis::Role(TeamManager)),
            ),
            (Practitioner, Action::ReviewLinkage, Decision::Deny),
            (PrivacyOfficer, Action::ReviewLinkage, Decision::Deny),
            (Administrator, Action::ReviewLinkage, Decision::Deny),
            (
                SafeguardingLead,
                Action::ManageAgencyAccounts,
                full(Basis::Role(SafeguardingLead)),
            ),
            (
                TeamManager,
                Action::ManageAgencyAccounts,
                full(Basis::Role(TeamManager)),
            ),
            (Practitioner, Action::ManageAgencyAccounts, Decision::Deny),
            (PrivacyOfficer, Action::ManageAgencyAccounts, Decision::Deny),
            (Administrator, Action::ManageAgencyAccounts, Decision::Deny),
        ];
        for (role, action, expected) in table {
            check(
                actor(role),
                action,
                Resource::Service,
                AccessContext::default(),
                expected,
            );
        }
    }

    #[test]
    fn agency_record_lists() {
        let own = Resource::Agency(agency("police"));
        let other = Resource::Agency(agency("health"));
        for role in Role::ALL {
            let expected = if role.does_casework() {
                full(Basis::OwnAgency)
            } else {
                Decision::Deny
            };
            check(
                actor(role),
                Action::ListAgencyRecords,
                own.clone(),
                AccessContext::default(),
                expected,
            );
            check(
                actor(role),
                Action::ListAgencyRecords,
                other.clone(),
                AccessContext::default(),
                Decision::Deny,
            );
        }
    }

    #[test]
    fn records_of_other_agencies_are_minimal_until_glass_is_broken() {
        let practitioner = actor(Role::Practitioner);
        let ctx = AccessContext::default;
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("police"),
            ctx(),
            full(Basis::OwnAgency),
        );
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("health"),
            ctx(),
            Decision::Minimal,
        );
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("health"),
            granted(7, &record("health"), NOW + 1),
            full(Basis::BreakGlass { grant_id: 42 }),
        );
        // Expired, someone else's, or for another resource: no effect.
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("health"),
            granted(7, &record("health"), NOW),
            Decision::Minimal,
        );
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("health"),
            granted(8, &record("health"), NOW + 1),
            Decision::Minimal,
        );
        check(
            practitioner.clone(),
            Action::ViewRecord,
            record("health"),
            granted(7, &record("school"), NOW + 1),
            Decision::Minimal,
        );
        // Roles without casework never see records, grant or not.
        for role in [Role::PrivacyOfficer, Role::Administrator] {
            check(
                actor(role),
                Action::ViewRecord,
                record("police"),
                ctx(),
                Decision::Deny,
            );
            check(
                actor(role),
                Action::ViewRecord,
                record("health"),
                granted(7, &record("health"), NOW + 1),
                Decision::Deny,
            );
        }
    }

    #[test]
    fn children_by_relationship() {
        let health = agency("health");
        let table = [
            (vec![], Decision::Minimal),
            (
                vec![Relationship::AllocatedToUser(7)],
                full(Basis::Allocated),
            ),
            (vec![Relationship::AllocatedToUser(8)], Decision::Minimal),
            (
                vec![Relationship::AllocatedToTeam {
                    agency: agency("police"),
                    team: "north".into(),
                }],
                full(Basis::TeamAllocated),
            ),
            (
                vec![Relationship::AllocatedToTeam {
                    agency: agency("police"),
                    team: "south".into(),
                }],
                Decision::Minimal,
            ),
            (
                vec![Relationship::AllocatedToTeam {
                    agency: health.clone(),
                    team: "north".into(),
                }],
                Decision::Minimal,
            ),
            (
                vec![routed("a-1", "team:police/north", None)],
                full(Basis::RoutedAlert {
                    alert_id: "a-1".into(),
                }),
            ),
            (
                vec![routed("a-2", "team:police/north", Some(NOW + 1))],
                full(Basis::RoutedAlert {
                    alert_id: "a-2".into(),
                }),
            ),
            // Decided too long ago, another team, another agency, no agency.
            (
                vec![routed("a-3", "team:police/north", Some(NOW))],
                Decision::Minimal,
            ),
            (
                vec![routed("a-4", "team:police/south", None)],
                Decision::Minimal,
            ),
            (
                vec![routed("a-5", "team:health/north", None)],
                Decision::Minimal,
            ),
            (vec![routed("a-6", "team:north", None)], Decision::Minimal),
            (
                vec![Relationship::AgencyRecord {
                    agency: agency("police"),
                    seq: 3,
                }],
                full(Basis::AgencyRecord { seq: 3 }),
            ),
            (
                vec![Relationship::AgencyRecord {
                    agency: health,
                    seq: 4,
                }],
                Decision::Minimal,
            ),
            // The strongest basis is named.
            (
                vec![
                    Relationship::AgencyRecord {
                        agency: agency("police"),
                        seq: 3,
                    },
                    Relationship::AllocatedToUser(7),
                ],
                full(Basis::Allocated),
            ),
        ];
        for (relationships, expected) in table {
            check(
                actor(Role::Practitioner),
                Action::ViewChild,
                child(),
                related(relationships.clone()),
                expected.clone(),
            );
            check(
                actor(Role::SafeguardingLead),
                Action::ViewChild,
                child(),
                related(relationships),
                expected,
            );
        }
        check(
            actor(Role::Practitioner),
            Action::ViewChild,
            child(),
            granted(7, &child(), NOW + 1),
            full(Basis::BreakGlass { grant_id: 42 }),
        );
        check(
            actor(Role::PrivacyOfficer),
            Action::ViewChild,
            child(),
            related(vec![Relationship::AllocatedToUser(7)]),
            Decision::Deny,
        );
    }

    #[test]
    fn writing_needs_a_relationship_not_a_grant() {
        check(
            actor(Role::TeamManager),
            Action::WriteAboutChild,
            child(),
            related(vec![routed("a-1", "team:police/north", None)]),
            full(Basis::RoutedAlert {
                alert_id: "a-1".into(),
            }),
        );
        check(
            actor(Role::Practitioner),
            Action::WriteAboutChild,
            child(),
            granted(7, &child(), NOW + 1),
            Decision::Deny,
        );
        check(
            actor(Role::Administrator),
            Action::WriteAboutChild,
            child(),
            related(vec![Relationship::AllocatedToUser(7)]),
            Decision::Deny,
        );
    }

    #[test]
    fn only_those_an_open_alert_is_routed_to_decide_it() {
        let alert = || Resource::Alert("a-1".to_owned());
        let routed_here = related(vec![routed("a-1", "team:police/north", None)]);
        for role in [
            Role::Practitioner,
            Role::TeamManager,
            Role::SafeguardingLead,
        ] {
            check(
                actor(role),
                Action::DecideAlert,
                alert(),
                routed_here.clone(),
                full(Basis::RoutedAlert {
                    alert_id: "a-1".into(),
                }),
            );
        }
        for role in [Role::PrivacyOfficer, Role::Administrator] {
            check(
                actor(role),
                Action::DecideAlert,
                alert(),
                routed_here.clone(),
                Decision::Deny,
            );
        }
        let refused = [
            // Another alert's routing, a decided alert, another team, another
            // agency's team of the same name, a relationship with the child of
            // every other kind, a grant.
            related(vec![routed("a-2", "team:police/north", None)]),
            related(vec![routed("a-1", "team:police/north", Some(NOW + 1))]),
            related(vec![routed("a-1", "team:police/south", None)]),
            related(vec![routed("a-1", "team:school/north", None)]),
            related(vec![
                Relationship::AllocatedToUser(7),
                Relationship::AgencyRecord {
                    agency: agency("police"),
                    seq: 1,
                },
            ]),
            granted(7, &alert(), NOW + 1),
        ];
        for context in refused {
            check(
                actor(Role::TeamManager),
                Action::DecideAlert,
                alert(),
                context,
                Decision::Deny,
            );
        }
        // A role route reaches that role of that agency only.
        let to_leads = related(vec![routed("a-1", "role:police/safeguarding_lead", None)]);
        check(
            actor(Role::SafeguardingLead),
            Action::DecideAlert,
            alert(),
            to_leads.clone(),
            full(Basis::RoutedAlert {
                alert_id: "a-1".into(),
            }),
        );
        check(
            actor(Role::Practitioner),
            Action::DecideAlert,
            alert(),
            to_leads,
            Decision::Deny,
        );
    }

    #[test]
    fn the_evidence_of_a_routed_alert_is_readable() {
        check(
            actor(Role::Practitioner),
            Action::ViewRecord,
            record("health"),
            related(vec![routed("a-1", "team:police/north", None)]),
            full(Basis::RoutedAlert {
                alert_id: "a-1".into(),
            }),
        );
        check(
            actor(Role::Practitioner),
            Action::ViewRecord,
            record("health"),
            related(vec![routed("a-1", "team:police/south", None)]),
            Decision::Minimal,
        );
    }

    #[test]
    fn a_restricted_record_is_read_only_by_its_named_roles() {
        // Police's record, restricted to police safeguarding leads only.
        let restricted = |roles: Vec<Role>, own_agency_only: bool, relationships| AccessContext {
            relationships,
            grants: Vec::new(),
            restriction: Some(Restriction {
                agency: agency("police"),
                roles,
                own_agency_only,
            }),
        };
        let lead_only = || restricted(vec![Role::SafeguardingLead], true, Vec::new());
        // The agency's own practitioner and manager: gone.
        for role in [Role::Practitioner, Role::TeamManager] {
            check(
                actor(role),
                Action::ViewRecord,
                record("police"),
                lead_only(),
                Decision::Deny,
            );
        }
        check(
            actor(Role::SafeguardingLead),
            Action::ViewRecord,
            record("police"),
            lead_only(),
            full(Basis::OwnAgency),
        );
        // A lead of another agency holding the record's alert: not with own agency only.
        let mut health_lead = actor(Role::SafeguardingLead);
        health_lead.agency = agency("health");
        health_lead.team = Some("north".into());
        let via_alert = |own_agency_only| {
            restricted(
                vec![Role::SafeguardingLead],
                own_agency_only,
                vec![routed("a-1", "team:health/north", None)],
            )
        };
        check(
            health_lead.clone(),
            Action::ViewRecord,
            record("police"),
            via_alert(true),
            Decision::Deny,
        );
        check(
            health_lead.clone(),
            Action::ViewRecord,
            record("police"),
            via_alert(false),
            full(Basis::RoutedAlert {
                alert_id: "a-1".into(),
            }),
        );
        // The named role still needs need-to-know: no alert, no grant, minimal.
        check(
            health_lead.clone(),
            Action::ViewRecord,
            record("police"),
            restricted(vec![Role::SafeguardingLead], false, Vec::new()),
            Decision::Minimal,
        );
        // Break glass neither opens it nor may be asked for it.
        let mut grant = granted(7, &record("police"), NOW + 1);
        grant.restriction = lead_only().restriction;
        check(
            actor(Role::Practitioner),
            Action::ViewRecord,
            record("police"),
            grant,
            Decision::Deny,
        );
        check(
            actor(Role::Practitioner),
            Action::BreakGlass,
            record("police"),
            lead_only(),
            Decision::Deny,
        );
        // Restricting: managers and leads of the record's agency only.
        for (role, of, expected) in [
            (
                Role::TeamManager,
                "police",
                full(Basis::Role(Role::TeamManager)),
            ),
            (
                Role::SafeguardingLead,
                "police",
                full(Basis::Role(Role::SafeguardingLead)),
            ),
            (Role::Practitioner, "police", Decision::Deny),
            (Role::PrivacyOfficer, "police", Decision::Deny),
            (Role::Administrator, "police", Decision::Deny),
            (Role::SafeguardingLead, "health", Decision::Deny),
        ] {
            check(
                actor(role),
                Action::RestrictRecord,
                record(of),
                AccessContext::default(),
                expected,
            );
        }
        check(
            actor(Role::TeamManager),
            Action::RestrictRecord,
            child(),
            AccessContext::default(),
            Decision::Deny,
        );
    }

    #[test]
    fn breaking_glass_is_for_casework_on_records_and_children() {
        for role in Role::ALL {
            let expected = if role.does_casework() {
                full(Basis::Role(role))
            } else {
                Decision::Deny
            };
            check(
                actor(role),
                Action::BreakGlass,
                child(),
                AccessContext::default(),
                expected.clone(),
            );
            check(
                actor(role),
                Action::BreakGlass,
                record("health"),
                AccessContext::default(),
                expected,
            );
            check(
                actor(role),
                Action::BreakGlass,
                Resource::Service,
                AccessContext::default(),
                Decision::Deny,
            );
        }
    }

    #[test]
    fn mismatched_action_and_resource_is_denied() {
        let pairs = [
            (Action::ViewMyWork, child()),
            (Action::ViewAccessLog, record("police")),
            (Action::ManageUsers, Resource::Agency(agency("police"))),
            (Action::ViewRecord, child()),
            (Action::ViewChild, record("police")),
            (Action::ListAgencyRecords, Resource::Service),
            (Action::ReviewLinkage, child()),
        ];
        for role in Role::ALL {
            for (action, resource) in pairs.clone() {
                check(
                    actor(role),
                    action,
                    resource,
                    related(vec![Relationship::AllocatedToUser(7)]),
                    Decision::Deny,
                );
            }
        }
    }

    #[test]
    fn person_search_is_casework_and_review_is_for_leads_and_managers() {
        for role in Role::ALL {
            let search = if role.does_casework() {
                full(Basis::Role(role))
            } else {
                Decision::Deny
            };
            check(
                actor(role),
                Action::SearchPersons,
                Resource::Service,
                AccessContext::default(),
                search,
            );
            let review = if matches!(role, Role::SafeguardingLead | Role::TeamManager) {
                full(Basis::Role(role))
            } else {
                Decision::Deny
            };
            check(
                actor(role),
                Action::ReviewLinkage,
                Resource::Service,
                AccessContext::default(),
                review,
            );
            check(
                actor(role),
                Action::ReviewLinkage,
                child(),
                AccessContext::default(),
                Decision::Deny,
            );
        }
    }

    #[test]
    fn reasons_are_required() {
        assert!(BreakGlassReason::parse("   ").is_err());
        assert!(BreakGlassReason::parse("because").is_err());
        assert!(BreakGlassReason::parse(&"x".repeat(1_001)).is_err());
        // Finding 8: ten x's were accepted; so were tokens of any length.
        for token in [
            "xxxxxxxxxx",
            "xxxxxxxxxxxxxxxxxxxxxxxxx",
            "1234567890 1234567890 123",
            "x x x x x x x x x x x x x",
            "xxxxxxxxxxxxxxxxxxxx ok",
        ] {
            assert!(BreakGlassReason::parse(token).is_err(), "{token}");
        }
        let reason =
            BreakGlassReason::parse("  child presented at A&E tonight with a burn ").unwrap();
        assert_eq!(
            reason.as_str(),
            "child presented at A&E tonight with a burn"
        );
        assert!(BreakGlassReason::parse("Ward 7 asked: is she known to social care?").is_ok());
    }
}
