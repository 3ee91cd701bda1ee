//! Turns one JSON record into a domain [`Record`], finding every problem at once.

use super::Limits;
use super::json::{Json, Object};
use super::problem::{Position, Problem};
use crate::record::{
    Address, AttributeValue, Attributes, Finding, Person, Record, Relationship, Source,
};
use crate::values::{
    AgencyId, NhsNumber, OccurredAt, PartialDate, Postcode, RecordId, parse_date_time,
    truncate_for_message,
};
use crate::vocab::{
    AttributeSpec, AttributeType, FindingCode, Kind, RelationshipType, Role, Sex, did_you_mean,
    finding_attributes, outcome_attributes, quoted_list,
};
use chrono::{DateTime, Duration, Utc};
use std::fmt;

const RECORD_FIELDS: &[&str] = &[
    "source",
    "kind",
    "occurred_at",
    "recorded_at",
    "persons",
    "findings",
    "relationships",
    "narrative",
    "outcome",
];
const SOURCE_FIELDS: &[&str] = &["agency", "system", "record_id", "version"];
const PERSON_FIELDS: &[&str] = &[
    "ref",
    "role",
    "source_person_id",
    "nhs_number",
    "given_names",
    "family_name",
    "aliases",
    "dob",
    "expected_dob",
    "sex",
    "address",
];
const ADDRESS_FIELDS: &[&str] = &["lines", "postcode"];
const RELATIONSHIP_FIELDS: &[&str] = &["from", "to", "type"];

/// How far ahead of its receipt a record may be dated.
const FUTURE_ALLOWANCE_DAYS: i64 = 1;

/// A field path built on the stack and rendered only when a problem is reported.
#[derive(Clone, Copy)]
pub(crate) enum FieldPath<'a> {
    Root,
    Field(&'a FieldPath<'a>, &'a str),
    Index(&'a FieldPath<'a>, usize),
}

impl<'a> FieldPath<'a> {
    fn field(&'a self, name: &'a str) -> FieldPath<'a> {
        FieldPath::Field(self, name)
    }

    fn index(&'a self, index: usize) -> FieldPath<'a> {
        FieldPath::Index(self, index)
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Root => Ok(()),
            FieldPath::Field(FieldPath::Root, name) => f.write_str(name),
            FieldPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            FieldPath::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Validates one record, collecting its problems.
pub(crate) struct RecordValidator<'l> {
    position: Position,
    received_at: DateTime<Utc>,
    limits: &'l Limits,
    problems: Vec<Problem>,
}

impl<'l> RecordValidator<'l> {
    pub(crate) fn new(position: Position, received_at: DateTime<Utc>, limits: &'l Limits) -> Self {
        RecordValidator {
            position,
            received_at,
            limits,
            problems: Vec::new(),
        }
    }

    fn report(&mut self, path: &FieldPath<'_>, message: impl Into<String>) {
        self.problems.push(Problem {
            position: self.position,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// The record, or every problem found in it.
    pub(crate) fn validate(mut self, value: &Json<'_>) -> Result<Record, Vec<Problem>> {
        let root = FieldPath::Root;
        let Some(object) = value.as_object() else {
            self.report(
                &root,
                format!("a record must be a JSON object, found {}", describe(value)),
            );
            return Err(self.problems);
        };
        self.reject_unknown_fields(object, RECORD_FIELDS, &root);

        let source = self.source(object, &root);
        let kind = self.kind(object);
        let occurred_at = self.occurred_at(object);
        let recorded_at = self.recorded_at(object);
        if let (Some(OccurredAt::Instant(occurred)), Some(Some(recorded))) =
            (occurred_at, recorded_at)
            && recorded < occurred
        {
            self.report(
                &root.field("recorded_at"),
                format!(
                    "recorded_at {} is before occurred_at {}",
                    recorded.to_rfc3339(),
                    occurred.to_rfc3339()
                ),
            );
        }
        let persons = self.persons(object);
        let refs: Vec<&str> = persons
            .iter()
            .map(|person| person.person_ref.as_str())
            .collect();
        // Without usable persons every ref would dangle; report the cause only.
        let refs = (!refs.is_empty()).then_some(refs.as_slice());
        let findings = self.findings(object, refs, &persons);
        let relationships = self.relationships(object, refs);
        let narrative = self.narrative(object);
        let outcome = kind
            .map(|kind| self.outcome(object, kind))
            .unwrap_or_default();

        match (source, kind, occurred_at, recorded_at) {
            (Some(source), Some(kind), Some(occurred_at), Some(recorded_at))
                if self.problems.is_empty() =>
            {
                Ok(Record {
                    source,
                    kind,
                    occurred_at,
                    recorded_at: recorded_at.unwrap_or(self.received_at),
                    persons,
                    findings,
                    relationships,
                    narrative,
                    outcome,
                })
            }
            _ => Err(self.problems),
        }
    }

    fn reject_unknown_fields(&mut self, object: &Object<'_>, known: &[&str], path: &FieldPath<'_>) {
        for key in object.unknown_keys(known) {
            let message = match did_you_mean(key, known) {
                Some(suggestion) => format!("unknown field (did you mean \"{suggestion}\"?)"),
                None => format!("unknown field (known fields: {})", quoted_list(known)),
            };
            self.report(&path.field(key), message);
        }
    }

    /// A present, non-null field value.
    fn field<'v>(object: &'v Object<'v>, name: &str) -> Option<&'v Json<'v>> {
        object.get(name).filter(|value| !value.is_null())
    }

    fn required<'v>(
        &mut self,
        object: &'v Object<'v>,
        name: &str,
        path: &FieldPath<'_>,
    ) -> Option<&'v Json<'v>> {
        let value = Self::field(object, name);
        if value.is_none() {
            self.report(&path.field(name), "is required");
        }
        value
    }

    fn string<'v>(&mut self, value: &'v Json<'v>, path: &FieldPath<'_>) -> Option<&'v str> {
        match value {
            Json::String(text) => Some(text),
            other => {
                self.report(
                    path,
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// Free text within the limit; an empty or blank string counts as absent.
    fn text(&mut self, value: &Json<'_>, path: &FieldPath<'_>, chars_max: usize) -> Option<String> {
        let text = self.string(value, path)?;
        // A character is at least one byte: count them only when it can matter.
        let n_chars = if text.len() > chars_max {
            text.chars().count()
        } else {
            text.len()
        };
        if n_chars > chars_max {
            self.report(
                path,
                format!("is {n_chars} characters long (at most {chars_max})"),
            );
            return None;
        }
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    fn optional_text(
        &mut self,
        object: &Object<'_>,
        name: &str,
        path: &FieldPath<'_>,
    ) -> Option<String> {
        let value = Self::field(object, name)?;
        self.text(value, &path.field(name), self.limits.text_chars_max)
    }

    fn source(&mut self, record: &Object<'_>, root: &FieldPath<'_>) -> Option<Source> {
        let path = root.field("source");
        let value = self.required(record, "source", root)?;
        let Some(object) = value.as_object() else {
            self.report(
                &path,
                format!("expected an object, found {}", describe(value)),
            );
            return None;
        };
        self.reject_unknown_fields(object, SOURCE_FIELDS, &path);
        let agency = self.required(object, "agency", &path).and_then(|value| {
            let field_path = path.field("agency");
            let text = self.string(value, &field_path)?;
            AgencyId::parse(text)
                .map_err(|error| self.report(&field_path, error.0))
                .ok()
        });
        let record_id = self.required(object, "record_id", &path).and_then(|value| {
            let field_path = path.field("record_id");
            let text = self.string(value, &field_path)?;
            RecordId::parse(text)
                .map_err(|error| self.report(&field_path, error.0))
                .ok()
        });
        let system = self.optional_text(object, "system", &path);
        let version = match Self::field(object, "version") {
            None => Some(1),
            Some(value) => {
                let whole = value.as_u64().filter(|&version| version >= 1);
                // The log stores versions as a signed 64-bit integer
                // (PostgreSQL BIGINT, SQLite INTEGER): timestamps such as
                // epoch milliseconds or yyyymmddhhmmss fit.
                let version = whole.and_then(|version| i64::try_from(version).ok());
                if whole.is_none() {
                    self.report(
                        &path.field("version"),
                        format!("must be a positive whole number, found {}", describe(value)),
                    );
                } else if version.is_none() {
                    // A valid integer, but over what the log stores: say so
                    // rather than call it not a whole number.
                    self.report(
                        &path.field("version"),
                        format!(
                            "{} is over the largest version Sightline accepts ({})",
                            describe(value),
                            i64::MAX
                        ),
                    );
                }
                version
            }
        };
        Some(Source {
            agency: agency?,
            system,
            record_id: record_id?,
            version: version?,
        })
    }

    fn kind(&mut self, record: &Object<'_>) -> Option<Kind> {
        let root = FieldPath::Root;
        let path = root.field("kind");
        let text = self
            .required(record, "kind", &root)
            .and_then(|value| self.string(value, &path))?;
        let kind = Kind::parse(text);
        if kind.is_none() {
            let message = match did_you_mean(text, Kind::NAMES) {
                Some(suggestion) => format!(
                    "\"{}\" is not a known kind (did you mean \"{suggestion}\"?)",
                    truncate_for_message(text)
                ),
                None => format!("\"{}\" is not a known kind", truncate_for_message(text)),
            };
            self.report(&path, message);
        }
        kind
    }

    fn not_in_future(&mut self, path: &FieldPath<'_>, instant: DateTime<Utc>, shown: &str) -> bool {
        if instant > self.received_at + Duration::days(FUTURE_ALLOWANCE_DAYS) {
            self.report(
                path,
                format!(
                    "\"{shown}\" is more than {FUTURE_ALLOWANCE_DAYS} day in the future (received {})",
                    self.received_at.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            );
            return false;
        }
        true
    }

    fn occurred_at(&mut self, record: &Object<'_>) -> Option<OccurredAt> {
        let root = FieldPath::Root;
        let path = root.field("occurred_at");
        let text = self
            .required(record, "occurred_at", &root)
            .and_then(|value| self.string(value, &path))?;
        let occurred_at = OccurredAt::parse(text)
            .map_err(|error| self.report(&path, error.0))
            .ok()?;
        self.not_in_future(&path, occurred_at.start(), text)
            .then_some(occurred_at)
    }

    /// `Some(None)` when absent (it defaults to the time received), `None` when invalid.
    fn recorded_at(&mut self, record: &Object<'_>) -> Option<Option<DateTime<Utc>>> {
        let path = FieldPath::Root.field("recorded_at");
        let Some(value) = Self::field(record, "recorded_at") else {
            return Some(None);
        };
        let text = self.string(value, &path)?;
        let instant = parse_date_time(text)
            .map_err(|error| self.report(&path, error.0))
            .ok()?;
        let instant = instant.with_timezone(&Utc);
        self.not_in_future(&path, instant, text)
            .then_some(Some(instant))
    }

    fn array<'v>(
        &mut self,
        value: &'v Json<'v>,
        path: &FieldPath<'_>,
        items_max: usize,
    ) -> Option<&'v [Json<'v>]> {
        let Some(items) = value.as_array() else {
            self.report(
                path,
                format!("expected an array, found {}", describe(value)),
            );
            return None;
        };
        if items.len() > items_max {
            self.report(
                path,
                format!("has {} items (at most {items_max})", items.len()),
            );
            return None;
        }
        Some(items)
    }

    fn persons(&mut self, record: &Object<'_>) -> Vec<Person> {
        let root = FieldPath::Root;
        let path = root.field("persons");
        let Some(value) = self.required(record, "persons", &root) else {
            return Vec::new();
        };
        let Some(items) = self.array(value, &path, self.limits.persons_max) else {
            return Vec::new();
        };
        if items.is_empty() {
            self.report(&path, "must list at least one person");
        }
        let mut persons: Vec<Person> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = path.index(index);
            if let Some(person) = self.person(item, &item_path) {
                if persons
                    .iter()
                    .any(|earlier| earlier.person_ref == person.person_ref)
                {
                    self.report(
                        &item_path.field("ref"),
                        format!("\"{}\" is used by an earlier person in this record (refs must be unique)", truncate_for_message(&person.person_ref)),
                    );
                }
                persons.push(person);
            }
        }
        persons
    }

    fn enum_field<T>(
        &mut self,
        object: &Object<'_>,
        name: &str,
        path: &FieldPath<'_>,
        names: &[&str],
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = Self::field(object, name)?;
        let field_path = path.field(name);
        let text = self.string(value, &field_path)?;
        let parsed = parse(text);
        if parsed.is_none() {
            self.report(&field_path, not_one_of(text, names));
        }
        parsed
    }

    fn person(&mut self, value: &Json<'_>, path: &FieldPath<'_>) -> Option<Person> {
        let Some(object) = value.as_object() else {
            self.report(
                path,
                format!("expected an object, found {}", describe(value)),
            );
            return None;
        };
        let n_problems_before = self.problems.len();
        self.reject_unknown_fields(object, PERSON_FIELDS, path);
        let person_ref = self.required(object, "ref", path).and_then(|value| {
            let ref_path = path.field("ref");
            let text = self.string(value, &ref_path)?;
            if text.is_empty() || text.chars().count() > self.limits.ref_chars_max {
                self.report(
                    &ref_path,
                    format!("must be 1 to {} characters", self.limits.ref_chars_max),
                );
                return None;
            }
            Some(text.to_owned())
        });
        let role = if Self::field(object, "role").is_none() {
            self.report(&path.field("role"), "is required");
            None
        } else {
            self.enum_field(object, "role", path, Role::NAMES, Role::parse)
        };
        let source_person_id = self.optional_text(object, "source_person_id", path);
        let nhs_number = Self::field(object, "nhs_number").and_then(|value| {
            let field_path = path.field("nhs_number");
            let text = self.string(value, &field_path)?;
            NhsNumber::parse(text)
                .map_err(|error| self.report(&field_path, error.0))
                .ok()
        });
        let given_names = self.optional_text(object, "given_names", path);
        let family_name = self.optional_text(object, "family_name", path);
        let aliases = self.aliases(object, path);
        let dob = self.partial_date(object, "dob", path);
        let expected_dob = self.partial_date(object, "expected_dob", path);
        let sex = self.enum_field(object, "sex", path, Sex::NAMES, Sex::parse);
        let address = Self::field(object, "address")
            .and_then(|value| self.address(value, &path.field("address")));

        // A name written but invalid (too long) is reported as such; it still
        // identifies the person, so the identity rule does not add a second,
        // misleading problem.
        let names_written = ["source_person_id", "given_names", "family_name"]
            .iter()
            .any(|name| writes_text(Self::field(object, name)))
            || Self::field(object, "aliases")
                .and_then(Json::as_array)
                .is_some_and(|items| items.iter().any(|item| writes_text(Some(item))));
        let has_identity = Self::field(object, "nhs_number").is_some()
            || source_person_id.is_some()
            || given_names.is_some()
            || family_name.is_some()
            || !aliases.is_empty()
            || names_written;
        if !has_identity {
            self.report(
                path,
                "a person must carry at least one of nhs_number, source_person_id, or a name",
            );
        }
        if self.problems.len() > n_problems_before {
            // Keep the ref so later checks of findings and relationships do not
            // report it as dangling; the record is rejected anyway.
            return person_ref.map(Person::unidentified);
        }
        Some(Person {
            person_ref: person_ref?,
            role: role?,
            source_person_id,
            nhs_number,
            given_names,
            family_name,
            aliases,
            dob,
            expected_dob,
            sex,
            address,
        })
    }

    fn aliases(&mut self, object: &Object<'_>, path: &FieldPath<'_>) -> Vec<String> {
        let Some(value) = Self::field(object, "aliases") else {
            return Vec::new();
        };
        let aliases_path = path.field("aliases");
        let Some(items) = self.array(value, &aliases_path, self.limits.aliases_max) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                self.text(item, &aliases_path.index(index), self.limits.text_chars_max)
            })
            .collect()
    }

    fn partial_date(
        &mut self,
        object: &Object<'_>,
        name: &str,
        path: &FieldPath<'_>,
    ) -> Option<PartialDate> {
        let value = Self::field(object, name)?;
        let field_path = path.field(name);
        let text = self.string(value, &field_path)?;
        PartialDate::parse(text)
            .map_err(|error| self.report(&field_path, error.0))
            .ok()
    }

    fn address(&mut self, value: &Json<'_>, path: &FieldPath<'_>) -> Option<Address> {
        let Some(object) = value.as_object() else {
            self.report(
                path,
                format!("expected an object, found {}", describe(value)),
            );
            return None;
        };
        self.reject_unknown_fields(object, ADDRESS_FIELDS, path);
        let lines = match Self::field(object, "lines") {
            None => Vec::new(),
            Some(value) => {
                let lines_path = path.field("lines");
                let items = self
                    .array(value, &lines_path, self.limits.address_lines_max)
                    .unwrap_or_default();
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| {
                        self.text(item, &lines_path.index(index), self.limits.text_chars_max)
                    })
                    .collect()
            }
        };
        let postcode = Self::field(object, "postcode").and_then(|value| {
            let postcode_path = path.field("postcode");
            let text = self.string(value, &postcode_path)?;
            if text.trim().is_empty() {
                return None;
            }
            Postcode::parse(text)
                .map_err(|error| self.report(&postcode_path, error.0))
                .ok()
        });
        Some(Address { lines, postcode })
    }

    /// Resolves a list of refs to person indexes, reporting dangling ones.
    fn refs(
        &mut self,
        value: &Json<'_>,
        path: &FieldPath<'_>,
        refs: Option<&[&str]>,
    ) -> Vec<usize> {
        let Some(items) = self.array(value, path, self.limits.persons_max) else {
            return Vec::new();
        };
        let mut indexes = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if let Some(person_index) = self.person_ref(item, &path.index(index), refs) {
                indexes.push(person_index);
            }
        }
        indexes
    }

    fn person_ref(
        &mut self,
        value: &Json<'_>,
        path: &FieldPath<'_>,
        refs: Option<&[&str]>,
    ) -> Option<usize> {
        let text = self.string(value, path)?;
        let refs = refs?;
        let index = refs.iter().position(|candidate| *candidate == text);
        if index.is_none() {
            self.report(
                path,
                format!(
                    "\"{}\" is not the ref of any person in this record",
                    truncate_for_message(text)
                ),
            );
        }
        index
    }

    fn findings(
        &mut self,
        record: &Object<'_>,
        refs: Option<&[&str]>,
        persons: &[Person],
    ) -> Vec<Finding> {
        let path = FieldPath::Root.field("findings");
        let Some(value) = Self::field(record, "findings") else {
            return Vec::new();
        };
        let Some(items) = self.array(value, &path, self.limits.findings_max) else {
            return Vec::new();
        };
        let default_subjects: Vec<usize> = persons
            .iter()
            .enumerate()
            .filter(|(_, person)| person.role == Role::Subject)
            .map(|(index, _)| index)
            .collect();
        let mut findings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = path.index(index);
            let Some(object) = item.as_object() else {
                self.report(
                    &item_path,
                    format!("expected an object, found {}", describe(item)),
                );
                continue;
            };
            let code_path = item_path.field("code");
            let Some(code_text) = self
                .required(object, "code", &item_path)
                .and_then(|value| self.string(value, &code_path))
            else {
                continue;
            };
            let Some(code) = FindingCode::parse(code_text) else {
                let message = match did_you_mean(code_text, FindingCode::NAMES) {
                    Some(suggestion) => format!(
                        "\"{}\" is not a known finding code (did you mean \"{suggestion}\"?)",
                        truncate_for_message(code_text)
                    ),
                    None => format!(
                        "\"{}\" is not a known finding code",
                        truncate_for_message(code_text)
                    ),
                };
                self.report(&code_path, message);
                continue;
            };
            let subjects = match Self::field(object, "subjects") {
                Some(value) => self.refs(value, &item_path.field("subjects"), refs),
                None => default_subjects.clone(),
            };
            let attributes = self.attributes(
                object,
                finding_attributes(code),
                &["code", "subjects"],
                &item_path,
            );
            findings.push(Finding {
                code,
                subjects,
                attributes,
            });
        }
        findings
    }

    fn relationships(&mut self, record: &Object<'_>, refs: Option<&[&str]>) -> Vec<Relationship> {
        let path = FieldPath::Root.field("relationships");
        let Some(value) = Self::field(record, "relationships") else {
            return Vec::new();
        };
        let Some(items) = self.array(value, &path, self.limits.relationships_max) else {
            return Vec::new();
        };
        let mut relationships = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = path.index(index);
            let Some(object) = item.as_object() else {
                self.report(
                    &item_path,
                    format!("expected an object, found {}", describe(item)),
                );
                continue;
            };
            self.reject_unknown_fields(object, RELATIONSHIP_FIELDS, &item_path);
            let from = self
                .required(object, "from", &item_path)
                .and_then(|value| self.person_ref(value, &item_path.field("from"), refs));
            let to = self
                .required(object, "to", &item_path)
                .and_then(|value| self.person_ref(value, &item_path.field("to"), refs));
            let relationship_type = if Self::field(object, "type").is_none() {
                self.report(&item_path.field("type"), "is required");
                None
            } else {
                self.enum_field(
                    object,
                    "type",
                    &item_path,
                    RelationshipType::NAMES,
                    RelationshipType::parse,
                )
            };
            if let (Some(from), Some(to), Some(relationship_type)) = (from, to, relationship_type) {
                relationships.push(Relationship {
                    from,
                    to,
                    relationship_type,
                });
            }
        }
        relationships
    }

    fn narrative(&mut self, record: &Object<'_>) -> Option<String> {
        let value = Self::field(record, "narrative")?;
        self.text(
            value,
            &FieldPath::Root.field("narrative"),
            self.limits.narrative_chars_max,
        )
    }

    fn outcome(&mut self, record: &Object<'_>, kind: Kind) -> Attributes {
        let path = FieldPath::Root.field("outcome");
        let Some(value) = Self::field(record, "outcome") else {
            return Attributes::default();
        };
        let Some(object) = value.as_object() else {
            self.report(
                &path,
                format!("expected an object, found {}", describe(value)),
            );
            return Attributes::default();
        };
        let specs = outcome_attributes(kind);
        if specs.is_empty() && !object.is_empty() {
            self.report(&path, format!("a {kind} record has no outcome fields"));
            return Attributes::default();
        }
        self.attributes(object, specs, &[], &path)
    }

    /// Validates the typed attributes of an outcome or finding.
    fn attributes(
        &mut self,
        object: &Object<'_>,
        specs: &'static [AttributeSpec],
        also_known: &[&str],
        path: &FieldPath<'_>,
    ) -> Attributes {
        let known: Vec<&str> = specs
            .iter()
            .map(|spec| spec.name)
            .chain(also_known.iter().copied())
            .collect();
        self.reject_unknown_fields(object, &known, path);
        let mut attributes = Vec::new();
        for spec in specs {
            let Some(value) = Self::field(object, spec.name) else {
                continue;
            };
            if let Some(parsed) = self.attribute(value, spec, &path.field(spec.name)) {
                attributes.push((spec.name, parsed));
            }
        }
        Attributes(attributes)
    }

    fn attribute(
        &mut self,
        value: &Json<'_>,
        spec: &AttributeSpec,
        path: &FieldPath<'_>,
    ) -> Option<AttributeValue> {
        match spec.ty {
            AttributeType::Bool => match value {
                Json::Bool(flag) => Some(AttributeValue::Bool(*flag)),
                other => {
                    self.report(
                        path,
                        format!("expected true or false, found {}", describe(other)),
                    );
                    None
                }
            },
            AttributeType::Enum(names) => {
                let text = self.string(value, path)?;
                let found = names.iter().find(|name| **name == text);
                if found.is_none() {
                    self.report(path, not_one_of(text, names));
                }
                found.map(|name| AttributeValue::Enum(name))
            }
            AttributeType::Text { chars_max } => {
                self.text(value, path, chars_max).map(AttributeValue::Text)
            }
            AttributeType::Int { min, max } => {
                let number = value.as_i64().filter(|number| (min..=max).contains(number));
                if number.is_none() {
                    self.report(
                        path,
                        format!("expected {}, found {}", spec.ty.describe(), describe(value)),
                    );
                }
                number.map(AttributeValue::Int)
            }
            AttributeType::PartialDate => {
                let text = self.string(value, path)?;
                PartialDate::parse(text)
                    .map(AttributeValue::Date)
                    .map_err(|error| self.report(path, error.0))
                    .ok()
            }
        }
    }
}

impl Person {
    /// A placeholder for a person whose fields had problems; never stored.
    fn unidentified(person_ref: String) -> Person {
        Person {
            person_ref,
            role: Role::Other,
            source_person_id: None,
            nhs_number: None,
            given_names: None,
            family_name: None,
            aliases: Vec::new(),
            dob: None,
            expected_dob: None,
            sex: None,
            address: None,
        }
    }
}

/// Whether a value is a string with something other than whitespace in it.
fn writes_text(value: Option<&Json<'_>>) -> bool {
    matches!(value, Some(Json::String(text)) if !text.trim().is_empty())
}

/// `"x" is not one of "a", "b" (did you mean "a"?)`.
fn not_one_of(text: &str, names: &[&str]) -> String {
    let shown = truncate_for_message(text);
    match did_you_mean(text, names) {
        Some(suggestion) => format!(
            "\"{shown}\" is not one of {} (did you mean \"{suggestion}\"?)",
            quoted_list(names)
        ),
        None => format!("\"{shown}\" is not one of {}", quoted_list(names)),
    }
}

/// Plain words for a JSON value's type (and the value, when short).
pub(crate) fn describe(value: &Json<'_>) -> String {
    match value {
        Json::Null => "null".to_owned(),
        Json::Bool(flag) => format!("{flag}"),
        Json::Number(number) => format!("the number {number}"),
        Json::String(text) => format!("the string \"{}\"", truncate_for_message(text)),
        Json::Array(_) => "an array".to_owned(),
        Json::Object(_) => "an object".to_owned(),
    }
}
