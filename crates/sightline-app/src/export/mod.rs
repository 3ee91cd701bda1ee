//! Exports in the Department for Education's formats (issue #17, item 2):
//! the Standard Safeguarding Dataset tables Sightline can fill ([`ssd`], CSV),
//! the DfE children's social care API payload ([`dfe`], JSON) and the
//! Children in Need census ([`cin`], XML).
//!
//! All three read one model, [`Casework`]: the children's social care
//! records of one local authority (records of its social care agencies, kinds
//! `social_care.*`), grouped by the linked person each record is about (its
//! `subject`) and read in date order into episodes: a referral opens an
//! episode; assessments, strategy discussions, section 47 enquiries,
//! conferences, plans, visits and placements fall into the open episode; a
//! `social_care.case_closed` closes it. The person's demographics and NHS
//! number come from the linked picture (every agency's mentions of them), so
//! an NHS number that only health recorded is still exported.
//!
//! - Invariant: every field an export leaves empty is counted in its report
//!   ([`Gaps`]) with the reason, so the analyst knows what Sightline cannot
//!   say and why; nothing is guessed (a code Sightline has no source for stays
//!   empty).
//! - Invariant: nothing here prints or logs; the shell audits the export
//!   ([`EXPORT_ACTION`]) and writes the files.
//! - Invariant: a record restricted by its agency (issue #18 item 5; the
//!   restrictions in force are passed in as a [`Withheld`]) is not read: no
//!   episode, contact or demographic comes from it, and it is counted in the
//!   report under [`RESTRICTED_REASON`]. An export is not a reader with a
//!   role, so no restriction admits it.

pub mod cin;
pub mod dfe;
pub mod ssd;

use crate::controls::Withheld;
use crate::picture::{LinkedRecords, MentionRef, PersonFacts, facts_of};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sightline_core::org::{AgencyType, HealthService, LocalAuthority, Organisation};
use sightline_core::{Kind, PartialDate, Record, Role, Sex};
use sightline_rules::calendar::add_working_days;
use std::collections::BTreeMap;

/// Working days from the strategy discussion to the initial conference
/// (Working Together 2023).
pub const ICPC_WORKING_DAYS: u32 = 15;

/// The age from which the subject of a record is an adult, not a child.
pub const ADULT_YEARS: i32 = 18;

/// Whole years from `born` to `on`.
fn years_between(born: NaiveDate, on: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

/// The audit action of an export.
pub const EXPORT_ACTION: &str = "export";

/// Why an export left a record out that it would otherwise have read.
pub const RESTRICTED_REASON: &str = "restricted by its agency";

/// Which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Ssd,
    DfeApi,
    CinCensus,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Ssd => "ssd",
            ExportKind::DfeApi => "dfe-api",
            ExportKind::CinCensus => "cin-census",
        }
    }
}

/// Why an export cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "no local authority \"{0}\" in the organisation (give its id or its dfe_code; `sightline org check FILE` lists them)"
    )]
    UnknownLocalAuthority(String),
    #[error(
        "the local authority \"{0}\" has no dfe_code in the organisation file; the {1} export needs the DfE's three-digit code (add dfe_code = \"NNN\" to its [[local_authority]])"
    )]
    NoDfeCode(String, &'static str),
    #[error("the period is empty: --from {from} is after --to {to}")]
    Period { from: NaiveDate, to: NaiveDate },
    #[error(
        "no child had an episode of children's social care open in the period: nothing to write"
    )]
    NoChildren,
}

/// The local authority named by `--la`: its id or its DfE code.
pub fn find_local_authority<'o>(
    organisation: &'o Organisation,
    la: &str,
) -> Result<&'o LocalAuthority, ExportError> {
    organisation
        .local_authorities()
        .find(|authority| authority.id == la || authority.dfe_code.as_deref() == Some(la))
        .ok_or_else(|| ExportError::UnknownLocalAuthority(la.to_owned()))
}

/// The fields an export left empty, with the reason and how many times.
#[derive(Debug, Default, Clone)]
pub struct Gaps {
    by_field: BTreeMap<String, (String, usize)>,
}

/// One line of a report's "not filled".
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub field: String,
    pub reason: String,
    pub count: usize,
}

impl Gaps {
    /// Counts one empty `field` (the first reason given for it is kept).
    pub fn add(&mut self, field: &str, reason: &str) {
        self.add_n(field, reason, 1);
    }

    pub fn add_n(&mut self, field: &str, reason: &str, count: usize) {
        if count == 0 {
            return;
        }
        let entry = self
            .by_field
            .entry(field.to_owned())
            .or_insert_with(|| (reason.to_owned(), 0));
        entry.1 += count;
    }

    pub fn merge(&mut self, other: &Gaps) {
        for (field, (reason, count)) in &other.by_field {
            self.add_n(field, reason, *count);
        }
    }

    pub fn list(&self) -> Vec<Gap> {
        self.by_field
            .iter()
            .map(|(field, (reason, count))| Gap {
                field: field.clone(),
                reason: reason.clone(),
                count: *count,
            })
            .collect()
    }

    pub fn count(&self, field: &str) -> usize {
        self.by_field.get(field).map_or(0, |(_, count)| *count)
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }
}

/// What an export wrote and what it could not fill (`report.json`,
/// `report.txt`). Counts and field names only: no personal data.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub kind: String,
    pub local_authority: String,
    pub dfe_code: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub children: usize,
    /// Rows or items written, by file or table.
    pub written: BTreeMap<String, usize>,
    /// Children's social care records read, and those no table takes (by kind).
    pub records_read: usize,
    pub records_not_exported: BTreeMap<String, usize>,
    /// Records left out, by why ([`RESTRICTED_REASON`]): neither counted in
    /// `records_read` nor read for any field.
    pub records_withheld: BTreeMap<String, usize>,
    pub not_filled: Vec<Gap>,
}

impl ExportReport {
    /// The report in words, one line per count and per field not filled.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "Sightline export {} for local authority {}{} from {} to {}, made {}",
            self.kind,
            self.local_authority,
            self.dfe_code
                .as_ref()
                .map_or(String::new(), |code| format!(" (DfE code {code})")),
            self.from,
            self.to,
            self.generated_at.format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(text, "\nChildren: {}", self.children);
        let _ = writeln!(
            text,
            "Children's social care records read: {}",
            self.records_read
        );
        if !self.records_withheld.is_empty() {
            let _ = writeln!(text, "\nRecords left out (why: count):");
            for (why, count) in &self.records_withheld {
                let _ = writeln!(text, "  {why}: {count}");
            }
        }
        let _ = writeln!(text, "\nWritten:");
        for (what, count) in &self.written {
            let _ = writeln!(text, "  {what}: {count}");
        }
        if !self.records_not_exported.is_empty() {
            let _ = writeln!(text, "\nRecords no part of this export takes, by kind:");
            for (kind, count) in &self.records_not_exported {
                let _ = writeln!(text, "  {kind}: {count}");
            }
        }
        let _ = writeln!(text, "\nNot filled (field: times empty - why):");
        if self.not_filled.is_empty() {
            let _ = writeln!(text, "  nothing");
        }
        for gap in &self.not_filled {
            let _ = writeln!(text, "  {}: {} - {}", gap.field, gap.count, gap.reason);
        }
        text
    }
}

/// A stable identifier of `prefix` and 16 hexadecimal digits derived from
/// the record that started a thing (`agency/record_id`): letters and digits
/// only, 19 characters, the same in every export.
pub fn stable_id(prefix: &str, record: &Record) -> String {
    let key = format!(
        "{}/{}",
        record.source.agency.as_str(),
        record.source.record_id.as_str()
    );
    let hash = blake3::hash(key.as_bytes());
    format!("{prefix}{}", &hash.to_hex()[..16])
}

/// A Sightline person id (`p-` and 16 hex digits) as letters and digits only.
pub fn child_id(person_id: &str) -> String {
    person_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect()
}

/// Where a referral came from, as the CIN census codes it (`1A`..`10`).
#[derive(Debug, Clone)]
pub struct ReferralSource {
    pub code: &'static str,
    pub description: &'static str,
}

/// The census code of a referral's source: from `referrer_type`, and for a
/// professional from the type (and health service) of `referrer_agency` in
/// the organisation; `None` when the record says neither.
pub fn referral_source(record: &Record, organisation: &Organisation) -> Option<ReferralSource> {
    let source = |code, description| Some(ReferralSource { code, description });
    let referrer_type = record.outcome.text("referrer_type");
    match referrer_type {
        Some("family") => return source("1A", "Individual: family member, relative or carer"),
        Some("public") => return source("1D", "Individual: other (including strangers)"),
        Some("child") => return source("1C", "Individual: self"),
        Some("anonymous") => return source("9", "Anonymous"),
        _ => {}
    }
    let agency = record.outcome.text("referrer_agency")?;
    let profile = organisation.agency(agency)?;
    match profile.agency_type {
        AgencyType::Police => source("6", "Police"),
        AgencyType::School => source("2A", "Schools"),
        AgencyType::Housing => source(
            "4",
            "Housing: local authority housing or housing association",
        ),
        AgencyType::Probation => source("7", "Other legal agency"),
        AgencyType::SocialCare => source("5A", "LA services: social care"),
        AgencyType::Other => source("8", "Other"),
        AgencyType::Health => Some(match profile.service {
            Some(HealthService::Gp) => ReferralSource {
                code: "3A",
                description: "Health services: general practitioner (GP)",
            },
            Some(HealthService::HealthVisiting) => ReferralSource {
                code: "3B",
                description: "Health services: health visitor",
            },
            Some(HealthService::SchoolNursing) => ReferralSource {
                code: "3C",
                description: "Health services: school nurse",
            },
            Some(HealthService::UnscheduledCare) => ReferralSource {
                code: "3E",
                description: "Health services: A&E",
            },
            Some(HealthService::Midwifery) => ReferralSource {
                code: "3D",
                description: "Health services: other primary health services",
            },
            _ => ReferralSource {
                code: "3F",
                description: "Health services: other",
            },
        }),
    }
}

/// A referral, as a contact and as the start of an episode.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: String,
    pub date: NaiveDate,
    pub source: Option<ReferralSource>,
    /// `nfa`, `assessment`, `strategy_discussion`, `early_help`.
    pub decision: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub id: String,
    pub start: Option<NaiveDate>,
    pub authorised: Option<NaiveDate>,
    /// The outcome in the worker's words (never exported as text).
    pub outcome_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Section47 {
    pub id: String,
    pub start: NaiveDate,
    /// When the initial conference is due: 15 working days (England and
    /// Wales) after the strategy discussion that started the enquiry (its
    /// start when no discussion was recorded).
    pub icpc_target: NaiveDate,
    pub end: Option<NaiveDate>,
    pub substantiated: Option<bool>,
    pub icpc_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Icpc {
    pub id: String,
    pub date: NaiveDate,
    pub s47_id: Option<String>,
    pub target: Option<NaiveDate>,
    pub cp_plan_id: Option<String>,
    /// The conference said a plan starts.
    pub plan_started: bool,
}

#[derive(Debug, Clone)]
pub struct Visit {
    pub id: String,
    pub date: NaiveDate,
    pub seen: Option<bool>,
    pub seen_alone: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct CpPlan {
    pub id: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub initial_category: Option<String>,
    pub latest_category: Option<String>,
    pub icpc_id: Option<String>,
    pub reviews: Vec<NaiveDate>,
    pub visits: Vec<Visit>,
    /// Child protection plans of this child that started before this one.
    pub previous_plans: usize,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct LookedAfter {
    pub id: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// Sightline's placement type (`foster_care`, `residential`, ...).
    pub placement_type: Option<String>,
}

/// One episode of children's social care: referral to closure.
#[derive(Debug, Clone)]
pub struct Episode {
    pub id: String,
    pub referral_date: NaiveDate,
    /// `None` when the first record of the episode was not a referral.
    pub referral: Option<Contact>,
    pub nfa: bool,
    pub close_date: Option<NaiveDate>,
    /// `RC7`, `RC8` or `RC9` (the only closure reasons Sightline can tell).
    pub close_reason: Option<&'static str>,
    pub assessments: Vec<Assessment>,
    pub cin_plans: Vec<Plan>,
    pub s47s: Vec<Section47>,
    pub icpcs: Vec<Icpc>,
    pub cp_plans: Vec<CpPlan>,
    pub looked_after: Vec<LookedAfter>,
}

/// One child and their episodes.
#[derive(Debug, Clone)]
pub struct ChildCase {
    /// Sightline's person id.
    pub person_id: String,
    /// The id the exports carry (`pers_person_id`, `la_child_id`,
    /// `LAchildID`): the council's own person id when its records carry
    /// exactly one that fits (letters and digits, at most 20) and no other
    /// child of the export has it; otherwise [`child_id`] of `person_id`.
    pub child_id: String,
    /// Whether `child_id` is the council's own person id.
    pub council_id: bool,
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub dob: Option<PartialDate>,
    pub expected_dob: Option<PartialDate>,
    pub sex: Option<Sex>,
    /// From the linked picture (any agency), digits only, and the earliest
    /// date a record carried it.
    pub nhs_number: Option<(String, NaiveDate)>,
    /// The local authority's own person ids (`source_person_id` of its social
    /// care agencies' records), with the earliest date each was seen.
    pub la_person_ids: Vec<(String, NaiveDate)>,
    /// The postcode of the newest address any agency recorded.
    pub postcode: Option<String>,
    /// Contacts (every referral, also those within an open episode).
    pub contacts: Vec<Contact>,
    pub episodes: Vec<Episode>,
}

/// The children's social care of one local authority over a period.
#[derive(Debug, Clone)]
pub struct Casework {
    pub local_authority: LocalAuthority,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub children: Vec<ChildCase>,
    pub records_read: usize,
    pub records_not_exported: BTreeMap<String, usize>,
    /// Records left out, by why (see [`ExportReport::records_withheld`]).
    pub records_withheld: BTreeMap<String, usize>,
    /// Gaps of the reading itself (episodes without a referral, say).
    pub gaps: Gaps,
}

/// The calendar day of a record (the first of the month when only the month
/// is known).
fn day_of(record: &Record) -> NaiveDate {
    record
        .occurred_at
        .date()
        .unwrap_or_else(|| record.occurred_at.start().date_naive())
}

/// The order of a day's records in the work they describe: a record dated
/// by its day alone (midnight) and one with its time (a conference at 10:00)
/// are taken by what they are, not by the clock: the referral before the
/// strategy discussion before the enquiry; the conference before the plan it
/// starts; a review conference before the plan's end; the closure last.
fn step_of(record: &Record) -> u8 {
    let status = record.outcome.text("status");
    match record.kind {
        Kind::SocialCareReferral => 0,
        Kind::SocialCareAssessment if status != Some("completed") => 1,
        Kind::SocialCareStrategyDiscussion => 2,
        Kind::SocialCareSection47 if status != Some("completed") => 3,
        Kind::SocialCareSection47 => 4,
        Kind::SocialCareAssessment => 5,
        Kind::SocialCareLegalPlanning => 6,
        Kind::SocialCareConference => 7,
        Kind::SocialCarePlacement => 8,
        Kind::SocialCarePlan if status != Some("end") => 9,
        Kind::SocialCareVisit | Kind::SocialCareReturnInterview => 10,
        Kind::SocialCarePlan => 11,
        Kind::SocialCareCaseClosed => 13,
        _ => 12,
    }
}

/// Whether a record is children's social care of local authority `la_id`.
fn is_casework(record: &Record, organisation: &Organisation, la_id: &str) -> bool {
    if !record.kind.as_str().starts_with("social_care.") {
        return false;
    }
    let profile = organisation.profile(&record.source.agency, [record.kind.as_str()]);
    profile.agency_type == AgencyType::SocialCare && profile.local_authority == la_id
}

/// Reads the casework of local authority `la` from `from` to `to` (both
/// inclusive): the episodes open at some time in the period, with what
/// happened in them up to `to` (records dated after `to` are not read).
/// Records in `restricted` (every restriction in force) are not read at all.
pub fn casework(
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    organisation: &Organisation,
    la: &LocalAuthority,
    from: NaiveDate,
    to: NaiveDate,
    restricted: &Withheld,
) -> Result<Casework, ExportError> {
    if from > to {
        return Err(ExportError::Period { from, to });
    }
    let is_restricted = |record: &Record| {
        restricted.contains(
            record.source.agency.as_str(),
            record.source.record_id.as_str(),
        )
    };
    // Distinct records left out as restricted, by `(agency, record_id)`.
    let mut left_out: std::collections::BTreeSet<(&str, &str)> = Default::default();
    let mut by_child: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut records_read = 0;
    for (record_idx, loaded) in linked.records.iter().enumerate() {
        if !linked.is_current(record_idx) || !is_casework(&loaded.record, organisation, &la.id) {
            continue;
        }
        if day_of(&loaded.record) > to {
            continue;
        }
        if is_restricted(&loaded.record) {
            left_out.insert((
                loaded.record.source.agency.as_str(),
                loaded.record.source.record_id.as_str(),
            ));
            continue;
        }
        records_read += 1;
        for (person_idx, person) in loaded.record.persons.iter().enumerate() {
            if person.role == Role::Subject {
                let person_id = linked.person_id(record_idx, person_idx);
                if !person_id.is_empty() {
                    by_child.entry(person_id).or_default().push(record_idx);
                }
            }
        }
    }
    let mut gaps = Gaps::default();
    let mut records_not_exported: BTreeMap<String, usize> = BTreeMap::new();
    let mut children = Vec::new();
    for (person_id, mut record_idxs) in by_child {
        record_idxs.sort_by_key(|idx| {
            let record = &linked.records[*idx];
            (
                day_of(&record.record),
                step_of(&record.record),
                record.record.occurred_at.start(),
                record.seq,
            )
        });
        record_idxs.dedup();
        let records: Vec<&Record> = record_idxs
            .iter()
            .map(|idx| &linked.records[*idx].record)
            .collect();
        let (contacts, episodes) =
            episodes_of(&records, organisation, &mut gaps, &mut records_not_exported);
        let Some(person) = facts.get(person_id) else {
            continue;
        };
        // The child's demographics from the records an export may read: a
        // restricted record of any agency that mentions them is left out.
        let unrestricted;
        let person = if !restricted.is_empty()
            && person
                .mentions
                .iter()
                .any(|mention| is_restricted(&linked.records[mention.record_idx].record))
        {
            let mut mentions = Vec::new();
            for mention in &person.mentions {
                let record = &linked.records[mention.record_idx].record;
                if is_restricted(record) {
                    left_out.insert((
                        record.source.agency.as_str(),
                        record.source.record_id.as_str(),
                    ));
                } else {
                    mentions.push(*mention);
                }
            }
            unrestricted = facts_of(linked, person_id, mentions);
            &unrestricted
        } else {
            person
        };
        // The latest the person can have been born: 18 then means 18 for sure.
        let youngest_dob = person.dob.map(PartialDate::latest);
        let is_adult_on = |date: NaiveDate| {
            youngest_dob.is_some_and(|dob| years_between(dob, date) >= ADULT_YEARS)
        };
        let mut episodes: Vec<Episode> = episodes
            .into_iter()
            .filter(|episode| {
                episode.referral_date <= to && episode.close_date.is_none_or(|close| close >= from)
            })
            .collect();
        let before = episodes.len();
        episodes.retain(|episode| !is_adult_on(episode.referral_date));
        gaps.add_n(
            "episode.subject",
            "the subject of the episode was 18 or over at its referral (a parent recorded as the subject of a referral about an unborn child, say): the episode is not exported",
            before - episodes.len(),
        );
        if episodes.is_empty() {
            continue;
        }
        let contacts = contacts
            .into_iter()
            .filter(|contact| {
                contact.date >= from && contact.date <= to && !is_adult_on(contact.date)
            })
            .collect();
        children.push(child_case(
            linked,
            person,
            organisation,
            &la.id,
            contacts,
            episodes,
        ));
    }
    choose_child_ids(&mut children, &mut gaps);
    let mut records_withheld = BTreeMap::new();
    if !left_out.is_empty() {
        records_withheld.insert(RESTRICTED_REASON.to_owned(), left_out.len());
    }
    Ok(Casework {
        local_authority: la.clone(),
        from,
        to,
        children,
        records_read,
        records_not_exported,
        records_withheld,
        gaps,
    })
}

/// Whether `id` can be a child id of the DfE's formats: 1 to 20 letters and
/// digits (the SSD's and the API's rule).
fn fits_child_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Gives each child the council's own person id where it can (one id,
/// fitting, held by no other child of the export), Sightline's otherwise.
fn choose_child_ids(children: &mut [ChildCase], gaps: &mut Gaps) {
    let candidate = |child: &ChildCase| match child.la_person_ids.as_slice() {
        [(id, _)] if fits_child_id(id) => Some(id.clone()),
        _ => None,
    };
    let mut holders: BTreeMap<String, usize> = BTreeMap::new();
    for child in children.iter() {
        if let Some(id) = candidate(child) {
            *holders.entry(id).or_default() += 1;
        }
    }
    for child in children.iter_mut() {
        match candidate(child) {
            Some(id) if holders.get(&id) == Some(&1) => {
                child.child_id = id;
                child.council_id = true;
            }
            Some(_) => gaps.add(
                "child.id",
                "the council's person id is not used: another child of the export has it too (Sightline's person id is used)",
            ),
            None if child.la_person_ids.is_empty() => gaps.add(
                "child.id",
                "the council's records carry no person id for the child (Sightline's person id is used)",
            ),
            None => gaps.add(
                "child.id",
                "the council's records carry several person ids for the child, or one that is not 1 to 20 letters and digits (Sightline's person id is used)",
            ),
        }
    }
}

/// The child's demographics from every mention of them.
fn child_case(
    linked: &LinkedRecords,
    person: &PersonFacts,
    organisation: &Organisation,
    la_id: &str,
    contacts: Vec<Contact>,
    episodes: Vec<Episode>,
) -> ChildCase {
    let mut dobs: BTreeMap<PartialDate, usize> = BTreeMap::new();
    let mut expected: BTreeMap<PartialDate, usize> = BTreeMap::new();
    let mut nhs: BTreeMap<String, NaiveDate> = BTreeMap::new();
    let mut la_ids: BTreeMap<String, NaiveDate> = BTreeMap::new();
    let mut postcode: Option<(DateTime<Utc>, String)> = None;
    let mut mentions: Vec<MentionRef> = person.mentions.clone();
    mentions.sort();
    for mention in &mentions {
        let record = &linked.records[mention.record_idx].record;
        let mentioned = linked.person_of(*mention);
        let day = day_of(record);
        if let Some(dob) = mentioned.dob {
            *dobs.entry(dob).or_default() += 1;
        }
        if let Some(dob) = mentioned.expected_dob {
            *expected.entry(dob).or_default() += 1;
        }
        if let Some(number) = &mentioned.nhs_number {
            let first = nhs.entry(number.digits()).or_insert(day);
            *first = (*first).min(day);
        }
        if let Some(id) = &mentioned.source_person_id
            && is_casework(record, organisation, la_id)
        {
            let first = la_ids.entry(id.clone()).or_insert(day);
            *first = (*first).min(day);
        }
        if let Some(code) = mentioned
            .address
            .as_ref()
            .and_then(|address| address.postcode.as_ref())
        {
            let at = record.occurred_at.start();
            if postcode.as_ref().is_none_or(|(newest, _)| at >= *newest) {
                postcode = Some((at, code.as_str().to_owned()));
            }
        }
    }
    let most_common = |counts: BTreeMap<PartialDate, usize>| {
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(value, _)| value)
    };
    let dob = most_common(dobs);
    let expected_dob = if dob.is_some() {
        None
    } else {
        most_common(expected)
    };
    let nhs_number = person
        .nhs_number
        .as_ref()
        .map(|number| {
            number
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .map(|digits| {
            let first = nhs
                .get(&digits)
                .copied()
                .unwrap_or_else(|| nhs.values().min().copied().unwrap_or(NaiveDate::MIN));
            (digits, first)
        });
    ChildCase {
        person_id: person.id.clone(),
        child_id: child_id(&person.id),
        council_id: false,
        given_names: person.given_names.clone(),
        family_name: person.family_name.clone(),
        dob,
        expected_dob,
        sex: person.sex,
        nhs_number,
        la_person_ids: la_ids.into_iter().collect(),
        postcode: postcode.map(|(_, code)| code),
        contacts,
        episodes,
    }
}

/// A date for the DfE's formats: a day as is; a month as its 15th (the SSD's
/// rule for an unknown day of birth); a year alone is not a date.
pub fn export_date(date: PartialDate) -> Option<NaiveDate> {
    match date {
        PartialDate::Day(day) => Some(day),
        PartialDate::Month(year, month) => NaiveDate::from_ymd_opt(year, month, 15),
        PartialDate::Year(_) => None,
    }
}

/// Reads one child's records (in date order) into contacts and episodes.
fn episodes_of(
    records: &[&Record],
    organisation: &Organisation,
    gaps: &mut Gaps,
    not_exported: &mut BTreeMap<String, usize>,
) -> (Vec<Contact>, Vec<Episode>) {
    let mut contacts = Vec::new();
    let mut episodes: Vec<Episode> = Vec::new();
    let mut open: Option<Episode> = None;
    let mut cp_plans_so_far = 0;
    let mut last_placement: Option<(NaiveDate, String)> = None;
    // The newest strategy discussion not yet followed by an enquiry.
    let mut strategy: Option<NaiveDate> = None;
    for record in records {
        let day = day_of(record);
        let outcome = &record.outcome;
        if record.kind == Kind::SocialCareReferral {
            let contact = Contact {
                id: stable_id("CON", record),
                date: day,
                source: referral_source(record, organisation),
                decision: outcome.text("decision").map(str::to_owned),
            };
            contacts.push(contact.clone());
            if open.is_some() {
                // A referral while an episode is open joins it (a contact).
                continue;
            }
            let decision = contact.decision.clone();
            let mut episode = new_episode(stable_id("REF", record), day, Some(contact));
            match decision.as_deref() {
                Some("nfa") => {
                    episode.nfa = true;
                    episode.close_date = Some(day);
                    episode.close_reason = Some("RC8");
                    episodes.push(episode);
                }
                Some("early_help") => {
                    episode.nfa = true;
                    episode.close_date = Some(day);
                    episode.close_reason = Some("RC9");
                    episodes.push(episode);
                }
                _ => open = Some(episode),
            }
            continue;
        }
        if record.kind == Kind::SocialCareCaseClosed {
            if let Some(mut closed) = open.take() {
                let had_plan = !closed.cin_plans.is_empty()
                    || !closed.cp_plans.is_empty()
                    || !closed.looked_after.is_empty();
                closed.close_date = Some(day);
                closed.close_reason = Some(if had_plan { "RC7" } else { "RC8" });
                episodes.push(closed);
            } else {
                *not_exported
                    .entry("social_care.case_closed (no episode open)".to_owned())
                    .or_default() += 1;
            }
            continue;
        }
        let episode = open.get_or_insert_with(|| {
            gaps.add(
                "episode.referral",
                "the child's first record of the episode is not a referral: the episode starts at that record's date, its referral source unknown",
            );
            new_episode(stable_id("REF", record), day, None)
        });
        match record.kind {
            Kind::SocialCareAssessment => match outcome.text("status") {
                Some("completed") => {
                    if let Some(assessment) = episode
                        .assessments
                        .iter_mut()
                        .rev()
                        .find(|assessment| assessment.authorised.is_none())
                    {
                        assessment.authorised = Some(day);
                        assessment.outcome_text = outcome.text("outcome").map(str::to_owned);
                    } else {
                        episode.assessments.push(Assessment {
                            id: stable_id("ASM", record),
                            start: None,
                            authorised: Some(day),
                            outcome_text: outcome.text("outcome").map(str::to_owned),
                        });
                    }
                }
                _ => episode.assessments.push(Assessment {
                    id: stable_id("ASM", record),
                    start: Some(day),
                    authorised: None,
                    outcome_text: None,
                }),
            },
            Kind::SocialCareStrategyDiscussion => {
                if outcome.bool("section47") != Some(false) {
                    strategy = Some(day);
                }
            }
            Kind::SocialCareSection47 => match outcome.text("status") {
                Some("completed") => {
                    if let Some(s47) = episode.s47s.iter_mut().rev().find(|s47| s47.end.is_none()) {
                        s47.end = Some(day);
                        s47.substantiated = outcome.bool("substantiated");
                    } else {
                        gaps.add(
                            "section47.start",
                            "a section 47 enquiry was recorded completed with no record of its start: left out",
                        );
                    }
                }
                _ => episode.s47s.push(Section47 {
                    id: stable_id("S47", record),
                    start: day,
                    icpc_target: add_working_days(
                        strategy.take().filter(|held| *held <= day).unwrap_or(day),
                        ICPC_WORKING_DAYS,
                    ),
                    end: None,
                    substantiated: None,
                    icpc_date: None,
                }),
            },
            Kind::SocialCareConference => match outcome.text("type") {
                Some("initial") => {
                    let id = stable_id("ICP", record);
                    let s47 = episode.s47s.last_mut();
                    let (s47_id, target) = s47
                        .map(|s47| {
                            if s47.icpc_date.is_none() {
                                s47.icpc_date = Some(day);
                            }
                            (s47.id.clone(), s47.icpc_target)
                        })
                        .unzip();
                    episode.icpcs.push(Icpc {
                        id,
                        date: day,
                        s47_id,
                        target,
                        cp_plan_id: None,
                        plan_started: outcome.text("plan") == Some("start"),
                    });
                }
                _ => {
                    if let Some(plan) = episode
                        .cp_plans
                        .iter_mut()
                        .rev()
                        .find(|plan| plan.end.is_none())
                    {
                        plan.reviews.push(day);
                    } else {
                        gaps.add(
                            "conference.review",
                            "a review conference with no child protection plan open: left out",
                        );
                    }
                }
            },
            Kind::SocialCarePlan => {
                let starts = outcome.text("status") != Some("end");
                let category = outcome.text("category").map(str::to_owned);
                match outcome.text("plan") {
                    Some("child_protection") if starts => {
                        let id = stable_id("CPP", record);
                        let icpc_id = episode
                            .icpcs
                            .iter_mut()
                            .rev()
                            .find(|icpc| icpc.cp_plan_id.is_none())
                            .map(|icpc| {
                                icpc.cp_plan_id = Some(id.clone());
                                icpc.id.clone()
                            });
                        episode.cp_plans.push(CpPlan {
                            id,
                            start: day,
                            end: None,
                            initial_category: category.clone(),
                            latest_category: category,
                            icpc_id,
                            reviews: Vec::new(),
                            visits: Vec::new(),
                            previous_plans: cp_plans_so_far,
                        });
                        cp_plans_so_far += 1;
                    }
                    Some("child_protection") => {
                        if let Some(plan) = episode
                            .cp_plans
                            .iter_mut()
                            .rev()
                            .find(|plan| plan.end.is_none())
                        {
                            plan.end = Some(day);
                            if category.is_some() {
                                plan.latest_category = category;
                            }
                        }
                    }
                    Some("child_in_need") if starts => episode.cin_plans.push(Plan {
                        id: stable_id("CIN", record),
                        start: day,
                        end: None,
                    }),
                    Some("child_in_need") => {
                        if let Some(plan) = episode
                            .cin_plans
                            .iter_mut()
                            .rev()
                            .find(|plan| plan.end.is_none())
                        {
                            plan.end = Some(day);
                        }
                    }
                    Some("looked_after") if starts => episode.looked_after.push(LookedAfter {
                        id: stable_id("CLA", record),
                        start: day,
                        end: None,
                        placement_type: last_placement
                            .as_ref()
                            .filter(|(placed, _)| *placed == day)
                            .map(|(_, placement_type)| placement_type.clone()),
                    }),
                    Some("looked_after") => {
                        if let Some(period) = episode
                            .looked_after
                            .iter_mut()
                            .rev()
                            .find(|period| period.end.is_none())
                        {
                            period.end = Some(day);
                        }
                    }
                    _ => gaps.add(
                        "plan.type",
                        "a plan record that does not say which plan: left out",
                    ),
                }
            }
            Kind::SocialCareVisit => {
                if let Some(plan) = episode
                    .cp_plans
                    .iter_mut()
                    .rev()
                    .find(|plan| plan.end.is_none())
                {
                    plan.visits.push(Visit {
                        id: stable_id("VIS", record),
                        date: day,
                        seen: outcome.bool("child_seen"),
                        seen_alone: outcome.bool("seen_alone"),
                    });
                } else {
                    *not_exported
                        .entry("social_care.visit (no child protection plan open)".to_owned())
                        .or_default() += 1;
                }
            }
            Kind::SocialCarePlacement => {
                if outcome.text("status") != Some("end")
                    && let Some(placement_type) = outcome.text("placement_type")
                {
                    last_placement = Some((day, placement_type.to_owned()));
                    if let Some(period) = episode
                        .looked_after
                        .iter_mut()
                        .rev()
                        .find(|period| period.end.is_none())
                    {
                        period.placement_type = Some(placement_type.to_owned());
                    }
                }
            }
            other => {
                *not_exported.entry(other.as_str().to_owned()).or_default() += 1;
            }
        }
    }
    if let Some(episode) = open {
        episodes.push(episode);
    }
    (contacts, episodes)
}

fn new_episode(id: String, day: NaiveDate, referral: Option<Contact>) -> Episode {
    Episode {
        id,
        referral_date: day,
        referral,
        nfa: false,
        close_date: None,
        close_reason: None,
        assessments: Vec::new(),
        cin_plans: Vec::new(),
        s47s: Vec::new(),
        icpcs: Vec::new(),
        cp_plans: Vec::new(),
        looked_after: Vec::new(),
    }
}

/// `Y` or `N`.
pub fn yes_no(value: bool) -> &'static str {
    if value { "Y" } else { "N" }
}

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("could not write into {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Whether `casework` can be exported as `kind`: the DfE formats need the
/// authority's DfE code and at least one child.
pub fn check(kind: ExportKind, casework: &Casework) -> Result<(), ExportError> {
    let la = &casework.local_authority;
    if kind != ExportKind::Ssd {
        if la.dfe_code.is_none() {
            return Err(ExportError::NoDfeCode(la.id.clone(), kind.as_str()));
        }
        if casework.children.is_empty() {
            return Err(ExportError::NoChildren);
        }
    }
    Ok(())
}

/// Writes the export of `kind` for `casework` into `dir` (which must exist),
/// with `report.json` and `report.txt`; returns the report.
pub fn write_export(
    kind: ExportKind,
    casework: &Casework,
    dir: &std::path::Path,
    generated_at: DateTime<Utc>,
) -> Result<ExportReport, WriteError> {
    let io = |source| WriteError::Io {
        path: dir.display().to_string(),
        source,
    };
    let la = &casework.local_authority;
    check(kind, casework)?;
    let (written, mut gaps) = match kind {
        ExportKind::Ssd => ssd::write(casework, dir).map_err(io)?,
        ExportKind::DfeApi => dfe::write(casework, dir).map_err(io)?,
        ExportKind::CinCensus => {
            let lea = la.dfe_code.clone().unwrap_or_default();
            let mut gaps = Gaps::default();
            let header = cin::Header {
                lea,
                release: env!("CARGO_PKG_VERSION").to_owned(),
                generated_at,
            };
            let text = cin::document(casework, &header, &mut gaps);
            std::fs::write(dir.join(cin::FILE_NAME), text).map_err(io)?;
            let mut written = BTreeMap::new();
            written.insert(cin::FILE_NAME.to_owned(), casework.children.len());
            (written, gaps)
        }
    };
    gaps.merge(&casework.gaps);
    let report = ExportReport {
        kind: kind.as_str().to_owned(),
        local_authority: la.id.clone(),
        dfe_code: la.dfe_code.clone(),
        from: casework.from,
        to: casework.to,
        generated_at,
        children: casework.children.len(),
        written,
        records_read: casework.records_read,
        records_not_exported: casework.records_not_exported.clone(),
        records_withheld: casework.records_withheld.clone(),
        not_filled: gaps.list(),
    };
    let json =
        serde_json::to_string_pretty(&report).map_err(|error| io(std::io::Error::other(error)))?;
    std::fs::write(dir.join("report.json"), json).map_err(io)?;
    std::fs::write(dir.join("report.txt"), report.text()).map_err(io)?;
    Ok(report)
}

#[cfg(test)]
mod tests;
