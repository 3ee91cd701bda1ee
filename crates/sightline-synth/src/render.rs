//! Turns a household's drafts into interchange v1 JSON Lines, applying each agency's
//! recording habits and errors, and writes the ground truth beside them.

use std::fmt::Write as _;

use crate::config::{NoiseProfile, SynthConfig};
use crate::date::{Day, MINUTES_PER_DAY, format_minute};
use crate::draft::{Draft, DraftPerson, Style, Value, When};
use crate::ids::{base36, mix64, nhs_spaced, unit_from_key};
use crate::model::{Agency, AgencyType, Archetype, Household, Person, Region};
use crate::names::{Names, typo};
use crate::population::Period;

/// The kinds of recording error counted in the summary, in this order.
pub const NOISE_KINDS: [&str; 9] = [
    "typo",
    "nickname",
    "dob_missing",
    "dob_partial",
    "dob_transposed",
    "stale_address",
    "address_missing",
    "nhs_missing",
    "name_swapped",
];

/// Counts gathered while rendering, added up across households.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Records per agency index and kind.
    pub records: Vec<std::collections::BTreeMap<&'static str, u64>>,
    pub mentions: u64,
    /// Per agency type: mentions with full demographics.
    pub full_mentions: [u64; 8],
    /// Per agency type: mentions where an NHS number could have been sent.
    pub nhs_eligible: [u64; 8],
    /// Per agency type and noise kind: how often it was applied.
    pub noise: [[u64; 9]; 8],
    pub exposure: [f64; 4],
    pub trajectories: [u64; 6],
    pub households: u64,
    pub persons: u64,
    pub children: u64,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        if self.records.len() < other.records.len() {
            self.records
                .resize_with(other.records.len(), Default::default);
        }
        for (mine, theirs) in self.records.iter_mut().zip(&other.records) {
            for (kind, count) in theirs {
                *mine.entry(kind).or_insert(0) += count;
            }
        }
        self.mentions += other.mentions;
        for index in 0..8 {
            self.full_mentions[index] += other.full_mentions[index];
            self.nhs_eligible[index] += other.nhs_eligible[index];
            for kind in 0..9 {
                self.noise[index][kind] += other.noise[index][kind];
            }
        }
        for band in 0..4 {
            self.exposure[band] += other.exposure[band];
        }
        for archetype in 0..6 {
            self.trajectories[archetype] += other.trajectories[archetype];
        }
        self.households += other.households;
        self.persons += other.persons;
        self.children += other.children;
    }
}

/// Everything one household writes.
#[derive(Debug, Default)]
pub struct HouseholdOutput {
    /// JSON Lines per agency index (empty when none).
    pub agency_lines: Vec<Vec<u8>>,
    pub mentions: String,
    pub households: String,
    pub persons: String,
    pub trajectories: String,
    pub counters: Counters,
}

/// What rendering needs besides the household.
pub struct RenderContext<'a> {
    pub config: &'a SynthConfig,
    pub region: &'a Region,
    pub names: &'a Names,
    pub period: Period,
}

fn profile(config: &SynthConfig, agency_type: AgencyType) -> &NoiseProfile {
    let noise = &config.noise;
    match agency_type {
        AgencyType::Gp => &noise.gp,
        AgencyType::Ed => &noise.ed,
        AgencyType::HealthVisiting => &noise.health_visiting,
        AgencyType::School => &noise.school,
        AgencyType::Police => &noise.police,
        AgencyType::SocialCare => &noise.social_care,
        AgencyType::Probation => &noise.probation,
        AgencyType::Housing => &noise.housing,
    }
}

/// Renders one household: its records (in order of occurrence) and its truth.
pub fn render_household(
    context: &RenderContext<'_>,
    household: &Household,
    mut drafts: Vec<Draft>,
    exposure: [f64; 4],
) -> HouseholdOutput {
    let region = context.region;
    let mut output = HouseholdOutput {
        agency_lines: vec![Vec::new(); region.agencies.len()],
        counters: Counters {
            records: vec![Default::default(); region.agencies.len()],
            exposure,
            households: 1,
            ..Counters::default()
        },
        ..HouseholdOutput::default()
    };
    drafts.sort_by_key(|draft| draft.when.start_minute());
    let household_id = household.id();
    let mut first_alert: Option<(String, String, String)> = None;
    let mut line = String::with_capacity(2_048);
    for (draft_index, draft) in drafts.iter().enumerate() {
        let Some(agency) = region.agency(draft.agency) else {
            continue;
        };
        let record_key = (household.index << 16) | draft_index as u64;
        let record_id = format!(
            "{}-{}",
            agency.record_prefix,
            base36(mix64(record_key ^ agency.key), 13)
        );
        line.clear();
        render_record(
            context,
            household,
            draft,
            agency,
            &record_id,
            record_key,
            &mut line,
            &mut output,
        );
        line.push('\n');
        if let Some(bytes) = output.agency_lines.get_mut(draft.agency) {
            bytes.extend_from_slice(line.as_bytes());
        }
        if let Some(counts) = output.counters.records.get_mut(draft.agency) {
            *counts.entry(draft.kind).or_insert(0) += 1;
        }
        if draft.alerting && first_alert.is_none() {
            first_alert = Some((
                agency.id.clone(),
                record_id.clone(),
                format_when(draft.when),
            ));
        }
    }
    // Ground truth: persons, household membership, the trajectory.
    for person in &household.persons {
        output.counters.persons += 1;
        if person.is_child {
            output.counters.children += 1;
        }
        let _ = writeln!(
            output.persons,
            "{},{},{},{},{},{},{},{}",
            person.true_id(),
            person.dob.format(),
            person.sex.as_str(),
            person.is_child,
            csv_field(&given_names(person)),
            csv_field(&person.family),
            person.nhs,
            household_id
        );
    }
    for stay in &household.stays {
        let from = stay.from.max(household.arrive);
        let to = stay.to.min(household.leave);
        if from >= to {
            continue;
        }
        let Some(person) = household.person(stay.member) else {
            continue;
        };
        let to_text = if to > context.period.end {
            String::new()
        } else {
            to.plus(-1).format()
        };
        let _ = writeln!(
            output.households,
            "{},{},{},{},{}",
            household_id,
            person.true_id(),
            stay.role.as_str(),
            from.format(),
            to_text
        );
    }
    if let Some(plan) = &household.trajectory {
        if let Some(position) = Archetype::ALL
            .iter()
            .position(|archetype| *archetype == plan.archetype)
        {
            output.counters.trajectories[position] += 1;
        }
        let child_id = household
            .person(plan.child)
            .map(Person::true_id)
            .unwrap_or_default();
        let (alert_agency, alert_record, alert_at) = first_alert.unwrap_or_default();
        let _ = writeln!(
            output.trajectories,
            "T{:07},{},{},{},{},{},{},{}",
            household.index,
            child_id,
            plan.archetype.as_str(),
            plan.start.format(),
            alert_agency,
            alert_record,
            alert_at,
            household_id
        );
    }
    output
}

fn given_names(person: &Person) -> String {
    match person.middle {
        Some(middle) => format!("{} {}", person.given, middle),
        None => person.given.to_owned(),
    }
}

fn format_when(when: When) -> String {
    match when {
        When::At(minute) => format_minute(minute),
        When::Date(day) => day.format(),
        When::Month(day) => day.format_month(),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_record(
    context: &RenderContext<'_>,
    household: &Household,
    draft: &Draft,
    agency: &Agency,
    record_id: &str,
    record_key: u64,
    out: &mut String,
    output: &mut HouseholdOutput,
) {
    let period_end_minute = context.period.end.start_minute() + MINUTES_PER_DAY - 1;
    let occurred_start = draft.when.start_minute();
    let recorded = (occurred_start + draft.delay_minutes)
        .min(period_end_minute)
        .max(occurred_start);
    out.push_str("{\"source\":{\"agency\":");
    push_json_str(out, &agency.id);
    out.push_str(",\"system\":");
    push_json_str(out, agency.system);
    out.push_str(",\"record_id\":");
    push_json_str(out, record_id);
    out.push_str(",\"version\":1},\"kind\":");
    push_json_str(out, draft.kind);
    out.push_str(",\"occurred_at\":");
    push_json_str(out, &format_when(draft.when));
    out.push_str(",\"recorded_at\":");
    push_json_str(out, &format_minute(recorded));
    out.push_str(",\"persons\":[");
    let day = draft.when.day();
    for (index, draft_person) in draft.persons.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let Some(person) = household.person(draft_person.member) else {
            continue;
        };
        let reference = format!("p{}", index + 1);
        render_person(
            context,
            household,
            agency,
            draft_person,
            person,
            &reference,
            day,
            record_key,
            out,
            &mut output.counters,
        );
        let _ = writeln!(
            output.mentions,
            "{},{},{},{}",
            agency.id,
            record_id,
            reference,
            person.true_id()
        );
        output.counters.mentions += 1;
    }
    out.push(']');
    if !draft.findings.is_empty() {
        out.push_str(",\"findings\":[");
        for (index, finding) in draft.findings.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str("{\"code\":");
            push_json_str(out, finding.code);
            for (name, value) in &finding.attributes {
                out.push(',');
                push_json_str(out, name);
                out.push(':');
                push_value(out, value);
            }
            let subjects: Vec<usize> = finding
                .subjects
                .iter()
                .copied()
                .filter(|subject| *subject < draft.persons.len())
                .collect();
            if !subjects.is_empty() {
                out.push_str(",\"subjects\":[");
                for (position, subject) in subjects.iter().enumerate() {
                    if position > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "\"p{}\"", subject + 1);
                }
                out.push(']');
            }
            out.push('}');
        }
        out.push(']');
    }
    let relationships: Vec<&(usize, usize, &str)> = draft
        .relationships
        .iter()
        .filter(|(from, to, _)| {
            from != to && *from < draft.persons.len() && *to < draft.persons.len()
        })
        .collect();
    if !relationships.is_empty() {
        out.push_str(",\"relationships\":[");
        for (index, (from, to, kind)) in relationships.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"from\":\"p{}\",\"to\":\"p{}\",\"type\":",
                from + 1,
                to + 1
            );
            push_json_str(out, kind);
            out.push('}');
        }
        out.push(']');
    }
    if let Some(narrative) = &draft.narrative {
        out.push_str(",\"narrative\":");
        push_json_str(out, narrative);
    }
    if !draft.outcome.is_empty() {
        out.push_str(",\"outcome\":{");
        for (index, (name, value)) in draft.outcome.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_json_str(out, name);
            out.push(':');
            push_value(out, value);
        }
        out.push('}');
    }
    out.push('}');
}

/// A draw in [0, 1) for one noise kind of one mention.
fn draw(key: u64, salt: u64) -> f64 {
    unit_from_key(key.wrapping_add(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

#[allow(clippy::too_many_arguments)]
fn render_person(
    context: &RenderContext<'_>,
    household: &Household,
    agency: &Agency,
    draft_person: &DraftPerson,
    person: &Person,
    reference: &str,
    day: Day,
    record_key: u64,
    out: &mut String,
    counters: &mut Counters,
) {
    let agency_type = agency.agency_type;
    let type_index = agency_type.index();
    let noise = profile(context.config, agency_type);
    let person_key = mix64(person.key ^ agency.key);
    let key = if noise.persistent {
        person_key
    } else {
        mix64(person_key ^ record_key.rotate_left(29))
    };
    let mut applied = [false; 9];
    out.push_str("{\"ref\":");
    push_json_str(out, reference);
    out.push_str(",\"role\":");
    push_json_str(out, draft_person.role);

    // Names, as this agency writes them.
    let mut given = match agency_type {
        AgencyType::Gp | AgencyType::SocialCare | AgencyType::Probation => given_names(person),
        _ => person.given.to_owned(),
    };
    let mut family = person.family.clone();
    let informal = matches!(draft_person.style, Style::GivenNameOnly | Style::NameOnly);
    let nickname_rate = if informal { 0.5 } else { noise.nickname };
    if draw(key, 1) < nickname_rate
        && let Some(short) = context.names.nickname(person.given, key)
    {
        given = short.to_owned();
        applied[1] = true;
    }
    if draw(key, 2) < noise.typo {
        if key >> 63 == 0 {
            given = typo(&given, key);
        } else {
            family = typo(&family, key);
        }
        applied[0] = true;
    }
    if draw(key, 3) < noise.name_swapped && draft_person.style == Style::Full {
        std::mem::swap(&mut given, &mut family);
        applied[8] = true;
    }
    match draft_person.style {
        Style::GivenNameOnly => {
            out.push_str(",\"given_names\":");
            push_json_str(out, &given);
            out.push('}');
            return;
        }
        Style::NameOnly => {
            out.push_str(",\"given_names\":");
            push_json_str(out, &given);
            out.push_str(",\"family_name\":");
            push_json_str(out, &family);
            out.push_str(",\"sex\":");
            push_json_str(out, person.sex.as_str());
            out.push('}');
            return;
        }
        Style::Full | Style::Newborn => {}
    }
    counters.full_mentions[type_index] += 1;
    out.push_str(",\"source_person_id\":");
    let person_id = format!(
        "{}{}",
        agency.person_prefix,
        base36(mix64(person.key ^ agency.key.rotate_left(17)), 9)
    );
    push_json_str(out, &person_id);
    let nhs_possible = agency_type.is_health() || agency_type == AgencyType::SocialCare;
    if nhs_possible {
        counters.nhs_eligible[type_index] += 1;
        if draw(key, 4) < noise.nhs_missing {
            applied[7] = true;
        } else {
            out.push_str(",\"nhs_number\":");
            if matches!(agency_type, AgencyType::Ed | AgencyType::SocialCare) {
                push_json_str(out, &nhs_spaced(&person.nhs));
            } else {
                push_json_str(out, &person.nhs);
            }
        }
    }
    if draft_person.style == Style::Newborn {
        out.push_str(",\"family_name\":");
        push_json_str(out, &person.family);
        out.push_str(",\"aliases\":[");
        push_json_str(out, &format!("Baby {}", person.family));
        out.push(']');
    } else {
        out.push_str(",\"given_names\":");
        push_json_str(out, &given);
        out.push_str(",\"family_name\":");
        push_json_str(out, &family);
    }
    // Date of birth: missing, partial, day and month transposed, or as it is.
    let dob_draw = draw(key, 5);
    let (year, month, day_of_month) = person.dob.ymd();
    if dob_draw < noise.dob_missing {
        applied[2] = true;
    } else {
        out.push_str(",\"dob\":");
        if dob_draw < noise.dob_missing + noise.dob_partial {
            applied[3] = true;
            if key & 1 == 0 {
                push_json_str(out, &format!("{year:04}-{month:02}"))
            } else {
                push_json_str(out, &format!("{year:04}"))
            }
        } else if draw(key, 6) < noise.dob_transposed && day_of_month <= 12 && day_of_month != month
        {
            applied[4] = true;
            push_json_str(out, &format!("{year:04}-{day_of_month:02}-{month:02}"));
        } else {
            push_json_str(out, &person.dob.format());
        }
    }
    out.push_str(",\"sex\":");
    push_json_str(out, person.sex.as_str());
    // Address: the one in force, an old one not yet updated, or none.
    if household.present(person.member, day) {
        if draw(key, 7) < noise.address_missing {
            applied[6] = true;
        } else {
            let mut residence_index = household.residence_index(day);
            let recent_move = household
                .residences
                .get(residence_index)
                .is_some_and(|residence| day.0 - residence.from.0 < 365);
            if residence_index > 0 && recent_move && draw(key, 8) < noise.stale_address {
                residence_index -= 1;
                applied[5] = true;
            }
            if let Some(residence) = household.residences.get(residence_index) {
                out.push_str(",\"address\":{\"lines\":[");
                for (index, address_line) in residence.address.lines.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    push_json_str(out, address_line);
                }
                out.push_str("],\"postcode\":");
                push_json_str(out, &residence.address.postcode);
                out.push('}');
            }
        }
    }
    out.push('}');
    for (kind, was_applied) in applied.iter().enumerate() {
        if *was_applied {
            counters.noise[type_index][kind] += 1;
        }
    }
}

fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Text(text) => push_json_str(out, text),
        Value::Owned(text) => push_json_str(out, text),
        Value::Int(number) => {
            let _ = write!(out, "{number}");
        }
    }
}

/// Appends `text` as a JSON string.
pub fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (index, byte) in text.bytes().enumerate() {
        if byte != b'"' && byte != b'\\' && byte >= 0x20 {
            continue;
        }
        // The bytes that need escaping are ASCII, so these are character boundaries.
        out.push_str(text.get(clean_from..index).unwrap_or_default());
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            control => {
                let _ = write!(out, "\\u{control:04x}");
            }
        }
        clean_from = index + 1;
    }
    out.push_str(text.get(clean_from..).unwrap_or_default());
    out.push('"');
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        for text in [
            "plain",
            "O'Brien",
            "say \"hi\"",
            "back\\slash",
            "line\nbreak\t\u{1}",
            "Zoë",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, text);
            let parsed: String = serde_json::from_str(&out).unwrap();
            assert_eq!(parsed, text);
        }
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("O'Brien"), "O'Brien");
    }
}
