//! `sightline hold place|release|list`: a legal hold on a child or person (a
//! case review, court proceedings, an inquiry) blocks retention and erasure
//! until released; who, why and when are recorded, append-only, and audited
//! as the command line's (issue #18 item 4).

use crate::DbArg;
use anyhow::Context;
use clap::{Args, Subcommand};
use sightline_app::controls::{self, By, ControlError, HoldTarget};
use std::process::ExitCode;

/// A child or a person, by Sightline's person id.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct HoldOn {
    /// A child's person id (p-...).
    #[arg(long)]
    child: Option<String>,
    /// Any person's id (p-...): a parent, an adult around a child.
    #[arg(long)]
    person: Option<String>,
}

#[derive(Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold. Exit status 1 if no such child or person.
    Place {
        #[command(flatten)]
        on: HoldOn,
        /// Why (the review, the proceedings, the inquiry), in a sentence.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Release a legal hold. Exit status 1 if there is none on them.
    Release {
        #[command(flatten)]
        on: HoldOn,
        /// Why, in a sentence.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// The holds in force: person id, on what, since when, by whom (no names).
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

fn target(on: &HoldOn) -> (HoldTarget, String) {
    match (&on.child, &on.person) {
        (Some(child), _) => (HoldTarget::Child, child.trim().to_owned()),
        (None, Some(person)) => (HoldTarget::Person, person.trim().to_owned()),
        // clap requires one of them.
        (None, None) => (HoldTarget::Person, String::new()),
    }
}

fn failed(error: ControlError, what: &str) -> anyhow::Result<ExitCode> {
    match error {
        ControlError::Store(error) => Err(error).context(format!("could not {what}")),
        other => {
            eoutln!("Not done: {other}.");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn run(command: HoldCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    match command {
        HoldCommand::Place { on, reason, db } => {
            let (target, person_id) = target(&on);
            let store = super::open_store(&db)?;
            let engine = super::load_engine(store.as_ref())?;
            let known = engine
                .read(|engine| {
                    engine
                        .facts()
                        .get(&person_id)
                        .is_some_and(|facts| target == HoldTarget::Person || facts.is_child)
                })
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            if !known {
                eoutln!("No {} has id {person_id}.", target.as_str());
                return Ok(ExitCode::FAILURE);
            }
            match controls::place_hold(
                store.as_ref(),
                By::Operator,
                target,
                &person_id,
                &reason,
                now,
            ) {
                Ok(row) => {
                    eoutln!(
                        "Placed a legal hold on {} {person_id} (hold {}).",
                        target.as_str(),
                        row.seq
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => failed(error, "place the hold"),
            }
        }
        HoldCommand::Release { on, reason, db } => {
            let (_, person_id) = target(&on);
            let store = super::open_store(&db)?;
            match controls::release_hold(store.as_ref(), By::Operator, &person_id, &reason, now) {
                Ok(row) => {
                    eoutln!("Released the legal hold on {person_id} (hold {}).", row.seq);
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => failed(error, "release the hold"),
            }
        }
        HoldCommand::List { db } => {
            let store = super::open_store(&db)?;
            let holds = controls::holds_in_force(store.as_ref()).context("could not list holds")?;
            for hold in &holds {
                outln!(
                    "{}\t{}\t{}\t{}",
                    hold.event.person_id,
                    hold.event.target,
                    sightline_app::from_micros(hold.event.at_us).to_rfc3339(),
                    hold.event.by_username
                );
            }
            eoutln!("{} holds in force.", holds.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}
