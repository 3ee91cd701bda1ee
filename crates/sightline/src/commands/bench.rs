//! `sightline bench ingest`: intake speed against the physical reference.

use anyhow::Context;
use clap::Subcommand;
use sightline_store::ReferenceRow;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Generate a synthetic region, ingest it into a fresh database through the
    /// real intake path (validation, one transaction, durable commit), then insert
    /// the same rows as a plain bulk insert with a unique key into another fresh
    /// database of the same kind (the physical reference). Prints both rates.
    Ingest {
        /// Children in the synthetic region (about 17 records per child).
        #[arg(long, default_value_t = 60_000)]
        children: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory (region files and SQLite databases); replaced.
        #[arg(long, default_value = "target/bench-ingest")]
        work_dir: PathBuf,
        /// Database for Sightline's intake; a fresh SQLite file by default. A
        /// PostgreSQL URL must name an empty database.
        #[arg(long)]
        db: Option<String>,
        /// Database for the reference insert; a fresh SQLite file by default. A
        /// PostgreSQL URL must name an empty database.
        #[arg(long)]
        reference_db: Option<String>,
        /// Database for the log-only intake (no engine: no linkage, no rules); a
        /// fresh SQLite file by default. A PostgreSQL URL must name an empty database.
        #[arg(long)]
        log_only_db: Option<String>,
        /// Skip the physical reference insert.
        #[arg(long)]
        no_reference: bool,
    },
}

pub fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Ingest {
        children,
        seed,
        work_dir,
        db,
        reference_db,
        log_only_db,
        no_reference,
    } = command;
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir)
            .with_context(|| format!("{}: cannot remove", work_dir.display()))?;
    }
    let region_dir = work_dir.join("region");
    let config = super::synth::config(children, seed, None, None)?;
    eprintln!("generating a region of {children} children ...");
    let summary = sightline_synth::generate(&config, &region_dir)?;
    let files: Vec<PathBuf> = summary
        .files
        .iter()
        .map(|file| region_dir.join(file))
        .collect();
    let bytes: u64 = files
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|metadata| metadata.len())
        .sum();

    // The same intake without the engine (log only), then with it: the
    // difference is what linkage and rule evaluation in the transaction cost.
    let log_only_url = log_only_db
        .unwrap_or_else(|| format!("sqlite://{}", work_dir.join("log-only.db").display()));
    let store =
        sightline_store::open(&log_only_url).context("could not open the log-only database")?;
    let backend = store.backend();
    eprintln!(
        "ingesting {} records ({} MB) into {backend} without the engine ...",
        summary.records,
        bytes / 1_000_000
    );
    let started = Instant::now();
    let log_only =
        super::ingest::ingest_files(store.as_ref(), None, &files)?.map_err(|n_problems| {
            anyhow::anyhow!("the region failed validation with {n_problems} problem(s)")
        })?;
    let log_only_seconds = started.elapsed().as_secs_f64();
    drop(store);

    let db_url =
        db.unwrap_or_else(|| format!("sqlite://{}", work_dir.join("sightline.db").display()));
    let store = sightline_store::open(&db_url).context("could not open the benchmark database")?;
    eprintln!("ingesting the same records with the engine (linkage, rules, alerts) ...");
    let started = Instant::now();
    let engine = super::load_engine(store.as_ref())?;
    let ingest = super::ingest::ingest_files(store.as_ref(), Some(&engine), &files)?.map_err(
        |n_problems| anyhow::anyhow!("the region failed validation with {n_problems} problem(s)"),
    )?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    drop(engine);
    drop(store);
    println!(
        "| backend | records | log-only intake s | intake with engine s | engine overhead | alerts raised |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {backend} | {} | {log_only_seconds:.1} | {ingest_seconds:.1} | {:+.0}% | {} |",
        log_only.records,
        (ingest_seconds / log_only_seconds - 1.0) * 100.0,
        ingest.alerts.raised
    );
    if no_reference {
        return Ok(ExitCode::SUCCESS);
    }
    let ingest_seconds = log_only_seconds;
    let ingest = log_only;

    eprintln!("loading the same rows for the reference insert ...");
    let bodies = read_bodies(&files)?;
    let keys: Vec<(String, String, i64)> = bodies
        .iter()
        .map(|body| key_of(body))
        .collect::<anyhow::Result<_>>()?;
    let rows: Vec<ReferenceRow<'_>> = keys
        .iter()
        .zip(&bodies)
        .map(|((agency, record_id, version), body)| ReferenceRow {
            agency,
            record_id,
            version: *version,
            body,
        })
        .collect();
    let reference_url = reference_db
        .unwrap_or_else(|| format!("sqlite://{}", work_dir.join("reference.db").display()));
    let started = Instant::now();
    let n_reference = sightline_store::reference_bulk_insert(&reference_url, &rows)?;
    let reference_seconds = started.elapsed().as_secs_f64();

    let ingest_rate = ingest.records as f64 / ingest_seconds;
    let reference_rate = n_reference as f64 / reference_seconds;
    println!(
        "| backend | records | Sightline intake s | Sightline records/s | reference rows/s | reference / Sightline |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {backend} | {} | {ingest_seconds:.1} | {ingest_rate:.0} | {reference_rate:.0} | {:.2} |",
        ingest.records,
        reference_rate / ingest_rate
    );
    Ok(ExitCode::SUCCESS)
}

fn read_bodies(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut bodies = Vec::new();
    for file in files {
        let reader = std::io::BufReader::new(std::fs::File::open(file)?);
        for line in reader.lines() {
            let line = line?;
            if !line.trim().is_empty() {
                bodies.push(line);
            }
        }
    }
    Ok(bodies)
}

fn key_of(body: &str) -> anyhow::Result<(String, String, i64)> {
    #[derive(serde::Deserialize)]
    struct Source {
        agency: String,
        record_id: String,
        version: Option<i64>,
    }
    #[derive(serde::Deserialize)]
    struct Keyed {
        source: Source,
    }
    let keyed: Keyed = serde_json::from_str(body).context("a region record has no source")?;
    Ok((
        keyed.source.agency,
        keyed.source.record_id,
        keyed.source.version.unwrap_or(1),
    ))
}
