//! `sightline sar`: a subject access request answered from the log
//! (docs/data-protection.md, "Subject access").

use crate::DbArg;
use anyhow::Context;
use sightline_app::audit::AuditActor;
use sightline_app::picture::person_facts;
use sightline_app::sar::{
    UnredactRequest, check_reason, gather, record_request, render_html, unredact,
};
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
    /// Disclose this third party of one record in the bundle (and every later
    /// one), as the bundle lists it: `agency/record_id#ref`. Repeatable; needs
    /// --unredact-reason. Recorded and audited.
    #[arg(long, value_name = "ITEM")]
    unredact: Vec<String>,
    /// Why the third parties of --unredact are disclosed, in a sentence.
    #[arg(long, value_name = "REASON")]
    unredact_reason: Option<String>,
}

pub fn run(args: SarArgs) -> anyhow::Result<ExitCode> {
    let reason = check_reason(&args.reason)?;
    let store = super::open_store(&args.db)?;
    let linked = super::persons::linked(&args.db, None)?;
    let facts = person_facts(&linked);
    let now = chrono::Utc::now();
    if !args.unredact.is_empty() {
        let Some(why) = &args.unredact_reason else {
            anyhow::bail!("--unredact needs --unredact-reason: why they are disclosed");
        };
        for item in &args.unredact {
            unredact(
                store.as_ref(),
                &linked,
                &facts,
                &AuditActor::cli(),
                &UnredactRequest {
                    person_id: &args.person,
                    item,
                    reason: why,
                },
                now,
            )
            .with_context(|| format!("could not disclose {item}"))?;
            outln!("disclosed {item} in the bundles of person {}", args.person);
        }
    }
    let bundle = gather(store.as_ref(), &linked, &facts, &args.person, &reason, now)
        .context("could not gather the subject access bundle")?;
    // Audited before anything is written: no bundle leaves without its entry.
    record_request(store.as_ref(), &AuditActor::cli(), &bundle, now)
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
