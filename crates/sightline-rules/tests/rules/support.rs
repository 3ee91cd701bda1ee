//! Builders for test pictures. Every person here is invented.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use sightline_core::{
    AttributeValue, Attributes, FindingCode, Kind, PartialDate, RelationshipType, Role,
};
use sightline_rules::{
    Child, ChildPicture, Event, EventFinding, EventPerson, EvidenceRef, Firing, Pack, Subject,
    evaluate,
};
use std::sync::OnceLock;

pub fn default_pack() -> &'static Pack {
    static PACK: OnceLock<Pack> = OnceLock::new();
    PACK.get_or_init(|| sightline_rules::default_pack().unwrap())
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// `2007-03-01` (10:00) or `2007-03-01T08:30`.
pub fn at(text: &str) -> DateTime<Utc> {
    if text.len() == 10 {
        return Utc.from_utc_datetime(&day(text).and_hms_opt(10, 0, 0).unwrap());
    }
    Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap())
}

/// `"true"`/`"false"` are booleans, digits integers, anything else an enum value.
pub fn attributes(pairs: &[(&'static str, &'static str)]) -> Attributes {
    Attributes(
        pairs
            .iter()
            .map(|(name, value)| {
                let value = match *value {
                    "true" => AttributeValue::Bool(true),
                    "false" => AttributeValue::Bool(false),
                    text if text.bytes().all(|byte| byte.is_ascii_digit()) => {
                        AttributeValue::Int(text.parse().unwrap())
                    }
                    text => AttributeValue::Enum(text),
                };
                (*name, value)
            })
            .collect(),
    )
}

pub struct Picture {
    pub picture: ChildPicture,
    n_records: usize,
}

impl Picture {
    /// A child born on `dob`.
    pub fn child(dob: &str) -> Picture {
        Picture::with_dob(Some(PartialDate::Day(day(dob))))
    }

    pub fn with_dob(dob: Option<PartialDate>) -> Picture {
        Picture {
            picture: ChildPicture::new(Child::new("child-1", dob)),
            n_records: 0,
        }
    }

    /// An event about the child on `occurred`, recorded that day at 10:00.
    pub fn event(&mut self, agency: &str, kind: &str, occurred: &str) -> EventBuilder<'_> {
        self.n_records += 1;
        let kind = Kind::parse(kind).unwrap();
        let record_id = format!("r{}", self.n_records);
        let event = Event::new(
            EvidenceRef::new(agency, record_id, 1),
            kind,
            day(occurred),
            at(occurred),
        );
        EventBuilder { owner: self, event }
    }

    pub fn evaluate(&self, now: &str) -> Vec<Firing> {
        evaluate(default_pack(), &self.picture, at(now))
    }
}

pub struct EventBuilder<'a> {
    owner: &'a mut Picture,
    event: Event,
}

impl EventBuilder<'_> {
    pub fn recorded(mut self, when: &str) -> Self {
        self.event.recorded_at = at(when);
        self
    }

    pub fn record_id(mut self, record_id: &str, version: i64) -> Self {
        self.event.evidence =
            EvidenceRef::new(self.event.evidence.agency.clone(), record_id, version);
        self
    }

    /// A finding about the child.
    pub fn finding(mut self, code: &str, pairs: &[(&'static str, &'static str)]) -> Self {
        self.event.findings.push(EventFinding {
            code: FindingCode::parse(code).unwrap(),
            subjects: vec![Subject::Child],
            attributes: attributes(pairs),
        });
        self
    }

    /// A finding about another person.
    pub fn finding_about(
        mut self,
        code: &str,
        person_id: &str,
        pairs: &[(&'static str, &'static str)],
    ) -> Self {
        self.event.findings.push(EventFinding {
            code: FindingCode::parse(code).unwrap(),
            subjects: vec![Subject::Person(person_id.to_owned())],
            attributes: attributes(pairs),
        });
        self
    }

    pub fn outcome(mut self, pairs: &[(&'static str, &'static str)]) -> Self {
        self.event.outcome = attributes(pairs);
        self
    }

    /// Another person in the record.
    pub fn person(mut self, person_id: &str, role: &str) -> Self {
        self.event.people.push(EventPerson {
            person_id: person_id.to_owned(),
            role: Role::parse(role).unwrap(),
            relationships: Vec::new(),
        });
        self
    }

    /// A relationship from the last added person.
    pub fn relationship(mut self, relationship: &str, to: Subject) -> Self {
        if let Some(person) = self.event.people.last_mut() {
            person
                .relationships
                .push((RelationshipType::parse(relationship).unwrap(), to));
        }
        self
    }

    /// The record is about household members only.
    pub fn household_only(mut self) -> Self {
        self.event.child_role = None;
        self
    }

    pub fn add(self) {
        self.owner.picture.add_event(self.event).unwrap();
    }
}

pub fn fired<'f>(firings: &'f [Firing], rule_id: &str) -> Vec<&'f Firing> {
    firings
        .iter()
        .filter(|firing| firing.rule_id == rule_id)
        .collect()
}
