//! Read-side assembly of the practitioner's pages: what the web UI shows about a
//! child (identity, the linked source records with their match evidence, the
//! people around the child, plans), the multi-agency chronology (rows, filter, a
//! server-drawn SVG timeline and a CSV export), search through the linkage
//! engine, and "who viewed this child" from the audit log.
//!
//! Everything here is a pure function of a [`Snapshot`] (records linked into
//! persons, see [`crate::picture`]) and plain inputs: no IO, no clock. The web
//! shell decides access (`crate::audit::authorize_and_record`) before it calls any
//! of these, and renders the serialisable views they return.
//!
//! - Invariant: [`timeline_svg`] is well-formed XML whatever the record text: every
//!   text node and attribute value is escaped; it has one lane per agency, a
//!   `<title>` and `<desc>`, and marks that differ in shape, not only colour.
//! - Invariant: [`chronology_csv`] escapes every cell (RFC 4180) and neutralises
//!   spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, tab or
//!   carriage return is prefixed with `'`.

use crate::picture::{
    AddressIndex, LinkedRecords, PersonFacts, PictureError, child_picture_with, link_records,
    load_versions,
};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sightline_core::{AttributeValue, Kind, Sex};
use sightline_linkage::{Explanation, HardRule, UkPersonMention};
use sightline_rules::{Connection, PersonAround};
use sightline_store::{AuditRow, Store};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// The records of the log linked into persons, with each person's facts and the
/// address index: what every page about a child reads (owned).
pub struct Snapshot {
    pub linked: LinkedRecords,
    pub facts: BTreeMap<String, PersonFacts>,
    pub addresses: AddressIndex,
}

impl Snapshot {
    /// Loads the log's versions and links them (as the engine does).
    pub fn load(store: &dyn Store) -> Result<Snapshot, PictureError> {
        let records = load_versions(store, None)?;
        Ok(Snapshot::of(link_records(records)?))
    }

    /// The snapshot of already linked records.
    pub fn of(linked: LinkedRecords) -> Snapshot {
        let facts = crate::picture::person_facts(&linked);
        let addresses = AddressIndex::new(&linked);
        Snapshot {
            linked,
            facts,
            addresses,
        }
    }

    /// The snapshot, borrowed as the page functions read it.
    pub fn picture(&self) -> Picture<'_> {
        Picture {
            linked: &self.linked,
            facts: &self.facts,
            addresses: &self.addresses,
        }
    }
}

/// Linked records, person facts and the address index, borrowed from whoever
/// keeps them (a [`Snapshot`], or the intake engine).
#[derive(Clone, Copy)]
pub struct Picture<'a> {
    pub linked: &'a LinkedRecords,
    pub facts: &'a BTreeMap<String, PersonFacts>,
    pub addresses: &'a AddressIndex,
}

impl<'a> Picture<'a> {
    /// The facts of a person known as a child.
    pub fn child(&self, person_id: &str) -> Option<&'a PersonFacts> {
        self.facts.get(person_id).filter(|facts| facts.is_child)
    }

    /// The records of the child's picture (the child's and those of every adult
    /// around the child), by (agency, record id). Cost: the picture's records.
    pub fn records_around(
        &self,
        facts: &PersonFacts,
    ) -> HashMap<(&'a str, &'a str), &'a sightline_core::Record> {
        let picture = child_picture_with(self.linked, facts, self.facts, self.addresses);
        let mut mentions: Vec<crate::picture::MentionRef> = facts.mentions.clone();
        for person in picture.people() {
            if let Some(around) = self.facts.get(&person.person_id) {
                mentions.extend(around.mentions.iter().copied());
            }
        }
        mentions
            .into_iter()
            .map(|mention| {
                let record = &self.linked.records[mention.record_idx].record;
                (
                    (
                        record.source.agency.as_str(),
                        record.source.record_id.as_str(),
                    ),
                    record,
                )
            })
            .collect()
    }
}

// ---- identity and need-to-know ----

/// A person's name as most agencies recorded it.
pub fn display_name(facts: &PersonFacts) -> String {
    match (&facts.given_names, &facts.family_name) {
        (Some(given), Some(family)) => format!("{given} {family}"),
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (None, None) => "Name not recorded".to_owned(),
    }
}

/// Whole years from `dob` (its earliest possible day) to `today`.
pub fn age_years(dob: sightline_core::PartialDate, today: NaiveDate) -> Option<u32> {
    let born = dob.earliest();
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The agencies that sent a record mentioning the person, sorted.
pub fn contributing_agencies(picture: Picture<'_>, facts: &PersonFacts) -> BTreeSet<String> {
    facts
        .mentions
        .iter()
        .map(|mention| {
            picture.linked.records[mention.record_idx]
                .record
                .source
                .agency
                .as_str()
                .to_owned()
        })
        .collect()
}

/// One plan record about the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    /// When, in words.
    pub date: String,
    /// The plan's display name ("Child protection").
    pub plan: String,
    /// "Started", "Ended".
    pub status: String,
    /// Whether this record ended the plan.
    pub ended: bool,
    pub agency: String,
    pub record_id: String,
}

/// The child's plan records, oldest first.
pub fn plans(picture: Picture<'_>, facts: &PersonFacts) -> Vec<PlanEntry> {
    let mut seen = BTreeSet::new();
    let mut entries: Vec<(NaiveDate, PlanEntry)> = Vec::new();
    for mention in &facts.mentions {
        if !seen.insert(mention.record_idx) {
            continue;
        }
        let record = &picture.linked.records[mention.record_idx].record;
        if record.kind != Kind::SocialCarePlan {
            continue;
        }
        let date = record.occurred_at.start().date_naive();
        let status = record.outcome.text("status").unwrap_or("");
        entries.push((
            date,
            PlanEntry {
                date: sightline_core::dates::occurred(record.occurred_at),
                plan: record.outcome.text("plan").map_or_else(
                    || "Plan".to_owned(),
                    |plan| {
                        sightline_core::labels::value_label("plan", plan)
                            .map_or_else(|| sightline_core::labels::humanise(plan), str::to_owned)
                    },
                ),
                status: sightline_core::labels::value_label("status", status)
                    .unwrap_or("Not recorded")
                    .to_owned(),
                ended: status == "end",
                agency: record.source.agency.as_str().to_owned(),
                record_id: record.source.record_id.as_str().to_owned(),
            },
        ));
    }
    entries.sort_by(|a, b| (a.0, &a.1.record_id).cmp(&(b.0, &b.1.record_id)));
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// The plans whose latest record (by date) started or continued them.
pub fn current_plans(plans: &[PlanEntry]) -> Vec<String> {
    let mut latest: BTreeMap<&str, bool> = BTreeMap::new();
    for entry in plans {
        latest.insert(&entry.plan, entry.ended);
    }
    latest
        .into_iter()
        .filter(|(_, ended)| !ended)
        .map(|(plan, _)| plan.to_owned())
        .collect()
}

/// What someone without a relationship to the child may see: enough to know
/// whom to contact.
#[derive(Debug, Clone, Serialize)]
pub struct MinimalChild {
    pub person_id: String,
    pub name: String,
    pub age_years: Option<u32>,
    pub current_plans: Vec<String>,
    /// The agencies holding records about the child: whom to contact.
    pub contacts: Vec<String>,
}

pub fn minimal_child(picture: Picture<'_>, facts: &PersonFacts, today: NaiveDate) -> MinimalChild {
    MinimalChild {
        person_id: facts.id.clone(),
        name: display_name(facts),
        age_years: facts.dob.and_then(|dob| age_years(dob, today)),
        current_plans: current_plans(&plans(picture, facts)),
        contacts: contributing_agencies(picture, facts).into_iter().collect(),
    }
}

// ---- the child page ----

/// One field's part in a match: the linkage's explanation, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct FieldWeight {
    pub field: String,
    pub level: String,
    /// log2 of the Bayes factor, rounded to 2 decimals.
    pub weight: f64,
    pub agreed: bool,
}

/// Why a mention was linked to the person: the waterfall against the mention
/// that founded the person.
#[derive(Debug, Clone, Serialize)]
pub struct MatchEvidence {
    pub against: String,
    pub prior_weight: f64,
    pub fields: Vec<FieldWeight>,
    pub match_weight: f64,
    /// Match probability as a percentage, rounded to 1 decimal.
    pub probability_percent: f64,
    pub hard_rule: Option<String>,
}

fn round2(value: f64) -> f64 {
    if value.is_finite() {
        (value * 100.0).round() / 100.0
    } else {
        value
    }
}

/// A hard linkage rule in plain words.
fn hard_rule_words(rule: HardRule) -> String {
    match rule {
        HardRule::SameStrongIdentifier => "same NHS number",
        HardRule::DifferentStrongIdentifiers => "different NHS numbers",
        HardRule::SameSourceId => "same person id at the same agency",
        HardRule::DifferentSourceIds => "different person ids at the same agency",
        HardRule::HumanMatch => "a person decided: the same",
        HardRule::HumanNonMatch => "a person decided: different",
    }
    .to_owned()
}

impl MatchEvidence {
    fn of(against: String, explanation: &Explanation) -> MatchEvidence {
        MatchEvidence {
            against,
            prior_weight: round2(explanation.prior_weight),
            fields: explanation
                .fields
                .iter()
                .map(|field| FieldWeight {
                    field: field.field.replace('_', " "),
                    level: field.level.clone(),
                    weight: round2(field.weight),
                    agreed: field.weight > 0.0,
                })
                .collect(),
            match_weight: round2(explanation.match_weight),
            probability_percent: (explanation.match_probability * 1000.0).round() / 10.0,
            hard_rule: explanation.hard_rule.map(hard_rule_words),
        }
    }
}

/// One record mentioning the child, as that agency recorded the child.
#[derive(Debug, Clone, Serialize)]
pub struct SourceMention {
    pub agency: String,
    pub record_id: String,
    pub version: i64,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub occurred: String,
    /// When it happened, in words.
    pub occurred_words: String,
    /// The child's part in the record ("Subject").
    pub role: &'static str,
    pub recorded_name: String,
    pub recorded_dob: Option<String>,
    pub recorded_postcode: Option<String>,
    /// `None` for the mention that founded the person.
    pub evidence: Option<MatchEvidence>,
}

/// Someone around the child.
#[derive(Debug, Clone, Serialize)]
pub struct PersonAroundView {
    pub person_id: String,
    pub name: String,
    pub dob: Option<String>,
    pub adult: bool,
    /// `household`, `carers`, `visitors` or `others`.
    pub group: &'static str,
    /// The group in words ("Household").
    pub group_label: &'static str,
    pub connections: Vec<&'static str>,
    pub known_to_social_care: bool,
    /// An adult linked to the household whom social care has not recorded.
    pub unassessed: bool,
    pub offences: Vec<&'static str>,
}

/// The full child page.
#[derive(Debug, Clone, Serialize)]
pub struct ChildView {
    pub person_id: String,
    pub name: String,
    pub dob: Option<String>,
    pub age_years: Option<u32>,
    pub sex: Option<&'static str>,
    pub nhs_number: Option<String>,
    pub mentions: Vec<SourceMention>,
    pub people: Vec<PersonAroundView>,
    pub plans: Vec<PlanEntry>,
    pub current_plans: Vec<String>,
    pub agencies: Vec<String>,
}

/// Connections that put an adult in the household's orbit (those the
/// `unassessed_adult` rule looks at).
const HOUSEHOLD_ORBIT: &[Connection] = &[
    Connection::PartnerOfParent,
    Connection::LivesWith,
    Connection::Visits,
    Connection::NamedOnForm,
    Connection::HouseholdMember,
    Connection::StepParent,
    Connection::Carer,
];

fn group_of(connections: &BTreeSet<Connection>) -> &'static str {
    let household = [
        Connection::Parent,
        Connection::StepParent,
        Connection::PartnerOfParent,
        Connection::LivesWith,
        Connection::HouseholdMember,
    ];
    if household.iter().any(|c| connections.contains(c)) {
        "household"
    } else if connections.contains(&Connection::Carer) {
        "carers"
    } else if connections.contains(&Connection::Visits) {
        "visitors"
    } else {
        "others"
    }
}

fn person_around_view(picture: Picture<'_>, person: &PersonAround) -> PersonAroundView {
    let facts = picture.facts.get(&person.person_id);
    let connections: BTreeSet<Connection> =
        person.links.iter().map(|link| link.connection).collect();
    let adult = facts.is_some_and(|facts| !facts.is_child);
    let known = person.known_to_social_care_since.is_some();
    let unassessed = adult
        && !known
        && !connections.contains(&Connection::Parent)
        && HOUSEHOLD_ORBIT.iter().any(|c| connections.contains(c));
    let mut offences: Vec<&'static str> = person
        .offences
        .iter()
        .map(|offence| {
            sightline_core::labels::value_label("category", offence.category).unwrap_or("Other")
        })
        .collect();
    offences.sort_unstable();
    offences.dedup();
    PersonAroundView {
        person_id: person.person_id.clone(),
        name: facts.map_or_else(|| "Name not recorded".to_owned(), display_name),
        dob: facts
            .and_then(|facts| facts.dob)
            .map(sightline_core::dates::partial_date),
        adult,
        group: group_of(&connections),
        group_label: match group_of(&connections) {
            "household" => "Household",
            "carers" => "Carer",
            "visitors" => "Visitor",
            _ => "Other",
        },
        connections: connections.iter().map(|c| c.describe()).collect(),
        known_to_social_care: known,
        unassessed,
        offences,
    }
}

fn recorded_name(person: &sightline_core::Person) -> String {
    match (&person.given_names, &person.family_name) {
        (Some(given), Some(family)) => format!("{given} {family}"),
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (None, None) => "not recorded".to_owned(),
    }
}

impl ChildView {
    /// The page without the records withheld from its reader (restricted by
    /// their agency to roles the reader is not among): their mentions and the
    /// plans they record.
    pub fn without(mut self, withheld: &crate::controls::Withheld) -> ChildView {
        if withheld.is_empty() {
            return self;
        }
        // Every other mention's match evidence is against the first: when that
        // one is withheld, so is the evidence that names it.
        let founder_withheld = self
            .mentions
            .first()
            .is_some_and(|founder| withheld.contains(&founder.agency, &founder.record_id));
        self.mentions
            .retain(|mention| !withheld.contains(&mention.agency, &mention.record_id));
        if founder_withheld {
            for mention in &mut self.mentions {
                mention.evidence = None;
            }
        }
        self.plans
            .retain(|plan| !withheld.contains(&plan.agency, &plan.record_id));
        self.current_plans = current_plans(&self.plans);
        self
    }
}

/// The child page: identity, every mention with its match evidence, the people
/// around the child (unassessed adults marked), plans.
pub fn child_view(picture: Picture<'_>, facts: &PersonFacts, today: NaiveDate) -> ChildView {
    child_view_for(picture, facts, today, &crate::controls::Withheld::none())
}

/// [`child_view`] for a reader from whom `withheld` records are withheld
/// (restricted by their agency): their mentions and plans are left out, and
/// the people around the child are told only from the other records (a person
/// only a withheld record links to the child is not shown).
pub fn child_view_for(
    picture: Picture<'_>,
    facts: &PersonFacts,
    today: NaiveDate,
    withheld: &crate::controls::Withheld,
) -> ChildView {
    let linked = &picture.linked;
    let linkage_record = |mention: &crate::picture::MentionRef| linked.index_record(*mention);
    let founder = facts.mentions.first();
    let founder_record = founder.and_then(linkage_record);
    let founder_label = founder.map(|mention| {
        let source = &linked.records[mention.record_idx].record.source;
        format!("record {}", source.record_id)
    });
    let mut mentions: Vec<SourceMention> = facts
        .mentions
        .iter()
        .enumerate()
        .map(|(position, mention)| {
            let record = &linked.records[mention.record_idx].record;
            let person = linked.person_of(*mention);
            let evidence = if position == 0 {
                None
            } else {
                founder_record
                    .zip(linkage_record(mention))
                    .and_then(|(left, right)| {
                        let mut explanation = linked.index.explain(left, right)?;
                        crate::persons::relational_in_words(
                            linked,
                            left,
                            right,
                            "this child",
                            &mut explanation,
                        );
                        Some(explanation)
                    })
                    .map(|explanation| {
                        MatchEvidence::of(founder_label.clone().unwrap_or_default(), &explanation)
                    })
            };
            SourceMention {
                agency: record.source.agency.as_str().to_owned(),
                record_id: record.source.record_id.as_str().to_owned(),
                version: record.source.version,
                kind: record.kind.as_str(),
                kind_label: record.kind.label(),
                occurred: record.occurred_at.to_string(),
                occurred_words: sightline_core::dates::occurred(record.occurred_at),
                role: person.role.label(),
                recorded_name: recorded_name(person),
                recorded_dob: person
                    .dob
                    .or(person.expected_dob)
                    .map(sightline_core::dates::partial_date),
                recorded_postcode: person
                    .address
                    .as_ref()
                    .and_then(|address| address.postcode.as_ref())
                    .map(|postcode| postcode.as_str().to_owned()),
                evidence,
            }
        })
        .collect();
    // The founder first, then the rest by date.
    if mentions.len() > 1 {
        mentions[1..].sort_by(|a, b| (&a.occurred, &a.record_id).cmp(&(&b.occurred, &b.record_id)));
    }
    let child_picture = child_picture_with(linked, facts, picture.facts, picture.addresses);
    let mut people: Vec<PersonAroundView> = child_picture
        .people()
        .filter_map(|person| {
            if withheld.is_empty() {
                return (!person.links.is_empty()).then(|| person_around_view(picture, person));
            }
            // Told from the records the reader may see only.
            let mut person = person.clone();
            person
                .links
                .retain(|link| !withheld.contains(&link.evidence.agency, &link.evidence.record_id));
            person.offences.retain(|offence| {
                !withheld.contains(&offence.evidence.agency, &offence.evidence.record_id)
            });
            (!person.links.is_empty()).then(|| person_around_view(picture, &person))
        })
        .collect();
    people.sort_by(|a, b| {
        (a.group, !a.unassessed, &a.name, &a.person_id).cmp(&(
            b.group,
            !b.unassessed,
            &b.name,
            &b.person_id,
        ))
    });
    let plans = plans(picture, facts);
    ChildView {
        person_id: facts.id.clone(),
        name: display_name(facts),
        dob: facts.dob.map(sightline_core::dates::partial_date),
        age_years: facts.dob.and_then(|dob| age_years(dob, today)),
        sex: facts.sex.map(Sex::label),
        nhs_number: facts.nhs_number.clone(),
        mentions,
        people,
        current_plans: current_plans(&plans),
        plans,
        agencies: contributing_agencies(picture, facts).into_iter().collect(),
    }
}

// ---- people and explanations in words ----

/// A person's part in the child's life, after their name: "the child's
/// mother", "the mother's partner", "who lives with the child". `parents` are
/// the sexes recorded for the child's parents (to say whose partner).
fn part_in_child_life(
    connections: &BTreeSet<Connection>,
    sex: Option<Sex>,
    parents: &[Option<Sex>],
) -> &'static str {
    let by_sex = |female: &'static str, male: &'static str, other: &'static str| match sex {
        Some(Sex::Female) => female,
        Some(Sex::Male) => male,
        _ => other,
    };
    if connections.contains(&Connection::Parent) {
        return by_sex(
            "the child's mother",
            "the child's father",
            "a parent of the child",
        );
    }
    if connections.contains(&Connection::StepParent) {
        return by_sex(
            "the child's stepmother",
            "the child's stepfather",
            "a step-parent of the child",
        );
    }
    if connections.contains(&Connection::PartnerOfParent) {
        let all =
            |wanted: Sex| !parents.is_empty() && parents.iter().all(|sex| *sex == Some(wanted));
        return if all(Sex::Female) {
            "the mother's partner"
        } else if all(Sex::Male) {
            "the father's partner"
        } else {
            "a parent's partner"
        };
    }
    for (connection, words) in [
        (Connection::Carer, "a carer of the child"),
        (
            Connection::HouseholdMember,
            "a member of the child's household",
        ),
        (Connection::LivesWith, "who lives with the child"),
        (Connection::Visits, "a visitor to the child's home"),
        (Connection::NamedOnForm, "named on a form by the family"),
    ] {
        if connections.contains(&connection) {
            return words;
        }
    }
    "known to the child's family"
}

/// "Lee Barton, the mother's partner": a person around `child` by name and
/// part in the child's life, for a reader who may see the child in full.
/// `None` when the person is not around the child.
pub fn person_in_words(
    picture: Picture<'_>,
    child: &PersonFacts,
    person_id: &str,
) -> Option<String> {
    let child_picture = child_picture_with(picture.linked, child, picture.facts, picture.addresses);
    let person = child_picture.person(person_id)?;
    let sex_of = |id: &str| picture.facts.get(id).and_then(|facts| facts.sex);
    let parents: Vec<Option<Sex>> = child_picture
        .people()
        .filter(|around| {
            around
                .links
                .iter()
                .any(|link| link.connection == Connection::Parent)
        })
        .map(|around| sex_of(&around.person_id))
        .collect();
    let connections: BTreeSet<Connection> =
        person.links.iter().map(|link| link.connection).collect();
    let part = part_in_child_life(&connections, sex_of(person_id), &parents);
    Some(match picture.facts.get(person_id) {
        Some(facts) if facts.given_names.is_some() || facts.family_name.is_some() => {
            format!("{}, {part}", display_name(facts))
        }
        _ => format!("{part} (name not recorded)"),
    })
}

/// A stored alert explanation as a reader with full access to the child reads
/// it: people around the child by name and part in the child's life, agencies
/// by `agency_name`. See `sightline_rules::resolve_explanation`.
pub fn explanation_in_words(
    picture: Picture<'_>,
    child: Option<&PersonFacts>,
    text: &str,
    agency_name: &dyn Fn(&str) -> Option<String>,
) -> String {
    sightline_rules::resolve_explanation(text, &|reference| match reference {
        sightline_rules::Reference::Person(person_id) => {
            child.and_then(|child| person_in_words(picture, child, person_id))
        }
        sightline_rules::Reference::Agency(agency) => agency_name(agency),
    })
}

// ---- the chronology ----

/// One record in the child's chronology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChronologyRow {
    pub date: NaiveDate,
    /// As recorded: a date-time, a date or a month.
    pub occurred: String,
    pub agency: String,
    pub agency_type: &'static str,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub record_id: String,
    pub version: i64,
    /// Whether the child is in the record, or only someone around the child.
    pub about_child: bool,
    /// Findings and outcome, in words.
    pub summary: String,
    /// When it happened, in words ("13 January 2007 at 10:20").
    pub when: String,
    /// The agency's display name (its id until the page sets it from the
    /// organisation).
    pub agency_name: String,
    /// The agency's type in words ("Health").
    pub agency_type_label: String,
    pub narrative: Option<String>,
}

/// "Where on the body: face": an attribute by its display name and value.
fn attribute_text(name: &str, value: &AttributeValue) -> String {
    let key = sightline_core::labels::attribute_label(name)
        .map_or_else(|| sightline_core::labels::humanise(name), str::to_owned);
    let value = sightline_core::labels::value_words(name, value);
    format!("{key}: {}", sightline_core::labels::in_sentence(&value))
}

/// A record's findings and outcome in words, for the chronology (and its CSV).
fn summary_of(record: &sightline_core::Record) -> String {
    let mut parts: Vec<String> = Vec::new();
    for finding in &record.findings {
        let mut part = finding.code.label().to_owned();
        let attributes: Vec<String> = finding
            .attributes
            .0
            .iter()
            .map(|(name, value)| attribute_text(name, value))
            .collect();
        if !attributes.is_empty() {
            part.push_str(" (");
            part.push_str(&attributes.join(", "));
            part.push(')');
        }
        parts.push(part);
    }
    for (name, value) in &record.outcome.0 {
        parts.push(attribute_text(name, value));
    }
    parts.join("; ")
}

/// Every record about the child (mentioning the child, or the adults around the
/// child), oldest first.
pub fn chronology(picture: Picture<'_>, facts: &PersonFacts) -> Vec<ChronologyRow> {
    let records = picture.records_around(facts);
    let child_picture = child_picture_with(picture.linked, facts, picture.facts, picture.addresses);
    let mut rows: Vec<ChronologyRow> = child_picture
        .events()
        .iter()
        .filter_map(|event| {
            let record = records.get(&(
                event.evidence.agency.as_str(),
                event.evidence.record_id.as_str(),
            ))?;
            Some(ChronologyRow {
                date: event.occurred,
                occurred: record.occurred_at.to_string(),
                agency: event.evidence.agency.clone(),
                agency_type: event.agency_type.as_str(),
                kind: record.kind.as_str(),
                kind_label: record.kind.label(),
                record_id: event.evidence.record_id.clone(),
                version: event.evidence.version,
                about_child: event.child_role.is_some(),
                summary: summary_of(record),
                when: sightline_core::dates::occurred(record.occurred_at),
                agency_name: event.evidence.agency.clone(),
                agency_type_label: sightline_core::labels::humanise(event.agency_type.as_str()),
                narrative: record.narrative.clone(),
            })
        })
        .collect();
    rows.sort_by(|a, b| (a.date, &a.agency, &a.record_id).cmp(&(b.date, &b.agency, &b.record_id)));
    rows
}

/// What the chronology is filtered by (each empty when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChronologyFilter {
    pub agency: Option<String>,
    pub kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl ChronologyFilter {
    pub fn keeps(&self, row: &ChronologyRow) -> bool {
        self.agency
            .as_deref()
            .is_none_or(|agency| row.agency == agency)
            && self.kind.as_deref().is_none_or(|kind| row.kind == kind)
            && self.from.is_none_or(|from| row.date >= from)
            && self.to.is_none_or(|to| row.date <= to)
    }
}

/// An alert or decision marked on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineMark {
    pub date: NaiveDate,
    pub decision: bool,
    pub label: String,
}

/// Escapes text for XML (and HTML) text nodes and quoted attributes.
pub fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\n' | '\t') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

const SVG_WIDTH: f64 = 960.0;
const SVG_GUTTER: f64 = 190.0;
const SVG_RIGHT: f64 = 20.0;
const SVG_TOP: f64 = 30.0;
const LANE_HEIGHT: f64 = 34.0;
const LEGEND_HEIGHT: f64 = 40.0;

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// The timeline as an SVG element: one lane per agency (records: a filled
/// circle when the child is in the record, a hollow square when only someone
/// around the child is), and a lane of alerts (triangles) and decisions
/// (diamonds). Each mark carries a `<title>`; the table next to it is the text
/// alternative.
pub fn timeline_svg(rows: &[ChronologyRow], marks: &[TimelineMark]) -> String {
    let agencies: BTreeSet<&str> = rows.iter().map(|row| row.agency.as_str()).collect();
    let n_lanes = agencies.len() + usize::from(!marks.is_empty());
    let height = SVG_TOP + LANE_HEIGHT * n_lanes.max(1) as f64 + LEGEND_HEIGHT;
    let dates = rows
        .iter()
        .map(|row| row.date)
        .chain(marks.iter().map(|mark| mark.date));
    let (first, last) = dates.fold(
        (None, None),
        |(lo, hi): (Option<NaiveDate>, Option<NaiveDate>), date| {
            (
                Some(lo.map_or(date, |lo: NaiveDate| lo.min(date))),
                Some(hi.map_or(date, |hi: NaiveDate| hi.max(date))),
            )
        },
    );
    let plot_width = SVG_WIDTH - SVG_GUTTER - SVG_RIGHT;
    let x_of = |date: NaiveDate| -> f64 {
        match (first, last) {
            (Some(first), Some(last)) if last > first => {
                let span = (day_number(last) - day_number(first)) as f64;
                SVG_GUTTER + plot_width * (day_number(date) - day_number(first)) as f64 / span
            }
            _ => SVG_GUTTER + plot_width / 2.0,
        }
    };
    let n_decisions = marks.iter().filter(|mark| mark.decision).count();
    let description = match (first, last) {
        (Some(first), Some(last)) => format!(
            "{} records from {} agencies between {} and {}; {} alerts and {} decisions. The table below lists every record.",
            rows.len(),
            agencies.len(),
            sightline_core::dates::date(first),
            sightline_core::dates::date(last),
            marks.len() - n_decisions,
            n_decisions
        ),
        _ => "No records match.".to_owned(),
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-labelledby="timeline-title timeline-desc" viewBox="0 0 {SVG_WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet"><title id="timeline-title">Timeline of the child's records by agency</title><desc id="timeline-desc">{}</desc>"#,
        xml_escape(&description)
    );
    // Year ticks.
    if let (Some(first), Some(last)) = (first, last) {
        for year in first.year()..=last.year() + 1 {
            let Some(start) = NaiveDate::from_ymd_opt(year, 1, 1) else {
                continue;
            };
            if start < first || start > last {
                continue;
            }
            let x = x_of(start);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{:.1}" stroke="#b1b4b6" stroke-dasharray="2 3"/><text x="{x:.1}" y="{}" font-size="12" text-anchor="middle" fill="#0b0c0c">{year}</text>"##,
                SVG_TOP - 6.0,
                SVG_TOP + LANE_HEIGHT * n_lanes as f64,
                SVG_TOP - 10.0,
            );
        }
    }
    let lane_y = |lane: usize| SVG_TOP + LANE_HEIGHT * lane as f64;
    for (lane, agency) in agencies.iter().enumerate() {
        let agency_name = rows
            .iter()
            .find(|row| row.agency == *agency)
            .map_or(*agency, |row| row.agency_name.as_str());
        let y = lane_y(lane);
        let mid = y + LANE_HEIGHT / 2.0;
        let fill = if lane % 2 == 0 { "#f3f2f1" } else { "#ffffff" };
        let _ = write!(
            svg,
            r##"<g class="timeline__lane"><rect x="0" y="{y:.1}" width="{SVG_WIDTH}" height="{LANE_HEIGHT}" fill="{fill}"/><text x="8" y="{:.1}" font-size="13" fill="#0b0c0c">{}</text>"##,
            mid + 4.0,
            xml_escape(agency_name)
        );
        for row in rows.iter().filter(|row| row.agency == *agency) {
            let x = x_of(row.date);
            let label = format!(
                "{}: {} ({} {}){}",
                sightline_core::dates::date(row.date),
                row.kind_label,
                row.agency_name,
                row.record_id,
                if row.about_child {
                    ""
                } else {
                    ", about someone around the child"
                }
            );
            if row.about_child {
                let _ = write!(
                    svg,
                    r##"<g><title>{}</title><circle cx="{x:.1}" cy="{mid:.1}" r="6" fill="#1d70b8" stroke="#0b0c0c" stroke-width="1"/></g>"##,
                    xml_escape(&label)
                );
            } else {
                let _ = write!(
                    svg,
                    r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#ffffff" stroke="#0b0c0c" stroke-width="2"/></g>"##,
                    xml_escape(&label),
                    x - 5.0,
                    mid - 5.0
                );
            }
        }
        svg.push_str("</g>");
    }
    if !marks.is_empty() {
        let y = lane_y(agencies.len());
        let mid = y + LANE_HEIGHT / 2.0;
        let _ = write!(
            svg,
            r##"<g class="timeline__lane"><rect x="0" y="{y:.1}" width="{SVG_WIDTH}" height="{LANE_HEIGHT}" fill="#fff7bf"/><text x="8" y="{:.1}" font-size="13" fill="#0b0c0c">Alerts and decisions</text>"##,
            mid + 4.0
        );
        for mark in marks {
            let x = x_of(mark.date);
            let label = format!(
                "{}: {} {}",
                sightline_core::dates::date(mark.date),
                if mark.decision { "decision" } else { "alert" },
                mark.label
            );
            let shape = if mark.decision {
                format!(
                    r##"<polygon points="{x:.1},{:.1} {:.1},{mid:.1} {x:.1},{:.1} {:.1},{mid:.1}" fill="#00703c" stroke="#0b0c0c" stroke-width="1"/>"##,
                    mid - 7.0,
                    x + 7.0,
                    mid + 7.0,
                    x - 7.0
                )
            } else {
                format!(
                    r##"<polygon points="{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#d4351c" stroke="#0b0c0c" stroke-width="1"/>"##,
                    mid - 7.0,
                    x + 7.0,
                    mid + 6.0,
                    x - 7.0,
                    mid + 6.0
                )
            };
            let _ = write!(svg, "<g><title>{}</title>{shape}</g>", xml_escape(&label));
        }
        svg.push_str("</g>");
    }
    // Legend: shapes and words, so nothing depends on colour alone.
    let legend_y = SVG_TOP + LANE_HEIGHT * n_lanes.max(1) as f64 + 24.0;
    let _ = write!(
        svg,
        r##"<g class="timeline__legend" font-size="12" fill="#0b0c0c"><circle cx="{:.1}" cy="{:.1}" r="6" fill="#1d70b8" stroke="#0b0c0c"/><text x="{:.1}" y="{:.1}">Record about the child</text><rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#ffffff" stroke="#0b0c0c" stroke-width="2"/><text x="{:.1}" y="{:.1}">Record about someone around the child</text><polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#d4351c" stroke="#0b0c0c"/><text x="{:.1}" y="{:.1}">Alert</text><polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#00703c" stroke="#0b0c0c"/><text x="{:.1}" y="{:.1}">Decision</text></g>"##,
        16.0,
        legend_y - 4.0,
        28.0,
        legend_y,
        200.0,
        legend_y - 9.0,
        216.0,
        legend_y,
        486.0,
        legend_y - 11.0,
        493.0,
        legend_y + 2.0,
        479.0,
        legend_y + 2.0,
        502.0,
        legend_y,
        586.0,
        legend_y - 11.0,
        593.0,
        legend_y - 4.0,
        586.0,
        legend_y + 3.0,
        579.0,
        legend_y - 4.0,
        602.0,
        legend_y,
    );
    svg.push_str("</svg>");
    svg
}

/// One CSV cell: formula-injection safe, then RFC 4180 quoted when needed.
pub fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The chronology as CSV (header row first, CRLF line ends).
pub fn chronology_csv(rows: &[ChronologyRow]) -> String {
    let mut csv = String::from(
        "date,occurred,agency,agency_type,kind,description,record_id,version,about,summary,narrative\r\n",
    );
    for row in rows {
        let date = row.date.to_string();
        let version = row.version.to_string();
        let cells = [
            date.as_str(),
            row.occurred.as_str(),
            row.agency.as_str(),
            row.agency_type,
            row.kind,
            row.kind_label,
            row.record_id.as_str(),
            version.as_str(),
            if row.about_child {
                "the child"
            } else {
                "someone around the child"
            },
            row.summary.as_str(),
            row.narrative.as_deref().unwrap_or(""),
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    csv
}

// ---- search ----

/// One child found by a search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub person_id: String,
    pub probability_percent: f64,
}

/// Parses a search: a name (last word the family name, the rest given names)
/// and a date of birth as people type it (`sightline_core::dates::
/// parse_partial_date_input`: "27 March 2019", "27/03/2019", "March 2019",
/// "2019", ...), returned as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. The date is required:
/// the linkage blocks candidates on it (or on an NHS number or postcode, which a
/// search does not take), so a name alone would find nobody.
pub fn search_query(
    name: &str,
    dob: &str,
) -> Result<(Option<String>, String, String), &'static str> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let Some((family, given)) = words.split_last() else {
        return Err("Enter a name");
    };
    if name.chars().count() > 200 {
        return Err("Enter a name of at most 200 characters");
    }
    let dob = match dob.trim() {
        "" => return Err("Enter a date of birth, at least the year, for example 2019"),
        text => sightline_core::dates::parse_partial_date_input(text)
            .map_err(|_| {
                "Enter a date of birth as 27 March 2019, 27/03/2019 or 2019-03-27, or at least the year"
            })?
            .to_string(),
    };
    let given = (!given.is_empty()).then(|| given.join(" "));
    Ok((given, (*family).to_owned(), dob))
}

/// The children most like the query, best first (one result per child).
/// `index` is the linkage index of the linked records whose person ids are
/// `person_of_mention` (searching needs it mutably, for the time of the query).
pub fn search_children(
    index: &mut sightline_linkage::LinkageIndex,
    person_of_mention: &[String],
    facts: &BTreeMap<String, PersonFacts>,
    given_names: Option<&str>,
    family_name: &str,
    dob: &str,
    limit: usize,
) -> Vec<SearchResult> {
    let mention = UkPersonMention {
        agency: "search",
        record_id: "query",
        person_ref: "q",
        given_names,
        family_name: Some(family_name),
        dob: Some(dob),
        ..UkPersonMention::default()
    }
    .to_mention();
    let hits = index.search(&mention, 0.5, limit * 10);
    let mut results: Vec<SearchResult> = Vec::new();
    for hit in hits {
        let Some(person_id) = person_of_mention.get(hit.record as usize) else {
            continue;
        };
        if !facts.get(person_id).is_some_and(|facts| facts.is_child)
            || results.iter().any(|known| known.person_id == *person_id)
        {
            continue;
        }
        results.push(SearchResult {
            person_id: person_id.clone(),
            probability_percent: (hit.match_probability * 1000.0).round() / 10.0,
        });
        if results.len() >= limit {
            break;
        }
    }
    results
}

// ---- who viewed this child ----

/// The audit keys that concern the child: the child itself (no kind) and each
/// record mentioning the child, with the record's kind (for the privacy
/// officer's page, which names records by kind and agency, never content).
pub fn audit_keys_of(picture: Picture<'_>, facts: &PersonFacts) -> BTreeMap<String, Option<Kind>> {
    let mut keys: BTreeMap<String, Option<Kind>> = facts
        .mentions
        .iter()
        .map(|mention| {
            let record = &picture.linked.records[mention.record_idx].record;
            let source = &record.source;
            (
                format!("record:{}/{}", source.agency, source.record_id),
                Some(record.kind),
            )
        })
        .collect();
    keys.insert(format!("child:{}", facts.id), None);
    keys
}

/// The entries of `rows` about the child (by its audit keys, from
/// [`audit_keys_of`]), in the order of `rows`.
pub fn viewers(rows: &[AuditRow], keys: &BTreeMap<String, Option<Kind>>) -> Vec<AuditRow> {
    rows.iter()
        .filter(|row| keys.contains_key(&row.resource_key))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_person_is_named_by_their_part_in_the_child_life() {
        use super::{Connection, Sex, part_in_child_life};
        let part = |connections: &[Connection], sex: Option<Sex>, parents: &[Option<Sex>]| {
            part_in_child_life(&connections.iter().copied().collect(), sex, parents)
        };
        assert_eq!(
            part(&[Connection::Parent], Some(Sex::Female), &[]),
            "the child's mother"
        );
        assert_eq!(
            part(
                &[Connection::PartnerOfParent, Connection::LivesWith],
                Some(Sex::Male),
                &[Some(Sex::Female)]
            ),
            "the mother's partner"
        );
        assert_eq!(
            part(
                &[Connection::PartnerOfParent],
                None,
                &[Some(Sex::Female), Some(Sex::Male)]
            ),
            "a parent's partner"
        );
        assert_eq!(
            part(&[Connection::Visits], None, &[]),
            "a visitor to the child's home"
        );
        assert_eq!(part(&[], None, &[]), "known to the child's family");
    }

    use super::*;
    use crate::picture::LoadedRecord;
    use chrono::{DateTime, Utc};

    fn received() -> DateTime<Utc> {
        DateTime::from_timestamp(1_180_656_000, 0).unwrap()
    }

    fn sample_snapshot(extra: &[&str]) -> Snapshot {
        let sample = include_str!("../../../examples/sample.jsonl");
        let records: Vec<LoadedRecord> = sample
            .lines()
            .chain(extra.iter().copied())
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(seq, line)| LoadedRecord {
                seq: seq as i64 + 1,
                record: sightline_core::interchange::parse_stored(line, received())
                    .expect("sample record parses"),
                received_at: received(),
            })
            .collect();
        Snapshot::of(link_records(records).expect("links"))
    }

    fn leo(snapshot: &Snapshot) -> &PersonFacts {
        snapshot
            .facts
            .values()
            .find(|facts| facts.is_child && facts.given_names.as_deref() == Some("Leo"))
            .expect("Leo is a child of the sample")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2007, 6, 1).unwrap()
    }

    fn row(agency: &str, date: &str, narrative: Option<&str>) -> ChronologyRow {
        ChronologyRow {
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            occurred: date.to_owned(),
            agency: agency.to_owned(),
            agency_type: "health",
            kind: "health.gp_consultation",
            kind_label: "GP consultation",
            record_id: format!("R-{agency}-{date}"),
            version: 1,
            about_child: true,
            summary: "injury".to_owned(),
            when: date.to_owned(),
            agency_name: agency.to_owned(),
            agency_type_label: "Health".to_owned(),
            narrative: narrative.map(str::to_owned),
        }
    }

    /// Checks that `text` is well-formed XML: balanced tags, quoted attributes,
    /// only known entities. Returns the element names in document order.
    fn well_formed(text: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(['<', '&']) {
            let (before, after) = rest.split_at(start);
            assert!(!before.contains('>'), "stray > in {before}");
            if after.starts_with('&') {
                let end = after.find(';').expect("entity ends");
                let entity = &after[..=end];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains(&entity),
                    "unknown entity {entity}"
                );
                rest = &after[end + 1..];
                continue;
            }
            let end = after.find('>').expect("tag ends");
            let tag = &after[1..end];
            assert!(!tag.contains('<'), "< inside a tag: {tag}");
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name = tag
                    .trim_end_matches('/')
                    .split_whitespace()
                    .next()
                    .expect("tag name")
                    .to_owned();
                names.push(name.clone());
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &after[end + 1..];
        }
        assert!(!rest.contains('>'));
        assert!(stack.is_empty(), "unclosed {stack:?}");
        names
    }

    #[test]
    fn the_timeline_is_well_formed_with_a_lane_per_agency_and_escaped_text() {
        let hostile = "<script>alert('x')</script> & \"quotes\"";
        let mut rows = vec![
            row("st-annes-gp", "2007-01-13", None),
            row("north-general-ed", "2007-04-09", Some(hostile)),
            row("st-annes-gp", "2008-02-01", None),
        ];
        rows[1].record_id = hostile.to_owned();
        rows[2].about_child = false;
        let marks = vec![
            TimelineMark {
                date: NaiveDate::from_ymd_opt(2007, 5, 1).unwrap(),
                decision: false,
                label: "Injury <b>twice</b>".to_owned(),
            },
            TimelineMark {
                date: NaiveDate::from_ymd_opt(2007, 5, 2).unwrap(),
                decision: true,
                label: "strategy discussion".to_owned(),
            },
        ];
        let svg = timeline_svg(&rows, &marks);
        let names = well_formed(&svg);
        assert_eq!(names[0], "svg");
        assert!(names.contains(&"title".to_owned()) && names.contains(&"desc".to_owned()));
        assert!(!svg.contains("<script") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(
            svg.matches(r#"class="timeline__lane""#).count(),
            3,
            "two agencies and the alert lane"
        );
        assert!(svg.contains(">st-annes-gp<") && svg.contains(">north-general-ed<"));
        assert!(svg.contains("Alerts and decisions"));
        // Shapes: two circles (child) plus the legend's, one hollow square plus the legend's.
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(
            svg.matches("<polygon").count(),
            4,
            "an alert, a decision and their legend"
        );
        assert!(svg.contains("3 records from 2 agencies between 13 January 2007 and 1 February 2008; 1 alerts and 1 decisions"));
        // Records are placed in date order along the lane.
        let x_of = |needle: &str| -> f64 {
            let at = svg.find(needle).unwrap();
            let cx = svg[at..].find("cx=\"").unwrap() + at + 4;
            svg[cx..cx + svg[cx..].find('"').unwrap()].parse().unwrap()
        };
        assert!(x_of("13 January 2007: ") < x_of("9 April 2007: "));
        assert!((x_of("13 January 2007: ") - SVG_GUTTER).abs() < 0.01);
    }

    #[test]
    fn an_empty_timeline_is_well_formed() {
        let svg = timeline_svg(&[], &[]);
        well_formed(&svg);
        assert!(svg.contains("No records match."));
        assert!(!svg.contains("timeline__lane"));
        let single = timeline_svg(&[row("police", "2007-01-01", None)], &[]);
        well_formed(&single);
        assert!(single.contains(&format!(
            "cx=\"{:.1}\"",
            SVG_GUTTER + (SVG_WIDTH - SVG_GUTTER - SVG_RIGHT) / 2.0
        )));
    }

    #[test]
    fn csv_cells_are_quoted_and_formula_safe() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tcmd"), "'\tcmd");
        assert_eq!(csv_cell(""), "");
        let csv = chronology_csv(&[row(
            "police",
            "2007-01-01",
            Some("=1+1, then \"more\"\nline"),
        )]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert!(lines[0].starts_with("date,occurred,agency"));
        assert_eq!(
            lines[1],
            "2007-01-01,2007-01-01,police,health,health.gp_consultation,GP consultation,R-police-2007-01-01,1,the child,injury,\"'=1+1, then \"\"more\"\"\nline\""
        );
        assert_eq!(lines.len(), 3, "header, one row, and the final line end");
    }

    #[test]
    fn the_child_view_links_the_sample_with_match_evidence() {
        let snapshot = sample_snapshot(&[]);
        let leo = leo(&snapshot);
        let view = child_view(snapshot.picture(), leo, today());
        assert_eq!(view.name, "Leo Marsh");
        assert_eq!(view.age_years, Some(1));
        assert!(view.mentions.len() >= 2, "the GP and the ED records link");
        assert!(view.mentions[0].evidence.is_none(), "the founding mention");
        let evidence = view.mentions[1].evidence.as_ref().expect("match evidence");
        assert!(!evidence.fields.is_empty());
        assert!(evidence.fields.iter().any(|field| field.agreed));
        assert!(evidence.probability_percent > 50.0 || evidence.hard_rule.is_some());
        assert!(view.agencies.contains(&"st-annes-gp".to_owned()));
        // The mother is around the child, as a parent: in the household, not unassessed.
        let mother = view
            .people
            .iter()
            .find(|person| person.name == "Tina Marsh")
            .expect("the mother is around the child");
        assert_eq!(mother.group, "household");
        assert!(!mother.unassessed);
    }

    #[test]
    fn an_adult_living_with_the_child_unknown_to_social_care_is_unassessed() {
        let partner = r#"{"source": {"agency": "met-police", "record_id": "POL-9", "version": 1}, "kind": "police.domestic_incident", "occurred_at": "2007-05-01", "persons": [{"ref": "c", "role": "subject", "nhs_number": "9434765919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01"}, {"ref": "p", "role": "other", "given_names": "Ray", "family_name": "Stone", "dob": "1979-02-02"}], "relationships": [{"from": "p", "to": "c", "type": "lives_with"}], "narrative": "=cmd|' /C calc'!A0"}"#;
        let snapshot = sample_snapshot(&[partner]);
        let leo = leo(&snapshot);
        let view = child_view(snapshot.picture(), leo, today());
        let ray = view
            .people
            .iter()
            .find(|person| person.name == "Ray Stone")
            .expect("the partner is around the child");
        assert!(ray.adult && ray.unassessed && !ray.known_to_social_care);
        assert_eq!(ray.group, "household");
        // The chronology has the police record, and the CSV neutralises its narrative.
        let rows = chronology(snapshot.picture(), leo);
        assert!(rows.windows(2).all(|pair| pair[0].date <= pair[1].date));
        let police = rows
            .iter()
            .find(|row| row.agency == "met-police")
            .expect("police row");
        assert!(police.about_child);
        let csv = chronology_csv(&rows);
        assert!(csv.contains("'=cmd|"));
        assert!(!csv.contains(",=cmd"));
        // Filters.
        let only_police = ChronologyFilter {
            agency: Some("met-police".to_owned()),
            ..ChronologyFilter::default()
        };
        assert_eq!(rows.iter().filter(|row| only_police.keeps(row)).count(), 1);
        let before_april = ChronologyFilter {
            to: NaiveDate::from_ymd_opt(2007, 3, 31),
            ..ChronologyFilter::default()
        };
        assert!(
            rows.iter()
                .filter(|row| before_april.keeps(row))
                .all(|row| row.date.month() < 4)
        );
    }

    #[test]
    fn search_finds_the_child_by_name_and_date_of_birth() {
        let mut snapshot = sample_snapshot(&[]);
        let leo_id = leo(&snapshot).id.clone();
        let (given, family, dob) = search_query(" Leo  Marsh ", "2006-03-01").unwrap();
        assert_eq!(given.as_deref(), Some("Leo"));
        assert_eq!(family, "Marsh");
        let results = search_children(
            &mut snapshot.linked.index,
            &snapshot.linked.person_of_mention,
            &snapshot.facts,
            given.as_deref(),
            &family,
            &dob,
            10,
        );
        assert_eq!(
            results.first().map(|r| r.person_id.as_str()),
            Some(leo_id.as_str())
        );
        assert_eq!(results.iter().filter(|r| r.person_id == leo_id).count(), 1);
        // The query was not added to the index.
        let again = search_children(
            &mut snapshot.linked.index,
            &snapshot.linked.person_of_mention,
            &snapshot.facts,
            given.as_deref(),
            &family,
            &dob,
            10,
        );
        assert_eq!(again.len(), results.len());
        let nobody = search_children(
            &mut snapshot.linked.index,
            &snapshot.linked.person_of_mention,
            &snapshot.facts,
            Some("Zebedee"),
            "Quartermaine",
            "1950-01-01",
            10,
        );
        assert!(nobody.iter().all(|r| r.person_id != leo_id));
        assert!(search_query("   ", "2006").is_err());
        assert!(
            search_query("Leo Marsh", "").is_err(),
            "a name alone finds nobody"
        );
        assert_eq!(
            search_query("Marsh", "2006").unwrap(),
            (None, "Marsh".to_owned(), "2006".to_owned())
        );
        assert!(search_query("Leo Marsh", "1st March").is_err());
    }

    #[test]
    fn viewers_are_the_audit_entries_about_the_child_and_its_records() {
        let snapshot = sample_snapshot(&[]);
        let leo = leo(&snapshot);
        let keys = audit_keys_of(snapshot.picture(), leo);
        let entry = |seq: i64, key: &str| AuditRow {
            seq,
            at_us: seq,
            actor_user_id: Some(1),
            actor_username: "synthetic.user".to_owned(),
            actor_role: "practitioner".to_owned(),
            actor_agency: "police".to_owned(),
            action: "view_child".to_owned(),
            resource_key: key.to_owned(),
            basis: "agency_contributed".to_owned(),
            outcome: "full".to_owned(),
            prev_hash: [0; 32],
            entry_hash: [0; 32],
        };
        let rows = vec![
            entry(1, &format!("child:{}", leo.id)),
            entry(2, "child:p-someone-else"),
            entry(3, "record:st-annes-gp/GP-2007-0113"),
            entry(4, "service"),
        ];
        let seen = viewers(&rows, &keys);
        assert_eq!(seen.iter().map(|v| v.seq).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(keys[&format!("child:{}", leo.id)], None);
        assert!(keys["record:st-annes-gp/GP-2007-0113"].is_some());
    }

    #[test]
    fn minimal_view_says_whom_to_contact() {
        let plan = r#"{"source": {"agency": "children-services", "record_id": "CS-1", "version": 1}, "kind": "social_care.plan", "occurred_at": "2007-05-10", "persons": [{"ref": "c", "role": "subject", "nhs_number": "9434765919", "given_names": "Leo", "family_name": "Marsh", "dob": "2006-03-01"}], "outcome": {"plan": "child_protection", "status": "start", "category": "physical_abuse"}}"#;
        let snapshot = sample_snapshot(&[plan]);
        let leo = leo(&snapshot);
        let minimal = minimal_child(snapshot.picture(), leo, today());
        assert_eq!(minimal.name, "Leo Marsh");
        assert_eq!(minimal.current_plans, vec!["Child protection".to_owned()]);
        assert!(minimal.contacts.contains(&"children-services".to_owned()));
        let ended = [
            PlanEntry {
                date: "2007-01-01".into(),
                plan: "Child in need".into(),
                status: "Started".into(),
                ended: false,
                agency: "cs".into(),
                record_id: "1".into(),
            },
            PlanEntry {
                date: "2007-02-01".into(),
                plan: "Child in need".into(),
                status: "Ended".into(),
                ended: true,
                agency: "cs".into(),
                record_id: "2".into(),
            },
        ];
        assert!(current_plans(&ended).is_empty());
        assert_eq!(
            age_years(
                sightline_core::PartialDate::parse("2006-06-02").unwrap(),
                today()
            ),
            Some(0)
        );
        assert_eq!(
            age_years(
                sightline_core::PartialDate::parse("2006-06-01").unwrap(),
                today()
            ),
            Some(1)
        );
    }
}
