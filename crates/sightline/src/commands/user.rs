//! `sightline user create`, `create-demo`, `disable` and `enable`.

use crate::{DbArg, OrgArg};
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
        /// The user's agency id, e.g. north-met-police (with --org, an agency
        /// the organisation names).
        #[arg(long)]
        agency: String,
        /// The user's team within the agency (with --org, one of its teams).
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
        /// Check the agency and team against this organisation.
        #[command(flatten)]
        org: OrgArg,
    },
    /// Disable a user at once: they cannot sign in, and their sessions end at
    /// their next request. Audited. Exit status 1 if there is no such active
    /// user.
    Disable {
        /// The login name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Make a disabled user, or one waiting for activation, active again.
    /// Audited. Exit status 1 if there is no such inactive user.
    Enable {
        /// The login name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Create demonstration accounts with random passwords, and print them.
    /// With --org (or SIGHTLINE_ORG): the logins of `sightline demo` across the
    /// organisation's agencies; without, one account per role in --agency. For
    /// demonstration databases only.
    CreateDemo {
        /// The agency of the demonstration accounts (without an organisation).
        #[arg(long, default_value = "police")]
        agency: String,
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        org: OrgArg,
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
            org,
        } => {
            if let Some(path) = &org.org {
                let organisation = sightline_app::organisation::read_organisation(path)?;
                check_agency_and_team(&organisation, &agency, team.as_deref())?;
            }
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
        UserCommand::Disable { username, db } => {
            let store = super::open_store(&db)?;
            let Some(user) = store.accounts().user_by_username(&username)? else {
                eoutln!("No user is called {username}.");
                return Ok(ExitCode::FAILURE);
            };
            let disabled = accounts::disable_account(
                store.as_ref(),
                user.id,
                &AuditActor::cli(),
                chrono::Utc::now(),
            )
            .context("could not disable the user")?;
            if disabled {
                eoutln!("Disabled user {} (id {}).", user.username, user.id);
                Ok(ExitCode::SUCCESS)
            } else {
                eoutln!(
                    "User {} (id {}) is already disabled.",
                    user.username,
                    user.id
                );
                Ok(ExitCode::FAILURE)
            }
        }
        UserCommand::Enable { username, db } => {
            let store = super::open_store(&db)?;
            let Some(user) = store.accounts().user_by_username(&username)? else {
                eoutln!("No user is called {username}.");
                return Ok(ExitCode::FAILURE);
            };
            let activation = accounts::activate_account(
                store.as_ref(),
                user.id,
                accounts::Activator::Operator,
                chrono::Utc::now(),
            )
            .context("could not enable the user")?;
            if activation == accounts::Activation::Activated {
                eoutln!("Enabled user {} (id {}).", user.username, user.id);
                Ok(ExitCode::SUCCESS)
            } else {
                eoutln!("User {} (id {}) is already active.", user.username, user.id);
                Ok(ExitCode::FAILURE)
            }
        }
        UserCommand::CreateDemo { agency, db, org } => {
            let store = super::open_store(&db)?;
            if let Some(path) = &org.org {
                let organisation = sightline_app::organisation::read_organisation(path)?;
                print_demo_logins(&create_demo_logins(store.as_ref(), &organisation)?);
                return Ok(ExitCode::SUCCESS);
            }
            let agency =
                AgencyId::parse(&agency).map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
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

/// Refuses an agency the organisation does not name, or a team the agency does
/// not have, with a "did you mean".
fn check_agency_and_team(
    organisation: &sightline_core::org::Organisation,
    agency: &str,
    team: Option<&str>,
) -> anyhow::Result<()> {
    let Some(profile) = organisation.agency(agency) else {
        let names: Vec<&str> = organisation
            .agencies()
            .map(|profile| profile.id.as_str())
            .collect();
        let hint = sightline_core::vocab::did_you_mean(agency, &names)
            .map(|name| format!(" (did you mean \"{name}\"?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "--agency: \"{agency}\" is not an agency of the organisation \"{}\"{hint}",
            organisation.name()
        );
    };
    if let Some(team) = team
        && profile.team(team).is_none()
    {
        let teams: Vec<&str> = profile.teams.iter().map(|team| team.id.as_str()).collect();
        let hint = sightline_core::vocab::did_you_mean(team, &teams)
            .map(|name| format!(" (did you mean \"{name}\"?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "--team: {} ({}) has no team \"{team}\"{}{hint}",
            profile.name,
            profile.id,
            if teams.is_empty() {
                " (it names no teams)".to_owned()
            } else {
                format!(" (its teams: {})", teams.join(", "))
            }
        );
    }
    Ok(())
}

/// Creates the demonstration logins of an organisation (`sightline demo`).
pub fn create_demo_logins(
    store: &dyn sightline_store::Store,
    organisation: &sightline_core::org::Organisation,
) -> anyhow::Result<Vec<(sightline_app::demo::DemoLogin, accounts::DemoAccount)>> {
    sightline_app::demo::create_demo_logins(store, organisation, chrono::Utc::now())
        .context("could not create the demo logins")
}

/// Prints demonstration logins, one per line: role, username, password, then
/// the agency and team and what the login is for; the first is the one to
/// start with.
pub fn print_demo_logins(logins: &[(sightline_app::demo::DemoLogin, accounts::DemoAccount)]) {
    outln!(
        "Demo logins (synthetic accounts; passwords change on every run). Start with the first:"
    );
    for (login, account) in logins {
        let place = match &login.team {
            Some(team) => format!("{}/{team}", login.agency),
            None => login.agency.clone(),
        };
        outln!(
            "  {:<18} {:<22} {}  {place}: {}",
            account.role.as_str(),
            account.username,
            account.password,
            login.purpose
        );
    }
}
