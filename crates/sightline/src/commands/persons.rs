//! `sightline persons` and `sightline link-eval`: linkage from the command line.

use crate::DbArg;
use anyhow::Context;
use serde_json::json;
use sightline_app::persons::{Decisions, load_decisions};
use sightline_app::picture::{
    LinkedRecords, ModelChoice, link_records_with, load_versions, person_facts,
};
use sightline_linkage::{FebrlDataset, evaluate_febrl};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct PersonsArgs {
    #[command(flatten)]
    db: DbArg,
    /// Only what had been recorded by this date (YYYY-MM-DD) or instant (RFC 3339).
    #[arg(long)]
    as_of: Option<String>,
    /// Print a JSON array, one object per person with every source mention.
    #[arg(long)]
    json: bool,
}

/// Parses `--as-of`/`--until`: a date means the end of that day (UTC).
pub fn parse_instant(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("\"{text}\" is not a date (YYYY-MM-DD) or an RFC 3339 instant"))?;
    let end_of_day = date.and_hms_opt(23, 59, 59).context("invalid time")?;
    Ok(end_of_day.and_utc())
}

/// Loads the log and links it, applying the standing linkage decisions (those
/// made by `as_of`, when given).
pub fn linked(
    db: &DbArg,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<LinkedRecords> {
    let store = super::open_store(db)?;
    let records = load_versions(store.as_ref(), as_of).context("could not read the log")?;
    let mut rows = load_decisions(store.as_ref()).context("could not read linkage decisions")?;
    if let Some(as_of) = as_of {
        rows.retain(|row| row.at_us <= sightline_app::to_micros(as_of));
    }
    let decisions = Decisions::from_rows(&rows);
    link_records_with(records, ModelChoice::Automatic, &decisions.standing())
        .context("linkage failed")
}

pub fn run(args: PersonsArgs) -> anyhow::Result<ExitCode> {
    let as_of = args.as_of.as_deref().map(parse_instant).transpose()?;
    let linked = linked(&args.db, as_of)?;
    let facts = person_facts(&linked);
    if args.json {
        let persons: Vec<serde_json::Value> = facts
            .values()
            .map(|person| {
                let mentions: Vec<serde_json::Value> = person
                    .mentions
                    .iter()
                    .map(|mention| {
                        let record = &linked.records[mention.record_idx].record;
                        json!({
                            "agency": record.source.agency.as_str(),
                            "record_id": record.source.record_id.as_str(),
                            "ref": linked.person_of(*mention).person_ref,
                        })
                    })
                    .collect();
                json!({
                    "id": person.id,
                    "given_names": person.given_names,
                    "family_name": person.family_name,
                    "dob": person.dob.map(|dob| dob.to_string()),
                    "sex": person.sex.map(|sex| sex.as_str()),
                    "nhs_number": person.nhs_number,
                    "is_child": person.is_child,
                    "mentions": mentions,
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&persons)?);
    } else {
        outln!(
            "{:<20} {:<32} {:<10} {:>8}  agencies",
            "id",
            "name",
            "dob",
            "mentions"
        );
        for person in facts.values() {
            let name = format!(
                "{} {}",
                person.given_names.as_deref().unwrap_or(""),
                person.family_name.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned();
            let mut agencies: Vec<&str> = person
                .mentions
                .iter()
                .map(|mention| {
                    linked.records[mention.record_idx]
                        .record
                        .source
                        .agency
                        .as_str()
                })
                .collect();
            agencies.sort_unstable();
            agencies.dedup();
            outln!(
                "{:<20} {:<32} {:<10} {:>8}  {}",
                person.id,
                name,
                person.dob.map(|dob| dob.to_string()).unwrap_or_default(),
                person.mentions.len(),
                agencies.join(", ")
            );
        }
        eoutln!(
            "{} person(s) from {} mention(s) in {} record(s)",
            facts.len(),
            linked.mentions.len(),
            linked.records.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum DatasetArg {
    Febrl1,
    Febrl3,
    Febrl4,
}

#[derive(clap::Args)]
pub struct LinkEvalArgs {
    /// Which FEBRL data set.
    #[arg(long, value_enum)]
    dataset: DatasetArg,
    /// Leave out the soc_sec_id column (a strong identifier, corrupted in duplicates).
    #[arg(long)]
    no_ssn: bool,
    /// Where the FEBRL CSV files are.
    #[arg(
        long,
        env = "SIGHTLINE_FEBRL_DIR",
        default_value = "../shared/data/febrl"
    )]
    data_dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn link_eval(args: LinkEvalArgs) -> anyhow::Result<ExitCode> {
    let dataset = match args.dataset {
        DatasetArg::Febrl1 => FebrlDataset::Febrl1,
        DatasetArg::Febrl3 => FebrlDataset::Febrl3,
        DatasetArg::Febrl4 => FebrlDataset::Febrl4,
    };
    let texts: Vec<String> = dataset
        .files()
        .iter()
        .map(|file| {
            let path = args.data_dir.join(file);
            std::fs::read_to_string(&path)
                .with_context(|| format!("{}: cannot read (set --data-dir)", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    let report = evaluate_febrl(dataset, !args.no_ssn, &text_refs)?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        outln!(
            "{}",
            json!({
                "dataset": report.dataset, "soc_sec_id": report.use_ssn, "records": report.records,
                "pairs": report.pairs.predicted, "precision": report.pairs.precision, "recall": report.pairs.recall, "f1": report.pairs.f1,
                "cluster_f1": report.clusters.f1, "false_merge_rate": report.false_merge_rate,
                "blocking_recall": report.blocking_recall, "review_pairs": report.review_pairs, "seconds": seconds,
            })
        );
    } else {
        outln!("dataset          {}", report.dataset);
        outln!(
            "soc_sec_id       {}",
            if report.use_ssn { "used" } else { "not used" }
        );
        outln!("records          {}", report.records);
        outln!(
            "pairs            {} predicted, {} true",
            report.pairs.predicted,
            report.pairs.actual
        );
        outln!("precision        {:.4}", report.pairs.precision);
        outln!("recall           {:.4}", report.pairs.recall);
        outln!("F1               {:.4}", report.pairs.f1);
        outln!("cluster F1       {:.4}", report.clusters.f1);
        outln!(
            "false merges     {:.4} of multi-record clusters",
            report.false_merge_rate
        );
        outln!("blocking recall  {:.4}", report.blocking_recall);
        outln!("review pairs     {}", report.review_pairs);
        outln!("seconds          {seconds:.2}");
    }
    Ok(ExitCode::SUCCESS)
}
