//! One module per subcommand.

pub mod alerts;
pub mod audit;
pub mod bench;
pub mod demo;
pub mod evaluate;
pub mod http;
pub mod ingest;
pub mod link;
pub mod persons;
pub mod records;
pub mod serve;
pub mod synth;
pub mod token;
pub mod user;

use crate::DbArg;
use anyhow::Context;
use std::process::ExitCode;

/// Opens the store named by `--db`, applying pending migrations.
pub fn open_store(db: &DbArg) -> anyhow::Result<Box<dyn sightline_store::Store>> {
    sightline_store::open(&db.db).context("could not open the database")
}

/// Loads the intake engine over the log (default rule pack and settings).
pub fn load_engine(
    store: &dyn sightline_store::Store,
) -> anyhow::Result<sightline_app::SharedEngine> {
    sightline_app::SharedEngine::load_default(store, chrono::Utc::now())
        .context("could not load the picture from the log")
}

pub fn migrate(db: &DbArg) -> anyhow::Result<ExitCode> {
    let report = sightline_store::migrate(&db.db).context("migration failed")?;
    for migration in &report.applied {
        println!("applied {:04} {}", migration.version, migration.name);
    }
    println!(
        "{} schema is at version {}",
        report.backend, report.schema_version
    );
    Ok(ExitCode::SUCCESS)
}
