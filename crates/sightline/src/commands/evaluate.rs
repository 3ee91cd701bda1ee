//! `sightline evaluate`: the picture of a database holding an ingested synthetic
//! region, scored against the region's ground truth (`--truth`); or the
//! case-review corpus replayed case by case and scored against its checkpoints
//! (`--cases`, `sightline_app::cases`).

use crate::DbArg;
use anyhow::Context;
use serde_json::json;
use sightline_app::cases;
use sightline_app::evaluate::{
    AlertSummary, DetectionRow, LinkageReport, PredictedMention, RulesReport, Truth, TruthFiles,
    evaluate_linkage, evaluate_rules,
};
use sightline_app::picture::{alerts_from_firings, evaluate_children};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("against").required(true).args(["truth", "cases"])))]
pub struct EvaluateArgs {
    #[command(flatten)]
    db: DbArg,
    /// The region's truth folder (`DIR/truth` as written by `sightline synth`), or
    /// the region folder holding it.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// A case-review corpus (`eval/reviews`): every subfolder holding a
    /// `case.toml` is replayed into a fresh in-memory database (`--db` is not
    /// read) and scored against its checkpoints.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// With `--cases`: only these cases (folder names; repeatable).
    #[arg(long = "case", requires = "cases")]
    only: Vec<String>,
    /// This rule pack instead of the default one.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Evaluate as of this date (YYYY-MM-DD, end of day) or instant; default: when
    /// the last record in the log was recorded (clocks stop where the data stops).
    #[arg(long)]
    as_of: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn read_truth(dir: &Path) -> anyhow::Result<Truth> {
    let dir = if dir.join("truth").is_dir() {
        dir.join("truth")
    } else {
        dir.to_path_buf()
    };
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))
    };
    let (mentions, persons, households, trajectories, summary) = (
        read("mentions.csv")?,
        read("persons.csv")?,
        read("households.csv")?,
        read("trajectories.csv")?,
        read("summary.json")?,
    );
    Ok(Truth::parse(&TruthFiles {
        mentions_csv: &mentions,
        persons_csv: &persons,
        households_csv: &households,
        trajectories_csv: &trajectories,
        summary_json: &summary,
    })?)
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.cases {
        return run_cases(dir, &args.only, args.rules.as_ref(), args.json);
    }
    let Some(truth) = &args.truth else {
        anyhow::bail!("give --truth DIR or --cases DIR");
    };
    let truth = read_truth(truth)?;
    let as_of = args
        .as_of
        .as_deref()
        .map(super::persons::parse_instant)
        .transpose()?;
    let started = Instant::now();
    let linked = super::persons::linked(&args.db, as_of)?;
    let linkage_seconds = started.elapsed().as_secs_f64();
    let linkage = evaluate_linkage(
        linked
            .mentions
            .iter()
            .zip(&linked.person_of_mention)
            .filter(|(mention, _)| linked.is_current(mention.record_idx))
            .map(|(mention, person_id)| {
                let record = &linked.records[mention.record_idx].record;
                PredictedMention {
                    agency: record.source.agency.as_str(),
                    record_id: record.source.record_id.as_str(),
                    person_ref: linked.person_of(*mention).person_ref.as_str(),
                    person_id: person_id.as_str(),
                }
            }),
        &truth,
    );
    let now = as_of
        .or_else(|| {
            linked
                .records
                .iter()
                .map(|loaded| loaded.record.recorded_at)
                .max()
        })
        .unwrap_or_else(chrono::Utc::now);
    let started = Instant::now();
    let pack = super::alerts::load_pack(args.rules.as_ref())?;
    let alerts = alerts_from_firings(evaluate_children(&linked, &pack, now));
    let rules_seconds = started.elapsed().as_secs_f64();
    let summaries: Vec<AlertSummary<'_>> = alerts
        .iter()
        .map(|alert| AlertSummary {
            rule_id: &alert.rule_id,
            child_id: &alert.child_id,
            severity: alert.severity,
            raised_at: alert.raised_at,
            evidence: alert
                .evidence
                .iter()
                .map(|evidence| (evidence.agency.as_str(), evidence.record_id.as_str()))
                .collect(),
        })
        .collect();
    let recorded_at: HashMap<(&str, &str), chrono::DateTime<chrono::Utc>> = linked
        .records
        .iter()
        .map(|loaded| {
            let source = &loaded.record.source;
            (
                (source.agency.as_str(), source.record_id.as_str()),
                loaded.record.recorded_at,
            )
        })
        .collect();
    let rules = evaluate_rules(
        &summaries,
        &truth,
        &linkage.dominant_true_person,
        &|agency, record_id| recorded_at.get(&(agency, record_id)).copied(),
    );
    if args.json {
        let report = json!({
            "records": linked.records.len(),
            "evaluated_as_of": now.to_rfc3339(),
            "rule_pack": {"name": pack.name, "version": pack.version},
            "linkage": linkage,
            "rules": rules,
            "seconds": {"linkage": linkage_seconds, "rules": rules_seconds},
        });
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_linkage(&linkage, linked.records.len(), linkage_seconds);
        outln!();
        print_rules(&rules, now, rules_seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_linkage(report: &LinkageReport, records: usize, seconds: f64) {
    outln!("LINKAGE ({records} records, {seconds:.1} s)");
    outln!(
        "  mentions            {} ({} not in the truth)",
        report.mentions,
        report.mentions_without_truth
    );
    outln!(
        "  persons             {} predicted, {} true",
        report.predicted_persons,
        report.true_persons
    );
    outln!(
        "  pairs               precision {:.4}  recall {:.4}  F1 {:.4}  ({} predicted, {} true)",
        report.pairs.precision,
        report.pairs.recall,
        report.pairs.f1,
        report.pairs.predicted,
        report.pairs.actual
    );
    outln!(
        "  persons exact       precision {:.4}  recall {:.4}  F1 {:.4}",
        report.clusters.precision,
        report.clusters.recall,
        report.clusters.f1
    );
    outln!(
        "  false merges        {} of {} multi-mention persons ({:.4}); {} hold a child and an adult",
        report.false_merges,
        report.multi_mention_persons,
        report.false_merge_rate,
        report.false_merges_child_adult
    );
    let kinds: Vec<String> = report
        .false_merges_by_kind
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    outln!(
        "  household look-alikes {} ({})",
        report.false_merges_household_look_alikes,
        kinds.join(", ")
    );
    outln!(
        "  split persons       {} ({:.4} of true persons with 2+ mentions)",
        report.split_persons,
        report.split_rate
    );
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |days| format!("{days:.1}"))
}

fn detection_cells(row: &DetectionRow) -> String {
    format!(
        "{:>3}/{:<3} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>7} {:>7}",
        row.alerted_high_within_14_days,
        row.trajectories,
        row.share_alerted_any,
        row.share_any_within_14_days,
        row.share_alerted_high,
        row.share_within_14_days,
        days(row.days_median),
        days(row.days_max),
    )
}

fn print_rules(report: &RulesReport, now: chrono::DateTime<chrono::Utc>, seconds: f64) {
    outln!(
        "RULES (as of {}, {:.0} child-months, {} alerts, {} high or critical, {seconds:.1} s)",
        now.format("%Y-%m-%d"),
        report.child_months,
        report.alerts,
        report.high_alerts
    );
    let header = format!(
        "  {:<34} {:>7} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7}",
        "", "<=14d/n", "any", "any14", "high", "high14", "median", "max"
    );
    outln!("{header}   high  false  false/1000cm");
    for (rule_id, row) in &report.by_rule {
        outln!(
            "  {:<34} {}   {:>4} {:>6} {:>12.3}",
            rule_id,
            detection_cells(&row.detection),
            row.high_alerts,
            row.false_high_alerts,
            row.false_high_per_1000_child_months
        );
    }
    outln!(
        "  {:<34} {}   {:>4} {:>6} {:>12.3}",
        "OVERALL",
        detection_cells(&report.overall),
        report.high_alerts,
        report.false_high_alerts,
        report.false_high_per_1000_child_months
    );
    outln!();
    outln!("{header}");
    for (archetype, row) in &report.by_archetype {
        outln!("  {:<34} {}", archetype, detection_cells(row));
    }
    outln!();
    outln!(
        "  high alerts: {} false ({:.3} per 1,000 children per month) on {} children, {} on siblings in trajectory households, {} on persons who are truly adults",
        report.false_high_alerts,
        report.false_high_per_1000_child_months,
        report.false_high_children,
        report.high_alerts_on_trajectory_siblings,
        report.high_alerts_on_adults
    );
    for outcome in &report.trajectories {
        outln!(
            "  {} {:<24} first record {}  high after {:>6} days ({})",
            outcome.trajectory_id,
            outcome.archetype,
            outcome.first_alerting_record_at.format("%Y-%m-%d"),
            days(outcome.days_to_high),
            outcome
                .first_high_rule
                .as_deref()
                .unwrap_or(if outcome.alerted_any {
                    "only lower alerts"
                } else {
                    "no alert"
                })
        );
    }
}

/// One case folder's files, read.
struct CaseDir {
    name: String,
    toml_path: PathBuf,
    records_path: PathBuf,
    toml: String,
    records: Vec<u8>,
}

/// The case folders of a corpus (those holding a `case.toml`), by name.
fn read_case_dirs(dir: &Path, only: &[String]) -> anyhow::Result<Vec<CaseDir>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("case.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for wanted in only {
        if !names.contains(wanted) {
            anyhow::bail!("{}: no case {wanted}", dir.display());
        }
    }
    if !only.is_empty() {
        names.retain(|name| only.contains(name));
    }
    names
        .into_iter()
        .map(|name| {
            let toml_path = dir.join(&name).join("case.toml");
            let records_path = dir.join(&name).join("records.jsonl");
            let toml = std::fs::read_to_string(&toml_path)
                .with_context(|| format!("{}: cannot read", toml_path.display()))?;
            let records = std::fs::read(&records_path)
                .with_context(|| format!("{}: cannot read", records_path.display()))?;
            Ok(CaseDir {
                name,
                toml_path,
                records_path,
                toml,
                records,
            })
        })
        .collect()
}

/// `sightline evaluate --cases DIR`: parses every case (all problems of all
/// cases, then exit 1), replays each into a fresh in-memory database and
/// reports per case and overall.
fn run_cases(
    dir: &Path,
    only: &[String],
    rules: Option<&PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let pack = super::alerts::load_pack(rules)?;
    let dirs = read_case_dirs(dir, only)?;
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for case_dir in &dirs {
        let toml_name = case_dir.toml_path.display().to_string();
        let records_name = case_dir.records_path.display().to_string();
        match cases::parse_case(&cases::CaseFiles {
            dir_name: &case_dir.name,
            case_toml_name: &toml_name,
            case_toml: &case_dir.toml,
            records_name: &records_name,
            records_jsonl: &case_dir.records,
        }) {
            Ok(case) => cases.push(case),
            Err(mut more) => problems.append(&mut more),
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eoutln!("{problem}");
        }
        eoutln!("{} problem(s); no case was evaluated", problems.len());
        return Ok(ExitCode::FAILURE);
    }
    let started = Instant::now();
    let mut reports = Vec::new();
    for case in &cases {
        let store = sightline_store::open("sqlite::memory:")
            .context("could not open an in-memory database")?;
        let report = cases::replay_case(
            case,
            store.as_ref(),
            pack.clone(),
            sightline_app::EngineConfig::default(),
        )
        .with_context(|| format!("case {}: the replay failed", case.id))?;
        reports.push(report);
    }
    let summary = cases::summarise(&reports);
    let seconds = started.elapsed().as_secs_f64();
    if json {
        let report = json!({
            "rule_pack": {"name": pack.name, "version": pack.version},
            "hold_days": cases::HOLD_DAYS,
            "overall": summary,
            "cases": reports,
            "seconds": seconds,
        });
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_cases(&reports, &summary, &pack, seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_cases(
    reports: &[cases::CaseReport],
    summary: &cases::CorpusSummary,
    pack: &sightline_rules::Pack,
    seconds: f64,
) {
    for report in reports {
        outln!(
            "{}  (age {}, {} records, {:.0} months; {}/{} checkpoints met)",
            report.id,
            report.age_at_harm_years,
            report.records,
            report.case_months,
            report.checkpoints_met,
            report.checkpoints.len()
        );
        for checkpoint in &report.checkpoints {
            match &checkpoint.met_by {
                Some(met) => outln!(
                    "  {:<4} by {}  met    {:>7.1} days ahead  {} ({}, {})",
                    checkpoint.id,
                    checkpoint.by,
                    met.lead_days,
                    met.rule_id,
                    met.severity,
                    met.met_at.format("%Y-%m-%d %H:%M")
                ),
                None => outln!(
                    "  {:<4} by {}  MISSED  alerts by then: {}; child in {} person(s)",
                    checkpoint.id,
                    checkpoint.by,
                    if checkpoint.alerts_by_then.is_empty() {
                        "none".to_owned()
                    } else {
                        checkpoint.alerts_by_then.join(", ")
                    },
                    checkpoint.child_persons_by_then
                ),
            }
        }
        let rules: Vec<String> = report
            .rules
            .iter()
            .map(|rule| {
                format!(
                    "{} x{} ({})",
                    rule.rule_id, rule.alerts, rule.highest_severity
                )
            })
            .collect();
        outln!(
            "  alerts {} ({} high or critical); open high alert-months per case-month {:.2} (peak {}); child's mentions {} in {} person(s)",
            report.alerts,
            report.high_alerts,
            report.open_high_alerts_per_case_month,
            report.open_high_alerts_peak,
            report.child_mentions,
            report.child_persons
        );
        outln!(
            "  rules: {}",
            if rules.is_empty() {
                "none".to_owned()
            } else {
                rules.join(", ")
            }
        );
        outln!();
    }
    outln!(
        "OVERALL (rule pack {} {}, {} cases, {seconds:.1} s)",
        pack.name,
        pack.version,
        summary.cases
    );
    outln!(
        "  checkpoints met     {}/{} ({:.1}%); lead time median {} days, least {} days",
        summary.checkpoints_met,
        summary.checkpoints,
        summary.share_met * 100.0,
        days(summary.lead_days_median),
        days(summary.lead_days_min)
    );
    outln!(
        "  alerts              {} ({:.1} per case), {} high or critical ({:.1} per case)",
        summary.alerts,
        summary.alerts_per_case,
        summary.high_alerts,
        summary.high_alerts_per_case
    );
    outln!(
        "  burden              {:.3} open high alert-months per case-month (mean of cases {:.3}; held {} days after each change)",
        summary.open_high_alerts_per_case_month,
        summary.open_high_alerts_per_case_month_mean,
        cases::HOLD_DAYS
    );
    outln!(
        "  linkage             the child's mentions in more than one person in {} case(s)",
        summary.cases_child_split
    );
    if summary.cases_routed_to_nobody > 0 {
        // A replay has no accounts: said once here, not as a warning per alert.
        outln!(
            "  recipients          no accounts in a replay: in {} case(s) open alerts had nobody to receive them (at most {} at once), as expected; a server warns of this",
            summary.cases_routed_to_nobody,
            summary.alerts_routed_to_nobody_peak
        );
    }
    let met: Vec<String> = summary
        .met_by_rule
        .iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();
    outln!("  met by rule         {}", met.join(", "));
}
