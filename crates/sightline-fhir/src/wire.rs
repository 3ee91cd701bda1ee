//! The FHIR R4 elements Sightline reads, as serde wire structs. Only the subset
//! the mapping uses is declared: every other element of a resource is read past
//! (FHIR lets a receiver ignore elements it does not use, but never a modifier
//! extension: those are found by walking the JSON, see `modifier_extensions`).
//! These types never leave the crate; the mapping turns them into interchange
//! records.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: String,
    #[serde(rename = "type")]
    pub bundle_type: Option<String>,
    pub timestamp: Option<String>,
    /// Read as JSON so that each entry's resource is typed on its own, with
    /// its own path.
    #[serde(default)]
    pub entry: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub full_url: Option<String>,
    pub resource: Option<Value>,
    pub request: Option<Request>,
}

#[derive(Debug, Deserialize)]
pub struct Request {
    pub method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub version_id: Option<String>,
    pub last_updated: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    pub value_codeable_concept: Option<CodeableConcept>,
    pub value_code: Option<String>,
    pub value_string: Option<String>,
    pub value_boolean: Option<bool>,
    pub value_integer: Option<i64>,
    pub value_date: Option<String>,
    #[serde(default)]
    pub extension: Vec<Extension>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Identifier {
    #[serde(default)]
    pub extension: Vec<Extension>,
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Reference {
    pub reference: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub name_use: Option<String>,
    pub text: Option<String>,
    pub family: Option<String>,
    #[serde(default)]
    pub given: Vec<String>,
    pub period: Option<Period>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "use")]
    pub address_use: Option<String>,
    #[serde(rename = "type")]
    pub address_type: Option<String>,
    #[serde(default)]
    pub line: Vec<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub postal_code: Option<String>,
    pub period: Option<Period>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Annotation {
    pub text: Option<String>,
}

/// Patient and RelatedPerson: the demographic elements they share, and
/// RelatedPerson's link to its patient. (One struct, not a flattened pair:
/// flattening would lose the path of a wrongly typed element.)
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub name: Vec<HumanName>,
    pub gender: Option<String>,
    pub birth_date: Option<String>,
    #[serde(default)]
    pub address: Vec<Address>,
    /// RelatedPerson only.
    pub patient: Option<Reference>,
    /// RelatedPerson only.
    #[serde(default)]
    pub relationship: Vec<CodeableConcept>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encounter {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub status: Option<String>,
    pub class: Option<Coding>,
    #[serde(rename = "type", default)]
    pub encounter_type: Vec<CodeableConcept>,
    pub subject: Option<Reference>,
    pub period: Option<Period>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub status: Option<String>,
    pub start: Option<String>,
    #[serde(default)]
    pub participant: Vec<AppointmentParticipant>,
}

#[derive(Debug, Deserialize)]
pub struct AppointmentParticipant {
    pub actor: Option<Reference>,
}

/// Condition and Observation: a coded statement about a patient, read as a
/// finding.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub extension: Vec<Extension>,
    pub verification_status: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    #[serde(default)]
    pub body_site: Vec<CodeableConcept>,
    pub subject: Option<Reference>,
    pub encounter: Option<Reference>,
    pub onset_date_time: Option<String>,
    pub recorded_date: Option<String>,
    #[serde(default)]
    pub note: Vec<Annotation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub extension: Vec<Extension>,
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    #[serde(default)]
    pub focus: Vec<Reference>,
    pub encounter: Option<Reference>,
    pub effective_date_time: Option<String>,
    pub issued: Option<String>,
    pub value_boolean: Option<bool>,
    pub body_site: Option<CodeableConcept>,
    #[serde(default)]
    pub note: Vec<Annotation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    pub id: Option<String>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
    pub period: Option<Period>,
}
