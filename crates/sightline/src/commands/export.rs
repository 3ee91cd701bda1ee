//! `sightline export ssd|dfe-api|cin-census`: children's social care of one
//! local authority in the Department for Education's formats
//! (docs/integrators.md, "Exports"). Audited; prints counts only.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use sightline_app::audit::{AuditActor, record};
use sightline_app::export::{
    EXPORT_ACTION, ExportKind, casework, check, find_local_authority, write_export,
};
use sightline_app::picture::person_facts;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Standard Safeguarding Dataset: one CSV per table Sightline can fill.
    Ssd,
    /// The DfE children's social care API payload: JSON, 100 children a file.
    DfeApi,
    /// The Children in Need census XML.
    CinCensus,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Which format.
    #[arg(value_enum)]
    format: Format,
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    org: OrgArg,
    /// The local authority: its id in the organisation file or its DfE code
    /// (`dfe_code`, three digits; needed by dfe-api and cin-census).
    #[arg(long)]
    la: String,
    /// The first day of the period (YYYY-MM-DD).
    #[arg(long)]
    from: chrono::NaiveDate,
    /// The last day of the period (YYYY-MM-DD); records dated later are not read.
    #[arg(long)]
    to: chrono::NaiveDate,
    /// The directory to write into (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Why, in a sentence (kept in the audit log), e.g. the return it is for.
    #[arg(long)]
    reason: String,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let kind = match args.format {
        Format::Ssd => ExportKind::Ssd,
        Format::DfeApi => ExportKind::DfeApi,
        Format::CinCensus => ExportKind::CinCensus,
    };
    let reason = sightline_app::sar::check_reason(&args.reason)?;
    let organisation = super::load_organisation(&args.org)?;
    let la = find_local_authority(&organisation, &args.la)?.clone();
    let store = super::open_store(&args.db)?;
    let linked = super::persons::linked(&args.db, None)?;
    let facts = person_facts(&linked);
    // Restricted records are left out (and counted in the report).
    let restricted = sightline_app::controls::restricted_records(store.as_ref())
        .context("could not read the restrictions in force")?;
    let work = casework(
        &linked,
        &facts,
        &organisation,
        &la,
        args.from,
        args.to,
        &restricted,
    )?;
    check(kind, &work)?;
    let now = chrono::Utc::now();
    // Audited before anything is written: no export leaves without its entry.
    record(
        store.as_ref(),
        &AuditActor::cli(),
        EXPORT_ACTION,
        &format!("export:{}:{}", kind.as_str(), la.id),
        &format!(
            "export {} of {} from {} to {}: {reason}",
            kind.as_str(),
            la.id,
            args.from,
            args.to
        ),
        "ok",
        now,
    )
    .context("could not record the export in the audit log")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create {}", args.out.display()))?;
    let report = write_export(kind, &work, &args.out, now)?;
    tracing::info!(
        kind = kind.as_str(),
        children = report.children,
        "export written"
    );
    outln!(
        "export {} of local authority {} from {} to {}: {} children, {} social care records read",
        kind.as_str(),
        la.id,
        args.from,
        args.to,
        report.children,
        report.records_read
    );
    for (file, count) in &report.written {
        outln!("  {file}: {count}");
    }
    for (why, count) in &report.records_withheld {
        outln!("  records left out, {why}: {count}");
    }
    outln!(
        "{} fields not (always) filled: see {} and {}",
        report.not_filled.len(),
        args.out.join("report.txt").display(),
        args.out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
