//! One module per subcommand.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod bench_my_work;
pub mod bench_serve;
pub mod demo;
pub mod erase;
pub mod evaluate;
pub mod export;
pub mod hold;
pub mod http;
pub mod ingest;
pub mod link;
pub mod org;
pub mod persons;
pub mod record;
pub mod records;
pub mod restore;
pub mod retention;
pub mod sar;
pub mod serve;
pub mod synth;
pub mod token;
pub mod user;

use crate::{DbArg, OrgArg};
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

/// Loads the intake engine over the log with the default rule pack and `config`.
pub fn load_engine_with(
    store: &dyn sightline_store::Store,
    config: sightline_app::EngineConfig,
) -> anyhow::Result<sightline_app::SharedEngine> {
    sightline_app::SharedEngine::load_configured(store, config, chrono::Utc::now())
        .context("could not load the picture from the log")
}

/// The organisation named by `--org` (or `SIGHTLINE_ORG`), validated; without
/// one, the unconfigured organisation (children's social care's duty team
/// only), with a warning.
pub fn load_organisation(
    org: &OrgArg,
) -> anyhow::Result<std::sync::Arc<sightline_core::org::Organisation>> {
    match &org.org {
        Some(path) => {
            let organisation = sightline_app::organisation::read_organisation(path)?;
            tracing::info!(
                agencies = organisation.agencies().count(),
                local_authorities = organisation.local_authorities().count(),
                "organisation loaded"
            );
            Ok(std::sync::Arc::new(organisation))
        }
        None => {
            tracing::warn!(
                "no organisation file given (--org FILE or SIGHTLINE_ORG): using the unconfigured organisation, whose only recipient is team:social-care/duty"
            );
            Ok(std::sync::Arc::new(
                sightline_core::org::Organisation::unconfigured(),
            ))
        }
    }
}

pub fn migrate(db: &DbArg) -> anyhow::Result<ExitCode> {
    let report = sightline_store::migrate(&db.db).context("migration failed")?;
    for migration in &report.applied {
        outln!("applied {:04} {}", migration.version, migration.name);
    }
    outln!(
        "{} schema is at version {}",
        report.backend,
        report.schema_version
    );
    Ok(ExitCode::SUCCESS)
}
