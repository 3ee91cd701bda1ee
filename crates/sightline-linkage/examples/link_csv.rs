//! Dedupe a CSV of person records with the built-in UK settings, for the
//! linkage benchmark (`scripts/bench-linkage`):
//! `cargo run --release -p sightline-linkage --example link_csv -- IN.csv OUT_PREFIX [SETTINGS.toml]`
//! (built-in `uk-persons` settings unless a settings file is given).
//!
//! The CSV has a header; `record_id` is the key, `person_id` (the truth) is
//! skipped, every other column is passed by its header name. Values hold no
//! commas or quotes (the generator writes none); a malformed row is an error.
//! Writes `OUT_PREFIX.pairs.csv` (`left,right`: record ids of automatic and
//! hard links), `OUT_PREFIX.clusters.csv` (`record_id,cluster`) and
//! `OUT_PREFIX.model.toml` (the trained model), and prints
//! one line with the seconds from opening the file to persons found
//! (read, train, predict, cluster), the candidate pairs, and, when the file
//! has a `person_id` column, blocking recall: the share of true pairs that
//! blocking made candidates (computed after the timed part).

use std::io::Write as _;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sightline_linkage::{LinkKind, LinkScope, LinkageIndex, MentionInput, Settings};

/// The allocator of the `sightline` binary (many small values are made on
/// several threads and freed on another).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Lines parsed together on all cores.
const LINES_PER_BATCH: usize = 1 << 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: link_csv IN.csv OUT_PREFIX [SETTINGS.toml]";
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or(usage)?;
    let prefix = args.next().ok_or(usage)?;
    let settings = match args.next() {
        Some(path) => Settings::from_toml(&std::fs::read_to_string(path)?)?,
        None => Settings::uk_persons()?,
    };
    let started = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(&input)?);
    let mut lines = std::io::BufRead::lines(reader);
    let header_line = lines.next().ok_or("empty CSV")??;
    let header: Vec<String> = header_line.split(',').map(str::to_owned).collect();
    let key_at = header
        .iter()
        .position(|h| h == "record_id")
        .ok_or("no record_id column")?;
    let truth_at = header.iter().position(|h| h == "person_id");
    // Rows stream into the index a batch of lines at a time, each batch parsed
    // on all cores; the first bad row stops the stream and is reported after it.
    let mut bad_row: Option<String> = None;
    let mut row_number = 1usize;
    // The truth column (when present), record by record, for blocking recall.
    let mut truths: Vec<Option<String>> = Vec::new();
    let batches = std::iter::from_fn(|| {
        if bad_row.is_some() {
            return None;
        }
        let mut batch = Vec::with_capacity(LINES_PER_BATCH);
        for line in lines.by_ref().take(LINES_PER_BATCH) {
            row_number += 1;
            match line {
                Ok(line) => batch.push(line),
                Err(err) => {
                    bad_row = Some(format!("row {row_number}: {err}"));
                    break;
                }
            }
        }
        let first_row = row_number + 1 - batch.len();
        let parsed: Vec<Result<(MentionInput, Option<String>), String>> = batch
            .par_iter()
            .enumerate()
            .map(|(offset, line)| {
                let fields: Vec<&str> = line.split(',').collect();
                if fields.len() != header.len() {
                    return Err(format!(
                        "row {} has {} fields",
                        first_row + offset,
                        fields.len()
                    ));
                }
                let truth = truth_at
                    .and_then(|at| fields.get(at))
                    .map(|t| (*t).to_owned());
                let mut mention = MentionInput::new(fields[key_at]);
                for (idx, (name, value)) in header.iter().zip(&fields).enumerate() {
                    if idx != key_at && Some(idx) != truth_at && !value.is_empty() {
                        mention = mention.with(name, *value);
                    }
                }
                Ok((mention, truth))
            })
            .collect();
        let mut mentions = Vec::with_capacity(parsed.len());
        for mention in parsed {
            match mention {
                Ok((mention, truth)) => {
                    truths.push(truth);
                    mentions.push(mention);
                }
                Err(bad) => {
                    bad_row.get_or_insert(bad);
                    break;
                }
            }
        }
        (!mentions.is_empty()).then_some(mentions)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (index, report) = LinkageIndex::train_and_link(
        settings,
        LinkScope::Dedupe,
        batches.flatten(),
        &[],
        &mut rng,
    )?;
    if let Some(bad) = bad_row {
        return Err(bad.into());
    }
    let link_seconds = started.elapsed().as_secs_f64();
    let mut pairs = std::io::BufWriter::new(std::fs::File::create(format!("{prefix}.pairs.csv"))?);
    writeln!(pairs, "left,right")?;
    for link in index.links().iter().filter(|l| l.kind != LinkKind::Review) {
        writeln!(
            pairs,
            "{},{}",
            index.key_of(link.left),
            index.key_of(link.right)
        )?;
    }
    pairs.flush()?;
    std::fs::write(format!("{prefix}.model.toml"), index.model().to_toml()?)?;
    let mut clusters =
        std::io::BufWriter::new(std::fs::File::create(format!("{prefix}.clusters.csv"))?);
    writeln!(clusters, "record_id,cluster")?;
    for (record, person) in index.persons().iter().enumerate() {
        let record = u32::try_from(record)?;
        writeln!(clusters, "{},{}", index.key_of(record), person)?;
    }
    clusters.flush()?;
    // Blocking recall (after the timed part): the share of true pairs
    // (records with one `person_id`) that blocking made candidates.
    let mut by_person: rustc_hash::FxHashMap<&str, Vec<u32>> = rustc_hash::FxHashMap::default();
    for (record, truth) in truths.iter().enumerate() {
        if let Some(truth) = truth {
            by_person
                .entry(truth.as_str())
                .or_default()
                .push(u32::try_from(record)?);
        }
    }
    let (mut true_pairs, mut blocked) = (0usize, 0usize);
    for records in by_person.values() {
        for (at, right) in records.iter().enumerate() {
            for left in &records[..at] {
                true_pairs += 1;
                blocked += usize::from(index.blocked_together(*left, *right));
            }
        }
    }
    let blocking_recall = if true_pairs == 0 {
        "n/a".to_string()
    } else {
        format!("{:.4}", blocked as f64 / true_pairs as f64)
    };
    // The process ends here: leave the index's memory to the operating system
    // instead of freeing a million records one allocation at a time.
    let summary = (index.candidate_pairs(), report.em_sessions.clone());
    std::mem::forget(index);
    println!(
        "read+train+predict+cluster {link_seconds:.2} candidates {} blocking_recall {blocking_recall} em {:?}",
        summary.0, summary.1
    );
    Ok(())
}
