//! The Fellegi-Sunter model: u from random pairs, m by EM without labels,
//! term-frequency adjustment, match weights and their per-field breakdown.

use rand::Rng;
use rustc_hash::FxHashMap;

use crate::settings::{COMPARISONS_MAX, EVIDENCE_GROUPS_MAX, LevelSpec, Settings};
use crate::store::{NULL_LEVEL, RecordStore};

/// Pairs one parallel task compares or scores.
const PAIRS_PER_TASK: usize = 1 << 14;
/// Records whose candidates one parallel scoring task scores.
const RECORDS_PER_TASK: usize = 1 << 12;

/// Smallest probability used for m and u, so that no weight is infinite.
const PROBABILITY_MIN: f64 = 1e-6;

/// Parameters of one comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonModel {
    /// Comparison name.
    pub name: String,
    /// Labels per level, "else" last.
    pub labels: Vec<String>,
    /// P(level | match), per level with "else" last.
    pub m: Vec<f64>,
    /// P(level | non-match), per level with "else" last.
    pub u: Vec<f64>,
    /// log2(m/u) per level.
    pub log2_bayes_factor: Vec<f64>,
    /// Levels whose weight is adjusted by value frequency.
    pub tf_levels: Vec<bool>,
    /// Frozen value frequencies (by normalised value) when TF-adjusted.
    pub tf: Option<TfTable>,
}

/// Frozen term frequencies of normalised values of one column.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TfTable {
    frequencies: FxHashMap<Box<str>, f64>,
    /// Frequency used for values not seen in training (one in the training size).
    pub unseen_frequency: f64,
}

impl TfTable {
    /// Frequency of a normalised value, never below `unseen_frequency`.
    pub fn frequency(&self, normalised: &str) -> f64 {
        self.frequencies
            .get(normalised)
            .copied()
            .unwrap_or(self.unseen_frequency)
            .max(self.unseen_frequency)
    }
}

/// A trained, frozen model. Scores depend only on the model and the two records.
/// The default model has no comparisons (every weight is 0).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Model {
    /// log2 of the prior odds that two random records match.
    pub prior_log2_odds: f64,
    /// Per comparison parameters, in settings order.
    pub comparisons: Vec<ComparisonModel>,
}

/// What training did, for reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingReport {
    /// Random pairs used for u.
    pub u_pairs: usize,
    /// Per EM session: (blocking rule name, pairs used, iterations, converged).
    pub em_sessions: Vec<(String, usize, usize, bool)>,
    /// Comparisons no session could estimate (their m stays at the default).
    pub untrained_comparisons: Vec<String>,
    /// Estimated probability that two random in-scope records match.
    pub prior_probability: f64,
}

/// Which pairs are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkScope {
    /// Every pair of records.
    Dedupe,
    /// Only pairs whose data set tags differ.
    LinkOnly,
}

impl LinkScope {
    pub(crate) fn allows(self, store: &RecordStore, left: u32, right: u32) -> bool {
        left != right && (self == LinkScope::Dedupe || store.dataset(left) != store.dataset(right))
    }
}

/// One field's contribution to a pair's match weight.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldContribution {
    /// Comparison name.
    pub field: String,
    /// Level label (`exact after normalisation`, `Jaro-Winkler >= 0.92`, `else`, `missing`).
    pub level: String,
    /// Bayes factor m/u (TF-adjusted where configured); 1 when missing.
    pub bayes_factor: f64,
    /// log2 of the Bayes factor: what this field adds to the match weight.
    pub weight: f64,
}

/// Why a pair scored as it did: the waterfall shown to a person.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// Prior log2 odds (the starting bar).
    pub prior_weight: f64,
    /// Per-field contributions in settings order.
    pub fields: Vec<FieldContribution>,
    /// Total match weight: prior plus the fields.
    pub match_weight: f64,
    /// Match probability from the weight.
    pub match_probability: f64,
    /// A hard identity rule that decided the pair, if any.
    pub hard_rule: Option<crate::HardRule>,
    /// The people named around the two mentions, when either record names
    /// anyone beside them (also a row of `fields`, "people named beside").
    pub relational: Option<crate::RelationalEvidence>,
}

/// Per evidence group, the weights of its comparisons for one pair: the
/// strongest agreement, the agreements' sum and the strongest disagreement.
#[derive(Clone, Copy, Default)]
struct GroupTally {
    strongest: [f64; EVIDENCE_GROUPS_MAX],
    agreeing: [f64; EVIDENCE_GROUPS_MAX],
    weakest: [f64; EVIDENCE_GROUPS_MAX],
}

impl GroupTally {
    #[inline]
    fn add(&mut self, group: usize, weight: f64) {
        if let (Some(best), Some(sum), Some(worst)) = (
            self.strongest.get_mut(group),
            self.agreeing.get_mut(group),
            self.weakest.get_mut(group),
        ) {
            *best = best.max(weight);
            *sum += weight.max(0.0);
            *worst = worst.min(weight);
        }
    }

    /// What the groups add: per group its strongest agreement, at most the
    /// group's cap (in log2 units times `unit`), or, when the comparison of
    /// its `when_unknown` is unknown for this pair, all its agreements
    /// together, at most that larger cap; plus its strongest disagreement.
    /// `level_of(idx)` is the pair's level of comparison `idx`.
    fn total(&self, settings: &Settings, unit: f64, level_of: impl Fn(usize) -> u8 + Copy) -> f64 {
        settings
            .evidence_groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                self.agreement(g, group, unit, level_of)
                    + self.weakest.get(g).copied().unwrap_or(0.0)
            })
            .sum()
    }

    /// What group `g`'s agreements add (its strongest, or all of them when
    /// its `when_unknown` comparison is unknown, at most its cap).
    fn agreement(
        &self,
        g: usize,
        group: &crate::settings::EvidenceGroup,
        unit: f64,
        level_of: impl Fn(usize) -> u8 + Copy,
    ) -> f64 {
        let (best, sum) = (
            self.strongest.get(g).copied().unwrap_or(0.0),
            self.agreeing.get(g).copied().unwrap_or(0.0),
        );
        if group.unknown_for(level_of) {
            sum.min(group.cap(level_of) * unit)
        } else {
            best.min(group.cap(level_of) * unit)
        }
    }
}

/// The name of comparison `idx` of `settings`, for explanations ("" if none).
fn comparison_name(settings: &Settings, idx: Option<usize>) -> &str {
    idx.and_then(|idx| settings.comparisons.get(idx))
        .map_or("", |c| c.name.as_str())
}

/// Convert a match weight (log2 odds) to a probability.
pub fn probability_from_weight(weight: f64) -> f64 {
    let odds = weight.exp2();
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

/// Convert a probability to a match weight (log2 odds).
pub fn weight_from_probability(probability: f64) -> f64 {
    let p = probability.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

impl Model {
    /// The match weight of a pair: the field weights' sum plus the prior
    /// (added last, so batch and incremental runs agree to the bit).
    /// `tf_cache[c][norm_id]` holds frequencies for TF-adjusted comparisons.
    pub(crate) fn pair_weight(
        &self,
        settings: &Settings,
        store: &RecordStore,
        tf_cache: &[Vec<f64>],
        left: u32,
        right: u32,
    ) -> f64 {
        self.field_weight(settings, store, tf_cache, left, right) + self.prior_log2_odds
    }

    /// The sum of the field weights of a pair, without the prior.
    pub(crate) fn field_weight(
        &self,
        settings: &Settings,
        store: &RecordStore,
        tf_cache: &[Vec<f64>],
        left: u32,
        right: u32,
    ) -> f64 {
        let (total, groups, levels) = self.tally(settings, store, tf_cache, left, right);
        let level_of = |idx: usize| levels.get(idx).copied().unwrap_or(NULL_LEVEL);
        total + groups.total(settings, 1.0, level_of)
    }

    /// What evidence group `group`'s agreements add to a pair's weight (0
    /// when the pair agrees on none of its comparisons or the group does not
    /// exist): what relational evidence overlapping the group competes with.
    pub(crate) fn group_agreement(
        &self,
        settings: &Settings,
        store: &RecordStore,
        tf_cache: &[Vec<f64>],
        (left, right): (u32, u32),
        group: usize,
    ) -> f64 {
        let Some(evidence_group) = settings.evidence_groups.get(group) else {
            return 0.0;
        };
        let (_, groups, levels) = self.tally(settings, store, tf_cache, left, right);
        let level_of = |idx: usize| levels.get(idx).copied().unwrap_or(NULL_LEVEL);
        groups.agreement(group, evidence_group, 1.0, level_of)
    }

    /// A pair's weights: the sum of the comparisons outside evidence groups,
    /// the groups' tallies, and every comparison's level.
    fn tally(
        &self,
        settings: &Settings,
        store: &RecordStore,
        tf_cache: &[Vec<f64>],
        left: u32,
        right: u32,
    ) -> (f64, GroupTally, [u8; COMPARISONS_MAX]) {
        let mut total = 0.0;
        let mut groups = GroupTally::default();
        let mut levels = [NULL_LEVEL; COMPARISONS_MAX];
        for (idx, (comparison, params)) in settings
            .comparisons
            .iter()
            .zip(&self.comparisons)
            .enumerate()
        {
            let level = store.comparison_level(comparison, left, right);
            if let Some(slot) = levels.get_mut(idx) {
                *slot = level;
            }
            let weight = self.level_weight(
                params,
                tf_cache.get(idx),
                store,
                comparison.column,
                level,
                left,
            );
            match comparison.evidence_group {
                Some(g) if g < EVIDENCE_GROUPS_MAX => groups.add(g, weight),
                _ => total += weight,
            }
        }
        (total, groups, levels)
    }

    fn level_weight(
        &self,
        params: &ComparisonModel,
        tf_cache: Option<&Vec<f64>>,
        store: &RecordStore,
        column: usize,
        level: u8,
        left: u32,
    ) -> f64 {
        if level == NULL_LEVEL {
            return 0.0;
        }
        let level = usize::from(level);
        let base = params.log2_bayes_factor.get(level).copied().unwrap_or(0.0);
        let tf_level = params.tf_levels.get(level).copied().unwrap_or(false);
        if !tf_level {
            return base;
        }
        let Some(cache) = tf_cache else {
            return base;
        };
        let norm_id = store.norm_id(column, left);
        match cache.get(norm_id as usize) {
            Some(frequency) if *frequency > 0.0 => {
                let m = params.m.get(level).copied().unwrap_or(PROBABILITY_MIN);
                (m / frequency).log2()
            }
            _ => base,
        }
    }

    /// The full explanation of a pair's score (no hard rules applied here).
    pub(crate) fn explain(
        &self,
        settings: &Settings,
        store: &RecordStore,
        tf_cache: &[Vec<f64>],
        left: u32,
        right: u32,
    ) -> Explanation {
        let mut fields = Vec::with_capacity(self.comparisons.len());
        // (weight, field index) of the strongest agreement and disagreement per evidence group.
        let mut strongest: [Option<(f64, usize)>; EVIDENCE_GROUPS_MAX] =
            [None; EVIDENCE_GROUPS_MAX];
        let mut weakest: [Option<(f64, usize)>; EVIDENCE_GROUPS_MAX] = [None; EVIDENCE_GROUPS_MAX];
        let mut levels = [NULL_LEVEL; COMPARISONS_MAX];
        for (idx, (comparison, params)) in settings
            .comparisons
            .iter()
            .zip(&self.comparisons)
            .enumerate()
        {
            let level = store.comparison_level(comparison, left, right);
            if let Some(slot) = levels.get_mut(idx) {
                *slot = level;
            }
            let weight = self.level_weight(
                params,
                tf_cache.get(idx),
                store,
                comparison.column,
                level,
                left,
            );
            let label = if level == NULL_LEVEL {
                "missing".to_string()
            } else {
                params
                    .labels
                    .get(usize::from(level))
                    .cloned()
                    .unwrap_or_default()
            };
            if let Some(best) = comparison.evidence_group.and_then(|g| strongest.get_mut(g))
                && weight > 0.0
                && best.is_none_or(|(w, _)| weight > w)
            {
                *best = Some((weight, idx));
            }
            if let Some(worst) = comparison.evidence_group.and_then(|g| weakest.get_mut(g))
                && weight < 0.0
                && worst.is_none_or(|(w, _)| weight < w)
            {
                *worst = Some((weight, idx));
            }
            fields.push(FieldContribution {
                field: params.name.clone(),
                level: label,
                bayes_factor: weight.exp2(),
                weight,
            });
        }
        // Within an evidence group only the strongest agreement (at most the
        // group's cap) and the strongest disagreement count; the others are
        // shown at zero with the reason. When the group's `when_unknown`
        // comparison is unknown, every agreement counts up to the larger cap.
        let level_of = |c: usize| levels.get(c).copied().unwrap_or(NULL_LEVEL);
        let mut budgets: [Option<f64>; EVIDENCE_GROUPS_MAX] = [None; EVIDENCE_GROUPS_MAX];
        for (idx, comparison) in settings.comparisons.iter().enumerate() {
            let (Some(group), Some(field)) = (
                comparison
                    .evidence_group
                    .and_then(|g| settings.evidence_groups.get(g).map(|e| (g, e))),
                fields.get_mut(idx),
            ) else {
                continue;
            };
            let (group_idx, group) = group;
            if field.weight == 0.0 {
                continue;
            }
            if field.weight > 0.0 && group.unknown_for(level_of) {
                // All agreements count, in field order, until the larger cap is reached.
                let budget = budgets.get_mut(group_idx).map_or(0.0, |b| {
                    let left = *b.get_or_insert_with(|| group.cap(level_of));
                    let taken = field.weight.min(left);
                    *b = Some(left - taken);
                    taken
                });
                if budget < field.weight {
                    field.level = format!(
                        "{}; capped as {} evidence ({} unknown)",
                        field.level,
                        group.name,
                        comparison_name(
                            settings,
                            group.when_unknown.as_ref().map(|u| u.comparison)
                        )
                    );
                    field.weight = budget;
                }
                field.bayes_factor = field.weight.exp2();
                continue;
            }
            let counted = if field.weight > 0.0 {
                &strongest
            } else {
                &weakest
            };
            let kept = counted.get(group_idx).copied().flatten().map(|(_, i)| i);
            if kept == Some(idx) {
                let cap = group.cap(level_of);
                if field.weight > cap {
                    field.level = if group.apart_for(level_of) {
                        format!(
                            "{}; capped as {} evidence ({} disagree)",
                            field.level,
                            group.name,
                            comparison_name(
                                settings,
                                group.when_apart.as_ref().map(|a| a.comparison)
                            )
                        )
                    } else {
                        format!("{}; capped as {} evidence", field.level, group.name)
                    };
                    field.weight = cap;
                }
            } else {
                field.level = format!("{}; counted once as {} evidence", field.level, group.name);
                field.weight = 0.0;
            }
            field.bayes_factor = field.weight.exp2();
        }
        let total = self.prior_log2_odds + fields.iter().map(|f| f.weight).sum::<f64>();
        Explanation {
            prior_weight: self.prior_log2_odds,
            fields,
            match_weight: total,
            match_probability: probability_from_weight(total),
            hard_rule: None,
            relational: None,
        }
    }

    /// Frequencies per norm id for every TF-adjusted comparison, for the
    /// values currently in `store`, looked up in the frozen tables.
    pub(crate) fn extend_tf_cache(
        &self,
        settings: &Settings,
        store: &RecordStore,
        cache: &mut Vec<Vec<f64>>,
    ) {
        cache.resize(self.comparisons.len(), Vec::new());
        for (idx, (comparison, params)) in settings
            .comparisons
            .iter()
            .zip(&self.comparisons)
            .enumerate()
        {
            let (Some(table), Some(column), Some(entry)) = (
                &params.tf,
                store.columns.get(comparison.column),
                cache.get_mut(idx),
            ) else {
                continue;
            };
            for norm_id in entry.len()..column.norms.len() {
                let norm_id = u32::try_from(norm_id).unwrap_or(u32::MAX);
                entry.push(table.frequency(column.norms.get(norm_id)));
            }
        }
    }
}

fn pack_levels(levels: &[u8]) -> u64 {
    levels.iter().enumerate().fold(0u64, |acc, (idx, level)| {
        acc | (u64::from(*level & 0xF) << (4 * idx))
    })
}

fn unpack_level(pattern: u64, idx: usize) -> u8 {
    ((pattern >> (4 * idx)) & 0xF) as u8
}

/// Train a model on the records of `store`: TF tables from the records, u from
/// random pairs drawn with `rng`, m by EM on each configured session's
/// candidate pairs, and the prior from the candidate pairs of all rules.
pub fn train<R: Rng>(
    settings: &Settings,
    store: &RecordStore,
    blocking: &crate::index::BlockIndex,
    scope: LinkScope,
    rng: &mut R,
) -> (Model, TrainingReport) {
    let (model, report, _) = train_with_scores(settings, store, blocking, scope, None, rng);
    (model, report)
}

/// Every record's candidates (earlier records, in order) with their field
/// weights under the trained model, computed while estimating the prior and
/// reused by the first batch link so pairs are scored once.
#[derive(Debug, Default)]
pub(crate) struct CandidateScores {
    /// Start of each record's candidates in `others`; one more entry than records.
    pub(crate) offsets: Vec<usize>,
    /// Candidate record indices.
    pub(crate) others: Vec<u32>,
    /// Field weights (no prior) per candidate.
    pub(crate) field_weights: Vec<f64>,
}

/// Every record's candidates (earlier records, sorted), in one flat list.
#[derive(Debug, Default, Clone)]
pub(crate) struct CandidateLists {
    /// Start of each record's candidates in `others`; one more entry than records.
    pub(crate) offsets: Vec<usize>,
    /// Candidate record indices.
    pub(crate) others: Vec<u32>,
}

/// [`train`], also returning the candidate scores.
pub(crate) fn train_with_scores<R: Rng>(
    settings: &Settings,
    store: &RecordStore,
    blocking: &crate::index::BlockIndex,
    scope: LinkScope,
    lists: Option<CandidateLists>,
    rng: &mut R,
) -> (Model, TrainingReport, CandidateScores) {
    let n_comparisons = settings.comparisons.len();
    let mut report = TrainingReport::default();
    let n_records = store.len();

    // Term frequencies.
    let mut comparisons: Vec<ComparisonModel> = settings
        .comparisons
        .iter()
        .map(|comparison| {
            let n_levels = comparison.levels.len() + 1;
            let mut labels: Vec<String> =
                comparison.levels.iter().map(|l| l.label.clone()).collect();
            labels.push("else".into());
            let tf_levels = comparison
                .levels
                .iter()
                .map(|l| {
                    comparison.tf_adjust
                        && matches!(l.spec, LevelSpec::Exact | LevelSpec::ExactNormalised)
                })
                .chain(std::iter::once(false))
                .collect();
            ComparisonModel {
                name: comparison.name.clone(),
                labels,
                m: default_m(n_levels),
                u: vec![1.0 / n_levels as f64; n_levels],
                log2_bayes_factor: vec![0.0; n_levels],
                tf_levels,
                tf: None,
            }
        })
        .collect();
    // Term-frequency tables, one per adjusted comparison, on all cores.
    {
        use rayon::prelude::*;
        comparisons
            .par_iter_mut()
            .zip(settings.comparisons.par_iter())
            .filter(|(_, comparison)| comparison.tf_adjust)
            .for_each(|(params, comparison)| {
                params.tf = Some(tf_table(store, comparison.column));
            });
    }

    // u from random pairs (all pairs when there are few). The pairs are drawn
    // first, sequentially, so the result depends only on the RNG; counting is
    // split over two threads.
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let n_total_pairs = n_records.saturating_mul(n_records.saturating_sub(1)) / 2;
    if n_total_pairs <= settings.limits.u_random_pairs {
        for left in 0..n_records as u32 {
            for right in (left + 1)..n_records as u32 {
                if scope.allows(store, left, right) {
                    pairs.push((left, right));
                }
            }
        }
    } else if n_records >= 2 {
        let attempts_max = settings.limits.u_random_pairs.saturating_mul(4);
        let mut attempts = 0;
        while pairs.len() < settings.limits.u_random_pairs && attempts < attempts_max {
            attempts += 1;
            let left = rng.random_range(0..n_records) as u32;
            let right = rng.random_range(0..n_records) as u32;
            if scope.allows(store, left, right) {
                pairs.push((left, right));
            }
        }
    }
    report.u_pairs = pairs.len();
    let count_levels = |chunk: &[(u32, u32)]| -> Vec<Vec<f64>> {
        let mut counts: Vec<Vec<f64>> = comparisons.iter().map(|c| vec![0.0; c.m.len()]).collect();
        for (left, right) in chunk {
            for (comparison, slots) in settings.comparisons.iter().zip(counts.iter_mut()) {
                let level = store.comparison_level(comparison, *left, *right);
                if let Some(slot) = slots.get_mut(usize::from(level)) {
                    *slot += 1.0;
                }
            }
        }
        counts
    };
    let (first_half, second_half) = pairs.split_at(pairs.len() / 2);
    let (mut u_counts, second_counts) = std::thread::scope(|scope| {
        let second = scope.spawn(|| count_levels(second_half));
        let first = count_levels(first_half);
        (
            first,
            second.join().unwrap_or_else(|_| count_levels(second_half)),
        )
    });
    for (total, part) in u_counts.iter_mut().zip(&second_counts) {
        for (slot, add) in total.iter_mut().zip(part) {
            *slot += add;
        }
    }
    for (params, counts) in comparisons.iter_mut().zip(&u_counts) {
        let total: f64 = counts.iter().sum::<f64>() + 0.5 * counts.len() as f64;
        params.u = counts
            .iter()
            .map(|c| ((c + 0.5) / total).max(PROBABILITY_MIN))
            .collect();
    }
    // An exact first level's u is known exactly: the chance that two random
    // records share a value, from the value frequencies. Sampling would see
    // only a handful of such pairs.
    let collisions: Vec<Option<f64>> = {
        use rayon::prelude::*;
        settings
            .comparisons
            .par_iter()
            .map(|comparison| {
                let exact_first = comparison.levels.first().is_some_and(|l| {
                    matches!(l.spec, LevelSpec::Exact | LevelSpec::ExactNormalised)
                });
                exact_first
                    .then(|| collision_probability(store, comparison.column, scope))
                    .flatten()
            })
            .collect()
    };
    for (params, collision) in comparisons.iter_mut().zip(collisions) {
        let Some(collision) = collision else {
            continue;
        };
        let sampled_rest: f64 = params.u.iter().skip(1).sum();
        let exact_u = collision.max(PROBABILITY_MIN);
        if sampled_rest > 0.0
            && let Some(first) = params.u.first_mut()
        {
            *first = exact_u;
            let scale = (1.0 - exact_u) / sampled_rest;
            params
                .u
                .iter_mut()
                .skip(1)
                .for_each(|u| *u = (*u * scale).max(PROBABILITY_MIN));
        }
    }

    // m by EM, one session per configured blocking rule.
    let mut m_sums: Vec<Vec<f64>> = comparisons.iter().map(|c| vec![0.0; c.m.len()]).collect();
    let mut m_sessions = vec![0usize; n_comparisons];
    for rule_idx in &settings.em_sessions {
        let Some(rule) = settings.blocking_rules.get(*rule_idx) else {
            continue;
        };
        let held_out: Vec<bool> = settings
            .comparisons
            .iter()
            .map(|c| {
                rule.parts.iter().any(|part| {
                    part.uses(c.column)
                        || c.levels
                            .iter()
                            .any(|l| l.other_column.is_some_and(|o| part.uses(o)))
                })
            })
            .collect();
        let patterns = session_patterns(settings, store, blocking, *rule_idx, scope, rng);
        let n_pairs: usize = patterns.iter().map(|(_, count)| *count as usize).sum();
        let (session_m, iterations, converged) = run_em(
            &comparisons,
            settings,
            &held_out,
            &patterns,
            settings.limits.em_iterations_max,
        );
        report
            .em_sessions
            .push((rule.name.clone(), n_pairs, iterations, converged));
        if n_pairs == 0 {
            continue;
        }
        for (idx, held) in held_out.iter().enumerate() {
            if *held {
                continue;
            }
            if let (Some(sum), Some(m)) = (m_sums.get_mut(idx), session_m.get(idx)) {
                for (s, value) in sum.iter_mut().zip(m) {
                    *s += value;
                }
                m_sessions[idx] += 1;
            }
        }
    }
    for (idx, params) in comparisons.iter_mut().enumerate() {
        if m_sessions[idx] == 0 {
            report.untrained_comparisons.push(params.name.clone());
        } else {
            params.m = m_sums[idx]
                .iter()
                .map(|s| (s / m_sessions[idx] as f64).max(PROBABILITY_MIN))
                .collect();
        }
        params.log2_bayes_factor = params
            .m
            .iter()
            .zip(&params.u)
            .map(|(m, u)| (m / u).log2())
            .collect();
    }

    // The prior: EM on the prior alone over all candidate pairs, then scaled
    // from candidates to all in-scope pairs.
    let mut model = Model {
        prior_log2_odds: 0.0,
        comparisons,
    };
    let mut tf_cache = Vec::new();
    model.extend_tf_cache(settings, store, &mut tf_cache);
    let lists = lists
        .filter(|l| l.offsets.len() == n_records + 1)
        .unwrap_or_else(|| candidate_lists(settings, store, blocking, scope));
    let scores = score_candidate_lists(&model, settings, store, &tf_cache, lists);
    let weights = &scores.field_weights;
    let n_scope_pairs = scope_pair_count(store, scope).max(1) as f64;
    let mut candidate_prior: f64 = 0.1;
    for _ in 0..100 {
        let prior_weight = weight_from_probability(candidate_prior);
        // Summed in fixed chunks on all cores, then in chunk order.
        let expected: f64 = {
            use rayon::prelude::*;
            let parts: Vec<f64> = weights
                .par_chunks(PAIRS_PER_TASK)
                .map(|chunk| {
                    chunk
                        .iter()
                        .map(|w| probability_from_weight(*w + prior_weight))
                        .sum::<f64>()
                })
                .collect();
            parts.iter().sum()
        };
        let next = (expected / weights.len().max(1) as f64).clamp(1e-9, 1.0 - 1e-9);
        let done = (next - candidate_prior).abs() < 1e-7;
        candidate_prior = next;
        if done {
            break;
        }
    }
    let expected_matches = candidate_prior * weights.len() as f64;
    let prior = (expected_matches / n_scope_pairs).clamp(1e-12, 0.5);
    model.prior_log2_odds = weight_from_probability(prior);
    report.prior_probability = prior;
    (model, report, scores)
}

/// Candidate lists of every record from the block index.
fn candidate_lists(
    settings: &Settings,
    store: &RecordStore,
    blocking: &crate::index::BlockIndex,
    scope: LinkScope,
) -> CandidateLists {
    let mut lists = CandidateLists::default();
    let (mut candidates, mut keys) = (Vec::new(), Vec::with_capacity(16));
    for record in 0..store.len() as u32 {
        lists.offsets.push(lists.others.len());
        blocking.candidates_with(settings, store, scope, record, &mut candidates, &mut keys);
        lists.others.extend_from_slice(&candidates);
    }
    lists.offsets.push(lists.others.len());
    lists
}

/// Field weights of every candidate pair, on all cores (the same whatever
/// the number of threads).
pub(crate) fn score_candidate_lists(
    model: &Model,
    settings: &Settings,
    store: &RecordStore,
    tf_cache: &[Vec<f64>],
    lists: CandidateLists,
) -> CandidateScores {
    use rayon::prelude::*;
    let n_records = lists.offsets.len().saturating_sub(1);
    let candidates_of = |record: usize| -> &[u32] {
        let from = lists.offsets.get(record).copied().unwrap_or(0);
        let to = lists.offsets.get(record + 1).copied().unwrap_or(from);
        lists.others.get(from..to).unwrap_or_default()
    };
    // Records that repeat one mention (a child's many records) share a
    // comparison profile and score alike: a pair of profiles is scored once.
    let (profiles, shared) = store.comparison_profiles(settings);
    let memo_key = |other: u32, record: u32| -> Option<u64> {
        let (p_other, p_record) = (
            *profiles.get(other as usize)?,
            *profiles.get(record as usize)?,
        );
        let repeats = shared.get(p_other as usize).copied().unwrap_or(false)
            || shared.get(p_record as usize).copied().unwrap_or(false);
        repeats.then_some((u64::from(p_other) << 32) | u64::from(p_record))
    };
    let mut slots: FxHashMap<u64, u32> = FxHashMap::default();
    let mut representatives: Vec<(u32, u32)> = Vec::new();
    if shared.iter().any(|s| *s) {
        for record in 0..n_records {
            for other in candidates_of(record) {
                if let Some(key) = memo_key(*other, record as u32) {
                    slots.entry(key).or_insert_with(|| {
                        representatives.push((*other, record as u32));
                        u32::try_from(representatives.len() - 1).unwrap_or(u32::MAX)
                    });
                }
            }
        }
    }
    let memo: Vec<f64> = representatives
        .par_iter()
        .with_min_len(PAIRS_PER_TASK)
        .map(|(other, record)| model.field_weight(settings, store, tf_cache, *other, *record))
        .collect();
    let score_range = |range: std::ops::Range<usize>| -> Vec<f64> {
        let start = lists.offsets.get(range.start).copied().unwrap_or(0);
        let end = lists.offsets.get(range.end).copied().unwrap_or(start);
        let mut weights = Vec::with_capacity(end.saturating_sub(start));
        for record in range {
            for other in candidates_of(record) {
                let remembered = memo_key(*other, record as u32)
                    .and_then(|key| slots.get(&key))
                    .and_then(|slot| memo.get(*slot as usize));
                weights.push(match remembered {
                    Some(weight) => *weight,
                    None => model.field_weight(settings, store, tf_cache, *other, record as u32),
                });
            }
        }
        weights
    };
    let ranges: Vec<std::ops::Range<usize>> = (0..n_records)
        .step_by(RECORDS_PER_TASK)
        .map(|start| start..(start + RECORDS_PER_TASK).min(n_records))
        .collect();
    let parts: Vec<Vec<f64>> = ranges.into_par_iter().map(score_range).collect();
    let mut field_weights = Vec::with_capacity(lists.others.len());
    for part in parts {
        field_weights.extend_from_slice(&part);
    }
    CandidateScores {
        offsets: lists.offsets,
        others: lists.others,
        field_weights,
    }
}

fn scope_pair_count(store: &RecordStore, scope: LinkScope) -> usize {
    let n = store.len();
    match scope {
        LinkScope::Dedupe => n.saturating_mul(n.saturating_sub(1)) / 2,
        LinkScope::LinkOnly => {
            let mut per_dataset: FxHashMap<u16, usize> = FxHashMap::default();
            for tag in &store.datasets {
                *per_dataset.entry(*tag).or_default() += 1;
            }
            let counts: Vec<usize> = per_dataset.values().copied().collect();
            let total: usize = counts.iter().sum();
            let same: usize = counts.iter().map(|c| c * c.saturating_sub(1) / 2).sum();
            (total.saturating_mul(total.saturating_sub(1)) / 2).saturating_sub(same)
        }
    }
}

/// Probability that two random in-scope records with the column present share
/// its normalised value.
fn collision_probability(store: &RecordStore, column: usize, scope: LinkScope) -> Option<f64> {
    let column = store.columns.get(column)?;
    if scope == LinkScope::Dedupe {
        // Counts per norm id (ids are dense); sums of whole numbers, exact
        // in any order.
        let mut counts = vec![0u64; column.norms.len()];
        let mut n = 0u64;
        for record in 0..store.len() as u32 {
            if let Some(count) = counts.get_mut(column.norm_id(record) as usize) {
                *count += 1;
                n += 1;
            }
        }
        if n < 2 {
            return None;
        }
        let same: f64 = counts
            .iter()
            .map(|c| (c * c.saturating_sub(1) / 2) as f64)
            .sum();
        let n = n as f64;
        return Some(same / (n * (n - 1.0) / 2.0));
    }
    // Counts per (data set, norm id).
    let mut counts: FxHashMap<(u16, u32), f64> = FxHashMap::default();
    let mut per_dataset: FxHashMap<u16, f64> = FxHashMap::default();
    for record in 0..store.len() as u32 {
        let norm = column.norm_id(record);
        if norm == u32::MAX {
            continue;
        }
        let dataset = if scope == LinkScope::Dedupe {
            0
        } else {
            store.dataset(record)
        };
        *counts.entry((dataset, norm)).or_default() += 1.0;
        *per_dataset.entry(dataset).or_default() += 1.0;
    }
    match scope {
        LinkScope::Dedupe => {
            let n = per_dataset.get(&0).copied().unwrap_or(0.0);
            if n < 2.0 {
                return None;
            }
            let same: f64 = counts.values().map(|c| c * (c - 1.0) / 2.0).sum();
            Some(same / (n * (n - 1.0) / 2.0))
        }
        LinkScope::LinkOnly => {
            let mut totals: FxHashMap<u32, (f64, f64)> = FxHashMap::default();
            for ((_, norm), count) in &counts {
                let entry = totals.entry(*norm).or_default();
                entry.0 += count;
                entry.1 += count * count;
            }
            let same: f64 = totals
                .values()
                .map(|(sum, squares)| (sum * sum - squares) / 2.0)
                .sum();
            let n_total: f64 = per_dataset.values().sum();
            let within: f64 = per_dataset.values().map(|n| n * n).sum();
            let cross = (n_total * n_total - within) / 2.0;
            (cross > 0.0).then(|| same / cross)
        }
    }
}

fn tf_table(store: &RecordStore, column: usize) -> TfTable {
    let mut n_present = 0usize;
    if let Some(column) = store.columns.get(column) {
        // Counts by norm id (ids are dense).
        let mut counts = vec![0usize; column.norms.len()];
        for record in 0..store.len() as u32 {
            if let Some(count) = counts.get_mut(column.norm_id(record) as usize) {
                *count += 1;
                n_present += 1;
            }
        }
        let n = n_present.max(1) as f64;
        let frequencies = counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(norm, count)| {
                let norm = u32::try_from(norm).unwrap_or(u32::MAX);
                (column.norms.get(norm).into(), *count as f64 / n)
            })
            .collect();
        return TfTable {
            frequencies,
            unseen_frequency: 1.0 / n,
        };
    }
    TfTable::default()
}

fn default_m(n_levels: usize) -> Vec<f64> {
    // Strongest level most likely among matches, falling off; "else" small.
    let mut m: Vec<f64> = (0..n_levels)
        .map(|idx| {
            if idx + 1 == n_levels {
                0.05
            } else {
                0.9_f64.powi(1) * 0.5_f64.powi(idx as i32 * 2)
            }
        })
        .collect();
    let total: f64 = m.iter().sum();
    m.iter_mut().for_each(|v| *v /= total);
    m
}

/// Comparison patterns (packed levels) with counts for one session's pairs.
fn session_patterns<R: Rng>(
    settings: &Settings,
    store: &RecordStore,
    blocking: &crate::index::BlockIndex,
    rule_idx: usize,
    scope: LinkScope,
    rng: &mut R,
) -> Vec<(u64, u32)> {
    let n_pairs = blocking.rule_pair_count(rule_idx);
    let keep_probability = if n_pairs > settings.limits.em_pairs_max {
        settings.limits.em_pairs_max as f64 / n_pairs as f64
    } else {
        1.0
    };
    // The pairs are drawn first, in block order (the RNG's draws do not
    // depend on threads), then compared on all cores.
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(n_pairs.min(settings.limits.em_pairs_max));
    blocking.for_each_rule_pair(rule_idx, |left, right| {
        if !scope.allows(store, left, right) {
            return;
        }
        if keep_probability < 1.0 && rng.random::<f64>() >= keep_probability {
            return;
        }
        pairs.push((left, right));
    });
    use rayon::prelude::*;
    let mut counts: FxHashMap<u64, u32> = pairs
        .par_chunks(PAIRS_PER_TASK)
        .map(|chunk| {
            let mut counts: FxHashMap<u64, u32> = FxHashMap::default();
            let mut levels = vec![0u8; settings.comparisons.len()];
            for (left, right) in chunk {
                for (slot, comparison) in levels.iter_mut().zip(&settings.comparisons) {
                    *slot = store.comparison_level(comparison, *left, *right);
                }
                *counts.entry(pack_levels(&levels)).or_default() += 1;
            }
            counts
        })
        .reduce(FxHashMap::default, |mut total, part| {
            for (pattern, count) in part {
                *total.entry(pattern).or_default() += count;
            }
            total
        });
    let mut patterns: Vec<(u64, u32)> = counts.drain().collect();
    patterns.sort_unstable();
    patterns
}

/// EM over aggregated patterns with u fixed; returns m per comparison,
/// iterations run and whether it converged. Evidence groups count as in
/// scoring (strongest agreement only, capped), so a household's shared
/// surname, address and postcode do not pull household members into the
/// match class.
pub(crate) fn run_em(
    comparisons: &[ComparisonModel],
    settings: &Settings,
    held_out: &[bool],
    patterns: &[(u64, u32)],
    iterations_max: usize,
) -> (Vec<Vec<f64>>, usize, bool) {
    let mut m: Vec<Vec<f64>> = comparisons.iter().map(|c| c.m.clone()).collect();
    let mut lambda: f64 = 0.3;
    let n_total: f64 = patterns.iter().map(|(_, c)| f64::from(*c)).sum();
    if n_total == 0.0 {
        return (m, 0, true);
    }
    for iteration in 1..=iterations_max {
        let mut m_next: Vec<Vec<f64>> = m.iter().map(|levels| vec![0.0; levels.len()]).collect();
        let mut matched_total = 0.0;
        for (pattern, count) in patterns {
            let mut log_odds = (lambda / (1.0 - lambda)).ln();
            let mut groups = GroupTally::default();
            for (idx, params) in comparisons.iter().enumerate() {
                if held_out.get(idx).copied().unwrap_or(true) {
                    continue;
                }
                let level = unpack_level(*pattern, idx);
                if level == NULL_LEVEL {
                    continue;
                }
                let level = usize::from(level);
                let (Some(mv), Some(uv)) =
                    (m.get(idx).and_then(|l| l.get(level)), params.u.get(level))
                else {
                    continue;
                };
                let contribution = (mv / uv).ln();
                match settings.comparisons.get(idx).and_then(|c| c.evidence_group) {
                    Some(g) if g < EVIDENCE_GROUPS_MAX => groups.add(g, contribution),
                    _ => log_odds += contribution,
                }
            }
            log_odds += groups.total(settings, std::f64::consts::LN_2, |idx| {
                unpack_level(*pattern, idx)
            });
            let posterior = 1.0 / (1.0 + (-log_odds).exp());
            let weight = posterior * f64::from(*count);
            matched_total += weight;
            for (idx, slots) in m_next.iter_mut().enumerate() {
                let level = unpack_level(*pattern, idx);
                if level != NULL_LEVEL
                    && let Some(slot) = slots.get_mut(usize::from(level))
                {
                    *slot += weight;
                }
            }
        }
        let mut change: f64 = 0.0;
        for (idx, slots) in m_next.iter_mut().enumerate() {
            if held_out.get(idx).copied().unwrap_or(true) {
                *slots = m.get(idx).cloned().unwrap_or_default();
                continue;
            }
            let total: f64 = slots.iter().sum();
            if total <= 0.0 {
                *slots = m.get(idx).cloned().unwrap_or_default();
                continue;
            }
            for (slot_idx, slot) in slots.iter_mut().enumerate() {
                *slot = (*slot / total).max(PROBABILITY_MIN);
                let previous = m
                    .get(idx)
                    .and_then(|l| l.get(slot_idx))
                    .copied()
                    .unwrap_or(0.0);
                change = change.max((*slot - previous).abs());
            }
        }
        let lambda_next = (matched_total / n_total).clamp(1e-9, 1.0 - 1e-9);
        change = change.max((lambda_next - lambda).abs());
        m = m_next;
        lambda = lambda_next;
        if change < 1e-6 {
            return (m, iteration, true);
        }
    }
    (m, iterations_max, false)
}

/// The stored form of a frozen model (wire type: the domain [`Model`] is built from it).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: u32,
    prior_log2_odds: f64,
    comparisons: Vec<ComparisonFile>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ComparisonFile {
    name: String,
    labels: Vec<String>,
    m: Vec<f64>,
    u: Vec<f64>,
    tf_levels: Vec<bool>,
    tf_unseen_frequency: Option<f64>,
    #[serde(default)]
    tf_values: std::collections::BTreeMap<String, f64>,
}

const MODEL_FORMAT: u32 = 1;

impl Model {
    /// Serialise the frozen model (parameters and TF tables) as TOML, so the
    /// incremental path at intake uses exactly the model a batch run trained.
    pub fn to_toml(&self) -> Result<String, crate::LinkageError> {
        let file = ModelFile {
            format: MODEL_FORMAT,
            prior_log2_odds: self.prior_log2_odds,
            comparisons: self
                .comparisons
                .iter()
                .map(|c| ComparisonFile {
                    name: c.name.clone(),
                    labels: c.labels.clone(),
                    m: c.m.clone(),
                    u: c.u.clone(),
                    tf_levels: c.tf_levels.clone(),
                    tf_unseen_frequency: c.tf.as_ref().map(|t| t.unseen_frequency),
                    tf_values: c
                        .tf
                        .as_ref()
                        .map(|t| {
                            t.frequencies
                                .iter()
                                .map(|(k, v)| (k.to_string(), *v))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        };
        toml::to_string(&file).map_err(|err| crate::LinkageError::Settings(format!("model: {err}")))
    }

    /// Read a model written by [`Model::to_toml`], checking it fits `settings`
    /// (same comparisons, same number of levels).
    pub fn from_toml(text: &str, settings: &Settings) -> Result<Model, crate::LinkageError> {
        let bad = |why: String| crate::LinkageError::Settings(format!("model: {why}"));
        let file: ModelFile = toml::from_str(text).map_err(|err| bad(err.to_string()))?;
        if file.format != MODEL_FORMAT {
            return Err(bad(format!("format {} is not {MODEL_FORMAT}", file.format)));
        }
        if file.comparisons.len() != settings.comparisons.len() {
            return Err(bad("comparison count differs from the settings".into()));
        }
        let mut comparisons = Vec::with_capacity(file.comparisons.len());
        for (stored, comparison) in file.comparisons.into_iter().zip(&settings.comparisons) {
            let n_levels = comparison.levels.len() + 1;
            let fits = stored.name == comparison.name
                && stored.m.len() == n_levels
                && stored.u.len() == n_levels
                && stored.labels.len() == n_levels
                && stored.tf_levels.len() == n_levels;
            if !fits {
                return Err(bad(format!(
                    "comparison {:?} does not fit the settings",
                    stored.name
                )));
            }
            let valid = |p: &f64| p.is_finite() && *p > 0.0 && *p <= 1.0;
            if !stored.m.iter().all(valid) || !stored.u.iter().all(valid) {
                return Err(bad(format!(
                    "comparison {:?} has probabilities outside (0, 1]",
                    stored.name
                )));
            }
            let tf = stored.tf_unseen_frequency.map(|unseen| TfTable {
                frequencies: stored
                    .tf_values
                    .into_iter()
                    .map(|(k, v)| (k.into_boxed_str(), v))
                    .collect(),
                unseen_frequency: unseen,
            });
            comparisons.push(ComparisonModel {
                log2_bayes_factor: stored
                    .m
                    .iter()
                    .zip(&stored.u)
                    .map(|(m, u)| (m / u).log2())
                    .collect(),
                name: stored.name,
                labels: stored.labels,
                m: stored.m,
                u: stored.u,
                tf_levels: stored.tf_levels,
                tf,
            });
        }
        if !file.prior_log2_odds.is_finite() {
            return Err(bad("prior is not finite".into()));
        }
        Ok(Model {
            prior_log2_odds: file.prior_log2_odds,
            comparisons,
        })
    }
}
