//! `sightline user create` and `sightline user create-demo`.

use crate::DbArg;
use anyhow::Context;
use clap::Subcommand;
use sightline_access::Role;
use sightline_app::accounts::{self, NewAccount, Password, Team, Username};
use sightline_app::audit::AuditActor;
use sightline_core::AgencyId;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who signs in to the web UI. The password is read from the
    /// first line of standard input; nothing secret is printed.
    Create {
        /// practitioner, team_manager, safeguarding_lead, privacy_officer or administrator.
        #[arg(long)]
        role: String,
        /// The user's agency id, e.g. north-met-police.
        #[arg(long)]
        agency: String,
        /// The user's team within the agency.
        #[arg(long)]
        team: Option<String>,
        /// The login name: 3 to 64 of a-z, 0-9, '.', '_' and '-'.
        #[arg(long)]
        username: String,
        /// Read the password from standard input (the default; accepted for scripts
        /// that say so explicitly).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Create one demonstration account per role with random passwords, and
    /// print them. For demonstration databases only.
    CreateDemo {
        /// The agency of the demonstration accounts.
        #[arg(long, default_value = "police")]
        agency: String,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Create {
            role,
            agency,
            team,
            username,
            password_stdin: _,
            db,
        } => {
            let role = Role::parse(&role).map_err(|error| anyhow::anyhow!("--role: {error}"))?;
            let agency =
                AgencyId::parse(&agency).map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
            let team = team
                .as_deref()
                .map(Team::parse)
                .transpose()
                .map_err(|error| anyhow::anyhow!("--team: {error}"))?;
            let username = Username::parse(&username)
                .map_err(|error| anyhow::anyhow!("--username: {error}"))?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("could not read the password from standard input")?;
            let password = Password::parse(line.trim_end_matches(['\n', '\r']))
                .map_err(|error| anyhow::anyhow!("password: {error}"))?;
            let store = super::open_store(&db)?;
            let account = accounts::create_account(
                store.as_ref(),
                &NewAccount {
                    username,
                    password,
                    role,
                    agency,
                    team,
                },
                &AuditActor::cli(),
                chrono::Utc::now(),
            )
            .context("could not create the user")?;
            outln!(
                "Created user {} (id {}): {}, agency {}{}",
                account.username,
                account.id,
                account.role,
                account.agency,
                account
                    .team
                    .map(|team| format!(", team {team}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::CreateDemo { agency, db } => {
            let agency =
                AgencyId::parse(&agency).map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
            let store = super::open_store(&db)?;
            print_demo_accounts(&create_demo_accounts(store.as_ref(), &agency)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Creates the demonstration accounts (one per role).
pub fn create_demo_accounts(
    store: &dyn sightline_store::Store,
    agency: &AgencyId,
) -> anyhow::Result<Vec<accounts::DemoAccount>> {
    accounts::create_demo_accounts(store, agency, chrono::Utc::now())
        .context("could not create the demo accounts")
}

/// Prints demonstration logins, one per line: role, username, password.
pub fn print_demo_accounts(demo: &[accounts::DemoAccount]) {
    outln!("Demo logins (synthetic accounts; passwords change on every run):");
    for account in demo {
        outln!(
            "  {:<18} {:<26} {}",
            account.role.as_str(),
            account.username,
            account.password
        );
    }
}
