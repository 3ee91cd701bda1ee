//! `sightline org check`.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Validate an organisation file: every problem with its line and key. With
    /// --db, also list the agencies whose records are in the log but which the
    /// file does not name (they get a fallback profile: their id as name, their
    /// type from their records), and the duty teams, leads and heads of service
    /// the rules route to that no active account of the database receives.
    Check {
        /// The organisation file (TOML).
        file: PathBuf,
        /// A database whose agencies to compare with the file.
        #[arg(long)]
        db: Option<String>,
    },
}

pub fn run(command: OrgCommand) -> anyhow::Result<ExitCode> {
    let OrgCommand::Check { file, db } = command;
    let name = file.display().to_string();
    let organisation = match sightline_app::organisation::read_organisation(&file) {
        Ok(organisation) => organisation,
        Err(sightline_app::organisation::OrganisationError::Invalid { path, problems }) => {
            for problem in &problems {
                outln!("{}", problem.with_file(&path));
            }
            outln!("{name}: {} problem(s)", problems.len());
            return Ok(ExitCode::FAILURE);
        }
        Err(error) => return Err(error.into()),
    };
    let n_agencies = organisation.agencies().count();
    outln!(
        "{name}: \"{}\": {n_agencies} agencies, {} local authorit{}",
        organisation.name(),
        organisation.local_authorities().count(),
        if organisation.local_authorities().count() == 1 {
            "y"
        } else {
            "ies"
        }
    );
    for local_authority in organisation.local_authorities() {
        outln!(
            "  {} ({}){}: duty team {}, head of service {}",
            local_authority.name,
            local_authority.id,
            if local_authority.id == organisation.default_local_authority().id {
                ", the default"
            } else {
                ""
            },
            local_authority.duty_team,
            local_authority.head_of_service
        );
    }
    match organisation.health_safeguarding_lead() {
        Some(lead) => outln!("  health safeguarding lead: {lead}"),
        None => outln!("  no health safeguarding lead (a rule pack routing to one is refused)"),
    }
    match organisation.police_safeguarding() {
        Some(lead) => outln!("  police safeguarding lead: {lead}"),
        None => outln!("  no police safeguarding lead (a rule pack routing to one is refused)"),
    }
    let mut n_warnings = 0usize;
    if let Some(db) = db {
        let store = sightline_store::open(&db)
            .map_err(|error| anyhow::anyhow!("could not open the database: {error}"))?;
        let unnamed = sightline_app::organisation::unnamed_agencies(&organisation, store.as_ref())?;
        for profile in &unnamed {
            n_warnings += 1;
            outln!(
                "warning: agency \"{}\" has records in the log but is not named in {name}: it is shown by its id, as {} (the type its records suggest), in {}",
                profile.id,
                profile.agency_type.label().to_lowercase(),
                organisation.local_authority_of(profile.id.as_str()).name
            );
        }
        // Whom the default pack routes to that no active account reaches.
        let (receiving, complete) = sightline_app::routing::receiving_routes(store.as_ref())?;
        if complete {
            let pack = sightline_app::engine::default_pack()?;
            for unheld in
                sightline_app::routing::unheld_recipients(&pack, &organisation, &receiving)
            {
                n_warnings += 1;
                outln!("warning: {}", unheld.warning());
            }
        } else {
            n_warnings += 1;
            outln!(
                "warning: more accounts than one list returns: recipients without an account are not checked"
            );
        }
    }
    outln!("{name}: valid, {n_warnings} warning(s)");
    Ok(ExitCode::SUCCESS)
}
