//! FHIR R4 intake: a `Bundle` (type `transaction`, `batch` or `collection`) of
//! the UK Core resources Sightline reads, mapped to interchange records
//! (`spec/interchange.md`) which the interchange parser then validates like
//! any other batch. The mapping table is `docs/integrators.md`, "FHIR R4".
//!
//! | FHIR | interchange |
//! |---|---|
//! | `Patient`, `RelatedPerson` | the record's persons (the patient as `subject`; related persons with the role and relationship of their `relationship` code) |
//! | `Encounter` | one record: emergency attendance, admission, GP consultation, health visiting contact, did not attend... |
//! | `Appointment` with status `noshow` | `health.appointment_missed` |
//! | `Condition`, `Observation` | findings of their encounter's record (an injury with its body site...); alone, an `other.note` |
//! | `Flag` | `social_care.plan` (child protection, looked after, child in need), start or end |
//! | `Patient` in no record | `person.registered` |
//!
//! Invariant: a bundle is all or nothing: [`map_bundle`] returns every record
//! or every problem, each with the FHIR path it is about
//! (`Bundle.entry[3].resource.birthDate`); a problem the interchange parser
//! finds in a mapped record is reported at the FHIR element it came from.
//!
//! Invariant: pure, like `sightline-core`: no IO, no clock (`received_at` is a
//! parameter), no panic on any input (property-tested).

mod codes;
mod wire;

pub use codes::{
    NHS_NUMBER_SYSTEM, NHS_NUMBER_VERIFICATION_EXTENSION, NHS_NUMBER_VERIFICATION_SYSTEM,
    SIGHTLINE_FINDING, SIGHTLINE_FINDING_ATTRIBUTES, SIGHTLINE_KIND, SIGHTLINE_PLAN,
};

use chrono::{DateTime, Utc};
use codes::quoted_list;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sightline_core::AgencyId;
use sightline_core::interchange::{self, Limits, ParsedRecord, Position, Problem};
use sightline_core::org::HealthService;
use std::collections::HashMap;

/// The most entries one bundle may hold.
pub const ENTRIES_MAX: usize = 10_000;

/// The `source.system` of every mapped record.
pub const SOURCE_SYSTEM: &str = "FHIR R4";

/// Who sent a bundle and when it arrived.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The sending agency: every record's `source.agency`.
    pub agency: &'a AgencyId,
    /// The agency's health service in the organisation, which says what an
    /// ambulatory, home or virtual encounter is (a GP practice's is a GP
    /// consultation, a health visiting service's a health visiting contact).
    pub service: Option<HealthService>,
    pub received_at: DateTime<Utc>,
    pub limits: &'a Limits,
}

/// The three bundle types Sightline accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleType {
    Transaction,
    Batch,
    Collection,
}

impl BundleType {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleType::Transaction => "transaction",
            BundleType::Batch => "batch",
            BundleType::Collection => "collection",
        }
    }
}

/// What became of one entry of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// It is the record at this index of [`Mapped::records`].
    Record(usize),
    /// It was read into these records (a patient, a related person, a finding).
    PartOf(Vec<usize>),
    /// Nothing was stored, for this reason (in plain words).
    NotStored(String),
}

/// A mapped bundle: its records, ready for the log, and what became of each entry.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub bundle_type: BundleType,
    pub records: Vec<ParsedRecord>,
    /// One per entry, in bundle order.
    pub entries: Vec<EntryOutcome>,
}

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirProblem {
    /// The entry it is about, when it is about one.
    pub entry: Option<usize>,
    /// The FHIR path: `Bundle.entry[3].resource.birthDate`.
    pub path: String,
    /// Plain words.
    pub message: String,
}

impl FhirProblem {
    /// A problem at `path`; its entry is the one the path names.
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        let path = path.into();
        FhirProblem {
            entry: entry_of(&path),
            path,
            message: message.into(),
        }
    }

    /// The problem as an interchange [`Problem`] (position: the entry's index,
    /// or the batch), so a FHIR file's problems print beside other files'.
    pub fn to_problem(&self) -> Problem {
        Problem {
            position: self
                .entry
                .map_or(Position::Batch, |entry| Position::Index(entry as u64)),
            path: self.path.clone(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for FhirProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.path, self.message)
    }
}

/// Reads a bundle and maps it to interchange records, validated by the
/// interchange parser; or returns every problem.
pub fn map_bundle(input: &[u8], context: &Context) -> Result<Mapped, Vec<FhirProblem>> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let value: Value = serde_json::from_slice(input).map_err(|error| {
        vec![FhirProblem::new(
            "Bundle",
            format!("is not valid JSON: {error}"),
        )]
    })?;
    let bundle: wire::Bundle = typed(&value, "Bundle").map_err(|problem| vec![problem])?;
    let mut problems = Vec::new();
    if bundle.resource_type != "Bundle" {
        problems.push(FhirProblem::new(
            "Bundle.resourceType",
            format!(
                "\"{}\" is not a Bundle: send a Bundle of type transaction, batch or collection",
                bundle.resource_type
            ),
        ));
        return Err(problems);
    }
    let bundle_type = match bundle.bundle_type.as_deref() {
        Some("transaction") => BundleType::Transaction,
        Some("batch") => BundleType::Batch,
        Some("collection") => BundleType::Collection,
        Some(other) => {
            return Err(vec![FhirProblem::new(
                "Bundle.type",
                format!(
                    "\"{other}\" is not one Sightline accepts (one of \"transaction\", \"batch\", \"collection\")"
                ),
            )]);
        }
        None => {
            return Err(vec![FhirProblem::new(
                "Bundle.type",
                "is required (one of \"transaction\", \"batch\", \"collection\")",
            )]);
        }
    };
    if bundle.entry.len() > ENTRIES_MAX {
        return Err(vec![FhirProblem::new(
            "Bundle.entry",
            format!(
                "the bundle holds {} entries (at most {ENTRIES_MAX}); split it",
                bundle.entry.len()
            ),
        )]);
    }
    let mut reader = Reader {
        context,
        bundle_timestamp: bundle.timestamp.clone(),
        entries: Vec::with_capacity(bundle.entry.len()),
        index: HashMap::new(),
        problems: Vec::new(),
    };
    for (entry_idx, entry) in bundle.entry.iter().enumerate() {
        reader.read_entry(entry_idx, entry, bundle_type);
    }
    reader.map(bundle_type)
}

/// Deserialises `value` as `T`, a problem naming the element's path otherwise.
fn typed<T: DeserializeOwned>(value: &Value, base: &str) -> Result<T, FhirProblem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            base.to_owned()
        } else {
            format!("{base}.{inner}")
        };
        FhirProblem::new(path, error.into_inner().to_string())
    })
}

/// A resource of the bundle, typed.
enum Resource {
    Patient(wire::Person),
    RelatedPerson(wire::Person),
    Encounter(wire::Encounter),
    Appointment(wire::Appointment),
    Condition(wire::Condition),
    Observation(wire::Observation),
    Flag(wire::Flag),
    /// Read for context only (the organisation, practitioners, places).
    Context,
    /// A resource type Sightline does not map.
    Other(String),
}

struct ReadEntry {
    resource: Resource,
    /// `Bundle.entry[i].resource`.
    path: String,
    full_url: Option<String>,
}

struct Reader<'c> {
    context: &'c Context<'c>,
    bundle_timestamp: Option<String>,
    entries: Vec<ReadEntry>,
    /// Reference keys (`fullUrl`, `Type/id`) to entry indexes.
    index: HashMap<String, usize>,
    problems: Vec<FhirProblem>,
}

const CONTEXT_TYPES: &[&str] = &[
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
];

impl Reader<'_> {
    fn read_entry(&mut self, entry_idx: usize, value: &Value, bundle_type: BundleType) {
        let entry_path = format!("Bundle.entry[{entry_idx}]");
        let path = format!("{entry_path}.resource");
        let placeholder = ReadEntry {
            resource: Resource::Other(String::new()),
            path: path.clone(),
            full_url: None,
        };
        let entry: wire::Entry = match typed(value, &entry_path) {
            Ok(entry) => entry,
            Err(problem) => {
                self.problems.push(problem);
                self.entries.push(placeholder);
                return;
            }
        };
        if bundle_type != BundleType::Collection {
            match entry.request.as_ref().and_then(|request| request.method.as_deref()) {
                Some("POST" | "PUT") => {}
                Some(method) => self.problems.push(FhirProblem::new(format!("{entry_path}.request.method"),
                    format!(
                        "\"{method}\" is not accepted: Sightline's log is append-only, so an entry creates (POST) or updates (PUT, with a higher meta.versionId) a record"
                    ),
                )),
                None => self.problems.push(FhirProblem::new(format!("{entry_path}.request"),
                    format!(
                        "an entry of a {} bundle needs request.method POST or PUT",
                        bundle_type.as_str()
                    ),
                )),
            }
        }
        let Some(resource_value) = entry.resource.as_ref() else {
            self.problems.push(FhirProblem::new(
                path,
                "is required: each entry carries a resource",
            ));
            self.entries.push(placeholder);
            return;
        };
        let Some(resource_type) = resource_value
            .get("resourceType")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            self.problems.push(FhirProblem::new(
                format!("{path}.resourceType"),
                "is required",
            ));
            self.entries.push(placeholder);
            return;
        };
        let mapped = !CONTEXT_TYPES.contains(&resource_type.as_str());
        if mapped {
            modifier_extensions(resource_value, &path, &mut self.problems);
        }
        let resource = match resource_type.as_str() {
            "Patient" => self.typed(resource_value, &path, Resource::Patient),
            "RelatedPerson" => self.typed(resource_value, &path, Resource::RelatedPerson),
            "Encounter" => self.typed(resource_value, &path, Resource::Encounter),
            "Appointment" => self.typed(resource_value, &path, Resource::Appointment),
            "Condition" => self.typed(resource_value, &path, Resource::Condition),
            "Observation" => self.typed(resource_value, &path, Resource::Observation),
            "Flag" => self.typed(resource_value, &path, Resource::Flag),
            other if CONTEXT_TYPES.contains(&other) => Resource::Context,
            other => Resource::Other(other.to_owned()),
        };
        if let Some(full_url) = &entry.full_url {
            self.index.insert(full_url.clone(), entry_idx);
            if let Some(key) = type_and_id(full_url) {
                self.index.entry(key).or_insert(entry_idx);
            }
        }
        if let Some(id) = resource_value.get("id").and_then(Value::as_str) {
            self.index
                .entry(format!("{resource_type}/{id}"))
                .or_insert(entry_idx);
        }
        self.entries.push(ReadEntry {
            resource,
            path,
            full_url: entry.full_url,
        });
    }

    fn typed<T: DeserializeOwned>(
        &mut self,
        value: &Value,
        path: &str,
        make: fn(T) -> Resource,
    ) -> Resource {
        match typed(value, path) {
            Ok(resource) => make(resource),
            Err(problem) => {
                self.problems.push(problem);
                Resource::Other(String::new())
            }
        }
    }

    /// The entry a reference names, if it is in the bundle.
    fn resolve(&self, reference: &str) -> Option<usize> {
        let reference = reference
            .split_once("/_history/")
            .map_or(reference, |(before, _)| before);
        self.index
            .get(reference)
            .or_else(|| type_and_id(reference).and_then(|key| self.index.get(&key)))
            .copied()
    }

    /// Maps every entry; the records then go through the interchange parser.
    fn map(mut self, bundle_type: BundleType) -> Result<Mapped, Vec<FhirProblem>> {
        let n_entries = self.entries.len();
        let mut outcomes: Vec<Option<EntryOutcome>> = vec![None; n_entries];
        let mut part_of: Vec<Vec<usize>> = vec![Vec::new(); n_entries];
        let mut drafts: Vec<Draft> = Vec::new();
        // Problems reading the entries are reported with the mapping's.
        let mut problems = std::mem::take(&mut self.problems);

        // Related persons by their patient's entry.
        let mut related: HashMap<usize, Vec<usize>> = HashMap::new();
        for (entry_idx, entry) in self.entries.iter().enumerate() {
            if let Resource::RelatedPerson(person) = &entry.resource {
                match self.reference_to(
                    person.patient.as_ref(),
                    &format!("{}.patient", entry.path),
                    "Patient",
                ) {
                    Ok(patient_idx) => related.entry(patient_idx).or_default().push(entry_idx),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        // Findings by their encounter's entry; findings with no encounter are
        // records of their own.
        let mut findings_of: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut lone_findings = Vec::new();
        for (entry_idx, entry) in self.entries.iter().enumerate() {
            let encounter = match &entry.resource {
                Resource::Condition(condition) => condition.encounter.as_ref(),
                Resource::Observation(observation) => observation.encounter.as_ref(),
                _ => continue,
            };
            match encounter {
                Some(reference) => match self.reference_to(
                    Some(reference),
                    &format!("{}.encounter", entry.path),
                    "Encounter",
                ) {
                    Ok(encounter_idx) => findings_of
                        .entry(encounter_idx)
                        .or_default()
                        .push(entry_idx),
                    Err(problem) => problems.push(problem),
                },
                None => lone_findings.push(entry_idx),
            }
        }

        for entry_idx in 0..n_entries {
            let entry = &self.entries[entry_idx];
            let result = match &entry.resource {
                Resource::Encounter(encounter) => self.encounter_draft(
                    entry_idx,
                    encounter,
                    &related,
                    findings_of.get(&entry_idx).map_or(&[][..], Vec::as_slice),
                ),
                Resource::Appointment(appointment) => {
                    self.appointment_draft(entry_idx, appointment, &related)
                }
                Resource::Flag(flag) => self.flag_draft(entry_idx, flag, &related),
                Resource::Condition(_) | Resource::Observation(_)
                    if lone_findings.contains(&entry_idx) =>
                {
                    self.lone_finding_draft(entry_idx, &related)
                }
                Resource::Context => Ok(DraftOutcome::NotStored(
                    "read as context only (Sightline keeps agencies, not their staff or places)"
                        .to_owned(),
                )),
                Resource::Other(resource_type) => Ok(DraftOutcome::NotStored(format!(
                    "a {resource_type} is not a resource Sightline maps (it reads Patient, RelatedPerson, Encounter, Appointment, Condition, Observation and Flag)"
                ))),
                _ => continue,
            };
            match result {
                Ok(DraftOutcome::Draft(draft)) => {
                    let record_idx = drafts.len();
                    outcomes[entry_idx] = Some(EntryOutcome::Record(record_idx));
                    for &member in &draft.members {
                        part_of[member].push(record_idx);
                    }
                    for (member, reason) in &draft.findings_not_stored {
                        outcomes[*member] = Some(EntryOutcome::NotStored(reason.clone()));
                    }
                    drafts.push(draft);
                }
                Ok(DraftOutcome::NotStored(reason)) => {
                    outcomes[entry_idx] = Some(EntryOutcome::NotStored(reason));
                }
                Err(mut found) => problems.append(&mut found),
            }
        }
        // A patient no resource of the bundle is about: its demographics,
        // registered.
        let referenced: Vec<usize> = self
            .entries
            .iter()
            .flat_map(|entry| match &entry.resource {
                Resource::Encounter(encounter) => vec![encounter.subject.as_ref()],
                Resource::Flag(flag) => vec![flag.subject.as_ref()],
                Resource::Condition(condition) => vec![condition.subject.as_ref()],
                Resource::Observation(observation) => vec![observation.subject.as_ref()],
                Resource::Appointment(appointment) => appointment
                    .participant
                    .iter()
                    .map(|participant| participant.actor.as_ref())
                    .collect(),
                _ => Vec::new(),
            })
            .flatten()
            .filter_map(|reference| self.resolve(reference.reference.as_deref()?))
            .collect();
        for entry_idx in 0..n_entries {
            if let Resource::Patient(_) = &self.entries[entry_idx].resource
                && part_of[entry_idx].is_empty()
                && !referenced.contains(&entry_idx)
            {
                match self.registration_draft(entry_idx, &related) {
                    Ok(draft) => {
                        let record_idx = drafts.len();
                        outcomes[entry_idx] = Some(EntryOutcome::Record(record_idx));
                        for &member in &draft.members {
                            part_of[member].push(record_idx);
                        }
                        drafts.push(draft);
                    }
                    Err(mut found) => problems.append(&mut found),
                }
            }
        }

        // Every draft goes through the interchange parser, even when other
        // entries had problems, so that one answer lists them all.
        let mut records = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let body = Value::Object(draft.record).to_string();
            match interchange::parse_json_record(
                body.as_bytes(),
                Position::Index(draft.entry as u64),
                self.context.received_at,
                self.context.limits,
            ) {
                Ok(parsed) => records.push(parsed),
                Err(found) => {
                    for problem in found {
                        let path = draft.paths.fhir_path(&problem.path);
                        problems.push(FhirProblem::new(path, problem.message));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let entries = outcomes
            .into_iter()
            .zip(part_of)
            .map(|(outcome, part_of)| match outcome {
                Some(outcome) => outcome,
                None if !part_of.is_empty() => EntryOutcome::PartOf(part_of),
                None => EntryOutcome::NotStored("no record of this bundle refers to it".to_owned()),
            })
            .collect();
        Ok(Mapped {
            bundle_type,
            records,
            entries,
        })
    }

    /// The record id of the draft's resource ([`record_key`]), with the paths
    /// its record id and its date (`occurred_at`, at `date_path`) came from; a
    /// problem when it has no key.
    fn keyed(
        &self,
        draft: &mut Draft,
        resource_type: &str,
        id: Option<&str>,
        identifiers: &[wire::Identifier],
        date_path: String,
    ) -> Result<String, FhirProblem> {
        let path = draft.paths.default.clone();
        let full_url = self.entries[draft.entry].full_url.as_deref();
        let Some((record_id, id_path)) = record_key(resource_type, id, identifiers, full_url)
        else {
            return Err(FhirProblem::new(
                format!("{path}.identifier"),
                "is required (or an id, or a urn:uuid fullUrl): a re-sent bundle is recognised by it",
            ));
        };
        draft
            .paths
            .add("source.record_id", format!("{path}.{id_path}"));
        draft.paths.add("occurred_at", date_path);
        Ok(record_id)
    }

    /// The entry of the resource type `expected` that `reference` names.
    fn reference_to(
        &self,
        reference: Option<&wire::Reference>,
        path: &str,
        expected: &str,
    ) -> Result<usize, FhirProblem> {
        let Some(text) = reference.and_then(|reference| reference.reference.as_deref()) else {
            return Err(FhirProblem::new(
                path,
                format!("is required: a reference to the {expected} of this bundle"),
            ));
        };
        let Some(target) = self.resolve(text) else {
            return Err(FhirProblem::new(
                format!("{path}.reference"),
                format!(
                    "\"{text}\" is not a resource of this bundle: send the {expected} in the same bundle"
                ),
            ));
        };
        let matches = matches!(
            (&self.entries[target].resource, expected),
            (Resource::Patient(_), "Patient")
                | (Resource::Encounter(_), "Encounter")
                | (Resource::RelatedPerson(_), "RelatedPerson")
        );
        if !matches {
            return Err(FhirProblem::new(
                format!("{path}.reference"),
                format!("\"{text}\" is not a {expected}"),
            ));
        }
        Ok(target)
    }

    /// The persons of a record about the patient at `patient_idx`: the patient as
    /// `subject` (ref `patient`) and its related persons.
    fn persons(
        &self,
        patient_idx: usize,
        related: &HashMap<usize, Vec<usize>>,
        draft: &mut Draft,
        problems: &mut Vec<FhirProblem>,
    ) -> (Vec<Value>, Vec<Value>) {
        let mut persons = Vec::new();
        let mut relationships = Vec::new();
        if let Resource::Patient(patient) = &self.entries[patient_idx].resource {
            let json = person_json(
                patient,
                &self.entries[patient_idx].path,
                "patient",
                "subject",
                persons.len(),
                draft,
            );
            persons.push(json);
            draft.members.push(patient_idx);
        }
        for &related_idx in related.get(&patient_idx).map_or(&[][..], Vec::as_slice) {
            let Resource::RelatedPerson(person) = &self.entries[related_idx].resource else {
                continue;
            };
            let path = &self.entries[related_idx].path;
            let (role, relationship) = match related_role(person, path) {
                Ok(found) => found,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            let person_ref = format!("related-{}", persons.len());
            let person_idx = persons.len();
            persons.push(person_json(
                person,
                path,
                &person_ref,
                role,
                person_idx,
                draft,
            ));
            if let Some(relationship_type) = relationship {
                draft.paths.add(
                    format!("relationships[{}]", relationships.len()),
                    format!("{path}.relationship"),
                );
                relationships
                    .push(json!({"from": person_ref, "to": "patient", "type": relationship_type}));
            }
            draft.members.push(related_idx);
            draft.related_refs.insert(related_idx, person_ref);
        }
        (persons, relationships)
    }

    fn encounter_draft(
        &self,
        entry_idx: usize,
        encounter: &wire::Encounter,
        related: &HashMap<usize, Vec<usize>>,
        findings: &[usize],
    ) -> Result<DraftOutcome, Vec<FhirProblem>> {
        let path = &self.entries[entry_idx].path;
        let mut problems = Vec::new();
        let status = encounter.status.as_deref().unwrap_or("");
        match status {
            "entered-in-error" => {
                return Ok(DraftOutcome::NotStored(
                    "entered in error: nothing happened to record".to_owned(),
                ));
            }
            "planned" => {
                return Err(vec![FhirProblem::new(
                    format!("{path}.status"),
                    "\"planned\": an encounter is recorded once it has happened (or been missed); send it then",
                )]);
            }
            "" => problems.push(FhirProblem::new(format!("{path}.status"), "is required")),
            _ => {}
        }
        let kind = match self.encounter_kind(encounter, path) {
            Ok(kind) => Some(kind),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        if status == "cancelled" && kind != Some("health.appointment_missed") {
            return Ok(DraftOutcome::NotStored(
                "cancelled: it did not happen (a missed appointment is an Encounter typed SNOMED CT 281399006 \"Did not attend\", or an Appointment with status noshow)".to_owned(),
            ));
        }
        let patient_idx = match self.reference_to(
            encounter.subject.as_ref(),
            &format!("{path}.subject"),
            "Patient",
        ) {
            Ok(patient_idx) => Some(patient_idx),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let occurred_at = encounter
            .period
            .as_ref()
            .and_then(|period| period.start.clone());
        if occurred_at.is_none() {
            problems.push(FhirProblem::new(
                format!("{path}.period.start"),
                "is required: when the encounter happened",
            ));
        }
        let mut draft = Draft::new(entry_idx, path);
        let record_id = self
            .keyed(
                &mut draft,
                "Encounter",
                encounter.id.as_deref(),
                &encounter.identifier,
                format!("{path}.period.start"),
            )
            .map_err(|problem| problems.push(problem))
            .ok();
        let (Some(kind), Some(patient_idx), Some(occurred_at), Some(record_id)) =
            (kind, patient_idx, occurred_at, record_id)
        else {
            return Err(problems);
        };
        let (persons, relationships) =
            self.persons(patient_idx, related, &mut draft, &mut problems);
        let mut finding_values = Vec::new();
        let mut notes = Vec::new();
        for &finding_idx in findings {
            match self.finding(finding_idx, patient_idx, &mut draft, finding_values.len()) {
                Ok(Some((finding, finding_notes))) => {
                    finding_values.push(finding);
                    notes.extend(finding_notes);
                    draft.members.push(finding_idx);
                }
                Ok(None) => {}
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let record = self.record(
            &mut draft,
            RecordParts {
                record_id,
                version_meta: &encounter.meta,
                kind,
                occurred_at,
                persons,
                findings: finding_values,
                relationships,
                notes,
                outcome: None,
            },
        )?;
        draft.record = record;
        Ok(DraftOutcome::Draft(draft))
    }

    /// What an encounter was: Sightline's kind coding, a SNOMED CT type, its
    /// class, or (ambulatory, home, virtual) the sending agency's service.
    fn encounter_kind(
        &self,
        encounter: &wire::Encounter,
        path: &str,
    ) -> Result<&'static str, FhirProblem> {
        for (type_idx, concept) in encounter.encounter_type.iter().enumerate() {
            for (coding_idx, coding) in concept.coding.iter().enumerate() {
                let code = coding.code.as_deref().unwrap_or("");
                match coding.system.as_deref() {
                    Some(codes::SIGHTLINE_KIND) => {
                        return match sightline_core::Kind::parse(code) {
                            Some(kind) if kind.as_str().starts_with("health.") => Ok(kind.as_str()),
                            _ => Err(FhirProblem::new(
                                format!("{path}.type[{type_idx}].coding[{coding_idx}].code"),
                                format!(
                                    "\"{code}\" is not a health kind of the interchange format (such as \"health.gp_consultation\", \"health.health_visitor_contact\")"
                                ),
                            )),
                        };
                    }
                    Some(codes::SNOMED) => {
                        if let Some((_, _, kind)) = codes::SNOMED_ENCOUNTER_TYPES
                            .iter()
                            .find(|(snomed, _, _)| *snomed == code)
                        {
                            return Ok(kind);
                        }
                    }
                    _ => {}
                }
            }
        }
        let class = encounter
            .class
            .as_ref()
            .and_then(|class| class.code.as_deref());
        if let Some((_, _, kind)) = class.and_then(|class| {
            codes::ENCOUNTER_CLASSES
                .iter()
                .find(|(code, _, _)| *code == class)
        }) {
            return Ok(kind);
        }
        let by_service = match self.context.service {
            Some(HealthService::Gp) => Some("health.gp_consultation"),
            Some(HealthService::HealthVisiting | HealthService::Midwifery) => {
                Some("health.health_visitor_contact")
            }
            Some(HealthService::UnscheduledCare) => Some("health.ed_attendance"),
            Some(HealthService::MentalHealth) => Some("health.mental_health_contact"),
            Some(HealthService::SexualHealth) => Some("health.sexual_health_contact"),
            _ => None,
        };
        if let (Some(class), Some(kind)) = (class, by_service)
            && codes::SERVICE_CLASSES.contains(&class)
        {
            return Ok(kind);
        }
        Err(FhirProblem::new(
            format!("{path}.type"),
            format!(
                "cannot tell what this encounter was: give Encounter.class {} (HL7 v3 ActCode), a type coded in SNOMED CT ({}), or a type coded in {} with an interchange kind; an ambulatory, home or virtual encounter (class {}) is read by the sending agency's health service in the organisation file{}",
                quoted_list(codes::ENCOUNTER_CLASSES.iter().map(|(code, _, _)| *code)),
                codes::SNOMED_ENCOUNTER_TYPES
                    .iter()
                    .map(|(code, display, _)| format!("{code} \"{display}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                codes::SIGHTLINE_KIND,
                quoted_list(codes::SERVICE_CLASSES.iter().copied()),
                match self.context.service {
                    Some(service) => format!(" (this agency's, \"{service}\", does not say)"),
                    None => " (this agency has none)".to_owned(),
                }
            ),
        ))
    }

    fn appointment_draft(
        &self,
        entry_idx: usize,
        appointment: &wire::Appointment,
        related: &HashMap<usize, Vec<usize>>,
    ) -> Result<DraftOutcome, Vec<FhirProblem>> {
        let path = &self.entries[entry_idx].path;
        if appointment.status.as_deref() != Some("noshow") {
            return Ok(DraftOutcome::NotStored(
                "only a missed appointment (status noshow) is recorded".to_owned(),
            ));
        }
        let mut problems = Vec::new();
        let patient = appointment.participant.iter().enumerate().find_map(
            |(participant_idx, participant)| {
                let reference = participant.actor.as_ref()?.reference.as_deref()?;
                let target = self.resolve(reference)?;
                matches!(self.entries[target].resource, Resource::Patient(_))
                    .then_some((participant_idx, target))
            },
        );
        let Some((_, patient_idx)) = patient else {
            return Err(vec![FhirProblem::new(
                format!("{path}.participant"),
                "no participant is a Patient of this bundle: send the patient who was not brought",
            )]);
        };
        let Some(occurred_at) = appointment.start.clone() else {
            return Err(vec![FhirProblem::new(
                format!("{path}.start"),
                "is required: when the missed appointment was",
            )]);
        };
        let mut draft = Draft::new(entry_idx, path);
        let record_id = self
            .keyed(
                &mut draft,
                "Appointment",
                appointment.id.as_deref(),
                &appointment.identifier,
                format!("{path}.start"),
            )
            .map_err(|problem| vec![problem])?;
        let (persons, relationships) =
            self.persons(patient_idx, related, &mut draft, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        draft.record = self.record(
            &mut draft,
            RecordParts {
                record_id,
                version_meta: &appointment.meta,
                kind: "health.appointment_missed",
                occurred_at,
                persons,
                findings: Vec::new(),
                relationships,
                notes: Vec::new(),
                outcome: None,
            },
        )?;
        Ok(DraftOutcome::Draft(draft))
    }

    fn flag_draft(
        &self,
        entry_idx: usize,
        flag: &wire::Flag,
        related: &HashMap<usize, Vec<usize>>,
    ) -> Result<DraftOutcome, Vec<FhirProblem>> {
        let path = &self.entries[entry_idx].path;
        let plan = flag.code.as_ref().and_then(|code| {
            code.coding
                .iter()
                .enumerate()
                .find(|(_, coding)| coding.system.as_deref() == Some(codes::SIGHTLINE_PLAN))
        });
        let Some((coding_idx, coding)) = plan else {
            return Ok(DraftOutcome::NotStored(format!(
                "no Flag.code coding in {} (a child protection plan, looked after, child in need)",
                codes::SIGHTLINE_PLAN
            )));
        };
        let (plan_status, date, date_path) = match flag.status.as_deref() {
            Some("active") => (
                "start",
                flag.period.as_ref().and_then(|period| period.start.clone()),
                "period.start",
            ),
            Some("inactive") => (
                "end",
                flag.period.as_ref().and_then(|period| period.end.clone()),
                "period.end",
            ),
            Some("entered-in-error") => {
                return Ok(DraftOutcome::NotStored(
                    "entered in error: nothing to record".to_owned(),
                ));
            }
            _ => {
                return Err(vec![FhirProblem::new(
                    format!("{path}.status"),
                    "is required: \"active\" (the plan started) or \"inactive\" (it ended)",
                )]);
            }
        };
        let Some(occurred_at) = date else {
            return Err(vec![FhirProblem::new(
                format!("{path}.{date_path}"),
                format!("is required: when the plan {plan_status}ed"),
            )]);
        };
        let mut problems = Vec::new();
        let patient_idx = self
            .reference_to(flag.subject.as_ref(), &format!("{path}.subject"), "Patient")
            .map_err(|problem| vec![problem])?;
        let mut draft = Draft::new(entry_idx, path);
        let record_key = self
            .keyed(
                &mut draft,
                "Flag",
                flag.id.as_deref(),
                &flag.identifier,
                format!("{path}.{date_path}"),
            )
            .map_err(|problem| vec![problem])?;
        // The start and the end of a plan are two records: a flag sent again
        // when the plan ends must not supersede the record of its start.
        let record_id = format!("{record_key}/{plan_status}");
        draft.paths.add(
            "outcome.plan",
            format!("{path}.code.coding[{coding_idx}].code"),
        );
        let (persons, relationships) =
            self.persons(patient_idx, related, &mut draft, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        draft.record = self.record(
            &mut draft,
            RecordParts {
                record_id,
                version_meta: &flag.meta,
                kind: "social_care.plan",
                occurred_at,
                persons,
                findings: Vec::new(),
                relationships,
                notes: Vec::new(),
                outcome: Some(json!({
                    "plan": coding.code.clone().unwrap_or_default(),
                    "status": plan_status,
                })),
            },
        )?;
        Ok(DraftOutcome::Draft(draft))
    }

    /// A Condition or Observation with no encounter: an `other.note` with the finding.
    fn lone_finding_draft(
        &self,
        entry_idx: usize,
        related: &HashMap<usize, Vec<usize>>,
    ) -> Result<DraftOutcome, Vec<FhirProblem>> {
        let path = &self.entries[entry_idx].path;
        let (subject, meta, id, identifier, date, date_path) =
            match &self.entries[entry_idx].resource {
                Resource::Condition(condition) => {
                    let (date, date_path) = first_date(
                        (&condition.onset_date_time, "onsetDateTime"),
                        (&condition.recorded_date, "recordedDate"),
                    );
                    (
                        condition.subject.as_ref(),
                        &condition.meta,
                        condition.id.as_deref(),
                        &condition.identifier,
                        date,
                        date_path,
                    )
                }
                Resource::Observation(observation) => {
                    let (date, date_path) = first_date(
                        (&observation.effective_date_time, "effectiveDateTime"),
                        (&observation.issued, "issued"),
                    );
                    (
                        observation.subject.as_ref(),
                        &observation.meta,
                        observation.id.as_deref(),
                        &observation.identifier,
                        date,
                        date_path,
                    )
                }
                _ => return Ok(DraftOutcome::NotStored(String::new())),
            };
        let patient_idx = self
            .reference_to(subject, &format!("{path}.subject"), "Patient")
            .map_err(|problem| vec![problem])?;
        let mut draft = Draft::new(entry_idx, path);
        let (finding, notes) = match self.finding(entry_idx, patient_idx, &mut draft, 0) {
            Ok(Some(found)) => found,
            Ok(None) => {
                let reason = draft
                    .findings_not_stored
                    .pop()
                    .map(|(_, reason)| reason)
                    .unwrap_or_default();
                return Ok(DraftOutcome::NotStored(reason));
            }
            Err(problem) => return Err(vec![problem]),
        };
        let Some(occurred_at) = date else {
            return Err(vec![FhirProblem::new(
                format!("{path}.{date_path}"),
                "is required when the finding belongs to no Encounter of the bundle: when it was found",
            )]);
        };
        let resource_type = match &self.entries[entry_idx].resource {
            Resource::Condition(_) => "Condition",
            _ => "Observation",
        };
        let record_id = self
            .keyed(
                &mut draft,
                resource_type,
                id,
                identifier,
                format!("{path}.{date_path}"),
            )
            .map_err(|problem| vec![problem])?;
        let mut problems = Vec::new();
        let (persons, relationships) =
            self.persons(patient_idx, related, &mut draft, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        draft.record = self.record(
            &mut draft,
            RecordParts {
                record_id,
                version_meta: meta,
                kind: "other.note",
                occurred_at,
                persons,
                findings: vec![finding],
                relationships,
                notes,
                outcome: None,
            },
        )?;
        Ok(DraftOutcome::Draft(draft))
    }

    /// A patient no record is about: `person.registered`, dated by its
    /// `meta.lastUpdated` (else the bundle's timestamp).
    fn registration_draft(
        &self,
        entry_idx: usize,
        related: &HashMap<usize, Vec<usize>>,
    ) -> Result<Draft, Vec<FhirProblem>> {
        let path = &self.entries[entry_idx].path;
        let Resource::Patient(patient) = &self.entries[entry_idx].resource else {
            return Err(Vec::new());
        };
        let (occurred_at, date_path) = match (&patient.meta.last_updated, &self.bundle_timestamp) {
            (Some(updated), _) => (updated.clone(), format!("{path}.meta.lastUpdated")),
            (None, Some(timestamp)) => (timestamp.clone(), "Bundle.timestamp".to_owned()),
            (None, None) => {
                return Err(vec![FhirProblem::new(
                    format!("{path}.meta.lastUpdated"),
                    "is required for a Patient no Encounter, Condition, Observation, Appointment or Flag of the bundle is about (it is recorded as demographics registered, on that date; Bundle.timestamp serves too)",
                )]);
            }
        };
        let mut draft = Draft::new(entry_idx, path);
        let record_id = self
            .keyed(
                &mut draft,
                "Patient",
                patient.id.as_deref(),
                &patient.identifier,
                date_path,
            )
            .map_err(|problem| vec![problem])?;
        let mut problems = Vec::new();
        let (persons, relationships) = self.persons(entry_idx, related, &mut draft, &mut problems);
        // The patient is this record's own resource, not a member of it.
        draft.members.retain(|&member| member != entry_idx);
        if !problems.is_empty() {
            return Err(problems);
        }
        draft.record = self.record(
            &mut draft,
            RecordParts {
                record_id,
                version_meta: &patient.meta,
                kind: "person.registered",
                occurred_at,
                persons,
                findings: Vec::new(),
                relationships,
                notes: Vec::new(),
                outcome: None,
            },
        )?;
        Ok(draft)
    }

    /// The finding a Condition or Observation states (with its notes), `None`
    /// when it states nothing Sightline keeps (the reason is kept in the draft).
    fn finding(
        &self,
        entry_idx: usize,
        patient_idx: usize,
        draft: &mut Draft,
        finding_idx: usize,
    ) -> Result<Option<(Value, Vec<String>)>, FhirProblem> {
        let path = self.entries[entry_idx].path.clone();
        let (code, body_sites, extensions, notes, subject, focus, body_site_path) =
            match &self.entries[entry_idx].resource {
                Resource::Condition(condition) => {
                    let status = condition
                        .verification_status
                        .as_ref()
                        .into_iter()
                        .flat_map(|status| &status.coding)
                        .filter(|coding| {
                            coding.system.as_deref() == Some(codes::CONDITION_VERIFICATION)
                        })
                        .find_map(|coding| coding.code.as_deref());
                    if let Some(status @ ("refuted" | "entered-in-error")) = status {
                        draft.findings_not_stored.push((
                            entry_idx,
                            format!("its verification status is \"{status}\""),
                        ));
                        return Ok(None);
                    }
                    (
                        condition.code.as_ref(),
                        condition.body_site.iter().collect::<Vec<_>>(),
                        &condition.extension,
                        &condition.note,
                        condition.subject.as_ref(),
                        None,
                        "bodySite",
                    )
                }
                Resource::Observation(observation) => {
                    if let Some(status @ ("entered-in-error" | "cancelled")) =
                        observation.status.as_deref()
                    {
                        draft
                            .findings_not_stored
                            .push((entry_idx, format!("its status is \"{status}\"")));
                        return Ok(None);
                    }
                    if observation.value_boolean == Some(false) {
                        draft.findings_not_stored.push((
                            entry_idx,
                            "valueBoolean false: the observation says the finding is absent"
                                .to_owned(),
                        ));
                        return Ok(None);
                    }
                    (
                        observation.code.as_ref(),
                        observation.body_site.iter().collect::<Vec<_>>(),
                        &observation.extension,
                        &observation.note,
                        observation.subject.as_ref(),
                        observation.focus.first(),
                        "bodySite",
                    )
                }
                _ => return Ok(None),
            };
        let subject_idx = self.reference_to(subject, &format!("{path}.subject"), "Patient")?;
        if subject_idx != patient_idx {
            return Err(FhirProblem::new(
                format!("{path}.subject.reference"),
                "is not the patient of its encounter (a finding about someone else around the patient names them in Observation.focus)",
            ));
        }
        let prefix = format!("findings[{finding_idx}]");
        let mut finding = Map::new();
        // The code: Sightline's finding code, or a SNOMED CT injury.
        let mut found = None;
        for (coding_idx, coding) in code.iter().flat_map(|code| code.coding.iter()).enumerate() {
            let value = coding.code.clone().unwrap_or_default();
            match coding.system.as_deref() {
                Some(codes::SIGHTLINE_FINDING) => {
                    found = Some((value, None, coding_idx));
                    break;
                }
                Some(codes::SNOMED) => {
                    if let Some((_, _, injury_type)) = codes::SNOMED_INJURIES
                        .iter()
                        .find(|(snomed, _, _)| *snomed == value)
                        && found.is_none()
                    {
                        found = Some(("injury".to_owned(), Some(*injury_type), coding_idx));
                    }
                }
                _ => {}
            }
        }
        let Some((finding_code, injury_type, coding_idx)) = found else {
            draft.findings_not_stored.push((
                entry_idx,
                format!(
                    "no coding Sightline maps: a finding is coded in {} or is a SNOMED CT injury ({})",
                    codes::SIGHTLINE_FINDING,
                    codes::SNOMED_INJURIES
                        .iter()
                        .map(|(code, display, _)| format!("{code} \"{display}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            return Ok(None);
        };
        let code_path = format!("{path}.code.coding[{coding_idx}].code");
        draft.paths.add(&prefix, path.clone());
        draft.paths.add(format!("{prefix}.code"), code_path.clone());
        finding.insert("code".to_owned(), Value::String(finding_code.clone()));
        if let Some(injury_type) = injury_type {
            finding.insert("type".to_owned(), json!(injury_type));
            draft.paths.add(format!("{prefix}.type"), code_path);
        }
        if let Some(focus) = focus {
            let focus_idx =
                self.reference_to(Some(focus), &format!("{path}.focus[0]"), "RelatedPerson")?;
            let Some(person_ref) = draft.related_refs.get(&focus_idx) else {
                return Err(FhirProblem::new(
                    format!("{path}.focus[0].reference"),
                    "is not a RelatedPerson of this finding's patient",
                ));
            };
            finding.insert("subjects".to_owned(), json!([person_ref]));
            draft
                .paths
                .add(format!("{prefix}.subjects"), format!("{path}.focus[0]"));
        }
        if finding_code == "injury" && !body_sites.is_empty() {
            let site = if body_sites.len() > 1 {
                "multiple"
            } else {
                body_sites[0]
                    .coding
                    .iter()
                    .filter(|coding| coding.system.as_deref() == Some(codes::SNOMED))
                    .find_map(|coding| {
                        codes::SNOMED_BODY_SITES
                            .iter()
                            .find(|(snomed, _, _)| Some(*snomed) == coding.code.as_deref())
                            .map(|(_, _, site)| *site)
                    })
                    .unwrap_or("other")
            };
            finding.insert("site".to_owned(), json!(site));
            draft
                .paths
                .add(format!("{prefix}.site"), format!("{path}.{body_site_path}"));
        }
        for (extension_idx, extension) in extensions.iter().enumerate() {
            if extension.url != codes::SIGHTLINE_FINDING_ATTRIBUTES {
                continue;
            }
            for (attribute_idx, attribute) in extension.extension.iter().enumerate() {
                let value = if let Some(code) = &attribute.value_code {
                    json!(code)
                } else if let Some(text) = &attribute.value_string {
                    json!(text)
                } else if let Some(flag) = attribute.value_boolean {
                    json!(flag)
                } else if let Some(number) = attribute.value_integer {
                    json!(number)
                } else if let Some(date) = &attribute.value_date {
                    json!(date)
                } else {
                    return Err(FhirProblem::new(
                        format!("{path}.extension[{extension_idx}].extension[{attribute_idx}]"),
                        "needs a valueCode, valueString, valueBoolean, valueInteger or valueDate",
                    ));
                };
                draft.paths.add(
                    format!("{prefix}.{}", attribute.url),
                    format!("{path}.extension[{extension_idx}].extension[{attribute_idx}]"),
                );
                finding.insert(attribute.url.clone(), value);
            }
        }
        let notes = notes.iter().filter_map(|note| note.text.clone()).collect();
        Ok(Some((Value::Object(finding), notes)))
    }

    /// The interchange record of a draft.
    fn record(
        &self,
        draft: &mut Draft,
        parts: RecordParts<'_>,
    ) -> Result<Map<String, Value>, Vec<FhirProblem>> {
        let path = draft.paths.default.clone();
        let version = match parts.version_meta.version_id.as_deref() {
            None => 1,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(version) if version >= 1 => version,
                _ => {
                    return Err(vec![FhirProblem::new(
                        format!("{path}.meta.versionId"),
                        format!(
                            "\"{text}\" is not a whole number from 1: Sightline orders versions by number (a higher one supersedes)"
                        ),
                    )]);
                }
            },
        };
        draft
            .paths
            .add("source.version", format!("{path}.meta.versionId"));
        let mut record = Map::new();
        record.insert(
            "source".to_owned(),
            json!({
                "agency": self.context.agency.as_str(),
                "system": SOURCE_SYSTEM,
                "record_id": parts.record_id,
                "version": version,
            }),
        );
        record.insert("kind".to_owned(), json!(parts.kind));
        record.insert("occurred_at".to_owned(), json!(parts.occurred_at));
        if let Some(updated) = &parts.version_meta.last_updated {
            record.insert("recorded_at".to_owned(), json!(updated));
            draft
                .paths
                .add("recorded_at", format!("{path}.meta.lastUpdated"));
        }
        record.insert("persons".to_owned(), Value::Array(parts.persons));
        if !parts.findings.is_empty() {
            record.insert("findings".to_owned(), Value::Array(parts.findings));
        }
        if !parts.relationships.is_empty() {
            record.insert(
                "relationships".to_owned(),
                Value::Array(parts.relationships),
            );
        }
        if !parts.notes.is_empty() {
            record.insert("narrative".to_owned(), json!(parts.notes.join("\n")));
        }
        if let Some(outcome) = parts.outcome {
            record.insert("outcome".to_owned(), outcome);
        }
        Ok(record)
    }
}

struct RecordParts<'a> {
    record_id: String,
    version_meta: &'a wire::Meta,
    kind: &'static str,
    occurred_at: String,
    persons: Vec<Value>,
    findings: Vec<Value>,
    relationships: Vec<Value>,
    notes: Vec<String>,
    outcome: Option<Value>,
}

enum DraftOutcome {
    Draft(Draft),
    NotStored(String),
}

/// A record being built, with where each of its fields came from.
struct Draft {
    /// The entry whose resource is the record.
    entry: usize,
    record: Map<String, Value>,
    paths: PathMap,
    /// The other entries read into it.
    members: Vec<usize>,
    /// Findings of its encounter that were not stored, and why.
    findings_not_stored: Vec<(usize, String)>,
    /// The person ref of each related person's entry.
    related_refs: HashMap<usize, String>,
}

impl Draft {
    fn new(entry: usize, path: &str) -> Draft {
        Draft {
            entry,
            record: Map::new(),
            paths: PathMap {
                default: path.to_owned(),
                pairs: Vec::new(),
            },
            members: Vec::new(),
            findings_not_stored: Vec::new(),
            related_refs: HashMap::new(),
        }
    }
}

/// Interchange field paths (`persons[1].dob`) to the FHIR paths they were read from.
struct PathMap {
    /// The record's own resource, for a field no pair covers.
    default: String,
    pairs: Vec<(String, String)>,
}

impl PathMap {
    fn add(&mut self, interchange: impl Into<String>, fhir: impl Into<String>) {
        self.pairs.push((interchange.into(), fhir.into()));
    }

    /// The FHIR path of the longest interchange prefix of `path` that was mapped.
    fn fhir_path(&self, path: &str) -> String {
        self.pairs
            .iter()
            .filter(|(interchange, _)| {
                path == interchange
                    || path
                        .strip_prefix(interchange.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
            .max_by_key(|(interchange, _)| interchange.len())
            .map_or_else(|| self.default.clone(), |(_, fhir)| fhir.clone())
    }
}

/// The entry a FHIR path is in: N of `Bundle.entry[N]...`.
fn entry_of(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("Bundle.entry[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// `Type/id` from a reference or full URL ending in one.
fn type_and_id(url: &str) -> Option<String> {
    let mut segments = url.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    let resource_type = segments.next()?;
    (!id.is_empty() && resource_type.chars().next().is_some_and(char::is_uppercase))
        .then(|| format!("{resource_type}/{id}"))
}

/// The record id of a resource: `Type/` and its first identifier's value, else
/// its id, else the uuid of its `urn:uuid:` full URL; with the element it came from.
fn record_key(
    resource_type: &str,
    id: Option<&str>,
    identifiers: &[wire::Identifier],
    full_url: Option<&str>,
) -> Option<(String, String)> {
    if let Some((identifier_idx, value)) = identifiers
        .iter()
        .enumerate()
        .find_map(|(idx, identifier)| identifier.value.as_deref().map(|value| (idx, value)))
    {
        return Some((
            format!("{resource_type}/{value}"),
            format!("identifier[{identifier_idx}].value"),
        ));
    }
    if let Some(id) = id {
        return Some((format!("{resource_type}/{id}"), "id".to_owned()));
    }
    let uuid = full_url?.strip_prefix("urn:uuid:")?;
    Some((format!("{resource_type}/{uuid}"), "id".to_owned()))
}

/// Every modifier extension in a resource: FHIR forbids ignoring one, and
/// Sightline knows none, so each is a problem.
fn modifier_extensions(value: &Value, path: &str, problems: &mut Vec<FhirProblem>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let child_path = format!("{path}.{key}");
                if key == "modifierExtension" {
                    problems.push(FhirProblem::new(child_path,
                        "a modifier extension changes what its element means, and Sightline knows none: it cannot map this resource safely",
                    ));
                } else {
                    modifier_extensions(child, &child_path, problems);
                }
            }
        }
        Value::Array(items) => {
            for (item_idx, item) in items.iter().enumerate() {
                modifier_extensions(item, &format!("{path}[{item_idx}]"), problems);
            }
        }
        _ => {}
    }
}

/// A related person's role in the record and relationship to the patient, from
/// its first HL7 v3 RoleCode coding (role `other` and no relationship when it
/// has none).
fn related_role(
    person: &wire::Person,
    path: &str,
) -> Result<(&'static str, Option<&'static str>), FhirProblem> {
    for (concept_idx, concept) in person.relationship.iter().enumerate() {
        for (coding_idx, coding) in concept.coding.iter().enumerate() {
            if coding.system.as_deref() != Some(codes::V3_ROLE_CODE) {
                continue;
            }
            let code = coding.code.as_deref().unwrap_or("");
            return codes::ROLE_CODES
                .iter()
                .find(|(role_code, _, _)| *role_code == code)
                .map(|(_, role, relationship)| (*role, *relationship))
                .ok_or_else(|| {
                    FhirProblem::new(
                        format!("{path}.relationship[{concept_idx}].coding[{coding_idx}].code"),
                        format!(
                            "\"{code}\" is not an HL7 v3 RoleCode Sightline maps (one of {})",
                            quoted_list(codes::ROLE_CODES.iter().map(|(code, _, _)| *code))
                        ),
                    )
                });
        }
    }
    Ok(("other", None))
}

/// An interchange person from a Patient or RelatedPerson.
fn person_json(
    person: &wire::Person,
    path: &str,
    person_ref: &str,
    role: &str,
    person_idx: usize,
    draft: &mut Draft,
) -> Value {
    let prefix = format!("persons[{person_idx}]");
    draft.paths.add(&prefix, path);
    let mut json = Map::new();
    json.insert("ref".to_owned(), json!(person_ref));
    json.insert("role".to_owned(), json!(role));
    for (identifier_idx, identifier) in person.identifier.iter().enumerate() {
        let Some(value) = &identifier.value else {
            continue;
        };
        let value_path = format!("{path}.identifier[{identifier_idx}].value");
        if identifier.system.as_deref() == Some(codes::NHS_NUMBER_SYSTEM) {
            if json.contains_key("nhs_number") || !nhs_number_usable(identifier) {
                continue;
            }
            json.insert("nhs_number".to_owned(), json!(value));
            draft.paths.add(format!("{prefix}.nhs_number"), value_path);
        } else if !json.contains_key("source_person_id") {
            json.insert("source_person_id".to_owned(), json!(value));
            draft
                .paths
                .add(format!("{prefix}.source_person_id"), value_path);
        }
    }
    if !json.contains_key("source_person_id")
        && let Some(id) = &person.id
    {
        json.insert("source_person_id".to_owned(), json!(id));
        draft
            .paths
            .add(format!("{prefix}.source_person_id"), format!("{path}.id"));
    }
    // The current official name, else the usual one, else the first current one.
    let current = |name: &&wire::HumanName| {
        !matches!(name.name_use.as_deref(), Some("old" | "maiden"))
            && name
                .period
                .as_ref()
                .is_none_or(|period| period.end.is_none())
    };
    let chosen = ["official", "usual"]
        .iter()
        .find_map(|wanted| {
            person
                .name
                .iter()
                .enumerate()
                .find(|(_, name)| name.name_use.as_deref() == Some(wanted) && current(name))
        })
        .or_else(|| {
            person
                .name
                .iter()
                .enumerate()
                .find(|(_, name)| current(name))
        });
    if let Some((name_idx, name)) = chosen {
        if !name.given.is_empty() {
            json.insert("given_names".to_owned(), json!(name.given.join(" ")));
            draft.paths.add(
                format!("{prefix}.given_names"),
                format!("{path}.name[{name_idx}].given"),
            );
        }
        if let Some(family) = &name.family {
            json.insert("family_name".to_owned(), json!(family));
            draft.paths.add(
                format!("{prefix}.family_name"),
                format!("{path}.name[{name_idx}].family"),
            );
        }
    }
    let aliases: Vec<String> = person
        .name
        .iter()
        .enumerate()
        .filter(|(name_idx, _)| Some(*name_idx) != chosen.map(|(chosen_idx, _)| chosen_idx))
        .filter_map(|(_, name)| {
            name.text.clone().or_else(|| {
                let words: Vec<&str> = name
                    .given
                    .iter()
                    .map(String::as_str)
                    .chain(name.family.as_deref())
                    .collect();
                (!words.is_empty()).then(|| words.join(" "))
            })
        })
        .collect();
    if !aliases.is_empty() {
        json.insert("aliases".to_owned(), json!(aliases));
        draft
            .paths
            .add(format!("{prefix}.aliases"), format!("{path}.name"));
    }
    if let Some(birth_date) = &person.birth_date {
        json.insert("dob".to_owned(), json!(birth_date));
        draft
            .paths
            .add(format!("{prefix}.dob"), format!("{path}.birthDate"));
    }
    if let Some(sex) = match person.gender.as_deref() {
        Some(gender @ ("male" | "female" | "unknown")) => Some(gender),
        _ => None,
    } {
        json.insert("sex".to_owned(), json!(sex));
        draft
            .paths
            .add(format!("{prefix}.sex"), format!("{path}.gender"));
    }
    // The current home address (not a postal-only or old one).
    let address = person.address.iter().enumerate().find(|(_, address)| {
        !matches!(
            address.address_use.as_deref(),
            Some("old" | "work" | "billing")
        ) && address.address_type.as_deref() != Some("postal")
            && address
                .period
                .as_ref()
                .is_none_or(|period| period.end.is_none())
    });
    if let Some((address_idx, address)) = address {
        let address_path = format!("{path}.address[{address_idx}]");
        let mut lines: Vec<&str> = address.line.iter().map(String::as_str).collect();
        lines.extend(address.district.as_deref());
        lines.extend(address.city.as_deref());
        let mut address_json = Map::new();
        address_json.insert("lines".to_owned(), json!(lines));
        if let Some(postcode) = &address.postal_code {
            address_json.insert("postcode".to_owned(), json!(postcode));
            draft.paths.add(
                format!("{prefix}.address.postcode"),
                format!("{address_path}.postalCode"),
            );
        }
        draft.paths.add(
            format!("{prefix}.address.lines"),
            format!("{address_path}.line"),
        );
        draft.paths.add(format!("{prefix}.address"), address_path);
        json.insert("address".to_owned(), Value::Object(address_json));
    }
    Value::Object(json)
}

/// Whether an NHS number identifier is one to link by: verified (UK Core status
/// `01`), or sent without a verification status. A number whose trace is still
/// needed, failed or in dispute is not used (a wrong number would merge two
/// children).
fn nhs_number_usable(identifier: &wire::Identifier) -> bool {
    let statuses: Vec<&str> = identifier
        .extension
        .iter()
        .filter(|extension| extension.url == codes::NHS_NUMBER_VERIFICATION_EXTENSION)
        .flat_map(|extension| extension.value_codeable_concept.iter())
        .flat_map(|concept| concept.coding.iter())
        .filter_map(|coding| coding.code.as_deref())
        .collect();
    statuses.is_empty() || statuses.contains(&codes::NHS_NUMBER_VERIFIED)
}

/// The date of a finding and the element it came from: the clinical date when
/// present, else the recorded one; with neither, the clinical element's name
/// (for the problem that says it is missing).
fn first_date(
    clinical: (&Option<String>, &'static str),
    recorded: (&Option<String>, &'static str),
) -> (Option<String>, &'static str) {
    match (clinical, recorded) {
        ((Some(date), path), _) | ((None, _), (Some(date), path)) => (Some(date.clone()), path),
        ((None, path), (None, _)) => (None, path),
    }
}

#[cfg(test)]
mod tests;
