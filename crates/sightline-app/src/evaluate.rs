//! Quality of the picture against a synthetic region's ground truth: linkage
//! (predicted persons against true persons) and early warning (alerts against
//! harm trajectories). Pure: texts and values in, a report out; the CLI reads the
//! files and the log.
//!
//! Invariant: every share in a report is in [0, 1]; every count adds up (a
//! mention is scored once; an alert is either on a trajectory child, on another
//! child of a trajectory household, on a child in no trajectory, or on a person
//! who is not truly a child).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sightline_rules::Severity;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Days within which a trajectory should raise a high alert (issue 5).
pub const ALERT_WITHIN_DAYS: f64 = 14.0;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TruthError {
    #[error("{file}: line {line}: {message}")]
    Line {
        file: &'static str,
        line: usize,
        message: String,
    },
    #[error("{file}: no column {column:?} in the header")]
    MissingColumn {
        file: &'static str,
        column: &'static str,
    },
    #[error("{file}: {message}")]
    File { file: &'static str, message: String },
}

/// A person of the region as the generator knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruePerson {
    pub id: String,
    pub dob: Option<NaiveDate>,
    pub is_child: bool,
    pub given_names: String,
    pub family_name: String,
    pub household_id: String,
}

/// A harm trajectory: a child, an archetype and the first record that should alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trajectory {
    pub id: String,
    pub person_id: String,
    pub archetype: String,
    pub start: NaiveDate,
    pub first_alert_agency: String,
    pub first_alert_record_id: String,
    pub first_alert_occurred_at: DateTime<Utc>,
    pub household_id: String,
}

/// The ground truth of a synthetic region.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// `(agency, record_id, ref)` -> true person id.
    pub mentions: HashMap<(String, String, String), String>,
    pub persons: BTreeMap<String, TruePerson>,
    /// Household id -> everyone who ever lived in it.
    pub household_members: BTreeMap<String, BTreeSet<String>>,
    pub trajectories: Vec<Trajectory>,
    /// Months lived by children in the region over the period.
    pub child_months: f64,
}

/// One CSV line split into fields (RFC 4180 quoting; no line breaks in fields).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(char) = chars.next() {
        match (quoted, char) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, other) => field.push(other),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, other) => field.push(other),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

/// A CSV text with a header row, read into rows of named columns.
struct Table {
    file: &'static str,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn parse(file: &'static str, text: &str, wanted: &[&'static str]) -> Result<Self, TruthError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.is_empty());
        let (_, header) = lines.next().ok_or(TruthError::File {
            file,
            message: "empty file".to_owned(),
        })?;
        let header = csv_fields(header).map_err(|message| TruthError::Line {
            file,
            line: 1,
            message,
        })?;
        let columns = wanted
            .iter()
            .map(|column| {
                header
                    .iter()
                    .position(|name| name.trim() == *column)
                    .ok_or(TruthError::MissingColumn { file, column })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows = Vec::new();
        for (line_idx, line) in lines {
            let fields = csv_fields(line).map_err(|message| TruthError::Line {
                file,
                line: line_idx + 1,
                message,
            })?;
            let picked = columns
                .iter()
                .map(|&column| fields.get(column).cloned())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| TruthError::Line {
                    file,
                    line: line_idx + 1,
                    message: format!("{} fields, fewer than the header's", fields.len()),
                })?;
            rows.push((line_idx + 1, picked));
        }
        Ok(Table { file, rows })
    }

    fn error(&self, line: usize, message: String) -> TruthError {
        TruthError::Line {
            file: self.file,
            line,
            message,
        }
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// A date or an RFC 3339 instant (a date means its start, UTC).
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    Some(parse_date(text)?.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The texts of a region's `truth/` files.
pub struct TruthFiles<'a> {
    pub mentions_csv: &'a str,
    pub persons_csv: &'a str,
    pub households_csv: &'a str,
    pub trajectories_csv: &'a str,
    pub summary_json: &'a str,
}

impl Truth {
    pub fn parse(files: &TruthFiles<'_>) -> Result<Self, TruthError> {
        let mut truth = Truth::default();
        let mentions = Table::parse(
            "mentions.csv",
            files.mentions_csv,
            &["agency", "record_id", "ref", "true_person_id"],
        )?;
        for (_, row) in mentions.rows {
            let [agency, record_id, person_ref, person_id] =
                <[String; 4]>::try_from(row).unwrap_or_default();
            truth
                .mentions
                .insert((agency, record_id, person_ref), person_id);
        }
        let persons = Table::parse(
            "persons.csv",
            files.persons_csv,
            &[
                "true_person_id",
                "dob",
                "is_child",
                "given_names",
                "family_name",
                "household_id",
            ],
        )?;
        for (line, row) in &persons.rows {
            let [id, dob, is_child, given_names, family_name, household_id] =
                <[String; 6]>::try_from(row.clone()).unwrap_or_default();
            let is_child = match is_child.as_str() {
                "true" => true,
                "false" => false,
                other => return Err(persons.error(*line, format!("is_child {other:?}"))),
            };
            truth
                .household_members
                .entry(household_id.clone())
                .or_default()
                .insert(id.clone());
            truth.persons.insert(
                id.clone(),
                TruePerson {
                    id,
                    dob: parse_date(&dob),
                    is_child,
                    given_names,
                    family_name,
                    household_id,
                },
            );
        }
        let households = Table::parse(
            "households.csv",
            files.households_csv,
            &["household_id", "person_id"],
        )?;
        for (_, row) in households.rows {
            let [household_id, person_id] = <[String; 2]>::try_from(row).unwrap_or_default();
            truth
                .household_members
                .entry(household_id)
                .or_default()
                .insert(person_id);
        }
        let trajectories = Table::parse(
            "trajectories.csv",
            files.trajectories_csv,
            &[
                "trajectory_id",
                "true_person_id",
                "archetype",
                "start",
                "first_alert_agency",
                "first_alert_record_id",
                "first_alert_occurred_at",
                "household_id",
            ],
        )?;
        for (line, row) in &trajectories.rows {
            let [
                id,
                person_id,
                archetype,
                start,
                agency,
                record_id,
                occurred_at,
                household_id,
            ] = <[String; 8]>::try_from(row.clone()).unwrap_or_default();
            let start = parse_date(&start)
                .ok_or_else(|| trajectories.error(*line, format!("start {start:?}")))?;
            let first_alert_occurred_at = parse_instant(&occurred_at).ok_or_else(|| {
                trajectories.error(*line, format!("first_alert_occurred_at {occurred_at:?}"))
            })?;
            truth.trajectories.push(Trajectory {
                id,
                person_id,
                archetype,
                start,
                first_alert_agency: agency,
                first_alert_record_id: record_id,
                first_alert_occurred_at,
                household_id,
            });
        }
        truth.child_months = child_months_from_summary(files.summary_json)?;
        Ok(truth)
    }

    fn same_household(&self, a: &str, b: &str) -> bool {
        self.household_members
            .values()
            .any(|members| members.contains(a) && members.contains(b))
    }
}

/// Child-months lived in the region: the summary's child-years by age band, times 12.
fn child_months_from_summary(text: &str) -> Result<f64, TruthError> {
    let file = "summary.json";
    let summary: serde_json::Value =
        serde_json::from_str(text).map_err(|error| TruthError::File {
            file,
            message: error.to_string(),
        })?;
    let bands = summary
        .get("child_years_by_age_band")
        .and_then(serde_json::Value::as_object)
        .ok_or(TruthError::MissingColumn {
            file,
            column: "child_years_by_age_band",
        })?;
    let years: f64 = bands.values().filter_map(serde_json::Value::as_f64).sum();
    Ok(years * 12.0)
}

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Scores {
    pub predicted: u64,
    pub actual: u64,
    pub true_positives: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Scores {
    fn new(predicted: u64, actual: u64, true_positives: u64) -> Self {
        let precision = share(true_positives, predicted, 1.0);
        let recall = share(true_positives, actual, 1.0);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Scores {
            predicted,
            actual,
            true_positives,
            precision,
            recall,
            f1,
        }
    }
}

fn share(part: u64, whole: u64, when_empty: f64) -> f64 {
    if whole == 0 {
        when_empty
    } else {
        part as f64 / whole as f64
    }
}

fn pairs_of(count: u64) -> u64 {
    count * count.saturating_sub(1) / 2
}

/// One person mention as linkage predicted it.
#[derive(Debug, Clone, Copy)]
pub struct PredictedMention<'a> {
    pub agency: &'a str,
    pub record_id: &'a str,
    pub person_ref: &'a str,
    pub person_id: &'a str,
}

/// What kind of look-alike a false merge glued together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// Two children of one household born on the same day.
    Twins,
    /// A parent and a child of one household sharing a first given name.
    ParentChildSameGivenName,
    /// Two members of one household sharing a family name.
    HouseholdSameSurname,
    /// Two members of one household with different family names.
    HouseholdOther,
    /// People of different households.
    Unrelated,
}

impl MergeKind {
    pub const ALL: [MergeKind; 5] = [
        MergeKind::Twins,
        MergeKind::ParentChildSameGivenName,
        MergeKind::HouseholdSameSurname,
        MergeKind::HouseholdOther,
        MergeKind::Unrelated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MergeKind::Twins => "twins",
            MergeKind::ParentChildSameGivenName => "parent_child_same_given_name",
            MergeKind::HouseholdSameSurname => "household_same_surname",
            MergeKind::HouseholdOther => "household_other",
            MergeKind::Unrelated => "unrelated",
        }
    }

    /// Household look-alikes: the errors issue 3 asks to tell apart.
    pub fn is_household_look_alike(self) -> bool {
        matches!(
            self,
            MergeKind::Twins
                | MergeKind::ParentChildSameGivenName
                | MergeKind::HouseholdSameSurname
        )
    }
}

fn first_given_name(person: &TruePerson) -> String {
    person
        .given_names
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase()
}

/// The look-alike kind of two different true persons.
pub fn merge_kind(truth: &Truth, a: &str, b: &str) -> MergeKind {
    let (Some(left), Some(right)) = (truth.persons.get(a), truth.persons.get(b)) else {
        return MergeKind::Unrelated;
    };
    if !truth.same_household(a, b) {
        return MergeKind::Unrelated;
    }
    if left.is_child && right.is_child && left.dob.is_some() && left.dob == right.dob {
        return MergeKind::Twins;
    }
    if left.is_child != right.is_child && first_given_name(left) == first_given_name(right) {
        return MergeKind::ParentChildSameGivenName;
    }
    if left.family_name.eq_ignore_ascii_case(&right.family_name) {
        return MergeKind::HouseholdSameSurname;
    }
    MergeKind::HouseholdOther
}

/// Linkage against `mentions.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct LinkageReport {
    pub mentions: u64,
    /// Mentions the truth does not know (left out of every number below).
    pub mentions_without_truth: u64,
    pub predicted_persons: u64,
    pub true_persons: u64,
    /// Over pairs of mentions: predicted same person vs truly the same person.
    pub pairs: Scores,
    /// Over persons: a predicted person is right when its mentions are exactly one
    /// true person's.
    pub clusters: Scores,
    /// Predicted persons with two or more mentions.
    pub multi_mention_persons: u64,
    /// Predicted persons holding two or more true persons.
    pub false_merges: u64,
    /// `false_merges / multi_mention_persons`.
    pub false_merge_rate: f64,
    /// False merges that hold a child and an adult.
    pub false_merges_child_adult: u64,
    /// False merges by the most alike pair they hold.
    pub false_merges_by_kind: BTreeMap<&'static str, u64>,
    /// Twins, parent and child sharing a given name, household members sharing a surname.
    pub false_merges_household_look_alikes: u64,
    /// True persons split over two or more predicted persons.
    pub split_persons: u64,
    /// `split_persons / true persons with two or more mentions`.
    pub split_rate: f64,
    /// Predicted person id -> the true person holding most of its mentions.
    #[serde(skip)]
    pub dominant_true_person: HashMap<String, String>,
}

/// Scores predicted persons against the truth.
pub fn evaluate_linkage<'a>(
    predicted: impl IntoIterator<Item = PredictedMention<'a>>,
    truth: &Truth,
) -> LinkageReport {
    // Contingency counts: (predicted, true) -> mentions.
    let mut joint: HashMap<(&'a str, &str), u64> = HashMap::new();
    let mut mentions = 0u64;
    let mut without_truth = 0u64;
    let mut key = (String::new(), String::new(), String::new());
    for mention in predicted {
        mentions += 1;
        key.0.clear();
        key.0.push_str(mention.agency);
        key.1.clear();
        key.1.push_str(mention.record_id);
        key.2.clear();
        key.2.push_str(mention.person_ref);
        match truth.mentions.get(&key) {
            Some(true_id) => {
                *joint
                    .entry((mention.person_id, true_id.as_str()))
                    .or_default() += 1
            }
            None => without_truth += 1,
        }
    }
    let mut predicted_sizes: HashMap<&str, u64> = HashMap::new();
    let mut true_sizes: HashMap<&str, u64> = HashMap::new();
    let mut true_of_predicted: HashMap<&str, Vec<(&str, u64)>> = HashMap::new();
    let mut predicted_of_true: HashMap<&str, u64> = HashMap::new();
    for (&(predicted_id, true_id), &count) in &joint {
        *predicted_sizes.entry(predicted_id).or_default() += count;
        *true_sizes.entry(true_id).or_default() += count;
        true_of_predicted
            .entry(predicted_id)
            .or_default()
            .push((true_id, count));
        *predicted_of_true.entry(true_id).or_default() += 1;
    }
    let true_positive_pairs: u64 = joint.values().map(|&count| pairs_of(count)).sum();
    let predicted_pairs: u64 = predicted_sizes.values().map(|&count| pairs_of(count)).sum();
    let actual_pairs: u64 = true_sizes.values().map(|&count| pairs_of(count)).sum();
    // A predicted person is exactly right when it holds one true person, all of them.
    let exact = true_of_predicted
        .values()
        .filter(|parts| {
            parts.len() == 1
                && parts
                    .first()
                    .is_some_and(|(true_id, count)| true_sizes.get(true_id) == Some(count))
        })
        .count() as u64;
    let mut false_merges = 0;
    let mut child_adult = 0;
    let mut by_kind: BTreeMap<&'static str, u64> = MergeKind::ALL
        .iter()
        .map(|kind| (kind.as_str(), 0))
        .collect();
    let mut look_alikes = 0;
    let mut dominant_true_person = HashMap::new();
    for (predicted_id, parts) in &mut true_of_predicted {
        parts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let Some(&(dominant, _)) = parts.first() else {
            continue;
        };
        dominant_true_person.insert((*predicted_id).to_owned(), dominant.to_owned());
        if parts.len() < 2 {
            continue;
        }
        false_merges += 1;
        let is_child = |id: &str| truth.persons.get(id).is_some_and(|person| person.is_child);
        if parts.iter().any(|(id, _)| is_child(id)) && parts.iter().any(|(id, _)| !is_child(id)) {
            child_adult += 1;
        }
        // The most alike pair names the merge: what most likely glued it.
        let kind = parts
            .iter()
            .skip(1)
            .map(|(other, _)| merge_kind(truth, dominant, other))
            .min()
            .unwrap_or(MergeKind::Unrelated);
        *by_kind.entry(kind.as_str()).or_default() += 1;
        if kind.is_household_look_alike() {
            look_alikes += 1;
        }
    }
    let multi_mention_persons = predicted_sizes.values().filter(|&&size| size >= 2).count() as u64;
    let multi_mention_true = true_sizes.values().filter(|&&size| size >= 2).count() as u64;
    let split_persons = predicted_of_true
        .values()
        .filter(|&&parts| parts >= 2)
        .count() as u64;
    LinkageReport {
        mentions,
        mentions_without_truth: without_truth,
        predicted_persons: predicted_sizes.len() as u64,
        true_persons: true_sizes.len() as u64,
        pairs: Scores::new(predicted_pairs, actual_pairs, true_positive_pairs),
        clusters: Scores::new(predicted_sizes.len() as u64, true_sizes.len() as u64, exact),
        multi_mention_persons,
        false_merges,
        false_merge_rate: share(false_merges, multi_mention_persons, 0.0),
        false_merges_child_adult: child_adult,
        false_merges_by_kind: by_kind,
        false_merges_household_look_alikes: look_alikes,
        split_persons,
        split_rate: share(split_persons, multi_mention_true, 0.0),
        dominant_true_person,
    }
}

/// An alert as the rules raised it, reduced to what the evaluation needs.
#[derive(Debug, Clone)]
pub struct AlertSummary<'a> {
    pub rule_id: &'a str,
    pub child_id: &'a str,
    pub severity: Severity,
    pub raised_at: DateTime<Utc>,
    /// The records the alert rests on: `(agency, record_id)`.
    pub evidence: Vec<(&'a str, &'a str)>,
}

fn is_high(severity: Severity) -> bool {
    severity >= Severity::High
}

/// How well trajectories of one group (all, one archetype, one rule) were alerted.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DetectionRow {
    pub trajectories: u64,
    /// Any alert (any severity) on the child from the trajectory's start.
    pub alerted_any: u64,
    /// Any alert within 14 days of the first alerting record.
    pub alerted_any_within_14_days: u64,
    /// A high or critical alert on the child from the trajectory's start.
    pub alerted_high: u64,
    /// A high or critical alert within 14 days of the first alerting record.
    pub alerted_high_within_14_days: u64,
    pub share_alerted_any: f64,
    pub share_any_within_14_days: f64,
    pub share_alerted_high: f64,
    pub share_within_14_days: f64,
    /// Days from the first alerting record to the first high alert (alerted only).
    pub days_median: Option<f64>,
    pub days_max: Option<f64>,
}

impl DetectionRow {
    fn add(&mut self, outcome: &TrajectoryOutcome) {
        self.trajectories += 1;
        self.alerted_any += u64::from(outcome.alerted_any);
        self.alerted_any_within_14_days += u64::from(
            outcome
                .days_to_any
                .is_some_and(|days| days <= ALERT_WITHIN_DAYS),
        );
        if let Some(days) = outcome.days_to_high {
            self.alerted_high += 1;
            self.alerted_high_within_14_days += u64::from(days <= ALERT_WITHIN_DAYS);
        }
    }

    fn finish(&mut self, days: &mut [f64]) {
        self.share_alerted_any = share(self.alerted_any, self.trajectories, 0.0);
        self.share_any_within_14_days =
            share(self.alerted_any_within_14_days, self.trajectories, 0.0);
        self.share_alerted_high = share(self.alerted_high, self.trajectories, 0.0);
        self.share_within_14_days = share(self.alerted_high_within_14_days, self.trajectories, 0.0);
        days.sort_by(f64::total_cmp);
        self.days_median = median(days);
        self.days_max = days.last().copied();
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0),
    }
}

/// One trajectory's fate.
#[derive(Debug, Clone, Serialize)]
pub struct TrajectoryOutcome {
    pub trajectory_id: String,
    pub archetype: String,
    /// When the first alerting record was recorded (its occurred time when the
    /// log does not hold it).
    pub first_alerting_record_at: DateTime<Utc>,
    pub alerted_any: bool,
    pub days_to_any: Option<f64>,
    pub first_high_rule: Option<String>,
    pub days_to_high: Option<f64>,
    /// Rules that raised a high or critical alert on the child from the start.
    pub high_rules: Vec<String>,
}

/// False alerts per rule.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RuleRow {
    pub detection: DetectionRow,
    /// High or critical alerts of this rule, on anyone.
    pub high_alerts: u64,
    /// High or critical alerts on children in no trajectory household.
    pub false_high_alerts: u64,
    pub false_high_per_1000_child_months: f64,
}

/// Early warning against `trajectories.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    pub child_months: f64,
    pub alerts: u64,
    pub high_alerts: u64,
    pub overall: DetectionRow,
    pub by_archetype: BTreeMap<String, DetectionRow>,
    pub by_rule: BTreeMap<String, RuleRow>,
    /// High or critical alerts on children who are in no trajectory and whose
    /// household carries none.
    pub false_high_alerts: u64,
    pub false_high_per_1000_child_months: f64,
    /// Children (true persons) with at least one false high or critical alert:
    /// how many families a false alert would reach.
    pub false_high_children: u64,
    /// High or critical alerts on other children of a trajectory's household
    /// (siblings): not counted as false.
    pub high_alerts_on_trajectory_siblings: u64,
    /// High or critical alerts on predicted children who are truly adults (a
    /// linkage or who-is-a-child error).
    pub high_alerts_on_adults: u64,
    pub trajectories: Vec<TrajectoryOutcome>,
}

/// Scores alerts against the trajectories. `dominant_true_person` maps predicted
/// person ids to true person ids (from [`evaluate_linkage`]);
/// `recorded_at_of` gives when a record `(agency, record_id)` was recorded.
pub fn evaluate_rules(
    alerts: &[AlertSummary<'_>],
    truth: &Truth,
    dominant_true_person: &HashMap<String, String>,
    recorded_at_of: &dyn Fn(&str, &str) -> Option<DateTime<Utc>>,
) -> RulesReport {
    let trajectory_children: HashSet<&str> = truth
        .trajectories
        .iter()
        .map(|trajectory| trajectory.person_id.as_str())
        .collect();
    let trajectory_household_members: HashSet<&str> = truth
        .trajectories
        .iter()
        .filter_map(|trajectory| truth.household_members.get(&trajectory.household_id))
        .flat_map(|members| members.iter().map(String::as_str))
        .collect();
    let true_of = |alert: &AlertSummary<'_>| dominant_true_person.get(alert.child_id);

    let mut by_rule: BTreeMap<String, RuleRow> = BTreeMap::new();
    let mut false_high = 0;
    let mut false_high_children: BTreeSet<&str> = BTreeSet::new();
    let mut siblings = 0;
    let mut on_adults = 0;
    let mut high_alerts = 0;
    for alert in alerts {
        let row = by_rule.entry(alert.rule_id.to_owned()).or_default();
        if !is_high(alert.severity) {
            continue;
        }
        high_alerts += 1;
        row.high_alerts += 1;
        let true_id = true_of(alert).map(String::as_str).unwrap_or("");
        let truly_child = truth
            .persons
            .get(true_id)
            .is_some_and(|person| person.is_child);
        if !truly_child {
            on_adults += 1;
        } else if trajectory_children.contains(true_id) {
            // Scored against the trajectory below.
        } else if trajectory_household_members.contains(true_id) {
            siblings += 1;
        } else {
            false_high += 1;
            false_high_children.insert(true_id);
            row.false_high_alerts += 1;
        }
    }

    let mut outcomes = Vec::new();
    for trajectory in &truth.trajectories {
        let first_record_at = recorded_at_of(
            &trajectory.first_alert_agency,
            &trajectory.first_alert_record_id,
        )
        .unwrap_or(trajectory.first_alert_occurred_at);
        let start = trajectory
            .start
            .and_hms_opt(0, 0, 0)
            .map_or(first_record_at, |start| start.and_utc())
            .min(first_record_at);
        let household = truth.household_members.get(&trajectory.household_id);
        let rests_on_first_record = |alert: &AlertSummary<'_>| {
            alert.evidence.iter().any(|(agency, record_id)| {
                *agency == trajectory.first_alert_agency
                    && *record_id == trajectory.first_alert_record_id
            })
        };
        // An alert counts for the trajectory when it is about its child from the
        // start, or when it rests on the first alerting record and is about the
        // child or another child of the household (a pregnancy alerts on the
        // earlier child: the unborn child has no records yet).
        let mut on_child: Vec<&AlertSummary<'_>> = alerts
            .iter()
            .filter(|alert| {
                let Some(true_id) = true_of(alert) else {
                    return false;
                };
                if *true_id == trajectory.person_id {
                    alert.raised_at >= start || rests_on_first_record(alert)
                } else {
                    household.is_some_and(|members| members.contains(true_id))
                        && rests_on_first_record(alert)
                }
            })
            .collect();
        on_child.sort_by_key(|alert| alert.raised_at);
        let days_after = |alert: &AlertSummary<'_>| {
            ((alert.raised_at - first_record_at).num_seconds() as f64 / 86_400.0).max(0.0)
        };
        let first_high = on_child.iter().find(|alert| is_high(alert.severity));
        let mut high_rules: Vec<String> = on_child
            .iter()
            .filter(|alert| is_high(alert.severity))
            .map(|alert| alert.rule_id.to_owned())
            .collect();
        high_rules.sort();
        high_rules.dedup();
        outcomes.push((
            TrajectoryOutcome {
                trajectory_id: trajectory.id.clone(),
                archetype: trajectory.archetype.clone(),
                first_alerting_record_at: first_record_at,
                alerted_any: !on_child.is_empty(),
                days_to_any: on_child.first().map(|alert| days_after(alert)),
                first_high_rule: first_high.map(|alert| alert.rule_id.to_owned()),
                days_to_high: first_high.map(|alert| days_after(alert)),
                high_rules,
            },
            on_child
                .iter()
                .map(|alert| (alert.rule_id, alert.severity, days_after(alert)))
                .collect::<Vec<_>>(),
        ));
    }

    let mut overall = DetectionRow::default();
    let mut overall_days = Vec::new();
    let mut by_archetype: BTreeMap<String, (DetectionRow, Vec<f64>)> = BTreeMap::new();
    let mut rule_days: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (outcome, on_child) in &outcomes {
        overall.add(outcome);
        let archetype = by_archetype.entry(outcome.archetype.clone()).or_default();
        archetype.0.add(outcome);
        if let Some(days) = outcome.days_to_high {
            overall_days.push(days);
            archetype.1.push(days);
        }
        // Per rule: as if the pack held that rule alone.
        // Per rule: days to its first alert of any severity, and of high or above.
        let mut seen_rules: BTreeMap<&str, (f64, Option<f64>)> = BTreeMap::new();
        for &(rule_id, severity, days) in on_child {
            let entry = seen_rules.entry(rule_id).or_insert((days, None));
            if is_high(severity) && entry.1.is_none() {
                entry.1 = Some(days);
            }
        }
        for (rule_id, (any_days, high_days)) in seen_rules {
            let row = by_rule.entry(rule_id.to_owned()).or_default();
            row.detection.alerted_any += 1;
            row.detection.alerted_any_within_14_days += u64::from(any_days <= ALERT_WITHIN_DAYS);
            if let Some(days) = high_days {
                row.detection.alerted_high += 1;
                row.detection.alerted_high_within_14_days += u64::from(days <= ALERT_WITHIN_DAYS);
                rule_days.entry(rule_id.to_owned()).or_default().push(days);
            }
        }
    }
    overall.finish(&mut overall_days);
    let by_archetype = by_archetype
        .into_iter()
        .map(|(archetype, (mut row, mut days))| {
            row.finish(&mut days);
            (archetype, row)
        })
        .collect();
    for (rule_id, row) in &mut by_rule {
        let mut days = rule_days.remove(rule_id).unwrap_or_default();
        row.detection.trajectories = overall.trajectories;
        row.detection.finish(&mut days);
        row.false_high_per_1000_child_months = per_1000(row.false_high_alerts, truth.child_months);
    }
    RulesReport {
        child_months: truth.child_months,
        alerts: alerts.len() as u64,
        high_alerts,
        overall,
        by_archetype,
        by_rule,
        false_high_alerts: false_high,
        false_high_per_1000_child_months: per_1000(false_high, truth.child_months),
        false_high_children: false_high_children.len() as u64,
        high_alerts_on_trajectory_siblings: siblings,
        high_alerts_on_adults: on_adults,
        trajectories: outcomes.into_iter().map(|(outcome, _)| outcome).collect(),
    }
}

fn per_1000(count: u64, child_months: f64) -> f64 {
    if child_months > 0.0 {
        count as f64 * 1_000.0 / child_months
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSONS: &str = "true_person_id,dob,sex,is_child,given_names,family_name,nhs_number,household_id\n\
        A,1990-01-01,female,false,Jane Ann,Smith,,H1\n\
        B,2020-05-05,female,true,Jane,Smith,,H1\n\
        C,2020-05-05,male,true,Tom,Smith,,H1\n\
        D,2021-01-01,male,true,Tom,Smith,,H1\n\
        E,2019-03-03,male,true,\"Sam, Jr\",Jones,,H2\n\
        F,2018-01-01,male,true,Ali,Khan,,H3\n";
    const HOUSEHOLDS: &str = "household_id,person_id,role,from,to\nH1,A,parent,2020-01-01,\n";
    const TRAJECTORIES: &str = "trajectory_id,true_person_id,archetype,start,first_alert_agency,first_alert_record_id,first_alert_occurred_at,household_id\n\
        T1,B,neglect,2022-01-01,gp,r1,2022-01-10T10:00:00Z,H1\n\
        T2,E,domestic_abuse,2022-01-01,police,r9,2022-02-01,H2\n";
    const SUMMARY: &str = r#"{"child_years_by_age_band": {"under_1": 10.0, "1_to_4": 15.0}}"#;

    fn truth(mentions: &str) -> Truth {
        Truth::parse(&TruthFiles {
            mentions_csv: mentions,
            persons_csv: PERSONS,
            households_csv: HOUSEHOLDS,
            trajectories_csv: TRAJECTORIES,
            summary_json: SUMMARY,
        })
        .expect("truth parses")
    }

    fn mention<'a>(record_id: &'a str, person_id: &'a str) -> PredictedMention<'a> {
        PredictedMention {
            agency: "gp",
            record_id,
            person_ref: "p1",
            person_id,
        }
    }

    fn check_csv(line: &str, expected: &[&str]) {
        assert_eq!(csv_fields(line).expect("parses"), expected, "{line}");
    }

    #[test]
    fn csv_lines() {
        check_csv("a,b,c", &["a", "b", "c"]);
        check_csv("a,,c", &["a", "", "c"]);
        check_csv("\"a, b\",c", &["a, b", "c"]);
        check_csv("\"say \"\"hi\"\"\",x", &["say \"hi\"", "x"]);
        check_csv("", &[""]);
        assert!(csv_fields("\"open").is_err());
    }

    #[test]
    fn truth_parses_every_file() {
        let truth = truth("agency,record_id,ref,true_person_id\ngp,r1,p1,B\n");
        assert_eq!(truth.mentions.len(), 1);
        assert_eq!(truth.persons.len(), 6);
        assert_eq!(
            truth
                .persons
                .get("E")
                .map(|person| person.given_names.as_str()),
            Some("Sam, Jr")
        );
        assert_eq!(truth.trajectories.len(), 2);
        assert_eq!(truth.child_months, 300.0);
        assert!(truth.same_household("A", "D"));
        assert!(!truth.same_household("A", "E"));
    }

    #[test]
    fn a_missing_column_is_named() {
        let error = Truth::parse(&TruthFiles {
            mentions_csv: "agency,record_id,true_person_id\n",
            persons_csv: PERSONS,
            households_csv: HOUSEHOLDS,
            trajectories_csv: TRAJECTORIES,
            summary_json: SUMMARY,
        })
        .expect_err("no ref column");
        assert_eq!(
            error,
            TruthError::MissingColumn {
                file: "mentions.csv",
                column: "ref"
            }
        );
    }

    fn check_kind(a: &str, b: &str, expected: MergeKind) {
        let truth = truth("agency,record_id,ref,true_person_id\n");
        assert_eq!(merge_kind(&truth, a, b), expected, "{a} + {b}");
    }

    #[test]
    fn merge_kinds() {
        check_kind("B", "C", MergeKind::Twins);
        check_kind("A", "B", MergeKind::ParentChildSameGivenName);
        check_kind("C", "D", MergeKind::HouseholdSameSurname);
        check_kind("A", "E", MergeKind::Unrelated);
    }

    #[test]
    fn pair_and_cluster_scores() {
        let truth = truth(
            "agency,record_id,ref,true_person_id\n\
             gp,r1,p1,B\ngp,r2,p1,B\ngp,r3,p1,B\ngp,r4,p1,C\ngp,r5,p1,E\ngp,r6,p1,E\n",
        );
        // Predicted: {r1, r2, r4} (B, B, C: a twin merge), {r3} (B split), {r5, r6} (E right).
        let report = evaluate_linkage(
            [
                mention("r1", "x"),
                mention("r2", "x"),
                mention("r4", "x"),
                mention("r3", "y"),
                mention("r5", "z"),
                mention("r6", "z"),
                mention("r7", "z"),
            ],
            &truth,
        );
        assert_eq!(report.mentions, 7);
        assert_eq!(report.mentions_without_truth, 1);
        // Predicted pairs: 3 in x, 1 in z; true pairs: 3 in B, 1 in E; right: r1-r2, r5-r6.
        assert_eq!(report.pairs.predicted, 4);
        assert_eq!(report.pairs.actual, 4);
        assert_eq!(report.pairs.true_positives, 2);
        assert_eq!(report.pairs.f1, 0.5);
        // Only z is exactly one true person.
        assert_eq!(report.clusters.true_positives, 1);
        assert_eq!(report.false_merges, 1);
        assert_eq!(report.multi_mention_persons, 2);
        assert_eq!(report.false_merge_rate, 0.5);
        assert_eq!(report.false_merges_by_kind.get("twins"), Some(&1));
        assert_eq!(report.false_merges_household_look_alikes, 1);
        assert_eq!(report.split_persons, 1);
        assert_eq!(
            report.dominant_true_person.get("x").map(String::as_str),
            Some("B")
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_instant(text).expect("instant")
    }

    #[test]
    fn trajectories_and_false_alerts() {
        let truth = truth("agency,record_id,ref,true_person_id\n");
        let dominant: HashMap<String, String> =
            [("pb", "B"), ("pc", "C"), ("pf", "F"), ("pa", "A")]
                .into_iter()
                .map(|(predicted, true_id)| (predicted.to_owned(), true_id.to_owned()))
                .collect();
        let alert = |rule_id, child_id, severity, raised_at| AlertSummary {
            rule_id,
            child_id,
            severity,
            raised_at: at(raised_at),
            evidence: vec![("gp", "other")],
        };
        let alerts = [
            // Before the trajectory started: does not count for it.
            alert("r_old", "pb", Severity::High, "2021-06-01T00:00:00Z"),
            alert("r_med", "pb", Severity::Medium, "2022-01-11T00:00:00Z"),
            alert("r_high", "pb", Severity::High, "2022-01-30T10:00:00Z"),
            // A sibling in the trajectory's household, an adult, and a child in no trajectory household.
            alert("r_high", "pc", Severity::Critical, "2022-02-01T00:00:00Z"),
            alert("r_high", "pa", Severity::High, "2022-02-01T00:00:00Z"),
            alert("r_high", "unknown", Severity::High, "2022-02-01T00:00:00Z"),
            alert("r_old", "pf", Severity::High, "2022-03-01T00:00:00Z"),
            // A second false alert on the same child: two alerts, one child.
            alert("r_med", "pf", Severity::High, "2022-04-01T00:00:00Z"),
        ];
        let recorded = |agency: &str, record_id: &str| {
            (agency == "gp" && record_id == "r1").then(|| at("2022-01-10T10:00:00Z"))
        };
        let report = evaluate_rules(&alerts, &truth, &dominant, &recorded);
        assert_eq!(report.alerts, 8);
        assert_eq!(report.high_alerts, 7);
        assert_eq!(report.overall.trajectories, 2);
        assert_eq!(report.overall.alerted_any, 1);
        assert_eq!(report.overall.alerted_high, 1);
        assert_eq!(report.overall.alerted_high_within_14_days, 0);
        assert_eq!(report.overall.days_median, Some(20.0));
        assert_eq!(report.high_alerts_on_trajectory_siblings, 1);
        // "pa" is an adult; "unknown" maps to no one, so not truly a child either.
        assert_eq!(report.high_alerts_on_adults, 2);
        assert_eq!(report.false_high_alerts, 2);
        assert_eq!(report.false_high_children, 1);
        let row = report.by_rule.get("r_high").expect("row");
        assert_eq!(row.detection.trajectories, 2);
        assert_eq!(row.detection.alerted_high, 1);
        assert_eq!(row.high_alerts, 4);
        let old = report.by_rule.get("r_old").expect("row");
        assert_eq!(old.detection.alerted_any, 0);
        assert_eq!(old.false_high_alerts, 1);
        assert_eq!(old.high_alerts, 2);
        assert!((report.false_high_per_1000_child_months - 2000.0 / 300.0).abs() < 1e-9);
        let neglect = report.by_archetype.get("neglect").expect("neglect");
        assert_eq!(neglect.share_alerted_high, 1.0);
    }
}
