//! `sightline record restrict|unrestrict`: an operator restricts a record to
//! named roles on an agency's written request (or lifts the restriction),
//! audited as the command line's (issue #18 item 5). Managers and leads of
//! the record's agency do the same on the record's page or through the API.

use crate::DbArg;
use anyhow::Context;
use clap::Subcommand;
use sightline_app::controls::{self, By, ControlError, RestrictionRequest};
use sightline_core::{AgencyId, RecordId};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Restrict a record to named roles: nobody else sees it on any page, in
    /// the API or in a subject access bundle.
    Restrict {
        /// The record's agency id.
        #[arg(long)]
        agency: String,
        /// The agency's record id.
        #[arg(long)]
        record: String,
        /// Roles that may still read it, comma-separated: practitioner,
        /// team_manager, safeguarding_lead.
        #[arg(long)]
        roles: String,
        /// Only those roles at the record's own agency.
        #[arg(long)]
        own_agency_only: bool,
        /// Why sharing would be more detrimental to the child, in a sentence.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Lift a record's restriction. Exit status 1 if it is not restricted.
    Unrestrict {
        /// The record's agency id.
        #[arg(long)]
        agency: String,
        /// The agency's record id.
        #[arg(long)]
        record: String,
        /// Why, in a sentence.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArg,
    },
}

fn parse(agency: &str, record: &str) -> anyhow::Result<(AgencyId, String)> {
    let agency = AgencyId::parse(agency).map_err(|error| anyhow::anyhow!("--agency: {error}"))?;
    let record = RecordId::parse(record).map_err(|error| anyhow::anyhow!("--record: {error}"))?;
    Ok((agency, record.as_str().to_owned()))
}

pub fn run(command: RecordCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    match command {
        RecordCommand::Restrict {
            agency,
            record,
            roles,
            own_agency_only,
            reason,
            db,
        } => {
            let (agency, record_id) = parse(&agency, &record)?;
            let roles = controls::parse_roles(roles.split(','))
                .map_err(|error| anyhow::anyhow!("--roles: {error}"))?;
            let store = super::open_store(&db)?;
            let restricted = controls::restrict_record(
                store.as_ref(),
                By::Operator,
                &RestrictionRequest {
                    agency: agency.clone(),
                    record_id: record_id.clone(),
                    roles,
                    own_agency_only,
                    reason,
                },
                now,
            );
            match restricted {
                Ok(row) => {
                    eoutln!(
                        "Restricted record {agency}/{record_id} to {}{} (restriction {}).",
                        row.event.roles.join(", "),
                        if own_agency_only {
                            " of its agency only"
                        } else {
                            ""
                        },
                        row.seq
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ControlError::Store(error)) => {
                    Err(error).context("could not restrict the record")
                }
                Err(error) => {
                    eoutln!("Not restricted: {error}.");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        RecordCommand::Unrestrict {
            agency,
            record,
            reason,
            db,
        } => {
            let (agency, record_id) = parse(&agency, &record)?;
            let store = super::open_store(&db)?;
            match controls::lift_restriction(
                store.as_ref(),
                By::Operator,
                &agency,
                &record_id,
                &reason,
                now,
            ) {
                Ok(row) => {
                    eoutln!(
                        "Lifted the restriction of record {agency}/{record_id} (restriction {}).",
                        row.seq
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ControlError::Store(error)) => Err(error).context("could not lift it"),
                Err(error) => {
                    eoutln!("Not lifted: {error}.");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
