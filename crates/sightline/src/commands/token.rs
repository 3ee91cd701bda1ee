//! `sightline token create --agency ID`.

use crate::DbArg;
use anyhow::Context;
use clap::Subcommand;
use sightline_core::AgencyId;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token for an agency's system. The token is printed once; only its
    /// hash is stored.
    Create {
        /// The agency id the token may submit records for, e.g. north-met-police.
        #[arg(long)]
        agency: String,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { agency, db } => {
            let agency =
                AgencyId::parse(&agency).map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
            let store = super::open_store(&db)?;
            let token = sightline_app::create_token(store.as_ref(), &agency, chrono::Utc::now())
                .context("could not create the token")?;
            eoutln!(
                "Created token {} for agency {}. It is shown once; store it safely:",
                token.id,
                token.agency
            );
            outln!("{}", token.secret);
            Ok(ExitCode::SUCCESS)
        }
    }
}
