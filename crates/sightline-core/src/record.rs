//! A validated interchange record, as the domain sees it. Built only by the
//! interchange parser; it does not derive `Deserialize` (wire types stay at the edge).

use crate::values::{AgencyId, NhsNumber, OccurredAt, PartialDate, Postcode, RecordId};
use crate::vocab::{FindingCode, Kind, RelationshipType, Role, Sex};
use chrono::{DateTime, Utc};

/// One record as an agency sent it, parsed into types.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub source: Source,
    pub kind: Kind,
    pub occurred_at: OccurredAt,
    /// When the agency recorded it; the time Sightline received it when not sent.
    pub recorded_at: DateTime<Utc>,
    pub persons: Vec<Person>,
    pub findings: Vec<Finding>,
    pub relationships: Vec<Relationship>,
    pub narrative: Option<String>,
    pub outcome: Attributes,
}

impl Record {
    /// The index of the person with this ref.
    pub fn person_index(&self, person_ref: &str) -> Option<usize> {
        self.persons
            .iter()
            .position(|person| person.person_ref == person_ref)
    }

    /// The persons the record is about (role `subject`).
    pub fn subjects(&self) -> impl Iterator<Item = &Person> {
        self.persons
            .iter()
            .filter(|person| person.role == Role::Subject)
    }
}

/// Who sent the record and its identity in their system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub agency: AgencyId,
    pub system: Option<String>,
    pub record_id: RecordId,
    /// `source.version`: 1 ..= `i64::MAX` (validated on the way in), the
    /// range the log's 64-bit column holds; a higher version supersedes.
    pub version: i64,
}

/// A person as one agency recorded them in one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub person_ref: String,
    pub role: Role,
    pub source_person_id: Option<String>,
    pub nhs_number: Option<NhsNumber>,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub aliases: Vec<String>,
    pub dob: Option<PartialDate>,
    pub expected_dob: Option<PartialDate>,
    pub sex: Option<Sex>,
    pub address: Option<Address>,
}

/// An address as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub lines: Vec<String>,
    pub postcode: Option<Postcode>,
}

/// A coded observation about some of the record's persons.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: FindingCode,
    /// Indexes into `Record::persons`.
    pub subjects: Vec<usize>,
    pub attributes: Attributes,
}

/// A directed relationship between two of the record's persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// Index into `Record::persons`.
    pub from: usize,
    pub to: usize,
    pub relationship_type: RelationshipType,
}

/// A validated attribute value of an outcome or finding.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Bool(bool),
    /// A value from a closed list; the list is static so this borrows it.
    Enum(&'static str),
    Text(String),
    Int(i64),
    Date(PartialDate),
}

/// Typed attributes in the order the schema lists them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes(pub Vec<(&'static str, AttributeValue)>);

impl Attributes {
    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(AttributeValue::Bool(value)) => Some(*value),
            _ => None,
        }
    }

    /// An enumerated or text value as a string.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(AttributeValue::Enum(value)) => Some(value),
            Some(AttributeValue::Text(value)) => Some(value),
            _ => None,
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(AttributeValue::Int(value)) => Some(*value),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
