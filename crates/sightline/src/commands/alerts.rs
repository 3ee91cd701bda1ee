//! `sightline alerts`, `sightline replay` and `sightline rules check`.

use crate::DbArg;
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
    /// Evaluate as of this date (YYYY-MM-DD, end of day) or RFC 3339 instant:
    /// only records recorded by then count, and clocks run to then.
    #[arg(long)]
    as_of: Option<String>,
    /// A rule pack file instead of the default pack.
    #[arg(long)]
    rules: Option<PathBuf>,
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
    /// Parse and lint a rule pack; errors and warnings as FILE:LINE:COL.
    Check {
        /// The rule pack file.
        file: PathBuf,
    },
}

fn load_pack(path: Option<&PathBuf>) -> anyhow::Result<sightline_rules::Pack> {
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
    match route {
        Route::AllocatedWorker(worker) => format!("allocated_worker:{worker}"),
        Route::AllocatedTeam(team) => format!("allocated_team:{team}"),
        Route::DutyTeam => "duty_team".to_owned(),
        Route::HealthSafeguardingLead => "health_safeguarding_lead".to_owned(),
        Route::PoliceSafeguarding => "police_safeguarding".to_owned(),
        Route::TeamManager => "team_manager".to_owned(),
    }
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
        "explanation": alert.explanation,
        "citation": alert.citation,
        "route": route_name(&alert.route),
        "evidence": alert.evidence.iter().map(|evidence| json!({"agency": evidence.agency, "record_id": evidence.record_id, "version": evidence.version})).collect::<Vec<_>>(),
    })
}

fn print_alerts(alerts: &[Alert], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let items: Vec<serde_json::Value> = alerts.iter().map(alert_json).collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    for alert in alerts {
        println!(
            "{}  {:<8}  {}  {}  {}",
            alert.raised_at.format("%Y-%m-%d %H:%M"),
            alert.severity.as_str(),
            alert.child_id,
            alert.rule_id,
            alert.id
        );
        println!("    {}", alert.explanation);
    }
    eprintln!("{} open alert(s)", alerts.len());
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
    let alerts = alerts_as_of(&args.db, args.as_of.as_deref(), args.rules.as_ref())?;
    print_alerts(&alerts, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Replays the log in logical time: alerts dated as they would have been raised.
pub fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let alerts = alerts_as_of(&args.db, args.until.as_deref(), None)?;
    print_alerts(&alerts, args.json)?;
    Ok(ExitCode::SUCCESS)
}

pub fn rules(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let RulesCommand::Check { file } = command;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(&file).with_context(|| format!("{name}: cannot read"))?;
    match sightline_rules::check(&text) {
        Ok(pack) => {
            for warning in &pack.warnings {
                println!("{}", warning.with_file(&name));
            }
            println!(
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
                println!("{}", error.with_file(&name));
            }
            println!("{name}: {} problem(s)", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
