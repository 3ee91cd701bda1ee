//! `sightline records`: what the log holds.

use crate::DbArg;
use anyhow::Context;
use sightline_app::from_micros;
use sightline_store::{RecordFilter, StoredRecord};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RecordsArgs {
    #[command(flatten)]
    db: DbArg,
    /// Only this agency.
    #[arg(long)]
    agency: Option<String>,
    /// Only this kind.
    #[arg(long)]
    kind: Option<String>,
    /// At most this many records (0: all).
    #[arg(long, default_value_t = 1_000)]
    limit: u64,
    /// Print a JSON array with every record in full (personal data).
    #[arg(long)]
    json: bool,
}

pub fn run(args: RecordsArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.db)?;
    let mut after_seq = None;
    let mut n_printed = 0u64;
    let mut json_items: Vec<serde_json::Value> = Vec::new();
    if !args.json {
        outln!(
            "{:>8}  {:<24} {:<28} {:>3}  {:<36} {:<25} recorded_at",
            "seq",
            "agency",
            "record_id",
            "ver",
            "kind",
            "occurred_at"
        );
    }
    loop {
        let remaining = if args.limit == 0 {
            u64::MAX
        } else {
            args.limit - n_printed
        };
        let page_size = remaining.min(u64::from(sightline_store::LIST_RECORDS_LIMIT_MAX)) as u32;
        if page_size == 0 {
            break;
        }
        let filter = RecordFilter {
            agency: args.agency.clone(),
            kind: args.kind.clone(),
            received_since_us: None,
            after_seq,
            limit: page_size,
        };
        let page = store
            .list_records(&filter)
            .context("could not read the log")?;
        for record in &page {
            if args.json {
                json_items.push(record_json(record));
            } else {
                outln!(
                    "{:>8}  {:<24} {:<28} {:>3}  {:<36} {:<25} {}",
                    record.seq,
                    record.agency,
                    record.record_id,
                    record.version,
                    record.kind,
                    record.occurred_at,
                    from_micros(record.recorded_at_us).to_rfc3339()
                );
            }
        }
        n_printed += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == page_size as usize => after_seq = Some(last.seq),
            _ => break,
        }
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&json_items)?);
    } else {
        eoutln!("{n_printed} record(s)");
    }
    Ok(ExitCode::SUCCESS)
}

fn record_json(record: &StoredRecord) -> serde_json::Value {
    serde_json::json!({
        "seq": record.seq,
        "agency": record.agency,
        "record_id": record.record_id,
        "version": record.version,
        "kind": record.kind,
        "occurred_at": record.occurred_at,
        "recorded_at": from_micros(record.recorded_at_us).to_rfc3339(),
        "received_at": from_micros(record.received_at_us).to_rfc3339(),
        "record": serde_json::from_str::<serde_json::Value>(&record.body).unwrap_or(serde_json::Value::Null),
    })
}
