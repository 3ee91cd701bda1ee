//! Linkage settings: columns, comparisons with their levels, blocking rules,
//! limits and thresholds, read from TOML.
//!
//! The TOML structs here are the configuration's wire form; [`Settings::from_toml`]
//! checks them once (names resolve, limits are sane) and everything downstream
//! works with column and comparison indices.

use serde::Deserialize;

use crate::LinkageError;

/// The built-in settings for UK interchange persons.
pub const UK_PERSONS_TOML: &str = include_str!("../settings/uk_persons.toml");
/// The built-in settings for the FEBRL synthetic data sets.
pub const FEBRL_TOML: &str = include_str!("../settings/febrl.toml");

/// Most comparisons a model may have: a comparison vector packs into a `u64`,
/// four bits per comparison.
pub const COMPARISONS_MAX: usize = 16;
/// Most configured levels per comparison (plus the implicit "else" level and
/// the null marker, all in four bits).
pub const LEVELS_PER_COMPARISON_MAX: usize = 13;
/// Most evidence groups in one settings file.
pub const EVIDENCE_GROUPS_MAX: usize = 4;

/// How a column's raw text is prepared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A person's name: accents, punctuation, honorifics, tokens, nicknames, phonetic key.
    Name,
    /// A partial date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYYMMDD`).
    Date,
    /// A postcode; UK postcodes also give district and sector.
    Postcode,
    /// Free text compared as a string and as a token set (addresses).
    Text,
    /// An identifier: digits only.
    Identifier,
    /// A short code (state, sex) compared exactly after normalisation.
    Category,
    /// Sex: `male`/`female` (or `m`/`f`); `unknown` is missing.
    Sex,
}

/// One comparison level, tried in order; the first that holds is the pair's level.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LevelSpec {
    /// The raw (trimmed) values are equal.
    Exact,
    /// The normalised values are equal.
    ExactNormalised,
    /// The values share at least one token (hyphenated, double-barrelled,
    /// several given names).
    AnyToken,
    /// Some token of one is a nickname or diminutive of some token of the other.
    Nickname,
    /// Equal Double Metaphone keys.
    Phonetic,
    /// Jaro-Winkler similarity of the normalised values at least `threshold`.
    JaroWinkler {
        /// Similarity floor, 0..=1.
        threshold: f64,
    },
    /// Damerau-Levenshtein (optimal string alignment) distance at most `max`.
    DamerauLevenshtein {
        /// Largest distance accepted.
        max: usize,
    },
    /// This column of one equals `other` of the other and vice versa
    /// (given and family names swapped).
    Swapped {
        /// The other column's name.
        other: String,
    },
    /// Token sets overlap: shared / smaller set size at least `min`.
    TokenOverlap {
        /// Overlap floor, 0..=1.
        min: f64,
    },
    /// Both full dates and equal.
    DateExact,
    /// Full dates equal after swapping day and month of one.
    DateTransposed,
    /// Same year and month.
    DateYearMonth,
    /// Same year.
    DateYear,
    /// Partial dates agree as far as both are known (`2006` and `2006-03-01`).
    DatePartialAgree,
    /// Postcodes share the sector (`N17 6`).
    PostcodeSector,
    /// Postcodes share the district (`N17`).
    PostcodeDistrict,
}

/// A blocking key part: how one column contributes to a block key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The normalised value.
    Exact,
    /// The phonetic key.
    Phonetic,
    /// Each token on its own (a record gets one key per token).
    AnyToken,
    /// The normalised value with spaces removed (`merfield place` = `merfieldplace`).
    Compact,
    /// The year of a date.
    Year,
    /// Year and month of a date.
    YearMonth,
    /// Postcode district.
    PostcodeDistrict,
    /// Postcode sector.
    PostcodeSector,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsToml {
    name: String,
    limits: LimitsToml,
    thresholds: ThresholdsToml,
    #[serde(default)]
    identity: IdentityToml,
    #[serde(rename = "column")]
    columns: Vec<ColumnToml>,
    #[serde(rename = "comparison")]
    comparisons: Vec<ComparisonToml>,
    #[serde(rename = "blocking")]
    blocking_rules: Vec<BlockingToml>,
    training: TrainingToml,
    #[serde(default, rename = "evidence_group")]
    evidence_groups: Vec<EvidenceGroupToml>,
    #[serde(default)]
    relational: Option<RelationalToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationalToml {
    first_person_below_prior: f64,
    further_person_weight: f64,
    address_weight: f64,
    weight_max_below_prior: f64,
    candidates_max: usize,
    group_mentions_max: usize,
    names: LevelSetToml,
    dates: LevelSetToml,
    address: LevelSetToml,
    postcode: LevelSetToml,
    #[serde(default)]
    overlaps: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSetToml {
    comparison: String,
    levels: Vec<LevelSpec>,
}

/// Levels of one comparison, by code.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelSet {
    /// Index into [`Settings::comparisons`].
    pub comparison: usize,
    /// Level codes of that comparison in the set.
    pub levels: Vec<u8>,
}

impl RelationalSettings {
    /// The most relational evidence adds under a model with this prior.
    pub fn weight_max(&self, prior_log2_odds: f64) -> f64 {
        (-prior_log2_odds - self.weight_max_below_prior).max(0.0)
    }

    /// What `people` persons named beside both and a shared address
    /// (`address`) add under a model with this prior, capped.
    pub fn weight(&self, prior_log2_odds: f64, people: usize, address: bool) -> f64 {
        let people_weight = match people {
            0 => 0.0,
            n => {
                (-prior_log2_odds - self.first_person_below_prior).max(0.0)
                    + (n - 1) as f64 * self.further_person_weight
            }
        };
        let address_weight = if address { self.address_weight } else { 0.0 };
        (people_weight + address_weight).min(self.weight_max(prior_log2_odds))
    }
}

impl LevelSet {
    /// True when `level` (a pair's level of the comparison) is in the set.
    #[inline]
    pub(crate) fn holds(&self, level: u8) -> bool {
        self.levels.contains(&level)
    }
}

/// Relational evidence: the people named beside a mention in its record
/// (its group, see [`crate::MentionContext`]). When someone named beside one
/// mention is, by the model, the same person as someone named beside the
/// other (a mother, a grandfather who rang the police, a carer), or the two
/// are placed at one address through the people they live with, that is
/// evidence that the two mentions are one person: a child named by name
/// alone in a police log beside its mother. It is counted only where the
/// model alone does not link the pair, only when the given names agree and
/// the dates of birth do not conflict, and at most `weight_max_below_prior`
/// below the model's prior, so it is never enough alone.
///
/// Weights are relative to the prior (the log2 odds that two random records
/// match, which falls as the data grows): a person named beside both narrows
/// "anyone" to the few people around that person, so the first such person
/// undoes the prior but for `first_person_below_prior` bits.
#[derive(Clone, Debug, PartialEq)]
pub struct RelationalSettings {
    /// The first person named beside both adds `-prior - first_person_below_prior` (log2, at least 0).
    pub first_person_below_prior: f64,
    /// Each further person named beside both adds this (log2).
    pub further_person_weight: f64,
    /// What a shared address adds (log2), when one side's address is that of
    /// the people it lives with rather than its own.
    pub address_weight: f64,
    /// Relational evidence adds at most `-prior - weight_max_below_prior` (log2, at least 0).
    pub weight_max_below_prior: f64,
    /// Most mentions one mention is compared with through the people beside it.
    pub candidates_max: usize,
    /// Groups (records) with more mentions than this give no relational evidence.
    pub group_mentions_max: usize,
    /// The names agree: the given names known on both sides and at one of these levels.
    pub names: LevelSet,
    /// Dates of birth that do not conflict: missing on either side, or at one of these levels.
    pub dates: LevelSet,
    /// Addresses that are the same: at one of these levels.
    pub address: LevelSet,
    /// ... with postcodes at one of these levels, or missing on either side.
    pub postcode: LevelSet,
    /// An evidence group (index into [`Settings::evidence_groups`]) that says
    /// what relational evidence says: a mother named beside two mentions
    /// makes them one of her family, as a shared surname and address do.
    /// Of the two only the larger counts: relational evidence adds only what
    /// it finds beyond that group's agreements for the pair.
    pub overlaps: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceGroupToml {
    name: String,
    comparisons: Vec<String>,
    weight_max: f64,
    #[serde(default)]
    when_unknown: Option<WhenUnknownToml>,
    #[serde(default)]
    when_apart: Option<WhenUnknownToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenUnknownToml {
    comparison: String,
    weight_max: f64,
    #[serde(default)]
    levels: Vec<LevelSpec>,
}

/// Comparisons whose agreements are correlated evidence: a household shares
/// surname, address and postcode, so agreeing on all three says little more
/// than agreeing on one. Of the group's agreements only the strongest counts,
/// and at most `weight_max`; its disagreements all count.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceGroup {
    /// Name shown in explanations (`household`).
    pub name: String,
    /// Most match weight (log2) the group's agreements may add.
    pub weight_max: f64,
    /// A larger cap for pairs where the comparison that tells look-alikes
    /// apart (date of birth) is unknown: missing is not different.
    pub when_unknown: Option<WhenUnknown>,
    /// A smaller cap for pairs that disagree entirely on a comparison that
    /// tells household members apart (given names): twins share a surname, an
    /// address and a date of birth, so the household says nothing about
    /// whether two records with unrelated given names are one person.
    pub when_apart: Option<WhenApart>,
}

/// When one comparison is at its last level ("else": none of its levels
/// agreed) or at one of the listed levels, an evidence group's agreements add
/// at most `weight_max`.
#[derive(Clone, Debug, PartialEq)]
pub struct WhenApart {
    /// Index into [`Settings::comparisons`].
    pub comparison: usize,
    /// Level codes of that comparison that count as apart; always includes
    /// its last ("else") level.
    pub levels: Vec<u8>,
    /// The group's cap (log2) for such pairs.
    pub weight_max: f64,
}

/// When one comparison is missing (or at one of the listed levels, e.g. a
/// year-only date that agrees as far as it is known), all of an evidence
/// group's agreements add up, to at most `weight_max`, instead of only its
/// strongest, to the usual cap: household look-alikes
/// (twins, a parent and child of one name) are told apart by that
/// comparison, so without it the household evidence is all there is.
#[derive(Clone, Debug, PartialEq)]
pub struct WhenUnknown {
    /// Index into [`Settings::comparisons`].
    pub comparison: usize,
    /// Level codes of that comparison that count as unknown; always
    /// includes [`crate::store::NULL_LEVEL`] (missing on either side).
    pub levels: Vec<u8>,
    /// The group's cap (log2) for such pairs.
    pub weight_max: f64,
}

impl EvidenceGroup {
    /// True when the group's `when_unknown` applies to a pair whose level of
    /// comparison `idx` is `level_of(idx)`.
    #[inline]
    pub(crate) fn unknown_for(&self, level_of: impl Fn(usize) -> u8) -> bool {
        self.when_unknown
            .as_ref()
            .is_some_and(|unknown| unknown.levels.contains(&level_of(unknown.comparison)))
    }

    /// True when the group's `when_apart` applies to a pair whose level of
    /// comparison `idx` is `level_of(idx)`.
    #[inline]
    pub(crate) fn apart_for(&self, level_of: impl Fn(usize) -> u8) -> bool {
        self.when_apart
            .as_ref()
            .is_some_and(|apart| apart.levels.contains(&level_of(apart.comparison)))
    }

    /// The cap on the group's agreements for a pair: `weight_max`, or
    /// `when_unknown`'s when that applies; at most `when_apart`'s when that
    /// applies.
    #[inline]
    pub(crate) fn cap(&self, level_of: impl Fn(usize) -> u8 + Copy) -> f64 {
        let cap = match &self.when_unknown {
            Some(unknown) if self.unknown_for(level_of) => unknown.weight_max,
            _ => self.weight_max,
        };
        match &self.when_apart {
            Some(apart) if self.apart_for(level_of) => cap.min(apart.weight_max),
            _ => cap,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsToml {
    block_records_max: u32,
    em_pairs_max: usize,
    u_random_pairs: usize,
    em_iterations_max: usize,
    cluster_pair_scores_max: usize,
    #[serde(default)]
    links_per_mention_max: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsToml {
    link_probability: f64,
    review_probability: f64,
    merge_probability: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityToml {
    agency_column: Option<String>,
    source_id_column: Option<String>,
    strong_identifier: Option<String>,
    #[serde(default)]
    strong_identifier_nhs_check: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnToml {
    name: String,
    kind: ColumnKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComparisonToml {
    name: String,
    column: String,
    #[serde(default)]
    tf_adjust: bool,
    levels: Vec<LevelSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockingToml {
    name: String,
    keys: Vec<KeyToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyToml {
    column: String,
    key: KeyKind,
    #[serde(default)]
    unordered_with: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainingToml {
    em_sessions: Vec<String>,
}

/// A prepared column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    /// Column name, as callers pass it in [`crate::MentionInput`].
    pub name: String,
    /// How raw values are prepared.
    pub kind: ColumnKind,
}

/// A level with other-column names resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    /// What the level checks.
    pub spec: LevelSpec,
    /// For [`LevelSpec::Swapped`], the other column's index.
    pub other_column: Option<usize>,
    /// Human-readable label shown in explanations.
    pub label: String,
}

/// One comparison: a column and its ordered levels.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Name shown in explanations.
    pub name: String,
    /// Index into [`Settings::columns`].
    pub column: usize,
    /// Adjust the exact levels' weight by how common the value is.
    pub tf_adjust: bool,
    /// Levels in order, strongest first; "else" is implicit after them.
    pub levels: Vec<Level>,
    /// The largest `max` of its Damerau-Levenshtein levels (0 when none).
    pub edit_distance_max: usize,
    /// Index into [`Settings::evidence_groups`] when the comparison belongs to one.
    pub evidence_group: Option<usize>,
}

/// One part of a blocking key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPart {
    /// Column index.
    pub column: usize,
    /// What of the column's value makes the key.
    pub kind: KeyKind,
    /// With `Exact`: key on this column and another as an unordered pair, so
    /// swapped values (given and family name) share the key.
    pub unordered_with: Option<usize>,
}

/// A blocking rule: the AND of its key parts; rules are OR-ed together.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockingRule {
    /// Name, used by training sessions and reports.
    pub name: String,
    /// Key parts.
    pub parts: Vec<KeyPart>,
}

impl KeyPart {
    /// True when this part reads `column`.
    pub fn uses(&self, column: usize) -> bool {
        self.column == column || self.unordered_with == Some(column)
    }
}

/// Limits on work; see the TOML files for the meaning of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Records per block key beyond which later records are not blocked by that key.
    pub block_records_max: u32,
    /// Most candidate pairs one EM session uses.
    pub em_pairs_max: usize,
    /// Random pairs sampled to estimate u.
    pub u_random_pairs: usize,
    /// EM iterations per session.
    pub em_iterations_max: usize,
    /// Most pair scores computed to judge one cluster merge.
    pub cluster_pair_scores_max: usize,
    /// Most automatic and identity links a mention keeps to earlier
    /// mentions: the strongest, in the order clustering takes them (review
    /// links and people's decisions are always kept). `None` keeps every
    /// link. The links of a person's mentions grow with the square of their
    /// number; a few per mention hold the person together, and any pair's
    /// score is computed again when asked ([`crate::LinkageIndex::explain`]).
    pub links_per_mention_max: Option<usize>,
}

/// Probability thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// At or above: linked automatically.
    pub link_probability: f64,
    /// At or above (and below `link_probability`): clerical review.
    pub review_probability: f64,
    /// Two clusters of more than one record merge only if the average match
    /// weight across them reaches this probability.
    pub merge_probability: f64,
}

/// Strong identity constraints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    /// Column holding the sending agency.
    pub agency_column: Option<usize>,
    /// Column holding the agency's own person id.
    pub source_id_column: Option<usize>,
    /// Column holding a strong identifier (NHS number): equal links, different never links.
    pub strong_identifier: Option<usize>,
    /// Only identifiers passing the NHS modulus-11 check count as strong.
    pub strong_identifier_nhs_check: bool,
}

/// Checked linkage settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Settings name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnSpec>,
    /// Comparisons in order (at most [`COMPARISONS_MAX`]).
    pub comparisons: Vec<Comparison>,
    /// Blocking rules, OR-ed.
    pub blocking_rules: Vec<BlockingRule>,
    /// Indices of the blocking rules used as EM training sessions.
    pub em_sessions: Vec<usize>,
    /// Limits.
    pub limits: Limits,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Hard identity rules.
    pub identity: Identity,
    /// Evidence groups comparisons may belong to (at most [`EVIDENCE_GROUPS_MAX`]).
    pub evidence_groups: Vec<EvidenceGroup>,
    /// Relational evidence (the people named beside a mention), when configured.
    pub relational: Option<RelationalSettings>,
}

impl Settings {
    /// The built-in UK interchange persons settings.
    pub fn uk_persons() -> Result<Settings, LinkageError> {
        Settings::from_toml(UK_PERSONS_TOML)
    }

    /// The built-in FEBRL settings; without `use_ssn` the `soc_sec_id`
    /// comparison and any blocking rule on it are dropped.
    pub fn febrl(use_ssn: bool) -> Result<Settings, LinkageError> {
        let settings = Settings::from_toml(FEBRL_TOML)?;
        if use_ssn {
            return Ok(settings);
        }
        settings.without_column("soc_sec_id")
    }

    /// Parse and check settings from TOML text.
    pub fn from_toml(text: &str) -> Result<Settings, LinkageError> {
        let raw: SettingsToml =
            toml::from_str(text).map_err(|err| LinkageError::Settings(err.to_string()))?;
        Settings::from_raw(raw)
    }

    /// A copy with every comparison and blocking rule that uses `column` removed.
    pub fn without_column(&self, column: &str) -> Result<Settings, LinkageError> {
        let column_idx = self.column_index(column)?;
        let mut settings = self.clone();
        let rule_names: Vec<String> = settings
            .blocking_rules
            .iter()
            .map(|r| r.name.clone())
            .collect();
        settings.comparisons.retain(|c| {
            c.column != column_idx && c.levels.iter().all(|l| l.other_column != Some(column_idx))
        });
        settings
            .blocking_rules
            .retain(|rule| rule.parts.iter().all(|part| !part.uses(column_idx)));
        settings.em_sessions = self
            .em_sessions
            .iter()
            .filter_map(|idx| {
                let name = rule_names.get(*idx)?;
                settings.blocking_rules.iter().position(|r| &r.name == name)
            })
            .collect();
        if settings.identity.strong_identifier == Some(column_idx) {
            settings.identity.strong_identifier = None;
        }
        // Relational evidence names comparisons by index: follow them to
        // their new places, or drop it when one of them is gone.
        let new_index = |old: usize| {
            let name = &self.comparisons.get(old)?.name;
            settings.comparisons.iter().position(|c| &c.name == name)
        };
        settings.relational = self.relational.as_ref().and_then(|relational| {
            let mut moved = relational.clone();
            for set in [
                &mut moved.names,
                &mut moved.dates,
                &mut moved.address,
                &mut moved.postcode,
            ] {
                set.comparison = new_index(set.comparison)?;
            }
            Some(moved)
        });
        Ok(settings)
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Result<usize, LinkageError> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| LinkageError::Settings(format!("unknown column {name:?}")))
    }

    fn from_raw(raw: SettingsToml) -> Result<Settings, LinkageError> {
        let columns: Vec<ColumnSpec> = raw
            .columns
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.clone(),
                kind: c.kind,
            })
            .collect();
        let mut settings = Settings {
            name: raw.name,
            columns,
            comparisons: Vec::new(),
            blocking_rules: Vec::new(),
            em_sessions: Vec::new(),
            limits: Limits {
                block_records_max: raw.limits.block_records_max,
                em_pairs_max: raw.limits.em_pairs_max,
                u_random_pairs: raw.limits.u_random_pairs,
                em_iterations_max: raw.limits.em_iterations_max,
                cluster_pair_scores_max: raw.limits.cluster_pair_scores_max,
                links_per_mention_max: raw.limits.links_per_mention_max,
            },
            thresholds: Thresholds {
                link_probability: raw.thresholds.link_probability,
                review_probability: raw.thresholds.review_probability,
                merge_probability: raw.thresholds.merge_probability,
            },
            identity: Identity::default(),
            evidence_groups: Vec::new(),
            relational: None,
        };
        for (idx, column) in settings.columns.iter().enumerate() {
            if settings.columns[..idx]
                .iter()
                .any(|c| c.name == column.name)
            {
                return Err(LinkageError::Settings(format!(
                    "column {:?} declared twice",
                    column.name
                )));
            }
        }
        if raw.comparisons.is_empty() || raw.comparisons.len() > COMPARISONS_MAX {
            return Err(LinkageError::Settings(format!(
                "between 1 and {COMPARISONS_MAX} comparisons are needed, found {}",
                raw.comparisons.len()
            )));
        }
        for comparison in &raw.comparisons {
            let column = settings.column_index(&comparison.column)?;
            if comparison.levels.is_empty() || comparison.levels.len() > LEVELS_PER_COMPARISON_MAX {
                return Err(LinkageError::Settings(format!(
                    "comparison {:?} needs 1 to {LEVELS_PER_COMPARISON_MAX} levels",
                    comparison.name
                )));
            }
            let mut levels = Vec::with_capacity(comparison.levels.len());
            for spec in &comparison.levels {
                let other_column = match spec {
                    LevelSpec::Swapped { other } => Some(settings.column_index(other)?),
                    _ => None,
                };
                check_level(spec, settings.columns[column].kind, &comparison.name)?;
                levels.push(Level {
                    label: level_label(spec),
                    spec: spec.clone(),
                    other_column,
                });
            }
            let edit_distance_max = levels
                .iter()
                .filter_map(|l| match l.spec {
                    LevelSpec::DamerauLevenshtein { max } => Some(max),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            let evidence_group = raw
                .evidence_groups
                .iter()
                .position(|g| g.comparisons.contains(&comparison.name));
            settings.comparisons.push(Comparison {
                name: comparison.name.clone(),
                column,
                tf_adjust: comparison.tf_adjust,
                levels,
                edit_distance_max,
                evidence_group,
            });
        }
        if raw.evidence_groups.len() > EVIDENCE_GROUPS_MAX {
            return Err(LinkageError::Settings(format!(
                "at most {EVIDENCE_GROUPS_MAX} evidence groups are allowed"
            )));
        }
        for (idx, group) in raw.evidence_groups.iter().enumerate() {
            let unknown = group
                .comparisons
                .iter()
                .find(|name| !raw.comparisons.iter().any(|c| &c.name == *name));
            let elsewhere = raw.evidence_groups[..idx]
                .iter()
                .any(|g| g.comparisons.iter().any(|c| group.comparisons.contains(c)));
            if let Some(name) = unknown {
                return Err(LinkageError::Settings(format!(
                    "evidence group {:?} names unknown comparison {name:?}",
                    group.name
                )));
            }
            if elsewhere || !(group.weight_max.is_finite() && group.weight_max >= 0.0) {
                return Err(LinkageError::Settings(format!(
                    "evidence group {:?}: a comparison belongs to one group at most, and weight_max is a finite weight >= 0",
                    group.name
                )));
            }
            let when_unknown = match &group.when_unknown {
                None => None,
                Some(raw) => {
                    let (comparison, levels) =
                        resolve_condition(&settings, &group.name, "when_unknown", raw)?;
                    Some(WhenUnknown {
                        comparison,
                        levels,
                        weight_max: raw.weight_max,
                    })
                }
            };
            let when_apart = match &group.when_apart {
                None => None,
                Some(raw) => {
                    let (comparison, levels) =
                        resolve_condition(&settings, &group.name, "when_apart", raw)?;
                    Some(WhenApart {
                        comparison,
                        levels,
                        weight_max: raw.weight_max,
                    })
                }
            };
            settings.evidence_groups.push(EvidenceGroup {
                name: group.name.clone(),
                weight_max: group.weight_max,
                when_unknown,
                when_apart,
            });
        }
        for rule in &raw.blocking_rules {
            if rule.keys.is_empty() {
                return Err(LinkageError::Settings(format!(
                    "blocking rule {:?} has no keys",
                    rule.name
                )));
            }
            let mut parts = Vec::with_capacity(rule.keys.len());
            for key in &rule.keys {
                let unordered_with = key
                    .unordered_with
                    .as_deref()
                    .map(|n| settings.column_index(n))
                    .transpose()?;
                if unordered_with.is_some() && key.key != KeyKind::Exact {
                    return Err(LinkageError::Settings(format!(
                        "blocking rule {:?}: unordered_with needs key = \"exact\"",
                        rule.name
                    )));
                }
                parts.push(KeyPart {
                    column: settings.column_index(&key.column)?,
                    kind: key.key,
                    unordered_with,
                });
            }
            settings.blocking_rules.push(BlockingRule {
                name: rule.name.clone(),
                parts,
            });
        }
        for session in &raw.training.em_sessions {
            let idx = settings
                .blocking_rules
                .iter()
                .position(|r| &r.name == session)
                .ok_or_else(|| {
                    LinkageError::Settings(format!(
                        "EM session names unknown blocking rule {session:?}"
                    ))
                })?;
            settings.em_sessions.push(idx);
        }
        let optional_column = |name: &Option<String>| -> Result<Option<usize>, LinkageError> {
            name.as_deref()
                .map(|n| settings.column_index(n))
                .transpose()
        };
        settings.identity = Identity {
            agency_column: optional_column(&raw.identity.agency_column)?,
            source_id_column: optional_column(&raw.identity.source_id_column)?,
            strong_identifier: optional_column(&raw.identity.strong_identifier)?,
            strong_identifier_nhs_check: raw.identity.strong_identifier_nhs_check,
        };
        if let Some(raw) = &raw.relational {
            settings.relational = Some(resolve_relational(&settings, raw)?);
        }
        let t = &settings.thresholds;
        let ordered = 0.0 < t.review_probability
            && t.review_probability <= t.link_probability
            && t.link_probability < 1.0
            && 0.0 < t.merge_probability
            && t.merge_probability < 1.0;
        if !ordered {
            return Err(LinkageError::Settings(
                "thresholds need 0 < review_probability <= link_probability < 1 and 0 < merge_probability < 1".into(),
            ));
        }
        if settings.limits.block_records_max < 2 || settings.limits.em_iterations_max == 0 {
            return Err(LinkageError::Settings(
                "block_records_max >= 2 and em_iterations_max >= 1 are needed".into(),
            ));
        }
        if settings.limits.links_per_mention_max == Some(0) {
            return Err(LinkageError::Settings(
                "links_per_mention_max >= 1 is needed (leave it out to keep every link)".into(),
            ));
        }
        Ok(settings)
    }
}
/// Resolves an evidence group's `when_unknown` or `when_apart` (`what`): the
/// comparison's index and the level codes that trigger it. `when_unknown`
/// always holds when the comparison is missing, `when_apart` when none of its
/// levels agreed (its last, "else" level); `levels` adds declared levels.
fn resolve_condition(
    settings: &Settings,
    group: &str,
    what: &str,
    raw: &WhenUnknownToml,
) -> Result<(usize, Vec<u8>), LinkageError> {
    let bad = |why: String| LinkageError::Settings(format!("evidence group {group:?}: {why}"));
    let comparison = settings
        .comparisons
        .iter()
        .position(|c| c.name == raw.comparison)
        .ok_or_else(|| {
            bad(format!(
                "{what} names unknown comparison {:?}",
                raw.comparison
            ))
        })?;
    if settings
        .comparisons
        .get(comparison)
        .and_then(|c| c.evidence_group)
        .is_some()
    {
        return Err(bad(format!(
            "{what} needs a comparison outside every evidence group"
        )));
    }
    if !(raw.weight_max.is_finite() && raw.weight_max >= 0.0) {
        return Err(bad(format!("{what} weight_max is a finite weight >= 0")));
    }
    let declared = settings
        .comparisons
        .get(comparison)
        .map_or(&[][..], |c| c.levels.as_slice());
    let mut levels = if what == "when_apart" {
        vec![u8::try_from(declared.len()).unwrap_or(crate::store::NULL_LEVEL)]
    } else {
        vec![crate::store::NULL_LEVEL]
    };
    for spec in &raw.levels {
        let position = declared
            .iter()
            .position(|level| &level.spec == spec)
            .ok_or_else(|| {
                bad(format!(
                    "{what} level {spec:?} is not a level of {:?}",
                    raw.comparison
                ))
            })?;
        levels.push(u8::try_from(position).unwrap_or(crate::store::NULL_LEVEL));
    }
    Ok((comparison, levels))
}

/// Checks the relational settings and resolves their comparisons and levels.
fn resolve_relational(
    settings: &Settings,
    raw: &RelationalToml,
) -> Result<RelationalSettings, LinkageError> {
    let bad = |why: String| LinkageError::Settings(format!("relational: {why}"));
    let weights = [
        raw.first_person_below_prior,
        raw.further_person_weight,
        raw.address_weight,
        raw.weight_max_below_prior,
    ];
    if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(bad(
            "first_person_below_prior, further_person_weight, address_weight and weight_max_below_prior are finite weights >= 0".into(),
        ));
    }
    if raw.candidates_max == 0 || !(2..=64).contains(&raw.group_mentions_max) {
        return Err(bad(
            "candidates_max >= 1 and group_mentions_max between 2 and 64 are needed".into(),
        ));
    }
    let level_set = |what: &str, raw: &LevelSetToml| -> Result<LevelSet, LinkageError> {
        let comparison = settings
            .comparisons
            .iter()
            .position(|c| c.name == raw.comparison)
            .ok_or_else(|| {
                bad(format!(
                    "{what} names unknown comparison {:?}",
                    raw.comparison
                ))
            })?;
        let declared = settings
            .comparisons
            .get(comparison)
            .map_or(&[][..], |c| c.levels.as_slice());
        let mut levels = Vec::with_capacity(raw.levels.len());
        for spec in &raw.levels {
            let position = declared
                .iter()
                .position(|level| &level.spec == spec)
                .ok_or_else(|| {
                    bad(format!(
                        "{what} level {spec:?} is not a level of {:?}",
                        raw.comparison
                    ))
                })?;
            levels.push(u8::try_from(position).unwrap_or(crate::store::NULL_LEVEL));
        }
        if levels.is_empty() {
            return Err(bad(format!("{what} needs at least one level")));
        }
        Ok(LevelSet { comparison, levels })
    };
    Ok(RelationalSettings {
        first_person_below_prior: raw.first_person_below_prior,
        further_person_weight: raw.further_person_weight,
        address_weight: raw.address_weight,
        weight_max_below_prior: raw.weight_max_below_prior,
        candidates_max: raw.candidates_max,
        group_mentions_max: raw.group_mentions_max,
        names: level_set("names", &raw.names)?,
        dates: level_set("dates", &raw.dates)?,
        address: level_set("address", &raw.address)?,
        postcode: level_set("postcode", &raw.postcode)?,
        overlaps: raw
            .overlaps
            .as_ref()
            .map(|name| {
                settings
                    .evidence_groups
                    .iter()
                    .position(|group| &group.name == name)
                    .ok_or_else(|| bad(format!("overlaps names unknown evidence group {name:?}")))
            })
            .transpose()?,
    })
}

fn check_level(spec: &LevelSpec, kind: ColumnKind, comparison: &str) -> Result<(), LinkageError> {
    let date_level = matches!(
        spec,
        LevelSpec::DateExact
            | LevelSpec::DateTransposed
            | LevelSpec::DateYearMonth
            | LevelSpec::DateYear
            | LevelSpec::DatePartialAgree
    );
    let postcode_level = matches!(
        spec,
        LevelSpec::PostcodeSector | LevelSpec::PostcodeDistrict
    );
    let bad = (date_level && kind != ColumnKind::Date)
        || (postcode_level && kind != ColumnKind::Postcode)
        || matches!(spec, LevelSpec::JaroWinkler { threshold } if !(0.0..=1.0).contains(threshold))
        || matches!(spec, LevelSpec::TokenOverlap { min } if !(0.0..=1.0).contains(min));
    if bad {
        return Err(LinkageError::Settings(format!(
            "comparison {comparison:?}: level {spec:?} does not fit a {kind:?} column"
        )));
    }
    Ok(())
}

fn level_label(spec: &LevelSpec) -> String {
    match spec {
        LevelSpec::Exact => "exact".into(),
        LevelSpec::ExactNormalised => "exact after normalisation".into(),
        LevelSpec::AnyToken => "shares a name part".into(),
        LevelSpec::Nickname => "nickname".into(),
        LevelSpec::Phonetic => "sounds alike".into(),
        LevelSpec::JaroWinkler { threshold } => format!("Jaro-Winkler >= {threshold}"),
        LevelSpec::DamerauLevenshtein { max } => format!("Damerau-Levenshtein <= {max}"),
        LevelSpec::Swapped { other } => format!("swapped with {other}"),
        LevelSpec::TokenOverlap { min } => format!("token overlap >= {min}"),
        LevelSpec::DateExact => "same date".into(),
        LevelSpec::DateTransposed => "day and month transposed".into(),
        LevelSpec::DateYearMonth => "same year and month".into(),
        LevelSpec::DateYear => "same year".into(),
        LevelSpec::DatePartialAgree => "agrees as far as known".into(),
        LevelSpec::PostcodeSector => "same postcode sector".into(),
        LevelSpec::PostcodeDistrict => "same postcode district".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_settings_parse() {
        let uk = Settings::uk_persons();
        assert!(uk.is_ok(), "{uk:?}");
        let febrl = Settings::febrl(true);
        assert!(febrl.is_ok(), "{febrl:?}");
        let no_ssn = Settings::febrl(false);
        assert!(no_ssn.is_ok(), "{no_ssn:?}");
        if let (Ok(with), Ok(without)) = (febrl, no_ssn) {
            assert_eq!(with.comparisons.len(), without.comparisons.len() + 1);
            assert!(!without.em_sessions.is_empty());
        }
    }

    #[test]
    fn unknown_column_is_an_error() {
        let text = FEBRL_TOML.replace("column = \"surname\"", "column = \"surnme\"");
        assert!(matches!(
            Settings::from_toml(&text),
            Err(LinkageError::Settings(_))
        ));
    }
}
