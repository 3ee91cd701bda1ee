//! Explanations in plain words: a rule's template filled from the evidence.
//!
//! Invariant: an explanation names agencies, record kinds, dates and person ids,
//! never a name, an address or an NHS number (the input model holds none).

use crate::ast::{Piece, Placeholder};
use crate::calendar::Span;
use crate::eval::{ClockInfo, View};
use crate::model::{Event, PersonAround};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sightline_core::{AttributeValue, FindingCode, Kind};

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
        event.occurred.format("%Y-%m").to_string()
    } else {
        event.occurred.format("%Y-%m-%d").to_string()
    }
}

fn words(value: &str) -> String {
    value.replace('_', " ")
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
        Some(kind) => words(kind),
    };
    match finding.attributes.text("site") {
        Some("multiple") => format!("{kind} to several sites"),
        Some("other") | None => kind,
        Some(site) => format!("{kind} to the {site}"),
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
        .map_or("harm".to_owned(), words);
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

fn attribute_words(value: &AttributeValue) -> String {
    match value {
        AttributeValue::Bool(true) => "yes".to_owned(),
        AttributeValue::Bool(false) => "no".to_owned(),
        AttributeValue::Enum(text) => words(text),
        AttributeValue::Text(text) => text.clone(),
        AttributeValue::Int(value) => value.to_string(),
        AttributeValue::Date(date) => date.to_string(),
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
        Placeholder::Agency => trigger.map_or_else(String::new, |event| event.agency().to_owned()),
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
            None => "unknown age".to_owned(),
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
                .map(|(state, _)| state.describe().to_owned())
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
            join_words(&agencies)
        }
        Placeholder::Evidence => {
            let mut items: Vec<String> = evidence
                .iter()
                .take(EVIDENCE_LISTED_MAX)
                .map(|event| {
                    format!(
                        "{} by {} on {}",
                        kind_words(event.kind),
                        event.agency(),
                        date_words(event)
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
            .map_or_else(|| "not recorded".to_owned(), attribute_words),
        Placeholder::Person => context
            .person
            .map_or_else(String::new, |person| format!("person {}", person.person_id)),
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
                        link.evidence.agency
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
                    let against = if offence.against_child() {
                        ", against a child"
                    } else {
                        ""
                    };
                    format!(
                        "{}{against} ({} by {})",
                        words(offence.category),
                        offence.occurred.format("%Y-%m-%d"),
                        offence.evidence.agency
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
            .map_or_else(
                || "not recorded".to_owned(),
                |date| date.format("%Y-%m-%d").to_string(),
            ),
        Placeholder::Deadline => context.clock.map_or_else(String::new, |clock| {
            clock.deadline.format("%Y-%m-%d").to_string()
        }),
        Placeholder::Due => context
            .clock
            .map_or_else(String::new, |clock| clock.due.to_string()),
        Placeholder::Since => context.clock.map_or_else(String::new, |clock| {
            clock.since.format("%Y-%m-%d").to_string()
        }),
        Placeholder::Last => context.clock.and_then(|clock| clock.last).map_or_else(
            || "none recorded".to_owned(),
            |date| date.format("%Y-%m-%d").to_string(),
        ),
    }
}

/// The template filled in, with its first letter capitalised.
pub(crate) fn render(pieces: &[Piece], view: &View<'_>, context: &RenderContext<'_>) -> String {
    let mut text = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(literal) => text.push_str(literal),
            Piece::Placeholder(placeholder) => text.push_str(&fill(placeholder, view, context)),
        }
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
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
}
