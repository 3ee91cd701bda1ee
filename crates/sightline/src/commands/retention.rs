//! `sightline retention due [--as-of DATE] [--schedule FILE]`: the records
//! the retention schedule makes due, counted per rule, with the persons on
//! legal hold whose records are blocked (issue #18 item 2). Listing only:
//! nothing is deleted (erasure is a later task). Prints counts, rule names,
//! agency record ids and Sightline person ids: no personal data.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use clap::Subcommand;
use sightline_app::picture::person_facts;
use sightline_app::retention::{BatchOutcome, Schedule, due, make_batch};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Count the records due on a day, per rule; list the held persons.
    Due {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        org: OrgArg,
        /// The day to ask about (YYYY-MM-DD); today when not given.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// A schedule file (`[[rule]]` tables); the documented defaults when
        /// not given (docs/data-protection.md, section 4).
        #[arg(long)]
        schedule: Option<std::path::PathBuf>,
        /// Also print each due record's agency and record id.
        #[arg(long)]
        records: bool,
    },
    /// The daily pass, for cron: write a batch of what is due today (or on
    /// --as-of) for the privacy officer to approve; nothing is deleted.
    /// Once a day: a batch of the day already written is left alone.
    Run {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        org: OrgArg,
        /// The day to apply the schedule on (YYYY-MM-DD); today when not given.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// A schedule file (`[[rule]]` tables); the defaults when not given.
        #[arg(long)]
        schedule: Option<std::path::PathBuf>,
    },
}

fn read_schedule(path: Option<std::path::PathBuf>) -> anyhow::Result<Schedule> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("could not read {}", path.display()))?;
            Schedule::parse(&text)?
        }
        None => Schedule::default(),
    })
}

pub fn run(command: RetentionCommand) -> anyhow::Result<ExitCode> {
    match command {
        RetentionCommand::Due {
            db,
            org,
            as_of,
            schedule,
            records,
        } => {
            let schedule = read_schedule(schedule)?;
            let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let organisation = super::load_organisation(&org)?;
            let store = super::open_store(&db)?;
            let linked = super::persons::linked(&db, None)?;
            let facts = person_facts(&linked);
            let listed = due(&linked, &facts, &organisation, &schedule, as_of, |person| {
                sightline_app::controls::is_on_hold(store.as_ref(), person)
            })
            .context("could not read the legal holds")?;
            outln!("retention due on {as_of} (listing only: nothing is deleted)");
            outln!("rule\trecords\tdue\tblocked by hold\tno date (of which adult subject)");
            for rule in &schedule.rules {
                if let Some(counts) = listed.by_rule.get(&rule.name) {
                    outln!(
                        "{}\t{}\t{}\t{}\t{} ({})",
                        rule.name,
                        counts.records,
                        counts.due,
                        counts.blocked,
                        counts.undecided,
                        counts.adult_subject
                    );
                }
            }
            outln!("no rule\t{}", listed.no_rule);
            for (person, blocked) in &listed.held {
                outln!("on legal hold: {person} blocks {blocked} records");
            }
            if records {
                for record in &listed.records_due {
                    outln!(
                        "due\t{}\t{}\t{}\t{}",
                        record.agency,
                        record.record_id,
                        record.rule,
                        record.kept_until
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RetentionCommand::Run {
            db,
            org,
            as_of,
            schedule,
        } => {
            let schedule = read_schedule(schedule)?;
            let now = chrono::Utc::now();
            let as_of = as_of.unwrap_or_else(|| now.date_naive());
            let organisation = super::load_organisation(&org)?;
            let store = super::open_store(&db)?;
            let linked = super::persons::linked(&db, None)?;
            let facts = person_facts(&linked);
            let outcome = make_batch(
                store.as_ref(),
                &linked,
                &facts,
                &organisation,
                &schedule,
                as_of,
                &sightline_app::audit::AuditActor::cli(),
                now,
            )
            .context("could not write the retention batch")?;
            match outcome {
                BatchOutcome::Already(batch) => outln!(
                    "retention batch {} of {} was already written ({} records); nothing done",
                    batch.id,
                    batch.as_of,
                    batch.n_records
                ),
                BatchOutcome::Nothing { n_in_open_batches } => outln!(
                    "nothing newly due on {as_of} and nothing blocked ({n_in_open_batches} due already in a batch pending or approved): no batch written"
                ),
                BatchOutcome::Made {
                    batch,
                    n_in_open_batches,
                } => outln!(
                    "retention batch {} of {}: {} records due, {} blocked by legal hold (not in the batch), {} already in a batch pending or approved, {} left for a later batch; awaiting the privacy officer (nothing is deleted until a batch is approved)",
                    batch.id,
                    batch.as_of,
                    batch.n_records,
                    batch.n_blocked,
                    n_in_open_batches,
                    batch.n_left_over
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
