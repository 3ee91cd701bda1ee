//! `sightline erase`: erasure by destroying data keys (docs/data-protection.md,
//! "Erasure"): one person's mentions (`--person ID`) or whole records
//! (`--record AGENCY/ID`, repeatable, for retention). Refused while a legal
//! hold covers anyone the records name; audited; writes a tombstone.

use crate::DbArg;
use anyhow::Context;
use sightline_app::audit::AuditActor;
use sightline_app::erasure::{check_reason, erase_person, erase_records};
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["person", "record"])))]
pub struct EraseArgs {
    #[command(flatten)]
    db: DbArg,
    /// The person's Sightline id (from `sightline persons` or the person's
    /// page): their names, dates of birth, addresses, NHS numbers and other
    /// identifiers in every record that mentions them.
    #[arg(long)]
    person: Option<String>,
    /// A whole record, `AGENCY/RECORD_ID` (every version); repeat for more.
    #[arg(long)]
    record: Vec<String>,
    /// Why, in a sentence (kept in the audit log and the tombstone).
    #[arg(long)]
    reason: String,
    /// Skip the compaction after the erasure (SQLite VACUUM and WAL
    /// truncation; PostgreSQL VACUUM FULL of the key table and CHECKPOINT).
    #[arg(long)]
    no_compact: bool,
}

pub fn run(args: EraseArgs) -> anyhow::Result<ExitCode> {
    let reason = check_reason(&args.reason)?;
    let store = super::open_store(&args.db)?;
    let linked = super::persons::linked(&args.db, None)?;
    let now = chrono::Utc::now();
    let actor = AuditActor::cli();
    let erased = match &args.person {
        Some(person_id) => erase_person(store.as_ref(), &linked, person_id, &reason, &actor, now)
            .context("nothing was erased")?,
        None => {
            let mut records = Vec::new();
            for text in &args.record {
                let Some((agency, record_id)) = text.split_once('/') else {
                    anyhow::bail!("--record must be AGENCY/RECORD_ID, got {text:?}");
                };
                records.push((agency.to_owned(), record_id.to_owned()));
            }
            erase_records(store.as_ref(), &linked, &records, &reason, &actor, now)
                .context("nothing was erased")?
        }
    };
    drop(linked);
    tracing::info!(
        erasure.id = erased.id,
        records = erased.n_records,
        keys = erased.n_keys,
        "erased"
    );
    outln!(
        "erasure {}: {} keys destroyed in {} record versions ({} {})",
        erased.id,
        erased.n_keys,
        erased.n_records,
        erased.scope,
        erased.target
    );
    if !args.no_compact {
        match store.compact_after_erasure() {
            Ok(()) => {
                outln!("compacted: no copy of a destroyed key is left in free pages or the WAL")
            }
            Err(error) => {
                outln!("the erasure is done, but compaction failed: {error}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
