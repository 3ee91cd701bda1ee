//! The input model: a child's multi-agency picture as the evaluator sees it.
//!
//! The caller (storage and linkage) builds a [`ChildPicture`] from the log and the
//! linked persons: one [`Event`] per record version that concerns the child or the
//! people around them, and a [`PersonAround`] for each of those people. Building is
//! incremental and cheap: [`ChildPicture::add_event`] inserts in arrival order and
//! derives what the event says about the people in it (their connection to the
//! child, whether social care knows them, offences and releases).
//!
//! Invariant: `ChildPicture::events` is sorted by arrival (`recorded_at`, then the
//! evidence ref) and holds each evidence ref at most once.
//!
//! Invariant: a picture never holds more than [`ChildPicture::EVENTS_MAX`] events or
//! [`ChildPicture::PERSONS_MAX`] people, so one evaluation is bounded.

use chrono::{DateTime, NaiveDate, Utc};
use sightline_core::vocab::OFFENCE_CATEGORIES;
use sightline_core::{Attributes, FindingCode, Kind, PartialDate, RelationshipType, Role, Sex};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Which record version is evidence: `(agency, record_id, version)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EvidenceRef {
    pub agency: String,
    pub record_id: String,
    pub version: i64,
}

impl EvidenceRef {
    pub fn new(agency: impl Into<String>, record_id: impl Into<String>, version: i64) -> Self {
        EvidenceRef {
            agency: agency.into(),
            record_id: record_id.into(),
            version,
        }
    }

    /// Whether `other` is a version of the same record.
    pub fn same_record(&self, other: &EvidenceRef) -> bool {
        self.agency == other.agency && self.record_id == other.record_id
    }
}

impl fmt::Display for EvidenceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} v{}", self.agency, self.record_id, self.version)
    }
}

/// What sort of agency recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgencyType {
    Health,
    Police,
    School,
    SocialCare,
    Probation,
    Housing,
    Other,
}

impl AgencyType {
    pub const ALL: &'static [AgencyType] = &[
        AgencyType::Health,
        AgencyType::Police,
        AgencyType::School,
        AgencyType::SocialCare,
        AgencyType::Probation,
        AgencyType::Housing,
        AgencyType::Other,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "health",
        "police",
        "school",
        "social_care",
        "probation",
        "housing",
        "other",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgencyType::Health => "health",
            AgencyType::Police => "police",
            AgencyType::School => "school",
            AgencyType::SocialCare => "social_care",
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

    /// The agency type a record's kind implies, for when the agency's own type is
    /// not known: `health.*` is health, `education.*` a school, `justice.*` probation
    /// (courts and prisons report through it), and so on.
    pub fn from_kind(kind: Kind) -> AgencyType {
        let prefix = kind.as_str().split('.').next().unwrap_or("");
        match prefix {
            "health" => AgencyType::Health,
            "police" => AgencyType::Police,
            "education" => AgencyType::School,
            "social_care" => AgencyType::SocialCare,
            "justice" | "probation" => AgencyType::Probation,
            "housing" => AgencyType::Housing,
            _ => AgencyType::Other,
        }
    }
}

impl fmt::Display for AgencyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a finding, relationship or link is about: the picture's child or another
/// person (by the linkage's stable person id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Child,
    Person(String),
}

/// A coded finding, its subjects mapped to the child or person ids.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFinding {
    pub code: FindingCode,
    pub subjects: Vec<Subject>,
    pub attributes: Attributes,
}

impl EventFinding {
    pub fn about_child(&self) -> bool {
        self.subjects.contains(&Subject::Child)
    }
}

/// A person other than the child who appears in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPerson {
    pub person_id: String,
    pub role: Role,
    /// Relationships recorded from this person to someone in the same event.
    pub relationships: Vec<(RelationshipType, Subject)>,
}

/// One record version that concerns the child or the people around them.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub evidence: EvidenceRef,
    pub kind: Kind,
    /// The sending agency's type; [`AgencyType::from_kind`] when not known.
    pub agency_type: AgencyType,
    /// When it happened. A month-only date is the first of the month, flagged.
    pub occurred: NaiveDate,
    pub occurred_month_only: bool,
    /// When the agency recorded it: the logical time it became known.
    pub recorded_at: DateTime<Utc>,
    /// The child's role in the record; `None` when it is about household members only.
    pub child_role: Option<Role>,
    pub findings: Vec<EventFinding>,
    pub outcome: Attributes,
    /// The other people in the record (not the child).
    pub people: Vec<EventPerson>,
}

impl Event {
    /// A bare event: the agency type from the kind, nothing else recorded.
    pub fn new(
        evidence: EvidenceRef,
        kind: Kind,
        occurred: NaiveDate,
        recorded_at: DateTime<Utc>,
    ) -> Event {
        Event {
            evidence,
            kind,
            agency_type: AgencyType::from_kind(kind),
            occurred,
            occurred_month_only: false,
            recorded_at,
            child_role: Some(Role::Subject),
            findings: Vec::new(),
            outcome: Attributes::default(),
            people: Vec::new(),
        }
    }

    /// The agency that recorded the event.
    pub fn agency(&self) -> &str {
        &self.evidence.agency
    }

    /// Whether the child appears in the record or a finding names the child.
    pub fn concerns_child(&self) -> bool {
        self.child_role.is_some() || self.findings.iter().any(EventFinding::about_child)
    }

    /// The arrival order key.
    fn arrival_key(&self) -> (DateTime<Utc>, &EvidenceRef) {
        (self.recorded_at, &self.evidence)
    }
}

/// The child the picture is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The stable person id from linkage (never a name).
    pub person_id: String,
    pub dob: Option<PartialDate>,
    pub sex: Option<Sex>,
    pub allocated_worker: Option<String>,
    pub allocated_team: Option<String>,
}

impl Child {
    pub fn new(person_id: impl Into<String>, dob: Option<PartialDate>) -> Child {
        Child {
            person_id: person_id.into(),
            dob,
            sex: None,
            allocated_worker: None,
            allocated_team: None,
        }
    }
}

/// How a person is connected to the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Connection {
    Parent,
    StepParent,
    PartnerOfParent,
    LivesWith,
    Visits,
    /// Named on a form: next of kin, emergency contact, "friend".
    NamedOnForm,
    HouseholdMember,
    Carer,
    /// A grandparent, aunt, uncle, cousin (interchange v1.1 role `relative`,
    /// relationships `grandparent_of`, `relative_of`).
    Relative,
    /// A brother or sister (role `sibling`, relationship `sibling_of`).
    Sibling,
    /// Named as the alleged perpetrator in a record that holds an allegation,
    /// a disclosure, an injury or a sign of exploitation about the child.
    AllegedPerpetrator,
}

impl Connection {
    pub const ALL: &'static [Connection] = &[
        Connection::Parent,
        Connection::StepParent,
        Connection::PartnerOfParent,
        Connection::LivesWith,
        Connection::Visits,
        Connection::NamedOnForm,
        Connection::HouseholdMember,
        Connection::Carer,
        Connection::Relative,
        Connection::Sibling,
        Connection::AllegedPerpetrator,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "parent",
        "step_parent",
        "partner_of_parent",
        "lives_with",
        "visits",
        "named_on_form",
        "household_member",
        "carer",
        "relative",
        "sibling",
        "alleged_perpetrator",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Parent => "parent",
            Connection::StepParent => "step_parent",
            Connection::PartnerOfParent => "partner_of_parent",
            Connection::LivesWith => "lives_with",
            Connection::Visits => "visits",
            Connection::NamedOnForm => "named_on_form",
            Connection::HouseholdMember => "household_member",
            Connection::Carer => "carer",
            Connection::Relative => "relative",
            Connection::Sibling => "sibling",
            Connection::AllegedPerpetrator => "alleged_perpetrator",
        }
    }

    pub fn parse(text: &str) -> Option<Connection> {
        Connection::ALL
            .iter()
            .copied()
            .find(|connection| connection.as_str() == text)
    }

    /// Plain words: "lives with the child".
    pub fn describe(self) -> &'static str {
        match self {
            Connection::Parent => "a parent of the child",
            Connection::StepParent => "a step-parent of the child",
            Connection::PartnerOfParent => "the partner of a parent",
            Connection::LivesWith => "living with the child",
            Connection::Visits => "visiting the child",
            Connection::NamedOnForm => "named on a form (next of kin or contact)",
            Connection::HouseholdMember => "a member of the household",
            Connection::Carer => "a carer of the child",
            Connection::Relative => "a relative of the child",
            Connection::Sibling => "a brother or sister of the child",
            Connection::AllegedPerpetrator => {
                "named as the alleged perpetrator of harm to the child"
            }
        }
    }
}

/// One piece of evidence that a person is connected to the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub connection: Connection,
    pub evidence: EvidenceRef,
    pub agency_type: AgencyType,
    pub recorded_at: DateTime<Utc>,
}

/// Where an offence was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffenceSource {
    /// An `offence` finding in any record.
    Finding,
    Arrest,
    Conviction,
    /// The offence a person was released from custody for.
    Release,
}

/// A recorded offence of a person around the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offence {
    /// One of `sightline_core::vocab::OFFENCE_CATEGORIES`; free text that is none of
    /// them is kept as `other`.
    pub category: &'static str,
    pub victim_was_child: Option<bool>,
    pub source: OffenceSource,
    pub occurred: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub evidence: EvidenceRef,
}

impl Offence {
    /// An offence against a child: so categorised, or the victim recorded as a child.
    pub fn against_child(&self) -> bool {
        self.victim_was_child == Some(true)
            || matches!(
                self.category,
                "sexual_offence_against_child" | "cruelty_to_child"
            )
    }
}

/// A release from custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub occurred: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub evidence: EvidenceRef,
}

/// A person around the child and what is recorded about them.
///
/// Invariant: `links`, `offences` and `releases` are sorted by `recorded_at`, then
/// evidence, whatever order they were added in (so explanations do not depend on
/// the order records were loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonAround {
    pub person_id: String,
    pub dob: Option<PartialDate>,
    pub links: Vec<Link>,
    /// When the child's social care first recorded this person (their earliest
    /// appearance in a `social_care.*` record in the picture).
    pub known_to_social_care_since: Option<DateTime<Utc>>,
    pub offences: Vec<Offence>,
    pub releases: Vec<Release>,
}

impl PersonAround {
    pub fn new(person_id: impl Into<String>) -> PersonAround {
        PersonAround {
            person_id: person_id.into(),
            dob: None,
            links: Vec::new(),
            known_to_social_care_since: None,
            offences: Vec::new(),
            releases: Vec::new(),
        }
    }

    /// Adds a link unless the same connection from the same evidence is there.
    pub fn add_link(&mut self, link: Link) {
        let duplicate = self
            .links
            .iter()
            .any(|known| known.connection == link.connection && known.evidence == link.evidence);
        if !duplicate {
            let position = self.links.partition_point(|known| {
                (known.recorded_at, &known.evidence, known.connection)
                    <= (link.recorded_at, &link.evidence, link.connection)
            });
            self.links.insert(position, link);
        }
    }

    /// Adds an offence unless one of the same category from the same evidence is there.
    pub fn add_offence(&mut self, offence: Offence) {
        let duplicate = self
            .offences
            .iter()
            .any(|known| known.category == offence.category && known.evidence == offence.evidence);
        if !duplicate {
            let position = self.offences.partition_point(|known| {
                (known.recorded_at, &known.evidence, known.category)
                    <= (offence.recorded_at, &offence.evidence, offence.category)
            });
            self.offences.insert(position, offence);
        }
    }

    pub fn add_release(&mut self, release: Release) {
        if !self
            .releases
            .iter()
            .any(|known| known.evidence == release.evidence)
        {
            let position = self.releases.partition_point(|known| {
                (known.recorded_at, &known.evidence) <= (release.recorded_at, &release.evidence)
            });
            self.releases.insert(position, release);
        }
    }

    /// Records that social care knew the person at `at` (keeps the earliest).
    pub fn mark_known_to_social_care(&mut self, at: DateTime<Utc>) {
        let earliest = match self.known_to_social_care_since {
            Some(known) if known <= at => known,
            _ => at,
        };
        self.known_to_social_care_since = Some(earliest);
    }
}

/// Why a picture refused an addition. No variant carries a person id, so these
/// may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("the picture already holds {max} events (the limit)")]
    TooManyEvents { max: usize },
    #[error("the picture already holds {max} people (the limit)")]
    TooManyPeople { max: usize },
}

/// A child and everything recorded about them and the people around them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildPicture {
    pub child: Child,
    events: Vec<Event>,
    /// The evidence refs of `events`, for the duplicate check.
    known: BTreeSet<EvidenceRef>,
    people: BTreeMap<String, PersonAround>,
}

impl ChildPicture {
    /// The most events one picture holds.
    pub const EVENTS_MAX: usize = 20_000;
    /// The most people around one child a picture holds.
    pub const PERSONS_MAX: usize = 500;

    pub fn new(child: Child) -> ChildPicture {
        ChildPicture {
            child,
            events: Vec::new(),
            known: BTreeSet::new(),
            people: BTreeMap::new(),
        }
    }

    /// The events in arrival order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The people around the child, by person id.
    pub fn people(&self) -> impl Iterator<Item = &PersonAround> {
        self.people.values()
    }

    pub fn person(&self, person_id: &str) -> Option<&PersonAround> {
        self.people.get(person_id)
    }

    /// The person with this id, added if new (for the caller's own links, offences
    /// and releases, e.g. from another child's records or linkage).
    pub fn person_entry(&mut self, person_id: &str) -> Result<&mut PersonAround, PictureError> {
        if !self.people.contains_key(person_id) && self.people.len() >= Self::PERSONS_MAX {
            return Err(PictureError::TooManyPeople {
                max: Self::PERSONS_MAX,
            });
        }
        Ok(self
            .people
            .entry(person_id.to_owned())
            .or_insert_with(|| PersonAround::new(person_id)))
    }

    /// Adds an event in arrival order and derives what it says about the people in
    /// it. Adding the same evidence ref twice is a no-op. Cost: two lookups and an
    /// insert, plus a pass over the event's people.
    pub fn add_event(&mut self, event: Event) -> Result<(), PictureError> {
        if self.known.contains(&event.evidence) {
            return Ok(());
        }
        if self.events.len() >= Self::EVENTS_MAX {
            return Err(PictureError::TooManyEvents {
                max: Self::EVENTS_MAX,
            });
        }
        // Refuse before changing anything, so a refused event leaves no trace.
        let mut new_people: BTreeSet<&str> = event
            .people
            .iter()
            .map(|person| person.person_id.as_str())
            .collect();
        for finding in &event.findings {
            for subject in &finding.subjects {
                if let Subject::Person(person_id) = subject {
                    new_people.insert(person_id);
                }
            }
        }
        new_people.retain(|person_id| !self.people.contains_key(*person_id));
        if self.people.len() + new_people.len() > Self::PERSONS_MAX {
            return Err(PictureError::TooManyPeople {
                max: Self::PERSONS_MAX,
            });
        }
        self.derive_people(&event)?;
        let position = self
            .events
            .partition_point(|known| known.arrival_key() <= event.arrival_key());
        self.known.insert(event.evidence.clone());
        self.events.insert(position, event);
        Ok(())
    }

    /// What an event says about the people in it.
    fn derive_people(&mut self, event: &Event) -> Result<(), PictureError> {
        let parents: Vec<&str> = event
            .people
            .iter()
            .filter(|person| {
                person.role == Role::Parent
                    || person.relationships.iter().any(|(relationship, to)| {
                        *relationship == RelationshipType::ParentOf && *to == Subject::Child
                    })
            })
            .map(|person| person.person_id.as_str())
            .collect();
        // Relationships recorded from a parent to someone else connect that person.
        let mut from_parents: Vec<(&str, Connection)> = Vec::new();
        for person in event
            .people
            .iter()
            .filter(|person| parents.contains(&person.person_id.as_str()))
        {
            for (relationship, to) in &person.relationships {
                let connection = match relationship {
                    RelationshipType::PartnerOf => Connection::PartnerOfParent,
                    RelationshipType::LivesWith => Connection::LivesWith,
                    _ => continue,
                };
                if let Subject::Person(other) = to {
                    from_parents.push((other.as_str(), connection));
                }
            }
        }
        // Harm to the child recorded here: an alleged perpetrator named beside
        // it is connected to the child as such.
        let harm_to_child = event.findings.iter().any(|finding| {
            matches!(
                finding.code,
                FindingCode::Allegation
                    | FindingCode::Disclosure
                    | FindingCode::Injury
                    | FindingCode::ExploitationIndicator
            ) && finding.about_child()
        });
        for person in &event.people {
            let mut connections = connections_of(person, &parents);
            if harm_to_child && person.role == Role::AllegedPerpetrator {
                connections.push(Connection::AllegedPerpetrator);
            }
            for (other, connection) in &from_parents {
                if *other == person.person_id && !connections.contains(connection) {
                    connections.push(*connection);
                }
            }
            let entry = self.person_entry(&person.person_id)?;
            for connection in connections {
                entry.add_link(Link {
                    connection,
                    evidence: event.evidence.clone(),
                    agency_type: event.agency_type,
                    recorded_at: event.recorded_at,
                });
            }
            if event.agency_type == AgencyType::SocialCare && person.role != Role::Professional {
                entry.mark_known_to_social_care(event.recorded_at);
            }
        }
        for finding in &event.findings {
            if finding.code != FindingCode::Offence {
                continue;
            }
            for subject in &finding.subjects {
                if let Subject::Person(person_id) = subject {
                    let offence = Offence {
                        category: offence_category(finding.attributes.text("category")),
                        victim_was_child: None,
                        source: OffenceSource::Finding,
                        occurred: event.occurred,
                        recorded_at: event.recorded_at,
                        evidence: event.evidence.clone(),
                    };
                    self.person_entry(person_id)?.add_offence(offence);
                }
            }
        }
        let source = match event.kind {
            Kind::PoliceArrest => Some(OffenceSource::Arrest),
            Kind::JusticeConviction => Some(OffenceSource::Conviction),
            Kind::JusticeRelease => Some(OffenceSource::Release),
            _ => None,
        };
        let Some(source) = source else {
            return Ok(());
        };
        let subjects = event
            .people
            .iter()
            .filter(|person| person.role == Role::Subject);
        for person in subjects {
            let offence = Offence {
                category: offence_category(event.outcome.text("offence_category")),
                victim_was_child: event.outcome.bool("victim_was_child"),
                source,
                occurred: event.occurred,
                recorded_at: event.recorded_at,
                evidence: event.evidence.clone(),
            };
            let release = (source == OffenceSource::Release).then(|| Release {
                occurred: event.occurred,
                recorded_at: event.recorded_at,
                evidence: event.evidence.clone(),
            });
            // Kept apart from the borrow of `self.people` above.
            let entry = self.person_entry(&person.person_id)?;
            entry.add_offence(offence);
            if let Some(release) = release {
                entry.add_release(release);
            }
        }
        Ok(())
    }
}

/// The category of an offence, from a finding's enum value or an outcome's free
/// text; text that is no known category is `other`.
fn offence_category(text: Option<&str>) -> &'static str {
    let text = text.unwrap_or("other");
    OFFENCE_CATEGORIES
        .iter()
        .copied()
        .find(|category| *category == text)
        .unwrap_or("other")
}

/// The connections one appearance in a record establishes.
fn connections_of(person: &EventPerson, parents: &[&str]) -> Vec<Connection> {
    let mut connections = Vec::new();
    match person.role {
        Role::Parent => connections.push(Connection::Parent),
        Role::Carer => connections.push(Connection::Carer),
        Role::HouseholdMember => connections.push(Connection::HouseholdMember),
        Role::Visitor => connections.push(Connection::Visits),
        Role::Partner => connections.push(Connection::PartnerOfParent),
        Role::Other => connections.push(Connection::NamedOnForm),
        Role::Relative => connections.push(Connection::Relative),
        Role::Sibling => connections.push(Connection::Sibling),
        Role::Subject | Role::AllegedPerpetrator | Role::Referrer | Role::Professional => {}
    }
    for (relationship, to) in &person.relationships {
        let to_child = *to == Subject::Child;
        let to_parent = matches!(to, Subject::Person(id) if parents.contains(&id.as_str()));
        let connection = match relationship {
            RelationshipType::ParentOf if to_child => Some(Connection::Parent),
            RelationshipType::StepParentOf if to_child => Some(Connection::StepParent),
            RelationshipType::CarerOf if to_child => Some(Connection::Carer),
            RelationshipType::LivesWith if to_child || to_parent => Some(Connection::LivesWith),
            RelationshipType::Visits if to_child || to_parent => Some(Connection::Visits),
            RelationshipType::PartnerOf if to_parent => Some(Connection::PartnerOfParent),
            RelationshipType::GrandparentOf | RelationshipType::RelativeOf if to_child => {
                Some(Connection::Relative)
            }
            RelationshipType::SiblingOf if to_child => Some(Connection::Sibling),
            _ => None,
        };
        if let Some(connection) = connection
            && !connections.contains(&connection)
        {
            connections.push(connection);
        }
    }
    connections
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(record_id: &str, people: &[(&str, Role)], recorded_hour: u32) -> Event {
        let occurred = NaiveDate::from_ymd_opt(2007, 3, 1).unwrap();
        let recorded_at = Utc
            .with_ymd_and_hms(2007, 3, 1, recorded_hour, 0, 0)
            .unwrap();
        let mut event = Event::new(
            EvidenceRef::new("north-hv", record_id, 1),
            Kind::HealthHealthVisitorContact,
            occurred,
            recorded_at,
        );
        event.people = people
            .iter()
            .map(|(person_id, role)| EventPerson {
                person_id: (*person_id).to_owned(),
                role: *role,
                relationships: Vec::new(),
            })
            .collect();
        event
    }

    #[test]
    fn events_keep_arrival_order_and_duplicates_are_ignored() {
        let mut picture = ChildPicture::new(Child::new("child-1", None));
        picture.add_event(event("b", &[], 12)).unwrap();
        picture.add_event(event("a", &[], 9)).unwrap();
        picture.add_event(event("c", &[], 12)).unwrap();
        picture.add_event(event("a", &[], 9)).unwrap();
        let ids: Vec<&str> = picture
            .events()
            .iter()
            .map(|event| event.evidence.record_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn people_and_links_are_derived_from_roles_and_relationships() {
        let mut picture = ChildPicture::new(Child::new("child-1", None));
        let mut with_partner = event(
            "r1",
            &[("mother-1", Role::Parent), ("adult-2", Role::Other)],
            10,
        );
        with_partner.people[0].relationships.push((
            RelationshipType::PartnerOf,
            Subject::Person("adult-2".to_owned()),
        ));
        picture.add_event(with_partner).unwrap();
        let adult = picture.person("adult-2").unwrap();
        let connections: Vec<Connection> = adult.links.iter().map(|link| link.connection).collect();
        assert_eq!(
            connections,
            [Connection::PartnerOfParent, Connection::NamedOnForm]
        );
        assert!(adult.known_to_social_care_since.is_none());

        let mut visit = event(
            "r2",
            &[("adult-2", Role::Partner), ("worker-9", Role::Professional)],
            11,
        );
        visit.kind = Kind::SocialCareVisit;
        visit.agency_type = AgencyType::SocialCare;
        picture.add_event(visit).unwrap();
        assert!(
            picture
                .person("adult-2")
                .unwrap()
                .known_to_social_care_since
                .is_some()
        );
        assert!(
            picture
                .person("worker-9")
                .unwrap()
                .known_to_social_care_since
                .is_none()
        );
        assert!(picture.person("worker-9").unwrap().links.is_empty());
    }

    #[test]
    fn the_people_limit_refuses_without_a_trace() {
        let mut picture = ChildPicture::new(Child::new("child-1", None));
        for idx in 0..ChildPicture::PERSONS_MAX {
            picture.person_entry(&format!("p{idx}")).unwrap();
        }
        let refused = picture.add_event(event("r1", &[("newcomer", Role::Visitor)], 10));
        assert_eq!(
            refused,
            Err(PictureError::TooManyPeople {
                max: ChildPicture::PERSONS_MAX
            })
        );
        assert!(picture.events().is_empty());
        assert!(picture.person("newcomer").is_none());
    }
}
