//! `sightline sar`: a subject access request answered from the log
//! (docs/data-protection.md, "Subject access").

use crate::DbArg;
use anyhow::Context;
use sightline_app::audit::{AuditActor, record};
use sightline_app::picture::person_facts;
use sightline_app::sar::{SUBJECT_ACCESS_ACTION, check_reason, gather, render_html};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SarArgs {
    #[command(flatten)]
    db: DbArg,
    /// The person's Sightline id (from `sightline persons` or the person's page).
    #[arg(long)]
    person: String,
    /// The directory to write `sar.json` and `sar.html` into (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Why, in a sentence (kept in the audit log), e.g. the request's reference.
    #[arg(long)]
    reason: String,
}

pub fn run(args: SarArgs) -> anyhow::Result<ExitCode> {
    let reason = check_reason(&args.reason)?;
    let store = super::open_store(&args.db)?;
    let linked = super::persons::linked(&args.db, None)?;
    let facts = person_facts(&linked);
    let now = chrono::Utc::now();
    let bundle = gather(store.as_ref(), &linked, &facts, &args.person, &reason, now)
        .context("could not gather the subject access bundle")?;
    // Audited before anything is written: no bundle leaves without its entry.
    let kind = if bundle.identity.is_child {
        "child"
    } else {
        "person"
    };
    record(
        store.as_ref(),
        &AuditActor::cli(),
        SUBJECT_ACCESS_ACTION,
        &format!("{kind}:{}", bundle.person_id),
        &format!("{SUBJECT_ACCESS_ACTION}: {reason}"),
        "ok",
        now,
    )
    .context("could not record the subject access in the audit log")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create {}", args.out.display()))?;
    let json_path = args.out.join("sar.json");
    let html_path = args.out.join("sar.html");
    std::fs::write(&json_path, serde_json::to_string_pretty(&bundle)?)
        .with_context(|| format!("could not write {}", json_path.display()))?;
    std::fs::write(&html_path, render_html(&bundle))
        .with_context(|| format!("could not write {}", html_path.display()))?;
    tracing::info!(
        records = bundle.records.len(),
        alerts = bundle.alerts.len(),
        "subject access bundle written"
    );
    outln!(
        "subject access for person {}: {}",
        bundle.person_id,
        bundle.summary()
    );
    outln!("wrote {} and {}", json_path.display(), html_path.display());
    Ok(ExitCode::SUCCESS)
}
