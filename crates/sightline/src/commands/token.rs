//! `sightline token create --agency ID` and `sightline token revoke --id N`,
//! each audited as the command line's.

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
    /// Revoke a token at once: its agency's system is refused from the next
    /// request. Exit status 1 if there is no such live token.
    Revoke {
        /// The token's id, as printed by `token create` (and listed on the
        /// administrator's tokens page).
        #[arg(long)]
        id: i64,
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
            let now = chrono::Utc::now();
            let token = sightline_app::tokens::create_token_audited(
                store.as_ref(),
                &agency,
                &sightline_app::audit::AuditActor::cli(),
                now,
            )
            .context("could not create the token")?;
            eoutln!(
                "Created token {} for agency {}. It is shown once; store it safely:",
                token.id,
                token.agency
            );
            outln!("{}", token.secret);
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id, db } => {
            let store = super::open_store(&db)?;
            let revoked = sightline_app::tokens::revoke_token(
                store.as_ref(),
                id,
                &sightline_app::audit::AuditActor::cli(),
                chrono::Utc::now(),
            )
            .context("could not revoke the token")?;
            if revoked {
                eoutln!("Revoked token {id}.");
                Ok(ExitCode::SUCCESS)
            } else {
                eoutln!("No live token has id {id}.");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
