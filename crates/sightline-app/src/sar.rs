//! Subject access (UK GDPR Article 15): everything Sightline holds about one
//! person, adult or child, gathered into a bundle: every version of every
//! record that mentions them, the linkage that joined their mentions (its
//! evidence and people's decisions), the alerts about them, about the children
//! they are linked to or citing their records (with decisions and history), and
//! who viewed their data and why (the audit entries whose resource is the
//! person or one of their records). [`render_html`] turns the bundle into an
//! accessible page that prints cleanly to PDF.
//!
//! - Invariant: third parties are redacted in every record: each other person
//!   of a record keeps their `ref`, `role` and `sex` and loses every name,
//!   alias, date of birth, NHS number, agency id and address, each replaced by
//!   [`REDACTED`]; and every free text of the bundle (narratives, findings,
//!   alert texts, reasons) has those values, found as whole words, replaced
//!   too, unless the value is also the subject's own (a shared family name or
//!   address stays: it is the subject's data as well).
//! - Invariant: nothing here writes a log line or prints; the shell audits the
//!   request ([`SUBJECT_ACCESS_ACTION`]) and writes the files.

use crate::persons::{
    DecisionView, Identity, LinkEvidence, MentionView, PersonsError, person_detail, person_records,
};
use crate::picture::{LinkedRecords, PersonFacts, record_key};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sightline_access::words::{audit_action_label, audit_basis_label, audit_outcome_label};
use sightline_core::dates::{date_of, date_time};
use sightline_store::{
    ALERT_LIST_LIMIT_MAX, AUDIT_QUERY_KEYS_MAX, AlertFilter, AuditQuery, Store, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

/// What replaces a third party's value.
pub const REDACTED: &str = "[redacted: third party]";
/// The audit action of a subject access request.
pub const SUBJECT_ACCESS_ACTION: &str = "subject_access";
/// The shortest reason accepted (a sentence, as for break glass).
pub const SAR_REASON_CHARS_MIN: usize = 20;
/// The longest reason accepted.
pub const SAR_REASON_CHARS_MAX: usize = 1_000;
/// The most audit entries one bundle lists (newest first).
pub const SAR_AUDIT_ENTRIES_MAX: usize = 100_000;
/// The audit action of an un-redaction (a third party disclosed).
pub const UNREDACT_ACTION: &str = "sar_unredact";
/// The most un-redactions one bundle applies.
pub const UNREDACTIONS_MAX: u32 = 10_000;
/// The most third parties (items) listed for one person.
pub const SAR_ITEMS_MAX: usize = 10_000;
/// The most alerts read per child or record.
const ALERTS_PER_QUERY: u32 = ALERT_LIST_LIMIT_MAX;

/// The fields of an interchange person that identify them.
const IDENTIFYING_FIELDS: [&str; 8] = [
    "given_names",
    "family_name",
    "aliases",
    "dob",
    "expected_dob",
    "nhs_number",
    "source_person_id",
    "address",
];

/// Why a subject access request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum SarError {
    #[error(
        "the reason must be a sentence of {SAR_REASON_CHARS_MIN} to {SAR_REASON_CHARS_MAX} characters, without control characters"
    )]
    Reason,
    #[error("no person with this id in the log")]
    UnknownPerson,
    #[error(
        "no third party with this item in the records that mention the person (give it as agency/record_id#ref, as the bundle lists it)"
    )]
    UnknownItem,
    #[error(transparent)]
    Persons(#[from] PersonsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored record body is not JSON: {agency}/{record_id} version {version}")]
    Body {
        agency: String,
        record_id: String,
        version: i64,
    },
}

/// The reason, trimmed, if it is a sentence.
pub fn check_reason(reason: &str) -> Result<String, SarError> {
    let reason = reason.trim();
    let n_chars = reason.chars().count();
    if !(SAR_REASON_CHARS_MIN..=SAR_REASON_CHARS_MAX).contains(&n_chars)
        || reason.chars().any(char::is_control)
    {
        return Err(SarError::Reason);
    }
    Ok(reason.to_owned())
}

/// One version of a record that mentions the subject, third parties redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SarRecord {
    pub agency: String,
    pub record_id: String,
    pub version: i64,
    pub kind: String,
    pub occurred_at: String,
    pub received_at: DateTime<Utc>,
    pub received_in_words: String,
    /// The subject's part(s) in the record (`subject`, `parent`...).
    pub subject_roles: Vec<String>,
    /// The other persons of the record, by role, redacted.
    pub third_parties: Vec<ThirdParty>,
    /// The record as the agency sent it, third parties redacted.
    pub body: Value,
}

/// Another person of a record, as the bundle shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ThirdParty {
    #[serde(rename = "ref")]
    pub person_ref: String,
    pub role: String,
    /// "the parent [redacted: third party]", or their name when disclosed.
    pub described: String,
    /// The item the privacy officer names to disclose them:
    /// `agency/record_id#ref`.
    pub item: String,
    /// Whether the privacy officer disclosed them in this record.
    pub disclosed: bool,
}

/// One third party of one record that mentions the subject: what the
/// privacy officer can un-redact, item by item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SarItem {
    pub agency: String,
    pub record_id: String,
    #[serde(rename = "ref")]
    pub person_ref: String,
}

impl SarItem {
    /// `agency/record_id#ref`.
    pub fn key(&self) -> String {
        format!("{}/{}#{}", self.agency, self.record_id, self.person_ref)
    }

    /// An item from its key (agency ids hold no `/`; the ref follows the
    /// last `#`).
    pub fn parse(key: &str) -> Option<SarItem> {
        let (record, person_ref) = key.trim().rsplit_once('#')?;
        let (agency, record_id) = record.split_once('/')?;
        if agency.is_empty() || record_id.is_empty() || person_ref.is_empty() {
            return None;
        }
        Some(SarItem {
            agency: agency.to_owned(),
            record_id: record_id.to_owned(),
            person_ref: person_ref.to_owned(),
        })
    }
}

/// An item as the privacy officer's page lists it (no values: the role,
/// the record's kind and the ref).
#[derive(Debug, Clone, Serialize)]
pub struct SarItemView {
    pub item: SarItem,
    pub key: String,
    pub role: String,
    pub kind: String,
}

/// A third party the privacy officer disclosed in this bundle, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SarDisclosure {
    pub item: String,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub in_words: String,
}

/// The linkage that joined the subject's mentions.
#[derive(Debug, Clone, Serialize)]
pub struct SarLinkage {
    pub mentions: Vec<MentionView>,
    pub mentions_truncated: bool,
    pub links: Vec<LinkEvidence>,
    pub links_truncated: bool,
    pub decisions: Vec<DecisionView>,
}

/// An alert in the bundle, with its history.
#[derive(Debug, Clone, Serialize)]
pub struct SarAlert {
    pub id: String,
    /// Why it is in the bundle: `about them`, `about a child linked to them`
    /// or `cites their record`.
    pub why_included: String,
    pub rule_id: String,
    pub severity: String,
    pub title: String,
    pub explanation: String,
    pub status: String,
    pub raised_at: DateTime<Utc>,
    pub raised_in_words: String,
    /// `agency/record_id version N`.
    pub evidence: Vec<String>,
    pub history: Vec<SarAlertEvent>,
}

/// One entry of an alert's history.
#[derive(Debug, Clone, Serialize)]
pub struct SarAlertEvent {
    pub at: DateTime<Utc>,
    pub in_words: String,
    pub kind: String,
    pub actor: Option<String>,
    pub decision: Option<String>,
    pub reason: Option<String>,
}

/// Who read or acted on the subject's data, and on what basis.
#[derive(Debug, Clone, Serialize)]
pub struct SarAccess {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub in_words: String,
    pub username: String,
    pub role: String,
    pub agency: String,
    pub action: String,
    pub action_in_words: String,
    pub resource_key: String,
    pub basis_in_words: String,
    pub outcome_in_words: String,
}

/// A record that mentions the person and is withheld from the bundle: its
/// agency restricted it (the duty to share's exception). Listed, not shown.
#[derive(Debug, Clone, Serialize)]
pub struct SarWithheld {
    pub agency: String,
    pub record_id: String,
    /// Why, as a category (the agency's own reason is not given).
    pub category: String,
    pub restricted_at: DateTime<Utc>,
}

/// A legal hold in force on the person.
#[derive(Debug, Clone, Serialize)]
pub struct SarHold {
    /// `child` or `person`.
    pub on: String,
    pub reason: String,
    pub placed_at: DateTime<Utc>,
    pub placed_in_words: String,
}

/// Everything Sightline holds about one person.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccessBundle {
    pub person_id: String,
    pub generated_at: DateTime<Utc>,
    pub generated_in_words: String,
    pub reason: String,
    pub identity: Identity,
    /// How third parties are treated, in words.
    pub redaction: String,
    /// Third parties the privacy officer disclosed, item by item, with why.
    pub disclosures: Vec<SarDisclosure>,
    pub records: Vec<SarRecord>,
    /// Records that mention them, restricted by their agency: listed, not shown.
    pub withheld: Vec<SarWithheld>,
    /// Legal holds in force on them.
    pub holds: Vec<SarHold>,
    pub linkage: SarLinkage,
    pub alerts: Vec<SarAlert>,
    pub alerts_truncated: bool,
    pub access: Vec<SarAccess>,
    pub access_truncated: bool,
}

impl SubjectAccessBundle {
    /// Counts for the terminal: records (versions), distinct records, alerts,
    /// audit entries. No personal data.
    pub fn summary(&self) -> String {
        let distinct: BTreeSet<(&str, &str)> = self
            .records
            .iter()
            .map(|record| (record.agency.as_str(), record.record_id.as_str()))
            .collect();
        format!(
            "{} record(s) in {} version(s), {} link(s), {} linkage decision(s), {} alert(s), {} audit entr{}",
            distinct.len(),
            self.records.len(),
            self.linkage.links.len(),
            self.linkage.decisions.len(),
            self.alerts.len(),
            self.access.len(),
            if self.access.len() == 1 { "y" } else { "ies" },
        )
    }
}

// ---- redaction ----

/// The third parties' values to find in free text, less the subject's own.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    /// Lowercase (ASCII) needles, longest first.
    needles: Vec<String>,
}

/// Every identifying value of one interchange person, as text: the whole
/// names and each of their words, aliases, NHS number (as sent and as
/// digits), agency id, dates, address lines and postcode (as sent and
/// without spaces).
fn person_values(person: &Value) -> Vec<String> {
    let mut values = Vec::new();
    let mut push_text = |text: &str, split_words: bool| {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        values.push(text.to_owned());
        if split_words {
            values.extend(
                text.split(|c: char| c.is_whitespace() || c == '-' || c == ',')
                    .filter(|word| !word.is_empty())
                    .map(str::to_owned),
            );
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact != text {
            values.push(compact);
        }
    };
    for field in ["given_names", "family_name"] {
        if let Some(text) = person.get(field).and_then(Value::as_str) {
            push_text(text, true);
        }
    }
    for field in ["dob", "expected_dob", "nhs_number", "source_person_id"] {
        if let Some(text) = person.get(field).and_then(Value::as_str) {
            push_text(text, false);
        }
    }
    if let Some(aliases) = person.get("aliases").and_then(Value::as_array) {
        for alias in aliases.iter().filter_map(Value::as_str) {
            push_text(alias, true);
        }
    }
    if let Some(address) = person.get("address") {
        if let Some(lines) = address.get("lines").and_then(Value::as_array) {
            for line in lines.iter().filter_map(Value::as_str) {
                push_text(line, false);
            }
        }
        if let Some(postcode) = address.get("postcode").and_then(Value::as_str) {
            push_text(postcode, false);
        }
    }
    values
}

impl Scrubber {
    /// The scrubber of `third_party_values` that leaves alone every value the
    /// subject shares (compared without ASCII case). Values shorter than two
    /// characters are left out: they would redact every such letter.
    pub fn new(third_party_values: &BTreeSet<String>, subject_values: &BTreeSet<String>) -> Self {
        let subject: BTreeSet<String> = subject_values
            .iter()
            .map(|value| value.to_ascii_lowercase())
            .collect();
        let mut needles: Vec<String> = third_party_values
            .iter()
            .map(|value| value.to_ascii_lowercase())
            .filter(|value| value.chars().count() >= 2 && !subject.contains(value))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        needles.sort_by(|left, right| right.len().cmp(&left.len()).then(left.cmp(right)));
        Scrubber { needles }
    }

    /// `text` with every needle found as a whole word (not inside a longer
    /// word or number) replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in &self.needles {
            text = replace_whole_words(&text, needle);
        }
        text
    }

    /// Every string of `value` scrubbed.
    fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(text) if text != REDACTED => *text = self.scrub(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(members) => members
                .values_mut()
                .for_each(|member| self.scrub_value(member)),
            _ => {}
        }
    }
}

/// `text` with each whole-word occurrence of `needle_lower` (ASCII case
/// ignored) replaced by [`REDACTED`].
fn replace_whole_words(text: &str, needle_lower: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so a match in `lower` is a match
    // at the same bytes of `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find(needle_lower)) {
        let start = from + found;
        let end = start + needle_lower.len();
        let before_ok = text
            .get(..start)
            .and_then(|head| head.chars().next_back())
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = text
            .get(end..)
            .and_then(|tail| tail.chars().next())
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            out.push_str(text.get(copied..start).unwrap_or_default());
            out.push_str(REDACTED);
            copied = end;
            from = end;
        } else {
            // Step one character on (needles may start with a multi-byte one).
            let step = lower
                .get(start..)
                .and_then(|rest| rest.chars().next())
                .map_or(1, char::len_utf8);
            from = start + step;
        }
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// The record body with each person whose `ref` is not in `subject_refs`
/// stripped of identifying fields (each replaced by [`REDACTED`]), then every
/// string scrubbed of third parties' values.
pub fn redact_body(body: &Value, subject_refs: &BTreeSet<String>, scrubber: &Scrubber) -> Value {
    let mut body = body.clone();
    if let Some(persons) = body.get_mut("persons").and_then(Value::as_array_mut) {
        for person in persons.iter_mut() {
            let is_subject = person
                .get("ref")
                .and_then(Value::as_str)
                .is_some_and(|person_ref| subject_refs.contains(person_ref));
            if is_subject {
                continue;
            }
            if let Some(fields) = person.as_object_mut() {
                for field in IDENTIFYING_FIELDS {
                    if let Some(value) = fields.get_mut(field) {
                        *value = Value::String(REDACTED.to_owned());
                    }
                }
            }
        }
    }
    // Scrub everything but the source (agency, record id) and the persons'
    // refs and roles, which the record needs to read.
    if let Some(members) = body.as_object_mut() {
        for (name, member) in members.iter_mut() {
            match name.as_str() {
                "source" | "kind" | "occurred_at" | "recorded_at" => {}
                "persons" => {
                    for person in member.as_array_mut().into_iter().flatten() {
                        for (field, value) in person.as_object_mut().into_iter().flatten() {
                            if !matches!(field.as_str(), "ref" | "role" | "sex") {
                                scrubber.scrub_value(value);
                            }
                        }
                    }
                }
                _ => scrubber.scrub_value(member),
            }
        }
    }
    body
}

/// An alert text with its reference markup (`⟦agency:gp-3⟧`) read as the
/// plain id (`gp-3`).
fn without_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('⟦') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let inner = rest.get(start + '⟦'.len_utf8()..).unwrap_or_default();
        let Some(end) = inner.find('⟧') else {
            out.push_str(rest.get(start..).unwrap_or_default());
            return out;
        };
        let reference = inner.get(..end).unwrap_or_default();
        out.push_str(reference.split_once(':').map_or(reference, |(_, id)| id));
        rest = inner.get(end + '⟧'.len_utf8()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

fn role_words(role: &str) -> String {
    match role {
        "subject" => "the person the record is about".to_owned(),
        "other" => "another person".to_owned(),
        other => format!("the {}", other.replace('_', " ")),
    }
}

/// A person's given and family names, as the record gives them.
fn name_of(person: &Value) -> String {
    ["given_names", "family_name"]
        .iter()
        .filter_map(|field| person.get(*field).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The third parties of the records that mention `person_id` (their newest
/// versions; restricted records left out), by record and ref: what the
/// privacy officer can disclose. No values, only roles and refs.
pub fn items(
    store: &dyn Store,
    linked: &LinkedRecords,
    person_id: &str,
) -> Result<Vec<SarItemView>, SarError> {
    let restricted = crate::controls::restrictions_by_record(store)?;
    let mut subject_refs: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for mention_idx in person_records(linked, person_id) {
        let Some(mention) = linked.mentions.get(mention_idx as usize).copied() else {
            continue;
        };
        subject_refs
            .entry(mention.record_idx)
            .or_default()
            .insert(linked.person_of(mention).person_ref.clone());
    }
    let mut found: BTreeMap<SarItem, SarItemView> = BTreeMap::new();
    for (record_idx, refs) in subject_refs {
        let Some(loaded) = linked.records.get(record_idx) else {
            continue;
        };
        let record = &loaded.record;
        let key = record_key(record);
        if restricted.contains_key(&key) {
            continue;
        }
        for person in &record.persons {
            if refs.contains(&person.person_ref) {
                continue;
            }
            let item = SarItem {
                agency: key.0.clone(),
                record_id: key.1.clone(),
                person_ref: person.person_ref.clone(),
            };
            found.entry(item.clone()).or_insert(SarItemView {
                key: item.key(),
                item,
                role: person.role.as_str().to_owned(),
                kind: record.kind.as_str().to_owned(),
            });
        }
        if found.len() >= SAR_ITEMS_MAX {
            break;
        }
    }
    Ok(found.into_values().collect())
}

/// The audit resource of a person: `child:ID` or `person:ID`.
pub fn resource_key(facts: &BTreeMap<String, PersonFacts>, person_id: &str) -> String {
    let kind = if facts.get(person_id).is_some_and(|facts| facts.is_child) {
        "child"
    } else {
        "person"
    };
    format!("{kind}:{person_id}")
}

/// Records in the audit log that `actor` produced `bundle` (the CLI and the
/// privacy officer's page both call this before the bundle leaves).
pub fn record_request(
    store: &dyn Store,
    actor: &crate::audit::AuditActor,
    bundle: &SubjectAccessBundle,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let kind = if bundle.identity.is_child {
        "child"
    } else {
        "person"
    };
    crate::audit::record(
        store,
        actor,
        SUBJECT_ACCESS_ACTION,
        &format!("{kind}:{}", bundle.person_id),
        &format!("{SUBJECT_ACCESS_ACTION}: {}", bundle.reason),
        "ok",
        now,
    )
}

/// What to disclose in whose bundle, and why.
#[derive(Debug, Clone, Copy)]
pub struct UnredactRequest<'a> {
    /// The data subject.
    pub person_id: &'a str,
    /// `agency/record_id#ref`.
    pub item: &'a str,
    /// Why, in a sentence.
    pub reason: &'a str,
}

/// Discloses one third party (`item`, `agency/record_id#ref`) of one
/// record in `person_id`'s bundles, with a reason: audited first
/// ([`UNREDACT_ACTION`], the item and the reason), then stored; every
/// bundle produced afterwards shows them in that record and lists the
/// disclosure. Only a third party of a record that mentions the person
/// (and is not restricted) can be disclosed.
pub fn unredact(
    store: &dyn Store,
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    actor: &crate::audit::AuditActor,
    request: &UnredactRequest<'_>,
    now: DateTime<Utc>,
) -> Result<sightline_store::UnredactionRow, SarError> {
    let UnredactRequest {
        person_id,
        item: item_key,
        reason,
    } = *request;
    let reason = check_reason(reason)?;
    if !facts.contains_key(person_id) {
        return Err(SarError::UnknownPerson);
    }
    let item = SarItem::parse(item_key).ok_or(SarError::UnknownItem)?;
    if !items(store, linked, person_id)?
        .iter()
        .any(|view| view.item == item)
    {
        return Err(SarError::UnknownItem);
    }
    crate::audit::record(
        store,
        actor,
        UNREDACT_ACTION,
        &resource_key(facts, person_id),
        &format!("{UNREDACT_ACTION} {}: {reason}", item.key()),
        "ok",
        now,
    )?;
    Ok(store
        .access()
        .append_unredaction(&sightline_store::NewUnredaction {
            at_us: crate::to_micros(now),
            person_id: person_id.to_owned(),
            agency: item.agency,
            record_id: item.record_id,
            person_ref: item.person_ref,
            reason,
            by_user_id: actor.user_id,
            by_username: actor.username.clone(),
        })?)
}

// ---- gathering ----

/// A stored version read for the bundle.
struct Version {
    agency: String,
    record_id: String,
    version: i64,
    kind: String,
    occurred_at: String,
    received_at_us: i64,
    body: Value,
}

/// Gathers the bundle for `person_id` from the linked log and the store.
/// `None` person: [`SarError::UnknownPerson`].
pub fn gather(
    store: &dyn Store,
    linked: &LinkedRecords,
    facts: &BTreeMap<String, PersonFacts>,
    person_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<SubjectAccessBundle, SarError> {
    let reason = check_reason(reason)?;
    // A record its agency restricted is withheld from the bundle whatever the
    // roles it names: the bundle goes to the data subject.
    let restricted = crate::controls::restrictions_by_record(store)?;
    let withheld_records = crate::controls::Withheld::of_records(restricted.keys().cloned());
    let Some(detail) = person_detail(store, linked, person_id)? else {
        return Err(SarError::UnknownPerson);
    };
    let detail = detail.without(&withheld_records);
    // The subject's refs in each record (any version linkage holds), and the
    // children they are linked to (other persons of their records).
    let mut subject_refs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut linked_children: BTreeSet<String> = BTreeSet::new();
    for mention_idx in person_records(linked, person_id) {
        let Some(mention) = linked.mentions.get(mention_idx as usize).copied() else {
            continue;
        };
        let Some(loaded) = linked.records.get(mention.record_idx) else {
            continue;
        };
        subject_refs
            .entry(record_key(&loaded.record))
            .or_default()
            .insert(linked.person_of(mention).person_ref.clone());
        for person_idx in 0..loaded.record.persons.len() {
            let other = linked.person_id(mention.record_idx, person_idx);
            if other != person_id && facts.get(other).is_some_and(|facts| facts.is_child) {
                linked_children.insert(other.to_owned());
            }
        }
    }
    // Every stored version of those records, but the restricted ones.
    let mut versions = Vec::new();
    let mut withheld = Vec::new();
    for (agency, record_id) in subject_refs.keys() {
        if let Some(restriction) = restricted.get(&(agency.clone(), record_id.clone())) {
            withheld.push(SarWithheld {
                agency: agency.clone(),
                record_id: record_id.clone(),
                category: crate::controls::RESTRICTION_CATEGORY.to_owned(),
                restricted_at: crate::from_micros(restriction.event.at_us),
            });
            continue;
        }
        for stored in store.record_versions(agency, record_id)? {
            let body = serde_json::from_str::<Value>(&stored.body).map_err(|_| SarError::Body {
                agency: stored.agency.clone(),
                record_id: stored.record_id.clone(),
                version: stored.version,
            })?;
            versions.push(Version {
                agency: stored.agency,
                record_id: stored.record_id,
                version: stored.version,
                kind: stored.kind,
                occurred_at: stored.occurred_at,
                received_at_us: stored.received_at_us,
                body,
            });
        }
    }
    // The subject's values and the third parties' values, over all versions.
    let mut subject_values = BTreeSet::new();
    let mut third_party_values = BTreeSet::new();
    for version in &versions {
        let refs = subject_refs.get(&(version.agency.clone(), version.record_id.clone()));
        for person in version
            .body
            .get("persons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let is_subject = person
                .get("ref")
                .and_then(Value::as_str)
                .is_some_and(|person_ref| refs.is_some_and(|refs| refs.contains(person_ref)));
            let values = person_values(person);
            if is_subject {
                subject_values.extend(values);
            } else {
                third_party_values.extend(values);
            }
        }
    }
    let scrubber = Scrubber::new(&third_party_values, &subject_values);
    // The third parties the privacy officer disclosed, by record: their
    // details stay in that record (every version), and only there.
    let mut disclosures = Vec::new();
    let mut disclosed: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for row in store.access().unredactions(person_id, UNREDACTIONS_MAX)? {
        let event = row.event;
        let key = (event.agency.clone(), event.record_id.clone());
        if !subject_refs.contains_key(&key) || restricted.contains_key(&key) {
            continue;
        }
        let at = crate::from_micros(event.at_us);
        let item = SarItem {
            agency: event.agency,
            record_id: event.record_id,
            person_ref: event.person_ref,
        };
        disclosures.push(SarDisclosure {
            item: item.key(),
            reason: event.reason,
            by: event.by_username,
            at,
            in_words: date_time(at),
        });
        disclosed.entry(key).or_default().insert(item.person_ref);
    }
    let mut scrubbers: BTreeMap<(String, String), Scrubber> = BTreeMap::new();
    for (key, disclosed_refs) in &disclosed {
        let mut kept = subject_values.clone();
        for version in versions
            .iter()
            .filter(|version| version.agency == key.0 && version.record_id == key.1)
        {
            for person in version
                .body
                .get("persons")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if person
                    .get("ref")
                    .and_then(Value::as_str)
                    .is_some_and(|person_ref| disclosed_refs.contains(person_ref))
                {
                    kept.extend(person_values(person));
                }
            }
        }
        scrubbers.insert(key.clone(), Scrubber::new(&third_party_values, &kept));
    }
    let no_refs = BTreeSet::new();
    let records: Vec<SarRecord> = versions
        .iter()
        .map(|version| {
            let key = (version.agency.clone(), version.record_id.clone());
            let refs = subject_refs.get(&key).unwrap_or(&no_refs);
            let disclosed_refs = disclosed.get(&key).unwrap_or(&no_refs);
            let shown_refs: BTreeSet<String> = refs.union(disclosed_refs).cloned().collect();
            let record_scrubber = scrubbers.get(&key).unwrap_or(&scrubber);
            let persons = version
                .body
                .get("persons")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let role_of = |person: &Value| {
                person
                    .get("role")
                    .and_then(Value::as_str)
                    .unwrap_or("other")
                    .to_owned()
            };
            let ref_of = |person: &Value| {
                person
                    .get("ref")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let subject_roles = persons
                .iter()
                .filter(|person| refs.contains(&ref_of(person)))
                .map(role_of)
                .collect();
            let third_parties = persons
                .iter()
                .filter(|person| !refs.contains(&ref_of(person)))
                .map(|person| {
                    let person_ref = scrubber.scrub(&ref_of(person));
                    let is_disclosed = disclosed_refs.contains(&ref_of(person));
                    let described = if is_disclosed {
                        format!(
                            "{} {} (disclosed by the privacy officer)",
                            role_words(&role_of(person)),
                            name_of(person)
                        )
                    } else {
                        format!("{} {REDACTED}", role_words(&role_of(person)))
                    };
                    ThirdParty {
                        item: SarItem {
                            agency: version.agency.clone(),
                            record_id: version.record_id.clone(),
                            person_ref: person_ref.clone(),
                        }
                        .key(),
                        person_ref,
                        role: role_of(person),
                        described,
                        disclosed: is_disclosed,
                    }
                })
                .collect();
            let received_at = crate::from_micros(version.received_at_us);
            SarRecord {
                agency: version.agency.clone(),
                record_id: version.record_id.clone(),
                version: version.version,
                kind: version.kind.clone(),
                occurred_at: version.occurred_at.clone(),
                received_at,
                received_in_words: date_of(received_at),
                subject_roles,
                third_parties,
                body: redact_body(&version.body, &shown_refs, record_scrubber),
            }
        })
        .collect();

    // Alerts: about them, about their linked children, citing their records.
    let mut alert_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut alerts_truncated = false;
    let mut about = vec![(person_id.to_owned(), "about them")];
    about.extend(
        linked_children
            .iter()
            .map(|child| (child.clone(), "about a child linked to them")),
    );
    for (child, why) in about {
        let rows = store.alerts().list(&AlertFilter {
            child_id: Some(child),
            limit: ALERTS_PER_QUERY,
            ..AlertFilter::default()
        })?;
        alerts_truncated |= rows.len() >= ALERTS_PER_QUERY as usize;
        for row in rows {
            alert_ids.entry(row.id).or_insert_with(|| why.to_owned());
        }
    }
    for (agency, record_id) in subject_refs.keys() {
        let citing = store
            .access()
            .alerts_citing(agency, record_id, ALERTS_PER_QUERY)?;
        alerts_truncated |= citing.len() >= ALERTS_PER_QUERY as usize;
        for alert in citing {
            alert_ids
                .entry(alert.alert_id)
                .or_insert_with(|| "cites their record".to_owned());
        }
    }
    let mut alerts = Vec::new();
    for (alert_id, why) in alert_ids {
        let Some(row) = store.alerts().get(&alert_id)? else {
            continue;
        };
        let evidence = store
            .alerts()
            .evidence(&alert_id)?
            .into_iter()
            .map(|row| {
                if withheld_records.contains(&row.agency, &row.record_id) {
                    "a restricted record".to_owned()
                } else {
                    format!("{}/{} version {}", row.agency, row.record_id, row.version)
                }
            })
            .collect();
        let history = store
            .alerts()
            .events(&alert_id)?
            .into_iter()
            .map(|event| {
                let at = crate::from_micros(event.at_us);
                SarAlertEvent {
                    at,
                    in_words: date_time(at),
                    kind: event.kind,
                    actor: event.actor,
                    decision: event.decision,
                    reason: event.reason.map(|reason| scrubber.scrub(&reason)),
                }
            })
            .collect();
        let raised_at = crate::from_micros(row.raised_at_us);
        alerts.push(SarAlert {
            id: row.id,
            why_included: why,
            rule_id: row.rule_id,
            severity: row.severity,
            title: scrubber.scrub(&row.title),
            explanation: scrubber.scrub(&without_markup(&row.explanation)),
            status: row.status,
            raised_at,
            raised_in_words: date_of(raised_at),
            evidence,
            history,
        });
    }
    alerts.sort_by(|left, right| {
        left.raised_at
            .cmp(&right.raised_at)
            .then(left.id.cmp(&right.id))
    });

    // Who viewed: the person (as a child, or as a person) and their records.
    let mut keys: Vec<String> = subject_refs
        .keys()
        .map(|(agency, record_id)| format!("record:{agency}/{record_id}"))
        .collect();
    keys.push(format!("child:{person_id}"));
    keys.push(format!("person:{person_id}"));
    let (access, access_truncated) = audit_of(store, &keys)?;

    let mut linkage = SarLinkage {
        mentions: detail.mentions,
        mentions_truncated: detail.mentions_truncated,
        links: detail.links,
        links_truncated: detail.links_truncated,
        decisions: detail.decisions,
    };
    for decision in &mut linkage.decisions {
        decision.reason = scrubber.scrub(&decision.reason);
    }
    // The relational evidence names the people beside a mention.
    for link in &mut linkage.links {
        for field in &mut link.fields {
            field.level = scrubber.scrub(&field.level);
        }
    }
    Ok(SubjectAccessBundle {
        person_id: person_id.to_owned(),
        generated_at: now,
        generated_in_words: date_time(now),
        reason,
        identity: detail.identity,
        redaction: format!(
            "Other people in these records are third parties: their names, dates of birth, addresses, NHS numbers and agency ids are replaced by \"{REDACTED}\", in the records and in every free text, and only their part in the record is kept. The privacy officer may disclose one third party of one record, item by item, with a reason; each is listed under \"Third parties disclosed\"."
        ),
        disclosures,
        records,
        withheld,
        holds: crate::controls::hold_of(store, person_id)?
            .into_iter()
            .map(|hold| {
                let placed_at = crate::from_micros(hold.event.at_us);
                SarHold {
                    on: hold.event.target,
                    reason: scrubber.scrub(&hold.event.reason),
                    placed_at,
                    placed_in_words: date_of(placed_at),
                }
            })
            .collect(),
        linkage,
        alerts,
        alerts_truncated,
        access,
        access_truncated,
    })
}

/// The audit entries about `keys`, newest first, paged through (at most
/// [`SAR_AUDIT_ENTRIES_MAX`]).
fn audit_of(store: &dyn Store, keys: &[String]) -> Result<(Vec<SarAccess>, bool), StoreError> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(AUDIT_QUERY_KEYS_MAX) {
        let mut before_seq = None;
        loop {
            let page = store.access().audit_search(&AuditQuery {
                resource_keys: Some(chunk.to_vec()),
                before_seq,
                limit: sightline_store::AUDIT_READ_LIMIT_MAX,
                ..AuditQuery::default()
            })?;
            let full = page.len() >= sightline_store::AUDIT_READ_LIMIT_MAX as usize;
            before_seq = page.last().map(|row| row.seq);
            rows.extend(page);
            if !full || rows.len() >= SAR_AUDIT_ENTRIES_MAX {
                break;
            }
        }
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.seq));
    rows.dedup_by_key(|row| row.seq);
    let truncated = rows.len() > SAR_AUDIT_ENTRIES_MAX;
    rows.truncate(SAR_AUDIT_ENTRIES_MAX);
    let access = rows
        .into_iter()
        .map(|row| {
            let at = crate::from_micros(row.at_us);
            SarAccess {
                seq: row.seq,
                at,
                in_words: date_time(at),
                action_in_words: audit_action_label(&row.action),
                basis_in_words: audit_basis_label(&row.basis),
                outcome_in_words: audit_outcome_label(&row.outcome),
                username: row.actor_username,
                role: row.actor_role,
                agency: row.actor_agency,
                action: row.action,
                resource_key: row.resource_key,
            }
        })
        .collect();
    Ok((access, truncated))
}

// ---- the page ----

fn escape(text: &str) -> String {
    crate::views::xml_escape(text)
}

/// A record body's fields as rows (the persons, findings and the rest), for
/// the page: `(field, value)` in words.
fn body_rows(body: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let Some(members) = body.as_object() else {
        return rows;
    };
    for (name, member) in members {
        match name.as_str() {
            "source" | "kind" | "occurred_at" | "recorded_at" => {}
            "persons" => {
                for person in member.as_array().into_iter().flatten() {
                    let Some(fields) = person.as_object() else {
                        continue;
                    };
                    let text = fields
                        .iter()
                        .filter(|(field, _)| field.as_str() != "ref")
                        .map(|(field, value)| {
                            format!("{}: {}", field.replace('_', " "), plain(value))
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    rows.push(("person".to_owned(), text));
                }
            }
            other => rows.push((other.replace('_', " "), plain(member))),
        }
    }
    rows
}

/// A JSON value as plain text.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(members) => members
            .iter()
            .map(|(name, member)| format!("{} {}", name.replace('_', " "), plain(member)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The bundle's stylesheet: readable on a screen down to 320 px wide (tables
/// become one cell a line, each under its column's name) and clean in print.
pub const PRINT_CSS: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#111;overflow-wrap:break-word}\
table{border-collapse:collapse;width:100%;margin:0.5rem 0 1.5rem}\
caption{text-align:left;font-weight:bold;padding:0.25rem 0}\
th,td{border:1px solid #555;padding:0.25rem 0.5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#eee}\
table.rows th{width:9rem;overflow-wrap:normal}\
@media screen and (max-width:40em){h1{font-size:1.5rem}\
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}\
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%;box-sizing:border-box}\
table.stack tr{border-bottom:2px solid #555;padding:0.25rem 0}\
table.stack td{border:0}\
table.stack td[data-label]::before{content:attr(data-label);display:block;font-weight:bold}\
table.rows th,table.rows td{display:block;width:100%;box-sizing:border-box}table.rows th{width:100%}}\
@media print{body{max-width:none;margin:0}h2{break-before:page}table,tr{break-inside:avoid}a{color:inherit;text-decoration:none}}";

/// How the bundle's page gets its stylesheet.
#[derive(Debug, Clone, Copy)]
pub enum Stylesheet<'a> {
    /// Inside the page (a file that stands alone: `sightline sar`).
    Inline,
    /// A link to this path (the web, whose CSP allows no inline style).
    Linked(&'a str),
}

/// A table row of `cells`, each `td` with its column's name for narrow screens.
fn labelled_row(cells: &[(&str, &str)]) -> String {
    let mut row = String::from("<tr>");
    for (label, value) in cells {
        row.push_str(&format!(
            "<td data-label=\"{}\">{}</td>",
            escape(label),
            escape(value)
        ));
    }
    row.push_str("</tr>\n");
    row
}

/// The opening of a table that stacks on narrow screens, with its caption
/// and column headers.
fn stacked_table(caption: &str, columns: &[&str]) -> String {
    let headers: String = columns
        .iter()
        .map(|column| format!("<th scope=\"col\">{}</th>", escape(column)))
        .collect();
    format!(
        "<table class=\"stack\">\n<caption>{}</caption>\n<thead><tr>{headers}</tr></thead>\n<tbody>\n",
        escape(caption)
    )
}

/// The bundle as one HTML page: semantic headings, tables with captions,
/// print CSS inside the page, no scripts; every value escaped.
pub fn render_html(bundle: &SubjectAccessBundle) -> String {
    render_html_with(bundle, Stylesheet::Inline)
}

/// The bundle as one HTML page with its stylesheet as given: the one
/// renderer of the CLI's file and the privacy officer's page.
pub fn render_html_with(bundle: &SubjectAccessBundle, stylesheet: Stylesheet<'_>) -> String {
    let style = match stylesheet {
        Stylesheet::Inline => format!("<style>{PRINT_CSS}</style>"),
        Stylesheet::Linked(href) => format!("<link rel=\"stylesheet\" href=\"{}\">", escape(href)),
    };
    let mut page = String::new();
    let mut push = |text: &str| page.push_str(text);
    push("<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n");
    push("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    push(&format!(
        "<title>Subject access: person {}</title>\n{style}\n</head>\n<body>\n<main>\n",
        escape(&bundle.person_id)
    ));
    push(&format!(
        "<h1>Subject access: what Sightline holds about person {}</h1>\n",
        escape(&bundle.person_id)
    ));
    push(&format!(
        "<p>Prepared on {}. Reason recorded: {}</p>\n<p>{}</p>\n",
        escape(&bundle.generated_in_words),
        escape(&bundle.reason),
        escape(&bundle.redaction)
    ));
    push(&format!(
        "<p>In summary: {}.</p>\n",
        escape(&bundle.summary())
    ));

    let identity = &bundle.identity;
    push(
        "<h2 id=\"identity\">Who this is about</h2>\n<table class=\"rows\">\n<caption>The person as the agencies recorded them most often</caption>\n<tbody>\n",
    );
    let dob_words = identity
        .dob
        .as_deref()
        .map(dob_in_words)
        .unwrap_or_default();
    for (field, value) in [
        (
            "Given names",
            identity.given_names.clone().unwrap_or_default(),
        ),
        (
            "Family name",
            identity.family_name.clone().unwrap_or_default(),
        ),
        ("Date of birth", dob_words),
        ("Sex", identity.sex.clone().unwrap_or_default()),
        (
            "NHS number",
            identity.nhs_number.clone().unwrap_or_default(),
        ),
        (
            "Child",
            if identity.is_child { "yes" } else { "no" }.to_owned(),
        ),
    ] {
        push(&format!(
            "<tr><th scope=\"row\">{field}</th><td>{}</td></tr>\n",
            escape(&value)
        ));
    }
    push("</tbody>\n</table>\n");

    push("<h2 id=\"records\">Records that mention them</h2>\n");
    if bundle.records.is_empty() {
        push("<p>None.</p>\n");
    }
    for record in &bundle.records {
        push(&format!(
            "<section>\n<h3>{} record {}, version {}</h3>\n",
            escape(&record.agency),
            escape(&record.record_id),
            record.version
        ));
        push(&format!(
            "<table class=\"rows\">\n<caption>{}: {} (received on {})</caption>\n<tbody>\n",
            escape(&record.kind.replace(['.', '_'], " ")),
            escape(&occurred_in_words(&record.occurred_at)),
            escape(&record.received_in_words)
        ));
        push(&format!(
            "<tr><th scope=\"row\">their part</th><td>{}</td></tr>\n",
            escape(&record.subject_roles.join(", "))
        ));
        for third_party in &record.third_parties {
            push(&format!(
                "<tr><th scope=\"row\">other person</th><td>{} <span class=\"item\">(item {})</span></td></tr>\n",
                escape(&third_party.described),
                escape(&third_party.item)
            ));
        }
        for (field, value) in body_rows(&record.body) {
            push(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
                escape(&field),
                escape(&value)
            ));
        }
        push("</tbody>\n</table>\n</section>\n");
    }

    if !bundle.disclosures.is_empty() {
        push(
            "<h2 id=\"disclosures\">Third parties disclosed</h2>\n<p>The privacy officer decided to show these people's details in one record each, for the reason given.</p>\n",
        );
        push(&stacked_table(
            "Third parties disclosed, and why",
            &["Item", "Why", "By", "When"],
        ));
        for disclosure in &bundle.disclosures {
            push(&labelled_row(&[
                ("Item", &disclosure.item),
                ("Why", &disclosure.reason),
                ("By", &disclosure.by),
                ("When", &disclosure.in_words),
            ]));
        }
        push("</tbody>\n</table>\n");
    }
    if !bundle.withheld.is_empty() {
        push(
            "<h2 id=\"withheld\">Records withheld</h2>\n<p>These records mention them but are not shown: the agency that holds each restricted it.</p>\n",
        );
        push(&stacked_table(
            "Records withheld, and why",
            &["Agency", "Record", "Why"],
        ));
        for withheld in &bundle.withheld {
            push(&labelled_row(&[
                ("Agency", &withheld.agency),
                ("Record", &withheld.record_id),
                ("Why", &withheld.category),
            ]));
        }
        push("</tbody>\n</table>\n");
    }
    if !bundle.holds.is_empty() {
        push("<h2 id=\"holds\">Legal holds</h2>\n");
        push(&stacked_table(
            "Holds in force: their data is kept until each is released",
            &["Placed on", "Why"],
        ));
        for hold in &bundle.holds {
            push(&labelled_row(&[
                ("Placed on", &hold.placed_in_words),
                ("Why", &hold.reason),
            ]));
        }
        push("</tbody>\n</table>\n");
    }

    push("<h2 id=\"linkage\">How their records were joined</h2>\n");
    push(
        "<p>Sightline joins records from different agencies that it judges to be about the same person. Each link below shows how much each field counted for (+) or against (-) the match.</p>\n",
    );
    push(&stacked_table(
        "Links between their mentions",
        &["Mention", "Joined to", "How", "Evidence", "Probability"],
    ));
    for link in &bundle.linkage.links {
        let evidence = link
            .fields
            .iter()
            .map(|field| format!("{} {} ({:+.1})", field.field, field.level, field.weight))
            .collect::<Vec<_>>()
            .join("; ");
        push(&labelled_row(&[
            ("Mention", &link.left),
            ("Joined to", &link.right),
            ("How", link.decided_by.as_deref().unwrap_or(&link.kind)),
            ("Evidence", &evidence),
            (
                "Probability",
                &format!("{:.1}%", link.match_probability * 100.0),
            ),
        ]));
    }
    push("</tbody>\n</table>\n");
    push(&stacked_table(
        "People's decisions about their mentions",
        &["When", "Who", "Mentions", "Decision", "Reason"],
    ));
    for decision in &bundle.linkage.decisions {
        push(&labelled_row(&[
            ("When", &date_time(decision.at)),
            ("Who", &decision.actor),
            (
                "Mentions",
                &format!("{} and {}", decision.left, decision.right),
            ),
            ("Decision", &decision.verdict.replace('_', " ")),
            ("Reason", &decision.reason),
        ]));
    }
    push("</tbody>\n</table>\n");

    push("<h2 id=\"alerts\">Alerts</h2>\n");
    if bundle.alerts.is_empty() {
        push("<p>None.</p>\n");
    }
    for alert in &bundle.alerts {
        push(&format!(
            "<section>\n<h3>{} ({} severity), raised on {}</h3>\n<p>{}. Status: {}. {}</p>\n<p>Records it rests on: {}.</p>\n",
            escape(&alert.title),
            escape(&alert.severity),
            escape(&alert.raised_in_words),
            escape(&capitalised(&alert.why_included)),
            escape(&alert.status),
            escape(&alert.explanation),
            escape(&alert.evidence.join(", "))
        ));
        push(&stacked_table(
            "What happened to this alert",
            &["When", "What", "Who", "Decision", "Reason"],
        ));
        for event in &alert.history {
            push(&labelled_row(&[
                ("When", &event.in_words),
                ("What", &event.kind.replace('_', " ")),
                ("Who", event.actor.as_deref().unwrap_or("Sightline")),
                (
                    "Decision",
                    &event
                        .decision
                        .as_deref()
                        .unwrap_or_default()
                        .replace('_', " "),
                ),
                ("Reason", event.reason.as_deref().unwrap_or_default()),
            ]));
        }
        push("</tbody>\n</table>\n</section>\n");
    }

    push("<h2 id=\"access\">Who viewed their data and why</h2>\n");
    push(&stacked_table(
        "Each time someone read or acted on their data, newest first",
        &["When", "Who", "What", "Which", "Why allowed", "Outcome"],
    ));
    for entry in &bundle.access {
        push(&labelled_row(&[
            ("When", &entry.in_words),
            (
                "Who",
                &format!(
                    "{} ({}, {})",
                    entry.username,
                    entry.role.replace('_', " "),
                    entry.agency
                ),
            ),
            ("What", &entry.action_in_words),
            ("Which", &entry.resource_key),
            ("Why allowed", &entry.basis_in_words),
            ("Outcome", &entry.outcome_in_words),
        ]));
    }
    push("</tbody>\n</table>\n");
    if bundle.access_truncated || bundle.alerts_truncated || bundle.linkage.links_truncated {
        push("<p>Some lists were cut at their limits; sar.json says which.</p>\n");
    }
    push("</main>\n</body>\n</html>\n");
    page
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `2006-03-01` -> "1 March 2006"; `2006-03` -> "March 2006"; otherwise as given.
fn dob_in_words(text: &str) -> String {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return sightline_core::dates::date(day);
    }
    if let Some((year, month)) = text.split_once('-')
        && let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>())
    {
        return sightline_core::dates::month(year, month);
    }
    text.to_owned()
}

/// An interchange `occurred_at` (an instant, a date or a month) in words.
fn occurred_in_words(text: &str) -> String {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return date_time(instant.with_timezone(&Utc));
    }
    dob_in_words(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_scrub(third: &[&str], subject: &[&str], text: &str, expected: &str) {
        let third = third.iter().map(|value| (*value).to_owned()).collect();
        let subject = subject.iter().map(|value| (*value).to_owned()).collect();
        assert_eq!(Scrubber::new(&third, &subject).scrub(text), expected);
    }

    #[test]
    fn free_text_loses_third_parties_as_whole_words_only() {
        let r = REDACTED;
        check_scrub(
            &["Jason"],
            &[],
            "Jason came home",
            &format!("{r} came home"),
        );
        check_scrub(
            &["jason"],
            &[],
            "JASON and Jasonville",
            &format!("{r} and Jasonville"),
        );
        check_scrub(&["Ann"], &[], "Anne saw Ann.", &format!("Anne saw {r}."));
        check_scrub(
            &["943 476 5919"],
            &[],
            "NHS 943 476 5919!",
            &format!("NHS {r}!"),
        );
        check_scrub(&["1981-09-20"], &[], "on 1981-09-20T10", "on 1981-09-20T10");
        // A value the subject shares (a family name) stays.
        check_scrub(
            &["Tina", "Marsh"],
            &["Marsh"],
            "Tina Marsh",
            &format!("{r} Marsh"),
        );
        // One letter is no needle; non-ASCII text survives.
        check_scrub(&["J", "Zoë"], &[], "J. Zoë, Zoëy", &format!("J. {r}, Zoëy"));
        check_scrub(&["Owen"], &[], "", "");
    }

    #[test]
    fn a_record_keeps_the_subject_and_roles_and_redacts_everyone_else() {
        let body = json!({
            "source": {"agency": "north-general-ed", "record_id": "ED-1", "version": 1},
            "kind": "health.ed_attendance",
            "persons": [
                {"ref": "c", "role": "subject", "given_names": "Leo", "family_name": "Marsh",
                 "dob": "2006-03-01", "nhs_number": "943 476 5919",
                 "address": {"lines": ["12 Example Road"], "postcode": "N17 6AA"}},
                {"ref": "nok", "role": "other", "given_names": "Jason", "family_name": "Owen",
                 "dob": "1979-02-03", "nhs_number": "401 023 2137", "source_person_id": "P-9",
                 "aliases": ["Jay Owen"], "sex": "male",
                 "address": {"lines": ["4 Far Lane"], "postcode": "E1 6AN"}}
            ],
            "findings": [{"code": "injury", "explanation": "Jason says Leo fell"}],
            "relationships": [{"from": "nok", "to": "c", "type": "carer_of"}],
            "narrative": "Next of kin Jason Owen (DOB 1979-02-03, NHS 4010232137) of E1 6AN, 4 Far Lane."
        });
        let persons = body["persons"].as_array().unwrap();
        let subject_values: BTreeSet<String> = person_values(&persons[0]).into_iter().collect();
        let third_values: BTreeSet<String> = person_values(&persons[1]).into_iter().collect();
        let scrubber = Scrubber::new(&third_values, &subject_values);
        let refs = BTreeSet::from(["c".to_owned()]);
        let redacted = redact_body(&body, &refs, &scrubber);
        let text = redacted.to_string();
        for leaked in [
            "Jason",
            "Owen",
            "Jay",
            "1979-02-03",
            "401 023 2137",
            "4010232137",
            "P-9",
            "E1 6AN",
            "Far Lane",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        for kept in [
            "Leo",
            "Marsh",
            "2006-03-01",
            "943 476 5919",
            "N17 6AA",
            "\"nok\"",
            "\"other\"",
            "\"male\"",
            "carer_of",
            "north-general-ed",
        ] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
        assert_eq!(redacted["persons"][1]["given_names"], REDACTED);
        assert_eq!(redacted["persons"][1]["address"], REDACTED);
        assert_eq!(
            redacted["findings"][0]["explanation"],
            format!("{REDACTED} says Leo fell")
        );
        // The subject's own record is unchanged.
        assert_eq!(redacted["persons"][0], body["persons"][0]);
    }

    #[test]
    fn a_reason_must_be_a_sentence() {
        assert!(check_reason("too short").is_err());
        assert!(check_reason("Subject access request received 1 December\u{1b}[2J").is_err());
        assert_eq!(
            check_reason("  Subject access request received on 1 December by letter. ").unwrap(),
            "Subject access request received on 1 December by letter."
        );
    }

    #[test]
    fn alert_markup_reads_as_plain_ids() {
        assert_eq!(
            without_markup("seen by ⟦agency:ed-riverside⟧ and ⟦agency:gp-3⟧."),
            "seen by ed-riverside and gp-3."
        );
        assert_eq!(without_markup("open ⟦agency:x"), "open ⟦agency:x");
    }

    #[test]
    fn dates_read_in_words() {
        assert_eq!(dob_in_words("2006-03-01"), "1 March 2006");
        assert_eq!(dob_in_words("2006-03"), "March 2006");
        assert_eq!(dob_in_words("unknown"), "unknown");
    }
}
