//! Explanations in plain words: a rule's template filled from the evidence.
//!
//! Invariant: the evaluator never sees a name, an address or an NHS number (the
//! input model holds none), so an explanation cannot hold one. It names record
//! kinds and findings by their display names (`sightline_core::labels`) and
//! dates in words ("13 January 2007"). People and agencies are written as
//! references, `⟦person:ID⟧` and `⟦agency:ID⟧`, that each page resolves when it
//! shows the explanation ([`resolve_explanation`]): with the person's name and
//! part in the child's life ("Lee Barton, the mother's partner") for a reader
//! the access model lets see the child, and the agency's display name from the
//! organisation. Stored alerts keep the references, so a name is never copied
//! into the alert log, a linkage correction shows at once, and a reader who may
//! not see the child never sees a name.

use crate::ast::{Piece, Placeholder};
use crate::calendar::Span;
use crate::eval::{ClockInfo, View};
use crate::model::{Event, PersonAround};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sightline_core::labels::{in_sentence, value_label, value_words};
use sightline_core::{AttributeValue, FindingCode, Kind, dates};

/// Opens a reference in a stored explanation.
const REFERENCE_OPEN: char = '⟦';
/// Closes a reference in a stored explanation.
const REFERENCE_CLOSE: char = '⟧';

/// `⟦agency:ID⟧`: an agency, named when the explanation is shown.
fn agency_reference(agency: &str) -> String {
    format!(
        "{REFERENCE_OPEN}agency:{}{REFERENCE_CLOSE}",
        plain_text(agency)
    )
}

/// `⟦person:ID⟧`: a person around the child, named when shown.
fn person_reference(person_id: &str) -> String {
    format!(
        "{REFERENCE_OPEN}person:{}{REFERENCE_CLOSE}",
        plain_text(person_id)
    )
}

/// Text from a record, with the reference brackets taken out so it cannot
/// pose as a reference.
fn plain_text(text: &str) -> String {
    text.chars()
        .filter(|c| *c != REFERENCE_OPEN && *c != REFERENCE_CLOSE)
        .collect()
}

/// Something an explanation refers to, named when it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference<'a> {
    /// A person around the child, by person id.
    Person(&'a str),
    /// An agency, by agency id.
    Agency(&'a str),
}

/// How a reader who may not be told who a person is reads them.
pub const UNNAMED_PERSON: &str = "a person around the child";

/// A stored explanation as a person reads it: each `⟦person:ID⟧` and
/// `⟦agency:ID⟧` replaced by what `name` says (`None`: "a person around the
/// child", the agency's id), the first letter capitalised. A person named with
/// an apposition ("Lee Barton, the mother's partner") gets its closing comma
/// when the sentence goes on. Text without references (alerts stored before
/// references) comes back as it was.
pub fn resolve_explanation(text: &str, name: &dyn Fn(Reference<'_>) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(REFERENCE_OPEN) {
        out.push_str(&rest[..open]);
        let after_open = &rest[open + REFERENCE_OPEN.len_utf8()..];
        let Some(close) = after_open.find(REFERENCE_CLOSE) else {
            rest = after_open;
            continue;
        };
        let reference = &after_open[..close];
        rest = &after_open[close + REFERENCE_CLOSE.len_utf8()..];
        let words = match reference.split_once(':') {
            Some(("person", id)) => {
                let words =
                    name(Reference::Person(id)).unwrap_or_else(|| UNNAMED_PERSON.to_owned());
                // "Lee Barton, the mother's partner is linked" needs its comma.
                let goes_on = rest.starts_with(' ')
                    && rest[1..].chars().next().is_some_and(char::is_alphanumeric);
                if words.contains(", ") && goes_on {
                    format!("{words},")
                } else {
                    words
                }
            }
            Some(("agency", id)) => name(Reference::Agency(id)).unwrap_or_else(|| id.to_owned()),
            _ => String::new(),
        };
        out.push_str(&words);
    }
    out.push_str(rest);
    capitalise(&out)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What the template is filled from.
#[derive(Debug, Clone)]
pub(crate) struct RenderContext<'a> {
    /// The event that completed the pattern, or that started the clock.
    pub trigger: Option<usize>,
    /// Arrival indexes of the evidence events.
    pub evidence_idx: Vec<usize>,
    /// How many evidence events form the counted pattern.
    pub n_pattern: usize,
    pub window: Option<Span>,
    pub moment: DateTime<Utc>,
    pub person: Option<&'a PersonAround>,
    pub clock: Option<ClockInfo>,
}

impl crate::ast::Severity {
    /// The severity as pages show it: "Critical".
    pub fn label(self) -> &'static str {
        match self {
            crate::ast::Severity::Low => "Low",
            crate::ast::Severity::Medium => "Medium",
            crate::ast::Severity::High => "High",
            crate::ast::Severity::Critical => "Critical",
        }
    }
}

/// A record kind inside a sentence: "an emergency department attendance"
/// (the one vocabulary table, `sightline_core::labels`).
pub fn kind_words(kind: Kind) -> String {
    kind.noun_phrase()
}

fn date_words(event: &Event) -> String {
    if event.occurred_month_only {
        dates::month(event.occurred.year(), event.occurred.month())
    } else {
        dates::date(event.occurred)
    }
}

/// "on 3 March 2007", "in March 2007".
fn on_date_words(event: &Event) -> String {
    if event.occurred_month_only {
        format!("in {}", date_words(event))
    } else {
        format!("on {}", date_words(event))
    }
}

/// An enumerated value inside a sentence: its display name, lowered.
fn value_in_sentence(attribute: &str, value: &str) -> String {
    value_label(attribute, value).map_or_else(|| plain_text(&value.replace('_', " ")), in_sentence)
}

/// A plan state inside a sentence after "a child" or "the child is".
fn plan_words(state: crate::ast::PlanState) -> &'static str {
    match state {
        crate::ast::PlanState::ChildProtection => "on a child protection plan",
        crate::ast::PlanState::ChildInNeed => "on a child in need plan",
        crate::ast::PlanState::LookedAfter => "looked after",
    }
}

/// "bruise to the face".
fn injury_words(event: &Event) -> String {
    let finding = event
        .findings
        .iter()
        .filter(|finding| finding.code == FindingCode::Injury)
        .max_by_key(|finding| finding.about_child());
    let Some(finding) = finding else {
        return "an injury".to_owned();
    };
    let kind = match finding.attributes.text("type") {
        None | Some("other") => "injury".to_owned(),
        Some(kind) => value_in_sentence("type", kind),
    };
    let kind = sightline_core::labels::with_article(&kind);
    match finding.attributes.text("site") {
        Some("multiple") => format!("{kind} to several sites"),
        Some("other") | None => kind,
        Some(site) => format!("{kind} to the {}", value_in_sentence("site", site)),
    }
}

fn explanation_words(event: &Event) -> &'static str {
    let explanation = event
        .findings
        .iter()
        .filter(|finding| finding.code == FindingCode::Injury)
        .find_map(|finding| finding.attributes.text("explanation"));
    match explanation {
        Some("consistent") => "an explanation consistent with the injury",
        Some("inconsistent") => "an explanation inconsistent with the injury",
        Some("none") => "no explanation",
        _ => "no recorded explanation",
    }
}

fn allegation_words(event: &Event) -> String {
    let Some(finding) = event
        .findings
        .iter()
        .find(|finding| finding.code == FindingCode::Allegation)
    else {
        return "an allegation".to_owned();
    };
    let category = finding
        .attributes
        .text("category")
        .map_or("harm".to_owned(), |category| {
            value_in_sentence("category", category)
        });
    match finding.attributes.text("by") {
        Some(by) => format!("an allegation of {category} (made by {})", by_words(by)),
        None => format!("an allegation of {category}"),
    }
}

fn by_words(by: &str) -> &'static str {
    match by {
        "child" => "the child",
        "family" => "a family member",
        "public" => "a member of the public",
        "professional" => "a professional",
        _ => "an anonymous source",
    }
}

/// "4 months", "2 years 3 months", "3 weeks".
pub(crate) fn age_words(dob: NaiveDate, on: NaiveDate) -> String {
    if on < dob {
        return "not yet born".to_owned();
    }
    let mut months = (on.year() - dob.year()) * 12 + on.month() as i32 - dob.month() as i32;
    if on.day() < dob.day() {
        months -= 1;
    }
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    if months <= 0 {
        let days = (on - dob).num_days();
        if days < 14 {
            return plural(days, "day", "days");
        }
        return plural(days / 7, "week", "weeks");
    }
    let years = i64::from(months / 12);
    let months_left = i64::from(months % 12);
    match (years, months_left) {
        (0, months) => plural(months, "month", "months"),
        (years, 0) => plural(years, "year", "years"),
        (years, months) if years < 5 => format!(
            "{} {}",
            plural(years, "year", "years"),
            plural(months, "month", "months")
        ),
        (years, _) => plural(years, "year", "years"),
    }
}

/// "a, b and c".
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn attribute_words(name: &str, value: &AttributeValue) -> String {
    match value {
        AttributeValue::Text(text) => plain_text(text),
        AttributeValue::Date(_) => value_words(name, value),
        _ => in_sentence(&value_words(name, value)),
    }
}

/// The most evidence items an explanation lists before "and N more".
const EVIDENCE_LISTED_MAX: usize = 8;

fn fill(placeholder: &Placeholder, view: &View<'_>, context: &RenderContext<'_>) -> String {
    let trigger = context.trigger.and_then(|idx| view.events.get(idx));
    let evidence: Vec<&Event> = context
        .evidence_idx
        .iter()
        .filter_map(|idx| view.events.get(*idx))
        .collect();
    let reference_date = match (&context.clock, trigger) {
        (Some(clock), _) => clock.deadline,
        (None, Some(event)) => event.occurred,
        (None, None) => context.moment.date_naive(),
    };
    match placeholder {
        Placeholder::Agency => {
            trigger.map_or_else(String::new, |event| agency_reference(event.agency()))
        }
        Placeholder::Date => trigger.map_or_else(String::new, date_words),
        Placeholder::What => {
            trigger.map_or_else(|| "a record".to_owned(), |event| kind_words(event.kind))
        }
        Placeholder::Injury => trigger.map_or_else(|| "an injury".to_owned(), injury_words),
        Placeholder::Explanation => trigger
            .map_or("no recorded explanation", explanation_words)
            .to_owned(),
        Placeholder::Allegation => {
            trigger.map_or_else(|| "an allegation".to_owned(), allegation_words)
        }
        Placeholder::ChildAge => match view.picture.child.dob {
            Some(dob) => age_words(dob.latest(), reference_date),
            None => AGE_UNKNOWN.to_owned(),
        },
        Placeholder::Mobility => {
            let moment = trigger.map_or(context.moment, |event| event.recorded_at);
            if view.not_mobile_near(reference_date, moment) {
                "recorded as not independently mobile".to_owned()
            } else {
                let young = crate::eval::child_age_holds(
                    view.picture,
                    reference_date,
                    crate::ast::Comparison::Lt,
                    Span::new(6, crate::calendar::SpanUnit::Months),
                );
                if young {
                    "under 6 months old, so presumed not independently mobile".to_owned()
                } else {
                    "of unrecorded mobility".to_owned()
                }
            }
        }
        Placeholder::Plan => {
            let moment = trigger.map_or(context.moment, |event| {
                event.recorded_at.max(context.moment)
            });
            let states: Vec<String> = view
                .states_at(reference_date, moment)
                .iter()
                .map(|(state, _)| plan_words(*state).to_owned())
                .collect();
            if states.is_empty() {
                "not on a plan".to_owned()
            } else {
                join_words(&states)
            }
        }
        Placeholder::Count => context.n_pattern.to_string(),
        Placeholder::Window => context
            .window
            .map_or_else(String::new, |span| span.to_string()),
        Placeholder::Agencies => {
            let mut agencies: Vec<String> = match context.person {
                Some(person) => person
                    .links
                    .iter()
                    .filter(|link| link.recorded_at <= context.moment)
                    .map(|link| link.evidence.agency.clone())
                    .collect(),
                None => evidence
                    .iter()
                    .map(|event| event.agency().to_owned())
                    .collect(),
            };
            agencies.sort_unstable();
            agencies.dedup();
            let agencies: Vec<String> = agencies
                .iter()
                .map(|agency| agency_reference(agency))
                .collect();
            join_words(&agencies)
        }
        Placeholder::Evidence => {
            let mut items: Vec<String> = evidence
                .iter()
                .take(EVIDENCE_LISTED_MAX)
                .map(|event| {
                    format!(
                        "{} by {} {}",
                        kind_words(event.kind),
                        agency_reference(event.agency()),
                        on_date_words(event)
                    )
                })
                .collect();
            if evidence.len() > EVIDENCE_LISTED_MAX {
                items.push(format!("{} more", evidence.len() - EVIDENCE_LISTED_MAX));
            }
            items.join("; ")
        }
        Placeholder::Outcome(name) => trigger
            .and_then(|event| event.outcome.get(name))
            .map_or_else(
                || "not recorded".to_owned(),
                |value| attribute_words(name, value),
            ),
        Placeholder::Person => context.person.map_or_else(
            || UNNAMED_PERSON.to_owned(),
            |person| person_reference(&person.person_id),
        ),
        Placeholder::Links => {
            let Some(person) = context.person else {
                return String::new();
            };
            let mut items: Vec<String> = person
                .links
                .iter()
                .filter(|link| link.recorded_at <= context.moment)
                .map(|link| {
                    format!(
                        "{} (recorded by {})",
                        link.connection.describe(),
                        agency_reference(&link.evidence.agency)
                    )
                })
                .collect();
            items.dedup();
            join_words(&items)
        }
        Placeholder::Offences => {
            let Some(person) = context.person else {
                return String::new();
            };
            let items: Vec<String> = person
                .offences
                .iter()
                .filter(|offence| offence.recorded_at <= context.moment)
                .map(|offence| {
                    // "cruelty to a child" says so already.
                    let against = if offence.against_child()
                        && !matches!(
                            offence.category,
                            "sexual_offence_against_child" | "cruelty_to_child"
                        ) {
                        ", against a child"
                    } else {
                        ""
                    };
                    format!(
                        "{}{against} ({} by {})",
                        value_in_sentence("category", offence.category),
                        dates::date(offence.occurred),
                        agency_reference(&offence.evidence.agency)
                    )
                })
                .collect();
            if items.is_empty() {
                "no recorded offence".to_owned()
            } else {
                format!("recorded offences: {}", join_words(&items))
            }
        }
        Placeholder::Released => context
            .person
            .and_then(|person| {
                person
                    .releases
                    .iter()
                    .filter(|release| release.recorded_at <= context.moment)
                    .map(|release| release.occurred)
                    .max()
            })
            .map_or_else(|| "an unrecorded date".to_owned(), dates::date),
        Placeholder::Deadline => context
            .clock
            .map_or_else(String::new, |clock| dates::date(clock.deadline)),
        Placeholder::Due => context
            .clock
            .map_or_else(String::new, |clock| clock.due.to_string()),
        Placeholder::Since => context
            .clock
            .map_or_else(String::new, |clock| dates::date(clock.since)),
        Placeholder::Last => context
            .clock
            .and_then(|clock| clock.last)
            .map_or_else(|| "none recorded".to_owned(), dates::date),
    }
}

/// What [`Placeholder::ChildAge`] fills when the date of birth is not known.
const AGE_UNKNOWN: &str = "of unrecorded age";

/// The template filled in, with its first letter capitalised.
pub(crate) fn render(pieces: &[Piece], view: &View<'_>, context: &RenderContext<'_>) -> String {
    let mut text = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(literal) => text.push_str(literal),
            Piece::Placeholder(placeholder) => {
                let filled = fill(placeholder, view, context);
                // "on {date}" reads "in March 2007" for a date known to the month.
                if *placeholder == Placeholder::Date
                    && filled.starts_with(|c: char| c.is_alphabetic())
                    && let Some(kept) = text.strip_suffix("on ")
                {
                    text.truncate(kept.len());
                    text.push_str("in ");
                }
                // "a child aged {child.age}" reads "a child of unrecorded age".
                if filled == AGE_UNKNOWN {
                    for lead in ["aged ", "age "] {
                        if let Some(kept) = text.strip_suffix(lead) {
                            text.truncate(kept.len());
                        }
                    }
                }
                text.push_str(&filled);
            }
        }
    }
    capitalise(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_plain_words() {
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        assert_eq!(age_words(day("2006-11-01"), day("2007-03-01")), "4 months");
        assert_eq!(
            age_words(day("2006-03-01"), day("2007-08-03")),
            "1 year 5 months"
        );
        assert_eq!(age_words(day("2007-02-01"), day("2007-02-20")), "2 weeks");
        assert_eq!(age_words(day("2007-02-01"), day("2007-02-02")), "1 day");
        assert_eq!(age_words(day("2004-03-01"), day("2007-03-01")), "3 years");
        assert_eq!(
            age_words(day("2007-03-01"), day("2007-02-01")),
            "not yet born"
        );
    }

    mod every_explanation {
        //! Every rule's explanation, rendered for a range of pictures (ages,
        //! plans, missing values, one and many records, agencies and people),
        //! read back as a person would see it and checked for doubled words,
        //! unfilled slots, raw codes and machine dates.

        use super::super::*;
        use crate::ast::Body;
        use crate::calendar::SpanUnit;
        use crate::model::{
            Child, ChildPicture, Connection, EventFinding, EventPerson, EvidenceRef, Link, Offence,
            OffenceSource, Release, Subject,
        };
        use chrono::{NaiveDate, TimeZone};
        use sightline_core::{Attributes, PartialDate, RelationshipType, Role};

        fn day(text: &str) -> NaiveDate {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
        }

        fn at(text: &str) -> DateTime<Utc> {
            Utc.from_utc_datetime(&day(text).and_hms_opt(10, 0, 0).unwrap())
        }

        fn event(agency: &str, n: usize, kind: Kind, occurred: &str) -> Event {
            Event::new(
                EvidenceRef::new(agency, format!("r{n}"), 1),
                kind,
                day(occurred),
                at(occurred),
            )
        }

        fn finding(code: FindingCode, pairs: Vec<(&'static str, AttributeValue)>) -> EventFinding {
            EventFinding {
                code,
                subjects: vec![Subject::Child],
                attributes: Attributes(pairs),
            }
        }

        /// A picture with `n_records` records from up to `n_agencies` agencies,
        /// the child's plans as given, and `n_people` people around the child.
        fn picture(
            dob: Option<PartialDate>,
            plans: &[&'static str],
            n_records: usize,
            n_agencies: usize,
            n_people: usize,
            month_only: bool,
        ) -> ChildPicture {
            let mut picture = ChildPicture::new(Child::new("child-1", dob));
            let agencies = [
                "st-annes-gp",
                "north-met-police",
                "park-primary",
                "northgate-csc",
            ];
            let mut n = 0;
            for plan in plans {
                n += 1;
                let mut plan_event = event("northgate-csc", n, Kind::SocialCarePlan, "2006-12-01");
                plan_event.outcome = Attributes(vec![
                    ("plan", AttributeValue::Enum(plan)),
                    ("status", AttributeValue::Enum("start")),
                ]);
                picture.add_event(plan_event).unwrap();
            }
            let injuries = [
                ("bruise", "face"),
                ("fracture", "multiple"),
                ("burn", "other"),
                ("head_injury", "head"),
                ("other", "torso"),
            ];
            for record in 0..n_records {
                n += 1;
                let agency = agencies[record % n_agencies.max(1)];
                let occurred = format!("2007-0{}-1{}", 1 + record % 3, record % 9);
                let mut injury = event(agency, n, Kind::HealthEdAttendance, &occurred);
                injury.occurred_month_only = month_only && record == 0;
                let (kind, site) = injuries[record % injuries.len()];
                injury.findings.push(finding(
                    FindingCode::Injury,
                    vec![
                        ("type", AttributeValue::Enum(kind)),
                        ("site", AttributeValue::Enum(site)),
                        (
                            "explanation",
                            AttributeValue::Enum(
                                ["none", "inconsistent", "consistent", "unknown"][record % 4],
                            ),
                        ),
                    ],
                ));
                injury.findings.push(finding(
                    FindingCode::Allegation,
                    vec![
                        (
                            "category",
                            AttributeValue::Enum(
                                ["physical_abuse", "sexual_abuse", "neglect"][record % 3],
                            ),
                        ),
                        (
                            "by",
                            AttributeValue::Enum(["child", "family", "anonymous"][record % 3]),
                        ),
                    ],
                ));
                injury
                    .findings
                    .push(finding(FindingCode::NonEngagement, vec![]));
                injury.outcome =
                    Attributes(vec![("admitted", AttributeValue::Bool(record % 2 == 0))]);
                picture.add_event(injury).unwrap();
                n += 1;
                let mut referral = event(agency, n, Kind::SocialCareReferral, &occurred);
                referral.outcome = Attributes(vec![
                    ("decision", AttributeValue::Enum("nfa")),
                    (
                        "referrer_agency",
                        AttributeValue::Text("Park Primary School".into()),
                    ),
                ]);
                picture.add_event(referral).unwrap();
            }
            for person in 0..n_people {
                n += 1;
                let person_id = format!("p-{person:016x}");
                let mut incident = event(
                    "north-met-police",
                    n,
                    Kind::PoliceDomesticIncident,
                    "2007-02-02",
                );
                incident.people.push(EventPerson {
                    person_id: person_id.clone(),
                    role: [Role::Partner, Role::Parent, Role::Visitor][person % 3],
                    relationships: vec![(RelationshipType::LivesWith, Subject::Child)],
                });
                incident.findings.push(finding(
                    FindingCode::DomesticAbuse,
                    vec![("risk", AttributeValue::Enum("high"))],
                ));
                picture.add_event(incident).unwrap();
                let around = picture.person_entry(&person_id).unwrap();
                around.add_link(Link {
                    connection: Connection::ALL[person % Connection::ALL.len()],
                    evidence: EvidenceRef::new("northgate-csc", format!("link{person}"), 1),
                    agency_type: crate::model::AgencyType::SocialCare,
                    recorded_at: at("2007-01-05"),
                });
                if person % 2 == 0 {
                    around.add_offence(Offence {
                        category: [
                            "sexual_offence_against_child",
                            "violence",
                            "cruelty_to_child",
                        ][person % 3],
                        victim_was_child: Some(person % 4 == 0),
                        source: OffenceSource::Conviction,
                        occurred: day("2001-05-05"),
                        recorded_at: at("2002-01-01"),
                        evidence: EvidenceRef::new("probation-north", format!("o{person}"), 1),
                    });
                    around.add_release(Release {
                        occurred: day("2006-11-11"),
                        recorded_at: at("2006-11-12"),
                        evidence: EvidenceRef::new("probation-north", format!("rel{person}"), 1),
                    });
                }
            }
            picture
        }

        fn pictures() -> Vec<(String, ChildPicture)> {
            let mut pictures = Vec::new();
            let dobs = [
                ("4 months", Some(PartialDate::Day(day("2006-11-01")))),
                ("3 years", Some(PartialDate::Day(day("2004-01-20")))),
                ("born this month", Some(PartialDate::Month(2007, 1))),
                ("born this year", Some(PartialDate::Year(2006))),
                ("no date of birth", None),
            ];
            let plan_sets: [&[&'static str]; 4] = [
                &[],
                &["child_protection"],
                &["child_in_need"],
                &["child_protection", "looked_after"],
            ];
            for (dob_name, dob) in dobs {
                for plans in plan_sets {
                    for (n_records, n_agencies, n_people) in
                        [(1, 1, 0), (1, 1, 1), (3, 2, 2), (12, 4, 5)]
                    {
                        for month_only in [false, true] {
                            pictures.push((
                                format!("{dob_name}, plans {plans:?}, {n_records} records from {n_agencies} agencies, {n_people} people, month only {month_only}"),
                                picture(dob, plans, n_records, n_agencies, n_people, month_only),
                            ));
                        }
                    }
                }
            }
            pictures
        }

        fn words_of(text: &str) -> Vec<String> {
            text.split_whitespace()
                .map(|word| {
                    word.trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase()
                })
                .collect()
        }

        /// Everything a person should never read in an explanation.
        fn problems(text: &str) -> Vec<String> {
            let mut problems = Vec::new();
            for bad in [
                "{", "}", "⟦", "⟧", "  ", " ,", " .", " ;", " :", "()", "( ", " )", ",,", ".,",
                ",.", ";.", ":.", ": ;", "..", "; ;",
            ] {
                if text.contains(bad) {
                    problems.push(format!("contains {bad:?}"));
                }
            }
            for month in [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ] {
                if text.contains(&format!(" on {month}")) {
                    problems.push(format!("on {month}"));
                }
            }
            let words = words_of(text);
            for pair in words.windows(2) {
                if pair[0] == pair[1] && pair[0].chars().any(char::is_alphabetic) {
                    problems.push(format!("doubled word {:?}", pair[0]));
                }
            }
            for word in text.split_whitespace() {
                let word = word.trim_matches(|c: char| !c.is_alphanumeric());
                if word.contains('_') {
                    problems.push(format!("raw code {word:?}"));
                }
                if word.contains('.')
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                {
                    problems.push(format!("raw kind {word:?}"));
                }
                if word.len() >= 7
                    && word.as_bytes()[4] == b'-'
                    && word[..4].bytes().all(|b| b.is_ascii_digit())
                {
                    problems.push(format!("machine date {word:?}"));
                }
                if word.starts_with("p-")
                    && word.len() > 6
                    && word[2..].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    problems.push(format!("person id {word:?}"));
                }
            }
            if !text
                .chars()
                .next()
                .is_some_and(|first| first.is_uppercase() || first.is_ascii_digit())
            {
                problems.push("does not start with a capital".to_owned());
            }
            if !text.ends_with('.') {
                problems.push("does not end with a full stop".to_owned());
            }
            problems
        }

        /// Names as a page gives them, from the picture: one reader may see
        /// names, another may not.
        fn named(reference: Reference<'_>) -> Option<String> {
            match reference {
                Reference::Person(id) if id.ends_with('0') => {
                    Some("Lee Barton, the mother's partner".to_owned())
                }
                Reference::Person(id) if id.ends_with('1') => Some("Dana Holt".to_owned()),
                Reference::Person(_) => None,
                Reference::Agency("st-annes-gp") => Some("St Anne's Surgery".to_owned()),
                Reference::Agency("north-met-police") => {
                    Some("North Metropolitan Police".to_owned())
                }
                Reference::Agency(_) => None,
            }
        }

        #[test]
        fn every_rule_reads_as_plain_english_for_every_picture() {
            let pack = crate::default_pack().unwrap();
            let now = at("2007-06-01");
            let mut failures = Vec::new();
            let mut n_rendered = 0usize;
            for (picture_name, picture) in pictures() {
                let view = View::new(&picture, now);
                let n_events = view.events.len();
                let people: Vec<&crate::model::PersonAround> = picture.people().collect();
                for rule in &pack.rules {
                    let mut contexts = Vec::new();
                    let triggers: Vec<usize> = [0, n_events / 2, n_events.saturating_sub(1)]
                        .into_iter()
                        .filter(|idx| *idx < n_events)
                        .collect();
                    match &rule.body {
                        Body::Event { .. } => {
                            for trigger in &triggers {
                                for evidence in [vec![*trigger], (0..n_events).collect()] {
                                    contexts.push(RenderContext {
                                        trigger: Some(*trigger),
                                        n_pattern: evidence.len().max(2),
                                        evidence_idx: evidence,
                                        window: Some(Span::new(90, SpanUnit::Days)),
                                        moment: now,
                                        person: None,
                                        clock: None,
                                    });
                                }
                            }
                        }
                        Body::Person { .. } => {
                            for person in &people {
                                contexts.push(RenderContext {
                                    trigger: None,
                                    evidence_idx: (0..n_events).collect(),
                                    n_pattern: 0,
                                    window: None,
                                    moment: now,
                                    person: Some(person),
                                    clock: None,
                                });
                            }
                        }
                        Body::Clock { due, .. } => {
                            for trigger in &triggers {
                                for last in [None, Some(day("2007-02-01"))] {
                                    contexts.push(RenderContext {
                                        trigger: Some(*trigger),
                                        evidence_idx: vec![*trigger],
                                        n_pattern: 1,
                                        window: None,
                                        moment: now,
                                        person: None,
                                        clock: Some(ClockInfo {
                                            deadline: day("2007-03-15"),
                                            due: *due,
                                            since: day("2007-01-02"),
                                            last,
                                        }),
                                    });
                                }
                            }
                        }
                    }
                    for context in &contexts {
                        let stored = render(&rule.explain, &view, context);
                        n_rendered += 1;
                        let stored_problems: Vec<String> = problems(&stored)
                            .into_iter()
                            .filter(|problem| {
                                !problem.contains('⟦')
                                    && !problem.contains('⟧')
                                    && !problem.starts_with("contains")
                                    && !problem.contains("capital")
                            })
                            .collect();
                        if !stored_problems.is_empty() {
                            failures.push(format!(
                                "{} ({picture_name}), as stored: {stored}\n  {stored_problems:?}",
                                rule.id
                            ));
                        }
                        for resolved in [
                            resolve_explanation(&stored, &named),
                            resolve_explanation(&stored, &|_| None),
                        ] {
                            let found = problems(&resolved);
                            if !found.is_empty() {
                                failures.push(format!(
                                    "{} ({picture_name}): {resolved}\n  {found:?}",
                                    rule.id
                                ));
                            }
                        }
                    }
                }
            }
            assert!(n_rendered > 10_000, "rendered {n_rendered}");
            failures.sort();
            failures.dedup();
            assert!(
                failures.is_empty(),
                "{} explanations read badly, e.g.:\n{}",
                failures.len(),
                failures
                    .iter()
                    .take(15)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }

        #[test]
        fn references_resolve_with_names_and_commas() {
            let stored = "⟦person:p-00⟧ is linked to the child: lives with the child (recorded by ⟦agency:st-annes-gp⟧).";
            assert_eq!(
                resolve_explanation(stored, &named),
                "Lee Barton, the mother's partner, is linked to the child: lives with the child (recorded by St Anne's Surgery)."
            );
            assert_eq!(
                resolve_explanation(stored, &|_| None),
                "A person around the child is linked to the child: lives with the child (recorded by st-annes-gp)."
            );
            assert_eq!(
                resolve_explanation("⟦person:p-00⟧, released on 1 May 2007.", &named),
                "Lee Barton, the mother's partner, released on 1 May 2007."
            );
            assert_eq!(
                resolve_explanation("Older text, person p-1.", &named),
                "Older text, person p-1."
            );
            assert_eq!(
                resolve_explanation("Broken ⟦person:p-1", &named),
                "Broken person:p-1"
            );
            assert_eq!(plain_text("a ⟦person:p-1⟧ b"), "a person:p-1 b");
        }
    }
}
