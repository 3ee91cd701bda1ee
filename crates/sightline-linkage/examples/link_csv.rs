//! Dedupe a CSV of person records with the built-in UK settings, for the
//! linkage benchmark (`scripts/bench-linkage`):
//! `cargo run --release -p sightline-linkage --example link_csv -- IN.csv OUT_PREFIX`.
//!
//! The CSV has a header; `record_id` is the key, `person_id` (the truth) is
//! skipped, every other column is passed by its header name. Values hold no
//! commas or quotes (the generator writes none); a malformed row is an error.
//! Writes `OUT_PREFIX.pairs.csv` (`left,right`: record ids of automatic and
//! hard links), `OUT_PREFIX.clusters.csv` (`record_id,cluster`) and
//! `OUT_PREFIX.model.toml` (the trained model), and prints
//! one line with the seconds from opening the file to persons found
//! (read, train, predict, cluster).

use std::io::Write as _;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sightline_linkage::{LinkKind, LinkScope, LinkageIndex, MentionInput, Settings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: link_csv IN.csv OUT_PREFIX")?;
    let prefix = args.next().ok_or("usage: link_csv IN.csv OUT_PREFIX")?;
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
    // Rows stream into the index one by one; the first bad row stops the stream
    // and is reported after it.
    let mut bad_row: Option<String> = None;
    let mentions = lines.enumerate().map_while(|(number, line)| {
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                bad_row = Some(format!("row {}: {err}", number + 2));
                return None;
            }
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            bad_row = Some(format!("row {} has {} fields", number + 2, fields.len()));
            return None;
        }
        let mut mention = MentionInput::new(fields[key_at]);
        for (idx, (name, value)) in header.iter().zip(&fields).enumerate() {
            if idx != key_at && Some(idx) != truth_at && !value.is_empty() {
                mention = mention.with(name, *value);
            }
        }
        Some(mention)
    });
    let settings = Settings::uk_persons()?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (index, report) =
        LinkageIndex::train_and_link(settings, LinkScope::Dedupe, mentions, &[], &mut rng)?;
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
    // The process ends here: leave the index's memory to the operating system
    // instead of freeing a million records one allocation at a time.
    let summary = (index.candidate_pairs(), report.em_sessions.clone());
    std::mem::forget(index);
    println!(
        "read+train+predict+cluster {link_seconds:.2} candidates {} em {:?}",
        summary.0, summary.1
    );
    Ok(())
}
