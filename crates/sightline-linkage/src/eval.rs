//! Evaluation helpers: the FEBRL loader, truth from `rec_id`, pairwise and
//! cluster metrics, blocking recall and the false-merge rate.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::LinkageError;
use crate::index::{BlockIndex, LinkKind, LinkageIndex};
use crate::model::{LinkScope, TrainingReport, train};
use crate::settings::Settings;
use crate::store::{MentionInput, RecordStore};

/// Seed of the RNG that `evaluate_febrl` trains with, so reports are reproducible.
pub const EVAL_SEED: u64 = 20_070_412;

/// The FEBRL data sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FebrlDataset {
    /// 1,000 records, deduplication.
    Febrl1,
    /// 5,000 records, deduplication.
    Febrl3,
    /// 5,000 + 5,000 records, linkage of A to B.
    Febrl4,
}

impl FebrlDataset {
    /// File names under the FEBRL data folder, in the order `evaluate_febrl` wants their texts.
    pub fn files(self) -> &'static [&'static str] {
        match self {
            FebrlDataset::Febrl1 => &["dataset1.csv"],
            FebrlDataset::Febrl3 => &["dataset3.csv"],
            FebrlDataset::Febrl4 => &["dataset4a.csv", "dataset4b.csv"],
        }
    }

    /// Lower-case name (`febrl1`).
    pub fn name(self) -> &'static str {
        match self {
            FebrlDataset::Febrl1 => "febrl1",
            FebrlDataset::Febrl3 => "febrl3",
            FebrlDataset::Febrl4 => "febrl4",
        }
    }
}

/// A FEBRL record ready for linkage, with its true person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledMention {
    /// The mention (key = `rec_id`, prefixed with the data set tag for FEBRL4 B).
    pub mention: MentionInput,
    /// The true person: the number in `rec-NNN-...`.
    pub truth: u32,
}

/// Parse one FEBRL CSV text (columns separated by `, `; header row first).
pub fn parse_febrl_csv(text: &str, dataset: u16) -> Result<Vec<LabelledMention>, LinkageError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| LinkageError::Data("empty FEBRL file".into()))?
        .split(',')
        .map(str::trim)
        .collect();
    let mut out = Vec::new();
    for (line_idx, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(", ").collect();
        if fields.len() != header.len() {
            return Err(LinkageError::Data(format!(
                "line {}: {} fields, expected {}",
                line_idx + 2,
                fields.len(),
                header.len()
            )));
        }
        let mut rec_id = "";
        let mut mention = MentionInput::default().in_dataset(dataset);
        for (name, value) in header.iter().zip(&fields) {
            if *name == "rec_id" {
                rec_id = value.trim();
            } else if !value.trim().is_empty() {
                mention
                    .values
                    .push(((*name).to_string(), value.trim().to_string()));
            }
        }
        let truth = rec_id
            .split('-')
            .nth(1)
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| {
                LinkageError::Data(format!(
                    "line {}: rec_id {rec_id:?} has no number",
                    line_idx + 2
                ))
            })?;
        mention.key = format!("{dataset}/{rec_id}");
        out.push(LabelledMention { mention, truth });
    }
    Ok(out)
}

/// Precision, recall and F1 of a set of predicted pairs against true pairs.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PairMetrics {
    /// Pairs predicted.
    pub predicted: usize,
    /// True pairs.
    pub actual: usize,
    /// Predicted and true.
    pub true_positives: usize,
    /// true_positives / predicted.
    pub precision: f64,
    /// true_positives / actual.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// Pairwise metrics; pairs are `(smaller, larger)` record indices.
pub fn pair_metrics(
    predicted: &FxHashSet<(u32, u32)>,
    actual: &FxHashSet<(u32, u32)>,
) -> PairMetrics {
    let true_positives = predicted.iter().filter(|p| actual.contains(p)).count();
    let precision = if predicted.is_empty() {
        1.0
    } else {
        true_positives as f64 / predicted.len() as f64
    };
    let recall = if actual.is_empty() {
        1.0
    } else {
        true_positives as f64 / actual.len() as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairMetrics {
        predicted: predicted.len(),
        actual: actual.len(),
        true_positives,
        precision,
        recall,
        f1,
    }
}

/// All in-scope pairs within each group of `labels` (record index -> group).
pub fn pairs_within_groups(
    labels: &[u32],
    store: &RecordStore,
    scope: LinkScope,
) -> FxHashSet<(u32, u32)> {
    let mut groups: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (record, label) in labels.iter().enumerate() {
        groups.entry(*label).or_default().push(record as u32);
    }
    let mut pairs = FxHashSet::default();
    for members in groups.values() {
        for (idx, right) in members.iter().enumerate() {
            for left in members.get(..idx).unwrap_or_default() {
                if scope.allows(store, *left, *right) {
                    pairs.insert(((*left).min(*right), (*left).max(*right)));
                }
            }
        }
    }
    pairs
}

/// Share of predicted clusters with two or more records that hold two or more true persons.
pub fn false_merge_rate(persons: &[u32], truth: &[u32]) -> f64 {
    let mut clusters: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (record, person) in persons.iter().enumerate() {
        if let Some(label) = truth.get(record) {
            clusters.entry(*person).or_default().push(*label);
        }
    }
    let multi: Vec<&Vec<u32>> = clusters
        .values()
        .filter(|labels| labels.len() >= 2)
        .collect();
    if multi.is_empty() {
        return 0.0;
    }
    let merged = multi
        .iter()
        .filter(|labels| labels.iter().any(|l| *l != labels[0]))
        .count();
    merged as f64 / multi.len() as f64
}

/// What an evaluation measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    /// Data set name.
    pub dataset: &'static str,
    /// Whether soc_sec_id was used as evidence.
    pub use_ssn: bool,
    /// Records linked.
    pub records: usize,
    /// Candidate pairs scored.
    pub candidate_pairs: usize,
    /// Pairwise metrics of accepted links (auto and hard).
    pub pairs: PairMetrics,
    /// Pairwise metrics of the pairs implied by the persons (clusters).
    pub clusters: PairMetrics,
    /// Share of multi-record clusters holding two or more true persons.
    pub false_merge_rate: f64,
    /// Share of true pairs that blocking made candidates.
    pub blocking_recall: f64,
    /// Pairs left for clerical review.
    pub review_pairs: usize,
    /// Training details.
    pub training: TrainingReport,
    /// Blocking statistics.
    pub blocking: crate::index::BlockingStats,
}

/// Train on and link a FEBRL data set, then score the result against the
/// truth in `rec_id`. `csv_texts` are the file texts in [`FebrlDataset::files`] order.
pub fn evaluate_febrl(
    dataset: FebrlDataset,
    use_ssn: bool,
    csv_texts: &[&str],
) -> Result<EvalReport, LinkageError> {
    let settings = Settings::febrl(use_ssn)?;
    let expected_files = dataset.files().len();
    if csv_texts.len() != expected_files {
        return Err(LinkageError::Data(format!(
            "{} needs {expected_files} CSV texts",
            dataset.name()
        )));
    }
    let mut labelled = Vec::new();
    for (tag, text) in csv_texts.iter().enumerate() {
        labelled.extend(parse_febrl_csv(
            text,
            u16::try_from(tag).unwrap_or(u16::MAX),
        )?);
    }
    let scope = if dataset == FebrlDataset::Febrl4 {
        LinkScope::LinkOnly
    } else {
        LinkScope::Dedupe
    };
    let mentions: Vec<MentionInput> = labelled.iter().map(|l| l.mention.clone()).collect();
    let truth: Vec<u32> = labelled.iter().map(|l| l.truth).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED);
    let (index, training) =
        LinkageIndex::train_and_link(settings, scope, &mentions, &[], &mut rng)?;
    Ok(report_for(
        &index,
        &truth,
        dataset.name(),
        use_ssn,
        scope,
        training,
    ))
}

/// Prepare `mentions` into a fresh store and block index and train a model on them.
pub fn train_on<R: rand::Rng>(
    settings: &Settings,
    mentions: &[MentionInput],
    scope: LinkScope,
    rng: &mut R,
) -> (crate::Model, TrainingReport) {
    let mut store = RecordStore::new(settings);
    let mut blocks = BlockIndex::new(settings);
    for mention in mentions {
        let record = store.push(settings, mention);
        blocks.insert(settings, &store, record);
    }
    train(settings, &store, &blocks, scope, rng)
}

/// Score a linked index against per-record truth labels.
pub fn report_for(
    index: &LinkageIndex,
    truth: &[u32],
    dataset: &'static str,
    use_ssn: bool,
    scope: LinkScope,
    training: TrainingReport,
) -> EvalReport {
    let store = index.store();
    let actual = pairs_within_groups(truth, store, scope);
    let predicted: FxHashSet<(u32, u32)> = index
        .links()
        .iter()
        .filter(|l| l.kind != LinkKind::Review)
        .map(|l| (l.left.min(l.right), l.left.max(l.right)))
        .collect();
    let cluster_pairs = pairs_within_groups(index.persons(), store, scope);
    let covered = actual
        .iter()
        .filter(|(left, right)| index.candidates_of(*right).binary_search(left).is_ok())
        .count();
    EvalReport {
        dataset,
        use_ssn,
        records: store.len(),
        candidate_pairs: index.candidate_pairs(),
        pairs: pair_metrics(&predicted, &actual),
        clusters: pair_metrics(&cluster_pairs, &actual),
        false_merge_rate: false_merge_rate(index.persons(), truth),
        blocking_recall: if actual.is_empty() {
            1.0
        } else {
            covered as f64 / actual.len() as f64
        },
        review_pairs: index.review_queue().len(),
        training,
        blocking: index.blocking_stats(),
    }
}
