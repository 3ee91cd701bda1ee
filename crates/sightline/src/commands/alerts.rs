//! `sightline alerts` (the persisted alerts, or a recomputation with `--as-of` /
//! `--rules`), `sightline escalate`, `sightline replay` and `sightline rules check`.

use crate::{DbArg, OrgArg};
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use sightline_app::picture::{Alert, alerts_from_firings, evaluate_children};
use sightline_rules::Route;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    db: DbArg,
    /// Recompute instead of reading the stored alerts: evaluate as of this date
    /// (YYYY-MM-DD, end of day) or RFC 3339 instant: only records recorded by
    /// then count, and clocks run to then.
    #[arg(long)]
    as_of: Option<String>,
    /// Recompute with a rule pack file instead of reading the stored alerts.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Only alerts with this status (open, decided); stored alerts only.
    #[arg(long)]
    status: Option<String>,
    /// Print a JSON array, one object per alert.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    db: DbArg,
    /// Replay the log up to this date (YYYY-MM-DD, end of day) or instant.
    #[arg(long)]
    until: Option<String>,
    /// Print a JSON array, one object per alert.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Parse and lint a rule pack; errors and warnings as FILE:LINE:COL. With
    /// --org, also refuse a route nobody in the organisation can receive; with
    /// --db too, warn of each recipient of the pack's routes that no active
    /// account of that database receives.
    Check {
        /// The rule pack file.
        file: PathBuf,
        /// The organisation file the pack's routes must reach.
        #[arg(long, env = "SIGHTLINE_ORG")]
        org: Option<PathBuf>,
        /// A database whose accounts must receive the pack's routes (with --org).
        #[arg(long)]
        db: Option<String>,
    },
}

pub fn load_pack(path: Option<&PathBuf>) -> anyhow::Result<sightline_rules::Pack> {
    let (name, text) = match path {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?,
        ),
        None => (
            "default pack".to_owned(),
            sightline_rules::DEFAULT_PACK_TEXT.to_owned(),
        ),
    };
    sightline_rules::check(&text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|error| error.with_file(&name)).collect();
        anyhow::anyhow!("the rule pack has errors:\n{}", lines.join("\n"))
    })
}

fn route_name(route: &Route) -> String {
    sightline_app::engine::route_name(route)
}

fn alert_json(alert: &Alert) -> serde_json::Value {
    json!({
        "id": alert.id,
        "rule": alert.rule_id,
        "rule_pack": alert.pack_name,
        "rule_version": alert.pack_version,
        "severity": alert.severity.as_str(),
        "child": alert.child_id,
        "person": alert.person_id,
        "raised_at": alert.raised_at.to_rfc3339(),
        "updated_at": alert.updated_at.to_rfc3339(),
        "status": "open",
        "title": alert.title,
        "explanation": sightline_rules::resolve_explanation(&alert.explanation, &|_| None),
        "citation": alert.citation,
        "route": route_name(&alert.route),
        "evidence": alert.evidence.iter().map(|evidence| json!({"agency": evidence.agency, "record_id": evidence.record_id, "version": evidence.version})).collect::<Vec<_>>(),
    })
}

fn print_alerts(alerts: &[Alert], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let items: Vec<serde_json::Value> = alerts.iter().map(alert_json).collect();
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    for alert in alerts {
        outln!(
            "{}  {:<8}  {}  {}  {}",
            alert.raised_at.format("%Y-%m-%d %H:%M"),
            alert.severity.as_str(),
            alert.child_id,
            alert.rule_id,
            alert.id
        );
        outln!(
            "    {}",
            sightline_rules::resolve_explanation(&alert.explanation, &|_| None)
        );
    }
    eoutln!("{} open alert(s)", alerts.len());
    Ok(())
}

fn alerts_as_of(
    db: &DbArg,
    as_of: Option<&str>,
    rules: Option<&PathBuf>,
) -> anyhow::Result<Vec<Alert>> {
    let pack = load_pack(rules)?;
    let as_of = as_of.map(super::persons::parse_instant).transpose()?;
    let linked = super::persons::linked(db, as_of)?;
    let now = as_of.unwrap_or_else(chrono::Utc::now);
    Ok(alerts_from_firings(evaluate_children(&linked, &pack, now)))
}

pub fn run(args: AlertsArgs) -> anyhow::Result<ExitCode> {
    if args.as_of.is_none() && args.rules.is_none() {
        return print_stored_alerts(&args.db, args.status, args.json);
    }
    let alerts = alerts_as_of(&args.db, args.as_of.as_deref(), args.rules.as_ref())?;
    print_alerts(&alerts, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn rfc3339(micros: i64) -> String {
    sightline_app::from_micros(micros).to_rfc3339()
}

/// One stored alert as JSON (the shape of `sightline alerts --json`).
fn stored_alert_json(
    row: &sightline_store::AlertRow,
    evidence: &[sightline_store::EvidenceRow],
) -> serde_json::Value {
    json!({
        "id": row.id,
        "rule": row.rule_id,
        "rule_pack": row.pack_name,
        "rule_version": row.pack_version,
        "severity": row.severity,
        "child": row.child_id,
        "person": row.person_id,
        "raised_at": rfc3339(row.raised_at_us),
        "updated_at": rfc3339(row.updated_at_us),
        "due_at": rfc3339(row.due_at_us),
        "status": row.status,
        "escalation_level": row.escalation_level,
        "decided_at": row.decided_at_us.map(rfc3339),
        "title": row.title,
        "explanation": sightline_rules::resolve_explanation(&row.explanation, &|_| None),
        "citation": row.citation,
        "route": row.route,
        "routed_to": row.routed_to,
        "evidence": evidence.iter().map(|evidence| json!({"agency": evidence.agency, "record_id": evidence.record_id, "version": evidence.version})).collect::<Vec<_>>(),
    })
}

/// Every stored alert (all pages), ordered by when it was raised.
fn print_stored_alerts(
    db: &DbArg,
    status: Option<String>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let store = super::open_store(db)?;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = store.alerts().list(&sightline_store::AlertFilter {
            status: status.clone(),
            after: after.clone(),
            limit: sightline_store::ALERT_LIST_LIMIT_MAX,
            ..sightline_store::AlertFilter::default()
        })?;
        let full = page.len() == sightline_store::ALERT_LIST_LIMIT_MAX as usize;
        after = page
            .last()
            .map(|last| sightline_store::AlertCursor::after(last, None));
        rows.extend(page);
        if !full {
            break;
        }
    }
    rows.sort_by(|a, b| {
        (a.raised_at_us, &a.child_id, &a.rule_id, &a.id).cmp(&(
            b.raised_at_us,
            &b.child_id,
            &b.rule_id,
            &b.id,
        ))
    });
    if as_json {
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let evidence = store.alerts().evidence(&row.id)?;
            items.push(stored_alert_json(row, &evidence));
        }
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    for row in &rows {
        outln!(
            "{}  {:<8}  {:<7}  {}  {}  {}  -> {}",
            sightline_app::from_micros(row.raised_at_us).format("%Y-%m-%d %H:%M"),
            row.severity,
            row.status,
            row.child_id,
            row.rule_id,
            row.id,
            row.routed_to
        );
        outln!(
            "    {}",
            sightline_rules::resolve_explanation(&row.explanation, &|_| None)
        );
    }
    eoutln!("{} alert(s)", rows.len());
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct EscalateArgs {
    #[command(flatten)]
    db: DbArg,
    /// The organisation escalation routes by (as the server's).
    #[command(flatten)]
    org: OrgArg,
}

/// One pass of what the server's ticker does: time-based re-evaluation (clocks
/// that fell due) and escalation of overdue alerts, at the wall clock.
pub fn escalate(args: EscalateArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.db)?;
    let engine = super::load_engine_with(
        store.as_ref(),
        sightline_app::EngineConfig {
            organisation: super::load_organisation(&args.org)?,
            ..sightline_app::EngineConfig::default()
        },
    )?;
    let report = engine.tick(store.as_ref(), chrono::Utc::now())?;
    outln!(
        "re-evaluated {} child(ren): {} alert(s) raised, {} updated; escalated {} to a team manager, {} to the head of service, {} with nobody to receive them to the head of service (or its duty team)",
        report.alerts.children,
        report.alerts.raised,
        report.alerts.updated,
        report.escalated_to_team_manager,
        report.escalated_to_head_of_service,
        report.escalated_without_recipient
    );
    if report.routed_to_nobody > 0 {
        outln!(
            "warning: {} open alert(s) whose recipient, head of service and duty team have no active account: create one (sightline user create)",
            report.routed_to_nobody
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Replays the log in logical time: alerts dated as they would have been raised.
pub fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let alerts = alerts_as_of(&args.db, args.until.as_deref(), None)?;
    print_alerts(&alerts, args.json)?;
    Ok(ExitCode::SUCCESS)
}

pub fn rules(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let RulesCommand::Check { file, org, db } = command;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(&file).with_context(|| format!("{name}: cannot read"))?;
    match sightline_rules::check(&text) {
        Ok(pack) => {
            for warning in &pack.warnings {
                outln!("{}", warning.with_file(&name));
            }
            if let Some(org) = org {
                let organisation = sightline_app::organisation::read_organisation(&org)?;
                let problems = sightline_app::routing::check_pack_routes(&pack, &organisation);
                for problem in &problems {
                    outln!("{name}: {problem} (organisation {})", org.display());
                }
                if !problems.is_empty() {
                    outln!(
                        "{name}: {} route problem(s): nobody in {} can receive them",
                        problems.len(),
                        org.display()
                    );
                    return Ok(ExitCode::FAILURE);
                }
                if let Some(db) = db {
                    let store = sightline_store::open(&db)
                        .map_err(|error| anyhow::anyhow!("could not open the database: {error}"))?;
                    let (receiving, complete) =
                        sightline_app::routing::receiving_routes(store.as_ref())?;
                    if !complete {
                        outln!(
                            "{name}: warning: more accounts than one list returns: recipients without an account are not checked"
                        );
                    }
                    let unheld = if complete {
                        sightline_app::routing::unheld_recipients(&pack, &organisation, &receiving)
                    } else {
                        Vec::new()
                    };
                    for unheld in &unheld {
                        outln!("{name}: warning: {}", unheld.warning());
                    }
                }
            } else if db.is_some() {
                anyhow::bail!("--db needs --org: the organisation says whom the routes reach");
            }
            outln!(
                "{name}: rule pack \"{}\" version {}: {} rule(s), {} warning(s)",
                pack.name,
                pack.version,
                pack.rules.len(),
                pack.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for error in &errors {
                outln!("{}", error.with_file(&name));
            }
            outln!("{name}: {} problem(s)", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
