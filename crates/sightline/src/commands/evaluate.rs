//! `sightline evaluate`: the picture of a database holding an ingested synthetic
//! region, scored against the region's ground truth (`truth/`).

use crate::DbArg;
use anyhow::Context;
use serde_json::json;
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
pub struct EvaluateArgs {
    #[command(flatten)]
    db: DbArg,
    /// The region's truth folder (`DIR/truth` as written by `sightline synth`), or
    /// the region folder holding it.
    #[arg(long)]
    truth: PathBuf,
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
    let truth = read_truth(&args.truth)?;
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
    let pack = sightline_rules::default_pack()
        .map_err(|errors| anyhow::anyhow!("the default rule pack has {} error(s)", errors.len()))?;
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
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_linkage(&linkage, linked.records.len(), linkage_seconds);
        println!();
        print_rules(&rules, now, rules_seconds);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_linkage(report: &LinkageReport, records: usize, seconds: f64) {
    println!("LINKAGE ({records} records, {seconds:.1} s)");
    println!(
        "  mentions            {} ({} not in the truth)",
        report.mentions, report.mentions_without_truth
    );
    println!(
        "  persons             {} predicted, {} true",
        report.predicted_persons, report.true_persons
    );
    println!(
        "  pairs               precision {:.4}  recall {:.4}  F1 {:.4}  ({} predicted, {} true)",
        report.pairs.precision,
        report.pairs.recall,
        report.pairs.f1,
        report.pairs.predicted,
        report.pairs.actual
    );
    println!(
        "  persons exact       precision {:.4}  recall {:.4}  F1 {:.4}",
        report.clusters.precision, report.clusters.recall, report.clusters.f1
    );
    println!(
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
    println!(
        "  household look-alikes {} ({})",
        report.false_merges_household_look_alikes,
        kinds.join(", ")
    );
    println!(
        "  split persons       {} ({:.4} of true persons with 2+ mentions)",
        report.split_persons, report.split_rate
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
    println!(
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
    println!("{header}   high  false  false/1000cm");
    for (rule_id, row) in &report.by_rule {
        println!(
            "  {:<34} {}   {:>4} {:>6} {:>12.3}",
            rule_id,
            detection_cells(&row.detection),
            row.high_alerts,
            row.false_high_alerts,
            row.false_high_per_1000_child_months
        );
    }
    println!(
        "  {:<34} {}   {:>4} {:>6} {:>12.3}",
        "OVERALL",
        detection_cells(&report.overall),
        report.high_alerts,
        report.false_high_alerts,
        report.false_high_per_1000_child_months
    );
    println!();
    println!("{header}");
    for (archetype, row) in &report.by_archetype {
        println!("  {:<34} {}", archetype, detection_cells(row));
    }
    println!();
    println!(
        "  high alerts: {} false ({:.3} per 1,000 children per month), {} on siblings in trajectory households, {} on persons who are truly adults",
        report.false_high_alerts,
        report.false_high_per_1000_child_months,
        report.high_alerts_on_trajectory_siblings,
        report.high_alerts_on_adults
    );
    for outcome in &report.trajectories {
        println!(
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
