//! `sightline backup --out FILE`: an online backup of the database
//! (`sightline_store::backup`), safe while the server runs.

use crate::DbArg;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    db: DbArg,
    /// Where to write the backup (must not exist): a SQLite database file, or
    /// for PostgreSQL a `pg_dump` custom-format archive (restore it with
    /// `pg_restore`; docs/operators.md, "Backup and restore").
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let report = sightline_store::backup(&args.db.db, &args.out)
        .with_context(|| format!("no backup was written to {}", args.out.display()))?;
    match report.records {
        Some(records) => outln!(
            "backed up to {} ({} database, {} bytes, {records} record(s))",
            args.out.display(),
            report.format,
            report.bytes
        ),
        None => outln!(
            "backed up to {} ({} custom-format archive, {} bytes)",
            args.out.display(),
            report.format,
            report.bytes
        ),
    }
    Ok(ExitCode::SUCCESS)
}
