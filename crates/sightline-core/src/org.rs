//! The organisation Sightline serves: its agencies (display name, type, local
//! authority, teams), each local authority's duty team and head of service, and
//! the health and police safeguarding leads. Operators write it as a TOML file
//! (`docs/operators.md`, "The organisation"); [`Organisation::parse`] turns the
//! text into these types or every problem it finds, each with its line, its key
//! and plain words (and a "did you mean" when one spelling is close).
//!
//! Alerts are routed to a [`Recipient`]: `team:AGENCY/TEAM` (the accounts of
//! AGENCY whose team is TEAM, the team's managers among them) or
//! `role:AGENCY/ROLE` (the accounts of AGENCY with ROLE). Every recipient the
//! organisation names is checked to exist in it: the agency is named and the team
//! is one of its teams, or the role is one that receives alerts.
//!
//! Invariant: an [`Organisation`] is valid (built only by `parse`): every
//! recipient names an agency of the file and a team of that agency or a role that
//! receives alerts; every agency's local authority is named; the default local
//! authority exists; health agencies have a service and others none.
//!
//! Invariant: no IO and no panic on any input (property-tested).

use crate::values::AgencyId;
use crate::vocab::did_you_mean;
use std::collections::BTreeMap;
use std::fmt;

/// The largest organisation file accepted, in bytes.
pub const ORGANISATION_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The most agencies one organisation names.
pub const AGENCIES_MAX: usize = 10_000;
/// The most teams one agency has.
pub const TEAMS_PER_AGENCY_MAX: usize = 500;
/// The most local authorities one organisation names.
pub const LOCAL_AUTHORITIES_MAX: usize = 500;
/// The longest display name, in characters.
pub const DISPLAY_NAME_CHARS_MAX: usize = 200;
/// The longest team id, in characters.
pub const TEAM_ID_CHARS_MAX: usize = 64;

/// The staff roles an alert can be routed to (`role:AGENCY/ROLE`): the roles
/// that do casework. Privacy officers and administrators never receive alerts.
pub const RECEIVING_ROLES: &[&str] = &["practitioner", "team_manager", "safeguarding_lead"];

/// The role of a team's managers (escalation's first level goes to it).
pub const TEAM_MANAGER_ROLE: &str = "team_manager";

/// What kind of agency it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgencyType {
    SocialCare,
    Police,
    Health,
    School,
    Probation,
    Housing,
    Other,
}

impl AgencyType {
    pub const ALL: &'static [AgencyType] = &[
        AgencyType::SocialCare,
        AgencyType::Police,
        AgencyType::Health,
        AgencyType::School,
        AgencyType::Probation,
        AgencyType::Housing,
        AgencyType::Other,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "social_care",
        "police",
        "health",
        "school",
        "probation",
        "housing",
        "other",
    ];

    /// The spelling in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyType::SocialCare => "social_care",
            AgencyType::Police => "police",
            AgencyType::Health => "health",
            AgencyType::School => "school",
            AgencyType::Probation => "probation",
            AgencyType::Housing => "housing",
            AgencyType::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<AgencyType> {
        AgencyType::ALL
            .iter()
            .copied()
            .find(|agency_type| agency_type.as_str() == text)
    }

    /// Plain words for pages.
    pub fn label(self) -> &'static str {
        match self {
            AgencyType::SocialCare => "Children's social care",
            AgencyType::Police => "Police",
            AgencyType::Health => "Health",
            AgencyType::School => "School or nursery",
            AgencyType::Probation => "Probation",
            AgencyType::Housing => "Housing",
            AgencyType::Other => "Other agency",
        }
    }

    /// The type an agency's records suggest (by the prefix of their kinds:
    /// `social_care.*`, `police.*`, `health.*`, `education.*`, `probation.*`,
    /// `housing.*`; `justice.*` is sent by police and probation alike and says
    /// nothing), the most frequent winning; `other` when none says.
    pub fn from_kinds<'a>(kinds: impl IntoIterator<Item = &'a str>) -> AgencyType {
        let mut counts: BTreeMap<AgencyType, usize> = BTreeMap::new();
        for kind in kinds {
            let prefix = kind.split('.').next().unwrap_or("");
            let agency_type = match prefix {
                "social_care" => AgencyType::SocialCare,
                "police" => AgencyType::Police,
                "health" => AgencyType::Health,
                "education" => AgencyType::School,
                "probation" => AgencyType::Probation,
                "housing" => AgencyType::Housing,
                _ => continue,
            };
            *counts.entry(agency_type).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(agency_type, count)| (*count, std::cmp::Reverse(*agency_type)))
            .map(|(agency_type, _)| agency_type)
            .unwrap_or(AgencyType::Other)
    }
}

impl fmt::Display for AgencyType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The service a health agency provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthService {
    /// General practice.
    Gp,
    /// Emergency departments, urgent treatment and walk-in centres.
    UnscheduledCare,
    /// Hospital wards and outpatients.
    Hospital,
    HealthVisiting,
    SchoolNursing,
    Midwifery,
    MentalHealth,
    SexualHealth,
    /// Designated and named safeguarding professionals (an integrated care
    /// board's safeguarding team, say).
    Safeguarding,
    Other,
}

impl HealthService {
    pub const ALL: &'static [HealthService] = &[
        HealthService::Gp,
        HealthService::UnscheduledCare,
        HealthService::Hospital,
        HealthService::HealthVisiting,
        HealthService::SchoolNursing,
        HealthService::Midwifery,
        HealthService::MentalHealth,
        HealthService::SexualHealth,
        HealthService::Safeguarding,
        HealthService::Other,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "gp",
        "unscheduled_care",
        "hospital",
        "health_visiting",
        "school_nursing",
        "midwifery",
        "mental_health",
        "sexual_health",
        "safeguarding",
        "other",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthService::Gp => "gp",
            HealthService::UnscheduledCare => "unscheduled_care",
            HealthService::Hospital => "hospital",
            HealthService::HealthVisiting => "health_visiting",
            HealthService::SchoolNursing => "school_nursing",
            HealthService::Midwifery => "midwifery",
            HealthService::MentalHealth => "mental_health",
            HealthService::SexualHealth => "sexual_health",
            HealthService::Safeguarding => "safeguarding",
            HealthService::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<HealthService> {
        HealthService::ALL
            .iter()
            .copied()
            .find(|service| service.as_str() == text)
    }

    /// Plain words for pages.
    pub fn label(self) -> &'static str {
        match self {
            HealthService::Gp => "GP practice",
            HealthService::UnscheduledCare => "Emergency and urgent care",
            HealthService::Hospital => "Hospital",
            HealthService::HealthVisiting => "Health visiting",
            HealthService::SchoolNursing => "School nursing",
            HealthService::Midwifery => "Midwifery",
            HealthService::MentalHealth => "Mental health",
            HealthService::SexualHealth => "Sexual health",
            HealthService::Safeguarding => "Health safeguarding team",
            HealthService::Other => "Health service",
        }
    }
}

impl fmt::Display for HealthService {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Whether a full read of a child on a plan by an agency's staff tells the
/// child's allocated worker or duty team (an access notice, after NHS
/// England's CP-IS): `access_notice = "notify"` or `"silent"` in the file.
/// Silent reads are still audited, and the privacy officer sees them in the
/// access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessNotice {
    /// Tell the child's allocated worker, else the duty team.
    Notify,
    /// Tell nobody (planned care, as CP-IS allows a GP practice).
    Silent,
}

impl AccessNotice {
    pub const NAMES: &'static [&'static str] = &["notify", "silent"];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessNotice::Notify => "notify",
            AccessNotice::Silent => "silent",
        }
    }

    pub fn parse(text: &str) -> Option<AccessNotice> {
        match text {
            "notify" => Some(AccessNotice::Notify),
            "silent" => Some(AccessNotice::Silent),
            _ => None,
        }
    }

    /// Whether an agency of this type and service may be silent: not a
    /// social care agency (its own staff are never the subject of a notice
    /// and the setting means nothing there), and not unscheduled care or a
    /// hospital (CP-IS: unscheduled-care settings always tell the local
    /// authority).
    pub fn silent_allowed(agency_type: AgencyType, service: Option<HealthService>) -> bool {
        !matches!(agency_type, AgencyType::SocialCare)
            && !matches!(
                service,
                Some(HealthService::UnscheduledCare | HealthService::Hospital)
            )
    }
}

/// One team of an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamProfile {
    /// 1 to 64 of `a-z 0-9 -`, as accounts store it.
    pub id: String,
    pub name: String,
}

/// What the organisation says about one agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyProfile {
    pub id: AgencyId,
    pub name: String,
    pub agency_type: AgencyType,
    /// Set for health agencies only.
    pub service: Option<HealthService>,
    /// The id of its local authority.
    pub local_authority: String,
    pub teams: Vec<TeamProfile>,
    /// Whether its staff's full reads of a child on a plan tell the child's
    /// worker ([`AccessNotice::Notify`] unless the file says `silent`).
    pub access_notice: AccessNotice,
    /// False for the profile of an agency the file does not name.
    pub named: bool,
}

impl AgencyProfile {
    /// The team with this id.
    pub fn team(&self, team_id: &str) -> Option<&TeamProfile> {
        self.teams.iter().find(|team| team.id == team_id)
    }
}

/// A local authority: whose duty team receives alerts about the children who
/// live in it, and whose head of service receives what nobody else can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuthority {
    pub id: String,
    pub name: String,
    /// The Department for Education's three-digit code of the authority
    /// (`dfe_code = "201"`), which its returns carry; optional.
    pub dfe_code: Option<String>,
    /// Always a team (`team:AGENCY/TEAM`) of a social care agency.
    pub duty_team: Recipient,
    pub head_of_service: Recipient,
}

/// Whom an alert is routed to: accounts of one agency, by team or by role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    /// `team:AGENCY/TEAM`: the accounts of AGENCY whose team is TEAM (its
    /// managers among them).
    Team { agency: AgencyId, team: String },
    /// `role:AGENCY/ROLE`: the accounts of AGENCY with ROLE.
    Role { agency: AgencyId, role: String },
}

impl Recipient {
    /// Parses `team:AGENCY/TEAM` or `role:AGENCY/ROLE` (ROLE one of
    /// [`RECEIVING_ROLES`]). The words say what is wrong.
    pub fn parse(text: &str) -> Result<Recipient, String> {
        let shown = shorten(text);
        let (form, rest) = if let Some(rest) = text.strip_prefix("team:") {
            ("team", rest)
        } else if let Some(rest) = text.strip_prefix("role:") {
            ("role", rest)
        } else {
            return Err(format!(
                "\"{shown}\" is not a recipient (write team:AGENCY/TEAM or role:AGENCY/ROLE)"
            ));
        };
        let Some((agency, name)) = rest.split_once('/') else {
            return Err(format!(
                "\"{shown}\" names no agency (write {form}:AGENCY/{})",
                form.to_uppercase()
            ));
        };
        let agency = AgencyId::parse(agency).map_err(|error| format!("\"{shown}\": {error}"))?;
        if form == "team" {
            check_team_id(name).map_err(|problem| format!("\"{shown}\": {problem}"))?;
            return Ok(Recipient::Team {
                agency,
                team: name.to_owned(),
            });
        }
        if !RECEIVING_ROLES.contains(&name) {
            return Err(format!(
                "\"{shown}\": \"{}\" is not a role that receives alerts (one of {}){}",
                shorten(name),
                quoted_list(RECEIVING_ROLES),
                suggestion(name, RECEIVING_ROLES)
            ));
        }
        Ok(Recipient::Role {
            agency,
            role: name.to_owned(),
        })
    }

    pub fn agency(&self) -> &AgencyId {
        match self {
            Recipient::Team { agency, .. } | Recipient::Role { agency, .. } => agency,
        }
    }

    /// The stored form: `team:AGENCY/TEAM` or `role:AGENCY/ROLE`.
    pub fn as_route(&self) -> String {
        self.to_string()
    }

    /// Whether an account of `agency`, in `team`, with `role` receives what is
    /// routed here.
    pub fn reaches(&self, agency: &str, team: Option<&str>, role: &str) -> bool {
        match self {
            Recipient::Team {
                agency: to_agency,
                team: to_team,
            } => to_agency.as_str() == agency && team == Some(to_team.as_str()),
            Recipient::Role {
                agency: to_agency,
                role: to_role,
            } => to_agency.as_str() == agency && role == to_role,
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Team { agency, team } => write!(formatter, "team:{agency}/{team}"),
            Recipient::Role { agency, role } => write!(formatter, "role:{agency}/{role}"),
        }
    }
}

/// The stored routes that reach an account of `agency`, in `team`, with `role`:
/// its team's (`team:AGENCY/TEAM`) and its role's (`role:AGENCY/ROLE`).
pub fn routes_reaching(agency: &str, team: Option<&str>, role: &str) -> Vec<String> {
    let mut routes = Vec::with_capacity(2);
    if let Some(team) = team {
        routes.push(format!("team:{agency}/{team}"));
    }
    if RECEIVING_ROLES.contains(&role) {
        routes.push(format!("role:{agency}/{role}"));
    }
    routes
}

/// A team id: 1 to 64 of `a-z 0-9 -`.
pub fn check_team_id(text: &str) -> Result<(), String> {
    let chars_ok = text
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if text.is_empty() || text.len() > TEAM_ID_CHARS_MAX || !chars_ok {
        return Err(format!(
            "\"{}\" is not a team id (1 to {TEAM_ID_CHARS_MAX} characters of a-z, 0-9 and -)",
            shorten(text)
        ));
    }
    Ok(())
}

/// The organisation: built only by [`Organisation::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    name: String,
    default_local_authority: LocalAuthority,
    local_authorities: BTreeMap<String, LocalAuthority>,
    agencies: BTreeMap<String, AgencyProfile>,
    health_safeguarding_lead: Option<Recipient>,
    police_safeguarding: Option<Recipient>,
}

/// One problem in an organisation file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgProblem {
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// The key, as a dotted path (`agency.type`), or empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for OrgProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(formatter, "line {line}: ")?;
        }
        if !self.key.is_empty() {
            write!(formatter, "{}: ", self.key)?;
        }
        formatter.write_str(&self.message)
    }
}

impl OrgProblem {
    /// The problem as `FILE:LINE: key: message`.
    pub fn with_file(&self, file: &str) -> String {
        let place = match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_owned(),
        };
        if self.key.is_empty() {
            format!("{place}: {}", self.message)
        } else {
            format!("{place}: {}: {}", self.key, self.message)
        }
    }
}

/// The organisation used when the operator has given none (one-off CLI
/// commands; `sightline serve` refuses to start without a file): one local
/// authority (`default`) whose duty team is children's social care's
/// (`social-care`, team `duty`) and whose head of service is that agency's
/// `head-of-service` team, a health safeguarding lead at `health-safeguarding`
/// and the police's public protection team (`police`).
pub const UNCONFIGURED_TEXT: &str = r#"name = "Unconfigured organisation"

[safeguarding_leads]
health = "role:health-safeguarding/safeguarding_lead"
police = "team:police/public-protection"

[[local_authority]]
id = "default"
name = "Local authority"
duty_team = "team:social-care/duty"
head_of_service = "team:social-care/head-of-service"

[[agency]]
id = "social-care"
name = "Children's social care"
type = "social_care"
teams = [
  { id = "duty", name = "Duty team" },
  { id = "head-of-service", name = "Head of service" },
]

[[agency]]
id = "health-safeguarding"
name = "Health safeguarding team"
type = "health"
service = "safeguarding"

[[agency]]
id = "police"
name = "Police"
type = "police"
teams = [{ id = "public-protection", name = "Public protection unit" }]
"#;

impl Organisation {
    /// The organisation of [`UNCONFIGURED_TEXT`].
    pub fn unconfigured() -> Organisation {
        static UNCONFIGURED: std::sync::OnceLock<Organisation> = std::sync::OnceLock::new();
        UNCONFIGURED
            .get_or_init(|| {
                // A constant, parsed by a unit test: failing here is a broken build.
                #[allow(clippy::expect_used)]
                Organisation::parse(UNCONFIGURED_TEXT)
                    .expect("the unconfigured organisation parses")
            })
            .clone()
    }

    /// Parses and validates an organisation file. Every problem found is
    /// returned (a file that is not TOML, or has a key of the wrong shape, stops
    /// at that first problem).
    pub fn parse(text: &str) -> Result<Organisation, Vec<OrgProblem>> {
        if text.len() > ORGANISATION_BYTES_MAX {
            return Err(vec![OrgProblem {
                line: None,
                key: String::new(),
                message: format!(
                    "the file is {} bytes long (at most {ORGANISATION_BYTES_MAX})",
                    text.len()
                ),
            }]);
        }
        let wire: wire::File =
            toml::from_str(text).map_err(|error| vec![toml_problem(text, &error)])?;
        Builder::new(text).build(wire)
    }

    /// The organisation's name (for pages and logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every agency the file names, by id.
    pub fn agencies(&self) -> impl Iterator<Item = &AgencyProfile> {
        self.agencies.values()
    }

    /// The profile of an agency the file names.
    pub fn agency(&self, agency_id: &str) -> Option<&AgencyProfile> {
        self.agencies.get(agency_id)
    }

    /// The profile of any agency: the file's, or for one it does not name a
    /// fallback (its id as its name, its type from the kinds of its records,
    /// the default local authority, no teams, `named: false`).
    pub fn profile<'a>(
        &self,
        agency: &AgencyId,
        kinds: impl IntoIterator<Item = &'a str>,
    ) -> AgencyProfile {
        if let Some(profile) = self.agencies.get(agency.as_str()) {
            return profile.clone();
        }
        let kinds: Vec<&str> = kinds.into_iter().collect();
        let agency_type = AgencyType::from_kinds(kinds.iter().copied());
        AgencyProfile {
            id: agency.clone(),
            name: agency.as_str().to_owned(),
            agency_type,
            service: (agency_type == AgencyType::Health).then(|| health_service_of(&kinds)),
            local_authority: self.default_local_authority.id.clone(),
            teams: Vec::new(),
            access_notice: AccessNotice::Notify,
            named: false,
        }
    }

    /// Every local authority, by id.
    pub fn local_authorities(&self) -> impl Iterator<Item = &LocalAuthority> {
        self.local_authorities.values()
    }

    pub fn local_authority(&self, id: &str) -> Option<&LocalAuthority> {
        self.local_authorities.get(id)
    }

    /// The local authority used when nothing else says which.
    pub fn default_local_authority(&self) -> &LocalAuthority {
        &self.default_local_authority
    }

    /// The local authority of an agency: the file's, else the default.
    pub fn local_authority_of(&self, agency_id: &str) -> &LocalAuthority {
        self.agencies
            .get(agency_id)
            .and_then(|agency| self.local_authorities.get(&agency.local_authority))
            .unwrap_or(&self.default_local_authority)
    }

    /// The health safeguarding lead, when the file names one.
    pub fn health_safeguarding_lead(&self) -> Option<&Recipient> {
        self.health_safeguarding_lead.as_ref()
    }

    /// The police safeguarding lead, when the file names one.
    pub fn police_safeguarding(&self) -> Option<&Recipient> {
        self.police_safeguarding.as_ref()
    }

    /// Whether a recipient names an agency of the file and one of its teams, or
    /// a receiving role; the words say what is missing.
    pub fn check_recipient(&self, recipient: &Recipient) -> Result<(), String> {
        check_recipient_in(&self.agencies, recipient)
    }

    /// Every recipient the file names (duty teams, heads of service, the
    /// leads), each once.
    pub fn named_recipients(&self) -> Vec<&Recipient> {
        let mut recipients: Vec<&Recipient> = Vec::new();
        for local_authority in self.local_authorities.values() {
            recipients.push(&local_authority.duty_team);
            recipients.push(&local_authority.head_of_service);
        }
        recipients.extend(self.health_safeguarding_lead.iter());
        recipients.extend(self.police_safeguarding.iter());
        recipients.sort();
        recipients.dedup();
        recipients
    }
}

fn check_recipient_in(
    agencies: &BTreeMap<String, AgencyProfile>,
    recipient: &Recipient,
) -> Result<(), String> {
    let Some(agency) = agencies.get(recipient.agency().as_str()) else {
        let names: Vec<&str> = agencies.keys().map(String::as_str).collect();
        return Err(format!(
            "agency \"{}\" is not named in the organisation{}",
            recipient.agency(),
            suggestion(recipient.agency().as_str(), &names)
        ));
    };
    match recipient {
        Recipient::Team { team, .. } if agency.team(team).is_none() => {
            let teams: Vec<&str> = agency.teams.iter().map(|team| team.id.as_str()).collect();
            Err(format!(
                "agency \"{}\" has no team \"{team}\"{}",
                agency.id,
                if teams.is_empty() {
                    " (it names no teams)".to_owned()
                } else {
                    format!(
                        " (its teams: {}){}",
                        quoted_list(&teams),
                        suggestion(team, &teams)
                    )
                }
            ))
        }
        _ => Ok(()),
    }
}

/// The health service an unnamed agency's kinds suggest.
fn health_service_of(kinds: &[&str]) -> HealthService {
    let mut counts: BTreeMap<HealthService, usize> = BTreeMap::new();
    for kind in kinds {
        let service = match *kind {
            "health.gp_consultation" => HealthService::Gp,
            "health.ed_attendance" => HealthService::UnscheduledCare,
            "health.admission" | "health.cp_medical" | "health.birth" => HealthService::Hospital,
            "health.health_visitor_contact" => HealthService::HealthVisiting,
            "health.pregnancy" => HealthService::Midwifery,
            "health.mental_health_contact" => HealthService::MentalHealth,
            "health.sexual_health_contact" => HealthService::SexualHealth,
            _ => continue,
        };
        *counts.entry(service).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(service, count)| (*count, std::cmp::Reverse(*service)))
        .map(|(service, _)| service)
        .unwrap_or(HealthService::Other)
}

fn shorten(text: &str) -> String {
    const CHARS_SHOWN: usize = 80;
    let mut shown: String = text
        .chars()
        .take(CHARS_SHOWN)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > CHARS_SHOWN {
        shown.push('…');
    }
    shown
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn suggestion(input: &str, candidates: &[&str]) -> String {
    match did_you_mean(input, candidates) {
        Some(candidate) => format!(" (did you mean \"{candidate}\"?)"),
        None => String::new(),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

/// A TOML or shape error as a problem: its line, the key on that line, and the
/// message in plain words (unknown keys with a "did you mean").
fn toml_problem(text: &str, error: &toml::de::Error) -> OrgProblem {
    let line = error.span().map(|span| line_of(text, span.start));
    let line_text = line
        .and_then(|line| text.lines().nth(line - 1))
        .unwrap_or("");
    let key_on_line = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"').to_owned())
        .filter(|key| !key.is_empty() && !key.starts_with('[') && !key.starts_with('{'))
        .unwrap_or_default();
    let table = line_text
        .trim()
        .strip_prefix('[')
        .map(|rest| rest.trim_matches(['[', ']', ' ']).to_owned());
    let message = error.message().trim().to_owned();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect::<Vec<_>>();
        return OrgProblem {
            line,
            key: table
                .filter(|table| key_on_line.is_empty() && table != name)
                .unwrap_or_default(),
            message: format!(
                "\"{}\" is not a known key{}{}",
                shorten(name),
                if candidates.is_empty() {
                    String::new()
                } else {
                    format!(" (expected one of {})", quoted_list(&candidates))
                },
                suggestion(name, &candidates)
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return OrgProblem {
            line,
            key: table.unwrap_or_default(),
            message: format!("\"{name}\" is missing"),
        };
    }
    let message = message
        .replace("invalid type: ", "")
        .replace(", expected", "; expected");
    OrgProblem {
        line,
        key: if key_on_line.is_empty() {
            table.unwrap_or_default()
        } else {
            key_on_line
        },
        message,
    }
}

/// The file's shape, as serde reads it (private: the domain types are built
/// from it by [`Builder`]).
mod wire {
    use serde::Deserialize;
    use toml::Spanned;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct File {
        pub name: Spanned<String>,
        pub default_local_authority: Option<Spanned<String>>,
        #[serde(default)]
        pub safeguarding_leads: Option<Leads>,
        #[serde(default)]
        pub local_authority: Vec<Spanned<LocalAuthority>>,
        #[serde(default)]
        pub agency: Vec<Spanned<Agency>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Leads {
        pub health: Option<Spanned<String>>,
        pub police: Option<Spanned<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct LocalAuthority {
        pub id: Spanned<String>,
        pub name: Spanned<String>,
        pub dfe_code: Option<Spanned<String>>,
        pub duty_team: Spanned<String>,
        pub head_of_service: Spanned<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Agency {
        pub id: Spanned<String>,
        pub name: Spanned<String>,
        #[serde(rename = "type")]
        pub agency_type: Spanned<String>,
        pub service: Option<Spanned<String>>,
        pub local_authority: Option<Spanned<String>>,
        pub access_notice: Option<Spanned<String>>,
        #[serde(default)]
        pub teams: Vec<Spanned<Team>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Team {
        pub id: Spanned<String>,
        pub name: Spanned<String>,
    }
}

/// Builds the domain types from the wire shape, collecting every problem.
struct Builder<'t> {
    text: &'t str,
    problems: Vec<OrgProblem>,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Builder<'t> {
        Builder {
            text,
            problems: Vec::new(),
        }
    }

    fn problem<T>(&mut self, at: &toml::Spanned<T>, key: &str, message: String) {
        self.problems.push(OrgProblem {
            line: Some(line_of(self.text, at.span().start)),
            key: key.to_owned(),
            message,
        });
    }

    fn display_name(&mut self, name: &toml::Spanned<String>, key: &str) -> String {
        let text = name.get_ref().trim();
        if text.is_empty() {
            self.problem(name, key, "must not be empty".to_owned());
        } else if text.chars().count() > DISPLAY_NAME_CHARS_MAX {
            self.problem(
                name,
                key,
                format!("is longer than {DISPLAY_NAME_CHARS_MAX} characters"),
            );
        } else if text.chars().any(char::is_control) {
            self.problem(name, key, "contains a control character".to_owned());
        }
        text.to_owned()
    }

    fn build(mut self, file: wire::File) -> Result<Organisation, Vec<OrgProblem>> {
        let name = self.display_name(&file.name, "name");
        if file.agency.len() > AGENCIES_MAX {
            self.problem(
                &file.name,
                "agency",
                format!("{} agencies (at most {AGENCIES_MAX})", file.agency.len()),
            );
        }
        if file.local_authority.len() > LOCAL_AUTHORITIES_MAX {
            self.problem(
                &file.name,
                "local_authority",
                format!(
                    "{} local authorities (at most {LOCAL_AUTHORITIES_MAX})",
                    file.local_authority.len()
                ),
            );
        }
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        if file.local_authority.is_empty() {
            self.problems.push(OrgProblem {
                line: None,
                key: "local_authority".to_owned(),
                message: "no local authority is named (at least one [[local_authority]] with its duty team and head of service)".to_owned(),
            });
        }
        // Local authority ids first: agencies name them.
        let mut la_ids: Vec<String> = Vec::new();
        for local_authority in &file.local_authority {
            let id = local_authority.get_ref().id.get_ref();
            if AgencyId::parse(id).is_err() {
                self.problem(
                    &local_authority.get_ref().id,
                    "local_authority.id",
                    format!(
                        "\"{}\" is not an id (2-64 characters of a-z, 0-9 and -)",
                        shorten(id)
                    ),
                );
            } else if la_ids.contains(id) {
                self.problem(
                    &local_authority.get_ref().id,
                    "local_authority.id",
                    format!("\"{id}\" is named twice"),
                );
            }
            la_ids.push(id.clone());
        }
        let la_names: Vec<&str> = la_ids.iter().map(String::as_str).collect();
        let mut agencies: BTreeMap<String, AgencyProfile> = BTreeMap::new();
        for agency in &file.agency {
            if let Some(profile) =
                self.agency(agency.get_ref(), &la_names, file.local_authority.len())
            {
                if agencies.contains_key(profile.id.as_str()) {
                    self.problem(
                        &agency.get_ref().id,
                        "agency.id",
                        format!("\"{}\" is named twice", profile.id),
                    );
                } else {
                    agencies.insert(profile.id.as_str().to_owned(), profile);
                }
            }
        }
        let mut local_authorities: BTreeMap<String, LocalAuthority> = BTreeMap::new();
        for local_authority in &file.local_authority {
            let wire = local_authority.get_ref();
            let name = self.display_name(&wire.name, "local_authority.name");
            let dfe_code = wire.dfe_code.as_ref().and_then(|code| {
                let text = code.get_ref();
                if text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_digit()) {
                    Some(text.clone())
                } else {
                    self.problem(
                        code,
                        "local_authority.dfe_code",
                        "the Department for Education's code of a local authority is three digits, e.g. \"201\"".to_owned(),
                    );
                    None
                }
            });
            let duty_team = self.recipient(&agencies, &wire.duty_team, "local_authority.duty_team");
            let head_of_service = self.recipient(
                &agencies,
                &wire.head_of_service,
                "local_authority.head_of_service",
            );
            if let Some(duty_team) = &duty_team {
                if !matches!(duty_team, Recipient::Team { .. }) {
                    self.problem(
                        &wire.duty_team,
                        "local_authority.duty_team",
                        "a duty team is a team (team:AGENCY/TEAM), not a role".to_owned(),
                    );
                } else if agencies
                    .get(duty_team.agency().as_str())
                    .is_some_and(|agency| agency.agency_type != AgencyType::SocialCare)
                {
                    self.problem(
                        &wire.duty_team,
                        "local_authority.duty_team",
                        format!(
                            "\"{}\" is not a social care agency (the duty team is children's social care's)",
                            duty_team.agency()
                        ),
                    );
                }
            }
            if let (Some(duty_team), Some(head_of_service)) = (duty_team, head_of_service) {
                local_authorities.insert(
                    wire.id.get_ref().clone(),
                    LocalAuthority {
                        id: wire.id.get_ref().clone(),
                        name,
                        dfe_code,
                        duty_team,
                        head_of_service,
                    },
                );
            }
        }
        let default_id: Option<String> = match &file.default_local_authority {
            Some(default) if la_ids.contains(default.get_ref()) => Some(default.get_ref().clone()),
            Some(default) => {
                let message = format!(
                    "\"{}\" is not a local authority of this file{}",
                    shorten(default.get_ref()),
                    suggestion(default.get_ref(), &la_names)
                );
                self.problem(default, "default_local_authority", message);
                None
            }
            None if la_ids.len() == 1 => la_ids.first().cloned(),
            None if la_ids.len() > 1 => {
                self.problems.push(OrgProblem {
                    line: None,
                    key: "default_local_authority".to_owned(),
                    message: "is missing: with more than one local authority, say which one takes children no record places".to_owned(),
                });
                None
            }
            None => None,
        };
        let (mut health_safeguarding_lead, mut police_safeguarding) = (None, None);
        if let Some(leads) = &file.safeguarding_leads {
            for (lead, key, agency_type) in [
                (
                    &leads.health,
                    "safeguarding_leads.health",
                    AgencyType::Health,
                ),
                (
                    &leads.police,
                    "safeguarding_leads.police",
                    AgencyType::Police,
                ),
            ] {
                let Some(lead) = lead else { continue };
                let Some(recipient) = self.recipient(&agencies, lead, key) else {
                    continue;
                };
                let lead_type = agencies
                    .get(recipient.agency().as_str())
                    .map(|agency| agency.agency_type);
                if lead_type != Some(agency_type) {
                    self.problem(
                        lead,
                        key,
                        format!(
                            "\"{}\" is not a {} agency",
                            recipient.agency(),
                            agency_type.label().to_lowercase()
                        ),
                    );
                } else if agency_type == AgencyType::Health {
                    health_safeguarding_lead = Some(recipient);
                } else {
                    police_safeguarding = Some(recipient);
                }
            }
        }
        let default_local_authority = default_id.and_then(|id| local_authorities.get(&id).cloned());
        match default_local_authority {
            Some(default_local_authority) if self.problems.is_empty() => Ok(Organisation {
                name,
                default_local_authority,
                local_authorities,
                agencies,
                health_safeguarding_lead,
                police_safeguarding,
            }),
            _ => {
                if self.problems.is_empty() {
                    self.problems.push(OrgProblem {
                        line: None,
                        key: "default_local_authority".to_owned(),
                        message: "names no usable local authority".to_owned(),
                    });
                }
                Err(self.problems)
            }
        }
    }

    fn recipient(
        &mut self,
        agencies: &BTreeMap<String, AgencyProfile>,
        text: &toml::Spanned<String>,
        key: &str,
    ) -> Option<Recipient> {
        let recipient = match Recipient::parse(text.get_ref()) {
            Ok(recipient) => recipient,
            Err(message) => {
                self.problem(text, key, message);
                return None;
            }
        };
        if let Err(message) = check_recipient_in(agencies, &recipient) {
            self.problem(text, key, format!("\"{recipient}\": {message}"));
            return None;
        }
        Some(recipient)
    }

    fn agency(
        &mut self,
        agency: &wire::Agency,
        la_names: &[&str],
        n_local_authorities: usize,
    ) -> Option<AgencyProfile> {
        let id = match AgencyId::parse(agency.id.get_ref()) {
            Ok(id) => Some(id),
            Err(error) => {
                self.problem(&agency.id, "agency.id", error.to_string());
                None
            }
        };
        let name = self.display_name(&agency.name, "agency.name");
        let agency_type = match AgencyType::parse(agency.agency_type.get_ref()) {
            Some(agency_type) => Some(agency_type),
            None => {
                let message = format!(
                    "\"{}\" is not an agency type (one of {}){}",
                    shorten(agency.agency_type.get_ref()),
                    quoted_list(AgencyType::NAMES),
                    suggestion(agency.agency_type.get_ref(), AgencyType::NAMES)
                );
                self.problem(&agency.agency_type, "agency.type", message);
                None
            }
        };
        let service = match (&agency.service, agency_type) {
            (Some(service), Some(AgencyType::Health)) => {
                match HealthService::parse(service.get_ref()) {
                    Some(service) => Some(service),
                    None => {
                        let message = format!(
                            "\"{}\" is not a health service (one of {}){}",
                            shorten(service.get_ref()),
                            quoted_list(HealthService::NAMES),
                            suggestion(service.get_ref(), HealthService::NAMES)
                        );
                        self.problem(service, "agency.service", message);
                        None
                    }
                }
            }
            (Some(service), Some(other)) => {
                self.problem(
                    service,
                    "agency.service",
                    format!("only a health agency has a service (this one is {other})"),
                );
                None
            }
            (None, Some(AgencyType::Health)) => {
                self.problem(
                    &agency.agency_type,
                    "agency.service",
                    format!(
                        "is missing: a health agency says its service (one of {})",
                        quoted_list(HealthService::NAMES)
                    ),
                );
                None
            }
            _ => None,
        };
        let local_authority = match &agency.local_authority {
            Some(local_authority) if la_names.contains(&local_authority.get_ref().as_str()) => {
                Some(local_authority.get_ref().clone())
            }
            Some(local_authority) => {
                let message = format!(
                    "\"{}\" is not a local authority of this file{}",
                    shorten(local_authority.get_ref()),
                    suggestion(local_authority.get_ref(), la_names)
                );
                self.problem(local_authority, "agency.local_authority", message);
                None
            }
            None if n_local_authorities <= 1 => la_names.first().map(|id| (*id).to_owned()),
            None => {
                self.problem(
                    &agency.id,
                    "agency.local_authority",
                    "is missing: with more than one local authority, each agency says which is its own".to_owned(),
                );
                None
            }
        };
        if agency.teams.len() > TEAMS_PER_AGENCY_MAX {
            self.problem(
                &agency.id,
                "agency.teams",
                format!(
                    "{} teams (at most {TEAMS_PER_AGENCY_MAX})",
                    agency.teams.len()
                ),
            );
            return None;
        }
        let mut teams: Vec<TeamProfile> = Vec::new();
        for team in &agency.teams {
            let team = team.get_ref();
            if let Err(message) = check_team_id(team.id.get_ref()) {
                self.problem(&team.id, "agency.teams.id", message);
                continue;
            }
            let name = self.display_name(&team.name, "agency.teams.name");
            if teams.iter().any(|known| &known.id == team.id.get_ref()) {
                self.problem(
                    &team.id,
                    "agency.teams.id",
                    format!("\"{}\" is named twice in this agency", team.id.get_ref()),
                );
                continue;
            }
            teams.push(TeamProfile {
                id: team.id.get_ref().clone(),
                name,
            });
        }
        let access_notice = match &agency.access_notice {
            None => AccessNotice::Notify,
            Some(text) => match AccessNotice::parse(text.get_ref()) {
                Some(AccessNotice::Silent)
                    if agency_type.is_some_and(|agency_type| {
                        !AccessNotice::silent_allowed(agency_type, service)
                    }) =>
                {
                    self.problem(
                        text,
                        "agency.access_notice",
                        "\"silent\" is for planned care (a GP practice, say): social care, unscheduled care and hospital agencies cannot be silent".to_owned(),
                    );
                    AccessNotice::Notify
                }
                Some(setting) => setting,
                None => {
                    let message = format!(
                        "\"{}\" is not an access notice setting (one of {}){}",
                        shorten(text.get_ref()),
                        quoted_list(AccessNotice::NAMES),
                        suggestion(text.get_ref(), AccessNotice::NAMES)
                    );
                    self.problem(text, "agency.access_notice", message);
                    AccessNotice::Notify
                }
            },
        };
        // A problem with the service or the local authority is reported once:
        // the agency still counts as named, so recipients naming it are checked.
        Some(AgencyProfile {
            id: id?,
            name,
            agency_type: agency_type?,
            service,
            local_authority: local_authority.unwrap_or_default(),
            teams,
            access_notice,
            named: true,
        })
    }
}

#[cfg(test)]
mod tests;
