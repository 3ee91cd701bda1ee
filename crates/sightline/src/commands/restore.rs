//! `sightline restore --from FILE --db URL`: a backup from `sightline backup`
//! into a new database (`sightline_store::restore`), then the audit chain
//! verified and the records counted: the restore drill in one command.

use crate::DbArg;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    db: DbArg,
    /// The backup: a SQLite database file from `sightline backup`, or for
    /// PostgreSQL its `pg_dump` custom-format archive. `--db` names the new
    /// database: a SQLite file that does not exist yet, or an empty
    /// PostgreSQL database (`createdb`).
    #[arg(long)]
    from: PathBuf,
}

pub fn run(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let report = sightline_store::restore(&args.from, &args.db.db)
        .with_context(|| format!("nothing was restored from {}", args.from.display()))?;
    outln!(
        "restored {} ({} database, {} record(s))",
        args.from.display(),
        report.format,
        report.records
    );
    let store = super::open_store(&args.db)?;
    match sightline_app::audit::verify_audit(store.as_ref())? {
        Ok(summary) => {
            match summary.head {
                Some(head) => outln!(
                    "audit chain intact: {} entries; head is entry {} with hash {}",
                    summary.n_entries,
                    head.seq,
                    super::audit::hex_string(&head.entry_hash)
                ),
                None => outln!("audit chain intact: no entries yet"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            outln!("{broken}");
            Ok(ExitCode::FAILURE)
        }
    }
}
