//! `sightline retention due [--as-of DATE] [--schedule FILE]`: the records
//! the retention schedule makes due, counted per rule, with the persons on
//! legal hold whose records are blocked (issue #18 item 2). Listing only:
//! nothing is deleted (erasure is a later task). Prints counts, rule names,
//! agency record ids and Sightline person ids: no personal data.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use clap::Subcommand;
use sightline_app::picture::person_facts;
use sightline_app::retention::{Schedule, due};
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
            let schedule = match schedule {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("could not read {}", path.display()))?;
                    Schedule::parse(&text)?
                }
                None => Schedule::default(),
            };
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
                for (agency, record_id, rule) in &listed.records_due {
                    outln!("due\t{agency}\t{record_id}\t{rule}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
