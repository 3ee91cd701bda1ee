//! `sightline link`: rebuild persons from the log and the stored decisions, list
//! the clerical review queue, and record a person's match / non-match decision.

use crate::DbArg;
use anyhow::Context;
use serde_json::json;
use sightline_app::audit::{AuditActor, record};
use sightline_app::persons::{LinkedState, PersonsError, decide, rebuild, review_queue};
use sightline_store::{DecisionVerdict, NewLinkageDecision};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LinkArgs {
    #[command(subcommand)]
    command: Option<LinkCommand>,
    /// Recompute every person from the log and the stored decisions, check the
    /// result against linking record by record, and print the counts.
    #[arg(long)]
    rebuild: bool,
    #[command(flatten)]
    db: DbArg,
    /// Print the counts as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
pub enum LinkCommand {
    /// The pairs waiting for a person's decision, most likely matches first.
    Review {
        #[command(flatten)]
        db: DbArg,
        /// At most this many pairs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print a JSON array with each pair's mentions and evidence.
        #[arg(long)]
        json: bool,
    },
    /// Record a decision about two mentions (keys `agency/record_id/ref`). It is
    /// stored, audited and respected by every later link and rebuild; undo it
    /// with a later decision (`--withdraw` or the opposite verdict). `--match`
    /// only for a pair the review queue offers (`link review`), or one decided
    /// before; a refusal is audited and exits with an error.
    Decide {
        #[command(flatten)]
        db: DbArg,
        /// One mention key.
        #[arg(long)]
        left: String,
        /// The other mention key.
        #[arg(long)]
        right: String,
        /// They are the same person (merge).
        #[arg(long = "match", group = "verdict")]
        is_match: bool,
        /// They are different people (split).
        #[arg(long, group = "verdict")]
        non_match: bool,
        /// Withdraw the standing decision about the pair.
        #[arg(long, group = "verdict")]
        withdraw: bool,
        /// Why, in a sentence of 20 to 2,000 characters (recorded with the
        /// decision).
        #[arg(long)]
        reason: String,
        /// Who decides (recorded as `cli:<actor>`).
        #[arg(long)]
        actor: String,
    },
}

pub fn run(args: LinkArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(LinkCommand::Review { db, limit, json }) => review(&db, limit, json),
        Some(LinkCommand::Decide {
            db,
            left,
            right,
            is_match,
            non_match,
            withdraw,
            reason,
            actor,
        }) => {
            let verdict = match (is_match, non_match, withdraw) {
                (true, false, false) => DecisionVerdict::Match,
                (false, true, false) => DecisionVerdict::NonMatch,
                (false, false, true) => DecisionVerdict::Withdrawn,
                _ => anyhow::bail!("give one of --match, --non-match or --withdraw"),
            };
            decide_pair(&db, left, right, verdict, reason, &actor)
        }
        None if args.rebuild => run_rebuild(&args.db, args.json),
        None => anyhow::bail!("say what to do: --rebuild, review or decide (see --help)"),
    }
}

fn run_rebuild(db: &DbArg, as_json: bool) -> anyhow::Result<ExitCode> {
    let store = super::open_store(db)?;
    let started = Instant::now();
    let (_, report) = rebuild(store.as_ref()).context("rebuild failed")?;
    let seconds = started.elapsed().as_secs_f64();
    if as_json {
        let mut value = serde_json::to_value(&report)?;
        value["seconds"] = json!(seconds);
        outln!("{value}");
    } else {
        outln!("records            {}", report.records);
        outln!("mentions           {}", report.mentions);
        outln!("persons            {}", report.persons);
        outln!("links              {}", report.links);
        outln!("review pairs       {}", report.review_pairs);
        outln!(
            "decisions applied  {} (of {} stored)",
            report.decisions_applied,
            report.decisions_stored
        );
        outln!("changed persons    {}", report.changed_persons);
        outln!(
            "incremental        {}",
            if report.equal {
                "same persons as the rebuild"
            } else {
                "DIFFERS from the rebuild"
            }
        );
        outln!("seconds            {seconds:.2}");
    }
    Ok(if report.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn review(db: &DbArg, limit: usize, as_json: bool) -> anyhow::Result<ExitCode> {
    let store = super::open_store(db)?;
    let state = LinkedState::load(store.as_ref()).context("linkage failed")?;
    let pairs = review_queue(&state.linked, limit);
    record(
        store.as_ref(),
        &AuditActor::cli(),
        "review_linkage",
        "service",
        "operator",
        "ok",
        chrono::Utc::now(),
    )?;
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&pairs)?);
        return Ok(ExitCode::SUCCESS);
    }
    for pair in &pairs {
        outln!(
            "p={:.3}  {}  {}",
            pair.evidence.match_probability,
            pair.left.key,
            pair.right.key
        );
        for mention in [&pair.left, &pair.right] {
            outln!(
                "    {:<40} {} {} {}",
                mention.key,
                mention.given_names.as_deref().unwrap_or("-"),
                mention.family_name.as_deref().unwrap_or("-"),
                mention.dob.as_deref().unwrap_or("-")
            );
        }
        for field in &pair.evidence.fields {
            outln!(
                "    {:>16} {:<32} {:+.2}",
                field.field,
                field.level,
                field.weight
            );
        }
    }
    eoutln!(
        "{} pair(s) waiting for review (showing at most {limit})",
        state.linked.index.review_queue().len()
    );
    Ok(ExitCode::SUCCESS)
}

fn decide_pair(
    db: &DbArg,
    left: String,
    right: String,
    verdict: DecisionVerdict,
    reason: String,
    actor: &str,
) -> anyhow::Result<ExitCode> {
    let store = super::open_store(db)?;
    let mut state = LinkedState::load(store.as_ref()).context("linkage failed")?;
    let now = chrono::Utc::now();
    let decision = NewLinkageDecision {
        left_key: left,
        right_key: right,
        verdict,
        actor: format!("cli:{actor}"),
        reason,
        at_us: sightline_app::to_micros(now),
    };
    let mut audit_actor = AuditActor::cli();
    audit_actor.username = format!("cli:{actor}");
    let decided = decide(
        store.as_ref(),
        &mut state.linked,
        &mut state.decisions,
        &decision,
    );
    let (row, _) = match decided {
        Ok(decided) => decided,
        Err(PersonsError::Refused(refusal)) => {
            // Refused as on the web page and the API (issue #15, finding 5),
            // and audited like them.
            let (left, right) = if decision.left_key <= decision.right_key {
                (&decision.left_key, &decision.right_key)
            } else {
                (&decision.right_key, &decision.left_key)
            };
            record(
                store.as_ref(),
                &audit_actor,
                "decide_linkage",
                &format!("linkage:{left}|{right}"),
                refusal.code(),
                "refused",
                now,
            )?;
            anyhow::bail!("decision refused: {refusal}");
        }
        Err(error) => return Err(error.into()),
    };
    record(
        store.as_ref(),
        &audit_actor,
        "decide_linkage",
        &format!("linkage:{}|{}", row.left_key, row.right_key),
        "operator",
        row.verdict.as_str(),
        now,
    )?;
    let person = |key: &str| {
        state
            .linked
            .index
            .record_of(key)
            .and_then(|record| state.linked.person_of_mention.get(record as usize))
            .cloned()
            .unwrap_or_default()
    };
    outln!(
        "decision {} recorded: {} {} {}; now persons {} and {}",
        row.seq,
        row.left_key,
        row.verdict.as_str(),
        row.right_key,
        person(&row.left_key),
        person(&row.right_key)
    );
    Ok(ExitCode::SUCCESS)
}
