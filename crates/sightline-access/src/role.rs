//! Staff roles.

use std::fmt;

/// What a member of staff does in Sightline. A role decides which actions the
/// one authorisation function can allow; relationships decide on which children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A practitioner of an agency (social worker, health visitor, officer...).
    Practitioner,
    /// Manages a team of practitioners; sees what the team sees.
    TeamManager,
    /// An agency's designated safeguarding lead.
    SafeguardingLead,
    /// Oversees access: sees who accessed what, never case content.
    PrivacyOfficer,
    /// Manages users and agency tokens, never case content.
    Administrator,
}

/// The text was not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role (expected one of practitioner, team_manager, safeguarding_lead, privacy_officer, administrator)"
)]
pub struct RoleParseError;

impl Role {
    /// Every role, in the order pages list them.
    pub const ALL: [Role; 5] = [
        Role::Practitioner,
        Role::TeamManager,
        Role::SafeguardingLead,
        Role::PrivacyOfficer,
        Role::Administrator,
    ];

    /// Parses the stable name (`practitioner`, `team_manager`, ...).
    pub fn parse(text: &str) -> Result<Role, RoleParseError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or(RoleParseError)
    }

    /// The stable name, as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Practitioner => "practitioner",
            Role::TeamManager => "team_manager",
            Role::SafeguardingLead => "safeguarding_lead",
            Role::PrivacyOfficer => "privacy_officer",
            Role::Administrator => "administrator",
        }
    }

    /// Plain words for pages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Practitioner => "Practitioner",
            Role::TeamManager => "Team manager",
            Role::SafeguardingLead => "Safeguarding lead",
            Role::PrivacyOfficer => "Privacy officer",
            Role::Administrator => "Administrator",
        }
    }

    /// Whether the role works on cases (and so may ever see case content).
    pub fn does_casework(self) -> bool {
        matches!(
            self,
            Role::Practitioner | Role::TeamManager | Role::SafeguardingLead
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse("Administrator"), Err(RoleParseError));
        assert_eq!(Role::parse(""), Err(RoleParseError));
    }
}
